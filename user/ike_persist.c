// SPDX-License-Identifier: GPL-2.0
/*
 * ike_persist.c - an IKE SA that outlives the daemon (a restart that keeps
 * the tunnels): what is saved, when, and how it comes back.
 *
 * Saved, per established IKE SA, under our SPI: SPIs, who initiated, site,
 * peer address and ports, NAT state, the proposal, SK_d, SK_a and SK_e (not
 * SK_p: AUTH is over), both message IDs and the last answer (so that the
 * peer's retransmit after our restart is answered byte for byte), counters,
 * what is wanted, the time left on each timer, and the Child SA table
 * (SPIs, reqid, proposal, selectors, time left). Not saved: an outstanding
 * request of ours (the peer's answer after the restart is dropped; its
 * message ID stays used) and the half-open SAs (the peer retries).
 *
 * An SA is marked dirty where it changes (an authenticated message, a
 * request of ours, a state or Child SA change, a port move); the tick
 * saves the dirty ones in one transaction, so a crash loses at most a
 * second, and a stop that keeps the tunnels saves everything first. The
 * record is a fixed sequence of big-endian fields behind a magic and a
 * version; reading checks every length against its bound before use.
 *
 * On resume the Child SAs are reconciled with the kernel: each must still
 * have both XFRM states (env->child_adopt); one the kernel lost is dropped
 * and announced to the peer with DELETE. Timers resume with the downtime
 * taken off, so a lifetime that ran out while we were down acts at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ike_int.h"

#define REC_MAGIC	0x45475331u	/* "EGS1" */
#define REC_VERSION	1
#define RESP_MAX	2048	/* a larger last answer is not kept */

/* The largest record: every field at its bound (w_child, sa_encode). */
#define REC_CHOICE	(4 + 8 + 7 * 2 + 1)
#define REC_TS		(1 + IKE_MAX_TS * 5)
#define REC_KEY		(1 + IKE_KEY_MAX_LEN)
#define REC_CHILD	(3 * 4 + 1 + REC_CHOICE + 2 * REC_TS + 4 * 8 + 3 * 4 + \
			 1 + 2 * REC_KEY)
#define REC_HEAD	(4 + 1 + 2 * IKE_SPI_LEN + 1 + 8 + 1 + EG_NAME_MAX + \
			 4 + 2 + 2 + 1 + REC_CHOICE + 5 * 2 + 5 * REC_KEY + \
			 3 * 4 + sizeof(((struct ike_sa *)0)->req_hash) + 2 + RESP_MAX + 3 * 8 + 2 * 4 + \
			 2 + 1 + 1 + IKE_CHILD_SLOTS * 4 + 1)
_Static_assert(REC_HEAD + IKE_CHILD_SLOTS * REC_CHILD <= IKE_PERSIST_MAX,
	       "a full IKE SA fits its record");

/* ---- writing --------------------------------------------------------------- */

struct wr {
	uint8_t *p;
	size_t len, cap;
	bool over;
};

static void w_bytes(struct wr *w, const void *v, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->len, v, n);
	w->len += n;
}

static void w_u8(struct wr *w, uint8_t v) { w_bytes(w, &v, 1); }

static void w_u16(struct wr *w, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v };

	w_bytes(w, b, 2);
}

static void w_u32(struct wr *w, uint32_t v)
{
	w_u16(w, v >> 16);
	w_u16(w, v);
}

static void w_u64(struct wr *w, uint64_t v)
{
	w_u32(w, v >> 32);
	w_u32(w, v);
}

/* a key or name: its length (one byte), then the bytes */
static void w_var(struct wr *w, const void *v, size_t n)
{
	w_u8(w, n);
	w_bytes(w, v, n);
}

/* Time left until at (0: not set; at least 1 when set). */
static uint64_t left(uint64_t at, uint64_t now)
{
	if (!at)
		return 0;
	return at > now ? at - now : 1;
}

static void w_choice(struct wr *w, const struct ikev2_choice *c)
{
	w_u8(w, c->propnum);
	w_u8(w, c->proto);
	w_u8(w, c->spi_size);
	w_u8(w, c->xf_mask);
	w_u64(w, c->peer_spi);
	w_u16(w, c->encr);
	w_u16(w, c->encr_keylen);
	w_u16(w, c->prf);
	w_u16(w, c->integ);
	w_u16(w, c->dh);
	w_u16(w, c->esn);
	w_u16(w, c->pfs_hint);
	w_u8(w, c->aead);
}

static void w_ts(struct wr *w, const struct ike_ts *ts, uint8_t n)
{
	unsigned i;

	w_u8(w, n);
	for (i = 0; i < n; i++) {
		w_u32(w, ts[i].addr);
		w_u8(w, ts[i].len);
	}
}

static void w_child(struct wr *w, const struct ike_child *c, uint64_t now)
{
	/* our rekey in flight is lost with the restart: it is installed */
	uint8_t state = c->state == CHILD_S_REKEYING ? CHILD_S_INSTALLED : c->state;
	/* our DELETE in flight too: it goes again, at once */
	uint64_t gone = c->state == CHILD_S_DELETING ? 1 : left(c->gone_at, now);

	if (state == CHILD_S_DELETING)
		state = CHILD_S_REKEYED;
	w_u32(w, c->spi_in);
	w_u32(w, c->spi_out);
	w_u32(w, c->reqid);
	w_u8(w, state);
	w_choice(w, &c->prop);
	w_ts(w, c->tsi, c->n_tsi);
	w_ts(w, c->tsr, c->n_tsr);
	w_u64(w, now - c->created);
	w_u64(w, left(c->soft_at, now));
	w_u64(w, left(c->hard_at, now));
	w_u64(w, gone);
	w_u32(w, c->rekeys);
	w_u32(w, c->successor);
	w_u32(w, c->predecessor);
	/* the outbound keys a rekey's responder still holds (2.8) */
	w_u8(w, c->out_keys != NULL);
	if (c->out_keys) {
		w_var(w, c->out_keys->encr_r, c->out_keys->encr_len);
		w_var(w, c->out_keys->integ_r, c->out_keys->integ_len);
	}
}

static int sa_encode(const struct ike_ctx *ctx, const struct ike_sa *sa,
		     uint8_t *buf, size_t cap, size_t *len)
{
	const struct ike_keys *k = &sa->keys;
	struct wr w = { .p = buf, .cap = cap };
	uint64_t now = ctx->now;
	unsigned i, n = 0;

	w_u32(&w, REC_MAGIC);
	w_u8(&w, REC_VERSION);
	w_bytes(&w, sa->spi_i, IKE_SPI_LEN);
	w_bytes(&w, sa->spi_r, IKE_SPI_LEN);
	w_u8(&w, sa->we_initiated);
	w_u64(&w, (uint64_t)sa->site_id);
	w_var(&w, sa->site_name, strnlen(sa->site_name, sizeof(sa->site_name)));
	w_u32(&w, sa->peer_addr);
	w_u16(&w, sa->peer_port);
	w_u16(&w, sa->local_port);
	/* bit 0: behind a NAT; bit 1: fragmentation (a record of before
	 * has only bit 0) */
	w_u8(&w, (uint8_t)(sa->peer_natted | sa->frag << 1));
	w_choice(&w, &sa->prop);
	w_u16(&w, k->suite.encr);
	w_u16(&w, k->suite.encr_key_bits);
	w_u16(&w, k->suite.prf);
	w_u16(&w, k->suite.integ);
	w_u16(&w, k->suite.dh);
	w_var(&w, k->sk_d, k->sk_d_len);
	w_var(&w, k->sk_ai, k->sk_a_len);
	w_var(&w, k->sk_ar, k->sk_a_len);
	w_var(&w, k->sk_ei, k->sk_e_len);
	w_var(&w, k->sk_er, k->sk_e_len);
	w_u32(&w, sa->next_msgid);
	w_u32(&w, sa->our_msgid);
	w_u32(&w, sa->resp_msgid);
	w_bytes(&w, sa->req_hash, sizeof(sa->req_hash));
	if (sa->resp && sa->resp_len <= RESP_MAX) {
		w_u16(&w, sa->resp_len);
		w_bytes(&w, sa->resp, sa->resp_len);
	} else {
		w_u16(&w, 0);
	}
	w_u64(&w, now - sa->established);
	w_u64(&w, left(sa->rekey_at, now));
	w_u64(&w, left(sa->expire_at, now));
	w_u32(&w, sa->ike_rekeys);
	w_u32(&w, sa->child_rekeys);
	w_u16(&w, sa->rekey_group);
	w_u8(&w, sa->want & (IKE_WANT_REKEY_IKE | IKE_WANT_DELETE));
	w_u8(&w, sa->n_announce);
	for (i = 0; i < sa->n_announce; i++)
		w_u32(&w, sa->announce[i]);
	for (i = 0; i < IKE_CHILD_SLOTS; i++)
		n += sa->child[i] != NULL;
	w_u8(&w, n);
	for (i = 0; i < IKE_CHILD_SLOTS; i++)
		if (sa->child[i])
			w_child(&w, sa->child[i], now);
	if (w.over) {
		OPENSSL_cleanse(buf, cap);
		return -EMSGSIZE;
	}
	*len = w.len;
	return 0;
}

/* ---- saving -------------------------------------------------------------------- */

void ike_persist_flush(struct ike_ctx *ctx)
{
	uint8_t rec[IKE_PERSIST_MAX];
	struct ike_sa *sa;
	bool open = false;
	size_t len;

	if (!ctx->env.sa_save)
		return;
	for (sa = ctx->sas; sa; sa = sa->next) {
		bool keep = sa->state == IKE_S_ESTABLISHED;
		int rc;

		if (!sa->dirty || (!keep && !sa->saved))
			continue;
		if (!open && ctx->env.save_batch)
			ctx->env.save_batch(ctx->env.arg, true);
		open = true;
		if (keep && !sa_encode(ctx, sa, rec, sizeof(rec), &len)) {
			rc = ctx->env.sa_save(ctx->env.arg, sa_our_spi(sa), sa->site_id,
					      rec, len);
			OPENSSL_cleanse(rec, len);
		} else {
			/* rekeyed, deleting: its successor is saved, not it */
			rc = ctx->env.sa_save(ctx->env.arg, sa_our_spi(sa), sa->site_id,
					      NULL, 0);
			keep = false;
		}
		if (rc) {
			ctx->st.save_failed++;
			continue;	/* dirty still: the next tick tries again */
		}
		ctx->st.saved += keep;
		sa->saved = keep;
		sa->dirty = false;
	}
	if (open && ctx->env.save_batch)
		ctx->env.save_batch(ctx->env.arg, false);
}

/* An SA is going for good: its record too (not when we stop and keep it). */
void persist_forget(struct ike_ctx *ctx, struct ike_sa *sa)
{
	if (!sa->saved || ctx->keeping || !ctx->env.sa_save)
		return;
	if (!ctx->env.sa_save(ctx->env.arg, sa_our_spi(sa), sa->site_id, NULL, 0))
		sa->saved = false;
}

/* ---- reading --------------------------------------------------------------------- */

struct rd {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static void r_bytes(struct rd *r, void *v, size_t n)
{
	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		memset(v, 0, n);
		return;
	}
	memcpy(v, r->p + r->off, n);
	r->off += n;
}

static uint8_t r_u8(struct rd *r)
{
	uint8_t v;

	r_bytes(r, &v, 1);
	return v;
}

static uint16_t r_u16(struct rd *r)
{
	uint8_t b[2];

	r_bytes(r, b, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t r_u32(struct rd *r)
{
	uint32_t hi = r_u16(r);

	return hi << 16 | r_u16(r);
}

static uint64_t r_u64(struct rd *r)
{
	uint64_t hi = r_u32(r);

	return hi << 32 | r_u32(r);
}

/* a length-prefixed field of at most cap bytes; returns its length */
static size_t r_var(struct rd *r, void *v, size_t cap)
{
	size_t n = r_u8(r);

	if (n > cap) {
		r->bad = true;
		return 0;
	}
	r_bytes(r, v, n);
	return n;
}

static void r_choice(struct rd *r, struct ikev2_choice *c)
{
	c->propnum = r_u8(r);
	c->proto = r_u8(r);
	c->spi_size = r_u8(r);
	c->xf_mask = r_u8(r);
	c->peer_spi = r_u64(r);
	c->encr = r_u16(r);
	c->encr_keylen = r_u16(r);
	c->prf = r_u16(r);
	c->integ = r_u16(r);
	c->dh = r_u16(r);
	c->esn = r_u16(r);
	c->pfs_hint = r_u16(r);
	c->aead = r_u8(r);
}

static uint8_t r_ts(struct rd *r, struct ike_ts *ts)
{
	uint8_t n = r_u8(r), i;

	if (n > IKE_MAX_TS) {
		r->bad = true;
		return 0;
	}
	for (i = 0; i < n; i++) {
		ts[i].addr = r_u32(r);
		ts[i].len = r_u8(r);
		if (ts[i].len > 32)
			r->bad = true;
	}
	return n;
}

/* A timer that had `rem` ms left when saved, downtime ago (0: unset). */
static uint64_t resume_at(uint64_t now, uint64_t rem, uint64_t downtime)
{
	if (!rem)
		return 0;
	return now + (rem > downtime ? rem - downtime : 1);
}

static void r_child(struct rd *r, struct ike_child *c, uint64_t now,
		    uint64_t down)
{
	uint64_t age;
	uint8_t has_out;

	c->spi_in = r_u32(r);
	c->spi_out = r_u32(r);
	c->reqid = r_u32(r);
	c->state = r_u8(r);
	if (c->state != CHILD_S_INSTALLED && c->state != CHILD_S_REKEYED)
		r->bad = true;
	r_choice(r, &c->prop);
	c->n_tsi = r_ts(r, c->tsi);
	c->n_tsr = r_ts(r, c->tsr);
	age = r_u64(r) + down;
	c->created = age < now ? now - age : 0;
	c->soft_at = resume_at(now, r_u64(r), down);
	c->hard_at = resume_at(now, r_u64(r), down);
	c->gone_at = resume_at(now, r_u64(r), down);
	c->rekeys = r_u32(r);
	c->successor = r_u32(r);
	c->predecessor = r_u32(r);
	has_out = r_u8(r);
	if (has_out > 1)
		r->bad = true;
	if (has_out == 1 && !r->bad) {
		struct ike_child_keys *k = calloc(1, sizeof(*k));

		if (!k) {
			r->bad = true;
			return;
		}
		k->encr_len = r_var(r, k->encr_r, IKE_KEY_MAX_LEN);
		k->integ_len = r_var(r, k->integ_r, IKE_KEY_MAX_LEN);
		c->out_keys = k;	/* freed with c */
	}
	if (!c->spi_in || !c->spi_out || !c->reqid || !c->n_tsi || !c->n_tsr ||
	    !c->hard_at)
		r->bad = true;
}

static int sa_decode(struct ike_ctx *ctx, struct ike_sa *sa, const uint8_t *rec,
		     size_t len, uint64_t down)
{
	struct ike_keys *k = &sa->keys;
	struct rd r = { .p = rec, .len = len };
	uint64_t now = ctx->now, age;
	size_t n;
	unsigned i;

	if (r_u32(&r) != REC_MAGIC || r_u8(&r) != REC_VERSION)
		return -EINVAL;
	r_bytes(&r, sa->spi_i, IKE_SPI_LEN);
	r_bytes(&r, sa->spi_r, IKE_SPI_LEN);
	sa->we_initiated = r_u8(&r);
	sa->site_id = (int64_t)r_u64(&r);
	n = r_var(&r, sa->site_name, EG_NAME_MAX);
	sa->site_name[n] = '\0';
	sa->peer_addr = r_u32(&r);
	sa->peer_port = r_u16(&r);
	sa->local_port = r_u16(&r);
	{
		uint8_t f = r_u8(&r);

		sa->peer_natted = f & 1;
		sa->frag = f & 2;
	}
	r_choice(&r, &sa->prop);
	k->suite.encr = r_u16(&r);
	k->suite.encr_key_bits = r_u16(&r);
	k->suite.prf = r_u16(&r);
	k->suite.integ = r_u16(&r);
	k->suite.dh = r_u16(&r);
	k->sk_d_len = r_var(&r, k->sk_d, IKE_KEY_MAX_LEN);
	k->sk_a_len = r_var(&r, k->sk_ai, IKE_KEY_MAX_LEN);
	if (r_var(&r, k->sk_ar, IKE_KEY_MAX_LEN) != k->sk_a_len)
		r.bad = true;
	k->sk_e_len = r_var(&r, k->sk_ei, IKE_KEY_MAX_LEN);
	if (r_var(&r, k->sk_er, IKE_KEY_MAX_LEN) != k->sk_e_len)
		r.bad = true;
	sa->next_msgid = r_u32(&r);
	sa->our_msgid = r_u32(&r);
	sa->resp_msgid = r_u32(&r);
	r_bytes(&r, sa->req_hash, sizeof(sa->req_hash));
	n = r_u16(&r);
	if (n > RESP_MAX) {
		r.bad = true;
	} else if (n && !r.bad) {
		sa->resp = malloc(n);
		if (!sa->resp)
			return -ENOMEM;
		r_bytes(&r, sa->resp, n);
		sa->resp_len = n;
	}
	age = r_u64(&r) + down;
	sa->established = age < now ? now - age : 0;
	sa->rekey_at = resume_at(now, r_u64(&r), down);
	sa->expire_at = resume_at(now, r_u64(&r), down);
	sa->ike_rekeys = r_u32(&r);
	sa->child_rekeys = r_u32(&r);
	sa->rekey_group = r_u16(&r);
	sa->want = r_u8(&r) & (IKE_WANT_REKEY_IKE | IKE_WANT_DELETE);
	sa->n_announce = r_u8(&r);
	if (sa->n_announce > IKE_CHILD_SLOTS)
		r.bad = true;
	for (i = 0; i < sa->n_announce && !r.bad; i++)
		sa->announce[i] = r_u32(&r);
	n = r_u8(&r);
	if (n > IKE_CHILD_SLOTS)
		r.bad = true;
	for (i = 0; i < n && !r.bad; i++) {
		struct ike_child *c = child_alloc(sa);

		if (!c)
			return -ENOMEM;
		r_child(&r, c, now, down);
	}
	if (r.bad || r.off != len || !sa->site_id || !sa->peer_addr ||
	    !sa->peer_port || (sa->local_port != IKE_PORT && sa->local_port != NATT_PORT) ||
	    !sa->expire_at || !k->sk_d_len || ike_suite_check(&k->suite, true))
		return -EINVAL;
	return 0;
}

/* ---- resuming -------------------------------------------------------------------- */

/* Reconcile the Child SAs with the kernel: keep what it still has. */
static void adopt_children(struct ike_ctx *ctx, struct ike_sa *sa)
{
	unsigned i;

	for (i = 0; i < IKE_CHILD_SLOTS; i++) {
		struct ike_child *c = sa->child[i];
		int rc;

		if (!c)
			continue;
		if (c->reqid > ctx->next_reqid)
			ctx->next_reqid = c->reqid;
		rc = ctx->env.child_adopt ? ctx->env.child_adopt(ctx->env.arg, sa, c) :
					    -EOPNOTSUPP;
		if (!rc)
			continue;
		pr_warn("site '%s': Child SA %08x/%08x not in the kernel any more (%s): DELETE to the peer",
			sa->site_name, ntohl(c->spi_in), ntohl(c->spi_out), strerror(-rc));
		if (sa->n_announce < IKE_CHILD_SLOTS)
			sa->announce[sa->n_announce++] = c->spi_in;
		child_slot_free(sa, c);
	}
}

int ike_resume(struct ike_ctx *ctx, const uint8_t *rec, size_t len,
	       uint64_t downtime_ms)
{
	struct eg_site_rec site;
	struct ike_sa *sa;
	int rc;

	ike_clock(ctx);
	sa = sa_new(ctx);
	if (!sa)
		return -ENOMEM;
	rc = len > IKE_PERSIST_MAX ? -EINVAL : sa_decode(ctx, sa, rec, len, downtime_ms);
	if (!rc && sa_by_spi(ctx, sa_our_spi(sa)))
		rc = -EEXIST;
	/* the site as it is now: still there, still this address */
	if (!rc && (ctx->env.site_by_addr(ctx->env.arg, sa->peer_addr, &site) ||
		    site.id != sa->site_id))
		rc = -ENOENT;
	if (!rc) {
		rc = site_pol_load(ctx, &site, &sa->pol);
		eg_site_clear(&site);
	}
	if (rc) {
		ctx->st.resume_failed++;
		/* on no index and never saved: retire only unlinks it */
		sa->state = IKE_S_ESTABLISHED;
		sa_retire(ctx, sa, rc == -ENOENT ? "resume: its site is gone" :
						   "resume: bad record");
		sa_reap(ctx);
		return rc;
	}
	sa->created = sa->established;
	sa->last_rx = sa->active_at = ctx->now;
	sa->dpd_check_at = ctx->now + (uint64_t)sa->pol.dpd_delay * 1000;
	if (ctx->env.site_rx)
		ctx->env.site_rx(ctx->env.arg, sa, &sa->rx_pkts);
	sa_index(ctx, sa);
	sa_site_link(ctx, sa);
	adopt_children(ctx, sa);
	ike_set_state(ctx, sa, IKE_S_ESTABLISHED, "resumed after a restart");
	sa->saved = true;
	ctx->st.resumed++;
	req_next(ctx, sa);
	return 0;
}
