/* SPDX-License-Identifier: MIT */
/*
 * test_mm_modes.c - the three gather modes and the two mapcount models
 * give identical observable results (issue 10), through pmm.h only.
 *
 * Differential tests: one seeded random sequence of operations - map at
 * mixed orders (0..9, aligned or not, populated or not, read-only or
 * not), faults, writes and verified reads through pmm_mm_access, fork,
 * COW writes, partial and whole unmaps (also across VMAs and holes),
 * swap-cache adds, deferred split scans, LRU drains, exits and refused
 * calls - runs on six instances, one per (gather mode, mapcount model),
 * otherwise configured alike. After every step the instances are
 * compared: every call's return value; free pages per order per zone
 * after a drain; the deferred split queue length; the swap cache size;
 * the LRU sizes after pmm_lru_add_drain(); each mm's RSS, VMAs, table
 * pages and fault counters; the mode-independent pmm_stats counters
 * (pgalloc, pgfree, alloc_fail, bad_page, leaked_pages); every N steps
 * also the structure of every mapping (present or not, folio order,
 * position in the folio, refcount, mapcount). A shadow model of the VMAs
 * and page contents checks each instance absolutely as well (contents,
 * which calls must fail).
 *
 * The gather modes are compared with each other exactly. The mapcount
 * models are compared exactly until their deferred split queues differ
 * (the folio model detects partial mapping from the total mapcount, as
 * mainline does, and may miss some: its queue must then be shorter);
 * from then on only what does not depend on splitting (return values,
 * RSS, VMAs, table pages, contents, which pages are mapped), and after
 * every mm is gone both end identical (the fresh instance).
 *
 * Why batch allocation is switched off in the exact run: gather batches
 * are order-0 page allocations, and the modes legitimately need
 * different numbers of them (PER_PAGE one entry per page, RANGES one per
 * range, ENCODED one or two slots per run). Taking different frames for
 * batches reorders the free lists, so later allocations may pick other
 * frames and free pages per order could differ without any bug. The
 * exact run therefore makes every page allocation fail during unmap and
 * exit (the gather then works with its 8-entry local bundle and forced
 * flushes, a path of its own) and compares free pages per order; the
 * second run lets batches be allocated and compares free pages per zone
 * and pgalloc/pgfree net of the teardown's own allocations.
 *
 * Then the runs of the batched modes against folio boundaries: folios
 * back to back with consecutive pfns, cut across the boundary, across a
 * page-table boundary (order 9), across holes (non-present PTEs) and with
 * a COW'd page (another folio's pfn) in the middle: the references each
 * folio loses are exactly its own.
 *
 * Contract points these tests rely on beyond the prototypes:
 *  - A child made by pmm_mm_fork() has its parent's mm config (gather
 *    mode, mapcount model).
 *  - During pmm_mm_unmap() and pmm_mm_destroy() the only page allocations
 *    are the gather's batches (and possibly a page-table free batch);
 *    their count is at least the mm's gather_batches increase.
 *  - The deferred split queue is FIFO in the same order in every mode (a
 *    scan of fewer folios than are queued takes the same ones).
 *  - Nothing here runs out of memory, not even of a free order-9 block
 *    (128 MiB instances, at most 3000 VMA pages live); checked in the run
 *    with batches, where it matters: alloc_fail, net of injected
 *    failures, stays 0.
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "mm_util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define RW (PMM_MAP_WRITE)
#define RWP (PMM_MAP_WRITE | PMM_MAP_POPULATE)

#define NWORLDS 6
#define SLOTS 4			/* mms alive at once */
#define MAX_VMAS 96
#define BUDGET 3000		/* VMA pages over all live mms */
#define WINDOW_PAGES (1ull << 20)	/* maps fall in [MU_BASE, MU_BASE + 4 GiB) */
#define STEPS 220
#define STRUCT_EVERY 10		/* structural comparison every N steps */
#define CHECK_EVERY 20		/* pmm_check every N steps */
#define MIB 128

/* ------------------------------------------------------------------------
 * The shadow: VMAs and page tags per mm slot
 * ------------------------------------------------------------------------ */

struct svma {
	uint64_t start, end;
	unsigned int order, flags;
	uint64_t *tags;		/* per page; 0: never written */
};

struct sslot {
	bool live;
	struct svma v[MAX_VMAS];
	unsigned int n;
};

struct shadow {
	struct sslot s[SLOTS];
	uint64_t pages;		/* VMA pages over live slots */
	uint64_t next_tag;
};

static uint64_t svma_pages(const struct svma *v)
{
	return (v->end - v->start) / MU_PAGE;
}

static struct svma *sh_find(struct sslot *s, uint64_t addr)
{
	for (unsigned int i = 0; i < s->n; i++)
		if (addr >= s->v[i].start && addr < s->v[i].end)
			return &s->v[i];
	return NULL;
}

static bool sh_overlaps(const struct sslot *s, uint64_t start, uint64_t end)
{
	for (unsigned int i = 0; i < s->n; i++)
		if (start < s->v[i].end && s->v[i].start < end)
			return true;
	return false;
}

static void sh_map(struct shadow *sh, struct sslot *s, uint64_t start, uint64_t end,
		   unsigned int order, unsigned int flags)
{
	struct svma *v = &s->v[s->n++];

	assert_true(s->n <= MAX_VMAS);
	v->start = start;
	v->end = end;
	v->order = order;
	v->flags = flags;
	v->tags = calloc(svma_pages(v), sizeof(uint64_t));
	assert_non_null(v->tags);
	sh->pages += svma_pages(v);
}

static void sh_remove(struct sslot *s, unsigned int i)
{
	free(s->v[i].tags);
	s->v[i] = s->v[--s->n];
}

static void sh_unmap(struct shadow *sh, struct sslot *s, uint64_t start, uint64_t end)
{
	for (unsigned int i = 0; i < s->n;) {
		struct svma *v = &s->v[i];

		if (v->end <= start || v->start >= end) {
			i++;
			continue;
		}
		if (v->start < start && v->end > end) {		/* split in two */
			struct svma *hi = &s->v[s->n++];
			uint64_t lo_pages = (start - v->start) / MU_PAGE;
			uint64_t skip = (end - v->start) / MU_PAGE;

			assert_true(s->n <= MAX_VMAS);
			*hi = *v;
			hi->start = end;
			hi->tags = malloc((svma_pages(v) - skip) * sizeof(uint64_t) + 8);
			assert_non_null(hi->tags);
			memcpy(hi->tags, v->tags + skip, (svma_pages(v) - skip) * sizeof(uint64_t));
			sh->pages -= (end - start) / MU_PAGE;
			v->end = start;
			(void)lo_pages;
			i++;
		} else if (v->start < start) {			/* keep the head */
			sh->pages -= (v->end - start) / MU_PAGE;
			v->end = start;
			i++;
		} else if (v->end > end) {			/* keep the tail */
			uint64_t cut = (end - v->start) / MU_PAGE;

			sh->pages -= cut;
			memmove(v->tags, v->tags + cut, (svma_pages(v) - cut) * sizeof(uint64_t));
			v->start = end;
			i++;
		} else {					/* all of it */
			sh->pages -= svma_pages(v);
			sh_remove(s, i);
		}
	}
}

static void sh_fork(struct shadow *sh, struct sslot *dst, const struct sslot *src)
{
	*dst = *src;
	for (unsigned int i = 0; i < dst->n; i++) {
		size_t bytes = svma_pages(&src->v[i]) * sizeof(uint64_t);

		dst->v[i].tags = malloc(bytes + 8);
		assert_non_null(dst->v[i].tags);
		memcpy(dst->v[i].tags, src->v[i].tags, bytes);
		sh->pages += svma_pages(&src->v[i]);
	}
}

static void sh_exit(struct shadow *sh, struct sslot *s)
{
	while (s->n) {
		sh->pages -= svma_pages(&s->v[s->n - 1]);
		sh_remove(s, s->n - 1);
	}
	s->live = false;
}

/* ------------------------------------------------------------------------
 * Worlds
 * ------------------------------------------------------------------------ */

enum cmp_kind {
	CMP_NONE,	/* the reference world */
	CMP_MODES,	/* same model, another gather mode: exact */
	CMP_MODELS,	/* same gather mode, the folio model: exact until the queues differ */
};

struct world {
	enum pmm_gather_mode mode;
	enum pmm_mapcount_model model;
	char name[32];
	struct mu_env e;
	pmm_mm_t *mm[SLOTS];
	int ref;			/* compared against this world */
	enum cmp_kind kind;
	bool diverged;			/* CMP_MODELS: queues differed at some step */
	bool scan_diverged;		/* ... and a scan ran since */
	uint64_t teardown_pgalloc;	/* frames allocated by unmap/exit (batches) */
};

struct run {
	struct world w[NWORLDS];
	struct shadow sh;
	struct prng rng;
	bool exact;			/* batch allocation fails during teardown */
	unsigned long step;
	const char *op;
	unsigned long rcs[NWORLDS];
};

static void run_init(struct run *r, bool exact, uint64_t salt)
{
	static const struct {
		enum pmm_gather_mode mode;
		enum pmm_mapcount_model model;
		int ref;
		enum cmp_kind kind;
	} layout[NWORLDS] = {
		{ PMM_GATHER_PER_PAGE, PMM_MAPCOUNT_PER_PAGE, -1, CMP_NONE },
		{ PMM_GATHER_RANGES, PMM_MAPCOUNT_PER_PAGE, 0, CMP_MODES },
		{ PMM_GATHER_ENCODED, PMM_MAPCOUNT_PER_PAGE, 0, CMP_MODES },
		{ PMM_GATHER_PER_PAGE, PMM_MAPCOUNT_FOLIO, 0, CMP_MODELS },
		{ PMM_GATHER_RANGES, PMM_MAPCOUNT_FOLIO, 3, CMP_MODES },
		{ PMM_GATHER_ENCODED, PMM_MAPCOUNT_FOLIO, 3, CMP_MODES },
	};

	memset(r, 0, sizeof(*r));
	r->exact = exact;
	tu_rng_init(&r->rng, exact ? "differential (exact)" : "differential (batches)", salt);
	for (int i = 0; i < NWORLDS; i++) {
		struct world *w = &r->w[i];

		w->mode = layout[i].mode;
		w->model = layout[i].model;
		w->ref = layout[i].ref;
		w->kind = layout[i].kind;
		snprintf(w->name, sizeof(w->name), "%s/%s", mu_mode_name(w->mode),
			 mu_model_name(w->model));
		mu_env(&w->e, MIB);
	}
}

/* The same call on every world; return values must agree. */
#define ALL(r, i) for (int i = 0; i < NWORLDS; i++)

static void rcs_agree(struct run *r, long expect, bool check_expect)
{
	for (int i = 0; i < NWORLDS; i++) {
		if (r->rcs[i] != r->rcs[0])
			print_message("step %lu (%s): %s returned %ld, %s %ld\n", r->step, r->op,
				      r->w[i].name, (long)r->rcs[i], r->w[0].name, (long)r->rcs[0]);
		assert_int_equal(r->rcs[i], r->rcs[0]);
	}
	if (check_expect && (long)r->rcs[0] != expect) {
		print_message("step %lu (%s): returned %ld, expected %ld\n", r->step, r->op,
			      (long)r->rcs[0], expect);
		assert_int_equal((long)r->rcs[0], expect);
	}
}

static void teardown_begin(struct run *r, struct world *w, uint64_t *pgalloc0)
{
	*pgalloc0 = tu_stats(w->e.pmm).pgalloc;
	if (r->exact)
		mu_arm(w->e.pmm, PMM_FAULT_PAGE_ALLOC, 1, -1);
}

static void teardown_end(struct run *r, struct world *w, uint64_t pgalloc0, uint64_t batches)
{
	uint64_t d;

	if (r->exact)
		mu_disarm(w->e.pmm, PMM_FAULT_PAGE_ALLOC);
	d = tu_stats(w->e.pmm).pgalloc - pgalloc0;
	if (r->exact && d)
		print_message("step %lu (%s) %s: %" PRIu64 " frames allocated during teardown "
			      "with every page allocation failing\n", r->step, r->op, w->name, d);
	if (r->exact)
		assert_int_equal(d, 0);
	assert_true(d >= batches);
	w->teardown_pgalloc += d;
}

/* ------------------------------------------------------------------------
 * Comparison
 * ------------------------------------------------------------------------ */

#define SAME(r, a, b, what, va, vb)                                                   \
	do {                                                                            \
		uint64_t x_ = (va), y_ = (vb);                                              \
		if (x_ != y_)                                                               \
			print_message("step %lu (%s): %s: %s %" PRIu64 ", %s %" PRIu64 "\n",  \
				      (r)->step, (r)->op, what, (b)->name, y_, (a)->name, x_);  \
		assert_int_equal(x_, y_);                                                   \
	} while (0)

struct obs {
	struct tu_buddy buddy;
	uint64_t deferred, swap;
	struct mu_lru lru;
	struct pmm_stats st;
	struct pmm_mm_stats mm[SLOTS];
};

static void observe(struct world *w, struct obs *o)
{
	tu_buddy_snap(w->e.pmm, &o->buddy);
	o->deferred = mu_deferred(w->e.pmm);
	o->swap = pmm_swapcache_nr(w->e.pmm);
	o->lru = mu_lru(w->e.pmm);
	pmm_stats_get(w->e.pmm, &o->st);
	for (int s = 0; s < SLOTS; s++)
		if (w->mm[s])
			o->mm[s] = mu_stats(w->mm[s]);
}

/* Every present page of every live mm, compared between two worlds. */
static void compare_structure(struct run *r, struct world *a, struct world *b, bool full)
{
	for (int s = 0; s < SLOTS; s++) {
		struct sslot *sl = &r->sh.s[s];

		if (!sl->live)
			continue;
		for (unsigned int i = 0; i < sl->n; i++)
			for (uint64_t x = sl->v[i].start; x < sl->v[i].end; x += MU_PAGE) {
				struct pmm_page *pa = pmm_mm_lookup(a->mm[s], x);
				struct pmm_page *pb = pmm_mm_lookup(b->mm[s], x);
				struct pmm_folio *fa, *fb;

				if (!pa != !pb)
					print_message("step %lu (%s): %#" PRIx64 " in mm %d: %s %s, %s %s\n",
						      r->step, r->op, x, s, a->name,
						      pa ? "mapped" : "not mapped", b->name,
						      pb ? "mapped" : "not mapped");
				assert_int_equal(!pa, !pb);
				if (!pa || !full)
					continue;
				fa = pmm_page_folio(pa);
				fb = pmm_page_folio(pb);
				SAME(r, a, b, "folio order", pmm_folio_order(fa), pmm_folio_order(fb));
				SAME(r, a, b, "page index in folio",
				     pmm_page_to_pfn(a->e.pmm, pa) -
					     pmm_page_to_pfn(a->e.pmm, pmm_folio_page(a->e.pmm, fa, 0)),
				     pmm_page_to_pfn(b->e.pmm, pb) -
					     pmm_page_to_pfn(b->e.pmm, pmm_folio_page(b->e.pmm, fb, 0)));
				SAME(r, a, b, "refcount", (uint64_t)pmm_page_count(pa),
				     (uint64_t)pmm_page_count(pb));
				if (b->kind == CMP_MODES)
					SAME(r, a, b, "mapcount", (uint64_t)pmm_page_mapcount(pa),
					     (uint64_t)pmm_page_mapcount(pb));
			}
	}
}

static void compare_pair(struct run *r, struct world *a, struct world *b, const struct obs *oa,
			 const struct obs *ob, bool structure)
{
	bool full;

	if (b->kind == CMP_MODELS && !b->diverged && oa->deferred != ob->deferred) {
		print_message("step %lu (%s): %s queue %" PRIu64 ", %s %" PRIu64
			      ": the models diverge from here\n", r->step, r->op, b->name,
			      ob->deferred, a->name, oa->deferred);
		b->diverged = true;
	}
	if (b->kind == CMP_MODELS && b->diverged && !b->scan_diverged)
		assert_true(ob->deferred <= oa->deferred);	/* the folio model only misses */
	full = !b->diverged;

	/* always: the mms' shape */
	for (int s = 0; s < SLOTS; s++) {
		assert_int_equal(!a->mm[s], !b->mm[s]);
		if (!a->mm[s])
			continue;
		SAME(r, a, b, "rss_anon", oa->mm[s].rss_anon, ob->mm[s].rss_anon);
		SAME(r, a, b, "nr_vmas", oa->mm[s].nr_vmas, ob->mm[s].nr_vmas);
		SAME(r, a, b, "pgtable_pages", oa->mm[s].pgtable_pages, ob->mm[s].pgtable_pages);
		if (full) {
			SAME(r, a, b, "faults", oa->mm[s].faults, ob->mm[s].faults);
			SAME(r, a, b, "cow_faults", oa->mm[s].cow_faults, ob->mm[s].cow_faults);
			SAME(r, a, b, "fault_fallbacks", oa->mm[s].fault_fallbacks,
			     ob->mm[s].fault_fallbacks);
		}
	}
	SAME(r, a, b, "bad_page", oa->st.bad_page, ob->st.bad_page);
	SAME(r, a, b, "leaked_pages", oa->st.leaked_pages, ob->st.leaked_pages);
	SAME(r, a, b, "alloc_fail (not injected)", oa->st.alloc_fail - oa->st.fault_injected,
	     ob->st.alloc_fail - ob->st.fault_injected);
	if (structure)
		compare_structure(r, a, b, full);
	if (!full)
		return;

	SAME(r, a, b, "deferred split queue", oa->deferred, ob->deferred);
	SAME(r, a, b, "swap cache folios", oa->swap, ob->swap);
	SAME(r, a, b, "LRU folios", oa->lru.folios, ob->lru.folios);
	SAME(r, a, b, "LRU pages", oa->lru.pages, ob->lru.pages);
	SAME(r, a, b, "pgalloc (teardown's own excluded)", oa->st.pgalloc - a->teardown_pgalloc,
	     ob->st.pgalloc - b->teardown_pgalloc);
	SAME(r, a, b, "pgfree (teardown's own excluded)", oa->st.pgfree - a->teardown_pgalloc,
	     ob->st.pgfree - b->teardown_pgalloc);
	if (r->exact) {
		SAME(r, a, b, "pgalloc", oa->st.pgalloc, ob->st.pgalloc);
		SAME(r, a, b, "pgfree", oa->st.pgfree, ob->st.pgfree);
		tu_buddy_assert_equal(&oa->buddy, &ob->buddy);
	} else {
		assert_int_equal(oa->buddy.nr_zones, ob->buddy.nr_zones);
		for (unsigned int z = 0; z < oa->buddy.nr_zones; z++)
			SAME(r, a, b, "free pages in a zone", oa->buddy.z[z].free_pages,
			     ob->buddy.z[z].free_pages);
	}
}

static void compare_all(struct run *r)
{
	static struct obs o[NWORLDS];
	bool structure = r->step % STRUCT_EVERY == 0;

	ALL(r, i) {
		observe(&r->w[i], &o[i]);
		/*
		 * Absolute: nothing went bad. With batches allocated the frames
		 * the worlds pick differ, so a large folio that could not be had
		 * (fragmentation) would make them differ legitimately: the run
		 * relies on never running short, and says so here first.
		 */
		if (!r->exact)
			assert_int_equal(o[i].st.alloc_fail - o[i].st.fault_injected, 0);
		assert_int_equal(o[i].st.bad_page, 0);
		assert_int_equal(o[i].st.leaked_pages, 0);
		for (int s = 0; s < SLOTS; s++) {
			uint64_t vpages = 0;

			if (!r->sh.s[s].live)
				continue;
			for (unsigned int v = 0; v < r->sh.s[s].n; v++)
				vpages += svma_pages(&r->sh.s[s].v[v]);
			assert_true(o[i].mm[s].rss_anon <= vpages);
		}
		if (r->step % CHECK_EVERY == 0)
			tu_check(r->w[i].e.pmm);
	}
	for (int i = 1; i < NWORLDS; i++)
		compare_pair(r, &r->w[r->w[i].ref], &r->w[i], &o[r->w[i].ref], &o[i], structure);
}

/* ------------------------------------------------------------------------
 * Operations
 * ------------------------------------------------------------------------ */

static int pick_live(struct run *r)
{
	int live[SLOTS], n = 0;

	for (int s = 0; s < SLOTS; s++)
		if (r->sh.s[s].live)
			live[n++] = s;
	return n ? live[prng_below(&r->rng, (uint64_t)n)] : -1;
}

static int pick_free(struct run *r)
{
	for (int s = 0; s < SLOTS; s++)
		if (!r->sh.s[s].live)
			return s;
	return -1;
}

static unsigned int pick_order(struct run *r)
{
	uint64_t x = prng_below(&r->rng, 100);

	if (x < 25)
		return 0;
	if (x < 80)
		return 1 + (unsigned int)prng_below(&r->rng, 6);	/* 1..6 */
	return 7 + (unsigned int)prng_below(&r->rng, 3);		/* 7..9 */
}

static void op_create(struct run *r, int s)
{
	r->op = "create";
	ALL(r, i) {
		struct world *w = &r->w[i];

		w->mm[s] = mu_mm(w->e.pmm, w->mode, w->model);
	}
	r->sh.s[s].live = true;
	r->sh.s[s].n = 0;
}

static void op_map(struct run *r, int s)
{
	struct sslot *sl = &r->sh.s[s];
	unsigned int order = pick_order(r), flags;
	uint64_t maxp = (4ull << order) > 64 ? (4ull << order) : 64, pages, start;
	int tries;

	r->op = "map";
	if (maxp > 1024)
		maxp = 1024;
	pages = 1 + prng_below(&r->rng, maxp);
	if (sl->n >= MAX_VMAS / 2 || r->sh.pages + pages > BUDGET)
		return;
	for (tries = 0; tries < 8; tries++) {
		start = prng_below(&r->rng, WINDOW_PAGES - pages);
		if (prng_below(&r->rng, 2))
			start &= ~((1ull << order) - 1);
		start = MU_BASE + MU_PAGES(start);
		if (!sh_overlaps(sl, start, start + MU_PAGES(pages)))
			break;
	}
	if (tries == 8)
		return;
	flags = (prng_below(&r->rng, 10) ? PMM_MAP_WRITE : 0) |
		(prng_below(&r->rng, 2) ? PMM_MAP_POPULATE : 0);
	ALL(r, i)
		r->rcs[i] = (unsigned long)pmm_mm_map_anon(r->w[i].mm[s], start, MU_PAGES(pages),
							   order, flags);
	rcs_agree(r, 0, true);
	sh_map(&r->sh, sl, start, start + MU_PAGES(pages), order, flags);
}

/* Refused calls: an overlapping map, a fault outside any VMA, bad ranges. */
static void op_bad(struct run *r, int s)
{
	struct sslot *sl = &r->sh.s[s];
	uint64_t x = prng_below(&r->rng, 4), addr;

	r->op = "refused call";
	if (x == 0 && sl->n) {
		struct svma *v = &sl->v[prng_below(&r->rng, sl->n)];
		uint64_t in = v->start + MU_PAGES(prng_below(&r->rng, svma_pages(v)));

		ALL(r, i)
			r->rcs[i] = (unsigned long)pmm_mm_map_anon(r->w[i].mm[s], in, MU_PAGES(2),
								   0, RW);
		rcs_agree(r, -PMM_EINVAL, true);
		return;
	}
	if (x == 1) {
		bool write = prng_below(&r->rng, 2) != 0;

		do
			addr = MU_BASE + MU_PAGES(prng_below(&r->rng, WINDOW_PAGES));
		while (sh_find(sl, addr));
		ALL(r, i)
			r->rcs[i] = (unsigned long)pmm_mm_fault(r->w[i].mm[s], addr, write);
		rcs_agree(r, -PMM_EINVAL, true);
		return;
	}
	addr = MU_BASE + MU_PAGES(prng_below(&r->rng, WINDOW_PAGES)) + 1 +
	       prng_below(&r->rng, MU_PAGE - 1);
	ALL(r, i)
		r->rcs[i] = (unsigned long)(x == 2 ? pmm_mm_unmap(r->w[i].mm[s], addr, MU_PAGE)
						   : pmm_mm_swapcache_add(r->w[i].mm[s], addr, 0));
	rcs_agree(r, -PMM_EINVAL, true);
}

static struct svma *pick_vma(struct run *r, int s)
{
	struct sslot *sl = &r->sh.s[s];

	return sl->n ? &sl->v[prng_below(&r->rng, sl->n)] : NULL;
}

static void op_fault(struct run *r, int s)
{
	struct svma *v = pick_vma(r, s);
	uint64_t addr;
	bool write;

	r->op = "fault";
	if (!v)
		return;
	addr = v->start + MU_PAGES(prng_below(&r->rng, svma_pages(v)));
	write = prng_below(&r->rng, 2) != 0;
	ALL(r, i)
		r->rcs[i] = (unsigned long)pmm_mm_fault(r->w[i].mm[s], addr, write);
	rcs_agree(r, write && !(v->flags & PMM_MAP_WRITE) ? -PMM_EINVAL : 0, true);
}

static void op_write(struct run *r, int s)
{
	struct svma *v = pick_vma(r, s);
	uint64_t addr, tag, idx;

	r->op = "write";
	if (!v || !(v->flags & PMM_MAP_WRITE))
		return;
	idx = prng_below(&r->rng, svma_pages(v));
	addr = v->start + MU_PAGES(idx);
	tag = ++r->sh.next_tag;
	ALL(r, i)
		r->rcs[i] = (unsigned long)mu_try_write_tag(r->w[i].mm[s], addr, tag);
	rcs_agree(r, 0, true);
	v->tags[idx] = tag;
}

static void op_verify(struct run *r, int s)
{
	struct svma *v = pick_vma(r, s);

	r->op = "verify";
	if (!v)
		return;
	for (int k = 0; k < 16; k++) {
		uint64_t idx = prng_below(&r->rng, svma_pages(v));
		uint64_t addr = v->start + MU_PAGES(idx);

		ALL(r, i) {
			uint64_t tag = ~0ull;
			int rc = mu_try_read_tag(r->w[i].mm[s], addr, &tag);

			if (rc || tag != v->tags[idx])
				print_message("step %lu: %s mm %d %#" PRIx64 ": rc %d tag %#" PRIx64
					      ", expected %#" PRIx64 "\n", r->step, r->w[i].name, s,
					      addr, rc, tag, v->tags[idx]);
			assert_int_equal(rc, 0);
			assert_int_equal(tag, v->tags[idx]);
		}
	}
}

static void op_fork(struct run *r, int s)
{
	int c = pick_free(r);
	struct sslot *src = &r->sh.s[s];
	uint64_t pages = 0;

	r->op = "fork";
	for (unsigned int i = 0; i < src->n; i++)
		pages += svma_pages(&src->v[i]);
	if (c < 0 || r->sh.pages + pages > BUDGET)
		return;
	ALL(r, i) {
		struct world *w = &r->w[i];

		w->mm[c] = NULL;
		r->rcs[i] = (unsigned long)pmm_mm_fork(w->mm[s], &w->mm[c]);
		if (!r->rcs[i])
			assert_non_null(w->mm[c]);
	}
	rcs_agree(r, 0, true);
	sh_fork(&r->sh, &r->sh.s[c], src);
}

static void do_unmap(struct run *r, int s, uint64_t start, uint64_t end)
{
	ALL(r, i) {
		struct world *w = &r->w[i];
		uint64_t pg0, b0 = mu_stats(w->mm[s]).gather_batches;

		teardown_begin(r, w, &pg0);
		r->rcs[i] = (unsigned long)pmm_mm_unmap(w->mm[s], start, end - start);
		teardown_end(r, w, pg0, mu_stats(w->mm[s]).gather_batches - b0);
	}
	rcs_agree(r, 0, true);
	sh_unmap(&r->sh, &r->sh.s[s], start, end);
	/* absolute: nothing is mapped there any more */
	ALL(r, i)
		for (uint64_t a = start; a < end && a < start + MU_PAGES(64); a += MU_PAGE)
			assert_null(pmm_mm_lookup(r->w[i].mm[s], a));
}

static void op_unmap_part(struct run *r, int s)
{
	struct svma *v = pick_vma(r, s);
	uint64_t a, b, n;

	r->op = "partial unmap";
	if (!v || r->sh.s[s].n >= MAX_VMAS - 2)
		return;
	n = svma_pages(v);
	a = v->start + MU_PAGES(prng_below(&r->rng, n));
	if (prng_below(&r->rng, 5) == 0)	/* on across holes and other VMAs */
		b = a + MU_PAGES(1 + prng_below(&r->rng, 2048));
	else
		b = a + MU_PAGES(1 + prng_below(&r->rng, (v->end - a) / MU_PAGE));
	do_unmap(r, s, a, b);
}

static void op_unmap_vma(struct run *r, int s)
{
	struct svma *v = pick_vma(r, s);

	r->op = "unmap a VMA";
	if (v)
		do_unmap(r, s, v->start, v->end);
}

static void op_swap(struct run *r, int s)
{
	struct svma *v = pick_vma(r, s);
	uint64_t a, n;

	r->op = "swapcache add";
	if (!v)
		return;
	a = v->start + MU_PAGES(prng_below(&r->rng, svma_pages(v)));
	n = 1 + prng_below(&r->rng, (v->end - a) / MU_PAGE);
	ALL(r, i)
		r->rcs[i] = (unsigned long)pmm_mm_swapcache_add(r->w[i].mm[s], a, MU_PAGES(n));
	rcs_agree(r, 0, true);
}

static void op_scan(struct run *r, unsigned long nr)
{
	r->op = "scan";
	ALL(r, i) {
		pmm_lru_add_drain(r->w[i].e.pmm);
		r->rcs[i] = pmm_deferred_split_scan(r->w[i].e.pmm, nr);
	}
	for (int i = 1; i < NWORLDS; i++) {
		struct world *w = &r->w[i];

		if (w->kind == CMP_MODELS && w->diverged) {
			w->scan_diverged = true;
			continue;
		}
		if (w->kind == CMP_MODELS && r->rcs[i] != r->rcs[w->ref]) {
			print_message("step %lu: %s scan freed %lu, %s %lu: the models diverge\n",
				      r->step, w->name, r->rcs[i], r->w[w->ref].name,
				      r->rcs[w->ref]);
			w->diverged = w->scan_diverged = true;
			continue;
		}
		if (r->rcs[i] != r->rcs[w->ref])
			print_message("step %lu: %s scan freed %lu, %s %lu\n", r->step, w->name,
				      r->rcs[i], r->w[w->ref].name, r->rcs[w->ref]);
		assert_int_equal(r->rcs[i], r->rcs[w->ref]);
	}
}

static void op_exit(struct run *r, int s)
{
	r->op = "exit";
	ALL(r, i) {
		struct world *w = &r->w[i];
		uint64_t pg0;

		teardown_begin(r, w, &pg0);
		pmm_mm_destroy(w->mm[s]);
		w->mm[s] = NULL;
		teardown_end(r, w, pg0, 0);
	}
	sh_exit(&r->sh, &r->sh.s[s]);
}

static void one_step(struct run *r)
{
	uint64_t x;
	int s = pick_live(r);

	if (s < 0) {
		op_create(r, 0);
		return;
	}
	/* keep the queue short: decided on world 0, which queues the most */
	if (mu_deferred(r->w[0].e.pmm) > 16) {
		op_scan(r, 1ul << 20);
		return;
	}
	x = prng_below(&r->rng, 100);
	if (x < 3 && pick_free(r) >= 0)
		op_create(r, pick_free(r));
	else if (x < 20)
		op_map(r, s);
	else if (x < 33)
		op_fault(r, s);
	else if (x < 46)
		op_write(r, s);
	else if (x < 52)
		op_verify(r, s);
	else if (x < 57)
		op_fork(r, s);
	else if (x < 69)
		op_unmap_part(r, s);
	else if (x < 74)
		op_unmap_vma(r, s);
	else if (x < 80)
		op_swap(r, s);
	else if (x < 87)
		op_scan(r, prng_below(&r->rng, 3) ? 1 + prng_below(&r->rng, 4) : 1ul << 20);
	else if (x < 90) {
		r->op = "lru drain";
		ALL(r, i)
			pmm_lru_add_drain(r->w[i].e.pmm);
	} else if (x < 94)
		op_exit(r, s);
	else
		op_bad(r, s);
}

static void differential(bool exact, uint64_t salt)
{
	static struct run r;

	run_init(&r, exact, salt);
	for (r.step = 0; r.step < STEPS; r.step++) {
		one_step(&r);
		compare_all(&r);
	}
	/* every mm exits, the queue is scanned empty: all six end identical */
	for (int s = 0; s < SLOTS; s++)
		if (r.sh.s[s].live) {
			op_exit(&r, s);
			compare_all(&r);
		}
	op_scan(&r, 1ul << 20);
	r.step = 0;	/* structure and check at the end */
	r.op = "end";
	compare_all(&r);
	for (int i = 0; i < NWORLDS; i++) {
		const struct world *w = &r.w[i];

		print_message("%s: %s the reference%s\n", w->name,
			      w->kind == CMP_NONE ? "is" : "matched",
			      w->diverged ? " until its queue diverged" : "");
	}
	ALL(&r, i)
		mu_finish(&r.w[i].e);
}

static void test_differential_exact(void **state)
{
	(void)state;
	differential(true, 1);
	differential(true, 2);
}

static void test_differential_with_batches(void **state)
{
	(void)state;
	differential(false, 3);
	differential(false, 4);
}

/* ------------------------------------------------------------------------
 * Runs against folio boundaries
 * ------------------------------------------------------------------------ */

/* Folios mapped back to back at @b: at least one boundary with consecutive pfns. */
static void assert_back_to_back(pmm_t *pmm, pmm_mm_t *mm, uint64_t b, unsigned int k,
				unsigned int folios)
{
	unsigned int adjacent = 0;

	for (unsigned int i = 1; i < folios; i++) {
		uint64_t edge = b + MU_PAGES((uint64_t)i << k);

		adjacent += pmm_page_to_pfn(pmm, pmm_mm_lookup(mm, edge)) ==
			    pmm_page_to_pfn(pmm, pmm_mm_lookup(mm, edge - MU_PAGE)) + 1;
	}
	if (!adjacent)
		print_message("no two order-%u folios with consecutive pfns: the run tests below"
			      " need a fresh instance's allocation order\n", k);
	assert_true(adjacent > 0);
}

/* The folio at @addr holds @refs references besides the deferred split queue's, if queued. */
static void assert_refs(pmm_t *pmm, pmm_mm_t *mm, uint64_t addr, int refs)
{
	struct pmm_folio_info fi;

	pmm_lru_add_drain(pmm);
	assert_int_equal(pmm_folio_info(pmm, pmm_mm_lookup(mm, addr), &fi), 0);
	assert_int_equal(fi.refcount - fi.deferred_split, refs);
}

/*
 * A run (RANGES: a pfn range, ENCODED: a PTE batch) never spans two
 * folios and stops at a non-present PTE and at a PTE that maps another
 * folio's pfn; the table boundary coincides with the end of an order-9
 * folio. The observable proof: each folio loses exactly the references of
 * its own pages, and the frames come back.
 */
static void test_runs_stop_at_folio_boundaries(void **state)
{
	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++) {
		struct mu_env e;
		pmm_mm_t *mm, *child;
		const uint64_t b = MU_BASE, b9 = MU_BASE + MU_PUD_SIZE, b0 = MU_BASE + 2 * MU_PUD_SIZE;

		mu_env(&e, 64);
		mm = mu_mm(e.pmm, mu_modes[m], PMM_MAPCOUNT_PER_PAGE);

		/* order 4, eight folios back to back; cut across folio 0 | 1 */
		mu_map(mm, b, MU_PAGES(128), 4, RWP);
		assert_back_to_back(e.pmm, mm, b, 4, 8);
		mu_unmap(mm, b + MU_PAGES(8), MU_PAGES(16));
		assert_refs(e.pmm, mm, b, 8);
		assert_refs(e.pmm, mm, b + MU_PAGES(24), 8);
		assert_int_equal(mu_deferred(e.pmm), 2);
		/* a hole inside folio 2, then an unmap over the hole: all of it */
		mu_unmap(mm, b + MU_PAGES(36), MU_PAGES(4));
		assert_refs(e.pmm, mm, b + MU_PAGES(32), 12);
		mu_unmap(mm, b + MU_PAGES(32), MU_PAGES(16));
		assert_int_equal(mu_deferred(e.pmm), 2);
		assert_refs(e.pmm, mm, b + MU_PAGES(48), 16);
		/* a COW'd page in the middle of folio 3 in the child */
		child = mu_fork(mm);
		mu_fault(child, b + MU_PAGES(50), true);
		assert_refs(e.pmm, mm, b + MU_PAGES(48), 31);
		mu_unmap(child, b + MU_PAGES(48), MU_PAGES(16));
		assert_refs(e.pmm, mm, b + MU_PAGES(48), 16);
		assert_refs(e.pmm, mm, b + MU_PAGES(64), 32);
		pmm_mm_destroy(child);
		assert_refs(e.pmm, mm, b + MU_PAGES(64), 16);

		/*
		 * Order 9, two folios on either side of a PTE-table boundary, cut
		 * across it (their pfns may or may not follow: order 9 comes
		 * through the pcp lists).
		 */
		mu_map(mm, b9, MU_PAGES(1024), 9, RWP);
		mu_unmap(mm, b9 + MU_PAGES(500), MU_PAGES(24));
		assert_refs(e.pmm, mm, b9, 500);
		assert_refs(e.pmm, mm, b9 + MU_PAGES(1023), 500);

		/* order 0: every page its own folio, however consecutive the pfns */
		mu_map(mm, b0, MU_PAGES(256), 0, RWP);
		mu_unmap(mm, b0 + MU_PAGES(1), MU_PAGES(254));
		assert_refs(e.pmm, mm, b0, 1);
		assert_refs(e.pmm, mm, b0 + MU_PAGES(255), 1);

		pmm_lru_add_drain(e.pmm);
		pmm_deferred_split_scan(e.pmm, 100);
		assert_int_equal(mu_deferred(e.pmm), 0);
		tu_assert_conserved(e.pmm, mu_stats(mm).rss_anon + mu_stats(mm).pgtable_pages);
		pmm_mm_destroy(mm);
		mu_finish(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_differential_exact),
		cmocka_unit_test(test_differential_with_batches),
		cmocka_unit_test(test_runs_stop_at_folio_boundaries),
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
