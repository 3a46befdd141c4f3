// SPDX-License-Identifier: GPL-2.0
/*
 * ikev2_pld.c - IKEv2 payload parsing (validate, then decode) and building.
 *
 * Each payload type has one walker that checks its structure against the
 * bytes it was given and, if asked (out != NULL), fills a decoded struct.
 * ikev2_parse_chain() runs every walker with out == NULL (validation) and
 * the ikev2_dec_*() functions run the same walker with out set, so what was
 * validated and what is decoded can never drift apart.
 *
 * Wire structs are only ever copied out of the buffer with memcpy() after
 * the length check, so there are no unaligned loads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "ikev2_pld.h"

#define NO_LINK		((size_t)-1)
#define PLD_LEN_MAX	0xffff		/* 16-bit payload length field */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* Write the low n bytes (0..8) of v big-endian. */
static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* Length in bytes of a MODP group's public value (RFC 7296 3.4), 0 if
 * not one of ours. */
static size_t modp_len(uint16_t group)
{
	switch (group) {
	case IKE_DH_MODP2048:
		return 256;
	case IKE_DH_MODP3072:
		return 384;
	case IKE_DH_MODP4096:
		return 512;
	case IKE_DH_MODP8192:
		return 1024;
	}
	return 0;
}

/* ---- per-type walkers: validate, and decode when out != NULL ---------- */

/* 3.3.5: attributes of one transform. */
static int attr_walk(const uint8_t *b, size_t len, struct ikev2_xf *xf,
		     const char **why)
{
	size_t off = 0;

	while (off < len) {
		struct ikev2_attr a;
		uint16_t type;

		if (len - off < sizeof(a)) {
			*why = "SA: transform attribute truncated";
			return -EBADMSG;
		}
		memcpy(&a, b + off, sizeof(a));
		type = ntohs(a.type);
		if (type & IKEV2_ATTR_TV) {
			/* TV: the value is in the header */
			if ((type & ~IKEV2_ATTR_TV) == IKEV2_ATTR_KEY_LENGTH &&
			    !xf->has_keylen) {
				xf->has_keylen = true;
				xf->keylen = ntohs(a.len_or_value);
			} else {
				xf->bad_attr = true;
			}
			off += sizeof(a);
			continue;
		}
		/* TLV: a length, then the value; none is defined for IKEv2 */
		if (ntohs(a.len_or_value) > len - off - sizeof(a)) {
			*why = "SA: TLV attribute length exceeds its transform";
			return -EBADMSG;
		}
		xf->bad_attr = true;
		off += sizeof(a) + ntohs(a.len_or_value);
	}
	return 0;
}

/* 3.3.2: the n_xf transforms of one proposal, filling exactly len bytes. */
static int xform_walk(const uint8_t *b, size_t len, unsigned n_xf,
		      struct ikev2_proposal *out, const char **why)
{
	size_t off = 0;
	int rc;

	if (n_xf == 0) {
		*why = "SA: proposal without transforms";
		return -EBADMSG;
	}
	if (n_xf > IKEV2_MAX_XFORMS) {
		*why = "SA: too many transforms in a proposal";
		return -E2BIG;
	}
	for (unsigned i = 0; i < n_xf; i++) {
		struct ikev2_xform t;
		struct ikev2_xf xf = { 0 };
		uint8_t want_last;
		uint16_t tlen;

		if (len - off < sizeof(t)) {
			*why = "SA: transform header truncated";
			return -EBADMSG;
		}
		memcpy(&t, b + off, sizeof(t));
		tlen = ntohs(t.length);
		if (tlen < sizeof(t) || tlen > len - off) {
			*why = "SA: bad transform length";
			return -EBADMSG;
		}
		want_last = i + 1 == n_xf ? IKEV2_LAST_NONE
					  : IKEV2_LAST_MORE_XFORM;
		if (t.last != want_last) {
			*why = "SA: transform last-substruc disagrees with count";
			return -EBADMSG;
		}
		rc = attr_walk(b + off + sizeof(t), tlen - sizeof(t), &xf, why);
		if (rc)
			return rc;
		if (out) {
			xf.type = t.type;
			xf.id = ntohs(t.id);
			out->xf[i] = xf;
		}
		off += tlen;
	}
	if (off != len) {
		*why = "SA: transforms do not fill their proposal";
		return -EBADMSG;
	}
	if (out)
		out->n_xf = n_xf;
	return 0;
}

/* How proposals must be numbered (3.3.1). */
enum sa_numbering {
	SA_REQUEST,	/* 1, 2, 3, ... */
	SA_RESPONSE,	/* exactly one, echoing the accepted number */
	SA_EITHER,	/* decoding what was validated as one of the above */
};

static bool prop_num_ok(enum sa_numbering mode, unsigned n, uint8_t num,
			uint8_t last)
{
	bool in_order = num == n + 1;
	bool lone = n == 0 && num != 0 && last == IKEV2_LAST_NONE;

	switch (mode) {
	case SA_REQUEST:
		return in_order;
	case SA_RESPONSE:
		return lone;
	case SA_EITHER:
		return in_order || lone;
	}
	return false;
}

/* 3.3 / 3.3.1: the proposals of an SA payload. */
static int sa_walk(const uint8_t *b, size_t len, enum sa_numbering mode,
		   struct ikev2_sa *out, const char **why)
{
	uint8_t last = IKEV2_LAST_MORE_PROP;
	size_t off = 0;
	unsigned n = 0;
	int rc;

	if (len == 0) {
		*why = "SA: no proposal";
		return -EBADMSG;
	}
	while (off < len) {
		struct ikev2_proposal *pp;
		struct ikev2_prop p;
		uint16_t plen;

		if (last != IKEV2_LAST_MORE_PROP) {
			*why = "SA: data after the last proposal";
			return -EBADMSG;
		}
		if (n == IKEV2_MAX_PROPOSALS) {
			*why = "SA: too many proposals";
			return -E2BIG;
		}
		pp = out ? &out->prop[n] : NULL;
		if (len - off < sizeof(p)) {
			*why = "SA: proposal header truncated";
			return -EBADMSG;
		}
		memcpy(&p, b + off, sizeof(p));
		plen = ntohs(p.length);
		if (plen < sizeof(p) || plen > len - off) {
			*why = "SA: bad proposal length";
			return -EBADMSG;
		}
		last = p.last;
		if (last != IKEV2_LAST_NONE && last != IKEV2_LAST_MORE_PROP) {
			*why = "SA: bad proposal last-substruc";
			return -EBADMSG;
		}
		/* 3.3.1: 1, 2, 3...; equal numbers (IKEv1 AND) are invalid.
		 * A response echoes the one accepted proposal's number. */
		if (!prop_num_ok(mode, n, p.num, last)) {
			*why = mode == SA_RESPONSE
				       ? "SA: response must hold one proposal"
				       : "SA: proposal numbers must be 1, 2, 3, ...";
			return -EBADMSG;
		}
		switch (p.proto) {
		case IKEV2_PROTO_IKE:
			if (p.spi_size != 0 && p.spi_size != 8) {
				*why = "SA: IKE proposal SPI size not 0 or 8";
				return -EBADMSG;
			}
			break;
		case IKEV2_PROTO_AH:
		case IKEV2_PROTO_ESP:
			if (p.spi_size != 4) {
				*why = "SA: ESP/AH proposal SPI size not 4";
				return -EBADMSG;
			}
			break;
		}
		if (p.spi_size > plen - sizeof(p)) {
			*why = "SA: proposal SPI exceeds the proposal";
			return -EBADMSG;
		}
		rc = xform_walk(b + off + sizeof(p) + p.spi_size,
				plen - sizeof(p) - p.spi_size, p.n_xforms,
				pp, why);
		if (rc)
			return rc;
		if (pp) {
			pp->num = p.num;
			pp->proto = p.proto;
			pp->spi_size = p.spi_size;
			pp->spi = p.spi_size ? b + off + sizeof(p) : NULL;
		}
		off += plen;
		n++;
	}
	if (last != IKEV2_LAST_NONE) {
		*why = "SA: last proposal says another follows";
		return -EBADMSG;
	}
	if (out)
		out->n = n;
	return 0;
}

/* 3.4 */
static int ke_walk(const uint8_t *b, size_t len, struct ikev2_ke_pld *out,
		   const char **why)
{
	struct ikev2_ke k;
	size_t want;

	if (len < sizeof(k) + 1) {
		*why = "KE: too short";
		return -EBADMSG;
	}
	memcpy(&k, b, sizeof(k));
	want = modp_len(ntohs(k.group));
	if (want && len - sizeof(k) != want) {
		*why = "KE: public value length does not match the group";
		return -EBADMSG;
	}
	if (out) {
		out->group = ntohs(k.group);
		out->data = b + sizeof(k);
		out->len = len - sizeof(k);
	}
	return 0;
}

/* 3.5 */
static int id_walk(const uint8_t *b, size_t len, struct ikev2_id_pld *out,
		   const char **why)
{
	struct ikev2_id h;
	size_t dlen;

	if (len < sizeof(h)) {
		*why = "ID: too short";
		return -EBADMSG;
	}
	memcpy(&h, b, sizeof(h));
	dlen = len - sizeof(h);
	switch (h.type) {
	case IKEV2_ID_IPV4_ADDR:
		if (dlen != 4) {
			*why = "ID: IPv4 address not 4 bytes";
			return -EBADMSG;
		}
		break;
	case IKEV2_ID_IPV6_ADDR:
		if (dlen != 16) {
			*why = "ID: IPv6 address not 16 bytes";
			return -EBADMSG;
		}
		break;
	case IKEV2_ID_FQDN:
	case IKEV2_ID_RFC822_ADDR:
	case IKEV2_ID_KEY_ID:
		if (dlen == 0) {
			*why = "ID: empty identity";
			return -EBADMSG;
		}
		break;
	}
	if (out) {
		out->type = h.type;
		out->data = b + sizeof(h);
		out->len = dlen;
	}
	return 0;
}

/* 3.8 */
static int auth_walk(const uint8_t *b, size_t len, struct ikev2_auth_pld *out,
		     const char **why)
{
	struct ikev2_auth h;

	if (len < sizeof(h)) {
		*why = "AUTH: too short";
		return -EBADMSG;
	}
	memcpy(&h, b, sizeof(h));
	if (out) {
		out->method = h.method;
		out->data = b + sizeof(h);
		out->len = len - sizeof(h);
	}
	return 0;
}

/* 3.10; the data of the status notifies the daemon reads is checked too. */
static int notify_walk(const uint8_t *b, size_t len,
		       struct ikev2_notify_pld *out, const char **why)
{
	struct ikev2_notify h;
	size_t dlen;
	uint16_t type;

	if (len < sizeof(h)) {
		*why = "N: too short";
		return -EBADMSG;
	}
	memcpy(&h, b, sizeof(h));
	if (h.spi_size > len - sizeof(h)) {
		*why = "N: SPI exceeds the payload";
		return -EBADMSG;
	}
	dlen = len - sizeof(h) - h.spi_size;
	type = ntohs(h.type);
	switch (type) {
	case IKEV2_N_NAT_DETECTION_SOURCE_IP:
	case IKEV2_N_NAT_DETECTION_DESTINATION_IP:
		if (dlen != IKEV2_NATD_LEN) {
			*why = "N: NAT_DETECTION data not 20 bytes";
			return -EBADMSG;
		}
		break;
	case IKEV2_N_COOKIE:
		if (dlen < 1 || dlen > IKEV2_COOKIE_MAX) {
			*why = "N: COOKIE not 1..64 bytes";
			return -EBADMSG;
		}
		break;
	case IKEV2_N_INVALID_KE_PAYLOAD:
		if (dlen != 2) {
			*why = "N: INVALID_KE_PAYLOAD data not 2 bytes";
			return -EBADMSG;
		}
		break;
	case IKEV2_N_SET_WINDOW_SIZE:
		if (dlen != 4) {
			*why = "N: SET_WINDOW_SIZE data not 4 bytes";
			return -EBADMSG;
		}
		break;
	case IKEV2_N_SIGNATURE_HASH_ALGORITHMS:
		if (dlen % 2) {
			*why = "N: SIGNATURE_HASH_ALGORITHMS odd length";
			return -EBADMSG;
		}
		break;
	case IKEV2_N_REKEY_SA:
		if ((h.proto != IKEV2_PROTO_ESP && h.proto != IKEV2_PROTO_AH) ||
		    h.spi_size != 4) {
			*why = "N: REKEY_SA without an ESP/AH SPI";
			return -EBADMSG;
		}
		break;
	}
	if (out) {
		out->proto = h.proto;
		out->spi_size = h.spi_size;
		out->type = type;
		out->spi = h.spi_size ? b + sizeof(h) : NULL;
		out->data = b + sizeof(h) + h.spi_size;
		out->len = dlen;
	}
	return 0;
}

/* 3.11 */
static int delete_walk(const uint8_t *b, size_t len,
		       struct ikev2_delete_pld *out, const char **why)
{
	struct ikev2_delete h;
	uint16_t n;

	if (len < sizeof(h)) {
		*why = "D: too short";
		return -EBADMSG;
	}
	memcpy(&h, b, sizeof(h));
	n = ntohs(h.n_spi);
	switch (h.proto) {
	case IKEV2_PROTO_IKE:
		if (h.spi_size != 0) {
			*why = "D: IKE SPI size not 0";
			return -EBADMSG;
		}
		break;
	case IKEV2_PROTO_AH:
	case IKEV2_PROTO_ESP:
		if (h.spi_size != 4) {
			*why = "D: ESP/AH SPI size not 4";
			return -EBADMSG;
		}
		break;
	default:
		*why = "D: unknown protocol";
		return -EBADMSG;
	}
	if ((size_t)n * h.spi_size != len - sizeof(h)) {
		*why = "D: SPI count times size does not fill the payload";
		return -EBADMSG;
	}
	if (out) {
		out->proto = h.proto;
		out->spi_size = h.spi_size;
		out->n_spi = n;
		out->spis = b + sizeof(h);
	}
	return 0;
}

/* 3.13 / 3.13.1 */
static int ts_walk(const uint8_t *b, size_t len, struct ikev2_ts_pld *out,
		   const char **why)
{
	struct ikev2_tsp h;
	size_t off;

	if (len < sizeof(h)) {
		*why = "TS: too short";
		return -EBADMSG;
	}
	memcpy(&h, b, sizeof(h));
	if (h.n_ts == 0) {
		*why = "TS: no selector";
		return -EBADMSG;
	}
	if (h.n_ts > IKEV2_MAX_TS) {
		*why = "TS: too many selectors";
		return -E2BIG;
	}
	off = sizeof(h);
	for (unsigned i = 0; i < h.n_ts; i++) {
		struct ikev2_ts_hdr t;
		const uint8_t *a;
		uint16_t tlen;

		if (len - off < sizeof(t)) {
			*why = "TS: selector header truncated";
			return -EBADMSG;
		}
		memcpy(&t, b + off, sizeof(t));
		tlen = ntohs(t.length);
		if (tlen < sizeof(t) || tlen > len - off) {
			*why = "TS: bad selector length";
			return -EBADMSG;
		}
		if ((t.type == IKEV2_TS_IPV4_ADDR_RANGE &&
		     tlen != IKEV2_TS_IPV4_LEN) ||
		    (t.type == IKEV2_TS_IPV6_ADDR_RANGE &&
		     tlen != IKEV2_TS_IPV6_LEN)) {
			*why = "TS: selector length does not match its type";
			return -EBADMSG;
		}
		a = b + off + sizeof(t);
		if (out) {
			struct ikev2_ts *ts = &out->ts[i];

			memset(ts, 0, sizeof(*ts));
			ts->type = t.type;
			ts->proto = t.proto;
			ts->start_port = ntohs(t.start_port);
			ts->end_port = ntohs(t.end_port);
			if (t.type == IKEV2_TS_IPV4_ADDR_RANGE) {
				memcpy(&ts->v4.start, a, 4);
				memcpy(&ts->v4.end, a + 4, 4);
			} else if (t.type == IKEV2_TS_IPV6_ADDR_RANGE) {
				memcpy(ts->v6.start, a, 16);
				memcpy(ts->v6.end, a + 16, 16);
			}
		}
		off += tlen;
	}
	if (off != len) {
		*why = "TS: selectors do not fill the payload";
		return -EBADMSG;
	}
	if (out)
		out->n = h.n_ts;
	return 0;
}

/* 3.15.1: value lengths a configuration attribute may have. */
static bool cfg_len_ok(uint16_t type, uint16_t len)
{
	switch (type) {
	case IKEV2_CFA_INTERNAL_IP4_ADDRESS:
	case IKEV2_CFA_INTERNAL_IP4_NETMASK:
	case IKEV2_CFA_INTERNAL_IP4_DNS:
	case IKEV2_CFA_INTERNAL_IP4_NBNS:
	case IKEV2_CFA_INTERNAL_IP4_DHCP:
		return len == 0 || len == 4;
	case IKEV2_CFA_INTERNAL_IP6_ADDRESS:
	case IKEV2_CFA_INTERNAL_IP6_SUBNET:
		return len == 0 || len == 17;
	case IKEV2_CFA_INTERNAL_IP6_DNS:
	case IKEV2_CFA_INTERNAL_IP6_DHCP:
		return len == 0 || len == 16;
	case IKEV2_CFA_INTERNAL_IP4_SUBNET:
		return len == 0 || len == 8;
	case IKEV2_CFA_SUPPORTED_ATTRIBUTES:
		return len % 2 == 0;
	}
	return true;
}

/* 3.15 */
static int cp_walk(const uint8_t *b, size_t len, struct ikev2_cp_pld *out,
		   const char **why)
{
	struct ikev2_cp h;
	size_t off;
	unsigned n = 0;

	if (len < sizeof(h)) {
		*why = "CP: too short";
		return -EBADMSG;
	}
	memcpy(&h, b, sizeof(h));
	off = sizeof(h);
	while (off < len) {
		struct ikev2_cp_attr a;
		uint16_t type, vlen;

		if (n == IKEV2_MAX_CP_ATTRS) {
			*why = "CP: too many attributes";
			return -E2BIG;
		}
		if (len - off < sizeof(a)) {
			*why = "CP: attribute header truncated";
			return -EBADMSG;
		}
		memcpy(&a, b + off, sizeof(a));
		type = ntohs(a.type) & IKEV2_CP_ATTR_TYPE_MASK;
		vlen = ntohs(a.length);
		if (vlen > len - off - sizeof(a)) {
			*why = "CP: attribute length exceeds the payload";
			return -EBADMSG;
		}
		if (!cfg_len_ok(type, vlen)) {
			*why = "CP: attribute length invalid for its type";
			return -EBADMSG;
		}
		if (out) {
			out->attr[n].type = type;
			out->attr[n].len = vlen;
			out->attr[n].value = vlen ? b + off + sizeof(a) : NULL;
		}
		off += sizeof(a) + vlen;
		n++;
	}
	if (out) {
		out->type = h.type;
		out->n = n;
	}
	return 0;
}

/* RFC 7383 2.5 */
static int skf_walk(const uint8_t *b, size_t len, struct ikev2_skf_pld *out,
		    const char **why)
{
	struct ikev2_skf h;
	uint16_t num, total;

	if (len <= sizeof(h)) {
		*why = "SKF: too short";
		return -EBADMSG;
	}
	memcpy(&h, b, sizeof(h));
	num = ntohs(h.frag_num);
	total = ntohs(h.total);
	if (num == 0 || num > total) {
		*why = "SKF: bad fragment number";
		return -EBADMSG;
	}
	if (out) {
		out->frag_num = num;
		out->total = total;
		out->data = b + sizeof(h);
		out->len = len - sizeof(h);
	}
	return 0;
}

/* Structural check of one known payload body; false if type is unknown. */
static bool pld_known(uint8_t type)
{
	return (type >= IKEV2_PLD_SA && type <= IKEV2_PLD_EAP) ||
	       type == IKEV2_PLD_SKF;
}

static int pld_validate(uint8_t type, const uint8_t *b, size_t len,
			bool response, const char **why)
{
	switch (type) {
	case IKEV2_PLD_SA:
		return sa_walk(b, len, response ? SA_RESPONSE : SA_REQUEST,
			       NULL, why);
	case IKEV2_PLD_KE:
		return ke_walk(b, len, NULL, why);
	case IKEV2_PLD_IDI:
	case IKEV2_PLD_IDR:
		return id_walk(b, len, NULL, why);
	case IKEV2_PLD_CERT:
	case IKEV2_PLD_CERTREQ:
		if (len < 1) {
			*why = "CERT/CERTREQ: no encoding";
			return -EBADMSG;
		}
		return 0;
	case IKEV2_PLD_AUTH:
		return auth_walk(b, len, NULL, why);
	case IKEV2_PLD_NONCE:
		/* 3.9: 16..256 bytes */
		if (len < IKEV2_NONCE_MIN || len > IKEV2_NONCE_MAX) {
			*why = "Nonce: not 16..256 bytes";
			return -EBADMSG;
		}
		return 0;
	case IKEV2_PLD_NOTIFY:
		return notify_walk(b, len, NULL, why);
	case IKEV2_PLD_DELETE:
		return delete_walk(b, len, NULL, why);
	case IKEV2_PLD_VENDOR:
		return 0;
	case IKEV2_PLD_TSI:
	case IKEV2_PLD_TSR:
		return ts_walk(b, len, NULL, why);
	case IKEV2_PLD_SK:
		if (len == 0) {
			*why = "SK: empty";
			return -EBADMSG;
		}
		return 0;
	case IKEV2_PLD_CP:
		return cp_walk(b, len, NULL, why);
	case IKEV2_PLD_EAP:
		/* RFC 3748 4: code, identifier, length (== whole message) */
		if (len < 4 || get16(b + 2) != len) {
			*why = "EAP: length does not match the payload";
			return -EBADMSG;
		}
		return 0;
	case IKEV2_PLD_SKF:
		return skf_walk(b, len, NULL, why);
	}
	*why = "unknown payload type";
	return -EBADMSG;
}

/* ---- the chain --------------------------------------------------------- */

static int chain_fail(struct ikev2_msg *m, int err, size_t off,
		      const char *why)
{
	m->why = why;
	m->err_off = off;
	return err;
}

static void msg_reset(struct ikev2_msg *m)
{
	m->n = 0;
	m->n_skipped = 0;
	m->sk = -1;
	m->sk_off = 0;
	m->sk_next = 0;
	m->unsup_type = 0;
	m->why = NULL;
	m->err_off = 0;
}

static int chain_walk(uint8_t first, const uint8_t *buf, size_t len,
		      size_t base, unsigned flags, struct ikev2_msg *m)
{
	bool inner = flags & IKEV2_PARSE_INNER;
	bool response = flags & IKEV2_PARSE_RESPONSE;
	uint8_t type = first;
	unsigned walked = 0;
	size_t off = 0;

	msg_reset(m);
	if (!buf && len)
		return chain_fail(m, -EINVAL, 0, "no buffer");

	while (type != IKEV2_PLD_NONE) {
		const char *why = NULL;
		struct ikev2_payload *p;
		struct ikev2_gen g;
		uint16_t plen;
		int rc;

		if (walked == IKEV2_MAX_PAYLOADS)
			return chain_fail(m, -E2BIG, base + off,
					  "too many payloads");
		walked++;
		if (len - off < sizeof(g))
			return chain_fail(m, -EBADMSG, base + off,
					  "payload header truncated");
		memcpy(&g, buf + off, sizeof(g));
		plen = ntohs(g.length);
		if (plen < sizeof(g) || plen > len - off)
			return chain_fail(m, -EBADMSG, base + off,
					  "bad payload length");

		/* 2.5 / 3.2: skip unknown payloads unless critical */
		if (!pld_known(type)) {
			if (g.critical & IKEV2_CRITICAL) {
				m->unsup_type = type;
				return chain_fail(m, -ENOTSUP, base + off,
						  "unsupported critical payload");
			}
			m->n_skipped++;
			off += plen;
			type = g.next;
			continue;
		}
		if (inner && (type == IKEV2_PLD_SK || type == IKEV2_PLD_SKF))
			return chain_fail(m, -EBADMSG, base + off,
					  "SK inside SK");
		rc = pld_validate(type, buf + off + sizeof(g),
				  plen - sizeof(g), response, &why);
		if (rc)
			return chain_fail(m, rc, base + off, why);

		p = &m->pld[m->n++];
		p->body = buf + off + sizeof(g);
		p->len = plen - sizeof(g);
		p->off = base + off;
		p->type = type;
		p->next = g.next;
		p->critical = g.critical & IKEV2_CRITICAL;

		/* 3.14: SK is last; its next field names the first inner type */
		if (type == IKEV2_PLD_SK || type == IKEV2_PLD_SKF) {
			if (off + plen != len)
				return chain_fail(m, -EBADMSG, base + off,
						  "SK is not the last payload");
			m->sk = (int)(m->n - 1);
			m->sk_off = base + off;
			m->sk_next = g.next;
			return 0;
		}
		off += plen;
		type = g.next;
	}
	if (off != len)
		return chain_fail(m, -EBADMSG, base + off,
				  "bytes after the last payload");
	return 0;
}

int ikev2_parse_chain_flags(uint8_t first, const uint8_t *buf, size_t len,
			    unsigned flags, struct ikev2_msg *msg)
{
	if (!msg)
		return -EINVAL;
	if (flags & ~(IKEV2_PARSE_INNER | IKEV2_PARSE_RESPONSE)) {
		msg_reset(msg);
		return -EINVAL;
	}
	return chain_walk(first, buf, len, 0, flags, msg);
}

int ikev2_parse_chain(uint8_t first, const uint8_t *buf, size_t len,
		      struct ikev2_msg *msg)
{
	return ikev2_parse_chain_flags(first, buf, len, 0, msg);
}

int ikev2_parse_inner(uint8_t first, const uint8_t *buf, size_t len,
		      struct ikev2_msg *msg)
{
	return ikev2_parse_chain_flags(first, buf, len, IKEV2_PARSE_INNER, msg);
}

int ikev2_parse_hdr(const uint8_t *buf, size_t len, struct ikev2_msghdr *hdr)
{
	struct ikev2_hdr h;

	if (!buf || !hdr)
		return -EINVAL;
	if (len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	/* 3.1: the length covers the whole message, nothing more or less */
	if (ntohl(h.length) != len)
		return -EBADMSG;
	hdr->ispi = get64(h.ispi);
	hdr->rspi = get64(h.rspi);
	hdr->msgid = ntohl(h.msgid);
	hdr->length = ntohl(h.length);
	hdr->next = h.next;
	hdr->major = IKEV2_MAJOR(h.version);
	hdr->minor = IKEV2_MINOR(h.version);
	hdr->exch = h.exch;
	hdr->flags = h.flags;
	if (hdr->major != 2)
		return -EPROTONOSUPPORT;
	return 0;
}

int ikev2_parse_msg(const uint8_t *buf, size_t len, struct ikev2_msghdr *hdr,
		    struct ikev2_msg *msg)
{
	int rc;

	if (!msg)
		return -EINVAL;
	rc = ikev2_parse_hdr(buf, len, hdr);
	if (rc) {
		msg_reset(msg);
		msg->why = "bad header";
		return rc;
	}
	return chain_walk(hdr->next, buf + IKEV2_HDR_LEN, len - IKEV2_HDR_LEN,
			  IKEV2_HDR_LEN,
			  hdr->flags & IKEV2_FLAG_RESPONSE ? IKEV2_PARSE_RESPONSE
							   : 0, msg);
}

int ikev2_msg_find(const struct ikev2_msg *msg, uint8_t type, unsigned from)
{
	for (unsigned i = from; i < msg->n; i++)
		if (msg->pld[i].type == type)
			return (int)i;
	return -1;
}

unsigned ikev2_msg_count(const struct ikev2_msg *msg, uint8_t type)
{
	unsigned c = 0;

	for (unsigned i = 0; i < msg->n; i++)
		c += msg->pld[i].type == type;
	return c;
}

/* ---- decoders ---------------------------------------------------------- */

int ikev2_dec_sa(const struct ikev2_payload *p, struct ikev2_sa *sa)
{
	const char *why;

	if (!p || !sa || p->type != IKEV2_PLD_SA)
		return -EINVAL;
	sa->n = 0;
	return sa_walk(p->body, p->len, SA_EITHER, sa, &why);
}

int ikev2_dec_ke(const struct ikev2_payload *p, struct ikev2_ke_pld *ke)
{
	const char *why;

	if (!p || !ke || p->type != IKEV2_PLD_KE)
		return -EINVAL;
	return ke_walk(p->body, p->len, ke, &why);
}

int ikev2_dec_id(const struct ikev2_payload *p, struct ikev2_id_pld *id)
{
	const char *why;

	if (!p || !id ||
	    (p->type != IKEV2_PLD_IDI && p->type != IKEV2_PLD_IDR))
		return -EINVAL;
	return id_walk(p->body, p->len, id, &why);
}

int ikev2_dec_auth(const struct ikev2_payload *p, struct ikev2_auth_pld *a)
{
	const char *why;

	if (!p || !a || p->type != IKEV2_PLD_AUTH)
		return -EINVAL;
	return auth_walk(p->body, p->len, a, &why);
}

int ikev2_dec_notify(const struct ikev2_payload *p, struct ikev2_notify_pld *n)
{
	const char *why;

	if (!p || !n || p->type != IKEV2_PLD_NOTIFY)
		return -EINVAL;
	return notify_walk(p->body, p->len, n, &why);
}

int ikev2_dec_delete(const struct ikev2_payload *p, struct ikev2_delete_pld *d)
{
	const char *why;

	if (!p || !d || p->type != IKEV2_PLD_DELETE)
		return -EINVAL;
	return delete_walk(p->body, p->len, d, &why);
}

int ikev2_dec_ts(const struct ikev2_payload *p, struct ikev2_ts_pld *ts)
{
	const char *why;

	if (!p || !ts ||
	    (p->type != IKEV2_PLD_TSI && p->type != IKEV2_PLD_TSR))
		return -EINVAL;
	ts->n = 0;
	return ts_walk(p->body, p->len, ts, &why);
}

int ikev2_dec_cp(const struct ikev2_payload *p, struct ikev2_cp_pld *cp)
{
	const char *why;

	if (!p || !cp || p->type != IKEV2_PLD_CP)
		return -EINVAL;
	cp->n = 0;
	return cp_walk(p->body, p->len, cp, &why);
}

int ikev2_dec_skf(const struct ikev2_payload *p, struct ikev2_skf_pld *f)
{
	const char *why;

	if (!p || !f || p->type != IKEV2_PLD_SKF)
		return -EINVAL;
	return skf_walk(p->body, p->len, f, &why);
}

uint32_t ikev2_delete_spi(const struct ikev2_delete_pld *d, unsigned i)
{
	if (d->spi_size != 4 || i >= d->n_spi)
		return 0;
	return get32(d->spis + 4 * (size_t)i);
}

int ikev2_find_notify(const struct ikev2_msg *msg, uint16_t type,
		      struct ikev2_notify_pld *n)
{
	for (int i = ikev2_msg_find(msg, IKEV2_PLD_NOTIFY, 0); i >= 0;
	     i = ikev2_msg_find(msg, IKEV2_PLD_NOTIFY, (unsigned)i + 1)) {
		if (ikev2_dec_notify(&msg->pld[i], n) == 0 && n->type == type)
			return 0;
	}
	return -ENOENT;
}

int ikev2_id_render(const struct ikev2_id_pld *id, char *out, size_t outlen)
{
	if (!id || !out || outlen == 0)
		return -EINVAL;
	out[0] = '\0';
	switch (id->type) {
	case IKEV2_ID_IPV4_ADDR:
		if (id->len != 4)
			return -EINVAL;
		if (!inet_ntop(AF_INET, id->data, out, (socklen_t)outlen))
			return -ENOSPC;
		return 0;
	case IKEV2_ID_IPV6_ADDR:
		if (id->len != 16)
			return -EINVAL;
		if (!inet_ntop(AF_INET6, id->data, out, (socklen_t)outlen))
			return -ENOSPC;
		return 0;
	case IKEV2_ID_FQDN:
	case IKEV2_ID_RFC822_ADDR:
		if (id->len == 0)
			return -EINVAL;
		/* printable ASCII only: no NUL, no control bytes, no 8-bit */
		for (size_t i = 0; i < id->len; i++)
			if (id->data[i] < 0x20 || id->data[i] > 0x7e)
				return -EINVAL;
		if (id->len >= outlen)
			return -ENOSPC;
		memcpy(out, id->data, id->len);
		out[id->len] = '\0';
		return 0;
	}
	return -EOPNOTSUPP;
}

/* ---- building ---------------------------------------------------------- */

static void buf_reset(struct ikev2_buf *b, uint8_t *mem, size_t size)
{
	memset(b, 0, sizeof(*b));
	b->data = mem;
	b->cap = size < IKEV2_BUF_MAX ? size : IKEV2_BUF_MAX;
	b->link = NO_LINK;
}

int ikev2_build_init(struct ikev2_buf *b, uint8_t *mem, size_t size,
		     const struct ikev2_msghdr *h)
{
	struct ikev2_hdr w;

	if (!b)
		return -EINVAL;
	buf_reset(b, mem, size);
	if (!mem || !h) {
		b->err = -EINVAL;
		return b->err;
	}
	if (b->cap < sizeof(w)) {
		b->err = -ENOSPC;
		return b->err;
	}
	memset(&w, 0, sizeof(w));
	put_be(w.ispi, h->ispi, 8);
	put_be(w.rspi, h->rspi, 8);
	w.next = IKEV2_PLD_NONE;
	w.version = IKEV2_VERSION;
	w.exch = h->exch;
	w.flags = h->flags;
	w.msgid = htonl(h->msgid);
	w.length = htonl(sizeof(w));
	memcpy(b->data, &w, sizeof(w));
	b->len = sizeof(w);
	b->link = offsetof(struct ikev2_hdr, next);
	b->has_hdr = true;
	return 0;
}

int ikev2_build_inner(struct ikev2_buf *b, uint8_t *mem, size_t size)
{
	if (!b)
		return -EINVAL;
	buf_reset(b, mem, size);
	if (!mem)
		b->err = -EINVAL;
	return b->err;
}

uint8_t ikev2_buf_first(const struct ikev2_buf *b)
{
	return b->first;
}

/*
 * Append a payload of type with a body of body_len bytes, link it from the
 * previous one and return its body to fill, or NULL with b->err set.
 */
static uint8_t *put_begin(struct ikev2_buf *b, uint8_t type, size_t body_len)
{
	struct ikev2_gen g;
	uint8_t *p;

	if (!b)
		return NULL;
	if (b->err)
		return NULL;
	if (!b->data || b->sealed) {
		b->err = -EINVAL;
		return NULL;
	}
	if (body_len > PLD_LEN_MAX - sizeof(g) ||
	    b->cap - b->len < sizeof(g) + body_len) {
		b->err = -ENOSPC;
		return NULL;
	}
	p = b->data + b->len;
	g.next = IKEV2_PLD_NONE;
	g.critical = 0;
	g.length = htons((uint16_t)(sizeof(g) + body_len));
	memcpy(p, &g, sizeof(g));
	if (b->link != NO_LINK)
		b->data[b->link] = type;
	if (b->first == IKEV2_PLD_NONE)
		b->first = type;
	b->link = b->len + offsetof(struct ikev2_gen, next);
	b->len += sizeof(g) + body_len;
	return p + sizeof(g);
}

static int put_fail(struct ikev2_buf *b, int err)
{
	if (!b)
		return -EINVAL;
	if (!b->err)
		b->err = err;
	return b->err;
}

static int put_err(struct ikev2_buf *b)
{
	return b ? b->err : -EINVAL;
}

/* Transform types in the order they go out. */
static const uint8_t xf_order[] = {
	IKEV2_XF_ENCR, IKEV2_XF_PRF, IKEV2_XF_INTEG, IKEV2_XF_DH, IKEV2_XF_ESN,
};

int ikev2_put_sa(struct ikev2_buf *b, const struct ikev2_choice *c,
		 uint64_t spi)
{
	size_t body_len = sizeof(struct ikev2_prop);
	unsigned n_xf = 0, i = 0;
	struct ikev2_prop pr;
	uint8_t *p, *q;

	if (!c || (c->spi_size != 0 && c->spi_size != 4 && c->spi_size != 8) ||
	    c->proto < IKEV2_PROTO_IKE || c->proto > IKEV2_PROTO_ESP ||
	    c->xf_mask == 0 || (c->xf_mask & ~0x3e))
		return put_fail(b, -EINVAL);
	body_len += c->spi_size;
	for (unsigned k = 0; k < sizeof(xf_order); k++) {
		if (!(c->xf_mask & 1u << xf_order[k]))
			continue;
		n_xf++;
		body_len += sizeof(struct ikev2_xform);
		if (xf_order[k] == IKEV2_XF_ENCR && c->encr_keylen)
			body_len += sizeof(struct ikev2_attr);
	}
	p = put_begin(b, IKEV2_PLD_SA, body_len);
	if (!p)
		return put_err(b);

	pr.last = IKEV2_LAST_NONE;
	pr.reserved = 0;
	pr.length = htons((uint16_t)body_len);
	pr.num = c->propnum;
	pr.proto = c->proto;
	pr.spi_size = c->spi_size;
	pr.n_xforms = (uint8_t)n_xf;
	memcpy(p, &pr, sizeof(pr));
	q = p + sizeof(pr);
	put_be(q, spi, c->spi_size);
	q += c->spi_size;

	for (unsigned k = 0; k < sizeof(xf_order); k++) {
		struct ikev2_xform t;
		size_t tlen = sizeof(t);
		uint16_t id = 0;

		if (!(c->xf_mask & 1u << xf_order[k]))
			continue;
		switch (xf_order[k]) {
		case IKEV2_XF_ENCR:
			id = c->encr;
			if (c->encr_keylen)
				tlen += sizeof(struct ikev2_attr);
			break;
		case IKEV2_XF_PRF:
			id = c->prf;
			break;
		case IKEV2_XF_INTEG:
			id = c->integ;
			break;
		case IKEV2_XF_DH:
			id = c->dh;
			break;
		case IKEV2_XF_ESN:
			id = c->esn;
			break;
		}
		i++;
		t.last = i == n_xf ? IKEV2_LAST_NONE : IKEV2_LAST_MORE_XFORM;
		t.reserved = 0;
		t.length = htons((uint16_t)tlen);
		t.type = xf_order[k];
		t.reserved2 = 0;
		t.id = htons(id);
		memcpy(q, &t, sizeof(t));
		q += sizeof(t);
		if (tlen > sizeof(t)) {
			struct ikev2_attr a = {
				.type = htons(IKEV2_ATTR_TV |
					      IKEV2_ATTR_KEY_LENGTH),
				.len_or_value = htons(c->encr_keylen),
			};

			memcpy(q, &a, sizeof(a));
			q += sizeof(a);
		}
	}
	return 0;
}

int ikev2_put_ke(struct ikev2_buf *b, uint16_t group, const uint8_t *data,
		 size_t len)
{
	struct ikev2_ke k = { .group = htons(group), .reserved = 0 };
	uint8_t *p;

	if (!data || len == 0)
		return put_fail(b, -EINVAL);
	p = put_begin(b, IKEV2_PLD_KE, sizeof(k) + len);
	if (!p)
		return put_err(b);
	memcpy(p, &k, sizeof(k));
	memcpy(p + sizeof(k), data, len);
	return 0;
}

int ikev2_put_nonce(struct ikev2_buf *b, const uint8_t *nonce, size_t len)
{
	uint8_t *p;

	if (!nonce || len < IKEV2_NONCE_MIN || len > IKEV2_NONCE_MAX)
		return put_fail(b, -EINVAL);
	p = put_begin(b, IKEV2_PLD_NONCE, len);
	if (!p)
		return put_err(b);
	memcpy(p, nonce, len);
	return 0;
}

int ikev2_put_notify(struct ikev2_buf *b, uint8_t proto, uint8_t spi_size,
		     uint64_t spi, uint16_t type, const void *data, size_t len)
{
	struct ikev2_notify h = {
		.proto = proto, .spi_size = spi_size, .type = htons(type),
	};
	uint8_t *p;

	if ((spi_size != 0 && spi_size != 4 && spi_size != 8) ||
	    (len && !data))
		return put_fail(b, -EINVAL);
	p = put_begin(b, IKEV2_PLD_NOTIFY, sizeof(h) + spi_size + len);
	if (!p)
		return put_err(b);
	memcpy(p, &h, sizeof(h));
	put_be(p + sizeof(h), spi, spi_size);
	if (len)
		memcpy(p + sizeof(h) + spi_size, data, len);
	return 0;
}

int ikev2_put_id(struct ikev2_buf *b, uint8_t pld_type, uint8_t id_type,
		 const void *data, size_t len)
{
	struct ikev2_id h = { .type = id_type };
	uint8_t *p;

	if ((pld_type != IKEV2_PLD_IDI && pld_type != IKEV2_PLD_IDR) ||
	    !data || len == 0)
		return put_fail(b, -EINVAL);
	p = put_begin(b, pld_type, sizeof(h) + len);
	if (!p)
		return put_err(b);
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), data, len);
	return 0;
}

int ikev2_put_auth(struct ikev2_buf *b, uint8_t method, const uint8_t *data,
		   size_t len)
{
	struct ikev2_auth h = { .method = method };
	uint8_t *p;

	if (!data || len == 0)
		return put_fail(b, -EINVAL);
	p = put_begin(b, IKEV2_PLD_AUTH, sizeof(h) + len);
	if (!p)
		return put_err(b);
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), data, len);
	return 0;
}

int ikev2_put_ts(struct ikev2_buf *b, uint8_t pld_type,
		 const struct ikev2_ts *ts, unsigned n)
{
	struct ikev2_tsp h = { .n_ts = (uint8_t)n };
	size_t body_len = sizeof(h);
	uint8_t *p;

	if ((pld_type != IKEV2_PLD_TSI && pld_type != IKEV2_PLD_TSR) ||
	    !ts || n == 0 || n > IKEV2_MAX_TS)
		return put_fail(b, -EINVAL);
	for (unsigned i = 0; i < n; i++) {
		if (ts[i].type == IKEV2_TS_IPV4_ADDR_RANGE)
			body_len += IKEV2_TS_IPV4_LEN;
		else if (ts[i].type == IKEV2_TS_IPV6_ADDR_RANGE)
			body_len += IKEV2_TS_IPV6_LEN;
		else
			return put_fail(b, -EINVAL);
	}
	p = put_begin(b, pld_type, body_len);
	if (!p)
		return put_err(b);
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	for (unsigned i = 0; i < n; i++) {
		bool v4 = ts[i].type == IKEV2_TS_IPV4_ADDR_RANGE;
		struct ikev2_ts_hdr t = {
			.type = ts[i].type,
			.proto = ts[i].proto,
			.length = htons(v4 ? IKEV2_TS_IPV4_LEN
					   : IKEV2_TS_IPV6_LEN),
			.start_port = htons(ts[i].start_port),
			.end_port = htons(ts[i].end_port),
		};

		memcpy(p, &t, sizeof(t));
		p += sizeof(t);
		if (v4) {
			memcpy(p, &ts[i].v4.start, 4);
			memcpy(p + 4, &ts[i].v4.end, 4);
			p += 8;
		} else {
			memcpy(p, ts[i].v6.start, 16);
			memcpy(p + 16, ts[i].v6.end, 16);
			p += 32;
		}
	}
	return 0;
}

int ikev2_put_delete(struct ikev2_buf *b, uint8_t proto, const uint32_t *spis,
		     unsigned n)
{
	struct ikev2_delete h = { .proto = proto };
	uint8_t *p;

	if (proto == IKEV2_PROTO_IKE) {
		if (n != 0)
			return put_fail(b, -EINVAL);
	} else if (proto == IKEV2_PROTO_ESP || proto == IKEV2_PROTO_AH) {
		if (n == 0 || n > 0xffff || !spis)
			return put_fail(b, -EINVAL);
		h.spi_size = 4;
	} else {
		return put_fail(b, -EINVAL);
	}
	h.n_spi = htons((uint16_t)n);
	p = put_begin(b, IKEV2_PLD_DELETE, sizeof(h) + (size_t)n * h.spi_size);
	if (!p)
		return put_err(b);
	memcpy(p, &h, sizeof(h));
	for (unsigned i = 0; i < n; i++)
		put_be(p + sizeof(h) + 4 * (size_t)i, spis[i], 4);
	return 0;
}

int ikev2_put_vendor(struct ikev2_buf *b, const void *data, size_t len)
{
	return ikev2_put_raw(b, IKEV2_PLD_VENDOR, data, len);
}

int ikev2_put_cp(struct ikev2_buf *b, uint8_t cfg_type,
		 const struct ikev2_cfg_attr *attrs, unsigned n)
{
	struct ikev2_cp h = { .type = cfg_type };
	size_t body_len = sizeof(h);
	uint8_t *p;

	if (n > IKEV2_MAX_CP_ATTRS || (n && !attrs))
		return put_fail(b, -EINVAL);
	for (unsigned i = 0; i < n; i++) {
		if (attrs[i].len && !attrs[i].value)
			return put_fail(b, -EINVAL);
		body_len += sizeof(struct ikev2_cp_attr) + attrs[i].len;
	}
	p = put_begin(b, IKEV2_PLD_CP, body_len);
	if (!p)
		return put_err(b);
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	for (unsigned i = 0; i < n; i++) {
		struct ikev2_cp_attr a = {
			.type = htons(attrs[i].type & IKEV2_CP_ATTR_TYPE_MASK),
			.length = htons(attrs[i].len),
		};

		memcpy(p, &a, sizeof(a));
		p += sizeof(a);
		if (attrs[i].len)
			memcpy(p, attrs[i].value, attrs[i].len);
		p += attrs[i].len;
	}
	return 0;
}

int ikev2_put_raw(struct ikev2_buf *b, uint8_t type, const void *body,
		  size_t len)
{
	uint8_t *p;

	if (type == IKEV2_PLD_NONE || type == IKEV2_PLD_SK ||
	    type == IKEV2_PLD_SKF || (len && !body))
		return put_fail(b, -EINVAL);
	p = put_begin(b, type, len);
	if (!p)
		return put_err(b);
	if (len)
		memcpy(p, body, len);
	return 0;
}

int ikev2_put_sk(struct ikev2_buf *b, uint8_t inner_first, size_t body_len,
		 uint8_t **body)
{
	uint8_t *p;

	if (!body || body_len == 0)
		return put_fail(b, -EINVAL);
	p = put_begin(b, IKEV2_PLD_SK, body_len);
	if (!p)
		return put_err(b);
	/* 3.14: SK's next field is the first payload inside it */
	b->data[b->link] = inner_first;
	b->link = NO_LINK;
	b->sealed = true;
	*body = p;
	return 0;
}

int ikev2_build_finish(struct ikev2_buf *b, size_t *len)
{
	uint32_t l;

	if (!b || !len)
		return -EINVAL;
	if (b->err)
		return b->err;
	if (b->has_hdr) {
		l = htonl((uint32_t)b->len);
		memcpy(b->data + offsetof(struct ikev2_hdr, length), &l,
		       sizeof(l));
	}
	*len = b->len;
	return 0;
}
