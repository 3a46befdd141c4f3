// SPDX-License-Identifier: GPL-2.0
/*
 * ike_cookie.c - IKE_SA_INIT under load (RFC 7296 2.6): stateless cookies
 * once the half-open SAs pass a threshold, and a limit on the half-open
 * SAs of one source address, so that one address (or one NAT) cannot hold
 * the table.
 *
 * Cookie = version | HMAC-SHA2-256(secret[version], Ni | IPi | SPIi),
 * truncated to 16 bytes: 17 bytes, nothing stored. The secret is 32 random
 * bytes, made anew every cookie_rotate s; the one before it is still
 * accepted, so a cookie lives one to two periods. Compared in constant
 * time.
 *
 * Per source address, two counts of half-open SAs: those whose request
 * returned a cookie and those that did not. A source at the limit of the
 * second is asked for a cookie even below the threshold, and one at the
 * limit of the first is dropped: so a flood that spoofs a site's address
 * fills only the budget the real site does not need, since the real site
 * returns the cookie and a spoofer cannot.
 *
 * Both the threshold and the per-source counts are of handshake cost, not
 * of SAs: the initiator picks the DH group, and one MODP-8192 handshake
 * costs the responder about 19 MODP-2048 ones. An address with nothing
 * half-open may always start one, whatever its group.
 *
 * The counts are an open-addressing table (linear probing, backward-shift
 * deletion) of at most max_half_open addresses, sized at twice that, keyed
 * with a random seed so that nobody can aim addresses at one probe chain.
 * They change only where an SA enters or leaves half-open (ike_set_state),
 * so they cannot drift from the SAs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "ike_int.h"

#define COOKIE_MAC_LEN	16

struct src_slot {
	uint32_t addr;
	uint16_t n[2];		/* [cookie returned]; both 0: empty */
};

static bool used(const struct src_slot *s)
{
	return s->n[0] || s->n[1];
}

int ike_cookie_init(struct ike_ctx *ctx)
{
	size_t cap = 64;

	while (cap < 2 * (size_t)ctx->cfg.max_half_open && cap < (1u << 24))
		cap <<= 1;
	ctx->src = calloc(cap, sizeof(*ctx->src));
	if (!ctx->src)
		return -ENOMEM;
	ctx->src_mask = cap - 1;
	if (ike_random(&ctx->src_seed, sizeof(ctx->src_seed)) ||
	    ike_random(ctx->cookie_secret[0], IKE_COOKIE_SECRET_LEN) ||
	    ike_random(ctx->cookie_secret[1], IKE_COOKIE_SECRET_LEN))
		return -EIO;
	ctx->cookie_rotated = ctx->now;
	return 0;
}

void ike_cookie_free(struct ike_ctx *ctx)
{
	free(ctx->src);
	ctx->src = NULL;
	OPENSSL_cleanse(ctx->cookie_secret, sizeof(ctx->cookie_secret));
}

/* ---- per-source half-open counts --------------------------------------------- */

static uint32_t src_hash(const struct ike_ctx *ctx, uint32_t addr)
{
	uint64_t h = ((uint64_t)addr ^ ctx->src_seed) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h >> 32) & ctx->src_mask;
}

/* addr's slot, or the empty one where it would go; NULL: the table is
 * full (it cannot be: at most max_half_open addresses in twice as many) */
static struct src_slot *src_find(struct ike_ctx *ctx, uint32_t addr)
{
	uint32_t i = src_hash(ctx, addr), probes;

	for (probes = 0; probes <= ctx->src_mask; probes++) {
		if (!used(&ctx->src[i]) || ctx->src[i].addr == addr)
			return &ctx->src[i];
		i = (i + 1) & ctx->src_mask;
	}
	return NULL;
}

unsigned ike_src_half_open(struct ike_ctx *ctx, uint32_t addr, bool cookie)
{
	struct src_slot *s = ctx->src ? src_find(ctx, addr) : NULL;

	return s && used(s) ? s->n[cookie] : 0;
}

void ike_src_adjust(struct ike_ctx *ctx, uint32_t addr, bool cookie, int delta)
{
	struct src_slot *s;
	uint32_t i, j, k;

	s = ctx->src ? src_find(ctx, addr) : NULL;
	if (!s)
		return;
	if (delta > 0) {
		s->addr = addr;
		s->n[cookie] = s->n[cookie] + delta < UINT16_MAX ?
			       s->n[cookie] + delta : UINT16_MAX;
		return;
	}
	if (!used(s) || !s->n[cookie])
		return;
	s->n[cookie] = s->n[cookie] > -delta ? s->n[cookie] + delta : 0;
	if (used(s))
		return;
	/* the slot is empty now: pull later entries of its chain back */
	i = s - ctx->src;
	for (j = (i + 1) & ctx->src_mask; used(&ctx->src[j]); j = (j + 1) & ctx->src_mask) {
		k = src_hash(ctx, ctx->src[j].addr);
		/* move j to i unless its home k lies cyclically in (i, j] */
		if ((i <= j) ? (k <= i || k > j) : (k <= i && k > j)) {
			ctx->src[i] = ctx->src[j];
			memset(&ctx->src[j], 0, sizeof(ctx->src[j]));
			i = j;
		}
	}
}

/*
 * A handshake's cost in MODP-2048 handshakes: our keygen + derive, as
 * measured with OpenSSL 3.0 on the development machine (1.07, 2.25, 5.9
 * and 19.8 ms for groups 14, 15, 16, 18), rounded up.
 */
unsigned ike_dh_cost(uint16_t group)
{
	switch (group) {
	case IKE_DH_MODP3072: return 3;
	case IKE_DH_MODP4096: return 6;
	case IKE_DH_MODP8192: return 20;
	default: return 1;
	}
}

/* Would cost more take this count over limit? Not if it holds nothing. */
static bool over(unsigned held, unsigned cost, unsigned limit)
{
	return held && held + cost > limit;
}

/* ---- cookies -------------------------------------------------------------------- */

void ike_cookie_tick(struct ike_ctx *ctx)
{
	if (ctx->now - ctx->cookie_rotated < (uint64_t)ctx->cfg.cookie_rotate * 1000)
		return;
	ctx->cookie_ver++;
	if (ike_random(ctx->cookie_secret[ctx->cookie_ver & 1], IKE_COOKIE_SECRET_LEN)) {
		ctx->cookie_ver--;	/* keep the old one rather than none */
		return;
	}
	ctx->cookie_rotated = ctx->now;
}

static int cookie_mac(const struct ike_ctx *ctx, uint8_t ver, const uint8_t *ni,
		      size_t ni_len, uint32_t addr, const uint8_t spi_i[IKE_SPI_LEN],
		      uint8_t out[IKE_COOKIE_LEN])
{
	struct ike_iov iov[] = {
		{ ni, ni_len }, { &addr, sizeof(addr) }, { spi_i, IKE_SPI_LEN },
	};
	uint8_t mac[IKE_PRF_MAX_LEN];
	size_t len = sizeof(mac);
	int err;

	err = ike_prfv(IKE_PRF_HMAC_SHA2_256, ctx->cookie_secret[ver & 1],
		       IKE_COOKIE_SECRET_LEN, iov, 3, mac, &len);
	if (!err) {
		out[0] = ver;
		memcpy(out + 1, mac, COOKIE_MAC_LEN);
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return err;
}

int ike_cookie_make(const struct ike_ctx *ctx, const uint8_t *ni, size_t ni_len,
		    uint32_t addr, const uint8_t spi_i[IKE_SPI_LEN],
		    uint8_t out[IKE_COOKIE_LEN])
{
	return cookie_mac(ctx, ctx->cookie_ver, ni, ni_len, addr, spi_i, out);
}

bool ike_cookie_valid(const struct ike_ctx *ctx, const uint8_t *cookie, size_t len,
		      const uint8_t *ni, size_t ni_len, uint32_t addr,
		      const uint8_t spi_i[IKE_SPI_LEN])
{
	uint8_t want[IKE_COOKIE_LEN];
	uint8_t ver;

	if (len != IKE_COOKIE_LEN)
		return false;
	ver = cookie[0];
	/* this period's secret or the one before, nothing older */
	if (ver != ctx->cookie_ver && ver != (uint8_t)(ctx->cookie_ver - 1))
		return false;
	if (cookie_mac(ctx, ver, ni, ni_len, addr, spi_i, want))
		return false;
	return !CRYPTO_memcmp(want, cookie, IKE_COOKIE_LEN);
}

/*
 * Between the cheap checks and any lookup or DH (handle_init): may this
 * IKE_SA_INIT go on? *cookie says whether it returned a valid cookie (the
 * SA is counted so). Otherwise it was answered with a cookie (N(COOKIE),
 * no state) or dropped, and counted.
 */
bool init_cookie_gate(struct ike_ctx *ctx, const struct ikev2_msghdr *h,
		      const struct ikev2_msg *m, const struct ikev2_payload *ni,
		      uint16_t group, uint16_t local_port, uint32_t addr,
		      uint16_t port, bool *cookie)
{
	struct ikev2_notify_pld n;
	uint8_t spi_i[IKE_SPI_LEN], c[IKE_COOKIE_LEN];
	bool sent = ikev2_find_notify(m, IKEV2_N_COOKIE, &n) >= 0;
	unsigned cost = ike_dh_cost(group);

	ike_be64_put(spi_i, h->ispi);
	*cookie = sent && ike_cookie_valid(ctx, n.data, n.len, ni->body, ni->len,
					   addr, spi_i);
	if (*cookie) {
		if (!over(ike_src_half_open(ctx, addr, true), cost,
			  ctx->cfg.max_half_open_src))
			return true;
		ctx->st.init_src_limited++;
		return false;
	}
	/* no load: a cookie sent anyway is ignored (2.6) */
	if (ctx->half_open_cost + cost <= ctx->cfg.cookie_threshold &&
	    !over(ike_src_half_open(ctx, addr, false), cost, ctx->cfg.max_half_open_src))
		return true;
	if (sent)
		ctx->st.init_cookie_bad++;
	if (ike_cookie_make(ctx, ni->body, ni->len, addr, spi_i, c))
		return false;
	init_notify(ctx, h, local_port, addr, port, IKEV2_N_COOKIE, c, sizeof(c));
	ctx->st.init_cookie_sent++;
	return false;
}
