/* SPDX-License-Identifier: MIT */
/*
 * fastpath.c - `pmm bench fastpath`: the cost of one order-0 alloc+free pair.
 *
 * Three cases, each on its own instance so the library's counters can be
 * attributed to one case and show that each case exercises what its name
 * says:
 *   pcp_hit     alloc one page, free it: the pcp list serves both sides,
 *               through the instance's fast path (rseq where it can run).
 *   pcp_hit_trylock  the same on an instance with the trylock fast path:
 *               the pair's two pcp trylocks are its difference.
 *   pcp_miss    bursts much larger than pcp->high: allocations refill from
 *               the buddy in batches, frees drain batches back; the figure
 *               is the whole burst divided by its pairs (batch cost amortised
 *               as the kernel amortises it).
 *   buddy_only  pcp_hit's loop on an instance with pcp_disable: every call
 *               takes the zone lock and splits/merges in the buddy.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum fp_case { FP_PCP_HIT, FP_PCP_HIT_TRYLOCK, FP_PCP_MISS, FP_BUDDY_ONLY, FP_NR_CASES };

static const char *const fp_case_names[FP_NR_CASES] = {
	[FP_PCP_HIT] = "pcp_hit",
	[FP_PCP_HIT_TRYLOCK] = "pcp_hit_trylock",
	[FP_PCP_MISS] = "pcp_miss",
	[FP_BUDDY_ONLY] = "buddy_only",
};

struct fp_case_ctx {
	pmm_t *pmm;
	unsigned long pairs;		/* per sample, single-page cases */
	unsigned long burst;		/* pages per burst, pcp_miss */
	unsigned long bursts;		/* bursts per sample, pcp_miss */
	struct pmm_page **pages;	/* pcp_miss: the burst's pages */
	struct pmm_stats before;	/* counters before the first sample */
};

struct fp_opts {
	bool json;
	unsigned int reps;
	unsigned int warmup;
	unsigned long pairs;
	unsigned long burst;		/* 0 = derived from pcp_high */
};

static int fp_alloc_failed(const char *what)
{
	fprintf(stderr, "bench fastpath: %s: order-0 allocation failed\n", what);
	return -1;
}

static int fp_single(void *arg, struct bench_sample *s)
{
	struct fp_case_ctx *c = arg;

	for (unsigned long i = 0; i < c->pairs; i++) {
		struct pmm_page *page = pmm_alloc_pages(c->pmm, PMM_GFP_KERNEL, 0);

		if (!page)
			return fp_alloc_failed("single");
		pmm_free_pages(c->pmm, page, 0);
	}
	s->ops = c->pairs;
	return 0;
}

static int fp_burst(void *arg, struct bench_sample *s)
{
	struct fp_case_ctx *c = arg;

	for (unsigned long b = 0; b < c->bursts; b++) {
		for (unsigned long i = 0; i < c->burst; i++) {
			c->pages[i] = pmm_alloc_pages(c->pmm, PMM_GFP_KERNEL, 0);
			if (!c->pages[i]) {
				while (i--)
					pmm_free_pages(c->pmm, c->pages[i], 0);
				return fp_alloc_failed("burst");
			}
		}
		for (unsigned long i = 0; i < c->burst; i++)
			pmm_free_pages(c->pmm, c->pages[i], 0);
	}
	s->ops = c->bursts * c->burst;
	return 0;
}

enum { FP_JSON, FP_REPS, FP_WARMUP, FP_PAIRS, FP_BURST };

static const struct cli_flag fp_flags[] = {
	{ "json", NULL, FP_JSON, "one line of JSON" },
	{ "reps", "N", FP_REPS, "measured repetitions (default 7)" },
	{ "warmup", "N", FP_WARMUP, "unmeasured rounds first (default 1, at most 100)" },
	{ "pairs", "N", FP_PAIRS, "alloc+free pairs per repetition (default 200000)" },
	{ "burst", "N", FP_BURST, "pcp_miss pages per burst (default 8 * pcp high)" },
	{ NULL, NULL, 0, NULL },
};

static int fp_apply(const struct cli_arg *a, void *ctx)
{
	struct fp_opts *o = ctx;
	uint64_t v;

	switch (a->flag->id) {
	case FP_JSON:
		o->json = true;
		return 0;
	case FP_REPS:
		return cli_arg_uint(a, 1, BENCH_MAX_REPS, &o->reps);
	case FP_WARMUP:
		if (cli_arg_u64(a, 0, UINT64_MAX, NULL, &v))
			return -1;
		o->warmup = v > 100 ? 100u : (unsigned int)v;
		return 0;
	case FP_PAIRS:
		return cli_arg_ulong(a, 1, ULONG_MAX, &o->pairs);
	case FP_BURST:
		return cli_arg_ulong(a, 0, ULONG_MAX, &o->burst);
	}
	return -1;
}

static const struct cli_cmd fp_cmd = {
	.name = "bench fastpath",
	.help = "usage: pmm bench fastpath [--json] [--reps N] [--warmup N] [--pairs N]\n"
		"                          [--burst N] [instance flags]\n"
		"Order-0 alloc+free pair cost: pcp_hit, pcp_miss (bursts past pcp high),\n"
		"buddy_only (pcp disabled). Median over repetitions, cases interleaved.\n",
	.flags = fp_flags,
	.apply = fp_apply,
};

/* Counter deltas per 1000 pairs: what shows a case did what it claims. */
struct fp_counts {
	double pcp_alloc_frac;		/* allocations served by a pcp list */
	double refills_per_kpair;
	double drains_per_kpair;
};

static struct fp_counts fp_counts(struct fp_case_ctx *c)
{
	struct pmm_stats now;
	struct fp_counts r = { 0, 0, 0 };
	double allocs;

	pmm_stats_get(c->pmm, &now);
	allocs = (double)(now.pgalloc - c->before.pgalloc);
	if (allocs > 0) {
		r.pcp_alloc_frac = (double)(now.pcp_alloc - c->before.pcp_alloc) / allocs;
		r.refills_per_kpair = 1000.0 * (double)(now.pcp_refill - c->before.pcp_refill) / allocs;
		r.drains_per_kpair = 1000.0 * (double)(now.pcp_drain - c->before.pcp_drain) / allocs;
	}
	return r;
}

static void fp_print_text(const struct fp_opts *o, pmm_t *pmm, struct fp_case_ctx *ctx,
			  const struct bench_result *res)
{
	printf("fastpath: order-0 alloc+free pair, median of %u repetitions (%u warm-up), "
	       "%lu pairs each\n", o->reps, o->warmup, o->pairs);
	cli_print_config(stdout, pmm);
	if (pmm_get_config(pmm)->pcp_disable)
		printf("note: pcp disabled by flag: every case takes the zone path\n");
	printf("  %-15s %9s %9s %9s %10s %11s %10s\n", "case", "ns/pair", "min",
	       "max", "pcp alloc", "refills/1k", "drains/1k");
	for (int i = 0; i < FP_NR_CASES; i++) {
		struct fp_counts k = fp_counts(&ctx[i]);

		printf("  %-15s %9.1f %9.1f %9.1f %9.1f%% %11.1f %10.1f\n", res[i].name,
		       res[i].median_ns, res[i].min_ns, res[i].max_ns,
		       100.0 * k.pcp_alloc_frac, k.refills_per_kpair, k.drains_per_kpair);
	}
	printf("  pcp fast path: %s; trylock / it = %.2fx\n",
	       cli_pcp_fastpath_name(pmm_get_config(ctx[FP_PCP_HIT].pmm)->pcp_fastpath),
	       res[FP_PCP_HIT_TRYLOCK].median_ns / res[FP_PCP_HIT].median_ns);
	printf("  pcp_miss: bursts of %lu pages; buddy_only / pcp_hit = %.2fx, "
	       "buddy_only / pcp_miss = %.2fx\n", ctx[FP_PCP_MISS].burst,
	       res[FP_BUDDY_ONLY].median_ns / res[FP_PCP_HIT].median_ns,
	       res[FP_BUDDY_ONLY].median_ns / res[FP_PCP_MISS].median_ns);
}

static void fp_print_json(const struct fp_opts *o, pmm_t *pmm, struct fp_case_ctx *ctx,
			  const struct bench_result *res)
{
	struct jw w;

	jw_init(&w, stdout);
	jw_obj_begin(&w, NULL);
	jw_str(&w, "bench", "fastpath");
	jw_arr_begin(&w, "results");
	for (int i = 0; i < FP_NR_CASES; i++) {
		struct fp_counts k = fp_counts(&ctx[i]);

		jw_obj_begin(&w, NULL);
		jw_str(&w, "case", res[i].name);
		jw_str(&w, "pcp_fastpath",
		       cli_pcp_fastpath_name(pmm_get_config(ctx[i].pmm)->pcp_fastpath));
		jw_double(&w, "pair_ns", res[i].median_ns);
		jw_double(&w, "min_ns", res[i].min_ns);
		jw_double(&w, "max_ns", res[i].max_ns);
		jw_double(&w, "pcp_alloc_frac", k.pcp_alloc_frac);
		jw_double(&w, "refills_per_kpair", k.refills_per_kpair);
		jw_double(&w, "drains_per_kpair", k.drains_per_kpair);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_u64(&w, "reps", o->reps);
	jw_u64(&w, "warmup", o->warmup);
	jw_u64(&w, "pairs", o->pairs);
	jw_u64(&w, "burst", ctx[FP_PCP_MISS].burst);
	cli_json_config(&w, pmm);
	jw_obj_end(&w);
	fputc('\n', stdout);
}

int bench_fastpath(int argc, char **argv)
{
	struct fp_opts o = { false, 7, 1, 200000, 0 };
	struct fp_case_ctx ctx[FP_NR_CASES];
	struct bench_variant var[FP_NR_CASES];
	struct bench_result res[FP_NR_CASES];
	struct pmm_config cfg, buddy_cfg, trylock_cfg;
	const struct pmm_config *rc;
	struct bench_pin *pin;
	int ret = CLI_EXIT_FAIL, parsed;
	unsigned long high;

	parsed = cli_parse(&fp_cmd, argc, argv, &cfg, &o);
	if (parsed != CLI_RUN)
		return parsed;
	buddy_cfg = cfg;
	buddy_cfg.pcp_disable = true;
	trylock_cfg = cfg;
	trylock_cfg.pcp_fastpath = PMM_PCP_FASTPATH_TRYLOCK;

	memset(ctx, 0, sizeof(ctx));
	ctx[FP_PCP_HIT].pmm = cli_create(&cfg, "bench fastpath");
	ctx[FP_PCP_HIT_TRYLOCK].pmm = ctx[FP_PCP_HIT].pmm ?
				      cli_create(&trylock_cfg, "bench fastpath") : NULL;
	ctx[FP_PCP_MISS].pmm = ctx[FP_PCP_HIT_TRYLOCK].pmm ?
			       cli_create(&cfg, "bench fastpath") : NULL;
	ctx[FP_BUDDY_ONLY].pmm = ctx[FP_PCP_MISS].pmm ?
				 cli_create(&buddy_cfg, "bench fastpath") : NULL;
	if (!ctx[FP_BUDDY_ONLY].pmm)
		goto out;

	/* Several times pcp->high so most of a burst is refills and drains,
	 * not the pages the list already held; bounded by a quarter of memory.
	 * With the kernel formula (knob 0) batch is at most 63 and high 4 *
	 * batch; the refills/1k column shows what really happened. */
	rc = pmm_get_config(ctx[FP_PCP_MISS].pmm);
	high = rc->pcp_high ? rc->pcp_high : 4ul * (rc->pcp_batch ? rc->pcp_batch : 63);
	ctx[FP_PCP_MISS].burst = o.burst ? o.burst : 8 * high;
	if (ctx[FP_PCP_MISS].burst > pmm_managed_frames(ctx[FP_PCP_MISS].pmm) / 4) {
		fprintf(stderr, "pmm bench fastpath: burst of %lu pages needs more memory "
			"(use --burst or --mem)\n", ctx[FP_PCP_MISS].burst);
		goto out;
	}
	ctx[FP_PCP_MISS].bursts = (o.pairs + ctx[FP_PCP_MISS].burst - 1) / ctx[FP_PCP_MISS].burst;
	ctx[FP_PCP_MISS].pages = calloc(ctx[FP_PCP_MISS].burst, sizeof(struct pmm_page *));
	if (!ctx[FP_PCP_MISS].pages) {
		fprintf(stderr, "pmm bench fastpath: out of memory\n");
		goto out;
	}
	for (int i = 0; i < FP_NR_CASES; i++) {
		ctx[i].pairs = o.pairs;
		pmm_stats_get(ctx[i].pmm, &ctx[i].before);
		var[i].name = fp_case_names[i];
		var[i].run = i == FP_PCP_MISS ? fp_burst : fp_single;
		var[i].arg = &ctx[i];
	}

	pin = bench_pin_begin();
	if (bench_run(var, FP_NR_CASES, o.warmup, o.reps, res) == 0)
		ret = CLI_EXIT_OK;
	bench_pin_end(pin);
	if (ret == CLI_EXIT_OK) {
		if (o.json)
			fp_print_json(&o, ctx[FP_PCP_HIT].pmm, ctx, res);
		else
			fp_print_text(&o, ctx[FP_PCP_HIT].pmm, ctx, res);
	}
out:
	free(ctx[FP_PCP_MISS].pages);
	for (int i = 0; i < FP_NR_CASES; i++)
		pmm_destroy(ctx[i].pmm);
	return ret;
}
