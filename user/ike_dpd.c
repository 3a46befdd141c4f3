// SPDX-License-Identifier: GPL-2.0
/*
 * ike_dpd.c - what happens to an IKE SA over time: the half-open limit,
 * liveness (RFC 7296 2.4: after dpd-delay without inbound IKE or ESP an
 * empty INFORMATIONAL; no answer within dpd-timeout and the SA and its
 * Child SAs go), the IKE SA's lifetimes (we rekey at the soft one if the
 * peer has not, delete at the hard one), and the leftovers of rekeys.
 *
 * Inbound ESP is seen through a counter that only grows (the XDP per-site
 * counters, env->site_rx), read when a check is due, never per packet.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ike_int.h"

void sa_alive(struct ike_ctx *ctx, struct ike_sa *sa)
{
	sa->active_at = ctx->now;
}

void sa_lifetimes(struct ike_ctx *ctx, struct ike_sa *sa)
{
	uint64_t life = (uint64_t)sa->pol.ike_lifetime * 1000;

	/*
	 * Hard: the lifetime, minus up to 0.5% so that SAs made together do
	 * not end together (24 h: at most 7 min early, still after the 10
	 * minutes by which the seed tells peers to rekey before it). Soft:
	 * 85-90%, when we rekey if the peer has not.
	 */
	sa->expire_at = sa->established + ike_jitter_ms(life, 5);
	sa->rekey_at = sa->established + ike_jitter_ms(life * 900 / 1000, 56);
	sa->dpd_check_at = ctx->now + (uint64_t)sa->pol.dpd_delay * 1000;
}

/* Inbound IKE or ESP since we last looked? */
static void dpd_check(struct ike_ctx *ctx, struct ike_sa *sa)
{
	uint64_t delay = (uint64_t)sa->pol.dpd_delay * 1000, pkts;

	if (ctx->now < sa->dpd_check_at)
		return;
	if (ctx->env.site_rx && ctx->env.site_rx(ctx->env.arg, sa, &pkts) == 0 &&
	    pkts != sa->rx_pkts) {
		sa->rx_pkts = pkts;
		sa->active_at = ctx->now;
	}
	if (ctx->now - sa->active_at >= delay && !sa->req) {
		sa->want |= IKE_WANT_DPD;
		sa->dpd_check_at = ctx->now + delay;
	} else {
		sa->dpd_check_at = sa->active_at + delay;
		if (sa->dpd_check_at <= ctx->now)
			sa->dpd_check_at = ctx->now + 1000;
	}
}

void sa_timers(struct ike_ctx *ctx, struct ike_sa *sa)
{
	switch (sa->state) {
	case IKE_S_HALF_OPEN:
		if (ctx->now - sa->created > (uint64_t)ctx->cfg.half_open * 1000) {
			ctx->st.expired++;
			sa_kill(ctx, sa, "half-open timeout");
		}
		return;
	case IKE_S_REKEYED:
		req_timer(ctx, sa);
		if (sa->state == IKE_S_REKEYED && sa->gone_at && ctx->now >= sa->gone_at)
			sa_kill(ctx, sa, "rekeyed, and the peer sent no DELETE");
		return;
	case IKE_S_DELETING:
		req_timer(ctx, sa);
		return;
	case IKE_S_ESTABLISHED:
		break;
	case IKE_S_DEAD:
		return;
	}
	req_timer(ctx, sa);
	if (sa->state != IKE_S_ESTABLISHED)
		return;
	if (ctx->now >= sa->expire_at) {
		/* the hard limit: every Child SA now, the peer told */
		pr_info("site '%s': IKE SA lifetime (%u s) over", sa->site_name,
			sa->pol.ike_lifetime);
		uint64_t owed = sa->req ? sa->req->first_sent + sa->req->timeout : 0;

		ctx->st.expired++;
		children_drop(ctx, sa);
		req_free(sa->req);
		sa->req = NULL;
		sa->why = "IKE SA lifetime over";
		sa->want = IKE_WANT_DELETE;
		req_next(ctx, sa);
		if (sa->req && owed)
			req_inherit_deadline(ctx, sa->req, owed);
		if (sa->req)
			ike_set_state(ctx, sa, IKE_S_DELETING, "IKE SA lifetime over");
		else
			sa_kill(ctx, sa, "IKE SA lifetime over");
		return;
	}
	child_timers(ctx, sa);
	if (ctx->now >= sa->rekey_at) {
		sa->want |= IKE_WANT_REKEY_IKE;
		sa->rekey_at = sa->expire_at;	/* once; a failure sets it again */
	}
	dpd_check(ctx, sa);
	req_next(ctx, sa);
}
