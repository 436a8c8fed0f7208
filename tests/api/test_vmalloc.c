/* SPDX-License-Identifier: MIT */
/*
 * test_vmalloc.c - vmalloc through pmm.h only (design.md section 7, pmm.h
 * "vmalloc"): the bytes an area maps, the pages behind it (high-order
 * blocks split to order 0, the fallback to smaller orders and to the bulk
 * allocator under fragmentation), one mmap per pfn run, exhaustion of
 * memory, vzalloc over dirtied frames, node preference, every entry
 * point's accounting, and vfree's two free paths. The window's side
 * (alignment, guard pages, window exhaustion, lazy purge), vmap and
 * vmallocinfo are test_vmalloc_areas.c; bad input and the other backings
 * test_vmalloc_bad.c; fault injection and threads test_vmalloc_stress.c.
 *
 * Every scenario ends with vu_assert_idle() (purged: no area, the whole
 * window free) and tu_finish() (pmm_check() == 0, every frame free, no
 * bad-page report, and where the instance was never fragmented by the
 * test, buddyinfo equal to the fresh instance's).
 *
 * Contract points these tests rely on beyond the prototypes (pmm.h says
 * them, section "vmalloc"):
 *  - While areas are live the frames in use are their pages plus at most
 *    one per area (docs/design.md section 13: the page array is a frame
 *    when it fits in one): vu_assert_in_use(). Once freed, every frame is
 *    back (tu_assert_conserved).
 *  - Pages come as the largest non-compound blocks that fit, never above
 *    the order the remaining size needs nor max_order, largest first, each
 *    split to order 0 (refcount 1 each); a failed order is retried one
 *    lower; the order-0 rest comes from pmm_alloc_pages_bulk(). So on an
 *    instance with every order free, an area of n pages is, in area order,
 *    blocks of order min(floor(log2(left)), max_order), each naturally
 *    aligned and pfn-consecutive (test_fresh_blocks).
 *  - map_calls counts one mmap per run of consecutive pfns in area order.
 *  - vfree frees the frames at once; only the address range waits for a
 *    purge (the stale mapping "still reaches the freed frames"), so free
 *    frames are back right after pmm_vfree(), before any purge.
 *  - nr_areas counts live areas (a freed, lazy one is not live);
 *    nr_vmalloc_pages counts pmm_vmalloc() pages only, not vmap pages.
 *  - vfree's batched path is pmm_free_pages_bulk(): one contig_chunks per
 *    aligned chunk of each pfn run; with contig_per_page none.
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "vm_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PS 4096ul	/* tu_config() instances: 4 KiB pages */

/* ------------------------------------------------------------------------
 * Local helpers
 * ------------------------------------------------------------------------ */

/*
 * fragment - take every free frame at @order, then free every block whose
 * buddy at @order is held (the blocks with pfn bit @order clear), so that
 * nothing above @order can form. @held gets the blocks kept.
 */
static void fragment(pmm_t *pmm, struct tu_list *held, unsigned int order)
{
	struct tu_list all = { 0 };
	struct pmm_zone_info zi;

	tu_fill_exhaust(pmm, &all, PMM_GFP_KERNEL, order);
	for (size_t i = 0; i < all.n; i++) {
		if ((tu_pfn(pmm, all.v[i].page) >> order) & 1)
			tu_list_push(held, all.v[i].page, order, TU_PAGES, 0);
		else
			pmm_free_pages(pmm, all.v[i].page, order);
	}
	tu_list_free(&all);
	pmm_drain_all_pages(pmm);
	/* the fixture did what it says: free memory only at @order and below */
	for (unsigned int z = 0; z < pmm_nr_zones(pmm); z++) {
		tu_zone(pmm, z, &zi);
		for (unsigned int o = order + 1; o <= PMM_MAX_ORDER_LIMIT; o++)
			assert_int_equal(zi.nr_free[o], 0);
		assert_true(zi.nr_free[order] > 0);
	}
}

/*
 * assert_fresh_layout - @pages (an area of @n pages made while every order
 * was free) are, in area order, blocks of order min(floor(log2(left)),
 * max_order), each naturally aligned and consecutive.
 */
static void assert_fresh_layout(pmm_t *pmm, struct pmm_page **pages, size_t n)
{
	const unsigned int maxo = pmm_get_config(pmm)->max_order;
	size_t i = 0;

	while (i < n) {
		unsigned int o = 0;
		pmm_pfn_t first = tu_pfn(pmm, pages[i]);

		while (o < maxo && (2ul << o) <= n - i)
			o++;
		if (first & ((1ull << o) - 1))
			fail_msg("area of %zu pages: page %zu starts an order-%u block at pfn %#" PRIx64
				 ", not aligned", n, i, o, first);
		for (size_t j = 1; j < (1ul << o); j++)
			if (tu_pfn(pmm, pages[i + j]) != first + j)
				fail_msg("area of %zu pages: page %zu of the order-%u block from page %zu "
					 "is pfn %#" PRIx64 ", expected %#" PRIx64, n, i + j, o, i,
					 tu_pfn(pmm, pages[i + j]), first + j);
		i += 1ul << o;
	}
}

/* ------------------------------------------------------------------------
 * 1. Bytes: the vmalloc address and the direct map are the same memory
 * ------------------------------------------------------------------------ */

/*
 * Sizes from one byte to 2051 pages: each area is counted and mapped with
 * one mmap per pfn run; every word written through it reads back through
 * the direct map of its frame and vice versa; no area's writes reach
 * another's; vfree in random order gives each area's frames back at once.
 */
static void test_alias_bytes(void **state)
{
	static const size_t sizes[] = { 1, PS, PS + 1, 37 * PS, 512 * PS, 769 * PS - 100, 2051 * PS };
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 64);
	struct vu_area a[ARRAY_SIZE(sizes)];
	uint64_t held = 0;
	struct prng rng;

	tu_rng_init(&rng, "alias_bytes: vfree order", 1);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		a[i] = vu_vmalloc(pmm, sizes[i], PMM_GFP_KERNEL);
		assert_int_equal(a[i].pages, (sizes[i] + PS - 1) / PS);
		held += a[i].pages;
		vu_assert_in_use(pmm, held);
		vu_assert_alias(pmm, &a[i], 0x100 + i, PATTERN_ALL);
	}
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		vu_assert_pattern(pmm, &a[i], PATTERN_ALL);
	vu_assert_disjoint(pmm, a, ARRAY_SIZE(a));
	assert_int_equal(vu_stats(pmm).nr_vmalloc_pages, held);

	prng_shuffle(&rng, a, ARRAY_SIZE(a), sizeof(a[0]));
	for (size_t i = 0; i < ARRAY_SIZE(a); i++) {
		vu_assert_pattern(pmm, &a[i], PATTERN_ALL);
		held -= a[i].pages;
		vu_vfree(pmm, &a[i], true);
		vu_assert_in_use(pmm, held);
	}
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/*
 * 16 KiB pages: the memfd offsets and the area's page steps are the
 * instance's page size, not the host's.
 */
static void test_alias_16k_pages(void **state)
{
	struct tu_fx *fx = *state;
	struct pmm_config *cfg = tu_fx_config(fx, 64);
	struct vu_area a, b;
	pmm_t *pmm;

	cfg->page_shift = 14;
	cfg->regions[0].nr_pages = TU_MIB(64) >> 14;
	pmm = tu_fx_create(fx);
	assert_int_equal(pmm_page_size(pmm), 16384);
	a = vu_vmalloc(pmm, 3 * 16384 + 5, PMM_GFP_KERNEL);
	assert_int_equal(a.pages, 4);
	b = vu_vmalloc(pmm, 300 * 16384, PMM_GFP_KERNEL);
	vu_assert_disjoint(pmm, (struct vu_area[]){ a, b }, 2);
	vu_assert_alias(pmm, &a, 7, PATTERN_ALL);
	vu_assert_alias(pmm, &b, 8, PATTERN_ALL);
	vu_assert_pattern(pmm, &a, PATTERN_ALL);
	vu_assert_in_use(pmm, 304);
	vu_vfree(pmm, &a, true);
	vu_vfree(pmm, &b, true);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/* ------------------------------------------------------------------------
 * 2. Pages: high-order blocks, fallback under fragmentation
 * ------------------------------------------------------------------------ */

/*
 * With every order free, each area is its size's block decomposition,
 * largest first (assert_fresh_layout); a 2 MiB area is one order-9 block:
 * one pfn run, one mmap. vfree between sizes keeps the instance fresh.
 */
static void test_fresh_blocks(void **state)
{
	static const size_t npages[] = { 512, 769, 7, 2051, 1025, 3, 1024 + 512 + 256 + 1, 2 };
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 64);

	for (size_t i = 0; i < ARRAY_SIZE(npages); i++) {
		struct pmm_vmalloc_stats s0 = vu_stats(pmm);
		struct vu_area a = vu_vmalloc(pmm, npages[i] * PS, PMM_GFP_KERNEL);
		struct pmm_page **pages = vu_area_pages(pmm, a.addr, a.pages);
		size_t longest, runs = vu_runs(pmm, pages, a.pages, &longest);

		print_message("%zu pages: %zu pfn runs, longest %zu\n", npages[i], runs, longest);
		assert_fresh_layout(pmm, pages, a.pages);
		if (npages[i] == 512) {
			assert_int_equal(runs, 1);
			assert_int_equal(vu_stats(pmm).map_calls - s0.map_calls, 1);
		}
		free(pages);
		vu_vfree(pmm, &a, true);
		tu_assert_conserved(pmm, 0);
	}
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/*
 * No block above order 2 can form (every other order-2 block held): an
 * 8 MiB + 3 pages area succeeds from order-2 blocks (its first 2048 pages
 * in aligned, consecutive quads) and smaller pages for the rest, in pfn
 * runs of at most 4 pages, one mmap each; its bytes alias; vfree gives
 * back exactly what it took.
 */
static void test_fallback_order2(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 64);
	struct tu_list held = { 0 };
	struct pmm_page **pages;
	struct vu_area a;
	size_t longest, runs;
	uint64_t f0;

	fragment(pmm, &held, 2);
	f0 = tu_free_after_drain(pmm);
	print_message("fragmented: %" PRIu64 " free frames, all in blocks of order <= 2\n", f0);
	a = vu_vmalloc(pmm, (2048 + 3) * PS, PMM_GFP_KERNEL);
	vu_assert_in_use(pmm, tu_list_frames(&held) + a.pages);
	pages = vu_area_pages(pmm, a.addr, a.pages);
	runs = vu_runs(pmm, pages, a.pages, &longest);
	print_message("8 MiB + 3 pages: %zu pfn runs, longest %zu\n", runs, longest);
	assert_true(longest <= 4);
	assert_true(runs >= (a.pages + 3) / 4);
	for (size_t i = 0; i < 2048; i += 4) {
		pmm_pfn_t first = tu_pfn(pmm, pages[i]);

		if (first % 4)
			fail_msg("page %zu: pfn %#" PRIx64 " does not start an order-2 block", i, first);
		for (size_t j = 1; j < 4; j++)
			assert_int_equal(tu_pfn(pmm, pages[i + j]), first + j);
	}
	free(pages);
	vu_assert_alias(pmm, &a, 0x22, PATTERN_ALL);
	vu_vfree(pmm, &a, true);
	assert_int_equal(tu_free_after_drain(pmm), f0);
	vu_assert_idle(pmm);
	tu_free_all(pmm, &held);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/*
 * Only isolated order-0 frames free (every other pfn held): a 4 MiB area
 * comes from the bulk allocator, page by page, every page a frame that
 * was free, every pfn run one page long: 1024 runs, 1024 mmaps.
 */
static void test_fallback_order0(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 32);
	struct tu_list held = { 0 };
	struct pmm_vmalloc_stats s0;
	struct pmm_page **pages;
	struct vu_area a;
	uint64_t f0;

	fragment(pmm, &held, 0);
	f0 = tu_free_after_drain(pmm);
	s0 = vu_stats(pmm);
	a = vu_vmalloc(pmm, 1024 * PS, PMM_GFP_KERNEL);
	pages = vu_area_pages(pmm, a.addr, a.pages);
	assert_int_equal(vu_runs(pmm, pages, a.pages, NULL), 1024);
	assert_int_equal(vu_stats(pmm).map_calls - s0.map_calls, 1024);
	for (size_t i = 0; i < a.pages; i++)
		assert_int_equal(tu_pfn(pmm, pages[i]) & 1, 0);	/* the frames fragment() freed */
	free(pages);
	vu_assert_in_use(pmm, tu_list_frames(&held) + 1024);
	vu_assert_alias(pmm, &a, 0x20, PATTERN_ALL);
	vu_vfree(pmm, &a, true);
	assert_int_equal(tu_free_after_drain(pmm), f0);
	vu_assert_idle(pmm);
	tu_free_all(pmm, &held);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/* ------------------------------------------------------------------------
 * 3. Exhaustion of memory
 * ------------------------------------------------------------------------ */

/*
 * A vmalloc bigger than free memory (by one page: it fails part-way, after
 * taking every frame; and twice the instance) returns NULL and takes
 * nothing: free frames and the area counters as before, and after a purge
 * the window whole. A live area is untouched by the failure; the instance
 * then serves a vmalloc that fits.
 */
static void test_exhaust_memory(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 64);
	struct pmm_vmalloc_stats s0 = vu_stats(pmm), s1;
	uint64_t f0 = tu_free_after_drain(pmm);
	const size_t too_big[] = { (f0 + 1) * PS, 2 * pmm_managed_frames(pmm) * PS };
	struct pmm_page **before, **after;
	struct vu_area a, b;

	for (size_t i = 0; i < ARRAY_SIZE(too_big); i++) {
		assert_null(pmm_vmalloc(pmm, too_big[i], PMM_GFP_KERNEL | PMM_GFP_NOWARN));
		assert_null(pmm_vzalloc(pmm, too_big[i], PMM_GFP_NOWARN));
		assert_int_equal(tu_free_after_drain(pmm), f0);
		s1 = vu_stats(pmm);
		assert_int_equal(s1.nr_areas, s0.nr_areas);
		assert_int_equal(s1.nr_vmalloc_pages, s0.nr_vmalloc_pages);
		tu_check(pmm);
		vu_assert_idle(pmm);
	}

	a = vu_vmalloc(pmm, 16 * PS, PMM_GFP_KERNEL);
	vu_assert_alias(pmm, &a, 0x33, PATTERN_ALL);
	before = vu_area_pages(pmm, a.addr, a.pages);
	f0 = tu_free_after_drain(pmm);
	assert_null(pmm_vmalloc(pmm, (f0 + 1) * PS, PMM_GFP_NOWARN));
	assert_int_equal(tu_free_after_drain(pmm), f0);
	after = vu_area_pages(pmm, a.addr, a.pages);
	assert_memory_equal(before, after, a.pages * sizeof(*before));
	vu_assert_pattern(pmm, &a, PATTERN_ALL);
	assert_int_equal(vu_stats(pmm).nr_areas, 1);
	free(before);
	free(after);

	b = vu_vmalloc(pmm, f0 / 2 * PS, PMM_GFP_KERNEL);
	vu_assert_alias(pmm, &b, 0x34, PATTERN_SAMPLED);
	vu_assert_in_use(pmm, a.pages + b.pages);
	vu_vfree(pmm, &b, true);
	vu_vfree(pmm, &a, true);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/* ------------------------------------------------------------------------
 * 4. Zeroed memory
 * ------------------------------------------------------------------------ */

/*
 * Every frame of the instance is dirtied and freed; then pmm_vzalloc and
 * pmm_vmalloc(PMM_GFP_ZERO) areas read zero through both addresses, and
 * so does a vzalloc after a vmalloc area was filled and freed.
 */
static void test_vzalloc_dirty(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 16);
	struct tu_list all = { 0 };
	struct vu_area a;

	tu_fill_exhaust(pmm, &all, PMM_GFP_KERNEL, 0);
	for (size_t i = 0; i < all.n; i++)
		tu_pattern_write(pmm, all.v[i].page, 0, 0xd1e7 + i);
	tu_free_all(pmm, &all);
	assert_int_equal(pmm_free_frames(pmm), pmm_managed_frames(pmm));

	a = (struct vu_area){ .pages = 2048 };
	{
		struct pmm_vmalloc_stats s0 = vu_stats(pmm);

		a.addr = pmm_vzalloc(pmm, 2048 * PS, PMM_GFP_KERNEL);
		vu_check_new(pmm, &a, &s0, true);
	}
	vu_assert_zero(pmm, &a);
	vu_write(pmm, &a, 0x5eed, PATTERN_ALL);
	vu_vfree(pmm, &a, true);

	a = vu_vmalloc(pmm, 3000 * PS, PMM_GFP_ZERO);
	vu_assert_zero(pmm, &a);
	vu_write(pmm, &a, 0x5eee, PATTERN_ALL);
	vu_vfree(pmm, &a, true);
	pmm_vmalloc_purge(pmm);

	/* every frame has held a pattern by now; zeroing is not "fresh memfd pages" */
	a = (struct vu_area){ .pages = pmm_managed_frames(pmm) - 16 };
	a.addr = pmm_vzalloc(pmm, a.pages * PS, PMM_GFP_KERNEL);
	assert_non_null(a.addr);
	vu_assert_zero(pmm, &a);
	vu_vfree(pmm, &a, true);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/* ------------------------------------------------------------------------
 * 5. Nodes
 * ------------------------------------------------------------------------ */

/*
 * Two nodes of 16 MiB: pmm_vmalloc_node and pmm_vmalloc_node_range take
 * every page of a 301-page area (orders 8, 5, 3, 2 and an order-0 tail)
 * from the node asked for while it has room; PMM_NUMA_NO_NODE is the
 * calling CPU's node (0); an area larger than the node takes all of it
 * and spills to the other one, unless PMM_GFP_THISNODE (then NULL, and
 * an area that fits takes node 1's pages only).
 */
static void test_vmalloc_node(void **state)
{
	struct tu_fx *fx = *state;
	struct pmm_config *cfg = tu_fx_contig_config(fx, 16);
	struct vu_area a[4];
	pmm_t *pmm;

	tu_config_region(cfg, 0, TU_BASE_PFN, 4096, 0);
	tu_config_region(cfg, 1, TU_BASE_PFN + 8192, 4096, 1);
	pmm = tu_fx_create(fx);
	tu_set_cpu(0);
	for (int round = 0; round < 2; round++) {
		for (int nid = -1; nid <= 1; nid++) {
			struct pmm_vmalloc_stats s0 = vu_stats(pmm);
			struct vu_area v = { .pages = 301 };
			struct pmm_page **pages;

			v.addr = round ? pmm_vmalloc_node_range(pmm, 301 * PS, 0, PMM_GFP_KERNEL, nid,
								"test_vmalloc_node")
				       : pmm_vmalloc_node(pmm, 301 * PS, PMM_GFP_KERNEL, nid);
			vu_check_new(pmm, &v, &s0, true);
			pages = vu_area_pages(pmm, v.addr, v.pages);
			for (size_t i = 0; i < v.pages; i++)
				assert_int_equal(pmm_page_nid(pmm, pages[i]), nid < 0 ? 0 : nid);
			free(pages);
			vu_assert_alias(pmm, &v, 0x40 + nid, PATTERN_SAMPLED);
			a[nid + 1] = v;
		}
		for (int i = 0; i < 3; i++)
			vu_vfree(pmm, &a[i], true);
	}

	/* 24 MiB preferring node 1 (16 MiB): all of node 1, the rest from node 0 */
	{
		struct pmm_vmalloc_stats s0 = vu_stats(pmm);
		struct pmm_page **pages;
		size_t on[2] = { 0, 0 };

		/* node 1 whole again: its frames back from the pcp lists, in order-10 blocks */
		pmm_drain_all_pages(pmm);
		a[3] = (struct vu_area){ .pages = 6144 };
		a[3].addr = pmm_vmalloc_node(pmm, 6144 * PS, PMM_GFP_KERNEL, 1);
		vu_check_new(pmm, &a[3], &s0, true);
		pages = vu_area_pages(pmm, a[3].addr, a[3].pages);
		for (size_t i = 0; i < a[3].pages; i++)
			on[pmm_page_nid(pmm, pages[i])]++;
		free(pages);
		print_message("24 MiB on node 1 first: %zu pages on node 0, %zu on node 1\n", on[0], on[1]);
		assert_int_equal(on[1], 4096);
		assert_int_equal(on[0], 2048);
		vu_assert_alias(pmm, &a[3], 0x44, PATTERN_SAMPLED);
		vu_vfree(pmm, &a[3], true);
	}

	/* PMM_GFP_THISNODE: 24 MiB cannot come from node 1 alone; 8 MiB + 1 page can */
	{
		struct pmm_vmalloc_stats s0;
		struct pmm_page **pages;
		uint64_t f0 = tu_free_after_drain(pmm);

		assert_null(pmm_vmalloc_node(pmm, 6144 * PS, PMM_GFP_THISNODE | PMM_GFP_NOWARN, 1));
		assert_int_equal(tu_free_after_drain(pmm), f0);
		vu_assert_idle(pmm);
		s0 = vu_stats(pmm);
		a[3] = (struct vu_area){ .pages = 2049 };
		a[3].addr = pmm_vmalloc_node(pmm, 2049 * PS, PMM_GFP_THISNODE, 1);
		vu_check_new(pmm, &a[3], &s0, true);
		pages = vu_area_pages(pmm, a[3].addr, a[3].pages);
		for (size_t i = 0; i < a[3].pages; i++)
			assert_int_equal(pmm_page_nid(pmm, pages[i]), 1);
		free(pages);
		vu_vfree(pmm, &a[3], true);
	}
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/*
 * Every allocating entry point counts its pages in nr_vmalloc_pages
 * (pmm_vzalloc, pmm_vmalloc_node, pmm_vmalloc_huge, node_range) and vfree
 * takes them off; GFP flags: PMM_GFP_COMP is ignored (order-0 pages, not a
 * folio), MOVABLE and NOWARN work.
 */
static void test_entry_points_and_gfp(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 32);
	struct vu_area a[6];
	uint64_t total = 0;

	for (int i = 0; i < 6; i++) {
		struct pmm_vmalloc_stats s0 = vu_stats(pmm);
		size_t size = (size_t)(3 + 50 * i) * PS;

		a[i] = (struct vu_area){ .pages = size / PS };
		switch (i) {
		case 0: a[i].addr = pmm_vmalloc(pmm, size, PMM_GFP_COMP); break;
		case 1: a[i].addr = pmm_vmalloc(pmm, size, PMM_GFP_MOVABLE | PMM_GFP_NOWARN); break;
		case 2: a[i].addr = pmm_vzalloc(pmm, size, PMM_GFP_COMP); break;
		case 3: a[i].addr = pmm_vmalloc_node(pmm, size, PMM_GFP_KERNEL, 0); break;
		case 4: a[i].addr = pmm_vmalloc_huge(pmm, size, PMM_GFP_KERNEL); break;
		default:
			a[i].addr = pmm_vmalloc_node_range(pmm, size, 0, PMM_GFP_COMP, PMM_NUMA_NO_NODE, NULL);
			break;
		}
		vu_check_new(pmm, &a[i], &s0, true);
		if (i == 2)
			vu_assert_zero(pmm, &a[i]);
		vu_assert_alias(pmm, &a[i], 0x60 + i, PATTERN_ALL);
		total += a[i].pages;
		assert_int_equal(vu_stats(pmm).nr_vmalloc_pages, total);
	}
	vu_assert_in_use(pmm, total);
	for (int i = 0; i < 6; i++)
		vu_vfree(pmm, &a[i], true);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/* ------------------------------------------------------------------------
 * 6. vfree's two free paths
 * ------------------------------------------------------------------------ */

/*
 * The same areas freed batched (pmm_free_pages_bulk: contig chunks per
 * pfn run) or page by page (contig_per_page: no contig chunk): pgalloc
 * and pgfree move by the areas' pages either way (plus the page array's
 * frame for areas of up to 512 pages); the batched
 * path frees a 2 MiB area of one order-9 block as exactly one chunk, and
 * any area in at most the chunks of its runs in area order (sorting may
 * only merge runs); the end state is the fresh instance's either way.
 */
static void test_vfree_paths(void **state)
{
	static const size_t npages[] = { 512, 769, 1, 7, 2051, 300 };
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 64);
	const bool per_page = fx->v.per_page;
	struct vu_area a[ARRAY_SIZE(npages)];
	unsigned long chunks[ARRAY_SIZE(npages)];
	uint64_t total = 0;

	for (size_t i = 0; i < ARRAY_SIZE(npages); i++) {
		struct pmm_stats s0 = tu_stats(pmm), s1;
		struct pmm_page **pages;

		a[i] = vu_vmalloc(pmm, npages[i] * PS, PMM_GFP_KERNEL);
		s1 = tu_stats(pmm);
		/* the pages, and the page array when it is a frame (design.md section 13) */
		assert_in_range(s1.pgalloc - s0.pgalloc, npages[i], npages[i] + 1);
		pages = vu_area_pages(pmm, a[i].addr, a[i].pages);
		chunks[i] = vu_chunks(pmm, pages, a[i].pages);
		free(pages);
		vu_write(pmm, &a[i], 0x70 + i, PATTERN_SAMPLED);
		total += npages[i];
	}
	vu_assert_in_use(pmm, total);
	for (size_t i = 0; i < ARRAY_SIZE(npages); i++) {
		struct pmm_stats s0 = tu_stats(pmm), s1;
		uint64_t done;

		vu_assert_pattern(pmm, &a[i], PATTERN_SAMPLED);
		vu_vfree(pmm, &a[i], true);
		s1 = tu_stats(pmm);
		done = s1.contig_chunks - s0.contig_chunks;
		print_message("%s: %zu pages freed in %" PRIu64 " contig chunks (runs in area order: %lu)\n",
			      per_page ? "per-page" : "batched", npages[i], done, chunks[i]);
		assert_in_range(s1.pgfree - s0.pgfree, npages[i], npages[i] + 1);
		if (per_page)
			assert_int_equal(done, 0);
		else if (npages[i] == 512)
			assert_int_equal(done, 1);
		else
			assert_true(done >= 1 && done <= chunks[i]);
		total -= npages[i];
		vu_assert_in_use(pmm, total);
	}
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/*
 * vmalloc_times: free_step_ns stays 0 without it, and grows with each
 * vfree with it (a count of nanoseconds, not a duration test: any
 * positive value passes).
 */
static void test_vfree_times(void **state)
{
	struct tu_fx *fx = *state;
	struct vu_area a;
	pmm_t *pmm;

	for (int on = 0; on < 2; on++) {
		uint64_t t0;

		tu_fx_contig_config(fx, 16)->vmalloc_times = on;
		pmm = tu_fx_create(fx);
		a = vu_vmalloc(pmm, 512 * PS, PMM_GFP_KERNEL);
		t0 = vu_stats(pmm).free_step_ns;
		assert_int_equal(t0, 0);
		vu_vfree(pmm, &a, true);
		if (on)
			assert_true(vu_stats(pmm).free_step_ns > t0);
		else
			assert_int_equal(vu_stats(pmm).free_step_ns, 0);
		vu_assert_idle(pmm);
		tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		TU_CONTIG_TESTS(test_alias_bytes),
		TU_TEST(test_alias_16k_pages),
		TU_MEMMAP_TESTS(test_fresh_blocks),
		TU_CONTIG_TESTS(test_fallback_order2),
		TU_MEMMAP_TESTS(test_fallback_order0),
		TU_CONTIG_TESTS(test_exhaust_memory),
		TU_PCP_TESTS(test_vzalloc_dirty),
		TU_MEMMAP_TESTS(test_vmalloc_node),
		TU_TEST(test_entry_points_and_gfp),
		TU_CONTIG_TESTS(test_vfree_paths),
		TU_TEST(test_vfree_times),
	};

	return tu_main(argc, argv, tests);
}
