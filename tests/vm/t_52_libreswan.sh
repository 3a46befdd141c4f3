#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_52_libreswan.sh - Libreswan's pluto as the branch, over time (issue 9):
# the second real peer, run from the unpacked package (tests/vm/pluto.sh).
#
#   a. the tunnel comes up through the NAT (IKEv2, PSK, NAT-T);
#   b. ${VM_LIBRESWAN_S:-90} s with a ping every 0.2 s from the PC while
#      Libreswan rekeys its IKE SA (every ~31 s) and its Child SA (every
#      ~8 s) and ipsecd's own limits (IKE 40 s, Child 15 s) stand behind:
#      0 pings lost, the rekeys counted in `ipsecctl sa list`, nothing left
#      over in XFRM;
#   c. pluto is killed with -9 and started again (a branch router that
#      reboots): its new IKE SA replaces the old one at once, 3 policies;
#   d. pluto dies for good: DPD (5 s / 20 s) removes everything.
# Every IKE_SA_INIT is asked for a cookie (--cookie-threshold 0, RFC 7296
# 2.6): pluto returns it, in a and in c.
#
#  pc 10.1.0.10 --- branch (pluto) --- nat (masquerade) --- pop (ipsecd + XDP)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"
. "$(dirname "$0")/pluto.sh"

RUN_S=${VM_LIBRESWAN_S:-90}	# VM_* reaches the VM (vm.sh)

topo_branch_nat_pop
IPSECD_OPTS="$LIFE_OPTS --cookie-threshold 0" pop_with_site

export LS_ID=branch1.example.com LS_PSK=branch1-secret-0123456789
export LS_IKE_LIFE=35s LS_CHILD_LIFE=12s LS_MARGIN=4s LS_DPD=5

initiate() {
	pluto_whack b1 --name pop --initiate >"$T/$1" 2>&1 || true
	grep -q "established Child SA\|IPsec SA established" "$T/$1" || {
		cat "$T/$1"; tail -40 "$T/ls-b1/pluto.log"; tail -20 "$T/ipsecd.log"
		die "Libreswan: tunnel did not come up"; }
}

# ---- a. up ----------------------------------------------------------------------
say "a. Libreswan $(cat "$LSW/.version" 2>/dev/null) initiates through the NAT"
pluto_start branch b1
initiate init.out
check "a: ping through the tunnel" ok "$(ping_probe)"
check "a: one IKE SA" 1 "$(n_sa)"
check "a: NAT detected (UDP 4500 encapsulation)" 4500 \
	"$(ip -n pop xfrm state | awk '/encap/ { print $5; exit }')"
check "a: policies: in, out, fwd" 3 "$(policies)"

# ---- b. rekeys over time ------------------------------------------------------
say "b. ${RUN_S} s, ping every 0.2 s, Libreswan rekeys IKE ~31 s / Child ~8 s"
t_b=$SECONDS
ping_rekeys b "$RUN_S"
check_ge "b: IKE SA rekeys that Libreswan started" $((RUN_S / 40)) \
	"$(grep -c 'IKE SA rekeyed by the peer' "$T/ipsecd.log" || true)"
check_ge "b: Child SA rekeys that Libreswan started (every ~8 s)" $((RUN_S / 10)) \
	"$(grep -c 'Child SA in .* (rekey)$' "$T/ipsecd.log" || true)"
echo "scenario b: $((SECONDS - t_b)) s"

# ---- c. pluto restarts without DELETE -------------------------------------------
say "c. kill -9 pluto, start it again, initiate"
t_c=$SECONDS
old_spi=$(sa | jq -r '.[0].spi_r')
replaced0=$(ctl -j status | jq .ike.replaced)
peer_kill branch pluto
rm -f "$T/ls-b1/run/pluto.ctl" "$T/ls-b1/run/pluto.pid"
pluto_start branch b1
initiate init2.out
check_replaced c "$old_spi" "$replaced0"
check_ge "c: cookies sent (a and c each at least one)" 2 \
	"$(ctl -j status | jq .ike.init_cookie_sent)"
check "c: cookies returned that were not ours" 0 "$(ctl -j status | jq .ike.init_cookie_bad)"
echo "scenario c: $((SECONDS - t_c)) s"

# ---- d. dead peer ---------------------------------------------------------------
say "d. the branch dies: DPD (5 s / 20 s) cleans up"
check_dead_peer d branch pluto

finish
