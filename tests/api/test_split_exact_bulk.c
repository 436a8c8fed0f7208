/* SPDX-License-Identifier: MIT */
/*
 * test_split_exact_bulk.c - split_page, alloc_pages_exact(_pfn), the
 * non-compound free with an extra head reference, compound pages and
 * folios, bulk allocation, pcp accounting and drain-then-merge
 * (design.md section 4).
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

/*
 * split_page of an order-k block, then the pages freed one by one in a
 * seeded random order: after a drain the order-k block is whole again.
 */
static void test_split_page_random_free(void **state)
{
	static const unsigned int orders[] = { 1, 2, 3, 5, 9, 10 };
	struct tu_fx *fx = *state;
	struct prng rng;
	pmm_t *pmm;

	tu_rng_init(&rng, "split_page", 3);
	tu_fx_config(fx, 64);
	fx->cfg.section_shift = TU_SECTION_SHIFT;
	pmm = tu_fx_create(fx);

	for (unsigned int i = 0; i < ARRAY_SIZE(orders); i++) {
		unsigned int k = orders[i];
		unsigned long n = 1ul << k;
		struct pmm_page *head = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, k);
		void **pages = calloc(n, sizeof(*pages));
		pmm_pfn_t pfn;

		assert_non_null(head);
		assert_non_null(pages);
		pfn = tu_pfn(pmm, head);
		pmm_split_page(pmm, head, k);
		for (unsigned long j = 0; j < n; j++) {
			struct pmm_page *p = pmm_pfn_to_page(pmm, pfn + j);

			assert_int_equal(pmm_page_count(p), 1);
			assert_int_equal(pmm_folio_order(pmm_page_folio(p)), 0);
			tu_pattern_write(pmm, p, 0, j + 1);
			pages[j] = p;
		}
		tu_check(pmm);
		prng_shuffle(&rng, pages, n, sizeof(pages[0]));
		for (unsigned long j = 0; j < n; j++) {
			struct pmm_page *p = pages[j];

			tu_pattern_verify(pmm, p, 0, tu_pfn(pmm, p) - pfn + 1);
			if (j & 1)
				pmm_put_page(pmm, p);
			else
				pmm_free_pages(pmm, p, 0);
		}
		assert_int_equal(pmm_free_frames(pmm), pmm_managed_frames(pmm));
		tu_check(pmm);
		tu_buddy_assert_fresh(pmm, &fx->fresh);
		free(pages);
	}
	tu_finish(pmm);
}

/* alloc_pages_exact: ceil(size / page size) frames leave the free count, no more. */
static void test_alloc_pages_exact(void **state)
{
	const size_t ps = 4096;
	const size_t sizes[] = { 5 * ps, 5 * ps - 1, 1, ps, 8 * ps, 3 * ps + 1, 100 * ps, 1023 * ps };
	struct tu_fx *fx = *state;
	pmm_t *pmm;
	uint64_t f0;

	tu_fx_config(fx, 64);
	pmm = tu_fx_create(fx);
	f0 = tu_free_after_drain(pmm);

	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t n = (sizes[i] + ps - 1) / ps;
		unsigned int order = 0;
		unsigned char *a;

		while ((1ul << order) < n)
			order++;
		a = pmm_alloc_pages_exact(pmm, sizes[i], PMM_GFP_KERNEL);
		assert_non_null(a);
		assert_int_equal((uintptr_t)a % ps, 0);
		if (tu_free_after_drain(pmm) != f0 - n)
			print_message("size %zu: %llu frames taken, expected %zu\n", sizes[i],
				      (unsigned long long)(f0 - pmm_free_frames(pmm)), n);
		assert_int_equal(tu_free_after_drain(pmm), f0 - n);
		for (size_t j = 0; j < n; j++) {
			struct pmm_page *p = pmm_virt_to_page(pmm, a + j * ps);

			assert_non_null(p);
			assert_int_equal(pmm_page_count(p), 1);
		}
		/* the unused tail of the covering block is free */
		for (size_t j = n; j < (1ul << order); j++)
			assert_int_equal(pmm_page_count(pmm_virt_to_page(pmm, a + j * ps)), 0);
		memset(a, 0xa5, sizes[i]);
		assert_int_equal(a[sizes[i] - 1], 0xa5);
		tu_check(pmm);
		pmm_free_pages_exact(pmm, a, sizes[i]);
		assert_int_equal(tu_free_after_drain(pmm), f0);
		tu_buddy_assert_fresh(pmm, &fx->fresh);
		tu_check(pmm);
	}

	/* GFP_ZERO applies to the exact allocation too */
	unsigned char *a = pmm_alloc_pages_exact(pmm, 5 * ps, PMM_GFP_KERNEL);
	assert_non_null(a);
	memset(a, 0xee, 5 * ps);
	pmm_free_pages_exact(pmm, a, 5 * ps);
	a = pmm_alloc_pages_exact(pmm, 5 * ps, PMM_GFP_ZERO);
	assert_non_null(a);
	for (size_t j = 0; j < 5 * ps; j++)
		if (a[j]) {
			print_message("byte %zu = %#x\n", j, a[j]);
			fail();
		}
	pmm_free_pages_exact(pmm, a, 5 * ps);
	assert_null(pmm_alloc_pages_exact(pmm, (size_t)4096 << 11, PMM_GFP_KERNEL | PMM_GFP_NOWARN));
	tu_finish(pmm, .fresh = &fx->fresh);
}

/* alloc_pages_exact_pfn on an unbacked instance, freed with free_contig_range. */
static void test_alloc_pages_exact_pfn(void **state)
{
	static const unsigned long counts[] = { 5, 1, 2, 3, 7, 100, 513, 1000, 1024 };
	struct tu_fx *fx = *state;
	pmm_t *pmm;
	uint64_t f0;

	tu_fx_config(fx, 64);
	fx->cfg.backing = PMM_BACKING_NONE;
	pmm = tu_fx_create(fx);
	f0 = tu_free_after_drain(pmm);
	for (unsigned int i = 0; i < ARRAY_SIZE(counts); i++) {
		unsigned long n = counts[i];
		struct pmm_page *p = pmm_alloc_pages_exact_pfn(pmm, n, PMM_GFP_KERNEL);
		pmm_pfn_t pfn;

		assert_non_null(p);
		pfn = tu_pfn(pmm, p);
		assert_int_equal(tu_free_after_drain(pmm), f0 - n);
		for (unsigned long j = 0; j < n; j++)
			assert_int_equal(pmm_page_count(pmm_pfn_to_page(pmm, pfn + j)), 1);
		if (n & (n - 1))
			assert_int_equal(pmm_page_count(pmm_pfn_to_page(pmm, pfn + n)), 0);
		tu_check(pmm);
		pmm_free_contig_range(pmm, pfn, n);
		assert_int_equal(tu_free_after_drain(pmm), f0);
		tu_buddy_assert_fresh(pmm, &fx->fresh);
	}
	assert_null(pmm_alloc_pages_exact_pfn(pmm, 1025, PMM_GFP_KERNEL | PMM_GFP_NOWARN));
	tu_finish(pmm);
}

/*
 * Linux __free_pages(): with an extra reference on the head of a
 * non-compound order-3 block, the free gives back the 7 tail frames at
 * once (orders 2, 1, 0); the head goes with its last put.
 */
static void test_free_pages_extra_ref(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm;

	tu_fx_config(fx, 64);
	pmm = tu_fx_create(fx);

	for (int extra = 1; extra <= 2; extra++) {
		struct pmm_page *head = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 3);
		uint64_t f0 = pmm_free_frames(pmm);
		pmm_pfn_t pfn;

		assert_non_null(head);
		pfn = tu_pfn(pmm, head);
		tu_pattern_write(pmm, head, 3, 11);
		for (int i = 0; i < extra; i++)
			pmm_get_page(pmm, head);
		assert_int_equal(pmm_page_count(head), 1 + extra);
		pmm_free_pages(pmm, head, 3);
		assert_int_equal(pmm_page_count(head), extra);
		assert_int_equal(pmm_free_frames(pmm), f0 + 7);
		for (unsigned int i = 1; i < 8; i++)
			assert_int_equal(pmm_page_count(pmm_pfn_to_page(pmm, pfn + i)), 0);
		tu_pattern_verify(pmm, head, 0, 11);
		tu_check(pmm);
		/* drained, the tails sit in the buddy lists while the head is held */
		assert_int_equal(tu_free_after_drain(pmm), f0 + 7);
		tu_check(pmm);
		for (int i = 0; i < extra; i++) {
			assert_int_equal(pmm_free_frames(pmm), f0 + 7);
			pmm_put_page(pmm, head);
		}
		assert_int_equal(pmm_free_frames(pmm), f0 + 8);
		tu_check(pmm);
		tu_buddy_assert_fresh(pmm, &fx->fresh);
	}

	/* order 0: the extra reference just keeps the page */
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	uint64_t f0 = pmm_free_frames(pmm);
	pmm_get_page(pmm, p);
	pmm_free_pages(pmm, p, 0);
	assert_int_equal(pmm_page_count(p), 1);
	assert_int_equal(pmm_free_frames(pmm), f0);
	pmm_put_page(pmm, p);
	assert_int_equal(pmm_free_frames(pmm), f0 + 1);
	tu_finish(pmm, .fresh = &fx->fresh);
}

static void check_folio_pages(pmm_t *pmm, struct pmm_folio *f, unsigned int order)
{
	struct pmm_page *head = pmm_folio_page(pmm, f, 0);
	pmm_pfn_t pfn = tu_pfn(pmm, head);

	assert_int_equal(pmm_folio_order(f), order);
	assert_int_equal(pfn % (1ull << order), 0);
	assert_ptr_equal(pmm_page_folio(head), f);
	for (unsigned long i = 0; i < (1ul << order); i++) {
		struct pmm_page *p = pmm_pfn_to_page(pmm, pfn + i);

		assert_ptr_equal(pmm_folio_page(pmm, f, i), p);
		assert_int_equal(tu_pfn(pmm, pmm_folio_page(pmm, f, i)), pfn + i);
		assert_ptr_equal(pmm_page_folio(p), f);
	}
}

/* Compound pages: tails find their head, references are per folio. */
static void test_folios(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm;

	tu_fx_config(fx, 64);
	fx->cfg.section_shift = TU_SECTION_SHIFT;	/* an order-10 folio fills a whole section */
	pmm = tu_fx_create(fx);

	for (unsigned int order = 0; order <= 10; order++) {
		uint64_t f0 = pmm_free_frames(pmm);
		struct pmm_folio *f = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, order);
		struct pmm_page *head;

		assert_non_null(f);
		head = pmm_folio_page(pmm, f, 0);
		check_folio_pages(pmm, f, order);
		assert_int_equal(pmm_folio_ref_count(f), 1);
		assert_int_equal(pmm_free_frames(pmm), f0 - (1ull << order));
		tu_pattern_write(pmm, head, order, order + 1);
		for (int i = 0; i < 3; i++)
			pmm_folio_get(pmm, f);
		assert_int_equal(pmm_folio_ref_count(f), 4);
		assert_int_equal(pmm_page_count(head), 4);
		/* Every page of a folio reports the folio's count (Linux page_count()). */
		for (unsigned long i = 1; i < (1ul << order); i++)
			assert_int_equal(pmm_page_count(pmm_folio_page(pmm, f, i)), 4);
		tu_check(pmm);
		pmm_folio_put_refs(pmm, f, 3);
		assert_int_equal(pmm_folio_ref_count(f), 1);
		assert_int_equal(pmm_free_frames(pmm), f0 - (1ull << order));
		check_folio_pages(pmm, f, order);
		tu_pattern_verify(pmm, head, order, order + 1);
		pmm_folio_put_refs(pmm, f, 1);
		assert_int_equal(pmm_free_frames(pmm), f0);
		tu_check(pmm);
	}
	tu_buddy_assert_fresh(pmm, &fx->fresh);

	/* folio_put_refs drops every reference at once */
	struct pmm_folio *f = pmm_folio_alloc(pmm, PMM_GFP_MOVABLE, 4);
	assert_non_null(f);
	for (int i = 0; i < 4; i++)
		pmm_folio_get(pmm, f);
	pmm_folio_put_refs(pmm, f, 5);
	assert_int_equal(pmm_free_frames(pmm), pmm_managed_frames(pmm));
	tu_check(pmm);

	/* PMM_GFP_COMP through pmm_alloc_pages, freed with pmm_free_pages */
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_COMP, 3);
	assert_non_null(p);
	f = pmm_page_folio(p);
	check_folio_pages(pmm, f, 3);
	pmm_free_pages(pmm, p, 3);
	assert_int_equal(pmm_free_frames(pmm), pmm_managed_frames(pmm));

	/* references taken and dropped through a tail count on the folio */
	p = pmm_alloc_pages(pmm, PMM_GFP_COMP, 2);
	assert_non_null(p);
	f = pmm_page_folio(p);
	struct pmm_page *tail = pmm_folio_page(pmm, f, 3);
	pmm_get_page(pmm, tail);
	assert_int_equal(pmm_folio_ref_count(f), 2);
	pmm_put_page(pmm, tail);
	assert_int_equal(pmm_folio_ref_count(f), 1);
	pmm_put_page(pmm, tail);
	assert_int_equal(pmm_free_frames(pmm), pmm_managed_frames(pmm));
	tu_check(pmm);

	/* an order-0 page is its own folio */
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	f = pmm_page_folio(p);
	assert_non_null(f);
	assert_int_equal(pmm_folio_order(f), 0);
	assert_ptr_equal(pmm_folio_page(pmm, f, 0), p);
	assert_int_equal(pmm_folio_ref_count(f), 1);
	pmm_folio_put(pmm, f);
	assert_int_equal(pmm_free_frames(pmm), pmm_managed_frames(pmm));

	/* a non-compound high-order block is not a large folio */
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2);
	assert_non_null(p);
	assert_int_equal(pmm_folio_order(pmm_page_folio(p)), 0);
	pmm_free_pages(pmm, p, 2);

	tu_finish(pmm, .fresh = &fx->fresh);
}

/* Bulk allocation fills only the NULL slots and counts every non-NULL one. */
static void test_bulk_fills_null_slots(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm;
	struct pmm_page *arr[64] = { 0 }, *mine[3];
	static const int prefilled[3] = { 3, 10, 40 };
	uint64_t f0;
	unsigned long r;

	tu_fx_config(fx, 64);
	pmm = tu_fx_create(fx);

	for (int i = 0; i < 3; i++) {
		mine[i] = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
		assert_non_null(mine[i]);
		arr[prefilled[i]] = mine[i];
	}
	f0 = pmm_free_frames(pmm);
	r = pmm_alloc_pages_bulk(pmm, PMM_GFP_KERNEL, 64, arr);
	assert_int_equal(r, 64);
	assert_int_equal(pmm_free_frames(pmm), f0 - 61);
	for (int i = 0; i < 3; i++)
		assert_ptr_equal(arr[prefilled[i]], mine[i]);
	for (int i = 0; i < 64; i++) {
		assert_non_null(arr[i]);
		assert_int_equal(pmm_page_count(arr[i]), 1);
		tu_pattern_write(pmm, arr[i], 0, (uint64_t)i + 1);
	}
	tu_assert_distinct(arr, 64);
	tu_check(pmm);

	/* a full array takes nothing */
	r = pmm_alloc_pages_bulk(pmm, PMM_GFP_KERNEL, 64, arr);
	assert_int_equal(r, 64);
	assert_int_equal(pmm_free_frames(pmm), f0 - 61);

	/* only the first nr slots are looked at */
	for (int i = 0; i < 64; i += 2) {
		tu_pattern_verify(pmm, arr[i], 0, (uint64_t)i + 1);
		pmm_free_pages(pmm, arr[i], 0);
		arr[i] = NULL;
	}
	r = pmm_alloc_pages_bulk(pmm, PMM_GFP_MOVABLE, 20, arr);
	assert_int_equal(r, 20);
	for (int i = 0; i < 20; i++)
		assert_non_null(arr[i]);
	for (int i = 20; i < 64; i += 2)
		assert_null(arr[i]);
	assert_int_equal(pmm_free_frames(pmm), f0 + 3 - 64 + 22);
	assert_int_equal(pmm_alloc_pages_bulk(pmm, PMM_GFP_KERNEL, 0, arr), 0);
	pmm_free_pages_bulk(pmm, arr, 64);
	assert_int_equal(pmm_free_frames(pmm), pmm_managed_frames(pmm));
	tu_finish(pmm, .fresh = &fx->fresh);
}

/* Under pressure bulk returns what it got, still counting every non-NULL slot. */
static void test_bulk_under_pressure(void **state)
{
	struct tu_fx *fx = *state;
	struct tu_list l = { 0 };
	struct pmm_page *arr[64] = { 0 };
	unsigned long r, nonnull = 0;
	uint64_t before;
	pmm_t *pmm;

	tu_fx_config(fx, 16)->backing = PMM_BACKING_NONE;
	pmm = tu_fx_create(fx);
	tu_fill_exhaust(pmm, &l, PMM_GFP_KERNEL, 0);
	for (int i = 0; i < 12; i++) {
		struct tu_alloc a = tu_list_take(&l, l.n - 1);

		pmm_free_pages(pmm, a.page, 0);
	}
	pmm_drain_all_pages(pmm);
	arr[0] = l.v[0].page;
	arr[63] = l.v[1].page;
	before = pmm_free_frames(pmm);
	assert_int_equal(before, 12);
	r = pmm_alloc_pages_bulk(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 64, arr);
	for (int i = 0; i < 64; i++)
		nonnull += arr[i] != NULL;
	print_message("%s: bulk got %lu of 12 free\n", fx->v.name, r - 2);
	assert_int_equal(r, nonnull);
	assert_true(r > 2 && r <= 14);
	assert_int_equal(pmm_free_frames(pmm), before - (r - 2));
	assert_ptr_equal(arr[0], l.v[0].page);
	assert_ptr_equal(arr[63], l.v[1].page);
	tu_check(pmm);
	for (int i = 1; i < 63; i++)
		if (arr[i])
			pmm_free_pages(pmm, arr[i], 0);
	tu_free_all(pmm, &l);
	tu_finish(pmm);
}

/*
 * pcp lists: freed pages count as free while parked on pcp lists of any
 * CPU; a drain merges everything back into the fresh buddyinfo.
 */
static void test_pcp_drain_merges(void **state)
{
	struct pmm_config cfg;
	struct tu_buddy fresh;
	struct tu_list l = { 0 };
	struct prng rng;
	struct pmm_stats st;
	pmm_t *pmm;
	static const unsigned int orders[] = { 0, 0, 0, 1, 2, 3 };

	(void)state;
	tu_rng_init(&rng, "pcp_drain", 4);
	tu_config(&cfg, 64, NULL);
	tu_config_cpus(&cfg, 2);
	pmm = tu_create(&cfg);
	tu_buddy_snap(pmm, &fresh);
	assert_int_equal(tu_pcp_pages(pmm), 0);

	for (int round = 0; round < 3; round++) {
		tu_set_cpu(0);
		for (int i = 0; i < 308; i++) {
			/* eight pageblock-order blocks: that order has a pcp list too */
			unsigned int o = i < 8 ? 9 : orders[prng_below(&rng, 6)];
			struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, o);

			assert_non_null(p);
			tu_pattern_write(pmm, p, o, (uint64_t)i + 1);
			tu_list_push(&l, p, o, TU_PAGES, (uint64_t)i + 1);
		}
		tu_check(pmm);
		while (l.n) {
			struct tu_alloc a = tu_list_take(&l, prng_below(&rng, l.n));

			tu_set_cpu((unsigned int)prng_below(&rng, 2));
			tu_free_one(pmm, &a);
		}
		assert_int_equal(pmm_free_frames(pmm), pmm_managed_frames(pmm));
		assert_true(tu_pcp_pages(pmm) > 0);
		uint64_t buddy = 0;
		for (unsigned int z = 0; z < pmm_nr_zones(pmm); z++) {
			struct pmm_zone_info zi;

			tu_zone(pmm, z, &zi);
			buddy += zi.free_pages;
		}
		assert_int_equal(buddy + tu_pcp_pages(pmm), pmm_free_frames(pmm));
		tu_check(pmm);
		pmm_drain_all_pages(pmm);
		assert_int_equal(tu_pcp_pages(pmm), 0);
		assert_int_equal(pmm_free_frames(pmm), pmm_managed_frames(pmm));
		tu_buddy_assert_fresh(pmm, &fresh);
		tu_check(pmm);
	}
	pmm_stats_get(pmm, &st);
	assert_true(st.pcp_alloc > 0);
	assert_true(st.pcp_free > 0);
	assert_true(st.pcp_refill > 0);
	tu_list_free(&l);
	tu_finish(pmm);

	/* pcp_disable: nothing is ever parked */
	tu_config(&cfg, 16, NULL);
	cfg.pcp_disable = true;
	pmm = tu_create(&cfg);
	tu_buddy_snap(pmm, &fresh);
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	pmm_free_pages(pmm, p, 0);
	assert_int_equal(tu_pcp_pages(pmm), 0);
	pmm_stats_get(pmm, &st);
	assert_int_equal(st.pcp_alloc, 0);
	assert_int_equal(st.pcp_free, 0);
	struct pmm_zone_info zi;
	tu_zone(pmm, 0, &zi);
	assert_int_equal(zi.free_pages, pmm_managed_frames(pmm));
	assert_int_equal(zi.nr_free[10], fresh.z[0].nr_free[10]);
	tu_finish(pmm);
}

/*
 * pmm_free_pages_bulk with a folio's pages in a run of consecutive pfns:
 * the folio's four pages are refused one by one (one report each) and the
 * order-0 pages on either side are freed, whether the run starts at the
 * head or reaches it from below.
 */
static void test_bulk_refuses_folio_pages(void **state)
{
	struct pmm_config cfg;
	struct tu_buddy fresh;
	struct tu_bad bad = { 0 };
	struct pmm_folio *folios[3], *f = NULL;
	struct pmm_page **all, *p, *run[12];
	pmm_pfn_t base = TU_BASE_PFN, x;
	size_t n = 0;
	pmm_t *pmm;

	(void)state;
	tu_config(&cfg, 1, &bad);
	pmm = tu_create(&cfg);
	tu_buddy_snap(pmm, &fresh);
	/* Three folios: at least one has four frames on each side inside the instance. */
	for (int i = 0; i < 3; i++) {
		folios[i] = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 2);
		assert_non_null(folios[i]);
		x = tu_pfn(pmm, pmm_folio_page(pmm, folios[i], 0));
		if (!f && x >= base + 4 && x + 8 <= base + pmm_managed_frames(pmm))
			f = folios[i];
	}
	assert_non_null(f);
	x = tu_pfn(pmm, pmm_folio_page(pmm, f, 0));
	/* Only f stays a folio: the frames around it become order-0 pages. */
	for (int i = 0; i < 3; i++)
		if (folios[i] != f)
			pmm_folio_put(pmm, folios[i]);
	all = calloc(pmm_managed_frames(pmm), sizeof(*all));
	assert_non_null(all);
	while ((p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 0)))
		all[n++] = p;
	assert_int_equal(n + 4, pmm_managed_frames(pmm));

	for (int pass = 0; pass < 2; pass++) {
		/* pass 0: [head, 3 tails, 4 pages above]; pass 1: [4 below, folio, 4 above]. */
		pmm_pfn_t start = pass ? x - 4 : x;
		unsigned long len = pass ? 12 : 8;
		unsigned long before = tu_bad_count(&bad);

		for (unsigned long i = 0; i < len; i++)
			run[i] = tu_page_at(pmm, start + i);
		pmm_free_pages_bulk(pmm, run, len);
		assert_int_equal(tu_bad_count(&bad) - before, 4);
		assert_int_equal(pmm_folio_ref_count(f), 1);
		for (unsigned long i = 0; i < len; i++) {
			pmm_pfn_t pfn = start + i;

			if (pfn >= x && pfn < x + 4)
				continue;
			assert_int_equal(pmm_page_count(run[i]), 0);
			/* Freed: take it back so the next pass finds the same layout. */
			for (size_t k = 0; k < n; k++)
				if (all[k] == run[i])
					all[k] = NULL;
		}
		tu_check(pmm);
		if (!pass) {
			struct pmm_page *q;

			while ((q = pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 0))) {
				for (size_t k = 0; k < n; k++)
					if (!all[k]) {
						all[k] = q;
						break;
					}
			}
		}
	}
	for (size_t k = 0; k < n; k++)
		if (all[k])
			pmm_free_pages(pmm, all[k], 0);
	pmm_folio_put(pmm, f);
	free(all);
	tu_buddy_assert_fresh(pmm, &fresh);
	tu_check(pmm);
	pmm_destroy(pmm);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		TU_TEST(test_split_page_random_free),
		TU_TEST(test_alloc_pages_exact),
		TU_TEST(test_alloc_pages_exact_pfn),
		TU_TEST(test_free_pages_extra_ref),
		TU_TEST(test_folios),
		TU_TEST(test_bulk_fills_null_slots),
		TU_PCP_TESTS(test_bulk_under_pressure),
		cmocka_unit_test(test_pcp_drain_merges),
		cmocka_unit_test(test_bulk_refuses_folio_pages),
	};

	return tu_main(argc, argv, tests);
}
