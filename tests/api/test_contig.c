/* SPDX-License-Identifier: MIT */
/*
 * test_contig.c - contiguous ranges through pmm.h only (design.md section
 * 5): pmm_free_contig_range on the batched and the per-page path,
 * pmm_free_pages_bulk, pmm_alloc_contig_range / pmm_alloc_contig_pages,
 * pmm_alloc_contig_frozen_range, pmm_alloc_pages_exact's batched tail,
 * and several threads: the reference-drop rule, concurrent frees of one
 * split block, and alloc_contig_range next to ordinary allocations. Bad
 * ranges and bad pages inside ranges are tests/api/test_bad_contig.c; the
 * white-box half (corrupted pages, frozen pages, pageblock types,
 * page_ref_sub_testzero) is tests/unit/test_contig_internal.c.
 *
 * Every scenario ends with pmm_check() == 0; most also drain and compare
 * buddyinfo with the fresh instance's, which is the contract's "the memory
 * came back in maximal blocks".
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SECTION_PAGES TU_SECTION_PAGES
#define MAX_ORDER TU_MAX_ORDER

static uint64_t contig_chunks(pmm_t *pmm)
{
	return tu_stats(pmm).contig_chunks;
}

/* ------------------------------------------------------------------------
 * 1. Ranges across section boundaries (SPARSE and VMEMMAP)
 * ------------------------------------------------------------------------ */

static void test_section_crossing(void **state)
{
	struct tu_fx *fx = *state;
	const pmm_pfn_t b = TU_BASE_PFN + 4 * SECTION_PAGES;	/* a section boundary */
	const struct {
		pmm_pfn_t start;
		unsigned long nr;
	} ranges[] = {
		{ b - 300, 1000 },				/* unaligned both ends */
		{ b - 1, 2 },					/* the two frames around it */
		{ b - SECTION_PAGES, 2 * SECTION_PAGES },	/* two whole sections */
		{ b - SECTION_PAGES - 5, 2 * SECTION_PAGES + 10 },	/* three sections */
		{ b - 2 * SECTION_PAGES + 7, 4 * SECTION_PAGES - 3 },	/* four */
		{ b + 1, SECTION_PAGES - 1 },			/* up to the next boundary */
	};
	pmm_t *pmm = tu_fx_contig(fx, 64);
	uint64_t managed = fx->managed;

	for (unsigned int i = 0; i < ARRAY_SIZE(ranges); i++) {
		pmm_pfn_t s = ranges[i].start;
		unsigned long nr = ranges[i].nr;
		uint64_t c0;
		int rc;

		rc = pmm_alloc_contig_range(pmm, s, s + nr, PMM_GFP_KERNEL);
		if (rc)
			print_message("%s: [%#" PRIx64 ", +%lu): %s\n", fx->v.name, s,
				      nr, pmm_strerror(rc));
		assert_int_equal(rc, 0);
		tu_assert_counts(pmm, s, nr, 1);
		assert_int_equal(tu_free_after_drain(pmm), managed - nr);
		tu_check(pmm);

		c0 = contig_chunks(pmm);
		pmm_free_contig_range(pmm, s, nr);
		assert_int_equal(contig_chunks(pmm) - c0,
				 fx->v.per_page ? 0 : contig_expected_chunks(s, nr, MAX_ORDER));
		tu_assert_counts(pmm, s, nr, 0);
		tu_check(pmm);
		assert_int_equal(tu_free_after_drain(pmm), managed);
		tu_buddy_assert_fresh(pmm, &fx->fresh);
	}

	/*
	 * Split blocks on both sides of the boundary freed by one call:
	 * the page pointer must be re-derived at the boundary.
	 */
	{
		pmm_pfn_t s = b - SECTION_PAGES;
		uint64_t c0;

		assert_int_equal(pmm_alloc_contig_range(pmm, s, s + 2 * SECTION_PAGES, 0), 0);
		/* hold frames on both sides so runs also end inside each section */
		pmm_get_page(pmm, tu_page_at(pmm, b - 1));
		pmm_get_page(pmm, tu_page_at(pmm, b + 3));
		c0 = contig_chunks(pmm);
		pmm_free_contig_range(pmm, s, 2 * SECTION_PAGES);
		if (!fx->v.per_page)
			assert_int_equal(contig_chunks(pmm) - c0,
					 contig_expected_chunks(s, SECTION_PAGES - 1, MAX_ORDER) +
						 contig_expected_chunks(b, 3, MAX_ORDER) +
						 contig_expected_chunks(b + 4, SECTION_PAGES - 4, MAX_ORDER));
		assert_int_equal(pmm_page_count(tu_page_at(pmm, b - 1)), 1);
		assert_int_equal(pmm_page_count(tu_page_at(pmm, b + 3)), 1);
		assert_int_equal(tu_free_after_drain(pmm), managed - 2);
		tu_check(pmm);
		pmm_put_page(pmm, tu_page_at(pmm, b - 1));
		pmm_put_page(pmm, tu_page_at(pmm, b + 3));
		tu_buddy_assert_fresh(pmm, &fx->fresh);
	}

	tu_finish(pmm, .bad = &fx->bad);
}

/* ------------------------------------------------------------------------
 * 2. A region starting at pfn 0 (no ctz(0))
 * ------------------------------------------------------------------------ */

static void test_pfn_zero(void **state)
{
	static const unsigned long lens[] = { 1024, 7, 1, 2, 1023, 3 * 1024 + 5 };
	struct tu_fx *fx = *state;
	struct tu_list l = { 0 };
	pmm_pfn_t zero_pfn = 1;
	pmm_t *pmm;
	uint64_t managed, c0;
	size_t n;

	tu_config_region(tu_fx_contig_config(fx, 64), 0, 0, TU_MIB(64) >> 12, 0);
	pmm = tu_fx_create(fx);
	assert_non_null(pmm_pfn_to_page(pmm, 0));
	managed = fx->managed;

	/* alloc_contig_range / free_contig_range starting at pfn 0 */
	for (unsigned int i = 0; i < ARRAY_SIZE(lens); i++) {
		assert_int_equal(pmm_alloc_contig_range(pmm, 0, lens[i], PMM_GFP_KERNEL), 0);
		tu_assert_counts(pmm, 0, lens[i], 1);
		assert_int_equal(tu_free_after_drain(pmm), managed - lens[i]);
		tu_check(pmm);
		c0 = contig_chunks(pmm);
		pmm_free_contig_range(pmm, 0, lens[i]);
		/* 1024 from pfn 0 is one order-10 chunk, 7 is 4 + 2 + 1 */
		assert_int_equal(contig_chunks(pmm) - c0,
				 fx->v.per_page ? 0 : contig_expected_chunks(0, lens[i], MAX_ORDER));
		tu_check(pmm);
		tu_buddy_assert_fresh(pmm, &fx->fresh);
	}
	if (!fx->v.per_page) {
		assert_int_equal(contig_expected_chunks(0, 1024, MAX_ORDER), 1);
		assert_int_equal(contig_expected_chunks(0, 7, MAX_ORDER), 3);
	}

	/* the order-10 block at pfn 0 from pmm_alloc_pages, split, freed as a range */
	n = tu_fill_exhaust(pmm, &l, PMM_GFP_KERNEL, MAX_ORDER);
	assert_int_equal(n, managed >> MAX_ORDER);
	for (size_t i = 0; i < l.n; i++) {
		if (tu_pfn(pmm, l.v[i].page) == 0) {
			struct tu_alloc a = tu_list_take(&l, i);

			zero_pfn = tu_pfn(pmm, a.page);
			break;
		}
	}
	assert_int_equal(zero_pfn, 0);
	tu_free_all(pmm, &l);
	pmm_split_page(pmm, tu_page_at(pmm, 0), MAX_ORDER);
	tu_assert_counts(pmm, 0, 1024, 1);
	/* page 0 keeps a reference: the run starts at pfn 1 */
	pmm_get_page(pmm, tu_page_at(pmm, 0));
	c0 = contig_chunks(pmm);
	pmm_free_contig_range(pmm, 0, 1024);
	assert_int_equal(contig_chunks(pmm) - c0,
			 fx->v.per_page ? 0 : contig_expected_chunks(1, 1023, MAX_ORDER));
	assert_int_equal(pmm_page_count(tu_page_at(pmm, 0)), 1);
	tu_assert_counts(pmm, 1, 1023, 0);
	assert_int_equal(tu_free_after_drain(pmm), managed - 1);
	tu_check(pmm);
	pmm_put_page(pmm, tu_page_at(pmm, 0));
	tu_buddy_assert_fresh(pmm, &fx->fresh);

	/* again, with the whole block from pfn 0 in one run */
	assert_int_equal(pmm_alloc_contig_range(pmm, 0, 1024, 0), 0);
	c0 = contig_chunks(pmm);
	pmm_free_contig_range(pmm, 0, 1024);
	assert_int_equal(contig_chunks(pmm) - c0, fx->v.per_page ? 0 : 1);
	tu_buddy_assert_fresh(pmm, &fx->fresh);

	/* pmm_alloc_contig_pages in a zone that starts at pfn 0 */
	{
		struct pmm_page *p = pmm_alloc_contig_pages(pmm, 1000, 0, -1);
		pmm_pfn_t pfn;

		assert_non_null(p);
		pfn = tu_pfn(pmm, p);
		tu_assert_counts(pmm, pfn, 1000, 1);
		tu_check(pmm);
		pmm_free_contig_range(pmm, pfn, 1000);
		tu_buddy_assert_fresh(pmm, &fx->fresh);
	}

	tu_finish(pmm, .bad = &fx->bad);
}

/* ------------------------------------------------------------------------
 * 3. Pages that keep references end a run and go at their last put
 * ------------------------------------------------------------------------ */

static void test_held_pages_end_runs(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 64);
	uint64_t managed = fx->managed, c0;
	pmm_pfn_t pfn;

	/* The brief's case: order 4, an extra reference on page 5. */
	pfn = tu_alloc_split(pmm, 4);
	pmm_get_page(pmm, tu_page_at(pmm, pfn + 5));
	assert_int_equal(pmm_page_count(tu_page_at(pmm, pfn + 5)), 2);
	c0 = contig_chunks(pmm);
	pmm_free_contig_range(pmm, pfn, 16);
	/* runs [0,5) and [6,16): 4+1 and 2+8 */
	assert_int_equal(contig_chunks(pmm) - c0, fx->v.per_page ? 0 : 4);
	assert_int_equal(pmm_page_count(tu_page_at(pmm, pfn + 5)), 1);
	for (unsigned long i = 0; i < 16; i++)
		if (i != 5)
			assert_int_equal(pmm_page_count(tu_page_at(pmm, pfn + i)), 0);
	assert_int_equal(tu_free_after_drain(pmm), managed - 1);
	tu_check(pmm);
	pmm_put_page(pmm, tu_page_at(pmm, pfn + 5));
	assert_int_equal(pmm_page_count(tu_page_at(pmm, pfn + 5)), 0);
	assert_int_equal(tu_free_after_drain(pmm), managed);
	tu_check(pmm);
	tu_buddy_assert_fresh(pmm, &fx->fresh);

	/* Held pages at both ends and in the middle of an order-9 block, two extra refs on one. */
	pfn = tu_alloc_split(pmm, 9);
	{
		static const unsigned long held[] = { 0, 100, 101, 300, 511 };

		for (unsigned int i = 0; i < ARRAY_SIZE(held); i++)
			pmm_get_page(pmm, tu_page_at(pmm, pfn + held[i]));
		pmm_get_page(pmm, tu_page_at(pmm, pfn + 300));
		c0 = contig_chunks(pmm);
		pmm_free_contig_range(pmm, pfn, 512);
		if (!fx->v.per_page)
			assert_int_equal(contig_chunks(pmm) - c0,
					 contig_expected_chunks(pfn + 1, 99, MAX_ORDER) +
						 contig_expected_chunks(pfn + 102, 198, MAX_ORDER) +
						 contig_expected_chunks(pfn + 301, 210, MAX_ORDER));
		assert_int_equal(pmm_page_count(tu_page_at(pmm, pfn + 300)), 2);
		assert_int_equal(tu_free_after_drain(pmm), managed - ARRAY_SIZE(held));
		tu_check(pmm);
		/* the second round of puts: only 300 survives it */
		pmm_free_contig_range(pmm, pfn + 100, 2);
		pmm_put_page(pmm, tu_page_at(pmm, pfn + 0));
		pmm_put_page(pmm, tu_page_at(pmm, pfn + 511));
		pmm_put_page(pmm, tu_page_at(pmm, pfn + 300));
		assert_int_equal(pmm_page_count(tu_page_at(pmm, pfn + 300)), 1);
		assert_int_equal(tu_free_after_drain(pmm), managed - 1);
		tu_check(pmm);
		pmm_free_contig_range(pmm, pfn + 300, 1);
	}
	assert_int_equal(tu_free_after_drain(pmm), managed);
	tu_buddy_assert_fresh(pmm, &fx->fresh);

	tu_finish(pmm, .bad = &fx->bad);
}

/* ------------------------------------------------------------------------
 * 4. Ranges unaligned at either end
 * ------------------------------------------------------------------------ */

static void test_unaligned_ranges(void **state)
{
	struct tu_fx *fx = *state;
	struct prng rng;
	pmm_t *pmm = tu_fx_contig(fx, 64);
	uint64_t managed = fx->managed, c0;
	pmm_pfn_t pfn;

	tu_rng_init(&rng, "unaligned_ranges", 6);

	/* The brief's case: [pfn+3, pfn+1000) of a split order-10 block. */
	pfn = tu_alloc_split(pmm, MAX_ORDER);
	assert_int_equal(pfn % 1024, 0);
	c0 = contig_chunks(pmm);
	pmm_free_contig_range(pmm, pfn + 3, 997);
	/* 1+4+8+16+32+64+128+256 up to 512, then 256+128+64+32+8 */
	assert_int_equal(contig_chunks(pmm) - c0, fx->v.per_page ? 0 : 13);
	tu_assert_counts(pmm, pfn, 3, 1);
	tu_assert_counts(pmm, pfn + 3, 997, 0);
	tu_assert_counts(pmm, pfn + 1000, 24, 1);
	assert_int_equal(tu_free_after_drain(pmm), managed - 27);
	tu_check(pmm);
	pmm_free_contig_range(pmm, pfn + 1000, 24);
	tu_check(pmm);
	pmm_free_contig_range(pmm, pfn, 3);
	tu_check(pmm);
	tu_buddy_assert_fresh(pmm, &fx->fresh);

	/*
	 * Batched: chunks of an aligned run go to the buddy at once when
	 * the pcp does not cache their order (order 10), without a drain.
	 */
	if (!fx->v.per_page) {
		struct pmm_zone_info before, after;

		pfn = tu_alloc_split(pmm, MAX_ORDER);
		pmm_drain_all_pages(pmm);
		tu_zone_of_pfn(pmm, pfn, &before);
		pmm_free_contig_range(pmm, pfn, 1024);
		tu_zone_of_pfn(pmm, pfn, &after);
		assert_int_equal(after.nr_free[MAX_ORDER], before.nr_free[MAX_ORDER] + 1);
		assert_int_equal(after.pcp_pages, before.pcp_pages);
		tu_check(pmm);
		tu_buddy_assert_fresh(pmm, &fx->fresh);
	}

	/* Random partitions of split order-10 blocks, pieces freed in random order. */
	for (int round = 0; round < 40; round++) {
		pmm_pfn_t cut[66];
		unsigned int ncut = 0, order = 1 + (unsigned int)prng_below(&rng, MAX_ORDER);
		unsigned long size = 1ul << order;
		unsigned int idx[66];

		pfn = tu_alloc_split(pmm, order);
		cut[ncut++] = 0;
		for (unsigned int k = 0; k < 1 + prng_below(&rng, 16); k++)
			cut[ncut++] = 1 + prng_below(&rng, size - 1);
		cut[ncut++] = size;
		/* sort and dedupe the cuts */
		for (unsigned int a = 1; a < ncut; a++)
			for (unsigned int c = a; c > 0 && cut[c - 1] > cut[c]; c--) {
				pmm_pfn_t t = cut[c];

				cut[c] = cut[c - 1];
				cut[c - 1] = t;
			}
		unsigned int w = 1;
		for (unsigned int a = 1; a < ncut; a++)
			if (cut[a] != cut[w - 1])
				cut[w++] = cut[a];
		ncut = w;
		for (unsigned int a = 0; a + 1 < ncut; a++)
			idx[a] = a;
		prng_shuffle(&rng, idx, ncut - 1, sizeof(idx[0]));
		for (unsigned int a = 0; a + 1 < ncut; a++) {
			pmm_pfn_t s = pfn + cut[idx[a]];
			unsigned long nr = (unsigned long)(cut[idx[a] + 1] - cut[idx[a]]);

			c0 = contig_chunks(pmm);
			pmm_free_contig_range(pmm, s, nr);
			assert_int_equal(contig_chunks(pmm) - c0,
					 fx->v.per_page ? 0 : contig_expected_chunks(s, nr, MAX_ORDER));
			tu_assert_counts(pmm, s, nr, 0);
		}
		tu_check(pmm);
		tu_buddy_assert_fresh(pmm, &fx->fresh);
	}

	tu_finish(pmm, .bad = &fx->bad);
}

/* ------------------------------------------------------------------------
 * 5. Batched and per-page paths agree over seeded random operations
 * ------------------------------------------------------------------------ */

#define CMP_MIB 64
#define CMP_PAGES (TU_MIB(CMP_MIB) >> 12)

struct cmp_ctx {
	pmm_t *pmm[2];			/* [0] batched, [1] per-page */
	struct tu_bad bad[2];
	uint8_t *refs;			/* references the test holds, per frame */
	uint64_t held;			/* frames with refs > 0 */
};

static pmm_pfn_t cmp_pfn(size_t i)
{
	return TU_BASE_PFN + i;
}

/* Compare buddyinfo after draining, pgfree/pgalloc, and run the checker. */
static void cmp_compare(struct cmp_ctx *c, const char *when)
{
	struct tu_buddy a, b;
	struct pmm_stats sa, sb;

	tu_buddy_snap(c->pmm[0], &a);
	tu_buddy_snap(c->pmm[1], &b);
	sa = tu_stats(c->pmm[0]);
	sb = tu_stats(c->pmm[1]);
	if (sa.pgfree != sb.pgfree || sa.pgalloc != sb.pgalloc)
		print_message("%s: batched pgfree %" PRIu64 " pgalloc %" PRIu64
			      ", per-page pgfree %" PRIu64 " pgalloc %" PRIu64 "\n",
			      when, sa.pgfree, sa.pgalloc, sb.pgfree, sb.pgalloc);
	tu_buddy_assert_equal(&a, &b);
	assert_int_equal(sa.pgfree, sb.pgfree);
	assert_int_equal(sa.pgalloc, sb.pgalloc);
	assert_int_equal(sb.contig_chunks, 0);
	for (int k = 0; k < 2; k++) {
		struct pmm_zone_info zi;

		tu_check(c->pmm[k]);
		assert_int_equal(pmm_free_frames(c->pmm[k]), CMP_PAGES - c->held);
		for (unsigned int z = 0; z < pmm_nr_zones(c->pmm[k]); z++) {
			tu_zone(c->pmm[k], z, &zi);
			assert_int_equal(zi.nr_pageblocks_mt[PMM_MIGRATE_ISOLATE], 0);
		}
	}
}

static void cmp_get(struct cmp_ctx *c, size_t i)
{
	for (int k = 0; k < 2; k++)
		pmm_get_page(c->pmm[k], tu_page_at(c->pmm[k], cmp_pfn(i)));
	c->refs[i]++;
}

/* A random run of held frames starting at or after @from (wrapping); false if none. */
static bool cmp_pick_held_run(struct cmp_ctx *c, struct prng *r, size_t *s, size_t *n)
{
	size_t from = prng_below(r, CMP_PAGES);

	for (size_t k = 0; k < CMP_PAGES; k++) {
		size_t i = (from + k) % CMP_PAGES;
		size_t max = 1 + prng_below(r, prng_below(r, 4) ? 64 : 2048), len = 0;

		if (!c->refs[i])
			continue;
		while (i + len < CMP_PAGES && len < max && c->refs[i + len])
			len++;
		*s = i;
		*n = len;
		return true;
	}
	return false;
}

/* Variants: the memmap model; both paths run in every case. */
static void test_batched_matches_per_page(void **state)
{
	const struct tu_fx *fx = *state;
	struct cmp_ctx c = { 0 };
	struct tu_buddy fresh;
	struct prng rng;
	const int nops = 1500;
	unsigned long n_alloc = 0, n_busy = 0, n_free = 0, n_get = 0, n_bulk = 0, n_cmp = 0;

	tu_rng_init(&rng, "batched_vs_per_page", 7);
	for (int k = 0; k < 2; k++) {
		struct pmm_config cfg;

		tu_contig_config(&cfg, CMP_MIB, &c.bad[k]);
		cfg.memmap = fx->v.memmap;
		cfg.contig_per_page = k == 1;
		c.pmm[k] = tu_create(&cfg);
		assert_int_equal(pmm_managed_frames(c.pmm[k]), CMP_PAGES);
	}
	tu_buddy_snap(c.pmm[0], &fresh);
	c.refs = calloc(CMP_PAGES, 1);
	assert_non_null(c.refs);

	for (int op = 0; op < nops; op++) {
		unsigned int kind = (unsigned int)prng_below(&rng, 100);
		size_t s, n;

		if (kind < 35) {
			/* alloc_contig_range: short or long, anywhere (section crossings included) */
			n = 1 + prng_below(&rng, prng_below(&rng, 3) ? 300 : 3000);
			s = prng_below(&rng, CMP_PAGES - n + 1);
			bool busy = false;
			for (size_t i = s; i < s + n; i++)
				busy |= c.refs[i] != 0;
			int r0 = pmm_alloc_contig_range(c.pmm[0], cmp_pfn(s), cmp_pfn(s + n), 0);
			int r1 = pmm_alloc_contig_range(c.pmm[1], cmp_pfn(s), cmp_pfn(s + n), 0);

			if (r0 != r1 || r0 != (busy ? -PMM_EBUSY : 0))
				print_message("op %d: alloc [%zu, +%zu) busy %d: batched %d per-page %d\n",
					      op, s, n, busy, r0, r1);
			assert_int_equal(r0, busy ? -PMM_EBUSY : 0);
			assert_int_equal(r1, r0);
			if (!r0) {
				memset(c.refs + s, 1, n);
				c.held += n;
				n_alloc++;
			} else {
				n_busy++;
			}
		} else if (kind < 70) {
			/* free_contig_range over a run of held frames */
			if (!cmp_pick_held_run(&c, &rng, &s, &n))
				continue;
			for (int k = 0; k < 2; k++)
				pmm_free_contig_range(c.pmm[k], cmp_pfn(s), n);
			for (size_t i = s; i < s + n; i++)
				if (--c.refs[i] == 0)
					c.held--;
			n_free++;
		} else if (kind < 82) {
			/* extra references on a few held frames: they end later runs */
			if (!cmp_pick_held_run(&c, &rng, &s, &n))
				continue;
			for (size_t i = s; i < s + n && i < s + 4; i++)
				if (c.refs[i] < 200) {
					cmp_get(&c, i);
					n_get++;
				}
		} else if (kind < 95) {
			/* free_pages_bulk of held frames, shuffled, with NULL slots */
			struct pmm_page *arr[2][96];
			size_t idx[96];
			size_t cnt = 0;

			while (cnt < 96 && cmp_pick_held_run(&c, &rng, &s, &n)) {
				size_t take = n < 8 ? n : 8;
				bool dup = false;

				for (size_t j = 0; j < cnt; j++)
					dup |= idx[j] >= s && idx[j] < s + take;
				if (dup)
					break;
				for (size_t j = 0; j < take && cnt < 96; j++)
					idx[cnt++] = s + j;
			}
			if (!cnt)
				continue;
			if (prng_below(&rng, 2))
				prng_shuffle(&rng, idx, cnt, sizeof(idx[0]));
			for (size_t j = 0; j < cnt; j++)
				for (int k = 0; k < 2; k++)
					arr[k][j] = tu_page_at(c.pmm[k], cmp_pfn(idx[j]));
			if (prng_below(&rng, 2) && cnt > 2) {
				/* a NULL slot: that frame keeps its reference */
				size_t j = prng_below(&rng, cnt);

				arr[0][j] = arr[1][j] = NULL;
				idx[j] = SIZE_MAX;
			}
			for (int k = 0; k < 2; k++)
				pmm_free_pages_bulk(c.pmm[k], arr[k], cnt);
			n_bulk++;
			for (size_t j = 0; j < cnt; j++)
				if (idx[j] != SIZE_MAX && --c.refs[idx[j]] == 0)
					c.held--;
		} else {
			cmp_compare(&c, "periodic");
			n_cmp++;
		}
	}
	print_message("ranges taken %lu, busy %lu; frees %lu, extra refs %lu, bulk frees %lu, "
		      "comparisons %lu; %" PRIu64 " frames held\n", n_alloc, n_busy, n_free, n_get,
		      n_bulk, n_cmp, c.held);
	assert_true(n_alloc > 0 && n_busy > 0 && n_free > 0 && n_bulk > 0);
	cmp_compare(&c, "end of operations");

	/* give everything back, run by run, and end with the fresh buddyinfo */
	for (size_t i = 0; i < CMP_PAGES;) {
		size_t n = 0;

		if (!c.refs[i]) {
			i++;
			continue;
		}
		while (i + n < CMP_PAGES && c.refs[i + n])
			n++;
		for (int k = 0; k < 2; k++)
			pmm_free_contig_range(c.pmm[k], cmp_pfn(i), n);
		for (size_t j = i; j < i + n; j++)
			if (--c.refs[j] == 0)
				c.held--;
		/* stay on i: frames with more references get another pass */
	}
	assert_int_equal(c.held, 0);
	cmp_compare(&c, "all freed");
	for (int k = 0; k < 2; k++)
		tu_finish(c.pmm[k], .bad = &c.bad[k], .fresh = &fresh);
	free(c.refs);
}

/* ------------------------------------------------------------------------
 * 6. alloc_contig_range: busy pages, success, frozen ranges
 * ------------------------------------------------------------------------ */

static void test_alloc_contig_range_busy(void **state)
{
	struct tu_fx *fx = *state;
	struct tu_buddy before, after;
	struct tu_list keep = { 0 };
	struct tu_pageblocks pb0, pb1;
	pmm_t *pmm = tu_fx_contig(fx, 64);
	uint64_t managed = fx->managed;

	/*
	 * Give pageblocks different migratetypes: unmovable and
	 * reclaimable requests claim movable pageblocks by fallback.
	 * Some of those blocks stay allocated, some small pages too.
	 */
	for (int i = 0; i < 3; i++) {
		struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 9);
		struct pmm_page *q = pmm_alloc_pages(pmm, PMM_GFP_RECLAIMABLE, 9);
		struct pmm_page *r = pmm_alloc_pages(pmm, PMM_GFP_MOVABLE, 3);

		assert_non_null(p);
		assert_non_null(q);
		assert_non_null(r);
		tu_list_push(&keep, p, 9, TU_PAGES, 0);
		tu_list_push(&keep, q, 9, TU_PAGES, 0);
		tu_list_push(&keep, r, 3, TU_PAGES, 0);
	}
	/* free every other one so free memory lies in pageblocks of each type */
	for (size_t i = keep.n; i-- > 0;)
		if (i % 2) {
			struct tu_alloc a = tu_list_take(&keep, i);

			tu_free_one(pmm, &a);
		}
	pmm_drain_all_pages(pmm);
	tu_pageblocks_snap(pmm, &pb0);
	{
		struct pmm_zone_info zi;
		unsigned int types = 0;

		tu_zone(pmm, 0, &zi);
		for (int mt = 0; mt < PMM_MIGRATE_PCPTYPES; mt++)
			types += zi.nr_pageblocks_mt[mt] != 0;
		print_message("%s: pageblocks unmovable %" PRIu64 " movable %" PRIu64
			      " reclaimable %" PRIu64 "\n", fx->v.name,
			      zi.nr_pageblocks_mt[PMM_MIGRATE_UNMOVABLE],
			      zi.nr_pageblocks_mt[PMM_MIGRATE_MOVABLE],
			      zi.nr_pageblocks_mt[PMM_MIGRATE_RECLAIMABLE]);
		assert_true(types >= 2);
	}

	/* Each kept block is a busy frame; ranges over it fail and change nothing. */
	for (size_t i = 0; i < keep.n; i++) {
		pmm_pfn_t busy = tu_pfn(pmm, keep.v[i].page) + (1u << keep.v[i].order) - 1;
		const struct {
			long off;	/* start relative to the busy frame */
			unsigned long nr;
		} cases[] = {
			{ -1500, 3000 }, { 0, 1 }, { 0, 700 }, { -699, 700 }, { -5, 11 },
		};

		for (unsigned int k = 0; k < ARRAY_SIZE(cases); k++) {
			pmm_pfn_t s = busy + (pmm_pfn_t)cases[k].off;
			uint64_t f0;
			int rc;

			if (s < TU_BASE_PFN || s + cases[k].nr > TU_BASE_PFN + managed)
				continue;
			tu_buddy_snap(pmm, &before);
			f0 = pmm_free_frames(pmm);
			rc = pmm_alloc_contig_range(pmm, s, s + cases[k].nr, PMM_GFP_KERNEL);
			assert_int_equal(rc, -PMM_EBUSY);
			tu_pageblocks_snap(pmm, &pb1);
			tu_pageblocks_assert_equal(&pb0, &pb1);
			tu_buddy_snap(pmm, &after);
			tu_buddy_assert_equal(&before, &after);
			assert_int_equal(pmm_free_frames(pmm), f0);
			tu_check(pmm);
		}
	}

	/*
	 * Only frames inside the range count: a busy frame right next to
	 * it (same pageblock) is not in the way.
	 */
	{
		pmm_pfn_t x = 0;

		for (pmm_pfn_t cand = TU_BASE_PFN + 300; cand + 300 < TU_BASE_PFN + managed;
		     cand += 257) {
			bool clear = true;

			for (size_t i = 0; i < keep.n; i++) {
				pmm_pfn_t kp = tu_pfn(pmm, keep.v[i].page);

				clear &= kp + (1u << keep.v[i].order) + 200 <= cand ||
					 kp >= cand + 200;
			}
			if (clear) {
				x = cand;
				break;
			}
		}
		assert_true(x != 0);
		assert_int_equal(pmm_alloc_contig_range(pmm, x, x + 1, 0), 0);
		assert_int_equal(pmm_alloc_contig_range(pmm, x - 100, x + 1, 0), -PMM_EBUSY);
		assert_int_equal(pmm_alloc_contig_range(pmm, x, x + 100, 0), -PMM_EBUSY);
		assert_int_equal(pmm_alloc_contig_range(pmm, x + 1, x + 101, 0), 0);
		assert_int_equal(pmm_alloc_contig_range(pmm, x - 100, x, 0), 0);
		tu_assert_counts(pmm, x - 100, 201, 1);
		tu_check(pmm);
		pmm_free_contig_range(pmm, x - 100, 201);
		tu_check(pmm);
	}

	/* Free the busy pages: the same ranges succeed now. */
	{
		pmm_pfn_t busy = tu_pfn(pmm, keep.v[0].page) + 5;
		pmm_pfn_t s = busy - 1500, e = busy + 1500;
		uint64_t f0;

		tu_free_all(pmm, &keep);
		assert_int_equal(tu_free_after_drain(pmm), managed);
		if (s < TU_BASE_PFN)
			s = TU_BASE_PFN;
		if (e > TU_BASE_PFN + managed)
			e = TU_BASE_PFN + managed;
		f0 = tu_free_after_drain(pmm);
		assert_int_equal(pmm_alloc_contig_range(pmm, s, e, PMM_GFP_KERNEL), 0);
		tu_assert_counts(pmm, s, (unsigned long)(e - s), 1);
		/* not free: none of them can be handed out again, and the count says so */
		assert_int_equal(tu_free_after_drain(pmm), f0 - (e - s));
		tu_check(pmm);
		{
			/* a second take of an overlapping range is busy */
			assert_int_equal(pmm_alloc_contig_range(pmm, e - 2, e, 0), -PMM_EBUSY);
			assert_int_equal(pmm_alloc_contig_range(pmm, s, s + 1, 0), -PMM_EBUSY);
			if (s > TU_BASE_PFN)
				assert_int_equal(pmm_alloc_contig_range(pmm, s - 1, s + 1, 0),
						 -PMM_EBUSY);
			if (e < TU_BASE_PFN + managed)
				assert_int_equal(pmm_alloc_contig_range(pmm, e - 1, e + 1, 0),
						 -PMM_EBUSY);
		}
		/* and nothing else in the instance hands them out */
		{
			struct tu_list all = { 0 };

			tu_fill_exhaust(pmm, &all, PMM_GFP_KERNEL, 0);
			assert_int_equal(all.n, managed - (e - s));
			for (size_t i = 0; i < all.n; i++) {
				pmm_pfn_t p = tu_pfn(pmm, all.v[i].page);

				assert_false(p >= s && p < e);
			}
			tu_free_all(pmm, &all);
		}
		tu_check(pmm);
		pmm_free_contig_range(pmm, s, (unsigned long)(e - s));
		assert_int_equal(tu_free_after_drain(pmm), managed);
		tu_check(pmm);
	}
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/*
 * alloc_contig_range over a busy page fails with -PMM_EBUSY and puts every
 * pageblock back to its migratetype; once the page is free it succeeds.
 */
static void test_contig_range_busy(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	struct tu_buddy fresh;
	struct pmm_zone_info before, after;
	pmm_t *pmm;
	struct pmm_page *p;
	pmm_pfn_t pfn;
	uint64_t f0;

	(void)state;
	tu_config(&cfg, 64, &bad);
	pmm = tu_create(&cfg);
	tu_buddy_snap(pmm, &fresh);
	p = pmm_alloc_pages(pmm, PMM_GFP_MOVABLE, 0);
	assert_non_null(p);
	pfn = tu_pfn(pmm, p);
	tu_zone(pmm, 0, &before);
	f0 = pmm_free_frames(pmm);
	pmm_pfn_t start = pfn > TU_BASE_PFN + 700 ? pfn - 700 : TU_BASE_PFN;
	assert_int_equal(pmm_alloc_contig_range(pmm, start, pfn + 300, PMM_GFP_KERNEL), -PMM_EBUSY);
	tu_zone(pmm, 0, &after);
	assert_memory_equal(before.nr_pageblocks_mt, after.nr_pageblocks_mt,
			    sizeof(before.nr_pageblocks_mt));
	assert_int_equal(after.nr_pageblocks_mt[PMM_MIGRATE_ISOLATE], 0);
	assert_int_equal(tu_free_after_drain(pmm), f0);
	assert_int_equal(pmm_page_count(p), 1);
	tu_check(pmm);

	pmm_free_pages(pmm, p, 0);
	assert_int_equal(pmm_alloc_contig_range(pmm, start, pfn + 300, PMM_GFP_KERNEL), 0);
	for (pmm_pfn_t x = start; x < pfn + 300; x++)
		assert_int_equal(pmm_page_count(pmm_pfn_to_page(pmm, x)), 1);
	assert_int_equal(tu_free_after_drain(pmm), pmm_managed_frames(pmm) - (pfn + 300 - start));
	tu_check(pmm);
	pmm_free_contig_range(pmm, start, pfn + 300 - start);
	tu_finish(pmm, .fresh = &fresh);
}

/* pmm_alloc_contig_frozen_range + pmm_free_contig_frozen_range through the API */
static void test_frozen_range_api(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 64);
	uint64_t managed = fx->managed, c0;
	const pmm_pfn_t b = TU_BASE_PFN + 5 * SECTION_PAGES;
	const struct {
		pmm_pfn_t s;
		unsigned long nr;
	} ranges[] = { { b - 3, 7 }, { b - SECTION_PAGES, 1024 }, { b - 600, 1900 }, { b, 1 } };

	for (unsigned int i = 0; i < ARRAY_SIZE(ranges); i++) {
		pmm_pfn_t s = ranges[i].s;
		unsigned long nr = ranges[i].nr;

		assert_int_equal(pmm_alloc_contig_frozen_range(pmm, s, s + nr, 0), 0);
		/* frozen: refcount 0, yet not free */
		tu_assert_counts(pmm, s, nr, 0);
		assert_int_equal(tu_free_after_drain(pmm), managed - nr);
		assert_int_equal(pmm_alloc_contig_range(pmm, s, s + nr, 0), -PMM_EBUSY);
		tu_check(pmm);
		c0 = contig_chunks(pmm);
		pmm_free_contig_frozen_range(pmm, s, nr);
		assert_int_equal(contig_chunks(pmm) - c0,
				 fx->v.per_page ? 0 : contig_expected_chunks(s, nr, MAX_ORDER));
		tu_check(pmm);
		tu_buddy_assert_fresh(pmm, &fx->fresh);
	}
	tu_finish(pmm, .bad = &fx->bad);
}

/* ------------------------------------------------------------------------
 * 7. alloc_contig_pages
 * ------------------------------------------------------------------------ */

static void take_and_give_back(pmm_t *pmm, unsigned long nr, const struct tu_buddy *fresh,
			       uint64_t held_before)
{
	uint64_t managed = pmm_managed_frames(pmm);
	struct pmm_page *p = pmm_alloc_contig_pages(pmm, nr, PMM_GFP_KERNEL, -1);
	pmm_pfn_t pfn;

	if (!p)
		print_message("alloc_contig_pages(%lu) failed\n", nr);
	assert_non_null(p);
	pfn = tu_pfn(pmm, p);
	tu_assert_counts(pmm, pfn, nr, 1);
	assert_int_equal(tu_free_after_drain(pmm), managed - held_before - nr);
	tu_check(pmm);
	pmm_free_contig_range(pmm, pfn, nr);
	assert_int_equal(tu_free_after_drain(pmm), managed - held_before);
	tu_check(pmm);
	if (fresh)
		tu_buddy_assert_fresh(pmm, fresh);
}

static void test_alloc_contig_pages(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad = { 0 };
	struct tu_buddy fresh;
	pmm_t *pmm;
	uint64_t managed;

	(void)state;
	tu_contig_config(&cfg, 256, &bad);
	pmm = tu_create(&cfg);
	tu_buddy_snap(pmm, &fresh);
	managed = pmm_managed_frames(pmm);
	assert_int_equal(managed, 65536);

	take_and_give_back(pmm, 16384, &fresh, 0);
	take_and_give_back(pmm, 1000, &fresh, 0);
	take_and_give_back(pmm, 1, &fresh, 0);
	take_and_give_back(pmm, 1025, &fresh, 0);
	take_and_give_back(pmm, managed, &fresh, 0);	/* all of it */

	/* impossible: more than the memory */
	assert_null(pmm_alloc_contig_pages(pmm, managed + 1, PMM_GFP_KERNEL | PMM_GFP_NOWARN, -1));
	assert_null(pmm_alloc_contig_pages(pmm, 4 * managed, PMM_GFP_KERNEL | PMM_GFP_NOWARN, -1));
	assert_int_equal(tu_free_after_drain(pmm), managed);
	tu_check(pmm);

	/* busy frames in the way: the search skips to a range that is free */
	{
		struct pmm_page *held[3];
		const pmm_pfn_t at[3] = { TU_BASE_PFN + 5, TU_BASE_PFN + 16384 + 9000,
					  TU_BASE_PFN + 3 * 16384 - 1 };
		struct pmm_page *p;
		pmm_pfn_t pfn;

		for (int i = 0; i < 3; i++) {
			assert_int_equal(pmm_alloc_contig_range(pmm, at[i], at[i] + 1, 0), 0);
			held[i] = tu_page_at(pmm, at[i]);
		}
		p = pmm_alloc_contig_pages(pmm, 16384, PMM_GFP_KERNEL, -1);
		assert_non_null(p);
		pfn = tu_pfn(pmm, p);
		for (int i = 0; i < 3; i++)
			assert_false(at[i] >= pfn && at[i] < pfn + 16384);
		tu_assert_counts(pmm, pfn, 16384, 1);
		/* with three quarters blocked, a second one cannot be found */
		assert_null(pmm_alloc_contig_pages(pmm, 16384, PMM_GFP_KERNEL | PMM_GFP_NOWARN, -1));
		assert_int_equal(tu_free_after_drain(pmm), managed - 16384 - 3);
		tu_check(pmm);
		/* 1000 frames still fit around the busy ones */
		take_and_give_back(pmm, 1000, NULL, 16384 + 3);
		pmm_free_contig_range(pmm, pfn, 16384);
		for (int i = 0; i < 3; i++)
			pmm_put_page(pmm, held[i]);
	}
	tu_finish(pmm, .bad = &bad, .fresh = &fresh);
}

/* ------------------------------------------------------------------------
 * 8. free_pages_bulk
 * ------------------------------------------------------------------------ */

static void test_free_pages_bulk(void **state)
{
	struct tu_fx *fx = *state;
	struct prng rng;
	struct tu_report_mark m;
	struct pmm_page *arr[600];
	pmm_t *pmm = tu_fx_contig(fx, 64);
	uint64_t managed = fx->managed, c0;
	pmm_pfn_t pfn;

	tu_rng_init(&rng, "free_pages_bulk", 10);
	tu_report_mark(pmm, &fx->bad, &m);

	/* sorted: one aligned run of 256 is one chunk */
	pfn = tu_alloc_split(pmm, 8);
	for (int i = 0; i < 256; i++)
		arr[i] = tu_page_at(pmm, pfn + i);
	c0 = contig_chunks(pmm);
	pmm_free_pages_bulk(pmm, arr, 256);
	assert_int_equal(contig_chunks(pmm) - c0, fx->v.per_page ? 0 : 1);
	tu_assert_counts(pmm, pfn, 256, 0);
	tu_check(pmm);
	tu_buddy_assert_fresh(pmm, &fx->fresh);

	/* shuffled: every page freed once */
	pfn = tu_alloc_split(pmm, 9);
	for (int i = 0; i < 512; i++)
		arr[i] = tu_page_at(pmm, pfn + i);
	prng_shuffle(&rng, arr, 512, sizeof(arr[0]));
	pmm_free_pages_bulk(pmm, arr, 512);
	tu_assert_counts(pmm, pfn, 512, 0);
	tu_check(pmm);
	tu_buddy_assert_fresh(pmm, &fx->fresh);

	/* pages from pmm_alloc_pages_bulk, some slots NULL, freed in two orders */
	for (int variant = 0; variant < 2; variant++) {
		struct pmm_page *nulled[600];
		unsigned int nn = 0;

		memset(arr, 0, sizeof(arr));
		assert_int_equal(pmm_alloc_pages_bulk(pmm, 0, 600, arr), 600);
		if (variant)
			prng_shuffle(&rng, arr, 600, sizeof(arr[0]));
		for (int i = 0; i < 600; i += 1 + (int)prng_below(&rng, 20)) {
			nulled[nn++] = arr[i];
			arr[i] = NULL;
		}
		assert_int_equal(tu_free_after_drain(pmm), managed - 600);
		pmm_free_pages_bulk(pmm, arr, 600);
		assert_int_equal(tu_free_after_drain(pmm), managed - nn);
		for (unsigned int i = 0; i < nn; i++)
			assert_int_equal(pmm_page_count(nulled[i]), 1);
		tu_check(pmm);
		for (unsigned int i = 0; i < nn; i++)
			pmm_put_page(pmm, nulled[i]);
		tu_check(pmm);
		tu_buddy_assert_fresh(pmm, &fx->fresh);
	}
	/* an all-NULL array and an empty one do nothing */
	memset(arr, 0, sizeof(arr));
	pmm_free_pages_bulk(pmm, arr, 600);
	pmm_free_pages_bulk(pmm, arr, 0);
	pmm_free_pages_bulk(pmm, NULL, 5);
	tu_assert_reports(pmm, &fx->bad, &m, 0, NULL);

	/*
	 * One page twice: reported exactly once, never freed twice.
	 * Adjacent duplicate, far duplicate, duplicate at the start,
	 * duplicate in a shuffled array.
	 */
	for (int variant = 0; variant < 4; variant++) {
		unsigned int n = 64, dup = 17;

		pfn = tu_alloc_split(pmm, 6);
		for (unsigned int i = 0; i < n; i++)
			arr[i] = tu_page_at(pmm, pfn + i);
		switch (variant) {
		case 0:	/* ..., 17, 17, 18, ... */
			memmove(&arr[dup + 1], &arr[dup], (n - dup) * sizeof(arr[0]));
			break;
		case 1:	/* at the end */
			arr[n] = arr[dup];
			break;
		case 2:	/* at the start */
			memmove(&arr[1], &arr[0], n * sizeof(arr[0]));
			arr[0] = tu_page_at(pmm, pfn + dup);
			break;
		default:
			arr[n] = arr[dup];
			prng_shuffle(&rng, arr, n + 1, sizeof(arr[0]));
			break;
		}
		tu_report_mark(pmm, &fx->bad, &m);
		pmm_free_pages_bulk(pmm, arr, n + 1);
		if (tu_reports_since(pmm, &fx->bad, &m) != 1)
			print_message("%s: duplicate variant %d: %" PRIu64 " reports\n",
				      fx->v.name, variant, tu_reports_since(pmm, &fx->bad, &m));
		tu_assert_reports(pmm, &fx->bad, &m, 1, NULL);
		assert_int_equal(fx->bad.last_pfn, pfn + dup);
		tu_assert_counts(pmm, pfn, n, 0);
		assert_int_equal(pmm_leaked_frames(pmm), 0);
		tu_check(pmm);
		assert_int_equal(tu_free_after_drain(pmm), managed);
		tu_buddy_assert_fresh(pmm, &fx->fresh);
	}
	tu_finish(pmm);
}

/* ------------------------------------------------------------------------
 * 9. alloc_pages_exact frees its tail through the batched path
 * ------------------------------------------------------------------------ */

static void test_alloc_pages_exact_tail_batched(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 64);
	uint64_t managed = fx->managed, c0;
	void *a;
	pmm_pfn_t pfn;

	c0 = contig_chunks(pmm);
	a = pmm_alloc_pages_exact(pmm, 5 * pmm_page_size(pmm), PMM_GFP_KERNEL);
	assert_non_null(a);
	pfn = tu_pfn(pmm, pmm_virt_to_page(pmm, a));
	assert_int_equal(pfn % 8, 0);
	/* the 3-page tail [5, 8) is chunks of 1 and 2 */
	if (fx->v.per_page) {
		assert_int_equal(contig_chunks(pmm) - c0, 0);
	} else {
		assert_true(contig_chunks(pmm) > c0);
		assert_int_equal(contig_chunks(pmm) - c0, 2);
	}
	tu_assert_counts(pmm, pfn, 5, 1);
	tu_assert_counts(pmm, pfn + 5, 3, 0);
	assert_int_equal(tu_free_after_drain(pmm), managed - 5);
	tu_check(pmm);
	c0 = contig_chunks(pmm);
	pmm_free_pages_exact(pmm, a, 5 * pmm_page_size(pmm));
	assert_int_equal(contig_chunks(pmm) - c0, fx->v.per_page ? 0 : 2);	/* 4 + 1 */
	tu_check(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/* ------------------------------------------------------------------------
 * 10. Threads: the non-locked last-reference drop
 * ------------------------------------------------------------------------ */

#define NTHREADS 4

/* The instance of a threads scenario: a pcp set per thread (tu_threads sets the CPU). */
static pmm_t *threads_instance(struct tu_fx *fx, uint64_t mib)
{
	tu_config_cpus(tu_fx_contig_config(fx, mib), NTHREADS);
	return tu_fx_create(fx);
}
#define SHARE_ROUNDS 4000
#define WORDS_PER_SLOT 8

struct ref_queue {
	pthread_mutex_t lock;
	struct pmm_page **v;
	size_t n, cap;
};

struct share_ctx {
	pmm_t *pmm;
	struct ref_queue q[NTHREADS];
	pthread_barrier_t produced;
	atomic_ulong errors;
	atomic_ulong handed;	/* references handed to other threads */
	atomic_ulong dropped;	/* references dropped by receivers */
	uint64_t seed;
};

static void q_push(struct ref_queue *q, struct pmm_page *p, atomic_ulong *errors)
{
	pthread_mutex_lock(&q->lock);
	if (q->n == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 64;
		struct pmm_page **v = realloc(q->v, cap * sizeof(*v));

		if (!v) {
			atomic_fetch_add(errors, 1);
			pthread_mutex_unlock(&q->lock);
			return;
		}
		q->v = v;
		q->cap = cap;
	}
	q->v[q->n++] = p;
	pthread_mutex_unlock(&q->lock);
}

static struct pmm_page *q_pop(struct ref_queue *q)
{
	struct pmm_page *p = NULL;

	pthread_mutex_lock(&q->lock);
	if (q->n)
		p = q->v[--q->n];
	pthread_mutex_unlock(&q->lock);
	return p;
}

/*
 * A holder uses the page before dropping its reference: it checks the
 * allocator's stamp and writes its own slot. Plain (non-atomic) accesses,
 * so TSan sees a race if the reference drop that frees the page, or the
 * next allocation of it, is not ordered after them.
 */
static void holder_touch(struct share_ctx *c, struct pmm_page *p, unsigned int id)
{
	uint64_t *w = pmm_page_address(c->pmm, p);
	pmm_pfn_t pfn = pmm_page_to_pfn(c->pmm, p);

	if (!w || w[0] != (pfn ^ 0x5a5a5a5aull)) {
		atomic_fetch_add(&c->errors, 1);
		return;
	}
	for (unsigned int k = 0; k < WORDS_PER_SLOT; k++)
		w[8 + id * WORDS_PER_SLOT + k] = pfn + id + k;
}

static void consume_queue(struct share_ctx *c, unsigned int id)
{
	struct pmm_page *p;

	while ((p = q_pop(&c->q[id]))) {
		if (pmm_page_count(p) < 1)
			atomic_fetch_add(&c->errors, 1);
		holder_touch(c, p, id);
		pmm_put_page(c->pmm, p);
		atomic_fetch_add(&c->dropped, 1);
	}
}

static void share_thread(void *arg, unsigned int id)
{
	struct share_ctx *c = arg;
	struct prng rng;

	prng_init(&rng, c->seed, id);
	for (int round = 0; round < SHARE_ROUNDS; round++) {
		uint64_t x = prng_next(&rng);
		struct pmm_page *p;
		uint64_t *w;
		unsigned int others;
		bool drop_first;

		p = pmm_alloc_pages(c->pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 0);
		if (!p) {
			/* everything is out in queues: make room by consuming */
			consume_queue(c, id);
			continue;
		}
		w = pmm_page_address(c->pmm, p);
		/*
		 * Overwrite every holder slot of the page's previous life: a
		 * race with those writes unless the last reference drop and the
		 * free that followed are ordered before this allocation.
		 */
		memset(w, 0, (8 + NTHREADS * WORDS_PER_SLOT) * sizeof(*w));
		w[0] = pmm_page_to_pfn(c->pmm, p) ^ 0x5a5a5a5aull;
		/* hand one reference to 1..3 other threads */
		others = 1 + (unsigned int)(x % (NTHREADS - 1));
		drop_first = (x >> 8) & 1;
		for (unsigned int k = 1; k <= others; k++)
			pmm_get_page(c->pmm, p);
		if (drop_first) {
			/* our own drop goes before the others see the page: never the last */
			holder_touch(c, p, id);
			pmm_put_page(c->pmm, p);
		}
		for (unsigned int k = 1; k <= others; k++) {
			q_push(&c->q[(id + k) % NTHREADS], p, &c->errors);
			atomic_fetch_add(&c->handed, 1);
		}
		if (!drop_first) {
			/* our drop races with the receivers': any of them may be the last */
			holder_touch(c, p, id);
			pmm_put_page(c->pmm, p);
		}
		if ((x >> 16) % 3 == 0)
			consume_queue(c, id);
	}
	pthread_barrier_wait(&c->produced);
	consume_queue(c, id);
}

static void test_threads_shared_references(void **state)
{
	struct tu_fx *fx = *state;
	struct share_ctx c = { 0 };
	struct prng rng;
	pmm_t *pmm;

	tu_rng_init(&rng, "threads_shared_references", 13);
	pmm = threads_instance(fx, 16);
	c.pmm = pmm;
	c.seed = prng_next(&rng);
	for (int i = 0; i < NTHREADS; i++)
		pthread_mutex_init(&c.q[i].lock, NULL);
	pthread_barrier_init(&c.produced, NULL, NTHREADS);
	tu_threads_run(NTHREADS, share_thread, &c);
	pthread_barrier_destroy(&c.produced);
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(c.q[i].n, 0);
		free(c.q[i].v);
		pthread_mutex_destroy(&c.q[i].lock);
	}
	print_message("%s: %lu references handed over, %lu dropped\n", fx->v.name,
		      atomic_load(&c.handed), atomic_load(&c.dropped));
	assert_int_equal(atomic_load(&c.errors), 0);
	assert_int_equal(atomic_load(&c.handed), atomic_load(&c.dropped));
	assert_true(atomic_load(&c.handed) > SHARE_ROUNDS);
	tu_finish(pmm, .bad = &fx->bad);
}

/*
 * Concurrent pmm_free_contig_range: threads free disjoint pieces of one
 * split block; and, in the shared mode, every thread holds one reference
 * on every page and frees the whole range, so whichever drop is last
 * frees each page.
 */
#define CF_ROUNDS 150

struct cf_ctx {
	pmm_t *pmm;
	pthread_barrier_t start, done;
	pmm_pfn_t pfn;
	unsigned long cut[NTHREADS + 1];
	bool shared;
	atomic_ulong errors;
};

static void cf_thread(void *arg, unsigned int id)
{
	struct cf_ctx *c = arg;

	for (int round = 0; round < CF_ROUNDS; round++) {
		pthread_barrier_wait(&c->start);
		if (c->shared) {
			/* write into every page we hold before dropping our reference */
			for (unsigned long i = 0; i < c->cut[NTHREADS]; i += 7) {
				struct pmm_page *p = pmm_pfn_to_page(c->pmm, c->pfn + i);
				uint64_t *w = p ? pmm_page_address(c->pmm, p) : NULL;

				if (!w || pmm_page_count(p) < 1)
					atomic_fetch_add(&c->errors, 1);
				else
					w[id] = round;
			}
			pmm_free_contig_range(c->pmm, c->pfn, c->cut[NTHREADS]);
		} else {
			pmm_free_contig_range(c->pmm, c->pfn + c->cut[id],
					      c->cut[id + 1] - c->cut[id]);
		}
		pthread_barrier_wait(&c->done);
	}
}

static void concurrent_free_contig(struct tu_fx *fx, bool shared)
{
	struct tu_threads threads;
	struct prng rng;
	struct cf_ctx c = { 0 };
	pmm_t *pmm;

	tu_rng_init(&rng, "threads_concurrent_free_contig", 14);
	pmm = threads_instance(fx, 16);
	c.pmm = pmm;
	c.shared = shared;
	pthread_barrier_init(&c.start, NULL, NTHREADS + 1);
	pthread_barrier_init(&c.done, NULL, NTHREADS + 1);
	tu_threads_start(&threads, NTHREADS, cf_thread, &c);
	for (int round = 0; round < CF_ROUNDS; round++) {
		unsigned int order = 4 + (unsigned int)prng_below(&rng, MAX_ORDER - 3);
		unsigned long size = 1ul << order;

		c.pfn = tu_alloc_split(pmm, order);
		c.cut[0] = 0;
		c.cut[NTHREADS] = size;
		for (int i = 1; i < NTHREADS; i++) {
			/* unaligned, increasing cuts */
			c.cut[i] = c.cut[i - 1] +
				   prng_below(&rng, (size - c.cut[i - 1]) / 2 + 1);
		}
		if (shared)
			for (unsigned long i = 0; i < size; i++)
				for (int k = 1; k < NTHREADS; k++)
					pmm_get_page(pmm, tu_page_at(pmm, c.pfn + i));
		pthread_barrier_wait(&c.start);
		pthread_barrier_wait(&c.done);
		tu_assert_counts(pmm, c.pfn, size, 0);
		if (round % 16 == 0) {
			tu_check(pmm);
			assert_int_equal(tu_free_after_drain(pmm), pmm_managed_frames(pmm));
		}
	}
	tu_threads_join(&threads);
	pthread_barrier_destroy(&c.start);
	pthread_barrier_destroy(&c.done);
	print_message("%s, %s ranges: done\n", fx->v.name,
		      shared ? "shared" : "disjoint");
	assert_int_equal(atomic_load(&c.errors), 0);
	assert_int_equal(tu_bad_count(&fx->bad), 0);
	assert_int_equal(tu_stats(pmm).bad_page, 0);
	tu_check(pmm);
	assert_int_equal(tu_free_after_drain(pmm), pmm_managed_frames(pmm));
	tu_finish(pmm, .fresh = &fx->fresh);
}

static void test_threads_concurrent_free_contig(void **state)
{
	concurrent_free_contig(*state, false);
}

static void test_threads_concurrent_free_contig_shared(void **state)
{
	concurrent_free_contig(*state, true);
}

/*
 * alloc_contig_range under concurrency: two threads take and give back
 * random (possibly overlapping) ranges while two others allocate and free
 * small blocks. Every take either succeeds (each frame
 * refcount 1, then freed) or fails with -PMM_EBUSY; at the end the memory
 * is back in maximal blocks and no pageblock is left isolated.
 */
#define AC_ROUNDS 300

struct ac_ctx {
	pmm_t *pmm;
	uint64_t seed;
	unsigned long half;		/* half the frames */
	atomic_ulong errors, taken, busy;
};

static void ac_thread(void *arg, unsigned int id)
{
	struct ac_ctx *c = arg;
	struct pmm_page *held[256] = { 0 };
	unsigned int held_order[256] = { 0 };
	struct prng rng;

	prng_init(&rng, c->seed, id);
	for (int round = 0; round < AC_ROUNDS; round++) {
		uint64_t x = prng_next(&rng);

		if (id < 2) {
			unsigned long nr = 1 + (unsigned long)(x % 1500);
			pmm_pfn_t s = TU_BASE_PFN + (x >> 16) % (2 * c->half - nr);
			int rc = pmm_alloc_contig_range(c->pmm, s, s + nr, 0);

			if (rc == -PMM_EBUSY) {
				atomic_fetch_add(&c->busy, 1);
				continue;
			}
			if (rc) {
				atomic_fetch_add(&c->errors, 1);
				continue;
			}
			for (pmm_pfn_t p = s; p < s + nr; p++) {
				struct pmm_page *pg = pmm_pfn_to_page(c->pmm, p);

				if (!pg || pmm_page_count(pg) != 1)
					atomic_fetch_add(&c->errors, 1);
			}
			atomic_fetch_add(&c->taken, 1);
			pmm_free_contig_range(c->pmm, s, nr);
		} else {
			unsigned int slot = (unsigned int)(x % 256);

			if (held[slot]) {
				pmm_free_pages(c->pmm, held[slot], held_order[slot]);
				held[slot] = NULL;
			} else {
				held_order[slot] = (unsigned int)((x >> 8) % 4);
				held[slot] = pmm_alloc_pages(c->pmm, PMM_GFP_NOWARN, held_order[slot]);
			}
		}
	}
	for (unsigned int i = 0; i < 256; i++)
		if (held[i])
			pmm_free_pages(c->pmm, held[i], held_order[i]);
}

static void test_threads_alloc_contig_range(void **state)
{
	struct tu_fx *fx = *state;
	struct prng rng;
	struct ac_ctx c = { 0 };
	pmm_t *pmm;

	tu_rng_init(&rng, "threads_alloc_contig_range", 15);
	pmm = threads_instance(fx, 32);
	c.pmm = pmm;
	c.seed = prng_next(&rng);
	c.half = (unsigned long)(pmm_managed_frames(pmm) / 2);
	tu_threads_run(NTHREADS, ac_thread, &c);
	print_message("%s: %lu ranges taken, %lu busy\n", fx->v.name,
		      atomic_load(&c.taken), atomic_load(&c.busy));
	assert_int_equal(atomic_load(&c.errors), 0);
	assert_true(atomic_load(&c.taken) > 0);
	assert_int_equal(tu_bad_count(&fx->bad), 0);
	tu_check(pmm);
	for (unsigned int z = 0; z < pmm_nr_zones(pmm); z++) {
		struct pmm_zone_info zi;

		tu_zone(pmm, z, &zi);
		assert_int_equal(zi.nr_pageblocks_mt[PMM_MIGRATE_ISOLATE], 0);
	}
	tu_finish(pmm, .fresh = &fx->fresh);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		TU_CONTIG_TESTS(test_section_crossing),
		TU_CONTIG_TESTS(test_pfn_zero),
		TU_CONTIG_TESTS(test_held_pages_end_runs),
		TU_CONTIG_TESTS(test_unaligned_ranges),
		TU_MEMMAP_TESTS(test_batched_matches_per_page),
		TU_CONTIG_TESTS(test_alloc_contig_range_busy),
		cmocka_unit_test(test_contig_range_busy),
		TU_CONTIG_TESTS(test_frozen_range_api),
		cmocka_unit_test(test_alloc_contig_pages),
		TU_CONTIG_TESTS(test_free_pages_bulk),
		TU_CONTIG_TESTS(test_alloc_pages_exact_tail_batched),
		TU_CONTIG_TESTS(test_threads_shared_references),
		TU_CONTIG_TESTS(test_threads_concurrent_free_contig),
		TU_CONTIG_TESTS(test_threads_concurrent_free_contig_shared),
		TU_CONTIG_TESTS(test_threads_alloc_contig_range),
	};

	return tu_main(argc, argv, tests);
}
