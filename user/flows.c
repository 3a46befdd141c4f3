// SPDX-License-Identifier: GPL-2.0
/*
 * flows.c - expire the inner program's flows and devices, exactly.
 *
 * A pass reads a map in batches (BPF_MAP_LOOKUP_BATCH: one syscall per few
 * thousand entries; 1M flows must fit in a fraction of the one-second
 * period), applies eg_in_expired() to each entry and deletes the expired
 * ones with BPF_MAP_DELETE_BATCH. That command deletes keys in order and
 * stops at the first failure, reporting how many it deleted: so we know,
 * key by key, which deletes were ours (those decrement) and which key had
 * already gone (ENOENT: the program's RST, or a previous pass, freed it;
 * no decrement), and go on after it. Counts live in eg_in_cnt, mmapped,
 * and are decremented with atomic adds, like the program's increments.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "flows.h"
#include "log.h"

#define SWEEP_BATCH	EG_SWEEP_BATCH	/* entries per BPF_MAP_LOOKUP_BATCH */

/* Where a walk is: which map, and the batch token within it. */
struct sweep_cursor {
	int devs;		/* 0: eg_flows, 1: eg_devs */
	int started;		/* token is valid */
	__u64 token;		/* BPF_MAP_LOOKUP_BATCH out_batch */
};

struct eg_flows {
	int fd_flows, fd_devs;
	struct sweep_cursor cur;	/* eg_flows_sweep_step() resumes here */
	struct eg_in_cnt *cnt;	/* mmap of eg_in_cnt */
	size_t cnt_len;
	__u32 n_slots;
	struct eg_in_cfg cfg;
	void *keys, *vals;	/* SWEEP_BATCH of the larger key/value */
	void *dkeys;		/* keys to delete, SWEEP_BATCH */
	__u32 *dslots;		/* their slots */
	__u32 n_del;
	int no_del_batch;	/* the kernel has no BPF_MAP_DELETE_BATCH here */
};

/* Which map a pass walks, and what it deletes. */
enum pass_kind { PASS_FLOWS, PASS_DEVS };

struct pass {
	enum pass_kind kind;
	__u64 now;
	int purge;		/* delete every entry of `slot`, ignore time */
	__u32 slot;
	struct eg_sweep_res *res;
};

__u64 eg_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * EG_NS + ts.tv_nsec;
}

int eg_in_cfg_check(const struct eg_in_cfg *cfg)
{
	__u64 longest = 0;
	int i;

	for (i = 0; i < EG_TO_MAX; i++)
		if (!cfg->to_ns[i])
			return -EINVAL;
	for (i = 0; i < EG_TO_DEV; i++)
		if (cfg->to_ns[i] > longest)
			longest = cfg->to_ns[i];
	if (cfg->to_ns[EG_TO_DEV] <= longest + (2ULL << EG_DEV_EPOCH_SHIFT))
		return -EINVAL;
	if (!cfg->flow_cap || !cfg->dev_cap)
		return -EINVAL;
	return 0;
}

static int check_map(int fd, __u32 type, __u32 ksz, __u32 vsz,
		     struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		return -errno;
	if (info->type != type || info->key_size != ksz || info->value_size != vsz) {
		pr_err("map '%s': type %u key %u value %u, want %u/%u/%u",
		       info->name, info->type, info->key_size, info->value_size,
		       type, ksz, vsz);
		return -EINVAL;
	}
	return 0;
}

int eg_flows_open(struct eg_flows **out, int fd_flows, int fd_devs, int fd_cnt,
		  const struct eg_in_cfg *cfg)
{
	struct bpf_map_info info;
	struct eg_flows *ft;
	long page = sysconf(_SC_PAGESIZE);
	int err;

	*out = NULL;
	if ((err = eg_in_cfg_check(cfg))) {
		pr_err("inner cfg: device timeout must outlive every flow class");
		return err;
	}
	if ((err = check_map(fd_flows, BPF_MAP_TYPE_HASH, sizeof(struct eg_flow_key),
			     sizeof(struct eg_flow), &info)) ||
	    (err = check_map(fd_devs, BPF_MAP_TYPE_HASH, sizeof(struct eg_dev_key),
			     sizeof(struct eg_dev), &info)) ||
	    (err = check_map(fd_cnt, BPF_MAP_TYPE_ARRAY, sizeof(__u32),
			     sizeof(struct eg_in_cnt), &info)))
		return err;
	if (!(info.map_flags & BPF_F_MMAPABLE)) {
		pr_err("map '%s' is not mmapable", info.name);
		return -EINVAL;
	}
	ft = calloc(1, sizeof(*ft));
	if (!ft)
		return -ENOMEM;
	ft->fd_flows = fd_flows;
	ft->fd_devs = fd_devs;
	ft->cfg = *cfg;
	ft->n_slots = info.max_entries;
	ft->cnt_len = ((size_t)info.max_entries * sizeof(struct eg_in_cnt) + page - 1) /
		      page * page;
	ft->cnt = mmap(NULL, ft->cnt_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd_cnt, 0);
	if (ft->cnt == MAP_FAILED) {
		err = -errno;
		pr_err("mmap %s: %s", EG_MAP_IN_CNT, strerror(errno));
		free(ft);
		return err;
	}
	ft->keys = calloc(SWEEP_BATCH, sizeof(struct eg_flow_key));
	ft->vals = calloc(SWEEP_BATCH, sizeof(struct eg_dev));
	ft->dkeys = calloc(SWEEP_BATCH, sizeof(struct eg_flow_key));
	ft->dslots = calloc(SWEEP_BATCH, sizeof(__u32));
	if (!ft->keys || !ft->vals || !ft->dkeys || !ft->dslots) {
		eg_flows_close(ft);
		return -ENOMEM;
	}
	*out = ft;
	return 0;
}

void eg_flows_close(struct eg_flows *ft)
{
	if (!ft)
		return;
	if (ft->cnt && ft->cnt != MAP_FAILED)
		munmap(ft->cnt, ft->cnt_len);
	free(ft->keys);
	free(ft->vals);
	free(ft->dkeys);
	free(ft->dslots);
	free(ft);
}

/* Our delete of an entry of `slot` succeeded: give the slot back, once. */
static void give_back(struct eg_flows *ft, const struct pass *ps, __u32 slot)
{
	__u64 *c, old;

	if (slot >= ft->n_slots) {	/* the program never inserts one */
		ps->res->underflow++;
		return;
	}
	c = ps->kind == PASS_FLOWS ? &ft->cnt[slot].flows : &ft->cnt[slot].devs;
	old = __atomic_fetch_sub(c, 1, __ATOMIC_RELAXED);
	if (!old) {
		/* never let a count wrap: the cap check would drop everything */
		__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
		ps->res->underflow++;
		return;
	}
	if (ps->kind == PASS_FLOWS)
		ps->res->flows_freed++;
	else
		ps->res->devs_freed++;
}

static void delete_failed(const struct pass *ps, int err)
{
	if (err == ENOENT)
		ps->res->raced++;
	else
		pr_warn("delete from %s: %s", ps->kind == PASS_FLOWS ?
			EG_MAP_FLOWS : EG_MAP_DEVS, strerror(err));
}

/* Delete one entry; give its slot back iff our delete is the one that did. */
static void reap(struct eg_flows *ft, const struct pass *ps, const void *key,
		 __u32 slot)
{
	int fd = ps->kind == PASS_FLOWS ? ft->fd_flows : ft->fd_devs;

	if (bpf_map_delete_elem(fd, key))
		delete_failed(ps, errno);
	else
		give_back(ft, ps, slot);
}

/*
 * Delete the keys collected in ft->dkeys. BPF_MAP_DELETE_BATCH stops at
 * the first key it cannot delete and says how many it did before it: those
 * were ours; the one that failed was someone else's; carry on after it.
 */
static void flush(struct eg_flows *ft, const struct pass *ps, size_t ksz)
{
	int fd = ps->kind == PASS_FLOWS ? ft->fd_flows : ft->fd_devs;
	__u32 off = 0, i;

	while (off < ft->n_del) {
		__u32 n = ft->n_del - off;
		int err = 0;

		if (ft->no_del_batch) {
			reap(ft, ps, (char *)ft->dkeys + off * ksz, ft->dslots[off]);
			off++;
			continue;
		}
		if (bpf_map_delete_batch(fd, (char *)ft->dkeys + off * ksz, &n, NULL))
			err = errno;
		if (err && !n && off == 0 && (err == EINVAL || err == EOPNOTSUPP ||
					      err == 524)) {
			ft->no_del_batch = 1;	/* 524: the kernel's ENOTSUPP */
			continue;
		}
		if (n > ft->n_del - off)	/* never trust a count blindly */
			n = ft->n_del - off;
		for (i = 0; i < n; i++)
			give_back(ft, ps, ft->dslots[off + i]);
		off += n;
		if (err) {
			delete_failed(ps, err);
			off++;	/* the key that failed */
		}
	}
	ft->n_del = 0;
}

/* Judge one entry read from the map. */
static void visit(struct eg_flows *ft, const struct pass *ps, const void *key,
		  const void *val)
{
	__u32 slot;
	__u64 last, to;

	if (ps->kind == PASS_FLOWS) {
		const struct eg_flow_key *k = key;
		const struct eg_flow *f = val;

		ps->res->flows_seen++;
		slot = k->slot;
		last = f->last_seen;
		/* a class we do not know is expired: it cannot be a live flow */
		to = f->tclass < EG_TO_DEV ? ft->cfg.to_ns[f->tclass] : 0;
	} else {
		const struct eg_dev_key *k = key;
		const struct eg_dev *d = val;

		ps->res->devs_seen++;
		slot = k->slot;
		last = d->last_seen;
		to = ft->cfg.to_ns[EG_TO_DEV];
	}
	if (ps->purge ? slot == ps->slot : eg_in_expired(ps->now, last, to)) {
		size_t ksz = ps->kind == PASS_FLOWS ? sizeof(struct eg_flow_key) :
						      sizeof(struct eg_dev_key);

		memcpy((char *)ft->dkeys + ft->n_del * ksz, key, ksz);
		ft->dslots[ft->n_del++] = slot;
		if (ft->n_del == SWEEP_BATCH)
			flush(ft, ps, ksz);
	}
}

/* Fallback walk for kernels without batch ops on hash maps. */
static int walk_keys(struct eg_flows *ft, const struct pass *ps, int fd,
		     size_t ksz)
{
	unsigned char cur[sizeof(struct eg_flow_key)], next[sizeof(cur)];
	unsigned char val[sizeof(struct eg_dev)];
	int have = !bpf_map_get_next_key(fd, NULL, cur);

	while (have) {
		/* fetch the successor before cur may be deleted */
		have = !bpf_map_get_next_key(fd, cur, next);
		if (!bpf_map_lookup_elem(fd, cur, val))
			visit(ft, ps, cur, val);
		flush(ft, ps, ksz);
		memcpy(cur, next, ksz);
	}
	return 0;
}

/*
 * Walk one map from cursor c for at most *budget entries (batches are
 * whole, so a little more). 1: the map is done, 0: out of budget (c says
 * where to go on), <0: -errno.
 */
static int run_pass(struct eg_flows *ft, const struct pass *ps,
		    struct sweep_cursor *c, __u64 *budget)
{
	int fd = ps->kind == PASS_FLOWS ? ft->fd_flows : ft->fd_devs;
	size_t ksz = ps->kind == PASS_FLOWS ? sizeof(struct eg_flow_key) :
					      sizeof(struct eg_dev_key);
	size_t vsz = ps->kind == PASS_FLOWS ? sizeof(struct eg_flow) :
					      sizeof(struct eg_dev);
	int err;

	while (*budget) {
		__u32 n = SWEEP_BATCH, i;

		/* the token is the kernel's bucket index: stable between calls */
		err = bpf_map_lookup_batch(fd, c->started ? &c->token : NULL,
					   &c->token, ft->keys, ft->vals, &n, NULL);
		/* 524: the kernel's ENOTSUPP, batch ops not on this map type */
		if (err && !c->started && (errno == EINVAL || errno == EOPNOTSUPP ||
					   errno == 524))
			return walk_keys(ft, ps, fd, ksz) ?: 1;
		if (err && errno != ENOENT) {
			err = -errno;
			pr_err("lookup batch: %s", strerror(errno));
			return err;
		}
		c->started = 1;
		for (i = 0; i < n; i++)
			visit(ft, ps, (char *)ft->keys + i * ksz,
			      (char *)ft->vals + i * vsz);
		flush(ft, ps, ksz);
		*budget = *budget > n ? *budget - n : 0;
		if (err)	/* ENOENT: that was the last batch */
			return 1;
	}
	return 0;
}

/* Flows, then devices, from cursor c. 1: round complete, 0: budget spent. */
static int run_round(struct eg_flows *ft, struct pass *ps,
		     struct sweep_cursor *c, __u64 budget)
{
	int done;

	memset(ps->res, 0, sizeof(*ps->res));
	while (budget) {
		/* flows first: a device outlives its flows by construction */
		ps->kind = c->devs ? PASS_DEVS : PASS_FLOWS;
		done = run_pass(ft, ps, c, &budget);
		if (done < 0)
			return done;
		if (!done)
			return 0;
		if (c->devs) {
			memset(c, 0, sizeof(*c));
			if (ps->res->underflow)
				pr_warn("%llu decrements found a zero count",
					(unsigned long long)ps->res->underflow);
			return 1;
		}
		memset(c, 0, sizeof(*c));
		c->devs = 1;
	}
	return 0;
}

int eg_flows_sweep(struct eg_flows *ft, __u64 now_ns, struct eg_sweep_res *res)
{
	struct eg_sweep_res dummy;
	struct pass ps = { .now = now_ns, .res = res ? res : &dummy };
	struct sweep_cursor c = {};
	int err = run_round(ft, &ps, &c, ~0ULL);

	return err < 0 ? err : 0;
}

int eg_flows_sweep_step(struct eg_flows *ft, __u64 now_ns, __u64 budget,
			struct eg_sweep_res *res)
{
	struct eg_sweep_res dummy;
	struct pass ps = { .now = now_ns, .res = res ? res : &dummy };

	return run_round(ft, &ps, &ft->cur, budget ? budget : ~0ULL);
}

int eg_flows_purge_slot(struct eg_flows *ft, __u32 slot, struct eg_sweep_res *res)
{
	struct eg_sweep_res dummy;
	struct pass ps = { .purge = 1, .slot = slot, .res = res ? res : &dummy };
	struct sweep_cursor c = {};
	int err;

	if (slot >= ft->n_slots)
		return -EINVAL;
	if ((err = run_round(ft, &ps, &c, ~0ULL)) < 0)
		return err;
	__atomic_store_n(&ft->cnt[slot].flows, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ft->cnt[slot].devs, 0, __ATOMIC_RELAXED);
	return 0;
}

int eg_flows_counts(const struct eg_flows *ft, __u32 slot, struct eg_in_cnt *out)
{
	if (slot >= ft->n_slots)
		return -EINVAL;
	out->flows = __atomic_load_n(&ft->cnt[slot].flows, __ATOMIC_RELAXED);
	out->devs = __atomic_load_n(&ft->cnt[slot].devs, __ATOMIC_RELAXED);
	return 0;
}

int eg_in_ctr_sum(int fd_ctr, __u32 slot, struct eg_in_ctr *out)
{
	int ncpus = libbpf_num_possible_cpus(), c, i;
	struct eg_in_ctr *v;

	memset(out, 0, sizeof(*out));
	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	v = calloc(ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd_ctr, &slot, v)) {
		i = errno == ENOENT ? 0 : -errno;	/* ENOENT: nothing counted yet */
		free(v);
		return i;
	}
	for (c = 0; c < ncpus; c++) {
		out->pkts += v[c].pkts;
		out->bytes += v[c].bytes;
		out->new_flows += v[c].new_flows;
		out->new_devs += v[c].new_devs;
		out->moves += v[c].moves;
		out->probes += v[c].probes;
		if (v[c].last_probe_ns > out->last_probe_ns)
			out->last_probe_ns = v[c].last_probe_ns;
		for (i = 0; i < EG_IN_NDROP; i++)
			out->drop[i] += v[c].drop[i];
	}
	free(v);
	return 0;
}
