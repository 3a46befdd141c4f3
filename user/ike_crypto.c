// SPDX-License-Identifier: GPL-2.0
/*
 * ike_crypto.c - IKEv2 cryptographic layer on OpenSSL 3 libcrypto.
 *
 * Written from RFC 7296, RFC 3526, RFC 4106, RFC 4868 and RFC 6989; see
 * ike_crypto.h for the API contract. Only EVP interfaces are used (no
 * deprecated low-level calls), every secret buffer is cleansed before it
 * goes out of scope, and comparisons of ICV and AUTH use CRYPTO_memcmp.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "ike_crypto.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define AES_BLOCK	16u	/* AES block and CBC IV length */

/* ---- descriptor tables ---------------------------------------------------- */

static const struct ike_prf_desc prf_tab[] = {
	{ IKE_PRF_HMAC_SHA1,     "PRF_HMAC_SHA1",     "SHA1",   20 },
	{ IKE_PRF_HMAC_SHA2_256, "PRF_HMAC_SHA2_256", "SHA256", 32 },
	{ IKE_PRF_HMAC_SHA2_384, "PRF_HMAC_SHA2_384", "SHA384", 48 },
	{ IKE_PRF_HMAC_SHA2_512, "PRF_HMAC_SHA2_512", "SHA512", 64 },
};

/* RFC 4868 2.1.1: the HMAC-SHA-2 integrity keys are as long as the hash */
static const struct ike_integ_desc integ_tab[] = {
	{ IKE_AUTH_NONE,              "NONE",                   NULL,      0,  0 },
	{ IKE_AUTH_HMAC_SHA1_96,      "AUTH_HMAC_SHA1_96",      "SHA1",   20, 12 },
	{ IKE_AUTH_HMAC_SHA2_256_128, "AUTH_HMAC_SHA2_256_128", "SHA256", 32, 16 },
	{ IKE_AUTH_HMAC_SHA2_384_192, "AUTH_HMAC_SHA2_384_192", "SHA384", 48, 24 },
	{ IKE_AUTH_HMAC_SHA2_512_256, "AUTH_HMAC_SHA2_512_256", "SHA512", 64, 32 },
};

/*                                      id name aead var_key block iv salt icv */
static const struct ike_encr_desc encr_tab[] = {
	{ IKE_ENCR_NULL,       "ENCR_NULL",       false, false,  1,  0, 0,  0 },
	{ IKE_ENCR_AES_CBC,    "ENCR_AES_CBC",    false, true,  16, 16, 0,  0 },
	{ IKE_ENCR_AES_GCM_8,  "ENCR_AES_GCM_8",  true,  true,   1,  8, 4,  8 },
	{ IKE_ENCR_AES_GCM_12, "ENCR_AES_GCM_12", true,  true,   1,  8, 4, 12 },
	{ IKE_ENCR_AES_GCM_16, "ENCR_AES_GCM_16", true,  true,   1,  8, 4, 16 },
};

const struct ike_prf_desc *ike_prf_get(uint16_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(prf_tab); i++)
		if (prf_tab[i].id == id)
			return &prf_tab[i];
	return NULL;
}

const struct ike_integ_desc *ike_integ_get(uint16_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(integ_tab); i++)
		if (integ_tab[i].id == id)
			return &integ_tab[i];
	return NULL;
}

const struct ike_encr_desc *ike_encr_get(uint16_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(encr_tab); i++)
		if (encr_tab[i].id == id)
			return &encr_tab[i];
	return NULL;
}

int ike_encr_key_len(uint16_t encr, unsigned int key_bits)
{
	const struct ike_encr_desc *d = ike_encr_get(encr);

	if (!d)
		return -EINVAL;
	if (!d->var_key)
		return key_bits == 0 ? 0 : -EINVAL;
	if (key_bits != 128 && key_bits != 192 && key_bits != 256)
		return -EINVAL;
	return (int)(key_bits / 8);
}

const struct evp_md_st *ike_prf_md(uint16_t prf)
{
	const struct ike_prf_desc *d = ike_prf_get(prf);

	return d ? EVP_get_digestbyname(d->md) : NULL;
}

const struct evp_md_st *ike_integ_md(uint16_t integ)
{
	const struct ike_integ_desc *d = ike_integ_get(integ);

	return d && d->md ? EVP_get_digestbyname(d->md) : NULL;
}

int ike_suite_check(const struct ike_suite *s, bool ike_sa)
{
	const struct ike_encr_desc *e;

	if (!s)
		return -EINVAL;
	e = ike_encr_get(s->encr);
	if (!e || ike_encr_key_len(s->encr, s->encr_key_bits) < 0)
		return -EINVAL;
	if (!ike_integ_get(s->integ))
		return -EINVAL;
	/* AEAD carries its own ICV; everything else needs INTEG */
	if (e->aead != (s->integ == IKE_AUTH_NONE))
		return -EINVAL;
	if (ike_sa && (s->encr == IKE_ENCR_NULL || !ike_prf_get(s->prf)))
		return -EINVAL;
	return 0;
}

/* ---- HMAC ------------------------------------------------------------------ */

/* A keyed HMAC context for digest md; NULL on failure. */
static EVP_MAC_CTX *hmac_new(const char *md, const void *key, size_t keylen)
{
	static const uint8_t nokey;	/* EVP_MAC_init wants non-NULL for "set key" */
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	EVP_MAC *mac;

	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		return NULL;
	ctx = EVP_MAC_CTX_new(mac);	/* takes its own reference */
	EVP_MAC_free(mac);
	if (!ctx)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)md, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, keylen ? key : &nokey, keylen, params)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Feed iov[] into ctx and finish into out (outsize bytes of room). */
static int hmac_finish(EVP_MAC_CTX *ctx, const struct ike_iov *iov,
		       unsigned int n, uint8_t *out, size_t outsize,
		       size_t *outlen)
{
	for (unsigned int i = 0; i < n; i++)
		if (iov[i].len && !EVP_MAC_update(ctx, iov[i].base, iov[i].len))
			return -EIO;
	if (!EVP_MAC_final(ctx, out, outlen, outsize))
		return -EIO;
	return 0;
}

/* out = HMAC-md(key, iov...); outsize must cover the full digest. */
static int hmac_vec(const char *md, const void *key, size_t keylen,
		    const struct ike_iov *iov, unsigned int n, uint8_t *out,
		    size_t outsize, size_t *outlen)
{
	EVP_MAC_CTX *ctx;
	int ret;

	ctx = hmac_new(md, key, keylen);
	if (!ctx)
		return -EIO;
	ret = hmac_finish(ctx, iov, n, out, outsize, outlen);
	EVP_MAC_CTX_free(ctx);
	return ret;
}

/* ---- prf and prf+ ------------------------------------------------------------ */

int ike_prfv(uint16_t prf, const void *key, size_t keylen,
	     const struct ike_iov *iov, unsigned int n, uint8_t *out,
	     size_t *outlen)
{
	const struct ike_prf_desc *d = ike_prf_get(prf);
	size_t len = 0;
	int ret;

	if (!d || !out || (keylen && !key) || (n && !iov))
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++)
		if (iov[i].len && !iov[i].base)
			return -EINVAL;
	ret = hmac_vec(d->md, key, keylen, iov, n, out, d->len, &len);
	if (ret)
		return ret;
	if (len != d->len) {
		OPENSSL_cleanse(out, len);
		return -EIO;
	}
	if (outlen)
		*outlen = len;
	return 0;
}

int ike_prf(uint16_t prf, const void *key, size_t keylen, const void *data,
	    size_t datalen, uint8_t *out, size_t *outlen)
{
	struct ike_iov iov = { data, datalen };

	if (datalen && !data)
		return -EINVAL;
	return ike_prfv(prf, key, keylen, &iov, 1, out, outlen);
}

int ike_prf_plus(uint16_t prf, const void *key, size_t keylen,
		 const struct ike_iov *seed, unsigned int nseed, uint8_t *out,
		 size_t outlen)
{
	const struct ike_prf_desc *d = ike_prf_get(prf);
	EVP_MAC_CTX *tmpl = NULL, *ctx = NULL;
	uint8_t t[IKE_PRF_MAX_LEN];
	size_t tlen = 0, done = 0;
	unsigned int i;
	int ret = 0;

	if (!d || (keylen && !key) || (nseed && !seed) || (outlen && !out))
		return -EINVAL;
	for (i = 0; i < nseed; i++)
		if (seed[i].len && !seed[i].base)
			return -EINVAL;
	/* RFC 7296 2.13: the counter is one octet, so 255 blocks at most */
	if (outlen > 255 * (size_t)d->len)
		return -ERANGE;
	if (!outlen)
		return 0;

	/* key the HMAC once; every block starts from a copy of it */
	tmpl = hmac_new(d->md, key, keylen);
	if (!tmpl)
		return -EIO;
	for (uint8_t n = 1; done < outlen; n++) {
		size_t take;

		ctx = EVP_MAC_CTX_dup(tmpl);
		if (!ctx) {
			ret = -EIO;
			goto out;
		}
		/* Tn = prf(K, Tn-1 | S | n), T0 empty */
		if (tlen && !EVP_MAC_update(ctx, t, tlen)) {
			ret = -EIO;
			goto out;
		}
		for (i = 0; i < nseed; i++) {
			if (seed[i].len &&
			    !EVP_MAC_update(ctx, seed[i].base, seed[i].len)) {
				ret = -EIO;
				goto out;
			}
		}
		if (!EVP_MAC_update(ctx, &n, 1) ||
		    !EVP_MAC_final(ctx, t, &tlen, sizeof(t)) ||
		    tlen != d->len) {
			ret = -EIO;
			goto out;
		}
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
		take = outlen - done < tlen ? outlen - done : tlen;
		memcpy(out + done, t, take);
		done += take;
	}
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_CTX_free(tmpl);
	OPENSSL_cleanse(t, sizeof(t));
	if (ret)
		OPENSSL_cleanse(out, outlen);
	return ret;
}

/* ---- IKE SA key schedule ----------------------------------------------------- */

static bool nonce_ok(const uint8_t *n, size_t len)
{
	return n && len >= 1 && len <= IKE_NONCE_MAX_LEN;
}

int ike_skeyseed(uint16_t prf, const uint8_t *ni, size_t ni_len,
		 const uint8_t *nr, size_t nr_len, const uint8_t *gir,
		 size_t gir_len, uint8_t *out, size_t *outlen)
{
	uint8_t key[2 * IKE_NONCE_MAX_LEN];
	int ret;

	if (!nonce_ok(ni, ni_len) || !nonce_ok(nr, nr_len) || !gir ||
	    !gir_len)
		return -EINVAL;
	/* RFC 7296 2.14: HMAC PRFs take Ni | Nr whole as the key */
	memcpy(key, ni, ni_len);
	memcpy(key + ni_len, nr, nr_len);
	ret = ike_prf(prf, key, ni_len + nr_len, gir, gir_len, out, outlen);
	OPENSSL_cleanse(key, sizeof(key));
	return ret;
}

int ike_skeyseed_rekey(uint16_t old_prf, const uint8_t *sk_d, size_t sk_d_len,
		       const uint8_t *gir_new, size_t gir_new_len,
		       const uint8_t *ni, size_t ni_len, const uint8_t *nr,
		       size_t nr_len, uint8_t *out, size_t *outlen)
{
	struct ike_iov iov[3] = {
		{ gir_new, gir_new_len }, { ni, ni_len }, { nr, nr_len },
	};

	if (!sk_d || !sk_d_len || !gir_new || !gir_new_len ||
	    !nonce_ok(ni, ni_len) || !nonce_ok(nr, nr_len))
		return -EINVAL;
	return ike_prfv(old_prf, sk_d, sk_d_len, iov, 3, out, outlen);
}

int ike_keys_derive(struct ike_keys *keys, const struct ike_suite *suite,
		    const uint8_t *skeyseed, size_t skeyseed_len,
		    const uint8_t *ni, size_t ni_len, const uint8_t *nr,
		    size_t nr_len, const uint8_t spi_i[IKE_SPI_LEN],
		    const uint8_t spi_r[IKE_SPI_LEN])
{
	uint8_t km[7 * IKE_KEY_MAX_LEN];
	const struct ike_encr_desc *e;
	size_t p, a, x, total, off = 0;
	int ret;

	if (!keys || !skeyseed || !skeyseed_len || !nonce_ok(ni, ni_len) ||
	    !nonce_ok(nr, nr_len) || !spi_i || !spi_r)
		return -EINVAL;
	ret = ike_suite_check(suite, true);
	if (ret)
		return ret;
	e = ike_encr_get(suite->encr);
	p = ike_prf_get(suite->prf)->len;
	a = ike_integ_get(suite->integ)->key_len;
	x = (size_t)ike_encr_key_len(suite->encr, suite->encr_key_bits) +
	    e->salt_len;
	total = 3 * p + 2 * a + 2 * x;

	struct ike_iov seed[4] = {
		{ ni, ni_len }, { nr, nr_len },
		{ spi_i, IKE_SPI_LEN }, { spi_r, IKE_SPI_LEN },
	};
	ret = ike_prf_plus(suite->prf, skeyseed, skeyseed_len, seed, 4, km,
			   total);
	if (ret)
		goto out;

	/* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} */
	OPENSSL_cleanse(keys, sizeof(*keys));
	keys->suite = *suite;
	keys->sk_d_len = p;
	keys->sk_a_len = a;
	keys->sk_e_len = x;
	keys->sk_p_len = p;
	memcpy(keys->sk_d, km + off, p);
	off += p;
	memcpy(keys->sk_ai, km + off, a);
	off += a;
	memcpy(keys->sk_ar, km + off, a);
	off += a;
	memcpy(keys->sk_ei, km + off, x);
	off += x;
	memcpy(keys->sk_er, km + off, x);
	off += x;
	memcpy(keys->sk_pi, km + off, p);
	off += p;
	memcpy(keys->sk_pr, km + off, p);
out:
	OPENSSL_cleanse(km, sizeof(km));
	return ret;
}

int ike_keys_init(struct ike_keys *keys, const struct ike_suite *suite,
		  const uint8_t *gir, size_t gir_len, const uint8_t *ni,
		  size_t ni_len, const uint8_t *nr, size_t nr_len,
		  const uint8_t spi_i[IKE_SPI_LEN],
		  const uint8_t spi_r[IKE_SPI_LEN])
{
	uint8_t skeyseed[IKE_PRF_MAX_LEN];
	size_t len = 0;
	int ret;

	ret = ike_suite_check(suite, true);
	if (ret)
		return ret;
	ret = ike_skeyseed(suite->prf, ni, ni_len, nr, nr_len, gir, gir_len,
			   skeyseed, &len);
	if (!ret)
		ret = ike_keys_derive(keys, suite, skeyseed, len, ni, ni_len,
				      nr, nr_len, spi_i, spi_r);
	OPENSSL_cleanse(skeyseed, sizeof(skeyseed));
	return ret;
}

void ike_keys_wipe(struct ike_keys *keys)
{
	if (keys)
		OPENSSL_cleanse(keys, sizeof(*keys));
}

/* ---- Child SA KEYMAT ---------------------------------------------------------- */

int ike_child_keymat(struct ike_child_keys *ck, uint16_t prf,
		     const uint8_t *sk_d, size_t sk_d_len,
		     const struct ike_suite *child, const uint8_t *gir_new,
		     size_t gir_new_len, const uint8_t *ni, size_t ni_len,
		     const uint8_t *nr, size_t nr_len)
{
	uint8_t km[4 * IKE_KEY_MAX_LEN];
	struct ike_iov seed[3];
	unsigned int nseed = 0;
	size_t e, a;
	int ret;

	if (!ck || !sk_d || !sk_d_len || !nonce_ok(ni, ni_len) ||
	    !nonce_ok(nr, nr_len) || (gir_new_len && !gir_new) ||
	    !ike_prf_get(prf))
		return -EINVAL;
	ret = ike_suite_check(child, false);
	if (ret)
		return ret;
	/* RFC 4106 8.1: a GCM key is followed by its 4-byte salt */
	e = (size_t)ike_encr_key_len(child->encr, child->encr_key_bits) +
	    ike_encr_get(child->encr)->salt_len;
	a = ike_integ_get(child->integ)->key_len;

	/* KEYMAT = prf+(SK_d, [g^ir (new)] | Ni | Nr) */
	if (gir_new_len)
		seed[nseed++] = (struct ike_iov){ gir_new, gir_new_len };
	seed[nseed++] = (struct ike_iov){ ni, ni_len };
	seed[nseed++] = (struct ike_iov){ nr, nr_len };
	ret = ike_prf_plus(prf, sk_d, sk_d_len, seed, nseed, km, 2 * (e + a));
	if (ret)
		goto out;

	/* RFC 7296 2.17: i->r first; encryption key, then integrity key */
	OPENSSL_cleanse(ck, sizeof(*ck));
	ck->encr_len = e;
	ck->integ_len = a;
	memcpy(ck->encr_i, km, e);
	memcpy(ck->integ_i, km + e, a);
	memcpy(ck->encr_r, km + e + a, e);
	memcpy(ck->integ_r, km + 2 * e + a, a);
out:
	OPENSSL_cleanse(km, sizeof(km));
	return ret;
}

void ike_child_keys_wipe(struct ike_child_keys *ck)
{
	if (ck)
		OPENSSL_cleanse(ck, sizeof(*ck));
}

/* ---- MODP Diffie-Hellman -------------------------------------------------------- */

struct ike_dh {
	uint16_t group;
	size_t plen;		/* prime length, bytes */
	EVP_PKEY *pkey;		/* our key pair */
	BIGNUM *pm1;		/* p - 1, for the peer range check */
	atomic_uint refs;	/* ike_dh_ref(); freed at the last ike_dh_free() */
};

/* OpenSSL's named groups are the RFC 3526 primes (see the unit test);
 * priv_bits: RFC 3526 section 8, "strength estimate 2" exponent sizes. */
static const struct {
	uint16_t group;
	const char *name;
	size_t len;
	int priv_bits;
} dh_tab[] = {
	{ IKE_DH_MODP2048, "modp_2048",  256, 320 },
	{ IKE_DH_MODP3072, "modp_3072",  384, 420 },
	{ IKE_DH_MODP4096, "modp_4096",  512, 480 },
	{ IKE_DH_MODP8192, "modp_8192", 1024, 620 },
};

static int dh_find(uint16_t group)
{
	for (size_t i = 0; i < ARRAY_SIZE(dh_tab); i++)
		if (dh_tab[i].group == group)
			return (int)i;
	return -1;
}

size_t ike_dh_group_len(uint16_t group)
{
	int i = dh_find(group);

	return i < 0 ? 0 : dh_tab[i].len;
}

uint16_t ike_dh_group(const struct ike_dh *dh)
{
	return dh ? dh->group : 0;
}

struct ike_dh *ike_dh_ref(struct ike_dh *dh)
{
	if (dh)
		atomic_fetch_add(&dh->refs, 1);
	return dh;
}

void ike_dh_free(struct ike_dh *dh)
{
	if (!dh || atomic_fetch_sub(&dh->refs, 1) != 1)
		return;
	/* DH_free() inside clears the private exponent (BN_clear_free) */
	EVP_PKEY_free(dh->pkey);
	BN_free(dh->pm1);
	OPENSSL_cleanse(dh, sizeof(*dh));
	free(dh);
}

int ike_dh_new(uint16_t group, struct ike_dh **out)
{
	EVP_PKEY_CTX *ctx = NULL;
	struct ike_dh *dh = NULL;
	BIGNUM *p = NULL;
	OSSL_PARAM params[3];
	int i, priv_bits, ret = -EIO;

	if (!out)
		return -EINVAL;
	*out = NULL;
	i = dh_find(group);
	if (i < 0)
		return -EINVAL;
	dh = calloc(1, sizeof(*dh));
	if (!dh)
		return -ENOMEM;
	dh->group = group;
	dh->plen = dh_tab[i].len;
	atomic_init(&dh->refs, 1);
	priv_bits = dh_tab[i].priv_bits;

	ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)dh_tab[i].name, 0);
	params[1] = OSSL_PARAM_construct_int(OSSL_PKEY_PARAM_DH_PRIV_LEN,
					     &priv_bits);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_CTX_set_params(ctx, params) <= 0 ||
	    EVP_PKEY_generate(ctx, &dh->pkey) <= 0)
		goto out;

	/* keep p - 1 for the RFC 6989 range check of peer values */
	if (!EVP_PKEY_get_bn_param(dh->pkey, OSSL_PKEY_PARAM_FFC_P, &p) ||
	    (size_t)BN_num_bytes(p) != dh->plen || !BN_sub_word(p, 1))
		goto out;
	dh->pm1 = p;
	p = NULL;
	*out = dh;
	dh = NULL;
	ret = 0;
out:
	BN_free(p);
	EVP_PKEY_CTX_free(ctx);
	ike_dh_free(dh);
	return ret;
}

int ike_dh_public(const struct ike_dh *dh, uint8_t *out, size_t outlen)
{
	BIGNUM *y = NULL;
	int ret = -EIO;

	if (!dh || !out)
		return -EINVAL;
	if (outlen < dh->plen)
		return -ENOSPC;
	if (!EVP_PKEY_get_bn_param(dh->pkey, OSSL_PKEY_PARAM_PUB_KEY, &y))
		return -EIO;
	/* RFC 7296 3.4: KE data is left-padded with zeros to the prime length */
	if (BN_bn2binpad(y, out, (int)dh->plen) == (int)dh->plen)
		ret = 0;
	BN_free(y);
	return ret;
}

/* p - 1 of each group, big-endian, made once (RFC 3526 primes). */
static uint8_t dh_pm1[ARRAY_SIZE(dh_tab)][IKE_DH_MAX_LEN];
static bool dh_pm1_ok;
static pthread_once_t dh_pm1_once = PTHREAD_ONCE_INIT;

static void dh_pm1_init(void)
{
	BIGNUM *(*const get[])(BIGNUM *) = {
		BN_get_rfc3526_prime_2048, BN_get_rfc3526_prime_3072,
		BN_get_rfc3526_prime_4096, BN_get_rfc3526_prime_8192,
	};
	size_t i;

	_Static_assert(ARRAY_SIZE(get) == ARRAY_SIZE(dh_tab), "one prime a group");
	for (i = 0; i < ARRAY_SIZE(dh_tab); i++) {
		BIGNUM *p = get[i](NULL);
		int ok = p && BN_sub_word(p, 1) &&
			 BN_bn2binpad(p, dh_pm1[i], (int)dh_tab[i].len) ==
				 (int)dh_tab[i].len;

		BN_free(p);
		if (!ok)
			return;
	}
	dh_pm1_ok = true;
}

int ike_dh_check_peer(uint16_t group, const uint8_t *peer, size_t peer_len)
{
	int i = dh_find(group);
	size_t k;

	if (i < 0 || !peer || peer_len != dh_tab[i].len)
		return -EINVAL;
	pthread_once(&dh_pm1_once, dh_pm1_init);
	if (!dh_pm1_ok)
		return -EINVAL;
	/* y > 1: some byte before the last is non-zero, or the last > 1 */
	for (k = 0; k + 1 < peer_len && !peer[k]; k++)
		;
	if (k + 1 == peer_len && peer[k] <= 1)
		return -EINVAL;
	/* y < p - 1, as big-endian numbers of the same length */
	return memcmp(peer, dh_pm1[i], peer_len) < 0 ? 0 : -EINVAL;
}

/* An EVP_PKEY holding the peer's public value y in our group. */
static EVP_PKEY *dh_peer_key(const struct ike_dh *dh, const BIGNUM *y)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *peer = NULL;

	bld = OSSL_PARAM_BLD_new();
	if (!bld ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     dh_tab[dh_find(dh->group)].name, 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &peer, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		peer = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return peer;
}

int ike_dh_derive(struct ike_dh *dh, const uint8_t *peer, size_t peer_len,
		  uint8_t *out, size_t outlen)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *y = NULL;
	size_t zlen;
	int ret = -EIO;

	if (!dh || !peer || !out)
		return -EINVAL;
	/* RFC 6989 2.2: exact length, then 1 < y < p-1, before any use */
	if (peer_len != dh->plen)
		return -EINVAL;
	if (outlen < dh->plen)
		return -ENOSPC;
	y = BN_bin2bn(peer, (int)peer_len, NULL);
	if (!y)
		return -ENOMEM;
	if (BN_cmp(y, BN_value_one()) <= 0 || BN_cmp(y, dh->pm1) >= 0) {
		ret = -EINVAL;
		goto out;
	}

	pk = dh_peer_key(dh, y);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, dh->pkey, NULL);
	if (!pk || !ctx || EVP_PKEY_derive_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_dh_pad(ctx, 1) <= 0 ||
	    /* validate_peer = 0: range already checked; see the header */
	    EVP_PKEY_derive_set_peer_ex(ctx, pk, 0) <= 0)
		goto out;
	zlen = dh->plen;
	if (EVP_PKEY_derive(ctx, out, &zlen) <= 0 || zlen > dh->plen) {
		OPENSSL_cleanse(out, dh->plen);
		goto out;
	}
	/* RFC 7296 2.14: g^ir keeps its leading zeros (pad is set; be sure) */
	if (zlen < dh->plen) {
		memmove(out + (dh->plen - zlen), out, zlen);
		memset(out, 0, dh->plen - zlen);
	}
	ret = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	BN_free(y);
	return ret;
}

/* ---- PSK AUTH ---------------------------------------------------------------------- */

#define KEY_PAD		"Key Pad for IKEv2"	/* RFC 7296 2.15, no NUL */

int ike_psk_auth(uint16_t prf, const uint8_t *psk, size_t psk_len,
		 const uint8_t *msg, size_t msg_len, const uint8_t *nonce,
		 size_t nonce_len, const uint8_t *sk_p, size_t sk_p_len,
		 const uint8_t *id_body, size_t id_len, uint8_t *out,
		 size_t *outlen)
{
	const struct ike_prf_desc *d = ike_prf_get(prf);
	uint8_t padkey[IKE_PRF_MAX_LEN], maced_id[IKE_PRF_MAX_LEN];
	struct ike_iov signed_octets[3];
	int ret;

	if (!d || !psk || !psk_len || !msg || msg_len < IKE_SK_IKE_HDR_LEN ||
	    !nonce_ok(nonce, nonce_len) || !sk_p || !sk_p_len || !id_body ||
	    id_len < 4 || !out || !outlen)
		return -EINVAL;
	if (*outlen < d->len)
		return -ENOSPC;

	/* prf(Shared Secret, "Key Pad for IKEv2") */
	ret = ike_prf(prf, psk, psk_len, KEY_PAD, sizeof(KEY_PAD) - 1, padkey,
		      NULL);
	if (ret)
		goto out;
	/* MACedIDFor{R,I} = prf(SK_p, IDx') */
	ret = ike_prf(prf, sk_p, sk_p_len, id_body, id_len, maced_id, NULL);
	if (ret)
		goto out;
	/* AUTH = prf(padkey, RealMessage | Nonce Data | MACedID) */
	signed_octets[0] = (struct ike_iov){ msg, msg_len };
	signed_octets[1] = (struct ike_iov){ nonce, nonce_len };
	signed_octets[2] = (struct ike_iov){ maced_id, d->len };
	ret = ike_prfv(prf, padkey, d->len, signed_octets, 3, out, outlen);
out:
	OPENSSL_cleanse(padkey, sizeof(padkey));
	OPENSSL_cleanse(maced_id, sizeof(maced_id));
	return ret;
}

int ike_auth_verify(uint16_t prf, const uint8_t *psk, size_t psk_len,
		    const uint8_t *msg, size_t msg_len, const uint8_t *nonce,
		    size_t nonce_len, const uint8_t *sk_p, size_t sk_p_len,
		    const uint8_t *id_body, size_t id_len, const uint8_t *auth,
		    size_t auth_len)
{
	uint8_t want[IKE_PRF_MAX_LEN];
	size_t len = sizeof(want);
	int ret;

	if (!auth)
		return -EINVAL;
	ret = ike_psk_auth(prf, psk, psk_len, msg, msg_len, nonce, nonce_len,
			   sk_p, sk_p_len, id_body, id_len, want, &len);
	if (ret)
		goto out;
	/* the length is public; the value is compared in constant time */
	if (auth_len != len || CRYPTO_memcmp(want, auth, len) != 0)
		ret = -EACCES;
out:
	OPENSSL_cleanse(want, sizeof(want));
	return ret;
}

/* ---- AES-CBC --------------------------------------------------------------------------- */

int ike_aes_cbc(bool encrypt, const uint8_t *key, size_t key_len,
		const uint8_t iv[16], const uint8_t *in, size_t len,
		uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	EVP_CIPHER *cipher = NULL;
	const char *name;
	int n1 = 0, n2 = 0, ret = -EIO;

	switch (key_len) {
	case 16:
		name = "AES-128-CBC";
		break;
	case 24:
		name = "AES-192-CBC";
		break;
	case 32:
		name = "AES-256-CBC";
		break;
	default:
		return -EINVAL;
	}
	if (!key || !iv || len % AES_BLOCK || len > INT_MAX ||
	    (len && (!in || !out)))
		return -EINVAL;
	if (!len)
		return 0;
	cipher = EVP_CIPHER_fetch(NULL, name, NULL);
	ctx = EVP_CIPHER_CTX_new();
	if (!cipher || !ctx ||
	    !EVP_CipherInit_ex2(ctx, cipher, key, iv, encrypt ? 1 : 0, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(ctx, 0) ||
	    !EVP_CipherUpdate(ctx, out, &n1, in, (int)len) ||
	    !EVP_CipherFinal_ex(ctx, out + n1, &n2) ||
	    (size_t)n1 + (size_t)n2 != len)
		goto out;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);	/* clears the key schedule */
	EVP_CIPHER_free(cipher);
	return ret;
}

/* ---- SK payload -------------------------------------------------------------------------- */

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#define IKE_HDR_LENGTH_OFF	24	/* Length field in the IKE header */
#define IKE_HDR_NP_OFF		16	/* Next Payload field in the IKE header */

void ike_keys_sk(const struct ike_keys *keys, bool i2r, struct ike_sk_keys *sk)
{
	if (!keys || !sk)
		return;
	sk->encr = keys->suite.encr;
	sk->integ = keys->suite.integ;
	sk->sk_e = i2r ? keys->sk_ei : keys->sk_er;
	sk->sk_e_len = keys->sk_e_len;
	sk->sk_a = i2r ? keys->sk_ai : keys->sk_ar;
	sk->sk_a_len = keys->sk_a_len;
}

/* Validate k for the SK payload; on success *integ describes the ICV. */
static int sk_check_keys(const struct ike_sk_keys *k,
			 const struct ike_integ_desc **integ)
{
	const struct ike_integ_desc *d;

	if (!k)
		return -EINVAL;
	if (k->encr != IKE_ENCR_AES_CBC)
		return ike_encr_get(k->encr) ? -EOPNOTSUPP : -EINVAL;
	if (!k->sk_e ||
	    (k->sk_e_len != 16 && k->sk_e_len != 24 && k->sk_e_len != 32))
		return -EINVAL;
	d = ike_integ_get(k->integ);
	if (!d || !d->md || !k->sk_a || k->sk_a_len != d->key_len)
		return -EINVAL;
	*integ = d;
	return 0;
}

/* ICV = HMAC(SK_a, data[0, len)) truncated to icv_len bytes. */
static int sk_icv(const struct ike_sk_keys *k, const struct ike_integ_desc *d,
		  const uint8_t *data, size_t len, uint8_t *icv)
{
	uint8_t mac[IKE_PRF_MAX_LEN];
	struct ike_iov iov = { data, len };
	size_t maclen = 0;
	int ret;

	ret = hmac_vec(d->md, k->sk_a, k->sk_a_len, &iov, 1, mac, sizeof(mac),
		       &maclen);
	if (!ret && maclen < d->icv_len)
		ret = -EIO;
	if (!ret)
		memcpy(icv, mac, d->icv_len);
	OPENSSL_cleanse(mac, sizeof(mac));
	return ret;
}

/* SK (ext 0) or SKF (ext 4: Fragment Number, Total Fragments, RFC 7383
 * 2.5) after the generic header; both are covered by the ICV. */
static int sk_open_ext(const struct ike_sk_keys *k, const uint8_t *msg,
		       size_t msg_len, size_t sk_off, size_t ext, uint8_t *out,
		       size_t out_size, uint8_t **plain, size_t *plain_len,
		       uint8_t *next_payload)
{
	const struct ike_integ_desc *d = NULL;
	uint8_t icv[IKE_ICV_MAX_LEN];
	size_t sk_len, body, ct_len, icv_off, pad;
	const uint8_t *iv;
	int ret;

	ret = sk_check_keys(k, &d);
	if (ret)
		return ret;
	if (!msg || !out || !plain || !plain_len || !next_payload)
		return -EINVAL;

	/* every length is validated before anything is read through it */
	if (msg_len < IKE_SK_IKE_HDR_LEN || msg_len > IKE_SK_MSG_MAX ||
	    get_be32(msg + IKE_HDR_LENGTH_OFF) != msg_len)
		return -EBADMSG;
	if (sk_off < IKE_SK_IKE_HDR_LEN ||
	    sk_off > msg_len - IKE_SK_GEN_HDR_LEN - ext)
		return -EBADMSG;
	sk_len = get_be16(msg + sk_off + 2);
	if (sk_len != msg_len - sk_off)		/* SK is the last payload */
		return -EBADMSG;
	body = sk_len - IKE_SK_GEN_HDR_LEN - ext;
	if (body < AES_BLOCK + AES_BLOCK + d->icv_len)	/* IV, 1 block, ICV */
		return -EBADMSG;
	ct_len = body - AES_BLOCK - d->icv_len;
	if (ct_len % AES_BLOCK)
		return -EBADMSG;
	if (out_size < ct_len)
		return -ENOSPC;

	/* RFC 7296 3.14: the ICV covers everything before it; check it first */
	icv_off = msg_len - d->icv_len;
	ret = sk_icv(k, d, msg, icv_off, icv);
	if (ret)
		goto out;
	if (CRYPTO_memcmp(icv, msg + icv_off, d->icv_len) != 0) {
		ret = -EBADMSG;
		goto out;
	}

	iv = msg + sk_off + IKE_SK_GEN_HDR_LEN + ext;
	ret = ike_aes_cbc(false, k->sk_e, k->sk_e_len, iv, iv + AES_BLOCK,
			  ct_len, out);
	if (ret) {
		OPENSSL_cleanse(out, ct_len);
		goto out;
	}
	/* inner payloads | padding | Pad Length; padding must fit */
	pad = out[ct_len - 1];
	if (pad >= ct_len) {
		OPENSSL_cleanse(out, ct_len);
		ret = -EBADMSG;
		goto out;
	}
	*plain = out;
	*plain_len = ct_len - 1 - pad;
	*next_payload = msg[sk_off];
out:
	OPENSSL_cleanse(icv, sizeof(icv));
	return ret;
}

int ike_sk_open(const struct ike_sk_keys *k, const uint8_t *msg,
		size_t msg_len, size_t sk_off, uint8_t *out, size_t out_size,
		uint8_t **plain, size_t *plain_len, uint8_t *next_payload)
{
	return sk_open_ext(k, msg, msg_len, sk_off, 0, out, out_size, plain,
			   plain_len, next_payload);
}

int ike_skf_open(const struct ike_sk_keys *k, const uint8_t *msg,
		 size_t msg_len, size_t skf_off, uint8_t *out, size_t out_size,
		 uint8_t **plain, size_t *plain_len, uint8_t *next_payload)
{
	return sk_open_ext(k, msg, msg_len, skf_off, IKE_SKF_EXT_LEN, out,
			   out_size, plain, plain_len, next_payload);
}

/* Validate keys and sizes of a seal; *total is the resulting message length. */
static int sk_layout(const struct ike_sk_keys *k, size_t msg_len, size_t ext,
		     size_t plain_len, const struct ike_integ_desc **d,
		     size_t *total)
{
	size_t ct_len, sk_len;
	int ret;

	ret = sk_check_keys(k, d);
	if (ret)
		return ret;
	if (msg_len > IKE_SK_MSG_MAX || plain_len > IKE_SK_MSG_MAX)
		return -EMSGSIZE;
	/* plain | padding | Pad Length, rounded up to whole blocks */
	ct_len = (plain_len + 1 + AES_BLOCK - 1) / AES_BLOCK * AES_BLOCK;
	sk_len = IKE_SK_GEN_HDR_LEN + ext + AES_BLOCK + ct_len + (*d)->icv_len;
	if (sk_len > UINT16_MAX || msg_len + sk_len > IKE_SK_MSG_MAX)
		return -EMSGSIZE;
	*total = msg_len + sk_len;
	return 0;
}

int ike_sk_sealed_len(const struct ike_sk_keys *k, size_t msg_len,
		      size_t plain_len, size_t *total)
{
	const struct ike_integ_desc *d = NULL;

	if (!total)
		return -EINVAL;
	return sk_layout(k, msg_len, 0, plain_len, &d, total);
}

int ike_skf_sealed_len(const struct ike_sk_keys *k, size_t msg_len,
		       size_t plain_len, size_t *total)
{
	const struct ike_integ_desc *d = NULL;

	if (!total)
		return -EINVAL;
	return sk_layout(k, msg_len, IKE_SKF_EXT_LEN, plain_len, &d, total);
}

size_t ike_sk_plain_off(size_t msg_len)
{
	return msg_len + IKE_SK_GEN_HDR_LEN + AES_BLOCK;
}

/* The cleartext payload chain in buf[28, msg_len) must end in type (SK
 * or SKF). */
static int sk_chain_ends_in_sk(const uint8_t *buf, size_t msg_len, uint8_t type)
{
	uint8_t np = buf[IKE_HDR_NP_OFF];
	size_t off = IKE_SK_IKE_HDR_LEN;

	while (off < msg_len) {
		size_t plen;

		if (np == type || msg_len - off < IKE_SK_GEN_HDR_LEN)
			return -EINVAL;
		plen = get_be16(buf + off + 2);
		if (plen < IKE_SK_GEN_HDR_LEN || plen > msg_len - off)
			return -EINVAL;
		np = buf[off];
		off += plen;
	}
	return np == type ? 0 : -EINVAL;
}

/* SK, or SKF with ext (its 4 bytes of fragment numbers), appended. */
static int sk_seal_ext(const struct ike_sk_keys *k, uint8_t *buf,
		       size_t buf_size, size_t msg_len, uint8_t type,
		       const uint8_t *ext, size_t ext_len, uint8_t first_np,
		       const uint8_t *plain, size_t plain_len, size_t *out_len)
{
	const struct ike_integ_desc *d = NULL;
	size_t total, ct_len;
	uint8_t *sk, *ct;
	int ret;

	ret = sk_layout(k, msg_len, ext_len, plain_len, &d, &total);
	if (ret)
		return ret;
	if (!buf || (plain_len && !plain) || !out_len ||
	    msg_len < IKE_SK_IKE_HDR_LEN || msg_len > buf_size)
		return -EINVAL;
	ret = sk_chain_ends_in_sk(buf, msg_len, type);
	if (ret)
		return ret;
	if (total > buf_size)
		return -ENOSPC;

	sk = buf + msg_len;
	ct = sk + IKE_SK_GEN_HDR_LEN + ext_len + AES_BLOCK;
	ct_len = total - msg_len - IKE_SK_GEN_HDR_LEN - ext_len - AES_BLOCK -
		 d->icv_len;

	/* move the plaintext first: it may sit where the header and IV go */
	if (plain_len)
		memmove(ct, plain, plain_len);
	memset(ct + plain_len, 0, ct_len - plain_len - 1);
	ct[ct_len - 1] = (uint8_t)(ct_len - plain_len - 1);	/* Pad Length */

	sk[0] = first_np;
	sk[1] = 0;				/* critical bit and reserved */
	put_be16(sk + 2, (uint16_t)(total - msg_len));
	if (ext_len)
		memcpy(sk + IKE_SK_GEN_HDR_LEN, ext, ext_len);
	ret = ike_random(sk + IKE_SK_GEN_HDR_LEN + ext_len, AES_BLOCK);
	if (ret)
		goto fail;
	ret = ike_aes_cbc(true, k->sk_e, k->sk_e_len,
			  sk + IKE_SK_GEN_HDR_LEN + ext_len, ct, ct_len, ct);
	if (ret)
		goto fail;
	put_be32(buf + IKE_HDR_LENGTH_OFF, (uint32_t)total);
	ret = sk_icv(k, d, buf, total - d->icv_len, buf + total - d->icv_len);
	if (ret)
		goto fail;
	*out_len = total;
	return 0;
fail:
	OPENSSL_cleanse(ct, ct_len);	/* never leave plaintext behind */
	return ret;
}

int ike_sk_seal(const struct ike_sk_keys *k, uint8_t *buf, size_t buf_size,
		size_t msg_len, uint8_t first_np, const uint8_t *plain,
		size_t plain_len, size_t *out_len)
{
	return sk_seal_ext(k, buf, buf_size, msg_len, IKE_SK_PAYLOAD, NULL, 0,
			   first_np, plain, plain_len, out_len);
}

int ike_skf_seal(const struct ike_sk_keys *k, uint8_t *buf, size_t buf_size,
		 size_t msg_len, uint8_t first_np, uint16_t frag_num,
		 uint16_t total_frags, const uint8_t *plain, size_t plain_len,
		 size_t *out_len)
{
	uint8_t ext[IKE_SKF_EXT_LEN];

	if (!frag_num || frag_num > total_frags)
		return -EINVAL;
	put_be16(ext, frag_num);
	put_be16(ext + 2, total_frags);
	return sk_seal_ext(k, buf, buf_size, msg_len, IKE_SKF_PAYLOAD, ext,
			   sizeof(ext), frag_num == 1 ? first_np : 0, plain,
			   plain_len, out_len);
}

/* ---- NAT detection -------------------------------------------------------------------- */

int ike_natd_hash(const uint8_t spi_i[IKE_SPI_LEN],
		  const uint8_t spi_r[IKE_SPI_LEN], const void *ip,
		  size_t ip_len, uint16_t port, uint8_t out[IKE_NATD_LEN])
{
	uint8_t port_be[2] = { (uint8_t)(port >> 8), (uint8_t)port };
	unsigned int len = 0;
	EVP_MD_CTX *ctx;
	EVP_MD *md;
	int ret = -EIO;

	if (!spi_i || !spi_r || !ip || (ip_len != 4 && ip_len != 16) || !out)
		return -EINVAL;
	md = EVP_MD_fetch(NULL, "SHA1", NULL);
	ctx = EVP_MD_CTX_new();
	/* RFC 7296 2.23: SHA-1(SPIi | SPIr | IP | Port) */
	if (md && ctx && EVP_DigestInit_ex2(ctx, md, NULL) &&
	    EVP_DigestUpdate(ctx, spi_i, IKE_SPI_LEN) &&
	    EVP_DigestUpdate(ctx, spi_r, IKE_SPI_LEN) &&
	    EVP_DigestUpdate(ctx, ip, ip_len) &&
	    EVP_DigestUpdate(ctx, port_be, sizeof(port_be)) &&
	    EVP_DigestFinal_ex(ctx, out, &len) && len == IKE_NATD_LEN)
		ret = 0;
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	return ret;
}

/* ---- randomness --------------------------------------------------------------------------- */

int ike_random(void *buf, size_t len)
{
	if (!buf || len > INT_MAX)
		return -EINVAL;
	if (!len)
		return 0;
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -EIO;
}

int ike_spi_ike(uint8_t spi[IKE_SPI_LEN])
{
	static const uint8_t zero[IKE_SPI_LEN];
	int ret;

	if (!spi)
		return -EINVAL;
	do {
		ret = ike_random(spi, IKE_SPI_LEN);
	} while (!ret && !memcmp(spi, zero, IKE_SPI_LEN));
	return ret;
}

int ike_spi_esp(uint32_t *spi)
{
	uint8_t b[4];
	int ret;

	if (!spi)
		return -EINVAL;
	do {
		ret = ike_random(b, sizeof(b));
		*spi = get_be32(b);
	} while (!ret && *spi < 256);
	return ret;
}
