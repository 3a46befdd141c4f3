#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_23_two_sites.sh - two sites with the SAME inner network (10.1.0.0/24)
# up at once, both pinging the probe IP at the same time, each through its
# own tunnel (one XFRM interface + VRF per site). Site 2 is not behind a
# NAT: ipsecd's NAT detection answer forces UDP encapsulation anyway (NAT-T
# is mandatory; XDP drops raw ESP). ipsecd asks every IKE_SA_INIT for a
# cookie (--cookie-threshold 0, RFC 7296 2.6): charon returns it, NATed
# and not.
#
#  pc1 10.1.0.10 -- branch1 -- nat1 198.51.100.7 --+
#                                                   +-- br0 [wan, "ISP" .254] -- eth0 pop 198.51.100.1
#  pc2 10.1.0.10 -- branch2 198.51.100.8 -----------+                             (ipsecd + XDP)
set -eu
. "$(dirname "$0")/lib.sh"

say "topology"
for n in wan pop pc1 branch1 nat1 pc2 branch2; do ns_add $n; done
ip -n wan link add br0 type bridge
ip -n wan link set br0 up
# branch2's default gateway: an "ISP" that forwards nothing, so that only
# what leaves through the tunnel can reach the POP's probe IP
ip -n wan addr add 198.51.100.254/24 dev br0
for n in pop nat1 branch2; do
	ip -n wan link add "w-$n" type veth peer name eth0 netns "$n"
	ip -n wan link set "w-$n" master br0 up
	ip -n "$n" link set eth0 up
done
ip -n pop addr add 198.51.100.1/24 dev eth0
ip -n nat1 addr add 198.51.100.7/24 dev eth0
ip -n branch2 addr add 198.51.100.8/24 dev eth0
ip -n branch1 link add wan0 type veth peer name in0 netns nat1
ip -n nat1 addr add 192.0.2.1/24 dev in0
ip -n branch1 addr add 192.0.2.2/24 dev wan0
for i in 1 2; do
	ip -n pc$i link add eth0 type veth peer name lan0 netns branch$i
	ip -n pc$i addr add 10.1.0.10/24 dev eth0
	ip -n branch$i addr add 10.1.0.1/24 dev lan0
	ip -n pc$i link set eth0 up
	ip -n branch$i link set lan0 up
	ip -n pc$i route add default via 10.1.0.1
	in_ns branch$i sysctl -qw net.ipv4.ip_forward=1
done
ip -n branch1 link set wan0 up
ip -n nat1 link set in0 up
ip -n branch1 route add default via 192.0.2.1
ip -n branch2 route add default via 198.51.100.254
in_ns nat1 sysctl -qw net.ipv4.ip_forward=1
in_ns nat1 nft -f - <<'NFT'
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "eth0" masquerade
	}
}
NFT

say "ipsecd with two sites, cookies always asked for"
start_ipsecd pop --iface eth0 --local-addr 198.51.100.1 --pop POP1 --cookie-threshold 0
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
check_ge "cookies sent (one per IKE_SA_INIT at least)" 2 "$(ctl -j status | jq .ike.init_cookie_sent)"
check "cookies returned that were not ours" 0 "$(ctl -j status | jq .ike.init_cookie_bad)"
sa2() { ctl -j sa list | jq -r ".[] | select(.site == \"$1\") | .$2"; }
check "branch1 seen behind its NAT" true "$(sa2 branch1 nat)"
check "branch2 seen without a NAT" false "$(sa2 branch2 nat)"
check "branch2 floated to 4500 (UDP encapsulation forced)" 4500 "$(sa2 branch2 peer_port)"
check "one xfrm interface per site" 2 "$(ip -n pop -br link show type xfrm | wc -l)"
check "one VRF per site" 2 "$(ip -n pop -br link show type vrf | wc -l)"

say "both PCs (same address, same LAN) ping the probe IP at once"
in_ns pc1 ping -c 5 -i 0.3 -W 3 -q 100.64.0.1 >"$T/p1" 2>&1 & p1=$!
in_ns pc2 ping -c 5 -i 0.3 -W 3 -q 100.64.0.1 >"$T/p2" 2>&1 & p2=$!
r1=0; wait $p1 || r1=$?
r2=0; wait $p2 || r2=$?
check "pc1 ping" 0 "$r1"
check "pc2 ping" 0 "$r2"
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
