/* SPDX-License-Identifier: MIT */
/*
 * test_bad_pages.c - the calls that take a page or a folio given bad
 * pointers and bad states (design.md section 9): pmm_free_pages,
 * pmm_get_page, pmm_put_page, pmm_split_page, the folio calls. A double
 * free, a refcount underflow, a wrong order, a foreign page, a tail or a
 * compound page where an order-0 page is expected, a pointer that is not
 * a page: each is reported (on the callback and the bad_page counter,
 * with its reason where the test pins it), changes nothing else, and
 * leaves the instance consistent: pmm_check() passes, every frame is free,
 * held or counted as leaked.
 */
#include "testutil.h"

#include <limits.h>

/* The instance of a pcp variant case (TU_PCP_TESTS). */
static pmm_t *pcp_instance(struct tu_fx *fx)
{
	tu_fx_config(fx, 64);
	return tu_fx_create(fx);
}

/* ------------------------------------------------------------------------
 * Double frees, underflows and wrong orders, with and without pcp lists
 * ------------------------------------------------------------------------ */

/* Double free: the second free is reported and frees nothing. */
static void test_double_free(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = pcp_instance(fx);
	struct tu_report_mark m;
	struct pmm_page *p, *q, *pair;
	pmm_pfn_t pfn;

	/* a lone page whose buddy is held: it stays a free block head */
	pair = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 1);
	assert_non_null(pair);
	pmm_split_page(pmm, pair, 1);
	pfn = tu_pfn(pmm, pair);
	p = pmm_pfn_to_page(pmm, pfn);
	q = pmm_pfn_to_page(pmm, pfn + 1);
	pmm_free_pages(pmm, p, 0);
	uint64_t f0 = pmm_free_frames(pmm);
	tu_report_mark(pmm, &fx->bad, &m);
	pmm_free_pages(pmm, p, 0);
	tu_assert_reported(pmm, &fx->bad, &m, "double free of a lone page");
	if (tu_bad_count(&fx->bad) > m.cb)
		assert_int_equal(atomic_load(&fx->bad.last_pfn), pfn);
	assert_true(pmm_free_frames(pmm) <= f0);
	tu_check(pmm);
	pmm_free_pages(pmm, q, 0);
	tu_assert_conserved(pmm, 0);

	/* a page that merged into a larger free block */
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	pmm_free_pages(pmm, p, 0);
	pmm_drain_all_pages(pmm);
	f0 = pmm_free_frames(pmm);
	tu_report_mark(pmm, &fx->bad, &m);
	pmm_free_pages(pmm, p, 0);
	tu_assert_reported(pmm, &fx->bad, &m, "double free of a merged page");
	assert_true(pmm_free_frames(pmm) <= f0);
	tu_assert_conserved(pmm, 0);

	/* a high-order block */
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2);
	assert_non_null(p);
	pmm_free_pages(pmm, p, 2);
	f0 = pmm_free_frames(pmm);
	tu_report_mark(pmm, &fx->bad, &m);
	pmm_free_pages(pmm, p, 2);
	tu_assert_reported(pmm, &fx->bad, &m, "double free of an order-2 block");
	assert_true(pmm_free_frames(pmm) <= f0);
	tu_assert_conserved(pmm, 0);

	/* a folio */
	struct pmm_folio *f = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 3);
	assert_non_null(f);
	pmm_folio_put(pmm, f);
	f0 = pmm_free_frames(pmm);
	tu_report_mark(pmm, &fx->bad, &m);
	pmm_folio_put(pmm, f);
	tu_assert_reported(pmm, &fx->bad, &m, "double folio_put");
	assert_true(pmm_free_frames(pmm) <= f0);
	tu_assert_conserved(pmm, 0);

	/* the same page twice in one bulk free: freed once */
	struct pmm_page *arr[4] = { 0 };
	assert_int_equal(pmm_alloc_pages_bulk(pmm, PMM_GFP_KERNEL, 3, arr), 3);
	arr[3] = arr[1];
	f0 = pmm_free_frames(pmm);
	tu_report_mark(pmm, &fx->bad, &m);
	pmm_free_pages_bulk(pmm, arr, 4);
	tu_assert_reported(pmm, &fx->bad, &m, "page twice in free_pages_bulk");
	assert_true(pmm_free_frames(pmm) <= f0 + 3);
	tu_finish(pmm);
}

/* pmm_put_page on a free page would underflow the refcount. */
static void test_refcount_underflow(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = pcp_instance(fx);
	struct tu_report_mark m;
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	uint64_t f0;

	assert_non_null(p);
	pmm_free_pages(pmm, p, 0);
	f0 = pmm_free_frames(pmm);
	tu_report_mark(pmm, &fx->bad, &m);
	pmm_put_page(pmm, p);
	tu_assert_reported(pmm, &fx->bad, &m, "put_page on a freed page");
	assert_true(pmm_free_frames(pmm) <= f0);
	assert_true(pmm_page_count(p) >= 0);
	tu_assert_conserved(pmm, 0);

	/* a page that was never handed out, deep inside a free block */
	p = pmm_pfn_to_page(pmm, TU_BASE_PFN + 4096 + 77);
	f0 = pmm_free_frames(pmm);
	tu_report_mark(pmm, &fx->bad, &m);
	pmm_put_page(pmm, p);
	tu_assert_reported(pmm, &fx->bad, &m, "put_page on a never-allocated page");
	assert_true(pmm_free_frames(pmm) <= f0);
	tu_assert_conserved(pmm, 0);

	/* the tail of a held non-compound block has no reference to drop */
	struct pmm_page *blk = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2);
	assert_non_null(blk);
	f0 = pmm_free_frames(pmm);
	tu_report_mark(pmm, &fx->bad, &m);
	pmm_free_pages(pmm, pmm_pfn_to_page(pmm, tu_pfn(pmm, blk) + 1), 0);
	tu_assert_reported(pmm, &fx->bad, &m, "free of a non-compound tail");
	assert_int_equal(pmm_free_frames(pmm), f0);
	assert_int_equal(pmm_page_count(blk), 1);
	pmm_free_pages(pmm, blk, 2);
	tu_finish(pmm);
}

/* A wrong order in pmm_free_pages is reported and nothing is freed. */
static void test_wrong_order(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = pcp_instance(fx);
	struct tu_report_mark m;
	const unsigned int maxo = pmm_get_config(pmm)->max_order;
	const unsigned int wrong[] = { 0, 3, 1, maxo + 1, UINT_MAX };
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2);
	uint64_t f0 = pmm_free_frames(pmm);

	assert_non_null(p);
	tu_pattern_write(pmm, p, 2, 21);
	for (unsigned int i = 0; i < ARRAY_SIZE(wrong); i++) {
		tu_report_mark(pmm, &fx->bad, &m);
		pmm_free_pages(pmm, p, wrong[i]);
		if (!tu_reports_since(pmm, &fx->bad, &m))
			print_message("order %u for an order-2 block\n", wrong[i]);
		tu_assert_reported(pmm, &fx->bad, &m, "free_pages with a wrong order");
		assert_int_equal(pmm_free_frames(pmm), f0);
		tu_check(pmm);
	}
	/* the caller still owns the block and frees it right */
	tu_pattern_verify(pmm, p, 2, 21);
	pmm_free_pages(pmm, p, 2);
	tu_assert_conserved(pmm, 0);

	/* a folio freed with the wrong order */
	struct pmm_folio *f = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 3);
	assert_non_null(f);
	p = pmm_folio_page(pmm, f, 0);
	f0 = pmm_free_frames(pmm);
	tu_report_mark(pmm, &fx->bad, &m);
	pmm_free_pages(pmm, p, 0);
	tu_assert_reported(pmm, &fx->bad, &m, "folio freed as order 0");
	assert_int_equal(pmm_free_frames(pmm), f0);
	tu_check(pmm);
	pmm_folio_put(pmm, f);
	tu_finish(pmm);
}

/* A compound page where order-0 pages are expected is refused. */
static void test_compound_as_order0(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = pcp_instance(fx);
	struct tu_report_mark m;
	struct pmm_folio *f = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 3);
	struct pmm_page *head;
	pmm_pfn_t pfn;
	uint64_t f0;

	assert_non_null(f);
	head = pmm_folio_page(pmm, f, 0);
	pfn = tu_pfn(pmm, head);
	tu_pattern_write(pmm, head, 3, 31);
	f0 = pmm_free_frames(pmm);

	tu_report_mark(pmm, &fx->bad, &m);
	pmm_split_page(pmm, head, 3);
	tu_assert_reported(pmm, &fx->bad, &m, "split_page on a folio");
	assert_int_equal(pmm_folio_order(pmm_page_folio(head)), 3);
	for (unsigned int i = 0; i < 8; i++)
		assert_ptr_equal(pmm_page_folio(pmm_pfn_to_page(pmm, pfn + i)), f);
	assert_int_equal(pmm_folio_ref_count(f), 1);
	tu_check(pmm);

	tu_report_mark(pmm, &fx->bad, &m);
	pmm_free_contig_range(pmm, pfn, 8);
	tu_assert_reported(pmm, &fx->bad, &m, "free_contig_range on a compound head");
	assert_int_equal(pmm_free_frames(pmm), f0);
	assert_int_equal(pmm_folio_ref_count(f), 1);
	assert_int_equal(pmm_folio_order(f), 3);
	tu_check(pmm);

	tu_pattern_verify(pmm, head, 3, 31);
	pmm_folio_put(pmm, f);
	tu_assert_conserved(pmm, 0);

	/* split_page with the wrong order leaves the block alone */
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2);
	assert_non_null(p);
	f0 = pmm_free_frames(pmm);
	for (unsigned int order = 1; order <= 3; order += 2) {
		tu_report_mark(pmm, &fx->bad, &m);
		pmm_split_page(pmm, p, order);
		tu_assert_reported(pmm, &fx->bad, &m, "split_page with a wrong order");
		assert_int_equal(pmm_free_frames(pmm), f0);
		tu_check(pmm);
	}
	pmm_free_pages(pmm, p, 2);
	tu_finish(pmm);
}

/* ------------------------------------------------------------------------
 * Pointers that are not this instance's pages
 * ------------------------------------------------------------------------ */

/* A page of instance A given to instance B is foreign there. */
static void test_foreign_page(void **state)
{
	struct tu_bad bad_a, bad_b;
	struct tu_report_mark m;
	struct pmm_config cfg;
	pmm_t *a, *b;
	struct pmm_page *pa;
	uint64_t fa, fb;

	(void)state;
	tu_config(&cfg, 64, &bad_a);
	a = tu_create(&cfg);
	tu_config(&cfg, 64, &bad_b);
	b = tu_create(&cfg);
	pa = pmm_alloc_pages(a, PMM_GFP_KERNEL, 0);
	assert_non_null(pa);
	fa = pmm_free_frames(a);
	fb = pmm_free_frames(b);

	tu_report_mark(b, &bad_b, &m);
	pmm_free_pages(b, pa, 0);
	tu_assert_reported(b, &bad_b, &m, "foreign free_pages");
	tu_report_mark(b, &bad_b, &m);
	pmm_put_page(b, pa);
	tu_assert_reported(b, &bad_b, &m, "foreign put_page");
	tu_report_mark(b, &bad_b, &m);
	struct pmm_page *arr[1] = { pa };
	pmm_free_pages_bulk(b, arr, 1);
	tu_assert_reported(b, &bad_b, &m, "foreign free_pages_bulk");

	assert_int_equal(pmm_page_count(pa), 1);
	assert_int_equal(pmm_free_frames(a), fa);
	assert_int_equal(pmm_free_frames(b), fb);
	tu_check(a);
	tu_check(b);
	pmm_free_pages(a, pa, 0);
	tu_finish(b);
	tu_finish(a);
}

/* NULL where a page is required: reported (pfn -1), nothing else. */
static void test_null_page_reported(void **state)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = tu_instance(16, &bad);

	(void)state;
	tu_report_mark(pmm, &bad, &m);
	pmm_get_page(pmm, NULL);
	tu_assert_reports(pmm, &bad, &m, 1, "pmm_get_page: page not managed by this instance");
	assert_int_equal(atomic_load(&bad.last_pfn), (pmm_pfn_t)-1);
	pmm_put_page(pmm, NULL);
	tu_assert_reports(pmm, &bad, &m, 2, "pmm_put_page: page not managed by this instance");
	pmm_split_page(pmm, NULL, 0);
	tu_assert_reports(pmm, &bad, &m, 3, "pmm_split_page: page not managed by this instance");
	tu_finish(pmm);
}

static void test_free_pages_bad_pointers(void **state)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = tu_holed_instance(&bad);
	struct pmm_folio *f;
	struct pmm_page *p, *head;
	uint64_t f0;

	(void)state;
	f = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 3);
	assert_non_null(f);
	head = pmm_folio_page(pmm, f, 0);
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	f0 = tu_free_after_drain(pmm);

	tu_report_mark(pmm, &bad, &m);
	pmm_free_pages(pmm, pmm_folio_page(pmm, f, 5), 0);
	tu_assert_reports(pmm, &bad, &m, 1, "pmm_free_pages on a tail page");
	pmm_free_pages(pmm, pmm_folio_page(pmm, f, 1), 3);
	tu_assert_reports(pmm, &bad, &m, 2, "pmm_free_pages on a tail page");
	assert_int_equal(pmm_folio_ref_count(f), 1);

	/* a frame inside a free block that was never handed out */
	pmm_free_pages(pmm, pmm_pfn_to_page(pmm, TU_BASE_PFN + 2 * TU_SECTION_PAGES + 77), 0);
	tu_assert_reports(pmm, &bad, &m, 3, "pmm_free_pages: page not allocated");

	/* pointers that are not pages */
	pmm_free_pages(pmm, tu_skewed_page(p, 1), 0);
	tu_assert_reports(pmm, &bad, &m, 4, "pmm_free_pages: page not managed by this instance");
	pmm_free_pages(pmm, tu_skewed_page(p, 8), 0);
	tu_assert_reports(pmm, &bad, &m, 5, "pmm_free_pages: page not managed by this instance");
	pmm_free_pages(pmm, tu_skewed_page(head, 32), 3);
	tu_assert_reports(pmm, &bad, &m, 6, "pmm_free_pages: page not managed by this instance");
	/* the page of a hole */
	pmm_free_pages(pmm, tu_hole_page(pmm), 0);
	tu_assert_reports(pmm, &bad, &m, 7, "pmm_free_pages: page not managed by this instance");
	assert_int_equal(tu_free_after_drain(pmm), f0);
	assert_int_equal(pmm_page_count(p), 1);
	tu_check(pmm);

	/* a frozen page has no reference to drop */
	tu_take_frozen(pmm, TU_R1_START + 4000, 4);
	f0 = tu_free_after_drain(pmm);
	pmm_free_pages(pmm, pmm_pfn_to_page(pmm, TU_R1_START + 4001), 0);
	tu_assert_reports(pmm, &bad, &m, 8, "refcount underflow");
	assert_int_equal(tu_free_after_drain(pmm), f0);
	assert_int_equal(pmm_page_count(pmm_pfn_to_page(pmm, TU_R1_START + 4001)), 0);
	tu_check(pmm);
	pmm_free_contig_frozen_range(pmm, TU_R1_START + 4000, 4);

	pmm_free_pages(pmm, p, 0);
	pmm_folio_put(pmm, f);
	tu_finish(pmm, .bad = &bad, .since = &m, .reports = 8);
}

static void test_get_put_page_bad(void **state)
{
	struct tu_bad bad, bad_b;
	struct tu_report_mark m;
	pmm_t *pmm = tu_holed_instance(&bad), *other = tu_instance(16, &bad_b);
	struct pmm_page *p, *q, *foreign;
	uint64_t f0;

	(void)state;
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	pmm_free_pages(pmm, p, 0);	/* p is free now (on a pcp list) */
	foreign = pmm_alloc_pages(other, PMM_GFP_KERNEL, 0);
	assert_non_null(foreign);
	tu_take_frozen(pmm, TU_R1_START + 3000, 2);
	q = pmm_pfn_to_page(pmm, TU_R1_START + 3000);
	f0 = tu_free_after_drain(pmm);

	tu_report_mark(pmm, &bad, &m);
	pmm_get_page(pmm, p);
	tu_assert_reports(pmm, &bad, &m, 1, "pmm_get_page on a page without references");
	assert_int_equal(pmm_page_count(p), 0);
	pmm_get_page(pmm, pmm_pfn_to_page(pmm, TU_BASE_PFN + 2 * TU_SECTION_PAGES + 77));
	tu_assert_reports(pmm, &bad, &m, 2, "pmm_get_page on a page without references");
	pmm_get_page(pmm, q);
	tu_assert_reports(pmm, &bad, &m, 3, "pmm_get_page on a page without references");
	assert_int_equal(pmm_page_count(q), 0);
	pmm_get_page(pmm, foreign);
	tu_assert_reports(pmm, &bad, &m, 4, "pmm_get_page: page not managed by this instance");
	assert_int_equal(pmm_page_count(foreign), 1);
	pmm_get_page(pmm, tu_hole_page(pmm));
	tu_assert_reports(pmm, &bad, &m, 5, "pmm_get_page: page not managed by this instance");
	pmm_get_page(pmm, tu_skewed_page(q, 16));
	tu_assert_reports(pmm, &bad, &m, 6, "pmm_get_page: page not managed by this instance");

	pmm_put_page(pmm, q);
	tu_assert_reports(pmm, &bad, &m, 7, "refcount underflow: page already free");
	assert_int_equal(pmm_page_count(q), 0);
	pmm_put_page(pmm, tu_hole_page(pmm));
	tu_assert_reports(pmm, &bad, &m, 8, "pmm_put_page: page not managed by this instance");
	pmm_put_page(pmm, tu_skewed_page(q, 1));
	tu_assert_reports(pmm, &bad, &m, 9, "pmm_put_page: page not managed by this instance");
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_check(pmm);
	tu_check(other);

	pmm_free_contig_frozen_range(pmm, TU_R1_START + 3000, 2);
	pmm_free_pages(other, foreign, 0);
	tu_finish(other, .bad = &bad_b);
	tu_finish(pmm);
}

static void test_split_page_bad(void **state)
{
	struct tu_bad bad, bad_b;
	struct tu_report_mark m;
	pmm_t *pmm = tu_instance(32, &bad), *other = tu_instance(16, &bad_b);
	struct pmm_page *p, *blk, *foreign, *frozen;
	struct pmm_folio *f;
	uint64_t f0;

	(void)state;
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	pmm_free_pages(pmm, p, 0);
	blk = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2);
	assert_non_null(blk);
	f = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 2);
	assert_non_null(f);
	foreign = pmm_alloc_pages(other, PMM_GFP_KERNEL, 1);
	assert_non_null(foreign);
	tu_take_frozen(pmm, TU_BASE_PFN + 5000, 1);
	frozen = pmm_pfn_to_page(pmm, TU_BASE_PFN + 5000);
	f0 = tu_free_after_drain(pmm);

	tu_report_mark(pmm, &bad, &m);
	pmm_split_page(pmm, p, 0);
	tu_assert_reports(pmm, &bad, &m, 1, "pmm_split_page: not an allocated block of that order");
	pmm_split_page(pmm, foreign, 1);
	tu_assert_reports(pmm, &bad, &m, 2, "pmm_split_page: page not managed by this instance");
	assert_int_equal(pmm_page_count(foreign), 1);
	pmm_split_page(pmm, pmm_folio_page(pmm, f, 2), 0);
	tu_assert_reports(pmm, &bad, &m, 3, "pmm_split_page on a compound page");
	pmm_split_page(pmm, frozen, 0);
	tu_assert_reports(pmm, &bad, &m, 4, "pmm_split_page: not an allocated block of that order");
	pmm_split_page(pmm, blk, 0);
	tu_assert_reports(pmm, &bad, &m, 5, "pmm_split_page: not an allocated block of that order");
	pmm_split_page(pmm, blk, UINT_MAX);
	tu_assert_reports(pmm, &bad, &m, 6, "pmm_split_page: not an allocated block of that order");
	pmm_split_page(pmm, pmm_pfn_to_page(pmm, tu_pfn(pmm, blk) + 1), 0);
	tu_assert_reports(pmm, &bad, &m, 7, "pmm_split_page: not an allocated block of that order");
	assert_int_equal(tu_free_after_drain(pmm), f0);
	assert_int_equal(pmm_page_count(blk), 1);
	assert_int_equal(pmm_folio_ref_count(f), 1);
	tu_check(pmm);

	/* the caller still owns everything and frees it the right way */
	pmm_free_pages(pmm, blk, 2);
	pmm_folio_put(pmm, f);
	pmm_free_contig_frozen_range(pmm, TU_BASE_PFN + 5000, 1);
	pmm_free_pages(other, foreign, 1);
	tu_finish(other);
	tu_finish(pmm, .bad = &bad, .since = &m, .reports = 7);
}

/* ------------------------------------------------------------------------
 * Folios
 * ------------------------------------------------------------------------ */

static void test_folio_bad(void **state)
{
	struct tu_bad bad, bad_b;
	struct tu_report_mark m;
	pmm_t *pmm = tu_instance(16, &bad), *other = tu_instance(16, &bad_b);
	struct pmm_folio *f = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 3), *gone, *foreign;
	uint64_t f0;

	(void)state;
	assert_non_null(f);
	gone = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 2);
	assert_non_null(gone);
	pmm_folio_put(pmm, gone);
	foreign = pmm_folio_alloc(other, PMM_GFP_KERNEL, 1);
	assert_non_null(foreign);
	f0 = tu_free_after_drain(pmm);

	assert_null(pmm_folio_page(pmm, f, 8));
	assert_null(pmm_folio_page(pmm, f, ULONG_MAX));
	assert_non_null(pmm_folio_page(pmm, f, 7));

	tu_report_mark(pmm, &bad, &m);
	pmm_folio_get(pmm, gone);
	tu_assert_reports(pmm, &bad, &m, 1, "pmm_get_page on a page without references");
	pmm_folio_get(pmm, foreign);
	tu_assert_reports(pmm, &bad, &m, 2, "pmm_get_page: page not managed by this instance");
	pmm_folio_put(pmm, foreign);
	tu_assert_reports(pmm, &bad, &m, 3, "pmm_folio_put_refs: folio not managed by this instance");
	assert_int_equal(pmm_folio_ref_count(foreign), 1);

	pmm_folio_get(pmm, f);
	assert_int_equal(pmm_folio_ref_count(f), 2);
	pmm_folio_put_refs(pmm, f, 0);
	tu_assert_reports(pmm, &bad, &m, 4, "pmm_folio_put_refs: refs must be positive");
	pmm_folio_put_refs(pmm, f, -1);
	tu_assert_reports(pmm, &bad, &m, 5, "pmm_folio_put_refs: refs must be positive");
	pmm_folio_put_refs(pmm, f, INT_MIN);
	tu_assert_reports(pmm, &bad, &m, 6, "pmm_folio_put_refs: refs must be positive");
	pmm_folio_put_refs(pmm, f, 3);
	tu_assert_reports(pmm, &bad, &m, 7, "refcount underflow: dropping more references than held");
	pmm_folio_put_refs(pmm, f, INT_MAX);
	tu_assert_reports(pmm, &bad, &m, 8, "refcount underflow: dropping more references than held");
	assert_int_equal(pmm_folio_ref_count(f), 2);
	assert_int_equal(pmm_folio_order(f), 3);
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_check(pmm);

	pmm_folio_put_refs(pmm, f, 2);
	pmm_folio_put(other, foreign);	/* in its own instance */
	tu_finish(other, .bad = &bad_b);
	tu_finish(pmm, .bad = &bad, .since = &m, .reports = 8);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		TU_PCP_TESTS(test_double_free),
		TU_PCP_TESTS(test_refcount_underflow),
		TU_PCP_TESTS(test_wrong_order),
		TU_PCP_TESTS(test_compound_as_order0),
		cmocka_unit_test(test_foreign_page),
		cmocka_unit_test(test_null_page_reported),
		cmocka_unit_test(test_free_pages_bad_pointers),
		cmocka_unit_test(test_get_put_page_bad),
		cmocka_unit_test(test_split_page_bad),
		cmocka_unit_test(test_folio_bad),
	};

	return tu_main(argc, argv, tests);
}
