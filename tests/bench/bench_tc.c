// SPDX-License-Identifier: GPL-2.0
/*
 * bench_tc.c - the inner (TC) program under BPF_PROG_TEST_RUN, in one run:
 *   - a bare TC_ACT_OK program (the floor), tc_pass;
 *   - tc_inner on a packet of an existing TCP flow, on the probe, on a
 *     license drop;
 *   - tc_inner on a new flow every packet: tc_bump rewrites the inner
 *     destination and tail-calls tc_inner, so repetition i inserts flow i
 *     (the table goes from empty to `repeat` flows during a run; it is swept
 *     empty before each run). tc_bump tail-calling tc_pass is measured too,
 *     and "new flow, net" = bump->inner - bump->pass + pass;
 *   - all of it for both flow-table layouts, preallocated and
 *     BPF_F_NO_PREALLOC (eg_flows and eg_devs), each in a fresh instance;
 *   - the kernel's memory accounting (memlock in /proc/self/fdinfo) of every
 *     map, and of eg_flows empty, holding 1,000,000 flows, swept again;
 *   - eg_flows_sweep() over 1,000,000 live flows (scan), one budgeted
 *     eg_flows_sweep_step() over them (what ipsecd does once a second), the
 *     same flows all expired (delete), and an empty table.
 * Each ns figure is the median of 5 runs of `repeat` iterations, every
 * verdict (and for new flows the number of flows made) checked.
 *
 * Usage: bench_tc [-r REPEAT] [-o JSON]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "espgate.h"
#include "flows.h"
#include "tc_inner.skel.h"
#include "tc_pass.skel.h"

#define RUNS	5
#define PROBE	"100.64.0.1"
#define SRC	"10.1.0.11"
#define DST	"93.184.216.34"
#define LO	1	/* test_run's default device: the site is keyed by it */

static int ncpus;

/* Ethernet + IPv4 + L4 header (TCP 20, UDP/ICMP 8, other 8 bytes of zero). */
static int mkpkt(unsigned char *b, int proto, int dport, int flags, const char *dst)
{
	int l4 = proto == IPPROTO_TCP ? 20 : 8;
	__u32 a;

	memset(b, 0, 128);
	memcpy(b, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00", 14);
	b[14] = 0x45;
	b[17] = 20 + l4;
	b[22] = 64;
	b[23] = proto;
	inet_pton(AF_INET, SRC, &a);
	memcpy(b + 26, &a, 4);
	inet_pton(AF_INET, dst, &a);
	memcpy(b + 30, &a, 4);
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		b[34] = 0x9c; b[35] = 0x40;	/* sport 40000 */
		b[36] = dport >> 8; b[37] = dport & 0xff;
	}
	if (proto == IPPROTO_TCP) {
		b[46] = 5 << 4;
		b[47] = flags;
	} else if (proto == IPPROTO_UDP) {
		b[39] = 8;
	} else if (proto == IPPROTO_ICMP) {
		b[34] = 8;	/* echo request */
		b[39] = 1;
	}
	return 34 + l4;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static int run(int fd, const unsigned char *pkt, int len, __u32 repeat,
	       __u32 *ret, __u32 *dur)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o)) {
		fprintf(stderr, "test run: %s\n", strerror(errno));
		return -1;
	}
	*ret = o.retval;
	*dur = o.duration;
	return 0;
}

/* Median ns/packet over RUNS; -1 on error or unexpected verdict. */
static double time_prog(int fd, const unsigned char *pkt, int len, __u32 want,
			__u32 repeat)
{
	__u32 d[RUNS], ret;
	int i;

	for (i = 0; i < RUNS; i++) {
		if (run(fd, pkt, len, repeat, &ret, &d[i]))
			return -1;
		if (ret != want) {
			fprintf(stderr, "verdict %u, want %u\n", ret, want);
			return -1;
		}
	}
	qsort(d, RUNS, sizeof(d[0]), cmp_u32);
	return d[RUNS / 2];
}

static __u64 reason_sum(struct tc_inner_bpf *s, __u32 r)
{
	struct eg_ctr v[ncpus];
	__u64 n = 0;
	int c;

	if (bpf_map_lookup_elem(bpf_map__fd(s->maps.eg_in_stats), &r, v))
		return 0;
	for (c = 0; c < ncpus; c++)
		n += v[c].pkts;
	return n;
}

/* The kernel's accounting of a map: memlock in its fdinfo. */
static long long memlock(int fd)
{
	char path[64], line[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Sweep at now + ahead_s; ms taken, what it saw and freed. */
static double timed_sweep(struct eg_flows *ft, __u64 ahead_s, struct eg_sweep_res *r)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (eg_flows_sweep(ft, eg_mono_ns() + ahead_s * EG_NS, r))
		return -1;
	return ms_since(&t0);
}

static struct tc_inner_bpf *load_inner(int prealloc, struct eg_flows **ft)
{
	struct eg_in_cfg cfg = EG_IN_CFG_DEFAULT;
	struct eg_isite site = { .site_id = 1, .slot = 0,
				 .flags = EG_LIC_FW, .flow_cap = EG_MAX_FLOWS };
	struct tc_inner_bpf *s = tc_inner_bpf__open();
	__u32 fl = prealloc ? 0 : BPF_F_NO_PREALLOC, k = LO;

	if (!s)
		return NULL;
	if (bpf_map__set_map_flags(s->maps.eg_flows, fl) ||
	    bpf_map__set_map_flags(s->maps.eg_devs, fl) ||
	    tc_inner_bpf__load(s))
		goto err;
	inet_pton(AF_INET, PROBE, &site.probe_ip);
	if (bpf_map_update_elem(bpf_map__fd(s->maps.eg_ifsite), &k, &site, 0) ||
	    eg_flows_open(ft, bpf_map__fd(s->maps.eg_flows), bpf_map__fd(s->maps.eg_devs),
			  bpf_map__fd(s->maps.eg_in_cnt), &cfg))
		goto err;
	return s;
err:
	fprintf(stderr, "load tc_inner: %s\n", strerror(errno));
	tc_inner_bpf__destroy(s);
	return NULL;
}

/*
 * New flow per packet: sweep the table empty, run tc_bump -> tc_inner
 * `repeat` times, check that exactly `repeat` flows were made. Median ns.
 */
static double time_new_flows(struct tc_pass_bpf *pass, struct tc_inner_bpf *s,
			     struct eg_flows *ft, const unsigned char *pkt, int len,
			     __u32 repeat)
{
	int jfd = bpf_map__fd(pass->maps.jmp), ifd = bpf_program__fd(s->progs.tc_inner);
	__u32 d[RUNS], ret, k = 0;
	int i;

	if (bpf_map_update_elem(jfd, &k, &ifd, 0))
		return -1;
	for (i = 0; i < RUNS; i++) {
		__u64 before;

		eg_flows_sweep(ft, eg_mono_ns() + 3600 * EG_NS, NULL);
		before = reason_sum(s, EG_IN_PASS_NEW);
		if (run(bpf_program__fd(pass->progs.tc_bump), pkt, len, repeat, &ret, &d[i]))
			return -1;
		if (ret != TC_ACT_OK || reason_sum(s, EG_IN_PASS_NEW) - before != repeat) {
			fprintf(stderr, "new flows: verdict %u, %llu flows made, want %u\n",
				ret, (unsigned long long)(reason_sum(s, EG_IN_PASS_NEW) - before),
				repeat);
			return -1;
		}
	}
	qsort(d, RUNS, sizeof(d[0]), cmp_u32);
	return d[RUNS / 2];
}

/* One flow-table layout, everything measured on it. */
struct variant {
	const char *name;
	int prealloc;
	double existing_tcp, existing_udp, probe, drop, new_raw, new_net;
	double scan_ms, step_ms, delete_ms, empty_ms;
	long long flows_empty, flows_full, flows_swept, devs_empty;
};

static unsigned char p_tcp[128], p_udp[128], p_probe[128], p_gre[128];
static int l_tcp, l_udp, l_probe, l_gre;

static int bench_variant(struct variant *v, struct tc_pass_bpf *pass, double floor,
			 double bump_floor, __u32 repeat, __u32 nrep, int show_maps)
{
	struct eg_flows *ft = NULL;
	struct tc_inner_bpf *s = load_inner(v->prealloc, &ft);
	struct eg_sweep_res sr;
	struct eg_in_cnt cnt;
	struct bpf_map *map;
	int fd, rc = -1;

	if (!s)
		return -1;
	fd = bpf_program__fd(s->progs.tc_inner);
	v->flows_empty = memlock(bpf_map__fd(s->maps.eg_flows));
	v->devs_empty = memlock(bpf_map__fd(s->maps.eg_devs));
	if (show_maps) {
		printf("%-16s %-13s %8s %6s %14s\n", "map", "type", "max", "flags",
		       "memlock bytes");
		bpf_object__for_each_map(map, s->obj)
			printf("%-16s %-13s %8u %6x %14lld\n", bpf_map__name(map),
			       libbpf_bpf_map_type_str(bpf_map__type(map)),
			       bpf_map__max_entries(map), bpf_map__map_flags(map),
			       memlock(bpf_map__fd(map)));
		printf("(as loaded by bench_tc with the %s layout; memlock as the kernel "
		       "accounts it, %d possible CPUs)\n\n", v->name, ncpus);
	}
	/* the first repetition makes the flow, the rest find it */
	if ((v->existing_tcp = time_prog(fd, p_tcp, l_tcp, TC_ACT_OK, repeat)) < 0 ||
	    (v->existing_udp = time_prog(fd, p_udp, l_udp, TC_ACT_OK, repeat)) < 0 ||
	    (v->probe = time_prog(fd, p_probe, l_probe, TC_ACT_OK, repeat)) < 0 ||
	    (v->drop = time_prog(fd, p_gre, l_gre, TC_ACT_SHOT, repeat)) < 0 ||
	    (v->new_raw = time_new_flows(pass, s, ft, p_udp, l_udp, nrep)) < 0)
		goto out;
	v->new_net = v->new_raw - bump_floor + floor;
	/* the table now holds nrep flows (1,000,000 by default) */
	v->flows_full = memlock(bpf_map__fd(s->maps.eg_flows));
	eg_flows_counts(ft, 0, &cnt);
	if (cnt.flows != nrep) {
		fprintf(stderr, "%s: %llu flows after the run, want %u\n", v->name,
			(unsigned long long)cnt.flows, nrep);
		goto out;
	}
	if ((v->scan_ms = timed_sweep(ft, 0, &sr)) < 0 || sr.flows_freed)
		goto out;
	{
		struct timespec t0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (eg_flows_sweep_step(ft, eg_mono_ns(), EG_SWEEP_BUDGET, &sr) < 0)
			goto out;
		v->step_ms = ms_since(&t0);
	}
	if ((v->delete_ms = timed_sweep(ft, 3600, &sr)) < 0 || sr.flows_freed != nrep)
		goto out;
	if ((v->empty_ms = timed_sweep(ft, 0, &sr)) < 0)
		goto out;
	usleep(200000);	/* let RCU and the allocator's caches settle */
	v->flows_swept = memlock(bpf_map__fd(s->maps.eg_flows));
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "%s: failed\n", v->name);
	eg_flows_close(ft);
	tc_inner_bpf__destroy(s);
	return rc;
}

int main(int argc, char **argv)
{
	struct variant var[2] = { { .name = "prealloc", .prealloc = 1 },
				  { .name = "no_prealloc", .prealloc = 0 } };
	__u32 repeat = 1000000, nrep, k = 0, chosen_flags;
	double floor, bump_floor;
	struct tc_pass_bpf *pass = NULL;
	struct tc_inner_bpf *probe_skel;
	const char *json = NULL;
	int c, rc = 1, i, chosen;
	FILE *f;

	while ((c = getopt(argc, argv, "r:o:")) != -1) {
		switch (c) {
		case 'r': repeat = strtoul(optarg, NULL, 10); break;
		case 'o': json = optarg; break;
		default:
			fprintf(stderr, "usage: bench_tc [-r REPEAT] [-o JSON]\n");
			return 2;
		}
	}
	if (!repeat)
		return 2;
	/* a run of new flows cannot make more flows than the table holds */
	nrep = repeat < EG_MAX_FLOWS ? repeat : EG_MAX_FLOWS;
	ncpus = libbpf_num_possible_cpus();
	l_tcp = mkpkt(p_tcp, IPPROTO_TCP, 443, 0x10, DST);
	l_udp = mkpkt(p_udp, IPPROTO_UDP, 53, 0, DST);
	l_probe = mkpkt(p_probe, IPPROTO_ICMP, 0, 0, PROBE);
	l_gre = mkpkt(p_gre, 47, 0, 0, DST);

	/* which layout tc_inner.bpf.c itself declares */
	probe_skel = tc_inner_bpf__open();
	if (!probe_skel)
		goto out;
	chosen_flags = bpf_map__map_flags(probe_skel->maps.eg_flows);
	tc_inner_bpf__destroy(probe_skel);
	chosen = chosen_flags & BPF_F_NO_PREALLOC ? 1 : 0;

	pass = tc_pass_bpf__open_and_load();
	if (!pass)
		goto out;
	floor = time_prog(bpf_program__fd(pass->progs.tc_pass), p_tcp, l_tcp,
			  TC_ACT_OK, repeat);
	{
		int pfd = bpf_program__fd(pass->progs.tc_pass);

		if (bpf_map_update_elem(bpf_map__fd(pass->maps.jmp), &k, &pfd, 0))
			goto out;
	}
	bump_floor = time_prog(bpf_program__fd(pass->progs.tc_bump), p_udp, l_udp,
			       TC_ACT_OK, repeat);
	if (floor < 0 || bump_floor < 0)
		goto out;
	for (i = 0; i < 2; i++)
		if (bench_variant(&var[i], pass, floor, bump_floor, repeat, nrep,
				  i == chosen))
			goto out;

	printf("%-44s %12s %12s\n", "ns/packet", "prealloc", "no_prealloc");
	printf("%-44s %12.1f %12.1f\n", "bare TC_ACT_OK (floor)", floor, floor);
	printf("%-44s %12.1f %12.1f\n", "tc_bump -> tc_pass (bump floor)", bump_floor,
	       bump_floor);
#define ROW(label, field) \
	printf("%-44s %12.1f %12.1f\n", label, var[0].field, var[1].field)
	ROW("tc_inner: TCP ACK of an existing flow", existing_tcp);
	ROW("tc_inner: UDP of an existing flow", existing_udp);
	ROW("tc_inner: ICMP probe (site stamped)", probe);
	ROW("tc_inner: GRE, license drop", drop);
	ROW("tc_bump -> tc_inner: a new flow each", new_raw);
	ROW("tc_inner: new flow, net of bump", new_net);
	printf("(BPF_PROG_TEST_RUN, repeat %u; new flows: %u per run into a table swept\n"
	       " empty before it; median of %d runs)\n\n", repeat, nrep, RUNS);
	printf("%-44s %12s %12s\n", "eg_flows_sweep(), ms", "prealloc", "no_prealloc");
	ROW("full round, 1M live flows, none expired", scan_ms);
	ROW("one step, budget 262144, none expired", step_ms);
	ROW("full round, 1M flows all expired: deleted", delete_ms);
	ROW("full round, empty tables", empty_ms);
	printf("\n%-44s %12s %12s\n", "memlock (kernel accounting), bytes", "prealloc",
	       "no_prealloc");
#undef ROW
#define ROW(label, field) \
	printf("%-44s %12lld %12lld\n", label, var[0].field, var[1].field)
	ROW("eg_flows, empty", flows_empty);
	ROW("eg_flows, 1,000,000 flows", flows_full);
	ROW("eg_flows, swept empty again", flows_swept);
	ROW("eg_devs, empty", devs_empty);
#undef ROW
	printf("(key %zu B, value %zu B; tc_inner.bpf.c uses %s)\n",
	       sizeof(struct eg_flow_key), sizeof(struct eg_flow), var[chosen].name);

	if (json) {
		f = fopen(json, "w");
		if (!f) {
			fprintf(stderr, "%s: %s\n", json, strerror(errno));
			goto out;
		}
		fprintf(f, "{\n  \"method\": \"BPF_PROG_TEST_RUN\",\n  \"repeat\": %u,\n"
			"  \"new_flow_repeat\": %u,\n  \"runs\": %d,\n"
			"  \"statistic\": \"median\",\n  \"chosen\": \"%s\",\n"
			"  \"ns_per_packet\": {\n    \"tc_pass\": %.1f,\n"
			"    \"bump_pass\": %.1f", repeat, nrep, RUNS, var[chosen].name,
			floor, bump_floor);
		for (i = 0; i < 2; i++) {
			const struct variant *v = &var[i];

			fprintf(f, ",\n    \"%s\": { \"existing_tcp\": %.1f, \"existing_udp\": %.1f,"
				" \"probe\": %.1f, \"license_drop\": %.1f, \"bump_new_flow\": %.1f,"
				" \"new_flow_net\": %.1f }", v->name, v->existing_tcp,
				v->existing_udp, v->probe, v->drop, v->new_raw, v->new_net);
		}
		fprintf(f, "\n  },\n  \"sweep_ms\": {");
		for (i = 0; i < 2; i++)
			fprintf(f, "%s\n    \"%s\": { \"scan_1m\": %.1f, \"step_262144\": %.1f,"
				" \"delete_1m\": %.1f, \"empty\": %.1f }", i ? "," : "",
				var[i].name, var[i].scan_ms, var[i].step_ms, var[i].delete_ms,
				var[i].empty_ms);
		fprintf(f, "\n  },\n  \"memlock_bytes\": {");
		for (i = 0; i < 2; i++)
			fprintf(f, "%s\n    \"%s\": { \"flows_empty\": %lld, \"flows_1m\": %lld,"
				" \"flows_swept\": %lld, \"devs_empty\": %lld }", i ? "," : "",
				var[i].name, var[i].flows_empty, var[i].flows_full,
				var[i].flows_swept, var[i].devs_empty);
		fprintf(f, "\n  }\n}\n");
		fclose(f);
	}
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench_tc failed\n");
	tc_pass_bpf__destroy(pass);
	return rc;
}
