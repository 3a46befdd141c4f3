#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# demo-guest.sh BUILD - the demo scenario, run inside the VM by demo.sh.
#
#   branch-a (203.0.113.7)  --.
#                             +-- br0 [wan] -- eth0 [pop: ipsecd + XDP, 203.0.113.1]
#   scanner  (203.0.113.66) --'
#
set -eu
. "$(dirname "$0")/../tests/vm/lib.sh"

run() { echo; echo "\$ ipsecctl $*"; ctl "$@"; }

say "building the topology: a WAN bridge, the POP, a known branch, a scanner"
ns_add wan; ns_add pop; ns_add branch-a; ns_add scanner
ip -n wan link add br0 type bridge
ip -n wan link set br0 up
for n in pop branch-a scanner; do
	ip -n wan link add "w-$n" type veth peer name eth0 netns "$n"
	ip -n wan link set "w-$n" master br0 up
	ip -n "$n" link set eth0 up
done
ip -n pop addr add 203.0.113.1/24 dev eth0
ip -n branch-a addr add 203.0.113.7/24 dev eth0
ip -n scanner addr add 203.0.113.66/24 dev eth0

say "starting ipsecd on the POP NIC (XDP classifier, native mode)"
start_ipsecd pop --iface eth0 --local-addr 203.0.113.1 --pop POP1
run status
run pop add POP1 gateway 203.0.113.1 probe 100.64.0.1 location "Lab rack 1"
run site add branch-a identity branch-a.example.com source-ip 203.0.113.7 \
	psk demo-psk-0123456789 pop POP1 traffic-type user
run site list

say "branch-a sends IKE and NAT-T keepalives; the scanner probes 500 and 4500"
for i in 1 2 3; do udp_send branch-a 203.0.113.1 500 "$IKE_HDR"; done
for i in 1 2; do udp_send branch-a 203.0.113.1 4500 '\xff'; done
for i in 1 2 3 4 5; do
	udp_send scanner 203.0.113.1 500 "$IKE_HDR"
	udp_send scanner 203.0.113.1 4500 '\xde\xad\xbe\xef\0\0\0\x01'
done
sleep 0.5
run site list
run map dump eg_site_ctr
run map dump eg_stats

say "disabling branch-a live: its packets are now dropped in XDP"
run site disable branch-a
udp_send branch-a 203.0.113.1 500 "$IKE_HDR"
sleep 0.3
run map dump eg_site_ctr
run site enable branch-a
say "done; stopping ipsecd (XDP detached, maps unpinned)"
stop_ipsecd
