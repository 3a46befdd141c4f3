// SPDX-License-Identifier: GPL-2.0
/*
 * status.c - up/down and throughput per site from the XDP counters; see
 * status.h. Runs in the main loop; the cost is one walk of eg_sites (two
 * map reads per site) every EG_SCAN_SECS.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datapath.h"
#include "ipsecd.h"
#include "log.h"
#include "status.h"

struct slot_state {
	uint32_t site_id;		/* owner; 0 = unused */
	bool known, up;			/* status as last written to the store */
	unsigned n, head;		/* samples in the ring, next write */
	uint64_t bytes[EG_TPUT_SAMPLES];
	uint64_t ns[EG_TPUT_SAMPLES];
	uint64_t kbps;
};

struct eg_status_tab {
	struct slot_state slot[EG_MAX_SITES];
};

struct scan {
	struct eg_status_tab *t;
	struct ipsecd *d;
	uint64_t now_ns;
	time_t now;
	unsigned transitions;
};

int eg_status_open(struct eg_status_tab **t)
{
	*t = calloc(1, sizeof(**t));
	return *t ? 0 : -ENOMEM;
}

void eg_status_close(struct eg_status_tab *t)
{
	free(t);
}

static void scan_one(uint32_t saddr, const struct eg_site *s,
		     const struct eg_site_ctr *c, void *arg)
{
	struct scan *sc = arg;
	struct slot_state *st;
	struct eg_err err;
	unsigned oldest;
	bool up;

	(void)saddr;
	if (s->slot >= EG_MAX_SITES)
		return;
	st = &sc->t->slot[s->slot];
	if (st->site_id != s->site_id) {
		/* a new site in this slot: start over */
		memset(st, 0, sizeof(*st));
		st->site_id = s->site_id;
	}
	/* throughput: the byte counter over the window in the ring */
	st->bytes[st->head] = c->rx_bytes;
	st->ns[st->head] = sc->now_ns;
	st->head = (st->head + 1) % EG_TPUT_SAMPLES;
	if (st->n < EG_TPUT_SAMPLES)
		st->n++;
	oldest = (st->head + EG_TPUT_SAMPLES - st->n) % EG_TPUT_SAMPLES;
	if (st->n > 1 && sc->now_ns > st->ns[oldest])
		st->kbps = (c->rx_bytes - st->bytes[oldest]) * 8 * 1000000ULL /
			   (sc->now_ns - st->ns[oldest]);

	/* up: a keepalive or IKE seen within EG_ALIVE_SECS */
	up = c->last_alive_ns &&
	     sc->now_ns - c->last_alive_ns < EG_ALIVE_SECS * 1000000000ULL;
	if (st->known && st->up == up)
		return;
	if (eg_site_set_status(sc->d->st, s->site_id, up, sc->now, &err) == 0) {
		st->known = true;
		st->up = up;
		sc->transitions++;
		pr_debug("site %u is %s", s->site_id, up ? "up" : "down");
	}
}

void eg_status_seed(struct eg_status_tab *t, uint32_t slot, uint32_t site_id,
		    bool up)
{
	if (slot >= EG_MAX_SITES)
		return;
	memset(&t->slot[slot], 0, sizeof(t->slot[slot]));
	t->slot[slot].site_id = site_id;
	t->slot[slot].known = true;
	t->slot[slot].up = up;
}

void eg_status_scan(struct eg_status_tab *t, struct ipsecd *d)
{
	struct scan sc = { .t = t, .d = d, .now = time(NULL) };
	struct timespec ts;
	struct eg_err err;
	bool tx;

	if (!d->dp)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sc.now_ns = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	/* one transaction: a minute without keepalives may flip thousands */
	tx = eg_store_begin(d->st, &err) == 0;
	eg_dp_site_walk(d->dp, scan_one, &sc);
	if (tx && eg_store_commit(d->st, &err))
		pr_warn("writing site status: %s", err.msg);
	if (sc.transitions)
		pr_debug("%u site status transitions", sc.transitions);
}

uint64_t eg_status_kbps(const struct eg_status_tab *t, uint32_t slot,
			uint32_t site_id)
{
	if (slot >= EG_MAX_SITES || t->slot[slot].site_id != site_id)
		return 0;
	return t->slot[slot].kbps;
}
