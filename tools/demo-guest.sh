#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# demo-guest.sh BUILD - the demo scenario, run inside the VM by demo.sh.
#
#  pc 10.1.0.10 -- 10.1.0.1 branch 192.0.2.2 -- 192.0.2.1 nat 198.51.100.7 --+
#  (LAN)           (strongSwan)                  (nft masquerade)            |
#                                                                  br0 [wan] +-- 198.51.100.1 pop
#                                            scanner 198.51.100.66 ----------+   (ipsecd + XDP,
#                                                                                 probe 100.64.0.1, httpd)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/vm/lib.sh"
. "$here/../tests/vm/topo.sh"

run() { echo; echo "\$ ipsecctl $*"; ctl "$@"; }
pause() { sleep "${DEMO_PAUSE:-1}"; }

say "1. topology: a branch office (PC + strongSwan router) behind a NAT, the POP, a scanner"
topo_branch_nat_pop

say "2. ipsecd on the POP NIC: XDP classifier (native), IKEv2 responder"
start_ipsecd pop --iface eth0 --local-addr 198.51.100.1 --pop POP1
run status
run pop add POP1 gateway 198.51.100.1 probe 100.64.0.1 location "Lab rack 1"
run site add branch1 identity branch1.example.com source-ip 198.51.100.7 \
	psk branch1-secret-0123456789 pop POP1 traffic-type user
run site list
mkdir -p "$T/www"
echo "hello from the POP, through the tunnel" >"$T/www/index.html"
in_ns pop busybox httpd -p 80 -h "$T/www"
pause

say "3. a scanner probes 500/4500: XDP drops it before the kernel sees it"
for i in 1 2 3 4 5; do
	udp_send scanner 198.51.100.1 500 "$IKE_HDR"
	udp_send scanner 198.51.100.1 4500 '\xde\xad\xbe\xef\0\0\0\x01'
done
sleep 0.3
run map dump eg_stats
pause

say "4. the branch's strongSwan brings up an IKEv2 tunnel through the NAT"
SW_ID=branch1.example.com SW_PSK=branch1-secret-0123456789 charon_start branch b1
swan b1 --initiate --child net --timeout 30 | grep -E "established|CHILD_SA" || true
run sa list
pause

say "5. the PC pings the POP's probe IP and fetches a page through the tunnel"
in_ns pc ping -c 3 100.64.0.1
echo "\$ curl http://100.64.0.1/ (from the PC)"
in_ns pc curl -s http://100.64.0.1/
run sa list
run site show branch1
run map dump eg_site_ctr
echo; echo "\$ ip -s xfrm state (POP)"
ip -n pop -s xfrm state | grep -E "^src|proto esp|bytes\)|if_id"
pause

say "6. limits on the decrypted traffic: a flow cap of 5 for this site"
CONNS=$BUILD/tests/vm/conns
in_ns pop "$CONNS" serve 8080 >"$T/serve.log" 2>&1 &
sleep 0.3
run site edit branch1 license cloud-firewall flow-cap 5
echo "\$ conns open 100.64.0.1 8080 8 (from the PC: 8 concurrent TCP connections)"
echo "(one slot is still held by the curl above, closing: FIN timeout 30 s)"
in_ns pc "$CONNS" open 100.64.0.1 8080 8 --hold 4 --timeout-ms 2500 --rst &
client=$!
sleep 3.5
run flows branch1
ctl site show branch1 | grep -E "limits|now  |inner"
wait "$client"
pause

say "7. the admin disables the site: ipsecd sends DELETE, the SAs and the XDP entry go"
run site disable branch1
sleep 1
run sa list
run site list
echo; echo "\$ ip xfrm state (POP)"; ip -n pop xfrm state
charon_wait b1 "received DELETE for IKE_SA" 5 && echo "branch log: received DELETE for IKE_SA"
in_ns pc ping -c 1 -W 1 100.64.0.1 >/dev/null 2>&1 || echo "PC: no tunnel, no ping (as expected)"

say "done: stopping ipsecd (XDP detached, maps unpinned)"
stop_ipsecd
