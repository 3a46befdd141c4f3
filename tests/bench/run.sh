#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: every benchmark, each figure next to its baseline or peer
# measured in the same run. Results land in BUILD/bench/.
set -eu -o pipefail
BUILD=${1:-build}
mkdir -p "$BUILD/bench"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

echo "== XDP classifier vs floor and xdp-filter (BPF_PROG_TEST_RUN)"
"$BUILD/tests/bench/bench_xdp" -o "$BUILD/bench/xdp.json"
echo "wrote $BUILD/bench/xdp.json"

echo
echo "== inner TC program vs a bare TC program (BPF_PROG_TEST_RUN), flow table memory"
"$BUILD/tests/bench/bench_tc" -o "$BUILD/bench/tc.json"

echo
echo "== IKE responder handshake in-process vs its DH alone"
"$BUILD/tests/bench/bench_ike" -o "$BUILD/bench/ike.json"
echo "-- openssl speed ffdh2048 (OpenSSL's own DH, same machine, same run)"
openssl speed -seconds 2 ffdh2048 2>/dev/null | tail -3

echo
echo "== site store at scale (100,000 sites)"
"$(dirname "$0")/bench_sites.sh" "$BUILD" 100000

echo
echo "== IKE responders side by side in the VM: charon 5.9.8 vs ipsecd (tools/ikeload)"
# the VM is TCG-emulated: this part takes about ten minutes
if [ "${BENCH_VM:-1}" = 1 ]; then
	tests/vm/vm.sh --build "$BUILD" --timeout 1500 -- tests/bench/vm_ike.sh "$BUILD" |
		tee "$BUILD/bench/ike_vm.log"
	grep '^BENCH-JSON ' "$BUILD/bench/ike_vm.log" | sed 's/^BENCH-JSON //' |
		jq -s . >"$BUILD/bench/ike_vm.json"
	echo "wrote $BUILD/bench/ike_vm.json"
else
	echo "skipped (BENCH_VM=0)"
fi
