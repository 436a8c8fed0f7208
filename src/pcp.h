/* SPDX-License-Identifier: MIT */
/*
 * pcp.h - the per-CPU page lists' interface (pcp.c) and their fast paths.
 *
 * The fast paths are header inlines so that a pcp hit costs no call
 * whatever the compiler decides across files; refill and drain are out of
 * line in pcp.c. Pages on a pcp list carry PG_pcp and their order in
 * ->private; their refcount is 0; only the list's pcp->lock guards them.
 */
#ifndef PMM_PCP_H
#define PMM_PCP_H

#include "buddy.h"
#include "mmzone.h"
#include "os.h"
#include "page_flags.h"
#include "pcp_rseq.h"

void pcp_init(struct pmm_pcp *pcp, unsigned int pageblock_order, int batch, int high);
/* Context for the _locked functions: pcp->lock held; they take zone->lock. */
void rmqueue_bulk_locked(struct pmm_zone *zone, struct pmm_pcp *pcp, unsigned int order, int mt,
			 struct pmm_list *list);
void free_pcppages_bulk_locked(struct pmm_zone *zone, struct pmm_pcp *pcp, int count);
void drain_pcp_locked(struct pmm_zone *zone, struct pmm_pcp *pcp);
/* Rseq mode's arrays under the lock (pcp.c): take, put, fold the counters. */
struct pmm_page *pcp_rseq_take_locked(struct pmm_zone *zone, struct pmm_pcp *pcp, int oi, int mt);
void pcp_rseq_put_locked(struct pmm_zone *zone, struct pmm_pcp *pcp, struct pmm_page *page,
			 int oi, int mt, unsigned int fpi);
void pcp_rseq_fold_locked(const pmm_t *pmm, struct pmm_pcp *pcp);
/* Frames on the pcp: the lists and, in rseq mode, the arrays. */
int pcp_frames_locked(const pmm_t *pmm, struct pmm_pcp *pcp);
void pcp_rseq_exclude(struct pmm_zone *zone, struct pmm_pcp *pcp, bool count);
/* Can this instance run the rseq fast path? NULL, or why not. */
const char *pcp_rseq_unavailable(const struct pmm_config *cfg);
/* Validator (pmm_check, PMM_ASSERT_EXPENSIVE): pcp->count matches the lists. */
bool pcp_count_valid_locked(const pmm_t *pmm, struct pmm_pcp *pcp);

/* Which order slot a cached order uses; -1 if @order is not cached. */
static inline int pcp_order_index(const pmm_t *pmm, unsigned int order)
{
	if (order <= PCP_MAX_LOW_ORDER)
		return (int)order;
	return order == pmm->pageblock_order ? PCP_MAX_LOW_ORDER + 1 : -1;
}

static inline int order_to_pindex(const pmm_t *pmm, unsigned int order, int mt)
{
	return pcp_order_index(pmm, order) * PMM_MIGRATE_PCPTYPES + mt;
}

/*
 * Which rseq array (pcp->rq[oi]) a cached @order uses in rseq mode: 0 for
 * order 0, 1 for pageblock_order (the contig chunks, THP-sized blocks), -1
 * for the other cached orders, which keep their locked lists.
 */
static inline int pcp_rseq_oi(const pmm_t *pmm, unsigned int order)
{
	if (!order)
		return 0;
	return order == pmm->pageblock_order ? 1 : -1;
}

static inline unsigned int pcp_rseq_order(const pmm_t *pmm, int oi)
{
	return oi ? pmm->pageblock_order : 0;
}

/*
 * Kernel nr_pcp_alloc() without its order-0 scaling: the blocks of @order
 * a refill takes, batch frames' worth but at least two when batch > 1
 * ("batch can be 1 for small zones ... which should never store free
 * pages"), so that an order-9 list, whose batch is below one block,
 * still serves every other allocation without the zone lock.
 */
static inline int pcp_refill_blocks(int batch, unsigned int order)
{
	if (batch <= 1)
		return 1;
	return (batch >> order) > 2 ? batch >> order : 2;
}

/*
 * Whether @zone's pcps take a cached @order at all: every cached order,
 * but in rseq mode a pageblock_order block only where high holds one
 * (pcp_init() gives its arrays no room otherwise). Such a block goes to
 * and from the buddy directly, with neither a pcp count nor a pcp lock,
 * where on a list it would be refilled for each allocation and drained
 * at each free.
 */
static inline bool pcp_takes_order(const pmm_t *pmm, const struct pmm_zone *zone,
				   unsigned int order)
{
	return !order || !pmm->pcp_rseq || order != pmm->pageblock_order ||
	       (zone->pcp_high >> order) > 0;
}

/* The calling thread's CPU, 0..nr_cpus-1: a hint (the thread may migrate). */
static inline unsigned int this_cpu(const pmm_t *pmm)
{
	unsigned int cpu = pmm->cfg.cpu_fn ? pmm->cfg.cpu_fn(pmm->cfg.cpu_arg) : os_getcpu();

	return likely(cpu < pmm->nr_cpus) ? cpu : cpu % pmm->nr_cpus;
}

/* This CPU's pcp set of @zone. */
static inline struct pmm_pcp *this_cpu_pcp(const pmm_t *pmm, struct pmm_zone *zone)
{
	return &zone->pcp[this_cpu(pmm)];
}

/*
 * pcp_trylock / pcp_lock / pcp_unlock - pcp->lock. In rseq mode the lock
 * must also exclude the rseq sections (pcp_rseq.h): once it is held, a
 * thread that is not running on the pcp's own CPU fences that CPU.
 * pcp_lock_snapshot is pcp_lock for the readers (statistics, zone info,
 * the checker), whose fences the pcp_rseq_fence counter leaves out, so
 * that reading the counters does not change them.
 */
static inline bool pcp_trylock(struct pmm_zone *zone, struct pmm_pcp *pcp)
{
	if (!spin_trylock(&pcp->lock))
		return false;
	if (zone->pmm->pcp_rseq)
		pcp_rseq_exclude(zone, pcp, true);
	return true;
}

static inline void pcp_lock(struct pmm_zone *zone, struct pmm_pcp *pcp)
{
	spin_lock(&pcp->lock);
	if (zone->pmm->pcp_rseq)
		pcp_rseq_exclude(zone, pcp, true);
}

static inline void pcp_lock_snapshot(struct pmm_zone *zone, struct pmm_pcp *pcp)
{
	spin_lock(&pcp->lock);
	if (zone->pmm->pcp_rseq)
		pcp_rseq_exclude(zone, pcp, false);
}

static inline void pcp_unlock(struct pmm_pcp *pcp)
{
	spin_unlock(&pcp->lock);
}

/*
 * pcp_rseq_alloc / pcp_rseq_free - the fast paths of rseq mode, for the
 * order of array @oi (pcp_rseq_oi()).
 * Return: the block or NULL; true if the block is on a list. On NULL or
 * false the caller takes the trylock path.
 */
static __always_inline struct pmm_page *pcp_rseq_alloc(pmm_t *pmm, struct pmm_zone *zone, int oi,
						       int mt)
{
	struct pmm_page *page = pcp_rseq_pop(pmm->rseq_off, zone, pmm->nr_cpus, oi, mt);

	if (likely(page)) {
		__ClearPagePcp(page);	/* popped: ours alone */
		if (oi)
			page->private = 0;	/* a block listed with its order, as on a list */
	}
	return page;
}

static __always_inline bool pcp_rseq_free(pmm_t *pmm, struct pmm_zone *zone,
					  struct pmm_page *page, int oi, int mt, bool chunk)
{
	PMM_BUG_ON_PAGE(page->private, page);	/* free_pages_prepare() cleared it */
	__SetPagePcp(page);		/* refcount 0: nobody else may touch it */
	if (oi)
		page->private = pcp_rseq_order(pmm, oi);
	if (likely(pcp_rseq_push(pmm->rseq_off, zone, pmm->nr_cpus, oi, mt, page, chunk)))
		return true;
	__ClearPagePcp(page);
	page->private = 0;
	return false;
}

/* Kernel numa_node_id(): the calling CPU's node; node 0 unless cpu_to_node says otherwise. */
static inline int numa_node_id(const pmm_t *pmm)
{
	return unlikely(pmm->cpu_nodes) ? pmm->cfg.cpu_to_node[this_cpu(pmm)] : 0;
}

/*
 * rmqueue_pcplist_locked - pop a block of @order from this pcp, refilling
 * the list from the buddy when it is empty.
 * Context: pcp->lock held. Return: the block (not yet prepared) or NULL.
 */
static inline struct pmm_page *rmqueue_pcplist_locked(struct pmm_zone *zone, struct pmm_pcp *pcp,
						      unsigned int order, int mt)
{
	int oi = zone->pmm->pcp_rseq ? pcp_rseq_oi(zone->pmm, order) : -1;
	struct pmm_list *list;
	struct pmm_page *page;

	lockdep_assert_held(&pcp->lock);
	if (oi >= 0)
		return pcp_rseq_take_locked(zone, pcp, oi, mt);
	list = &pcp->lists[order_to_pindex(zone->pmm, order, mt)];
	if (unlikely(list_empty(list))) {
		rmqueue_bulk_locked(zone, pcp, order, mt, list);
		if (list_empty(list))
			return NULL;
	}
	page = container_of(list->next, struct pmm_page, lru);
	list_del(&page->lru);
	__ClearPagePcp(page);		/* free page: only this pcp's lock holder sees it */
	page->private = 0;
	pcp->count -= 1 << order;
	stat_add(&pcp->stats, pcp_alloc, 1);
	stat_add(&pcp->stats, pgalloc, 1UL << order);
	return page;
}

/*
 * free_pcp_commit_locked - queue a prepared block on this CPU's list.
 * Past high, drain down to high - batch so the next frees stay cheap.
 * Context: pcp->lock held.
 */
static inline void free_pcp_commit_locked(struct pmm_zone *zone, struct pmm_pcp *pcp,
					  struct pmm_page *page, unsigned int order, int mt,
					  unsigned int fpi)
{
	int oi = zone->pmm->pcp_rseq ? pcp_rseq_oi(zone->pmm, order) : -1;

	lockdep_assert_held(&pcp->lock);
	if (oi >= 0) {
		pcp_rseq_put_locked(zone, pcp, page, oi, mt, fpi);
		return;
	}
	page->private = order;
	__SetPagePcp(page);		/* refcount 0: no other thread may touch the page */
	list_add(&page->lru, &pcp->lists[order_to_pindex(zone->pmm, order, mt)]);
	pcp->count += 1 << order;
	stat_add(&pcp->stats, pcp_free, 1);
	stat_add(&pcp->stats, pgfree, 1UL << order);
	stat_add(&pcp->stats, contig_chunks, !!(fpi & FPI_CONTIG_CHUNK));
	if (unlikely(pcp->count >= pcp->high))
		free_pcppages_bulk_locked(zone, pcp, pcp->count - pcp->high + pcp->batch);
}

#endif /* PMM_PCP_H */
