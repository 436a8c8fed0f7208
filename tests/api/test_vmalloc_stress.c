/* SPDX-License-Identifier: MIT */
/*
 * test_vmalloc_stress.c - vmalloc's error paths and its concurrency,
 * through pmm.h only.
 *
 * Fault injection (struct pmm_fault_attr, as test_faults.c sweeps it):
 * for N = 1, 2, ... the Nth eligible page allocation, or metadata
 * allocation, fails (once, or every one from N on) during a vmalloc whose
 * size uses several orders, on a fresh and on a fragmented instance, and
 * during pmm_vmap. Every run returns NULL or a whole, working area; after
 * freeing and purging nothing is left behind: the free frames, the live
 * metadata blocks (counted by testutil's tu_meta) and the window are as
 * before, pmm_check() passes. A sweep ends at the first N that injects
 * nothing (N is then past the call's eligible allocations).
 *
 * Threads: several threads on one instance allocate areas of random size
 * (vmalloc, vzalloc, aligned node_range, vmap of their own pages), write
 * and verify a pattern through the area and through the direct map, and
 * free them, while one of them purges and prints the views. Workers use
 * no cmocka asserts: they count errors. Built with TSan in CI, so every
 * access the test makes is ordered by the API's own contract (each area
 * and its frames belong to one thread between its allocation and its
 * free).
 *
 * Contract points relied on beyond the prototypes:
 *  - With page-allocation faults from N on without limit, a vmalloc that
 *    met one cannot finish (every later page allocation fails too): NULL.
 *  - The metadata a vmalloc keeps for reuse (its area cache) is allocated
 *    once: after one warm-up vmalloc/vfree/purge the live metadata blocks
 *    are constant across further cycles.
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "vm_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#define PS 4096ul

static struct tu_meta meta = TU_META_INIT;

/* ------------------------------------------------------------------------
 * Fault attributes (as test_faults.c)
 * ------------------------------------------------------------------------ */

static void arm(pmm_t *pmm, enum pmm_fault_kind kind, uint64_t nth, int64_t times)
{
	struct pmm_fault_attr a = { .nth = nth, .probability = 100, .times = times };

	assert_int_equal(pmm_fault_set(pmm, kind, &a), 0);
}

static void disarm(pmm_t *pmm, enum pmm_fault_kind kind)
{
	struct pmm_fault_attr a = { .nth = 0, .probability = 100, .times = -1 };

	assert_int_equal(pmm_fault_set(pmm, kind, &a), 0);
}

static uint64_t injected(pmm_t *pmm)
{
	return tu_stats(pmm).fault_injected;
}

static const char *kind_name(enum pmm_fault_kind kind)
{
	return kind == PMM_FAULT_PAGE_ALLOC ? "page" : "meta";
}

/* A sweep instance of @mib MiB with counted metadata, the case's variant applied. */
static pmm_t *sweep_instance(struct tu_fx *fx, uint64_t mib)
{
	tu_meta_reset(&meta);
	tu_meta_install(tu_fx_contig_config(fx, mib), &meta);
	return tu_fx_create(fx);
}

/* One warm-up cycle, so that what vmalloc allocates once is there before a sweep counts. */
static void warm_up(pmm_t *pmm)
{
	struct vu_area a = vu_vmalloc(pmm, 1100 * PS, PMM_GFP_KERNEL);

	vu_vfree(pmm, &a, true);
	vu_assert_idle(pmm);
}

struct sweep {
	unsigned int calls;	/* eligible allocations the operation made */
	unsigned int nulls;	/* runs that returned NULL */
	unsigned int whole;	/* runs that succeeded although a fault was injected */
};

/* What a sweep must find back after every run. */
struct baseline {
	uint64_t free;		/* free frames after a drain */
	long meta_live;		/* live metadata blocks */
	uint64_t held;		/* frames the test holds (fragmentation, caller pages) */
};

static void baseline_take(pmm_t *pmm, struct baseline *b, uint64_t held)
{
	b->free = tu_free_after_drain(pmm);
	b->meta_live = tu_meta_live(&meta);
	b->held = held;
}

static void baseline_assert(pmm_t *pmm, const struct baseline *b, const char *what, unsigned int n)
{
	uint64_t f = tu_free_after_drain(pmm);
	long live = tu_meta_live(&meta);

	if (f != b->free || live != b->meta_live)
		print_message("%s, N=%u: %" PRIu64 " free frames (before %" PRIu64 "), %ld live "
			      "metadata blocks (before %ld)\n", what, n, f, b->free, live, b->meta_live);
	assert_int_equal(f, b->free);
	assert_int_equal(live, b->meta_live);
	assert_int_equal(meta.bad_frees, 0);
	vu_assert_idle(pmm);
	tu_assert_conserved(pmm, b->held);
}

/*
 * vmalloc_sweep - fail the Nth eligible @kind allocation (once, or from N
 * on with @unlimited) during pmm_vmalloc (pmm_vzalloc with @zero) of
 * @npages, for N = 1.. until a run injects nothing.
 */
static struct sweep vmalloc_sweep(pmm_t *pmm, enum pmm_fault_kind kind, size_t npages,
				  bool unlimited, bool zero, uint64_t held)
{
	struct sweep sw = { 0 };
	struct baseline base;
	char what[96];
	unsigned int n;

	snprintf(what, sizeof(what), "%s faults%s, %s of %zu pages", kind_name(kind),
		 unlimited ? " from N on" : " at N", zero ? "vzalloc" : "vmalloc", npages);
	baseline_take(pmm, &base, held);
	for (n = 1;; n++) {
		struct pmm_vmalloc_stats s0 = vu_stats(pmm);
		struct vu_area a = { .pages = npages };
		uint64_t inj0 = injected(pmm), hit;

		assert_true(n < 5000);
		arm(pmm, kind, n, unlimited ? -1 : 1);
		a.addr = zero ? pmm_vzalloc(pmm, npages * PS, PMM_GFP_NOWARN)
			      : pmm_vmalloc(pmm, npages * PS, PMM_GFP_KERNEL | PMM_GFP_NOWARN);
		hit = injected(pmm) - inj0;
		disarm(pmm, kind);
		if (!unlimited)
			assert_true(hit <= 1);
		if (a.addr) {
			vu_check_new(pmm, &a, &s0, true);
			if (zero)
				vu_assert_zero(pmm, &a);
			vu_assert_alias(pmm, &a, n, PATTERN_SAMPLED);
			vu_vfree(pmm, &a, true);
			sw.whole += hit > 0;
		} else {
			if (!hit)
				fail_msg("%s, N=%u: NULL without an injected fault", what, n);
			sw.nulls++;
		}
		if (unlimited && kind == PMM_FAULT_PAGE_ALLOC && hit && a.addr)
			fail_msg("%s, N=%u: succeeded although every page allocation from N on failed",
				 what, n);
		baseline_assert(pmm, &base, what, n);
		if (!hit)
			break;
	}
	sw.calls = n - 1;
	print_message("%s: %u eligible calls, %u NULL, %u whole despite a fault\n", what, sw.calls,
		      sw.nulls, sw.whole);
	return sw;
}

/* ------------------------------------------------------------------------
 * 1. vmalloc under page and metadata faults
 * ------------------------------------------------------------------------ */

/*
 * Sizes of one order (1, 512 pages), several (7 = 4+2+1, 300, 1100 with a
 * metadata page array, 2051): every page allocation failed once in turn,
 * then every one from N on. A failure of a high order falls back (so some
 * runs succeed whole); an unlimited one ends in NULL; nothing leaks.
 */
static void test_page_faults(void **state)
{
	static const size_t npages[] = { 1, 7, 300, 512, 1100, 2051 };
	struct tu_fx *fx = *state;
	pmm_t *pmm = sweep_instance(fx, 32);

	warm_up(pmm);
	for (size_t i = 0; i < ARRAY_SIZE(npages); i++) {
		struct sweep once = vmalloc_sweep(pmm, PMM_FAULT_PAGE_ALLOC, npages[i], false, false, 0);
		struct sweep all = vmalloc_sweep(pmm, PMM_FAULT_PAGE_ALLOC, npages[i], true, i == 2, 0);

		assert_true(once.calls >= 1);
		assert_int_equal(all.calls, once.calls);
		assert_int_equal(all.nulls, all.calls);
		if (npages[i] > 1)
			assert_true(once.whole >= 1);	/* a failed high order fell back */
	}
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
	assert_int_equal(tu_meta_live(&meta), 0);
}

/*
 * The same with metadata faults: vmalloc makes at least one metadata
 * allocation for a page array too large for a frame (1100 pages); every
 * failure is NULL or a whole area and leaves nothing behind.
 */
static void test_meta_faults(void **state)
{
	static const size_t npages[] = { 1, 7, 300, 1100, 2051 };
	struct tu_fx *fx = *state;
	pmm_t *pmm = sweep_instance(fx, 32);

	warm_up(pmm);
	for (size_t i = 0; i < ARRAY_SIZE(npages); i++) {
		struct sweep once = vmalloc_sweep(pmm, PMM_FAULT_META_ALLOC, npages[i], false, i == 3, 0);
		struct sweep all = vmalloc_sweep(pmm, PMM_FAULT_META_ALLOC, npages[i], true, false, 0);

		if (npages[i] > PS / sizeof(void *))
			assert_true(once.calls >= 1);
		assert_int_equal(all.calls, once.calls);
	}
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
	assert_int_equal(tu_meta_live(&meta), 0);
}

/*
 * Fragmented (every other order-2 block held, nothing above order 2 can
 * form): a 67-page vmalloc tries orders 6..3 in vain, then takes order-2
 * blocks, an order-1 and an order-0 page; page faults swept over it hit
 * each of those steps.
 */
static void test_faults_fragmented(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = sweep_instance(fx, 16);
	struct tu_list all = { 0 }, held = { 0 };
	struct sweep sw;

	warm_up(pmm);
	tu_fill_exhaust(pmm, &all, PMM_GFP_KERNEL, 2);
	for (size_t i = 0; i < all.n; i++) {
		if ((tu_pfn(pmm, all.v[i].page) >> 2) & 1)
			tu_list_push(&held, all.v[i].page, 2, TU_PAGES, 0);
		else
			pmm_free_pages(pmm, all.v[i].page, 2);
	}
	tu_list_free(&all);
	sw = vmalloc_sweep(pmm, PMM_FAULT_PAGE_ALLOC, 67, false, false, tu_list_frames(&held));
	assert_true(sw.calls >= 16 + 3);	/* at least 16 order-2 blocks, order 1, order 0, the array */
	sw = vmalloc_sweep(pmm, PMM_FAULT_PAGE_ALLOC, 67, true, false, tu_list_frames(&held));
	assert_int_equal(sw.nulls, sw.calls);
	sw = vmalloc_sweep(pmm, PMM_FAULT_META_ALLOC, 67, false, false, tu_list_frames(&held));
	tu_free_all(pmm, &held);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
	assert_int_equal(tu_meta_live(&meta), 0);
}

/*
 * pmm_vmap under page faults (8 pages: the array is a frame) and metadata
 * faults (600 pages: the array is metadata): NULL or a whole area; a
 * refused vmap leaves every caller page with its one reference, even
 * with PMM_VMAP_PUT_PAGES.
 */
static void test_vmap_faults(void **state)
{
	static const struct { enum pmm_fault_kind kind; unsigned int n; } cases[] = {
		{ PMM_FAULT_PAGE_ALLOC, 8 }, { PMM_FAULT_META_ALLOC, 600 },
	};
	struct tu_fx *fx = *state;
	pmm_t *pmm = sweep_instance(fx, 16);

	warm_up(pmm);
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		const unsigned int count = cases[c].n;
		struct pmm_page **pages = calloc(count, sizeof(*pages));
		struct baseline base;
		unsigned int n, nulls = 0;

		assert_non_null(pages);
		assert_int_equal(pmm_alloc_pages_bulk(pmm, PMM_GFP_KERNEL, count, pages), count);
		baseline_take(pmm, &base, count);
		for (n = 1;; n++) {
			struct pmm_vmalloc_stats s0 = vu_stats(pmm);
			struct vu_area a = { .pages = count };
			uint64_t inj0 = injected(pmm), hit;

			assert_true(n < 5000);
			arm(pmm, cases[c].kind, n, 1);
			a.addr = pmm_vmap(pmm, pages, count, PMM_VMAP_PUT_PAGES);
			hit = injected(pmm) - inj0;
			disarm(pmm, cases[c].kind);
			if (a.addr) {
				vu_check_new(pmm, &a, &s0, false);
				vu_assert_alias(pmm, &a, n, PATTERN_SAMPLED);
				/* keep the pages: one more reference for the area to drop */
				for (unsigned int i = 0; i < count; i++)
					pmm_get_page(pmm, pages[i]);
				vu_vunmap(pmm, &a);
			} else {
				assert_true(hit > 0);
				nulls++;
			}
			for (unsigned int i = 0; i < count; i++)
				assert_int_equal(pmm_page_count(pages[i]), 1);
			baseline_assert(pmm, &base, "vmap", n);
			if (!hit)
				break;
		}
		print_message("vmap of %u pages, %s faults: %u eligible calls, %u NULL\n", count,
			      kind_name(cases[c].kind), n - 1, nulls);
		assert_true(n - 1 >= 1);
		pmm_free_pages_bulk(pmm, pages, count);
		free(pages);
		tu_assert_conserved(pmm, 0);
	}
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
	assert_int_equal(tu_meta_live(&meta), 0);
}

/* ------------------------------------------------------------------------
 * 2. Reclaim through a shrinker that frees areas
 * ------------------------------------------------------------------------ */

/* A cache of 64-page areas that a shrinker gives back with pmm_vfree. */
#define CACHE_MAX 256
struct area_cache {
	bool nowait;		/* the child's case: PMM_GFP_NOWAIT (no reclaim) */
	pmm_t *pmm;
	char *area[CACHE_MAX];
	unsigned int n;
	unsigned long calls, freed;
};

static unsigned long cache_shrink(void *arg, pmm_t *pmm, unsigned long nr_to_scan)
{
	struct area_cache *c = arg;
	unsigned long freed = 0;

	c->calls++;
	while (c->n && freed < nr_to_scan) {
		pmm_vfree(pmm, c->area[--c->n]);
		freed += 64;
	}
	c->freed += freed;
	return freed;
}

/*
 * In a child (a deadlock ends it by the time limit): memory full of
 * cached 64-page areas; a 300-page vmalloc finds no free frame, reclaims
 * through the shrinker, whose pmm_vfree calls (and the purges they
 * trigger) run inside the allocation, and succeeds; or, with
 * @c->nowait, a PMM_GFP_NOWAIT one fails without calling the shrinker.
 * Checks without cmocka: an exit code names the failure.
 */
static void shrinker_child(void *arg)
{
	struct area_cache *c = arg;
	struct pmm_config cfg;
	char *big;
	pmm_t *pmm;

	signal(SIGSEGV, SIG_DFL);	/* a crash ends the child, not a cmocka test */
	signal(SIGBUS, SIG_DFL);
	tu_contig_config(&cfg, 16, NULL);
	cfg.vmap_lazy_max = 64;	/* the shrinker's vfrees purge, inside the allocation */
	if (pmm_create(&cfg, &pmm) != 0)
		_exit(10);
	c->pmm = pmm;
	while (c->n < CACHE_MAX) {
		char *p = pmm_vmalloc(pmm, 64 * PS, PMM_GFP_KERNEL | PMM_GFP_NOWARN);

		if (!p)
			break;
		c->area[c->n++] = p;
	}
	if (c->n < 8 || pmm_free_frames(pmm) >= 300)
		_exit(11);
	if (pmm_register_shrinker(pmm, cache_shrink, c) != 0)
		_exit(12);
	if (c->nowait) {
		/* NOWAIT never calls shrinkers: no memory, NULL, the cache untouched */
		big = pmm_vmalloc(pmm, 300 * PS, PMM_GFP_NOWAIT | PMM_GFP_NOWARN);
		if (big || c->calls) {
			fprintf(stderr, "NOWAIT vmalloc under pressure: %p, %lu shrinker calls "
				"(%lu free frames)\n", (void *)big, c->calls,
				(unsigned long)pmm_free_frames(pmm));
			_exit(16);
		}
	} else {
		big = pmm_vmalloc(pmm, 300 * PS, PMM_GFP_KERNEL);
		if (!big) {
			fprintf(stderr, "vmalloc under pressure: NULL after %lu shrinker calls freeing "
				"%lu pages\n", c->calls, c->freed);
			_exit(13);
		}
		if (!c->calls)
			_exit(14);
		memset(big, 0x5a, 300 * PS);
		pmm_vfree(pmm, big);
	}
	while (c->n)
		pmm_vfree(pmm, c->area[--c->n]);
	pmm_vmalloc_purge(pmm);
	pmm_drain_all_pages(pmm);
	if (pmm_check(pmm) != 0 || pmm_free_frames(pmm) != pmm_managed_frames(pmm))
		_exit(15);
	pmm_destroy(pmm);
}

static void test_shrinker_vfrees(void **state)
{
	struct area_cache c = { .nowait = false };

	(void)state;
	assert_int_equal(tu_in_child("vmalloc reclaiming through a vfree-ing shrinker", shrinker_child,
				     &c, 120), 0);
}

/*
 * The same pressure with PMM_GFP_NOWAIT: NULL, and the shrinker is never
 * called (pmm.h: NOWAIT "never calls shrinkers"; the kernel allocates the
 * page array with the caller's reclaim flags too).
 */
static void test_shrinker_nowait(void **state)
{
	struct area_cache c = { .nowait = true };

	(void)state;
	assert_int_equal(tu_in_child("NOWAIT vmalloc under pressure", shrinker_child, &c, 120), 0);
}

/* ------------------------------------------------------------------------
 * 3. Threads
 * ------------------------------------------------------------------------ */

#define NTHREADS 4
#define ITERS 600
#define LIVE_MAX 6

struct shared {
	pmm_t *pmm;
	uint64_t seed;
	atomic_int errors;
	char first_error[256];
	atomic_ulong areas, nulls, purges_asked;
};

static void record_error(struct shared *sh, const char *fmt, unsigned long long a,
			 unsigned long long b)
{
	if (atomic_fetch_add(&sh->errors, 1) == 0)
		snprintf(sh->first_error, sizeof(sh->first_error), fmt, a, b);
}

/* A thread's area: what made it, and its own pages for a vmap. */
struct tarea {
	struct vu_area a;
	enum { T_VMALLOC, T_VZALLOC, T_ALIGNED, T_VMAP, T_VMAP_PUT } kind;
	struct pmm_page *own[8];
};

/* The sampled pattern through the area's address; and one page's through its direct map. */
static bool tarea_ok(pmm_t *pmm, const struct tarea *t, size_t page)
{
	const size_t words = PS / sizeof(uint64_t);
	struct pmm_page *pg;
	const uint64_t *d;

	for (size_t i = 0; i < t->a.pages; i++)
		if (!vu_page_ok((const uint64_t *)(t->a.addr + i * PS), words, t->a.tag, i * words,
				PATTERN_SAMPLED, NULL))
			return false;
	pg = pmm_vmalloc_to_page(pmm, t->a.addr + page * PS);
	d = pg ? pmm_page_address(pmm, pg) : NULL;
	return d && vu_page_ok(d, words, t->a.tag, page * words, PATTERN_SAMPLED, NULL);
}

static bool tarea_new(struct shared *sh, struct prng *r, struct tarea *t, uint64_t tag)
{
	pmm_t *pmm = sh->pmm;
	const size_t words = PS / sizeof(uint64_t);
	uint64_t x = prng_below(r, 100);
	size_t pages = 1 + prng_below(r, x < 3 ? 700 : 64);

	memset(t, 0, sizeof(*t));
	t->kind = x < 50 ? T_VMALLOC : x < 65 ? T_VZALLOC : x < 80 ? T_ALIGNED : x < 90 ? T_VMAP : T_VMAP_PUT;
	if (t->kind >= T_VMAP) {
		pages = 1 + prng_below(r, 8);
		for (size_t i = 0; i < pages; i++) {
			t->own[i] = pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 0);
			if (!t->own[i]) {
				while (i--)
					pmm_free_pages(pmm, t->own[i], 0);
				atomic_fetch_add(&sh->nulls, 1);
				return false;
			}
		}
	}
	t->a.pages = pages;
	switch (t->kind) {
	case T_VMALLOC:
		t->a.addr = pmm_vmalloc(pmm, pages * PS, PMM_GFP_KERNEL | PMM_GFP_NOWARN);
		break;
	case T_VZALLOC:
		t->a.addr = pmm_vzalloc(pmm, pages * PS, PMM_GFP_NOWARN);
		break;
	case T_ALIGNED:
		t->a.addr = pmm_vmalloc_node_range(pmm, pages * PS, 64ul << 10, PMM_GFP_NOWARN,
						   PMM_NUMA_NO_NODE, "test_threads");
		if (t->a.addr && (uintptr_t)t->a.addr % (64ul << 10))
			record_error(sh, "aligned area %#llx of %llu pages not 64 KiB aligned",
				     (unsigned long long)(uintptr_t)t->a.addr, pages);
		break;
	default:
		t->a.addr = pmm_vmap(pmm, t->own, (unsigned int)pages,
				     t->kind == T_VMAP_PUT ? PMM_VMAP_PUT_PAGES : 0);
		break;
	}
	if (!t->a.addr) {
		if (t->kind >= T_VMAP)
			for (size_t i = 0; i < pages; i++)
				pmm_free_pages(pmm, t->own[i], 0);
		atomic_fetch_add(&sh->nulls, 1);
		return false;
	}
	atomic_fetch_add(&sh->areas, 1);
	for (size_t i = 0; i < pages; i++) {
		uint64_t *p = (uint64_t *)(t->a.addr + i * PS);

		if (t->kind == T_VZALLOC && (p[0] || p[words - 1] || p[words / 2]))
			record_error(sh, "vzalloc area %#llx page %llu not zeroed",
				     (unsigned long long)(uintptr_t)t->a.addr, i);
		if (t->kind >= T_VMAP && pmm_vmalloc_to_page(pmm, p) != t->own[i])
			record_error(sh, "vmap area %#llx page %llu is not the caller's page",
				     (unsigned long long)(uintptr_t)t->a.addr, i);
		vu_page_write(p, words, tag, i * words, PATTERN_SAMPLED);
	}
	t->a.tag = tag;
	if (!tarea_ok(pmm, t, prng_below(r, pages)))
		record_error(sh, "area %#llx (%llu pages): pattern not seen through both addresses",
			     (unsigned long long)(uintptr_t)t->a.addr, pages);
	return true;
}

static void tarea_free(struct shared *sh, struct prng *r, struct tarea *t)
{
	pmm_t *pmm = sh->pmm;

	if (!tarea_ok(pmm, t, prng_below(r, t->a.pages)))
		record_error(sh, "area %#llx (%llu pages): pattern changed while held",
			     (unsigned long long)(uintptr_t)t->a.addr, t->a.pages);
	if (t->kind >= T_VMAP) {
		if (prng_below(r, 2))
			pmm_vunmap(pmm, t->a.addr);
		else
			pmm_vfree(pmm, t->a.addr);
		if (t->kind == T_VMAP)
			for (size_t i = 0; i < t->a.pages; i++)
				pmm_free_pages(pmm, t->own[i], 0);
	} else {
		pmm_vfree(pmm, t->a.addr);
	}
	t->a.addr = NULL;
}

static void worker_fn(void *arg, unsigned int id)
{
	struct shared *sh = arg;
	struct tarea live[LIVE_MAX];
	size_t n = 0;
	struct prng rng;
	FILE *devnull = id == 0 ? fopen("/dev/null", "w") : NULL;

	prng_init(&rng, sh->seed, id + 1);
	for (unsigned int it = 0; it < ITERS && !atomic_load(&sh->errors); it++) {
		uint64_t r = prng_below(&rng, 100);

		if (id == 0 && it % 50 == 0) {
			struct pmm_vmalloc_stats st;

			pmm_vmalloc_purge(sh->pmm);
			atomic_fetch_add(&sh->purges_asked, 1);
			if (pmm_vmalloc_stats(sh->pmm, &st) != 0)
				record_error(sh, "pmm_vmalloc_stats failed %llu %llu", 0, 0);
			if (devnull && (pmm_vmalloc_info(sh->pmm, devnull, (int)(it / 50 % 2)) != 0))
				record_error(sh, "pmm_vmalloc_info failed %llu %llu", 0, 0);
		}
		if (n < LIVE_MAX && (r < 55 || n == 0)) {
			if (tarea_new(sh, &rng, &live[n], ((uint64_t)id << 40) | ((uint64_t)it << 8) | 1))
				n++;
		} else if (n) {
			size_t i = prng_below(&rng, n);

			tarea_free(sh, &rng, &live[i]);
			live[i] = live[--n];
		}
	}
	while (n)
		tarea_free(sh, &rng, &live[--n]);
	if (devnull)
		fclose(devnull);
}

static void run_threads(struct tu_fx *fx, const char *name, uint64_t window_pages, uint64_t lazy_max)
{
	struct pmm_config *cfg = tu_fx_config(fx, 64);
	struct shared *sh = calloc(1, sizeof(*sh));
	struct prng rng;
	pmm_t *pmm;

	assert_non_null(sh);
	tu_config_cpus(cfg, NTHREADS);
	cfg->vmalloc_size = window_pages ? window_pages * PS : PMM_AUTO;
	cfg->vmap_lazy_max = lazy_max;
	pmm = tu_fx_create(fx);
	tu_rng_init(&rng, name, 0);
	sh->pmm = pmm;
	sh->seed = prng_next(&rng);

	tu_threads_run(NTHREADS, worker_fn, sh);
	if (atomic_load(&sh->errors))
		print_message("%s: %d errors, first: %s\n", name, atomic_load(&sh->errors),
			      sh->first_error);
	assert_int_equal(atomic_load(&sh->errors), 0);
	print_message("%s: %lu areas, %lu NULL, purges %" PRIu64 ", map calls %" PRIu64 "\n", name,
		      atomic_load(&sh->areas), atomic_load(&sh->nulls), vu_stats(pmm).purges,
		      vu_stats(pmm).map_calls);
	assert_true(atomic_load(&sh->areas) >= NTHREADS * ITERS / 4);
	assert_int_equal(vu_stats(pmm).nr_areas, 0);
	assert_int_equal(vu_stats(pmm).nr_vmalloc_pages, 0);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
	free(sh);
}

/* The default window and lazy threshold: purges come from thread 0's calls and the threshold. */
static void test_threads(void **state)
{
	run_threads(*state, "vmalloc threads", 0, PMM_AUTO);
}

/*
 * A window of 3000 pages and a lazy threshold of 256: allocations often
 * find no room and purge, concurrently with other threads' frees.
 */
static void test_threads_small_window(void **state)
{
	run_threads(*state, "vmalloc threads, small window", 3000, 256);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		TU_CONTIG_TESTS(test_page_faults),
		TU_PCP_TESTS(test_meta_faults),
		TU_PCP_TESTS(test_faults_fragmented),
		TU_PCP_TESTS(test_vmap_faults),
		cmocka_unit_test(test_shrinker_vfrees),
		cmocka_unit_test(test_shrinker_nowait),
		TU_CONTIG_TESTS(test_threads),
		TU_PCP_TESTS(test_threads_small_window),
	};

	return tu_main(argc, argv, tests);
}
