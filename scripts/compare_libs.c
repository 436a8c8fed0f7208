/* SPDX-License-Identifier: MIT */
/*
 * compare_libs.c - two or more builds of libpmm.so in one process, their
 * order-0 hot paths timed in turns: what scripts/compare_libs.sh runs.
 *
 * A before/after of a change to the order-0 pcp hit is a few per cent,
 * and this VM changes speed by a third from one minute to the next: two
 * binaries run one after the other (scripts/compare_builds.sh) meet
 * different minutes, and their ratio swings by more than the change. Here
 * every library is loaded into this one process (dlopen, RTLD_LOCAL and
 * RTLD_DEEPBIND, so that each calls its own functions), each on an
 * instance of its own, and a round times each library's sample back to
 * back, a few milliseconds apart, in an order that rotates per round; the
 * figure is the median over rounds of each round's own ratio to the first
 * library.
 *
 * Cases:
 *   pair    alloc+free of one order-0 page, hot: 10,000 pairs untimed,
 *           then 300,000 timed; ns per pair
 *   random  `pmm bench peers`' random at 1 GiB: 131,072 order-0 pages
 *           live (filled once, untimed), then free a random one and
 *           allocate one in its slot, 500,000 ops a sample, the same slots
 *           for every library; ns per op
 * Each instance is the library's default config with 2 GiB of memory
 * (so 1 GiB is allocatable above the watermarks, as in `bench peers`).
 * Every library is compiled against the same include/pmm.h as this file:
 * compare_libs.sh refuses revisions whose headers differ.
 * At the end every instance must pass pmm_check() with every page freed.
 *
 * usage: compare_libs [--rounds N] [--cases pair,random] LIB.so LIB.so...
 */
#define _GNU_SOURCE	/* RTLD_DEEPBIND */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pmm.h"

#define MAX_LIBS 8
#define MAX_ROUNDS 1001
#define PAIRS 300000
#define PAIRS_WARM 10000
#define RANDOM_LIVE (1u << 17)	/* half of 1 GiB of 4 KiB pages */
#define RANDOM_OPS 500000

struct lib {
	const char *path;
	void (*config_init)(struct pmm_config *cfg);
	int (*create)(const struct pmm_config *cfg, pmm_t **out);
	void (*destroy)(pmm_t *pmm);
	struct pmm_page *(*alloc)(pmm_t *pmm, pmm_gfp_t gfp, unsigned int order);
	void (*free)(pmm_t *pmm, struct pmm_page *page, unsigned int order);
	int (*check)(pmm_t *pmm);
	pmm_t *pmm;
	struct pmm_page **slots;	/* random: the live pages */
	double ns[MAX_ROUNDS];
};

static volatile uintptr_t sink;	/* every page's address, summed: no call is elided */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median, 10th and 90th percentiles of @v[0..n-1] (sorted in place). */
static void percentiles(double *v, unsigned int n, double out[3])
{
	qsort(v, n, sizeof(*v), cmp_double);
	out[0] = v[n / 2];
	out[1] = v[n / 10];
	out[2] = v[n * 9 / 10];
}

static void *sym(void *h, const char *path, const char *name)
{
	void *p = dlsym(h, name);

	if (!p) {
		fprintf(stderr, "compare_libs: %s: no %s\n", path, name);
		exit(2);
	}
	return p;
}

static void load(struct lib *l)
{
	void *h = dlopen(l->path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
	struct pmm_config cfg;
	int ret;

	if (!h) {
		fprintf(stderr, "compare_libs: %s\n", dlerror());
		exit(2);
	}
	l->config_init = sym(h, l->path, "pmm_config_init");
	l->create = sym(h, l->path, "pmm_create");
	l->destroy = sym(h, l->path, "pmm_destroy");
	l->alloc = sym(h, l->path, "pmm_alloc_pages");
	l->free = sym(h, l->path, "pmm_free_pages");
	l->check = sym(h, l->path, "pmm_check");
	l->config_init(&cfg);
	cfg.quiet = true;
	cfg.nr_regions = 1;
	cfg.regions[0] = (struct pmm_region){ .start_pfn = 0x100000, .nr_pages = 2u << 18, .nid = 0 };
	ret = l->create(&cfg, &l->pmm);
	if (ret) {
		fprintf(stderr, "compare_libs: %s: pmm_create: %d\n", l->path, ret);
		exit(2);
	}
}

/* One sample of the pair case. */
static double run_pair(struct lib *l, uintptr_t *sum)
{
	struct pmm_page *p;
	uint64_t t0;

	for (int k = 0; k < PAIRS_WARM; k++) {
		p = l->alloc(l->pmm, PMM_GFP_KERNEL, 0);
		l->free(l->pmm, p, 0);
	}
	t0 = now_ns();
	for (int k = 0; k < PAIRS; k++) {
		p = l->alloc(l->pmm, PMM_GFP_KERNEL, 0);
		*sum += (uintptr_t)p;
		l->free(l->pmm, p, 0);
	}
	return (double)(now_ns() - t0) / PAIRS;
}

/* One sample of the random case over the library's live pages. */
static double run_random(struct lib *l, const uint32_t *picks, uintptr_t *sum)
{
	struct pmm_page **slots = l->slots;
	uint64_t t0 = now_ns();

	for (int k = 0; k < RANDOM_OPS; k++) {
		uint32_t j = picks[k];

		l->free(l->pmm, slots[j], 0);
		slots[j] = l->alloc(l->pmm, PMM_GFP_KERNEL, 0);
		*sum += (uintptr_t)slots[j];
	}
	return (double)(now_ns() - t0) / RANDOM_OPS;
}

int main(int argc, char **argv)
{
	struct lib libs[MAX_LIBS];
	unsigned int rounds = 201, n = 0;
	bool pair = true, random = true;
	uint32_t *picks = NULL;
	uintptr_t sum = 0;
	int ret = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			rounds = (unsigned int)strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--cases") && i + 1 < argc) {
			pair = strstr(argv[++i], "pair") != NULL;
			random = strstr(argv[i], "random") != NULL;
		} else if (argv[i][0] == '-' || n == MAX_LIBS) {
			fprintf(stderr, "usage: compare_libs [--rounds N] [--cases pair,random] "
					"LIB.so LIB.so... (at most %d)\n", MAX_LIBS);
			return 2;
		} else {
			memset(&libs[n], 0, sizeof(libs[n]));
			libs[n++].path = argv[i];
		}
	}
	if (n < 1 || rounds < 1 || rounds > MAX_ROUNDS || (!pair && !random)) {
		fprintf(stderr, "compare_libs: one library or more, 1..%d rounds, a case\n",
			MAX_ROUNDS);
		return 2;
	}
	for (unsigned int i = 0; i < n; i++)
		load(&libs[i]);

	if (random) {
		uint64_t x = 0x9e3779b97f4a7c15ull;	/* xorshift64, a fixed seed */

		picks = malloc(RANDOM_OPS * sizeof(*picks));
		if (!picks)
			return 2;
		for (int k = 0; k < RANDOM_OPS; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			picks[k] = (uint32_t)(x % RANDOM_LIVE);
		}
		for (unsigned int i = 0; i < n; i++) {
			libs[i].slots = malloc(RANDOM_LIVE * sizeof(*libs[i].slots));
			if (!libs[i].slots)
				return 2;
			for (unsigned int k = 0; k < RANDOM_LIVE; k++)
				if (!(libs[i].slots[k] = libs[i].alloc(libs[i].pmm, PMM_GFP_KERNEL, 0))) {
					fprintf(stderr, "compare_libs: %s: the fill failed\n",
						libs[i].path);
					return 2;
				}
		}
	}

	for (int c = 0; c < 2; c++) {
		double ratio[MAX_ROUNDS], p[3];

		if (!(c ? random : pair))
			continue;
		for (unsigned int r = 0; r < rounds; r++)
			for (unsigned int k = 0; k < n; k++) {
				struct lib *l = &libs[(r + k) % n];

				l->ns[r] = c ? run_random(l, picks, &sum) : run_pair(l, &sum);
			}
		printf("%s (%s), %u rounds:\n", c ? "random" : "pair",
		       c ? "ns per free + alloc, 131,072 pages live" : "ns per order-0 alloc + free",
		       rounds);
		for (unsigned int i = 0; i < n; i++) {
			for (unsigned int r = 0; r < rounds; r++)
				ratio[r] = libs[i].ns[r] / libs[0].ns[r];
			percentiles(ratio, rounds, p);
			printf("  %-40s ratio to the first %.3f (p10 %.3f, p90 %.3f)", libs[i].path,
			       p[0], p[1], p[2]);
			percentiles(libs[i].ns, rounds, p);
			printf("  median %.2f ns (p10 %.2f, p90 %.2f)\n", p[0], p[1], p[2]);
		}
	}

	for (unsigned int i = 0; i < n; i++) {
		if (libs[i].slots)
			for (unsigned int k = 0; k < RANDOM_LIVE; k++)
				libs[i].free(libs[i].pmm, libs[i].slots[k], 0);
		if (libs[i].check(libs[i].pmm)) {
			fprintf(stderr, "compare_libs: %s: pmm_check() failed\n", libs[i].path);
			ret = 1;
		}
		libs[i].destroy(libs[i].pmm);
		free(libs[i].slots);
	}
	free(picks);
	sink = sum;
	return ret;
}
