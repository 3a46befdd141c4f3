/* SPDX-License-Identifier: GPL-2.0 */
/*
 * health.h - downstream health checks: are the services behind this POP
 * (the web gateway, the cloud firewall) there to take a site's traffic?
 *
 * Each check (store.h, struct eg_health_rec) is a TCP connect or an HTTP
 * GET, run every interval on the daemon's epoll loop with non-blocking
 * sockets and a timeout, never blocking IKE. A check goes down after
 * `fall` failures in a row and up after `rise` successes; it starts up, so
 * a restart takes no tunnel down before the checks have spoken. A service
 * is healthy while all its checks are up (no checks: healthy).
 *
 * A web-gateway site needs the web-gateway service; a cloud-firewall site
 * needs both. When a service falls, the callback takes its sites' tunnels
 * down (DELETE), and until it rises every IKE_AUTH of such a site gets
 * AUTHENTICATION_FAILED: the seed's "the IPSec tunnel goes down and new
 * tunnel establishments fail sending an IPSec AUTH FAILURE message".
 */
#ifndef EG_HEALTH_H
#define EG_HEALTH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

struct eg_health;
struct ipsecd;

/* A service changed: healthy or not (the sites of these licenses). */
typedef void (*eg_health_change_cb)(void *arg, enum eg_license service, bool healthy,
			     const char *why);

/* The checks of this gateway's POP (pop NULL: only those for every POP). */
int eg_health_open(struct eg_health **h, int epfd, struct eg_store *st,
		   const char *pop, eg_health_change_cb cb, void *arg);
void eg_health_close(struct eg_health *h);
/* Once a second: start the checks that are due, time out the late ones. */
void eg_health_tick(struct eg_health *h);
/* The store's checks changed (health add/delete): start new ones, drop
 * the deleted, keep the state of the others. */
int eg_health_reload(struct eg_health *h);

/* May a site of this license have tunnels? If not, why: "downstream
 * web-gateway unhealthy since 2026-12-07 08:10:00 UTC". */
bool eg_health_site_ok(const struct eg_health *h, enum eg_license lic,
		       char *why, size_t cap);

/* What a check is doing now, for `health list`. */
struct eg_health_state {
	bool runs;		/* on this gateway (its POP, or every POP) */
	bool up;
	int64_t since;		/* unix seconds of the last change (or start) */
	uint64_t probes, failures;
	uint32_t last_ms;	/* how long the last probe took */
	char last[96];		/* the last result: "ok", "HTTP 503", ... */
};
void eg_health_state(const struct eg_health *h, int64_t id,
		     struct eg_health_state *out);
/* Is the service healthy, and since when (unix seconds; 0: always)? */
bool eg_health_service(const struct eg_health *h, enum eg_license service,
		       int64_t *since);

/* The espgate_health_* families of /metrics. */
void eg_health_metrics(struct ipsecd *d, FILE *f);

#endif /* EG_HEALTH_H */
