#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_page.sh BUILD - the IPSec page (tools/www) in a headless Chromium
# against a real ipsecd: sign in with the token, create a tunnel (the API's
# validation message shown in the form, then accepted), page through 250
# tunnels, search and filter, sort by name, the column chooser and
# "restore defaults", "view additional POPs", the row menu's detail, bulk
# disable, a CSV import with a bad line (its line number shown, nothing
# imported), the POP list with a drained POP. Screenshots in
# BUILD/page/, assertions on the DOM.
#
#   chromedriver <--WebDriver (curl)-- this script
#   chromium --HTTP--> ipsecd --REST--> the store
set -eu
BUILD=$(cd "${1:?usage: $0 BUILD}" && pwd)
. "$(dirname "$0")/webdriver.sh"
WWW=$(cd "$(dirname "$0")/../../tools/www" && pwd)
T=$(mktemp -d /tmp/egpage.XXXXXX)
PIN=/sys/fs/bpf/egpage-$$
SHOTS=$BUILD/page
pid=""
FAILS=0
PASSES=0

cleanup() {
	wd_stop
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ "$FAILS" -eq 0 ] || { echo "--- ipsecd log" >&2; tail -30 "$T/log" >&2; }
	rm -rf "$T" "$PIN"
}
trap cleanup EXIT

ok() { echo "ok: $1"; PASSES=$((PASSES + 1)); }
bad() { echo "not ok: $1" >&2; FAILS=$((FAILS + 1)); }
check() { if [ "$2" = "$3" ]; then ok "$1 ($3)"; else bad "$1: expected '$2', got '$3'"; fi; }
api() {
	curl -s -o "$T/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" \
		"${@:3}" "http://127.0.0.1:$PORT/api/v1$2"
}

t_start=$SECONDS
mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/token"
chmod 600 "$T/token"
TOKEN=$(cat "$T/token")
"$BUILD/ipsecd" --db "$T/espgate.db" --socket "$T/ipsecd.sock" --pin-root "$PIN" --pop NYC1 \
	--api-token-file "$T/token" --http-listen 127.0.0.1:0 --web-root "$WWW" >"$T/log" 2>&1 &
pid=$!
PORT=""
for _ in $(seq 1 250); do
	PORT=$(sed -n 's/.*HTTP API on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/log")
	[ -n "$PORT" ] && break
	sleep 0.02
done
[ -n "$PORT" ] || { cat "$T/log"; exit 1; }

# the POPs and 250 tunnels, through the API
api POST /pops -d '{"name":"NYC1","gateway_ip":"203.0.113.1","probe_ip":"100.64.0.1","location":"New York"}' >/dev/null
api POST /pops -d '{"name":"ATL1","gateway_ip":"203.0.113.2","probe_ip":"100.64.0.2","location":"Atlanta"}' >/dev/null
api POST /pops/ATL1/drain >/dev/null
{
	echo "tunnel name,source identity,source ip address,primary pop,failover pop,encryption cipher,psk,maximum bandwidth,enabled"
	for i in $(seq 1 250); do
		printf 'site%03d,site%03d.example.com,198.18.%d.%d,NYC1,%s,,secret-of-site-%03d-0123456,,true\n' \
			"$i" "$i" $((i / 200)) $((i % 200 + 1)) "$([ "$i" = 7 ] && echo ATL1)" "$i"
	done
} >"$T/sites.csv"
check "250 tunnels imported through the API" 200 "$(api POST /sites/import --data-binary @"$T/sites.csv")"

wd_start "$T" || exit 1
echo "### sign in"
wd_go "http://127.0.0.1:$PORT/"
wd_wait "the page asks for the token" false 10 "return document.getElementById('login').hidden"
wd_type '#token' "${TOKEN}x"
wd_click '#login-go'
wd_wait "a wrong token is refused" "The token was refused." 10 \
	"return document.getElementById('login-err').textContent"
wd_clear '#token'
wd_type '#token' "$TOKEN"
wd_click '#login-go'
wd_wait "signed in: the first page of 100" "sites 1-100 of 250" 10 \
	"return document.getElementById('range').textContent"
check "100 rows" 100 "$(wd_js "return document.querySelectorAll('#sites-body tr').length")"
check "the default columns" "Tunnel name|Source identity|Source IP|Status|POP|Throughput (Kbps)|Traffic type" \
	"$(wd_js "return [...document.querySelectorAll('#sites-head th[data-col]')].map(t => t.textContent.replace(/ [▲▼]$/, '')).join('|')")"
check "status icons" "down" "$(wd_js "return document.querySelector('#sites-body tr td[data-status]').dataset.status")"
check "the gateway named" 1 "$(wd_js "return document.getElementById('gw').textContent.startsWith('POP NYC1') ? 1 : 0")"
wd_shot "$SHOTS/01-sites.png"

echo "### pages"
wd_click '#next'
wd_wait "page 2" "sites 101-200 of 250" 10 "return document.getElementById('range').textContent"
wd_click '#next'
wd_wait "page 3" "sites 201-250 of 250" 10 "return document.getElementById('range').textContent"
check "next disabled on the last page" true "$(wd_js "return document.getElementById('next').disabled")"
wd_js "document.querySelector('#pages button.page').click(); return 1" >/dev/null
wd_wait "back to page 1 by its number" "sites 1-100 of 250" 10 "return document.getElementById('range').textContent"

echo "### search, filters, sort"
wd_type '#q-name' site01
wd_wait "search by name" "sites 1-10 of 10" 10 "return document.getElementById('range').textContent"
wd_clear '#q-name'
wd_js "const s = document.getElementById('q-name'); s.dispatchEvent(new Event('input')); return 1" >/dev/null
wd_wait "search cleared" "sites 1-100 of 250" 10 "return document.getElementById('range').textContent"
wd_type '#q-identity' site25
wd_wait "filter by source identity" "sites 1-1 of 1" 10 "return document.getElementById('range').textContent"
wd_clear '#q-identity'
wd_js "document.getElementById('q-identity').dispatchEvent(new Event('input')); return 1" >/dev/null
wd_js "const s = document.getElementById('q-pop'); s.value = 'ATL1'; s.dispatchEvent(new Event('change')); return 1" >/dev/null
wd_wait "filter by POP (a backup POP counts)" "site007" 10 \
	"return [...document.querySelectorAll('#sites-body tr')].map(r => r.dataset.name).join(',')"
wd_js "const s = document.getElementById('q-pop'); s.value = ''; s.dispatchEvent(new Event('change')); return 1" >/dev/null
wd_wait "all again" "sites 1-100 of 250" 10 "return document.getElementById('range').textContent"
wd_click '#sort-name'
wd_wait "sort by name, descending" site250 10 "return document.querySelector('#sites-body tr').dataset.name"
wd_click '#sort-name'
wd_wait "and ascending" site001 10 "return document.querySelector('#sites-body tr').dataset.name"

echo "### view additional POPs, the row menu"
wd_js "document.querySelector('tr[data-name=site007] .more').click(); return 1" >/dev/null
check "view additional POPs shows the backup" "ATL1" \
	"$(wd_js "return document.querySelector('tr[data-name=site007] td:nth-child(6) span:last-child').textContent")"
wd_click 'tr[data-name=site007] .row-menu'
wd_click 'tr[data-name=site007] button[data-action=view-detail]'
wd_wait "the detail dialog" site007 10 \
	"return document.getElementById('detail-dialog').open ? document.getElementById('detail-title').textContent : ''"
check "it shows the backup POP and that it drains" 1 "$(wd_js "return document.getElementById('detail-list').textContent.includes('ATL1 (203.0.113.2, Atlanta)') ? 1 : 0")"
check "and where its tunnel is" 1 "$(wd_js "return document.getElementById('detail-list').textContent.includes('not on this gateway, NYC1 (the site\\'s primary POP)') ? 1 : 0")"
wd_shot "$SHOTS/02-detail.png"
wd_click '#detail-close'

echo "### column chooser"
wd_click '#columns'
wd_js "document.querySelector('#columns-menu input[data-col=source_ip]').click(); return 1" >/dev/null
wd_js "document.querySelector('#columns-menu input[data-col=license]').click(); return 1" >/dev/null
check "Source IP hidden, License shown" "0 1" "$(wd_js "return (document.querySelector('#sites-head th[data-col=source_ip]') ? 1 : 0) + ' ' + (document.querySelector('#sites-head th[data-col=license]') ? 1 : 0)")"
wd_shot "$SHOTS/03-columns.png"
wd_click '#columns-restore'
check "restore defaults" "1 0" "$(wd_js "return (document.querySelector('#sites-head th[data-col=source_ip]') ? 1 : 0) + ' ' + (document.querySelector('#sites-head th[data-col=license]') ? 1 : 0)")"
wd_js "document.body.click(); return 1" >/dev/null

echo "### create, with the API's validation"
wd_click '#add-site'
wd_type '#site-form input[name=name]' branch-web
wd_type '#site-form input[name=identity]' branch-web.example.com
wd_type '#site-form input[name=source_ip]' 198.51.100.300
wd_type '#site-form input[name=psk]' branch-web-secret-0123456789
wd_click '#site-save'
wd_wait "the form shows the API's message" 1 10 \
	"return document.getElementById('site-form-err').textContent.includes('198.51.100.300') ? 1 : 0"
wd_shot "$SHOTS/04-form-error.png"
wd_clear '#site-form input[name=source_ip]'
wd_type '#site-form input[name=source_ip]' 198.51.100.9
wd_click '#site-save'
wd_wait "saved: the dialog closes" false 10 "return document.getElementById('site-dialog').open"
check "the new tunnel is in the store" 200 "$(api GET /sites/branch-web)"
check "with what was typed" "branch-web.example.com 198.51.100.9" "$(jq -r '"\(.identity) \(.source_ip)"' "$T/body")"

echo "### edit"
wd_click 'tr[data-name=site001] .row-menu'
wd_click 'tr[data-name=site001] button[data-action=edit]'
wd_wait "the edit form is filled in" site001.example.com 10 \
	"return document.querySelector('#site-form input[name=identity]').value"
wd_js "const s = document.querySelector('#site-form select[name=traffic_type]'); s.value = 'iot'; return 1" >/dev/null
wd_click '#site-save'
wd_wait "saved" false 10 "return document.getElementById('site-dialog').open"
check "the edit is in the store" iot "$(api GET /sites/site001 >/dev/null; jq -r .traffic_type "$T/body")"

echo "### bulk disable"
wd_click '#select-all'
wd_wait "a page selected" "100 selected" 10 "return document.getElementById('selected').textContent"
wd_click '#bulk-disable'
wd_wait "disabled, said so" "100 tunnels disabled" 10 "return document.getElementById('msg').textContent"
check "the store agrees" 100 "$(api GET '/sites?status=disabled&per_page=1' >/dev/null; jq .total "$T/body")"
wd_wait "the rows show it" 100 10 "return document.querySelectorAll('#sites-body td[data-status=disabled]').length"
wd_shot "$SHOTS/05-bulk-disabled.png"

echo "### CSV import with a bad line"
{ echo "tunnel name,source identity,source ip address,primary pop,failover pop,encryption cipher,psk,maximum bandwidth,enabled"
  echo "new1,new1.example.com,198.19.0.1,NYC1,,,secret-of-new1-0123456,,true"
  echo "new2,new2.example.com,198.19.0.300,NYC1,,,secret-of-new2-0123456,,true"; } >"$T/bad.csv"
wd_type '#import-file' "$T/bad.csv"
wd_wait "the bad line is named" 1 10 \
	"return [...document.querySelectorAll('#import-error-list li')].some(l => l.textContent.startsWith('line 3: ')) ? 1 : 0"
check "nothing imported" 404 "$(api GET /sites/new1)"
wd_shot "$SHOTS/06-import-error.png"

echo "### POPs"
wd_click '#tab-pops'
wd_wait "the POP list" "NYC1,ATL1" 10 \
	"return [...document.querySelectorAll('#pops-body tr')].map(r => r.dataset.name).sort().reverse().join(',')"
check "the drained POP says so" "not accepting new tunnels" \
	"$(wd_js "return document.querySelector('#pops-body tr[data-name=ATL1] td:last-child').textContent")"
check "gateway, probe IP, location" "NYC1|203.0.113.1|100.64.0.1|New York|accepting" \
	"$(wd_js "return [...document.querySelectorAll('#pops-body tr[data-name=NYC1] td')].map(t => t.textContent).join('|')")"
wd_shot "$SHOTS/07-pops.png"
wd_click '#tab-sites'
wd_click '#refresh'
wd_wait "refresh: the new tunnel counted" "sites 1-100 of 251" 10 "return document.getElementById('range').textContent"

echo "page test: $((SECONDS - t_start)) s, screenshots in $SHOTS"
echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
