// SPDX-License-Identifier: GPL-2.0
/*
 * test_ike_life.c - what happens to a tunnel over time, in process: Child
 * SA rekeys both ways and at the 10-tunnel cap, their collisions (RFC 7296
 * 2.8.1), IKE SA rekeys both ways (1.3.2, 2.18), liveness with a clock the
 * test moves (2.4), kernel expiry, INITIAL_CONTACT and one IKE SA per site
 * (3.10.1), NAT rebinding, and the 2.21 answers to requests that make no
 * sense in the SA's state. Same initiator double and fixture as test_ike.c.
 *
 * The rule every rekey case checks besides the SPIs: at no moment does the
 * site have no installed Child SA (no outbound SA = lost traffic).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ike_fix.h"

/* The engine's nonce order (2.8.1), from ike_int.h. */
int nonce_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* ---- helpers ------------------------------------------------------------ */

/* The next datagram the engine sent, opened with peer p's keys into r. */
static void take(struct fix *f, struct ike_peer *p, struct ikp_msg *r)
{
	const struct ikp_dgram *d;
	const uint8_t *msg;
	size_t len;

	d = ikp_env_pop(&f->e, &msg, &len);
	if (!d)
		fail_msg("expected a datagram from the engine, got none");
	assert_int_equal(d->lport, IKP_NATT_PORT);
	assert_int_equal(d->port, p->natt_port);
	assert_non_null(msg);
	assert_int_equal(ikp_open(p, msg, len, r), 0);
}

/* Child SAs of the site's one IKE SA in a state (0: any). */
static unsigned children(struct fix *f, enum ike_child_state st)
{
	struct ike_sa sa = the_sa(f);
	unsigned i, n = 0;

	for (i = 0; i < IKE_CHILD_SLOTS; i++)
		if (sa.child[i] && (!st || sa.child[i]->state == st))
			n++;
	return n;
}

static bool has_child(struct fix *f, uint32_t spi_in_net)
{
	struct ike_sa sa = the_sa(f);
	unsigned i;

	for (i = 0; i < IKE_CHILD_SLOTS; i++)
		if (sa.child[i] && sa.child[i]->spi_in == spi_in_net)
			return true;
	return false;
}

/* The SPIs of the one D(ESP) in r, host order. */
static unsigned deleted_spis(const struct ikp_msg *r, uint32_t *out)
{
	struct ikev2_delete_pld d;
	unsigned i;

	assert_int_equal(r->h.exch, IKEV2_EXCH_INFORMATIONAL);
	ASSERT_TYPES(&r->m, IKEV2_PLD_DELETE);
	assert_int_equal(ikev2_dec_delete(&r->m.pld[0], &d), 0);
	assert_int_equal(d.proto, IKEV2_PROTO_ESP);
	for (i = 0; i < d.n_spi; i++)
		out[i] = (uint32_t)ikp_get16(d.spis + 4 * i) << 16 |
			 ikp_get16(d.spis + 4 * i + 2);
	return d.n_spi;
}

/* The peer's CREATE_CHILD_SA rekeying its SA old with every nonce octet
 * = nb (so a test decides who has the lowest nonce, 2.8.1). */
static void peer_rekey(struct fix *f, uint32_t spi, uint32_t old, uint8_t nb)
{
	uint8_t nonce[32];

	memset(nonce, nb, sizeof(nonce));
	create_child_nonce(f, spi, &old, false, nonce);
}

static void deliver(struct fix *f, const struct ike_peer *p)
{
	ikp_deliver(f->ctx, p, true, f->req, f->req_len);
}

static void advance(struct fix *f, uint64_t ms)
{
	f->e.now_ms += ms;
	ike_tick(f->ctx);
}

/* ---- Child SA rekeys ---------------------------------------------------- */

/* Issue 8.4: ten tunnels up, a rekey still gets a slot; an 11th tunnel not. */
static void test_rekey_at_cap(void **state)
{
	struct fix *f = *state;
	uint32_t old = ESP_SPI_I;
	unsigned i;

	establish(f);
	for (i = 1; i < IKE_MAX_CHILD; i++) {
		create_child(f, ESP_SPI_I + i, NULL, false);
		ASSERT_TYPES(&f->r.m, IKEV2_PLD_SA, IKEV2_PLD_NONCE, IKEV2_PLD_TSI,
			     IKEV2_PLD_TSR);
	}
	assert_int_equal(ike_sa_tunnels(&(struct ike_sa){ 0 }), 0);
	assert_int_equal(children(f, CHILD_S_INSTALLED), IKE_MAX_CHILD);
	create_child(f, ESP_SPI_I + 50, NULL, false);
	ASSERT_TYPES(&f->r.m, IKEV2_PLD_NOTIFY);
	assert_notify(&f->r.m.pld[0], IKEV2_N_NO_ADDITIONAL_SAS, NULL, 0);
	/* the rekey of tunnel 1 takes the overlap slot */
	create_child(f, ESP_SPI_I + 51, &old, false);
	ASSERT_TYPES(&f->r.m, IKEV2_PLD_SA, IKEV2_PLD_NONCE, IKEV2_PLD_TSI,
		     IKEV2_PLD_TSR);
	assert_int_equal(f->e.n_inst, IKE_MAX_CHILD + 1);
	assert_int_equal(children(f, 0), IKE_MAX_CHILD + 1);
	{
		struct ike_sa sa = the_sa(f);

		assert_int_equal(ike_sa_tunnels(&sa), IKE_MAX_CHILD);
	}
	/* the peer deletes the old one: ten again, nothing else removed */
	assert_int_equal(run_info(f, &old, 1, false), 0);
	assert_int_equal(f->e.n_removed, 1);
	assert_int_equal(ntohl(f->e.removed[0].spi_out), ESP_SPI_I);
	assert_int_equal(children(f, 0), IKE_MAX_CHILD);
}

/* Issue 9.4: soft expiry from the kernel: we rekey as the initiator, then
 * delete the old Child SA; the peer's answer keys the new one. */
static void test_our_child_rekey(void **state)
{
	struct fix *f = *state;
	const struct ike_stats *st = ike_get_stats(f->ctx);
	struct ikp_child c;
	uint32_t old_in, rekeyed, spis[4], mine = 0x7a000001u;

	establish(f);
	old_in = f->e.inst[0].c.spi_in;
	assert_int_equal(ike_child_expire(f->ctx, htonl(0x12345678u), false), -ENOENT);
	assert_int_equal(ike_child_expire(f->ctx, old_in, false), 0);
	take(f, &f->p, &f->r);
	assert_int_equal(f->r.h.exch, IKEV2_EXCH_CREATE_CHILD_SA);
	assert_int_equal(f->r.h.flags, 0);	/* a request, and we are not I */
	assert_int_equal(f->r.h.msgid, 0);	/* our first request on the SA */
	assert_int_equal(children(f, CHILD_S_REKEYING), 1);
	assert_int_equal(ikp_answer_child(&f->p, &f->r, mine, &c, &rekeyed, f->req,
					  IKP_MSG_MAX, &f->req_len), 0);
	assert_int_equal(rekeyed, ntohl(old_in));	/* REKEY_SA: our inbound */
	deliver(f, &f->p);
	assert_int_equal(f->e.n_inst, 2);
	assert_int_equal(ntohl(f->e.inst[1].c.spi_out), mine);
	assert_int_equal(f->e.inst[1].c.reqid, f->e.inst[0].c.reqid);
	assert_int_equal(f->e.inst[1].c.rekeys, 1);
	/* we initiated: our outbound keys are the exchange's initiator's */
	assert_memory_equal(f->e.inst[1].keys.encr_r, c.keys.encr_i, c.keys.encr_len);
	assert_memory_equal(f->e.inst[1].keys.encr_i, c.keys.encr_r, c.keys.encr_len);
	assert_int_equal(st->child_rekeys, 1);
	/* 1.3.3: the rekey's initiator deletes the old one */
	take(f, &f->p, &f->r);
	assert_int_equal(f->r.h.msgid, 1);
	assert_int_equal(deleted_spis(&f->r, spis), 1);
	assert_int_equal(spis[0], ntohl(old_in));
	assert_int_equal(f->e.n_removed, 0);	/* until the peer answers */
	assert_int_equal(ikp_answer_delete(&f->p, &f->r, (uint32_t[]){ ESP_SPI_I },
					   1, f->req, IKP_MSG_MAX, &f->req_len), 0);
	deliver(f, &f->p);
	assert_int_equal(f->e.n_removed, 1);
	assert_int_equal(f->e.removed[0].spi_in, old_in);
	assert_int_equal(children(f, CHILD_S_INSTALLED), 1);
	assert_true(has_child(f, htonl(c.spi_r)));
	assert_int_equal(ikp_env_pending(&f->e), 0);
}

/*
 * 2.8.1: both ends rekey the same Child SA at once. nb: the octet of the
 * peer's nonce; 0x00 makes the peer's exchange hold the lowest nonce (its
 * new SA is redundant, the peer deletes it, we delete the old one).
 */
static void collide(struct fix *f, uint8_t nb)
{
	struct ikp_msg ours;
	struct ikp_child c;
	uint32_t old_in, rekeyed, spis[4], mine = 0x7a000001u;
	uint32_t theirs_in, ours_in;
	int i_n;
	uint8_t engine_ni[64], engine_nr[64], peer_ni[32];
	size_t ni_len, nr_len;
	bool peer_lowest;

	establish(f);
	old_in = f->e.inst[0].c.spi_in;
	assert_int_equal(ike_rekey_child_now(f->ctx, SITE_ID, old_in), 0);
	take(f, &f->p, &ours);
	i_n = ikev2_msg_find(&ours.m, IKEV2_PLD_NONCE, 0);
	assert_true(i_n >= 0);
	ni_len = ours.m.pld[i_n].len;
	memcpy(engine_ni, ours.m.pld[i_n].body, ni_len);
	/* the peer's own rekey of the same SA crosses ours: answered */
	peer_rekey(f, ESP_SPI_I + 8, ESP_SPI_I, nb);
	ASSERT_TYPES(&f->r.m, IKEV2_PLD_SA, IKEV2_PLD_NONCE, IKEV2_PLD_TSI,
		     IKEV2_PLD_TSR);
	i_n = ikev2_msg_find(&f->r.m, IKEV2_PLD_NONCE, 0);
	nr_len = f->r.m.pld[i_n].len;
	memcpy(engine_nr, f->r.m.pld[i_n].body, nr_len);
	theirs_in = f->e.inst[1].c.spi_in;
	/* now the peer answers ours (its nonce: nb octets too) */
	assert_int_equal(ikp_answer_child(&f->p, &ours, mine, &c, &rekeyed, f->req,
					  IKP_MSG_MAX, &f->req_len), 0);
	deliver(f, &f->p);
	assert_int_equal(f->e.n_inst, 3);
	ours_in = f->e.inst[2].c.spi_in;
	assert_int_equal(children(f, 0), 3);
	assert_int_equal(ike_get_stats(f->ctx)->rekey_collisions, 1);
	/* who has the lowest of the four nonces? (the peer's answer nonce is
	 * random too: compare what the engine saw) */
	memset(peer_ni, nb, sizeof(peer_ni));
	peer_lowest = nonce_cmp(peer_ni, 32, engine_ni, ni_len) < 0 &&
		      nonce_cmp(peer_ni, 32, engine_nr, nr_len) < 0;
	assert_true(nb != 0 || peer_lowest);	/* 0x00.. is the lowest */
	take(f, &f->p, &f->r);
	assert_int_equal(deleted_spis(&f->r, spis), 1);
	if (nb == 0) {
		/* the peer's new SA is redundant: we delete only the old one */
		assert_int_equal(spis[0], ntohl(old_in));
		assert_int_equal(ikp_answer_delete(&f->p, &f->r,
						   (uint32_t[]){ ESP_SPI_I }, 1,
						   f->req, IKP_MSG_MAX, &f->req_len), 0);
		deliver(f, &f->p);
		/* the peer deletes its redundant one */
		assert_int_equal(run_info(f, (uint32_t[]){ ESP_SPI_I + 8 }, 1,
					  false), 0);
		assert_int_equal(f->e.n_removed, 2);
		assert_true(has_child(f, ours_in));
		assert_false(has_child(f, theirs_in));
	}
	assert_int_equal(children(f, CHILD_S_INSTALLED) >= 1, 1);
}

static void test_collision_peer_redundant(void **state)
{
	collide(*state, 0x00);
}

/*
 * 2.8.1 with our new SA the redundant one: our exchange holds the lowest
 * nonce when our answer's nonce is made low, which ikp_answer_child cannot;
 * so the case is driven from the peer's side: its nonce is all 0xff and
 * the engine's nonces decide, and the test checks whichever they chose.
 */
static void test_collision_either(void **state)
{
	struct fix *f = *state;
	struct ikp_msg ours;
	struct ikp_child c;
	uint32_t old_in, rekeyed, spis[4], mine = 0x7a000001u;
	uint32_t ours_in, theirs_in;
	const uint32_t peer_spi = ESP_SPI_I + 8;
	unsigned n;

	establish(f);
	old_in = f->e.inst[0].c.spi_in;
	assert_int_equal(ike_rekey_child_now(f->ctx, SITE_ID, old_in), 0);
	take(f, &f->p, &ours);
	peer_rekey(f, peer_spi, ESP_SPI_I, 0xff);
	theirs_in = f->e.inst[1].c.spi_in;
	assert_int_equal(ikp_answer_child(&f->p, &ours, mine, &c, &rekeyed, f->req,
					  IKP_MSG_MAX, &f->req_len), 0);
	deliver(f, &f->p);
	ours_in = f->e.inst[2].c.spi_in;
	take(f, &f->p, &f->r);
	n = deleted_spis(&f->r, spis);
	if (n == 1 && spis[0] == ntohl(old_in)) {
		/* theirs is redundant (theirs to delete); we deleted the old */
		assert_true(has_child(f, ours_in));
	} else {
		/* ours is redundant: we delete it, the old one is the peer's */
		assert_int_equal(n, 1);
		assert_int_equal(spis[0], ntohl(ours_in));
		assert_int_equal(ikp_answer_delete(&f->p, &f->r, &mine, 1, f->req,
						   IKP_MSG_MAX, &f->req_len), 0);
		deliver(f, &f->p);
		assert_false(has_child(f, ours_in));
		assert_true(has_child(f, theirs_in));
		assert_int_equal(run_info(f, (uint32_t[]){ ESP_SPI_I }, 1, false), 0);
		assert_false(has_child(f, old_in));
		assert_int_equal(children(f, 0), 1);
	}
	assert_true(children(f, CHILD_S_INSTALLED) >= 1);
}

/* A DELETE of the old SA racing our rekey of it: the rekey's answer still
 * installs, nothing is left half-made, the tunnel is never without an SA. */
static void test_delete_races_rekey(void **state)
{
	struct fix *f = *state;
	struct ikp_msg ours;
	struct ikp_child c;
	uint32_t old_in, rekeyed, mine = 0x7a000001u;

	establish(f);
	old_in = f->e.inst[0].c.spi_in;
	assert_int_equal(ike_rekey_child_now(f->ctx, SITE_ID, old_in), 0);
	take(f, &f->p, &ours);
	/* the peer deletes the old one (it rekeyed it from its side and is
	 * done with it) before answering ours */
	assert_int_equal(run_info(f, (uint32_t[]){ ESP_SPI_I }, 1, false), 0);
	assert_int_equal(f->e.n_removed, 1);
	assert_int_equal(ikp_answer_child(&f->p, &ours, mine, &c, &rekeyed, f->req,
					  IKP_MSG_MAX, &f->req_len), 0);
	deliver(f, &f->p);
	assert_int_equal(f->e.n_inst, 2);
	assert_int_equal(children(f, CHILD_S_INSTALLED), 1);
	assert_int_equal(ikp_env_pending(&f->e), 0);	/* nothing to delete */
}

/*
 * The peer rekeys: our new outbound SA waits for its DELETE of the old one
 * (2.8: the initiator installs its inbound SA only on our answer, so ESP
 * on the new SA sent earlier may reach it first), and goes in before the
 * old one leaves. This is the loss t_52 measured with Libreswan.
 */
static void test_rekey_out_waits(void **state)
{
	struct fix *f = *state;

	establish(f);
	assert_int_equal(f->e.inst[0].dirs, IKE_DIR_IN | IKE_DIR_OUT);
	peer_rekey(f, ESP_SPI_I + 1, ESP_SPI_I, 0x40);
	assert_int_equal(f->e.n_inst, 2);
	assert_int_equal(f->e.inst[1].dirs, IKE_DIR_IN);
	assert_int_equal(f->e.n_out_late, 0);
	/* time passes, DPD comes and goes: still only inbound */
	assert_int_equal(run_info(f, NULL, 0, false), 0);
	advance(f, 5000);
	assert_int_equal(f->e.inst[1].dirs, IKE_DIR_IN);
	/* the DELETE of the old one: outbound in first, then the old out */
	assert_int_equal(run_info(f, (uint32_t[]){ ESP_SPI_I }, 1, false), 0);
	assert_int_equal(f->e.n_out_late, 1);
	assert_int_equal(f->e.inst[1].dirs, IKE_DIR_IN | IKE_DIR_OUT);
	assert_int_equal(f->e.inst[1].out_at_removed, 0);
	assert_int_equal(f->e.n_removed, 1);
	assert_int_equal(f->e.removed[0].spi_out, htonl(ESP_SPI_I));
	/* and the next rekey of the new one does it again */
	peer_rekey(f, ESP_SPI_I + 2, ESP_SPI_I + 1, 0x40);
	assert_int_equal(f->e.inst[2].dirs, IKE_DIR_IN);
	assert_int_equal(run_info(f, (uint32_t[]){ ESP_SPI_I + 1 }, 1, false), 0);
	assert_int_equal(f->e.n_out_late, 2);
	assert_int_equal(f->e.inst[2].dirs, IKE_DIR_IN | IKE_DIR_OUT);
	assert_int_equal(f->e.inst[2].out_at_removed, 1);
	assert_int_equal(children(f, 0), 1);
}

/* The peer never deletes the old SA: its hard expiry lets the new one's
 * outbound in, before the old one goes. */
static void test_rekey_out_at_expiry(void **state)
{
	struct fix *f = *state;

	establish(f);
	peer_rekey(f, ESP_SPI_I + 1, ESP_SPI_I, 0x40);
	assert_int_equal(ike_child_expire(f->ctx, f->e.inst[0].c.spi_out, true), 0);
	assert_int_equal(f->e.n_out_late, 1);
	assert_int_equal(f->e.inst[1].dirs, IKE_DIR_IN | IKE_DIR_OUT);
	assert_int_equal(f->e.inst[1].out_at_removed, 0);
	assert_int_equal(f->e.n_removed, 1);
}

/* The IKE SA goes with a rekey's outbound still held (a dead peer, a
 * teardown): nothing is put in on the way out, nothing is leaked (ASan). */
static void test_rekey_out_never(void **state)
{
	struct fix *f = *state;

	establish(f);
	peer_rekey(f, ESP_SPI_I + 1, ESP_SPI_I, 0x40);
	ike_ctx_free(f->ctx, true);
	f->ctx = NULL;
	assert_int_equal(f->e.n_out_late, 0);
	assert_int_equal(f->e.n_removed, 2);
	assert_int_equal(f->e.inst[1].dirs, IKE_DIR_IN);
	assert_int_equal(ike_ctx_new(&f->ctx, &f->env, NULL), 0);
}

/* ---- IKE SA rekeys (1.3.2, 2.18) ---------------------------------------- */

static void test_ike_rekey_by_peer(void **state)
{
	struct fix *f = *state;
	struct ike_peer old;
	struct ike_sa sa;
	unsigned inst;

	establish(f);
	inst = f->e.n_inst;
	assert_int_equal(ikp_rekey_ike_req(&f->p, f->req, IKP_MSG_MAX, &f->req_len), 0);
	deliver(f, &f->p);
	take(f, &f->p, &f->r);
	ASSERT_TYPES(&f->r.m, IKEV2_PLD_SA, IKEV2_PLD_NONCE, IKEV2_PLD_KE);
	old = f->p;
	old.dh = old.cdh = NULL;
	assert_int_equal(ikp_rekey_ike_resp(&f->p, &f->r), 0);
	assert_int_equal(ikp_sa_count(f->ctx), 2);
	/* the old SA is deleted by the peer, on the old SA */
	assert_int_equal(ikp_info_req(&old, NULL, 0, true, f->req, IKP_MSG_MAX,
				      &f->req_len), 0);
	deliver(f, &old);
	take(f, &old, &f->r);
	assert_int_equal(f->r.h.flags, IKEV2_FLAG_RESPONSE);
	assert_int_equal(f->r.m.n, 0);
	assert_int_equal(ikp_sa_count(f->ctx), 1);
	sa = the_sa(f);
	assert_memory_equal(sa.spi_i, f->p.spi_i, IKE_SPI_LEN);
	assert_memory_equal(sa.spi_r, f->p.spi_r, IKE_SPI_LEN);
	assert_int_equal(sa.state, IKE_S_ESTABLISHED);
	assert_int_equal(sa.ike_rekeys, 1);
	/* the Child SA moved, nothing was removed or reinstalled */
	assert_int_equal(ike_sa_tunnels(&sa), 1);
	assert_int_equal(f->e.n_removed, 0);
	assert_int_equal(f->e.n_inst, inst);
	/* message IDs restart at 0 on the new SA; it is keyed right */
	assert_int_equal(f->p.msgid, 0);
	assert_int_equal(run_info(f, NULL, 0, false), 0);
	assert_int_equal(f->r.h.msgid, 0);
	/* and a Child SA rekey on the new SA works, keyed from the new SK_d */
	create_child(f, ESP_SPI_I + 3, (uint32_t[]){ ESP_SPI_I }, false);
	ASSERT_TYPES(&f->r.m, IKEV2_PLD_SA, IKEV2_PLD_NONCE, IKEV2_PLD_TSI,
		     IKEV2_PLD_TSR);
	ikp_free(&old);
}

static void test_ike_rekey_ours(void **state)
{
	struct fix *f = *state;
	struct ike_peer old;
	struct ike_sa sa;

	establish(f);
	assert_int_equal(ike_rekey_ike_now(f->ctx, SITE_ID), 0);
	take(f, &f->p, &f->r);
	assert_int_equal(f->r.h.exch, IKEV2_EXCH_CREATE_CHILD_SA);
	ASSERT_TYPES(&f->r.m, IKEV2_PLD_SA, IKEV2_PLD_NONCE, IKEV2_PLD_KE);
	assert_int_equal(ikp_answer_ike_rekey(&f->p, &f->r, &old, f->req,
					      IKP_MSG_MAX, &f->req_len), 0);
	deliver(f, &old);
	/* the new SA is up; we delete the old one, on the old one */
	take(f, &old, &f->r);
	assert_int_equal(f->r.h.exch, IKEV2_EXCH_INFORMATIONAL);
	{
		struct ikev2_delete_pld d;

		ASSERT_TYPES(&f->r.m, IKEV2_PLD_DELETE);
		assert_int_equal(ikev2_dec_delete(&f->r.m.pld[0], &d), 0);
		assert_int_equal(d.proto, IKEV2_PROTO_IKE);
	}
	assert_int_equal(ikp_answer_delete(&old, &f->r, NULL, 0, f->req,
					   IKP_MSG_MAX, &f->req_len), 0);
	deliver(f, &old);
	assert_int_equal(ikp_sa_count(f->ctx), 1);
	sa = the_sa(f);
	assert_true(sa.we_initiated);
	assert_memory_equal(sa.spi_i, f->p.spi_i, IKE_SPI_LEN);
	assert_int_equal(ike_sa_tunnels(&sa), 1);
	assert_int_equal(f->e.n_removed, 0);
	/* the peer is the new SA's responder: its request has no I flag and
	 * our answer carries I (we are the original initiator now) */
	assert_true(f->p.resp_side);
	assert_int_equal(ikp_info_req(&f->p, NULL, 0, false, f->req, IKP_MSG_MAX,
				      &f->req_len), 0);
	deliver(f, &f->p);
	take(f, &f->p, &f->r);
	assert_int_equal(f->r.h.flags, IKEV2_FLAG_RESPONSE | IKEV2_FLAG_INITIATOR);
	assert_int_equal(f->r.h.msgid, 0);
	ikp_free(&old);
}

/* 2.8.2: both rekey the IKE SA at once; one new SA survives, with the
 * Child SA, and the other goes. */
static void test_ike_rekey_collision(void **state)
{
	struct fix *f = *state;
	struct ikp_msg ours;
	struct ike_peer old, mine;
	unsigned i;

	establish(f);
	assert_int_equal(ike_rekey_ike_now(f->ctx, SITE_ID), 0);
	take(f, &f->p, &ours);
	/* the peer's own rekey crosses it */
	assert_int_equal(ikp_rekey_ike_req(&f->p, f->req, IKP_MSG_MAX, &f->req_len), 0);
	deliver(f, &f->p);
	take(f, &f->p, &f->r);
	ASSERT_TYPES(&f->r.m, IKEV2_PLD_SA, IKEV2_PLD_NONCE, IKEV2_PLD_KE);
	old = f->p;
	old.dh = old.cdh = NULL;
	mine = f->p;		/* the peer's rekey, keyed below */
	mine.dh = NULL;
	f->p.cdh = NULL;	/* owned by mine now */
	assert_int_equal(ikp_rekey_ike_resp(&mine, &f->r), 0);
	/* then it answers ours */
	assert_int_equal(ikp_answer_ike_rekey(&f->p, &ours, NULL, f->req,
					      IKP_MSG_MAX, &f->req_len), 0);
	deliver(f, &old);
	/* the engine settles it (the DELETEs it sends are answered), then
	 * the SAs left to the peer's DELETE time out: one SA remains, with
	 * the tunnel, which was never removed. ESP keeps flowing meanwhile. */
	assert_int_equal(ike_get_stats(f->ctx)->rekey_collisions, 1);
	for (i = 0; i < 40; i++) {
		struct ike_peer *who[] = { &old, &f->p, &mine };
		const struct ikp_dgram *d;
		const uint8_t *msg;
		size_t len;
		unsigned k;

		while ((d = ikp_env_pop(&f->e, &msg, &len))) {
			for (k = 0; k < 3; k++)
				if (ikp_open(who[k], msg, len, &f->r) == 0)
					break;
			if (k == 3)
				fail_msg("engine message opens with none of the 3 SAs");
			assert_int_equal(f->r.h.exch, IKEV2_EXCH_INFORMATIONAL);
			assert_int_equal(ikp_answer_delete(who[k], &f->r, NULL, 0,
							   f->req, IKP_MSG_MAX,
							   &f->req_len), 0);
			deliver(f, who[k]);
		}
		f->e.rx_pkts++;
		advance(f, 1000);
	}
	assert_int_equal(f->e.n_removed, 0);
	{
		struct ike_sa sa = the_sa(f);

		assert_int_equal(sa.state, IKE_S_ESTABLISHED);
		assert_int_equal(ike_sa_tunnels(&sa), 1);
		assert_true(!memcmp(sa.spi_i, f->p.spi_i, IKE_SPI_LEN) ||
			    !memcmp(sa.spi_i, mine.spi_i, IKE_SPI_LEN));
	}
	ikp_free(&old);
	ikp_free(&mine);
}

/* ---- liveness (2.4) ----------------------------------------------------- */

static void test_dpd_dead_peer(void **state)
{
	struct fix *f = *state;
	const struct ike_cfg *cfg = ike_get_cfg(f->ctx);
	const struct ike_stats *st = ike_get_stats(f->ctx);
	uint8_t first[IKP_MSG_MAX + 4];
	size_t first_len = 0;
	uint64_t t0, last = 0, gap = 0;
	unsigned sends = 0, s;

	establish(f);
	t0 = f->e.now_ms;
	/* silence: nothing until dpd-delay */
	for (s = 0; s < cfg->dpd_delay - 1; s++)
		advance(f, 1000);
	assert_int_equal(ikp_env_pending(&f->e), 0);
	/* then an empty INFORMATIONAL, retransmitted byte for byte with a
	 * growing wait, until dpd-timeout */
	while (ikp_sa_count(f->ctx) && f->e.now_ms - t0 < 1000ull * 600) {
		const struct ikp_dgram *d;
		const uint8_t *msg;
		size_t len;

		advance(f, 500);
		while ((d = ikp_env_pop(&f->e, &msg, &len))) {
			if (!sends++) {
				memcpy(first, d->buf, d->len);
				first_len = d->len;
				assert_int_equal(ikp_open(&f->p, msg, len, &f->r), 0);
				assert_int_equal(f->r.h.exch, IKEV2_EXCH_INFORMATIONAL);
				assert_int_equal(f->r.m.n, 0);
			} else {
				assert_int_equal(d->len, first_len);
				assert_memory_equal(d->buf, first, first_len);
				assert_true(f->e.now_ms - last >= gap);
				gap = f->e.now_ms - last;
			}
			last = f->e.now_ms;
		}
	}
	assert_int_equal(ikp_sa_count(f->ctx), 0);
	assert_true(sends >= 5);
	/* dead after dpd-delay + dpd-timeout, not much later */
	assert_true(f->e.now_ms - t0 <= 1000ull * (cfg->dpd_delay + cfg->dpd_timeout) + 2000);
	assert_true(f->e.now_ms - t0 >= 1000ull * (cfg->dpd_delay + cfg->dpd_timeout) - 2000);
	assert_int_equal(st->dpd_dead, 1);
	assert_int_equal(st->req_timeouts, 1);
	assert_int_equal(f->e.n_removed, 1);	/* its Child SA went too */
}

/* Inbound ESP (the counter) keeps the SA alive with no IKE at all; a
 * liveness check answered keeps it too. */
static void test_dpd_traffic(void **state)
{
	struct fix *f = *state;
	const struct ike_stats *st = ike_get_stats(f->ctx);
	unsigned s;

	establish(f);
	for (s = 0; s < 300; s++) {
		f->e.rx_pkts += 3;
		advance(f, 1000);
	}
	assert_int_equal(ikp_env_pending(&f->e), 0);
	assert_int_equal(st->dpd_sent, 0);
	/* traffic stops: one check after dpd-delay, answered */
	for (s = 0; s < 31 && !ikp_env_pending(&f->e); s++)
		advance(f, 1000);
	assert_int_equal(st->dpd_sent, 1);
	take(f, &f->p, &f->r);
	assert_int_equal(ikp_answer_notify(&f->p, &f->r, 0, f->req, IKP_MSG_MAX,
					   &f->req_len), 0);
	deliver(f, &f->p);
	for (s = 0; s < 20; s++)
		advance(f, 1000);
	assert_int_equal(ikp_env_pending(&f->e), 0);
	assert_int_equal(the_sa(f).state, IKE_S_ESTABLISHED);
	assert_int_equal(st->dpd_dead, 0);
}

/* The IKE SA's hard lifetime ends while the peer owes us an answer to a
 * liveness check: the DELETE that follows does not give it dpd-timeout
 * again (t_50_lifecycle e: dead after 46 s instead of 25); the peer is
 * dead when the liveness check would have said so, and counted so. */
static void test_dpd_at_hard_expiry(void **state)
{
	struct fix *f = *state;
	struct ike_cfg cfg = IKE_CFG_DEFAULT;
	const struct ike_stats *st;
	uint64_t t0, quiet;
	unsigned s;

	ike_ctx_free(f->ctx, true);
	cfg.ike_lifetime = 40;
	cfg.child_lifetime = 1000;
	cfg.dpd_delay = 5;
	cfg.dpd_timeout = 20;
	assert_int_equal(ike_ctx_new(&f->ctx, &f->env, &cfg), 0);
	st = ike_get_stats(f->ctx);
	establish(f);
	t0 = f->e.now_ms;
	/* traffic for 25 s, then none: the check starts at ~30 s and would
	 * give up at ~50 s; the lifetime ends at ~40 s */
	for (s = 0; s < 25; s++) {
		f->e.rx_pkts += 3;
		advance(f, 1000);
		ikp_env_flush(&f->e);
	}
	quiet = f->e.now_ms;
	while (ikp_sa_count(f->ctx) && f->e.now_ms - t0 < 120000) {
		advance(f, 250);
		ikp_env_flush(&f->e);	/* the peer is gone: nothing answered */
	}
	assert_int_equal(ikp_sa_count(f->ctx), 0);
	if (f->e.now_ms - quiet > 1000ull * (cfg.dpd_delay + cfg.dpd_timeout) + 2000)
		fail_msg("dead %llu ms after the last packet, want <= %u",
			 (unsigned long long)(f->e.now_ms - quiet),
			 1000 * (cfg.dpd_delay + cfg.dpd_timeout) + 2000);
	assert_int_equal(st->expired, 1);	/* the lifetime did end first */
	assert_int_equal(st->dpd_dead, 1);
}

/* ---- expiry --------------------------------------------------------------- */

/* The kernel's hard expiry: the Child SA goes now, the peer gets DELETE. */
static void test_child_hard_expiry(void **state)
{
	struct fix *f = *state;
	uint32_t in, spis[4];

	establish(f);
	in = f->e.inst[0].c.spi_in;
	assert_int_equal(ike_child_expire(f->ctx, f->e.inst[0].c.spi_out, true), 0);
	assert_int_equal(f->e.n_removed, 1);
	assert_int_equal(f->e.removed[0].spi_in, in);
	take(f, &f->p, &f->r);
	assert_int_equal(deleted_spis(&f->r, spis), 1);
	assert_int_equal(spis[0], ntohl(in));
	/* the peer's answer deletes nothing more */
	assert_int_equal(ikp_answer_delete(&f->p, &f->r, (uint32_t[]){ ESP_SPI_I },
					   1, f->req, IKP_MSG_MAX, &f->req_len), 0);
	deliver(f, &f->p);
	assert_int_equal(f->e.n_removed, 1);
	assert_int_equal(children(f, 0), 0);
}

/* The IKE SA's own lifetimes: we rekey it at the soft one (85-90%), and a
 * Child SA of ours at its soft one, with no kernel event at all. */
static void test_lifetimes(void **state)
{
	struct fix *f = *state;
	struct ike_cfg cfg = IKE_CFG_DEFAULT;
	uint64_t t0, child_t0;
	unsigned child_rekeys = 0;
	bool ike_rekey = false;

	ike_ctx_free(f->ctx, true);
	cfg.ike_lifetime = 100;
	cfg.child_lifetime = 40;
	cfg.dpd_delay = 1000;
	assert_int_equal(ike_ctx_new(&f->ctx, &f->env, &cfg), 0);
	establish(f);
	t0 = child_t0 = f->e.now_ms;
	while (f->e.now_ms - t0 < 100000 && !ike_rekey) {
		advance(f, 250);
		if (!ikp_env_pending(&f->e))
			continue;
		take(f, &f->p, &f->r);
		assert_int_equal(f->r.h.exch, IKEV2_EXCH_CREATE_CHILD_SA);
		if (ikev2_msg_find(&f->r.m, IKEV2_PLD_KE, 0) >= 0 &&
		    ikev2_msg_find(&f->r.m, IKEV2_PLD_TSI, 0) < 0) {
			uint64_t at = f->e.now_ms - t0;

			/* IKE: between 85% and 90% of 100 s */
			if (at < 84500 || at > 90500)
				fail_msg("IKE SA rekey at %llu ms, want 85000-90000",
					 (unsigned long long)at);
			ike_rekey = true;
			break;
		}
		{
			uint64_t at = f->e.now_ms - child_t0;
			struct ikp_child c;
			uint32_t rk;

			/* Child: between 80% and 85% of 40 s */
			if (at < 31500 || at > 34500)
				fail_msg("Child SA rekey at %llu ms, want 32000-34000",
					 (unsigned long long)at);
			child_t0 = f->e.now_ms;
			assert_int_equal(ikp_answer_child(&f->p, &f->r,
							  0x7b000001u + child_rekeys,
							  &c, &rk, f->req,
							  IKP_MSG_MAX, &f->req_len), 0);
			deliver(f, &f->p);
			take(f, &f->p, &f->r);	/* DELETE of the old one */
			assert_int_equal(ikp_answer_delete(&f->p, &f->r,
							   (uint32_t[]){ child_rekeys ?
									 0x7b000000u + child_rekeys :
									 ESP_SPI_I }, 1,
							   f->req, IKP_MSG_MAX,
							   &f->req_len), 0);
			deliver(f, &f->p);
			child_rekeys++;
			assert_int_equal(children(f, 0), 1);
		}
	}
	/* 100 s of a 40 s Child SA rekeyed at 80-85%: twice */
	assert_int_equal(child_rekeys, 2);
	assert_true(ike_rekey);
}

/* ---- one IKE SA per site, INITIAL_CONTACT (3.10.1) ------------------------ */

/* The branch rebooted: a new IKE SA with INITIAL_CONTACT from the same
 * address replaces the old one at once. */
static void test_initial_contact(void **state)
{
	struct fix *f = *state;
	const struct ike_stats *st = ike_get_stats(f->ctx);
	uint32_t old_in;

	establish(f);
	old_in = f->e.inst[0].c.spi_in;
	peer_reset(f, SITE_IP);
	f->a.initial_contact = true;
	f->a.esp[0].spi = ESP_SPI_I + 100;
	establish(f);
	assert_int_equal(ikp_sa_count(f->ctx), 1);
	assert_true(the_sa(f).initial_contact);
	assert_int_equal(st->replaced, 1);
	assert_int_equal(f->e.n_removed, 1);
	assert_int_equal(f->e.removed[0].spi_in, old_in);
	assert_int_equal(f->e.n_inst, 2);
	/* one IKE SA: no DELETE to the same peer, which has forgotten it */
	assert_int_equal(ikp_env_pending(&f->e), 0);
}

/* Without INITIAL_CONTACT, from another port (the NAT moved): replaced
 * once the new Child SA is in, and the old peer address is told. */
static void test_replace_without_ic(void **state)
{
	struct fix *f = *state;
	struct ike_peer first;
	const struct ikp_dgram *d;
	const uint8_t *msg;
	size_t len;
	unsigned n, to_old = 0, to_new = 0;

	establish(f);
	first = f->p;
	first.dh = first.cdh = NULL;	/* f->p's, freed by peer_reset() */
	peer_reset(f, SITE_IP);
	f->p.port = 1500;
	f->p.natt_port = 1501;
	f->a.esp[0].spi = ESP_SPI_I + 100;
	assert_int_equal(run_init(f), 0);
	assert_int_equal(ikp_auth_req(&f->p, &f->a, f->req, IKP_MSG_MAX,
				      &f->req_len), 0);
	deliver(f, &f->p);
	for (n = 0; (d = ikp_env_pop(&f->e, &msg, &len)); n++) {
		if (d->port == first.natt_port) {
			assert_int_equal(ikp_open(&first, msg, len, &f->r), 0);
			ASSERT_TYPES(&f->r.m, IKEV2_PLD_DELETE);
			to_old++;
		} else {
			assert_int_equal(d->port, f->p.natt_port);
			assert_int_equal(ikp_open(&f->p, msg, len, &f->r), 0);
			assert_int_equal(ikp_auth_resp(&f->p, &f->a, &f->r, &f->c), 0);
			to_new++;
		}
	}
	assert_int_equal(to_new, 1);
	assert_int_equal(to_old, 1);
	assert_int_equal(ikp_sa_count(f->ctx), 1);
	assert_int_equal(f->e.n_removed, 1);
	ikp_free(&first);
}

/* ---- NAT rebinding (issue 8.7) ------------------------------------------- */

static void test_nat_rebinding(void **state)
{
	struct fix *f = *state;
	const struct ike_stats *st = ike_get_stats(f->ctx);

	establish(f);
	assert_int_equal(f->e.n_moved, 0);
	f->p.natt_port = 31337;		/* the branch NAT's new mapping */
	assert_int_equal(run_info(f, NULL, 0, false), 0);	/* answered there */
	assert_int_equal(f->e.n_moved, 1);
	assert_int_equal(f->e.moved_port, 31337);
	assert_int_equal(st->nat_moves, 1);
	assert_int_equal(the_sa(f).peer_port, 31337);
	/* ESP seen from another port first (XFRM_MSG_MAPPING) */
	assert_int_equal(ike_child_mapping(f->ctx, f->e.inst[0].c.spi_in,
					   f->p.addr, 40000), 0);
	assert_int_equal(f->e.n_moved, 2);
	assert_int_equal(f->e.moved_port, 40000);
	assert_int_equal(ike_child_mapping(f->ctx, htonl(0x99), f->p.addr, 1), -ENOENT);
}

/* ---- 2.21: every authenticated request is answered ------------------------ */

static void test_auth_on_established(void **state)
{
	struct fix *f = *state;
	unsigned inst;

	establish(f);
	inst = f->e.n_inst;
	/* a second IKE_AUTH on the same SA (a confused or hostile peer) */
	assert_int_equal(ikp_auth_req(&f->p, &f->a, f->req, IKP_MSG_MAX,
				      &f->req_len), 0);
	deliver(f, &f->p);
	take(f, &f->p, &f->r);
	assert_int_equal(f->r.h.exch, IKEV2_EXCH_IKE_AUTH);
	ASSERT_TYPES(&f->r.m, IKEV2_PLD_NOTIFY);
	assert_notify(&f->r.m.pld[0], IKEV2_N_INVALID_SYNTAX, NULL, 0);
	assert_int_equal(f->e.n_inst, inst);
	assert_int_equal(the_sa(f).state, IKE_S_ESTABLISHED);
}

/* A CREATE_CHILD_SA that is malformed after a valid ICV: INVALID_SYNTAX,
 * nothing installed. */
static void bad_create_child(struct fix *f, bool dup_nonce, bool ts)
{
	uint8_t inner[512], sa[256], nonce[32] = { 9 };
	struct ikp_prop esp;
	struct ikev2_buf b;

	establish(f);
	ikp_prop_esp(&esp, ESP_SPI_I + 5, IKE_ENCR_AES_GCM_16, 256, 0);
	ikev2_build_inner(&b, inner, sizeof(inner));
	ikev2_put_raw(&b, IKEV2_PLD_SA, sa, ikp_sa_body(sa, &esp, 1));
	ikev2_put_nonce(&b, nonce, sizeof(nonce));
	if (dup_nonce)
		ikev2_put_nonce(&b, nonce, sizeof(nonce));
	if (ts) {
		ikev2_put_ts(&b, IKEV2_PLD_TSI, f->a.tsi, 1);
		ikev2_put_ts(&b, IKEV2_PLD_TSR, f->a.tsr, 1);
	}
	assert_int_equal(ikp_seal(&f->p, IKEV2_EXCH_CREATE_CHILD_SA, f->p.msgid++,
				  false, &b, f->req, IKP_MSG_MAX, &f->req_len), 0);
	deliver(f, &f->p);
	take(f, &f->p, &f->r);
	ASSERT_TYPES(&f->r.m, IKEV2_PLD_NOTIFY);
	assert_notify(&f->r.m.pld[0], IKEV2_N_INVALID_SYNTAX, NULL, 0);
	assert_int_equal(f->e.n_inst, 1);
}

/* CREATE_CHILD_SA without TSi/TSr (2.21). */
static void test_child_without_ts(void **state)
{
	bad_create_child(*state, false, false);
}

/* Duplicate Nonce payloads. */
static void test_duplicate_payload(void **state)
{
	bad_create_child(*state, true, true);
}

/* The PSK is read for IKE_AUTH only, never at IKE_SA_INIT. */
static void test_psk_read_at_auth_only(void **state)
{
	struct fix *f = *state;

	assert_int_equal(run_init(f), 0);
	assert_int_equal(f->e.n_psk_reads, 0);
	assert_int_equal(run_auth(f, true), 0);
	assert_int_equal(f->e.n_psk_reads, 1);
}

/* ---- restart without outage (issue 9.6) ---------------------------------- */

/* The store, as the engine sees it through env->sa_save. */
#define REC_SLOTS	4
static struct {
	uint8_t spi[REC_SLOTS][IKE_SPI_LEN];
	uint8_t rec[REC_SLOTS][IKE_PERSIST_MAX];
	size_t len[REC_SLOTS];
	unsigned saves, forgets, batches;
	int adopt_err;			/* child_adopt says the kernel lost it */
	unsigned adopted;
} db;

static int db_save(void *arg, const uint8_t spi[IKE_SPI_LEN], int64_t site_id,
		   const uint8_t *rec, size_t len)
{
	unsigned i, free_slot = REC_SLOTS;

	(void)arg;
	assert_int_equal(site_id, SITE_ID);
	for (i = 0; i < REC_SLOTS; i++) {
		if (db.len[i] && !memcmp(db.spi[i], spi, IKE_SPI_LEN))
			break;
		if (!db.len[i] && free_slot == REC_SLOTS)
			free_slot = i;
	}
	if (!rec) {
		db.forgets++;
		if (i < REC_SLOTS)
			db.len[i] = 0;
		return 0;
	}
	if (i == REC_SLOTS)
		i = free_slot;
	assert_true(i < REC_SLOTS);
	assert_true(len > 0 && len <= IKE_PERSIST_MAX);
	memcpy(db.spi[i], spi, IKE_SPI_LEN);
	memcpy(db.rec[i], rec, len);
	db.len[i] = len;
	db.saves++;
	return 0;
}

static void db_batch(void *arg, bool begin)
{
	(void)arg;
	db.batches += begin;
}

static int db_adopt(void *arg, const struct ike_sa *sa, const struct ike_child *c)
{
	(void)arg;
	(void)sa;
	(void)c;
	if (db.adopt_err)
		return db.adopt_err;
	db.adopted++;
	return 0;
}

static unsigned db_count(void)
{
	unsigned i, n = 0;

	for (i = 0; i < REC_SLOTS; i++)
		n += db.len[i] != 0;
	return n;
}

static void drain(struct fix *f)
{
	const uint8_t *msg;
	size_t len;

	while (ikp_env_pop(&f->e, &msg, &len))
		;
}

/* A new engine with persistence on (the fixture's has it off). */
static void persist_on(struct fix *f)
{
	memset(&db, 0, sizeof(db));
	ike_ctx_free(f->ctx, true);
	f->env.sa_save = db_save;
	f->env.save_batch = db_batch;
	f->env.child_adopt = db_adopt;
	assert_int_equal(ike_ctx_new(&f->ctx, &f->env, NULL), 0);
}

/* Stop keeping the tunnels, start again, resume what was saved (after
 * down_ms). Returns how many SAs came back. */
static unsigned restart(struct fix *f, uint64_t down_ms)
{
	unsigned i, n = 0, removed = f->e.n_removed, sent = f->e.n_sent;

	ike_ctx_free(f->ctx, false);
	/* a restart says nothing to the peer, removes nothing */
	assert_int_equal(f->e.n_sent, sent);
	assert_int_equal(f->e.n_removed, removed);
	assert_int_equal(ike_ctx_new(&f->ctx, &f->env, NULL), 0);
	f->e.now_ms += down_ms;
	for (i = 0; i < REC_SLOTS; i++)
		if (db.len[i] && !ike_resume(f->ctx, db.rec[i], db.len[i], down_ms))
			n++;
	return n;
}

/* SIGTERM and start: the peer's next DPD, retransmit and rekey are
 * answered as if nothing happened, with the same keys and message IDs. */
static void test_restart_resumes(void **state)
{
	struct fix *f = *state;
	const struct ike_stats *st;
	unsigned i;
	uint8_t last[IKP_MSG_MAX + 4];
	struct ike_sa before, after;
	size_t req_len;

	persist_on(f);
	establish(f);
	assert_int_equal(run_info(f, NULL, 0, false), 0);	/* a DPD, answered */
	memcpy(last, f->req, f->req_len);
	req_len = f->req_len;
	advance(f, 1000);
	assert_int_equal(db_count(), 1);
	assert_true(db.batches >= 1);
	before = the_sa(f);

	assert_int_equal(restart(f, 2000), 1);
	st = ike_get_stats(f->ctx);
	assert_int_equal(st->resumed, 1);
	assert_int_equal(db.adopted, 1);
	after = the_sa(f);
	assert_int_equal(after.state, IKE_S_ESTABLISHED);
	assert_memory_equal(after.spi_i, before.spi_i, IKE_SPI_LEN);
	assert_memory_equal(after.spi_r, before.spi_r, IKE_SPI_LEN);
	assert_int_equal(after.next_msgid, before.next_msgid);
	assert_int_equal(after.our_msgid, before.our_msgid);
	assert_int_equal(after.peer_port, before.peer_port);
	assert_int_equal(ike_sa_tunnels(&after), 1);
	assert_true(has_child(f, f->e.inst[0].c.spi_in));
	/* the peer retransmits its last request: the same answer again */
	memcpy(f->req, last, req_len);
	f->req_len = req_len;
	deliver(f, &f->p);
	take(f, &f->p, &f->r);
	assert_int_equal(f->r.h.flags, IKEV2_FLAG_RESPONSE);
	assert_int_equal(f->r.h.msgid, f->p.msgid - 1);
	/* its next DPD is answered with the next message ID */
	assert_int_equal(run_info(f, NULL, 0, false), 0);
	/* a Child SA rekey works: SK_d survived */
	create_child(f, ESP_SPI_I + 5, (uint32_t[]){ ESP_SPI_I }, false);
	ASSERT_TYPES(&f->r.m, IKEV2_PLD_SA, IKEV2_PLD_NONCE, IKEV2_PLD_TSI,
		     IKEV2_PLD_TSR);
	assert_int_equal(f->e.n_inst, 2);
	assert_int_equal(f->e.inst[1].c.spi_out, htonl(ESP_SPI_I + 5));
	assert_int_equal(f->e.inst[1].c.reqid, f->e.inst[0].c.reqid);
	/* and an IKE SA rekey: the new SA is saved, the old one forgotten */
	assert_int_equal(ikp_rekey_ike_req(&f->p, f->req, IKP_MSG_MAX, &f->req_len), 0);
	{
		struct ike_peer old;

		deliver(f, &f->p);
		take(f, &f->p, &f->r);
		old = f->p;
		old.dh = old.cdh = NULL;
		assert_int_equal(ikp_rekey_ike_resp(&f->p, &f->r), 0);
		assert_int_equal(ikp_info_req(&old, NULL, 0, true, f->req, IKP_MSG_MAX,
					      &f->req_len), 0);
		deliver(f, &old);
		take(f, &old, &f->r);
		ikp_free(&old);
	}
	advance(f, 1000);
	assert_int_equal(db_count(), 1);
	assert_int_equal(ike_get_stats(f->ctx)->ike_rekeys, 1);
	for (i = 0; i < REC_SLOTS && !db.len[i]; i++)
		;
	assert_true(i < REC_SLOTS);
	assert_memory_equal(db.spi[i], f->p.spi_r, IKE_SPI_LEN);
}

/* A restart between the peer's rekey and its DELETE of the old SA: the
 * held outbound keys are saved and go in, the same, when the DELETE
 * comes to the new daemon. */
static void test_restart_out_held(void **state)
{
	struct fix *f = *state;

	persist_on(f);
	establish(f);
	peer_rekey(f, ESP_SPI_I + 1, ESP_SPI_I, 0x40);
	advance(f, 1000);
	assert_int_equal(restart(f, 500), 1);
	assert_int_equal(db.adopted, 2);
	assert_int_equal(f->e.n_out_late, 0);
	assert_int_equal(run_info(f, (uint32_t[]){ ESP_SPI_I }, 1, false), 0);
	/* ikp_env_install refuses keys other than those it was made with */
	assert_int_equal(f->e.n_out_late, 1);
	assert_int_equal(f->e.inst[1].dirs, IKE_DIR_IN | IKE_DIR_OUT);
	assert_int_equal(children(f, CHILD_S_INSTALLED), 1);
}

/* The kernel lost a Child SA while we were down: it is dropped and the
 * peer told with DELETE; the IKE SA stays. */
static void test_restart_kernel_lost(void **state)
{
	struct fix *f = *state;
	uint32_t spis[4];

	persist_on(f);
	establish(f);
	advance(f, 1000);
	db.adopt_err = -ENOENT;
	assert_int_equal(restart(f, 500), 1);
	assert_int_equal(children(f, 0), 0);
	take(f, &f->p, &f->r);
	assert_int_equal(deleted_spis(&f->r, spis), 1);
	assert_int_equal(spis[0], ntohl(f->e.inst[0].c.spi_in));
}

/* Lifetimes count the downtime: a Child SA whose soft lifetime passed
 * while we were down is rekeyed at once; an IKE SA past its hard one is
 * deleted at the first tick. */
static void test_restart_downtime(void **state)
{
	struct fix *f = *state;
	struct ike_cfg cfg;

	persist_on(f);
	cfg = *ike_get_cfg(f->ctx);	/* restart() frees the engine */
	establish(f);
	advance(f, 1000);
	assert_int_equal(restart(f, 1000ull * cfg.child_lifetime * 86 / 100), 1);
	advance(f, 1000);
	take(f, &f->p, &f->r);
	assert_int_equal(f->r.h.exch, IKEV2_EXCH_CREATE_CHILD_SA);
	assert_int_equal(children(f, CHILD_S_REKEYING), 1);

	/* down longer than the IKE SA lives */
	assert_int_equal(restart(f, 1000ull * cfg.ike_lifetime), 1);
	advance(f, 1000);
	take(f, &f->p, &f->r);
	assert_int_equal(f->r.h.exch, IKEV2_EXCH_INFORMATIONAL);
	ASSERT_TYPES(&f->r.m, IKEV2_PLD_DELETE);
}

/* Records that are cut, bent or too long resume nothing and crash
 * nothing; a site that went while we were down takes its SA with it. */
static void test_resume_bad_records(void **state)
{
	struct fix *f = *state;
	uint8_t rec[IKE_PERSIST_MAX + 1];
	size_t len, cut;
	unsigned i;

	persist_on(f);
	establish(f);
	advance(f, 1000);
	len = db.len[0];
	assert_true(len > 100);
	memcpy(rec, db.rec[0], len);
	ike_ctx_free(f->ctx, false);
	assert_int_equal(ike_ctx_new(&f->ctx, &f->env, NULL), 0);
	for (cut = 0; cut < len; cut++)
		assert_int_equal(ike_resume(f->ctx, rec, cut, 0), -EINVAL);
	rec[len] = 0;
	assert_int_equal(ike_resume(f->ctx, rec, len + 1, 0), -EINVAL);
	assert_int_equal(ike_resume(f->ctx, rec, IKE_PERSIST_MAX + 1, 0), -EINVAL);
	rec[0] ^= 1;
	assert_int_equal(ike_resume(f->ctx, rec, len, 0), -EINVAL);
	rec[0] ^= 1;
	/* every single byte changed: either refused or a consistent SA */
	for (i = 0; i < len; i++) {
		rec[i] ^= 0xff;
		if (!ike_resume(f->ctx, rec, len, 0)) {
			ike_ctx_free(f->ctx, true);
			drain(f);
			assert_int_equal(ike_ctx_new(&f->ctx, &f->env, NULL), 0);
		}
		rec[i] ^= 0xff;
	}
	assert_int_equal(ikp_sa_count(f->ctx), 0);
	/* the site is gone */
	f->e.sites[0].source_ip = ikp_ip(STRANGER_IP);
	assert_int_equal(ike_resume(f->ctx, rec, len, 0), -ENOENT);
	f->e.sites[0].source_ip = ikp_ip(SITE_IP);
	assert_int_equal(ike_resume(f->ctx, rec, len, 0), 0);
	/* and the same SA twice is one SA */
	assert_int_equal(ike_resume(f->ctx, rec, len, 0), -EEXIST);
	assert_int_equal(ikp_sa_count(f->ctx), 1);
}

/* A full teardown (or the SA dying) forgets its record. */
static void test_teardown_forgets(void **state)
{
	struct fix *f = *state;

	persist_on(f);
	establish(f);
	advance(f, 1000);
	assert_int_equal(db_count(), 1);
	ike_ctx_free(f->ctx, true);
	assert_int_equal(db_count(), 0);
	drain(f);
	assert_int_equal(ike_ctx_new(&f->ctx, &f->env, NULL), 0);
	peer_reset(f, SITE_IP);
	establish(f);
	advance(f, 1000);
	assert_int_equal(db_count(), 1);
	assert_int_equal(run_info(f, NULL, 0, true), 0);	/* the peer deletes it */
	assert_int_equal(db_count(), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rekey_at_cap),
		T(test_our_child_rekey),
		T(test_collision_peer_redundant),
		T(test_collision_either),
		T(test_delete_races_rekey),
		T(test_rekey_out_waits),
		T(test_rekey_out_at_expiry),
		T(test_rekey_out_never),
		T(test_ike_rekey_by_peer),
		T(test_ike_rekey_ours),
		T(test_ike_rekey_collision),
		T(test_dpd_dead_peer),
		T(test_dpd_traffic),
		T(test_dpd_at_hard_expiry),
		T(test_child_hard_expiry),
		T(test_lifetimes),
		T(test_initial_contact),
		T(test_replace_without_ic),
		T(test_nat_rebinding),
		T(test_auth_on_established),
		T(test_child_without_ts),
		T(test_duplicate_payload),
		T(test_psk_read_at_auth_only),
		T(test_restart_resumes),
		T(test_restart_out_held),
		T(test_restart_kernel_lost),
		T(test_restart_downtime),
		T(test_resume_bad_records),
		T(test_teardown_forgets),
	};

	eg_log_level = getenv("IKE_TEST_LOG") ? EG_LOG_DEBUG : EG_LOG_ERR;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
