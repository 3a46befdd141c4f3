// SPDX-License-Identifier: GPL-2.0
/*
 * ike_seeds.c - write fuzz_ike's seed inputs into DIR, one file each, in
 * the harness's format (tests/fuzz/fuzz_ike.c): a real IKE_SA_INIT
 * request, and the payload chains of IKE_AUTH, INFORMATIONAL and
 * CREATE_CHILD_SA as ike_peer.h builds them. Made by the codec of this
 * build, so the seeds follow it when it changes.
 *
 *   ike_seeds DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike_peer.h"

static const char *dir;

static void put(const char *name, const uint8_t *pre, size_t npre,
		const uint8_t *body, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(pre, 1, npre, f) != npre || fwrite(body, 1, n, f) != n ||
	    fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* SAi2 with one ESP proposal, TSi 10.1.0.0/24, TSr 0.0.0.0/0 */
static void child_payloads(struct ikev2_buf *b)
{
	struct ikp_prop esp;
	struct ikev2_ts tsi = ikp_ts4("10.1.0.0", 24), tsr = ikp_ts4("0.0.0.0", 0);
	uint8_t sa[1024];

	ikp_prop_esp(&esp, 0xc1c2c3c4u, IKE_ENCR_AES_CBC, 256, IKE_AUTH_HMAC_SHA2_256_128);
	ikev2_put_raw(b, IKEV2_PLD_SA, sa, ikp_sa_body(sa, &esp, 1));
	ikev2_put_ts(b, IKEV2_PLD_TSI, &tsi, 1);
	ikev2_put_ts(b, IKEV2_PLD_TSR, &tsr, 1);
}

static void chain(const char *name, uint8_t mode, int exch, void (*fill)(struct ikev2_buf *))
{
	uint8_t mem[IKP_MSG_MAX], pre[3];
	struct ikev2_buf b;
	size_t len, n = 0;

	ikev2_build_inner(&b, mem, sizeof(mem));
	fill(&b);
	if (ikev2_build_finish(&b, &len)) {
		fprintf(stderr, "%s: building failed\n", name);
		exit(1);
	}
	pre[n++] = mode;
	if (exch >= 0)
		pre[n++] = (uint8_t)exch;
	pre[n++] = ikev2_buf_first(&b);
	put(name, pre, n, mem, len);
}

static void auth_all(struct ikev2_buf *b)
{
	static const uint8_t auth[32] = { 1 };

	ikev2_put_id(b, IKEV2_PLD_IDI, IKEV2_ID_FQDN, "branch1.example.com", 19);
	ikev2_put_auth(b, IKEV2_AUTH_PSK, auth, sizeof(auth));
	ikev2_put_notify(b, IKEV2_PROTO_NONE, 0, 0, IKEV2_N_INITIAL_CONTACT, NULL, 0);
	child_payloads(b);
}

static void after_auth(struct ikev2_buf *b)
{
	ikev2_put_notify(b, IKEV2_PROTO_NONE, 0, 0, IKEV2_N_INITIAL_CONTACT, NULL, 0);
	child_payloads(b);
}

static void info_delete(struct ikev2_buf *b)
{
	uint32_t spi = 0xc1c2c3c4u;

	ikev2_put_delete(b, IKEV2_PROTO_ESP, &spi, 1);
}

static void new_child(struct ikev2_buf *b)
{
	static const uint8_t nonce[32] = { 7 };
	struct ikp_prop esp;
	struct ikev2_ts tsi = ikp_ts4("10.1.0.0", 24), tsr = ikp_ts4("0.0.0.0", 0);
	uint8_t sa[1024];

	ikp_prop_esp(&esp, 0xc1c2c3c5u, IKE_ENCR_AES_CBC, 256, IKE_AUTH_HMAC_SHA2_256_128);
	ikev2_put_raw(b, IKEV2_PLD_SA, sa, ikp_sa_body(sa, &esp, 1));
	ikev2_put_nonce(b, nonce, sizeof(nonce));
	ikev2_put_ts(b, IKEV2_PLD_TSI, &tsi, 1);
	ikev2_put_ts(b, IKEV2_PLD_TSR, &tsr, 1);
}

static void rekey_child(struct ikev2_buf *b)
{
	ikev2_put_notify(b, IKEV2_PROTO_ESP, 4, 0xc1c2c3c4u, IKEV2_N_REKEY_SA, NULL, 0);
	new_child(b);
}

int main(int argc, char **argv)
{
	uint8_t msg[IKP_MSG_MAX];
	struct ike_peer p;
	size_t len;

	if (argc != 2) {
		fprintf(stderr, "usage: ike_seeds DIR\n");
		return 2;
	}
	dir = argv[1];
	if (ikp_new(&p, ikp_ip("198.51.100.7"), ikp_ip("203.0.113.1")) ||
	    ikp_init_req(&p, msg, sizeof(msg), &len))
		return 1;
	put("init", (const uint8_t[]){ 0 }, 1, msg, len);
	/* under load, returning a cookie (not one of this engine's) */
	memset(p.cookie, 0x5a, 17);
	p.cookie_len = 17;
	if (ikp_init_req(&p, msg, sizeof(msg), &len))
		return 1;
	put("init_cookie", (const uint8_t[]){ 4 }, 1, msg, len);
	ikp_free(&p);
	chain("auth_whole", 1, -1, auth_all);
	chain("auth_after", 2, -1, after_auth);
	chain("info_delete", 3, 0, info_delete);
	/* in one Encrypted Fragment: 1 of 1, and 1 of 2 (fuzz_ike.c, mode 3) */
	chain("frag_delete", 3, 2, info_delete);
	chain("frag_child", 3, 3 | 1 << 5, new_child);
	chain("child_new", 3, 1, new_child);
	chain("child_rekey", 3, 1, rekey_child);
	return 0;
}
