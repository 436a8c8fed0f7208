/* SPDX-License-Identifier: MIT */
/*
 * teardown.c - `pmm bench teardown`: the 2023 mmu_gather ranges beside
 * mainline's encoded batching, measured side by side (issue 10).
 *
 * For each folio order, a fresh address space gets --size (1 GiB) of
 * anonymous memory populated with folios of that order (untimed, then the
 * LRU add batches drained so no batch holds a reference), and one case is
 * timed:
 *   exit       pmm_mm_destroy(mm);
 *   munmap     pmm_mm_unmap() of the whole range;
 *   partial    the first half of every folio unmapped (every other page at
 *              order 0), then pmm_deferred_split_scan(): the split path;
 *   fork_exit  pmm_mm_fork() (untimed), then the child's pmm_mm_destroy();
 *   fork       pmm_mm_fork() itself.
 * The variants of one case are the three gather modes (per_page, ranges,
 * encoded) in each selected mapcount model, and for exit the floor too:
 * mm_floor_exit() clears the PTEs and frees each folio once, its rmap, LRU
 * and reference work prepared untimed, so no teardown can beat it. That is
 * the one white-box call (src/mm.h); everything else is the public API.
 *
 * Method (design.md section 12): all variants of a case run in one process
 * on one instance, one sample each per round, the order rotating every
 * round so drift hits all alike; one warm-up round, then --samples rounds.
 * Times are scaled to ns per GiB of what was populated. The headline
 * samples run without phase_times, as a kernel does; each round then runs
 * every variant once more with phase_times, for the rmap-removal and free
 * phases alone (read from the mm after munmap and partial, from
 * pmm_mm_destroy_stats() after an exit): timing them moves the PER_PAGE and
 * ENCODED rmap removal out of the PTE loop (src/mm.c), so those samples'
 * totals are not used. fork has no phases (JSON null). A speedup is the median
 * of per-round ratios per_page / mode (drift cancels within a round), and
 * so is exit's ratio to the floor; munmap's is its median over exit's floor.
 * The floor bounds only the cases that free all they unmap (exit, munmap).
 *
 * The instance defaults to --mem 2G and --backing none: room for 1 GiB plus
 * page tables, and no direct map, so populating does not zero 1 GiB per
 * sample (the page tables and gather batches then live in metadata
 * shadows). Any instance flag given overrides these.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "mm.h"	/* white box: the floor, mm_floor_exit() */

#define TD_PAGE 4096ULL			/* address spaces have 4 KiB pages */
#define TD_GIB (1ULL << 30)
#define TD_BASE TD_GIB			/* naturally aligned for every folio order */
#define TD_NR_ORDERS (PMM_MAX_ORDER_LIMIT + 1)
#define TD_NR_MODELS 2			/* enum pmm_mapcount_model */
#define TD_MAX_VARIANTS (PMM_NR_GATHER_MODES * TD_NR_MODELS + 1)	/* + the floor */
#define TD_MAX_SAMPLES BENCH_MAX_SAMPLES
#define TD_WARMUP 1			/* rounds run before the measured ones */

/* The instance unless flags say otherwise, as flags so that any user flag overrides. */
#define TD_DEFAULT_MEM_FLAG "--mem=2G"
#define TD_DEFAULT_BACKING_FLAG "--backing=none"

enum td_case { TD_EXIT, TD_MUNMAP, TD_PARTIAL, TD_FORK_EXIT, TD_FORK, TD_NR_CASES };

static const struct {
	const char *name;	/* JSON "case" and --cases */
	const char *what;	/* the text table's title */
	bool phases;		/* a teardown: its rmap and free phases are measured */
	bool floored;		/* frees every folio it unmaps: the floor bounds it */
} td_cases[TD_NR_CASES] = {
	[TD_EXIT] = { "exit", "pmm_mm_destroy", true, true },
	[TD_MUNMAP] = { "munmap", "pmm_mm_unmap of the whole range", true, true },
	[TD_PARTIAL] = { "partial", "unmap half of every folio + deferred split scan", true, false },
	[TD_FORK_EXIT] = { "fork_exit", "the child's pmm_mm_destroy after a fork", true, false },
	[TD_FORK] = { "fork", "pmm_mm_fork", false, false },
};

static const char *const td_mode_names[PMM_NR_GATHER_MODES] = {
	[PMM_GATHER_PER_PAGE] = "per_page",
	[PMM_GATHER_RANGES] = "ranges",
	[PMM_GATHER_ENCODED] = "encoded",
};

static const char *const td_model_names[TD_NR_MODELS] = {
	[PMM_MAPCOUNT_PER_PAGE] = "page",
	[PMM_MAPCOUNT_FOLIO] = "folio",
};

struct td_opts {
	bool json;
	bool short_form;	/* pmm report's form */
	unsigned int orders;	/* bit k: folio order k */
	unsigned int cases;	/* bit per enum td_case */
	unsigned int models;	/* bit per enum pmm_mapcount_model */
	unsigned int samples;
	uint64_t size;		/* bytes mapped and populated per sample */
	bool orders_set, cases_set, models_set, samples_set, size_set;
};

/* One variant of a case and its samples, scaled to ns per GiB. */
struct td_variant {
	bool floor;			/* mm_floor_exit instead of a teardown */
	enum pmm_gather_mode mode;
	enum pmm_mapcount_model model;
	double ns[TD_MAX_SAMPLES];
	double rmap_ns[TD_MAX_SAMPLES];	/* from the phase samples; NaN: none (fork) */
	double free_ns[TD_MAX_SAMPLES];
	double split_locks[TD_MAX_SAMPLES];	/* deferred split queue lock acquisitions */
};

/* One row of the results: (order, case, mapcount model, gather mode). */
struct td_row {
	bool valid;
	struct bench_stat ns;		/* ns per GiB */
	double rmap_ns, free_ns;	/* medians, ns per GiB; NaN: none */
	double speedup;			/* median of per-round per_page / this */
	double rmap_speedup;		/* the same for the rmap phase; NaN: none */
	double over_floor;		/* this / the order's floor; NaN: no floor applies or none measured */
	double split_locks;		/* median per sample */
};

struct td_results {
	struct td_row row[TD_NR_ORDERS][TD_NR_CASES][TD_NR_MODELS][PMM_NR_GATHER_MODES];
	struct bench_stat floor[TD_NR_ORDERS];	/* median 0: not measured */
	unsigned long fallbacks;	/* faults that fell back to a smaller order while populating */
};

struct td_ctx {
	pmm_t *pmm;
	const struct td_opts *o;
	struct td_results *res;
	struct cli_progress prog;	/* on a terminal's stderr: where the run is */
	unsigned int rounds_done;	/* of every (order, case) measured so far */
	unsigned int rounds_total;
};

/* ------------------------------------------------------------------------
 * One sample
 * ------------------------------------------------------------------------ */

/**
 * td_populate - the untimed setup of a sample: a fresh mm of @v's gather
 * mode and mapcount model, --size populated with folios of @order, the LRU
 * add batches drained so that no batch holds a reference.
 * @c: the run.
 * @v: the variant (mode, model).
 * @order: the VMA's folio order.
 * @phases: the mm times its teardown's phases (phase_times).
 * @out: the mm.
 * @bytes: what was populated (RSS), the scale of ns per GiB.
 * Return: 0, or -1 after a message (nothing left mapped).
 */
static int td_populate(struct td_ctx *c, const struct td_variant *v, unsigned int order,
		       bool phases, pmm_mm_t **out, uint64_t *bytes)
{
	struct pmm_mm_config mc;
	struct pmm_mm_stats st;
	pmm_mm_t *mm;
	int err;

	/* Every sample starts from merged buddy lists, whatever ran before. */
	pmm_drain_all_pages(c->pmm);
	pmm_mm_config_init(&mc);
	mc.gather = v->mode;
	mc.mapcount = v->model;
	mc.phase_times = phases;
	err = pmm_mm_create(c->pmm, &mc, &mm);
	if (!err) {
		err = pmm_mm_map_anon(mm, TD_BASE, c->o->size, order,
				      PMM_MAP_WRITE | PMM_MAP_POPULATE);
		if (err)
			pmm_mm_destroy(mm);
	}
	if (err) {
		fprintf(stderr, "bench teardown: populating %llu MiB at order %u failed: %s (%d)%s\n",
			(unsigned long long)(c->o->size >> 20), order, pmm_strerror(err), err,
			err == -PMM_ENOMEM ? "; give the instance about twice --size with --mem" : "");
		return -1;
	}
	pmm_lru_add_drain(c->pmm);
	pmm_mm_stats_get(mm, &st);
	c->res->fallbacks += st.fault_fallbacks;
	*bytes = st.rss_anon * TD_PAGE;
	*out = mm;
	return 0;
}

/*
 * partial: unmap the first half of every folio (every other page at order
 * 0), in address order, so that each VMA split appends at the end of the
 * mm's sorted VMA array. Return: 0 or pmm_mm_unmap()'s error.
 */
static int td_unmap_halves(pmm_mm_t *mm, uint64_t size, unsigned int order)
{
	uint64_t half = order ? TD_PAGE << (order - 1) : TD_PAGE;
	int err = 0;

	for (uint64_t off = 0; off < size && !err; off += 2 * half)
		err = pmm_mm_unmap(mm, TD_BASE + off, half);
	return err;
}

/**
 * td_sample - one sample of a variant: populate, time the case, tear down
 * what is left untimed.
 * @c: the run.
 * @v: the variant; receives sample @s (ns, phases, split queue locks per GiB).
 * @cs: the case.
 * @order: the folio order.
 * @s: the sample's index, or negative for a warm-up (nothing stored).
 * @phases: a phase sample: with phase_times, storing only the rmap and
 * free phases; otherwise the time, the split queue locks (the instance's
 * deferred_split_lock counter over the case) and no phases.
 * Return: 0, or -1 after a message.
 */
static int td_sample(struct td_ctx *c, struct td_variant *v, enum td_case cs, unsigned int order,
		     int s, bool phases)
{
	pmm_t *pmm = c->pmm;
	pmm_mm_t *mm, *child = NULL;
	struct pmm_mm_stats st0, st1;
	struct pmm_stats g0, g1;
	uint64_t bytes, t0, ns = 0;
	bool floor = cs == TD_EXIT && v->floor;	/* mm_floor_exit() times itself: the zap alone */
	double scale;
	int err = 0;

	if (td_populate(c, v, order, phases, &mm, &bytes))
		return -1;
	if (cs == TD_FORK_EXIT) {
		err = pmm_mm_fork(mm, &child);
		if (err)
			goto out;
	}
	/* The mm whose teardown is timed: the child's, in fork_exit. */
	pmm_mm_stats_get(cs == TD_FORK_EXIT ? child : mm, &st0);
	pmm_stats_get(pmm, &g0);
	t0 = cli_now_ns();
	switch (cs) {
	case TD_EXIT:
		if (floor) {
			err = mm_floor_exit(mm, &ns);
		} else {
			pmm_mm_destroy_stats(mm, &st1);
			mm = NULL;
		}
		break;
	case TD_MUNMAP:
		err = pmm_mm_unmap(mm, TD_BASE, c->o->size);
		break;
	case TD_PARTIAL:
		err = td_unmap_halves(mm, c->o->size, order);
		if (!err)
			pmm_deferred_split_scan(pmm, ULONG_MAX);
		break;
	case TD_FORK_EXIT:
		pmm_mm_destroy_stats(child, &st1);
		child = NULL;
		break;
	case TD_FORK:
		err = pmm_mm_fork(mm, &child);
		break;
	case TD_NR_CASES:
		break;
	}
	if (!floor)
		ns = cli_now_ns() - t0;
	pmm_stats_get(pmm, &g1);
	if (err || s < 0)
		goto out;

	scale = (double)TD_GIB / (double)bytes;
	if (!phases) {
		v->ns[s] = (double)ns * scale;
		v->split_locks[s] = (double)(g1.deferred_split_lock - g0.deferred_split_lock);
	} else {
		if (cs == TD_MUNMAP || cs == TD_PARTIAL)	/* the mm lives on */
			pmm_mm_stats_get(mm, &st1);
		v->rmap_ns[s] = (double)(st1.rmap_ns - st0.rmap_ns) * scale;
		v->free_ns[s] = (double)(st1.free_ns - st0.free_ns) * scale;
	}
out:
	if (err)
		fprintf(stderr, "bench teardown: %s at order %u (%s) failed: %s (%d)\n",
			td_cases[cs].name, order, v->floor ? "floor" : td_mode_names[v->mode],
			pmm_strerror(err), err);
	pmm_mm_destroy(child);
	pmm_mm_destroy(mm);
	return err ? -1 : 0;
}

/* ------------------------------------------------------------------------
 * One case at one order: every variant, interleaved
 * ------------------------------------------------------------------------ */

/* The case's variants: each gather mode in each selected model, the floor with exit. */
static unsigned int td_variants(const struct td_opts *o, enum td_case cs, struct td_variant *v)
{
	unsigned int n = 0;

	for (int m = 0; m < TD_NR_MODELS; m++) {
		if (!(o->models & (1u << m)))
			continue;
		for (int g = 0; g < PMM_NR_GATHER_MODES; g++) {
			v[n].floor = false;
			v[n].mode = (enum pmm_gather_mode)g;
			v[n].model = (enum pmm_mapcount_model)m;
			n++;
		}
	}
	if (cs == TD_EXIT) {
		v[n].floor = true;
		v[n].mode = PMM_GATHER_PER_PAGE;	/* unused: the floor bypasses the gather */
		v[n].model = PMM_MAPCOUNT_PER_PAGE;
		n++;
	}
	return n;
}

/*
 * Summarize @nr variants' samples into the rows of (@order, @cs). Ratios to
 * variants of the same rounds are medians of per-round ratios: a speedup
 * over per_page, and exit's ratio to the floor (the floor is the last
 * variant of its rounds). munmap, the same zap without the exit, has no
 * floor of its own: its ratio is of its median to exit's floor, measured
 * first.
 */
static void td_summarize(struct td_results *res, unsigned int order, enum td_case cs,
			 const struct td_variant *v, unsigned int nr, unsigned int samples)
{
	const struct td_variant *floor = v[nr - 1].floor ? &v[nr - 1] : NULL;

	if (floor)
		res->floor[order] = bench_summary(floor->ns, samples);
	for (unsigned int i = 0; i < nr; i++) {
		const struct td_variant *pp = NULL;
		struct td_row *row;

		if (v[i].floor)
			continue;
		/* The per_page variant of the same model: the first of its model's three. */
		pp = &v[i - (unsigned int)v[i].mode];
		row = &res->row[order][cs][v[i].model][v[i].mode];
		row->valid = true;
		row->ns = bench_summary(v[i].ns, samples);
		row->rmap_ns = bench_summary(v[i].rmap_ns, samples).median;
		row->free_ns = bench_summary(v[i].free_ns, samples).median;
		row->split_locks = bench_summary(v[i].split_locks, samples).median;
		row->speedup = bench_ratio(pp->ns, v[i].ns, samples);
		row->rmap_speedup = isnan(row->rmap_ns) ? NAN :
				    bench_ratio(pp->rmap_ns, v[i].rmap_ns, samples);
		if (floor)
			row->over_floor = bench_ratio(v[i].ns, floor->ns, samples);
		else if (td_cases[cs].floored && res->floor[order].median)
			row->over_floor = row->ns.median / res->floor[order].median;
		else
			row->over_floor = NAN;
	}
}

/**
 * td_measure - every variant of case @cs at @order, interleaved: one warm-up
 * round, then --samples rounds of one sample each, round r running variant
 * (r + i) % nr as its i-th, so the order rotates and drift hits all alike.
 * Return: 0, or -1 after a message.
 */
static int td_measure(struct td_ctx *c, unsigned int order, enum td_case cs)
{
	struct td_variant v[TD_MAX_VARIANTS];
	unsigned int nr = td_variants(c->o, cs, v), rounds = TD_WARMUP + c->o->samples;

	for (unsigned int i = 0; i < nr; i++)
		for (unsigned int s = 0; s < c->o->samples; s++)
			v[i].rmap_ns[s] = v[i].free_ns[s] = NAN;
	for (unsigned int r = 0; r < rounds; r++) {
		cli_progress(&c->prog, "bench teardown: order %u, %s, round %u/%u (run %u/%u, %.0f s)",
			     order, td_cases[cs].name, r + 1, rounds, ++c->rounds_done,
			     c->rounds_total, cli_progress_seconds(&c->prog));
		for (unsigned int i = 0; i < nr; i++)
			if (td_sample(c, &v[(r + i) % nr], cs, order, (int)r - TD_WARMUP, false))
				return -1;
		/* Then the phases, with phase_times: the floor has none to time. */
		for (unsigned int i = 0; i < nr && td_cases[cs].phases; i++) {
			struct td_variant *w = &v[(r + i) % nr];

			if (!w->floor && td_sample(c, w, cs, order, (int)r - TD_WARMUP, true))
				return -1;
		}
	}
	td_summarize(c->res, order, cs, v, nr, c->o->samples);
	return 0;
}

/* The instance must end as it began: every frame free, no folio left queued or cached. */
static int td_verify(pmm_t *pmm, unsigned int order)
{
	struct pmm_node_info ni = { 0 };

	pmm_lru_add_drain(pmm);
	pmm_drain_all_pages(pmm);
	pmm_node_info(pmm, 0, &ni);
	if (pmm_check(pmm) || pmm_free_frames(pmm) != pmm_managed_frames(pmm) ||
	    pmm_swapcache_nr(pmm) || ni.deferred_split) {
		fprintf(stderr, "bench teardown: instance inconsistent after order %u\n", order);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Goals (issue 10), checked against what was measured
 * ------------------------------------------------------------------------ */

enum td_goal_kind {
	TD_GOAL_SPEEDUP,	/* speedup over per_page >= bound */
	TD_GOAL_RMAP_SPEEDUP,	/* rmap phase speedup over per_page >= bound */
	TD_GOAL_OVER_FLOOR,	/* ns / floor <= bound */
	TD_GOAL_NO_SPLIT,	/* no deferred split queue lock taken */
};

struct td_goal {
	enum td_case cs;
	unsigned int order;
	enum pmm_mapcount_model model;
	enum pmm_gather_mode mode;
	enum td_goal_kind kind;
	double bound;
	const char *what;
};

#define TD_GOAL_PAIR(cs, order, kind, bound, what)                                      \
	{ cs, order, PMM_MAPCOUNT_PER_PAGE, PMM_GATHER_RANGES, kind, bound, what ": ranges" }, \
	{ cs, order, PMM_MAPCOUNT_PER_PAGE, PMM_GATHER_ENCODED, kind, bound, what ": encoded" }

static const struct td_goal td_goals[] = {
	TD_GOAL_PAIR(TD_EXIT, 9, TD_GOAL_SPEEDUP, 3.0, "exit, order 9, >= 3x faster than per page"),
	TD_GOAL_PAIR(TD_MUNMAP, 9, TD_GOAL_SPEEDUP, 3.0, "munmap, order 9, >= 3x faster than per page"),
	TD_GOAL_PAIR(TD_EXIT, 4, TD_GOAL_SPEEDUP, 1.8, "exit, order 4, >= 1.8x faster than per page"),
	TD_GOAL_PAIR(TD_MUNMAP, 4, TD_GOAL_SPEEDUP, 1.8, "munmap, order 4, >= 1.8x faster than per page"),
	TD_GOAL_PAIR(TD_EXIT, 0, TD_GOAL_SPEEDUP, 0.98, "exit, order 0, at most 2% slower than per page"),
	TD_GOAL_PAIR(TD_MUNMAP, 0, TD_GOAL_SPEEDUP, 0.98, "munmap, order 0, at most 2% slower than per page"),
	TD_GOAL_PAIR(TD_EXIT, 3, TD_GOAL_RMAP_SPEEDUP, 4.5,
		     "rmap removal (exit), order 3, >= 4.5x cheaper than per page"),
	TD_GOAL_PAIR(TD_EXIT, 3, TD_GOAL_NO_SPLIT, 0,
		     "exit, order 3, no deferred split queue lock taken (per page takes it)"),
	{ TD_EXIT, 9, PMM_MAPCOUNT_PER_PAGE, PMM_GATHER_ENCODED, TD_GOAL_OVER_FLOOR, 1.5,
	  "exit, order 9, within 1.5x of the floor: encoded" },
	{ TD_EXIT, 9, PMM_MAPCOUNT_FOLIO, PMM_GATHER_ENCODED, TD_GOAL_OVER_FLOOR, 1.25,
	  "exit, order 9, folio mapcount, within 1.25x of the floor: encoded" },
	TD_GOAL_PAIR(TD_FORK, 9, TD_GOAL_SPEEDUP, 1.4, "fork, order 9, >= 1.4x faster than per page"),
};

/* The goal's figure, or NaN when this run did not measure it. */
static double td_goal_value(const struct td_results *res, const struct td_goal *g)
{
	const struct td_row *row = &res->row[g->order][g->cs][g->model][g->mode];

	if (!row->valid)
		return NAN;
	switch (g->kind) {
	case TD_GOAL_SPEEDUP:
		return row->speedup;
	case TD_GOAL_RMAP_SPEEDUP:
		return row->rmap_speedup;
	case TD_GOAL_OVER_FLOOR:
		return row->over_floor;
	case TD_GOAL_NO_SPLIT:
		return row->split_locks;
	}
	return NAN;
}

static bool td_goal_met(const struct td_goal *g, double value)
{
	switch (g->kind) {
	case TD_GOAL_OVER_FLOOR:
		return value <= g->bound;
	case TD_GOAL_NO_SPLIT:
		return value == 0;
	default:
		return value >= g->bound;
	}
}

/* ------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------ */

static void td_print_goals(const struct td_results *res)
{
	unsigned int skipped = 0;

	printf("\ngoals (issue 10), as measured by this run:\n");
	for (size_t i = 0; i < ARRAY_SIZE(td_goals); i++) {
		const struct td_goal *g = &td_goals[i];
		double v = td_goal_value(res, g);

		if (isnan(v)) {
			skipped++;
			continue;
		}
		printf("  %-6s  %-82s %8.2f%s\n", td_goal_met(g, v) ? "met" : "MISSED", g->what, v,
		       g->kind == TD_GOAL_NO_SPLIT ? " locks" : g->kind == TD_GOAL_OVER_FLOOR ? "x floor" : "x");
	}
	if (skipped)
		printf("  (%u goals need orders, cases or a mapcount model this run did not select)\n",
		       skipped);
}

static void td_print_case(const struct td_opts *o, const struct td_results *res, enum td_case cs,
			  int model)
{
	const double ms = 1e6;

	printf("\n%s: %s, %s mapcount; ms per GiB (median)\n", td_cases[cs].name, td_cases[cs].what,
	       td_model_names[model]);
	printf("%5s %10s %10s %10s %9s %9s %10s %9s %18s\n", "order", "per_page", "ranges", "encoded",
	       "ranges x", "encoded x", "floor", "enc/floor", "dsq locks p/r/e");
	for (unsigned int k = 0; k < TD_NR_ORDERS; k++) {
		const struct td_row *r = res->row[k][cs][model];
		char locks[40];

		if (!(o->orders & (1u << k)) || !r[0].valid)
			continue;
		snprintf(locks, sizeof(locks), "%.0f/%.0f/%.0f", r[0].split_locks, r[1].split_locks,
			 r[2].split_locks);
		printf("%5u %10.2f %10.2f %10.2f %8.2fx %8.2fx ", k, r[0].ns.median / ms,
		       r[1].ns.median / ms, r[2].ns.median / ms, r[1].speedup, r[2].speedup);
		/* No floor: none applies to the case, or exit (which measures it) was left out. */
		if (!isnan(r[2].over_floor))
			printf("%10.2f %9.2f", res->floor[k].median / ms, r[2].over_floor);
		else
			printf("%10s %9s", "-", "-");
		printf(" %18s\n", locks);
	}
	if (!td_cases[cs].phases)
		return;		/* a fork removes no mapping: no phases */
	printf("  phases, ms per GiB:\n%5s %10s %10s %10s %9s %9s %10s %10s %10s\n", "order",
	       "rmap pp", "ranges", "encoded", "ranges x", "encoded x", "free pp", "ranges", "encoded");
	for (unsigned int k = 0; k < TD_NR_ORDERS; k++) {
		const struct td_row *r = res->row[k][cs][model];

		if (!(o->orders & (1u << k)) || !r[0].valid)
			continue;
		printf("%5u %10.2f %10.2f %10.2f %8.2fx %8.2fx %10.2f %10.2f %10.2f\n", k,
		       r[0].rmap_ns / ms, r[1].rmap_ns / ms, r[2].rmap_ns / ms, r[1].rmap_speedup,
		       r[2].rmap_speedup, r[0].free_ns / ms, r[1].free_ns / ms, r[2].free_ns / ms);
	}
}

static void td_print_text(const struct td_opts *o, const struct td_results *res)
{
	for (int m = 0; m < TD_NR_MODELS; m++)
		for (int cs = 0; cs < TD_NR_CASES; cs++)
			if ((o->models & (1u << m)) && (o->cases & (1u << cs)))
				td_print_case(o, res, (enum td_case)cs, m);
	if (res->fallbacks)
		printf("\nnote: %lu faults fell back to a smaller folio order while populating\n",
		       res->fallbacks);
	td_print_goals(res);
}

static void td_json_row(struct jw *w, const struct td_results *res, unsigned int order,
			enum td_case cs, int model, int mode)
{
	const struct td_row *r = &res->row[order][cs][model][mode];

	jw_obj_begin(w, NULL);
	jw_u64(w, "order", order);
	jw_str(w, "mode", td_mode_names[mode]);
	jw_str(w, "case", td_cases[cs].name);
	jw_str(w, "mapcount", td_model_names[model]);
	jw_double(w, "ns_per_gib", r->ns.median);
	jw_double(w, "min_ns_per_gib", r->ns.min);
	jw_double(w, "max_ns_per_gib", r->ns.max);
	jw_double(w, "rmap_ns_per_gib", r->rmap_ns);	/* NaN prints as null */
	jw_double(w, "free_ns_per_gib", r->free_ns);
	jw_double(w, "floor_ns_per_gib", res->floor[order].median ? res->floor[order].median : NAN);
	jw_double(w, "speedup", r->speedup);
	jw_double(w, "rmap_speedup", r->rmap_speedup);
	jw_double(w, "over_floor", r->over_floor);
	jw_double(w, "split_queue_locks", r->split_locks);
	jw_obj_end(w);
}

static void td_print_json(const struct td_opts *o, const struct td_results *res, pmm_t *pmm)
{
	struct jw w;

	jw_init(&w, stdout);
	jw_obj_begin(&w, NULL);
	jw_str(&w, "bench", "teardown");
	jw_arr_begin(&w, "results");
	for (int m = 0; m < TD_NR_MODELS; m++)
		for (unsigned int k = 0; k < TD_NR_ORDERS; k++)
			for (int cs = 0; cs < TD_NR_CASES; cs++)
				for (int g = 0; g < PMM_NR_GATHER_MODES; g++)
					if (res->row[k][cs][m][g].valid)
						td_json_row(&w, res, k, (enum td_case)cs, m, g);
	jw_arr_end(&w);
	jw_arr_begin(&w, "floors");
	for (unsigned int k = 0; k < TD_NR_ORDERS; k++) {
		if (!res->floor[k].median)
			continue;
		jw_obj_begin(&w, NULL);
		jw_u64(&w, "order", k);
		jw_double(&w, "ns_per_gib", res->floor[k].median);
		jw_double(&w, "min_ns_per_gib", res->floor[k].min);
		jw_double(&w, "max_ns_per_gib", res->floor[k].max);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_arr_begin(&w, "goals");
	for (size_t i = 0; i < ARRAY_SIZE(td_goals); i++) {
		double v = td_goal_value(res, &td_goals[i]);

		if (isnan(v))
			continue;
		jw_obj_begin(&w, NULL);
		jw_str(&w, "goal", td_goals[i].what);
		jw_str(&w, "case", td_cases[td_goals[i].cs].name);
		jw_u64(&w, "order", td_goals[i].order);
		jw_str(&w, "mode", td_mode_names[td_goals[i].mode]);
		jw_str(&w, "mapcount", td_model_names[td_goals[i].model]);
		jw_double(&w, "value", v);
		jw_double(&w, "bound", td_goals[i].bound);
		jw_bool(&w, "met", td_goal_met(&td_goals[i], v));
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_u64(&w, "samples", o->samples);
	jw_u64(&w, "warmup", TD_WARMUP);
	jw_u64(&w, "size_bytes", o->size);
	jw_u64(&w, "fault_fallbacks", res->fallbacks);
	cli_json_config(&w, pmm);
	jw_obj_end(&w);
	putchar('\n');
}

/* ------------------------------------------------------------------------
 * Command line
 * ------------------------------------------------------------------------ */

enum { TD_JSON, TD_SHORT, TD_ORDERS, TD_CASES, TD_MAPCOUNT, TD_SAMPLES, TD_SIZE };

static const struct cli_flag td_flags[] = {
	{ "json", NULL, TD_JSON, "one line of JSON" },
	{ "short", NULL, TD_SHORT, "pmm report's form: exit at orders 0,4,9, page mapcount,\n"
				   "9 samples (flags given override)" },
	{ "orders", "LIST", TD_ORDERS, "folio orders, e.g. 0,4,9 (default 0,2,3,4,6,9)" },
	{ "cases", "LIST", TD_CASES, "of exit,munmap,partial,fork_exit,fork (default all)" },
	{ "mapcount", "page|folio|both", TD_MAPCOUNT, "mapcount model(s) (default both)" },
	{ "samples", "N", TD_SAMPLES, "measured rounds after one warm-up (default 5)" },
	{ "size", "SIZE", TD_SIZE, "anonymous memory populated per sample (default 1G)" },
	{ NULL, NULL, 0, NULL },
};

/* "0,4,9" -> a mask of orders 0..PMM_MAX_ORDER_LIMIT. */
static int td_arg_orders(const struct cli_arg *a, unsigned int *mask)
{
	const char *p = a->val;

	*mask = 0;
	for (;;) {
		char *end;
		unsigned long k;

		errno = 0;
		k = strtoul(p, &end, 10);
		if (errno || !isdigit((unsigned char)*p) || k > PMM_MAX_ORDER_LIMIT ||
		    (*end && *end != ','))
			return cli_bad_value(a, "a list of orders such as 0,4,9");
		*mask |= 1u << k;
		if (!*end)
			return 0;
		p = end + 1;	/* a number must follow the comma */
	}
}

/* "exit,munmap" -> a mask of enum td_case. */
static int td_arg_cases(const struct cli_arg *a, unsigned int *mask)
{
	const char *p = a->val;

	*mask = 0;
	while (*p) {
		size_t len = strcspn(p, ","), k;

		for (k = 0; k < TD_NR_CASES; k++)
			if (strlen(td_cases[k].name) == len && !strncmp(td_cases[k].name, p, len))
				break;
		if (k == TD_NR_CASES)
			return cli_bad_value(a, "a list of exit, munmap, partial, fork_exit, fork");
		*mask |= 1u << k;
		p += len + (p[len] == ',');
	}
	return *mask ? 0 : cli_bad_value(a, "at least one case");
}

static int td_apply(const struct cli_arg *a, void *ctx)
{
	struct td_opts *o = ctx;

	switch (a->flag->id) {
	case TD_JSON:
		o->json = true;
		return 0;
	case TD_SHORT:
		o->short_form = true;
		return 0;
	case TD_ORDERS:
		o->orders_set = true;
		return td_arg_orders(a, &o->orders);
	case TD_CASES:
		o->cases_set = true;
		return td_arg_cases(a, &o->cases);
	case TD_MAPCOUNT:
		o->models_set = true;
		if (!strcmp(a->val, "page"))
			o->models = 1u << PMM_MAPCOUNT_PER_PAGE;
		else if (!strcmp(a->val, "folio"))
			o->models = 1u << PMM_MAPCOUNT_FOLIO;
		else if (!strcmp(a->val, "both"))
			o->models = 1u << PMM_MAPCOUNT_PER_PAGE | 1u << PMM_MAPCOUNT_FOLIO;
		else
			return cli_bad_value(a, "page, folio or both");
		return 0;
	case TD_SAMPLES:
		o->samples_set = true;
		return cli_arg_uint(a, 1, TD_MAX_SAMPLES, &o->samples);
	case TD_SIZE:
		o->size_set = true;
		return cli_arg_size(a, TD_PAGE, "a multiple of 4 KiB such as 1G or 256M", &o->size);
	}
	return -1;
}

static const struct cli_cmd td_cmd = {
	.name = "bench teardown",
	.help = "usage: pmm bench teardown [--json] [--short] [--orders LIST] [--cases LIST]\n"
		"                          [--mapcount page|folio|both] [--samples N] [--size SIZE]\n"
		"                          [instance flags]\n"
		"  Teardown of --size of populated anonymous folios per order, through the\n"
		"  mmu_gather's three modes (per_page, ranges, encoded) interleaved in one\n"
		"  process: exit, munmap, partial munmap + deferred split scan, fork + the\n"
		"  child's exit, fork. ns per GiB (medians, min/max), the rmap-removal and\n"
		"  free phases, and the floor (PTE clears + one free per folio).\n"
		"  The instance defaults to --mem 2G --backing none (no zeroing per populate);\n"
		"  instance flags given override that.\n",
	.flags = td_flags,
	.apply = td_apply,
};

/* The defaults --short and the full run differ in, for what no flag set. */
static void td_defaults(struct td_opts *o)
{
	if (!o->orders_set)
		o->orders = o->short_form ? (1u << 0 | 1u << 4 | 1u << 9) :
			    (1u << 0 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 6 | 1u << 9);
	if (!o->cases_set)
		o->cases = o->short_form ? 1u << TD_EXIT : (1u << TD_NR_CASES) - 1;
	if (!o->models_set)
		o->models = o->short_form ? 1u << PMM_MAPCOUNT_PER_PAGE :
			    1u << PMM_MAPCOUNT_PER_PAGE | 1u << PMM_MAPCOUNT_FOLIO;
	if (!o->samples_set)
		o->samples = o->short_form ? 9 : 5;
}

/**
 * td_parse - cli_parse() with the benchmark's instance defaults in front of
 * the user's flags (a later flag wins, so any instance flag given overrides
 * them: --mem, --backing, and --start-pfn or --nodes split the 2 GiB).
 * Return: CLI_RUN, or an exit code as cli_parse().
 */
static int td_parse(int argc, char **argv, struct pmm_config *cfg, struct td_opts *o)
{
	char mem[] = TD_DEFAULT_MEM_FLAG, backing[] = TD_DEFAULT_BACKING_FLAG;
	char **args = calloc((size_t)argc + 3, sizeof(*args));
	int ret;

	if (!args) {
		fprintf(stderr, "pmm bench teardown: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	args[0] = argv[0];
	args[1] = mem;
	args[2] = backing;
	memcpy(&args[3], &argv[1], (size_t)(argc - 1) * sizeof(*args));
	ret = cli_parse(&td_cmd, argc + 2, args, cfg, o);
	free(args);
	return ret;
}

static int td_main(int argc, char **argv, bool short_form)
{
	struct td_opts o = { .short_form = short_form, .size = TD_GIB };
	struct td_ctx c = { .o = &o };
	struct pmm_config cfg;
	struct bench_pin *pin = NULL;
	int ret = CLI_EXIT_FAIL, parsed;

	parsed = td_parse(argc, argv, &cfg, &o);
	if (parsed != CLI_RUN)
		return parsed;
	td_defaults(&o);
	if (o.orders >> (cfg.pageblock_order + 1)) {
		fprintf(stderr, "pmm bench teardown: --orders above pageblock_order %u\n",
			cfg.pageblock_order);
		return CLI_EXIT_USAGE;
	}
	c.res = calloc(1, sizeof(*c.res));
	c.pmm = c.res ? cli_create(&cfg, "bench teardown") : NULL;
	if (!c.pmm)
		goto out;
	/*
	 * A smaller --mem (pmm report's flags, say) scales the default size
	 * to half of it, in whole folios of the largest order a VMA may have.
	 */
	if (!o.size_set && o.size > pmm_managed_frames(c.pmm) * pmm_page_size(c.pmm) / 2) {
		uint64_t folio = TD_PAGE << cfg.pageblock_order;

		o.size = pmm_managed_frames(c.pmm) * pmm_page_size(c.pmm) / 2 / folio * folio;
	}
	if (!o.size) {
		fprintf(stderr, "pmm bench teardown: the instance is too small (--mem)\n");
		goto out;
	}
	pin = bench_pin_begin();
	if (!o.json) {
		cli_print_config(stdout, c.pmm);
		printf("teardown of %llu MiB of populated anon folios per sample; median of %u samples "
		       "after %u warm-up,\nmodes interleaved in a rotating order; x = per_page / mode "
		       "(median of per-round ratios);\nfloor = PTE clears + one free per folio; dsq locks = "
		       "deferred split queue lock acquisitions\n", (unsigned long long)(o.size >> 20),
		       o.samples, TD_WARMUP);
	}
	c.rounds_total = (unsigned int)__builtin_popcount(o.orders) *
			 (unsigned int)__builtin_popcount(o.cases) * (TD_WARMUP + o.samples);
	cli_progress_begin(&c.prog);
	for (unsigned int k = 0; k < TD_NR_ORDERS; k++) {
		if (!(o.orders & (1u << k)))
			continue;
		/* Exit first: it measures the floor the other cases' rows report. */
		for (int cs = 0; cs < TD_NR_CASES; cs++)
			if ((o.cases & (1u << cs)) && td_measure(&c, k, (enum td_case)cs))
				goto out;
		if (td_verify(c.pmm, k))
			goto out;
	}
	cli_progress_end(&c.prog);
	if (o.json)
		td_print_json(&o, c.res, c.pmm);
	else
		td_print_text(&o, c.res);
	ret = CLI_EXIT_OK;
out:
	cli_progress_end(&c.prog);
	bench_pin_end(pin);
	pmm_destroy(c.pmm);
	free(c.res);
	return ret;
}

int bench_teardown(int argc, char **argv)
{
	return td_main(argc, argv, false);
}

int bench_teardown_short(int argc, char **argv)
{
	return td_main(argc, argv, true);
}
