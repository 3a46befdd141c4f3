#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_10_xdp.sh - ipsecd attaches the XDP classifier natively on the POP NIC;
# a known and an unknown sender; per-reason and per-site counters read with
# `ipsecctl map dump -j`; the site disabled and re-enabled live; clean detach.
#
#   known (203.0.113.7) --.
#                         +-- br0 [wan] -- eth0 [pop: ipsecd, XDP, 203.0.113.1]
#   stranger (203.0.113.66)'
#
set -eu
. "$(dirname "$0")/lib.sh"

say "topology"
ns_add wan; ns_add pop; ns_add known; ns_add stranger
ip -n wan link add br0 type bridge
ip -n wan link set br0 up
for n in pop known stranger; do
	ip -n wan link add "w-$n" type veth peer name eth0 netns "$n"
	ip -n wan link set "w-$n" master br0 up
	ip -n "$n" link set eth0 up
done
ip -n pop addr add 203.0.113.1/24 dev eth0
ip -n known addr add 203.0.113.7/24 dev eth0
ip -n stranger addr add 203.0.113.66/24 dev eth0

say "ipsecd on the POP NIC"
start_ipsecd pop --iface eth0 --local-addr 203.0.113.1 --pop POP1
check "xdp mode" native "$(ctl -j status | jq -r .xdp_mode)"
ip -n pop -d link show eth0 | grep -q "prog/xdp" || die "no native XDP program on eth0"
ctl pop add POP1 gateway 203.0.113.1 probe 100.64.0.1 location Lab >/dev/null
ctl site add site-a identity a.example.com source-ip 203.0.113.7 \
	psk aaaaaaaaaaaaaaaaaaaa pop POP1 >/dev/null
check "site status before traffic" down "$(ctl -j site list | jq -r '.sites[0].status')"

gstat() { ctl -j map dump eg_stats | jq -r ".$1.pkts"; }
site() { ctl -j map dump eg_site_ctr | jq -r ".[] | select(.site == \"site-a\") | .$1"; }

say "traffic"
for i in 1 2 3; do udp_send known 203.0.113.1 500 "$IKE_HDR"; done
for i in 1 2; do udp_send known 203.0.113.1 4500 '\xff'; done
udp_send known 203.0.113.1 4500 '\xde\xad\xbe\xef\0\0\0\x01payload.'
for i in 1 2 3 4; do udp_send stranger 203.0.113.1 500 "$IKE_HDR"; done
udp_send stranger 203.0.113.1 4500 '\xff'
in_ns known ping -c 2 -q -W 1 203.0.113.1 >/dev/null
sleep 0.5

check "pass_ike" 3 "$(gstat pass_ike)"
check "drop_keepalive" 2 "$(gstat drop_keepalive)"
check "drop_bad_spi" 1 "$(gstat drop_bad_spi)"
check "drop_unknown_src" 5 "$(gstat drop_unknown_src)"
check_ge "pass_not_udp (ping)" 2 "$(gstat pass_not_udp)"
check "site ike_pkts" 3 "$(site ike_pkts)"
check "site keepalives" 2 "$(site keepalives)"
check "site drop_bad_spi" 1 "$(site drop_bad_spi)"
site_status() { ctl -j site show site-a | jq -r .status; }
wait_check "site status after keepalives" up 8 site_status

say "disable live"
ctl site disable site-a >/dev/null
check "status disabled" disabled "$(ctl -j site show site-a | jq -r .status)"
for i in 1 2; do udp_send known 203.0.113.1 500 "$IKE_HDR"; done
sleep 0.3
check "drop_disabled" 2 "$(gstat drop_disabled)"
check "site drop_disabled" 2 "$(site drop_disabled)"
check "pass_ike unchanged" 3 "$(gstat pass_ike)"

say "enable live"
ctl site enable site-a >/dev/null
udp_send known 203.0.113.1 500 "$IKE_HDR"
sleep 0.3
check "pass_ike after enable" 4 "$(gstat pass_ike)"

say "delete: the source becomes unknown"
ctl site delete site-a >/dev/null
udp_send known 203.0.113.1 500 "$IKE_HDR"
sleep 0.3
check "drop_unknown_src after delete" 6 "$(gstat drop_unknown_src)"
check "eg_sites empty" 0 "$(ctl -j map dump eg_sites | jq length)"

say "clean shutdown (SIGINT: a full teardown; SIGTERM keeps XDP and the pins, t_53)"
rc=0; stop_ipsecd INT || rc=$?
check "ipsecd exit status" 0 "$rc"
if ip -n pop -d link show eth0 | grep -q "prog/xdp"; then
	check "xdp detached" yes no
else
	check "xdp detached" yes yes
fi
check "pins removed" no "$([ -e /sys/fs/bpf/espgate/eg_sites ] && echo yes || echo no)"
finish
