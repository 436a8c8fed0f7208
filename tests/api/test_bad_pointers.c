/* SPDX-License-Identifier: MIT */
/*
 * test_bad_pointers.c - page pointers that are not this instance's: into
 * unreadable memory (PROT_NONE), into a destroyed instance's memmap, and
 * misaligned into a live one. Every call that takes a page pointer reports
 * it and changes nothing; none of them may read through the pointer first
 * (design.md section 9: no crash in a release build).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <sys/mman.h>

/* Hand @page to every call that takes one; each must report it once. */
static void every_call_refuses(pmm_t *pmm, struct tu_bad *bad, struct pmm_page *page)
{
	struct pmm_page *array[3] = { page, page, NULL };
	struct pmm_page *own = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	bool direct_map = own && pmm_page_address(pmm, own);
	struct pmm_folio_info info;
	struct tu_buddy before;
	unsigned long reports;

	pmm_free_pages(pmm, own, 0);
	tu_buddy_snap(pmm, &before);
	reports = tu_bad_count(bad);
	pmm_free_pages(pmm, page, 0);
	pmm_get_page(pmm, page);
	pmm_put_page(pmm, page);
	pmm_split_page(pmm, page, 0);
	pmm_folio_put_refs(pmm, (struct pmm_folio *)page, 1);
	pmm_folio_put(pmm, (struct pmm_folio *)page);
	pmm_folio_get(pmm, (struct pmm_folio *)page);
	assert_int_equal(tu_bad_count(bad) - reports, 7);
	/* the queries that take an instance report it too (the address only where there is a map) */
	assert_true(pmm_page_to_pfn(pmm, page) == (pmm_pfn_t)-1);
	assert_null(pmm_folio_page(pmm, (struct pmm_folio *)page, 0));
	assert_int_equal(pmm_page_nid(pmm, page), -1);
	assert_int_equal(pmm_page_zone(pmm, page), PMM_NR_ZONE_TYPES);
	assert_null(pmm_page_address(pmm, page));
	assert_int_equal(tu_bad_count(bad) - reports, 11 + direct_map);
	assert_int_equal(pmm_folio_info(pmm, page, &info), -PMM_EINVAL);	/* an error, no report */
	reports += 4 + direct_map;
	pmm_free_pages_bulk(pmm, array, 3);
	assert_true(tu_bad_count(bad) - reports >= 8);
	tu_buddy_assert_fresh(pmm, &before);
	tu_check(pmm);
}

static void test_unreadable_pointer(void **state)
{
	void *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(none != MAP_FAILED);
	for (int model = 0; model < 2; model++) {
		struct pmm_config cfg;
		struct tu_bad bad = { 0 };
		pmm_t *pmm;

		tu_config(&cfg, 16, &bad);
		cfg.memmap = (enum pmm_memmap_model)model;
		pmm = tu_create(&cfg);
		every_call_refuses(pmm, &bad, none);
		every_call_refuses(pmm, &bad, (struct pmm_page *)((char *)none + 64));
		pmm_destroy(pmm);
	}
	munmap(none, 4096);
}

/* A page of an instance that no longer exists: its memmap is unmapped. */
static void test_destroyed_instance_page(void **state)
{
	(void)state;
	for (int model = 0; model < 2; model++) {
		struct pmm_config cfg;
		struct tu_bad bad = { 0 };
		struct pmm_page *stale;
		pmm_t *live, *gone;

		tu_config(&cfg, 16, &bad);
		cfg.memmap = (enum pmm_memmap_model)model;
		live = tu_create(&cfg);
		gone = tu_create(&cfg);
		stale = pmm_alloc_pages(gone, PMM_GFP_KERNEL, 0);
		assert_non_null(stale);
		pmm_destroy(gone);
		every_call_refuses(live, &bad, stale);
		pmm_destroy(live);
	}
}

/* Inside the live memmap but not at a page's start, or at a hole's page. */
static void test_misaligned_and_hole(void **state)
{
	(void)state;
	for (int model = 0; model < 2; model++) {
		struct pmm_config cfg;
		struct tu_bad bad = { 0 };
		struct pmm_page *page;
		pmm_t *pmm;

		tu_config(&cfg, 16, &bad);
		cfg.memmap = (enum pmm_memmap_model)model;
		pmm = tu_create(&cfg);
		page = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
		assert_non_null(page);
		every_call_refuses(pmm, &bad, (struct pmm_page *)((char *)page + 8));
		every_call_refuses(pmm, &bad, (struct pmm_page *)((char *)page + 32));
		pmm_free_pages(pmm, page, 0);
		tu_assert_conserved(pmm, 0);
		pmm_destroy(pmm);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unreadable_pointer),
		cmocka_unit_test(test_destroyed_instance_page),
		cmocka_unit_test(test_misaligned_and_hole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
