// SPDX-License-Identifier: GPL-2.0
/*
 * ike.c - the IKEv2 engine's input (RFC 7296): every datagram is checked
 * (marker, header, size, SPIs, source, message ID, ICV) before anything is
 * handled, then dispatched flat per exchange type; every authenticated
 * request gets an answer (2.21), every answer is matched with our request.
 * The exchanges themselves live in ike_init.c, ike_child.c, ike_rekey.c;
 * SA state in ike_sa.c; what we send in ike_msg.c; timers in ike_dpd.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "ike_int.h"

/* ---- small helpers --------------------------------------------------------- */

uint64_t ike_be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void ike_be64_put(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

const char *ike_ip(uint32_t be, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &be, buf, INET_ADDRSTRLEN);
}

uint64_t ike_clock(struct ike_ctx *ctx)
{
	struct timespec ts;

	if (ctx->env.now_ms) {
		ctx->now = ctx->env.now_ms(ctx->env.arg);
	} else {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ctx->now = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	return ctx->now;
}

uint64_t ike_now(const struct ike_ctx *ctx)
{
	return ctx->now;
}

uint64_t ike_jitter_ms(uint64_t ms, unsigned permille)
{
	uint32_t r = 0;

	if (!permille || ike_random(&r, sizeof(r)))
		return ms;
	return ms - (ms * permille / 1000) * (r % 1001) / 1000;
}

const struct ike_stats *ike_get_stats(const struct ike_ctx *ctx)
{
	return &ctx->st;
}

const struct ike_cfg *ike_get_cfg(const struct ike_ctx *ctx)
{
	return &ctx->cfg;
}

/* ---- INFORMATIONAL ------------------------------------------------------------ */

/*
 * The peer's INFORMATIONAL (1.4): DELETEs of Child SAs are answered with
 * DELETEs of ours (1.4.1), a DELETE of the IKE SA with an empty answer,
 * an empty request (liveness) with an empty answer.
 */
static void handle_info(struct ike_ctx *ctx, struct ike_sa *sa,
			const struct ikev2_msghdr *h, const struct ikev2_msg *m)
{
	struct ikev2_buf rsp;
	uint32_t gone[IKE_CHILD_SLOTS];
	unsigned n_gone = 0, i;
	bool delete_ike = false;
	int idx;

	for (idx = ikev2_msg_find(m, IKEV2_PLD_DELETE, 0); idx >= 0;
	     idx = ikev2_msg_find(m, IKEV2_PLD_DELETE, idx + 1)) {
		struct ikev2_delete_pld d;

		if (ikev2_dec_delete(&m->pld[idx], &d)) {
			send_error(ctx, sa, h->exch, h->msgid, IKEV2_N_INVALID_SYNTAX);
			return;
		}
		ctx->st.deletes_rx++;
		if (d.proto == IKEV2_PROTO_IKE) {
			delete_ike = true;
			continue;
		}
		if (d.proto != IKEV2_PROTO_ESP)
			continue;
		/* The peer names its inbound SPIs: our outbound ones (1.4.1). */
		for (i = 0; i < d.n_spi; i++) {
			uint32_t spi = htonl(ikev2_delete_spi(&d, i));
			struct ike_child *c = child_by_spi_out(sa, spi);

			if (c)
				child_deleted_by_peer(ctx, sa, c, gone, &n_gone);
		}
	}
	ikev2_build_inner(&rsp, ctx->plain, sizeof(ctx->plain));
	if (n_gone && !delete_ike)
		ikev2_put_delete(&rsp, IKEV2_PROTO_ESP, gone, n_gone);
	send_response(ctx, sa, IKEV2_EXCH_INFORMATIONAL, h->msgid, &rsp);
	if (delete_ike) {
		/* our own request is moot: the SA goes (2.8.2 if rekeyed) */
		sa_kill(ctx, sa, "DELETE from peer");
	}
}

/* ---- input ------------------------------------------------------------------------ */

/*
 * 3.3 and 2.21: a payload that a request of this exchange may carry only
 * once, twice, is INVALID_SYNTAX.
 */
static bool duplicated(const struct ikev2_msg *m)
{
	static const uint8_t once[] = {
		IKEV2_PLD_SA, IKEV2_PLD_KE, IKEV2_PLD_NONCE, IKEV2_PLD_IDI,
		IKEV2_PLD_IDR, IKEV2_PLD_AUTH, IKEV2_PLD_TSI, IKEV2_PLD_TSR,
	};
	unsigned i;

	for (i = 0; i < sizeof(once); i++)
		if (ikev2_msg_count(m, once[i]) > 1)
			return true;
	return false;
}

static void input_init(struct ike_ctx *ctx, const struct ikev2_msghdr *h,
		       const uint8_t *buf, size_t len, uint16_t local_port,
		       uint32_t addr, uint16_t port)
{
	struct ikev2_msghdr hh;
	struct ikev2_msg m;
	char ip[INET_ADDRSTRLEN];
	int err;

	if (h->flags & IKEV2_FLAG_RESPONSE) {
		ctx->st.rx_dropped++;	/* we never send IKE_SA_INIT requests */
		return;
	}
	/* unauthenticated: bounded before anything is parsed or kept */
	if (len > IKE_INIT_MAX) {
		pr_debug("IKE_SA_INIT of %zu bytes from %s dropped (max %u)", len,
			 ike_ip(addr, ip), IKE_INIT_MAX);
		ctx->st.init_too_big++;
		return;
	}
	err = ikev2_parse_msg(buf, len, &hh, &m);
	if (err == -ENOTSUP) {
		init_unsupported(ctx, h, &m, local_port, addr, port);
		return;
	}
	if (err || m.sk >= 0) {
		pr_debug("malformed IKE_SA_INIT from %s: %s", ike_ip(addr, ip),
			 m.why ? m.why : "SK in IKE_SA_INIT");
		ctx->st.rx_bad++;
		return;
	}
	handle_init(ctx, h, &m, buf, len, local_port, addr, port);
}

/* Move the plaintext out of ctx->plain, where answers are built. */
static void hold(struct ike_ctx *ctx, struct ikev2_msg *inner,
		 const uint8_t *plain, size_t plen)
{
	unsigned i;

	memcpy(ctx->held, plain, plen);
	ctx->held_len = plen;
	for (i = 0; i < inner->n; i++)
		inner->pld[i].body = ctx->held + (inner->pld[i].body - plain);
	OPENSSL_cleanse(ctx->plain, plen);
}

/* A request of the peer's, authenticated and in order: dispatch it. */
static void dispatch(struct ike_ctx *ctx, struct ike_sa *sa,
		     const struct ikev2_msghdr *h, const struct ikev2_msg *m)
{
	if (duplicated(m)) {
		send_error(ctx, sa, h->exch, h->msgid, IKEV2_N_INVALID_SYNTAX);
		return;
	}
	switch (h->exch) {
	case IKEV2_EXCH_IKE_AUTH:
		if (sa->state == IKE_S_HALF_OPEN) {
			handle_auth(ctx, sa, h, m);
			return;
		}
		break;		/* a second IKE_AUTH: INVALID_SYNTAX */
	case IKEV2_EXCH_INFORMATIONAL:
		if (sa->state != IKE_S_HALF_OPEN) {
			handle_info(ctx, sa, h, m);
			return;
		}
		break;
	case IKEV2_EXCH_CREATE_CHILD_SA:
		if (sa->state == IKE_S_ESTABLISHED) {
			handle_create_child(ctx, sa, h, m);
			return;
		}
		if (sa->state != IKE_S_HALF_OPEN) {
			/* 2.25: the IKE SA is being rekeyed or deleted */
			send_error(ctx, sa, h->exch, h->msgid,
				   IKEV2_N_TEMPORARY_FAILURE);
			return;
		}
		break;
	}
	/* an exchange this SA cannot take now, or one we do not know */
	pr_info("site '%s': exchange %u in state %s: INVALID_SYNTAX", sa->site_name,
		h->exch, ike_state_name(sa->state));
	ctx->st.rx_bad++;
	send_error(ctx, sa, h->exch, h->msgid, IKEV2_N_INVALID_SYNTAX);
}

/* The peer's NAT moved its port (2.23): follow it, and the ESP with it. */
static void follow_port(struct ike_ctx *ctx, struct ike_sa *sa,
			uint16_t local_port, uint16_t port)
{
	bool moved = sa->peer_port != port && sa->state != IKE_S_HALF_OPEN &&
		     local_port == NATT_PORT && sa->local_port == NATT_PORT;

	if (sa->peer_port != port || sa->local_port != local_port)
		sa->dirty = true;
	sa->peer_port = port;
	sa->local_port = local_port;
	if (moved && ike_sa_tunnels(sa)) {
		pr_info("site '%s': peer's NAT mapping moved to port %u",
			sa->site_name, port);
		ctx->st.nat_moves++;
		if (ctx->env.peer_moved)
			ctx->env.peer_moved(ctx->env.arg, sa);
	}
}

static void input_sk(struct ike_ctx *ctx, const struct ikev2_msghdr *h,
		     const uint8_t *buf, size_t len, uint16_t local_port,
		     uint32_t addr, uint16_t port)
{
	bool response = h->flags & IKEV2_FLAG_RESPONSE;
	bool from_initiator = h->flags & IKEV2_FLAG_INITIATOR;
	struct ikev2_msghdr hh = *h;
	struct ikev2_msg m, inner;
	struct ike_sk_keys sk;
	struct ike_sa *sa;
	uint8_t our_spi[IKE_SPI_LEN], *plain, first, hash[16];
	size_t plen;
	int err;

	/* our SPI is the responder's unless the sender is the responder */
	ike_be64_put(our_spi, from_initiator ? h->rspi : h->ispi);
	sa = sa_by_spi(ctx, our_spi);
	if (!sa || ike_be64_get(sa->spi_i) != h->ispi ||
	    ike_be64_get(sa->spi_r) != h->rspi || sa->peer_addr != addr ||
	    from_initiator == sa->we_initiated) {
		/* 2.21.4: no INVALID_IKE_SPI to unauthenticated strangers */
		ctx->st.rx_dropped++;
		return;
	}
	if (response) {
		if (!sa->req || h->msgid != sa->req->msgid) {
			ctx->st.rx_dropped++;
			return;
		}
	} else {
		/* Message IDs (2.3): a retransmit gets the cached answer. */
		if (resend_if_retransmit(ctx, sa, buf, len, h->msgid, local_port,
					 port))
			return;
		if (h->msgid != sa->next_msgid) {
			ctx->st.rx_dropped++;
			return;
		}
	}
	err = ikev2_parse_msg(buf, len, &hh, &m);
	if (err || m.sk < 0) {
		ctx->st.rx_bad++;
		return;
	}
	if (m.pld[m.sk].type == IKEV2_PLD_SKF) {
		/* a fragment (RFC 7383): on when the message is complete */
		if (frag_input(ctx, sa, h, &m, buf, len, &plain, &plen, &first,
			       hash) <= 0)
			return;
	} else {
		/* ICV first, in constant time; unauthenticated: dropped */
		ike_keys_sk(&sa->keys, !sa->we_initiated, &sk);
		if (ike_sk_open(&sk, buf, len, m.sk_off, ctx->plain,
				sizeof(ctx->plain), &plain, &plen, &first)) {
			pr_debug("site '%s': message %u fails integrity, dropped",
				 sa->site_name, h->msgid);
			ctx->st.rx_bad++;
			return;
		}
		if (!response)
			req_hash(buf, len, hash);
	}
	/*
	 * Authenticated: follow the peer's port (NAT-T floats to 4500 after
	 * IKE_SA_INIT, NATs rebind, 2.23); every answer goes where the
	 * request came from (2.11).
	 */
	follow_port(ctx, sa, local_port, port);
	sa->dirty = true;	/* message IDs, the cached answer, what follows */
	sa->rx_msgs++;
	sa->last_rx = ctx->now;
	sa_alive(ctx, sa);
	err = ikev2_parse_chain_flags(first, plain, plen,
				      IKEV2_PARSE_INNER |
				      (response ? IKEV2_PARSE_RESPONSE : 0),
				      &inner);
	if (response) {
		if (err) {
			/* a broken answer still ends the exchange */
			ctx->st.rx_bad++;
			memset(&inner, 0, sizeof(inner));
		} else {
			hold(ctx, &inner, plain, plen);
		}
		handle_response(ctx, sa, h, &inner);
		return;
	}
	sa->next_msgid++;
	/* of the datagram (of fragment 1, 7383 2.6.1) a retransmit repeats */
	memcpy(ctx->held_hash, hash, sizeof(ctx->held_hash));
	if (err) {
		uint8_t t = inner.unsup_type;
		struct ikev2_buf rsp;

		OPENSSL_cleanse(ctx->plain, plen);
		ctx->st.rx_bad++;
		ikev2_build_inner(&rsp, ctx->plain, sizeof(ctx->plain));
		if (err == -ENOTSUP)
			ikev2_put_notify(&rsp, IKEV2_PROTO_NONE, 0, 0,
					 IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD, &t, 1);
		else	/* 2.21.2: malformed after a valid ICV */
			ikev2_put_notify(&rsp, IKEV2_PROTO_NONE, 0, 0,
					 IKEV2_N_INVALID_SYNTAX, NULL, 0);
		send_response(ctx, sa, h->exch, h->msgid, &rsp);
		return;
	}
	hold(ctx, &inner, plain, plen);
	dispatch(ctx, sa, h, &inner);
	if (sa->state != IKE_S_DEAD)
		req_next(ctx, sa);
}

void ike_input(struct ike_ctx *ctx, uint16_t local_port, uint32_t addr,
	       uint16_t port, const uint8_t *buf, size_t len)
{
	struct ikev2_msghdr h;
	char ip[INET_ADDRSTRLEN];
	int err;

	ike_clock(ctx);
	ctx->st.rx++;
	if (local_port == NATT_PORT) {
		/* RFC 3948 2.2: IKE on 4500 carries four zero bytes first. */
		if (len < 4 || buf[0] | buf[1] | buf[2] | buf[3]) {
			ctx->st.rx_dropped++;
			return;
		}
		buf += 4;
		len -= 4;
	}
	err = ikev2_parse_hdr(buf, len, &h);
	if (err == -EPROTONOSUPPORT) {
		/* IKEv1 gets no answer; later majors are rare enough to drop too */
		pr_info("IKE major version %u from %s:%u dropped (IKEv2 only)",
			h.major, ike_ip(addr, ip), port);
		if (h.major == 1)
			ctx->st.ikev1++;
		else
			ctx->st.rx_bad++;
		return;
	}
	if (err) {
		pr_debug("bad IKE header from %s:%u", ike_ip(addr, ip), port);
		ctx->st.rx_bad++;
		return;
	}
	if (h.exch == IKEV2_EXCH_IKE_SA_INIT)
		input_init(ctx, &h, buf, len, local_port, addr, port);
	else
		input_sk(ctx, &h, buf, len, local_port, addr, port);
	OPENSSL_cleanse(ctx->held, ctx->held_len);
	ctx->held_len = 0;
	sa_reap(ctx);
}

/* ---- the host's events ------------------------------------------------------------ */

unsigned ike_site_down(struct ike_ctx *ctx, int64_t site_id, const char *why)
{
	struct ike_sa *sa;
	unsigned n = 0;

	ike_clock(ctx);
	while ((sa = sa_site_first(ctx, site_id))) {
		if (sa->state == IKE_S_ESTABLISHED)
			send_delete_once(ctx, sa);
		sa_kill(ctx, sa, why);
		n++;
	}
	sa_reap(ctx);
	return n;
}

int ike_child_expire(struct ike_ctx *ctx, uint32_t spi, bool hard)
{
	struct ike_sa *sa;
	struct ike_child *c;

	ike_clock(ctx);
	c = child_find(ctx, spi, &sa);
	if (!c)
		return -ENOENT;
	if (hard) {
		/* the kernel removed one of the pair: DELETE, remove the rest */
		pr_info("site '%s': Child SA %08x/%08x hard lifetime over",
			sa->site_name, ntohl(c->spi_in), ntohl(c->spi_out));
		ctx->st.expired++;
		c->hard_at = ctx->now;
	} else if (c->state == CHILD_S_INSTALLED) {
		c->soft_at = ctx->now;
	}
	child_timers(ctx, sa);	/* a hard one goes now, request out or not */
	req_next(ctx, sa);
	sa_reap(ctx);
	return 0;
}

int ike_child_mapping(struct ike_ctx *ctx, uint32_t spi_in, uint32_t addr,
		      uint16_t port)
{
	struct ike_sa *sa;
	struct ike_child *c;
	char ip[INET_ADDRSTRLEN];

	ike_clock(ctx);
	c = child_find(ctx, spi_in, &sa);
	if (!c || c->spi_in != spi_in)
		return -ENOENT;
	if (addr != sa->peer_addr) {
		/* the site is its source IP: another address is not the site */
		pr_info("site '%s': ESP from %s, not its address: mapping ignored",
			sa->site_name, ike_ip(addr, ip));
		return -EPERM;
	}
	if (port == sa->peer_port)
		return 0;
	follow_port(ctx, sa, NATT_PORT, port);
	return 0;
}

int ike_rekey_child_now(struct ike_ctx *ctx, int64_t site_id, uint32_t spi_in)
{
	struct ike_sa *sa;
	unsigned i, n = 0;

	ike_clock(ctx);
	for (sa = sa_site_first(ctx, site_id); sa; sa = sa->snext) {
		if (sa->site_id != site_id || sa->state != IKE_S_ESTABLISHED)
			continue;
		for (i = 0; i < IKE_CHILD_SLOTS; i++) {
			struct ike_child *c = sa->child[i];

			if (!c || c->state != CHILD_S_INSTALLED ||
			    (spi_in && c->spi_in != spi_in))
				continue;
			c->soft_at = ctx->now;
			n++;
		}
		req_next(ctx, sa);
	}
	sa_reap(ctx);
	return n ? 0 : -ENOENT;
}

int ike_rekey_ike_now(struct ike_ctx *ctx, int64_t site_id)
{
	struct ike_sa *sa;

	ike_clock(ctx);
	for (sa = sa_site_first(ctx, site_id); sa; sa = sa->snext) {
		if (sa->site_id != site_id || sa->state != IKE_S_ESTABLISHED)
			continue;
		sa->want |= IKE_WANT_REKEY_IKE;
		req_next(ctx, sa);
		sa_reap(ctx);
		return 0;
	}
	return -ENOENT;
}

void ike_tick(struct ike_ctx *ctx)
{
	struct ike_sa *sa, *next;

	ike_clock(ctx);
	ike_cookie_tick(ctx);
	ike_dh_reuse_tick(ctx);
	for (sa = ctx->sas; sa; sa = next) {
		next = sa->next;
		frags_tick(ctx, sa);
		sa_timers(ctx, sa);
	}
	sa_reap(ctx);
	ike_persist_flush(ctx);
}

/* ---- context ------------------------------------------------------------------------ */

int ike_ctx_new(struct ike_ctx **out, const struct ike_env *env,
		const struct ike_cfg *cfg)
{
	struct ike_cfg def = IKE_CFG_DEFAULT;
	struct ike_ctx *ctx = calloc(1, sizeof(*ctx));
	int err;

	if (!ctx)
		return -ENOMEM;
	ctx->env = *env;
	ctx->cfg = cfg ? *cfg : def;
	ike_clock(ctx);
	if (ike_cookie_init(ctx)) {
		ike_cookie_free(ctx);
		free(ctx);
		return -ENOMEM;
	}
	err = ike_workers_start(ctx);
	if (err) {
		pr_err("IKE worker threads: %s", strerror(-err));
		ike_workers_stop(ctx);
		ike_cookie_free(ctx);
		free(ctx);
		return err;
	}
	*out = ctx;
	return 0;
}

void ike_ctx_free(struct ike_ctx *ctx, bool teardown)
{
	struct ike_sa *sa;

	if (!ctx)
		return;
	ike_workers_stop(ctx);		/* results in flight are wiped */
	ike_clock(ctx);
	if (!teardown) {
		/* a restart: the next ipsecd resumes from these records */
		ike_persist_flush(ctx);
		ctx->keeping = true;
	}
	while ((sa = ctx->sas)) {
		if (teardown) {
			if (sa->state == IKE_S_ESTABLISHED)
				send_delete_once(ctx, sa);
			sa_kill(ctx, sa, "shutdown");
		} else {
			sa_retire(ctx, sa, "daemon stops, tunnels kept");
		}
	}
	sa_reap(ctx);
	OPENSSL_cleanse(ctx->plain, sizeof(ctx->plain));
	OPENSSL_cleanse(ctx->held, sizeof(ctx->held));
	OPENSSL_cleanse(ctx->out, sizeof(ctx->out));
	ike_cookie_free(ctx);
	ike_dh_reuse_free(ctx);
	free(ctx);
}
