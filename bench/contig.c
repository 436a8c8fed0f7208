/* SPDX-License-Identifier: MIT */
/*
 * contig.c - `pmm bench contig`: the 2026 free_contig_range series, measured.
 *
 * The kernel patch's loop: alloc order-k, split_page, free_contig_range of
 * the 2^k pages, with three variants interleaved in one process:
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
 * The floor reaches into src/ for the two per-page primitives every path
 * shares (page_ref_put_testzero, free_pages_prepare): a benchmark of an
 * internal algorithm needs its internals.
 *
 * --cma: the series' CMA case: alloc_contig_pages(16384) then free them,
 * per page vs batched.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "internal.h"

enum { V_PER_PAGE, V_BATCHED, V_FLOOR, NR_VARIANTS };
static const char *const variant_names[NR_VARIANTS] = { "per_page", "batched", "floor" };

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

struct contig_ctx {
	pmm_t *pmm;
	int variant;
	unsigned int order;
	unsigned long iterations;
	uint64_t clock_ns;		/* cost of one bench_now_ns() pair */
	unsigned int nloops;
	double loop_ns[BENCH_MAX_REPS + 8];	/* whole-loop ns per iteration, per sample */
};

struct contig_result {
	unsigned int order;
	unsigned long iterations;
	double ns[NR_VARIANTS];		/* free step, median ns per iteration */
	double min_ns[NR_VARIANTS], max_ns[NR_VARIANTS];
	double loop_ns[NR_VARIANTS];	/* whole loop, median ns per iteration */
};

static uint64_t clock_overhead(void)
{
	uint64_t best = UINT64_MAX;

	for (int r = 0; r < 5; r++) {
		uint64_t t0 = bench_now_ns(), t = t0;

		for (int i = 0; i < 10000; i++)
			t = bench_now_ns();
		if ((t - t0) / 10000 < best)
			best = (t - t0) / 10000;
	}
	return best;
}

/* The floor's timed part: what every path must do for each page. */
static void floor_free(pmm_t *pmm, struct pmm_page *page, pmm_pfn_t pfn, unsigned long nr,
		       uint64_t *ns)
{
	uint64_t t0 = bench_now_ns();
	unsigned long ok = 0;

	for (unsigned long i = 0; i < nr; i++)
		ok += page_ref_put_testzero(pmm, &page[i]) && free_pages_prepare(pmm, &page[i], 0);
	*ns += bench_now_ns() - t0;
	if (ok == nr)
		free_prepared_contig_range(pmm, page, pfn, nr);
}

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

static int contig_run(void *arg, struct bench_sample *s)
{
	struct contig_ctx *c = arg;
	unsigned long nr = 1UL << c->order;
	uint64_t timed = 0, start = bench_now_ns();

	for (unsigned long it = 0; it < c->iterations; it++) {
		struct pmm_page *page = pmm_alloc_pages(c->pmm, PMM_GFP_KERNEL, c->order);
		pmm_pfn_t pfn;

		if (!page) {
			fprintf(stderr, "bench contig: order-%u allocation failed\n", c->order);
			return -1;
		}
		pmm_split_page(c->pmm, page, c->order);
		pfn = pmm_page_to_pfn(c->pmm, page);
		if (c->variant == V_FLOOR) {
			floor_free(c->pmm, page, pfn, nr, &timed);
		} else {
			uint64_t t0 = bench_now_ns();

			pmm_free_contig_range(c->pmm, pfn, nr);
			timed += bench_now_ns() - t0;
		}
	}
	uint64_t overhead = c->clock_ns * c->iterations;
	s->ns = timed > overhead ? timed - overhead : 1;
	s->ops = c->iterations;
	if (c->nloops < sizeof(c->loop_ns) / sizeof(c->loop_ns[0]))
		c->loop_ns[c->nloops++] = (double)(bench_now_ns() - start) / (double)c->iterations;
	return 0;
}

/* One order: the three variants interleaved, `reps` samples each after one warm-up. */
static int measure_order(pmm_t *per_page, pmm_t *batched, unsigned int order,
			 unsigned long iterations, unsigned int reps, uint64_t clock_ns,
			 struct contig_result *r)
{
	struct contig_ctx ctx[NR_VARIANTS];
	struct bench_variant var[NR_VARIANTS];
	struct bench_result res[NR_VARIANTS];
	pmm_t *inst[NR_VARIANTS] = { per_page, batched, batched };

	for (int v = 0; v < NR_VARIANTS; v++) {
		ctx[v] = (struct contig_ctx){ .pmm = inst[v], .variant = v, .order = order,
					      .iterations = iterations, .clock_ns = clock_ns };
		var[v] = (struct bench_variant){ variant_names[v], contig_run, &ctx[v] };
	}
	if (bench_run(var, NR_VARIANTS, 1, reps, res))
		return -1;
	r->order = order;
	r->iterations = iterations;
	for (int v = 0; v < NR_VARIANTS; v++) {
		r->ns[v] = res[v].median_ns;
		r->min_ns[v] = res[v].min_ns;
		r->max_ns[v] = res[v].max_ns;
		/* sample 0 is the warm-up */
		r->loop_ns[v] = median(ctx[v].loop_ns + 1, ctx[v].nloops - 1);
	}
	return 0;
}

static bool make_pair(const struct pmm_config *cfg, pmm_t **per_page, pmm_t **batched)
{
	struct pmm_config pc = *cfg, bc = *cfg;

	pc.contig_per_page = true;
	bc.contig_per_page = false;
	*per_page = pmm_opts_create(&pc, "bench contig");
	*batched = *per_page ? pmm_opts_create(&bc, "bench contig") : NULL;
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

static void usage(FILE *f)
{
	fputs("usage: pmm bench contig [--json] [--order K] [--iterations N] [--reps R]\n"
	      "                        [--no-sweep] [--no-models] [--cma [--cma-pages N]]\n"
	      "                        [instance flags]\n"
	      "  The kernel patch's loop (alloc order-K, split_page, free_contig_range),\n"
	      "  per page vs batched vs floor, interleaved in one process; ns per iteration\n"
	      "  of the free step (medians), plus the whole loop. Default K=9, N=100000, R=3;\n"
	      "  the sweep runs orders 0..max_order with fewer iterations; --no-models skips\n"
	      "  the headline order on the other memmap model.\n"
	      "  --cma: alloc_contig_pages(N=16384) then free, per page vs batched.\n",
	      f);
	pmm_opts_usage(f);
}

static int parse(int argc, char **argv, struct contig_opts *o)
{
	for (int i = 1; i < argc; i++) {
		uint64_t v = 0;
		const char *a = argv[i];

		if (!strcmp(a, "--json")) {
			o->json = true;
		} else if (!strcmp(a, "--cma")) {
			o->cma = true;
		} else if (!strcmp(a, "--no-sweep")) {
			o->sweep = false;
		} else if (!strcmp(a, "--no-models")) {
			o->models = false;
		} else if ((!strcmp(a, "--order") || !strcmp(a, "--iterations") ||
			    !strcmp(a, "--reps") || !strcmp(a, "--cma-pages")) && i + 1 < argc) {
			if (pmm_opts_parse_u64(argv[++i], &v)) {
				fprintf(stderr, "bench contig: bad number for %s: %s\n", a, argv[i]);
				return -1;
			}
			if (!strcmp(a, "--order"))
				o->order = (unsigned int)v;
			else if (!strcmp(a, "--iterations"))
				o->iterations = (unsigned long)v;
			else if (!strcmp(a, "--reps"))
				o->reps = (unsigned int)v;
			else
				o->cma_pages = (unsigned long)v;
		} else {
			fprintf(stderr, "bench contig: unknown argument: %s\n", a);
			return -1;
		}
	}
	if (!o->iterations || !o->reps || o->reps > BENCH_MAX_REPS - 1 || !o->cma_pages) {
		fprintf(stderr, "bench contig: --iterations, --reps, --cma-pages must be positive\n");
		return -1;
	}
	return 0;
}

static void print_result(const struct contig_result *r, const char *memmap)
{
	printf("%-8s %5u %10lu %12.0f %12.0f %12.0f %8.2fx %8.2f %14.0f %14.0f\n", memmap,
	       r->order, r->iterations, r->ns[V_PER_PAGE], r->ns[V_BATCHED], r->ns[V_FLOOR],
	       r->ns[V_PER_PAGE] / r->ns[V_BATCHED], r->ns[V_BATCHED] / r->ns[V_FLOOR],
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
	jw_double(w, "speedup", r->ns[V_PER_PAGE] / r->ns[V_BATCHED]);
	jw_double(w, "batched_over_floor", r->ns[V_BATCHED] / r->ns[V_FLOOR]);
	jw_double(w, "per_page_min_ns", r->min_ns[V_PER_PAGE]);
	jw_double(w, "per_page_max_ns", r->max_ns[V_PER_PAGE]);
	jw_double(w, "batched_min_ns", r->min_ns[V_BATCHED]);
	jw_double(w, "batched_max_ns", r->max_ns[V_BATCHED]);
	jw_double(w, "loop_per_page_ns", r->loop_ns[V_PER_PAGE]);
	jw_double(w, "loop_batched_ns", r->loop_ns[V_BATCHED]);
	jw_double(w, "loop_speedup", r->loop_ns[V_PER_PAGE] / r->loop_ns[V_BATCHED]);
}

/* --cma: one iteration = alloc_contig_pages + free_contig_range. */
static int cma_run(void *arg, struct bench_sample *s)
{
	struct contig_ctx *c = arg;
	unsigned long nr = c->iterations;	/* pages per iteration */

	for (unsigned int it = 0; it < c->order; it++) {	/* order = iterations here */
		struct pmm_page *page = pmm_alloc_contig_pages(c->pmm, nr, PMM_GFP_KERNEL, -1);

		if (!page) {
			fprintf(stderr, "bench contig --cma: alloc_contig_pages(%lu) failed\n", nr);
			return -1;
		}
		pmm_free_contig_range(c->pmm, pmm_page_to_pfn(c->pmm, page), nr);
	}
	s->ops = c->order;
	return 0;
}

static int bench_cma(const struct pmm_config *cfg, const struct contig_opts *o)
{
	pmm_t *pp, *bt;
	struct contig_ctx ctx[2];
	struct bench_variant var[2];
	struct bench_result res[2];
	unsigned int iters = 20;
	int ret = PMM_EXIT_FAIL;

	if (!make_pair(cfg, &pp, &bt))
		return PMM_EXIT_FAIL;
	ctx[0] = (struct contig_ctx){ .pmm = pp, .iterations = o->cma_pages, .order = iters };
	ctx[1] = (struct contig_ctx){ .pmm = bt, .iterations = o->cma_pages, .order = iters };
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
		bench_json_config(&w, bt);
		jw_obj_end(&w);
		putchar('\n');
	} else {
		bench_print_config(stdout, bt);
		printf("alloc_contig_pages(%lu) + free_contig_range, us per iteration (median):\n"
		       "  per_page %10.1f  (min %.1f max %.1f)\n  batched  %10.1f  (min %.1f max %.1f)\n"
		       "  speedup  %10.2fx   (kernel patch 3: 1406 -> 402 us, 3.5x)\n",
		       o->cma_pages, res[0].median_ns / 1000, res[0].min_ns / 1000,
		       res[0].max_ns / 1000, res[1].median_ns / 1000, res[1].min_ns / 1000,
		       res[1].max_ns / 1000, res[0].median_ns / res[1].median_ns);
	}
	ret = PMM_EXIT_OK;
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
				 .reps = 3, .cma_pages = 16384 };
	struct contig_result head, other, sweep[PMM_MAX_ORDER_LIMIT + 1];
	struct pmm_config cfg, other_cfg;
	struct bench_pin *pin;
	pmm_t *pp = NULL, *bt = NULL;
	uint64_t clock_ns;
	int ret = PMM_EXIT_FAIL;

	for (int i = 1; i < argc; i++)
		if (pmm_opts_is_help(argv[i])) {
			usage(stdout);
			return PMM_EXIT_OK;
		}
	pmm_config_init(&cfg);
	if (pmm_opts_parse(&argc, argv, &cfg) || parse(argc, argv, &o)) {
		usage(stderr);
		return PMM_EXIT_USAGE;
	}
	if (o.order > cfg.max_order) {
		fprintf(stderr, "bench contig: --order %u above max_order %u\n", o.order, cfg.max_order);
		return PMM_EXIT_USAGE;
	}
	if (o.cma)
		return bench_cma(&cfg, &o);

	pin = bench_pin_begin();
	clock_ns = clock_overhead();
	if (!make_pair(&cfg, &pp, &bt))
		goto out;
	if (!o.json) {
		bench_print_config(stdout, bt);
		printf("free step ns per iteration (median of %u, clock overhead %llu ns subtracted);"
		       " loop = alloc+split+free\n", o.reps, (unsigned long long)clock_ns);
		printf("%-8s %5s %10s %12s %12s %12s %9s %8s %14s %14s\n", "memmap", "order", "iters",
		       "per_page", "batched", "floor", "speedup", "b/floor", "loop_per_page",
		       "loop_batched");
	}
	if (measure_order(pp, bt, o.order, o.iterations, o.reps, clock_ns, &head) ||
	    verify(pp, "per_page") || verify(bt, "batched"))
		goto out;
	if (!o.json)
		print_result(&head, pmm_opts_memmap_name(cfg.memmap));

	if (o.models) {
		pmm_t *opp, *obt;

		other_cfg = cfg;
		other_cfg.memmap = cfg.memmap == PMM_MEMMAP_SPARSE ? PMM_MEMMAP_VMEMMAP : PMM_MEMMAP_SPARSE;
		if (!make_pair(&other_cfg, &opp, &obt))
			goto out;
		ret = measure_order(opp, obt, o.order, o.iterations, o.reps, clock_ns, &other) ||
		      verify(opp, "per_page") || verify(obt, "batched");
		pmm_destroy(opp);
		pmm_destroy(obt);
		if (ret) {
			ret = PMM_EXIT_FAIL;
			goto out;
		}
		if (!o.json)
			print_result(&other, pmm_opts_memmap_name(other_cfg.memmap));
	}
	for (unsigned int k = 0; o.sweep && k <= cfg.max_order; k++) {
		if (measure_order(pp, bt, k, sweep_iterations(k, o.iterations), o.reps, clock_ns,
				  &sweep[k]) ||
		    verify(pp, "per_page") || verify(bt, "batched")) {
			ret = PMM_EXIT_FAIL;
			goto out;
		}
		if (!o.json)
			print_result(&sweep[k], pmm_opts_memmap_name(cfg.memmap));
	}

	if (o.json) {
		struct jw w;

		jw_init(&w, stdout);
		jw_obj_begin(&w, NULL);
		jw_str(&w, "bench", "contig");
		json_result(&w, &head, pmm_opts_memmap_name(cfg.memmap));
		jw_u64(&w, "reps", o.reps);
		jw_u64(&w, "clock_overhead_ns", clock_ns);
		if (o.models) {
			jw_arr_begin(&w, "models");
			jw_obj_begin(&w, NULL);
			json_result(&w, &head, pmm_opts_memmap_name(cfg.memmap));
			jw_obj_end(&w);
			jw_obj_begin(&w, NULL);
			json_result(&w, &other, pmm_opts_memmap_name(other_cfg.memmap));
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
		bench_json_config(&w, bt);
		jw_obj_end(&w);
		putchar('\n');
	} else {
		printf("order %u: batched is %.2fx faster than per page (kernel: 5.6x), %.2fx the floor\n",
		       o.order, head.ns[V_PER_PAGE] / head.ns[V_BATCHED],
		       head.ns[V_BATCHED] / head.ns[V_FLOOR]);
	}
	ret = PMM_EXIT_OK;
out:
	pmm_destroy(pp);
	pmm_destroy(bt);
	bench_pin_end(pin);
	return ret;
}
