/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tunnel.h - ipsecd's IKE front end: the UDP sockets on 500 and 4500 (the
 * latter with UDP_ENCAP_ESPINUDP, so the kernel takes ESP and hands us IKE),
 * and the ike_env hooks that reach the store, the XDP maps and the kernel
 * (XFRM states and policies, one XFRM interface + VRF per site).
 */
#ifndef EG_TUNNEL_H
#define EG_TUNNEL_H

#include <stdbool.h>
#include <stdint.h>

struct ipsecd;
struct eg_tunnels;
struct eg_dp;
struct ike_ctx;

/* the IKE sockets are d->ike_fd, bound first by eg_sockets_bind or here */
int eg_tunnels_open(struct eg_tunnels **t, struct ipsecd *d);
/* Drop what maps carried over from the previous ipsecd hold for no
 * tunnel of ours (eg_dp_carry_prune); t may be NULL (no IKE). */
void eg_tunnels_prune_dp(struct eg_tunnels *t, struct eg_dp *dp);
/* teardown: DELETEs to peers, every SA, policy, link removed; otherwise
 * the kernel keeps it all (a restart) */
void eg_tunnels_close(struct eg_tunnels *t, bool teardown);
struct ike_ctx *eg_tunnels_ike(struct eg_tunnels *t);
/* Once a second from the main loop. */
void eg_tunnels_tick(struct eg_tunnels *t);
/* A site was disabled or deleted: its tunnels go down now. */
void eg_tunnels_site_down(struct eg_tunnels *t, int64_t site_id,
			  const char *why);
/* A site's configuration changed: its inner limits follow, live. */
struct eg_site_rec;
/* Take down the tunnels of every site that needs the service (a web-gateway
 * outage: all; a cloud-firewall one: its sites); the IKE SAs deleted. */
unsigned eg_tunnels_service_down(struct eg_tunnels *t, enum eg_license service,
				 const char *why);
void eg_tunnels_site_changed(struct eg_tunnels *t, const struct eg_site_rec *s);
/* Kernel counters of one Child SA (inbound SPI, network order). */
int eg_tunnels_sa_stats(struct eg_tunnels *t, uint32_t spi, uint32_t daddr,
			uint64_t *bytes, uint64_t *packets);

#endif /* EG_TUNNEL_H */
