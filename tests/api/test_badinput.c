/* SPDX-License-Identifier: MIT */
/*
 * test_badinput.c - every bad input of design.md section 9 gets an error or
 * a bad-page report, never an abort, and leaves the instance consistent:
 * pmm_check() passes and every frame is free, held, or counted as leaked.
 */
#include "testutil.h"

#include <limits.h>
#include <string.h>

static struct tu_bad bad_a, bad_b;

/* The instance of a pcp variant case (TU_PCP_TESTS). */
static pmm_t *bad_instance(struct tu_fx *fx)
{
	tu_fx_config(fx, 64);
	return tu_fx_create(fx);
}

/* The instance of a case that is not a variant. */
static pmm_t *plain_instance(struct tu_bad *bad)
{
	struct pmm_config cfg;

	tu_bad_reset(bad);
	tu_config(&cfg, 64, bad);
	return tu_create(&cfg);
}

static void test_pfn_outside(void **state)
{
	struct pmm_config cfg;
	struct tu_report_mark m;
	pmm_t *pmm;
	uint64_t f0;
	const pmm_pfn_t outside[] = { 0, TU_BASE_PFN - 1, TU_BASE_PFN + 4096,
				      TU_BASE_PFN + 5000, TU_BASE_PFN + 20000, UINT64_MAX - 1 };

	(void)state;
	tu_bad_reset(&bad_a);
	tu_config(&cfg, 16, &bad_a);
	cfg.section_shift = 22;
	tu_config_region(&cfg, 0, TU_BASE_PFN, 4096, 0);
	tu_config_region(&cfg, 1, TU_BASE_PFN + 8192, 4096, 0);	/* hole between */
	pmm = tu_create(&cfg);
	f0 = pmm_free_frames(pmm);

	for (unsigned int i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		pmm_pfn_t pfn = outside[i];
		int rc;

		assert_null(pmm_pfn_to_page(pmm, pfn));
		tu_report_mark(pmm, &bad_a, &m);
		pmm_free_contig_range(pmm, pfn, 1);
		tu_assert_reported(pmm, &bad_a, &m, "free_contig_range outside");
		tu_report_mark(pmm, &bad_a, &m);
		pmm_free_contig_range(pmm, pfn, 16);
		tu_assert_reported(pmm, &bad_a, &m, "free_contig_range(16) outside");
		tu_report_mark(pmm, &bad_a, &m);
		pmm_free_contig_frozen_range(pmm, pfn, 1);
		tu_assert_reported(pmm, &bad_a, &m, "free_contig_frozen_range outside");
		rc = pmm_alloc_contig_range(pmm, pfn, pfn + 1, PMM_GFP_KERNEL);
		assert_true(rc == -PMM_ERANGE || rc == -PMM_EINVAL);
		assert_int_equal(pmm_free_frames(pmm), f0);
		tu_check(pmm);
	}
	/* a range that starts inside and runs into the hole */
	int rc = pmm_alloc_contig_range(pmm, TU_BASE_PFN + 4000, TU_BASE_PFN + 4200, PMM_GFP_KERNEL);
	assert_true(rc == -PMM_ERANGE || rc == -PMM_EINVAL || rc == -PMM_EBUSY);
	rc = pmm_alloc_contig_range(pmm, TU_BASE_PFN + 100, TU_BASE_PFN + 100, PMM_GFP_KERNEL);
	assert_true(rc == -PMM_ERANGE || rc == -PMM_EINVAL);
	rc = pmm_alloc_contig_range(pmm, TU_BASE_PFN + 200, TU_BASE_PFN + 100, PMM_GFP_KERNEL);
	assert_true(rc == -PMM_ERANGE || rc == -PMM_EINVAL);
	assert_int_equal(pmm_free_frames(pmm), f0);
	tu_finish(pmm);
}

/* Double free: the second free is reported and frees nothing. */
static void test_double_free(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = bad_instance(fx);
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
	pmm_t *pmm = bad_instance(fx);
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
	pmm_t *pmm = bad_instance(fx);
	struct tu_report_mark m;
	const unsigned int maxo = pmm_get_config(pmm)->max_order;
	const unsigned int wrong[] = { 0, 3, 1, maxo + 1, UINT_MAX };
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2);
	uint64_t f0 = pmm_free_frames(pmm);

	assert_non_null(p);
	tu_pattern_write(pmm, p, 2, 21);
	for (unsigned int i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
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

/* A page of instance A given to instance B is foreign there. */
static void test_foreign_page(void **state)
{
	struct tu_report_mark m;
	pmm_t *a, *b;
	struct pmm_page *pa;
	uint64_t fa, fb;

	(void)state;
	a = plain_instance(&bad_a);
	b = plain_instance(&bad_b);
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

/* A compound page where order-0 pages are expected is refused. */
static void test_compound_as_order0(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = bad_instance(fx);
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

/* Orders above max_order return NULL and take nothing. */
static void test_order_too_big(void **state)
{
	struct pmm_config cfg;
	pmm_t *pmm;

	(void)state;
	tu_bad_reset(&bad_a);
	tu_config(&cfg, 16, &bad_a);
	cfg.max_order = 6;
	cfg.pageblock_order = 5;
	pmm = tu_create(&cfg);
	const unsigned int orders[] = { 7, 10, PMM_MAX_ORDER_LIMIT, PMM_MAX_ORDER_LIMIT + 1, 64, UINT_MAX };
	for (unsigned int i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		assert_null(pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, orders[i]));
		assert_null(pmm_alloc_pages(pmm, PMM_GFP_COMP | PMM_GFP_NOWARN, orders[i]));
		assert_null(pmm_alloc_pages_node(pmm, 0, PMM_GFP_NOWARN, orders[i]));
		assert_null(pmm_folio_alloc(pmm, PMM_GFP_NOWARN, orders[i]));
	}
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 6);
	assert_non_null(p);
	pmm_free_pages(pmm, p, 6);
	tu_finish(pmm);
}

/* Harmless misuse: NULLs, out-of-range indexes, empty ranges. */
static void test_misc_bad_calls(void **state)
{
	struct tu_report_mark m;
	struct pmm_zone_info zi;
	pmm_t *pmm;

	(void)state;
	pmm = plain_instance(&bad_a);
	tu_report_mark(pmm, &bad_a, &m);
	pmm_free_pages(pmm, NULL, 0);
	pmm_free_pages_bulk(pmm, NULL, 0);
	pmm_free_contig_range(pmm, TU_BASE_PFN, 0);
	assert_int_equal(tu_reports_since(pmm, &bad_a, &m), 0);
	assert_int_equal(pmm_zone_info(pmm, pmm_nr_zones(pmm), &zi), -PMM_EINVAL);
	assert_int_equal(pmm_zone_info(pmm, UINT_MAX, &zi), -PMM_EINVAL);
	assert_null(pmm_pfn_to_page(pmm, TU_BASE_PFN + pmm_managed_frames(pmm)));
	tu_finish(pmm);
}

/*
 * alloc_contig_range over a busy page fails with -PMM_EBUSY and puts every
 * pageblock back to its migratetype; once the page is free it succeeds.
 */
static void test_contig_range_busy(void **state)
{
	struct pmm_config cfg;
	struct tu_buddy fresh;
	struct pmm_zone_info before, after;
	pmm_t *pmm;
	struct pmm_page *p;
	pmm_pfn_t pfn;
	uint64_t f0;

	(void)state;
	tu_bad_reset(&bad_a);
	tu_config(&cfg, 64, &bad_a);
	pmm = tu_create(&cfg);
	tu_buddy_snap(pmm, &fresh);
	p = pmm_alloc_pages(pmm, PMM_GFP_MOVABLE, 0);
	assert_non_null(p);
	pfn = tu_pfn(pmm, p);
	tu_zone(pmm, 0, &before);
	f0 = pmm_free_frames(pmm);
	pmm_pfn_t start = pfn > TU_BASE_PFN + 700 ? pfn - 700 : TU_BASE_PFN;
	assert_int_equal(pmm_alloc_contig_range(pmm, start, pfn + 300, PMM_GFP_KERNEL), -PMM_EBUSY);
	tu_zone(pmm, 0, &after);
	assert_memory_equal(before.nr_pageblocks_mt, after.nr_pageblocks_mt,
			    sizeof(before.nr_pageblocks_mt));
	assert_int_equal(after.nr_pageblocks_mt[PMM_MIGRATE_ISOLATE], 0);
	assert_int_equal(tu_free_after_drain(pmm), f0);
	assert_int_equal(pmm_page_count(p), 1);
	tu_check(pmm);

	pmm_free_pages(pmm, p, 0);
	assert_int_equal(pmm_alloc_contig_range(pmm, start, pfn + 300, PMM_GFP_KERNEL), 0);
	for (pmm_pfn_t x = start; x < pfn + 300; x++)
		assert_int_equal(pmm_page_count(pmm_pfn_to_page(pmm, x)), 1);
	assert_int_equal(tu_free_after_drain(pmm), pmm_managed_frames(pmm) - (pfn + 300 - start));
	tu_check(pmm);
	pmm_free_contig_range(pmm, start, pfn + 300 - start);
	tu_finish(pmm, .fresh = &fresh);
}

static int group_setup(void **state)
{
	(void)state;
	tu_seed();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pfn_outside),
		TU_PCP_TESTS(test_double_free),
		TU_PCP_TESTS(test_refcount_underflow),
		TU_PCP_TESTS(test_wrong_order),
		cmocka_unit_test(test_foreign_page),
		TU_PCP_TESTS(test_compound_as_order0),
		cmocka_unit_test(test_order_too_big),
		cmocka_unit_test(test_misc_bad_calls),
		cmocka_unit_test(test_contig_range_busy),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
