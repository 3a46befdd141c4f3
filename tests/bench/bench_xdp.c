// SPDX-License-Identifier: GPL-2.0
/*
 * bench_xdp.c - ns/packet under BPF_PROG_TEST_RUN, in one run, for:
 *   - a bare XDP_PASS program (the floor),
 *   - our classifier on ESP from a known site, a packet from an unknown
 *     source, and a NAT-T keepalive,
 *   - the peer: xdp-filter's IP allow-list program (xdpfilt_alw_ip.o from
 *     Debian's xdp-tools) with its filter map holding the same source, on
 *     the same ESP packet.
 * Each figure is the median of 5 runs of `repeat` iterations. The verdict
 * of every program on its packet is checked before it is timed.
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

#include "espgate.h"
#include "xdp_classify.skel.h"
#include "xdp_pass.skel.h"

#define RUNS 5
#define SITE_IP "198.51.100.7"
#define STRANGER "192.0.2.66"
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

int main(int argc, char **argv)
{
	const char *json = NULL;
	const char *xf = "/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_ip.o";
	static const unsigned char esp[16] = { 0, 1, 0, 0x0a, 0, 0, 0, 1 };
	static const unsigned char ka[1] = { 0xff };
	unsigned char p_esp[128], p_unk[128], p_ka[128];
	int l_esp, l_unk, l_ka, c, rc = 1, ncpus;
	struct xdp_classify_bpf *cls = NULL;
	struct xdp_pass_bpf *pass = NULL;
	struct bpf_object *xobj = NULL;
	__u32 repeat = 10000000, a, x_nomatch;
	int xfd;
	struct {
		const char *name, *what;
		double ns;
	} r[6];
	unsigned char p_unk_ike[128];
	int l_unk_ike;
	static const unsigned char ike[28] = { [17] = 0x20, [18] = 34 };
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
	l_esp = mkpkt(p_esp, SITE_IP, esp, sizeof(esp));
	l_unk = mkpkt(p_unk, STRANGER, esp, sizeof(esp));
	l_ka = mkpkt(p_ka, SITE_IP, ka, sizeof(ka));
	l_unk_ike = mkpkt(p_unk_ike, STRANGER, ike, sizeof(ike));
	p_unk_ike[36] = 0x01; p_unk_ike[37] = 0xf4;	/* to port 500 */

	/* the floor */
	pass = xdp_pass_bpf__open_and_load();
	if (!pass)
		goto out;

	/* ours, with one site and its SPI */
	cls = xdp_classify_bpf__open();
	if (!cls)
		goto out;
	inet_pton(AF_INET, LOCAL, &a);
	cls->rodata->local_addr = a;
	if (xdp_classify_bpf__load(cls))
		goto out;
	{
		struct eg_site s = { .site_id = 1, .slot = 0, .flags = EG_SITE_ENABLED };
		struct eg_spi v = { .site_id = 1, .slot = 0 };
		__u32 spi = htonl(SPI);

		inet_pton(AF_INET, SITE_IP, &a);
		v.saddr = a;
		if (bpf_map_update_elem(bpf_map__fd(cls->maps.eg_sites), &a, &s, 0) ||
		    bpf_map_update_elem(bpf_map__fd(cls->maps.eg_spis), &spi, &v, 0))
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
	xfd = bpf_program__fd(bpf_object__next_program(xobj, NULL));
	/*
	 * What the program answers without a match, so that we can check the
	 * timed runs take the match path (Debian's build answers XDP_DROP on
	 * a match and XDP_PASS otherwise; we time the lookup, not the policy).
	 */
	{
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p_esp,
			    .data_size_in = l_esp, .repeat = 1);

		if (bpf_prog_test_run_opts(xfd, &o))
			goto out;
		x_nomatch = o.retval;
	}
	{
		__u64 vals[ncpus];
		struct bpf_map *m = bpf_object__find_map_by_name(xobj, "filter_ipv4");
		int i;

		/* xdp-filter's MAP_FLAG_SRC is bit 0: match on the source. */
		for (i = 0; i < ncpus; i++)
			vals[i] = 1;
		inet_pton(AF_INET, SITE_IP, &a);
		if (!m || bpf_map_update_elem(bpf_map__fd(m), &a, vals, 0)) {
			fprintf(stderr, "xdp-filter map: %s\n", strerror(errno));
			goto out;
		}
	}

	r[0].name = "xdp_pass";
	r[0].what = "bare XDP_PASS (floor), ESP packet";
	r[0].ns = time_prog(bpf_program__fd(pass->progs.xdp_pass), p_esp, l_esp,
			    XDP_PASS, repeat);
	r[1].name = "espgate_known_esp";
	r[1].what = "espgate: ESP from a known site (pass)";
	r[1].ns = time_prog(bpf_program__fd(cls->progs.xdp_classify), p_esp, l_esp,
			    XDP_PASS, repeat);
	r[2].name = "espgate_unknown_src";
	r[2].what = "espgate: unknown source, ESP (drop)";
	r[2].ns = time_prog(bpf_program__fd(cls->progs.xdp_classify), p_unk, l_unk,
			    XDP_DROP, repeat);
	r[3].name = "espgate_keepalive";
	r[3].what = "espgate: NAT-T keepalive (timed, drop)";
	r[3].ns = time_prog(bpf_program__fd(cls->progs.xdp_classify), p_ka, l_ka,
			    XDP_DROP, repeat);
	r[4].name = "xdpfilter_alw_ip";
	r[4].what = "peer: xdp-filter alw_ip, same source (match)";
	r[4].ns = time_prog(xfd, p_esp, l_esp,
			    x_nomatch == XDP_PASS ? XDP_DROP : XDP_PASS, repeat);
	r[5].name = "espgate_unknown_src_ike";
	r[5].what = "espgate: unknown source, IKE on 500 (drop)";
	r[5].ns = time_prog(bpf_program__fd(cls->progs.xdp_classify), p_unk_ike,
			    l_unk_ike, XDP_DROP, repeat);
	for (c = 0; c < 6; c++)
		if (r[c].ns < 0)
			goto out;

	printf("%-46s %10s\n", "program and packet", "ns/packet");
	for (c = 0; c < 6; c++)
		printf("%-46s %10.1f\n", r[c].what, r[c].ns);
	printf("(BPF_PROG_TEST_RUN, repeat %u, median of %d runs)\n", repeat, RUNS);

	if (json) {
		f = fopen(json, "w");
		if (!f) {
			fprintf(stderr, "%s: %s\n", json, strerror(errno));
			goto out;
		}
		fprintf(f, "{\n  \"method\": \"BPF_PROG_TEST_RUN\",\n  \"repeat\": %u,\n"
			"  \"runs\": %d,\n  \"statistic\": \"median\",\n  \"ns_per_packet\": {\n",
			repeat, RUNS);
		for (c = 0; c < 6; c++)
			fprintf(f, "    \"%s\": %.1f%s\n", r[c].name, r[c].ns, c < 5 ? "," : "");
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
