// SPDX-License-Identifier: GPL-2.0
/*
 * ike_msg.c - messages out: encryption into SK, the cached answer to the
 * peer's last request (RFC 7296 2.1), and our own requests: one at a time
 * per IKE SA (window size 1, 2.3), retransmitted with exponential backoff
 * until answered or until the peer is deemed dead (2.4), then matched with
 * their response and handed to the exchange that sent them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ike_int.h"

uint8_t *out_msg(struct ike_ctx *ctx)
{
	return ctx->out + 4;
}

/*
 * Send msg (an IKE message) to addr:port from local_port. On 4500 the
 * non-ESP marker goes first (RFC 3948 2.2): the message was built at out +
 * 4, or copied there, and we use the four bytes before it.
 */
int send_msg(struct ike_ctx *ctx, uint16_t local_port, uint32_t addr,
	     uint16_t port, uint8_t *msg, size_t len)
{
	if (local_port == NATT_PORT) {
		memset(msg - 4, 0, 4);
		return ctx->env.send(ctx->env.arg, local_port, addr, port,
				     msg - 4, len + 4);
	}
	return ctx->env.send(ctx->env.arg, local_port, addr, port, msg, len);
}

/*
 * Send a train: one IKE message, or the fragments of one (RFC 7383) one
 * after another, each delimited by its header's Length.
 */
static int send_train(struct ike_ctx *ctx, uint16_t local_port, uint32_t addr,
		      uint16_t port, const uint8_t *wire, size_t len)
{
	size_t off = 0;
	int err = 0;

	while (len - off >= IKE_SK_IKE_HDR_LEN) {
		size_t n = ((size_t)wire[off + 24] << 24 | (size_t)wire[off + 25] << 16 |
			    (size_t)wire[off + 26] << 8 | wire[off + 27]);

		if (n < IKE_SK_IKE_HDR_LEN || n > len - off || n > MSG_MAX)
			return -EINVAL;
		if (wire + off != out_msg(ctx))
			memmove(out_msg(ctx), wire + off, n);
		err = send_msg(ctx, local_port, addr, port, out_msg(ctx), n) ?: err;
		off += n;
	}
	return err;
}

static int resend(struct ike_ctx *ctx, uint16_t local_port, uint32_t addr,
		  uint16_t port, const uint8_t *msg, size_t len)
{
	return send_train(ctx, local_port, addr, port, msg, len);
}

/* An unencrypted IKE_SA_INIT answer carrying one notify (1.2, 2.6). */
void init_notify(struct ike_ctx *ctx, const struct ikev2_msghdr *req,
		 uint16_t local_port, uint32_t addr, uint16_t port,
		 uint16_t type, const void *data, size_t dlen)
{
	struct ikev2_msghdr h = {
		.ispi = req->ispi, .rspi = 0, .msgid = req->msgid, .major = 2,
		.exch = IKEV2_EXCH_IKE_SA_INIT, .flags = IKEV2_FLAG_RESPONSE,
	};
	struct ikev2_buf b;
	uint8_t *msg = out_msg(ctx);
	size_t len;

	ikev2_build_init(&b, msg, MSG_MAX, &h);
	ikev2_put_notify(&b, IKEV2_PROTO_NONE, 0, 0, type, data, dlen);
	if (ikev2_build_finish(&b, &len) == 0)
		send_msg(ctx, local_port, addr, port, msg, len);
}

/*
 * Seal inner into an SK payload behind a header, in ctx->out, or into
 * fragments in ctx->train when it is too large and fragmentation was
 * negotiated (ike_frag.c): *wire, *len say which.
 */
static int seal(struct ike_ctx *ctx, struct ike_sa *sa, uint8_t exch,
		uint32_t msgid, bool response, struct ikev2_buf *inner,
		const uint8_t **wire, size_t *len)
{
	/* I flag: set on what the IKE SA's original initiator sends (3.1) */
	struct ikev2_msghdr h = {
		.ispi = ike_be64_get(sa->spi_i), .rspi = ike_be64_get(sa->spi_r),
		.msgid = msgid, .major = 2, .exch = exch,
		.flags = (response ? IKEV2_FLAG_RESPONSE : 0) |
			 (sa->we_initiated ? IKEV2_FLAG_INITIATOR : 0),
	};
	struct ike_sk_keys sk;
	struct ikev2_buf b;
	size_t hlen, plen = 0, whole;
	uint8_t *msg = out_msg(ctx);
	int err;

	if (ikev2_build_finish(inner, &plen))
		return -EINVAL;
	ike_keys_sk(&sa->keys, sa->we_initiated, &sk);
	err = ike_sk_sealed_len(&sk, IKE_SK_IKE_HDR_LEN, plen, &whole);
	if (!err)
		err = frag_seal(ctx, sa, &h, ikev2_buf_first(inner), inner->data,
				plen, whole, wire, len);
	if (err)
		return err < 0 ? err : 0;
	ikev2_build_init(&b, msg, MSG_MAX, &h);
	if (ikev2_build_finish(&b, &hlen))
		return -EINVAL;
	msg[16] = IKEV2_PLD_SK;		/* header's next payload */
	*wire = msg;
	return ike_sk_seal(&sk, msg, MSG_MAX, hlen, ikev2_buf_first(inner),
			   inner->data, plen, len);
}

void req_hash(const uint8_t *buf, size_t len, uint8_t out[16])
{
	uint8_t md[32];
	unsigned mdlen = sizeof(md);

	if (!EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL))
		memset(md, 0, sizeof(md));
	memcpy(out, md, 16);
}

int send_response(struct ike_ctx *ctx, struct ike_sa *sa, uint8_t exch,
		  uint32_t msgid, struct ikev2_buf *inner)
{
	const uint8_t *msg = NULL;
	uint8_t *p;
	size_t len;
	int err;

	err = seal(ctx, sa, exch, msgid, true, inner, &msg, &len);
	OPENSSL_cleanse(inner->data, inner->len);
	if (err)
		return err;
	/* the cached answer for retransmitted requests (2.1) */
	p = malloc(len);
	if (p) {
		memcpy(p, msg, len);
		free(sa->resp);
		sa->resp = p;
		sa->resp_len = len;
		sa->resp_msgid = msgid;
		memcpy(sa->req_hash, ctx->held_hash, sizeof(sa->req_hash));
	}
	sa->tx_msgs++;
	return send_train(ctx, sa->local_port, sa->peer_addr, sa->peer_port, msg,
			  len);
}

void send_error(struct ike_ctx *ctx, struct ike_sa *sa, uint8_t exch,
		uint32_t msgid, uint16_t type)
{
	struct ikev2_buf rsp;

	ikev2_build_inner(&rsp, ctx->plain, sizeof(ctx->plain));
	ikev2_put_notify(&rsp, IKEV2_PROTO_NONE, 0, 0, type, NULL, 0);
	send_response(ctx, sa, exch, msgid, &rsp);
}

/*
 * The peer's request msgid is one we answered (2.1): resend the answer if
 * this is the same request, byte for byte (its hash), at most once per
 * IKE_RESEND_MS; anything else with that ID is dropped. True if handled.
 */
bool resend_if_retransmit(struct ike_ctx *ctx, struct ike_sa *sa,
			  const uint8_t *buf, size_t len, uint32_t msgid,
			  uint16_t local_port, uint16_t port)
{
	uint8_t h[16];

	if (!sa->resp || msgid != sa->resp_msgid || msgid + 1 != sa->next_msgid)
		return false;
	req_hash(buf, len, h);
	if (CRYPTO_memcmp(h, sa->req_hash, sizeof(h))) {
		ctx->st.rx_dropped++;
		return true;
	}
	if (sa->last_resend && ctx->now - sa->last_resend < IKE_RESEND_MS) {
		ctx->st.resend_limited++;
		return true;
	}
	sa->last_resend = ctx->now;
	ctx->st.retransmits++;
	/* to where the request came from (2.11), which may have moved */
	resend(ctx, local_port, sa->peer_addr, port, sa->resp, sa->resp_len);
	return true;
}

/* ---- our requests ------------------------------------------------------ */

struct ike_req *req_new(enum ike_req_kind kind, uint8_t exch)
{
	struct ike_req *rq = calloc(1, sizeof(*rq));

	if (rq) {
		rq->kind = kind;
		rq->exch = exch;
	}
	return rq;
}

void req_free(struct ike_req *rq)
{
	if (!rq)
		return;
	ike_dh_free(rq->dh);
	free(rq->msg);
	OPENSSL_cleanse(rq, sizeof(*rq));
	free(rq);
}

static uint64_t req_timeout_ms(const struct ike_sa *sa)
{
	return (uint64_t)sa->pol.dpd_timeout * 1000;
}

/* The wait before retransmission number `tries` (2.4: exponential). */
static uint64_t retx_wait(const struct ike_ctx *ctx, unsigned tries)
{
	uint64_t w = ctx->cfg.retransmit_base_ms;

	while (tries-- > 1 && w < IKE_RETX_MAX_MS)
		w *= 2;
	return w < IKE_RETX_MAX_MS ? w : IKE_RETX_MAX_MS;
}

int send_request(struct ike_ctx *ctx, struct ike_sa *sa, struct ike_req *rq,
		 struct ikev2_buf *inner)
{
	const uint8_t *wire = NULL;
	size_t len;
	int err;

	if (sa->req) {
		req_free(rq);
		return -EBUSY;
	}
	rq->msgid = sa->our_msgid;
	err = seal(ctx, sa, rq->exch, rq->msgid, false, inner, &wire, &len);
	OPENSSL_cleanse(inner->data, inner->len);
	if (!err) {
		rq->msg = malloc(len);
		if (!rq->msg)
			err = -ENOMEM;
	}
	if (err) {
		req_free(rq);
		return err;
	}
	memcpy(rq->msg, wire, len);
	rq->len = len;
	rq->tries = 1;
	rq->first_sent = ctx->now;
	rq->timeout = req_timeout_ms(sa);
	rq->next_retx = ctx->now + retx_wait(ctx, 1);
	sa->our_msgid++;
	sa->dirty = true;
	sa->req = rq;
	sa->tx_msgs++;
	send_train(ctx, sa->local_port, sa->peer_addr, sa->peer_port, wire, len);
	return 0;
}

void send_delete_once(struct ike_ctx *ctx, struct ike_sa *sa)
{
	const uint8_t *wire = NULL;
	struct ikev2_buf req;
	size_t len;

	ikev2_build_inner(&req, ctx->plain, sizeof(ctx->plain));
	ikev2_put_delete(&req, IKEV2_PROTO_IKE, NULL, 0);
	if (seal(ctx, sa, IKEV2_EXCH_INFORMATIONAL, sa->our_msgid++, false,
		 &req, &wire, &len) == 0 &&
	    send_train(ctx, sa->local_port, sa->peer_addr, sa->peer_port,
		       wire, len) == 0) {
		pr_info("site '%s': DELETE sent to the peer", sa->site_name);
		ctx->st.deletes_tx++;
	}
	OPENSSL_cleanse(ctx->plain, req.len);
}

static const char *req_name(enum ike_req_kind k)
{
	switch (k) {
	case REQ_DPD: return "liveness check";
	case REQ_DELETE_IKE: return "DELETE of the IKE SA";
	case REQ_DELETE_CHILD: return "DELETE of Child SAs";
	case REQ_REKEY_CHILD: return "Child SA rekey";
	case REQ_REKEY_IKE: return "IKE SA rekey";
	}
	return "request";
}

/* Our request went unanswered for dpd-timeout: the peer is gone (2.4). */
static void req_gave_up(struct ike_ctx *ctx, struct ike_sa *sa)
{
	enum ike_req_kind kind = sa->req->kind;

	pr_info("site '%s': no answer to our %s after %u tries in %llu s",
		sa->site_name, req_name(kind), sa->req->tries,
		(unsigned long long)((ctx->now - sa->req->first_sent) / 1000));
	ctx->st.req_timeouts++;
	/* any request unanswered says the peer is dead, not only a DPD
	 * (a rekey of ours may be what finds out); a DELETE we sent does not:
	 * the SA was going anyway */
	if ((kind != REQ_DELETE_IKE && kind != REQ_DELETE_CHILD) || sa->req->owed) {
		ctx->st.dpd_dead++;
		sa_kill(ctx, sa, "peer dead (no answer to our requests)");
		return;
	}
	sa_kill(ctx, sa, kind == REQ_DELETE_IKE ? "DELETE unanswered" :
			 "peer dead (no answer to our requests)");
}

/*
 * A request that replaces one the peer left unanswered (the IKE SA's hard
 * lifetime ended during a liveness check) gives up when the first would
 * have: a silent peer gets dpd-timeout once, not once per request, and
 * its end counts as a dead peer.
 */
void req_inherit_deadline(struct ike_ctx *ctx, struct ike_req *rq, uint64_t deadline)
{
	uint64_t min = ctx->now + 1000;	/* one retransmit at least */

	if (deadline < min)
		deadline = min;
	if (deadline < rq->first_sent + rq->timeout) {
		rq->timeout = deadline - rq->first_sent;
		rq->owed = true;
		if (rq->next_retx > deadline)
			rq->next_retx = deadline;
	}
}

void req_timer(struct ike_ctx *ctx, struct ike_sa *sa)
{
	struct ike_req *rq = sa->req;

	if (!rq || ctx->now < rq->next_retx)
		return;
	if (ctx->now - rq->first_sent >= rq->timeout) {
		req_gave_up(ctx, sa);
		return;
	}
	rq->tries++;
	rq->next_retx = ctx->now + retx_wait(ctx, rq->tries);
	if (rq->next_retx > rq->first_sent + rq->timeout)
		rq->next_retx = rq->first_sent + rq->timeout;
	ctx->st.req_retransmits++;
	pr_debug("site '%s': retransmit %u of our %s (message %u)", sa->site_name,
		 rq->tries, req_name(rq->kind), rq->msgid);
	resend(ctx, sa->local_port, sa->peer_addr, sa->peer_port, rq->msg,
	       rq->len);
}

/* Start the next request the SA wants, in order of importance. */
void req_next(struct ike_ctx *ctx, struct ike_sa *sa)
{
	struct ikev2_buf b;
	struct ike_req *rq;

	if (sa->req || sa->state != IKE_S_ESTABLISHED)
		return;
	if (sa->want & IKE_WANT_DELETE) {
		sa->want &= ~IKE_WANT_DELETE;
		rq = req_new(REQ_DELETE_IKE, IKEV2_EXCH_INFORMATIONAL);
		if (!rq)
			return;
		ikev2_build_inner(&b, ctx->plain, sizeof(ctx->plain));
		ikev2_put_delete(&b, IKEV2_PROTO_IKE, NULL, 0);
		if (send_request(ctx, sa, rq, &b) == 0) {
			ctx->st.deletes_tx++;
			pr_info("site '%s': DELETE of the IKE SA sent (%s)",
				sa->site_name, sa->why);
		}
		return;
	}
	/* Child SAs: DELETEs first (a rekey we made leaves the old one) */
	rq = req_new(REQ_DELETE_CHILD, IKEV2_EXCH_INFORMATIONAL);
	if (rq && child_delete_collect(sa, rq)) {
		ikev2_build_inner(&b, ctx->plain, sizeof(ctx->plain));
		ikev2_put_delete(&b, IKEV2_PROTO_ESP, rq->spis, rq->n_spis);
		for (unsigned i = 0; i < rq->n_spis; i++)
			rq->spis[i] = htonl(rq->spis[i]);
		send_request(ctx, sa, rq, &b);
		ctx->st.deletes_tx++;
		return;
	}
	req_free(rq);
	if (child_rekey_next(ctx, sa))
		return;
	if (sa->want & IKE_WANT_REKEY_IKE) {
		sa->want &= ~IKE_WANT_REKEY_IKE;
		if (ike_rekey_start(ctx, sa) == 0)
			return;
	}
	if (sa->want & IKE_WANT_DPD) {
		sa->want &= ~IKE_WANT_DPD;
		rq = req_new(REQ_DPD, IKEV2_EXCH_INFORMATIONAL);
		if (!rq)
			return;
		ikev2_build_inner(&b, ctx->plain, sizeof(ctx->plain));
		if (send_request(ctx, sa, rq, &b) == 0) {
			ctx->st.dpd_sent++;
			sa->dpd_sent++;
			pr_debug("site '%s': liveness check sent", sa->site_name);
		}
	}
}

/* The peer answered our DELETE of Child SAs: remove them for good. */
static void delete_child_response(struct ike_ctx *ctx, struct ike_sa *sa,
				  struct ike_req *rq)
{
	unsigned i;

	for (i = 0; i < rq->n_spis; i++) {
		struct ike_child *c = child_by_spi_in(sa, rq->spis[i]);

		if (c) {
			pr_info("site '%s': Child SA %08x/%08x deleted", sa->site_name,
				ntohl(c->spi_in), ntohl(c->spi_out));
			child_drop(ctx, sa, c);
		}
	}
}

void handle_response(struct ike_ctx *ctx, struct ike_sa *sa,
		     const struct ikev2_msghdr *h, const struct ikev2_msg *m)
{
	struct ike_req *rq = sa->req;

	if (!rq || h->msgid != rq->msgid || h->exch != rq->exch) {
		ctx->st.rx_dropped++;
		return;
	}
	sa->req = NULL;		/* the window is free again */
	switch (rq->kind) {
	case REQ_DPD:
		pr_debug("site '%s': liveness check answered", sa->site_name);
		break;
	case REQ_DELETE_IKE:
		sa_kill(ctx, sa, sa->why ? sa->why : "deleted");
		break;
	case REQ_DELETE_CHILD:
		delete_child_response(ctx, sa, rq);
		break;
	case REQ_REKEY_CHILD:
		child_rekey_response(ctx, sa, rq, m);
		break;
	case REQ_REKEY_IKE:
		ike_rekey_response(ctx, sa, rq, m);
		break;
	}
	req_free(rq);
	if (sa->state == IKE_S_ESTABLISHED)
		req_next(ctx, sa);
}
