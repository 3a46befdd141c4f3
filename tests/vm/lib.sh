# SPDX-License-Identifier: GPL-2.0
# lib.sh - helpers sourced by the VM tests: namespaces, ipsecd, checks.
# Tests run as root inside the VM with the build dir as $1.

BUILD=${1:?usage: $0 BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
IPSECD=$BUILD/ipsecd
IPSECCTL_BIN=$BUILD/ipsecctl
IKELOAD=$BUILD/ikeload
T=$(mktemp -d /tmp/egtest.XXXXXX)
NSLIST=""
DAEMON_PID=""
FAILS=0

say() { echo "### $*"; }
die() { echo "FAIL: $*" >&2; exit 1; }

# check DESCRIPTION EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then
		echo "ok: $1 ($3)"
	else
		echo "not ok: $1: expected '$2', got '$3'" >&2
		FAILS=$((FAILS + 1))
	fi
}

# check_ge DESCRIPTION MIN ACTUAL
check_ge() {
	if [ "$3" -ge "$2" ] 2>/dev/null; then
		echo "ok: $1 ($3 >= $2)"
	else
		echo "not ok: $1: expected >= $2, got '$3'" >&2
		FAILS=$((FAILS + 1))
	fi
}

# check_range DESCRIPTION MIN MAX ACTUAL
check_range() {
	if [ "$4" -ge "$2" ] 2>/dev/null && [ "$4" -le "$3" ]; then
		echo "ok: $1 ($2 <= $4 <= $3)"
	else
		echo "not ok: $1: expected $2..$3, got '$4'" >&2
		FAILS=$((FAILS + 1))
	fi
}

# wait_check DESCRIPTION EXPECTED SECS CMD...: poll CMD until it prints
# EXPECTED (status is refreshed every 5 s from the XDP counters)
wait_check() {
	local what=$1 want=$2 secs=$3 got="" i
	shift 3
	for i in $(seq 1 $((secs * 5))); do
		got=$("$@" 2>/dev/null || true)
		[ "$got" = "$want" ] && break
		sleep 0.2
	done
	check "$what" "$want" "$got"
}

ns_add() {
	ip netns del "$1" 2>/dev/null || true
	ip netns add "$1"
	ip -n "$1" link set lo up
	NSLIST="$NSLIST $1"
}

# Run in a namespace without `ip netns exec` (it remounts /sys and hides
# bpffs, VM.md): nsenter keeps the mount namespace as it is.
in_ns() {
	local ns=$1
	shift
	nsenter --net=/run/netns/"$ns" "$@"
}

ctl() { "$IPSECCTL_BIN" -s "$T/ipsecd.sock" -d "$T/espgate.db" "$@"; }

# ipsecd_spawn DIR NS ARGS...: run ipsecd in NS with its store, control
# socket and log in DIR (espgate.db, ipsecd.sock, ipsecd.log), wait until it
# answers; SPAWNED is its pid (nsenter execs ipsecd, so $! is the daemon)
ipsecd_spawn() {
	local dir=$1 ns=$2 i
	shift 2
	nsenter --net=/run/netns/"$ns" "$IPSECD" --db "$dir/espgate.db" --socket "$dir/ipsecd.sock" "$@" \
		>"$dir/ipsecd.log" 2>&1 &
	SPAWNED=$!
	for i in $(seq 1 100); do
		[ -S "$dir/ipsecd.sock" ] &&
			"$IPSECCTL_BIN" -s "$dir/ipsecd.sock" -d "$dir/espgate.db" status >/dev/null 2>&1 &&
			return 0
		kill -0 "$SPAWNED" 2>/dev/null || break
		sleep 0.1
	done
	cat "$dir/ipsecd.log" >&2
	die "ipsecd ($dir) did not start"
}

# start_ipsecd NS ARGS...: the test's one gateway (files in $T, ctl)
start_ipsecd() {
	ipsecd_spawn "$T" "$@"
	DAEMON_PID=$SPAWNED
}

# Several gateways in one test (failover): gateway NAME has its own store,
# socket, log ($T/gw-NAME/) and BPF pins (/sys/fs/bpf/espgate-NAME).
# gw_start NAME NS ARGS..., gw NAME ARGS... (ipsecctl against it),
# gw_stop NAME [SIG] (TERM, INT, or KILL: a crash), gw_log NAME.
declare -A GW_PID=()
gw_start() {
	local name=$1 ns=$2
	shift 2
	mkdir -p "$T/gw-$name"
	ipsecd_spawn "$T/gw-$name" "$ns" --pin-root /sys/fs/bpf/espgate-"$name" "$@"
	GW_PID[$name]=$SPAWNED
}
gw() {
	local name=$1
	shift
	"$IPSECCTL_BIN" -s "$T/gw-$name/ipsecd.sock" -d "$T/gw-$name/espgate.db" "$@"
}
gw_stop() {
	local pid=${GW_PID[$1]:-} rc=0
	[ -n "$pid" ] || return 0
	kill -"${2:-TERM}" "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	GW_PID[$1]=""
	return $rc
}
gw_log() { cat "$T/gw-$1/ipsecd.log"; }

# stop_ipsecd [SIG]: TERM (default: a restart's stop, tunnels and maps
# kept) or INT (a full teardown)
stop_ipsecd() {
	local rc=0
	[ -n "$DAEMON_PID" ] || return 0
	kill -"${1:-TERM}" "$DAEMON_PID" 2>/dev/null || true
	wait "$DAEMON_PID" || rc=$?
	DAEMON_PID=""
	return $rc
}

cleanup() {
	local rc=$?
	if [ -n "$DAEMON_PID" ]; then
		kill -TERM "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	for gw in "${!GW_PID[@]}"; do
		# INT: a full teardown, nothing left pinned under /sys/fs/bpf
		[ -n "${GW_PID[$gw]}" ] || continue
		kill -INT "${GW_PID[$gw]}" 2>/dev/null || true
		wait "${GW_PID[$gw]}" 2>/dev/null || true
	done
	for ns in $NSLIST; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	# a failed check, a command that failed under set -e, or asked for
	if [ "${FAILS:-0}" -ne 0 ] || [ "$rc" -ne 0 ] || [ "${VM_SHOW_LOG:-0}" = 1 ]; then
		echo "--- ipsecd log" >&2
		cat "$T/ipsecd.log" >&2 2>/dev/null || true
		for gw in "${!GW_PID[@]}"; do
			echo "--- ipsecd log of gateway $gw" >&2
			gw_log "$gw" >&2 2>/dev/null || true
		done
	fi
	rm -rf "$T"
}
trap cleanup EXIT

# udp_send NS DST PORT PRINTF-FORMAT: one datagram with that payload
# (bash's /dev/udp; the source port is whatever the kernel picks).
udp_send() {
	in_ns "$1" bash -c "printf '$4' > /dev/udp/$2/$3"
}

# A 28-byte IKEv2 header (IKE_SA_INIT request, zero SPIs): enough for XDP.
IKE_HDR='\x11\x22\x33\x44\x55\x66\x77\x88\0\0\0\0\0\0\0\0\x21\x20\x22\x08\0\0\0\0\0\0\0\x1c'

finish() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$FAILS check(s) failed" >&2
		exit 1
	fi
	echo "all checks passed"
}

# ---- strongSwan as the branch-office peer -----------------------------------
#
# charon_start NS NAME: run a charon of its own in NS, with its own
# strongswan.conf (STRONGSWAN_CONF), swanctl dir and a private /run (the pid
# file is fixed at /var/run/charon.pid), VM.md. Config goes in $T/sw-NAME/.
# Variables read: SW_ID, SW_PSK, SW_REMOTE, SW_LOCAL_TS, SW_REMOTE_TS,
# SW_IKE (IKE proposals), SW_ESP (ESP proposals), SW_REMOTE_ID; lifecycle:
# SW_IKE_REKEY, SW_CHILD_REKEY (rekey_time, default 0 = never), SW_DPD
# (dpd_delay, default 0 = off); SW_FRAG_SIZE (charon's fragment_size, the
# IP packet size it fragments IKE messages to, RFC 7383; default 1280).
# SW_WRITER names the function that writes swanctl.conf (default swan_write,
# a branch; tests/vm/load.sh has a responder's), SW_PLUGINS plugins to load
# first (preferred), SW_LOG / SW_LOG_IKE the log levels (default 1 / 2),
# SW_CHARON_EXTRA more charon settings ("key = value" lines); SW_RTX_TRIES,
# SW_RTX_TIMEOUT, SW_RTX_BASE its retransmits (default 3, 2.0 s, 1.8: a
# request is given up 23.7 s after it was first sent).
charon_start() {
	local ns=$1 name=$2 d=$T/sw-$2
	mkdir -p "$d/run"
	for sub in bliss conf.d x509 x509ca x509ocsp x509aa x509ac x509crl pubkey \
		private rsa ecdsa pkcs8 pkcs12; do
		mkdir -p "$d/swanctl/$sub"
	done
	cat >"$d/strongswan.conf" <<-CONF
	swanctl {
		load = random pem
	}
	charon {
		load = ${SW_PLUGINS:-} random nonce aes sha1 sha2 hmac gmp kdf gcm kernel-netlink socket-default vici
		install_routes = no
		retransmit_tries = ${SW_RTX_TRIES:-3}
		retransmit_timeout = ${SW_RTX_TIMEOUT:-2.0}
		retransmit_base = ${SW_RTX_BASE:-1.8}
		fragment_size = ${SW_FRAG_SIZE:-1280}
		${SW_CHARON_EXTRA:-}
		filelog {
			log {
				path = $d/charon.log
				flush_line = yes
				default = ${SW_LOG:-1}
				ike = ${SW_LOG_IKE:-2}
				cfg = ${SW_LOG:-1}
			}
		}
		plugins {
			vici {
				socket = unix://$d/charon.vici
			}
		}
	}
	CONF
	"${SW_WRITER:-swan_write}" "$name"
	rm -f "$d/charon.vici"	# a charon of that name before this one
	in_ns "$ns" unshare -m sh -c "mount -t tmpfs none /run && mkdir -p /run && \
		exec env STRONGSWAN_CONF=$d/strongswan.conf SWANCTL_DIR=$d/swanctl \
		/usr/lib/ipsec/charon" >"$d/charon.out" 2>&1 &
	local i
	for i in $(seq 1 100); do
		[ -S "$d/charon.vici" ] && break
		sleep 0.1
	done
	[ -S "$d/charon.vici" ] || { cat "$d/charon.out" >&2; die "charon $name did not start"; }
	swan "$name" --load-all --noprompt >/dev/null || die "swanctl --load-all ($name)"
}

# swan_write NAME: (re)write that branch's swanctl.conf from the SW_* variables
swan_write() {
	local d=$T/sw-$1
	cat >"$d/swanctl/swanctl.conf" <<-CONF
	connections {
		pop {
			version = ${SW_VERSION:-2}
			remote_addrs = ${SW_REMOTE:-198.51.100.1}
			proposals = ${SW_IKE:-aes256-sha256-modp2048}
			rekey_time = ${SW_IKE_REKEY:-0}
			dpd_delay = ${SW_DPD:-0}
			local {
				auth = psk
				id = $SW_ID
			}
			remote {
				auth = psk
				id = ${SW_REMOTE_ID:-${SW_REMOTE:-198.51.100.1}}
			}
			children {
				net {
					local_ts = ${SW_LOCAL_TS:-10.1.0.0/24}
					remote_ts = ${SW_REMOTE_TS:-0.0.0.0/0}
					esp_proposals = ${SW_ESP:-aes256gcm16}
					rekey_time = ${SW_CHILD_REKEY:-0}
					mode = tunnel
				}
			}
		}
	}
	secrets {
		ike-pop {
			id-1 = $SW_ID
			secret = "$SW_PSK"
		}
	}
	CONF
}

# swan_load NAME: rewrite the config and load it into the running charon
swan_load() {
	swan_write "$1"
	swan "$1" --load-all --noprompt >/dev/null
}


# swan NAME ARGS...: swanctl against that charon
swan() {
	local name=$1 d=$T/sw-$1
	shift
	SWANCTL_DIR=$d/swanctl STRONGSWAN_CONF=$d/strongswan.conf \
		swanctl "$@" --uri "unix://$d/charon.vici"
}

charon_log() { cat "$T/sw-$1/charon.log"; }

# charon_wait NAME PATTERN [SECS]: wait for a line in that charon's log
charon_wait() {
	local i
	for i in $(seq 1 $((${3:-10} * 10))); do
		grep -q "$2" "$T/sw-$1/charon.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ping_run SECS FILE: a ping every 0.2 s for SECS from the PC, in the
# background; ping_wait FILE: wait for it (in this shell: a $(...) could
# not), then PING_SENT and PING_LOST
ping_run() {
	in_ns pc ping -i 0.2 -W 1 -c $(($1 * 5)) 100.64.0.1 >"$2" 2>&1 &
	PING_PID=$!
}
ping_wait() {
	wait "$PING_PID" || true
	read -r PING_SENT PING_LOST < <(awk '/packets transmitted/ { print $1, $1 - $4 }' "$1")
	if [ -z "${PING_SENT:-}" ]; then
		tail -3 "$1"
		PING_SENT=0 PING_LOST=unknown
	fi
}

# peer_kill NS COMM: kill -9 the IKE daemon COMM (charon, pluto) of that
# namespace (several run at once: the command line does not say which is
# whose) and forget its kernel state, as a branch router that loses power
peer_kill() {
	local p
	for p in $(ip netns pids "$1"); do
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$2" ] && kill -9 "$p"
	done
	sleep 0.5
	ip -n "$1" xfrm state flush
	ip -n "$1" xfrm policy flush
}

# XFRM policies in NS, not counting per-socket bypass policies
xfrm_policies() { ip -n "$1" xfrm policy | grep -c '^[[:space:]]*dir ' || true; }
xfrm_states() { ip -n "$1" xfrm state | grep -c '^src' || true; }
