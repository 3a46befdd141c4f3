#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_ctl.sh BUILD - every ipsecctl command against a real ipsecd on the host
# (real SQLite file, real BPF maps pinned; no interface, no IKE): site and
# POP management, validation messages, list filters and pages, CSV import
# all-or-nothing, export round trip, concurrent clients, kill -9 mid-import.
#
#   ipsecctl --unix socket--> ipsecd --> SQLite file
#                                    \--> eg_sites (pinned under a test root)
set -eu
BUILD=$(cd "${1:?usage: $0 BUILD}" && pwd)
T=$(mktemp -d /tmp/egctl.XXXXXX)
PIN=/sys/fs/bpf/egctl-$$
DB=$T/espgate.db
SOCK=$T/ipsecd.sock
pid=""
FAILS=0
PASSES=0

cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ "$FAILS" -eq 0 ] || { echo "--- ipsecd log" >&2; cat "$T/log" >&2; }
	rm -rf "$T" "$PIN"
}
trap cleanup EXIT

ctl() { "$BUILD/ipsecctl" -s "$SOCK" -d "$DB" -P "$PIN" "$@"; }
ok() { echo "ok: $1"; PASSES=$((PASSES + 1)); }
bad() { echo "not ok: $1" >&2; FAILS=$((FAILS + 1)); }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: expected '$2', got '$3'"; fi; }
# fails CMD... : the command must fail and its stderr must contain $EXPECT
fails() {
	local out rc=0
	out=$("$@" 2>&1 >/dev/null) || rc=$?
	if [ "$rc" -ne 0 ] && [[ "$out" == *"$EXPECT"* ]]; then
		ok "refused: $EXPECT"
	else
		bad "expected failure with '$EXPECT', got rc=$rc: $out"
	fi
}
start() {
	"$BUILD/ipsecd" --db "$DB" --socket "$SOCK" --pin-root "$PIN" >>"$T/log" 2>&1 &
	pid=$!
	for _ in $(seq 1 200); do
		ctl status >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	cat "$T/log"; exit 1
}

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
start

echo "### usage and errors"
EXPECT="Usage" fails "$BUILD/ipsecctl"
EXPECT="unknown command 'frobnicate'" fails ctl frobnicate
EXPECT="unknown command 'bogus'" fails ctl site bogus
EXPECT="cannot reach ipsecd" fails "$BUILD/ipsecctl" -s "$T/nothing.sock" status
check "prefix matching: s l is site list" "0" "$(ctl -j s l | jq .total)"
ctl -j frobnicate 2>"$T/err" || true
check "errors are JSON with -j" "unknown command 'frobnicate'; try 'ipsecctl help'" \
	"$(jq -r .error <"$T/err")"

echo "### POPs"
ctl pop add NYC1 gateway 203.0.113.1 probe 100.64.0.1 location "New York" >/dev/null
ctl pop add ATL1 gateway 203.0.113.2 probe 100.64.0.2 location Atlanta >/dev/null
ctl pop add DFW1 gateway 203.0.113.3 probe 100.64.0.3 location Dallas >/dev/null
EXPECT="gateway ip '203.0.113.300'" fails ctl pop add BAD gateway 203.0.113.300 probe 100.64.0.9
EXPECT="already exists" fails ctl pop add NYC1 gateway 203.0.113.9 probe 100.64.0.9
check "pop list" 3 "$(ctl -j pop list | jq length)"
ctl pop edit DFW1 location "Dallas 2" >/dev/null
check "pop edit" "Dallas 2" "$(ctl -j pop show DFW1 | jq -r .location)"
ctl pop drain ATL1 >/dev/null
check "drained" false "$(ctl -j pop show ATL1 | jq .accepting)"
ctl pop list | grep -q "ATL1.*no (draining)" && ok "pop list says draining" ||
	bad "pop list does not say draining"
ctl pop undrain ATL1 >/dev/null
check "undrained" true "$(ctl -j pop show ATL1 | jq .accepting)"

echo "### sites: add and validation"
add() { ctl site add "$@" >/dev/null; }
add hq identity hq.example.com source-ip 198.51.100.7 psk hq-secret-0123456789 \
	pop NYC1 backup-pops ATL1,DFW1 traffic-type mixed license cloud-firewall \
	ports 8080,8443 max-bandwidth 50 cipher aes256-gcm
add br2 identity admin@abc.net source-ip 198.51.100.8 psk br2-secret-0123456789 pop ATL1
add br3 identity 192.0.2.33 source-ip 198.51.100.9 psk br3-secret-0123456789 pop DFW1 disabled
S=$(ctl -j site show hq)
check "identity type guessed fqdn" fqdn "$(echo "$S" | jq -r .id_type)"
check "backup pops" "ATL1,DFW1" "$(echo "$S" | jq -r '.backup_pops | join(",")')"
check "ports" "8080,8443" "$(echo "$S" | jq -r '.ports | join(",")')"
check "cipher canonical" AES256-GCM "$(echo "$S" | jq -r .cipher)"
check "PSK hidden" null "$(echo "$S" | jq -r .psk)"
check "PSK on request" hq-secret-0123456789 "$(ctl -j site show hq --show-secret | jq -r .psk)"
check "email identity" email "$(ctl -j site show br2 | jq -r .id_type)"
check "ipv4 identity" ipv4 "$(ctl -j site show br3 | jq -r .id_type)"
check "disabled status" disabled "$(ctl -j site show br3 | jq -r .status)"
# this gateway has no --pop: no tunnel here and no role (t_55 has both)
check "site show: where the tunnel is" "not on this gateway, no --pop (not one of the site's POPs)" \
	"$(ctl site show hq | sed -n 's/^  tunnel *//p')"
check "site show -j: here" '{"established":0,"pop":null,"role":"none"}' "$(echo "$S" | jq -c .here)"
check "in the XDP map" 3 "$(ctl -j map dump eg_sites | jq length)"
check "disabled in the XDP map" false \
	"$(ctl -j map dump eg_sites | jq '.[] | select(.site == "br3") | .enabled')"
check "each site alone in its eg_src bucket" 3 \
	"$(ctl -j map dump eg_src | jq '[.[] | select(.holds == "one")] | length')"
check "disabled in eg_src" false \
	"$(ctl -j map dump eg_src | jq '.[] | select(.source_ip == "198.51.100.9") | .enabled')"

EXPECT="source ip '198.51.100.300'" fails ctl site add x identity x.example.com source-ip 198.51.100.300 psk 0123456789abcdef0 pop NYC1
EXPECT="PSK too short" fails ctl site add x identity x.example.com source-ip 198.51.100.20 psk short pop NYC1
EXPECT="unknown POP 'ZZZ9'" fails ctl site add x identity x.example.com source-ip 198.51.100.20 psk 0123456789abcdef0 pop ZZZ9
EXPECT="already exists" fails ctl site add hq identity y.example.com source-ip 198.51.100.21 psk 0123456789abcdef0 pop NYC1
EXPECT="already used by site 'hq'" fails ctl site add x identity hq.example.com source-ip 198.51.100.21 psk 0123456789abcdef0 pop NYC1
EXPECT="already used by site 'br2'" fails ctl site add x identity x.example.com source-ip 198.51.100.8 psk 0123456789abcdef0 pop NYC1
EXPECT="email" fails ctl site add x identity "bad@@x" source-ip 198.51.100.22 psk 0123456789abcdef0 pop NYC1
EXPECT="not a valid FQDN" fails ctl site add x identity "-bad-.example.com" source-ip 198.51.100.22 psk 0123456789abcdef0 pop NYC1
EXPECT="traffic type 'bulk'" fails ctl site add x identity x.example.com source-ip 198.51.100.22 psk 0123456789abcdef0 pop NYC1 traffic-type bulk
EXPECT="unknown site keyword 'colour'" fails ctl site add x colour blue
EXPECT="is used by" fails ctl pop delete NYC1
check "nothing half-added" 3 "$(ctl -j site list | jq .total)"

echo "### every pinned map lists and decodes"
check "eleven maps pinned" 11 "$(ctl -j map list | jq length)"
for m in $(ctl -j map list | jq -r '.[].name'); do
	if ctl map dump "$m" >/dev/null && ctl -j map dump "$m" | jq -e . >/dev/null; then
		ok "map dump $m (table and JSON)"
	else
		bad "map dump $m"
	fi
done
EXPECT="no map 'eg_nothing'" fails ctl map dump eg_nothing

echo "### edit, enable, disable, delete (several, all or nothing)"
ctl site edit br2 traffic-type iot name branch-two >/dev/null
check "renamed and edited" iot "$(ctl -j site show branch-two | jq -r .traffic_type)"
ctl site edit branch-two source-ip 198.51.100.18 >/dev/null
check "source ip moved in XDP" 198.51.100.18 \
	"$(ctl -j map dump eg_sites | jq -r '.[] | select(.site == "branch-two") | .source_ip')"
EXPECT="no site named 'nope'" fails ctl site disable hq nope
check "all or nothing: hq still enabled" up-or-down \
	"$(ctl -j site show hq | jq -r 'if .status == "disabled" then "disabled" else "up-or-down" end')"
ctl site disable hq branch-two >/dev/null
check "two disabled" 3 "$(ctl -j site list --status disabled | jq .total)"
ctl site enable hq branch-two br3 >/dev/null
check "none disabled" 0 "$(ctl -j site list --status disabled | jq .total)"

echo "### list: filters, sort, pages, columns"
for i in $(seq -w 1 120); do
	printf 'gen-%s,gen-%s.example.org,198.18.%d.%d,%s,,,gen-secret-%s-0123,,%s\n' \
		"$i" "$i" $((10#$i / 200)) $((10#$i % 200 + 1)) \
		"$([ $((10#$i % 3)) = 0 ] && echo DFW1 || echo NYC1)" "$i" \
		"$([ $((10#$i % 10)) = 0 ] && echo false || echo true)"
done | { echo "tunnel name,source identity,source ip address,primary pop,failover pop,encryption cipher,psk,maximum bandwidth,enabled"; cat; } >"$T/gen.csv"
ctl site import "$T/gen.csv" >/dev/null
check "total" 123 "$(ctl -j site list | jq .total)"
check "first page holds 100" 100 "$(ctl -j site list | jq '.sites | length')"
check "page 2 holds the rest" 23 "$(ctl -j site list --page 2 | jq '.sites | length')"
check "page 3 is empty" 0 "$(ctl -j site list --page 3 | jq '.sites | length')"
check "per-page 50, page 3" 23 "$(ctl -j site list --per-page 50 --page 3 | jq '.sites | length')"
EXPECT="per page" fails ctl site list --per-page 101
EXPECT="--page takes a positive number" fails ctl site list --page 0
check "footer" "sites 101-123 of 123" "$(ctl site list --page 2 | tail -1)"
check "name filter (gen-010..gen-019)" 10 "$(ctl -j site list --name gen-01 | jq .total)"
check "identity filter" 120 "$(ctl -j site list --identity example.org | jq .total)"
check "pop filter (primary)" 40 "$(ctl -j site list --pop DFW1 --name gen | jq .total)"
check "pop filter (backup counts)" 2 "$(ctl -j site list --pop ATL1 | jq .total)"
check "status filter" 12 "$(ctl -j site list --status disabled | jq .total)"
check "combined filters" 4 "$(ctl -j site list --name gen --pop DFW1 --status disabled | jq .total)"
check "traffic type filter" 1 "$(ctl -j site list --traffic-type mixed | jq .total)"
check "sort asc" br3 "$(ctl -j site list | jq -r '.sites[0].name')"
check "sort desc" hq "$(ctl -j site list --sort name:desc | jq -r '.sites[0].name')"
EXPECT="unknown POP 'QQQ1'" fails ctl site list --pop QQQ1
check "columns" "NAME STATUS" "$(ctl site list -o name,status --name hq | head -1 | tr -s ' ' | sed 's/ $//')"
EXPECT="unknown column 'colour'" fails ctl site list -o name,colour
check "default columns" "NAME SOURCE IDENTITY SOURCE IP STATUS POP KBPS TRAFFIC TYPE FLOWS ENDPOINTS" \
	"$(ctl site list -o default --name hq | head -1 | tr -s ' ' | sed 's/^ //; s/ $//')"

echo "### CSV import: all or nothing"
cat >"$T/bad.csv" <<'CSV'
tunnel name,source identity,source ip address,primary pop,failover pop,encryption cipher,psk,maximum bandwidth,enabled
ok-1,ok-1.example.com,198.51.100.101,NYC1,,,ok-1-secret-0123456789,,true
bad-ip,bad.example.com,198.51.100.999,NYC1,,,bad-secret-0123456789,,true
ok-2,ok-2.example.com,198.51.100.102,NYC1,ATL1,AES128-CBC,ok-2-secret-0123456789,10,false
bad-pop,badpop.example.com,198.51.100.103,XXX1,,,badpop-secret-0123456789,,true
CSV
out=$(ctl site import "$T/bad.csv" 2>&1) && bad "bad import accepted" || ok "bad import refused"
[[ "$out" == *"line 3:"* ]] && ok "names line 3" || bad "no 'line 3:' in: $out"
[[ "$out" == *"line 5:"* ]] && ok "names line 5" || bad "no 'line 5:' in: $out"
check "nothing imported" 123 "$(ctl -j site list | jq .total)"
head -2 "$T/bad.csv" >"$T/one.csv"
ctl site import "$T/one.csv" --dry-run >/dev/null
check "dry run writes nothing" 123 "$(ctl -j site list | jq .total)"
ctl site import "$T/one.csv" >/dev/null
check "good import" 124 "$(ctl -j site list | jq .total)"
check "imported site in XDP" 1 "$(ctl -j map dump eg_sites | jq '[.[] | select(.site == "ok-1")] | length')"

echo "### export round trip"
ctl site export --show-secret >"$T/all.csv"
check "export rows" 125 "$(wc -l <"$T/all.csv")"
kill "$pid"; wait "$pid" || true; pid=""
mv "$DB" "$T/old.db"; rm -f "$DB-wal" "$DB-shm"
start
for p in NYC1:1 ATL1:2 DFW1:3; do
	ctl pop add "${p%%:*}" gateway "203.0.113.${p#*:}" probe "100.64.0.${p#*:}" >/dev/null
done
ctl site import "$T/all.csv" >/dev/null
ctl site export --show-secret >"$T/again.csv"
cmp -s "$T/all.csv" "$T/again.csv" && ok "export -> import -> export is identical" ||
	bad "round trip differs: $(diff "$T/all.csv" "$T/again.csv" | head -3)"

echo "### tunnel policy per site: LAN prefixes, lifetimes, DPD"
ctl site edit branch-two lan 10.8.0.0/16,192.168.8.0/24 ike-lifetime 3600 child-lifetime 600 \
	dpd-delay 10 dpd-timeout 60 >/dev/null
S=$(ctl -j site show branch-two)
check "lan stored" "10.8.0.0/16,192.168.8.0/24" "$(echo "$S" | jq -r .lan)"
check "lifetimes stored" "3600 600 10 60" \
	"$(echo "$S" | jq -r '"\(.ike_lifetime) \(.child_lifetime) \(.dpd_delay) \(.dpd_timeout)"')"
check "default LAN: the private ranges" "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16" \
	"$(ctl -j site show br3 | jq -r .lan_effective)"
check "site show prints the lifetimes" \
	"  lifetimes     IKE 3600 s, Child 600 s; DPD delay 10 s, timeout 60 s" \
	"$(ctl site show branch-two | grep lifetimes)"
EXPECT="is not a number of seconds" fails ctl site edit branch-two dpd-delay soon
EXPECT="is not an IPv4 prefix" fails ctl site edit branch-two lan 10.8.0.0/33
check "bad edits changed nothing" "10.8.0.0/16,192.168.8.0/24 10" \
	"$(ctl -j site show branch-two | jq -r '"\(.lan) \(.dpd_delay)"')"
EXPECT="usage: ipsecctl sa rekey" fails ctl sa rekey
EXPECT="usage: ipsecctl shutdown" fails ctl shutdown --now

echo "### concurrent clients"
for i in $(seq 1 8); do
	( for j in $(seq 1 10); do ctl -j site list --page $((j % 2 + 1)) >/dev/null || exit 1; done ) &
done
cfail=0; for _ in $(seq 1 8); do wait -n || cfail=$((cfail + 1)); done
check "8 clients x 10 lists" 0 "$cfail"

echo "### kill -9 during an import loses nothing acknowledged, leaves no half-import"
ctl site delete hq >/dev/null
before=$(ctl -j site list | jq .total)
awk 'BEGIN { print "tunnel name,source identity,source ip address,primary pop,failover pop,encryption cipher,psk,maximum bandwidth,enabled";
	for (i = 0; i < 20000; i++) printf "k-%05d,k-%05d.example.net,198.19.%d.%d,NYC1,,,k-secret-%05d-0123,,true\n", i, i, int(i/250), i%250+1, i }' >"$T/big.csv"
ctl site import "$T/big.csv" >/dev/null 2>&1 &
imp=$!
sleep 0.3
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=""
wait "$imp" 2>/dev/null || true
start
after=$(ctl -j site list | jq .total)
if [ "$after" = "$before" ] || [ "$after" = $((before + 20000)) ]; then
	ok "after kill -9: $after sites (before $before; the import is all or nothing)"
else
	bad "half an import: before $before, after $after"
fi
check "the delete acknowledged before the kill stuck" gone \
	"$(ctl site show hq >/dev/null 2>&1 && echo present || echo gone)"

echo "### shutdown over the control socket"
ctl shutdown >/dev/null
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
check "ipsecd stopped on 'ipsecctl shutdown'" stopped \
	"$(kill -0 "$pid" 2>/dev/null && echo running || echo stopped)"
check "and said so" 1 "$(grep -c 'shutdown asked over the control socket (tunnels kept)' "$T/log")"
pid=""

echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
