// SPDX-License-Identifier: GPL-2.0
/*
 * test_ikev2_prop.c - proposal selection for the IKE SA and ESP Child SAs.
 *
 * Every case is written as a table row of proposals; the row is encoded to
 * SA payload bytes, parsed and decoded by the codec, then selected, so the
 * whole path from the wire is exercised. The echoed SA is checked by
 * building it and parsing it back, and once against annotated bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "ikev2_pld.h"
#include "ikev2_prop.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Table rows give only the fields they check; the rest are zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* Transform IDs the product does not support (IANA registry values). */
#define ENCR_3DES		3
#define ENCR_AES_CTR		13
#define ENCR_AES_GCM_8		18
#define ENCR_AES_GCM_12		19
#define PRF_HMAC_MD5		1
#define PRF_AES128_XCBC		4
#define AUTH_HMAC_MD5_96	1
#define DH_MODP1024		2
#define DH_MODP1536		5
#define DH_ECP256		19
#define DH_CURVE25519		31
#define XF_ADDKE1		6	/* RFC 9370 additional key exchange 1 */

/* One transform: keylen -1 = no KEY_LENGTH; odd = add an unknown attr */
struct xd {
	uint8_t type;
	uint16_t id;
	int keylen;
	bool odd;
};

#define ENC(i, k)	{ IKEV2_XF_ENCR, i, k, false }
#define PRF(i)		{ IKEV2_XF_PRF, i, -1, false }
#define INT(i)		{ IKEV2_XF_INTEG, i, -1, false }
#define DH(i)		{ IKEV2_XF_DH, i, -1, false }
#define ESN(i)		{ IKEV2_XF_ESN, i, -1, false }
#define ENC_ODD(i, k)	{ IKEV2_XF_ENCR, i, k, true }
#define PRF_KL(i, k)	{ IKEV2_XF_PRF, i, k, false }

struct pd {
	uint8_t proto;
	uint8_t spi_size;
	uint64_t spi;
	unsigned n;
	struct xd xf[10];
};

/* The usual good IKE proposal, and the usual good ESP proposal. */
#define IKE_OK(dh)                                                          \
	{ IKEV2_PROTO_IKE, 0, 0, 4,                                         \
	  { ENC(IKE_ENCR_AES_CBC, 256), PRF(IKE_PRF_HMAC_SHA2_256),         \
	    INT(IKE_AUTH_HMAC_SHA2_256_128), DH(dh) } }

#define ESP_SPI		0xc1c2c3c4

/* Encode an SA payload (generic header included) of np proposals. */
static size_t enc_sa(uint8_t *out, const struct pd *p, unsigned np)
{
	size_t off = 4;

	for (unsigned i = 0; i < np; i++) {
		uint8_t *pr = out + off;
		size_t q = 8 + p[i].spi_size;

		pr[0] = i + 1 < np ? IKEV2_LAST_MORE_PROP : IKEV2_LAST_NONE;
		pr[1] = 0;
		pr[4] = (uint8_t)(i + 1);
		pr[5] = p[i].proto;
		pr[6] = p[i].spi_size;
		pr[7] = (uint8_t)p[i].n;
		for (unsigned k = 0; k < p[i].spi_size; k++)
			pr[8 + k] = (uint8_t)(p[i].spi >>
					      (8 * (p[i].spi_size - 1 - k)));
		for (unsigned t = 0; t < p[i].n; t++) {
			const struct xd *x = &p[i].xf[t];
			uint8_t *xf = pr + q;
			size_t tl = 8;

			xf[0] = t + 1 < p[i].n ? IKEV2_LAST_MORE_XFORM
					       : IKEV2_LAST_NONE;
			xf[1] = 0;
			xf[4] = x->type;
			xf[5] = 0;
			xf[6] = (uint8_t)(x->id >> 8);
			xf[7] = (uint8_t)x->id;
			if (x->keylen >= 0) {
				xf[tl] = 0x80;
				xf[tl + 1] = IKEV2_ATTR_KEY_LENGTH;
				xf[tl + 2] = (uint8_t)(x->keylen >> 8);
				xf[tl + 3] = (uint8_t)x->keylen;
				tl += 4;
			}
			if (x->odd) {
				xf[tl] = 0x80;
				xf[tl + 1] = 0x42;	/* unknown TV attribute */
				xf[tl + 2] = 0;
				xf[tl + 3] = 1;
				tl += 4;
			}
			xf[2] = (uint8_t)(tl >> 8);
			xf[3] = (uint8_t)tl;
			q += tl;
		}
		pr[2] = (uint8_t)(q >> 8);
		pr[3] = (uint8_t)q;
		off += q;
	}
	out[0] = IKEV2_PLD_NONE;
	out[1] = 0;
	out[2] = (uint8_t)(off >> 8);
	out[3] = (uint8_t)off;
	return off;
}

/* Encode, parse and decode; buf must outlive sa (SPIs point into it). */
static void mk_sa(uint8_t *buf, struct ikev2_sa *sa, const struct pd *p,
		  unsigned np)
{
	struct ikev2_msg m;
	size_t len = enc_sa(buf, p, np);

	assert_int_equal(ikev2_parse_chain(IKEV2_PLD_SA, buf, len, &m), 0);
	assert_int_equal(m.n, 1);
	assert_int_equal(ikev2_dec_sa(&m.pld[0], sa), 0);
	assert_int_equal(sa->n, np);
}

/* Build the SA we would answer with, parse it back as a response. */
static void check_echo(const struct ikev2_choice *c, uint64_t our_spi,
		       const struct ikev2_proposal *peer)
{
	static uint8_t mem[512];
	static struct ikev2_sa back;
	struct ikev2_buf b;
	struct ikev2_msg m;
	size_t len;
	unsigned k = 0;

	assert_int_equal(ikev2_build_inner(&b, mem, sizeof(mem)), 0);
	assert_int_equal(ikev2_put_sa(&b, c, our_spi), 0);
	assert_int_equal(ikev2_build_finish(&b, &len), 0);
	assert_int_equal(ikev2_parse_chain_flags(IKEV2_PLD_SA, mem, len,
						 IKEV2_PARSE_RESPONSE, &m), 0);
	assert_int_equal(ikev2_dec_sa(&m.pld[0], &back), 0);
	assert_int_equal(back.prop[0].num, peer->num);
	assert_int_equal(back.prop[0].proto, peer->proto);
	assert_int_equal(back.prop[0].spi_size, peer->spi_size);
	/* RFC 7296 3.3.6: exactly one transform of each type the peer sent,
	 * each one the peer offered */
	for (unsigned t = IKEV2_XF_ENCR; t <= IKEV2_XF_ESN; t++) {
		bool offered = false, found = false;

		for (unsigned j = 0; j < peer->n_xf; j++)
			offered |= peer->xf[j].type == t;
		for (unsigned j = 0; j < back.prop[0].n_xf; j++) {
			const struct ikev2_xf *x = &back.prop[0].xf[j];

			if (x->type != t)
				continue;
			assert_false(found);
			found = true;
			k++;
			for (unsigned q = 0; q < peer->n_xf; q++)
				if (peer->xf[q].type == t &&
				    peer->xf[q].id == x->id &&
				    peer->xf[q].keylen == x->keylen &&
				    peer->xf[q].has_keylen == x->has_keylen)
					goto match;
			fail_msg("echoed transform %u/%u was not offered", t,
				 x->id);
match:;
		}
		/* DH is dropped from IKE_AUTH proposals, see ikev2_prop.h */
		if (t != IKEV2_XF_DH || found)
			assert_int_equal(found, offered);
	}
	assert_int_equal(k, back.prop[0].n_xf);
}

/* ---- IKE SA -------------------------------------------------------------- */

static void test_ike_all_allowed(void **state)
{
	static const int keylens[] = { 128, 192, 256 };
	static const uint16_t prfs[] = {
		IKE_PRF_HMAC_SHA1, IKE_PRF_HMAC_SHA2_256,
		IKE_PRF_HMAC_SHA2_384, IKE_PRF_HMAC_SHA2_512,
	};
	static const uint16_t integs[] = {
		IKE_AUTH_HMAC_SHA1_96, IKE_AUTH_HMAC_SHA2_256_128,
		IKE_AUTH_HMAC_SHA2_384_192, IKE_AUTH_HMAC_SHA2_512_256,
	};
	static const uint16_t dhs[] = {
		IKE_DH_MODP2048, IKE_DH_MODP3072, IKE_DH_MODP4096,
		IKE_DH_MODP8192,
	};
	static uint8_t buf[1024];
	static struct ikev2_sa sa;
	unsigned n = 0;

	(void)state;
	for (unsigned a = 0; a < ARRAY_SIZE(keylens); a++)
	for (unsigned b = 0; b < ARRAY_SIZE(prfs); b++)
	for (unsigned c = 0; c < ARRAY_SIZE(integs); c++)
	for (unsigned d = 0; d < ARRAY_SIZE(dhs); d++) {
		const struct pd p = {
			IKEV2_PROTO_IKE, 0, 0, 4,
			{ ENC(IKE_ENCR_AES_CBC, keylens[a]), PRF(prfs[b]),
			  INT(integs[c]), DH(dhs[d]) },
		};
		struct ikev2_choice ch;
		uint16_t want = 0;

		mk_sa(buf, &sa, &p, 1);
		assert_int_equal(ikev2_prop_select_ike(&sa, dhs[d], 0, &ch,
						       &want), 0);
		assert_int_equal(ch.propnum, 1);
		assert_int_equal(ch.proto, IKEV2_PROTO_IKE);
		assert_int_equal(ch.spi_size, 0);
		assert_int_equal(ch.encr, IKE_ENCR_AES_CBC);
		assert_int_equal(ch.encr_keylen, keylens[a]);
		assert_int_equal(ch.prf, prfs[b]);
		assert_int_equal(ch.integ, integs[c]);
		assert_int_equal(ch.dh, dhs[d]);
		assert_false(ch.aead);
		check_echo(&ch, 0, &sa.prop[0]);
		n++;
	}
	assert_int_equal(n, 192);
}

struct sel_case {
	const char *what;
	unsigned np;
	struct pd p[3];
	int ke;
	unsigned flags;
	int rc;
	uint16_t want;		/* -EAGAIN: group to name */
	uint8_t propnum;	/* 0: chosen proposal, values below */
	uint16_t encr, keylen, integ, dh;
	uint8_t mask;		/* expected xf_mask, 0 = don't check */
};

#define M(t)	(1 << IKEV2_XF_##t)

static void run_cases(const struct sel_case *cases, unsigned n, bool ike)
{
	static uint8_t buf[2048];
	static struct ikev2_sa sa;

	for (unsigned i = 0; i < n; i++) {
		const struct sel_case *c = &cases[i];
		struct ikev2_choice ch;
		uint16_t want = 0;
		int rc;

		mk_sa(buf, &sa, c->p, c->np);
		rc = ike ? ikev2_prop_select_ike(&sa, c->ke, c->flags, &ch,
						 &want)
			 : ikev2_prop_select_esp(&sa, c->ke, c->flags, &ch,
						 &want);
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d", c->what, rc, c->rc);
		if (rc == -EAGAIN && want != c->want)
			fail_msg("%s: INVALID_KE names %u, want %u", c->what,
				 want, c->want);
		if (rc)
			continue;
		if (c->propnum && ch.propnum != c->propnum)
			fail_msg("%s: proposal %u chosen", c->what, ch.propnum);
		if (c->encr && (ch.encr != c->encr || ch.encr_keylen != c->keylen))
			fail_msg("%s: encr %u/%u", c->what, ch.encr,
				 ch.encr_keylen);
		if (ch.integ != c->integ)
			fail_msg("%s: integ %u", c->what, ch.integ);
		if (ch.dh != c->dh)
			fail_msg("%s: dh %u", c->what, ch.dh);
		if (c->mask && ch.xf_mask != c->mask)
			fail_msg("%s: mask %#x", c->what, ch.xf_mask);
		check_echo(&ch, ike ? 0 : 0xabcdef01,
			   &sa.prop[ch.propnum - 1]);
	}
}

#define IKE_BASE(e, p, i, d)                                                \
	{ IKEV2_PROTO_IKE, 0, 0, 4, { e, p, i, d } }

static void test_ike_rejects(void **state)
{
	static const struct sel_case cases[] = {
		{ "3DES", 1, { IKE_BASE(ENC(ENCR_3DES, -1),
			PRF(IKE_PRF_HMAC_SHA1), INT(IKE_AUTH_HMAC_SHA1_96),
			DH(14)) }, 14, 0, -ENOENT },
		{ "AES-CTR", 1, { IKE_BASE(ENC(ENCR_AES_CTR, 128),
			PRF(IKE_PRF_HMAC_SHA1), INT(IKE_AUTH_HMAC_SHA1_96),
			DH(14)) }, 14, 0, -ENOENT },
		{ "GCM in phase 1", 1, { { IKEV2_PROTO_IKE, 0, 0, 3,
			{ ENC(IKE_ENCR_AES_GCM_16, 256),
			  PRF(IKE_PRF_HMAC_SHA2_256), DH(14) } } }, 14, 0,
		  -ENOENT },
		{ "GCM + integ in phase 1", 1, { IKE_BASE(
			ENC(IKE_ENCR_AES_GCM_16, 128),
			PRF(IKE_PRF_HMAC_SHA1), INT(IKE_AUTH_HMAC_SHA1_96),
			DH(14)) }, 14, 0, -ENOENT },
		{ "AES-CBC without KEY_LENGTH", 1, { IKE_BASE(
			ENC(IKE_ENCR_AES_CBC, -1), PRF(IKE_PRF_HMAC_SHA1),
			INT(IKE_AUTH_HMAC_SHA1_96), DH(14)) }, 14, 0, -ENOENT },
		{ "AES-CBC 64", 1, { IKE_BASE(ENC(IKE_ENCR_AES_CBC, 64),
			PRF(IKE_PRF_HMAC_SHA1), INT(IKE_AUTH_HMAC_SHA1_96),
			DH(14)) }, 14, 0, -ENOENT },
		{ "AES-CBC 512", 1, { IKE_BASE(ENC(IKE_ENCR_AES_CBC, 512),
			PRF(IKE_PRF_HMAC_SHA1), INT(IKE_AUTH_HMAC_SHA1_96),
			DH(14)) }, 14, 0, -ENOENT },
		{ "AES-CBC + unknown attribute", 1, { IKE_BASE(
			ENC_ODD(IKE_ENCR_AES_CBC, 128),
			PRF(IKE_PRF_HMAC_SHA1), INT(IKE_AUTH_HMAC_SHA1_96),
			DH(14)) }, 14, 0, -ENOENT },
		{ "PRF MD5", 1, { IKE_BASE(ENC(IKE_ENCR_AES_CBC, 128),
			PRF(PRF_HMAC_MD5), INT(IKE_AUTH_HMAC_SHA1_96),
			DH(14)) }, 14, 0, -ENOENT },
		{ "PRF AES-XCBC", 1, { IKE_BASE(ENC(IKE_ENCR_AES_CBC, 128),
			PRF(PRF_AES128_XCBC), INT(IKE_AUTH_HMAC_SHA1_96),
			DH(14)) }, 14, 0, -ENOENT },
		{ "PRF with KEY_LENGTH", 1, { IKE_BASE(
			ENC(IKE_ENCR_AES_CBC, 128),
			PRF_KL(IKE_PRF_HMAC_SHA1, 128),
			INT(IKE_AUTH_HMAC_SHA1_96), DH(14)) }, 14, 0, -ENOENT },
		{ "INTEG MD5", 1, { IKE_BASE(ENC(IKE_ENCR_AES_CBC, 128),
			PRF(IKE_PRF_HMAC_SHA1), INT(AUTH_HMAC_MD5_96),
			DH(14)) }, 14, 0, -ENOENT },
		{ "INTEG NONE", 1, { IKE_BASE(ENC(IKE_ENCR_AES_CBC, 128),
			PRF(IKE_PRF_HMAC_SHA1), INT(IKEV2_INTEG_NONE),
			DH(14)) }, 14, 0, -ENOENT },
		{ "no INTEG", 1, { { IKEV2_PROTO_IKE, 0, 0, 3,
			{ ENC(IKE_ENCR_AES_CBC, 128), PRF(IKE_PRF_HMAC_SHA1),
			  DH(14) } } }, 14, 0, -ENOENT },
		{ "no PRF", 1, { { IKEV2_PROTO_IKE, 0, 0, 3,
			{ ENC(IKE_ENCR_AES_CBC, 128),
			  INT(IKE_AUTH_HMAC_SHA1_96), DH(14) } } }, 14, 0,
		  -ENOENT },
		{ "no DH", 1, { { IKEV2_PROTO_IKE, 0, 0, 3,
			{ ENC(IKE_ENCR_AES_CBC, 128), PRF(IKE_PRF_HMAC_SHA1),
			  INT(IKE_AUTH_HMAC_SHA1_96) } } }, 14, 0, -ENOENT },
		{ "DH 2", 1, { IKE_OK(DH_MODP1024) }, DH_MODP1024, 0, -ENOENT },
		{ "DH 5", 1, { IKE_OK(DH_MODP1536) }, DH_MODP1536, 0, -ENOENT },
		{ "DH 19", 1, { IKE_OK(DH_ECP256) }, DH_ECP256, 0, -ENOENT },
		{ "DH 31", 1, { IKE_OK(DH_CURVE25519) }, DH_CURVE25519, 0,
		  -ENOENT },
		{ "DH NONE", 1, { IKE_OK(IKEV2_DH_NONE) }, 0, 0, -ENOENT },
		{ "ESN in IKE", 1, { { IKEV2_PROTO_IKE, 0, 0, 5,
			{ ENC(IKE_ENCR_AES_CBC, 128), PRF(IKE_PRF_HMAC_SHA1),
			  INT(IKE_AUTH_HMAC_SHA1_96), DH(14), ESN(0) } } }, 14,
		  0, -ENOENT },
		{ "unknown type (ADDKE)", 1, { { IKEV2_PROTO_IKE, 0, 0, 5,
			{ ENC(IKE_ENCR_AES_CBC, 128), PRF(IKE_PRF_HMAC_SHA1),
			  INT(IKE_AUTH_HMAC_SHA1_96), DH(14),
			  { XF_ADDKE1, 0, -1, false } } } }, 14, 0, -ENOENT },
		{ "ESP proposal", 1, { { IKEV2_PROTO_ESP, 4, ESP_SPI, 4,
			{ ENC(IKE_ENCR_AES_CBC, 128), PRF(IKE_PRF_HMAC_SHA1),
			  INT(IKE_AUTH_HMAC_SHA1_96), DH(14) } } }, 14, 0,
		  -ENOENT },
		{ "SPI 8 in IKE_SA_INIT", 1, { { IKEV2_PROTO_IKE, 8, 1, 4,
			{ ENC(IKE_ENCR_AES_CBC, 128), PRF(IKE_PRF_HMAC_SHA1),
			  INT(IKE_AUTH_HMAC_SHA1_96), DH(14) } } }, 14, 0,
		  -ENOENT },
		{ "rekey without SPI", 1, { IKE_OK(14) }, 14, IKEV2_PROP_REKEY,
		  -ENOENT },
		/* the second proposal, bad in another way each */
		{ "3 bad proposals", 3, {
			IKE_BASE(ENC(ENCR_3DES, -1), PRF(IKE_PRF_HMAC_SHA1),
				 INT(IKE_AUTH_HMAC_SHA1_96), DH(14)),
			IKE_BASE(ENC(IKE_ENCR_AES_CBC, 128), PRF(PRF_HMAC_MD5),
				 INT(IKE_AUTH_HMAC_SHA1_96), DH(14)),
			IKE_OK(DH_ECP256) }, 14, 0, -ENOENT },
	};
	(void)state;
	run_cases(cases, ARRAY_SIZE(cases), true);
}

static void test_ike_accept(void **state)
{
	static const struct sel_case cases[] = {
		{ "peer order within a type", 1, { { IKEV2_PROTO_IKE, 0, 0, 8,
			{ ENC(ENCR_3DES, -1), ENC(IKE_ENCR_AES_CBC, 192),
			  ENC(IKE_ENCR_AES_CBC, 256), PRF(PRF_HMAC_MD5),
			  PRF(IKE_PRF_HMAC_SHA2_512),
			  INT(AUTH_HMAC_MD5_96), INT(IKE_AUTH_HMAC_SHA1_96),
			  DH(14) } } }, 14, 0, 0, 0, 1, IKE_ENCR_AES_CBC, 192,
		  IKE_AUTH_HMAC_SHA1_96, 14,
		  M(ENCR) | M(PRF) | M(INTEG) | M(DH) },
		{ "AES-CBC + unknown attribute skipped", 1, {
			{ IKEV2_PROTO_IKE, 0, 0, 5,
			{ ENC_ODD(IKE_ENCR_AES_CBC, 256),
			  ENC(IKE_ENCR_AES_CBC, 128), PRF(IKE_PRF_HMAC_SHA1),
			  INT(IKE_AUTH_HMAC_SHA1_96), DH(14) } } }, 14, 0, 0, 0,
		  1, IKE_ENCR_AES_CBC, 128, IKE_AUTH_HMAC_SHA1_96, 14 },
		{ "first acceptable proposal wins", 2, { IKE_OK(14),
			IKE_BASE(ENC(IKE_ENCR_AES_CBC, 128),
				 PRF(IKE_PRF_HMAC_SHA1),
				 INT(IKE_AUTH_HMAC_SHA1_96), DH(14)) }, 14, 0,
		  0, 0, 1, IKE_ENCR_AES_CBC, 256, IKE_AUTH_HMAC_SHA2_256_128,
		  14 },
		{ "bad first, good second", 2, { IKE_OK(DH_ECP256),
			IKE_BASE(ENC(IKE_ENCR_AES_CBC, 128),
				 PRF(IKE_PRF_HMAC_SHA1),
				 INT(IKE_AUTH_HMAC_SHA1_96), DH(16)) }, 16, 0,
		  0, 0, 2, IKE_ENCR_AES_CBC, 128, IKE_AUTH_HMAC_SHA1_96, 16 },
		{ "KE group not first of the DH list", 1, {
			{ IKEV2_PROTO_IKE, 0, 0, 6,
			{ ENC(IKE_ENCR_AES_CBC, 128), PRF(IKE_PRF_HMAC_SHA1),
			  INT(IKE_AUTH_HMAC_SHA1_96), DH(DH_CURVE25519), DH(14),
			  DH(18) } } }, 18, 0, 0, 0, 1, IKE_ENCR_AES_CBC, 128,
		  IKE_AUTH_HMAC_SHA1_96, 18 },
		{ "KE matches a later proposal: no round trip", 2, {
			IKE_OK(16), IKE_OK(14) }, 14, 0, 0, 0, 2,
		  IKE_ENCR_AES_CBC, 256, IKE_AUTH_HMAC_SHA2_256_128, 14 },
		{ "rekey, SPI 8", 1, { { IKEV2_PROTO_IKE, 8,
			0x0102030405060708ULL, 4,
			{ ENC(IKE_ENCR_AES_CBC, 128), PRF(IKE_PRF_HMAC_SHA1),
			  INT(IKE_AUTH_HMAC_SHA1_96), DH(15) } } }, 15,
		  IKEV2_PROP_REKEY, 0, 0, 1, IKE_ENCR_AES_CBC, 128,
		  IKE_AUTH_HMAC_SHA1_96, 15 },
	};
	(void)state;
	run_cases(cases, ARRAY_SIZE(cases), true);
}

static void test_ike_invalid_ke(void **state)
{
	static const struct sel_case cases[] = {
		{ "KE 19, offers 15 and 14", 1, { { IKEV2_PROTO_IKE, 0, 0, 6,
			{ ENC(IKE_ENCR_AES_CBC, 128), PRF(IKE_PRF_HMAC_SHA1),
			  INT(IKE_AUTH_HMAC_SHA1_96), DH(DH_ECP256), DH(15),
			  DH(14) } } }, DH_ECP256, 0, -EAGAIN, 15 },
		{ "KE 14, first good proposal offers 16", 2, {
			IKE_OK(16),
			IKE_BASE(ENC(ENCR_3DES, -1), PRF(IKE_PRF_HMAC_SHA1),
				 INT(IKE_AUTH_HMAC_SHA1_96), DH(14)) },
		  14, 0, -EAGAIN, 16 },
		{ "KE 31, two proposals", 2, { IKE_OK(18), IKE_OK(14) },
		  DH_CURVE25519, 0, -EAGAIN, 18 },
		{ "KE 14, offers only unsupported groups", 1, {
			IKE_OK(DH_ECP256) }, 14, 0, -ENOENT },
		{ "KE 14, unacceptable cipher with 16", 1, {
			IKE_BASE(ENC(ENCR_3DES, -1), PRF(IKE_PRF_HMAC_SHA1),
				 INT(IKE_AUTH_HMAC_SHA1_96), DH(16)) },
		  14, 0, -ENOENT },
		{ "rekey, KE 14, offers 16", 1, { { IKEV2_PROTO_IKE, 8, 9, 4,
			{ ENC(IKE_ENCR_AES_CBC, 128), PRF(IKE_PRF_HMAC_SHA1),
			  INT(IKE_AUTH_HMAC_SHA1_96), DH(16) } } }, 14,
		  IKEV2_PROP_REKEY, -EAGAIN, 16 },
	};
	(void)state;
	run_cases(cases, ARRAY_SIZE(cases), true);
}

static void test_ike_rekey_spi(void **state)
{
	static uint8_t buf[512];
	static struct ikev2_sa sa;
	const struct pd p = { IKEV2_PROTO_IKE, 8, 0x8877665544332211ULL, 4,
			      { ENC(IKE_ENCR_AES_CBC, 128),
				PRF(IKE_PRF_HMAC_SHA1),
				INT(IKE_AUTH_HMAC_SHA1_96), DH(14) } };
	struct ikev2_choice c;
	uint16_t want;

	(void)state;
	mk_sa(buf, &sa, &p, 1);
	assert_int_equal(ikev2_prop_select_ike(&sa, 14, IKEV2_PROP_REKEY, &c,
					       &want), 0);
	assert_int_equal(c.spi_size, 8);
	assert_true(c.peer_spi == 0x8877665544332211ULL);
	check_echo(&c, 0x0102030405060708ULL, &sa.prop[0]);
}

/* ---- ESP ---------------------------------------------------------------- */

#define ESP_P(n, ...)	{ IKEV2_PROTO_ESP, 4, ESP_SPI, n, { __VA_ARGS__ } }
#define ESP_CBC(k, i)	ESP_P(3, ENC(IKE_ENCR_AES_CBC, k), INT(i), ESN(0))

static void test_esp_accept(void **state)
{
	static const struct sel_case cases[] = {
		{ "AES-CBC-128 SHA1", 1, { ESP_CBC(128,
			IKE_AUTH_HMAC_SHA1_96) }, IKEV2_KE_ABSENT, 0, 0, 0, 1,
		  IKE_ENCR_AES_CBC, 128, IKE_AUTH_HMAC_SHA1_96, 0,
		  M(ENCR) | M(INTEG) | M(ESN) },
		{ "AES-CBC-256 SHA2-256", 1, { ESP_CBC(256,
			IKE_AUTH_HMAC_SHA2_256_128) }, IKEV2_KE_ABSENT, 0, 0, 0,
		  1, IKE_ENCR_AES_CBC, 256, IKE_AUTH_HMAC_SHA2_256_128, 0 },
		{ "AES-CBC-256 SHA2-384", 1, { ESP_CBC(256,
			IKE_AUTH_HMAC_SHA2_384_192) }, IKEV2_KE_ABSENT, 0, 0, 0,
		  1, IKE_ENCR_AES_CBC, 256, IKE_AUTH_HMAC_SHA2_384_192, 0 },
		{ "AES-CBC-128 SHA2-512", 1, { ESP_CBC(128,
			IKE_AUTH_HMAC_SHA2_512_256) }, IKEV2_KE_ABSENT, 0, 0, 0,
		  1, IKE_ENCR_AES_CBC, 128, IKE_AUTH_HMAC_SHA2_512_256, 0 },
		{ "GCM-128", 1, { ESP_P(2, ENC(IKE_ENCR_AES_GCM_16, 128),
			ESN(0)) }, IKEV2_KE_ABSENT, 0, 0, 0, 1,
		  IKE_ENCR_AES_GCM_16, 128, 0, 0, M(ENCR) | M(ESN) },
		{ "GCM-192", 1, { ESP_P(2, ENC(IKE_ENCR_AES_GCM_16, 192),
			ESN(0)) }, IKEV2_KE_ABSENT, 0, 0, 0, 1,
		  IKE_ENCR_AES_GCM_16, 192, 0, 0 },
		{ "GCM-256 with INTEG NONE", 1, { ESP_P(3,
			ENC(IKE_ENCR_AES_GCM_16, 256), INT(IKEV2_INTEG_NONE),
			ESN(0)) }, IKEV2_KE_ABSENT, 0, 0, 0, 1,
		  IKE_ENCR_AES_GCM_16, 256, 0, 0,
		  M(ENCR) | M(INTEG) | M(ESN) },
		{ "NULL with SHA2-256", 1, { ESP_P(3, ENC(IKE_ENCR_NULL, -1),
			INT(IKE_AUTH_HMAC_SHA2_256_128), ESN(0)) },
		  IKEV2_KE_ABSENT, 0, 0, 0, 1, IKE_ENCR_NULL, 0,
		  IKE_AUTH_HMAC_SHA2_256_128, 0 },
		{ "no ESN transform", 1, { ESP_P(2,
			ENC(IKE_ENCR_AES_CBC, 128),
			INT(IKE_AUTH_HMAC_SHA1_96)) }, IKEV2_KE_ABSENT, 0, 0, 0,
		  1, IKE_ENCR_AES_CBC, 128, IKE_AUTH_HMAC_SHA1_96, 0,
		  M(ENCR) | M(INTEG) },
		{ "ESN on or off", 1, { ESP_P(4, ENC(IKE_ENCR_AES_CBC, 128),
			INT(IKE_AUTH_HMAC_SHA1_96), ESN(1), ESN(0)) },
		  IKEV2_KE_ABSENT, 0, 0, 0, 1, IKE_ENCR_AES_CBC, 128,
		  IKE_AUTH_HMAC_SHA1_96, 0 },
		{ "PFS 14", 1, { ESP_P(4, ENC(IKE_ENCR_AES_CBC, 256),
			INT(IKE_AUTH_HMAC_SHA2_256_128), DH(14), ESN(0)) }, 14,
		  0, 0, 0, 1, IKE_ENCR_AES_CBC, 256,
		  IKE_AUTH_HMAC_SHA2_256_128, 14,
		  M(ENCR) | M(INTEG) | M(DH) | M(ESN) },
		{ "PFS 18 among others", 1, { ESP_P(5,
			ENC(IKE_ENCR_AES_GCM_16, 256), DH(DH_ECP256), DH(15),
			DH(18), ESN(0)) }, 18, 0, 0, 0, 1, IKE_ENCR_AES_GCM_16,
		  256, 0, 18 },
		{ "DH NONE or 14, no KE", 1, { ESP_P(5,
			ENC(IKE_ENCR_AES_CBC, 128), INT(IKE_AUTH_HMAC_SHA1_96),
			DH(IKEV2_DH_NONE), DH(14), ESN(0)) }, IKEV2_KE_ABSENT,
		  0, 0, 0, 1, IKE_ENCR_AES_CBC, 128, IKE_AUTH_HMAC_SHA1_96, 0,
		  M(ENCR) | M(INTEG) | M(DH) | M(ESN) },
		{ "IKE_AUTH ignores DH", 1, { ESP_P(4,
			ENC(IKE_ENCR_AES_CBC, 128), INT(IKE_AUTH_HMAC_SHA1_96),
			DH(14), ESN(0)) }, IKEV2_KE_ABSENT, IKEV2_PROP_IKE_AUTH,
		  0, 0, 1, IKE_ENCR_AES_CBC, 128, IKE_AUTH_HMAC_SHA1_96, 0,
		  M(ENCR) | M(INTEG) | M(ESN) },
		{ "GCM first, CBC with integ: CBC", 1, { ESP_P(4,
			ENC(IKE_ENCR_AES_GCM_16, 256),
			ENC(IKE_ENCR_AES_CBC, 128),
			INT(IKE_AUTH_HMAC_SHA2_256_128), ESN(0)) },
		  IKEV2_KE_ABSENT, 0, 0, 0, 1, IKE_ENCR_AES_CBC, 128,
		  IKE_AUTH_HMAC_SHA2_256_128, 0 },
		{ "GCM first, integ NONE or SHA256: GCM", 1, { ESP_P(5,
			ENC(IKE_ENCR_AES_GCM_16, 256),
			ENC(IKE_ENCR_AES_CBC, 128), INT(IKEV2_INTEG_NONE),
			INT(IKE_AUTH_HMAC_SHA2_256_128), ESN(0)) },
		  IKEV2_KE_ABSENT, 0, 0, 0, 1, IKE_ENCR_AES_GCM_16, 256, 0, 0 },
		{ "CBC-192 skipped for CBC-256", 1, { ESP_P(4,
			ENC(IKE_ENCR_AES_CBC, 192), ENC(IKE_ENCR_AES_CBC, 256),
			INT(IKE_AUTH_HMAC_SHA1_96), ESN(0)) }, IKEV2_KE_ABSENT,
		  0, 0, 0, 1, IKE_ENCR_AES_CBC, 256, IKE_AUTH_HMAC_SHA1_96, 0 },
		{ "second proposal", 2, {
			ESP_P(2, ENC(ENCR_3DES, -1), INT(IKE_AUTH_HMAC_SHA1_96)),
			ESP_P(2, ENC(IKE_ENCR_AES_GCM_16, 128), ESN(0)) },
		  IKEV2_KE_ABSENT, 0, 0, 0, 2, IKE_ENCR_AES_GCM_16, 128, 0, 0 },
	};
	(void)state;
	run_cases(cases, ARRAY_SIZE(cases), false);
}

static void test_esp_rejects(void **state)
{
	static const struct sel_case cases[] = {
		{ "AES-CBC-192 (not in phase 2)", 1, { ESP_CBC(192,
			IKE_AUTH_HMAC_SHA1_96) }, IKEV2_KE_ABSENT, 0, -ENOENT },
		{ "AES-CBC without KEY_LENGTH", 1, { ESP_CBC(-1,
			IKE_AUTH_HMAC_SHA1_96) }, IKEV2_KE_ABSENT, 0, -ENOENT },
		{ "3DES", 1, { ESP_P(3, ENC(ENCR_3DES, -1),
			INT(IKE_AUTH_HMAC_SHA1_96), ESN(0)) }, IKEV2_KE_ABSENT,
		  0, -ENOENT },
		{ "AES-CTR", 1, { ESP_P(3, ENC(ENCR_AES_CTR, 128),
			INT(IKE_AUTH_HMAC_SHA1_96), ESN(0)) }, IKEV2_KE_ABSENT,
		  0, -ENOENT },
		{ "NULL without integ", 1, { ESP_P(2, ENC(IKE_ENCR_NULL, -1),
			ESN(0)) }, IKEV2_KE_ABSENT, 0, -ENOENT },
		{ "NULL with INTEG NONE", 1, { ESP_P(3,
			ENC(IKE_ENCR_NULL, -1), INT(IKEV2_INTEG_NONE),
			ESN(0)) }, IKEV2_KE_ABSENT, 0, -ENOENT },
		{ "NULL with KEY_LENGTH", 1, { ESP_P(3,
			ENC(IKE_ENCR_NULL, 128), INT(IKE_AUTH_HMAC_SHA1_96),
			ESN(0)) }, IKEV2_KE_ABSENT, 0, -ENOENT },
		{ "GCM with integ", 1, { ESP_P(3,
			ENC(IKE_ENCR_AES_GCM_16, 256),
			INT(IKE_AUTH_HMAC_SHA2_256_128), ESN(0)) },
		  IKEV2_KE_ABSENT, 0, -ENOENT },
		{ "GCM without KEY_LENGTH", 1, { ESP_P(2,
			ENC(IKE_ENCR_AES_GCM_16, -1), ESN(0)) },
		  IKEV2_KE_ABSENT, 0, -ENOENT },
		{ "GCM 8-byte ICV", 1, { ESP_P(2, ENC(ENCR_AES_GCM_8, 128),
			ESN(0)) }, IKEV2_KE_ABSENT, 0, -ENOENT },
		{ "GCM 12-byte ICV", 1, { ESP_P(2, ENC(ENCR_AES_GCM_12, 256),
			ESN(0)) }, IKEV2_KE_ABSENT, 0, -ENOENT },
		{ "AES-CBC without integ", 1, { ESP_P(2,
			ENC(IKE_ENCR_AES_CBC, 128), ESN(0)) }, IKEV2_KE_ABSENT,
		  0, -ENOENT },
		{ "AES-CBC with MD5", 1, { ESP_CBC(128, AUTH_HMAC_MD5_96) },
		  IKEV2_KE_ABSENT, 0, -ENOENT },
		{ "ESN required", 1, { ESP_P(3, ENC(IKE_ENCR_AES_CBC, 128),
			INT(IKE_AUTH_HMAC_SHA1_96), ESN(1)) }, IKEV2_KE_ABSENT,
		  0, -ENOENT },
		{ "PRF in ESP", 1, { ESP_P(4, ENC(IKE_ENCR_AES_CBC, 128),
			PRF(IKE_PRF_HMAC_SHA1), INT(IKE_AUTH_HMAC_SHA1_96),
			ESN(0)) }, IKEV2_KE_ABSENT, 0, -ENOENT },
		{ "AH", 1, { { IKEV2_PROTO_AH, 4, ESP_SPI, 2,
			{ INT(IKE_AUTH_HMAC_SHA1_96), ESN(0) } } },
		  IKEV2_KE_ABSENT, 0, -ENOENT },
		{ "IKE proposal", 1, { IKE_OK(14) }, IKEV2_KE_ABSENT, 0,
		  -ENOENT },
		{ "SPI 0", 1, { { IKEV2_PROTO_ESP, 4, 0, 3,
			{ ENC(IKE_ENCR_AES_CBC, 128),
			  INT(IKE_AUTH_HMAC_SHA1_96), ESN(0) } } },
		  IKEV2_KE_ABSENT, 0, -ENOENT },
		{ "SPI 255 (reserved)", 1, { { IKEV2_PROTO_ESP, 4, 255, 3,
			{ ENC(IKE_ENCR_AES_CBC, 128),
			  INT(IKE_AUTH_HMAC_SHA1_96), ESN(0) } } },
		  IKEV2_KE_ABSENT, 0, -ENOENT },
		{ "PFS required, no KE", 1, { ESP_P(4,
			ENC(IKE_ENCR_AES_CBC, 128), INT(IKE_AUTH_HMAC_SHA1_96),
			DH(14), ESN(0)) }, IKEV2_KE_ABSENT, 0, -ENOENT },
		{ "KE but no DH offered", 1, { ESP_CBC(128,
			IKE_AUTH_HMAC_SHA1_96) }, 14, 0, -ENOENT },
		{ "KE but only DH NONE", 1, { ESP_P(4,
			ENC(IKE_ENCR_AES_CBC, 128), INT(IKE_AUTH_HMAC_SHA1_96),
			DH(IKEV2_DH_NONE), ESN(0)) }, 14, 0, -ENOENT },
		{ "PFS group 2", 1, { ESP_P(4, ENC(IKE_ENCR_AES_CBC, 128),
			INT(IKE_AUTH_HMAC_SHA1_96), DH(DH_MODP1024), ESN(0)) },
		  DH_MODP1024, 0, -ENOENT },
		{ "PFS group 31", 1, { ESP_P(4, ENC(IKE_ENCR_AES_CBC, 128),
			INT(IKE_AUTH_HMAC_SHA1_96), DH(DH_CURVE25519), ESN(0)) },
		  DH_CURVE25519, 0, -ENOENT },
		{ "PFS KE 14, offers 15", 1, { ESP_P(4,
			ENC(IKE_ENCR_AES_CBC, 128), INT(IKE_AUTH_HMAC_SHA1_96),
			DH(15), ESN(0)) }, 14, 0, -EAGAIN, 15 },
		{ "PFS KE 19, offers 19 and 16", 1, { ESP_P(5,
			ENC(IKE_ENCR_AES_GCM_16, 128), DH(DH_ECP256), DH(16),
			DH(IKEV2_DH_NONE), ESN(0)) }, DH_ECP256, 0, -EAGAIN,
		  16 },
	};
	(void)state;
	run_cases(cases, ARRAY_SIZE(cases), false);
}

/* The echoed ESP SA, byte for byte. */
static void test_esp_echo_bytes(void **state)
{
	/* peer: proposal 1 3DES (unacceptable), proposal 2 AES-CBC-128 or
	 * 256, SHA1 or SHA2-256, ESN none, SPI c1c2c3c4 */
	static const struct pd p[] = {
		ESP_P(3, ENC(ENCR_3DES, -1), INT(IKE_AUTH_HMAC_SHA1_96),
		      ESN(0)),
		ESP_P(5, ENC(IKE_ENCR_AES_CBC, 128), ENC(IKE_ENCR_AES_CBC, 256),
		      INT(AUTH_HMAC_MD5_96), INT(IKE_AUTH_HMAC_SHA2_256_128),
		      ESN(0)),
	};
	static const uint8_t want[] = {
		/* SA, last payload, length 44 */
		0x00, 0x00, 0x00, 0x2c,
		/* proposal #2 (last), length 40, ESP, SPI size 4, 3 xforms */
		0x00, 0x00, 0x00, 0x28, 0x02, 0x03, 0x04, 0x03,
		0xaa, 0xbb, 0xcc, 0xdd,		/* our SPI */
		/* ENCR AES_CBC, KEY_LENGTH 128 */
		0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x0c,
		0x80, 0x0e, 0x00, 0x80,
		/* INTEG HMAC_SHA2_256_128 */
		0x03, 0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x0c,
		/* ESN none (last) */
		0x00, 0x00, 0x00, 0x08, 0x05, 0x00, 0x00, 0x00,
	};
	static uint8_t buf[512], mem[128];
	static struct ikev2_sa sa;
	struct ikev2_choice c;
	struct ikev2_buf b;
	uint16_t wg;
	size_t len;
	char s[96];

	(void)state;
	mk_sa(buf, &sa, p, 2);
	assert_int_equal(ikev2_prop_select_esp(&sa, IKEV2_KE_ABSENT, 0, &c,
					       &wg), 0);
	assert_int_equal(c.peer_spi, ESP_SPI);
	assert_string_equal(ikev2_choice_str(&c, s, sizeof(s)),
			    "AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ");
	assert_int_equal(ikev2_build_inner(&b, mem, sizeof(mem)), 0);
	assert_int_equal(ikev2_put_sa(&b, &c, 0xaabbccdd), 0);
	assert_int_equal(ikev2_build_finish(&b, &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(mem, want, sizeof(want));
}

static void test_choice_str(void **state)
{
	struct ikev2_choice c = {
		.proto = IKEV2_PROTO_ESP, .encr = IKE_ENCR_AES_GCM_16,
		.encr_keylen = 256, .dh = IKE_DH_MODP8192, .aead = true,
	};
	char s[96], tiny[8];

	(void)state;
	assert_string_equal(ikev2_choice_str(&c, s, sizeof(s)),
			    "AES_GCM_16_256/MODP_8192/NO_EXT_SEQ");
	c.encr = IKE_ENCR_NULL;
	c.encr_keylen = 0;
	c.integ = IKE_AUTH_HMAC_SHA2_512_256;
	c.dh = 0;
	assert_string_equal(ikev2_choice_str(&c, s, sizeof(s)),
			    "NULL/HMAC_SHA2_512_256/NO_EXT_SEQ");
	/* truncated, still terminated */
	assert_string_equal(ikev2_choice_str(&c, tiny, sizeof(tiny)), "NULL");
	assert_string_equal(ikev2_choice_str(NULL, s, sizeof(s)), "");
}

static void test_args(void **state)
{
	static uint8_t buf[256];
	static struct ikev2_sa sa;
	const struct pd p = IKE_OK(14);
	struct ikev2_choice c;
	uint16_t w;

	(void)state;
	mk_sa(buf, &sa, &p, 1);
	assert_int_equal(ikev2_prop_select_ike(NULL, 14, 0, &c, &w), -EINVAL);
	assert_int_equal(ikev2_prop_select_ike(&sa, 14, 0, NULL, &w), -EINVAL);
	assert_int_equal(ikev2_prop_select_ike(&sa, 14, 0, &c, NULL), -EINVAL);
	assert_int_equal(ikev2_prop_select_ike(&sa, IKEV2_KE_ABSENT, 0, &c,
					       &w), -EINVAL);
	assert_int_equal(ikev2_prop_select_ike(&sa, 14, IKEV2_PROP_IKE_AUTH,
					       &c, &w), -EINVAL);
	assert_int_equal(ikev2_prop_select_esp(&sa, 14, IKEV2_PROP_IKE_AUTH,
					       &c, &w), -EINVAL);
	assert_int_equal(ikev2_prop_select_esp(&sa, IKEV2_KE_ABSENT,
					       IKEV2_PROP_REKEY, &c, &w),
			 -EINVAL);
	assert_int_equal(ikev2_prop_select_esp(&sa, 70000, 0, &c, &w),
			 -EINVAL);
	/* an empty SA (never produced by the parser) chooses nothing */
	sa.n = 0;
	assert_int_equal(ikev2_prop_select_ike(&sa, 14, 0, &c, &w), -ENOENT);
	assert_int_equal(ikev2_prop_select_esp(&sa, IKEV2_KE_ABSENT, 0, &c,
					       &w), -ENOENT);
	assert_true(ikev2_dh_supported(14));
	assert_true(ikev2_dh_supported(18));
	assert_false(ikev2_dh_supported(17));
	assert_false(ikev2_dh_supported(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ike_all_allowed),
		cmocka_unit_test(test_ike_rejects),
		cmocka_unit_test(test_ike_accept),
		cmocka_unit_test(test_ike_invalid_ke),
		cmocka_unit_test(test_ike_rekey_spi),
		cmocka_unit_test(test_esp_accept),
		cmocka_unit_test(test_esp_rejects),
		cmocka_unit_test(test_esp_echo_bytes),
		cmocka_unit_test(test_choice_str),
		cmocka_unit_test(test_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
