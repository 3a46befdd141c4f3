// SPDX-License-Identifier: GPL-2.0
/*
 * test_dp_index.c - user/dp_index.c on real kernel maps of the classifier's
 * shapes: the SPIs it picks index eg_spis without collisions and are never
 * handed out twice while in flight; eg_src buckets follow the sites added,
 * changed, removed and loaded; every step between two bucket states is one
 * the program can read safely at any moment.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "dp_index.h"
#include "espgate.h"

static int n_pass, n_fail;

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf(ok ? "ok: " : "not ok: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	if (ok)
		n_pass++;
	else
		n_fail++;
}

#define CHECK_EQ(what, want, got) do {						\
	long long w_ = (want), g_ = (got);					\
	check(w_ == g_, "%s: expected %lld, got %lld", what, w_, g_);		\
} while (0)

static __u32 ip(const char *s)
{
	__u32 a;

	inet_pton(AF_INET, s, &a);
	return a;
}

/* An address of 10/8 other than a that shares its bucket. */
static __u32 collider(__u32 a)
{
	__u32 x;

	for (x = 0x0a000000; x < 0x0b000000; x++)
		if (htonl(x) != a && eg_src_hash(htonl(x)) == eg_src_hash(a))
			return htonl(x);
	return 0;
}

static struct eg_src bucket(int fd, __u32 saddr)
{
	struct eg_src e = { 0 };
	__u32 h = eg_src_hash(saddr);

	bpf_map_lookup_elem(fd, &h, &e);
	return e;
}

/* What the program makes of a bucket for address a: 0 unknown, 1 from the
 * bucket, 2 "ask eg_sites". */
static int answer(const struct eg_src *e, __u32 a)
{
	if (e->flags & EG_SRC_MANY)
		return 2;
	return (e->flags & EG_SRC_ONE) && e->saddr == a;
}

/*
 * Every pair of bucket states: the steps end in the wanted state, each step
 * changes the flags alone or only fields the flags before it say to ignore,
 * and each intermediate state answers for the old and the new site either
 * as before, as after, or "ask eg_sites" (which the caller keeps right).
 */
static void test_steps(void)
{
	const __u32 A = ip("198.51.100.7"), B = ip("198.51.100.8");
	const struct eg_src st[] = {
		{ 0, 0, 0 },
		{ A, 5, 0 },	/* empty, stale fields */
		{ A, 5, EG_SRC_ONE | EG_SITE_ENABLED },
		{ A, 5, EG_SRC_ONE },
		{ A, 6, EG_SRC_ONE | EG_SITE_ENABLED },
		{ B, 7, EG_SRC_ONE | EG_SITE_ENABLED },
		{ 0, 0, EG_SRC_MANY },
		{ B, 7, EG_SRC_MANY },
	};
	const unsigned n = sizeof(st) / sizeof(st[0]);
	unsigned i, j, bad = 0, pairs = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			struct eg_src out[3], prev = st[i];
			int k, ns = eg_src_steps(st[i], &st[j], out);

			pairs++;
			for (k = 0; k < ns; k++) {
				const struct eg_src *s = &out[k];
				int flags_only = s->saddr == prev.saddr && s->slot == prev.slot;
				int ignored = s->flags == prev.flags && !(prev.flags & EG_SRC_ONE);
				__u32 who[2] = { A, B };
				int w;

				if (!flags_only && !ignored) {
					printf("not ok: step %d of state %u -> %u changes a field "
					       "the program reads (%#x/%u/%#x -> %#x/%u/%#x)\n",
					       k, i, j, prev.saddr, prev.slot, prev.flags,
					       s->saddr, s->slot, s->flags);
					bad++;
				}
				for (w = 0; w < 2; w++) {
					int a = answer(s, who[w]);

					if (a == 1 && !((st[i].flags & EG_SRC_ONE && st[i].saddr == who[w] &&
							 st[i].slot == s->slot && st[i].flags == s->flags) ||
							(st[j].flags & EG_SRC_ONE && st[j].saddr == who[w] &&
							 st[j].slot == s->slot && st[j].flags == s->flags))) {
						printf("not ok: step %d of state %u -> %u answers from a "
						       "bucket that is neither before nor after\n", k, i, j);
						bad++;
					}
				}
				prev = *s;
			}
			if (prev.flags != st[j].flags ||
			    ((st[j].flags & EG_SRC_ONE) &&
			     (prev.saddr != st[j].saddr || prev.slot != st[j].slot))) {
				printf("not ok: state %u -> %u ends in %#x/%u/%#x\n", i, j,
				       prev.saddr, prev.slot, prev.flags);
				bad++;
			}
			if (ns > 3 || (i == j && ns)) {
				printf("not ok: state %u -> %u takes %d steps\n", i, j, ns);
				bad++;
			}
		}
	}
	check(!bad, "eg_src steps: %u state pairs, each step safe to read (%u bad)",
	      pairs, bad);
}

static void test_src_tab(void)
{
	const __u32 A = ip("198.51.100.7"), B = ip("198.51.100.8"), D = ip("203.0.113.9");
	const __u32 C = collider(A);
	struct eg_src_site sa = { A, 3, true }, sb = { B, 4, true }, sc = { C, 5, true };
	struct eg_src_site sd = { D, 6, true };
	struct eg_src_tab *t;
	struct eg_src e;
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_src", 4, sizeof(struct eg_src),
				EG_SRC_BUCKETS, NULL);

	if (fd < 0 || !C || eg_src_tab_open(&t, fd)) {
		check(0, "eg_src map and table: %s", strerror(errno));
		return;
	}
	CHECK_EQ("add a: a's bucket holds a", 0, eg_src_tab_add(t, &sa));
	e = bucket(fd, A);
	check(e.flags == (EG_SRC_ONE | EG_SITE_ENABLED) && e.saddr == A && e.slot == 3,
	      "a alone: flags %#x saddr ok %d slot %u", e.flags, e.saddr == A, e.slot);
	sa.enabled = false;
	CHECK_EQ("a disabled", 0, eg_src_tab_set(t, &sa));
	CHECK_EQ("a's bucket flags once disabled", EG_SRC_ONE, bucket(fd, A).flags);
	CHECK_EQ("add c (same bucket)", 0, eg_src_tab_add(t, &sc));
	CHECK_EQ("a and c: the bucket is shared", EG_SRC_MANY, bucket(fd, A).flags);
	sa.enabled = true;
	CHECK_EQ("a enabled while shared: no change", 0, eg_src_tab_set(t, &sa));
	CHECK_EQ("still shared", EG_SRC_MANY, bucket(fd, A).flags);
	CHECK_EQ("del a", 0, eg_src_tab_del(t, A));
	CHECK_EQ("c left alone: shared until the next load", EG_SRC_MANY, bucket(fd, C).flags);
	CHECK_EQ("del c", 0, eg_src_tab_del(t, C));
	CHECK_EQ("nobody left: empty", 0, bucket(fd, C).flags);
	CHECK_EQ("del c again", -ENOENT, eg_src_tab_del(t, C));
	CHECK_EQ("add b", 0, eg_src_tab_add(t, &sb));

	/* a load on that map: b goes, a and c share, d alone */
	{
		struct eg_src_site v[] = { sa, sc, sd };

		CHECK_EQ("load a, c, d", 0, eg_src_tab_load(t, v, 3));
	}
	CHECK_EQ("after load: b's bucket empty", 0, bucket(fd, B).flags);
	CHECK_EQ("after load: a, c shared", EG_SRC_MANY, bucket(fd, A).flags);
	e = bucket(fd, D);
	check(e.flags == (EG_SRC_ONE | EG_SITE_ENABLED) && e.saddr == D && e.slot == 6,
	      "after load: d alone (flags %#x slot %u)", e.flags, e.slot);
	{
		struct eg_src_site v[] = { sa };

		CHECK_EQ("load a alone", 0, eg_src_tab_load(t, v, 1));
	}
	e = bucket(fd, A);
	check(e.flags == (EG_SRC_ONE | EG_SITE_ENABLED) && e.saddr == A && e.slot == 3,
	      "a's bucket back to a alone after the load (flags %#x)", e.flags);
	CHECK_EQ("d's bucket empty", 0, bucket(fd, D).flags);
	CHECK_EQ("the counts came from the load: del a", 0, eg_src_tab_del(t, A));
	CHECK_EQ("a's bucket empty", 0, bucket(fd, A).flags);
	CHECK_EQ("del d: not counted since the load", -ENOENT, eg_src_tab_del(t, D));
	eg_src_tab_close(t);
	close(fd);
}

static int count_cb(const struct eg_spi *v, void *arg)
{
	(void)v;
	(*(unsigned *)arg)++;
	return 0;
}

static void test_spi_index(void)
{
	enum { N = 2000, PUT = 1000 };
	static uint32_t spi[N];
	static uint8_t seen[EG_MAX_SPIS];
	struct eg_spi_index *ix, *ix2;
	struct eg_spi v = { .saddr = ip("198.51.100.7"), .site_id = 9, .slot = 3 };
	unsigned i, dup = 0, low = 0, hit_used = 0, n = 0, refused = 0;
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_spis", 4, sizeof(struct eg_spi),
				EG_MAX_SPIS, NULL);

	if (fd < 0 || eg_spi_index_open(&ix, fd)) {
		check(0, "eg_spis map and index: %s", strerror(errno));
		return;
	}
	/* in flight, never installed: no index twice within EG_SPI_RECENT */
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < EG_SPI_RECENT; i++) {
		if (eg_spi_index_pick(ix, &spi[i])) {
			check(0, "pick %u failed", i);
			return;
		}
		dup += seen[eg_spi_idx(ntohl(spi[i]))]++ != 0;
		low += ntohl(spi[i]) < EG_MAX_SPIS;
	}
	CHECK_EQ("picks in flight sharing an index", 0, dup);
	CHECK_EQ("picks below 2^EG_SPI_IDX_BITS (RFC 4303: >= 256)", 0, low);
	/* installed ones are never picked again */
	for (i = 0; i < N; i++)
		eg_spi_index_pick(ix, &spi[i]);
	for (i = 0; i < PUT; i++) {
		v.spi = spi[i];
		if (eg_spi_index_put(ix, &v))
			refused++;
	}
	CHECK_EQ("puts of picked SPIs refused", 0, refused);
	CHECK_EQ("indexes taken", PUT, eg_spi_index_used(ix));
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < PUT; i++)
		seen[eg_spi_idx(ntohl(spi[i]))] = 1;
	for (i = 0; i < 20000; i++) {
		uint32_t s;

		if (!eg_spi_index_pick(ix, &s))
			hit_used += seen[eg_spi_idx(ntohl(s))];
	}
	CHECK_EQ("picks that landed on a taken index (20,000 tries)", 0, hit_used);
	v.spi = htonl(ntohl(spi[0]) ^ (1U << 30));	/* same index, other SPI */
	CHECK_EQ("put of another SPI at a taken index", -EEXIST, eg_spi_index_put(ix, &v));
	CHECK_EQ("del of a SPI that is not the index's", -ENOENT, eg_spi_index_del(ix, v.spi));
	CHECK_EQ("del", 0, eg_spi_index_del(ix, spi[0]));
	CHECK_EQ("del twice", -ENOENT, eg_spi_index_del(ix, spi[0]));
	{
		__u32 k = eg_spi_idx(ntohl(spi[0]));
		struct eg_spi e;

		bpf_map_lookup_elem(fd, &k, &e);
		CHECK_EQ("a freed entry's spi word", 0, e.spi);
	}
	/* a restart: the next ipsecd finds what the map holds */
	CHECK_EQ("reopen on the same map", 0, eg_spi_index_open(&ix2, fd));
	CHECK_EQ("indexes taken after reopening", PUT - 1, eg_spi_index_used(ix2));
	eg_spis_walk(fd, count_cb, &n);
	CHECK_EQ("entries walked", PUT - 1, n);
	v.spi = spi[1];
	CHECK_EQ("the reopened index refuses a taken index's other SPI", -EEXIST,
		 eg_spi_index_put(ix2, &(struct eg_spi){ .spi = htonl(ntohl(spi[1]) ^ (1U << 29)) }));
	CHECK_EQ("and takes the same SPI again (an update)", 0, eg_spi_index_put(ix2, &v));
	eg_spi_index_close(ix);
	eg_spi_index_close(ix2);
	close(fd);
}

int main(void)
{
	test_steps();
	test_src_tab();
	test_spi_index();
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
