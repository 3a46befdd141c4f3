// SPDX-License-Identifier: GPL-2.0
/*
 * test_ike_cookie.c - IKE_SA_INIT under load (user/ike_cookie.c): the
 * COOKIE exchange of RFC 7296 2.6 once the half-open SAs reach the
 * threshold, the limit on one source address's half-open SAs, and the
 * table that counts them, against the in-process initiator.
 */
#include "ike_fix.h"
#include "ike_int.h"

/* A context with these settings (the fixture's had the defaults). */
static void reconfigure_cfg(struct fix *f, const struct ike_cfg *cfg)
{
	ike_ctx_free(f->ctx, true);
	assert_int_equal(ike_ctx_new(&f->ctx, &f->env, cfg), 0);
}

static void reconfigure(struct fix *f, uint32_t threshold, uint32_t per_src)
{
	struct ike_cfg cfg = IKE_CFG_DEFAULT;

	cfg.cookie_threshold = threshold;
	cfg.max_half_open_src = per_src;
	reconfigure_cfg(f, &cfg);
}

/* A new initiator (new SPI, nonce, key) at addr. */
static void fresh(struct fix *f, const char *addr)
{
	peer_reset(f, addr);
}

static unsigned half_open(const struct fix *f)
{
	unsigned n;

	ike_sa_count(f->ctx, &n);
	return n;
}

/*
 * The answer to the request just sent is N(COOKIE) and nothing else, with
 * no state kept: the cookie (17 bytes) is now in f->p for the next try.
 */
static void assert_cookie_asked(struct fix *f)
{
	const struct ikp_dgram *d;
	const uint8_t *msg;
	struct ikev2_msghdr h;
	struct ikev2_msg m;
	struct ikev2_notify_pld n;
	unsigned before = ikp_sa_count(f->ctx);
	size_t len;

	d = ikp_env_pop(&f->e, &msg, &len);
	if (!d)
		fail_msg("want N(COOKIE), got no answer");
	assert_int_equal(ikp_env_pending(&f->e), 0);
	assert_int_equal(d->addr, f->p.addr);
	assert_int_equal(d->port, f->p.port);
	assert_int_equal(ikev2_parse_msg(msg, len, &h, &m), 0);
	assert_int_equal(h.flags, IKEV2_FLAG_RESPONSE);
	assert_true(h.ispi == ikp_be64(f->p.spi_i));
	assert_true(h.rspi == 0);
	ASSERT_TYPES(&m, IKEV2_PLD_NOTIFY);
	assert_int_equal(ikev2_dec_notify(&m.pld[0], &n), 0);
	assert_int_equal(n.type, IKEV2_N_COOKIE);
	assert_int_equal(n.len, IKE_COOKIE_LEN);
	assert_int_equal(ikp_init_resp(&f->p, msg, len), IKEV2_N_COOKIE);
	assert_int_equal(ikp_sa_count(f->ctx), before);
}

/* Send IKE_SA_INIT; expect a cookie request. */
static void init_cookie_asked(struct fix *f)
{
	assert_int_equal(ikp_init_req(&f->p, f->req, sizeof(f->req), &f->req_len), 0);
	ikp_deliver(f->ctx, &f->p, false, f->req, f->req_len);
	assert_cookie_asked(f);
}

/* n half-open SAs from addr, each from a new initiator, none with a cookie. */
static void fill(struct fix *f, const char *addr, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		fresh(f, addr);
		assert_int_equal(run_init(f), 0);
	}
}

/* At the threshold the next IKE_SA_INIT is asked for a cookie, keeps no
 * state; sent again with it, it is answered and the IKE SA comes up (its
 * AUTH covers the first message as sent, cookie included). */
static void test_cookie_under_load(void **state)
{
	struct fix *f = *state;
	const struct ike_stats *st;

	reconfigure(f, 3, 100);
	st = ike_get_stats(f->ctx);
	fill(f, SITE2_IP, 2);
	fresh(f, SITE_IP);
	assert_int_equal(run_init(f), 0);	/* the third: below, answered */
	assert_int_equal(half_open(f), 3);
	assert_int_equal(st->init_cookie_sent, 0);

	fresh(f, SITE_IP);
	init_cookie_asked(f);
	assert_int_equal(half_open(f), 3);
	assert_int_equal(st->init_cookie_sent, 1);
	/* the same request again: a cookie again, still nothing kept */
	ikp_deliver(f->ctx, &f->p, false, f->req, f->req_len);
	assert_cookie_asked(f);
	assert_int_equal(st->init_cookie_sent, 2);

	/* with the cookie: answered, and the handshake completes */
	assert_int_equal(run_init(f), 0);
	assert_int_equal(half_open(f), 4);
	assert_int_equal(run_auth(f, true), 0);
	assert_int_equal(half_open(f), 3);
	assert_int_equal(st->auth_ok, 1);
	assert_int_equal(st->init_cookie_bad, 0);
	assert_int_equal(ikp_sa_count(f->ctx), 4);
}

/* A cookie made for another SPI, another address or altered, or of the
 * wrong length, is no cookie: asked again and counted. */
static void test_cookie_forged(void **state)
{
	struct fix *f = *state;
	const struct ike_stats *st;
	uint8_t good[64];
	size_t good_len;
	unsigned bad = 0;

	reconfigure(f, 1, 100);
	st = ike_get_stats(f->ctx);
	fill(f, SITE2_IP, 1);
	fresh(f, SITE_IP);
	init_cookie_asked(f);
	good_len = f->p.cookie_len;
	memcpy(good, f->p.cookie, good_len);

	/* another SPI (a new initiator) with this cookie */
	fresh(f, SITE_IP);
	memcpy(f->p.cookie, good, good_len);
	f->p.cookie_len = good_len;
	init_cookie_asked(f);
	assert_int_equal(st->init_cookie_bad, ++bad);

	/* altered, a byte at a time at both ends */
	fresh(f, SITE_IP);
	init_cookie_asked(f);
	f->p.cookie[IKE_COOKIE_LEN - 1] ^= 1;
	init_cookie_asked(f);
	assert_int_equal(st->init_cookie_bad, ++bad);
	f->p.cookie[0] ^= 0x80;		/* an unknown secret's version */
	init_cookie_asked(f);
	assert_int_equal(st->init_cookie_bad, ++bad);

	/* too short, too long (each time p is left a good one) */
	f->p.cookie_len--;
	init_cookie_asked(f);
	assert_int_equal(st->init_cookie_bad, ++bad);
	f->p.cookie[IKE_COOKIE_LEN] = 0;
	f->p.cookie_len = IKE_COOKIE_LEN + 1;
	init_cookie_asked(f);
	assert_int_equal(st->init_cookie_bad, ++bad);

	/* the same initiator seen from another address: not its cookie */
	f->p.addr = ikp_ip(SITE2_IP);
	init_cookie_asked(f);
	assert_int_equal(st->init_cookie_bad, ++bad);
	assert_int_equal(half_open(f), 1);

	/* and the right one still works */
	f->p.addr = ikp_ip(SITE_IP);
	init_cookie_asked(f);
	bad++;				/* p held SITE2_IP's */
	assert_int_equal(run_init(f), 0);
	assert_int_equal(st->init_cookie_bad, bad);
	assert_int_equal(half_open(f), 2);
}

/* A cookie outlives one rotation of the secret, not two. */
static void test_cookie_rotation(void **state)
{
	struct fix *f = *state;
	struct ike_cfg cfg = IKE_CFG_DEFAULT;
	const struct ike_stats *st;
	uint64_t period;

	cfg.cookie_threshold = 1;
	cfg.cookie_rotate = 60;
	cfg.half_open = 3600;		/* the load stays */
	reconfigure_cfg(f, &cfg);
	st = ike_get_stats(f->ctx);
	period = cfg.cookie_rotate * 1000ull;
	fill(f, SITE2_IP, 1);

	fresh(f, SITE_IP);
	init_cookie_asked(f);
	f->e.now_ms += period;
	ike_tick(f->ctx);
	assert_int_equal(run_init(f), 0);	/* the secret before: accepted */

	fresh(f, SITE_IP);
	init_cookie_asked(f);
	f->e.now_ms += period;
	ike_tick(f->ctx);
	f->e.now_ms += period;
	ike_tick(f->ctx);
	assert_int_equal(half_open(f), 2);
	init_cookie_asked(f);		/* two secrets ago: asked again */
	assert_int_equal(st->init_cookie_bad, 1);
	assert_int_equal(run_init(f), 0);	/* the new one works */
}

/* Without load a cookie is neither asked for nor needed; one sent anyway
 * is ignored (2.6), even a bad one. */
static void test_cookie_not_needed(void **state)
{
	struct fix *f = *state;
	const struct ike_stats *st = ike_get_stats(f->ctx);

	memset(f->p.cookie, 0xa5, IKE_COOKIE_LEN);
	f->p.cookie_len = IKE_COOKIE_LEN;
	establish(f);
	assert_int_equal(st->init_cookie_sent, 0);
	assert_int_equal(st->init_cookie_bad, 0);
}

/*
 * One address: at max_half_open_src half-open SAs without a cookie, its
 * next is asked for one, below the threshold; with cookies it has as many
 * again, then it is dropped. Other addresses are not affected, and the
 * budget comes back as its SAs complete or expire.
 */
static void test_src_limit(void **state)
{
	struct fix *f = *state;
	const struct ike_stats *st;
	uint64_t half;
	unsigned i;

	reconfigure(f, 1000, 3);
	st = ike_get_stats(f->ctx);
	half = ike_get_cfg(f->ctx)->half_open * 1000ull;
	fill(f, SITE_IP, 3);
	fresh(f, SITE_IP);
	init_cookie_asked(f);
	assert_int_equal(st->init_cookie_sent, 1);
	fill(f, SITE2_IP, 3);			/* another source: its own */
	assert_int_equal(half_open(f), 6);

	for (i = 0; i < 3; i++) {		/* the cookie budget */
		fresh(f, SITE_IP);
		init_cookie_asked(f);
		assert_int_equal(run_init(f), 0);
	}
	assert_int_equal(half_open(f), 9);
	fresh(f, SITE_IP);
	init_cookie_asked(f);
	assert_int_equal(run_init(f), -ENOMSG);	/* dropped, no answer */
	assert_int_equal(st->init_src_limited, 1);
	assert_int_equal(half_open(f), 9);

	/* expiry gives the budget back, and so does completion */
	f->e.now_ms += half + 1000;
	ike_tick(f->ctx);
	assert_int_equal(ikp_sa_count(f->ctx), 0);
	fill(f, SITE_IP, 3);
	assert_int_equal(run_auth(f, true), 0);	/* the third comes up */
	fill(f, SITE_IP, 1);			/* its place, no cookie */
	fresh(f, SITE_IP);
	init_cookie_asked(f);
	assert_int_equal(st->init_cookie_sent, 6);
	assert_int_equal(st->init_src_limited, 1);
}

/* A new initiator at addr that offers and sends MODP-8192. */
static void fresh_8192(struct fix *f, const char *addr)
{
	fresh(f, addr);
	f->p.ike[0].xf[3] = (struct ikp_xf)IKP_DH(IKE_DH_MODP8192);
	f->p.ke_group = IKE_DH_MODP8192;
}

/*
 * Cost, not count (issue 10, 3b): one MODP-8192 handshake weighs 20
 * MODP-2048 ones, in the threshold and in each address's budgets. An
 * address with nothing half-open may start one of any group.
 */
static void test_src_cost(void **state)
{
	struct fix *f = *state;
	const struct ike_stats *st;

	reconfigure(f, 45, 20);
	st = ike_get_stats(f->ctx);
	fresh_8192(f, SITE_IP);
	assert_int_equal(run_init(f), 0);	/* 20 of 20: nothing held before */
	fresh(f, SITE_IP);
	init_cookie_asked(f);			/* even a MODP-2048 one now */
	fresh_8192(f, SITE_IP);
	init_cookie_asked(f);
	assert_int_equal(run_init(f), 0);	/* the cookie budget: 20 */
	fresh(f, SITE_IP);
	init_cookie_asked(f);
	assert_int_equal(run_init(f), -ENOMSG);	/* 20 + 1 > 20 */
	assert_int_equal(st->init_src_limited, 1);
	assert_int_equal(half_open(f), 2);

	/* POP-wide: 40 held, threshold 45: five MODP-2048 pass, not an 8192 */
	fresh_8192(f, SITE2_IP);
	init_cookie_asked(f);
	fill(f, SITE2_IP, 5);
	fresh(f, SITE2_IP);
	init_cookie_asked(f);
	assert_int_equal(half_open(f), 7);

	/* completing one gives its whole cost back */
	fresh_8192(f, SITE_IP);
	init_cookie_asked(f);
	f->e.now_ms += ike_get_cfg(f->ctx)->half_open * 1000ull + 1000;
	ike_tick(f->ctx);
	assert_int_equal(half_open(f), 0);
	assert_int_equal(run_init(f), 0);	/* its cookie still holds; budgets empty */
	assert_int_equal(run_auth(f, true), 0);
	fresh_8192(f, SITE_IP);
	assert_int_equal(run_init(f), 0);
}

/* Deliver f->req with its header changed: message ID, responder SPI. */
static void send_altered(struct fix *f, uint32_t msgid, uint64_t rspi)
{
	uint8_t m[sizeof(f->req)];

	memcpy(m, f->req, f->req_len);
	ikp_put64(m + 8, rspi);
	ikp_put32(m + 20, msgid);
	ikp_deliver(f->ctx, &f->p, false, m, f->req_len);
}

/* Requests that never make a half-open SA count nothing: not a refusal,
 * not a message ID or responder SPI that no first request has, not a
 * retransmit, not a different request with a half-open SA's SPI (the
 * cases where strongSwan leaks a slot); an SA that completes is counted
 * no more. */
static void test_src_no_leak(void **state)
{
	struct fix *f = *state;
	unsigned i;

	reconfigure(f, 1000, 2);
	assert_int_equal(ikp_init_req(&f->p, f->req, sizeof(f->req), &f->req_len), 0);
	for (i = 0; i < 10; i++) {
		send_altered(f, 1 + i, 0);
		send_altered(f, 0, 0x1122334455667788ull + i);
	}
	assert_int_equal(f->e.n_sent, 0);
	assert_int_equal(half_open(f), 0);
	for (i = 0; i < 10; i++) {
		fresh(f, SITE_IP);
		f->p.ike[0].xf[0] = (struct ikp_xf)IKP_ENCR(ENCR_3DES, 0);
		assert_int_equal(run_init(f), IKEV2_N_NO_PROPOSAL_CHOSEN);
	}
	fresh(f, SITE_IP);
	assert_int_equal(run_init(f), 0);
	for (i = 0; i < 10; i++) {		/* retransmits: the cached answer */
		f->e.now_ms += 2000;
		ikp_deliver(f->ctx, &f->p, false, f->req, f->req_len);
		ikp_env_flush(&f->e);
	}
	for (i = 0; i < 10; i++) {		/* its SPI, another request */
		uint8_t m[sizeof(f->req)];

		memcpy(m, f->req, f->req_len);
		m[f->req_len - 1] ^= 1 + i;
		ikp_deliver(f->ctx, &f->p, false, m, f->req_len);
	}
	assert_int_equal(ikp_env_pending(&f->e), 0);
	assert_int_equal(half_open(f), 1);
	assert_int_equal(run_auth(f, true), 0);
	/* the budget of two is whole */
	fill(f, SITE_IP, 2);
	assert_int_equal(half_open(f), 2);
	assert_int_equal(ike_get_stats(f->ctx)->init_cookie_sent, 0);
}

/* The counting table against a plain array, through many adds and removes
 * of addresses chosen to collide (a small table, probe chains that wrap). */
static void test_src_table(void **state)
{
	struct fix *f = *state;
	enum { N = 460 };
	static unsigned want[N][2];
	unsigned seed = 4242, i, step;
	struct ike_cfg cfg = IKE_CFG_DEFAULT;

	cfg.max_half_open = 200;	/* a table of 512, crowded: long chains that wrap */
	reconfigure_cfg(f, &cfg);
	memset(want, 0, sizeof(want));
	for (step = 0; step < 40000; step++) {
		unsigned a = rand_r(&seed) % N, k = rand_r(&seed) & 1;
		uint32_t addr = htonl(0xc6336400u + a);

		/* mostly down: addresses come and go, chains get holes */
		if (rand_r(&seed) % 2 && want[a][k]) {
			ike_src_adjust(f->ctx, addr, k, -1);
			want[a][k]--;
		} else if (want[a][0] + want[a][1] < 2) {
			ike_src_adjust(f->ctx, addr, k, +1);
			want[a][k]++;
		}
		for (i = 0; i < N; i++) {
			uint32_t x = htonl(0xc6336400u + i);

			if (ike_src_half_open(f->ctx, x, false) != want[i][0] ||
			    ike_src_half_open(f->ctx, x, true) != want[i][1])
				fail_msg("step %u, address %u: counts %u/%u, want %u/%u",
					 step, i, ike_src_half_open(f->ctx, x, false),
					 ike_src_half_open(f->ctx, x, true),
					 want[i][0], want[i][1]);
		}
	}
	/* a decrement of nothing changes nothing */
	ike_src_adjust(f->ctx, htonl(0x0a000001), false, -1);
	assert_int_equal(ike_src_half_open(f->ctx, htonl(0x0a000001), false), 0);
	/* empty it: every address reads 0 */
	for (i = 0; i < N; i++)
		while (want[i][0] || want[i][1]) {
			unsigned k = want[i][1] ? 1 : 0;

			ike_src_adjust(f->ctx, htonl(0xc6336400u + i), k, -1);
			want[i][k]--;
		}
	for (i = 0; i < N; i++)
		assert_int_equal(ike_src_half_open(f->ctx, htonl(0xc6336400u + i), false) +
				 ike_src_half_open(f->ctx, htonl(0xc6336400u + i), true), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_cookie_under_load),
		T(test_cookie_forged),
		T(test_cookie_rotation),
		T(test_cookie_not_needed),
		T(test_src_limit),
		T(test_src_cost),
		T(test_src_no_leak),
		T(test_src_table),
	};

	eg_log_level = getenv("IKE_TEST_LOG") ? EG_LOG_DEBUG : EG_LOG_ERR;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
