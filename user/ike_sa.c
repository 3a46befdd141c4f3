// SPDX-License-Identifier: GPL-2.0
/*
 * ike_sa.c - the IKE SA table: three hash indexes (our SPI, the peer's SPI
 * and address for IKE_SA_INIT retransmits, the site), the Child SA slots,
 * and ike_set_state(), the one place an IKE SA changes state.
 *
 * Killed SAs move to a dead list and are freed by sa_reap() at the end of
 * each input or tick, so that a handler may kill the SA it is working on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "ike_int.h"

const char *ike_state_name(enum ike_state s)
{
	switch (s) {
	case IKE_S_HALF_OPEN: return "half-open";
	case IKE_S_ESTABLISHED: return "established";
	case IKE_S_REKEYED: return "rekeyed";
	case IKE_S_DELETING: return "deleting";
	case IKE_S_DEAD: return "dead";
	}
	return "?";
}

const char *ike_child_state_name(enum ike_child_state s)
{
	switch (s) {
	case CHILD_S_INSTALLED: return "installed";
	case CHILD_S_REKEYING: return "rekeying";
	case CHILD_S_REKEYED: return "rekeyed";
	case CHILD_S_DELETING: return "deleting";
	}
	return "?";
}

/* The one place an IKE SA changes state: logged old -> new with the reason. */
void ike_set_state(struct ike_ctx *ctx, struct ike_sa *sa, enum ike_state new,
		   const char *why)
{
	char ip[INET_ADDRSTRLEN];

	if (sa->state == new)
		return;
	eg_log(new == IKE_S_DEAD && sa->state == IKE_S_HALF_OPEN ?
	       EG_LOG_DEBUG : EG_LOG_INFO,
	       "ike_set_state: site '%s' peer %s:%u spi %016llx/%016llx: %s -> %s (%s)",
	       sa->site_name, ike_ip(sa->peer_addr, ip), sa->peer_port,
	       (unsigned long long)ike_be64_get(sa->spi_i),
	       (unsigned long long)ike_be64_get(sa->spi_r),
	       sa->state ? ike_state_name(sa->state) : "new",
	       ike_state_name(new), why);
	if (sa->state == IKE_S_HALF_OPEN) {
		ctx->n_half_open--;
		ctx->half_open_cost -= sa->ho_cost;
		ike_src_adjust(ctx, sa->ho_addr, sa->cookie_ok, -(int)sa->ho_cost);
	}
	if (new == IKE_S_HALF_OPEN) {
		ctx->n_half_open++;
		/* what it is counted under, and at what cost */
		sa->ho_addr = sa->peer_addr;
		sa->ho_cost = ike_dh_cost(sa->prop.dh);
		ctx->half_open_cost += sa->ho_cost;
		ike_src_adjust(ctx, sa->ho_addr, sa->cookie_ok, sa->ho_cost);
	}
	if (new == IKE_S_ESTABLISHED && !sa->established)
		sa->established = ctx->now;
	sa->state = new;
	sa->why = why;
	sa->dirty = true;
}

/* ---- indexes ----------------------------------------------------------- */

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

static unsigned site_bucket(int64_t id)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ull;

	return (unsigned)(h >> 48) & (IKE_HASH - 1);
}

const uint8_t *sa_our_spi(const struct ike_sa *sa)
{
	return sa->we_initiated ? sa->spi_i : sa->spi_r;
}

/* Index an SA once both SPIs are known. */
void sa_index(struct ike_ctx *ctx, struct ike_sa *sa)
{
	unsigned r = bucket(sa_our_spi(sa), 0, 0);
	unsigned i = bucket(sa->spi_i, sa->peer_addr, sa->peer_port);

	sa->rnext = ctx->by_r[r];
	ctx->by_r[r] = sa;
	sa->inext = ctx->by_i[i];
	ctx->by_i[i] = sa;
	sa->ibucket = i;
	sa->indexed = true;
}

void sa_unindex(struct ike_ctx *ctx, struct ike_sa *sa)
{
	struct ike_sa **pp;

	if (!sa->indexed)
		return;
	for (pp = &ctx->by_r[bucket(sa_our_spi(sa), 0, 0)]; *pp; pp = &(*pp)->rnext)
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

void sa_site_link(struct ike_ctx *ctx, struct ike_sa *sa)
{
	unsigned b = site_bucket(sa->site_id);

	sa->snext = ctx->by_site[b];
	ctx->by_site[b] = sa;
}

static void sa_site_unlink(struct ike_ctx *ctx, struct ike_sa *sa)
{
	struct ike_sa **pp;

	for (pp = &ctx->by_site[site_bucket(sa->site_id)]; *pp; pp = &(*pp)->snext)
		if (*pp == sa) {
			*pp = sa->snext;
			return;
		}
}

struct ike_sa *sa_by_spi(struct ike_ctx *ctx, const uint8_t *our_spi)
{
	struct ike_sa *sa;

	for (sa = ctx->by_r[bucket(our_spi, 0, 0)]; sa; sa = sa->rnext)
		if (sa->state != IKE_S_DEAD &&
		    !memcmp(sa_our_spi(sa), our_spi, IKE_SPI_LEN))
			return sa;
	return NULL;
}

struct ike_sa *sa_half_open(struct ike_ctx *ctx, const uint8_t *spi_i,
			    uint32_t addr, uint16_t port)
{
	struct ike_sa *sa;

	for (sa = ctx->by_i[bucket(spi_i, addr, port)]; sa; sa = sa->inext)
		if (sa->state == IKE_S_HALF_OPEN && sa->peer_addr == addr &&
		    sa->peer_port == port && !memcmp(sa->spi_i, spi_i, IKE_SPI_LEN))
			return sa;
	return NULL;
}

/* The first live SA of a site; walk on with sa->snext (check site_id). */
struct ike_sa *sa_site_first(const struct ike_ctx *ctx, int64_t site_id)
{
	struct ike_sa *sa;

	for (sa = ctx->by_site[site_bucket(site_id)]; sa; sa = sa->snext)
		if (sa->site_id == site_id && sa->state != IKE_S_DEAD)
			return sa;
	return NULL;
}

/* ---- Child SA slots ---------------------------------------------------- */

struct ike_child *child_alloc(struct ike_sa *sa)
{
	unsigned i;

	for (i = 0; i < IKE_CHILD_SLOTS; i++) {
		if (sa->child[i])
			continue;
		sa->child[i] = calloc(1, sizeof(struct ike_child));
		return sa->child[i];
	}
	return NULL;
}

void child_slot_free(struct ike_sa *sa, struct ike_child *c)
{
	unsigned i;

	if (!c)
		return;
	for (i = 0; i < IKE_CHILD_SLOTS; i++)
		if (sa->child[i] == c)
			sa->child[i] = NULL;
	child_out_forget(c);
	free(c);
}

/* Remove the Child SA from the kernel (if installed) and free its slot. */
void child_drop(struct ike_ctx *ctx, struct ike_sa *sa, struct ike_child *c)
{
	if (!c)
		return;
	if (c->state) {
		child_out_release(ctx, sa, c);
		ctx->env.child_remove(ctx->env.arg, sa, c);
	}
	child_slot_free(sa, c);
	sa->dirty = true;
}

void children_drop(struct ike_ctx *ctx, struct ike_sa *sa)
{
	unsigned i;

	/* those still without an outbound SA first, so that none is put in
	 * on the way out */
	for (i = 0; i < IKE_CHILD_SLOTS; i++)
		if (sa->child[i] && sa->child[i]->out_keys)
			child_drop(ctx, sa, sa->child[i]);
	for (i = 0; i < IKE_CHILD_SLOTS; i++)
		child_drop(ctx, sa, sa->child[i]);
}

struct ike_child *child_by_spi_in(const struct ike_sa *sa, uint32_t spi)
{
	unsigned i;

	for (i = 0; i < IKE_CHILD_SLOTS; i++)
		if (sa->child[i] && sa->child[i]->spi_in == spi)
			return sa->child[i];
	return NULL;
}

struct ike_child *child_by_spi_out(const struct ike_sa *sa, uint32_t spi)
{
	unsigned i;

	for (i = 0; i < IKE_CHILD_SLOTS; i++)
		if (sa->child[i] && sa->child[i]->spi_out == spi)
			return sa->child[i];
	return NULL;
}

struct ike_child *child_find(struct ike_ctx *ctx, uint32_t spi,
			     struct ike_sa **out)
{
	struct ike_sa *sa;
	struct ike_child *c;

	/* Linear in the SAs: only kernel events (expiry, NAT mapping) ask. */
	for (sa = ctx->sas; sa; sa = sa->next) {
		c = child_by_spi_in(sa, spi);
		if (!c)
			c = child_by_spi_out(sa, spi);
		if (c) {
			*out = sa;
			return c;
		}
	}
	return NULL;
}

unsigned ike_sa_tunnels(const struct ike_sa *sa)
{
	unsigned i, n = 0;

	for (i = 0; i < IKE_CHILD_SLOTS; i++)
		if (sa->child[i] && sa->child[i]->state != CHILD_S_REKEYED)
			n++;
	return n;
}

size_t ike_sa_bytes(const struct ike_sa *sa)
{
	size_t n = sizeof(*sa) + sa->ni_len + sa->init_req_len +
		   sa->init_resp_len + sa->resp_len;
	unsigned i;

	for (i = 0; i < IKE_CHILD_SLOTS; i++)
		if (sa->child[i])
			n += sizeof(struct ike_child);
	if (sa->req)
		n += sizeof(*sa->req) + sa->req->len;
	return n;
}

/* ---- life and death ---------------------------------------------------- */

struct ike_sa *sa_new(struct ike_ctx *ctx)
{
	struct ike_sa *sa;

	if (ctx->n_sas >= IKE_MAX_SAS)
		return NULL;
	sa = calloc(1, sizeof(*sa));
	if (!sa)
		return NULL;
	sa->next = ctx->sas;
	if (ctx->sas)
		ctx->sas->prev = sa;
	ctx->sas = sa;
	ctx->n_sas++;
	sa->created = ctx->now;
	return sa;
}

void sa_free_init(struct ike_sa *sa)
{
	if (sa->ni)
		OPENSSL_cleanse(sa->ni, sa->ni_len);
	free(sa->ni);
	sa->ni = NULL;
	sa->ni_len = 0;
	OPENSSL_cleanse(sa->nr, sizeof(sa->nr));
	free(sa->init_req);
	free(sa->init_resp);
	sa->init_req = sa->init_resp = NULL;
	sa->init_req_len = sa->init_resp_len = 0;
}

static void sa_unlink(struct ike_ctx *ctx, struct ike_sa *sa)
{
	if (sa->prev)
		sa->prev->next = sa->next;
	else
		ctx->sas = sa->next;
	if (sa->next)
		sa->next->prev = sa->prev;
	sa->prev = NULL;
	sa->next = ctx->dead;
	ctx->dead = sa;
}

void sa_retire(struct ike_ctx *ctx, struct ike_sa *sa, const char *why)
{
	if (sa->state == IKE_S_DEAD)
		return;
	persist_forget(ctx, sa);
	ike_set_state(ctx, sa, IKE_S_DEAD, why);
	sa_unindex(ctx, sa);
	sa_site_unlink(ctx, sa);
	sa_unlink(ctx, sa);
}

void sa_kill(struct ike_ctx *ctx, struct ike_sa *sa, const char *why)
{
	children_drop(ctx, sa);
	sa_retire(ctx, sa, why);
}

static void sa_free(struct ike_ctx *ctx, struct ike_sa *sa)
{
	unsigned i;

	for (i = 0; i < IKE_CHILD_SLOTS; i++)
		child_slot_free(sa, sa->child[i]);
	sa_free_init(sa);
	frags_free(sa);
	req_free(sa->req);
	ike_keys_wipe(&sa->keys);
	free(sa->resp);
	ctx->n_sas--;
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

/* Free the SAs marked dead. */
void sa_reap(struct ike_ctx *ctx)
{
	struct ike_sa *sa;

	while ((sa = ctx->dead)) {
		ctx->dead = sa->next;
		sa_free(ctx, sa);
	}
}

unsigned ike_sa_count(const struct ike_ctx *ctx, unsigned *half_open)
{
	if (half_open)
		*half_open = ctx->n_half_open;
	return ctx->n_sas;
}

void ike_foreach(const struct ike_ctx *ctx, ike_sa_cb cb, void *arg)
{
	const struct ike_sa *sa;

	for (sa = ctx->sas; sa; sa = sa->next)
		cb(sa, arg);
}

void ike_foreach_site(const struct ike_ctx *ctx, int64_t site_id,
		      ike_sa_cb cb, void *arg)
{
	const struct ike_sa *sa;

	for (sa = sa_site_first(ctx, site_id); sa; sa = sa->snext)
		if (sa->site_id == site_id && sa->state != IKE_S_DEAD)
			cb(sa, arg);
}
