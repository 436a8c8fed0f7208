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

/* contig_put_prepare() for everything but a clean order-0 page (contig.c). */
bool contig_put_prepare_slow(pmm_t *pmm, struct pmm_page *page, bool frozen);

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
 *
 * The common case, a clean order-0 page whose reference is the caller's
 * only one, is decided from one read of each word: the count, read first
 * with acquire together with the mapcount beside it (page->counts; the
 * reference-drop rule, page_ref.h), says that nobody else holds the page,
 * so the flags read after it are final. This loop
 * runs 512 times per order-9 range and is bound by its loads and stores;
 * anything else takes the slow path, which checks in the documented order.
 */
static inline bool contig_put_prepare(pmm_t *pmm, struct pmm_page *page, const bool frozen)
{
	uint64_t counts = page_counts_acquire(page);
	uint64_t f = page_flags(page);

	/* the count and the mapcount (unmapped) in one read */
	if (likely(counts == PAGE_COUNTS(-1, !frozen) && page_flags_clean_for_free(page, f))) {
		if (!frozen)
			set_page_count_unmapped(page, 0);
		page_prepare_clean(page, f & ~(PF(PG_owned) | PF(PG_dirty)));
		return true;
	}
	return contig_put_prepare_slow(pmm, page, frozen);
}

/*
 * contig_prepare_run - contig_put_prepare() on each page of [@page, @last)
 * in turn, stopping at the first that stays (a reference kept or a check
 * failed): the batched path's whole per-page loop, which the benchmark's
 * floor calls too, so that the floor is this loop and nothing else. Out of
 * line (contig.c), one call per run: in a function of its own the loop
 * keeps its few values in registers that need no extra address byte, and
 * fits one 64-byte line of code (inlined into the range walk it took 71
 * bytes, two lines).
 * Return: the first page not prepared, @last if every page was.
 */
struct pmm_page *contig_prepare_run(pmm_t *pmm, struct pmm_page *page, struct pmm_page *last,
				    bool frozen);

#endif /* PMM_CONTIG_H */
