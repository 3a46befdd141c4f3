#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_30_xfrm.sh - the per-site design of user/link.h, built with the API of
# user/xfrm.c and user/link.c (xfrm_smoke): two branches with the SAME inner
# LAN 10.1.0.0/24 ping the POP's probe IP 100.64.0.1 at the same time, each
# through its own ESP-in-UDP tunnel, xfrm interface and VRF; an unbound TCP
# server on the POP sees each connection in the right VRF; on SIGTERM the
# POP side removes everything it made. `ip` only configures the branches and
# inspects the POP.
#
#   [b1] lan0 10.1.0.1/24                             [b2] lan0 10.1.0.1/24
#   eth0 192.0.2.2                                     eth0 198.51.100.2
#   ip xfrm: cbc(aes) + hmac(sha256)                   ip xfrm: rfc4106(gcm(aes))
#        |  ESP in UDP 4500                    ESP in UDP 4500 |
#   b1 192.0.2.1 ------------------ [pop] ----------------- b2 198.51.100.1
#                 eg-x1 (if_id 1) in VRF eg-v1, table 1001:
#                     10.1.0.0/24 dev eg-x1, local 100.64.0.1
#                 eg-x2 (if_id 2) in VRF eg-v2, table 1002:
#                     10.1.0.0/24 dev eg-x2, local 100.64.0.1
#                 SAs + IN/FWD/OUT policies with if_id 1 / 2,
#                 UDP_ENCAP socket on 4500, TCP :7 unbound
#                 (all made by `xfrm_smoke --hold`)
#
set -eu
. "$(dirname "$0")/lib.sh"

SMOKE=$BUILD/tests/vm/xfrm_smoke
[ -x "$SMOKE" ] || die "$SMOKE not built"
POP_PID=""
ENCAP_PIDS=""

# wait_ready LOGFILE PID: wait (30 s at most) until the process printed READY.
wait_ready() {
	local _
	for _ in $(seq 1 300); do
		grep -q '^READY$' "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/  | /' "$1" >&2
	die "$1: no READY"
}

# stat_of SITE DIR FIELD: a counter from the POP's last "stats" lines.
stat_of() {
	grep "^stats site=$1 dir=$2 " "$T/pop.log" | tail -n1 |
		sed -n "s/.* $3=\([0-9]*\).*/\1/p"
}

# ip_packets NS SPI: packet counter of an SA as `ip -s xfrm state` shows it.
ip_packets() {
	ip -n "$1" -s xfrm state list spi "$2" |
		awk '/lifetime current:/ { getline; gsub(/[(),]/, " "); print $3; exit }'
}

say "API checks (own namespace)"
"$SMOKE" >"$T/unit.log" 2>&1 && rc=0 || rc=$?
sed 's/^/  | /' "$T/unit.log" | grep -v '^  | ok ' || true
check "xfrm_smoke API checks" 0 "$rc"

say "topology"
ns_add pop
for b in b1 b2; do
	ns_add "$b"
	ip -n pop link add "$b" type veth peer name eth0 netns "$b"
	ip -n "$b" link add lan0 type dummy
	ip -n "$b" addr add 10.1.0.1/24 dev lan0
	ip -n "$b" link set lan0 up
	ip -n "$b" link set eth0 up
	ip -n pop link set "$b" up
done
ip -n pop addr add 192.0.2.1/24 dev b1
ip -n b1 addr add 192.0.2.2/24 dev eth0
ip -n b1 route add 100.64.0.0/10 via 192.0.2.1
ip -n pop addr add 198.51.100.1/24 dev b2
ip -n b2 addr add 198.51.100.2/24 dev eth0
ip -n b2 route add 100.64.0.0/10 via 198.51.100.1

say "POP side with the API"
# nsenter directly, not the in_ns function: $! must be the program itself
# (a backgrounded function is a subshell that signals would kill instead)
nsenter --net=/run/netns/pop "$SMOKE" --hold "$T" \
	--probe 100.64.0.1 --inner 10.1.0.0/24 --tcp-port 7 \
	--site 1,192.0.2.1,192.0.2.2,cbc --site 2,198.51.100.1,198.51.100.2,gcm \
	>"$T/pop.log" 2>&1 &
POP_PID=$!
wait_ready "$T/pop.log" "$POP_PID"

say "branches with ip xfrm"
# branch -> site number, POP address, branch address
for spec in b1:1:192.0.2.1:192.0.2.2 b2:2:198.51.100.1:198.51.100.2; do
	IFS=: read -r b id pop me <<<"$spec"
	nsenter --net=/run/netns/"$b" "$SMOKE" --udp-encap 4500 >"$T/$b-encap.log" 2>&1 &
	ENCAP_PIDS="$ENCAP_PIDS $!"
	wait_ready "$T/$b-encap.log" $!
	# B2P_SPI, P2B_SPI, B2P_ALGS, P2B_ALGS as the POP chose them
	# shellcheck disable=SC1090 # written by xfrm_smoke --hold
	. "$T/site$id.env"
	# shellcheck disable=SC2086 # the algorithm strings are word lists
	ip -n "$b" xfrm state add src "$me" dst "$pop" proto esp spi "$B2P_SPI" \
		reqid "$id" mode tunnel $B2P_ALGS encap espinudp 4500 4500 0.0.0.0
	# shellcheck disable=SC2086
	ip -n "$b" xfrm state add src "$pop" dst "$me" proto esp spi "$P2B_SPI" \
		reqid "$id" mode tunnel replay-window 32 $P2B_ALGS \
		encap espinudp 4500 4500 0.0.0.0
	ip -n "$b" xfrm policy add src 10.1.0.0/24 dst 100.64.0.0/10 dir out \
		tmpl src "$me" dst "$pop" proto esp reqid "$id" mode tunnel
	ip -n "$b" xfrm policy add src 100.64.0.0/10 dst 10.1.0.0/24 dir in \
		tmpl src "$pop" dst "$me" proto esp reqid "$id" mode tunnel
	eval "SPI_IN_$id=$B2P_SPI SPI_OUT_$id=$P2B_SPI"
done

say "POP as ip(8) sees it"
ip -n pop -d -o link show type xfrm | sed 's/^/  | /'
ip -n pop -o link show type vrf | sed 's/^/  | /'
for t in 1001 1002; do ip -n pop route show table "$t" | sed "s/^/  | table $t: /"; done
ip -n pop xfrm policy | sed 's/^/  | /'

say "both branches ping 100.64.0.1 from 10.1.0.1 at once (3 and 6 echoes)"
in_ns b1 ping -q -c 3 -i 0.2 -W 2 -I 10.1.0.1 100.64.0.1 >"$T/ping1" 2>&1 &
p1=$!
in_ns b2 ping -q -c 6 -i 0.2 -W 2 -I 10.1.0.1 100.64.0.1 >"$T/ping2" 2>&1 &
p2=$!
wait "$p1" && r1=0 || r1=$?
wait "$p2" && r2=0 || r2=$?
sed 's/^/  | b1: /' "$T/ping1"
sed 's/^/  | b2: /' "$T/ping2"
check "b1 ping" 0 "$r1"
check "b2 ping" 0 "$r2"

say "SA counters on the POP"
kill -USR1 "$POP_PID"
for _ in $(seq 1 50); do
	[ "$(grep -c '^stats ' "$T/pop.log")" -ge 4 ] && break
	sleep 0.1
done
grep '^stats ' "$T/pop.log" | sed 's/^/  | /'
# exact counts: site 1's echoes never touch site 2's SAs and vice versa
check "site 1 inbound SA packets (API)" 3 "$(stat_of 1 in packets)"
check "site 1 outbound SA packets (API)" 3 "$(stat_of 1 out packets)"
check "site 2 inbound SA packets (API)" 6 "$(stat_of 2 in packets)"
check "site 2 outbound SA packets (API)" 6 "$(stat_of 2 out packets)"
check "site 2 outbound sequence number" 6 "$(stat_of 2 out oseq)"
check "site 1 inbound SA packets (ip -s xfrm)" 3 "$(ip_packets pop "$SPI_IN_1")"
check "site 1 outbound SA packets (ip -s xfrm)" 3 "$(ip_packets pop "$SPI_OUT_1")"
check "site 2 inbound SA packets (ip -s xfrm)" 6 "$(ip_packets pop "$SPI_IN_2")"
check "site 2 outbound SA packets (ip -s xfrm)" 6 "$(ip_packets pop "$SPI_OUT_2")"
ip -n pop -s xfrm state | grep -E '^src|if_id|lifetime current|packets\)' |
	sed 's/^/  | /'

say "unbound TCP server on the POP answers in the branch's VRF"
check "b1 TCP to 100.64.0.1:7" "vrf=eg-v1" \
	"$(in_ns b1 "$SMOKE" --tcp-client 100.64.0.1 7 10.1.0.1 2>&1)"
check "b2 TCP to 100.64.0.1:7" "vrf=eg-v2" \
	"$(in_ns b2 "$SMOKE" --tcp-client 100.64.0.1 7 10.1.0.1 2>&1)"

say "SIGTERM: the POP side deletes what it made"
kill -TERM "$POP_PID"
wait "$POP_PID" && rc=0 || rc=$?
POP_PID=""
sed -n '/^# tearing down/,$p' "$T/pop.log" | sed 's/^/  | /'
check "xfrm_smoke --hold exit status" 0 "$rc"
check "POP SAs left" "" "$(ip -n pop xfrm state)"
check "POP policies left" "" "$(ip -n pop xfrm policy)"
check "POP xfrm interfaces left" "" "$(ip -n pop -o link show type xfrm)"
check "POP VRFs left" "" "$(ip -n pop -o link show type vrf)"
check "POP routes in tables 1001/1002" 0 \
	"$(ip -n pop route show table all | grep -c 'table 100[12]' || true)"

for p in $ENCAP_PIDS; do
	kill -TERM "$p"
	wait "$p" && rc=0 || rc=$?
	check "branch UDP encap holder $p exit status" 0 "$rc"
done

if [ "$FAILS" -ne 0 ]; then
	echo "--- pop log" >&2
	sed 's/^/  | /' "$T/pop.log" >&2
fi
finish
