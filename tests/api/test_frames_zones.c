/* SPDX-License-Identifier: MIT */
/*
 * test_frames_zones.c - pfn <-> page translation in both memmap models,
 * zones and zone fallback, node fallback, watermarks (design.md 3, 4).
 */
#include "testutil.h"

#include <stdlib.h>

/*
 * Layout for the translation tests: 4 MiB sections, a region at pfn 0 that
 * ends mid-section, one that starts mid-section and straddles the DMA32
 * end, a second node beyond absent sections.
 */
#define FZ_DMA32_END 10000
static const struct {
	pmm_pfn_t start;
	uint64_t n;
	int nid;
} fz_regions[] = {
	{ 0, 3000, 0 },
	{ 5000, 7000, 0 },
	{ 16384 + 100, 5000, 1 },
};
#define FZ_NR (ARRAY_SIZE(fz_regions))

static int fz_region_of(pmm_pfn_t pfn)
{
	for (unsigned int i = 0; i < FZ_NR; i++)
		if (pfn >= fz_regions[i].start && pfn < fz_regions[i].start + fz_regions[i].n)
			return (int)i;
	return -1;
}

static void test_roundtrip(void **state)
{
	struct tu_fx *fx = *state;
	struct pmm_config *cfg = tu_fx_contig_config(fx, 16);
	pmm_t *pmm;
	pmm_pfn_t end = fz_regions[FZ_NR - 1].start + fz_regions[FZ_NR - 1].n;
	struct pmm_page *prev = NULL;
	uint64_t present = 0;

	cfg->backing = PMM_BACKING_NONE;
	cfg->dma32_end_pfn = FZ_DMA32_END;
	for (unsigned int i = 0; i < FZ_NR; i++)
		tu_config_region(cfg, i, fz_regions[i].start, fz_regions[i].n, fz_regions[i].nid);
	pmm = tu_fx_create(fx);
	assert_int_equal(pmm_nr_zones(pmm), 3);

	for (pmm_pfn_t pfn = 0; pfn < end + 3000; pfn++) {
		struct pmm_page *p = pmm_pfn_to_page(pmm, pfn);
		int r = fz_region_of(pfn);

		if (r < 0) {
			if (p)
				print_message("pfn %#llx outside every region has a page\n",
					      (unsigned long long)pfn);
			assert_null(p);
			prev = NULL;
			continue;
		}
		present++;
		assert_non_null(p);
		assert_int_equal(pmm_page_to_pfn(pmm, p), pfn);
		assert_ptr_not_equal(p, prev);
		assert_int_equal(pmm_page_nid(pmm, p), fz_regions[r].nid);
		assert_int_equal(pmm_page_zone(pmm, p),
				 pfn < FZ_DMA32_END ? PMM_ZONE_DMA32 : PMM_ZONE_NORMAL);
		assert_int_equal(pmm_page_count(p), 0);
		prev = p;
	}
	assert_int_equal(present, pmm_managed_frames(pmm));
	assert_null(pmm_pfn_to_page(pmm, UINT64_MAX));
	assert_null(pmm_pfn_to_page(pmm, 1ull << 40));
	assert_null(pmm_pfn_to_page(pmm, (1ull << 52) + 5));

	/* allocated pages translate back as well, in every zone */
	for (int nid = 0; nid < 2; nid++)
		for (unsigned int order = 0; order <= 10; order++) {
			struct pmm_page *p = pmm_alloc_pages_node(pmm, nid, PMM_GFP_KERNEL, order);
			pmm_pfn_t pfn;

			assert_non_null(p);
			pfn = pmm_page_to_pfn(pmm, p);
			assert_int_equal(pfn % (1u << order), 0);
			assert_ptr_equal(pmm_pfn_to_page(pmm, pfn), p);
			assert_int_equal(pmm_page_count(p), 1);
			for (uint64_t i = 0; i < (1u << order); i++)
				assert_true(fz_region_of(pfn + i) >= 0);
			pmm_free_pages(pmm, p, order);
		}
	tu_finish(pmm);
}

/*
 * The memmap is colored (meta_alloc_colored()): the record of a block of
 * order 2 and up never sits at its first byte's offset within 4 KiB, in
 * both memmap models, where the default metadata allocator's mappings are
 * page-aligned.
 */
static void test_head_record_off_data_offset(void **state)
{
	(void)state;
	for (int model = 0; model < 2; model++) {
		struct pmm_config cfg;
		pmm_t *pmm;

		tu_config(&cfg, 64, NULL);
		cfg.memmap = model ? PMM_MEMMAP_VMEMMAP : PMM_MEMMAP_SPARSE;
		pmm = tu_create(&cfg);
		for (unsigned int order = 2; order <= 9; order++) {
			struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, order);

			assert_non_null(p);
			assert_int_not_equal((uintptr_t)p % 4096,
					     (uintptr_t)pmm_page_address(pmm, p) % 4096);
			pmm_free_pages(pmm, p, order);
		}
		tu_finish(pmm);
	}
}

/*
 * dma32_end_pfn in the middle of the memory: DMA32 requests stay below it;
 * Normal requests use Normal first and then fall back to DMA32.
 */
static void test_zone_dma32_fallback(void **state)
{
	struct tu_fx *fx = *state;
	struct tu_list l = { 0 };
	pmm_t *pmm;
	struct pmm_zone_info zi[2];
	uint64_t normal = 0, dma32 = 0, normal_before_dma32 = 0;

	tu_fx_config(fx, 64);
	fx->cfg.backing = PMM_BACKING_NONE;
	fx->cfg.pcp_disable = true;
	tu_config_region(&fx->cfg, 0, 0, 16384, 0);
	fx->cfg.dma32_end_pfn = 8192;
	pmm = tu_fx_create(fx);
	assert_int_equal(pmm_nr_zones(pmm), 2);
	tu_zone(pmm, 0, &zi[0]);
	tu_zone(pmm, 1, &zi[1]);
	assert_true(zi[0].type != zi[1].type);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(zi[i].managed_pages, 8192);
		assert_int_equal(zi[i].start_pfn, zi[i].type == PMM_ZONE_DMA32 ? 0 : 8192);
		assert_string_equal(zi[i].name, zi[i].type == PMM_ZONE_DMA32 ? "DMA32" : "Normal");
	}
	const struct pmm_zone_info *zn = zi[0].type == PMM_ZONE_NORMAL ? &zi[0] : &zi[1];

	for (unsigned int order = 0; order <= 10; order++) {
		struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_DMA32, order);

		assert_non_null(p);
		assert_int_equal(pmm_page_zone(pmm, p), PMM_ZONE_DMA32);
		assert_true(tu_pfn(pmm, p) < 8192);
		pmm_free_pages(pmm, p, order);

		p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, order);
		assert_non_null(p);
		assert_int_equal(pmm_page_zone(pmm, p), PMM_ZONE_NORMAL);
		pmm_free_pages(pmm, p, order);
	}
	tu_buddy_assert_fresh(pmm, &fx->fresh);

	/* DMA32-only exhaustion leaves Normal untouched */
	assert_int_equal(tu_fill_exhaust(pmm, &l, PMM_GFP_DMA32, 0), 8192);
	for (size_t i = 0; i < l.n; i++)
		assert_int_equal(pmm_page_zone(pmm, l.v[i].page), PMM_ZONE_DMA32);
	assert_int_equal(pmm_free_frames(pmm), 8192);
	tu_check(pmm);
	tu_free_all(pmm, &l);
	tu_buddy_assert_fresh(pmm, &fx->fresh);

	/* Normal requests: all of Normal, then some of DMA32 */
	tu_fill_exhaust(pmm, &l, PMM_GFP_KERNEL, 0);
	for (size_t i = 0; i < l.n; i++) {
		if (pmm_page_zone(pmm, l.v[i].page) == PMM_ZONE_NORMAL) {
			normal++;
			if (!dma32)
				normal_before_dma32++;
		} else {
			assert_true(tu_pfn(pmm, l.v[i].page) < 8192);
			dma32++;
		}
	}
	print_message("normal %llu (before first dma32 %llu), dma32 %llu\n",
		      (unsigned long long)normal, (unsigned long long)normal_before_dma32,
		      (unsigned long long)dma32);
	assert_int_equal(normal, 8192);
	assert_true(dma32 > 0 && dma32 <= 8192);
	/* the fallback starts only once Normal is at its watermarks */
	assert_true(normal_before_dma32 + zn->wmark_high >= 8192);
	tu_check(pmm);
	tu_free_all(pmm, &l);
	tu_finish(pmm, .fresh = &fx->fresh);
}

/* Node fallback, and PMM_GFP_THISNODE refusing it. */
static void test_node_fallback(void **state)
{
	struct tu_fx *fx = *state;
	struct tu_list l = { 0 };
	pmm_t *pmm;
	struct pmm_page *p;
	uint64_t n = 0;

	tu_fx_config(fx, 16);
	fx->cfg.pcp_disable = true;
	tu_config_region(&fx->cfg, 0, TU_BASE_PFN, 4096, 0);
	tu_config_region(&fx->cfg, 1, TU_BASE_PFN + 65536, 4096, 1);
	pmm = tu_fx_create(fx);

	p = pmm_alloc_pages_node(pmm, 1, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	assert_int_equal(pmm_page_nid(pmm, p), 1);
	pmm_free_pages(pmm, p, 0);
	p = pmm_alloc_pages_node(pmm, -1, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	assert_int_equal(pmm_page_nid(pmm, p), 0);
	pmm_free_pages(pmm, p, 0);

	while ((p = pmm_alloc_pages_node(pmm, 1, PMM_GFP_THISNODE | PMM_GFP_NOWARN, 0))) {
		assert_int_equal(pmm_page_nid(pmm, p), 1);
		tu_list_push(&l, p, 0, TU_PAGES, 0);
		assert_true(++n <= 4096);
	}
	assert_int_equal(n, 4096);
	assert_int_equal(pmm_free_frames(pmm), 4096);
	assert_null(pmm_alloc_pages_node(pmm, 1, PMM_GFP_THISNODE, 0));
	assert_null(pmm_alloc_pages_node(pmm, 1, PMM_GFP_THISNODE, 3));

	for (unsigned int order = 0; order <= 3; order++) {
		p = pmm_alloc_pages_node(pmm, 1, PMM_GFP_KERNEL, order);
		assert_non_null(p);
		assert_int_equal(pmm_page_nid(pmm, p), 0);
		tu_list_push(&l, p, order, TU_PAGES, 0);
	}
	tu_check(pmm);
	tu_free_all(pmm, &l);
	tu_finish(pmm, .fresh = &fx->fresh);
}

static void test_watermarks(void **state)
{
	struct pmm_config cfg;
	struct tu_buddy fresh;
	struct tu_list l = { 0 };
	struct pmm_stats st;
	struct pmm_zone_info zi;
	pmm_t *pmm;
	struct pmm_page *p;
	uint64_t managed, plain = 0, atomic = 0;

	(void)state;
	tu_config(&cfg, 64, NULL);
	cfg.backing = PMM_BACKING_NONE;
	cfg.min_free_pages = 1024;
	pmm = tu_create(&cfg);
	managed = pmm_managed_frames(pmm);
	tu_zone(pmm, 0, &zi);
	assert_true(zi.wmark_min <= 1024 && zi.wmark_min + pmm_nr_zones(pmm) >= 1024);
	assert_true(zi.wmark_min <= zi.wmark_low && zi.wmark_low <= zi.wmark_high);
	tu_buddy_snap(pmm, &fresh);

	while ((p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 0))) {
		tu_list_push(&l, p, 0, TU_PAGES, 0);
		assert_true(++plain <= managed);
	}
	print_message("plain: %llu of %llu, free left %llu\n", (unsigned long long)plain,
		      (unsigned long long)managed, (unsigned long long)pmm_free_frames(pmm));
	assert_true(plain < managed);
	assert_true(pmm_free_frames(pmm) >= zi.wmark_min / 2);
	pmm_stats_get(pmm, &st);
	assert_true(st.alloc_fail >= 1);
	tu_check(pmm);

	/* the reserve below min is for ATOMIC */
	while ((p = pmm_alloc_pages(pmm, PMM_GFP_ATOMIC | PMM_GFP_NOWARN, 0))) {
		tu_list_push(&l, p, 0, TU_PAGES, 0);
		assert_true(++atomic <= managed);
	}
	print_message("atomic: %llu more, free left %llu\n", (unsigned long long)atomic,
		      (unsigned long long)pmm_free_frames(pmm));
	assert_true(atomic >= 1);
	assert_true(plain + atomic <= managed);
	assert_null(pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0));
	tu_check(pmm);
	tu_free_all(pmm, &l);
	tu_finish(pmm, .fresh = &fresh);

	/* PMM_AUTO resolves to a real reserve */
	tu_config(&cfg, 64, NULL);
	cfg.backing = PMM_BACKING_NONE;
	cfg.min_free_pages = PMM_AUTO;
	pmm = tu_create(&cfg);
	assert_true(pmm_get_config(pmm)->min_free_pages > 0);
	assert_true(pmm_get_config(pmm)->min_free_pages < pmm_managed_frames(pmm));
	tu_finish(pmm);
}

/* The shrinker tests' instance: 16 MiB, no backing, no pcp lists (frees reach the buddy). */
static pmm_t *shrinker_instance(void)
{
	struct pmm_config cfg;

	tu_config(&cfg, 16, NULL);
	cfg.backing = PMM_BACKING_NONE;
	cfg.pcp_disable = true;
	return tu_create(&cfg);
}

struct shrink_ctx {
	unsigned long calls;
	struct tu_list *give;	/* pages the shrinker may free */
};

static unsigned long shrink_cb(void *arg, pmm_t *pmm, unsigned long nr_to_scan)
{
	struct shrink_ctx *c = arg;
	unsigned long freed = 0;

	c->calls++;
	while (c->give && c->give->n && freed < nr_to_scan) {
		struct tu_alloc a = tu_list_take(c->give, c->give->n - 1);

		pmm_free_pages(pmm, a.page, a.order);
		freed++;
	}
	return freed;
}

/*
 * With memory exhausted, a shrinker that frees nothing does not make the
 * allocation hang (NULL comes back); one that frees pages lets it succeed;
 * NOWAIT never calls shrinkers.
 */
static void test_shrinker_no_hang(void **state)
{
	struct tu_list l = { 0 }, spare = { 0 };
	struct shrink_ctx c = { 0 };
	pmm_t *pmm;
	struct pmm_page *p;

	(void)state;
	pmm = shrinker_instance();
	assert_int_equal(pmm_register_shrinker(pmm, shrink_cb, &c), 0);
	tu_fill_exhaust(pmm, &l, PMM_GFP_NOWAIT, 0);
	assert_int_equal(c.calls, 0);

	assert_null(pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 0));
	assert_true(c.calls >= 1);

	for (int i = 0; i < 64; i++) {
		struct tu_alloc a = tu_list_take(&l, l.n - 1);

		tu_list_push(&spare, a.page, 0, TU_PAGES, 0);
	}
	c.give = &spare;
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	tu_list_push(&l, p, 0, TU_PAGES, 0);
	c.give = NULL;
	tu_free_all(pmm, &spare);
	tu_free_all(pmm, &l);
	tu_finish(pmm);
}

/*
 * A shrinker that allocates (here from the same exhausted instance): its
 * allocation fails without reclaiming again (the kernel's PF_MEMALLOC),
 * where it used to recurse until the stack overflowed; the next
 * allocation of the thread reclaims again, and a shrinker that frees while
 * it allocates still makes the outer allocation succeed.
 */
struct alloc_shrink_ctx {
	int calls, depth, max_depth;
	struct tu_list *give;		/* pages to free at the next call */
	struct pmm_page *got;		/* what its own allocation returned */
};

static unsigned long alloc_shrink_cb(void *arg, pmm_t *pmm, unsigned long nr)
{
	struct alloc_shrink_ctx *c = arg;
	struct pmm_page *p;
	unsigned long freed = 0;

	(void)nr;
	c->calls++;
	if (++c->depth > c->max_depth)
		c->max_depth = c->depth;
	while (c->give && c->give->n) {
		struct tu_alloc a = tu_list_take(c->give, c->give->n - 1);

		pmm_free_pages(pmm, a.page, 0);
		freed++;
	}
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 0);
	if (p && !c->got)
		c->got = p;
	else if (p)
		pmm_free_pages(pmm, p, 0);
	c->depth--;
	return freed;
}

static void test_shrinker_that_allocates(void **state)
{
	struct tu_list l = { 0 }, spare = { 0 };
	struct alloc_shrink_ctx c = { 0 };
	struct pmm_page *p;
	pmm_t *pmm;

	(void)state;
	pmm = shrinker_instance();
	assert_int_equal(pmm_register_shrinker(pmm, alloc_shrink_cb, &c), 0);
	tu_fill_exhaust(pmm, &l, PMM_GFP_NOWAIT, 0);

	assert_null(pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 0));
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.max_depth, 1);
	assert_null(c.got);
	assert_null(pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 0));
	assert_int_equal(c.calls, 2);		/* the thread reclaims again */

	/* It frees a page, then takes it itself: the outer allocation fails, nothing is lost. */
	tu_list_push(&spare, tu_list_take(&l, l.n - 1).page, 0, TU_PAGES, 0);
	c.give = &spare;
	assert_null(pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 0));
	assert_non_null(c.got);
	assert_int_equal(c.max_depth, 1);
	tu_list_push(&l, c.got, 0, TU_PAGES, 0);
	c.got = NULL;

	/* With two to give, one is left for the outer allocation. */
	for (int i = 0; i < 2; i++)
		tu_list_push(&spare, tu_list_take(&l, l.n - 1).page, 0, TU_PAGES, 0);
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	tu_list_push(&l, p, 0, TU_PAGES, 0);
	if (c.got)
		tu_list_push(&l, c.got, 0, TU_PAGES, 0);
	assert_int_equal(pmm_unregister_shrinker(pmm, alloc_shrink_cb, &c), 0);
	tu_free_all(pmm, &spare);
	tu_free_all(pmm, &l);
	tu_finish(pmm);
}

/* An unregistered shrinker is not called again; unknown ones are refused. */
static void test_shrinker_unregister(void **state)
{
	struct tu_list l = { 0 };
	struct shrink_ctx a = { 0 }, b = { 0 };
	pmm_t *pmm;

	(void)state;
	pmm = shrinker_instance();
	assert_int_equal(pmm_register_shrinker(pmm, shrink_cb, &a), 0);
	assert_int_equal(pmm_register_shrinker(pmm, shrink_cb, &b), 0);
	assert_int_equal(pmm_unregister_shrinker(pmm, shrink_cb, &a), 0);
	assert_int_equal(pmm_unregister_shrinker(pmm, shrink_cb, &a), -PMM_EINVAL);
	assert_int_equal(pmm_unregister_shrinker(pmm, NULL, NULL), -PMM_EINVAL);
	tu_fill_exhaust(pmm, &l, PMM_GFP_KERNEL, 0);
	assert_int_equal(a.calls, 0);
	assert_true(b.calls >= 1);
	assert_int_equal(pmm_unregister_shrinker(pmm, shrink_cb, &b), 0);
	b.calls = 0;
	assert_null(pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 0));
	assert_int_equal(b.calls, 0);
	tu_free_all(pmm, &l);
	tu_assert_conserved(pmm, 0);
	tu_list_free(&l);
	pmm_destroy(pmm);
}

/* cpu_to_node makes PMM_NUMA_NO_NODE (and pmm_alloc_pages) start at the CPU's node. */
static void test_local_node(void **state)
{
	struct pmm_config cfg;
	struct pmm_page *p, *bulk[8] = { 0 };
	pmm_t *pmm;

	(void)state;
	tu_config(&cfg, 16, NULL);
	tu_config_region(&cfg, 1, TU_BASE_PFN + 8192, 4096, 1);
	tu_config_cpus(&cfg, 2);
	cfg.cpu_to_node[1] = 1;
	pmm = tu_create(&cfg);
	for (unsigned int cpu = 0; cpu < 2; cpu++) {
		tu_set_cpu(cpu);
		p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
		assert_non_null(p);
		assert_int_equal(pmm_page_nid(pmm, p), (int)cpu);
		pmm_free_pages(pmm, p, 0);
		p = pmm_alloc_pages_node(pmm, PMM_NUMA_NO_NODE, PMM_GFP_KERNEL, 3);
		assert_non_null(p);
		assert_int_equal(pmm_page_nid(pmm, p), (int)cpu);
		pmm_free_pages(pmm, p, 3);
		assert_int_equal(pmm_alloc_pages_bulk(pmm, PMM_GFP_KERNEL, 8, bulk), 8);
		for (int i = 0; i < 8; i++) {
			assert_int_equal(pmm_page_nid(pmm, bulk[i]), (int)cpu);
			pmm_free_pages(pmm, bulk[i], 0);
			bulk[i] = NULL;
		}
	}
	tu_set_cpu(0);
	tu_assert_conserved(pmm, 0);
	pmm_destroy(pmm);

	tu_config(&cfg, 16, NULL);
	cfg.cpu_to_node[0] = PMM_MAX_NODES;
	assert_int_equal(pmm_create(&cfg, &pmm), -PMM_EINVAL);
}

/*
 * Callbacks run with no pmm lock held: a bad_page_fn and a log_fn that
 * drain, check and print the instance do not deadlock, from a free path,
 * from the bulk allocator and from pmm_check() itself.
 */
static void test_callbacks_may_reenter(void **state)
{
	struct tu_reenter r = { .check = true };
	struct pmm_config cfg;
	struct pmm_page *p, *bulk[4] = { 0 };
	pmm_t *pmm;

	(void)state;
	tu_config(&cfg, 16, NULL);
	tu_reenter_config(&cfg, &r);
	pmm = tu_create(&cfg);
	r.pmm = pmm;
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	pmm_free_pages(pmm, p, 0);
	pmm_free_pages(pmm, p, 0);		/* double free: a report */
	assert_true(r.calls >= 1);
	assert_int_equal(pmm_alloc_pages_bulk(pmm, PMM_GFP_KERNEL, 4, bulk), 4);
	pmm_free_pages_bulk(pmm, bulk, 4);
	pmm_free_pages_bulk(pmm, bulk, 4);	/* four more reports */
	assert_true(r.calls >= 5);
	r.pmm = NULL;
	tu_check(pmm);
	pmm_destroy(pmm);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		TU_MEMMAP_TESTS(test_roundtrip),
		TU_TEST(test_zone_dma32_fallback),
		TU_TEST(test_node_fallback),
		cmocka_unit_test(test_head_record_off_data_offset),
		cmocka_unit_test(test_watermarks),
		cmocka_unit_test(test_shrinker_no_hang),
		cmocka_unit_test(test_shrinker_that_allocates),
		cmocka_unit_test(test_shrinker_unregister),
		cmocka_unit_test(test_local_node),
		cmocka_unit_test(test_callbacks_may_reenter),
	};

	return tu_main(argc, argv, tests);
}
