/* SPDX-License-Identifier: MIT */
/*
 * test_threads.c - multi-thread smoke test: threads allocate and free
 * mixed orders, folios and bulk arrays, and free pages other threads
 * allocated (through a shared locked array) while one of them drains the
 * pcp lists. Afterwards every frame is free and the instance consistent.
 * Threads never call cmocka asserts: they record the first error.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 4
#define ITERS 10000
#define SHARED_MAX 512

struct item {
	struct pmm_page *page;
	unsigned int order;
	int folio;
	uint64_t tag;
};

struct shared {
	pmm_t *pmm;
	pthread_mutex_t lock;
	struct item items[SHARED_MAX];
	size_t n;
	atomic_int errors;
	char first_error[256];
	uint64_t seed;
};

static void record_error(struct shared *sh, const char *fmt, unsigned long long a,
			 unsigned long long b)
{
	if (atomic_fetch_add(&sh->errors, 1) == 0)
		snprintf(sh->first_error, sizeof(sh->first_error), fmt, a, b);
}

/* A sampled pattern (start, middle, end of each frame): cheap enough under TSan. */
static void mark(pmm_t *pmm, const struct item *it)
{
	pattern_write(pmm, pmm_page_to_pfn(pmm, it->page), 1ul << it->order, it->tag, PATTERN_SAMPLED);
}

static void verify_and_free(struct shared *sh, const struct item *it)
{
	pmm_t *pmm = sh->pmm;
	pmm_pfn_t pfn = pmm_page_to_pfn(pmm, it->page);
	struct pattern_mismatch bad;

	if (pmm_page_count(it->page) < 1)
		record_error(sh, "pfn %#llx held with refcount %lld", pfn,
			     (unsigned long long)pmm_page_count(it->page));
	if (!pattern_verify(pmm, pfn, 1ul << it->order, it->tag, PATTERN_SAMPLED, &bad))
		record_error(sh, "pfn %#llx pattern overwritten (tag %#llx): shared frame?",
			     bad.pfn, it->tag);
	if (it->folio)
		pmm_folio_put(pmm, pmm_page_folio(it->page));
	else
		pmm_free_pages(pmm, it->page, it->order);
}

static unsigned int pick_order(struct prng *r)
{
	uint64_t x = prng_below(r, 100);

	if (x < 55)
		return 0;
	if (x < 85)
		return 1 + (unsigned int)prng_below(r, 3);
	if (x < 98)
		return 4 + (unsigned int)prng_below(r, 4);
	return 9;
}

static void worker_fn(void *arg, unsigned int id)
{
	struct shared *sh = arg;
	pmm_t *pmm = sh->pmm;
	struct prng rng;
	size_t cap = 4096, n_mine = 0;
	struct item *mine = calloc(cap, sizeof(*mine));	/* held by this thread only */
	uint64_t counter = 0;

	prng_init(&rng, sh->seed, id + 1);
	if (!mine) {
		record_error(sh, "calloc %llu %llu", cap, 0);
		return;
	}
	for (int it = 0; it < ITERS && !atomic_load(&sh->errors); it++) {
		uint64_t r = prng_below(&rng, 100);

		if (id == 0 && it % 256 == 0) {
			struct pmm_stats st;

			pmm_drain_all_pages(pmm);
			pmm_stats_get(pmm, &st);
		}
		if (r < 45) {
			struct item x = { .order = pick_order(&rng),
					  .folio = prng_below(&rng, 4) == 0,
					  .tag = ((uint64_t)id << 48) | ++counter };

			if (x.folio) {
				struct pmm_folio *f = pmm_folio_alloc(pmm, PMM_GFP_MOVABLE | PMM_GFP_NOWARN,
								      x.order);

				x.page = f ? pmm_folio_page(pmm, f, 0) : NULL;
			} else {
				x.page = pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, x.order);
			}
			if (!x.page)
				continue;
			mark(pmm, &x);
			if (prng_below(&rng, 2)) {
				pthread_mutex_lock(&sh->lock);
				if (sh->n < SHARED_MAX) {
					sh->items[sh->n++] = x;
					x.page = NULL;
				}
				pthread_mutex_unlock(&sh->lock);
			}
			if (x.page) {
				if (n_mine == cap) {
					verify_and_free(sh, &x);
					continue;
				}
				mine[n_mine++] = x;
			}
		} else if (r < 75) {
			struct item x = { 0 };

			pthread_mutex_lock(&sh->lock);
			if (sh->n) {
				size_t i = prng_below(&rng, sh->n);

				x = sh->items[i];
				sh->items[i] = sh->items[--sh->n];
			}
			pthread_mutex_unlock(&sh->lock);
			if (x.page)
				verify_and_free(sh, &x);
		} else if (r < 95) {
			if (n_mine) {
				size_t i = prng_below(&rng, n_mine);
				struct item x = mine[i];

				mine[i] = mine[--n_mine];
				verify_and_free(sh, &x);
			}
		} else if (r < 98) {
			struct pmm_page *arr[16] = { 0 };
			unsigned long got = pmm_alloc_pages_bulk(pmm, PMM_GFP_KERNEL, 16, arr);
			unsigned long nonnull = 0;

			for (int i = 0; i < 16; i++)
				nonnull += arr[i] != NULL;
			if (got != nonnull)
				record_error(sh, "bulk returned %llu, %llu slots filled", got, nonnull);
			pmm_free_pages_bulk(pmm, arr, 16);
		} else {
			struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 2);

			if (p) {
				pmm_split_page(pmm, p, 2);
				pmm_free_contig_range(pmm, pmm_page_to_pfn(pmm, p), 4);
			}
		}
	}
	while (n_mine) {
		struct item x = mine[--n_mine];

		verify_and_free(sh, &x);
	}
	free(mine);
}

static void run_threads(const char *name, unsigned int nr_cpus, bool default_cpu_fn, bool pcp_disable)
{
	struct pmm_config cfg;
	struct tu_buddy fresh;
	struct prng rng;
	struct shared *sh = calloc(1, sizeof(*sh));

	assert_non_null(sh);
	tu_rng_init(&rng, name, nr_cpus);
	tu_bad_reset(&tu_bad_global);
	tu_config(&cfg, 128, NULL);
	tu_config_cpus(&cfg, nr_cpus);
	cfg.pcp_disable = pcp_disable;
	if (default_cpu_fn) {
		cfg.nr_cpus = 0;
		cfg.cpu_fn = NULL;
		cfg.cpu_arg = NULL;
	}
	sh->pmm = tu_create(&cfg);
	sh->seed = prng_next(&rng);
	pthread_mutex_init(&sh->lock, NULL);
	tu_buddy_snap(sh->pmm, &fresh);

	tu_threads_run(NTHREADS, worker_fn, sh);
	if (atomic_load(&sh->errors))
		print_message("%s: %d errors, first: %s\n", name, atomic_load(&sh->errors),
			      sh->first_error);
	assert_int_equal(atomic_load(&sh->errors), 0);
	tu_check(sh->pmm);
	while (sh->n)
		verify_and_free(sh, &sh->items[--sh->n]);
	assert_int_equal(atomic_load(&sh->errors), 0);
	pmm_drain_all_pages(sh->pmm);
	tu_check(sh->pmm);
	assert_int_equal(pmm_free_frames(sh->pmm), pmm_managed_frames(sh->pmm));
	assert_int_equal(pmm_leaked_frames(sh->pmm), 0);
	assert_int_equal(tu_bad_count(&tu_bad_global), 0);
	tu_finish(sh->pmm, .fresh = &fresh);
	pthread_mutex_destroy(&sh->lock);
	free(sh);
}

/* One pcp set per thread. */
static void test_threads_own_cpu(void **state)
{
	(void)state;
	run_threads("threads_own_cpu", NTHREADS, false, false);
}

/* Two threads per pcp set: the pcp trylock fails and the zone path is used. */
static void test_threads_shared_cpu(void **state)
{
	(void)state;
	run_threads("threads_shared_cpu", 2, false, false);
}

/* The default CPU choice, sched_getcpu(). */
static void test_threads_default_cpu(void **state)
{
	(void)state;
	run_threads("threads_default_cpu", 0, true, false);
}

/* No pcp lists: every call contends on the zone lock. */
static void test_threads_no_pcp(void **state)
{
	(void)state;
	run_threads("threads_no_pcp", NTHREADS, false, true);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_own_cpu),
		cmocka_unit_test(test_threads_shared_cpu),
		cmocka_unit_test(test_threads_default_cpu),
		cmocka_unit_test(test_threads_no_pcp),
	};

	return tu_main(argc, argv, tests);
}
