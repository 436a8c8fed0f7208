/* SPDX-License-Identifier: MIT */
/*
 * test_mm_swap_lru.c - the swap cache and the LRU through pmm.h only
 * (design.md section 6).
 *
 * Swap cache: pmm_mm_swapcache_add() puts each folio mapped in the range
 * in the cache once (pmm_swapcache_nr() counts folios; a folio of 2^k
 * pages gains 2^k references); teardown drops a folio from the cache once
 * its last mapping goes; after every mm is destroyed the cache is empty
 * and every frame is free.
 *
 * LRU: each faulted folio goes onto its node's LRU through a per-CPU add
 * batch; pmm_lru_add_drain() empties every CPU's batch; after a drain the
 * LRU holds exactly the folios some mm maps (and lru_pages their pages),
 * per node.
 *
 * Every scenario ends with every mm destroyed, pmm_check() == 0 and
 * buddyinfo equal to the fresh instance's (mu_finish).
 *
 * Contract points these tests rely on beyond the prototypes:
 *  - A folio any page of which is mapped in the range goes into the swap
 *    cache whole (a folio is cached as a unit), also when the range covers
 *    only part of it; pages of the range that are not mapped are skipped
 *    (no error).
 *  - Splitting a swap-cached folio (the deferred split scan) leaves each
 *    mapped page in the swap cache as an order-0 folio (one reference
 *    each) and frees the unmapped pages, as the kernel's split does
 *    (__split_huge_page keeps the swap entries, free_page_and_swap_cache
 *    drops the unmapped pages), so pmm_swapcache_nr() counts the pages
 *    that stay mapped.
 *  - A COW copy is a new folio that is not in the swap cache.
 *  - Faults allocate on the calling CPU's node (cpu_to_node), as
 *    pmm_alloc_pages does by default; the per-node test uses it to put
 *    folios on node 1, and otherwise checks every node against where each
 *    folio really is (pmm_page_nid).
 *  - lru_inactive_anon / lru_active_anon are not asserted separately (which
 *    list a new anonymous folio joins is the implementation's choice).
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "mm_util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define RW (PMM_MAP_WRITE)
#define RWP (PMM_MAP_WRITE | PMM_MAP_POPULATE)

/* Expected LRU contents: the distinct folios the mms map in @r. */
static void assert_lru_is_mapped(pmm_t *pmm, pmm_mm_t *const *mms, size_t n,
				 const struct mu_range *r, size_t nr)
{
	struct mu_folios s = { 0 };
	struct mu_lru lru;

	for (size_t m = 0; m < n; m++)
		for (size_t i = 0; i < nr; i++)
			mu_folios_add(&s, mms[m], r[i].start, r[i].end);
	lru = mu_lru(pmm);
	if (lru.folios != mu_folios_count(&s) || lru.pages != mu_folios_pages(&s))
		print_message("LRU %" PRIu64 " folios / %" PRIu64 " pages; mapped %" PRIu64
			      " folios / %" PRIu64 " pages\n", lru.folios, lru.pages,
			      mu_folios_count(&s), mu_folios_pages(&s));
	assert_int_equal(lru.folios, mu_folios_count(&s));
	assert_int_equal(lru.pages, mu_folios_pages(&s));
	mu_folios_free(&s);
}

/* ------------------------------------------------------------------------
 * 1. Swap cache
 * ------------------------------------------------------------------------ */

/*
 * Every folio of the range once, with one more reference per page; a
 * second call changes nothing; a range covering part of a folio adds the
 * whole folio; unfaulted pages add nothing; a range of the whole address
 * space adds every folio mapped.
 */
static void test_swapcache_add_counts(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		const struct mu_range r[] = {
			{ MU_BASE + MU_PAGES(3), MU_BASE + MU_PAGES(103) },
			{ MU_BASE + MU_PUD_SIZE, MU_BASE + MU_PUD_SIZE + MU_PAGES(64) },
		};
		struct mu_env e;
		pmm_mm_t *mm;
		uint64_t folios;

		mu_env(&e, 64);
		mm = mu_mm(e.pmm, mu_modes[m], PMM_MAPCOUNT_PER_PAGE);
		mu_map(mm, r[0].start, r[0].end - r[0].start, 4, RWP);
		folios = mu_layout_folios(r[0].start, r[0].end, 4);
		assert_int_equal(pmm_swapcache_nr(e.pmm), 0);
		assert_int_equal(mu_assert_rmap(e.pmm, &mm, 1, r, 1, PMM_MAPCOUNT_PER_PAGE, true), 0);

		assert_int_equal(pmm_mm_swapcache_add(mm, r[0].start, r[0].end - r[0].start), 0);
		assert_int_equal(pmm_swapcache_nr(e.pmm), folios);
		assert_int_equal(mu_assert_rmap(e.pmm, &mm, 1, r, 1, PMM_MAPCOUNT_PER_PAGE, true),
				 folios);
		pmm_lru_add_drain(e.pmm);
		assert_int_equal(pmm_page_count(pmm_mm_lookup(mm, MU_BASE + MU_PAGES(16))), 32);
		/* again: nothing changes */
		assert_int_equal(pmm_mm_swapcache_add(mm, r[0].start, r[0].end - r[0].start), 0);
		assert_int_equal(pmm_swapcache_nr(e.pmm), folios);
		assert_int_equal(pmm_page_count(pmm_mm_lookup(mm, MU_BASE + MU_PAGES(16))), 32);

		/* a VMA with nothing faulted yet, then two pages of one folio */
		mu_map(mm, r[1].start, r[1].end - r[1].start, 4, RW);
		assert_int_equal(pmm_mm_swapcache_add(mm, r[1].start, r[1].end - r[1].start), 0);
		assert_int_equal(pmm_swapcache_nr(e.pmm), folios);
		mu_fault(mm, r[1].start + MU_PAGES(20), true);
		mu_fault(mm, r[1].start + MU_PAGES(40), true);
		assert_int_equal(pmm_mm_swapcache_add(mm, r[1].start + MU_PAGES(21), MU_PAGES(2)), 0);
		assert_int_equal(pmm_swapcache_nr(e.pmm), folios + 1);
		pmm_lru_add_drain(e.pmm);
		assert_int_equal(pmm_page_count(pmm_mm_lookup(mm, r[1].start + MU_PAGES(16))), 32);
		assert_int_equal(pmm_page_count(pmm_mm_lookup(mm, r[1].start + MU_PAGES(32))), 16);
		assert_int_equal(mu_assert_rmap(e.pmm, &mm, 1, r, 2, PMM_MAPCOUNT_PER_PAGE, true),
				 folios + 1);
		/* cached folios still count only their mapped pages as RSS */
		assert_int_equal(mu_stats(mm).rss_anon, 100 + 32);
		/*
		 * The whole user address space: the walk skips what no table
		 * maps (it used to visit all 2^35 of its pages under the mm
		 * lock), and the new folio at the very top is added as well.
		 */
		mu_map(mm, MU_USER_END - MU_PAGES(16), MU_PAGES(16), 4, RWP);
		assert_int_equal(pmm_mm_swapcache_add(mm, 0, MU_USER_END), 0);
		assert_int_equal(pmm_swapcache_nr(e.pmm), folios + 3);
		pmm_mm_destroy(mm);
		mu_finish(&e);
	}
}

/*
 * Teardown drops a cached folio once its last mapping goes: whole-folio
 * unmaps free it at once, a partial unmap keeps it cached (it is still
 * mapped), the scan leaves the mapped pages cached as order-0 folios and
 * frees the others, exit empties the cache.
 */
static void swap_teardown(enum pmm_gather_mode mode, enum pmm_mapcount_model model)
{
	const uint64_t b = MU_BASE, end = b + MU_PAGES(128);
	const struct mu_range r = { b, end };
	struct mu_env e;
	pmm_mm_t *mm;
	uint64_t freed;

	mu_env(&e, 64);
	mm = mu_mm(e.pmm, mode, model);
	mu_map(mm, b, end - b, 4, RWP);
	for (uint64_t a = b; a < end; a += MU_PAGE)
		mu_write_tag(mm, a, a >> MU_PAGE_SHIFT);
	assert_int_equal(pmm_mm_swapcache_add(mm, b, end - b), 0);
	assert_int_equal(pmm_swapcache_nr(e.pmm), 8);
	/* the cache's references keep nothing extra allocated: frames = pages */
	tu_assert_conserved(e.pmm, 128 + mu_stats(mm).pgtable_pages);

	/* folios 0 and 1 whole: freed and uncached */
	mu_unmap(mm, b, MU_PAGES(32));
	assert_int_equal(pmm_swapcache_nr(e.pmm), 6);
	tu_assert_conserved(e.pmm, 96 + mu_stats(mm).pgtable_pages);
	/* folio 2 loses 5 pages: still mapped, still cached */
	mu_unmap(mm, b + MU_PAGES(32), MU_PAGES(5));
	assert_int_equal(pmm_swapcache_nr(e.pmm), 6);
	assert_int_equal(mu_deferred(e.pmm), 1);
	assert_int_equal(mu_assert_rmap(e.pmm, &mm, 1, &r, 1, model, true), 6);

	/* split: 11 mapped pages stay cached as 11 folios, 5 pages freed */
	pmm_lru_add_drain(e.pmm);
	freed = pmm_deferred_split_scan(e.pmm, 10);
	assert_int_equal(freed, 5);
	assert_int_equal(pmm_swapcache_nr(e.pmm), 5 + 11);
	assert_int_equal(mu_assert_rmap(e.pmm, &mm, 1, &r, 1, model, true), 5 + 11);
	for (uint64_t a = b + MU_PAGES(37); a < end; a += MU_PAGE)
		assert_int_equal(mu_read_tag(mm, a), a >> MU_PAGE_SHIFT);
	tu_assert_conserved(e.pmm, 91 + mu_stats(mm).pgtable_pages);

	/* unmapping a split page uncaches it */
	mu_unmap(mm, b + MU_PAGES(40), MU_PAGE);
	assert_int_equal(pmm_swapcache_nr(e.pmm), 5 + 10);
	pmm_mm_destroy(mm);
	assert_int_equal(pmm_swapcache_nr(e.pmm), 0);
	mu_finish(&e);
}

static void test_swapcache_dropped_at_teardown(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++)
		for (int model = 0; model < 2; model++)
			swap_teardown(mu_modes[m], (enum pmm_mapcount_model)model);
}

/*
 * After fork the cached folios are shared: adding them again from the
 * child changes nothing; a COW copy is not cached until added; the cache
 * keeps a folio while either side maps it, and is empty after both exit.
 */
static void test_swapcache_fork(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		const uint64_t b = MU_BASE, end = b + MU_PAGES(64);
		const struct mu_range r = { b, end };
		struct mu_env e;
		pmm_mm_t *parent, *child, *both[2];

		mu_env(&e, 64);
		parent = mu_mm(e.pmm, mu_modes[m], PMM_MAPCOUNT_PER_PAGE);
		mu_map(parent, b, MU_PAGES(32), 0, RWP);
		mu_map(parent, b + MU_PAGES(32), MU_PAGES(32), 4, RWP);
		assert_int_equal(pmm_mm_swapcache_add(parent, b, end - b), 0);
		assert_int_equal(pmm_swapcache_nr(e.pmm), 32 + 2);
		child = mu_fork(parent);
		both[0] = parent;
		both[1] = child;
		assert_int_equal(pmm_mm_swapcache_add(child, b, end - b), 0);
		assert_int_equal(pmm_swapcache_nr(e.pmm), 34);
		assert_int_equal(mu_assert_rmap(e.pmm, both, 2, &r, 1, PMM_MAPCOUNT_PER_PAGE, true), 34);

		/* COW copies of an order-0 and of a large folio's page */
		mu_fault(child, b + MU_PAGES(3), true);
		mu_fault(child, b + MU_PAGES(40), true);
		assert_int_equal(mu_stats(child).cow_faults, 2);
		assert_int_equal(pmm_swapcache_nr(e.pmm), 34);
		assert_int_equal(mu_assert_rmap(e.pmm, both, 2, &r, 1, PMM_MAPCOUNT_PER_PAGE, true), 34);
		assert_int_equal(pmm_mm_swapcache_add(child, b + MU_PAGES(3), MU_PAGE), 0);
		assert_int_equal(pmm_swapcache_nr(e.pmm), 35);

		/* the child exits: its copy leaves the cache, the shared ones stay */
		pmm_mm_destroy(child);
		assert_int_equal(pmm_swapcache_nr(e.pmm), 34);
		assert_int_equal(mu_assert_rmap(e.pmm, &parent, 1, &r, 1, PMM_MAPCOUNT_PER_PAGE, true),
				 34);
		pmm_mm_destroy(parent);
		assert_int_equal(pmm_swapcache_nr(e.pmm), 0);
		mu_finish(&e);
	}
}

/* The parent exits first: every cached folio the child maps stays cached. */
static void test_swapcache_parent_exits_first(void **state)
{
	const uint64_t b = MU_BASE, end = b + MU_PAGES(48);
	const struct mu_range r = { b, end };
	struct mu_env e;
	pmm_mm_t *parent, *child;

	(void)state;
	mu_env(&e, 64);
	parent = mu_mm(e.pmm, PMM_GATHER_ENCODED, PMM_MAPCOUNT_FOLIO);
	mu_map(parent, b, end - b, 4, RWP);
	assert_int_equal(pmm_mm_swapcache_add(parent, b, end - b), 0);
	child = mu_fork(parent);
	mu_unmap(child, b, MU_PAGES(16));	/* folio 0: only the parent maps it now */
	pmm_mm_destroy(parent);
	assert_int_equal(pmm_swapcache_nr(e.pmm), 2);
	assert_int_equal(mu_assert_rmap(e.pmm, &child, 1, &r, 1, PMM_MAPCOUNT_FOLIO, true), 2);
	tu_assert_conserved(e.pmm, 32 + mu_stats(child).pgtable_pages);
	pmm_mm_destroy(child);
	mu_finish(&e);
}

/* ------------------------------------------------------------------------
 * 2. LRU
 * ------------------------------------------------------------------------ */

/*
 * After a drain the LRU holds exactly the mapped folios: after faults of
 * mixed orders, after fork (no change), after COW (one order-0 folio
 * more), after a partial unmap (the folio stays whole on the LRU), after
 * the scan (only mapped pages left) and after teardown (empty).
 */
static void lru_sizes(enum pmm_gather_mode mode, enum pmm_mapcount_model model)
{
	const struct mu_range r[] = {
		{ MU_BASE, MU_BASE + MU_PAGES(40) },
		{ MU_BASE + MU_PUD_SIZE + MU_PAGES(5), MU_BASE + MU_PUD_SIZE + MU_PAGES(300) },
		{ MU_BASE + 2 * MU_PUD_SIZE, MU_BASE + 2 * MU_PUD_SIZE + MU_PAGES(1024) },
	};
	static const unsigned int orders[] = { 0, 3, 9 };
	struct mu_env e;
	pmm_mm_t *mm[2];
	struct mu_lru lru, lru0;
	uint64_t q;

	mu_env(&e, 64);
	mm[0] = mu_mm(e.pmm, mode, model);
	for (unsigned int i = 0; i < MU_ARRAY_SIZE(r); i++)
		mu_map(mm[0], r[i].start, r[i].end - r[i].start, orders[i], i == 1 ? RW : RWP);
	for (uint64_t a = r[1].start; a < r[1].end; a += 3 * MU_PAGE)
		mu_fault(mm[0], a, false);
	assert_lru_is_mapped(e.pmm, mm, 1, r, 3);
	lru0 = mu_lru(e.pmm);
	assert_int_equal(lru0.pages, mu_stats(mm[0]).rss_anon);

	mm[1] = mu_fork(mm[0]);
	lru = mu_lru(e.pmm);
	assert_int_equal(lru.folios, lru0.folios);
	assert_int_equal(lru.pages, lru0.pages);
	mu_fault(mm[1], r[2].start + MU_PAGES(600), true);
	mu_fault(mm[0], r[0].start + MU_PAGES(2), true);
	lru = mu_lru(e.pmm);
	assert_int_equal(lru.folios, lru0.folios + 2);
	assert_int_equal(lru.pages, lru0.pages + 2);
	assert_lru_is_mapped(e.pmm, mm, 2, r, 3);

	/*
	 * Partial unmaps on both sides: pages 100..149 of the first order-9
	 * folio are mapped by no one (queued in the per-page model; the folio
	 * model sees 914 mappings for 512 pages and may not queue it). The
	 * folio stays whole on the LRU until the scan splits it.
	 */
	mu_unmap(mm[0], r[2].start + MU_PAGES(100), MU_PAGES(50));
	mu_unmap(mm[1], r[2].start + MU_PAGES(100), MU_PAGES(60));
	q = mu_deferred(e.pmm);
	if (model == PMM_MAPCOUNT_PER_PAGE)
		assert_int_equal(q, 1);
	else
		assert_true(q <= 1);
	lru = mu_lru(e.pmm);
	assert_int_equal(lru.pages, lru0.pages + 2);
	assert_lru_is_mapped(e.pmm, mm, 2, r, 3);
	assert_int_equal(pmm_deferred_split_scan(e.pmm, 10), 50 * q);
	assert_lru_is_mapped(e.pmm, mm, 2, r, 3);
	lru = mu_lru(e.pmm);
	assert_int_equal(lru.pages, lru0.pages + 2 - 50 * q);

	pmm_mm_destroy(mm[0]);
	assert_lru_is_mapped(e.pmm, &mm[1], 1, r, 3);
	mu_unmap(mm[1], r[1].start, r[1].end - r[1].start);
	assert_lru_is_mapped(e.pmm, &mm[1], 1, r, 3);
	pmm_mm_destroy(mm[1]);
	lru = mu_lru(e.pmm);
	assert_int_equal(lru.folios, 0);
	assert_int_equal(lru.pages, 0);
	mu_finish(&e);
}

static void test_lru_sizes(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++)
		for (int model = 0; model < 2; model++)
			lru_sizes(mu_modes[m], (enum pmm_mapcount_model)model);
}

/*
 * Faults on three CPUs fill three per-CPU add batches; one
 * pmm_lru_add_drain() empties all of them; teardown on another CPU than
 * the fault's still takes every folio off the LRU.
 */
static void test_lru_per_cpu_batches(void **state)
{
	struct pmm_config cfg;
	struct mu_env e;
	pmm_mm_t *mm[3];
	const struct mu_range r = { MU_BASE, MU_BASE + MU_PAGES(60) };

	(void)state;
	mu_config(&e, &cfg, 64);
	tu_config_cpus(&cfg, 3);
	mu_start(&e, &cfg);
	for (unsigned int c = 0; c < 3; c++) {
		tu_set_cpu(c);
		mm[c] = mu_mm(e.pmm, mu_modes[c], PMM_MAPCOUNT_PER_PAGE);
		mu_map(mm[c], r.start, r.end - r.start, c, RW);
		for (uint64_t a = r.start; a < r.end; a += MU_PAGES(5))
			mu_fault(mm[c], a, true);
	}
	/* one drain, from CPU 0, for every CPU's batch */
	tu_set_cpu(0);
	assert_lru_is_mapped(e.pmm, mm, 3, &r, 1);
	for (unsigned int c = 0; c < 3; c++) {
		tu_set_cpu((c + 1) % 3);
		pmm_mm_destroy(mm[c]);
	}
	tu_set_cpu(0);
	mu_finish(&e);
}

/*
 * Two nodes: folios faulted on CPU 1 (node 1) are on node 1's LRU, a
 * partial unmap of one of them queues it on node 1's deferred split queue;
 * every node's counts match where its folios are.
 */
static void test_lru_and_split_per_node(void **state)
{
	struct pmm_config cfg;
	struct mu_env e;
	pmm_mm_t *mm;
	const uint64_t b0 = MU_BASE, b1 = MU_BASE + MU_PUD_SIZE;
	uint64_t pages[2] = { 0 }, folios[2] = { 0 };

	(void)state;
	mu_config(&e, &cfg, 64);
	tu_config_region(&cfg, 1, TU_BASE_PFN + (TU_MIB(64) >> 12), TU_MIB(64) >> 12, 1);
	tu_config_cpus(&cfg, 2);
	cfg.cpu_to_node[1] = 1;
	mu_start(&e, &cfg);
	mm = mu_mm(e.pmm, PMM_GATHER_RANGES, PMM_MAPCOUNT_PER_PAGE);
	tu_set_cpu(0);
	mu_map(mm, b0, MU_PAGES(64), 4, RWP);
	tu_set_cpu(1);
	mu_map(mm, b1, MU_PAGES(64), 4, RWP);
	assert_int_equal(pmm_page_nid(e.pmm, pmm_mm_lookup(mm, b1)), 1);
	assert_int_equal(pmm_page_nid(e.pmm, pmm_mm_lookup(mm, b0)), 0);
	tu_set_cpu(0);
	pmm_lru_add_drain(e.pmm);
	for (uint64_t base = b0; base <= b1; base += MU_PUD_SIZE)
		for (uint64_t a = base; a < base + MU_PAGES(64); a += MU_PAGES(16)) {
			int nid = pmm_page_nid(e.pmm, pmm_mm_lookup(mm, a));

			assert_true(nid == 0 || nid == 1);
			folios[nid]++;
			pages[nid] += 16;
		}
	for (int nid = 0; nid < 2; nid++) {
		struct pmm_node_info ni = mu_node(e.pmm, nid);

		assert_int_equal(ni.lru_inactive_anon + ni.lru_active_anon, folios[nid]);
		assert_int_equal(ni.lru_pages, pages[nid]);
		assert_int_equal(ni.deferred_split, 0);
	}
	mu_unmap(mm, b1 + MU_PAGES(20), MU_PAGES(3));
	assert_int_equal(mu_node(e.pmm, 1).deferred_split, 1);
	assert_int_equal(mu_node(e.pmm, 0).deferred_split, 0);
	mu_unmap(mm, b0 + MU_PAGES(40), MU_PAGES(1));
	assert_int_equal(mu_node(e.pmm, 0).deferred_split, 1);
	assert_int_equal(mu_deferred(e.pmm), 2);
	pmm_lru_add_drain(e.pmm);
	assert_int_equal(pmm_deferred_split_scan(e.pmm, 10), 4);
	assert_int_equal(mu_node(e.pmm, 1).lru_pages, pages[1] - 3);
	assert_int_equal(mu_node(e.pmm, 0).lru_pages, pages[0] - 1);
	pmm_mm_destroy(mm);
	for (int nid = 0; nid < 2; nid++) {
		struct pmm_node_info ni = mu_node(e.pmm, nid);

		assert_int_equal(ni.lru_pages, 0);
		assert_int_equal(ni.deferred_split, 0);
	}
	mu_finish(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swapcache_add_counts),
		cmocka_unit_test(test_swapcache_dropped_at_teardown),
		cmocka_unit_test(test_swapcache_fork),
		cmocka_unit_test(test_swapcache_parent_exits_first),
		cmocka_unit_test(test_lru_sizes),
		cmocka_unit_test(test_lru_per_cpu_batches),
		cmocka_unit_test(test_lru_and_split_per_node),
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
