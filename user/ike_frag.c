// SPDX-License-Identifier: GPL-2.0
/*
 * ike_frag.c - IKE fragmentation (RFC 7383): encrypted messages split into
 * Encrypted Fragment payloads (SKF, 53) so that no IKE datagram needs IP
 * fragmentation, which many NATs and firewalls drop.
 *
 * Negotiated in IKE_SA_INIT (IKEV2_FRAGMENTATION_SUPPORTED both ways,
 * ike_init.c) and inherited by the IKE SA's rekeyed successors. Without it
 * an SKF payload is dropped.
 *
 * Receiving (2.6): every fragment is authenticated and decrypted on its
 * own, then kept until all of the message's fragments are in; only then
 * is the message processed, as if it had come in one SK payload. One
 * message per IKE SA is reassembled at a time: a fragment of another
 * message ID abandons the one under way. Bounds: at most IKE_FRAG_MAX
 * fragments, at most the plaintext buffer (64 KiB) in all, and
 * IKE_FRAG_TIMEOUT_MS to complete. Total Fragments larger than before
 * means the peer fragmented again, smaller (2.6.2): the old fragments go;
 * smaller than before: this fragment goes. Only authenticated fragments
 * are kept, so none of this is open to anyone without the keys.
 *
 * Sending (2.5): a message whose datagram would be larger than
 * cfg.frag_size bytes (IP packet, default 1280) is sealed as fragments,
 * each its own IKE message with the same header and message ID; the
 * whole train is what is cached for retransmits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "ike_int.h"

struct ike_frags {
	uint32_t msgid;
	bool response;
	uint16_t total, have;
	uint8_t first_np;		/* the Next Payload of fragment 1 */
	uint64_t started;		/* ms */
	size_t bytes;
	uint8_t hash1[16];		/* of fragment 1 as received */
	uint8_t *part[IKE_FRAG_MAX];
	uint16_t len[IKE_FRAG_MAX];
};

void frags_free(struct ike_sa *sa)
{
	struct ike_frags *fr = sa->frags;
	unsigned i;

	if (!fr)
		return;
	for (i = 0; i < IKE_FRAG_MAX; i++)
		if (fr->part[i]) {
			OPENSSL_cleanse(fr->part[i], fr->len[i]);
			free(fr->part[i]);
		}
	OPENSSL_cleanse(fr, sizeof(*fr));
	free(fr);
	sa->frags = NULL;
}

void frags_tick(struct ike_ctx *ctx, struct ike_sa *sa)
{
	if (sa->frags && ctx->now - sa->frags->started > IKE_FRAG_TIMEOUT_MS) {
		pr_debug("site '%s': message %u: %u of %u fragments after %u s, dropped",
			 sa->site_name, sa->frags->msgid, sa->frags->have,
			 sa->frags->total, IKE_FRAG_TIMEOUT_MS / 1000);
		ctx->st.frag_dropped++;
		frags_free(sa);
	}
}

static struct ike_frags *frags_start(struct ike_ctx *ctx, struct ike_sa *sa,
				     uint32_t msgid, bool response, uint16_t total)
{
	struct ike_frags *fr = calloc(1, sizeof(*fr));

	if (!fr)
		return NULL;
	fr->msgid = msgid;
	fr->response = response;
	fr->total = total;
	fr->started = ctx->now;
	sa->frags = fr;
	return fr;
}

int frag_input(struct ike_ctx *ctx, struct ike_sa *sa,
	       const struct ikev2_msghdr *h, const struct ikev2_msg *m,
	       const uint8_t *buf, size_t len, uint8_t **plain, size_t *plen,
	       uint8_t *first, uint8_t hash[16])
{
	bool response = h->flags & IKEV2_FLAG_RESPONSE;
	struct ikev2_skf_pld f;
	struct ike_sk_keys sk;
	struct ike_frags *fr;
	uint8_t *p, np;
	size_t n, off;
	unsigned i;

	if (!sa->frag) {
		pr_debug("site '%s': IKE fragment, not negotiated: dropped",
			 sa->site_name);
		ctx->st.rx_bad++;
		return -EPROTO;
	}
	if (ikev2_dec_skf(&m->pld[m->sk], &f) || f.total > IKE_FRAG_MAX) {
		ctx->st.rx_bad++;
		return -EBADMSG;
	}
	ctx->st.frag_rx++;
	fr = sa->frags;
	if (fr && (fr->msgid != h->msgid || fr->response != response)) {
		frags_free(sa);		/* a new message: that one is over */
		fr = NULL;
	}
	if (fr && f.total < fr->total) {
		ctx->st.frag_dropped++;	/* 2.6.2: an older fragmentation */
		return 0;
	}
	ike_keys_sk(&sa->keys, !sa->we_initiated, &sk);
	if (ike_skf_open(&sk, buf, len, m->sk_off, ctx->plain, sizeof(ctx->plain),
			 &p, &n, &np)) {
		pr_debug("site '%s': fragment %u/%u of message %u fails integrity",
			 sa->site_name, f.frag_num, f.total, h->msgid);
		ctx->st.rx_bad++;
		return -EBADMSG;
	}
	if (fr && f.total > fr->total) {
		frags_free(sa);		/* fragmented again, smaller: start over */
		fr = NULL;
	}
	if (!fr && !(fr = frags_start(ctx, sa, h->msgid, response, f.total))) {
		OPENSSL_cleanse(p, n);
		return -ENOMEM;
	}
	i = f.frag_num - 1;
	if (fr->part[i] || fr->bytes + n > sizeof(ctx->plain)) {
		/* a duplicate (retransmitted), or more than a message can be */
		OPENSSL_cleanse(p, n);
		ctx->st.frag_dropped++;
		if (!fr->part[i]) {
			ctx->st.rx_bad++;
			frags_free(sa);
			return -EMSGSIZE;
		}
		return 0;
	}
	fr->part[i] = malloc(n ? n : 1);
	if (!fr->part[i]) {
		OPENSSL_cleanse(p, n);
		return -ENOMEM;
	}
	memcpy(fr->part[i], p, n);
	OPENSSL_cleanse(p, n);
	fr->len[i] = (uint16_t)n;
	fr->bytes += n;
	fr->have++;
	if (f.frag_num == 1) {
		fr->first_np = np;
		req_hash(buf, len, fr->hash1);
	}
	if (fr->have < fr->total)
		return 0;

	/* all in: the message, as one SK payload would have carried it */
	for (i = 0, off = 0; i < fr->total; i++) {
		memcpy(ctx->plain + off, fr->part[i], fr->len[i]);
		off += fr->len[i];
	}
	*plain = ctx->plain;
	*plen = off;
	*first = fr->first_np;
	memcpy(hash, fr->hash1, 16);
	ctx->st.frag_reassembled++;
	frags_free(sa);
	return 1;
}

/* Largest IKE message in one datagram of cfg.frag_size bytes from port. */
static size_t frag_limit(const struct ike_ctx *ctx, uint16_t local_port)
{
	size_t l = ctx->cfg.frag_size - 20 - 8;		/* IPv4, UDP */

	return local_port == NATT_PORT ? l - 4 : l;	/* non-ESP marker */
}

int frag_seal(struct ike_ctx *ctx, struct ike_sa *sa,
	      const struct ikev2_msghdr *h, uint8_t first_np,
	      const uint8_t *plain, size_t plen, size_t sealed_len,
	      const uint8_t **wire, size_t *wlen)
{
	size_t limit, chunk, probe, off, total_len = 0, n, hlen;
	struct ike_sk_keys sk;
	struct ikev2_buf b;
	unsigned i, count;
	int err;

	if (!sa->frag || !ctx->cfg.frag_size)
		return 0;
	limit = frag_limit(ctx, sa->local_port);
	if (sealed_len <= limit)
		return 0;
	ike_keys_sk(&sa->keys, sa->we_initiated, &sk);
	/* the largest chunk whose fragment fits: padding rounds it up */
	for (chunk = limit; chunk > 16; chunk -= 16) {
		if (ike_skf_sealed_len(&sk, IKE_SK_IKE_HDR_LEN, chunk, &probe))
			return -EINVAL;
		if (probe <= limit)
			break;
	}
	if (chunk <= 16)
		return -EMSGSIZE;
	count = (unsigned)((plen + chunk - 1) / chunk);
	if (count > IKE_FRAG_MAX)
		return -EMSGSIZE;
	for (i = 0, off = 0; i < count; i++, off += n) {
		uint8_t *msg = ctx->train + total_len;
		size_t cap = sizeof(ctx->train) - total_len, flen;

		n = plen - off < chunk ? plen - off : chunk;
		ikev2_build_init(&b, msg, cap, h);
		if (ikev2_build_finish(&b, &hlen))
			return -ENOSPC;
		msg[16] = IKEV2_PLD_SKF;	/* header's next payload */
		err = ike_skf_seal(&sk, msg, cap, hlen, first_np, (uint16_t)(i + 1),
				   (uint16_t)count, plain + off, n, &flen);
		if (err)
			return err;
		total_len += flen;
	}
	ctx->st.frag_tx += count;
	*wire = ctx->train;
	*wlen = total_len;
	return 1;
}
