/* SPDX-License-Identifier: MIT */
/*
 * test_mm_gather.c - the mmu_gather through pmm.h only (design.md section
 * 6): the public gather (pmm_gather_init/add/flush/finish) in every mode
 * for code that keeps its own mappings, and the gather behind an mm's
 * teardown as far as its user sees it: the TLB-flush callback comes
 * before anything is freed, batches and forced flushes are counted.
 *
 * Public gather: folios and order-0 pages from the page API, extra
 * references taken, runs handed over; the callback asserts (by recording)
 * that no handed-over reference was dropped yet; after each flush each
 * page lost exactly the references handed over and folios whose count
 * hit zero are free. More than a batch's worth (the local bundle holds 8
 * entries, page-sized batches 510 in PER_PAGE and ENCODED, at most 19)
 * exercises batch allocation and the "flushed now" return value; with
 * batch allocation failing, a full bundle forces a flush instead.
 *
 * Every scenario ends with pmm_check() == 0 and buddyinfo equal to the
 * fresh instance's (mu_finish).
 *
 * Contract points these tests rely on beyond the prototypes:
 *  - pmm_gather_add returns true only when the gather was full. For
 *    order-0 adds the first "true" comes in PER_PAGE at add 9698 (8 +
 *    19 x 510, the kernel's count), give or take one for whether the full
 *    batch is flushed before or after the add that fills it; in ENCODED
 *    between 7 + 19 x 509 (mainline moves on at nr >= max - 1, keeping a
 *    slot for an nr_pages entry) and 9699; in RANGES, whose batches hold
 *    255 two-word ranges and whose 10000-entry cap counts ranges, at
 *    8 + 39 x 255 when no two adds share a folio. Every batch the cap
 *    allows is allocated by then.
 *  - Gather batches are order-0 page allocations counted in pgalloc (and
 *    subject to PMM_FAULT_PAGE_ALLOC), kept across pmm_gather_flush() and
 *    freed by pmm_gather_finish(), as the kernel's tlb_finish_mmu().
 *  - A bad add (foreign pointer, another instance's page, a run that
 *    crosses a folio end, a page with no reference) is reported once
 *    through the bad-page callback, at the add or at the flush, and no
 *    reference changes; nr == 0 adds nothing (a report is allowed).
 *  - The mm's tlb_flush callback gets virtual addresses of the mm; the
 *    union of its ranges covers every page the unmap cleared.
 *  - Unmapping 2000 order-0 pages allocates exactly 4 page-sized batches
 *    in PER_PAGE and ENCODED (8 + 3 x 510 < 2000 < 8 + 4 x 510, and with
 *    ENCODED's reserved slot 7 + 3 x 509 < 2000 < 7 + 4 x 509); 2000
 *    pages of order-4 folios take exactly one batch in RANGES and
 *    ENCODED (125 runs).
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "mm_util.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define RWP (PMM_MAP_WRITE | PMM_MAP_POPULATE)
#define BUNDLE 8
#define BATCH 510
#define BATCH_MAX 19
#define GATHER_CAP (BUNDLE + BATCH * BATCH_MAX)	/* 9698 */
/* RANGES: 255 two-word ranges a batch, and 10000 / 255 = 39 batches (the 2023 patch) */
#define RANGES_BATCH (BATCH / 2)
#define RANGES_BATCH_MAX (10000 / RANGES_BATCH)
#define RANGES_CAP (BUNDLE + RANGES_BATCH * RANGES_BATCH_MAX)	/* 9953 */

/* ------------------------------------------------------------------------
 * Tracking what was handed over
 * ------------------------------------------------------------------------ */

struct tracked {
	struct pmm_folio *folio;
	int held;	/* references the test still owns */
	int pending;	/* handed over, not yet dropped */
};

struct gctx {
	pmm_t *pmm;
	struct tracked *t;
	size_t n, cap;
	unsigned long calls;
	unsigned long violations;	/* a pending reference already dropped */
	char first[160];
};

static void gctx_init(struct gctx *c, pmm_t *pmm)
{
	memset(c, 0, sizeof(*c));
	c->pmm = pmm;
}

static struct tracked *track(struct gctx *c, struct pmm_folio *f, int held)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 256;
		c->t = realloc(c->t, c->cap * sizeof(*c->t));
		assert_non_null(c->t);
	}
	c->t[c->n] = (struct tracked){ .folio = f, .held = held };
	return &c->t[c->n++];
}

/* The TLB flush: nothing handed over may have been dropped yet. */
static void gather_flush_cb(void *arg, uint64_t start, uint64_t end)
{
	struct gctx *c = arg;

	(void)start;
	(void)end;
	c->calls++;
	for (size_t i = 0; i < c->n; i++) {
		const struct tracked *t = &c->t[i];
		int now;

		if (!t->pending && !t->held)
			continue;	/* freed by an earlier flush */
		now = pmm_folio_ref_count(t->folio);
		if (now != t->held + t->pending && c->violations++ == 0)
			snprintf(c->first, sizeof(c->first),
				 "flush %lu: folio %zu has %d references, %d held + %d pending",
				 c->calls, i, now, t->held, t->pending);
	}
}

static void assert_no_violation(const struct gctx *c)
{
	if (c->violations)
		print_message("%lu violation(s): %s\n", c->violations, c->first);
	assert_int_equal(c->violations, 0);
}

/* After a completed flush: every pending reference was dropped. */
static void flushed_all(struct gctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct tracked *t = &c->t[i];

		t->pending = 0;
		if (t->held)
			assert_int_equal(pmm_folio_ref_count(t->folio), t->held);
	}
}

/* Hand over @nr references on pages [first, first + nr) of @t's folio. */
static bool hand_over(struct pmm_gather *tlb, struct gctx *c, struct tracked *t,
		      unsigned long first, unsigned long nr)
{
	size_t idx = (size_t)(t - c->t);
	bool flushed;

	t->held -= (int)nr;
	t->pending += (int)nr;
	assert_true(t->held >= 0);
	flushed = pmm_gather_add(tlb, pmm_folio_page(c->pmm, t->folio, first), nr);
	if (flushed) {
		int now;

		t = &c->t[idx];
		/* the others were flushed; this run may or may not have been */
		for (size_t i = 0; i < c->n; i++)
			if (i != idx)
				c->t[i].pending = 0;
		assert_true(t->held > 0);	/* tests that flush early keep a reference */
		now = pmm_folio_ref_count(t->folio);
		assert_true(now == t->held || now == t->held + (int)nr);
		t->pending = now - t->held;
		for (size_t i = 0; i < c->n; i++)
			if (c->t[i].held && i != idx)
				assert_int_equal(pmm_folio_ref_count(c->t[i].folio), c->t[i].held);
	}
	return flushed;
}

static struct pmm_folio *folio_with_refs(pmm_t *pmm, unsigned int order, int refs)
{
	struct pmm_folio *f = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, order);

	assert_non_null(f);
	for (int i = 1; i < refs; i++)
		pmm_folio_get(pmm, f);
	assert_int_equal(pmm_folio_ref_count(f), refs);
	return f;
}

static struct pmm_folio *page_with_refs(pmm_t *pmm, int refs)
{
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);

	assert_non_null(p);
	for (int i = 1; i < refs; i++)
		pmm_get_page(pmm, p);
	assert_int_equal(pmm_page_count(p), refs);
	return pmm_page_folio(p);
}

/* ------------------------------------------------------------------------
 * 1. Runs of folios and order-0 pages
 * ------------------------------------------------------------------------ */

/*
 * An order-3 folio handed over whole in one run, an order-4 folio in two
 * runs keeping 5 references, four order-0 pages, and an order-9 folio one
 * page at a time (512 adds): no add reports a flush, the callback sees
 * every reference still held, and after finish the folios whose count hit
 * zero are free (exactly their frames) and the other lost exactly 16.
 */
static void test_gather_runs(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		struct mu_env e;
		struct gctx c;
		struct pmm_gather tlb;
		uint64_t free0;
		unsigned long trues = 0;

		mu_env(&e, 64);
		gctx_init(&c, e.pmm);
		/* t[0]: order 3, t[1]: order 4, t[2..5]: order-0 pages, t[6]: order 9 */
		track(&c, folio_with_refs(e.pmm, 3, 8), 8);
		track(&c, folio_with_refs(e.pmm, 4, 21), 21);
		for (int i = 0; i < 4; i++)
			track(&c, page_with_refs(e.pmm, 1), 1);
		track(&c, folio_with_refs(e.pmm, 9, 512), 512);

		pmm_drain_all_pages(e.pmm);
		free0 = mu_free(e.pmm);
		pmm_gather_init(&tlb, e.pmm, mu_modes[m], gather_flush_cb, &c);
		trues += hand_over(&tlb, &c, &c.t[0], 0, 8);
		trues += hand_over(&tlb, &c, &c.t[1], 0, 4);
		trues += hand_over(&tlb, &c, &c.t[1], 4, 12);
		for (int i = 0; i < 4; i++)
			trues += hand_over(&tlb, &c, &c.t[2 + i], 0, 1);
		for (unsigned long i = 0; i < 512; i++)
			trues += hand_over(&tlb, &c, &c.t[6], i, 1);
		assert_int_equal(trues, 0);
		assert_int_equal(c.calls, 0);	/* nothing flushed yet */
		assert_int_equal(pmm_folio_ref_count(c.t[0].folio), 8);
		assert_int_equal(pmm_folio_ref_count(c.t[6].folio), 512);
		pmm_gather_finish(&tlb);
		assert_true(c.calls >= 1);
		assert_no_violation(&c);
		flushed_all(&c);
		assert_int_equal(pmm_folio_ref_count(c.t[1].folio), 5);
		/* freed: the order-3 folio, the four pages, the order-9 folio */
		assert_int_equal(mu_free(e.pmm) - free0, 8 + 4 + 512);
		tu_assert_conserved(e.pmm, 16);
		for (int i = 0; i < 5; i++)
			pmm_folio_put(e.pmm, c.t[1].folio);
		free(c.t);
		mu_finish(&e);
	}
}

/*
 * pmm_gather_flush drops what was gathered so far and the gather goes on
 * being usable; finish then handles the rest.
 */
static void test_gather_flush_then_more(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		struct mu_env e;
		struct gctx c;
		struct pmm_gather tlb;
		uint64_t free0, pgalloc0, batches;

		mu_env(&e, 64);
		gctx_init(&c, e.pmm);
		for (int i = 0; i < 20; i++)
			track(&c, folio_with_refs(e.pmm, (unsigned int)(i % 5), 2 << (i % 5)),
			      2 << (i % 5));
		free0 = mu_free(e.pmm);
		pgalloc0 = tu_stats(e.pmm).pgalloc;
		pmm_gather_init(&tlb, e.pmm, mu_modes[m], gather_flush_cb, &c);
		for (int i = 0; i < 10; i++)
			assert_false(hand_over(&tlb, &c, &c.t[i], 0, 1ul << (i % 5)));
		pmm_gather_flush(&tlb);
		assert_true(c.calls >= 1);
		assert_no_violation(&c);
		flushed_all(&c);
		/* everyone still held one set; a flush keeps its batches until finish (kernel) */
		batches = tu_stats(e.pmm).pgalloc - pgalloc0;
		assert_int_equal(mu_free(e.pmm), free0 - batches);
		/* the second set of references on all 20: ten reach zero */
		for (int i = 0; i < 20; i++)
			assert_false(hand_over(&tlb, &c, &c.t[i], 0, 1ul << (i % 5)));
		pmm_gather_finish(&tlb);
		assert_no_violation(&c);
		flushed_all(&c);
		{
			uint64_t freed = 0;

			for (int i = 0; i < 10; i++)
				freed += 1u << (i % 5);
			assert_int_equal(mu_free(e.pmm) - free0, freed);
		}
		for (int i = 10; i < 20; i++)
			pmm_folio_put_refs(e.pmm, c.t[i].folio, 1 << (i % 5));
		free(c.t);
		mu_finish(&e);
	}
}

/* ------------------------------------------------------------------------
 * 2. Full batches and the "flushed now" return
 * ------------------------------------------------------------------------ */

/*
 * 10100 order-0 pages, each with one reference kept, handed over one at a
 * time: batches are allocated (pgalloc grows, at most 19 of them; 39 of
 * half the entries in RANGES, whose 10000-entry cap counts ranges), the
 * first add that returns true comes when 8 + 19 x 510 entries are in
 * (8 + 39 x 255 ranges in RANGES: separate folios never share a range),
 * the pages added before it have lost their reference, and after finish
 * every page holds exactly the reference kept.
 */
static void test_gather_full_batches(void **state)
{
	const size_t n = RANGES_CAP + 147;

	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		struct mu_env e;
		struct gctx c;
		struct pmm_gather tlb;
		uint64_t pgalloc0, batches = 0;
		size_t first_true = 0, trues = 0;

		mu_env(&e, 64);
		gctx_init(&c, e.pmm);
		for (size_t i = 0; i < n; i++)
			track(&c, page_with_refs(e.pmm, 2), 2);
		pgalloc0 = tu_stats(e.pmm).pgalloc;
		pmm_gather_init(&tlb, e.pmm, mu_modes[m], gather_flush_cb, &c);
		for (size_t i = 0; i < n; i++) {
			if (hand_over(&tlb, &c, &c.t[i], 0, 1)) {
				trues++;
				if (!first_true) {
					first_true = i + 1;
					batches = tu_stats(e.pmm).pgalloc - pgalloc0;
					assert_true(c.calls >= 1);
				}
			}
		}
		print_message("%s: first flush at add %zu, %" PRIu64 " batch pages, %zu flushes\n",
			      mu_mode_name(mu_modes[m]), first_true, batches, trues);
		assert_true(first_true > BUNDLE);
		if (mu_modes[m] == PMM_GATHER_RANGES) {
			assert_true(first_true >= RANGES_CAP - 1 && first_true <= RANGES_CAP + 1);
			assert_int_equal(batches, RANGES_BATCH_MAX);
		} else if (mu_modes[m] == PMM_GATHER_ENCODED) {
			assert_true(first_true >= (BUNDLE - 1) + (BATCH - 1) * BATCH_MAX - 1 &&
				    first_true <= GATHER_CAP + 1);
			assert_int_equal(batches, BATCH_MAX);
		} else {
			assert_true(first_true >= GATHER_CAP - 1 && first_true <= GATHER_CAP + 1);
			assert_int_equal(batches, BATCH_MAX);
		}
		pmm_gather_finish(&tlb);
		assert_no_violation(&c);
		flushed_all(&c);
		/* the batch pages are back, the test's pages hold one reference */
		tu_assert_conserved(e.pmm, n);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(pmm_folio_ref_count(c.t[i].folio), 1);
			pmm_folio_put(e.pmm, c.t[i].folio);
		}
		free(c.t);
		mu_finish(&e);
	}
}

/*
 * With every page allocation failing, no batch can be allocated: a full
 * local bundle (8 entries) forces a flush instead, so among any 9
 * consecutive adds one returns true; nothing is lost.
 */
static void test_gather_batch_alloc_failure(void **state)
{
	const size_t n = 100;

	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		struct mu_env e;
		struct gctx c;
		struct pmm_gather tlb;
		uint64_t pgalloc0, inj0;
		size_t last_true = 0, trues = 0;

		mu_env(&e, 64);
		gctx_init(&c, e.pmm);
		for (size_t i = 0; i < n; i++)
			track(&c, page_with_refs(e.pmm, 2), 2);
		pgalloc0 = tu_stats(e.pmm).pgalloc;
		inj0 = mu_injected(e.pmm);
		mu_arm(e.pmm, PMM_FAULT_PAGE_ALLOC, 1, -1);
		pmm_gather_init(&tlb, e.pmm, mu_modes[m], gather_flush_cb, &c);
		for (size_t i = 0; i < n; i++) {
			if (hand_over(&tlb, &c, &c.t[i], 0, 1)) {
				trues++;
				last_true = i + 1;
			}
			/* a full bundle (8, or 7 keeping a slot) cannot wait longer */
			assert_true(i + 1 - last_true <= BUNDLE);
		}
		pmm_gather_finish(&tlb);
		mu_disarm(e.pmm, PMM_FAULT_PAGE_ALLOC);
		assert_true(trues >= n / (BUNDLE + 1));
		assert_true(mu_injected(e.pmm) > inj0);
		assert_int_equal(tu_stats(e.pmm).pgalloc, pgalloc0);
		assert_no_violation(&c);
		flushed_all(&c);
		tu_assert_conserved(e.pmm, n);
		for (size_t i = 0; i < n; i++)
			pmm_folio_put(e.pmm, c.t[i].folio);
		free(c.t);
		mu_finish(&e);
	}
}

/* ------------------------------------------------------------------------
 * 3. Bad input
 * ------------------------------------------------------------------------ */

struct bad_case {
	struct pmm_page *page;
	unsigned long nr;
	bool must_report;
	const char *why;
};

/*
 * Each bad add in a gather of its own: a foreign pointer (unreadable
 * memory), a page of another instance, nr 0, runs crossing a folio end,
 * a huge nr, a free page. Reported (except nr 0, which may be silent),
 * nothing dropped, nothing lost.
 */
static void test_gather_bad_input(void **state)
{
	void *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(none != MAP_FAILED);
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		struct mu_env e, other;
		struct pmm_gather tlb;
		struct pmm_folio *f2, *o;
		struct pmm_page *split, *foreign_page, *free_page, *block;
		struct tu_buddy before;
		struct bad_case cases[9];
		unsigned int nc = 0;

		mu_env(&e, 64);
		mu_env(&other, 16);
		f2 = folio_with_refs(e.pmm, 2, 4);
		o = folio_with_refs(other.pmm, 0, 1);
		foreign_page = pmm_folio_page(other.pmm, o, 0);
		split = pmm_alloc_pages(e.pmm, PMM_GFP_KERNEL, 1);
		assert_non_null(split);
		pmm_split_page(e.pmm, split, 1);
		block = pmm_alloc_pages(e.pmm, PMM_GFP_KERNEL, 2);	/* never split: no folio */
		assert_non_null(block);
		free_page = pmm_pfn_to_page(e.pmm, pmm_get_config(e.pmm)->regions[0].start_pfn +
						   pmm_managed_frames(e.pmm) - 1);
		assert_non_null(free_page);
		assert_int_equal(pmm_page_count(free_page), 0);

		cases[nc++] = (struct bad_case){ none, 1, true, "unreadable pointer" };
		cases[nc++] = (struct bad_case){ (struct pmm_page *)((char *)none + 64), 1, true,
						 "unreadable pointer + 64" };
		cases[nc++] = (struct bad_case){ foreign_page, 1, true, "another instance's page" };
		cases[nc++] = (struct bad_case){ pmm_folio_page(e.pmm, f2, 2), 4, true,
						 "run past the folio end" };
		cases[nc++] = (struct bad_case){ split, 2, true, "run over two order-0 folios" };
		cases[nc++] = (struct bad_case){ pmm_folio_page(e.pmm, f2, 0), ULONG_MAX, true,
						 "nr ULONG_MAX" };
		cases[nc++] = (struct bad_case){ free_page, 1, true, "a free page" };
		cases[nc++] = (struct bad_case){ block, 1, true, "an unsplit order-2 block" };
		cases[nc++] = (struct bad_case){ pmm_folio_page(e.pmm, f2, 0), 0, false, "nr 0" };

		tu_buddy_snap(e.pmm, &before);
		for (unsigned int i = 0; i < nc; i++) {
			unsigned long r0 = tu_bad_count(&e.bad), ro = tu_bad_count(&other.bad);

			pmm_gather_init(&tlb, e.pmm, mu_modes[m], NULL, NULL);
			assert_false(pmm_gather_add(&tlb, cases[i].page, cases[i].nr));
			pmm_gather_finish(&tlb);
			if (cases[i].must_report && tu_bad_count(&e.bad) - r0 != 1)
				print_message("%s: %lu reports, expected 1\n", cases[i].why,
					      tu_bad_count(&e.bad) - r0);
			if (cases[i].must_report)
				assert_int_equal(tu_bad_count(&e.bad) - r0, 1);
			else
				assert_true(tu_bad_count(&e.bad) - r0 <= 1);
			assert_int_equal(tu_bad_count(&other.bad), ro);
			assert_int_equal(pmm_folio_ref_count(f2), 4);
			assert_int_equal(pmm_folio_ref_count(o), 1);
			assert_int_equal(pmm_page_count(split), 1);
			assert_int_equal(pmm_page_count(free_page), 0);
			assert_int_equal(pmm_page_count(block), 1);
			tu_buddy_assert_fresh(e.pmm, &before);
			tu_check(e.pmm);
			tu_check(other.pmm);
		}
		/* a good add after all that still works */
		pmm_gather_init(&tlb, e.pmm, mu_modes[m], NULL, NULL);
		assert_false(pmm_gather_add(&tlb, pmm_folio_page(e.pmm, f2, 1), 3));
		pmm_gather_finish(&tlb);
		assert_int_equal(pmm_folio_ref_count(f2), 1);
		pmm_folio_put(e.pmm, f2);
		pmm_put_page(e.pmm, split);
		pmm_put_page(e.pmm, pmm_pfn_to_page(e.pmm, pmm_page_to_pfn(e.pmm, split) + 1));
		pmm_free_pages(e.pmm, block, 2);
		pmm_folio_put(other.pmm, o);
		mu_remark(&e);
		mu_finish(&other);
		mu_finish(&e);
	}
	munmap(none, 4096);
}

/* ------------------------------------------------------------------------
 * 4. The gather behind an mm: flush callback, counters
 * ------------------------------------------------------------------------ */

#define MAX_FLUSH_RANGES 1024

struct mctx {
	struct mu_folios folios;	/* what the unmap will clear */
	unsigned long calls;
	long freed_at_first;		/* folios already free at the first flush */
	struct mu_range r[MAX_FLUSH_RANGES];
	size_t nr;
	bool overflow;
};

static void mm_flush_cb(void *arg, uint64_t start, uint64_t end)
{
	struct mctx *c = arg;

	if (c->calls++ == 0) {
		c->freed_at_first = 0;
		for (size_t i = 0; i < c->folios.n; i++)
			c->freed_at_first += pmm_folio_ref_count(c->folios.v[i]) == 0;
	}
	if (c->nr < MAX_FLUSH_RANGES)
		c->r[c->nr++] = (struct mu_range){ start, end };
	else
		c->overflow = true;
}

static void mctx_arm(struct mctx *c, pmm_mm_t *mm, uint64_t start, uint64_t end)
{
	mu_folios_free(&c->folios);
	memset(c, 0, sizeof(*c));
	c->freed_at_first = -1;
	mu_folios_add(&c->folios, mm, start, end);
	mu_folios_count(&c->folios);	/* sort now: the callback only reads */
}

/* Every page of [start, end) mapped before lies in some flushed range. */
static void assert_covered(const struct mctx *c, const uint64_t *mapped, size_t n)
{
	if (c->overflow)
		return;
	for (size_t i = 0; i < n; i++) {
		bool in = false;

		for (size_t k = 0; k < c->nr && !in; k++)
			in = mapped[i] >= c->r[k].start && mapped[i] < c->r[k].end;
		if (!in)
			print_message("%#" PRIx64 " was cleared but is in no flushed range\n",
				      mapped[i]);
		assert_true(in);
	}
}

static size_t mapped_addrs(pmm_mm_t *mm, uint64_t start, uint64_t end, uint64_t **out)
{
	size_t n = 0;

	*out = calloc((end - start) / MU_PAGE, sizeof(**out));
	assert_non_null(*out);
	for (uint64_t a = start; a < end; a += MU_PAGE)
		if (pmm_mm_lookup(mm, a))
			(*out)[n++] = a;
	return n;
}

/*
 * The mm's callback is called before anything the unmap cleared is freed
 * (at the first call every folio of the range is still allocated), its
 * ranges cover what was cleared, each call is counted in tlb_flushes; with
 * batch allocation failing the flushes are forced (counted) and the same
 * holds; exit too. An mm without a callback still counts its flushes.
 */
static void test_mm_tlb_flush_before_free(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		static struct mctx c;
		struct pmm_mm_config cfg;
		struct mu_env e;
		pmm_mm_t *mm, *plain;
		const uint64_t b = MU_BASE + MU_PAGES(3), len = MU_PAGES(600);
		struct pmm_mm_stats s0, s1;
		uint64_t *mapped;
		size_t n;

		mu_env(&e, 64);
		pmm_mm_config_init(&cfg);
		cfg.gather = mu_modes[m];
		cfg.tlb_flush = mm_flush_cb;
		cfg.tlb_arg = &c;
		mm = mu_mm_cfg(e.pmm, &cfg);
		mu_map(mm, b, len, 3, RWP);
		mu_map(mm, MU_BASE + MU_PUD_SIZE, MU_PAGES(600), 0, RWP);

		/* a plain unmap of part of the VMA */
		pmm_lru_add_drain(e.pmm);
		mctx_arm(&c, mm, b + MU_PAGES(10), b + MU_PAGES(500));
		n = mapped_addrs(mm, b + MU_PAGES(10), b + MU_PAGES(500), &mapped);
		s0 = mu_stats(mm);
		mu_unmap(mm, b + MU_PAGES(10), MU_PAGES(490));
		s1 = mu_stats(mm);
		assert_true(c.calls >= 1);
		assert_int_equal(c.freed_at_first, 0);
		assert_int_equal(s1.tlb_flushes - s0.tlb_flushes, c.calls);
		assert_covered(&c, mapped, n);
		free(mapped);

		/* every batch allocation failing: forced flushes, same rules */
		mctx_arm(&c, mm, MU_BASE + MU_PUD_SIZE, MU_BASE + MU_PUD_SIZE + MU_PAGES(600));
		n = mapped_addrs(mm, MU_BASE + MU_PUD_SIZE, MU_BASE + MU_PUD_SIZE + MU_PAGES(600),
				 &mapped);
		s0 = mu_stats(mm);
		mu_arm(e.pmm, PMM_FAULT_PAGE_ALLOC, 1, -1);
		mu_unmap(mm, MU_BASE + MU_PUD_SIZE, MU_PAGES(600));
		mu_disarm(e.pmm, PMM_FAULT_PAGE_ALLOC);
		s1 = mu_stats(mm);
		assert_true(c.calls >= 2);
		assert_int_equal(c.freed_at_first, 0);
		assert_int_equal(s1.tlb_flushes - s0.tlb_flushes, c.calls);
		assert_true(s1.gather_forced_flushes > s0.gather_forced_flushes);
		assert_int_equal(s1.gather_batches, s0.gather_batches);
		assert_covered(&c, mapped, n);
		free(mapped);
		/* the first unmap cut two folios: split them, then count frames */
		pmm_lru_add_drain(e.pmm);
		assert_int_equal(pmm_deferred_split_scan(e.pmm, 100), 3 + 7);
		tu_assert_conserved(e.pmm, s1.rss_anon + s1.pgtable_pages);

		/* exit */
		mctx_arm(&c, mm, b, b + len);
		assert_true(c.folios.n > 0);
		pmm_mm_destroy(mm);
		assert_true(c.calls >= 1);
		assert_int_equal(c.freed_at_first, 0);

		/* no callback: the flushes are still counted */
		plain = mu_mm(e.pmm, mu_modes[m], PMM_MAPCOUNT_PER_PAGE);
		mu_map(plain, MU_BASE, MU_PAGES(64), 2, RWP);
		s0 = mu_stats(plain);
		mu_unmap(plain, MU_BASE, MU_PAGES(64));
		assert_true(mu_stats(plain).tlb_flushes > s0.tlb_flushes);
		pmm_mm_destroy(plain);
		mu_folios_free(&c.folios);
		mu_finish(&e);
	}
}

/*
 * gather_batches: 2000 order-0 pages take 4 page-sized batches in
 * PER_PAGE and ENCODED (at least as many in RANGES); 2000 pages of order-4
 * folios take 4 in PER_PAGE (one entry per page) and one in the batched
 * modes (one entry per folio). No forced flush below the cap. Every batch
 * page is counted in pgalloc and given back.
 */
static void test_mm_gather_batches(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		for (int k = 0; k <= 4; k += 4) {
			struct mu_env e;
			pmm_mm_t *mm;
			struct pmm_mm_stats s0, s1;
			uint64_t pgalloc0, batches;

			mu_env(&e, 64);
			mm = mu_mm(e.pmm, mu_modes[m], PMM_MAPCOUNT_PER_PAGE);
			mu_map(mm, MU_BASE, MU_PAGES(2000), (unsigned int)k, RWP);
			s0 = mu_stats(mm);
			pgalloc0 = tu_stats(e.pmm).pgalloc;
			mu_unmap(mm, MU_BASE, MU_PAGES(2000));
			s1 = mu_stats(mm);
			batches = s1.gather_batches - s0.gather_batches;
			print_message("%s, order %d: %" PRIu64 " batches\n", mu_mode_name(mu_modes[m]),
				      k, batches);
			assert_int_equal(tu_stats(e.pmm).pgalloc - pgalloc0, batches);
			assert_int_equal(s1.gather_forced_flushes, s0.gather_forced_flushes);
			if (k == 0 && mu_modes[m] != PMM_GATHER_RANGES)
				assert_int_equal(batches, 4);
			else if (k == 0)
				assert_true(batches >= 4 && batches <= BATCH_MAX);
			else if (mu_modes[m] == PMM_GATHER_PER_PAGE)
				assert_int_equal(batches, 4);
			else
				assert_int_equal(batches, 1);
			tu_assert_conserved(e.pmm, 1);
			pmm_mm_destroy(mm);
			mu_finish(&e);
		}
	}
}

static void count_flush(void *arg, uint64_t start, uint64_t end)
{
	(void)start;
	(void)end;
	(*(unsigned int *)arg)++;
}

/*
 * One add of a run longer than the local bundle, with no batch to be had:
 * in PER_PAGE the bundle fills twice inside the add, and the second fill's
 * pages get a TLB flush of their own before they are freed too.
 */
static void test_gather_run_across_forced_flush(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		struct mu_env e;
		struct pmm_gather tlb;
		struct pmm_folio *f;
		unsigned int flushes = 0;
		uint64_t free0;

		mu_env(&e, 16);
		f = folio_with_refs(e.pmm, 4, 16);
		free0 = mu_free(e.pmm);
		mu_arm(e.pmm, PMM_FAULT_PAGE_ALLOC, 1, -1);	/* no batch page */
		pmm_gather_init(&tlb, e.pmm, mu_modes[m], count_flush, &flushes);
		pmm_gather_add(&tlb, pmm_folio_page(e.pmm, f, 0), 16);
		/* per page: 16 entries fill the bundle twice, and each fill is a TLB flush first */
		if (mu_modes[m] == PMM_GATHER_PER_PAGE)
			assert_int_equal(flushes, 2);
		else
			assert_int_equal(pmm_folio_ref_count(f), 16);	/* one entry: not full */
		pmm_gather_finish(&tlb);
		mu_disarm(e.pmm, PMM_FAULT_PAGE_ALLOC);
		assert_int_equal(flushes, mu_modes[m] == PMM_GATHER_PER_PAGE ? 2 : 1);
		assert_int_equal(mu_free(e.pmm), free0 + 16);
		mu_finish(&e);
	}
}

/* A mode that is not a PMM_GATHER_* mode: logged, and the gather runs per page. */
static void test_gather_bad_mode(void **state)
{
	static const int modes[] = { PMM_NR_GATHER_MODES, -1 };

	(void)state;
	for (unsigned int i = 0; i < MU_ARRAY_SIZE(modes); i++) {
		struct mu_env e;
		struct pmm_gather tlb;
		struct pmm_folio *f;
		uint64_t free0;

		mu_env(&e, 16);
		f = folio_with_refs(e.pmm, 2, 4);	/* one reference per page handed over */
		free0 = mu_free(e.pmm);
		pmm_gather_init(&tlb, e.pmm, (enum pmm_gather_mode)modes[i], NULL, NULL);
		assert_false(pmm_gather_add(&tlb, pmm_folio_page(e.pmm, f, 0), 4));
		pmm_gather_finish(&tlb);
		assert_int_equal(mu_free(e.pmm), free0 + 4);
		mu_finish(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gather_runs),
		cmocka_unit_test(test_gather_flush_then_more),
		cmocka_unit_test(test_gather_full_batches),
		cmocka_unit_test(test_gather_batch_alloc_failure),
		cmocka_unit_test(test_gather_bad_input),
		cmocka_unit_test(test_gather_bad_mode),
		cmocka_unit_test(test_gather_run_across_forced_flush),
		cmocka_unit_test(test_mm_tlb_flush_before_free),
		cmocka_unit_test(test_mm_gather_batches),
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
