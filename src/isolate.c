/* SPDX-License-Identifier: MIT */
/*
 * isolate.c - pageblock isolation for alloc_contig_range (kernel
 * mm/page_isolation.c): pageblocks of a range are retagged MIGRATE_ISOLATE
 * so that nothing allocates from them while the range is taken; their
 * free pages sit on the ISOLATE lists, which no allocation looks at, and
 * frees into them bypass the pcp. Undo restores each pageblock's old type
 * and lets its free pages merge again.
 */
#include "buddy.h"
#include "internal.h"
#include "memmap.h"

static unsigned long pb_index(const struct isolation *iso, const pmm_t *pmm, pmm_pfn_t pfn)
{
	return (unsigned long)((pfn - iso->pb_start) >> pmm->pageblock_order);
}

/*
 * A free block larger than a pageblock that overlaps the pageblock at @pfn
 * is cut into pageblocks, each freed with its own (maybe ISOLATE) type, so
 * that no list holds a block whose pageblocks disagree.
 */
static void split_large_buddy_locked(struct pmm_zone *zone, pmm_pfn_t pfn)
{
	const pmm_t *pmm = zone->pmm;

	lockdep_assert_held(&zone->lock);
	for (unsigned int o = pmm->pageblock_order + 1; o <= pmm->max_order; o++) {
		pmm_pfn_t head = pfn & ~(((pmm_pfn_t)1 << o) - 1);
		struct pmm_page *page;

		if (!pfn_present(pmm, head))
			continue;
		page = pfn_to_page(pmm, head);
		if (!page_is_buddy(zone, page, o))
			continue;
		del_page_from_free_list_locked(zone, page, o);
		account_freepages_locked(zone, -(1L << o));
		for (pmm_pfn_t q = head; q < head + ((pmm_pfn_t)1 << o); q += pageblock_nr_pages(pmm))
			__free_one_page_locked(zone, pfn_to_page(pmm, q), q, pmm->pageblock_order,
					       get_pageblock_migratetype(zone, q));
		return;
	}
}

/*
 * start_isolate_page_range - isolate the pageblocks covering [start, end).
 * Return: 0; -PMM_EBUSY if one is already isolated (another contig
 * allocation works there); -PMM_ENOMEM.
 */
int start_isolate_page_range(struct pmm_zone *zone, pmm_pfn_t start, pmm_pfn_t end,
			     struct isolation *iso)
{
	const pmm_t *pmm = zone->pmm;
	const pmm_pfn_t pb = pageblock_nr_pages(pmm);

	iso->pb_start = pageblock_start_pfn(pmm, start);
	iso->pb_end = pageblock_start_pfn(pmm, end + pb - 1);
	iso->nr = (unsigned long)((iso->pb_end - iso->pb_start) >> pmm->pageblock_order);
	iso->saved = meta_alloc(zone->pmm, iso->nr);
	if (!iso->saved)
		return -PMM_ENOMEM;

	zone_lock(zone);
	for (pmm_pfn_t p = iso->pb_start; p < iso->pb_end; p += pb) {
		int mt = get_pageblock_migratetype(zone, p);

		if (mt == PMM_MIGRATE_ISOLATE) {
			zone_unlock(zone);
			meta_free(zone->pmm, iso->saved, iso->nr);
			return -PMM_EBUSY;
		}
		iso->saved[pb_index(iso, pmm, p)] = (uint8_t)mt;
	}
	for (pmm_pfn_t p = iso->pb_start; p < iso->pb_end; p += pb)
		move_freepages_block_locked(zone, p, PMM_MIGRATE_ISOLATE);
	for (pmm_pfn_t p = iso->pb_start; p < iso->pb_end; p += pb)
		split_large_buddy_locked(zone, p);
	zone_unlock(zone);
	return 0;
}

/*
 * undo_isolate_page_range - give every pageblock its saved type back, then
 * refree each free block of the range, a pageblock at a time, so that it
 * merges with its (now compatible) buddies. Blocks above pageblock order
 * exist here: two isolated pageblocks merge with each other.
 */
void undo_isolate_page_range(struct pmm_zone *zone, struct isolation *iso)
{
	const pmm_t *pmm = zone->pmm;
	const pmm_pfn_t pb = pageblock_nr_pages(pmm);

	zone_lock(zone);
	for (pmm_pfn_t p = iso->pb_start; p < iso->pb_end; p += pb)
		set_pageblock_migratetype_locked(zone, p, iso->saved[pb_index(iso, pmm, p)]);
	for (pmm_pfn_t q = iso->pb_start; q < iso->pb_end;) {
		struct pmm_page *page = pfn_present(pmm, q) ? pfn_to_page(pmm, q) : NULL;
		int order = page ? buddy_order_locked(zone, page) : -1;
		unsigned int o, step;

		if (order < 0) {
			q++;
			continue;
		}
		o = (unsigned int)order;
		step = o < pmm->pageblock_order ? o : pmm->pageblock_order;
		del_page_from_free_list_locked(zone, page, o);
		account_freepages_locked(zone, -(1L << o));
		for (pmm_pfn_t r = q; r < q + ((pmm_pfn_t)1 << o); r += (pmm_pfn_t)1 << step)
			__free_one_page_locked(zone, pfn_to_page(pmm, r), r, step,
					       get_pageblock_migratetype(zone, r));
		q += (pmm_pfn_t)1 << o;
	}
	PMM_ASSERT_EXPENSIVE(free_area_counts_valid_locked(zone));
	zone_unlock(zone);
	meta_free(zone->pmm, iso->saved, iso->nr);
	iso->saved = NULL;
}

/* The free block containing @pfn, or 0 with *head untouched. */
static bool find_buddy_block(struct pmm_zone *zone, pmm_pfn_t pfn, pmm_pfn_t *head)
{
	const pmm_t *pmm = zone->pmm;

	for (unsigned int o = 0; o <= pmm->max_order; o++) {
		pmm_pfn_t h = pfn & ~(((pmm_pfn_t)1 << o) - 1);
		struct pmm_page *page = pfn_to_page(pmm, h);

		if (page_is_buddy(zone, page, o)) {
			*head = h;
			return true;
		}
	}
	return false;
}

/*
 * take_isolated_range - take the free blocks covering [start, end) off the
 * ISOLATE lists, all or nothing, in one zone-lock hold. Every frame of the
 * blocks becomes a frozen order-0 page (PG_owned, refcount 0).
 * @outer_start, @outer_end: the blocks' span, a superset of the range.
 * Return: 0, or -PMM_EBUSY if some frame in the range is not free.
 */
int take_isolated_range(struct pmm_zone *zone, pmm_pfn_t start, pmm_pfn_t end,
			pmm_pfn_t *outer_start, pmm_pfn_t *outer_end)
{
	const pmm_t *pmm = zone->pmm;
	pmm_pfn_t pfn, first;

	zone_lock(zone);
	if (!find_buddy_block(zone, start, &first))
		goto busy;
	for (pfn = first; pfn < end;) {
		int order = buddy_order_locked(zone, pfn_to_page(pmm, pfn));

		if (order < 0)
			goto busy;
		pfn += (pmm_pfn_t)1 << order;
	}
	*outer_start = first;
	*outer_end = pfn;
	for (pfn = first; pfn < *outer_end;) {
		struct pmm_page *page = pfn_to_page(pmm, pfn);
		unsigned int o = (unsigned int)page->private;

		del_page_from_free_list_locked(zone, page, o);
		account_freepages_locked(zone, -(1L << o));
		for (unsigned long i = 0; i < (1UL << o); i++)
			__SetPageOwned(&page[i]);	/* off the free lists, under zone->lock */
		pfn += (pmm_pfn_t)1 << o;
	}
	stat_add(&zone->stats, pgalloc, *outer_end - first);
	zone_unlock(zone);
	return 0;
busy:
	zone_unlock(zone);
	return -PMM_EBUSY;
}
