/* SPDX-License-Identifier: MIT */
/*
 * test_callbacks_unlocked.c - the callbacks a caller installs run with no
 * pmm lock held (pmm.h), even where the report is found under one: a bad
 * page met while the bulk allocator holds a pcp lock, and the violations
 * pmm_check() finds while it holds every lock. The callbacks here call back
 * into the instance; debug builds assert that no thread takes a spinlock it
 * already holds, so a report made under a lock fails at once instead of
 * hanging.
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "contig.h"
#include "pcp.h"

static pmm_t *create(struct tu_reenter *r)
{
	struct pmm_config cfg;
	pmm_t *pmm;

	tu_config(&cfg, 16, NULL);
	tu_reenter_config(&cfg, r);
	pmm = tu_create(&cfg);
	r->pmm = pmm;
	return pmm;
}

/* A page on the pcp list that fails check_new_page while bulk allocation holds the pcp lock. */
static void test_bulk_bad_page_report_unlocked(void **state)
{
	struct tu_reenter r = { 0 };
	struct pmm_page *bulk[8] = { 0 }, *p;
	pmm_t *pmm = create(&r);

	(void)state;
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	pmm_free_pages(pmm, p, 0);	/* now at the head of this CPU's order-0 list */
	assert_true(page_test(p, PG_pcp));
	p->mapping = (void *)0x1;	/* corrupt it while it is free */
	assert_int_equal(pmm_alloc_pages_bulk(pmm, PMM_GFP_KERNEL, 8, bulk), 8);
	assert_true(r.calls >= 1);
	assert_int_equal(pmm_leaked_frames(pmm), 1);
	for (int i = 0; i < 8; i++)
		assert_ptr_not_equal(bulk[i], p);
	pmm_free_pages_bulk(pmm, bulk, 8);
	r.pmm = NULL;
	tu_assert_conserved(pmm, 0);
	pmm_destroy(pmm);
}

/* pmm_check() reports its violations after dropping every lock. */
static void test_check_violations_unlocked(void **state)
{
	struct tu_reenter r = { 0 };
	struct pmm_zone *zone;
	pmm_t *pmm = create(&r);
	int64_t saved;

	(void)state;
	zone = &NODE_DATA(pmm, 0)->node_zones[PMM_ZONE_NORMAL];
	saved = atomic_load(&zone->free_pages);
	atomic_store(&zone->free_pages, saved + 1);	/* a counter that disagrees with the lists */
	assert_int_equal(pmm_check(pmm), -PMM_ECORRUPT);
	assert_true(r.calls >= 1);
	atomic_store(&zone->free_pages, saved);
	r.pmm = NULL;
	tu_check(pmm);
	pmm_destroy(pmm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bulk_bad_page_report_unlocked),
		cmocka_unit_test(test_check_violations_unlocked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
