/* SPDX-License-Identifier: GPL-2.0 */
/*
 * flows.h - ipsecd's side of the inner (TC) program's flow and device
 * tables: the once-a-second sweeper that expires idle entries and gives
 * their slots back, the purge of a removed site, and the exact counts.
 *
 * The rule is one: an entry's slot is given back (eg_in_cnt decremented)
 * exactly when bpf_map_delete_elem() on it succeeds, by the program (TCP
 * RST) or by us. A delete that fails with ENOENT lost a race with the
 * program or a previous pass and decrements nothing.
 */
#ifndef EG_FLOWS_H
#define EG_FLOWS_H

#include <linux/types.h>

#include "espgate.h"

struct eg_flows;

/* What one sweep or purge did. */
struct eg_sweep_res {
	__u64 flows_seen;	/* entries read */
	__u64 flows_freed;	/* deleted by us: slots given back */
	__u64 devs_seen;
	__u64 devs_freed;
	__u64 raced;		/* expired, but someone else deleted it first */
	__u64 underflow;	/* a count already 0 at our decrement (a bug) */
};

/*
 * Take the maps of a loaded tc_inner (eg_flows, eg_devs, eg_in_cnt) and the
 * cfg its rodata was loaded with. eg_in_cnt is mmapped: its decrements are
 * atomic adds on the memory the program uses, so none is lost to a
 * concurrent increment. 0 or -errno.
 */
int eg_flows_open(struct eg_flows **ft, int fd_flows, int fd_devs, int fd_cnt,
		  const struct eg_in_cfg *cfg);
void eg_flows_close(struct eg_flows *ft);

/*
 * Delete every flow and device idle past its timeout at now_ns
 * (CLOCK_MONOTONIC, eg_mono_ns()) and decrement its site's count once per
 * successful delete, in one full round over both maps. res may be NULL.
 */
int eg_flows_sweep(struct eg_flows *ft, __u64 now_ns, struct eg_sweep_res *res);

/*
 * The same, a slice at a time: visit about `budget` entries (whole batches
 * of EG_SWEEP_BATCH), resuming where the previous call stopped; 1 when this
 * call finished a round over both maps, 0 when it ran out of budget, or
 * -errno. Reading 1M flows costs ~0.2 s (memory bound, see bench_tc), so
 * ipsecd calls this once a second with EG_SWEEP_BUDGET: an entry is then
 * deleted at most (entries / budget) seconds after it expired - 4 s at 1M
 * flows, immediately below 262k - and a call costs tens of ms at most.
 * budget 0 means no limit. res counts this call only.
 */
#define EG_SWEEP_BATCH	4096
#define EG_SWEEP_BUDGET	262144
int eg_flows_sweep_step(struct eg_flows *ft, __u64 now_ns, __u64 budget,
			struct eg_sweep_res *res);

/*
 * Delete every flow and device of one slot, whatever their age, then set
 * the slot's counts to 0. For a removed site, after its xfrm interface (and
 * so the program on it) is gone and before the slot is reused.
 */
int eg_flows_purge_slot(struct eg_flows *ft, __u32 slot,
			struct eg_sweep_res *res);

/* The exact current counts of a slot (what monitoring shows). */
int eg_flows_counts(const struct eg_flows *ft, __u32 slot,
		    struct eg_in_cnt *out);

/* CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_coarse_ns(). */
__u64 eg_mono_ns(void);

/* -EINVAL if cfg's timeouts are zero or EG_TO_DEV does not outlive every
 * flow class by two device epochs (see EG_DEV_EPOCH_SHIFT). */
int eg_in_cfg_check(const struct eg_in_cfg *cfg);

/* eg_in_ctr[slot] summed over CPUs (last_probe_ns: the latest). */
int eg_in_ctr_sum(int fd_ctr, __u32 slot, struct eg_in_ctr *out);

#endif /* EG_FLOWS_H */
