// SPDX-License-Identifier: GPL-2.0
/*
 * datapath.c - load the XDP classifier, attach it with libxdp (native, else
 * generic with a warning), pin its maps under one root and keep the site and
 * SPI maps in step with what ipsecd decides.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "datapath.h"
#include "flows.h"
#include "log.h"
#include "tc_inner.skel.h"
#include "xdp_classify.skel.h"

struct eg_dp {
	struct xdp_classify_bpf *skel;
	struct tc_inner_bpf *tc;	/* the inner program, on site xfrmi's */
	struct eg_flows *ft;		/* its flow table sweeper */
	int fd_ifsite, fd_in_ctr;
	struct xdp_program *prog;
	int ifindex;
	enum xdp_attach_mode mode;
	char pin_root[PATH_MAX / 2];
	int ncpus;
	int fd_sites, fd_spis, fd_stats, fd_site_ctr;
	uint64_t slot_used[EG_MAX_SITES / 64];	/* bitmap of eg_site_ctr slots */
	void *ctr_buf;		/* eg_site_ctr read in bulk by eg_dp_site_walk */
	unsigned slot_hint;
};

/* The maps we pin, by their shared names. */
static const char *const pinned[] = {
	EG_MAP_SITES, EG_MAP_SPIS, EG_MAP_STATS, EG_MAP_SITE_CTR,
	EG_MAP_IFSITE, EG_MAP_FLOWS, EG_MAP_DEVS, EG_MAP_IN_CNT,
	EG_MAP_IN_STATS, EG_MAP_IN_CTR,
};

int eg_bpffs_ensure(const char *pin_root)
{
	struct statfs sfs;

	if (statfs("/sys/fs/bpf", &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC)
		goto mkroot;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		pr_err("mount bpffs on /sys/fs/bpf: %s", strerror(errno));
		return -errno;
	}
	pr_info("mounted bpffs on /sys/fs/bpf");
mkroot:
	if (mkdir(pin_root, 0700) && errno != EEXIST) {
		pr_err("mkdir %s: %s", pin_root, strerror(errno));
		return -errno;
	}
	return 0;
}

static void unpin_all(const char *root)
{
	char path[PATH_MAX];
	unsigned i;

	for (i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, pinned[i]);
		if (unlink(path) == 0)
			pr_debug("unpinned %s", path);
	}
}

static int pin_all(struct eg_dp *dp, struct bpf_object *obj)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		unsigned i;

		for (i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++)
			if (!strcmp(name, pinned[i]))
				break;
		if (i == sizeof(pinned) / sizeof(pinned[0]))
			continue;	/* .rodata and friends */
		snprintf(path, sizeof(path), "%s/%s", dp->pin_root, name);
		if (access(path, F_OK) == 0)
			continue;	/* shared with the other program */
		err = bpf_map__pin(map, path);
		if (err) {
			pr_err("pin %s: %s", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

static int load_and_attach(struct eg_dp *dp, const struct eg_dp_opts *o,
			   enum xdp_attach_mode mode)
{
	int err;

	dp->skel = xdp_classify_bpf__open();
	if (!dp->skel)
		return -errno;
	dp->skel->rodata->local_addr = o->local_addr;

	if (!dp->ifindex) {
		/* No interface (tests, offline map inspection): just load. */
		err = xdp_classify_bpf__load(dp->skel);
		return err ? -errno : 0;
	}
	dp->prog = xdp_program__from_bpf_obj(dp->skel->obj, "xdp");
	err = libxdp_get_error(dp->prog);
	if (err) {
		dp->prog = NULL;
		return err;
	}
	err = xdp_program__attach(dp->prog, dp->ifindex, mode, 0);
	if (err)
		return err;
	dp->mode = mode;
	return 0;
}

static void unload(struct eg_dp *dp)
{
	eg_flows_close(dp->ft);
	dp->ft = NULL;
	tc_inner_bpf__destroy(dp->tc);
	dp->tc = NULL;
	if (dp->prog) {
		if (dp->mode != XDP_MODE_UNSPEC)
			xdp_program__detach(dp->prog, dp->ifindex, dp->mode, 0);
		xdp_program__close(dp->prog);
		dp->prog = NULL;
	}
	dp->mode = XDP_MODE_UNSPEC;
	xdp_classify_bpf__destroy(dp->skel);
	dp->skel = NULL;
}

/*
 * The inner program: one object for all sites (eg_ifsite tells it which
 * site an interface is), sharing the XDP program's eg_site_ctr so that a
 * probe ping counts for the site's status.
 */
static int inner_load(struct eg_dp *dp, const struct eg_dp_opts *o)
{
	struct eg_in_cfg cfg = o->inner;
	int err;

	if (!cfg.flow_cap) {
		struct eg_in_cfg def = EG_IN_CFG_DEFAULT;

		cfg = def;
	}
	err = eg_in_cfg_check(&cfg);
	if (err) {
		pr_err("inner program settings are inconsistent (timeouts, caps)");
		return err;
	}
	dp->tc = tc_inner_bpf__open();
	if (!dp->tc)
		return -errno;
	memcpy((void *)&dp->tc->rodata->eg_cfg, &cfg, sizeof(cfg));
	err = bpf_map__reuse_fd(dp->tc->maps.eg_site_ctr,
				bpf_map__fd(dp->skel->maps.eg_site_ctr));
	if (!err)
		err = tc_inner_bpf__load(dp->tc);
	if (err) {
		pr_err("load the inner TC program: %s", strerror(-err));
		return err;
	}
	err = pin_all(dp, dp->tc->obj);
	if (err)
		return err;
	dp->fd_ifsite = bpf_map__fd(dp->tc->maps.eg_ifsite);
	dp->fd_in_ctr = bpf_map__fd(dp->tc->maps.eg_in_ctr);
	return eg_flows_open(&dp->ft, bpf_map__fd(dp->tc->maps.eg_flows),
			     bpf_map__fd(dp->tc->maps.eg_devs),
			     bpf_map__fd(dp->tc->maps.eg_in_cnt), &cfg);
}

int eg_dp_open(struct eg_dp **dpp, const struct eg_dp_opts *o)
{
	struct eg_dp *dp;
	int err;

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	snprintf(dp->pin_root, sizeof(dp->pin_root), "%s",
		 o->pin_root ? o->pin_root : EG_PIN_ROOT);
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus <= 0) {
		err = -EINVAL;
		goto fail;
	}
	if (o->ifname) {
		dp->ifindex = if_nametoindex(o->ifname);
		if (!dp->ifindex) {
			err = -errno;
			pr_err("interface %s: %s", o->ifname, strerror(errno));
			goto fail;
		}
	}
	err = eg_bpffs_ensure(dp->pin_root);
	if (err)
		goto fail;
	/* Pins left by a daemon that died are ours and stale. */
	unpin_all(dp->pin_root);

	err = -EOPNOTSUPP;
	if (!o->force_generic) {
		err = load_and_attach(dp, o, XDP_MODE_NATIVE);
		if (err) {
			pr_warn("native XDP on %s failed (%s); falling back to generic (skb) mode, which is much slower",
				o->ifname, strerror(-err));
			unload(dp);
		}
	}
	if (err) {
		err = load_and_attach(dp, o, XDP_MODE_SKB);
		if (err) {
			pr_err("load/attach XDP%s%s: %s", o->ifname ? " on " : "",
			       o->ifname ? o->ifname : "", strerror(-err));
			goto fail;
		}
	}
	err = pin_all(dp, dp->skel->obj);
	if (err)
		goto fail;
	err = inner_load(dp, o);
	if (err)
		goto fail;

	dp->fd_sites = bpf_map__fd(dp->skel->maps.eg_sites);
	dp->fd_spis = bpf_map__fd(dp->skel->maps.eg_spis);
	dp->fd_stats = bpf_map__fd(dp->skel->maps.eg_stats);
	dp->fd_site_ctr = bpf_map__fd(dp->skel->maps.eg_site_ctr);
	if (dp->ifindex)
		pr_info("XDP classifier attached to %s in %s mode, maps pinned under %s",
			o->ifname, eg_dp_mode(dp), dp->pin_root);
	*dpp = dp;
	return 0;
fail:
	unpin_all(dp->pin_root);
	unload(dp);
	free(dp);
	return err;
}

void eg_dp_close(struct eg_dp *dp)
{
	if (!dp)
		return;
	unpin_all(dp->pin_root);
	unload(dp);
	rmdir(dp->pin_root);
	free(dp->ctr_buf);
	free(dp);
}

const char *eg_dp_mode(const struct eg_dp *dp)
{
	switch (dp->mode) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "generic";
	default:
		return "none";
	}
}

/* Add up one slot's per-CPU counters (the latest time, not a sum). */
static void site_ctr_sum(struct eg_site_ctr *out, const struct eg_site_ctr *pc,
			 int ncpus)
{
	int c;

	for (c = 0; c < ncpus; c++) {
		out->rx_bytes += pc[c].rx_bytes;
		out->ike_pkts += pc[c].ike_pkts;
		out->esp_pkts += pc[c].esp_pkts;
		out->keepalives += pc[c].keepalives;
		out->drop_disabled += pc[c].drop_disabled;
		out->drop_bad_spi += pc[c].drop_bad_spi;
		if (pc[c].last_alive_ns > out->last_alive_ns)
			out->last_alive_ns = pc[c].last_alive_ns;
	}
}

static int slot_alloc(struct eg_dp *dp, __u32 *slot)
{
	unsigned n = EG_MAX_SITES / 64, i, w;

	for (i = 0; i < n; i++) {
		w = (dp->slot_hint + i) % n;
		if (dp->slot_used[w] != ~0ULL) {
			int b = __builtin_ctzll(~dp->slot_used[w]);

			dp->slot_used[w] |= 1ULL << b;
			dp->slot_hint = w;
			*slot = w * 64 + b;
			return 0;
		}
	}
	return -ENOSPC;
}

static void slot_free(struct eg_dp *dp, __u32 slot)
{
	struct eg_site_ctr zero[dp->ncpus];

	/* A reused slot must start from zero. */
	memset(zero, 0, sizeof(zero));
	bpf_map_update_elem(dp->fd_site_ctr, &slot, zero, BPF_ANY);
	dp->slot_used[slot / 64] &= ~(1ULL << (slot % 64));
}

int eg_dp_site_set(struct eg_dp *dp, uint32_t saddr, uint32_t site_id,
		   bool enabled)
{
	struct eg_site s;
	__u32 slot;
	int err;

	if (bpf_map_lookup_elem(dp->fd_sites, &saddr, &s) == 0) {
		if (s.site_id != site_id)
			return -EEXIST;	/* the store keeps source IPs unique */
	} else {
		err = slot_alloc(dp, &slot);
		if (err)
			return err;
		memset(&s, 0, sizeof(s));
		s.site_id = site_id;
		s.slot = slot;
	}
	s.flags = enabled ? EG_SITE_ENABLED : 0;
	if (bpf_map_update_elem(dp->fd_sites, &saddr, &s, BPF_ANY)) {
		err = -errno;
		slot_free(dp, s.slot);
		return err;
	}
	return 0;
}

int eg_dp_site_lookup(struct eg_dp *dp, uint32_t saddr, struct eg_site *out)
{
	return bpf_map_lookup_elem(dp->fd_sites, &saddr, out) ? -ENOENT : 0;
}

/*
 * Batched: the whole counter array and eg_sites are read a chunk per
 * syscall (a walk of 100,000 sites is ~30 syscalls, not 300,000).
 */
int eg_dp_site_walk(struct eg_dp *dp, eg_dp_site_cb cb, void *arg)
{
	enum { CHUNK = 8192 };
	size_t ctr_sz = (size_t)dp->ncpus * sizeof(struct eg_site_ctr);
	__u32 keys[CHUNK], in = 0, out = 0, cnt, i;
	struct eg_site vals[CHUNK];
	bool more = true;
	int err;

	if (!dp->ctr_buf) {
		dp->ctr_buf = malloc(EG_MAX_SITES * ctr_sz);
		if (!dp->ctr_buf)
			return -ENOMEM;
	}
	/* every slot's per-CPU counters */
	for (in = 0; in < EG_MAX_SITES; in += cnt) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 k[CHUNK];

		cnt = EG_MAX_SITES - in < CHUNK ? EG_MAX_SITES - in : CHUNK;
		err = bpf_map_lookup_batch(dp->fd_site_ctr, in ? &out : NULL, &out, k,
					   (char *)dp->ctr_buf + (size_t)in * ctr_sz,
					   &cnt, &opts);
		if (err && errno != ENOENT)
			return -errno;
		if (!cnt)
			break;
	}
	/* every site, with its slot's counters summed */
	in = 0;
	while (more) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);

		cnt = CHUNK;
		err = bpf_map_lookup_batch(dp->fd_sites, in ? &in : NULL, &out, keys,
					   vals, &cnt, &opts);
		if (err && errno != ENOENT)
			return -errno;
		more = !err;
		for (i = 0; i < cnt; i++) {
			const struct eg_site_ctr *pc;
			struct eg_site_ctr sum = { 0 };

			if (vals[i].slot >= EG_MAX_SITES)
				continue;
			pc = (const struct eg_site_ctr *)((char *)dp->ctr_buf +
							  (size_t)vals[i].slot * ctr_sz);
			site_ctr_sum(&sum, pc, dp->ncpus);
			cb(keys[i], &vals[i], &sum, arg);
		}
		in = out;
	}
	return 0;
}

int eg_dp_sites_load(struct eg_dp *dp, struct eg_dp_site_init *v, size_t n)
{
	enum { CHUNK = 8192 };
	__u32 *keys = calloc(CHUNK, sizeof(*keys));
	struct eg_site *vals = calloc(CHUNK, sizeof(*vals));
	size_t i, done = 0;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (done < n && !err) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 cnt = n - done < CHUNK ? n - done : CHUNK;

		for (i = 0; i < cnt; i++) {
			struct eg_dp_site_init *e = &v[done + i];

			err = slot_alloc(dp, &e->slot);
			if (err)
				break;
			keys[i] = e->saddr;
			memset(&vals[i], 0, sizeof(vals[i]));
			vals[i].site_id = e->site_id;
			vals[i].slot = e->slot;
			vals[i].flags = e->enabled ? EG_SITE_ENABLED : 0;
		}
		if (err)
			break;
		if (bpf_map_update_batch(dp->fd_sites, keys, vals, &cnt, &opts))
			err = -errno;
		done += cnt;
	}
out:
	free(keys);
	free(vals);
	return err;
}

int eg_dp_site_del(struct eg_dp *dp, uint32_t saddr)
{
	struct eg_site s;

	if (bpf_map_lookup_elem(dp->fd_sites, &saddr, &s))
		return -ENOENT;
	if (bpf_map_delete_elem(dp->fd_sites, &saddr))
		return -errno;
	slot_free(dp, s.slot);
	return 0;
}

int eg_dp_spi_add(struct eg_dp *dp, uint32_t spi, uint32_t saddr)
{
	struct eg_spi v = { .saddr = saddr };
	struct eg_site s;

	if (bpf_map_lookup_elem(dp->fd_sites, &saddr, &s))
		return -ENOENT;
	if (!(s.flags & EG_SITE_ENABLED))
		return -EPERM;
	v.site_id = s.site_id;
	v.slot = s.slot;
	return bpf_map_update_elem(dp->fd_spis, &spi, &v, BPF_ANY) ? -errno : 0;
}

int eg_dp_spi_del(struct eg_dp *dp, uint32_t spi)
{
	return bpf_map_delete_elem(dp->fd_spis, &spi) ? -errno : 0;
}

int eg_percpu_site_sum(int fd, __u32 slot, struct eg_site_ctr *out)
{
	int n = libbpf_num_possible_cpus();
	struct eg_site_ctr *v;

	memset(out, 0, sizeof(*out));
	if (n <= 0)
		return -EINVAL;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &slot, v)) {
		free(v);
		return -errno;
	}
	site_ctr_sum(out, v, n);
	free(v);
	return 0;
}

int eg_percpu_stats_sum(int fd, __u32 reason, struct eg_ctr *out)
{
	int n = libbpf_num_possible_cpus(), c;
	struct eg_ctr *v;

	memset(out, 0, sizeof(*out));
	if (n <= 0)
		return -EINVAL;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &reason, v)) {
		free(v);
		return -errno;
	}
	for (c = 0; c < n; c++) {
		out->pkts += v[c].pkts;
		out->bytes += v[c].bytes;
	}
	free(v);
	return 0;
}

int eg_dp_site_counters(struct eg_dp *dp, uint32_t saddr,
			struct eg_site_ctr *out)
{
	struct eg_site s;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(dp->fd_sites, &saddr, &s))
		return -ENOENT;
	return eg_percpu_site_sum(dp->fd_site_ctr, s.slot, out);
}

/* ---- the inner (TC) program ------------------------------------------------- */

int eg_dp_inner_attach(struct eg_dp *dp, int ifindex, const struct eg_isite *cfg,
		       bool resume)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1,
		    .prog_fd = bpf_program__fd(dp->tc->progs.tc_inner),
		    .flags = BPF_TC_F_REPLACE);
	__u32 key = ifindex;
	int err;

	/* a clean slate for the slot's counters, unless it carries on */
	if (!resume) {
		struct eg_in_ctr zero[dp->ncpus];

		memset(zero, 0, sizeof(zero));
		bpf_map_update_elem(dp->fd_in_ctr, &cfg->slot, zero, BPF_ANY);
	}
	if (bpf_map_update_elem(dp->fd_ifsite, &key, cfg, BPF_ANY))
		return -errno;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		goto fail;
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		goto fail;
	pr_debug("inner program on ifindex %d for site %u", ifindex, cfg->site_id);
	return 0;
fail:
	bpf_map_delete_elem(dp->fd_ifsite, &key);
	return err;
}

void eg_dp_inner_detach(struct eg_dp *dp, int ifindex, uint32_t slot)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	__u32 key = ifindex;

	/* the interface usually goes with its hook; be tidy if it stays */
	bpf_tc_hook_destroy(&hook);
	bpf_map_delete_elem(dp->fd_ifsite, &key);
	eg_flows_purge_slot(dp->ft, slot, NULL);
	bpf_map_delete_elem(dp->fd_in_ctr, &slot);
}

int eg_dp_inner_update(struct eg_dp *dp, uint32_t site_id,
		       const struct eg_isite *cfg)
{
	__u32 key, next, *prev = NULL;
	struct eg_isite cur;

	while (bpf_map_get_next_key(dp->fd_ifsite, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(dp->fd_ifsite, &key, &cur) == 0 &&
		    cur.site_id == site_id &&
		    bpf_map_update_elem(dp->fd_ifsite, &key, cfg, BPF_EXIST))
			return -errno;
	}
	return 0;
}

int eg_dp_inner_counts(struct eg_dp *dp, uint32_t slot, uint32_t *flows,
		       uint32_t *devs)
{
	struct eg_in_cnt c;
	int err = eg_flows_counts(dp->ft, slot, &c);

	*flows = err ? 0 : c.flows;
	*devs = err ? 0 : c.devs;
	return err;
}

int eg_dp_inner_ctr(struct eg_dp *dp, uint32_t slot, struct eg_in_ctr *out)
{
	return eg_in_ctr_sum(dp->fd_in_ctr, slot, out);
}

void eg_dp_sweep(struct eg_dp *dp)
{
	struct eg_sweep_res res = { 0 };

	if (eg_flows_sweep_step(dp->ft, eg_mono_ns(), EG_SWEEP_BUDGET, &res) == 0 &&
	    (res.flows_freed || res.devs_freed))
		pr_debug("sweeper: %llu flows, %llu devices expired",
			 (unsigned long long)res.flows_freed,
			 (unsigned long long)res.devs_freed);
	if (res.underflow)
		pr_warn("sweeper: %llu count underflows (a bug)",
			(unsigned long long)res.underflow);
}

int eg_dp_flows(struct eg_dp *dp, uint32_t slot, unsigned max,
		eg_dp_flow_cb cb, void *arg)
{
	int fd = bpf_map__fd(dp->tc->maps.eg_flows);
	struct eg_flow_key key, next, *prev = NULL;
	struct eg_flow f;
	unsigned n = 0;

	while (n < max && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (key.slot != slot || bpf_map_lookup_elem(fd, &key, &f))
			continue;
		cb(&key, &f, arg);
		n++;
	}
	return 0;
}
