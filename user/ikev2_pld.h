/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ikev2_pld.h - IKEv2 message parsing and building.
 *
 * Parsing is in two steps, validate then handle:
 *  1. ikev2_parse_hdr() checks the 28-byte header against the datagram;
 *     ikev2_parse_chain() walks the payload chain and checks the structure
 *     of every payload it knows (lengths, counts, nesting) before returning.
 *     Nothing is handled until the whole chain has passed.
 *  2. The ikev2_dec_*() decoders turn one recorded payload into a struct for
 *     the exchange handlers. They re-check what they read, so they are safe
 *     on any input, but after step 1 they cannot fail for a length reason.
 *
 * Nothing is allocated: every pointer points into the caller's buffer, which
 * must outlive the results, and every array has a fixed bound (IKEV2_MAX_*).
 * Going over a bound is a parse error (-E2BIG), never an overflow.
 *
 * Errors (all functions return 0 or -errno):
 *  -EBADMSG          malformed: answer INVALID_SYNTAX (or drop, if the
 *                    message is not authenticated yet)
 *  -E2BIG            well-formed but over one of our bounds: same as above
 *  -ENOTSUP          unknown payload with the critical bit set; the type is
 *                    in msg->unsup_type: answer UNSUPPORTED_CRITICAL_PAYLOAD
 *                    with that type as the 1-byte data (RFC 7296 2.5, 3.2)
 *  -EPROTONOSUPPORT  major version is not 2 (the header is still filled in):
 *                    drop IKEv1 (major 1) silently; for major > 2 RFC 7296
 *                    2.5 asks for INVALID_MAJOR_VERSION
 *  -EINVAL           bad arguments (a bug in the caller)
 *
 * Building: ikev2_build_init() starts a message (header), or
 * ikev2_build_inner() a bare payload list (the plaintext of an SK payload,
 * whose first type ikev2_buf_first() returns). Each ikev2_put_*() appends
 * one payload and links it into the chain; errors are sticky, so a sequence
 * of puts can be checked once at ikev2_build_finish().
 */
#ifndef EG_IKEV2_PLD_H
#define EG_IKEV2_PLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ikev2.h"

/* Bounds; each can be overridden at build time. */
#ifndef IKEV2_MAX_PAYLOADS
#define IKEV2_MAX_PAYLOADS	64	/* payloads walked in one chain */
#endif
#ifndef IKEV2_MAX_PROPOSALS
#define IKEV2_MAX_PROPOSALS	16	/* proposals in one SA payload */
#endif
#ifndef IKEV2_MAX_XFORMS
/* strongSwan 5.9's "default" IKE proposal alone has 36 transforms */
#define IKEV2_MAX_XFORMS	64	/* transforms in one proposal */
#endif
#ifndef IKEV2_MAX_TS
#define IKEV2_MAX_TS		16	/* selectors in one TS payload */
#endif
#ifndef IKEV2_MAX_CP_ATTRS
#define IKEV2_MAX_CP_ATTRS	32	/* attributes in one CP payload */
#endif
#define IKEV2_BUF_MAX		65536	/* largest message we build */

/* ---- parsing ---------------------------------------------------------- */

/* The header in host order. */
struct ikev2_msghdr {
	uint64_t ispi;		/* initiator SPI (wire bytes read big-endian) */
	uint64_t rspi;		/* responder SPI, 0 in IKE_SA_INIT requests */
	uint32_t msgid;		/* message ID */
	uint32_t length;	/* message length, == datagram length */
	uint8_t next;		/* first payload type */
	uint8_t major;		/* 2 */
	uint8_t minor;		/* ignored on receipt (RFC 7296 2.5) */
	uint8_t exch;		/* IKEV2_EXCH_* */
	uint8_t flags;		/* IKEV2_FLAG_* bits as received */
};

/* One payload of a chain, as recorded by ikev2_parse_chain(). */
struct ikev2_payload {
	const uint8_t *body;	/* after the generic header */
	size_t len;		/* body length (payload length - 4) */
	size_t off;		/* offset of the generic header in the buffer */
	uint8_t type;		/* IKEV2_PLD_* */
	uint8_t next;		/* the generic header's next-payload field */
	bool critical;		/* critical bit as received */
};

struct ikev2_msg {
	struct ikev2_payload pld[IKEV2_MAX_PAYLOADS];
	unsigned n;		/* payloads recorded in pld[] */
	unsigned n_skipped;	/* unknown non-critical payloads skipped */
	int sk;			/* index of the SK/SKF payload in pld[], or -1 */
	size_t sk_off;		/* offset of its generic header in the buffer */
	uint8_t sk_next;	/* its next-payload field: first inner type */
	uint8_t unsup_type;	/* -ENOTSUP: the unknown critical payload type */
	const char *why;	/* on error: static text saying what was wrong */
	size_t err_off;		/* on error: offset in the buffer where */
};

/*
 * Parse and check the header of a datagram of len bytes (the non-ESP marker
 * already stripped). The length field must equal len exactly (RFC 7296 3.1).
 */
int ikev2_parse_hdr(const uint8_t *buf, size_t len, struct ikev2_msghdr *hdr);

/*
 * Walk the payload chain that starts with a payload of type first at buf and
 * fills exactly len bytes. Offsets in msg are relative to buf. An SK (or SKF)
 * payload ends the walk and must end the buffer; its position is left in
 * msg->sk / sk_off, and msg->sk_next is the type to hand to
 * ikev2_parse_inner() once the crypto layer has opened it.
 */
int ikev2_parse_chain(uint8_t first, const uint8_t *buf, size_t len,
		      struct ikev2_msg *msg);

/* The same for a decrypted SK body: SK and SKF are not allowed in it. */
int ikev2_parse_inner(uint8_t first, const uint8_t *buf, size_t len,
		      struct ikev2_msg *msg);

/*
 * Both of the above check the chain as a request's, which is all a
 * responder receives: SA proposals must be numbered 1, 2, 3... A response's
 * SA echoes one proposal with its original number; IKEV2_PARSE_RESPONSE
 * checks for that instead (ikev2_parse_msg() sets it from the R flag).
 */
#define IKEV2_PARSE_INNER	0x1	/* decrypted SK body: no SK/SKF */
#define IKEV2_PARSE_RESPONSE	0x2	/* SA: exactly one proposal, any num */
int ikev2_parse_chain_flags(uint8_t first, const uint8_t *buf, size_t len,
			    unsigned flags, struct ikev2_msg *msg);

/* Header then chain of a whole datagram; offsets relative to buf. */
int ikev2_parse_msg(const uint8_t *buf, size_t len, struct ikev2_msghdr *hdr,
		    struct ikev2_msg *msg);

/* Index in msg->pld of the first payload of type at index >= from, or -1. */
int ikev2_msg_find(const struct ikev2_msg *msg, uint8_t type, unsigned from);
/* Number of payloads of type in msg. */
unsigned ikev2_msg_count(const struct ikev2_msg *msg, uint8_t type);

/* ---- decoded payloads ------------------------------------------------- */

struct ikev2_xf {
	uint16_t id;		/* transform ID */
	uint16_t keylen;	/* KEY_LENGTH attribute in bits, if has_keylen */
	uint8_t type;		/* IKEV2_XF_* */
	bool has_keylen;	/* a KEY_LENGTH (TV) attribute was present */
	bool bad_attr;		/* an attribute we do not understand, KEY_LENGTH
				 * in TLV format or twice: the transform is
				 * unacceptable (RFC 7296 3.3.6) */
};

struct ikev2_proposal {
	const uint8_t *spi;	/* spi_size bytes, into the buffer */
	uint8_t num;		/* proposal number, 1.. */
	uint8_t proto;		/* IKEV2_PROTO_* */
	uint8_t spi_size;	/* IKE: 0 or 8; AH/ESP: 4; other: any */
	unsigned n_xf;
	struct ikev2_xf xf[IKEV2_MAX_XFORMS];
};

struct ikev2_sa {
	unsigned n;
	struct ikev2_proposal prop[IKEV2_MAX_PROPOSALS];
};

struct ikev2_ke_pld {
	uint16_t group;		/* DH group */
	const uint8_t *data;	/* public value */
	size_t len;		/* equals the prime length for MODP 14/15/16/18 */
};

struct ikev2_id_pld {
	uint8_t type;		/* IKEV2_ID_* */
	const uint8_t *data;	/* identification data */
	size_t len;
};

struct ikev2_auth_pld {
	uint8_t method;		/* IKEV2_AUTH_* */
	const uint8_t *data;	/* authentication data */
	size_t len;
};

struct ikev2_notify_pld {
	uint8_t proto;		/* IKEV2_PROTO_*, 0 = none */
	uint8_t spi_size;	/* bytes at spi */
	uint16_t type;		/* IKEV2_N_* */
	const uint8_t *spi;	/* NULL if spi_size is 0 */
	const uint8_t *data;	/* notification data */
	size_t len;
};

struct ikev2_delete_pld {
	uint8_t proto;		/* IKEV2_PROTO_IKE (no SPIs), _AH or _ESP */
	uint8_t spi_size;	/* 0 or 4 */
	uint16_t n_spi;		/* SPIs at spis */
	const uint8_t *spis;	/* n_spi * spi_size bytes */
};

struct ikev2_ts {
	uint8_t type;		/* IKEV2_TS_IPV4_ADDR_RANGE, _IPV6_ or unknown */
	uint8_t proto;		/* IP protocol, 0 = any */
	uint16_t start_port;	/* host order */
	uint16_t end_port;	/* host order */
	union {
		struct {
			uint32_t start;	/* network order */
			uint32_t end;	/* network order */
		} v4;
		struct {
			uint8_t start[16];
			uint8_t end[16];
		} v6;
	};
};

struct ikev2_ts_pld {
	unsigned n;
	struct ikev2_ts ts[IKEV2_MAX_TS];
};

struct ikev2_cfg_attr {
	uint16_t type;		/* IKEV2_CFA_*, reserved bit cleared */
	uint16_t len;		/* value length */
	const uint8_t *value;	/* NULL if len is 0 */
};

struct ikev2_cp_pld {
	uint8_t type;		/* IKEV2_CFG_* */
	unsigned n;
	struct ikev2_cfg_attr attr[IKEV2_MAX_CP_ATTRS];
};

struct ikev2_skf_pld {
	uint16_t frag_num;	/* 1 .. total */
	uint16_t total;
	const uint8_t *data;	/* IV, ciphertext, ICV */
	size_t len;
};

/* Each decoder checks p->type and fails with -EINVAL on the wrong one. */
int ikev2_dec_sa(const struct ikev2_payload *p, struct ikev2_sa *sa);
int ikev2_dec_ke(const struct ikev2_payload *p, struct ikev2_ke_pld *ke);
/* IDi or IDr */
int ikev2_dec_id(const struct ikev2_payload *p, struct ikev2_id_pld *id);
int ikev2_dec_auth(const struct ikev2_payload *p, struct ikev2_auth_pld *a);
int ikev2_dec_notify(const struct ikev2_payload *p, struct ikev2_notify_pld *n);
int ikev2_dec_delete(const struct ikev2_payload *p, struct ikev2_delete_pld *d);
/* TSi or TSr */
int ikev2_dec_ts(const struct ikev2_payload *p, struct ikev2_ts_pld *ts);
int ikev2_dec_cp(const struct ikev2_payload *p, struct ikev2_cp_pld *cp);
int ikev2_dec_skf(const struct ikev2_payload *p, struct ikev2_skf_pld *f);
/* Nonce, Vendor ID, SK, CERT(REQ), EAP: the body is the data. */

/* The i-th SPI of a Delete payload with 4-byte SPIs, host order. */
uint32_t ikev2_delete_spi(const struct ikev2_delete_pld *d, unsigned i);

/* First notify of type in msg into n: 0, or -ENOENT. */
int ikev2_find_notify(const struct ikev2_msg *msg, uint16_t type,
		      struct ikev2_notify_pld *n);

/*
 * Render an IPv4, IPv6, FQDN or RFC 822 identity as a NUL-terminated
 * string. Text identities must be non-empty printable ASCII: an embedded NUL
 * or a control byte gives -EINVAL (so "a.example\0evil" cannot be mistaken
 * for "a.example"). -ENOSPC if out is too small, -EOPNOTSUPP for other types.
 */
int ikev2_id_render(const struct ikev2_id_pld *id, char *out, size_t outlen);

/* ---- building --------------------------------------------------------- */

/*
 * One proposal as chosen by ikev2_prop.c: enough to echo it in an SA
 * payload and to key the IKE SA (crypto) or the Child SA (XFRM).
 */
struct ikev2_choice {
	uint8_t propnum;	/* the peer's proposal number, echoed */
	uint8_t proto;		/* IKEV2_PROTO_IKE or IKEV2_PROTO_ESP */
	uint8_t spi_size;	/* 0 (IKE_SA_INIT), 8 (IKE rekey), 4 (ESP) */
	uint8_t xf_mask;	/* 1 << IKEV2_XF_* of each type to echo */
	uint64_t peer_spi;	/* the peer's SPI from its proposal, host order;
				 * ESP: the SPI the peer receives with, i.e.
				 * of our outbound SA */
	uint16_t encr;		/* IKE_ENCR_* */
	uint16_t encr_keylen;	/* bits; 0: the transform has no KEY_LENGTH */
	uint16_t prf;		/* IKE_PRF_*; 0 for ESP */
	uint16_t integ;		/* IKE_AUTH_*; IKEV2_INTEG_NONE with AEAD */
	uint16_t dh;		/* IKE_DH_*; IKEV2_DH_NONE: no (PFS) group */
	uint16_t esn;		/* IKEV2_ESN_NONE */
	uint16_t pfs_hint;	/* ESP: a DH group the chosen proposal offered
				 * (also in IKE_AUTH, where it is not used):
				 * the group for PFS in our own rekeys */
	bool aead;		/* encr is combined mode (AES-GCM-16) */
};

struct ikev2_buf {
	uint8_t *data;		/* caller's storage */
	size_t cap;		/* min(caller's size, IKEV2_BUF_MAX) */
	size_t len;		/* bytes written */
	size_t link;		/* where the next payload's type goes */
	uint8_t first;		/* type of the first payload, 0 while empty */
	bool has_hdr;		/* starts with an IKE header */
	bool sealed;		/* an SK payload was appended: nothing follows */
	int err;		/* first error, sticky */
};

/* Start a message with header h (its next and length are filled in later). */
int ikev2_build_init(struct ikev2_buf *b, uint8_t *mem, size_t size,
		     const struct ikev2_msghdr *h);
/* Start a bare payload list (SK plaintext). */
int ikev2_build_inner(struct ikev2_buf *b, uint8_t *mem, size_t size);
/* Type of the first payload appended (for the SK's next-payload field). */
uint8_t ikev2_buf_first(const struct ikev2_buf *b);

/* SA with the one chosen proposal; our SPI goes out in c->spi_size bytes. */
int ikev2_put_sa(struct ikev2_buf *b, const struct ikev2_choice *c,
		 uint64_t spi);
int ikev2_put_ke(struct ikev2_buf *b, uint16_t group, const uint8_t *data,
		 size_t len);
/* len must be IKEV2_NONCE_MIN..IKEV2_NONCE_MAX */
int ikev2_put_nonce(struct ikev2_buf *b, const uint8_t *nonce, size_t len);
/* spi_size 0, 4 or 8 bytes of spi (host order) go out big-endian. */
int ikev2_put_notify(struct ikev2_buf *b, uint8_t proto, uint8_t spi_size,
		     uint64_t spi, uint16_t type, const void *data, size_t len);
/* pld_type IKEV2_PLD_IDI or IKEV2_PLD_IDR */
int ikev2_put_id(struct ikev2_buf *b, uint8_t pld_type, uint8_t id_type,
		 const void *data, size_t len);
int ikev2_put_auth(struct ikev2_buf *b, uint8_t method, const uint8_t *data,
		   size_t len);
/* pld_type IKEV2_PLD_TSI or IKEV2_PLD_TSR; IPv4 and IPv6 range selectors */
int ikev2_put_ts(struct ikev2_buf *b, uint8_t pld_type,
		 const struct ikev2_ts *ts, unsigned n);
/* IKE: n must be 0; ESP/AH: n SPIs in host order. */
int ikev2_put_delete(struct ikev2_buf *b, uint8_t proto, const uint32_t *spis,
		     unsigned n);
int ikev2_put_vendor(struct ikev2_buf *b, const void *data, size_t len);
int ikev2_put_cp(struct ikev2_buf *b, uint8_t cfg_type,
		 const struct ikev2_cfg_attr *attrs, unsigned n);
/* Any payload from a ready body (CERTREQ, EAP, ...). */
int ikev2_put_raw(struct ikev2_buf *b, uint8_t type, const void *body,
		  size_t len);
/*
 * Reserve an SK payload of body_len bytes (IV, ciphertext, ICV) whose
 * next-payload field is inner_first, and point *body at it for the crypto
 * layer to fill. It must be the last payload: later puts fail with -EINVAL.
 */
int ikev2_put_sk(struct ikev2_buf *b, uint8_t inner_first, size_t body_len,
		 uint8_t **body);
/* Set the header length (if any); *len = bytes in b->data. */
int ikev2_build_finish(struct ikev2_buf *b, size_t *len);

#endif /* EG_IKEV2_PLD_H */
