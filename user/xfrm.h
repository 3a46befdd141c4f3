/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xfrm.h - kernel IPsec SAs and policies over NETLINK_XFRM (libmnl).
 *
 * Scope: ESP in tunnel mode, IPv4 inner and outer, optionally in UDP
 * (UDP_ENCAP_ESPINUDP, RFC 3948). Every SA and policy may carry an XFRM
 * interface id (if_id, see link.h for the per-site design), so that two
 * sites with the same inner network never match each other's entries.
 *
 * Conventions:
 *  - Addresses and SPIs are in network byte order, ports in host order,
 *    lengths of keys in bytes, ICV/truncation lengths in bits.
 *  - Every function returns 0 (or a count, where documented) or -errno.
 *    Kernel refusals come back as the -errno of its NLMSG_ERROR; the
 *    kernel's own text for the last refusal (extended ACK, e.g. "Requested
 *    AEAD algorithm not found") is kept in the handle: eg_xfrm_errmsg().
 *  - One handle = one NETLINK_XFRM socket = synchronous request/answer
 *    with a sequence number per request. A handle is not thread-safe; use
 *    one per thread.
 *  - The kernel echoes SAs with their keys (GETSA, dumps): every buffer
 *    that held a key, sent or received, is wiped with OPENSSL_cleanse.
 *    Callers wipe their own struct eg_xfrm_sa with eg_xfrm_sa_wipe().
 *
 * SPI allocation (decision): the kernel picks inbound SPIs
 * (XFRM_MSG_ALLOCSPI) in [EG_XFRM_SPI_MIN, EG_XFRM_SPI_MAX], which it
 * guarantees unique per (destination, protocol) against every SA, ours or
 * not. It leaves a "larval" SA holding the SPI, which the kernel deletes by
 * itself after net.core.xfrm_acq_expires seconds (30 by default) unless
 * eg_xfrm_sa_add() with .update = true turns it into the real SA
 * (XFRM_MSG_UPDSA) before then. An IKE responder allocates in IKE_AUTH or
 * CREATE_CHILD_SA and installs right away, so 30 s is ample; if the larval
 * SA is already gone, eg_xfrm_sa_add() falls back to a plain add of the
 * same SPI.
 *
 * Limitation (kernel 6.1): SAs are identified by (daddr, spi, ESP) alone,
 * the if_id is not part of that key. Inbound SPIs are unique by
 * construction (ALLOCSPI); two outbound SAs of two sites that share one
 * public address (same NAT) and chose the same SPI would collide (-EEXIST).
 */
#ifndef EG_XFRM_H
#define EG_XFRM_H

#include <stdbool.h>
#include <stdint.h>

#ifndef EG_XFRM_SPI_MIN
#define EG_XFRM_SPI_MIN		0xc0000000u	/* inbound SPI range, host order */
#endif
#ifndef EG_XFRM_SPI_MAX
#define EG_XFRM_SPI_MAX		0xcfffffffu
#endif
#define EG_XFRM_REPLAY_MAX	4096	/* packets; the kernel's ESN bitmap limit */
#define EG_XFRM_ALG_NAME_MAX	64	/* incl. NUL, as in struct xfrm_algo */
#define EG_XFRM_ENC_KEY_MAX	36	/* AES-256 + 4-byte GCM salt */
#define EG_XFRM_AUTH_KEY_MAX	64	/* HMAC-SHA-512 */
#define EG_XFRM_ERRMSG_MAX	128

struct eg_xfrm;

enum eg_xfrm_alg_kind {
	EG_XFRM_AEAD = 1,	/* enc_* is an AEAD, auth_* unused */
	EG_XFRM_CRYPT_AUTH,	/* enc_* cipher + auth_* integrity */
};

/*
 * One ESP SA, tunnel mode, IPv4 in IPv4. The inner selector of the state is
 * left "any": in tunnel mode the policies (struct eg_xfrm_policy) decide
 * which inner traffic uses it.
 */
struct eg_xfrm_sa {
	uint32_t spi;			/* network order */
	uint32_t saddr, daddr;		/* outer endpoints, network order */
	uint16_t encap_sport;		/* UDP source port, host order */
	uint16_t encap_dport;		/* UDP dest port; both 0 = plain ESP */
	uint32_t reqid;			/* ties the SA to its policies' templates */
	uint32_t if_id;			/* XFRM interface id; 0 = none */
	uint32_t replay_window;		/* packets, <= EG_XFRM_REPLAY_MAX; 0 = off */
	bool esn;			/* 64-bit extended sequence numbers */
	bool update;			/* SPI came from eg_xfrm_spi_alloc() */
	enum eg_xfrm_alg_kind kind;
	/* kernel names: "rfc4106(gcm(aes))", "cbc(aes)", "ecb(cipher_null)" */
	char enc_name[EG_XFRM_ALG_NAME_MAX];
	uint8_t enc_key[EG_XFRM_ENC_KEY_MAX];
	unsigned int enc_key_len;	/* bytes, incl. the 4-byte salt for GCM */
	unsigned int icv_bits;		/* AEAD only: 64, 96 or 128 */
	/* "hmac(sha1)", "hmac(sha256)", "hmac(sha384)", "hmac(sha512)" */
	char auth_name[EG_XFRM_ALG_NAME_MAX];
	uint8_t auth_key[EG_XFRM_AUTH_KEY_MAX];
	unsigned int auth_key_len;	/* bytes */
	unsigned int auth_trunc_bits;	/* 96, 128, 192, 256 */
	/* lifetimes, 0 = unlimited; times count from installation */
	uint64_t soft_time, hard_time;		/* seconds */
	uint64_t soft_bytes, hard_bytes;
	uint64_t soft_packets, hard_packets;
};

/* Counters of one SA (XFRM_MSG_GETSA: curlft, stats, replay state). */
struct eg_xfrm_sa_stats {
	uint64_t bytes;			/* inner bytes processed */
	uint64_t packets;
	uint64_t add_time;		/* unix seconds of installation */
	uint64_t use_time;		/* unix seconds of first use, 0 = unused */
	uint64_t oseq;			/* last sequence number sent (outbound) */
	uint64_t seq;			/* highest sequence number received */
	uint32_t replay_drops;		/* packets dropped as replays */
	uint32_t replay_window_drops;	/* packets left of the window */
	uint32_t integrity_failed;	/* ICV check failures */
	uint32_t if_id;
	uint32_t reqid;
};

/*
 * One tunnel-mode policy. The selector is the inner traffic (TSi/TSr);
 * the template names the SA that must carry it (outer addresses + reqid).
 * For dir IN and FWD the template goes peer -> us, for OUT us -> peer.
 */
struct eg_xfrm_policy {
	uint8_t dir;			/* XFRM_POLICY_IN, _OUT or _FWD */
	uint8_t proto;			/* inner IP protocol, 0 = any */
	uint8_t sel_src_len, sel_dst_len;	/* prefix lengths, 0..32 */
	uint32_t sel_src, sel_dst;	/* inner prefixes, network order */
	uint32_t tmpl_saddr, tmpl_daddr;	/* outer endpoints, network order */
	uint32_t reqid;
	uint32_t if_id;			/* 0 = none */
	uint32_t priority;		/* lower wins */
};

/* What eg_xfrm_flush() and eg_xfrm_count() select on. */
enum eg_xfrm_match {
	EG_XFRM_BY_IF_ID = 1,		/* SAs and policies with this if_id */
	EG_XFRM_BY_REQID,		/* SAs with this reqid, policies whose
					 * template has it */
};

/* Open a NETLINK_XFRM socket in the caller's network namespace. */
int eg_xfrm_open(struct eg_xfrm **x);
void eg_xfrm_close(struct eg_xfrm *x);
/* Kernel text of the last refusal on this handle, "" if it gave none. */
const char *eg_xfrm_errmsg(const struct eg_xfrm *x);

/*
 * Reserve an inbound SPI for an SA saddr (peer) -> daddr (us), kernel-chosen
 * in [EG_XFRM_SPI_MIN, EG_XFRM_SPI_MAX]; *spi in network order. Install the
 * SA with .update = true within 30 s, or release it with eg_xfrm_sa_del().
 */
int eg_xfrm_spi_alloc(struct eg_xfrm *x, uint32_t saddr, uint32_t daddr,
		      uint32_t reqid, uint32_t if_id, uint32_t *spi);

/*
 * Install an SA (XFRM_MSG_NEWSA; -EEXIST if (daddr, spi) is taken). With
 * .update (XFRM_MSG_UPDSA) the SPI must come from eg_xfrm_spi_alloc() and
 * not be installed yet: on a live SA the kernel would only refresh its
 * lifetimes and encapsulation and keep its old keys.
 */
int eg_xfrm_sa_add(struct eg_xfrm *x, const struct eg_xfrm_sa *sa);
/* Remove the ESP SA (daddr, spi). -ESRCH if there is none. */
int eg_xfrm_sa_del(struct eg_xfrm *x, uint32_t spi, uint32_t daddr);
/* Read the counters of ESP SA (daddr, spi). -ESRCH if there is none. */
int eg_xfrm_sa_stats(struct eg_xfrm *x, uint32_t spi, uint32_t daddr,
		     struct eg_xfrm_sa_stats *st);
/* Wipe an SA description (keys included). */
void eg_xfrm_sa_wipe(struct eg_xfrm_sa *sa);

/*
 * Point the live ESP SA (daddr, spi) at new UDP encapsulation ports (a
 * NAT rebinding): the kernel's own state is read back (XFRM_MSG_GETSA)
 * and given again with the ports changed (XFRM_MSG_UPDSA), which on a
 * valid SA replaces only its encapsulation and lifetimes: keys, sequence
 * numbers and replay window carry on. -ESRCH if there is no such SA.
 */
int eg_xfrm_sa_set_encap(struct eg_xfrm *x, uint32_t spi, uint32_t daddr,
			 uint16_t sport, uint16_t dport);

/* Install a policy (XFRM_MSG_NEWPOLICY). -EEXIST if the same selector,
 * direction and if_id already has one. */
int eg_xfrm_policy_add(struct eg_xfrm *x, const struct eg_xfrm_policy *p);
/* Replace the policy with p's selector, direction and if_id, template
 * included (XFRM_MSG_UPDPOLICY; created if missing). */
int eg_xfrm_policy_update(struct eg_xfrm *x, const struct eg_xfrm_policy *p);
/* Remove the policy with p's dir, selector and if_id (rest ignored). */
int eg_xfrm_policy_del(struct eg_xfrm *x, const struct eg_xfrm_policy *p);

/*
 * Delete every SA (larval ones included) and every policy that matches;
 * returns how many were deleted, or -errno. val must not be 0.
 */
int eg_xfrm_flush(struct eg_xfrm *x, enum eg_xfrm_match by, uint32_t val);
/* Count what eg_xfrm_flush() would delete. Either pointer may be NULL. */
int eg_xfrm_count(struct eg_xfrm *x, enum eg_xfrm_match by, uint32_t val,
		  unsigned int *n_sa, unsigned int *n_policy);

/*
 * SA events: a separate handle joined to XFRMNLGRP_EXPIRE and
 * XFRMNLGRP_MAPPING. Poll eg_xfrm_monitor_fd() for input, then call
 * eg_xfrm_monitor_read(), which reads what is queued without blocking and
 * calls cb once per event. A hard expiry means the kernel has already
 * deleted the SA. A mapping event (XFRM_MSG_MAPPING) says that ESP of an
 * inbound UDP-encapsulated SA, its ICV verified, came from another source
 * address or port than the SA's: a NAT rebinding (the SA itself is as it
 * was; the keying daemon updates it).
 */
struct eg_xfrm_expire {
	uint32_t spi;			/* network order */
	uint32_t saddr, daddr;		/* network order */
	uint32_t reqid;
	uint32_t if_id;
	bool hard;			/* false: soft limit, time to rekey */
	bool mapping;			/* a mapping event, not an expiry */
	uint32_t new_saddr;		/* mapping: the new source, network order */
	uint16_t new_sport;		/* mapping: the new source port, host order */
};
typedef void (*eg_xfrm_expire_cb)(const struct eg_xfrm_expire *ev, void *arg);

int eg_xfrm_monitor_open(struct eg_xfrm **x);
int eg_xfrm_monitor_fd(const struct eg_xfrm *x);
/* Returns the number of events delivered (0 if none queued) or -errno;
 * -ENOBUFS means events were lost (socket overrun): resynchronise. */
int eg_xfrm_monitor_read(struct eg_xfrm *x, eg_xfrm_expire_cb cb, void *arg);

#endif /* EG_XFRM_H */
