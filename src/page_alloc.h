/* SPDX-License-Identifier: MIT */
/*
 * page_alloc.h - the free path's checks and entry points (page_alloc.c):
 * free_pages_prepare() inline for the common order-0 case, the frozen-page
 * free that every path ends in, and the test every public call applies to
 * a page pointer it is handed.
 */
#ifndef PMM_PAGE_ALLOC_H
#define PMM_PAGE_ALLOC_H

#include <stdbool.h>

#include "internal.h"
#include "memmap.h"
#include "page_flags.h"
#include "page_ref.h"
#include "trace.h"

bool free_pages_prepare_slow(pmm_t *pmm, struct pmm_page *page, unsigned int order);
void free_frozen_pages(pmm_t *pmm, struct pmm_page *page, unsigned int order,
		       unsigned int fpi);
/*
 * Kernel gfp_migratetype(): MOVABLE, else RECLAIMABLE, else UNMOVABLE
 * (MOVABLE wins if a caller sets both). Tests, not a table: the order-0
 * hit branches on them to a pop whose list is a constant.
 */
static inline int gfp_migratetype(pmm_gfp_t gfp)
{
	if (gfp & PMM_GFP_MOVABLE)
		return PMM_MIGRATE_MOVABLE;
	return gfp & PMM_GFP_RECLAIMABLE ? PMM_MIGRATE_RECLAIMABLE : PMM_MIGRATE_UNMOVABLE;
}

/* A page pointer handed in by a caller: ours and managed? Reported if not. */
static inline bool page_valid_for_free(pmm_t *pmm, const struct pmm_page *page, const char *what)
{
	if (likely(page_belongs(pmm, page)))
		return true;
	report_foreign_page(pmm, what);
	return false;
}

/*
 * page_clean_for_free - the free checks' common case (kernel
 * free_page_is_bad() finding nothing), from the page's flags word @f: an
 * order-0 page handed out (PG_owned, not a compound head, no alloc_order)
 * with no flag, mapping or mapcount left that the free would refuse. Every
 * fast free path asks this one question (free_pcp_fast() with the zone id
 * in the same test of the flags) and leaves the rest, reports included, to
 * its general path (free_pages_prepare_slow(), contig_put_prepare_slow(),
 * pmm_free_pages()'s free_pages_checked()).
 */
static inline bool page_flags_clean_for_free(const struct pmm_page *page, uint64_t f)
{
	return (f & (PAGE_FLAGS_CHECK_AT_FREE | PF(PG_owned) | PF(PG_head) | PAGE_ORDER_FIELD)) ==
		       PF(PG_owned) &&
	       !page->mapping;
}

static inline bool page_clean_for_free(const struct pmm_page *page, uint64_t f)
{
	return page_flags_clean_for_free(page, f) &&
	       atomic_load_explicit(&((struct pmm_page *)page)->mapcount, memory_order_relaxed) == -1;
}

/*
 * page_prepare_clean - free_pages_prepare()'s clean-up of such a page:
 * store @f, its flags without PG_owned and PG_dirty (plus whatever the
 * caller's free path sets with them), and drop the owner data. Stored
 * without a test of what was there: in a contig range's loop over 512
 * pages a load, a test and a branch per page cost more than one 16-byte
 * store into a line the loop writes anyway.
 * Precondition: refcount 0; nobody else sees the page.
 */
static inline void page_prepare_clean(struct pmm_page *page, uint64_t f)
{
	__page_flags_store(page, f);
	page->private = 0;
	page->index = 0;
}

/*
 * free_pages_prepare - the checks and clean-up every freed block gets
 * (kernel free_pages_prepare()). The common case, a clean order-0 page, is
 * decided inline; everything else (reports, compound and high-order
 * blocks) is out of line. A block that fails is reported and leaked when
 * the caller owns it.
 * Precondition: the refcount is 0 (its last reference was just dropped, or
 * the caller checked a frozen page), so the fast path does not reread it,
 * and no other thread can see the page: its flags change with plain stores.
 * Return: true if the block may go to a free list.
 */
static inline bool free_pages_prepare_untraced(pmm_t *pmm, struct pmm_page *page,
					       unsigned int order)
{
	uint64_t f = page_flags(page);

	PMM_BUG_ON_PAGE(page_ref_count(page), page);
	if (likely(!order && page_clean_for_free(page, f))) {
		page_prepare_clean(page, f & ~(PF(PG_owned) | PF(PG_dirty)));
		return true;
	}
	return free_pages_prepare_slow(pmm, page, order);
}

/* ... with the mm_page_free probe first, where the kernel has it. */
static inline bool free_pages_prepare(pmm_t *pmm, struct pmm_page *page, unsigned int order)
{
	trace_mm_page_free(pmm, page, order);
	return free_pages_prepare_untraced(pmm, page, order);
}

#endif /* PMM_PAGE_ALLOC_H */
