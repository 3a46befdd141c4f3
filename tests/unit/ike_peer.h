/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ike_peer.h - an in-process IKEv2 initiator and a host double, to drive
 * the responder in user/ike.c without sockets, a store or a kernel.
 *
 *   struct ike_peer   the initiator of tools/ikeinit.h (shared with the
 *                     load generator tools/ikeload): builds IKE_SA_INIT,
 *                     IKE_AUTH (PSK) and INFORMATIONAL requests, reads the
 *                     responder's answers and requests, and keys itself
 *                     from them with the same primitives as the responder
 *   struct ikp_env    the ike_env hooks: a site table, a queue of the
 *                     datagrams sent, a record of Child SA installs and
 *                     removals (with the keys), fixed inbound SPIs
 *
 *        ike_peer                        ike_ctx (user/ike.c)
 *   198.51.100.7:500/4500  ---ike_input()--->  203.0.113.1:500/4500
 *        ^                                      |
 *        +------ ikp_env.q[] <--- env.send() ---+
 *
 * Header-only so that tests/unit/test_ike.c and tests/bench/bench_ike.c
 * share it; every function is static inline (unused ones cost nothing).
 * Functions return 0 or -errno unless they say otherwise.
 */
#ifndef EG_IKE_PEER_H
#define EG_IKE_PEER_H

#include "ike.h"
#include "ikeinit.h"
#include "store.h"

/* Hand msg to the responder from our (NATed) address and port. */
static inline void ikp_deliver(struct ike_ctx *ctx, const struct ike_peer *p,
			       bool natt, const uint8_t *msg, size_t len)
{
	uint8_t w[IKP_MSG_MAX + 4];

	if (len > IKP_MSG_MAX)
		return;
	len = ikp_wire(natt, msg, len, w);
	ike_input(ctx, natt ? IKP_NATT_PORT : IKP_PORT, p->addr,
		  natt ? p->natt_port : p->port, w, len);
}

/* ---- the host double (struct ike_env hooks) --------------------------- */

struct ikp_dgram {
	uint16_t lport;			/* the responder's port */
	uint32_t addr;			/* destination, network order */
	uint16_t port;
	size_t len;
	uint8_t buf[IKP_MSG_MAX + 4];
};

struct ikp_install {
	int64_t site_id;
	uint32_t peer_addr;
	uint16_t peer_port;
	struct ike_child c;
	struct ike_child_keys keys;
	unsigned dirs;			/* IKE_DIR_IN/OUT that are in */
	unsigned out_at_removed;	/* n_removed when OUT went in late */
};

struct ikp_env {
	uint32_t local_addr;
	struct eg_site_rec sites[IKP_MAX_SITES];
	unsigned n_sites;
	bool draining;			/* accepting() says no */
	enum eg_license unhealthy;	/* site_admit() refuses this license
					 * (health.h: web-gateway, all) */
	int install_err;		/* child_install fails with this */
	struct ikp_dgram q[IKP_QMAX];
	unsigned nq, head;		/* queued, first unread */
	unsigned n_sent, n_too_big;
	struct ikp_install inst[IKP_MAX_REC];
	unsigned n_inst;
	struct ike_child removed[IKP_MAX_REC];
	unsigned n_removed;
	unsigned n_spi;			/* SPIs handed out */
	unsigned n_lookups;
	unsigned n_psk_reads;		/* site_psk() calls (IKE_AUTH only) */
	uint64_t now_ms;		/* the engine's clock: tests move it */
	uint64_t rx_pkts;		/* what site_rx() says: inbound ESP+IKE */
	unsigned n_moved;		/* peer_moved() calls */
	unsigned n_out_late;		/* outbound halves put in later */
	uint16_t moved_port;		/* the port at the last one */
};

static inline int ikp_env_send(void *arg, uint16_t local_port, uint32_t addr,
			       uint16_t port, const uint8_t *buf, size_t len)
{
	struct ikp_env *e = arg;
	struct ikp_dgram *d;

	e->n_sent++;
	if (e->head == e->nq)
		e->nq = e->head = 0;	/* all read: start over */
	if (len > sizeof(e->q[0].buf) || e->nq == IKP_QMAX) {
		e->n_too_big++;
		return -EMSGSIZE;
	}
	d = &e->q[e->nq++];
	d->lport = local_port;
	d->addr = addr;
	d->port = port;
	d->len = len;
	memcpy(d->buf, buf, len);
	return 0;
}

/* Like the store: the record without its PSK. */
static inline int ikp_env_site(void *arg, uint32_t addr, struct eg_site_rec *s)
{
	struct ikp_env *e = arg;
	unsigned i;

	e->n_lookups++;
	for (i = 0; i < e->n_sites; i++) {
		if (e->sites[i].source_ip != addr)
			continue;
		if (!e->sites[i].enabled)
			return -EPERM;
		*s = e->sites[i];
		memset(s->psk, 0, sizeof(s->psk));
		s->psk_len = 0;
		return 0;
	}
	return -ENOENT;
}

static inline int ikp_env_psk(void *arg, int64_t id, uint8_t *psk, size_t *len)
{
	struct ikp_env *e = arg;
	unsigned i;

	e->n_psk_reads++;
	for (i = 0; i < e->n_sites; i++) {
		if (e->sites[i].id != id)
			continue;
		memcpy(psk, e->sites[i].psk, e->sites[i].psk_len);
		*len = e->sites[i].psk_len;
		return 0;
	}
	return -ENOENT;
}

static inline uint64_t ikp_env_now(void *arg)
{
	return ((struct ikp_env *)arg)->now_ms;
}

static inline int ikp_env_rx(void *arg, const struct ike_sa *sa, uint64_t *pkts)
{
	(void)sa;
	*pkts = ((struct ikp_env *)arg)->rx_pkts;
	return 0;
}

static inline void ikp_env_moved(void *arg, const struct ike_sa *sa)
{
	struct ikp_env *e = arg;

	e->n_moved++;
	e->moved_port = sa->peer_port;
}

static inline bool ikp_env_accepting(void *arg)
{
	return !((struct ikp_env *)arg)->draining;
}

static inline int ikp_env_admit(void *arg, enum eg_license lic, char *why, size_t cap)
{
	struct ikp_env *e = arg;

	if (!e->unhealthy || (e->unhealthy != EG_LIC_WEB_GATEWAY && e->unhealthy != lic))
		return 0;
	snprintf(why, cap, "downstream %s unhealthy", eg_license_name(e->unhealthy));
	return -EAGAIN;
}

static inline int ikp_env_install(void *arg, const struct ike_sa *sa,
				  const struct ike_child *c,
				  const struct ike_child_keys *k, unsigned dirs)
{
	struct ikp_env *e = arg;
	struct ikp_install *r;
	unsigned i;

	if (e->install_err)
		return e->install_err;
	if (dirs == IKE_DIR_OUT) {
		/* the held-back half of one already in: its record says so */
		for (i = e->n_inst; i-- > 0;) {
			r = &e->inst[i];
			if (r->c.spi_in != c->spi_in || (r->dirs & IKE_DIR_OUT))
				continue;
			if (k->encr_len != r->keys.encr_len ||
			    memcmp(k->encr_r, r->keys.encr_r, k->encr_len) ||
			    memcmp(k->integ_r, r->keys.integ_r, k->integ_len))
				return -EINVAL;	/* not the keys it was made with */
			r->dirs |= IKE_DIR_OUT;
			r->out_at_removed = e->n_removed;
			e->n_out_late++;
			return 0;
		}
		return -ENOENT;
	}
	if (e->n_inst == IKP_MAX_REC)
		return -ENOSPC;
	r = &e->inst[e->n_inst++];
	r->site_id = sa->site_id;
	r->peer_addr = sa->peer_addr;
	r->peer_port = sa->peer_port;
	r->c = *c;
	r->keys = *k;
	r->dirs = dirs;
	return 0;
}

static inline void ikp_env_remove(void *arg, const struct ike_sa *sa,
				  const struct ike_child *c)
{
	struct ikp_env *e = arg;

	(void)sa;
	if (e->n_removed < IKP_MAX_REC)
		e->removed[e->n_removed] = *c;
	e->n_removed++;
}

static inline int ikp_env_spi(void *arg, const struct ike_sa *sa, uint32_t *spi)
{
	struct ikp_env *e = arg;

	(void)sa;
	*spi = htonl(IKP_SPI_BASE + e->n_spi++);
	return 0;
}

/* A site with an identity and a PSK, enabled. */
static inline struct eg_site_rec *ikp_env_add_site(struct ikp_env *e, int64_t id,
						   const char *name, const char *ip,
						   enum eg_id_type t,
						   const char *ident,
						   const uint8_t *psk,
						   size_t psk_len)
{
	struct eg_site_rec *s = &e->sites[e->n_sites++];

	memset(s, 0, sizeof(*s));
	s->id = id;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->id_type = t;
	snprintf(s->id_value, sizeof(s->id_value), "%s", ident);
	s->source_ip = ikp_ip(ip);
	memcpy(s->psk, psk, psk_len);
	s->psk_len = psk_len;
	s->enabled = true;
	s->license = EG_LIC_WEB_GATEWAY;	/* the store's default */
	return s;
}

static inline void ikp_env_init(struct ikp_env *e, struct ike_env *env,
				uint32_t local_addr)
{
	memset(e, 0, sizeof(*e));
	e->local_addr = local_addr;
	memset(env, 0, sizeof(*env));
	env->arg = e;
	env->local_addr = local_addr;
	env->send = ikp_env_send;
	env->site_by_addr = ikp_env_site;
	env->accepting = ikp_env_accepting;
	env->site_admit = ikp_env_admit;
	env->child_install = ikp_env_install;
	env->child_remove = ikp_env_remove;
	env->spi_alloc = ikp_env_spi;
	env->site_psk = ikp_env_psk;
	env->now_ms = ikp_env_now;
	env->site_rx = ikp_env_rx;
	env->peer_moved = ikp_env_moved;
	e->now_ms = 1000000;	/* an arbitrary start of the clock */
}

/* Forget the datagrams sent so far. */
static inline void ikp_env_flush(struct ikp_env *e)
{
	e->nq = e->head = 0;
}

/*
 * The next datagram sent, or NULL. In msg and len: the IKE message in it,
 * the non-ESP marker stripped when it went out on 4500 (msg is set to NULL
 * if the marker is missing).
 */
static inline const struct ikp_dgram *ikp_env_pop(struct ikp_env *e,
						  const uint8_t **msg,
						  size_t *len)
{
	const struct ikp_dgram *d;

	if (e->head == e->nq)
		return NULL;
	d = &e->q[e->head++];
	*msg = d->buf;
	*len = d->len;
	if (d->lport == IKP_NATT_PORT) {
		if (d->len < 4 || d->buf[0] | d->buf[1] | d->buf[2] | d->buf[3])
			*msg = NULL;
		else
			*msg = d->buf + 4, *len = d->len - 4;
	}
	return d;
}

static inline unsigned ikp_env_pending(const struct ikp_env *e)
{
	return e->nq - e->head;
}

/* Number of SAs ike_foreach() walks. */
static inline void ikp_count_cb(const struct ike_sa *sa, void *arg)
{
	(void)sa;
	(*(unsigned *)arg)++;
}

static inline unsigned ikp_sa_count(const struct ike_ctx *ctx)
{
	unsigned n = 0;

	ike_foreach(ctx, ikp_count_cb, &n);
	return n;
}

#endif /* EG_IKE_PEER_H */
