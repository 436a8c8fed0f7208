/* SPDX-License-Identifier: MIT */
/*
 * rmap.c - adding and removing anonymous mappings in both mapcount models
 * (rmap.h), with the deferred split decisions of the kernel's
 * __folio_remove_rmap(): a large folio is queued when a page lost its last
 * mapping while another page is still mapped, and never when the removal
 * took its last mapping.
 */
#include "deferred_split.h"
#include "rmap.h"

void folio_add_new_anon_rmap(struct pmm_folio *folio, struct anon_vma *av, uint64_t addr)
{
	unsigned long nr = folio_nr_pages(folio);

	/* A new folio: no other thread can see it before it is mapped. */
	folio->page.mapping = anon_mapping(av);
	folio->page.index = addr >> PT_PAGE_SHIFT;
	if (!folio_test_large(folio)) {
		atomic_store_explicit(&folio->page.mapcount, 0, memory_order_relaxed);
		return;
	}
	atomic_store_explicit(&folio->large_mapcount, (int)nr - 1, memory_order_relaxed);
	if (av->model == PMM_MAPCOUNT_PER_PAGE) {
		for (unsigned long i = 0; i < nr; i++)
			atomic_store_explicit(&folio_page(folio, i)->mapcount, 0, memory_order_relaxed);
		atomic_store_explicit(&folio->nr_pages_mapped, (int)nr, memory_order_relaxed);
	}
}

void folio_dup_anon_rmap_ptes(struct pmm_folio *folio, struct pmm_page *page, int nr,
			      enum pmm_mapcount_model model)
{
	if (!folio_test_large(folio)) {
		atomic_fetch_add_explicit(&page->mapcount, 1, memory_order_relaxed);
		return;
	}
	/* The pages are mapped already (by the parent): nr_pages_mapped stays. */
	if (model == PMM_MAPCOUNT_PER_PAGE)
		for (int i = 0; i < nr; i++)
			atomic_fetch_add_explicit(&page[i].mapcount, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&folio->large_mapcount, nr, memory_order_relaxed);
}

void folio_remove_rmap_ptes(pmm_t *pmm, struct pmm_folio *folio, struct pmm_page *page, int nr,
			    enum pmm_mapcount_model model)
{
	bool partially_mapped;
	int left;

	PMM_BUG_ON_PAGE(!folio_test_anon(folio), &folio->page);
	if (!folio_test_large(folio)) {
		PMM_BUG_ON_PAGE(nr != 1, page);
		atomic_fetch_sub_explicit(&page->mapcount, 1, memory_order_relaxed);
		return;
	}
	if (model == PMM_MAPCOUNT_PER_PAGE) {
		int unmapped = 0;

		for (int i = 0; i < nr; i++)
			unmapped += atomic_fetch_sub_explicit(&page[i].mapcount, 1,
							      memory_order_relaxed) == 0;
		/* seq_cst: deferred_split_unqueue()'s flag test must not pass it (deferred_split.c) */
		atomic_fetch_sub_explicit(&folio->large_mapcount, nr, memory_order_seq_cst);
		if (!unmapped)
			return;		/* every page still mapped elsewhere */
		left = atomic_fetch_sub_explicit(&folio->nr_pages_mapped, unmapped,
						 memory_order_relaxed) - unmapped;
		partially_mapped = left > 0;
	} else {
		left = atomic_fetch_sub_explicit(&folio->large_mapcount, nr,
						 memory_order_seq_cst) - nr + 1;
		partially_mapped = left > 0 && (unsigned long)left < folio_nr_pages(folio);
	}
	if (partially_mapped)
		deferred_split_folio(pmm, folio);
	else if (!left)
		deferred_split_unqueue(pmm, folio);
}
