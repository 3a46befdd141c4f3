/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ike_int.h - what the files of the IKE engine share and nobody else sees:
 * the context, our outstanding request, and the functions each file offers
 * the others (grouped by file, as iked.h does).
 */
#ifndef EG_IKE_INT_H
#define EG_IKE_INT_H

#include <arpa/inet.h>

#include "ike.h"
#include "log.h"

#define IKE_HASH	65536	/* buckets of each SA index; power of two */
#define IKE_PORT	500
#define NATT_PORT	4500
#define MSG_MAX		IKE_SK_MSG_MAX
#define IKE_FRAG_MAX	64	/* fragments of one message (RFC 7383) */
#define IKE_FRAG_TIMEOUT_MS	30000	/* to receive all of them */
#define IKE_RESEND_MS	500	/* at most one retransmitted answer per SA per */
#define IKE_GONE_MS	30000	/* a REKEYED SA/Child SA waits this for the
				 * peer's DELETE before we delete it */
#define IKE_RETX_MAX_MS	30000	/* longest wait between two retransmits */

/* What our outstanding request is for. */
enum ike_req_kind {
	REQ_DPD = 1,		/* empty INFORMATIONAL */
	REQ_DELETE_IKE,		/* INFORMATIONAL D(IKE) */
	REQ_DELETE_CHILD,	/* INFORMATIONAL D(ESP, spis) */
	REQ_REKEY_CHILD,	/* CREATE_CHILD_SA N(REKEY_SA) */
	REQ_REKEY_IKE,		/* CREATE_CHILD_SA SA(IKE) */
};

/* Requests an SA wants to start once nothing is outstanding (want bits). */
#define IKE_WANT_DPD		0x1
#define IKE_WANT_REKEY_IKE	0x2
#define IKE_WANT_DELETE		0x4	/* delete the IKE SA (expiry) */

struct ike_req {
	enum ike_req_kind kind;
	uint8_t exch;
	uint32_t msgid;
	unsigned tries;
	uint64_t first_sent, next_retx;	/* ms */
	uint64_t timeout;		/* ms after first_sent: give up */
	bool owed;			/* the deadline of one left unanswered */
	uint8_t *msg;			/* as sent, for retransmits */
	size_t len;
	/* DELETE_CHILD: our inbound SPIs named */
	uint32_t spis[IKE_CHILD_SLOTS];
	unsigned n_spis;
	/* REKEY_CHILD: the old Child SA, the new one's SPI and proposal */
	uint32_t old_spi_in, new_spi_in;
	struct ikev2_choice prop;
	/* REKEY_CHILD with PFS and REKEY_IKE: our half, our nonce */
	struct ike_dh *dh;
	uint8_t nonce[IKE_NONCE_LEN];
	uint8_t new_spi[IKE_SPI_LEN];	/* REKEY_IKE: our SPI, the new SPIi */
	/*
	 * A collision (2.8.1, 2.8.2): the peer rekeyed the same SA while this
	 * request was out, and we answered. What its exchange made (the new
	 * Child SA's spi_in, or the new IKE SA's SPI of ours) and the lower
	 * of its two nonces decide which of the two new SAs goes.
	 */
	uint32_t peer_child;
	uint8_t peer_sa[IKE_SPI_LEN];
	bool collided;
	uint8_t peer_lo[IKE_NONCE_MAX_LEN];
	size_t peer_lo_len;
};

/* 2.8.1: the lower nonce, octet by octet; a prefix is the lower one. */
int nonce_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

struct src_slot;
struct ike_pool;

/* ike_dhreuse.c: our key pair of one group, reused for cfg.dh_reuse s */
struct ike_dh_keep {
	uint16_t group;			/* 0: slot unused */
	struct ike_dh *dh;
	uint64_t made;
};
#define IKE_DH_GROUPS	4		/* MODP 2048, 3072, 4096, 8192 */
#define IKE_COOKIE_SECRET_LEN	32
#define IKE_COOKIE_LEN		17	/* version | 16 bytes of HMAC */

struct ike_ctx {
	struct ike_env env;
	struct ike_cfg cfg;
	struct ike_sa *sas;		/* live SAs, doubly linked */
	struct ike_sa *dead;		/* killed, freed by sa_reap() */
	struct ike_sa *by_r[IKE_HASH];	/* our SPI -> SA, for every message */
	struct ike_sa *by_i[IKE_HASH];	/* peer's SPI + address -> SA (INIT) */
	struct ike_sa *by_site[IKE_HASH];
	unsigned n_sas, n_half_open;
	uint32_t half_open_cost;	/* of the half-open SAs (ike_dh_cost) */
	uint32_t next_reqid;
	uint64_t now;			/* ms, refreshed per input and tick */
	uint64_t next_sweep;		/* the timer walk, once a second */
	struct ike_stats st;
	uint8_t out[MSG_MAX + 4];	/* message being built (+ marker) */
	uint8_t plain[MSG_MAX];		/* SK plaintext, in and out */
	/* ike_frag.c: the fragments of one message, sealed one after another */
	uint8_t train[MSG_MAX + IKE_FRAG_MAX * 160];
	uint8_t held[MSG_MAX];		/* a request's plaintext while we answer */
	size_t held_len;
	uint8_t held_hash[16];		/* of the request being answered */
	bool keeping;			/* stopping, tunnels kept: keep records */
	/* ike_cookie.c: cookie secrets (this period's is [cookie_ver & 1]),
	 * half-open SAs per source address */
	uint8_t cookie_secret[2][IKE_COOKIE_SECRET_LEN];
	uint8_t cookie_ver;
	uint64_t cookie_rotated;
	struct src_slot *src;
	uint32_t src_mask;
	uint64_t src_seed;
	struct ike_dh_keep dh_keep[IKE_DH_GROUPS];
	struct ike_pool *pool;		/* ike_workers.c, or NULL */
	uint64_t job_seq;
};

/* ---- ike.c -------------------------------------------------------------- */
const char *ike_ip(uint32_t be, char buf[INET_ADDRSTRLEN]);
uint64_t ike_be64_get(const uint8_t *p);
void ike_be64_put(uint8_t *p, uint64_t v);
uint64_t ike_clock(struct ike_ctx *ctx);	/* refresh ctx->now */
/* A duration in ms shortened by a random 0..permille/1000 of it (so SAs
 * made together do not expire together). */
uint64_t ike_jitter_ms(uint64_t ms, unsigned permille);

/* ---- ike_cookie.c ------------------------------------------------------- */
int ike_cookie_init(struct ike_ctx *ctx);
void ike_cookie_free(struct ike_ctx *ctx);
void ike_cookie_tick(struct ike_ctx *ctx);		/* rotates the secret */
int ike_cookie_make(const struct ike_ctx *ctx, const uint8_t *ni, size_t ni_len,
		    uint32_t addr, const uint8_t spi_i[IKE_SPI_LEN],
		    uint8_t out[IKE_COOKIE_LEN]);
bool ike_cookie_valid(const struct ike_ctx *ctx, const uint8_t *cookie, size_t len,
		      const uint8_t *ni, size_t ni_len, uint32_t addr,
		      const uint8_t spi_i[IKE_SPI_LEN]);
unsigned ike_dh_cost(uint16_t group);	/* MODP-2048 = 1 */
unsigned ike_src_half_open(struct ike_ctx *ctx, uint32_t addr, bool cookie);
void ike_src_adjust(struct ike_ctx *ctx, uint32_t addr, bool cookie, int delta);
bool init_cookie_gate(struct ike_ctx *ctx, const struct ikev2_msghdr *h,
		      const struct ikev2_msg *m, const struct ikev2_payload *ni,
		      uint16_t group, uint16_t local_port, uint32_t addr,
		      uint16_t port, bool *cookie);

/* The IKE SA's suite, as the key schedule takes it. */
static inline struct ike_suite ike_sa_suite(const struct ike_sa *sa)
{
	return (struct ike_suite){
		.encr = sa->prop.encr, .encr_key_bits = sa->prop.encr_keylen,
		.prf = sa->prop.prf, .integ = sa->prop.integ, .dh = sa->prop.dh,
	};
}

/* ---- ike_workers.c ------------------------------------------------------- */
/*
 * IKE_SA_INIT's DH and key schedule on a pool of threads (cfg.workers): 0
 * when sa's job is queued (sa->job says which; ike_workers_poll() answers
 * when it is done), -EAGAIN to do it here (no pool, or its queue full).
 */
int init_offload(struct ike_ctx *ctx, struct ike_sa *sa,
		 const struct ikev2_ke_pld *ke);
int ike_workers_start(struct ike_ctx *ctx);
void ike_workers_stop(struct ike_ctx *ctx);

/* ---- ike_frag.c ---------------------------------------------------------- */
/* Receive one SKF message of sa: 1 when it completed a message (its inner
 * payloads in *plain, the hash of fragment 1 for retransmits in hash), 0
 * when kept or ignored, <0 dropped. */
int frag_input(struct ike_ctx *ctx, struct ike_sa *sa,
	       const struct ikev2_msghdr *h, const struct ikev2_msg *m,
	       const uint8_t *buf, size_t len, uint8_t **plain, size_t *plen,
	       uint8_t *first, uint8_t hash[16]);
/* Seal as fragments into ctx->train if the whole (sealed_len) would not
 * fit a datagram: 1 and the train in *wire, 0 (seal it whole), <0. */
int frag_seal(struct ike_ctx *ctx, struct ike_sa *sa,
	      const struct ikev2_msghdr *h, uint8_t first_np,
	      const uint8_t *plain, size_t plen, size_t sealed_len,
	      const uint8_t **wire, size_t *wlen);
void frags_tick(struct ike_ctx *ctx, struct ike_sa *sa);
void frags_free(struct ike_sa *sa);

/* ---- ike_dhreuse.c ------------------------------------------------------ */
/* Our key pair for an IKE_SA_INIT in group: *owned says whether the
 * caller frees it (reuse off or no slot) or it stays kept. */
int ike_dh_ours(struct ike_ctx *ctx, uint16_t group, struct ike_dh **dh,
		bool *owned);
void ike_dh_reuse_tick(struct ike_ctx *ctx);	/* frees expired key pairs */
void ike_dh_reuse_free(struct ike_ctx *ctx);

/* ---- ike_sa.c ----------------------------------------------------------- */
void ike_set_state(struct ike_ctx *ctx, struct ike_sa *sa, enum ike_state new,
		   const char *why);
struct ike_sa *sa_new(struct ike_ctx *ctx);
void sa_index(struct ike_ctx *ctx, struct ike_sa *sa);
void sa_unindex(struct ike_ctx *ctx, struct ike_sa *sa);
void sa_site_link(struct ike_ctx *ctx, struct ike_sa *sa);
/* Our SPI of an SA: SPIr, or SPIi of an SA we initiated (our IKE rekey). */
const uint8_t *sa_our_spi(const struct ike_sa *sa);
struct ike_sa *sa_by_spi(struct ike_ctx *ctx, const uint8_t *our_spi);
struct ike_sa *sa_half_open(struct ike_ctx *ctx, const uint8_t *spi_i,
			    uint32_t addr, uint16_t port);
struct ike_sa *sa_site_first(const struct ike_ctx *ctx, int64_t site_id);
/* Remove every Child SA (kernel included), mark dead; freed by sa_reap. */
void sa_kill(struct ike_ctx *ctx, struct ike_sa *sa, const char *why);
/* Mark dead without touching the Child SAs (moved away, or kept). */
void sa_retire(struct ike_ctx *ctx, struct ike_sa *sa, const char *why);
void sa_reap(struct ike_ctx *ctx);
void sa_free_init(struct ike_sa *sa);	/* IKE_SA_INIT copies, after AUTH */
/* Child SA slots. */
struct ike_child *child_alloc(struct ike_sa *sa);
void child_slot_free(struct ike_sa *sa, struct ike_child *c);	/* no kernel */
void child_drop(struct ike_ctx *ctx, struct ike_sa *sa, struct ike_child *c);
/* Responder of a rekey: the outbound SA when the old Child SA goes. */
void child_out_release(struct ike_ctx *ctx, struct ike_sa *sa,
		       const struct ike_child *gone);
void child_out_forget(struct ike_child *c);	/* wipe held outbound keys */
void children_drop(struct ike_ctx *ctx, struct ike_sa *sa);	/* all of them */
struct ike_child *child_by_spi_in(const struct ike_sa *sa, uint32_t spi);
struct ike_child *child_by_spi_out(const struct ike_sa *sa, uint32_t spi);
/* The SA and Child SA that own an inbound or outbound SPI, any site. */
struct ike_child *child_find(struct ike_ctx *ctx, uint32_t spi,
			     struct ike_sa **sa);

/* ---- ike_msg.c ------------------------------------------------------------ */
uint8_t *out_msg(struct ike_ctx *ctx);
int send_msg(struct ike_ctx *ctx, uint16_t local_port, uint32_t addr,
	     uint16_t port, uint8_t *msg, size_t len);
void init_notify(struct ike_ctx *ctx, const struct ikev2_msghdr *req,
		 uint16_t local_port, uint32_t addr, uint16_t port,
		 uint16_t type, const void *data, size_t dlen);
/* Encrypt inner and send it: our answer to msgid, cached for retransmits. */
int send_response(struct ike_ctx *ctx, struct ike_sa *sa, uint8_t exch,
		  uint32_t msgid, struct ikev2_buf *inner);
/* An answer carrying one error notify. */
void send_error(struct ike_ctx *ctx, struct ike_sa *sa, uint8_t exch,
		uint32_t msgid, uint16_t type);
/* Did we answer this very request already? Resend then (rate-limited). */
bool resend_if_retransmit(struct ike_ctx *ctx, struct ike_sa *sa,
			  const uint8_t *buf, size_t len, uint32_t msgid,
			  uint16_t local_port, uint16_t port);
void req_hash(const uint8_t *buf, size_t len, uint8_t out[16]);
/* Our request: encrypt, send, keep for retransmission (2.4). */
int send_request(struct ike_ctx *ctx, struct ike_sa *sa, struct ike_req *rq,
		 struct ikev2_buf *inner);
struct ike_req *req_new(enum ike_req_kind kind, uint8_t exch);
void req_free(struct ike_req *rq);
/* A fire-and-forget INFORMATIONAL D(IKE) (shutdown, replaced SAs). */
void send_delete_once(struct ike_ctx *ctx, struct ike_sa *sa);
/* Retransmit or give up on our request (timer). */
void req_timer(struct ike_ctx *ctx, struct ike_sa *sa);
void req_inherit_deadline(struct ike_ctx *ctx, struct ike_req *rq, uint64_t deadline);
/* Start what sa->want and the Child SAs ask for, if nothing is out. */
void req_next(struct ike_ctx *ctx, struct ike_sa *sa);
/* A response to our request arrived, ICV verified. */
void handle_response(struct ike_ctx *ctx, struct ike_sa *sa,
		     const struct ikev2_msghdr *h, const struct ikev2_msg *m);

/* ---- ike_init.c ----------------------------------------------------------- */
/* Our keys are made (here, or by a worker): the answer, cached and sent. */
int init_answer(struct ike_ctx *ctx, struct ike_sa *sa, const uint8_t *pub);
void handle_init(struct ike_ctx *ctx, const struct ikev2_msghdr *h,
		 const struct ikev2_msg *m, const uint8_t *buf, size_t len,
		 uint16_t local_port, uint32_t addr, uint16_t port);
/* IKE_SA_INIT with an unknown critical payload (2.5). */
void init_unsupported(struct ike_ctx *ctx, const struct ikev2_msghdr *h,
		      const struct ikev2_msg *m, uint16_t local_port,
		      uint32_t addr, uint16_t port);
void handle_auth(struct ike_ctx *ctx, struct ike_sa *sa,
		 const struct ikev2_msghdr *h, const struct ikev2_msg *m);
/* The site's lifetimes, DPD times, cipher and LAN policy. */
int site_pol_load(struct ike_ctx *ctx, const struct eg_site_rec *s,
		  struct ike_site_pol *pol);
/* Older IKE SAs of the site go: sa has installed its Child SAs or said
 * INITIAL_CONTACT (one IKE SA per site). */
void sa_replace_older(struct ike_ctx *ctx, struct ike_sa *sa);

/* ---- ike_child.c ---------------------------------------------------------- */
/* What a Child SA negotiation takes besides the request. */
struct child_req {
	const uint8_t *ni, *nr;		/* the exchange's nonces (2.17) */
	size_t ni_len, nr_len;
	int ke_group;			/* the KE's group, or IKEV2_KE_ABSENT */
	const struct ikev2_ke_pld *ke;	/* PFS: the peer's KE */
	uint8_t *pub;			/* PFS: our KE data, group length */
	unsigned prop_flags;		/* IKEV2_PROP_IKE_AUTH in IKE_AUTH */
	struct ike_child *old;		/* CREATE_CHILD_SA with REKEY_SA */
};
struct ike_child *make_child(struct ike_ctx *ctx, struct ike_sa *sa,
			     const struct ikev2_msg *m,
			     const struct child_req *rq, struct ikev2_buf *rsp);
void put_child_ts(struct ikev2_buf *rsp, const struct ike_child *c, bool ours_first);
void handle_create_child(struct ike_ctx *ctx, struct ike_sa *sa,
			 const struct ikev2_msghdr *h,
			 const struct ikev2_msg *m);
/* Our CREATE_CHILD_SA rekeying c (soft expiry, operator). */
int child_rekey_start(struct ike_ctx *ctx, struct ike_sa *sa,
		      struct ike_child *c);
void child_rekey_response(struct ike_ctx *ctx, struct ike_sa *sa,
			  struct ike_req *rq, const struct ikev2_msg *m);
/* Timers of the SA's Child SAs: hard lifetimes (removed now, DELETE to
 * follow), rekeyed ones the peer did not delete (DELETE to follow). */
void child_timers(struct ike_ctx *ctx, struct ike_sa *sa);
/* Start our rekey of the first Child SA past its soft lifetime. */
bool child_rekey_next(struct ike_ctx *ctx, struct ike_sa *sa);
/* Collect the Child SAs waiting for our DELETE into rq; count. */
unsigned child_delete_collect(struct ike_sa *sa, struct ike_req *rq);
void child_lifetimes(struct ike_ctx *ctx, struct ike_sa *sa,
		     struct ike_child *c);
/* A Child SA's installed state as the peer removed it (DELETE). */
void child_deleted_by_peer(struct ike_ctx *ctx, struct ike_sa *sa,
			   struct ike_child *c, uint32_t *gone, unsigned *n_gone);

/* ---- ike_rekey.c ------------------------------------------------------------ */
void handle_rekey_ike(struct ike_ctx *ctx, struct ike_sa *sa,
		      const struct ikev2_msghdr *h, const struct ikev2_msg *m,
		      const struct ikev2_sa *sap, struct ikev2_buf *rsp);
int ike_rekey_start(struct ike_ctx *ctx, struct ike_sa *sa);
void ike_rekey_response(struct ike_ctx *ctx, struct ike_sa *sa,
			struct ike_req *rq, const struct ikev2_msg *m);

/* ---- ike_dpd.c -------------------------------------------------------------- */
/* An authenticated message or packet: the peer is alive. */
void sa_alive(struct ike_ctx *ctx, struct ike_sa *sa);
/* Lifetimes and liveness of one established SA (from the sweep). */
void sa_timers(struct ike_ctx *ctx, struct ike_sa *sa);
/* Set the IKE SA's own deadlines from its policy (at AUTH, rekey). */
void sa_lifetimes(struct ike_ctx *ctx, struct ike_sa *sa);

/* ---- ike_persist.c -------------------------------------------------------- */
/* The SA goes for good: forget its saved record (not while keeping). */
void persist_forget(struct ike_ctx *ctx, struct ike_sa *sa);

#endif /* EG_IKE_INT_H */
