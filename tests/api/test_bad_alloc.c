/* SPDX-License-Identifier: MIT */
/*
 * test_bad_alloc.c - the allocation calls given requests they cannot or
 * must not serve (design.md section 9): orders above max_order, unknown
 * gfp bits, a DMA32 request without DMA32 memory, node ids out of range,
 * PMM_GFP_THISNODE on a node without memory, sizes of zero or beyond a
 * max-order block for alloc_pages_exact, addresses outside the direct map
 * for free_pages_exact, bulk arrays with non-NULL slots. Each returns
 * NULL (or fewer pages) cleanly, counts the failure, logs when asked to,
 * and leaves the instance consistent.
 */
#include "testutil.h"

#include <limits.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Orders, gfp flags and nodes
 * ------------------------------------------------------------------------ */

/* Orders above max_order return NULL and take nothing. */
static void test_order_too_big(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	pmm_t *pmm;

	(void)state;
	tu_config(&cfg, 16, &bad);
	cfg.max_order = 6;
	cfg.pageblock_order = 5;
	pmm = tu_create(&cfg);
	const unsigned int orders[] = { 7, 10, PMM_MAX_ORDER_LIMIT, PMM_MAX_ORDER_LIMIT + 1, 64, UINT_MAX };
	for (unsigned int i = 0; i < ARRAY_SIZE(orders); i++) {
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

/* Unknown gfp bits are ignored; DMA32 with no DMA32 memory gives NULL. */
static void test_gfp_bad(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = tu_instance(16, &bad);	/* all of it above 4 GiB: Normal only */
	struct pmm_page *p;
	uint64_t fails;

	(void)state;
	p = pmm_alloc_pages(pmm, 0xfffff000u, 0);
	assert_non_null(p);
	pmm_free_pages(pmm, p, 0);
	fails = tu_stats(pmm).alloc_fail;
	assert_null(pmm_alloc_pages(pmm, PMM_GFP_DMA32 | PMM_GFP_NOWARN, 0));
	assert_null(pmm_folio_alloc(pmm, PMM_GFP_DMA32 | PMM_GFP_NOWARN, 2));
	assert_int_equal(tu_stats(pmm).alloc_fail, fails + 2);
	tu_finish(pmm, .bad = &bad);
}

static void test_alloc_node_bad_nid(void **state)
{
	static const int nids[] = { -5, INT_MIN, PMM_MAX_NODES, 1000, INT_MAX };
	struct tu_bad bad;
	pmm_t *pmm = tu_two_node_instance(&bad);
	uint64_t fails;

	(void)state;
	{
		/* -1 is the calling CPU's node: node 0 here. */
		struct pmm_page *p = pmm_alloc_pages_node(pmm, PMM_NUMA_NO_NODE, PMM_GFP_KERNEL, 1);

		assert_non_null(p);
		assert_int_equal(pmm_page_nid(pmm, p), 0);
		pmm_free_pages(pmm, p, 1);
	}
	fails = tu_stats(pmm).alloc_fail;
	for (unsigned int i = 0; i < ARRAY_SIZE(nids); i++)
		assert_null(pmm_alloc_pages_node(pmm, nids[i], PMM_GFP_KERNEL, 1));
	assert_int_equal(tu_stats(pmm).alloc_fail - fails, ARRAY_SIZE(nids));
	{
		struct pmm_page *p = pmm_alloc_pages_node(pmm, 1, PMM_GFP_THISNODE, 0);

		assert_non_null(p);
		assert_int_equal(pmm_page_nid(pmm, p), 1);
		pmm_free_pages(pmm, p, 0);
	}
	tu_finish(pmm, .bad = &bad);
}

/*
 * PMM_GFP_THISNODE ("no fallback to other nodes") on a node that has no
 * memory must fail, as __GFP_THISNODE does in the kernel, instead of
 * taking memory from another node.
 */
static void test_thisnode_memoryless_node(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = tu_two_node_instance(&bad);
	uint64_t f0 = tu_free_after_drain(pmm);

	(void)state;
	for (int nid = 2; nid < PMM_MAX_NODES; nid++) {
		struct pmm_page *p = pmm_alloc_pages_node(pmm, nid, PMM_GFP_THISNODE | PMM_GFP_NOWARN, 0);

		if (p) {
			print_message("node %d has no memory, but THISNODE got a page of node %d\n", nid,
				      pmm_page_nid(pmm, p));
			pmm_free_pages(pmm, p, 0);
		}
		assert_null(p);
	}
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_finish(pmm);
}

/* order > max_order: NULL, alloc_fail counted, a log line unless NOWARN. */
static void test_alloc_failure_logs(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	struct tu_log cap = { 0 };
	pmm_t *pmm;
	uint64_t f0;

	(void)state;
	tu_contig_config(&cfg, 16, &bad);
	tu_config_log(&cfg, &cap);
	pmm = tu_create(&cfg);
	f0 = tu_stats(pmm).alloc_fail;
	assert_null(pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 11));
	assert_int_equal(tu_stats(pmm).alloc_fail, f0 + 1);
	assert_int_equal(cap.lines, 1);
	assert_non_null(strstr(cap.last, "order 11 refused"));
	assert_null(pmm_alloc_pages(pmm, PMM_GFP_NOWARN, 12));
	assert_int_equal(tu_stats(pmm).alloc_fail, f0 + 2);
	assert_int_equal(cap.lines, 1);
	/* an ordinary failure (here an injected one) logs too */
	{
		struct pmm_fault_attr a = { .nth = 1, .probability = 100, .times = 1 };

		assert_int_equal(pmm_fault_set(pmm, PMM_FAULT_PAGE_ALLOC, &a), 0);
		assert_null(pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2));
		assert_int_equal(cap.lines, 2);
		assert_non_null(strstr(cap.last, "page allocation failure: order 2"));
	}
	tu_finish(pmm, .bad = &bad);
}

/* ------------------------------------------------------------------------
 * alloc_pages_exact / alloc_pages_bulk
 * ------------------------------------------------------------------------ */

static void test_exact_bad(void **state)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = tu_instance(32, &bad);
	const size_t ps = pmm_page_size(pmm);
	uint64_t f0 = tu_free_after_drain(pmm);
	char *a, *base;

	(void)state;
	tu_report_mark(pmm, &bad, &m);
	assert_null(pmm_alloc_pages_exact(pmm, 0, 0));
	assert_null(pmm_alloc_pages_exact(pmm, SIZE_MAX, PMM_GFP_NOWARN));
	assert_null(pmm_alloc_pages_exact(pmm, SIZE_MAX - ps, PMM_GFP_NOWARN));
	assert_null(pmm_alloc_pages_exact(pmm, 1025 * ps, PMM_GFP_NOWARN));
	assert_null(pmm_alloc_pages_exact_pfn(pmm, 0, 0));
	assert_null(pmm_alloc_pages_exact_pfn(pmm, 1025, PMM_GFP_NOWARN));
	assert_null(pmm_alloc_pages_exact_pfn(pmm, ULONG_MAX, PMM_GFP_NOWARN));
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_assert_reports(pmm, &bad, &m, 0, NULL);

	/* free_pages_exact: an address outside the direct map */
	base = pmm_page_address(pmm, pmm_pfn_to_page(pmm, TU_BASE_PFN));
	pmm_free_pages_exact(pmm, base - ps, ps);
	tu_assert_reports(pmm, &bad, &m, 1, "pmm_free_pages_exact: address not in the direct map");
	pmm_free_pages_exact(pmm, &bad, ps);
	tu_assert_reports(pmm, &bad, &m, 2, "pmm_free_pages_exact: address not in the direct map");

	/* a size larger than allocated: the extra frames are free, so reported */
	a = pmm_alloc_pages_exact(pmm, 3 * ps, 0);
	assert_non_null(a);
	pmm_free_pages_exact(pmm, a, 5 * ps);
	tu_assert_reports(pmm, &bad, &m, 4, "refcount underflow");
	assert_int_equal(tu_free_after_drain(pmm), f0);
	/* a smaller size frees only that much; the rest is still the caller's */
	a = pmm_alloc_pages_exact(pmm, 5 * ps, 0);
	assert_non_null(a);
	pmm_free_pages_exact(pmm, a, 2 * ps);
	assert_int_equal(tu_free_after_drain(pmm), f0 - 3);
	tu_assert_conserved(pmm, 3);
	pmm_free_pages_exact(pmm, a + 2 * ps, 3 * ps);
	tu_finish(pmm, .bad = &bad, .since = &m, .reports = 4);

	/* no backing: no addresses to hand out or take back */
	{
		struct pmm_config cfg;
		struct pmm_page *p;

		tu_contig_config(&cfg, 16, &bad);
		cfg.backing = PMM_BACKING_NONE;
		pmm = tu_create(&cfg);
		tu_report_mark(pmm, &bad, &m);
		assert_null(pmm_alloc_pages_exact(pmm, ps, 0));
		assert_int_equal(tu_free_after_drain(pmm), pmm_managed_frames(pmm));
		p = pmm_alloc_pages_exact_pfn(pmm, 3, 0);	/* the pfn variant works */
		assert_non_null(p);
		pmm_free_pages_exact(pmm, base, ps);
		tu_assert_reports(pmm, &bad, &m, 1, "pmm_free_pages_exact: address not in the direct map");
		pmm_free_contig_range(pmm, tu_pfn(pmm, p), 3);
		tu_finish(pmm);
	}
}

/* Slots holding anything non-NULL are skipped and counted, even garbage. */
static void test_bulk_alloc_bad(void **state)
{
	struct tu_bad bad, bad_b;
	pmm_t *pmm = tu_instance(16, &bad), *other = tu_instance(16, &bad_b);
	struct pmm_page *foreign = pmm_alloc_pages(other, 0, 0);
	struct pmm_page *arr[8] = { 0 };
	uint64_t f0 = tu_free_after_drain(pmm);

	(void)state;
	assert_non_null(foreign);
	arr[2] = foreign;
	arr[5] = (struct pmm_page *)(uintptr_t)0x1000;
	assert_int_equal(pmm_alloc_pages_bulk(pmm, 0, 8, arr), 8);
	assert_ptr_equal(arr[2], foreign);
	assert_ptr_equal(arr[5], (struct pmm_page *)(uintptr_t)0x1000);
	assert_int_equal(tu_free_after_drain(pmm), f0 - 6);
	arr[2] = arr[5] = NULL;
	pmm_free_pages_bulk(pmm, arr, 8);
	pmm_free_pages(other, foreign, 0);
	assert_int_equal(tu_bad_count(&bad), 0);
	tu_finish(other);
	tu_finish(pmm);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_too_big),
		cmocka_unit_test(test_gfp_bad),
		cmocka_unit_test(test_alloc_node_bad_nid),
		cmocka_unit_test(test_thisnode_memoryless_node),
		cmocka_unit_test(test_alloc_failure_logs),
		cmocka_unit_test(test_exact_bad),
		cmocka_unit_test(test_bulk_alloc_bad),
	};

	return tu_main(argc, argv, tests);
}
