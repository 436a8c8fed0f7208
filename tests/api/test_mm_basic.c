/* SPDX-License-Identifier: MIT */
/*
 * test_mm_basic.c - address spaces through pmm.h only (design.md section
 * 6): life cycle, software page tables and their table pages, faults and
 * the mTHP fallback rule, RSS and VMA splitting, map/populate/teardown at
 * every folio order with both memmap models, and bad input.
 *
 * Every scenario ends with every mm destroyed, pmm_check() == 0 and
 * buddyinfo equal to the fresh instance's after a drain (mu_finish).
 *
 * Contract points these tests rely on beyond the prototypes (pmm.h and
 * docs/design.md state them):
 *  - Page tables are allocated at fault time, not at map time: a VMA that
 *    was never faulted costs no table page (pgtable_pages stays 1).
 *  - A 4-level table: a present PTE at a fresh address costs the PUD, PMD
 *    and PTE table pages on its path; unmapping a whole VMA frees every
 *    table that maps nothing else (free_pgtables with the neighbours'
 *    floor/ceiling), so counts are exact in the scenarios below.
 *  - The mm's own metadata (the mm, VMAs, anon owner) comes from the
 *    metadata allocator, not from the instance's frames: while every
 *    folio is fully mapped by one mm, the frames in use are exactly
 *    rss_anon + pgtable_pages.
 *  - A read fault on anonymous memory allocates a folio (there is no
 *    shared zero page) and maps it writable when the VMA is writable, so
 *    a later write fault on it maps nothing (faults unchanged, no COW).
 *  - `faults` counts pmm_mm_fault()/pmm_mm_access() calls that mapped a
 *    folio; a fault on a present page counts nothing. The tests count
 *    faults only for explicit pmm_mm_fault() calls, never for POPULATE.
 *  - A folio in a per-CPU LRU add batch holds one extra reference (the
 *    kernel's folio_batch does), so refcounts are asserted after
 *    pmm_lru_add_drain(); so does the deferred split queue, for each
 *    folio it lists (pmm_folio_info() tells).
 *  - Unknown map flags are refused with -PMM_EINVAL.
 *  - A call that fails leaves its out-pointer NULL (pmm_mm_create,
 *    pmm_mm_access), as pmm_create() does.
 *  - pmm_mm_unmap() of a range that ends beyond 2^47 (without wrapping)
 *    changes nothing; the test accepts -PMM_EINVAL or a no-op.
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "mm_util.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define RW (PMM_MAP_WRITE)
#define RWP (PMM_MAP_WRITE | PMM_MAP_POPULATE)

/* ------------------------------------------------------------------------
 * Local helpers
 * ------------------------------------------------------------------------ */

/*
 * The table pages a 4-level table needs to map every page of the given
 * ranges: the root, plus one table per distinct 512 GiB, 1 GiB and 2 MiB
 * region touched.
 */
struct range {
	uint64_t start, end;
};

static uint64_t tables_for(const struct range *r, size_t n)
{
	uint64_t count = 1;
	static const uint64_t sizes[] = { MU_P4D_SIZE, MU_PUD_SIZE, MU_PMD_SIZE };

	for (size_t l = 0; l < MU_ARRAY_SIZE(sizes); l++) {
		uint64_t last = UINT64_MAX;

		/* the ranges are sorted and disjoint, so regions come in order */
		for (size_t i = 0; i < n; i++)
			for (uint64_t a = r[i].start & ~(sizes[l] - 1); a < r[i].end; a += sizes[l])
				if (a != last) {
					count++;
					last = a;
				}
	}
	return count;
}

/* Frames in use are exactly the mapped pages plus the table pages. */
static void assert_frames_mm(pmm_t *pmm, pmm_mm_t *mm)
{
	struct pmm_mm_stats st = mu_stats(mm);

	tu_assert_conserved(pmm, st.rss_anon + st.pgtable_pages);
}

/* Every mapped page of [start, end): mapcount 1, refcount = folio pages. */
static void assert_private_counts(pmm_t *pmm, pmm_mm_t *mm, uint64_t start, uint64_t end)
{
	pmm_lru_add_drain(pmm);
	for (uint64_t a = start; a < end; a += MU_PAGE) {
		struct pmm_page *p = pmm_mm_lookup(mm, a);

		if (!p)
			continue;
		assert_int_equal(pmm_page_mapcount(p), 1);
		assert_int_equal(pmm_page_count(p), 1 << pmm_folio_order(pmm_page_folio(p)));
	}
}

struct snap {
	struct pmm_mm_stats st;
	uint64_t free;
	uint64_t deferred;
};

static struct snap snap_of(pmm_t *pmm, pmm_mm_t *mm)
{
	struct snap s = { .st = mu_stats(mm), .free = mu_free(pmm), .deferred = mu_deferred(pmm) };

	return s;
}

/* Nothing an mm or the instance shows changed since @a. */
static void assert_unchanged(pmm_t *pmm, pmm_mm_t *mm, const struct snap *a, const char *what)
{
	struct snap b = snap_of(pmm, mm);

	if (b.st.rss_anon != a->st.rss_anon || b.st.nr_vmas != a->st.nr_vmas ||
	    b.st.pgtable_pages != a->st.pgtable_pages || b.free != a->free ||
	    b.deferred != a->deferred)
		print_message("%s changed something: rss %" PRIu64 "->%" PRIu64 " vmas %" PRIu64
			      "->%" PRIu64 " tables %" PRIu64 "->%" PRIu64 " free %" PRIu64
			      "->%" PRIu64 "\n", what, a->st.rss_anon, b.st.rss_anon,
			      a->st.nr_vmas, b.st.nr_vmas, a->st.pgtable_pages, b.st.pgtable_pages,
			      a->free, b.free);
	assert_int_equal(b.st.rss_anon, a->st.rss_anon);
	assert_int_equal(b.st.nr_vmas, a->st.nr_vmas);
	assert_int_equal(b.st.pgtable_pages, a->st.pgtable_pages);
	assert_int_equal(b.st.faults, a->st.faults);
	assert_int_equal(b.free, a->free);
	assert_int_equal(b.deferred, a->deferred);
	tu_check(pmm);
}

/* ------------------------------------------------------------------------
 * 1. Life cycle
 * ------------------------------------------------------------------------ */

/*
 * pmm_mm_config_init gives the documented defaults; a new mm is empty and
 * costs exactly its root table; NULL config works; several mms coexist;
 * destroy gives every frame back; destroy(NULL) is a no-op.
 */
static void test_create_destroy(void **state)
{
	struct pmm_mm_config cfg;
	struct mu_env e;
	pmm_mm_t *mms[1 + 2 * PMM_NR_GATHER_MODES];
	size_t n = 0;

	(void)state;
	memset(&cfg, 0x5a, sizeof(cfg));
	pmm_mm_config_init(&cfg);
	assert_int_equal(cfg.gather, PMM_GATHER_PER_PAGE);
	assert_int_equal(cfg.mapcount, PMM_MAPCOUNT_PER_PAGE);
	assert_null(cfg.tlb_flush);

	mu_env(&e, 64);
	mms[n++] = mu_mm_cfg(e.pmm, NULL);
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++)
		for (int model = 0; model < 2; model++)
			mms[n++] = mu_mm(e.pmm, mu_modes[m], (enum pmm_mapcount_model)model);
	for (size_t i = 0; i < n; i++) {
		struct pmm_mm_stats st = mu_stats(mms[i]);

		assert_int_equal(st.rss_anon, 0);
		assert_int_equal(st.pgtable_pages, 1);
		assert_int_equal(st.nr_vmas, 0);
		assert_int_equal(st.faults, 0);
		assert_int_equal(st.cow_faults, 0);
		assert_int_equal(st.fault_fallbacks, 0);
		assert_int_equal(st.gather_batches, 0);
		assert_int_equal(st.gather_forced_flushes, 0);
		assert_null(pmm_mm_lookup(mms[i], MU_BASE));
	}
	/* one root table each, nothing else */
	tu_assert_conserved(e.pmm, n);
	for (size_t i = 0; i < n; i++) {
		pmm_mm_destroy(mms[i]);
		tu_assert_conserved(e.pmm, n - 1 - i);
	}
	pmm_mm_destroy(NULL);
	mu_finish(&e);
}

/* ------------------------------------------------------------------------
 * 2. Page tables
 * ------------------------------------------------------------------------ */

/*
 * pgtable_pages counts exactly the tables a 4-level, 512-entry table needs;
 * map without populate allocates none; unmapping a whole VMA frees the
 * tables that mapped only it; unmapping everything leaves the root.
 */
static void test_pgtable_pages(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		const uint64_t a = MU_BASE, b = a + MU_PMD_SIZE, c = a + MU_PUD_SIZE,
			       d = a + MU_P4D_SIZE;
		const uint64_t addrs[] = { a, b, c, d };
		const uint64_t after_fault[] = { 4, 5, 7, 10 };
		const uint64_t after_unmap[] = { 7, 5, 4, 1 };	/* unmapping d, c, b, a */
		struct mu_env e;
		pmm_mm_t *mm;

		mu_env(&e, 64);
		mm = mu_mm(e.pmm, mu_modes[m], PMM_MAPCOUNT_PER_PAGE);
		for (int i = 0; i < 4; i++)
			mu_map(mm, addrs[i], MU_PAGE, 0, RW);
		assert_int_equal(mu_stats(mm).nr_vmas, 4);
		assert_int_equal(mu_stats(mm).pgtable_pages, 1);
		for (int i = 0; i < 4; i++) {
			mu_fault(mm, addrs[i], true);
			assert_int_equal(mu_stats(mm).pgtable_pages, after_fault[i]);
			assert_int_equal(mu_stats(mm).rss_anon, i + 1);
			assert_frames_mm(e.pmm, mm);
		}
		/* a's PTE table mapped only a; its PMD table also maps b */
		mu_unmap(mm, a, MU_PAGE);
		assert_int_equal(mu_stats(mm).pgtable_pages, 9);
		mu_map(mm, a, MU_PAGES(2), 0, RW);
		assert_int_equal(mu_stats(mm).pgtable_pages, 9);
		mu_fault(mm, a, false);
		assert_int_equal(mu_stats(mm).pgtable_pages, 10);
		/* a second page under existing tables costs no table */
		mu_fault(mm, a + MU_PAGE, false);
		assert_int_equal(mu_stats(mm).pgtable_pages, 10);
		assert_frames_mm(e.pmm, mm);

		for (int i = 3; i >= 0; i--) {
			mu_unmap(mm, addrs[i], MU_PAGES(i ? 1 : 2));
			assert_int_equal(mu_stats(mm).pgtable_pages, after_unmap[3 - i]);
			assert_frames_mm(e.pmm, mm);
		}
		assert_int_equal(mu_stats(mm).rss_anon, 0);
		assert_int_equal(mu_stats(mm).nr_vmas, 0);

		/* a VMA across a PTE-table boundary: two PTE tables */
		mu_map(mm, a + MU_PMD_SIZE - MU_PAGES(4), MU_PAGES(8), 0, RWP);
		assert_int_equal(mu_stats(mm).pgtable_pages, 5);
		/* a partial unmap that leaves both tables in use frees none */
		mu_unmap(mm, a + MU_PMD_SIZE - MU_PAGES(1), MU_PAGES(2));
		assert_int_equal(mu_stats(mm).pgtable_pages, 5);
		assert_int_equal(mu_stats(mm).rss_anon, 6);
		assert_frames_mm(e.pmm, mm);
		/* unmapping more than was ever mapped, holes included */
		mu_unmap(mm, a, MU_PUD_SIZE);
		assert_int_equal(mu_stats(mm).pgtable_pages, 1);
		assert_frames_mm(e.pmm, mm);

		/* destroy frees all tables, wherever they are */
		mu_map(mm, a, MU_PAGES(1), 0, RWP);
		mu_map(mm, d + MU_PUD_SIZE * 3, MU_PAGES(1), 0, RWP);
		assert_int_equal(mu_stats(mm).pgtable_pages, 7);
		assert_frames_mm(e.pmm, mm);
		pmm_mm_destroy(mm);
		mu_finish(&e);
	}
}

/* ------------------------------------------------------------------------
 * 3. Faults
 * ------------------------------------------------------------------------ */

/*
 * A fault maps a whole naturally aligned folio of the VMA's order; lookups
 * never fault; a fault on a present page maps nothing; a write to a page a
 * read fault mapped in a writable VMA is no COW.
 */
static void test_fault_basics(void **state)
{
	struct mu_env e;
	pmm_mm_t *mm;
	struct pmm_mm_stats st;
	struct pmm_folio *f;

	(void)state;
	mu_env(&e, 64);
	mm = mu_mm(e.pmm, PMM_GATHER_PER_PAGE, PMM_MAPCOUNT_PER_PAGE);
	mu_map(mm, MU_BASE, MU_PAGES(32), 4, RW);
	for (int i = 0; i < 32; i++)
		assert_null(pmm_mm_lookup(mm, MU_BASE + MU_PAGES(i)));
	st = mu_stats(mm);
	assert_int_equal(st.rss_anon, 0);
	assert_int_equal(st.faults, 0);
	tu_assert_conserved(e.pmm, 1);

	mu_fault(mm, MU_BASE + MU_PAGES(5), false);
	f = mu_folio_at(mm, MU_BASE);
	assert_int_equal(pmm_folio_order(f), 4);
	mu_assert_layout(e.pmm, mm, MU_BASE, MU_BASE + MU_PAGES(16), 4);
	assert_null(pmm_mm_lookup(mm, MU_BASE + MU_PAGES(16)));
	st = mu_stats(mm);
	assert_int_equal(st.rss_anon, 16);
	assert_int_equal(st.faults, 1);
	assert_int_equal(st.fault_fallbacks, 0);
	assert_int_equal(st.cow_faults, 0);
	assert_int_equal(st.pgtable_pages, 4);
	assert_private_counts(e.pmm, mm, MU_BASE, MU_BASE + MU_PAGES(32));
	assert_int_equal(pmm_folio_ref_count(f), 16);
	assert_frames_mm(e.pmm, mm);

	/* present: nothing to do, nothing counted */
	mu_fault(mm, MU_BASE + MU_PAGES(7), false);
	mu_fault(mm, MU_BASE + MU_PAGES(7), true);
	st = mu_stats(mm);
	assert_int_equal(st.faults, 1);
	assert_int_equal(st.cow_faults, 0);
	assert_int_equal(st.rss_anon, 16);
	assert_ptr_equal(mu_folio_at(mm, MU_BASE + MU_PAGES(7)), f);

	/* a write fault on the second half maps the second folio */
	mu_fault(mm, MU_BASE + MU_PAGES(31), true);
	st = mu_stats(mm);
	assert_int_equal(st.faults, 2);
	assert_int_equal(st.rss_anon, 32);
	assert_true(mu_folio_at(mm, MU_BASE + MU_PAGES(16)) != f);
	mu_assert_layout(e.pmm, mm, MU_BASE, MU_BASE + MU_PAGES(32), 4);
	assert_private_counts(e.pmm, mm, MU_BASE, MU_BASE + MU_PAGES(32));
	/* pmm_mm_access of a present page maps nothing either */
	{
		void *p = NULL;

		assert_int_equal(pmm_mm_access(mm, MU_BASE + MU_PAGES(3) + 100, true, &p), 0);
		assert_ptr_equal(p, (char *)pmm_page_address(e.pmm, pmm_mm_lookup(mm, MU_BASE +
							    MU_PAGES(3))) + 100);
		assert_int_equal(mu_stats(mm).faults, 2);
	}
	assert_frames_mm(e.pmm, mm);
	pmm_mm_destroy(mm);
	mu_finish(&e);
}

/*
 * Anonymous memory reads as zero when first faulted, even in frames that
 * held data before; the pointer pmm_mm_access gives is the byte's
 * direct-map address, and bytes written through it read back.
 */
static void test_zero_fill_and_access(void **state)
{
	static const unsigned int orders[] = { 0, 3, 9 };
	static const unsigned char zero[4096];
	struct mu_env e;
	struct tu_list l = { 0 };
	pmm_mm_t *mm;

	(void)state;
	mu_env(&e, 64);
	/* dirty every free frame */
	tu_fill_exhaust(e.pmm, &l, PMM_GFP_KERNEL, 0);
	for (size_t i = 0; i < l.n; i++)
		tu_pattern_write(e.pmm, l.v[i].page, 0, 77);
	tu_free_all(e.pmm, &l);
	tu_list_free(&l);

	mm = mu_mm(e.pmm, PMM_GATHER_ENCODED, PMM_MAPCOUNT_PER_PAGE);
	for (unsigned int i = 0; i < MU_ARRAY_SIZE(orders); i++) {
		uint64_t base = MU_BASE + i * MU_PUD_SIZE, len = MU_PAGES(1024);

		mu_map(mm, base, len, orders[i], i == 1 ? RWP : RW);
		for (uint64_t a = base; a < base + len; a += MU_PAGE) {
			void *p = NULL;
			struct pmm_page *page;

			assert_int_equal(pmm_mm_access(mm, a, false, &p), 0);
			assert_non_null(p);
			page = pmm_mm_lookup(mm, a);
			assert_non_null(page);
			assert_ptr_equal(p, pmm_page_address(e.pmm, page));
			if (memcmp(p, zero, sizeof(zero)))
				print_message("%#" PRIx64 " (order %u) not zero when first faulted\n",
					      a, orders[i]);
			assert_memory_equal(p, zero, sizeof(zero));
		}
		/* write through one byte's address, read it back */
		for (uint64_t a = base + 77; a < base + len; a += 33 * MU_PAGE + 8) {
			void *w = NULL, *r = NULL;
			unsigned char v = (unsigned char)(a * 31 + 1) | 1;

			assert_int_equal(pmm_mm_access(mm, a, true, &w), 0);
			*(unsigned char *)w = v;
			assert_int_equal(pmm_mm_access(mm, a, false, &r), 0);
			assert_ptr_equal(r, w);
			assert_int_equal(*(unsigned char *)r, v);
			assert_ptr_equal((char *)w - (a & (MU_PAGE - 1)),
					 pmm_page_address(e.pmm, pmm_mm_lookup(mm, a)));
		}
		assert_int_equal(mu_stats(mm).rss_anon, 1024 * (i + 1));
	}
	assert_frames_mm(e.pmm, mm);
	pmm_mm_destroy(mm);
	mu_finish(&e);
}

/* ------------------------------------------------------------------------
 * 4. mTHP fallback
 * ------------------------------------------------------------------------ */

/*
 * A VMA of order k whose ends are not aligned to 2^k pages: the edges get
 * smaller folios, exactly the maximal aligned decomposition. Populated and
 * faulted one page at a time in a seeded random order give the same
 * layout; explicit faults count one fault per folio and one fallback per
 * folio smaller than k.
 */
static void test_mthp_unaligned_edges(void **state)
{
	static const unsigned int orders[] = { 1, 2, 4, 6, 9 };
	struct prng rng;

	(void)state;
	tu_rng_init(&rng, "mthp_unaligned_edges", 1);
	for (unsigned int i = 0; i < MU_ARRAY_SIZE(orders); i++) {
		const unsigned int k = orders[i];
		/* start 3 pages in, end 3 * 2^k + 7 pages in: neither aligned */
		const uint64_t len = MU_PAGES((3ull << k) + 4);
		const uint64_t s1 = MU_BASE + MU_PAGES(3), s2 = MU_BASE + MU_PUD_SIZE + MU_PAGES(3);
		const uint64_t n = len / MU_PAGE;
		uint64_t expect_folios = mu_layout_folios(s1, s1 + len, k), small = 0;
		void **order_v = calloc(n, sizeof(*order_v));
		struct mu_env e;
		pmm_mm_t *mm;
		struct pmm_mm_stats st;

		assert_non_null(order_v);
		/* the decomposition has small folios at both ends */
		assert_true(mu_fit_order(NULL, s1, s1 + len, s1, k) < k);
		assert_true(mu_fit_order(NULL, s1, s1 + len, s1 + len - MU_PAGE, k) < k);
		for (uint64_t a = s1; a < s1 + len; a += MU_PAGE << mu_fit_order(NULL, s1, s1 + len,
										  a, k))
			small += mu_fit_order(NULL, s1, s1 + len, a, k) < k;

		mu_env(&e, 64);
		mm = mu_mm(e.pmm, mu_modes[i % PMM_NR_GATHER_MODES], PMM_MAPCOUNT_PER_PAGE);
		mu_map(mm, s1, len, k, RWP);
		assert_int_equal(mu_assert_layout(e.pmm, mm, s1, s1 + len, k), expect_folios);
		assert_int_equal(mu_stats(mm).rss_anon, n);

		mu_map(mm, s2, len, k, RW);
		for (uint64_t j = 0; j < n; j++)
			order_v[j] = (void *)(uintptr_t)(s2 + MU_PAGES(j));
		prng_shuffle(&rng, order_v, n, sizeof(*order_v));
		for (uint64_t j = 0; j < n; j++)
			mu_fault(mm, (uint64_t)(uintptr_t)order_v[j], (j & 1) != 0);
		assert_int_equal(mu_assert_layout(e.pmm, mm, s2, s2 + len, k), expect_folios);
		st = mu_stats(mm);
		assert_int_equal(st.rss_anon, 2 * n);
		assert_true(st.faults >= expect_folios);
		/* POPULATE may or may not count its faults; the explicit ones do */
		{
			pmm_mm_t *mm2 = mu_mm(e.pmm, PMM_GATHER_PER_PAGE, PMM_MAPCOUNT_PER_PAGE);

			mu_map(mm2, s2, len, k, RW);
			for (uint64_t j = 0; j < n; j++)
				mu_fault(mm2, (uint64_t)(uintptr_t)order_v[j], false);
			st = mu_stats(mm2);
			assert_int_equal(st.faults, expect_folios);
			assert_int_equal(st.fault_fallbacks, small);
			assert_int_equal(mu_assert_layout(e.pmm, mm2, s2, s2 + len, k), expect_folios);
			assert_private_counts(e.pmm, mm2, s2, s2 + len);
			pmm_mm_destroy(mm2);
		}
		assert_private_counts(e.pmm, mm, s1, s1 + len);
		assert_frames_mm(e.pmm, mm);
		pmm_mm_destroy(mm);
		free(order_v);
		mu_finish(&e);
	}
}

/*
 * A fault whose aligned range already has a PTE present falls back to the
 * largest order whose range is empty; an allocation failure falls back
 * too. Hand-computed expectations, checked against the reference rule.
 */
static void test_mthp_present_pte_fallback(void **state)
{
	static const struct {
		unsigned int page, order;
	} steps[] = {
		{ 0, 2 },	/* [0,16) and [0,8) hold page 5: [0,4) */
		{ 4, 0 },	/* [4,8) holds 5, [4,6) too */
		{ 6, 0 },	/* [6,8) is empty, but the fallback skips order 1 (kernel mTHP) */
		{ 7, 0 },
		{ 8, 3 },	/* [0,16) holds 5: [8,16) */
		{ 16, 4 },	/* [16,32) is empty: no fallback */
	};
	const uint64_t base = MU_BASE, end = base + MU_PAGES(32);
	struct mu_env e;
	pmm_mm_t *mm;
	struct pmm_mm_stats st;

	(void)state;
	mu_env(&e, 64);
	mm = mu_mm(e.pmm, PMM_GATHER_RANGES, PMM_MAPCOUNT_PER_PAGE);
	mu_map(mm, base, end - base, 4, RW);

	/* page 5 first, with every allocation of order >= 1 failing: order 0 */
	mu_arm_order(e.pmm, 1);
	mu_fault(mm, base + MU_PAGES(5), true);
	mu_disarm(e.pmm, PMM_FAULT_PAGE_ALLOC);
	assert_int_equal(mu_order_at(mm, base + MU_PAGES(5)), 0);
	st = mu_stats(mm);
	assert_int_equal(st.faults, 1);
	assert_int_equal(st.fault_fallbacks, 1);
	assert_int_equal(st.rss_anon, 1);

	for (unsigned int i = 0; i < MU_ARRAY_SIZE(steps); i++) {
		uint64_t a = base + MU_PAGES(steps[i].page);
		unsigned int o = mu_fit_order(mm, base, end, a, 4);
		uint64_t size = MU_PAGES(1ull << o);

		assert_int_equal(o, steps[i].order);	/* the reference agrees with the hand */
		mu_fault(mm, a, false);
		assert_int_equal(mu_order_at(mm, a), o);
		assert_ptr_equal(pmm_folio_page(e.pmm, mu_folio_at(mm, a), 0),
				 pmm_mm_lookup(mm, a & ~(size - 1)));
	}
	st = mu_stats(mm);
	assert_int_equal(st.faults, 7);
	assert_int_equal(st.fault_fallbacks, 6);
	assert_int_equal(st.rss_anon, 32);
	assert_private_counts(e.pmm, mm, base, end);
	assert_frames_mm(e.pmm, mm);
	pmm_mm_destroy(mm);
	mu_finish(&e);
}

/*
 * With allocations of order >= m failing, faults still succeed with
 * folios of order m - 1 (each counted as a fallback); POPULATE too; once
 * the failures stop, the VMA's order comes back.
 */
static void test_mthp_alloc_failure_fallback(void **state)
{
	struct mu_env e;
	pmm_mm_t *mm;
	struct pmm_mm_stats st;
	const uint64_t v1 = MU_BASE, v2 = MU_BASE + MU_PUD_SIZE, v3 = MU_BASE + 2 * MU_PUD_SIZE;

	(void)state;
	mu_env(&e, 64);
	mm = mu_mm(e.pmm, PMM_GATHER_PER_PAGE, PMM_MAPCOUNT_PER_PAGE);

	mu_map(mm, v1, MU_PAGES(256), 6, RW);
	mu_arm_order(e.pmm, 3);
	for (uint64_t i = 0; i < 256; i += 4)
		mu_fault(mm, v1 + MU_PAGES(i + (i / 4) % 4), (i & 4) != 0);
	mu_disarm(e.pmm, PMM_FAULT_PAGE_ALLOC);
	assert_true(mu_injected(e.pmm) > 0);
	for (uint64_t i = 0; i < 256; i++)
		assert_int_equal(mu_order_at(mm, v1 + MU_PAGES(i)), 2);
	st = mu_stats(mm);
	assert_int_equal(st.faults, 64);
	assert_int_equal(st.fault_fallbacks, 64);
	assert_int_equal(st.rss_anon, 256);

	/* POPULATE of an order-9 VMA with every allocation above order 0 failing */
	mu_arm_order(e.pmm, 1);
	mu_map(mm, v2, MU_PAGES(512), 9, RWP);
	mu_disarm(e.pmm, PMM_FAULT_PAGE_ALLOC);
	for (uint64_t i = 0; i < 512; i++)
		assert_int_equal(mu_order_at(mm, v2 + MU_PAGES(i)), 0);
	assert_int_equal(mu_stats(mm).rss_anon, 768);

	/* failures over: the VMA's order again, no new fallback */
	mu_map(mm, v3, MU_PAGES(64), 6, RW);
	mu_fault(mm, v3 + MU_PAGES(63), true);
	assert_int_equal(mu_order_at(mm, v3), 6);
	st = mu_stats(mm);
	/* 64 explicit fallbacks, plus POPULATE's 512 if it counts its faults */
	assert_true(st.fault_fallbacks == 64 || st.fault_fallbacks == 64 + 512);
	assert_int_equal(st.rss_anon, 768 + 64);
	{
		struct pmm_mm_stats st2;

		mu_fault(mm, v3, false);	/* present: nothing */
		st2 = mu_stats(mm);
		assert_int_equal(st2.fault_fallbacks, st.fault_fallbacks);
		assert_int_equal(st2.faults, st.faults);
	}
	assert_private_counts(e.pmm, mm, v1, v3 + MU_PAGES(64));
	assert_frames_mm(e.pmm, mm);
	pmm_mm_destroy(mm);
	mu_finish(&e);
}

/* ------------------------------------------------------------------------
 * 5. Every order, both memmap models
 * ------------------------------------------------------------------------ */

/*
 * For every folio order 0..9, both memmap models (4 MiB sections, so the
 * sparse memmap has 16 separate chunks) and every gather mode: an aligned
 * 4 MiB VMA and an unaligned one are populated with the expected layout,
 * counts, LRU sizes and frames; unmapping everything and/or destroying
 * gives every frame back in maximal blocks.
 */
static void test_every_order_both_memmaps(void **state)
{
	(void)state;
	for (int model = 0; model < 2; model++) {
		struct pmm_config cfg;
		struct mu_env e;

		mu_config(&e, &cfg, 64);
		cfg.section_shift = 22;
		cfg.memmap = model ? PMM_MEMMAP_VMEMMAP : PMM_MEMMAP_SPARSE;
		mu_start(&e, &cfg);
		for (unsigned int k = 0; k <= MU_MAX_FOLIO_ORDER; k++) {
			for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
				const uint64_t v1 = MU_BASE, l1 = MU_PAGES(1024);
				const uint64_t v2 = MU_BASE + 4 * MU_PMD_SIZE + MU_PAGES(3);
				const uint64_t l2 = MU_PAGES((2ull << k) + 3);
				const struct range r[] = { { v1, v1 + l1 }, { v2, v2 + l2 } };
				pmm_mm_t *mm = mu_mm(e.pmm, mu_modes[m], PMM_MAPCOUNT_PER_PAGE);
				struct pmm_mm_stats st;
				struct mu_lru lru;
				uint64_t folios;

				mu_map(mm, v1, l1, k, RWP);
				mu_map(mm, v2, l2, k, RWP);
				folios = mu_assert_layout(e.pmm, mm, v1, v1 + l1, k);
				assert_int_equal(folios, (l1 / MU_PAGE) >> k);
				folios += mu_assert_layout(e.pmm, mm, v2, v2 + l2, k);
				st = mu_stats(mm);
				assert_int_equal(st.rss_anon, (l1 + l2) / MU_PAGE);
				assert_int_equal(st.nr_vmas, 2);
				assert_int_equal(st.pgtable_pages, tables_for(r, 2));
				lru = mu_lru(e.pmm);
				assert_int_equal(lru.folios, folios);
				assert_int_equal(lru.pages, st.rss_anon);
				assert_private_counts(e.pmm, mm, v1, v1 + l1);
				assert_private_counts(e.pmm, mm, v2, v2 + l2);
				assert_int_equal(mu_deferred(e.pmm), 0);
				assert_frames_mm(e.pmm, mm);
				if ((k + m) & 1) {
					mu_unmap(mm, v1, v2 + l2 - v1);
					st = mu_stats(mm);
					assert_int_equal(st.rss_anon, 0);
					assert_int_equal(st.pgtable_pages, 1);
					assert_int_equal(st.nr_vmas, 0);
					/* whole folios only: nothing was ever left queued */
					assert_int_equal(mu_deferred(e.pmm), 0);
					tu_assert_conserved(e.pmm, 1);
				}
				pmm_mm_destroy(mm);
				tu_buddy_assert_fresh(e.pmm, &e.fresh);
				tu_check(e.pmm);
			}
		}
		mu_finish(&e);
	}
}

/*
 * pmm_mm_destroy_stats() leaves the exit's own figures: nothing mapped, no
 * table, the teardown's TLB flush, batches and (with phase_times) phases;
 * the counters of what came before stay. NULL gives zeros.
 */
static void test_destroy_stats(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		struct pmm_mm_config cfg;
		struct pmm_mm_stats st, before;
		struct mu_env e;
		pmm_mm_t *mm;

		mu_env(&e, 64);
		pmm_mm_config_init(&cfg);
		cfg.gather = mu_modes[m];
		cfg.phase_times = true;
		mm = mu_mm_cfg(e.pmm, &cfg);
		mu_map(mm, MU_BASE, MU_PAGES(2048), 0, RWP);
		before = mu_stats(mm);
		pmm_mm_destroy_stats(mm, &st);
		assert_int_equal(st.rss_anon, 0);
		assert_int_equal(st.pgtable_pages, 0);
		assert_int_equal(st.nr_vmas, 0);
		assert_int_equal(st.faults, before.faults);
		assert_true(st.tlb_flushes > before.tlb_flushes);
		/* 2048 order-0 entries do not fit the local bundle in any mode */
		assert_true(st.gather_batches > before.gather_batches);
		assert_true(st.rmap_ns > 0 && st.free_ns > 0);
		tu_assert_conserved(e.pmm, 0);
		memset(&st, 0x5a, sizeof(st));
		pmm_mm_destroy_stats(NULL, &st);
		assert_int_equal(st.tlb_flushes, 0);
		assert_int_equal(st.rss_anon, 0);
		pmm_mm_destroy_stats(NULL, NULL);
		mu_finish(&e);
	}
}

/* ------------------------------------------------------------------------
 * 6. RSS and VMAs
 * ------------------------------------------------------------------------ */

/*
 * rss_anon is the pages mapped; unmap splits VMAs and takes exactly the
 * pages of the range; unmapping unmapped space is a no-op; a hole can be
 * mapped again.
 */
static void test_rss_and_vmas(void **state)
{
	const uint64_t b = MU_BASE;
	struct mu_env e;
	pmm_mm_t *mm;
	struct pmm_mm_stats st;
	struct snap s;

	(void)state;
	mu_env(&e, 64);
	mm = mu_mm(e.pmm, PMM_GATHER_ENCODED, PMM_MAPCOUNT_PER_PAGE);
	mu_map(mm, b, MU_PAGES(64), 2, RWP);
	mu_map(mm, b + MU_PAGES(128), MU_PAGES(64), 0, RWP);
	mu_map(mm, b + MU_PAGES(256), MU_PAGES(256), 4, RWP);
	st = mu_stats(mm);
	assert_int_equal(st.rss_anon, 384);
	assert_int_equal(st.nr_vmas, 3);
	assert_frames_mm(e.pmm, mm);

	/* the middle of the first VMA: split in two */
	mu_unmap(mm, b + MU_PAGES(16), MU_PAGES(16));
	st = mu_stats(mm);
	assert_int_equal(st.rss_anon, 368);
	assert_int_equal(st.nr_vmas, 4);
	mu_assert_unmapped(mm, b + MU_PAGES(16), b + MU_PAGES(32));
	assert_int_equal(mu_mapped_pages(mm, b, b + MU_PAGES(512)), 368);
	assert_int_equal(pmm_mm_fault(mm, b + MU_PAGES(20), false), -PMM_EINVAL);
	assert_frames_mm(e.pmm, mm);

	/* the end of VMA 1b, a hole, all of VMA 2, a hole, the start of VMA 3 */
	mu_unmap(mm, b + MU_PAGES(48), MU_PAGES(252));
	st = mu_stats(mm);
	assert_int_equal(st.rss_anon, 368 - 16 - 64 - 44);
	assert_int_equal(st.nr_vmas, 3);
	assert_int_equal(mu_mapped_pages(mm, b, b + MU_PAGES(512)), st.rss_anon);
	mu_assert_unmapped(mm, b + MU_PAGES(48), b + MU_PAGES(300));
	assert_int_equal(pmm_mm_fault(mm, b + MU_PAGES(128), false), -PMM_EINVAL);

	/* unmapped space: a no-op */
	s = snap_of(e.pmm, mm);
	assert_int_equal(pmm_mm_unmap(mm, b + MU_PAGES(1000), MU_PAGES(10)), 0);
	assert_int_equal(pmm_mm_unmap(mm, b + MU_PAGES(100), MU_PAGES(100)), 0);
	assert_int_equal(pmm_mm_unmap(mm, b + 4 * MU_PUD_SIZE, MU_PUD_SIZE), 0);
	assert_unchanged(e.pmm, mm, &s, "unmap of unmapped space");

	/* the hole can be mapped again */
	mu_map(mm, b + MU_PAGES(64), MU_PAGES(192), 3, RWP);
	assert_int_equal(mu_stats(mm).rss_anon, st.rss_anon + 192);
	assert_int_equal(mu_stats(mm).nr_vmas, 4);
	mu_assert_layout(e.pmm, mm, b + MU_PAGES(64), b + MU_PAGES(256), 3);
	pmm_mm_destroy(mm);
	mu_finish(&e);
}

/*
 * A read-only VMA: read faults and POPULATE map it, writes are refused
 * (-PMM_EINVAL, *ptr NULL) and change nothing.
 */
static void test_read_only_vma(void **state)
{
	struct mu_env e;
	pmm_mm_t *mm;
	struct snap s;
	void *p = (void *)1;

	(void)state;
	mu_env(&e, 64);
	mm = mu_mm(e.pmm, PMM_GATHER_PER_PAGE, PMM_MAPCOUNT_PER_PAGE);
	mu_map(mm, MU_BASE, MU_PAGES(32), 3, 0);
	mu_map(mm, MU_BASE + MU_PUD_SIZE, MU_PAGES(32), 3, PMM_MAP_POPULATE);
	assert_int_equal(mu_stats(mm).rss_anon, 32);

	s = snap_of(e.pmm, mm);
	assert_int_equal(pmm_mm_fault(mm, MU_BASE, true), -PMM_EINVAL);
	assert_int_equal(pmm_mm_access(mm, MU_BASE + 5, true, &p), -PMM_EINVAL);
	assert_null(p);
	assert_int_equal(pmm_mm_fault(mm, MU_BASE + MU_PUD_SIZE, true), -PMM_EINVAL);
	assert_unchanged(e.pmm, mm, &s, "write to a read-only VMA");

	mu_fault(mm, MU_BASE + MU_PAGES(9), false);
	assert_int_equal(mu_order_at(mm, MU_BASE + MU_PAGES(9)), 3);
	assert_int_equal(mu_read_tag(mm, MU_BASE + MU_PAGES(9)), 0);
	/* present now, still read-only */
	assert_int_equal(pmm_mm_fault(mm, MU_BASE + MU_PAGES(9), true), -PMM_EINVAL);
	assert_int_equal(mu_stats(mm).rss_anon, 40);
	assert_frames_mm(e.pmm, mm);
	pmm_mm_destroy(mm);
	mu_finish(&e);
}

/* ------------------------------------------------------------------------
 * 7. Bad input
 * ------------------------------------------------------------------------ */

static void test_bad_ranges(void **state)
{
	const uint64_t b = MU_BASE;
	static const struct {
		uint64_t addr, len;
		unsigned int order, flags;
		const char *why;
	} maps[] = {
		{ MU_BASE + 1, MU_PAGE, 0, RW, "unaligned addr" },
		{ MU_BASE, MU_PAGE + 1, 0, RW, "unaligned len" },
		{ MU_BASE, 100, 0, RW, "len below a page" },
		{ MU_BASE, 0, 0, RW, "len 0" },
		{ UINT64_MAX - MU_PAGE + 1, 2 * MU_PAGE, 0, RW, "wrapping" },
		{ MU_USER_END - MU_PAGE, 2 * MU_PAGE, 0, RW, "ends beyond 2^47" },
		{ MU_USER_END, MU_PAGE, 0, RW, "starts at 2^47" },
		{ 1ull << 56, MU_PAGE, 0, RW, "far beyond 2^47" },
		{ MU_BASE + MU_PUD_SIZE, MU_PAGES(1024), 10, RW, "order above pageblock_order" },
		{ MU_BASE + MU_PUD_SIZE, MU_PAGES(1024), UINT_MAX, RW, "order UINT_MAX" },
		{ MU_BASE, MU_PAGE, 0, 1u << 31, "unknown flag" },
		/* against the VMA [b + 64 pages, b + 128 pages) mapped below */
		{ MU_BASE + MU_PAGES(96), MU_PAGES(64), 0, RW, "overlaps the end" },
		{ MU_BASE + MU_PAGES(32), MU_PAGES(64), 0, RW, "overlaps the start" },
		{ MU_BASE + MU_PAGES(80), MU_PAGES(8), 0, RW, "inside" },
		{ MU_BASE, MU_PAGES(256), 0, RW, "contains it" },
		{ MU_BASE + MU_PAGES(64), MU_PAGES(64), 0, RW, "the same range" },
		{ MU_BASE + MU_PAGES(127), MU_PAGE, 0, RWP, "its last page, populated" },
	};
	static const struct {
		uint64_t addr, len;
		const char *why;
	} unmaps[] = {
		{ MU_BASE + 1, MU_PAGE, "unaligned addr" },
		{ MU_BASE + MU_PAGES(64), MU_PAGE - 1, "unaligned len" },
		{ MU_BASE + MU_PAGES(64), 0, "len 0" },
		{ UINT64_MAX - MU_PAGE + 1, 2 * MU_PAGE, "wrapping" },
		{ MU_BASE + MU_PAGES(64), UINT64_MAX - MU_PAGE + 1, "wrapping, huge len" },
	};
	struct mu_env e;
	pmm_mm_t *mm;
	struct snap s;

	(void)state;
	mu_env(&e, 64);
	mm = mu_mm(e.pmm, PMM_GATHER_PER_PAGE, PMM_MAPCOUNT_PER_PAGE);
	mu_map(mm, b + MU_PAGES(64), MU_PAGES(64), 2, RWP);
	s = snap_of(e.pmm, mm);

	for (unsigned int i = 0; i < MU_ARRAY_SIZE(maps); i++) {
		int rc = pmm_mm_map_anon(mm, maps[i].addr, maps[i].len, maps[i].order,
					 maps[i].flags);

		if (rc != -PMM_EINVAL)
			print_message("map %s: %d, expected -PMM_EINVAL\n", maps[i].why, rc);
		assert_int_equal(rc, -PMM_EINVAL);
		assert_unchanged(e.pmm, mm, &s, maps[i].why);
	}
	for (unsigned int i = 0; i < MU_ARRAY_SIZE(unmaps); i++) {
		int rc = pmm_mm_unmap(mm, unmaps[i].addr, unmaps[i].len);

		if (rc != -PMM_EINVAL)
			print_message("unmap %s: %d, expected -PMM_EINVAL\n", unmaps[i].why, rc);
		assert_int_equal(rc, -PMM_EINVAL);
		assert_unchanged(e.pmm, mm, &s, unmaps[i].why);
		rc = pmm_mm_swapcache_add(mm, unmaps[i].addr, unmaps[i].len);
		assert_int_equal(rc, -PMM_EINVAL);
		assert_int_equal(pmm_swapcache_nr(e.pmm), 0);
	}
	/* beyond 2^47 without wrapping: refused or a no-op, nothing changes */
	{
		int rc = pmm_mm_unmap(mm, MU_USER_END - MU_PAGE, 2 * MU_PAGE);

		assert_true(rc == 0 || rc == -PMM_EINVAL);
		rc = pmm_mm_unmap(mm, MU_USER_END, MU_PAGE);
		assert_true(rc == 0 || rc == -PMM_EINVAL);
		assert_unchanged(e.pmm, mm, &s, "unmap beyond 2^47");
	}
	/* faults outside any VMA */
	{
		static const uint64_t outside[] = { 0, MU_BASE, MU_BASE + MU_PAGES(63),
						    MU_BASE + MU_PAGES(128), MU_USER_END,
						    MU_USER_END + MU_PAGE, UINT64_MAX };

		for (unsigned int i = 0; i < MU_ARRAY_SIZE(outside); i++) {
			void *p = (void *)1;

			assert_int_equal(pmm_mm_fault(mm, outside[i], false), -PMM_EINVAL);
			assert_int_equal(pmm_mm_fault(mm, outside[i], true), -PMM_EINVAL);
			assert_int_equal(pmm_mm_access(mm, outside[i], false, &p), -PMM_EINVAL);
			assert_null(p);
			assert_null(pmm_mm_lookup(mm, outside[i]));
		}
		assert_unchanged(e.pmm, mm, &s, "faults outside any VMA");
	}
	/* the edges that are allowed: address 0 and the last page below 2^47 */
	mu_map(mm, 0, MU_PAGES(16), 4, RWP);
	assert_int_equal(mu_order_at(mm, 0), 4);
	mu_map(mm, MU_USER_END - MU_PAGES(16), MU_PAGES(16), 4, RWP);
	assert_int_equal(mu_order_at(mm, MU_USER_END - MU_PAGE), 4);
	mu_map(mm, b, MU_PAGES(64), MU_MAX_FOLIO_ORDER, RW);	/* adjacent below: no overlap */
	assert_int_equal(mu_stats(mm).rss_anon, 64 + 32);
	mu_unmap(mm, 0, MU_PAGES(16));
	mu_unmap(mm, MU_USER_END - MU_PAGES(16), MU_PAGES(16));
	mu_unmap(mm, b, MU_PAGES(64));
	{
		struct snap t = snap_of(e.pmm, mm);

		/* POPULATE may count faults; everything else is as before */
		assert_int_equal(t.st.rss_anon, s.st.rss_anon);
		assert_int_equal(t.st.nr_vmas, s.st.nr_vmas);
		assert_int_equal(t.st.pgtable_pages, s.st.pgtable_pages);
		assert_int_equal(t.free, s.free);
	}
	pmm_mm_destroy(mm);
	mu_finish(&e);
}

/* Config and instance errors; node ids; destroy(NULL). */
static void test_bad_config(void **state)
{
	struct mu_env e;
	struct pmm_mm_config cfg;
	pmm_mm_t *mm;
	struct pmm_node_info ni;

	(void)state;
	mu_env(&e, 64);
	pmm_mm_config_init(&cfg);
	cfg.gather = PMM_NR_GATHER_MODES;
	mm = (pmm_mm_t *)(uintptr_t)1;
	assert_int_equal(pmm_mm_create(e.pmm, &cfg, &mm), -PMM_EINVAL);
	assert_null(mm);
	cfg.gather = (enum pmm_gather_mode)-1;
	mm = (pmm_mm_t *)(uintptr_t)1;
	assert_int_equal(pmm_mm_create(e.pmm, &cfg, &mm), -PMM_EINVAL);
	assert_null(mm);
	pmm_mm_config_init(&cfg);
	cfg.mapcount = (enum pmm_mapcount_model)2;
	mm = (pmm_mm_t *)(uintptr_t)1;
	assert_int_equal(pmm_mm_create(e.pmm, &cfg, &mm), -PMM_EINVAL);
	assert_null(mm);
	cfg.mapcount = (enum pmm_mapcount_model)-1;
	assert_int_equal(pmm_mm_create(e.pmm, &cfg, &mm), -PMM_EINVAL);
	tu_assert_conserved(e.pmm, 0);

	assert_int_equal(pmm_node_info(e.pmm, -1, &ni), -PMM_EINVAL);
	assert_int_equal(pmm_node_info(e.pmm, PMM_MAX_NODES, &ni), -PMM_EINVAL);
	assert_int_equal(pmm_node_info(e.pmm, INT32_MAX, &ni), -PMM_EINVAL);
	ni = mu_node(e.pmm, 0);
	assert_int_equal(ni.deferred_split, 0);
	assert_int_equal(ni.lru_pages, 0);
	pmm_mm_destroy(NULL);
	mu_finish(&e);
}

/* An instance whose pages are not 4 KiB: -PMM_ENOTSUP, nothing lost. */
static void test_page_size_not_4k(void **state)
{
	static const unsigned int shifts[] = { 13, 14, 16 };

	(void)state;
	for (unsigned int i = 0; i < MU_ARRAY_SIZE(shifts); i++) {
		struct pmm_config cfg;
		struct mu_env e;
		pmm_mm_t *mm = (pmm_mm_t *)(uintptr_t)1;

		mu_config(&e, &cfg, 64);
		cfg.page_shift = shifts[i];
		cfg.regions[0].nr_pages = TU_MIB(64) >> shifts[i];
		cfg.backing = PMM_BACKING_NONE;
		mu_start(&e, &cfg);
		assert_int_equal(pmm_page_size(e.pmm), 1u << shifts[i]);
		assert_int_equal(pmm_mm_create(e.pmm, NULL, &mm), -PMM_ENOTSUP);
		assert_null(mm);
		tu_assert_conserved(e.pmm, 0);
		mu_finish(&e);
	}
}

/*
 * Without backing, address spaces still work as bookkeeping; only
 * pmm_mm_access, which needs bytes, is -PMM_ENOTSUP (with *ptr NULL).
 */
static void test_no_backing(void **state)
{
	struct pmm_config cfg;
	struct mu_env e;
	pmm_mm_t *mm, *child;
	void *p = (void *)1;

	(void)state;
	mu_config(&e, &cfg, 64);
	cfg.backing = PMM_BACKING_NONE;
	mu_start(&e, &cfg);
	mm = mu_mm(e.pmm, PMM_GATHER_ENCODED, PMM_MAPCOUNT_FOLIO);
	mu_map(mm, MU_BASE, MU_PAGES(100), 4, RWP);
	mu_assert_layout(e.pmm, mm, MU_BASE, MU_BASE + MU_PAGES(100), 4);
	assert_int_equal(pmm_mm_access(mm, MU_BASE, false, &p), -PMM_ENOTSUP);
	assert_null(p);
	child = mu_fork(mm);
	mu_fault(child, MU_BASE + MU_PAGES(3), true);
	assert_int_equal(mu_stats(child).cow_faults, 1);
	assert_int_equal(mu_order_at(child, MU_BASE + MU_PAGES(3)), 0);
	pmm_mm_destroy(mm);
	assert_int_equal(mu_stats(child).rss_anon, 100);
	pmm_mm_destroy(child);
	mu_finish(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_destroy),
		cmocka_unit_test(test_pgtable_pages),
		cmocka_unit_test(test_fault_basics),
		cmocka_unit_test(test_zero_fill_and_access),
		cmocka_unit_test(test_mthp_unaligned_edges),
		cmocka_unit_test(test_mthp_present_pte_fallback),
		cmocka_unit_test(test_mthp_alloc_failure_fallback),
		cmocka_unit_test(test_every_order_both_memmaps),
		cmocka_unit_test(test_destroy_stats),
		cmocka_unit_test(test_rss_and_vmas),
		cmocka_unit_test(test_read_only_vma),
		cmocka_unit_test(test_bad_ranges),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_page_size_not_4k),
		cmocka_unit_test(test_no_backing),
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
