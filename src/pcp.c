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

/*
 * An rseq array's capacity: high's worth of frames in blocks of @order,
 * and room for one refill (as a kernel list, which a refill may take past
 * high). Order 0 gets at least one slot; a pcp whose high is below one
 * block of pageblock_order gets none (pcp_takes_order() then keeps such
 * blocks off the pcp). Each array is a pool of its own, apart from
 * pcp->count: in rseq mode a pcp may hold up to its lists' high plus every
 * array's cap.
 */
static uint32_t pcp_rseq_cap(int batch, int high, unsigned int order)
{
	int n = high >> order, refill = pcp_refill_blocks(batch, order);

	if (n < 1)
		return order ? 0 : 1;
	if (n < refill)
		n = refill;
	return n > PCP_RSEQ_SLOTS ? PCP_RSEQ_SLOTS : (uint32_t)n;
}

void pcp_init(struct pmm_pcp *pcp, unsigned int pageblock_order, int batch, int high)
{
	spin_lock_init(&pcp->lock);
	pcp->count = 0;
	pcp->batch = batch;
	pcp->high = high;
	for (int i = 0; i < NR_PCP_LISTS; i++)
		list_init(&pcp->lists[i]);
	for (int oi = 0; oi < PCP_RSEQ_NR_ORDERS; oi++)
		for (int mt = 0; mt < PMM_MIGRATE_PCPTYPES; mt++) {
			pcp->rq[oi][mt].word = 0;
			pcp->rq[oi][mt].base = 0;
			pcp->rq[oi][mt].cap = pcp_rseq_cap(batch, high, oi ? pageblock_order : 0);
		}
}

/*
 * A page leaving a pcp (list or rseq array, already unlinked) for the
 * buddy; @mt is the pcp list's, for the probe.
 * Context: pcp->lock and zone->lock held.
 */
static void pcp_page_to_buddy_locked(struct pmm_zone *zone, struct pmm_page *page,
				     unsigned int order, int mt)
{
	pmm_pfn_t pfn = page_to_pfn(zone->pmm, page);

	lockdep_assert_held(&zone->lock);
	trace_mm_page_pcpu_drain(pfn, order, mt);
	__ClearPagePcp(page);
	page->private = 0;
	/* The pageblock may have changed type since the free. */
	__free_one_page_locked(zone, page, pfn, order, get_pageblock_migratetype(zone, pfn));
}

/* ------------------------------------------------------------------------
 * Rseq mode: the arrays under the lock (pcp_rseq.h)
 * ------------------------------------------------------------------------ */

/* Blocks per drain step of array @oi: batch frames' worth, at least one. */
static unsigned int rq_batch(const struct pmm_zone *zone, const struct pmm_pcp *pcp, int oi)
{
	int n = pcp->batch >> pcp_rseq_order(zone->pmm, oi);

	return n < 1 ? 1 : (unsigned int)n;
}

/*
 * A locked write of the list's count, the counters clear: the base the
 * next fold counts the pops from is this count.
 * Context: pcp->lock held, the list folded (pcp_rseq_fold_locked()).
 */
static void rq_set_count_locked(struct pcp_rseq_list *rq, unsigned int count)
{
	rq->word = count;
	rq->base = count;
}

/*
 * The pushes the sections counted, and the pops they imply (what the
 * count lost since base beyond the pushes), go into pcp->stats (pages:
 * blocks << order); the list starts counting again from its count.
 */
void pcp_rseq_fold_locked(const pmm_t *pmm, struct pmm_pcp *pcp)
{
	lockdep_assert_held(&pcp->lock);
	for (int oi = 0; oi < PCP_RSEQ_NR_ORDERS; oi++)
		for (int mt = 0; mt < PMM_MIGRATE_PCPTYPES; mt++) {
			struct pcp_rseq_list *rq = &pcp->rq[oi][mt];
			uint64_t w = rq->word, pushes = PCP_RSEQ_PUSHES(w);
			uint64_t count = w & PCP_RSEQ_COUNT_MASK, pops = pushes + rq->base - count;
			unsigned int order = pcp_rseq_order(pmm, oi);

			if (!pushes && count == rq->base)
				continue;
			stat_add(&pcp->stats, pcp_alloc, pops);
			stat_add(&pcp->stats, pgalloc, pops << order);
			stat_add(&pcp->stats, pcp_free, pushes);
			stat_add(&pcp->stats, pgfree, pushes << order);
			stat_add(&pcp->stats, contig_chunks, PCP_RSEQ_CHUNKS(w));
			rq_set_count_locked(rq, (unsigned int)count);
		}
}

int pcp_frames_locked(const pmm_t *pmm, struct pmm_pcp *pcp)
{
	int frames = pcp->count;

	lockdep_assert_held(&pcp->lock);
	if (pmm->pcp_rseq)
		for (int oi = 0; oi < PCP_RSEQ_NR_ORDERS; oi++)
			for (int mt = 0; mt < PMM_MIGRATE_PCPTYPES; mt++)
				frames += (int)pcp_rseq_count(&pcp->rq[oi][mt]) <<
					  pcp_rseq_order(pmm, oi);
	return frames;
}

/* The oldest @n blocks of the @oi, @mt array back to the buddy, in one zone-lock hold. */
static void rq_drain_locked(struct pmm_zone *zone, struct pmm_pcp *pcp, int oi, int mt,
			    unsigned int n)
{
	struct pcp_rseq_list *rq = &pcp->rq[oi][mt];
	unsigned int count = pcp_rseq_count(rq);

	if (n > count)
		n = count;
	if (!n)
		return;
	zone_lock(zone);
	for (unsigned int i = 0; i < n; i++)
		pcp_page_to_buddy_locked(zone, rq->slot[i], pcp_rseq_order(zone->pmm, oi), mt);
	zone_unlock(zone);
	memmove(&rq->slot[0], &rq->slot[n], (size_t)(count - n) * sizeof(rq->slot[0]));
	rq_set_count_locked(rq, count - n);
}

/*
 * The rseq section found the array empty (or its counter due): fold,
 * refill with a refill's worth (pcp_refill_blocks()) in one zone-lock hold,
 * pop the top one.
 */
struct pmm_page *pcp_rseq_take_locked(struct pmm_zone *zone, struct pmm_pcp *pcp, int oi, int mt)
{
	struct pcp_rseq_list *rq = &pcp->rq[oi][mt];
	unsigned int order = pcp_rseq_order(zone->pmm, oi), count;
	struct pmm_page *page;

	lockdep_assert_held(&pcp->lock);
	pcp_rseq_fold_locked(zone->pmm, pcp);
	count = pcp_rseq_count(rq);
	if (!rq->cap)		/* (pcp_takes_order() sends such blocks to the buddy) */
		return NULL;
	if (!count) {
		unsigned int want = (unsigned int)pcp_refill_blocks(pcp->batch, order);

		if (want > rq->cap)
			want = rq->cap;
		zone_lock(zone);
		while (count < want && (page = __rmqueue_locked(zone, order, mt, 0))) {
			page->private = order;
			__SetPagePcp(page);
			rq->slot[want - 1 - count++] = page;	/* the first taken on top */
		}
		PMM_ASSERT_EXPENSIVE(free_area_counts_valid_locked(zone));
		zone_unlock(zone);
		if (count < want)	/* short: close the gap at the bottom */
			memmove(&rq->slot[0], &rq->slot[want - count], count * sizeof(rq->slot[0]));
		stat_add(&pcp->stats, pcp_refill, 1);
		if (!count)
			return NULL;
	}
	page = rq->slot[count - 1];
	rq_set_count_locked(rq, count - 1);
	__ClearPagePcp(page);
	page->private = 0;
	stat_add(&pcp->stats, pcp_alloc, 1);
	stat_add(&pcp->stats, pgalloc, 1UL << order);
	return page;
}

/* The section found the array full (or bailed): drain a batch, then push. */
void pcp_rseq_put_locked(struct pmm_zone *zone, struct pmm_pcp *pcp, struct pmm_page *page,
			 int oi, int mt, unsigned int fpi)
{
	struct pcp_rseq_list *rq = &pcp->rq[oi][mt];
	unsigned int count;

	lockdep_assert_held(&pcp->lock);
	PMM_BUG_ON(!rq->cap);	/* pcp_takes_order() sends such blocks to the buddy */
	pcp_rseq_fold_locked(zone->pmm, pcp);
	stat_add(&pcp->stats, pcp_free, 1);
	stat_add(&pcp->stats, pgfree, 1UL << pcp_rseq_order(zone->pmm, oi));
	stat_add(&pcp->stats, contig_chunks, !!(fpi & FPI_CONTIG_CHUNK));
	if (pcp_rseq_count(rq) >= rq->cap)
		rq_drain_locked(zone, pcp, oi, mt, rq_batch(zone, pcp, oi));
	count = pcp_rseq_count(rq);
	page->private = pcp_rseq_order(zone->pmm, oi);
	__SetPagePcp(page);
	rq->slot[count] = page;
	rq_set_count_locked(rq, count + 1);
}

/*
 * pcp_rseq_exclude - called with pcp->lock just taken: make it exclusive
 * of the rseq sections too. On the pcp's own CPU nothing is needed: a
 * section there that began before the lock was taken has been preempted
 * since, so it restarts and sees the lock. From any other CPU (a drain, a
 * checker, a thread that migrated after picking its pcp) fence that CPU.
 */
void pcp_rseq_exclude(struct pmm_zone *zone, struct pmm_pcp *pcp, bool count)
{
	unsigned int cpu = (unsigned int)(pcp - zone->pcp);

	if (os_getcpu() == cpu)
		return;
	if (pmm_os_rseq_fence(cpu))
		pmm_os_rseq_fence_all();
	if (count)
		gstat_add(zone->pmm, pcp_rseq_fence, 1);
}

const char *pcp_rseq_unavailable(const struct pmm_config *cfg)
{
	if (!PCP_RSEQ_ARCH)
		return "this build has no rseq sections (x86-64 only; not under TSan)";
	if (cfg->pcp_disable)
		return "the pcp lists are off";
	if (cfg->cpu_fn)
		return "a cpu_fn picks the pcp: the sections follow the real CPU";
	if (!os_rseq_registered())
		return "the C library registered no rseq area (glibc >= 2.35, glibc.pthread.rseq=1)";
	if (cfg->nr_cpus < pmm_os_possible_cpus())
		return "nr_cpus is below the machine's possible CPUs: two CPUs would share a pcp";
	if (pmm_os_rseq_register())
		return "membarrier(REGISTER_PRIVATE_EXPEDITED_RSEQ) failed (Linux >= 5.10)";
	return NULL;
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

			list_del(&page->lru);
			pcp->count -= 1 << order;
			count -= 1 << order;
			pcp_page_to_buddy_locked(zone, page, order, pindex % PMM_MIGRATE_PCPTYPES);
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
	for (int oi = 0; pmm->pcp_rseq && oi < PCP_RSEQ_NR_ORDERS; oi++)
		for (int mt = 0; mt < PMM_MIGRATE_PCPTYPES; mt++)
			if (pcp_rseq_count(&pcp->rq[oi][mt]) > pcp->rq[oi][mt].cap)
				return false;
	return frames == pcp->count;
}

void drain_pcp_locked(struct pmm_zone *zone, struct pmm_pcp *pcp)
{
	lockdep_assert_held(&pcp->lock);
	free_pcppages_bulk_locked(zone, pcp, pcp->count);
	if (zone->pmm->pcp_rseq) {
		pcp_rseq_fold_locked(zone->pmm, pcp);
		for (int oi = 0; oi < PCP_RSEQ_NR_ORDERS; oi++)
			for (int mt = 0; mt < PMM_MIGRATE_PCPTYPES; mt++)
				rq_drain_locked(zone, pcp, oi, mt, PCP_RSEQ_SLOTS);
	}
}

/*
 * Refill an empty list with pcp_refill_blocks() blocks, one zone-lock
 * hold. Never from the highatomic reserve (kernel rmqueue_bulk() calls
 * __rmqueue() without ALLOC_HIGHATOMIC): the list is shared by every
 * request of its migratetype, so reserved blocks would leak to ordinary
 * allocations through it.
 */
void rmqueue_bulk_locked(struct pmm_zone *zone, struct pmm_pcp *pcp, unsigned int order, int mt,
			 struct pmm_list *list)
{
	int n = pcp_refill_blocks(pcp->batch, order);

	lockdep_assert_held(&pcp->lock);
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

			pcp_lock(zone, pcp);
			drain_pcp_locked(zone, pcp);
			pcp_unlock(pcp);
		}
	}
}
