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
#ifndef EG_SPI_IDX_BITS
#define EG_SPI_IDX_BITS	18	/* low SPI bits that index eg_spis */
#endif
#define EG_MAX_SPIS	(1U << EG_SPI_IDX_BITS)	/* inbound ESP SAs, all sites */
#ifndef EG_SRC_LOG2
#define EG_SRC_LOG2	20	/* 2^20 buckets (12 MiB) in eg_src */
#endif
#ifndef EG_MAX_VLAN
#define EG_MAX_VLAN	2	/* 802.1Q / 802.1ad tags we walk */
#endif

/* ipsecd's defaults for the classifier's IKE limit per site (--ike-rate,
 * --ike-burst): a handshake is 2-4 packets, more with IKE fragments */
#define EG_IKE_RATE_DEFAULT	10	/* packets per second, per CPU */
#define EG_IKE_BURST_DEFAULT	20

/* ---- UDP ports, host order --------------------------------------------- */
#define EG_PORT_IKE	500
#define EG_PORT_NATT	4500
#define EG_IKE_HDR_LEN	28	/* RFC 7296 3.1 fixed header */

/* ---- pinned maps --------------------------------------------------------- */
#define EG_PIN_ROOT	"/sys/fs/bpf/espgate"

/* Map names are also the pin file names: at most 15 characters. */
#define EG_MAP_SITES	"eg_sites"	/* hash: outer saddr -> site */
#define EG_MAP_SPIS	"eg_spis"	/* array: SPI's low bits -> its SA */
#define EG_MAP_SRC	"eg_src"	/* array: source hash -> its site */
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
 * eg_spis is an array indexed by the low EG_SPI_IDX_BITS of the SPI (host
 * order): ipsecd picks every inbound SPI itself, so it picks one whose
 * index is free, and ESP from a known site costs one array lookup (which
 * the verifier inlines) instead of a hash lookup. The entry repeats the
 * whole SPI (0: free) and the owner's source address, both compared; the
 * owner's slot spares a second lookup. ipsecd keeps entries only for SAs of
 * enabled sites (disabling a site deletes its SAs first), writes the spi
 * word after the others when it adds an entry and before them when it
 * frees one, and the program reads it first.
 */
struct eg_spi {
	__u32 saddr;	/* the owning site's source address, network order */
	__u32 site_id;	/* the site whose inbound SA owns this SPI */
	__u32 slot;	/* that site's eg_site_ctr slot */
	__u32 spi;	/* the SPI, network order as on the wire; 0: free */
};

static __inline __u32 eg_spi_idx(__u32 spi_host)
{
	return spi_host & (EG_MAX_SPIS - 1);
}

/*
 * eg_src: the sites by a hash of their source address, read before eg_sites
 * so that neither a packet from nobody's address (a spoofed flood) nor a
 * keepalive or IKE packet from a site costs a hash lookup, only one inlined
 * array lookup. A bucket is empty (flags 0: no site has an address that
 * hashes here, drop), holds the one site whose address hashes here
 * (EG_SRC_ONE: the address, its slot and EG_SITE_ENABLED), or is shared
 * (EG_SRC_MANY: look in eg_sites). Fibonacci hashing of the address as it
 * is on the wire; with 100,000 sites 9% of them share a bucket.
 *
 * ipsecd changes a bucket in steps that each change either the flags word
 * alone or only the fields the current flags say to ignore, and the
 * program reads the flags first: it never acts on a half-written bucket.
 */
struct eg_src {
	__u32 saddr;	/* EG_SRC_ONE: the site's source address */
	__u32 slot;	/* EG_SRC_ONE: its eg_site_ctr slot */
	__u32 flags;	/* EG_SRC_ONE or EG_SRC_MANY, | EG_SITE_ENABLED */
};

#define EG_SRC_ONE	(1U << 30)
#define EG_SRC_MANY	(1U << 31)
#define EG_SRC_BUCKETS	(1U << EG_SRC_LOG2)

static __inline __u32 eg_src_hash(__u32 saddr)
{
	return (__u32)(saddr * 2654435769U) >> (32 - EG_SRC_LOG2);
}

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
	__u64 drop_ike_rate;	/* IKE over the site's rate (ike_rate) */
	__u64 ike_tb_ns;	/* IKE token bucket: last refill (this CPU) */
	__u64 ike_tokens;	/*   and its tokens, in thousandths */
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
	EG_DROP_IKE_RATE,	/* IKE from a site over its rate (a flood) */
	EG_REASON_MAX
};

/* Printable names, same order as enum eg_reason (userspace only). */
#define EG_REASON_NAMES {						\
	"pass_not_ipv4", "pass_not_udp", "pass_other_port",		\
	"pass_not_local", "pass_ike", "pass_ike_natt", "pass_esp",	\
	"pass_frag", "drop_keepalive", "drop_unknown_src",		\
	"drop_disabled", "drop_bad_spi", "drop_raw_esp",		\
	"drop_frag_unknown", "drop_malformed", "drop_ike_rate" }

/* Reasons below this pass, at or above it drop. */
#define EG_FIRST_DROP	EG_DROP_KEEPALIVE

/* ======================================================================== *
 * inner (TC) program: bpf/tc_inner.bpf.c                                   *
 *                                                                          *
 * Decrypted packets of one site, at clsact ingress of its xfrm interface   *
 * eg-x<site_id>. Per-site limits (flows, devices), license classes,        *
 * probe keepalives, endpoint stickiness. ipsecd fills eg_ifsite, reuses     *
 * eg_site_ctr from the XDP program, and sweeps eg_flows/eg_devs once a     *
 * second with eg_flows_sweep() (user/flows.h).                             *
 * ======================================================================== */

#ifndef EG_MAX_FLOWS
#define EG_MAX_FLOWS	1000000	/* eg_flows: concurrent flows, whole POP */
#endif
#ifndef EG_MAX_DEVS
#define EG_MAX_DEVS	1000000	/* eg_devs: live devices, whole POP */
#endif
#ifndef EG_MAX_CPORTS
#define EG_MAX_CPORTS	32	/* custom web-gateway TCP ports per site (= the store's EG_MAX_CUSTOM_PORTS) */
#endif

/* Seed defaults ("Limits"); each site may override them in eg_isite. */
#define EG_DEF_FLOW_CAP	10000	/* concurrent flows per site */
#define EG_DEF_DEV_CAP	10000	/* distinct inner sources per site (older
				 * public docs: 16000, hence a setting) */

#define EG_MAP_IFSITE	"eg_ifsite"	/* hash: xfrmi ifindex -> eg_isite */
#define EG_MAP_FLOWS	"eg_flows"	/* hash: eg_flow_key -> eg_flow */
#define EG_MAP_DEVS	"eg_devs"	/* hash: eg_dev_key -> eg_dev */
#define EG_MAP_IN_CNT	"eg_in_cnt"	/* array (mmapable): slot -> counts */
#define EG_MAP_IN_STATS	"eg_in_stats"	/* percpu array: reason -> eg_ctr */
#define EG_MAP_IN_CTR	"eg_in_ctr"	/* percpu hash: slot -> eg_in_ctr */
/* eg_site_ctr (above) is shared: the probe stamps its last_alive_ns. */

/* eg_isite.flags: the site's license. Neither bit: only probes pass. */
#define EG_LIC_WEB	(1U << 0)	/* TCP 80, 443 and ports[] */
#define EG_LIC_FW	(1U << 1)	/* any TCP, UDP, ICMP */

/* eg_ifsite key: __u32 ifindex of the site's xfrm interface, host order. */
struct eg_isite {
	__u32 site_id;	/* sites.id in the store (= the xfrmi if_id) */
	__u32 slot;	/* the site's eg_site_ctr slot; also the key of eg_in_ctr,
			 * the index of eg_in_cnt, part of every flow/device key */
	__u32 flags;	/* EG_LIC_* */
	__u32 flow_cap;	/* 0: eg_in_cfg.flow_cap */
	__u32 dev_cap;	/* 0: eg_in_cfg.dev_cap */
	__u32 probe_ip;	/* the POP's probe IP, network order; 0: none */
	__u16 n_ports;	/* entries used in ports[] */
	__u16 ports[EG_MAX_CPORTS];	/* custom TCP ports, host order */
	__u16 pad;
};

/*
 * Idle timeout classes. A flow stores its class; userspace and BPF apply
 * the same rule to it: expired iff now - last_seen > to_ns[class]
 * (eg_in_expired()). Devices use EG_TO_DEV.
 */
enum eg_to {
	EG_TO_TCP_SYN = 0,	/* only SYNs seen from the site so far */
	EG_TO_TCP_EST,		/* TCP without FIN */
	EG_TO_TCP_FIN,		/* the site sent FIN: closing */
	EG_TO_UDP,
	EG_TO_ICMP,		/* echo requests, by id */
	EG_TO_DEV,		/* a device with no packet for this long */
	EG_TO_MAX
};

#define EG_NS		1000000000ULL
#define EG_TO_TCP_SYN_S	30
#define EG_TO_TCP_EST_S	300
#define EG_TO_TCP_FIN_S	30
#define EG_TO_UDP_S	60
#define EG_TO_ICMP_S	30
#define EG_TO_DEV_S	310	/* > every flow class + 2 epochs (below) */

/*
 * An existing flow refreshes its device at most once per 2^30 ns epoch
 * (the first packet whose epoch differs from the flow's previous one), so
 * a device's last_seen lags its flows' by < 1.08 s: EG_TO_DEV must exceed
 * the longest flow timeout by more than that (eg_in_cfg_check()).
 */
#define EG_DEV_EPOCH_SHIFT	30

/*
 * The inner program's settings: rodata `eg_cfg` (set before load) and the
 * same struct handed to the sweeper, so both apply the same timeouts.
 */
struct eg_in_cfg {
	__u64 to_ns[EG_TO_MAX];	/* idle timeouts, ns, by enum eg_to */
	__u32 flow_cap;		/* per-site default when eg_isite's is 0 */
	__u32 dev_cap;		/* idem */
};

#define EG_IN_CFG_DEFAULT {						\
	.to_ns = { EG_TO_TCP_SYN_S * EG_NS, EG_TO_TCP_EST_S * EG_NS,	\
		   EG_TO_TCP_FIN_S * EG_NS, EG_TO_UDP_S * EG_NS,	\
		   EG_TO_ICMP_S * EG_NS, EG_TO_DEV_S * EG_NS },		\
	.flow_cap = EG_DEF_FLOW_CAP, .dev_cap = EG_DEF_DEV_CAP }

/*
 * The expiry rule, shared. Times are CLOCK_MONOTONIC ns
 * (bpf_ktime_get_coarse_ns() in BPF, clock_gettime() in ipsecd); signed
 * so that a last_seen a tick ahead of a coarser `now` is not "expired".
 */
static inline int eg_in_expired(__u64 now, __u64 last_seen, __u64 to_ns)
{
	return (__s64)(now - last_seen) > (__s64)to_ns;
}

/*
 * eg_flows key: one flow of one site (sites may share inner addresses).
 * TCP and UDP: the 5-tuple. ICMP: echo requests by identifier
 * (sport = id, dport = 0). Written zero-padded.
 */
struct eg_flow_key {
	__u32 slot;	/* the site's slot, host order */
	__u32 saddr;	/* inner source, network order */
	__u32 daddr;	/* inner destination, network order */
	__u16 sport;	/* network order; ICMP: echo id */
	__u16 dport;	/* network order; ICMP: 0 */
	__u8 proto;	/* IPPROTO_TCP, _UDP, _ICMP */
	__u8 pad[3];
};

/* eg_flows value. */
struct eg_flow {
	__u64 last_seen;	/* ns, last packet from the site */
	__u8 tclass;		/* enum eg_to, < EG_TO_DEV */
	__u8 pad[7];
};

/* eg_devs key: one device (inner source address) of one site. */
struct eg_dev_key {
	__u32 slot;	/* host order */
	__u32 saddr;	/* network order */
};

/*
 * eg_devs value. `tunnel` is the reqid of the xfrm state the device was
 * last seen on (0: unknown); a change while the device is live counts a
 * move (the seed: no load balancing of an endpoint across tunnels).
 */
struct eg_dev {
	__u64 last_seen;	/* ns, last refresh (see EG_DEV_EPOCH_SHIFT) */
	__u32 tunnel;		/* current reqid */
	__u32 prev_tunnel;	/* the reqid before the last move */
	__u32 moves;		/* moves seen while live */
	__u32 pad;
};

/*
 * eg_in_cnt value: exact current counts of a site. Changed only with
 * atomic adds, by BPF (new entries; RST) and by the sweeper through an
 * mmap of the map (deletions): an entry's slot is given back exactly when
 * bpf_map_delete_elem() on it succeeds, whoever called it.
 */
struct eg_in_cnt {
	__u64 flows;	/* entries of this slot in eg_flows */
	__u64 devs;	/* entries of this slot in eg_devs */
};

/*
 * Why an inner packet got its verdict: eg_in_stats is indexed by this,
 * eg_in_ctr.drop[] by (reason - EG_IN_FIRST_DROP). Append only.
 */
enum eg_in_reason {
	EG_IN_PASS_FLOW = 0,	/* packet of a live flow */
	EG_IN_PASS_NEW,		/* first packet of a flow: slot taken */
	EG_IN_PASS_CLOSE,	/* TCP RST of a flow: flow deleted */
	EG_IN_PASS_NOFLOW,	/* allowed, no flow: RST of no flow, ICMP
				 * other than echo request */
	EG_IN_PASS_FRAG,	/* non-first fragment, protocol allowed */
	EG_IN_PASS_PROBE,	/* ICMP echo request to the probe IP */
	EG_IN_DROP_NO_SITE,	/* ifindex not in eg_ifsite (or bad slot) */
	EG_IN_DROP_NOT_IPV4,	/* skb->protocol is not IPv4 */
	EG_IN_DROP_MALFORMED,	/* truncated or inconsistent headers */
	EG_IN_DROP_LIC_PROTO,	/* protocol not in the site's license */
	EG_IN_DROP_LIC_PORT,	/* web gateway: TCP port not 80/443/custom */
	EG_IN_DROP_FLOW_CAP,	/* new flow beyond the site's flow cap */
	EG_IN_DROP_DEV_CAP,	/* new device beyond the site's device cap */
	EG_IN_DROP_TABLE,	/* eg_flows or eg_devs full (POP-wide, -E2BIG) */
	EG_IN_DROP_BUSY,	/* map bucket locked by a userspace delete on
				 * this CPU (-EBUSY): transient, the sender
				 * retransmits */
	EG_IN_DROP_MAP_ERR,	/* the insert failed otherwise: not "full" */
	EG_IN_REASON_MAX
};

#define EG_IN_FIRST_DROP	EG_IN_DROP_NO_SITE
#define EG_IN_NDROP		(EG_IN_REASON_MAX - EG_IN_FIRST_DROP)

#define EG_IN_REASON_NAMES {						\
	"pass_flow", "pass_new", "pass_close", "pass_noflow",		\
	"pass_frag", "pass_probe", "drop_no_site", "drop_not_ipv4",	\
	"drop_malformed", "drop_license_proto", "drop_license_port",	\
	"drop_flow_cap", "drop_dev_cap", "drop_table_full",		\
	"drop_table_busy", "drop_map_error" }

/*
 * eg_in_ctr value, one per CPU; userspace sums (max for the time).
 * bytes are the inner packets' IP total length.
 */
struct eg_in_ctr {
	__u64 pkts;		/* passed, any EG_IN_PASS_* */
	__u64 bytes;
	__u64 new_flows;	/* flows created */
	__u64 new_devs;		/* devices created */
	__u64 moves;		/* a live device seen on another tunnel */
	__u64 probes;		/* ICMP echo requests to the probe IP */
	__u64 last_probe_ns;	/* the last of those, bpf_ktime_get_coarse_ns */
	__u64 drop[EG_IN_NDROP];	/* by reason - EG_IN_FIRST_DROP */
};

#endif /* ESPGATE_H */
