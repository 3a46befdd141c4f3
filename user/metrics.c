// SPDX-License-Identifier: GPL-2.0
/*
 * metrics.c - the /metrics page (metrics.h), built from the same sources
 * as `ipsecctl status`, `site list` and `map dump`: the store, the IKE
 * engine's counters and the BPF maps.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datapath.h"
#include "espgate.h"
#include "health.h"
#include "ipsecd.h"
#include "metrics.h"
#include "status.h"
#include "tunnel.h"

/* One site's numbers, gathered first: a family's samples go together. */
struct site_m {
	char name[EG_NAME_MAX + 1];
	int status;			/* enum eg_status */
	struct eg_site_ctr ctr;
	struct eg_in_ctr in;
	uint64_t flows, devs, kbps;
};

struct site_walk {
	struct ipsecd *d;
	struct site_m *v;
	size_t n, max;
};

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f), fputc(*s, f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static int count_one(const struct eg_site_rec *s, void *arg)
{
	(void)s, (void)arg;
	return 0;
}

static int64_t sites_with(struct ipsecd *d, enum eg_status st)
{
	struct eg_site_filter flt = { .status = st, .page = 1, .per_page = 1 };
	struct eg_err err;
	int64_t total = 0;

	return eg_site_query(d->st, &flt, count_one, NULL, &total, &err) ? -1 : total;
}

static int site_one(const struct eg_site_rec *s, void *arg)
{
	struct site_walk *w = arg;
	struct site_m *m;
	struct eg_site ds;

	if (w->n >= w->max)
		return 0;
	m = &w->v[w->n++];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", s->name);
	m->status = !s->enabled ? EG_STATUS_DISABLED : s->up ? EG_STATUS_UP : EG_STATUS_DOWN;
	if (w->d->dp && !eg_dp_site_lookup(w->d->dp, s->source_ip, &ds)) {
		uint32_t flows = 0, devs = 0;

		eg_dp_site_counters(w->d->dp, s->source_ip, &m->ctr);
		eg_dp_inner_counts(w->d->dp, ds.slot, &flows, &devs);
		m->flows = flows;
		m->devs = devs;
		eg_dp_inner_ctr(w->d->dp, ds.slot, &m->in);
		m->kbps = eg_status_kbps(w->d->status, ds.slot, ds.site_id);
	}
	return 0;
}

/* The first max sites by name, in pages of EG_PAGE_MAX. */
static int gather_sites(struct site_walk *w)
{
	struct eg_site_filter flt = { .per_page = EG_PAGE_MAX };
	int64_t total = 0;
	struct eg_err err;

	if (!w->max)
		return 0;
	w->v = calloc(w->max, sizeof(*w->v));
	if (!w->v)
		return -ENOMEM;
	for (flt.page = 1; w->n < w->max; flt.page++) {
		size_t before = w->n;

		if (eg_site_query(w->d->st, &flt, site_one, w, &total, &err))
			return -EIO;
		if (w->n == before)
			break;
	}
	return 0;
}

static void child_count(const struct ike_sa *sa, void *arg)
{
	*(uint64_t *)arg += ike_sa_tunnels(sa);
}

static void ike_metrics(FILE *f, struct ipsecd *d)
{
	const struct ike_ctx *ike = eg_tunnels_ike(d->tun);
	const struct ike_stats *s = ike_get_stats(ike);
	unsigned half, all = ike_sa_count(ike, &half);
	uint64_t children = 0;
	const struct { const char *result; uint64_t v; } hs[] = {
		{ "ok", s->auth_ok }, { "auth_failed", s->auth_failed },
		{ "no_proposal", s->init_no_proposal },
		{ "invalid_ke", s->init_invalid_ke }, { "refused", s->init_refused },
		{ "half_open_full", s->init_half_open_full },
		{ "source_limited", s->init_src_limited },
		{ "bad_cookie", s->init_cookie_bad }, { "too_big", s->init_too_big },
	};
	unsigned i;

	ike_foreach(ike, child_count, &children);
	family(f, "espgate_ike_sas", "gauge", "IKE SAs by state.");
	fprintf(f, "espgate_ike_sas{state=\"established\"} %u\n", all - half);
	fprintf(f, "espgate_ike_sas{state=\"half_open\"} %u\n", half);
	family(f, "espgate_child_sas", "gauge",
	       "Child SAs carrying traffic (a rekey's old SA not counted).");
	fprintf(f, "espgate_child_sas %llu\n", (unsigned long long)children);
	family(f, "espgate_ike_handshakes_total", "counter",
	       "IKE_SA_INIT/IKE_AUTH exchanges answered, by result.");
	for (i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
		fprintf(f, "espgate_ike_handshakes_total{result=\"%s\"} %llu\n",
			hs[i].result, (unsigned long long)hs[i].v);
	family(f, "espgate_ike_cookies_sent_total", "counter",
	       "COOKIE notifies sent (DoS protection, RFC 7296 2.6).");
	fprintf(f, "espgate_ike_cookies_sent_total %llu\n",
		(unsigned long long)s->init_cookie_sent);
	family(f, "espgate_ike_messages_received_total", "counter", "IKE datagrams received.");
	fprintf(f, "espgate_ike_messages_received_total %llu\n", (unsigned long long)s->rx);
	family(f, "espgate_ike_messages_dropped_total", "counter",
	       "IKE datagrams dropped, by reason.");
	fprintf(f, "espgate_ike_messages_dropped_total{reason=\"malformed\"} %llu\n"
		   "espgate_ike_messages_dropped_total{reason=\"unmatched\"} %llu\n"
		   "espgate_ike_messages_dropped_total{reason=\"ikev1\"} %llu\n",
		(unsigned long long)s->rx_bad, (unsigned long long)s->rx_dropped,
		(unsigned long long)s->ikev1);
	family(f, "espgate_rekeys_total", "counter", "SAs rekeyed, either side starting.");
	fprintf(f, "espgate_rekeys_total{sa=\"ike\"} %llu\nespgate_rekeys_total{sa=\"child\"} %llu\n",
		(unsigned long long)s->ike_rekeys, (unsigned long long)s->child_rekeys);
	family(f, "espgate_rekey_collisions_total", "counter",
	       "Simultaneous rekeys resolved (RFC 7296 2.8.1, 2.8.2).");
	fprintf(f, "espgate_rekey_collisions_total %llu\n",
		(unsigned long long)s->rekey_collisions);
	family(f, "espgate_dpd_timeouts_total", "counter",
	       "IKE SAs removed because the peer stopped answering.");
	fprintf(f, "espgate_dpd_timeouts_total %llu\n", (unsigned long long)s->dpd_dead);
	family(f, "espgate_child_sas_expired_total", "counter",
	       "Child SAs that reached their hard lifetime unrekeyed.");
	fprintf(f, "espgate_child_sas_expired_total %llu\n", (unsigned long long)s->expired);
	family(f, "espgate_ike_sas_replaced_total", "counter",
	       "IKE SAs replaced by a newer one of the same site.");
	fprintf(f, "espgate_ike_sas_replaced_total %llu\n", (unsigned long long)s->replaced);
	family(f, "espgate_nat_moves_total", "counter",
	       "Peers whose NAT mapping moved (the SAs followed).");
	fprintf(f, "espgate_nat_moves_total %llu\n", (unsigned long long)s->nat_moves);
}

/* One family of verdict counters: NAME{verdict, reason} for each reason. */
static void verdict_family(FILE *f, const char *name, const char *help,
			   const char *const *names, const struct eg_ctr *v,
			   unsigned n, unsigned first_drop, bool bytes)
{
	unsigned i;

	family(f, name, "counter", help);
	for (i = 0; i < n; i++)
		fprintf(f, "%s{verdict=\"%s\",reason=\"%s\"} %llu\n", name,
			i < first_drop ? "pass" : "drop", names[i] + 5,	/* "pass_", "drop_" */
			(unsigned long long)(bytes ? v[i].bytes : v[i].pkts));
}

static void verdicts(FILE *f, struct ipsecd *d)
{
	static const char *const xn[] = EG_REASON_NAMES;
	static const char *const in[] = EG_IN_REASON_NAMES;
	struct eg_ctr x[EG_REASON_MAX], y[EG_IN_REASON_MAX];

	memset(x, 0, sizeof(x));
	memset(y, 0, sizeof(y));
	if (d->dp) {
		eg_dp_verdicts(d->dp, false, x, EG_REASON_MAX);
		eg_dp_verdicts(d->dp, true, y, EG_IN_REASON_MAX);
	}
	verdict_family(f, "espgate_xdp_packets_total",
		       "Packets the XDP classifier saw on the WAN, by verdict and reason.",
		       xn, x, EG_REASON_MAX, EG_FIRST_DROP, false);
	verdict_family(f, "espgate_xdp_bytes_total",
		       "Bytes the XDP classifier saw on the WAN, by verdict and reason.",
		       xn, x, EG_REASON_MAX, EG_FIRST_DROP, true);
	verdict_family(f, "espgate_inner_packets_total",
		       "Decrypted packets the inner program saw, by verdict and reason.",
		       in, y, EG_IN_REASON_MAX, EG_IN_FIRST_DROP, false);
}

static void per_site(FILE *f, const struct site_walk *w)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;	/* of a uint64_t in struct site_m */
	} fam[] = {
		{ "espgate_site_rx_bytes_total", "counter",
		  "WAN bytes of IKE and ESP from the site.", offsetof(struct site_m, ctr.rx_bytes) },
		{ "espgate_site_esp_packets_total", "counter",
		  "ESP-in-UDP packets from the site with one of its SPIs.",
		  offsetof(struct site_m, ctr.esp_pkts) },
		{ "espgate_site_ike_packets_total", "counter", "IKE packets from the site.",
		  offsetof(struct site_m, ctr.ike_pkts) },
		{ "espgate_site_inner_bytes_total", "counter",
		  "Decrypted bytes from the site that passed the inner limits.",
		  offsetof(struct site_m, in.bytes) },
		{ "espgate_site_throughput_kbps", "gauge", "Throughput over the last 30 s.",
		  offsetof(struct site_m, kbps) },
		{ "espgate_site_flows", "gauge", "Inner flows of the site now.",
		  offsetof(struct site_m, flows) },
		{ "espgate_site_endpoints", "gauge", "Inner source addresses of the site now.",
		  offsetof(struct site_m, devs) },
	};
	unsigned k;
	size_t i;

	family(f, "espgate_site_up", "gauge",
	       "1 if the site is up (keepalive or IKE in the last minute), 0 down, -1 disabled.");
	for (i = 0; i < w->n; i++) {
		fputs("espgate_site_up{site=\"", f);
		label(f, w->v[i].name);
		fprintf(f, "\"} %d\n", w->v[i].status == EG_STATUS_UP ? 1 :
			w->v[i].status == EG_STATUS_DOWN ? 0 : -1);
	}
	for (k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		family(f, fam[k].name, fam[k].type, fam[k].help);
		for (i = 0; i < w->n; i++) {
			uint64_t v;

			memcpy(&v, (const char *)&w->v[i] + fam[k].off, sizeof(v));
			fprintf(f, "%s{site=\"", fam[k].name);
			label(f, w->v[i].name);
			fprintf(f, "\"} %llu\n", (unsigned long long)v);
		}
	}
}

int eg_metrics_render(struct ipsecd *d, char **out, size_t *len)
{
	static const char *const st[] = { "up", "down", "disabled" };
	struct site_walk w = { .d = d, .max = d->metrics_sites };
	int64_t all = eg_site_count(d->st);
	FILE *f;
	unsigned i;
	int rc;

	*out = NULL;
	*len = 0;
	if ((int64_t)w.max > all && all >= 0)
		w.max = (size_t)all;
	rc = gather_sites(&w);
	if (rc) {
		free(w.v);
		return rc;
	}
	f = open_memstream(out, len);
	if (!f) {
		free(w.v);
		return -errno;
	}
	family(f, "espgate_info", "gauge", "This gateway: its POP and XDP mode.");
	fputs("espgate_info{pop=\"", f);
	label(f, d->pop_name ? d->pop_name : "");
	fprintf(f, "\",xdp_mode=\"%s\"} 1\n", d->dp ? eg_dp_mode(d->dp) : "none");
	family(f, "espgate_sites", "gauge", "Sites by status.");
	for (i = 0; i < 3; i++)
		fprintf(f, "espgate_sites{status=\"%s\"} %lld\n", st[i],
			(long long)sites_with(d, EG_STATUS_UP + i));
	family(f, "espgate_metrics_sites_omitted", "gauge",
	       "Sites without per-site series (over --metrics-sites).");
	fprintf(f, "espgate_metrics_sites_omitted %lld\n",
		(long long)(all > (int64_t)w.n ? all - (int64_t)w.n : 0));
	eg_health_metrics(d, f);
	if (d->tun)
		ike_metrics(f, d);
	verdicts(f, d);
	per_site(f, &w);
	free(w.v);
	if (fclose(f)) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}
