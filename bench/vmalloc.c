/* SPDX-License-Identifier: MIT */
/*
 * vmalloc.c - `pmm bench vmalloc`: the kernel's lib/test_vmalloc.c cases,
 * vfree batched vs per page (issue 11).
 *
 * The cases keep test_vmalloc.c's shapes; a "cycle" is one iteration of
 * the kernel test's loop:
 *   fix_size_alloc          vmalloc(1 page), write a byte, vfree
 *   full_fit_alloc          setup: lazy_max_pages pairs of 1-page areas, one
 *                           of each pair freed (and purged: holes); cycle: a
 *                           1-page area that fits a hole
 *   long_busy_list_alloc    setup: 15000 busy 1-page areas kept; cycle:
 *                           vmalloc 100 pages + 1 page, write both, vfree both
 *   random_size_alloc       vmalloc(1..100 pages, seeded), write, vfree
 *   fix_align_alloc         5 pages aligned to 2 x THREAD_ALIGN (32 KiB), zeroed
 *   random_size_align_alloc 1..10 pages aligned to 2^(rnd % 23) (at least a
 *                           page), zeroed
 *   align_shift_alloc       1 page at alignments 2^page_shift, 2^(page_shift+1),
 *                           ... until one fails (no room, after purging the
 *                           lazy areas); an iteration is the series, a cycle
 *                           one vmalloc+vfree pair of it; how many alignments
 *                           fit depends on what each instance's window holds
 *                           when the series runs, so the variants' series may
 *                           differ by one (both are reported)
 *   vmap_ram                vm_map_ram_test: pmm_vmap of one caller page
 *                           (allocated once per sample), write, pmm_vunmap
 *   vfree_2mib              vmalloc(2 MiB), write, vfree: the series' case,
 *                           512 pages from one order-9 block split
 * Each case runs on each --threads count: real threads, each doing its own
 * setup and loop on the same instance (pinned to a CPU each when there are
 * enough), timed from the first thread's start to the last one's end.
 * Writes go through the vmalloc address only with memfd backing (with
 * --backing none an area must not be dereferenced); each write faults, as
 * an area is a fresh mmap (the kernel's vmalloc maps eagerly).
 *
 * Variants: per_page is an instance with contig_per_page (pmm_vfree frees
 * its pages one by one), batched the same configuration without it
 * (pmm_free_pages_bulk: each pfn run as batched contig chunks). Both exist
 * at once, and each round runs one sample of each, in an order that
 * rotates per round (design.md section 12). Two samples per variant and
 * round:
 *   cycle  the loop, timed whole, on instances without vmalloc_times;
 *   phase  the same loop on a second pair of instances with vmalloc_times,
 *          timing each pmm_vfree() (vfree_ns: the whole call, the unmap
 *          bookkeeping and any purge it triggers included) and reading
 *          pmm_vmalloc_stats.free_step_ns (the library's own timing of the
 *          page-freeing step inside pmm_vfree: free_step_ns).
 * The lazily freed areas left at a loop's end are purged inside the timed
 * part (cycle and vfree_ns), so every area of a sample is unmapped once
 * within it: the figures include the amortized unmap, as the kernel's
 * million-iteration loops do. The setup (busy lists, vmap's page) and its
 * teardown are untimed; each sample starts from drained pcp lists and an
 * empty lazy list. Clock overhead is subtracted from the per-call timings
 * (ours and the library's). Figures are ns per cycle per thread, medians
 * over --samples rounds after one warm-up round; speedups are medians of
 * per-round ratios per_page / batched. The warm-up round also calibrates
 * the iterations (the same for both variants) so that a sample takes about
 * 10 ms, unless --iterations is given.
 *
 * With memfd backing every mapped area is a mapping of the process (two,
 * counting the guard page's hole after it), and a process may have
 * vm.max_map_count of them; a lazily freed area keeps its mapping until the
 * purge. So the busy lists of full_fit and long_busy are the kernel's
 * lengths capped at what the limit leaves per thread after the instances'
 * own mappings and the lazy areas (at most vmap_lazy_max / 2 areas of one
 * page plus guard), and at a quarter of memory; the lengths used are printed
 * and in the JSON.
 *
 * The instance defaults to --mem 512M, memfd backing: room for the capped
 * lists, and half the cost of populating the cycle instances' memfd up
 * front (vb_populate(): the kernel allocates and clears a memfd page at
 * its first write, ~3 us a page on a VM, which would otherwise land on
 * whichever variant first reuses a never-written frame). Instance flags
 * given override it; --contig-per-page is ignored (both variants run).
 *
 * Everything here is the public API (include/pmm.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* pthread_setaffinity_np(), CPU_SET */
#endif

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"
#include "common/prng.h"

#define VB_MAX_SAMPLES BENCH_MAX_SAMPLES
#define VB_MAX_THREADS 16
#define VB_WARMUP 1			/* rounds before the measured ones (the first calibrates) */
#define VB_PROBE_ITERS 64		/* the warm-up round's cycles per thread */
#define VB_MIN_ITERS 16
#define VB_MAX_ITERS 2000000UL
#define VB_TARGET_NS 10000000ULL	/* a sample's aim: 10 ms */
#define VB_SHORT_TARGET_NS 4000000ULL
#define VB_SEED 0x766d616c6c6f63ULL	/* "vmalloc" */

/* test_vmalloc.c's constants. */
#define VB_BUSY_AREAS 15000UL		/* long_busy_list_alloc_test */
#define VB_BUSY_BIG_PAGES 100		/* its cycle's big area */
#define VB_RANDOM_MAX_PAGES 100		/* random_size_alloc_test: 1..100 */
#define VB_ALIGN_PAGES 5		/* fix_align_alloc_test */
#define VB_THREAD_ALIGN (16UL << 10)	/* x86-64 THREAD_ALIGN (THREAD_SIZE, no KASAN) */
#define VB_2MIB (2UL << 20)

/* The instance unless flags say otherwise, as a flag so that any user flag overrides. */
#define VB_DEFAULT_MEM_FLAG "--mem=512M"
#define VB_DEFAULT_MAX_MAP_COUNT 65530UL	/* Linux's default vm.max_map_count */
#define VB_MAP_SLACK 2048UL		/* mappings kept free beside the budget */

enum vb_case {
	VB_FIX_SIZE, VB_FULL_FIT, VB_LONG_BUSY, VB_RANDOM_SIZE, VB_FIX_ALIGN,
	VB_RANDOM_SIZE_ALIGN, VB_ALIGN_SHIFT, VB_VMAP_RAM, VB_VFREE_2MIB, VB_NR_CASES
};

static const struct {
	const char *name;	/* JSON "case" and --cases */
	const char *caller;	/* the areas' pmm_vmalloc_info tag */
} vb_cases[VB_NR_CASES] = {
	[VB_FIX_SIZE] = { "fix_size_alloc", "test_vmalloc:fix_size" },
	[VB_FULL_FIT] = { "full_fit_alloc", "test_vmalloc:full_fit" },
	[VB_LONG_BUSY] = { "long_busy_list_alloc", "test_vmalloc:long_busy_list" },
	[VB_RANDOM_SIZE] = { "random_size_alloc", "test_vmalloc:random_size" },
	[VB_FIX_ALIGN] = { "fix_align_alloc", "test_vmalloc:fix_align" },
	[VB_RANDOM_SIZE_ALIGN] = { "random_size_align_alloc", "test_vmalloc:random_size_align" },
	[VB_ALIGN_SHIFT] = { "align_shift_alloc", "test_vmalloc:align_shift" },
	[VB_VMAP_RAM] = { "vmap_ram", "test_vmalloc:vm_map_ram" },
	[VB_VFREE_2MIB] = { "vfree_2mib", "test_vmalloc:vfree_2mib" },
};

enum { VB_PER_PAGE, VB_BATCHED, VB_NR_VARIANTS };

static const char *const vb_variant_names[VB_NR_VARIANTS] = { "per_page", "batched" };

struct vb_opts {
	bool json;
	bool short_form;	/* pmm report's form */
	unsigned int cases;	/* bit per enum vb_case */
	unsigned int threads[VB_MAX_THREADS];	/* thread counts, in the order given */
	unsigned int nr_threads;
	unsigned int samples;
	unsigned long iterations;	/* cycles per thread per sample; 0: calibrated */
	bool cases_set, threads_set, samples_set;
};

/* What the library logged on an instance (align_shift's failures do). */
struct vb_log {
	atomic_ulong lines;
	atomic_bool have_first;
	char first[256];
};

/* The run's instances and what every sample needs. */
struct vb_ctx {
	const struct vb_opts *o;
	pmm_t *cyc[VB_NR_VARIANTS];	/* cycle samples: no vmalloc_times */
	pmm_t *phase[VB_NR_VARIANTS];	/* phase samples: vmalloc_times */
	struct vb_log log[2][VB_NR_VARIANTS];
	size_t page;			/* bytes per page */
	unsigned int page_shift;
	bool write;			/* memfd backing: areas may be written */
	uint64_t clock_ns;		/* one cli_now_ns() */
	uint64_t target_ns;		/* a sample's calibrated length */
	unsigned long max_map_count;	/* 0: no limit applies (no backing) */
	unsigned long area_budget;	/* live areas all threads of a sample may keep */
	uint64_t lazy_max;		/* the instance's vmap_lazy_max (kernel lazy_max_pages) */
	int cpus[VB_MAX_THREADS];	/* the CPUs threads are pinned to */
	unsigned int nr_cpus;		/* of them; fewer than a sample's threads: unpinned */
	struct cli_progress *prog;	/* on a terminal's stderr: where the run is */
};

/* One sample's figures, per cycle per thread. */
struct vb_meas {
	double ns;		/* cycle: the loop + the final purge */
	double pairs;		/* align_shift: pairs per series (per iteration) */
	double vfree_ns;	/* phase: time in pmm_vfree/pmm_vunmap + the final purge */
	double free_ns;		/* phase: the page-freeing step; NaN: none (vmap) */
	double maps;		/* cycle: mmap calls (pfn runs mapped) */
	double unmaps;		/* cycle: purge unmap calls */
	unsigned long purges;	/* cycle: purges that released something */
};

/* One row of the results: (case, thread count). */
struct vb_row {
	bool valid;
	enum vb_case cs;
	unsigned int threads;
	unsigned long iterations;	/* cycles (align_shift: series) per thread per sample */
	double pairs[VB_NR_VARIANTS];	/* align_shift: pairs per series; else 0 */
	unsigned long list;		/* busy areas (long_busy) or pairs (full_fit) per thread; 0: none */
	struct bench_stat ns[VB_NR_VARIANTS];
	double speedup;
	double vfree_ns[VB_NR_VARIANTS];
	double vfree_speedup;
	double free_ns[VB_NR_VARIANTS];	/* NaN: the case frees no pages */
	double free_speedup;
	double maps, unmaps;		/* batched medians, per cycle */
	double purges;			/* batched median per sample */
};

/* ------------------------------------------------------------------------
 * One thread's loop
 * ------------------------------------------------------------------------ */

/* What all threads of a sample share. */
struct vb_run {
	const struct vb_ctx *c;
	pmm_t *pmm;
	enum vb_case cs;
	unsigned long iterations;
	unsigned long list;		/* long_busy areas / full_fit pairs per thread */
	bool time_vfree;		/* phase sample */
	bool pin;			/* thread i runs on c->cpus[i] */
	pthread_mutex_t lock;		/* the start gate */
	pthread_cond_t cond;
	unsigned int ready;		/* threads done with their setup */
	int state;			/* 0: wait, 1: go, -1: abort */
};

struct vb_thread {
	struct vb_run *run;
	unsigned int idx;
	struct prng rng;
	void **list;			/* long_busy's busy areas / full_fit's kept ones */
	struct pmm_page *page;		/* vmap_ram's caller page */
	uint64_t t0, t1;		/* the loop, on this thread */
	uint64_t vfree_ns;		/* phase: sum over the timed calls */
	unsigned long calls;		/* timed calls */
	unsigned long pairs;		/* align_shift: vmalloc+vfree pairs done */
	int err;
};

static void vb_touch(const struct vb_run *run, void *p, unsigned char val)
{
	if (run->c->write)
		*(volatile unsigned char *)p = val;
}

/* vfree (vunmap for vmap areas), timed in phase samples. */
static void vb_free(struct vb_thread *t, void *p, bool vmap)
{
	pmm_t *pmm = t->run->pmm;
	uint64_t t0;

	if (!t->run->time_vfree) {
		if (vmap)
			pmm_vunmap(pmm, p);
		else
			pmm_vfree(pmm, p);
		return;
	}
	t0 = cli_now_ns();
	if (vmap)
		pmm_vunmap(pmm, p);
	else
		pmm_vfree(pmm, p);
	t->vfree_ns += cli_now_ns() - t0;
	t->calls++;
}

static int vb_fail(struct vb_thread *t, const char *what, unsigned long cycle)
{
	fprintf(stderr, "bench vmalloc: %s, thread %u: %s failed (cycle %lu)\n",
		vb_cases[t->run->cs].name, t->idx, what, cycle);
	t->err = -1;
	return -1;
}

/* The untimed setup: the busy lists, vmap's page. Return: 0 or -1 after a message. */
static int vb_setup(struct vb_thread *t)
{
	struct vb_run *run = t->run;
	pmm_t *pmm = run->pmm;
	size_t page = run->c->page;
	void **junk;

	switch (run->cs) {
	case VB_LONG_BUSY:
		t->list = calloc(run->list, sizeof(*t->list));
		if (!t->list)
			return vb_fail(t, "malloc", 0);
		for (unsigned long i = 0; i < run->list; i++)
			if (!(t->list[i] = pmm_vmalloc(pmm, page, PMM_GFP_KERNEL)))
				return vb_fail(t, "setup pmm_vmalloc", i);
		return 0;
	case VB_FULL_FIT:
		/* Pairs, then one of each freed and purged: holes for the loop to fill. */
		t->list = calloc(run->list, sizeof(*t->list));
		junk = calloc(run->list, sizeof(*junk));
		if (!t->list || !junk) {
			free(junk);
			return vb_fail(t, "malloc", 0);
		}
		for (unsigned long i = 0; i < run->list; i++) {
			t->list[i] = pmm_vmalloc(pmm, page, PMM_GFP_KERNEL);
			junk[i] = t->list[i] ? pmm_vmalloc(pmm, page, PMM_GFP_KERNEL) : NULL;
			if (!junk[i]) {
				for (unsigned long j = 0; j <= i; j++)
					pmm_vfree(pmm, junk[j]);
				free(junk);
				return vb_fail(t, "setup pmm_vmalloc", i);
			}
		}
		for (unsigned long i = 0; i < run->list; i++)
			pmm_vfree(pmm, junk[i]);
		free(junk);
		pmm_vmalloc_purge(pmm);
		return 0;
	case VB_VMAP_RAM:
		if (pmm_alloc_pages_bulk(pmm, PMM_GFP_KERNEL, 1, &t->page) != 1)
			return vb_fail(t, "pmm_alloc_pages_bulk", 0);
		return 0;
	default:
		return 0;
	}
}

/* The untimed teardown of vb_setup(), on the main thread once every loop ended. */
static void vb_teardown(struct vb_thread *t)
{
	pmm_t *pmm = t->run->pmm;

	if (t->list)
		for (unsigned long i = 0; i < t->run->list; i++)
			pmm_vfree(pmm, t->list[i]);
	free(t->list);
	t->list = NULL;
	if (t->page)
		pmm_free_pages_bulk(pmm, &t->page, 1);
	t->page = NULL;
}

/* One cycle of the case. Return: 0, or -1 after a message. */
static int vb_cycle(struct vb_thread *t, unsigned long it)
{
	struct vb_run *run = t->run;
	pmm_t *pmm = run->pmm;
	size_t page = run->c->page, align;
	const char *tag = vb_cases[run->cs].caller;
	void *p, *q;
	unsigned int rnd;

	switch (run->cs) {
	case VB_FIX_SIZE:
	case VB_FULL_FIT:
		if (!(p = pmm_vmalloc(pmm, page, PMM_GFP_KERNEL)))
			return vb_fail(t, "pmm_vmalloc", it);
		vb_touch(run, p, 1);
		vb_free(t, p, false);
		return 0;
	case VB_LONG_BUSY:
		if (!(p = pmm_vmalloc(pmm, VB_BUSY_BIG_PAGES * page, PMM_GFP_KERNEL)))
			return vb_fail(t, "pmm_vmalloc", it);
		if (!(q = pmm_vmalloc(pmm, page, PMM_GFP_KERNEL))) {
			pmm_vfree(pmm, p);
			return vb_fail(t, "pmm_vmalloc", it);
		}
		vb_touch(run, p, 0);
		vb_touch(run, q, 1);
		vb_free(t, p, false);
		vb_free(t, q, false);
		return 0;
	case VB_RANDOM_SIZE:
		p = pmm_vmalloc(pmm, (1 + prng_below(&t->rng, VB_RANDOM_MAX_PAGES)) * page,
				PMM_GFP_KERNEL);
		if (!p)
			return vb_fail(t, "pmm_vmalloc", it);
		vb_touch(run, p, 1);
		vb_free(t, p, false);
		return 0;
	case VB_FIX_ALIGN:
		align = 2 * VB_THREAD_ALIGN > page ? 2 * VB_THREAD_ALIGN : page;
		p = pmm_vmalloc_node_range(pmm, VB_ALIGN_PAGES * page, align,
					   PMM_GFP_KERNEL | PMM_GFP_ZERO, 0, tag);
		if (!p)
			return vb_fail(t, "pmm_vmalloc_node_range", it);
		vb_free(t, p, false);
		return 0;
	case VB_RANDOM_SIZE_ALIGN:
		/* The kernel's get_random_u8(); an alignment below a page is a page. */
		rnd = (unsigned int)(prng_next(&t->rng) & 0xff);
		align = (size_t)1 << (rnd % 23);
		p = pmm_vmalloc_node_range(pmm, (rnd % 10 + 1) * page, align < page ? page : align,
					   PMM_GFP_KERNEL | PMM_GFP_ZERO, 0, tag);
		if (!p)
			return vb_fail(t, "pmm_vmalloc_node_range", it);
		vb_free(t, p, false);
		return 0;
	case VB_ALIGN_SHIFT:
		/* Supposed to fail at some shift, as the kernel's: the window ends. */
		for (unsigned int k = run->c->page_shift; k < 8 * sizeof(size_t); k++) {
			p = pmm_vmalloc_node_range(pmm, page, (size_t)1 << k,
						   PMM_GFP_KERNEL | PMM_GFP_ZERO | PMM_GFP_NOWARN,
						   0, tag);
			if (!p) {
				if (k == run->c->page_shift)
					return vb_fail(t, "pmm_vmalloc_node_range at page alignment", it);
				break;
			}
			vb_free(t, p, false);
			t->pairs++;
		}
		return 0;
	case VB_VMAP_RAM:
		if (!(p = pmm_vmap(pmm, &t->page, 1, 0)))
			return vb_fail(t, "pmm_vmap", it);
		vb_touch(run, p, 'a');
		vb_free(t, p, true);
		return 0;
	case VB_VFREE_2MIB:
		if (!(p = pmm_vmalloc(pmm, VB_2MIB, PMM_GFP_KERNEL)))
			return vb_fail(t, "pmm_vmalloc(2 MiB)", it);
		vb_touch(run, p, 0);
		vb_free(t, p, false);
		return 0;
	case VB_NR_CASES:
		break;
	}
	return -1;
}

static void *vb_thread_main(void *arg)
{
	struct vb_thread *t = arg;
	struct vb_run *run = t->run;
	int state;

	if (run->pin) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(run->c->cpus[t->idx], &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	vb_setup(t);
	pthread_mutex_lock(&run->lock);
	run->ready++;
	pthread_cond_broadcast(&run->cond);
	while (!run->state)
		pthread_cond_wait(&run->cond, &run->lock);
	state = run->state;
	pthread_mutex_unlock(&run->lock);
	if (state < 0 || t->err)
		return NULL;
	t->t0 = cli_now_ns();
	for (unsigned long it = 0; it < run->iterations; it++)
		if (vb_cycle(t, it))
			break;
	t->t1 = cli_now_ns();
	return NULL;
}

/* ------------------------------------------------------------------------
 * One sample
 * ------------------------------------------------------------------------ */

static unsigned long vb_min(unsigned long a, unsigned long b)
{
	return a < b ? a : b;
}

/*
 * Each thread's list: long_busy's busy areas (the kernel's 15000), or
 * full_fit's pairs (the kernel's lazy_max_pages; both areas of a pair live
 * until the setup frees one), within the mapping budget. 0: no list.
 */
static unsigned long vb_list_len(const struct vb_ctx *c, enum vb_case cs, unsigned int threads)
{
	if (cs == VB_LONG_BUSY)
		return vb_min(VB_BUSY_AREAS, c->area_budget / threads);
	if (cs == VB_FULL_FIT)
		return vb_min((unsigned long)c->lazy_max, c->area_budget / threads / 2);
	return 0;
}

/**
 * vb_sample - one sample: @threads threads set up, run @iterations cycles
 * each from a common start, then the lazily freed areas are purged (timed),
 * the setup torn down and purged (untimed).
 * @phase: the instance has vmalloc_times; time the frees.
 * @seed: the round's seed (thread i draws stream i of it).
 * @m: the figures, per cycle per thread.
 * Return: 0, or -1 after a message.
 */
static int vb_sample(const struct vb_ctx *c, pmm_t *pmm, enum vb_case cs, unsigned int threads,
		     unsigned long iterations, bool phase, uint64_t seed, struct vb_meas *m)
{
	struct vb_run run = {
		.c = c, .pmm = pmm, .cs = cs, .iterations = iterations, .time_vfree = phase,
		.pin = threads <= c->nr_cpus, .list = vb_list_len(c, cs, threads),
	};
	struct vb_thread t[VB_MAX_THREADS];
	pthread_t tid[VB_MAX_THREADS];
	struct pmm_vmalloc_stats s0, s1;
	unsigned int created = 0;
	uint64_t start = UINT64_MAX, end = 0, purge_ns, vfree_ns = 0, calls = 0, pairs = 0;
	double per;
	int err = 0;

	pthread_mutex_init(&run.lock, NULL);
	pthread_cond_init(&run.cond, NULL);
	/* Every sample starts from merged buddy lists, whatever ran before. */
	pmm_drain_all_pages(pmm);
	for (unsigned int i = 0; i < threads; i++) {
		t[i] = (struct vb_thread){ .run = &run, .idx = i };
		prng_init(&t[i].rng, seed, i);
		if (pthread_create(&tid[i], NULL, vb_thread_main, &t[i])) {
			fprintf(stderr, "bench vmalloc: cannot start thread %u\n", i);
			err = -1;
			break;
		}
		created++;
	}
	pthread_mutex_lock(&run.lock);
	while (run.ready < created)
		pthread_cond_wait(&run.cond, &run.lock);
	/* After the setups: their maps and frees are not the loop's. */
	pmm_vmalloc_stats(pmm, &s0);
	run.state = err ? -1 : 1;
	pthread_cond_broadcast(&run.cond);
	pthread_mutex_unlock(&run.lock);
	for (unsigned int i = 0; i < created; i++)
		pthread_join(tid[i], NULL);
	purge_ns = cli_now_ns();
	pmm_vmalloc_purge(pmm);
	purge_ns = cli_now_ns() - purge_ns;
	pmm_vmalloc_stats(pmm, &s1);
	for (unsigned int i = 0; i < created; i++) {
		err |= t[i].err;
		start = t[i].t0 < start ? t[i].t0 : start;
		end = t[i].t1 > end ? t[i].t1 : end;
		vfree_ns += t[i].vfree_ns;
		calls += t[i].calls;
		pairs += t[i].pairs;
		vb_teardown(&t[i]);
	}
	pmm_vmalloc_purge(pmm);
	pthread_cond_destroy(&run.cond);
	pthread_mutex_destroy(&run.lock);
	if (err)
		return -1;

	/* Cycles per thread: align_shift's are its pairs. */
	m->pairs = (double)pairs / threads / (double)iterations;
	per = cs == VB_ALIGN_SHIFT ? (double)pairs / threads : (double)iterations;
	m->ns = (double)(end - start + purge_ns) / per;
	m->maps = (double)(s1.map_calls - s0.map_calls) / per / threads;
	m->unmaps = (double)(s1.unmap_calls - s0.unmap_calls) / per / threads;
	m->purges = (unsigned long)(s1.purges - s0.purges);
	m->vfree_ns = m->free_ns = NAN;
	if (phase) {
		/* Our interval holds one clock read's cost, and a pmm_vfree() the library's pair too. */
		double clocks = cs == VB_VMAP_RAM ? 1 : 3, v, f;

		v = ((double)vfree_ns - (double)calls * clocks * (double)c->clock_ns) / threads;
		m->vfree_ns = (v > 0 ? v : 0) / per + (double)purge_ns / per;
		if (cs != VB_VMAP_RAM) {
			f = (double)(s1.free_step_ns - s0.free_step_ns) -
			    (double)calls * (double)c->clock_ns;
			m->free_ns = (f > 0 ? f : 0) / threads / per;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * One case on one thread count: both variants, interleaved
 * ------------------------------------------------------------------------ */

/* Every instance must end as it began: every frame free, no area left, the invariants hold. */
static int vb_verify(const struct vb_ctx *c, const char *what)
{
	for (int k = 0; k < 2; k++)
		for (int v = 0; v < VB_NR_VARIANTS; v++) {
			pmm_t *pmm = k ? c->phase[v] : c->cyc[v];
			struct pmm_vmalloc_stats st;

			pmm_vmalloc_purge(pmm);
			pmm_drain_all_pages(pmm);
			pmm_vmalloc_stats(pmm, &st);
			if (pmm_check(pmm) || pmm_free_frames(pmm) != pmm_managed_frames(pmm) ||
			    st.nr_areas || st.nr_vmalloc_pages || st.lazy_pages) {
				fprintf(stderr, "bench vmalloc: %s %s instance inconsistent after %s "
					"(%llu areas, %llu vmalloc pages, %llu lazy pages, %llu of %llu "
					"frames free)\n", vb_variant_names[v], k ? "phase" : "cycle",
					what, (unsigned long long)st.nr_areas,
					(unsigned long long)st.nr_vmalloc_pages,
					(unsigned long long)st.lazy_pages,
					(unsigned long long)pmm_free_frames(pmm),
					(unsigned long long)pmm_managed_frames(pmm));
				return -1;
			}
		}
	return 0;
}

/* The iterations that make the slower variant's sample last about target_ns. */
static unsigned long vb_calibrate(const struct vb_ctx *c, enum vb_case cs, const struct vb_meas *m)
{
	double ns = 0;

	for (int v = 0; v < VB_NR_VARIANTS; v++) {
		double it = cs == VB_ALIGN_SHIFT ? m[v].ns * m[v].pairs : m[v].ns;	/* per iteration */

		ns = it > ns ? it : ns;
	}
	double it = ns > 0 ? (double)c->target_ns / ns : (double)VB_MAX_ITERS;

	if (it < VB_MIN_ITERS)
		return VB_MIN_ITERS;
	return it > (double)VB_MAX_ITERS ? VB_MAX_ITERS : (unsigned long)it;
}

/**
 * vb_measure - case @cs on @threads threads: one warm-up round (which
 * calibrates the iterations), then --samples rounds; round r runs variant
 * (r + i) % 2 as its i-th cycle sample, then the phase samples in the same
 * order. Both variants of a round draw the same random sizes.
 * Return: 0, or -1 after a message.
 */
static int vb_measure(const struct vb_ctx *c, enum vb_case cs, unsigned int threads,
		      struct vb_row *row)
{
	static double ns[VB_NR_VARIANTS][VB_MAX_SAMPLES], vf[VB_NR_VARIANTS][VB_MAX_SAMPLES],
		      fs[VB_NR_VARIANTS][VB_MAX_SAMPLES], maps[VB_MAX_SAMPLES],
		      unmaps[VB_MAX_SAMPLES], purges[VB_MAX_SAMPLES],
		      pairs[VB_NR_VARIANTS][VB_MAX_SAMPLES];
	unsigned int samples = c->o->samples;
	unsigned long iters = c->o->iterations ? c->o->iterations : VB_PROBE_ITERS;

	for (unsigned int r = 0; r < VB_WARMUP + samples; r++) {
		struct vb_meas cm[VB_NR_VARIANTS], pm[VB_NR_VARIANTS];
		uint64_t seed = VB_SEED + r;

		cli_progress(c->prog, "bench vmalloc: %s, %u thread%s, round %u/%u (%.0f s)",
			     vb_cases[cs].name, threads, threads == 1 ? "" : "s", r + 1,
			     VB_WARMUP + samples, cli_progress_seconds(c->prog));
		/* The warm-up round calibrates twice: a probe's few cycles are mostly start-up. */
		for (int pass = 0; pass < (r == 0 && !c->o->iterations ? 2 : 1); pass++) {
			for (unsigned int i = 0; i < VB_NR_VARIANTS; i++) {
				unsigned int v = (r + i) % VB_NR_VARIANTS;

				if (vb_sample(c, c->cyc[v], cs, threads, iters, false, seed, &cm[v]))
					return -1;
			}
			if (r == 0 && !c->o->iterations)
				iters = vb_calibrate(c, cs, cm);
		}
		for (unsigned int i = 0; i < VB_NR_VARIANTS; i++) {
			unsigned int v = (r + i) % VB_NR_VARIANTS;

			if (vb_sample(c, c->phase[v], cs, threads, iters, true, seed, &pm[v]))
				return -1;
		}
		if (r < VB_WARMUP)
			continue;
		for (int v = 0; v < VB_NR_VARIANTS; v++) {
			ns[v][r - VB_WARMUP] = cm[v].ns;
			vf[v][r - VB_WARMUP] = pm[v].vfree_ns;
			fs[v][r - VB_WARMUP] = pm[v].free_ns;
			pairs[v][r - VB_WARMUP] = cm[v].pairs;
		}
		maps[r - VB_WARMUP] = cm[VB_BATCHED].maps;
		unmaps[r - VB_WARMUP] = cm[VB_BATCHED].unmaps;
		purges[r - VB_WARMUP] = (double)cm[VB_BATCHED].purges;
	}
	*row = (struct vb_row){ .valid = true, .cs = cs, .threads = threads, .iterations = iters };
	row->list = vb_list_len(c, cs, threads);
	for (int v = 0; v < VB_NR_VARIANTS; v++) {
		row->ns[v] = bench_summary(ns[v], samples);
		row->vfree_ns[v] = bench_summary(vf[v], samples).median;
		row->free_ns[v] = bench_summary(fs[v], samples).median;
		row->pairs[v] = bench_summary(pairs[v], samples).median;
	}
	row->speedup = bench_ratio(ns[VB_PER_PAGE], ns[VB_BATCHED], samples);
	row->vfree_speedup = bench_ratio(vf[VB_PER_PAGE], vf[VB_BATCHED], samples);
	row->free_speedup = isnan(row->free_ns[0]) ? NAN :
			    bench_ratio(fs[VB_PER_PAGE], fs[VB_BATCHED], samples);
	row->maps = bench_summary(maps, samples).median;
	row->unmaps = bench_summary(unmaps, samples).median;
	row->purges = bench_summary(purges, samples).median;
	return vb_verify(c, vb_cases[cs].name);
}

/* ------------------------------------------------------------------------
 * Goals (issue 11), checked against what was measured
 * ------------------------------------------------------------------------ */

struct vb_goal {
	bool free_step;		/* the page-freeing step's speedup, else the whole cycle's */
	double bound;		/* speedup per_page / batched >= bound */
	const char *what;
};

/* Checked for vfree_2mib on every thread count the run measured. */
static const struct vb_goal vb_goals[] = {
	{ true, 10.0, "the free step >= 10x faster batched (512 pages as one chunk)" },
	{ false, 1.5, "the whole vmalloc+vfree cycle >= 1.5x faster batched" },
};

static double vb_goal_value(const struct vb_row *r, const struct vb_goal *g)
{
	return g->free_step ? r->free_speedup : r->speedup;
}

/* ------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------ */

struct vb_results {
	struct vb_row row[VB_NR_CASES][VB_MAX_THREADS];	/* [case][index into --threads] */
};

static unsigned long vb_log_lines(const struct vb_ctx *c, const char **first)
{
	unsigned long n = 0;

	*first = NULL;
	for (int k = 0; k < 2; k++)
		for (int v = 0; v < VB_NR_VARIANTS; v++) {
			const struct vb_log *l = &c->log[k][v];

			n += atomic_load(&l->lines);
			if (!*first && atomic_load(&l->have_first))
				*first = l->first;
		}
	return n;
}

static void vb_print_summary(const struct vb_opts *o, const struct vb_results *res)
{
	for (unsigned int ti = 0; ti < o->nr_threads; ti++) {
		const struct vb_row *r = &res->row[VB_VFREE_2MIB][ti];

		if (!r->valid)
			continue;
		printf("vmalloc: 2 MiB vmalloc+vfree, %u thread%s: the cycle %.2fx faster batched "
		       "(goal 1.5x: %s), its free step %.2fx (goal 10x: %s)\n", r->threads,
		       r->threads == 1 ? "" : "s", r->speedup,
		       r->speedup >= vb_goals[1].bound ? "met" : "MISSED", r->free_speedup,
		       r->free_speedup >= vb_goals[0].bound ? "met" : "MISSED");
	}
}

static void vb_print_text(const struct vb_ctx *c, const struct vb_results *res)
{
	const struct vb_opts *o = c->o;
	const char *first;
	unsigned long lines;
	unsigned int skipped = 0;

	printf("\nvmalloc+vfree cycle: ns per cycle per thread, median (min..max)\n");
	printf("%-24s %3s %8s %10s %19s %10s %19s %8s\n", "case", "thr", "iters", "per_page",
	       "", "batched", "", "x");
	for (int cs = 0; cs < VB_NR_CASES; cs++)
		for (unsigned int ti = 0; ti < o->nr_threads; ti++) {
			const struct vb_row *r = &res->row[cs][ti];
			char pp[40], bt[40];

			if (!r->valid)
				continue;
			snprintf(pp, sizeof(pp), "(%.0f..%.0f)", r->ns[VB_PER_PAGE].min,
				 r->ns[VB_PER_PAGE].max);
			snprintf(bt, sizeof(bt), "(%.0f..%.0f)", r->ns[VB_BATCHED].min,
				 r->ns[VB_BATCHED].max);
			printf("%-24s %3u %8lu %10.0f %-19s %10.0f %-19s %7.2fx\n", vb_cases[cs].name,
			       r->threads, r->iterations, r->ns[VB_PER_PAGE].median, pp,
			       r->ns[VB_BATCHED].median, bt, r->speedup);
		}
	printf("\npmm_vfree (vmap_ram: pmm_vunmap) and its page-freeing step, ns per cycle per "
	       "thread (median);\nmaps/unmaps = mmap and purge-unmap calls per cycle (batched); "
	       "list = busy areas or pairs per thread\n");
	printf("%-24s %3s %10s %10s %7s %10s %10s %8s %7s %7s %6s\n", "case", "thr", "vfree pp",
	       "vfree b", "x", "free pp", "free b", "x", "maps", "unmaps", "list");
	for (int cs = 0; cs < VB_NR_CASES; cs++)
		for (unsigned int ti = 0; ti < o->nr_threads; ti++) {
			const struct vb_row *r = &res->row[cs][ti];

			if (!r->valid)
				continue;
			printf("%-24s %3u %10.0f %10.0f %6.2fx ", vb_cases[cs].name, r->threads,
			       r->vfree_ns[VB_PER_PAGE], r->vfree_ns[VB_BATCHED], r->vfree_speedup);
			if (isnan(r->free_ns[VB_PER_PAGE]))
				printf("%10s %10s %8s", "-", "-", "-");
			else
				printf("%10.0f %10.0f %7.2fx", r->free_ns[VB_PER_PAGE],
				       r->free_ns[VB_BATCHED], r->free_speedup);
			printf(" %7.3f %7.4f ", r->maps, r->unmaps);
			if (r->list)
				printf("%6lu\n", r->list);
			else
				printf("%6s\n", "-");
		}
	if (o->cases & (1u << VB_FULL_FIT | 1u << VB_LONG_BUSY)) {
		printf("lists: the kernel's long_busy 15000 areas and full_fit %llu pairs "
		       "(lazy_max_pages), at most %lu live\nareas per sample (a quarter of memory",
		       (unsigned long long)c->lazy_max, c->area_budget);
		if (c->max_map_count)
			printf("; vm.max_map_count %lu: 2 mappings an area", c->max_map_count);
		printf(")\n");
	}
	if (res->row[VB_ALIGN_SHIFT][0].valid)
		printf("align_shift_alloc: a cycle is one vmalloc+vfree pair; the series fit %.0f "
		       "(per_page) and %.0f (batched)\npairs before the failing alignment\n",
		       res->row[VB_ALIGN_SHIFT][0].pairs[VB_PER_PAGE],
		       res->row[VB_ALIGN_SHIFT][0].pairs[VB_BATCHED]);
	if (res->row[VB_VMAP_RAM][0].valid)
		printf("vmap_ram frees no pages: its x (%.2f) is the control, what the two instances "
		       "differ by otherwise\n", res->row[VB_VMAP_RAM][0].speedup);
	lines = vb_log_lines(c, &first);
	if (lines)
		printf("note: the library logged %lu lines (align_shift_alloc's failing alignment "
		       "logs one per series);\n  first: %s\n", lines, first ? first : "?");

	printf("\ngoals (issue 11), as measured by this run:\n");
	for (unsigned int ti = 0; ti < o->nr_threads; ti++) {
		const struct vb_row *r = &res->row[VB_VFREE_2MIB][ti];

		if (!r->valid) {
			skipped++;
			continue;
		}
		for (size_t g = 0; g < ARRAY_SIZE(vb_goals); g++) {
			double v = vb_goal_value(r, &vb_goals[g]);

			printf("  %-6s  vfree_2mib, %u thread%s: %-62s %7.2fx\n",
			       v >= vb_goals[g].bound ? "met" : "MISSED", r->threads,
			       r->threads == 1 ? " " : "s", vb_goals[g].what, v);
		}
	}
	if (skipped == o->nr_threads)
		printf("  (the goals need the vfree_2mib case, which this run did not select)\n");
	else
		vb_print_summary(o, res);
}

static void vb_json_row(struct jw *w, const struct vb_row *r)
{
	jw_obj_begin(w, NULL);
	jw_str(w, "case", vb_cases[r->cs].name);
	jw_u64(w, "threads", r->threads);
	jw_u64(w, "iterations", r->iterations);
	jw_double(w, "per_page_ns", r->ns[VB_PER_PAGE].median);
	jw_double(w, "batched_ns", r->ns[VB_BATCHED].median);
	jw_double(w, "speedup", r->speedup);
	jw_double(w, "per_page_min_ns", r->ns[VB_PER_PAGE].min);
	jw_double(w, "per_page_max_ns", r->ns[VB_PER_PAGE].max);
	jw_double(w, "batched_min_ns", r->ns[VB_BATCHED].min);
	jw_double(w, "batched_max_ns", r->ns[VB_BATCHED].max);
	jw_double(w, "vfree_per_page_ns", r->vfree_ns[VB_PER_PAGE]);
	jw_double(w, "vfree_batched_ns", r->vfree_ns[VB_BATCHED]);
	jw_double(w, "vfree_speedup", r->vfree_speedup);
	jw_double(w, "free_step_per_page_ns", r->free_ns[VB_PER_PAGE]);	/* NaN prints as null */
	jw_double(w, "free_step_batched_ns", r->free_ns[VB_BATCHED]);
	jw_double(w, "free_step_speedup", r->free_speedup);
	jw_double(w, "map_calls_per_cycle", r->maps);
	jw_double(w, "unmap_calls_per_cycle", r->unmaps);
	jw_double(w, "purges_per_sample", r->purges);
	if (r->list)
		jw_u64(w, r->cs == VB_LONG_BUSY ? "busy_areas" : "pairs", r->list);
	if (r->cs == VB_ALIGN_SHIFT) {
		jw_double(w, "per_page_pairs_per_series", r->pairs[VB_PER_PAGE]);
		jw_double(w, "batched_pairs_per_series", r->pairs[VB_BATCHED]);
	}
	jw_obj_end(w);
}

static void vb_print_json(const struct vb_ctx *c, const struct vb_results *res)
{
	const struct vb_opts *o = c->o;
	const struct pmm_config *cfg = pmm_get_config(c->cyc[VB_BATCHED]);
	const char *first;
	struct jw w;

	jw_init(&w, stdout);
	jw_obj_begin(&w, NULL);
	jw_str(&w, "bench", "vmalloc");
	jw_arr_begin(&w, "results");
	for (int cs = 0; cs < VB_NR_CASES; cs++)
		for (unsigned int ti = 0; ti < o->nr_threads; ti++)
			if (res->row[cs][ti].valid)
				vb_json_row(&w, &res->row[cs][ti]);
	jw_arr_end(&w);
	jw_arr_begin(&w, "goals");
	for (unsigned int ti = 0; ti < o->nr_threads; ti++) {
		const struct vb_row *r = &res->row[VB_VFREE_2MIB][ti];

		for (size_t g = 0; g < ARRAY_SIZE(vb_goals) && r->valid; g++) {
			double v = vb_goal_value(r, &vb_goals[g]);

			jw_obj_begin(&w, NULL);
			jw_str(&w, "goal", vb_goals[g].what);
			jw_str(&w, "case", vb_cases[VB_VFREE_2MIB].name);
			jw_u64(&w, "threads", r->threads);
			jw_double(&w, "value", v);
			jw_double(&w, "bound", vb_goals[g].bound);
			jw_bool(&w, "met", v >= vb_goals[g].bound);
			jw_obj_end(&w);
		}
	}
	jw_arr_end(&w);
	jw_u64(&w, "samples", o->samples);
	jw_u64(&w, "warmup", VB_WARMUP);
	if (o->iterations)
		jw_u64(&w, "iterations", o->iterations);
	else
		jw_raw(&w, "iterations", "null");	/* calibrated: each row has its own */
	jw_u64(&w, "sample_target_ns", c->target_ns);
	jw_u64(&w, "clock_overhead_ns", c->clock_ns);
	/* The library's own timing of pmm_vfree's page-freeing step, not a model. */
	jw_str(&w, "free_step_model", "vmalloc_times");
	jw_u64(&w, "seed", VB_SEED);
	jw_u64(&w, "max_map_count", c->max_map_count);	/* 0: no limit applied (no backing) */
	jw_u64(&w, "area_budget", c->area_budget);
	jw_u64(&w, "vmalloc_size", cfg->vmalloc_size);
	jw_u64(&w, "vmap_lazy_max", cfg->vmap_lazy_max);
	jw_u64(&w, "log_lines", vb_log_lines(c, &first));
	cli_json_config(&w, c->cyc[VB_BATCHED]);
	jw_obj_end(&w);
	putchar('\n');
}

/* ------------------------------------------------------------------------
 * Command line
 * ------------------------------------------------------------------------ */

enum { VB_JSON, VB_SHORT, VB_CASES, VB_THREADS, VB_SAMPLES, VB_ITERATIONS };

static const struct cli_flag vb_flags[] = {
	{ "json", NULL, VB_JSON, "one line of JSON" },
	{ "short", NULL, VB_SHORT, "pmm report's form: fix_size_alloc and vfree_2mib on 1 thread,\n"
				   "3 samples of ~4 ms (flags given override)" },
	{ "cases", "LIST", VB_CASES, "of fix_size_alloc,full_fit_alloc,long_busy_list_alloc,\n"
				     "random_size_alloc,fix_align_alloc,random_size_align_alloc,\n"
				     "align_shift_alloc,vmap_ram,vfree_2mib (default all)" },
	{ "threads", "LIST", VB_THREADS, "thread counts, e.g. 1,2 (default 1,2)" },
	{ "samples", "N", VB_SAMPLES, "measured rounds after one warm-up (default 7)" },
	{ "iterations", "N", VB_ITERATIONS, "cycles per thread per sample (default: calibrated\n"
					    "to ~10 ms per sample)" },
	{ NULL, NULL, 0, NULL },
};

/* "fix_size_alloc,vfree_2mib" -> a mask of enum vb_case. */
static int vb_arg_cases(const struct cli_arg *a, unsigned int *mask)
{
	const char *p = a->val;

	*mask = 0;
	while (*p) {
		size_t len = strcspn(p, ","), k;

		for (k = 0; k < VB_NR_CASES; k++)
			if (strlen(vb_cases[k].name) == len && !strncmp(vb_cases[k].name, p, len))
				break;
		if (k == VB_NR_CASES)
			return cli_bad_value(a, "a list of the cases --help names");
		*mask |= 1u << k;
		p += len + (p[len] == ',');
	}
	return *mask ? 0 : cli_bad_value(a, "at least one case");
}

/* "1,2" -> thread counts 1..VB_MAX_THREADS, each once. */
static int vb_arg_threads(const struct cli_arg *a, struct vb_opts *o)
{
	const char *p = a->val;

	o->nr_threads = 0;
	for (;;) {
		char *end;
		unsigned long n = strtoul(p, &end, 10);

		if (end == p || n < 1 || n > VB_MAX_THREADS || (*end && *end != ',') ||
		    o->nr_threads == VB_MAX_THREADS)
			return cli_bad_value(a, "a list of thread counts 1..16 such as 1,2");
		for (unsigned int i = 0; i < o->nr_threads; i++)
			if (o->threads[i] == n)
				return cli_bad_value(a, "each thread count once");
		o->threads[o->nr_threads++] = (unsigned int)n;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

static int vb_apply(const struct cli_arg *a, void *ctx)
{
	struct vb_opts *o = ctx;

	switch (a->flag->id) {
	case VB_JSON:
		o->json = true;
		return 0;
	case VB_SHORT:
		o->short_form = true;
		return 0;
	case VB_CASES:
		o->cases_set = true;
		return vb_arg_cases(a, &o->cases);
	case VB_THREADS:
		o->threads_set = true;
		return vb_arg_threads(a, o);
	case VB_SAMPLES:
		o->samples_set = true;
		return cli_arg_uint(a, 1, VB_MAX_SAMPLES, &o->samples);
	case VB_ITERATIONS:
		return cli_arg_ulong(a, 1, VB_MAX_ITERS, &o->iterations);
	}
	return -1;
}

static const struct cli_cmd vb_cmd = {
	.name = "bench vmalloc",
	.help = "usage: pmm bench vmalloc [--json] [--short] [--cases LIST] [--threads LIST]\n"
		"                         [--samples N] [--iterations N] [instance flags]\n"
		"  The kernel's lib/test_vmalloc.c cases (and a 2 MiB vmalloc+vfree), each on\n"
		"  every --threads count (threads looping on one instance), pmm_vfree per page\n"
		"  (contig_per_page) vs batched (pmm_free_pages_bulk) interleaved in one\n"
		"  process: ns per vmalloc+vfree cycle (medians, min/max), pmm_vfree alone and\n"
		"  its page-freeing step (pmm_vmalloc_stats.free_step_ns), mmap/unmap calls.\n"
		"  The instance defaults to --mem 512M with memfd backing (real mappings);\n"
		"  instance flags given override that (--contig-per-page is ignored: the\n"
		"  benchmark runs both).\n",
	.flags = vb_flags,
	.apply = vb_apply,
};

/* The defaults --short and the full run differ in, for what no flag set. */
static void vb_defaults(struct vb_opts *o)
{
	if (!o->cases_set)
		o->cases = o->short_form ? (1u << VB_FIX_SIZE | 1u << VB_VFREE_2MIB) :
			   (1u << VB_NR_CASES) - 1;
	if (!o->threads_set) {
		o->threads[0] = 1;
		o->threads[1] = 2;
		o->nr_threads = o->short_form ? 1 : 2;
	}
	if (!o->samples_set)
		o->samples = o->short_form ? 3 : 7;
}

/**
 * vb_parse - cli_parse() with the benchmark's instance default in front of
 * the user's flags (a later flag wins, so any instance flag given overrides it).
 * Return: CLI_RUN, or an exit code as cli_parse().
 */
static int vb_parse(int argc, char **argv, struct pmm_config *cfg, struct vb_opts *o)
{
	char mem[] = VB_DEFAULT_MEM_FLAG;
	char **args = calloc((size_t)argc + 2, sizeof(*args));
	int ret;

	if (!args) {
		fprintf(stderr, "pmm bench vmalloc: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	args[0] = argv[0];
	args[1] = mem;
	memcpy(&args[2], &argv[1], (size_t)(argc - 1) * sizeof(*args));
	ret = cli_parse(&vb_cmd, argc + 1, args, cfg, o);
	free(args);
	return ret;
}

/* ------------------------------------------------------------------------
 * The run
 * ------------------------------------------------------------------------ */

static void vb_log_fn(void *arg, const char *line)
{
	struct vb_log *l = arg;
	bool no = false;

	atomic_fetch_add(&l->lines, 1);
	if (atomic_compare_exchange_strong(&l->have_first, &no, true)) {
		strncpy(l->first, line, sizeof(l->first) - 1);
		l->first[sizeof(l->first) - 1] = '\0';
	}
}

/* The process's mapping limit and its mappings now; 0 when unknown. */
static unsigned long vb_read_max_map_count(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	unsigned long n = 0;

	if (!f)
		return VB_DEFAULT_MAX_MAP_COUNT;
	if (fscanf(f, "%lu", &n) != 1)
		n = VB_DEFAULT_MAX_MAP_COUNT;
	fclose(f);
	return n;
}

static unsigned long vb_count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long n = 0;
	int ch;

	if (!f)
		return 0;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

/*
 * The live areas a sample's threads may keep: with memfd backing each
 * mapped area is a mapping plus the hole of its guard page, and besides the
 * process's mappings now (the instances' included) the lazily freed areas
 * keep theirs until a purge: at most vmap_lazy_max pages, so
 * vmap_lazy_max / 2 areas of a page and its guard, two mappings each.
 * Return: 0 after a message when nothing is left.
 */
static unsigned long vb_area_budget(struct vb_ctx *c)
{
	/* At most a quarter of memory in 1-page areas (a frame each: the array lives in the area). */
	unsigned long mem = (unsigned long)(pmm_managed_frames(c->cyc[VB_BATCHED]) / 4), used;

	c->max_map_count = 0;
	if (!c->write)		/* no backing: no mappings at all */
		return mem;
	c->max_map_count = vb_read_max_map_count();
	used = vb_count_maps() + (unsigned long)c->lazy_max + VB_MAP_SLACK;
	if (c->max_map_count <= used + 1024) {
		fprintf(stderr, "pmm bench vmalloc: vm.max_map_count %lu leaves no room for the "
			"busy lists\n", c->max_map_count);
		return 0;
	}
	return vb_min(mem, (c->max_map_count - used) / 2);
}

/* The CPUs this process may run on, for pinning one thread to each. */
static void vb_cpus(struct vb_ctx *c)
{
	cpu_set_t set;

	c->nr_cpus = 0;
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (int cpu = 0; cpu < CPU_SETSIZE && c->nr_cpus < VB_MAX_THREADS; cpu++)
		if (CPU_ISSET(cpu, &set))
			c->cpus[c->nr_cpus++] = cpu;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23	/* Linux 5.14 */
#endif

/* Write-fault every page of [@addr, +@bytes): one madvise, else a byte a page. */
static void vb_prefault(unsigned char *addr, size_t bytes, size_t page)
{
	if (!madvise(addr, bytes, MADV_POPULATE_WRITE))
		return;
	for (size_t off = 0; off < bytes; off += page)
		addr[off] = 0;
}

/**
 * vb_populate - give every frame of @pmm's memfd its page now.
 *
 * The kernel allocates and clears a memfd page at its first write, which
 * a kernel's vmalloc never pays (its memory exists): left to the samples,
 * that cost (~3 us a page here) lands on whichever variant first reuses a
 * frame no one wrote yet, and the variants' reuse orders differ (per page
 * spreads over more frames). So every block the instance hands out is
 * written once through its direct map while allocated, then freed.
 */
static void vb_populate(pmm_t *pmm, size_t page)
{
	unsigned int max_order = pmm_get_config(pmm)->max_order;
	struct pmm_page **blocks = NULL;
	unsigned char *orders = NULL;
	size_t nr = 0, cap = 0;

	for (int order = (int)max_order; order >= 0; order--) {
		struct pmm_page *b;

		while ((b = pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN,
					    (unsigned int)order))) {
			size_t n = (size_t)1 << order;
			pmm_pfn_t pfn = pmm_page_to_pfn(pmm, b);
			unsigned char *first = pmm_page_address(pmm, b);
			unsigned char *last = pmm_page_address(pmm, pmm_pfn_to_page(pmm, pfn + n - 1));

			if (nr == cap) {
				size_t ncap = cap ? 2 * cap : 1024;
				struct pmm_page **nb = realloc(blocks, ncap * sizeof(*blocks));
				unsigned char *no = nb ? realloc(orders, ncap) : NULL;

				if (nb)
					blocks = nb;
				if (!no) {
					pmm_free_pages(pmm, b, (unsigned int)order);
					goto out;
				}
				orders = no;
				cap = ncap;
			}
			blocks[nr] = b;
			orders[nr++] = (unsigned char)order;
			if (first && last == first + (n - 1) * page)
				vb_prefault(first, n * page, page);
			else
				for (size_t i = 0; i < n; i++)
					vb_prefault(pmm_page_address(pmm, pmm_pfn_to_page(pmm, pfn + i)),
						    page, page);
		}
	}
out:
	for (size_t i = 0; i < nr; i++)
		pmm_free_pages(pmm, blocks[i], orders[i]);
	free(blocks);
	free(orders);
	pmm_drain_all_pages(pmm);
}

static int vb_create(struct vb_ctx *c, const struct pmm_config *cfg)
{
	for (int k = 0; k < 2; k++)
		for (int v = 0; v < VB_NR_VARIANTS; v++) {
			struct pmm_config ic = *cfg;
			pmm_t *pmm;

			ic.contig_per_page = v == VB_PER_PAGE;
			ic.vmalloc_times = k == 1;
			ic.log_fn = vb_log_fn;
			ic.log_arg = &c->log[k][v];
			pmm = cli_create(&ic, "bench vmalloc");
			if (!pmm)
				return -1;
			if (k)
				c->phase[v] = pmm;
			else
				c->cyc[v] = pmm;
		}
	return 0;
}

static int vb_main(int argc, char **argv, bool short_form)
{
	struct vb_opts o = { .short_form = short_form };
	struct vb_ctx c = { .o = &o };
	struct vb_results *res = NULL;
	struct cli_progress prog;
	struct pmm_config cfg;
	int ret = CLI_EXIT_FAIL, parsed;

	parsed = vb_parse(argc, argv, &cfg, &o);
	if (parsed != CLI_RUN)
		return parsed;
	vb_defaults(&o);
	if (cfg.backing != PMM_BACKING_MEMFD && cfg.backing != PMM_BACKING_NONE) {
		fprintf(stderr, "pmm bench vmalloc: --backing %s cannot map areas (memfd or none)\n",
			cli_backing_name(cfg.backing));
		return CLI_EXIT_USAGE;
	}
	cli_progress_begin(&prog);
	c.prog = &prog;
	res = calloc(1, sizeof(*res));
	if (!res || vb_create(&c, &cfg))
		goto out;
	c.page = pmm_page_size(c.cyc[VB_BATCHED]);
	c.page_shift = (unsigned int)__builtin_ctzl(c.page);
	c.write = cfg.backing == PMM_BACKING_MEMFD;
	c.lazy_max = pmm_get_config(c.cyc[VB_BATCHED])->vmap_lazy_max;
	c.target_ns = o.short_form ? VB_SHORT_TARGET_NS : VB_TARGET_NS;
	/* The phase samples time only pmm_vfree, which never writes a fresh page. */
	if (c.write) {
		cli_progress(&prog, "bench vmalloc: writing the instances' memory once");
		for (int v = 0; v < VB_NR_VARIANTS; v++)
			vb_populate(c.cyc[v], c.page);
	}
	c.clock_ns = bench_clock_overhead();
	c.area_budget = vb_area_budget(&c);
	if (!c.area_budget)
		goto out;
	vb_cpus(&c);
	if (!o.json) {
		cli_print_config(stdout, c.cyc[VB_BATCHED]);
		printf("test_vmalloc cases, pmm_vfree per page vs batched, interleaved in a rotating "
		       "order; median of %u samples\nafter %u warm-up, ~%llu ms each; ns per cycle per "
		       "thread (the lazy areas' final purge included);\nx = per_page / batched "
		       "(median of per-round ratios); free step from vmalloc_times; clock overhead "
		       "%llu ns subtracted\n", o.samples, VB_WARMUP,
		       (unsigned long long)(c.target_ns / 1000000), (unsigned long long)c.clock_ns);
	}
	for (int cs = 0; cs < VB_NR_CASES; cs++) {
		if (!(o.cases & (1u << cs)))
			continue;
		for (unsigned int ti = 0; ti < o.nr_threads; ti++)
			if (vb_measure(&c, (enum vb_case)cs, o.threads[ti], &res->row[cs][ti]))
				goto out;
	}
	cli_progress_end(&prog);
	if (o.json)
		vb_print_json(&c, res);
	else
		vb_print_text(&c, res);
	ret = CLI_EXIT_OK;
out:
	cli_progress_end(&prog);
	for (int v = 0; v < VB_NR_VARIANTS; v++) {
		pmm_destroy(c.cyc[v]);
		pmm_destroy(c.phase[v]);
	}
	free(res);
	return ret;
}

int bench_vmalloc(int argc, char **argv)
{
	return vb_main(argc, argv, false);
}

int bench_vmalloc_short(int argc, char **argv)
{
	return vb_main(argc, argv, true);
}
