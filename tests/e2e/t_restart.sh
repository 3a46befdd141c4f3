#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_restart.sh BUILD - an ipsecd restart on the host, where XDP has no
# dispatcher (libxdp attaches the classifier alone): what the VM's
# t_53_restart cannot see. A veth in a netns, ipsecd on it under sockhold
# (systemd's socket activation without systemd):
#   - SIGTERM leaves the classifier attached and UDP 4500 held;
#   - the maps stay pinned and the next ipsecd takes them over: counters go
#     on, a site keeps its counter slot, a deleted one's entry is gone;
#   - it replaces the classifier in one step (XDP_FLAGS_REPLACE), with its
#     maps filled before: the site is in the new classifier's eg_sites;
#   - `ipsecctl shutdown --teardown` takes the classifier off, unpins all;
#   - sockets passed on another address than --local-addr are refused.
set -eu
BUILD=$(cd "${1:?usage: $0 BUILD}" && pwd)
T=$(mktemp -d /tmp/egrst.XXXXXX)
NS=egrst$$
PEER=egrsp$$
PIN=/sys/fs/bpf/egrst-$$
FAILS=0
PASSES=0
hold=""
ipid=""

cleanup() {
	[ -n "$hold" ] && kill "$hold" 2>/dev/null && wait "$hold" 2>/dev/null
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	ip netns del "$PEER" 2>/dev/null || true
	[ "$FAILS" -eq 0 ] || { echo "--- ipsecd log" >&2; cat "$T/log" >&2; }
	rm -rf "$T" "$PIN"
}
trap cleanup EXIT

ok() { echo "ok: $1"; PASSES=$((PASSES + 1)); }
bad() { echo "not ok: $1" >&2; FAILS=$((FAILS + 1)); }
check() { if [ "$2" = "$3" ]; then ok "$1 ($3)"; else bad "$1: expected '$2', got '$3'"; fi; }
ctl() { "$BUILD/ipsecctl" -s "$T/sock" -P "$PIN" "$@"; }
prog_id() { ip -n "$NS" -d link show va | grep -o 'prog/xdp id [0-9]*' | grep -o '[0-9]*$' || true; }
in_sites() { bpftool map dump pinned "$PIN/eg_sites" 2>/dev/null | grep -c '^key' || true; }
held_4500() { ip netns exec "$NS" ss -Huln 'sport = :4500' | wc -l; }
ready() {
	for _ in $(seq 1 200); do
		[ -s "$T/pid" ] && ctl status >/dev/null 2>&1 && ipid=$(cat "$T/pid") && return 0
		sleep 0.05
	done
	cat "$T/log"; exit 1
}
# gone [nokill]: SIGTERM to ipsecd (not sockhold), wait for its exit
gone() {
	[ "${1:-}" = nokill ] || kill -TERM "$ipid"
	for _ in $(seq 1 200); do
		kill -0 "$ipid" 2>/dev/null || return 0
		sleep 0.05
	done
	bad "ipsecd $ipid did not stop"; exit 1
}

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add "$NS"
ip netns add "$PEER"
ip -n "$NS" link add va type veth peer name vb
ip -n "$NS" link set vb netns "$PEER"
ip -n "$NS" link set va up
ip -n "$PEER" link set vb up
ip -n "$NS" addr add 192.0.2.1/24 dev va
ip -n "$PEER" addr add 192.0.2.99/24 dev vb
# unknown_src: XDP's count of datagrams to UDP 500 from no site's address
unknown_src() { ctl -j map dump eg_stats | jq .drop_unknown_src.pkts; }
slot_of() { ctl -j map dump eg_sites | jq -r --arg ip "$1" '.[] | select(.source_ip == $ip) | .slot'; }

echo "### under sockhold, XDP on va"
nsenter --net=/run/netns/"$NS" "$BUILD/tests/vm/sockhold" "$T/pid" 192.0.2.1 \
	"$BUILD/ipsecd" --db "$T/db" --socket "$T/sock" --pin-root "$PIN" \
	--iface va --local-addr 192.0.2.1 --pop P1 >>"$T/log" 2>&1 &
hold=$!
ready
check "sockets passed" 1 "$(grep -c 'socket activation: UDP 500 and 4500' "$T/log")"
# sockhold takes sd_notify(3) messages as systemd would (Type=notify)
check "READY=1 (sd_notify)" 1 "$(grep -c '^READY=1$' "$T/pid.notify")"
check "its first status line" "STATUS=0 sites, 0 IKE SAs (0 half-open), XDP native" \
	"$(grep -m1 '^STATUS=' "$T/pid.notify")"
ctl pop add P1 gateway 192.0.2.1 probe 100.64.0.1 location Lab >/dev/null
ctl site add b0 identity b0.example.com source-ip 192.0.2.6 psk b0-secret-0123456789 pop P1 >/dev/null
ctl site add b1 identity b1.example.com source-ip 192.0.2.7 psk b1-secret-0123456789 pop P1 >/dev/null
ctl site delete b0 >/dev/null	# a fresh start would give b1 slot 0
check "site in eg_sites" 1 "$(in_sites)"
check "b1's counter slot" 1 "$(slot_of 192.0.2.7)"
for _ in 1 2 3; do ip netns exec "$PEER" bash -c 'echo x >/dev/udp/192.0.2.1/500'; done
check "XDP dropped 3 from an unknown source" 3 "$(unknown_src)"
id0=$(prog_id)
check "classifier attached" yes "$([ -n "$id0" ] && echo yes || echo no)"
npin=$(ctl -j map list | jq length)
[ "$npin" -ge 10 ] && ok "maps pinned ($npin)" || bad "maps pinned: expected >= 10, got $npin"

echo "### SIGTERM: the classifier and the sockets stay"
gone
check "STOPPING=1 told, tunnels kept" 1 \
	"$(grep -c '^STATUS=stopping (tunnels kept for the next start)$' "$T/pid.notify")"
check "STOPPING=1" 1 "$(grep -c '^STOPPING=1$' "$T/pid.notify")"
check "classifier still attached, the same" "$id0" "$(prog_id)"
check "UDP 4500 held while ipsecd is down" 1 "$(held_4500)"
check "maps still pinned" "$npin" "$(find "$PIN" -mindepth 1 | wc -l)"

echo "### start again: replaced in one step, maps filled first"
kill -HUP "$hold"
ready
id1=$(prog_id)
check "a new classifier" yes "$([ -n "$id1" ] && [ "$id1" != "$id0" ] && echo yes || echo no)"
# this kernel has no freplace for libxdp's dispatcher (the VM's has: t_53)
if grep -q 'loading single prog without dispatcher' "$T/log"; then
	check "one step, no dispatcher" 1 "$(grep -c 'replaced the classifier the previous ipsecd left (no dispatcher)' "$T/log")"
else
	check "one step, in the dispatcher" 1 "$(grep -c 'replaced the classifier the previous ipsecd left (1)' "$T/log")"
fi
check "site in the new eg_sites" 1 "$(in_sites)"
check "maps taken over" 1 "$(grep -c "$npin maps carried over from the previous ipsecd" "$T/log")"
check "counters went on" 3 "$(unknown_src)"
check "b1 kept its slot" 1 "$(slot_of 192.0.2.7)"
check "the new classifier uses the pinned eg_sites" yes \
	"$(bpftool prog show id "$id1" | grep -q "map_ids.*\b$(bpftool map show pinned "$PIN/eg_sites" | cut -d: -f1)\b" && echo yes || echo no)"

echo "### teardown: the classifier comes off"
ctl shutdown --teardown >/dev/null
gone nokill
check "no classifier on va" "" "$(prog_id)"
check "nothing pinned" 0 "$(find "$PIN" -mindepth 1 2>/dev/null | wc -l)"

echo "### sockets on another address than --local-addr are refused"
kill "$hold"; wait "$hold" 2>/dev/null || true
ip -n "$NS" addr add 192.0.2.2/24 dev va
: >"$T/log"
nsenter --net=/run/netns/"$NS" "$BUILD/tests/vm/sockhold" "$T/pid" 192.0.2.1 \
	"$BUILD/ipsecd" --db "$T/db" --socket "$T/sock" --pin-root "$PIN" \
	--local-addr 192.0.2.2 --pop P1 >>"$T/log" 2>&1 &
hold=$!
for _ in $(seq 1 100); do
	grep -q 'exited, status' "$T/log" && break
	sleep 0.05
done
check "ipsecd exits with status 1" 1 "$(grep -c 'exited, status 1;' "$T/log")"
check "and names the socket" 1 \
	"$(grep -c 'fd 3 is bound to 192.0.2.1:500; ipsecd takes only --local-addr' "$T/log")"

echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
