#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_24_frag.sh - IKE fragmentation (RFC 7383) with strongSwan through the
# NAT: charon fragments to 300-byte IP packets, so its IKE_AUTH arrives in
# fragments that ipsecd reassembles; ipsecd fragments to 576 bytes, so its
# answer to a Child SA rekey with PFS (MODP-4096: a 512-byte KE each way)
# goes out in fragments that charon reassembles. Traffic flows before and
# after; no IKE datagram either side sends is larger than its limit
# (counted by nft on the POP).
#
#  pc 10.1.0.10 --- branch (charon) --- nat (masquerade) --- pop (ipsecd + XDP)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"

topo_branch_nat_pop
IPSECD_OPTS="--ike-frag-size 576" pop_with_site

say "charon fragments to 300 bytes, ipsecd to 576"
# count the IKE datagrams (not ESP: the non-ESP marker on 4500) larger
# than each side's limit, as IP packets, both ways. IKE_SA_INIT (on 500)
# cannot be fragmented (RFC 7383 2.5): only 4500 is held to the limit.
in_ns pop nft -f - <<'NFT'
table inet ikesize {
	chain in {
		type filter hook input priority 0;
		udp dport 500 counter
		udp dport 4500 @th,64,32 0 counter
		udp dport 4500 @th,64,32 0 meta length > 300 counter
	}
	chain out {
		type filter hook output priority 0;
		udp sport 500 counter
		udp sport 4500 @th,64,32 0 counter
		udp sport 4500 @th,64,32 0 meta length > 576 counter
	}
}
NFT
SW_ID=branch1.example.com SW_PSK=branch1-secret-0123456789 SW_FRAG_SIZE=300 \
	SW_ESP=aes256gcm16-modp4096 charon_start branch b1
swan b1 --initiate --child net --timeout 30 >"$T/init.out" 2>&1 || {
	cat "$T/init.out"; charon_log b1; die "tunnel did not come up"; }
check "ping through the tunnel" ok "$(ping_probe)"
st() { ctl -j status | jq ".ike.$1"; }
check_ge "fragments ipsecd received" 2 "$(st frag_rx)"
check_ge "messages ipsecd reassembled (IKE_AUTH)" 1 "$(st frag_reassembled)"
check_ge "charon: IKE_AUTH split into fragments" 1 \
	"$(grep -c 'splitting IKE message' "$T/sw-b1/charon.log" || true)"

say "Child SA rekey with PFS MODP-4096: both directions in fragments"
old=$(ctl -j sa list | jq -r '.[0].children[0].spi_in')
swan b1 --rekey --child net >"$T/rekey.out" 2>&1 || { cat "$T/rekey.out"; die "rekey"; }
for _ in $(seq 1 50); do
	now=$(ctl -j sa list | jq -r '[.[0].children[] | select(.state == "installed")][0].spi_in')
	[ "$now" != "$old" ] && [ "$now" != null ] && break
	sleep 0.2
done
check_ge "fragments ipsecd sent (the rekey's answer)" 2 "$(st frag_tx)"
check_ge "charon reassembled ipsecd's fragments" 1 \
	"$(grep -c 'reassembled fragmented IKE message' "$T/sw-b1/charon.log" || true)"
check_ge "fragments ipsecd received in all (IKE_AUTH, the rekey)" 4 "$(st frag_rx)"
check_ge "messages ipsecd reassembled in all" 2 "$(st frag_reassembled)"
check "the Child SA was rekeyed" yes "$([ "$now" != "$old" ] && echo yes || echo no)"
check "ping after the rekey" ok "$(ping_probe)"
check "no kernel states left over (2 of the new Child SA)" 2 "$(states)"

# the packets of each rule, in order: all IKE on 500, on 4500, too big on 4500
counts() { in_ns pop nft -j list chain inet ikesize "$1" |
	jq -r '[.nftables[] | .rule? // empty | .expr[] | .counter? // empty | .packets] | @tsv'; }
read -r in500 in4500 inbig <<<"$(counts in)"
read -r out500 out4500 outbig <<<"$(counts out)"
echo "IKE datagrams: from charon $in500 on 500 + $in4500 on 4500, from ipsecd $out500 + $out4500"
check_ge "IKE datagrams counted from charon" 4 $((in500 + in4500))
check "charon's IKE datagrams on 4500 larger than 300 bytes" 0 "$inbig"
check "ipsecd's IKE datagrams on 4500 larger than 576 bytes" 0 "$outbig"
finish
