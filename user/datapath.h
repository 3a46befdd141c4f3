/* SPDX-License-Identifier: GPL-2.0 */
/*
 * datapath.h - ipsecd's side of the XDP classifier: load, attach (libxdp),
 * pin the maps, keep eg_sites/eg_spis in step with the store, read counters.
 *
 * The BPF maps are the index: a site's counter slot lives in its eg_sites
 * value, so nothing here mirrors the map in memory except the bitmap of
 * free slots and the two indexes of dp_index.h (taken SPI indexes, sites
 * per source filter bit).
 */
#ifndef EG_DATAPATH_H
#define EG_DATAPATH_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "espgate.h"

struct eg_dp;

struct eg_dp_opts {
	const char *ifname;	/* NULL: load and pin, attach nowhere */
	const char *pin_root;	/* default EG_PIN_ROOT */
	uint32_t local_addr;	/* network order; 0 = any */
	bool force_generic;	/* skip the native attempt */
	uint32_t ike_rate;	/* IKE packets/s per site and CPU; 0: no limit */
	uint32_t ike_burst;	/*   and the burst over it */
	struct eg_in_cfg inner;	/* the inner program's defaults (caps, timeouts) */
};

/* Load the programs and make the maps, or take over the ones a previous
 * ipsecd left pinned under pin_root if this build defines them the same
 * (their counters, flows and entries carry on; eg_dp_sites_load and
 * eg_dp_carry_prune then drop what is no longer ours). The classifier is
 * not on the interface yet: fill the maps first, then eg_dp_attach(). */
int eg_dp_open(struct eg_dp **dp, const struct eg_dp_opts *o);
/* Put the classifier on the interface (native, else generic unless
 * force_generic), replacing one a previous ipsecd left in one atomic
 * step. Nothing to do without an interface. */
int eg_dp_attach(struct eg_dp *dp, bool force_generic);
/* Detach, unpin, free; keep_xdp (a restart): the classifier stays on the
 * interface and the maps pinned, filtering as they are, until the next
 * ipsecd takes them over and replaces it. */
void eg_dp_close(struct eg_dp *dp, bool keep_xdp);
/* "native" or "generic" (skb) once attached, "none" otherwise. */
const char *eg_dp_mode(const struct eg_dp *dp);

/*
 * Insert or update the site keyed by its source IP (network order).
 * ESP passes on the SPI alone: before a site is disabled or deleted, its
 * Child SAs must be gone (eg_tunnels_site_down() removes their SPIs).
 */
int eg_dp_site_set(struct eg_dp *dp, uint32_t saddr, uint32_t site_id,
		   bool enabled);
/* The site at saddr, if any: store id, slot, flags. */
int eg_dp_site_lookup(struct eg_dp *dp, uint32_t saddr, struct eg_site *out);
/* Call cb for every site in eg_sites with its summed counters. */
typedef void (*eg_dp_site_cb)(uint32_t saddr, const struct eg_site *s,
			      const struct eg_site_ctr *c, void *arg);
int eg_dp_site_walk(struct eg_dp *dp, eg_dp_site_cb cb, void *arg);
/*
 * Load the store's sites into eg_sites at start-up: a site a carried-over
 * map already holds (same source IP and id) keeps its slot and counters,
 * entries the store no longer has are removed; the others get slots in
 * order; the slots come back in v[].slot. Batched map updates, so 100,000
 * sites cost a handful of syscalls instead of 200,000.
 */
struct eg_dp_site_init {
	uint32_t saddr;		/* network order */
	uint32_t site_id;
	bool enabled;
	uint32_t slot;		/* out */
};
int eg_dp_sites_load(struct eg_dp *dp, struct eg_dp_site_init *v, size_t n);
/* Remove the site; its counter slot is zeroed and freed. */
int eg_dp_site_del(struct eg_dp *dp, uint32_t saddr);
/* A new inbound SPI (network order) whose eg_spis index is free
 * (eg_spi_index_pick); then add it with the site at saddr (enabled), or
 * delete it. An add finds its index taken by another SPI: -EEXIST. */
int eg_dp_spi_pick(struct eg_dp *dp, uint32_t *spi);
int eg_dp_spi_add(struct eg_dp *dp, uint32_t spi, uint32_t saddr);
int eg_dp_spi_del(struct eg_dp *dp, uint32_t spi);
/*
 * After a restart resumed its tunnels on maps carried over from the
 * previous ipsecd: remove the eg_spis entries whose SPI is not in live
 * (sorted; the inbound SPIs of every Child SA now known) and the
 * eg_ifsite entries of interfaces that are gone. Nothing on fresh maps.
 */
int eg_dp_carry_prune(struct eg_dp *dp, const uint32_t *live, size_t n);

/* Per-site counters summed over CPUs (last_alive_ns: the latest). */
int eg_dp_site_counters(struct eg_dp *dp, uint32_t saddr,
			struct eg_site_ctr *out);

/*
 * The inner (TC) program on a site's XFRM interface: fill eg_ifsite and
 * attach at clsact ingress, replacing what is there (attach; resume keeps
 * the slot's counters: a restart), or detach, forget the interface and
 * give back every flow and device slot of the site (detach).
 */
int eg_dp_inner_attach(struct eg_dp *dp, int ifindex, const struct eg_isite *cfg,
		       bool resume);
void eg_dp_inner_detach(struct eg_dp *dp, int ifindex, uint32_t slot);
/* Replace the site's inner config where attached (site edited). */
int eg_dp_inner_update(struct eg_dp *dp, uint32_t site_id,
		       const struct eg_isite *cfg);
/* Exact flow/device counts and summed inner counters of a slot. */
int eg_dp_inner_counts(struct eg_dp *dp, uint32_t slot, uint32_t *flows,
		       uint32_t *devs);
int eg_dp_inner_ctr(struct eg_dp *dp, uint32_t slot, struct eg_in_ctr *out);
/* Once a second: expire idle flows and devices within a budget. */
void eg_dp_sweep(struct eg_dp *dp);
/* Flows of a slot, at most max, each to cb. */
typedef void (*eg_dp_flow_cb)(const struct eg_flow_key *k,
			      const struct eg_flow *f, void *arg);
int eg_dp_flows(struct eg_dp *dp, uint32_t slot, unsigned max,
		eg_dp_flow_cb cb, void *arg);

/* Packets by verdict reason, summed over CPUs: the XDP program's
 * (enum eg_reason, n = EG_REASON_MAX) or the inner program's (inner:
 * enum eg_in_reason, n = EG_IN_REASON_MAX). */
int eg_dp_verdicts(struct eg_dp *dp, bool inner, struct eg_ctr *out, unsigned n);

/* Helpers shared with ipsecctl's map dump. */
int eg_percpu_site_sum(int map_fd, __u32 slot, struct eg_site_ctr *out);
int eg_percpu_stats_sum(int map_fd, __u32 reason, struct eg_ctr *out);
/* Mount bpffs on /sys/fs/bpf when it is not there. */
int eg_bpffs_ensure(const char *pin_root);

#endif /* EG_DATAPATH_H */
