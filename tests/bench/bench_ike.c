// SPDX-License-Identifier: GPL-2.0
/*
 * bench_ike.c - the IKEv2 responder's cost per tunnel set-up, in process:
 * N full IKE_SA_INIT + IKE_AUTH exchanges (PSK, one Child SA; MODP-2048,
 * AES-CBC-256/HMAC-SHA2-256) driven by the initiator double of
 * tests/unit/ike_peer.h, and in the same run, as the baseline, the
 * responder's Diffie-Hellman alone (ike_dh_new + ike_dh_public +
 * ike_dh_derive).
 *
 * Two responders: one with --no-dh-reuse (a key pair per handshake) and
 * one with the default, its key pair reused (RFC 7296 2.12; the bench's
 * clock stands still, so it is the steady state of a busy POP, where a
 * 30 s key pair serves many handshakes).
 *
 * Only the time inside the two ike_input() calls is counted
 * (CLOCK_MONOTONIC around each): the initiator's key pair, its g^ir, its
 * key schedule and its checks of the answers happen outside, and so does
 * the teardown after each handshake (ike_site_down, so that the SA table
 * stays one SA deep). Every handshake is checked: the responder's AUTH must
 * verify and one Child SA must have been installed, or the run fails.
 * Handshakes and DH baseline runs alternate, so drift hits both alike.
 *
 * Then the memory of half-open IKE SAs: HALF_OPEN IKE_SA_INIT requests
 * (new SPIs and nonces, one site address, the cookie and per-source
 * limits raised out of the way) into a fresh responder, the heap in use
 * before and after (mallinfo2(), what ipsecd's malloc holds: the SA,
 * the cached request and response, the nonce, the SPI index), divided by
 * HALF_OPEN; and the rate at which that responder answered them.
 *
 * Last, IKE_SA_INIT answered per second under a flood, with 0 (the loop
 * alone), 1 and 2 worker threads (user/ike_workers.c): FLOOD requests made
 * beforehand, fed in one go, the clock stopped when the last answer has
 * gone out; wall time, so the workers' threads count.
 *
 * Usage: bench_ike [-n N] [-o JSON]   (N handshakes, default 200)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ike.h"
#include "log.h"
#include "../unit/ike_peer.h"

#define LOCAL_IP	"203.0.113.1"
#define SITE_IP		"198.51.100.7"
#define SITE_ID		7
#define SITE_FQDN	"branch1.example.com"
#define WARMUP		3
#define HALF_OPEN	10000
#define FLOOD		3000

static const uint8_t psk[20] = "bench-psk-0123456789";

struct bench {
	struct ikp_env e;
	struct ike_env env;
	struct ike_ctx *ctx, *ctx_reuse;	/* --no-dh-reuse, the default */
	struct ike_peer p;
	struct ikp_auth a;
	struct ikp_msg r;
	struct ikp_child c;
	uint8_t req[IKP_MSG_MAX], wire[IKP_MSG_MAX + 4];
	/* the initiator's half for the DH baseline, made once */
	uint8_t peer_pub[IKE_DH_MAX_LEN];
};

static double us_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1e6 + (b->tv_nsec - a->tv_nsec) / 1e3;
}

/* The one datagram the responder sent, marker stripped; NULL if none. */
static const uint8_t *answer(struct bench *b, size_t *len)
{
	const uint8_t *msg;

	if (ikp_env_pending(&b->e) != 1 || !ikp_env_pop(&b->e, &msg, len))
		return NULL;
	return msg;
}

/* One handshake with ctx; *t_init and *t_auth: microseconds inside
 * ike_input(). */
static int handshake(struct bench *b, struct ike_ctx *ctx, double *t_init,
		     double *t_auth)
{
	struct ike_peer *p = &b->p;
	struct timespec t0, t1;
	const uint8_t *msg;
	size_t len, wlen;
	unsigned inst = b->e.n_inst;
	int err;

	ikp_free(p);
	err = ikp_new(p, ikp_ip(SITE_IP), ikp_ip(LOCAL_IP));
	if (err)
		return err;
	/* IKE_SA_INIT on 500: our key pair is made here, outside the clock */
	err = ikp_init_req(p, b->req, sizeof(b->req), &len);
	if (err)
		return err;
	wlen = ikp_wire(false, b->req, len, b->wire);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ike_input(ctx, IKP_PORT, p->addr, p->port, b->wire, wlen);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*t_init = us_between(&t0, &t1);
	msg = answer(b, &len);
	if (!msg || ikp_init_resp(p, msg, len))
		return -EPROTO;

	/* IKE_AUTH on 4500, behind the marker */
	err = ikp_auth_req(p, &b->a, b->req, sizeof(b->req), &len);
	if (err)
		return err;
	wlen = ikp_wire(true, b->req, len, b->wire);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ike_input(ctx, IKP_NATT_PORT, p->addr, p->natt_port, b->wire, wlen);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*t_auth = us_between(&t0, &t1);
	msg = answer(b, &len);
	if (!msg || ikp_open(p, msg, len, &b->r) ||
	    ikp_auth_resp(p, &b->a, &b->r, &b->c) || b->e.n_inst != inst + 1)
		return -EPROTO;

	/* teardown, not timed */
	if (ike_site_down(ctx, SITE_ID, "bench") != 1)
		return -EPROTO;
	ikp_env_flush(&b->e);
	b->e.n_inst = 0;
	b->e.n_removed = 0;
	return 0;
}

struct half_open_res {
	double bytes_per_sa, inits_per_s;
};

/* HALF_OPEN IKE_SA_INITs left half-open: heap per SA, answers per second. */
static int half_open(struct bench *b, struct half_open_res *res)
{
	struct ike_cfg cfg = IKE_CFG_DEFAULT;
	struct ike_peer *p = &b->p;
	struct ike_ctx *ctx;
	struct timespec t0, t1;
	struct mallinfo2 m0, m1;
	size_t len, wlen;
	double us = 0;
	unsigned i, n;
	int err;

	cfg.cookie_threshold = IKE_MAX_SAS;
	cfg.max_half_open_src = 65535;
	err = ike_ctx_new(&ctx, &b->env, &cfg);
	if (err)
		return err;
	m0 = mallinfo2();
	for (i = 0; i < HALF_OPEN && !err; i++) {
		ikp_free(p);
		err = ikp_new(p, ikp_ip(SITE_IP), ikp_ip(LOCAL_IP)) ?:
		      ikp_init_req(p, b->req, sizeof(b->req), &len);
		if (err)
			break;
		wlen = ikp_wire(false, b->req, len, b->wire);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ike_input(ctx, IKP_PORT, p->addr, p->port, b->wire, wlen);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		us += us_between(&t0, &t1);
		if (ikp_env_pending(&b->e) != 1)
			err = -EPROTO;
		ikp_env_flush(&b->e);
	}
	m1 = mallinfo2();
	ike_sa_count(ctx, &n);
	if (!err && n != HALF_OPEN)
		err = -EPROTO;
	/* the initiators' key pairs were freed each time: the delta is ours */
	res->bytes_per_sa = ((double)m1.uordblks - (double)m0.uordblks) / HALF_OPEN;
	res->inits_per_s = HALF_OPEN / (us / 1e6);
	ike_ctx_free(ctx, true);
	return err;
}

static unsigned flood_sent;

static int count_send(void *arg, uint16_t local_port, uint32_t addr, uint16_t port,
		      const uint8_t *buf, size_t len)
{
	(void)arg, (void)local_port, (void)addr, (void)port, (void)buf, (void)len;
	flood_sent++;
	return 0;
}

/* FLOOD IKE_SA_INITs into a responder with `workers` threads: answers/s. */
static int flood(struct bench *b, unsigned workers, double *per_s)
{
	static uint8_t msgs[FLOOD][1024];
	static size_t lens[FLOOD];
	struct ike_cfg cfg = IKE_CFG_DEFAULT;
	struct ike_env env = b->env;
	struct ike_peer *p = &b->p;
	struct timespec t0, t1;
	struct ike_ctx *ctx;
	unsigned i;
	int err = 0;

	ikp_free(p);
	if (ikp_new(p, ikp_ip(SITE_IP), ikp_ip(LOCAL_IP)))
		return -EIO;
	for (i = 0; i < FLOOD && !err; i++) {
		size_t len;

		/* new SPI and nonce each; the initiator's key pair is kept */
		if (ike_spi_ike(p->spi_i) || ike_random(p->ni, sizeof(p->ni)))
			return -EIO;
		err = ikp_init_req(p, b->req, sizeof(b->req), &len);
		if (!err && len > sizeof(msgs[0]))
			err = -ENOSPC;
		if (!err) {
			memcpy(msgs[i], b->req, len);
			lens[i] = len;
		}
	}
	if (err)
		return err;
	cfg.workers = workers;
	cfg.cookie_threshold = IKE_MAX_SAS;
	cfg.max_half_open_src = 65535;
	env.send = count_send;
	err = ike_ctx_new(&ctx, &env, &cfg);
	if (err)
		return err;
	flood_sent = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < FLOOD; i++)
		ike_input(ctx, IKP_PORT, p->addr, p->port, msgs[i], lens[i]);
	while (flood_sent < FLOOD && workers) {
		struct pollfd pf = { .fd = ike_worker_fd(ctx), .events = POLLIN };

		if (poll(&pf, 1, 5000) <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		ike_workers_poll(ctx);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!err && flood_sent != FLOOD)
		err = -EPROTO;
	*per_s = FLOOD / (us_between(&t0, &t1) / 1e6);
	ike_ctx_free(ctx, true);
	return err;
}

/* The responder's DH of one IKE_SA_INIT, alone. */
static int dh_once(struct bench *b, double *t)
{
	uint8_t pub[IKE_DH_MAX_LEN], gir[IKE_DH_MAX_LEN];
	size_t glen = ike_dh_group_len(IKE_DH_MODP2048);
	struct timespec t0, t1;
	struct ike_dh *dh = NULL;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = ike_dh_new(IKE_DH_MODP2048, &dh);
	if (!err)
		err = ike_dh_public(dh, pub, glen);
	if (!err)
		err = ike_dh_derive(dh, b->peer_pub, glen, gir, glen);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ike_dh_free(dh);
	*t = us_between(&t0, &t1);
	return err;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct summary {
	double median, p90, min, mean;
};

/* Sorts v. p90 is the nearest-rank 90th percentile. */
static struct summary summarize(double *v, unsigned n)
{
	struct summary s = { 0 };
	unsigned i, r90 = (9 * n + 9) / 10;	/* ceil(0.9 n) */

	qsort(v, n, sizeof(*v), cmp_double);
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s.p90 = v[(r90 ? r90 : 1) - 1];
	s.min = v[0];
	for (i = 0; i < n; i++)
		s.mean += v[i] / n;
	return s;
}

static void json_summary(FILE *f, const char *name, const struct summary *s,
			 bool last)
{
	fprintf(f, "  \"%s\": { \"median\": %.1f, \"p90\": %.1f, \"min\": %.1f, "
		   "\"mean\": %.1f }%s\n",
		name, s->median, s->p90, s->min, s->mean, last ? "" : ",");
}

static int setup(struct bench *b)
{
	struct ike_cfg once = IKE_CFG_DEFAULT;
	struct ike_dh *dh = NULL;
	int err;

	ikp_env_init(&b->e, &b->env, ikp_ip(LOCAL_IP));
	ikp_env_add_site(&b->e, SITE_ID, "branch1", SITE_IP, EG_ID_FQDN,
			 SITE_FQDN, psk, sizeof(psk));
	once.dh_reuse = 0;
	err = ike_ctx_new(&b->ctx, &b->env, &once);
	if (!err)
		err = ike_ctx_new(&b->ctx_reuse, &b->env, NULL);
	if (err)
		return err;
	ikp_auth_fqdn(&b->a, SITE_FQDN, psk, sizeof(psk), 0xc1c2c3c4);
	err = ike_dh_new(IKE_DH_MODP2048, &dh);
	if (!err)
		err = ike_dh_public(dh, b->peer_pub,
				    ike_dh_group_len(IKE_DH_MODP2048));
	ike_dh_free(dh);
	return err;
}

int main(int argc, char **argv)
{
	struct summary hs_s, init_s, auth_s, dh_s, rhs_s, rinit_s;
	struct half_open_res ho;
	double fl[3];
	double *hs, *init, *auth, *dh, *rhs, *rinit, ti, ta, td;
	const char *json = NULL;
	struct bench *b;
	unsigned n = 200, i;
	int c, err = 0;
	FILE *f;

	while ((c = getopt(argc, argv, "n:o:h")) != -1) {
		switch (c) {
		case 'n':
			n = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'o':
			json = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_ike [-n N] [-o JSON]\n");
			return EXIT_FAILURE;
		}
	}
	if (n == 0 || n > 1000000) {
		fprintf(stderr, "bench_ike: -n must be 1..1000000\n");
		return EXIT_FAILURE;
	}
	eg_log_level = EG_LOG_ERR;
	b = calloc(1, sizeof(*b));
	hs = calloc(n, sizeof(*hs));
	init = calloc(n, sizeof(*init));
	auth = calloc(n, sizeof(*auth));
	dh = calloc(n, sizeof(*dh));
	rhs = calloc(n, sizeof(*rhs));
	rinit = calloc(n, sizeof(*rinit));
	if (!b || !hs || !init || !auth || !dh || !rhs || !rinit) {
		fprintf(stderr, "bench_ike: out of memory\n");
		err = -ENOMEM;
		goto out;
	}
	err = setup(b);
	if (err) {
		fprintf(stderr, "bench_ike: setup: %s\n", strerror(-err));
		goto out;
	}

	/* warm caches and OpenSSL's lazy initialisation */
	for (i = 0; i < WARMUP && !err; i++) {
		err = handshake(b, b->ctx, &ti, &ta) ?: handshake(b, b->ctx_reuse, &ti, &ta);
		if (!err)
			err = dh_once(b, &td);
	}
	for (i = 0; i < n && !err; i++) {
		err = handshake(b, b->ctx, &init[i], &auth[i]);
		if (!err)
			err = handshake(b, b->ctx_reuse, &rinit[i], &ta);
		if (!err)
			err = dh_once(b, &dh[i]);
		hs[i] = init[i] + auth[i];
		rhs[i] = rinit[i] + ta;
	}
	if (err) {
		fprintf(stderr, "bench_ike: handshake %u failed: %s\n", i,
			strerror(-err));
		goto out;
	}
	hs_s = summarize(hs, n);
	init_s = summarize(init, n);
	auth_s = summarize(auth, n);
	dh_s = summarize(dh, n);
	rhs_s = summarize(rhs, n);
	rinit_s = summarize(rinit, n);
	err = half_open(b, &ho);
	if (err) {
		fprintf(stderr, "bench_ike: %u half-open SAs: %s\n", HALF_OPEN,
			strerror(-err));
		goto out;
	}
	for (i = 0; i < 3 && !err; i++)
		err = flood(b, i, &fl[i]);
	if (err) {
		fprintf(stderr, "bench_ike: flood with %u workers: %s\n", i - 1,
			strerror(-err));
		goto out;
	}

	printf("IKEv2 responder in process: MODP-2048, AES-CBC-256/HMAC-SHA2-256, "
	       "PSK, one Child SA\n");
	printf("%u handshakes; time inside ike_input() only, CLOCK_MONOTONIC\n\n", n);
	printf("%-40s %10s %10s\n", "microseconds", "median", "p90");
	printf("%-40s %10.1f %10.1f\n", "handshake, responder's work",
	       hs_s.median, hs_s.p90);
	printf("%-40s %10.1f %10.1f\n", "  IKE_SA_INIT", init_s.median, init_s.p90);
	printf("%-40s %10.1f %10.1f\n", "  IKE_AUTH", auth_s.median, auth_s.p90);
	printf("%-40s %10.1f %10.1f\n", "handshake, DH key pair reused",
	       rhs_s.median, rhs_s.p90);
	printf("%-40s %10.1f %10.1f\n", "  IKE_SA_INIT", rinit_s.median, rinit_s.p90);
	printf("%-40s %10.1f %10.1f\n", "baseline: DH alone (new+public+derive)",
	       dh_s.median, dh_s.p90);
	printf("%-40s %10.2f\n", "handshake / DH (medians)",
	       hs_s.median / dh_s.median);
	printf("%-40s %10.0f\n", "handshakes/s on one core (1/median)",
	       1e6 / hs_s.median);
	printf("%-40s %10.0f\n", "  with the key pair reused",
	       1e6 / rhs_s.median);
	printf("%-40s %10.0f\n", "bytes of heap per half-open IKE SA",
	       ho.bytes_per_sa);
	printf("%-40s %10.0f\n", "  IKE_SA_INIT answered per second",
	       ho.inits_per_s);
	printf("IKE_SA_INIT flood, %u requests, answers/s (wall):\n", FLOOD);
	printf("%-40s %10.0f\n", "  on the event loop (--workers 0)", fl[0]);
	printf("%-40s %10.0f\n", "  1 worker thread", fl[1]);
	printf("%-40s %10.0f\n", "  2 worker threads", fl[2]);

	if (json) {
		f = fopen(json, "w");
		if (!f) {
			fprintf(stderr, "%s: %s\n", json, strerror(errno));
			err = -errno;
			goto out;
		}
		fprintf(f, "{\n  \"method\": \"in-process ike_input(), "
			   "CLOCK_MONOTONIC, responder only\",\n");
		fprintf(f, "  \"n\": %u,\n  \"dh_group\": 14,\n", n);
		fprintf(f, "  \"ike_suite\": \"AES_CBC_256/HMAC_SHA2_256_128/"
			   "PRF_HMAC_SHA2_256/MODP_2048\",\n");
		fprintf(f, "  \"child_suite\": \"AES_CBC_256/HMAC_SHA2_256_128\",\n");
		fprintf(f, "  \"unit\": \"us\",\n");
		json_summary(f, "handshake", &hs_s, false);
		json_summary(f, "ike_sa_init", &init_s, false);
		json_summary(f, "ike_auth", &auth_s, false);
		json_summary(f, "handshake_dh_reused", &rhs_s, false);
		json_summary(f, "ike_sa_init_dh_reused", &rinit_s, false);
		json_summary(f, "dh_baseline", &dh_s, false);
		fprintf(f, "  \"half_open\": { \"sas\": %u, \"bytes_per_sa\": %.0f, "
			   "\"ike_sa_init_per_s\": %.0f },\n", HALF_OPEN,
			ho.bytes_per_sa, ho.inits_per_s);
		fprintf(f, "  \"flood\": { \"requests\": %u, \"workers_0_per_s\": %.0f, "
			   "\"workers_1_per_s\": %.0f, \"workers_2_per_s\": %.0f },\n",
			FLOOD, fl[0], fl[1], fl[2]);
		fprintf(f, "  \"handshake_over_dh\": %.3f\n}\n",
			hs_s.median / dh_s.median);
		if (fclose(f)) {
			err = -EIO;
			goto out;
		}
	}
out:
	if (b) {
		ike_ctx_free(b->ctx, true);
		ike_ctx_free(b->ctx_reuse, true);
		ikp_free(&b->p);
	}
	free(b);
	free(hs);
	free(init);
	free(auth);
	free(dh);
	free(rhs);
	free(rinit);
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}
