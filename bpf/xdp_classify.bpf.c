// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_classify.bpf.c - the POP NIC's site classifier.
 *
 * Per packet, by outer source IPv4 address: does it belong to a known,
 * enabled site? IKE (UDP 500, UDP 4500 with the non-ESP marker) and
 * ESP-in-UDP from such a site pass to the kernel (ipsecd, XFRM); NAT-T
 * keepalives are timed and dropped; everything else aimed at 500/4500
 * is dropped before the stack sees it. Traffic that is not ours (IPv6,
 * other protocols and ports) passes untouched. Every verdict goes through
 * eg_exit(), which counts it per reason in a per-CPU array.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "espgate.h"

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88A8
#define IPPROTO_UDP_	17
#define IPPROTO_ESP_	50
#define IP_MF		0x2000	/* more fragments, host order */
#define IP_OFFMASK	0x1fff	/* fragment offset, host order */

/* Knobs set by ipsecd before load (rodata). */
const volatile __u32 local_addr = 0;	/* our IKE address, network order; 0 = any */
/* IKE packets a site may send per second (per CPU), and in a burst; 0: no
 * limit. A branch needs a few per handshake; a flood from a site's address
 * (spoofed, or a broken or hostile box) is cut here, before the socket
 * queue it would otherwise fill for every other site. */
const volatile __u32 ike_rate = 0;
const volatile __u32 ike_burst = 0;

/* eg_sites: outer source address (network order) -> site. Filled by ipsecd. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EG_MAX_SITES);
	__type(key, __u32);
	__type(value, struct eg_site);
} eg_sites SEC(".maps");

/* eg_spis: eg_spi_idx(SPI) -> the inbound SA. Filled by ipsecd. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EG_MAX_SPIS);
	__type(key, __u32);
	__type(value, struct eg_spi);
} eg_spis SEC(".maps");

/* eg_src: the sites by a hash of their source address (espgate.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EG_SRC_BUCKETS);
	__type(key, __u32);
	__type(value, struct eg_src);
} eg_src SEC(".maps");

/* eg_stats: enum eg_reason -> packets/bytes, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EG_REASON_MAX);
	__type(key, __u32);
	__type(value, struct eg_ctr);
} eg_stats SEC(".maps");

/* eg_site_ctr: site slot -> per-site counters, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EG_MAX_SITES);
	__type(key, __u32);
	__type(value, struct eg_site_ctr);
} eg_site_ctr SEC(".maps");

/* Cursor over the packet, as in xdp-tools' parsing helpers. */
struct cursor {
	void *pos;
	void *end;
};

struct vlan_hdr_ {
	__be16 tci;
	__be16 proto;
};

/* The one exit: count the reason, return the verdict it implies. */
static __always_inline int eg_exit(struct xdp_md *ctx, enum eg_reason r)
{
	__u32 key = r;
	struct eg_ctr *c = bpf_map_lookup_elem(&eg_stats, &key);

	if (c) {
		c->pkts++;
		c->bytes += ctx->data_end - ctx->data;
	}
	return r < EG_FIRST_DROP ? XDP_PASS : XDP_DROP;
}

/* Ethernet plus up to EG_MAX_VLAN tags; returns the inner EtherType (network
 * order) or 0 when the frame is too short. */
static __always_inline __be16 parse_eth(struct cursor *c)
{
	struct ethhdr *eth = c->pos;
	__be16 proto;
	int i;

	if ((void *)(eth + 1) > c->end)
		return 0;
	proto = eth->h_proto;
	c->pos = eth + 1;
#pragma unroll
	for (i = 0; i < EG_MAX_VLAN; i++) {
		struct vlan_hdr_ *vh = c->pos;

		if (proto != bpf_htons(ETH_P_8021Q) &&
		    proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > c->end)
			return 0;
		proto = vh->proto;
		c->pos = vh + 1;
	}
	return proto;
}

#define barrier()	asm volatile("" ::: "memory")

/*
 * The site whose source address is saddr: 1 and its slot and flags, or 0.
 * One array lookup, and a hash lookup only for a bucket several sites
 * share. The flags word is read first, then the fields it vouches for.
 */
static __always_inline int site_find(__u32 saddr, __u32 *slot, __u32 *flags)
{
	__u32 h = eg_src_hash(saddr), f;
	struct eg_src *e = bpf_map_lookup_elem(&eg_src, &h);
	struct eg_site *site;

	if (!e)
		return 0;
	f = *(volatile __u32 *)&e->flags;
	barrier();
	if (!(f & EG_SRC_MANY)) {
		if (!(f & EG_SRC_ONE) || e->saddr != saddr)
			return 0;
		*slot = e->slot;
		*flags = f;
		return 1;
	}
	site = bpf_map_lookup_elem(&eg_sites, &saddr);
	if (!site)
		return 0;
	*slot = site->slot;
	*flags = site->flags;
	return 1;
}

/* One token of the site's IKE bucket on this CPU, refilled at ike_rate/s
 * up to ike_burst (in thousandths of a token: integer arithmetic). */
static __always_inline int ike_allowed(struct eg_site_ctr *sc)
{
	__u64 now, t;

	if (!ike_rate)
		return 1;
	now = bpf_ktime_get_coarse_ns();
	t = now - sc->ike_tb_ns;
	if (t > 10000000000ULL)		/* 10 s refill the bucket anyway */
		t = 10000000000ULL;
	t = sc->ike_tokens + t * ike_rate / 1000000;
	if (t > (__u64)ike_burst * 1000)
		t = (__u64)ike_burst * 1000;
	sc->ike_tb_ns = now;
	if (t < 1000) {
		sc->ike_tokens = t;
		sc->drop_ike_rate++;
		return 0;
	}
	sc->ike_tokens = t - 1000;
	return 1;
}

static __always_inline void site_seen(struct eg_site_ctr *sc)
{
	sc->last_alive_ns = bpf_ktime_get_coarse_ns();
}

SEC("xdp")
int xdp_classify(struct xdp_md *ctx)
{
	struct cursor c = { .pos = (void *)(long)ctx->data,
			    .end = (void *)(long)ctx->data_end };
	__u64 len = ctx->data_end - ctx->data;
	struct eg_site_ctr *sc;
	struct iphdr *iph;
	struct udphdr *udp;
	__u8 *payload;
	__u16 frag, dport;
	__u32 ihl, saddr, slot, sflags;
	__be16 proto;

	proto = parse_eth(&c);
	if (!proto)
		return eg_exit(ctx, EG_DROP_MALFORMED);
	if (proto != bpf_htons(ETH_P_IP))
		return eg_exit(ctx, EG_PASS_NOT_IPV4);

	iph = c.pos;
	if ((void *)(iph + 1) > c.end)
		return eg_exit(ctx, EG_DROP_MALFORMED);
	/* IHL below 5 is not IPv4; options (IHL 6..15) are skipped whole. */
	ihl = iph->ihl * 4;
	if (iph->version != 4 || ihl < sizeof(*iph) ||
	    c.pos + ihl > c.end || bpf_ntohs(iph->tot_len) < ihl)
		return eg_exit(ctx, EG_DROP_MALFORMED);

	/* Raw ESP: NAT-T is mandatory, whoever sends it. */
	if (iph->protocol == IPPROTO_ESP_)
		return eg_exit(ctx, EG_DROP_RAW_ESP);
	if (iph->protocol != IPPROTO_UDP_)
		return eg_exit(ctx, EG_PASS_NOT_UDP);

	saddr = iph->saddr;
	frag = bpf_ntohs(iph->frag_off);
	/*
	 * A non-first fragment has no UDP header to classify. Let the
	 * kernel reassemble it only when the source is a known, enabled
	 * site; anyone else's fragments are dropped here (the first
	 * fragment of the same datagram is classified like any packet).
	 */
	if (frag & IP_OFFMASK) {
		if (!site_find(saddr, &slot, &sflags))
			return eg_exit(ctx, EG_DROP_FRAG_UNKNOWN);
		if (!(sflags & EG_SITE_ENABLED))
			return eg_exit(ctx, EG_DROP_DISABLED);
		return eg_exit(ctx, EG_PASS_FRAG);
	}

	udp = c.pos + ihl;
	if ((void *)(udp + 1) > c.end)
		return eg_exit(ctx, EG_DROP_MALFORMED);
	dport = bpf_ntohs(udp->dest);
	if (dport != EG_PORT_IKE && dport != EG_PORT_NATT)
		return eg_exit(ctx, EG_PASS_OTHER_PORT);
	if (local_addr && iph->daddr != local_addr)
		return eg_exit(ctx, EG_PASS_NOT_LOCAL);

	payload = (__u8 *)(udp + 1);
	/*
	 * ESP-in-UDP first, as it is nearly all the traffic: one array
	 * lookup by SPI answers both "is this SA ours" and "does it belong to
	 * the site this source is" (RFC 3948 2.2: a non-zero first word is
	 * the SPI).
	 */
	if (dport == EG_PORT_NATT && (void *)payload + 8 <= c.end &&
	    *(__u32 *)payload != 0 && udp->len != bpf_htons(sizeof(*udp) + 1)) {
		__u32 spi = *(__u32 *)payload;
		__u32 idx = eg_spi_idx(bpf_ntohl(spi));
		struct eg_spi *sa = bpf_map_lookup_elem(&eg_spis, &idx);

		/* the spi word first: it vouches for the rest (espgate.h) */
		if (sa && *(volatile __u32 *)&sa->spi == spi) {
			barrier();
			if (sa->saddr == saddr) {
				slot = sa->slot;
				sc = bpf_map_lookup_elem(&eg_site_ctr, &slot);
				if (sc) {
					sc->esp_pkts++;
					sc->rx_bytes += len;
				}
				return eg_exit(ctx, EG_PASS_ESP);
			}
		}
	}

	/* Everything else is judged by the site the source belongs to. */
	if (!site_find(saddr, &slot, &sflags))
		return eg_exit(ctx, EG_DROP_UNKNOWN_SRC);
	sc = bpf_map_lookup_elem(&eg_site_ctr, &slot);
	if (!sc)	/* slot out of range: ipsecd bug, fail closed */
		return eg_exit(ctx, EG_DROP_UNKNOWN_SRC);
	if (!(sflags & EG_SITE_ENABLED)) {
		sc->drop_disabled++;
		return eg_exit(ctx, EG_DROP_DISABLED);
	}

	if (dport == EG_PORT_IKE) {
		/* RFC 7296 3.1: IKE header; ipsecd validates the rest. */
		if ((void *)payload + EG_IKE_HDR_LEN > c.end)
			return eg_exit(ctx, EG_DROP_MALFORMED);
		if (!ike_allowed(sc))
			return eg_exit(ctx, EG_DROP_IKE_RATE);
		sc->ike_pkts++;
		sc->rx_bytes += len;
		site_seen(sc);
		return eg_exit(ctx, EG_PASS_IKE);
	}

	/*
	 * RFC 3948 2.3: a single 0xFF byte is a NAT-T keepalive. Judge the
	 * size by the UDP length, not data_end: short frames arrive padded
	 * to the Ethernet minimum.
	 */
	if ((void *)(payload + 1) > c.end)
		return eg_exit(ctx, EG_DROP_MALFORMED);
	if (udp->len == bpf_htons(sizeof(*udp) + 1) && payload[0] == 0xff) {
		sc->keepalives++;
		site_seen(sc);
		return eg_exit(ctx, EG_DROP_KEEPALIVE);
	}

	/* ESP needs SPI + sequence; SPI 0 is the non-ESP marker. */
	if ((void *)payload + 8 > c.end)
		return eg_exit(ctx, EG_DROP_MALFORMED);
	if (*(__u32 *)payload == 0) {
		if ((void *)payload + 4 + EG_IKE_HDR_LEN > c.end)
			return eg_exit(ctx, EG_DROP_MALFORMED);
		if (!ike_allowed(sc))
			return eg_exit(ctx, EG_DROP_IKE_RATE);
		sc->ike_pkts++;
		sc->rx_bytes += len;
		site_seen(sc);
		return eg_exit(ctx, EG_PASS_IKE_NATT);
	}
	/* An SPI that is no SA of this site (checked above). */
	sc->drop_bad_spi++;
	return eg_exit(ctx, EG_DROP_BAD_SPI);
}

char LICENSE[] SEC("license") = "GPL";
