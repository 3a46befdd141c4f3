#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_22_auth.sh - what must NOT bring a tunnel up: a wrong PSK and an unknown
# identity get AUTHENTICATION_FAILED (seen in strongSwan's log) and leave no
# state on the POP; an IKEv1 attempt gets no answer and ipsecd keeps
# serving: the right configuration still connects afterwards.
#
#  pc 10.1.0.10 -- branch (charon) -- nat (masquerade) -- pop (ipsecd + XDP)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"

topo_branch_nat_pop
pop_with_site
export SW_ID=branch1.example.com SW_PSK=branch1-secret-0123456789
charon_start branch b1

no_state() {
	check "$1: no IKE SA" 0 "$(ctl -j sa list | jq length)"
	check "$1: no kernel state" 0 "$(xfrm_states pop)"
	check "$1: no kernel policy" 0 "$(xfrm_policies pop)"
	check "$1: no SPI in XDP" 0 "$(ctl -j map dump eg_spis | jq length)"
}

say "wrong PSK"
SW_PSK=not-the-right-secret-000 swan_load b1
swan b1 --initiate --child net --timeout 20 >/dev/null 2>&1 && die "wrong PSK connected"
charon_wait b1 "received AUTHENTICATION_FAILED notify error" 5 &&
	check "strongSwan: AUTHENTICATION_FAILED (wrong PSK)" yes yes ||
	check "strongSwan: AUTHENTICATION_FAILED (wrong PSK)" yes no
no_state "wrong PSK"
: >"$T/sw-b1/charon.log"

say "unknown identity"
SW_ID=intruder.example.com swan_load b1
swan b1 --initiate --child net --timeout 20 >/dev/null 2>&1 && die "unknown identity connected"
charon_wait b1 "received AUTHENTICATION_FAILED notify error" 5 &&
	check "strongSwan: AUTHENTICATION_FAILED (unknown identity)" yes yes ||
	check "strongSwan: AUTHENTICATION_FAILED (unknown identity)" yes no
no_state "unknown identity"
check_ge "ipsecd counted the failures" 2 "$(ctl -j status | jq .ike.auth_failed)"

say "IKEv1"
SW_VERSION=1 swan_load b1
swan b1 --initiate --child net --timeout 12 >/dev/null 2>&1 && die "IKEv1 connected"
check_ge "IKEv1 datagrams dropped" 1 "$(ctl -j status | jq .ike.ikev1_dropped)"
no_state "IKEv1"

say "the right configuration still connects"
swan_load b1
swan b1 --initiate --child net --timeout 30 >/dev/null 2>&1 || die "good config failed"
check "established after all that" established "$(ctl -j sa list | jq -r '.[0].state')"
in_ns pc ping -c 2 -W 3 -q 100.64.0.1 >/dev/null && check "ping" ok ok || check "ping" ok failed
finish
