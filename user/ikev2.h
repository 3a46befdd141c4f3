/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ikev2.h - IKEv2 wire format (RFC 7296): the fixed header, the generic
 * payload header, every payload's fixed part and the protocol constants.
 *
 * All multi-byte fields of the structs below are in network byte order, as
 * on the wire; the structs are packed and only ever overlaid on bytes whose
 * length has already been checked (see ikev2_pld.c). Section numbers refer
 * to RFC 7296 unless another RFC is named.
 */
#ifndef EG_IKEV2_H
#define EG_IKEV2_H

#include <stdint.h>

#define IKEV2_VERSION		0x20	/* major 2, minor 0 (3.1) */
#define IKEV2_MAJOR(v)		((v) >> 4)
#define IKEV2_MINOR(v)		((v) & 0x0f)

/* 3.1: IKE header, 28 bytes, at the start of every message */
struct ikev2_hdr {
	uint8_t ispi[8];	/* IKE SA initiator's SPI, opaque */
	uint8_t rspi[8];	/* IKE SA responder's SPI, 0 in the first request */
	uint8_t next;		/* type of the first payload (IKEV2_PLD_*) */
	uint8_t version;	/* major << 4 | minor */
	uint8_t exch;		/* exchange type (IKEV2_EXCH_*) */
	uint8_t flags;		/* IKEV2_FLAG_* */
	uint32_t msgid;		/* message ID, network order */
	uint32_t length;	/* whole message incl. this header, network order */
} __attribute__((packed));

#define IKEV2_HDR_LEN		28

/* 3.1: exchange types */
#define IKEV2_EXCH_IKE_SA_INIT		34	/* DH, nonces, SA for IKE */
#define IKEV2_EXCH_IKE_AUTH		35	/* identities, AUTH, first Child */
#define IKEV2_EXCH_CREATE_CHILD_SA	36	/* new Child SA, rekey IKE/Child */
#define IKEV2_EXCH_INFORMATIONAL	37	/* delete, notify, DPD */

/* 3.1: header flags; the other bits MUST be ignored on receipt */
#define IKEV2_FLAG_INITIATOR	0x08	/* sent by the original initiator */
#define IKEV2_FLAG_VERSION	0x10	/* sender can speak a higher major */
#define IKEV2_FLAG_RESPONSE	0x20	/* this message is a response */

/* 3.2: generic payload header, at the start of every payload */
struct ikev2_gen {
	uint8_t next;		/* type of the next payload, 0 = last */
	uint8_t critical;	/* bit 7: critical; bits 0-6 reserved */
	uint16_t length;	/* payload length incl. this header */
} __attribute__((packed));

#define IKEV2_GEN_LEN		4
#define IKEV2_CRITICAL		0x80	/* in ikev2_gen.critical */

/* 3.2: payload types */
#define IKEV2_PLD_NONE		0	/* no next payload */
#define IKEV2_PLD_SA		33	/* Security Association (3.3) */
#define IKEV2_PLD_KE		34	/* Key Exchange (3.4) */
#define IKEV2_PLD_IDI		35	/* Identification - Initiator (3.5) */
#define IKEV2_PLD_IDR		36	/* Identification - Responder (3.5) */
#define IKEV2_PLD_CERT		37	/* Certificate (3.6) */
#define IKEV2_PLD_CERTREQ	38	/* Certificate Request (3.7) */
#define IKEV2_PLD_AUTH		39	/* Authentication (3.8) */
#define IKEV2_PLD_NONCE		40	/* Nonce (3.9) */
#define IKEV2_PLD_NOTIFY	41	/* Notify (3.10) */
#define IKEV2_PLD_DELETE	42	/* Delete (3.11) */
#define IKEV2_PLD_VENDOR	43	/* Vendor ID (3.12) */
#define IKEV2_PLD_TSI		44	/* Traffic Selector - Initiator (3.13) */
#define IKEV2_PLD_TSR		45	/* Traffic Selector - Responder (3.13) */
#define IKEV2_PLD_SK		46	/* Encrypted and Authenticated (3.14) */
#define IKEV2_PLD_CP		47	/* Configuration (3.15) */
#define IKEV2_PLD_EAP		48	/* Extensible Authentication (3.16) */
#define IKEV2_PLD_SKF		53	/* Encrypted Fragment (RFC 7383 2.5) */

/* 3.3.1: proposal substructure; the SPI (spi_size bytes) follows */
struct ikev2_prop {
	uint8_t last;		/* IKEV2_LAST_NONE or IKEV2_LAST_MORE_PROP */
	uint8_t reserved;	/* 0 */
	uint16_t length;	/* proposal incl. SPI and transforms */
	uint8_t num;		/* proposal number: 1, 2, 3, ... */
	uint8_t proto;		/* IKEV2_PROTO_* */
	uint8_t spi_size;	/* 0 (IKE_SA_INIT), 8 (IKE rekey), 4 (ESP/AH) */
	uint8_t n_xforms;	/* number of transforms that follow */
} __attribute__((packed));

#define IKEV2_PROP_LEN		8

/* 3.3.1 / 3.3.2: "last substruc" values */
#define IKEV2_LAST_NONE		0	/* last proposal or transform */
#define IKEV2_LAST_MORE_PROP	2	/* another proposal follows */
#define IKEV2_LAST_MORE_XFORM	3	/* another transform follows */

/* 3.3.2: transform substructure; attributes follow */
struct ikev2_xform {
	uint8_t last;		/* IKEV2_LAST_NONE or IKEV2_LAST_MORE_XFORM */
	uint8_t reserved;	/* 0 */
	uint16_t length;	/* transform incl. attributes */
	uint8_t type;		/* IKEV2_XF_* */
	uint8_t reserved2;	/* 0 */
	uint16_t id;		/* transform ID, meaning depends on type */
} __attribute__((packed));

#define IKEV2_XFORM_LEN		8

/* 3.3.2: protocol IDs */
#define IKEV2_PROTO_NONE	0	/* notify/delete not about an SA */
#define IKEV2_PROTO_IKE		1
#define IKEV2_PROTO_AH		2
#define IKEV2_PROTO_ESP		3

/* 3.3.2: transform types */
#define IKEV2_XF_ENCR		1	/* encryption algorithm */
#define IKEV2_XF_PRF		2	/* pseudorandom function (IKE only) */
#define IKEV2_XF_INTEG		3	/* integrity algorithm */
#define IKEV2_XF_DH		4	/* Diffie-Hellman group */
#define IKEV2_XF_ESN		5	/* extended sequence numbers (ESP/AH) */

/* 3.3.2: transform ID 0 of types INTEG and DH means "none" */
#define IKEV2_INTEG_NONE	0
#define IKEV2_DH_NONE		0
/* 3.3.2: ESN transform IDs */
#define IKEV2_ESN_NONE		0	/* no extended sequence numbers */
#define IKEV2_ESN_ON		1	/* extended sequence numbers */

/*
 * Transform IDs of the algorithms espgate implements (IANA "IKEv2 Transform
 * Attribute" registries). The crypto layer's ike_crypto.h defines the same
 * names with the same values; whichever header comes first wins.
 */
#ifndef IKE_ENCR_AES_CBC
#define IKE_ENCR_AES_CBC		12	/* RFC 3602, KEY_LENGTH required */
#define IKE_ENCR_AES_GCM_16		20	/* RFC 4106, 16-byte ICV, AEAD */
#define IKE_ENCR_NULL			11	/* RFC 2410, ESP only */
#define IKE_PRF_HMAC_SHA1		2	/* RFC 2104 */
#define IKE_PRF_HMAC_SHA2_256		5	/* RFC 4868 */
#define IKE_PRF_HMAC_SHA2_384		6	/* RFC 4868 */
#define IKE_PRF_HMAC_SHA2_512		7	/* RFC 4868 */
#define IKE_AUTH_HMAC_SHA1_96		2	/* RFC 2404 */
#define IKE_AUTH_HMAC_SHA2_256_128	12	/* RFC 4868 */
#define IKE_AUTH_HMAC_SHA2_384_192	13	/* RFC 4868 */
#define IKE_AUTH_HMAC_SHA2_512_256	14	/* RFC 4868 */
#define IKE_DH_MODP2048			14	/* RFC 3526 group 14 */
#define IKE_DH_MODP3072			15	/* RFC 3526 group 15 */
#define IKE_DH_MODP4096			16	/* RFC 3526 group 16 */
#define IKE_DH_MODP8192			18	/* RFC 3526 group 18 */
#endif

/* 3.3.5: transform attribute; TV format: value in len_or_value */
struct ikev2_attr {
	uint16_t type;		/* bit 15 (IKEV2_ATTR_TV): TV format */
	uint16_t len_or_value;	/* TV: the value; TLV: length of the value */
} __attribute__((packed));

#define IKEV2_ATTR_LEN		4
#define IKEV2_ATTR_TV		0x8000	/* attribute format bit */
#define IKEV2_ATTR_KEY_LENGTH	14	/* key length in bits, TV only */

/* 3.4: Key Exchange payload; the KE data follows */
struct ikev2_ke {
	uint16_t group;		/* Diffie-Hellman group number */
	uint16_t reserved;	/* 0 */
} __attribute__((packed));

/* 3.9: Nonce data length bounds */
#define IKEV2_NONCE_MIN		16
#define IKEV2_NONCE_MAX		256

/* 3.5: Identification payload; the identification data follows */
struct ikev2_id {
	uint8_t type;		/* IKEV2_ID_* */
	uint8_t reserved[3];	/* 0 */
} __attribute__((packed));

/* 3.5: ID types */
#define IKEV2_ID_IPV4_ADDR	1	/* 4 bytes */
#define IKEV2_ID_FQDN		2	/* "host.example.net", no NUL */
#define IKEV2_ID_RFC822_ADDR	3	/* "user@example.net", no NUL */
#define IKEV2_ID_IPV6_ADDR	5	/* 16 bytes */
#define IKEV2_ID_DER_ASN1_DN	9	/* X.500 distinguished name */
#define IKEV2_ID_DER_ASN1_GN	10	/* X.509 general name */
#define IKEV2_ID_KEY_ID		11	/* opaque octets */

/* 3.8: Authentication payload; the authentication data follows */
struct ikev2_auth {
	uint8_t method;		/* IKEV2_AUTH_* */
	uint8_t reserved[3];	/* 0 */
} __attribute__((packed));

/* 3.8: authentication methods */
#define IKEV2_AUTH_RSA_SIG	1	/* RSA digital signature */
#define IKEV2_AUTH_PSK		2	/* shared key message integrity code */
#define IKEV2_AUTH_DSS_SIG	3	/* DSS digital signature */
#define IKEV2_AUTH_DIGSIG	14	/* RFC 7427 digital signature */

/* 3.10: Notify payload; the SPI (spi_size bytes) then the data follow */
struct ikev2_notify {
	uint8_t proto;		/* IKEV2_PROTO_*, 0 if not about an SA */
	uint8_t spi_size;	/* 0, or 4 for ESP/AH */
	uint16_t type;		/* IKEV2_N_* */
} __attribute__((packed));

/* 3.10.1: error notify types (< 16384) */
#define IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD	1	/* data: the 1-byte type */
#define IKEV2_N_INVALID_IKE_SPI			4
#define IKEV2_N_INVALID_MAJOR_VERSION		5
#define IKEV2_N_INVALID_SYNTAX			7
#define IKEV2_N_INVALID_MESSAGE_ID		9	/* data: 4-byte msgid */
#define IKEV2_N_INVALID_SPI			11	/* data: the SPI */
#define IKEV2_N_NO_PROPOSAL_CHOSEN		14
#define IKEV2_N_INVALID_KE_PAYLOAD		17	/* data: 2-byte group */
#define IKEV2_N_AUTHENTICATION_FAILED		24
#define IKEV2_N_SINGLE_PAIR_REQUIRED		34
#define IKEV2_N_NO_ADDITIONAL_SAS		35
#define IKEV2_N_INTERNAL_ADDRESS_FAILURE	36
#define IKEV2_N_FAILED_CP_REQUIRED		37
#define IKEV2_N_TS_UNACCEPTABLE			38
#define IKEV2_N_INVALID_SELECTORS		39	/* data: the packet */
#define IKEV2_N_UNACCEPTABLE_ADDRESSES		40	/* RFC 4555 */
#define IKEV2_N_UNEXPECTED_NAT_DETECTED		41	/* RFC 4555 */
#define IKEV2_N_TEMPORARY_FAILURE		43
#define IKEV2_N_CHILD_SA_NOT_FOUND		44

#define IKEV2_N_ERROR_MAX			16383	/* above: status types */

/* 3.10.1 and later RFCs: status notify types (>= 16384) */
#define IKEV2_N_INITIAL_CONTACT			16384
#define IKEV2_N_SET_WINDOW_SIZE			16385	/* data: 4-byte size */
#define IKEV2_N_ADDITIONAL_TS_POSSIBLE		16386
#define IKEV2_N_IPCOMP_SUPPORTED		16387
#define IKEV2_N_NAT_DETECTION_SOURCE_IP		16388	/* data: SHA-1, 20 B */
#define IKEV2_N_NAT_DETECTION_DESTINATION_IP	16389	/* data: SHA-1, 20 B */
#define IKEV2_N_COOKIE				16390	/* data: 1..64 bytes */
#define IKEV2_N_USE_TRANSPORT_MODE		16391
#define IKEV2_N_HTTP_CERT_LOOKUP_SUPPORTED	16392
#define IKEV2_N_REKEY_SA			16393	/* SPI: the old SA */
#define IKEV2_N_ESP_TFC_PADDING_NOT_SUPPORTED	16394
#define IKEV2_N_NON_FIRST_FRAGMENTS_ALSO	16395
#define IKEV2_N_MOBIKE_SUPPORTED		16396	/* RFC 4555 */
#define IKEV2_N_AUTH_LIFETIME			16403	/* RFC 4478, 4 B secs */
#define IKEV2_N_REDIRECT_SUPPORTED		16406	/* RFC 5685 */
#define IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED	16430	/* RFC 7383 */
#define IKEV2_N_SIGNATURE_HASH_ALGORITHMS	16431	/* RFC 7427, 2 B each */

/* 3.10.1: limits on the data of status notifies we read */
#define IKEV2_NATD_LEN		20	/* SHA-1 output */
#define IKEV2_COOKIE_MAX	64	/* 2.6: 1..64 bytes */

/* 3.11: Delete payload; n_spi SPIs of spi_size bytes follow */
struct ikev2_delete {
	uint8_t proto;		/* IKEV2_PROTO_IKE, _AH or _ESP */
	uint8_t spi_size;	/* 0 for IKE, 4 for AH/ESP */
	uint16_t n_spi;		/* number of SPIs, 0 for IKE */
} __attribute__((packed));

/* 3.13: Traffic Selector payload; n_ts selectors follow */
struct ikev2_tsp {
	uint8_t n_ts;		/* number of traffic selectors, >= 1 */
	uint8_t reserved[3];	/* 0 */
} __attribute__((packed));

/* 3.13.1: one traffic selector; start and end address follow */
struct ikev2_ts_hdr {
	uint8_t type;		/* IKEV2_TS_* */
	uint8_t proto;		/* IP protocol, 0 = any */
	uint16_t length;	/* selector incl. this header: 16 or 40 */
	uint16_t start_port;	/* 0 = any (with end 65535) */
	uint16_t end_port;
} __attribute__((packed));

#define IKEV2_TS_HDR_LEN	8

/* 3.13.1: traffic selector types */
#define IKEV2_TS_IPV4_ADDR_RANGE	7	/* length 16 */
#define IKEV2_TS_IPV6_ADDR_RANGE	8	/* length 40 */
#define IKEV2_TS_IPV4_LEN		16
#define IKEV2_TS_IPV6_LEN		40

/* 3.15: Configuration payload; attributes follow */
struct ikev2_cp {
	uint8_t type;		/* IKEV2_CFG_* */
	uint8_t reserved[3];	/* 0 */
} __attribute__((packed));

/* 3.15: configuration types */
#define IKEV2_CFG_REQUEST	1
#define IKEV2_CFG_REPLY		2
#define IKEV2_CFG_SET		3
#define IKEV2_CFG_ACK		4

/* 3.15.1: configuration attribute header; the value follows */
struct ikev2_cp_attr {
	uint16_t type;		/* bit 15 reserved, 15-bit type */
	uint16_t length;	/* length of the value */
} __attribute__((packed));

#define IKEV2_CP_ATTR_TYPE_MASK	0x7fff

/* 3.15.1: configuration attribute types (valid value lengths) */
#define IKEV2_CFA_INTERNAL_IP4_ADDRESS	1	/* 0 or 4 */
#define IKEV2_CFA_INTERNAL_IP4_NETMASK	2	/* 0 or 4 */
#define IKEV2_CFA_INTERNAL_IP4_DNS	3	/* 0 or 4 */
#define IKEV2_CFA_INTERNAL_IP4_NBNS	4	/* 0 or 4 */
#define IKEV2_CFA_INTERNAL_IP4_DHCP	6	/* 0 or 4 */
#define IKEV2_CFA_APPLICATION_VERSION	7	/* 0 or more */
#define IKEV2_CFA_INTERNAL_IP6_ADDRESS	8	/* 0 or 17 */
#define IKEV2_CFA_INTERNAL_IP6_DNS	10	/* 0 or 16 */
#define IKEV2_CFA_INTERNAL_IP6_DHCP	12	/* 0 or 16 */
#define IKEV2_CFA_INTERNAL_IP4_SUBNET	13	/* 0 or 8 */
#define IKEV2_CFA_SUPPORTED_ATTRIBUTES	14	/* multiple of 2 */
#define IKEV2_CFA_INTERNAL_IP6_SUBNET	15	/* 0 or 17 */

/* RFC 7383 2.5: Encrypted Fragment payload, before the IV */
struct ikev2_skf {
	uint16_t frag_num;	/* 1 .. total */
	uint16_t total;		/* number of fragments */
} __attribute__((packed));

/* RFC 7427 4: hash algorithms in SIGNATURE_HASH_ALGORITHMS */
#define IKEV2_HASH_SHA1		1
#define IKEV2_HASH_SHA2_256	2
#define IKEV2_HASH_SHA2_384	3
#define IKEV2_HASH_SHA2_512	4

#endif /* EG_IKEV2_H */
