#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm_ike.sh BUILD - IKE responders side by side, in the VM (real XFRM: every
# Child SA is installed in the kernel by both), one generator (tools/ikeload,
# tests/vm/load.sh), one proposal: IKE AES-CBC-256/SHA2-256/MODP-2048, ESP
# AES-CBC-256/HMAC-SHA2-256-128, one Child SA. Run by `make bench` through
# tests/vm/vm.sh; prints the figures and one "BENCH-JSON {...}" line each.
#
#   1. full handshakes/s and latency, 200 branches, 32 in flight, 15 s:
#      charon 5.9.8, ipsecd --workers 1, ipsecd (a worker per core)
#      and the CPU seconds each responder used, against the DH ceiling
#      of the same VM (openssl speed ffdh2048)
#   2. memory: RSS growth with 1,000 established IKE SAs, and with the
#      half-open IKE SAs a 20 s IKE_SA_INIT flood leaves (cookies off)
#   3. a flood of 10,000 IKE_SA_INIT/s from 100 sites' addresses (spoofed
#      or hostile sites) while 20 other sites connect: how many come up and
#      how long it takes, with each responder's own defences on
#
# The VM is TCG-emulated (no KVM on these machines): absolute figures are
# several times below the host's; the two responders share the same 2 vCPUs
# with the generator, which is why CPU seconds are reported.
set -eu
. "$(dirname "$0")/../vm/lib.sh"
. "$(dirname "$0")/../vm/load.sh"

NB=1000			# branches: addresses and sites
HS_BR=200 HS_C=32 HS_S=15
FLOOD_RATE=10000 FLOOD_S=20 REAL=20 REAL_FIRST=900
load_topo $NB

emit() { echo "BENCH-JSON $1"; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }

say "DH ceiling of this VM: openssl speed ffdh2048 (one core)"
dh=$(openssl speed -seconds 3 ffdh2048 2>/dev/null | awk '/2048 bits ffdh/ { print $NF }')
echo "ffdh2048 derive: $dh op/s per core"
emit "{\"test\":\"dh_ceiling\",\"ffdh2048_ops_per_s\":$dh}"

# handshakes NAME PID: the 15 s run, its report, the responder's CPU
handshakes() {
	local name=$1 pid=$2 c0 c1
	c0=$(proc_cpu "$pid")
	ikeload_run "hs-$name.json" -n $HS_BR -c $HS_C -T 2 -d $HS_S --timeout 3000
	c1=$(proc_cpu "$pid")
	emit "{\"test\":\"handshakes\",\"responder\":\"$name\",\"cpu_s\":$(sub "$c1" "$c0"),\"ikeload\":$(cat "$T/hs-$name.json")}"
}

# established NAME PID COUNT_CMD: RSS growth for NB IKE SAs, each with its
# Child SA; COUNT_CMD prints how many IKE SAs the responder holds
established() {
	local name=$1 pid=$2 r0 r1 n
	r0=$(proc_rss "$pid")
	ikeload_run "est-$name.json" -n $NB -N $NB -c 32 -T 2 --timeout 3000 >/dev/null
	sleep 2
	r1=$(proc_rss "$pid")
	n=$($3)
	echo "$name: $n established IKE SAs, RSS $r0 -> $r1 kB"
	emit "{\"test\":\"established\",\"responder\":\"$name\",\"ike_sas\":$n,\"rss_kb_before\":$r0,\"rss_kb_after\":$r1}"
}

# half_open NAME PID COUNT_CMD: RSS growth under a 20 s flood of new
# IKE_SA_INIT (never continued) from 100 branches at 400/s
half_open() {
	local name=$1 pid=$2 r0 r1 n
	r0=$(proc_rss "$pid")
	ikeload_run "ho-$name.json" -n 100 --flood 400 -d 20 >/dev/null
	r1=$(proc_rss "$pid")
	n=$($3)
	echo "$name: $n half-open IKE SAs after the flood, RSS $r0 -> $r1 kB"
	emit "{\"test\":\"half_open\",\"responder\":\"$name\",\"half_open\":$n,\"rss_kb_before\":$r0,\"rss_kb_after\":$r1,\"ikeload\":$(cat "$T/ho-$name.json")}"
}

# flood NAME: the flood from sites 0-99 and, 3 s into it, REAL other sites
# each connecting once
flood() {
	local name=$1
	ikeload_run "fl-$name.json" -n 100 --flood $FLOOD_RATE -d $FLOOD_S >/dev/null &
	local fl=$!
	sleep 3
	ikeload_run "real-$name.json" -s "10.200.$(((REAL_FIRST + 1) / 256)).$(((REAL_FIRST + 1) % 256))" \
		-k $REAL_FIRST -n $REAL -N $REAL -c $REAL --timeout 1000 --retries 6
	wait "$fl"
	cat "$T/fl-$name.json"
	emit "{\"test\":\"flood\",\"responder\":\"$name\",\"flood\":$(cat "$T/fl-$name.json"),\"real\":$(cat "$T/real-$name.json")}"
}

swan_sas() { swan resp --stats | sed -n 's/^IKE_SAs: \([0-9]*\) total.*/\1/p'; }
swan_half() { swan resp --stats | sed -n 's/^IKE_SAs: .* \([0-9]*\) half-open.*/\1/p'; }
charon_stop() {
	local pid i
	pid=$(charon_pid)
	kill "$pid"
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	die "charon $pid did not stop"
}
ipsecd_sas() { ctl -j sa list | jq '[.[] | select(.state == "established")] | length'; }
ipsecd_half() { ctl -j status | jq .ike.half_open; }

say "charon 5.9.8 (kernel-netlink: Child SAs installed)"
charon_responder
handshakes charon "$(charon_pid)"
established charon "$(charon_pid)" swan_sas
charon_stop
SW_CHARON_EXTRA="cookie_threshold = 1000000
		block_threshold = 1000000" charon_responder
half_open charon "$(charon_pid)" swan_half
charon_stop
charon_responder
flood charon
charon_stop

say "ipsecd, one DH worker"
start_ipsecd pop --iface eth0 --local-addr 198.51.100.1 --pop POP1 --workers 1
load_sites $NB
handshakes ipsecd-1w "$DAEMON_PID"
stop_ipsecd INT

say "ipsecd, a DH worker per core"
start_ipsecd pop --iface eth0 --local-addr 198.51.100.1 --pop POP1
handshakes ipsecd "$DAEMON_PID"
established ipsecd "$DAEMON_PID" ipsecd_sas
stop_ipsecd INT
start_ipsecd pop --iface eth0 --local-addr 198.51.100.1 --pop POP1 \
	--cookie-threshold 200000 --max-half-open-src 65535 --max-half-open 200000
half_open ipsecd "$DAEMON_PID" ipsecd_half
stop_ipsecd INT
start_ipsecd pop --iface eth0 --local-addr 198.51.100.1 --pop POP1
flood ipsecd
stop_ipsecd INT
