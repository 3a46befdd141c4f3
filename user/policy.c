// SPDX-License-Identifier: GPL-2.0
/*
 * policy.c - reference-counted kernel policies and routes (see policy.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/xfrm.h>

#include "link.h"
#include "log.h"
#include "policy.h"
#include "xfrm.h"

#define POL_BUCKETS	16384	/* power of two */
#define POL_OWNERS	8	/* distinct reqids on one selector pair */
#define POL_PRIORITY	1000

struct owner {
	uint32_t reqid;
	unsigned refs;
	uint64_t serial;		/* when it came: the newest owns */
};

struct pol {
	struct pol *next;
	struct eg_pol_key k;
	uint32_t peer, local;		/* outer addresses of the template */
	uint32_t cur;			/* reqid in the installed template */
	unsigned n;
	struct owner o[POL_OWNERS];
};

struct route {
	struct route *next;
	uint32_t table, net;
	uint8_t len;
	int ifindex;
	unsigned refs;
};

struct eg_pol_tab {
	struct eg_xfrm *x;
	uint64_t serial;
	unsigned n_pol, n_route;
	struct pol *pols[POL_BUCKETS];
	struct route *routes[POL_BUCKETS];
};

int eg_pol_open(struct eg_pol_tab **out, struct eg_xfrm *x)
{
	struct eg_pol_tab *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->x = x;
	*out = t;
	return 0;
}

void eg_pol_close(struct eg_pol_tab *t)
{
	unsigned i;

	if (!t)
		return;
	for (i = 0; i < POL_BUCKETS; i++) {
		while (t->pols[i]) {
			struct pol *p = t->pols[i];

			t->pols[i] = p->next;
			free(p);
		}
		while (t->routes[i]) {
			struct route *r = t->routes[i];

			t->routes[i] = r->next;
			free(r);
		}
	}
	free(t);
}

static unsigned hash(uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t h = 2166136261u;

	h = (h ^ a) * 16777619u;
	h = (h ^ b) * 16777619u;
	h = (h ^ c) * 16777619u;
	return h & (POL_BUCKETS - 1);
}

static unsigned pol_bucket(const struct eg_pol_key *k)
{
	return hash(k->if_id, k->peer_net ^ k->peer_len,
		    k->our_net ^ (uint32_t)k->our_len << 24);
}

static bool key_eq(const struct eg_pol_key *a, const struct eg_pol_key *b)
{
	return a->if_id == b->if_id && a->peer_net == b->peer_net &&
	       a->our_net == b->our_net && a->peer_len == b->peer_len &&
	       a->our_len == b->our_len;
}

/* in and fwd: peer -> us; out: us -> peer; template naming reqid. */
static int pol_install(struct eg_pol_tab *t, const struct pol *p,
		       uint32_t reqid, bool update)
{
	int dir, rc = 0, err;

	for (dir = XFRM_POLICY_IN; dir <= XFRM_POLICY_FWD; dir++) {
		bool out = dir == XFRM_POLICY_OUT;
		struct eg_xfrm_policy xp = {
			.dir = dir, .reqid = reqid, .if_id = p->k.if_id,
			.priority = POL_PRIORITY,
			.sel_src = out ? p->k.our_net : p->k.peer_net,
			.sel_src_len = out ? p->k.our_len : p->k.peer_len,
			.sel_dst = out ? p->k.peer_net : p->k.our_net,
			.sel_dst_len = out ? p->k.peer_len : p->k.our_len,
			.tmpl_saddr = out ? p->local : p->peer,
			.tmpl_daddr = out ? p->peer : p->local,
		};

		err = update ? eg_xfrm_policy_update(t->x, &xp) :
			       eg_xfrm_policy_add(t->x, &xp);
		if (err == -EEXIST)	/* left by a daemon that died: ours now */
			err = eg_xfrm_policy_update(t->x, &xp);
		if (err && !rc) {
			pr_warn("site %u: policy %s dir %d: %s (%s)", p->k.if_id,
				update ? "update" : "add", dir, strerror(-err),
				eg_xfrm_errmsg(t->x));
			rc = err;
		}
	}
	return rc;
}

static void pol_remove(struct eg_pol_tab *t, const struct pol *p)
{
	int dir;

	for (dir = XFRM_POLICY_IN; dir <= XFRM_POLICY_FWD; dir++) {
		bool out = dir == XFRM_POLICY_OUT;
		struct eg_xfrm_policy xp = {
			.dir = dir, .if_id = p->k.if_id,
			.sel_src = out ? p->k.our_net : p->k.peer_net,
			.sel_src_len = out ? p->k.our_len : p->k.peer_len,
			.sel_dst = out ? p->k.peer_net : p->k.our_net,
			.sel_dst_len = out ? p->k.peer_len : p->k.our_len,
		};
		int err = eg_xfrm_policy_del(t->x, &xp);

		if (err && err != -ENOENT)
			pr_warn("site %u: policy del dir %d: %s", p->k.if_id, dir,
				strerror(-err));
	}
}

static struct pol **pol_find(struct eg_pol_tab *t, const struct eg_pol_key *k)
{
	struct pol **pp;

	for (pp = &t->pols[pol_bucket(k)]; *pp; pp = &(*pp)->next)
		if (key_eq(&(*pp)->k, k))
			return pp;
	return pp;
}

int eg_pol_get(struct eg_pol_tab *t, const struct eg_pol_key *k,
	       uint32_t reqid, uint32_t peer, uint32_t local, bool resume)
{
	struct pol **pp = pol_find(t, k), *p = *pp;
	unsigned i;
	int err;

	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->k = *k;
		p->peer = peer;
		p->local = local;
		if (!resume && (err = pol_install(t, p, reqid, false))) {
			pol_remove(t, p);	/* the directions that went in */
			free(p);
			return err;
		}
		p->cur = reqid;
		p->n = 1;
		p->o[0] = (struct owner){ .reqid = reqid, .refs = 1,
					  .serial = ++t->serial };
		*pp = p;
		t->n_pol++;
		return 0;
	}
	for (i = 0; i < p->n; i++) {
		if (p->o[i].reqid == reqid) {
			p->o[i].refs++;
			return 0;
		}
	}
	if (p->n == POL_OWNERS)
		return -ENOSPC;
	/* a new owner: the template follows it, the traffic is its now */
	if (!resume && (err = pol_install(t, p, reqid, true)))
		return err;
	p->cur = reqid;
	p->peer = peer;
	p->o[p->n++] = (struct owner){ .reqid = reqid, .refs = 1,
				       .serial = ++t->serial };
	return 0;
}

void eg_pol_put(struct eg_pol_tab *t, const struct eg_pol_key *k,
		uint32_t reqid)
{
	struct pol **pp = pol_find(t, k), *p = *pp;
	unsigned i, newest = 0;

	if (!p)
		return;
	for (i = 0; i < p->n && p->o[i].reqid != reqid; i++)
		;
	if (i == p->n || --p->o[i].refs)
		return;
	p->o[i] = p->o[--p->n];
	if (!p->n) {
		pol_remove(t, p);
		*pp = p->next;
		free(p);
		t->n_pol--;
		return;
	}
	if (p->cur != reqid)
		return;
	/* its owner went: the newest other one takes the template */
	for (i = 1; i < p->n; i++)
		if (p->o[i].serial > p->o[newest].serial)
			newest = i;
	if (pol_install(t, p, p->o[newest].reqid, true) == 0)
		p->cur = p->o[newest].reqid;
}

/* ---- routes ---------------------------------------------------------------- */

static struct route **route_find(struct eg_pol_tab *t, uint32_t table,
				 uint32_t net, uint8_t len, int ifindex)
{
	struct route **pp;

	for (pp = &t->routes[hash(table, net, len)]; *pp; pp = &(*pp)->next)
		if ((*pp)->table == table && (*pp)->net == net &&
		    (*pp)->len == len && (*pp)->ifindex == ifindex)
			return pp;
	return pp;
}

int eg_route_get(struct eg_pol_tab *t, uint32_t table, uint32_t net,
		 uint8_t len, int ifindex, bool resume)
{
	struct route **pp = route_find(t, table, net, len, ifindex), *r = *pp;
	int err;

	if (r) {
		r->refs++;
		return 0;
	}
	if (!resume) {
		err = eg_route_add(table, net, len, ifindex, 0);
		if (err && err != -EEXIST)
			return err;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = (struct route){ .table = table, .net = net, .len = len,
			     .ifindex = ifindex, .refs = 1 };
	*pp = r;
	t->n_route++;
	return 0;
}

void eg_route_put(struct eg_pol_tab *t, uint32_t table, uint32_t net,
		  uint8_t len, int ifindex)
{
	struct route **pp = route_find(t, table, net, len, ifindex), *r = *pp;

	if (!r || --r->refs)
		return;
	eg_route_del(table, net, len, ifindex, 0);
	*pp = r->next;
	free(r);
	t->n_route--;
}

unsigned eg_pol_count(const struct eg_pol_tab *t, unsigned *routes)
{
	if (routes)
		*routes = t->n_route;
	return t->n_pol;
}
