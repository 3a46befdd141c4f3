#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_20_ike.sh - a strongSwan branch behind a NAT brings up an IKEv2 tunnel
# to ipsecd; a PC on the branch LAN pings the POP's probe IP and fetches a
# page from an HTTP server on the POP through it; kernel SA counters and the
# site's XDP counters grow; ipsecctl sa list shows the SAs.
#
#  pc 10.1.0.10 --- 10.1.0.1 branch 192.0.2.2 --- 192.0.2.1 nat 198.51.100.7 --- 198.51.100.1 pop
#  (LAN)            (charon)                       (nft masquerade)              (ipsecd+XDP on eth0,
#                                                                                 probe 100.64.0.1, httpd)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"

say "topology"
topo_branch_nat_pop

say "POP: ipsecd, an HTTP server"
pop_with_site
mkdir -p "$T/www"
echo "espgate-pop-page" >"$T/www/index.html"
in_ns pop busybox httpd -p 80 -h "$T/www"

say "branch: strongSwan initiates"
# PFS group on the Child SA: ignored in IKE_AUTH, used by the rekey below
SW_ID=branch1.example.com SW_PSK=branch1-secret-0123456789 \
	SW_ESP=aes256gcm16-modp3072 charon_start branch b1
t0=$(date +%s%N)
swan b1 --initiate --child net --timeout 30 >"$T/init.out" 2>&1 || {
	cat "$T/init.out"; charon_log b1; die "tunnel did not come up"; }
t1=$(date +%s%N)
echo "tunnel up in $(( (t1 - t0) / 1000000 )) ms (swanctl --initiate, TCG-emulated VM)"
check "policies: in, out, fwd" 3 "$(xfrm_policies pop)"
check "ipsecctl sa list: established" established "$(ctl -j sa list | jq -r '.[0].state')"
check "peer seen through the NAT" true "$(ctl -j sa list | jq -r '.[0].nat')"
check "one child" 1 "$(ctl -j sa list | jq -r '.[0].children | length')"
check "IKE_SA_INIT's keys made by a worker thread (--workers default)" 1 \
	"$(ctl -j status | jq .ike.init_offloaded)"
check "SPI in XDP map" 1 "$(ctl -j map dump eg_spis | jq length)"

say "PC -> probe IP and HTTP through the tunnel"
if in_ns pc ping -c 3 -W 2 -q 100.64.0.1 >"$T/ping.out"; then
	check "ping probe IP" ok ok
else
	cat "$T/ping.out"; check "ping probe IP" ok failed
fi
page=$(in_ns pc curl -s --max-time 10 http://100.64.0.1/index.html || true)
check "HTTP page through the tunnel" espgate-pop-page "$page"

ip -n pop -s xfrm state >"$T/xfrm.out"
check_ge "kernel ESP states" 2 "$(grep -c '^src' "$T/xfrm.out")"
in_pkts=$(ctl -j sa list | jq -r '.[0].children[0].packets_in')
out_pkts=$(ctl -j sa list | jq -r '.[0].children[0].packets_out')
check_ge "inbound SA packets" 4 "$in_pkts"
check_ge "outbound SA packets" 4 "$out_pkts"
esp=$(ctl -j map dump eg_site_ctr | jq -r '.[] | select(.site == "branch1") | .esp_pkts')
check_ge "site XDP esp_pkts" 4 "$esp"
ctl sa list

say "the branch rekeys the Child SA (CREATE_CHILD_SA, PFS with MODP_3072)"
old_spi=$(ctl -j sa list | jq -r '.[0].children[0].spi_in')
swan b1 --rekey --child net >/dev/null 2>&1 || true
for i in $(seq 1 50); do
	n=$(ctl -j sa list | jq -r '.[0].children | length')
	new_spi=$(ctl -j sa list | jq -r '.[0].children[0].spi_in')
	[ "$n" = 1 ] && [ "$new_spi" != "$old_spi" ] && break
	sleep 0.2
done
check "one Child SA after the rekey (old one deleted)" 1 "$n"
[ "$new_spi" != "$old_spi" ] && check "new inbound SPI" yes yes || check "new inbound SPI" yes no
proposal=$(ctl -j sa list | jq -r '.[0].children[0].proposal')
case "$proposal" in
*MODP_3072*) check "rekey with PFS" yes yes ;;
*) check "rekey with PFS ($proposal)" yes no ;;
esac
check "kernel states after the rekey" 2 "$(xfrm_states pop)"
check "policies kept across the rekey" 3 "$(xfrm_policies pop)"
check "the new SPI in XDP, the old one gone" "$new_spi" \
	"$(ctl -j map dump eg_spis | jq -r '.[].spi' | sed 's/^0x//' | tr -d '\n')"
if in_ns pc ping -c 2 -W 2 -q 100.64.0.1 >/dev/null; then
	check "ping after the rekey" ok ok
else
	check "ping after the rekey" ok failed
fi

say "peer deletes: everything goes"
swan b1 --terminate --ike pop --timeout 10 >/dev/null 2>&1 || true
sleep 1
check "no IKE SA left" 0 "$(ctl -j sa list | jq length)"
check "no kernel state left" 0 "$(xfrm_states pop)"
check "no kernel policy left" 0 "$(xfrm_policies pop)"
check "no SPI in XDP map" 0 "$(ctl -j map dump eg_spis | jq length)"

say "up again, then admin disable deletes the tunnel at once"
swan b1 --initiate --child net --timeout 30 >/dev/null 2>&1 || die "second initiate"
check "re-established" established "$(ctl -j sa list | jq -r '.[0].state')"
ctl site disable branch1 >/dev/null
sleep 1
check "disable: no IKE SA" 0 "$(ctl -j sa list | jq length)"
check "disable: no kernel state" 0 "$(xfrm_states pop)"
check "disable: no kernel policy" 0 "$(xfrm_policies pop)"
if charon_wait b1 "received DELETE for IKE_SA" 10; then
	check "branch got our DELETE" yes yes
else
	check "branch got our DELETE" yes no
	tail -30 "$T/sw-b1/charon.log"
fi
finish
