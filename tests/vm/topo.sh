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

# ipsecd on the POP with POP1 and the site branch1 behind the NAT; ARGS are
# the site's extra settings, $IPSECD_OPTS the daemon's extra options
pop_with_site() {
	# shellcheck disable=SC2086 # IPSECD_OPTS is a list of options
	start_ipsecd pop --iface eth0 --local-addr 198.51.100.1 --pop POP1 ${IPSECD_OPTS:-}
	site_branch1 "$@"
}

# site_branch1 [SITE ARGS...]: the POP and the branch's site, on a running ipsecd
site_branch1() {
	ctl pop add POP1 gateway 198.51.100.1 probe 100.64.0.1 location Lab >/dev/null
	ctl site add branch1 identity branch1.example.com source-ip 198.51.100.7 \
		psk branch1-secret-0123456789 pop POP1 "$@" >/dev/null
}

# The lifecycle tests' daemon: lifetimes and DPD in seconds
LIFE_OPTS="--ike-lifetime 40 --child-lifetime 15 --dpd-delay 5 --dpd-timeout 20"

# What the POP holds: IKE SAs (ipsecctl), XFRM policies and states
sa() { ctl -j sa list; }
n_sa() { sa | jq length; }
policies() { xfrm_policies pop; }
states() { xfrm_states pop; }
ping_probe() { in_ns pc ping -c 3 -W 2 -q 100.64.0.1 >/dev/null && echo ok || echo failed; }

# ping_rekeys TAG SECS: a ping every 0.2 s for SECS while the tunnel rekeys;
# checks that none was lost and prints what ipsecd counted
ping_rekeys() {
	local n max=0 st
	ping_run "$2" "$T/ping-$1.out"
	while kill -0 "$PING_PID" 2>/dev/null; do
		n=$(states)
		[ "$n" -gt "$max" ] && max=$n
		sleep 2
	done
	ping_wait "$T/ping-$1.out"
	echo "pings: $PING_SENT sent, $PING_LOST lost; most XFRM states at once: $max"
	check "$1: pings lost in $2 s of rekeys" 0 "$PING_LOST"
	check_ge "$1: pings sent" $(($2 * 5 - 5)) "$PING_SENT"
	st=$(ctl -j status)
	echo "ipsecd totals: $(echo "$st" | jq -c '.ike | {ike_rekeys, child_rekeys, rekey_collisions, dpd_sent, dpd_dead, req_timeouts, expired}')"
	echo "sa list: $(sa | jq -c '.[0] | {ike_rekeys, child_rekeys, children: [.children[] | {spi_in, state, rekeys}]}')"
	check_ge "$1: IKE SA rekeys (>= one per 40 s)" $(($2 / 40)) "$(echo "$st" | jq .ike.ike_rekeys)"
	check_ge "$1: Child SA rekeys (>= one per 15 s)" $(($2 / 15)) "$(echo "$st" | jq .ike.child_rekeys)"
	check_ge "$1: sa list: IKE SA rekeys of this tunnel" $(($2 / 40)) "$(sa | jq '.[0].ike_rekeys')"
	check_ge "$1: sa list: Child SA rekeys of this tunnel" $(($2 / 15)) "$(sa | jq '.[0].child_rekeys')"
	check "$1: no Child SA expired unrekeyed" 0 "$(echo "$st" | jq .ike.expired)"
	check "$1: no dead peer" 0 "$(echo "$st" | jq .ike.dpd_dead)"
	check "$1: one IKE SA" 1 "$(n_sa)"
	# the peer goes on rekeying: poll for a moment between two rekeys where
	# the tunnel, its kernel states and its XDP SPI are all back to one (a
	# leak never gets there; one read of each raced a Libreswan rekey)
	wait_check "$1: one tunnel, one pair of XFRM states, one SPI in XDP" \
		"tunnels 1 states 2 spis 1" 35 steady
	check "$1: policies: in, out, fwd" 3 "$(policies)"
}

steady() {
	echo "tunnels $(sa | jq '[.[0].children[] | select(.state == "installed")] | length')" \
		"states $(states) spis $(ctl -j map dump eg_spis | jq length)"
}

# check_replaced TAG OLD_SPI REPLACED_BEFORE: after the branch's IKE daemon
# was killed and came back without DELETE, its new IKE SA replaced the old
# one at once and the tunnel carries traffic
check_replaced() {
	check "$1: ping after the restart" ok "$(ping_probe)"
	check "$1: one IKE SA (the new one)" 1 "$(n_sa)"
	check "$1: it is not the old one" yes \
		"$([ "$(sa | jq -r '.[0].spi_r')" != "$2" ] && echo yes || echo no)"
	check "$1: exactly 3 policies" 3 "$(policies)"
	wait_check "$1: one pair of XFRM states" 2 10 states
	check "$1: the old IKE SA replaced" $(($3 + 1)) "$(ctl -j status | jq .ike.replaced)"
}

# check_dead_peer TAG NS COMM: kill the branch's IKE daemon for good; within
# dpd-delay + dpd-timeout (+ 5 s) ipsecd holds nothing of it
check_dead_peer() {
	local t0=$SECONDS
	peer_kill "$2" "$3"
	wait_check "$1: IKE SA removed by DPD" 0 60 n_sa
	echo "dead peer removed after $((SECONDS - t0)) s (dpd-delay 5 + dpd-timeout 20)"
	check_ge "$1: not before dpd-delay + dpd-timeout" 20 $((SECONDS - t0))
	check "$1: within dpd-delay + dpd-timeout + 5 s (30 s)" yes \
		"$([ $((SECONDS - t0)) -le 30 ] && echo yes || echo "no, $((SECONDS - t0)) s")"
	check "$1: XFRM states" 0 "$(states)"
	check "$1: XFRM policies" 0 "$(policies)"
	check "$1: XDP SPIs" 0 "$(ctl -j map dump eg_spis | jq length)"
	check "$1: dpd_dead counted" 1 "$(ctl -j status | jq .ike.dpd_dead)"
}

# topo_second_pop: POP2, a second gateway 198.51.100.2 on the same WAN as
# POP1 (namespace pop2, NIC eth0), for the failover test
topo_second_pop() {
	ns_add pop2
	ip -n wan link add w-pop2 type veth peer name eth0 netns pop2
	ip -n wan link set w-pop2 master br0 up
	ip -n pop2 addr add 198.51.100.2/24 dev eth0
	ip -n pop2 link set eth0 up
}
