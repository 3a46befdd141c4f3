// SPDX-License-Identifier: GPL-2.0
/*
 * test_tc_inner.c - the inner (TC) program under BPF_PROG_TEST_RUN.
 *
 *   private netns (unshare)
 *   ┌───────────────────────────────────────────────────────────────┐
 *   │ egt-web  egt-fw  egt-none  egt-both  egt-small ...  (TUN, L3)  │
 *   │    │ ifindex = the site, as eg-x<site> is in production      │
 *   │    ▼                                                          │
 *   │ BPF_PROG_TEST_RUN(tc_inner, ctx_in.ifindex, ctx_in.mark)      │
 *   │   eg_ifsite[ifindex] -> site; mark stands for the reqid       │
 *   └───────────────────────────────────────────────────────────────┘
 *
 * How the test stands in for production:
 *  - The site is the ifindex. test_run (6.18, and 5.x/6.1) honours
 *    ctx_in.ifindex but needs a device with that index in the caller's
 *    netns (ENODEV otherwise), so we unshare a netns and create TUN
 *    devices (L3, no header_ops, like an xfrm interface; this host kernel
 *    has no xfrmi).
 *  - test_run builds a TC skb with eth_type_trans() whatever the device:
 *    data_in must start with 14 bytes of Ethernet, skb->protocol comes from
 *    its EtherType and the network header is at byte 14; it refuses (EINVAL)
 *    data shorter than Ethernet + the IP header the EtherType announces
 *    (6.1 and 6.18 alike). The program reads headers relative to the
 *    network header, so it sees what it sees on an xfrmi, where skb->data
 *    starts at a 14-byte copy of the outer MAC header (6.1, NAT-T) and
 *    skb->protocol is set by XFRM.
 *  - There is no secpath, so bpf_skb_get_xfrm_state() fails; the rodata knob
 *    tun_from_mark makes the program take the tunnel (reqid) from skb->mark,
 *    which ctx_in may set.
 *  - Time: the sweeper takes `now` as an argument, so expiry is tested by
 *    sweeping at base + N seconds; the program's own view of age (revival of
 *    an expired entry, device epochs) is tested by moving an entry's
 *    last_seen back in the map.
 *
 * Parts: single-packet rules from a clean state (table); scenarios with
 * caps at cap-1/cap/cap+1, RST, timeouts per state, revival, stickiness,
 * purge (table of steps); the seed's default caps at 10,000; a random
 * churn that checks counts == entries after every step; a concurrent
 * program-vs-sweeper race; every packet truncated at every length.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "espgate.h"
#include "flows.h"
#include "tc_inner.skel.h"

#define PROBE	"100.64.0.1"	/* the POP's probe IP */
#define SERVER	"93.184.216.34"
#define DEV1	"10.1.0.11"
#define DEV2	"10.1.0.12"
#define DEV3	"10.1.0.13"

#define F_FIN	0x01
#define F_SYN	0x02
#define F_RST	0x04
#define F_ACK	0x10

/* ---- sites ------------------------------------------------------------- */

enum { S_WEB, S_FW, S_NONE, S_BOTH, S_SMALL, S_BIG, S_RACE, S_UNKNOWN,
       S_BADSLOT, NSITES };

static struct site {
	const char *ifname;
	__u32 id, slot, flags, flow_cap, dev_cap;
	int in_map;
	__u16 ports[4];
	int n_ports;
	int ifindex, tunfd;
} sites[NSITES] = {
	[S_WEB] = { "egt-web", 101, 3, EG_LIC_WEB, 0, 0, 1, { 8080, 8443 }, 2 },
	[S_FW] = { "egt-fw", 102, 4, EG_LIC_FW, 0, 0, 1 },
	[S_NONE] = { "egt-none", 103, 5, 0, 0, 0, 1 },
	[S_BOTH] = { "egt-both", 104, 6, EG_LIC_WEB | EG_LIC_FW, 0, 0, 1 },
	[S_SMALL] = { "egt-small", 105, 7, EG_LIC_FW, 3, 2, 1 },
	[S_BIG] = { "egt-big", 106, 8, EG_LIC_FW, 20000, 0, 1 },
	[S_RACE] = { "egt-race", 107, 9, EG_LIC_FW, 16, 4, 1 },
	[S_UNKNOWN] = { "egt-unknown", 0, 0, 0, 0, 0, 0 },
	[S_BADSLOT] = { "egt-badslot", 109, EG_MAX_SITES, EG_LIC_FW, 0, 0, 1 },
};

/* ---- packets ----------------------------------------------------------- */

/* What to put on the wire. Zero values mean the usual choice. */
struct pkt {
	int eth;		/* EtherType; 0 = IPv4 */
	int ver;		/* IP version nibble; 0 = 4 */
	int ihl;		/* 32-bit words; 0 = 5 */
	int proto;		/* 0 = TCP */
	const char *src;	/* 0 = DEV1 */
	const char *dst;	/* 0 = SERVER */
	unsigned frag_off;	/* host order, flags + offset */
	int sport, dport;	/* 0 = 40000, 443 */
	int flags;		/* TCP; 0 = ACK */
	int icmp_type, icmp_id;
	int pl_len;		/* bytes after the L4 header */
	int tot;		/* IP total length; 0 = the real one */
};

static int l4_len(const struct pkt *p)
{
	switch (p->proto) {
	case 0: case IPPROTO_TCP: return 20;
	case IPPROTO_UDP: case IPPROTO_ICMP: return 8;
	default: return 8;
	}
}

static int build(const struct pkt *p, unsigned char *buf, size_t cap)
{
	int ihl = p->ihl ? p->ihl : 5, proto = p->proto ? p->proto : IPPROTO_TCP;
	int l4 = l4_len(p), tot = ihl * 4 + l4 + p->pl_len, eth = p->eth ? p->eth : 0x0800;
	int sport = p->sport ? p->sport : 40000, dport = p->dport ? p->dport : 443;
	unsigned char *q = buf;
	__u32 a;
	int i;

	memset(buf, 0, cap);
	memcpy(q, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02", 12);
	q[12] = eth >> 8;
	q[13] = eth & 0xff;
	q += 14;
	if (eth == 0x86dd) {	/* IPv6 + UDP */
		q[0] = 0x60; q[5] = 8; q[6] = 17; q[7] = 64; q[23] = 1; q[39] = 2;
		q += 40;
		q[1] = 53; q[3] = 53; q[5] = 8;
		return q + 8 - buf;
	}
	if (eth == 0x0806) {	/* ARP request */
		memcpy(q, "\0\x01\x08\0\x06\x04\0\x01", 8);
		return q + 28 - buf;
	}
	q[0] = (p->ver ? p->ver : 4) << 4 | ihl;
	if (p->tot)
		tot = p->tot;
	q[2] = tot >> 8;
	q[3] = tot & 0xff;
	q[6] = p->frag_off >> 8;
	q[7] = p->frag_off & 0xff;
	q[8] = 64;
	q[9] = proto;
	inet_pton(AF_INET, p->src ? p->src : DEV1, &a);
	memcpy(q + 12, &a, 4);
	inet_pton(AF_INET, p->dst ? p->dst : SERVER, &a);
	memcpy(q + 16, &a, 4);
	for (i = 20; i < ihl * 4; i++)
		q[i] = 1;	/* NOP options */
	q += ihl * 4;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		q[0] = sport >> 8; q[1] = sport & 0xff;
		q[2] = dport >> 8; q[3] = dport & 0xff;
	}
	if (proto == IPPROTO_TCP) {
		q[12] = 5 << 4;
		q[13] = p->flags ? p->flags : F_ACK;
	} else if (proto == IPPROTO_UDP) {
		q[4] = (8 + p->pl_len) >> 8;
		q[5] = (8 + p->pl_len) & 0xff;
	} else if (proto == IPPROTO_ICMP) {
		q[0] = p->icmp_type;
		q[4] = p->icmp_id >> 8;
		q[5] = p->icmp_id & 0xff;
		q[7] = 1;
	}
	q += l4 + p->pl_len;
	return q - buf;
}

/* bytes a packet cannot do without: Ethernet, IP header, our L4 part */
static int needed(const struct pkt *p)
{
	int ihl = p->ihl ? p->ihl : 5, proto = p->proto ? p->proto : IPPROTO_TCP;
	int n = 14 + ihl * 4;

	if (p->frag_off & 0x1fff)
		return n;
	if (proto == IPPROTO_TCP)
		return n + 20;
	if (proto == IPPROTO_UDP || proto == IPPROTO_ICMP)
		return n + 8;
	return n;
}

/* ---- harness ----------------------------------------------------------- */

static struct tc_inner_bpf *skel;
static struct eg_flows *ft;
static int ncpus, pfd;
static int n_pass, n_fail, failures;
static const char *reason_names[] = EG_IN_REASON_NAMES;
static const char *to_names[] = { "syn", "est", "fin", "udp", "icmp", "dev" };

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("not ok: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failures++;
}

/* Every failing check names itself here too, whatever printed before. */
static void result(const char *name, int bad)
{
	if (bad) {
		n_fail++;
		printf("not ok: %s\n", name);
	} else {
		n_pass++;
		printf("ok: %s\n", name);
	}
}

static int mktun(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	/* a minimal /dev (the VM's) may lack the node; the driver is there */
	if (fd < 0 && errno == ENOENT) {
		mkdir("/dev/net", 0755);
		mknod("/dev/net/tun", S_IFCHR | 0600, makedev(10, 200));
		fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int run_pkt(int site, const unsigned char *buf, int len, __u32 mark,
		   __u32 *ret)
{
	struct __sk_buff ctx = { .ifindex = sites[site].ifindex, .mark = mark };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(pfd, &o))
		return -errno;
	*ret = o.retval;
	return 0;
}

static void stats_sum(__u64 out[EG_IN_REASON_MAX])
{
	int fd = bpf_map__fd(skel->maps.eg_in_stats);
	struct eg_ctr v[ncpus];
	__u32 k;
	int c;

	for (k = 0; k < EG_IN_REASON_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (c = 0; c < ncpus; c++)
			out[k] += v[c].pkts;
	}
}

static void site_ctr(int site, struct eg_in_ctr *out)
{
	memset(out, 0, sizeof(*out));
	if (sites[site].in_map && sites[site].slot < EG_MAX_SITES)
		eg_in_ctr_sum(bpf_map__fd(skel->maps.eg_in_ctr), sites[site].slot, out);
}

static __u64 site_alive(int site)
{
	struct eg_site_ctr v[ncpus];
	__u32 slot = sites[site].slot;
	__u64 m = 0;
	int c;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.eg_site_ctr), &slot, v))
		return 0;
	for (c = 0; c < ncpus; c++)
		if (v[c].last_alive_ns > m)
			m = v[c].last_alive_ns;
	return m;
}

static void counts(int site, struct eg_in_cnt *c)
{
	memset(c, 0, sizeof(*c));
	eg_flows_counts(ft, sites[site].slot, c);
}

/* Entries of a slot actually in the maps. */
static void entries(__u32 slot, __u64 *flows, __u64 *devs)
{
	int ff = bpf_map__fd(skel->maps.eg_flows), fd = bpf_map__fd(skel->maps.eg_devs);
	struct eg_flow_key fk, fn;
	struct eg_dev_key dk, dn;
	int have;

	*flows = *devs = 0;
	for (have = !bpf_map_get_next_key(ff, NULL, &fk); have; fk = fn) {
		*flows += fk.slot == slot;
		have = !bpf_map_get_next_key(ff, &fk, &fn);
	}
	for (have = !bpf_map_get_next_key(fd, NULL, &dk); have; dk = dn) {
		*devs += dk.slot == slot;
		have = !bpf_map_get_next_key(fd, &dk, &dn);
	}
}

/* The invariant: a site's counts are exactly its entries. */
static int exact(const char *what, int site)
{
	struct eg_in_cnt c;
	__u64 f, d;

	counts(site, &c);
	entries(sites[site].slot, &f, &d);
	if (c.flows != f || c.devs != d) {
		fail("%s: counts flows %llu devs %llu, entries %llu/%llu", what,
		     (unsigned long long)c.flows, (unsigned long long)c.devs,
		     (unsigned long long)f, (unsigned long long)d);
		return 0;
	}
	return 1;
}

/* Clean state: no flows, devices or counts; site counters zeroed. */
static void reset(void)
{
	struct eg_in_ctr zc[ncpus];
	struct eg_site_ctr zs[ncpus];
	int i;

	memset(zc, 0, sizeof(zc));
	memset(zs, 0, sizeof(zs));
	for (i = 0; i < NSITES; i++) {
		__u32 slot = sites[i].slot;

		if (!sites[i].in_map || slot >= EG_MAX_SITES)
			continue;
		if (eg_flows_purge_slot(ft, slot, NULL))
			fail("purge slot %u", slot);
		bpf_map_update_elem(bpf_map__fd(skel->maps.eg_in_ctr), &slot, zc, 0);
		bpf_map_update_elem(bpf_map__fd(skel->maps.eg_site_ctr), &slot, zs, 0);
	}
}

static struct eg_flow *flow_of(int site, const struct pkt *p, struct eg_flow *f,
			       struct eg_flow_key *k)
{
	unsigned char buf[256];
	int proto = p->proto ? p->proto : IPPROTO_TCP;

	build(p, buf, sizeof(buf));
	memset(k, 0, sizeof(*k));
	k->slot = sites[site].slot;
	memcpy(&k->saddr, buf + 26, 4);
	memcpy(&k->daddr, buf + 30, 4);
	k->proto = proto;
	if (proto == IPPROTO_ICMP) {
		k->sport = htons(p->icmp_id);
	} else {
		k->sport = htons(p->sport ? p->sport : 40000);
		k->dport = htons(p->dport ? p->dport : 443);
	}
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.eg_flows), k, f))
		return NULL;
	return f;
}

static int dev_of(int site, const char *src, struct eg_dev *d, struct eg_dev_key *k)
{
	k->slot = sites[site].slot;
	inet_pton(AF_INET, src ? src : DEV1, &k->saddr);
	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.eg_devs), k, d);
}

/* ---- 1. single packets from a clean state ------------------------------- */

struct tcase {
	const char *name;
	int site;
	struct pkt p;
	enum eg_in_reason reason;
	int flows, devs;	/* the site's counts afterwards */
	int probe;		/* a probe: stamps the site alive */
	int cls;		/* class of the flow made, +1; 0: no check */
};

#define P(...) { __VA_ARGS__ }
#define CLS(x) ((x) + 1)
#define ONE .flows = 1, .devs = 1	/* one flow and its device made */
#define T(n, st, pk, r, ...) { .name = n, .site = st, .p = pk, .reason = r, ##__VA_ARGS__ }
static const struct tcase cases[] = {
	/* web gateway license: TCP 80, 443, custom ports */
	T("web: tcp 443", S_WEB, P(.dport = 443), EG_IN_PASS_NEW, ONE, .cls = CLS(EG_TO_TCP_EST)),
	T("web: tcp 80", S_WEB, P(.dport = 80), EG_IN_PASS_NEW, ONE),
	T("web: custom port 8080", S_WEB, P(.dport = 8080), EG_IN_PASS_NEW, ONE),
	T("web: custom port 8443", S_WEB, P(.dport = 8443), EG_IN_PASS_NEW, ONE),
	T("web: tcp 22", S_WEB, P(.dport = 22), EG_IN_DROP_LIC_PORT),
	T("web: tcp 8081, not custom", S_WEB, P(.dport = 8081), EG_IN_DROP_LIC_PORT),
	T("web: tcp 443 as source port only", S_WEB, P(.sport = 443, .dport = 5000), EG_IN_DROP_LIC_PORT),
	T("web: udp 443", S_WEB, P(.proto = IPPROTO_UDP, .dport = 443), EG_IN_DROP_LIC_PROTO),
	T("web: udp 53", S_WEB, P(.proto = IPPROTO_UDP, .dport = 53), EG_IN_DROP_LIC_PROTO),
	T("web: icmp echo", S_WEB, P(.proto = IPPROTO_ICMP, .icmp_type = 8, .icmp_id = 7), EG_IN_DROP_LIC_PROTO),
	T("web: gre", S_WEB, P(.proto = 47), EG_IN_DROP_LIC_PROTO),
	/* cloud firewall: any TCP, UDP, ICMP */
	T("fw: tcp 22", S_FW, P(.dport = 22), EG_IN_PASS_NEW, ONE),
	T("fw: tcp 443", S_FW, P(.dport = 443), EG_IN_PASS_NEW, ONE),
	T("fw: udp 53", S_FW, P(.proto = IPPROTO_UDP, .dport = 53), EG_IN_PASS_NEW, ONE, .cls = CLS(EG_TO_UDP)),
	T("fw: icmp echo request", S_FW, P(.proto = IPPROTO_ICMP, .icmp_type = 8, .icmp_id = 7), EG_IN_PASS_NEW, ONE, .cls = CLS(EG_TO_ICMP)),
	T("fw: icmp dest unreachable, no flow", S_FW, P(.proto = IPPROTO_ICMP, .icmp_type = 3), EG_IN_PASS_NOFLOW),
	T("fw: icmp echo reply, no flow", S_FW, P(.proto = IPPROTO_ICMP, .icmp_type = 0, .icmp_id = 7), EG_IN_PASS_NOFLOW),
	T("fw: gre", S_FW, P(.proto = 47), EG_IN_DROP_LIC_PROTO),
	T("fw: sctp", S_FW, P(.proto = 132), EG_IN_DROP_LIC_PROTO),
	T("fw: esp inside the tunnel", S_FW, P(.proto = 50), EG_IN_DROP_LIC_PROTO),
	T("web+fw: udp 53", S_BOTH, P(.proto = IPPROTO_UDP, .dport = 53), EG_IN_PASS_NEW, ONE),
	T("web+fw: tcp 22", S_BOTH, P(.dport = 22), EG_IN_PASS_NEW, ONE),
	/* no license */
	T("none: tcp 443", S_NONE, P(.dport = 443), EG_IN_DROP_LIC_PROTO),
	T("none: udp 53", S_NONE, P(.proto = IPPROTO_UDP, .dport = 53), EG_IN_DROP_LIC_PROTO),
	/* the keepalive probe: always, no slot */
	T("probe: no-license site", S_NONE, P(.proto = IPPROTO_ICMP, .icmp_type = 8, .icmp_id = 9, .dst = PROBE), EG_IN_PASS_PROBE, .probe = 1),
	T("probe: web site", S_WEB, P(.proto = IPPROTO_ICMP, .icmp_type = 8, .icmp_id = 9, .dst = PROBE), EG_IN_PASS_PROBE, .probe = 1),
	T("probe: fw site, no flow", S_FW, P(.proto = IPPROTO_ICMP, .icmp_type = 8, .icmp_id = 9, .dst = PROBE), EG_IN_PASS_PROBE, .probe = 1),
	T("probe: with payload", S_NONE, P(.proto = IPPROTO_ICMP, .icmp_type = 8, .icmp_id = 9, .dst = PROBE, .pl_len = 56), EG_IN_PASS_PROBE, .probe = 1),
	T("probe ip: echo reply is no probe", S_NONE, P(.proto = IPPROTO_ICMP, .icmp_type = 0, .dst = PROBE), EG_IN_DROP_LIC_PROTO),
	T("probe ip: tcp 443 is a flow", S_WEB, P(.dport = 443, .dst = PROBE), EG_IN_PASS_NEW, ONE),
	T("probe ip: later fragment is no probe", S_NONE, P(.proto = IPPROTO_ICMP, .frag_off = 0x00b9, .dst = PROBE), EG_IN_DROP_LIC_PROTO),
	/* TCP flags on a new flow */
	T("tcp syn: embryonic class", S_FW, P(.flags = F_SYN), EG_IN_PASS_NEW, ONE, .cls = CLS(EG_TO_TCP_SYN)),
	T("tcp syn+ack: established class", S_FW, P(.flags = F_SYN | F_ACK), EG_IN_PASS_NEW, ONE, .cls = CLS(EG_TO_TCP_EST)),
	T("tcp fin of no flow: closing class", S_FW, P(.flags = F_FIN | F_ACK), EG_IN_PASS_NEW, ONE, .cls = CLS(EG_TO_TCP_FIN)),
	T("tcp rst of no flow: no slot", S_FW, P(.flags = F_RST), EG_IN_PASS_NOFLOW),
	T("tcp rst of no flow, web, wrong port", S_WEB, P(.flags = F_RST, .dport = 22), EG_IN_DROP_LIC_PORT),
	/* fragments */
	T("first fragment, web 443", S_WEB, P(.frag_off = 0x2000), EG_IN_PASS_NEW, ONE),
	T("later fragment, web tcp", S_WEB, P(.frag_off = 0x00b9), EG_IN_PASS_FRAG),
	T("last fragment, web tcp", S_WEB, P(.frag_off = 0x20b9), EG_IN_PASS_FRAG),
	T("later fragment, web udp", S_WEB, P(.proto = IPPROTO_UDP, .frag_off = 0x00b9), EG_IN_DROP_LIC_PROTO),
	T("later fragment, fw udp", S_FW, P(.proto = IPPROTO_UDP, .frag_off = 0x00b9), EG_IN_PASS_FRAG),
	T("later fragment, fw gre", S_FW, P(.proto = 47, .frag_off = 0x00b9), EG_IN_DROP_LIC_PROTO),
	/* headers */
	T("ip options (ihl 8), web 443", S_WEB, P(.ihl = 8), EG_IN_PASS_NEW, ONE),
	T("ip max options (ihl 15), fw udp", S_FW, P(.ihl = 15, .proto = IPPROTO_UDP, .dport = 53), EG_IN_PASS_NEW, ONE),
	T("ihl 4", S_FW, P(.ihl = 4), EG_IN_DROP_MALFORMED),
	T("version 6 in an IPv4 skb", S_FW, P(.ver = 6), EG_IN_DROP_MALFORMED),
	T("total length below ihl", S_FW, P(.tot = 16), EG_IN_DROP_MALFORMED),
	T("total length without the tcp header", S_FW, P(.tot = 30), EG_IN_DROP_MALFORMED),
	T("total length without the udp header", S_FW, P(.proto = IPPROTO_UDP, .tot = 24), EG_IN_DROP_MALFORMED),
	T("ipv6 skb", S_FW, P(.eth = 0x86dd), EG_IN_DROP_NOT_IPV4),
	T("arp skb", S_FW, P(.eth = 0x0806), EG_IN_DROP_NOT_IPV4),
	/* sites */
	T("interface of no site", S_UNKNOWN, P(.dport = 443), EG_IN_DROP_NO_SITE),
	T("site with a slot out of range", S_BADSLOT, P(.dport = 443), EG_IN_DROP_NO_SITE),
};

static void run_case(const struct tcase *t)
{
	__u64 before[EG_IN_REASON_MAX], after[EG_IN_REASON_MAX];
	struct eg_in_ctr sb[NSITES], sa[NSITES];
	int pass = t->reason < EG_IN_FIRST_DROP, i, bad = 0, err;
	unsigned char buf[256];
	int len = build(&t->p, buf, sizeof(buf));
	struct eg_in_cnt c;
	__u32 ret;

	reset();
	for (i = 0; i < NSITES; i++)
		site_ctr(i, &sb[i]);
	stats_sum(before);
	err = run_pkt(t->site, buf, len, 0, &ret);
	if (err) {
		fail("%s: test run: %s", t->name, strerror(-err));
		result(t->name, 1);
		return;
	}
	stats_sum(after);
	for (i = 0; i < NSITES; i++)
		site_ctr(i, &sa[i]);

	if (ret != (pass ? TC_ACT_OK : TC_ACT_SHOT)) {
		fail("%s: verdict %u", t->name, ret);
		bad = 1;
	}
	for (i = 0; i < EG_IN_REASON_MAX; i++) {
		__u64 want = i == (int)t->reason;

		if (after[i] - before[i] != want) {
			fail("%s: %s +%llu, want +%llu", t->name, reason_names[i],
			     (unsigned long long)(after[i] - before[i]),
			     (unsigned long long)want);
			bad = 1;
		}
	}
	for (i = 0; i < NSITES; i++) {
		int mine = i == t->site && t->reason != EG_IN_DROP_NO_SITE;
		struct { const char *n; __u64 d, want; } f[] = {
			{ "pkts", sa[i].pkts - sb[i].pkts, mine && pass },
			{ "new_flows", sa[i].new_flows - sb[i].new_flows, mine ? t->flows : 0 },
			{ "new_devs", sa[i].new_devs - sb[i].new_devs, mine ? t->devs : 0 },
			{ "probes", sa[i].probes - sb[i].probes, mine && t->probe },
			{ "moves", sa[i].moves - sb[i].moves, 0 },
		};
		unsigned j;

		for (j = 0; j < sizeof(f) / sizeof(f[0]); j++) {
			if (f[j].d != f[j].want) {
				fail("%s: site %d %s +%llu, want +%llu", t->name, i,
				     f[j].n, (unsigned long long)f[j].d,
				     (unsigned long long)f[j].want);
				bad = 1;
			}
		}
		for (j = 0; j < EG_IN_NDROP; j++) {
			__u64 d = sa[i].drop[j] - sb[i].drop[j];
			__u64 want = mine && t->reason == EG_IN_FIRST_DROP + j;

			if (d != want) {
				fail("%s: site %d drop %s +%llu", t->name, i,
				     reason_names[EG_IN_FIRST_DROP + j],
				     (unsigned long long)d);
				bad = 1;
			}
		}
		if (!sites[i].in_map || sites[i].slot >= EG_MAX_SITES)
			continue;
		if ((mine && t->probe) != (sa[i].last_probe_ns != 0) ||
		    (mine && t->probe) != (site_alive(i) != 0)) {
			fail("%s: site %d last_probe_ns %llu, last_alive_ns %llu",
			     t->name, i, (unsigned long long)sa[i].last_probe_ns,
			     (unsigned long long)site_alive(i));
			bad = 1;
		}
		counts(i, &c);
		if (c.flows != (__u64)(mine ? t->flows : 0) ||
		    c.devs != (__u64)(mine ? t->devs : 0)) {
			fail("%s: site %d counts %llu/%llu, want %d/%d", t->name, i,
			     (unsigned long long)c.flows, (unsigned long long)c.devs,
			     mine ? t->flows : 0, mine ? t->devs : 0);
			bad = 1;
		}
		if (!exact(t->name, i))
			bad = 1;
	}
	if (t->cls) {
		struct eg_flow f;
		struct eg_flow_key k;

		if (!flow_of(t->site, &t->p, &f, &k)) {
			fail("%s: no flow entry", t->name);
			bad = 1;
		} else if (f.tclass != t->cls - 1) {
			fail("%s: class %s, want %s", t->name, to_names[f.tclass % 6],
			     to_names[t->cls - 1]);
			bad = 1;
		}
	}
	result(t->name, bad);
}

/* ---- 2. scenarios -------------------------------------------------------- */

enum op {
	END = 0,
	SEND,		/* p on site with mark: expect reason, then counts */
	SWEEP,		/* sweeper at base + secs: expect counts */
	AGE_FLOW,	/* p's flow: last_seen -= secs */
	AGE_DEV,	/* p's source device: last_seen -= secs */
	CLASS,		/* p's flow has class `cls` (-1: none) */
	DEV,		/* p's source device: tunnel, prev_tunnel, moves */
	PURGE,		/* eg_flows_purge_slot() of site */
};

struct step {
	enum op op;
	int site;
	struct pkt p;
	__u32 mark;
	int secs;
	enum eg_in_reason reason;
	int flows, devs;	/* the site's counts afterwards; -1: no check */
	int moves;		/* the site's moves so far; -1: no check */
	int cls;
	__u32 tun, prev;
};

struct scenario {
	const char *name;
	struct step s[28];
};

#define UDP(port, ...) P(.proto = IPPROTO_UDP, .sport = (port), .dport = 53, ##__VA_ARGS__)
#define TCPF(port, fl, ...) P(.sport = (port), .flags = (fl), ##__VA_ARGS__)
#define SEND_(st, pkt, r, f, d) { .op = SEND, .site = st, .p = pkt, .reason = r, .flows = f, .devs = d, .moves = -1 }
#define SENDM(st, pkt, mk, r, f, d, mv) { .op = SEND, .site = st, .p = pkt, .mark = mk, .reason = r, .flows = f, .devs = d, .moves = mv }
#define SWEEP_(st, sec, f, d) { .op = SWEEP, .site = st, .secs = sec, .flows = f, .devs = d, .moves = -1 }

static const struct scenario scenarios[] = {
	{ "flow cap 3: cap-1, cap, cap+1; existing flows continue; sweep gives back", {
		SEND_(S_SMALL, UDP(1001), EG_IN_PASS_NEW, 1, 1),
		SEND_(S_SMALL, UDP(1002), EG_IN_PASS_NEW, 2, 1),
		SEND_(S_SMALL, UDP(1003), EG_IN_PASS_NEW, 3, 1),
		SEND_(S_SMALL, UDP(1004), EG_IN_DROP_FLOW_CAP, 3, 1),
		SEND_(S_SMALL, UDP(1001), EG_IN_PASS_FLOW, 3, 1),
		SEND_(S_SMALL, UDP(1003), EG_IN_PASS_FLOW, 3, 1),
		SEND_(S_SMALL, UDP(1005), EG_IN_DROP_FLOW_CAP, 3, 1),
		SWEEP_(S_SMALL, 0, 3, 1),
		SWEEP_(S_SMALL, EG_TO_UDP_S - 1, 3, 1),
		SWEEP_(S_SMALL, EG_TO_UDP_S + 1, 0, 1),
		SEND_(S_SMALL, UDP(1004), EG_IN_PASS_NEW, 1, 1),
		SEND_(S_SMALL, UDP(1005), EG_IN_PASS_NEW, 2, 1),
		SEND_(S_SMALL, UDP(1006), EG_IN_PASS_NEW, 3, 1),
		SEND_(S_SMALL, UDP(1007), EG_IN_DROP_FLOW_CAP, 3, 1),
		SWEEP_(S_SMALL, EG_TO_DEV_S + 1, 0, 0),
	} },
	{ "device cap 2: cap-1, cap, cap+1; known devices still open flows", {
		SEND_(S_SMALL, UDP(2001, .src = DEV1), EG_IN_PASS_NEW, 1, 1),
		SEND_(S_SMALL, UDP(2001, .src = DEV2), EG_IN_PASS_NEW, 2, 2),
		SEND_(S_SMALL, UDP(2001, .src = DEV3), EG_IN_DROP_DEV_CAP, 2, 2),
		SEND_(S_SMALL, UDP(2002, .src = DEV1), EG_IN_PASS_NEW, 3, 2),
		SEND_(S_SMALL, UDP(2003, .src = DEV3), EG_IN_DROP_FLOW_CAP, 3, 2),
		SWEEP_(S_SMALL, EG_TO_UDP_S + 1, 0, 2),
		SEND_(S_SMALL, UDP(2004, .src = DEV3), EG_IN_DROP_DEV_CAP, 0, 2),
		SWEEP_(S_SMALL, EG_TO_DEV_S - 1, 0, 2),
		SWEEP_(S_SMALL, EG_TO_DEV_S + 1, 0, 0),
		SEND_(S_SMALL, UDP(2004, .src = DEV3), EG_IN_PASS_NEW, 1, 1),
	} },
	{ "tcp rst frees the slot at once; rst of no flow opens none", {
		SEND_(S_SMALL, TCPF(3001, F_SYN), EG_IN_PASS_NEW, 1, 1),
		SEND_(S_SMALL, TCPF(3002, F_SYN), EG_IN_PASS_NEW, 2, 1),
		SEND_(S_SMALL, TCPF(3003, F_SYN), EG_IN_PASS_NEW, 3, 1),
		SEND_(S_SMALL, TCPF(3004, F_SYN), EG_IN_DROP_FLOW_CAP, 3, 1),
		SEND_(S_SMALL, TCPF(3002, F_RST), EG_IN_PASS_CLOSE, 2, 1),
		SEND_(S_SMALL, TCPF(3002, F_RST | F_ACK), EG_IN_PASS_NOFLOW, 2, 1),
		SEND_(S_SMALL, TCPF(3004, F_SYN), EG_IN_PASS_NEW, 3, 1),
		SEND_(S_SMALL, TCPF(3001, F_ACK), EG_IN_PASS_FLOW, 3, 1),
		SEND_(S_SMALL, TCPF(3001, F_RST | F_ACK), EG_IN_PASS_CLOSE, 2, 1),
		SWEEP_(S_SMALL, EG_TO_TCP_SYN_S + 1, 0, 1),
	} },
	{ "timeouts by state: syn 30, fin 30, icmp 30, udp 60, est 300, dev 310", {
		SEND_(S_FW, TCPF(4001, F_SYN), EG_IN_PASS_NEW, 1, 1),
		SEND_(S_FW, TCPF(4002, F_SYN), EG_IN_PASS_NEW, 2, 1),
		SEND_(S_FW, TCPF(4002, F_ACK), EG_IN_PASS_FLOW, 2, 1),
		SEND_(S_FW, TCPF(4003, F_SYN), EG_IN_PASS_NEW, 3, 1),
		SEND_(S_FW, TCPF(4003, F_ACK), EG_IN_PASS_FLOW, 3, 1),
		SEND_(S_FW, TCPF(4003, F_FIN | F_ACK), EG_IN_PASS_FLOW, 3, 1),
		SEND_(S_FW, TCPF(4003, F_ACK), EG_IN_PASS_FLOW, 3, 1),
		SEND_(S_FW, UDP(4004), EG_IN_PASS_NEW, 4, 1),
		SEND_(S_FW, P(.proto = IPPROTO_ICMP, .icmp_type = 8, .icmp_id = 4005), EG_IN_PASS_NEW, 5, 1),
		SEND_(S_FW, P(.proto = IPPROTO_ICMP, .icmp_type = 8, .icmp_id = 4005), EG_IN_PASS_FLOW, 5, 1),
		{ .op = CLASS, .site = S_FW, .p = TCPF(4001, 0), .cls = EG_TO_TCP_SYN },
		{ .op = CLASS, .site = S_FW, .p = TCPF(4002, 0), .cls = EG_TO_TCP_EST },
		{ .op = CLASS, .site = S_FW, .p = TCPF(4003, 0), .cls = EG_TO_TCP_FIN },
		SWEEP_(S_FW, 29, 5, 1),
		SWEEP_(S_FW, 31, 2, 1),
		{ .op = CLASS, .site = S_FW, .p = TCPF(4001, 0), .cls = -1 },
		{ .op = CLASS, .site = S_FW, .p = TCPF(4003, 0), .cls = -1 },
		SWEEP_(S_FW, EG_TO_UDP_S - 1, 2, 1),
		SWEEP_(S_FW, EG_TO_UDP_S + 1, 1, 1),
		SWEEP_(S_FW, EG_TO_TCP_EST_S - 1, 1, 1),
		SWEEP_(S_FW, EG_TO_TCP_EST_S + 1, 0, 1),
		SWEEP_(S_FW, EG_TO_DEV_S - 1, 0, 1),
		SWEEP_(S_FW, EG_TO_DEV_S + 1, 0, 0),
	} },
	{ "fin: closing class, acks keep it closing, a new syn reuses the ports", {
		SEND_(S_FW, TCPF(5001, F_SYN), EG_IN_PASS_NEW, 1, 1),
		SEND_(S_FW, TCPF(5001, F_SYN), EG_IN_PASS_FLOW, 1, 1),
		{ .op = CLASS, .site = S_FW, .p = TCPF(5001, 0), .cls = EG_TO_TCP_SYN },
		SEND_(S_FW, TCPF(5001, F_ACK), EG_IN_PASS_FLOW, 1, 1),
		{ .op = CLASS, .site = S_FW, .p = TCPF(5001, 0), .cls = EG_TO_TCP_EST },
		SEND_(S_FW, TCPF(5001, F_SYN), EG_IN_PASS_FLOW, 1, 1),
		{ .op = CLASS, .site = S_FW, .p = TCPF(5001, 0), .cls = EG_TO_TCP_EST },
		SEND_(S_FW, TCPF(5001, F_FIN | F_ACK), EG_IN_PASS_FLOW, 1, 1),
		{ .op = CLASS, .site = S_FW, .p = TCPF(5001, 0), .cls = EG_TO_TCP_FIN },
		SEND_(S_FW, TCPF(5001, F_ACK), EG_IN_PASS_FLOW, 1, 1),
		{ .op = CLASS, .site = S_FW, .p = TCPF(5001, 0), .cls = EG_TO_TCP_FIN },
		SEND_(S_FW, TCPF(5001, F_SYN), EG_IN_PASS_FLOW, 1, 1),
		{ .op = CLASS, .site = S_FW, .p = TCPF(5001, 0), .cls = EG_TO_TCP_SYN },
		SEND_(S_FW, TCPF(5001, F_FIN | F_ACK), EG_IN_PASS_FLOW, 1, 1),
		SWEEP_(S_FW, EG_TO_TCP_FIN_S - 1, 1, 1),
		SWEEP_(S_FW, EG_TO_TCP_FIN_S + 1, 0, 1),
	} },
	{ "expired but unswept: revived by its packet, keeps its slot", {
		SEND_(S_SMALL, UDP(6001), EG_IN_PASS_NEW, 1, 1),
		SEND_(S_SMALL, UDP(6002), EG_IN_PASS_NEW, 2, 1),
		SEND_(S_SMALL, UDP(6003), EG_IN_PASS_NEW, 3, 1),
		{ .op = AGE_FLOW, .site = S_SMALL, .p = UDP(6001), .secs = 1000 },
		SEND_(S_SMALL, UDP(6004), EG_IN_DROP_FLOW_CAP, 3, 1),
		SEND_(S_SMALL, UDP(6001), EG_IN_PASS_FLOW, 3, 1),
		SWEEP_(S_SMALL, 0, 3, 1),
		SEND_(S_SMALL, TCPF(6002, F_SYN), EG_IN_DROP_FLOW_CAP, 3, 1),
		{ .op = AGE_FLOW, .site = S_SMALL, .p = UDP(6002), .secs = 1000 },
		{ .op = AGE_DEV, .site = S_SMALL, .p = UDP(6002), .secs = 1000 },
		SEND_(S_SMALL, UDP(6002), EG_IN_PASS_FLOW, 3, 1),
		SWEEP_(S_SMALL, EG_TO_UDP_S + 1, 0, 1),
	} },
	{ "stickiness: a live device on another tunnel is counted, not dropped", {
		SENDM(S_FW, UDP(7001), 7, EG_IN_PASS_NEW, 1, 1, 0),
		{ .op = DEV, .site = S_FW, .p = UDP(7001), .tun = 7, .prev = 0, .moves = 0 },
		SENDM(S_FW, UDP(7002), 7, EG_IN_PASS_NEW, 2, 1, 0),
		SENDM(S_FW, UDP(7003), 9, EG_IN_PASS_NEW, 3, 1, 1),
		{ .op = DEV, .site = S_FW, .p = UDP(7003), .tun = 9, .prev = 7, .moves = 1 },
		SENDM(S_FW, UDP(7003), 9, EG_IN_PASS_FLOW, 3, 1, 1),
		SENDM(S_FW, UDP(7004), 9, EG_IN_PASS_NEW, 4, 1, 1),
		/* an existing flow checks its device once per epoch (~1.07 s):
		 * 2 s since its last packet is always another epoch */
		{ .op = AGE_FLOW, .site = S_FW, .p = UDP(7001), .secs = 2 },
		SENDM(S_FW, UDP(7001), 7, EG_IN_PASS_FLOW, 4, 1, 2),
		{ .op = DEV, .site = S_FW, .p = UDP(7001), .tun = 7, .prev = 9, .moves = 2 },
		/* another device, another tunnel: no move */
		SENDM(S_FW, UDP(7005, .src = DEV2), 9, EG_IN_PASS_NEW, 5, 2, 2),
		/* tunnel unknown (no secpath): nothing to compare */
		SENDM(S_FW, UDP(7006), 0, EG_IN_PASS_NEW, 6, 2, 2),
		{ .op = DEV, .site = S_FW, .p = UDP(7001), .tun = 7, .prev = 9, .moves = 2 },
		/* an expired device starts afresh on its new tunnel */
		{ .op = AGE_DEV, .site = S_FW, .p = UDP(7001), .secs = EG_TO_DEV_S + 1 },
		SENDM(S_FW, UDP(7007), 11, EG_IN_PASS_NEW, 7, 2, 2),
		{ .op = DEV, .site = S_FW, .p = UDP(7001), .tun = 11, .prev = 9, .moves = 2 },
		SENDM(S_FW, UDP(7008), 7, EG_IN_PASS_NEW, 8, 2, 3),
	} },
	{ "the same inner 5-tuple on two sites: two flows, two counts", {
		SEND_(S_FW, UDP(8001), EG_IN_PASS_NEW, 1, 1),
		SEND_(S_BOTH, UDP(8001), EG_IN_PASS_NEW, 1, 1),
		SEND_(S_FW, UDP(8001), EG_IN_PASS_FLOW, 1, 1),
		SEND_(S_BOTH, UDP(8001), EG_IN_PASS_FLOW, 1, 1),
		SWEEP_(S_FW, EG_TO_UDP_S + 1, 0, 1),
		SWEEP_(S_BOTH, EG_TO_UDP_S + 1, 0, 1),
	} },
	{ "probes take no slot, even at both caps", {
		SEND_(S_SMALL, UDP(9001, .src = DEV1), EG_IN_PASS_NEW, 1, 1),
		SEND_(S_SMALL, UDP(9002, .src = DEV2), EG_IN_PASS_NEW, 2, 2),
		SEND_(S_SMALL, UDP(9003, .src = DEV2), EG_IN_PASS_NEW, 3, 2),
		SEND_(S_SMALL, P(.proto = IPPROTO_ICMP, .icmp_type = 8, .icmp_id = 1, .dst = PROBE, .src = DEV3), EG_IN_PASS_PROBE, 3, 2),
		SEND_(S_SMALL, P(.proto = IPPROTO_ICMP, .icmp_type = 8, .icmp_id = 2, .dst = SERVER, .src = DEV1), EG_IN_DROP_FLOW_CAP, 3, 2),
	} },
	{ "purge of a removed site: its entries go, its counts are 0, others stay", {
		SEND_(S_SMALL, UDP(9101, .src = DEV1), EG_IN_PASS_NEW, 1, 1),
		SEND_(S_SMALL, UDP(9102, .src = DEV2), EG_IN_PASS_NEW, 2, 2),
		SEND_(S_FW, UDP(9103), EG_IN_PASS_NEW, 1, 1),
		{ .op = PURGE, .site = S_SMALL, .flows = 0, .devs = 0, .moves = -1 },
		SWEEP_(S_FW, 0, 1, 1),
		SEND_(S_SMALL, UDP(9101, .src = DEV1), EG_IN_PASS_NEW, 1, 1),
	} },
};

static int run_step(const char *name, int n, const struct step *s, __u64 base)
{
	unsigned char buf[256];
	struct eg_in_cnt c;
	char what[160];
	int bad = 0, err;

	snprintf(what, sizeof(what), "%s: step %d", name, n);
	switch (s->op) {
	case SEND: {
		__u64 before[EG_IN_REASON_MAX], after[EG_IN_REASON_MAX];
		int len = build(&s->p, buf, sizeof(buf)), i;
		__u32 ret;

		stats_sum(before);
		err = run_pkt(s->site, buf, len, s->mark, &ret);
		if (err) {
			fail("%s: test run: %s", what, strerror(-err));
			return 1;
		}
		stats_sum(after);
		if (ret != (s->reason < EG_IN_FIRST_DROP ? TC_ACT_OK : TC_ACT_SHOT)) {
			fail("%s: verdict %u", what, ret);
			bad = 1;
		}
		for (i = 0; i < EG_IN_REASON_MAX; i++) {
			if (after[i] - before[i] != (__u64)(i == (int)s->reason)) {
				fail("%s: %s +%llu, want %s", what, reason_names[i],
				     (unsigned long long)(after[i] - before[i]),
				     reason_names[s->reason]);
				bad = 1;
			}
		}
		break;
	}
	case SWEEP:
		err = eg_flows_sweep(ft, base + (__u64)s->secs * EG_NS, NULL);
		if (err) {
			fail("%s: sweep: %s", what, strerror(-err));
			bad = 1;
		}
		break;
	case PURGE:
		err = eg_flows_purge_slot(ft, sites[s->site].slot, NULL);
		if (err) {
			fail("%s: purge: %s", what, strerror(-err));
			bad = 1;
		}
		break;
	case AGE_FLOW: {
		struct eg_flow f;
		struct eg_flow_key k;

		if (!flow_of(s->site, &s->p, &f, &k)) {
			if (s->secs)
				fail("%s: no flow to age", what);
			return s->secs != 0;
		}
		f.last_seen -= (__u64)s->secs * EG_NS;
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.eg_flows), &k, &f, BPF_EXIST))
			fail("%s: age: %s", what, strerror(errno));
		return 0;
	}
	case AGE_DEV: {
		struct eg_dev d;
		struct eg_dev_key k;

		if (dev_of(s->site, s->p.src, &d, &k)) {
			fail("%s: no device to age", what);
			return 1;
		}
		d.last_seen -= (__u64)s->secs * EG_NS;
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.eg_devs), &k, &d, BPF_EXIST))
			fail("%s: age: %s", what, strerror(errno));
		return 0;
	}
	case CLASS: {
		struct eg_flow f;
		struct eg_flow_key k;
		int have = flow_of(s->site, &s->p, &f, &k) != NULL;

		if (s->cls < 0 ? have : !have || f.tclass != s->cls) {
			fail("%s: class %s, want %s", what,
			     have ? to_names[f.tclass % 6] : "(none)",
			     s->cls < 0 ? "(none)" : to_names[s->cls]);
			return 1;
		}
		return 0;
	}
	case DEV: {
		struct eg_dev d;
		struct eg_dev_key k;

		if (dev_of(s->site, s->p.src, &d, &k)) {
			fail("%s: no device", what);
			return 1;
		}
		if (d.tunnel != s->tun || d.prev_tunnel != s->prev ||
		    d.moves != (__u32)s->moves) {
			fail("%s: device tunnel %u prev %u moves %u, want %u/%u/%d",
			     what, d.tunnel, d.prev_tunnel, d.moves, s->tun, s->prev,
			     s->moves);
			return 1;
		}
		return 0;
	}
	default:
		return 0;
	}
	counts(s->site, &c);
	if ((s->flows >= 0 && c.flows != (__u64)s->flows) ||
	    (s->devs >= 0 && c.devs != (__u64)s->devs)) {
		fail("%s: counts %llu/%llu, want %d/%d", what,
		     (unsigned long long)c.flows, (unsigned long long)c.devs,
		     s->flows, s->devs);
		bad = 1;
	}
	if (s->moves >= 0) {
		struct eg_in_ctr sc;

		site_ctr(s->site, &sc);
		if (sc.moves != (__u64)s->moves) {
			fail("%s: moves %llu, want %d", what,
			     (unsigned long long)sc.moves, s->moves);
			bad = 1;
		}
	}
	if (!exact(what, s->site))
		bad = 1;
	return bad;
}

static void run_scenario(const struct scenario *sc)
{
	__u64 base;
	int i, bad = 0;

	reset();
	/* expiry is judged against base + N s; entries stamped from here on */
	base = eg_mono_ns();
	for (i = 0; i < (int)(sizeof(sc->s) / sizeof(sc->s[0])) && sc->s[i].op != END; i++)
		bad |= run_step(sc->name, i, &sc->s[i], base);
	result(sc->name, bad);
}

/* ---- 3. the seed's defaults: 10,000 flows, 10,000 devices --------------- */

static int send_udp(int site, __u32 src, int sport, __u32 *ret)
{
	unsigned char buf[128];
	struct pkt p = { .proto = IPPROTO_UDP, .sport = sport, .dport = 53 };
	int len = build(&p, buf, sizeof(buf));

	memcpy(buf + 26, &src, 4);
	return run_pkt(site, buf, len, 0, ret);
}

static void run_defaults(void)
{
	struct eg_in_ctr sc;
	struct eg_in_cnt c;
	__u32 src = htonl(0x0a010000), ret = 0;
	int i, bad = 0;

	reset();
	/* S_FW: both caps 0 -> the global default flow cap (10,000) */
	for (i = 0; i < EG_DEF_FLOW_CAP && !bad; i++)
		if (send_udp(S_FW, src, 1 + i, &ret) || ret != TC_ACT_OK)
			bad = 1;
	if (bad)
		fail("default flow cap: flow %d refused", i);
	send_udp(S_FW, src, EG_DEF_FLOW_CAP + 1, &ret);
	counts(S_FW, &c);
	site_ctr(S_FW, &sc);
	if (ret != TC_ACT_SHOT || c.flows != EG_DEF_FLOW_CAP ||
	    sc.drop[EG_IN_DROP_FLOW_CAP - EG_IN_FIRST_DROP] != 1) {
		fail("default flow cap: flow %d: verdict %u, flows %llu", EG_DEF_FLOW_CAP + 1,
		     ret, (unsigned long long)c.flows);
		bad = 1;
	}
	result("default flow cap 10000 (site cap 0): 10000 pass, 10001st dropped", bad);

	/* S_BIG: flow cap 20000, device cap 0 -> the default 10,000 devices */
	bad = 0;
	for (i = 0; i < EG_DEF_DEV_CAP && !bad; i++)
		if (send_udp(S_BIG, htonl(0x0a020000 + i), 53, &ret) || ret != TC_ACT_OK)
			bad = 1;
	if (bad)
		fail("default device cap: device %d refused", i);
	send_udp(S_BIG, htonl(0x0a020000 + EG_DEF_DEV_CAP), 53, &ret);
	counts(S_BIG, &c);
	site_ctr(S_BIG, &sc);
	if (ret != TC_ACT_SHOT || c.devs != EG_DEF_DEV_CAP || c.flows != EG_DEF_DEV_CAP ||
	    sc.drop[EG_IN_DROP_DEV_CAP - EG_IN_FIRST_DROP] != 1) {
		fail("default device cap: verdict %u, devs %llu flows %llu", ret,
		     (unsigned long long)c.devs, (unsigned long long)c.flows);
		bad = 1;
	}
	/* a known device opens more flows beyond the device cap */
	send_udp(S_BIG, htonl(0x0a020000), 54, &ret);
	if (ret != TC_ACT_OK) {
		fail("default device cap: known device refused a flow");
		bad = 1;
	}
	if (!exact("default caps", S_FW) || !exact("default caps", S_BIG))
		bad = 1;
	/* and every slot comes back, a budgeted slice per call */
	{
		__u64 now = eg_mono_ns() + (EG_TO_DEV_S + 1) * EG_NS;
		struct eg_sweep_res r;
		int calls = 0, done = 0;
		__u64 freed = 0;

		while (!done && calls < 100) {
			done = eg_flows_sweep_step(ft, now, EG_SWEEP_BATCH, &r);
			freed += r.flows_freed + r.devs_freed;
			calls++;
		}
		counts(S_BIG, &c);
		printf("   budgeted sweep: %d calls of %d entries freed %llu entries\n",
		       calls, EG_SWEEP_BATCH, (unsigned long long)freed);
		if (done != 1 || calls < 5 || c.flows || c.devs ||
		    freed != 2 * EG_DEF_FLOW_CAP + 1 + EG_DEF_DEV_CAP + 1) {
			fail("default caps: budgeted sweep: %d calls, %llu/%llu left",
			     calls, (unsigned long long)c.flows, (unsigned long long)c.devs);
			bad = 1;
		}
	}
	result("default device cap 10000 (site cap 0): 10001st device dropped, known device passes;"
	       " budgeted sweep steps give every slot back", bad);
}

/* ---- 4. random churn: counts == entries after every step ---------------- */

static void run_churn(void)
{
	const int site = S_RACE, fcap = sites[S_RACE].flow_cap, dcap = sites[S_RACE].dev_cap;
	__u64 base, clock_s = 0;
	unsigned seed = 12345;
	int i, bad = 0, news = 0, caps = 0, closes = 0, sweeps = 0;

	reset();
	base = eg_mono_ns();
	for (i = 0; i < 4000 && !bad; i++) {
		int what = rand_r(&seed) % 10;
		struct eg_in_cnt before, after;
		unsigned char buf[128];
		struct pkt p = { .src = DEV1 };
		char srcs[4][16] = { DEV1, DEV2, DEV3, "10.1.0.14" };
		__u32 ret;
		int len;

		counts(site, &before);
		if (what == 9) {
			/* sweep at a clock that only moves forward */
			clock_s += rand_r(&seed) % 40;
			eg_flows_sweep(ft, base + clock_s * EG_NS, NULL);
			sweeps++;
		} else {
			p.src = srcs[rand_r(&seed) % 5 % 4];
			p.sport = 10000 + rand_r(&seed) % 24;
			if (what < 4) {
				p.proto = IPPROTO_UDP;
			} else {
				p.flags = what == 8 ? F_RST : what == 7 ? F_FIN | F_ACK :
					  what == 6 ? F_SYN : F_ACK;
			}
			len = build(&p, buf, sizeof(buf));
			if (run_pkt(site, buf, len, 0, &ret)) {
				fail("churn: test run");
				bad = 1;
			}
		}
		counts(site, &after);
		if (after.flows > (__u64)fcap || after.devs > (__u64)dcap) {
			fail("churn step %d: counts %llu/%llu above caps", i,
			     (unsigned long long)after.flows, (unsigned long long)after.devs);
			bad = 1;
		}
		news += after.flows > before.flows;
		closes += after.flows < before.flows && what != 9;
		caps += after.flows == (__u64)fcap;
		if (!exact("churn", site))
			bad = 1;
	}
	printf("   churn: %d steps, %d new flows, %d rst closes, %d sweeps, %d at cap\n",
	       i, news, closes, sweeps, caps);
	result("random churn: counts == entries after each of 4000 steps, never above caps", bad);
}

/* ---- 5. the program and the sweeper deleting concurrently --------------- */

static volatile int race_stop;

static void *race_packets(void *arg)
{
	unsigned seed = 777, *n = arg;
	unsigned char buf[128];
	int i;

	for (i = 0; i < 200000; i++) {
		struct pkt p = { .sport = 20000 + rand_r(&seed) % 40,
				 .flags = rand_r(&seed) % 3 ? F_SYN : F_RST };
		char src[16];
		__u32 ret;
		int len;

		snprintf(src, sizeof(src), "10.1.0.%u", 20 + rand_r(&seed) % 6);
		p.src = src;
		len = build(&p, buf, sizeof(buf));
		if (run_pkt(S_RACE, buf, len, 0, &ret) == 0 && ret == TC_ACT_OK)
			(*n)++;
	}
	race_stop = 1;
	return NULL;
}

static void run_race(void)
{
	struct eg_sweep_res r, total = {};
	struct eg_in_cnt c;
	unsigned passed = 0;
	pthread_t t;
	int bad = 0, sweeps = 0;
	__u64 maxf = 0, maxd = 0;

	reset();
	race_stop = 0;
	if (pthread_create(&t, NULL, race_packets, &passed)) {
		fail("race: pthread_create");
		result("race", 1);
		return;
	}
	while (!race_stop) {
		int err;

		/* far in the future: every entry it sees is expired */
		err = eg_flows_sweep(ft, eg_mono_ns() + 3600 * EG_NS, &r);
		if (err) {
			fail("race: sweep %d: %s", sweeps, strerror(-err));
			bad = 1;
			break;
		}
		total.flows_freed += r.flows_freed;
		total.devs_freed += r.devs_freed;
		total.raced += r.raced;
		total.underflow += r.underflow;
		/*
		 * A cap is a reservation: the program adds one, then takes it
		 * back if that went over. Read while the one packet thread runs,
		 * a count may show its reservation in flight, never more.
		 */
		counts(S_RACE, &c);
		maxf = c.flows > maxf ? c.flows : maxf;
		maxd = c.devs > maxd ? c.devs : maxd;
		if (c.flows > sites[S_RACE].flow_cap + 1 || c.devs > sites[S_RACE].dev_cap + 1) {
			fail("race: sweep %d: counts %llu/%llu, caps %u/%u (+1 in flight)", sweeps,
			     (unsigned long long)c.flows, (unsigned long long)c.devs,
			     sites[S_RACE].flow_cap, sites[S_RACE].dev_cap);
			bad = 1;
		}
		sweeps++;
	}
	pthread_join(t, NULL);
	if (!exact("race: after", S_RACE))
		bad = 1;
	eg_flows_sweep(ft, eg_mono_ns() + 3600 * EG_NS, NULL);
	counts(S_RACE, &c);
	if (c.flows || c.devs || total.underflow) {
		fail("race: final counts %llu/%llu, underflows %llu",
		     (unsigned long long)c.flows, (unsigned long long)c.devs,
		     (unsigned long long)total.underflow);
		bad = 1;
	}
	printf("   race: %u packets passed, %d sweeps freed %llu flows %llu devices, "
	       "%llu deletes lost to the program, highest counts %llu/%llu (caps %u/%u)\n",
	       passed, sweeps,
	       (unsigned long long)total.flows_freed, (unsigned long long)total.devs_freed,
	       (unsigned long long)total.raced, (unsigned long long)maxf,
	       (unsigned long long)maxd, sites[S_RACE].flow_cap, sites[S_RACE].dev_cap);
	result("program RST vs sweeper on 2 CPUs: exact counts, never above caps", bad);
}

/* ---- 6. the POP-wide tables full ------------------------------------------ */

/*
 * A second instance whose eg_flows holds 4 entries and eg_devs 3, under a
 * site whose own caps are far away: the insert fails (E2BIG), the packet is
 * dropped as drop_table_full and the reservations are undone.
 */
static void run_table_full(void)
{
	struct tc_inner_bpf *s2 = tc_inner_bpf__open();
	struct eg_in_cfg cfg = EG_IN_CFG_DEFAULT;
	struct eg_isite v = { .site_id = 1, .slot = 1, .flags = EG_LIC_FW,
			      .flow_cap = 100, .dev_cap = 100 };
	static const enum eg_in_reason want[] = {
		EG_IN_PASS_NEW, EG_IN_PASS_NEW, EG_IN_PASS_NEW,	/* dev 1..3 */
		EG_IN_DROP_TABLE,				/* dev 4: no room */
		EG_IN_PASS_NEW,					/* dev 1, 2nd flow */
		EG_IN_DROP_TABLE,				/* dev 1, 5th flow */
	};
	struct eg_flows *ft2 = NULL;
	struct eg_in_cnt c = {};
	__u64 before[EG_IN_REASON_MAX], after[EG_IN_REASON_MAX];
	int bad = 0, fd2, i, old_pfd = pfd;
	struct tc_inner_bpf *old = skel;
	__u32 k = sites[S_FW].ifindex, ret;

	if (!s2 ||
	    bpf_map__set_max_entries(s2->maps.eg_flows, 4) ||
	    bpf_map__set_max_entries(s2->maps.eg_devs, 3) ||
	    tc_inner_bpf__load(s2) ||
	    bpf_map_update_elem(bpf_map__fd(s2->maps.eg_ifsite), &k, &v, 0) ||
	    eg_flows_open(&ft2, bpf_map__fd(s2->maps.eg_flows),
			  bpf_map__fd(s2->maps.eg_devs),
			  bpf_map__fd(s2->maps.eg_in_cnt), &cfg)) {
		fail("table full: setup: %s", strerror(errno));
		bad = 1;
		goto out;
	}
	skel = s2;	/* stats_sum() reads this instance */
	fd2 = bpf_program__fd(s2->progs.tc_inner);
	pfd = fd2;
	for (i = 0; i < (int)(sizeof(want) / sizeof(want[0])); i++) {
		char src[16];
		unsigned char buf[128];
		struct pkt p = { .proto = IPPROTO_UDP, .dport = 53,
				 .sport = 100 + i, .src = src };
		int len;

		snprintf(src, sizeof(src), "10.1.0.%d", i < 4 ? i + 1 : 1);
		len = build(&p, buf, sizeof(buf));
		stats_sum(before);
		if (run_pkt(S_FW, buf, len, 0, &ret)) {
			fail("table full: test run");
			bad = 1;
			break;
		}
		stats_sum(after);
		if (after[want[i]] - before[want[i]] != 1 ||
		    ret != (want[i] < EG_IN_FIRST_DROP ? TC_ACT_OK : TC_ACT_SHOT)) {
			fail("table full: packet %d: verdict %u, want %s", i, ret,
			     reason_names[want[i]]);
			bad = 1;
		}
	}
	eg_flows_counts(ft2, 1, &c);
	if (c.flows != 4 || c.devs != 3) {
		fail("table full: counts %llu/%llu, want 4/3",
		     (unsigned long long)c.flows, (unsigned long long)c.devs);
		bad = 1;
	}
out:
	skel = old;
	pfd = old_pfd;
	eg_flows_close(ft2);
	tc_inner_bpf__destroy(s2);
	result("flow and device tables full: drop_table_full, reservations undone", bad);
}

/* ---- 7. every packet cut at every length --------------------------------- */

static void run_truncations(void)
{
	unsigned i, n = 0, refused = 0;
	int bad = 0;

	reset();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *t = &cases[i];
		unsigned char buf[256];
		int len = build(&t->p, buf, sizeof(buf)), cut, err;
		int ipv4 = !t->p.eth || t->p.eth == 0x0800;
		int need = needed(&t->p);
		int l3min = ipv4 ? 20 : t->p.eth == 0x86dd ? 40 : 0;

		for (cut = 0; cut < len; cut++) {
			__u64 before[EG_IN_REASON_MAX], after[EG_IN_REASON_MAX];
			__u32 ret = 0;

			stats_sum(before);
			err = run_pkt(t->site, buf, cut, 0, &ret);
			stats_sum(after);
			n++;
			if (cut < 14) {
				if (err != -EINVAL) {
					fail("%s cut at %d: err %d, want EINVAL", t->name, cut, err);
					bad = 1;
				}
				continue;
			}
			/* newer kernels (6.18 here) refuse an skb shorter than
			 * Ethernet + the IP header its EtherType announces */
			if (err == -EINVAL && cut < 14 + l3min) {
				refused++;
				continue;
			}
			if (err) {
				fail("%s cut at %d: %s", t->name, cut, strerror(-err));
				bad = 1;
			} else if (ret != TC_ACT_OK && ret != TC_ACT_SHOT) {
				fail("%s cut at %d: verdict %u", t->name, cut, ret);
				bad = 1;
			} else if (ipv4 && t->reason != EG_IN_DROP_NO_SITE &&
				   t->reason != EG_IN_DROP_MALFORMED && cut < need &&
				   (ret != TC_ACT_SHOT ||
				    after[EG_IN_DROP_MALFORMED] - before[EG_IN_DROP_MALFORMED] != 1)) {
				fail("%s cut at %d (needs %d): verdict %u, not malformed",
				     t->name, cut, need, ret);
				bad = 1;
			}
		}
	}
	for (i = 0; i < NSITES; i++)
		if (sites[i].in_map && sites[i].slot < EG_MAX_SITES &&
		    !exact("truncations", i))
			bad = 1;
	printf("   %u truncated packets, %u of them refused by the kernel "
	       "(shorter than Ethernet + IP header)\n", n, refused);
	result("every case cut at every length: OK or SHOT, malformed below its headers", bad);
}

/* ---- setup ----------------------------------------------------------------- */

static void cfg_checks(void)
{
	struct eg_in_cfg c = EG_IN_CFG_DEFAULT;
	int bad = 0;

	if (eg_in_cfg_check(&c))
		bad = 1;
	c.to_ns[EG_TO_DEV] = c.to_ns[EG_TO_TCP_EST];
	if (eg_in_cfg_check(&c) != -EINVAL)
		bad = 1;
	c = (struct eg_in_cfg)EG_IN_CFG_DEFAULT;
	c.to_ns[EG_TO_UDP] = 0;
	if (eg_in_cfg_check(&c) != -EINVAL)
		bad = 1;
	if (bad)
		fail("eg_in_cfg_check");
	result("cfg check: defaults valid; device timeout must outlive flows", bad);
}

static int add_sites(void)
{
	int i, fd = bpf_map__fd(skel->maps.eg_ifsite);
	__u32 probe;

	inet_pton(AF_INET, PROBE, &probe);
	for (i = 0; i < NSITES; i++) {
		struct site *s = &sites[i];
		struct eg_isite v = { .site_id = s->id, .slot = s->slot,
				      .flags = s->flags, .flow_cap = s->flow_cap,
				      .dev_cap = s->dev_cap, .probe_ip = probe,
				      .n_ports = s->n_ports };
		__u32 k;

		s->tunfd = mktun(s->ifname);
		if (s->tunfd < 0) {
			fprintf(stderr, "tun %s: %s\n", s->ifname, strerror(-s->tunfd));
			return -1;
		}
		s->ifindex = if_nametoindex(s->ifname);
		memcpy(v.ports, s->ports, sizeof(s->ports));
		k = s->ifindex;
		if (s->in_map && bpf_map_update_elem(fd, &k, &v, 0)) {
			fprintf(stderr, "eg_ifsite: %s\n", strerror(errno));
			return -1;
		}
	}
	return 0;
}

int main(void)
{
	struct eg_in_cfg cfg = EG_IN_CFG_DEFAULT;
	unsigned i;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ncpus = libbpf_num_possible_cpus();
	/* a private netns for the TUN devices that stand for xfrm interfaces */
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s (needs root)\n", strerror(errno));
		return 1;
	}
	skel = tc_inner_bpf__open();
	if (!skel) {
		fprintf(stderr, "open skeleton: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->eg_cfg = cfg;
	skel->rodata->tun_from_mark = 1;
	if (tc_inner_bpf__load(skel)) {
		fprintf(stderr, "load: %s\n", strerror(errno));
		tc_inner_bpf__destroy(skel);
		return 1;
	}
	pfd = bpf_program__fd(skel->progs.tc_inner);
	err = eg_flows_open(&ft, bpf_map__fd(skel->maps.eg_flows),
			    bpf_map__fd(skel->maps.eg_devs),
			    bpf_map__fd(skel->maps.eg_in_cnt), &cfg);
	if (err || add_sites()) {
		fprintf(stderr, "setup: %s\n", strerror(-err));
		eg_flows_close(ft);
		tc_inner_bpf__destroy(skel);
		return 1;
	}

	cfg_checks();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		run_scenario(&scenarios[i]);
	run_defaults();
	run_churn();
	run_race();
	run_table_full();
	run_truncations();

	eg_flows_close(ft);
	tc_inner_bpf__destroy(skel);
	for (i = 0; i < NSITES; i++)
		if (sites[i].tunfd >= 0)
			close(sites[i].tunfd);
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail || failures ? 1 : 0;
}
