/* SPDX-License-Identifier: MIT */
/*
 * folio.c - compound pages (folios), split_page and alloc_pages_exact.
 *
 * A folio of order n > 0 is a head page with PG_head and 2^n - 1 tails
 * whose compound_head points at the head with bit 0 set. The order and the
 * folio-wide mapcounts live in the first tail, the deferred-split link in
 * the second (struct pmm_folio). Only the head holds references.
 */
#include "contig.h"
#include "internal.h"
#include "page_alloc.h"
#include "rmap.h"

/* Kernel prep_compound_page(): link the tails and reset the folio counters. */
void prep_compound_page(struct pmm_page *page, unsigned int order)
{
	struct pmm_folio *folio = (struct pmm_folio *)page;
	uintptr_t link = (uintptr_t)page | 1;

	__SetPageHead(page);		/* being allocated: not yet visible to others */
	for (unsigned long i = 1; i < (1UL << order); i++)
		page[i].compound_head = link;
	folio->order_1 = order;
	atomic_store_explicit(&folio->large_mapcount, -1, memory_order_relaxed);
	atomic_store_explicit(&folio->entire_mapcount, -1, memory_order_relaxed);
	atomic_store_explicit(&folio->nr_pages_mapped, 0, memory_order_relaxed);
	atomic_store_explicit(&folio->pincount, 0, memory_order_relaxed);
	if (order >= 2)
		list_init(&folio->deferred_list);
}

static void clear_folio_fields(struct pmm_folio *folio, unsigned int order)
{
	/* Page 1's mapping/index words held the folio counters: back to "unused". */
	folio->page.compound_head = 0;
	(&folio->page)[1].mapping = NULL;
	(&folio->page)[1].index = 0;
	(&folio->page)[1].tail_word = 0;
	if (order >= 2) {
		(&folio->page)[2].mapping = NULL;
		(&folio->page)[2].index = 0;
	}
}

/*
 * free_tail_pages_check - kernel free_tail_page_prepare() for every tail:
 * each must point at @head and be unmapped; the folio must be unmapped and
 * off the deferred split queue. Clears the compound links on success.
 * Return: false (block reported and leaked) on the first bad tail.
 */
bool free_tail_pages_check(pmm_t *pmm, struct pmm_page *head, unsigned int order)
{
	struct pmm_folio *folio = (struct pmm_folio *)head;
	uintptr_t link = (uintptr_t)head | 1;
	const char *why = NULL;

	if (folio_order(folio) != order)
		why = "compound order mismatch";
	else if (atomic_load_explicit(&folio->large_mapcount, memory_order_relaxed) != -1 ||
		 atomic_load_explicit(&folio->entire_mapcount, memory_order_relaxed) != -1 ||
		 atomic_load_explicit(&folio->nr_pages_mapped, memory_order_relaxed) != 0)
		why = "folio still mapped";
	else if (order >= 2 && !list_empty(&folio->deferred_list))
		why = "folio still on the deferred split queue";
	for (unsigned long i = 1; !why && i < (1UL << order); i++) {
		struct pmm_page *tail = &head[i];

		if (tail->compound_head != link)
			why = "corrupted compound_head in a tail page";
		else if (atomic_load_explicit(&tail->mapcount, memory_order_relaxed) != -1)
			why = "tail page still mapped";
		else if (page_ref_count(tail))
			why = "tail page has references";
		else if (i > 2 && tail->mapping)
			why = "tail page has a mapping";
	}
	if (why) {
		bad_page_leak(pmm, head, order, why);
		return false;
	}
	for (unsigned long i = 1; i < (1UL << order); i++)
		head[i].compound_head = 0;
	clear_folio_fields(folio, order);
	return true;
}

/*
 * pmm_split_page - kernel split_page(): a non-compound order-n block
 * becomes 2^n order-0 pages, each with one reference (the head keeps its
 * count).
 */
void pmm_split_page(pmm_t *pmm, struct pmm_page *page, unsigned int order)
{
	uint64_t f;

	if (!page_valid_for_free(pmm, page, "pmm_split_page: page not managed by this instance"))
		return;
	f = page_flags(page);
	if (unlikely((f & PF(PG_head)) || page_is_tail(page))) {
		bad_page_report(pmm, page, "pmm_split_page on a compound page");
		return;
	}
	if (unlikely(!(f & PF(PG_owned)) || page_ref_count(page) <= 0 ||
		     page_alloc_order(page) != order)) {
		bad_page_report(pmm, page, "pmm_split_page: not an allocated block of that order");
		return;
	}
	/*
	 * A block of order > 0 that is not a folio is on no LRU and in no
	 * rmap, so no other thread changes its head's flags: a plain store.
	 * (An order-0 page may be a mapped folio's: nothing to clear.)
	 */
	if (order)
		__set_page_alloc_order(page, 0);
	/*
	 * Kernel split_page(): a reference per tail. A tail's alloc_order is
	 * already 0 (only a handed-out head's is not; pmm_check verifies it),
	 * so the loop stores only what changes: it is bound by its stores and
	 * unrolled so that its own bookkeeping is a quarter of them (the
	 * contig benchmark's whole loop 0.97; under ASan its checks make it a
	 * loop GCC does not unroll, and says so).
	 */
#if !defined(__SANITIZE_ADDRESS__)
#pragma GCC unroll 4
#endif
	for (unsigned long i = 1; i < (1UL << order); i++) {
		__SetPageOwned(&page[i]);	/* the caller owns the whole block */
		set_page_count(&page[i], 1);
	}
}

/*
 * pmm_alloc_pages_exact_pfn - kernel make_alloc_exact(): allocate the
 * covering order, split it, give the tail back through the batched contig
 * path (one of that path's users).
 */
struct pmm_page *pmm_alloc_pages_exact_pfn(pmm_t *pmm, unsigned long nr_pages, pmm_gfp_t gfp)
{
	struct pmm_page *page;
	unsigned int order;

	if (!nr_pages || nr_pages > (1UL << pmm->max_order))
		return NULL;
	order = nr_pages == 1 ? 0 : ilog2_ul(nr_pages - 1) + 1;
	page = pmm_alloc_pages(pmm, gfp & ~PMM_GFP_COMP, order);
	if (!page)
		return NULL;
	pmm_split_page(pmm, page, order);
	if (nr_pages < (1UL << order))
		free_contig_range_common(pmm, page_to_pfn(pmm, page) + nr_pages,
					 (1UL << order) - nr_pages, false);
	return page;
}

void *pmm_alloc_pages_exact(pmm_t *pmm, size_t size, pmm_gfp_t gfp)
{
	unsigned long nr = (unsigned long)((size + pmm_page_size(pmm) - 1) >> pmm->page_shift);
	struct pmm_page *page;

	if (!pmm->direct_map || !size)
		return NULL;
	page = pmm_alloc_pages_exact_pfn(pmm, nr, gfp);
	return page ? pfn_to_virt(pmm, page_to_pfn(pmm, page)) : NULL;
}

void pmm_free_pages_exact(pmm_t *pmm, void *addr, size_t size)
{
	struct pmm_page *page = pmm_virt_to_page(pmm, addr);
	unsigned long nr = (unsigned long)((size + pmm_page_size(pmm) - 1) >> pmm->page_shift);

	if (!addr)
		return;
	if (!page) {
		page_valid_for_free(pmm, NULL, "pmm_free_pages_exact: address not in the direct map");
		return;
	}
	pmm_free_contig_range(pmm, page_to_pfn(pmm, page), nr);
}

/* ------------------------------------------------------------------------
 * Folio API
 * ------------------------------------------------------------------------ */

struct pmm_folio *pmm_folio_alloc(pmm_t *pmm, pmm_gfp_t gfp, unsigned int order)
{
	return (struct pmm_folio *)pmm_alloc_pages(pmm, gfp | PMM_GFP_COMP, order);
}

struct pmm_folio *pmm_page_folio(const struct pmm_page *page)
{
	return page ? page_folio(page) : NULL;
}

struct pmm_page *pmm_folio_page(pmm_t *pmm, struct pmm_folio *folio, unsigned long n)
{
	if (!folio)
		return NULL;
	if (!page_belongs(pmm, &folio->page) || page_is_tail(&folio->page)) {
		report_foreign_page(pmm, "pmm_folio_page: not a folio of this instance");
		return NULL;
	}
	if (n >= (1UL << folio_order(folio)))
		return NULL;
	return &folio->page + n;
}

unsigned int pmm_folio_order(const struct pmm_folio *folio)
{
	return folio_order(folio);
}

void pmm_folio_get(pmm_t *pmm, struct pmm_folio *folio)
{
	if (folio)
		pmm_get_page(pmm, &folio->page);
}

int pmm_folio_ref_count(const struct pmm_folio *folio)
{
	return page_ref_count(&folio->page);
}

int pmm_folio_info(pmm_t *pmm, const struct pmm_page *page, struct pmm_folio_info *out)
{
	const struct pmm_folio *folio;

	if (!out || !pmm || !page_belongs(pmm, page))
		return -PMM_EINVAL;
	folio = page_folio(page);
	if (!PageOwned(&folio->page))
		return -PMM_EINVAL;
	*out = (struct pmm_folio_info){
		.order = folio_order(folio),
		.refcount = folio_ref_count(folio),
		.mapcount = folio_mapcount(folio),
		.anon = folio_test_anon(folio),
		.lru = folio_test_lru(folio),
		.active = folio_test_active(folio),
		.swapcache = folio_test_swapcache(folio),
		.deferred_split = folio_test_deferred(folio),
	};
	if (out->swapcache)
		out->swap_entry = folio->page.private;
	return 0;
}
