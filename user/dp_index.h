/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dp_index.h - the two indexes that make the classifier's lookups cheap
 * (see espgate.h): inbound SPIs chosen so that their low bits index the
 * eg_spis array, and the eg_src table of the sites by source address hash.
 *
 * Both keep a little state in memory (which SPI indexes are taken, how many
 * sites share each source bucket) and are rebuilt from the maps or the
 * store at start, so a restart on carried-over maps needs nothing persisted.
 */
#ifndef EG_DP_INDEX_H
#define EG_DP_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "espgate.h"

/* ---- eg_spis ------------------------------------------------------------ */

struct eg_spi_index;

/* Take over the eg_spis array at fd: what it holds (a restart) is taken. */
int eg_spi_index_open(struct eg_spi_index **ix, int fd);
void eg_spi_index_close(struct eg_spi_index *ix);
/*
 * A new inbound SPI (network order): random, at least 2^EG_SPI_IDX_BITS,
 * its index neither in the map nor handed out by one of the last
 * EG_SPI_RECENT picks (an exchange in flight that has not installed its SA
 * yet). Nothing is reserved, so an exchange that fails leaks nothing; -ENOSPC
 * when no free index was found in a bounded number of tries.
 */
#define EG_SPI_RECENT	1024
int eg_spi_index_pick(struct eg_spi_index *ix, uint32_t *spi);
/* Write v (v->spi set) at its index: -EEXIST if another SPI holds it. */
int eg_spi_index_put(struct eg_spi_index *ix, const struct eg_spi *v);
/* Free spi's index if spi is what it holds: -ENOENT otherwise. */
int eg_spi_index_del(struct eg_spi_index *ix, uint32_t spi);
/* Taken indexes, for tests and status. */
unsigned eg_spi_index_used(const struct eg_spi_index *ix);

/* Every taken entry of the eg_spis array at fd, in index order (batched
 * reads: a full table is 32 syscalls). cb returns non-zero to stop; a
 * negative value is also what the walk returns. */
typedef int (*eg_spi_cb)(const struct eg_spi *v, void *arg);
int eg_spis_walk(int fd, eg_spi_cb cb, void *arg);

/* ---- eg_src ------------------------------------------------------------- */

struct eg_src_tab;

int eg_src_tab_open(struct eg_src_tab **t, int fd);
void eg_src_tab_close(struct eg_src_tab *t);
/*
 * Start over from the store's sites, all of them in eg_sites already:
 * every bucket the map holds is brought to what these sites make it, in at
 * most three batched writes, each safe for a classifier reading (the
 * carried-over map at a restart). Nothing is written for a bucket that is
 * right already, so a restart with no change writes nothing.
 */
struct eg_src_site {
	uint32_t saddr;		/* network order */
	uint32_t slot;
	bool enabled;
};
int eg_src_tab_load(struct eg_src_tab *t, const struct eg_src_site *v, size_t n);
/* A site came (after its eg_sites entry), changed, or went (before its
 * eg_sites entry goes), network order. A shared bucket stays shared until
 * the next load, even once one site is left in it: eg_sites answers for it
 * meanwhile. */
int eg_src_tab_add(struct eg_src_tab *t, const struct eg_src_site *s);
int eg_src_tab_set(struct eg_src_tab *t, const struct eg_src_site *s);
int eg_src_tab_del(struct eg_src_tab *t, uint32_t saddr);

/*
 * The writes that take a bucket from cur to want, at most three (into out,
 * returning how many): each changes the flags word alone, or only the
 * fields that the flags at that moment tell the program to ignore. A
 * bucket that held another site goes through "shared" so that eg_sites
 * answers meanwhile.
 */
int eg_src_steps(struct eg_src cur, const struct eg_src *want, struct eg_src out[3]);
/* Bring saddr's bucket of the map at fd to want, in safe steps, nothing
 * counted: for tests and the benchmark, which own their maps. */
int eg_src_put(int fd, uint32_t saddr, const struct eg_src *want);

#endif
