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

/*
 * memmap_chunk_find - the present section whose memmap holds address @p,
 * found from the chunk addresses alone (the granule index, else a binary
 * search over the sorted chunk table) so that a pointer into unreadable
 * memory is never read.
 * Return: the chunk (its base and first pfn), or NULL when @p is in none.
 */
static __always_inline const struct memmap_chunk *memmap_chunk_find(const pmm_t *pmm, uintptr_t p)
{
	const struct memmap_chunk *c = pmm->chunks;
	uint64_t n = pmm->nr_chunks;

	if (likely(pmm->chunk_index)) {
		/* below chunk_lo wraps to a huge granule */
		uint64_t g = (p - pmm->chunk_lo) >> (pmm->pfn_section_shift + PAGE_STRUCT_SHIFT);
		uint32_t i;

		if (g >= pmm->nr_granules)
			return NULL;
		i = pmm->chunk_index[g];
		if (c[i].base > p) {
			if (!i)
				return NULL;
			i--;
		}
		c += i;
		n = 1;
	}
	while (n > 1) {
		uint64_t half = n / 2;

		if (c[half].base <= p)
			c += half;
		n -= half;
	}
	if (!n || p < c->base ||
	    p - c->base >= (sizeof(struct pmm_page) << pmm->pfn_section_shift))
		return NULL;
	return c;
}

/*
 * page_placed_pfn - does @page point at a struct page of this instance's
 * memmap? From the address alone, so a pointer into unreadable memory is
 * never read; NULL and a misaligned pointer fail the range and the offset
 * tests like any other. If it does, *@pfn is its frame, from the same
 * arithmetic (the order-0 free needs both). Always inline: that free runs
 * it, and there the page's flags, read next anyway, refuse a PG_reserved
 * hole.
 */
static __always_inline bool page_placed_pfn(const pmm_t *pmm, const struct pmm_page *page,
					    pmm_pfn_t *pfn)
{
	uintptr_t p = (uintptr_t)page, off;

	if (pmm->vmemmap) {
		uint64_t idx;

		off = p - (uintptr_t)pmm->vmemmap;
		if (off >= pmm->memmap_bytes)	/* below the base wraps */
			return false;
		idx = off / sizeof(*page);
		if (!pmm->sections[idx >> pmm->pfn_section_shift].memmap)
			return false;
		*pfn = (pmm->first_section << pmm->pfn_section_shift) + idx;
	} else {
		const struct memmap_chunk *c = memmap_chunk_find(pmm, p);

		if (!c)
			return false;
		off = p - c->base;
		*pfn = c->start_pfn + off / sizeof(*page);
	}
	return !(off % sizeof(*page));
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
