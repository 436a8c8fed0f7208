/* SPDX-License-Identifier: MIT */
/*
 * test_fills.c - scenario fills in the style of the kernel's GPU buddy
 * tests (drivers/gpu/drm/tests/drm_buddy_test.c): optimistic, pessimistic,
 * pathological, contiguous requests among holes; plus a seeded random
 * alloc/free run that must end in the fresh buddyinfo.
 *
 * The scenario instances disable the pcp lists: the scenarios are about
 * the buddy lists, and a freed page parked on a pcp list would not merge.
 * They allocate MOVABLE, the migratetype of fresh pageblocks: an UNMOVABLE
 * request would fall back and, like Linux, steal the largest free block
 * instead of the smallest fit the drm scenarios count on.
 */
#include "testutil.h"

#include <stdlib.h>

#define MAXO 10

/* @nr_pages frames from TU_BASE_PFN, no pcp lists (see above), max_order MAXO. */
static pmm_t *fill_instance(struct tu_fx *fx, uint64_t nr_pages)
{
	struct pmm_config *cfg = tu_fx_config(fx, 16);

	cfg->pcp_disable = true;
	cfg->max_order = MAXO;
	tu_config_region(cfg, 0, TU_BASE_PFN, nr_pages, 0);
	return tu_fx_create(fx);
}

static struct pmm_page *must_alloc(pmm_t *pmm, unsigned int order, uint64_t tag)
{
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_MOVABLE | PMM_GFP_NOWARN, order);

	if (!p)
		print_message("order %u allocation failed, free %llu\n", order,
			      (unsigned long long)pmm_free_frames(pmm));
	assert_non_null(p);
	assert_int_equal(tu_pfn(pmm, p) % (1ull << order), 0);
	assert_int_equal(pmm_page_count(p), 1);
	tu_pattern_write(pmm, p, order, tag);
	return p;
}

static void must_fail(pmm_t *pmm, unsigned int order)
{
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_MOVABLE | PMM_GFP_NOWARN, order);

	if (p)
		print_message("order %u allocation unexpectedly succeeded at pfn %#llx\n", order,
			      (unsigned long long)tu_pfn(pmm, p));
	assert_null(p);
}

static void give_back(pmm_t *pmm, struct pmm_page *p, unsigned int order, uint64_t tag)
{
	tu_pattern_verify(pmm, p, order, tag);
	pmm_free_pages(pmm, p, order);
}

/*
 * Optimistic: 2^(MAXO+1) - 1 frames from an aligned start hold exactly one
 * free block of each order; one allocation of each order (in random order)
 * takes them all.
 */
static void test_optimistic(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = fill_instance(fx, (1u << (MAXO + 1)) - 1);
	struct prng rng;
	struct pmm_page *blk[MAXO + 1];
	unsigned int orders[MAXO + 1];

	tu_rng_init(&rng, "optimistic", 1);
	for (unsigned int o = 0; o <= MAXO; o++) {
		assert_int_equal(fx->fresh.z[0].nr_free[o], 1);
		orders[o] = o;
	}
	prng_shuffle(&rng, orders, MAXO + 1, sizeof(orders[0]));
	for (unsigned int i = 0; i <= MAXO; i++) {
		unsigned int o = orders[i];

		blk[o] = must_alloc(pmm, o, o + 1);
	}
	assert_int_equal(pmm_free_frames(pmm), 0);
	for (unsigned int o = 0; o <= MAXO; o++)
		must_fail(pmm, o);
	tu_check(pmm);
	for (unsigned int o = 0; o <= MAXO; o++)
		give_back(pmm, blk[o], o, o + 1);
	tu_finish(pmm, .fresh = &fx->fresh);
}

/*
 * Pessimistic: one block of each order 0..MAXO-1 from a single max-order
 * block leaves one page; then nothing fits; freeing in increasing size
 * makes each next order available.
 */
static void test_pessimistic(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = fill_instance(fx, 1u << MAXO);
	struct pmm_page *blk[MAXO], *last;

	assert_int_equal(fx->fresh.z[0].nr_free[MAXO], 1);
	for (unsigned int o = 0; o < MAXO; o++)
		blk[o] = must_alloc(pmm, o, o + 1);
	assert_int_equal(pmm_free_frames(pmm), 1);
	last = must_alloc(pmm, 0, 100);
	for (unsigned int o = MAXO + 1; o-- > 0;)
		must_fail(pmm, o);
	tu_check(pmm);

	give_back(pmm, last, 0, 100);
	must_fail(pmm, 1);
	for (unsigned int o = 0; o < MAXO; o++) {
		struct pmm_page *p;

		give_back(pmm, blk[o], o, o + 1);
		must_fail(pmm, o + 2 <= MAXO ? o + 2 : MAXO + 1);
		p = must_alloc(pmm, o + 1, 200 + o);
		give_back(pmm, p, o + 1, 200 + o);
		tu_check(pmm);
	}
	last = must_alloc(pmm, MAXO, 300);
	give_back(pmm, last, MAXO, 300);
	tu_finish(pmm, .fresh = &fx->fresh);
}

/*
 * Pathological (drm_buddy): allocate one block of each order, leaving one
 * page; free the largest block and whittle it down again, down to order 1.
 * The kept last pages end up as isolated order-0 holes: free memory that
 * holds no block above order 0.
 */
static void test_pathological(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = fill_instance(fx, 1u << MAXO);
	struct tu_list blocks = { 0 }, holes = { 0 };

	for (unsigned int top = MAXO; top; top--) {
		if (blocks.n) {
			/* make room: one block of order top (drm: the oldest entry) */
			size_t i = 0;

			while (i < blocks.n && blocks.v[i].order != top)
				i++;
			assert_true(i < blocks.n);
			struct tu_alloc a = tu_list_take(&blocks, i);
			tu_free_one(pmm, &a);
		}
		for (unsigned int o = top; o-- > 0;)
			tu_list_push(&blocks, must_alloc(pmm, o, 1000 + o), o, TU_PAGES, 1000 + o);
		tu_list_push(&holes, must_alloc(pmm, 0, 7), 0, TU_PAGES, 7);
		must_fail(pmm, top);
		must_fail(pmm, 0);
	}
	tu_check(pmm);
	assert_int_equal(holes.n, MAXO);
	tu_free_all(pmm, &holes);
	assert_int_equal(pmm_free_frames(pmm), MAXO);
	for (unsigned int o = 1; o <= MAXO; o++)
		must_fail(pmm, o);
	tu_check(pmm);
	tu_free_all(pmm, &blocks);
	tu_finish(pmm, .fresh = &fx->fresh);
}

/*
 * Half-fragmented memory: every other frame free. Free memory is half the
 * instance, yet order 1 and above fail while order 0 succeeds.
 */
static void test_every_other_page(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = fill_instance(fx, 4096);
	struct tu_list l = { 0 }, keep = { 0 };
	struct pmm_zone_info zi;

	assert_int_equal(tu_fill_exhaust(pmm, &l, PMM_GFP_MOVABLE, 0), 4096);
	while (l.n) {
		struct tu_alloc a = tu_list_take(&l, l.n - 1);

		if (tu_pfn(pmm, a.page) & 1)
			tu_list_push(&keep, a.page, 0, TU_PAGES, 0);
		else
			pmm_free_pages(pmm, a.page, 0);
	}
	assert_int_equal(pmm_free_frames(pmm), 2048);
	tu_zone(pmm, 0, &zi);
	assert_int_equal(zi.nr_free[0], 2048);
	for (unsigned int o = 1; o <= MAXO; o++) {
		assert_int_equal(zi.nr_free[o], 0);
		must_fail(pmm, o);
	}
	tu_check(pmm);
	struct pmm_page *p = must_alloc(pmm, 0, 5);
	assert_int_equal(tu_pfn(pmm, p) & 1, 0);
	give_back(pmm, p, 0, 5);
	tu_free_all(pmm, &keep);
	tu_list_free(&l);
	tu_finish(pmm, .fresh = &fx->fresh);
}

/*
 * Contiguous requests among holes (drm_buddy "contiguous"): frames are
 * dealt into three lists by pfn % 3 and freed list by list; a run of n
 * frames exists only once two neighbouring lists are free.
 */
static void test_contiguous_among_holes(void **state)
{
	const uint64_t n = 3 * 64;
	struct tu_fx *fx = *state;
	pmm_t *pmm = fill_instance(fx, n);
	struct tu_list l = { 0 }, third[3] = { { 0 } };
	struct pmm_page *p;
	pmm_pfn_t pfn;

	assert_int_equal(tu_fill_exhaust(pmm, &l, PMM_GFP_MOVABLE, 0), n);
	while (l.n) {
		struct tu_alloc a = tu_list_take(&l, l.n - 1);
		pmm_pfn_t off = tu_pfn(pmm, a.page) - TU_BASE_PFN;

		tu_pattern_write(pmm, a.page, 0, off + 1);
		tu_list_push(&third[off % 3], a.page, 0, TU_PAGES, off + 1);
	}

	tu_free_all(pmm, &third[1]);
	assert_int_equal(pmm_free_frames(pmm), n / 3);
	assert_null(pmm_alloc_pages_exact_pfn(pmm, 2, PMM_GFP_NOWARN));
	assert_null(pmm_alloc_contig_pages(pmm, 2, PMM_GFP_NOWARN, -1));
	must_fail(pmm, 1);
	tu_check(pmm);

	tu_free_all(pmm, &third[2]);
	assert_int_equal(pmm_free_frames(pmm), 2 * n / 3);
	assert_null(pmm_alloc_pages_exact_pfn(pmm, 3, PMM_GFP_NOWARN));
	assert_null(pmm_alloc_contig_pages(pmm, 3, PMM_GFP_NOWARN, -1));
	p = pmm_alloc_pages_exact_pfn(pmm, 2, PMM_GFP_KERNEL);
	assert_non_null(p);
	pfn = tu_pfn(pmm, p);
	assert_int_equal((pfn - TU_BASE_PFN) % 3, 1);
	assert_int_equal(pmm_page_count(p), 1);
	assert_int_equal(pmm_page_count(pmm_pfn_to_page(pmm, pfn + 1)), 1);
	assert_int_equal(pmm_free_frames(pmm), 2 * n / 3 - 2);
	pmm_free_contig_range(pmm, pfn, 2);
	p = pmm_alloc_contig_pages(pmm, 2, PMM_GFP_KERNEL, -1);
	assert_non_null(p);
	pfn = tu_pfn(pmm, p);
	assert_int_equal((pfn - TU_BASE_PFN) % 3, 1);
	pmm_free_contig_range(pmm, pfn, 2);
	assert_int_equal(pmm_free_frames(pmm), 2 * n / 3);
	tu_check(pmm);

	tu_free_all(pmm, &third[0]);
	tu_buddy_assert_fresh(pmm, &fx->fresh);
	for (unsigned long k = 3; k <= 128; k = k * 2 + 1) {
		p = pmm_alloc_pages_exact_pfn(pmm, k, PMM_GFP_KERNEL);
		assert_non_null(p);
		assert_int_equal(pmm_free_frames(pmm), n - k);
		pmm_free_contig_range(pmm, tu_pfn(pmm, p), k);
		p = pmm_alloc_contig_pages(pmm, k, PMM_GFP_KERNEL, -1);
		assert_non_null(p);
		assert_int_equal(pmm_free_frames(pmm), n - k);
		pmm_free_contig_range(pmm, tu_pfn(pmm, p), k);
	}
	tu_list_free(&l);
	tu_finish(pmm, .fresh = &fx->fresh);
}

/*
 * Seeded random alloc/free over mixed orders, migratetypes, folios and
 * two CPUs' pcp lists; memory patterns checked at each free; the end state
 * is the fresh buddyinfo.
 */
static void test_random_churn(void **state)
{
	struct tu_fx *fx = *state;
	struct tu_list l = { 0 };
	struct prng rng;
	pmm_t *pmm;
	uint64_t held = 0;
	static const pmm_gfp_t gfps[] = { PMM_GFP_KERNEL, PMM_GFP_MOVABLE, PMM_GFP_RECLAIMABLE,
					  PMM_GFP_ATOMIC, PMM_GFP_KERNEL | PMM_GFP_ZERO };

	tu_rng_init(&rng, "random_churn", 2);
	tu_fx_config(fx, 64);
	tu_config_cpus(&fx->cfg, 2);
	pmm = tu_fx_create(fx);

	for (int step = 0; step < 10000; step++) {
		tu_set_cpu((unsigned int)prng_below(&rng, 2));
		if (l.n && (prng_below(&rng, 100) < 45 || held > 12000)) {
			struct tu_alloc a = tu_list_take(&l, prng_below(&rng, l.n));

			tu_free_one(pmm, &a);
			held -= 1ull << a.order;
		} else {
			uint64_t r = prng_below(&rng, 100);
			unsigned int order = r < 60 ? 0 : r < 85 ? (unsigned int)prng_below(&rng, 4)
				: r < 98 ? 4 + (unsigned int)prng_below(&rng, 5) : 9 + (unsigned int)prng_below(&rng, 2);
			pmm_gfp_t gfp = gfps[prng_below(&rng, 5)] | PMM_GFP_NOWARN;
			uint64_t tag = (uint64_t)step + 1;
			struct pmm_page *p;
			enum tu_kind kind = TU_PAGES;

			if (prng_below(&rng, 4) == 0) {
				struct pmm_folio *f = pmm_folio_alloc(pmm, gfp, order);

				p = f ? pmm_folio_page(pmm, f, 0) : NULL;
				kind = TU_FOLIO;
			} else {
				p = pmm_alloc_pages(pmm, gfp, order);
			}
			if (!p)
				continue;
			tu_pattern_write(pmm, p, order, tag);
			tu_list_push(&l, p, order, kind, tag);
			held += 1ull << order;
		}
		if (step % 1000 == 0) {
			tu_check(pmm);
			assert_int_equal(pmm_free_frames(pmm) + held, pmm_managed_frames(pmm));
		}
	}
	tu_check(pmm);
	tu_free_all(pmm, &l);
	tu_finish(pmm, .fresh = &fx->fresh);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		TU_TEST(test_optimistic),
		TU_TEST(test_pessimistic),
		TU_TEST(test_pathological),
		TU_TEST(test_every_other_page),
		TU_TEST(test_contiguous_among_holes),
		TU_TEST(test_random_churn),
	};

	return tu_main(argc, argv, tests);
}
