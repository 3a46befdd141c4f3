/* SPDX-License-Identifier: GPL-2.0 */
/*
 * status.h - site status and throughput from what XDP observed.
 *
 * Every EG_SCAN_SECS ipsecd walks eg_sites, sums each site's per-CPU
 * counters and derives:
 *   - up/down: a keepalive or IKE packet within EG_ALIVE_SECS (the XDP
 *     program stamps last_alive_ns); transitions are written to the store
 *     (status, status_since) so the site list can filter on them in SQL;
 *   - throughput: bits per second over a sliding window of the last
 *     EG_TPUT_SAMPLES scans of the site's byte counter.
 * State is indexed by the site's counter slot, which the map gives us.
 */
#ifndef EG_STATUS_H
#define EG_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#define EG_SCAN_SECS		5
#define EG_TPUT_SAMPLES		7	/* 6 intervals: a 30 s window */

struct ipsecd;
struct eg_status_tab;

int eg_status_open(struct eg_status_tab **t);
void eg_status_close(struct eg_status_tab *t);
/* What the store says of a site at start (so a restart rewrites nothing). */
void eg_status_seed(struct eg_status_tab *t, uint32_t slot, uint32_t site_id,
		    bool up);
/* One scan (called from the main loop every EG_SCAN_SECS). */
void eg_status_scan(struct eg_status_tab *t, struct ipsecd *d);
/* Throughput of the site in slot (its last window), Kbps; 0 if unknown. */
uint64_t eg_status_kbps(const struct eg_status_tab *t, uint32_t slot,
			uint32_t site_id);

#endif /* EG_STATUS_H */
