// SPDX-License-Identifier: GPL-2.0
/*
 * ike.c - the IKEv2 responder (RFC 7296): IKE_SA_INIT, IKE_AUTH with PSK,
 * INFORMATIONAL (liveness, DELETE), CREATE_CHILD_SA for new and rekeyed
 * Child SAs with optional PFS (IKE SA rekey: NO_ADDITIONAL_SAS, the peer
 * re-authenticates). A flat dispatcher per exchange type; every message is
 * validated whole (ikev2_pld.c) before anything is handled; one function
 * (ike_set_state) changes an SA's state and logs why.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>

#include "ike.h"
#include "log.h"

#define IKE_HASH	65536	/* buckets of each SA index; power of two */
#define IKE_PORT	500
#define NATT_PORT	4500
#define MSG_MAX		IKE_SK_MSG_MAX

struct ike_ctx {
	struct ike_env env;
	struct ike_sa *sas;
	struct ike_sa *by_r[IKE_HASH];	/* our SPI -> SA, for every message */
	struct ike_sa *by_i[IKE_HASH];	/* peer's SPI + address -> SA (INIT) */
	unsigned n_sas, n_half_open;
	uint32_t next_reqid;
	struct ike_stats st;
	uint8_t out[MSG_MAX + 4];	/* response being built (+ marker) */
	uint8_t plain[MSG_MAX];		/* SK plaintext, in and out */
	uint8_t held[MSG_MAX];		/* a request's plaintext while we answer */
};

/* ---- small helpers ------------------------------------------------------- */

static uint64_t be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void be64_put(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

static const char *ip_s(uint32_t be, char *buf)
{
	return inet_ntop(AF_INET, &be, buf, INET_ADDRSTRLEN);
}

const char *ike_state_name(enum ike_state s)
{
	switch (s) {
	case IKE_S_HALF_OPEN: return "half-open";
	case IKE_S_ESTABLISHED: return "established";
	case IKE_S_DEAD: return "dead";
	}
	return "?";
}

/* The one place an IKE SA changes state: logged old -> new with the reason. */
static void ike_set_state(struct ike_ctx *ctx, struct ike_sa *sa,
			  enum ike_state new, const char *why)
{
	char ip[INET_ADDRSTRLEN];

	if (sa->state == new)
		return;
	eg_log(new == IKE_S_DEAD && sa->state == IKE_S_HALF_OPEN ?
	       EG_LOG_DEBUG : EG_LOG_INFO,
	       "ike_set_state: site '%s' peer %s:%u spi %016llx/%016llx: %s -> %s (%s)",
	       sa->site_name, ip_s(sa->peer_addr, ip), sa->peer_port,
	       (unsigned long long)be64_get(sa->spi_i),
	       (unsigned long long)be64_get(sa->spi_r),
	       sa->state ? ike_state_name(sa->state) : "new",
	       ike_state_name(new), why);
	if (sa->state == IKE_S_HALF_OPEN)
		ctx->n_half_open--;
	if (new == IKE_S_HALF_OPEN)
		ctx->n_half_open++;
	sa->state = new;
	sa->why = why;
}

/* ---- SA table ------------------------------------------------------------ */

/* FNV-1a over a few bytes: SPIs are random, this only spreads them. */
static unsigned bucket(const uint8_t *spi, uint32_t addr, uint16_t port)
{
	uint32_t h = 2166136261u;
	unsigned i;

	for (i = 0; i < IKE_SPI_LEN; i++)
		h = (h ^ spi[i]) * 16777619u;
	h = (h ^ addr) * 16777619u;
	h = (h ^ port) * 16777619u;
	return h & (IKE_HASH - 1);
}

/* Index an SA once both SPIs are known. */
static void sa_index(struct ike_ctx *ctx, struct ike_sa *sa)
{
	unsigned r = bucket(sa->spi_r, 0, 0);
	unsigned i = bucket(sa->spi_i, sa->peer_addr, sa->peer_port);

	sa->rnext = ctx->by_r[r];
	ctx->by_r[r] = sa;
	sa->inext = ctx->by_i[i];
	ctx->by_i[i] = sa;
	sa->ibucket = i;
	sa->indexed = true;
}

static void sa_unindex(struct ike_ctx *ctx, struct ike_sa *sa)
{
	struct ike_sa **pp;

	if (!sa->indexed)
		return;
	for (pp = &ctx->by_r[bucket(sa->spi_r, 0, 0)]; *pp; pp = &(*pp)->rnext)
		if (*pp == sa) {
			*pp = sa->rnext;
			break;
		}
	/* the peer's port may have floated since: the key is as indexed */
	for (pp = &ctx->by_i[sa->ibucket]; *pp; pp = &(*pp)->inext)
		if (*pp == sa) {
			*pp = sa->inext;
			break;
		}
	sa->indexed = false;
}

static struct ike_sa *sa_by_rspi(struct ike_ctx *ctx, const uint8_t *spi_r)
{
	struct ike_sa *sa;

	for (sa = ctx->by_r[bucket(spi_r, 0, 0)]; sa; sa = sa->rnext)
		if (sa->state != IKE_S_DEAD && !memcmp(sa->spi_r, spi_r, IKE_SPI_LEN))
			return sa;
	return NULL;
}

static struct ike_sa *sa_half_open(struct ike_ctx *ctx, const uint8_t *spi_i,
				   uint32_t addr, uint16_t port)
{
	struct ike_sa *sa;

	for (sa = ctx->by_i[bucket(spi_i, addr, port)]; sa; sa = sa->inext)
		if (sa->state == IKE_S_HALF_OPEN && sa->peer_addr == addr &&
		    sa->peer_port == port && !memcmp(sa->spi_i, spi_i, IKE_SPI_LEN))
			return sa;
	return NULL;
}

static void child_drop(struct ike_ctx *ctx, struct ike_sa *sa,
		       struct ike_child *c)
{
	if (!c->used)
		return;
	ctx->env.child_remove(ctx->env.arg, sa, c);
	memset(c, 0, sizeof(*c));
}

static void sa_free(struct ike_ctx *ctx, struct ike_sa *sa)
{
	unsigned i;

	sa_unindex(ctx, sa);
	for (i = 0; i < IKE_MAX_CHILD; i++)
		child_drop(ctx, sa, &sa->child[i]);
	ike_keys_wipe(&sa->keys);
	OPENSSL_cleanse(sa->ni, sizeof(sa->ni));
	OPENSSL_cleanse(sa->nr, sizeof(sa->nr));
	free(sa->init_req);
	free(sa->init_resp);
	free(sa->resp);
	ctx->n_sas--;
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

/* Free the SAs marked dead. */
static void sa_reap(struct ike_ctx *ctx)
{
	struct ike_sa **pp = &ctx->sas, *sa;

	while ((sa = *pp)) {
		if (sa->state == IKE_S_DEAD) {
			*pp = sa->next;
			sa_free(ctx, sa);
		} else {
			pp = &sa->next;
		}
	}
}

static void sa_kill(struct ike_ctx *ctx, struct ike_sa *sa, const char *why)
{
	unsigned i;

	for (i = 0; i < IKE_MAX_CHILD; i++)
		child_drop(ctx, sa, &sa->child[i]);
	ike_set_state(ctx, sa, IKE_S_DEAD, why);
}

/* ---- sending ------------------------------------------------------------- */

static uint8_t *out_msg(struct ike_ctx *ctx)
{
	return ctx->out + 4;
}

/*
 * Send buf (an IKE message) to the SA's peer, or to addr:port from
 * local_port. On 4500 the non-ESP marker goes first (RFC 3948 2.2): the
 * caller built the message at out + 4 and we use the four bytes before it.
 */
static int send_msg(struct ike_ctx *ctx, uint16_t local_port, uint32_t addr,
		    uint16_t port, uint8_t *msg, size_t len)
{
	if (local_port == NATT_PORT) {
		memset(msg - 4, 0, 4);
		return ctx->env.send(ctx->env.arg, local_port, addr, port,
				     msg - 4, len + 4);
	}
	return ctx->env.send(ctx->env.arg, local_port, addr, port, msg, len);
}

/* Send a cached message again (2.1): copied where the marker fits. */
static void resend(struct ike_ctx *ctx, uint16_t local_port, uint32_t addr,
		   uint16_t port, const uint8_t *msg, size_t len)
{
	memcpy(out_msg(ctx), msg, len);
	ctx->st.retransmits++;
	send_msg(ctx, local_port, addr, port, out_msg(ctx), len);
}

/* Keep a copy of the response for retransmitted requests (2.1). */
static void cache_resp(struct ike_sa *sa, const uint8_t *msg, size_t len,
		       uint32_t msgid)
{
	uint8_t *p = realloc(sa->resp, len);

	if (!p)
		return;
	memcpy(p, msg, len);
	sa->resp = p;
	sa->resp_len = len;
	sa->resp_msgid = msgid;
}

/*
 * Encrypt the payload list in `inner` into an SK payload behind a header
 * and send it: a response to msgid (response) or our own request.
 */
static int send_sk(struct ike_ctx *ctx, struct ike_sa *sa, uint8_t exch,
		   uint32_t msgid, bool response, struct ikev2_buf *inner)
{
	struct ikev2_msghdr h = {
		.ispi = be64_get(sa->spi_i), .rspi = be64_get(sa->spi_r),
		.msgid = msgid, .major = 2, .exch = exch,
		.flags = response ? IKEV2_FLAG_RESPONSE : 0,
	};
	struct ike_sk_keys sk;
	struct ikev2_buf b;
	size_t hlen, plen = 0, len;
	uint8_t *msg = out_msg(ctx);
	int err;

	if (ikev2_build_finish(inner, &plen))
		return -EINVAL;
	ikev2_build_init(&b, msg, MSG_MAX, &h);
	if (ikev2_build_finish(&b, &hlen))
		return -EINVAL;
	msg[16] = IKEV2_PLD_SK;		/* header's next payload */
	ike_keys_sk(&sa->keys, false, &sk);
	err = ike_sk_seal(&sk, msg, MSG_MAX, hlen, ikev2_buf_first(inner),
			  inner->data, plen, &len);
	if (err)
		return err;
	if (response)
		cache_resp(sa, msg, len, msgid);
	sa->tx_msgs++;
	return send_msg(ctx, sa->local_port, sa->peer_addr, sa->peer_port, msg, len);
}

/* An unencrypted IKE_SA_INIT answer carrying one notify (1.2, 2.6). */
static void init_notify(struct ike_ctx *ctx, const struct ikev2_msghdr *req,
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

/* ---- IKE_SA_INIT ----------------------------------------------------------- */

static int natd(const uint8_t *spi_i, const uint8_t *spi_r, uint32_t addr,
		uint16_t port, uint8_t out[IKE_NATD_LEN])
{
	return ike_natd_hash(spi_i, spi_r, &addr, 4, port, out);
}

/*
 * RFC 7296 2.23: compare the peer's NAT_DETECTION_SOURCE_IP hashes with
 * the address it came from. Returns 1 if it is behind a NAT, 0 if not,
 * -ENOENT when the peer sent none (it does not do NAT-T).
 */
static int peer_natted(const struct ikev2_msg *m, const uint8_t *spi_i,
		       uint32_t addr, uint16_t port)
{
	static const uint8_t zero[IKE_SPI_LEN];
	uint8_t h[IKE_NATD_LEN];
	struct ikev2_notify_pld n;
	int i, seen = 0;

	natd(spi_i, zero, addr, port, h);
	for (i = 0; i < (int)m->n; i++) {
		if (m->pld[i].type != IKEV2_PLD_NOTIFY ||
		    ikev2_dec_notify(&m->pld[i], &n) ||
		    n.type != IKEV2_N_NAT_DETECTION_SOURCE_IP)
			continue;
		seen = 1;
		pr_debug("NAT_D source %02x%02x%02x%02x.. ours %02x%02x%02x%02x.. (%u bytes)",
			 n.len > 3 ? n.data[0] : 0, n.len > 3 ? n.data[1] : 0,
			 n.len > 3 ? n.data[2] : 0, n.len > 3 ? n.data[3] : 0,
			 h[0], h[1], h[2], h[3], (unsigned)n.len);
		if (n.len == IKE_NATD_LEN && !CRYPTO_memcmp(n.data, h, IKE_NATD_LEN))
			return 0;
	}
	return seen ? 1 : -ENOENT;
}

static struct ike_sa *sa_new(struct ike_ctx *ctx)
{
	struct ike_sa *sa;

	if (ctx->n_sas >= IKE_MAX_SAS)
		return NULL;
	sa = calloc(1, sizeof(*sa));
	if (!sa)
		return NULL;
	sa->next = ctx->sas;
	ctx->sas = sa;
	ctx->n_sas++;
	return sa;
}

static void handle_init(struct ike_ctx *ctx, const struct ikev2_msghdr *h,
			const struct ikev2_msg *m, const uint8_t *buf, size_t len,
			uint16_t local_port, uint32_t addr, uint16_t port)
{
	struct ikev2_ke_pld ke;
	struct ikev2_sa sap;
	struct ikev2_choice ch;
	struct eg_site_rec site;
	struct ike_sa *sa;
	struct ike_dh *dh = NULL;
	uint8_t spi_i[IKE_SPI_LEN], pub[IKE_DH_MAX_LEN], gir[IKE_DH_MAX_LEN];
	uint8_t hs[IKE_NATD_LEN], hd[IKE_NATD_LEN];
	struct ikev2_buf b;
	size_t glen, rlen;
	uint16_t want;
	char ip[INET_ADDRSTRLEN];
	int i_sa, i_ke, i_n, natted, err;

	be64_put(spi_i, h->ispi);
	if (h->msgid != 0 || h->rspi != 0 || !(h->flags & IKEV2_FLAG_INITIATOR)) {
		ctx->st.rx_bad++;
		return;
	}
	/* A retransmitted request gets the same answer, byte for byte. */
	sa = sa_half_open(ctx, spi_i, addr, port);
	if (sa) {
		if (sa->init_req_len == len && !memcmp(sa->init_req, buf, len))
			resend(ctx, local_port, addr, port, sa->init_resp,
			       sa->init_resp_len);
		return;
	}
	/* Only enabled sites get an answer (XDP dropped the rest already). */
	if (ctx->env.site_by_addr(ctx->env.arg, addr, &site)) {
		pr_info("IKE_SA_INIT from %s: no enabled site has this source IP, dropped",
			ip_s(addr, ip));
		ctx->st.init_refused++;
		return;
	}
	if (ctx->env.accepting && !ctx->env.accepting(ctx->env.arg)) {
		pr_info("IKE_SA_INIT from site '%s': POP is draining, no new tunnels",
			site.name);
		ctx->st.init_refused++;
		eg_site_clear(&site);
		return;
	}
	if (ctx->n_half_open >= IKE_MAX_HALF_OPEN) {
		pr_warn("%u half-open IKE SAs: dropping IKE_SA_INIT from %s",
			ctx->n_half_open, ip_s(addr, ip));
		ctx->st.init_refused++;
		eg_site_clear(&site);
		return;
	}

	i_sa = ikev2_msg_find(m, IKEV2_PLD_SA, 0);
	i_ke = ikev2_msg_find(m, IKEV2_PLD_KE, 0);
	i_n = ikev2_msg_find(m, IKEV2_PLD_NONCE, 0);
	if (i_sa < 0 || i_ke < 0 || i_n < 0 || ikev2_dec_sa(&m->pld[i_sa], &sap) ||
	    ikev2_dec_ke(&m->pld[i_ke], &ke)) {
		init_notify(ctx, h, local_port, addr, port, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		ctx->st.rx_bad++;
		goto out;
	}
	err = ikev2_prop_select_ike(&sap, ke.group, 0, &ch, &want);
	if (err == -EAGAIN) {
		uint16_t g = htons(want);

		pr_info("site '%s': KE group %u, asking for %u (INVALID_KE_PAYLOAD)",
			site.name, ke.group, want);
		init_notify(ctx, h, local_port, addr, port, IKEV2_N_INVALID_KE_PAYLOAD,
			    &g, sizeof(g));
		ctx->st.init_invalid_ke++;
		goto out;
	}
	if (err) {
		pr_info("site '%s': no acceptable IKE proposal (NO_PROPOSAL_CHOSEN)",
			site.name);
		init_notify(ctx, h, local_port, addr, port, IKEV2_N_NO_PROPOSAL_CHOSEN,
			    NULL, 0);
		ctx->st.init_no_proposal++;
		goto out;
	}
	natted = peer_natted(m, spi_i, addr, port);
	if (natted < 0) {
		/* NAT-T is mandatory: a peer without NAT detection cannot do it. */
		pr_info("site '%s': peer sent no NAT detection, NAT-T is mandatory",
			site.name);
		init_notify(ctx, h, local_port, addr, port, IKEV2_N_NO_PROPOSAL_CHOSEN,
			    NULL, 0);
		ctx->st.init_no_proposal++;
		goto out;
	}

	sa = sa_new(ctx);
	if (!sa)
		goto out;
	memcpy(sa->spi_i, spi_i, IKE_SPI_LEN);
	sa->site_id = site.id;
	snprintf(sa->site_name, sizeof(sa->site_name), "%s", site.name);
	sa->peer_addr = addr;
	sa->peer_port = port;
	sa->local_port = local_port;
	sa->peer_natted = natted;
	sa->prop = ch;
	sa->created = sa->last_rx = time(NULL);
	sa->next_msgid = 1;
	sa->ni_len = m->pld[i_n].len;
	memcpy(sa->ni, m->pld[i_n].body, sa->ni_len);
	ike_set_state(ctx, sa, IKE_S_HALF_OPEN, "IKE_SA_INIT");

	/* Our SPI, nonce and DH half; then g^ir and the seven keys (2.14). */
	if (ike_spi_ike(sa->spi_r))
		goto fail;
	sa_index(ctx, sa);
	if (ike_random(sa->nr, IKE_NONCE_LEN) ||
	    ike_dh_new(ch.dh, &dh) || ike_dh_public(dh, pub, ike_dh_group_len(ch.dh)))
		goto fail;
	glen = ike_dh_group_len(ch.dh);
	if (ike_dh_derive(dh, ke.data, ke.len, gir, glen)) {
		pr_info("site '%s': peer's DH public value rejected (RFC 6989)",
			site.name);
		init_notify(ctx, h, local_port, addr, port, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		goto fail;
	}
	{
		struct ike_suite suite = { .encr = ch.encr, .encr_key_bits = ch.encr_keylen,
					   .prf = ch.prf, .integ = ch.integ, .dh = ch.dh };

		if (ike_keys_init(&sa->keys, &suite, gir, glen, sa->ni, sa->ni_len,
				  sa->nr, IKE_NONCE_LEN, sa->spi_i, sa->spi_r))
			goto fail;
	}

	/* HDR, SAr1, KEr, Nr, N(NAT_DETECTION_*) */
	{
		struct ikev2_msghdr rh = {
			.ispi = h->ispi, .rspi = be64_get(sa->spi_r), .msgid = 0,
			.major = 2, .exch = IKEV2_EXCH_IKE_SA_INIT,
			.flags = IKEV2_FLAG_RESPONSE,
		};
		uint8_t *msg = out_msg(ctx);

		/*
		 * NAT_DETECTION_SOURCE_IP is our own address and port; when the
		 * peer is not behind a NAT we send a hash that cannot match, so
		 * that it encapsulates ESP in UDP anyway (NAT-T is mandatory
		 * here: XDP drops raw ESP). strongSwan's encap=yes does the same.
		 */
		natd(sa->spi_i, sa->spi_r, ctx->env.local_addr, local_port, hs);
		if (!natted)
			hs[0] ^= 0xff;
		natd(sa->spi_i, sa->spi_r, addr, port, hd);
		ikev2_build_init(&b, msg, MSG_MAX, &rh);
		ikev2_put_sa(&b, &ch, 0);
		ikev2_put_ke(&b, ch.dh, pub, glen);
		ikev2_put_nonce(&b, sa->nr, IKE_NONCE_LEN);
		ikev2_put_notify(&b, IKEV2_PROTO_NONE, 0, 0,
				 IKEV2_N_NAT_DETECTION_SOURCE_IP, hs, sizeof(hs));
		ikev2_put_notify(&b, IKEV2_PROTO_NONE, 0, 0,
				 IKEV2_N_NAT_DETECTION_DESTINATION_IP, hd, sizeof(hd));
		if (ikev2_build_finish(&b, &rlen))
			goto fail;
		sa->init_req = malloc(len);
		sa->init_resp = malloc(rlen);
		if (!sa->init_req || !sa->init_resp)
			goto fail;
		memcpy(sa->init_req, buf, len);
		sa->init_req_len = len;
		memcpy(sa->init_resp, msg, rlen);
		sa->init_resp_len = rlen;
		send_msg(ctx, local_port, addr, port, msg, rlen);
	}
	{
		char buf2[160];

		pr_info("site '%s': IKE_SA_INIT from %s:%u, %s%s", site.name,
			ip_s(addr, ip), port, ikev2_choice_str(&ch, buf2, sizeof(buf2)),
			natted ? ", peer behind NAT" : "");
	}
	ctx->st.init_ok++;
	goto out;
fail:
	if (sa)
		sa_kill(ctx, sa, "IKE_SA_INIT failed");
out:
	OPENSSL_cleanse(gir, sizeof(gir));
	ike_dh_free(dh);
	eg_site_clear(&site);
}

/* ---- IKE_AUTH -------------------------------------------------------------- */

/* Does the IDi payload name the site's configured source identity? */
static bool ident_matches(const struct ikev2_id_pld *id,
			  const struct eg_site_rec *s)
{
	char got[EG_IDENT_MAX + 1];

	if (ikev2_id_render(id, got, sizeof(got)))
		return false;
	switch (s->id_type) {
	case EG_ID_IPV4:
		return id->type == IKEV2_ID_IPV4_ADDR && !strcmp(got, s->id_value);
	case EG_ID_FQDN:
		return id->type == IKEV2_ID_FQDN && !strcasecmp(got, s->id_value);
	case EG_ID_EMAIL:
		return id->type == IKEV2_ID_RFC822_ADDR &&
		       !strcasecmp(got, s->id_value);
	}
	return false;
}

/* Is [start, end] exactly one CIDR block? */
static int range_prefix(uint32_t start_be, uint32_t end_be)
{
	uint32_t s = ntohl(start_be), e = ntohl(end_be), span;
	int len;

	if (e < s)
		return -1;
	span = e - s;
	if (span == 0xffffffffu)
		return 0;
	if ((span & (span + 1)) || (s & span))
		return -1;
	for (len = 32; span; span >>= 1)
		len--;
	return len;
}

/*
 * Traffic selectors (2.9): take the peer's IPv4 ranges for its side as
 * proposed; our side is what it asked for (0.0.0.0/0 normally). Only
 * whole-protocol, all-port CIDR ranges are installed; anything else is
 * TS_UNACCEPTABLE.
 */
static int pick_ts(const struct ikev2_ts_pld *in, struct ikev2_ts *out,
		   unsigned *n_out)
{
	unsigned i;

	*n_out = 0;
	for (i = 0; i < in->n && *n_out < IKE_MAX_TS; i++) {
		const struct ikev2_ts *t = &in->ts[i];

		if (t->type != IKEV2_TS_IPV4_ADDR_RANGE)
			continue;	/* IPv6 selectors are narrowed away */
		if (t->proto != 0 || t->start_port != 0 || t->end_port != 65535 ||
		    range_prefix(t->v4.start, t->v4.end) < 0)
			continue;
		out[(*n_out)++] = *t;
	}
	return *n_out ? 0 : -ENOENT;
}

static struct ike_child *child_slot(struct ike_sa *sa)
{
	unsigned i;

	for (i = 0; i < IKE_MAX_CHILD; i++)
		if (!sa->child[i].used)
			return &sa->child[i];
	return NULL;
}

/* What a Child SA negotiation takes besides the request. */
struct child_req {
	const uint8_t *ni, *nr;		/* the exchange's nonces (2.17) */
	size_t ni_len, nr_len;
	const uint8_t *gir;		/* PFS: the new g^ir; NULL without */
	size_t gir_len;
	int ke_group;			/* the KE's group, or IKEV2_KE_ABSENT */
	unsigned prop_flags;		/* IKEV2_PROP_IKE_AUTH in IKE_AUTH */
	struct ike_child *old;		/* CREATE_CHILD_SA with REKEY_SA */
};

/*
 * Set up one Child SA from SA/TSi/TSr of a request and install it. On
 * success return it (the caller writes SA, [Nr, KEr], TSi, TSr); else
 * append the notify that says why not and return NULL.
 */
static struct ike_child *make_child(struct ike_ctx *ctx, struct ike_sa *sa,
				    const struct ikev2_msg *m,
				    const struct child_req *rq,
				    struct ikev2_buf *rsp)
{
	struct ikev2_ts_pld tsi, tsr;
	struct ikev2_sa sap;
	struct ike_child_keys ck;
	struct ike_child *c;
	uint16_t want;
	int i_sa = ikev2_msg_find(m, IKEV2_PLD_SA, 0);
	int i_tsi = ikev2_msg_find(m, IKEV2_PLD_TSI, 0);
	int i_tsr = ikev2_msg_find(m, IKEV2_PLD_TSR, 0);
	char buf[160];
	int err;

	if (i_sa < 0 || i_tsi < 0 || i_tsr < 0)
		return NULL;		/* no Child SA asked for */
	c = child_slot(sa);
	if (!c) {
		ikev2_put_notify(rsp, IKEV2_PROTO_NONE, 0, 0,
				 IKEV2_N_NO_ADDITIONAL_SAS, NULL, 0);
		goto failed;
	}
	err = ikev2_dec_sa(&m->pld[i_sa], &sap);
	if (!err)
		err = ikev2_prop_select_esp(&sap, rq->ke_group, rq->prop_flags,
					    &c->prop, &want);
	if (err == -EAGAIN) {
		uint16_t g = htons(want);

		ikev2_put_notify(rsp, IKEV2_PROTO_NONE, 0, 0,
				 IKEV2_N_INVALID_KE_PAYLOAD, &g, sizeof(g));
		goto failed;
	}
	if (err) {
		pr_info("site '%s': no acceptable ESP proposal", sa->site_name);
		ikev2_put_notify(rsp, IKEV2_PROTO_NONE, 0, 0,
				 IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		goto failed;
	}
	if (ikev2_dec_ts(&m->pld[i_tsi], &tsi) || ikev2_dec_ts(&m->pld[i_tsr], &tsr) ||
	    pick_ts(&tsi, c->tsi, &c->n_tsi) || pick_ts(&tsr, c->tsr, &c->n_tsr)) {
		pr_info("site '%s': traffic selectors unacceptable", sa->site_name);
		ikev2_put_notify(rsp, IKEV2_PROTO_NONE, 0, 0,
				 IKEV2_N_TS_UNACCEPTABLE, NULL, 0);
		goto failed;
	}
	c->spi_out = htonl((uint32_t)c->prop.peer_spi);
	if (ctx->env.spi_alloc(ctx->env.arg, sa, &c->spi_in))
		goto temp_fail;
	/*
	 * A rekeyed Child SA keeps its tunnel's reqid (the inner program
	 * tells tunnels apart by it) and takes over the policies, which stay
	 * installed across the overlap: the kernel picks the newest SA.
	 */
	c->rekey = rq->old != NULL;
	c->reqid = rq->old ? rq->old->reqid : ++ctx->next_reqid;
	c->created = time(NULL);
	{
		struct ike_suite cs = { .encr = c->prop.encr,
					.encr_key_bits = c->prop.encr_keylen,
					.integ = c->prop.integ };

		if (ike_child_keymat(&ck, sa->prop.prf, sa->keys.sk_d,
				     sa->keys.sk_d_len, &cs, rq->gir, rq->gir_len,
				     rq->ni, rq->ni_len, rq->nr, rq->nr_len))
			goto temp_fail;
	}
	c->used = true;
	c->owns_pol = true;
	if (ctx->env.child_install(ctx->env.arg, sa, c, &ck)) {
		ike_child_keys_wipe(&ck);
		memset(c, 0, sizeof(*c));
		goto temp_fail;
	}
	ike_child_keys_wipe(&ck);
	if (rq->old)
		rq->old->owns_pol = false;
	pr_info("site '%s': Child SA in %08x out %08x, %s%s%s", sa->site_name,
		ntohl(c->spi_in), ntohl(c->spi_out),
		ikev2_choice_str(&c->prop, buf, sizeof(buf)),
		rq->gir ? ", PFS" : "", rq->old ? " (rekey)" : "");
	ctx->st.child_ok++;
	return c;
temp_fail:
	pr_warn("site '%s': installing the Child SA failed", sa->site_name);
	ikev2_put_notify(rsp, IKEV2_PROTO_NONE, 0, 0, IKEV2_N_NO_PROPOSAL_CHOSEN,
			 NULL, 0);
failed:
	if (c && !c->used)
		memset(c, 0, sizeof(*c));
	ctx->st.child_failed++;
	return NULL;
}

static void put_child_ts(struct ikev2_buf *rsp, const struct ike_child *c)
{
	ikev2_put_ts(rsp, IKEV2_PLD_TSI, c->tsi, c->n_tsi);
	ikev2_put_ts(rsp, IKEV2_PLD_TSR, c->tsr, c->n_tsr);
}

static void auth_failed(struct ike_ctx *ctx, struct ike_sa *sa,
			uint32_t msgid, const char *why)
{
	struct ikev2_buf rsp;

	pr_info("site '%s': %s: AUTHENTICATION_FAILED", sa->site_name, why);
	ikev2_build_inner(&rsp, ctx->plain, sizeof(ctx->plain));
	ikev2_put_notify(&rsp, IKEV2_PROTO_NONE, 0, 0,
			 IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
	send_sk(ctx, sa, IKEV2_EXCH_IKE_AUTH, msgid, true, &rsp);
	ctx->st.auth_failed++;
	sa_kill(ctx, sa, why);
}

static void handle_auth(struct ike_ctx *ctx, struct ike_sa *sa,
			const struct ikev2_msghdr *h, const struct ikev2_msg *m)
{
	struct ikev2_id_pld idi;
	struct ikev2_auth_pld auth;
	struct eg_site_rec site;
	struct ikev2_buf rsp;
	uint8_t idr[8], myauth[IKE_PRF_MAX_LEN];
	size_t alen = sizeof(myauth);
	int i_id = ikev2_msg_find(m, IKEV2_PLD_IDI, 0);
	int i_auth = ikev2_msg_find(m, IKEV2_PLD_AUTH, 0);
	char idbuf[EG_IDENT_MAX + 1] = "?";

	if (sa->state != IKE_S_HALF_OPEN) {
		ctx->st.rx_bad++;
		return;
	}
	if (i_id < 0 || i_auth < 0 || ikev2_dec_id(&m->pld[i_id], &idi) ||
	    ikev2_dec_auth(&m->pld[i_auth], &auth)) {
		auth_failed(ctx, sa, h->msgid, "IKE_AUTH without IDi/AUTH (EAP?)");
		return;
	}
	ikev2_id_render(&idi, idbuf, sizeof(idbuf));
	/* The site is the one the source IP belongs to, looked up again. */
	if (ctx->env.site_by_addr(ctx->env.arg, sa->peer_addr, &site)) {
		auth_failed(ctx, sa, h->msgid, "site gone or disabled");
		return;
	}
	if (site.id != sa->site_id || !ident_matches(&idi, &site)) {
		pr_info("site '%s': IDi '%s' is not its source identity '%s'",
			site.name, idbuf, site.id_value);
		eg_site_clear(&site);
		auth_failed(ctx, sa, h->msgid, "unknown identity");
		return;
	}
	if (auth.method != IKEV2_AUTH_PSK ||
	    ike_auth_verify(sa->prop.prf, site.psk, site.psk_len, sa->init_req,
			    sa->init_req_len, sa->nr, IKE_NONCE_LEN, sa->keys.sk_pi,
			    sa->keys.sk_p_len, m->pld[i_id].body, m->pld[i_id].len,
			    auth.data, auth.len)) {
		eg_site_clear(&site);
		auth_failed(ctx, sa, h->msgid, "PSK AUTH does not verify");
		return;
	}
	/* IDr: our gateway address; AUTH over the responder's octets (2.15). */
	idr[0] = IKEV2_ID_IPV4_ADDR;
	idr[1] = idr[2] = idr[3] = 0;
	memcpy(idr + 4, &ctx->env.local_addr, 4);
	if (ike_psk_auth(sa->prop.prf, site.psk, site.psk_len, sa->init_resp,
			 sa->init_resp_len, sa->ni, sa->ni_len, sa->keys.sk_pr,
			 sa->keys.sk_p_len, idr, sizeof(idr), myauth, &alen)) {
		eg_site_clear(&site);
		auth_failed(ctx, sa, h->msgid, "computing AUTH failed");
		return;
	}
	eg_site_clear(&site);
	ike_set_state(ctx, sa, IKE_S_ESTABLISHED, "IKE_AUTH, PSK verified");
	ctx->st.auth_ok++;
	pr_info("site '%s': authenticated as '%s'", sa->site_name, idbuf);

	ikev2_build_inner(&rsp, ctx->plain, sizeof(ctx->plain));
	ikev2_put_id(&rsp, IKEV2_PLD_IDR, IKEV2_ID_IPV4_ADDR, idr + 4, 4);
	ikev2_put_auth(&rsp, IKEV2_AUTH_PSK, myauth, alen);
	OPENSSL_cleanse(myauth, sizeof(myauth));
	{
		struct child_req rq = {
			.ni = sa->ni, .ni_len = sa->ni_len,
			.nr = sa->nr, .nr_len = IKE_NONCE_LEN,
			.ke_group = IKEV2_KE_ABSENT,
			.prop_flags = IKEV2_PROP_IKE_AUTH,
		};
		struct ike_child *c = make_child(ctx, sa, m, &rq, &rsp);

		if (c) {
			ikev2_put_sa(&rsp, &c->prop, ntohl(c->spi_in));
			put_child_ts(&rsp, c);
		}
	}
	send_sk(ctx, sa, IKEV2_EXCH_IKE_AUTH, h->msgid, true, &rsp);
}

/* ---- INFORMATIONAL and CREATE_CHILD_SA -------------------------------------- */

static void handle_info(struct ike_ctx *ctx, struct ike_sa *sa,
			const struct ikev2_msghdr *h, const struct ikev2_msg *m)
{
	struct ikev2_buf rsp;
	uint32_t gone[IKE_MAX_CHILD];
	unsigned n_gone = 0, i, k;
	bool delete_ike = false;
	int idx;

	ikev2_build_inner(&rsp, ctx->plain, sizeof(ctx->plain));
	for (idx = ikev2_msg_find(m, IKEV2_PLD_DELETE, 0); idx >= 0;
	     idx = ikev2_msg_find(m, IKEV2_PLD_DELETE, idx + 1)) {
		struct ikev2_delete_pld d;

		if (ikev2_dec_delete(&m->pld[idx], &d))
			continue;
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

			for (k = 0; k < IKE_MAX_CHILD; k++) {
				struct ike_child *c = &sa->child[k];

				if (!c->used || c->spi_out != spi)
					continue;
				pr_info("site '%s': peer deleted Child SA %08x/%08x",
					sa->site_name, ntohl(c->spi_in), ntohl(c->spi_out));
				if (n_gone < IKE_MAX_CHILD)
					gone[n_gone++] = ntohl(c->spi_in);
				child_drop(ctx, sa, c);
			}
		}
	}
	if (n_gone && !delete_ike)
		ikev2_put_delete(&rsp, IKEV2_PROTO_ESP, gone, n_gone);
	/* An empty INFORMATIONAL is a liveness check: empty answer (1.4). */
	send_sk(ctx, sa, IKEV2_EXCH_INFORMATIONAL, h->msgid, true, &rsp);
	if (delete_ike)
		sa_kill(ctx, sa, "DELETE from peer");
}

/*
 * CREATE_CHILD_SA (RFC 7296 1.3): a new Child SA or the rekey of one
 * (REKEY_SA), with PFS when the request carries a KE. Rekeying the IKE SA
 * itself is not supported: NO_ADDITIONAL_SAS, and the peer re-authenticates.
 */
static void handle_create_child(struct ike_ctx *ctx, struct ike_sa *sa,
				const struct ikev2_msghdr *h,
				const struct ikev2_msg *m)
{
	struct child_req rq = { .ke_group = IKEV2_KE_ABSENT };
	struct ikev2_notify_pld n;
	struct ikev2_ke_pld ke;
	struct ikev2_sa sap;
	struct ikev2_buf rsp;
	struct ike_dh *dh = NULL;
	struct ike_child *c;
	uint8_t nr[IKE_NONCE_LEN], pub[IKE_DH_MAX_LEN], gir[IKE_DH_MAX_LEN];
	int i_sa = ikev2_msg_find(m, IKEV2_PLD_SA, 0);
	int i_n = ikev2_msg_find(m, IKEV2_PLD_NONCE, 0);
	int i_ke = ikev2_msg_find(m, IKEV2_PLD_KE, 0);
	size_t glen = 0;
	unsigned k;

	ikev2_build_inner(&rsp, ctx->plain, sizeof(ctx->plain));
	if (i_sa < 0 || i_n < 0 || ikev2_dec_sa(&m->pld[i_sa], &sap) || !sap.n) {
		ikev2_put_notify(&rsp, IKEV2_PROTO_NONE, 0, 0, IKEV2_N_INVALID_SYNTAX,
				 NULL, 0);
		goto send;
	}
	if (sap.prop[0].proto == IKEV2_PROTO_IKE) {
		pr_info("site '%s': IKE SA rekey not supported, peer must re-authenticate",
			sa->site_name);
		ikev2_put_notify(&rsp, IKEV2_PROTO_NONE, 0, 0,
				 IKEV2_N_NO_ADDITIONAL_SAS, NULL, 0);
		goto send;
	}
	if (ikev2_find_notify(m, IKEV2_N_REKEY_SA, &n) == 0) {
		/* the SPI named is the peer's inbound one: our outbound */
		uint32_t spi = 0;

		if (n.spi_size == 4)
			memcpy(&spi, n.spi, 4);
		for (k = 0; k < IKE_MAX_CHILD; k++)
			if (sa->child[k].used && sa->child[k].spi_out == spi)
				rq.old = &sa->child[k];
		if (!rq.old) {
			ikev2_put_notify(&rsp, IKEV2_PROTO_ESP, 4, ntohl(spi),
					 IKEV2_N_CHILD_SA_NOT_FOUND, NULL, 0);
			goto send;
		}
	}
	if (i_ke >= 0) {
		if (ikev2_dec_ke(&m->pld[i_ke], &ke)) {
			ikev2_put_notify(&rsp, IKEV2_PROTO_NONE, 0, 0,
					 IKEV2_N_INVALID_SYNTAX, NULL, 0);
			goto send;
		}
		rq.ke_group = ke.group;
	}
	if (ike_random(nr, sizeof(nr)))
		goto send;
	rq.ni = m->pld[i_n].body;
	rq.ni_len = m->pld[i_n].len;
	rq.nr = nr;
	rq.nr_len = sizeof(nr);
	/* PFS: a fresh DH whose secret goes into KEYMAT (2.17) */
	if (i_ke >= 0 && ikev2_dh_supported(ke.group)) {
		glen = ike_dh_group_len(ke.group);
		if (ike_dh_new(ke.group, &dh) || ike_dh_public(dh, pub, glen) ||
		    ike_dh_derive(dh, ke.data, ke.len, gir, glen)) {
			ikev2_put_notify(&rsp, IKEV2_PROTO_NONE, 0, 0,
					 IKEV2_N_INVALID_SYNTAX, NULL, 0);
			goto send;
		}
		rq.gir = gir;
		rq.gir_len = glen;
	}
	c = make_child(ctx, sa, m, &rq, &rsp);
	if (c) {
		ikev2_put_sa(&rsp, &c->prop, ntohl(c->spi_in));
		ikev2_put_nonce(&rsp, nr, sizeof(nr));
		if (rq.gir)
			ikev2_put_ke(&rsp, ke.group, pub, glen);
		put_child_ts(&rsp, c);
	}
send:
	send_sk(ctx, sa, IKEV2_EXCH_CREATE_CHILD_SA, h->msgid, true, &rsp);
	OPENSSL_cleanse(gir, sizeof(gir));
	OPENSSL_cleanse(nr, sizeof(nr));
	ike_dh_free(dh);
}

/* ---- input ------------------------------------------------------------------- */

void ike_input(struct ike_ctx *ctx, uint16_t local_port, uint32_t addr,
	       uint16_t port, const uint8_t *buf, size_t len)
{
	struct ikev2_msghdr h;
	struct ikev2_msg m, inner;
	struct ike_sk_keys sk;
	struct ike_sa *sa;
	uint8_t spi_r[IKE_SPI_LEN], *plain, first;
	size_t plen;
	char ip[INET_ADDRSTRLEN];
	int err;

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
			h.major, ip_s(addr, ip), port);
		if (h.major == 1)
			ctx->st.ikev1++;
		else
			ctx->st.rx_bad++;
		return;
	}
	if (err) {
		pr_debug("bad IKE header from %s:%u", ip_s(addr, ip), port);
		ctx->st.rx_bad++;
		return;
	}
	if (h.flags & IKEV2_FLAG_RESPONSE) {
		/* answers to our DELETEs: nothing to do once they arrive */
		ctx->st.rx_dropped++;
		return;
	}

	if (h.exch == IKEV2_EXCH_IKE_SA_INIT) {
		err = ikev2_parse_msg(buf, len, &h, &m);
		if (err == -ENOTSUP) {
			struct eg_site_rec site;

			/* Answered only to a well-formed request from a site. */
			if (h.msgid == 0 && h.rspi == 0 &&
			    (h.flags & IKEV2_FLAG_INITIATOR) &&
			    ctx->env.site_by_addr(ctx->env.arg, addr, &site) == 0) {
				init_notify(ctx, &h, local_port, addr, port,
					    IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD,
					    &m.unsup_type, 1);
				eg_site_clear(&site);
			}
			ctx->st.rx_bad++;
			return;
		}
		if (err) {
			pr_debug("malformed IKE_SA_INIT from %s: %s", ip_s(addr, ip),
				 m.why ? m.why : "?");
			ctx->st.rx_bad++;
			return;
		}
		handle_init(ctx, &h, &m, buf, len, local_port, addr, port);
		sa_reap(ctx);
		return;
	}

	be64_put(spi_r, h.rspi);
	sa = sa_by_rspi(ctx, spi_r);
	if (!sa || be64_get(sa->spi_i) != h.ispi || sa->peer_addr != addr) {
		/* 2.21.4: no INVALID_IKE_SPI to unauthenticated strangers */
		ctx->st.rx_dropped++;
		return;
	}
	/* Message IDs (2.3): a retransmitted request gets the cached answer. */
	if (sa->resp && h.msgid == sa->resp_msgid && h.msgid + 1 == sa->next_msgid) {
		/* to where the request came from (2.11), which may have moved */
		resend(ctx, local_port, addr, port, sa->resp, sa->resp_len);
		return;
	}
	if (h.msgid != sa->next_msgid) {
		ctx->st.rx_dropped++;
		return;
	}
	err = ikev2_parse_msg(buf, len, &h, &m);
	if (err || m.sk < 0) {
		ctx->st.rx_bad++;
		return;
	}
	/* ICV first, in constant time; an unauthenticated message is dropped. */
	ike_keys_sk(&sa->keys, true, &sk);
	if (ike_sk_open(&sk, buf, len, m.sk_off, ctx->plain, sizeof(ctx->plain),
			&plain, &plen, &first)) {
		pr_debug("site '%s': message %u fails integrity, dropped",
			 sa->site_name, h.msgid);
		ctx->st.rx_bad++;
		return;
	}
	/*
	 * Authenticated: follow the peer's address and port (NAT-T floats to
	 * 4500 after IKE_SA_INIT, 2.23); every answer goes where the request
	 * came from (2.11).
	 */
	sa->peer_port = port;
	sa->local_port = local_port;
	err = ikev2_parse_inner(first, plain, plen, &inner);
	if (err) {
		ctx->st.rx_bad++;
		if (err == -ENOTSUP) {
			struct ikev2_buf rsp;
			uint8_t t = inner.unsup_type;

			ikev2_build_inner(&rsp, ctx->plain, sizeof(ctx->plain));
			ikev2_put_notify(&rsp, IKEV2_PROTO_NONE, 0, 0,
					 IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD, &t, 1);
			sa->next_msgid++;
			send_sk(ctx, sa, h.exch, h.msgid, true, &rsp);
		}
		return;
	}
	/* The plaintext sits in ctx->plain, where answers are built: move it. */
	{
		int i;

		memcpy(ctx->held, plain, plen);
		for (i = 0; i < (int)inner.n; i++)
			inner.pld[i].body = ctx->held + (inner.pld[i].body - plain);
	}
	sa->last_rx = time(NULL);
	sa->rx_msgs++;
	sa->next_msgid++;

	switch (h.exch) {
	case IKEV2_EXCH_IKE_AUTH:
		handle_auth(ctx, sa, &h, &inner);
		break;
	case IKEV2_EXCH_INFORMATIONAL:
		if (sa->state == IKE_S_ESTABLISHED)
			handle_info(ctx, sa, &h, &inner);
		break;
	case IKEV2_EXCH_CREATE_CHILD_SA:
		if (sa->state == IKE_S_ESTABLISHED)
			handle_create_child(ctx, sa, &h, &inner);
		break;
	default:
		ctx->st.rx_bad++;
		break;
	}
	sa_reap(ctx);
}

/* ---- our own requests, timers ---------------------------------------------- */

static void send_delete_ike(struct ike_ctx *ctx, struct ike_sa *sa)
{
	struct ikev2_buf req;

	ikev2_build_inner(&req, ctx->plain, sizeof(ctx->plain));
	ikev2_put_delete(&req, IKEV2_PROTO_IKE, NULL, 0);
	if (send_sk(ctx, sa, IKEV2_EXCH_INFORMATIONAL, sa->our_msgid++, false,
		    &req) == 0) {
		pr_info("site '%s': DELETE sent to the peer", sa->site_name);
		ctx->st.deletes_tx++;
	}
}

unsigned ike_site_down(struct ike_ctx *ctx, int64_t site_id, const char *why)
{
	struct ike_sa *sa;
	unsigned n = 0;

	for (sa = ctx->sas; sa; sa = sa->next) {
		if (sa->site_id != site_id || sa->state == IKE_S_DEAD)
			continue;
		if (sa->state == IKE_S_ESTABLISHED)
			send_delete_ike(ctx, sa);
		sa_kill(ctx, sa, why);
		n++;
	}
	sa_reap(ctx);
	return n;
}

void ike_tick(struct ike_ctx *ctx, time_t now)
{
	struct ike_sa *sa;

	for (sa = ctx->sas; sa; sa = sa->next) {
		if (sa->state == IKE_S_HALF_OPEN &&
		    now - sa->created > IKE_HALF_OPEN_SECS) {
			ctx->st.expired++;
			sa_kill(ctx, sa, "half-open timeout");
		} else if (sa->state == IKE_S_ESTABLISHED &&
			   now - sa->created > IKE_SA_LIFETIME) {
			ctx->st.expired++;
			send_delete_ike(ctx, sa);
			sa_kill(ctx, sa, "IKE SA lifetime (24 h) over");
		}
	}
	sa_reap(ctx);
}

/* ---- context ------------------------------------------------------------------ */

int ike_ctx_new(struct ike_ctx **out, const struct ike_env *env)
{
	struct ike_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return -ENOMEM;
	ctx->env = *env;
	*out = ctx;
	return 0;
}

void ike_ctx_free(struct ike_ctx *ctx)
{
	struct ike_sa *sa;

	if (!ctx)
		return;
	for (sa = ctx->sas; sa; sa = sa->next)
		if (sa->state == IKE_S_ESTABLISHED)
			send_delete_ike(ctx, sa);
	while ((sa = ctx->sas)) {
		ctx->sas = sa->next;
		if (sa->state != IKE_S_DEAD)
			ike_set_state(ctx, sa, IKE_S_DEAD, "shutdown");
		sa_free(ctx, sa);
	}
	OPENSSL_cleanse(ctx->plain, sizeof(ctx->plain));
	free(ctx);
}

const struct ike_stats *ike_get_stats(const struct ike_ctx *ctx)
{
	return &ctx->st;
}

void ike_foreach(const struct ike_ctx *ctx, ike_sa_cb cb, void *arg)
{
	const struct ike_sa *sa;

	for (sa = ctx->sas; sa; sa = sa->next)
		if (sa->state != IKE_S_DEAD)
			cb(sa, arg);
}
