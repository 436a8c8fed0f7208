/* SPDX-License-Identifier: MIT */
/*
 * test_pcp_rseq.c - the rseq pcp fast path (struct pmm_config's
 * pcp_fastpath): chosen at create, refused where it cannot run, and
 * correct while threads migrate between CPUs under it:
 *  - AUTO resolves to RSEQ on an instance without cpu_fn (x86-64 glibc,
 *    not TSan), TRYLOCK asks for the trylock path, RSEQ with a cpu_fn is
 *    -PMM_ENOTSUP, a bad value -PMM_EINVAL;
 *  - threads churn order-0..3 pages and pageblock_order blocks with a byte
 *    pattern in each frame
 *    while each moves itself to a random CPU (sched_setaffinity) every few
 *    operations, and another thread drains every CPU's lists and reads
 *    the counters (pcp locks taken off their CPU, which fence it). At the
 *    end no frame is lost or handed out twice, the pgalloc and pgfree
 *    counters match what the threads did exactly, and pmm_check() passes;
 *  - pageblock_order blocks (whole and as a contig chunk) take the sections
 *    too, with exact counters;
 *  - the fast paths' exits (bad input of every kind, pointers the free
 *    must place from their address alone in both memmap models, a zone
 *    the instance lacks, a full array) take the general path, which
 *    reports, with exact counters, in both modes.
 * In a build where rseq cannot run (TSan) the same churn runs on the
 * trylock path. Threads record their first error rather than assert.
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "common/skewed_meta.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>

#define THREADS 4
#define HELD 64
#define OPS 40000

struct churn {
	pmm_t *pmm;
	unsigned int pb_order;		/* pageblock_order: the rseq mode's block arrays */
	unsigned int id;
	uint64_t seed;
	atomic_bool *stop;
	uint64_t allocated, freed;	/* frames */
	unsigned long migrations;
	char error[160];
};

static int ncpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	return CPU_COUNT(&set);
}

static void move_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	struct { struct pmm_page *page; unsigned int order; uint64_t tag; } held[HELD];
	struct prng r;
	int cpus = ncpus();
	cpu_set_t all;

	sched_getaffinity(0, sizeof(all), &all);
	memset(held, 0, sizeof(held));
	prng_init(&r, c->seed, c->id + 1);
	for (unsigned long op = 0; op < OPS && !c->error[0]; op++) {
		unsigned int slot = (unsigned int)prng_below(&r, HELD);
		struct pattern_mismatch bad;

		if (prng_below(&r, 16) == 0) {		/* hop to a random allowed CPU */
			int target = (int)prng_below(&r, (uint64_t)cpus), k = -1;

			for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
				if (CPU_ISSET(cpu, &all) && ++k == target) {
					move_to(cpu);
					c->migrations++;
					break;
				}
		}
		if (held[slot].page) {
			if (!pattern_verify(c->pmm, pmm_page_to_pfn(c->pmm, held[slot].page),
					    1ul << held[slot].order, held[slot].tag, PATTERN_SAMPLED,
					    &bad)) {
				snprintf(c->error, sizeof(c->error), "thread %u: frame %#llx word %zu "
					 "changed while held", c->id, (unsigned long long)bad.pfn,
					 bad.word);
				break;
			}
			pmm_free_pages(c->pmm, held[slot].page, held[slot].order);
			c->freed += 1ull << held[slot].order;
			held[slot].page = NULL;
		}
		/*
		 * mostly order 0, which rseq serves; some 1..3 through the
		 * locked lists; one in 32 a pageblock_order block (rseq too)
		 */
		{
			unsigned int pick = (unsigned int)prng_below(&r, 64);

			held[slot].order = pick >= 16 ? 0 : pick >= 2 ? pick & 3 : c->pb_order;
		}
		held[slot].tag = prng_next(&r);
		held[slot].page = pmm_alloc_pages(c->pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN,
						  held[slot].order);
		if (!held[slot].page) {
			snprintf(c->error, sizeof(c->error), "thread %u: allocation failed", c->id);
			break;
		}
		c->allocated += 1ull << held[slot].order;
		pattern_write(c->pmm, pmm_page_to_pfn(c->pmm, held[slot].page),
			      1ul << held[slot].order, held[slot].tag, PATTERN_SAMPLED);
	}
	for (unsigned int i = 0; i < HELD; i++) {
		if (held[i].page) {
			pmm_free_pages(c->pmm, held[i].page, held[i].order);
			c->freed += 1ull << held[i].order;
		}
	}
	return NULL;
}

/* Off-CPU pcp locks while the churn runs: drains and counter reads. */
static void *drainer_thread(void *arg)
{
	struct churn *c = arg;
	struct pmm_stats st;

	while (!atomic_load(c->stop)) {
		pmm_drain_all_pages(c->pmm);
		pmm_stats_get(c->pmm, &st);
		c->migrations++;
	}
	return NULL;
}

/* Pin the calling thread to the CPU it runs on; *@old gets its affinity back later. */
static void stay_on_this_cpu(cpu_set_t *old)
{
	cpu_set_t one;

	assert_int_equal(sched_getaffinity(0, sizeof(*old), old), 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
}

static pmm_t *create_sized(enum pmm_pcp_fastpath mode, struct tu_bad *bad, unsigned int mib,
			   unsigned int pcp_high)
{
	struct pmm_config cfg;

	tu_config(&cfg, mib, bad);
	cfg.cpu_fn = NULL;		/* the real CPU picks the pcp, as rseq needs */
	cfg.cpu_arg = NULL;
	cfg.nr_cpus = 0;		/* every CPU online */
	cfg.pcp_fastpath = mode;
	cfg.pcp_high = pcp_high;
	return tu_create(&cfg);
}

static pmm_t *create(enum pmm_pcp_fastpath mode, struct tu_bad *bad)
{
	return create_sized(mode, bad, 64, 0);
}

/*
 * Room on each pcp for two pageblock_order blocks, on up to 14 CPUs (high
 * is at most zone / 8 / CPUs; with more, less room, and none past ~30).
 */
static pmm_t *create_blocks(enum pmm_pcp_fastpath mode, struct tu_bad *bad)
{
	return create_sized(mode, bad, 512, 1100);
}

static void test_modes(void **state)
{
	struct pmm_config cfg;
	pmm_t *pmm;
	enum pmm_pcp_fastpath got;

	(void)state;
	pmm = create(PMM_PCP_FASTPATH_AUTO, NULL);
	got = pmm_get_config(pmm)->pcp_fastpath;
	print_message("pcp fast path resolved to %s\n",
		      got == PMM_PCP_FASTPATH_RSEQ ? "rseq" : "trylock");
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
	assert_int_equal(got, PMM_PCP_FASTPATH_RSEQ);
#else
	assert_int_equal(got, PMM_PCP_FASTPATH_TRYLOCK);
#endif
	tu_finish(pmm);
	pmm = create(PMM_PCP_FASTPATH_TRYLOCK, NULL);
	assert_int_equal(pmm_get_config(pmm)->pcp_fastpath, PMM_PCP_FASTPATH_TRYLOCK);
	tu_finish(pmm);

	tu_config(&cfg, 16, NULL);	/* tu_config's cpu_fn: the sections cannot follow it */
	cfg.pcp_fastpath = PMM_PCP_FASTPATH_RSEQ;
	assert_int_equal(pmm_create(&cfg, &pmm), -PMM_ENOTSUP);
	cfg.pcp_fastpath = (enum pmm_pcp_fastpath)(PMM_PCP_FASTPATH_RSEQ + 1);
	assert_int_equal(pmm_create(&cfg, &pmm), -PMM_EINVAL);
}

/* A batched contig free's order-0 chunks take the sections too, and are counted exactly. */
static void test_contig_chunks_counted(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = create(PMM_PCP_FASTPATH_AUTO, &bad);
	uint64_t before = tu_stats(pmm).contig_chunks;
	struct pmm_page *block = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 3);
	pmm_pfn_t pfn;

	(void)state;
	assert_non_null(block);
	pmm_split_page(pmm, block, 3);
	pfn = pmm_page_to_pfn(pmm, block);
	for (unsigned int i = 0; i < 8; i++)	/* eight one-page ranges: eight order-0 chunks */
		pmm_free_contig_range(pmm, pfn + i, 1);
	assert_int_equal(tu_stats(pmm).contig_chunks - before, 8);
	tu_finish(pmm, .bad = &bad, .reports = 0);
}

/*
 * The order-0 fast paths (pmm_alloc_pages/pmm_free_pages' pcp hit) take
 * only their common case; everything else must reach the general path
 * with nothing changed, so each bad input is reported once and each odd
 * state ends as it would without them. Run in both modes.
 */
static void run_fast_path_fallbacks(enum pmm_pcp_fastpath mode)
{
	struct tu_bad bad;
	pmm_t *pmm = create(mode, &bad);
	struct tu_report_mark m;
	struct pmm_stats before, after;
	struct pmm_page *page, *block, *folio;
	_Alignas(64) unsigned char stack_page[128];
	unsigned char *p;

	tu_bad_reset(&bad);
	pmm_stats_get(pmm, &before);
	/* a second reference: the first free only drops it */
	page = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(page);
	pmm_get_page(pmm, page);
	pmm_free_pages(pmm, page, 0);
	assert_int_equal(pmm_page_count(page), 1);
	pmm_free_pages(pmm, page, 0);
	assert_int_equal(pmm_page_count(page), 0);
	/* a double free, a wrong order, a tail, a foreign and a misaligned pointer */
	tu_report_mark(pmm, &bad, &m);
	pmm_free_pages(pmm, page, 0);
	tu_assert_reports(pmm, &bad, &m, 1, "double free");
	block = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 1);
	assert_non_null(block);
	tu_report_mark(pmm, &bad, &m);
	pmm_free_pages(pmm, block, 0);
	tu_assert_reports(pmm, &bad, &m, 1, "order 0 but block has order 1");
	pmm_free_pages(pmm, block, 1);
	folio = pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_COMP, 2);
	assert_non_null(folio);
	tu_report_mark(pmm, &bad, &m);
	pmm_free_pages(pmm, pmm_pfn_to_page(pmm, pmm_page_to_pfn(pmm, folio) + 1), 0);
	tu_assert_reports(pmm, &bad, &m, 1, "tail page");
	pmm_free_pages(pmm, folio, 2);
	memset(stack_page, 0, sizeof(stack_page));
	tu_report_mark(pmm, &bad, &m);
	pmm_free_pages(pmm, (struct pmm_page *)&stack_page[64], 0);
	tu_assert_reports(pmm, &bad, &m, 1, "not managed");
	page = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(page);
	tu_report_mark(pmm, &bad, &m);
	pmm_free_pages(pmm, (struct pmm_page *)((char *)page + 8), 0);
	tu_assert_reports(pmm, &bad, &m, 1, "not managed");
	assert_int_equal(pmm_page_count(page), 1);
	/* written, freed, and handed out again zeroed (the pcp's LIFO gives the same frame) */
	p = pmm_page_address(pmm, page);
	memset(p, 0xa5, 4096);
	pmm_free_pages(pmm, page, 0);
	page = pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_ZERO, 0);
	assert_non_null(page);
	p = pmm_page_address(pmm, page);
	for (unsigned int i = 0; i < 4096; i++)
		assert_int_equal(p[i], 0);
	pmm_free_pages(pmm, page, 0);
	/* an armed fault is honoured by order-0 requests too */
	{
		struct pmm_fault_attr a = { .nth = 1, .probability = 100, .times = 1 };

		assert_int_equal(pmm_fault_set(pmm, PMM_FAULT_PAGE_ALLOC, &a), 0);
		assert_null(pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 0));
		page = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
		assert_non_null(page);
		pmm_free_pages(pmm, page, 0);
	}
	pmm_stats_get(pmm, &after);
	/* 1 + 2 + 4 + 1 + 1 + 1 frames each way (the two order-0 pages and the zeroed one) */
	assert_int_equal(after.pgalloc - before.pgalloc, 10);
	assert_int_equal(after.pgfree - before.pgfree, 10);
	tu_finish(pmm, .bad = &bad, .reports = 5);
}

static void test_fast_path_fallbacks(void **state)
{
	(void)state;
	run_fast_path_fallbacks(PMM_PCP_FASTPATH_AUTO);
	run_fast_path_fallbacks(PMM_PCP_FASTPATH_TRYLOCK);
}

/*
 * The pointers the fast free places from their address alone, in both
 * memmap models, placed by the table and by the binary search (a metadata
 * allocator whose blocks are only 64-byte aligned has no table): NULL
 * (ignored), one struct page before the first frame, one past the first
 * region's section (the end of its memmap chunk, and in vmemmap the
 * memmap of an absent section), a hole inside that section (PG_reserved),
 * a pointer off by an odd count of bytes, one struct page before the
 * second region's section. Each but NULL is reported, and none changes
 * anything; a page of the second region frees through the fast path.
 * Then the paths that leave the fast ones: a DMA32 request on an instance
 * with no DMA32 zone (the cached preferred zone is NULL), and frees past
 * the array's capacity (the prepared page taken to the general path),
 * with exact counters.
 */
/* The struct page @n records after @page (struct pmm_page is opaque here). */
static struct pmm_page *page_at(struct pmm_page *page, long n)
{
	return (struct pmm_page *)((char *)page + n * PMM_PAGE_META_SIZE);
}

static void run_fast_path_edges(enum pmm_pcp_fastpath mode, enum pmm_memmap_model model,
				bool search)
{
	enum { HELD_PAGES = 600, NR_BAD = 6 };	/* more than an array holds (254) */
	struct tu_bad bad;
	struct pmm_config cfg;
	struct tu_report_mark m;
	struct pmm_stats before, after;
	struct pmm_page *first, *second, *held[HELD_PAGES], *bad_ptrs[NR_BAD];
	pmm_t *pmm;
	const uint64_t section_pages = 1ULL << (27 - 12);	/* the default section_shift */

	tu_config(&cfg, 64, &bad);
	cfg.regions[1] = (struct pmm_region){ .start_pfn = TU_BASE_PFN + 3 * section_pages,
					      .nr_pages = TU_MIB(16) >> 12 };
	cfg.nr_regions = 2;
	cfg.cpu_fn = NULL;
	cfg.cpu_arg = NULL;
	cfg.nr_cpus = 0;
	cfg.pcp_fastpath = mode;
	cfg.memmap = model;
	if (search)
		skewed_meta_install(&cfg);
	pmm = tu_create(&cfg);
	first = pmm_pfn_to_page(pmm, TU_BASE_PFN);	/* a section's first frame */
	second = pmm_pfn_to_page(pmm, cfg.regions[1].start_pfn);
	assert_non_null(first);
	assert_non_null(second);
	assert_int_equal((uintptr_t)first % 128, search ? SKEWED_META_OFFSET : 0);
	bad_ptrs[0] = NULL;
	bad_ptrs[1] = page_at(first, -1);
	bad_ptrs[2] = page_at(first, (long)section_pages);
	bad_ptrs[3] = page_at(first, (long)(TU_MIB(64) >> 12));	/* past the region: a hole */
	bad_ptrs[4] = (struct pmm_page *)((char *)first + 3);
	bad_ptrs[5] = page_at(second, -1);
	/* a page of the second region, taken from the buddy, to be freed as order 0 */
	assert_int_equal(pmm_alloc_contig_range(pmm, cfg.regions[1].start_pfn,
						cfg.regions[1].start_pfn + 1, PMM_GFP_KERNEL), 0);
	pmm_stats_get(pmm, &before);
	for (unsigned int i = 0; i < NR_BAD; i++) {
		tu_report_mark(pmm, &bad, &m);
		pmm_free_pages(pmm, bad_ptrs[i], 0);
		/* NULL is ignored, as free(NULL) */
		tu_assert_reports(pmm, &bad, &m, i ? 1 : 0, i ? "not managed" : NULL);
	}
	assert_null(pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_DMA32 | PMM_GFP_NOWARN, 0));
	for (unsigned int i = 0; i < HELD_PAGES; i++) {
		held[i] = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
		assert_non_null(held[i]);
	}
	for (unsigned int i = 0; i < HELD_PAGES; i++)
		pmm_free_pages(pmm, held[i], 0);
	pmm_free_pages(pmm, second, 0);
	pmm_stats_get(pmm, &after);
	assert_int_equal(after.pgalloc - before.pgalloc, HELD_PAGES);
	assert_int_equal(after.pgfree - before.pgfree, HELD_PAGES + 1);
	tu_finish(pmm, .bad = &bad, .reports = NR_BAD - 1);
}

static void test_fast_path_edges(void **state)
{
	(void)state;
	for (int search = 0; search < 2; search++) {
		run_fast_path_edges(PMM_PCP_FASTPATH_AUTO, PMM_MEMMAP_SPARSE, search);
		run_fast_path_edges(PMM_PCP_FASTPATH_AUTO, PMM_MEMMAP_VMEMMAP, search);
		run_fast_path_edges(PMM_PCP_FASTPATH_TRYLOCK, PMM_MEMMAP_SPARSE, search);
		run_fast_path_edges(PMM_PCP_FASTPATH_TRYLOCK, PMM_MEMMAP_VMEMMAP, search);
	}
}

/*
 * More pairs on one CPU than a list word's pops and pushes counters hold
 * (22 bits each): the sections must bail out when a counter reaches its
 * top bit, so that the lock holder folds the word (both counters: in a
 * pair either bail suffices) before a carry corrupts the next field, and
 * the statistics stay exact. With both tests pointed at
 * bits nothing sets, pgalloc reads 1000.
 */
static void test_counter_fold(void **state)
{
	const unsigned long pairs = (1UL << 22) + 1000;
	struct tu_bad bad;
	pmm_t *pmm = create(PMM_PCP_FASTPATH_AUTO, &bad);
	struct pmm_stats before, after;
	cpu_set_t old;

	(void)state;
	if (pmm_get_config(pmm)->pcp_fastpath != PMM_PCP_FASTPATH_RSEQ) {
		print_message("no rseq mode here: the words' counters are not used\n");
		tu_finish(pmm, .bad = &bad, .reports = 0);
		return;
	}
	stay_on_this_cpu(&old);
	pmm_stats_get(pmm, &before);
	for (unsigned long i = 0; i < pairs; i++) {
		struct pmm_page *page = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);

		assert_non_null(page);
		pmm_free_pages(pmm, page, 0);
	}
	pmm_stats_get(pmm, &after);
	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
	assert_int_equal(after.pgalloc - before.pgalloc, pairs);
	assert_int_equal(after.pgfree - before.pgfree, pairs);
	assert_int_equal(after.pcp_alloc - before.pcp_alloc, pairs);
	assert_int_equal(after.pcp_free - before.pcp_free, pairs);
	tu_finish(pmm, .bad = &bad, .reports = 0);
}

/*
 * pageblock_order blocks in rseq mode: allocated and freed whole, and
 * freed as one contig chunk after split_page, on one CPU. Every one is
 * served by the pcp (its array holds two), so the block counters are
 * exact: a pop or push is one pcp_alloc or pcp_free and 2^order frames.
 * The same in trylock mode through the locked list. (Where high is below
 * one block, rseq mode sends them to the buddy: no pcp counts at all.)
 */
static void run_block_pairs(enum pmm_pcp_fastpath mode, unsigned int pcp_high)
{
	const unsigned long pairs = 3000;
	struct tu_bad bad;
	pmm_t *pmm = create_sized(mode, &bad, 512, pcp_high);
	unsigned int order = pmm_get_config(pmm)->pageblock_order;
	unsigned long nr = 1UL << order;
	/* on a machine with so many CPUs that high drops below a block, rseq mode keeps them off the pcp */
	unsigned long via_pcp = pmm_get_config(pmm)->pcp_fastpath == PMM_PCP_FASTPATH_RSEQ &&
					!(pmm_get_config(pmm)->pcp_high >> order) ? 0 : pairs;
	struct pmm_stats before, after;
	cpu_set_t old;

	stay_on_this_cpu(&old);
	pmm_stats_get(pmm, &before);
	for (unsigned long i = 0; i < pairs; i++) {
		struct pmm_page *block = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, order);

		assert_non_null(block);
		if (i & 1) {
			pmm_free_pages(pmm, block, order);
		} else {
			pmm_split_page(pmm, block, order);
			pmm_free_contig_range(pmm, pmm_page_to_pfn(pmm, block), nr);
		}
	}
	pmm_stats_get(pmm, &after);
	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
	print_message("%s: %lu blocks of order %u each way, %lu through the pcp\n",
		      pmm_get_config(pmm)->pcp_fastpath == PMM_PCP_FASTPATH_RSEQ ? "rseq" : "trylock",
		      pairs, order, via_pcp);
	assert_int_equal(after.pgalloc - before.pgalloc, pairs * nr);
	assert_int_equal(after.pgfree - before.pgfree, pairs * nr);
	assert_int_equal(after.pcp_alloc - before.pcp_alloc, via_pcp);
	assert_int_equal(after.pcp_free - before.pcp_free, via_pcp);
	assert_int_equal(after.contig_chunks - before.contig_chunks, pairs / 2);
	tu_finish(pmm, .bad = &bad, .reports = 0);
}

/* Both block tests in either mode: the mode is the test's initial state. */
static void test_block_pairs(void **state)
{
	run_block_pairs(*(const enum pmm_pcp_fastpath *)*state, 1100);
}

/* A high below one block: rseq mode keeps the blocks off the pcp, trylock mode lists them. */
static void test_block_pairs_no_room(void **state)
{
	run_block_pairs(*(const enum pmm_pcp_fastpath *)*state, 256);
}

/*
 * A pageblock_order refill takes two blocks (kernel nr_pcp_alloc(): batch
 * frames' worth, at least two when batch > 1), so the allocation after the
 * one that refilled is served by the pcp: one refill for two blocks, in
 * both modes, with high below two blocks' worth.
 */
static void test_block_refill_takes_two(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = create_sized(*(const enum pmm_pcp_fastpath *)*state, &bad, 512, 600);
	unsigned int order = pmm_get_config(pmm)->pageblock_order;
	struct pmm_page *block[2];
	struct pmm_stats before, after;
	cpu_set_t old;

	if (!(pmm_get_config(pmm)->pcp_high >> order) || pmm_get_config(pmm)->pcp_batch < 2) {
		print_message("skipped: high %u, batch %u (too many CPUs for a block on each pcp)\n",
			      pmm_get_config(pmm)->pcp_high, pmm_get_config(pmm)->pcp_batch);
		tu_finish(pmm, .bad = &bad, .reports = 0);
		return;
	}
	stay_on_this_cpu(&old);
	pmm_drain_all_pages(pmm);
	pmm_stats_get(pmm, &before);
	for (int i = 0; i < 2; i++)
		assert_non_null(block[i] = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, order));
	pmm_stats_get(pmm, &after);
	assert_int_equal(after.pcp_refill - before.pcp_refill, 1);
	assert_int_equal(after.pcp_alloc - before.pcp_alloc, 2);
	for (int i = 0; i < 2; i++)
		pmm_free_pages(pmm, block[i], order);
	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
	tu_finish(pmm, .bad = &bad, .reports = 0);
}

static void run_churn(enum pmm_pcp_fastpath mode)
{
	struct tu_bad bad;
	pmm_t *pmm = create_blocks(mode, &bad);
	struct churn c[THREADS + 1];
	pthread_t t[THREADS + 1];
	atomic_bool stop = false;
	struct pmm_stats before, after;
	uint64_t allocated = 0, freed = 0, seed = tu_seed();

	pmm_stats_get(pmm, &before);
	for (unsigned int i = 0; i <= THREADS; i++) {
		c[i] = (struct churn){ .pmm = pmm, .pb_order = pmm_get_config(pmm)->pageblock_order,
				       .id = i, .seed = seed, .stop = &stop };
		assert_int_equal(pthread_create(&t[i], NULL, i < THREADS ? churn_thread :
						drainer_thread, &c[i]), 0);
	}
	for (unsigned int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	atomic_store(&stop, true);
	assert_int_equal(pthread_join(t[THREADS], NULL), 0);
	for (unsigned int i = 0; i < THREADS; i++) {
		if (c[i].error[0])
			fail_msg("%s (seed %llu)", c[i].error, (unsigned long long)seed);
		allocated += c[i].allocated;
		freed += c[i].freed;
	}
	assert_int_equal(allocated, freed);
	pmm_stats_get(pmm, &after);
	/* the sections' own counters, folded, are exact */
	assert_int_equal(after.pgalloc - before.pgalloc, allocated);
	assert_int_equal(after.pgfree - before.pgfree, freed);
	print_message("%s: %llu frames each way, %lu migrations and drains, %llu fences\n",
		      pmm_get_config(pmm)->pcp_fastpath == PMM_PCP_FASTPATH_RSEQ ? "rseq" : "trylock",
		      (unsigned long long)allocated, c[0].migrations + c[THREADS].migrations,
		      (unsigned long long)(after.pcp_rseq_fence - before.pcp_rseq_fence));
	if (pmm_get_config(pmm)->pcp_fastpath == PMM_PCP_FASTPATH_RSEQ && ncpus() > 1)
		assert_true(after.pcp_rseq_fence > before.pcp_rseq_fence);
	tu_finish(pmm, .bad = &bad, .reports = 0);
}

static void test_migrating_churn(void **state)
{
	run_churn(*(const enum pmm_pcp_fastpath *)*state);
}

int main(void)
{
	static enum pmm_pcp_fastpath auto_mode = PMM_PCP_FASTPATH_AUTO,
				     trylock_mode = PMM_PCP_FASTPATH_TRYLOCK;
#define IN_MODE(name, fn, mode) { name, fn, NULL, NULL, &mode }
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_contig_chunks_counted),
		cmocka_unit_test(test_fast_path_fallbacks),
		cmocka_unit_test(test_fast_path_edges),
		cmocka_unit_test(test_counter_fold),
		IN_MODE("test_block_pairs", test_block_pairs, auto_mode),
		IN_MODE("test_block_pairs_trylock", test_block_pairs, trylock_mode),
		IN_MODE("test_block_pairs_no_room", test_block_pairs_no_room, auto_mode),
		IN_MODE("test_block_pairs_no_room_trylock", test_block_pairs_no_room, trylock_mode),
		IN_MODE("test_block_refill_takes_two", test_block_refill_takes_two, auto_mode),
		IN_MODE("test_block_refill_takes_two_trylock", test_block_refill_takes_two,
			trylock_mode),
		IN_MODE("test_migrating_churn", test_migrating_churn, auto_mode),
		IN_MODE("test_migrating_churn_trylock", test_migrating_churn, trylock_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
