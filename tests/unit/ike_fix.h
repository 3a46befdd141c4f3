/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ike_fix.h - the fixture shared by the in-process IKE tests (test_ike.c,
 * test_ike_life.c): an engine (user/ike*.c) with three sites behind the
 * host double of ike_peer.h, one initiator, and the exchanges run whole.
 *
 *   initiator (ike_peer)                          responder (ike_ctx)
 *   10.1.0.1:500 --NAT--> 198.51.100.7:500  --->  203.0.113.1:500
 *                         198.51.100.7:4500 --->  203.0.113.1:4500
 *   site 7 "branch1", IDi FQDN branch1.example.com, 20-byte PSK
 *
 * Header-only, included once per test program.
 */
#ifndef EG_IKE_FIX_H
#define EG_IKE_FIX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "ike.h"
#include "log.h"
#include "ike_peer.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Table rows give only the fields they use. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define LOCAL_IP	"203.0.113.1"
#define SITE_IP		"198.51.100.7"
#define SITE_ID		7
#define SITE_FQDN	"branch1.example.com"
#define SITE2_IP	"198.51.100.8"
#define SITE2_EMAIL	"ops@branch2.example.com"
#define SITE3_IP	"198.51.100.9"	/* disabled */
#define STRANGER_IP	"192.0.2.66"
#define ESP_SPI_I	0xc1c2c3c4u	/* the initiator's inbound ESP SPI */

/* IANA values the product does not implement. */
#define ENCR_3DES		3
#define PRF_HMAC_MD5		1
#define AUTH_HMAC_MD5_96	1
#define DH_MODP1024		2

static const uint8_t psk[20] = {
	0x6b, 0x3a, 0x91, 0x0e, 0x27, 0xd4, 0x58, 0xc2, 0x1f, 0x86,
	0xaa, 0x40, 0x13, 0x7c, 0xe9, 0x05, 0x62, 0xbd, 0x34, 0xf8,
};
static const uint8_t psk2[20] = "branch2-psk-20-bytes";

struct fix {
	struct ikp_env e;
	struct ike_env env;
	struct ike_ctx *ctx;
	struct ike_peer p;
	struct ikp_auth a;
	uint8_t req[IKP_MSG_MAX + 4], rsp[IKP_MSG_MAX + 4];
	size_t req_len, rsp_len;
	struct ikp_msg r;		/* the last encrypted answer, opened */
	struct ikp_child c;		/* the Child SA it set up */
};

/* ---- fixture ---------------------------------------------------------- */

static inline void auth_default(struct ikp_auth *a)
{
	ikp_auth_fqdn(a, SITE_FQDN, psk, sizeof(psk), ESP_SPI_I);
}

static inline void peer_reset(struct fix *f, const char *from)
{
	ikp_free(&f->p);
	assert_int_equal(ikp_new(&f->p, ikp_ip(from), ikp_ip(LOCAL_IP)), 0);
	auth_default(&f->a);
}

static inline int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct eg_site_rec *s;

	if (!f)
		return -1;
	ikp_env_init(&f->e, &f->env, ikp_ip(LOCAL_IP));
	ikp_env_add_site(&f->e, SITE_ID, "branch1", SITE_IP, EG_ID_FQDN,
			 SITE_FQDN, psk, sizeof(psk));
	ikp_env_add_site(&f->e, 8, "branch2", SITE2_IP, EG_ID_EMAIL, SITE2_EMAIL,
			 psk2, sizeof(psk2));
	s = ikp_env_add_site(&f->e, 9, "branch3", SITE3_IP, EG_ID_FQDN,
			     "branch3.example.com", psk, sizeof(psk));
	s->enabled = false;
	if (ike_ctx_new(&f->ctx, &f->env, NULL) ||
	    ikp_new(&f->p, ikp_ip(SITE_IP), ikp_ip(LOCAL_IP))) {
		free(f);
		return -1;
	}
	auth_default(&f->a);
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fix *f = *state;

	ike_ctx_free(f->ctx, true);
	ikp_free(&f->p);
	free(f);
	return 0;
}

/* ---- helpers ---------------------------------------------------------- */

struct sa_snap {
	unsigned n;
	struct ike_sa sa;	/* a copy of the first one walked */
};

static inline void snap_cb(const struct ike_sa *sa, void *arg)
{
	struct sa_snap *s = arg;

	if (!s->n++)
		s->sa = *sa;
}

/* The one SA the responder has. */
static inline struct ike_sa the_sa(const struct fix *f)
{
	struct sa_snap s = { 0 };

	ike_foreach(f->ctx, snap_cb, &s);
	assert_int_equal(s.n, 1);
	return s.sa;
}

static inline void assert_types(const struct ikev2_msg *m, const uint8_t *want,
			 unsigned n)
{
	unsigned i;

	assert_int_equal(m->n, n);
	for (i = 0; i < n; i++)
		assert_int_equal(m->pld[i].type, want[i]);
}

#define ASSERT_TYPES(m, ...)                                           \
	do {                                                           \
		static const uint8_t w_[] = { __VA_ARGS__ };           \
		assert_types(m, w_, sizeof(w_));                       \
	} while (0)

static inline void assert_notify(const struct ikev2_payload *pl, uint16_t type,
			  const void *data, size_t len)
{
	struct ikev2_notify_pld n;

	assert_int_equal(pl->type, IKEV2_PLD_NOTIFY);
	assert_int_equal(ikev2_dec_notify(pl, &n), 0);
	assert_int_equal(n.type, type);
	assert_int_equal(n.proto, IKEV2_PROTO_NONE);
	assert_int_equal(n.spi_size, 0);
	assert_int_equal(n.len, len);
	if (len)
		assert_memory_equal(n.data, data, len);
}

/*
 * An unencrypted IKE_SA_INIT answer holding one notify (2.6, 1.2): our SPI
 * echoed, no responder SPI, R set, message ID 0, no state.
 */
static inline void assert_init_refusal(struct fix *f, uint16_t type, const void *data,
				size_t len)
{
	const struct ikp_dgram *d;
	const uint8_t *msg;
	struct ikev2_msghdr h;
	struct ikev2_msg m;
	size_t mlen;

	d = ikp_env_pop(&f->e, &msg, &mlen);
	assert_non_null(d);
	assert_int_equal(ikp_env_pending(&f->e), 0);
	assert_int_equal(d->lport, IKP_PORT);
	assert_int_equal(d->addr, f->p.addr);
	assert_int_equal(d->port, f->p.port);
	assert_int_equal(ikev2_parse_msg(msg, mlen, &h, &m), 0);
	assert_int_equal(h.exch, IKEV2_EXCH_IKE_SA_INIT);
	assert_int_equal(h.flags, IKEV2_FLAG_RESPONSE);
	assert_int_equal(h.msgid, 0);
	assert_true(h.ispi == ikp_be64(f->p.spi_i));
	assert_true(h.rspi == 0);
	ASSERT_TYPES(&m, IKEV2_PLD_NOTIFY);
	assert_notify(&m.pld[0], type, data, len);
	assert_int_equal(ikp_init_resp(&f->p, msg, mlen), type);
	assert_int_equal(ikp_sa_count(f->ctx), 0);
}

/* IKE_SA_INIT on 500: 0 once keyed, a notify type, -ENOMSG if no answer. */
static inline int run_init(struct fix *f)
{
	const struct ikp_dgram *d;
	const uint8_t *msg;
	size_t len;

	assert_int_equal(ikp_init_req(&f->p, f->req, sizeof(f->req), &f->req_len), 0);
	ikp_deliver(f->ctx, &f->p, false, f->req, f->req_len);
	d = ikp_env_pop(&f->e, &msg, &len);
	if (!d)
		return -ENOMSG;
	assert_int_equal(ikp_env_pending(&f->e), 0);
	assert_int_equal(d->lport, IKP_PORT);
	assert_int_equal(d->addr, f->p.addr);
	assert_int_equal(d->port, f->p.port);
	memcpy(f->rsp, msg, len);
	f->rsp_len = len;
	return ikp_init_resp(&f->p, msg, len);
}

/*
 * Open the one encrypted datagram the responder sent, which must go to the
 * peer on 4500 (with the marker) or 500. -ENOMSG if it sent nothing.
 */
static inline int take_sk(struct fix *f, bool natt)
{
	const struct ikp_dgram *d;
	const uint8_t *msg;
	size_t len;

	d = ikp_env_pop(&f->e, &msg, &len);
	if (!d)
		return -ENOMSG;
	assert_int_equal(ikp_env_pending(&f->e), 0);
	assert_int_equal(d->lport, natt ? IKP_NATT_PORT : IKP_PORT);
	assert_int_equal(d->addr, f->p.addr);
	assert_int_equal(d->port, natt ? f->p.natt_port : f->p.port);
	assert_non_null(msg);		/* the non-ESP marker was there */
	memcpy(f->rsp, d->buf, d->len);
	f->rsp_len = d->len;
	return ikp_open(&f->p, msg, len, &f->r);
}

/* IKE_AUTH: what ikp_auth_resp() says, or -ENOMSG if nothing came back. */
static inline int run_auth(struct fix *f, bool natt)
{
	int err;

	assert_int_equal(ikp_auth_req(&f->p, &f->a, f->req, IKP_MSG_MAX,
				      &f->req_len), 0);
	ikp_deliver(f->ctx, &f->p, natt, f->req, f->req_len);
	err = take_sk(f, natt);
	if (err)
		return err;
	assert_int_equal(f->r.h.exch, IKEV2_EXCH_IKE_AUTH);
	assert_int_equal(f->r.h.flags, IKEV2_FLAG_RESPONSE);
	assert_int_equal(f->r.h.msgid, f->p.msgid - 1);
	return ikp_auth_resp(&f->p, &f->a, &f->r, &f->c);
}

static inline void establish(struct fix *f)
{
	assert_int_equal(run_init(f), 0);
	assert_int_equal(run_auth(f, true), 0);
}

/* INFORMATIONAL on 4500; the answer opened into f->r. */
static inline int run_info(struct fix *f, const uint32_t *spis, unsigned n, bool ike)
{
	int err;

	assert_int_equal(ikp_info_req(&f->p, spis, n, ike, f->req, IKP_MSG_MAX,
				      &f->req_len), 0);
	ikp_deliver(f->ctx, &f->p, true, f->req, f->req_len);
	err = take_sk(f, true);
	if (err)
		return err;
	assert_int_equal(f->r.h.exch, IKEV2_EXCH_INFORMATIONAL);
	assert_int_equal(f->r.h.flags, IKEV2_FLAG_RESPONSE);
	assert_int_equal(f->r.h.msgid, f->p.msgid - 1);
	return 0;
}

/* The Child SA installed last matches what the initiator derived. */
static inline void assert_child_installed(const struct fix *f, unsigned idx)
{
	const struct ikp_install *in = &f->e.inst[idx];
	const struct ike_child_keys *k = &f->c.keys;

	assert_true(idx < f->e.n_inst);
	assert_int_equal(in->site_id, SITE_ID);
	assert_int_equal(in->c.spi_in, htonl(IKP_SPI_BASE + idx));
	assert_int_equal(in->c.spi_out, htonl(f->a.esp[0].spi));
	assert_int_equal(f->c.spi_r, IKP_SPI_BASE + idx);
	assert_int_equal(in->c.prop.encr, f->c.ch.encr);
	assert_int_equal(in->c.prop.encr_keylen, f->c.ch.encr_keylen);
	assert_int_equal(in->c.prop.integ, f->c.ch.integ);
	/* KEYMAT: ENCR(i->r) | INTEG(i->r) | ENCR(r->i) | INTEG(r->i) */
	assert_int_equal(in->keys.encr_len, k->encr_len);
	assert_int_equal(in->keys.integ_len, k->integ_len);
	assert_memory_equal(in->keys.encr_i, k->encr_i, k->encr_len);
	assert_memory_equal(in->keys.integ_i, k->integ_i, k->integ_len);
	assert_memory_equal(in->keys.encr_r, k->encr_r, k->encr_len);
	assert_memory_equal(in->keys.integ_r, k->integ_r, k->integ_len);
	if (k->encr_len)
		assert_memory_not_equal(k->encr_i, k->encr_r, k->encr_len);
}


/* CREATE_CHILD_SA of the peer's without PFS, built by hand: new (rekey
 * NULL) or the rekey of the peer's inbound SPI *rekey; ike: an IKE
 * proposal in its place; nonce: 32 bytes of Ni. The answer is opened into
 * f->r. */
static inline void create_child_nonce(struct fix *f, uint32_t spi,
				      const uint32_t *rekey, bool ike,
				      const uint8_t nonce[32])
{
	uint8_t inner[512], sa[256];
	struct ikp_prop esp;
	struct ikev2_buf b;

	ikp_prop_esp(&esp, spi, IKE_ENCR_AES_GCM_16, 256, 0);
	if (ike)
		esp.proto = IKEV2_PROTO_IKE;
	ikev2_build_inner(&b, inner, sizeof(inner));
	if (rekey)
		ikev2_put_notify(&b, IKEV2_PROTO_ESP, 4, *rekey, IKEV2_N_REKEY_SA,
				 NULL, 0);
	ikev2_put_raw(&b, IKEV2_PLD_SA, sa, ikp_sa_body(sa, &esp, 1));
	ikev2_put_nonce(&b, nonce, 32);
	ikev2_put_ts(&b, IKEV2_PLD_TSI, f->a.tsi, 1);
	ikev2_put_ts(&b, IKEV2_PLD_TSR, f->a.tsr, 1);
	assert_int_equal(ikp_seal(&f->p, IKEV2_EXCH_CREATE_CHILD_SA, f->p.msgid++,
				  false, &b, f->req, IKP_MSG_MAX, &f->req_len), 0);
	ikp_deliver(f->ctx, &f->p, true, f->req, f->req_len);
	assert_int_equal(take_sk(f, true), 0);
	assert_int_equal(f->r.h.exch, IKEV2_EXCH_CREATE_CHILD_SA);
}

static inline void create_child(struct fix *f, uint32_t spi,
				const uint32_t *rekey, bool ike)
{
	static const uint8_t nonce[32] = { 1, 2, 3 };

	create_child_nonce(f, spi, rekey, ike, nonce);
}

#endif /* EG_IKE_FIX_H */
