/* SPDX-License-Identifier: MIT */
/*
 * test_highatomic.c - the highatomic reserve (kernel
 * reserve_highatomic_pageblock / unreserve_highatomic_pageblock): a
 * successful high-order atomic allocation sets its pageblock aside, later
 * high-order atomic requests are served from it, ordinary requests cannot
 * count it towards their watermark, and it is released when its pageblock
 * is entirely free again or when an allocation would otherwise fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <stdlib.h>

static void test_reserve_and_release(void **state)
{
	struct tu_fx *fx = *state;
	struct pmm_zone_info zi;
	struct pmm_page *a, *b;
	pmm_t *pmm;

	tu_fx_config(fx, 64);
	pmm = tu_fx_create(fx);

	a = pmm_alloc_pages(pmm, PMM_GFP_ATOMIC, 2);
	assert_non_null(a);
	tu_zone(pmm, 0, &zi);
	assert_int_equal(zi.reserved_highatomic, 512);
	assert_int_equal(zi.nr_pageblocks_mt[PMM_MIGRATE_HIGHATOMIC], 1);

	/* The next high-order atomic request comes from the reserved pageblock. */
	b = pmm_alloc_pages(pmm, PMM_GFP_ATOMIC, 2);
	assert_non_null(b);
	assert_int_equal(pmm_page_to_pfn(pmm, b) >> 9, pmm_page_to_pfn(pmm, a) >> 9);
	tu_check(pmm);

	pmm_free_pages(pmm, a, 2);
	pmm_free_pages(pmm, b, 2);
	pmm_drain_all_pages(pmm);
	tu_zone(pmm, 0, &zi);
	assert_int_equal(zi.reserved_highatomic, 0);
	assert_int_equal(zi.nr_pageblocks_mt[PMM_MIGRATE_HIGHATOMIC], 0);
	tu_finish(pmm, .fresh = &fx->fresh);
}

/* Under pressure the reserve is given back rather than failing a request. */
static void test_unreserve_under_pressure(void **state)
{
	struct pmm_config cfg;
	struct pmm_zone_info zi;
	struct pmm_page *keep, *p;
	struct pmm_page **held;
	size_t n = 0, cap;
	pmm_t *pmm;

	(void)state;
	tu_config(&cfg, 16, NULL);
	pmm = tu_create(&cfg);
	cap = pmm_managed_frames(pmm);
	held = calloc(cap, sizeof(*held));
	assert_non_null(held);

	keep = pmm_alloc_pages(pmm, PMM_GFP_ATOMIC, 1);
	assert_non_null(keep);
	tu_zone(pmm, 0, &zi);
	assert_int_equal(zi.reserved_highatomic, 512);

	while ((p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 0)))
		held[n++] = p;
	/* Every frame but the atomic block was handed out: the reserve went too. */
	assert_int_equal(n + 2, pmm_managed_frames(pmm));
	tu_zone(pmm, 0, &zi);
	assert_int_equal(zi.reserved_highatomic, 0);
	tu_check(pmm);

	while (n)
		pmm_free_pages(pmm, held[--n], 0);
	pmm_free_pages(pmm, keep, 1);
	free(held);
	tu_finish(pmm);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		TU_TEST(test_reserve_and_release),
		cmocka_unit_test(test_unreserve_under_pressure),
	};

	return tu_main(argc, argv, tests);
}
