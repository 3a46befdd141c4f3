#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_40_caps.sh - the inner (TC) program on a site's xfrm interface, through
# a real strongSwan tunnel: the per-site flow cap, the device cap, the
# license classes (web-gateway, cloud-firewall), the probe always allowed,
# and the counters ipsecctl shows for them. One branch, edited live between
# scenarios:
#   a. cloud-firewall, flow-cap 50: 60 concurrent TCP connections -> exactly
#      50 connect, 10 fail (SYNs counted as drop_flow_cap); flows == 50;
#      closed with RST -> flows 0 at once; a new batch of 50 connects.
#   b. device-cap 3, four PCs: the first three get through, the fourth is
#      dropped (drop_dev_cap) except for its probe pings.
#   c. web-gateway with port 8080: TCP 80, 443, 8080 pass; TCP 22 is dropped
#      (drop_license_port), UDP 53 and ICMP to a non-probe address too
#      (drop_license_proto); ICMP to the probe IP passes.
#   d. cloud-firewall again, flow-cap 0 (the default, 10000): UDP 53 echo and
#      TCP 22 pass, 60 connections all connect; closed with FIN, their flows
#      stay in the closing class (tcp-fin) until the sweeper's timeout.
# Totals: every allowed flow counted once (new_flows) and accepted by the POP.
# There is no ipsecd option for a shorter closing timeout, hence RST (conns
# open --rst) wherever a test needs the flows gone at once.
#
#  pc  10.1.0.10 --+
#  pc2 10.1.0.11 --+ br-lan                                                        pop 198.51.100.1
#  pc3 10.1.0.12 --+-- 10.1.0.1 branch 192.0.2.2 -- 192.0.2.1 nat 198.51.100.7 -- br0 -- (ipsecd: XDP eth0,
#  pc4 10.1.0.13 --+   (charon)                     (nft masquerade)          [wan]     TC on eg-x<site>,
#                                                                                      probe 100.64.0.1;
#                                          conns serve 80 443 8080 22, conns udp-echo 53, unbound)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"

CONNS=$BUILD/tests/vm/conns
PROBE=100.64.0.1
[ -x "$CONNS" ] || die "$CONNS missing: run make"

# branch_lan_pcs N: put the branch's LAN on a bridge br-lan and add PCs
# pc2..pcN (10.1.0.11..) beside topo.sh's pc (10.1.0.10).
branch_lan_pcs() {
	local i
	ip -n branch link add br-lan type bridge
	ip -n branch link set br-lan up
	ip -n branch addr del 10.1.0.1/24 dev lan0
	ip -n branch link set lan0 master br-lan
	ip -n branch addr add 10.1.0.1/24 dev br-lan
	for i in $(seq 2 "$1"); do
		ns_add "pc$i"
		ip -n "pc$i" link add eth0 type veth peer name lan$((i - 1)) netns branch
		ip -n "pc$i" addr add 10.1.0.$((9 + i))/24 dev eth0
		ip -n "pc$i" link set eth0 up
		ip -n "pc$i" route add default via 10.1.0.1
		ip -n branch link set lan$((i - 1)) master br-lan up
	done
}

# wait_file FILE PATTERN SECS: wait for a line matching PATTERN in FILE
wait_file() {
	local i
	for i in $(seq 1 $(($3 * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

site() { ctl -j site show branch1; }
sj() { site | jq -r "$1"; }
inner() { sj ".inner.$1"; }
flows() { sj '.flows'; }
endpoints() { sj '.endpoints'; }

# edit ARGS...: site edit branch1; the tunnel must stay (or come back)
edit() {
	ctl site edit branch1 "$@" >/dev/null || die "site edit branch1 $*"
	if [ "$(ctl -j sa list | jq -r '.[0].state // "none"')" != established ]; then
		echo "note: 'site edit branch1 $*' took the tunnel down; re-initiating"
		swan b1 --initiate --child net --timeout 30 >/dev/null 2>&1 ||
			die "tunnel did not come back after edit $*"
	fi
}

# conns_open NS PORT N [ARGS...]: conns open to the probe IP, prints its line
conns_open() {
	local ns=$1 port=$2 n=$3
	shift 3
	in_ns "$ns" "$CONNS" open $PROBE "$port" "$n" "$@" || echo "conns exit $?"
}

# udp_echo NS: one datagram to the probe IP's UDP 53, "answered" or not
udp_echo() { in_ns "$1" "$CONNS" udp $PROBE 53 --timeout-ms "${2:-2000}" || true; }

ping1() {
	if in_ns "$1" ping -c 1 -W "${3:-2}" -q "$2" >/dev/null 2>&1; then echo ok; else echo failed; fi
}

say "topology: branch LAN with four PCs"
topo_branch_nat_pop
branch_lan_pcs 4

say "POP: ipsecd, conns servers; site branch1 cloud-firewall flow-cap 50"
pop_with_site license cloud-firewall flow-cap 50
# nsenter directly (not in_ns, a function, run in a subshell when sent to
# the background): $! is then conns itself, for the signals below
nsenter --net=/run/netns/pop "$CONNS" serve 80 443 8080 22 >"$T/serve.out" 2>&1 &
SERVE_PID=$!
nsenter --net=/run/netns/pop "$CONNS" udp-echo 53 >"$T/udpecho.out" 2>&1 &
UDPECHO_PID=$!
wait_file "$T/serve.out" READY 5 || { cat "$T/serve.out"; die "conns serve"; }
wait_file "$T/udpecho.out" READY 5 || { cat "$T/udpecho.out"; die "conns udp-echo"; }
check "flow_cap stored" 50 "$(sj .flow_cap)"

say "branch: strongSwan initiates"
SW_ID=branch1.example.com SW_PSK=branch1-secret-0123456789 charon_start branch b1
swan b1 --initiate --child net --timeout 30 >"$T/init.out" 2>&1 || {
	cat "$T/init.out"; charon_log b1; die "tunnel did not come up"; }
check "tunnel established" established "$(ctl -j sa list | jq -r '.[0].state')"
check "TC program: no flows yet" 0 "$(flows)"
t_start=$SECONDS

# ---- a. flow cap -------------------------------------------------------------
say "a. flow cap 50: 60 concurrent connections from pc"
nsenter --net=/run/netns/pc "$CONNS" open $PROBE 80 60 --timeout-ms 5000 --hold 60 --rst \
	>"$T/a1.out" 2>&1 &
a1=$!
wait_file "$T/a1.out" connected= 20 || true
check "60 connections: 50 connect, 10 fail" "connected=50 failed=10" "$(cat "$T/a1.out")"
wait_check "site show: flows" 50 10 flows
check "site show: endpoints" 1 "$(endpoints)"
check "site list: flows" 50 \
	"$(ctl -j site list | jq -r '.. | objects | select(.name? == "branch1") | .flows' | head -n1)"
check_ge "site show: inner drop_flow_cap (SYNs of the 10)" 10 "$(inner drop_flow_cap)"
check "inner new_flows" 50 "$(inner new_flows)"
ctl -j flows branch1 >"$T/flows.json" || true
check "ipsecctl flows: count" 50 "$(jq -r .flows "$T/flows.json")"
check "ipsecctl flows: 50 established TCP flows pc -> probe:80" 50 \
	"$(jq '[.list[] | select(.proto == "tcp" and .src == "10.1.0.10" and
		.dst == "100.64.0.1" and .dport == 80 and .state == "tcp")] | length' "$T/flows.json")"
check "ipsecctl flows --limit 5" 5 "$(ctl -j flows branch1 --limit 5 | jq '.list | length')"
ctl flows branch1 --limit 3 || true
kill -USR1 $SERVE_PID
if wait_file "$T/serve.out" "accepted=50 open=50" 3; then
	check "POP accepted 50, holds 50" ok ok
else
	check "POP accepted 50, holds 50" ok "$(tail -n1 "$T/serve.out")"
fi
drops_a=$(inner drop_flow_cap)

say "a. close all with RST: flows freed at once"
kill -USR1 $a1
wait $a1 || true
wait_check "flows after RST" 0 10 flows
say "a. a new batch of 50 connects"
check "new batch: 50 connect" "connected=50 failed=0" \
	"$(conns_open pc 80 50 --timeout-ms 5000 --rst)"
check "no new flow-cap drops" "$drops_a" "$(inner drop_flow_cap)"
wait_check "flows after the second RST" 0 10 flows
echo "scenario a: $((SECONDS - t_start)) s"

# ---- b. device cap -----------------------------------------------------------
t_b=$SECONDS
say "b. device-cap 3, four PCs (pc is already an endpoint)"
edit device-cap 3
check "device_cap stored" 3 "$(sj .device_cap)"
check "endpoints before" 1 "$(endpoints)"
check "pc2 connects" "connected=1 failed=0" "$(conns_open pc2 443 1 --rst)"
check "pc3 connects" "connected=1 failed=0" "$(conns_open pc3 443 1 --rst)"
check "pc4 is refused (4th device)" "connected=0 failed=1" \
	"$(conns_open pc4 443 1 --timeout-ms 1500)"
check "pc4 UDP dropped too" "no answer" "$(udp_echo pc4 1000)"
check "pc4 probe ping still passes" ok "$(ping1 pc4 $PROBE)"
check "pc (known device) still connects" "connected=1 failed=0" "$(conns_open pc 443 1 --rst)"
check "endpoints: 3" 3 "$(endpoints)"
check_ge "inner drop_dev_cap (pc4's SYNs + datagram)" 2 "$(inner drop_dev_cap)"
echo "scenario b: $((SECONDS - t_b)) s"

# ---- c. web gateway license --------------------------------------------------
t_c=$SECONDS
say "c. license web-gateway, ports 8080"
edit license web-gateway ports 8080 device-cap 0
check "license stored" web-gateway "$(sj .license)"
proto0=$(inner drop_license_proto)
port0=$(inner drop_license_port)
probes0=$(inner probes)
check "TCP 443 passes" "connected=1 failed=0" "$(conns_open pc 443 1 --rst)"
check "TCP 8080 passes (custom port)" "connected=1 failed=0" "$(conns_open pc 8080 1 --rst)"
check "TCP 80 passes" "connected=1 failed=0" "$(conns_open pc 80 1 --rst)"
check "TCP 22 dropped" "connected=0 failed=1" "$(conns_open pc 22 1 --timeout-ms 1500)"
check "UDP 53 dropped" "no answer" "$(udp_echo pc 1000)"
check "ICMP to the probe IP passes" ok "$(ping1 pc $PROBE)"
check "ICMP to another address dropped" failed "$(ping1 pc 100.64.0.9 1)"
check_ge "drop_license_port (TCP 22 SYNs)" $((port0 + 1)) "$(inner drop_license_port)"
check "drop_license_proto: 1 datagram + 1 echo request" $((proto0 + 2)) "$(inner drop_license_proto)"
check_ge "probes counted" $((probes0 + 1)) "$(inner probes)"
echo "scenario c: $((SECONDS - t_c)) s"

# ---- d. cloud firewall -------------------------------------------------------
t_d=$SECONDS
say "d. license cloud-firewall, flow-cap 0 (default)"
edit license cloud-firewall flow-cap 0
proto0=$(inner drop_license_proto)
port0=$(inner drop_license_port)
check "UDP 53 echo passes" answered "$(udp_echo pc)"
check "TCP 22 passes" "connected=1 failed=0" "$(conns_open pc 22 1 --rst)"
check "default cap: 60 connect" "connected=60 failed=0" \
	"$(conns_open pc 80 60 --timeout-ms 5000)"
# closed with FIN this time: the flows stay, in the closing class
fin_flows() { ctl -j flows branch1 | jq '[.list[] | select(.state == "tcp-fin")] | length'; }
wait_check "60 flows closing after FIN (ipsecctl flows: tcp-fin)" 60 10 fin_flows
check "flows: 60 closing + the UDP one" 61 "$(flows)"
check "no license drops" "$proto0 $port0" "$(inner drop_license_proto) $(inner drop_license_port)"
check "one UDP flow left" 1 "$(ctl -j flows branch1 | jq '[.list[] | select(.proto == "udp" and .dport == 53)] | length')"
check "no table-full drops" 0 "$(inner drop_table_full)"
echo "scenario d: $((SECONDS - t_d)) s"

say "totals"
site | jq -M -c .inner
# 50 + 50 (a) + 3 (b) + 3 (c) + 1 UDP + 1 + 60 (d)
check "inner new_flows: every connection and datagram allowed" 168 "$(inner new_flows)"
check "inner new_devices" 3 "$(inner new_devices)"
kill -TERM $SERVE_PID $UDPECHO_PID
wait $SERVE_PID $UDPECHO_PID || true
check "POP: every allowed TCP connection accepted" "accepted=167" \
	"$(tail -n1 "$T/serve.out" | cut -d' ' -f1)"
check "POP: UDP echoes sent" "answered=1" "$(tail -n1 "$T/udpecho.out")"
echo "scenarios: $((SECONDS - t_start)) s"
finish
