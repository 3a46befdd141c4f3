#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh BUILD SECONDS HARNESS... - run each libFuzzer harness for SECONDS
# from its seeds (tests/fuzz/seeds/NAME, and for fuzz_ike the ones
# ike_seeds writes), into a corpus under BUILD/fuzz/corpus/NAME that grows
# from run to run. A crash, leak or sanitizer report fails the run and
# names the input that caused it (BUILD/fuzz/crash-NAME-*).
set -eu
BUILD=$(cd "${1:?usage: $0 BUILD SECONDS HARNESS...}" && pwd)
SECS=${2:?seconds}
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
fails=0

for bin in "$@"; do
	name=$(basename "$bin")
	short=${name#fuzz_}
	corpus=$BUILD/fuzz/corpus/$name
	seeds=$BUILD/fuzz/seeds/$name
	mkdir -p "$corpus" "$seeds"
	if [ -d "$HERE/seeds/$short" ]; then
		cp "$HERE/seeds/$short"/* "$seeds/"
	fi
	if [ "$short" = ike ]; then
		"$BUILD/fuzz/ike_seeds" "$seeds"
	fi
	log=$BUILD/fuzz/$name.log
	rc=0
	# -rss_limit_mb: ASan's quarantine alone is 256 MB
	"$bin" -max_total_time="$SECS" -print_final_stats=1 -rss_limit_mb=4096 \
		-artifact_prefix="$BUILD/fuzz/crash-$name-" "$corpus" "$seeds" \
		>"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	per_s=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	if [ "$rc" -ne 0 ]; then
		echo "not ok: $name: exit $rc after ${execs:-?} executions (expected 0); the report:"
		grep -A20 -m1 'ERROR: \|runtime error\|==ERROR\|deadly signal' "$log" | head -30
		ls "$BUILD"/fuzz/crash-"$name"-* 2>/dev/null | sed 's/^/  input: /'
		fails=$((fails + 1))
	else
		echo "ok: $name: ${execs:-0} executions in ${SECS} s (${per_s:-0}/s), coverage ${cov:-0} edges, corpus $(find "$corpus" -type f | wc -l) inputs"
	fi
done
[ "$fails" -eq 0 ]
