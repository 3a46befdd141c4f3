// SPDX-License-Identifier: GPL-2.0
/*
 * bench_xdp.c - ns/packet under BPF_PROG_TEST_RUN, in one run, for:
 *   - a bare XDP_PASS program (the floor),
 *   - our classifier on every path a flood can take: ESP from a known site,
 *     a packet from an unknown source (ESP, IKE), ESP with an unknown SPI,
 *     a NAT-T keepalive (from a site alone in its eg_src bucket and from
 *     one in a shared bucket, which costs the eg_sites hash lookup),
 *   - the peer: xdp-filter's IP allow-list program (xdpfilt_alw_ip.o from
 *     Debian's xdp-tools) with its filter map holding the same source, on
 *     the same ESP packet.
 * Each figure is the median of 5 runs of `repeat` iterations. The verdict
 * of every program on its packet is checked before it is timed, and each
 * of our figures is printed as a multiple of xdp-filter's from this run,
 * against the target (drops <= 1x, known-site ESP <= 0.8x).
 *
 * Usage: bench_xdp [-r REPEAT] [-o JSON] [-x XDPFILTER_OBJ]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp_index.h"
#include "espgate.h"
#include "xdp_classify.skel.h"
#include "xdp_pass.skel.h"

#define RUNS 5
#define SITE_IP "198.51.100.7"
#define STRANGER "192.0.2.66"
#define SHARED_IP "198.51.100.9"	/* a site whose eg_src bucket is shared */
#define LOCAL "203.0.113.1"
#define SPI 0x1000a

/* Ethernet + IPv4 + UDP to 4500 + payload. */
static int mkpkt(unsigned char *b, const char *src, const unsigned char *pl,
		 int pl_len)
{
	__u32 a;

	memset(b, 0, 128);
	memcpy(b, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00", 14);
	b[14] = 0x45;
	b[16] = 0; b[17] = 20 + 8 + pl_len;
	b[22] = 64; b[23] = 17;
	inet_pton(AF_INET, src, &a); memcpy(b + 26, &a, 4);
	inet_pton(AF_INET, LOCAL, &a); memcpy(b + 30, &a, 4);
	b[34] = 0x11; b[35] = 0x94; b[36] = 0x11; b[37] = 0x94;
	b[38] = 0; b[39] = 8 + pl_len;
	memcpy(b + 42, pl, pl_len);
	return 42 + pl_len;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* Median ns/packet over RUNS; -1 on error or unexpected verdict. */
static double time_prog(int fd, const unsigned char *pkt, int len, __u32 want,
			__u32 repeat)
{
	__u32 d[RUNS];
	int i;

	for (i = 0; i < RUNS; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt,
			    .data_size_in = len, .repeat = repeat);

		if (bpf_prog_test_run_opts(fd, &o)) {
			fprintf(stderr, "test run: %s\n", strerror(errno));
			return -1;
		}
		if (o.retval != want) {
			fprintf(stderr, "verdict %u, want %u\n", o.retval, want);
			return -1;
		}
		d[i] = o.duration;
	}
	qsort(d, RUNS, sizeof(d[0]), cmp_u32);
	return d[RUNS / 2];
}

/* One timed run: a program on a packet, and the verdict it must give. */
struct run {
	const char *name, *what;
	int prog;		/* 0 floor, 1 ours, 2 xdp-filter */
	const char *src;
	const unsigned char *pl;
	int pl_len, dport;
	__u32 want;
	double limit;		/* at most this times xdp-filter's; 0: none */
	double ns;
};

static const unsigned char esp[16] = { 0, 1, 0, 0x0a, 0, 0, 0, 1 };
static const unsigned char esp_other[16] = { 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1 };
static const unsigned char ka[1] = { 0xff };
static const unsigned char ike[28] = { [17] = 0x20, [18] = 34 };

static struct run runs[] = {
	{ "xdp_pass", "bare XDP_PASS (floor), ESP packet", 0, SITE_IP, esp, 16, 4500, XDP_PASS, 0, 0 },
	{ "xdpfilter_alw_ip", "peer: xdp-filter alw_ip, same source (match)", 2, SITE_IP, esp, 16, 4500, 0, 0, 0 },
	{ "espgate_known_esp", "espgate: ESP from a known site (pass)", 1, SITE_IP, esp, 16, 4500, XDP_PASS, 0.8, 0 },
	{ "espgate_unknown_src", "espgate: unknown source, ESP (drop)", 1, STRANGER, esp, 16, 4500, XDP_DROP, 1.0, 0 },
	{ "espgate_unknown_src_ike", "espgate: unknown source, IKE on 500 (drop)", 1, STRANGER, ike, 28, 500, XDP_DROP, 1.0, 0 },
	{ "espgate_unknown_spi", "espgate: known site, unknown SPI (drop)", 1, SITE_IP, esp_other, 16, 4500, XDP_DROP, 1.0, 0 },
	{ "espgate_keepalive", "espgate: NAT-T keepalive (timed, drop)", 1, SITE_IP, ka, 1, 4500, XDP_DROP, 1.0, 0 },
	{ "espgate_keepalive_shared", "espgate: keepalive, site in a shared bucket", 1, SHARED_IP, ka, 1, 4500, XDP_DROP, 0, 0 },
	{ "espgate_ike", "espgate: IKE on 500 from a known site (pass)", 1, SITE_IP, ike, 28, 500, XDP_PASS, 0, 0 },
};
#define NRUNS (sizeof(runs) / sizeof(runs[0]))

static int add_site(struct xdp_classify_bpf *cls, const char *ip, __u32 id,
		    __u32 slot, int shared)
{
	struct eg_site s = { .site_id = id, .slot = slot, .flags = EG_SITE_ENABLED };
	struct eg_src src = { .slot = slot, .flags = EG_SRC_ONE | EG_SITE_ENABLED };
	__u32 a;

	inet_pton(AF_INET, ip, &a);
	src.saddr = a;
	if (shared)
		src = (struct eg_src){ .flags = EG_SRC_MANY };
	return bpf_map_update_elem(bpf_map__fd(cls->maps.eg_sites), &a, &s, 0) ||
	       eg_src_put(bpf_map__fd(cls->maps.eg_src), a, &src);
}

int main(int argc, char **argv)
{
	const char *json = NULL;
	const char *xf = "/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_ip.o";
	struct xdp_classify_bpf *cls = NULL;
	struct xdp_pass_bpf *pass = NULL;
	struct bpf_object *xobj = NULL;
	__u32 repeat = 10000000, a, x_nomatch;
	int c, rc = 1, ncpus, fds[3], missed = 0;
	double peer = 0;
	unsigned i;
	FILE *f;

	while ((c = getopt(argc, argv, "r:o:x:")) != -1) {
		switch (c) {
		case 'r': repeat = strtoul(optarg, NULL, 10); break;
		case 'o': json = optarg; break;
		case 'x': xf = optarg; break;
		default:
			fprintf(stderr, "usage: bench_xdp [-r REPEAT] [-o JSON] [-x OBJ]\n");
			return 2;
		}
	}
	ncpus = libbpf_num_possible_cpus();

	/* the floor */
	pass = xdp_pass_bpf__open_and_load();
	if (!pass)
		goto out;
	fds[0] = bpf_program__fd(pass->progs.xdp_pass);

	/* ours, with two sites (one alone in its eg_src bucket, one in a
	 * shared bucket) and the first one's SPI */
	cls = xdp_classify_bpf__open();
	if (!cls)
		goto out;
	inet_pton(AF_INET, LOCAL, &a);
	cls->rodata->local_addr = a;
	if (xdp_classify_bpf__load(cls))
		goto out;
	fds[1] = bpf_program__fd(cls->progs.xdp_classify);
	{
		struct eg_spi v = { .site_id = 1, .slot = 0, .spi = htonl(SPI) };
		__u32 idx = eg_spi_idx(SPI);

		inet_pton(AF_INET, SITE_IP, &v.saddr);
		if (add_site(cls, SITE_IP, 1, 0, 0) || add_site(cls, SHARED_IP, 2, 1, 1) ||
		    bpf_map_update_elem(bpf_map__fd(cls->maps.eg_spis), &idx, &v, 0))
			goto out;
	}

	/* the peer: xdp-filter's allow-list, its map holding the same source */
	xobj = bpf_object__open_file(xf, NULL);
	if (libbpf_get_error(xobj)) {
		fprintf(stderr, "open %s: %s\n", xf, strerror(errno));
		xobj = NULL;
		goto out;
	}
	{
		struct bpf_map *m;

		/* no pinning into the system's bpffs from a benchmark */
		bpf_object__for_each_map(m, xobj)
			bpf_map__set_pin_path(m, NULL);
	}
	if (bpf_object__load(xobj)) {
		fprintf(stderr, "load %s: %s\n", xf, strerror(errno));
		goto out;
	}
	fds[2] = bpf_program__fd(bpf_object__next_program(xobj, NULL));
	/*
	 * What the program answers without a match, so that we can check the
	 * timed runs take the match path (Debian's build answers XDP_DROP on
	 * a match and XDP_PASS otherwise; we time the lookup, not the policy).
	 */
	{
		unsigned char pkt[128];
		int len = mkpkt(pkt, SITE_IP, esp, sizeof(esp));
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt,
			    .data_size_in = len, .repeat = 1);

		if (bpf_prog_test_run_opts(fds[2], &o))
			goto out;
		x_nomatch = o.retval;
	}
	{
		__u64 vals[ncpus];
		struct bpf_map *m = bpf_object__find_map_by_name(xobj, "filter_ipv4");
		int j;

		/* xdp-filter's MAP_FLAG_SRC is bit 0: match on the source. */
		for (j = 0; j < ncpus; j++)
			vals[j] = 1;
		inet_pton(AF_INET, SITE_IP, &a);
		if (!m || bpf_map_update_elem(bpf_map__fd(m), &a, vals, 0)) {
			fprintf(stderr, "xdp-filter map: %s\n", strerror(errno));
			goto out;
		}
	}

	for (i = 0; i < NRUNS; i++) {
		struct run *r = &runs[i];
		unsigned char pkt[128];
		int len = mkpkt(pkt, r->src, r->pl, r->pl_len);

		pkt[36] = r->dport >> 8;
		pkt[37] = r->dport & 0xff;
		if (r->prog == 2)
			r->want = x_nomatch == XDP_PASS ? XDP_DROP : XDP_PASS;
		r->ns = time_prog(fds[r->prog], pkt, len, r->want, repeat);
		if (r->ns < 0)
			goto out;
		if (r->prog == 2)
			peer = r->ns;
	}

	printf("%-46s %10s %8s %s\n", "program and packet", "ns/packet", "x peer", "target");
	for (i = 0; i < NRUNS; i++) {
		const struct run *r = &runs[i];
		double x = peer > 0 ? r->ns / peer : 0;
		int miss = r->limit > 0 && x > r->limit;

		printf("%-46s %10.1f %8.2f %s\n", r->what, r->ns, x,
		       r->limit > 0 ? (miss ? "MISSED" : "met") : "");
		missed += miss;
	}
	printf("(BPF_PROG_TEST_RUN, repeat %u, median of %d runs; peer = xdp-filter's"
	       " match in this run; targets: drops <= 1.00x, known-site ESP <= 0.80x)\n",
	       repeat, RUNS);
	if (missed)
		printf("%d target(s) missed in this run\n", missed);

	if (json) {
		f = fopen(json, "w");
		if (!f) {
			fprintf(stderr, "%s: %s\n", json, strerror(errno));
			goto out;
		}
		fprintf(f, "{\n  \"method\": \"BPF_PROG_TEST_RUN\",\n  \"repeat\": %u,\n"
			"  \"runs\": %d,\n  \"statistic\": \"median\",\n  \"targets_missed\": %d,\n"
			"  \"ns_per_packet\": {\n", repeat, RUNS, missed);
		for (i = 0; i < NRUNS; i++)
			fprintf(f, "    \"%s\": %.1f%s\n", runs[i].name, runs[i].ns,
				i + 1 < NRUNS ? "," : "");
		fprintf(f, "  }\n}\n");
		fclose(f);
	}
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench_xdp failed\n");
	bpf_object__close(xobj);
	xdp_classify_bpf__destroy(cls);
	xdp_pass_bpf__destroy(pass);
	return rc;
}
