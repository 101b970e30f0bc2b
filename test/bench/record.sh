#!/usr/bin/env bash
# Records the benchmark capture: real HTTP, TLS and UDP traffic on the loopback interface of a
# private network namespace (unshare --net), so nothing leaves this machine and nothing else is
# captured. The namespace's lo gets a 1500-byte MTU and no segmentation offloads, so the frames
# look like an Ethernet wire (not 64 KiB loopback super-frames).
#
#   test/bench/record.sh OUT.pcap [PACKETS] [SECONDS]
#
# Servers: nginx (HTTP :8080, HTTPS :8443 with a throwaway self-signed certificate) and a Node UDP
# echo (:5300, :1230). Client: test/bench/traffic.mjs. tcpdump stops after PACKETS packets
# (default 2,000,000); the generator stops after SECONDS (default 240). Needs root (unshare), nginx,
# tcpdump, openssl, ethtool, node.
set -euo pipefail

out=$(realpath -m "$1")
packets=${2:-2000000}
seconds=${3:-240}
here=$(cd "$(dirname "$0")" && pwd)

if [ "${PNC_BENCH_INNER:-}" != 1 ]; then
	exec env PNC_BENCH_INNER=1 unshare --net --fork bash "$0" "$out" "$packets" "$seconds"
fi

ip link set lo up mtu 1500
ethtool -K lo tx off rx off tso off gso off gro off >/dev/null 2>&1 || true

work=$(mktemp -d "${TMPDIR:-/tmp}/pnc-bench.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -f "$work/nginx.pid" ]; then kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; fi
	sleep 0.5
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/www/s" "$work/www/b" "$work/tmp"
# nginx workers run unprivileged: let them read the pages.
chmod 755 "$work"
head -c 200 /dev/urandom | base64 -w 0 | head -c 200 >"$work/www/s/200"
head -c 2048 /dev/urandom | base64 -w 76 | head -c 2048 >"$work/www/s/2k"
head -c 20480 /dev/urandom >"$work/www/s/20k"
head -c 1048576 /dev/urandom >"$work/www/b/1m"
chmod -R a+rX "$work/www"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj "/CN=bench.local" -addext "subjectAltName=DNS:bench.local" \
	-keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1

cat >"$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/tmp; proxy_temp_path $work/tmp; fastcgi_temp_path $work/tmp;
  uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  server { listen 127.0.0.1:8080; root $work/www; }
  server {
    listen 127.0.0.1:8443 ssl; root $work/www;
    ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work"
node "$here/udp-echo.mjs" --seconds=$((seconds + 30)) &
pids+=($!)

tcpdump -i lo -n -s 0 -B 131072 -c "$packets" -w "$out.part" 2>"$work/tcpdump.log" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
for _ in $(seq 50); do grep -q listening "$work/tcpdump.log" && break; sleep 0.1; done
sleep 0.3

node "$here/traffic.mjs" --seconds="$seconds" ${PNC_BENCH_TRAFFIC:-} &
gen=$!
pids+=($gen)
# Whichever ends first: the packet count (tcpdump exits) or the generator.
while kill -0 "$tcpdump_pid" 2>/dev/null && kill -0 "$gen" 2>/dev/null; do sleep 0.5; done
kill "$gen" 2>/dev/null || true
sleep 0.5
kill -INT "$tcpdump_pid" 2>/dev/null || true
wait "$tcpdump_pid" 2>/dev/null || true
cat "$work/tcpdump.log" >&2
mv "$out.part" "$out"
