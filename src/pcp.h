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

void pcp_init(struct pmm_pcp *pcp, int batch, int high);
/* Context for the _locked functions: pcp->lock held; they take zone->lock. */
void rmqueue_bulk_locked(struct pmm_zone *zone, struct pmm_pcp *pcp, unsigned int order, int mt,
			 struct pmm_list *list);
void free_pcppages_bulk_locked(struct pmm_zone *zone, struct pmm_pcp *pcp, int count);
void drain_pcp_locked(struct pmm_zone *zone, struct pmm_pcp *pcp);
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
	struct pmm_list *list = &pcp->lists[order_to_pindex(zone->pmm, order, mt)];
	struct pmm_page *page;

	lockdep_assert_held(&pcp->lock);
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
	lockdep_assert_held(&pcp->lock);
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
