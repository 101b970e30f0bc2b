# shellcheck shell=bash
# Network-namespace helpers for recording fixtures and, later, the end-to-end lab.
#
# Source this file (`. test/lab/netns.sh`); it defines functions only and changes nothing by itself.
# Everything it creates lives in namespaces whose names start with a prefix that must begin with
# "pnc-", so `lab_teardown PREFIX` can find and remove exactly what we made and nothing else.
#
# Topology: one "bridge namespace" holding a Linux bridge; each host namespace gets a veth pair
# whose inside end is called eth0 and whose other end is enslaved to that bridge. Nothing is
# connected to the root namespace and no default route is set, so packets can only go to the
# addresses the caller assigns (use a private range such as 10.77.0.0/24 and fd77::/64).
#
# Functions (all return non-zero on failure; callers run with `set -e` or check):
#   lab_bridge_create NS                      namespace NS with bridge br0 (up, no IPv6 on it)
#   lab_host_add NS BRIDGE_NS IPV4/LEN [IPV6/LEN] [MTU]
#                                              namespace NS, eth0 on BRIDGE_NS's br0, addresses
#                                              added with nodad (IPv6 usable at once), offloads
#                                              off (see lab_no_offload)
#   lab_no_offload NS DEV                      checksums computed in software, no TSO/GSO/GRO
#   lab_vlan_add NS HELPER_NS IPV4/LEN         a VLAN "sub-interface" eth0v in NS: eth0's MAC, the
#                                              address, its veth peer vlp in namespace HELPER_NS
#                                              (made here), where test/lab/vlan_relay.py tags and
#                                              untags between vlp and NS's eth0; no IPv6 on either
#   lab_exec NS CMD...                         run CMD inside NS (ip netns exec)
#   lab_wait_listen NS tcp|udp PORT [TENTHS]   wait (bounded, default 5 s) until a socket is bound
#   lab_wait_file_line FILE TEXT [TENTHS]      wait (bounded) until FILE contains TEXT
#   lab_kill_pid PID                           TERM, bounded wait, then KILL one process we started
#   lab_teardown PREFIX                        kill processes left in PREFIX* namespaces (one PID at
#                                              a time), delete those namespaces

LAB_BRIDGE=${LAB_BRIDGE:-br0}

lab__check_prefix() {
	case "$1" in
	pnc-?*) return 0 ;;
	*)
		echo "netns.sh: refusing name '$1': lab namespaces must start with 'pnc-'" >&2
		return 1
		;;
	esac
}

lab_exec() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# Quiet IPv6 housekeeping so captures hold only what we send: no router solicitations, no
# autoconfiguration, no accepting router advertisements.
lab__quiet_ipv6() {
	local ns=$1 dev=$2
	lab_exec "$ns" sysctl -qw "net.ipv6.conf.$dev.accept_ra=0" \
		"net.ipv6.conf.$dev.autoconf=0" \
		"net.ipv6.conf.$dev.router_solicitations=0" \
		"net.ipv6.conf.$dev.dad_transmits=0" >/dev/null
}

# veth offloads would make captures unlike a wire: with checksum offload the sender's packets are
# captured with a partial (wrong) checksum, and with TSO/GSO/GRO one capture record can hold many
# MSS-sized segments (a 4 KB "frame" on a 1500-byte link). Turning off tx checksumming also turns
# off TSO and GSO that depend on it; GRO is turned off for the receive side.
lab_no_offload() {
	lab_exec "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 ||
		lab_exec "$1" ethtool -K "$2" tx off gso off gro off >/dev/null
}

lab_bridge_create() {
	local ns=$1
	lab__check_prefix "$ns" || return 1
	ip netns add "$ns" || return 1
	lab_exec "$ns" ip link set lo up
	lab_exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null
	lab_exec "$ns" ip link add "$LAB_BRIDGE" type bridge stp_state 0 mcast_snooping 0
	lab_exec "$ns" ip link set "$LAB_BRIDGE" up
}

lab_host_add() {
	local ns=$1 brns=$2 v4=$3 v6=${4:-} mtu=${5:-}
	lab__check_prefix "$ns" || return 1
	# veth names are limited to 15 bytes; name the bridge end after the namespace's last part.
	local peer="v-${ns##*-}"
	peer=${peer:0:15}
	ip netns add "$ns" || return 1
	lab_exec "$ns" ip link set lo up
	lab_exec "$ns" sysctl -qw net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.default.autoconf=0 \
		net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.default.dad_transmits=0 >/dev/null
	lab_exec "$ns" ip link add eth0 type veth peer name "$peer" netns "$brns"
	lab__quiet_ipv6 "$ns" eth0
	lab_exec "$brns" ip link set "$peer" master "$LAB_BRIDGE"
	lab_no_offload "$ns" eth0
	lab_no_offload "$brns" "$peer"
	if [ -n "$mtu" ]; then
		lab_exec "$ns" ip link set eth0 mtu "$mtu"
	fi
	lab_exec "$brns" ip link set "$peer" up
	lab_exec "$ns" ip addr add "$v4" dev eth0
	if [ -n "$v6" ]; then
		lab_exec "$ns" ip -6 addr add "$v6" dev eth0 nodad
	fi
	lab_exec "$ns" ip link set eth0 up
}

lab_vlan_add() {
	local ns=$1 helper=$2 v4=$3 mac
	lab__check_prefix "$helper" || return 1
	ip netns add "$helper" || return 1
	lab_exec "$helper" ip link set lo up
	mac=$(lab_exec "$ns" cat /sys/class/net/eth0/address)
	lab_exec "$ns" ip link add eth0v type veth peer name vlp netns "$helper"
	lab_exec "$ns" sysctl -qw net.ipv6.conf.eth0v.disable_ipv6=1 >/dev/null
	lab_exec "$helper" sysctl -qw net.ipv6.conf.vlp.disable_ipv6=1 >/dev/null
	# 4 bytes less than eth0's 1500: room for the 802.1Q tag the relay adds
	lab_exec "$ns" ip link set eth0v address "$mac" mtu 1496
	lab_no_offload "$ns" eth0v
	lab_no_offload "$helper" vlp
	lab_exec "$ns" ip addr add "$v4" dev eth0v
	lab_exec "$helper" ip link set vlp up
	lab_exec "$ns" ip link set eth0v up
}

lab_wait_listen() {
	local ns=$1 proto=$2 port=$3 tenths=${4:-50} i flag
	case "$proto" in tcp) flag=-Hltn ;; udp) flag=-Hlun ;; *) return 2 ;; esac
	for ((i = 0; i < tenths; i++)); do
		if lab_exec "$ns" ss "$flag" "sport = :$port" 2>/dev/null | grep -q .; then
			return 0
		fi
		sleep 0.1
	done
	echo "netns.sh: nothing bound to $proto/$port in $ns after $tenths tenths of a second" >&2
	return 1
}

lab_wait_file_line() {
	local file=$1 text=$2 tenths=${3:-50} i
	for ((i = 0; i < tenths; i++)); do
		if [ -f "$file" ] && grep -qF -- "$text" "$file"; then
			return 0
		fi
		sleep 0.1
	done
	echo "netns.sh: '$text' did not appear in $file" >&2
	return 1
}

lab_kill_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 30; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

lab_teardown() {
	local prefix=$1 ns pid
	lab__check_prefix "$prefix" || return 1
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${prefix}" || true); do
		# Only processes inside our own namespaces: servers we started that are still running.
		for pid in $(ip netns pids "$ns" 2>/dev/null || true); do
			lab_kill_pid "$pid"
		done
		ip netns del "$ns" 2>/dev/null || true
	done
}

# A recorder's lifetime (fixtures/record-issue*.sh): on any exit, every PID in LAB_PIDS is killed
# by its PID, the namespaces named PREFIX* are removed and the temp dir T is deleted. Removes
# leftovers of an earlier run first, then sets T to a new temp dir /tmp/TMPNAME.XXXXXX.
#   lab_recorder_begin PREFIX TMPNAME
lab_recorder_begin() {
	lab__check_prefix "$1" || return 1
	LAB_REC_PREFIX=$1
	LAB_PIDS=()
	T=""
	trap lab__recorder_end EXIT
	trap 'exit 130' INT TERM
	lab_teardown "$LAB_REC_PREFIX"
	T=$(mktemp -d "/tmp/$2.XXXXXX")
}

lab__recorder_end() {
	local rc=$? pid
	set +e
	for pid in "${LAB_PIDS[@]}"; do lab_kill_pid "$pid"; done
	lab_teardown "$LAB_REC_PREFIX"
	[ -n "$T" ] && rm -rf "$T"
	exit "$rc"
}

# tcpdump on eth0 of NS writing T/FILE (the rest of the arguments: its options and filter), once
# it listens; LAB_CAP is its PID. lab_cap_stop lets the last packets in and stops it.
#   lab_cap_start NS FILE [tcpdump args]
lab_cap_start() {
	local ns=$1 f=$2
	shift 2
	ip netns exec "$ns" timeout 120 tcpdump -i eth0 -n -U --immediate-mode -Z root "$@" -w "$T/$f" >"$T/$f.log" 2>&1 &
	LAB_PIDS+=("$!")
	LAB_CAP=$!
	lab_wait_file_line "$T/$f.log" "listening on" 50
}

lab_cap_stop() {
	sleep 0.4
	kill -TERM "$LAB_CAP" 2>/dev/null || true
	wait "$LAB_CAP" 2>/dev/null || true
}
