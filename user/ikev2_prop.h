/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ikev2_prop.h - choose one of the peer's proposals (RFC 7296 2.7, 3.3)
 * from the algorithms espgate supports (PRODUCT.md):
 *
 *   IKE SA:   ENCR  AES-CBC 128/192/256 (KEY_LENGTH attribute required)
 *             PRF   HMAC-SHA1, HMAC-SHA2-256/384/512
 *             INTEG HMAC-SHA1-96, HMAC-SHA2-256-128/384-192/512-256
 *             DH    MODP 2048 (14), 3072 (15), 4096 (16), 8192 (18)
 *   Child SA: ENCR  AES-CBC 128/256, AES-GCM-16 128/192/256, NULL
 *             INTEG as above; none with GCM; required with CBC and NULL
 *             DH    none, or one of the groups above (PFS)
 *             ESN   none only
 *
 * The peer's proposals are tried in its order and, within a proposal, the
 * first acceptable transform of each type is taken (its preference, 3.3).
 * A transform with an attribute we do not understand is unacceptable; a
 * proposal with a transform type that does not belong to its protocol, or
 * missing a mandatory type, is unacceptable (3.3.6).
 *
 * Returns:
 *   0        *out holds the choice
 *   -EAGAIN  a proposal is acceptable except that the KE payload's group is
 *            not one of its DH groups: answer INVALID_KE_PAYLOAD naming
 *            *want_group (1.2, 1.3). The group named is the first group we
 *            support in the peer's order, from the first such proposal.
 *            Only when no proposal is acceptable with the KE as sent.
 *   -ENOENT  nothing acceptable: answer NO_PROPOSAL_CHOSEN
 *   -EINVAL  bad arguments (e.g. no KE group for an IKE SA)
 */
#ifndef EG_IKEV2_PROP_H
#define EG_IKEV2_PROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ikev2_pld.h"

/* ke_group argument when the message has no KE payload */
#define IKEV2_KE_ABSENT		(-1)

/* flags */
#define IKEV2_PROP_REKEY	0x1	/* IKE: CREATE_CHILD_SA rekey, SPI 8 */
#define IKEV2_PROP_IKE_AUTH	0x2	/* ESP: in IKE_AUTH, where no DH is
					 * done: DH transforms are ignored
					 * and not echoed (1.2) */

/*
 * IKE SA: ke_group is the KE payload's group (required). Without
 * IKEV2_PROP_REKEY the proposal's SPI size must be 0 (IKE_SA_INIT), with it
 * 8, and out->peer_spi is the peer's new IKE SPI.
 */
int ikev2_prop_select_ike(const struct ikev2_sa *sa, int ke_group,
			  unsigned flags, struct ikev2_choice *out,
			  uint16_t *want_group);

/*
 * Child SA (ESP, tunnel): ke_group is the KE payload's group, or
 * IKEV2_KE_ABSENT. With a KE the proposal must offer that group (PFS);
 * without one it must offer no group or NONE. The SPI must be 4 bytes and
 * not 0..255 (RFC 4303 2.1: 0 is local-only, 1..255 reserved); it is
 * returned in out->peer_spi.
 */
int ikev2_prop_select_esp(const struct ikev2_sa *sa, int ke_group,
			  unsigned flags, struct ikev2_choice *out,
			  uint16_t *want_group);

/*
 * A site's cipher policy: which encryption transforms are acceptable.
 * encr 0 allows the whole table above (without ENCR_NULL if no_null);
 * otherwise exactly encr with keylen bits (0: any length the table has).
 * An explicit policy may name what the default table leaves out: ESP
 * AES-CBC-192 (the seed lists it for phase 1 only; the kernel has it).
 */
struct ikev2_cipher {
	uint16_t encr;		/* IKE_ENCR_*; 0: any of the table */
	uint16_t keylen;	/* bits; 0: any */
	bool no_null;		/* with encr 0: refuse ENCR_NULL */
};

/*
 * The site's "encryption cipher" ("" = any, "AES128-CBC", ..., "NULL",
 * EG_CIPHERS) as the IKE SA's and the Child SAs' policies:
 *   CBC ciphers: IKE and ESP both use exactly that cipher and key size;
 *   GCM ciphers: ESP exactly that, IKE any CBC (no GCM in phase 1);
 *   NULL: ESP without encryption (integrity only), IKE any;
 *   "": IKE any, ESP any of the table except NULL.
 * -EINVAL for an unknown name.
 */
int ikev2_cipher_policy(const char *name, struct ikev2_cipher *ike,
			struct ikev2_cipher *esp);

/* The same selections under a cipher policy (NULL: none). */
int ikev2_prop_select_ike_pol(const struct ikev2_sa *sa, int ke_group,
			      unsigned flags, const struct ikev2_cipher *pol,
			      struct ikev2_choice *out, uint16_t *want_group);
int ikev2_prop_select_esp_pol(const struct ikev2_sa *sa, int ke_group,
			      unsigned flags, const struct ikev2_cipher *pol,
			      struct ikev2_choice *out, uint16_t *want_group);

/* One of the DH groups we support (14, 15, 16, 18). */
bool ikev2_dh_supported(uint16_t group);

/* "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" for logs. */
const char *ikev2_choice_str(const struct ikev2_choice *c, char *buf,
			     size_t len);

#endif /* EG_IKEV2_PROP_H */
