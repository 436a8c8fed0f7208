/* SPDX-License-Identifier: MIT */
/*
 * test_freestanding.c - the core built with -ffreestanding -nostdlib
 * (scripts/check_freestanding.sh), linked with nothing but the platform
 * layer of platform.c, driven as an embedder would: PMM_BACKING_USER
 * memory the embedder owns, pages, high orders, contiguous ranges,
 * folios, threads, a bad free. Every scenario ends with pmm_check(); at
 * the end the platform must have been used and given back every byte.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "platform.h"
#include "pmm.h"

#define MEM_MIB 64
#define PAGE 4096ul
#define BASE_PFN 0x100000ull

static void *memory;		/* the embedder's "physical memory" */
static unsigned long bad_reports;

static void count_bad(void *arg, pmm_pfn_t pfn, const char *reason)
{
	(void)arg;
	(void)pfn;
	(void)reason;
	__atomic_fetch_add(&bad_reports, 1, __ATOMIC_RELAXED);
}

static pmm_t *create(void)
{
	struct pmm_config cfg;
	pmm_t *pmm;

	pmm_config_init(&cfg);
	cfg.nr_regions = 1;
	cfg.regions[0] = (struct pmm_region){ .start_pfn = BASE_PFN,
					      .nr_pages = (MEM_MIB << 20) / PAGE };
	cfg.backing = PMM_BACKING_USER;
	cfg.user_base = memory;
	cfg.user_size = MEM_MIB << 20;
	cfg.nr_cpus = 2;
	cfg.bad_page_fn = count_bad;
	cfg.quiet = true;
	assert_int_equal(pmm_create(&cfg, &pmm), 0);
	return pmm;
}

static void finish(pmm_t *pmm)
{
	pmm_drain_all_pages(pmm);
	assert_int_equal(pmm_check(pmm), 0);
	assert_int_equal(pmm_free_frames(pmm) + pmm_leaked_frames(pmm), pmm_managed_frames(pmm));
	pmm_destroy(pmm);
}

/* Frames are the embedder's memory: writes through pmm_page_address land in it. */
static void test_pages(void **state)
{
	pmm_t *pmm = create();
	struct pmm_page *pages[64];

	(void)state;
	for (unsigned int order = 0; order <= 10; order++) {
		struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_ZERO, order);
		char *addr;

		assert_non_null(p);
		addr = pmm_page_address(pmm, p);
		assert_true(addr >= (char *)memory && addr + (PAGE << order) <= (char *)memory +
			    (MEM_MIB << 20));
		assert_int_equal(addr[0] | addr[(PAGE << order) - 1], 0);
		memset(addr, 0xa5, PAGE << order);
		assert_int_equal(addr - (char *)memory,
				 (long)((pmm_page_to_pfn(pmm, p) - BASE_PFN) * PAGE));
		pmm_free_pages(pmm, p, order);
	}
	for (int round = 0; round < 100; round++) {	/* the pcp lists, refills and drains */
		for (int i = 0; i < 64; i++)
			assert_non_null(pages[i] = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0));
		for (int i = 0; i < 64; i++)
			pmm_free_pages(pmm, pages[i], 0);
	}
	memset(pages, 0, sizeof(pages));
	assert_int_equal(pmm_alloc_pages_bulk(pmm, PMM_GFP_KERNEL, 64, pages), 64);
	pmm_free_pages_bulk(pmm, pages, 64);
	finish(pmm);
}

static void test_contig_and_folios(void **state)
{
	pmm_t *pmm = create();
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 9);
	struct pmm_folio *folio;

	(void)state;
	assert_non_null(p);
	pmm_split_page(pmm, p, 9);
	pmm_free_contig_range(pmm, pmm_page_to_pfn(pmm, p), 512);	/* the batched path */
	p = pmm_alloc_contig_pages(pmm, 3000, PMM_GFP_KERNEL, PMM_NUMA_NO_NODE);
	assert_non_null(p);
	pmm_free_contig_range(pmm, pmm_page_to_pfn(pmm, p), 3000);
	folio = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 4);
	assert_non_null(folio);
	pmm_folio_get(pmm, folio);
	pmm_folio_put(pmm, folio);
	pmm_folio_put(pmm, folio);
	finish(pmm);
}

/* A double free is reported through the embedder's callback; nothing is lost. */
static void test_bad_free(void **state)
{
	pmm_t *pmm = create();
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2);
	unsigned long before = bad_reports;

	(void)state;
	assert_non_null(p);
	pmm_free_pages(pmm, p, 2);
	pmm_free_pages(pmm, p, 2);
	assert_int_equal(bad_reports, before + 1);
	finish(pmm);
}

#define THREADS 4

/* Each thread keeps up to 32 blocks of orders 0-3 and replaces them at random. */
static void *churn(void *arg)
{
	pmm_t *pmm = arg;
	struct { struct pmm_page *page; unsigned int order; } held[32] = { { 0 } };
	uint64_t x = (uint64_t)(uintptr_t)&held | 1;

	for (int i = 0; i < 20000; i++) {
		unsigned int slot;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		slot = (unsigned int)(x % 32);
		if (held[slot].page)
			pmm_free_pages(pmm, held[slot].page, held[slot].order);
		held[slot].order = (unsigned int)((x >> 8) % 4);
		held[slot].page = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, held[slot].order);
		if (!held[slot].page)
			return "allocation failed";
	}
	for (int i = 0; i < 32; i++)
		if (held[i].page)
			pmm_free_pages(pmm, held[i].page, held[i].order);
	return NULL;
}

/* The platform's thread marker and yield under contention: real threads on the zone and pcp locks. */
static void test_threads(void **state)
{
	pmm_t *pmm = create();
	pthread_t t[THREADS];

	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn, pmm), 0);
	for (int i = 0; i < THREADS; i++) {
		void *err;

		assert_int_equal(pthread_join(t[i], &err), 0);
		assert_null(err);
	}
	finish(pmm);
}

static void test_memfd_refused(void **state)
{
	struct pmm_config cfg;
	pmm_t *pmm = NULL;
	uint64_t logged = platform.log_lines;

	(void)state;
	pmm_config_init(&cfg);		/* the default backing: a memfd, which needs an OS */
	cfg.quiet = true;
	assert_int_equal(pmm_create(&cfg, &pmm), -PMM_EBACKING);
	assert_null(pmm);
	assert_int_equal(platform.log_lines, logged + 1);	/* the one line a failed create logs */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pages),
		cmocka_unit_test(test_contig_and_folios),
		cmocka_unit_test(test_bad_free),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_memfd_refused),
	};
	int failed;

	memory = aligned_alloc(PAGE, MEM_MIB << 20);
	if (!memory || platform_init(256 << 20))
		return 1;
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	free(memory);
	platform_exit();
	if (platform.bytes_live || !platform.map_calls || !platform.getcpu_calls) {
		fprintf(stderr, "platform: %lld bytes not given back, %llu maps, %llu getcpu\n",
			(long long)platform.bytes_live, (unsigned long long)platform.map_calls,
			(unsigned long long)platform.getcpu_calls);
		return 1;
	}
	return failed;
}
