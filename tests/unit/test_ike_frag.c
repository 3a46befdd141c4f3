// SPDX-License-Identifier: GPL-2.0
/*
 * test_ike_frag.c - IKE fragmentation (RFC 7383, user/ike_frag.c) against
 * the in-process initiator: negotiation, fragmented requests in any order,
 * retransmits, forged, duplicate and re-fragmented fragments, the bounds,
 * and fragmented responses.
 */
#include "ike_fix.h"

static struct ikp_train train;

static void reconfigure(struct fix *f, uint32_t frag_size)
{
	struct ike_cfg cfg = IKE_CFG_DEFAULT;

	ike_ctx_free(f->ctx, true);
	cfg.frag_size = frag_size;
	assert_int_equal(ike_ctx_new(&f->ctx, &f->env, &cfg), 0);
}

/* Deliver fragment i of the train on 4500. */
static void deliver_frag(struct fix *f, unsigned i)
{
	const uint8_t *m;
	size_t len;

	m = ikp_frag_at(&train, i, &len);
	ikp_deliver(f->ctx, &f->p, true, m, len);
}

/* IKE_SA_INIT with fragmentation offered; the IKE_AUTH request built in
 * f->req and cut into fragments of chunk bytes. */
static void auth_in_fragments(struct fix *f, size_t chunk)
{
	f->p.frag = true;
	assert_int_equal(run_init(f), 0);
	assert_true(f->p.frag_ok);
	assert_int_equal(ikp_auth_req(&f->p, &f->a, f->req, IKP_MSG_MAX, &f->req_len), 0);
	assert_int_equal(ikp_fragment(&f->p, f->req, f->req_len, chunk, &train), 0);
}

/* The engine's one answer, whole, is the IKE_AUTH that brings the SA up. */
static void assert_auth_answered(struct fix *f)
{
	assert_int_equal(take_sk(f, true), 0);
	assert_int_equal(f->r.h.exch, IKEV2_EXCH_IKE_AUTH);
	assert_int_equal(ikp_auth_resp(&f->p, &f->a, &f->r, &f->c), 0);
	assert_int_equal(the_sa(f).state, IKE_S_ESTABLISHED);
}

/* Offered both ways only when the peer offers it and we have it on. */
static void test_frag_negotiation(void **state)
{
	struct fix *f = *state;

	assert_int_equal(run_init(f), 0);
	assert_false(f->p.frag_ok);		/* not offered: not answered */
	assert_false(the_sa(f).frag);

	peer_reset(f, SITE2_IP);
	f->p.frag = true;
	ike_site_down(f->ctx, SITE_ID, "test");
	assert_int_equal(run_init(f), 0);
	assert_true(f->p.frag_ok);

	reconfigure(f, 0);			/* --ike-frag-size 0 */
	peer_reset(f, SITE_IP);
	f->p.frag = true;
	assert_int_equal(run_init(f), 0);
	assert_false(f->p.frag_ok);
	assert_false(the_sa(f).frag);
}

/* IKE_AUTH in 4 fragments, out of order: one answer after the last; a
 * retransmit of fragment 1 gets the cached answer, of another nothing. */
static void test_frag_auth(void **state)
{
	struct fix *f = *state;
	const struct ike_stats *st = ike_get_stats(f->ctx);
	static const unsigned order[] = { 2, 0, 3 };
	unsigned i;

	auth_in_fragments(f, 40);
	assert_true(train.n >= 4);
	for (i = 0; i < ARRAY_SIZE(order); i++) {
		deliver_frag(f, order[i]);
		assert_int_equal(ikp_env_pending(&f->e), 0);
	}
	deliver_frag(f, 2);			/* a duplicate: ignored */
	for (i = 1; i < train.n; i++)		/* the rest */
		if (i != 2 && i != 3)
			deliver_frag(f, i);
	assert_auth_answered(f);
	assert_int_equal(st->frag_rx, train.n + 1);
	assert_int_equal(st->frag_dropped, 1);
	assert_int_equal(st->frag_reassembled, 1);
	assert_int_equal(st->auth_ok, 1);

	f->e.now_ms += 1000;
	deliver_frag(f, 1);			/* not fragment 1: ignored */
	assert_int_equal(ikp_env_pending(&f->e), 0);
	deliver_frag(f, 0);
	assert_int_equal(take_sk(f, true), 0);	/* the same answer again */
	assert_int_equal(f->r.h.exch, IKEV2_EXCH_IKE_AUTH);
	assert_int_equal(st->retransmits, 1);
	assert_int_equal(st->auth_ok, 1);
}

/* Not negotiated: fragments are dropped and nothing is answered. */
static void test_frag_not_negotiated(void **state)
{
	struct fix *f = *state;
	unsigned i;

	assert_int_equal(run_init(f), 0);
	assert_int_equal(ikp_auth_req(&f->p, &f->a, f->req, IKP_MSG_MAX, &f->req_len), 0);
	assert_int_equal(ikp_fragment(&f->p, f->req, f->req_len, 200, &train), 0);
	for (i = 0; i < train.n; i++)
		deliver_frag(f, i);
	assert_int_equal(ikp_env_pending(&f->e), 0);
	assert_int_equal(the_sa(f).state, IKE_S_HALF_OPEN);
	assert_int_equal(ike_get_stats(f->ctx)->frag_reassembled, 0);
	/* the same message whole still works */
	ikp_deliver(f->ctx, &f->p, true, f->req, f->req_len);
	assert_auth_answered(f);
}

/* A fragment that fails its ICV is not kept; the real one completes. */
static void test_frag_forged(void **state)
{
	struct fix *f = *state;
	uint8_t m[IKP_MSG_MAX];
	const uint8_t *fr;
	size_t len;

	auth_in_fragments(f, 60);
	fr = ikp_frag_at(&train, 1, &len);
	memcpy(m, fr, len);
	m[len - 1] ^= 1;
	deliver_frag(f, 0);
	ikp_deliver(f->ctx, &f->p, true, m, len);
	assert_int_equal(ikp_env_pending(&f->e), 0);
	for (unsigned i = 1; i < train.n; i++)
		deliver_frag(f, i);
	assert_auth_answered(f);
}

/*
 * 7383 2.6.2: the peer fragments again with more, smaller fragments: the
 * old ones go; a fragment of the older, larger cut is ignored after that.
 */
static void test_frag_refragmented(void **state)
{
	struct fix *f = *state;
	static struct ikp_train big;
	const uint8_t *m;
	size_t len;
	unsigned i;

	auth_in_fragments(f, 90);
	big = train;
	assert_true(big.n >= 2);
	assert_int_equal(ikp_fragment(&f->p, f->req, f->req_len, 40, &train), 0);
	assert_true(train.n > big.n);
	m = ikp_frag_at(&big, 0, &len);
	ikp_deliver(f->ctx, &f->p, true, m, len);	/* 1 of the first cut */
	for (i = 0; i + 1 < train.n; i++)		/* all but one of the second */
		deliver_frag(f, i);
	m = ikp_frag_at(&big, 1, &len);
	ikp_deliver(f->ctx, &f->p, true, m, len);	/* older: ignored */
	assert_int_equal(ikp_env_pending(&f->e), 0);
	deliver_frag(f, train.n - 1);
	assert_auth_answered(f);
}

/* More than IKE_FRAG_MAX (64) fragments: refused, none kept. */
static void test_frag_bounds(void **state)
{
	struct fix *f = *state;
	const struct ike_stats *st = ike_get_stats(f->ctx);
	unsigned i;

	auth_in_fragments(f, 2);
	assert_true(train.n > 64);
	for (i = 0; i < train.n; i++)
		deliver_frag(f, i);
	assert_int_equal(ikp_env_pending(&f->e), 0);
	assert_int_equal(st->frag_reassembled, 0);
	assert_int_equal(st->frag_rx, 0);
	assert_true(st->rx_bad >= train.n);
	assert_int_equal(the_sa(f).state, IKE_S_HALF_OPEN);

	/* a message left incomplete is dropped after 30 s */
	assert_int_equal(ikp_fragment(&f->p, f->req, f->req_len, 60, &train), 0);
	deliver_frag(f, 0);
	f->e.now_ms += 31000;
	ike_tick(f->ctx);
	assert_int_equal(st->frag_dropped, 1);
}

/*
 * Our answer larger than a datagram of --ike-frag-size: fragments, each
 * within the size, which the peer reassembles; the same train again for
 * the retransmitted request.
 */
static void test_frag_response(void **state)
{
	struct fix *f = *state;
	const struct ike_stats *st;
	const uint8_t *msg[8];
	size_t len[8];
	unsigned n = 0;

	reconfigure(f, 576);
	st = ike_get_stats(f->ctx);
	f->p.ike[0].xf[3] = (struct ikp_xf)IKP_DH(IKE_DH_MODP4096);
	f->p.ke_group = IKE_DH_MODP4096;
	f->p.frag = true;
	establish(f);
	assert_int_equal(st->frag_tx, 0);	/* IKE_AUTH's answer is small */
	/* an IKE SA rekey: 512 bytes of KE in the answer */
	assert_int_equal(ikp_rekey_ike_req(&f->p, f->req, IKP_MSG_MAX, &f->req_len), 0);
	ikp_deliver(f->ctx, &f->p, true, f->req, f->req_len);
	while (n < 8) {
		const struct ikp_dgram *d = ikp_env_pop(&f->e, &msg[n], &len[n]);

		if (!d)
			break;
		if (d->len > 576 - 28)
			fail_msg("fragment %u: %zu bytes of UDP payload, want <= %u", n,
				 d->len, 576 - 28);
		n++;
	}
	assert_int_equal(n, 2);
	assert_int_equal(st->frag_tx, 2);
	assert_int_equal(ikp_open_frags(&f->p, msg, len, n, &f->r), 0);
	assert_int_equal(ikp_rekey_ike_resp(&f->p, &f->r), 0);
	assert_int_equal(ikp_sa_count(f->ctx), 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_frag_negotiation),
		T(test_frag_auth),
		T(test_frag_not_negotiated),
		T(test_frag_forged),
		T(test_frag_refragmented),
		T(test_frag_bounds),
		T(test_frag_response),
	};

	eg_log_level = getenv("IKE_TEST_LOG") ? EG_LOG_DEBUG : EG_LOG_ERR;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
