/* SPDX-License-Identifier: MIT */
/*
 * contig.h - contiguous ranges of order-0 pages (contig.c): the per-page
 * primitive both free_contig_range paths share, and the batched free of
 * prepared runs that other mechanisms (alloc_pages_exact, the deferred
 * split, the benchmark's floor) call directly.
 */
#ifndef PMM_CONTIG_H
#define PMM_CONTIG_H

#include <stdbool.h>

#include "page_alloc.h"

/* Free a run of prepared order-0 pages as maximal aligned chunks; one section, one zone. */
void free_prepared_contig_range(pmm_t *pmm, struct pmm_page *page, pmm_pfn_t pfn,
				unsigned long nr);
/* Both public free_contig_range calls after their argument checks. */
void free_contig_range_common(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr_pages,
			      bool frozen);

/*
 * contig_put_prepare - the per-page work of both free_contig_range paths
 * (and of the benchmark's floor): drop the caller's reference and run the
 * free checks. Only an order-0 page may be freed here: the head of a block
 * that was never split, or of a folio, is refused before its reference is
 * touched (freeing it as one page would lose its tails). A frozen page has
 * no reference to drop, but its count must really be 0. The caller fires
 * the mm_page_free probe: the batched path tests for a tracer once per
 * range and then fires it for every page of the range, so that its
 * per-page loop carries no test.
 */
static inline bool contig_put_prepare(pmm_t *pmm, struct pmm_page *page, const bool frozen)
{
	if (unlikely(page->alloc_order || PageHead(page))) {
		bad_page_report(pmm, page, "free_contig_range: not an order-0 page (split it first)");
		return false;
	}
	if (frozen ? unlikely(page_ref_count(page)) : !page_ref_put_testzero(pmm, page)) {
		if (frozen)
			bad_page_report(pmm, page, "frozen range: page has references");
		return false;
	}
	return free_pages_prepare_untraced(pmm, page, 0);
}

#endif /* PMM_CONTIG_H */
