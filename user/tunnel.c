// SPDX-License-Identifier: GPL-2.0
/*
 * tunnel.c - sockets and kernel programming behind the IKE engine.
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
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/ipsec.h>
#include <linux/xfrm.h>
#include <openssl/crypto.h>

#include "datapath.h"
#include "evloop.h"
#include "ike.h"
#include "ipsecd.h"
#include "link.h"
#include "log.h"
#include "tunnel.h"
#include "xfrm.h"

#ifndef UDP_ENCAP
#define UDP_ENCAP 100
#endif
#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2
#endif

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
	struct eg_xfrm *x;
	struct eg_ev ev500, ev4500;
	struct site_ref *sites;
	uint8_t buf[65536];
};

/* ---- sockets ---------------------------------------------------------------- */

/* IKE traffic itself must never be caught by an IPsec policy. */
static int bypass_policy(int fd)
{
	struct xfrm_userpolicy_info pol;
	int dir;

	for (dir = XFRM_POLICY_IN; dir <= XFRM_POLICY_OUT; dir++) {
		memset(&pol, 0, sizeof(pol));
		pol.action = XFRM_POLICY_ALLOW;
		pol.sel.family = AF_INET;
		pol.dir = dir;
		pol.lft.soft_byte_limit = XFRM_INF;
		pol.lft.hard_byte_limit = XFRM_INF;
		pol.lft.soft_packet_limit = XFRM_INF;
		pol.lft.hard_packet_limit = XFRM_INF;
		if (setsockopt(fd, IPPROTO_IP, IP_XFRM_POLICY, &pol, sizeof(pol)))
			return -errno;
	}
	return 0;
}

static int udp_socket(uint32_t addr, uint16_t port, bool encap)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = addr };
	int fd, one = 1, type = UDP_ENCAP_ESPINUDP, err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (encap && setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, sizeof(type)))) {
		err = -errno;
		close(fd);
		return err;
	}
	err = bypass_policy(fd);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

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

static bool env_accepting(void *arg)
{
	struct eg_tunnels *t = arg;
	struct eg_pop_rec p;
	struct eg_err err;

	if (!t->d->pop_name || eg_pop_get(t->d->st, t->d->pop_name, &p, &err))
		return true;	/* no POP configured: nothing to drain */
	return p.accepting;
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
	uint32_t v;
	int rc;

	(void)arg;
	(void)sa;
	/* Random; a collision makes the state add fail with EEXIST. */
	rc = ike_spi_esp(&v);
	if (!rc)
		*spi = htonl(v);
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

static uint32_t prefix_len(const struct ikev2_ts *ts)
{
	uint32_t span = ntohl(ts->v4.end) - ntohl(ts->v4.start);
	uint32_t len = 32;

	while (span) {
		span >>= 1;
		len--;
	}
	return len;
}

/* in/fwd/out policies for every (TSi, TSr) pair of the child. */
static int policies(struct eg_tunnels *t, const struct ike_sa *sa,
		    const struct ike_child *c, bool add)
{
	uint32_t local = t->d->local_addr;
	unsigned i, j;
	int rc = 0, err;

	for (i = 0; i < c->n_tsi; i++) {
		for (j = 0; j < c->n_tsr; j++) {
			struct eg_xfrm_policy p = {
				.reqid = c->reqid, .if_id = (uint32_t)sa->site_id,
				.priority = 1000,
			};
			int dir;

			for (dir = XFRM_POLICY_IN; dir <= XFRM_POLICY_FWD; dir++) {
				bool out = dir == XFRM_POLICY_OUT;

				p.dir = dir;
				p.sel_src = out ? c->tsr[j].v4.start : c->tsi[i].v4.start;
				p.sel_src_len = prefix_len(out ? &c->tsr[j] : &c->tsi[i]);
				p.sel_dst = out ? c->tsi[i].v4.start : c->tsr[j].v4.start;
				p.sel_dst_len = prefix_len(out ? &c->tsi[i] : &c->tsr[j]);
				p.tmpl_saddr = out ? local : sa->peer_addr;
				p.tmpl_daddr = out ? sa->peer_addr : local;
				err = add ? eg_xfrm_policy_add(t->x, &p) :
					    eg_xfrm_policy_del(t->x, &p);
				if (err && !rc) {
					pr_warn("site '%s': policy %s dir %d: %s (%s)",
						sa->site_name, add ? "add" : "del", dir,
						strerror(-err), eg_xfrm_errmsg(t->x));
					rc = err;
				}
			}
		}
	}
	return rc;
}

static void routes(struct eg_tunnels *t, const struct ike_child *c,
		   int64_t site_id, int ifindex, bool add)
{
	unsigned i;

	(void)t;
	for (i = 0; i < c->n_tsi; i++) {
		if (add)
			eg_route_add(site_table(site_id), c->tsi[i].v4.start,
				     prefix_len(&c->tsi[i]), ifindex, 0);
		else
			eg_route_del(site_table(site_id), c->tsi[i].v4.start,
				     prefix_len(&c->tsi[i]), ifindex, 0);
	}
}

static void env_child_remove(void *arg, const struct ike_sa *sa,
			     const struct ike_child *c)
{
	struct eg_tunnels *t = arg;
	struct site_ref *r = site_ref(t, sa->site_id), **pp;

	eg_dp_spi_del(t->d->dp, c->spi_in);
	/* a Child SA replaced by its rekey leaves the policies to it */
	if (c->owns_pol)
		policies(t, sa, c, false);
	eg_xfrm_sa_del(t->x, c->spi_in, t->d->local_addr);
	eg_xfrm_sa_del(t->x, c->spi_out, sa->peer_addr);
	if (!r)
		return;
	if (c->owns_pol)
		routes(t, c, sa->site_id, r->xfrmi_ifindex, false);
	if (--r->children)
		return;
	eg_dp_inner_detach(t->d->dp, r->xfrmi_ifindex, r->slot);
	eg_site_link_del((uint32_t)sa->site_id);
	for (pp = &t->sites; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	free(r);
}

static int env_child_install(void *arg, const struct ike_sa *sa,
			     const struct ike_child *c,
			     const struct ike_child_keys *k)
{
	struct eg_tunnels *t = arg;
	struct site_ref *r = site_ref(t, sa->site_id);
	struct eg_xfrm_sa in = { 0 }, out = { 0 };
	uint32_t local = t->d->local_addr;
	int rc;

	if (!r) {
		struct eg_site_rec site;
		struct eg_isite ic;
		struct eg_site ds;
		struct eg_err err;

		r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		rc = eg_dp_site_lookup(t->d->dp, sa->peer_addr, &ds);
		if (!rc)
			rc = eg_site_get_by_id(t->d->st, sa->site_id, &site, &err);
		if (rc) {
			free(r);
			return rc;
		}
		r->slot = ds.slot;
		rc = eg_site_link_add((uint32_t)sa->site_id, site_table(sa->site_id),
				      probe_ip(t), &r->xfrmi_ifindex);
		if (rc) {
			pr_warn("site '%s': xfrm interface/VRF: %s (%s)", sa->site_name,
				strerror(-rc), eg_link_errmsg());
			eg_site_clear(&site);
			free(r);
			return rc;
		}
		/* limits and traffic classes on the decrypted traffic */
		isite_fill(t, &site, r->slot, &ic);
		eg_site_clear(&site);
		rc = eg_dp_inner_attach(t->d->dp, r->xfrmi_ifindex, &ic);
		if (rc) {
			pr_warn("site '%s': inner program on its xfrm interface: %s",
				sa->site_name, strerror(-rc));
			eg_site_link_del((uint32_t)sa->site_id);
			free(r);
			return rc;
		}
		r->site_id = sa->site_id;
		r->next = t->sites;
		t->sites = r;
	}
	r->children++;

	/* inbound: peer (its NAT) -> us, keys initiator-to-responder */
	in.spi = c->spi_in;
	in.saddr = sa->peer_addr;
	in.daddr = local;
	in.encap_sport = sa->peer_port;
	in.encap_dport = 4500;
	/* outbound: us -> peer */
	out.spi = c->spi_out;
	out.saddr = local;
	out.daddr = sa->peer_addr;
	out.encap_sport = 4500;
	out.encap_dport = sa->peer_port;
	in.reqid = out.reqid = c->reqid;
	in.if_id = out.if_id = (uint32_t)sa->site_id;
	in.replay_window = out.replay_window = REPLAY_WINDOW;
	in.hard_time = out.hard_time = IKE_CHILD_LIFETIME;
	rc = sa_algs(&in, &c->prop, k->encr_i, k->encr_len, k->integ_i, k->integ_len);
	if (!rc)
		rc = sa_algs(&out, &c->prop, k->encr_r, k->encr_len, k->integ_r,
			     k->integ_len);
	if (!rc && (rc = eg_xfrm_sa_add(t->x, &in)))
		pr_warn("site '%s': inbound SA: %s (%s)", sa->site_name, strerror(-rc),
			eg_xfrm_errmsg(t->x));
	if (!rc && (rc = eg_xfrm_sa_add(t->x, &out)))
		pr_warn("site '%s': outbound SA: %s (%s)", sa->site_name, strerror(-rc),
			eg_xfrm_errmsg(t->x));
	eg_xfrm_sa_wipe(&in);
	eg_xfrm_sa_wipe(&out);
	/* a rekey reuses the old Child SA's reqid, policies and routes */
	if (!rc && !c->rekey)
		rc = policies(t, sa, c, true);
	if (!rc) {
		if (!c->rekey)
			routes(t, c, sa->site_id, r->xfrmi_ifindex, true);
		rc = eg_dp_spi_add(t->d->dp, c->spi_in, sa->peer_addr);
		if (rc)
			pr_warn("site '%s': SPI into XDP map: %s", sa->site_name,
				strerror(-rc));
	}
	if (rc) {
		struct ike_child undo = *c;

		undo.owns_pol = !c->rekey;	/* never the old SA's policies */
		env_child_remove(arg, sa, &undo);
	}
	return rc;
}

/* ---- life cycle ---------------------------------------------------------------- */

int eg_tunnels_open(struct eg_tunnels **out, struct ipsecd *d)
{
	struct eg_tunnels *t;
	struct ike_env env = {
		.local_addr = d->local_addr, .send = env_send,
		.site_by_addr = env_site_by_addr, .accepting = env_accepting,
		.child_install = env_child_install,
		.child_remove = env_child_remove, .spi_alloc = env_spi_alloc,
	};
	char ip[INET_ADDRSTRLEN];
	int rc;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->d = d;
	t->ev500.fd = t->ev4500.fd = -1;
	env.arg = t;
	rc = eg_xfrm_open(&t->x);
	if (rc) {
		pr_err("netlink XFRM: %s", strerror(-rc));
		goto fail;
	}
	rc = eg_l3mdev_accept_enable();
	if (rc)
		pr_warn("l3mdev_accept sysctls: %s", strerror(-rc));
	rc = ike_ctx_new(&t->ike, &env);
	if (rc)
		goto fail;
	t->ev500.fd = udp_socket(d->local_addr, 500, false);
	t->ev4500.fd = udp_socket(d->local_addr, 4500, true);
	if (t->ev500.fd < 0 || t->ev4500.fd < 0) {
		rc = t->ev500.fd < 0 ? t->ev500.fd : t->ev4500.fd;
		pr_err("IKE sockets on %s:500/4500: %s",
		       inet_ntop(AF_INET, &d->local_addr, ip, sizeof(ip)), strerror(-rc));
		goto fail;
	}
	t->ev500.cb = t->ev4500.cb = sock_cb;
	t->ev500.arg = t->ev4500.arg = t;
	if ((rc = eg_ev_add(d->epfd, &t->ev500, EPOLLIN)) ||
	    (rc = eg_ev_add(d->epfd, &t->ev4500, EPOLLIN)))
		goto fail;
	pr_info("IKEv2 responder on %s:500 and :4500 (NAT-T)",
		inet_ntop(AF_INET, &d->local_addr, ip, sizeof(ip)));
	*out = t;
	return 0;
fail:
	eg_tunnels_close(t);
	return rc;
}

void eg_tunnels_close(struct eg_tunnels *t)
{
	if (!t)
		return;
	ike_ctx_free(t->ike);
	if (t->ev500.fd >= 0) {
		eg_ev_del(t->d->epfd, &t->ev500);
		close(t->ev500.fd);
	}
	if (t->ev4500.fd >= 0) {
		eg_ev_del(t->d->epfd, &t->ev4500);
		close(t->ev4500.fd);
	}
	while (t->sites) {
		struct site_ref *r = t->sites;

		t->sites = r->next;
		eg_dp_inner_detach(t->d->dp, r->xfrmi_ifindex, r->slot);
		eg_site_link_del((uint32_t)r->site_id);
		free(r);
	}
	eg_xfrm_close(t->x);
	free(t);
}

struct ike_ctx *eg_tunnels_ike(struct eg_tunnels *t)
{
	return t->ike;
}

void eg_tunnels_tick(struct eg_tunnels *t)
{
	ike_tick(t->ike, time(NULL));
}

void eg_tunnels_site_down(struct eg_tunnels *t, int64_t site_id, const char *why)
{
	unsigned n = ike_site_down(t->ike, site_id, why);

	if (n)
		pr_info("site %lld: %u IKE SA(s) deleted (%s)", (long long)site_id, n, why);
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
