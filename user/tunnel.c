// SPDX-License-Identifier: GPL-2.0
/*
 * tunnel.c - the kernel programming behind the IKE engine.
 *
 * Site isolation: each site with a tunnel gets an XFRM interface (if_id =
 * site id) enslaved to its own VRF (table EG_VRF_TABLE_BASE + site id). Its
 * SAs and policies carry the if_id, so two sites with the same inner network
 * never meet: their policies differ by if_id, their routes live in different
 * tables, and a reply leaves through the VRF it arrived in.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/xfrm.h>
#include <openssl/crypto.h>

#include "datapath.h"
#include "evloop.h"
#include "ike.h"
#include "health.h"
#include "ipsecd.h"
#include "link.h"
#include "log.h"
#include "policy.h"
#include "sockets.h"
#include "tunnel.h"
#include "xfrm.h"

#define REPLAY_WINDOW	128

/* Sites with at least one Child SA: their links exist. */
struct site_ref {
	int64_t site_id;
	unsigned children;
	int xfrmi_ifindex;
	uint32_t slot;		/* the site's counter slot (inner program) */
	struct site_ref *next;
};

struct eg_tunnels {
	struct ipsecd *d;
	struct ike_ctx *ike;
	struct eg_xfrm *x;		/* requests */
	struct eg_xfrm *mon;		/* expiry and NAT mapping events */
	struct eg_pol_tab *pol;		/* policy and route owners */
	struct eg_ev ev500, ev4500, evmon;
	struct eg_ev evwork;		/* IKE_SA_INIT results from the workers */
	struct site_ref *sites;
	bool in_batch;			/* a save transaction is open */
	bool live;			/* opened: the saved SAs are ours */
	uint8_t buf[65536];
};

/* ---- sockets ---------------------------------------------------------------- */

static void sock_cb(struct eg_ev *ev, uint32_t events)
{
	struct eg_tunnels *t = ev->arg;
	uint16_t lport = ev == &t->ev500 ? 500 : 4500;
	struct sockaddr_in from;
	socklen_t fl;
	ssize_t n;
	int i;

	(void)events;
	/* A bounded batch per wake-up, so the control socket is never starved. */
	for (i = 0; i < 64; i++) {
		fl = sizeof(from);
		n = recvfrom(ev->fd, t->buf, sizeof(t->buf), MSG_TRUNC,
			     (struct sockaddr *)&from, &fl);
		if (n < 0)
			break;
		if ((size_t)n > sizeof(t->buf) || fl != sizeof(from))
			continue;	/* larger than any IKE message we accept */
		ike_input(t->ike, lport, from.sin_addr.s_addr, ntohs(from.sin_port),
			  t->buf, n);
	}
}

static int env_send(void *arg, uint16_t local_port, uint32_t addr, uint16_t port,
		    const uint8_t *buf, size_t len)
{
	struct eg_tunnels *t = arg;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = addr };
	int fd = local_port == 500 ? t->ev500.fd : t->ev4500.fd;

	if (sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return 0;
}

/* ---- store and POP ---------------------------------------------------------- */

static int env_site_by_addr(void *arg, uint32_t addr, struct eg_site_rec *s)
{
	struct eg_tunnels *t = arg;
	struct eg_site ds;
	struct eg_err err;
	int rc;

	/* the XDP map first: a stranger costs no store lookup */
	rc = eg_dp_site_lookup(t->d->dp, addr, &ds);
	if (rc)
		return rc;
	if (!(ds.flags & EG_SITE_ENABLED))
		return -EPERM;
	rc = eg_site_get_by_id(t->d->st, ds.site_id, s, &err);
	if (rc)
		return rc;
	return s->enabled ? 0 : -EPERM;
}

static int env_site_psk(void *arg, int64_t site_id, uint8_t *psk, size_t *len)
{
	struct eg_tunnels *t = arg;
	struct eg_err err;

	return eg_site_psk_get(t->d->st, site_id, psk, len, &err);
}

static bool env_accepting(void *arg)
{
	struct eg_tunnels *t = arg;
	struct eg_pop_rec p;
	struct eg_err err;

	if (!t->d->pop_name || eg_pop_get(t->d->st, t->d->pop_name, &p, &err))
		return true;	/* no POP configured: nothing to drain */
	return p.accepting;
}

/* Downstream services of the site's license healthy (health.h)? */
static int env_site_admit(void *arg, enum eg_license lic, char *why, size_t cap)
{
	struct eg_tunnels *t = arg;

	return eg_health_site_ok(t->d->health, lic, why, cap) ? 0 : -EAGAIN;
}

static uint32_t probe_ip(struct eg_tunnels *t)
{
	struct eg_pop_rec p;
	struct eg_err err;

	if (!t->d->pop_name || eg_pop_get(t->d->st, t->d->pop_name, &p, &err))
		return 0;
	return p.probe_ip;
}

static int env_spi_alloc(void *arg, const struct ike_sa *sa, uint32_t *spi)
{
	struct eg_tunnels *t = arg;

	(void)sa;
	/* Random above the index bits; the index free in eg_spis. */
	return eg_dp_spi_pick(t->d->dp, spi);
}

/* Inbound IKE and ESP of the site, from the XDP counters (liveness). */
static int env_site_rx(void *arg, const struct ike_sa *sa, uint64_t *pkts)
{
	struct eg_tunnels *t = arg;
	struct eg_site_ctr c;
	int rc = eg_dp_site_counters(t->d->dp, sa->peer_addr, &c);

	if (!rc)
		*pkts = c.ike_pkts + c.esp_pkts;
	return rc;
}

/* ---- the inner program's view of a site ---------------------------------- */

static void isite_fill(struct eg_tunnels *t, const struct eg_site_rec *s,
		       uint32_t slot, struct eg_isite *c)
{
	unsigned i;

	memset(c, 0, sizeof(*c));
	c->site_id = (uint32_t)s->id;
	c->slot = slot;
	c->flags = s->license == EG_LIC_CLOUD_FIREWALL ? EG_LIC_WEB | EG_LIC_FW :
							 EG_LIC_WEB;
	c->flow_cap = s->flow_cap;
	c->dev_cap = s->device_cap;
	c->probe_ip = probe_ip(t);
	for (i = 0; i < s->n_ports && i < EG_MAX_CPORTS; i++)
		c->ports[i] = s->ports[i];
	c->n_ports = i;
}

void eg_tunnels_site_changed(struct eg_tunnels *t, const struct eg_site_rec *s)
{
	struct eg_isite c;
	struct eg_site ds;

	if (eg_dp_site_lookup(t->d->dp, s->source_ip, &ds))
		return;
	isite_fill(t, s, ds.slot, &c);
	eg_dp_inner_update(t->d->dp, (uint32_t)s->id, &c);
}

/* ---- kernel ------------------------------------------------------------------ */

static struct site_ref *site_ref(struct eg_tunnels *t, int64_t id)
{
	struct site_ref *r;

	for (r = t->sites; r; r = r->next)
		if (r->site_id == id)
			return r;
	return NULL;
}

static uint32_t site_table(int64_t site_id)
{
	return EG_VRF_TABLE_BASE + (uint32_t)site_id;
}

/* Fill the algorithm part of an SA from the negotiated proposal. */
static int sa_algs(struct eg_xfrm_sa *x, const struct ikev2_choice *p,
		   const uint8_t *ekey, size_t elen, const uint8_t *akey,
		   size_t alen)
{
	static const struct { uint16_t id; const char *name; unsigned bits; } integ[] = {
		{ IKE_AUTH_HMAC_SHA1_96, "hmac(sha1)", 96 },
		{ IKE_AUTH_HMAC_SHA2_256_128, "hmac(sha256)", 128 },
		{ IKE_AUTH_HMAC_SHA2_384_192, "hmac(sha384)", 192 },
		{ IKE_AUTH_HMAC_SHA2_512_256, "hmac(sha512)", 256 },
	};
	unsigned i;

	if (elen > sizeof(x->enc_key) || alen > sizeof(x->auth_key))
		return -EINVAL;
	switch (p->encr) {
	case IKE_ENCR_AES_GCM_16:
		x->kind = EG_XFRM_AEAD;
		snprintf(x->enc_name, sizeof(x->enc_name), "rfc4106(gcm(aes))");
		x->icv_bits = 128;
		break;
	case IKE_ENCR_AES_CBC:
		x->kind = EG_XFRM_CRYPT_AUTH;
		snprintf(x->enc_name, sizeof(x->enc_name), "cbc(aes)");
		break;
	case IKE_ENCR_NULL:
		x->kind = EG_XFRM_CRYPT_AUTH;
		snprintf(x->enc_name, sizeof(x->enc_name), "ecb(cipher_null)");
		break;
	default:
		return -EOPNOTSUPP;
	}
	memcpy(x->enc_key, ekey, elen);
	x->enc_key_len = elen;
	if (x->kind == EG_XFRM_AEAD)
		return 0;
	for (i = 0; i < sizeof(integ) / sizeof(integ[0]); i++) {
		if (integ[i].id != p->integ)
			continue;
		snprintf(x->auth_name, sizeof(x->auth_name), "%s", integ[i].name);
		x->auth_trunc_bits = integ[i].bits;
		memcpy(x->auth_key, akey, alen);
		x->auth_key_len = alen;
		return 0;
	}
	return -EOPNOTSUPP;
}

static struct eg_pol_key pol_key(const struct ike_sa *sa, const struct ike_child *c,
				 unsigned i, unsigned j)
{
	return (struct eg_pol_key){
		.if_id = (uint32_t)sa->site_id,
		.peer_net = c->tsi[i].addr, .peer_len = c->tsi[i].len,
		.our_net = c->tsr[j].addr, .our_len = c->tsr[j].len,
	};
}

/*
 * The policies and routes of a Child SA: references, n_pol of the pairs
 * and n_rt of the routes taken (in that order), so that an undo releases
 * exactly what was taken.
 */
static void refs_put(struct eg_tunnels *t, const struct ike_sa *sa,
		     const struct ike_child *c, unsigned n_pol, unsigned n_rt,
		     int ifindex)
{
	unsigned i, j, k = 0;

	for (i = 0; i < c->n_tsi; i++)
		for (j = 0; j < c->n_tsr; j++, k++)
			if (k < n_pol) {
				struct eg_pol_key pk = pol_key(sa, c, i, j);

				eg_pol_put(t->pol, &pk, c->reqid);
			}
	for (i = 0; i < c->n_tsi && i < n_rt; i++)
		eg_route_put(t->pol, site_table(sa->site_id), c->tsi[i].addr,
			     c->tsi[i].len, ifindex);
}

static int refs_get(struct eg_tunnels *t, const struct ike_sa *sa,
		    const struct ike_child *c, int ifindex, bool resume)
{
	unsigned i, j, n_pol = 0, n_rt = 0;
	int rc = 0;

	for (i = 0; i < c->n_tsi && !rc; i++)
		for (j = 0; j < c->n_tsr && !rc; j++) {
			struct eg_pol_key pk = pol_key(sa, c, i, j);

			rc = eg_pol_get(t->pol, &pk, c->reqid, sa->peer_addr,
					t->d->local_addr, resume);
			n_pol += !rc;
		}
	for (i = 0; i < c->n_tsi && !rc; i++) {
		rc = eg_route_get(t->pol, site_table(sa->site_id), c->tsi[i].addr,
				  c->tsi[i].len, ifindex, resume);
		n_rt += !rc;
	}
	if (rc) {
		pr_warn("site '%s': policies/routes of reqid %u: %s", sa->site_name,
			c->reqid, strerror(-rc));
		refs_put(t, sa, c, n_pol, n_rt, ifindex);
	}
	return rc;
}

static void site_unref(struct eg_tunnels *t, struct site_ref *r)
{
	struct site_ref **pp;

	if (--r->children)
		return;
	eg_dp_inner_detach(t->d->dp, r->xfrmi_ifindex, r->slot);
	eg_site_link_del((uint32_t)r->site_id);
	for (pp = &t->sites; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	free(r);
}

/* The site's XFRM interface and VRF (existing ones kept: a restart). */
static struct site_ref *site_ref_get(struct eg_tunnels *t, const struct ike_sa *sa,
				     bool resume)
{
	struct site_ref *r = site_ref(t, sa->site_id);
	struct eg_site_rec site;
	struct eg_isite ic;
	struct eg_site ds;
	struct eg_err err;
	char xi[IFNAMSIZ];
	int rc;

	if (r) {
		r->children++;
		return r;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	rc = eg_dp_site_lookup(t->d->dp, sa->peer_addr, &ds);
	if (!rc)
		rc = eg_site_get_by_id(t->d->st, sa->site_id, &site, &err);
	if (rc)
		goto fail;
	r->slot = ds.slot;
	r->site_id = sa->site_id;
	snprintf(xi, sizeof(xi), EG_XFRMI_FMT, (uint32_t)sa->site_id);
	rc = eg_site_link_add((uint32_t)sa->site_id, site_table(sa->site_id),
			      probe_ip(t), &r->xfrmi_ifindex);
	if (rc == -EEXIST && (r->xfrmi_ifindex = eg_link_ifindex(xi)) > 0) {
		/* kept across a restart, or left by a daemon that died */
		if (!resume)
			pr_info("site '%s': reusing its xfrm interface %s",
				sa->site_name, xi);
		rc = 0;
	}
	if (rc) {
		pr_warn("site '%s': xfrm interface/VRF: %s (%s)", sa->site_name,
			strerror(-rc), eg_link_errmsg());
		eg_site_clear(&site);
		goto fail;
	}
	/* limits and traffic classes on the decrypted traffic */
	isite_fill(t, &site, r->slot, &ic);
	eg_site_clear(&site);
	rc = eg_dp_inner_attach(t->d->dp, r->xfrmi_ifindex, &ic, resume);
	if (rc) {
		pr_warn("site '%s': inner program on its xfrm interface: %s",
			sa->site_name, strerror(-rc));
		eg_site_link_del((uint32_t)sa->site_id);
		goto fail;
	}
	r->children = 1;
	r->next = t->sites;
	t->sites = r;
	return r;
fail:
	free(r);
	return NULL;
}

static void env_child_remove(void *arg, const struct ike_sa *sa,
			     const struct ike_child *c)
{
	struct eg_tunnels *t = arg;
	struct site_ref *r = site_ref(t, sa->site_id);

	eg_dp_spi_del(t->d->dp, c->spi_in);
	/* what this Child SA owns: its two SAs, its references */
	eg_xfrm_sa_del(t->x, c->spi_in, t->d->local_addr);
	if (!c->out_keys)	/* else never put in */
		eg_xfrm_sa_del(t->x, c->spi_out, sa->peer_addr);
	if (!r)
		return;
	refs_put(t, sa, c, ~0u, ~0u, r->xfrmi_ifindex);
	site_unref(t, r);
}

static void sa_pair(struct eg_tunnels *t, const struct ike_sa *sa,
		    const struct ike_child *c, struct eg_xfrm_sa *in,
		    struct eg_xfrm_sa *out)
{
	uint64_t soft = (c->soft_at - c->created) / 1000;
	uint64_t hard = (c->hard_at - c->created) / 1000;

	/* inbound: peer (its NAT) -> us; outbound: us -> peer */
	in->spi = c->spi_in;
	in->saddr = sa->peer_addr;
	in->daddr = t->d->local_addr;
	in->encap_sport = sa->peer_port;
	in->encap_dport = 4500;
	out->spi = c->spi_out;
	out->saddr = t->d->local_addr;
	out->daddr = sa->peer_addr;
	out->encap_sport = 4500;
	out->encap_dport = sa->peer_port;
	in->reqid = out->reqid = c->reqid;
	in->if_id = out->if_id = (uint32_t)sa->site_id;
	in->replay_window = out->replay_window = REPLAY_WINDOW;
	/* the kernel's soft limit wakes our rekey (XFRM_MSG_EXPIRE) */
	in->soft_time = out->soft_time = soft ? soft : 1;
	in->hard_time = out->hard_time = hard > soft ? hard : soft + 1;
}

/* The outbound half of a Child SA the responder of a rekey held back. */
static int child_install_out(struct eg_tunnels *t, const struct ike_sa *sa,
			     const struct ike_child *c,
			     const struct ike_child_keys *k)
{
	struct eg_xfrm_sa in = { 0 }, out = { 0 };
	int rc;

	sa_pair(t, sa, c, &in, &out);
	rc = sa_algs(&out, &c->prop, k->encr_r, k->encr_len, k->integ_r,
		     k->integ_len);
	if (!rc && (rc = eg_xfrm_sa_add(t->x, &out)))
		pr_warn("site '%s': outbound SA: %s (%s)", sa->site_name, strerror(-rc),
			eg_xfrm_errmsg(t->x));
	eg_xfrm_sa_wipe(&out);
	return rc;
}

static int env_child_install(void *arg, const struct ike_sa *sa,
			     const struct ike_child *c,
			     const struct ike_child_keys *k, unsigned dirs)
{
	struct eg_tunnels *t = arg;
	struct eg_xfrm_sa in = { 0 }, out = { 0 };
	struct site_ref *r;
	bool in_ok = false, out_ok = false;
	int rc;

	if (!(dirs & IKE_DIR_IN))
		return child_install_out(t, sa, c, k);
	r = site_ref_get(t, sa, false);
	if (!r)
		return -EIO;
	sa_pair(t, sa, c, &in, &out);
	rc = sa_algs(&in, &c->prop, k->encr_i, k->encr_len, k->integ_i, k->integ_len);
	if (!rc && (dirs & IKE_DIR_OUT))
		rc = sa_algs(&out, &c->prop, k->encr_r, k->encr_len, k->integ_r,
			     k->integ_len);
	if (!rc && !(rc = eg_xfrm_sa_add(t->x, &in)))
		in_ok = true;
	else if (rc)
		pr_warn("site '%s': inbound SA: %s (%s)", sa->site_name, strerror(-rc),
			eg_xfrm_errmsg(t->x));
	if (!rc && (dirs & IKE_DIR_OUT) && !(rc = eg_xfrm_sa_add(t->x, &out)))
		out_ok = true;
	else if (rc && in_ok)
		pr_warn("site '%s': outbound SA: %s (%s)", sa->site_name, strerror(-rc),
			eg_xfrm_errmsg(t->x));
	eg_xfrm_sa_wipe(&in);
	eg_xfrm_sa_wipe(&out);
	if (!rc)
		rc = refs_get(t, sa, c, r->xfrmi_ifindex, false);
	if (!rc) {
		rc = eg_dp_spi_add(t->d->dp, c->spi_in, sa->peer_addr);
		if (rc) {
			pr_warn("site '%s': SPI into XDP map: %s", sa->site_name,
				strerror(-rc));
			refs_put(t, sa, c, ~0u, ~0u, r->xfrmi_ifindex);
		}
	}
	if (rc) {
		/* undo exactly what went in: never another's SA or policy */
		if (in_ok)
			eg_xfrm_sa_del(t->x, c->spi_in, t->d->local_addr);
		if (out_ok)
			eg_xfrm_sa_del(t->x, c->spi_out, sa->peer_addr);
		site_unref(t, r);
	}
	return rc;
}

/*
 * A resumed Child SA (restart): the kernel must still have both of its
 * SAs; its policies, routes, link and XDP SPI are taken over as they are.
 */
static int env_child_adopt(void *arg, const struct ike_sa *sa,
			   const struct ike_child *c)
{
	struct eg_tunnels *t = arg;
	struct eg_xfrm_sa_stats xs;
	struct site_ref *r;
	int rc;

	/* a held-back outbound half (rekey responder) is not there yet */
	if ((rc = eg_xfrm_sa_stats(t->x, c->spi_in, t->d->local_addr, &xs)) ||
	    (!c->out_keys &&
	     (rc = eg_xfrm_sa_stats(t->x, c->spi_out, sa->peer_addr, &xs)))) {
		/* half a pair is of no use: the rest goes too */
		eg_xfrm_sa_del(t->x, c->spi_in, t->d->local_addr);
		if (!c->out_keys)
			eg_xfrm_sa_del(t->x, c->spi_out, sa->peer_addr);
		return rc;
	}
	r = site_ref_get(t, sa, true);
	if (!r)
		return -EIO;
	rc = refs_get(t, sa, c, r->xfrmi_ifindex, true);
	if (!rc && (rc = eg_dp_spi_add(t->d->dp, c->spi_in, sa->peer_addr)))
		refs_put(t, sa, c, ~0u, ~0u, r->xfrmi_ifindex);
	if (rc)
		site_unref(t, r);
	return rc;
}

/* NAT rebinding: the SAs follow the peer's new port (2.23). */
static void env_peer_moved(void *arg, const struct ike_sa *sa)
{
	struct eg_tunnels *t = arg;
	unsigned i;
	int rc;

	for (i = 0; i < IKE_CHILD_SLOTS; i++) {
		const struct ike_child *c = sa->child[i];

		if (!c)
			continue;
		rc = eg_xfrm_sa_set_encap(t->x, c->spi_in, t->d->local_addr,
					  sa->peer_port, 4500);
		if (!rc)
			rc = eg_xfrm_sa_set_encap(t->x, c->spi_out, sa->peer_addr,
						  4500, sa->peer_port);
		if (rc)
			pr_warn("site '%s': Child SA %08x to port %u: %s (%s)",
				sa->site_name, ntohl(c->spi_in), sa->peer_port,
				strerror(-rc), eg_xfrm_errmsg(t->x));
		else
			pr_info("site '%s': Child SA %08x/%08x now via port %u",
				sa->site_name, ntohl(c->spi_in), ntohl(c->spi_out),
				sa->peer_port);
	}
}

/* ---- kernel events: lifetimes, NAT mappings ------------------------------------ */

static void xfrm_event(const struct eg_xfrm_expire *ev, void *arg)
{
	struct eg_tunnels *t = arg;

	if (ev->mapping)
		ike_child_mapping(t->ike, ev->spi, ev->new_saddr, ev->new_sport);
	else
		ike_child_expire(t->ike, ev->spi, ev->hard);
}

static void workers_cb(struct eg_ev *ev, uint32_t events)
{
	struct eg_tunnels *t = ev->arg;

	(void)events;
	ike_workers_poll(t->ike);
}

static void monitor_cb(struct eg_ev *ev, uint32_t events)
{
	struct eg_tunnels *t = ev->arg;
	int n;

	(void)events;
	n = eg_xfrm_monitor_read(t->mon, xfrm_event, t);
	if (n == -ENOBUFS)
		pr_warn("XFRM events lost (socket overrun): the timers of the IKE engine still apply");
}

/* ---- sockets, bound before anything else ---------------------------------------- */

/* ---- persistence: a restart keeps the tunnels ------------------------------------ */

_Static_assert(IKE_PERSIST_MAX == EG_IKE_REC_MAX, "one bound for a saved IKE SA");

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int env_sa_save(void *arg, const uint8_t spi[IKE_SPI_LEN], int64_t site_id,
		       const uint8_t *rec, size_t len)
{
	struct eg_tunnels *t = arg;
	struct eg_err err;
	int rc = eg_ike_rec_put(t->d->st, spi, site_id, wall_ms(), rec, len, &err);
	unsigned long long v = 0;
	unsigned i;

	if (rc) {
		for (i = 0; i < IKE_SPI_LEN; i++)
			v = v << 8 | spi[i];
		pr_warn("%s IKE SA %016llx: %s", rec ? "saving" : "forgetting", v, err.msg);
	}
	return rc;
}

/* One transaction per flush: a thousand SAs saved cost one fsync. */
static void env_save_batch(void *arg, bool begin)
{
	struct eg_tunnels *t = arg;
	struct eg_err err;

	if (begin) {
		t->in_batch = !eg_store_begin(t->d->st, &err);
	} else if (t->in_batch) {
		if (eg_store_commit(t->d->st, &err))
			pr_warn("saving IKE SAs: %s", err.msg);
		t->in_batch = false;
	}
}

struct saved { uint8_t *rec; size_t len; int64_t saved_at; uint8_t spi[IKE_SPI_LEN];
	       struct saved *next; };

static int collect(const uint8_t *spi, int64_t site_id, int64_t saved_at,
		   const uint8_t *rec, size_t len, void *arg)
{
	struct saved **list = arg, *s = calloc(1, sizeof(*s));

	(void)site_id;
	if (!s || !(s->rec = malloc(len))) {
		free(s);
		return -ENOMEM;
	}
	memcpy(s->rec, rec, len);
	memcpy(s->spi, spi, IKE_SPI_LEN);
	s->len = len;
	s->saved_at = saved_at;
	s->next = *list;
	*list = s;
	return 0;
}

/* Bring back the IKE SAs the last ipsecd left; forget those that fail. */
static void resume_all(struct eg_tunnels *t)
{
	struct saved *list = NULL, *s;
	unsigned ok = 0, bad = 0;
	int64_t now = wall_ms();
	struct eg_err err;

	if (eg_ike_rec_foreach(t->d->st, collect, &list, &err))
		pr_warn("reading the saved IKE SAs: %s", err.msg);
	while ((s = list)) {
		list = s->next;
		if (ike_resume(t->ike, s->rec, s->len,
			       now > s->saved_at ? (uint64_t)(now - s->saved_at) : 0)) {
			bad++;
			eg_ike_rec_put(t->d->st, s->spi, 0, 0, NULL, 0, &err);
		} else {
			ok++;
		}
		OPENSSL_cleanse(s->rec, s->len);
		free(s->rec);
		free(s);
	}
	if (ok || bad)
		pr_info("%u IKE SA(s) resumed from the last run, %u could not be", ok, bad);
}

struct spi_list {
	uint32_t *v;
	size_t n, cap;
	bool failed;
};

static void spi_collect(const struct ike_sa *sa, void *arg)
{
	struct spi_list *l = arg;
	unsigned i;

	for (i = 0; i < IKE_CHILD_SLOTS; i++) {
		if (!sa->child[i] || l->failed)
			continue;
		if (l->n == l->cap) {
			size_t cap = l->cap ? 2 * l->cap : 64;
			uint32_t *v = realloc(l->v, cap * sizeof(*v));

			if (!v) {
				l->failed = true;
				return;
			}
			l->v = v;
			l->cap = cap;
		}
		l->v[l->n++] = sa->child[i]->spi_in;
	}
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void eg_tunnels_prune_dp(struct eg_tunnels *t, struct eg_dp *dp)
{
	struct spi_list l = { 0 };
	int err;

	if (!dp)
		return;
	if (t)
		ike_foreach(t->ike, spi_collect, &l);
	if (l.failed) {
		pr_warn("no memory to list the SPIs: carried-over eg_spis entries stay");
	} else {
		if (l.n)
			qsort(l.v, l.n, sizeof(*l.v), u32_cmp);
		err = eg_dp_carry_prune(dp, l.v, l.n);
		if (err)
			pr_warn("pruning the carried-over maps: %s", strerror(-err));
	}
	free(l.v);
}

/* ---- life cycle ---------------------------------------------------------------- */

int eg_tunnels_open(struct eg_tunnels **out, struct ipsecd *d)
{
	struct eg_tunnels *t;
	struct ike_env env = {
		.local_addr = d->local_addr, .send = env_send,
		.site_by_addr = env_site_by_addr, .site_psk = env_site_psk,
		.accepting = env_accepting, .site_admit = env_site_admit,
		.child_install = env_child_install,
		.child_remove = env_child_remove, .spi_alloc = env_spi_alloc,
		.peer_moved = env_peer_moved, .site_rx = env_site_rx,
		.sa_save = env_sa_save, .save_batch = env_save_batch,
		.child_adopt = env_child_adopt,
	};
	char ip[INET_ADDRSTRLEN];
	int rc;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->d = d;
	t->ev500.fd = t->ev4500.fd = t->evmon.fd = t->evwork.fd = -1;
	env.arg = t;
	rc = eg_xfrm_open(&t->x);
	if (!rc)
		rc = eg_pol_open(&t->pol, t->x);
	if (!rc)
		rc = eg_xfrm_monitor_open(&t->mon);
	if (rc) {
		pr_err("netlink XFRM: %s", strerror(-rc));
		goto fail;
	}
	t->evmon.fd = eg_xfrm_monitor_fd(t->mon);
	t->evmon.cb = monitor_cb;
	t->evmon.arg = t;
	if ((rc = eg_ev_add(d->epfd, &t->evmon, EPOLLIN)))
		goto fail;
	rc = eg_l3mdev_accept_enable();
	if (rc)
		pr_warn("l3mdev_accept sysctls: %s", strerror(-rc));
	rc = ike_ctx_new(&t->ike, &env, &d->ike_cfg);
	if (rc)
		goto fail;
	t->evwork.fd = ike_worker_fd(t->ike);
	t->evwork.cb = workers_cb;
	t->evwork.arg = t;
	if (t->evwork.fd >= 0 && (rc = eg_ev_add(d->epfd, &t->evwork, EPOLLIN))) {
		t->evwork.fd = -1;
		goto fail;
	}
	if (d->ike_fd[0] < 0 && (rc = eg_sockets_bind(d)))
		goto fail;
	/* the sockets stay d's: closed last, after everything else */
	t->ev500.fd = d->ike_fd[0];
	t->ev4500.fd = d->ike_fd[1];
	t->ev500.cb = t->ev4500.cb = sock_cb;
	t->ev500.arg = t->ev4500.arg = t;
	if ((rc = eg_ev_add(d->epfd, &t->ev500, EPOLLIN)) ||
	    (rc = eg_ev_add(d->epfd, &t->ev4500, EPOLLIN)))
		goto fail;
	pr_info("IKEv2 responder on %s:500 and :4500 (NAT-T)",
		inet_ntop(AF_INET, &d->local_addr, ip, sizeof(ip)));
	resume_all(t);
	t->live = true;
	*out = t;
	return 0;
fail:
	eg_tunnels_close(t, true);
	return rc;
}

void eg_tunnels_close(struct eg_tunnels *t, bool teardown)
{
	struct eg_err err;

	if (!t)
		return;
	if (t->evwork.fd >= 0)
		eg_ev_del(t->d->epfd, &t->evwork);	/* before the pool closes it */
	ike_ctx_free(t->ike, teardown);
	if (teardown && t->live && eg_ike_rec_clear(t->d->st, &err))
		pr_warn("forgetting the saved IKE SAs: %s", err.msg);
	if (t->ev500.fd >= 0)
		eg_ev_del(t->d->epfd, &t->ev500);
	if (t->ev4500.fd >= 0)
		eg_ev_del(t->d->epfd, &t->ev4500);
	if (t->evmon.fd >= 0)
		eg_ev_del(t->d->epfd, &t->evmon);
	while (t->sites) {
		struct site_ref *r = t->sites;

		t->sites = r->next;
		if (teardown) {
			eg_dp_inner_detach(t->d->dp, r->xfrmi_ifindex, r->slot);
			eg_site_link_del((uint32_t)r->site_id);
		}
		free(r);
	}
	eg_pol_close(t->pol);
	eg_xfrm_close(t->mon);
	eg_xfrm_close(t->x);
	free(t);
}

struct ike_ctx *eg_tunnels_ike(struct eg_tunnels *t)
{
	return t->ike;
}

void eg_tunnels_tick(struct eg_tunnels *t)
{
	ike_tick(t->ike);
}

void eg_tunnels_site_down(struct eg_tunnels *t, int64_t site_id, const char *why)
{
	unsigned n = ike_site_down(t->ike, site_id, why);

	if (n)
		pr_info("site %lld: %u IKE SA(s) deleted (%s)", (long long)site_id, n, why);
}

struct site_ids {
	int64_t *v;
	size_t n, cap;
};

static void collect_site(const struct ike_sa *sa, void *arg)
{
	struct site_ids *l = arg;
	int64_t *p;

	if (l->n && l->v[l->n - 1] == sa->site_id)
		return;		/* a site's SAs are often neighbours */
	if (l->n == l->cap) {
		p = realloc(l->v, (l->cap ? l->cap * 2 : 64) * sizeof(*p));
		if (!p)
			return;
		l->v = p;
		l->cap = l->cap ? l->cap * 2 : 64;
	}
	l->v[l->n++] = sa->site_id;
}

unsigned eg_tunnels_service_down(struct eg_tunnels *t, enum eg_license service,
				 const char *why)
{
	struct site_ids l = { 0 };
	struct eg_site_rec s;
	struct eg_err err;
	unsigned n = 0;
	size_t i;

	/* first the list, then the DELETEs: they change what is walked */
	ike_foreach(t->ike, collect_site, &l);
	for (i = 0; i < l.n; i++) {
		if (i && l.v[i] == l.v[i - 1])
			continue;
		if (eg_site_get_by_id(t->d->st, l.v[i], &s, &err))
			continue;
		/* every site needs the web gateway; only cloud-firewall
		 * sites need the firewall */
		if (service == EG_LIC_WEB_GATEWAY || s.license == service)
			n += ike_site_down(t->ike, s.id, why);
		eg_site_clear(&s);
	}
	free(l.v);
	return n;
}

int eg_tunnels_sa_stats(struct eg_tunnels *t, uint32_t spi, uint32_t daddr,
			uint64_t *bytes, uint64_t *packets)
{
	struct eg_xfrm_sa_stats st;
	int rc = eg_xfrm_sa_stats(t->x, spi, daddr, &st);

	if (rc)
		return rc;
	*bytes = st.bytes;
	*packets = st.packets;
	return 0;
}
