// SPDX-License-Identifier: GPL-2.0
/*
 * ike_dhreuse.c - our Diffie-Hellman key pair for IKE_SA_INIT, kept and
 * reused for a short window (RFC 7296 2.12), so that a handshake costs one
 * modular exponentiation (the derive) instead of two.
 *
 * One key pair per group, made on first use and replaced once it is
 * cfg.dh_reuse s old; ike_dh_reuse_tick() frees an expired one even when
 * no handshake comes, so no private exponent outlives its window by more
 * than a tick: the forward secrecy given up is that window (a key pair
 * stolen from memory opens the IKE SAs made with it in those seconds, and
 * no others). cfg.dh_reuse = 0 (--no-dh-reuse) makes a key pair per
 * handshake, freed at once.
 *
 * Reuse is safe only with the peer's value checked (RFC 6989): for the
 * safe-prime MODP groups here, 1 < y < p-1 excludes the one small
 * subgroup, and ike_dh_derive() checks it on every use. The nonces, SPIs
 * and so every key are still fresh per IKE SA.
 *
 * CREATE_CHILD_SA (PFS, IKE SA rekey) makes its own key pair every time:
 * it is rare and authenticated, and that is where forward secrecy between
 * rekeys is expected.
 */
#include <errno.h>
#include <string.h>

#include "ike_int.h"

static struct ike_dh_keep *slot(struct ike_ctx *ctx, uint16_t group)
{
	unsigned i;

	for (i = 0; i < IKE_DH_GROUPS; i++)
		if (ctx->dh_keep[i].group == group || !ctx->dh_keep[i].group) {
			ctx->dh_keep[i].group = group;
			return &ctx->dh_keep[i];
		}
	return NULL;
}

static void drop(struct ike_dh_keep *k)
{
	ike_dh_free(k->dh);
	k->dh = NULL;
}

int ike_dh_ours(struct ike_ctx *ctx, uint16_t group, struct ike_dh **dh,
		bool *owned)
{
	uint64_t window = (uint64_t)ctx->cfg.dh_reuse * 1000;
	struct ike_dh_keep *k = window ? slot(ctx, group) : NULL;
	int err;

	*dh = NULL;
	*owned = true;
	if (k && k->dh && ctx->now - k->made < window) {
		*dh = k->dh;
		*owned = false;
		ctx->st.dh_reused++;
		return 0;
	}
	err = ike_dh_new(group, dh);
	if (err)
		return err;
	ctx->st.dh_keygens++;
	if (k) {
		drop(k);
		k->dh = *dh;
		k->made = ctx->now;
		*owned = false;
	}
	return 0;
}

void ike_dh_reuse_tick(struct ike_ctx *ctx)
{
	uint64_t window = (uint64_t)ctx->cfg.dh_reuse * 1000;
	unsigned i;

	for (i = 0; i < IKE_DH_GROUPS; i++)
		if (ctx->dh_keep[i].dh && ctx->now - ctx->dh_keep[i].made >= window)
			drop(&ctx->dh_keep[i]);
}

void ike_dh_reuse_free(struct ike_ctx *ctx)
{
	unsigned i;

	for (i = 0; i < IKE_DH_GROUPS; i++)
		drop(&ctx->dh_keep[i]);
}
