/* SPDX-License-Identifier: MIT */
/*
 * test_mm_fork.c - pmm_mm_fork and copy on write through pmm.h only
 * (design.md section 6): the child shares every folio read-only, a write
 * copies one page into a new order-0 folio (large folios are never reused
 * on write, as in kernel 6.5; an order-0 folio with refcount 1 is reused
 * in place), bytes written through one mm's pmm_mm_access pointer are
 * seen by that mm only (memfd backing), and the exit of either side
 * leaves the other intact. Every gather mode (fork is batched in RANGES
 * and ENCODED) and both mapcount models.
 *
 * Every scenario ends with every mm destroyed, pmm_check() == 0 and
 * buddyinfo equal to the fresh instance's (mu_finish).
 *
 * Contract points these tests rely on beyond the prototypes:
 *  - Fork allocates no frame but the child's page tables, and the child's
 *    tables mirror the parent's (every table of the parent maps a present
 *    page in these scenarios), so child pgtable_pages == parent's.
 *  - A COW fault allocates exactly one order-0 folio (the LRU then holds
 *    one more folio of one page), and the copy keeps every byte of the
 *    old page.
 *  - A read after fork maps nothing and copies nothing.
 *  - Refcounts are checked after pmm_lru_add_drain() (a folio in a
 *    per-CPU LRU add batch holds one more reference, and so does the
 *    deferred split queue for a folio it lists), and the reuse test
 *    drains before the write, since the kernel's reuse check counts the
 *    batch's reference too.
 *  - In the folio mapcount model the deferred split rule is mainline's
 *    (queued when the total mapcount drops below the folio's pages), so
 *    it may miss a partially mapped folio; tests then assert "at most" for
 *    that model only.
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "mm_util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define RW (PMM_MAP_WRITE)
#define RWP (PMM_MAP_WRITE | PMM_MAP_POPULATE)
#define WORDS (MU_PAGE / sizeof(uint64_t))

/* The parent's layout: order 0, order 4 with unaligned ends, order 9. */
static const struct mu_range R[] = {
	{ MU_BASE, MU_BASE + MU_PAGES(64) },
	{ MU_BASE + MU_PUD_SIZE + MU_PAGES(3), MU_BASE + MU_PUD_SIZE + MU_PAGES(103) },
	{ MU_BASE + 2 * MU_PUD_SIZE, MU_BASE + 2 * MU_PUD_SIZE + MU_PAGES(512) },
};
static const unsigned int R_ORDER[] = { 0, 4, 9 };
#define R_PAGES (64 + 100 + 512)

/* ------------------------------------------------------------------------
 * Local helpers
 * ------------------------------------------------------------------------ */

static uint64_t body_word(uint64_t tag, size_t i)
{
	return tag * 0x9e3779b97f4a7c15ull + i;
}

/* Fill the whole page: the tag words (mu_write_tag's) and a body. */
static void fill_page(pmm_mm_t *mm, uint64_t addr, uint64_t tag)
{
	void *p = NULL;
	uint64_t *w;

	assert_int_equal(pmm_mm_access(mm, addr, true, &p), 0);
	w = p;
	w[0] = tag;
	for (size_t i = 1; i < WORDS - 1; i++)
		w[i] = body_word(tag, i);
	w[WORDS - 1] = ~tag;
}

/* The body words fill_page(@tag) wrote are intact. */
static void assert_body(pmm_mm_t *mm, uint64_t addr, uint64_t tag)
{
	void *p = NULL;
	const uint64_t *w;

	assert_int_equal(pmm_mm_access(mm, addr, false, &p), 0);
	w = p;
	for (size_t i = 1; i < WORDS - 1; i++) {
		if (w[i] != body_word(tag, i))
			print_message("%#" PRIx64 " word %zu: %#" PRIx64 ", expected %#" PRIx64 "\n",
				      addr, i, w[i], body_word(tag, i));
		assert_int_equal(w[i], body_word(tag, i));
	}
}

static uint64_t tag_of(uint64_t addr, uint64_t salt)
{
	return (addr >> MU_PAGE_SHIFT) * 2654435761ull + salt * 0x100000001ull + 1;
}

/* The parent: R populated, every page filled with tag_of(addr, 1). */
static pmm_mm_t *make_parent(pmm_t *pmm, enum pmm_gather_mode mode,
			     enum pmm_mapcount_model model)
{
	pmm_mm_t *mm = mu_mm(pmm, mode, model);

	for (unsigned int i = 0; i < MU_ARRAY_SIZE(R); i++) {
		mu_map(mm, R[i].start, R[i].end - R[i].start, R_ORDER[i], RWP);
		for (uint64_t a = R[i].start; a < R[i].end; a += MU_PAGE)
			fill_page(mm, a, tag_of(a, 1));
	}
	return mm;
}

/* Every page of R in @mm reads @tags[i] (page i of R, in order). */
static void assert_tags(pmm_mm_t *mm, const uint64_t *tags)
{
	size_t i = 0;

	for (unsigned int r = 0; r < MU_ARRAY_SIZE(R); r++)
		for (uint64_t a = R[r].start; a < R[r].end; a += MU_PAGE, i++) {
			uint64_t t = mu_read_tag(mm, a);

			if (t != tags[i])
				print_message("%#" PRIx64 ": tag %#" PRIx64 ", expected %#" PRIx64 "\n",
					      a, t, tags[i]);
			assert_int_equal(t, tags[i]);
		}
}

static void initial_tags(uint64_t *tags)
{
	size_t i = 0;

	for (unsigned int r = 0; r < MU_ARRAY_SIZE(R); r++)
		for (uint64_t a = R[r].start; a < R[r].end; a += MU_PAGE)
			tags[i++] = tag_of(a, 1);
}

/* Page index of @addr within R's concatenation. */
static size_t r_index(uint64_t addr)
{
	size_t base = 0;

	for (unsigned int r = 0; r < MU_ARRAY_SIZE(R); r++) {
		if (addr >= R[r].start && addr < R[r].end)
			return base + (addr - R[r].start) / MU_PAGE;
		base += (R[r].end - R[r].start) / MU_PAGE;
	}
	fail_msg("%#" PRIx64 " is not in R", addr);
	return 0;
}

static uint64_t r_addr(size_t idx)
{
	for (unsigned int r = 0; r < MU_ARRAY_SIZE(R); r++) {
		size_t n = (R[r].end - R[r].start) / MU_PAGE;

		if (idx < n)
			return R[r].start + MU_PAGES(idx);
		idx -= n;
	}
	fail_msg("index beyond R");
	return 0;
}

/* The same page is mapped at every address of R in both mms. */
static void assert_same_pages(pmm_mm_t *a, pmm_mm_t *b)
{
	for (unsigned int r = 0; r < MU_ARRAY_SIZE(R); r++)
		for (uint64_t x = R[r].start; x < R[r].end; x += MU_PAGE) {
			assert_non_null(pmm_mm_lookup(a, x));
			assert_ptr_equal(pmm_mm_lookup(a, x), pmm_mm_lookup(b, x));
		}
}

/*
 * Write @tag at @addr in @mm through a COW fault (pmm_mm_fault then the
 * tag, or straight through pmm_mm_access) and check the copy: a new
 * order-0 folio with the old body, the old page still in @other.
 */
static void cow_write(pmm_t *pmm, pmm_mm_t *mm, pmm_mm_t *other, uint64_t addr, uint64_t tag,
		      uint64_t old_tag, bool via_fault)
{
	struct pmm_page *old = pmm_mm_lookup(mm, addr), *now;
	uint64_t cow0 = mu_stats(mm).cow_faults, rss0 = mu_stats(mm).rss_anon;

	assert_non_null(old);
	if (other)
		assert_ptr_equal(pmm_mm_lookup(other, addr), old);
	if (via_fault)
		mu_fault(mm, addr, true);
	mu_write_tag(mm, addr, tag);
	now = pmm_mm_lookup(mm, addr);
	assert_non_null(now);
	assert_true(now != old);
	assert_int_equal(pmm_folio_order(pmm_page_folio(now)), 0);
	assert_int_equal(mu_stats(mm).cow_faults, cow0 + 1);
	assert_int_equal(mu_stats(mm).rss_anon, rss0);
	if (other)
		assert_ptr_equal(pmm_mm_lookup(other, addr), old);
	assert_body(mm, addr, old_tag);
	assert_int_equal(mu_page_tag(pmm, now), tag);
}

/* ------------------------------------------------------------------------
 * 1. Fork shares every folio read-only; a write copies one page
 * ------------------------------------------------------------------------ */

static void fork_shares(enum pmm_gather_mode mode, enum pmm_mapcount_model model)
{
	struct mu_env e;
	pmm_mm_t *parent, *child, *both[2];
	struct pmm_mm_stats ps, cs;
	struct mu_lru lru0, lru;
	uint64_t tags[R_PAGES], free0;
	const uint64_t p1 = R[0].start + MU_PAGES(7), p2 = R[1].start + MU_PAGES(20),
		       p3 = R[2].start + MU_PAGES(300), p4 = R[2].start + MU_PAGES(301);

	mu_env(&e, 64);
	parent = make_parent(e.pmm, mode, model);
	initial_tags(tags);
	lru0 = mu_lru(e.pmm);
	free0 = mu_free(e.pmm);

	child = mu_fork(parent);
	both[0] = parent;
	both[1] = child;
	ps = mu_stats(parent);
	cs = mu_stats(child);
	assert_int_equal(cs.rss_anon, R_PAGES);
	assert_int_equal(cs.rss_anon, ps.rss_anon);
	assert_int_equal(cs.nr_vmas, ps.nr_vmas);
	assert_int_equal(cs.pgtable_pages, ps.pgtable_pages);
	assert_int_equal(cs.cow_faults, 0);
	assert_int_equal(ps.cow_faults, 0);
	assert_int_equal(free0 - mu_free(e.pmm), cs.pgtable_pages);
	tu_assert_conserved(e.pmm, ps.rss_anon + ps.pgtable_pages + cs.pgtable_pages);
	assert_same_pages(parent, child);
	mu_assert_rmap(e.pmm, both, 2, R, MU_ARRAY_SIZE(R), model, false);
	if (model == PMM_MAPCOUNT_PER_PAGE)
		assert_int_equal(pmm_page_mapcount(pmm_mm_lookup(child, p3)), 2);
	else
		assert_int_equal(pmm_page_mapcount(pmm_mm_lookup(child, p3)), 2 * 512);
	/* reading copies nothing */
	assert_tags(child, tags);
	assert_tags(parent, tags);
	assert_same_pages(parent, child);
	assert_int_equal(mu_stats(child).cow_faults, 0);
	lru = mu_lru(e.pmm);
	assert_int_equal(lru.folios, lru0.folios);
	assert_int_equal(lru.pages, lru0.pages);
	assert_int_equal(mu_deferred(e.pmm), 0);

	/* the child writes one page of each VMA: one page copied each time */
	cow_write(e.pmm, child, parent, p1, 0xc1, tag_of(p1, 1), true);
	cow_write(e.pmm, child, parent, p2, 0xc2, tag_of(p2, 1), false);
	cow_write(e.pmm, child, parent, p3, 0xc3, tag_of(p3, 1), true);
	tags[r_index(p1)] = 0xc1;
	tags[r_index(p2)] = 0xc2;
	tags[r_index(p3)] = 0xc3;
	assert_tags(child, tags);
	tags[r_index(p1)] = tag_of(p1, 1);
	tags[r_index(p2)] = tag_of(p2, 1);
	tags[r_index(p3)] = tag_of(p3, 1);
	assert_tags(parent, tags);
	/* every old page is still mapped by the parent: nothing queued */
	assert_int_equal(mu_deferred(e.pmm), 0);
	mu_assert_rmap(e.pmm, both, 2, R, MU_ARRAY_SIZE(R), model, false);
	lru = mu_lru(e.pmm);
	assert_int_equal(lru.folios, lru0.folios + 3);
	assert_int_equal(lru.pages, lru0.pages + 3);

	/* the parent writes p4 (shared) and p3 (which only it still maps) */
	cow_write(e.pmm, parent, child, p4, 0xa4, tag_of(p4, 1), false);
	assert_int_equal(mu_read_tag(child, p4), tag_of(p4, 1));
	cow_write(e.pmm, parent, NULL, p3, 0xa3, tag_of(p3, 1), true);
	assert_int_equal(mu_read_tag(child, p3), 0xc3);
	assert_int_equal(mu_stats(parent).cow_faults, 2);
	/*
	 * The old page at p3 lost its last mapping while the rest of its
	 * order-9 folio is mapped: partially mapped. The folio model sees a
	 * total of 1021 mappings for 512 pages and may miss it.
	 */
	if (model == PMM_MAPCOUNT_PER_PAGE)
		assert_int_equal(mu_deferred(e.pmm), 1);
	else
		assert_true(mu_deferred(e.pmm) <= 1);
	mu_assert_rmap(e.pmm, both, 2, R, MU_ARRAY_SIZE(R), model, false);
	tu_check(e.pmm);

	pmm_mm_destroy(child);
	pmm_mm_destroy(parent);
	mu_finish(&e);
}

static void test_fork_shares_read_only(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++)
		for (int model = 0; model < 2; model++)
			fork_shares(mu_modes[m], (enum pmm_mapcount_model)model);
}

/* ------------------------------------------------------------------------
 * 2. Contents through pmm_mm_access pointers (memfd backing)
 * ------------------------------------------------------------------------ */

/* pmm_mm_access asserted to succeed, as a byte pointer. */
static char *acc(pmm_mm_t *mm, uint64_t addr, bool write)
{
	void *p = NULL;

	assert_int_equal(pmm_mm_access(mm, addr, write, &p), 0);
	assert_non_null(p);
	return p;
}

/*
 * Bytes written through the child's pointer are seen by the child only;
 * the parent's pointer still reads the old bytes; and the other way
 * round. Orders 0, 2 and 9, every mode.
 */
static void test_cow_contents_memfd(void **state)
{
	static const unsigned int orders[] = { 0, 2, 9 };

	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		for (unsigned int i = 0; i < MU_ARRAY_SIZE(orders); i++) {
			const unsigned int k = orders[i];
			const uint64_t len = MU_PAGES(2ull << k), a1 = MU_BASE + 123,
				       a2 = MU_BASE + len - MU_PAGE + 45;
			struct mu_env e;
			pmm_mm_t *parent, *child;
			char *pp, *pp2, *cp, *cp2, *q;

			mu_env(&e, 64);
			parent = mu_mm(e.pmm, mu_modes[m], PMM_MAPCOUNT_PER_PAGE);
			mu_map(parent, MU_BASE, len, k, RW);
			pp = acc(parent, a1, true);
			strcpy(pp, "written by the parent before fork");
			memset(pp + 200, 0x5c, 1000);
			pp2 = acc(parent, a2, true);
			strcpy(pp2, "second page, parent");

			child = mu_fork(parent);
			q = acc(child, a1, false);
			assert_ptr_equal(q, pp);	/* shared: the same frame */
			cp = acc(child, a1, true);
			assert_true(cp != pp);
			assert_string_equal(cp, "written by the parent before fork");
			strcpy(cp, "the child's bytes");
			/* the parent still reads its old bytes through the same frame */
			q = acc(parent, a1, false);
			assert_ptr_equal(q, pp);
			assert_string_equal(pp, "written by the parent before fork");
			q = acc(child, a1, false);
			assert_ptr_equal(q, cp);
			assert_string_equal(cp, "the child's bytes");
			for (int b = 0; b < 1000; b++)
				assert_int_equal((unsigned char)cp[200 + b], 0x5c);

			/* the parent writes the second page: the child keeps the old one */
			q = acc(parent, a2, true);
			assert_true(q != pp2);
			strcpy(q, "second page, parent after fork");
			cp2 = acc(child, a2, false);
			assert_ptr_equal(cp2, pp2);
			assert_string_equal(cp2, "second page, parent");
			assert_int_equal(mu_stats(parent).cow_faults, 1);
			assert_int_equal(mu_stats(child).cow_faults, 1);
			/* every old page still has a mapping: nothing partially mapped */
			assert_int_equal(mu_deferred(e.pmm), 0);

			pmm_mm_destroy(parent);
			/* the child alone: its bytes and the old ones it still maps */
			q = acc(child, a1, false);
			assert_string_equal(q, "the child's bytes");
			q = acc(child, a2, false);
			assert_string_equal(q, "second page, parent");
			pmm_mm_destroy(child);
			mu_finish(&e);
		}
	}
}

/* ------------------------------------------------------------------------
 * 3. Reuse rules
 * ------------------------------------------------------------------------ */

/*
 * An order-0 folio whose refcount is 1 is reused on write (same page, no
 * copy): after the child's exit, and after the other side copied it away.
 * A large folio is never reused: after the child's exit a write still
 * copies one page, which leaves the folio partially mapped (queued). An
 * mm that never forked writes without any COW.
 */
static void test_cow_reuse_rules(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		struct mu_env e;
		pmm_mm_t *parent, *child;
		struct pmm_page *p;
		const uint64_t v0 = MU_BASE, v4 = MU_BASE + MU_PUD_SIZE;

		mu_env(&e, 64);
		parent = mu_mm(e.pmm, mu_modes[m], PMM_MAPCOUNT_PER_PAGE);
		mu_map(parent, v0, MU_PAGES(16), 0, RWP);
		mu_map(parent, v4, MU_PAGES(16), 4, RWP);
		for (int i = 0; i < 16; i++) {
			fill_page(parent, v0 + MU_PAGES(i), 100 + i);
			fill_page(parent, v4 + MU_PAGES(i), 200 + i);
		}
		assert_int_equal(mu_stats(parent).cow_faults, 0);

		/* shared order-0: the child's write copies, then the parent's reuses */
		child = mu_fork(parent);
		p = pmm_mm_lookup(parent, v0);
		cow_write(e.pmm, child, parent, v0, 0xc0, 100, true);
		pmm_lru_add_drain(e.pmm);
		assert_int_equal(pmm_page_count(p), 1);
		mu_fault(parent, v0, true);
		assert_ptr_equal(pmm_mm_lookup(parent, v0), p);
		assert_int_equal(mu_stats(parent).cow_faults, 0);
		assert_int_equal(mu_read_tag(parent, v0), 100);
		assert_int_equal(mu_read_tag(child, v0), 0xc0);
		/* shared order-0 with both mapping it: the parent's write copies */
		cow_write(e.pmm, parent, child, v0 + MU_PAGE, 0xa1, 101, false);

		/* after the child's exit: order 0 reused, order 4 copied */
		pmm_mm_destroy(child);
		pmm_lru_add_drain(e.pmm);
		p = pmm_mm_lookup(parent, v0 + MU_PAGES(2));
		assert_int_equal(pmm_page_count(p), 1);
		mu_fault(parent, v0 + MU_PAGES(2), true);
		mu_write_tag(parent, v0 + MU_PAGES(2), 0xa2);
		assert_ptr_equal(pmm_mm_lookup(parent, v0 + MU_PAGES(2)), p);
		assert_int_equal(mu_stats(parent).cow_faults, 1);
		assert_int_equal(mu_deferred(e.pmm), 0);

		pmm_lru_add_drain(e.pmm);
		assert_int_equal(pmm_page_count(pmm_mm_lookup(parent, v4)), 16);
		cow_write(e.pmm, parent, NULL, v4 + MU_PAGES(5), 0xa5, 205, true);
		assert_int_equal(mu_stats(parent).cow_faults, 2);
		/* the old page 5 is mapped by no one, the other 15 are: queued */
		assert_int_equal(mu_deferred(e.pmm), 1);
		pmm_lru_add_drain(e.pmm);
		/* 15 mappings and the deferred split queue's reference (src/deferred_split.c) */
		assert_int_equal(pmm_page_count(pmm_mm_lookup(parent, v4)), 15 + 1);
		for (int i = 0; i < 16; i++)
			assert_int_equal(mu_read_tag(parent, v4 + MU_PAGES(i)),
					 i == 5 ? 0xa5 : 200 + (uint64_t)i);
		pmm_mm_destroy(parent);

		/* never forked: writes need no fault at all */
		parent = mu_mm(e.pmm, mu_modes[m], PMM_MAPCOUNT_PER_PAGE);
		mu_map(parent, v4, MU_PAGES(16), 4, RWP);
		p = pmm_mm_lookup(parent, v4);
		for (int i = 0; i < 16; i++) {
			mu_fault(parent, v4 + MU_PAGES(i), true);
			mu_write_tag(parent, v4 + MU_PAGES(i), 300 + i);
		}
		assert_ptr_equal(pmm_mm_lookup(parent, v4), p);
		assert_int_equal(mu_stats(parent).cow_faults, 0);
		pmm_mm_destroy(parent);
		mu_finish(&e);
	}
}

/* ------------------------------------------------------------------------
 * 4. Exit of either side
 * ------------------------------------------------------------------------ */

/*
 * Fork, COW writes on both sides (disjoint pages), then the exit of one
 * side: the survivor keeps every mapping (the same pages), its contents
 * and consistent counts; the large folios that contained pages only the
 * dead side mapped are now partially mapped and queued, and the scan frees
 * exactly those pages.
 */
static void exit_side(enum pmm_gather_mode mode, enum pmm_mapcount_model model, bool parent_dies)
{
	static const unsigned int cp_idx[] = { 5, 70, 71, 90, 200, 400, 401, 402 };
	static const unsigned int pp_idx[] = { 6, 72, 91, 120, 500, 600 };
	struct mu_env e;
	pmm_mm_t *parent, *child, *survivor, *dead;
	uint64_t ptags[R_PAGES], ctags[R_PAGES], *stags;
	struct pmm_page *before[R_PAGES];
	struct mu_folios queued = { 0 };
	uint64_t freed_expect = 0, scanned, free0;
	const unsigned int *dead_idx;
	size_t n_dead;

	mu_env(&e, 64);
	parent = make_parent(e.pmm, mode, model);
	initial_tags(ptags);
	child = mu_fork(parent);
	memcpy(ctags, ptags, sizeof(ptags));
	for (unsigned int i = 0; i < MU_ARRAY_SIZE(cp_idx); i++) {
		uint64_t a = r_addr(cp_idx[i]);

		cow_write(e.pmm, child, parent, a, 0xc000 + i, ptags[cp_idx[i]], i & 1);
		ctags[cp_idx[i]] = 0xc000 + i;
	}
	for (unsigned int i = 0; i < MU_ARRAY_SIZE(pp_idx); i++) {
		uint64_t a = r_addr(pp_idx[i]);

		cow_write(e.pmm, parent, child, a, 0xa000 + i, ptags[pp_idx[i]], !(i & 1));
		ptags[pp_idx[i]] = 0xa000 + i;
	}
	assert_int_equal(mu_deferred(e.pmm), 0);

	survivor = parent_dies ? child : parent;
	dead = parent_dies ? parent : child;
	stags = parent_dies ? ctags : ptags;
	/* pages only the dead side still maps: the survivor copied them away */
	dead_idx = parent_dies ? cp_idx : pp_idx;
	n_dead = parent_dies ? MU_ARRAY_SIZE(cp_idx) : MU_ARRAY_SIZE(pp_idx);
	for (size_t i = 0; i < n_dead; i++) {
		struct pmm_folio *f = mu_folio_at(dead, r_addr(dead_idx[i]));

		if (pmm_folio_order(f) >= 2) {
			mu_folios_add(&queued, dead, r_addr(dead_idx[i]), r_addr(dead_idx[i]) + MU_PAGE);
			freed_expect++;
		}
	}
	for (size_t i = 0; i < R_PAGES; i++)
		before[i] = pmm_mm_lookup(survivor, r_addr(i));

	pmm_mm_destroy(dead);
	for (size_t i = 0; i < R_PAGES; i++)
		assert_ptr_equal(pmm_mm_lookup(survivor, r_addr(i)), before[i]);
	assert_int_equal(mu_stats(survivor).rss_anon, R_PAGES);
	assert_tags(survivor, stags);
	mu_assert_rmap(e.pmm, &survivor, 1, R, MU_ARRAY_SIZE(R), model, false);
	assert_int_equal(mu_deferred(e.pmm), mu_folios_count(&queued));

	/* the scan frees exactly the pages nobody maps, the survivor is intact */
	pmm_lru_add_drain(e.pmm);
	free0 = mu_free(e.pmm);
	scanned = pmm_deferred_split_scan(e.pmm, 1000);
	assert_int_equal(scanned, freed_expect);
	assert_int_equal(mu_free(e.pmm) - free0, freed_expect);
	assert_int_equal(mu_deferred(e.pmm), 0);
	for (size_t i = 0; i < R_PAGES; i++)
		assert_ptr_equal(pmm_mm_lookup(survivor, r_addr(i)), before[i]);
	assert_tags(survivor, stags);
	mu_assert_rmap(e.pmm, &survivor, 1, R, MU_ARRAY_SIZE(R), model, false);
	{
		struct pmm_mm_stats st = mu_stats(survivor);

		/* every folio is fully mapped by the survivor alone now */
		tu_assert_conserved(e.pmm, st.rss_anon + st.pgtable_pages);
	}
	mu_folios_free(&queued);
	pmm_mm_destroy(survivor);
	mu_finish(&e);
}

static void test_exit_parent_first(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++)
		for (int model = 0; model < 2; model++)
			exit_side(mu_modes[m], (enum pmm_mapcount_model)model, true);
}

static void test_exit_child_first(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++)
		for (int model = 0; model < 2; model++)
			exit_side(mu_modes[m], (enum pmm_mapcount_model)model, false);
}

/* ------------------------------------------------------------------------
 * 5. A tree of forks, random writes, random exit order (seeded)
 * ------------------------------------------------------------------------ */

#define TREE 4

static void fork_tree(enum pmm_gather_mode mode, enum pmm_mapcount_model model, uint64_t salt)
{
	struct mu_env e;
	struct prng rng;
	pmm_mm_t *mm[TREE] = { 0 };
	static uint64_t tags[TREE][R_PAGES];
	void *order[TREE];
	uint64_t next_tag = 1000;

	tu_rng_init(&rng, "fork_tree", salt);
	mu_env(&e, 128);
	mm[0] = make_parent(e.pmm, mode, model);
	initial_tags(tags[0]);

	/* random writes, then fork; the tree: 0 -> 1 -> 2, 0 -> 3 */
	for (int n = 1; n < TREE; n++) {
		int from = n == 2 ? 1 : 0;

		for (int w = 0; w < 40; w++) {
			int who = (int)prng_below(&rng, (uint64_t)n);
			size_t i = prng_below(&rng, R_PAGES);

			mu_write_tag(mm[who], r_addr(i), ++next_tag);
			tags[who][i] = next_tag;
		}
		mm[n] = mu_fork(mm[from]);
		memcpy(tags[n], tags[from], sizeof(tags[n]));
	}
	for (int w = 0; w < 120; w++) {
		int who = (int)prng_below(&rng, TREE);
		size_t i = prng_below(&rng, R_PAGES);

		mu_write_tag(mm[who], r_addr(i), ++next_tag);
		tags[who][i] = next_tag;
		if (w % 40 == 39)
			pmm_deferred_split_scan(e.pmm, prng_below(&rng, 4));
	}
	for (int n = 0; n < TREE; n++) {
		assert_tags(mm[n], tags[n]);
		assert_int_equal(mu_stats(mm[n]).rss_anon, R_PAGES);
	}
	mu_assert_rmap(e.pmm, mm, TREE, R, MU_ARRAY_SIZE(R), model, false);

	for (int n = 0; n < TREE; n++)
		order[n] = (void *)(uintptr_t)n;
	prng_shuffle(&rng, order, TREE, sizeof(*order));
	for (int x = 0; x < TREE; x++) {
		int victim = (int)(uintptr_t)order[x];
		pmm_mm_t *alive[TREE];
		size_t na = 0;

		pmm_mm_destroy(mm[victim]);
		mm[victim] = NULL;
		for (int n = 0; n < TREE; n++)
			if (mm[n]) {
				assert_tags(mm[n], tags[n]);
				alive[na++] = mm[n];
			}
		if (prng_below(&rng, 2))
			pmm_deferred_split_scan(e.pmm, 1000);
		for (int n = 0; n < TREE; n++)
			if (mm[n])
				assert_tags(mm[n], tags[n]);
		mu_assert_rmap(e.pmm, alive, na, R, MU_ARRAY_SIZE(R), model, false);
		tu_check(e.pmm);
	}
	mu_finish(&e);
}

static void test_fork_tree_random_exit(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++)
		for (int model = 0; model < 2; model++)
			fork_tree(mu_modes[m], (enum pmm_mapcount_model)model,
				  (uint64_t)(m * 2 + model + 1));
}

/* ------------------------------------------------------------------------
 * 6. Smaller cases
 * ------------------------------------------------------------------------ */

/* A read-only VMA stays read-only in the child; reads work. */
static void test_fork_read_only_vma(void **state)
{
	struct mu_env e;
	pmm_mm_t *parent, *child;

	(void)state;
	mu_env(&e, 64);
	parent = mu_mm(e.pmm, PMM_GATHER_ENCODED, PMM_MAPCOUNT_PER_PAGE);
	mu_map(parent, MU_BASE, MU_PAGES(32), 2, PMM_MAP_POPULATE);
	child = mu_fork(parent);
	assert_int_equal(pmm_mm_fault(child, MU_BASE, true), -PMM_EINVAL);
	assert_int_equal(pmm_mm_fault(parent, MU_BASE, true), -PMM_EINVAL);
	assert_int_equal(mu_read_tag(child, MU_BASE + MU_PAGES(31)), 0);
	assert_ptr_equal(pmm_mm_lookup(child, MU_BASE), pmm_mm_lookup(parent, MU_BASE));
	assert_int_equal(mu_stats(child).cow_faults, 0);
	pmm_mm_destroy(parent);
	pmm_mm_destroy(child);
	mu_finish(&e);
}

/*
 * The child gets the VMAs, not just the PTEs: unfaulted parts fault
 * independently on each side, and unmapping in the child leaves the
 * parent alone.
 */
static void test_fork_unfaulted_independent(void **state)
{
	struct mu_env e;
	pmm_mm_t *parent, *child;
	const uint64_t v = MU_BASE, hole = MU_BASE + MU_PAGES(40);

	(void)state;
	mu_env(&e, 64);
	parent = mu_mm(e.pmm, PMM_GATHER_RANGES, PMM_MAPCOUNT_FOLIO);
	mu_map(parent, v, MU_PAGES(64), 2, RW);
	for (int i = 0; i < 32; i++)
		mu_fault(parent, v + MU_PAGES(i), true);
	child = mu_fork(parent);
	assert_int_equal(mu_stats(child).nr_vmas, 1);
	assert_int_equal(mu_stats(child).rss_anon, 32);
	assert_null(pmm_mm_lookup(child, hole));

	mu_fault(child, hole, true);
	assert_non_null(pmm_mm_lookup(child, hole));
	assert_null(pmm_mm_lookup(parent, hole));
	assert_int_equal(mu_order_at(child, hole), 2);
	mu_fault(parent, hole, false);
	assert_true(pmm_mm_lookup(parent, hole) != pmm_mm_lookup(child, hole));
	assert_int_equal(mu_stats(child).cow_faults, 0);

	mu_unmap(child, v, MU_PAGES(16));
	assert_int_equal(mu_stats(child).rss_anon, 32 + 4 - 16);
	assert_int_equal(mu_stats(parent).rss_anon, 32 + 4);
	assert_non_null(pmm_mm_lookup(parent, v));
	assert_int_equal(pmm_mm_fault(child, v, false), -PMM_EINVAL);
	{
		pmm_mm_t *both[2] = { parent, child };
		const struct mu_range r = { v, v + MU_PAGES(64) };

		mu_assert_rmap(e.pmm, both, 2, &r, 1, PMM_MAPCOUNT_FOLIO, false);
	}
	pmm_mm_destroy(child);
	pmm_mm_destroy(parent);
	mu_finish(&e);
}

/* Forking an empty mm, and a fork of a fork of an empty mm. */
static void test_fork_empty(void **state)
{
	struct mu_env e;
	pmm_mm_t *a, *b, *c;

	(void)state;
	mu_env(&e, 64);
	a = mu_mm(e.pmm, PMM_GATHER_PER_PAGE, PMM_MAPCOUNT_PER_PAGE);
	mu_map(a, MU_BASE, MU_PAGES(8), 3, RW);	/* a VMA, nothing faulted */
	b = mu_fork(a);
	c = mu_fork(b);
	assert_int_equal(mu_stats(c).rss_anon, 0);
	assert_int_equal(mu_stats(c).nr_vmas, 1);
	assert_int_equal(mu_stats(c).pgtable_pages, 1);
	tu_assert_conserved(e.pmm, 3);
	mu_fault(c, MU_BASE, true);
	assert_int_equal(mu_order_at(c, MU_BASE), 3);
	assert_null(pmm_mm_lookup(a, MU_BASE));
	assert_null(pmm_mm_lookup(b, MU_BASE));
	pmm_mm_destroy(b);
	pmm_mm_destroy(a);
	pmm_mm_destroy(c);
	mu_finish(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_shares_read_only),
		cmocka_unit_test(test_cow_contents_memfd),
		cmocka_unit_test(test_cow_reuse_rules),
		cmocka_unit_test(test_exit_parent_first),
		cmocka_unit_test(test_exit_child_first),
		cmocka_unit_test(test_fork_tree_random_exit),
		cmocka_unit_test(test_fork_read_only_vma),
		cmocka_unit_test(test_fork_unfaulted_independent),
		cmocka_unit_test(test_fork_empty),
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
