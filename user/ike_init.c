// SPDX-License-Identifier: GPL-2.0
/*
 * ike_init.c - the first two exchanges (RFC 7296 1.2): IKE_SA_INIT, where
 * an unauthenticated stranger can make us work, so everything cheap is
 * checked before anything costly (limits, then the peer's KE range, then
 * one store lookup without the PSK, then our DH); and IKE_AUTH with PSK
 * (2.15), the first Child SA, INITIAL_CONTACT and one IKE SA per site.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>

#include "ike_int.h"

/* ---- the site's policy ----------------------------------------------------- */

int site_pol_load(struct ike_ctx *ctx, const struct eg_site_rec *s,
		  struct ike_site_pol *pol)
{
	struct eg_prefix lan[EG_LAN_MAX];
	unsigned i;

	memset(pol, 0, sizeof(*pol));
	if (ikev2_cipher_policy(s->cipher, &pol->ike, &pol->esp))
		return -EINVAL;
	pol->n_lan = eg_site_lan(s, lan);
	for (i = 0; i < pol->n_lan; i++) {
		pol->lan[i].addr = lan[i].addr;
		pol->lan[i].len = lan[i].len;
	}
	pol->ike_lifetime = s->ike_lifetime ? s->ike_lifetime : ctx->cfg.ike_lifetime;
	pol->child_lifetime = s->child_lifetime ? s->child_lifetime :
						  ctx->cfg.child_lifetime;
	pol->dpd_delay = s->dpd_delay ? s->dpd_delay : ctx->cfg.dpd_delay;
	pol->dpd_timeout = s->dpd_timeout ? s->dpd_timeout : ctx->cfg.dpd_timeout;
	return 0;
}

/* ---- IKE_SA_INIT -------------------------------------------------------------- */

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
		if (n.len == IKE_NATD_LEN && !CRYPTO_memcmp(n.data, h, IKE_NATD_LEN))
			return 0;
	}
	return seen ? 1 : -ENOENT;
}

/* 2.10: at least 128 bits and half the PRF's key size. */
static bool nonce_ok(size_t len, uint16_t prf)
{
	const struct ike_prf_desc *d = ike_prf_get(prf);

	return len >= IKEV2_NONCE_MIN && len <= IKEV2_NONCE_MAX &&
	       (!d || len * 2 >= d->len);
}

/* Answered only to a well-formed request from an enabled site (2.5). */
void init_unsupported(struct ike_ctx *ctx, const struct ikev2_msghdr *h,
		      const struct ikev2_msg *m, uint16_t local_port,
		      uint32_t addr, uint16_t port)
{
	struct eg_site_rec site;

	ctx->st.rx_bad++;
	if (h->msgid != 0 || h->rspi != 0 || !(h->flags & IKEV2_FLAG_INITIATOR) ||
	    ctx->n_half_open >= ctx->cfg.max_half_open)
		return;
	if (ctx->env.site_by_addr(ctx->env.arg, addr, &site) == 0)
		init_notify(ctx, h, local_port, addr, port,
			    IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD, &m->unsup_type, 1);
	eg_site_clear(&site);
}

/* The cheap checks of an IKE_SA_INIT request, before any lookup. */
static bool init_acceptable(struct ike_ctx *ctx, const struct ikev2_msghdr *h,
			    const uint8_t *buf, size_t len, uint32_t addr,
			    uint16_t port, uint16_t local_port)
{
	uint8_t spi_i[IKE_SPI_LEN];
	struct ike_sa *sa;
	char ip[INET_ADDRSTRLEN];

	/* no half-open slot for anything but a fresh first request */
	if (h->msgid != 0 || h->rspi != 0 || !(h->flags & IKEV2_FLAG_INITIATOR)) {
		ctx->st.rx_bad++;
		return false;
	}
	ike_be64_put(spi_i, h->ispi);
	sa = sa_half_open(ctx, spi_i, addr, port);
	if (sa) {
		/* the same request again gets the same answer, byte for byte,
		 * rate-limited; a different one with this SPI gets nothing */
		if (sa->init_req_len != len || memcmp(sa->init_req, buf, len) ||
		    !sa->init_resp) {
			/* another request, or ours still being computed */
			ctx->st.rx_dropped++;
		} else if (sa->last_resend &&
			   ctx->now - sa->last_resend < IKE_RESEND_MS) {
			ctx->st.resend_limited++;
		} else {
			sa->last_resend = ctx->now;
			ctx->st.retransmits++;
			memcpy(out_msg(ctx), sa->init_resp, sa->init_resp_len);
			send_msg(ctx, local_port, addr, port, out_msg(ctx),
				 sa->init_resp_len);
		}
		return false;
	}
	if (ctx->n_half_open >= ctx->cfg.max_half_open) {
		pr_debug("%u half-open IKE SAs: dropping IKE_SA_INIT from %s",
			 ctx->n_half_open, ike_ip(addr, ip));
		ctx->st.init_half_open_full++;
		return false;
	}
	return true;
}

/* HDR, SAr1, KEr, Nr, N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP) */
static int init_response(struct ike_ctx *ctx, struct ike_sa *sa, const uint8_t *pub,
			 size_t glen, size_t *rlen)
{
	struct ikev2_msghdr rh = {
		.ispi = ike_be64_get(sa->spi_i), .rspi = ike_be64_get(sa->spi_r),
		.msgid = 0, .major = 2, .exch = IKEV2_EXCH_IKE_SA_INIT,
		.flags = IKEV2_FLAG_RESPONSE,
	};
	uint8_t hs[IKE_NATD_LEN], hd[IKE_NATD_LEN];
	uint8_t *msg = out_msg(ctx);
	struct ikev2_buf b;

	/*
	 * NAT_DETECTION_SOURCE_IP is our own address and port; when the peer
	 * is not behind a NAT we send a hash that cannot match, so that it
	 * encapsulates ESP in UDP anyway (NAT-T is mandatory here: XDP drops
	 * raw ESP). strongSwan's encap=yes does the same.
	 */
	natd(sa->spi_i, sa->spi_r, ctx->env.local_addr, sa->local_port, hs);
	if (!sa->peer_natted)
		hs[0] ^= 0xff;
	natd(sa->spi_i, sa->spi_r, sa->peer_addr, sa->peer_port, hd);
	ikev2_build_init(&b, msg, MSG_MAX, &rh);
	ikev2_put_sa(&b, &sa->prop, 0);
	ikev2_put_ke(&b, sa->prop.dh, pub, glen);
	ikev2_put_nonce(&b, sa->nr, IKE_NONCE_LEN);
	ikev2_put_notify(&b, IKEV2_PROTO_NONE, 0, 0,
			 IKEV2_N_NAT_DETECTION_SOURCE_IP, hs, sizeof(hs));
	ikev2_put_notify(&b, IKEV2_PROTO_NONE, 0, 0,
			 IKEV2_N_NAT_DETECTION_DESTINATION_IP, hd, sizeof(hd));
	if (sa->frag)	/* RFC 7383 2.3: only in answer to the peer's */
		ikev2_put_notify(&b, IKEV2_PROTO_NONE, 0, 0,
				 IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
	return ikev2_build_finish(&b, rlen);
}

/* Our keys are made (here, or by a worker): the answer, cached and sent. */
int init_answer(struct ike_ctx *ctx, struct ike_sa *sa, const uint8_t *pub)
{
	size_t glen = ike_dh_group_len(sa->prop.dh), rlen;
	char ip[INET_ADDRSTRLEN], buf[160];
	int err;

	err = init_response(ctx, sa, pub, glen, &rlen);
	if (err)
		return err;
	sa->init_resp = malloc(rlen);
	if (!sa->init_resp)
		return -ENOMEM;
	memcpy(sa->init_resp, out_msg(ctx), rlen);
	sa->init_resp_len = rlen;
	err = send_msg(ctx, sa->local_port, sa->peer_addr, sa->peer_port,
		       out_msg(ctx), rlen);
	if (err == -EAGAIN || err == -ENOBUFS)
		err = 0;	/* the peer retransmits; the answer is cached */
	if (err)
		return err;
	pr_info("site '%s': IKE_SA_INIT from %s:%u, %s%s", sa->site_name,
		ike_ip(sa->peer_addr, ip), sa->peer_port,
		ikev2_choice_str(&sa->prop, buf, sizeof(buf)),
		sa->peer_natted ? ", peer behind NAT" : "");
	ctx->st.init_ok++;
	return 0;
}

/* Our DH half, g^ir, the seven keys (2.14), here or by a worker, then the
 * answer; sa is half-open. */
static int init_keys(struct ike_ctx *ctx, struct ike_sa *sa,
		     const struct ikev2_ke_pld *ke, const uint8_t *buf, size_t len)
{
	struct ike_suite suite = ike_sa_suite(sa);
	size_t glen = ike_dh_group_len(sa->prop.dh);
	uint8_t pub[IKE_DH_MAX_LEN], gir[IKE_DH_MAX_LEN];
	struct ike_dh *dh = NULL;
	bool owned = true;
	int err = -EIO;

	if (ike_spi_ike(sa->spi_r) || ike_random(sa->nr, IKE_NONCE_LEN))
		return -EIO;
	/* kept from now on: a retransmit is recognised while we compute */
	sa->init_req = malloc(len);
	if (!sa->init_req)
		return -ENOMEM;
	memcpy(sa->init_req, buf, len);
	sa->init_req_len = len;
	sa_index(ctx, sa);
	if (init_offload(ctx, sa, ke) == 0)
		return 0;	/* a worker's; ike_workers_poll() answers */
	if (ike_dh_ours(ctx, sa->prop.dh, &dh, &owned) ||
	    ike_dh_public(dh, pub, glen) ||
	    ike_dh_derive(dh, ke->data, ke->len, gir, glen) ||
	    ike_keys_init(&sa->keys, &suite, gir, glen, sa->ni, sa->ni_len,
			  sa->nr, IKE_NONCE_LEN, sa->spi_i, sa->spi_r))
		goto out;
	err = init_answer(ctx, sa, pub);
out:
	OPENSSL_cleanse(gir, sizeof(gir));
	if (owned)
		ike_dh_free(dh);
	return err;
}

void handle_init(struct ike_ctx *ctx, const struct ikev2_msghdr *h,
		 const struct ikev2_msg *m, const uint8_t *buf, size_t len,
		 uint16_t local_port, uint32_t addr, uint16_t port)
{
	struct ikev2_ke_pld ke;
	struct ikev2_sa sap;
	struct ikev2_choice ch;
	struct eg_site_rec site;
	struct ike_site_pol pol;
	struct ike_sa *sa;
	uint16_t want;
	char ip[INET_ADDRSTRLEN];
	int i_sa, i_ke, i_n, natted, err, ke_bad;
	bool cookie;

	if (!init_acceptable(ctx, h, buf, len, addr, port, local_port))
		return;
	/* structure, and the peer's KE range (RFC 6989), before any lookup */
	i_sa = ikev2_msg_find(m, IKEV2_PLD_SA, 0);
	i_ke = ikev2_msg_find(m, IKEV2_PLD_KE, 0);
	i_n = ikev2_msg_find(m, IKEV2_PLD_NONCE, 0);
	if (i_sa < 0 || i_ke < 0 || i_n < 0 || ikev2_msg_count(m, IKEV2_PLD_SA) > 1 ||
	    ikev2_msg_count(m, IKEV2_PLD_KE) > 1 ||
	    ikev2_msg_count(m, IKEV2_PLD_NONCE) > 1 ||
	    ikev2_dec_sa(&m->pld[i_sa], &sap) || ikev2_dec_ke(&m->pld[i_ke], &ke) ||
	    m->pld[i_n].len < IKEV2_NONCE_MIN || m->pld[i_n].len > IKEV2_NONCE_MAX) {
		ctx->st.rx_bad++;
		pr_debug("IKE_SA_INIT from %s: missing, repeated or bad SA/KE/Ni",
			 ike_ip(addr, ip));
		return;
	}
	/* under load, or too many from this address: a cookie first (2.6) */
	if (!init_cookie_gate(ctx, h, m, &m->pld[i_n], ke.group, local_port, addr,
			      port, &cookie))
		return;
	ke_bad = ikev2_dh_supported(ke.group) &&
		 ike_dh_check_peer(ke.group, ke.data, ke.len);

	/* Only enabled sites get an answer (XDP dropped the rest already). */
	if (ctx->env.site_by_addr(ctx->env.arg, addr, &site)) {
		pr_info("IKE_SA_INIT from %s: no enabled site has this source IP, dropped",
			ike_ip(addr, ip));
		ctx->st.init_refused++;
		return;
	}
	if (ctx->env.accepting && !ctx->env.accepting(ctx->env.arg)) {
		pr_info("IKE_SA_INIT from site '%s': POP is draining, no new tunnels",
			site.name);
		ctx->st.init_refused++;
		goto out;
	}
	if (site_pol_load(ctx, &site, &pol)) {
		pr_warn("site '%s': cipher '%s' unknown", site.name, site.cipher);
		ctx->st.init_refused++;
		goto out;
	}
	err = ikev2_prop_select_ike_pol(&sap, ke.group, 0, &pol.ike, &ch, &want);
	if (err == -EAGAIN) {
		uint16_t g = htons(want);

		pr_info("site '%s': KE group %u, asking for %u (INVALID_KE_PAYLOAD)",
			site.name, ke.group, want);
		init_notify(ctx, h, local_port, addr, port, IKEV2_N_INVALID_KE_PAYLOAD,
			    &g, sizeof(g));
		ctx->st.init_invalid_ke++;
		goto out;
	}
	if (err || !nonce_ok(m->pld[i_n].len, ch.prf)) {
		pr_info("site '%s': no acceptable IKE proposal%s (NO_PROPOSAL_CHOSEN)",
			site.name, err ? "" : " for its nonce length");
		init_notify(ctx, h, local_port, addr, port,
			    err ? IKEV2_N_NO_PROPOSAL_CHOSEN : IKEV2_N_INVALID_SYNTAX,
			    NULL, 0);
		ctx->st.init_no_proposal++;
		goto out;
	}
	if (ke_bad) {
		pr_info("site '%s': peer's DH public value rejected (RFC 6989)",
			site.name);
		init_notify(ctx, h, local_port, addr, port, IKEV2_N_INVALID_SYNTAX,
			    NULL, 0);
		ctx->st.rx_bad++;
		goto out;
	}
	{
		uint8_t spi_i[IKE_SPI_LEN];

		ike_be64_put(spi_i, h->ispi);
		natted = peer_natted(m, spi_i, addr, port);
	}
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
	ike_be64_put(sa->spi_i, h->ispi);
	sa->site_id = site.id;
	snprintf(sa->site_name, sizeof(sa->site_name), "%s", site.name);
	sa->peer_addr = addr;
	sa->peer_port = port;
	sa->local_port = local_port;
	sa->peer_natted = natted;
	sa->cookie_ok = cookie;
	{
		struct ikev2_notify_pld fn;

		sa->frag = ctx->cfg.frag_size &&
			   !ikev2_find_notify(m, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, &fn);
	}
	sa->prop = ch;
	sa->pol = pol;
	sa->last_rx = sa->active_at = ctx->now;
	sa->next_msgid = 1;
	sa->ni = malloc(m->pld[i_n].len);
	if (!sa->ni) {
		sa_retire(ctx, sa, "out of memory");
		goto out;
	}
	sa->ni_len = m->pld[i_n].len;
	memcpy(sa->ni, m->pld[i_n].body, sa->ni_len);
	sa_site_link(ctx, sa);
	ike_set_state(ctx, sa, IKE_S_HALF_OPEN, "IKE_SA_INIT");
	if (init_keys(ctx, sa, &ke, buf, len))
		sa_retire(ctx, sa, "IKE_SA_INIT failed");
out:
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

static void auth_failed(struct ike_ctx *ctx, struct ike_sa *sa,
			uint32_t msgid, const char *why)
{
	pr_info("site '%s': %s: AUTHENTICATION_FAILED", sa->site_name, why);
	send_error(ctx, sa, IKEV2_EXCH_IKE_AUTH, msgid,
		   IKEV2_N_AUTHENTICATION_FAILED);
	ctx->st.auth_failed++;
	sa_kill(ctx, sa, why);
}

void sa_replace_older(struct ike_ctx *ctx, struct ike_sa *sa)
{
	struct ike_sa *old, *next;

	for (old = sa_site_first(ctx, sa->site_id); old; old = next) {
		next = old->snext;
		if (old == sa || old->site_id != sa->site_id ||
		    (old->state != IKE_S_ESTABLISHED && old->state != IKE_S_DELETING))
			continue;
		pr_info("site '%s': IKE SA %016llx/%016llx replaced by %016llx/%016llx%s",
			sa->site_name, (unsigned long long)ike_be64_get(old->spi_i),
			(unsigned long long)ike_be64_get(old->spi_r),
			(unsigned long long)ike_be64_get(sa->spi_i),
			(unsigned long long)ike_be64_get(sa->spi_r),
			sa->initial_contact ? " (INITIAL_CONTACT)" : "");
		/* an old peer elsewhere is told; the same one rebooted */
		if (old->state == IKE_S_ESTABLISHED &&
		    (old->peer_addr != sa->peer_addr || old->peer_port != sa->peer_port))
			send_delete_once(ctx, old);
		ctx->st.replaced++;
		sa_kill(ctx, old, "replaced by a newer IKE SA of the site");
	}
}

/* Verify the peer's AUTH and compute ours (2.15); the PSK is wiped here. */
static int auth_psk(struct ike_ctx *ctx, struct ike_sa *sa,
		    const struct ikev2_msg *m, int i_id,
		    const struct ikev2_auth_pld *auth, const uint8_t *idr,
		    size_t idr_len, uint8_t *myauth, size_t *alen)
{
	uint8_t psk[EG_PSK_MAX];
	size_t psk_len = 0;
	int err;

	err = ctx->env.site_psk(ctx->env.arg, sa->site_id, psk, &psk_len);
	if (err)
		goto out;
	err = -EACCES;
	if (auth->method != IKEV2_AUTH_PSK ||
	    ike_auth_verify(sa->prop.prf, psk, psk_len, sa->init_req,
			    sa->init_req_len, sa->nr, IKE_NONCE_LEN, sa->keys.sk_pi,
			    sa->keys.sk_p_len, m->pld[i_id].body, m->pld[i_id].len,
			    auth->data, auth->len))
		goto out;
	err = ike_psk_auth(sa->prop.prf, psk, psk_len, sa->init_resp,
			   sa->init_resp_len, sa->ni, sa->ni_len, sa->keys.sk_pr,
			   sa->keys.sk_p_len, idr, idr_len, myauth, alen);
out:
	OPENSSL_cleanse(psk, sizeof(psk));
	return err;
}

void handle_auth(struct ike_ctx *ctx, struct ike_sa *sa,
		 const struct ikev2_msghdr *h, const struct ikev2_msg *m)
{
	struct ikev2_id_pld idi;
	struct ikev2_auth_pld auth;
	struct ikev2_notify_pld n;
	struct eg_site_rec site;
	struct ike_child *c = NULL;
	struct ikev2_buf rsp;
	uint8_t idr[8], myauth[IKE_PRF_MAX_LEN];
	size_t alen = sizeof(myauth);
	int i_id = ikev2_msg_find(m, IKEV2_PLD_IDI, 0);
	int i_auth = ikev2_msg_find(m, IKEV2_PLD_AUTH, 0);
	char idbuf[EG_IDENT_MAX + 1] = "?";
	char why[160];
	enum eg_license lic;
	bool ours;
	int err;

	if (i_id < 0 || i_auth < 0 || ikev2_dec_id(&m->pld[i_id], &idi) ||
	    ikev2_dec_auth(&m->pld[i_auth], &auth)) {
		auth_failed(ctx, sa, h->msgid, "IKE_AUTH without IDi/AUTH (EAP?)");
		return;
	}
	ikev2_id_render(&idi, idbuf, sizeof(idbuf));
	/* The site is the one the source IP belongs to, looked up again. */
	if (ctx->env.site_by_addr(ctx->env.arg, sa->peer_addr, &site)) {
		auth_failed(ctx, sa, h->msgid, "site gone, disabled or refused");
		return;
	}
	if (site.id != sa->site_id || !ident_matches(&idi, &site)) {
		pr_info("site '%s': IDi '%s' is not its source identity '%s'",
			site.name, idbuf, site.id_value);
		eg_site_clear(&site);
		auth_failed(ctx, sa, h->msgid, "unknown identity");
		return;
	}
	/* the policy as configured now (the site may have been edited) */
	err = site_pol_load(ctx, &site, &sa->pol);
	lic = site.license;
	/* the site's POPs as configured now: is this gateway one of them? */
	ours = !ctx->cfg.pop || eg_site_has_pop(&site, ctx->cfg.pop);
	if (!ours)
		snprintf(why, sizeof(why), "this gateway's POP '%s' is not one of the site's (primary '%s', %u backups)",
			 ctx->cfg.pop, site.primary_pop, site.n_backup_pops);
	eg_site_clear(&site);
	if (err) {
		auth_failed(ctx, sa, h->msgid, "site's cipher unknown");
		return;
	}
	/* IDr: our gateway address; AUTH over the responder's octets (2.15). */
	idr[0] = IKEV2_ID_IPV4_ADDR;
	idr[1] = idr[2] = idr[3] = 0;
	memcpy(idr + 4, &ctx->env.local_addr, 4);
	err = auth_psk(ctx, sa, m, i_id, &auth, idr, sizeof(idr), myauth, &alen);
	if (err) {
		auth_failed(ctx, sa, h->msgid, err == -EACCES ?
			    "PSK AUTH does not verify" : "no PSK for the site");
		return;
	}
	/* verified, and refused all the same when the site does not list this
	 * gateway's POP: a router pointed at the wrong POP, or a site moved */
	if (!ours) {
		auth_failed(ctx, sa, h->msgid, why);
		return;
	}
	/* verified, and refused all the same while the services behind the
	 * POP that the site's license needs are down (health.h) */
	if (ctx->env.site_admit &&
	    ctx->env.site_admit(ctx->env.arg, lic, why, sizeof(why))) {
		auth_failed(ctx, sa, h->msgid, why);
		return;
	}
	sa->initial_contact = ikev2_find_notify(m, IKEV2_N_INITIAL_CONTACT, &n) == 0;
	ike_set_state(ctx, sa, IKE_S_ESTABLISHED, "IKE_AUTH, PSK verified");
	sa_lifetimes(ctx, sa);
	ctx->st.auth_ok++;
	pr_info("site '%s': authenticated as '%s'%s", sa->site_name, idbuf,
		sa->initial_contact ? ", INITIAL_CONTACT" : "");

	ikev2_build_inner(&rsp, ctx->plain, sizeof(ctx->plain));
	ikev2_put_id(&rsp, IKEV2_PLD_IDR, IKEV2_ID_IPV4_ADDR, idr + 4, 4);
	ikev2_put_auth(&rsp, IKEV2_AUTH_PSK, myauth, alen);
	OPENSSL_cleanse(myauth, sizeof(myauth));
	if (ctx->cfg.auth_lifetime) {
		/* RFC 4478: reauthenticate before this many seconds */
		uint32_t secs = htonl(ctx->cfg.auth_lifetime);

		ikev2_put_notify(&rsp, IKEV2_PROTO_NONE, 0, 0,
				 IKEV2_N_AUTH_LIFETIME, &secs, sizeof(secs));
	}
	if (ikev2_msg_find(m, IKEV2_PLD_SA, 0) >= 0) {
		struct child_req rq = {
			.ni = sa->ni, .ni_len = sa->ni_len,
			.nr = sa->nr, .nr_len = IKE_NONCE_LEN,
			.ke_group = IKEV2_KE_ABSENT,
			.prop_flags = IKEV2_PROP_IKE_AUTH,
		};

		c = make_child(ctx, sa, m, &rq, &rsp);
		if (c) {
			ikev2_put_sa(&rsp, &c->prop, ntohl(c->spi_in));
			put_child_ts(&rsp, c, false);
		}
	}
	send_response(ctx, sa, IKEV2_EXCH_IKE_AUTH, h->msgid, &rsp);
	sa_free_init(sa);	/* AUTH is done: the INIT copies are not needed */
	if (c || sa->initial_contact)
		sa_replace_older(ctx, sa);
}
