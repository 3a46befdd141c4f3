// SPDX-License-Identifier: GPL-2.0
/*
 * ike_rekey.c - rekeying the IKE SA itself (RFC 7296 1.3.2, 2.18): a
 * CREATE_CHILD_SA with an IKE proposal, KE and nonce, on the old SA. The
 * new SA gets new SPIs, keys from SKEYSEED = prf(SK_d old, g^ir new | Ni |
 * Nr), message IDs from 0, and every Child SA of the old one; the side
 * that started the rekey becomes the new SA's initiator and deletes the
 * old SA. Both directions, and the collision of the two (2.8.2: the new
 * SA made with the lowest nonce goes, deleted by who made it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "ike_int.h"

#define IKE_REKEY_RETRY_MS	15000

/* The new SA of a rekey of old, keyed; not yet indexed. */
static struct ike_sa *successor(struct ike_ctx *ctx, struct ike_sa *old,
				const struct ikev2_choice *ch, bool we_init,
				const uint8_t *gir, size_t gir_len,
				const uint8_t *ni, size_t ni_len,
				const uint8_t *nr, size_t nr_len,
				const uint8_t spi_i[IKE_SPI_LEN],
				const uint8_t spi_r[IKE_SPI_LEN])
{
	struct ike_suite suite = { .encr = ch->encr, .encr_key_bits = ch->encr_keylen,
				   .prf = ch->prf, .integ = ch->integ, .dh = ch->dh };
	uint8_t seed[IKE_PRF_MAX_LEN];
	size_t seed_len = sizeof(seed);
	struct ike_sa *sa;
	int err;

	sa = sa_new(ctx);
	if (!sa)
		return NULL;
	memcpy(sa->spi_i, spi_i, IKE_SPI_LEN);
	memcpy(sa->spi_r, spi_r, IKE_SPI_LEN);
	sa->we_initiated = we_init;
	err = ike_skeyseed_rekey(old->prop.prf, old->keys.sk_d, old->keys.sk_d_len,
				 gir, gir_len, ni, ni_len, nr, nr_len, seed,
				 &seed_len);
	if (!err)
		err = ike_keys_derive(&sa->keys, &suite, seed, seed_len, ni, ni_len,
				      nr, nr_len, spi_i, spi_r);
	OPENSSL_cleanse(seed, sizeof(seed));
	if (err) {
		sa_retire(ctx, sa, "IKE SA rekey: keys");
		return NULL;
	}
	sa->site_id = old->site_id;
	memcpy(sa->site_name, old->site_name, sizeof(sa->site_name));
	sa->peer_addr = old->peer_addr;
	sa->peer_port = old->peer_port;
	sa->local_port = old->local_port;
	sa->peer_natted = old->peer_natted;
	sa->frag = old->frag;		/* negotiated once, for its successors */
	sa->prop = *ch;
	sa->prop.spi_size = 0;
	sa->pol = old->pol;
	sa->ike_rekeys = old->ike_rekeys + 1;
	sa->child_rekeys = old->child_rekeys;
	sa->rekey_group = ch->dh;
	sa->last_rx = sa->active_at = ctx->now;
	sa->rx_pkts = old->rx_pkts;
	sa->next_msgid = 0;		/* 2.18: both counters start again */
	sa->our_msgid = 0;
	sa_index(ctx, sa);
	sa_site_link(ctx, sa);
	return sa;
}

static void move_children(struct ike_sa *from, struct ike_sa *to)
{
	unsigned i, j = 0;

	for (i = 0; i < IKE_CHILD_SLOTS; i++) {
		if (!from->child[i])
			continue;
		while (j < IKE_CHILD_SLOTS && to->child[j])
			j++;
		if (j == IKE_CHILD_SLOTS)
			break;
		to->child[j] = from->child[i];
		from->child[i] = NULL;
	}
	memcpy(to->announce, from->announce, sizeof(to->announce));
	to->n_announce = from->n_announce;
	from->n_announce = 0;
}

static void established(struct ike_ctx *ctx, struct ike_sa *sa, const char *why)
{
	ike_set_state(ctx, sa, IKE_S_ESTABLISHED, why);
	sa->established = ctx->now;
	sa_lifetimes(ctx, sa);
	ctx->st.ike_rekeys++;
}

/* The old SA is rekeyed: the peer deletes it, or we do after a while. */
static void retire_old(struct ike_ctx *ctx, struct ike_sa *old,
		       const struct ike_sa *succ)
{
	old->successor_spi = ike_be64_get(sa_our_spi(succ));
	old->gone_at = ctx->now + IKE_GONE_MS;
	old->want = 0;
	ike_set_state(ctx, old, IKE_S_REKEYED, "IKE SA rekeyed");
}

/* We delete an SA: our DELETE request on it, the SA kept until answered. */
static void delete_sa(struct ike_ctx *ctx, struct ike_sa *sa, const char *why)
{
	struct ikev2_buf b;
	struct ike_req *rq;

	req_free(sa->req);
	sa->req = NULL;
	rq = req_new(REQ_DELETE_IKE, IKEV2_EXCH_INFORMATIONAL);
	if (!rq) {
		sa_kill(ctx, sa, why);
		return;
	}
	ike_set_state(ctx, sa, IKE_S_DELETING, why);
	ikev2_build_inner(&b, ctx->plain, sizeof(ctx->plain));
	ikev2_put_delete(&b, IKEV2_PROTO_IKE, NULL, 0);
	if (send_request(ctx, sa, rq, &b))
		sa_kill(ctx, sa, why);
	else
		ctx->st.deletes_tx++;
}

/* ---- the peer rekeys ------------------------------------------------------------ */

void handle_rekey_ike(struct ike_ctx *ctx, struct ike_sa *sa,
		      const struct ikev2_msghdr *h, const struct ikev2_msg *m,
		      const struct ikev2_sa *sap, struct ikev2_buf *rsp)
{
	int i_n = ikev2_msg_find(m, IKEV2_PLD_NONCE, 0);
	int i_ke = ikev2_msg_find(m, IKEV2_PLD_KE, 0);
	uint8_t nr[IKE_NONCE_LEN], pub[IKE_DH_MAX_LEN], gir[IKE_DH_MAX_LEN];
	uint8_t spi_i[IKE_SPI_LEN], spi_r[IKE_SPI_LEN];
	struct ikev2_choice ch;
	struct ikev2_ke_pld ke;
	struct ike_dh *dh = NULL;
	struct ike_sa *nsa;
	size_t glen = 0;
	uint16_t want, notify = 0;
	const struct ike_prf_desc *prf;
	int err;

	if (i_ke < 0 || ikev2_dec_ke(&m->pld[i_ke], &ke) ||
	    ikev2_msg_find(m, IKEV2_PLD_TSI, 0) >= 0) {
		notify = IKEV2_N_INVALID_SYNTAX;
		goto send;
	}
	/* 2.25.2: not while a Child SA exchange of ours is out */
	if (sa->req && sa->req->kind == REQ_DPD) {
		req_free(sa->req);	/* this request proves the peer alive */
		sa->req = NULL;
	}
	if (sa->req && sa->req->kind != REQ_REKEY_IKE) {
		pr_info("site '%s': IKE SA rekey while our request is out: TEMPORARY_FAILURE",
			sa->site_name);
		notify = IKEV2_N_TEMPORARY_FAILURE;
		goto send;
	}
	err = ikev2_prop_select_ike_pol(sap, ke.group, IKEV2_PROP_REKEY,
					&sa->pol.ike, &ch, &want);
	if (err == -EAGAIN) {
		uint16_t g = htons(want);

		ikev2_put_notify(rsp, IKEV2_PROTO_NONE, 0, 0,
				 IKEV2_N_INVALID_KE_PAYLOAD, &g, sizeof(g));
		goto send;
	}
	prf = ike_prf_get(ch.prf);
	if (err) {
		notify = IKEV2_N_NO_PROPOSAL_CHOSEN;
		goto send;
	}
	if (ch.peer_spi == 0 || m->pld[i_n].len * 2 < (prf ? prf->len : 0) ||
	    ike_dh_check_peer(ke.group, ke.data, ke.len)) {
		notify = IKEV2_N_INVALID_SYNTAX;
		goto send;
	}
	glen = ike_dh_group_len(ch.dh);
	if (ike_random(nr, sizeof(nr)) || ike_spi_ike(spi_r) ||
	    ike_dh_new(ch.dh, &dh) || ike_dh_public(dh, pub, glen) ||
	    ike_dh_derive(dh, ke.data, ke.len, gir, glen)) {
		notify = IKEV2_N_TEMPORARY_FAILURE;
		goto send;
	}
	ike_be64_put(spi_i, ch.peer_spi);
	nsa = successor(ctx, sa, &ch, false, gir, glen, m->pld[i_n].body,
			m->pld[i_n].len, nr, sizeof(nr), spi_i, spi_r);
	if (!nsa) {
		notify = IKEV2_N_TEMPORARY_FAILURE;
		goto send;
	}
	/* HDR, SK {SA, Nr, KEr} on the old SA (1.3.2) */
	ch.spi_size = 8;
	ikev2_put_sa(rsp, &ch, ike_be64_get(spi_r));
	ikev2_put_nonce(rsp, nr, sizeof(nr));
	ikev2_put_ke(rsp, ch.dh, pub, glen);
	send_response(ctx, sa, IKEV2_EXCH_CREATE_CHILD_SA, h->msgid, rsp);

	move_children(sa, nsa);
	established(ctx, nsa, "IKE SA rekey by the peer");
	pr_info("site '%s': IKE SA rekeyed by the peer: %016llx/%016llx -> %016llx/%016llx",
		sa->site_name, (unsigned long long)ike_be64_get(sa->spi_i),
		(unsigned long long)ike_be64_get(sa->spi_r),
		(unsigned long long)ike_be64_get(nsa->spi_i),
		(unsigned long long)ike_be64_get(nsa->spi_r));
	if (sa->req && sa->req->kind == REQ_REKEY_IKE) {
		/* 2.8.2: our own rekey of this SA is out; its answer decides */
		struct ike_req *our = sa->req;
		bool ni_lo = nonce_cmp(m->pld[i_n].body, m->pld[i_n].len, nr,
				       sizeof(nr)) < 0;

		our->collided = true;
		memcpy(our->peer_sa, spi_r, IKE_SPI_LEN);
		our->peer_lo_len = ni_lo ? m->pld[i_n].len : sizeof(nr);
		memcpy(our->peer_lo, ni_lo ? m->pld[i_n].body : nr, our->peer_lo_len);
		ctx->st.rekey_collisions++;
		pr_info("site '%s': both ends rekey the IKE SA (2.8.2)", sa->site_name);
		sa->successor_spi = ike_be64_get(spi_r);
		sa->want = 0;
		ike_set_state(ctx, sa, IKE_S_REKEYED, "IKE SA rekey collision");
	} else {
		retire_old(ctx, sa, nsa);
	}
	goto out;
send:
	if (notify)
		ikev2_put_notify(rsp, IKEV2_PROTO_NONE, 0, 0, notify, NULL, 0);
	send_response(ctx, sa, IKEV2_EXCH_CREATE_CHILD_SA, h->msgid, rsp);
out:
	OPENSSL_cleanse(gir, sizeof(gir));
	OPENSSL_cleanse(nr, sizeof(nr));
	ike_dh_free(dh);
}

/* ---- we rekey --------------------------------------------------------------------- */

int ike_rekey_start(struct ike_ctx *ctx, struct ike_sa *sa)
{
	uint8_t pub[IKE_DH_MAX_LEN];
	struct ike_req *rq;
	struct ikev2_buf b;
	uint16_t group = sa->rekey_group ? sa->rekey_group : sa->prop.dh;
	size_t glen = ike_dh_group_len(group);
	int err;

	rq = req_new(REQ_REKEY_IKE, IKEV2_EXCH_CREATE_CHILD_SA);
	if (!rq)
		return -ENOMEM;
	rq->prop = sa->prop;
	rq->prop.propnum = 1;
	rq->prop.spi_size = 8;
	rq->prop.dh = group;
	rq->prop.xf_mask = 1u << IKEV2_XF_ENCR | 1u << IKEV2_XF_PRF |
			   1u << IKEV2_XF_INTEG | 1u << IKEV2_XF_DH;
	if (ike_spi_ike(rq->new_spi) || ike_random(rq->nonce, sizeof(rq->nonce)) ||
	    ike_dh_new(group, &rq->dh) || ike_dh_public(rq->dh, pub, glen)) {
		req_free(rq);
		return -EIO;
	}
	/* HDR, SK {SA, Ni, KEi} (1.3.2) */
	ikev2_build_inner(&b, ctx->plain, sizeof(ctx->plain));
	ikev2_put_sa(&b, &rq->prop, ike_be64_get(rq->new_spi));
	ikev2_put_nonce(&b, rq->nonce, sizeof(rq->nonce));
	ikev2_put_ke(&b, group, pub, glen);
	err = send_request(ctx, sa, rq, &b);
	if (!err)
		pr_info("site '%s': rekeying the IKE SA (CREATE_CHILD_SA)", sa->site_name);
	return err;
}

/* 2.8.2: ours or the peer's new SA survives; the other goes. */
static void rekey_ike_collision(struct ike_ctx *ctx, struct ike_sa *old,
				struct ike_req *rq, struct ike_sa *ours,
				const uint8_t *nr, size_t nr_len)
{
	struct ike_sa *theirs = sa_by_spi(ctx, rq->peer_sa);
	bool ni_lo = nonce_cmp(rq->nonce, sizeof(rq->nonce), nr, nr_len) < 0;
	bool ours_go = nonce_cmp(ni_lo ? rq->nonce : nr,
				 ni_lo ? sizeof(rq->nonce) : nr_len, rq->peer_lo,
				 rq->peer_lo_len) < 0;

	pr_info("site '%s': IKE SA rekey collision: %s new IKE SA is redundant",
		old->site_name, ours_go ? "our" : "the peer's");
	if (ours_go || !theirs) {
		if (!theirs) {
			/* the peer's already went: ours it is */
			move_children(old, ours);
			delete_sa(ctx, old, "IKE SA rekeyed");
			return;
		}
		/* ours goes, by our DELETE; the old one is the peer's to delete */
		delete_sa(ctx, ours, "redundant IKE SA of a rekey collision");
		old->gone_at = ctx->now + IKE_GONE_MS;
		return;
	}
	/* the peer's goes (it deletes it); ours takes the Child SAs, and we
	 * delete the old one */
	move_children(theirs, ours);
	retire_old(ctx, theirs, ours);
	delete_sa(ctx, old, "IKE SA rekeyed");
}

void ike_rekey_response(struct ike_ctx *ctx, struct ike_sa *sa,
			struct ike_req *rq, const struct ikev2_msg *m)
{
	int i_sa = ikev2_msg_find(m, IKEV2_PLD_SA, 0);
	int i_n = ikev2_msg_find(m, IKEV2_PLD_NONCE, 0);
	int i_ke = ikev2_msg_find(m, IKEV2_PLD_KE, 0);
	uint8_t gir[IKE_DH_MAX_LEN], spi_r[IKE_SPI_LEN];
	size_t glen = ike_dh_group_len(rq->prop.dh);
	struct ikev2_notify_pld n;
	struct ikev2_ke_pld ke;
	struct ikev2_sa sap;
	struct ikev2_choice ch;
	struct ike_sa *nsa;
	uint16_t want;

	if (ikev2_find_notify(m, IKEV2_N_INVALID_KE_PAYLOAD, &n) == 0 && n.len == 2) {
		uint16_t g = (uint16_t)(n.data[0] << 8 | n.data[1]);

		if (ikev2_dh_supported(g) && g != rq->prop.dh) {
			sa->rekey_group = g;
			sa->want |= IKE_WANT_REKEY_IKE;		/* again, at once */
			return;
		}
	}
	if (i_sa < 0 || i_n < 0 || i_ke < 0 || ikev2_dec_sa(&m->pld[i_sa], &sap) ||
	    ikev2_prop_select_ike(&sap, rq->prop.dh, IKEV2_PROP_REKEY, &ch, &want) ||
	    ch.encr != rq->prop.encr || ch.prf != rq->prop.prf ||
	    ch.integ != rq->prop.integ || ch.encr_keylen != rq->prop.encr_keylen ||
	    ch.peer_spi == 0 ||
	    ikev2_dec_ke(&m->pld[i_ke], &ke) || ke.group != rq->prop.dh ||
	    ike_dh_derive(rq->dh, ke.data, ke.len, gir, glen)) {
		pr_info("site '%s': our IKE SA rekey refused or answered wrong; again later",
			sa->site_name);
		if (sa->state == IKE_S_ESTABLISHED)
			sa->rekey_at = ctx->now + IKE_REKEY_RETRY_MS;
		OPENSSL_cleanse(gir, sizeof(gir));
		return;
	}
	ike_be64_put(spi_r, ch.peer_spi);
	nsa = successor(ctx, sa, &ch, true, gir, glen, rq->nonce, sizeof(rq->nonce),
			m->pld[i_n].body, m->pld[i_n].len, rq->new_spi, spi_r);
	OPENSSL_cleanse(gir, sizeof(gir));
	if (!nsa)
		return;
	established(ctx, nsa, "IKE SA rekey, ours");
	pr_info("site '%s': IKE SA rekeyed: %016llx/%016llx -> %016llx/%016llx",
		sa->site_name, (unsigned long long)ike_be64_get(sa->spi_i),
		(unsigned long long)ike_be64_get(sa->spi_r),
		(unsigned long long)ike_be64_get(nsa->spi_i),
		(unsigned long long)ike_be64_get(nsa->spi_r));
	if (rq->collided) {
		rekey_ike_collision(ctx, sa, rq, nsa, m->pld[i_n].body,
				    m->pld[i_n].len);
		return;
	}
	move_children(sa, nsa);
	/* 1.3.2: who started the rekey deletes the old SA */
	delete_sa(ctx, sa, "IKE SA rekeyed");
}
