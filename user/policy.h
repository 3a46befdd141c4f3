/* SPDX-License-Identifier: GPL-2.0 */
/*
 * policy.h - one owner for each kernel policy and route of a site.
 *
 * Two Child SAs of a site may want the same selectors: a rekey, a branch
 * router that rebooted and comes back with a new IKE SA while the old one
 * is still there, a make-before-break reauthentication. The kernel holds
 * one policy per (if_id, selector, direction), so the policies and routes
 * are reference-counted here: the first Child SA that needs a selector
 * pair installs it, the last one that goes removes it, and in between the
 * policy's template names the reqid that came last (XFRM_MSG_UPDPOLICY),
 * which is the one the peer sends on. Nothing is ever deleted by selector
 * for a Child SA that did not create it.
 *
 * Child SAs of a site with the same selectors share their reqid (ike.c),
 * so most of the time a selector pair has one owner with several Child SAs
 * behind it. With resume set, a reference is taken for what the kernel
 * already has (ipsecd restarted with its tunnels kept).
 */
#ifndef EG_POLICY_H
#define EG_POLICY_H

#include <stdbool.h>
#include <stdint.h>

struct eg_xfrm;
struct eg_pol_tab;

/* One selector pair of a site: the peer's prefix and ours. */
struct eg_pol_key {
	uint32_t if_id;			/* the site */
	uint32_t peer_net, our_net;	/* network order, masked */
	uint8_t peer_len, our_len;
};

int eg_pol_open(struct eg_pol_tab **t, struct eg_xfrm *x);
void eg_pol_close(struct eg_pol_tab *t);	/* forgets, removes nothing */

/*
 * A Child SA with reqid needs the in/fwd/out policies of k, the tunnel
 * between peer and local (outer addresses, network order).
 */
int eg_pol_get(struct eg_pol_tab *t, const struct eg_pol_key *k,
	       uint32_t reqid, uint32_t peer, uint32_t local, bool resume);
void eg_pol_put(struct eg_pol_tab *t, const struct eg_pol_key *k,
		uint32_t reqid);

/* The route of the peer's prefix into the site's XFRM interface. */
int eg_route_get(struct eg_pol_tab *t, uint32_t table, uint32_t net,
		 uint8_t len, int ifindex, bool resume);
void eg_route_put(struct eg_pol_tab *t, uint32_t table, uint32_t net,
		  uint8_t len, int ifindex);

/* Entries held (policies are counted per selector pair), for tests. */
unsigned eg_pol_count(const struct eg_pol_tab *t, unsigned *routes);

#endif /* EG_POLICY_H */
