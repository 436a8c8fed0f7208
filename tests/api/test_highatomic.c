/* SPDX-License-Identifier: MIT */
/*
 * test_highatomic.c - the highatomic reserve, as the kernel keeps it
 * (reserve_highatomic_pageblock / unreserve_highatomic_pageblock):
 *  - only the slow path (ALLOC_HIGHATOMIC, from gfp_to_alloc_flags()) uses
 *    and makes the reserve: an idle instance reserves nothing;
 *  - a successful high-order atomic allocation there sets its pageblock
 *    aside, and later ones are served from it;
 *  - a pcp refill never takes reserved blocks (kernel rmqueue_bulk()), so
 *    they do not reach ordinary allocations through a shared pcp list;
 *  - the reserve is released when its pageblock is entirely free again or
 *    when an ordinary allocation would otherwise fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <stdlib.h>

struct held {
	struct pmm_page **v;
	size_t n, cap;
};

static void hold(struct held *h, struct pmm_page *page)
{
	assert_true(h->n < h->cap);
	h->v[h->n++] = page;
}

/* Movable order-0 pages until the zone's buddy free count is below its low watermark. */
static void fill_below_low(pmm_t *pmm, struct held *h)
{
	struct pmm_zone_info zi;

	for (tu_zone(pmm, 0, &zi); zi.free_pages >= zi.wmark_low; tu_zone(pmm, 0, &zi)) {
		struct pmm_page *page = pmm_alloc_pages(pmm, PMM_GFP_MOVABLE | PMM_GFP_NOWARN, 0);

		assert_non_null(page);
		hold(h, page);
	}
}

static void free_held(pmm_t *pmm, struct held *h)
{
	while (h->n)
		pmm_free_pages(pmm, h->v[--h->n], 0);
	free(h->v);
	h->v = NULL;
}

static pmm_t *create(uint64_t mib, uint64_t min_free, bool pcp, struct held *h)
{
	struct pmm_config cfg;
	pmm_t *pmm;

	tu_config(&cfg, mib, NULL);
	cfg.min_free_pages = min_free;
	cfg.pcp_disable = !pcp;
	pmm = tu_create(&cfg);
	h->cap = pmm_managed_frames(pmm);
	h->n = 0;
	h->v = calloc(h->cap, sizeof(*h->v));
	assert_non_null(h->v);
	return pmm;
}

static uint64_t reserved(pmm_t *pmm)
{
	struct pmm_zone_info zi;

	tu_zone(pmm, 0, &zi);
	assert_int_equal(zi.reserved_highatomic,
			 zi.nr_pageblocks_mt[PMM_MIGRATE_HIGHATOMIC] * 512);
	return zi.reserved_highatomic;
}

/* With memory to spare the fast path serves atomic requests and reserves nothing. */
static void test_fast_path_never_reserves(void **state)
{
	struct tu_buddy fresh;
	struct pmm_page *p[4];
	const unsigned int orders[4] = { 1, 2, 4, 9 };
	struct held h;
	pmm_t *pmm;

	(void)state;
	pmm = create(64, 0, true, &h);
	tu_buddy_snap(pmm, &fresh);
	for (int i = 0; i < 4; i++) {
		p[i] = pmm_alloc_pages(pmm, PMM_GFP_ATOMIC, orders[i]);
		assert_non_null(p[i]);
	}
	assert_int_equal(reserved(pmm), 0);
	tu_check(pmm);
	for (int i = 0; i < 4; i++)
		pmm_free_pages(pmm, p[i], orders[i]);
	free_held(pmm, &h);
	tu_buddy_assert_fresh(pmm, &fresh);
	tu_check(pmm);
	pmm_destroy(pmm);
}

/* Below the low watermark a high-order atomic success reserves its pageblock. */
static void test_reserve_in_slow_path_and_release(void **state)
{
	struct tu_buddy fresh;
	struct pmm_page *a, *b;
	struct held h;
	pmm_t *pmm;

	(void)state;
	pmm = create(64, 2048, false, &h);
	tu_buddy_snap(pmm, &fresh);
	fill_below_low(pmm, &h);
	assert_int_equal(reserved(pmm), 0);

	a = pmm_alloc_pages(pmm, PMM_GFP_ATOMIC, 4);
	assert_non_null(a);
	assert_int_equal(reserved(pmm), 512);
	/* The next high-order atomic request comes from the reserved pageblock. */
	b = pmm_alloc_pages(pmm, PMM_GFP_ATOMIC, 4);
	assert_non_null(b);
	assert_int_equal(pmm_page_to_pfn(pmm, b) >> 9, pmm_page_to_pfn(pmm, a) >> 9);
	tu_check(pmm);

	pmm_free_pages(pmm, a, 4);
	pmm_free_pages(pmm, b, 4);
	/* Entirely free again: the pageblock goes back to an ordinary type. */
	assert_int_equal(reserved(pmm), 0);
	free_held(pmm, &h);
	tu_buddy_assert_fresh(pmm, &fresh);
	tu_check(pmm);
	pmm_destroy(pmm);
}

/*
 * An atomic order-1 request refills the shared UNMOVABLE order-1 pcp list;
 * the refill must not take reserved blocks, or the ordinary GFP_KERNEL
 * order-1 requests after it would be served from the reserve.
 */
static void test_pcp_refill_skips_reserve(void **state)
{
	struct pmm_page *a, *c, *k[30];
	struct held h;
	pmm_pfn_t reserved_block;
	pmm_t *pmm;

	(void)state;
	/* min 8192 frames, low 10240: the 512 reserved frames leave GFP_KERNEL above min. */
	pmm = create(256, 8192, true, &h);
	fill_below_low(pmm, &h);
	a = pmm_alloc_pages(pmm, PMM_GFP_ATOMIC, 4);
	assert_non_null(a);
	assert_int_equal(reserved(pmm), 512);
	reserved_block = pmm_page_to_pfn(pmm, a) >> 9;

	/*
	 * The refill for c comes from an ordinary pageblock, which c's own
	 * success then reserves too (up to 1% of the zone): the 30 blocks
	 * already on the pcp list stay there, as in the kernel, whose
	 * move_freepages_block() moves only buddy-list pages.
	 */
	c = pmm_alloc_pages(pmm, PMM_GFP_ATOMIC, 1);
	assert_non_null(c);
	assert_int_not_equal(pmm_page_to_pfn(pmm, c) >> 9, reserved_block);
	for (int i = 0; i < 30; i++) {
		k[i] = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 1);
		assert_non_null(k[i]);
		assert_int_not_equal(pmm_page_to_pfn(pmm, k[i]) >> 9, reserved_block);
	}
	assert_true(reserved(pmm) >= 512);
	tu_check(pmm);

	for (int i = 0; i < 30; i++)
		pmm_free_pages(pmm, k[i], 1);
	pmm_free_pages(pmm, c, 1);
	pmm_free_pages(pmm, a, 4);
	free_held(pmm, &h);
	pmm_drain_all_pages(pmm);
	assert_int_equal(reserved(pmm), 0);
	tu_assert_conserved(pmm, 0);
	pmm_destroy(pmm);
}

/* Under pressure the reserve is given back rather than failing an ordinary request. */
static void test_unreserve_under_pressure(void **state)
{
	struct pmm_zone_info zi;
	struct pmm_page *keep, *p;
	struct held h;
	pmm_t *pmm;

	(void)state;
	pmm = create(16, 64, false, &h);
	fill_below_low(pmm, &h);
	keep = pmm_alloc_pages(pmm, PMM_GFP_ATOMIC, 1);
	assert_non_null(keep);
	assert_int_equal(reserved(pmm), 512);

	while ((p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 0)))
		hold(&h, p);
	/* Every frame above the min watermark was handed out: the reserve went too. */
	assert_int_equal(reserved(pmm), 0);
	tu_zone(pmm, 0, &zi);
	assert_int_equal(zi.free_pages, zi.wmark_min);
	assert_int_equal(h.n + 2 + zi.free_pages, pmm_managed_frames(pmm));
	tu_check(pmm);

	free_held(pmm, &h);
	pmm_free_pages(pmm, keep, 1);
	tu_assert_conserved(pmm, 0);
	pmm_destroy(pmm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_path_never_reserves),
		cmocka_unit_test(test_reserve_in_slow_path_and_release),
		cmocka_unit_test(test_pcp_refill_skips_reserve),
		cmocka_unit_test(test_unreserve_under_pressure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
