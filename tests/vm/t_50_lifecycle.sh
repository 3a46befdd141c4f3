#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_50_lifecycle.sh - a tunnel over time, with lifetimes shortened to
# seconds, counting what is lost (issues 8 and 9):
#
#   a. 3 minutes with a ping every 0.2 s from the branch PC while strongSwan
#      rekeys its IKE SA every ~30 s and its Child SA every ~10 s, DPD every
#      5 s both ways, and ipsecd's own limits (IKE 40 s, Child 15 s) make it
#      rekey too when the peer is late: 0 pings lost, rekeys counted, no
#      XFRM state or policy left over.
#   b. forced collisions: ipsecd and strongSwan rekey the Child SA at the
#      same moment (2.8.1), then the IKE SA (2.8.2): one of each survives.
#   c. the branch's charon is killed with -9 and started again (no DELETE):
#      its new IKE SA replaces the old one, ping recovers, exactly 3
#      policies, and traffic still flows after the old SA is gone.
#  c2. the restarted charon never rekeys: ipsecd rekeys the Child SA (soft
#      expiry) and the IKE SA (soft lifetime) as the initiator, 0 lost.
#   d. the branch NAT loses its state (conntrack flush, random ports): the
#      ESP and IKE mapping moves and ipsecd follows it (XFRM_MSG_MAPPING,
#      UPDSA of the encapsulation): ping recovers.
#   e. the branch dies (charon killed, its SAs flushed): ipsecd's DPD
#      removes the IKE SA, Child SAs, policies and XDP SPIs.
#
#  pc 10.1.0.10 --- branch (charon) --- nat (masquerade random) --- pop (ipsecd + XDP)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"

RUN_S=${VM_LIFECYCLE_S:-180}	# VM_* reaches the VM (vm.sh)

topo_branch_nat_pop
# random source ports, so a lost mapping comes back on another port
in_ns nat nft flush ruleset
in_ns nat nft -f - <<-'NFT'
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "out0" masquerade random
	}
}
NFT

IPSECD_OPTS=$LIFE_OPTS pop_with_site

export SW_ID=branch1.example.com SW_PSK=branch1-secret-0123456789
export SW_IKE_REKEY=30s SW_CHILD_REKEY=10s SW_DPD=5s
charon_start branch b1
swan b1 --initiate --child net --timeout 30 >"$T/init.out" 2>&1 || {
	cat "$T/init.out"; charon_log b1; die "tunnel did not come up"; }

# ---- a. rekeys over time, nothing lost ---------------------------------------
say "a. ${RUN_S} s, ping every 0.2 s, strongSwan rekeys IKE 30 s / Child 10 s"
t_a=$SECONDS
ping_rekeys a "$RUN_S"
check "a: charon has one IKE SA" 1 "$(swan b1 --list-sas --raw 2>/dev/null | grep -c 'pop {' || true)"
echo "scenario a: $((SECONDS - t_a)) s"

# ---- b. forced collisions ------------------------------------------------------
say "b. ipsecd and strongSwan rekey at the same moment"
t_b=$SECONDS
# Make the two requests cross: the branch's packets leave with 700 ms of
# delay, and ipsecd starts its rekey as soon as charon has sent its own
# (seen in charon's log), so each side gets the other's request while its
# own is outstanding (2.8.1, 2.8.2).
tc -n branch qdisc add dev wan0 root netem delay 700ms
ping_run 40 "$T/ping-b.out"
both() {
	local n0 b i
	n0=$(grep -c 'generating CREATE_CHILD_SA request' "$T/sw-b1/charon.log" || true)
	if [ "${1:-}" = --ike ]; then
		swan b1 --rekey --ike pop >/dev/null 2>&1 & b=$!
	else
		swan b1 --rekey --child net >/dev/null 2>&1 & b=$!
	fi
	for i in $(seq 1 100); do
		[ "$(grep -c 'generating CREATE_CHILD_SA request' "$T/sw-b1/charon.log" || true)" -gt "$n0" ] && break
		sleep 0.05
	done
	ctl sa rekey branch1 "$@" >/dev/null 2>>"$T/rekey.err" || true
	wait "$b" || true
}
for i in 1 2 3; do
	both
	sleep 5
	both --ike
	sleep 5
done
ping_wait "$T/ping-b.out"; sent=$PING_SENT lost=$PING_LOST
tc -n branch qdisc del dev wan0 root
cat "$T/rekey.err" 2>/dev/null | sort | uniq -c || true
echo "pings: $sent sent, $lost lost; collisions seen: $(ctl -j status | jq .ike.rekey_collisions)"
grep -E "collision" "$T/ipsecd.log" | tail -4 || true
check_ge "b: Child SA rekey collisions (2.8.1) in ipsecd's log" 1 \
	"$(grep -c 'Child SA rekey collision' "$T/ipsecd.log" || true)"
check_ge "b: IKE SA rekey collisions (2.8.2) in ipsecd's log" 1 \
	"$(grep -c 'IKE SA rekey collision\|both ends rekey the IKE SA' "$T/ipsecd.log" || true)"
check "b: pings lost across forced collisions" 0 "$lost"
check "b: one IKE SA" 1 "$(n_sa)"
wait_check "b: XFRM states back to one pair" 2 35 states
check "b: policies" 3 "$(policies)"
# strongSwan goes on rekeying every ~10 s, so one read of each side can
# straddle a rekey: poll until ipsecd's installed inbound SPIs and the
# kernel's inbound states are the same set
spis_agree() {
	local mine kern
	mine=$(sa | jq -r '.[0].children[] | select(.state == "installed") | .spi_in' | sort | xargs)
	kern=$(ip -n pop xfrm state | awk '/^src 198.51.100.7 dst 198.51.100.1/ { getline; print $4 }' |
		sed 's/^0x//' | sort | xargs)
	if [ -n "$mine" ] && [ "$mine" = "$kern" ]; then echo same; else echo "ipsecd [$mine] kernel [$kern]"; fi
}
wait_check "b: the surviving SPIs are the kernel's" same 20 spis_agree
echo "scenario b: $((SECONDS - t_b)) s"

# ---- c. the branch's charon restarts without DELETE ---------------------------
say "c. kill -9 charon, start it again, initiate"
t_c=$SECONDS
old_spi=$(sa | jq -r '.[0].spi_r')
replaced0=$(ctl -j status | jq .ike.replaced)
peer_kill branch charon
rm -f "$T/sw-b1/charon.vici"
# from now on strongSwan never rekeys: ipsecd must (scenario c2)
SW_IKE_REKEY=0 SW_CHILD_REKEY=0 charon_start branch b1
swan b1 --initiate --child net --timeout 30 >"$T/init2.out" 2>&1 || {
	cat "$T/init2.out"; charon_log b1; }
check_replaced c "$old_spi" "$replaced0"
sleep 3
check "c: still carries traffic after the old SA went" ok "$(ping_probe)"
echo "scenario c: $((SECONDS - t_c)) s"

# ---- c2. ipsecd rekeys as the initiator -------------------------------------
say "c2. 40 s with a peer that never rekeys: ipsecd rekeys both SAs itself"
t_c2=$SECONDS
ike0=$(ctl -j status | jq .ike.ike_rekeys)
child0=$(ctl -j status | jq .ike.child_rekeys)
ping_run 40 "$T/ping-c2.out"
ping_wait "$T/ping-c2.out"; sent=$PING_SENT lost=$PING_LOST
echo "pings: $sent sent, $lost lost; rekeys: IKE +$(( $(ctl -j status | jq .ike.ike_rekeys) - ike0 )), Child +$(( $(ctl -j status | jq .ike.child_rekeys) - child0 ))"
check "c2: pings lost while ipsecd rekeys" 0 "$lost"
check_ge "c2: our Child SA rekeys (15 s lifetime, soft 80-85%)" $((child0 + 2)) \
	"$(ctl -j status | jq .ike.child_rekeys)"
check_ge "c2: our IKE SA rekey (40 s lifetime, soft 85-90%)" $((ike0 + 1)) \
	"$(ctl -j status | jq .ike.ike_rekeys)"
check "c2: charon logged our rekeys as responder" yes \
	"$(grep -q 'received CREATE_CHILD_SA request\|parsed CREATE_CHILD_SA request' "$T/sw-b1/charon.log" && echo yes || echo no)"
check "c2: one IKE SA" 1 "$(n_sa)"
wait_check "c2: one pair of XFRM states" 2 35 states
check "c2: no Child SA expired unrekeyed" 0 "$(ctl -j status | jq .ike.expired)"
echo "scenario c2: $((SECONDS - t_c2)) s"

# ---- d. NAT rebinding ------------------------------------------------------------
say "d. the branch NAT forgets its mappings"
t_d=$SECONDS
port0=$(sa | jq -r '.[0].peer_port')
ping_run 25 "$T/ping-d.out"
sleep 3
in_ns nat conntrack -F >/dev/null 2>&1
moved=""
for i in $(seq 1 100); do
	p=$(sa | jq -r '.[0].peer_port')
	[ "$p" != "$port0" ] && { moved=$p; break; }
	sleep 0.2
done
ping_wait "$T/ping-d.out"; sent=$PING_SENT lost=$PING_LOST
echo "NAT port $port0 -> ${moved:-unchanged}; pings: $sent sent, $lost lost"
check "d: ipsecd saw the new port" yes "$([ -n "$moved" ] && echo yes || echo no)"
check "d: ping recovers after the rebinding" ok "$(ping_probe)"
check "d: outbound SA encapsulated to the new port" "$moved" \
	"$(ip -n pop xfrm state | awk '/^src 198.51.100.1 dst 198.51.100.7/ { f = 1 } f && /encap/ { print $7; exit }')"
check_ge "d: pings answered across the flush (at most 10 s lost)" $((sent - 50)) \
	$((sent - ${lost/unknown/$sent}))
check_ge "d: nat_moves counted" 1 "$(ctl -j status | jq .ike.nat_moves)"
echo "scenario d: $((SECONDS - t_d)) s"

# ---- e. dead peer ------------------------------------------------------------------
say "e. the branch dies: DPD (5 s / 20 s) cleans up"
t_e=$SECONDS
check_dead_peer e branch charon
grep -E "no answer to our liveness check" "$T/ipsecd.log" | tail -1 || true
echo "scenario e: $((SECONDS - t_e)) s"

finish
