/* SPDX-License-Identifier: MIT */
/*
 * pcp.c - per-CPU page lists in front of each zone's buddy lists.
 *
 * Each zone has one struct pmm_pcp per CPU with a list per (cached order,
 * pcp migratetype). Cached orders are 0..PAGE_ALLOC_COSTLY_ORDER and
 * pageblock_order. Frees push on the list head; once count reaches high,
 * frames go back to the buddy in one zone-lock hold. Allocations pop; an
 * empty list is refilled with batch frames in one zone-lock hold.
 *
 * The pcp lock is taken with trylock on the fast paths: a thread that
 * finds it held (another thread on the same CPU, or a drain) uses the zone
 * path instead of waiting. Pages on a pcp list carry PG_pcp and their
 * order in private; their refcount is 0.
 */
#include "internal.h"
#include "memmap.h"
#include "pcp.h"
#include "trace.h"

void pcp_init(struct pmm_pcp *pcp, int batch, int high)
{
	spin_lock_init(&pcp->lock);
	pcp->count = 0;
	pcp->batch = batch;
	pcp->high = high;
	for (int i = 0; i < NR_PCP_LISTS; i++)
		list_init(&pcp->lists[i]);
}

static inline unsigned int pindex_to_order(const pmm_t *pmm, int pindex)
{
	int oi = pindex / PMM_MIGRATE_PCPTYPES;

	return oi <= PCP_MAX_LOW_ORDER ? (unsigned int)oi : pmm->pageblock_order;
}

/*
 * free_pcppages_bulk_locked - return at least @count frames to the buddy,
 * round robin over the lists, oldest pages (list tail) first.
 * Context: pcp->lock held; takes zone->lock once.
 */
void free_pcppages_bulk_locked(struct pmm_zone *zone, struct pmm_pcp *pcp, int count)
{
	const pmm_t *pmm = zone->pmm;
	unsigned int rr = pcp->drain_rr;

	lockdep_assert_held(&pcp->lock);
	if (count > pcp->count)
		count = pcp->count;
	if (count <= 0)
		return;
	zone_lock(zone);
	while (count > 0) {
		struct pmm_list *list;
		int pindex;

		do {
			pindex = (int)(rr++ % NR_PCP_LISTS);
			list = &pcp->lists[pindex];
		} while (list_empty(list));

		unsigned int order = pindex_to_order(pmm, pindex);
		do {
			struct pmm_page *page = container_of(list->prev, struct pmm_page, lru);
			pmm_pfn_t pfn = page_to_pfn(pmm, page);

			trace_mm_page_pcpu_drain(pfn, order, pindex % PMM_MIGRATE_PCPTYPES);
			list_del(&page->lru);
			__ClearPagePcp(page);
			page->private = 0;
			pcp->count -= 1 << order;
			count -= 1 << order;
			/* The pageblock may have changed type since the free. */
			__free_one_page_locked(zone, page, pfn, order,
					       get_pageblock_migratetype(zone, pfn));
		} while (count > 0 && !list_empty(list));
	}
	zone_unlock(zone);
	pcp->drain_rr = rr;
	stat_add(&pcp->stats, pcp_drain, 1);
	PMM_ASSERT_EXPENSIVE(pcp_count_valid_locked(pmm, pcp));
}

/* Validator: every list well formed and their frames adding up to pcp->count. */
bool pcp_count_valid_locked(const pmm_t *pmm, struct pmm_pcp *pcp)
{
	long frames = 0;

	lockdep_assert_held(&pcp->lock);
	for (int i = 0; i < NR_PCP_LISTS; i++) {
		unsigned long n;

		if (!list_valid(&pcp->lists[i], pmm->managed_pages, &n))
			return false;
		frames += (long)n << pindex_to_order(pmm, i);
	}
	return frames == pcp->count;
}

void drain_pcp_locked(struct pmm_zone *zone, struct pmm_pcp *pcp)
{
	lockdep_assert_held(&pcp->lock);
	free_pcppages_bulk_locked(zone, pcp, pcp->count);
}

/*
 * Refill an empty list with batch frames' worth of blocks, one zone-lock
 * hold. Never from the highatomic reserve (kernel rmqueue_bulk() calls
 * __rmqueue() without ALLOC_HIGHATOMIC): the list is shared by every
 * request of its migratetype, so reserved blocks would leak to ordinary
 * allocations through it.
 */
void rmqueue_bulk_locked(struct pmm_zone *zone, struct pmm_pcp *pcp, unsigned int order, int mt,
			 struct pmm_list *list)
{
	int n = pcp->batch >> order;

	lockdep_assert_held(&pcp->lock);
	if (n < 1)
		n = 1;
	zone_lock(zone);
	for (int i = 0; i < n; i++) {
		struct pmm_page *page = __rmqueue_locked(zone, order, mt, 0);

		if (!page)
			break;
		page->private = order;
		__SetPagePcp(page);
		list_add_tail(&page->lru, list);
		pcp->count += 1 << order;
	}
	PMM_ASSERT_EXPENSIVE(free_area_counts_valid_locked(zone));
	zone_unlock(zone);
	stat_add(&pcp->stats, pcp_refill, 1);
	PMM_ASSERT_EXPENSIVE(pcp_count_valid_locked(zone->pmm, pcp));
}

void pmm_drain_all_pages(pmm_t *pmm)
{
	if (!pmm)
		return;
	struct pmm_zone *zone;

	for_each_populated_zone(pmm, zone) {
		for (unsigned int c = 0; c < pmm->nr_cpus; c++) {
			struct pmm_pcp *pcp = &zone->pcp[c];

			spin_lock(&pcp->lock);
			drain_pcp_locked(zone, pcp);
			spin_unlock(&pcp->lock);
		}
	}
}
