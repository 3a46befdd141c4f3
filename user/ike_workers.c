// SPDX-License-Identifier: GPL-2.0
/*
 * ike_workers.c - IKE_SA_INIT's expensive part off the event loop: a pool
 * of cfg.workers threads computes our DH public value, g^ir and the seven
 * keys (SKEYSEED, RFC 7296 2.14) while the loop goes on parsing, keeping
 * state and sending.
 *
 * The loop owns every SA; a job carries copies of what the computation
 * needs (the peer's KE and nonce, our nonce, the SPIs, the suite, a
 * reference to our kept key pair or none, then the worker makes one) and
 * the SA's SPI with a job number, nothing that points into the SA. Each
 * worker has two single-producer, single-consumer rings, jobs in and
 * results out, and an eventfd it sleeps on; results wake the loop through
 * one eventfd (ike_worker_fd()), and ike_workers_poll() finds the SA by
 * its SPI and job number: an SA that went meanwhile (expired, its site
 * down) is no longer there and the result is wiped. No lock: the rings'
 * indices are C11 atomics with acquire/release.
 *
 * Jobs go round-robin; a full ring (RING_N jobs in flight on a worker)
 * makes the loop compute that one itself, so nothing is dropped here.
 * The answer is built, cached and sent on the loop, exactly as without
 * workers, so retransmits get the same bytes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <openssl/crypto.h>

#include "ike_int.h"

#define RING_N	1024		/* jobs in flight per worker */

struct ike_job {
	uint64_t id;
	uint8_t spi_r[IKE_SPI_LEN], spi_i[IKE_SPI_LEN];
	struct ike_suite suite;
	struct ike_dh *dh;		/* a reference to ours, or NULL: make one */
	uint8_t ke[IKE_DH_MAX_LEN];
	size_t ke_len;
	uint8_t ni[IKEV2_NONCE_MAX], nr[IKE_NONCE_LEN];
	size_t ni_len;
	/* the result */
	int err;
	uint8_t pub[IKE_DH_MAX_LEN];
	struct ike_keys keys;
};

struct ring {
	_Atomic size_t head, tail;	/* consumer's, producer's */
	struct ike_job *slot[RING_N];
};

struct ike_worker {
	struct ike_pool *pool;
	pthread_t thread;
	bool started;
	int wake;			/* eventfd: jobs in */
	struct ring in, out;
};

struct ike_pool {
	unsigned n, next;
	int done;			/* eventfd: results out */
	atomic_bool stop;
	struct ike_worker w[];
};

static bool ring_push(struct ring *r, struct ike_job *j)
{
	size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t h = atomic_load_explicit(&r->head, memory_order_acquire);

	if (t - h == RING_N)
		return false;
	r->slot[t % RING_N] = j;
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return true;
}

static struct ike_job *ring_pop(struct ring *r)
{
	size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
	struct ike_job *j;

	if (h == t)
		return NULL;
	j = r->slot[h % RING_N];
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return j;
}

static void job_free(struct ike_job *j)
{
	if (!j)
		return;
	ike_dh_free(j->dh);
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static void compute(struct ike_job *j)
{
	size_t glen = ike_dh_group_len(j->suite.dh);
	uint8_t gir[IKE_DH_MAX_LEN];

	j->err = -EIO;
	if ((!j->dh && ike_dh_new(j->suite.dh, &j->dh)) ||
	    ike_dh_public(j->dh, j->pub, glen) ||
	    ike_dh_derive(j->dh, j->ke, j->ke_len, gir, glen) ||
	    ike_keys_init(&j->keys, &j->suite, gir, glen, j->ni, j->ni_len, j->nr,
			  IKE_NONCE_LEN, j->spi_i, j->spi_r))
		goto out;
	j->err = 0;
out:
	OPENSSL_cleanse(gir, sizeof(gir));
	/* the key pair goes back now, not when the loop gets to the result */
	ike_dh_free(j->dh);
	j->dh = NULL;
}

static void *worker_main(void *arg)
{
	struct ike_worker *w = arg;
	struct ike_pool *pool = w->pool;
	uint64_t v;

	while (!atomic_load(&pool->stop)) {
		struct ike_job *j;

		if (read(w->wake, &v, sizeof(v)) < 0 && errno != EINTR)
			break;
		while ((j = ring_pop(&w->in))) {
			compute(j);
			/* the loop is behind: wait for room, unless it stops */
			while (j && !ring_push(&w->out, j)) {
				if (atomic_load(&pool->stop)) {
					job_free(j);
					j = NULL;
				} else {
					usleep(100);
				}
			}
			/* each result wakes the loop: it answers while we go on */
			v = 1;
			if (j && write(pool->done, &v, sizeof(v)) < 0)
				pr_warn("IKE worker: waking the loop: %s", strerror(errno));
		}
	}
	return NULL;
}

int ike_workers_start(struct ike_ctx *ctx)
{
	unsigned n = ctx->cfg.workers, i;
	struct ike_pool *pool;

	if (!n)
		return 0;
	pool = calloc(1, sizeof(*pool) + n * sizeof(pool->w[0]));
	if (!pool)
		return -ENOMEM;
	pool->n = n;
	pool->done = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	for (i = 0; i < n; i++)
		pool->w[i].wake = -1;
	ctx->pool = pool;
	if (pool->done < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		struct ike_worker *w = &pool->w[i];

		w->pool = pool;
		w->wake = eventfd(0, EFD_CLOEXEC);
		if (w->wake < 0)
			return -errno;
		if (pthread_create(&w->thread, NULL, worker_main, w))
			return -EAGAIN;
		w->started = true;
	}
	pr_info("%u IKE worker thread%s for IKE_SA_INIT", n, n == 1 ? "" : "s");
	return 0;
}

void ike_workers_stop(struct ike_ctx *ctx)
{
	struct ike_pool *pool = ctx->pool;
	struct ike_job *j;
	uint64_t v = 1;
	unsigned i;

	if (!pool)
		return;
	atomic_store(&pool->stop, true);
	for (i = 0; i < pool->n; i++) {
		struct ike_worker *w = &pool->w[i];

		if (w->started) {
			if (write(w->wake, &v, sizeof(v)) < 0)
				pr_warn("waking IKE worker %u: %s", i, strerror(errno));
			pthread_join(w->thread, NULL);
		}
		while ((j = ring_pop(&w->in)))
			job_free(j);
		while ((j = ring_pop(&w->out)))
			job_free(j);
		if (w->wake >= 0)
			close(w->wake);
	}
	if (pool->done >= 0)
		close(pool->done);
	free(pool);
	ctx->pool = NULL;
}

int ike_worker_fd(const struct ike_ctx *ctx)
{
	return ctx->pool ? ctx->pool->done : -1;
}

int init_offload(struct ike_ctx *ctx, struct ike_sa *sa,
		 const struct ikev2_ke_pld *ke)
{
	struct ike_pool *pool = ctx->pool;
	struct ike_worker *w;
	struct ike_job *j;
	bool owned = true;
	uint64_t v = 1;

	if (!pool || ke->len > sizeof(j->ke) || sa->ni_len > sizeof(j->ni))
		return -EAGAIN;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -EAGAIN;
	/* a kept key pair goes with the job (one reference); with reuse off
	 * the worker makes one, so that the keygen is off the loop too */
	if (ctx->cfg.dh_reuse && ike_dh_ours(ctx, sa->prop.dh, &j->dh, &owned)) {
		job_free(j);
		return -EAGAIN;
	}
	if (j->dh && !owned)
		ike_dh_ref(j->dh);
	j->id = ++ctx->job_seq;
	memcpy(j->spi_r, sa->spi_r, IKE_SPI_LEN);
	memcpy(j->spi_i, sa->spi_i, IKE_SPI_LEN);
	j->suite = ike_sa_suite(sa);
	memcpy(j->ke, ke->data, ke->len);
	j->ke_len = ke->len;
	memcpy(j->ni, sa->ni, sa->ni_len);
	j->ni_len = sa->ni_len;
	memcpy(j->nr, sa->nr, IKE_NONCE_LEN);
	w = &pool->w[pool->next++ % pool->n];
	if (!ring_push(&w->in, j)) {
		job_free(j);
		ctx->st.init_inline++;
		return -EAGAIN;
	}
	if (write(w->wake, &v, sizeof(v)) < 0)
		pr_warn("waking an IKE worker: %s", strerror(errno));
	sa->job = j->id;
	ctx->st.init_offloaded++;
	return 0;
}

/* A result: the SA it was for, if it is still there and waiting for it. */
static void complete(struct ike_ctx *ctx, struct ike_job *j)
{
	struct ike_sa *sa = sa_by_spi(ctx, j->spi_r);

	if (!sa || sa->job != j->id || sa->state != IKE_S_HALF_OPEN) {
		ctx->st.init_stale++;
		return;
	}
	sa->job = 0;
	if (j->err) {
		sa_retire(ctx, sa, "IKE_SA_INIT failed");
		return;
	}
	sa->keys = j->keys;
	if (init_answer(ctx, sa, j->pub))
		sa_retire(ctx, sa, "IKE_SA_INIT failed");
}

void ike_workers_poll(struct ike_ctx *ctx)
{
	struct ike_pool *pool = ctx->pool;
	struct ike_job *j;
	uint64_t v;
	unsigned i;

	if (!pool)
		return;
	if (read(pool->done, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_warn("IKE workers' eventfd: %s", strerror(errno));
	ike_clock(ctx);
	for (i = 0; i < pool->n; i++)
		while ((j = ring_pop(&pool->w[i].out))) {
			complete(ctx, j);
			job_free(j);
		}
	sa_reap(ctx);
}
