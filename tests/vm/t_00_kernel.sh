#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# t_00_kernel.sh: VM smoke test. Proves the guest kernel does real ESP, with
# manually keyed XFRM states and policies between two namespaces:
#
#   tunnel 1: ESP, rfc4106(gcm(aes)) 128-bit ICV,           reqid 1
#   tunnel 2: ESP-in-UDP 4500, cbc(aes) + hmac(sha256)-128,  reqid 2
#
#   netns t00a                                        netns t00b
#  +------------------------+                      +------------------------+
#  | lo  10.1.1.1 (tun 1)   |                      | lo  10.2.1.1 (tun 1)   |
#  |     10.1.2.1 (tun 2)   |    veth, outer       |     10.2.2.1 (tun 2)   |
#  |                 a0 ----+----------------------+---- b0                 |
#  |        192.0.2.1/24    |                      |    192.0.2.2/24        |
#  | UDP 4500 encap socket  |  ESP / UDP 4500 ESP  | UDP 4500 encap socket  |
#  +------------------------+                      +------------------------+
#
# ping 10.1.1.1 -> 10.2.1.1 must travel as ESP (IP proto 50) and ping
# 10.1.2.1 -> 10.2.2.1 as UDP 4500; an nft counter in t00b checks the wire
# format, `ip -s xfrm state` checks that every SA counted the packets.
#
# Usage (inside the VM, as root): tests/vm/t_00_kernel.sh [BUILD_DIR]
# (BUILD_DIR is accepted for the suite's calling convention and unused.)
# Every process start is slow under emulation, so `ip` runs in batch mode.
set -eu

A=t00a
B=t00b
OUT_A=192.0.2.1
OUT_B=192.0.2.2
PINGS=4
# Test-only keys: AES-128-GCM key + 4-byte salt; AES-128 key; HMAC key.
K_GCM=0x0123456789abcdef0123456789abcdef01020304
K_AES=0x00112233445566778899aabbccddeeff
K_SHA=0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
tmp=$(mktemp -d)

say() { echo "t_00_kernel: $*"; }

# Run a program in namespace $1. nsenter only switches the network namespace
# (cheaper than `ip netns exec`, which also remounts /sys).
in_ns() {
	ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# Tear everything down; safe to call when nothing exists.
cleanup() {
	for f in "$tmp"/encap.*.pid; do
		[ ! -f "$f" ] || kill "$(cat "$f")" 2>/dev/null || true
	done
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
}

# Print the state of both namespaces, then fail.
fail() {
	say "FAIL: $*"
	for ns in "$A" "$B"; do
		[ -e "/run/netns/$ns" ] || continue
		echo "--- $ns: ip -s xfrm state (abridged)"
		ip -n "$ns" -s xfrm state 2>&1 |
			grep -E '^src|proto esp|aead|enc |encap|packets|failed' || true
		echo "--- $ns: ip xfrm policy"
		ip -n "$ns" xfrm policy 2>&1 || true
	done
	if [ -e "/run/netns/$B" ]; then
		echo "--- $B: nft list ruleset"
		in_ns "$B" nft list ruleset 2>&1 || true
	fi
	exit 1
}

trap 'cleanup; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

# Step 0: preconditions, and cleanup of any leftovers.
[ "$(id -u)" = 0 ] || fail "must run as root (inside the VM: tests/vm/vm.sh -- $0)"
cleanup

# Step 1: two namespaces joined by a veth pair, inner addresses on lo.
# Routes for the inner prefixes point at the peer; XFRM then encapsulates.
ip netns add "$A"
ip netns add "$B"
ip link add a0 netns "$A" type veth peer name b0 netns "$B"
# $1 ns, $2 veth, $3 local outer, $4 remote outer, $5 local inner /16.
setup_ns() {
	printf '%s\n' "link set lo up" "link set $2 up" \
		"addr add $3/24 dev $2" \
		"addr add $5.1.1/32 dev lo" "addr add $5.2.1/32 dev lo" |
		ip -n "$1" -b - || fail "cannot set up namespace $1"
}
setup_ns "$A" a0 "$OUT_A" "$OUT_B" 10.1
setup_ns "$B" b0 "$OUT_B" "$OUT_A" 10.2
ip -n "$A" route add 10.2.0.0/16 via "$OUT_B" dev a0
ip -n "$B" route add 10.1.0.0/16 via "$OUT_A" dev b0
in_ns "$A" ping -q -c 1 -W 2 "$OUT_B" >/dev/null || fail "plain ping over the veth failed"

# Step 2: the SAs, one per direction, identical in both namespaces.
# Tunnel 1: AES-GCM (RFC 4106), plain ESP. Tunnel 2: AES-CBC + HMAC-SHA256,
# ESP in UDP 4500 (RFC 3948).
gcm="aead rfc4106(gcm(aes)) $K_GCM 128"
cbc="enc cbc(aes) $K_AES auth-trunc hmac(sha256) $K_SHA 128"
udp="encap espinudp 4500 4500 0.0.0.0"
for ns in "$A" "$B"; do
	printf 'xfrm state add %s\n' \
		"src $OUT_A dst $OUT_B proto esp spi 0x1001 reqid 1 mode tunnel $gcm" \
		"src $OUT_B dst $OUT_A proto esp spi 0x1002 reqid 1 mode tunnel $gcm" \
		"src $OUT_A dst $OUT_B proto esp spi 0x2001 reqid 2 mode tunnel $cbc $udp" \
		"src $OUT_B dst $OUT_A proto esp spi 0x2002 reqid 2 mode tunnel $cbc $udp" |
		ip -n "$ns" -b - ||
		fail "$ns: cannot add the ESP states: is this the VM's kernel (with ESP)?"
done

# Step 3: policies, out and in, per tunnel. $1 ns, $2 local outer, $3 remote
# outer, then per tunnel: local inner prefix, remote inner prefix, reqid.
add_policies() {
	ns=$1 lo=$2 re=$3
	shift 3
	while [ $# -ge 3 ]; do
		echo "xfrm policy add src $1 dst $2 dir out tmpl src $lo dst $re proto esp reqid $3 mode tunnel"
		echo "xfrm policy add src $2 dst $1 dir in tmpl src $re dst $lo proto esp reqid $3 mode tunnel"
		shift 3
	done | ip -n "$ns" -b - || fail "$ns: cannot add the XFRM policies"
}
add_policies "$A" "$OUT_A" "$OUT_B" 10.1.1.0/24 10.2.1.0/24 1 10.1.2.0/24 10.2.2.0/24 2
add_policies "$B" "$OUT_B" "$OUT_A" 10.2.1.0/24 10.1.1.0/24 1 10.2.2.0/24 10.1.2.0/24 2

# Step 4: ESP-in-UDP is only decapsulated on a UDP socket marked with
# UDP_ENCAP = UDP_ENCAP_ESPINUDP (SOL_UDP 17, option 100, value 2), the way an
# IKE daemon does it. perl (perl-base, always installed) holds one per side;
# nsenter execs perl, so $! is perl's own pid.
for ns in "$A" "$B"; do
	# shellcheck disable=SC2016 # perl code, not shell
	nsenter --net="/run/netns/$ns" perl -MSocket -e '
		socket(my $s, PF_INET, SOCK_DGRAM, 0) or die "socket: $!\n";
		bind($s, pack_sockaddr_in(4500, INADDR_ANY)) or die "bind 4500: $!\n";
		setsockopt($s, 17, 100, 2) or die "setsockopt UDP_ENCAP: $!\n";
		open(my $f, ">", $ARGV[0]) or die "$ARGV[0]: $!\n"; close($f);
		sleep 600;' "$tmp/encap.$ns.ready" &
	echo $! >"$tmp/encap.$ns.pid"
done

# Step 5: count what arrives on b0: raw ESP and UDP 4500.
printf '%s\n' 'table inet t00 {' \
	'counter c_esp { }' \
	'counter c_natt { }' \
	'chain input {' \
	'type filter hook input priority 0; policy accept;' \
	'iifname "b0" ip protocol esp counter name "c_esp"' \
	'iifname "b0" udp dport 4500 counter name "c_natt"' \
	'}' '}' | in_ns "$B" nft -f - || fail "cannot add the nft counters"

# Wait for both encapsulation sockets.
i=0
until [ -f "$tmp/encap.$A.ready" ] && [ -f "$tmp/encap.$B.ready" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "the UDP 4500 encapsulation sockets did not come up"
	sleep 0.1
done

# Step 6: ping through both tunnels, from the inner addresses.
in_ns "$A" ping -q -c "$PINGS" -i 0.2 -W 2 -I 10.1.1.1 10.2.1.1 >"$tmp/ping1" 2>&1 ||
	{ cat "$tmp/ping1"; fail "ping through the GCM tunnel failed"; }
in_ns "$A" ping -q -c "$PINGS" -i 0.2 -W 2 -I 10.1.2.1 10.2.2.1 >"$tmp/ping2" 2>&1 ||
	{ cat "$tmp/ping2"; fail "ping through the CBC/HMAC ESP-in-UDP tunnel failed"; }
say "ping OK through both tunnels ($PINGS each)"

# Step 7: every SA, in both namespaces, must have counted at least $PINGS
# packets. `ip -s xfrm state` gives "proto esp spi 0x... " and, after
# "lifetime current:", a line "BYTES(bytes), PACKETS(packets)".
for ns in "$A" "$B"; do
	ip -n "$ns" -s xfrm state | awk '
		$1 == "proto" && $2 == "esp" { spi = $4; sub(/\(.*/, "", spi) }
		/lifetime current:/ { getline; sub(/\(packets\).*/, ""); sub(/.*, */, ""); print spi, $0 }
	' >"$tmp/sa.$ns"
	for spi in 0x00001001 0x00001002 0x00002001 0x00002002; do
		n=$(awk -v s="$spi" '$1 == s { print $2 }' "$tmp/sa.$ns")
		[ "${n:-0}" -ge "$PINGS" ] ||
			fail "$ns: SA $spi counted '${n:-?}' packets, expected >= $PINGS"
	done
done
say "xfrm state counters grew on all 8 SAs"

# Step 8: the wire format: ESP for tunnel 1, UDP 4500 for tunnel 2.
in_ns "$B" nft list table inet t00 >"$tmp/nft"
counter() {
	awk -v c="$1" '$1 == "counter" && $2 == c { f = 1 } f && $1 == "packets" { print $2; exit }' "$tmp/nft"
}
n_esp=$(counter c_esp)
n_natt=$(counter c_natt)
[ "${n_esp:-0}" -ge "$PINGS" ] || fail "only '${n_esp:-?}' raw ESP packets seen on b0"
[ "${n_natt:-0}" -ge "$PINGS" ] || fail "only '${n_natt:-?}' UDP 4500 packets seen on b0"
say "on the wire: $n_esp ESP, $n_natt ESP-in-UDP packets"

# Step 9: which implementation did the crypto (informational).
drv=$(awk '/^name/ { n = $3 } /^driver/ && n == "rfc4106(gcm(aes))" { print $3; exit }' /proc/crypto)
say "rfc4106(gcm(aes)) driver: ${drv:-unknown}"
say "PASS"
