// SPDX-License-Identifier: GPL-2.0
/*
 * ikev2_prop.c - proposal selection for the IKE SA and ESP Child SAs.
 * The rules, and the choice of the group named in INVALID_KE_PAYLOAD, are
 * described in ikev2_prop.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ikev2_prop.h"

#define XF_BIT(t)	(uint8_t)(1u << (t))

/* A transform without attributes (PRF, INTEG, DH, ESN, NULL encryption). */
static bool xf_plain(const struct ikev2_xf *x)
{
	return !x->bad_attr && !x->has_keylen;
}

bool ikev2_dh_supported(uint16_t group)
{
	switch (group) {
	case IKE_DH_MODP2048:
	case IKE_DH_MODP3072:
	case IKE_DH_MODP4096:
	case IKE_DH_MODP8192:
		return true;
	}
	return false;
}

static bool dh_ok(const struct ikev2_xf *x)
{
	return ikev2_dh_supported(x->id) && xf_plain(x);
}

static bool prf_ok(const struct ikev2_xf *x)
{
	switch (x->id) {
	case IKE_PRF_HMAC_SHA1:
	case IKE_PRF_HMAC_SHA2_256:
	case IKE_PRF_HMAC_SHA2_384:
	case IKE_PRF_HMAC_SHA2_512:
		return xf_plain(x);
	}
	return false;
}

/* A real integrity algorithm (not NONE). */
static bool integ_ok(const struct ikev2_xf *x)
{
	switch (x->id) {
	case IKE_AUTH_HMAC_SHA1_96:
	case IKE_AUTH_HMAC_SHA2_256_128:
	case IKE_AUTH_HMAC_SHA2_384_192:
	case IKE_AUTH_HMAC_SHA2_512_256:
		return xf_plain(x);
	}
	return false;
}

/* The KEY_LENGTH attribute is mandatory for AES (RFC 3602, RFC 4106 8.4). */
static bool keylen_in(const struct ikev2_xf *x, bool k128, bool k192,
		      bool k256)
{
	if (x->bad_attr || !x->has_keylen)
		return false;
	return (x->keylen == 128 && k128) || (x->keylen == 192 && k192) ||
	       (x->keylen == 256 && k256);
}

/* Does the policy name this transform (explicit policies only)? */
static bool pol_names(const struct ikev2_cipher *pol, const struct ikev2_xf *x)
{
	if (x->id != pol->encr || x->bad_attr)
		return false;
	if (x->id == IKE_ENCR_NULL)
		return !x->has_keylen;
	return x->has_keylen && (!pol->keylen || x->keylen == pol->keylen);
}

static bool encr_ok_ike(const struct ikev2_xf *x, const struct ikev2_cipher *pol)
{
	if (x->id != IKE_ENCR_AES_CBC || !keylen_in(x, true, true, true))
		return false;
	return !pol || !pol->encr || pol_names(pol, x);
}

static bool encr_ok_esp(const struct ikev2_xf *x, const struct ikev2_cipher *pol)
{
	if (pol && pol->encr) {
		/* AES-CBC-192 only when the site asks for it by name */
		if (x->id == IKE_ENCR_AES_CBC && x->has_keylen &&
		    x->keylen == 192 && !x->bad_attr)
			return pol_names(pol, x);
		return pol_names(pol, x) && encr_ok_esp(x, NULL);
	}
	if (pol && pol->no_null && x->id == IKE_ENCR_NULL)
		return false;
	switch (x->id) {
	case IKE_ENCR_AES_CBC:
		return keylen_in(x, true, false, true);
	case IKE_ENCR_AES_GCM_16:
		return keylen_in(x, true, true, true);
	case IKE_ENCR_NULL:
		return xf_plain(x);
	}
	return false;
}

static uint64_t spi_value(const struct ikev2_proposal *p)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < p->spi_size && i < 8; i++)
		v = v << 8 | p->spi[i];
	return v;
}

int ikev2_cipher_policy(const char *name, struct ikev2_cipher *ike,
			struct ikev2_cipher *esp)
{
	static const struct {
		const char *name;
		uint16_t encr, bits;
	} tab[] = {
		{ "AES128-CBC", IKE_ENCR_AES_CBC, 128 },
		{ "AES192-CBC", IKE_ENCR_AES_CBC, 192 },
		{ "AES256-CBC", IKE_ENCR_AES_CBC, 256 },
		{ "AES128-GCM", IKE_ENCR_AES_GCM_16, 128 },
		{ "AES192-GCM", IKE_ENCR_AES_GCM_16, 192 },
		{ "AES256-GCM", IKE_ENCR_AES_GCM_16, 256 },
		{ "NULL", IKE_ENCR_NULL, 0 },
	};
	unsigned i;

	memset(ike, 0, sizeof(*ike));
	memset(esp, 0, sizeof(*esp));
	if (!name || !*name) {
		esp->no_null = true;
		return 0;
	}
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (strcasecmp(name, tab[i].name))
			continue;
		esp->encr = tab[i].encr;
		esp->keylen = tab[i].bits;
		if (tab[i].encr == IKE_ENCR_AES_CBC)
			*ike = *esp;
		return 0;
	}
	return -EINVAL;
}

int ikev2_prop_select_ike(const struct ikev2_sa *sa, int ke_group,
			  unsigned flags, struct ikev2_choice *out,
			  uint16_t *want_group)
{
	return ikev2_prop_select_ike_pol(sa, ke_group, flags, NULL, out,
					 want_group);
}

int ikev2_prop_select_ike_pol(const struct ikev2_sa *sa, int ke_group,
			      unsigned flags, const struct ikev2_cipher *pol,
			      struct ikev2_choice *out, uint16_t *want_group)
{
	uint8_t spi_size = flags & IKEV2_PROP_REKEY ? 8 : 0;
	bool have_want = false;
	uint16_t want = 0;

	if (!sa || !out || !want_group || ke_group < 0 || ke_group > 0xffff ||
	    (flags & ~IKEV2_PROP_REKEY))
		return -EINVAL;

	for (unsigned i = 0; i < sa->n && i < IKEV2_MAX_PROPOSALS; i++) {
		const struct ikev2_proposal *p = &sa->prop[i];
		const struct ikev2_xf *encr = NULL, *prf = NULL, *integ = NULL;
		const struct ikev2_xf *dh_ke = NULL, *dh_first = NULL;
		bool foreign = false;

		if (p->proto != IKEV2_PROTO_IKE || p->spi_size != spi_size)
			continue;
		for (unsigned j = 0; j < p->n_xf && j < IKEV2_MAX_XFORMS; j++) {
			const struct ikev2_xf *x = &p->xf[j];

			switch (x->type) {
			case IKEV2_XF_ENCR:
				if (!encr && encr_ok_ike(x, pol))
					encr = x;
				break;
			case IKEV2_XF_PRF:
				if (!prf && prf_ok(x))
					prf = x;
				break;
			case IKEV2_XF_INTEG:
				if (!integ && integ_ok(x))
					integ = x;
				break;
			case IKEV2_XF_DH:
				if (!dh_ok(x))
					break;
				if (!dh_first)
					dh_first = x;
				if (!dh_ke && x->id == ke_group)
					dh_ke = x;
				break;
			default:
				/* ESN or a type we do not know (3.3.6) */
				foreign = true;
				break;
			}
		}
		if (foreign || !encr || !prf || !integ || !dh_first)
			continue;
		if (!dh_ke) {
			/* acceptable but for the KE group: remember the first */
			if (!have_want) {
				want = dh_first->id;
				have_want = true;
			}
			continue;
		}
		memset(out, 0, sizeof(*out));
		out->propnum = p->num;
		out->proto = IKEV2_PROTO_IKE;
		out->spi_size = spi_size;
		out->peer_spi = spi_value(p);
		out->xf_mask = XF_BIT(IKEV2_XF_ENCR) | XF_BIT(IKEV2_XF_PRF) |
			       XF_BIT(IKEV2_XF_INTEG) | XF_BIT(IKEV2_XF_DH);
		out->encr = encr->id;
		out->encr_keylen = encr->keylen;
		out->prf = prf->id;
		out->integ = integ->id;
		out->dh = dh_ke->id;
		out->esn = IKEV2_ESN_NONE;
		out->aead = false;
		return 0;
	}
	if (have_want) {
		*want_group = want;
		return -EAGAIN;
	}
	return -ENOENT;
}

int ikev2_prop_select_esp(const struct ikev2_sa *sa, int ke_group,
			  unsigned flags, struct ikev2_choice *out,
			  uint16_t *want_group)
{
	return ikev2_prop_select_esp_pol(sa, ke_group, flags, NULL, out,
					 want_group);
}

int ikev2_prop_select_esp_pol(const struct ikev2_sa *sa, int ke_group,
			      unsigned flags, const struct ikev2_cipher *pol,
			      struct ikev2_choice *out, uint16_t *want_group)
{
	bool ike_auth = flags & IKEV2_PROP_IKE_AUTH;
	bool have_want = false;
	uint16_t want = 0;

	if (!sa || !out || !want_group ||
	    (ke_group != IKEV2_KE_ABSENT && (ke_group < 0 || ke_group > 0xffff)) ||
	    (flags & ~IKEV2_PROP_IKE_AUTH) ||
	    (ike_auth && ke_group != IKEV2_KE_ABSENT))
		return -EINVAL;

	for (unsigned i = 0; i < sa->n && i < IKEV2_MAX_PROPOSALS; i++) {
		const struct ikev2_proposal *p = &sa->prop[i];
		const struct ikev2_xf *encr = NULL, *integ_first = NULL;
		const struct ikev2_xf *dh_ke = NULL, *dh_first = NULL;
		const struct ikev2_xf *pfs_first = NULL;
		bool integ_seen = false, integ_none = false;
		bool dh_seen = false, dh_none = false;
		bool esn_seen = false, esn_none = false;
		bool foreign = false, aead = false;
		uint64_t spi;

		if (p->proto != IKEV2_PROTO_ESP || p->spi_size != 4 || !p->spi)
			continue;
		spi = spi_value(p);
		if (spi < 256)
			continue;

		/* what the proposal offers, per type */
		for (unsigned j = 0; j < p->n_xf && j < IKEV2_MAX_XFORMS; j++) {
			const struct ikev2_xf *x = &p->xf[j];

			switch (x->type) {
			case IKEV2_XF_ENCR:
				break;
			case IKEV2_XF_INTEG:
				integ_seen = true;
				if (x->id == IKEV2_INTEG_NONE && xf_plain(x))
					integ_none = true;
				else if (!integ_first && integ_ok(x))
					integ_first = x;
				break;
			case IKEV2_XF_DH:
				if (ike_auth) {
					if (!pfs_first && dh_ok(x))
						pfs_first = x;
					break;
				}
				dh_seen = true;
				if (x->id == IKEV2_DH_NONE && xf_plain(x))
					dh_none = true;
				if (!dh_ok(x))
					break;
				if (!dh_first)
					dh_first = x;
				if (!dh_ke && x->id == ke_group)
					dh_ke = x;
				break;
			case IKEV2_XF_ESN:
				esn_seen = true;
				if (x->id == IKEV2_ESN_NONE && xf_plain(x))
					esn_none = true;
				break;
			default:
				/* PRF or a type we do not know (3.3.6) */
				foreign = true;
				break;
			}
		}
		if (foreign)
			continue;

		/* the first cipher that goes with an offered integrity choice:
		 * AEAD with no INTEG or NONE, the others with a real one (2.7) */
		for (unsigned j = 0; j < p->n_xf && j < IKEV2_MAX_XFORMS; j++) {
			const struct ikev2_xf *x = &p->xf[j];
			bool is_aead = x->id == IKE_ENCR_AES_GCM_16;

			if (x->type != IKEV2_XF_ENCR || !encr_ok_esp(x, pol))
				continue;
			if (is_aead ? (integ_seen && !integ_none) : !integ_first)
				continue;
			encr = x;
			aead = is_aead;
			break;
		}
		if (!encr)
			continue;
		if (esn_seen && !esn_none)
			continue;

		if (ke_group != IKEV2_KE_ABSENT) {
			if (!dh_ke) {
				if (dh_first && !have_want) {
					want = dh_first->id;
					have_want = true;
				}
				continue;
			}
		} else if (dh_seen && !dh_none) {
			/* PFS required by the peer, but it sent no KE */
			continue;
		}

		memset(out, 0, sizeof(*out));
		out->propnum = p->num;
		out->proto = IKEV2_PROTO_ESP;
		out->spi_size = 4;
		out->peer_spi = spi;
		out->xf_mask = XF_BIT(IKEV2_XF_ENCR);
		out->encr = encr->id;
		out->encr_keylen = encr->has_keylen ? encr->keylen : 0;
		out->aead = aead;
		if (integ_seen) {
			out->xf_mask |= XF_BIT(IKEV2_XF_INTEG);
			out->integ = aead ? IKEV2_INTEG_NONE : integ_first->id;
		}
		if (dh_seen) {
			out->xf_mask |= XF_BIT(IKEV2_XF_DH);
			out->dh = dh_ke ? dh_ke->id : IKEV2_DH_NONE;
		}
		if (esn_seen)
			out->xf_mask |= XF_BIT(IKEV2_XF_ESN);
		out->esn = IKEV2_ESN_NONE;
		out->pfs_hint = dh_ke ? dh_ke->id : pfs_first ? pfs_first->id : 0;
		return 0;
	}
	if (have_want) {
		*want_group = want;
		return -EAGAIN;
	}
	return -ENOENT;
}

static const char *encr_name(uint16_t id)
{
	switch (id) {
	case IKE_ENCR_AES_CBC:
		return "AES_CBC";
	case IKE_ENCR_AES_GCM_16:
		return "AES_GCM_16";
	case IKE_ENCR_NULL:
		return "NULL";
	}
	return "ENCR?";
}

static const char *prf_name(uint16_t id)
{
	switch (id) {
	case IKE_PRF_HMAC_SHA1:
		return "PRF_HMAC_SHA1";
	case IKE_PRF_HMAC_SHA2_256:
		return "PRF_HMAC_SHA2_256";
	case IKE_PRF_HMAC_SHA2_384:
		return "PRF_HMAC_SHA2_384";
	case IKE_PRF_HMAC_SHA2_512:
		return "PRF_HMAC_SHA2_512";
	}
	return "PRF?";
}

static const char *integ_name(uint16_t id)
{
	switch (id) {
	case IKE_AUTH_HMAC_SHA1_96:
		return "HMAC_SHA1_96";
	case IKE_AUTH_HMAC_SHA2_256_128:
		return "HMAC_SHA2_256_128";
	case IKE_AUTH_HMAC_SHA2_384_192:
		return "HMAC_SHA2_384_192";
	case IKE_AUTH_HMAC_SHA2_512_256:
		return "HMAC_SHA2_512_256";
	}
	return "INTEG?";
}

static const char *dh_name(uint16_t id)
{
	switch (id) {
	case IKE_DH_MODP2048:
		return "MODP_2048";
	case IKE_DH_MODP3072:
		return "MODP_3072";
	case IKE_DH_MODP4096:
		return "MODP_4096";
	case IKE_DH_MODP8192:
		return "MODP_8192";
	}
	return "DH?";
}

const char *ikev2_choice_str(const struct ikev2_choice *c, char *buf,
			     size_t len)
{
	size_t off = 0;
	int n;

	if (!buf || len == 0)
		return "";
	buf[0] = '\0';
	if (!c)
		return buf;
	/* on truncation keep whole elements only */
#define APPEND(...)                                                      \
	do {                                                             \
		n = snprintf(buf + off, len - off, __VA_ARGS__);         \
		if (n < 0 || (size_t)n >= len - off) {                   \
			buf[off] = '\0';                                \
			return buf;                                      \
		}                                                        \
		off += (size_t)n;                                        \
	} while (0)
	APPEND("%s", encr_name(c->encr));
	if (c->encr_keylen)
		APPEND("_%u", c->encr_keylen);
	if (c->integ != IKEV2_INTEG_NONE)
		APPEND("/%s", integ_name(c->integ));
	if (c->proto == IKEV2_PROTO_IKE)
		APPEND("/%s", prf_name(c->prf));
	if (c->dh != IKEV2_DH_NONE)
		APPEND("/%s", dh_name(c->dh));
	if (c->proto == IKEV2_PROTO_ESP)
		APPEND("/NO_EXT_SEQ");
#undef APPEND
	return buf;
}
