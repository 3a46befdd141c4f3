/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ikeinit.h - an IKEv2 initiator on the project's own codec and crypto
 * (user/ikev2_pld.h, user/ike_crypto.h): builds IKE_SA_INIT, IKE_AUTH (PSK),
 * CREATE_CHILD_SA and INFORMATIONAL requests, reads the responder's answers
 * and requests, and keys itself from them with the same primitives as the
 * responder. No sockets, no state beyond struct ike_peer.
 *
 * Header-only: tools/ikeload (the load generator) drives it over UDP, and
 * tests/unit/ike_peer.h drives it in process against user/ike.c; every
 * function is static inline (unused ones cost nothing). Functions return
 * 0 or -errno unless they say otherwise.
 */
#ifndef EG_IKEINIT_H
#define EG_IKEINIT_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "ike_crypto.h"
#include "ikev2_pld.h"

#define IKP_MSG_MAX	4096	/* every message these tests exchange */
#define IKP_QMAX	8	/* datagrams queued before the test reads them */
#define IKP_MAX_PROPS	4	/* proposals in one SA payload we send */
#define IKP_MAX_XF	12	/* transforms in one proposal we send */
#define IKP_MAX_SITES	4
#define IKP_MAX_REC	16	/* installs / removals recorded */
#define IKP_NONCE_LEN	32
#define IKP_SPI_BASE	0x5e000001u	/* first inbound SPI spi_alloc hands out */

#define IKP_PORT	500
#define IKP_NATT_PORT	4500

/* ---- byte helpers ----------------------------------------------------- */

static inline void ikp_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void ikp_put32(uint8_t *p, uint32_t v)
{
	ikp_put16(p, v >> 16);
	ikp_put16(p + 2, v & 0xffff);
}

static inline uint16_t ikp_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint64_t ikp_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline void ikp_put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

static inline uint32_t ikp_ip(const char *s)
{
	uint32_t a = 0;

	inet_pton(AF_INET, s, &a);
	return a;
}

/* ---- proposals we offer ----------------------------------------------- */

struct ikp_xf {
	uint8_t type;		/* IKEV2_XF_* */
	uint16_t id;		/* transform ID */
	uint16_t keylen;	/* KEY_LENGTH attribute in bits; 0: none */
};

struct ikp_prop {
	uint8_t proto;		/* IKEV2_PROTO_IKE (SPI size 0) or _ESP (4) */
	uint32_t spi;		/* ESP: our inbound SPI, host order */
	unsigned n_xf;
	struct ikp_xf xf[IKP_MAX_XF];
};

#define IKP_ENCR(id, bits)	{ IKEV2_XF_ENCR, id, bits }
#define IKP_PRF(id)		{ IKEV2_XF_PRF, id, 0 }
#define IKP_INTEG(id)		{ IKEV2_XF_INTEG, id, 0 }
#define IKP_DH(id)		{ IKEV2_XF_DH, id, 0 }
#define IKP_ESN(id)		{ IKEV2_XF_ESN, id, 0 }

/* The body of an SA payload (3.3): proposals numbered 1, 2, 3... */
static inline size_t ikp_sa_body(uint8_t *out, const struct ikp_prop *p,
				 unsigned np)
{
	size_t off = 0;
	unsigned i, j;

	for (i = 0; i < np; i++) {
		uint8_t *pr = out + off;
		uint8_t spi_size = p[i].proto == IKEV2_PROTO_IKE ? 0 : 4;
		size_t plen = IKEV2_PROP_LEN + spi_size;

		pr[0] = i + 1 < np ? IKEV2_LAST_MORE_PROP : IKEV2_LAST_NONE;
		pr[1] = 0;
		pr[4] = (uint8_t)(i + 1);
		pr[5] = p[i].proto;
		pr[6] = spi_size;
		pr[7] = (uint8_t)p[i].n_xf;
		if (spi_size)
			ikp_put32(pr + IKEV2_PROP_LEN, p[i].spi);
		for (j = 0; j < p[i].n_xf; j++) {
			const struct ikp_xf *x = &p[i].xf[j];
			uint8_t *t = pr + plen;
			size_t tlen = IKEV2_XFORM_LEN + (x->keylen ? IKEV2_ATTR_LEN : 0);

			t[0] = j + 1 < p[i].n_xf ? IKEV2_LAST_MORE_XFORM : IKEV2_LAST_NONE;
			t[1] = 0;
			ikp_put16(t + 2, (uint16_t)tlen);
			t[4] = x->type;
			t[5] = 0;
			ikp_put16(t + 6, x->id);
			if (x->keylen) {
				ikp_put16(t + 8, IKEV2_ATTR_TV | IKEV2_ATTR_KEY_LENGTH);
				ikp_put16(t + 10, x->keylen);
			}
			plen += tlen;
		}
		ikp_put16(pr + 2, (uint16_t)plen);
		off += plen;
	}
	return off;
}

/* What the responder's one-proposal SA echoes, in choice form. */
static inline int ikp_echo(const struct ikev2_payload *pl,
			   struct ikev2_choice *c, unsigned *n_xf)
{
	struct ikev2_sa sa;
	const struct ikev2_proposal *p;
	unsigned i;
	int err;

	err = ikev2_dec_sa(pl, &sa);
	if (err)
		return err;
	if (sa.n != 1)
		return -EBADMSG;
	p = &sa.prop[0];
	memset(c, 0, sizeof(*c));
	c->propnum = p->num;
	c->proto = p->proto;
	c->spi_size = p->spi_size;
	for (i = 0; i < p->spi_size; i++)
		c->peer_spi = c->peer_spi << 8 | p->spi[i];
	for (i = 0; i < p->n_xf; i++) {
		const struct ikev2_xf *x = &p->xf[i];

		if (x->type > IKEV2_XF_ESN || c->xf_mask & 1u << x->type)
			return -EBADMSG;	/* one transform per type */
		c->xf_mask |= 1u << x->type;
		switch (x->type) {
		case IKEV2_XF_ENCR:
			c->encr = x->id;
			c->encr_keylen = x->has_keylen ? x->keylen : 0;
			c->aead = x->id == IKE_ENCR_AES_GCM_16;
			break;
		case IKEV2_XF_PRF:
			c->prf = x->id;
			break;
		case IKEV2_XF_INTEG:
			c->integ = x->id;
			break;
		case IKEV2_XF_DH:
			c->dh = x->id;
			break;
		case IKEV2_XF_ESN:
			c->esn = x->id;
			break;
		}
	}
	if (n_xf)
		*n_xf = p->n_xf;
	return 0;
}

/* ---- the initiator ---------------------------------------------------- */

struct ike_peer {
	/* set up by ikp_new(); a test may change them before ikp_init_req() */
	uint32_t addr;		/* source address the responder sees (net order) */
	uint16_t port;		/* source port of IKE_SA_INIT as seen */
	uint16_t natt_port;	/* source port as seen after the float to 4500 */
	uint32_t priv_addr;	/* the address the peer thinks it has */
	uint16_t priv_port;	/* behind a NAT: != addr:port */
	uint32_t resp_addr;	/* the responder (net order) */
	struct ikp_prop ike[IKP_MAX_PROPS];	/* SAi1 */
	unsigned n_ike;
	uint16_t ke_group;	/* group of KEi */
	bool no_natd;		/* send no NAT_DETECTION_* notifies */
	uint8_t extra_type;	/* non-zero: one more payload of this type */
	bool extra_critical;	/* ... with the critical bit */
	uint8_t cookie[64];	/* returned first in IKE_SA_INIT (2.6) */
	size_t cookie_len;	/* 0: none; set by ikp_init_resp() */
	bool frag;		/* offer IKE fragmentation (RFC 7383) */
	bool frag_ok;		/* the responder's answer offered it too */

	/* the IKE SA */
	uint8_t spi_i[IKE_SPI_LEN], spi_r[IKE_SPI_LEN];
	struct ike_dh *dh;
	uint8_t ni[IKP_NONCE_LEN];
	uint8_t nr[IKE_NONCE_MAX_LEN];
	size_t nr_len;
	uint8_t init_req[IKP_MSG_MAX], init_resp[IKP_MSG_MAX];
	size_t init_req_len, init_resp_len;
	struct ikev2_choice ike_ch;	/* the responder's SAr1 */
	uint8_t natd_src[IKE_NATD_LEN], natd_dst[IKE_NATD_LEN];
	unsigned n_natd_src, n_natd_dst;
	uint8_t notify_data[8];		/* of an error notify in a response */
	size_t notify_len;
	struct ike_keys keys;
	bool keyed;
	uint32_t msgid;			/* of our next request */
	bool resp_side;			/* the engine is the IKE SA's initiator
					 * (it rekeyed the IKE SA) */
	/* a CREATE_CHILD_SA of ours under way */
	uint8_t cni[IKP_NONCE_LEN];
	struct ike_dh *cdh;		/* its PFS / IKE rekey DH */
	uint8_t new_spi[IKE_SPI_LEN];	/* IKE rekey: our new SPI */
};

/* The usual IKE proposal of these tests: AES-CBC-256/SHA2-256/MODP-2048. */
static inline void ikp_prop_ike(struct ikp_prop *p, uint16_t bits, uint16_t prf,
				uint16_t integ, uint16_t dh)
{
	memset(p, 0, sizeof(*p));
	p->proto = IKEV2_PROTO_IKE;
	p->n_xf = 4;
	p->xf[0] = (struct ikp_xf)IKP_ENCR(IKE_ENCR_AES_CBC, bits);
	p->xf[1] = (struct ikp_xf)IKP_PRF(prf);
	p->xf[2] = (struct ikp_xf)IKP_INTEG(integ);
	p->xf[3] = (struct ikp_xf)IKP_DH(dh);
}

/* A fresh initiator at addr behind a NAT (private 10.1.0.1:500). */
static inline int ikp_new(struct ike_peer *p, uint32_t addr, uint32_t resp_addr)
{
	memset(p, 0, sizeof(*p));
	p->addr = addr;
	p->port = IKP_PORT;
	p->natt_port = IKP_NATT_PORT;
	p->priv_addr = ikp_ip("10.1.0.1");
	p->priv_port = IKP_PORT;
	p->resp_addr = resp_addr;
	p->n_ike = 1;
	ikp_prop_ike(&p->ike[0], 256, IKE_PRF_HMAC_SHA2_256,
		     IKE_AUTH_HMAC_SHA2_256_128, IKE_DH_MODP2048);
	p->ke_group = IKE_DH_MODP2048;
	if (ike_spi_ike(p->spi_i) || ike_random(p->ni, sizeof(p->ni)))
		return -EIO;
	return 0;
}

static inline void ikp_free(struct ike_peer *p)
{
	ike_dh_free(p->dh);
	p->dh = NULL;
	ike_dh_free(p->cdh);
	p->cdh = NULL;
	ike_keys_wipe(&p->keys);
	OPENSSL_cleanse(p->ni, sizeof(p->ni));
}

/* Our KEi data: a real key pair in the groups we have, else random bytes. */
static inline int ikp_ke_data(struct ike_peer *p, uint8_t *out, size_t *len)
{
	size_t glen = ike_dh_group_len(p->ke_group);

	if (!glen) {
		*len = p->ke_group == 2 ? 128 : 256;	/* MODP-1024, other */
		return ike_random(out, *len);
	}
	if (p->dh && ike_dh_group(p->dh) != p->ke_group) {
		ike_dh_free(p->dh);
		p->dh = NULL;
	}
	if (!p->dh && ike_dh_new(p->ke_group, &p->dh))
		return -EIO;
	*len = glen;
	return ike_dh_public(p->dh, out, glen);
}

/*
 * IKE_SA_INIT request: HDR, SAi1, KEi, Ni, N(NAT_DETECTION_SOURCE_IP),
 * N(NAT_DETECTION_DESTINATION_IP). The source hash is over the address the
 * peer believes it has (2.23), so a NATed peer's does not match.
 */
static inline int ikp_init_req(struct ike_peer *p, uint8_t *out, size_t cap,
			       size_t *len)
{
	static const uint8_t zero[IKE_SPI_LEN];
	struct ikev2_msghdr h = {
		.ispi = ikp_be64(p->spi_i), .msgid = 0, .major = 2,
		.exch = IKEV2_EXCH_IKE_SA_INIT, .flags = IKEV2_FLAG_INITIATOR,
	};
	uint8_t sa[1024], ke[IKE_DH_MAX_LEN], hs[IKE_NATD_LEN], hd[IKE_NATD_LEN];
	struct ikev2_buf b;
	size_t ke_len, crit_at = 0;
	int err;

	err = ikp_ke_data(p, ke, &ke_len);
	if (err)
		return err;
	ike_natd_hash(p->spi_i, zero, &p->priv_addr, 4, p->priv_port, hs);
	ike_natd_hash(p->spi_i, zero, &p->resp_addr, 4, IKP_PORT, hd);
	ikev2_build_init(&b, out, cap, &h);
	if (p->cookie_len)
		ikev2_put_notify(&b, IKEV2_PROTO_NONE, 0, 0, IKEV2_N_COOKIE,
				 p->cookie, p->cookie_len);
	ikev2_put_raw(&b, IKEV2_PLD_SA, sa, ikp_sa_body(sa, p->ike, p->n_ike));
	ikev2_put_ke(&b, p->ke_group, ke, ke_len);
	ikev2_put_nonce(&b, p->ni, sizeof(p->ni));
	if (!p->no_natd) {
		ikev2_put_notify(&b, IKEV2_PROTO_NONE, 0, 0,
				 IKEV2_N_NAT_DETECTION_SOURCE_IP, hs, sizeof(hs));
		ikev2_put_notify(&b, IKEV2_PROTO_NONE, 0, 0,
				 IKEV2_N_NAT_DETECTION_DESTINATION_IP, hd, sizeof(hd));
	}
	if (p->frag)
		ikev2_put_notify(&b, IKEV2_PROTO_NONE, 0, 0,
				 IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
	if (p->extra_type) {
		crit_at = b.len + 1;
		ikev2_put_raw(&b, p->extra_type, "espgate", 7);
	}
	err = ikev2_build_finish(&b, len);
	if (err)
		return err;
	if (p->extra_critical && crit_at)
		out[crit_at] |= IKEV2_CRITICAL;
	if (*len > sizeof(p->init_req))
		return -ENOSPC;
	memcpy(p->init_req, out, *len);
	p->init_req_len = *len;
	return 0;
}

/*
 * Read the IKE_SA_INIT response (no marker). Returns 0 when the SA is
 * keyed, the type (> 0) of an error notify it carries (its data in
 * notify_data), IKEV2_N_COOKIE when it asks for a cookie (kept in cookie,
 * for the next ikp_init_req()), or -errno when it is not a valid answer
 * to our request.
 */
static inline int ikp_init_resp(struct ike_peer *p, const uint8_t *msg,
				size_t len)
{
	struct ikev2_msghdr h;
	struct ikev2_msg m;
	struct ikev2_notify_pld n;
	struct ikev2_ke_pld ke;
	uint8_t gir[IKE_DH_MAX_LEN];
	size_t glen;
	int i_sa, i_ke, i_n, i, err;

	if (ikev2_parse_msg(msg, len, &h, &m))
		return -EBADMSG;
	if (h.exch != IKEV2_EXCH_IKE_SA_INIT || h.msgid != 0 ||
	    (h.flags & (IKEV2_FLAG_RESPONSE | IKEV2_FLAG_INITIATOR)) !=
		    IKEV2_FLAG_RESPONSE || h.ispi != ikp_be64(p->spi_i))
		return -EPROTO;
	p->n_natd_src = p->n_natd_dst = 0;
	p->frag_ok = false;
	for (i = 0; i < (int)m.n; i++) {
		if (m.pld[i].type != IKEV2_PLD_NOTIFY ||
		    ikev2_dec_notify(&m.pld[i], &n))
			continue;
		if (n.type == IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED)
			p->frag_ok = true;
		if (n.type <= IKEV2_N_ERROR_MAX) {
			p->notify_len = n.len < sizeof(p->notify_data) ?
						n.len : sizeof(p->notify_data);
			memcpy(p->notify_data, n.data, p->notify_len);
			return n.type;
		}
		if (n.type == IKEV2_N_COOKIE) {
			if (h.rspi != 0 || m.n != 1 || !n.len || n.len > sizeof(p->cookie))
				return -EPROTO;	/* 2.6: nothing else, no state */
			memcpy(p->cookie, n.data, n.len);
			p->cookie_len = n.len;
			return IKEV2_N_COOKIE;
		}
		if (n.len != IKE_NATD_LEN)
			continue;
		if (n.type == IKEV2_N_NAT_DETECTION_SOURCE_IP && !p->n_natd_src++)
			memcpy(p->natd_src, n.data, IKE_NATD_LEN);
		if (n.type == IKEV2_N_NAT_DETECTION_DESTINATION_IP &&
		    !p->n_natd_dst++)
			memcpy(p->natd_dst, n.data, IKE_NATD_LEN);
	}
	i_sa = ikev2_msg_find(&m, IKEV2_PLD_SA, 0);
	i_ke = ikev2_msg_find(&m, IKEV2_PLD_KE, 0);
	i_n = ikev2_msg_find(&m, IKEV2_PLD_NONCE, 0);
	if (i_sa < 0 || i_ke < 0 || i_n < 0 || h.rspi == 0 ||
	    ikp_echo(&m.pld[i_sa], &p->ike_ch, NULL) ||
	    ikev2_dec_ke(&m.pld[i_ke], &ke))
		return -EBADMSG;
	if (p->ike_ch.proto != IKEV2_PROTO_IKE || ke.group != p->ke_group ||
	    p->ike_ch.dh != p->ke_group || !p->dh ||
	    m.pld[i_n].len > sizeof(p->nr))
		return -EPROTO;
	ikp_put64(p->spi_r, h.rspi);
	p->nr_len = m.pld[i_n].len;
	memcpy(p->nr, m.pld[i_n].body, p->nr_len);
	if (len > sizeof(p->init_resp))
		return -ENOSPC;
	memcpy(p->init_resp, msg, len);
	p->init_resp_len = len;

	/* g^ir and the seven keys, as the responder does (2.14) */
	glen = ike_dh_group_len(p->ke_group);
	err = ike_dh_derive(p->dh, ke.data, ke.len, gir, glen);
	if (!err) {
		struct ike_suite s = {
			.encr = p->ike_ch.encr, .encr_key_bits = p->ike_ch.encr_keylen,
			.prf = p->ike_ch.prf, .integ = p->ike_ch.integ,
			.dh = p->ike_ch.dh,
		};

		err = ike_keys_init(&p->keys, &s, gir, glen, p->ni, sizeof(p->ni),
				    p->nr, p->nr_len, p->spi_i, p->spi_r);
	}
	OPENSSL_cleanse(gir, sizeof(gir));
	if (err)
		return err;
	p->keyed = true;
	p->msgid = 1;
	return 0;
}

/* Our RFC 7296 2.23 expectations of the responder's NAT-D hashes. */
static inline int ikp_natd_expect(const struct ike_peer *p, uint16_t resp_port,
				  uint8_t src[IKE_NATD_LEN],
				  uint8_t dst_public[IKE_NATD_LEN],
				  uint8_t dst_private[IKE_NATD_LEN])
{
	return ike_natd_hash(p->spi_i, p->spi_r, &p->resp_addr, 4, resp_port, src) ||
	       ike_natd_hash(p->spi_i, p->spi_r, &p->addr, 4, p->port, dst_public) ||
	       ike_natd_hash(p->spi_i, p->spi_r, &p->priv_addr, 4, p->priv_port,
			     dst_private) ? -EIO : 0;
}

/*
 * An encrypted message of ours: HDR (I flag, R if a response), SK{inner}.
 * inner was started with ikev2_build_inner().
 */
static inline int ikp_seal(struct ike_peer *p, uint8_t exch, uint32_t msgid,
			   bool response, struct ikev2_buf *inner, uint8_t *out,
			   size_t cap, size_t *len)
{
	struct ikev2_msghdr h = {
		.ispi = ikp_be64(p->spi_i), .rspi = ikp_be64(p->spi_r),
		.msgid = msgid, .major = 2, .exch = exch,
		.flags = (p->resp_side ? 0 : IKEV2_FLAG_INITIATOR) |
			 (response ? IKEV2_FLAG_RESPONSE : 0),
	};
	struct ike_sk_keys sk;
	struct ikev2_buf b;
	size_t plen, hlen;
	int err;

	err = ikev2_build_finish(inner, &plen);
	if (err)
		return err;
	ikev2_build_init(&b, out, cap, &h);
	err = ikev2_build_finish(&b, &hlen);
	if (err)
		return err;
	out[16] = IKEV2_PLD_SK;		/* the header's next payload */
	ike_keys_sk(&p->keys, !p->resp_side, &sk);
	return ike_sk_seal(&sk, out, cap, hlen, ikev2_buf_first(inner),
			   inner->data, plen, len);
}

/* A decrypted message from the responder. */
struct ikp_msg {
	struct ikev2_msghdr h;
	struct ikev2_msg m;		/* the payloads inside SK */
	uint8_t plain[IKP_MSG_MAX];
	size_t plain_len;
	uint8_t first;			/* SK's next payload */
};

/*
 * Check and open a message of the responder's (no marker): our SPIs, no I
 * flag, a valid ICV with SK_ar, then parse what SK holds.
 */
static inline int ikp_open(struct ike_peer *p, const uint8_t *msg, size_t len,
			   struct ikp_msg *r)
{
	struct ikev2_msg outer;
	struct ike_sk_keys sk;
	uint8_t *plain;
	int err;

	if (!p->keyed || ikev2_parse_msg(msg, len, &r->h, &outer) || outer.sk < 0 ||
	    outer.pld[outer.sk].type != IKEV2_PLD_SK)
		return -EBADMSG;
	if (r->h.ispi != ikp_be64(p->spi_i) || r->h.rspi != ikp_be64(p->spi_r) ||
	    !(r->h.flags & IKEV2_FLAG_INITIATOR) != !p->resp_side)
		return -EPROTO;
	ike_keys_sk(&p->keys, p->resp_side, &sk);
	err = ike_sk_open(&sk, msg, len, outer.sk_off, r->plain, sizeof(r->plain),
			  &plain, &r->plain_len, &r->first);
	if (err)
		return err;
	return ikev2_parse_chain_flags(r->first, plain, r->plain_len,
				       IKEV2_PARSE_INNER |
				       (r->h.flags & IKEV2_FLAG_RESPONSE ?
						IKEV2_PARSE_RESPONSE : 0),
				       &r->m);
}

/* ---- IKE fragmentation (RFC 7383) ---------------------------------------- */

#define IKP_FRAGS_MAX	256

/* A train of fragments: the datagrams one after another. */
struct ikp_train {
	uint8_t buf[IKP_MSG_MAX * 2];
	size_t off[IKP_FRAGS_MAX + 1];	/* fragment i at off[i], end at off[n] */
	unsigned n;
};

/*
 * One of our SK messages (msg, as ikp_seal() made it) sealed again as
 * Encrypted Fragments of at most chunk bytes of its inner payloads each.
 */
static inline int ikp_fragment(struct ike_peer *p, const uint8_t *msg, size_t len,
			       size_t chunk, struct ikp_train *t)
{
	uint8_t plain[IKP_MSG_MAX], *pl, first;
	struct ikev2_msghdr h;
	struct ikev2_msg outer;
	struct ike_sk_keys sk;
	size_t plen, off = 0, at = 0, flen;
	unsigned i, n;
	int err;

	if (!chunk || ikev2_parse_msg(msg, len, &h, &outer) || outer.sk < 0)
		return -EBADMSG;
	ike_keys_sk(&p->keys, !p->resp_side, &sk);
	err = ike_sk_open(&sk, msg, len, outer.sk_off, plain, sizeof(plain), &pl,
			  &plen, &first);
	if (err)
		return err;
	n = (unsigned)((plen + chunk - 1) / chunk);
	if (n > IKP_FRAGS_MAX)
		return -E2BIG;
	for (i = 0; i < n; i++, off += chunk) {
		size_t c = plen - off < chunk ? plen - off : chunk;

		if (sizeof(t->buf) - at < IKE_SK_IKE_HDR_LEN)
			return -ENOSPC;
		memcpy(t->buf + at, msg, IKE_SK_IKE_HDR_LEN);
		t->buf[at + 16] = IKEV2_PLD_SKF;
		err = ike_skf_seal(&sk, t->buf + at, sizeof(t->buf) - at,
				   IKE_SK_IKE_HDR_LEN, first, (uint16_t)(i + 1),
				   (uint16_t)n, pl + off, c, &flen);
		if (err)
			return err;
		t->off[i] = at;
		at += flen;
	}
	t->off[n] = at;
	t->n = n;
	return 0;
}

static inline const uint8_t *ikp_frag_at(const struct ikp_train *t, unsigned i,
					 size_t *len)
{
	*len = t->off[i + 1] - t->off[i];
	return t->buf + t->off[i];
}

/*
 * Open the responder's fragmented message, its n fragments in any order
 * (no marker): each checked and decrypted on its own, then parsed whole.
 */
static inline int ikp_open_frags(struct ike_peer *p, const uint8_t *const *msg,
				 const size_t *len, unsigned n, struct ikp_msg *r)
{
	static uint8_t part[IKP_FRAGS_MAX][IKP_MSG_MAX];
	size_t plen[IKP_FRAGS_MAX] = { 0 }, off = 0;
	struct ikev2_msg outer;
	struct ikev2_skf_pld f;
	struct ike_sk_keys sk;
	unsigned i, total = 0;
	uint8_t *pl, np;
	int err;

	ike_keys_sk(&p->keys, p->resp_side, &sk);
	for (i = 0; i < n; i++) {
		if (ikev2_parse_msg(msg[i], len[i], &r->h, &outer) || outer.sk < 0 ||
		    ikev2_dec_skf(&outer.pld[outer.sk], &f) ||
		    f.total > IKP_FRAGS_MAX || (total && f.total != total))
			return -EBADMSG;
		total = f.total;
		err = ike_skf_open(&sk, msg[i], len[i], outer.sk_off, part[f.frag_num - 1],
				   IKP_MSG_MAX, &pl, &plen[f.frag_num - 1], &np);
		if (err)
			return err;
		if (f.frag_num == 1)
			r->first = np;
	}
	if (total != n)
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		if (off + plen[i] > sizeof(r->plain))
			return -ENOSPC;
		memcpy(r->plain + off, part[i], plen[i]);
		off += plen[i];
	}
	r->plain_len = off;
	return ikev2_parse_chain_flags(r->first, r->plain, r->plain_len,
				       IKEV2_PARSE_INNER |
				       (r->h.flags & IKEV2_FLAG_RESPONSE ?
						IKEV2_PARSE_RESPONSE : 0),
				       &r->m);
}

/* The first error notify type (1..16383) in m, or 0. */
static inline uint16_t ikp_error(const struct ikev2_msg *m)
{
	struct ikev2_notify_pld n;
	unsigned i;

	for (i = 0; i < m->n; i++)
		if (m->pld[i].type == IKEV2_PLD_NOTIFY &&
		    !ikev2_dec_notify(&m->pld[i], &n) && n.type <= IKEV2_N_ERROR_MAX)
			return n.type;
	return 0;
}

/* ---- IKE_AUTH --------------------------------------------------------- */

struct ikp_auth {
	uint8_t id_type;		/* IKEV2_ID_* of IDi */
	const char *id;			/* text, or 4 bytes for IPv4 */
	const uint8_t *psk;
	size_t psk_len;
	uint8_t auth_method;		/* 0: IKEV2_AUTH_PSK */
	struct ikp_prop esp[IKP_MAX_PROPS];	/* SAi2; none: no Child SA */
	unsigned n_esp;
	struct ikev2_ts tsi[2], tsr[2];
	unsigned n_tsi, n_tsr;
	bool initial_contact;		/* N(INITIAL_CONTACT) after AUTH */
};

/* A whole-protocol, all-port IPv4 selector for a.b.c.d/len. */
static inline struct ikev2_ts ikp_ts4(const char *net, unsigned len)
{
	uint32_t s = ntohl(ikp_ip(net));
	uint32_t span = len ? (len == 32 ? 0 : 0xffffffffu >> len) : 0xffffffffu;
	struct ikev2_ts t = {
		.type = IKEV2_TS_IPV4_ADDR_RANGE, .proto = 0,
		.start_port = 0, .end_port = 65535,
	};

	t.v4.start = htonl(s & ~span);
	t.v4.end = htonl((s & ~span) | span);
	return t;
}

/* ESP proposal of one cipher (+ integrity if integ), no ESN, SPI spi. */
static inline void ikp_prop_esp(struct ikp_prop *p, uint32_t spi, uint16_t encr,
				uint16_t bits, uint16_t integ)
{
	memset(p, 0, sizeof(*p));
	p->proto = IKEV2_PROTO_ESP;
	p->spi = spi;
	p->xf[p->n_xf++] = (struct ikp_xf)IKP_ENCR(encr, bits);
	if (integ)
		p->xf[p->n_xf++] = (struct ikp_xf)IKP_INTEG(integ);
	p->xf[p->n_xf++] = (struct ikp_xf)IKP_ESN(IKEV2_ESN_NONE);
}

/*
 * The usual branch: IDi FQDN id, PSK, one ESP proposal (AES-CBC-256,
 * HMAC-SHA2-256-128, our inbound SPI esp_spi), TSi 10.1.0.0/24, TSr any.
 */
static inline void ikp_auth_fqdn(struct ikp_auth *a, const char *id,
				 const uint8_t *psk, size_t psk_len, uint32_t esp_spi)
{
	memset(a, 0, sizeof(*a));
	a->id_type = IKEV2_ID_FQDN;
	a->id = id;
	a->psk = psk;
	a->psk_len = psk_len;
	a->n_esp = 1;
	ikp_prop_esp(&a->esp[0], esp_spi, IKE_ENCR_AES_CBC, 256,
		     IKE_AUTH_HMAC_SHA2_256_128);
	a->tsi[0] = ikp_ts4("10.1.0.0", 24);
	a->n_tsi = 1;
	a->tsr[0] = ikp_ts4("0.0.0.0", 0);
	a->n_tsr = 1;
}

static inline size_t ikp_id_len(const struct ikp_auth *a)
{
	return a->id_type == IKEV2_ID_IPV4_ADDR ? 4 : strlen(a->id);
}

/*
 * IKE_AUTH request, message ID p->msgid (then incremented):
 * HDR, SK{IDi, AUTH, [SAi2, TSi, TSr]}. AUTH is the PSK MAC over our
 * signed octets: RealMessage1 | NonceRData | prf(SK_pi, IDi') (2.15).
 */
static inline int ikp_auth_req(struct ike_peer *p, const struct ikp_auth *a,
			       uint8_t *out, size_t cap, size_t *len)
{
	uint8_t inner[IKP_MSG_MAX], idb[4 + 256], auth[IKE_PRF_MAX_LEN], sa[1024];
	size_t id_len = ikp_id_len(a), alen = sizeof(auth);
	struct ikev2_buf b;
	int err;

	if (!p->keyed || id_len > 256)
		return -EINVAL;
	memset(idb, 0, 4);
	idb[0] = a->id_type;
	memcpy(idb + 4, a->id, id_len);
	err = ike_psk_auth(p->ike_ch.prf, a->psk, a->psk_len, p->init_req,
			   p->init_req_len, p->nr, p->nr_len, p->keys.sk_pi,
			   p->keys.sk_p_len, idb, 4 + id_len, auth, &alen);
	if (err)
		return err;
	ikev2_build_inner(&b, inner, sizeof(inner));
	ikev2_put_id(&b, IKEV2_PLD_IDI, a->id_type, a->id, id_len);
	ikev2_put_auth(&b, a->auth_method ? a->auth_method : IKEV2_AUTH_PSK,
		       auth, alen);
	if (a->initial_contact)
		ikev2_put_notify(&b, IKEV2_PROTO_NONE, 0, 0,
				 IKEV2_N_INITIAL_CONTACT, NULL, 0);
	if (a->n_esp) {
		ikev2_put_raw(&b, IKEV2_PLD_SA, sa, ikp_sa_body(sa, a->esp, a->n_esp));
		ikev2_put_ts(&b, IKEV2_PLD_TSI, a->tsi, a->n_tsi);
		ikev2_put_ts(&b, IKEV2_PLD_TSR, a->tsr, a->n_tsr);
	}
	err = ikp_seal(p, IKEV2_EXCH_IKE_AUTH, p->msgid, false, &b, out, cap, len);
	if (!err)
		p->msgid++;
	return err;
}

/* The Child SA as the initiator sees it after IKE_AUTH. */
struct ikp_child {
	struct ikev2_choice ch;		/* the responder's SAr2 */
	unsigned n_xf;			/* transforms in SAr2 */
	uint32_t spi_r;			/* the responder's inbound SPI, host */
	struct ikev2_ts_pld tsi, tsr;
	struct ike_child_keys keys;	/* KEYMAT as we derive it */
};

/*
 * Check an opened IKE_AUTH response: IDr and AUTH (verified over the
 * responder's signed octets, RealMessage2 | NonceIData | prf(SK_pr, IDr'))
 * and, when it holds SA, TSi and TSr, the Child SA and its keys. Returns 0,
 * an error notify type (> 0), -EACCES for a bad AUTH, or -errno.
 */
static inline int ikp_auth_resp(struct ike_peer *p, const struct ikp_auth *a,
				const struct ikp_msg *r, struct ikp_child *c)
{
	const struct ikev2_msg *m = &r->m;
	struct ikev2_auth_pld auth;
	uint16_t err_type = ikp_error(m);
	int i_id = ikev2_msg_find(m, IKEV2_PLD_IDR, 0);
	int i_auth = ikev2_msg_find(m, IKEV2_PLD_AUTH, 0);
	int i_sa = ikev2_msg_find(m, IKEV2_PLD_SA, 0);
	int i_tsi = ikev2_msg_find(m, IKEV2_PLD_TSI, 0);
	int i_tsr = ikev2_msg_find(m, IKEV2_PLD_TSR, 0);

	if (r->h.exch != IKEV2_EXCH_IKE_AUTH || !(r->h.flags & IKEV2_FLAG_RESPONSE))
		return -EPROTO;
	if (i_id < 0 || i_auth < 0)
		return err_type ? err_type : -EBADMSG;
	if (ikev2_dec_auth(&m->pld[i_auth], &auth) ||
	    auth.method != IKEV2_AUTH_PSK ||
	    ike_auth_verify(p->ike_ch.prf, a->psk, a->psk_len, p->init_resp,
			    p->init_resp_len, p->ni, sizeof(p->ni), p->keys.sk_pr,
			    p->keys.sk_p_len, m->pld[i_id].body, m->pld[i_id].len,
			    auth.data, auth.len))
		return -EACCES;
	if (err_type)
		return err_type;
	if (!c)
		return 0;
	memset(c, 0, sizeof(*c));
	if (i_sa < 0 || i_tsi < 0 || i_tsr < 0)
		return -ENOENT;
	if (ikp_echo(&m->pld[i_sa], &c->ch, &c->n_xf) ||
	    ikev2_dec_ts(&m->pld[i_tsi], &c->tsi) ||
	    ikev2_dec_ts(&m->pld[i_tsr], &c->tsr))
		return -EBADMSG;
	c->spi_r = (uint32_t)c->ch.peer_spi;
	{
		struct ike_suite cs = {
			.encr = c->ch.encr, .encr_key_bits = c->ch.encr_keylen,
			.integ = c->ch.integ,
		};

		/* KEYMAT = prf+(SK_d, Ni | Nr), 2.17 */
		return ike_child_keymat(&c->keys, p->ike_ch.prf, p->keys.sk_d,
					p->keys.sk_d_len, &cs, NULL, 0, p->ni,
					sizeof(p->ni), p->nr, p->nr_len);
	}
}

/* ---- INFORMATIONAL ---------------------------------------------------- */

/*
 * INFORMATIONAL request, message ID p->msgid (then incremented): empty,
 * or D(ESP) with our inbound SPIs, and/or D(IKE).
 */
static inline int ikp_info_req(struct ike_peer *p, const uint32_t *esp_spis,
			       unsigned n_esp, bool del_ike, uint8_t *out,
			       size_t cap, size_t *len)
{
	uint8_t inner[IKP_MSG_MAX];
	struct ikev2_buf b;
	int err;

	ikev2_build_inner(&b, inner, sizeof(inner));
	if (n_esp)
		ikev2_put_delete(&b, IKEV2_PROTO_ESP, esp_spis, n_esp);
	if (del_ike)
		ikev2_put_delete(&b, IKEV2_PROTO_IKE, NULL, 0);
	err = ikp_seal(p, IKEV2_EXCH_INFORMATIONAL, p->msgid, false, &b, out, cap,
		       len);
	if (!err)
		p->msgid++;
	return err;
}

/* ---- CREATE_CHILD_SA: Child SAs ------------------------------------------ */

/*
 * Our CREATE_CHILD_SA for a new Child SA, or the rekey of ours whose
 * inbound SPI is rekey_spi (host order, 0: a new one), with PFS when
 * pfs_group is set: HDR, SK {[N(REKEY_SA)], SA, Ni, [KEi], TSi, TSr}.
 */
static inline int ikp_child_req(struct ike_peer *p, const struct ikp_auth *a,
				uint32_t rekey_spi, uint16_t pfs_group,
				uint8_t *out, size_t cap, size_t *len)
{
	uint8_t inner[IKP_MSG_MAX], sa[1024], ke[IKE_DH_MAX_LEN];
	struct ikev2_buf b;
	size_t glen = ike_dh_group_len(pfs_group);
	struct ikp_prop prop[IKP_MAX_PROPS];
	unsigned i;
	int err;

	if (ike_random(p->cni, sizeof(p->cni)))
		return -EIO;
	ike_dh_free(p->cdh);
	p->cdh = NULL;
	if (pfs_group && (ike_dh_new(pfs_group, &p->cdh) ||
			  ike_dh_public(p->cdh, ke, glen)))
		return -EIO;
	memcpy(prop, a->esp, sizeof(prop));
	for (i = 0; pfs_group && i < a->n_esp; i++)
		prop[i].xf[prop[i].n_xf++] = (struct ikp_xf)IKP_DH(pfs_group);
	ikev2_build_inner(&b, inner, sizeof(inner));
	if (rekey_spi)
		ikev2_put_notify(&b, IKEV2_PROTO_ESP, 4, rekey_spi, IKEV2_N_REKEY_SA,
				 NULL, 0);
	ikev2_put_raw(&b, IKEV2_PLD_SA, sa, ikp_sa_body(sa, prop, a->n_esp));
	ikev2_put_nonce(&b, p->cni, sizeof(p->cni));
	if (pfs_group)
		ikev2_put_ke(&b, pfs_group, ke, glen);
	ikev2_put_ts(&b, IKEV2_PLD_TSI, a->tsi, a->n_tsi);
	ikev2_put_ts(&b, IKEV2_PLD_TSR, a->tsr, a->n_tsr);
	err = ikp_seal(p, IKEV2_EXCH_CREATE_CHILD_SA, p->msgid, false, &b, out, cap,
		       len);
	if (!err)
		p->msgid++;
	return err;
}

/* KEYMAT of a Child SA: prf+(SK_d, [g^ir] | Ni | Nr) (2.17). */
static inline int ikp_child_keys(const struct ike_peer *p, struct ikp_child *c,
				 const uint8_t *gir, size_t gir_len,
				 const uint8_t *ni, size_t ni_len,
				 const uint8_t *nr, size_t nr_len)
{
	struct ike_suite cs = {
		.encr = c->ch.encr, .encr_key_bits = c->ch.encr_keylen,
		.integ = c->ch.integ,
	};

	return ike_child_keymat(&c->keys, p->ike_ch.prf, p->keys.sk_d,
				p->keys.sk_d_len, &cs, gir, gir_len, ni, ni_len,
				nr, nr_len);
}

/*
 * The answer to ikp_child_req(): 0 with c keyed (keys: ours first), an
 * error notify type (> 0), or -errno.
 */
static inline int ikp_child_resp(struct ike_peer *p, const struct ikp_msg *r,
				 struct ikp_child *c)
{
	const struct ikev2_msg *m = &r->m;
	uint16_t err_type = ikp_error(m);
	int i_sa = ikev2_msg_find(m, IKEV2_PLD_SA, 0);
	int i_n = ikev2_msg_find(m, IKEV2_PLD_NONCE, 0);
	int i_ke = ikev2_msg_find(m, IKEV2_PLD_KE, 0);
	int i_tsi = ikev2_msg_find(m, IKEV2_PLD_TSI, 0);
	int i_tsr = ikev2_msg_find(m, IKEV2_PLD_TSR, 0);
	uint8_t gir[IKE_DH_MAX_LEN];
	size_t glen = 0;
	int err;

	if (r->h.exch != IKEV2_EXCH_CREATE_CHILD_SA ||
	    !(r->h.flags & IKEV2_FLAG_RESPONSE))
		return -EPROTO;
	if (err_type)
		return err_type;
	memset(c, 0, sizeof(*c));
	if (i_sa < 0 || i_n < 0 || i_tsi < 0 || i_tsr < 0 ||
	    ikp_echo(&m->pld[i_sa], &c->ch, &c->n_xf) ||
	    ikev2_dec_ts(&m->pld[i_tsi], &c->tsi) ||
	    ikev2_dec_ts(&m->pld[i_tsr], &c->tsr))
		return -EBADMSG;
	c->spi_r = (uint32_t)c->ch.peer_spi;
	if (p->cdh) {
		struct ikev2_ke_pld ke;

		glen = ike_dh_group_len(ike_dh_group(p->cdh));
		if (i_ke < 0 || ikev2_dec_ke(&m->pld[i_ke], &ke) ||
		    ike_dh_derive(p->cdh, ke.data, ke.len, gir, glen))
			return -EBADMSG;
	}
	err = ikp_child_keys(p, c, p->cdh ? gir : NULL, glen, p->cni,
			     sizeof(p->cni), m->pld[i_n].body, m->pld[i_n].len);
	OPENSSL_cleanse(gir, sizeof(gir));
	return err;
}

/*
 * Answer the engine's CREATE_CHILD_SA request r (a rekey of ours): accept
 * its one proposal with our new inbound SPI spi, echo its selectors, PFS
 * if it sent a KE. c: the new Child SA, keys the engine's first (it is the
 * exchange's initiator). The answer goes into out. -errno if r is not a
 * well-formed CREATE_CHILD_SA request.
 */
static inline int ikp_answer_child(struct ike_peer *p, const struct ikp_msg *r,
				   uint32_t spi, struct ikp_child *c,
				   uint32_t *rekeyed, uint8_t *out, size_t cap,
				   size_t *len)
{
	const struct ikev2_msg *m = &r->m;
	int i_sa = ikev2_msg_find(m, IKEV2_PLD_SA, 0);
	int i_n = ikev2_msg_find(m, IKEV2_PLD_NONCE, 0);
	int i_ke = ikev2_msg_find(m, IKEV2_PLD_KE, 0);
	int i_tsi = ikev2_msg_find(m, IKEV2_PLD_TSI, 0);
	int i_tsr = ikev2_msg_find(m, IKEV2_PLD_TSR, 0);
	uint8_t inner[IKP_MSG_MAX], nr[IKP_NONCE_LEN], pub[IKE_DH_MAX_LEN];
	uint8_t gir[IKE_DH_MAX_LEN];
	struct ikev2_notify_pld n;
	struct ikev2_ke_pld ke;
	struct ike_dh *dh = NULL;
	struct ikev2_buf b;
	size_t glen = 0;
	int err;

	if (r->h.exch != IKEV2_EXCH_CREATE_CHILD_SA ||
	    (r->h.flags & IKEV2_FLAG_RESPONSE) || i_sa < 0 || i_n < 0 ||
	    i_tsi < 0 || i_tsr < 0)
		return -EPROTO;
	memset(c, 0, sizeof(*c));
	if (ikp_echo(&m->pld[i_sa], &c->ch, &c->n_xf) ||
	    ikev2_dec_ts(&m->pld[i_tsi], &c->tsi) ||
	    ikev2_dec_ts(&m->pld[i_tsr], &c->tsr) || ike_random(nr, sizeof(nr)))
		return -EBADMSG;
	*rekeyed = 0;
	if (ikev2_find_notify(m, IKEV2_N_REKEY_SA, &n) == 0 && n.spi_size == 4)
		*rekeyed = (uint32_t)n.spi[0] << 24 | n.spi[1] << 16 |
			   n.spi[2] << 8 | n.spi[3];
	c->spi_r = (uint32_t)c->ch.peer_spi;	/* the engine's new inbound */
	if (i_ke >= 0) {
		if (ikev2_dec_ke(&m->pld[i_ke], &ke))
			return -EBADMSG;
		glen = ike_dh_group_len(ke.group);
		if (ike_dh_new(ke.group, &dh) || ike_dh_public(dh, pub, glen) ||
		    ike_dh_derive(dh, ke.data, ke.len, gir, glen)) {
			ike_dh_free(dh);
			return -EIO;
		}
	}
	err = ikp_child_keys(p, c, dh ? gir : NULL, glen, m->pld[i_n].body,
			     m->pld[i_n].len, nr, sizeof(nr));
	OPENSSL_cleanse(gir, sizeof(gir));
	c->ch.peer_spi = spi;
	ikev2_build_inner(&b, inner, sizeof(inner));
	ikev2_put_sa(&b, &c->ch, spi);
	ikev2_put_nonce(&b, nr, sizeof(nr));
	if (dh)
		ikev2_put_ke(&b, ke.group, pub, glen);
	ikev2_put_ts(&b, IKEV2_PLD_TSI, c->tsi.ts, c->tsi.n);
	ikev2_put_ts(&b, IKEV2_PLD_TSR, c->tsr.ts, c->tsr.n);
	ike_dh_free(dh);
	if (!err)
		err = ikp_seal(p, IKEV2_EXCH_CREATE_CHILD_SA, r->h.msgid, true, &b,
			       out, cap, len);
	return err;
}

/* An answer to the engine's request r holding only a notify (or nothing). */
static inline int ikp_answer_notify(struct ike_peer *p, const struct ikp_msg *r,
				    uint16_t type, uint8_t *out, size_t cap,
				    size_t *len)
{
	uint8_t inner[IKP_MSG_MAX];
	struct ikev2_buf b;

	ikev2_build_inner(&b, inner, sizeof(inner));
	if (type)
		ikev2_put_notify(&b, IKEV2_PROTO_NONE, 0, 0, type, NULL, 0);
	return ikp_seal(p, r->h.exch, r->h.msgid, true, &b, out, cap, len);
}

/* An answer to the engine's INFORMATIONAL r: DELETEs of our SPIs. */
static inline int ikp_answer_delete(struct ike_peer *p, const struct ikp_msg *r,
				    const uint32_t *spis, unsigned n,
				    uint8_t *out, size_t cap, size_t *len)
{
	uint8_t inner[IKP_MSG_MAX];
	struct ikev2_buf b;

	ikev2_build_inner(&b, inner, sizeof(inner));
	if (n)
		ikev2_put_delete(&b, IKEV2_PROTO_ESP, spis, n);
	return ikp_seal(p, r->h.exch, r->h.msgid, true, &b, out, cap, len);
}

/* ---- CREATE_CHILD_SA: the IKE SA ------------------------------------------ */

/* Our IKE SA rekey: HDR, SK {SA(IKE, our new SPI), Ni, KEi} (1.3.2). */
static inline int ikp_rekey_ike_req(struct ike_peer *p, uint8_t *out,
				    size_t cap, size_t *len)
{
	uint8_t inner[IKP_MSG_MAX], ke[IKE_DH_MAX_LEN];
	struct ikev2_choice ch = p->ike_ch;
	size_t glen = ike_dh_group_len(ch.dh);
	struct ikev2_buf b;
	int err;

	if (ike_spi_ike(p->new_spi) || ike_random(p->cni, sizeof(p->cni)))
		return -EIO;
	ike_dh_free(p->cdh);
	p->cdh = NULL;
	if (ike_dh_new(ch.dh, &p->cdh) || ike_dh_public(p->cdh, ke, glen))
		return -EIO;
	ch.propnum = 1;
	ch.spi_size = 8;
	ch.xf_mask = 1u << IKEV2_XF_ENCR | 1u << IKEV2_XF_PRF |
		     1u << IKEV2_XF_INTEG | 1u << IKEV2_XF_DH;
	ikev2_build_inner(&b, inner, sizeof(inner));
	ikev2_put_sa(&b, &ch, ikp_be64(p->new_spi));
	ikev2_put_nonce(&b, p->cni, sizeof(p->cni));
	ikev2_put_ke(&b, ch.dh, ke, glen);
	err = ikp_seal(p, IKEV2_EXCH_CREATE_CHILD_SA, p->msgid, false, &b, out, cap,
		       len);
	if (!err)
		p->msgid++;
	return err;
}

/* The new IKE SA's keys from the old SK_d (2.18); p becomes the new SA. */
static inline int ikp_rekey_keys(struct ike_peer *p, const uint8_t *gir,
				 size_t glen, const uint8_t *ni, size_t ni_len,
				 const uint8_t *nr, size_t nr_len,
				 const uint8_t spi_i[IKE_SPI_LEN],
				 const uint8_t spi_r[IKE_SPI_LEN], bool we_init)
{
	struct ike_suite s = {
		.encr = p->ike_ch.encr, .encr_key_bits = p->ike_ch.encr_keylen,
		.prf = p->ike_ch.prf, .integ = p->ike_ch.integ, .dh = p->ike_ch.dh,
	};
	uint8_t seed[IKE_PRF_MAX_LEN];
	size_t seed_len = sizeof(seed);
	struct ike_keys nk;
	int err;

	err = ike_skeyseed_rekey(p->ike_ch.prf, p->keys.sk_d, p->keys.sk_d_len, gir,
				 glen, ni, ni_len, nr, nr_len, seed, &seed_len);
	if (!err)
		err = ike_keys_derive(&nk, &s, seed, seed_len, ni, ni_len, nr, nr_len,
				      spi_i, spi_r);
	OPENSSL_cleanse(seed, sizeof(seed));
	if (err)
		return err;
	ike_keys_wipe(&p->keys);
	p->keys = nk;
	memcpy(p->spi_i, spi_i, IKE_SPI_LEN);
	memcpy(p->spi_r, spi_r, IKE_SPI_LEN);
	p->resp_side = !we_init;
	p->msgid = 0;		/* 2.18: the new SA counts from 0 */
	return 0;
}

/* The answer to ikp_rekey_ike_req(): 0 with p keyed as the new SA. */
static inline int ikp_rekey_ike_resp(struct ike_peer *p, const struct ikp_msg *r)
{
	const struct ikev2_msg *m = &r->m;
	uint16_t err_type = ikp_error(m);
	int i_sa = ikev2_msg_find(m, IKEV2_PLD_SA, 0);
	int i_n = ikev2_msg_find(m, IKEV2_PLD_NONCE, 0);
	int i_ke = ikev2_msg_find(m, IKEV2_PLD_KE, 0);
	uint8_t gir[IKE_DH_MAX_LEN], spi_r[IKE_SPI_LEN];
	struct ikev2_choice ch;
	struct ikev2_ke_pld ke;
	size_t glen = ike_dh_group_len(p->ike_ch.dh);
	int err;

	if (r->h.exch != IKEV2_EXCH_CREATE_CHILD_SA ||
	    !(r->h.flags & IKEV2_FLAG_RESPONSE))
		return -EPROTO;
	if (err_type)
		return err_type;
	if (i_sa < 0 || i_n < 0 || i_ke < 0 || ikp_echo(&m->pld[i_sa], &ch, NULL) ||
	    ch.proto != IKEV2_PROTO_IKE || ikev2_dec_ke(&m->pld[i_ke], &ke) ||
	    ike_dh_derive(p->cdh, ke.data, ke.len, gir, glen))
		return -EBADMSG;
	ikp_put64(spi_r, ch.peer_spi);
	err = ikp_rekey_keys(p, gir, glen, p->cni, sizeof(p->cni), m->pld[i_n].body,
			     m->pld[i_n].len, p->new_spi, spi_r, true);
	OPENSSL_cleanse(gir, sizeof(gir));
	return err;
}

/*
 * Answer the engine's IKE SA rekey r: our new SPI, nonce, KE; p becomes
 * the new SA (the engine its initiator) once out holds the answer, which
 * goes out with the OLD SA's keys: old (may be NULL) keeps a copy of p as
 * it was, to send or read more on the old SA.
 */
static inline int ikp_answer_ike_rekey(struct ike_peer *p, const struct ikp_msg *r,
				       struct ike_peer *old, uint8_t *out,
				       size_t cap, size_t *len)
{
	const struct ikev2_msg *m = &r->m;
	int i_sa = ikev2_msg_find(m, IKEV2_PLD_SA, 0);
	int i_n = ikev2_msg_find(m, IKEV2_PLD_NONCE, 0);
	int i_ke = ikev2_msg_find(m, IKEV2_PLD_KE, 0);
	uint8_t inner[IKP_MSG_MAX], nr[IKP_NONCE_LEN], pub[IKE_DH_MAX_LEN];
	uint8_t gir[IKE_DH_MAX_LEN], spi_i[IKE_SPI_LEN], spi_r[IKE_SPI_LEN];
	struct ikev2_choice ch;
	struct ikev2_ke_pld ke;
	struct ike_dh *dh = NULL;
	struct ikev2_buf b;
	size_t glen;
	int err;

	if (r->h.exch != IKEV2_EXCH_CREATE_CHILD_SA ||
	    (r->h.flags & IKEV2_FLAG_RESPONSE) || i_sa < 0 || i_n < 0 || i_ke < 0 ||
	    ikp_echo(&m->pld[i_sa], &ch, NULL) || ch.proto != IKEV2_PROTO_IKE ||
	    ikev2_dec_ke(&m->pld[i_ke], &ke))
		return -EPROTO;
	glen = ike_dh_group_len(ke.group);
	if (ike_random(nr, sizeof(nr)) || ike_spi_ike(spi_r) ||
	    ike_dh_new(ke.group, &dh) || ike_dh_public(dh, pub, glen) ||
	    ike_dh_derive(dh, ke.data, ke.len, gir, glen)) {
		ike_dh_free(dh);
		return -EIO;
	}
	ike_dh_free(dh);
	ikp_put64(spi_i, ch.peer_spi);
	ikev2_build_inner(&b, inner, sizeof(inner));
	ikev2_put_sa(&b, &ch, ikp_be64(spi_r));
	ikev2_put_nonce(&b, nr, sizeof(nr));
	ikev2_put_ke(&b, ke.group, pub, glen);
	err = ikp_seal(p, IKEV2_EXCH_CREATE_CHILD_SA, r->h.msgid, true, &b, out,
		       cap, len);
	if (!err && old) {
		*old = *p;
		old->dh = old->cdh = NULL;	/* owned by p */
	}
	if (!err)
		err = ikp_rekey_keys(p, gir, glen, m->pld[i_n].body, m->pld[i_n].len,
				     nr, sizeof(nr), spi_i, spi_r, false);
	OPENSSL_cleanse(gir, sizeof(gir));
	return err;
}

/* ---- the wire --------------------------------------------------------- */

/* The datagram for msg: on 4500 the non-ESP marker goes first (RFC 3948 2.2). */
static inline size_t ikp_wire(bool natt, const uint8_t *msg, size_t len,
			      uint8_t *out)
{
	if (!natt) {
		memmove(out, msg, len);
		return len;
	}
	memmove(out + 4, msg, len);
	memset(out, 0, 4);
	return len + 4;
}

#endif
