#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_install.sh BUILD - make install into a staging root: the programs, the
# systemd units with their paths set to PREFIX (checked by systemd-analyze
# verify), /etc/default/ipsecd written once and never overwritten.
set -u
BUILD=$(cd "${1:?usage: $0 BUILD}" && pwd)
REPO=$(cd "$(dirname "$0")/../.." && pwd)
D=$(mktemp -d /tmp/eginst.XXXXXX)
trap 'rm -rf "$D"' EXIT
FAILS=0 PASSES=0
ok() { echo "ok: $1"; PASSES=$((PASSES + 1)); }
bad() { echo "not ok: $1"; FAILS=$((FAILS + 1)); }
check() { if [ "$2" = "$3" ]; then ok "$1 ($3)"; else bad "$1: expected '$2', got '$3'"; fi; }

inst() { make -s -C "$REPO" install BUILD="$BUILD" DESTDIR="$D" PREFIX=/usr >/dev/null; }
inst || bad "make install"
for f in usr/sbin/ipsecd usr/sbin/ipsecctl usr/bin/ikeload; do
	check "$f installed, mode" 755 "$(stat -c %a "$D/$f" 2>/dev/null)"
done
for f in ipsecd.service ipsecd.socket; do
	check "unit $f, mode" 644 "$(stat -c %a "$D/usr/lib/systemd/system/$f" 2>/dev/null)"
done
U=$D/usr/lib/systemd/system/ipsecd.service
check "ExecStart under PREFIX" 'ExecStart=/usr/sbin/ipsecd --web-root /usr/share/espgate/www $IPSECD_OPTS' \
	"$(grep '^ExecStart=' "$U")"
for f in index.html ipsec.css ipsec.js; do
	check "the page's $f installed, mode" 644 "$(stat -c %a "$D/usr/share/espgate/www/$f" 2>/dev/null)"
done
check "Type=notify" "Type=notify" "$(grep '^Type=' "$U")"
check "the installed ipsecd runs" 0 "$("$D/usr/sbin/ipsecd" --help >/dev/null 2>&1; echo $?)"
check "/etc/default/ipsecd written" 1 "$(grep -c '^IPSECD_OPTS=' "$D/etc/default/ipsecd")"
echo 'IPSECD_OPTS="--iface ens3 --local-addr 192.0.2.1 --pop LAB"' >"$D/etc/default/ipsecd"
inst || bad "make install, again"
check "a second install keeps the operator's /etc/default/ipsecd" ens3 \
	"$(sed -n 's/.*--iface \([a-z0-9]*\).*/\1/p' "$D/etc/default/ipsecd")"

# systemd's own check of the units, ExecStart pointed at the staged binary
mkdir -p "$D/verify"
sed "s|^ExecStart=/usr/sbin/|ExecStart=$D/usr/sbin/|; s|^EnvironmentFile=.*|EnvironmentFile=$D/etc/default/ipsecd|" \
	"$U" >"$D/verify/ipsecd.service"
cp "$D/usr/lib/systemd/system/ipsecd.socket" "$D/verify/"
out=$(systemd-analyze verify "$D/verify/ipsecd.service" "$D/verify/ipsecd.socket" 2>&1)
rc=$?
check "systemd-analyze verify: exit status" 0 "$rc"
check "systemd-analyze verify: nothing to say" "" "$out"
echo "$PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
