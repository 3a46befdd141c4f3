// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_ike.c - libFuzzer harness for the IKE responder: the codec
 * (ikev2_pld.c), the SK open (ike_crypto.c) and the exchange handlers
 * (ike*.c), fed through ike_input() as a peer's datagram would be.
 *
 * The first byte picks where the rest goes:
 *   0  the bytes as a datagram on UDP 500 to an engine with no SA (header,
 *      IKE_SA_INIT, anything unencrypted); with bit 2 of the first byte
 *      set, to one under load (every IKE_SA_INIT asked for a cookie), so
 *      that the cookie gate (ike_cookie.c) reads N(COOKIE);
 *   1  after a real IKE_SA_INIT: the bytes as the payload chain inside SK
 *      of IKE_AUTH (the second byte is the first payload's type), sealed
 *      with the SA's keys, so the ICV holds and the inner decoder sees them;
 *   2  the same, behind a valid IDi and AUTH: what follows authentication
 *      (SAi2, TSi, TSr, notifies) is reached;
 *   3  on an established SA: the second byte picks INFORMATIONAL or
 *      CREATE_CHILD_SA (bit 0), the third is the first payload's type,
 *      the rest the chain inside SK; with bit 1 set, inside an Encrypted
 *      Fragment (RFC 7383, negotiated) whose Fragment Number and Total
 *      Fragments come from bits 2-4 and 5-7 (total 1: reassembled at
 *      once, larger: kept for the rest).
 * Every input runs on a fresh engine, so a crash replays from its input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ike.h"
#include "ike_peer.h"
#include "log.h"

#define LOCAL_IP	"203.0.113.1"
#define SITE_IP		"198.51.100.7"
#define SITE_FQDN	"branch1.example.com"

static const uint8_t psk[20] = "fuzz-psk-0123456789";

struct run {
	struct ikp_env e;
	struct ike_env env;
	struct ike_ctx *ctx;
	struct ike_peer p;
	struct ikp_auth a;
	uint8_t msg[IKP_MSG_MAX + 4];
	size_t len;
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	eg_log_level = EG_LOG_ERR;	/* the engine logs every refusal at info */
	return 0;
}

static int run_open(struct run *r, bool load)
{
	struct ike_cfg cfg = IKE_CFG_DEFAULT;

	if (load)
		cfg.cookie_threshold = 0;
	ikp_env_init(&r->e, &r->env, ikp_ip(LOCAL_IP));
	ikp_env_add_site(&r->e, 7, "branch1", SITE_IP, EG_ID_FQDN, SITE_FQDN,
			 psk, sizeof(psk));
	if (ike_ctx_new(&r->ctx, &r->env, &cfg))
		return -1;
	if (ikp_new(&r->p, ikp_ip(SITE_IP), ikp_ip(LOCAL_IP)))
		return -1;
	r->p.frag = true;		/* RFC 7383 negotiated: SKF reaches ike_frag.c */
	ikp_auth_fqdn(&r->a, SITE_FQDN, psk, sizeof(psk), 0xc1c2c3c4u);
	return 0;
}

static void run_close(struct run *r)
{
	ike_ctx_free(r->ctx, true);
	ikp_free(&r->p);
}

/* The responder's one answer, opened (SK) or read (IKE_SA_INIT). */
static int answer(struct run *r, bool sk)
{
	const struct ikp_dgram *d;
	const uint8_t *msg;
	struct ikp_msg m;
	size_t len;

	d = ikp_env_pop(&r->e, &msg, &len);
	ikp_env_flush(&r->e);
	if (!d || !msg)
		return -1;
	if (!sk)
		return ikp_init_resp(&r->p, msg, len);
	if (ikp_open(&r->p, msg, len, &m))
		return -1;
	return ikp_auth_resp(&r->p, &r->a, &m, NULL);
}

static int handshake(struct run *r, bool auth)
{
	if (ikp_init_req(&r->p, r->msg, sizeof(r->msg), &r->len))
		return -1;
	ikp_deliver(r->ctx, &r->p, false, r->msg, r->len);
	if (answer(r, false))
		return -1;
	if (!auth)
		return 0;
	if (ikp_auth_req(&r->p, &r->a, r->msg, IKP_MSG_MAX, &r->len))
		return -1;
	ikp_deliver(r->ctx, &r->p, true, r->msg, r->len);
	return answer(r, true);
}

/*
 * HDR, SK{plain} with the initiator's keys: plain is a whole payload
 * chain whose first payload is of type first, as the fuzzer made it; with
 * frag_num, inside one Encrypted Fragment, frag_num of total, instead.
 */
static int seal_as(struct run *r, uint8_t exch, uint8_t first, uint16_t frag_num,
		   uint16_t total, const uint8_t *plain, size_t plen)
{
	struct ikev2_msghdr h = {
		.ispi = ikp_be64(r->p.spi_i), .rspi = ikp_be64(r->p.spi_r),
		.msgid = r->p.msgid, .major = 2, .exch = exch,
		.flags = IKEV2_FLAG_INITIATOR,
	};
	struct ike_sk_keys sk;
	struct ikev2_buf b;
	size_t hlen;

	ikev2_build_init(&b, r->msg, IKP_MSG_MAX, &h);
	if (ikev2_build_finish(&b, &hlen))
		return -1;
	r->msg[16] = frag_num ? IKEV2_PLD_SKF : IKEV2_PLD_SK;
	ike_keys_sk(&r->p.keys, true, &sk);
	if (frag_num)
		return ike_skf_seal(&sk, r->msg, IKP_MSG_MAX, hlen, first, frag_num,
				    total, plain, plen, &r->len);
	return ike_sk_seal(&sk, r->msg, IKP_MSG_MAX, hlen, first, plain, plen,
			   &r->len);
}

static int seal_raw(struct run *r, uint8_t exch, uint8_t first,
		    const uint8_t *plain, size_t plen)
{
	return seal_as(r, exch, first, 0, 0, plain, plen);
}

/* IDi and a valid AUTH, the AUTH payload's next type set to first, then tail. */
static int auth_then(struct run *r, uint8_t first, const uint8_t *tail,
		     size_t tlen, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t idb[4 + 64], auth[IKE_PRF_MAX_LEN];
	size_t id_len = strlen(SITE_FQDN), alen = sizeof(auth), auth_off, plen;
	struct ikev2_buf b;

	memset(idb, 0, 4);
	idb[0] = IKEV2_ID_FQDN;
	memcpy(idb + 4, SITE_FQDN, id_len);
	if (ike_psk_auth(r->p.ike_ch.prf, psk, sizeof(psk), r->p.init_req,
			 r->p.init_req_len, r->p.nr, r->p.nr_len, r->p.keys.sk_pi,
			 r->p.keys.sk_p_len, idb, 4 + id_len, auth, &alen))
		return -1;
	ikev2_build_inner(&b, out, cap);
	ikev2_put_id(&b, IKEV2_PLD_IDI, IKEV2_ID_FQDN, SITE_FQDN, id_len);
	auth_off = b.len;
	ikev2_put_auth(&b, IKEV2_AUTH_PSK, auth, alen);
	if (ikev2_build_finish(&b, &plen) || plen + tlen > cap)
		return -1;
	out[auth_off] = tlen ? first : IKEV2_PLD_NONE;
	memcpy(out + plen, tail, tlen);
	*len = plen + tlen;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r;
	uint8_t plain[IKP_MSG_MAX];
	size_t plen;

	if (size < 1 || size > IKP_MSG_MAX - 256)
		return 0;
	if (run_open(&r, data[0] % 4 == 0 && (data[0] & 4)))
		abort();
	switch (data[0] % 4) {
	case 0:
		ike_input(r.ctx, IKP_PORT, r.p.addr, r.p.port, data + 1, size - 1);
		break;
	case 1:
		if (size < 2 || handshake(&r, false) ||
		    seal_raw(&r, IKEV2_EXCH_IKE_AUTH, data[1], data + 2, size - 2))
			break;
		ikp_deliver(r.ctx, &r.p, true, r.msg, r.len);
		break;
	case 2:
		if (size < 2 || handshake(&r, false) ||
		    auth_then(&r, data[1], data + 2, size - 2, plain, sizeof(plain), &plen) ||
		    seal_raw(&r, IKEV2_EXCH_IKE_AUTH, IKEV2_PLD_IDI, plain, plen))
			break;
		ikp_deliver(r.ctx, &r.p, true, r.msg, r.len);
		break;
	case 3: {
		uint8_t exch;
		uint16_t num, total;

		if (size < 3 || handshake(&r, true))
			break;
		exch = data[1] & 1 ? IKEV2_EXCH_CREATE_CHILD_SA : IKEV2_EXCH_INFORMATIONAL;
		num = 1 + (data[1] >> 2 & 7);
		total = 1 + (data[1] >> 5);
		if (seal_as(&r, exch, data[2], data[1] & 2 ? (num < total ? num : total) : 0,
			    total, data + 3, size - 3))
			break;
		ikp_deliver(r.ctx, &r.p, true, r.msg, r.len);
		break;
	}
	}
	/* time passes: retransmits, timeouts, expiry run over what was made */
	r.e.now_ms += 3600 * 1000;
	ike_tick(r.ctx);
	run_close(&r);
	return 0;
}
