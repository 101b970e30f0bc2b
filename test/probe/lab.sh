#!/usr/bin/env bash
# The probe's lab: two network namespaces joined by one veth pair, with real servers on one side
# and the probe on the other (test/probe/lab.test.ts, docs/probe.md "Tests").
#
#   lab.sh up PREFIX DIR     namespaces PREFIX-p (the proxy, 10.79.0.1) and PREFIX-s (the servers,
#                            10.79.0.10-.18), certificates made with openssl in DIR, servers
#                            started in PREFIX-s; prints "ready" when every one listens
#   lab.sh down PREFIX       stops what runs in PREFIX* namespaces (one PID at a time) and deletes them
#
# PREFIX must start with "pnc-probe-" (test/lab/netns.sh refuses other names for teardown). Nothing
# is connected to the root namespace: the only addresses are 10.79.0.0/24 on the veth pair.
#
#   .10 guest, conforming: nginx TLS 1.2/1.3 on 3542, sshd on 22, xrdp on 3389
#   .11 guest: openssl s_server on 3542 accepting TLS 1.0 as well (SECLEVEL=0); 22 and 3389 closed
#   .12 esxi: authd.py (banner, then TLS) on 902
#   .13 esxi: openssl s_server on 902, TLS from the first byte (no banner)
#   .14 ntp: chronyd (local stratum 8, never touches a clock)
#   .15 ntp: stopped (nothing on 123: ICMP port unreachable)
#   .16 vcenter: nginx on 443 with an expired certificate
#   .17 cloud: nginx on 443 with a self-signed certificate
#   .18 esxi: 902 dropped by nftables (filtered)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lab/netns.sh
. "$HERE/../lab/netns.sh"

cmd=$1
prefix=$2
case "$prefix" in pnc-probe-?*) ;; *) echo "lab.sh: prefix must start with pnc-probe-" >&2; exit 2 ;; esac
P="${prefix}-p"
S="${prefix}-s"

if [ "$cmd" = down ]; then
	lab_teardown "$prefix"
	exit 0
fi

dir=$3
mkdir -p "$dir/nginx/body"

ip netns add "$P"
ip netns add "$S"
ip -n "$P" link add eth0 type veth peer name eth0 netns "$S"
ip -n "$P" link set lo up
ip -n "$S" link set lo up
ip -n "$P" addr add 10.79.0.1/24 dev eth0
for i in 10 11 12 13 14 15 16 17 18; do ip -n "$S" addr add "10.79.0.$i/24" dev eth0; done
ip -n "$P" link set eth0 up
ip -n "$S" link set eth0 up
if command -v ethtool >/dev/null; then
	lab_no_offload "$P" eth0 || true
	lab_no_offload "$S" eth0 || true
fi
lab_exec "$S" nft -f - <<'EOF'
table inet pncprobe {
	chain input {
		type filter hook input priority 0; policy accept;
		ip daddr 10.79.0.18 tcp dport 902 drop
	}
}
EOF

# Certificates: self-signed, with the host's address as SAN; one expired (notAfter yesterday).
cert() { # name cn ip [days]
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -keyout "$dir/$1.key" -out "$dir/$1.crt" -subj "/CN=$2" \
		-addext "subjectAltName=DNS:$2,IP:$3" -days 30 2>/dev/null
}
cert guest guest-a.pnc-probe.test 10.79.0.10
cert weak guest-b.pnc-probe.test 10.79.0.11
cert esxi esxi-a.pnc-probe.test 10.79.0.12
cert nobanner esxi-b.pnc-probe.test 10.79.0.13
cert vcenter vcenter.pnc-probe.test 10.79.0.16
openssl x509 -in "$dir/vcenter.crt" -signkey "$dir/vcenter.key" -days -1 -out "$dir/vcenter-expired.crt" 2>/dev/null
cert cloud cloud.pnc-probe.test 10.79.0.17

nx="$dir/nginx"
cat >"$nx/nginx.conf" <<EOF
worker_processes 1;
pid $nx/nginx.pid;
error_log $nx/error.log;
events { worker_connections 64; }
http {
    access_log off;
    default_type text/plain;
    client_body_temp_path $nx/body;
    proxy_temp_path $nx/body;
    fastcgi_temp_path $nx/body;
    uwsgi_temp_path $nx/body;
    scgi_temp_path $nx/body;
    ssl_protocols TLSv1.2 TLSv1.3;
    server { listen 10.79.0.10:3542 ssl; ssl_certificate $dir/guest.crt; ssl_certificate_key $dir/guest.key; location / { return 200 "guest\n"; } }
    server { listen 10.79.0.16:443 ssl; ssl_certificate $dir/vcenter-expired.crt; ssl_certificate_key $dir/vcenter.key; location / { return 200 "vcenter\n"; } }
    server { listen 10.79.0.17:443 ssl; ssl_certificate $dir/cloud.crt; ssl_certificate_key $dir/cloud.key; location / { return 200 "cloud\n"; } }
}
EOF

ssh-keygen -q -t ed25519 -N "" -C pnc-probe -f "$dir/ssh_host_ed25519_key"
cat >"$dir/sshd_config" <<EOF
Port 22
ListenAddress 10.79.0.10
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication no
AuthorizedKeysFile none
PermitRootLogin no
EOF

cat >"$dir/xrdp.ini" <<EOF
[Globals]
ini_version=1
fork=false
port=tcp://10.79.0.10:3389
use_vsock=false
tcp_nodelay=true
tcp_keepalive=false
security_layer=negotiate
crypt_level=high
certificate=$dir/guest.crt
key_file=$dir/guest.key
ssl_protocols=TLSv1.2
[Logging]
LogFile=$dir/xrdp.logfile
LogLevel=INFO
EnableSyslog=false
EnableConsole=true
[Channels]
EOF

cat >"$dir/chrony.conf" <<EOF
local stratum 8
allow 10.79.0.0/24
bindaddress 10.79.0.14
port 123
cmdport 0
bindcmdaddress /
pidfile $dir/chronyd.pid
driftfile $dir/chrony.drift
EOF

# Every server in the background inside $S, its output in DIR/NAME.log; killed by "down".
bg() { # name argv...
	local name=$1
	shift
	ip netns exec "$S" "$@" >"$dir/$name.log" 2>&1 </dev/null &
}
bg nginx nginx -p "$nx" -c "$nx/nginx.conf" -e "$nx/error.log" -g "daemon off;"
# sshd will not start without its privilege-separation directory ("Missing privilege separation
# directory: /run/sshd"); /run is a tmpfs, so after a reboot it is there only once something made
# it. Made here as test/lab/lab.mjs makes it, and left in place (the lab removes it when no lab,
# recording or probe namespace is left).
[ -d /run/sshd ] || mkdir -m 755 /run/sshd
bg sshd /usr/sbin/sshd -D -e -f "$dir/sshd_config"
bg xrdp xrdp --nodaemon --config "$dir/xrdp.ini"
bg weak openssl s_server -accept 10.79.0.11:3542 -cert "$dir/weak.crt" -key "$dir/weak.key" -cipher "DEFAULT:@SECLEVEL=0" -WWW -quiet
bg authd python3 "$HERE/../lab/authd.py" serve --bind 10.79.0.12 --port 902 --cert "$dir/esxi.crt" --key "$dir/esxi.key" --count 8 --timeout 120
bg nobanner openssl s_server -accept 10.79.0.13:902 -cert "$dir/nobanner.crt" -key "$dir/nobanner.key" -WWW -quiet
bg chronyd chronyd -x -d -u root -f "$dir/chrony.conf"

lab_wait_listen "$S" tcp 3542
lab_wait_listen "$S" tcp 22
lab_wait_listen "$S" tcp 3389
lab_wait_listen "$S" tcp 902
lab_wait_listen "$S" tcp 443
lab_wait_listen "$S" udp 123
# Each address's own listener (several share a port).
for a in 10.79.0.10:3542 10.79.0.11:3542 10.79.0.12:902 10.79.0.13:902 10.79.0.16:443 10.79.0.17:443; do
	for ((i = 0; i < 50; i++)); do
		lab_exec "$S" ss -Hltn "src $a" | grep -q . && break
		sleep 0.1
	done
done
echo ready
