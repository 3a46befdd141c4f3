// SPDX-License-Identifier: GPL-2.0
/*
 * datapath.c - load the XDP classifier, attach it with libxdp (native, else
 * generic with a warning), pin its maps under one root and keep the site and
 * SPI maps in step with what ipsecd decides.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "datapath.h"
#include "dp_index.h"
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
	char ifname[IF_NAMESIZE];
	enum xdp_attach_mode mode;
	char pin_root[PATH_MAX / 2];
	int ncpus;
	int fd_sites, fd_spis, fd_stats, fd_site_ctr, fd_src;
	struct eg_spi_index *spix;	/* which eg_spis indexes are taken */
	struct eg_src_tab *srct;	/* eg_src, counted */
	int legacy_fd;		/* attached without libxdp (replace_legacy) */
	unsigned carried;	/* maps taken over from the pins */
	uint64_t slot_used[EG_MAX_SITES / 64];	/* bitmap of eg_site_ctr slots */
	void *ctr_buf;		/* eg_site_ctr read in bulk by eg_dp_site_walk */
	unsigned slot_hint;
};

/* The maps we pin, by their shared names. */
static const char *const pinned[] = {
	EG_MAP_SITES, EG_MAP_SPIS, EG_MAP_STATS, EG_MAP_SITE_CTR, EG_MAP_SRC,
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

/*
 * Our classifier left on the interface by the ipsecd before us (a stop
 * that kept the tunnels, or one that died) comes off only once ours is on:
 * a veth or NIC driver reconfigures its queues when XDP goes on or off,
 * which drops traffic, while a change of program in the dispatcher is one
 * atomic replace.
 */
static void detach_previous(struct eg_dp *dp, enum xdp_attach_mode mode)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(dp->ifindex);
	struct xdp_program *p, *old[8];
	uint32_t mine = xdp_program__id(dp->prog);
	size_t n = 0;
	int err;

	if (!mp || libxdp_get_error(mp))
		return;
	if (xdp_multiprog__is_legacy(mp)) {
		xdp_multiprog__close(mp);
		return;		/* not a dispatcher: ours would not be on */
	}
	for (p = xdp_multiprog__next_prog(NULL, mp); p && n < sizeof(old) / sizeof(old[0]);
	     p = xdp_multiprog__next_prog(p, mp))
		if (!strcmp(xdp_program__name(p), "xdp_classify") &&
		    xdp_program__id(p) != mine)
			old[n++] = p;
	if (n) {
		err = xdp_program__detach_multi(old, n, dp->ifindex, mode, 0);
		if (err)
			pr_warn("the previous classifier on ifindex %d stays attached: %s",
				dp->ifindex, strerror(-err));
		else
			pr_info("replaced the classifier the previous ipsecd left (%zu)", n);
	}
	xdp_multiprog__close(mp);
}

/*
 * A map the previous ipsecd left pinned, if it is the one this build
 * defines (type, sizes, flags): then its contents carry on, the counters
 * above all. One that differs (an upgrade changed it) is unpinned and
 * made anew; the classifier still running keeps its own until replaced.
 */
static int pinned_map(struct eg_dp *dp, const struct bpf_map *map)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dp->pin_root, bpf_map__name(map));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -ENOENT;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	    info.type == bpf_map__type(map) && info.key_size == bpf_map__key_size(map) &&
	    info.value_size == bpf_map__value_size(map) &&
	    info.max_entries == bpf_map__max_entries(map) &&
	    info.map_flags == bpf_map__map_flags(map))
		return fd;
	close(fd);
	unlink(path);
	pr_warn("pinned map %s is not this version's: made anew, its contents lost", path);
	return -ESTALE;
}

/*
 * The maps of a program, made (or taken over from the pins) before it is
 * loaded: libxdp loads the classifier only when it attaches it, and one
 * attached with empty maps would drop every tunnel's ESP until they are
 * filled (at a restart, while the previous one still had them all).
 */
static int make_maps(struct eg_dp *dp, struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		LIBBPF_OPTS(bpf_map_create_opts, mo,
			    .map_flags = bpf_map__map_flags(map));
		int fd, err;

		if (bpf_map__is_internal(map) || bpf_map__fd(map) >= 0)
			continue;	/* .rodata, made at load; or shared */
		fd = pinned_map(dp, map);
		if (fd >= 0)
			dp->carried++;
		else
			fd = bpf_map_create(bpf_map__type(map), bpf_map__name(map),
					    bpf_map__key_size(map), bpf_map__value_size(map),
					    bpf_map__max_entries(map), &mo);
		if (fd < 0)
			return -errno;
		err = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (err)
			return err;
	}
	return 0;
}

static int xdp_load(struct eg_dp *dp, const struct eg_dp_opts *o)
{
	int err;

	dp->skel = xdp_classify_bpf__open();
	if (!dp->skel)
		return -errno;
	dp->skel->rodata->local_addr = o->local_addr;
	dp->skel->rodata->ike_rate = o->ike_rate;
	dp->skel->rodata->ike_burst = o->ike_burst;

	err = make_maps(dp, dp->skel->obj);
	if (err)
		return err;
	if (!dp->ifindex) {
		/* No interface (tests, offline map inspection): just load. */
		err = xdp_classify_bpf__load(dp->skel);
		return err ? -errno : 0;
	}
	dp->prog = xdp_program__from_bpf_obj(dp->skel->obj, "xdp");
	err = libxdp_get_error(dp->prog);
	if (err)
		dp->prog = NULL;
	return err;
}

/*
 * Without a dispatcher (a kernel or driver without freplace), libxdp
 * attaches a program alone and cannot put another beside it: the one the
 * previous ipsecd left is replaced in one netlink request that names it
 * (XDP_FLAGS_REPLACE), so that the interface never runs without one.
 */
static uint32_t legacy_flags(enum xdp_attach_mode mode)
{
	return XDP_FLAGS_REPLACE |
	       (mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
}

static int replace_legacy(struct eg_dp *dp, struct xdp_multiprog *mp)
{
	struct xdp_program *old = xdp_multiprog__main_prog(mp);
	enum xdp_attach_mode mode = xdp_multiprog__attach_mode(mp);
	LIBBPF_OPTS(bpf_xdp_attach_opts, ao);
	struct bpf_program *bp;
	int err, fd;

	err = bpf_object__load(dp->skel->obj);
	if (err)
		return err;
	bp = bpf_object__find_program_by_name(dp->skel->obj, "xdp_classify");
	fd = bp ? bpf_program__fd(bp) : -ENOENT;
	if (fd < 0)
		return fd;
	ao.old_prog_fd = xdp_program__fd(old);
	err = bpf_xdp_attach(dp->ifindex, fd, legacy_flags(mode), &ao);
	if (err)
		return err;
	dp->legacy_fd = fd;
	dp->mode = mode;
	pr_info("replaced the classifier the previous ipsecd left (no dispatcher)");
	return 0;
}

/* The previous ipsecd's classifier, alone on the interface: keep it until ours replaces it. */
static struct xdp_multiprog *previous_legacy(struct eg_dp *dp)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(dp->ifindex);

	if (!mp || libxdp_get_error(mp))
		return NULL;
	if (xdp_multiprog__is_legacy(mp) && xdp_multiprog__main_prog(mp) &&
	    !strcmp(xdp_program__name(xdp_multiprog__main_prog(mp)), "xdp_classify"))
		return mp;
	xdp_multiprog__close(mp);
	return NULL;
}

int eg_dp_attach(struct eg_dp *dp, bool force_generic)
{
	enum xdp_attach_mode mode = XDP_MODE_NATIVE;
	struct xdp_multiprog *mp;
	int err = -EOPNOTSUPP;

	if (!dp->prog)
		return 0;
	if ((mp = previous_legacy(dp))) {
		err = replace_legacy(dp, mp);
		xdp_multiprog__close(mp);
		if (err) {
			pr_err("replace the classifier on %s: %s", dp->ifname, strerror(-err));
			return err;
		}
		goto attached;
	}
	if (!force_generic) {
		err = xdp_program__attach(dp->prog, dp->ifindex, mode, 0);
		if (err)
			pr_warn("native XDP on %s failed (%s); falling back to generic (skb) mode, which is much slower",
				dp->ifname, strerror(-err));
	}
	if (err) {
		mode = XDP_MODE_SKB;
		err = xdp_program__attach(dp->prog, dp->ifindex, mode, 0);
		if (err) {
			pr_err("attach XDP on %s: %s", dp->ifname, strerror(-err));
			return err;
		}
	}
	dp->mode = mode;
	detach_previous(dp, mode);
attached:
	pr_info("XDP classifier attached to %s in %s mode, maps pinned under %s",
		dp->ifname, eg_dp_mode(dp), dp->pin_root);
	return 0;
}

/*
 * The classifier's maps through descriptors of our own: libxdp loads the
 * program when it attaches it (eg_dp_attach, after the maps are filled)
 * and libbpf's own descriptors of the maps are not the same numbers
 * after that load as before it.
 */
static int own_fd(const struct bpf_map *map)
{
	return fcntl(bpf_map__fd(map), F_DUPFD_CLOEXEC, 3);
}

static void unload(struct eg_dp *dp)
{
	int *fds[] = { &dp->fd_sites, &dp->fd_spis, &dp->fd_stats, &dp->fd_site_ctr,
		       &dp->fd_src };
	unsigned i;

	eg_spi_index_close(dp->spix);
	dp->spix = NULL;
	eg_src_tab_close(dp->srct);
	dp->srct = NULL;
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	eg_flows_close(dp->ft);
	dp->ft = NULL;
	tc_inner_bpf__destroy(dp->tc);
	dp->tc = NULL;
	if (dp->legacy_fd >= 0 && dp->mode != XDP_MODE_UNSPEC) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, ao, .old_prog_fd = dp->legacy_fd);

		bpf_xdp_detach(dp->ifindex, legacy_flags(dp->mode), &ao);
		dp->mode = XDP_MODE_UNSPEC;
	}
	dp->legacy_fd = -1;	/* the object's own: closed with it */
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
		err = make_maps(dp, dp->tc->obj);
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
	dp->fd_sites = dp->fd_spis = dp->fd_stats = dp->fd_site_ctr = -1;
	dp->fd_src = -1;
	dp->legacy_fd = -1;
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
		snprintf(dp->ifname, sizeof(dp->ifname), "%s", o->ifname);
	}
	err = eg_bpffs_ensure(dp->pin_root);
	if (err)
		goto fail;

	err = xdp_load(dp, o);
	if (err) {
		pr_err("load XDP%s%s: %s", o->ifname ? " for " : "",
		       o->ifname ? o->ifname : "", strerror(-err));
		goto fail;
	}
	err = pin_all(dp, dp->skel->obj);
	if (err)
		goto fail;
	err = inner_load(dp, o);
	if (err)
		goto fail;

	if ((dp->fd_sites = own_fd(dp->skel->maps.eg_sites)) < 0 ||
	    (dp->fd_spis = own_fd(dp->skel->maps.eg_spis)) < 0 ||
	    (dp->fd_stats = own_fd(dp->skel->maps.eg_stats)) < 0 ||
	    (dp->fd_site_ctr = own_fd(dp->skel->maps.eg_site_ctr)) < 0 ||
	    (dp->fd_src = own_fd(dp->skel->maps.eg_src)) < 0) {
		err = -errno;
		goto fail;
	}
	err = eg_spi_index_open(&dp->spix, dp->fd_spis);
	if (!err)
		err = eg_src_tab_open(&dp->srct, dp->fd_src);
	if (err)
		goto fail;
	if (dp->carried)
		pr_info("%u maps carried over from the previous ipsecd (%s): counters and flows go on",
			dp->carried, dp->pin_root);
	*dpp = dp;
	return 0;
fail:
	/* the pins stay: they may be what a running classifier uses */
	unload(dp);
	free(dp);
	return err;
}

void eg_dp_close(struct eg_dp *dp, bool keep_xdp)
{
	if (!dp)
		return;
	if (keep_xdp) {
		dp->mode = XDP_MODE_UNSPEC;	/* unload() leaves it attached */
	} else {
		unpin_all(dp->pin_root);
		rmdir(dp->pin_root);
	}
	unload(dp);
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
		out->drop_ike_rate += pc[c].drop_ike_rate;
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
	struct eg_src_site src;
	struct eg_site s;
	bool fresh = false;
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
		fresh = true;
	}
	s.flags = enabled ? EG_SITE_ENABLED : 0;
	if (bpf_map_update_elem(dp->fd_sites, &saddr, &s, BPF_ANY)) {
		err = -errno;
		if (fresh)
			slot_free(dp, s.slot);
		return err;
	}
	/* eg_src after eg_sites: a shared bucket sends the program there */
	src = (struct eg_src_site){ .saddr = saddr, .slot = s.slot, .enabled = enabled };
	err = fresh ? eg_src_tab_add(dp->srct, &src) : eg_src_tab_set(dp->srct, &src);
	if (err && fresh) {
		eg_src_tab_del(dp->srct, saddr);
		bpf_map_delete_elem(dp->fd_sites, &saddr);
		slot_free(dp, s.slot);
	}
	return err;
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

#define EG_NO_SLOT UINT32_MAX

struct old_site {
	__u32 saddr;
	struct eg_site s;
	bool kept;
};

static int old_site_cmp(const void *a, const void *b)
{
	const struct old_site *x = a, *y = b;

	return x->saddr < y->saddr ? -1 : x->saddr > y->saddr;
}

/*
 * What a carried-over eg_sites already holds: a site the store still has
 * at the same source IP keeps its slot, and so its counters and flows; an
 * entry the store no longer has is removed with its slot's state. Fresh
 * maps hold nothing and this costs one syscall.
 */
static int sites_adopt(struct eg_dp *dp, struct eg_dp_site_init *v, size_t n,
		       unsigned *kept)
{
	enum { CHUNK = 8192 };
	struct old_site *old = NULL, key;
	__u32 keys[CHUNK], in = 0, out = 0, cnt, i;
	struct eg_site vals[CHUNK];
	size_t nold = 0, j;
	bool more = true;
	int err = 0;

	*kept = 0;
	while (more) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		struct old_site *o;

		cnt = CHUNK;
		err = bpf_map_lookup_batch(dp->fd_sites, in ? &in : NULL, &out, keys,
					   vals, &cnt, &opts);
		if (err && errno != ENOENT) {
			err = -errno;
			goto out;
		}
		more = !err;
		err = 0;
		if (nold + cnt > EG_MAX_SITES) {
			err = -E2BIG;
			goto out;
		}
		o = realloc(old, (nold + cnt + 1) * sizeof(*old));
		if (!o) {
			err = -ENOMEM;
			goto out;
		}
		old = o;
		for (i = 0; i < cnt; i++)
			old[nold++] = (struct old_site){ .saddr = keys[i], .s = vals[i] };
		in = out;
	}
	if (!nold)
		goto out;
	qsort(old, nold, sizeof(*old), old_site_cmp);
	for (j = 0; j < n; j++) {
		struct old_site *o;

		key.saddr = v[j].saddr;
		o = bsearch(&key, old, nold, sizeof(*old), old_site_cmp);
		if (!o || o->s.site_id != v[j].site_id || o->s.slot >= EG_MAX_SITES ||
		    dp->slot_used[o->s.slot / 64] & (1ULL << (o->s.slot % 64)))
			continue;
		o->kept = true;
		v[j].slot = o->s.slot;
		dp->slot_used[o->s.slot / 64] |= 1ULL << (o->s.slot % 64);
		(*kept)++;
	}
	for (j = 0; j < nold; j++) {
		if (old[j].kept)
			continue;
		bpf_map_delete_elem(dp->fd_sites, &old[j].saddr);
		if (old[j].s.slot >= EG_MAX_SITES)
			continue;
		/* unless another site keeps the slot */
		if (!(dp->slot_used[old[j].s.slot / 64] & (1ULL << (old[j].s.slot % 64)))) {
			eg_flows_purge_slot(dp->ft, old[j].s.slot, NULL);
			bpf_map_delete_elem(dp->fd_in_ctr, &old[j].s.slot);
			slot_free(dp, old[j].s.slot);
		}
	}
out:
	free(old);
	return err;
}

int eg_dp_sites_load(struct eg_dp *dp, struct eg_dp_site_init *v, size_t n)
{
	enum { CHUNK = 8192 };
	__u32 *keys = calloc(CHUNK, sizeof(*keys));
	struct eg_site *vals = calloc(CHUNK, sizeof(*vals));
	struct eg_src_site *src = malloc((n ? n : 1) * sizeof(*src));
	size_t i, done = 0;
	unsigned kept = 0;
	int err = 0;

	if (!keys || !vals || !src) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		v[i].slot = EG_NO_SLOT;
	err = sites_adopt(dp, v, n, &kept);
	if (err)
		goto out;
	if (kept)
		pr_info("%u sites kept their counter slots from the previous ipsecd", kept);
	while (done < n && !err) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 cnt = n - done < CHUNK ? n - done : CHUNK;

		for (i = 0; i < cnt; i++) {
			struct eg_dp_site_init *e = &v[done + i];

			if (e->slot == EG_NO_SLOT && (err = slot_alloc(dp, &e->slot)))
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
	/* eg_src once eg_sites is complete: a shared bucket sends there */
	for (i = 0; i < n && !err; i++)
		src[i] = (struct eg_src_site){ .saddr = v[i].saddr, .slot = v[i].slot,
					       .enabled = v[i].enabled };
	if (!err)
		err = eg_src_tab_load(dp->srct, src, n);
out:
	free(keys);
	free(vals);
	free(src);
	return err;
}

int eg_dp_site_del(struct eg_dp *dp, uint32_t saddr)
{
	struct eg_site s;

	if (bpf_map_lookup_elem(dp->fd_sites, &saddr, &s))
		return -ENOENT;
	/* eg_src first: from here the program drops the address as nobody's,
	 * so nothing counts into the slot once it is freed */
	eg_src_tab_del(dp->srct, saddr);
	if (bpf_map_delete_elem(dp->fd_sites, &saddr)) {
		int err = -errno;
		struct eg_src_site back = { .saddr = saddr, .slot = s.slot,
					    .enabled = s.flags & EG_SITE_ENABLED };

		eg_src_tab_add(dp->srct, &back);
		return err;
	}
	slot_free(dp, s.slot);
	return 0;
}

int eg_dp_spi_pick(struct eg_dp *dp, uint32_t *spi)
{
	return eg_spi_index_pick(dp->spix, spi);
}

int eg_dp_spi_add(struct eg_dp *dp, uint32_t spi, uint32_t saddr)
{
	struct eg_spi v = { .saddr = saddr, .spi = spi };
	struct eg_site s;

	if (bpf_map_lookup_elem(dp->fd_sites, &saddr, &s))
		return -ENOENT;
	if (!(s.flags & EG_SITE_ENABLED))
		return -EPERM;
	v.site_id = s.site_id;
	v.slot = s.slot;
	return eg_spi_index_put(dp->spix, &v);
}

int eg_dp_spi_del(struct eg_dp *dp, uint32_t spi)
{
	return eg_spi_index_del(dp->spix, spi);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The keys of a hash map, at most max of them (into a malloc'd *out). */
static int map_keys(int fd, size_t max, uint32_t **out, size_t *n)
{
	uint32_t *k = NULL, key, next;
	size_t cap = 0;
	void *prev = NULL;

	*n = 0;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (*n == max)
			break;
		if (*n == cap) {
			uint32_t *nk = realloc(k, (cap = cap ? 2 * cap : 256) * sizeof(*k));

			if (!nk) {
				free(k);
				return -ENOMEM;
			}
			k = nk;
		}
		k[(*n)++] = next;
		key = next;
		prev = &key;
	}
	*out = k;
	return 0;
}

struct spi_list {
	uint32_t *v;
	size_t n, cap;
};

static int spi_collect(const struct eg_spi *e, void *arg)
{
	struct spi_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		uint32_t *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = e->spi;
	return 0;
}

int eg_dp_carry_prune(struct eg_dp *dp, const uint32_t *live, size_t nlive)
{
	struct spi_list sc = { 0 };
	size_t n, i, gone = 0;
	uint32_t *k;
	char name[IF_NAMESIZE];
	int err;

	if (!dp->carried)
		return 0;
	err = eg_spis_walk(dp->fd_spis, spi_collect, &sc);
	if (err) {
		free(sc.v);
		return err;
	}
	for (i = 0; i < sc.n; i++)
		if (!bsearch(&sc.v[i], live, nlive, sizeof(*live), u32_cmp) &&
		    !eg_spi_index_del(dp->spix, sc.v[i]))
			gone++;
	free(sc.v);
	err = map_keys(dp->fd_ifsite, EG_MAX_SITES, &k, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++)
		if (!if_indextoname(k[i], name) && !bpf_map_delete_elem(dp->fd_ifsite, &k[i]))
			gone++;
	free(k);
	if (gone)
		pr_info("%zu carried-over SPI and interface entries no tunnel owns: removed", gone);
	return 0;
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

int eg_dp_verdicts(struct eg_dp *dp, bool inner, struct eg_ctr *out, unsigned n)
{
	int fd = inner ? bpf_map__fd(dp->tc->maps.eg_in_stats) : dp->fd_stats;
	unsigned i;
	int err;

	for (i = 0; i < n; i++)
		if ((err = eg_percpu_stats_sum(fd, i, &out[i])))
			return err;
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
