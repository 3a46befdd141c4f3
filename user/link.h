/* SPDX-License-Identifier: GPL-2.0 */
/*
 * link.h - rtnetlink (libmnl): XFRM interfaces, VRFs, addresses, routes,
 * rules, and the few sysctls the per-site design needs.
 *
 * Design: sites are isolated from each other, and two sites may use the
 * same inner network (every branch may have 192.168.1.0/24 or 10.1.0.0/24).
 *
 *   default VRF (main table)              per site S
 *   +-----------------------------+      +--------------------------------+
 *   | NIC 192.0.2.1               |      | VRF eg-v<S>, table 1000 + n    |
 *   | UDP 4500: IKE + ESP-in-UDP  |      |   100.64.0.1/32 (probe, local) |
 *   +-----------------------------+      |   <TSi of S> dev eg-x<S>       |
 *        | ESP, SA if_id S               |  +--------------------------+  |
 *        +------------------------------>|  | xfrmi eg-x<S>, if_id S   |  |
 *          <-- SA if_id S, OUT policy ---|  +--------------------------+  |
 *                                        +--------------------------------+
 *
 *  - One XFRM interface per site, name "eg-x<site id>", if_id = site id,
 *    enslaved to a per-site VRF "eg-v<site id>" whose table (1000 + a
 *    per-site number) routes the site's inner ranges (the peer's TSi) via
 *    that xfrm interface.
 *  - The site's XFRM SAs and policies carry the same if_id (xfrm.h), so
 *    identical selectors of two sites never collide: an outbound packet
 *    only sees the policies of the interface it was routed to, an inbound
 *    packet decrypted by an SA with if_id S appears on eg-x<S>, hence in
 *    VRF S, and is checked against S's IN/FWD policies only.
 *  - The outer (ESP/UDP) packets stay in the default VRF: the xfrm
 *    interfaces are created without IFLA_XFRM_LINK (optional since 5.x),
 *    so the outer route lookup is made in the main table.
 *  - The POP's probe IP (e.g. 100.64.0.1/32) is an address of every VRF
 *    device: it is local in every site table, so an ICMP echo from a
 *    site's LAN to it is answered, and the reply is routed by that site's
 *    table, i.e. back through that same site's tunnel.
 *  - Services on the POP listen unbound (default VRF) with
 *    net.ipv4.{tcp,udp,raw}_l3mdev_accept=1 (eg_l3mdev_accept_enable()), so
 *    they accept from every VRF; an accepted TCP socket is bound to the
 *    VRF the SYN came from (SO_BINDTODEVICE reads back "eg-v<S>"), and its
 *    replies follow that VRF (tests/vm/t_30_xfrm.sh proves both). UDP
 *    servers must also send with the VRF they received on (IP_PKTINFO);
 *    that part is not tested here.
 *  - ESP-in-UDP is only decapsulated while a UDP socket bound to port
 *    4500 with UDP_ENCAP_ESPINUDP is open in the namespace (ipsecd's IKE
 *    socket).
 *  - The kernel adds the "l3mdev" FIB rule (pref 1000) with the first VRF;
 *    nothing else is needed in the rule list.
 *
 * Order to bring a site up (eg_site_link_add() does steps 1-5): 1 create
 * the VRF, 2 set it up, 3 create the xfrm interface enslaved to it, 4 set
 * it up, 5 put the probe address on the VRF; then 6 install the SAs and
 * policies with the if_id, 7 route the site's inner ranges into the VRF
 * table via the xfrm interface (eg_route_add()).
 * Deleting the two links removes their addresses and routes with them.
 *
 * All functions open a short-lived NETLINK_ROUTE socket in the caller's
 * network namespace, wait for the kernel's ACK, and return 0 (or an
 * ifindex where documented) or -errno. The kernel's text for the last
 * refusal in this thread is eg_link_errmsg(). Addresses are IPv4 in
 * network byte order.
 */
#ifndef EG_LINK_H
#define EG_LINK_H

#include <stdint.h>

/* Site ids used as if_id and in names must be 1..UINT32_MAX ("eg-x4294967295"
 * still fits IFNAMSIZ). */
#define EG_XFRMI_FMT		"eg-x%u"	/* xfrm interface of site id */
#define EG_VRF_FMT		"eg-v%u"	/* VRF of site id */
#define EG_VRF_TABLE_BASE	1000		/* table = base + per-site number */

/* RTM_NEWLINK kind "xfrm" with IFLA_XFRM_IF_ID (if_id != 0), enslaved to
 * master_ifindex (a VRF) unless 0. The link is created down. */
int eg_link_xfrmi_add(const char *name, uint32_t if_id, int master_ifindex);
/* RTM_NEWLINK kind "vrf" with IFLA_VRF_TABLE = table. Created down. */
int eg_link_vrf_add(const char *name, uint32_t table);
int eg_link_set_up(const char *name);
/* Enslave to master_ifindex, or release from its master with 0. */
int eg_link_set_master(const char *name, int master_ifindex);
int eg_link_del(const char *name);
/* ifindex (> 0) of name, or -ENODEV. */
int eg_link_ifindex(const char *name);

int eg_addr_add(const char *ifname, uint32_t addr, unsigned int prefixlen);
int eg_addr_del(const char *ifname, uint32_t addr, unsigned int prefixlen);

/*
 * Unicast route dst/dst_len in table (0 = main) out of oif (0 = any),
 * via gw (0 = directly connected, scope link). -EEXIST if present.
 */
int eg_route_add(uint32_t table, uint32_t dst, unsigned int dst_len,
		 int oif, uint32_t gw);
int eg_route_del(uint32_t table, uint32_t dst, unsigned int dst_len,
		 int oif, uint32_t gw);

/* FIB rule "pref prio [from src/src_len] [iif iifname] lookup table". */
int eg_rule_add(uint32_t prio, uint32_t src, unsigned int src_len,
		const char *iifname, uint32_t table);
int eg_rule_del(uint32_t prio, uint32_t src, unsigned int src_len,
		const char *iifname, uint32_t table);

/*
 * Write value to /proc/sys/<key>; key uses '/' as separator
 * ("net/ipv4/conf/eg-x7/disable_policy"), since interface names may
 * contain dots.
 */
int eg_sysctl_set(const char *key, const char *value);
/* net.ipv4.{tcp,udp,raw}_l3mdev_accept = 1 (see the design above). */
int eg_l3mdev_accept_enable(void);

/*
 * Site links: VRF EG_VRF_FMT(site_id) with table, xfrm interface
 * EG_XFRMI_FMT(site_id) with if_id = site_id enslaved to it, both up, and
 * probe_ip/32 (0 = none) on the VRF. Undone on failure. The xfrm
 * interface's ifindex (for routes) is returned through *xfrmi_ifindex.
 */
int eg_site_link_add(uint32_t site_id, uint32_t table, uint32_t probe_ip,
		     int *xfrmi_ifindex);
/* Delete both links of site_id; missing ones are not an error. */
int eg_site_link_del(uint32_t site_id);

/* Kernel text of the last refusal in the calling thread, "" if none. */
const char *eg_link_errmsg(void);

#endif /* EG_LINK_H */
