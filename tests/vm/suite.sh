#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# suite.sh: run the VM tests, each in its own fresh VM boot (tests/vm/vm.sh).
#
#   tests/vm/suite.sh BUILD_DIR
#
# Runs every tests/vm/t_*.sh in name order, or only those named in
# VM_TESTS="t_10_foo t_20_bar" (".sh" optional). Each test is started from
# the repo root as `tests/vm/t_NN_name.sh BUILD_DIR` (absolute path), as root
# inside the VM. VM_TIMEOUT sets the per-test timeout in seconds (default
# 600). Prints "-- name" before and "== name: PASS (Ns)" or
# "== name: FAIL (Ns, ...)" after each test, the total wall time, each failed
# test's failing lines and last lines again (its whole output is kept in
# BUILD_DIR/vm/logs/NAME.log), and last a line "N passed, N failed". Exits 1 if any test failed (or none ran), 2 on
# a usage error.
set -eu

# Step 1: arguments and paths.
if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mkdir -p "$1"
build=$(cd "$1" && pwd)
timeout_s=${VM_TIMEOUT:-600}
cd "$repo"

# Step 2: the test list, sorted by name, or VM_TESTS as given.
export LC_ALL=C
tests=()
if [ -n "${VM_TESTS:-}" ]; then
	for t in $VM_TESTS; do
		t=${t##*/}
		tests+=("${t%.sh}")
	done
else
	for f in tests/vm/t_*.sh; do
		[ -e "$f" ] || continue
		t=${f##*/}
		tests+=("${t%.sh}")
	done
fi

# Libreswan, the second real peer, is unpacked into the build cache on the
# host (the guest's / is read-only); a test that needs it fails without it.
"$here/libreswan.sh" "$build" ||
	echo "vm suite: Libreswan is not available: its tests will fail" >&2

# Step 3: run each test in its own VM and report it.
passed=0
failed=0
failed_names=""
logs=$build/vm/logs
rm -rf "$logs"
mkdir -p "$logs"
suite_start=$(date +%s)
for t in "${tests[@]}"; do
	f="tests/vm/$t.sh"
	if [ ! -f "$f" ]; then
		echo "== $t: FAIL (0s, no such test $f)"
		failed=$((failed + 1))
		failed_names="$failed_names $t"
		continue
	fi
	echo "-- $t"
	start=$(date +%s)
	# The output is also kept, so that a failure's own lines can be repeated
	# in the summary: CI shows only the tail of a long run.
	set +e
	"$here/vm.sh" --build "$build" --timeout "$timeout_s" -- "$f" "$build" 2>&1 |
		tee "$logs/$t.log"
	rc=${PIPESTATUS[0]}
	set -e
	secs=$(($(date +%s) - start))
	if [ "$rc" = 0 ]; then
		echo "== $t: PASS (${secs}s)"
		passed=$((passed + 1))
	else
		case $rc in
		124) why="timeout after ${timeout_s}s" ;;
		125) why="the VM reported no exit status" ;;
		*) why="exit $rc" ;;
		esac
		echo "== $t: FAIL (${secs}s, $why)"
		failed=$((failed + 1))
		failed_names="$failed_names $t"
	fi
done

# Step 4: summary; the last line is exactly "N passed, N failed".
echo "vm suite: total wall time $(($(date +%s) - suite_start))s"
[ -z "$failed_names" ] || echo "vm suite: failed:$failed_names"
for t in $failed_names; do
	[ -f "$logs/$t.log" ] || continue
	echo "vm suite: $t, what failed (all of it in $logs/$t.log):"
	grep -E '^(not ok|FAIL|vm:|vm-console:)' "$logs/$t.log" | head -n 20 | sed 's/^/    /'
	echo "vm suite: $t, its last lines:"
	tail -n 8 "$logs/$t.log" | sed 's/^/    /'
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
