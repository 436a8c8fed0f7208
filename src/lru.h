/* SPDX-License-Identifier: MIT */
/*
 * lru.h - the per-node LRU lists of anonymous folios, the per-CPU add
 * batches in front of them, and the release of folios whose last reference
 * goes (lru.c; kernel mm/swap.c).
 *
 * A folio is on an LRU list iff PG_lru is set; it gets there through a
 * per-CPU batch that holds a reference on it until the batch is drained
 * (full, pmm_lru_add_drain(), or a teardown's drain). The folio that
 * reaches refcount 0 is taken off its list under the lruvec lock by the
 * thread that dropped the last reference (no reference is ever taken from
 * an LRU list: there is no isolation, so the reference-drop rule holds).
 */
#ifndef PMM_LRU_H
#define PMM_LRU_H

#include "mmzone.h"
#include "page_flags.h"
#include "rmap.h"

#define SWAP_CLUSTER_MAX 32	/* folios per lruvec lock hold on release */
#define FOLIOS_PUT_MAX 512	/* folios released per call (kernel: freed in groups of 512) */

int lru_init(pmm_t *pmm);
void lru_exit(pmm_t *pmm);

/* Queue a new folio for its node's inactive list; takes a reference (the caller holds one). */
void lru_add(pmm_t *pmm, struct pmm_folio *folio);
/* Empty this CPU's batch (kernel lru_add_drain()). */
void lru_add_drain(pmm_t *pmm);
/* Empty every CPU's batch (kernel lru_add_drain_all()). */
void lru_add_drain_all(pmm_t *pmm);

/*
 * folios_put_refs - drop @refs[i] references on @folios[i] (@refs NULL:
 * one each); a folio that reaches zero leaves its LRU list (relocking the
 * lruvec lock at most every SWAP_CLUSTER_MAX folios) and is freed.
 * Context: @nr <= FOLIOS_PUT_MAX; no lruvec lock held.
 */
void folios_put_refs(pmm_t *pmm, struct pmm_folio *const *folios, const int *refs,
		     unsigned int nr);

/* The holders folio_free_refused() counts, besides the PTEs. */
#define FOLIO_HOLDER_FLAGS (PF(PG_swapcache) | PF(PG_deferred) | PF(PG_lru_batch))

bool folio_free_refused_slow(pmm_t *pmm, struct pmm_folio *folio);

/* Does anything but the counted puts hold references on @folio? */
static inline bool folio_has_holders(const struct pmm_folio *folio)
{
	return (page_flags(&folio->page) & FOLIO_HOLDER_FLAGS) || folio_mapcount(folio) > 0;
}

/*
 * folio_free_refused - @folio's count just reached zero: refuse to free it
 * while something that keeps references of its own still has it: a PTE
 * (one each), the swap cache (one per page), the deferred split queue or
 * an LRU add batch (one each). Such a zero means some put dropped
 * references it did not hold, where the kernel would free a folio still in
 * use (and later link a free page into an LRU list, at the batch's drain).
 * The folio is reported and its holders get their references back, so
 * that the last of them frees it: nothing is lost and no list is broken.
 * Return: true if refused.
 */
static inline bool folio_free_refused(pmm_t *pmm, struct pmm_folio *folio)
{
	return unlikely(folio_has_holders(folio)) && folio_free_refused_slow(pmm, folio);
}

/*
 * folio_release_prepare - what the kernel's __folio_put() does before the
 * free, for a folio whose last reference a call other than
 * folios_put_refs() dropped (pmm_put_page(), pmm_free_pages(), a contig or
 * bulk free): refuse it as above, else take it off its LRU list and clear
 * its anonymous owner. Return: false if refused.
 * Context: refcount 0; no lruvec lock held.
 */
bool folio_release_prepare(pmm_t *pmm, struct pmm_folio *folio);

static inline struct lruvec *folio_lruvec(const pmm_t *pmm, const struct pmm_folio *folio)
{
	return &NODE_DATA(pmm, page_zone(pmm, &folio->page)->nid)->lruvec;
}

/* Context for both: the lruvec's lock held; the folio is referenced. */
void lruvec_add_folio_locked(struct lruvec *lruvec, struct pmm_folio *folio, unsigned long nr_pages);
void lruvec_del_folio_locked(struct lruvec *lruvec, struct pmm_folio *folio, unsigned long nr_pages);

#endif /* PMM_LRU_H */
