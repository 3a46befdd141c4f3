/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ike_crypto.h - IKEv2 cryptographic layer of ipsecd (OpenSSL 3 libcrypto).
 *
 * Transform IDs, algorithm descriptors, prf/prf+, the IKE SA and Child SA
 * key schedules (RFC 7296 2.13, 2.14, 2.17, 2.18), MODP Diffie-Hellman
 * (RFC 3526), PSK AUTH (RFC 7296 2.15), SK payload protection with AES-CBC
 * and truncated HMAC (RFC 7296 3.14), NAT detection hashes (RFC 7296 2.23)
 * and random SPIs.
 *
 * Conventions:
 *  - Every int function returns 0 or -errno:
 *      -EINVAL      bad argument, unknown transform or inconsistent suite
 *      -EOPNOTSUPP  known transform this function does not implement
 *      -ENOSPC      the caller's output buffer is too small
 *      -EMSGSIZE    the result would exceed IKE_SK_MSG_MAX or a length field
 *      -ERANGE      prf+ asked for more than 255 blocks
 *      -EBADMSG     a received message is malformed or fails its ICV
 *      -EACCES      an AUTH value does not match
 *      -ENOMEM, -EIO  libcrypto allocation or other failure
 *  - Multi-byte wire values are big-endian (network order).
 *  - Every secret this module creates is wiped with OPENSSL_cleanse before
 *    its memory is released; callers wipe what they own with the *_wipe()
 *    and *_free() functions below. ICV and AUTH are compared with
 *    CRYPTO_memcmp.
 *  - No global state: all functions are thread-safe for distinct objects.
 */
#ifndef EG_IKE_CRYPTO_H
#define EG_IKE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * IANA "IKEv2 Transform Type" values (RFC 7296 3.3.2, 3.3.3).
 * These are the single definitions for the whole daemon.
 */

/* Transform Type 1, Encryption Algorithm (ENCR) */
#define IKE_ENCR_NULL		11	/* RFC 2410; ESP only, never IKE */
#define IKE_ENCR_AES_CBC	12	/* RFC 3602; Key Length 128/192/256 */
#define IKE_ENCR_AES_GCM_8	18	/* RFC 4106, 8-octet ICV */
#define IKE_ENCR_AES_GCM_12	19	/* RFC 4106, 12-octet ICV */
#define IKE_ENCR_AES_GCM_16	20	/* RFC 4106, 16-octet ICV */

/* Transform Type 2, Pseudorandom Function (PRF) */
#define IKE_PRF_HMAC_SHA1	2	/* RFC 2104 */
#define IKE_PRF_HMAC_SHA2_256	5	/* RFC 4868 */
#define IKE_PRF_HMAC_SHA2_384	6	/* RFC 4868 */
#define IKE_PRF_HMAC_SHA2_512	7	/* RFC 4868 */

/* Transform Type 3, Integrity Algorithm (INTEG) */
#define IKE_AUTH_NONE			0	/* with AEAD ciphers */
#define IKE_AUTH_HMAC_SHA1_96		2	/* RFC 2404 */
#define IKE_AUTH_HMAC_SHA2_256_128	12	/* RFC 4868 */
#define IKE_AUTH_HMAC_SHA2_384_192	13	/* RFC 4868 */
#define IKE_AUTH_HMAC_SHA2_512_256	14	/* RFC 4868 */

/* Transform Type 4, Diffie-Hellman Group (D-H); all generator 2 */
#define IKE_DH_MODP2048		14	/* RFC 3526 section 3 */
#define IKE_DH_MODP3072		15	/* RFC 3526 section 4 */
#define IKE_DH_MODP4096		16	/* RFC 3526 section 5 */
#define IKE_DH_MODP8192		18	/* RFC 3526 section 7 */

/* Transform Type 5, Extended Sequence Numbers (ESN) */
#define IKE_ESN_NO		0
#define IKE_ESN_YES		1

/* Payload type of the Encrypted and Authenticated (SK) payload, RFC 7296 3.14 */
#define IKE_SK_PAYLOAD		46
#define IKE_SKF_PAYLOAD		53	/* Encrypted Fragment, RFC 7383 */
#define IKE_SK_IKE_HDR_LEN	28	/* fixed IKE header, RFC 7296 3.1 */
#define IKE_SK_GEN_HDR_LEN	4	/* generic payload header, RFC 7296 3.2 */
#define IKE_SKF_EXT_LEN		4	/* Fragment Number, Total (RFC 7383 2.5) */
#define IKE_SK_MSG_MAX		65536	/* largest IKE message we build or accept */

/* Size limits, bytes */
#define IKE_PRF_MAX_LEN		64	/* HMAC-SHA2-512 output */
#define IKE_KEY_MAX_LEN		64	/* any single SK_x or child key (+salt) */
#define IKE_ICV_MAX_LEN		32	/* HMAC-SHA2-512-256 */
#define IKE_NONCE_MAX_LEN	256	/* RFC 7296 3.9 */
#define IKE_DH_MAX_LEN		1024	/* MODP-8192 */
#define IKE_NATD_LEN		20	/* SHA-1 */
#define IKE_SPI_LEN		8

/* ---- algorithm descriptors ---------------------------------------------- */

struct ike_prf_desc {
	uint16_t id;		/* IKE_PRF_* */
	const char *name;	/* IANA name, e.g. "PRF_HMAC_SHA2_256" */
	const char *md;		/* OpenSSL digest name */
	uint8_t len;		/* output length = preferred key length */
};

struct ike_integ_desc {
	uint16_t id;		/* IKE_AUTH_* */
	const char *name;
	const char *md;		/* NULL for IKE_AUTH_NONE */
	uint8_t key_len;	/* SK_a / child integrity key length */
	uint8_t icv_len;	/* truncated output length */
};

struct ike_encr_desc {
	uint16_t id;		/* IKE_ENCR_* */
	const char *name;
	bool aead;		/* AES-GCM */
	bool var_key;		/* takes the Key Length attribute (128/192/256) */
	uint8_t block_len;	/* cipher block; 1 for GCM and NULL */
	uint8_t iv_len;		/* IV in each message: 16 CBC, 8 GCM, 0 NULL */
	uint8_t salt_len;	/* KEYMAT salt after the key: 4 for GCM */
	uint8_t icv_len;	/* AEAD tag length, 0 otherwise */
};

/* Look a transform up by IANA ID; NULL when this module does not know it. */
const struct ike_prf_desc *ike_prf_get(uint16_t id);
const struct ike_integ_desc *ike_integ_get(uint16_t id);
const struct ike_encr_desc *ike_encr_get(uint16_t id);

/*
 * Key length in bytes of encr with the given Key Length attribute in bits,
 * not counting any salt: 16/24/32 for AES, 0 for ENCR_NULL (key_bits must be
 * 0). Returns -EINVAL for an unknown encr or a key size it does not take.
 */
int ike_encr_key_len(uint16_t encr, unsigned int key_bits);

/*
 * The OpenSSL message digest behind a PRF or integrity transform (a static
 * object, never freed), or NULL if unknown.
 */
struct evp_md_st;
const struct evp_md_st *ike_prf_md(uint16_t prf);
const struct evp_md_st *ike_integ_md(uint16_t integ);

/*
 * A negotiated set of transforms. For an IKE SA all of encr, prf and integ
 * are used; for a Child SA only encr, encr_key_bits and integ.
 */
struct ike_suite {
	uint16_t encr;		/* IKE_ENCR_* */
	uint16_t encr_key_bits;	/* Key Length attribute; 0 for ENCR_NULL */
	uint16_t prf;		/* IKE_PRF_* (IKE SA only) */
	uint16_t integ;		/* IKE_AUTH_*; IKE_AUTH_NONE with AES-GCM */
	uint16_t dh;		/* IKE_DH_*; informational here */
};

/*
 * Check a suite for consistency: AES-GCM needs IKE_AUTH_NONE, AES-CBC and
 * ENCR_NULL need an integrity algorithm, key sizes must be valid, and for an
 * IKE SA (ike_sa true) ENCR_NULL is refused and the PRF must be known.
 */
int ike_suite_check(const struct ike_suite *s, bool ike_sa);

/* ---- prf and prf+ (RFC 7296 2.13) ---------------------------------------- */

/* One input chunk; a list of them is hashed as their concatenation. */
struct ike_iov {
	const void *base;
	size_t len;
};

/*
 * out = prf(key, iov[0] | ... | iov[n-1]), the HMAC with the PRF's digest.
 * out must hold ike_prf_get(prf)->len bytes; *outlen receives that length
 * (outlen may be NULL). Any key length is accepted, including 0.
 */
int ike_prfv(uint16_t prf, const void *key, size_t keylen,
	     const struct ike_iov *iov, unsigned int n, uint8_t *out,
	     size_t *outlen);

/* ike_prfv() with a single data buffer. */
int ike_prf(uint16_t prf, const void *key, size_t keylen, const void *data,
	    size_t datalen, uint8_t *out, size_t *outlen);

/*
 * out[0..outlen) = prf+(key, S) where S is the concatenation of seed[]:
 * T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n). At most 255 blocks are
 * defined; a longer request returns -ERANGE and writes nothing.
 */
int ike_prf_plus(uint16_t prf, const void *key, size_t keylen,
		 const struct ike_iov *seed, unsigned int nseed, uint8_t *out,
		 size_t outlen);

/* ---- IKE SA key schedule (RFC 7296 2.14, 2.18) ---------------------------- */

/*
 * SKEYSEED = prf(Ni | Nr, g^ir). For the HMAC PRFs the key is Ni | Nr in
 * full. Nonces must be 1..IKE_NONCE_MAX_LEN bytes (the payload parser
 * enforces the 16-byte minimum of RFC 7296 3.9; the NIST vectors use 8).
 * out holds IKE_PRF_MAX_LEN bytes; *outlen gets the PRF length.
 */
int ike_skeyseed(uint16_t prf, const uint8_t *ni, size_t ni_len,
		 const uint8_t *nr, size_t nr_len, const uint8_t *gir,
		 size_t gir_len, uint8_t *out, size_t *outlen);

/*
 * IKE SA rekey, RFC 7296 2.18:
 * SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), with the OLD IKE SA's
 * PRF. The new keys then come from ike_keys_derive() with the new suite.
 */
int ike_skeyseed_rekey(uint16_t old_prf, const uint8_t *sk_d, size_t sk_d_len,
		       const uint8_t *gir_new, size_t gir_new_len,
		       const uint8_t *ni, size_t ni_len, const uint8_t *nr,
		       size_t nr_len, uint8_t *out, size_t *outlen);

/*
 * The seven IKE SA keys. SK_e* carry the 4-byte salt at their end for
 * AES-GCM (then sk_a_len is 0). Embedded arrays, so the struct can live
 * inside an SA; ike_keys_wipe() clears it.
 */
struct ike_keys {
	struct ike_suite suite;
	size_t sk_d_len, sk_a_len, sk_e_len, sk_p_len;
	uint8_t sk_d[IKE_KEY_MAX_LEN];
	uint8_t sk_ai[IKE_KEY_MAX_LEN], sk_ar[IKE_KEY_MAX_LEN];
	uint8_t sk_ei[IKE_KEY_MAX_LEN], sk_er[IKE_KEY_MAX_LEN];
	uint8_t sk_pi[IKE_KEY_MAX_LEN], sk_pr[IKE_KEY_MAX_LEN];
};

/*
 * {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *	= prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
 * SK_d, SK_pi, SK_pr take the PRF's preferred key length, SK_a* the
 * integrity key length, SK_e* the cipher key length (+ salt). spi_i/spi_r
 * are the 8-byte SPIs as they appear in the IKE header.
 */
int ike_keys_derive(struct ike_keys *keys, const struct ike_suite *suite,
		    const uint8_t *skeyseed, size_t skeyseed_len,
		    const uint8_t *ni, size_t ni_len, const uint8_t *nr,
		    size_t nr_len, const uint8_t spi_i[IKE_SPI_LEN],
		    const uint8_t spi_r[IKE_SPI_LEN]);

/*
 * The initial IKE SA (IKE_SA_INIT): SKEYSEED from g^ir, then
 * ike_keys_derive(); SKEYSEED never leaves this function.
 */
int ike_keys_init(struct ike_keys *keys, const struct ike_suite *suite,
		  const uint8_t *gir, size_t gir_len, const uint8_t *ni,
		  size_t ni_len, const uint8_t *nr, size_t nr_len,
		  const uint8_t spi_i[IKE_SPI_LEN],
		  const uint8_t spi_r[IKE_SPI_LEN]);

/* OPENSSL_cleanse the whole struct. Safe on NULL. */
void ike_keys_wipe(struct ike_keys *keys);

/* ---- Child SA KEYMAT (RFC 7296 2.17, RFC 4106 8.1) ------------------------ */

/*
 * Keys of one Child SA: KEYMAT = prf+(SK_d, [g^ir (new)] | Ni | Nr), taken
 * in the order ENCR(i->r) | INTEG(i->r) | ENCR(r->i) | INTEG(r->i). For
 * AES-GCM each encryption key is followed by its 4-byte salt and encr_len
 * counts it; integ_len is then 0. For ENCR_NULL encr_len is 0.
 */
struct ike_child_keys {
	size_t encr_len, integ_len;
	uint8_t encr_i[IKE_KEY_MAX_LEN];	/* initiator -> responder */
	uint8_t integ_i[IKE_KEY_MAX_LEN];
	uint8_t encr_r[IKE_KEY_MAX_LEN];	/* responder -> initiator */
	uint8_t integ_r[IKE_KEY_MAX_LEN];
};

/*
 * Derive a Child SA's keys. prf and sk_d come from the IKE SA; child gives
 * encr, encr_key_bits and integ (checked with ike_suite_check(child, false)).
 * gir_new is the PFS shared secret of a CREATE_CHILD_SA exchange, or NULL
 * with gir_new_len 0 (IKE_AUTH and rekeys without PFS).
 */
int ike_child_keymat(struct ike_child_keys *ck, uint16_t prf,
		     const uint8_t *sk_d, size_t sk_d_len,
		     const struct ike_suite *child, const uint8_t *gir_new,
		     size_t gir_new_len, const uint8_t *ni, size_t ni_len,
		     const uint8_t *nr, size_t nr_len);

/* OPENSSL_cleanse the whole struct. Safe on NULL. */
void ike_child_keys_wipe(struct ike_child_keys *ck);

/* ---- MODP Diffie-Hellman (RFC 3526, RFC 6989) ------------------------------ */

struct ike_dh;

/* Length in bytes of the group's prime (and of every public value and
 * shared secret), or 0 if the group is not supported. */
size_t ike_dh_group_len(uint16_t group);

/*
 * New key pair in a MODP group (14, 15, 16, 18) using OpenSSL's built-in
 * RFC 3526 groups ("modp_2048", ...). The private exponent is random with
 * the "strength estimate 2" exponent size of RFC 3526 section 8 (320, 420,
 * 480 and 620 bits).
 */
int ike_dh_new(uint16_t group, struct ike_dh **dh);

/* Our public value g^x mod p, big-endian, left-padded with zeros to exactly
 * ike_dh_group_len() bytes; outlen must be at least that. */
int ike_dh_public(const struct ike_dh *dh, uint8_t *out, size_t outlen);

/*
 * Shared secret g^xy mod p from the peer's KE data. Checks first that
 * peer_len equals the prime length and that 1 < y < p-1 (RFC 6989 2.2; for
 * these safe-prime groups that range check is the whole required check) and
 * returns -EINVAL otherwise. Writes exactly ike_dh_group_len() bytes with
 * leading zeros kept (RFC 7296 2.14); outlen must be at least that.
 *
 * OpenSSL's own peer validation is skipped on purpose: the derive uses
 * EVP_PKEY_derive_set_peer_ex(ctx, peer, 0). With validate_peer=1, OpenSSL
 * 3.0 runs EVP_PKEY_public_check(), i.e. DH_check_pub_key(), which for
 * these groups (q = (p-1)/2 is known) also computes y^q mod p: one more
 * full-size modular exponentiation per exchange. ossl_dh_compute_key()
 * itself then only rejects a result Z <= 1 or Z = p-1.
 */
/*
 * RFC 6989 2.2 for a peer's public value alone, before any key of ours
 * exists: exactly the prime's length and 1 < y < p-1. 0 or -EINVAL
 * (-EINVAL also for a group we do not have). Costs no exponentiation, so
 * an unauthenticated IKE_SA_INIT is checked before we do any DH work.
 */
int ike_dh_check_peer(uint16_t group, const uint8_t *peer, size_t peer_len);

int ike_dh_derive(struct ike_dh *dh, const uint8_t *peer, size_t peer_len,
		  uint8_t *out, size_t outlen);

/* Group of a key pair. */
uint16_t ike_dh_group(const struct ike_dh *dh);

/* Drop a reference to the key pair; the last one frees it (OpenSSL clears
 * the private exponent). Safe on NULL. */
void ike_dh_free(struct ike_dh *dh);

/* One more reference (a worker thread deriving with a kept key pair:
 * ike_dh_public() and ike_dh_derive() only read it). Returns dh. */
struct ike_dh *ike_dh_ref(struct ike_dh *dh);

/* ---- PSK authentication (RFC 7296 2.15) ----------------------------------- */

/*
 * AUTH = prf(prf(PSK, "Key Pad for IKEv2"), <SignedOctets>), with
 *   responder: SignedOctets = RealMessage2 | NonceIData | prf(SK_pr, IDr')
 *   initiator: SignedOctets = RealMessage1 | NonceRData | prf(SK_pi, IDi')
 * msg is the whole IKE_SA_INIT message this side sent (from the IKE header
 * on, without any non-ESP marker), nonce the peer's Nonce Data, sk_p this
 * side's SK_p and id_body the ID payload body starting at the ID Type byte
 * (ID Type | 3 reserved bytes | identification data). *outlen: capacity of
 * out on entry, AUTH length (the PRF length) on return.
 */
int ike_psk_auth(uint16_t prf, const uint8_t *psk, size_t psk_len,
		 const uint8_t *msg, size_t msg_len, const uint8_t *nonce,
		 size_t nonce_len, const uint8_t *sk_p, size_t sk_p_len,
		 const uint8_t *id_body, size_t id_len, uint8_t *out,
		 size_t *outlen);

/*
 * Recompute the peer's AUTH with ike_psk_auth() (pass the peer's message,
 * our nonce, the peer's SK_p and the peer's ID body) and compare it with
 * auth in constant time. 0 on match, -EACCES on mismatch or wrong length.
 */
int ike_auth_verify(uint16_t prf, const uint8_t *psk, size_t psk_len,
		    const uint8_t *msg, size_t msg_len, const uint8_t *nonce,
		    size_t nonce_len, const uint8_t *sk_p, size_t sk_p_len,
		    const uint8_t *id_body, size_t id_len, const uint8_t *auth,
		    size_t auth_len);

/* ---- SK payload (RFC 7296 3.14): AES-CBC + truncated HMAC ------------------ */

/*
 * The keys of one direction. Initiator-to-responder messages use SK_ei and
 * SK_ai, responder-to-initiator messages SK_er and SK_ar; see ike_keys_sk().
 * The length of sk_e selects AES-128/192/256.
 */
struct ike_sk_keys {
	uint16_t encr;		/* IKE_ENCR_AES_CBC; others: -EOPNOTSUPP */
	uint16_t integ;		/* IKE_AUTH_HMAC_* */
	const uint8_t *sk_e;
	size_t sk_e_len;
	const uint8_t *sk_a;
	size_t sk_a_len;
};

/* Point sk at the keys protecting messages from the initiator (i2r true) or
 * from the responder (i2r false). A responder opens with i2r true and seals
 * with i2r false. sk keeps pointers into keys. */
void ike_keys_sk(const struct ike_keys *keys, bool i2r, struct ike_sk_keys *sk);

/*
 * Verify and decrypt a received message whose last payload is SK.
 * msg/msg_len: the whole IKE message (IKE header first, length field equal
 * to msg_len); sk_off: offset of the SK payload's generic header. The ICV
 * over msg[0, msg_len - icv) is checked in constant time before anything is
 * decrypted. The inner payloads are decrypted into out (out_size must be at
 * least the ciphertext length, which is below msg_len; out must not overlap
 * msg); on success *plain = out, *plain_len = their length and *next_payload
 * = type of the first inner payload (the SK header's Next Payload).
 * Any inconsistent length, a bad ICV or bad padding gives -EBADMSG; nothing
 * is read outside msg[0, msg_len).
 */
int ike_sk_open(const struct ike_sk_keys *k, const uint8_t *msg,
		size_t msg_len, size_t sk_off, uint8_t *out, size_t out_size,
		uint8_t **plain, size_t *plain_len, uint8_t *next_payload);

/*
 * Total message length after ike_sk_seal() of plain_len bytes of inner
 * payloads behind msg_len bytes of header and cleartext payloads.
 */
int ike_sk_sealed_len(const struct ike_sk_keys *k, size_t msg_len,
		      size_t plain_len, size_t *total);

/*
 * Offset in the output buffer where ike_sk_seal() puts the first inner
 * payload byte: a caller may build the inner payloads there and pass that
 * pointer as plain to avoid a copy.
 */
size_t ike_sk_plain_off(size_t msg_len);

/*
 * Append an SK payload to buf, which holds msg_len bytes: the IKE header and
 * any cleartext payloads, whose chain must already end with Next Payload =
 * IKE_SK_PAYLOAD (46) (checked; -EINVAL if not). Writes the SK generic header
 * (Next Payload = first_np), a random IV, the encrypted plain | padding |
 * pad length, and the ICV; sets the SK payload length and the IKE header
 * length; *out_len = the total message length. plain may point anywhere,
 * including into buf. -ENOSPC if buf_size is too small, -EMSGSIZE above
 * IKE_SK_MSG_MAX.
 */
int ike_sk_seal(const struct ike_sk_keys *k, uint8_t *buf, size_t buf_size,
		size_t msg_len, uint8_t first_np, const uint8_t *plain,
		size_t plain_len, size_t *out_len);

/*
 * The same for one IKE fragment (RFC 7383 2.5): an Encrypted Fragment
 * payload (53) whose Fragment Number and Total Fragments follow the
 * generic header, inside the ICV; the header's Next Payload is first_np in
 * fragment 1 and 0 in the others. The chain in buf must end in 53.
 */
int ike_skf_seal(const struct ike_sk_keys *k, uint8_t *buf, size_t buf_size,
		 size_t msg_len, uint8_t first_np, uint16_t frag_num,
		 uint16_t total_frags, const uint8_t *plain, size_t plain_len,
		 size_t *out_len);
int ike_skf_sealed_len(const struct ike_sk_keys *k, size_t msg_len,
		       size_t plain_len, size_t *total);
/* ike_sk_open() for an Encrypted Fragment payload at skf_off. */
int ike_skf_open(const struct ike_sk_keys *k, const uint8_t *msg,
		 size_t msg_len, size_t skf_off, uint8_t *out, size_t out_size,
		 uint8_t **plain, size_t *plain_len, uint8_t *next_payload);

/*
 * AES-CBC on whole blocks without padding (the SK cipher, exposed for
 * tests): len must be a multiple of 16, key 16/24/32 bytes, in == out is
 * allowed.
 */
int ike_aes_cbc(bool encrypt, const uint8_t *key, size_t key_len,
		const uint8_t iv[16], const uint8_t *in, size_t len,
		uint8_t *out);

/* ---- NAT detection (RFC 7296 2.23) ----------------------------------------- */

/*
 * out = SHA-1(SPIi | SPIr | IP | Port). ip is 4 (IPv4) or 16 (IPv6) bytes in
 * network order; port is in host order and hashed big-endian.
 */
int ike_natd_hash(const uint8_t spi_i[IKE_SPI_LEN],
		  const uint8_t spi_r[IKE_SPI_LEN], const void *ip,
		  size_t ip_len, uint16_t port, uint8_t out[IKE_NATD_LEN]);

/* ---- randomness ---------------------------------------------------------- */

/* len bytes from RAND_bytes; -EIO if the DRBG fails. */
int ike_random(void *buf, size_t len);

/* A random, non-zero 8-byte IKE SPI. */
int ike_spi_ike(uint8_t spi[IKE_SPI_LEN]);

/* A random ESP SPI >= 256 (0..255 are reserved, RFC 4303 2.1), host order. */
int ike_spi_esp(uint32_t *spi);

#endif /* EG_IKE_CRYPTO_H */
