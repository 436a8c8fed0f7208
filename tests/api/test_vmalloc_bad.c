/* SPDX-License-Identifier: MIT */
/*
 * test_vmalloc_bad.c - bad input to vmalloc through pmm.h only, and the
 * backings that cannot map frames: pmm_vfree/pmm_vunmap of an address
 * that is not a live area's start (an inner address, a guard page, a
 * double free, another instance's area, an address outside every window,
 * a vmalloc area given to pmm_vunmap), sizes and alignments that cannot
 * be served, pages pmm_vmap() must refuse, the window's config limits,
 * ANON and USER backings (NULL, no crash), no backing (bookkeeping only),
 * no window, and bad-page callbacks that call back into the instance.
 *
 * What a refused call must do (pmm.h "vmalloc"; design.md section 9): one
 * bad-page report, on the callback and the bad_page counter, with pfn
 * (pmm_pfn_t)-1 when the input is an address, or the frame when it is a
 * page of the instance that is not allocated; no frame freed or taken, no
 * area counter changed, the area still usable. Every scenario ends with
 * tu_finish(): pmm_check() == 0, every frame free, the exact number of
 * reports, nothing leaked.
 *
 * Contract points relied on beyond the prototypes:
 *  - A size or alignment that cannot be served returns NULL without a
 *    bad-page report (it is no page); the tests check only that nothing
 *    is taken.
 *  - A pmm_vmap() array entry that is NULL is "not an allocated page of
 *    @pmm": refused and reported with pfn -1.
 *  - The pages of a folio (compound, any order) are allocated pages of
 *    the instance (pmm_page_count() is the folio's): pmm_vmap() maps them
 *    ("any order's pages").
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "vm_util.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PS 4096ul

/* The area is as it was: the same pages at the same offsets, its bytes intact, still writable. */
static void assert_area_intact(pmm_t *pmm, struct vu_area *a, struct pmm_page **pages)
{
	struct pmm_page **now = vu_area_pages(pmm, a->addr, a->pages);

	assert_memory_equal(now, pages, a->pages * sizeof(*now));
	free(now);
	vu_assert_pattern(pmm, a, PATTERN_ALL);
	vu_assert_alias(pmm, a, a->tag + 2, PATTERN_ALL);
}

/* ------------------------------------------------------------------------
 * 1. Addresses that are not a live area's start
 * ------------------------------------------------------------------------ */

/*
 * Inside an area (its second page, its second byte, its last byte) and
 * its guard page: pmm_vfree and pmm_vunmap refuse each; the area keeps its
 * pages and bytes and is freed normally afterwards. pmm_vfree(NULL) is a
 * no-op: no report, nothing changed.
 */
static void test_inner_and_guard(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 16);
	struct vu_area a = vu_vmalloc(pmm, 4 * PS, PMM_GFP_KERNEL);
	struct pmm_page **pages = vu_area_pages(pmm, a.addr, a.pages);
	const char *inner[] = { a.addr + PS, a.addr + 1, a.addr + 4 * PS - 1, a.addr + 4 * PS,
				a.addr + 5 * PS - 1 };
	struct pmm_vmalloc_stats s0, s1;
	uint64_t f0;

	vu_write(pmm, &a, 0x51, PATTERN_ALL);
	for (size_t i = 0; i < ARRAY_SIZE(inner); i++)
		vu_assert_both_refuse(pmm, &fx->bad, inner[i]);
	assert_area_intact(pmm, &a, pages);

	s0 = vu_stats(pmm);
	f0 = tu_free_after_drain(pmm);
	pmm_vfree(pmm, NULL);
	assert_int_equal(tu_free_after_drain(pmm), f0);
	s1 = vu_stats(pmm);
	vu_assert_same_areas(&s0, &s1);
	assert_int_equal(tu_reports_since(pmm, &fx->bad, NULL), 2 * ARRAY_SIZE(inner));

	vu_vfree(pmm, &a, true);
	free(pages);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .reports = 2 * ARRAY_SIZE(inner));
}

/*
 * A double vfree, while the range is lazy, after another area took the
 * frames (probably the same ones), and after the purge: refused each time,
 * and the other area keeps its pages and bytes. The same for a double
 * vunmap and a vunmap after vfree of a vmap area.
 */
static void test_double_free(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 16);
	struct vu_area a = vu_vmalloc(pmm, 4 * PS, PMM_GFP_KERNEL), b, v;
	char *old = a.addr, *old_v;
	struct pmm_page **pages, *cp[3];

	vu_vfree(pmm, &a, true);
	vu_assert_both_refuse(pmm, &fx->bad, old);
	b = vu_vmalloc(pmm, 4 * PS, PMM_GFP_KERNEL);
	vu_write(pmm, &b, 0x52, PATTERN_ALL);
	pages = vu_area_pages(pmm, b.addr, b.pages);
	vu_assert_refused(pmm, &fx->bad, pmm_vfree, old);
	pmm_vmalloc_purge(pmm);
	vu_assert_refused(pmm, &fx->bad, pmm_vfree, old);
	assert_area_intact(pmm, &b, pages);
	free(pages);

	for (int i = 0; i < 3; i++) {
		cp[i] = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
		assert_non_null(cp[i]);
	}
	v = vu_vmap(pmm, cp, 3, 0);
	old_v = v.addr;
	vu_vunmap(pmm, &v);
	vu_assert_both_refuse(pmm, &fx->bad, old_v);
	v = vu_vmap(pmm, cp, 3, PMM_VMAP_PUT_PAGES);
	old_v = v.addr;
	vu_vfree(pmm, &v, false);	/* drops the references: the pages are free now */
	vu_assert_both_refuse(pmm, &fx->bad, old_v);
	vu_vfree(pmm, &b, true);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .reports = 2 + 2 + 2 + 2);
}

/*
 * Another instance's area: both calls refuse it on this instance's
 * channel, the owner sees nothing and keeps the area whole; it is not this
 * instance's vmalloc address and has no page here. Neither instance maps
 * the other's pages (pmm_vmap refuses a foreign page with pfn -1).
 */
static void test_other_instance(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 16), *other;
	struct tu_bad obad = { 0 };
	struct pmm_config ocfg;
	struct pmm_page **pages, *mine;
	struct vu_area a;
	struct tu_report_mark m;

	tu_contig_config(&ocfg, 16, &obad);
	other = tu_create(&ocfg);
	a = vu_vmalloc(other, 6 * PS, PMM_GFP_KERNEL);
	vu_write(other, &a, 0x53, PATTERN_ALL);
	pages = vu_area_pages(other, a.addr, a.pages);

	assert_false(pmm_is_vmalloc_addr(pmm, a.addr));
	assert_null(pmm_vmalloc_to_page(pmm, a.addr));
	vu_assert_both_refuse(pmm, &fx->bad, a.addr);
	assert_int_equal(tu_reports_since(other, &obad, NULL), 0);
	assert_area_intact(other, &a, pages);

	tu_report_mark(pmm, &fx->bad, &m);
	assert_null(pmm_vmap(pmm, pages, 1, 0));
	tu_assert_reports(pmm, &fx->bad, &m, 1, NULL);
	assert_int_equal(atomic_load(&fx->bad.last_pfn), (pmm_pfn_t)-1);
	mine = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(mine);
	tu_report_mark(other, &obad, &m);
	assert_null(pmm_vmap(other, &mine, 1, PMM_VMAP_PUT_PAGES));
	tu_assert_reports(other, &obad, &m, 1, NULL);
	assert_int_equal(pmm_page_count(mine), 1);
	pmm_free_pages(pmm, mine, 0);

	vu_vfree(other, &a, true);
	free(pages);
	vu_assert_idle(other);
	tu_finish(other, .bad = &obad, .reports = 1);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .reports = 3);
}

/*
 * Addresses in no window: the stack, the heap, the direct map of a page an
 * area maps, a small integer; and a window address no area covers. Both
 * calls refuse each; the area is untouched.
 */
static void test_not_an_area(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 16);
	struct vu_area a = vu_vmalloc(pmm, 3 * PS, PMM_GFP_KERNEL);
	struct pmm_page **pages = vu_area_pages(pmm, a.addr, a.pages);
	char *heap = malloc(64);
	int local = 0;
	const void *addrs[] = { &local, heap, pmm_page_address(pmm, pages[1]), (void *)(uintptr_t)4096,
				(void *)(uintptr_t)1, a.addr + 64 * PS };

	assert_non_null(heap);
	vu_write(pmm, &a, 0x54, PATTERN_ALL);
	assert_false(pmm_is_vmalloc_addr(pmm, &local));
	assert_false(pmm_is_vmalloc_addr(pmm, heap));
	assert_false(pmm_is_vmalloc_addr(pmm, NULL));
	assert_true(pmm_is_vmalloc_addr(pmm, a.addr + 64 * PS));
	for (size_t i = 0; i < ARRAY_SIZE(addrs); i++) {
		assert_null(pmm_vmalloc_to_page(pmm, addrs[i]));
		vu_assert_both_refuse(pmm, &fx->bad, addrs[i]);
	}
	assert_null(pmm_vmalloc_to_page(pmm, NULL));
	assert_area_intact(pmm, &a, pages);
	vu_vfree(pmm, &a, true);
	free(pages);
	free(heap);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .reports = 2 * ARRAY_SIZE(addrs));
}

/*
 * pmm_vunmap of a pmm_vmalloc() area is refused (its pages would leak):
 * reported, the area still mapped with its pages, freed by pmm_vfree.
 */
static void test_vunmap_of_vmalloc_area(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 16);
	struct vu_area a = vu_vmalloc(pmm, 8 * PS, PMM_GFP_KERNEL);
	struct pmm_page **pages = vu_area_pages(pmm, a.addr, a.pages);

	vu_write(pmm, &a, 0x55, PATTERN_ALL);
	vu_assert_refused(pmm, &fx->bad, pmm_vunmap, a.addr);
	vu_assert_refused(pmm, &fx->bad, pmm_vunmap, a.addr);
	assert_area_intact(pmm, &a, pages);
	assert_int_equal(vu_stats(pmm).nr_vmalloc_pages, 8);
	vu_vfree(pmm, &a, true);
	free(pages);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .reports = 2);
}

/* ------------------------------------------------------------------------
 * 2. Sizes, alignments and nodes that cannot be served
 * ------------------------------------------------------------------------ */

/* Nothing taken: the frames, the area counters and (after a purge) the window as before. */
static void assert_nothing_taken(pmm_t *pmm, uint64_t f0, const struct pmm_vmalloc_stats *s0)
{
	struct pmm_vmalloc_stats s1 = vu_stats(pmm);

	assert_int_equal(tu_free_after_drain(pmm), f0);
	assert_int_equal(s1.nr_areas, s0->nr_areas);
	assert_int_equal(s1.nr_vmalloc_pages, s0->nr_vmalloc_pages);
	tu_check(pmm);
	vu_assert_idle(pmm);
}

/* Every allocating entry point with @size: NULL each time, nothing taken. */
static void assert_size_refused(pmm_t *pmm, size_t size, uint64_t f0, const struct pmm_vmalloc_stats *s0)
{
	const pmm_gfp_t g = PMM_GFP_KERNEL | PMM_GFP_NOWARN;
	void *p[6];

	p[0] = pmm_vmalloc(pmm, size, g);
	p[1] = pmm_vzalloc(pmm, size, g);
	p[2] = pmm_vmalloc_node(pmm, size, g, 0);
	p[3] = pmm_vmalloc_huge(pmm, size, g);
	p[4] = pmm_vmalloc_node_range(pmm, size, 0, g, PMM_NUMA_NO_NODE, "bad");
	p[5] = pmm_vmalloc_node_range(pmm, size, 2ul << 20, g, PMM_NUMA_NO_NODE, "bad");
	for (int i = 0; i < 6; i++)
		if (p[i])
			fail_msg("size %#zx: entry point %d returned %p (an area of %zu pages)", size, i,
				 p[i], pmm_vmalloc_to_page(pmm, p[i]) ? (size_t)1 : (size_t)0);
	assert_nothing_taken(pmm, f0, s0);
}

/*
 * Size 0 through every entry point, and sizes larger than any window or
 * memory: NULL, nothing taken; the instance then serves a normal request.
 * An unknown node (pmm_alloc_pages_node refuses it) gets no pages either.
 */
static void test_bad_sizes(void **state)
{
	static const size_t sizes[] = { 0, SIZE_MAX / 2 + 1, (size_t)1 << 47, ((size_t)1 << 40) + PS,
					TU_MIB(17) };
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 16);
	const struct pmm_vmalloc_stats s0 = vu_stats(pmm);
	const uint64_t f0 = tu_free_after_drain(pmm);
	struct vu_area a;

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		assert_size_refused(pmm, sizes[i], f0, &s0);
	assert_null(pmm_vmalloc_node(pmm, 4 * PS, PMM_GFP_NOWARN, PMM_MAX_NODES + 3));
	assert_null(pmm_vmalloc_node(pmm, 4 * PS, PMM_GFP_NOWARN, -7));
	assert_nothing_taken(pmm, f0, &s0);
	a = vu_vmalloc(pmm, 4 * PS, PMM_GFP_KERNEL);
	vu_assert_alias(pmm, &a, 0x56, PATTERN_ALL);
	vu_vfree(pmm, &a, true);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/*
 * Sizes within a page of SIZE_MAX: rounding them up to pages wraps
 * around; an implementation that does not check gets a tiny number of
 * pages and hands out an area far smaller than asked. NULL, nothing taken.
 */
static void test_size_rounding_wraps(void **state)
{
	static const size_t sizes[] = { SIZE_MAX, SIZE_MAX - PS + 2, SIZE_MAX - PS / 2 };
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 16);
	const struct pmm_vmalloc_stats s0 = vu_stats(pmm);
	const uint64_t f0 = tu_free_after_drain(pmm);

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		assert_size_refused(pmm, sizes[i], f0, &s0);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/*
 * pmm_vmalloc_node_range with an alignment that is not a power of two, or
 * a power of two below the page size: NULL, nothing taken. A power of two
 * no window can honour (2^62) is NULL too. Valid alignments still work.
 */
static void test_bad_align(void **state)
{
	static const size_t aligns[] = { 3 * PS, PS + 1, PS * 3 / 2, PS - 1, PS / 2, 16, 1, 3,
					 SIZE_MAX, (size_t)1 << 62 };
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 16);
	const struct pmm_vmalloc_stats s0 = vu_stats(pmm);
	const uint64_t f0 = tu_free_after_drain(pmm);

	for (size_t i = 0; i < ARRAY_SIZE(aligns); i++) {
		void *p = pmm_vmalloc_node_range(pmm, 4 * PS, aligns[i], PMM_GFP_NOWARN,
						 PMM_NUMA_NO_NODE, "test_bad_align");

		if (p)
			fail_msg("align %#zx: area %p", aligns[i], p);
		assert_nothing_taken(pmm, f0, &s0);
	}
	for (size_t al = PS; al <= (1ul << 22); al <<= 3) {
		struct pmm_vmalloc_stats s1 = vu_stats(pmm);
		struct vu_area a = { .pages = 4 };

		a.addr = pmm_vmalloc_node_range(pmm, 4 * PS, al, 0, PMM_NUMA_NO_NODE, "test_bad_align");
		vu_check_new(pmm, &a, &s1, true);
		assert_int_equal((uintptr_t)a.addr % al, 0);
		vu_vfree(pmm, &a, true);
	}
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/* ------------------------------------------------------------------------
 * 3. Pages pmm_vmap() must refuse
 * ------------------------------------------------------------------------ */

/*
 * pmm_vmap(@pages) returns NULL with one report whose pfn is @pfn, and
 * takes, frees and maps nothing (with and without PUT_PAGES).
 */
static void assert_vmap_refused(pmm_t *pmm, struct tu_bad *bad, struct pmm_page **pages,
				unsigned int n, pmm_pfn_t pfn)
{
	for (int put = 0; put < 2; put++) {
		struct pmm_vmalloc_stats s0 = vu_stats(pmm), s1;
		uint64_t f0 = tu_free_after_drain(pmm);
		struct tu_report_mark m;

		tu_report_mark(pmm, bad, &m);
		assert_null(pmm_vmap(pmm, pages, n, put ? PMM_VMAP_PUT_PAGES : 0));
		tu_assert_reports(pmm, bad, &m, 1, NULL);
		if (atomic_load(&bad->last_pfn) != pfn)
			print_message("report \"%s\": pfn %#" PRIx64 ", expected %#" PRIx64 "\n",
				      bad->last_reason, (uint64_t)atomic_load(&bad->last_pfn), pfn);
		assert_int_equal(atomic_load(&bad->last_pfn), pfn);
		assert_int_equal(tu_free_after_drain(pmm), f0);
		s1 = vu_stats(pmm);
		vu_assert_same_areas(&s0, &s1);
		assert_int_equal(s1.map_calls, s0.map_calls);
		tu_check(pmm);
	}
}

/*
 * A free page of the instance (reported with its pfn), a NULL entry, a
 * pointer into the middle of a page's struct, a page of another instance
 * (pfn -1): refused alone and among good pages, which keep their single
 * reference even under PMM_VMAP_PUT_PAGES.
 */
static void test_vmap_bad_pages(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 16), *other;
	struct tu_bad obad = { 0 };
	struct pmm_config ocfg;
	struct pmm_page *good[3], *freed, *foreign, *arr[4];
	pmm_pfn_t freed_pfn;
	unsigned long reports = 0;

	for (int i = 0; i < 3; i++) {
		good[i] = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
		assert_non_null(good[i]);
	}
	freed = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(freed);
	freed_pfn = tu_pfn(pmm, freed);
	pmm_free_pages(pmm, freed, 0);
	pmm_drain_all_pages(pmm);
	tu_contig_config(&ocfg, 16, &obad);
	other = tu_create(&ocfg);
	foreign = pmm_alloc_pages(other, PMM_GFP_KERNEL, 0);
	assert_non_null(foreign);

	{
		struct pmm_page *bads[] = { freed, NULL, tu_skewed_page(good[0], 8), foreign };
		const pmm_pfn_t pfns[] = { freed_pfn, (pmm_pfn_t)-1, (pmm_pfn_t)-1, (pmm_pfn_t)-1 };

		for (size_t i = 0; i < ARRAY_SIZE(bads); i++) {
			assert_vmap_refused(pmm, &fx->bad, &bads[i], 1, pfns[i]);
			arr[0] = good[0];
			arr[1] = good[1];
			arr[2] = bads[i];
			arr[3] = good[2];
			assert_vmap_refused(pmm, &fx->bad, arr, 4, pfns[i]);
			reports += 4;
			for (int g = 0; g < 3; g++)
				assert_int_equal(pmm_page_count(good[g]), 1);
		}
	}
	assert_int_equal(tu_reports_since(other, &obad, NULL), 0);
	pmm_free_pages(other, foreign, 0);
	tu_finish(other, .bad = &obad);

	for (int i = 0; i < 3; i++)
		pmm_free_pages(pmm, good[i], 0);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .reports = reports);
}

/*
 * The pages of an order-2 folio are allocated pages of the instance (any
 * order's pages; pmm_page_count() of each is the folio's 1): pmm_vmap
 * maps them, without a report, and vunmap leaves the folio's count alone.
 */
static void test_vmap_folio_pages(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 16);
	struct pmm_folio *folio = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 2);
	struct pmm_page *fp[4];
	struct vu_area a;

	assert_non_null(folio);
	for (unsigned long i = 0; i < 4; i++) {
		fp[i] = pmm_folio_page(pmm, folio, i);
		assert_int_equal(pmm_page_count(fp[i]), 1);
	}
	a = vu_vmap(pmm, fp, 4, 0);
	vu_assert_alias(pmm, &a, 0x57, PATTERN_ALL);
	vu_vunmap(pmm, &a);
	assert_int_equal(pmm_folio_ref_count(folio), 1);
	/*
	 * PMM_VMAP_PUT_PAGES would drop four references from a folio that has
	 * one (the kernel's VM_MAP_PUT_PAGES pages are order-0 pages, each
	 * with its own): refused with a report on the first folio page, and
	 * the folio keeps its reference.
	 */
	{
		struct tu_report_mark m;
		uint64_t f0 = tu_free_after_drain(pmm);

		tu_report_mark(pmm, &fx->bad, &m);
		assert_null(pmm_vmap(pmm, fp, 4, PMM_VMAP_PUT_PAGES));
		tu_assert_reports(pmm, &fx->bad, &m, 1, NULL);
		assert_int_equal(atomic_load(&fx->bad.last_pfn), pmm_page_to_pfn(pmm, fp[0]));
		assert_int_equal(tu_free_after_drain(pmm), f0);
		assert_int_equal(pmm_folio_ref_count(folio), 1);
	}
	/* Nor one reference for a whole unsplit block: its first page is refused too. */
	{
		struct pmm_page *block = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2);
		struct tu_report_mark m;

		assert_non_null(block);
		tu_report_mark(pmm, &fx->bad, &m);
		assert_null(pmm_vmap(pmm, &block, 1, PMM_VMAP_PUT_PAGES));
		tu_assert_reports(pmm, &fx->bad, &m, 1, "never split");
		assert_int_equal(pmm_page_count(block), 1);
		a = vu_vmap(pmm, &block, 1, 0);		/* without the flag it maps */
		vu_vunmap(pmm, &a);
		pmm_free_pages(pmm, block, 2);
	}
	pmm_folio_put(pmm, folio);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .reports = 2, .fresh = &fx->fresh);
}

/* ------------------------------------------------------------------------
 * 4. Callbacks that call back into the instance
 * ------------------------------------------------------------------------ */

/* What the re-entering bad_page_fn did; the child checks it without cmocka. */
struct reenter {
	pmm_t *pmm;
	unsigned long calls;
	unsigned long failures;
};

/*
 * A bad_page_fn that uses the vmalloc API of the instance reporting: the
 * statistics, a purge, a whole vmalloc/write/vfree, pmm_check. If any
 * report were made under an area lock this deadlocks (the child's time
 * limit catches it) or the check fails.
 */
static void reenter_bad_page(void *arg, pmm_pfn_t pfn, const char *reason)
{
	struct reenter *r = arg;
	struct pmm_vmalloc_stats st;
	char *p;

	(void)pfn;
	(void)reason;
	if (!r->pmm)
		return;
	r->calls++;
	if (pmm_vmalloc_stats(r->pmm, &st) != 0)
		r->failures++;
	pmm_vmalloc_purge(r->pmm);
	p = pmm_vmalloc(r->pmm, 3 * PS, PMM_GFP_KERNEL);
	if (!p || !pmm_vmalloc_to_page(r->pmm, p + 2 * PS)) {
		r->failures++;
	} else {
		p[0] = 1;
		p[3 * PS - 1] = 2;
		pmm_vfree(r->pmm, p);
	}
	if (pmm_check(r->pmm) != 0)
		r->failures++;
}

static void reenter_child(void *arg)
{
	struct reenter *r = arg;
	struct pmm_config cfg;
	struct pmm_page *freed;
	int local;
	char *a;
	pmm_t *pmm;

	signal(SIGSEGV, SIG_DFL);	/* a crash ends the child, not a cmocka test */
	signal(SIGBUS, SIG_DFL);
	tu_contig_config(&cfg, 16, NULL);
	cfg.bad_page_fn = reenter_bad_page;
	cfg.bad_page_arg = r;
	cfg.vmap_lazy_max = 1;	/* every vfree purges inside the callback too */
	if (pmm_create(&cfg, &pmm) != 0)
		_exit(10);
	r->pmm = pmm;
	a = pmm_vmalloc(pmm, 4 * PS, PMM_GFP_KERNEL);
	if (!a)
		_exit(11);
	pmm_vfree(pmm, a + PS);		/* inner address */
	pmm_vunmap(pmm, a);		/* vmalloc area */
	pmm_vfree(pmm, &local);		/* outside the window */
	pmm_vfree(pmm, a);
	pmm_vfree(pmm, a);		/* double free */
	freed = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	pmm_free_pages(pmm, freed, 0);
	if (pmm_vmap(pmm, &freed, 1, 0))	/* a free page */
		_exit(12);
	if (r->calls != 5 || r->failures)
		_exit(13);
	r->pmm = NULL;
	pmm_drain_all_pages(pmm);
	if (pmm_check(pmm) != 0 || pmm_free_frames(pmm) != pmm_managed_frames(pmm))
		_exit(14);
	pmm_destroy(pmm);
}

static void test_reports_reenter(void **state)
{
	struct reenter r = { 0 };

	(void)state;
	assert_int_equal(tu_in_child("bad_page_fn re-entering the vmalloc API", reenter_child, &r, 60), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		TU_MEMMAP_TESTS(test_inner_and_guard),
		TU_TEST(test_double_free),
		TU_TEST(test_other_instance),
		TU_TEST(test_not_an_area),
		TU_TEST(test_vunmap_of_vmalloc_area),
		TU_TEST(test_bad_sizes),
		TU_TEST(test_bad_align),
		TU_TEST(test_vmap_bad_pages),
		TU_TEST(test_vmap_folio_pages),
		cmocka_unit_test(test_reports_reenter),
		/* last: against a library that does not check, UBSan aborts the program here */
		TU_TEST(test_size_rounding_wraps),
	};

	return tu_main(argc, argv, tests);
}
