// SPDX-License-Identifier: GPL-2.0
/*
 * link.c - rtnetlink requests for the per-site links (see link.h).
 *
 * Each call opens its own NETLINK_ROUTE socket, sends one request with
 * NLM_F_ACK and reads until the ACK or the NLMSG_ERROR for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "link.h"

#define RT_BUFSZ	8192

static __thread char link_errmsg[128];

const char *eg_link_errmsg(void)
{
	return link_errmsg;
}

union rtbuf {
	struct nlmsghdr nlh;
	uint8_t b[RT_BUFSZ];
};

struct ack_ctx {
	int err;
};

static int extack_attr(const struct nlattr *a, void *data)
{
	(void)data;
	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		snprintf(link_errmsg, sizeof(link_errmsg), "%s",
			 mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int on_error(const struct nlmsghdr *nlh, void *data)
{
	struct ack_ctx *c = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		c->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	c->err = e->error < 0 ? e->error : -e->error;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) &&
	    mnl_nlmsg_size(MNL_ALIGN(off)) <= nlh->nlmsg_len)
		mnl_attr_parse(nlh, off, extack_attr, NULL);
	return MNL_CB_ERROR;
}

static int on_done(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_STOP;
}

static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_ERROR] = on_error,
	[NLMSG_DONE] = on_done,
};

/* Send one request on a fresh socket and wait for its ACK. */
static int rt_talk(struct nlmsghdr *nlh)
{
	struct ack_ctx c = { 0 };
	struct mnl_socket *nl;
	union rtbuf rb;
	uint32_t portid;
	int one = 1, ret;
	ssize_t n;

	link_errmsg[0] = '\0';
	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		n = mnl_socket_recvfrom(nl, rb.b, sizeof(rb.b));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		errno = 0;
		ret = mnl_cb_run2(rb.b, n, nlh->nlmsg_seq, portid, NULL, &c,
				  ctl_cbs, NLMSG_MIN_TYPE);
		if (ret == MNL_CB_ERROR) {
			ret = c.err ? c.err : (errno ? -errno : -EIO);
			break;
		}
		if (ret == MNL_CB_STOP)
			break;
	}
out:
	mnl_socket_close(nl);
	return ret;
}

static struct nlmsghdr *msg_start(union rtbuf *r, uint16_t type,
				  uint16_t flags, size_t hdrlen, void **hdr)
{
	struct nlmsghdr *nlh;

	memset(r, 0, sizeof(*r));
	nlh = mnl_nlmsg_put_header(r->b);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	*hdr = mnl_nlmsg_put_extra_header(nlh, hdrlen);
	return nlh;
}

/* ---- links ---------------------------------------------------------------- */

int eg_link_ifindex(const char *name)
{
	unsigned int idx;

	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	idx = if_nametoindex(name);
	return idx ? (int)idx : -ENODEV;
}

static int check_ifname(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	return (n == 0 || n >= IFNAMSIZ) ? -EINVAL : 0;
}

/* RTM_NEWLINK creating name of kind; data_type/data_val go in INFO_DATA. */
static int link_create(const char *name, const char *kind, uint16_t data_type,
		       uint32_t data_val, int master_ifindex)
{
	struct nlattr *info, *data;
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;
	union rtbuf r;

	if (check_ifname(name))
		return -EINVAL;
	nlh = msg_start(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
			sizeof(*ifi), (void **)&ifi);
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (master_ifindex > 0)
		mnl_attr_put_u32(nlh, IFLA_MASTER, master_ifindex);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, data_type, data_val);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return rt_talk(nlh);
}

int eg_link_xfrmi_add(const char *name, uint32_t if_id, int master_ifindex)
{
	if (!if_id)
		return -EINVAL;
	/* No IFLA_XFRM_LINK: the outer packets route in the default VRF. */
	return link_create(name, "xfrm", IFLA_XFRM_IF_ID, if_id,
			   master_ifindex);
}

int eg_link_vrf_add(const char *name, uint32_t table)
{
	if (!table)
		return -EINVAL;
	return link_create(name, "vrf", IFLA_VRF_TABLE, table, 0);
}

/* RTM_NEWLINK on an existing link, by ifindex. */
static struct nlmsghdr *link_msg(union rtbuf *r, uint16_t type, int ifindex,
				 struct ifinfomsg **ifi)
{
	struct nlmsghdr *nlh;

	nlh = msg_start(r, type, 0, sizeof(**ifi), (void **)ifi);
	(*ifi)->ifi_family = AF_UNSPEC;
	(*ifi)->ifi_index = ifindex;
	return nlh;
}

int eg_link_set_up(const char *name)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;
	union rtbuf r;
	int idx;

	idx = eg_link_ifindex(name);
	if (idx < 0)
		return idx;
	nlh = link_msg(&r, RTM_NEWLINK, idx, &ifi);
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return rt_talk(nlh);
}

int eg_link_set_master(const char *name, int master_ifindex)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;
	union rtbuf r;
	int idx;

	idx = eg_link_ifindex(name);
	if (idx < 0)
		return idx;
	if (master_ifindex < 0)
		return -EINVAL;
	nlh = link_msg(&r, RTM_NEWLINK, idx, &ifi);
	mnl_attr_put_u32(nlh, IFLA_MASTER, master_ifindex);
	return rt_talk(nlh);
}

int eg_link_del(const char *name)
{
	struct ifinfomsg *ifi;
	union rtbuf r;
	int idx;

	idx = eg_link_ifindex(name);
	if (idx < 0)
		return idx;
	return rt_talk(link_msg(&r, RTM_DELLINK, idx, &ifi));
}

/* ---- addresses ------------------------------------------------------------ */

static int addr_req(uint16_t type, uint16_t flags, const char *ifname,
		    uint32_t addr, unsigned int prefixlen)
{
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh;
	union rtbuf r;
	int idx;

	if (prefixlen > 32)
		return -EINVAL;
	idx = eg_link_ifindex(ifname);
	if (idx < 0)
		return idx;
	nlh = msg_start(&r, type, flags, sizeof(*ifa), (void **)&ifa);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = idx;
	mnl_attr_put_u32(nlh, IFA_LOCAL, addr);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, addr);
	return rt_talk(nlh);
}

int eg_addr_add(const char *ifname, uint32_t addr, unsigned int prefixlen)
{
	return addr_req(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifname, addr,
			prefixlen);
}

int eg_addr_del(const char *ifname, uint32_t addr, unsigned int prefixlen)
{
	return addr_req(RTM_DELADDR, 0, ifname, addr, prefixlen);
}

/* ---- routes --------------------------------------------------------------- */

static int route_req(bool add, uint32_t table, uint32_t dst,
		     unsigned int dst_len, int oif, uint32_t gw)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	union rtbuf r;

	if (dst_len > 32 || oif < 0)
		return -EINVAL;
	if (!table)
		table = RT_TABLE_MAIN;
	nlh = msg_start(&r, add ? RTM_NEWROUTE : RTM_DELROUTE,
			add ? NLM_F_CREATE | NLM_F_EXCL : 0,
			sizeof(*rtm), (void **)&rtm);
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = dst_len;
	rtm->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	if (add) {
		rtm->rtm_protocol = RTPROT_STATIC;
		rtm->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
		rtm->rtm_type = RTN_UNICAST;
	} else {
		/* match any protocol, scope and type */
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	}
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (dst_len)
		mnl_attr_put_u32(nlh, RTA_DST, dst);
	if (oif)
		mnl_attr_put_u32(nlh, RTA_OIF, oif);
	if (gw)
		mnl_attr_put_u32(nlh, RTA_GATEWAY, gw);
	return rt_talk(nlh);
}

int eg_route_add(uint32_t table, uint32_t dst, unsigned int dst_len,
		 int oif, uint32_t gw)
{
	if (!oif && !gw)
		return -EINVAL;
	return route_req(true, table, dst, dst_len, oif, gw);
}

int eg_route_del(uint32_t table, uint32_t dst, unsigned int dst_len,
		 int oif, uint32_t gw)
{
	return route_req(false, table, dst, dst_len, oif, gw);
}

/* ---- rules ---------------------------------------------------------------- */

static int rule_req(bool add, uint32_t prio, uint32_t src,
		    unsigned int src_len, const char *iifname, uint32_t table)
{
	struct fib_rule_hdr *frh;
	struct nlmsghdr *nlh;
	union rtbuf r;

	if (src_len > 32 || !table || (iifname && check_ifname(iifname)))
		return -EINVAL;
	nlh = msg_start(&r, add ? RTM_NEWRULE : RTM_DELRULE,
			add ? NLM_F_CREATE | NLM_F_EXCL : 0,
			sizeof(*frh), (void **)&frh);
	frh->family = AF_INET;
	frh->src_len = src_len;
	frh->table = table < 256 ? table : RT_TABLE_UNSPEC;
	frh->action = FR_ACT_TO_TBL;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, prio);
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	if (src_len)
		mnl_attr_put_u32(nlh, FRA_SRC, src);
	if (iifname)
		mnl_attr_put_strz(nlh, FRA_IIFNAME, iifname);
	return rt_talk(nlh);
}

int eg_rule_add(uint32_t prio, uint32_t src, unsigned int src_len,
		const char *iifname, uint32_t table)
{
	return rule_req(true, prio, src, src_len, iifname, table);
}

int eg_rule_del(uint32_t prio, uint32_t src, unsigned int src_len,
		const char *iifname, uint32_t table)
{
	return rule_req(false, prio, src, src_len, iifname, table);
}

/* ---- sysctl --------------------------------------------------------------- */

int eg_sysctl_set(const char *key, const char *value)
{
	char path[256];
	size_t len = strlen(value);
	ssize_t n;
	int fd, err = 0;

	if (!*key || strstr(key, ".."))
		return -EINVAL;
	if (snprintf(path, sizeof(path), "/proc/sys/%s", key) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

int eg_l3mdev_accept_enable(void)
{
	static const char *const keys[] = {
		"net/ipv4/tcp_l3mdev_accept",
		"net/ipv4/udp_l3mdev_accept",
		"net/ipv4/raw_l3mdev_accept",
	};
	size_t i;
	int err;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		err = eg_sysctl_set(keys[i], "1");
		if (err)
			return err;
	}
	return 0;
}

/* ---- site links ----------------------------------------------------------- */

int eg_site_link_add(uint32_t site_id, uint32_t table, uint32_t probe_ip,
		     int *xfrmi_ifindex)
{
	char vrf[IFNAMSIZ], xi[IFNAMSIZ], msg[sizeof(link_errmsg)];
	int vrf_idx, xi_idx, err;

	if (!site_id || !table)
		return -EINVAL;
	snprintf(vrf, sizeof(vrf), EG_VRF_FMT, site_id);
	snprintf(xi, sizeof(xi), EG_XFRMI_FMT, site_id);

	err = eg_link_vrf_add(vrf, table);
	if (err)
		return err;
	err = eg_link_set_up(vrf);
	if (err)
		goto fail_vrf;
	vrf_idx = eg_link_ifindex(vrf);
	if (vrf_idx < 0) {
		err = vrf_idx;
		goto fail_vrf;
	}
	err = eg_link_xfrmi_add(xi, site_id, vrf_idx);
	if (err)
		goto fail_vrf;
	err = eg_link_set_up(xi);
	if (err)
		goto fail_xi;
	xi_idx = eg_link_ifindex(xi);
	if (xi_idx < 0) {
		err = xi_idx;
		goto fail_xi;
	}
	if (probe_ip) {
		err = eg_addr_add(vrf, probe_ip, 32);
		if (err)
			goto fail_xi;
	}
	if (xfrmi_ifindex)
		*xfrmi_ifindex = xi_idx;
	return 0;
fail_xi:
	snprintf(msg, sizeof(msg), "%s", link_errmsg);
	eg_link_del(xi);
	goto undo_vrf;
fail_vrf:
	snprintf(msg, sizeof(msg), "%s", link_errmsg);
undo_vrf:
	eg_link_del(vrf);
	/* report the kernel's reason for the failure, not for the undo */
	snprintf(link_errmsg, sizeof(link_errmsg), "%s", msg);
	return err;
}

int eg_site_link_del(uint32_t site_id)
{
	char vrf[IFNAMSIZ], xi[IFNAMSIZ];
	int err, err2;

	snprintf(vrf, sizeof(vrf), EG_VRF_FMT, site_id);
	snprintf(xi, sizeof(xi), EG_XFRMI_FMT, site_id);
	err = eg_link_del(xi);
	if (err == -ENODEV)
		err = 0;
	err2 = eg_link_del(vrf);
	if (err2 == -ENODEV)
		err2 = 0;
	return err ? err : err2;
}
