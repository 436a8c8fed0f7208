/* SPDX-License-Identifier: MIT */
/*
 * memmap.h - pfn <-> page in both memmap models, and placing a page
 * pointer a caller hands in (memmap.c has the storage and the backing).
 */
#ifndef PMM_MEMMAP_H
#define PMM_MEMMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "mmzone.h"
#include "page_flags.h"

int memmap_init(pmm_t *pmm);
void memmap_exit(pmm_t *pmm);
bool pfn_present(const pmm_t *pmm, pmm_pfn_t pfn);	/* in a present section */
bool pfn_managed(const pmm_t *pmm, pmm_pfn_t pfn);	/* present and not a hole */

/* The frame's page. Precondition: @pfn lies in a present section. */
static inline struct pmm_page *pfn_to_page(const pmm_t *pmm, pmm_pfn_t pfn)
{
	if (pmm->vmemmap)
		return pmm->vmemmap + (pfn - (pmm->first_section << pmm->pfn_section_shift));
	const struct mem_section *ms = &pmm->sections[pfn_section_nr(pmm, pfn)];
	return ms->memmap + (pfn - ms->start_pfn);
}

/* Precondition: @page is a page of this instance's memmap. */
static inline pmm_pfn_t page_to_pfn(const pmm_t *pmm, const struct pmm_page *page)
{
	if (pmm->vmemmap)
		return (pmm_pfn_t)(page - pmm->vmemmap) + (pmm->first_section << pmm->pfn_section_shift);
	const struct mem_section *ms = &pmm->sections[page_section(page)];
	return ms->start_pfn + (pmm_pfn_t)(page - ms->memmap);
}

/* The frame's direct-map address. Precondition: a backed instance. */
static inline void *pfn_to_virt(const pmm_t *pmm, pmm_pfn_t pfn)
{
	return pmm->direct_map + ((pfn - pmm->min_pfn) << pmm->page_shift);
}

#define PLACE_NONE UINT64_MAX	/* a placement granule in no chunk (odd: no bias is) */

/* page_placed_pfn() for chunks without a placement table (memmap.c). */
bool page_placed_search(const pmm_t *pmm, uintptr_t p, pmm_pfn_t *pfn);

/*
 * page_placed_table - does the placement table put @page at a struct page
 * of this instance's memmap, and if so, *@pfn is its frame? From the
 * address alone, so a pointer into unreadable memory is never read: the
 * granule it falls in says which chunk's memmap, if any, is there, and
 * the page must sit on a struct page boundary of it (every chunk's base
 * is granule-aligned, at least 128 bytes, so the address's own low bits
 * say). False for a pointer outside the table too, which only the binary
 * search could still place (page_placed_pfn()): the order-0 free, which
 * runs this, sends whatever it refuses to the general path, and there
 * the page's flags, read next anyway, refuse a PG_reserved hole.
 */
static __always_inline bool page_placed_table(const pmm_t *pmm, const struct pmm_page *page,
					      pmm_pfn_t *pfn)
{
	uintptr_t p = (uintptr_t)page;
	uint64_t g = (p - pmm->place_lo) >> pmm->place_shift;	/* below place_lo wraps */
	uint64_t bias;

	if (g >= pmm->nr_granules)
		return false;
	bias = pmm->place_bias[g];
	if (bias == PLACE_NONE || p % sizeof(*page))
		return false;
	*pfn = bias + p / sizeof(*page);
	return true;
}

/* page_placed_table(), and the binary search where there is no table. */
static inline bool page_placed_pfn(const pmm_t *pmm, const struct pmm_page *page, pmm_pfn_t *pfn)
{
	if (likely(pmm->nr_granules))
		return page_placed_table(pmm, page, pfn);
	return page_placed_search(pmm, (uintptr_t)page, pfn);
}

/* page_placed_pfn() without the pfn. */
static __always_inline bool page_placed(const pmm_t *pmm, const struct pmm_page *page)
{
	pmm_pfn_t pfn;

	return page_placed_pfn(pmm, page, &pfn);
}

/*
 * page_belongs - is @page a managed page of this instance? Used on pointers
 * callers hand in, so it must not trust the page: the pointer is placed in
 * a memmap chunk by address first, and only then are its flags read.
 */
static inline bool page_belongs(const pmm_t *pmm, const struct pmm_page *page)
{
	return page_placed(pmm, page) && !PageReserved(page);
}

#endif /* PMM_MEMMAP_H */
