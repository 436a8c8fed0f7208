/* SPDX-License-Identifier: MIT */
/*
 * test_mm_split.c - the deferred split queue through pmm.h only (design.md
 * section 6, kernel semantics): a large anonymous folio (order >= 2) is
 * queued when one of its pages loses its last mapping while another page
 * of it is still mapped; unmapping a whole folio in one call never leaves
 * it queued (in RANGES and ENCODED it never touches the queue: the
 * deferred_split_lock counter stays 0; in PER_PAGE it is queued and
 * unqueued on the way); pmm_deferred_split_scan() splits queued folios to
 * order 0 and frees exactly their unmapped pages, the mapped ones keeping
 * contents and mappings; a folio freed while queued is unqueued; the
 * queue is also reached by allocation pressure (the shrinker).
 *
 * Every scenario ends with every mm destroyed, pmm_check() == 0 and
 * buddyinfo equal to the fresh instance's (mu_finish).
 *
 * Contract points these tests rely on beyond the prototypes:
 *  - struct pmm_stats' deferred_split_lock counts the deferred split
 *    queue lock's acquisitions: a scan takes the lock, a partial unmap in
 *    any mode takes it, and freeing a folio that was never queued does
 *    not (the kernel checks list_empty without the lock).
 *  - The queue holds a reference on each folio it lists
 *    (src/deferred_split.c: so that the scan needs no speculative get).
 *  - The scan may skip a folio holding references it does not expect (as
 *    the kernel's can_split_folio does), so every test drains the per-CPU
 *    LRU add batches before scanning.
 *  - pmm_deferred_split_scan(pmm, 0) scans nothing; with nothing queued it
 *    returns 0.
 *  - A folio of order 1 is never queued (the brief: order >= 2), so its
 *    unmapped page stays allocated until the rest of it goes.
 *  - The order in which the scan takes queued folios is not specified;
 *    only how many it takes.
 *  - The deferred split shrinker is reached through the ordinary
 *    allocation slow path of a PMM_GFP_KERNEL allocation.
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "mm_util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define RWP (PMM_MAP_WRITE | PMM_MAP_POPULATE)

static uint64_t tag_of(uint64_t addr)
{
	return (addr >> MU_PAGE_SHIFT) * 0x2545f4914f6cdd1dull + 7;
}

/* Map and populate [base, base + pages) at @order, every page tagged. */
static void populate(pmm_mm_t *mm, uint64_t base, uint64_t pages, unsigned int order)
{
	mu_map(mm, base, MU_PAGES(pages), order, RWP);
	for (uint64_t a = base; a < base + MU_PAGES(pages); a += MU_PAGE)
		mu_write_tag(mm, a, tag_of(a));
}

/* Every page mapped in [start, end) of @mm still reads its tag. */
static void assert_tags(pmm_mm_t *mm, uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a < end; a += MU_PAGE)
		if (pmm_mm_lookup(mm, a))
			assert_int_equal(mu_read_tag(mm, a), tag_of(a));
}

/*
 * Scan up to @nr folios and check: the return value and the free frames
 * both grew by @expect; nothing mapped changed (same pages, now order 0
 * where they were in a split folio, same contents).
 */
static void scan_expect(pmm_t *pmm, pmm_mm_t *mm, uint64_t start, uint64_t end,
			unsigned long nr, uint64_t expect)
{
	uint64_t n = (end - start) / MU_PAGE, free0, got;
	struct pmm_page **before = calloc(n, sizeof(*before));

	assert_non_null(before);
	for (uint64_t i = 0; i < n; i++)
		before[i] = pmm_mm_lookup(mm, start + MU_PAGES(i));
	pmm_lru_add_drain(pmm);
	free0 = mu_free(pmm);
	got = pmm_deferred_split_scan(pmm, nr);
	if (got != expect)
		print_message("scan(%lu) freed %" PRIu64 " pages, expected %" PRIu64 "\n", nr, got,
			      expect);
	assert_int_equal(got, expect);
	assert_int_equal(mu_free(pmm) - free0, expect);
	for (uint64_t i = 0; i < n; i++)
		assert_ptr_equal(pmm_mm_lookup(mm, start + MU_PAGES(i)), before[i]);
	assert_tags(mm, start, end);
	free(before);
	tu_check(pmm);
}

/* ------------------------------------------------------------------------
 * 1. A partial unmap queues; the scan frees exactly the unmapped pages
 * ------------------------------------------------------------------------ */

static void partial_unmap(enum pmm_gather_mode mode, enum pmm_mapcount_model model)
{
	static const unsigned int orders[] = { 2, 3, 4, 6, 9 };
	struct mu_env e;

	mu_env(&e, 64);
	for (unsigned int i = 0; i < MU_ARRAY_SIZE(orders); i++) {
		const unsigned int k = orders[i];
		const uint64_t nr = 1ull << k, b = MU_BASE, end = b + MU_PAGES(2 * nr);
		const struct mu_range r = { b, end };
		pmm_mm_t *mm = mu_mm(e.pmm, mode, model);
		struct pmm_folio *f0, *f1;
		struct mu_lru lru;
		uint64_t lock0;

		populate(mm, b, 2 * nr, k);
		f0 = mu_folio_at(mm, b);
		f1 = mu_folio_at(mm, b + MU_PAGES(nr));
		assert_int_equal(pmm_folio_order(f0), k);

		/* the second half of folio 0 */
		lock0 = mu_deferred_split_lock(e.pmm);
		mu_unmap(mm, b + MU_PAGES(nr / 2), MU_PAGES(nr / 2));
		assert_int_equal(mu_deferred(e.pmm), 1);
		assert_true(mu_deferred_split_lock(e.pmm) > lock0);
		assert_int_equal(mu_stats(mm).rss_anon, 2 * nr - nr / 2);
		mu_assert_unmapped(mm, b + MU_PAGES(nr / 2), b + MU_PAGES(nr));
		pmm_lru_add_drain(e.pmm);
		/* the mapped half and the deferred split queue's reference */
		assert_int_equal(pmm_folio_ref_count(f0), nr / 2 + 1);
		mu_assert_rmap(e.pmm, &mm, 1, &r, 1, model, false);
		/* still one folio on the LRU, all its pages */
		lru = mu_lru(e.pmm);
		assert_int_equal(lru.folios, 2);
		assert_int_equal(lru.pages, 2 * nr);
		/* the unmapped half is still allocated: it belongs to folio 0 */
		tu_assert_conserved(e.pmm, 2 * nr + mu_stats(mm).pgtable_pages);

		scan_expect(e.pmm, mm, b, end, 1, nr / 2);
		assert_int_equal(mu_deferred(e.pmm), 0);
		for (uint64_t j = 0; j < nr / 2; j++) {
			struct pmm_page *p = pmm_mm_lookup(mm, b + MU_PAGES(j));

			assert_int_equal(pmm_folio_order(pmm_page_folio(p)), 0);
		}
		assert_ptr_equal(mu_folio_at(mm, b + MU_PAGES(nr)), f1);
		assert_int_equal(pmm_folio_order(f1), k);
		mu_assert_rmap(e.pmm, &mm, 1, &r, 1, model, false);
		lru = mu_lru(e.pmm);
		assert_int_equal(lru.folios, 1 + nr / 2);
		assert_int_equal(lru.pages, nr + nr / 2);
		tu_assert_conserved(e.pmm, mu_stats(mm).rss_anon + mu_stats(mm).pgtable_pages);

		/* a one-page hole in the middle of folio 1 (its VMA splits too) */
		assert_int_equal(mu_stats(mm).nr_vmas, 2);
		mu_unmap(mm, b + MU_PAGES(nr + 1), MU_PAGE);
		assert_int_equal(mu_deferred(e.pmm), 1);
		assert_int_equal(mu_stats(mm).nr_vmas, 3);
		scan_expect(e.pmm, mm, b, end, 8, 1);
		assert_int_equal(mu_deferred(e.pmm), 0);
		assert_int_equal(mu_order_at(mm, b + MU_PAGES(nr)), 0);
		assert_int_equal(mu_order_at(mm, end - MU_PAGE), 0);
		/* nothing queued: the scan frees nothing */
		scan_expect(e.pmm, mm, b, end, 8, 0);
		pmm_mm_destroy(mm);
		tu_buddy_assert_fresh(e.pmm, &e.fresh);
	}
	mu_finish(&e);
}

static void test_partial_unmap_queues_and_scan(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++)
		for (int model = 0; model < 2; model++)
			partial_unmap(mu_modes[m], (enum pmm_mapcount_model)model);
}

/* An order-1 folio is never queued; its unmapped page waits for the other. */
static void test_order1_never_queued(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		struct mu_env e;
		pmm_mm_t *mm;

		mu_env(&e, 64);
		mm = mu_mm(e.pmm, mu_modes[m], PMM_MAPCOUNT_PER_PAGE);
		populate(mm, MU_BASE, 8, 1);
		mu_unmap(mm, MU_BASE + MU_PAGE, MU_PAGE);
		mu_unmap(mm, MU_BASE + MU_PAGES(4), MU_PAGE);
		assert_int_equal(mu_deferred(e.pmm), 0);
		assert_int_equal(pmm_deferred_split_scan(e.pmm, 100), 0);
		assert_int_equal(mu_order_at(mm, MU_BASE), 1);
		tu_assert_conserved(e.pmm, 8 + mu_stats(mm).pgtable_pages);
		/* folio [0, 2) is now wholly unmapped: freed */
		mu_unmap(mm, MU_BASE, MU_PAGE);
		tu_assert_conserved(e.pmm, 6 + mu_stats(mm).pgtable_pages);
		assert_tags(mm, MU_BASE, MU_BASE + MU_PAGES(8));
		pmm_mm_destroy(mm);
		mu_finish(&e);
	}
}

/* ------------------------------------------------------------------------
 * 2. Whole folios never queue
 * ------------------------------------------------------------------------ */

/*
 * Unmapping whole folios (one, several, with the VMA around them, and at
 * exit) leaves nothing queued in every mode; in RANGES and ENCODED the
 * queue's lock is never taken, in PER_PAGE it is (the folio is queued
 * after its first page goes and unqueued when it is freed), which shows
 * that the counter counts. After fork, the child's exit touches nothing
 * in any mode (every page keeps the parent's mapping).
 */
static void whole_folios(enum pmm_gather_mode mode, enum pmm_mapcount_model model)
{
	static const unsigned int orders[] = { 2, 4, 9 };
	struct mu_env e;

	mu_env(&e, 64);
	for (unsigned int i = 0; i < MU_ARRAY_SIZE(orders); i++) {
		const unsigned int k = orders[i];
		const uint64_t nr = 1ull << k, b = MU_BASE;
		pmm_mm_t *mm = mu_mm(e.pmm, mode, model), *child;
		uint64_t lock0, d;

		populate(mm, b, 6 * nr, k);

		lock0 = mu_deferred_split_lock(e.pmm);
		mu_unmap(mm, b + MU_PAGES(nr), MU_PAGES(nr));			/* folio 1 */
		assert_int_equal(mu_deferred(e.pmm), 0);
		mu_unmap(mm, b + MU_PAGES(3 * nr), MU_PAGES(2 * nr));		/* folios 3, 4 */
		assert_int_equal(mu_deferred(e.pmm), 0);
		d = mu_deferred_split_lock(e.pmm) - lock0;
		if (mode == PMM_GATHER_PER_PAGE)
			assert_true(d > 0);
		else
			assert_int_equal(d, 0);
		assert_tags(mm, b, b + MU_PAGES(6 * nr));
		assert_int_equal(mu_stats(mm).rss_anon, 3 * nr);
		tu_assert_conserved(e.pmm, 3 * nr + mu_stats(mm).pgtable_pages);

		/* fork, then the child's exit: every page keeps a mapping */
		child = mu_fork(mm);
		lock0 = mu_deferred_split_lock(e.pmm);
		pmm_mm_destroy(child);
		assert_int_equal(mu_deferred_split_lock(e.pmm) - lock0, 0);
		assert_int_equal(mu_deferred(e.pmm), 0);

		/* exit with whole folios only */
		lock0 = mu_deferred_split_lock(e.pmm);
		pmm_mm_destroy(mm);
		d = mu_deferred_split_lock(e.pmm) - lock0;
		if (mode != PMM_GATHER_PER_PAGE)
			assert_int_equal(d, 0);
		else
			assert_true(d > 0);
		assert_int_equal(mu_deferred(e.pmm), 0);
		tu_buddy_assert_fresh(e.pmm, &e.fresh);
	}
	mu_finish(&e);
}

static void test_whole_folio_unmap_never_queues(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++)
		for (int model = 0; model < 2; model++)
			whole_folios(mu_modes[m], (enum pmm_mapcount_model)model);
}

/* In RANGES and ENCODED a partial unmap does take the lock (the contrast). */
static void test_partial_unmap_takes_lock_in_every_mode(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		struct mu_env e;
		pmm_mm_t *mm;
		uint64_t lock0;

		mu_env(&e, 64);
		mm = mu_mm(e.pmm, mu_modes[m], PMM_MAPCOUNT_PER_PAGE);
		populate(mm, MU_BASE, 64, 4);
		lock0 = mu_deferred_split_lock(e.pmm);
		/* whole folio 0 and the first page of folio 1 */
		mu_unmap(mm, MU_BASE, MU_PAGES(17));
		assert_true(mu_deferred_split_lock(e.pmm) > lock0);
		assert_int_equal(mu_deferred(e.pmm), 1);
		pmm_mm_destroy(mm);
		mu_finish(&e);
	}
}

/* ------------------------------------------------------------------------
 * 3. Freed while queued
 * ------------------------------------------------------------------------ */

/*
 * A queued folio whose last mapped pages go is freed and leaves the
 * queue: by an unmap of the rest, by an unmap that covers it and its
 * neighbours, and by exit.
 */
static void test_freed_while_queued(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		for (int model = 0; model < 2; model++) {
			struct mu_env e;
			pmm_mm_t *mm;
			const uint64_t b = MU_BASE;

			mu_env(&e, 64);
			mm = mu_mm(e.pmm, mu_modes[m], (enum pmm_mapcount_model)model);
			populate(mm, b, 8 * 16, 4);
			mu_unmap(mm, b + MU_PAGES(3), MU_PAGES(5));		/* folio 0 */
			mu_unmap(mm, b + MU_PAGES(16 + 9), MU_PAGES(2));	/* folio 1 */
			mu_unmap(mm, b + MU_PAGES(64), MU_PAGES(1));		/* folio 4 */
			assert_int_equal(mu_deferred(e.pmm), 3);
			tu_assert_conserved(e.pmm, 128 + mu_stats(mm).pgtable_pages);

			/* the rest of folio 0 */
			mu_unmap(mm, b, MU_PAGES(3));
			mu_unmap(mm, b + MU_PAGES(8), MU_PAGES(8));
			assert_int_equal(mu_deferred(e.pmm), 2);
			tu_assert_conserved(e.pmm, 112 + mu_stats(mm).pgtable_pages);
			/*
			 * From inside folio 1 to the end of folio 3 in one call:
			 * folios 2 and 3 are freed whole, folio 1 keeps pages 16..19
			 * mapped and stays queued, as does folio 4.
			 */
			mu_unmap(mm, b + MU_PAGES(20), MU_PAGES(44));
			assert_int_equal(mu_deferred(e.pmm), 2);
			assert_int_equal(mu_stats(mm).rss_anon, 4 + 15 + 3 * 16);
			tu_assert_conserved(e.pmm, 16 + 16 + 3 * 16 + mu_stats(mm).pgtable_pages);
			/* exit with folio 4 queued */
			pmm_mm_destroy(mm);
			assert_int_equal(mu_deferred(e.pmm), 0);
			mu_finish(&e);
		}
	}
}

/* ------------------------------------------------------------------------
 * 4. nr_to_scan
 * ------------------------------------------------------------------------ */

/*
 * Three queued folios with 1, 2 and 3 unmapped pages: scan(0) does
 * nothing, scan(1) splits exactly one (freeing its unmapped pages, so one
 * of 1, 2, 3), and so on; the three returns are 1, 2 and 3 in some order.
 */
static void test_scan_limit(void **state)
{
	struct mu_env e;
	pmm_mm_t *mm;
	const uint64_t b = MU_BASE, end = b + MU_PAGES(32);
	uint64_t seen = 0, total = 0;

	(void)state;
	mu_env(&e, 64);
	mm = mu_mm(e.pmm, PMM_GATHER_ENCODED, PMM_MAPCOUNT_PER_PAGE);
	populate(mm, b, 32, 3);
	mu_unmap(mm, b, MU_PAGES(1));
	mu_unmap(mm, b + MU_PAGES(8), MU_PAGES(2));
	mu_unmap(mm, b + MU_PAGES(16), MU_PAGES(3));
	assert_int_equal(mu_deferred(e.pmm), 3);
	pmm_lru_add_drain(e.pmm);
	assert_int_equal(pmm_deferred_split_scan(e.pmm, 0), 0);
	assert_int_equal(mu_deferred(e.pmm), 3);
	for (uint64_t left = 3; left > 0; left--) {
		uint64_t free0 = mu_free(e.pmm);
		unsigned long got = pmm_deferred_split_scan(e.pmm, 1);

		assert_true(got >= 1 && got <= 3);
		assert_int_equal(seen & (1u << got), 0);
		seen |= 1u << got;
		total += got;
		assert_int_equal(mu_free(e.pmm) - free0, got);
		assert_int_equal(mu_deferred(e.pmm), left - 1);
		assert_tags(mm, b, end);
	}
	assert_int_equal(total, 6);
	assert_int_equal(pmm_deferred_split_scan(e.pmm, 100), 0);
	{
		const struct mu_range r = { b, end };

		mu_assert_rmap(e.pmm, &mm, 1, &r, 1, PMM_MAPCOUNT_PER_PAGE, false);
	}
	tu_assert_conserved(e.pmm, 26 + mu_stats(mm).pgtable_pages);
	pmm_mm_destroy(mm);
	mu_finish(&e);
}

/*
 * A page pinned with pmm_mm_get_page keeps its folio whole: the scan
 * leaves a queued folio alone while the pin is there (its count is more
 * than the mappings and the queue make), and splits it once the pin is
 * put. Bad input takes no reference: NULL mm, an address past 2^47,
 * nothing mapped.
 */
static void test_pinned_folio_not_split(void **state)
{
	struct mu_env e;
	pmm_mm_t *mm;
	struct pmm_page *pin;
	const uint64_t b = MU_BASE;

	(void)state;
	mu_env(&e, 64);
	mm = mu_mm(e.pmm, PMM_GATHER_RANGES, PMM_MAPCOUNT_PER_PAGE);
	populate(mm, b, 8, 3);
	assert_null(pmm_mm_get_page(NULL, b));
	assert_null(pmm_mm_get_page(mm, MU_USER_END));
	assert_null(pmm_mm_get_page(mm, UINT64_MAX));
	assert_null(pmm_mm_get_page(mm, b + MU_PAGES(8)));	/* outside the VMA */
	mu_unmap(mm, b, MU_PAGES(2));
	assert_int_equal(mu_deferred(e.pmm), 1);
	assert_null(pmm_mm_get_page(mm, b));		/* unmapped now */
	pmm_lru_add_drain(e.pmm);
	pin = pmm_mm_get_page(mm, b + MU_PAGES(5) + 123);
	assert_ptr_equal(pin, pmm_mm_lookup(mm, b + MU_PAGES(5)));
	assert_int_equal(pmm_page_count(pin), 6 + 1 + 1);	/* PTEs, the queue, the pin */
	assert_int_equal(pmm_deferred_split_scan(e.pmm, 100), 0);
	assert_int_equal(mu_order_at(mm, b + MU_PAGES(5)), 3);
	pmm_put_page(e.pmm, pin);
	assert_int_equal(pmm_deferred_split_scan(e.pmm, 100), 2);
	assert_int_equal(mu_order_at(mm, b + MU_PAGES(5)), 0);
	assert_tags(mm, b + MU_PAGES(2), b + MU_PAGES(8));
	pmm_mm_destroy(mm);
	mu_finish(&e);
}

/* ------------------------------------------------------------------------
 * 5. After fork
 * ------------------------------------------------------------------------ */

/*
 * Fork, the child COWs one page of an order-4 folio: not queued (the
 * parent still maps the old page). The parent's exit then leaves that page
 * unmapped: queued, and the scan frees exactly it. Likewise when the child
 * unmaps half of a folio and the parent exits.
 */
static void test_fork_then_exit_queues(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		for (int model = 0; model < 2; model++) {
			struct mu_env e;
			pmm_mm_t *parent, *child;
			const uint64_t b = MU_BASE, end = b + MU_PAGES(48);

			mu_env(&e, 64);
			parent = mu_mm(e.pmm, mu_modes[m], (enum pmm_mapcount_model)model);
			populate(parent, b, 48, 4);
			child = mu_fork(parent);
			/* folio 0: the child copies page 3 */
			mu_fault(child, b + MU_PAGES(3), true);
			assert_int_equal(mu_stats(child).cow_faults, 1);
			/* folio 1: the child unmaps its second half */
			mu_unmap(child, b + MU_PAGES(24), MU_PAGES(8));
			/* folio 2: untouched */
			assert_int_equal(mu_deferred(e.pmm), 0);

			pmm_mm_destroy(parent);
			assert_int_equal(mu_deferred(e.pmm), 2);
			scan_expect(e.pmm, child, b, end, 100, 1 + 8);
			assert_int_equal(mu_deferred(e.pmm), 0);
			assert_int_equal(mu_order_at(child, b), 0);
			assert_int_equal(mu_order_at(child, b + MU_PAGES(16)), 0);
			assert_int_equal(mu_order_at(child, b + MU_PAGES(32)), 4);
			{
				const struct mu_range r = { b, end };

				mu_assert_rmap(e.pmm, &child, 1, &r, 1, (enum pmm_mapcount_model)model,
					       false);
			}
			tu_assert_conserved(e.pmm, 40 + mu_stats(child).pgtable_pages);
			pmm_mm_destroy(child);
			mu_finish(&e);
		}
	}
}

/*
 * Where the models differ: the child unmaps pages 8..15 of a folio, the
 * parent unmaps 8..11. Pages 8..11 are mapped by no one, so the per-page
 * model queues the folio; the folio model sees 20 mappings for 16 pages
 * and may not. Either way a scan frees 4 pages per folio queued, and
 * teardown frees everything.
 */
static void test_models_partial_after_fork(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		for (int model = 0; model < 2; model++) {
			struct mu_env e;
			pmm_mm_t *parent, *child, *both[2];
			const uint64_t b = MU_BASE, end = b + MU_PAGES(16);
			const struct mu_range r = { b, end };
			uint64_t q;

			mu_env(&e, 64);
			parent = mu_mm(e.pmm, mu_modes[m], (enum pmm_mapcount_model)model);
			populate(parent, b, 16, 4);
			child = mu_fork(parent);
			mu_unmap(child, b + MU_PAGES(8), MU_PAGES(8));
			assert_int_equal(mu_deferred(e.pmm), 0);
			mu_unmap(parent, b + MU_PAGES(8), MU_PAGES(4));
			q = mu_deferred(e.pmm);
			if (model == PMM_MAPCOUNT_PER_PAGE)
				assert_int_equal(q, 1);
			else
				assert_true(q <= 1);
			both[0] = parent;
			both[1] = child;
			mu_assert_rmap(e.pmm, both, 2, &r, 1, (enum pmm_mapcount_model)model, false);
			scan_expect(e.pmm, parent, b, end, 10, 4 * q);
			assert_tags(child, b, end);
			mu_assert_rmap(e.pmm, both, 2, &r, 1, (enum pmm_mapcount_model)model, false);
			pmm_mm_destroy(child);
			pmm_mm_destroy(parent);
			mu_finish(&e);
		}
	}
}

/* ------------------------------------------------------------------------
 * 6. Allocation pressure reaches the queue
 * ------------------------------------------------------------------------ */

/*
 * 24 order-9 folios each keep one page mapped: 24 x 511 frames wait on the
 * queue. Allocating order-0 pages until the allocator gives up gets more
 * than was free before: the shrinker split queued folios.
 */
static void test_shrinker_reaches_deferred_split(void **state)
{
	struct mu_env e;
	struct tu_list l = { 0 };
	pmm_mm_t *mm;
	uint64_t free0, got;
	const uint64_t b = MU_BASE, folios = 24;

	(void)state;
	mu_env(&e, 64);
	mm = mu_mm(e.pmm, PMM_GATHER_RANGES, PMM_MAPCOUNT_PER_PAGE);
	populate(mm, b, folios * 512, 9);
	for (uint64_t i = 0; i < folios; i++)
		mu_unmap(mm, b + MU_PAGES(i * 512 + 1), MU_PAGES(511));
	assert_int_equal(mu_deferred(e.pmm), folios);
	pmm_lru_add_drain(e.pmm);
	free0 = mu_free(e.pmm);
	assert_true(free0 < folios * 511);

	got = tu_fill_exhaust(e.pmm, &l, PMM_GFP_KERNEL, 0);
	print_message("free before %" PRIu64 ", allocated %" PRIu64 ", still queued %" PRIu64
		      "\n", free0, got, mu_deferred(e.pmm));
	assert_true(got >= free0 + 511);
	assert_true(mu_deferred(e.pmm) < folios);
	/* the mapped pages survived the splits */
	assert_tags(mm, b, b + MU_PAGES(folios * 512));
	assert_int_equal(mu_stats(mm).rss_anon, folios);
	tu_free_all(e.pmm, &l);
	tu_list_free(&l);
	pmm_mm_destroy(mm);
	mu_finish(&e);
}

/*
 * The same pressure from the address space's own faults: the allocations
 * of a fault (and of a fork) hold the mm's lock, and the shrinker they
 * reach still splits the folios that mm maps, as the kernel's scan needs
 * none of the locks a faulting thread holds.
 */
static void test_fault_reclaims_own_queued_folios(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		struct mu_env e;
		pmm_mm_t *mm, *child;
		const uint64_t b = MU_BASE, b2 = MU_BASE + MU_PUD_SIZE, folios = 24;
		uint64_t free0, split0;

		mu_env(&e, 64);
		mm = mu_mm(e.pmm, mu_modes[m], PMM_MAPCOUNT_PER_PAGE);
		populate(mm, b, folios * 512, 9);
		for (uint64_t i = 0; i < folios; i++)
			mu_unmap(mm, b + MU_PAGES(i * 512 + 1), MU_PAGES(511));
		assert_int_equal(mu_deferred(e.pmm), folios);
		pmm_lru_add_drain(e.pmm);
		free0 = mu_free(e.pmm);
		split0 = tu_stats(e.pmm).split_folios;
		/* more than is free: only splitting the queued folios makes room */
		mu_map(mm, b2, MU_PAGES(free0 + 2 * 511), 0, RWP);
		assert_true(tu_stats(e.pmm).split_folios > split0);
		assert_tags(mm, b, b + MU_PAGES(folios * 512));
		/* a fork under the same pressure reclaims the same way */
		mu_unmap(mm, b2, MU_PAGES(free0 + 2 * 511));
		mu_map(mm, b2, MU_PAGES(1024), 9, RWP);
		mu_unmap(mm, b2 + MU_PAGES(1), MU_PAGES(511));
		mu_unmap(mm, b2 + MU_PAGES(513), MU_PAGES(511));
		pmm_lru_add_drain(e.pmm);
		{
			struct tu_list l = { 0 };

			tu_fill_exhaust(e.pmm, &l, PMM_GFP_NOWAIT, 0);	/* leave the queue as the only room */
			split0 = tu_stats(e.pmm).split_folios;
			child = mu_fork(mm);
			assert_true(tu_stats(e.pmm).split_folios > split0);
			pmm_mm_destroy(child);
			tu_free_all(e.pmm, &l);
			tu_list_free(&l);
		}
		pmm_mm_destroy(mm);
		mu_finish(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partial_unmap_queues_and_scan),
		cmocka_unit_test(test_order1_never_queued),
		cmocka_unit_test(test_whole_folio_unmap_never_queues),
		cmocka_unit_test(test_partial_unmap_takes_lock_in_every_mode),
		cmocka_unit_test(test_freed_while_queued),
		cmocka_unit_test(test_scan_limit),
		cmocka_unit_test(test_fork_then_exit_queues),
		cmocka_unit_test(test_models_partial_after_fork),
		cmocka_unit_test(test_shrinker_reaches_deferred_split),
		cmocka_unit_test(test_fault_reclaims_own_queued_folios),
		cmocka_unit_test(test_pinned_folio_not_split),
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
