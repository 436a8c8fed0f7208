/* SPDX-License-Identifier: MIT */
/*
 * test_vmalloc_areas.c - the window side of vmalloc through pmm.h only
 * (design.md section 7, pmm.h "vmalloc"): alignment, guard pages (and
 * that they fault), exhaustion of the window, the lazy purge (no reuse
 * of a freed range before a purge; the explicit purge, the one an
 * allocation makes when it finds no room, the threshold; the unmapping).
 * vmap and vmallocinfo are test_vmalloc_vmap.c.
 *
 * Every scenario ends with vu_assert_idle() and tu_finish() (pmm_check()
 * == 0, every frame free, no bad-page report, buddyinfo as fresh).
 *
 * Contract points these tests rely on beyond the prototypes:
 *  - Each area has a guard page after it inside the window: an area of n
 *    pages takes n + 1 pages of window ("size with guard page"), so a
 *    window of 64 pages holds exactly 32 one-page areas and a window of
 *    16 pages one area of 15 pages; the guard has no page
 *    (pmm_vmalloc_to_page() NULL) and faults (the window is PROT_NONE).
 *  - A freshly created window is one free block (free_bytes ==
 *    largest_free == window_bytes) and so is a purged window without
 *    areas.
 *  - lazy_pages is the kernel's vmap_lazy_nr: a freed area counts its
 *    pages and its guard page (the area's "size with guard page", the
 *    kernel's va_size), LAZY(n) = n + 1; free_bytes excludes lazy ranges; a purge returns each freed area's
 *    pages and its guard; "purges" counts the purges that released
 *    something; a purge makes one unmap call per run of adjacent freed
 *    areas (an area and the next one are adjacent when the next starts
 *    right after the first one's guard page).
 *  - A threshold of vmap_lazy_max pages purges when the lazy pages reach
 *    or pass it (tested with counts that cross it, so > and >= agree);
 *    1 purges at every free.
 *  - After vfree and before the purge the old address still reaches the
 *    freed frames (not trapped); after the purge it faults.
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "vm_util.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PS 4096ul	/* tu_config() instances: 4 KiB pages */
#define LAZY_NEVER (1ull << 30)	/* a vmap_lazy_max no test reaches */
#define LAZY(n) ((uint64_t)(n) + 1)	/* what a freed n-page area adds to lazy_pages */

/* ------------------------------------------------------------------------
 * 1. Alignment
 * ------------------------------------------------------------------------ */

/*
 * pmm_vmalloc_node_range at align 0 (the page size), 4 KiB, 64 KiB, 1 MiB,
 * 2 MiB and 4 MiB, each after a one-page area that moves the lowest free
 * address off the alignment, for a small and an align-sized area: every
 * address is aligned. pmm_vmalloc_huge of 2 MiB, 3 MiB and 4 MiB + 1 page
 * is 2 MiB aligned; of less, page aligned. No two areas overlap or touch
 * another's guard; every area keeps its bytes.
 */
static void test_alignment(void **state)
{
	static const size_t aligns[] = { 0, PS, 64ul << 10, 1ul << 20, 2ul << 20, 4ul << 20 };
	static const size_t huge[] = { 2ul << 20, 3ul << 20, (4ul << 20) + PS, 5 * PS };
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 64);
	struct vu_area v[3 * ARRAY_SIZE(aligns) + 2 * ARRAY_SIZE(huge)];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(aligns); i++) {
		const size_t sizes[] = { 3 * PS, aligns[i] ? aligns[i] + PS : 5 * PS };
		const size_t al = aligns[i] ? aligns[i] : PS;

		v[n] = vu_vmalloc(pmm, PS, PMM_GFP_KERNEL);
		vu_write(pmm, &v[n++], 0xa0 + i, PATTERN_ALL);
		for (size_t k = 0; k < 2; k++) {
			struct pmm_vmalloc_stats s0 = vu_stats(pmm);
			struct vu_area a = { .pages = sizes[k] / PS };

			a.addr = pmm_vmalloc_node_range(pmm, sizes[k], aligns[i], PMM_GFP_KERNEL,
							PMM_NUMA_NO_NODE, "test_alignment");
			vu_check_new(pmm, &a, &s0, true);
			if ((uintptr_t)a.addr % al)
				fail_msg("align %zu, size %zu: area at %p", aligns[i], sizes[k], (void *)a.addr);
			vu_assert_alias(pmm, &a, 0xb0 + 2 * i + k, PATTERN_SAMPLED);
			v[n++] = a;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(huge); i++) {
		struct pmm_vmalloc_stats s0;
		struct vu_area a = { .pages = vu_pages_of(pmm, huge[i]) };

		v[n] = vu_vmalloc(pmm, PS, PMM_GFP_KERNEL);
		vu_write(pmm, &v[n++], 0xc0 + i, PATTERN_ALL);
		s0 = vu_stats(pmm);
		a.addr = pmm_vmalloc_huge(pmm, huge[i], PMM_GFP_KERNEL);
		vu_check_new(pmm, &a, &s0, true);
		if (huge[i] >= (2ul << 20) && (uintptr_t)a.addr % (2ul << 20))
			fail_msg("pmm_vmalloc_huge(%zu): area at %p, not 2 MiB aligned", huge[i],
				 (void *)a.addr);
		vu_assert_alias(pmm, &a, 0xd0 + i, PATTERN_SAMPLED);
		v[n++] = a;
	}
	vu_assert_disjoint(pmm, v, n);
	for (size_t i = 0; i < n; i++) {
		vu_assert_pattern(pmm, &v[i], PATTERN_SAMPLED);
		vu_vfree(pmm, &v[i], true);
	}
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/* ------------------------------------------------------------------------
 * 2. Guard pages
 * ------------------------------------------------------------------------ */

/*
 * Areas of 1..4 pages, a third of them freed and purged at once
 * (vmap_lazy_max 1) so that new areas land in the holes: no area starts
 * within a page of another's end, the page after each area's end has no
 * page (its guard) while its last byte has one, and every area keeps its
 * bytes.
 */
static void test_guard_pages(void **state)
{
	struct tu_fx *fx = *state;
	struct vu_area v[36];
	pmm_t *pmm;

	tu_fx_contig_config(fx, 16)->vmap_lazy_max = 1;
	pmm = tu_fx_create(fx);
	for (size_t i = 0; i < 24; i++) {
		v[i] = vu_vmalloc(pmm, (i % 4 + 1) * PS, PMM_GFP_KERNEL);
		vu_write(pmm, &v[i], 0x100 + i, PATTERN_ALL);
	}
	for (size_t i = 0; i < 24; i += 3)
		vu_vfree(pmm, &v[i], true);
	assert_int_equal(vu_stats(pmm).lazy_pages, 0);
	for (size_t i = 0; i < 12; i++) {
		v[24 + i] = vu_vmalloc(pmm, (i % 2 + 1) * PS, PMM_GFP_KERNEL);
		vu_write(pmm, &v[24 + i], 0x200 + i, PATTERN_ALL);
	}
	vu_assert_disjoint(pmm, v, ARRAY_SIZE(v));
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		char *end;

		if (!v[i].addr)
			continue;
		end = v[i].addr + v[i].pages * PS;
		assert_non_null(pmm_vmalloc_to_page(pmm, end - 1));
		assert_null(pmm_vmalloc_to_page(pmm, end));
		assert_null(pmm_vmalloc_to_page(pmm, end + PS - 1));
		assert_true(pmm_is_vmalloc_addr(pmm, end));
		vu_assert_pattern(pmm, &v[i], PATTERN_ALL);
	}
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		if (v[i].addr)
			vu_vfree(pmm, &v[i], true);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/*
 * In a child: read one byte. cmocka's handlers would turn a fault into a
 * failed test and run the remaining tests in the child: the default
 * action ends the child with the signal instead.
 */
static void child_read(void *arg)
{
	const volatile char *p = arg;

	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	(void)*p;
}

/*
 * The guard page faults: a read of the byte after an area kills a child
 * process, a read of the area's last byte does not. After pmm_vfree the
 * old address still reads (the mapping waits for the purge, as pmm.h
 * says); after pmm_vmalloc_purge() it faults.
 */
static void test_guard_and_purge_fault(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 16);
	struct vu_area a = vu_vmalloc(pmm, 2 * PS, PMM_GFP_KERNEL);
	char *addr = a.addr;

	vu_write(pmm, &a, 0x77, PATTERN_ALL);
	assert_int_equal(tu_in_child("read the area's last byte", child_read, addr + 2 * PS - 1, 10), 0);
	assert_int_equal(tu_in_child("read the guard page", child_read, addr + 2 * PS, 10), -1);
	vu_vfree(pmm, &a, true);
	assert_int_equal(vu_stats(pmm).lazy_pages, LAZY(2));
	assert_int_equal(tu_in_child("read a freed, unpurged area", child_read, addr, 10), 0);
	pmm_vmalloc_purge(pmm);
	assert_int_equal(vu_stats(pmm).lazy_pages, 0);
	assert_int_equal(tu_in_child("read a purged area", child_read, addr, 10), -1);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/* ------------------------------------------------------------------------
 * 3. Exhaustion of the window
 * ------------------------------------------------------------------------ */

/*
 * A 64-page window: one-page areas until NULL gives exactly 32 (each with
 * its guard page); the failed call takes no frame and no area; freeing
 * them all leaves them lazy (32 x 2 pages with the guards); a 63-page area then succeeds only
 * because the allocation purges (one purge), and a 64-page one never fits.
 * After freeing, frames and the window are as at the start.
 */
static void test_exhaust_window(void **state)
{
	struct tu_fx *fx = *state;
	struct pmm_config *cfg = tu_fx_contig_config(fx, 16);
	struct vu_area v[64], big;
	struct pmm_vmalloc_stats st;
	size_t n = 0;
	uint64_t f0, purges;
	pmm_t *pmm;

	cfg->vmalloc_size = 64 * PS;
	cfg->vmap_lazy_max = LAZY_NEVER;
	pmm = tu_fx_create(fx);
	st = vu_stats(pmm);
	assert_int_equal(st.window_bytes, 64 * PS);
	assert_int_equal(st.free_bytes, 64 * PS);
	assert_int_equal(st.largest_free, 64 * PS);

	while (n < ARRAY_SIZE(v)) {
		struct pmm_vmalloc_stats s0 = vu_stats(pmm);

		v[n] = (struct vu_area){ .pages = 1 };
		v[n].addr = pmm_vmalloc(pmm, PS, PMM_GFP_KERNEL | PMM_GFP_NOWARN);
		if (!v[n].addr)
			break;
		vu_check_new(pmm, &v[n], &s0, true);
		vu_write(pmm, &v[n], 0x300 + n, PATTERN_ALL);
		n++;
	}
	print_message("64-page window: %zu one-page areas\n", n);
	assert_int_equal(n, 32);
	f0 = tu_free_after_drain(pmm);
	assert_null(pmm_vmalloc(pmm, 2 * PS, PMM_GFP_NOWARN));
	assert_null(pmm_vzalloc(pmm, PS, PMM_GFP_NOWARN));
	assert_null(pmm_vmalloc(pmm, 1ul << 30, PMM_GFP_NOWARN));
	assert_int_equal(tu_free_after_drain(pmm), f0);
	assert_int_equal(vu_stats(pmm).nr_areas, 32);
	vu_assert_disjoint(pmm, v, n);
	for (size_t i = 0; i < n; i++) {
		vu_assert_pattern(pmm, &v[i], PATTERN_ALL);
		vu_vfree(pmm, &v[i], true);
	}
	tu_assert_conserved(pmm, 0);
	st = vu_stats(pmm);
	assert_int_equal(st.lazy_pages, 32 * LAZY(1));
	assert_int_equal(st.free_bytes, 0);

	/* no room until the allocation purges */
	purges = st.purges;
	big = vu_vmalloc(pmm, 63 * PS, PMM_GFP_KERNEL);
	st = vu_stats(pmm);
	assert_int_equal(st.purges, purges + 1);
	assert_int_equal(st.lazy_pages, 0);
	vu_assert_alias(pmm, &big, 0x3ff, PATTERN_ALL);
	assert_null(pmm_vmalloc(pmm, PS, PMM_GFP_NOWARN));
	vu_vfree(pmm, &big, true);
	pmm_vmalloc_purge(pmm);
	f0 = tu_free_after_drain(pmm);
	assert_null(pmm_vmalloc(pmm, 64 * PS, PMM_GFP_NOWARN));
	assert_int_equal(tu_free_after_drain(pmm), f0);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/* ------------------------------------------------------------------------
 * 4. Lazy purge
 * ------------------------------------------------------------------------ */

static int cmp_addr(const void *x, const void *y)
{
	uintptr_t a = (uintptr_t)*(char *const *)x, b = (uintptr_t)*(char *const *)y;

	return a < b ? -1 : a > b;
}

/* A freed area as the purge sees it: its start and its pages. */
struct freed {
	char *addr;
	size_t pages;
};

static int cmp_freed(const void *x, const void *y)
{
	return cmp_addr(&((const struct freed *)x)->addr, &((const struct freed *)y)->addr);
}

/* Runs of adjacent freed areas (each next one right after the previous one's guard page). */
static size_t adjacent_runs(struct freed *f, size_t n)
{
	size_t runs = 0;

	qsort(f, n, sizeof(*f), cmp_freed);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || f[i].addr != f[i - 1].addr + (f[i - 1].pages + 1) * PS)
			runs++;
	return runs;
}

/*
 * A freed area's range is not handed out again before a purge: 64 more
 * areas all stay clear of it and its guard; lazy_pages counts it (4
 * pages and the guard) and free_bytes leaves it out; no purge happens on the way. The explicit
 * purge releases everything freed (one purge, one unmap call per run of
 * adjacent freed areas) and the window is whole again.
 */
static void test_lazy_no_reuse(void **state)
{
	struct tu_fx *fx = *state;
	struct vu_area a, v[64];
	struct freed freed[65];
	struct pmm_vmalloc_stats s0, st;
	uintptr_t lo, hi;
	size_t nf = 0;
	pmm_t *pmm;

	tu_fx_contig_config(fx, 32)->vmap_lazy_max = LAZY_NEVER;
	pmm = tu_fx_create(fx);
	a = vu_vmalloc(pmm, 4 * PS, PMM_GFP_KERNEL);
	lo = (uintptr_t)a.addr;
	hi = lo + 5 * PS;
	freed[nf++] = (struct freed){ a.addr, 4 };
	s0 = vu_stats(pmm);
	vu_vfree(pmm, &a, true);
	tu_assert_conserved(pmm, 0);	/* the frames are back at once */
	st = vu_stats(pmm);
	assert_int_equal(st.lazy_pages, s0.lazy_pages + LAZY(4));
	assert_int_equal(st.free_bytes, s0.free_bytes);
	assert_true(pmm_is_vmalloc_addr(pmm, (void *)lo));
	assert_null(pmm_vmalloc_to_page(pmm, (void *)lo));
	assert_null(pmm_vmalloc_to_page(pmm, (void *)(lo + 3 * PS)));

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		uintptr_t s, e;

		v[i] = vu_vmalloc(pmm, (i % 4 + 1) * PS, PMM_GFP_KERNEL);
		s = (uintptr_t)v[i].addr;
		e = s + (v[i].pages + 1) * PS;
		if (s < hi && lo < e)
			fail_msg("area %zu [%#" PRIxPTR ", %#" PRIxPTR ") reuses the freed range "
				 "[%#" PRIxPTR ", %#" PRIxPTR ") before a purge", i, s, e, lo, hi);
	}
	st = vu_stats(pmm);
	assert_int_equal(st.lazy_pages, LAZY(4));
	assert_int_equal(st.purges, s0.purges);
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		freed[nf++] = (struct freed){ v[i].addr, v[i].pages };
		vu_vfree(pmm, &v[i], true);
	}
	st = vu_stats(pmm);
	assert_int_equal(st.lazy_pages, LAZY(4) + 16 * (LAZY(1) + LAZY(2) + LAZY(3) + LAZY(4)));
	assert_int_equal(st.purges, s0.purges);

	s0 = st;
	pmm_vmalloc_purge(pmm);
	st = vu_stats(pmm);
	assert_int_equal(st.lazy_pages, 0);
	assert_int_equal(st.purges, s0.purges + 1);
	assert_int_equal(st.unmap_calls - s0.unmap_calls, adjacent_runs(freed, nf));
	assert_int_equal(st.free_bytes, st.window_bytes);
	/* a purge with nothing to release is no purge */
	pmm_vmalloc_purge(pmm);
	assert_int_equal(vu_stats(pmm).purges, st.purges);
	assert_int_equal(vu_stats(pmm).unmap_calls, st.unmap_calls);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/*
 * A 16-page window holds one 15-page area. Freed, its range comes back
 * only through a purge: the explicit one (then the next area is at the
 * same address), and the one an allocation (pmm_vmalloc, then pmm_vmap)
 * makes when it finds no room. Each reused address maps the new area's
 * own frames.
 */
static void test_lazy_one_slot(void **state)
{
	struct tu_fx *fx = *state;
	struct pmm_config *cfg = tu_fx_contig_config(fx, 16);
	struct pmm_page *pages[15];
	struct vu_area a;
	char *slot;
	uint64_t purges;
	pmm_t *pmm;

	cfg->vmalloc_size = 16 * PS;
	cfg->vmap_lazy_max = LAZY_NEVER;
	pmm = tu_fx_create(fx);
	a = vu_vmalloc(pmm, 15 * PS, PMM_GFP_KERNEL);
	slot = a.addr;
	vu_assert_alias(pmm, &a, 0x400, PATTERN_ALL);
	assert_null(pmm_vmalloc(pmm, PS, PMM_GFP_NOWARN));
	vu_vfree(pmm, &a, true);
	assert_int_equal(vu_stats(pmm).lazy_pages, LAZY(15));

	/* the explicit purge */
	purges = vu_stats(pmm).purges;
	pmm_vmalloc_purge(pmm);
	assert_int_equal(vu_stats(pmm).purges, purges + 1);
	assert_int_equal(vu_stats(pmm).lazy_pages, 0);
	assert_int_equal(vu_stats(pmm).free_bytes, 16 * PS);
	a = vu_vmalloc(pmm, 15 * PS, PMM_GFP_KERNEL);
	assert_ptr_equal(a.addr, slot);
	vu_assert_alias(pmm, &a, 0x401, PATTERN_ALL);
	vu_vfree(pmm, &a, true);

	/* the allocation's own purge */
	assert_int_equal(vu_stats(pmm).lazy_pages, LAZY(15));
	purges = vu_stats(pmm).purges;
	a = vu_vmalloc(pmm, 15 * PS, PMM_GFP_KERNEL);
	assert_ptr_equal(a.addr, slot);
	assert_int_equal(vu_stats(pmm).purges, purges + 1);
	assert_int_equal(vu_stats(pmm).lazy_pages, 0);
	vu_assert_alias(pmm, &a, 0x402, PATTERN_ALL);
	vu_vfree(pmm, &a, true);

	/* ... and pmm_vmap's */
	for (int i = 0; i < 15; i++) {
		pages[i] = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
		assert_non_null(pages[i]);
	}
	purges = vu_stats(pmm).purges;
	a = vu_vmap(pmm, pages, 15, PMM_VMAP_PUT_PAGES);
	assert_ptr_equal(a.addr, slot);
	assert_int_equal(vu_stats(pmm).purges, purges + 1);
	vu_assert_alias(pmm, &a, 0x403, PATTERN_ALL);
	vu_vunmap(pmm, &a);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/* An instance with vmap_lazy_max @max, for test_lazy_threshold. */
static pmm_t *lazy_instance(struct tu_fx *fx, uint64_t max)
{
	tu_fx_contig_config(fx, 16)->vmap_lazy_max = max;
	return tu_fx_create(fx);
}

/*
 * vmap_lazy_max 8: three 2-page areas freed leave LAZY(2) = 3, 6, then
 * (9 >= 8) a purge and 0. vmap_lazy_max 1: every vfree purges. 0 (like PMM_AUTO) is
 * the kernel's lazy_max_pages(), 32 MiB for one CPU: a few small frees
 * stay lazy.
 */
static void test_lazy_threshold(void **state)
{
	struct tu_fx *fx = *state;
	struct vu_area v[3];
	uint64_t purges;
	pmm_t *pmm;

	pmm = lazy_instance(fx, 8);
	for (int i = 0; i < 3; i++)
		v[i] = vu_vmalloc(pmm, 2 * PS, PMM_GFP_KERNEL);
	purges = vu_stats(pmm).purges;
	for (int i = 0; i < 3; i++) {
		vu_vfree(pmm, &v[i], true);
		assert_int_equal(vu_stats(pmm).lazy_pages, i < 2 ? LAZY(2) * (i + 1) : 0);
		assert_int_equal(vu_stats(pmm).purges, purges + (i == 2));
	}
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);

	pmm = lazy_instance(fx, 1);
	for (int i = 0; i < 3; i++)
		v[i] = vu_vmalloc(pmm, (i + 1) * PS, PMM_GFP_KERNEL);
	purges = vu_stats(pmm).purges;
	for (int i = 0; i < 3; i++) {
		vu_vfree(pmm, &v[i], true);
		assert_int_equal(vu_stats(pmm).lazy_pages, 0);
		assert_int_equal(vu_stats(pmm).purges, purges + i + 1);
	}
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);

	for (int k = 0; k < 2; k++) {
		pmm = lazy_instance(fx, k ? PMM_AUTO : 0);
		for (int i = 0; i < 3; i++)
			v[i] = vu_vmalloc(pmm, 64 * PS, PMM_GFP_KERNEL);
		for (int i = 0; i < 3; i++)
			vu_vfree(pmm, &v[i], true);
		assert_int_equal(vu_stats(pmm).lazy_pages, 3 * LAZY(64));
		assert_int_equal(vu_stats(pmm).purges, 0);
		vu_assert_idle(pmm);
		tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		TU_MEMMAP_TESTS(test_alignment),
		TU_TEST(test_guard_pages),
		TU_TEST(test_guard_and_purge_fault),
		TU_TEST(test_exhaust_window),
		TU_TEST(test_lazy_no_reuse),
		TU_TEST(test_lazy_one_slot),
		TU_TEST(test_lazy_threshold),
	};

	return tu_main(argc, argv, tests);
}
