// SPDX-License-Identifier: GPL-2.0
/*
 * dp_index.c - inbound SPIs picked to index the eg_spis array, and the
 * eg_src table of the sites by a hash of their source address, with how
 * many sites share each bucket.
 *
 * Why: with hash maps, ESP from a known site cost one hash lookup and a
 * spoofed packet from nobody's address two (a miss by SPI, a miss by
 * source), the cheapest packet for an attacker to send being our dearest.
 * An array lookup is inlined by the verifier: no call, no hashing of the
 * key, one cache line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <bpf/bpf.h>

#include "dp_index.h"

#define BIT_GET(a, i)	(((a)[(i) / 64] >> ((i) % 64)) & 1)
#define BIT_SET(a, i)	((a)[(i) / 64] |= 1ULL << ((i) % 64))
#define BIT_CLR(a, i)	((a)[(i) / 64] &= ~(1ULL << ((i) % 64)))

/* ---- eg_spis ------------------------------------------------------------ */

struct eg_spi_index {
	int fd;
	unsigned n_used;
	uint64_t used[EG_MAX_SPIS / 64];	/* index holds an SA */
	uint64_t recent[EG_MAX_SPIS / 64];	/* index handed out lately */
	uint32_t ring[EG_SPI_RECENT];		/* those indexes, + 1 (0: none) */
	unsigned head;
};

int eg_spis_walk(int fd, eg_spi_cb cb, void *arg)
{
	enum { CHUNK = 8192 };
	struct eg_spi *vals = malloc(CHUNK * sizeof(*vals));
	__u32 *keys = malloc(CHUNK * sizeof(*keys));
	__u32 last = 0, done = 0, cnt, i;
	int err = 0, stop = 0;

	if (!vals || !keys) {
		err = -ENOMEM;
		goto out;
	}
	/* the batch token is the last key read; the next batch starts after */
	while (!stop && done < EG_MAX_SPIS) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);

		cnt = CHUNK;
		if (bpf_map_lookup_batch(fd, done ? &last : NULL, &last, keys, vals, &cnt,
					 &opts) && errno != ENOENT) {
			err = -errno;
			break;
		}
		if (!cnt)
			break;
		for (i = 0; i < cnt && !stop; i++)
			if (vals[i].spi)
				stop = cb(&vals[i], arg);
		done += cnt;
	}
	if (stop < 0)
		err = stop;
out:
	free(vals);
	free(keys);
	return err;
}

static int take_cb(const struct eg_spi *v, void *arg)
{
	struct eg_spi_index *ix = arg;
	uint32_t i = eg_spi_idx(ntohl(v->spi));

	if (!BIT_GET(ix->used, i)) {
		BIT_SET(ix->used, i);
		ix->n_used++;
	}
	return 0;
}

int eg_spi_index_open(struct eg_spi_index **out, int fd)
{
	struct eg_spi_index *ix = calloc(1, sizeof(*ix));
	int err;

	if (!ix)
		return -ENOMEM;
	ix->fd = fd;
	err = eg_spis_walk(fd, take_cb, ix);
	if (err) {
		free(ix);
		return err;
	}
	*out = ix;
	return 0;
}

void eg_spi_index_close(struct eg_spi_index *ix)
{
	free(ix);
}

unsigned eg_spi_index_used(const struct eg_spi_index *ix)
{
	return ix->n_used;
}

int eg_spi_index_pick(struct eg_spi_index *ix, uint32_t *spi)
{
	unsigned tries;

	for (tries = 0; tries < 64; tries++) {
		uint32_t r, i;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			return -EIO;
		i = eg_spi_idx(r);
		/* the bits above the index make it >= 256 (RFC 4303 2.1) */
		if (!(r >> EG_SPI_IDX_BITS) || BIT_GET(ix->used, i) ||
		    BIT_GET(ix->recent, i))
			continue;
		if (ix->ring[ix->head])
			BIT_CLR(ix->recent, ix->ring[ix->head] - 1);
		ix->ring[ix->head] = i + 1;
		ix->head = (ix->head + 1) % EG_SPI_RECENT;
		BIT_SET(ix->recent, i);
		*spi = htonl(r);
		return 0;
	}
	return -ENOSPC;
}

int eg_spi_index_put(struct eg_spi_index *ix, const struct eg_spi *v)
{
	__u32 i = eg_spi_idx(ntohl(v->spi));
	struct eg_spi cur;

	if (!v->spi)
		return -EINVAL;
	if (BIT_GET(ix->used, i) &&
	    (bpf_map_lookup_elem(ix->fd, &i, &cur) || cur.spi != v->spi))
		return -EEXIST;
	/* a free entry gets the spi word last (espgate.h) */
	cur = *v;
	cur.spi = 0;
	if ((!BIT_GET(ix->used, i) && bpf_map_update_elem(ix->fd, &i, &cur, BPF_ANY)) ||
	    bpf_map_update_elem(ix->fd, &i, v, BPF_ANY))
		return -errno;
	if (!BIT_GET(ix->used, i)) {
		BIT_SET(ix->used, i);
		ix->n_used++;
	}
	return 0;
}

int eg_spi_index_del(struct eg_spi_index *ix, uint32_t spi)
{
	__u32 i = eg_spi_idx(ntohl(spi));
	struct eg_spi cur;

	if (!spi || !BIT_GET(ix->used, i) ||
	    bpf_map_lookup_elem(ix->fd, &i, &cur) || cur.spi != spi)
		return -ENOENT;
	/* only the spi word: the rest is ignored once it is 0 */
	cur.spi = 0;
	if (bpf_map_update_elem(ix->fd, &i, &cur, BPF_ANY))
		return -errno;
	BIT_CLR(ix->used, i);
	ix->n_used--;
	return 0;
}

/* ---- eg_src ------------------------------------------------------------- */

#define SRC_CNT_MAX	UINT8_MAX	/* a bucket this shared stays shared */

struct eg_src_tab {
	int fd;
	uint8_t *cnt;		/* sites per bucket; calloc'd, touched sparsely */
};

int eg_src_steps(struct eg_src cur, const struct eg_src *want, struct eg_src out[3])
{
	int n = 0;

	if ((want->flags & EG_SRC_ONE) &&
	    !((cur.flags & EG_SRC_ONE) && cur.saddr == want->saddr &&
	      cur.slot == want->slot)) {
		if (cur.flags & EG_SRC_ONE) {
			cur.flags = EG_SRC_MANY;
			out[n++] = cur;
		}
		cur.saddr = want->saddr;
		cur.slot = want->slot;
		out[n++] = cur;
	}
	if (cur.flags != want->flags) {
		cur.flags = want->flags;
		out[n++] = cur;
	}
	return n;
}

static int src_move(int fd, __u32 h, const struct eg_src *want)
{
	struct eg_src cur, step[3];
	int i, n;

	if (bpf_map_lookup_elem(fd, &h, &cur))
		return -errno;
	n = eg_src_steps(cur, want, step);
	for (i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &h, &step[i], BPF_ANY))
			return -errno;
	return 0;
}

int eg_src_put(int fd, uint32_t saddr, const struct eg_src *want)
{
	return src_move(fd, eg_src_hash(saddr), want);
}

static struct eg_src src_one(const struct eg_src_site *s)
{
	return (struct eg_src){ .saddr = s->saddr, .slot = s->slot,
				.flags = EG_SRC_ONE | (s->enabled ? EG_SITE_ENABLED : 0) };
}

int eg_src_tab_open(struct eg_src_tab **out, int fd)
{
	struct eg_src_tab *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->fd = fd;
	t->cnt = calloc(EG_SRC_BUCKETS, 1);
	if (!t->cnt) {
		free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void eg_src_tab_close(struct eg_src_tab *t)
{
	if (!t)
		return;
	free(t->cnt);
	free(t);
}

/* The whole array into buf (EG_SRC_BUCKETS entries). */
static int src_read_all(int fd, struct eg_src *buf)
{
	enum { CHUNK = 65536 };
	__u32 *keys = malloc(CHUNK * sizeof(*keys)), done = 0, last = 0, cnt;
	int err = 0;

	if (!keys)
		return -ENOMEM;
	/* the batch token is the last key read; the next batch starts after */
	while (done < EG_SRC_BUCKETS) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);

		cnt = CHUNK;
		if (bpf_map_lookup_batch(fd, done ? &last : NULL, &last, keys, buf + done,
					 &cnt, &opts) && errno != ENOENT) {
			err = -errno;
			break;
		}
		if (!cnt)
			break;
		done += cnt;
	}
	free(keys);
	return err;
}

int eg_src_tab_load(struct eg_src_tab *t, const struct eg_src_site *v, size_t n)
{
	struct eg_src *cur = malloc(EG_SRC_BUCKETS * sizeof(*cur));
	struct eg_src *want = calloc(EG_SRC_BUCKETS, sizeof(*want));
	uint8_t *cnt = calloc(EG_SRC_BUCKETS, 1);
	__u32 *keys[3] = { 0 }, nk[3] = { 0 }, h;
	struct eg_src *vals[3] = { 0 };
	size_t j, changed = 0;
	int err, k;

	if (!cur || !want || !cnt) {
		err = -ENOMEM;
		goto out;
	}
	err = src_read_all(t->fd, cur);
	if (err)
		goto out;
	for (j = 0; j < n; j++) {
		h = eg_src_hash(v[j].saddr);
		if (cnt[h] < SRC_CNT_MAX)
			cnt[h]++;
	}
	for (j = 0; j < n; j++) {
		h = eg_src_hash(v[j].saddr);
		want[h] = cnt[h] == 1 ? src_one(&v[j]) :
			  (struct eg_src){ .flags = EG_SRC_MANY };
	}
	for (h = 0; h < EG_SRC_BUCKETS; h++)
		if (cur[h].flags != want[h].flags ||
		    ((want[h].flags & EG_SRC_ONE) &&
		     (cur[h].saddr != want[h].saddr || cur[h].slot != want[h].slot)))
			changed++;
	for (k = 0; k < 3 && changed; k++) {
		keys[k] = malloc(changed * sizeof(*keys[k]));
		vals[k] = malloc(changed * sizeof(*vals[k]));
		if (!keys[k] || !vals[k]) {
			err = -ENOMEM;
			goto out;
		}
	}
	/* the k-th write of every bucket that changes, a batch per k */
	for (h = 0; h < EG_SRC_BUCKETS && changed; h++) {
		struct eg_src step[3];
		int ns = eg_src_steps(cur[h], &want[h], step);

		for (k = 0; k < ns; k++) {
			keys[k][nk[k]] = h;
			vals[k][nk[k]++] = step[k];
		}
	}
	for (k = 0; k < 3 && !err; k++) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 c = nk[k];

		if (c && bpf_map_update_batch(t->fd, keys[k], vals[k], &c, &opts))
			err = -errno;
	}
	if (!err) {
		free(t->cnt);
		t->cnt = cnt;
		cnt = NULL;
	}
out:
	for (k = 0; k < 3; k++) {
		free(keys[k]);
		free(vals[k]);
	}
	free(cur);
	free(want);
	free(cnt);
	return err;
}

int eg_src_tab_add(struct eg_src_tab *t, const struct eg_src_site *s)
{
	__u32 h = eg_src_hash(s->saddr);
	struct eg_src want = src_one(s);

	if (t->cnt[h] == SRC_CNT_MAX)
		return 0;
	if (t->cnt[h]++)
		want = (struct eg_src){ .flags = EG_SRC_MANY };
	return src_move(t->fd, h, &want);
}

int eg_src_tab_set(struct eg_src_tab *t, const struct eg_src_site *s)
{
	__u32 h = eg_src_hash(s->saddr);
	struct eg_src cur, want = src_one(s);

	if (bpf_map_lookup_elem(t->fd, &h, &cur))
		return -errno;
	if (!(cur.flags & EG_SRC_ONE) || cur.saddr != s->saddr)
		return 0;	/* shared: eg_sites has the flags */
	return src_move(t->fd, h, &want);
}

int eg_src_tab_del(struct eg_src_tab *t, uint32_t saddr)
{
	__u32 h = eg_src_hash(saddr);
	struct eg_src empty = { 0 };

	if (!t->cnt[h])
		return -ENOENT;
	if (t->cnt[h] == SRC_CNT_MAX || --t->cnt[h])
		return 0;
	return src_move(t->fd, h, &empty);
}
