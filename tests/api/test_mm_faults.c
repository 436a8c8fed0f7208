/* SPDX-License-Identifier: MIT */
/*
 * test_mm_faults.c - fault injection (pmm_fault_set, test_faults.c's
 * attribute semantics) swept over every page and metadata allocation of
 * the address-space calls that allocate: pmm_mm_create, POPULATE of a
 * VMA, pmm_mm_fork, a COW fault, pmm_mm_swapcache_add, a VMA split, and
 * the gather's batch allocation during unmap and exit. Each failure is
 * -PMM_ENOMEM with nothing half-done (POPULATE: nothing stays mapped and
 * the range can be mapped again; fork: no child and the parent
 * unchanged), or, for the gather's NOWAIT batch allocation, a forced
 * flush (counted) and success. Nothing leaks: frames by the conservation
 * identity and buddyinfo, metadata by a counting allocator; pmm_check()
 * is clean after each.
 *
 * Contract points these tests rely on beyond the prototypes:
 *  - The mm itself and its VMAs come from the metadata allocator (so a
 *    metadata failure can fail pmm_mm_create and a map), the page-table
 *    root from the page allocator.
 *  - After one warm-up cycle (map, populate, write, fork, COW, partial
 *    unmap, scan, swap-cache add, destroy), instance-wide metadata no
 *    longer grows: every later cycle returns to the same number of live
 *    metadata blocks.
 *  - A failed pmm_mm_map_anon(POPULATE) leaves no VMA behind (pmm.h: the
 *    call is undone, where the kernel's mmap(MAP_POPULATE) would keep the
 *    mapping), and a failed unmap (a VMA split that could not allocate)
 *    changes nothing.
 *  - A failed pmm_mm_fork() leaves the parent's mappings, contents,
 *    refcounts and mapcounts as they were; whether its PTEs stay
 *    write-protected (so a later write copies) is not asserted.
 *  - A call that fails sets its out-pointer to NULL (fork's child,
 *    pmm_mm_create's mm, pmm_mm_access's ptr).
 *  - During unmap and exit the only page allocations are the gather's
 *    batches (page tables are freed directly, not through a batch of
 *    their own), so each injected failure there is a batch that could
 *    not be had.
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "mm_util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define RW (PMM_MAP_WRITE)
#define RWP (PMM_MAP_WRITE | PMM_MAP_POPULATE)
#define SWEEP_MAX 20000

static const char *kind_name(enum pmm_fault_kind k)
{
	return k == PMM_FAULT_PAGE_ALLOC ? "page" : "metadata";
}

/* An instance on the counting metadata allocator, warmed up. */
struct fenv {
	struct mu_env e;
	long meta_base;		/* live metadata blocks with no mm */
};

static void warm_up(pmm_t *pmm)
{
	pmm_mm_t *a = mu_mm(pmm, PMM_GATHER_ENCODED, PMM_MAPCOUNT_PER_PAGE), *b;

	mu_map(a, MU_BASE, MU_PAGES(600), 4, RWP);
	mu_map(a, MU_BASE + MU_PUD_SIZE, MU_PAGES(64), 0, RWP);
	mu_write_tag(a, MU_BASE, 1);
	b = mu_fork(a);
	mu_write_tag(b, MU_BASE + MU_PAGE, 2);
	mu_unmap(b, MU_BASE + MU_PAGES(5), MU_PAGES(3));
	assert_int_equal(pmm_mm_swapcache_add(a, MU_BASE, MU_PAGES(600)), 0);
	pmm_mm_destroy(a);
	pmm_lru_add_drain(pmm);
	pmm_deferred_split_scan(pmm, 100);
	pmm_mm_destroy(b);
}

static void fenv_init(struct fenv *f, uint64_t mib)
{
	struct pmm_config cfg;

	assert_int_equal(mu_meta_live(), 0);
	mu_config(&f->e, &cfg, mib);
	mu_meta_install(&cfg);
	mu_start(&f->e, &cfg);
	warm_up(f->e.pmm);
	tu_buddy_assert_fresh(f->e.pmm, &f->e.fresh);
	f->meta_base = mu_meta_live();
}

static void assert_meta(long expect, const char *what, uint64_t n)
{
	long live = mu_meta_live();

	if (live != expect)
		print_message("%s, N=%" PRIu64 ": %ld live metadata blocks, expected %ld\n", what, n,
			      live, expect);
	assert_int_equal(live, expect);
	assert_int_equal(mu_meta_bad_frees(), 0);
}

static void fenv_finish(struct fenv *f)
{
	assert_meta(f->meta_base, "finish", 0);
	mu_finish(&f->e);
	assert_int_equal(mu_meta_live(), 0);
	assert_int_equal(mu_meta_bad_frees(), 0);
}

/* ------------------------------------------------------------------------
 * 1. pmm_mm_create
 * ------------------------------------------------------------------------ */

static void test_sweep_mm_create(void **state)
{
	(void)state;
	for (int k = 0; k < PMM_NR_FAULT_KINDS; k++) {
		struct fenv f;
		uint64_t n, failures = 0;

		fenv_init(&f, 64);
		for (n = 1; n < SWEEP_MAX; n++) {
			pmm_mm_t *mm = (pmm_mm_t *)(uintptr_t)1;
			uint64_t inj0 = mu_injected(f.e.pmm);
			int rc;

			mu_arm(f.e.pmm, (enum pmm_fault_kind)k, n, -1);
			rc = pmm_mm_create(f.e.pmm, NULL, &mm);
			mu_disarm(f.e.pmm, (enum pmm_fault_kind)k);
			if (mu_injected(f.e.pmm) == inj0) {
				assert_int_equal(rc, 0);
				assert_non_null(mm);
				assert_int_equal(mu_stats(mm).pgtable_pages, 1);
				pmm_mm_destroy(mm);
				break;
			}
			assert_int_equal(rc, -PMM_ENOMEM);
			assert_null(mm);
			failures++;
			assert_meta(f.meta_base, "pmm_mm_create", n);
			tu_assert_conserved(f.e.pmm, 0);
		}
		print_message("pmm_mm_create, %s: %" PRIu64 " failing allocations\n",
			      kind_name((enum pmm_fault_kind)k), failures);
		assert_true(failures >= 1);	/* the root table; the mm itself */
		fenv_finish(&f);
	}
}

/* ------------------------------------------------------------------------
 * 2. POPULATE
 * ------------------------------------------------------------------------ */

/*
 * Map with POPULATE a VMA of order 4 with unaligned ends (folios of every
 * order 0..4, three table levels) while allocation N (and, with times -1,
 * every later one) fails. A failure is -PMM_ENOMEM with nothing mapped and
 * no VMA left; with a single page-allocation failure a folio's allocation
 * falls back to a smaller order and the call succeeds, fully mapped.
 */
static void populate_sweep(enum pmm_fault_kind kind, int64_t times)
{
	const uint64_t start = MU_BASE + MU_PAGES(3), len = MU_PAGES(200);
	struct fenv f;
	uint64_t n, enomem = 0, fallback = 0;

	fenv_init(&f, 64);
	for (n = 1; n < SWEEP_MAX; n++) {
		pmm_mm_t *mm = mu_mm(f.e.pmm, PMM_GATHER_PER_PAGE, PMM_MAPCOUNT_PER_PAGE);
		long meta_mm = mu_meta_live();
		uint64_t inj0 = mu_injected(f.e.pmm), inj;
		struct pmm_mm_stats st;
		int rc;

		mu_arm(f.e.pmm, kind, n, times);
		rc = pmm_mm_map_anon(mm, start, len, 4, RWP);
		mu_disarm(f.e.pmm, kind);
		inj = mu_injected(f.e.pmm) - inj0;
		st = mu_stats(mm);
		if (rc == -PMM_ENOMEM) {
			assert_true(inj >= 1);
			enomem++;
			assert_int_equal(st.rss_anon, 0);
			assert_int_equal(st.nr_vmas, 0);
			mu_assert_unmapped(mm, start, start + len);
			assert_int_equal(pmm_mm_fault(mm, start, false), -PMM_EINVAL);
			tu_assert_conserved(f.e.pmm, st.pgtable_pages);
			/* metadata the mm keeps for itself may stay: leaks show at destroy */
			assert_true(mu_meta_live() >= meta_mm);
			/* no VMA is left: the range maps again */
			mu_map(mm, start, len, 4, RWP);
		} else {
			assert_int_equal(rc, 0);
			if (inj) {
				/* only a single page failure can be absorbed by a fallback */
				assert_true(kind == PMM_FAULT_PAGE_ALLOC && times == 1);
				fallback++;
			}
		}
		st = mu_stats(mm);
		assert_int_equal(st.rss_anon, len / MU_PAGE);
		assert_int_equal(mu_mapped_pages(mm, start, start + len), len / MU_PAGE);
		tu_assert_conserved(f.e.pmm, st.rss_anon + st.pgtable_pages);
		pmm_mm_destroy(mm);
		tu_buddy_assert_fresh(f.e.pmm, &f.e.fresh);
		assert_meta(f.meta_base, "populate", n);
		if (!inj)
			break;
	}
	print_message("populate, %s, times %" PRId64 ": %" PRIu64 " calls swept, %" PRIu64
		      " -PMM_ENOMEM, %" PRIu64 " absorbed by fallback\n", kind_name(kind), times, n,
		      enomem, fallback);
	assert_true(n < SWEEP_MAX);
	assert_true(enomem >= 1);
	if (kind == PMM_FAULT_PAGE_ALLOC && times == -1)
		assert_int_equal(enomem, n - 1);	/* nothing can absorb "all fail" */
	if (kind == PMM_FAULT_PAGE_ALLOC && times == 1)
		assert_true(fallback >= 1);
	fenv_finish(&f);
}

static void test_sweep_populate_page(void **state)
{
	(void)state;
	populate_sweep(PMM_FAULT_PAGE_ALLOC, -1);
	populate_sweep(PMM_FAULT_PAGE_ALLOC, 1);
}

static void test_sweep_populate_meta(void **state)
{
	(void)state;
	populate_sweep(PMM_FAULT_META_ALLOC, -1);
	populate_sweep(PMM_FAULT_META_ALLOC, 1);
}

/* A single fault with every page allocation failing: -PMM_ENOMEM, nothing mapped. */
static void test_fault_enomem(void **state)
{
	struct fenv f;
	pmm_mm_t *mm;
	void *p = (void *)1;

	(void)state;
	fenv_init(&f, 64);
	mm = mu_mm(f.e.pmm, PMM_GATHER_RANGES, PMM_MAPCOUNT_FOLIO);
	mu_map(mm, MU_BASE, MU_PAGES(64), 4, RW);
	mu_arm(f.e.pmm, PMM_FAULT_PAGE_ALLOC, 1, -1);
	assert_int_equal(pmm_mm_fault(mm, MU_BASE, false), -PMM_ENOMEM);
	assert_int_equal(pmm_mm_access(mm, MU_BASE + 5, true, &p), -PMM_ENOMEM);
	assert_null(p);
	mu_disarm(f.e.pmm, PMM_FAULT_PAGE_ALLOC);
	assert_int_equal(mu_stats(mm).rss_anon, 0);
	assert_int_equal(mu_stats(mm).faults, 0);
	mu_assert_unmapped(mm, MU_BASE, MU_BASE + MU_PAGES(64));
	tu_assert_conserved(f.e.pmm, mu_stats(mm).pgtable_pages);
	/* the allocator back: the same fault works */
	mu_fault(mm, MU_BASE, false);
	assert_int_equal(mu_order_at(mm, MU_BASE), 4);
	pmm_mm_destroy(mm);
	fenv_finish(&f);
}

/* ------------------------------------------------------------------------
 * 3. Fork
 * ------------------------------------------------------------------------ */

static const struct mu_range FR[] = {
	{ MU_BASE, MU_BASE + MU_PAGES(64) },
	{ MU_BASE + MU_PUD_SIZE + MU_PAGES(3), MU_BASE + MU_PUD_SIZE + MU_PAGES(103) },
	{ MU_BASE + MU_P4D_SIZE, MU_BASE + MU_P4D_SIZE + MU_PAGES(512) },
};
static const unsigned int FR_ORDER[] = { 0, 4, 9 };
#define FR_PAGES (64 + 100 + 512)

static uint64_t ftag(uint64_t addr)
{
	return (addr >> MU_PAGE_SHIFT) ^ 0x5eed0000ull;
}

struct parent_snap {
	struct pmm_page *page[FR_PAGES];
	int refs[FR_PAGES];
	struct pmm_mm_stats st;
};

static void snap_parent(pmm_t *pmm, pmm_mm_t *mm, struct parent_snap *s)
{
	size_t i = 0;

	pmm_lru_add_drain(pmm);
	for (unsigned int r = 0; r < MU_ARRAY_SIZE(FR); r++)
		for (uint64_t a = FR[r].start; a < FR[r].end; a += MU_PAGE, i++) {
			s->page[i] = pmm_mm_lookup(mm, a);
			assert_non_null(s->page[i]);
			s->refs[i] = pmm_page_count(s->page[i]);
		}
	s->st = mu_stats(mm);
}

static void assert_parent_unchanged(pmm_t *pmm, pmm_mm_t *mm, enum pmm_mapcount_model model,
				    const struct parent_snap *s, uint64_t n)
{
	struct pmm_mm_stats st = mu_stats(mm);
	size_t i = 0;

	pmm_lru_add_drain(pmm);
	assert_int_equal(st.rss_anon, s->st.rss_anon);
	assert_int_equal(st.nr_vmas, s->st.nr_vmas);
	assert_int_equal(st.pgtable_pages, s->st.pgtable_pages);
	assert_int_equal(st.cow_faults, s->st.cow_faults);
	for (unsigned int r = 0; r < MU_ARRAY_SIZE(FR); r++)
		for (uint64_t a = FR[r].start; a < FR[r].end; a += MU_PAGE, i++) {
			struct pmm_page *p = pmm_mm_lookup(mm, a);

			if (p != s->page[i] || pmm_page_count(p) != s->refs[i])
				print_message("N=%" PRIu64 ": parent page %#" PRIx64 " changed\n", n, a);
			assert_ptr_equal(p, s->page[i]);
			assert_int_equal(pmm_page_count(p), s->refs[i]);
		}
	mu_assert_rmap(pmm, &mm, 1, FR, MU_ARRAY_SIZE(FR), model, false);
	for (unsigned int r = 0; r < MU_ARRAY_SIZE(FR); r++)
		for (uint64_t a = FR[r].start; a < FR[r].end; a += 37 * MU_PAGE)
			assert_int_equal(mu_read_tag(mm, a), ftag(a));
}

/*
 * Fork with allocation N failing, for every N: -PMM_ENOMEM, no child, the
 * parent as it was, nothing leaked; then the fork that succeeds gives a
 * child that shares everything, and COW still separates them.
 */
static void fork_sweep(enum pmm_gather_mode mode, enum pmm_mapcount_model model,
		       enum pmm_fault_kind kind)
{
	struct fenv f;
	pmm_mm_t *parent, *child = NULL;
	static struct parent_snap s;
	uint64_t n, failures = 0;
	long meta_parent;

	fenv_init(&f, 64);
	parent = mu_mm(f.e.pmm, mode, model);
	for (unsigned int r = 0; r < MU_ARRAY_SIZE(FR); r++) {
		mu_map(parent, FR[r].start, FR[r].end - FR[r].start, FR_ORDER[r], RWP);
		for (uint64_t a = FR[r].start; a < FR[r].end; a += MU_PAGE)
			mu_write_tag(parent, a, ftag(a));
	}
	snap_parent(f.e.pmm, parent, &s);
	meta_parent = mu_meta_live();

	for (n = 1; n < SWEEP_MAX; n++) {
		uint64_t inj0 = mu_injected(f.e.pmm);
		int rc;

		child = (pmm_mm_t *)(uintptr_t)1;
		mu_arm(f.e.pmm, kind, n, 1);
		rc = pmm_mm_fork(parent, &child);
		mu_disarm(f.e.pmm, kind);
		if (mu_injected(f.e.pmm) == inj0) {
			assert_int_equal(rc, 0);
			assert_non_null(child);
			break;
		}
		assert_int_equal(rc, -PMM_ENOMEM);
		assert_null(child);
		failures++;
		assert_parent_unchanged(f.e.pmm, parent, model, &s, n);
		tu_assert_conserved(f.e.pmm, s.st.rss_anon + s.st.pgtable_pages);
		assert_meta(meta_parent, "failed fork", n);
	}
	print_message("fork (%s, %s), %s: %" PRIu64 " failing allocations\n", mu_mode_name(mode),
		      mu_model_name(model), kind_name(kind), failures);
	assert_true(n < SWEEP_MAX);
	assert_true(failures >= 1);

	/* the child that came up is whole */
	for (unsigned int r = 0; r < MU_ARRAY_SIZE(FR); r++)
		for (uint64_t a = FR[r].start; a < FR[r].end; a += MU_PAGE)
			assert_ptr_equal(pmm_mm_lookup(child, a), pmm_mm_lookup(parent, a));
	{
		pmm_mm_t *both[2] = { parent, child };

		mu_assert_rmap(f.e.pmm, both, 2, FR, MU_ARRAY_SIZE(FR), model, false);
	}
	mu_write_tag(parent, FR[2].start, 0xfeed);
	assert_int_equal(mu_read_tag(child, FR[2].start), ftag(FR[2].start));
	mu_write_tag(child, FR[1].start, 0xbeef);
	assert_int_equal(mu_read_tag(parent, FR[1].start), ftag(FR[1].start));
	pmm_mm_destroy(child);
	pmm_mm_destroy(parent);
	fenv_finish(&f);
}

static void test_sweep_fork_page(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++)
		fork_sweep(mu_modes[m], PMM_MAPCOUNT_PER_PAGE, PMM_FAULT_PAGE_ALLOC);
	fork_sweep(PMM_GATHER_ENCODED, PMM_MAPCOUNT_FOLIO, PMM_FAULT_PAGE_ALLOC);
}

static void test_sweep_fork_meta(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++)
		fork_sweep(mu_modes[m], PMM_MAPCOUNT_PER_PAGE, PMM_FAULT_META_ALLOC);
	fork_sweep(PMM_GATHER_RANGES, PMM_MAPCOUNT_FOLIO, PMM_FAULT_META_ALLOC);
}

/* A COW fault that cannot allocate: -PMM_ENOMEM, still shared; then it works. */
static void test_cow_enomem(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		struct fenv f;
		pmm_mm_t *parent, *child;
		struct pmm_page *old;
		void *p = (void *)1;
		const uint64_t a = MU_BASE + MU_PAGES(21);

		fenv_init(&f, 64);
		parent = mu_mm(f.e.pmm, mu_modes[m], PMM_MAPCOUNT_PER_PAGE);
		mu_map(parent, MU_BASE, MU_PAGES(64), 4, RWP);
		mu_write_tag(parent, a, 77);
		child = mu_fork(parent);
		old = pmm_mm_lookup(child, a);
		mu_arm(f.e.pmm, PMM_FAULT_PAGE_ALLOC, 1, -1);
		assert_int_equal(pmm_mm_fault(child, a, true), -PMM_ENOMEM);
		assert_int_equal(pmm_mm_access(child, a, true, &p), -PMM_ENOMEM);
		assert_null(p);
		mu_disarm(f.e.pmm, PMM_FAULT_PAGE_ALLOC);
		assert_ptr_equal(pmm_mm_lookup(child, a), old);
		assert_ptr_equal(pmm_mm_lookup(parent, a), old);
		assert_int_equal(pmm_page_mapcount(old), 2);
		assert_int_equal(mu_stats(child).cow_faults, 0);
		assert_int_equal(mu_read_tag(child, a), 77);
		{
			pmm_mm_t *both[2] = { parent, child };
			const struct mu_range r = { MU_BASE, MU_BASE + MU_PAGES(64) };

			mu_assert_rmap(f.e.pmm, both, 2, &r, 1, PMM_MAPCOUNT_PER_PAGE, false);
		}
		mu_write_tag(child, a, 78);
		assert_int_equal(mu_stats(child).cow_faults, 1);
		assert_int_equal(mu_read_tag(parent, a), 77);
		pmm_mm_destroy(parent);
		pmm_mm_destroy(child);
		fenv_finish(&f);
	}
}

/* ------------------------------------------------------------------------
 * 4. The gather's batch allocation during unmap and exit
 * ------------------------------------------------------------------------ */

/*
 * 2000 pages (order 0: 2000 entries, 4 batches; order 4: 125 runs) are
 * unmapped, or the mm exits, while batch allocation N and every later one
 * fails (or only N): the call succeeds, each injected failure forces a
 * flush (counted), every frame comes back.
 */
static void batch_sweep(enum pmm_gather_mode mode, unsigned int order, bool exit, int64_t times)
{
	struct fenv f;
	uint64_t n, injected_runs = 0;

	fenv_init(&f, 64);
	for (n = 1; n < SWEEP_MAX; n++) {
		pmm_mm_t *mm = mu_mm(f.e.pmm, mode, PMM_MAPCOUNT_PER_PAGE);
		struct pmm_mm_stats s0, s1;
		uint64_t inj0, inj;

		mu_map(mm, MU_BASE, MU_PAGES(2000), order, RWP);
		s0 = mu_stats(mm);
		inj0 = mu_injected(f.e.pmm);
		mu_arm(f.e.pmm, PMM_FAULT_PAGE_ALLOC, n, times);
		if (exit) {
			pmm_mm_destroy(mm);
			mu_disarm(f.e.pmm, PMM_FAULT_PAGE_ALLOC);
			inj = mu_injected(f.e.pmm) - inj0;
		} else {
			assert_int_equal(pmm_mm_unmap(mm, MU_BASE, MU_PAGES(2000)), 0);
			mu_disarm(f.e.pmm, PMM_FAULT_PAGE_ALLOC);
			inj = mu_injected(f.e.pmm) - inj0;
			s1 = mu_stats(mm);
			assert_int_equal(s1.rss_anon, 0);
			assert_int_equal(s1.pgtable_pages, 1);
			if (inj)
				assert_true(s1.gather_forced_flushes - s0.gather_forced_flushes >= 1);
			else
				assert_int_equal(s1.gather_forced_flushes, s0.gather_forced_flushes);
			/* each forced flush flushes the TLB; the last may leave finish nothing to flush */
			assert_true(s1.tlb_flushes - s0.tlb_flushes >= 1);
			assert_true(s1.tlb_flushes - s0.tlb_flushes >=
				    s1.gather_forced_flushes - s0.gather_forced_flushes);
			tu_assert_conserved(f.e.pmm, 1);
			pmm_mm_destroy(mm);
		}
		tu_buddy_assert_fresh(f.e.pmm, &f.e.fresh);
		assert_meta(f.meta_base, "batch allocation", n);
		if (!inj)
			break;
		injected_runs++;
	}
	assert_true(n < SWEEP_MAX);
	assert_true(injected_runs >= 1);	/* at least one batch was needed */
	fenv_finish(&f);
}

static void test_sweep_unmap_batches(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		batch_sweep(mu_modes[m], 0, false, -1);
		batch_sweep(mu_modes[m], 0, false, 1);
		batch_sweep(mu_modes[m], 4, false, -1);
	}
}

static void test_sweep_exit_batches(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		batch_sweep(mu_modes[m], 0, true, -1);
		batch_sweep(mu_modes[m], 4, true, 1);
	}
}

/* ------------------------------------------------------------------------
 * 5. Metadata during unmap (VMA split) and swap-cache add
 * ------------------------------------------------------------------------ */

/*
 * Unmapping the middle of a VMA splits it; with metadata allocation N
 * failing the unmap either works or fails with -PMM_ENOMEM having changed
 * nothing. Seven one-page VMAs beside it fill the VMA array's first
 * allocation (8), so that the split has to grow it.
 */
static void test_sweep_unmap_split_meta(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		struct fenv f;
		uint64_t n, failures = 0;
		const uint64_t b = MU_BASE, mid = b + MU_PAGES(100);

		fenv_init(&f, 64);
		for (n = 1; n < SWEEP_MAX; n++) {
			pmm_mm_t *mm = mu_mm(f.e.pmm, mu_modes[m], PMM_MAPCOUNT_PER_PAGE);
			uint64_t inj0;
			int rc;

			mu_map(mm, b, MU_PAGES(300), 2, RWP);
			for (int v = 1; v < 8; v++)
				mu_map(mm, b + MU_PAGES(300 + 2 * v), MU_PAGE, 0, RWP);
			inj0 = mu_injected(f.e.pmm);
			mu_arm(f.e.pmm, PMM_FAULT_META_ALLOC, n, -1);
			rc = pmm_mm_unmap(mm, mid, MU_PAGES(50));
			mu_disarm(f.e.pmm, PMM_FAULT_META_ALLOC);
			if (rc == -PMM_ENOMEM) {
				failures++;
				assert_int_equal(mu_stats(mm).rss_anon, 300 + 7);
				assert_int_equal(mu_stats(mm).nr_vmas, 8);
				assert_int_equal(mu_mapped_pages(mm, b, b + MU_PAGES(300)), 300);
				assert_int_equal(mu_deferred(f.e.pmm), 0);
			} else {
				assert_int_equal(rc, 0);
				assert_int_equal(mu_stats(mm).rss_anon, 250 + 7);
				assert_int_equal(mu_stats(mm).nr_vmas, 9);
				mu_assert_unmapped(mm, mid, mid + MU_PAGES(50));
			}
			tu_check(f.e.pmm);
			pmm_mm_destroy(mm);
			tu_buddy_assert_fresh(f.e.pmm, &f.e.fresh);
			assert_meta(f.meta_base, "unmap split", n);
			if (mu_injected(f.e.pmm) == inj0)
				break;
		}
		print_message("unmap split (%s): %" PRIu64 " -PMM_ENOMEM\n", mu_mode_name(mu_modes[m]),
			      failures);
		assert_true(n < SWEEP_MAX);
		assert_true(failures >= 1);	/* the grown VMA array */
		fenv_finish(&f);
	}
}

/*
 * pmm_mm_swapcache_add with allocation N failing: 0 or -PMM_ENOMEM; the
 * folios it did cache are counted and hold their references; teardown
 * empties the cache either way. 1088 pages are more than the index the
 * warm-up left (2048 slots, grown at half full) takes, so it has to grow.
 */
static void test_sweep_swapcache_add(void **state)
{
	(void)state;
	for (int k = 0; k < PMM_NR_FAULT_KINDS; k++) {
		struct fenv f;
		uint64_t n, failures = 0;
		const struct mu_range r = { MU_BASE, MU_BASE + MU_PAGES(1088) };

		fenv_init(&f, 64);
		for (n = 1; n < SWEEP_MAX; n++) {
			pmm_mm_t *mm = mu_mm(f.e.pmm, PMM_GATHER_ENCODED, PMM_MAPCOUNT_PER_PAGE);
			uint64_t inj0, cached;
			int rc;

			mu_map(mm, r.start, MU_PAGES(1024), 0, RWP);
			mu_map(mm, r.start + MU_PAGES(1024), MU_PAGES(64), 4, RWP);
			inj0 = mu_injected(f.e.pmm);
			mu_arm(f.e.pmm, (enum pmm_fault_kind)k, n, -1);
			rc = pmm_mm_swapcache_add(mm, r.start, r.end - r.start);
			mu_disarm(f.e.pmm, (enum pmm_fault_kind)k);
			assert_true(rc == 0 || rc == -PMM_ENOMEM);
			failures += rc != 0;
			cached = mu_assert_rmap(f.e.pmm, &mm, 1, &r, 1, PMM_MAPCOUNT_PER_PAGE, true);
			assert_int_equal(cached, pmm_swapcache_nr(f.e.pmm));
			if (rc == 0)
				assert_int_equal(cached, 1024 + 4);
			tu_check(f.e.pmm);
			pmm_mm_destroy(mm);
			assert_int_equal(pmm_swapcache_nr(f.e.pmm), 0);
			tu_buddy_assert_fresh(f.e.pmm, &f.e.fresh);
			assert_meta(f.meta_base, "swapcache add", n);
			if (mu_injected(f.e.pmm) == inj0)
				break;
		}
		print_message("swapcache add, %s: %" PRIu64 " -PMM_ENOMEM\n",
			      kind_name((enum pmm_fault_kind)k), failures);
		assert_true(n < SWEEP_MAX);
		/* the index grows from metadata; the cache takes no page */
		assert_true(k == PMM_FAULT_PAGE_ALLOC ? failures == 0 : failures >= 1);
		fenv_finish(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep_mm_create),
		cmocka_unit_test(test_sweep_populate_page),
		cmocka_unit_test(test_sweep_populate_meta),
		cmocka_unit_test(test_fault_enomem),
		cmocka_unit_test(test_sweep_fork_page),
		cmocka_unit_test(test_sweep_fork_meta),
		cmocka_unit_test(test_cow_enomem),
		cmocka_unit_test(test_sweep_unmap_batches),
		cmocka_unit_test(test_sweep_exit_batches),
		cmocka_unit_test(test_sweep_unmap_split_meta),
		cmocka_unit_test(test_sweep_swapcache_add),
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
