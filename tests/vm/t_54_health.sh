#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# t_54_health.sh - downstream health checks against strongSwan (issue 11):
# the POP's web service (busybox httpd) stops, the branch's tunnel goes down
# with a DELETE and its reconnect gets AUTHENTICATION_FAILED in charon's log;
# the service starts again and the next attempt connects. Times measured.
#
#  pc -- branch (charon) -- nat -- pop (ipsecd + XDP, httpd 198.51.100.1:8080)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topo.sh"

topo_branch_nat_pop
pop_with_site		# license web-gateway (the default)
mkdir -p "$T/www"
echo ok >"$T/www/healthz"
web_start() {
	nsenter --net=/run/netns/pop busybox httpd -f -p 198.51.100.1:8080 -h "$T/www" &
	WEB=$!
}
web_start
ctl health add web1 http 198.51.100.1:8080 path /healthz interval 1 timeout 1 rise 2 fall 2 >/dev/null
healthy() { ctl -j health list | jq -r '.services["web-gateway"].healthy'; }
wait_check "the web gateway is healthy" true 10 healthy

export SW_ID=branch1.example.com SW_PSK=branch1-secret-0123456789
charon_start branch b1
swan b1 --initiate --child net --timeout 30 >"$T/init.out" 2>&1 || {
	cat "$T/init.out"; die "tunnel did not come up"; }
check "ping through the tunnel" ok "$(ping_probe)"

say "the web service stops"
t0=$SECONDS
kill "$WEB"; wait "$WEB" 2>/dev/null || true
wait_check "ipsecd: IKE SA taken down" 0 20 n_sa
down=$((SECONDS - t0))
echo "tunnel down ${down} s after the service stopped (interval 1 s, fall 2)"
charon_wait b1 "received DELETE for IKE_SA" 10 && check "charon got the DELETE" yes yes ||
	check "charon got the DELETE" yes no
check "no kernel state left" 0 "$(states)"
check "no policy left" 0 "$(policies)"
check "no SPI in XDP" 0 "$(ctl -j map dump eg_spis | jq length)"
check "ping fails" failed "$(ping_probe)"
check "site show says why" 1 \
	"$(ctl site show branch1 | grep -c 'down: downstream web-gateway unhealthy since')"

say "the branch reconnects: AUTHENTICATION_FAILED"
auth0=$(ctl -j status | jq .ike.auth_failed)
swan b1 --initiate --child net --timeout 20 >/dev/null 2>&1 && die "connected while unhealthy"
charon_wait b1 "received AUTHENTICATION_FAILED notify error" 5 &&
	check "charon: AUTHENTICATION_FAILED" yes yes || check "charon: AUTHENTICATION_FAILED" yes no
check "ipsecd counted it" $((auth0 + 1)) "$(ctl -j status | jq .ike.auth_failed)"
check_ge "ipsecd logged why" 1 \
	"$(grep -c 'downstream web-gateway unhealthy since .*: AUTHENTICATION_FAILED' "$T/ipsecd.log" || true)"
check "no IKE SA" 0 "$(n_sa)"

say "the service starts again"
t1=$SECONDS
web_start
wait_check "healthy again (rise 2)" true 15 healthy
up=$((SECONDS - t1))
swan b1 --initiate --child net --timeout 30 >"$T/init2.out" 2>&1 || {
	cat "$T/init2.out"; charon_log b1 | tail -20; }
back=$((SECONDS - t1))
check "the tunnel is back" 1 "$(n_sa)"
check "ping through it" ok "$(ping_probe)"
echo "service down -> tunnel down: ${down} s; service up -> healthy: ${up} s, tunnel up: ${back} s"
kill "$WEB" 2>/dev/null || true
finish
