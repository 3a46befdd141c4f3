/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ike.h - the IKEv2 engine of the POP: responder to the branches' IKE SAs
 * (RFC 7296), initiator of what a gateway must start itself on those SAs
 * (Child SA and IKE SA rekeys, liveness checks, DELETEs). Everything outside
 * the protocol (sockets, the site store, the kernel, the clock) is reached
 * through struct ike_env, so the engine runs the same in ipsecd and in an
 * in-process test initiator.
 *
 * Files, by concern (iked's split):
 *   ike.c        input: validation, message IDs, the dispatcher per exchange
 *   ike_init.c   IKE_SA_INIT and IKE_AUTH
 *   ike_sa.c     the SA table and the one place an IKE SA changes state
 *   ike_msg.c    sending, retransmission of our requests, response matching
 *   ike_child.c  Child SAs: negotiation, selectors, cipher policy, rekeys,
 *                collisions, expiry
 *   ike_rekey.c  IKE SA rekey, both directions, and its collisions
 *   ike_dpd.c    liveness (DPD), lifetimes, timers
 *
 * Times: every deadline is CLOCK_MONOTONIC milliseconds (env->now_ms).
 */
#ifndef EG_IKE_H
#define EG_IKE_H

#include <stdbool.h>
#include <stdint.h>

#include "ike_crypto.h"
#include "ikev2_pld.h"
#include "ikev2_prop.h"
#include "store.h"

#define IKE_MAX_CHILD		10	/* Child SAs per IKE SA (seed) */
/* a rekey overlaps old and new: twice the slots, the cap counts tunnels */
#define IKE_CHILD_SLOTS		(2 * IKE_MAX_CHILD)
#define IKE_MAX_TS		8	/* traffic selectors we install per side */
#define IKE_MAX_SAS		200000	/* IKE SAs, half-open included */
#define IKE_NONCE_LEN		32	/* our nonces */
#define IKE_INIT_MAX		3072	/* largest IKE_SA_INIT request taken */

/* Gateway-wide settings; a site's own values (store) override the four
 * lifetimes and DPD times where they are not 0. */
struct ike_cfg {
	uint32_t ike_lifetime;		/* s, hard; default 24 h (seed) */
	uint32_t child_lifetime;	/* s, hard; default 2 h (seed) */
	uint32_t dpd_delay;		/* s of silence before a liveness check */
	uint32_t dpd_timeout;		/* s without an answer: the peer is dead */
	uint32_t half_open;		/* s from IKE_SA_INIT to IKE_AUTH */
	uint32_t max_half_open;		/* beyond: IKE_SA_INIT dropped */
	uint32_t auth_lifetime;		/* s sent in AUTH_LIFETIME; 0: none */
	uint32_t retransmit_base_ms;	/* first retransmit of our requests */
	/* half-open SAs, counted at their DH cost (MODP-2048 = 1) */
	uint32_t cookie_threshold;	/* from which cookies (2.6) */
	uint32_t cookie_rotate;		/* s between cookie secrets */
	uint32_t max_half_open_src;	/* of one address, each kind */
	uint32_t dh_reuse;		/* s our IKE_SA_INIT key pair lives; 0: one each */
	uint32_t frag_size;		/* IKE fragments' IP packets; 0: not offered */
	uint32_t workers;		/* threads for IKE_SA_INIT's DH; 0: inline */
	/* this gateway's POP: IKE_AUTH of a site that does not list it as its
	 * primary or a backup gets AUTHENTICATION_FAILED; NULL: any site */
	const char *pop;
};

#define IKE_CFG_DEFAULT {						\
	.ike_lifetime = 24 * 3600, .child_lifetime = 2 * 3600,		\
	.dpd_delay = 30, .dpd_timeout = 150, .half_open = 30,		\
	.max_half_open = 10000, .auth_lifetime = 0,			\
	.retransmit_base_ms = 2000, .cookie_threshold = 1000,		\
	.cookie_rotate = 300, .max_half_open_src = 20,			\
	.dh_reuse = 30, .frag_size = 1280,				\
}

enum ike_state {
	IKE_S_HALF_OPEN = 1,	/* IKE_SA_INIT answered */
	IKE_S_ESTABLISHED,	/* IKE_AUTH succeeded */
	IKE_S_REKEYED,		/* replaced by its rekey; its DELETE pending */
	IKE_S_DELETING,		/* we sent DELETE; waiting for the answer */
	IKE_S_DEAD,		/* torn down, to be freed */
};

enum ike_child_state {
	CHILD_S_INSTALLED = 1,	/* carrying traffic */
	CHILD_S_REKEYING,	/* our CREATE_CHILD_SA rekeying it is out */
	CHILD_S_REKEYED,	/* superseded by its rekey, to be deleted */
	CHILD_S_DELETING,	/* our DELETE for it is out */
};

/* One CIDR block of a traffic selector (all protocols and ports). */
struct ike_ts {
	uint32_t addr;		/* network order, masked */
	uint8_t len;		/* prefix length */
};

struct ike_child {
	uint32_t spi_in;		/* ours, network order */
	uint32_t spi_out;		/* the peer's, network order */
	uint32_t reqid;			/* shared by every Child SA of the site
					 * with the same selectors */
	enum ike_child_state state;
	struct ikev2_choice prop;
	uint8_t n_tsi, n_tsr;
	struct ike_ts tsi[IKE_MAX_TS];	/* the peer's side (its LAN) */
	struct ike_ts tsr[IKE_MAX_TS];	/* ours */
	uint64_t created;		/* ms */
	uint64_t soft_at, hard_at;	/* ms: rekey it / delete it */
	uint64_t gone_at;		/* REKEYED: delete it ourselves then */
	uint32_t rekeys;		/* rekeys of this tunnel so far */
	uint32_t successor;		/* REKEYED: spi_in of the new one */
	uint32_t predecessor;		/* spi_in of the Child SA it rekeyed */
	bool del_pending;		/* our DELETE for it is to be sent */
	/* Responder of a rekey: the outbound keys, held until the old Child
	 * SA goes (the initiator has the new inbound SA by then: 2.8), so
	 * nothing we send meets a peer that cannot decrypt it yet. */
	struct ike_child_keys *out_keys;
};

#define IKE_DIR_IN	1u
#define IKE_DIR_OUT	2u

/* A site's policy as the engine applies it, read at IKE_SA_INIT/IKE_AUTH. */
struct ike_site_pol {
	struct ikev2_cipher ike, esp;	/* allowed ciphers (site "cipher") */
	uint8_t n_lan;
	struct ike_ts lan[EG_LAN_MAX];	/* TSi is narrowed to these */
	uint32_t ike_lifetime, child_lifetime, dpd_delay, dpd_timeout; /* s */
};

struct ike_req;
struct ike_frags;

struct ike_sa {
	struct ike_sa *next, *prev;	/* all live SAs; dead ones on a list */
	struct ike_sa *rnext, *inext, *snext;	/* by SPIr, by SPIi+peer, by site */
	unsigned ibucket;		/* where inext chains (the port may float) */
	bool indexed;
	uint8_t spi_i[IKE_SPI_LEN], spi_r[IKE_SPI_LEN];
	bool we_initiated;		/* we are the IKE SA's initiator (an IKE
					 * SA rekey we started) */
	enum ike_state state;
	const char *why;		/* reason of the last state change */
	int64_t site_id;
	char site_name[EG_NAME_MAX + 1];
	uint32_t peer_addr;		/* network order, as received */
	uint16_t peer_port;		/* host order */
	uint16_t local_port;		/* 500 or 4500 */
	bool peer_natted;		/* the peer is behind a NAT */
	bool initial_contact;		/* IKE_AUTH carried INITIAL_CONTACT */
	struct ikev2_choice prop;
	struct ike_keys keys;
	struct ike_site_pol pol;
	/* IKE_SA_INIT, kept until IKE_AUTH for the AUTH payloads */
	uint8_t *ni;			/* the peer's nonce */
	size_t ni_len;
	uint8_t nr[IKE_NONCE_LEN];
	uint8_t *init_req, *init_resp;
	size_t init_req_len, init_resp_len;
	/* as responder (2.3): the peer's requests */
	uint32_t next_msgid;		/* next request ID expected from peer */
	uint8_t *resp;			/* last response, for retransmits */
	size_t resp_len;
	uint32_t resp_msgid;
	uint8_t req_hash[16];		/* of the request resp answers */
	uint64_t last_resend;		/* ms, rate limit of retransmits */
	/* as initiator: our requests, one at a time (window size 1) */
	uint32_t our_msgid;		/* ID of our next request */
	struct ike_req *req;		/* outstanding, or NULL */
	unsigned want;			/* IKE_WANT_*: requests to start */
	/* times, ms */
	uint64_t created, established;
	uint64_t last_rx;		/* last authenticated message */
	uint64_t active_at;		/* last inbound IKE or ESP seen */
	uint64_t rx_pkts;		/* env->site_rx at active_at */
	uint64_t dpd_check_at;		/* when to look at the counters */
	uint64_t rekey_at, expire_at;	/* IKE SA soft (we rekey) and hard */
	uint64_t gone_at;		/* REKEYED/DELETING: free it then */
	uint64_t rx_msgs, tx_msgs;
	uint32_t ike_rekeys, child_rekeys, dpd_sent;
	uint64_t successor_spi;		/* REKEYED: the new SA's SPI (ours) */
	uint16_t rekey_group;		/* DH group for our IKE SA rekey */
	/* inbound SPIs (network order) of Child SAs already removed whose
	 * DELETE is still to be sent (hard expiry) */
	uint32_t announce[IKE_CHILD_SLOTS];
	uint8_t n_announce;
	struct ike_child *child[IKE_CHILD_SLOTS];
	/* persistence (ike_persist.c): changed since last saved; in the store */
	bool dirty, saved;
	/* ike_cookie.c: while half-open, counted for this source address,
	 * with or without a valid cookie, at the cost of its DH group */
	uint32_t ho_addr;
	bool cookie_ok;
	uint8_t ho_cost;
	/* ike_frag.c: fragmentation negotiated (RFC 7383); a message coming
	 * in fragments */
	bool frag;
	struct ike_frags *frags;
	uint64_t job;			/* ike_workers.c: computing its keys */
};

/* What the engine needs from its host. Every hook returns 0 or -errno. */
struct ike_env {
	void *arg;
	uint32_t local_addr;		/* our IKE address, network order */
	/* Send a datagram (the engine adds nothing: non-ESP marker included). */
	int (*send)(void *arg, uint16_t local_port, uint32_t addr,
		    uint16_t port, const uint8_t *buf, size_t len);
	/* The enabled site whose source IP is addr, without its PSK
	 * (-ENOENT, or -EPERM when disabled or refused). */
	int (*site_by_addr)(void *arg, uint32_t addr, struct eg_site_rec *s);
	/* The PSK of a site into psk (EG_PSK_MAX bytes), for IKE_AUTH only;
	 * the engine wipes it when done. */
	int (*site_psk)(void *arg, int64_t site_id, uint8_t *psk, size_t *len);
	/* May this gateway take new tunnels (POP not drained)? */
	bool (*accepting)(void *arg);
	/* May a site of this license be authenticated now (its downstream
	 * services healthy)? 0, or not with why filled in. May be NULL. */
	int (*site_admit)(void *arg, enum eg_license lic, char *why, size_t cap);
	/*
	 * Install / remove a Child SA in the kernel and the XDP SPI map.
	 * keys->encr_i/integ_i protect what the peer sends us (inbound),
	 * encr_r/integ_r what we send (outbound), whoever initiated. dirs:
	 * IKE_DIR_IN (with its policies, routes, XDP SPI) and/or IKE_DIR_OUT;
	 * the responder of a rekey installs the outbound half later, when
	 * the old Child SA is gone. child_remove removes what c->out_keys
	 * says is in: no outbound SA while they are still held.
	 */
	int (*child_install)(void *arg, const struct ike_sa *sa,
			     const struct ike_child *c,
			     const struct ike_child_keys *keys, unsigned dirs);
	void (*child_remove)(void *arg, const struct ike_sa *sa,
			     const struct ike_child *c);
	/* Pick a fresh inbound SPI (network order) for a site. */
	int (*spi_alloc)(void *arg, const struct ike_sa *sa, uint32_t *spi);
	/* The peer's address or port changed: re-point its Child SAs' UDP
	 * encapsulation (NAT rebinding). May be NULL. */
	void (*peer_moved)(void *arg, const struct ike_sa *sa);
	/* Inbound IKE + ESP packets from the SA's peer so far, a counter that
	 * only grows (XDP per-site counters): liveness without a timer per
	 * packet. May be NULL: then only IKE messages count. */
	int (*site_rx)(void *arg, const struct ike_sa *sa, uint64_t *pkts);
	/* Monotonic clock in ms; NULL: CLOCK_MONOTONIC. */
	uint64_t (*now_ms)(void *arg);
	/*
	 * Persistence, for a restart that keeps the tunnels (ike_persist.c).
	 * May be NULL: nothing is kept. sa_save stores an established SA's
	 * record under our SPI (rec NULL: forget it); it is called between
	 * save_batch(true) and save_batch(false), once a second at most.
	 * child_adopt takes over a resumed Child SA that the kernel still has
	 * (its SAs, policies, routes, XDP SPI), like child_install without
	 * keys; -errno if the kernel lost it.
	 */
	int (*sa_save)(void *arg, const uint8_t spi[IKE_SPI_LEN], int64_t site_id,
		       const uint8_t *rec, size_t len);
	void (*save_batch)(void *arg, bool begin);
	int (*child_adopt)(void *arg, const struct ike_sa *sa,
			   const struct ike_child *c);
};

struct ike_stats {
	uint64_t rx, rx_dropped, rx_bad, ikev1, retransmits, resend_limited;
	uint64_t init_ok, init_no_proposal, init_invalid_ke, init_refused;
	uint64_t init_too_big, init_half_open_full;
	uint64_t init_cookie_sent, init_cookie_bad, init_src_limited;
	uint64_t dh_keygens, dh_reused;	/* IKE_SA_INIT key pairs made, reused */
	uint64_t frag_rx, frag_reassembled, frag_tx, frag_dropped;
	/* IKE_SA_INIT: to a worker, here with the worker's ring full, results
	 * for an SA gone meanwhile */
	uint64_t init_offloaded, init_inline, init_stale;
	uint64_t auth_ok, auth_failed, child_ok, child_failed;
	uint64_t deletes_rx, deletes_tx, expired;
	uint64_t ike_rekeys, child_rekeys, rekey_collisions;
	uint64_t dpd_sent, dpd_dead, req_retransmits, req_timeouts;
	uint64_t replaced, nat_moves;
	uint64_t resumed, resume_failed, saved, save_failed;
};

struct ike_ctx;

int ike_ctx_new(struct ike_ctx **ctx, const struct ike_env *env,
		const struct ike_cfg *cfg);
/*
 * Free the engine. teardown: DELETE to every peer and every Child SA
 * removed (env->child_remove); otherwise the kernel's SAs are left as they
 * are (a restart that keeps the tunnels).
 */
void ike_ctx_free(struct ike_ctx *ctx, bool teardown);

/* A datagram arrived on local_port from addr:port (network/host order). */
void ike_input(struct ike_ctx *ctx, uint16_t local_port, uint32_t addr,
	       uint16_t port, const uint8_t *buf, size_t len);
/* Periodic work (timers: half-open, DPD, lifetimes, retransmits). */
void ike_tick(struct ike_ctx *ctx);
/* With cfg.workers: the fd that is readable when IKE_SA_INIT results are
 * in (-1 without), and what to call then: the answers go out. */
int ike_worker_fd(const struct ike_ctx *ctx);
void ike_workers_poll(struct ike_ctx *ctx);
/* Tear down every SA of a site, telling the peer (site disabled/deleted). */
unsigned ike_site_down(struct ike_ctx *ctx, int64_t site_id, const char *why);

/*
 * The kernel says a Child SA's lifetime is over (XFRM_MSG_EXPIRE): spi is
 * either of its SPIs (network order); soft: rekey it now, hard: it is gone,
 * DELETE it. -ENOENT if no Child SA has that SPI.
 */
int ike_child_expire(struct ike_ctx *ctx, uint32_t spi, bool hard);
/* ESP from a Child SA's peer arrived from a new address/port (the
 * kernel's XFRM_MSG_MAPPING, after its ICV passed). */
int ike_child_mapping(struct ike_ctx *ctx, uint32_t spi_in, uint32_t addr,
		      uint16_t port);
/* Operator/debug: start a rekey of the site's Child SA with inbound SPI
 * spi_in (0: every Child SA), or of its IKE SA. */
int ike_rekey_child_now(struct ike_ctx *ctx, int64_t site_id, uint32_t spi_in);
int ike_rekey_ike_now(struct ike_ctx *ctx, int64_t site_id);

/*
 * Restart without outage (ike_persist.c). ike_persist_flush() saves what
 * changed (ike_tick() does it; call it before a stop that keeps the
 * tunnels). ike_resume() brings back one saved SA, downtime_ms after it
 * was saved: -EINVAL for a record that does not parse, -ENOENT when its
 * site is gone; its Child SAs that the kernel lost are dropped and
 * announced to the peer with DELETE.
 */
#define IKE_PERSIST_MAX	12288	/* bytes of one saved SA, at most */
void ike_persist_flush(struct ike_ctx *ctx);
int ike_resume(struct ike_ctx *ctx, const uint8_t *rec, size_t len,
	       uint64_t downtime_ms);

const struct ike_stats *ike_get_stats(const struct ike_ctx *ctx);
const struct ike_cfg *ike_get_cfg(const struct ike_ctx *ctx);
uint64_t ike_now(const struct ike_ctx *ctx);	/* the engine's clock, ms */
unsigned ike_sa_count(const struct ike_ctx *ctx, unsigned *half_open);
/* Walk the SAs (established and half-open). */
typedef void (*ike_sa_cb)(const struct ike_sa *sa, void *arg);
void ike_foreach(const struct ike_ctx *ctx, ike_sa_cb cb, void *arg);
void ike_foreach_site(const struct ike_ctx *ctx, int64_t site_id,
		      ike_sa_cb cb, void *arg);
const char *ike_state_name(enum ike_state s);
const char *ike_child_state_name(enum ike_child_state s);
/* Tunnels (Child SAs not superseded by a rekey) of an SA. */
unsigned ike_sa_tunnels(const struct ike_sa *sa);
/* Bytes of memory an SA holds (struct, buffers, Child SAs). */
size_t ike_sa_bytes(const struct ike_sa *sa);

#endif /* EG_IKE_H */
