// SPDX-License-Identifier: GPL-2.0
/*
 * tc_inner.bpf.c - per-site limits on decrypted (inner) traffic.
 *
 * Where it runs: TC (clsact) ingress of each site's xfrm interface
 * eg-x<site_id>. XDP cannot see inside ESP (it runs before XFRM decrypts);
 * an xfrm interface has no native XDP, and generic XDP there would only
 * add an skb->xdp round trip; netfilter would see the packet after the
 * VRF/route lookup and needs conntrack for state. TC ingress on the xfrmi
 * sees every decrypted inner packet of exactly one site (its if_id), before
 * routing and conntrack, with the secpath still attached (so the xfrm state
 * it came through is known), and the site is just the ifindex.
 *
 * Per packet: site by ifindex (eg_ifsite); IPv4 headers; the ICMP probe to
 * the POP's probe IP always passes and stamps the site alive; the license
 * decides the protocol/port; then the flow (eg_flows) and its device
 * (eg_devs) are found or created under the site's caps. Every verdict goes
 * through in_exit(), which counts it per reason and per site.
 *
 * Flow table: a plain hash, not an LRU. An LRU evicts silently (and may do
 * so before it is full, from its per-CPU free lists), so a per-site count
 * kept beside it drifts, and one site's new flows would evict another
 * site's. Here entries leave only by bpf_map_delete_elem() - the program on
 * TCP RST, the sweeper in ipsecd on idle timeout - and whoever's delete
 * succeeds decrements the site's count, exactly once. An expired entry the
 * sweeper has not reached yet is revived by its next packet: it still holds
 * its slot, so the count stays exact.
 *
 * eg_flows and eg_devs are preallocated: the POP's whole capacity (1M flows,
 * 1M devices: 105 + 97 MB, bench_tc) is committed at load, so a flood of new
 * flows never meets a failing allocator, and an insert is a free-list pop
 * (bench_tc: 460-510 ns per new flow against 650-800 with
 * BPF_F_NO_PREALLOC, 1M expired flows deleted 2x faster, lookups the
 * same). NO_PREALLOC would only save memory while the tables are not full.
 * Either way (since 6.1 both recycle deleted elements at once) a store
 * through a looked-up pointer can land in an element a concurrent delete
 * just handed to another flow; the stores here are last_seen, tclass and a
 * device's tunnel/moves, so the worst case is another flow or device
 * refreshed or its class changed once - never a count, which moves only
 * with a successful insert or delete.
 *
 * The per-site counts (eg_in_cnt) are the one place with atomics: a cap is
 * a global property of the site, checked on CPU x while CPU y or the
 * sweeper frees slots, which per-CPU counters cannot answer exactly. They
 * are touched only when an entry is created or deleted, never for packets
 * of existing flows. A new flow reserves its slot first (fetch-and-add,
 * compare, undo on failure), so concurrent creators can never overshoot.
 *
 * Headers are read with bpf_skb_load_bytes_relative(BPF_HDR_START_NET),
 * not through skb->data: at xfrmi ingress skb->data starts at a copy of the
 * outer MAC header when the ESP came in on Ethernet (tunnel-mode decap
 * rebuilds mac_len bytes of it with the inner EtherType, and TC pushes
 * mac_len back: 14 bytes seen on Debian's 6.1 with NAT-T), at the IP header
 * when it did not, and BPF_PROG_TEST_RUN always hands TC 14 bytes of
 * Ethernet. The network header offset is the one thing every path agrees
 * on; skb->protocol (set by XFRM, or by test_run from the EtherType) says
 * IPv4. Byte counters use the inner IP total length for the same reason.
 *
 * Only the site's side of a connection passes this hook (the POP's replies
 * leave by the xfrmi's egress): a TCP RST from the site ends its flow at
 * once, a FIN from the site moves it to the short closing timeout, and a
 * connection the POP side closes ends by idle timeout.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "espgate.h"

#define TC_ACT_OK	0
#define TC_ACT_SHOT	2
#define ETH_P_IP	0x0800
#define IP_OFFMASK	0x1fff	/* fragment offset, host order */
#define ICMP_ECHO_	8	/* echo request */
#define TCP_FIN_	0x01
#define TCP_SYN_	0x02
#define TCP_RST_	0x04
#define TCP_ACK_	0x10
#define EG_PULL_LEN	128	/* L2 copy + max IPv4 + TCP, with room */
#define EFAULT_		14
#define EEXIST_		17
#define EBUSY_		16
#define E2BIG_		7

/* Why an insert into eg_flows or eg_devs failed: only -E2BIG is a full
 * table (a preallocated map whose free list is empty). */
static __always_inline int insert_err(int err)
{
	return err == -EBUSY_ ? EG_IN_DROP_BUSY :
	       err == -E2BIG_ ? EG_IN_DROP_TABLE : EG_IN_DROP_MAP_ERR;
}

/* Knobs set by ipsecd before load (rodata). */
const volatile struct eg_in_cfg eg_cfg = EG_IN_CFG_DEFAULT;
/* Tests only: BPF_PROG_TEST_RUN skbs have no secpath, so the tunnel
 * (reqid) is taken from skb->mark instead. Pruned at load when 0. */
const volatile __u8 tun_from_mark = 0;

/* eg_ifsite: ifindex of a site's xfrm interface -> site. Filled by ipsecd. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EG_MAX_SITES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct eg_isite);
} eg_ifsite SEC(".maps");

/* eg_flows: live flows of all sites. Deleted by RST here, by the sweeper. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EG_MAX_FLOWS);
	__type(key, struct eg_flow_key);
	__type(value, struct eg_flow);
} eg_flows SEC(".maps");

/* eg_devs: live devices (inner sources) of all sites. Deleted by the sweeper. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EG_MAX_DEVS);
	__type(key, struct eg_dev_key);
	__type(value, struct eg_dev);
} eg_devs SEC(".maps");

/* eg_in_cnt: slot -> exact flow/device counts; mmapped by the sweeper. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EG_MAX_SITES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct eg_in_cnt);
} eg_in_cnt SEC(".maps");

/* eg_in_stats: enum eg_in_reason -> packets/bytes, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EG_IN_REASON_MAX);
	__type(key, __u32);
	__type(value, struct eg_ctr);
} eg_in_stats SEC(".maps");

/*
 * eg_in_ctr: slot -> per-site inner counters, per CPU. A hash, not an
 * array: a per-CPU array costs EG_MAX_SITES x 124 B on every possible CPU
 * (2 GB at 128 CPUs) whether the POP has ten sites or a hundred thousand;
 * this costs that only for the sites present. ipsecd inserts a zeroed entry
 * with the site (and deletes it with the site); the program inserts one if
 * it finds none, so counting never stops silently.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, EG_MAX_SITES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct eg_in_ctr);
} eg_in_ctr SEC(".maps");

/* eg_site_ctr: the XDP program's per-site counters; ipsecd hands us its fd
 * (bpf_map__reuse_fd) so that a probe stamps the site's last_alive_ns. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EG_MAX_SITES);
	__type(key, __u32);
	__type(value, struct eg_site_ctr);
} eg_site_ctr SEC(".maps");

/* What the parser keeps of an inner packet. */
struct pkt {
	__u32 saddr, daddr;	/* network order */
	__u16 sport, dport;	/* network order; ICMP echo: id, 0 */
	__u16 len;		/* IP total length, host order */
	__u8 proto;
	__u8 frag;		/* non-first fragment: no L4 header */
	__u8 tcp_flags;
	__u8 icmp_type;
};

/* The one exit: count the reason globally and per site, return its verdict. */
static __always_inline int in_exit(struct eg_in_ctr *sc, enum eg_in_reason r,
				   __u32 bytes)
{
	__u32 key = r, d = r - EG_IN_FIRST_DROP;
	struct eg_ctr *c = bpf_map_lookup_elem(&eg_in_stats, &key);

	if (c) {
		c->pkts++;
		c->bytes += bytes;
	}
	if (sc) {
		if (r < EG_IN_FIRST_DROP) {
			sc->pkts++;
			sc->bytes += bytes;
		} else if (d < EG_IN_NDROP) {
			sc->drop[d]++;
		}
	}
	return r < EG_IN_FIRST_DROP ? TC_ACT_OK : TC_ACT_SHOT;
}

/*
 * len bytes at off from the network header. Headers in page fragments
 * (not linear) are pulled in once; a packet that still cannot supply them
 * is too short. len must be a constant.
 */
static __always_inline int load_net(struct __sk_buff *skb, __u32 off,
				    void *to, __u32 len)
{
	__u32 pull = skb->len < EG_PULL_LEN ? skb->len : EG_PULL_LEN;

	if (!bpf_skb_load_bytes_relative(skb, off, to, len, BPF_HDR_START_NET))
		return 0;
	if (bpf_skb_pull_data(skb, pull))
		return -EFAULT_;
	return bpf_skb_load_bytes_relative(skb, off, to, len, BPF_HDR_START_NET);
}

/* IPv4 and the L4 header we judge by; 0 or the drop reason. */
static __always_inline enum eg_in_reason parse(struct __sk_buff *skb,
					       struct pkt *p)
{
	struct iphdr iph;
	__u32 ihl;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return EG_IN_DROP_NOT_IPV4;
	if (load_net(skb, 0, &iph, sizeof(iph)))
		return EG_IN_DROP_MALFORMED;
	/* IHL below 5 is not IPv4; options (IHL 6..15) are skipped whole. */
	ihl = iph.ihl * 4;
	p->len = bpf_ntohs(iph.tot_len);
	if (iph.version != 4 || ihl < sizeof(iph) || p->len < ihl)
		return EG_IN_DROP_MALFORMED;
	p->saddr = iph.saddr;
	p->daddr = iph.daddr;
	p->proto = iph.protocol;
	/* A non-first fragment carries no ports: judged by protocol alone. */
	p->frag = (bpf_ntohs(iph.frag_off) & IP_OFFMASK) != 0;
	if (p->frag)
		return 0;

	if (p->proto == IPPROTO_TCP) {
		struct tcphdr th;

		if (p->len < ihl + sizeof(th) || load_net(skb, ihl, &th, sizeof(th)))
			return EG_IN_DROP_MALFORMED;
		p->sport = th.source;
		p->dport = th.dest;
		p->tcp_flags = ((__u8 *)&th)[13];
	} else if (p->proto == IPPROTO_UDP) {
		struct udphdr uh;

		if (p->len < ihl + sizeof(uh) || load_net(skb, ihl, &uh, sizeof(uh)))
			return EG_IN_DROP_MALFORMED;
		p->sport = uh.source;
		p->dport = uh.dest;
	} else if (p->proto == IPPROTO_ICMP) {
		struct icmphdr ih;

		if (p->len < ihl + sizeof(ih) || load_net(skb, ihl, &ih, sizeof(ih)))
			return EG_IN_DROP_MALFORMED;
		p->icmp_type = ih.type;
		p->sport = ih.un.echo.id;
		p->dport = 0;
	}
	return 0;
}

/* Is the packet within the site's license? 0 or the drop reason. */
static __always_inline enum eg_in_reason license(const struct eg_isite *s,
						 const struct pkt *p)
{
	__u16 port;
	int i;

	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP &&
	    p->proto != IPPROTO_ICMP)
		return EG_IN_DROP_LIC_PROTO;
	if (s->flags & EG_LIC_FW)
		return 0;
	if (p->proto != IPPROTO_TCP || !(s->flags & EG_LIC_WEB))
		return EG_IN_DROP_LIC_PROTO;
	/* web gateway: a later fragment's first fragment had its port checked */
	if (p->frag)
		return 0;
	port = bpf_ntohs(p->dport);
	if (port == 80 || port == 443)
		return 0;
#pragma unroll
	for (i = 0; i < EG_MAX_CPORTS; i++) {
		if (i >= s->n_ports)
			break;
		if (s->ports[i] == port)
			return 0;
	}
	return EG_IN_DROP_LIC_PORT;
}

/*
 * The tunnel a packet came through: the reqid of the xfrm state that
 * decrypted it (secpath entry 0; one ESP SA per packet here); 0 if unknown.
 * Not the SPI: every Child SA rekey (< 2 h) changes it, and make-before-
 * break overlaps old and new SAs, so each rekey would look like a move. Not
 * the remote address: a site is recognised by its source IP, so all its
 * tunnels share it. The reqid is ipsecd's name for a tunnel: unique per
 * Child SA lineage and kept by a rekeyed Child SA (as strongSwan does).
 */
static __always_inline __u32 tunnel_of(struct __sk_buff *skb)
{
	struct bpf_xfrm_state xs;

	if (tun_from_mark)
		return skb->mark;
	if (bpf_skb_get_xfrm_state(skb, 0, &xs, sizeof(xs), 0))
		return 0;
	return xs.reqid;
}

/*
 * Refresh the device (inner source) behind a flow; create it when there is
 * none, within the site's device cap. Counts a move when a live device
 * shows up on another tunnel (reqid): reported, not dropped, as the peer
 * may legitimately move an endpoint (failover). 0 or the drop reason.
 */
static __always_inline enum eg_in_reason
dev_touch(struct __sk_buff *skb, struct eg_in_cnt *cnt, struct eg_in_ctr *sc,
	  __u32 slot, __u32 saddr, __u32 cap, __u64 now)
{
	struct eg_dev_key k = { .slot = slot, .saddr = saddr };
	__u32 tun = tunnel_of(skb);
	struct eg_dev *d, nd = {};
	long err;

	d = bpf_map_lookup_elem(&eg_devs, &k);
	if (d) {
		if (tun && d->tunnel != tun) {
			if (d->tunnel &&
			    !eg_in_expired(now, d->last_seen, eg_cfg.to_ns[EG_TO_DEV])) {
				d->moves++;
				d->prev_tunnel = d->tunnel;
				sc->moves++;
			}
			d->tunnel = tun;
		}
		d->last_seen = now;
		return 0;
	}
	/* reserve the slot first: concurrent creators cannot overshoot */
	if (__sync_fetch_and_add(&cnt->devs, 1) >= cap) {
		__sync_fetch_and_add(&cnt->devs, -1);
		return EG_IN_DROP_DEV_CAP;
	}
	nd.last_seen = now;
	nd.tunnel = tun;
	err = bpf_map_update_elem(&eg_devs, &k, &nd, BPF_NOEXIST);
	if (!err) {
		sc->new_devs++;
		return 0;
	}
	__sync_fetch_and_add(&cnt->devs, -1);
	if (err == -EEXIST_)	/* another CPU made it */
		return 0;
	return insert_err(err);
}

/* Timeout class of a TCP flow after this packet (RST handled before). */
static __always_inline __u8 tcp_class(__u8 flags, __u8 cur, int fresh)
{
	if (flags & TCP_FIN_)
		return EG_TO_TCP_FIN;
	if ((flags & (TCP_SYN_ | TCP_ACK_)) == TCP_SYN_)
		return fresh || cur == EG_TO_TCP_FIN ? EG_TO_TCP_SYN : cur;
	if (fresh || cur == EG_TO_TCP_SYN)
		return EG_TO_TCP_EST;
	return cur;	/* EST stays, FIN stays until it times out */
}

SEC("tc")
int tc_inner(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, slot, cap, dcap;
	struct eg_flow_key key = {};
	struct eg_flow *f, nf = {};
	struct pkt p = {};
	struct eg_site_ctr *alive;
	struct eg_isite *site;
	struct eg_in_ctr *sc;
	struct eg_in_cnt *cnt;
	enum eg_in_reason r;
	__u64 now;
	__u8 cls;
	long err;

	site = bpf_map_lookup_elem(&eg_ifsite, &ifindex);
	if (!site)
		return in_exit(NULL, EG_IN_DROP_NO_SITE, skb->len);
	slot = site->slot;
	cnt = bpf_map_lookup_elem(&eg_in_cnt, &slot);
	if (!cnt)	/* slot out of range: ipsecd bug, fail closed */
		return in_exit(NULL, EG_IN_DROP_NO_SITE, skb->len);
	sc = bpf_map_lookup_elem(&eg_in_ctr, &slot);
	if (!sc) {
		struct eg_in_ctr zero = {};

		bpf_map_update_elem(&eg_in_ctr, &slot, &zero, BPF_NOEXIST);
		sc = bpf_map_lookup_elem(&eg_in_ctr, &slot);
		if (!sc)	/* eg_in_ctr full: ipsecd bug, fail closed */
			return in_exit(NULL, EG_IN_DROP_NO_SITE, skb->len);
	}

	r = parse(skb, &p);
	if (r)
		return in_exit(sc, r, skb->len);

	now = bpf_ktime_get_coarse_ns();
	/* The keepalive probe passes whatever the license, takes no slot. */
	if (p.proto == IPPROTO_ICMP && !p.frag && p.icmp_type == ICMP_ECHO_ &&
	    site->probe_ip && p.daddr == site->probe_ip) {
		sc->probes++;
		sc->last_probe_ns = now;
		alive = bpf_map_lookup_elem(&eg_site_ctr, &slot);
		if (alive)
			alive->last_alive_ns = now;
		return in_exit(sc, EG_IN_PASS_PROBE, p.len);
	}

	r = license(site, &p);
	if (r)
		return in_exit(sc, r, p.len);
	if (p.frag)
		return in_exit(sc, EG_IN_PASS_FRAG, p.len);
	/* ICMP: only echo requests are flows; errors etc. belong to others */
	if (p.proto == IPPROTO_ICMP && p.icmp_type != ICMP_ECHO_)
		return in_exit(sc, EG_IN_PASS_NOFLOW, p.len);

	key.slot = slot;
	key.saddr = p.saddr;
	key.daddr = p.daddr;
	key.sport = p.sport;
	key.dport = p.dport;
	key.proto = p.proto;
	f = bpf_map_lookup_elem(&eg_flows, &key);

	if (f) {
		__u8 tc = f->tclass;
		int fresh;

		/* RST: the flow ends now; the delete that succeeds frees the slot */
		if (p.proto == IPPROTO_TCP && (p.tcp_flags & TCP_RST_)) {
			if (!bpf_map_delete_elem(&eg_flows, &key))
				__sync_fetch_and_add(&cnt->flows, -1);
			return in_exit(sc, EG_IN_PASS_CLOSE, p.len);
		}
		/* expired but not swept yet: revived, it never gave its slot up */
		fresh = tc >= EG_TO_DEV ||
			eg_in_expired(now, f->last_seen, eg_cfg.to_ns[tc]);
		if (p.proto == IPPROTO_TCP)
			cls = tcp_class(p.tcp_flags, tc, fresh);
		else
			cls = p.proto == IPPROTO_UDP ? EG_TO_UDP : EG_TO_ICMP;
		if (cls != tc)
			f->tclass = cls;
		/* once per epoch: keep the device live, check its tunnel; an
		 * existing flow is never dropped for its device */
		if (fresh || ((now ^ f->last_seen) >> EG_DEV_EPOCH_SHIFT)) {
			dcap = site->dev_cap ? site->dev_cap : eg_cfg.dev_cap;
			dev_touch(skb, cnt, sc, slot, p.saddr, dcap, now);
		}
		if (f->last_seen != now)	/* coarse clock: mostly no store */
			f->last_seen = now;
		return in_exit(sc, EG_IN_PASS_FLOW, p.len);
	}

	/* A RST of no flow opens nothing. */
	if (p.proto == IPPROTO_TCP && (p.tcp_flags & TCP_RST_))
		return in_exit(sc, EG_IN_PASS_NOFLOW, p.len);

	/* New flow: reserve a flow slot, then the device, then insert. */
	cap = site->flow_cap ? site->flow_cap : eg_cfg.flow_cap;
	if (__sync_fetch_and_add(&cnt->flows, 1) >= cap) {
		__sync_fetch_and_add(&cnt->flows, -1);
		return in_exit(sc, EG_IN_DROP_FLOW_CAP, p.len);
	}
	dcap = site->dev_cap ? site->dev_cap : eg_cfg.dev_cap;
	r = dev_touch(skb, cnt, sc, slot, p.saddr, dcap, now);
	if (r) {
		__sync_fetch_and_add(&cnt->flows, -1);
		return in_exit(sc, r, p.len);
	}
	if (p.proto == IPPROTO_TCP)
		cls = tcp_class(p.tcp_flags, EG_TO_TCP_EST, 1);
	else
		cls = p.proto == IPPROTO_UDP ? EG_TO_UDP : EG_TO_ICMP;
	nf.last_seen = now;
	nf.tclass = cls;
	err = bpf_map_update_elem(&eg_flows, &key, &nf, BPF_NOEXIST);
	if (!err) {
		sc->new_flows++;
		return in_exit(sc, EG_IN_PASS_NEW, p.len);
	}
	__sync_fetch_and_add(&cnt->flows, -1);
	if (err == -EEXIST_)	/* another CPU created it meanwhile */
		return in_exit(sc, EG_IN_PASS_FLOW, p.len);
	return in_exit(sc, insert_err(err), p.len);
}

char LICENSE[] SEC("license") = "GPL";
