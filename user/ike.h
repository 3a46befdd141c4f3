/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ike.h - the IKEv2 responder: SA table and a flat dispatcher per exchange
 * type (RFC 7296). Everything outside the protocol (sockets, the site store,
 * the kernel) is reached through struct ike_env, so the engine runs the same
 * in ipsecd and in an in-process test initiator.
 */
#ifndef EG_IKE_H
#define EG_IKE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ike_crypto.h"
#include "ikev2_pld.h"
#include "ikev2_prop.h"
#include "store.h"

#define IKE_MAX_CHILD		10	/* Child SAs per IKE SA (seed) */
#define IKE_MAX_TS		4	/* traffic selectors we install per side */
#define IKE_HALF_OPEN_SECS	30	/* IKE_SA_INIT done, no IKE_AUTH yet */
#define IKE_SA_LIFETIME		(24 * 3600)	/* phase 1, seed: 24 h */
#define IKE_CHILD_LIFETIME	(2 * 3600)	/* phase 2, seed: 2 h */
#define IKE_MAX_SAS		200000	/* IKE SAs, half-open included */
#define IKE_MAX_HALF_OPEN	10000	/* beyond: new IKE_SA_INIT dropped */
#define IKE_NONCE_LEN		32	/* our nonces */

enum ike_state {
	IKE_S_HALF_OPEN = 1,	/* IKE_SA_INIT answered */
	IKE_S_ESTABLISHED,	/* IKE_AUTH succeeded */
	IKE_S_DEAD,		/* torn down, to be freed */
};

struct ike_child {
	bool used;
	bool rekey;			/* installed as a rekey: SAs only */
	bool owns_pol;			/* its policies/routes are installed for
					 * it (a rekey takes them over) */
	uint32_t spi_in;		/* ours, network order */
	uint32_t spi_out;		/* the peer's, network order */
	uint32_t reqid;
	struct ikev2_choice prop;
	unsigned n_tsi, n_tsr;
	struct ikev2_ts tsi[IKE_MAX_TS];	/* the peer's side */
	struct ikev2_ts tsr[IKE_MAX_TS];	/* ours */
	time_t created;
};

struct ike_sa {
	struct ike_sa *next;		/* all SAs */
	struct ike_sa *rnext, *inext;	/* hash chains: by SPIr, by SPIi+peer */
	unsigned ibucket;		/* where inext chains (the port may float) */
	bool indexed;
	uint8_t spi_i[IKE_SPI_LEN], spi_r[IKE_SPI_LEN];
	enum ike_state state;
	const char *why;		/* reason of the last state change */
	int64_t site_id;
	char site_name[EG_NAME_MAX + 1];
	uint32_t peer_addr;		/* network order, as received */
	uint16_t peer_port;		/* host order */
	uint16_t local_port;		/* 500 or 4500 */
	bool peer_natted;		/* the peer is behind a NAT */
	struct ikev2_choice prop;
	struct ike_keys keys;
	uint8_t ni[IKE_NONCE_MAX_LEN], nr[IKE_NONCE_LEN];
	size_t ni_len;
	uint8_t *init_req, *init_resp;	/* IKE_SA_INIT messages, for AUTH */
	size_t init_req_len, init_resp_len;
	uint32_t next_msgid;		/* next request ID expected from peer */
	uint8_t *resp;			/* last response, for retransmits */
	size_t resp_len;
	uint32_t resp_msgid;
	uint32_t our_msgid;		/* our next request ID */
	time_t created, last_rx;
	uint64_t rx_msgs, tx_msgs;
	struct ike_child child[IKE_MAX_CHILD];
};

/* What the engine needs from its host. Every hook returns 0 or -errno. */
struct ike_env {
	void *arg;
	uint32_t local_addr;		/* our IKE address, network order */
	/* Send a datagram (the engine adds nothing: non-ESP marker included). */
	int (*send)(void *arg, uint16_t local_port, uint32_t addr,
		    uint16_t port, const uint8_t *buf, size_t len);
	/* The enabled site whose source IP is addr (-ENOENT / -EPERM). */
	int (*site_by_addr)(void *arg, uint32_t addr, struct eg_site_rec *s);
	/* May this gateway take new tunnels (POP not drained)? */
	bool (*accepting)(void *arg);
	/* Install / remove a Child SA in the kernel and the XDP SPI map. */
	int (*child_install)(void *arg, const struct ike_sa *sa,
			     const struct ike_child *c,
			     const struct ike_child_keys *keys);
	void (*child_remove)(void *arg, const struct ike_sa *sa,
			     const struct ike_child *c);
	/* Pick a fresh inbound SPI (network order) for a site. */
	int (*spi_alloc)(void *arg, const struct ike_sa *sa, uint32_t *spi);
};

struct ike_stats {
	uint64_t rx, rx_dropped, rx_bad, ikev1, retransmits;
	uint64_t init_ok, init_no_proposal, init_invalid_ke, init_refused;
	uint64_t auth_ok, auth_failed, child_ok, child_failed;
	uint64_t deletes_rx, deletes_tx, expired;
};

struct ike_ctx;

int ike_ctx_new(struct ike_ctx **ctx, const struct ike_env *env);
void ike_ctx_free(struct ike_ctx *ctx);	/* removes every Child SA */

/* A datagram arrived on local_port from addr:port (network/host order). */
void ike_input(struct ike_ctx *ctx, uint16_t local_port, uint32_t addr,
	       uint16_t port, const uint8_t *buf, size_t len);
/* Periodic work: half-open timeouts, lifetimes. */
void ike_tick(struct ike_ctx *ctx, time_t now);
/* Tear down every SA of a site, telling the peer (site disabled/deleted). */
unsigned ike_site_down(struct ike_ctx *ctx, int64_t site_id, const char *why);

const struct ike_stats *ike_get_stats(const struct ike_ctx *ctx);
/* Walk the SAs (established and half-open). */
typedef void (*ike_sa_cb)(const struct ike_sa *sa, void *arg);
void ike_foreach(const struct ike_ctx *ctx, ike_sa_cb cb, void *arg);
const char *ike_state_name(enum ike_state s);

#endif /* EG_IKE_H */
