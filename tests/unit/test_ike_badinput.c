// SPDX-License-Identifier: GPL-2.0
/*
 * test_ike_badinput.c - the responder fed bad input from a peer that holds
 * the keys (issue 10, hardening): IKE_AUTH's payload chain cut at every
 * byte, each of its payloads repeated, the chain reversed; requests with
 * message IDs ahead, far ahead and behind, replays; IKEv1. Each gets an
 * answer as RFC 7296 says (2.21: an error notify in a response with the
 * request's message ID) or is dropped and counted; nothing is ever set up
 * from a bad IKE_AUTH, state stays bounded, nothing crashes (the suite also
 * runs under ASan and UBSan, make test-asan).
 */
#include <malloc.h>

#include "ike_fix.h"

/* f->req (an SK request of ours) opened: its header and inner chain. */
struct chain {
	uint8_t hdr[IKE_SK_IKE_HDR_LEN];
	uint8_t first;
	uint8_t body[IKP_MSG_MAX];
	size_t len;
	size_t off[IKEV2_MAX_PAYLOADS + 1];	/* payload i at off[i] */
	unsigned n;
};

static void open_req(struct fix *f, struct chain *c)
{
	struct ikev2_msghdr h;
	struct ikev2_msg outer;
	struct ike_sk_keys sk;
	uint8_t *pl, np;
	size_t off = 0;

	assert_int_equal(ikev2_parse_msg(f->req, f->req_len, &h, &outer), 0);
	ike_keys_sk(&f->p.keys, true, &sk);
	assert_int_equal(ike_sk_open(&sk, f->req, f->req_len, outer.sk_off, c->body,
				     sizeof(c->body), &pl, &c->len, &np), 0);
	memcpy(c->hdr, f->req, IKE_SK_IKE_HDR_LEN);
	c->first = np;
	for (c->n = 0; off < c->len; c->n++) {
		c->off[c->n] = off;
		off += (size_t)c->body[off + 2] << 8 | c->body[off + 3];
	}
	c->off[c->n] = off;
}

/* Seal body (a chain, maybe broken) whose first type is first behind c's
 * header, and deliver it on 4500. */
static void send_chain(struct fix *f, const struct chain *c, uint8_t first,
		       const uint8_t *body, size_t len)
{
	uint8_t m[IKP_MSG_MAX + 512];
	struct ike_sk_keys sk;
	size_t mlen;

	memcpy(m, c->hdr, IKE_SK_IKE_HDR_LEN);
	m[16] = IKEV2_PLD_SK;
	ike_keys_sk(&f->p.keys, true, &sk);
	assert_int_equal(ike_sk_seal(&sk, m, sizeof(m), IKE_SK_IKE_HDR_LEN, first, body,
				     len, &mlen), 0);
	ikp_deliver(f->ctx, &f->p, true, m, mlen);
}

static unsigned n_cases, n_answered, n_dropped;

/* After a bad IKE_AUTH: nothing set up; an answer is an error response to
 * message 1, or there is none and the drop was counted. */
static void assert_refused(struct fix *f, const char *what, unsigned arg,
			   uint64_t bad_before)
{
	const struct ike_stats *st = ike_get_stats(f->ctx);
	int err;

	n_cases++;
	if (f->e.n_inst)
		fail_msg("%s %u: a Child SA was installed", what, arg);
	if (!ikp_env_pending(&f->e)) {
		if (st->rx_bad + st->rx_dropped + st->auth_failed == bad_before)
			fail_msg("%s %u: no answer and nothing counted", what, arg);
		n_dropped++;
		return;
	}
	n_answered++;
	err = take_sk(f, true);
	if (err)
		fail_msg("%s %u: the answer does not open: %d", what, arg, err);
	if (!(f->r.h.flags & IKEV2_FLAG_RESPONSE) || f->r.h.msgid != 1)
		fail_msg("%s %u: answer flags %#x, message ID %u", what, arg,
			 f->r.h.flags, f->r.h.msgid);
	if (!ikp_error(&f->r.m))
		fail_msg("%s %u: an answer without an error notify", what, arg);
	if (ikp_env_pending(&f->e))
		fail_msg("%s %u: more than one answer", what, arg);
}

/* A fresh half-open SA and its IKE_AUTH request, opened into c. */
static void fresh_auth(struct fix *f, struct chain *c)
{
	ike_site_down(f->ctx, SITE_ID, "next case");	/* the last one's */
	ikp_env_flush(&f->e);
	f->e.n_inst = 0;
	peer_reset(f, SITE_IP);
	assert_int_equal(run_init(f), 0);
	assert_int_equal(ikp_auth_req(&f->p, &f->a, f->req, IKP_MSG_MAX, &f->req_len), 0);
	open_req(f, c);
}

static void est_cb(const struct ike_sa *sa, void *arg)
{
	*(unsigned *)arg += sa->state == IKE_S_ESTABLISHED;
}

static unsigned established(const struct fix *f)
{
	unsigned n = 0;

	ike_foreach(f->ctx, est_cb, &n);
	return n;
}

static uint64_t bad_count(const struct fix *f)
{
	const struct ike_stats *st = ike_get_stats(f->ctx);

	return st->rx_bad + st->rx_dropped + st->auth_failed;
}

/* IKE_AUTH's chain cut at every byte (its last payload's length now lies,
 * or whole payloads are missing). */
static void test_auth_truncated(void **state)
{
	struct fix *f = *state;
	static struct chain c;
	size_t cut;

	fresh_auth(f, &c);
	for (cut = 0; cut < c.len; cut++) {
		uint64_t before;

		fresh_auth(f, &c);
		before = bad_count(f);
		send_chain(f, &c, c.first, c.body, cut);
		assert_refused(f, "cut at", (unsigned)cut, before);
		if (established(f))
			fail_msg("cut at %zu: an IKE SA is established", cut);
	}
	print_message("    %u cuts: %u answered with an error, %u dropped and counted\n",
		      n_cases, n_answered, n_dropped);
}

/* Each payload of IKE_AUTH twice in a row. */
static void test_auth_repeated(void **state)
{
	struct fix *f = *state;
	static struct chain c;
	static uint8_t body[2 * IKP_MSG_MAX];
	unsigned i;

	fresh_auth(f, &c);
	for (i = 0; i < c.n; i++) {
		size_t a = c.off[i], plen = c.off[i + 1] - a, len = 0;
		uint8_t type = i ? c.body[c.off[i - 1]] : c.first;
		uint64_t before;

		fresh_auth(f, &c);
		before = bad_count(f);
		/* ... payload i, its copy (next: payload i's type), the rest */
		memcpy(body, c.body, a + plen);
		len = a + plen;
		body[a] = type;			/* payload i now says: me again */
		memcpy(body + len, c.body + a, c.len - a);
		len += c.len - a;
		send_chain(f, &c, c.first, body, len);
		/* a repeated notify is allowed (2.21); the others are errors */
		if (type == IKEV2_PLD_NOTIFY && f->e.n_inst) {
			ikp_env_flush(&f->e);
			continue;
		}
		assert_refused(f, "payload repeated:", i, before);
	}
}

/* The whole chain backwards: IKE_AUTH's payloads may come in any order
 * (3.2) except that nothing may follow SK; it is answered either way. */
static void test_auth_reversed(void **state)
{
	struct fix *f = *state;
	static struct chain c;
	uint8_t body[IKP_MSG_MAX];
	size_t len = 0;
	unsigned i;

	fresh_auth(f, &c);
	for (i = c.n; i-- > 0;) {
		size_t plen = c.off[i + 1] - c.off[i];

		memcpy(body + len, c.body + c.off[i], plen);
		/* next payload: the one before it, or none */
		body[len] = i ? (i == 1 ? c.first : c.body[c.off[i - 2]]) : 0;
		len += plen;
	}
	send_chain(f, &c, c.body[c.off[c.n - 2]], body, len);
	assert_int_equal(ikp_env_pending(&f->e), 1);
	assert_int_equal(take_sk(f, true), 0);
	assert_true(f->r.h.flags & IKEV2_FLAG_RESPONSE);
	assert_int_equal(f->r.h.msgid, 1);
}

/* On an established SA: message IDs ahead, far ahead, behind, replayed. */
static void test_msgids(void **state)
{
	struct fix *f = *state;
	const struct ike_stats *st = ike_get_stats(f->ctx);
	static const uint32_t ahead[] = { 1, 2, 1000, 0x7fffffff, 0xffffffff };
	uint64_t dropped;
	unsigned i;

	establish(f);
	/* message 2 (an empty INFORMATIONAL) answered */
	assert_int_equal(run_info(f, NULL, 0, false), 0);
	dropped = st->rx_dropped;
	for (i = 0; i < ARRAY_SIZE(ahead); i++) {
		uint32_t expect = f->p.msgid;

		f->p.msgid = expect + ahead[i];
		assert_int_equal(ikp_info_req(&f->p, NULL, 0, false, f->req, IKP_MSG_MAX,
					      &f->req_len), 0);
		f->p.msgid = expect;
		ikp_deliver(f->ctx, &f->p, true, f->req, f->req_len);
		if (ikp_env_pending(&f->e))
			fail_msg("message ID %u ahead: answered", ahead[i]);
		assert_int_equal(st->rx_dropped, dropped + i + 1);
	}
	/* behind: an older ID with new content gets nothing */
	f->p.msgid -= 2;
	assert_int_equal(ikp_info_req(&f->p, NULL, 0, false, f->req, IKP_MSG_MAX,
				      &f->req_len), 0);
	f->e.now_ms += 1000;
	ikp_deliver(f->ctx, &f->p, true, f->req, f->req_len);
	assert_int_equal(ikp_env_pending(&f->e), 0);
	/* the last one again, with other content (a new IV): nothing */
	assert_int_equal(ikp_info_req(&f->p, NULL, 0, false, f->req, IKP_MSG_MAX,
				      &f->req_len), 0);
	ikp_deliver(f->ctx, &f->p, true, f->req, f->req_len);
	assert_int_equal(ikp_env_pending(&f->e), 0);
	/* and the SA still works: the expected ID is answered */
	assert_int_equal(run_info(f, NULL, 0, false), 0);
}

/* IKEv1 (and other majors) on 500 and 4500: dropped, counted, no state. */
static void test_ikev1(void **state)
{
	struct fix *f = *state;
	const struct ike_stats *st = ike_get_stats(f->ctx);
	uint8_t m[IKP_MSG_MAX];
	unsigned major;

	assert_int_equal(ikp_init_req(&f->p, f->req, sizeof(f->req), &f->req_len), 0);
	for (major = 0; major < 16; major++) {
		if (major == 2)
			continue;
		memcpy(m, f->req, f->req_len);
		m[17] = (uint8_t)(major << 4);
		ikp_deliver(f->ctx, &f->p, false, m, f->req_len);
		ikp_deliver(f->ctx, &f->p, true, m, f->req_len);
	}
	assert_int_equal(ikp_env_pending(&f->e), 0);
	assert_int_equal(ikp_sa_count(f->ctx), 0);
	assert_true(st->ikev1 >= 2);
	assert_true(st->ikev1 + st->rx_bad + st->rx_dropped >= 30);
}

/* 20,000 broken INFORMATIONAL requests on one SA (random chains, valid
 * ICV): the heap does not grow with them, and the SA still answers. */
static void test_memory_bounded(void **state)
{
	struct fix *f = *state;
	static struct chain c;
	uint8_t body[512];
	unsigned seed = 99, i;
	struct mallinfo2 m0, m1;

	establish(f);
	assert_int_equal(ikp_info_req(&f->p, NULL, 0, false, f->req, IKP_MSG_MAX,
				      &f->req_len), 0);
	open_req(f, &c);
	f->p.msgid--;
	m0 = mallinfo2();
	for (i = 0; i < 20000; i++) {
		size_t len = rand_r(&seed) % sizeof(body), k;

		for (k = 0; k < len; k++)
			body[k] = (uint8_t)rand_r(&seed);
		/* a new message ID each time: every one is a new request */
		c.hdr[20] = (uint8_t)(f->p.msgid >> 24);
		c.hdr[21] = (uint8_t)(f->p.msgid >> 16);
		c.hdr[22] = (uint8_t)(f->p.msgid >> 8);
		c.hdr[23] = (uint8_t)f->p.msgid;
		send_chain(f, &c, (uint8_t)rand_r(&seed), body, len);
		if (ikp_env_pending(&f->e))
			f->p.msgid++;		/* answered: the next ID */
		ikp_env_flush(&f->e);
		if (ikp_sa_count(f->ctx) != 1)
			fail_msg("after %u broken requests: %u SAs", i + 1,
				 ikp_sa_count(f->ctx));
	}
	m1 = mallinfo2();
	if (m1.uordblks > m0.uordblks + 64 * 1024)
		fail_msg("heap grew by %zu bytes over 20,000 broken requests",
			 m1.uordblks - m0.uordblks);
	assert_int_equal(run_info(f, NULL, 0, false), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_auth_truncated),
		T(test_auth_repeated),
		T(test_auth_reversed),
		T(test_msgids),
		T(test_ikev1),
		T(test_memory_bounded),
	};

	eg_log_level = getenv("IKE_TEST_LOG") ? EG_LOG_DEBUG : EG_LOG_ERR;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
