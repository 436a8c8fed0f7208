/* SPDX-License-Identifier: MIT */
/*
 * contig.c - `pmm bench contig`: the 2026 free_contig_range series, measured.
 *
 * The kernel patch's loop: alloc order-k, split_page, free_contig_range of
 * the 2^k pages, with three variants interleaved in one process, a block of
 * CONTIG_BLOCK iterations of each in turn (the order rotates, so drift hits
 * all three alike):
 *   per_page  an instance with contig_per_page: the pre-2026 loop, one
 *             __free_page() per pfn (reference drop, checks, pcp free);
 *   batched   the default instance: drops and checks per page, then the
 *             run freed as maximal aligned chunks;
 *   floor     the batched instance, but the timed part is only the per-page
 *             reference drop and free checks; the prepared pages are then
 *             freed untimed. No free path can beat this.
 * The timed figure is the free step (ns per iteration, clock overhead
 * subtracted); the whole loop (alloc + split + free, untimed setup
 * included) is reported too, as the kernel patch measured it.
 *
 * The floor reaches into src/ for the per-page primitive both paths share
 * (contig_put_prepare: the order-0 test, the reference drop, the free
 * checks): a benchmark of an internal algorithm needs its internals.
 *
 * --cma: the series' CMA case: alloc_contig_pages(16384) then free them,
 * per page vs batched.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "contig.h"	/* white box: the floor runs the batched loop's own primitive */

enum { V_PER_PAGE, V_BATCHED, V_FLOOR, NR_VARIANTS };

struct contig_opts {
	bool json;
	bool cma;
	bool sweep;		/* orders 0..max_order */
	bool models;		/* the headline order on the other memmap model too */
	unsigned int order;
	unsigned long iterations;
	unsigned int reps;
	unsigned long cma_pages;
};

struct contig_result {
	unsigned int order;
	unsigned long iterations;	/* per variant */
	unsigned int samples;
	double ns[NR_VARIANTS];		/* free step, median over samples, ns per iteration */
	double min_ns[NR_VARIANTS], max_ns[NR_VARIANTS];
	double loop_ns[NR_VARIANTS];	/* whole loop (alloc + split + free), median */
	double speedup;			/* median over samples of per_page / batched */
	double over_floor;		/* median over samples of batched / floor */
};

static double median(double *v, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++)
		for (unsigned int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

static double min_of(const double *v, unsigned int n)
{
	double m = v[0];

	for (unsigned int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double max_of(const double *v, unsigned int n)
{
	double m = v[0];

	for (unsigned int i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/*
 * One iteration of one variant: alloc order-k, split, free. Returns the
 * free step's ns in *free_ns and the whole iteration's in *loop_ns.
 * The floor's timed part is only what every path must do per page
 * (contig_put_prepare); its prepared pages are then freed untimed.
 */
static int contig_iteration(pmm_t *pmm, int variant, unsigned int order, uint64_t *free_ns,
			    uint64_t *loop_ns)
{
	unsigned long nr = 1UL << order;
	uint64_t t0 = cli_now_ns(), t1, t2;
	struct pmm_page *page = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, order);
	pmm_pfn_t pfn;

	if (!page) {
		fprintf(stderr, "bench contig: order-%u allocation failed\n", order);
		return -1;
	}
	pmm_split_page(pmm, page, order);
	pfn = pmm_page_to_pfn(pmm, page);
	t1 = cli_now_ns();
	if (variant == V_FLOOR) {
		struct pmm_page *end = contig_prepare_run(pmm, page, page + nr, false);

		t2 = cli_now_ns();
		if (end == page + nr)
			free_prepared_contig_range(pmm, page, pfn, nr);
		*loop_ns += t2 - t0;
	} else {
		pmm_free_contig_range(pmm, pfn, nr);
		t2 = cli_now_ns();
		*loop_ns += t2 - t0;
	}
	*free_ns += t2 - t1;
	return 0;
}

/* What a run shows on a terminal's stderr while it measures. */
struct contig_progress {
	struct cli_progress line;
	const char *what;	/* the current measurement: "sparse", "sweep, vmemmap" */
};

/*
 * Iterations of one variant before the next variant's turn. A loop is
 * what the kernel patch timed: the same alloc, split and free again, on
 * memmap lines the last iteration left in L1. Interleaved iteration by
 * iteration, each batched iteration (~1 us) would first refetch its 512
 * struct pages, evicted by the per-page iteration before it (~16 us over
 * other 32 KiB of them): about a third of the batched loop, 2% of the
 * per-page one. Blocks of 32 keep the variants taking turns every ~0.5 ms,
 * well inside this VM's drift, with one cold iteration in 32.
 */
#define CONTIG_BLOCK 32

/*
 * One order: the three variants take turns, CONTIG_BLOCK iterations at a
 * time, in an order that rotates, so drift (frequency, the other core's
 * load) hits them alike. A sample is a run of iterations; medians are over
 * samples, and the ratios are medians of per-sample ratios.
 */
static int measure_order(pmm_t *per_page, pmm_t *batched, unsigned int order,
			 unsigned long iterations, unsigned int samples, uint64_t clock_ns,
			 struct contig_progress *p, struct contig_result *r)
{
	pmm_t *inst[NR_VARIANTS] = { per_page, batched, batched };
	static double fns[NR_VARIANTS][BENCH_MAX_REPS], lns[NR_VARIANTS][BENCH_MAX_REPS];
	static double speed[BENCH_MAX_REPS], over[BENCH_MAX_REPS];
	unsigned long per_sample = iterations / samples ? iterations / samples : 1;

	for (unsigned int s = 0; s <= samples; s++) {	/* sample 0 warms up */
		uint64_t f[NR_VARIANTS] = { 0 }, l[NR_VARIANTS] = { 0 };
		unsigned long n = s ? per_sample : (per_sample < 1000 ? per_sample : 1000);

		if (s)
			cli_progress(&p->line, "bench contig: %s, order %u, sample %u/%u (%.0f s)",
				     p->what, order, s, samples, cli_progress_seconds(&p->line));
		else
			cli_progress(&p->line, "bench contig: %s, order %u, warm-up (%.0f s)", p->what,
				     order, cli_progress_seconds(&p->line));
		for (unsigned long it = 0; it < n; it += CONTIG_BLOCK)
			for (int k = 0; k < NR_VARIANTS; k++) {
				/* the sample in the rotation too, so that every variant leads as often */
				int v = (int)((it / CONTIG_BLOCK + s + (unsigned long)k) % NR_VARIANTS);

				for (unsigned long j = it; j < n && j < it + CONTIG_BLOCK; j++)
					if (contig_iteration(inst[v], v, order, &f[v], &l[v]))
						return -1;
			}
		if (!s)
			continue;
		for (int v = 0; v < NR_VARIANTS; v++) {
			double fo = (double)f[v] / (double)n - (double)clock_ns;

			fns[v][s - 1] = fo > 1 ? fo : 1;
			lns[v][s - 1] = (double)l[v] / (double)n - (double)clock_ns;
		}
		speed[s - 1] = fns[V_PER_PAGE][s - 1] / fns[V_BATCHED][s - 1];
		over[s - 1] = fns[V_BATCHED][s - 1] / fns[V_FLOOR][s - 1];
	}
	r->order = order;
	r->iterations = per_sample * samples;
	r->samples = samples;
	for (int v = 0; v < NR_VARIANTS; v++) {
		r->min_ns[v] = min_of(fns[v], samples);
		r->max_ns[v] = max_of(fns[v], samples);
		r->ns[v] = median(fns[v], samples);
		r->loop_ns[v] = median(lns[v], samples);
	}
	r->speedup = median(speed, samples);
	r->over_floor = median(over, samples);
	return 0;
}

static bool make_pair(const struct pmm_config *cfg, pmm_t **per_page, pmm_t **batched)
{
	struct pmm_config pc = *cfg, bc = *cfg;

	pc.contig_per_page = true;
	bc.contig_per_page = false;
	*per_page = cli_create(&pc, "bench contig");
	*batched = *per_page ? cli_create(&bc, "bench contig") : NULL;
	if (*batched)
		return true;
	pmm_destroy(*per_page);
	return false;
}

/* Both instances must end as they began: nothing lost, invariants hold. */
static int verify(pmm_t *pmm, const char *what)
{
	pmm_drain_all_pages(pmm);
	if (pmm_check(pmm) || pmm_free_frames(pmm) != pmm_managed_frames(pmm)) {
		fprintf(stderr, "bench contig: %s instance inconsistent after the run\n", what);
		return -1;
	}
	return 0;
}

enum { CT_JSON, CT_ORDER, CT_ITERATIONS, CT_REPS, CT_NO_SWEEP, CT_NO_MODELS, CT_CMA,
       CT_CMA_PAGES };

static const struct cli_flag contig_flags[] = {
	{ "json", NULL, CT_JSON, "one line of JSON" },
	{ "order", "K", CT_ORDER, "the headline order (default 9)" },
	{ "iterations", "N", CT_ITERATIONS, "headline iterations per variant (default 100000)" },
	{ "reps", "R", CT_REPS, "samples the iterations are split into (default 5)" },
	{ "no-sweep", NULL, CT_NO_SWEEP, "skip orders 0..max_order" },
	{ "no-models", NULL, CT_NO_MODELS, "skip the headline order on the other memmap model" },
	{ "cma", NULL, CT_CMA, "the CMA case instead: alloc_contig_pages + free" },
	{ "cma-pages", "N", CT_CMA_PAGES, "--cma's pages per allocation (default 16384)" },
	{ NULL, NULL, 0, NULL },
};

static int contig_apply(const struct cli_arg *a, void *ctx)
{
	struct contig_opts *o = ctx;

	switch (a->flag->id) {
	case CT_JSON:
		o->json = true;
		return 0;
	case CT_NO_SWEEP:
		o->sweep = false;
		return 0;
	case CT_NO_MODELS:
		o->models = false;
		return 0;
	case CT_CMA:
		o->cma = true;
		return 0;
	case CT_ORDER:
		return cli_arg_uint(a, 0, PMM_MAX_ORDER_LIMIT, &o->order);
	case CT_ITERATIONS:
		return cli_arg_ulong(a, 1, ULONG_MAX, &o->iterations);
	case CT_REPS:
		/* measure_order()'s per-sample arrays hold BENCH_MAX_REPS. */
		return cli_arg_uint(a, 1, BENCH_MAX_REPS - 1, &o->reps);
	case CT_CMA_PAGES:
		return cli_arg_ulong(a, 1, ULONG_MAX, &o->cma_pages);
	}
	return -1;
}

static const struct cli_cmd contig_cmd = {
	.name = "bench contig",
	.help = "usage: pmm bench contig [--json] [--order K] [--iterations N] [--reps R]\n"
		"                        [--no-sweep] [--no-models] [--cma [--cma-pages N]]\n"
		"                        [instance flags]\n"
		"  The kernel patch's loop (alloc order-K, split_page, free_contig_range),\n"
		"  per page vs batched vs floor, interleaved in blocks of 32 iterations in one\n"
		"  process; ns per iteration of the free step (medians over R samples of N/R\n"
		"  iterations), plus the whole loop. The sweep runs orders 0..max_order with\n"
		"  fewer iterations. --cma: alloc_contig_pages(N) then free, per page vs\n"
		"  batched.\n",
	.flags = contig_flags,
	.apply = contig_apply,
};

/* The whole loop's ratio, as the kernel patch measured it: a ratio of the
 * medians (the free step's is a median of per-sample ratios). */
static double loop_speedup(const struct contig_result *r)
{
	return r->loop_ns[V_PER_PAGE] / r->loop_ns[V_BATCHED];
}

/*
 * The kernel patch timed the whole loop at order 9 (alloc + split_page +
 * free_contig_range: 5.6x), so its figure compares with our whole-loop
 * speedup at that order only; the free step alone has no kernel figure.
 */
#define KERNEL_LOOP_ORDER 9
#define KERNEL_LOOP_SPEEDUP 5.6

static void print_headline(const struct contig_result *r)
{
	printf("order %u: free step: batched is %.2fx faster than per page, %.2fx the floor\n",
	       r->order, r->speedup, r->over_floor);
	printf("order %u: whole loop (alloc+split+free): batched is %.2fx faster than per page",
	       r->order, loop_speedup(r));
	if (r->order == KERNEL_LOOP_ORDER)
		printf(" (kernel patch, same loop: %.1fx)", KERNEL_LOOP_SPEEDUP);
	putchar('\n');
}

static void print_result(const struct contig_result *r, const char *memmap)
{
	printf("%-8s %5u %10lu %12.0f %12.0f %12.0f %8.2fx %8.2f %14.0f %14.0f\n", memmap,
	       r->order, r->iterations, r->ns[V_PER_PAGE], r->ns[V_BATCHED], r->ns[V_FLOOR],
	       r->speedup, r->over_floor,
	       r->loop_ns[V_PER_PAGE], r->loop_ns[V_BATCHED]);
}

static void json_result(struct jw *w, const struct contig_result *r, const char *memmap)
{
	jw_u64(w, "order", r->order);
	jw_u64(w, "iterations", r->iterations);
	if (memmap)
		jw_str(w, "memmap", memmap);
	jw_double(w, "per_page_ns", r->ns[V_PER_PAGE]);
	jw_double(w, "batched_ns", r->ns[V_BATCHED]);
	jw_double(w, "floor_ns", r->ns[V_FLOOR]);
	jw_double(w, "speedup", r->speedup);
	jw_double(w, "batched_over_floor", r->over_floor);
	jw_u64(w, "samples", r->samples);
	jw_double(w, "per_page_min_ns", r->min_ns[V_PER_PAGE]);
	jw_double(w, "per_page_max_ns", r->max_ns[V_PER_PAGE]);
	jw_double(w, "batched_min_ns", r->min_ns[V_BATCHED]);
	jw_double(w, "batched_max_ns", r->max_ns[V_BATCHED]);
	jw_double(w, "loop_per_page_ns", r->loop_ns[V_PER_PAGE]);
	jw_double(w, "loop_batched_ns", r->loop_ns[V_BATCHED]);
	jw_double(w, "loop_speedup", loop_speedup(r));
	jw_double(w, "floor_min_ns", r->min_ns[V_FLOOR]);
}

/* --cma: one iteration = alloc_contig_pages(nr) + free_contig_range. */
struct cma_ctx {
	pmm_t *pmm;
	unsigned long nr_pages;
	unsigned int iterations;
};

static int cma_run(void *arg, struct bench_sample *s)
{
	struct cma_ctx *c = arg;

	for (unsigned int it = 0; it < c->iterations; it++) {
		struct pmm_page *page = pmm_alloc_contig_pages(c->pmm, c->nr_pages, PMM_GFP_KERNEL, -1);

		if (!page) {
			fprintf(stderr, "bench contig --cma: alloc_contig_pages(%lu) failed\n",
				c->nr_pages);
			return -1;
		}
		pmm_free_contig_range(c->pmm, pmm_page_to_pfn(c->pmm, page), c->nr_pages);
	}
	s->ops = c->iterations;
	return 0;
}

static int bench_cma(const struct pmm_config *cfg, const struct contig_opts *o)
{
	pmm_t *pp, *bt;
	struct cma_ctx ctx[2];
	struct bench_variant var[2];
	struct bench_result res[2];
	int ret = CLI_EXIT_FAIL;

	if (!make_pair(cfg, &pp, &bt))
		return CLI_EXIT_FAIL;
	ctx[0] = (struct cma_ctx){ .pmm = pp, .nr_pages = o->cma_pages, .iterations = 20 };
	ctx[1] = (struct cma_ctx){ .pmm = bt, .nr_pages = o->cma_pages, .iterations = 20 };
	var[0] = (struct bench_variant){ "per_page", cma_run, &ctx[0] };
	var[1] = (struct bench_variant){ "batched", cma_run, &ctx[1] };
	if (bench_run(var, 2, 1, o->reps < 5 ? 5 : o->reps, res) || verify(pp, "per_page") ||
	    verify(bt, "batched"))
		goto out;
	if (o->json) {
		struct jw w;

		jw_init(&w, stdout);
		jw_obj_begin(&w, NULL);
		jw_str(&w, "bench", "contig_cma");
		jw_u64(&w, "nr_pages", o->cma_pages);
		jw_double(&w, "per_page_us", res[0].median_ns / 1000);
		jw_double(&w, "batched_us", res[1].median_ns / 1000);
		jw_double(&w, "speedup", res[0].median_ns / res[1].median_ns);
		cli_json_config(&w, bt);
		jw_obj_end(&w);
		putchar('\n');
	} else {
		cli_print_config(stdout, bt);
		printf("alloc_contig_pages(%lu) + free_contig_range, us per iteration (median):\n"
		       "  per_page %10.1f  (min %.1f max %.1f)\n  batched  %10.1f  (min %.1f max %.1f)\n"
		       "  speedup  %10.2fx   (kernel patch 3: 1406 -> 402 us, 3.5x)\n",
		       o->cma_pages, res[0].median_ns / 1000, res[0].min_ns / 1000,
		       res[0].max_ns / 1000, res[1].median_ns / 1000, res[1].min_ns / 1000,
		       res[1].max_ns / 1000, res[0].median_ns / res[1].median_ns);
	}
	ret = CLI_EXIT_OK;
out:
	pmm_destroy(pp);
	pmm_destroy(bt);
	return ret;
}

/* Fewer iterations for big orders: about the same number of pages each. */
static unsigned long sweep_iterations(unsigned int order, unsigned long headline)
{
	unsigned long it = (headline * 512 / 8) >> order;

	if (it > headline)
		it = headline;
	return it < 2000 ? 2000 : it;
}

int bench_contig(int argc, char **argv)
{
	struct contig_opts o = { .sweep = true, .models = true, .order = 9, .iterations = 100000,
				 .reps = 5, .cma_pages = 16384 };
	struct contig_result head, other, sweep[PMM_MAX_ORDER_LIMIT + 1];
	struct pmm_config cfg, other_cfg;
	struct contig_progress prog;
	char sweep_what[32];
	struct bench_pin *pin;
	pmm_t *pp = NULL, *bt = NULL;
	uint64_t clock_ns;
	int ret = CLI_EXIT_FAIL, parsed;

	parsed = cli_parse(&contig_cmd, argc, argv, &cfg, &o);
	if (parsed != CLI_RUN)
		return parsed;
	if (o.order > cfg.max_order) {
		fprintf(stderr, "pmm bench contig: --order %u above max_order %u\n", o.order, cfg.max_order);
		return CLI_EXIT_USAGE;
	}
	if (o.cma)
		return bench_cma(&cfg, &o);

	pin = bench_pin_begin();
	clock_ns = bench_clock_overhead();
	cli_progress_begin(&prog.line);
	if (!make_pair(&cfg, &pp, &bt))
		goto out;
	if (!o.json) {
		cli_print_config(stdout, bt);
		printf("free step ns per iteration (median of %u samples, variants interleaved in "
		       "blocks of %d iterations,\nclock overhead %llu ns subtracted); ratios are medians of per-sample "
		       "ratios; loop = alloc+split+free\n", o.reps, CONTIG_BLOCK, (unsigned long long)clock_ns);
		printf("%-8s %5s %10s %12s %12s %12s %9s %8s %14s %14s\n", "memmap", "order", "iters",
		       "per_page", "batched", "floor", "speedup", "b/floor", "loop_per_page",
		       "loop_batched");
	}
	prog.what = cli_memmap_name(cfg.memmap);
	if (measure_order(pp, bt, o.order, o.iterations, o.reps, clock_ns, &prog, &head) ||
	    verify(pp, "per_page") || verify(bt, "batched"))
		goto out;
	cli_progress_end(&prog.line);
	if (!o.json)
		print_result(&head, cli_memmap_name(cfg.memmap));

	if (o.models) {
		pmm_t *opp, *obt;

		other_cfg = cfg;
		other_cfg.memmap = cfg.memmap == PMM_MEMMAP_SPARSE ? PMM_MEMMAP_VMEMMAP : PMM_MEMMAP_SPARSE;
		if (!make_pair(&other_cfg, &opp, &obt))
			goto out;
		prog.what = cli_memmap_name(other_cfg.memmap);
		ret = measure_order(opp, obt, o.order, o.iterations, o.reps, clock_ns, &prog, &other) ||
		      verify(opp, "per_page") || verify(obt, "batched");
		pmm_destroy(opp);
		pmm_destroy(obt);
		if (ret) {
			ret = CLI_EXIT_FAIL;
			goto out;
		}
		cli_progress_end(&prog.line);
		if (!o.json)
			print_result(&other, cli_memmap_name(other_cfg.memmap));
	}
	snprintf(sweep_what, sizeof(sweep_what), "sweep 0..%u, %s", cfg.max_order,
		 cli_memmap_name(cfg.memmap));
	prog.what = sweep_what;
	for (unsigned int k = 0; o.sweep && k <= cfg.max_order; k++) {
		if (measure_order(pp, bt, k, sweep_iterations(k, o.iterations), o.reps, clock_ns,
				  &prog, &sweep[k]) ||
		    verify(pp, "per_page") || verify(bt, "batched")) {
			ret = CLI_EXIT_FAIL;
			goto out;
		}
		cli_progress_end(&prog.line);
		if (!o.json)
			print_result(&sweep[k], cli_memmap_name(cfg.memmap));
	}

	if (o.json) {
		struct jw w;

		jw_init(&w, stdout);
		jw_obj_begin(&w, NULL);
		jw_str(&w, "bench", "contig");
		json_result(&w, &head, NULL);	/* the instance's memmap comes with its config */
		jw_u64(&w, "reps", o.reps);
		jw_u64(&w, "clock_overhead_ns", clock_ns);
		if (o.models) {
			jw_arr_begin(&w, "models");
			jw_obj_begin(&w, NULL);
			json_result(&w, &head, cli_memmap_name(cfg.memmap));
			jw_obj_end(&w);
			jw_obj_begin(&w, NULL);
			json_result(&w, &other, cli_memmap_name(other_cfg.memmap));
			jw_obj_end(&w);
			jw_arr_end(&w);
		}
		if (o.sweep) {
			jw_arr_begin(&w, "orders");
			for (unsigned int k = 0; k <= cfg.max_order; k++) {
				jw_obj_begin(&w, NULL);
				json_result(&w, &sweep[k], NULL);
				jw_obj_end(&w);
			}
			jw_arr_end(&w);
		}
		cli_json_config(&w, bt);
		jw_obj_end(&w);
		putchar('\n');
	} else {
		print_headline(&head);
	}
	ret = CLI_EXIT_OK;
out:
	cli_progress_end(&prog.line);
	pmm_destroy(pp);
	pmm_destroy(bt);
	bench_pin_end(pin);
	return ret;
}
