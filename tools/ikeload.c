// SPDX-License-Identifier: GPL-2.0
/*
 * ikeload - an IKEv2 load generator: many branch offices at once, each a
 * full IKE_SA_INIT + IKE_AUTH (PSK) with one Child SA, against any IKEv2
 * responder (ipsecd, strongSwan's charon). It drives tools/ikeinit.h, the
 * initiator the unit tests use, on the project's codec and crypto.
 *
 *   ikeload -t 203.0.113.1 -s 10.200.0.1 -n 100 -N 2000 -c 64
 *
 * Branch k (0 <= k < n) sends from address s+k with identity --id (printf
 * format, %u = k plus the -k offset, default 0) and PSK --psk (same). The
 * branches' addresses must be local (or routed back here); each has one
 * UDP socket. -c handshakes are
 * in flight at once (no two from one branch), started as fast as possible
 * or at --rate per second, until -N are done or -d seconds have passed.
 * COOKIE (RFC 7296 2.6) and INVALID_KE_PAYLOAD (1.2) are answered as a
 * branch would; a request without an answer is sent again after
 * --timeout ms, --retries times.
 *
 * --flood RATE sends only IKE_SA_INIT requests (a spoofed flood's, each with
 * a new SPI, never continued) from the branches at that rate and counts
 * the answers; it computes no DH.
 *
 * Each thread (-T) owns the branches k with k % T == its number and uses
 * one key pair per group for all its handshakes (the generator is not under
 * test: this halves its DH cost; the responder sees a new nonce and SPI each
 * time). Reports handshakes/s, latency p50/p90/p99 and failures by reason,
 * as text and with -o as JSON. Exit 0 when the run completed (failures are
 * reported, not fatal), 1 on a setup error, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ikeinit.h"

#define MAX_BRANCHES	65536
#define MAX_THREADS	16
#define MAX_REASONS	32
#define PSK_MAX		256

struct opts {
	uint32_t target;		/* network order */
	uint16_t port;
	uint32_t first_src;		/* host order */
	unsigned first_no;		/* -k: the number of branch 0 */
	unsigned n_src, conc, threads, retries, timeout_ms;
	unsigned long total;		/* handshakes to finish; 0: -d */
	double secs, rate, flood;
	const char *id_fmt, *psk_fmt, *json;
	uint16_t group;
	bool quiet;
};

/* One failure reason and its count. */
struct reason {
	char name[64];
	unsigned long n;
};

struct stats {
	unsigned long ok, failed, started, cookies, invalid_ke, retransmits;
	unsigned long stray;		/* answers to no handshake in flight */
	unsigned long flood_sent, flood_cookie, flood_answer, flood_refused;
	struct reason why[MAX_REASONS];
	unsigned n_why;
	double *lat_ms;			/* of each success */
	size_t n_lat, cap_lat;
};

enum hs_state { HS_IDLE, HS_INIT, HS_AUTH };

/* A handshake in flight. */
struct hs {
	enum hs_state st;
	unsigned branch;
	struct ike_peer p;
	struct ikp_auth a;
	uint8_t psk[PSK_MAX];
	char id[128];
	uint8_t req[IKP_MSG_MAX];	/* the last request, for a retransmit */
	size_t req_len;
	double t0, t_sent;
	unsigned tries;
};

struct branch {
	int fd;
	uint32_t addr;			/* network order */
	uint16_t port;			/* our bound port, host order */
	bool busy;
};

struct worker {
	pthread_t tid;
	unsigned no;
	const struct opts *o;
	struct branch *br;		/* the ones this thread owns */
	unsigned n_br, next_br;
	struct hs *hs;
	unsigned n_hs;
	struct ike_dh *dh[3];		/* one key pair per group we know */
	struct stats s;
	double t_start;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Count one failure under its reason. */
static void why_s(struct stats *s, const char *name)
{
	unsigned i;

	for (i = 0; i < s->n_why; i++)
		if (!strcmp(s->why[i].name, name)) {
			s->why[i].n++;
			return;
		}
	if (s->n_why == MAX_REASONS - 1)
		name = "other reasons";	/* the last slot takes all the rest */
	if (s->n_why == MAX_REASONS) {
		s->why[MAX_REASONS - 1].n++;
		return;
	}
	snprintf(s->why[s->n_why].name, sizeof(s->why[0].name), "%s", name);
	s->why[s->n_why++].n = 1;
}

static void why(struct stats *s, const char *fmt, unsigned v)
{
	char name[64];

	snprintf(name, sizeof(name), fmt, v);
	why_s(s, name);
}

static const char *notify_name(unsigned t)
{
	switch (t) {
	case IKEV2_N_NO_PROPOSAL_CHOSEN: return "NO_PROPOSAL_CHOSEN";
	case IKEV2_N_INVALID_KE_PAYLOAD: return "INVALID_KE_PAYLOAD";
	case IKEV2_N_AUTHENTICATION_FAILED: return "AUTHENTICATION_FAILED";
	case IKEV2_N_TS_UNACCEPTABLE: return "TS_UNACCEPTABLE";
	case IKEV2_N_TEMPORARY_FAILURE: return "TEMPORARY_FAILURE";
	case IKEV2_N_INVALID_SYNTAX: return "INVALID_SYNTAX";
	case IKEV2_N_NO_ADDITIONAL_SAS: return "NO_ADDITIONAL_SAS";
	default: return NULL;
	}
}

static void why_notify(struct stats *s, const char *stage, unsigned t)
{
	char fmt[64];
	const char *n = notify_name(t);

	snprintf(fmt, sizeof(fmt), "%s: %s", stage, n ? n : "notify %u");
	why(s, fmt, t);
}

static int dh_slot(uint16_t g)
{
	return g == IKE_DH_MODP2048 ? 0 : g == IKE_DH_MODP3072 ? 1 :
	       g == IKE_DH_MODP4096 ? 2 : -1;
}

static int send_req(struct worker *w, struct hs *h)
{
	const struct branch *b = &w->br[h->branch];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(w->o->port),
				  .sin_addr.s_addr = w->o->target };

	h->t_sent = now_s();
	if (sendto(b->fd, h->req, h->req_len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return 0;
}

/* Our SPI names the handshake: its low 32 bits are the slot number. */
static void spi_tag(uint8_t spi[IKE_SPI_LEN], unsigned slot)
{
	spi[4] = slot >> 24;
	spi[5] = slot >> 16;
	spi[6] = slot >> 8;
	spi[7] = slot;
}

static int init_send(struct worker *w, struct hs *h)
{
	int err;

	/* the thread's key pair of this group, not one per handshake */
	if (h->p.dh && h->p.dh != w->dh[dh_slot(h->p.ke_group)])
		ike_dh_free(h->p.dh);
	h->p.dh = dh_slot(h->p.ke_group) >= 0 ? w->dh[dh_slot(h->p.ke_group)] : NULL;
	err = ikp_init_req(&h->p, h->req, sizeof(h->req), &h->req_len);
	if (err)
		return err;
	h->tries = 0;
	return send_req(w, h);
}

static void hs_end(struct worker *w, struct hs *h)
{
	h->p.dh = NULL;		/* the thread's */
	ikp_free(&h->p);
	OPENSSL_cleanse(h->psk, sizeof(h->psk));
	w->br[h->branch].busy = false;
	h->st = HS_IDLE;
}

static int hs_start(struct worker *w, struct hs *h, unsigned slot)
{
	const struct opts *o = w->o;
	unsigned i, k;
	struct branch *b = NULL;
	uint32_t esp_spi;
	int n;

	for (i = 0; i < w->n_br; i++) {
		k = (w->next_br + i) % w->n_br;
		if (!w->br[k].busy) {
			b = &w->br[k];
			w->next_br = (k + 1) % w->n_br;
			break;
		}
	}
	if (!b)
		return -EBUSY;
	memset(h, 0, sizeof(*h));
	h->branch = b - w->br;
	k = ntohl(b->addr) - o->first_src + o->first_no;
	if (ikp_new(&h->p, b->addr, o->target))
		return -EIO;
	spi_tag(h->p.spi_i, slot);
	h->p.port = b->port;
	h->p.priv_addr = b->addr;		/* no NAT between us */
	h->p.priv_port = b->port;
	h->p.ke_group = o->group;
	h->p.ike[0].xf[3].id = o->group;
	snprintf(h->id, sizeof(h->id), o->id_fmt, k);
	n = snprintf((char *)h->psk, sizeof(h->psk), o->psk_fmt, k);
	if (n < 0 || (size_t)n >= sizeof(h->psk) || ike_random(&esp_spi, sizeof(esp_spi)))
		return -EINVAL;
	ikp_auth_fqdn(&h->a, h->id, h->psk, n, esp_spi | 0x100);
	b->busy = true;
	h->st = HS_INIT;
	h->t0 = now_s();
	w->s.started++;
	return init_send(w, h);
}

static void lat_add(struct stats *s, double ms)
{
	if (s->n_lat == s->cap_lat) {
		size_t cap = s->cap_lat ? 2 * s->cap_lat : 4096;
		double *v = realloc(s->lat_ms, cap * sizeof(*v));

		if (!v)
			return;
		s->lat_ms = v;
		s->cap_lat = cap;
	}
	s->lat_ms[s->n_lat++] = ms;
}

static void on_init_resp(struct worker *w, struct hs *h, const uint8_t *m, size_t len)
{
	int rc = ikp_init_resp(&h->p, m, len);

	if (rc == IKEV2_N_COOKIE) {
		w->s.cookies++;
		if (init_send(w, h))
			goto fail;
		return;
	}
	if (rc == IKEV2_N_INVALID_KE_PAYLOAD && h->p.notify_len == 2) {
		uint16_t g = h->p.notify_data[0] << 8 | h->p.notify_data[1];

		w->s.invalid_ke++;
		if (dh_slot(g) < 0 || h->p.ke_group == g) {
			why(&w->s, "init: INVALID_KE_PAYLOAD asks for group %u", g);
			hs_end(w, h);
			return;
		}
		h->p.ke_group = g;
		h->p.ike[0].xf[3].id = g;
		if (init_send(w, h))
			goto fail;
		return;
	}
	if (rc > 0) {
		why_notify(&w->s, "init", rc);
		hs_end(w, h);
		return;
	}
	if (rc < 0) {
		why(&w->s, "init: answer not understood (%u)", -rc);
		hs_end(w, h);
		return;
	}
	if (ikp_auth_req(&h->p, &h->a, h->req, sizeof(h->req), &h->req_len))
		goto fail;
	h->st = HS_AUTH;
	h->tries = 0;
	if (send_req(w, h))
		goto fail;
	return;
fail:
	why_s(&w->s, "local error");
	hs_end(w, h);
}

static void on_auth_resp(struct worker *w, struct hs *h, const uint8_t *m, size_t len)
{
	struct ikp_msg *r = malloc(sizeof(*r));
	struct ikp_child c;
	int rc;

	if (!r) {
		why_s(&w->s, "local error");
		hs_end(w, h);
		return;
	}
	rc = ikp_open(&h->p, m, len, r);
	if (rc) {
		free(r);
		return;		/* not ours or not intact: a retransmit may come */
	}
	if (r->h.msgid != 1 || !(r->h.flags & IKEV2_FLAG_RESPONSE)) {
		free(r);
		return;		/* the responder's own request: not answered */
	}
	rc = ikp_auth_resp(&h->p, &h->a, r, &c);
	free(r);
	if (!rc) {
		w->s.ok++;
		lat_add(&w->s, (now_s() - h->t0) * 1000);
	} else if (rc > 0) {
		why_notify(&w->s, "auth", rc);
	} else if (rc == -EACCES) {
		why_s(&w->s, "auth: responder's AUTH does not verify");
	} else if (rc == -ENOENT) {
		why_s(&w->s, "auth: no Child SA in the answer");
	} else {
		why(&w->s, "auth: answer not understood (%u)", -rc);
	}
	ike_child_keys_wipe(&c.keys);
	hs_end(w, h);
}

static void on_datagram(struct worker *w, const uint8_t *m, size_t len)
{
	unsigned slot;
	struct hs *h;

	if (len < IKEV2_HDR_LEN) {
		w->s.stray++;
		return;
	}
	slot = (unsigned)m[4] << 24 | m[5] << 16 | m[6] << 8 | m[7];
	if (slot >= w->n_hs || w->hs[slot].st == HS_IDLE ||
	    memcmp(m, w->hs[slot].p.spi_i, IKE_SPI_LEN)) {
		w->s.stray++;
		return;
	}
	h = &w->hs[slot];
	if (h->st == HS_INIT)
		on_init_resp(w, h, m, len);
	else
		on_auth_resp(w, h, m, len);
}

static void flood_one(struct worker *w, struct branch *b, uint8_t *pkt, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(w->o->port),
				  .sin_addr.s_addr = w->o->target };

	/* a new initiator SPI each time: a new half-open SA to the responder */
	ike_random(pkt, IKE_SPI_LEN);
	if (sendto(b->fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) >= 0)
		w->s.flood_sent++;
}

static void flood_answer(struct worker *w, const uint8_t *m, size_t len)
{
	struct ikev2_msghdr h;
	struct ikev2_msg msg;
	struct ikev2_notify_pld n;
	unsigned i;

	if (ikev2_parse_msg(m, len, &h, &msg)) {
		w->s.stray++;
		return;
	}
	for (i = 0; i < msg.n; i++)
		if (msg.pld[i].type == IKEV2_PLD_NOTIFY && !ikev2_dec_notify(&msg.pld[i], &n)) {
			if (n.type == IKEV2_N_COOKIE) {
				w->s.flood_cookie++;
				return;
			}
			if (n.type <= IKEV2_N_ERROR_MAX) {
				w->s.flood_refused++;
				return;
			}
		}
	w->s.flood_answer++;
}

static void *flood_run(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	double per = o->flood / o->threads, t0 = now_s(), t_end = t0 + o->secs, t_read = 0;
	unsigned long due, sent = 0;
	uint8_t pkt[IKP_MSG_MAX], buf[IKP_MSG_MAX];
	size_t len;
	unsigned k = 0, i;
	struct ike_peer p;

	/* one real IKE_SA_INIT, its SPI changed for every copy */
	if (ikp_new(&p, w->br[0].addr, o->target) ||
	    ikp_init_req(&p, pkt, sizeof(pkt), &len))
		return NULL;
	w->t_start = t0;
	for (;;) {
		double t = now_s();

		if (t >= t_end)
			break;
		due = (unsigned long)((t - t0) * per);
		while (sent < due) {
			flood_one(w, &w->br[k], pkt, len);
			k = (k + 1) % w->n_br;
			sent++;
		}
		/* what came back, every 5 ms */
		if (t >= t_read) {
			for (i = 0; i < w->n_br; i++) {
				ssize_t r;

				while ((r = recv(w->br[i].fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
					flood_answer(w, buf, r);
			}
			t_read = t + 0.005;
		}
		usleep(200);
	}
	ikp_free(&p);
	return NULL;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	struct pollfd *pf = calloc(w->n_br, sizeof(*pf));
	uint8_t buf[IKP_MSG_MAX + 4];
	double per = o->rate > 0 ? o->rate / o->threads : 0;
	double t_end = o->secs > 0 ? now_s() + o->secs : 0;
	unsigned long my_total = o->total ? (o->total + o->threads - 1 - w->no) / o->threads : 0;
	unsigned i;

	if (!pf)
		return NULL;
	for (i = 0; i < w->n_br; i++)
		pf[i] = (struct pollfd){ .fd = w->br[i].fd, .events = POLLIN };
	w->t_start = now_s();
	for (;;) {
		double t = now_s(), next = t + 0.05;
		bool stop = (t_end && t >= t_end) || (my_total && w->s.started >= my_total);
		unsigned inflight = 0;

		/* start, retransmit, give up */
		for (i = 0; i < w->n_hs; i++) {
			struct hs *h = &w->hs[i];

			if (h->st == HS_IDLE) {
				if (stop || (my_total && w->s.started >= my_total) ||
				    (per > 0 && w->s.started >= (t - w->t_start) * per))
					continue;
				if (hs_start(w, h, i) && h->st != HS_IDLE) {
					why_s(&w->s, "local error");
					hs_end(w, h);
				}
				if (h->st == HS_IDLE)
					continue;
			}
			inflight++;
			if (t - h->t_sent >= o->timeout_ms / 1000.0 * (1u << h->tries)) {
				if (h->tries >= o->retries) {
					why_s(&w->s, h->st == HS_INIT ? "init: no answer" :
						      "auth: no answer");
					hs_end(w, h);
					continue;
				}
				h->tries++;
				w->s.retransmits++;
				send_req(w, h);
			}
			if (h->t_sent + o->timeout_ms / 1000.0 * (1u << h->tries) < next)
				next = h->t_sent + o->timeout_ms / 1000.0 * (1u << h->tries);
		}
		if (stop && !inflight)
			break;
		if (per > 0 && !stop && w->t_start + (w->s.started + 1) / per < next)
			next = w->t_start + (w->s.started + 1) / per;
		i = poll(pf, w->n_br, next > t ? (int)((next - t) * 1000) + 1 : 0);
		if (i <= 0)
			continue;
		for (i = 0; i < w->n_br; i++) {
			ssize_t r;

			if (!(pf[i].revents & POLLIN))
				continue;
			while ((r = recv(pf[i].fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
				on_datagram(w, buf, r);
		}
	}
	free(pf);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)ceil(p / 100 * n);
	return v[i ? i - 1 : 0];
}

static void report(const struct opts *o, struct worker *w, unsigned nw, double secs)
{
	struct stats t = { 0 };
	unsigned i, j, k;
	double p50, p90, p99;
	FILE *f = NULL;

	for (i = 0; i < nw; i++) {
		struct stats *s = &w[i].s;

		t.ok += s->ok;
		t.started += s->started;
		t.cookies += s->cookies;
		t.invalid_ke += s->invalid_ke;
		t.retransmits += s->retransmits;
		t.stray += s->stray;
		t.flood_sent += s->flood_sent;
		t.flood_cookie += s->flood_cookie;
		t.flood_answer += s->flood_answer;
		t.flood_refused += s->flood_refused;
		for (j = 0; j < s->n_why; j++) {
			for (k = 0; k < t.n_why && strcmp(t.why[k].name, s->why[j].name); k++)
				;
			if (k == t.n_why && t.n_why < MAX_REASONS)
				t.why[t.n_why++] = (struct reason){ .n = 0 };
			if (k < MAX_REASONS) {
				memcpy(t.why[k].name, s->why[j].name, sizeof(t.why[k].name));
				t.why[k].n += s->why[j].n;
			}
			t.failed += s->why[j].n;
		}
		for (j = 0; j < s->n_lat; j++)
			lat_add(&t, s->lat_ms[j]);
	}
	qsort(t.lat_ms, t.n_lat, sizeof(double), cmp_d);
	p50 = pct(t.lat_ms, t.n_lat, 50);
	p90 = pct(t.lat_ms, t.n_lat, 90);
	p99 = pct(t.lat_ms, t.n_lat, 99);
	if (o->flood > 0) {
		printf("flood: %lu IKE_SA_INIT sent in %.1f s (%.0f/s): %lu answered with a "
		       "COOKIE, %lu with an IKE_SA_INIT answer, %lu refused, %lu not answered\n",
		       t.flood_sent, secs, t.flood_sent / secs, t.flood_cookie, t.flood_answer,
		       t.flood_refused,
		       t.flood_sent - t.flood_cookie - t.flood_answer - t.flood_refused);
	} else {
		printf("handshakes: %lu ok, %lu failed, of %lu started in %.2f s: %.1f/s\n",
		       t.ok, t.failed, t.started, secs, t.ok / secs);
		printf("latency ms (IKE_SA_INIT sent to IKE_AUTH answered): p50 %.1f  p90 %.1f"
		       "  p99 %.1f  max %.1f\n", p50, p90, p99,
		       t.n_lat ? t.lat_ms[t.n_lat - 1] : 0);
		printf("cookies answered %lu, INVALID_KE answered %lu, retransmits %lu, stray %lu\n",
		       t.cookies, t.invalid_ke, t.retransmits, t.stray);
		for (k = 0; k < t.n_why; k++)
			printf("  failed: %-50s %lu\n", t.why[k].name, t.why[k].n);
	}
	if (o->json && (f = fopen(o->json, "w"))) {
		fprintf(f, "{\"mode\":\"%s\",\"seconds\":%.3f,\"threads\":%u,\"concurrency\":%u,"
			"\"branches\":%u,\"ok\":%lu,\"failed\":%lu,\"started\":%lu,"
			"\"per_second\":%.1f,\"latency_ms\":{\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f},"
			"\"cookies\":%lu,\"invalid_ke\":%lu,\"retransmits\":%lu,\"stray\":%lu,"
			"\"flood\":{\"sent\":%lu,\"cookie\":%lu,\"answer\":%lu,\"refused\":%lu},"
			"\"failures\":{",
			o->flood > 0 ? "flood" : "handshake", secs, o->threads, o->conc, o->n_src,
			t.ok, t.failed, t.started, t.ok / secs, p50, p90, p99, t.cookies,
			t.invalid_ke, t.retransmits, t.stray, t.flood_sent, t.flood_cookie,
			t.flood_answer, t.flood_refused);
		for (k = 0; k < t.n_why; k++)
			fprintf(f, "%s\"%s\":%lu", k ? "," : "", t.why[k].name, t.why[k].n);
		fprintf(f, "}}\n");
		fclose(f);
	} else if (o->json) {
		fprintf(stderr, "ikeload: %s: %s\n", o->json, strerror(errno));
	}
	free(t.lat_ms);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ikeload -t ADDR -s FIRST_SRC [-k FIRST_NO] -n BRANCHES [-N TOTAL | -d SECS]\n"
		"               [-c CONCURRENT] [-r RATE] [-T THREADS] [-p PORT]\n"
		"               [--id FMT] [--psk FMT] [--group 14|15|16]\n"
		"               [--timeout MS] [--retries N] [--flood RATE -d SECS] [-o JSON]\n"
		"  FMT: text with at most one %%u, the branch number (FIRST_NO, default 0,\n"
		"  up to FIRST_NO+BRANCHES-1);\n"
		"  defaults --id load%%u.example.com --psk load%%u-secret-0123456789\n");
	exit(2);
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno || end == s || *end || *v > max || s[0] == '-' ? -1 : 0;
}

static int parse_double(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return errno || end == s || *end || *v < 0 ? -1 : 0;
}

/* A format may have one conversion, %u, and nothing else with a %. */
static int fmt_ok(const char *f)
{
	const char *p = strchr(f, '%');

	return strlen(f) < 100 && (!p || (p[1] == 'u' && !strchr(p + 2, '%')));
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "id", required_argument, 0, 1 },
		{ "psk", required_argument, 0, 2 },
		{ "group", required_argument, 0, 3 },
		{ "timeout", required_argument, 0, 4 },
		{ "retries", required_argument, 0, 5 },
		{ "flood", required_argument, 0, 6 },
		{ "help", no_argument, 0, 'h' },
		{ 0 }
	};
	unsigned long v;
	struct in_addr a;
	int c;

	*o = (struct opts){ .port = 500, .conc = 16, .threads = 1, .retries = 3,
			    .timeout_ms = 2000, .id_fmt = "load%u.example.com",
			    .psk_fmt = "load%u-secret-0123456789", .group = IKE_DH_MODP2048 };
	while ((c = getopt_long(argc, argv, "t:p:s:k:n:N:d:c:r:T:o:qh", lo, NULL)) != -1) {
		switch (c) {
		case 't':
			if (inet_pton(AF_INET, optarg, &a) != 1)
				usage();
			o->target = a.s_addr;
			break;
		case 's':
			if (inet_pton(AF_INET, optarg, &a) != 1)
				usage();
			o->first_src = ntohl(a.s_addr);
			break;
		case 'p':
			if (parse_ulong(optarg, 65535, &v) || !v)
				usage();
			o->port = v;
			break;
		case 'k':
			if (parse_ulong(optarg, 1000000, &v))
				usage();
			o->first_no = v;
			break;
		case 'n':
			if (parse_ulong(optarg, MAX_BRANCHES, &v) || !v)
				usage();
			o->n_src = v;
			break;
		case 'N':
			if (parse_ulong(optarg, 100000000, &v) || !v)
				usage();
			o->total = v;
			break;
		case 'c':
			if (parse_ulong(optarg, MAX_BRANCHES, &v) || !v)
				usage();
			o->conc = v;
			break;
		case 'T':
			if (parse_ulong(optarg, MAX_THREADS, &v) || !v)
				usage();
			o->threads = v;
			break;
		case 'd':
			if (parse_double(optarg, &o->secs) || o->secs <= 0)
				usage();
			break;
		case 'r':
			if (parse_double(optarg, &o->rate) || o->rate <= 0)
				usage();
			break;
		case 'o': o->json = optarg; break;
		case 'q': o->quiet = true; break;
		case 1: if (!fmt_ok(optarg)) usage(); o->id_fmt = optarg; break;
		case 2: if (!fmt_ok(optarg)) usage(); o->psk_fmt = optarg; break;
		case 3:
			if (parse_ulong(optarg, 65535, &v) || dh_slot(v) < 0)
				usage();
			o->group = v;
			break;
		case 4:
			if (parse_ulong(optarg, 60000, &v) || v < 10)
				usage();
			o->timeout_ms = v;
			break;
		case 5:
			if (parse_ulong(optarg, 10, &v))
				usage();
			o->retries = v;
			break;
		case 6:
			if (parse_double(optarg, &o->flood) || o->flood <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !o->target || !o->first_src || !o->n_src ||
	    (!o->total && o->secs <= 0) || (o->flood > 0 && o->secs <= 0) ||
	    o->threads > o->n_src || (uint64_t)o->first_src + o->n_src > UINT32_MAX)
		usage();
	if (o->conc > o->n_src)
		o->conc = o->n_src;	/* one handshake per branch at a time */
	if (o->conc < o->threads)
		o->conc = o->threads;
}

static int branch_open(struct branch *b, uint32_t addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = addr };
	socklen_t sl = sizeof(sa);
	int one = 1, rcv = 1 << 20;

	b->addr = addr;
	b->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (b->fd < 0)
		return -errno;
	setsockopt(b->fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
	setsockopt(b->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (bind(b->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(b->fd, (struct sockaddr *)&sa, &sl))
		return -errno;
	b->port = ntohs(sa.sin_port);
	return 0;
}

int main(int argc, char **argv)
{
	struct worker w[MAX_THREADS];
	static const uint16_t groups[3] = { IKE_DH_MODP2048, IKE_DH_MODP3072,
					    IKE_DH_MODP4096 };
	struct opts o;
	double t0, secs;
	unsigned i, k;
	int err;

	parse(argc, argv, &o);
	memset(w, 0, sizeof(w));
	for (i = 0; i < o.threads; i++) {
		w[i].no = i;
		w[i].o = &o;
		w[i].br = calloc(o.n_src / o.threads + 1, sizeof(*w[i].br));
		w[i].n_hs = o.conc / o.threads + (i < o.conc % o.threads);
		w[i].hs = calloc(w[i].n_hs, sizeof(*w[i].hs));
		if (!w[i].br || !w[i].hs) {
			fprintf(stderr, "ikeload: out of memory\n");
			return 1;
		}
		for (k = 0; k < 3; k++)
			if (ike_dh_new(groups[k], &w[i].dh[k])) {
				fprintf(stderr, "ikeload: DH group %u: no key pair\n", groups[k]);
				return 1;
			}
	}
	for (k = 0; k < o.n_src; k++) {
		struct worker *wk = &w[k % o.threads];

		err = branch_open(&wk->br[wk->n_br], htonl(o.first_src + k));
		if (err) {
			struct in_addr a = { htonl(o.first_src + k) };

			fprintf(stderr, "ikeload: socket on %s: %s\n", inet_ntoa(a), strerror(-err));
			return 1;
		}
		wk->n_br++;
	}
	t0 = now_s();
	for (i = 0; i < o.threads; i++)
		if (pthread_create(&w[i].tid, NULL, o.flood > 0 ? flood_run : run, &w[i])) {
			fprintf(stderr, "ikeload: thread: %s\n", strerror(errno));
			return 1;
		}
	for (i = 0; i < o.threads; i++)
		pthread_join(w[i].tid, NULL);
	secs = now_s() - t0;
	report(&o, w, o.threads, secs);
	for (i = 0; i < o.threads; i++) {
		for (k = 0; k < w[i].n_br; k++)
			close(w[i].br[k].fd);
		for (k = 0; k < 3; k++)
			ike_dh_free(w[i].dh[k]);
		free(w[i].br);
		free(w[i].hs);
		free(w[i].s.lat_ms);
	}
	return 0;
}
