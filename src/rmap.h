/* SPDX-License-Identifier: MIT */
/*
 * rmap.h - reverse mapping of anonymous folios (rmap.c): which folio maps
 * where, as mapcounts. Two models, chosen per fork family:
 *
 *   PMM_MAPCOUNT_PER_PAGE (the 2023 kernel): every page counts its own
 *     mappings (page->mapcount, -1 = none), and a large folio also keeps
 *     large_mapcount (all its PTE mappings - 1) and nr_pages_mapped (pages
 *     with mapcount >= 0). Removing a run of n PTEs touches n page
 *     mapcounts and the two folio counters once.
 *   PMM_MAPCOUNT_FOLIO (mainline CONFIG_NO_PAGE_MAPCOUNT): a large folio
 *     keeps large_mapcount only; its pages' mapcounts stay -1. Removing a
 *     run is one atomic operation. Whether the folio became partially
 *     mapped is judged from the total, as mainline does, so some partial
 *     mappings (every mapper unmapped the same page) go unnoticed.
 *
 * An order-0 folio counts in page->mapcount in both models. Each PTE
 * mapping also holds one folio reference (taken by the mapper).
 */
#ifndef PMM_RMAP_H
#define PMM_RMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "mm.h"
#include "page_flags.h"

/*
 * An anonymous folio's ->mapping: its anon_vma with PAGE_MAPPING_ANON set,
 * and PAGE_MAPPING_FOLIO_MODEL when the family counts mappings per folio,
 * so that pmm_page_mapcount() knows the model without dereferencing the
 * anon_vma (which goes with the family's last mm, while a caller may still
 * hold a reference on one of its folios).
 */
#define PAGE_MAPPING_ANON 0x1UL
#define PAGE_MAPPING_FOLIO_MODEL 0x2UL
#define PAGE_MAPPING_FLAGS (PAGE_MAPPING_ANON | PAGE_MAPPING_FOLIO_MODEL)

static inline void *anon_mapping(const struct anon_vma *av)
{
	return (void *)((uintptr_t)av | PAGE_MAPPING_ANON |
			(av->model == PMM_MAPCOUNT_FOLIO ? PAGE_MAPPING_FOLIO_MODEL : 0));
}

static inline struct anon_vma *folio_anon_vma(const struct pmm_folio *folio)
{
	uintptr_t m = (uintptr_t)folio->page.mapping;

	return (m & PAGE_MAPPING_ANON) ? (struct anon_vma *)(m & ~PAGE_MAPPING_FLAGS) : NULL;
}

static inline bool folio_counts_per_folio(const struct pmm_folio *folio)
{
	return (uintptr_t)folio->page.mapping & PAGE_MAPPING_FOLIO_MODEL;
}

static inline bool folio_test_anon(const struct pmm_folio *folio)
{
	return (uintptr_t)folio->page.mapping & PAGE_MAPPING_ANON;
}

/* Every PTE mapping of the folio, whichever page it maps. */
static inline int folio_mapcount(const struct pmm_folio *folio)
{
	if (folio_test_large(folio))
		return atomic_load_explicit(&((struct pmm_folio *)folio)->large_mapcount,
					    memory_order_relaxed) + 1;
	return atomic_load_explicit(&((struct pmm_page *)&folio->page)->mapcount,
				    memory_order_relaxed) + 1;
}

static inline bool folio_mapped(const struct pmm_folio *folio)
{
	return folio_mapcount(folio) > 0;
}

/* Map a new folio at @addr once (every page), for the fork family @av. */
void folio_add_new_anon_rmap(struct pmm_folio *folio, struct anon_vma *av, uint64_t addr);
/* Fork: @nr more PTEs map @nr pages of @folio from @page (one update per run). */
void folio_dup_anon_rmap_ptes(struct pmm_folio *folio, struct pmm_page *page, int nr,
			      enum pmm_mapcount_model model);
/*
 * Unmap: @nr PTEs mapping @nr pages of @folio from @page went away. A large
 * folio left partially mapped is queued for deferred split; one left
 * unmapped is taken off the queue. Context: the caller holds the mappings'
 * references (they are dropped later, by the mmu_gather).
 */
void folio_remove_rmap_ptes(pmm_t *pmm, struct pmm_folio *folio, struct pmm_page *page, int nr,
			    enum pmm_mapcount_model model);

#endif /* PMM_RMAP_H */
