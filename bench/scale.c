/* SPDX-License-Identifier: MIT */
/*
 * scale.c - `pmm bench scale`: throughput from 1 thread to every CPU and
 * past it (issue 13).
 *
 * Thread counts 1..N and 2N (N = CPUs online; --threads overrides), each
 * thread pinned to CPU i mod N of the ones this process may use, so up to
 * N every thread has a CPU and its pcp lists to itself, and at 2N two
 * threads share each. Cases:
 *   pair0   order-0 alloc+free pairs
 *   cross0  order-0 pages allocated by thread i and freed by thread i+1
 *           (mod T): each thread pushes every page it allocates onto a
 *           single-producer single-consumer ring to its successor, and
 *           every 32 pages frees all that its predecessor's ring holds;
 *           with one thread the ring is its own. A thread whose ring is
 *           full frees from its own incoming ring until the push fits, so
 *           no cycle of full rings can stall.
 *   cross0_ring  cross0's floor: the same loop and rings, each thread
 *           pushing one page allocated beforehand over and over and
 *           dropping what it pops, with no allocation or free: what the
 *           rings alone cost (the CPUs exchanging their cache lines).
 *   pair9   order-9 alloc+free pairs (pageblock order: the pcp serves it)
 *   pair0_solo  pair0 with every thread on an instance of its own: nothing
 *           of the library is shared between the threads, so its scaling
 *           is what the CPUs give this code (pair0's ceiling: on a VM,
 *           how much of a second vCPU the host gives), and pair0's
 *           scaling against it is what sharing one instance costs.
 * An op is one page (block) allocated and freed. Every (round, case,
 * thread count) runs on a fresh instance (pair0_solo: one per thread; the
 * default config: nr_cpus = CPUs online, so the pcp lists are per CPU;
 * instance flags given apply),
 * for --seconds: the threads warm up (1000 pairs each), start together, and
 * stop when the main thread says so; a thread's time is from the common
 * start to its own stop, the run's from the first start to the last stop.
 * cross0's pages still in the rings at the stop are freed after it,
 * untimed. Reported per case and thread count: ops per second (median over
 * --rounds, min, max), the scaling factor against 1 thread (median over
 * rounds of the per-round ratio), and the library's contention counters
 * from pmm_stats_get() per million ops (summed over the rounds):
 * pcp_lock_miss (a pcp trylock that failed, so the call took the zone
 * path) and zone_lock_wait (a zone lock acquisition that had to wait),
 * summed over the run's instances.
 *
 * Everything here is the public API (include/pmm.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* pthread_setaffinity_np(), CPU_SET */
#endif

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define SC_MAX_THREADS 256
#define SC_MAX_COUNTS 32		/* thread counts in one run */
#define SC_RING 256			/* pages per ring: a power of 2 */
#define SC_CROSS_BATCH 32		/* cross0 frees its incoming pages every this many ops */
#define SC_WARMUP_PAIRS 1000
#define SC_CACHELINE 64

enum sc_case { SC_PAIR0, SC_CROSS0, SC_CROSS0_RING, SC_PAIR9, SC_PAIR0_SOLO, SC_NR_CASES };

static const struct {
	const char *name;	/* JSON "case" and --cases */
	unsigned int order;
} sc_cases[SC_NR_CASES] = {
	[SC_PAIR0] = { "pair0", 0 },
	[SC_CROSS0] = { "cross0", 0 },
	[SC_CROSS0_RING] = { "cross0_ring", 0 },
	[SC_PAIR9] = { "pair9", 9 },
	[SC_PAIR0_SOLO] = { "pair0_solo", 0 },
};

struct sc_opts {
	bool json;
	double seconds;
	unsigned int rounds;
	unsigned int cases;			/* bit per enum sc_case */
	unsigned int threads[SC_MAX_COUNTS];	/* thread counts, as given */
	unsigned int nr_counts;
};

/* ------------------------------------------------------------------------
 * The SPSC ring: one producer (thread i), one consumer (thread i+1)
 * ------------------------------------------------------------------------ */

/*
 * The producer owns tail, the consumer head; each publishes with a release
 * store what the other reads with an acquire load, so a slot's contents
 * are visible before its index is. Full when tail - head == SC_RING. Each
 * side keeps the last value it read of the other's index and reads it
 * again only when that copy says full (or empty), so the index lines move
 * between the CPUs once per batch, not per page: the figure is the
 * allocator's cross-CPU cost (the pages' metadata, the pcp lists, the zone
 * lock), not the ring's.
 */
struct sc_ring {
	_Alignas(SC_CACHELINE) atomic_size_t head;	/* next slot to pop */
	size_t tail_seen;				/* the consumer's copy of tail */
	_Alignas(SC_CACHELINE) atomic_size_t tail;	/* next slot to push */
	size_t head_seen;				/* the producer's copy of head */
	_Alignas(SC_CACHELINE) struct pmm_page *slot[SC_RING];
};

static bool sc_ring_push(struct sc_ring *r, struct pmm_page *page)
{
	size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);

	if (t - r->head_seen == SC_RING) {
		r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
		if (t - r->head_seen == SC_RING)
			return false;
	}
	r->slot[t & (SC_RING - 1)] = page;
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return true;
}

static struct pmm_page *sc_ring_pop(struct sc_ring *r)
{
	size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	struct pmm_page *page;

	if (h == r->tail_seen) {
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (h == r->tail_seen)
			return NULL;
	}
	page = r->slot[h & (SC_RING - 1)];
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return page;
}

/* ------------------------------------------------------------------------
 * One run: a case on T threads for --seconds
 * ------------------------------------------------------------------------ */

struct sc_run {
	enum sc_case cs;
	unsigned int nr_threads;
	atomic_uint ready;		/* threads warmed up and at the start line */
	atomic_bool go;			/* the start */
	atomic_bool stop;		/* the end */
	atomic_bool failed;
	struct sc_ring *rings;		/* cross0: ring i from thread i to i+1 */
	atomic_bool *done;		/* cross0: thread i pushes no more */
};

struct sc_thread {
	struct sc_run *run;
	pmm_t *pmm;			/* the run's instance, or pair0_solo's own */
	unsigned int idx;
	int cpu;			/* -1: unpinned */
	uint64_t t0, t1;		/* from the start to this thread's stop */
	uint64_t ops;			/* pages allocated (and freed) before the stop */
};

static bool sc_stopped(struct sc_run *run, uint64_t n)
{
	/* Every 16 ops: the flag's line stays shared, one load in 16. */
	return !(n & 15) && atomic_load_explicit(&run->stop, memory_order_relaxed);
}

static void sc_fail(struct sc_run *run, const char *what)
{
	if (!atomic_exchange(&run->failed, true))
		fprintf(stderr, "bench scale: %s: %s allocation failed\n",
			sc_cases[run->cs].name, what);
	atomic_store(&run->stop, true);
}

static void sc_pairs(struct sc_thread *t)
{
	struct sc_run *run = t->run;
	unsigned int order = sc_cases[run->cs].order;
	uint64_t n = 0;

	while (!sc_stopped(run, n)) {
		struct pmm_page *page = pmm_alloc_pages(t->pmm, PMM_GFP_KERNEL, order);

		if (!page) {
			sc_fail(run, "pair");
			break;
		}
		pmm_free_pages(t->pmm, page, order);
		n++;
	}
	t->t1 = cli_now_ns();
	t->ops = n;
}

/* Free what the predecessor pushed (cross0_ring: drop it); Return: how many. */
static unsigned int sc_drain(struct sc_thread *t, struct sc_ring *in, unsigned int most)
{
	struct pmm_page *page;
	unsigned int n = 0;

	while (n < most && (page = sc_ring_pop(in))) {
		if (t->run->cs == SC_CROSS0)
			pmm_free_pages(t->pmm, page, 0);
		n++;
	}
	return n;
}

static void sc_cross(struct sc_thread *t)
{
	struct sc_run *run = t->run;
	unsigned int pred = (t->idx + run->nr_threads - 1) % run->nr_threads;
	struct sc_ring *out = &run->rings[t->idx], *in = &run->rings[pred];
	bool ring_only = run->cs == SC_CROSS0_RING;
	struct pmm_page *own = ring_only ? pmm_alloc_pages(t->pmm, PMM_GFP_KERNEL, 0) : NULL;
	uint64_t n = 0;

	while (!sc_stopped(run, n) && (own || !ring_only)) {
		struct pmm_page *page = own ? own : pmm_alloc_pages(t->pmm, PMM_GFP_KERNEL, 0);

		if (!page) {
			sc_fail(run, "cross");
			break;
		}
		/* Full: the successor is behind; free our own incoming meanwhile. */
		while (!sc_ring_push(out, page))
			if (!sc_drain(t, in, SC_RING))
				sched_yield();
		if (!(++n % SC_CROSS_BATCH))
			sc_drain(t, in, SC_RING);
	}
	t->t1 = cli_now_ns();
	t->ops = n;
	/* Untimed: free what the predecessor pushed until it pushes no more. */
	atomic_store_explicit(&run->done[t->idx], true, memory_order_release);
	for (;;) {
		bool pred_done = atomic_load_explicit(&run->done[pred], memory_order_acquire);

		sc_drain(t, in, SC_RING);
		if (pred_done && !sc_drain(t, in, SC_RING))
			break;
		sched_yield();
	}
	if (ring_only && !own)
		sc_fail(run, "cross0_ring");
	pmm_free_pages(t->pmm, own, 0);	/* NULL is ignored */
}

static void *sc_thread_main(void *arg)
{
	struct sc_thread *t = arg;
	struct sc_run *run = t->run;
	unsigned int order = sc_cases[run->cs].order;

	if (t->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(t->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	for (int i = 0; i < SC_WARMUP_PAIRS; i++) {
		struct pmm_page *page = pmm_alloc_pages(t->pmm, PMM_GFP_KERNEL, order);

		if (!page) {
			sc_fail(run, "warm-up");
			break;
		}
		pmm_free_pages(t->pmm, page, order);
	}
	atomic_fetch_add(&run->ready, 1);
	while (!atomic_load(&run->go))
		sched_yield();
	t->t0 = cli_now_ns();
	if (run->cs == SC_CROSS0 || run->cs == SC_CROSS0_RING)
		sc_cross(t);
	else
		sc_pairs(t);
	return NULL;
}

/* One run's result. */
struct sc_sample {
	double ops_per_s;
	uint64_t ops;
	uint64_t pcp_lock_miss, zone_lock_wait;	/* deltas over the run */
};

static void sc_sleep(double seconds)
{
	struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* The contention counters summed over @nr instances. */
static void sc_stats(pmm_t *const *pmms, unsigned int nr, uint64_t *miss, uint64_t *wait)
{
	*miss = *wait = 0;
	for (unsigned int i = 0; i < nr; i++) {
		struct pmm_stats st;

		pmm_stats_get(pmms[i], &st);
		*miss += st.pcp_lock_miss;
		*wait += st.zone_lock_wait;
	}
}

/*
 * Run @cs on @nr threads for @seconds on a fresh instance of @cfg (one per
 * thread for pair0_solo).
 * Return: 0, or -1 after a message.
 */
static int sc_run_one(const struct pmm_config *cfg, enum sc_case cs, unsigned int nr,
		      const int *cpus, unsigned int nr_cpus, double seconds, struct sc_sample *out)
{
	struct sc_thread *t = calloc(nr, sizeof(*t));
	pthread_t *tid = calloc(nr, sizeof(*tid));
	unsigned int nr_pmms = cs == SC_PAIR0_SOLO ? nr : 1, created = 0;
	pmm_t **pmms = calloc(nr_pmms, sizeof(*pmms));
	struct sc_run run;
	uint64_t miss0 = 0, wait0 = 0, miss1, wait1;
	uint64_t t0 = UINT64_MAX, t1 = 0, ops = 0;
	unsigned int started = 0;
	int ret = -1;

	memset(&run, 0, sizeof(run));
	run.cs = cs;
	run.nr_threads = nr;
	atomic_init(&run.ready, 0);
	atomic_init(&run.go, false);
	atomic_init(&run.stop, false);
	atomic_init(&run.failed, false);
	if (cs == SC_CROSS0 || cs == SC_CROSS0_RING) {
		run.rings = aligned_alloc(SC_CACHELINE, nr * sizeof(*run.rings));
		run.done = calloc(nr, sizeof(*run.done));
		if (run.rings)
			for (unsigned int i = 0; i < nr; i++) {
				atomic_init(&run.rings[i].head, 0);
				atomic_init(&run.rings[i].tail, 0);
				run.rings[i].tail_seen = 0;
				run.rings[i].head_seen = 0;
			}
		if (run.done)
			for (unsigned int i = 0; i < nr; i++)
				atomic_init(&run.done[i], false);
	}
	if (!t || !tid || !pmms ||
	    ((cs == SC_CROSS0 || cs == SC_CROSS0_RING) && (!run.rings || !run.done))) {
		fprintf(stderr, "bench scale: out of memory\n");
		goto out;
	}
	for (; created < nr_pmms; created++) {
		pmms[created] = cli_create(cfg, "bench scale");
		if (!pmms[created])
			goto out;
	}
	for (; started < nr; started++) {
		t[started] = (struct sc_thread){ &run, pmms[started % nr_pmms], started,
						 nr_cpus ? cpus[started % nr_cpus] : -1, 0, 0, 0 };
		if (pthread_create(&tid[started], NULL, sc_thread_main, &t[started])) {
			fprintf(stderr, "bench scale: cannot start thread %u\n", started);
			atomic_store(&run.failed, true);
			break;
		}
	}
	if (started == nr) {
		while (atomic_load(&run.ready) < nr)
			sched_yield();
		sc_stats(pmms, nr_pmms, &miss0, &wait0);
		atomic_store(&run.go, true);
		sc_sleep(seconds);
	} else {
		/* Those started wait at the start line: let them go, and stop. */
		atomic_store(&run.go, true);
	}
	atomic_store(&run.stop, true);
	for (unsigned int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	if (!atomic_load(&run.failed)) {
		sc_stats(pmms, nr_pmms, &miss1, &wait1);
		for (unsigned int i = 0; i < nr; i++) {
			t0 = t[i].t0 < t0 ? t[i].t0 : t0;
			t1 = t[i].t1 > t1 ? t[i].t1 : t1;
			ops += t[i].ops;
		}
		out->ops = ops;
		out->ops_per_s = (double)ops * 1e9 / (double)(t1 - t0);
		out->pcp_lock_miss = miss1 - miss0;
		out->zone_lock_wait = wait1 - wait0;
		ret = 0;
	}
	/* Every page came back (cross0's rings drained): the pcp lists drained,
	 * the zones count them all free again. */
	for (unsigned int i = 0; i < nr_pmms; i++) {
		pmm_drain_all_pages(pmms[i]);
		if (ret == 0 && pmm_free_frames(pmms[i]) + pmm_leaked_frames(pmms[i]) !=
				pmm_managed_frames(pmms[i])) {
			fprintf(stderr, "bench scale: %s on %u threads lost frames\n",
				sc_cases[cs].name, nr);
			ret = -1;
		}
	}
out:
	for (unsigned int i = 0; i < created; i++)
		pmm_destroy(pmms[i]);
	free(pmms);
	free(run.rings);
	free(run.done);
	free(tid);
	free(t);
	return ret;
}

/* ------------------------------------------------------------------------
 * Flags
 * ------------------------------------------------------------------------ */

enum { SC_JSON, SC_SECONDS, SC_ROUNDS, SC_CASES, SC_THREADS };

static const struct cli_flag sc_flags[] = {
	{ "json", NULL, SC_JSON, "one line of JSON" },
	{ "seconds", "S", SC_SECONDS, "each run's time, may be fractional (default 0.5)" },
	{ "rounds", "N", SC_ROUNDS, "rounds of every case and thread count (default 5)" },
	{ "cases", "LIST", SC_CASES, "of pair0,cross0,cross0_ring,pair9,pair0_solo (default all)" },
	{ "threads", "LIST", SC_THREADS, "thread counts, e.g. 1,2,4 (default 1..CPUs, 2 x CPUs)" },
	{ NULL, NULL, 0, NULL },
};

static int sc_apply(const struct cli_arg *a, void *ctx)
{
	struct sc_opts *o = ctx;
	const char *p = a->val;
	char *end;

	switch (a->flag->id) {
	case SC_JSON:
		o->json = true;
		return 0;
	case SC_SECONDS:
		o->seconds = strtod(a->val, &end);
		if (*end || !(o->seconds > 0 && o->seconds <= 3600))
			return cli_bad_value(a, "seconds, more than 0 and at most 3600");
		return 0;
	case SC_ROUNDS:
		return cli_arg_uint(a, 1, BENCH_MAX_SAMPLES, &o->rounds);
	case SC_CASES:
		o->cases = 0;
		while (*p) {
			size_t len = strcspn(p, ","), k;

			for (k = 0; k < SC_NR_CASES; k++)
				if (strlen(sc_cases[k].name) == len && !strncmp(sc_cases[k].name, p, len))
					break;
			if (k == SC_NR_CASES)
				return cli_bad_value(a, "a list of pair0, cross0, cross0_ring, pair9, "
							"pair0_solo");
			o->cases |= 1u << k;
			p += len + (p[len] == ',');
		}
		return o->cases ? 0 : cli_bad_value(a, "at least one case");
	case SC_THREADS:
		o->nr_counts = 0;
		while (*p) {
			unsigned long n;

			errno = 0;
			n = strtoul(p, &end, 10);
			if (errno || end == p || (*end && *end != ',') || n < 1 ||
			    n > SC_MAX_THREADS || o->nr_counts == SC_MAX_COUNTS)
				return cli_bad_value(a, "a list of thread counts 1..256, at most 32");
			o->threads[o->nr_counts++] = (unsigned int)n;
			p = end + (*end == ',');
		}
		return o->nr_counts ? 0 : cli_bad_value(a, "at least one thread count");
	}
	return -1;
}

static const struct cli_cmd sc_cmd = {
	.name = "bench scale",
	.help = "usage: pmm bench scale [--json] [--seconds S] [--rounds N] [--cases LIST]\n"
		"                       [--threads LIST] [instance flags]\n"
		"Throughput on 1..N threads and 2N (N = CPUs online), each pinned to CPU i mod N,\n"
		"on a fresh default instance per run (pcp lists per CPU): pair0 (order-0\n"
		"alloc+free pairs), cross0 (order-0 pages freed by the next thread, through a\n"
		"ring per pair of threads), cross0_ring (its rings alone, no allocation: the\n"
		"floor), pair9 (order-9 pairs), pair0_solo (pair0 with an instance per thread:\n"
		"what the CPUs give when nothing is shared). Per case and thread count: ops/s\n"
		"(an op: one block allocated and freed; median over rounds), the scaling\n"
		"against 1 thread, and pcp_lock_miss and zone_lock_wait per million ops.\n",
	.flags = sc_flags,
	.apply = sc_apply,
};

/* ------------------------------------------------------------------------
 * Entry point and output
 * ------------------------------------------------------------------------ */

/* Per case and thread count, over the rounds. */
struct sc_cell {
	double ops_per_s[BENCH_MAX_SAMPLES];
	uint64_t ops, pcp_lock_miss, zone_lock_wait;	/* summed over rounds */
};

struct sc_result {
	struct bench_stat st;
	double scaling;		/* median of per-round ratios to 1 thread; NaN: no 1 */
	double miss_per_mop, wait_per_mop;
};

static struct sc_result sc_result(const struct sc_opts *o, struct sc_cell *cells, int cs,
				  unsigned int ti)
{
	struct sc_cell *c = &cells[cs * SC_MAX_COUNTS + ti];
	struct sc_result r;
	double mops = (double)c->ops / 1e6;

	r.st = bench_summary(c->ops_per_s, o->rounds);
	r.scaling = NAN;
	for (unsigned int j = 0; j < o->nr_counts; j++)
		if (o->threads[j] == 1)
			r.scaling = bench_ratio(c->ops_per_s,
						cells[cs * SC_MAX_COUNTS + j].ops_per_s, o->rounds);
	r.miss_per_mop = mops > 0 ? (double)c->pcp_lock_miss / mops : NAN;
	r.wait_per_mop = mops > 0 ? (double)c->zone_lock_wait / mops : NAN;
	return r;
}

static void sc_print(const struct sc_opts *o, struct sc_cell *cells, pmm_t *pmm, long online)
{
	struct jw w;

	if (!o->json) {
		printf("scale: ops/s (an op = one block allocated and freed), median of %u round%s "
		       "of %.2f s, fresh instance per run; %ld CPUs online\n", o->rounds,
		       o->rounds == 1 ? "" : "s", o->seconds, online);
		cli_print_config(stdout, pmm);
		printf("%-11s %7s %14s %14s %14s %8s %14s %15s\n", "case", "threads", "ops/s", "min",
		       "max", "scaling", "pcp_miss/Mop", "zone_wait/Mop");
	} else {
		jw_init(&w, stdout);
		jw_obj_begin(&w, NULL);
		jw_str(&w, "bench", "scale");
		jw_arr_begin(&w, "results");
	}
	for (int cs = 0; cs < SC_NR_CASES; cs++) {
		if (!(o->cases & (1u << cs)))
			continue;
		for (unsigned int ti = 0; ti < o->nr_counts; ti++) {
			struct sc_result r = sc_result(o, cells, cs, ti);

			if (!o->json) {
				printf("%-11s %7u %14.0f %14.0f %14.0f %8.2f %14.1f %15.1f\n",
				       sc_cases[cs].name, o->threads[ti], r.st.median, r.st.min,
				       r.st.max, r.scaling, r.miss_per_mop, r.wait_per_mop);
				continue;
			}
			jw_obj_begin(&w, NULL);
			jw_str(&w, "case", sc_cases[cs].name);
			jw_u64(&w, "threads", o->threads[ti]);
			jw_double(&w, "ops_per_s", r.st.median);
			jw_double(&w, "min", r.st.min);
			jw_double(&w, "max", r.st.max);
			jw_double(&w, "scaling", r.scaling);
			jw_double(&w, "pcp_lock_miss", r.miss_per_mop);
			jw_double(&w, "zone_lock_wait", r.wait_per_mop);
			jw_obj_end(&w);
		}
	}
	if (!o->json) {
		printf("pcp_miss, zone_wait: pcp_lock_miss and zone_lock_wait per million ops; "
		       "threads past %ld share CPUs\n", online);
		return;
	}
	jw_arr_end(&w);
	jw_str(&w, "counters", "per million ops");
	jw_double(&w, "seconds", o->seconds);
	jw_u64(&w, "rounds", o->rounds);
	jw_i64(&w, "cpus_online", online);
	cli_json_config(&w, pmm);
	jw_obj_end(&w);
	fputc('\n', stdout);
}

int bench_scale(int argc, char **argv)
{
	struct sc_opts o = { .seconds = 0.5, .rounds = 5, .cases = (1u << SC_NR_CASES) - 1 };
	int cpus[SC_MAX_THREADS];
	unsigned int nr_cpus = 0;
	struct cli_progress prog;
	struct pmm_config cfg;
	struct sc_cell *cells;
	pmm_t *probe;
	cpu_set_t set;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int parsed, ret = CLI_EXIT_FAIL;

	parsed = cli_parse(&sc_cmd, argc, argv, &cfg, &o);
	if (parsed != CLI_RUN)
		return parsed;
	if (online < 1)
		online = 1;
	if (!o.nr_counts) {
		long top = online < SC_MAX_THREADS / 2 ? online : SC_MAX_THREADS / 2;

		for (long n = 1; n <= top && o.nr_counts < SC_MAX_COUNTS - 1; n++)
			o.threads[o.nr_counts++] = (unsigned int)n;
		o.threads[o.nr_counts++] = (unsigned int)(2 * top);
	}
	if (!sched_getaffinity(0, sizeof(set), &set))
		for (int cpu = 0; cpu < CPU_SETSIZE && nr_cpus < SC_MAX_THREADS; cpu++)
			if (CPU_ISSET(cpu, &set))
				cpus[nr_cpus++] = cpu;
	cells = calloc(SC_NR_CASES * SC_MAX_COUNTS, sizeof(*cells));
	if (!cells) {
		fprintf(stderr, "pmm bench scale: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	/* The configuration once, before any run: a bad one fails here. */
	probe = cli_create(&cfg, "bench scale");
	if (!probe)
		goto out;

	cli_progress_begin(&prog);
	for (unsigned int r = 0; r < o.rounds; r++)
		for (int cs = 0; cs < SC_NR_CASES; cs++) {
			if (!(o.cases & (1u << cs)))
				continue;
			for (unsigned int ti = 0; ti < o.nr_counts; ti++) {
				struct sc_cell *c = &cells[cs * SC_MAX_COUNTS + ti];
				struct sc_sample s = { 0, 0, 0, 0 };

				cli_progress(&prog, "bench scale: round %u/%u, %s, %u threads (%.0f s)",
					     r + 1, o.rounds, sc_cases[cs].name, o.threads[ti],
					     cli_progress_seconds(&prog));
				if (sc_run_one(&cfg, (enum sc_case)cs, o.threads[ti], cpus, nr_cpus,
					       o.seconds, &s)) {
					cli_progress_end(&prog);
					goto out;
				}
				c->ops_per_s[r] = s.ops_per_s;
				c->ops += s.ops;
				c->pcp_lock_miss += s.pcp_lock_miss;
				c->zone_lock_wait += s.zone_lock_wait;
			}
		}
	cli_progress_end(&prog);
	sc_print(&o, cells, probe, online);
	ret = CLI_EXIT_OK;
out:
	pmm_destroy(probe);
	free(cells);
	return ret;
}

int bench_scale_short(int argc, char **argv)
{
	static const char *const extra[] = { "--seconds", "0.2", "--rounds", "1",
					     "--cases", "pair0,pair9,pair0_solo" };

	return bench_with_args(bench_scale, argc, argv, extra, (int)ARRAY_SIZE(extra));
}
