/* SPDX-License-Identifier: MIT */
/*
 * page_cache.c - a multithreaded page cache on pmm folios.
 *
 * Several reader threads share one cache of "file pages". Each file is
 * cached in folios of its own order (0, 2 or 4: small files in single
 * pages, big ones in 16 KiB and 64 KiB folios, as a filesystem with large
 * folios does), the cache holds at most CACHE_PAGES pages and evicts with
 * the clock (second chance) algorithm. The example shows:
 *   - folios: pmm_folio_alloc() on a miss, the cache's reference and a
 *     reader's own (pmm_folio_get / pmm_folio_put), so a folio evicted
 *     while a reader still copies from it lives until that reader is done;
 *   - the per-CPU lists: each thread is its own "CPU" (cpu_fn), so order-0
 *     to order-3 allocations and frees are pcp hits without the zone lock;
 *     a folio freed on another thread lands on that thread's lists;
 *   - the instance's counters, printed as JSON on stdout at the end
 *     (pmm_stats_print); the cache's own summary goes to stderr, so
 *     `./page_cache | jq .` works.
 * Exits 0 when every read saw the right bytes and pmm_check() passes.
 */
#define _POSIX_C_SOURCE 200809L	/* pthreads */
#include <inttypes.h>
#include <pmm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NR_THREADS 4
#define NR_READS 100000		/* per thread */
#define NR_FILES 6
#define FILE_PAGES 4096u		/* 16 MiB per file at 4 KiB pages */
#define CACHE_PAGES 8192u	/* a third of the files fit */
#define MAX_FOLIO_ORDER 4
static const unsigned int file_order[NR_FILES] = { 0, 2, 4, 0, 2, 4 };

/* One slot of a file's index: the folio cached there and the clock's bit. */
struct cache_entry {
	struct pmm_folio *folio;	/* NULL: the slot is empty */
	bool referenced;		/* read since the clock hand last passed */
};

/*
 * The cache. One lock for the index and the clock keeps the example short;
 * a real cache locks per file (the kernel: the mapping's xarray lock) and
 * per LRU. Folio contents are filled and read outside the lock, under a
 * folio reference.
 */
struct page_cache {
	pmm_t *pmm;
	pthread_mutex_t lock;
	struct cache_entry *slots[NR_FILES];	/* FILE_PAGES >> order entries per file */
	uint32_t *clock;			/* ring of file << 24 | index: cached folios */
	unsigned int clock_head, clock_len;	/* oldest entry, entries in the ring */
	unsigned long cached_pages;		/* pages of the cached folios */
	unsigned long hits, misses, evictions, lost_races;
};

static _Thread_local unsigned int this_cpu;	/* the thread's index, its pcp set */

static unsigned int thread_cpu(void *arg)
{
	(void)arg;
	return this_cpu;
}

static uint64_t prng_next(uint64_t *state)	/* xorshift64* */
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dull;
}

/* What page @index of file @file holds: written on a miss, checked on every read. */
static uint64_t page_tag(unsigned int file, unsigned long index)
{
	return (uint64_t)file << 32 | index | 0xca5e000000000000ull;
}

static uint64_t *folio_page_addr(pmm_t *pmm, struct pmm_folio *folio, unsigned long n)
{
	return pmm_page_address(pmm, pmm_folio_page(pmm, folio, n));
}

/*
 * evict_locked - run the clock hand until @need pages fit under
 * CACHE_PAGES, moving the victims into @victims (their reference is
 * dropped after unlocking: the last put frees the folio).
 * Context: cache->lock held.
 * Return: the number of victims.
 */
static unsigned int evict_locked(struct page_cache *pc, unsigned long need,
				 struct pmm_folio **victims)
{
	unsigned int nr = 0;

	while (pc->cached_pages + need > CACHE_PAGES && pc->clock_len) {
		uint32_t key = pc->clock[pc->clock_head];
		struct cache_entry *e = &pc->slots[key >> 24][key & 0xffffff];

		pc->clock_head = (pc->clock_head + 1) % CACHE_PAGES;
		pc->clock_len--;
		if (e->referenced) {	/* second chance: back to the tail */
			e->referenced = false;
			pc->clock[(pc->clock_head + pc->clock_len) % CACHE_PAGES] = key;
			pc->clock_len++;
			continue;
		}
		pc->cached_pages -= 1ul << pmm_folio_order(e->folio);
		victims[nr++] = e->folio;
		e->folio = NULL;
		pc->evictions++;
	}
	return nr;
}

/*
 * cache_read - the folio holding page @index of @file, with a reference
 * for the caller (drop it with pmm_folio_put).
 * On a miss the folio is allocated and "read from disk" outside the lock;
 * if another thread cached the same folio meanwhile, its copy wins.
 * Return: the folio, or NULL when no memory is left even with the cache
 * emptied.
 */
static struct pmm_folio *cache_read(struct page_cache *pc, unsigned int file, unsigned long index)
{
	unsigned int order = file_order[file];
	unsigned long slot = index >> order;
	struct pmm_folio *victims[1u << MAX_FOLIO_ORDER], *folio;
	unsigned int nr_victims;

	pthread_mutex_lock(&pc->lock);
	folio = pc->slots[file][slot].folio;
	if (folio) {
		pc->slots[file][slot].referenced = true;
		pmm_folio_get(pc->pmm, folio);
		pc->hits++;
		pthread_mutex_unlock(&pc->lock);
		return folio;
	}
	pc->misses++;
	pthread_mutex_unlock(&pc->lock);

	/* A failed allocation makes room and tries again, down to an empty cache. */
	while (!(folio = pmm_folio_alloc(pc->pmm, PMM_GFP_MOVABLE | PMM_GFP_NOWARN, order))) {
		pthread_mutex_lock(&pc->lock);
		if (!pc->clock_len) {
			pthread_mutex_unlock(&pc->lock);
			return NULL;
		}
		nr_victims = evict_locked(pc, CACHE_PAGES - pc->cached_pages + (1ul << order),
					  victims);
		pthread_mutex_unlock(&pc->lock);
		for (unsigned int i = 0; i < nr_victims; i++)
			pmm_folio_put(pc->pmm, victims[i]);
	}
	for (unsigned long n = 0; n < (1ul << order); n++)
		*folio_page_addr(pc->pmm, folio, n) = page_tag(file, (slot << order) + n);

	pthread_mutex_lock(&pc->lock);
	if (pc->slots[file][slot].folio) {	/* lost the race: use the cached one */
		struct pmm_folio *mine = folio;

		folio = pc->slots[file][slot].folio;
		pmm_folio_get(pc->pmm, folio);
		pc->lost_races++;
		pthread_mutex_unlock(&pc->lock);
		pmm_folio_put(pc->pmm, mine);
		return folio;
	}
	nr_victims = evict_locked(pc, 1ul << order, victims);
	pc->slots[file][slot].folio = folio;
	pc->slots[file][slot].referenced = false;
	pc->clock[(pc->clock_head + pc->clock_len) % CACHE_PAGES] = file << 24 | (uint32_t)slot;
	pc->clock_len++;
	pc->cached_pages += 1ul << order;
	pmm_folio_get(pc->pmm, folio);	/* the caller's; the allocation's is the cache's */
	pthread_mutex_unlock(&pc->lock);
	for (unsigned int i = 0; i < nr_victims; i++)
		pmm_folio_put(pc->pmm, victims[i]);
	return folio;
}

struct reader {
	struct page_cache *pc;
	unsigned int cpu;	/* its pcp set */
	bool failed;		/* it said why on stderr and stopped */
};

/* A reader: most of its reads go to the first fifth of each file (the hot set). */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (r->cpu + 1);

	this_cpu = r->cpu;
	for (unsigned int i = 0; i < NR_READS; i++) {
		uint64_t x = prng_next(&seed);
		unsigned int file = (unsigned int)(x % NR_FILES);
		unsigned long index = (unsigned long)(x >> 8) % FILE_PAGES;
		unsigned int order = file_order[file];
		struct pmm_folio *folio;
		uint64_t tag;

		if ((x & 0xf0) < 0xd0)	/* 13 of 16 reads: the hot fifth */
			index %= FILE_PAGES / 5;
		folio = cache_read(r->pc, file, index);
		if (!folio) {
			fprintf(stderr, "page_cache: reader %u: %s\n", r->cpu,
				pmm_strerror(-PMM_ENOMEM));
			r->failed = true;
			return NULL;
		}
		tag = *folio_page_addr(r->pc->pmm, folio, index & ((1ul << order) - 1));
		pmm_folio_put(r->pc->pmm, folio);
		if (tag != page_tag(file, index)) {
			fprintf(stderr, "page_cache: reader %u: page %lu of file %u holds %#"
				PRIx64 ", not %#" PRIx64 "\n", r->cpu, index, file, tag,
				page_tag(file, index));
			r->failed = true;
			return NULL;
		}
	}
	return NULL;
}

/* cache_drop - evict everything and free the index (no reader is left). */
static void cache_drop(struct page_cache *pc)
{
	for (unsigned int f = 0; f < NR_FILES; f++) {
		for (unsigned long s = 0; pc->slots[f] && s < (FILE_PAGES >> file_order[f]); s++)
			if (pc->slots[f][s].folio)
				pmm_folio_put(pc->pmm, pc->slots[f][s].folio);
		free(pc->slots[f]);
	}
	free(pc->clock);
	pthread_mutex_destroy(&pc->lock);
}

static int run(pmm_t *pmm)
{
	static struct page_cache pc;
	pthread_t tids[NR_THREADS];
	struct reader readers[NR_THREADS];
	unsigned int started = 0;
	int status = 0, err;

	pc.pmm = pmm;
	pthread_mutex_init(&pc.lock, NULL);
	pc.clock = malloc(CACHE_PAGES * sizeof(*pc.clock));
	for (unsigned int f = 0; f < NR_FILES; f++)
		pc.slots[f] = calloc(FILE_PAGES >> file_order[f], sizeof(struct cache_entry));
	for (unsigned int f = 0; f < NR_FILES; f++)
		if (!pc.slots[f] || !pc.clock) {
			fprintf(stderr, "page_cache: out of host memory\n");
			cache_drop(&pc);
			return 1;
		}

	for (; started < NR_THREADS; started++) {
		readers[started] = (struct reader){ .pc = &pc, .cpu = started };
		err = pthread_create(&tids[started], NULL, reader_main, &readers[started]);
		if (err) {
			fprintf(stderr, "page_cache: pthread_create: %s\n", strerror(err));
			status = 1;
			break;
		}
	}
	for (unsigned int t = 0; t < started; t++) {
		pthread_join(tids[t], NULL);
		if (readers[t].failed)
			status = 1;
	}
	fprintf(stderr, "page_cache: %u threads, %lu hits, %lu misses, %lu evictions, "
		"%lu lost races, %lu pages cached\n", started, pc.hits, pc.misses, pc.evictions,
		pc.lost_races, pc.cached_pages);

	cache_drop(&pc);
	/* Freed folios wait on the per-CPU lists; draining shows that nothing leaked. */
	pmm_drain_all_pages(pmm);
	if (pmm_free_frames(pmm) != pmm_managed_frames(pmm)) {
		fprintf(stderr, "page_cache: %" PRIu64 " frames not given back\n",
			pmm_managed_frames(pmm) - pmm_free_frames(pmm));
		status = 1;
	}
	return status;
}

int main(void)
{
	struct pmm_config cfg;
	pmm_t *pmm;
	int err, status;

	pmm_config_init(&cfg);	/* memfd backing: folio contents are real bytes */
	cfg.regions[0] = (struct pmm_region){ .start_pfn = 0x100000,
					      .nr_pages = (64ull << 20) >> cfg.page_shift };
	cfg.nr_regions = 1;
	cfg.nr_cpus = NR_THREADS;	/* one pcp set per reader ... */
	cfg.cpu_fn = thread_cpu;	/* ... chosen by the thread, not by sched_getcpu() */
	err = pmm_create(&cfg, &pmm);
	if (err) {
		fprintf(stderr, "page_cache: pmm_create: %s\n", pmm_strerror(err));
		return 1;
	}
	status = run(pmm);
	err = pmm_check(pmm);
	if (err) {
		fprintf(stderr, "page_cache: pmm_check: %s\n", pmm_strerror(err));
		status = 1;
	}
	err = pmm_stats_print(pmm, stdout, 1);
	if (err) {
		fprintf(stderr, "page_cache: pmm_stats_print: %s\n", pmm_strerror(err));
		status = 1;
	}
	pmm_destroy(pmm);
	return status;
}
