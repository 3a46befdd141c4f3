/* SPDX-License-Identifier: GPL-2.0 */
/*
 * metrics.h - /metrics in Prometheus' text exposition format (0.0.4).
 *
 * Aggregates always (sites by status, IKE and Child SAs, handshakes by
 * result, rekeys, DPD timeouts, the XDP and inner programs' verdicts by
 * reason); per-site series (site="NAME") for the first --metrics-sites
 * sites by name only, so a POP of 100k sites does not flood a Prometheus
 * with 100k label sets: espgate_metrics_sites_omitted says how many were
 * left out.
 */
#ifndef EG_METRICS_H
#define EG_METRICS_H

#include <stddef.h>

#define EG_METRICS_SITES_DEFAULT	1000
#define EG_METRICS_SITES_MAX		100000

struct ipsecd;

/* The whole page, malloc'd (free it). 0 or -errno. */
int eg_metrics_render(struct ipsecd *d, char **out, size_t *len);

#endif /* EG_METRICS_H */
