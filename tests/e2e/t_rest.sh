#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_rest.sh BUILD - the REST API, /metrics and the downstream health checks
# against a real ipsecd on the host (real SQLite file, pinned maps, no IKE):
#
#   curl --HTTP(S), bearer token--> ipsecd --> the control-socket commands
#   ipsecd --TCP connect / HTTP GET--> busybox httpd (the "web gateway")
#
# Checks: the listener's refusals (token file readable by others, plain
# HTTP on a non-loopback address), 401 without or with a wrong token, TLS
# with a certificate, every route with the status codes that mean what
# they say (201, 400 naming field and value, 404, 405 with Allow, 409,
# 413), 250 sites in pages of 100, bulk disable, CSV import all or nothing
# with the bad line named, export; /metrics through promtool, per-site
# series bounded by --metrics-sites; health checks going down and up with
# rise/fall, the sites that depend on them shown down with the reason.
set -eu
BUILD=$(cd "${1:?usage: $0 BUILD}" && pwd)
T=$(mktemp -d /tmp/egrest.XXXXXX)
PIN=/sys/fs/bpf/egrest-$$
DB=$T/espgate.db
SOCK=$T/ipsecd.sock
pid="" web=""
FAILS=0
PASSES=0

cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$web" ] && kill "$web" 2>/dev/null
	[ "$FAILS" -eq 0 ] || { echo "--- ipsecd log" >&2; cat "$T/log" >&2; }
	rm -rf "$T" "$PIN"
}
trap cleanup EXIT

ok() { echo "ok: $1"; PASSES=$((PASSES + 1)); }
bad() { echo "not ok: $1" >&2; FAILS=$((FAILS + 1)); }
check() { if [ "$2" = "$3" ]; then ok "$1 ($3)"; else bad "$1: expected '$2', got '$3'"; fi; }
ctl() { "$BUILD/ipsecctl" -s "$SOCK" -d "$DB" -P "$PIN" "$@"; }

PROMTOOL=$("$(dirname "$0")/../../tools/promtool.sh" "$BUILD")
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/token"
chmod 600 "$T/token"
TOKEN=$(cat "$T/token")

# start ARGS...: ipsecd with the API; PORT is where it listens
start() {
	: >"$T/log"
	"$BUILD/ipsecd" --db "$DB" --socket "$SOCK" --pin-root "$PIN" \
		--api-token-file "$T/token" "$@" >>"$T/log" 2>&1 &
	pid=$!
	for _ in $(seq 1 250); do
		PORT=$(sed -n 's/.*HTTP API on https\?:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/log")
		[ -n "$PORT" ] && ctl status >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	cat "$T/log"; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

# api METHOD PATH [curl args...]: body to $T/body, prints the status
SCHEME=http
api() {
	local m=$1 p=$2
	shift 2
	curl -s -o "$T/body" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $TOKEN" \
		${CACERT:+--cacert "$CACERT"} "$@" "$SCHEME://127.0.0.1:$PORT$p"
}
body() { jq -r "$1" "$T/body"; }

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

echo "### the listener refuses what it must"
chmod 644 "$T/token"
rc=0; "$BUILD/ipsecd" --db "$DB" --socket "$SOCK" --pin-root "$PIN" --api-token-file "$T/token" \
	--http-listen 127.0.0.1:0 >"$T/out" 2>&1 || rc=$?
check "a token file others can read: refused" 1 "$rc"
check "and said so" 1 "$(grep -c 'lets others read it; chmod 600' "$T/out")"
chmod 600 "$T/token"
rc=0; "$BUILD/ipsecd" --db "$DB" --socket "$SOCK" --pin-root "$PIN" --api-token-file "$T/token" \
	--http-listen 0.0.0.0:0 >"$T/out" 2>&1 || rc=$?
check "plain HTTP on a non-loopback address: refused" 1 "$rc"
check "and said so" 1 "$(grep -c 'plain HTTP is for loopback addresses only' "$T/out")"
rc=0; "$BUILD/ipsecd" --http-listen 127.0.0.1:1 >"$T/out" 2>&1 || rc=$?
check "--http-listen without a token file: usage error" 1 "$rc"

echo "### TLS with a certificate"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
start --http-listen 127.0.0.1:0 --http-cert "$T/cert.pem" --http-key "$T/key.pem"
SCHEME=https CACERT=$T/cert.pem
check "GET /api/v1/status over TLS" 200 "$(api GET /api/v1/status)"
check "plain HTTP to the TLS port gets no answer" 000 \
	"$(curl -s -o /dev/null -m 3 -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/status" || true)"
stop
SCHEME=http CACERT=""

echo "### authentication"
start --http-listen 127.0.0.1:0 --metrics-sites 5
check "no token: 401" 401 "$(curl -s -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/sites")"
check "401 says why" "a valid bearer token is needed (Authorization: Bearer ...)" "$(body .error)"
check "a wrong token: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer ${TOKEN}x" "http://127.0.0.1:$PORT/api/v1/sites")"
check "/metrics needs the token too" 401 "$(curl -s -o /dev/null -w '%{http_code}' \
	"http://127.0.0.1:$PORT/metrics")"
check "the token is never logged" 0 "$(grep -c "$TOKEN" "$T/log" || true)"

echo "### POPs and sites"
check "POST /pops" 201 "$(api POST /api/v1/pops -d '{"name":"NYC1","gateway_ip":"203.0.113.1","probe_ip":"100.64.0.1","location":"New York"}')"
check "POST /pops (second)" 201 "$(api POST /api/v1/pops -d '{"name":"ATL1","gateway_ip":"203.0.113.2","probe_ip":"100.64.0.2"}')"
check "GET /pops" 2 "$(api GET /api/v1/pops >/dev/null; body length)"
check "a POP has gateway, probe ip, location, accepting" "203.0.113.1 100.64.0.1 New York true" \
	"$(body '.[] | select(.name == "NYC1") | "\(.gateway_ip) \(.probe_ip) \(.location) \(.accepting)"')"
check "POST /pops/ATL1/drain" 200 "$(api POST /api/v1/pops/ATL1/drain)"
check "ATL1 not accepting" false "$(api GET /api/v1/pops/ATL1 >/dev/null; body .accepting)"

site='{"name":"branch1","id_type":"fqdn","identity":"branch1.example.com","source_ip":"198.51.100.7","psk":"branch1-secret-0123456789","primary_pop":"NYC1","backup_pops":["ATL1"],"license":"cloud-firewall"}'
check "POST /sites" 201 "$(api POST /api/v1/sites -d "$site")"
check "the answer is the site" branch1.example.com "$(body .identity)"
check "the PSK is not in it" null "$(body .psk)"
check "the same name again: 409" 409 "$(api POST /api/v1/sites -d "$site")"
check "409 says why" "site name 'branch1' already exists" "$(body .error)"
check "a bad address: 400" 400 "$(api POST /api/v1/sites -d "${site/198.51.100.7/198.51.100.300}")"
check "400 names the field and the value" 1 "$(body .error | grep -c "198.51.100.300")"
check "a body that is not JSON: 400" 400 "$(api POST /api/v1/sites -d '{"name":')"
check "a JSON array is not a site: 400" 400 "$(api POST /api/v1/sites -d '[1]')"
check "GET /sites/branch1" 200 "$(api GET /api/v1/sites/branch1)"
check "its POPs" "NYC1 ATL1" "$(body '"\(.primary_pop) \(.backup_pops | join(" "))"')"
check "GET /sites/nope: 404" 404 "$(api GET /api/v1/sites/nope)"
check "PATCH /sites/branch1" 200 "$(api PATCH /api/v1/sites/branch1 -d '{"traffic_type":"iot"}')"
check "the edit is kept" iot "$(api GET /api/v1/sites/branch1 >/dev/null; body .traffic_type)"
check "PATCH with a bad value: 400" 400 "$(api PATCH /api/v1/sites/branch1 -d '{"traffic_type":"toasters"}')"
check "PUT is not a method here: 405" 405 "$(api PUT /api/v1/sites/branch1)"
check "405 says what is" "GET, PATCH, DELETE" \
	"$(curl -s -D - -o /dev/null -X PUT -H "Authorization: Bearer $TOKEN" \
	   "http://127.0.0.1:$PORT/api/v1/sites/branch1" | tr -d '\r' | sed -n 's/^Allow: //p')"
check "no such resource: 404" 404 "$(api GET /api/v1/frobs)"
check "no such API version: 404" 404 "$(api GET /api/v2/sites)"
check "GET /sas (no IKE here)" 200 "$(api GET /api/v1/sas)"
check "GET /sites/branch1/flows" 200 "$(api GET /api/v1/sites/branch1/flows)"
head -c $((33 << 20)) /dev/zero >"$T/big"
check "a body over 32 MiB: 413" 413 "$(api POST /api/v1/sites/import --data-binary @"$T/big")"

echo "### CSV import: all or nothing, the bad line named"
{
	echo "tunnel name,source identity,source ip address,primary pop,failover pop,encryption cipher,psk,maximum bandwidth,enabled"
	for i in $(seq 1 250); do
		printf 'site%03d,site%03d.example.com,198.18.%d.%d,NYC1,,,secret-of-site-%03d-0123456,,true\n' \
			"$i" "$i" $((i / 200)) $((i % 200 + 1)) "$i"
	done
} >"$T/sites.csv"
{ head -n 101 "$T/sites.csv"
  echo "bad,bad.example.com,198.18.9.300,NYC1,,,secret-of-bad-0123456,,true"; } >"$T/bad.csv"
check "an import with a bad line: 400" 400 \
	"$(api POST /api/v1/sites/import -H 'Content-Type: text/csv' --data-binary @"$T/bad.csv")"
check "the bad line is named" 1 "$(body '.errors[]' | grep -c '^line 102: ')"
check "nothing imported" 1 "$(api GET '/api/v1/sites?per_page=1' >/dev/null; body .total)"
check "a dry run of the good file" 200 \
	"$(api POST '/api/v1/sites/import?dry_run=1' --data-binary @"$T/sites.csv")"
check "a dry run imports nothing" 1 "$(api GET '/api/v1/sites?per_page=1' >/dev/null; body .total)"
check "the import" 200 "$(api POST /api/v1/sites/import --data-binary @"$T/sites.csv")"
check "250 rows imported" 250 "$(body .imported)"

echo "### pages, filters, sort"
check "page 1" 200 "$(api GET '/api/v1/sites?page=1')"
check "100 on a page" "100 251" "$(body '"\(.sites | length) \(.total)"')"
check "page 3 has the rest" 51 "$(api GET '/api/v1/sites?page=3' >/dev/null; body '.sites | length')"
check "per_page 101: 400" 400 "$(api GET '/api/v1/sites?per_page=101')"
check "page x: 400 naming it" "page 'x' is not a number" "$(api GET '/api/v1/sites?page=x' >/dev/null; body .error)"
check "name filter" 10 "$(api GET '/api/v1/sites?name=site01' >/dev/null; body .total)"
check "sort desc" site250 "$(api GET '/api/v1/sites?sort=desc&per_page=1' >/dev/null; body '.sites[0].name')"
check "POP filter" 1 "$(api GET '/api/v1/sites?pop=ATL1' >/dev/null; body .total)"

echo "### bulk actions"
check "bulk disable" 200 "$(api POST /api/v1/sites/bulk -d '{"action":"disable","names":["site001","site002","site003"]}')"
check "3 disabled" 3 "$(api GET '/api/v1/sites?status=disabled' >/dev/null; body .total)"
check "bulk with an unknown site: 404, nothing done" 404 \
	"$(api POST /api/v1/sites/bulk -d '{"action":"enable","names":["site001","nope"]}')"
check "still 3 disabled" 3 "$(api GET '/api/v1/sites?status=disabled' >/dev/null; body .total)"
check "a bad action: 400" 400 "$(api POST /api/v1/sites/bulk -d '{"action":"explode","names":["site001"]}')"
check "bulk delete" 200 "$(api POST /api/v1/sites/bulk -d '{"action":"delete","names":["site249","site250"]}')"
check "POST /sites/site001/enable" 200 "$(api POST /api/v1/sites/site001/enable)"
check "DELETE /sites/site248" 200 "$(api DELETE /api/v1/sites/site248)"
check "248 left" 248 "$(api GET '/api/v1/sites?per_page=1' >/dev/null; body .total)"
check "GET /sites/export" 200 "$(api GET /api/v1/sites/export)"
check "export is the CSV, a line a site" 249 "$(wc -l <"$T/body")"
check "export has no PSKs" 0 "$(grep -c 'secret-of-site' "$T/body" || true)"

echo "### /metrics"
check "GET /metrics" 200 "$(api GET /metrics)"
if "$PROMTOOL" check metrics <"$T/body" >"$T/promtool.out" 2>&1; then
	ok "promtool check metrics"
else
	bad "promtool check metrics: $(cat "$T/promtool.out")"
fi
check "sites by status" 246 "$(sed -n 's/^espgate_sites{status="down"} //p' "$T/body")"
check "per-site series for --metrics-sites 5" 5 "$(grep -c '^espgate_site_up{' "$T/body")"
check "the others counted as omitted" 243 "$(sed -n 's/^espgate_metrics_sites_omitted //p' "$T/body")"
check "XDP verdicts by reason" 1 "$(grep -c '^espgate_xdp_packets_total{verdict="drop",reason="unknown_src"} ' "$T/body")"
check "inner drops by reason" 1 "$(grep -c '^espgate_inner_packets_total{verdict="drop",reason="flow_cap"} ' "$T/body")"

echo "### downstream health checks"
mkdir -p "$T/www"
echo ok >"$T/www/healthz"
WPORT=$(( 20000 + $$ % 20000 ))	# busybox cannot say which port it took
busybox httpd -f -p "127.0.0.1:$WPORT" -h "$T/www" & web=$!
sleep 0.3
check "health add over REST" 201 "$(api POST /api/v1/health -d "{\"name\":\"web1\",\"kind\":\"http\",\"target\":\"127.0.0.1:$WPORT\",\"path\":\"/healthz\",\"interval\":1,\"timeout\":1,\"rise\":2,\"fall\":2}")"
check "health add with a bad target: 400" 400 "$(api POST /api/v1/health -d '{"name":"x","kind":"tcp","target":"127.0.0.1"}')"
check "and why" "target '127.0.0.1' is not ADDR:PORT (IPv4, port 1-65535)" "$(body .error)"
check "health add with port 0: 400" 400 "$(api POST /api/v1/health -d '{"name":"x","kind":"tcp","target":"127.0.0.1:0"}')"
check "the same name again: 409" 409 "$(api POST /api/v1/health -d "{\"name\":\"web1\",\"kind\":\"tcp\",\"target\":\"127.0.0.1:$WPORT\"}")"
ctl health add fw1 tcp "127.0.0.1:$WPORT" service cloud-firewall interval 1 timeout 1 fall 2 >/dev/null
EXPECT_OUT=$(ctl health add x tcp 127.0.0.1:1 interval 0 2>&1 || true)
check "ipsecctl: a bad interval named" 1 "$(echo "$EXPECT_OUT" | grep -c 'interval 0 s is out of range 1-3600')"
rc=0; ctl health add x 2>/dev/null || rc=$?
check "ipsecctl health add without its words: usage, non-zero" 1 "$rc"
sleep 2.5
check "both checks up" "up up" "$(ctl -j health list | jq -r '[.checks[].state] | join(" ")')"
check "a web-gateway site is not held" null "$(api GET /api/v1/sites/site010 >/dev/null; body .reason)"

t0=$SECONDS
rm "$T/www/healthz"		# the web gateway answers 404 now
for _ in $(seq 1 50); do
	[ "$(ctl -j health list | jq -r '.services["web-gateway"].healthy')" = false ] && break
	sleep 0.2
done
echo "web gateway unhealthy after $((SECONDS - t0)) s (interval 1 s, fall 2)"
check "web1 down" down "$(ctl -j health list | jq -r '.checks[] | select(.name == "web1") | .state')"
check "and why" "HTTP 404, not 200" "$(ctl -j health list | jq -r '.checks[] | select(.name == "web1") | .last')"
check "fw1 (TCP) still up" up "$(ctl -j health list | jq -r '.checks[] | select(.name == "fw1") | .state')"
api GET /api/v1/sites/site010 >/dev/null
check "a web-gateway site is held down" down "$(body .status)"
check "with the reason" 1 "$(body .reason | grep -c '^downstream web-gateway unhealthy since ')"
check "site show says it" 1 "$(ctl site show site010 | grep -c 'status        down: downstream web-gateway unhealthy since')"
check "site list -o reason" 1 "$(ctl site list --name site010 -o name,status,reason | grep -c 'downstream web-gateway unhealthy')"
api GET /metrics >/dev/null
check "metrics: web-gateway unhealthy" 0 "$(sed -n 's/^espgate_downstream_healthy{service="web-gateway"} //p' "$T/body")"

echo ok >"$T/www/healthz"
t0=$SECONDS
for _ in $(seq 1 50); do
	[ "$(ctl -j health list | jq -r '.services["web-gateway"].healthy')" = true ] && break
	sleep 0.2
done
echo "web gateway healthy again after $((SECONDS - t0)) s (rise 2)"
check "web1 up again" up "$(ctl -j health list | jq -r '.checks[] | select(.name == "web1") | .state')"
check "the site no longer held" null "$(api GET /api/v1/sites/site010 >/dev/null; body .reason)"

kill "$web"; wait "$web" 2>/dev/null || true; web=""
for _ in $(seq 1 50); do
	[ "$(ctl -j health list | jq -r '.services["cloud-firewall"].healthy')" = false ] && break
	sleep 0.2
done
check "the service gone: fw1 down, connection refused" "down connect: Connection refused" \
	"$(ctl -j health list | jq -r '.checks[] | select(.name == "fw1") | "\(.state) \(.last)"')"
check "a cloud-firewall site is held" down "$(api GET /api/v1/sites/branch1 >/dev/null; body .status)"
check "DELETE /health/fw1" 200 "$(api DELETE /api/v1/health/fw1)"
check "its service healthy again (no check left down)" true \
	"$(ctl -j health list | jq -r '.services["cloud-firewall"].healthy')"
check "DELETE /health/fw1 again: 404" 404 "$(api DELETE /api/v1/health/fw1)"
check "the checks are kept in the store" 1 "$(sqlite3 "$DB" 'SELECT count(*) FROM health_checks')"

echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
