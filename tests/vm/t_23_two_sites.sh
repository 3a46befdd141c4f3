#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_23_two_sites.sh - two sites with the SAME inner network (10.1.0.0/24)
# up at once, both pinging the probe IP at the same time, each through its
# own tunnel (one XFRM interface + VRF per site).
#
#  pc1 10.1.0.10 -- branch1 -- nat1 198.51.100.7 --+
#                                                   +-- br0 [wan] -- eth0 pop 198.51.100.1
#  pc2 10.1.0.10 -- branch2 -- nat2 198.51.100.8 --+                 (ipsecd + XDP)
set -eu
. "$(dirname "$0")/lib.sh"

say "topology"
for n in wan pop pc1 branch1 nat1 pc2 branch2 nat2; do ns_add $n; done
ip -n wan link add br0 type bridge
ip -n wan link set br0 up
for n in pop nat1 nat2; do
	ip -n wan link add "w-$n" type veth peer name eth0 netns "$n"
	ip -n wan link set "w-$n" master br0 up
	ip -n "$n" link set eth0 up
done
ip -n pop addr add 198.51.100.1/24 dev eth0
ip -n nat1 addr add 198.51.100.7/24 dev eth0
ip -n nat2 addr add 198.51.100.8/24 dev eth0
for i in 1 2; do
	ip -n pc$i link add eth0 type veth peer name lan0 netns branch$i
	ip -n pc$i addr add 10.1.0.10/24 dev eth0
	ip -n branch$i addr add 10.1.0.1/24 dev lan0
	ip -n pc$i link set eth0 up
	ip -n branch$i link set lan0 up
	ip -n pc$i route add default via 10.1.0.1
	in_ns branch$i sysctl -qw net.ipv4.ip_forward=1
	ip -n branch$i link add wan0 type veth peer name in0 netns nat$i
	ip -n nat$i addr add 192.0.2.1/24 dev in0
	ip -n branch$i addr add 192.0.2.2/24 dev wan0
	ip -n branch$i link set wan0 up
	ip -n nat$i link set in0 up
	ip -n branch$i route add default via 192.0.2.1
	in_ns nat$i sysctl -qw net.ipv4.ip_forward=1
	in_ns nat$i nft -f - <<-'NFT'
	table ip nat {
		chain post {
			type nat hook postrouting priority srcnat;
			oifname "eth0" masquerade
		}
	}
	NFT
done

say "ipsecd with two sites"
start_ipsecd pop --iface eth0 --local-addr 198.51.100.1 --pop POP1
ctl pop add POP1 gateway 198.51.100.1 probe 100.64.0.1 location Lab >/dev/null
ctl site add branch1 identity branch1.example.com source-ip 198.51.100.7 \
	psk branch1-secret-0123456789 pop POP1 >/dev/null
ctl site add branch2 identity ops@branch2.example.net source-ip 198.51.100.8 \
	psk branch2-secret-9876543210 pop POP1 >/dev/null

say "both branches connect"
SW_ID=branch1.example.com SW_PSK=branch1-secret-0123456789 charon_start branch1 b1
SW_ID=ops@branch2.example.net SW_PSK=branch2-secret-9876543210 charon_start branch2 b2
swan b1 --initiate --child net --timeout 30 >/dev/null 2>&1 || die "branch1 did not connect"
swan b2 --initiate --child net --timeout 30 >/dev/null 2>&1 || die "branch2 did not connect"
check "two IKE SAs" 2 "$(ctl -j sa list | jq '[.[] | select(.state == "established")] | length')"
check "one xfrm interface per site" 2 "$(ip -n pop -br link show type xfrm | wc -l)"
check "one VRF per site" 2 "$(ip -n pop -br link show type vrf | wc -l)"

say "both PCs (same address, same LAN) ping the probe IP at once"
in_ns pc1 ping -c 5 -i 0.3 -W 3 -q 100.64.0.1 >"$T/p1" 2>&1 & p1=$!
in_ns pc2 ping -c 5 -i 0.3 -W 3 -q 100.64.0.1 >"$T/p2" 2>&1 & p2=$!
r1=0; wait $p1 || r1=$?
r2=0; wait $p2 || r2=$?
check "pc1 ping" 0 "$r1"
check "pc2 ping" 0 "$r2"
if [ "$r1$r2" != 00 ]; then
	cat "$T/p1" "$T/p2"
	ip -n pop -s xfrm state
	ip -n pop xfrm policy
	ip -n pop route show table all | grep -v "^local\|^broadcast\|^ff\|^fe"
	in_ns pop cat /proc/net/xfrm_stat | grep -v " 0$"
	ip -n pop -s link show eg-x2
	ip -n branch2 -s xfrm state
	in_ns branch2 cat /proc/net/xfrm_stat | grep -v " 0$"
fi
pk() { ctl -j sa list | jq -r ".[] | select(.site == \"$1\") | .children[0].$2"; }
check "branch1 inbound packets" 5 "$(pk branch1 packets_in)"
check "branch1 outbound packets" 5 "$(pk branch1 packets_out)"
check "branch2 inbound packets" 5 "$(pk branch2 packets_in)"
check "branch2 outbound packets" 5 "$(pk branch2 packets_out)"

say "deleting one site leaves the other up"
ctl site delete branch2 >/dev/null
check "branch1 still established" established \
	"$(ctl -j sa list | jq -r '.[] | select(.site == "branch1") | .state')"
check "only branch1's links left" 1 "$(ip -n pop -br link show type xfrm | wc -l)"
in_ns pc1 ping -c 2 -W 3 -q 100.64.0.1 >/dev/null && check "pc1 ping after" ok ok ||
	check "pc1 ping after" ok failed
finish
