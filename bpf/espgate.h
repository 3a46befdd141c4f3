/* SPDX-License-Identifier: GPL-2.0 */
/*
 * espgate.h - the one header shared by the BPF programs, ipsecd and ipsecctl.
 *
 * Plain fixed-width types only. BPF includes it after vmlinux.h, userspace
 * after <linux/types.h>. Every map name, pin path, limit and counter index is
 * defined here once; nothing is retyped on either side.
 */
#ifndef ESPGATE_H
#define ESPGATE_H

/* ---- limits (each overridable at build time) ---------------------------- */

#ifndef EG_MAX_SITES
#define EG_MAX_SITES	131072	/* entries in eg_sites and eg_site_ctr */
#endif
#ifndef EG_MAX_SPIS
#define EG_MAX_SPIS	262144	/* inbound ESP SAs over all sites */
#endif
#ifndef EG_MAX_VLAN
#define EG_MAX_VLAN	2	/* 802.1Q / 802.1ad tags we walk */
#endif

/* ---- UDP ports, host order --------------------------------------------- */
#define EG_PORT_IKE	500
#define EG_PORT_NATT	4500
#define EG_IKE_HDR_LEN	28	/* RFC 7296 3.1 fixed header */

/* ---- pinned maps --------------------------------------------------------- */
#define EG_PIN_ROOT	"/sys/fs/bpf/espgate"

/* Map names are also the pin file names: at most 15 characters. */
#define EG_MAP_SITES	"eg_sites"	/* hash: outer saddr -> site */
#define EG_MAP_SPIS	"eg_spis"	/* hash: inbound SPI -> owning site */
#define EG_MAP_STATS	"eg_stats"	/* percpu array: reason -> ctr */
#define EG_MAP_SITE_CTR	"eg_site_ctr"	/* percpu array: site slot -> ctr */

/* eg_sites key: __u32 source IPv4 address, network byte order. */
struct eg_site {
	__u32 site_id;	/* sites.id in the store */
	__u32 slot;	/* index into eg_site_ctr, [0, EG_MAX_SITES) */
	__u32 flags;	/* EG_SITE_* */
	__u32 pad;
};

#define EG_SITE_ENABLED	(1U << 0)

/*
 * eg_spis key: __u32 SPI, network byte order, as it appears on the wire.
 * The value repeats the owner's source address and slot so that ESP from a
 * known site costs one hash lookup; ipsecd keeps entries only for SAs of
 * enabled sites (disabling a site deletes its SAs first).
 */
struct eg_spi {
	__u32 saddr;	/* the owning site's source address, network order */
	__u32 site_id;	/* the site whose inbound SA owns this SPI */
	__u32 slot;	/* that site's eg_site_ctr slot */
	__u32 pad;
};

/*
 * eg_site_ctr value, one per CPU; userspace sums (max for the times).
 * Packets passed = ike_pkts + esp_pkts.
 */
struct eg_site_ctr {
	__u64 rx_bytes;		/* frame bytes of IKE and ESP passed */
	__u64 ike_pkts;		/* IKE on 500 or 4500 with the marker */
	__u64 esp_pkts;		/* ESP-in-UDP with a known SPI */
	__u64 keepalives;	/* NAT-T keepalives (dropped after counting) */
	__u64 drop_disabled;	/* anything from this site while disabled */
	__u64 drop_bad_spi;	/* ESP whose SPI is not this site's */
	__u64 last_alive_ns;	/* bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC
				 * base) of the last keepalive or IKE packet */
};

/* eg_stats value, one per CPU. */
struct eg_ctr {
	__u64 pkts;
	__u64 bytes;
};

/*
 * Why a packet got its verdict. eg_stats is indexed by this; the verdict is
 * implied by the reason (eg_reason_action() in the program, the table in
 * ipsecctl). Append only: the numbers are the array indexes.
 */
enum eg_reason {
	EG_PASS_NOT_IPV4 = 0,	/* IPv6, ARP, ...: not ours, untouched */
	EG_PASS_NOT_UDP,	/* IPv4 but not UDP (and not ESP) */
	EG_PASS_OTHER_PORT,	/* UDP to a port other than 500/4500 */
	EG_PASS_NOT_LOCAL,	/* UDP 500/4500 to another address */
	EG_PASS_IKE,		/* IKE on 500 from an enabled site */
	EG_PASS_IKE_NATT,	/* IKE with non-ESP marker on 4500 */
	EG_PASS_ESP,		/* ESP-in-UDP, SPI is the site's */
	EG_PASS_FRAG,		/* non-first fragment from a known site */
	EG_DROP_KEEPALIVE,	/* NAT-T keepalive: time recorded, dropped */
	EG_DROP_UNKNOWN_SRC,	/* source is no configured site */
	EG_DROP_DISABLED,	/* site is disabled */
	EG_DROP_BAD_SPI,	/* SPI not an inbound SA of this site */
	EG_DROP_RAW_ESP,	/* IP proto 50: NAT-T is mandatory */
	EG_DROP_FRAG_UNKNOWN,	/* non-first fragment, unknown source */
	EG_DROP_MALFORMED,	/* truncated or inconsistent headers */
	EG_REASON_MAX
};

/* Printable names, same order as enum eg_reason (userspace only). */
#define EG_REASON_NAMES {						\
	"pass_not_ipv4", "pass_not_udp", "pass_other_port",		\
	"pass_not_local", "pass_ike", "pass_ike_natt", "pass_esp",	\
	"pass_frag", "drop_keepalive", "drop_unknown_src",		\
	"drop_disabled", "drop_bad_spi", "drop_raw_esp",		\
	"drop_frag_unknown", "drop_malformed" }

/* Reasons below this pass, at or above it drop. */
#define EG_FIRST_DROP	EG_DROP_KEEPALIVE

#endif /* ESPGATE_H */
