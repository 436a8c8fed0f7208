/* SPDX-License-Identifier: MIT */
/*
 * test_instance.c - configuration, instance life cycle, memmap models,
 * backings and region layouts (design.md section 3), bad configs.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

/* Default config: the documented defaults, and create/destroy with them. */
static void test_defaults(void **state)
{
	struct pmm_config cfg;
	const struct pmm_config *rc;
	struct pmm_zone_info zi;
	pmm_t *pmm = NULL;

	(void)state;
	pmm_config_init(&cfg);
	assert_int_equal(cfg.page_shift, 12);
	assert_int_equal(cfg.section_shift, 27);
	assert_int_equal(cfg.max_order, 10);
	assert_int_equal(cfg.pageblock_order, 9);
	assert_int_equal(cfg.memmap, PMM_MEMMAP_SPARSE);
	assert_int_equal(cfg.backing, PMM_BACKING_MEMFD);

	assert_int_equal(pmm_create(NULL, &pmm), 0);
	assert_non_null(pmm);
	rc = pmm_get_config(pmm);
	assert_non_null(rc);
	assert_int_equal(rc->page_shift, 12);
	assert_int_equal(rc->max_order, 10);
	assert_int_equal(rc->pageblock_order, 9);
	assert_int_equal(rc->section_shift, 27);
	/* "defaults resolved": the implicit region and the computed knobs */
	assert_int_equal(rc->nr_regions, 1);
	assert_int_equal(rc->regions[0].start_pfn, 0x100000);
	assert_int_equal(rc->regions[0].nr_pages, (1ull << 30) >> 12);
	assert_true(rc->nr_cpus >= 1);
	assert_true(rc->min_free_pages != PMM_AUTO);
	assert_int_equal(rc->pcp_batch, 63);
	assert_true(rc->pcp_high >= rc->pcp_batch);

	assert_int_equal(pmm_page_size(pmm), 4096);
	assert_int_equal(pmm_managed_frames(pmm), (1ull << 30) >> 12);
	assert_int_equal(pmm_free_frames(pmm), pmm_managed_frames(pmm));
	assert_int_equal(pmm_leaked_frames(pmm), 0);
	/* 1 GiB at 4 GiB: one Normal zone on node 0 */
	assert_int_equal(pmm_nr_zones(pmm), 1);
	tu_zone(pmm, 0, &zi);
	assert_int_equal(zi.nid, 0);
	assert_int_equal(zi.type, PMM_ZONE_NORMAL);
	assert_int_equal(zi.managed_pages, (1ull << 30) >> 12);
	assert_int_equal(zi.nr_free[10], zi.managed_pages >> 10);
	assert_true(zi.wmark_min <= zi.wmark_low && zi.wmark_low <= zi.wmark_high);
	tu_check(pmm);

	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	tu_pattern_write(pmm, p, 0, 1);
	tu_pattern_verify(pmm, p, 0, 1);
	pmm_free_pages(pmm, p, 0);
	tu_finish(pmm);

	/* an edited-from-defaults config is equivalent */
	pmm = tu_create(&cfg);
	assert_int_equal(pmm_managed_frames(pmm), (1ull << 30) >> 12);
	tu_finish(pmm);

	pmm_destroy(NULL);
}

/* Instances share no state: pages, counters and memory stay apart. */
static void test_several_instances(void **state)
{
	struct pmm_config cfg[3];
	pmm_t *pmm[3];
	struct pmm_page *p[3][8];

	(void)state;
	tu_config(&cfg[0], 16, NULL);
	tu_config(&cfg[1], 64, NULL);
	cfg[1].backing = PMM_BACKING_NONE;
	tu_config(&cfg[2], 32, NULL);
	cfg[2].backing = PMM_BACKING_ANON;
	cfg[2].memmap = PMM_MEMMAP_VMEMMAP;
	for (int i = 0; i < 3; i++)
		pmm[i] = tu_create(&cfg[i]);

	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 8; k++) {
			p[i][k] = pmm_alloc_pages(pmm[i], PMM_GFP_KERNEL, (unsigned int)k % 4);
			assert_non_null(p[i][k]);
			tu_pattern_write(pmm[i], p[i][k], (unsigned int)k % 4, (uint64_t)(i * 8 + k + 1));
		}
	}
	for (int i = 0; i < 3; i++) {
		uint64_t used = 0;

		for (int k = 0; k < 8; k++)
			used += 1u << (k % 4);
		assert_int_equal(tu_free_after_drain(pmm[i]), pmm_managed_frames(pmm[i]) - used);
		tu_check(pmm[i]);
	}
	assert_int_equal(pmm_managed_frames(pmm[0]), TU_MIB(16) >> 12);
	assert_int_equal(pmm_managed_frames(pmm[1]), TU_MIB(64) >> 12);
	assert_int_equal(pmm_managed_frames(pmm[2]), TU_MIB(32) >> 12);
	/* same pfns in each instance, but distinct page structs and memory */
	assert_ptr_not_equal(pmm_pfn_to_page(pmm[0], TU_BASE_PFN), pmm_pfn_to_page(pmm[2], TU_BASE_PFN));
	assert_ptr_not_equal(pmm_page_address(pmm[0], p[0][0]), pmm_page_address(pmm[2], p[2][0]));

	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 8; k++) {
			tu_pattern_verify(pmm[i], p[i][k], (unsigned int)k % 4, (uint64_t)(i * 8 + k + 1));
			pmm_free_pages(pmm[i], p[i][k], (unsigned int)k % 4);
		}
	/* destroy out of creation order */
	tu_finish(pmm[1]);
	tu_finish(pmm[0]);
	tu_finish(pmm[2]);
}

/*
 * Small sections (4 MiB with max_order 10) so that a 64 MiB instance has
 * many, then every max-order block and the whole memory in order-0 pages.
 */
static void test_memmap_model(void **state)
{
	struct tu_fx *fx = *state;
	struct tu_list l = { 0 };
	pmm_t *pmm;
	size_t n;

	tu_fx_contig_config(fx, 64)->pcp_disable = true;
	pmm = tu_fx_create(fx);
	assert_int_equal(pmm_get_config(pmm)->memmap, fx->v.memmap);
	assert_int_equal(fx->fresh.z[0].nr_free[10], 16);

	n = tu_fill_exhaust(pmm, &l, PMM_GFP_KERNEL, 10);
	assert_int_equal(n, 16);
	for (size_t i = 0; i < l.n; i++) {
		assert_int_equal(tu_pfn(pmm, l.v[i].page) % 1024, 0);
		l.v[i].tag = i + 1;
		tu_pattern_write(pmm, l.v[i].page, 10, l.v[i].tag);
	}
	assert_int_equal(pmm_free_frames(pmm), 0);
	tu_check(pmm);
	tu_free_all(pmm, &l);
	tu_buddy_assert_fresh(pmm, &fx->fresh);

	n = tu_fill_exhaust(pmm, &l, PMM_GFP_KERNEL, 0);
	assert_int_equal(n, 16384);
	tu_check(pmm);
	tu_free_all(pmm, &l);
	tu_finish(pmm, .fresh = &fx->fresh);
}

/* Backed instances: a direct map that is linear inside a block, writable, and reversible. */
static void check_backed(pmm_t *pmm)
{
	size_t ps = pmm_page_size(pmm);
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 3);
	pmm_pfn_t pfn;
	char *a;
	int local;

	assert_non_null(p);
	pfn = tu_pfn(pmm, p);
	a = pmm_page_address(pmm, p);
	assert_non_null(a);
	for (unsigned int i = 0; i < 8; i++) {
		struct pmm_page *q = pmm_pfn_to_page(pmm, pfn + i);

		assert_ptr_equal(pmm_page_address(pmm, q), a + i * ps);
		assert_ptr_equal(pmm_virt_to_page(pmm, a + i * ps), q);
		assert_ptr_equal(pmm_virt_to_page(pmm, a + i * ps + ps / 2), q);
		assert_ptr_equal(pmm_virt_to_page(pmm, a + i * ps + ps - 1), q);
	}
	memset(a, 0x5a, 8 * ps);
	for (size_t i = 0; i < 8 * ps; i += 509)
		assert_int_equal((unsigned char)a[i], 0x5a);
	tu_pattern_write(pmm, p, 3, 77);
	tu_pattern_verify(pmm, p, 3, 77);
	assert_null(pmm_virt_to_page(pmm, &local));
	pmm_free_pages(pmm, p, 3);

	/* GFP_ZERO hands out zeroed memory even right after a dirty free */
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	memset(pmm_page_address(pmm, p), 0xff, ps);
	pmm_free_pages(pmm, p, 0);
	for (unsigned int order = 0; order <= 3; order++) {
		p = pmm_alloc_pages(pmm, PMM_GFP_ZERO, order);
		assert_non_null(p);
		for (unsigned int i = 0; i < (1u << order); i++) {
			const unsigned char *b = pmm_page_address(pmm, pmm_pfn_to_page(pmm, tu_pfn(pmm, p) + i));

			for (size_t k = 0; k < ps; k++)
				if (b[k]) {
					print_message("order %u page %u byte %zu = %#x\n", order, i, k, b[k]);
					fail();
				}
		}
		pmm_free_pages(pmm, p, order);
	}
}

static void test_backing_memfd(void **state)
{
	struct pmm_config cfg;
	pmm_t *pmm;

	(void)state;
	tu_config(&cfg, 16, NULL);
	cfg.backing = PMM_BACKING_MEMFD;
	pmm = tu_create(&cfg);
	check_backed(pmm);
	tu_finish(pmm);
}

static void test_backing_anon(void **state)
{
	struct pmm_config cfg;
	pmm_t *pmm;

	(void)state;
	for (int huge = 0; huge < 2; huge++) {
		tu_config(&cfg, 16, NULL);
		cfg.backing = PMM_BACKING_ANON;
		cfg.anon_hugepages = huge;
		pmm = tu_create(&cfg);
		check_backed(pmm);
		tu_finish(pmm);
	}
}

static void test_backing_none(void **state)
{
	struct pmm_config cfg;
	pmm_t *pmm;
	struct pmm_page *p;
	int local;

	(void)state;
	tu_config(&cfg, 64, NULL);
	cfg.backing = PMM_BACKING_NONE;
	pmm = tu_create(&cfg);
	for (pmm_pfn_t pfn = TU_BASE_PFN; pfn < TU_BASE_PFN + 16384; pfn += 97)
		assert_null(pmm_page_address(pmm, pmm_pfn_to_page(pmm, pfn)));
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 4);
	assert_non_null(p);
	assert_null(pmm_page_address(pmm, p));
	assert_null(pmm_virt_to_page(pmm, &local));
	assert_null(pmm_virt_to_page(pmm, NULL));
	/* GFP_ZERO has nothing to zero, but must still allocate */
	struct pmm_page *z = pmm_alloc_pages(pmm, PMM_GFP_ZERO, 2);
	assert_non_null(z);
	pmm_free_pages(pmm, z, 2);
	/* alloc_pages_exact returns an address: none to give here */
	assert_null(pmm_alloc_pages_exact(pmm, 3 * 4096, PMM_GFP_KERNEL));
	pmm_free_pages(pmm, p, 4);
	tu_finish(pmm);
}

/* USER backing: the caller's buffer is the direct map, lowest pfn first, holes included. */
static void test_backing_user(void **state)
{
	struct pmm_config cfg;
	pmm_t *pmm;
	const size_t ps = 4096;
	const pmm_pfn_t lo = 0x2000;
	const uint64_t n0 = 1000, gap = 600, n1 = 2500;
	size_t size = (n0 + gap + n1) * ps;
	unsigned char *buf = aligned_alloc(ps, size);

	(void)state;
	assert_non_null(buf);
	tu_config(&cfg, 16, NULL);
	cfg.section_shift = TU_SECTION_SHIFT;
	tu_config_region(&cfg, 0, lo, n0, 0);
	tu_config_region(&cfg, 1, lo + n0 + gap, n1, 0);
	cfg.backing = PMM_BACKING_USER;
	cfg.user_base = buf;
	cfg.user_size = size;
	pmm = tu_create(&cfg);
	assert_int_equal(pmm_managed_frames(pmm), n0 + n1);

	for (pmm_pfn_t pfn = lo; pfn < lo + n0 + gap + n1; pfn++) {
		struct pmm_page *pg = pmm_pfn_to_page(pmm, pfn);

		if (pfn >= lo + n0 && pfn < lo + n0 + gap) {
			assert_null(pg);
			continue;
		}
		assert_non_null(pg);
		assert_ptr_equal(pmm_page_address(pmm, pg), buf + (pfn - lo) * ps);
		assert_ptr_equal(pmm_virt_to_page(pmm, buf + (pfn - lo) * ps + 7), pg);
	}

	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2);
	assert_non_null(p);
	unsigned char *a = pmm_page_address(pmm, p);
	assert_true(a >= buf && a + 4 * ps <= buf + size);
	memset(a, 0xc3, 4 * ps);
	assert_int_equal(buf[(tu_pfn(pmm, p) - lo) * ps + 4 * ps - 1], 0xc3);
	pmm_free_pages(pmm, p, 2);
	tu_finish(pmm);
	/* the buffer stays the caller's: still writable after destroy */
	buf[0] = 1;
	free(buf);
}

/*
 * Regions with holes: zones span the holes but manage only the regions;
 * exhausting memory hands out each present frame once and no hole frame.
 */
static void test_regions_holes(void **state)
{
	struct tu_fx *fx = *state;
	struct tu_list l = { 0 };
	pmm_t *pmm;
	struct pmm_zone_info zi;
	const pmm_pfn_t b = TU_BASE_PFN;
	uint8_t *seen;

	tu_fx_config(fx, 16);
	fx->cfg.section_shift = TU_SECTION_SHIFT;
	fx->cfg.pcp_disable = true;
	tu_config_region(&fx->cfg, 0, b, 3000, 0);
	tu_config_region(&fx->cfg, 1, b + 5000, 2048, 0);	/* hole inside a section */
	tu_config_region(&fx->cfg, 2, b + 20480, 1500, 0);	/* absent sections between */
	pmm = tu_fx_create(fx);
	assert_int_equal(pmm_managed_frames(pmm), 3000 + 2048 + 1500);
	assert_int_equal(pmm_nr_zones(pmm), 1);
	tu_zone(pmm, 0, &zi);
	assert_int_equal(zi.start_pfn, b);
	assert_int_equal(zi.spanned_pages, 20480 + 1500);
	assert_int_equal(zi.managed_pages, 3000 + 2048 + 1500);
	assert_int_equal(zi.free_pages, zi.managed_pages);

	assert_int_equal(tu_fill_exhaust(pmm, &l, PMM_GFP_KERNEL, 0), 6548);
	seen = calloc(20480 + 1500, 1);
	assert_non_null(seen);
	for (size_t i = 0; i < l.n; i++) {
		pmm_pfn_t off = tu_pfn(pmm, l.v[i].page) - b;

		assert_true(off < 3000 || (off >= 5000 && off < 7048) || (off >= 20480 && off < 21980));
		assert_int_equal(seen[off], 0);
		seen[off] = 1;
	}
	free(seen);
	tu_check(pmm);
	tu_free_all(pmm, &l);
	tu_finish(pmm, .fresh = &fx->fresh);
}

/* A region at pfn 0 (no ffs(0) trouble): every frame, max-order blocks included. */
static void test_region_pfn0(void **state)
{
	struct tu_fx *fx = *state;
	struct tu_list l = { 0 };
	pmm_t *pmm;
	int got0 = 0;

	tu_config_region(tu_fx_contig_config(fx, 16), 0, 0, 4096 + 300, 0);
	fx->cfg.pcp_disable = true;
	pmm = tu_fx_create(fx);
	assert_non_null(pmm_pfn_to_page(pmm, 0));
	assert_int_equal(tu_pfn(pmm, pmm_pfn_to_page(pmm, 0)), 0);
	assert_int_equal(fx->fresh.z[0].nr_free[10], 4);

	assert_int_equal(tu_fill_exhaust(pmm, &l, PMM_GFP_KERNEL, 10), 4);
	tu_free_all(pmm, &l);
	assert_int_equal(tu_fill_exhaust(pmm, &l, PMM_GFP_KERNEL, 0), 4396);
	/* pfn 0 is handed out like any other frame */
	for (size_t i = 0; i < l.n; i++)
		got0 |= tu_pfn(pmm, l.v[i].page) == 0;
	assert_true(got0);
	tu_free_all(pmm, &l);
	tu_finish(pmm, .fresh = &fx->fresh);
}

/*
 * A region that is neither section- nor max-order-aligned at either end:
 * [1000, 6000) holds exactly four aligned order-10 blocks.
 */
static void test_region_unaligned(void **state)
{
	struct tu_fx *fx = *state;
	struct tu_list l = { 0 };
	pmm_t *pmm;

	tu_fx_config(fx, 16);
	fx->cfg.section_shift = TU_SECTION_SHIFT;
	fx->cfg.pcp_disable = true;
	tu_config_region(&fx->cfg, 0, 1000, 5000, 0);
	pmm = tu_fx_create(fx);
	assert_null(pmm_pfn_to_page(pmm, 999));
	assert_null(pmm_pfn_to_page(pmm, 6000));
	assert_non_null(pmm_pfn_to_page(pmm, 1000));
	assert_non_null(pmm_pfn_to_page(pmm, 5999));
	assert_int_equal(fx->fresh.z[0].nr_free[10], 4);
	/* 1000 = 8 * 125: the lowest block is order 3 */
	assert_int_equal(fx->fresh.z[0].nr_free[3] >= 1, 1);

	assert_int_equal(tu_fill_exhaust(pmm, &l, PMM_GFP_KERNEL, 10), 4);
	for (size_t i = 0; i < l.n; i++) {
		pmm_pfn_t pfn = tu_pfn(pmm, l.v[i].page);

		assert_int_equal(pfn % 1024, 0);
		assert_true(pfn >= 1024 && pfn + 1024 <= 6000);
	}
	assert_int_equal(tu_fill_exhaust(pmm, &l, PMM_GFP_KERNEL, 0), 5000 - 4096);
	assert_int_equal(pmm_free_frames(pmm), 0);
	tu_check(pmm);
	tu_free_all(pmm, &l);
	tu_finish(pmm, .fresh = &fx->fresh);
}

/* Several nodes: each gets its zones, frames report their node. */
static void test_multi_node(void **state)
{
	struct pmm_config cfg;
	pmm_t *pmm;
	uint64_t per_node[3] = { 0 }, total = 0;

	(void)state;
	tu_config(&cfg, 16, NULL);
	cfg.section_shift = TU_SECTION_SHIFT;
	tu_config_region(&cfg, 0, TU_BASE_PFN, 4096, 0);
	tu_config_region(&cfg, 1, TU_BASE_PFN + 8192, 3000, 1);
	tu_config_region(&cfg, 2, TU_BASE_PFN + 16384, 2048, 2);
	tu_config_region(&cfg, 3, TU_BASE_PFN + 20480, 1024, 0);
	pmm = tu_create(&cfg);
	assert_int_equal(pmm_nr_zones(pmm), 3);
	for (unsigned int i = 0; i < 3; i++) {
		struct pmm_zone_info zi;

		tu_zone(pmm, i, &zi);
		assert_true(zi.nid >= 0 && zi.nid < 3);
		per_node[zi.nid] += zi.managed_pages;
		total += zi.managed_pages;
	}
	assert_int_equal(per_node[0], 4096 + 1024);
	assert_int_equal(per_node[1], 3000);
	assert_int_equal(per_node[2], 2048);
	assert_int_equal(total, pmm_managed_frames(pmm));
	assert_int_equal(pmm_page_nid(pmm, pmm_pfn_to_page(pmm, TU_BASE_PFN + 8192 + 2999)), 1);
	assert_int_equal(pmm_page_nid(pmm, pmm_pfn_to_page(pmm, TU_BASE_PFN + 20480)), 0);
	for (int nid = 0; nid < 3; nid++) {
		struct pmm_page *p = pmm_alloc_pages_node(pmm, nid, PMM_GFP_KERNEL, 2);

		assert_non_null(p);
		assert_int_equal(pmm_page_nid(pmm, p), nid);
		tu_pattern_write(pmm, p, 2, 9);
		tu_pattern_verify(pmm, p, 2, 9);
		pmm_free_pages(pmm, p, 2);
	}
	tu_finish(pmm);
}

/*
 * The largest pcp sizes the config accepts are clamped per zone: every
 * CPU's lists together hold at most an eighth of the zone and a refill
 * moves at most a quarter of high, so one order-0 allocation on a small
 * zone cannot take the zone onto a pcp list.
 */
static void test_pcp_limits_clamped(void **state)
{
	struct pmm_config cfg;
	struct pmm_zone_info zi;
	struct pmm_page *p;
	pmm_t *pmm;

	(void)state;
	tu_config(&cfg, 16, NULL);
	cfg.pcp_batch = PMM_PCP_BATCH_MAX;
	cfg.pcp_high = PMM_PCP_HIGH_MAX;
	pmm = tu_create(&cfg);
	tu_zone(pmm, 0, &zi);
	assert_true(zi.pcp_high <= zi.managed_pages / 8);
	assert_true(zi.pcp_batch <= zi.pcp_high / 4);
	assert_true(zi.pcp_batch >= 1);
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	tu_zone(pmm, 0, &zi);
	assert_true(zi.pcp_pages <= zi.managed_pages / 8);
	pmm_free_pages(pmm, p, 0);
	tu_finish(pmm);
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(pmm_strerror(0), "success");
	assert_string_equal(pmm_strerror(-PMM_EINVAL), "invalid argument");
	assert_string_equal(pmm_strerror(PMM_EINVAL), "invalid argument");
	assert_string_equal(pmm_strerror(-PMM_ENOMEM), "out of memory");
	assert_string_equal(pmm_strerror(-PMM_EBACKING), "backing memory could not be set up");
	assert_string_equal(pmm_strerror(-1000), "unknown error");
	assert_string_equal(pmm_strerror(12345), "unknown error");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_several_instances),
		TU_MEMMAP_TESTS(test_memmap_model),
		cmocka_unit_test(test_backing_memfd),
		cmocka_unit_test(test_backing_anon),
		cmocka_unit_test(test_backing_none),
		cmocka_unit_test(test_backing_user),
		TU_TEST(test_regions_holes),
		TU_MEMMAP_TESTS(test_region_pfn0),
		TU_TEST(test_region_unaligned),
		cmocka_unit_test(test_multi_node),
		cmocka_unit_test(test_pcp_limits_clamped),
		cmocka_unit_test(test_strerror),
	};

	return tu_main(argc, argv, tests);
}
