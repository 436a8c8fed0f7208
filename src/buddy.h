/* SPDX-License-Identifier: MIT */
/*
 * buddy.h - the buddy allocator's interface (buddy.c): free_area lists,
 * pageblock migratetypes, __free_one_page, __rmqueue, the highatomic
 * reserve, and the alloc_flags the slow path hands down.
 *
 * A free block's head has PG_buddy and its order in ->private; its other
 * pages have no flags. All of it is guarded by zone->lock.
 */
#ifndef PMM_BUDDY_H
#define PMM_BUDDY_H

#include <stdbool.h>

#include "mmzone.h"
#include "page_flags.h"

/*
 * alloc_flags: what the slow path lets a request do (kernel
 * gfp_to_alloc_flags()); the fast path passes 0, so every request sees the
 * plain low watermark there, as in the kernel.
 */
#define ALLOC_NON_BLOCK (1u << 0)	/* cannot wait (NOWAIT): may take the highatomic reserve last */
#define ALLOC_HIGHATOMIC (1u << 1)	/* non-blocking and order > 0: uses and makes the reserve */
#define ALLOC_MIN_RESERVE (1u << 2)	/* PMM_GFP_HIGH: half of the min watermark */
#define ALLOC_DEEP_RESERVE (1u << 3)	/* PMM_GFP_ATOMIC_RES: a further quarter of it */
/* Requests that may count the highatomic reserve as free (kernel ALLOC_RESERVES). */
#define ALLOC_RESERVES (ALLOC_NON_BLOCK | ALLOC_HIGHATOMIC | ALLOC_MIN_RESERVE | ALLOC_DEEP_RESERVE)

/* fpi_t: how a free is done */
#define FPI_NONE 0u
#define FPI_PREPARED (1u << 0)	/* free_pages_prepare() already ran */
#define FPI_CONTIG_CHUNK (1u << 1)	/* a chunk of the batched contig path (counted) */

/* @pfn's pageblock byte. Precondition: @pfn lies in @zone (pb_base is pageblock-aligned). */
static inline uint8_t *pageblock_mt_byte(const struct pmm_zone *zone, pmm_pfn_t pfn)
{
	return (uint8_t *)(zone->pageblock_mt_pfn + (uintptr_t)(pfn >> zone->pageblock_order));
}

static inline int get_pageblock_migratetype(const struct pmm_zone *zone, pmm_pfn_t pfn)
{
	return __atomic_load_n(pageblock_mt_byte(zone, pfn), __ATOMIC_RELAXED);
}

/* Is @buddy the free head of an order-@order block of @zone? */
static inline bool page_is_buddy(const struct pmm_zone *zone, const struct pmm_page *buddy,
				 unsigned int order)
{
	return PageBuddy(buddy) && buddy->private == order && page_zone_id(buddy) == zone->id;
}

/*
 * buddy_order_locked - the order of the free block whose head is @page, or
 * -1 if @page heads no free block of @zone. For scanners that walk pfns:
 * PG_buddy is tested first because a page that is not free belongs to its
 * owner, who may be writing ->private; a free head's private is stable
 * under the zone lock (kernel PageBuddy() before buddy_order()).
 * Context: zone->lock held.
 */
static inline int buddy_order_locked(const struct pmm_zone *zone, const struct pmm_page *page)
{
	lockdep_assert_held(&((struct pmm_zone *)zone)->lock);
	if (!PageBuddy(page) || page_zone_id(page) != zone->id)
		return -1;
	return (int)page->private;
}

/*
 * account_freepages_locked - zone->free_pages is written under zone->lock
 * and read racily by watermark checks.
 */
static inline void account_freepages_locked(struct pmm_zone *zone, long nr)
{
	lockdep_assert_held(&zone->lock);
	atomic_store_explicit(&zone->free_pages,
			      atomic_load_explicit(&zone->free_pages, memory_order_relaxed) + nr,
			      memory_order_relaxed);
}

/* The free lists' two primitives, inline on every merge, split and take (kernel page_alloc.c). */
static inline void add_to_free_list_locked(struct pmm_zone *zone, struct pmm_page *page,
					   unsigned int order, int mt)
{
	struct free_area *area = &zone->free_area[order];

	lockdep_assert_held(&zone->lock);
	page->private = order;
	__SetPageBuddy(page);		/* free: every writer holds zone->lock */
	list_add(&page->lru, &area->free_list[mt]);
	area->nr_free++;
}

static inline void del_page_from_free_list_locked(struct pmm_zone *zone, struct pmm_page *page,
						  unsigned int order)
{
	lockdep_assert_held(&zone->lock);
	list_del(&page->lru);
	__ClearPageBuddy(page);
	page->private = 0;
	zone->free_area[order].nr_free--;
}

/* Context for every _locked function below: zone->lock held. */
void set_pageblock_migratetype_locked(struct pmm_zone *zone, pmm_pfn_t pfn, int mt);
void __free_one_page_locked(struct pmm_zone *zone, struct pmm_page *page,
			    pmm_pfn_t pfn, unsigned int order, int mt);
unsigned long move_freepages_block_locked(struct pmm_zone *zone, pmm_pfn_t pfn, int new_mt);
struct pmm_page *__rmqueue_locked(struct pmm_zone *zone, unsigned int order, int mt,
				  unsigned int alloc_flags);
/* Take zone->lock themselves: */
void free_one_page(struct pmm_zone *zone, struct pmm_page *page, pmm_pfn_t pfn,
		   unsigned int order, unsigned int fpi);
struct pmm_page *rmqueue_buddy(struct pmm_zone *zone, unsigned int order, int mt,
			       unsigned int alloc_flags);
void reserve_highatomic_pageblock(struct pmm_zone *zone, struct pmm_page *page);
bool unreserve_highatomic_pageblock(struct pmm_zone *zone, int mt);
/* Validator (pmm_check, PMM_ASSERT_EXPENSIVE): nr_free and free_pages match the lists. */
bool free_area_counts_valid_locked(struct pmm_zone *zone);

#endif /* PMM_BUDDY_H */
