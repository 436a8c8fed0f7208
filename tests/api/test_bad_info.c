/* SPDX-License-Identifier: MIT */
/*
 * test_bad_info.c - NULL, empty and out-of-range arguments everywhere
 * else (design.md section 9): the calls documented to ignore NULLs and
 * zero counts do nothing; the frame lookups (pmm_page_address,
 * pmm_virt_to_page, pmm_pfn_to_page) outside the direct map, in holes and
 * without backing; introspection (zone info, names, error strings,
 * printers to a stream that cannot be written); shrinker registration;
 * and the report channels themselves (callback, counter, rate-limited
 * log). Nothing is reported that should not be, and every instance ends
 * consistent.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * NULL and empty arguments
 * ------------------------------------------------------------------------ */

/* NULLs and zero counts that are documented as ignored: nothing happens. */
static void test_null_and_empty_ignored(void **state)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = tu_instance(16, &bad);
	uint64_t f0 = tu_free_after_drain(pmm);

	(void)state;
	pmm_destroy(NULL);
	pmm_drain_all_pages(NULL);
	tu_report_mark(pmm, &bad, &m);
	pmm_free_pages(pmm, NULL, 0);
	pmm_free_pages(pmm, NULL, 5);
	pmm_folio_put(pmm, NULL);
	pmm_folio_put_refs(pmm, NULL, 3);
	pmm_folio_get(pmm, NULL);
	pmm_free_pages_exact(pmm, NULL, 4096);
	pmm_free_pages_bulk(pmm, NULL, 10);
	pmm_free_contig_range(pmm, TU_BASE_PFN, 0);
	pmm_free_contig_frozen_range(pmm, TU_BASE_PFN, 0);
	pmm_free_contig_range(pmm, 0, 0);	/* not even the pfn is looked at */
	assert_null(pmm_page_folio(NULL));
	assert_null(pmm_folio_page(pmm, NULL, 0));
	assert_int_equal(pmm_alloc_pages_bulk(pmm, 0, 10, NULL), 0);
	{
		struct pmm_page *arr[4] = { 0 };

		assert_int_equal(pmm_alloc_pages_bulk(pmm, 0, 0, arr), 0);
		for (int i = 0; i < 4; i++)
			assert_null(arr[i]);
	}
	assert_null(pmm_alloc_contig_pages(pmm, 0, 0, -1));
	assert_null(pmm_alloc_pages_exact_pfn(pmm, 0, 0));
	assert_null(pmm_alloc_pages_exact(pmm, 0, 0));
	tu_assert_reports(pmm, &bad, &m, 0, NULL);
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_finish(pmm);
}

/* Harmless misuse: NULLs, out-of-range indexes, empty ranges. */
static void test_misc_bad_calls(void **state)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	struct pmm_zone_info zi;
	pmm_t *pmm;

	(void)state;
	pmm = tu_instance(64, &bad);
	tu_report_mark(pmm, &bad, &m);
	pmm_free_pages(pmm, NULL, 0);
	pmm_free_pages_bulk(pmm, NULL, 0);
	pmm_free_contig_range(pmm, TU_BASE_PFN, 0);
	assert_int_equal(tu_reports_since(pmm, &bad, &m), 0);
	assert_int_equal(pmm_zone_info(pmm, pmm_nr_zones(pmm), &zi), -PMM_EINVAL);
	assert_int_equal(pmm_zone_info(pmm, UINT_MAX, &zi), -PMM_EINVAL);
	assert_null(pmm_pfn_to_page(pmm, TU_BASE_PFN + pmm_managed_frames(pmm)));
	tu_finish(pmm);
}

/* ------------------------------------------------------------------------
 * Frame lookups
 * ------------------------------------------------------------------------ */

/* page_address / virt_to_page outside the direct map, in holes, unbacked. */
static void test_frame_lookup_bad(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	pmm_t *pmm;
	char *base, *end;
	const size_t ps = 4096;
	/* region 0 ends inside section 0; section 1 is absent; region 1 starts inside section 2 */
	const pmm_pfn_t r1 = TU_BASE_PFN + 2 * TU_SECTION_PAGES + 100;

	(void)state;
	tu_contig_config(&cfg, 4, &bad);
	tu_config_region(&cfg, 0, TU_BASE_PFN, 1000, 0);
	tu_config_region(&cfg, 1, r1, 900, 0);
	pmm = tu_create(&cfg);
	base = pmm_page_address(pmm, pmm_pfn_to_page(pmm, TU_BASE_PFN));
	assert_non_null(base);
	end = base + (r1 + 900 - TU_BASE_PFN) * ps;
	assert_null(pmm_page_address(pmm, NULL));
	assert_null(pmm_virt_to_page(pmm, NULL));
	assert_null(pmm_virt_to_page(pmm, base - 1));
	assert_null(pmm_virt_to_page(pmm, end));
	assert_null(pmm_virt_to_page(pmm, end + TU_MIB(100)));
	assert_non_null(pmm_virt_to_page(pmm, end - 1));
	assert_ptr_equal(pmm_virt_to_page(pmm, base + ps + 17), pmm_pfn_to_page(pmm, TU_BASE_PFN + 1));
	/* holes: inside section 0, the absent section 1, inside section 2 */
	assert_null(pmm_virt_to_page(pmm, base + 1010 * ps));
	assert_null(pmm_virt_to_page(pmm, base + 1500 * ps));
	assert_null(pmm_virt_to_page(pmm, base + (2 * TU_SECTION_PAGES + 50) * ps));
	assert_null(pmm_pfn_to_page(pmm, TU_BASE_PFN + 1010));
	assert_null(pmm_pfn_to_page(pmm, TU_BASE_PFN + 2 * TU_SECTION_PAGES + 50));
	tu_finish(pmm);

	/* no backing: no addresses at all */
	tu_contig_config(&cfg, 4, &bad);
	cfg.backing = PMM_BACKING_NONE;
	pmm = tu_create(&cfg);
	assert_null(pmm_page_address(pmm, pmm_pfn_to_page(pmm, TU_BASE_PFN)));
	assert_null(pmm_virt_to_page(pmm, base));
	assert_null(pmm_virt_to_page(pmm, (void *)(uintptr_t)4096));
	tu_finish(pmm);
}

/* ------------------------------------------------------------------------
 * Shrinkers, introspection, reports
 * ------------------------------------------------------------------------ */

static unsigned long shrink_nothing(void *arg, pmm_t *pmm, unsigned long nr)
{
	(void)arg;
	(void)pmm;
	(void)nr;
	return 0;
}

static void test_register_shrinker_bad(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = tu_instance(16, &bad);

	(void)state;
	assert_int_equal(pmm_register_shrinker(pmm, NULL, NULL), -PMM_EINVAL);
	for (int i = 0; i < PMM_MAX_SHRINKERS; i++)
		assert_int_equal(pmm_register_shrinker(pmm, shrink_nothing, NULL), 0);
	assert_int_equal(pmm_register_shrinker(pmm, shrink_nothing, NULL), -PMM_ENOMEM);
	assert_int_equal(pmm_register_shrinker(pmm, NULL, NULL), -PMM_EINVAL);
	/* the full table still works: an allocation that fails calls them and returns */
	{
		struct tu_list l = { 0 };

		tu_fill_exhaust(pmm, &l, PMM_GFP_KERNEL, 0);
		assert_true(tu_stats(pmm).shrinker_calls >= PMM_MAX_SHRINKERS);
		tu_free_all(pmm, &l);
	}
	tu_finish(pmm);
}

static void test_info_bad(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = tu_instance(16, &bad);

	(void)state;
	assert_int_equal(pmm_zone_info(pmm, 0, NULL), -PMM_EINVAL);
	assert_string_equal(pmm_migratetype_name(-1), "Unknown");
	assert_string_equal(pmm_migratetype_name(PMM_MIGRATE_TYPES), "Unknown");
	assert_string_equal(pmm_migratetype_name(INT_MAX), "Unknown");
	assert_string_equal(pmm_migratetype_name(INT_MIN), "Unknown");
	assert_string_equal(pmm_migratetype_name(PMM_MIGRATE_ISOLATE), "Isolate");
	assert_string_equal(pmm_strerror(INT_MAX), "unknown error");
	assert_string_equal(pmm_strerror(-INT_MAX), "unknown error");
	tu_finish(pmm);
}

/* pmm_strerror(INT_MIN): "unknown error", without undefined behaviour (in a child). */
static void strerror_child(void *arg)
{
	(void)arg;
	if (strcmp(pmm_strerror(INT_MIN), "unknown error") != 0)
		_exit(2);
}

static void test_strerror_int_min(void **state)
{
	(void)state;
	assert_int_equal(tu_in_child("pmm_strerror(INT_MIN)", strerror_child, NULL, 5), 0);
}

/* Printers to a stream that cannot be written: -PMM_EINVAL, nothing else. */
static void test_printers_bad_stream(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = tu_instance(16, &bad);
	FILE *ro = fopen("/dev/null", "r");

	(void)state;
	assert_non_null(ro);
	for (int json = 0; json <= 1; json++) {
		clearerr(ro);
		assert_int_equal(pmm_stats_print(pmm, ro, json), -PMM_EINVAL);
		clearerr(ro);
		assert_int_equal(pmm_buddyinfo(pmm, ro, json), -PMM_EINVAL);
		clearerr(ro);
		assert_int_equal(pmm_pagetypeinfo(pmm, ro, json), -PMM_EINVAL);
		clearerr(ro);
		assert_int_equal(pmm_zoneinfo(pmm, ro, json), -PMM_EINVAL);
	}
	fclose(ro);
	tu_finish(pmm);
}

/*
 * A report goes to bad_page_fn and the bad_page counter every time; the
 * log line is rate limited (a storm cannot flood the log), and quiet
 * instances log nothing. Without a bad_page_fn reports are still counted.
 */
static void test_report_channels(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	struct tu_log cap = { 0 };
	pmm_t *pmm;
	struct pmm_page *p;

	(void)state;
	tu_contig_config(&cfg, 16, &bad);
	tu_config_log(&cfg, &cap);
	pmm = tu_create(&cfg);
	p = pmm_alloc_pages(pmm, 0, 0);
	assert_non_null(p);
	pmm_free_pages(pmm, p, 0);
	for (int i = 0; i < 100; i++)
		pmm_put_page(pmm, p);
	assert_int_equal(tu_bad_count(&bad), 100);
	assert_int_equal(tu_stats(pmm).bad_page, 100);
	assert_int_equal(atomic_load(&bad.last_pfn), tu_pfn(pmm, p));
	print_message("100 reports, %d log lines\n", cap.lines);
	/* 10 lines per 5 s window (plus a "suppressed" note if a window turned over) */
	assert_true(cap.lines >= 1 && cap.lines <= 11);
	assert_non_null(strstr(cap.last, "bad page pfn"));
	assert_non_null(strstr(cap.last, "refcount underflow"));
	tu_finish(pmm);

	/* quiet, no callback: only the counter */
	tu_contig_config(&cfg, 16, &bad);
	cfg.bad_page_fn = NULL;
	tu_config_log(&cfg, &cap);
	cfg.quiet = true;	/* a log_fn, yet nothing is logged */
	cap.lines = 0;
	pmm = tu_create(&cfg);
	p = pmm_alloc_pages(pmm, 0, 0);
	assert_non_null(p);
	pmm_free_pages(pmm, p, 0);
	pmm_free_pages(pmm, p, 0);
	assert_int_equal(tu_stats(pmm).bad_page, 1);
	assert_int_equal(cap.lines, 0);
	assert_int_equal(tu_bad_count(&bad), 0);	/* no callback to call */
	tu_finish(pmm);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_and_empty_ignored),
		cmocka_unit_test(test_misc_bad_calls),
		cmocka_unit_test(test_frame_lookup_bad),
		cmocka_unit_test(test_register_shrinker_bad),
		cmocka_unit_test(test_info_bad),
		cmocka_unit_test(test_strerror_int_min),
		cmocka_unit_test(test_printers_bad_stream),
		cmocka_unit_test(test_report_channels),
	};

	return tu_main(argc, argv, tests);
}
