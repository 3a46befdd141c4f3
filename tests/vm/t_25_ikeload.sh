#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_25_ikeload.sh - the load generator tools/ikeload, checked against what
# the responders themselves count: strongSwan's charon first (swanctl
# --counters and --stats), then ipsecd (ipsecctl status). Its failures must
# be named (a wrong PSK), its COOKIE answers real (ipsecd asking every
# time), and a full run leaves one IKE SA per branch on the responder.
#
#  load (40 branches, 10.200.0.1-40) --- 198.51.100.1 pop (charon | ipsecd)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/load.sh"

N=40		# branches
H=120		# handshakes per run: each branch three times
load_topo $N

# ok FILE, failed FILE, ...: a field of ikeload's JSON
jget() { jq -r "$2" "$T/$1"; }

say "charon as the responder"
charon_responder
ikeload_run sw.json -n $N -N $H -c 8
check "ikeload vs charon: handshakes ok" $H "$(jget sw.json .ok)"
check "ikeload vs charon: failed" 0 "$(jget sw.json .failed)"
# charon answers a retransmit from its cache and mostly does not count it
# again, so each counter lies between H and H plus every retransmit
rtx=$(jget sw.json .retransmits)
check_range "charon: IKE_SA_INIT requests in" $H $((H + rtx)) "$(swan_counter ike-init-in-req)"
check_range "charon: IKE_AUTH requests in" $H $((H + rtx)) "$(swan_counter ike-auth-in-req)"
# charon replaces a branch's older IKE SA by the newer (uniqueids) with a
# DELETE that ikeload never answers, so the old ones linger while charon
# retransmits it: at least one per branch, at most one per handshake (a
# CI run counted 80 after 10 s; ipsecd's own count below is exact)
sw_sas() {
	SWANCTL_DIR=$T/sw-resp/swanctl swanctl --stats --uri "unix://$T/sw-resp/charon.vici" |
		sed -n 's/^IKE_SAs: \([0-9]*\) total.*/\1/p'
}
for _ in $(seq 1 50); do [ "$(sw_sas)" = "$N" ] && break; sleep 0.2; done
check_range "charon: IKE SAs, one per branch once the old ones go" $N $H "$(sw_sas)"
in_ns pop pkill -f /usr/lib/ipsec/charon || true
sleep 1

say "ipsecd as the responder, a cookie asked for every IKE_SA_INIT"
start_ipsecd pop --iface eth0 --local-addr 198.51.100.1 --pop POP1 --cookie-threshold 0 \
	--max-half-open-src 1000
load_sites $N
st0=$(ctl -j status)
ikeload_run ip.json -n $N -N $H -c 8
st1=$(ctl -j status)
delta() { echo $(($(echo "$st1" | jq ".ike.$1") - $(echo "$st0" | jq ".ike.$1"))); }
check "ikeload vs ipsecd: handshakes ok" $H "$(jget ip.json .ok)"
check "ikeload vs ipsecd: failed" 0 "$(jget ip.json .failed)"
check "ipsecd: IKE_AUTH ok" $H "$(delta auth_ok)"
check "ikeload answered every cookie" "$(delta init_cookie_sent)" "$(jget ip.json .cookies)"
check_ge "cookies asked for" $H "$(jget ip.json .cookies)"
check "ipsecd: one IKE SA per site" $N "$(ctl -j sa list | jq length)"

say "a wrong PSK: named as the failure, counted on both sides"
st0=$(ctl -j status)
in_ns load "$IKELOAD" -t 198.51.100.1 -s "$LOAD_FIRST" -n $N -N $N -c 8 \
	--psk not-the-secret-0000 -o "$T/bad.json" >/dev/null
st1=$(ctl -j status)
check "ikeload: failures" $N "$(jget bad.json .failed)"
check "ikeload: by reason" $N "$(jget bad.json '.failures["auth: AUTHENTICATION_FAILED"]')"
check "ipsecd: auth_failed" $N "$(delta auth_failed)"

say "a bad command line"
if "$IKELOAD" -t 198.51.100.1 -n 5 >/dev/null 2>"$T/usage"; then rc=0; else rc=$?; fi
check "usage exit status" 2 "$rc"
check "usage printed" 1 "$(grep -c '^usage: ikeload' "$T/usage")"
finish
