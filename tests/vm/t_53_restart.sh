#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_53_restart.sh - ipsecd restarts and the branch never notices (issue 9.6).
#
#   a. a tunnel from strongSwan, a ping every 0.2 s from the branch PC;
#   b. SIGTERM (what `systemctl restart` sends): no DELETE, the kernel keeps
#      the SAs, policies, interface and VRF, and, since UDP 500 and 4500
#      are held by the service manager (sockhold stands in for systemd's
#      ipsecd.socket), goes on decapsulating the NAT-T ESP while ipsecd is
#      down; ipsecd starts again and resumes the IKE SA from the store (same
#      SPIs, keys, message IDs), takes over the pinned maps (counters go
#      on) and replaces its XDP classifier atomically;
#   c. after the restart, strongSwan rekeys its Child SA and then its IKE SA,
#      ipsecd rekeys the Child SA itself, both sides check liveness: all
#      answered on the same IKE SA, charon never re-authenticates, 0 pings
#      lost from the first to the last;
#   d. `ipsecctl shutdown --teardown`: DELETE to the branch, nothing left in
#      the kernel or the store; the next start resumes nothing.
#
#  pc 10.1.0.10 --- branch (charon) --- nat (masquerade) --- pop (sockhold -> ipsecd + XDP)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"

OPTS="--dpd-delay 5 --dpd-timeout 20"
SOCKHOLD=$BUILD/tests/vm/sockhold
PIDF=$T/ipsecd.pid

# ipsecd_ready: the daemon sockhold started answers on its control socket
ipsecd_ready() {
	local _
	for _ in $(seq 1 100); do
		[ -s "$PIDF" ] && ctl status >/dev/null 2>&1 && IPID=$(cat "$PIDF") && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$T/ipsecd.log" >&2
	die "ipsecd did not start under sockhold"
}
# ipsecd_gone: SIGTERM to ipsecd (not sockhold), wait for its exit
ipsecd_gone() {
	local _
	[ "${1:-}" = nokill ] || kill -TERM "$IPID"
	for _ in $(seq 1 200); do
		kill -0 "$IPID" 2>/dev/null || return 0
		sleep 0.05
	done
	die "ipsecd $IPID did not stop"
}
held_4500() { ip netns exec pop ss -Huln 'sport = :4500' | wc -l; }

topo_branch_nat_pop
# sockhold is the shell's child (the cleanup's DAEMON_PID): SIGTERM to it
# stops ipsecd too
# shellcheck disable=SC2086 # OPTS is a list of options
nsenter --net=/run/netns/pop "$SOCKHOLD" "$PIDF" 198.51.100.1 \
	"$IPSECD" --db "$T/espgate.db" --socket "$T/ipsecd.sock" \
	--iface eth0 --local-addr 198.51.100.1 --pop POP1 $OPTS >"$T/ipsecd.log" 2>&1 &
DAEMON_PID=$!
ipsecd_ready
check "the sockets came from sockhold" 1 "$(grep -c 'socket activation: UDP 500 and 4500' "$T/ipsecd.log")"
site_branch1
export SW_ID=branch1.example.com SW_PSK=branch1-secret-0123456789 SW_DPD=5s
charon_start branch b1
swan b1 --initiate --child net --timeout 30 >"$T/init.out" 2>&1 || {
	cat "$T/init.out"; charon_log b1; die "tunnel did not come up"; }

# more_in_log NAME PATTERN N0: wait up to 10 s for more than N0 such lines
more_in_log() {
	local _
	for _ in $(seq 1 100); do
		[ "$(grep -c "$2" "$T/sw-$1/charon.log" || true)" -gt "$3" ] && { echo ok; return; }
		sleep 0.1
	done
	echo "failed"
}
n_in_log() { grep -c "$1" "$T/sw-b1/charon.log" || true; }
CHILD_UP='CHILD_SA net{[0-9]*} established'
IKE_REKEYED='IKE_SA pop\[[0-9]*\] rekeyed\|rekeyed IKE_SA'
ike_inits() { grep -c 'generating IKE_AUTH request' "$T/sw-b1/charon.log" || true; }
swan_spis() { swan b1 --list-sas --raw 2>/dev/null | grep -o 'initiator-spi=[0-9a-f]*\|responder-spi=[0-9a-f]*' | tr '\n' ' '; }
sa_count_db() { sqlite3 "$T/espgate.db" 'SELECT count(*) FROM ike_sas'; }
xdp_prog() { ip -n pop -d link show eth0 | grep -o 'prog/xdp id [0-9]*' | head -1; }

# ---- a. up, traffic --------------------------------------------------------------
say "a. tunnel up, ping every 0.2 s for the whole test"
ping_run 75 "$T/ping.out"
ping_t0=$(date +%s.%N)
at() { echo "$(date +%s.%N) $ping_t0" | awk '{ printf "%.1f", $1 - $2 }'; }
sleep 3
spi_r=$(sa | jq -r '.[0].spi_r')
swan0=$(swan_spis)
inits0=$(ike_inits)
echo "IKE SA $spi_r; charon: $swan0"
wait_check "a: the IKE SA is saved in the store" 1 5 sa_count_db

# ---- b. SIGTERM, start again --------------------------------------------------------
say "b. SIGTERM and start again"
states0=$(ip -n pop xfrm state | grep -o 'spi 0x[0-9a-f]*' | sort | tr '\n' ' ')
xdp0=$(xdp_prog)
esp_pkts() { ctl -j map dump eg_stats | jq .pass_esp.pkts; }
esp0=$(esp_pkts)
echo "SIGTERM at $(at) s"
ipsecd_gone
down_t=$(at)
check_ge "b: stopped with the tunnel kept" 1 "$(grep -c 'tunnels kept' "$T/ipsecd.log" || true)"
check "b: kernel SAs kept while ipsecd is down" "$states0" \
	"$(ip -n pop xfrm state | grep -o 'spi 0x[0-9a-f]*' | sort | tr '\n' ' ')"
check "b: policies kept" 3 "$(policies)"
check "b: the site's xfrm interface kept" 1 "$(ip -n pop -o link show type xfrm | wc -l)"
check "b: the record stays in the store" 1 "$(sa_count_db)"
check "b: the XDP classifier stays on eth0" "$xdp0" "$(xdp_prog)"
check "b: UDP 4500 (with UDP_ENCAP) still held by sockhold" 1 "$(held_4500)"
sleep 2	# down long enough for ESP to have to flow without ipsecd
echo "start at $(at) s (down since $down_t s)"
kill -HUP "$DAEMON_PID"
ipsecd_ready
echo "ready at $(at) s"
check_ge "b: XDP's counters carried over (ESP passed)" "$esp0" "$(esp_pkts)"
check_ge "b: the classifier replaced by the new ipsecd's" 1 \
	"$(xdp_prog | grep -vc "^$xdp0\$" || true)"
check "b: one IKE SA resumed" 1 "$(ctl -j status | jq .ike.resumed)"
check "b: the same IKE SA" "$spi_r" "$(sa | jq -r '.[0].spi_r')"
check "b: its Child SA with it" 1 "$(sa | jq '[.[0].children[] | select(.state == "installed")] | length')"
check "b: the XDP SPI back" 1 "$(ctl -j map dump eg_spis | jq length)"
check "b: kernel SAs unchanged" "$states0" \
	"$(ip -n pop xfrm state | grep -o 'spi 0x[0-9a-f]*' | sort | tr '\n' ' ')"
check "b: strongSwan heard no DELETE" 0 "$(grep -c 'received DELETE' "$T/sw-b1/charon.log" || true)"

# ---- c. the resumed IKE SA does everything ------------------------------------------
say "c. rekeys both ways and DPD on the resumed IKE SA"
n=$(n_in_log "$CHILD_UP")
swan b1 --rekey --child net >/dev/null 2>&1 || true
check "c: strongSwan rekeys its Child SA" ok "$(more_in_log b1 "$CHILD_UP" "$n")"
sleep 1
n=$(n_in_log "$CHILD_UP")
ctl sa rekey branch1 >/dev/null || true
check "c: ipsecd rekeys the Child SA" ok "$(more_in_log b1 "$CHILD_UP" "$n")"
echo "rekeys done at $(at) s"
sleep 1
n=$(n_in_log "$IKE_REKEYED")
swan b1 --rekey --ike pop >/dev/null 2>&1 || true
check "c: strongSwan rekeys its IKE SA" ok "$(more_in_log b1 "$IKE_REKEYED" "$n")"
check_ge "c: ipsecd counted the rekeys" 1 "$(ctl -j status | jq .ike.ike_rekeys)"
ping_wait "$T/ping.out"
echo "pings: $PING_SENT sent, $PING_LOST lost across the restart and the rekeys"
echo "lost at (s after the first): $(awk -F'icmp_seq=' '/icmp_seq=/ { split($2, a, " "); got[a[1]] = 1 }
	END { for (i = 1; i <= 375; i++) if (!got[i]) printf "%.1f ", (i - 1) * 0.2 }' "$T/ping.out")"
check "c: pings lost across the restart" 0 "$PING_LOST"
check_ge "c: pings sent" 370 "$PING_SENT"
# idle now: both ends check liveness (DPD 5 s) and get answers
sleep 14
check_ge "c: charon's liveness checks answered" 1 \
	"$(grep -c 'sending DPD request' "$T/sw-b1/charon.log" || true)"
check "c: charon gave up on nothing" 0 "$(grep -c 'giving up after' "$T/sw-b1/charon.log" || true)"
check "c: none of ours unanswered" 0 "$(ctl -j status | jq .ike.dpd_dead)"
check "c: charon never re-authenticated" "$inits0" "$(ike_inits)"
check "c: one IKE SA at each end" 1 "$(n_sa)"
check "c: charon has one IKE SA" 1 "$(swan b1 --list-sas --raw 2>/dev/null | grep -c 'pop {' || true)"
check "c: the store holds the rekeyed IKE SA only" 1 "$(sa_count_db)"
check "c: one pair of XFRM states" 2 "$(states)"
check "c: ping" ok "$(ping_probe)"

# ---- d. a full teardown ---------------------------------------------------------------
say "d. ipsecctl shutdown --teardown"
ctl shutdown --teardown >/dev/null
ipsecd_gone nokill
check "d: strongSwan got the DELETE" ok \
	"$(charon_wait b1 'received DELETE for IKE_SA' 5 && echo ok || echo failed)"
check "d: XFRM states" 0 "$(states)"
check "d: XFRM policies" 0 "$(policies)"
check "d: xfrm interfaces" 0 "$(ip -n pop -o link show type xfrm | wc -l)"
check "d: the store forgot the IKE SA" 0 "$(sa_count_db)"
check "d: the XDP classifier is off eth0" "" "$(xdp_prog)"
kill -HUP "$DAEMON_PID"
ipsecd_ready
check "d: the next start resumes nothing" 0 "$(ctl -j status | jq .ike.resumed)"

finish
