// SPDX-License-Identifier: GPL-2.0
/*
 * test_ike_workers.c - IKE_SA_INIT's DH and key schedule on worker
 * threads (user/ike_workers.c): the answers come once the results are in,
 * they bring the IKE SA up like those made on the loop, a retransmit while
 * computing gets nothing and afterwards the same bytes, and a result for
 * an SA that went meanwhile is wiped.
 */
#include <poll.h>

#include "ike_fix.h"

static void with_workers(struct fix *f, unsigned n, uint32_t dh_reuse)
{
	struct ike_cfg cfg = IKE_CFG_DEFAULT;

	ike_ctx_free(f->ctx, true);
	ikp_env_flush(&f->e);		/* its DELETEs */
	cfg.workers = n;
	cfg.dh_reuse = dh_reuse;
	assert_int_equal(ike_ctx_new(&f->ctx, &f->env, &cfg), 0);
	assert_true(ike_worker_fd(f->ctx) >= 0);
}

/* Wait (at most 10 s) until n answers have been sent in all. */
static void wait_sent(struct fix *f, unsigned n)
{
	unsigned waited = 0;

	while (f->e.n_sent < n && waited < 10000) {
		struct pollfd p = { .fd = ike_worker_fd(f->ctx), .events = POLLIN };

		if (poll(&p, 1, 100) > 0)
			ike_workers_poll(f->ctx);
		waited += 100;
	}
	if (f->e.n_sent < n)
		fail_msg("%u answers after 10 s, want %u", f->e.n_sent, n);
}

/* Requests from 8 initiators at once over 2 workers (with and without
 * the key pair reused): 8 answers, each peer derives the same keys (its
 * IKE_AUTH is answered and verified). */
static void test_workers_handshakes(void **state)
{
	struct fix *f = *state;
	static struct ike_peer peers[8];
	unsigned i, round;

	for (round = 0; round < 2; round++) {
		const struct ike_stats *st;
		unsigned sent0;

		with_workers(f, 2, round ? 0 : 30);
		st = ike_get_stats(f->ctx);
		sent0 = f->e.n_sent;
		for (i = 0; i < 8; i++) {
			assert_int_equal(ikp_new(&peers[i], ikp_ip(i % 2 ? SITE2_IP : SITE_IP),
						 ikp_ip(LOCAL_IP)), 0);
			assert_int_equal(ikp_init_req(&peers[i], f->req, sizeof(f->req),
						      &f->req_len), 0);
			ikp_deliver(f->ctx, &peers[i], false, f->req, f->req_len);
		}
		assert_int_equal(st->init_offloaded, 8);
		wait_sent(f, sent0 + 8);
		assert_int_equal(st->init_ok, 8);
		for (i = 0; i < 8; i++) {
			const uint8_t *msg = NULL;
			size_t len = 0;
			const struct ikp_dgram *d = ikp_env_pop(&f->e, &msg, &len);
			unsigned k;

			assert_non_null(d);
			/* answers come in the order the workers finish */
			for (k = 0; k < 8; k++)
				if (ikp_be64(peers[k].spi_i) == ikp_be64(msg))
					break;
			assert_true(k < 8);
			assert_int_equal(ikp_init_resp(&peers[k], msg, len), 0);
		}
		for (i = 0; i < 8; i++) {
			ikp_free(&f->p);
			f->p = peers[i];
			memset(&peers[i], 0, sizeof(peers[i]));
			if (i % 2) {
				f->a.id_type = IKEV2_ID_RFC822_ADDR;
				f->a.id = SITE2_EMAIL;
				f->a.psk = psk2;
				f->a.psk_len = sizeof(psk2);
			} else {
				auth_default(&f->a);
			}
			assert_int_equal(run_auth(f, true), 0);
			ikp_env_flush(&f->e);
		}
		assert_int_equal(st->auth_ok, 8);
	}
}

/* A retransmit while the keys are being made gets nothing; once they are,
 * the answer, and a retransmit then gets the same bytes. */
static void test_workers_retransmit(void **state)
{
	struct fix *f = *state;
	uint8_t first[IKP_MSG_MAX];
	const uint8_t *msg = NULL;
	size_t len = 0, first_len;

	with_workers(f, 1, 30);
	assert_int_equal(ikp_init_req(&f->p, f->req, sizeof(f->req), &f->req_len), 0);
	ikp_deliver(f->ctx, &f->p, false, f->req, f->req_len);
	ikp_deliver(f->ctx, &f->p, false, f->req, f->req_len);	/* computing */
	assert_int_equal(ikp_env_pending(&f->e), 0);
	wait_sent(f, 1);
	assert_non_null(ikp_env_pop(&f->e, &msg, &len));
	memcpy(first, msg, len);
	first_len = len;
	f->e.now_ms += 1000;
	ikp_deliver(f->ctx, &f->p, false, f->req, f->req_len);
	assert_non_null(ikp_env_pop(&f->e, &msg, &len));
	assert_int_equal(len, first_len);
	assert_memory_equal(msg, first, len);
	assert_int_equal(ikp_init_resp(&f->p, msg, len), 0);
	assert_int_equal(run_auth(f, true), 0);
}

/* The SA goes while its keys are made: the result finds nothing and is
 * wiped; nothing is sent. */
static void test_workers_sa_gone(void **state)
{
	struct fix *f = *state;
	const struct ike_stats *st;
	unsigned waited = 0;

	with_workers(f, 1, 0);
	st = ike_get_stats(f->ctx);
	assert_int_equal(ikp_init_req(&f->p, f->req, sizeof(f->req), &f->req_len), 0);
	ikp_deliver(f->ctx, &f->p, false, f->req, f->req_len);
	assert_int_equal(ike_site_down(f->ctx, SITE_ID, "test"), 1);
	while (!st->init_stale && waited < 10000) {
		struct pollfd p = { .fd = ike_worker_fd(f->ctx), .events = POLLIN };

		if (poll(&p, 1, 100) > 0)
			ike_workers_poll(f->ctx);
		waited += 100;
	}
	assert_int_equal(st->init_stale, 1);
	assert_int_equal(f->e.n_sent, 0);
	assert_int_equal(ikp_sa_count(f->ctx), 0);
}

/* Stopping with jobs in flight: they are wiped, nothing leaks (ASan). */
static void test_workers_stop_busy(void **state)
{
	struct fix *f = *state;
	unsigned i;

	with_workers(f, 2, 30);
	for (i = 0; i < 6; i++) {
		peer_reset(f, SITE_IP);
		assert_int_equal(ikp_init_req(&f->p, f->req, sizeof(f->req), &f->req_len), 0);
		ikp_deliver(f->ctx, &f->p, false, f->req, f->req_len);
	}
	ike_ctx_free(f->ctx, true);
	assert_int_equal(ike_ctx_new(&f->ctx, &f->env, NULL), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_workers_handshakes),
		T(test_workers_retransmit),
		T(test_workers_sa_gone),
		T(test_workers_stop_busy),
	};

	eg_log_level = getenv("IKE_TEST_LOG") ? EG_LOG_DEBUG : EG_LOG_ERR;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
