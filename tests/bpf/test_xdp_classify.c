// SPDX-License-Identifier: GPL-2.0
/*
 * test_xdp_classify.c - table-driven tests of the XDP site classifier under
 * BPF_PROG_TEST_RUN: for each case, the packet, the expected verdict and the
 * expected counter deltas (global per reason and per site). Then every case
 * truncated at every byte offset.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp_index.h"
#include "espgate.h"
#include "xdp_classify.skel.h"

#define LOCAL	"203.0.113.1"	/* the POP's IKE address */
#define SITE_A	"198.51.100.7"	/* enabled, SPI 0x1000a */
#define SITE_B	"198.51.100.8"	/* enabled, SPI 0x1000b */
#define SITE_D	"198.51.100.9"	/* disabled */
#define STRANGER "192.0.2.66"	/* no site */
#define SPI_A	0x1000a
#define SPI_B	0x1000b

enum { SLOT_A = 3, SLOT_B = 4, SLOT_D = 5 };

/* What to put on the wire. Zero values mean the usual choice. */
struct pkt {
	int vlans;		/* 0, 1, 2 or 3 tags */
	int ipv6;		/* an IPv6/UDP frame instead */
	int ihl;		/* 32-bit words; 0 = 5 */
	int proto;		/* 0 = UDP */
	const char *src;
	const char *dst;	/* 0 = LOCAL */
	unsigned frag_off;	/* host order, flags + offset */
	int dport;
	const unsigned char *pl;/* UDP (or IP) payload */
	int pl_len;
	int pad_to;		/* pad the frame with zeros to this size */
};

struct tcase {
	const char *name;
	struct pkt p;
	int verdict;
	enum eg_reason reason;
	int slot;		/* -1: no per-site change expected */
	/* per-site counter deltas */
	int ike, esp, ka, dis, badspi;
};

static const unsigned char ike_hdr[28] = { [17] = 0x20, [18] = 34 };
static const unsigned char ike_natt[32] = { [21] = 0x20, [22] = 34 };
static const unsigned char esp_a[16] = { 0, 1, 0, 0x0a, 0, 0, 0, 1 };
static const unsigned char esp_b[16] = { 0, 1, 0, 0x0b, 0, 0, 0, 1 };
static const unsigned char esp_x[16] = { 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1 };
/* SPI_A's eg_spis index, other bits above it: 0x0015000a */
static const unsigned char esp_a_idx[16] = { 0, 0x15, 0, 0x0a, 0, 0, 0, 1 };
/* An address that is no site's and hashes to SITE_A's eg_src bucket
 * (found at start). */
static char collider_a[INET_ADDRSTRLEN];
static const unsigned char tcp_syn[20] = { 0x30, 0x39, 0x01, 0xbb, [12] = 0x50, [13] = 0x02 };
static const unsigned char keepalive[1] = { 0xff };
static const unsigned char short_ike[10];

static int build(const struct pkt *p, unsigned char *buf, size_t cap)
{
	unsigned char *q = buf;
	int i, ihl = p->ihl ? p->ihl : 5, udp = !p->proto || p->proto == 17;
	int l4 = (udp ? 8 : 0) + p->pl_len;
	uint32_t a;

	memset(buf, 0, cap);
	memcpy(q, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02", 12);
	q += 12;
	for (i = 0; i < p->vlans; i++) {
		*q++ = i == 0 && p->vlans > 1 ? 0x88 : 0x81;
		*q++ = i == 0 && p->vlans > 1 ? 0xa8 : 0x00;
		*q++ = 0;
		*q++ = 10 + i;
	}
	if (p->ipv6) {
		*q++ = 0x86; *q++ = 0xdd;
		q[0] = 0x60; q[4] = 0; q[5] = 8 + p->pl_len; q[6] = 17; q[7] = 64;
		q[39] = 1; q[23] = 2;
		q += 40;
	} else {
		*q++ = 0x08; *q++ = 0x00;
		q[0] = 0x40 | ihl;
		q[2] = (ihl * 4 + l4) >> 8;
		q[3] = (ihl * 4 + l4) & 0xff;
		q[6] = p->frag_off >> 8;
		q[7] = p->frag_off & 0xff;
		q[8] = 64;
		q[9] = p->proto ? p->proto : 17;
		inet_pton(AF_INET, p->src ? p->src : STRANGER, &a);
		memcpy(q + 12, &a, 4);
		inet_pton(AF_INET, p->dst ? p->dst : LOCAL, &a);
		memcpy(q + 16, &a, 4);
		for (i = 20; i < ihl * 4; i++)
			q[i] = 1;	/* NOP options */
		q += ihl * 4;
	}
	if (udp) {
		q[0] = 0x11; q[1] = 0x94;	/* sport 4500 */
		q[2] = p->dport >> 8;
		q[3] = p->dport & 0xff;
		q[4] = (8 + p->pl_len) >> 8;
		q[5] = (8 + p->pl_len) & 0xff;
		q += 8;
	}
	memcpy(q, p->pl, p->pl_len);
	q += p->pl_len;
	if (p->pad_to && q - buf < p->pad_to)
		q = buf + p->pad_to;
	return q - buf;
}

#define P(...) { __VA_ARGS__ }
static const struct tcase cases[] = {
	{ "esp from known site", P(.src = SITE_A, .dport = 4500, .pl = esp_a, .pl_len = 16),
	  XDP_PASS, EG_PASS_ESP, SLOT_A, .esp = 1 },
	{ "esp unknown spi", P(.src = SITE_A, .dport = 4500, .pl = esp_x, .pl_len = 16),
	  XDP_DROP, EG_DROP_BAD_SPI, SLOT_A, .badspi = 1 },
	{ "esp with another site's spi", P(.src = SITE_A, .dport = 4500, .pl = esp_b, .pl_len = 16),
	  XDP_DROP, EG_DROP_BAD_SPI, SLOT_A, .badspi = 1 },
	{ "esp from site b", P(.src = SITE_B, .dport = 4500, .pl = esp_b, .pl_len = 16),
	  XDP_PASS, EG_PASS_ESP, SLOT_B, .esp = 1 },
	{ "unknown source ike", P(.src = STRANGER, .dport = 500, .pl = ike_hdr, .pl_len = 28),
	  XDP_DROP, EG_DROP_UNKNOWN_SRC, -1, .ike = 0 },
	{ "unknown source esp", P(.src = STRANGER, .dport = 4500, .pl = esp_a, .pl_len = 16),
	  XDP_DROP, EG_DROP_UNKNOWN_SRC, -1, .ike = 0 },
	{ "unknown source in site a's bucket, ike", P(.src = collider_a, .dport = 500, .pl = ike_hdr, .pl_len = 28),
	  XDP_DROP, EG_DROP_UNKNOWN_SRC, -1, .ike = 0 },
	{ "unknown source in site a's bucket, a's esp", P(.src = collider_a, .dport = 4500, .pl = esp_a, .pl_len = 16),
	  XDP_DROP, EG_DROP_UNKNOWN_SRC, -1, .ike = 0 },
	{ "unknown source in site a's bucket, keepalive", P(.src = collider_a, .dport = 4500, .pl = keepalive, .pl_len = 1),
	  XDP_DROP, EG_DROP_UNKNOWN_SRC, -1, .ike = 0 },
	{ "unknown source in site a's bucket, fragment", P(.src = collider_a, .frag_off = 0x00b9, .proto = 17, .pl = esp_x, .pl_len = 16),
	  XDP_DROP, EG_DROP_FRAG_UNKNOWN, -1, .ike = 0 },
	{ "esp, a's spi index, another spi", P(.src = SITE_A, .dport = 4500, .pl = esp_a_idx, .pl_len = 16),
	  XDP_DROP, EG_DROP_BAD_SPI, SLOT_A, .badspi = 1 },
	{ "disabled site ike", P(.src = SITE_D, .dport = 500, .pl = ike_hdr, .pl_len = 28),
	  XDP_DROP, EG_DROP_DISABLED, SLOT_D, .dis = 1 },
	{ "disabled site keepalive", P(.src = SITE_D, .dport = 4500, .pl = keepalive, .pl_len = 1),
	  XDP_DROP, EG_DROP_DISABLED, SLOT_D, .dis = 1 },
	{ "nat-t keepalive", P(.src = SITE_A, .dport = 4500, .pl = keepalive, .pl_len = 1),
	  XDP_DROP, EG_DROP_KEEPALIVE, SLOT_A, .ka = 1 },
	{ "nat-t keepalive padded to 60", P(.src = SITE_A, .dport = 4500, .pl = keepalive, .pl_len = 1, .pad_to = 60),
	  XDP_DROP, EG_DROP_KEEPALIVE, SLOT_A, .ka = 1 },
	{ "ike on 500", P(.src = SITE_A, .dport = 500, .pl = ike_hdr, .pl_len = 28),
	  XDP_PASS, EG_PASS_IKE, SLOT_A, .ike = 1 },
	{ "ike on 4500 with marker", P(.src = SITE_A, .dport = 4500, .pl = ike_natt, .pl_len = 32),
	  XDP_PASS, EG_PASS_IKE_NATT, SLOT_A, .ike = 1 },
	{ "ike on 500 shorter than its header", P(.src = SITE_A, .dport = 500, .pl = short_ike, .pl_len = 10),
	  XDP_DROP, EG_DROP_MALFORMED, -1, .ike = 0 },
	{ "marker but no ike header", P(.src = SITE_A, .dport = 4500, .pl = ike_natt, .pl_len = 12),
	  XDP_DROP, EG_DROP_MALFORMED, -1, .ike = 0 },
	{ "esp shorter than spi+seq", P(.src = SITE_A, .dport = 4500, .pl = esp_a, .pl_len = 6),
	  XDP_DROP, EG_DROP_MALFORMED, -1, .ike = 0 },
	{ "raw esp from known site", P(.src = SITE_A, .proto = 50, .pl = esp_a, .pl_len = 16),
	  XDP_DROP, EG_DROP_RAW_ESP, -1, .ike = 0 },
	{ "raw esp from stranger", P(.src = STRANGER, .proto = 50, .pl = esp_a, .pl_len = 16),
	  XDP_DROP, EG_DROP_RAW_ESP, -1, .ike = 0 },
	{ "ipv4 options, esp", P(.src = SITE_A, .ihl = 8, .dport = 4500, .pl = esp_a, .pl_len = 16),
	  XDP_PASS, EG_PASS_ESP, SLOT_A, .esp = 1 },
	{ "ipv4 max options, ike", P(.src = SITE_A, .ihl = 15, .dport = 500, .pl = ike_hdr, .pl_len = 28),
	  XDP_PASS, EG_PASS_IKE, SLOT_A, .ike = 1 },
	{ "ihl 4 is malformed", P(.src = SITE_A, .ihl = 4, .dport = 500, .pl = ike_hdr, .pl_len = 28),
	  XDP_DROP, EG_DROP_MALFORMED, -1, .ike = 0 },
	{ "first fragment esp", P(.src = SITE_A, .frag_off = 0x2000, .dport = 4500, .pl = esp_a, .pl_len = 16),
	  XDP_PASS, EG_PASS_ESP, SLOT_A, .esp = 1 },
	{ "later fragment, known site", P(.src = SITE_A, .frag_off = 0x00b9, .proto = 17, .pl = esp_x, .pl_len = 16),
	  XDP_PASS, EG_PASS_FRAG, -1, .ike = 0 },
	{ "last fragment, known site", P(.src = SITE_A, .frag_off = 0x20b9, .proto = 17, .pl = esp_x, .pl_len = 16),
	  XDP_PASS, EG_PASS_FRAG, -1, .ike = 0 },
	{ "later fragment, stranger", P(.src = STRANGER, .frag_off = 0x00b9, .proto = 17, .pl = esp_x, .pl_len = 16),
	  XDP_DROP, EG_DROP_FRAG_UNKNOWN, -1, .ike = 0 },
	{ "later fragment, disabled site", P(.src = SITE_D, .frag_off = 0x00b9, .proto = 17, .pl = esp_x, .pl_len = 16),
	  XDP_DROP, EG_DROP_DISABLED, -1, .ike = 0 },
	{ "one vlan tag, esp", P(.vlans = 1, .src = SITE_A, .dport = 4500, .pl = esp_a, .pl_len = 16),
	  XDP_PASS, EG_PASS_ESP, SLOT_A, .esp = 1 },
	{ "two vlan tags (qinq), esp", P(.vlans = 2, .src = SITE_A, .dport = 4500, .pl = esp_a, .pl_len = 16),
	  XDP_PASS, EG_PASS_ESP, SLOT_A, .esp = 1 },
	{ "three vlan tags: not parsed", P(.vlans = 3, .src = SITE_A, .dport = 4500, .pl = esp_a, .pl_len = 16),
	  XDP_PASS, EG_PASS_NOT_IPV4, -1, .ike = 0 },
	{ "ipv6 udp 4500", P(.ipv6 = 1, .dport = 4500, .pl = esp_a, .pl_len = 16),
	  XDP_PASS, EG_PASS_NOT_IPV4, -1, .ike = 0 },
	{ "tcp", P(.src = STRANGER, .proto = 6, .pl = tcp_syn, .pl_len = 20),
	  XDP_PASS, EG_PASS_NOT_UDP, -1, .ike = 0 },
	{ "udp 53 from stranger", P(.src = STRANGER, .dport = 53, .pl = esp_x, .pl_len = 16),
	  XDP_PASS, EG_PASS_OTHER_PORT, -1, .ike = 0 },
	{ "udp 4500 to another address", P(.src = STRANGER, .dst = "203.0.113.2", .dport = 4500, .pl = esp_a, .pl_len = 16),
	  XDP_PASS, EG_PASS_NOT_LOCAL, -1, .ike = 0 },
};

static int failures;	/* messages */
static int n_pass, n_fail;	/* cases */

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

static int ncpus;

static void stats_sum(int fd, __u64 out[EG_REASON_MAX])
{
	struct eg_ctr v[ncpus];
	__u32 k;
	int c;

	for (k = 0; k < EG_REASON_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (c = 0; c < ncpus; c++)
			out[k] += v[c].pkts;
	}
}

static void site_sum(int fd, __u32 slot, struct eg_site_ctr *out)
{
	struct eg_site_ctr v[ncpus];
	int c;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(fd, &slot, v))
		return;
	for (c = 0; c < ncpus; c++) {
		out->ike_pkts += v[c].ike_pkts;
		out->esp_pkts += v[c].esp_pkts;
		out->keepalives += v[c].keepalives;
		out->drop_disabled += v[c].drop_disabled;
		out->drop_bad_spi += v[c].drop_bad_spi;
		if (v[c].last_alive_ns > out->last_alive_ns)
			out->last_alive_ns = v[c].last_alive_ns;
	}
}

static int run(int prog_fd, const unsigned char *pkt, int len, __u32 *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt,
		    .data_size_in = len, .repeat = 1);
	int err = bpf_prog_test_run_opts(prog_fd, &opts);

	*retval = opts.retval;
	return err ? -errno : 0;
}

/*
 * A site in eg_sites and in its eg_src bucket: alone there (the program
 * answers from the bucket) or, with shared, the bucket marked shared (the
 * program must answer from eg_sites, with the same verdicts).
 */
static void add_site(struct xdp_classify_bpf *skel, const char *ip,
		     __u32 id, __u32 slot, int enabled, int shared)
{
	struct eg_site s = { .site_id = id, .slot = slot,
			     .flags = enabled ? EG_SITE_ENABLED : 0 };
	struct eg_src src = { .slot = slot,
			      .flags = shared ? EG_SRC_MANY :
				       EG_SRC_ONE | (enabled ? EG_SITE_ENABLED : 0) };
	__u32 a;

	inet_pton(AF_INET, ip, &a);
	src.saddr = shared ? 0 : a;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.eg_sites), &a, &s, 0) ||
	    eg_src_put(bpf_map__fd(skel->maps.eg_src), a, &src))
		fail("add site %s: %s", ip, strerror(errno));
}

static void add_spi(struct xdp_classify_bpf *skel, __u32 spi, __u32 id,
		    const char *ip, __u32 slot)
{
	struct eg_spi v = { .site_id = id, .spi = htonl(spi) };
	__u32 k = eg_spi_idx(spi);

	inet_pton(AF_INET, ip, &v.saddr);
	v.slot = slot;

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.eg_spis), &k, &v, 0))
		fail("add spi %#x: %s", spi, strerror(errno));
}

static const char *reason_names[] = EG_REASON_NAMES;

static void run_case(struct xdp_classify_bpf *skel, const struct tcase *t)
{
	int sfd = bpf_map__fd(skel->maps.eg_stats);
	int cfd = bpf_map__fd(skel->maps.eg_site_ctr);
	int pfd = bpf_program__fd(skel->progs.xdp_classify);
	__u64 before[EG_REASON_MAX], after[EG_REASON_MAX];
	struct eg_site_ctr sb[3], sa[3];
	unsigned char buf[512];
	int len = build(&t->p, buf, sizeof(buf)), i, bad = 0;
	__u32 ret;

	/* start every case from zeroed site counters (and last-alive times) */
	for (i = 0; i < 3; i++) {
		struct eg_site_ctr zero[ncpus];
		__u32 slot = SLOT_A + i;

		memset(zero, 0, sizeof(zero));
		bpf_map_update_elem(cfd, &slot, zero, BPF_ANY);
		site_sum(cfd, slot, &sb[i]);
	}
	stats_sum(sfd, before);
	if (run(pfd, buf, len, &ret)) {
		fail("%s: test run: %s", t->name, strerror(errno));
		return;
	}
	stats_sum(sfd, after);
	for (i = 0; i < 3; i++)
		site_sum(cfd, SLOT_A + i, &sa[i]);

	if ((int)ret != t->verdict) {
		fail("%s: verdict %u, want %d", t->name, ret, t->verdict);
		bad = 1;
	}
	for (i = 0; i < EG_REASON_MAX; i++) {
		__u64 want = i == (int)t->reason ? 1 : 0;

		if (after[i] - before[i] != want) {
			fail("%s: %s +%llu, want +%llu", t->name, reason_names[i],
			     (unsigned long long)(after[i] - before[i]),
			     (unsigned long long)want);
			bad = 1;
		}
	}
	for (i = 0; i < 3; i++) {
		int mine = t->slot == SLOT_A + i;
		struct { const char *n; __u64 d; int want; } f[] = {
			{ "ike_pkts", sa[i].ike_pkts - sb[i].ike_pkts, mine ? t->ike : 0 },
			{ "esp_pkts", sa[i].esp_pkts - sb[i].esp_pkts, mine ? t->esp : 0 },
			{ "keepalives", sa[i].keepalives - sb[i].keepalives, mine ? t->ka : 0 },
			{ "drop_disabled", sa[i].drop_disabled - sb[i].drop_disabled, mine ? t->dis : 0 },
			{ "drop_bad_spi", sa[i].drop_bad_spi - sb[i].drop_bad_spi, mine ? t->badspi : 0 },
		};
		unsigned j;

		for (j = 0; j < sizeof(f) / sizeof(f[0]); j++) {
			if ((int)f[j].d != f[j].want) {
				fail("%s: slot %d %s +%llu, want +%d", t->name,
				     SLOT_A + i, f[j].n, (unsigned long long)f[j].d,
				     f[j].want);
				bad = 1;
			}
		}
		/* keepalives and IKE stamp the site's last-alive time, nothing else */
		if ((mine && (t->ka || t->ike)) != (sa[i].last_alive_ns != 0)) {
			fail("%s: slot %d last_alive_ns %llu", t->name, SLOT_A + i,
			     (unsigned long long)sa[i].last_alive_ns);
			bad = 1;
		}
	}
	if (bad) {
		n_fail++;
		printf("not ok: %s\n", t->name);
	} else {
		n_pass++;
		printf("ok: %s\n", t->name);
	}
}

/*
 * Every case cut at every length: the kernel refuses frames shorter than
 * an Ethernet header (EINVAL); from there on the program must return PASS
 * or DROP and never anything else. A passing IKE or ESP packet cut before
 * its IKE header or its SPI+sequence must be dropped, and pass from there.
 */
static void run_truncations(struct xdp_classify_bpf *skel)
{
	int pfd = bpf_program__fd(skel->progs.xdp_classify);
	unsigned char buf[512];
	unsigned i, n = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *t = &cases[i];
		int len = build(&t->p, buf, sizeof(buf)), cut, err;
		int hdrs = 14 + 4 * t->p.vlans + 4 * (t->p.ihl ? t->p.ihl : 5) + 8;
		int ok = 1, need = 0;

		/* bytes a passing IKE/ESP packet cannot do without */
		if (t->reason == EG_PASS_ESP)
			need = hdrs + 8;
		else if (t->reason == EG_PASS_IKE)
			need = hdrs + 28;
		else if (t->reason == EG_PASS_IKE_NATT)
			need = hdrs + 32;

		for (cut = 0; cut < len; cut++) {
			__u32 ret = 0;

			err = run(pfd, buf, cut, &ret);
			n++;
			if (cut < 14) {
				if (err != -EINVAL) {
					fail("%s cut at %d: err %d, want EINVAL",
					     t->name, cut, err);
					ok = 0;
				}
				continue;
			}
			if (err) {
				fail("%s cut at %d: %s", t->name, cut, strerror(-err));
				ok = 0;
			} else if (ret != XDP_PASS && ret != XDP_DROP) {
				fail("%s cut at %d: verdict %u", t->name, cut, ret);
				ok = 0;
			} else if (need && (cut < need) != (ret == XDP_DROP)) {
				fail("%s cut at %d: verdict %u, needs %d bytes",
				     t->name, cut, ret, need);
				ok = 0;
			}
		}
		if (!ok) {
			n_fail++;
			printf("not ok: %s (truncated)\n", t->name);
			return;
		}
	}
	n_pass++;
	printf("ok: %u truncated packets, all PASS or DROP\n", n);
}

/*
 * The IKE limit per site: with ike_rate 1/s and a burst of 3, a site's
 * 4th to 6th IKE packets in a row (on 500 or with the marker on 4500) are
 * dropped and counted as its drop_ike_rate; ESP and keepalives are not
 * limited, and another site has its own bucket.
 */
static void run_ike_rate(void)
{
	struct xdp_classify_bpf *skel = xdp_classify_bpf__open();
	const struct pkt ike = { .src = SITE_A, .dport = 500, .pl = ike_hdr, .pl_len = 28 };
	const struct pkt natt = { .src = SITE_A, .dport = 4500, .pl = ike_natt, .pl_len = 32 };
	const struct pkt esp = { .src = SITE_A, .dport = 4500, .pl = esp_a, .pl_len = 16 };
	const struct pkt ike_b = { .src = SITE_B, .dport = 500, .pl = ike_hdr, .pl_len = 28 };
	unsigned char buf[512];
	struct eg_site_ctr c;
	__u32 local, ret, want[6] = { XDP_PASS, XDP_PASS, XDP_PASS, XDP_DROP, XDP_DROP, XDP_DROP };
	int pfd, i, bad = 0, len, passed = 0, got_wrong = 0, slack;
	struct timespec t0, t1;

	inet_pton(AF_INET, LOCAL, &local);
	if (!skel) {
		fail("ike rate: open skeleton");
		return;
	}
	skel->rodata->local_addr = local;
	skel->rodata->ike_rate = 1;
	skel->rodata->ike_burst = 3;
	if (xdp_classify_bpf__load(skel)) {
		fail("ike rate: load: %s", strerror(errno));
		xdp_classify_bpf__destroy(skel);
		return;
	}
	add_site(skel, SITE_A, 101, SLOT_A, 1, 0);
	add_site(skel, SITE_B, 102, SLOT_B, 1, 0);
	add_spi(skel, SPI_A, 101, SITE_A, SLOT_A);
	pfd = bpf_program__fd(skel->progs.xdp_classify);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 6; i++) {
		len = build(i % 2 ? &natt : &ike, buf, sizeof(buf));
		if (run(pfd, buf, len, &ret))
			ret = ~0u;
		passed += ret == XDP_PASS;
		if (ret != want[i])
			got_wrong = i + 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* a machine that stalls s seconds between the packets refills s
	 * tokens: allowed, not a failure */
	slack = (int)((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (got_wrong && (passed < 3 || passed > 3 + slack)) {
		fail("ike rate: site a's 6 IKE packets: %d passed, want 3 (or up to %d after a "
		     "%lld s stall); packet %d wrong", passed, 3 + slack,
		     (long long)(t1.tv_sec - t0.tv_sec), got_wrong);
		bad = 1;
	}
	len = build(&esp, buf, sizeof(buf));
	if (run(pfd, buf, len, &ret) || ret != XDP_PASS) {
		fail("ike rate: ESP after the IKE limit: verdict %u, want pass", ret);
		bad = 1;
	}
	len = build(&ike_b, buf, sizeof(buf));
	if (run(pfd, buf, len, &ret) || ret != XDP_PASS) {
		fail("ike rate: site b's first IKE: verdict %u, want pass", ret);
		bad = 1;
	}
	site_sum(bpf_map__fd(skel->maps.eg_site_ctr), SLOT_A, &c);
	if (c.ike_pkts != (__u64)passed || c.esp_pkts != 1) {
		fail("ike rate: site a ike_pkts %llu esp_pkts %llu, want %d and 1",
		     (unsigned long long)c.ike_pkts, (unsigned long long)c.esp_pkts, passed);
		bad = 1;
	}
	{
		struct eg_site_ctr v[ncpus];
		__u64 drops = 0;
		__u32 slot = SLOT_A;

		bpf_map_lookup_elem(bpf_map__fd(skel->maps.eg_site_ctr), &slot, v);
		for (i = 0; i < ncpus; i++)
			drops += v[i].drop_ike_rate;
		if (drops != (__u64)(6 - passed)) {
			fail("ike rate: site a drop_ike_rate %llu, want %d",
			     (unsigned long long)drops, 6 - passed);
			bad = 1;
		}
	}
	xdp_classify_bpf__destroy(skel);
	if (bad) {
		n_fail++;
		printf("not ok: IKE rate per site\n");
	} else {
		n_pass++;
		printf("ok: IKE rate per site: a burst of 3, then dropped and counted; ESP and "
		       "other sites not limited\n");
	}
}

/* The first address of 10/8 that is not ip and hashes to ip's bucket. */
static int find_collider(const char *ip, char *out)
{
	__u32 a, x, h;

	inet_pton(AF_INET, ip, &a);
	h = eg_src_hash(a);
	for (x = 0x0a000000; x < 0x0b000000; x++)
		if (htonl(x) != a && eg_src_hash(htonl(x)) == h) {
			x = htonl(x);
			inet_ntop(AF_INET, &x, out, INET_ADDRSTRLEN);
			return 0;
		}
	return -1;
}

int main(void)
{
	struct xdp_classify_bpf *skel;
	__u32 local;
	unsigned i;
	int shared;

	ncpus = libbpf_num_possible_cpus();
	skel = xdp_classify_bpf__open();
	if (!skel) {
		fprintf(stderr, "open skeleton: %s\n", strerror(errno));
		return 1;
	}
	inet_pton(AF_INET, LOCAL, &local);
	skel->rodata->local_addr = local;
	if (xdp_classify_bpf__load(skel)) {
		fprintf(stderr, "load: %s\n", strerror(errno));
		xdp_classify_bpf__destroy(skel);
		return 1;
	}
	if (find_collider(SITE_A, collider_a)) {
		fail("no address shares %s's eg_src bucket", SITE_A);
		return 1;
	}
	add_spi(skel, SPI_A, 101, SITE_A, SLOT_A);
	add_spi(skel, SPI_B, 102, SITE_B, SLOT_B);
	/* every case twice: each site alone in its bucket, then shared */
	for (shared = 0; shared < 2; shared++) {
		printf("# eg_src buckets %s\n", shared ? "shared (eg_sites answers)" :
		       "each holding its one site");
		add_site(skel, SITE_A, 101, SLOT_A, 1, shared);
		add_site(skel, SITE_B, 102, SLOT_B, 1, shared);
		add_site(skel, SITE_D, 103, SLOT_D, 0, shared);
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			run_case(skel, &cases[i]);
		run_truncations(skel);
	}
	run_ike_rate();

	xdp_classify_bpf__destroy(skel);
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail || failures ? 1 : 0;
}
