/* SPDX-License-Identifier: MIT */
/*
 * test_bad_contig.c - the contiguous-range calls given bad ranges and bad
 * pages (design.md sections 5 and 9): pmm_free_contig_range,
 * pmm_free_contig_frozen_range and pmm_free_pages_bulk over pfns outside
 * memory, holes, free or frozen frames, a folio or an unsplit block where
 * order-0 pages are expected, duplicates, counts that wrap or run 2^40
 * frames on; pmm_alloc_contig_range, pmm_alloc_contig_frozen_range and
 * pmm_alloc_contig_pages over ranges they must refuse. Each is reported or
 * refused with its error, frees exactly the managed order-0 pages it was
 * given, changes no pageblock type when it refuses, and leaves the
 * instance consistent: pmm_check() passes, every frame is free, held or
 * counted as leaked. The white-box half (corrupted pages inside a range)
 * is tests/unit/test_contig_internal.c.
 *
 * Inputs that can crash or never return (undefined behaviour on a huge
 * count, a walk over 2^40 absent sections) run in a child process with a
 * time limit, so a failure is reported instead of taking the program down.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Ranges outside memory and over holes
 * ------------------------------------------------------------------------ */

static void test_pfn_outside(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm;
	uint64_t f0;
	const pmm_pfn_t outside[] = { 0, TU_BASE_PFN - 1, TU_BASE_PFN + 4096,
				      TU_BASE_PFN + 5000, TU_BASE_PFN + 20000, UINT64_MAX - 1 };

	(void)state;
	tu_config(&cfg, 16, &bad);
	cfg.section_shift = TU_SECTION_SHIFT;
	tu_config_region(&cfg, 0, TU_BASE_PFN, 4096, 0);
	tu_config_region(&cfg, 1, TU_BASE_PFN + 8192, 4096, 0);	/* hole between */
	pmm = tu_create(&cfg);
	f0 = pmm_free_frames(pmm);

	for (unsigned int i = 0; i < ARRAY_SIZE(outside); i++) {
		pmm_pfn_t pfn = outside[i];
		int rc;

		assert_null(pmm_pfn_to_page(pmm, pfn));
		tu_report_mark(pmm, &bad, &m);
		pmm_free_contig_range(pmm, pfn, 1);
		tu_assert_reported(pmm, &bad, &m, "free_contig_range outside");
		tu_report_mark(pmm, &bad, &m);
		pmm_free_contig_range(pmm, pfn, 16);
		tu_assert_reported(pmm, &bad, &m, "free_contig_range(16) outside");
		tu_report_mark(pmm, &bad, &m);
		pmm_free_contig_frozen_range(pmm, pfn, 1);
		tu_assert_reported(pmm, &bad, &m, "free_contig_frozen_range outside");
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

static void test_alloc_contig_range_bad_ranges(void **state)
{
	struct tu_fx *fx = *state;
	struct pmm_config *cfg = tu_fx_contig_config(fx, 16);
	struct tu_report_mark m;
	pmm_t *pmm;
	uint64_t managed;
	/* region 0: 4 sections; an absent section; region 1 starts 100 frames into a section */
	const pmm_pfn_t r0 = TU_BASE_PFN, r0_end = r0 + 4 * TU_SECTION_PAGES;
	const pmm_pfn_t r1 = r0_end + TU_SECTION_PAGES + 100, r1_end = r1 + 3 * TU_SECTION_PAGES;

	tu_config_region(cfg, 0, r0, r0_end - r0, 0);
	tu_config_region(cfg, 1, r1, r1_end - r1, 0);
	pmm = tu_fx_create(fx);
	managed = fx->managed;
	assert_int_equal(managed, (r0_end - r0) + (r1_end - r1));

	/* empty and reversed */
	assert_int_equal(pmm_alloc_contig_range(pmm, r0 + 10, r0 + 10, 0), -PMM_EINVAL);
	assert_int_equal(pmm_alloc_contig_range(pmm, r0 + 11, r0 + 10, 0), -PMM_EINVAL);
	assert_int_equal(pmm_alloc_contig_range(pmm, r1_end + 10, r1_end, 0), -PMM_EINVAL);
	/* over the absent section between the regions */
	assert_int_equal(pmm_alloc_contig_range(pmm, r0_end - 10, r0_end + 10, 0), -PMM_ERANGE);
	assert_int_equal(pmm_alloc_contig_range(pmm, r0_end + 5, r0_end + 10, 0), -PMM_ERANGE);
	/* over the hole inside region 1's first (present) section */
	assert_int_equal(pmm_alloc_contig_range(pmm, r1 - 50, r1 + 50, 0), -PMM_ERANGE);
	assert_int_equal(pmm_alloc_contig_range(pmm, r1 - 1, r1, 0), -PMM_ERANGE);
	/* one range covering both regions and the holes */
	assert_int_equal(pmm_alloc_contig_range(pmm, r0, r1_end, 0), -PMM_ERANGE);
	/* outside memory: below, above, straddling either end */
	assert_int_equal(pmm_alloc_contig_range(pmm, 0, 10, 0), -PMM_ERANGE);
	assert_int_equal(pmm_alloc_contig_range(pmm, r0 - 5, r0 + 5, 0), -PMM_ERANGE);
	assert_int_equal(pmm_alloc_contig_range(pmm, r1_end - 5, r1_end + 5, 0), -PMM_ERANGE);
	assert_int_equal(pmm_alloc_contig_range(pmm, r1_end, r1_end + 1, 0), -PMM_ERANGE);
	assert_int_equal(pmm_alloc_contig_range(pmm, r1_end + (1ull << 30), r1_end + (1ull << 30) + 4, 0),
			 -PMM_ERANGE);
	assert_int_equal(tu_free_after_drain(pmm), managed);
	tu_check(pmm);

	/* right next to the holes, both regions still work */
	assert_int_equal(pmm_alloc_contig_range(pmm, r0_end - 10, r0_end, 0), 0);
	assert_int_equal(pmm_alloc_contig_range(pmm, r1, r1 + 10, 0), 0);
	tu_assert_counts(pmm, r0_end - 10, 10, 1);
	tu_assert_counts(pmm, r1, 10, 1);
	assert_int_equal(tu_free_after_drain(pmm), managed - 20);
	tu_check(pmm);
	pmm_free_contig_range(pmm, r0_end - 10, 10);
	pmm_free_contig_range(pmm, r1, 10);
	tu_buddy_assert_fresh(pmm, &fx->fresh);
	assert_int_equal(tu_bad_count(&fx->bad), 0);

	/*
	 * free_contig_range running into holes (design.md section 9): the
	 * frames outside memory are reported, the managed ones are freed,
	 * nothing is leaked.
	 */
	/* over the absent section, into region 1's reserved head */
	assert_int_equal(pmm_alloc_contig_range(pmm, r0_end - 10, r0_end, 0), 0);
	assert_int_equal(pmm_alloc_contig_range(pmm, r1, r1 + 10, 0), 0);
	tu_report_mark(pmm, &fx->bad, &m);
	pmm_free_contig_range(pmm, r0_end - 10, (unsigned long)(r1 + 10 - (r0_end - 10)));
	assert_true(tu_reports_since(pmm, &fx->bad, &m) >= 1);
	tu_assert_counts(pmm, r0_end - 10, 10, 0);
	tu_assert_counts(pmm, r1, 10, 0);
	/* past the last frame */
	assert_int_equal(pmm_alloc_contig_range(pmm, r1_end - 10, r1_end, 0), 0);
	tu_report_mark(pmm, &fx->bad, &m);
	pmm_free_contig_range(pmm, r1_end - 10, 20);
	assert_true(tu_reports_since(pmm, &fx->bad, &m) >= 1);
	tu_assert_counts(pmm, r1_end - 10, 10, 0);
	assert_int_equal(pmm_leaked_frames(pmm), 0);
	tu_check(pmm);
	tu_finish(pmm, .fresh = &fx->fresh);
}

static void test_free_contig_range_bad(void **state)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = tu_holed_instance(&bad);
	const pmm_pfn_t last = TU_R1_START + TU_R1_PAGES;	/* one past the end of memory */
	uint64_t f0 = tu_free_after_drain(pmm);

	(void)state;
	tu_report_mark(pmm, &bad, &m);

	/* hole frames with pages (PG_reserved) inside the range: reported, the rest freed */
	assert_int_equal(pmm_alloc_contig_range(pmm, TU_GAP_START - 10, TU_GAP_START, 0), 0);
	assert_int_equal(pmm_alloc_contig_range(pmm, TU_R1_START, TU_R1_START + 10, 0), 0);
	pmm_free_contig_range(pmm, TU_GAP_START - 10, TU_R1_START + 10 - (TU_GAP_START - 10));
	tu_assert_reports(pmm, &bad, &m, TU_R1_START - TU_GAP_START, "pfn not managed (a hole between regions)");
	assert_int_equal(atomic_load(&bad.last_pfn), TU_R1_START - 1);
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_check(pmm);

	/* frames that are already free: a refcount underflow each, nothing changes */
	pmm_free_contig_range(pmm, TU_R1_START + 1000, 16);
	tu_assert_reports(pmm, &bad, &m, 100 + 16, "refcount underflow: page already free");
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_check(pmm);

	/* frozen frames have no reference to drop */
	tu_take_frozen(pmm, TU_R1_START + 2000, 8);
	pmm_free_contig_range(pmm, TU_R1_START + 2000, 8);
	tu_assert_reports(pmm, &bad, &m, 100 + 16 + 8, "refcount underflow: page already free");
	assert_int_equal(tu_free_after_drain(pmm), f0 - 8);
	tu_assert_conserved(pmm, 8);
	pmm_free_contig_frozen_range(pmm, TU_R1_START + 2000, 8);

	/* a range running past the end of memory: the frames inside are freed */
	assert_int_equal(pmm_alloc_contig_range(pmm, last - 10, last, 0), 0);
	pmm_free_contig_range(pmm, last - 10, 10 + 5 * TU_SECTION_PAGES);
	assert_true(tu_bad_count(&bad) - m.cb > 100 + 16 + 8);
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_check(pmm);
	tu_finish(pmm);
}

/*
 * A range that starts in the hole below the first managed pfn, in a
 * present section: the hole frames are reported and the managed frames of
 * the range are freed, as they are for a hole between regions.
 */
static void test_free_contig_range_below_first_pfn(void **state)
{
	struct tu_fx *fx = *state;
	struct tu_report_mark m;
	pmm_t *pmm;
	uint64_t f0;

	tu_config_region(tu_fx_contig_config(fx, 16), 0, TU_HOLE_START, TU_GAP_START - TU_HOLE_START, 0);
	pmm = tu_fx_create(fx);
	f0 = tu_free_after_drain(pmm);
	tu_report_mark(pmm, &fx->bad, &m);
	assert_int_equal(pmm_alloc_contig_range(pmm, TU_HOLE_START, TU_HOLE_START + 10, 0), 0);
	pmm_free_contig_range(pmm, TU_HOLE_START - 10, 20);
	print_message("%s: free_contig_range(first pfn - 10, 20): %lu reports, "
		      "%llu of 10 frames freed\n", fx->v.name, tu_bad_count(&fx->bad) - m.cb,
		      (unsigned long long)(tu_free_after_drain(pmm) - (f0 - 10)));
	assert_true(tu_bad_count(&fx->bad) - m.cb >= 1);
	tu_check(pmm);
	if (tu_free_after_drain(pmm) != f0)
		fail_msg("%s: the 10 allocated frames of the range were neither freed nor reported",
			 fx->v.name);
	tu_finish(pmm);
}

/* A pfn + nr that wraps around the pfn space is bad input: reported. */
static void test_free_contig_range_wrapping_nr(void **state)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = tu_instance(16, &bad);
	struct pmm_page *p = pmm_alloc_pages_exact_pfn(pmm, 4, 0);
	pmm_pfn_t pfn;
	uint64_t f0;

	(void)state;
	assert_non_null(p);
	pfn = tu_pfn(pmm, p);
	f0 = tu_free_after_drain(pmm);
	tu_report_mark(pmm, &bad, &m);
	pmm_free_contig_range(pmm, pfn, ULONG_MAX);	/* a length of -1 */
	pmm_free_contig_range(pmm, pfn, (unsigned long)-(long)pfn + 2);	/* ends at pfn 2 */
	print_message("pfn + nr wrapping: %llu reports, %llu frames freed\n",
		      (unsigned long long)(tu_stats(pmm).bad_page - m.stat),
		      (unsigned long long)(tu_free_after_drain(pmm) - f0));
	tu_check(pmm);
	/* whatever happened, the instance is whole */
	if (pmm_page_count(p) == 1)
		pmm_free_contig_range(pmm, pfn, 4);
	assert_true(tu_bad_count(&bad) - m.cb >= 1);
	tu_finish(pmm, .leaked = TU_LEAKED_ANY);
}

/*
 * A range that runs 2^40 frames past the end of memory: the frames inside
 * are freed and the rest reported, in bounded time (checked in a child).
 */
static void huge_nr_child(void *arg)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	pmm_t *pmm;
	pmm_pfn_t pfn;

	(void)arg;
	tu_contig_config(&cfg, 16, &bad);
	cfg.backing = PMM_BACKING_NONE;
	if (pmm_create(&cfg, &pmm))
		_exit(2);
	pfn = TU_BASE_PFN + 4096 - 4;
	if (pmm_alloc_contig_range(pmm, pfn, pfn + 4, 0))
		_exit(3);
	pmm_free_contig_range(pmm, pfn, 1ul << 40);
	if (pmm_check(pmm) || pmm_free_frames(pmm) != pmm_managed_frames(pmm))
		_exit(4);
	pmm_destroy(pmm);
}

static void test_free_contig_range_huge_nr(void **state)
{
	(void)state;
	assert_int_equal(tu_in_child("free_contig_range(pfn, 2^40)", huge_nr_child, NULL, 5), 0);
}

/* ------------------------------------------------------------------------
 * Pages that are not order-0 pages: folios and unsplit blocks
 * ------------------------------------------------------------------------ */

static void test_compound_head_refused(void **state)
{
	struct tu_fx *fx = *state;
	struct tu_report_mark m;
	struct pmm_folio *folio;
	pmm_t *pmm = tu_fx_contig(fx, 64);
	uint64_t managed = fx->managed, c0;
	pmm_pfn_t pfn;

	folio = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 3);
	assert_non_null(folio);
	pfn = tu_pfn(pmm, pmm_folio_page(pmm, folio, 0));
	assert_int_equal(pmm_folio_order(folio), 3);
	assert_int_equal(tu_free_after_drain(pmm), managed - 8);

	static const unsigned long lens[] = { 8, 1, 16 };
	for (unsigned int i = 0; i < ARRAY_SIZE(lens); i++) {
		tu_report_mark(pmm, &fx->bad, &m);
		c0 = tu_stats(pmm).contig_chunks;
		pmm_free_contig_range(pmm, pfn, lens[i]);
		tu_assert_reports(pmm, &fx->bad, &m, 1, NULL);
		assert_int_equal(fx->bad.last_pfn, pfn);
		assert_int_equal(tu_stats(pmm).contig_chunks - c0, 0);
		assert_int_equal(pmm_folio_ref_count(folio), 1);
		assert_int_equal(tu_free_after_drain(pmm), managed - 8);
		assert_int_equal(pmm_leaked_frames(pmm), 0);
		tu_check(pmm);
	}
	tu_report_mark(pmm, &fx->bad, &m);
	pmm_folio_put(pmm, folio);
	tu_finish(pmm, .bad = &fx->bad, .since = &m, .fresh = &fx->fresh);
}

/*
 * A folio inside a range, not at its first pfn (design.md section 9: "a
 * compound page where order-0 pages are expected" gets a report and the
 * instance stays consistent: pmm_check() passes and no frame is lost
 * except leaked ones, which are counted). Whether the folio is refused
 * (keeps its reference) or leaked whole is the library's choice; losing
 * its tail frames is not.
 */
static void compound_inside_range(struct tu_fx *fx, bool from_tail, bool via_bulk)
{
	struct tu_report_mark m;
	struct pmm_folio *folio = NULL;
	struct tu_list other = { 0 };
	pmm_t *pmm;
	uint64_t managed, leaked, held;
	pmm_pfn_t b, s;
	int refs;

	tu_fx_contig_config(fx, 64)->pcp_disable = true;	/* the folio lands where the order-3 hole is */
	pmm = tu_fx_create(fx);
	managed = fx->managed;
	/* order-5 block, split; its pages [8, 16) become an order-3 folio */
	b = tu_alloc_split(pmm, 5);
	pmm_free_contig_range(pmm, b + 8, 8);
	while (!folio) {
		struct pmm_folio *f = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 3);

		assert_non_null(f);
		if (tu_pfn(pmm, pmm_folio_page(pmm, f, 0)) == b + 8)
			folio = f;
		else
			tu_list_push(&other, pmm_folio_page(pmm, f, 0), 3, TU_FOLIO, 0);
		assert_true(other.n < 100);
	}
	tu_free_all(pmm, &other);
	assert_int_equal(tu_free_after_drain(pmm), managed - 32);
	tu_check(pmm);

	/* the whole order-5 span: 8 pages, the folio, 16 pages (or from a folio tail on) */
	s = from_tail ? b + 9 : b;
	tu_report_mark(pmm, &fx->bad, &m);
	if (via_bulk) {
		/* pmm_free_pages_bulk: pages [0, 8), the folio's head, pages [16, 32) */
		struct pmm_page *arr[25];
		unsigned int n = 0;

		for (pmm_pfn_t p = b; p < b + 32; p++)
			if (p <= b + 8 || p >= b + 16)
				arr[n++] = tu_page_at(pmm, p);
		pmm_free_pages_bulk(pmm, arr, n);
	} else {
		pmm_free_contig_range(pmm, s, (unsigned long)(b + 32 - s));
	}
	refs = pmm_folio_ref_count(folio);
	leaked = pmm_leaked_frames(pmm);
	held = (refs > 0 ? 8 : 0) + (from_tail ? 8 : 0);	/* folio; pages [0, 8) */
	print_message("%s%s, range from %s: %" PRIu64 " reports (last \"%s\"), folio refcount %d, "
		      "leaked %" PRIu64 "\n", via_bulk ? "free_pages_bulk, " : "", fx->v.name,
		      from_tail ? "a folio tail" : "before the folio", tu_reports_since(pmm, &fx->bad, &m),
		      fx->bad.last_reason, refs, leaked);
	assert_true(tu_reports_since(pmm, &fx->bad, &m) >= 1);
	pmm_drain_all_pages(pmm);
	if (pmm_free_frames(pmm) + leaked + held != managed)
		print_message("free %" PRIu64 " + leaked %" PRIu64 " + held %" PRIu64
			      " != managed %" PRIu64 "\n", pmm_free_frames(pmm), leaked, held, managed);
	tu_check(pmm);
	tu_assert_conserved(pmm, held);
	/* the order-0 pages of the range are all free */
	tu_assert_counts(pmm, b + 16, 16, 0);
	if (!from_tail) {
		tu_assert_counts(pmm, b, 8, 0);
	} else {
		tu_assert_counts(pmm, b, 8, 1);
		pmm_free_contig_range(pmm, b, 8);
		tu_assert_conserved(pmm, held - 8);
	}
	/* the folio refused keeps its reference; one leaked whole is counted */
	if (refs > 0)
		pmm_folio_put(pmm, folio);
	tu_finish(pmm, .leaked = TU_LEAKED_ANY);
}

static void test_compound_inside_range(void **state)
{
	compound_inside_range(*state, false, false);
}

static void test_free_pages_bulk_folio_in_run(void **state)
{
	compound_inside_range(*state, false, true);
}

static void test_range_from_folio_tail(void **state)
{
	compound_inside_range(*state, true, false);
}

/*
 * Only the first page of a range (of a run, for free_pages_bulk) is checked
 * for being a compound head. A folio whose head comes later in the range
 * must still be refused or reported with every frame accounted for.
 */
static void folio_inside_case(bool bulk)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = tu_instance(16, &bad);
	struct tu_list kept = { 0 };
	struct pmm_folio *f = NULL;
	struct pmm_page *head, *before;
	pmm_pfn_t fp;

	/* a folio whose preceding frame we can take as an order-0 page */
	for (int i = 0; i < 8 && !f; i++) {
		f = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 3);
		assert_non_null(f);
		fp = tu_pfn(pmm, pmm_folio_page(pmm, f, 0));
		if (fp == TU_BASE_PFN || pmm_alloc_contig_range(pmm, fp - 1, fp, 0) != 0) {
			tu_list_push(&kept, pmm_folio_page(pmm, f, 0), 3, TU_FOLIO, 0);
			f = NULL;
		}
	}
	assert_non_null(f);
	head = pmm_folio_page(pmm, f, 0);
	before = pmm_pfn_to_page(pmm, fp - 1);
	tu_report_mark(pmm, &bad, &m);
	if (bulk) {
		struct pmm_page *arr[] = { before, head };

		pmm_free_pages_bulk(pmm, arr, 2);
	} else {
		pmm_free_contig_range(pmm, fp - 1, 9);
	}
	print_message("%s: %lu reports, folio refcount %d, leaked %llu\n",
		      bulk ? "free_pages_bulk {page, folio head}" : "free_contig_range(head - 1, 9)",
		      tu_bad_count(&bad) - m.cb, pmm_folio_ref_count(f),
		      (unsigned long long)pmm_leaked_frames(pmm));
	assert_true(tu_bad_count(&bad) - m.cb >= 1);
	tu_check(pmm);
	/* refused (still referenced) or leaked whole is the library's choice; lost is not */
	if (pmm_folio_ref_count(f) > 0)
		pmm_folio_put(pmm, f);
	tu_free_all(pmm, &kept);
	tu_finish(pmm, .leaked = TU_LEAKED_ANY);
}

static void test_free_contig_range_folio_inside(void **state)
{
	(void)state;
	folio_inside_case(false);
}

static void test_free_pages_bulk_folio_inside(void **state)
{
	(void)state;
	folio_inside_case(true);
}

/*
 * An order-2 block that was never split is not four order-0 pages: giving
 * its head to the order-0 paths (free_contig_range, free_pages_bulk) must
 * be refused or reported, and every frame must stay accounted for.
 */
static void unsplit_case(int how)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = tu_instance(16, &bad);
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2);
	pmm_pfn_t pfn;
	struct pmm_stats st;
	uint64_t fr, leaked, managed;

	assert_non_null(p);
	pfn = tu_pfn(pmm, p);
	tu_report_mark(pmm, &bad, &m);
	switch (how) {
	case 0:
		pmm_free_contig_range(pmm, pfn, 4);
		break;
	case 1:
		pmm_free_contig_range(pmm, pfn, 1);
		break;
	default: {
		struct pmm_page *arr[1] = { p };

		pmm_free_pages_bulk(pmm, arr, 1);
		break;
	}
	}
	pmm_drain_all_pages(pmm);
	fr = pmm_free_frames(pmm);
	leaked = pmm_leaked_frames(pmm);
	managed = pmm_managed_frames(pmm);
	st = tu_stats(pmm);
	print_message("case %d: %llu reports, free %llu + leaked %llu of %llu, head count %d\n", how,
		      (unsigned long long)(st.bad_page - m.stat), (unsigned long long)fr,
		      (unsigned long long)leaked, (unsigned long long)managed, pmm_page_count(p));
	assert_true(tu_bad_count(&bad) - m.cb >= 1);
	/* every frame is free, leaked (counted), or still the caller's block */
	tu_check(pmm);
	if (pmm_page_count(p) == 1)
		pmm_free_pages(pmm, p, 2);
	tu_finish(pmm, .leaked = TU_LEAKED_ANY);
}

static void test_free_contig_range_unsplit_block(void **state)
{
	(void)state;
	unsplit_case(0);
}

static void test_free_contig_range_unsplit_head_only(void **state)
{
	(void)state;
	unsplit_case(1);
}

static void test_free_pages_bulk_unsplit_block(void **state)
{
	(void)state;
	unsplit_case(2);
}

/* ------------------------------------------------------------------------
 * Frozen ranges and bulk frees
 * ------------------------------------------------------------------------ */

static void test_free_contig_frozen_range_bad(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm;
	struct pmm_page *p;
	pmm_pfn_t pfn, far;
	uint64_t f0;

	(void)state;
	tu_contig_config(&cfg, 32, &bad);
	cfg.pcp_disable = true;	/* the only frames not free are p's */
	pmm = tu_create(&cfg);
	p = pmm_alloc_pages_exact_pfn(pmm, 8, 0);
	assert_non_null(p);
	pfn = tu_pfn(pmm, p);
	far = pfn >= TU_BASE_PFN + 4096 ? TU_BASE_PFN : TU_BASE_PFN + 4096;	/* an untouched order-10 block */
	f0 = tu_free_after_drain(pmm);
	tu_report_mark(pmm, &bad, &m);

	/* pages that still hold references: reported, left alone */
	pmm_free_contig_frozen_range(pmm, pfn, 8);
	tu_assert_reports(pmm, &bad, &m, 8, "frozen range: page has references");
	for (int i = 0; i < 8; i++)
		assert_int_equal(pmm_page_count(pmm_pfn_to_page(pmm, pfn + i)), 1);
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_check(pmm);

	/* free frames: reported, nothing changes */
	pmm_free_contig_frozen_range(pmm, far + 3, 5);
	tu_assert_reports(pmm, &bad, &m, 13, NULL);
	assert_true(strstr(bad.last_reason, "freeing a page that is not allocated") ||
		    strstr(bad.last_reason, "freeing a free page"));
	assert_int_equal(tu_free_after_drain(pmm), f0);
	pmm_free_contig_frozen_range(pmm, far, 1);	/* a free block's head */
	tu_assert_reports(pmm, &bad, &m, 14, "freeing a free page (double free?)");
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_check(pmm);

	pmm_free_contig_range(pmm, pfn, 8);
	tu_finish(pmm, .bad = &bad, .since = &m, .reports = 14);
}

static void test_free_pages_bulk_bad(void **state)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = tu_instance(32, &bad);
	struct pmm_folio *f = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 3);
	struct pmm_page *good[3], *gone;
	uint64_t f0;

	(void)state;
	assert_non_null(f);
	for (int i = 0; i < 3; i++) {
		good[i] = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
		assert_non_null(good[i]);
	}
	gone = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(gone);
	pmm_free_pages(pmm, gone, 0);
	f0 = tu_free_after_drain(pmm);
	tu_report_mark(pmm, &bad, &m);

	{
		struct pmm_page *arr[] = { pmm_folio_page(pmm, f, 0) };

		pmm_free_pages_bulk(pmm, arr, 1);
		tu_assert_reports(pmm, &bad, &m, 1, "pmm_free_pages_bulk on a compound page");
	}
	{
		/* A tail is a folio's page too: refused as such, before any reference is touched. */
		struct pmm_page *arr[] = { pmm_folio_page(pmm, f, 3) };

		pmm_free_pages_bulk(pmm, arr, 1);
		tu_assert_reports(pmm, &bad, &m, 2, "pmm_free_pages_bulk on a compound page");
	}
	assert_int_equal(pmm_folio_ref_count(f), 1);
	{
		struct pmm_page *arr[] = { gone };

		pmm_free_pages_bulk(pmm, arr, 1);
		tu_assert_reports(pmm, &bad, &m, 3, "refcount underflow: page already free");
	}
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_check(pmm);

	/* a mixture: the good pages go, every bad entry is reported once */
	{
		struct pmm_page *arr[] = { good[0], NULL, tu_skewed_page(good[1], 8), gone, good[1], NULL,
					   pmm_folio_page(pmm, f, 0), NULL, good[2], tu_skewed_page(good[2], 1) };

		pmm_free_pages_bulk(pmm, arr, ARRAY_SIZE(arr));
		tu_assert_reports(pmm, &bad, &m, 7, NULL);
	}
	assert_int_equal(tu_free_after_drain(pmm), f0 + 3);
	assert_int_equal(pmm_folio_ref_count(f), 1);
	tu_check(pmm);
	pmm_folio_put(pmm, f);
	tu_finish(pmm);
}

/* ------------------------------------------------------------------------
 * alloc_contig_range / alloc_contig_frozen_range / alloc_contig_pages refusals
 * ------------------------------------------------------------------------ */

static void expect_contig_rc(pmm_t *pmm, bool frozen, pmm_pfn_t s, pmm_pfn_t e, int err)
{
	struct tu_pageblocks a, b;
	struct tu_buddy x, y;
	int rc;

	tu_pageblocks_snap(pmm, &a);
	tu_buddy_snap(pmm, &x);
	rc = frozen ? pmm_alloc_contig_frozen_range(pmm, s, e, 0) : pmm_alloc_contig_range(pmm, s, e, 0);
	if (rc != err)
		print_message("%s [%#llx, %#llx): %d (%s), expected %d\n",
			      frozen ? "alloc_contig_frozen_range" : "alloc_contig_range",
			      (unsigned long long)s, (unsigned long long)e, rc, pmm_strerror(rc), err);
	assert_int_equal(rc, err);
	tu_pageblocks_snap(pmm, &b);
	tu_pageblocks_assert_equal(&a, &b);
	tu_buddy_snap(pmm, &y);
	tu_buddy_assert_equal(&x, &y);
}

/*
 * Both contig allocators: bad ranges, a range over two zones, a busy frame.
 * Every refusal leaves pageblock types and buddy lists exactly as they were.
 */
static void test_alloc_contig_bad_ranges(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	pmm_t *pmm;
	struct pmm_page *busy;
	const pmm_pfn_t dma_end = 0x100000;	/* 4 GiB: DMA32 below, Normal above */

	(void)state;
	tu_contig_config(&cfg, 16, &bad);
	tu_config_region(&cfg, 0, dma_end - 4096, 8192, 0);
	pmm = tu_create(&cfg);
	assert_int_equal(pmm_nr_zones(pmm), 2);
	assert_int_equal(pmm_alloc_contig_range(pmm, dma_end - 2000, dma_end - 1999, 0), 0);
	busy = pmm_pfn_to_page(pmm, dma_end - 2000);
	assert_int_equal(pmm_page_count(busy), 1);

	for (int frozen = 0; frozen <= 1; frozen++) {
		expect_contig_rc(pmm, frozen, dma_end - 100, dma_end - 100, -PMM_EINVAL);
		expect_contig_rc(pmm, frozen, dma_end + 100, dma_end - 100, -PMM_EINVAL);
		expect_contig_rc(pmm, frozen, dma_end - 8, dma_end + 8, -PMM_EINVAL);	/* two zones */
		expect_contig_rc(pmm, frozen, dma_end - 4096 - 1, dma_end - 4000, -PMM_ERANGE);
		expect_contig_rc(pmm, frozen, dma_end + 4090, dma_end + 4097, -PMM_ERANGE);
		expect_contig_rc(pmm, frozen, UINT64_MAX - 1, UINT64_MAX, -PMM_ERANGE);
		expect_contig_rc(pmm, frozen, tu_pfn(pmm, busy) - 3, tu_pfn(pmm, busy) + 3, -PMM_EBUSY);
		tu_assert_conserved(pmm, 1);
	}
	/* right next to the boundary on either side it works */
	assert_int_equal(pmm_alloc_contig_range(pmm, dma_end - 8, dma_end, 0), 0);
	assert_int_equal(pmm_alloc_contig_frozen_range(pmm, dma_end, dma_end + 8, 0), 0);
	tu_assert_conserved(pmm, 17);
	pmm_free_contig_range(pmm, dma_end - 8, 8);
	pmm_free_contig_frozen_range(pmm, dma_end, 8);
	pmm_free_pages(pmm, busy, 0);
	tu_finish(pmm, .bad = &bad);
}

/*
 * A range whose two ends lie in node 0's zone but whose middle is node 1's
 * region (node 0's zone spans it): refused, nothing changes.
 */
static void test_alloc_contig_range_other_node_inside(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	pmm_t *pmm;

	(void)state;
	tu_contig_config(&cfg, 16, &bad);
	tu_config_region(&cfg, 0, TU_BASE_PFN, 2048, 0);
	tu_config_region(&cfg, 1, TU_BASE_PFN + 2048, 2048, 1);
	tu_config_region(&cfg, 2, TU_BASE_PFN + 4096, 2048, 0);
	pmm = tu_create(&cfg);
	for (int frozen = 0; frozen <= 1; frozen++) {
		struct tu_pageblocks a, b;
		struct tu_buddy x, y;
		int rc;

		tu_pageblocks_snap(pmm, &a);
		tu_buddy_snap(pmm, &x);
		rc = frozen ? pmm_alloc_contig_frozen_range(pmm, TU_BASE_PFN + 1000, TU_BASE_PFN + 5000, 0)
			    : pmm_alloc_contig_range(pmm, TU_BASE_PFN + 1000, TU_BASE_PFN + 5000, 0);
		print_message("range over another node's region: %d (%s)\n", rc, pmm_strerror(rc));
		assert_int_equal(rc, -PMM_EINVAL);	/* one zone only, checked frame by frame */
		tu_pageblocks_snap(pmm, &b);
		tu_pageblocks_assert_equal(&a, &b);
		tu_buddy_snap(pmm, &y);
		tu_buddy_assert_equal(&x, &y);
		tu_assert_conserved(pmm, 0);
	}
	tu_finish(pmm, .bad = &bad);
}

static void test_alloc_contig_pages_bad(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = tu_two_node_instance(&bad);
	uint64_t f0 = tu_free_after_drain(pmm);
	struct pmm_page *p;

	(void)state;
	assert_null(pmm_alloc_contig_pages(pmm, 0, 0, -1));
	assert_null(pmm_alloc_contig_pages(pmm, 4097, PMM_GFP_NOWARN, -1));	/* more than a zone */
	assert_null(pmm_alloc_contig_pages(pmm, 8, PMM_GFP_THISNODE | PMM_GFP_NOWARN, 2));	/* no memory */
	assert_null(pmm_alloc_contig_pages(pmm, 8, PMM_GFP_THISNODE | PMM_GFP_NOWARN, 1000));
	assert_null(pmm_alloc_contig_pages(pmm, 8, PMM_GFP_DMA32 | PMM_GFP_NOWARN, -1));	/* no DMA32 */
	assert_int_equal(tu_free_after_drain(pmm), f0);
	p = pmm_alloc_contig_pages(pmm, 8, PMM_GFP_THISNODE, 1);
	assert_non_null(p);
	assert_int_equal(pmm_page_nid(pmm, p), 1);
	pmm_free_contig_range(pmm, tu_pfn(pmm, p), 8);
	tu_finish(pmm, .bad = &bad);
}

/* A count above 2^63: NULL, without undefined behaviour (checked in a child). */
static void contig_pages_huge_child(void *arg)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	pmm_t *pmm;
	unsigned long nr = *(unsigned long *)arg;

	tu_contig_config(&cfg, 16, &bad);
	cfg.backing = PMM_BACKING_NONE;
	if (pmm_create(&cfg, &pmm))
		_exit(2);
	if (pmm_alloc_contig_pages(pmm, nr, PMM_GFP_NOWARN, -1))
		_exit(3);
	if (pmm_check(pmm) || pmm_free_frames(pmm) != pmm_managed_frames(pmm))
		_exit(4);
	pmm_destroy(pmm);
}

static void test_alloc_contig_pages_huge_nr(void **state)
{
	static unsigned long counts[] = { ULONG_MAX, (1ul << 63) + 1, 1ul << 63, 1ul << 40 };
	int failed = 0;

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(counts); i++) {
		char what[64];

		snprintf(what, sizeof(what), "alloc_contig_pages(%#lx)", counts[i]);
		failed += tu_in_child(what, contig_pages_huge_child, &counts[i], 10) != 0;
	}
	assert_int_equal(failed, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pfn_outside),
		TU_CONTIG_TESTS(test_alloc_contig_range_bad_ranges),
		cmocka_unit_test(test_free_contig_range_bad),
		TU_CONTIG_TESTS(test_free_contig_range_below_first_pfn),
		cmocka_unit_test(test_free_contig_range_wrapping_nr),
		cmocka_unit_test(test_free_contig_range_huge_nr),
		TU_CONTIG_TESTS(test_compound_head_refused),
		TU_CONTIG_TESTS(test_compound_inside_range),
		TU_CONTIG_TESTS(test_free_pages_bulk_folio_in_run),
		TU_CONTIG_TESTS(test_range_from_folio_tail),
		cmocka_unit_test(test_free_contig_range_folio_inside),
		cmocka_unit_test(test_free_pages_bulk_folio_inside),
		cmocka_unit_test(test_free_contig_range_unsplit_block),
		cmocka_unit_test(test_free_contig_range_unsplit_head_only),
		cmocka_unit_test(test_free_pages_bulk_unsplit_block),
		cmocka_unit_test(test_free_contig_frozen_range_bad),
		cmocka_unit_test(test_free_pages_bulk_bad),
		cmocka_unit_test(test_alloc_contig_bad_ranges),
		cmocka_unit_test(test_alloc_contig_range_other_node_inside),
		cmocka_unit_test(test_alloc_contig_pages_bad),
		cmocka_unit_test(test_alloc_contig_pages_huge_nr),
	};

	return tu_main(argc, argv, tests);
}
