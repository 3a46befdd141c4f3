#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_21_algs.sh - every phase-1 encryption, integrity/PRF and DH group and
# every phase-2 cipher of the seed's table, negotiated with strongSwan at
# least once; each tunnel carries a ping so the kernel really runs the
# negotiated ESP algorithms.
#
#  pc 10.1.0.10 -- branch (charon) -- nat (masquerade) -- pop (ipsecd + XDP)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"

topo_branch_nat_pop
pop_with_site
export SW_ID=branch1.example.com SW_PSK=branch1-secret-0123456789
charon_start branch b1

# The site's cipher (issue 8): empty is "any but NULL"; ESP NULL needs the
# site set to NULL, and a site set to one cipher refuses the others.
site_cipher() {
	ctl site edit branch1 cipher "$1" >/dev/null
	check "site cipher stored" "$1" "$(ctl -j site show branch1 | jq -r .cipher)"
}

say "site cipher AES256-GCM, peer offers only ESP NULL/SHA-384"
site_cipher AES256-GCM
SW_IKE=aes256-sha256-modp2048 SW_ESP=null-sha384 swan_load b1
if swan b1 --initiate --child net --timeout 20 >"$T/init.out" 2>&1; then
	check "NULL refused by a GCM site" refused up
else
	check "NULL refused by a GCM site" refused refused
fi
if grep -q 'NO_PROPOSAL_CHOSEN' "$T/sw-b1/charon.log"; then
	check "charon's log: NO_PROPOSAL_CHOSEN" yes yes
else
	check "charon's log: NO_PROPOSAL_CHOSEN" yes no
fi
swan b1 --terminate --ike pop --timeout 15 >/dev/null 2>&1 || true
sleep 0.5

# strongSwan IKE proposal | ESP proposal | expected IKE | expected ESP | site cipher
while IFS='|' read -r ike esp want_ike want_esp cipher; do
	[ -n "$ike" ] || continue
	say "IKE $ike, ESP $esp, site cipher '${cipher}'"
	site_cipher "$cipher"
	SW_IKE=$ike SW_ESP=$esp swan_load b1
	if ! swan b1 --initiate --child net --timeout 40 >"$T/init.out" 2>&1; then
		check "tunnel $ike / $esp" up down
		tail -20 "$T/sw-b1/charon.log"
		continue
	fi
	got_ike=$(ctl -j sa list | jq -r '.[0].proposal')
	got_esp=$(ctl -j sa list | jq -r '.[0].children[0].proposal')
	check "IKE proposal" "$want_ike" "$got_ike"
	check "ESP proposal" "$want_esp" "$got_esp"
	if in_ns pc ping -c 2 -W 3 -q 100.64.0.1 >/dev/null; then
		check "ping through $esp" ok ok
	else
		check "ping through $esp" ok failed
	fi
	swan b1 --terminate --ike pop --timeout 15 >/dev/null 2>&1 || true
	for i in $(seq 1 30); do
		[ "$(ctl -j sa list | jq length)" = 0 ] && break
		sleep 0.2
	done
	check "torn down" "0 0" "$(ctl -j sa list | jq length) $(xfrm_states pop)"
done <<'CASES'
aes128-sha1-modp2048|aes128-sha1|AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048|AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ
aes192-sha256-modp3072|aes256-sha256|AES_CBC_192/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_3072|AES_CBC_256/HMAC_SHA2_256_128/NO_EXT_SEQ
aes256-sha384-modp4096|aes128gcm16|AES_CBC_256/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/MODP_4096|AES_GCM_16_128/NO_EXT_SEQ
aes256-sha512-modp8192|aes192gcm16|AES_CBC_256/HMAC_SHA2_512_256/PRF_HMAC_SHA2_512/MODP_8192|AES_GCM_16_192/NO_EXT_SEQ
aes128-sha256-modp2048|aes256gcm16|AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048|AES_GCM_16_256/NO_EXT_SEQ
aes256-sha256-modp2048|null-sha384|AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048|NULL/HMAC_SHA2_384_192/NO_EXT_SEQ|NULL
aes256-sha256-modp2048|aes128-sha512|AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048|AES_CBC_128/HMAC_SHA2_512_256/NO_EXT_SEQ
CASES
finish
