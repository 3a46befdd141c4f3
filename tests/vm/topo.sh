# SPDX-License-Identifier: GPL-2.0
# topo.sh - the branch/NAT/POP topology shared by the IKE VM tests.
#
#  pc 10.1.0.10 -- 10.1.0.1 branch 192.0.2.2 -- 192.0.2.1 nat 198.51.100.7 --+
#  (LAN)           (charon)                      (nft masquerade)            |
#                                                                  br0 [wan] +-- 198.51.100.1 pop
#                                            scanner 198.51.100.66 ----------+   (ipsecd + XDP on eth0,
#                                                                                 probe 100.64.0.1)
# The NAT's outside address 198.51.100.7 is the site's source IP.

topo_branch_nat_pop() {
	ns_add pc; ns_add branch; ns_add nat; ns_add pop; ns_add wan; ns_add scanner
	ip -n pc link add eth0 type veth peer name lan0 netns branch
	ip -n branch link add wan0 type veth peer name in0 netns nat
	ip -n wan link add br0 type bridge
	ip -n wan link set br0 up
	for n in nat:out0 pop:eth0 scanner:eth0; do
		ip -n wan link add "w-${n%%:*}" type veth peer name "${n#*:}" netns "${n%%:*}"
		ip -n wan link set "w-${n%%:*}" master br0 up
	done
	ip -n scanner addr add 198.51.100.66/24 dev eth0
	ip -n scanner link set eth0 up
	ip -n pc addr add 10.1.0.10/24 dev eth0
	ip -n branch addr add 10.1.0.1/24 dev lan0
	ip -n branch addr add 192.0.2.2/24 dev wan0
	ip -n nat addr add 192.0.2.1/24 dev in0
	ip -n nat addr add 198.51.100.7/24 dev out0
	ip -n pop addr add 198.51.100.1/24 dev eth0
	for l in pc:eth0 branch:lan0 branch:wan0 nat:in0 nat:out0 pop:eth0; do
		ip -n "${l%%:*}" link set "${l#*:}" up
	done
	ip -n pc route add default via 10.1.0.1
	ip -n branch route add default via 192.0.2.1
	in_ns branch sysctl -qw net.ipv4.ip_forward=1
	in_ns nat sysctl -qw net.ipv4.ip_forward=1
	in_ns nat nft -f - <<-'NFT'
	table ip nat {
		chain post {
			type nat hook postrouting priority srcnat;
			oifname "out0" masquerade
		}
	}
	NFT
}

# ipsecd on the POP with POP1 and the site branch1 behind the NAT
pop_with_site() {
	start_ipsecd pop --iface eth0 --local-addr 198.51.100.1 --pop POP1
	ctl pop add POP1 gateway 198.51.100.1 probe 100.64.0.1 location Lab >/dev/null
	ctl site add branch1 identity branch1.example.com source-ip 198.51.100.7 \
		psk branch1-secret-0123456789 pop POP1 "$@" >/dev/null
}
