// SPDX-License-Identifier: GPL-2.0
/*
 * ike_child.c - Child SAs (RFC 7296 1.3, 2.8, 2.9, 2.17): the peer's new
 * and rekeyed Child SAs under the site's cipher and LAN policy, our own
 * rekeys at the soft lifetime, their collisions (2.8.1, 2.25.1), and the
 * end of a Child SA: hard lifetime, the peer's DELETE, ours.
 *
 * A tunnel is a Child SA that no rekey has superseded; the 10-Child cap
 * (seed) counts tunnels, so a rekey always gets its overlap slot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "ike_int.h"

#define REKEY_RETRY_MS	10000	/* our refused rekey is tried again after */

int nonce_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = memcmp(a, b, n);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* ---- traffic selectors (2.9) ------------------------------------------------- */

static uint32_t mask(uint8_t len)
{
	return len ? htonl(~0u << (32 - len)) : 0;
}

static bool ts_has(const struct ike_ts *ts, unsigned n, uint32_t addr,
		   uint8_t len)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (ts[i].addr == addr && ts[i].len == len)
			return true;
	return false;
}

/* Cut [lo, hi] (host order) into CIDR blocks appended to out. */
static void range_blocks(uint32_t lo, uint32_t hi, struct ike_ts *out,
			 uint8_t *n)
{
	while (lo <= hi && *n < IKE_MAX_TS) {
		uint8_t len = 32;
		uint32_t size = 1, addr;

		/* the largest aligned block at lo that ends by hi */
		while (len > 0) {
			uint32_t bigger = size << 1;

			if (len == 1 ? lo != 0 || hi != 0xffffffffu :
			    (lo & (bigger - 1)) || lo + (bigger - 1) > hi ||
			    lo + (bigger - 1) < lo)
				break;
			size = bigger;
			len--;
		}
		addr = htonl(lo);
		if (!ts_has(out, *n, addr, len))
			out[(*n)++] = (struct ike_ts){ .addr = addr, .len = len };
		if (len == 0 || lo + (size - 1) == 0xffffffffu)
			return;
		lo += size;
	}
}

/*
 * Narrow the peer's selectors to what it may have (RFC 7296 2.9): each
 * IPv4 range for all protocols and ports, intersected with each allowed
 * prefix, as CIDR blocks. Selectors for one protocol or port range are
 * narrowed away (we install whole-prefix policies), IPv6 too.
 */
static int narrow_ts(const struct ikev2_ts_pld *in, const struct ike_ts *allow,
		     unsigned n_allow, struct ike_ts *out, uint8_t *n_out)
{
	unsigned i, j;

	*n_out = 0;
	for (i = 0; i < in->n; i++) {
		const struct ikev2_ts *t = &in->ts[i];
		uint32_t s = ntohl(t->v4.start), e = ntohl(t->v4.end);

		if (t->type != IKEV2_TS_IPV4_ADDR_RANGE || t->proto != 0 ||
		    t->start_port != 0 || t->end_port != 65535 || e < s)
			continue;
		for (j = 0; j < n_allow; j++) {
			uint32_t ps = ntohl(allow[j].addr);
			uint32_t pe = ps | ~ntohl(mask(allow[j].len));
			uint32_t lo = s > ps ? s : ps, hi = e < pe ? e : pe;

			if (lo <= hi)
				range_blocks(lo, hi, out, n_out);
		}
	}
	return *n_out ? 0 : -ENOENT;
}

static const struct ike_ts any_ts = { .addr = 0, .len = 0 };

static void ts_wire(const struct ike_ts *in, unsigned n, struct ikev2_ts *out)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].type = IKEV2_TS_IPV4_ADDR_RANGE;
		out[i].start_port = 0;
		out[i].end_port = 65535;
		out[i].v4.start = in[i].addr;
		out[i].v4.end = in[i].addr | ~mask(in[i].len);
	}
}

/* TSi, TSr: the exchange initiator's side first (2.9); ours_first when we
 * initiated it. */
void put_child_ts(struct ikev2_buf *rsp, const struct ike_child *c, bool ours_first)
{
	struct ikev2_ts peer[IKE_MAX_TS], ours[IKE_MAX_TS];

	ts_wire(c->tsi, c->n_tsi, peer);
	ts_wire(c->tsr, c->n_tsr, ours);
	if (ours_first) {
		ikev2_put_ts(rsp, IKEV2_PLD_TSI, ours, c->n_tsr);
		ikev2_put_ts(rsp, IKEV2_PLD_TSR, peer, c->n_tsi);
	} else {
		ikev2_put_ts(rsp, IKEV2_PLD_TSI, peer, c->n_tsi);
		ikev2_put_ts(rsp, IKEV2_PLD_TSR, ours, c->n_tsr);
	}
}

static bool same_ts(const struct ike_child *a, const struct ike_child *b)
{
	return a->n_tsi == b->n_tsi && a->n_tsr == b->n_tsr &&
	       !memcmp(a->tsi, b->tsi, a->n_tsi * sizeof(a->tsi[0])) &&
	       !memcmp(a->tsr, b->tsr, a->n_tsr * sizeof(a->tsr[0]));
}

/*
 * A Child SA's reqid: that of any Child SA of the site with the same
 * selectors (a rekey, a new IKE SA after a reboot), so that they share one
 * set of policies and the kernel sends on the newest SA; else a new one.
 */
static uint32_t child_reqid(struct ike_ctx *ctx, const struct ike_sa *sa,
			    const struct ike_child *c)
{
	struct ike_sa *s;
	unsigned i;

	for (s = sa_site_first(ctx, sa->site_id); s; s = s->snext) {
		if (s->site_id != sa->site_id)
			continue;
		for (i = 0; i < IKE_CHILD_SLOTS; i++)
			if (s->child[i] && s->child[i] != c && s->child[i]->reqid &&
			    same_ts(s->child[i], c))
				return s->child[i]->reqid;
	}
	if (++ctx->next_reqid == 0)
		++ctx->next_reqid;
	return ctx->next_reqid;
}

void child_lifetimes(struct ike_ctx *ctx, struct ike_sa *sa, struct ike_child *c)
{
	uint64_t life = (uint64_t)sa->pol.child_lifetime * 1000;

	c->created = ctx->now;
	/* soft: 80-85% (jittered), when we rekey if the peer has not */
	c->soft_at = c->created + ike_jitter_ms(life * 850 / 1000, 59);
	c->hard_at = c->created + life;
}

/* ---- installing ------------------------------------------------------------- */

static void keys_inbound_first(struct ike_child_keys *k)
{
	uint8_t t[IKE_KEY_MAX_LEN];

	memcpy(t, k->encr_i, sizeof(t));
	memcpy(k->encr_i, k->encr_r, sizeof(t));
	memcpy(k->encr_r, t, sizeof(t));
	memcpy(t, k->integ_i, sizeof(t));
	memcpy(k->integ_i, k->integ_r, sizeof(t));
	memcpy(k->integ_r, t, sizeof(t));
	OPENSSL_cleanse(t, sizeof(t));
}

/*
 * Key and install c (spi_in, spi_out, prop, selectors set): KEYMAT from
 * the exchange's nonces, initiator's first (2.17). Returns 0 with c in a
 * slot of sa, or -errno with nothing left behind.
 */
static int child_install(struct ike_ctx *ctx, struct ike_sa *sa,
			 struct ike_child *tmpl, const uint8_t *gir,
			 size_t gir_len, const uint8_t *ni, size_t ni_len,
			 const uint8_t *nr, size_t nr_len, bool we_initiated,
			 bool out_later, struct ike_child **out)
{
	unsigned dirs = IKE_DIR_IN | IKE_DIR_OUT;
	struct ike_suite cs = { .encr = tmpl->prop.encr,
				.encr_key_bits = tmpl->prop.encr_keylen,
				.integ = tmpl->prop.integ };
	struct ike_child_keys ck;
	struct ike_child *c;
	int err;

	c = child_alloc(sa);
	if (!c)
		return -ENOSPC;
	*c = *tmpl;
	c->reqid = child_reqid(ctx, sa, c);
	child_lifetimes(ctx, sa, c);
	c->state = CHILD_S_INSTALLED;
	err = ike_child_keymat(&ck, sa->prop.prf, sa->keys.sk_d, sa->keys.sk_d_len,
			       &cs, gir, gir_len, ni, ni_len, nr, nr_len);
	if (!err) {
		if (we_initiated)
			keys_inbound_first(&ck);
		if (out_later && (c->out_keys = malloc(sizeof(ck)))) {
			*c->out_keys = ck;
			dirs = IKE_DIR_IN;
		}
		err = ctx->env.child_install(ctx->env.arg, sa, c, &ck, dirs);
	}
	ike_child_keys_wipe(&ck);
	if (err) {
		c->state = 0;		/* nothing in the kernel to remove */
		child_drop(ctx, sa, c);
		return err;
	}
	*out = c;
	return 0;
}

static void log_child(const struct ike_sa *sa, const struct ike_child *c,
		      bool pfs, const char *what)
{
	char buf[160];

	pr_info("site '%s': Child SA in %08x out %08x reqid %u, %s%s%s",
		sa->site_name, ntohl(c->spi_in), ntohl(c->spi_out), c->reqid,
		ikev2_choice_str(&c->prop, buf, sizeof(buf)), pfs ? ", PFS" : "",
		what);
}

void child_out_forget(struct ike_child *c)
{
	if (!c->out_keys)
		return;
	ike_child_keys_wipe(c->out_keys);
	free(c->out_keys);
	c->out_keys = NULL;
}

/*
 * gone is about to leave the kernel: the Child SAs that rekeyed it as
 * responders now send on their own outbound SA, put in before the old
 * one goes so that there is always one.
 */
void child_out_release(struct ike_ctx *ctx, struct ike_sa *sa,
		       const struct ike_child *gone)
{
	unsigned i;
	int err;

	for (i = 0; i < IKE_CHILD_SLOTS; i++) {
		struct ike_child *c = sa->child[i];

		if (!c || c == gone || !c->out_keys ||
		    c->predecessor != gone->spi_in)
			continue;
		err = ctx->env.child_install(ctx->env.arg, sa, c, c->out_keys,
					     IKE_DIR_OUT);
		child_out_forget(c);
		if (!err) {
			pr_info("site '%s': Child SA %08x/%08x now outbound too (%08x gone)",
				sa->site_name, ntohl(c->spi_in), ntohl(c->spi_out),
				ntohl(gone->spi_in));
			continue;
		}
		/* half a tunnel is none: it goes, the peer is told */
		pr_warn("site '%s': outbound SA %08x: %s: deleting its Child SA",
			sa->site_name, ntohl(c->spi_out), strerror(-err));
		c->del_pending = true;
		c->state = CHILD_S_REKEYED;
	}
}

/* The old Child SA of a rekey gives way to its successor. */
static void child_superseded(struct ike_ctx *ctx, struct ike_child *old,
			     const struct ike_child *succ, bool we_delete)
{
	/* a redundant one of a collision never sends */
	child_out_forget(old);
	old->state = CHILD_S_REKEYED;
	old->successor = succ->spi_in;
	if (we_delete)
		old->del_pending = true;
	else
		old->gone_at = ctx->now + IKE_GONE_MS;	/* unless the peer does */
}

/*
 * Set up one Child SA from SA/TSi/TSr of the peer's request and install
 * it. On success return it (the caller writes SA, [Nr, KEr], TSi, TSr);
 * else append the notify that says why not and return NULL.
 */
struct ike_child *make_child(struct ike_ctx *ctx, struct ike_sa *sa,
			     const struct ikev2_msg *m,
			     const struct child_req *rq, struct ikev2_buf *rsp)
{
	struct ikev2_ts_pld tsi, tsr;
	struct ikev2_sa sap;
	struct ike_child tmpl, *c = NULL;
	struct ike_dh *dh = NULL;
	uint8_t gir[IKE_DH_MAX_LEN];
	size_t glen = 0;
	uint16_t want, notify = 0;
	int i_sa = ikev2_msg_find(m, IKEV2_PLD_SA, 0);
	int i_tsi = ikev2_msg_find(m, IKEV2_PLD_TSI, 0);
	int i_tsr = ikev2_msg_find(m, IKEV2_PLD_TSR, 0);
	int err;

	memset(&tmpl, 0, sizeof(tmpl));
	if (i_sa < 0 || i_tsi < 0 || i_tsr < 0) {
		notify = IKEV2_N_INVALID_SYNTAX;
		goto failed;
	}
	if (!rq->old && ike_sa_tunnels(sa) >= IKE_MAX_CHILD) {
		notify = IKEV2_N_NO_ADDITIONAL_SAS;
		goto failed;
	}
	err = ikev2_dec_sa(&m->pld[i_sa], &sap);
	if (!err)
		err = ikev2_prop_select_esp_pol(&sap, rq->ke_group, rq->prop_flags,
						&sa->pol.esp, &tmpl.prop, &want);
	if (err == -EAGAIN) {
		uint16_t g = htons(want);

		ikev2_put_notify(rsp, IKEV2_PROTO_NONE, 0, 0,
				 IKEV2_N_INVALID_KE_PAYLOAD, &g, sizeof(g));
		goto failed;
	}
	if (err) {
		pr_info("site '%s': no ESP proposal within its cipher policy",
			sa->site_name);
		notify = IKEV2_N_NO_PROPOSAL_CHOSEN;
		goto failed;
	}
	if (ikev2_dec_ts(&m->pld[i_tsi], &tsi) || ikev2_dec_ts(&m->pld[i_tsr], &tsr) ||
	    narrow_ts(&tsi, sa->pol.lan, sa->pol.n_lan, tmpl.tsi, &tmpl.n_tsi) ||
	    narrow_ts(&tsr, &any_ts, 1, tmpl.tsr, &tmpl.n_tsr)) {
		pr_info("site '%s': traffic selectors outside its LAN prefixes",
			sa->site_name);
		notify = IKEV2_N_TS_UNACCEPTABLE;
		goto failed;
	}
	/* PFS: a fresh DH whose secret goes into KEYMAT (2.17) */
	if (rq->ke) {
		glen = ike_dh_group_len(rq->ke->group);
		if (ike_dh_check_peer(rq->ke->group, rq->ke->data, rq->ke->len)) {
			pr_info("site '%s': peer's PFS value rejected (RFC 6989)",
				sa->site_name);
			notify = IKEV2_N_INVALID_SYNTAX;
			goto failed;
		}
		if (ike_dh_new(rq->ke->group, &dh) || ike_dh_public(dh, rq->pub, glen) ||
		    ike_dh_derive(dh, rq->ke->data, rq->ke->len, gir, glen)) {
			notify = IKEV2_N_TEMPORARY_FAILURE;
			goto failed;
		}
	}
	tmpl.spi_out = htonl((uint32_t)tmpl.prop.peer_spi);
	if (ctx->env.spi_alloc(ctx->env.arg, sa, &tmpl.spi_in)) {
		notify = IKEV2_N_TEMPORARY_FAILURE;
		goto failed;
	}
	if (rq->old) {
		tmpl.rekeys = rq->old->rekeys + 1;
		tmpl.predecessor = rq->old->spi_in;
	}
	/* a rekey's outbound SA waits for the old one to go (2.8) */
	err = child_install(ctx, sa, &tmpl, rq->ke ? gir : NULL, glen, rq->ni,
			    rq->ni_len, rq->nr, rq->nr_len, false, rq->old != NULL,
			    &c);
	if (err) {
		pr_warn("site '%s': installing the Child SA failed: %s",
			sa->site_name, strerror(-err));
		notify = IKEV2_N_TEMPORARY_FAILURE;	/* 2.21: ours, not theirs */
		goto failed;
	}
	if (rq->old) {
		/* a collision with our own rekey waits for our answer */
		if (rq->old->state == CHILD_S_INSTALLED)
			child_superseded(ctx, rq->old, c, false);
		sa->child_rekeys++;
		ctx->st.child_rekeys++;
	}
	log_child(sa, c, rq->ke != NULL, rq->old ? " (rekey)" : "");
	ctx->st.child_ok++;
	goto out;
failed:
	if (notify)
		ikev2_put_notify(rsp, IKEV2_PROTO_NONE, 0, 0, notify, NULL, 0);
	ctx->st.child_failed++;
	c = NULL;
out:
	OPENSSL_cleanse(gir, sizeof(gir));
	ike_dh_free(dh);
	return c;
}

/* ---- the peer's CREATE_CHILD_SA ----------------------------------------------- */

/* The Child SA a REKEY_SA names (the peer's inbound SPI: our outbound). */
static int rekey_target(struct ike_sa *sa, const struct ikev2_notify_pld *n,
			struct ike_child **old)
{
	uint32_t spi;

	if (n->proto != IKEV2_PROTO_ESP || n->spi_size != 4)
		return -EBADMSG;
	memcpy(&spi, n->spi, 4);
	*old = child_by_spi_out(sa, spi);
	return *old ? 0 : -ENOENT;
}

void handle_create_child(struct ike_ctx *ctx, struct ike_sa *sa,
			 const struct ikev2_msghdr *h, const struct ikev2_msg *m)
{
	struct child_req rq = { .ke_group = IKEV2_KE_ABSENT };
	struct ikev2_notify_pld n;
	struct ikev2_ke_pld ke;
	struct ikev2_sa sap;
	struct ikev2_buf rsp;
	struct ike_child *c;
	uint8_t nr[IKE_NONCE_LEN], pub[IKE_DH_MAX_LEN];
	int i_sa = ikev2_msg_find(m, IKEV2_PLD_SA, 0);
	int i_n = ikev2_msg_find(m, IKEV2_PLD_NONCE, 0);
	int i_ke = ikev2_msg_find(m, IKEV2_PLD_KE, 0);
	uint16_t notify = 0;

	ikev2_build_inner(&rsp, ctx->plain, sizeof(ctx->plain));
	if (i_sa < 0 || i_n < 0 || ikev2_dec_sa(&m->pld[i_sa], &sap) || !sap.n ||
	    m->pld[i_n].len < IKEV2_NONCE_MIN || m->pld[i_n].len > IKEV2_NONCE_MAX ||
	    (i_ke >= 0 && ikev2_dec_ke(&m->pld[i_ke], &ke))) {
		notify = IKEV2_N_INVALID_SYNTAX;
		goto send;
	}
	if (sap.prop[0].proto == IKEV2_PROTO_IKE) {
		handle_rekey_ike(ctx, sa, h, m, &sap, &rsp);
		return;
	}
	if (ikev2_msg_find(m, IKEV2_PLD_TSI, 0) < 0 ||
	    ikev2_msg_find(m, IKEV2_PLD_TSR, 0) < 0 ||
	    2 * m->pld[i_n].len < (ike_prf_get(sa->prop.prf) ?
				   ike_prf_get(sa->prop.prf)->len : 0)) {
		notify = IKEV2_N_INVALID_SYNTAX;
		goto send;
	}
	if (ikev2_find_notify(m, IKEV2_N_REKEY_SA, &n) == 0) {
		int err = rekey_target(sa, &n, &rq.old);

		if (err == -ENOENT) {
			uint32_t spi;

			memcpy(&spi, n.spi, 4);
			ikev2_put_notify(&rsp, IKEV2_PROTO_ESP, 4, ntohl(spi),
					 IKEV2_N_CHILD_SA_NOT_FOUND, NULL, 0);
			goto send;
		}
		if (err) {
			notify = IKEV2_N_INVALID_SYNTAX;
			goto send;
		}
		/* 2.25.1: one we are closing, or already rekeyed */
		if (rq.old->state == CHILD_S_REKEYED ||
		    rq.old->state == CHILD_S_DELETING || rq.old->del_pending) {
			pr_info("site '%s': rekey of Child SA %08x, which is going: TEMPORARY_FAILURE",
				sa->site_name, ntohl(rq.old->spi_in));
			ctx->st.rekey_collisions++;
			notify = IKEV2_N_TEMPORARY_FAILURE;
			goto send;
		}
	}
	if (ike_random(nr, sizeof(nr))) {
		notify = IKEV2_N_TEMPORARY_FAILURE;
		goto send;
	}
	rq.ni = m->pld[i_n].body;
	rq.ni_len = m->pld[i_n].len;
	rq.nr = nr;
	rq.nr_len = sizeof(nr);
	if (i_ke >= 0) {
		rq.ke_group = ke.group;
		if (ikev2_dh_supported(ke.group)) {
			rq.ke = &ke;
			rq.pub = pub;
		}
	}
	c = make_child(ctx, sa, m, &rq, &rsp);
	if (c) {
		ikev2_put_sa(&rsp, &c->prop, ntohl(c->spi_in));
		ikev2_put_nonce(&rsp, nr, sizeof(nr));
		if (rq.ke)
			ikev2_put_ke(&rsp, ke.group, pub, ike_dh_group_len(ke.group));
		put_child_ts(&rsp, c, false);
		/* 2.8.1: the peer rekeys what our own request rekeys */
		if (rq.old && rq.old->state == CHILD_S_REKEYING && sa->req &&
		    sa->req->kind == REQ_REKEY_CHILD &&
		    sa->req->old_spi_in == rq.old->spi_in) {
			struct ike_req *our = sa->req;
			bool ni_lo = nonce_cmp(rq.ni, rq.ni_len, nr, sizeof(nr)) < 0;

			our->collided = true;
			our->peer_child = c->spi_in;
			our->peer_lo_len = ni_lo ? rq.ni_len : sizeof(nr);
			memcpy(our->peer_lo, ni_lo ? rq.ni : nr, our->peer_lo_len);
			ctx->st.rekey_collisions++;
			pr_info("site '%s': both ends rekey Child SA %08x (2.8.1)",
				sa->site_name, ntohl(rq.old->spi_in));
		}
	}
send:
	if (notify)
		ikev2_put_notify(&rsp, IKEV2_PROTO_NONE, 0, 0, notify, NULL, 0);
	send_response(ctx, sa, IKEV2_EXCH_CREATE_CHILD_SA, h->msgid, &rsp);
	OPENSSL_cleanse(nr, sizeof(nr));
}

/* ---- our rekeys ------------------------------------------------------------------ */

int child_rekey_start(struct ike_ctx *ctx, struct ike_sa *sa, struct ike_child *c)
{
	struct ikev2_ts peer[IKE_MAX_TS], ours[IKE_MAX_TS];
	uint8_t pub[IKE_DH_MAX_LEN];
	struct ike_req *rq;
	struct ikev2_buf b;
	uint16_t group = c->prop.dh ? c->prop.dh : c->prop.pfs_hint;
	int err;

	rq = req_new(REQ_REKEY_CHILD, IKEV2_EXCH_CREATE_CHILD_SA);
	if (!rq)
		return -ENOMEM;
	rq->old_spi_in = c->spi_in;
	rq->prop = c->prop;
	rq->prop.propnum = 1;
	rq->prop.xf_mask = 1u << IKEV2_XF_ENCR | 1u << IKEV2_XF_ESN;
	if (!c->prop.aead)
		rq->prop.xf_mask |= 1u << IKEV2_XF_INTEG;
	rq->prop.dh = ikev2_dh_supported(group) ? group : IKEV2_DH_NONE;
	if (rq->prop.dh)
		rq->prop.xf_mask |= 1u << IKEV2_XF_DH;
	err = ctx->env.spi_alloc(ctx->env.arg, sa, &rq->new_spi_in);
	if (!err)
		err = ike_random(rq->nonce, sizeof(rq->nonce));
	if (!err && rq->prop.dh &&
	    (ike_dh_new(rq->prop.dh, &rq->dh) ||
	     ike_dh_public(rq->dh, pub, ike_dh_group_len(rq->prop.dh))))
		err = -EIO;
	if (err) {
		req_free(rq);
		return err;
	}
	/* HDR, SK {N(REKEY_SA), SA, Ni, [KEi], TSi, TSr} (1.3.3) */
	ikev2_build_inner(&b, ctx->plain, sizeof(ctx->plain));
	ikev2_put_notify(&b, IKEV2_PROTO_ESP, 4, ntohl(c->spi_in), IKEV2_N_REKEY_SA,
			 NULL, 0);
	ikev2_put_sa(&b, &rq->prop, ntohl(rq->new_spi_in));
	ikev2_put_nonce(&b, rq->nonce, sizeof(rq->nonce));
	if (rq->prop.dh)
		ikev2_put_ke(&b, rq->prop.dh, pub, ike_dh_group_len(rq->prop.dh));
	ts_wire(c->tsi, c->n_tsi, peer);
	ts_wire(c->tsr, c->n_tsr, ours);
	ikev2_put_ts(&b, IKEV2_PLD_TSI, ours, c->n_tsr);
	ikev2_put_ts(&b, IKEV2_PLD_TSR, peer, c->n_tsi);
	err = send_request(ctx, sa, rq, &b);
	if (err)
		return err;
	c->state = CHILD_S_REKEYING;
	pr_info("site '%s': rekeying Child SA %08x/%08x (CREATE_CHILD_SA%s)",
		sa->site_name, ntohl(c->spi_in), ntohl(c->spi_out),
		rq->prop.dh ? ", PFS" : "");
	return 0;
}

bool child_rekey_next(struct ike_ctx *ctx, struct ike_sa *sa)
{
	unsigned i;

	for (i = 0; i < IKE_CHILD_SLOTS; i++) {
		struct ike_child *c = sa->child[i];

		if (!c || c->state != CHILD_S_INSTALLED || ctx->now < c->soft_at)
			continue;
		if (child_rekey_start(ctx, sa, c) == 0)
			return true;
		c->soft_at = ctx->now + REKEY_RETRY_MS;
	}
	return false;
}

/* Our rekey did not happen: the old one carries on, tried again later. */
static void rekey_refused(struct ike_ctx *ctx, struct ike_sa *sa,
			  struct ike_child *old, uint16_t why,
			  const struct ikev2_msg *m)
{
	struct ikev2_notify_pld n;

	pr_info("site '%s': our rekey of Child SA %08x refused (notify %u)",
		sa->site_name, old ? ntohl(old->spi_in) : 0, why);
	if (!old)
		return;
	if (why == IKEV2_N_CHILD_SA_NOT_FOUND) {
		/* the peer has no such SA: neither have we, from now on */
		child_drop(ctx, sa, old);
		return;
	}
	old->state = CHILD_S_INSTALLED;
	old->soft_at = ctx->now + REKEY_RETRY_MS;
	if (why == IKEV2_N_INVALID_KE_PAYLOAD &&
	    ikev2_find_notify(m, IKEV2_N_INVALID_KE_PAYLOAD, &n) == 0 && n.len == 2) {
		uint16_t g = (uint16_t)(n.data[0] << 8 | n.data[1]);

		if (ikev2_dh_supported(g)) {
			old->prop.pfs_hint = g;
			old->prop.dh = IKEV2_DH_NONE;
			old->soft_at = ctx->now;	/* at once, with that group */
		}
	}
}

/* The first error notify type of m, 0 if none. */
static uint16_t error_of(const struct ikev2_msg *m)
{
	struct ikev2_notify_pld n;
	unsigned i;

	for (i = 0; i < m->n; i++)
		if (m->pld[i].type == IKEV2_PLD_NOTIFY &&
		    !ikev2_dec_notify(&m->pld[i], &n) && n.type <= IKEV2_N_ERROR_MAX)
			return n.type;
	return 0;
}

/* Does the echoed proposal keep to what we proposed (3.3)? */
static bool echo_ok(const struct ikev2_sa *sap, const struct ike_req *rq,
		    struct ikev2_choice *got)
{
	const struct ikev2_proposal *p = &sap->prop[0];
	unsigned i;

	if (sap->n != 1 || p->proto != IKEV2_PROTO_ESP || p->spi_size != 4)
		return false;
	*got = rq->prop;
	got->peer_spi = (uint32_t)(p->spi[0] << 24 | p->spi[1] << 16 |
				   p->spi[2] << 8 | p->spi[3]);
	if (got->peer_spi < 256)
		return false;
	for (i = 0; i < p->n_xf; i++) {
		const struct ikev2_xf *x = &p->xf[i];

		switch (x->type) {
		case IKEV2_XF_ENCR:
			if (x->id != rq->prop.encr ||
			    (rq->prop.encr_keylen && x->keylen != rq->prop.encr_keylen))
				return false;
			break;
		case IKEV2_XF_INTEG:
			if (x->id != rq->prop.integ)
				return false;
			break;
		case IKEV2_XF_DH:
			if (x->id != rq->prop.dh)
				return false;
			break;
		case IKEV2_XF_ESN:
			if (x->id != IKEV2_ESN_NONE)
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}

/* 2.8.1: both ends rekeyed the same Child SA; the pair with the lowest of
 * the four nonces goes, deleted by who made it; the survivor's maker
 * deletes the old one. */
static void rekey_collision(struct ike_ctx *ctx, struct ike_sa *sa,
			    struct ike_req *rq, struct ike_child *ours,
			    struct ike_child *old, const uint8_t *nr,
			    size_t nr_len)
{
	struct ike_child *theirs = child_by_spi_in(sa, rq->peer_child);
	bool ni_lo = nonce_cmp(rq->nonce, sizeof(rq->nonce), nr, nr_len) < 0;
	const uint8_t *lo = ni_lo ? rq->nonce : nr;
	size_t lo_len = ni_lo ? sizeof(rq->nonce) : nr_len;
	bool ours_go = nonce_cmp(lo, lo_len, rq->peer_lo, rq->peer_lo_len) < 0;

	pr_info("site '%s': Child SA rekey collision: %s new SA %08x is redundant",
		sa->site_name, ours_go ? "our" : "the peer's",
		ntohl(ours_go ? ours->spi_in : rq->peer_child));
	if (ours_go) {
		/* ours goes (we delete it); the old one is the peer's to delete */
		if (theirs) {
			child_superseded(ctx, ours, theirs, true);
			if (old)
				child_superseded(ctx, old, theirs, false);
		} else {
			/* the peer's already went: ours is all there is */
			if (old)
				child_superseded(ctx, old, ours, true);
		}
		return;
	}
	/* the peer's goes (it deletes it); we delete the old one */
	if (theirs)
		child_superseded(ctx, theirs, ours, false);
	if (old)
		child_superseded(ctx, old, ours, true);
}

void child_rekey_response(struct ike_ctx *ctx, struct ike_sa *sa,
			  struct ike_req *rq, const struct ikev2_msg *m)
{
	struct ike_child *old = child_by_spi_in(sa, rq->old_spi_in), *c = NULL;
	int i_sa = ikev2_msg_find(m, IKEV2_PLD_SA, 0);
	int i_n = ikev2_msg_find(m, IKEV2_PLD_NONCE, 0);
	int i_ke = ikev2_msg_find(m, IKEV2_PLD_KE, 0);
	int i_tsi = ikev2_msg_find(m, IKEV2_PLD_TSI, 0);
	int i_tsr = ikev2_msg_find(m, IKEV2_PLD_TSR, 0);
	struct ikev2_ts_pld tsi, tsr;
	struct ikev2_ke_pld ke;
	struct ikev2_sa sap;
	struct ike_child tmpl;
	uint8_t gir[IKE_DH_MAX_LEN];
	size_t glen = 0;
	uint16_t err_type = error_of(m);
	int err;

	if (old && old->state == CHILD_S_REKEYING)
		old->state = CHILD_S_INSTALLED;
	if (err_type || i_sa < 0 || i_n < 0 || i_tsi < 0 || i_tsr < 0) {
		rekey_refused(ctx, sa, old, err_type ? err_type : IKEV2_N_INVALID_SYNTAX,
			      m);
		return;
	}
	memset(&tmpl, 0, sizeof(tmpl));
	if (ikev2_dec_sa(&m->pld[i_sa], &sap) || !echo_ok(&sap, rq, &tmpl.prop) ||
	    ikev2_dec_ts(&m->pld[i_tsi], &tsi) || ikev2_dec_ts(&m->pld[i_tsr], &tsr) ||
	    /* in our request TSi was ours, TSr the peer's (2.9) */
	    narrow_ts(&tsr, sa->pol.lan, sa->pol.n_lan, tmpl.tsi, &tmpl.n_tsi) ||
	    narrow_ts(&tsi, &any_ts, 1, tmpl.tsr, &tmpl.n_tsr) ||
	    m->pld[i_n].len < IKEV2_NONCE_MIN || m->pld[i_n].len > IKEV2_NONCE_MAX) {
		pr_info("site '%s': answer to our Child SA rekey is not acceptable",
			sa->site_name);
		rekey_refused(ctx, sa, old, IKEV2_N_INVALID_SYNTAX, m);
		goto undo;
	}
	if (rq->dh) {
		glen = ike_dh_group_len(rq->prop.dh);
		if (i_ke < 0 || ikev2_dec_ke(&m->pld[i_ke], &ke) ||
		    ke.group != rq->prop.dh ||
		    ike_dh_derive(rq->dh, ke.data, ke.len, gir, glen)) {
			rekey_refused(ctx, sa, old, IKEV2_N_INVALID_SYNTAX, m);
			goto undo;
		}
	}
	tmpl.spi_in = rq->new_spi_in;
	tmpl.spi_out = htonl((uint32_t)tmpl.prop.peer_spi);
	tmpl.rekeys = old ? old->rekeys + 1 : 1;
	tmpl.predecessor = rq->old_spi_in;
	err = child_install(ctx, sa, &tmpl, rq->dh ? gir : NULL, glen, rq->nonce,
			    sizeof(rq->nonce), m->pld[i_n].body, m->pld[i_n].len,
			    true, false, &c);
	OPENSSL_cleanse(gir, sizeof(gir));
	if (err) {
		pr_warn("site '%s': installing our rekeyed Child SA failed: %s",
			sa->site_name, strerror(-err));
		rekey_refused(ctx, sa, old, IKEV2_N_TEMPORARY_FAILURE, m);
		goto undo;
	}
	sa->child_rekeys++;
	ctx->st.child_rekeys++;
	log_child(sa, c, rq->dh != NULL, " (our rekey)");
	if (rq->collided)
		rekey_collision(ctx, sa, rq, c, old, m->pld[i_n].body,
				m->pld[i_n].len);
	else if (old)
		child_superseded(ctx, old, c, true);	/* 1.3.3: we delete it */
	return;
undo:
	/* the peer installed what it answered: tell it that it goes */
	if (err_type == 0 && i_sa >= 0 && sa->n_announce < IKE_CHILD_SLOTS)
		sa->announce[sa->n_announce++] = rq->new_spi_in;
}

/* ---- the end of Child SAs -------------------------------------------------------- */

void child_timers(struct ike_ctx *ctx, struct ike_sa *sa)
{
	unsigned i;

	for (i = 0; i < IKE_CHILD_SLOTS; i++) {
		struct ike_child *c = sa->child[i];

		if (!c)
			continue;
		if (ctx->now >= c->hard_at) {
			/* the kernel's hard limit: gone now, the peer is told */
			pr_info("site '%s': Child SA %08x/%08x lifetime over (%u s)",
				sa->site_name, ntohl(c->spi_in), ntohl(c->spi_out),
				sa->pol.child_lifetime);
			ctx->st.expired++;
			if (c->state != CHILD_S_DELETING &&
			    sa->n_announce < IKE_CHILD_SLOTS)
				sa->announce[sa->n_announce++] = c->spi_in;
			child_drop(ctx, sa, c);
			continue;
		}
		if (c->state == CHILD_S_REKEYED && !c->del_pending && c->gone_at &&
		    ctx->now >= c->gone_at) {
			pr_info("site '%s': peer did not delete rekeyed Child SA %08x: we do",
				sa->site_name, ntohl(c->spi_in));
			c->del_pending = true;
		}
	}
}

unsigned child_delete_collect(struct ike_sa *sa, struct ike_req *rq)
{
	unsigned i;

	rq->n_spis = 0;
	for (i = 0; i < sa->n_announce && rq->n_spis < IKE_CHILD_SLOTS; i++)
		rq->spis[rq->n_spis++] = ntohl(sa->announce[i]);
	sa->n_announce = 0;
	for (i = 0; i < IKE_CHILD_SLOTS && rq->n_spis < IKE_CHILD_SLOTS; i++) {
		struct ike_child *c = sa->child[i];

		if (!c || !c->del_pending)
			continue;
		c->del_pending = false;
		c->state = CHILD_S_DELETING;
		rq->spis[rq->n_spis++] = ntohl(c->spi_in);
	}
	if (rq->n_spis)
		pr_info("site '%s': DELETE of %u Child SA(s) sent", sa->site_name,
			rq->n_spis);
	return rq->n_spis;
}

void child_deleted_by_peer(struct ike_ctx *ctx, struct ike_sa *sa,
			   struct ike_child *c, uint32_t *gone, unsigned *n_gone)
{
	pr_info("site '%s': peer deleted Child SA %08x/%08x", sa->site_name,
		ntohl(c->spi_in), ntohl(c->spi_out));
	/* 1.4.1: deletes that crossed ours are not answered with a DELETE */
	if (c->state != CHILD_S_DELETING && *n_gone < IKE_CHILD_SLOTS)
		gone[(*n_gone)++] = ntohl(c->spi_in);
	child_drop(ctx, sa, c);
}
