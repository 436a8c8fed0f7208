/* SPDX-License-Identifier: MIT */
/*
 * test_contig_internal.c - the white-box half of the contiguous-range
 * tests (design.md section 5): states the API cannot produce.
 *
 *  - bad pages inside a range (a mapping, a flag that must be clear at
 *    free, a mapcount) are reported, leaked and counted, the rest freed;
 *  - frozen pages (PG_owned, refcount 0) freed by
 *    pmm_free_contig_frozen_range();
 *  - alloc_contig_range failing with -PMM_EBUSY leaves every pageblock's
 *    migratetype exactly as it was;
 *  - page_ref_sub_testzero(), the reference drop both contig paths use.
 *
 * Every scenario ends with pmm_check() == 0: leaked frames are a state the
 * checker accounts for.
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "contig.h"
#include "pcp.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SECTION_PAGES TU_SECTION_PAGES
#define MAX_ORDER TU_MAX_ORDER

/* ------------------------------------------------------------------------
 * Bad pages inside a range
 * ------------------------------------------------------------------------ */

enum corruption {
	BAD_MAPPING,	/* page->mapping != NULL */
	BAD_MLOCKED,	/* PG_mlocked */
	BAD_LRU,	/* PG_lru */
	BAD_PRIVATE,	/* PG_private */
	BAD_MAPCOUNT,	/* still mapped once */
	NR_CORRUPTIONS,
};

static const char *const corruption_name[NR_CORRUPTIONS] = {
	"mapping", "PG_mlocked", "PG_lru", "PG_private", "mapcount",
};

static int dummy_mapping;

static void corrupt(struct pmm_page *p, enum corruption how)
{
	switch (how) {
	case BAD_MAPPING:
		p->mapping = &dummy_mapping;
		break;
	case BAD_MLOCKED:
		SetPageMlocked(p);
		break;
	case BAD_LRU:
		SetPageLRU(p);
		break;
	case BAD_PRIVATE:
		SetPagePrivate(p);
		break;
	default:
		atomic_store(&p->mapcount, 0);
		break;
	}
}

/*
 * One scenario: a split block of 2^order pages at pfn, pages bad[] corrupted,
 * free_contig_range(pfn + from, nr). Each bad page in the range is reported
 * once, leaked (PG_bad, counted), the others freed in runs that the bad
 * pages end.
 */
static void bad_pages_case(struct tu_fx *fx, enum corruption how, unsigned int order,
			   const unsigned long *badidx, unsigned int nbad)
{
	pmm_t *pmm = fx->pmm;
	struct tu_bad *bad = &fx->bad;
	const unsigned long size = 1ul << order;
	uint64_t leaked0 = pmm_leaked_frames(pmm);
	uint64_t free0 = tu_free_after_drain(pmm);
	struct pmm_stats st0 = tu_stats(pmm), st1;
	unsigned long cb0 = tu_bad_count(bad);
	unsigned long expect_chunks = 0, run = 0;
	pmm_pfn_t pfn = tu_alloc_split(pmm, order);

	for (unsigned int i = 0; i < nbad; i++)
		corrupt(tu_page_at(pmm, pfn + badidx[i]), how);
	/*
	 * A corrupted allocated page is still just allocated, except that a
	 * stray PG_lru is itself an inconsistency the checker reports (every
	 * PG_lru folio must be on an LRU list).
	 */
	if (how == BAD_LRU)
		assert_int_equal(pmm_check(pmm), -PMM_ECORRUPT);
	else
		tu_check(pmm);

	for (unsigned long i = 0; i <= size; i++) {
		bool is_bad = false;

		for (unsigned int k = 0; k < nbad; k++)
			is_bad |= badidx[k] == i;
		if (i == size || is_bad) {
			if (run)
				expect_chunks += contig_expected_chunks(pfn + i - run, run, MAX_ORDER);
			run = 0;
		} else {
			run++;
		}
	}

	pmm_free_contig_range(pmm, pfn, size);
	st1 = tu_stats(pmm);
	if (tu_bad_count(bad) - cb0 != nbad)
		print_message("%s, %s: %lu reports for %u bad pages (last \"%s\")\n",
			      fx->v.name, corruption_name[how],
			      tu_bad_count(bad) - cb0, nbad, bad->last_reason);
	assert_int_equal(tu_bad_count(bad) - cb0, nbad);
	assert_int_equal(st1.bad_page - st0.bad_page, nbad);
	assert_int_equal(st1.leaked_pages - st0.leaked_pages, nbad);
	assert_int_equal(pmm_leaked_frames(pmm) - leaked0, nbad);
	assert_int_equal(st1.contig_chunks - st0.contig_chunks, fx->v.per_page ? 0 : expect_chunks);
	for (unsigned long i = 0; i < size; i++) {
		struct pmm_page *p = tu_page_at(pmm, pfn + i);
		bool is_bad = false;

		for (unsigned int k = 0; k < nbad; k++)
			is_bad |= badidx[k] == i;
		assert_int_equal(page_ref_count(p), 0);
		if (is_bad) {
			/* leaked: handed out for good, never on a free list */
			assert_true(page_test(p, PG_bad));
			assert_true(page_test(p, PG_owned));
			assert_false(page_test(p, PG_buddy) || page_test(p, PG_pcp));
		} else {
			assert_false(page_test(p, PG_bad));
			assert_false(page_test(p, PG_owned));
		}
	}
	assert_int_equal(tu_free_after_drain(pmm), free0 - nbad);
	tu_check(pmm);
	tu_assert_conserved(pmm, 0);
}

static void test_bad_pages_leaked(void **state)
{
	static const unsigned long one[] = { 7 };
	static const unsigned long ends[] = { 0, 15 };
	static const unsigned long many[] = { 0, 1, 64, 255, 256, 511 };

	struct tu_fx *fx = *state;

	for (int how = 0; how < NR_CORRUPTIONS; how++) {
		tu_fx_contig(fx, 64);
		bad_pages_case(fx, how, 4, one, 1);
		bad_pages_case(fx, how, 4, ends, 2);
		bad_pages_case(fx, how, 9, many, ARRAY_SIZE(many));
		bad_pages_case(fx, how, 0, ends, 1);
		/* the leaked frames stay leaked; everything else is free */
		tu_finish(fx->pmm, .leaked = 1 + 2 + ARRAY_SIZE(many) + 1);
	}
}

/* A bad page right at a section boundary of a range that crosses it (sparse memmap). */
static void test_bad_page_at_section_boundary(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 64);
	const pmm_pfn_t b = TU_BASE_PFN + 8 * SECTION_PAGES;
	uint64_t managed = fx->managed;
	struct pmm_stats st0, st1;

	assert_int_equal(pmm_alloc_contig_range(pmm, b - 100, b + 100, 0), 0);
	corrupt(tu_page_at(pmm, b), BAD_MAPPING);
	corrupt(tu_page_at(pmm, b - 1), BAD_MLOCKED);
	st0 = tu_stats(pmm);
	pmm_free_contig_range(pmm, b - 100, 200);
	st1 = tu_stats(pmm);
	assert_int_equal(tu_bad_count(&fx->bad), 2);
	assert_int_equal(st1.bad_page - st0.bad_page, 2);
	assert_int_equal(pmm_leaked_frames(pmm), 2);
	if (!fx->v.per_page)
		assert_int_equal(st1.contig_chunks - st0.contig_chunks,
				 contig_expected_chunks(b - 100, 99, MAX_ORDER) +
					 contig_expected_chunks(b + 1, 99, MAX_ORDER));
	assert_int_equal(tu_free_after_drain(pmm), managed - 2);
	tu_finish(pmm, .leaked = 2);
}

/* ------------------------------------------------------------------------
 * Frozen ranges
 * ------------------------------------------------------------------------ */

/* A split order-@order block whose pages are frozen: PG_owned, refcount 0. */
static pmm_pfn_t alloc_frozen(pmm_t *pmm, unsigned int order)
{
	pmm_pfn_t pfn = tu_alloc_split(pmm, order);

	for (unsigned long i = 0; i < (1ul << order); i++) {
		struct pmm_page *p = tu_page_at(pmm, pfn + i);

		assert_true(page_ref_put_testzero(pmm, p));
		assert_int_equal(page_ref_count(p), 0);
		assert_true(page_test(p, PG_owned));
	}
	return pfn;
}

static void test_frozen_range(void **state)
{
	struct tu_fx *fx = *state;
	struct prng rng;
	pmm_t *pmm = tu_fx_contig(fx, 64);
	uint64_t managed = fx->managed, c0;
	pmm_pfn_t pfn;

	tu_rng_init(&rng, "frozen_range", 11);

	/* The brief's case: order 3, split, every reference dropped to 0. */
	pfn = alloc_frozen(pmm, 3);
	assert_int_equal(tu_free_after_drain(pmm), managed - 8);
	tu_check(pmm);	/* frozen frames are a valid state */
	c0 = tu_stats(pmm).contig_chunks;
	pmm_free_contig_frozen_range(pmm, pfn, 8);
	assert_int_equal(tu_stats(pmm).contig_chunks - c0, fx->v.per_page ? 0 : 1);
	for (unsigned long i = 0; i < 8; i++)
		assert_false(page_test(tu_page_at(pmm, pfn + i), PG_owned));
	tu_check(pmm);
	tu_buddy_assert_fresh(pmm, &fx->fresh);

	/* Frozen order-10 blocks freed in unaligned pieces, random order. */
	for (int round = 0; round < 10; round++) {
		unsigned long a = 1 + prng_below(&rng, 500), b2 = 524 + prng_below(&rng, 499);

		pfn = alloc_frozen(pmm, MAX_ORDER);
		c0 = tu_stats(pmm).contig_chunks;
		pmm_free_contig_frozen_range(pmm, pfn + a, b2 - a);
		if (!fx->v.per_page)
			assert_int_equal(tu_stats(pmm).contig_chunks - c0,
					 contig_expected_chunks(pfn + a, b2 - a, MAX_ORDER));
		tu_check(pmm);
		assert_int_equal(tu_free_after_drain(pmm), managed - 1024 + (b2 - a));
		if (prng_below(&rng, 2)) {
			pmm_free_contig_frozen_range(pmm, pfn, a);
			pmm_free_contig_frozen_range(pmm, pfn + b2, 1024 - b2);
		} else {
			pmm_free_contig_frozen_range(pmm, pfn + b2, 1024 - b2);
			pmm_free_contig_frozen_range(pmm, pfn, a);
		}
		tu_check(pmm);
		tu_buddy_assert_fresh(pmm, &fx->fresh);
	}

	/* Frozen pages across a section boundary, from alloc_contig_range. */
	{
		const pmm_pfn_t b = TU_BASE_PFN + 3 * SECTION_PAGES;

		assert_int_equal(pmm_alloc_contig_range(pmm, b - 333, b + 444, 0), 0);
		for (pmm_pfn_t p = b - 333; p < b + 444; p++)
			assert_true(page_ref_put_testzero(pmm, tu_page_at(pmm, p)));
		tu_check(pmm);
		pmm_free_contig_frozen_range(pmm, b - 333, 777);
		tu_check(pmm);
		tu_buddy_assert_fresh(pmm, &fx->fresh);
	}
	assert_int_equal(tu_bad_count(&fx->bad), 0);

	/* A bad frozen page is leaked, the rest freed. */
	pfn = alloc_frozen(pmm, 4);
	tu_page_at(pmm, pfn + 9)->mapping = &dummy_mapping;
	pmm_free_contig_frozen_range(pmm, pfn, 16);
	assert_int_equal(tu_bad_count(&fx->bad), 1);
	assert_int_equal(fx->bad.last_pfn, pfn + 9);
	assert_int_equal(pmm_leaked_frames(pmm), 1);
	assert_int_equal(tu_free_after_drain(pmm), managed - 1);
	tu_check(pmm);

	/* A frozen compound head is refused: nothing freed. */
	{
		struct pmm_folio *folio = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 3);
		struct pmm_page *head = pmm_folio_page(pmm, folio, 0);

		assert_non_null(folio);
		pfn = pmm_page_to_pfn(pmm, head);
		pmm_free_contig_frozen_range(pmm, pfn, 8);
		assert_int_equal(tu_bad_count(&fx->bad), 2);
		assert_int_equal(pmm_folio_ref_count(folio), 1);
		assert_int_equal(tu_free_after_drain(pmm), managed - 1 - 8);
		tu_check(pmm);
		pmm_folio_put(pmm, folio);
	}
	assert_int_equal(tu_free_after_drain(pmm), managed - 1);
	tu_finish(pmm, .leaked = 1);
}

/* ------------------------------------------------------------------------
 * alloc_contig_range -PMM_EBUSY keeps every pageblock's migratetype
 * ------------------------------------------------------------------------ */

static struct pmm_zone *zone_of(pmm_t *pmm, pmm_pfn_t pfn)
{
	return page_zone(pmm, tu_page_at(pmm, pfn));
}

static uint8_t *snap_types(pmm_t *pmm, struct pmm_zone *zone)
{
	uint8_t *v = malloc(zone->nr_pageblocks);

	assert_non_null(v);
	spin_lock(&zone->lock);
	for (size_t b = 0; b < zone->nr_pageblocks; b++)
		v[b] = (uint8_t)get_pageblock_migratetype(
			zone, zone->pb_base + ((pmm_pfn_t)b << pmm->pageblock_order));
	spin_unlock(&zone->lock);
	return v;
}

static void assert_types_equal(pmm_t *pmm, struct pmm_zone *zone, const uint8_t *a,
			       const uint8_t *b)
{
	int diffs = 0;

	for (size_t i = 0; i < zone->nr_pageblocks; i++)
		if (a[i] != b[i]) {
			print_message("pageblock %zu (pfn %#" PRIx64 "): %s -> %s\n", i,
				      zone->pb_base + ((pmm_pfn_t)i << pmm->pageblock_order),
				      pmm_migratetype_name(a[i]), pmm_migratetype_name(b[i]));
			diffs++;
		}
	assert_int_equal(diffs, 0);
}

static void test_ebusy_keeps_pageblock_types(void **state)
{
	struct tu_fx *fx = *state;
	struct tu_list keep = { 0 };
	struct pmm_zone *zone;
	uint8_t *t0, *t1;
	pmm_t *pmm = tu_fx_contig(fx, 64);
	unsigned int seen[PMM_MIGRATE_TYPES] = { 0 };

	/* claim pageblocks for unmovable and reclaimable requests, keep some busy */
	for (int i = 0; i < 4; i++) {
		static const pmm_gfp_t g[3] = { PMM_GFP_KERNEL, PMM_GFP_RECLAIMABLE,
						PMM_GFP_MOVABLE };

		for (int k = 0; k < 3; k++) {
			unsigned int order = k == 2 ? 2 : 9;
			struct pmm_page *p = pmm_alloc_pages(pmm, g[k], order);

			assert_non_null(p);
			tu_list_push(&keep, p, order, TU_PAGES, 0);
		}
	}
	/* small busy pages spread over the unmovable and reclaimable blocks */
	for (size_t i = 0; i < keep.n; i += 2) {
		struct tu_alloc a = keep.v[i];

		if (a.order != 9)
			continue;
		pmm_free_pages(pmm, a.page, 9);
		keep.v[i].page = NULL;
	}
	for (size_t i = keep.n; i-- > 0;)
		if (!keep.v[i].page)
			tu_list_take(&keep, i);
	for (int i = 0; i < 8; i++) {
		struct pmm_page *p = pmm_alloc_pages(pmm, i & 1 ? PMM_GFP_RECLAIMABLE : 0, 0);

		assert_non_null(p);
		tu_list_push(&keep, p, 0, TU_PAGES, 0);
	}
	pmm_drain_all_pages(pmm);
	zone = zone_of(pmm, TU_BASE_PFN);
	t0 = snap_types(pmm, zone);
	for (size_t b = 0; b < zone->nr_pageblocks; b++)
		seen[t0[b]]++;
	print_message("%s: pageblocks U %u M %u R %u\n", fx->v.name,
		      seen[PMM_MIGRATE_UNMOVABLE], seen[PMM_MIGRATE_MOVABLE],
		      seen[PMM_MIGRATE_RECLAIMABLE]);
	assert_true(seen[PMM_MIGRATE_UNMOVABLE] && seen[PMM_MIGRATE_RECLAIMABLE] &&
		    seen[PMM_MIGRATE_MOVABLE]);

	/* ranges over each busy frame, wide enough to span pageblocks of several types */
	for (size_t i = 0; i < keep.n; i++) {
		pmm_pfn_t busy = pmm_page_to_pfn(pmm, keep.v[i].page);
		pmm_pfn_t lo = TU_BASE_PFN, hi = TU_BASE_PFN + pmm_managed_frames(pmm);
		const pmm_pfn_t spans[][2] = {
			{ busy > lo + 2000 ? busy - 2000 : lo, busy + 2000 < hi ? busy + 2000 : hi },
			{ busy, busy + 1 },
			{ busy > lo + 511 ? busy - 511 : lo, busy + 1 },
			{ busy, busy + 600 < hi ? busy + 600 : hi },
		};

		for (unsigned int k = 0; k < ARRAY_SIZE(spans); k++) {
			uint64_t f0 = tu_free_after_drain(pmm);

			assert_int_equal(pmm_alloc_contig_range(pmm, spans[k][0], spans[k][1], 0),
					 -PMM_EBUSY);
			t1 = snap_types(pmm, zone);
			assert_types_equal(pmm, zone, t0, t1);
			free(t1);
			assert_int_equal(tu_free_after_drain(pmm), f0);
			/* no frame is left isolated or taken */
			for (pmm_pfn_t p = spans[k][0]; p < spans[k][1]; p++)
				assert_false(page_test(tu_page_at(pmm, p), PG_isolated));
			tu_check(pmm);
		}
	}

	/* success afterwards: no pageblock left ISOLATE, and everything comes back */
	{
		pmm_pfn_t busy = pmm_page_to_pfn(pmm, keep.v[0].page);
		pmm_pfn_t s = busy > TU_BASE_PFN + 700 ? busy - 700 : TU_BASE_PFN;

		tu_free_all(pmm, &keep);
		assert_int_equal(pmm_alloc_contig_range(pmm, s, s + 1400, 0), 0);
		t1 = snap_types(pmm, zone);
		for (size_t b = 0; b < zone->nr_pageblocks; b++)
			assert_int_not_equal(t1[b], PMM_MIGRATE_ISOLATE);
		free(t1);
		tu_check(pmm);
		pmm_free_contig_range(pmm, s, 1400);
	}
	free(t0);
	assert_int_equal(tu_free_after_drain(pmm), pmm_managed_frames(pmm));
	tu_finish(pmm, .bad = &fx->bad);
}

/* ------------------------------------------------------------------------
 * page_ref_sub_testzero
 * ------------------------------------------------------------------------ */

static void test_ref_sub_testzero(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad = { 0 };
	pmm_t *pmm;
	struct pmm_page *p;

	(void)state;
	tu_contig_config(&cfg, 16, &bad);
	pmm = tu_create(&cfg);
	p = pmm_alloc_pages(pmm, 0, 0);
	assert_non_null(p);

	/* shared case: count above nr */
	set_page_count(p, 5);
	assert_false(page_ref_sub_testzero(pmm, p, 2));
	assert_int_equal(page_ref_count(p), 3);
	/* the caller holds every remaining reference: exact, returns true */
	assert_true(page_ref_sub_testzero(pmm, p, 3));
	assert_int_equal(page_ref_count(p), 0);
	/* underflow: reported, count unchanged */
	assert_false(page_ref_sub_testzero(pmm, p, 1));
	assert_int_equal(page_ref_count(p), 0);
	assert_int_equal(tu_bad_count(&bad), 1);
	set_page_count(p, 2);
	assert_false(page_ref_sub_testzero(pmm, p, 3));
	assert_int_equal(page_ref_count(p), 2);
	assert_int_equal(tu_bad_count(&bad), 2);
	assert_false(page_ref_put_testzero(pmm, p));
	assert_true(page_ref_put_testzero(pmm, p));
	/* the page is frozen now: the checker accepts it, the frozen path frees it */
	tu_check(pmm);
	pmm_free_contig_frozen_range(pmm, pmm_page_to_pfn(pmm, p), 1);
	tu_finish(pmm, .bad = &bad, .reports = 2);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		TU_CONTIG_TESTS(test_bad_pages_leaked),
		TU_CONTIG_TESTS(test_bad_page_at_section_boundary),
		TU_CONTIG_TESTS(test_frozen_range),
		TU_CONTIG_TESTS(test_ebusy_keeps_pageblock_types),
		cmocka_unit_test(test_ref_sub_testzero),
	};

	return tu_main(argc, argv, tests);
}
