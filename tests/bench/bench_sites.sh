#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench_sites.sh BUILD [N] - the site store at scale, end to end through
# ipsecctl and ipsecd's control socket (maps loaded, no interface):
#   - import of 10,000 CSV rows (one transaction)
#   - ipsecd start with N sites (default 100,000) until the socket answers
#   - `site list` pages of 100, filtered and sorted, median and max of 20
# Writes BUILD/bench/sites.json.
set -eu
BUILD=$(cd "${1:-build}" && pwd)
N=${2:-100000}
T=$(mktemp -d /tmp/egbench.XXXXXX)
PIN=/sys/fs/bpf/egbench
DB=$T/sites.db
SOCK=$T/ipsecd.sock
pid=""
cleanup() {
	[ -n "${KEEP:-}" ] && cp "$DB" "$KEEP" 2>/dev/null;
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
ctl() { "$BUILD/ipsecctl" -s "$SOCK" -d "$DB" -P "$PIN" "$@"; }
now_ns() { date +%s%N; }
start() {
	"$BUILD/ipsecd" --db "$DB" --socket "$SOCK" --pin-root "$PIN" >"$T/log" 2>&1 &
	pid=$!
	until ctl status >/dev/null 2>&1; do
		kill -0 "$pid" 2>/dev/null || { cat "$T/log"; exit 1; }
		sleep 0.01
	done
}
stop() { kill "$pid"; wait "$pid" || true; pid=""; }

# gen FIRST COUNT: CSV rows with unique names, identities and addresses
gen() {
	awk -v first="$1" -v n="$2" 'BEGIN {
		print "tunnel name,source identity,source ip address,primary pop,failover pop,encryption cipher,psk,maximum bandwidth,enabled"
		for (i = first; i < first + n; i++) {
			a = int(i / 65536) + 11; b = int(i / 256) % 256; c = i % 256
			printf "site-%06d,site-%06d.branch.example.com,%d.%d.%d.%d,POP%d,POP%d,AES256-GCM,psk-for-site-%06d-0123,%d,%s\n",
				i, i, a, b, c == 0 ? 1 : c, (c == 0 ? 250 : 1), i % 4, (i + 1) % 4, i, 50 + i % 100,
				(i % 10 ? "true" : "false")
		}
	}'
}

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
start
for p in 0 1 2 3; do
	ctl pop add POP$p gateway 203.0.113.$((p + 1)) probe 100.64.0.$((p + 1)) \
		location "Rack $p" >/dev/null
done

echo "== import of 10,000 rows"
gen 0 10000 >"$T/10k.csv"
t0=$(now_ns)
ctl site import "$T/10k.csv" >/dev/null
t1=$(now_ns)
import_ms=$(( (t1 - t0) / 1000000 ))
echo "import 10000 rows: ${import_ms} ms (target < 2000)"

echo "== filling to $N sites"
if [ "$N" -gt 10000 ]; then
	gen 10000 $((N - 10000)) >"$T/rest.csv"
	ctl site import "$T/rest.csv" >/dev/null
fi
stop

echo "== ipsecd start with $N sites"
t0=$(now_ns)
start
t1=$(now_ns)
start_ms=$(( (t1 - t0) / 1000000 ))
echo "start with $N sites (store read, maps filled, socket up): ${start_ms} ms (target < 2000)"
check=$(ctl -j map list | jq '.[] | select(.name == "eg_sites") | .entries')
echo "eg_sites entries: $check"

echo "== site list, 20 queries"
queries=(
	"--page 1"
	"--page 500"
	"--page $((N / 100))"
	"--sort name:desc --page 37"
	"--name 0042"
	"--name 9 --page 20"
	"--identity branch --page 300"
	"--status disabled"
	"--status disabled --page 50"
	"--status down --sort name:desc --page 100"
	"--pop POP2"
	"--pop POP3 --page 90"
	"--traffic-type user --page 400"
	"--name site-0 --status down --pop POP1"
	"--name 7 --identity 77 --sort name:desc"
	"--per-page 10 --page 999"
	"--status up"
	"--pop POP0 --status disabled --page 3"
	"--name site-09 --page 2"
	"--traffic-type iot"
)
times=()
for q in "${queries[@]}"; do
	# shellcheck disable=SC2086
	t0=$(now_ns); ctl site list $q >/dev/null; t1=$(now_ns)
	times+=($(( (t1 - t0) / 1000 )))
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
med=$(echo "$sorted" | sed -n '10p')
max=$(echo "$sorted" | tail -1)
echo "site list (ipsecctl process + socket + query): median ${med} us, max ${max} us (target < 50000)"

cat >"$BUILD/bench/sites.json" <<EOF
{
  "sites": $N,
  "import_10k_rows_ms": $import_ms,
  "ipsecd_start_ms": $start_ms,
  "site_list_us": { "median": $med, "max": $max, "queries": ${#queries[@]} },
  "targets": { "import_10k_rows_ms": 2000, "ipsecd_start_ms": 2000, "site_list_us": 50000 }
}
EOF
echo "wrote $BUILD/bench/sites.json"
