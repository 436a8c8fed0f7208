/* SPDX-License-Identifier: MIT */
/*
 * buddy.c - the buddy allocator proper: free_area lists per order and
 * migratetype, merging on free (__free_one_page), expand on allocation,
 * pageblock migratetypes and fallback stealing.
 *
 * Invariants (checked by pmm_check):
 *  - a block on free_area[o].free_list[mt] has PG_buddy, private == o, is
 *    aligned to 2^o, lies in one zone and one section, and mt is its
 *    pageblock's migratetype (every pageblock it covers, when o >= pageblock_order);
 *  - two buddies are never both free at the same order unless their
 *    migratetypes may not merge (ISOLATE or HIGHATOMIC at pageblock order+);
 *  - zone->free_pages is the sum of 2^o over all listed blocks.
 */
#include "buddy.h"
#include "internal.h"
#include "memmap.h"
#include "pcp.h"
#include "trace.h"

/* Context: zone->lock held. */
void set_pageblock_migratetype_locked(struct pmm_zone *zone, pmm_pfn_t pfn, int mt)
{
	lockdep_assert_held(&zone->lock);
	__atomic_store_n(pageblock_mt_byte(zone, pfn), (uint8_t)mt, __ATOMIC_RELAXED);
}

/* Every pageblock of the 2^order block at @pfn (order >= pageblock_order). */
static void set_pageblock_range_mt(struct pmm_zone *zone, pmm_pfn_t pfn,
				   unsigned int order, int mt)
{
	pmm_pfn_t end = pfn + ((pmm_pfn_t)1 << order);

	for (; pfn < end; pfn += pageblock_nr_pages(zone->pmm))
		set_pageblock_migratetype_locked(zone, pfn, mt);
}

/*
 * A HIGHATOMIC pageblock that is entirely free again goes back to MOVABLE.
 * The kernel keeps such a pageblock reserved until memory runs short; pmm
 * releases it here so that freeing everything restores the fresh buddyinfo
 * (docs/design.md section 10, what the tests assert). Nothing is lost: the whole pageblock is a free
 * block that high-order requests, atomic ones included, can take.
 */
/* Written under zone->lock, read without it by zone_watermark_ok() and, folded, the pcp hit. */
static void account_highatomic_locked(struct pmm_zone *zone, int64_t nr)
{
	int64_t v = (int64_t)zone->nr_reserved_highatomic + nr;

	lockdep_assert_held(&zone->lock);
	__atomic_store_n(&zone->nr_reserved_highatomic, v > 0 ? (uint64_t)v : 0, __ATOMIC_RELAXED);
	zone_fast_mark_update(zone);
}

static int release_free_highatomic_locked(struct pmm_zone *zone, pmm_pfn_t pfn, unsigned int order)
{
	lockdep_assert_held(&zone->lock);
	set_pageblock_range_mt(zone, pfn, order, PMM_MIGRATE_MOVABLE);
	account_highatomic_locked(zone, -(1LL << order));
	return PMM_MIGRATE_MOVABLE;
}

/*
 * __free_one_page_locked - put a free block back, merging with its buddies.
 * @mt: the block's pageblock migratetype, read under the zone lock.
 *
 * A block never crosses a section (max_order + page_shift <= section_shift),
 * so page arithmetic inside it is valid in both memmap models.
 * Context: zone->lock held.
 */
void __free_one_page_locked(struct pmm_zone *zone, struct pmm_page *page,
			    pmm_pfn_t pfn, unsigned int order, int mt)
{
	const pmm_t *pmm = zone->pmm;

	lockdep_assert_held(&zone->lock);
	PMM_BUG_ON(pfn & (((pmm_pfn_t)1 << order) - 1));
	account_freepages_locked(zone, 1L << order);
	stat_add(&zone->stats, buddy_free, 1);

	for (;;) {
		pmm_pfn_t bpfn = buddy_pfn(pfn, order);
		struct pmm_page *buddy = page + ((long)bpfn - (long)pfn);
		int bmt = mt;

		if (unlikely(mt == PMM_MIGRATE_HIGHATOMIC) && order >= pmm->pageblock_order)
			mt = release_free_highatomic_locked(zone, pfn, order);
		if (order >= pmm->max_order || !page_is_buddy(zone, buddy, order))
			break;
		/* Pageblocks of different types merge only if both may change type. */
		if (order >= pmm->pageblock_order) {
			bmt = get_pageblock_migratetype(zone, bpfn);
			if (bmt != mt && (!migratetype_is_mergeable(mt) ||
					  !migratetype_is_mergeable(bmt)))
				break;
		}
		del_page_from_free_list_locked(zone, buddy, order);
		if (bmt != mt)
			set_pageblock_range_mt(zone, bpfn, order, mt);
		stat_add(&zone->stats, buddy_merge, 1);
		pmm_pfn_t combined = bpfn & pfn;
		page += (long)combined - (long)pfn;
		pfn = combined;
		order++;
	}
	add_to_free_list_locked(zone, page, order, mt);
}

/* Validator: each free list well formed, nr_free and free_pages equal to what the lists hold. */
bool free_area_counts_valid_locked(struct pmm_zone *zone)
{
	const pmm_t *pmm = zone->pmm;
	int64_t frames = 0;

	lockdep_assert_held(&zone->lock);
	for (unsigned int o = 0; o <= pmm->max_order; o++) {
		unsigned long blocks = 0;

		for (int mt = 0; mt < PMM_MIGRATE_TYPES; mt++) {
			unsigned long n;

			if (!list_valid(&zone->free_area[o].free_list[mt], pmm->managed_pages, &n))
				return false;
			blocks += n;
		}
		if (blocks != zone->free_area[o].nr_free)
			return false;
		frames += (int64_t)blocks << o;
	}
	return frames == atomic_load_explicit(&zone->free_pages, memory_order_relaxed);
}

/*
 * free_one_page - free a prepared block straight to the buddy lists.
 * Blocks above pageblock order are freed one pageblock at a time, each with
 * its own migratetype, so a free list never holds a block whose pageblocks
 * disagree (kernel split_large_buddy()).
 */
void free_one_page(struct pmm_zone *zone, struct pmm_page *page, pmm_pfn_t pfn,
		   unsigned int order, unsigned int fpi)
{
	const pmm_t *pmm = zone->pmm;
	unsigned int step = order > pmm->pageblock_order ? pmm->pageblock_order : order;
	pmm_pfn_t end = pfn + ((pmm_pfn_t)1 << order);

	zone_lock(zone);
	stat_add(&zone->stats, pgfree, 1UL << order);
	stat_add(&zone->stats, contig_chunks, !!(fpi & FPI_CONTIG_CHUNK));
	for (; pfn < end; pfn += (pmm_pfn_t)1 << step, page += 1L << step)
		__free_one_page_locked(zone, page, pfn, step,
				       get_pageblock_migratetype(zone, pfn));
	PMM_ASSERT_EXPENSIVE(free_area_counts_valid_locked(zone));
	zone_unlock(zone);
}

/*
 * expand - give back the upper halves of a 2^high block, keeping 2^low.
 * Loop invariant: [page, page + 2^high) is still ours.
 */
static void expand_locked(struct pmm_zone *zone, struct pmm_page *page,
			  unsigned int low, unsigned int high, int mt)
{
	unsigned long size = 1UL << high;

	lockdep_assert_held(&zone->lock);
	while (high > low) {
		high--;
		size >>= 1;
		add_to_free_list_locked(zone, page + size, high, mt);
		stat_add(&zone->stats, buddy_split, 1);
	}
}

static struct pmm_page *first_free_page(struct free_area *area, int mt)
{
	struct pmm_list *l = &area->free_list[mt];

	return list_empty(l) ? NULL : container_of(l->next, struct pmm_page, lru);
}

/* Take a block of @order from the smallest sufficient order of list @mt. */
static struct pmm_page *__rmqueue_smallest_locked(struct pmm_zone *zone,
						  unsigned int order, int mt)
{
	lockdep_assert_held(&zone->lock);
	for (unsigned int o = order; o <= zone->pmm->max_order; o++) {
		struct pmm_page *page = first_free_page(&zone->free_area[o], mt);

		if (!page)
			continue;
		del_page_from_free_list_locked(zone, page, o);
		expand_locked(zone, page, order, o, mt);
		trace_mm_page_alloc_zone_locked(zone->pmm, page, order, mt,
						pcp_order_index(zone->pmm, order) >= 0 &&
						mt < PMM_MIGRATE_PCPTYPES);
		return page;
	}
	return NULL;
}

static const int fallbacks[PMM_MIGRATE_PCPTYPES][2] = {
	[PMM_MIGRATE_UNMOVABLE] = { PMM_MIGRATE_RECLAIMABLE, PMM_MIGRATE_MOVABLE },
	[PMM_MIGRATE_MOVABLE] = { PMM_MIGRATE_RECLAIMABLE, PMM_MIGRATE_UNMOVABLE },
	[PMM_MIGRATE_RECLAIMABLE] = { PMM_MIGRATE_UNMOVABLE, PMM_MIGRATE_MOVABLE },
};

static int find_suitable_fallback(struct free_area *area, int mt)
{
	for (int i = 0; i < 2; i++)
		if (!list_empty(&area->free_list[fallbacks[mt][i]]))
			return fallbacks[mt][i];
	return -1;
}

/* Kernel can_steal_fallback(): claim the pageblock when the block found is big
 * or the request is unmovable/reclaimable (those pollute pageblocks). */
static bool can_claim_block(const pmm_t *pmm, unsigned int order, int start_mt)
{
	return order >= pmm->pageblock_order / 2 || start_mt == PMM_MIGRATE_UNMOVABLE ||
	       start_mt == PMM_MIGRATE_RECLAIMABLE;
}

/*
 * The next free block (order <= pageblock_order) whose head lies in
 * [*pfn, end), or NULL; *pfn moves past it. Walks one pageblock's frames.
 */
static struct pmm_page *next_free_block_locked(struct pmm_zone *zone, pmm_pfn_t *pfn,
					       pmm_pfn_t end)
{
	const pmm_t *pmm = zone->pmm;

	lockdep_assert_held(&zone->lock);
	while (*pfn < end) {
		struct pmm_page *page = pfn_present(pmm, *pfn) ? pfn_to_page(pmm, *pfn) : NULL;
		int order = page ? buddy_order_locked(zone, page) : -1;

		if (order >= 0 && (unsigned int)order <= pmm->pageblock_order) {
			*pfn += (pmm_pfn_t)1 << order;
			return page;
		}
		(*pfn)++;
	}
	return NULL;
}

/* Frames free in the pageblock at @pfn. */
static unsigned long pageblock_free_pages_locked(struct pmm_zone *zone, pmm_pfn_t pfn)
{
	pmm_pfn_t p = pageblock_start_pfn(zone->pmm, pfn);
	pmm_pfn_t end = p + pageblock_nr_pages(zone->pmm);
	unsigned long nfree = 0;
	struct pmm_page *page;

	lockdep_assert_held(&zone->lock);
	while ((page = next_free_block_locked(zone, &p, end)))
		nfree += 1UL << page->private;
	return nfree;
}

/*
 * move_freepages_block_locked - move every free block of the pageblock at
 * @pfn to the @new_mt lists and retag the pageblock.
 * Return: frames moved.
 */
unsigned long move_freepages_block_locked(struct pmm_zone *zone, pmm_pfn_t pfn, int new_mt)
{
	pmm_pfn_t p = pageblock_start_pfn(zone->pmm, pfn);
	pmm_pfn_t end = p + pageblock_nr_pages(zone->pmm);
	unsigned long moved = 0;
	struct pmm_page *page;

	lockdep_assert_held(&zone->lock);
	while ((page = next_free_block_locked(zone, &p, end))) {
		list_del(&page->lru);
		list_add_tail(&page->lru, &zone->free_area[page->private].free_list[new_mt]);
		moved += 1UL << page->private;
	}
	set_pageblock_migratetype_locked(zone, pageblock_start_pfn(zone->pmm, pfn), new_mt);
	return moved;
}

/*
 * Take @page (order @cur, on list @fallback_mt) for a @start_mt request of
 * @order: claim its pageblock(s) for @start_mt when the block is big or the
 * pageblock is mostly free, else steal just this block (its leftovers go
 * back to the pageblock's own type, so lists keep matching pageblocks).
 */
static struct pmm_page *steal_suitable_fallback_locked(struct pmm_zone *zone,
						       struct pmm_page *page,
						       unsigned int order, unsigned int cur,
						       int start_mt, int fallback_mt)
{
	const pmm_t *pmm = zone->pmm;
	pmm_pfn_t pfn = page_to_pfn(pmm, page);

	lockdep_assert_held(&zone->lock);
	if (cur >= pmm->pageblock_order) {
		del_page_from_free_list_locked(zone, page, cur);
		set_pageblock_range_mt(zone, pfn, cur, start_mt);
		expand_locked(zone, page, order, cur, start_mt);
		stat_add(&zone->stats, steal_block, 1);
		return page;
	}
	/* A pageblock that is mostly in use keeps its type. */
	if (can_claim_block(pmm, cur, start_mt) &&
	    pageblock_free_pages_locked(zone, pfn) >= pageblock_nr_pages(pmm) / 2) {
		move_freepages_block_locked(zone, pfn, start_mt);
		del_page_from_free_list_locked(zone, page, cur);
		expand_locked(zone, page, order, cur, start_mt);
		stat_add(&zone->stats, steal_block, 1);
		return page;
	}
	del_page_from_free_list_locked(zone, page, cur);
	expand_locked(zone, page, order, cur, fallback_mt);
	stat_add(&zone->stats, steal_page, 1);
	return page;
}

/*
 * Kernel __rmqueue_fallback(): look for the largest block of a fallback
 * type (stealing big blocks fragments least); for a movable request that
 * could not claim the pageblock, take the smallest instead.
 */
static struct pmm_page *__rmqueue_fallback_locked(struct pmm_zone *zone,
						  unsigned int order, int start_mt)
{
	const pmm_t *pmm = zone->pmm;
	struct pmm_page *page;
	int fmt = -1;
	int cur;

	lockdep_assert_held(&zone->lock);
	if (start_mt >= PMM_MIGRATE_PCPTYPES)
		return NULL;
	for (cur = (int)pmm->max_order; cur >= (int)order; cur--) {
		fmt = find_suitable_fallback(&zone->free_area[cur], start_mt);
		if (fmt < 0)
			continue;
		if (start_mt == PMM_MIGRATE_MOVABLE && (unsigned int)cur > order &&
		    !can_claim_block(pmm, (unsigned int)cur, start_mt))
			goto find_smallest;
		goto steal;
	}
	return NULL;

find_smallest:
	for (cur = (int)order; cur <= (int)pmm->max_order; cur++) {
		fmt = find_suitable_fallback(&zone->free_area[cur], start_mt);
		if (fmt >= 0)
			break;
	}
steal:
	page = steal_suitable_fallback_locked(zone, first_free_page(&zone->free_area[cur], fmt),
					      order, (unsigned int)cur, start_mt, fmt);
	trace_mm_page_alloc_extfrag(pmm, page, order, (unsigned int)cur, start_mt, fmt,
				    get_pageblock_migratetype(zone, page_to_pfn(pmm, page)) ==
					    start_mt);
	return page;
}

/*
 * __rmqueue_locked - take a block of 2^@order frames from the buddy lists.
 * @alloc_flags: ALLOC_HIGHATOMIC tries the highatomic reserve first,
 * ALLOC_NON_BLOCK takes it last (kernel rmqueue_buddy()); 0 never touches
 * it (kernel __rmqueue(), the pcp refill).
 * Context: zone->lock held.
 */
struct pmm_page *__rmqueue_locked(struct pmm_zone *zone, unsigned int order, int mt,
				  unsigned int alloc_flags)
{
	struct pmm_page *page = NULL;

	lockdep_assert_held(&zone->lock);
	if (alloc_flags & ALLOC_HIGHATOMIC)
		page = __rmqueue_smallest_locked(zone, order, PMM_MIGRATE_HIGHATOMIC);
	if (!page)
		page = __rmqueue_smallest_locked(zone, order, mt);
	if (!page)
		page = __rmqueue_fallback_locked(zone, order, mt);
	if (!page && (alloc_flags & ALLOC_NON_BLOCK))
		page = __rmqueue_smallest_locked(zone, order, PMM_MIGRATE_HIGHATOMIC);
	if (page) {
		account_freepages_locked(zone, -(1L << order));
		stat_add(&zone->stats, buddy_alloc, 1);
	}
	return page;
}

/* rmqueue_buddy - one block under one zone-lock hold (the non-pcp path). */
struct pmm_page *rmqueue_buddy(struct pmm_zone *zone, unsigned int order, int mt,
			       unsigned int alloc_flags)
{
	struct pmm_page *page;

	zone_lock(zone);
	page = __rmqueue_locked(zone, order, mt, alloc_flags);
	if (page)
		stat_add(&zone->stats, pgalloc, 1UL << order);
	zone_unlock(zone);
	return page;
}

/*
 * reserve_highatomic_pageblock - kernel reserve_highatomic_pageblock():
 * after a high-order atomic allocation succeeds in the slow path (only
 * there: ALLOC_HIGHATOMIC, so an idle instance reserves nothing), set its pageblock aside
 * for later ones (up to 1% of the zone), so that they still find
 * contiguous memory when ordinary allocations have fragmented the rest.
 */
void reserve_highatomic_pageblock(struct pmm_zone *zone, struct pmm_page *page)
{
	const pmm_t *pmm = zone->pmm;
	uint64_t max = zone->managed_pages / 100 + pageblock_nr_pages(pmm);
	pmm_pfn_t pfn = page_to_pfn(pmm, page);
	int mt;

	max &= ~(uint64_t)(pageblock_nr_pages(pmm) - 1);
	if (__atomic_load_n(&zone->nr_reserved_highatomic, __ATOMIC_RELAXED) >= max)
		return;
	zone_lock(zone);
	mt = get_pageblock_migratetype(zone, pfn);
	if (zone->nr_reserved_highatomic < max && migratetype_is_mergeable(mt)) {
		move_freepages_block_locked(zone, pfn, PMM_MIGRATE_HIGHATOMIC);
		account_highatomic_locked(zone, (int64_t)pageblock_nr_pages(pmm));
	}
	zone_unlock(zone);
}

/*
 * unreserve_highatomic_pageblock - give one reserved pageblock back to
 * @mt before an allocation is allowed to fail (kernel
 * unreserve_highatomic_pageblock(), forced).
 * Return: true if a pageblock was released.
 */
bool unreserve_highatomic_pageblock(struct pmm_zone *zone, int mt)
{
	const pmm_t *pmm = zone->pmm;
	bool done = false;

	if (!__atomic_load_n(&zone->nr_reserved_highatomic, __ATOMIC_RELAXED))
		return false;
	zone_lock(zone);
	for (unsigned int o = 0; o <= pmm->max_order && !done; o++) {
		struct pmm_page *page = first_free_page(&zone->free_area[o], PMM_MIGRATE_HIGHATOMIC);
		pmm_pfn_t pfn;

		if (!page)
			continue;
		pfn = page_to_pfn(pmm, page);
		for (unsigned int i = 0; i < (o > pmm->pageblock_order ?
					      1U << (o - pmm->pageblock_order) : 1); i++) {
			pmm_pfn_t pb = pfn + ((pmm_pfn_t)i << pmm->pageblock_order);

			move_freepages_block_locked(zone, pb, mt);
			account_highatomic_locked(zone, -(int64_t)pageblock_nr_pages(pmm));
		}
		done = true;
	}
	zone_unlock(zone);
	return done;
}
