// SPDX-License-Identifier: GPL-2.0
/*
 * test_ikev2_pld.c - IKEv2 message codec: header, payload chain, decoders,
 * builder; hand-made fixtures and real strongSwan requests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "ikev2_pld.h"
#include "ikev2_prop.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define R4(b)	b, b, b, b
#define R16(b)	R4(b), R4(b), R4(b), R4(b)
#define R20(b)	R16(b), R4(b)
#define R32(b)	R16(b), R16(b)
#define R256(b)	R32(b), R32(b), R32(b), R32(b), R32(b), R32(b), R32(b), R32(b)

/*
 * Fixture 1: an IKE_SA_INIT request as an initiator would send it, 496 bytes.
 * Offsets of every length field are listed in init_len_fields[] below.
 */
static const uint8_t init_req[] = {
	/* 0: header */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* ispi */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* rspi 0 */
	0x21,			/* next: SA */
	0x20,			/* version 2.0 */
	0x22,			/* IKE_SA_INIT */
	0x08,			/* flags: I */
	0x00, 0x00, 0x00, 0x00,	/* message id 0 */
	0x00, 0x00, 0x01, 0xf0,	/* @24 length 496 */
	/* 28: SA, next KE, length 92 */
	0x22, 0x00, 0x00, 0x5c,
	/* 32: proposal 1 (more follow), length 44, #1 IKE, SPI 0, 4 xforms */
	0x02, 0x00, 0x00, 0x2c, 0x01, 0x01, 0x00, 0x04,
	/* 40: ENCR AES_CBC, KEY_LENGTH 256 (TV) */
	0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x0c, 0x80, 0x0e, 0x01, 0x00,
	/* 52: PRF HMAC_SHA2_256 */
	0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x05,
	/* 60: INTEG HMAC_SHA2_256_128 */
	0x03, 0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x0c,
	/* 68: DH 14 (last transform) */
	0x00, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x0e,
	/* 76: proposal 2 (last), length 44, #2 IKE, SPI 0, 4 xforms */
	0x00, 0x00, 0x00, 0x2c, 0x02, 0x01, 0x00, 0x04,
	/* 84: ENCR AES_CBC, KEY_LENGTH 128 */
	0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x0c, 0x80, 0x0e, 0x00, 0x80,
	/* 96: PRF HMAC_SHA1 */
	0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x02,
	/* 104: INTEG HMAC_SHA1_96 */
	0x03, 0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x02,
	/* 112: DH 15 */
	0x00, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x0f,
	/* 120: KE, next Nonce, length 264: group 14, reserved, 256 bytes */
	0x28, 0x00, 0x01, 0x08, 0x00, 0x0e, 0x00, 0x00,
	R256(0xa5),
	/* 384: Nonce, next N, length 36: 32 bytes */
	0x29, 0x00, 0x00, 0x24,
	R32(0x4e),
	/* 420: N, next N, length 28: NAT_DETECTION_SOURCE_IP, 20 bytes */
	0x29, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x04,
	R20(0x11),
	/* 448: N, next V, length 28: NAT_DETECTION_DESTINATION_IP */
	0x2b, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x05,
	R20(0x22),
	/* 476: V, last, length 20: 16 bytes */
	0x00, 0x00, 0x00, 0x14,
	R16(0x56),
	/* 496 */
};

/*
 * Fixture 2: the plaintext inside the SK payload of an IKE_AUTH request
 * (first payload IDi), 213 bytes.
 */
static const uint8_t auth_inner[] = {
	/* 0: IDi, next AUTH, length 25: RFC822 "site1@example.net" */
	0x27, 0x00, 0x00, 0x19, 0x03, 0x00, 0x00, 0x00,
	's', 'i', 't', 'e', '1', '@', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	'.', 'n', 'e', 't',
	/* 25: AUTH, next CP, length 40: PSK, 32 bytes */
	0x2f, 0x00, 0x00, 0x28, 0x02, 0x00, 0x00, 0x00,
	R32(0xaa),
	/* 65: CP, next SA, length 16: CFG_REQUEST */
	0x21, 0x00, 0x00, 0x10, 0x01, 0x00, 0x00, 0x00,
	/* 73: INTERNAL_IP4_ADDRESS, empty; 77: INTERNAL_IP4_DNS, empty */
	0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00,
	/* 81: SA, next TSi, length 36 */
	0x2c, 0x00, 0x00, 0x24,
	/* 85: proposal 1 (last), length 32, #1 ESP, SPI size 4, 2 xforms */
	0x00, 0x00, 0x00, 0x20, 0x01, 0x03, 0x04, 0x02,
	0xc0, 0x01, 0x02, 0x03,	/* SPI */
	/* 97: ENCR AES_GCM_16, KEY_LENGTH 256 */
	0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x14, 0x80, 0x0e, 0x01, 0x00,
	/* 109: ESN none (last) */
	0x00, 0x00, 0x00, 0x08, 0x05, 0x00, 0x00, 0x00,
	/* 117: TSi, next TSr, length 24, 1 selector */
	0x2d, 0x00, 0x00, 0x18, 0x01, 0x00, 0x00, 0x00,
	/* 125: IPv4 range, any proto, length 16, ports 0-65535,
	 * 10.1.0.0 - 10.1.255.255 */
	0x07, 0x00, 0x00, 0x10, 0x00, 0x00, 0xff, 0xff,
	0x0a, 0x01, 0x00, 0x00, 0x0a, 0x01, 0xff, 0xff,
	/* 141: TSr, next N, length 64, 2 selectors */
	0x29, 0x00, 0x00, 0x40, 0x02, 0x00, 0x00, 0x00,
	/* 149: IPv4 range 0.0.0.0 - 255.255.255.255, TCP, ports 80-443 */
	0x07, 0x06, 0x00, 0x10, 0x00, 0x50, 0x01, 0xbb,
	0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
	/* 165: IPv6 range :: - ffff:..:ffff, length 40 */
	0x08, 0x00, 0x00, 0x28, 0x00, 0x00, 0xff, 0xff,
	R16(0x00), R16(0xff),
	/* 205: N, last, length 8: INITIAL_CONTACT */
	0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x40, 0x00,
	/* 213 */
};

/* A length field: offset and width in bytes (2 or 4). */
struct len_field {
	const char *what;
	size_t off;
	unsigned width;
};

static const struct len_field init_len_fields[] = {
	{ "header length", 24, 4 },
	{ "SA payload", 30, 2 },
	{ "proposal 1", 34, 2 },
	{ "p1 ENCR", 42, 2 },
	{ "p1 PRF", 54, 2 },
	{ "p1 INTEG", 62, 2 },
	{ "p1 DH", 70, 2 },
	{ "proposal 2", 78, 2 },
	{ "p2 ENCR", 86, 2 },
	{ "p2 PRF", 98, 2 },
	{ "p2 INTEG", 106, 2 },
	{ "p2 DH", 114, 2 },
	{ "KE", 122, 2 },
	{ "Nonce", 386, 2 },
	{ "N NATD src", 422, 2 },
	{ "N NATD dst", 450, 2 },
	{ "V", 478, 2 },
};

static const struct len_field inner_len_fields[] = {
	{ "IDi", 2, 2 },
	{ "AUTH", 27, 2 },
	{ "CP", 67, 2 },
	{ "CP attr 1", 75, 2 },
	{ "CP attr 2", 79, 2 },
	{ "SA", 83, 2 },
	{ "ESP proposal", 87, 2 },
	{ "ESP ENCR", 99, 2 },
	{ "ESP ESN", 111, 2 },
	{ "TSi", 119, 2 },
	{ "TSi selector", 127, 2 },
	{ "TSr", 143, 2 },
	{ "TSr IPv4 selector", 151, 2 },
	{ "TSr IPv6 selector", 167, 2 },
	{ "N", 207, 2 },
};

/*
 * Real IKE_SA_INIT requests from strongSwan 5.9.8 (Debian 12 charon),
 * captured on this machine: charon ran in a network namespace as initiator
 * (192.0.2.1) towards a python3 UDP socket listening on 192.0.2.2:500 in a
 * second namespace, joined by a veth pair; charon had its own
 * STRONGSWAN_CONF/SWANCTL_DIR and ran under `unshare -m` with a tmpfs /run.
 * Connection: IKEv2, PSK, local id site1@example.net, remote id 192.0.2.2.
 *
 * sw_default_init:  proposals = default. Proposal 1 has 34 transforms
 *   (AES-CBC/CTR/Camellia, 3DES, 4 INTEG, 4 PRF, 13 DH groups), proposal 2
 *   36 (AEAD ciphers); KE group 31 (Curve25519); NAT_D x2,
 *   IKEV2_FRAGMENTATION_SUPPORTED, SIGNATURE_HASH_ALGORITHMS,
 *   REDIRECT_SUPPORTED.
 * sw_default_retry: the listener answered the first request with
 *   INVALID_KE_PAYLOAD(14); this is charon's retry, KE group 14 (256 bytes)
 *   and MODP_2048 moved to the front of the DH list.
 * sw_product_init:  proposals = aes256-sha256-modp2048,
 *   aes128-sha1-prfsha1-modp3072 (espgate's table); KE group 14.
 */
static const char sw_default_init[] =
	"a00d2ecac66ac5c3000000000000000021202208000000000000037c220002bc"
	"02000148010100220300000c0100000c800e00800300000c0100000c800e00c0"
	"0300000c0100000c800e01000300000c0100000d800e00800300000c0100000d"
	"800e00c00300000c0100000d800e01000300000c01000017800e00800300000c"
	"01000017800e00c00300000c01000017800e01000300000c01000018800e0080"
	"0300000c01000018800e00c00300000c01000018800e01000300000801000003"
	"030000080300000c030000080300000d030000080300000e0300000803000002"
	"0300000802000005030000080200000603000008020000070300000802000002"
	"030000080400001f030000080400002003000008040000130300000804000014"
	"0300000804000015030000080400001c030000080400001d030000080400001e"
	"030000080400000f030000080400001003000008040000110300000804000012"
	"000000080400000e00000170020100240300000c01000014800e00800300000c"
	"01000014800e00c00300000c01000014800e01000300000c01000010800e0080"
	"0300000c01000010800e00c00300000c01000010800e0100030000080100001c"
	"0300000c01000013800e00800300000c01000013800e00c00300000c01000013"
	"800e01000300000c01000012800e00800300000c01000012800e00c00300000c"
	"01000012800e01000300000c0100000f800e00800300000c0100000f800e00c0"
	"0300000c0100000f800e01000300000c0100000e800e00800300000c0100000e"
	"800e00c00300000c0100000e800e010003000008020000050300000802000006"
	"03000008020000070300000802000002030000080400001f0300000804000020"
	"030000080400001303000008040000140300000804000015030000080400001c"
	"030000080400001d030000080400001e030000080400000f0300000804000010"
	"03000008040000110300000804000012000000080400000e28000028001f0000"
	"f7e3bd6e255d820a54f5222500e146d86bb38ba1f8df0941f8b223c758436220"
	"29000024cc0ccdc76d594d7967c9e7fe712ae0d6c85a5114b8088dfcb4778a54"
	"4ce7ad802900001c00004004e3c409d97d0e8ba0d38c4bd92a6026a2a4d4fe56"
	"2900001c00004005c872f1b378700180ec9f400d46a309401336d54829000008"
	"0000402e290000100000402f00020003000400050000000800004016";

static const char sw_default_retry[] =
	"a00d2ecac66ac5c3000000000000000021202208000000000000045c220002bc"
	"02000148010100220300000c0100000c800e00800300000c0100000c800e00c0"
	"0300000c0100000c800e01000300000c0100000d800e00800300000c0100000d"
	"800e00c00300000c0100000d800e01000300000c01000017800e00800300000c"
	"01000017800e00c00300000c01000017800e01000300000c01000018800e0080"
	"0300000c01000018800e00c00300000c01000018800e01000300000801000003"
	"030000080300000c030000080300000d030000080300000e0300000803000002"
	"0300000802000005030000080200000603000008020000070300000802000002"
	"030000080400000e030000080400001f03000008040000200300000804000013"
	"03000008040000140300000804000015030000080400001c030000080400001d"
	"030000080400001e030000080400000f03000008040000100300000804000011"
	"000000080400001200000170020100240300000c01000014800e00800300000c"
	"01000014800e00c00300000c01000014800e01000300000c01000010800e0080"
	"0300000c01000010800e00c00300000c01000010800e0100030000080100001c"
	"0300000c01000013800e00800300000c01000013800e00c00300000c01000013"
	"800e01000300000c01000012800e00800300000c01000012800e00c00300000c"
	"01000012800e01000300000c0100000f800e00800300000c0100000f800e00c0"
	"0300000c0100000f800e01000300000c0100000e800e00800300000c0100000e"
	"800e00c00300000c0100000e800e010003000008020000050300000802000006"
	"03000008020000070300000802000002030000080400000e030000080400001f"
	"0300000804000020030000080400001303000008040000140300000804000015"
	"030000080400001c030000080400001d030000080400001e030000080400000f"
	"03000008040000100300000804000011000000080400001228000108000e0000"
	"8d94d3e831875a2f20951ba8a6bb88467737e29955a4688dc7de0176a6a7529f"
	"948699a3a19ce2b6e631f62fbd1cedad33c1516d58e668d1f651c48c47281a44"
	"e6a9d7582f184cacac0cfe1898c9c9f892f07a77416075e2d74a128c698167f1"
	"652c78ed73d1ecc644f82b1bff513d17540e24e77bee6700162cce7061a36857"
	"2f27e3fc0ad5812684dfa1ff3b3730f84227831e47a9e796a607082404e14fb4"
	"3d9deacd3797cf4b06deb10d573534dc8d1afb3273a26e536abfb1532443c481"
	"7bcd9f61cd152d2c65a17b1e81f7c6e37362d0c40278bc35fd7e07a7ef98133e"
	"ee551e4404348ff2207cb551b746afc564f0224e8b24d656d460e8318d8fdea1"
	"29000024cc0ccdc76d594d7967c9e7fe712ae0d6c85a5114b8088dfcb4778a54"
	"4ce7ad802900001c00004004e3c409d97d0e8ba0d38c4bd92a6026a2a4d4fe56"
	"2900001c00004005c872f1b378700180ec9f400d46a309401336d54829000008"
	"0000402e290000100000402f00020003000400050000000800004016";

static const char sw_product_init[] =
	"78ffc17143749af000000000000000002120220800000000000001fc2200005c"
	"0200002c010100040300000c0100000c800e0100030000080300000c03000008"
	"02000005000000080400000e0000002c020100040300000c0100000c800e0080"
	"03000008030000020300000802000002000000080400000f28000108000e0000"
	"0ebdff89afe604e91ed05db7f860fcd2ca4905686a0598687e794f2f85f8ba27"
	"ef2cfad258c3837c898e397c3fe00b34fa6b64d1be473541a4f8e13d6203c565"
	"576b78e4c910ddd50c6759f5cce2e1be92d1db9a082334c7dd43be7ce1a53544"
	"ca830b0659d2cf77f03abf53df5592b8949a3d18e987eb7bff6c45b73632d898"
	"c8cfa8725ae95f770ad209c6e31e88bbd9c0f0a6036c2bf35b2c87441e356277"
	"cfd4392821ece34ddf4b7f5eb96bec487a38b1bfd9e343a6c028937ddbc54f18"
	"7783b01bc90e1d0c9b2a05683c268726573942d999c7a87bd6d13b9453f8ac82"
	"8450154d317f41738212cc06480c941abfb2e14c81e5d4901abc7bfd49c9081d"
	"29000024e358fd374f92b2cccc3c69b68e6252b3dc21f9771d11729c9dd83412"
	"0b027f572900001c00004004cebc3c8af084b3908752ef508c80dbe7d66cd865"
	"2900001c000040053f78ac7ac0e261471be11455e53f1dacb2a73f2229000008"
	"0000402e290000100000402f00020003000400050000000800004016";

/* ---- helpers ----------------------------------------------------------- */

/* Decode a hex string into a malloc'd buffer of exactly the right size. */
static uint8_t *unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2;
	uint8_t *b = malloc(n);

	assert_non_null(b);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		b[i] = (uint8_t)v;
	}
	*len = n;
	return b;
}

/* A heap copy of exactly len bytes, so any overread is caught by valgrind. */
static uint8_t *dup_bytes(const uint8_t *src, size_t len)
{
	uint8_t *b = malloc(len ? len : 1);

	assert_non_null(b);
	if (len)
		memcpy(b, src, len);
	return b;
}

static void set_be(uint8_t *p, unsigned width, uint32_t v)
{
	for (unsigned i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

static uint32_t get_be(const uint8_t *p, unsigned width)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < width; i++)
		v = v << 8 | p[i];
	return v;
}

/* Parse a heap copy of exactly len bytes; only m's scalars stay valid. */
static int parse_msg_copy(const uint8_t *src, size_t len, struct ikev2_msg *m)
{
	struct ikev2_msghdr h;
	uint8_t *b = dup_bytes(src, len);
	int rc = ikev2_parse_msg(b, len, &h, m);

	free(b);
	return rc;
}

/* Write one payload (generic header + body) at p; returns bytes written. */
static size_t mkpld(uint8_t *p, uint8_t next, bool crit, const void *body,
		    size_t len)
{
	p[0] = next;
	p[1] = crit ? IKEV2_CRITICAL : 0;
	set_be(p + 2, 2, (uint32_t)(len + 4));
	if (len)
		memcpy(p + 4, body, len);
	return len + 4;
}

/* Write a message header for a body of body_len bytes. */
static void mkhdr(uint8_t *p, uint8_t next, uint8_t exch, size_t body_len)
{
	memset(p, 0, IKEV2_HDR_LEN);
	memset(p, 0x11, 8);
	p[16] = next;
	p[17] = IKEV2_VERSION;
	p[18] = exch;
	p[19] = IKEV2_FLAG_INITIATOR;
	set_be(p + 24, 4, (uint32_t)(IKEV2_HDR_LEN + body_len));
}

/* ---- fixtures parse and decode ------------------------------------------ */

static void test_fixture_sizes(void **state)
{
	(void)state;
	assert_int_equal(sizeof(init_req), 496);
	assert_int_equal(get_be(init_req + 24, 4), sizeof(init_req));
	assert_int_equal(sizeof(auth_inner), 213);
}

static void test_parse_init_req(void **state)
{
	static const uint8_t types[] = {
		IKEV2_PLD_SA, IKEV2_PLD_KE, IKEV2_PLD_NONCE, IKEV2_PLD_NOTIFY,
		IKEV2_PLD_NOTIFY, IKEV2_PLD_VENDOR,
	};
	struct ikev2_msghdr h;
	struct ikev2_msg m;
	struct ikev2_sa sa;
	struct ikev2_ke_pld ke;
	struct ikev2_notify_pld n;
	int i;

	(void)state;
	assert_int_equal(ikev2_parse_msg(init_req, sizeof(init_req), &h, &m), 0);
	assert_true(h.ispi == 0x0102030405060708ULL);
	assert_true(h.rspi == 0);
	assert_int_equal(h.next, IKEV2_PLD_SA);
	assert_int_equal(h.major, 2);
	assert_int_equal(h.minor, 0);
	assert_int_equal(h.exch, IKEV2_EXCH_IKE_SA_INIT);
	assert_int_equal(h.flags, IKEV2_FLAG_INITIATOR);
	assert_int_equal(h.msgid, 0);
	assert_int_equal(h.length, 496);

	assert_int_equal(m.n, ARRAY_SIZE(types));
	for (unsigned k = 0; k < m.n; k++)
		assert_int_equal(m.pld[k].type, types[k]);
	assert_int_equal(m.sk, -1);
	assert_int_equal(m.n_skipped, 0);
	assert_int_equal(m.pld[0].off, 28);
	assert_int_equal(m.pld[2].off, 384);
	assert_int_equal(m.pld[2].len, 32);
	assert_ptr_equal(m.pld[2].body, init_req + 388);

	assert_int_equal(ikev2_dec_sa(&m.pld[0], &sa), 0);
	assert_int_equal(sa.n, 2);
	assert_int_equal(sa.prop[0].num, 1);
	assert_int_equal(sa.prop[0].proto, IKEV2_PROTO_IKE);
	assert_int_equal(sa.prop[0].spi_size, 0);
	assert_null(sa.prop[0].spi);
	assert_int_equal(sa.prop[0].n_xf, 4);
	assert_int_equal(sa.prop[0].xf[0].type, IKEV2_XF_ENCR);
	assert_int_equal(sa.prop[0].xf[0].id, IKE_ENCR_AES_CBC);
	assert_true(sa.prop[0].xf[0].has_keylen);
	assert_int_equal(sa.prop[0].xf[0].keylen, 256);
	assert_false(sa.prop[0].xf[0].bad_attr);
	assert_int_equal(sa.prop[0].xf[1].type, IKEV2_XF_PRF);
	assert_int_equal(sa.prop[0].xf[1].id, IKE_PRF_HMAC_SHA2_256);
	assert_false(sa.prop[0].xf[1].has_keylen);
	assert_int_equal(sa.prop[0].xf[2].id, IKE_AUTH_HMAC_SHA2_256_128);
	assert_int_equal(sa.prop[0].xf[3].type, IKEV2_XF_DH);
	assert_int_equal(sa.prop[0].xf[3].id, IKE_DH_MODP2048);
	assert_int_equal(sa.prop[1].num, 2);
	assert_int_equal(sa.prop[1].xf[0].keylen, 128);
	assert_int_equal(sa.prop[1].xf[3].id, IKE_DH_MODP3072);

	assert_int_equal(ikev2_dec_ke(&m.pld[1], &ke), 0);
	assert_int_equal(ke.group, 14);
	assert_int_equal(ke.len, 256);
	assert_ptr_equal(ke.data, init_req + 128);

	assert_int_equal(ikev2_find_notify(&m, IKEV2_N_NAT_DETECTION_DESTINATION_IP,
					   &n), 0);
	assert_int_equal(n.len, 20);
	assert_int_equal(n.data[0], 0x22);
	assert_int_equal(n.spi_size, 0);
	assert_null(n.spi);
	assert_int_equal(ikev2_find_notify(&m, IKEV2_N_COOKIE, &n), -ENOENT);

	i = ikev2_msg_find(&m, IKEV2_PLD_NOTIFY, 0);
	assert_int_equal(i, 3);
	assert_int_equal(ikev2_msg_find(&m, IKEV2_PLD_NOTIFY, 4), 4);
	assert_int_equal(ikev2_msg_find(&m, IKEV2_PLD_NOTIFY, 5), -1);
	assert_int_equal(ikev2_msg_count(&m, IKEV2_PLD_NOTIFY), 2);
	assert_int_equal(ikev2_msg_count(&m, IKEV2_PLD_SK), 0);
}

static void test_parse_auth_inner(void **state)
{
	struct ikev2_msg m;
	struct ikev2_id_pld id;
	struct ikev2_auth_pld a;
	struct ikev2_cp_pld cp;
	struct ikev2_sa sa;
	struct ikev2_ts_pld ts;
	struct ikev2_notify_pld n;
	char s[64];

	(void)state;
	assert_int_equal(ikev2_parse_inner(IKEV2_PLD_IDI, auth_inner,
					   sizeof(auth_inner), &m), 0);
	assert_int_equal(m.n, 7);

	assert_int_equal(ikev2_dec_id(&m.pld[0], &id), 0);
	assert_int_equal(id.type, IKEV2_ID_RFC822_ADDR);
	assert_int_equal(id.len, 17);
	assert_int_equal(ikev2_id_render(&id, s, sizeof(s)), 0);
	assert_string_equal(s, "site1@example.net");

	assert_int_equal(ikev2_dec_auth(&m.pld[1], &a), 0);
	assert_int_equal(a.method, IKEV2_AUTH_PSK);
	assert_int_equal(a.len, 32);

	assert_int_equal(ikev2_dec_cp(&m.pld[2], &cp), 0);
	assert_int_equal(cp.type, IKEV2_CFG_REQUEST);
	assert_int_equal(cp.n, 2);
	assert_int_equal(cp.attr[0].type, IKEV2_CFA_INTERNAL_IP4_ADDRESS);
	assert_int_equal(cp.attr[0].len, 0);
	assert_null(cp.attr[0].value);
	assert_int_equal(cp.attr[1].type, IKEV2_CFA_INTERNAL_IP4_DNS);

	assert_int_equal(ikev2_dec_sa(&m.pld[3], &sa), 0);
	assert_int_equal(sa.n, 1);
	assert_int_equal(sa.prop[0].proto, IKEV2_PROTO_ESP);
	assert_int_equal(sa.prop[0].spi_size, 4);
	assert_ptr_equal(sa.prop[0].spi, auth_inner + 93);
	assert_int_equal(sa.prop[0].n_xf, 2);
	assert_int_equal(sa.prop[0].xf[0].id, IKE_ENCR_AES_GCM_16);
	assert_int_equal(sa.prop[0].xf[0].keylen, 256);
	assert_int_equal(sa.prop[0].xf[1].type, IKEV2_XF_ESN);
	assert_int_equal(sa.prop[0].xf[1].id, IKEV2_ESN_NONE);

	assert_int_equal(ikev2_dec_ts(&m.pld[4], &ts), 0);
	assert_int_equal(m.pld[4].type, IKEV2_PLD_TSI);
	assert_int_equal(ts.n, 1);
	assert_int_equal(ts.ts[0].type, IKEV2_TS_IPV4_ADDR_RANGE);
	assert_int_equal(ts.ts[0].proto, 0);
	assert_int_equal(ts.ts[0].start_port, 0);
	assert_int_equal(ts.ts[0].end_port, 65535);
	assert_int_equal(ts.ts[0].v4.start, htonl(0x0a010000));
	assert_int_equal(ts.ts[0].v4.end, htonl(0x0a01ffff));

	assert_int_equal(ikev2_dec_ts(&m.pld[5], &ts), 0);
	assert_int_equal(m.pld[5].type, IKEV2_PLD_TSR);
	assert_int_equal(ts.n, 2);
	assert_int_equal(ts.ts[0].proto, 6);
	assert_int_equal(ts.ts[0].start_port, 80);
	assert_int_equal(ts.ts[0].end_port, 443);
	assert_int_equal(ts.ts[0].v4.end, 0xffffffff);
	assert_int_equal(ts.ts[1].type, IKEV2_TS_IPV6_ADDR_RANGE);
	assert_int_equal(ts.ts[1].v6.start[0], 0);
	assert_int_equal(ts.ts[1].v6.end[15], 0xff);

	assert_int_equal(ikev2_dec_notify(&m.pld[6], &n), 0);
	assert_int_equal(n.type, IKEV2_N_INITIAL_CONTACT);
	assert_int_equal(n.len, 0);

	/* decoders refuse a payload of another type */
	assert_int_equal(ikev2_dec_sa(&m.pld[0], &sa), -EINVAL);
	assert_int_equal(ikev2_dec_id(&m.pld[1], &id), -EINVAL);
	assert_int_equal(ikev2_dec_ts(&m.pld[3], &ts), -EINVAL);
	assert_int_equal(ikev2_dec_notify(&m.pld[0], &n), -EINVAL);

	/* the same bytes are not a valid outer chain start for SA */
	assert_int_not_equal(ikev2_parse_chain(IKEV2_PLD_SA, auth_inner,
					       sizeof(auth_inner), &m), 0);
}

/* ---- header ------------------------------------------------------------- */

struct hdr_case {
	const char *what;
	uint8_t version;
	int len_delta;		/* added to the header's length field */
	size_t dgram;		/* datagram length handed to the parser */
	int rc;
};

static void test_hdr(void **state)
{
	static const struct hdr_case cases[] = {
		{ "IKEv2.0", 0x20, 0, 28, 0 },
		{ "minor 1 ignored", 0x21, 0, 28, 0 },
		{ "IKEv1", 0x10, 0, 28, -EPROTONOSUPPORT },
		{ "major 3", 0x30, 0, 28, -EPROTONOSUPPORT },
		{ "major 0", 0x00, 0, 28, -EPROTONOSUPPORT },
		{ "length + 1", 0x20, 1, 28, -EBADMSG },
		{ "length - 1", 0x20, -1, 28, -EBADMSG },
		{ "datagram 27", 0x20, 0, 27, -EBADMSG },
		{ "datagram 0", 0x20, 0, 0, -EBADMSG },
	};
	(void)state;

	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct hdr_case *c = &cases[i];
		struct ikev2_msghdr h;
		uint8_t b[28];
		uint8_t *d;

		mkhdr(b, IKEV2_PLD_NONE, IKEV2_EXCH_INFORMATIONAL, 0);
		b[17] = c->version;
		set_be(b + 20, 4, 0x01020304);
		set_be(b + 24, 4, (uint32_t)(28 + c->len_delta));
		d = dup_bytes(b, c->dgram);
		print_message("hdr: %s\n", c->what);
		assert_int_equal(ikev2_parse_hdr(d, c->dgram, &h), c->rc);
		if (c->rc == 0 || c->rc == -EPROTONOSUPPORT) {
			assert_int_equal(h.major, c->version >> 4);
			assert_int_equal(h.msgid, 0x01020304);
			assert_true(h.ispi == 0x1111111111111111ULL);
		}
		free(d);
	}
}

/* ---- every length field off by one -------------------------------------- */

static void off_by_one(const uint8_t *fix, size_t len,
		       const struct len_field *f, unsigned nf, bool inner)
{
	for (unsigned i = 0; i < nf; i++) {
		for (int d = -1; d <= 1; d += 2) {
			uint8_t *b = dup_bytes(fix, len);
			struct ikev2_msg m;
			struct ikev2_msghdr h;
			uint32_t v = get_be(b + f[i].off, f[i].width);
			int rc;

			set_be(b + f[i].off, f[i].width, v + (uint32_t)d);
			rc = inner ? ikev2_parse_inner(IKEV2_PLD_IDI, b, len, &m)
				   : ikev2_parse_msg(b, len, &h, &m);
			if (rc == 0)
				fail_msg("%s %+d accepted", f[i].what, d);
			assert_true(rc == -EBADMSG);
			free(b);
		}
	}
}

static void test_len_off_by_one_init(void **state)
{
	(void)state;
	off_by_one(init_req, sizeof(init_req), init_len_fields,
		   ARRAY_SIZE(init_len_fields), false);
}

static void test_len_off_by_one_inner(void **state)
{
	(void)state;
	off_by_one(auth_inner, sizeof(auth_inner), inner_len_fields,
		   ARRAY_SIZE(inner_len_fields), true);
}

/* ---- truncation at every byte ------------------------------------------- */

/*
 * Cut a valid message at every offset. Twice: as is (the header length no
 * longer matches) and with the header length patched to the cut, so the
 * payload walker itself meets the truncation.
 */
static void truncate_msg(const uint8_t *fix, size_t len)
{
	struct ikev2_msg m;

	assert_int_equal(parse_msg_copy(fix, len, &m), 0);
	for (size_t k = 0; k < len; k++) {
		struct ikev2_msghdr h;
		uint8_t *b = dup_bytes(fix, k);

		assert_int_not_equal(ikev2_parse_msg(b, k, &h, &m), 0);
		if (k >= IKEV2_HDR_LEN) {
			set_be(b + 24, 4, (uint32_t)k);
			if (ikev2_parse_msg(b, k, &h, &m) == 0)
				fail_msg("cut at %zu accepted", k);
		}
		free(b);
	}
}

static void test_truncate_init(void **state)
{
	(void)state;
	truncate_msg(init_req, sizeof(init_req));
}

static void test_truncate_inner(void **state)
{
	struct ikev2_msg m;

	(void)state;
	for (size_t k = 0; k < sizeof(auth_inner); k++) {
		uint8_t *b = dup_bytes(auth_inner, k);

		if (ikev2_parse_inner(IKEV2_PLD_IDI, b, k, &m) == 0)
			fail_msg("cut at %zu accepted", k);
		free(b);
	}
}

static void test_truncate_strongswan(void **state)
{
	const char *caps[] = { sw_default_init, sw_default_retry,
			       sw_product_init };

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(caps); i++) {
		size_t len;
		uint8_t *b = unhex(caps[i], &len);

		truncate_msg(b, len);
		free(b);
	}
}

/* ---- chain rules -------------------------------------------------------- */

static void test_unknown_critical(void **state)
{
	static const uint8_t body[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t b[64];
	struct ikev2_msg m;
	size_t n = 0;

	(void)state;
	/* V -> type 49 (unassigned), critical -> V */
	n += mkpld(b + n, 49, false, body, 4);
	n += mkpld(b + n, IKEV2_PLD_VENDOR, true, body, 8);
	n += mkpld(b + n, IKEV2_PLD_NONE, false, body, 2);
	assert_int_equal(ikev2_parse_chain(IKEV2_PLD_VENDOR, b, n, &m),
			 -ENOTSUP);
	assert_int_equal(m.unsup_type, 49);
	assert_int_equal(m.err_off, 8);
	assert_non_null(m.why);

	/* the same, non-critical: skipped, the rest parsed */
	b[8 + 1] = 0;
	assert_int_equal(ikev2_parse_chain(IKEV2_PLD_VENDOR, b, n, &m), 0);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.n_skipped, 1);
	assert_int_equal(m.pld[1].type, IKEV2_PLD_VENDOR);
	assert_int_equal(m.pld[1].len, 2);
	assert_int_equal(m.unsup_type, 0);

	/* a known payload with the critical bit is just parsed (2.5) */
	b[1] = IKEV2_CRITICAL;
	assert_int_equal(ikev2_parse_chain(IKEV2_PLD_VENDOR, b, n, &m), 0);
	assert_true(m.pld[0].critical);

	/* unknown critical as the first payload of a whole message */
	{
		uint8_t msg[64];

		mkhdr(msg, 200, IKEV2_EXCH_INFORMATIONAL, 8);
		mkpld(msg + 28, IKEV2_PLD_NONE, true, body, 4);
		assert_int_equal(parse_msg_copy(msg, 36, &m), -ENOTSUP);
		assert_int_equal(m.unsup_type, 200);
		assert_int_equal(m.err_off, 28);
	}
}

static void test_sk(void **state)
{
	static const uint8_t body[48] = { 0x5a };
	uint8_t b[256];
	struct ikev2_msg m;
	size_t n;

	(void)state;
	/* header, V, SK(next IDi) as last: fine, SK recorded */
	mkhdr(b, IKEV2_PLD_VENDOR, IKEV2_EXCH_IKE_AUTH, 8 + 52);
	n = 28;
	n += mkpld(b + n, IKEV2_PLD_SK, false, body, 4);
	n += mkpld(b + n, IKEV2_PLD_IDI, false, body, 48);
	assert_int_equal(parse_msg_copy(b, n, &m), 0);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.sk, 1);
	assert_int_equal(m.sk_off, 36);
	assert_int_equal(m.sk_next, IKEV2_PLD_IDI);
	assert_int_equal(m.pld[1].len, 48);

	/* SK followed by another payload: rejected (3.14) */
	set_be(b + 24, 4, (uint32_t)(n + 8));
	mkpld(b + n, IKEV2_PLD_NONE, false, body, 4);
	assert_int_equal(parse_msg_copy(b, n + 8, &m), -EBADMSG);
	assert_int_equal(m.err_off, 36);

	/* empty SK body */
	mkhdr(b, IKEV2_PLD_SK, IKEV2_EXCH_INFORMATIONAL, 4);
	mkpld(b + 28, IKEV2_PLD_NONE, false, body, 0);
	assert_int_equal(parse_msg_copy(b, 32, &m), -EBADMSG);

	/* SK inside an SK plaintext */
	n = mkpld(b, IKEV2_PLD_SK, false, body, 4);
	n += mkpld(b + n, IKEV2_PLD_NONE, false, body, 16);
	assert_int_equal(ikev2_parse_inner(IKEV2_PLD_VENDOR, b, n, &m),
			 -EBADMSG);
	assert_int_equal(ikev2_parse_chain(IKEV2_PLD_VENDOR, b, n, &m), 0);

	/* empty inner list (e.g. a DPD request) */
	assert_int_equal(ikev2_parse_inner(IKEV2_PLD_NONE, b, 0, &m), 0);
	assert_int_equal(m.n, 0);
	/* ... but no stray bytes */
	assert_int_equal(ikev2_parse_inner(IKEV2_PLD_NONE, b, 3, &m),
			 -EBADMSG);
}

static void test_skf(void **state)
{
	uint8_t body[20] = { 0x00, 0x01, 0x00, 0x02 };	/* 1 of 2 */
	uint8_t b[64];
	struct ikev2_msg m;
	struct ikev2_skf_pld f;
	struct ikev2_msghdr h;
	size_t n;

	(void)state;
	mkhdr(b, IKEV2_PLD_SKF, IKEV2_EXCH_IKE_AUTH, 24);
	n = 28 + mkpld(b + 28, IKEV2_PLD_IDI, false, body, 20);
	assert_int_equal(ikev2_parse_msg(b, n, &h, &m), 0);
	assert_int_equal(m.sk, 0);
	assert_int_equal(ikev2_dec_skf(&m.pld[0], &f), 0);
	assert_int_equal(f.frag_num, 1);
	assert_int_equal(f.total, 2);
	assert_int_equal(f.len, 16);

	body[1] = 0;			/* fragment 0 */
	mkpld(b + 28, IKEV2_PLD_IDI, false, body, 20);
	assert_int_equal(parse_msg_copy(b, n, &m), -EBADMSG);
	body[1] = 3;			/* 3 of 2 */
	mkpld(b + 28, IKEV2_PLD_IDI, false, body, 20);
	assert_int_equal(parse_msg_copy(b, n, &m), -EBADMSG);
}

/* ---- bounds ------------------------------------------------------------- */

/* A chain of n Vendor ID payloads (each with a 1-byte body). */
static int chain_of(unsigned n, uint8_t pld_type)
{
	uint8_t *b = malloc(5 * n + 1);
	struct ikev2_msg m;
	uint8_t one = 0x42;
	size_t off = 0;
	int rc;

	assert_non_null(b);
	for (unsigned i = 0; i < n; i++)
		off += mkpld(b + off, i + 1 < n ? pld_type : 0, false, &one, 1);
	rc = ikev2_parse_chain(pld_type, b, off, &m);
	if (rc == 0 && pld_type == IKEV2_PLD_VENDOR)
		assert_int_equal(m.n, n);
	free(b);
	return rc;
}

static void test_payload_bound(void **state)
{
	(void)state;
	assert_int_equal(chain_of(IKEV2_MAX_PAYLOADS, IKEV2_PLD_VENDOR), 0);
	assert_int_equal(chain_of(IKEV2_MAX_PAYLOADS + 1, IKEV2_PLD_VENDOR),
			 -E2BIG);
	/* skipped unknown payloads count against the bound too */
	assert_int_equal(chain_of(IKEV2_MAX_PAYLOADS, 99), 0);
	assert_int_equal(chain_of(IKEV2_MAX_PAYLOADS + 1, 99), -E2BIG);
}

/*
 * An SA payload body of n_prop IKE proposals with n_xf transforms each
 * (all ENCR NULL); returns its length.
 */
static size_t sa_body(uint8_t *b, unsigned n_prop, unsigned n_xf)
{
	size_t off = 0;

	for (unsigned p = 0; p < n_prop; p++) {
		size_t plen = 8 + 8 * (size_t)n_xf;

		b[off] = p + 1 < n_prop ? IKEV2_LAST_MORE_PROP : IKEV2_LAST_NONE;
		b[off + 1] = 0;
		set_be(b + off + 2, 2, (uint32_t)plen);
		b[off + 4] = (uint8_t)(p + 1);
		b[off + 5] = IKEV2_PROTO_IKE;
		b[off + 6] = 0;
		b[off + 7] = (uint8_t)n_xf;
		for (unsigned t = 0; t < n_xf; t++) {
			uint8_t *x = b + off + 8 + 8 * t;

			x[0] = t + 1 < n_xf ? IKEV2_LAST_MORE_XFORM
					    : IKEV2_LAST_NONE;
			x[1] = 0;
			set_be(x + 2, 2, 8);
			x[4] = IKEV2_XF_ENCR;
			x[5] = 0;
			set_be(x + 6, 2, IKE_ENCR_NULL);
		}
		off += plen;
	}
	return off;
}

static int parse_sa_body(const uint8_t *body, size_t len, struct ikev2_sa *sa)
{
	uint8_t *b = malloc(len + 4);
	struct ikev2_msg m;
	int rc;

	assert_non_null(b);
	mkpld(b, IKEV2_PLD_NONE, false, body, len);
	rc = ikev2_parse_chain(IKEV2_PLD_SA, b, len + 4, &m);
	if (rc == 0 && sa)
		assert_int_equal(ikev2_dec_sa(&m.pld[0], sa), 0);
	free(b);
	return rc;
}

static void test_sa_bounds(void **state)
{
	static uint8_t b[16384];	/* 16 x (8 + 64 x 8) = 8320 bytes */
	static struct ikev2_sa sa;

	(void)state;
	assert_int_equal(parse_sa_body(b, sa_body(b, IKEV2_MAX_PROPOSALS, 1),
				       &sa), 0);
	assert_int_equal(sa.n, IKEV2_MAX_PROPOSALS);
	assert_int_equal(sa.prop[15].num, 16);
	assert_int_equal(parse_sa_body(b, sa_body(b, IKEV2_MAX_PROPOSALS + 1,
						  1), NULL), -E2BIG);
	assert_int_equal(parse_sa_body(b, sa_body(b, 1, IKEV2_MAX_XFORMS),
				       &sa), 0);
	assert_int_equal(sa.prop[0].n_xf, IKEV2_MAX_XFORMS);
	assert_int_equal(parse_sa_body(b, sa_body(b, 1, IKEV2_MAX_XFORMS + 1),
				       NULL), -E2BIG);
	/* proposal count * transform count at both bounds */
	assert_int_equal(parse_sa_body(b, sa_body(b, IKEV2_MAX_PROPOSALS,
						  IKEV2_MAX_XFORMS), &sa), 0);
	/* no proposal, no transform */
	assert_int_equal(parse_sa_body(b, 0, NULL), -EBADMSG);
	assert_int_equal(parse_sa_body(b, sa_body(b, 1, 0), NULL), -EBADMSG);
}

static void test_ts_cp_bounds(void **state)
{
	uint8_t body[4 + 17 * 16];
	uint8_t b[sizeof(body) + 4];
	struct ikev2_msg m;
	struct ikev2_ts_pld ts;
	struct ikev2_cp_pld cp;
	size_t len;

	(void)state;
	for (unsigned n = IKEV2_MAX_TS; n <= IKEV2_MAX_TS + 1; n++) {
		memset(body, 0, sizeof(body));
		body[0] = (uint8_t)n;
		for (unsigned i = 0; i < n; i++) {
			uint8_t *t = body + 4 + 16 * i;

			t[0] = IKEV2_TS_IPV4_ADDR_RANGE;
			set_be(t + 2, 2, 16);
			set_be(t + 6, 2, 65535);
			t[8] = 10;
			t[12] = 10;
			t[15] = (uint8_t)i;
		}
		len = mkpld(b, 0, false, body, 4 + 16 * n);
		if (n == IKEV2_MAX_TS) {
			assert_int_equal(ikev2_parse_chain(IKEV2_PLD_TSI, b,
							   len, &m), 0);
			assert_int_equal(ikev2_dec_ts(&m.pld[0], &ts), 0);
			assert_int_equal(ts.n, IKEV2_MAX_TS);
			assert_int_equal(ts.ts[15].v4.end, htonl(0x0a00000f));
		} else {
			assert_int_equal(ikev2_parse_chain(IKEV2_PLD_TSI, b,
							   len, &m), -E2BIG);
		}
	}

	for (unsigned n = IKEV2_MAX_CP_ATTRS; n <= IKEV2_MAX_CP_ATTRS + 1; n++) {
		uint8_t cb[4 + 4 * 33], pb[sizeof(cb) + 4];

		memset(cb, 0, sizeof(cb));
		cb[0] = IKEV2_CFG_REQUEST;
		for (unsigned i = 0; i < n; i++)
			set_be(cb + 4 + 4 * i, 2, IKEV2_CFA_INTERNAL_IP4_DNS);
		len = mkpld(pb, 0, false, cb, 4 + 4 * n);
		if (n == IKEV2_MAX_CP_ATTRS) {
			assert_int_equal(ikev2_parse_chain(IKEV2_PLD_CP, pb,
							   len, &m), 0);
			assert_int_equal(ikev2_dec_cp(&m.pld[0], &cp), 0);
			assert_int_equal(cp.n, IKEV2_MAX_CP_ATTRS);
		} else {
			assert_int_equal(ikev2_parse_chain(IKEV2_PLD_CP, pb,
							   len, &m), -E2BIG);
		}
	}
}

/* ---- SA structure: mutations of init_req -------------------------------- */

struct mutation {
	const char *what;
	size_t off;		/* in init_req */
	unsigned n;		/* bytes replaced */
	uint8_t val[4];
	int rc;
};

static void test_sa_structure(void **state)
{
	static const struct mutation cases[] = {
		{ "unchanged", 36, 1, { 1 }, 0 },
		{ "first proposal #2", 36, 1, { 2 }, -EBADMSG },
		{ "first proposal #0", 36, 1, { 0 }, -EBADMSG },
		{ "second #1 (AND)", 80, 1, { 1 }, -EBADMSG },
		{ "second #3", 80, 1, { 3 }, -EBADMSG },
		{ "p1 last 0, p2 follows", 32, 1, { 0 }, -EBADMSG },
		{ "p1 last 3 (xform value)", 32, 1, { 3 }, -EBADMSG },
		{ "p2 last 2 (more), none follows", 76, 1, { 2 }, -EBADMSG },
		{ "p1 ENCR last 0, more follow", 40, 1, { 0 }, -EBADMSG },
		{ "p1 ENCR last 2 (prop value)", 40, 1, { 2 }, -EBADMSG },
		{ "p1 DH last 3, none follows", 68, 1, { 3 }, -EBADMSG },
		{ "p1 5 transforms, 4 present", 39, 1, { 5 }, -EBADMSG },
		{ "p1 3 transforms, 4 present", 39, 1, { 3 }, -EBADMSG },
		{ "p1 0 transforms", 39, 1, { 0 }, -EBADMSG },
		{ "IKE SPI size 4", 38, 1, { 4 }, -EBADMSG },
		{ "ESP SPI size 0", 37, 1, { IKEV2_PROTO_ESP }, -EBADMSG },
		{ "unknown protocol 9", 37, 1, { 9 }, 0 },
		{ "TLV attr, bogus length", 48, 4, { 0x00, 0x0e, 0x01, 0x00 },
		  -EBADMSG },
		{ "TLV attr, length 1 > 0 left", 48, 4, { 0x00, 0x0e, 0x00, 0x01 },
		  -EBADMSG },
		{ "TLV attr, length 0 (fits)", 48, 4, { 0x00, 0x0e, 0x00, 0x00 },
		  0 },
		{ "unknown TV attribute", 48, 4, { 0x80, 0x0f, 0x00, 0x01 }, 0 },
		{ "unknown transform type 9", 44, 1, { 9 }, 0 },
	};
	(void)state;

	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct mutation *c = &cases[i];
		uint8_t *b = dup_bytes(init_req, sizeof(init_req));
		struct ikev2_msg m;
		struct ikev2_msghdr h;
		int rc;

		memcpy(b + c->off, c->val, c->n);
		rc = ikev2_parse_msg(b, sizeof(init_req), &h, &m);
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d (%s)", c->what, rc, c->rc,
				 m.why ? m.why : "-");
		if (rc == 0) {
			struct ikev2_sa sa;

			assert_int_equal(ikev2_dec_sa(&m.pld[0], &sa), 0);
			assert_int_equal(sa.n, 2);
		} else {
			assert_int_equal(m.err_off, 28);	/* the SA */
		}
		free(b);
	}
}

/* A response echoes one proposal with the peer's number; a request may not. */
static void test_response_numbering(void **state)
{
	/* proposal #2 (last), IKE, no SPI, 1 transform: ENCR NULL */
	static const uint8_t lone2[] = {
		0x00, 0x00, 0x00, 0x10, 0x02, 0x01, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x0b,
	};
	static uint8_t b[64];
	struct ikev2_msg m;
	struct ikev2_sa sa;
	size_t n;

	(void)state;
	n = mkpld(b, IKEV2_PLD_NONE, false, lone2, sizeof(lone2));
	assert_int_equal(ikev2_parse_chain(IKEV2_PLD_SA, b, n, &m), -EBADMSG);
	assert_int_equal(ikev2_parse_chain_flags(IKEV2_PLD_SA, b, n,
						 IKEV2_PARSE_RESPONSE, &m), 0);
	assert_int_equal(ikev2_dec_sa(&m.pld[0], &sa), 0);
	assert_int_equal(sa.n, 1);
	assert_int_equal(sa.prop[0].num, 2);
	/* number 0 */
	b[4 + 4] = 0;
	assert_int_equal(ikev2_parse_chain_flags(IKEV2_PLD_SA, b, n,
						 IKEV2_PARSE_RESPONSE, &m),
			 -EBADMSG);
	/* two proposals in a response */
	{
		uint8_t body[48];

		n = sa_body(body, 2, 1);
		n = mkpld(b, IKEV2_PLD_NONE, false, body, n);
	}
	assert_int_equal(ikev2_parse_chain(IKEV2_PLD_SA, b, n, &m), 0);
	assert_int_equal(ikev2_parse_chain_flags(IKEV2_PLD_SA, b, n,
						 IKEV2_PARSE_RESPONSE, &m),
			 -EBADMSG);
	assert_int_equal(ikev2_parse_chain_flags(IKEV2_PLD_SA, b, n, 0x80, &m),
			 -EINVAL);
}

/* Decoded attribute flags for the accepted attribute oddities. */
static void test_xf_attrs(void **state)
{
	static const struct {
		uint8_t attr[4];
		bool has_keylen, bad_attr;
		uint16_t keylen;
	} cases[] = {
		{ { 0x80, 0x0e, 0x00, 0xc0 }, true, false, 192 },
		{ { 0x00, 0x0e, 0x00, 0x00 }, false, true, 0 },	/* TLV */
		{ { 0x80, 0x0f, 0x00, 0x80 }, false, true, 0 },	/* unknown */
	};
	(void)state;

	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t *b = dup_bytes(init_req, sizeof(init_req));
		struct ikev2_msg m;
		struct ikev2_msghdr h;
		struct ikev2_sa sa;

		memcpy(b + 48, cases[i].attr, 4);
		assert_int_equal(ikev2_parse_msg(b, sizeof(init_req), &h, &m), 0);
		assert_int_equal(ikev2_dec_sa(&m.pld[0], &sa), 0);
		assert_int_equal(sa.prop[0].xf[0].has_keylen,
				 cases[i].has_keylen);
		assert_int_equal(sa.prop[0].xf[0].bad_attr, cases[i].bad_attr);
		if (cases[i].has_keylen)
			assert_int_equal(sa.prop[0].xf[0].keylen,
					 cases[i].keylen);
		free(b);
	}

	/* KEY_LENGTH twice: unusable transform */
	{
		uint8_t body[] = {
			0x00, 0x00, 0x00, 0x14, 0x01, 0x01, 0x00, 0x01,
			0x00, 0x00, 0x00, 0x10, 0x01, 0x00, 0x00, 0x0c,
			0x80, 0x0e, 0x00, 0x80, 0x80, 0x0e, 0x01, 0x00,
		};
		struct ikev2_sa sa;

		body[3] = sizeof(body);
		assert_int_equal(parse_sa_body(body, sizeof(body), &sa), 0);
		assert_true(sa.prop[0].xf[0].bad_attr);
		assert_int_equal(sa.prop[0].xf[0].keylen, 128);
	}
}

/* ---- per-type rules ------------------------------------------------------ */

struct pld_case {
	const char *what;
	uint8_t type;
	const uint8_t *body;	/* NULL: len bytes of zero */
	size_t len;
	int rc;
};

/* bodies */
static const uint8_t ke14_hdr[] = { 0x00, 0x0e, 0x00, 0x00 };
static const uint8_t ke19[4 + 64] = { 0x00, 0x13 };	/* ECP 256: any length */
static const uint8_t ke19_empty[4] = { 0x00, 0x13 };
static const uint8_t id_v4[] = { 1, 0, 0, 0, 192, 0, 2, 7 };
static const uint8_t id_v4_5[] = { 1, 0, 0, 0, 192, 0, 2, 7, 1 };
static const uint8_t id_v6_4[] = { 5, 0, 0, 0, 1, 2, 3, 4 };
static const uint8_t id_fqdn_empty[] = { 2, 0, 0, 0 };
static const uint8_t id_dn_empty[] = { 9, 0, 0, 0 };
static const uint8_t id_short[] = { 2, 0, 0 };
static const uint8_t auth_empty[] = { 2, 0, 0, 0 };
static const uint8_t auth_short[] = { 2, 0, 0 };
static const uint8_t n_natd19[4 + 19] = { 0, 0, 0x40, 0x04 };
static const uint8_t n_natd21[4 + 21] = { 0, 0, 0x40, 0x05 };
static const uint8_t n_cookie0[4] = { 0, 0, 0x40, 0x06 };
static const uint8_t n_cookie64[4 + 64] = { 0, 0, 0x40, 0x06 };
static const uint8_t n_cookie65[4 + 65] = { 0, 0, 0x40, 0x06 };
static const uint8_t n_invke2[] = { 0, 0, 0, 17, 0, 14 };
static const uint8_t n_invke3[] = { 0, 0, 0, 17, 0, 14, 0 };
static const uint8_t n_sighash_odd[] = { 0, 0, 0x40, 0x2f, 0, 2, 0 };
static const uint8_t n_rekey_esp[] = { 3, 4, 0x40, 0x09, 1, 2, 3, 4 };
static const uint8_t n_rekey_ike[] = { 1, 0, 0x40, 0x09 };
static const uint8_t n_spi_over[] = { 3, 4, 0, 11, 1, 2, 3 };
static const uint8_t n_short[] = { 0, 0, 0 };
static const uint8_t n_unknown_any[] = { 0, 0, 0x9f, 0x00, 1, 2, 3 };
static const uint8_t d_ike[] = { 1, 0, 0, 0 };
static const uint8_t d_esp2[] = { 3, 4, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t d_esp2_short[] = { 3, 4, 0, 2, 1, 2, 3, 4, 5, 6, 7 };
static const uint8_t d_esp1_long[] = { 3, 4, 0, 1, 1, 2, 3, 4, 5 };
static const uint8_t d_ike_spi4[] = { 1, 4, 0, 1, 1, 2, 3, 4 };
static const uint8_t d_esp_spi8[] = { 3, 8, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t d_proto7[] = { 7, 4, 0, 0 };
static const uint8_t ts_none[] = { 0, 0, 0, 0 };
static const uint8_t ts_v4_40[4 + 40] = { 1, 0, 0, 0, 7, 0, 0, 40 };
static const uint8_t ts_v6_16[4 + 16] = { 1, 0, 0, 0, 8, 0, 0, 16 };
static const uint8_t ts_unknown[4 + 12] = { 1, 0, 0, 0, 9, 0, 0, 12 };
static const uint8_t ts_len7[4 + 8] = { 1, 0, 0, 0, 9, 0, 0, 7 };
static const uint8_t ts_count2_one[4 + 16] = { 2, 0, 0, 0, 7, 0, 0, 16 };
static const uint8_t cp_addr3[] = { 1, 0, 0, 0, 0, 1, 0, 3, 10, 0, 0 };
static const uint8_t cp_addr4[] = { 2, 0, 0, 0, 0, 1, 0, 4, 10, 0, 0, 1 };
static const uint8_t cp_v6addr16[4 + 4 + 16] = { 1, 0, 0, 0, 0, 8, 0, 16 };
static const uint8_t cp_v6addr17[4 + 4 + 17] = { 1, 0, 0, 0, 0, 8, 0, 17 };
static const uint8_t cp_unknown5[] = { 1, 0, 0, 0, 0x80, 99, 0, 1, 7 };
static const uint8_t cp_supp_odd[] = { 1, 0, 0, 0, 0, 14, 0, 1, 7 };
static const uint8_t cp_trunc[] = { 1, 0, 0, 0, 0, 1, 0 };
static const uint8_t eap_ok[] = { 1, 7, 0, 5, 1 };
static const uint8_t eap_bad[] = { 1, 7, 0, 6, 1 };
static const uint8_t one[] = { 4 };

static void test_payload_rules(void **state)
{
	static const struct pld_case cases[] = {
		{ "Nonce 15", IKEV2_PLD_NONCE, NULL, 15, -EBADMSG },
		{ "Nonce 16", IKEV2_PLD_NONCE, NULL, 16, 0 },
		{ "Nonce 256", IKEV2_PLD_NONCE, NULL, 256, 0 },
		{ "Nonce 257", IKEV2_PLD_NONCE, NULL, 257, -EBADMSG },
		{ "Nonce 0", IKEV2_PLD_NONCE, NULL, 0, -EBADMSG },
		{ "KE 14 no data", IKEV2_PLD_KE, ke14_hdr, 4, -EBADMSG },
		{ "KE 3 bytes", IKEV2_PLD_KE, ke14_hdr, 3, -EBADMSG },
		{ "KE 19, 64 bytes", IKEV2_PLD_KE, ke19, sizeof(ke19), 0 },
		{ "KE 19, no data", IKEV2_PLD_KE, ke19_empty, 4, -EBADMSG },
		{ "ID IPv4", IKEV2_PLD_IDI, id_v4, sizeof(id_v4), 0 },
		{ "ID IPv4 5 bytes", IKEV2_PLD_IDI, id_v4_5, sizeof(id_v4_5),
		  -EBADMSG },
		{ "ID IPv6 4 bytes", IKEV2_PLD_IDR, id_v6_4, sizeof(id_v6_4),
		  -EBADMSG },
		{ "ID FQDN empty", IKEV2_PLD_IDI, id_fqdn_empty, 4, -EBADMSG },
		{ "ID DN empty", IKEV2_PLD_IDI, id_dn_empty, 4, 0 },
		{ "ID 3 bytes", IKEV2_PLD_IDI, id_short, 3, -EBADMSG },
		{ "AUTH no data", IKEV2_PLD_AUTH, auth_empty, 4, 0 },
		{ "AUTH 3 bytes", IKEV2_PLD_AUTH, auth_short, 3, -EBADMSG },
		{ "N NATD 19", IKEV2_PLD_NOTIFY, n_natd19, sizeof(n_natd19),
		  -EBADMSG },
		{ "N NATD 21", IKEV2_PLD_NOTIFY, n_natd21, sizeof(n_natd21),
		  -EBADMSG },
		{ "N COOKIE 0", IKEV2_PLD_NOTIFY, n_cookie0, sizeof(n_cookie0),
		  -EBADMSG },
		{ "N COOKIE 64", IKEV2_PLD_NOTIFY, n_cookie64,
		  sizeof(n_cookie64), 0 },
		{ "N COOKIE 65", IKEV2_PLD_NOTIFY, n_cookie65,
		  sizeof(n_cookie65), -EBADMSG },
		{ "N INVALID_KE 2", IKEV2_PLD_NOTIFY, n_invke2,
		  sizeof(n_invke2), 0 },
		{ "N INVALID_KE 3", IKEV2_PLD_NOTIFY, n_invke3,
		  sizeof(n_invke3), -EBADMSG },
		{ "N SIG_HASH odd", IKEV2_PLD_NOTIFY, n_sighash_odd,
		  sizeof(n_sighash_odd), -EBADMSG },
		{ "N REKEY_SA ESP", IKEV2_PLD_NOTIFY, n_rekey_esp,
		  sizeof(n_rekey_esp), 0 },
		{ "N REKEY_SA IKE", IKEV2_PLD_NOTIFY, n_rekey_ike,
		  sizeof(n_rekey_ike), -EBADMSG },
		{ "N SPI past end", IKEV2_PLD_NOTIFY, n_spi_over,
		  sizeof(n_spi_over), -EBADMSG },
		{ "N 3 bytes", IKEV2_PLD_NOTIFY, n_short, 3, -EBADMSG },
		{ "N unknown type", IKEV2_PLD_NOTIFY, n_unknown_any,
		  sizeof(n_unknown_any), 0 },
		{ "D IKE", IKEV2_PLD_DELETE, d_ike, sizeof(d_ike), 0 },
		{ "D ESP x2", IKEV2_PLD_DELETE, d_esp2, sizeof(d_esp2), 0 },
		{ "D ESP x2, 7 bytes", IKEV2_PLD_DELETE, d_esp2_short,
		  sizeof(d_esp2_short), -EBADMSG },
		{ "D ESP x1, 5 bytes", IKEV2_PLD_DELETE, d_esp1_long,
		  sizeof(d_esp1_long), -EBADMSG },
		{ "D IKE SPI size 4", IKEV2_PLD_DELETE, d_ike_spi4,
		  sizeof(d_ike_spi4), -EBADMSG },
		{ "D ESP SPI size 8", IKEV2_PLD_DELETE, d_esp_spi8,
		  sizeof(d_esp_spi8), -EBADMSG },
		{ "D protocol 7", IKEV2_PLD_DELETE, d_proto7, sizeof(d_proto7),
		  -EBADMSG },
		{ "D 3 bytes", IKEV2_PLD_DELETE, d_ike, 3, -EBADMSG },
		{ "TS none", IKEV2_PLD_TSI, ts_none, sizeof(ts_none), -EBADMSG },
		{ "TS IPv4 length 40", IKEV2_PLD_TSI, ts_v4_40,
		  sizeof(ts_v4_40), -EBADMSG },
		{ "TS IPv6 length 16", IKEV2_PLD_TSR, ts_v6_16,
		  sizeof(ts_v6_16), -EBADMSG },
		{ "TS unknown type 9", IKEV2_PLD_TSR, ts_unknown,
		  sizeof(ts_unknown), 0 },
		{ "TS length 7", IKEV2_PLD_TSR, ts_len7, sizeof(ts_len7),
		  -EBADMSG },
		{ "TS count 2, one present", IKEV2_PLD_TSI, ts_count2_one,
		  sizeof(ts_count2_one), -EBADMSG },
		{ "CP IP4 addr 3 bytes", IKEV2_PLD_CP, cp_addr3,
		  sizeof(cp_addr3), -EBADMSG },
		{ "CP IP4 addr 4 bytes", IKEV2_PLD_CP, cp_addr4,
		  sizeof(cp_addr4), 0 },
		{ "CP IP6 addr 16", IKEV2_PLD_CP, cp_v6addr16,
		  sizeof(cp_v6addr16), -EBADMSG },
		{ "CP IP6 addr 17", IKEV2_PLD_CP, cp_v6addr17,
		  sizeof(cp_v6addr17), 0 },
		{ "CP unknown attr", IKEV2_PLD_CP, cp_unknown5,
		  sizeof(cp_unknown5), 0 },
		{ "CP SUPPORTED_ATTRS odd", IKEV2_PLD_CP, cp_supp_odd,
		  sizeof(cp_supp_odd), -EBADMSG },
		{ "CP attr truncated", IKEV2_PLD_CP, cp_trunc, sizeof(cp_trunc),
		  -EBADMSG },
		{ "CP 3 bytes", IKEV2_PLD_CP, cp_addr4, 3, -EBADMSG },
		{ "EAP ok", IKEV2_PLD_EAP, eap_ok, sizeof(eap_ok), 0 },
		{ "EAP length mismatch", IKEV2_PLD_EAP, eap_bad,
		  sizeof(eap_bad), -EBADMSG },
		{ "CERT empty", IKEV2_PLD_CERT, NULL, 0, -EBADMSG },
		{ "CERTREQ 1", IKEV2_PLD_CERTREQ, one, 1, 0 },
		{ "V empty", IKEV2_PLD_VENDOR, NULL, 0, 0 },
		{ "SA empty", IKEV2_PLD_SA, NULL, 0, -EBADMSG },
	};
	static uint8_t zero[512];
	(void)state;

	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct pld_case *c = &cases[i];
		uint8_t *b = malloc(c->len + 4);
		struct ikev2_msg m;
		int rc;

		assert_non_null(b);
		mkpld(b, IKEV2_PLD_NONE, false, c->body ? c->body : zero,
		      c->len);
		rc = ikev2_parse_chain(c->type, b, c->len + 4, &m);
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d", c->what, rc, c->rc);
		if (rc)
			assert_non_null(m.why);
		free(b);
	}
}

static void test_decode_misc(void **state)
{
	uint8_t b[64];
	struct ikev2_msg m;
	struct ikev2_delete_pld d;
	struct ikev2_notify_pld n;
	struct ikev2_cp_pld cp;
	size_t len;

	(void)state;
	len = mkpld(b, IKEV2_PLD_NOTIFY, false, d_esp2, sizeof(d_esp2));
	len += mkpld(b + len, IKEV2_PLD_CP, false, n_rekey_esp,
		     sizeof(n_rekey_esp));
	len += mkpld(b + len, IKEV2_PLD_NONE, false, cp_addr4,
		     sizeof(cp_addr4));
	assert_int_equal(ikev2_parse_chain(IKEV2_PLD_DELETE, b, len, &m), 0);

	assert_int_equal(ikev2_dec_delete(&m.pld[0], &d), 0);
	assert_int_equal(d.proto, IKEV2_PROTO_ESP);
	assert_int_equal(d.n_spi, 2);
	assert_int_equal(ikev2_delete_spi(&d, 0), 0x01020304);
	assert_int_equal(ikev2_delete_spi(&d, 1), 0x05060708);
	assert_int_equal(ikev2_delete_spi(&d, 2), 0);

	assert_int_equal(ikev2_dec_notify(&m.pld[1], &n), 0);
	assert_int_equal(n.type, IKEV2_N_REKEY_SA);
	assert_int_equal(n.proto, IKEV2_PROTO_ESP);
	assert_int_equal(n.spi_size, 4);
	assert_memory_equal(n.spi, "\x01\x02\x03\x04", 4);
	assert_int_equal(n.len, 0);

	assert_int_equal(ikev2_dec_cp(&m.pld[2], &cp), 0);
	assert_int_equal(cp.type, IKEV2_CFG_REPLY);
	assert_int_equal(cp.n, 1);
	assert_int_equal(cp.attr[0].len, 4);
	assert_memory_equal(cp.attr[0].value, "\x0a\x00\x00\x01", 4);
}

/* ---- ID rendering ------------------------------------------------------- */

struct id_case {
	uint8_t type;
	const char *data;
	size_t len;
	size_t outlen;
	int rc;
	const char *want;
};

static void test_id_render(void **state)
{
	static const struct id_case cases[] = {
		{ IKEV2_ID_IPV4_ADDR, "\xc0\x00\x02\x07", 4, 64, 0, "192.0.2.7" },
		{ IKEV2_ID_IPV4_ADDR, "\xc0\x00\x02\x07", 4, 9, -ENOSPC, "" },
		{ IKEV2_ID_IPV4_ADDR, "\xc0\x00\x02", 3, 64, -EINVAL, "" },
		{ IKEV2_ID_IPV6_ADDR,
		  "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16, 64, 0,
		  "2001:db8::1" },
		{ IKEV2_ID_FQDN, "gw.example.net", 14, 64, 0, "gw.example.net" },
		{ IKEV2_ID_FQDN, "gw.example.net", 14, 14, -ENOSPC, "" },
		{ IKEV2_ID_FQDN, "gw.example.net", 14, 15, 0, "gw.example.net" },
		{ IKEV2_ID_RFC822_ADDR, "admin@abc.net", 13, 64, 0,
		  "admin@abc.net" },
		{ IKEV2_ID_RFC822_ADDR, "admin@abc.net\0evil", 18, 64, -EINVAL,
		  "" },
		{ IKEV2_ID_FQDN, "a.example\0", 10, 64, -EINVAL, "" },
		{ IKEV2_ID_FQDN, "a\nb", 3, 64, -EINVAL, "" },
		{ IKEV2_ID_FQDN, "caf\xc3\xa9", 5, 64, -EINVAL, "" },
		{ IKEV2_ID_FQDN, "", 0, 64, -EINVAL, "" },
		{ IKEV2_ID_KEY_ID, "abc", 3, 64, -EOPNOTSUPP, "" },
	};
	(void)state;

	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct id_case *c = &cases[i];
		struct ikev2_id_pld id = {
			.type = c->type,
			.data = (const uint8_t *)c->data,
			.len = c->len,
		};
		char out[64];

		memset(out, 'x', sizeof(out));
		assert_int_equal(ikev2_id_render(&id, out, c->outlen), c->rc);
		if (c->rc == 0)
			assert_string_equal(out, c->want);
	}
}

/* ---- building ------------------------------------------------------------ */

static const struct ikev2_choice ike_choice = {
	.propnum = 2,
	.proto = IKEV2_PROTO_IKE,
	.spi_size = 0,
	.xf_mask = 1 << IKEV2_XF_ENCR | 1 << IKEV2_XF_PRF |
		   1 << IKEV2_XF_INTEG | 1 << IKEV2_XF_DH,
	.encr = IKE_ENCR_AES_CBC,
	.encr_keylen = 192,
	.prf = IKE_PRF_HMAC_SHA2_384,
	.integ = IKE_AUTH_HMAC_SHA2_384_192,
	.dh = IKE_DH_MODP3072,
};

static void check_sa_echo(const struct ikev2_payload *p,
			  const struct ikev2_choice *c, uint64_t spi)
{
	struct ikev2_sa sa;
	const struct ikev2_proposal *pr;
	unsigned k = 0;

	assert_int_equal(ikev2_dec_sa(p, &sa), 0);
	assert_int_equal(sa.n, 1);
	pr = &sa.prop[0];
	assert_int_equal(pr->num, c->propnum);
	assert_int_equal(pr->proto, c->proto);
	assert_int_equal(pr->spi_size, c->spi_size);
	for (unsigned i = 0; i < c->spi_size; i++)
		assert_int_equal(pr->spi[i],
				 (uint8_t)(spi >> (8 * (c->spi_size - 1 - i))));
	for (unsigned t = IKEV2_XF_ENCR; t <= IKEV2_XF_ESN; t++) {
		const struct ikev2_xf *x;
		uint16_t want;

		if (!(c->xf_mask & 1u << t))
			continue;
		assert_true(k < pr->n_xf);
		x = &pr->xf[k++];
		assert_int_equal(x->type, t);
		want = t == IKEV2_XF_ENCR ? c->encr : t == IKEV2_XF_PRF ? c->prf :
		       t == IKEV2_XF_INTEG ? c->integ : t == IKEV2_XF_DH ? c->dh :
		       c->esn;
		assert_int_equal(x->id, want);
		assert_false(x->bad_attr);
		if (t == IKEV2_XF_ENCR && c->encr_keylen) {
			assert_true(x->has_keylen);
			assert_int_equal(x->keylen, c->encr_keylen);
		} else {
			assert_false(x->has_keylen);
		}
	}
	assert_int_equal(k, pr->n_xf);
}

/* IKE_SA_INIT response: SA, KE, Nonce, N, N, N (with SPI), V. */
static void test_build_init_response(void **state)
{
	static uint8_t mem[2048];
	static const uint8_t ke[256] = { 0x77 };
	static const uint8_t nonce[32] = { 0x99 };
	static const uint8_t natd[20] = { 0x33 };
	static const uint16_t want_group = 0x000e;
	struct ikev2_msghdr h = {
		.ispi = 0x0102030405060708ULL,
		.rspi = 0xa1a2a3a4a5a6a7a8ULL,
		.exch = IKEV2_EXCH_IKE_SA_INIT,
		.flags = IKEV2_FLAG_RESPONSE,
		.msgid = 0,
	};
	struct ikev2_msghdr ph;
	struct ikev2_buf b;
	struct ikev2_msg m;
	struct ikev2_ke_pld k;
	struct ikev2_notify_pld n;
	size_t len;

	(void)state;
	assert_int_equal(ikev2_build_init(&b, mem, sizeof(mem), &h), 0);
	assert_int_equal(ikev2_put_sa(&b, &ike_choice, 0), 0);
	assert_int_equal(ikev2_put_ke(&b, 14, ke, sizeof(ke)), 0);
	assert_int_equal(ikev2_put_nonce(&b, nonce, sizeof(nonce)), 0);
	assert_int_equal(ikev2_put_notify(&b, 0, 0, 0,
					  IKEV2_N_NAT_DETECTION_SOURCE_IP,
					  natd, sizeof(natd)), 0);
	assert_int_equal(ikev2_put_notify(&b, 0, 0, 0,
					  IKEV2_N_INVALID_KE_PAYLOAD,
					  &want_group, 2), 0);
	assert_int_equal(ikev2_put_notify(&b, IKEV2_PROTO_ESP, 4, 0xc0de0001,
					  IKEV2_N_REKEY_SA, NULL, 0), 0);
	assert_int_equal(ikev2_put_vendor(&b, "espgate", 7), 0);
	assert_int_equal(ikev2_build_finish(&b, &len), 0);
	assert_int_equal(ikev2_buf_first(&b), IKEV2_PLD_SA);

	assert_int_equal(ikev2_parse_msg(mem, len, &ph, &m), 0);
	assert_true(ph.ispi == h.ispi);
	assert_true(ph.rspi == h.rspi);
	assert_int_equal(ph.exch, IKEV2_EXCH_IKE_SA_INIT);
	assert_int_equal(ph.flags, IKEV2_FLAG_RESPONSE);
	assert_int_equal(ph.major, 2);
	assert_int_equal(ph.length, len);
	assert_int_equal(mem[17], 0x20);
	assert_int_equal(m.n, 7);
	check_sa_echo(&m.pld[0], &ike_choice, 0);
	assert_int_equal(ikev2_dec_ke(&m.pld[1], &k), 0);
	assert_int_equal(k.group, 14);
	assert_int_equal(k.len, 256);
	assert_memory_equal(k.data, ke, 256);
	assert_int_equal(m.pld[2].type, IKEV2_PLD_NONCE);
	assert_memory_equal(m.pld[2].body, nonce, 32);
	assert_int_equal(ikev2_find_notify(&m, IKEV2_N_NAT_DETECTION_SOURCE_IP,
					   &n), 0);
	assert_memory_equal(n.data, natd, 20);
	assert_int_equal(ikev2_find_notify(&m, IKEV2_N_INVALID_KE_PAYLOAD,
					   &n), 0);
	assert_int_equal(n.len, 2);
	assert_int_equal(ikev2_find_notify(&m, IKEV2_N_REKEY_SA, &n), 0);
	assert_int_equal(n.spi_size, 4);
	assert_memory_equal(n.spi, "\xc0\xde\x00\x01", 4);
	assert_int_equal(m.pld[6].type, IKEV2_PLD_VENDOR);
	assert_memory_equal(m.pld[6].body, "espgate", 7);
	/* no payload is critical in what we send */
	for (unsigned i = 0; i < m.n; i++)
		assert_false(m.pld[i].critical);
}

/* IKE_AUTH response: plaintext built separately, then wrapped in SK. */
static void test_build_inner_and_sk(void **state)
{
	static uint8_t in[2048], out[2048];
	static const uint8_t auth[48] = { 0xab };
	static const uint8_t addr[4] = { 10, 99, 0, 1 };
	static const uint32_t spis[] = { 0xc0000101, 0xc0000202 };
	static const uint8_t certreq[] = { 4, 1, 2, 3 };
	static const uint8_t eap[] = { 3, 9, 0, 4 };
	const struct ikev2_choice esp = {
		.propnum = 1,
		.proto = IKEV2_PROTO_ESP,
		.spi_size = 4,
		.xf_mask = 1 << IKEV2_XF_ENCR | 1 << IKEV2_XF_INTEG |
			   1 << IKEV2_XF_ESN,
		.encr = IKE_ENCR_AES_CBC,
		.encr_keylen = 128,
		.integ = IKE_AUTH_HMAC_SHA2_256_128,
		.esn = IKEV2_ESN_NONE,
	};
	struct ikev2_ts ts[2] = {
		{ .type = IKEV2_TS_IPV4_ADDR_RANGE, .proto = 17,
		  .start_port = 500, .end_port = 4500,
		  .v4 = { htonl(0x0a000000), htonl(0x0affffff) } },
		{ .type = IKEV2_TS_IPV6_ADDR_RANGE, .end_port = 65535 },
	};
	const struct ikev2_cfg_attr cfa[] = {
		{ IKEV2_CFA_INTERNAL_IP4_ADDRESS, 4, addr },
		{ IKEV2_CFA_APPLICATION_VERSION, 0, NULL },
	};
	struct ikev2_msghdr h = {
		.ispi = 1, .rspi = 2, .exch = IKEV2_EXCH_IKE_AUTH,
		.flags = IKEV2_FLAG_RESPONSE, .msgid = 1,
	};
	struct ikev2_buf ib, ob;
	struct ikev2_msghdr ph;
	struct ikev2_msg m;
	struct ikev2_id_pld id;
	struct ikev2_auth_pld a;
	struct ikev2_cp_pld cp;
	struct ikev2_ts_pld tp;
	struct ikev2_delete_pld d;
	uint8_t *sk;
	size_t ilen, olen;
	char s[32];

	(void)state;
	memset(ts[1].v6.end, 0xff, 16);
	assert_int_equal(ikev2_build_inner(&ib, in, sizeof(in)), 0);
	assert_int_equal(ikev2_buf_first(&ib), IKEV2_PLD_NONE);
	assert_int_equal(ikev2_put_id(&ib, IKEV2_PLD_IDR, IKEV2_ID_IPV4_ADDR,
				      "\xc0\x00\x02\x02", 4), 0);
	assert_int_equal(ikev2_put_auth(&ib, IKEV2_AUTH_PSK, auth,
					sizeof(auth)), 0);
	assert_int_equal(ikev2_put_cp(&ib, IKEV2_CFG_REPLY, cfa, 2), 0);
	assert_int_equal(ikev2_put_sa(&ib, &esp, 0xcafe0001), 0);
	assert_int_equal(ikev2_put_ts(&ib, IKEV2_PLD_TSI, ts, 2), 0);
	assert_int_equal(ikev2_put_ts(&ib, IKEV2_PLD_TSR, ts, 1), 0);
	assert_int_equal(ikev2_put_delete(&ib, IKEV2_PROTO_ESP, spis, 2), 0);
	assert_int_equal(ikev2_put_delete(&ib, IKEV2_PROTO_IKE, NULL, 0), 0);
	assert_int_equal(ikev2_put_raw(&ib, IKEV2_PLD_CERTREQ, certreq,
				       sizeof(certreq)), 0);
	assert_int_equal(ikev2_put_raw(&ib, IKEV2_PLD_EAP, eap, sizeof(eap)),
			 0);
	assert_int_equal(ikev2_build_finish(&ib, &ilen), 0);
	assert_int_equal(ikev2_buf_first(&ib), IKEV2_PLD_IDR);

	assert_int_equal(ikev2_parse_inner(ikev2_buf_first(&ib), in, ilen, &m),
			 0);
	assert_int_equal(m.n, 10);
	assert_int_equal(ikev2_dec_id(&m.pld[0], &id), 0);
	assert_int_equal(ikev2_id_render(&id, s, sizeof(s)), 0);
	assert_string_equal(s, "192.0.2.2");
	assert_int_equal(ikev2_dec_auth(&m.pld[1], &a), 0);
	assert_int_equal(a.method, IKEV2_AUTH_PSK);
	assert_int_equal(a.len, sizeof(auth));
	assert_int_equal(ikev2_dec_cp(&m.pld[2], &cp), 0);
	assert_int_equal(cp.type, IKEV2_CFG_REPLY);
	assert_int_equal(cp.n, 2);
	assert_memory_equal(cp.attr[0].value, addr, 4);
	assert_int_equal(cp.attr[1].type, IKEV2_CFA_APPLICATION_VERSION);
	check_sa_echo(&m.pld[3], &esp, 0xcafe0001);
	assert_int_equal(ikev2_dec_ts(&m.pld[4], &tp), 0);
	assert_int_equal(m.pld[4].type, IKEV2_PLD_TSI);
	assert_int_equal(tp.n, 2);
	assert_int_equal(tp.ts[0].proto, 17);
	assert_int_equal(tp.ts[0].start_port, 500);
	assert_int_equal(tp.ts[0].end_port, 4500);
	assert_int_equal(tp.ts[0].v4.start, ts[0].v4.start);
	assert_int_equal(tp.ts[0].v4.end, ts[0].v4.end);
	assert_memory_equal(tp.ts[1].v6.end, ts[1].v6.end, 16);
	assert_int_equal(ikev2_dec_ts(&m.pld[5], &tp), 0);
	assert_int_equal(m.pld[5].type, IKEV2_PLD_TSR);
	assert_int_equal(tp.n, 1);
	assert_int_equal(ikev2_dec_delete(&m.pld[6], &d), 0);
	assert_int_equal(d.n_spi, 2);
	assert_int_equal(ikev2_delete_spi(&d, 1), 0xc0000202);
	assert_int_equal(ikev2_dec_delete(&m.pld[7], &d), 0);
	assert_int_equal(d.proto, IKEV2_PROTO_IKE);
	assert_int_equal(d.n_spi, 0);
	assert_int_equal(m.pld[8].type, IKEV2_PLD_CERTREQ);
	assert_int_equal(m.pld[9].type, IKEV2_PLD_EAP);

	/* the outer message: header + SK(next = IDr) holding IV|ct|ICV */
	assert_int_equal(ikev2_build_init(&ob, out, sizeof(out), &h), 0);
	assert_int_equal(ikev2_put_sk(&ob, ikev2_buf_first(&ib), ilen + 32,
				      &sk), 0);
	memcpy(sk, in, ilen);		/* stand-in for the crypto layer */
	memset(sk + ilen, 0xee, 32);
	assert_int_equal(ikev2_put_vendor(&ob, "x", 1), -EINVAL);
	assert_int_equal(ikev2_build_finish(&ob, &olen), -EINVAL);

	/* again without the late put */
	assert_int_equal(ikev2_build_init(&ob, out, sizeof(out), &h), 0);
	assert_int_equal(ikev2_put_sk(&ob, ikev2_buf_first(&ib), ilen + 32,
				      &sk), 0);
	memcpy(sk, in, ilen);
	memset(sk + ilen, 0xee, 32);
	assert_int_equal(ikev2_build_finish(&ob, &olen), 0);
	assert_int_equal(olen, 28 + 4 + ilen + 32);
	assert_int_equal(ikev2_parse_msg(out, olen, &ph, &m), 0);
	assert_int_equal(ph.next, IKEV2_PLD_SK);
	assert_int_equal(ph.msgid, 1);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.sk, 0);
	assert_int_equal(m.sk_off, 28);
	assert_int_equal(m.sk_next, IKEV2_PLD_IDR);
	assert_ptr_equal(m.pld[0].body, out + 32);
	assert_int_equal(m.pld[0].len, ilen + 32);
	/* the SK body's plaintext part parses as the inner list */
	assert_int_equal(ikev2_parse_inner(m.sk_next, m.pld[0].body, ilen, &m),
			 0);
	assert_int_equal(m.n, 10);
}

static void test_build_errors(void **state)
{
	static uint8_t mem[IKEV2_BUF_MAX + 100];
	static const uint8_t nonce[257] = { 1 };
	struct ikev2_msghdr h = { .exch = IKEV2_EXCH_INFORMATIONAL };
	struct ikev2_choice bad = ike_choice;
	struct ikev2_ts ts = { .type = 9 };
	struct ikev2_buf b;
	uint8_t *sk;
	size_t len;

	(void)state;
	/* capacity is clamped to 64 KiB */
	assert_int_equal(ikev2_build_init(&b, mem, sizeof(mem), &h), 0);
	assert_int_equal(b.cap, IKEV2_BUF_MAX);
	/* a payload body over the 16-bit length field */
	assert_int_equal(ikev2_put_raw(&b, IKEV2_PLD_VENDOR, mem, 65532),
			 -ENOSPC);
	assert_int_equal(ikev2_build_finish(&b, &len), -ENOSPC);

	/* out of room; the error sticks */
	assert_int_equal(ikev2_build_init(&b, mem, 64, &h), 0);
	assert_int_equal(ikev2_put_vendor(&b, mem, 32), 0);
	assert_int_equal(ikev2_put_vendor(&b, mem, 1), -ENOSPC);
	assert_int_equal(ikev2_put_vendor(&b, mem, 0), -ENOSPC);
	assert_int_equal(ikev2_build_finish(&b, &len), -ENOSPC);
	/* exactly full is fine */
	assert_int_equal(ikev2_build_init(&b, mem, 64, &h), 0);
	assert_int_equal(ikev2_put_vendor(&b, mem, 32), 0);
	assert_int_equal(ikev2_build_finish(&b, &len), 0);
	assert_int_equal(len, 64);
	assert_int_equal(ikev2_build_init(&b, mem, 27, &h), -ENOSPC);

	/* argument checks */
	assert_int_equal(ikev2_build_inner(&b, mem, 1024), 0);
	assert_int_equal(ikev2_put_nonce(&b, nonce, 15), -EINVAL);
	assert_int_equal(ikev2_build_inner(&b, mem, 1024), 0);
	assert_int_equal(ikev2_put_nonce(&b, nonce, 257), -EINVAL);
	assert_int_equal(ikev2_build_inner(&b, mem, 1024), 0);
	assert_int_equal(ikev2_put_id(&b, IKEV2_PLD_AUTH, 1, "a", 1), -EINVAL);
	assert_int_equal(ikev2_build_inner(&b, mem, 1024), 0);
	assert_int_equal(ikev2_put_ts(&b, IKEV2_PLD_TSI, &ts, 1), -EINVAL);
	assert_int_equal(ikev2_build_inner(&b, mem, 1024), 0);
	assert_int_equal(ikev2_put_delete(&b, IKEV2_PROTO_IKE, NULL, 1),
			 -EINVAL);
	assert_int_equal(ikev2_build_inner(&b, mem, 1024), 0);
	assert_int_equal(ikev2_put_delete(&b, IKEV2_PROTO_ESP, NULL, 0),
			 -EINVAL);
	assert_int_equal(ikev2_build_inner(&b, mem, 1024), 0);
	assert_int_equal(ikev2_put_notify(&b, 0, 3, 0, 1, NULL, 0), -EINVAL);
	assert_int_equal(ikev2_build_inner(&b, mem, 1024), 0);
	assert_int_equal(ikev2_put_raw(&b, IKEV2_PLD_SK, mem, 4), -EINVAL);
	assert_int_equal(ikev2_build_inner(&b, mem, 1024), 0);
	bad.spi_size = 5;
	assert_int_equal(ikev2_put_sa(&b, &bad, 0), -EINVAL);
	assert_int_equal(ikev2_build_inner(&b, mem, 1024), 0);
	bad = ike_choice;
	bad.xf_mask = 1 << 6;
	assert_int_equal(ikev2_put_sa(&b, &bad, 0), -EINVAL);
	assert_int_equal(ikev2_build_inner(&b, mem, 1024), 0);
	assert_int_equal(ikev2_put_sk(&b, IKEV2_PLD_IDI, 0, &sk), -EINVAL);
	assert_int_equal(ikev2_build_inner(NULL, mem, 1024), -EINVAL);
	assert_int_equal(ikev2_build_inner(&b, NULL, 1024), -EINVAL);
	assert_int_equal(ikev2_put_vendor(&b, "a", 1), -EINVAL);
	assert_int_equal(ikev2_put_vendor(NULL, "a", 1), -EINVAL);
}

/* ---- real strongSwan requests -------------------------------------------- */

static void check_sw_init(const char *hex, size_t want_len, uint16_t group,
			  unsigned nx1, unsigned nx2)
{
	static const uint8_t types[] = {
		IKEV2_PLD_SA, IKEV2_PLD_KE, IKEV2_PLD_NONCE, IKEV2_PLD_NOTIFY,
		IKEV2_PLD_NOTIFY, IKEV2_PLD_NOTIFY, IKEV2_PLD_NOTIFY,
		IKEV2_PLD_NOTIFY,
	};
	static struct ikev2_sa sa;
	struct ikev2_msghdr h;
	struct ikev2_msg m;
	struct ikev2_ke_pld ke;
	struct ikev2_notify_pld n;
	size_t len;
	uint8_t *b = unhex(hex, &len);

	assert_int_equal(len, want_len);
	assert_int_equal(ikev2_parse_msg(b, len, &h, &m), 0);
	assert_int_equal(h.exch, IKEV2_EXCH_IKE_SA_INIT);
	assert_int_equal(h.flags, IKEV2_FLAG_INITIATOR);
	assert_int_equal(h.msgid, 0);
	assert_true(h.rspi == 0);
	assert_true(h.ispi != 0);
	assert_int_equal(m.n, ARRAY_SIZE(types));
	for (unsigned i = 0; i < m.n; i++)
		assert_int_equal(m.pld[i].type, types[i]);

	assert_int_equal(ikev2_dec_sa(&m.pld[0], &sa), 0);
	assert_int_equal(sa.n, nx2 ? 2 : 2);
	assert_int_equal(sa.prop[0].n_xf, nx1);
	assert_int_equal(sa.prop[1].n_xf, nx2);
	assert_int_equal(sa.prop[0].proto, IKEV2_PROTO_IKE);
	assert_int_equal(sa.prop[0].spi_size, 0);

	assert_int_equal(ikev2_dec_ke(&m.pld[1], &ke), 0);
	assert_int_equal(ke.group, group);
	assert_int_equal(m.pld[2].len, 32);

	assert_int_equal(ikev2_find_notify(&m, IKEV2_N_NAT_DETECTION_SOURCE_IP,
					   &n), 0);
	assert_int_equal(n.len, 20);
	assert_int_equal(ikev2_find_notify(&m,
					   IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED,
					   &n), 0);
	assert_int_equal(ikev2_find_notify(&m, IKEV2_N_REDIRECT_SUPPORTED, &n),
			 0);
	assert_int_equal(ikev2_find_notify(&m,
					   IKEV2_N_SIGNATURE_HASH_ALGORITHMS,
					   &n), 0);
	assert_int_equal(n.len, 8);	/* SHA2-256, 384, 512, identity */
	assert_memory_equal(n.data, "\x00\x02\x00\x03\x00\x04\x00\x05", 8);
	free(b);
}

static void test_strongswan_parse(void **state)
{
	(void)state;
	check_sw_init(sw_default_init, 892, 31, 34, 36);
	check_sw_init(sw_default_retry, 1116, IKE_DH_MODP2048, 34, 36);
	check_sw_init(sw_product_init, 508, IKE_DH_MODP2048, 4, 4);
}

/* Selection on what strongSwan really sends, and the SA we would echo. */
static void test_strongswan_select(void **state)
{
	static struct ikev2_sa sa;
	static uint8_t mem[512];
	struct ikev2_msghdr h;
	struct ikev2_msg m;
	struct ikev2_ke_pld ke;
	struct ikev2_choice c;
	struct ikev2_buf b;
	uint16_t want = 0;
	size_t len;
	uint8_t *d;
	char s[96];

	(void)state;
	/* default proposals, KE Curve25519: INVALID_KE naming MODP_3072, the
	 * first of our groups in charon's list (it puts MODP_2048 last) */
	d = unhex(sw_default_init, &len);
	assert_int_equal(ikev2_parse_msg(d, len, &h, &m), 0);
	assert_int_equal(ikev2_dec_sa(&m.pld[0], &sa), 0);
	assert_int_equal(ikev2_dec_ke(&m.pld[1], &ke), 0);
	assert_int_equal(ikev2_prop_select_ike(&sa, ke.group, 0, &c, &want),
			 -EAGAIN);
	assert_int_equal(want, IKE_DH_MODP3072);
	free(d);

	/* charon's retry after INVALID_KE(14): proposal 1 chosen */
	d = unhex(sw_default_retry, &len);
	assert_int_equal(ikev2_parse_msg(d, len, &h, &m), 0);
	assert_int_equal(ikev2_dec_sa(&m.pld[0], &sa), 0);
	assert_int_equal(ikev2_dec_ke(&m.pld[1], &ke), 0);
	assert_int_equal(ikev2_prop_select_ike(&sa, ke.group, 0, &c, &want), 0);
	assert_string_equal(ikev2_choice_str(&c, s, sizeof(s)),
			    "AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/"
			    "MODP_2048");
	assert_int_equal(c.propnum, 1);
	free(d);

	/* espgate's own proposal list: the first one */
	d = unhex(sw_product_init, &len);
	assert_int_equal(ikev2_parse_msg(d, len, &h, &m), 0);
	assert_int_equal(ikev2_dec_sa(&m.pld[0], &sa), 0);
	assert_int_equal(ikev2_dec_ke(&m.pld[1], &ke), 0);
	assert_int_equal(ikev2_prop_select_ike(&sa, ke.group, 0, &c, &want), 0);
	assert_string_equal(ikev2_choice_str(&c, s, sizeof(s)),
			    "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/"
			    "MODP_2048");
	/* ... and with a KE of 3072 the second proposal is taken */
	assert_int_equal(ikev2_prop_select_ike(&sa, IKE_DH_MODP3072, 0, &c,
					       &want), 0);
	assert_int_equal(c.propnum, 2);
	assert_string_equal(ikev2_choice_str(&c, s, sizeof(s)),
			    "AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_3072");

	/* echo: the response's SA carries exactly the chosen transforms */
	h.flags = IKEV2_FLAG_RESPONSE;
	h.rspi = 0x1122334455667788ULL;
	assert_int_equal(ikev2_build_init(&b, mem, sizeof(mem), &h), 0);
	assert_int_equal(ikev2_put_sa(&b, &c, 0), 0);
	assert_int_equal(ikev2_build_finish(&b, &len), 0);
	free(d);
	assert_int_equal(ikev2_parse_msg(mem, len, &h, &m), 0);
	check_sa_echo(&m.pld[0], &c, 0);
	/* header 28 + SA 4 + proposal 8 + ENCR 12 + 3 x 8 */
	assert_int_equal(len, 28 + 4 + 8 + 12 + 24);
}

/* ---- mutation fuzz ------------------------------------------------------- */

static uint32_t rng_state = 0x2545f491;

static uint32_t rng(void)
{
	/* xorshift32, fixed seed: the run is reproducible */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* Whatever the chain walker accepted, every decoder must accept too. */
static void decode_all(const struct ikev2_msg *m)
{
	static struct ikev2_sa sa;
	union {
		struct ikev2_ke_pld ke;
		struct ikev2_id_pld id;
		struct ikev2_auth_pld auth;
		struct ikev2_notify_pld n;
		struct ikev2_delete_pld d;
		struct ikev2_ts_pld ts;
		struct ikev2_cp_pld cp;
		struct ikev2_skf_pld skf;
	} u;
	struct ikev2_choice c;
	uint16_t want;
	char s[300];

	for (unsigned i = 0; i < m->n; i++) {
		const struct ikev2_payload *p = &m->pld[i];

		switch (p->type) {
		case IKEV2_PLD_SA:
			assert_int_equal(ikev2_dec_sa(p, &sa), 0);
			(void)ikev2_prop_select_ike(&sa, 14, 0, &c, &want);
			(void)ikev2_prop_select_esp(&sa, IKEV2_KE_ABSENT, 0, &c,
						    &want);
			break;
		case IKEV2_PLD_KE:
			assert_int_equal(ikev2_dec_ke(p, &u.ke), 0);
			break;
		case IKEV2_PLD_IDI:
		case IKEV2_PLD_IDR:
			assert_int_equal(ikev2_dec_id(p, &u.id), 0);
			(void)ikev2_id_render(&u.id, s, sizeof(s));
			break;
		case IKEV2_PLD_AUTH:
			assert_int_equal(ikev2_dec_auth(p, &u.auth), 0);
			break;
		case IKEV2_PLD_NOTIFY:
			assert_int_equal(ikev2_dec_notify(p, &u.n), 0);
			break;
		case IKEV2_PLD_DELETE:
			assert_int_equal(ikev2_dec_delete(p, &u.d), 0);
			for (unsigned k = 0; k < u.d.n_spi && k < 4; k++)
				(void)ikev2_delete_spi(&u.d, k);
			break;
		case IKEV2_PLD_TSI:
		case IKEV2_PLD_TSR:
			assert_int_equal(ikev2_dec_ts(p, &u.ts), 0);
			break;
		case IKEV2_PLD_CP:
			assert_int_equal(ikev2_dec_cp(p, &u.cp), 0);
			break;
		case IKEV2_PLD_SKF:
			assert_int_equal(ikev2_dec_skf(p, &u.skf), 0);
			break;
		}
	}
}

static void test_mutation_fuzz(void **state)
{
	struct fix {
		uint8_t *b;
		size_t len;
		bool inner;
	} fx[5];
	unsigned accepted = 0;

	(void)state;
	fx[0] = (struct fix){ dup_bytes(init_req, sizeof(init_req)),
			      sizeof(init_req), false };
	fx[1] = (struct fix){ dup_bytes(auth_inner, sizeof(auth_inner)),
			      sizeof(auth_inner), true };
	fx[2].b = unhex(sw_default_init, &fx[2].len);
	fx[3].b = unhex(sw_product_init, &fx[3].len);
	fx[4].b = unhex(sw_default_retry, &fx[4].len);
	fx[2].inner = fx[3].inner = fx[4].inner = false;

	for (unsigned it = 0; it < 20000; it++) {
		const struct fix *f = &fx[it % 5];
		uint8_t *b = dup_bytes(f->b, f->len);
		unsigned flips = 1 + rng() % 4;
		struct ikev2_msghdr h;
		struct ikev2_msg m;
		int rc;

		/* flip bytes; the header's length and version are left alone
		 * half the time so the walker sees most of the mutations */
		for (unsigned k = 0; k < flips; k++) {
			size_t at = rng() % f->len;

			if (!f->inner && at < IKEV2_HDR_LEN && (rng() & 1))
				continue;
			b[at] = (uint8_t)rng();
		}
		rc = f->inner ? ikev2_parse_inner(IKEV2_PLD_IDI, b, f->len, &m)
			      : ikev2_parse_msg(b, f->len, &h, &m);
		if (rc == 0) {
			accepted++;
			decode_all(&m);
		} else {
			assert_true(rc == -EBADMSG || rc == -E2BIG ||
				    rc == -ENOTSUP || rc == -EPROTONOSUPPORT);
			assert_non_null(m.why);
		}
		free(b);
	}
	/* some mutations land in opaque bytes (nonce, KE, vendor data) */
	print_message("fuzz: %u of 20000 mutants accepted\n", accepted);
	assert_true(accepted > 0);
	for (unsigned i = 0; i < 5; i++)
		free(fx[i].b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_sizes),
		cmocka_unit_test(test_parse_init_req),
		cmocka_unit_test(test_parse_auth_inner),
		cmocka_unit_test(test_hdr),
		cmocka_unit_test(test_len_off_by_one_init),
		cmocka_unit_test(test_len_off_by_one_inner),
		cmocka_unit_test(test_truncate_init),
		cmocka_unit_test(test_truncate_inner),
		cmocka_unit_test(test_truncate_strongswan),
		cmocka_unit_test(test_unknown_critical),
		cmocka_unit_test(test_sk),
		cmocka_unit_test(test_skf),
		cmocka_unit_test(test_payload_bound),
		cmocka_unit_test(test_sa_bounds),
		cmocka_unit_test(test_ts_cp_bounds),
		cmocka_unit_test(test_sa_structure),
		cmocka_unit_test(test_response_numbering),
		cmocka_unit_test(test_xf_attrs),
		cmocka_unit_test(test_payload_rules),
		cmocka_unit_test(test_decode_misc),
		cmocka_unit_test(test_id_render),
		cmocka_unit_test(test_build_init_response),
		cmocka_unit_test(test_build_inner_and_sk),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_strongswan_parse),
		cmocka_unit_test(test_strongswan_select),
		cmocka_unit_test(test_mutation_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
