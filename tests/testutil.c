/* SPDX-License-Identifier: MIT */
/* testutil.c - helpers shared by the cmocka API tests. */
#define _GNU_SOURCE
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct tu_bad tu_bad_global;

void tu_bad_page_cb(void *arg, pmm_pfn_t pfn, const char *reason)
{
	struct tu_bad *bad = arg;

	atomic_fetch_add(&bad->count, 1);
	atomic_store(&bad->last_pfn, pfn);
	snprintf(bad->last_reason, sizeof(bad->last_reason), "%s", reason ? reason : "(null)");
}

void tu_bad_reset(struct tu_bad *bad)
{
	atomic_store(&bad->count, 0);
	atomic_store(&bad->last_pfn, 0);
	bad->last_reason[0] = '\0';
}

unsigned long tu_bad_count(struct tu_bad *bad)
{
	return atomic_load(&bad->count);
}

void tu_report_mark(pmm_t *pmm, struct tu_bad *bad, struct tu_report_mark *m)
{
	struct pmm_stats st;

	pmm_stats_get(pmm, &st);
	m->cb = tu_bad_count(bad);
	m->stat = st.bad_page;
}

uint64_t tu_reports_since(pmm_t *pmm, struct tu_bad *bad, const struct tu_report_mark *m)
{
	struct pmm_stats st;
	uint64_t cb, stat;

	pmm_stats_get(pmm, &st);
	cb = tu_bad_count(bad) - m->cb;
	stat = st.bad_page - m->stat;
	return cb > stat ? cb : stat;
}

static int tu_buddy_diff(const struct tu_buddy *a, const struct tu_buddy *b);

/* Fail the test at the caller's @file:@line, with a message, unless @ok. */
static void tu_expect_at(bool ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void tu_expect_at(bool ok, const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (ok)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	print_error("%s:%d: %s\n", file, line, msg);
	_fail(file, line);
}

/* Reports on each channel since @m, or since tu_bad_reset() without one. */
static void tu_reports_each(pmm_t *pmm, struct tu_bad *bad, const struct tu_report_mark *m,
			    uint64_t *cb, uint64_t *stat)
{
	struct tu_report_mark zero = { 0 };

	if (!m)
		m = &zero;
	*cb = tu_bad_count(bad) - m->cb;
	*stat = tu_stats(pmm).bad_page - m->stat;
}

void tu_assert_reports_at(pmm_t *pmm, struct tu_bad *bad, const struct tu_report_mark *m,
			  uint64_t n, const char *reason, const char *file, int line)
{
	uint64_t cb, stat;

	tu_reports_each(pmm, bad, m, &cb, &stat);
	tu_expect_at(cb == n && stat == n, file, line,
		     "bad-page reports: callback %" PRIu64 ", counter %" PRIu64 ", expected %" PRIu64
		     " (last \"%s\")", cb, stat, n, bad->last_reason);
	tu_expect_at(!reason || strstr(bad->last_reason, reason), file, line,
		     "last report \"%s\" lacks \"%s\"", bad->last_reason, reason ? reason : "");
}

void tu_assert_reported_at(pmm_t *pmm, struct tu_bad *bad, const struct tu_report_mark *m,
			   const char *what, const char *file, int line)
{
	tu_expect_at(tu_reports_since(pmm, bad, m) > 0, file, line, "%s: no bad-page report", what);
}

/* ------------------------------------------------------------------------ */

static _Thread_local unsigned int tu_this_cpu;

unsigned int tu_cpu_fn(void *arg)
{
	unsigned int n = (unsigned int)(uintptr_t)arg;

	return n ? tu_this_cpu % n : 0;
}

void tu_set_cpu(unsigned int cpu)
{
	tu_this_cpu = cpu;
}

void tu_config(struct pmm_config *cfg, uint64_t mib, struct tu_bad *bad)
{
	pmm_config_init(cfg);
	cfg->nr_regions = 1;
	cfg->regions[0].start_pfn = TU_BASE_PFN;
	cfg->regions[0].nr_pages = TU_MIB(mib) >> cfg->page_shift;
	cfg->regions[0].nid = 0;
	cfg->backing = PMM_BACKING_MEMFD;
	cfg->min_free_pages = 0;
	cfg->quiet = true;
	cfg->bad_page_fn = tu_bad_page_cb;
	cfg->bad_page_arg = bad ? bad : &tu_bad_global;
	tu_config_cpus(cfg, 1);
}

void tu_config_cpus(struct pmm_config *cfg, unsigned int n)
{
	cfg->nr_cpus = n;
	cfg->cpu_fn = tu_cpu_fn;
	cfg->cpu_arg = (void *)(uintptr_t)n;
}

void tu_config_region(struct pmm_config *cfg, unsigned int idx, pmm_pfn_t start,
		      uint64_t nr_pages, int nid)
{
	assert_true(idx < PMM_MAX_REGIONS);
	cfg->regions[idx].start_pfn = start;
	cfg->regions[idx].nr_pages = nr_pages;
	cfg->regions[idx].nid = nid;
	if (cfg->nr_regions <= idx)
		cfg->nr_regions = idx + 1;
}

/*
 * The instances tu_create() made that no tu_finish() has ended yet, so a
 * fixture's teardown can destroy what a failed test left behind. Tests
 * create at most a few at a time.
 */
static pmm_t *tu_live[8];

pmm_t *tu_create(const struct pmm_config *cfg)
{
	pmm_t *pmm = NULL;
	int rc = pmm_create(cfg, &pmm);
	size_t i = 0;

	if (rc != 0)
		print_message("pmm_create: %d (%s)\n", rc, pmm_strerror(rc));
	assert_int_equal(rc, 0);
	assert_non_null(pmm);
	while (i < ARRAY_SIZE(tu_live) && tu_live[i])
		i++;
	assert_true(i < ARRAY_SIZE(tu_live));
	tu_live[i] = pmm;
	return pmm;
}

void tu_destroy_leftovers(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(tu_live); i++) {
		pmm_destroy(tu_live[i]);
		tu_live[i] = NULL;
	}
}

void tu_assert_conserved_at(pmm_t *pmm, uint64_t held, const char *file, int line)
{
	uint64_t free_frames, leaked, managed, leaked_stat;
	int rc;

	pmm_drain_all_pages(pmm);
	rc = pmm_check(pmm);
	tu_expect_at(rc == 0, file, line, "pmm_check: %d (%s)", rc, pmm_strerror(rc));
	free_frames = pmm_free_frames(pmm);
	leaked = pmm_leaked_frames(pmm);
	managed = pmm_managed_frames(pmm);
	tu_expect_at(free_frames + leaked + held == managed, file, line,
		     "conservation: free %" PRIu64 " + leaked %" PRIu64 " + held %" PRIu64
		     " != managed %" PRIu64, free_frames, leaked, held, managed);
	leaked_stat = tu_stats(pmm).leaked_pages;
	tu_expect_at(leaked_stat == leaked, file, line,
		     "leak counters: pmm_leaked_frames %" PRIu64 ", stats leaked_pages %" PRIu64,
		     leaked, leaked_stat);
}

void tu_finish_at(const struct tu_end *e)
{
	pmm_t *pmm = e->pmm;
	uint64_t leaked;

	tu_expect_at(pmm != NULL, e->file, e->line, "tu_finish without an instance");
	tu_assert_conserved_at(pmm, e->held, e->file, e->line);
	leaked = pmm_leaked_frames(pmm);
	tu_expect_at(e->leaked == TU_LEAKED_ANY || leaked == e->leaked, e->file, e->line,
		     "%" PRIu64 " frames leaked, expected %" PRIu64, leaked, e->leaked);
	if (e->bad)
		tu_assert_reports_at(pmm, e->bad, e->since, e->reports, NULL, e->file, e->line);
	if (e->fresh) {
		struct tu_buddy now;

		tu_buddy_snap(pmm, &now);
		tu_expect_at(tu_buddy_diff(&now, e->fresh) == 0, e->file, e->line,
			     "buddyinfo differs from the fresh instance's");
	}
	for (size_t i = 0; i < ARRAY_SIZE(tu_live); i++)
		if (tu_live[i] == pmm)
			tu_live[i] = NULL;
	pmm_destroy(pmm);
}

/* ------------------------------------------------------------------------ */

uint64_t tu_seed(void)
{
	static int done;
	static uint64_t seed;

	if (!done) {
		const char *env = getenv("PMM_TEST_SEED");

		if (env && *env) {
			seed = strtoull(env, NULL, 0);
		} else {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^
			       ((uint64_t)getpid() << 32);
		}
		done = 1;
		print_message("seed: PMM_TEST_SEED=%" PRIu64 "\n", seed);
	}
	return seed;
}

void tu_rng_init(struct prng *r, const char *what, uint64_t salt)
{
	uint64_t seed = tu_seed();

	prng_init(r, seed, salt);
	print_message("%s: PMM_TEST_SEED=%" PRIu64 " salt %" PRIu64 "\n", what, seed, salt);
}

/* ------------------------------------------------------------------------ */

void tu_zone(pmm_t *pmm, unsigned int idx, struct pmm_zone_info *zi)
{
	memset(zi, 0, sizeof(*zi));
	assert_int_equal(pmm_zone_info(pmm, idx, zi), 0);
}

uint64_t tu_pcp_pages(pmm_t *pmm)
{
	uint64_t sum = 0;
	unsigned int n = pmm_nr_zones(pmm);

	for (unsigned int i = 0; i < n; i++) {
		struct pmm_zone_info zi;

		tu_zone(pmm, i, &zi);
		sum += zi.pcp_pages;
	}
	return sum;
}

uint64_t tu_free_after_drain(pmm_t *pmm)
{
	pmm_drain_all_pages(pmm);
	return pmm_free_frames(pmm);
}

void tu_buddy_snap(pmm_t *pmm, struct tu_buddy *out)
{
	memset(out, 0, sizeof(*out));
	pmm_drain_all_pages(pmm);
	out->nr_zones = pmm_nr_zones(pmm);
	assert_true(out->nr_zones <= TU_MAX_ZONES);
	for (unsigned int i = 0; i < out->nr_zones; i++) {
		struct pmm_zone_info zi;

		tu_zone(pmm, i, &zi);
		out->z[i].nid = zi.nid;
		out->z[i].type = zi.type;
		out->z[i].free_pages = zi.free_pages;
		memcpy(out->z[i].nr_free, zi.nr_free, sizeof(zi.nr_free));
	}
}

/* Print every difference between @a and @b. Return: how many there are. */
static int tu_buddy_diff(const struct tu_buddy *a, const struct tu_buddy *b)
{
	int diffs = 0;

	if (a->nr_zones != b->nr_zones) {
		print_message("%u zones != %u zones\n", a->nr_zones, b->nr_zones);
		return 1;
	}
	for (unsigned int i = 0; i < a->nr_zones; i++) {
		if (a->z[i].free_pages != b->z[i].free_pages) {
			print_message("zone %u (node %d type %d): free_pages %" PRIu64
				      " != %" PRIu64 "\n", i, a->z[i].nid, (int)a->z[i].type,
				      a->z[i].free_pages, b->z[i].free_pages);
			diffs++;
		}
		for (unsigned int o = 0; o <= PMM_MAX_ORDER_LIMIT; o++) {
			if (a->z[i].nr_free[o] == b->z[i].nr_free[o])
				continue;
			print_message("zone %u (node %d type %d): nr_free[%u] %" PRIu64
				      " != %" PRIu64 "\n", i, a->z[i].nid, (int)a->z[i].type, o,
				      a->z[i].nr_free[o], b->z[i].nr_free[o]);
			diffs++;
		}
	}
	return diffs;
}

void tu_buddy_assert_equal(const struct tu_buddy *a, const struct tu_buddy *b)
{
	assert_int_equal(tu_buddy_diff(a, b), 0);
}

void tu_buddy_assert_fresh(pmm_t *pmm, const struct tu_buddy *fresh)
{
	struct tu_buddy now;

	tu_buddy_snap(pmm, &now);
	tu_buddy_assert_equal(&now, fresh);
}

/* ------------------------------------------------------------------------ */

void tu_list_push(struct tu_list *l, struct pmm_page *page, unsigned int order,
		  enum tu_kind kind, uint64_t tag)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct tu_alloc *v = realloc(l->v, cap * sizeof(*v));

		assert_non_null(v);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct tu_alloc){ .page = page, .order = order, .kind = kind, .tag = tag };
}

struct tu_alloc tu_list_take(struct tu_list *l, size_t i)
{
	struct tu_alloc a;

	assert_true(i < l->n);
	a = l->v[i];
	l->v[i] = l->v[--l->n];
	return a;
}

void tu_list_free(struct tu_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

void tu_free_one(pmm_t *pmm, const struct tu_alloc *a)
{
	if (a->tag)
		tu_pattern_verify(pmm, a->page, a->order, a->tag);
	if (a->kind == TU_FOLIO)
		pmm_folio_put(pmm, pmm_page_folio(a->page));
	else
		pmm_free_pages(pmm, a->page, a->order);
}

void tu_free_all(pmm_t *pmm, struct tu_list *l)
{
	while (l->n) {
		struct tu_alloc a = l->v[--l->n];

		tu_free_one(pmm, &a);
	}
	pmm_drain_all_pages(pmm);
}

size_t tu_fill_exhaust(pmm_t *pmm, struct tu_list *l, pmm_gfp_t gfp, unsigned int order)
{
	uint64_t limit = (pmm_managed_frames(pmm) >> order) + 1;
	size_t n = 0;

	while (n < limit) {
		struct pmm_page *p = pmm_alloc_pages(pmm, gfp | PMM_GFP_NOWARN, order);

		if (!p) {
			/* pcp pages are invisible to the watermark check: retry once drained */
			pmm_drain_all_pages(pmm);
			p = pmm_alloc_pages(pmm, gfp | PMM_GFP_NOWARN, order);
			if (!p)
				break;
		}
		tu_list_push(l, p, order, TU_PAGES, 0);
		n++;
	}
	assert_true(n < limit);
	return n;
}

/* ------------------------------------------------------------------------ */

void tu_pattern_write(pmm_t *pmm, struct pmm_page *page, unsigned int order, uint64_t tag)
{
	pattern_write(pmm, pmm_page_to_pfn(pmm, page), 1ul << order, tag, PATTERN_ALL);
}

bool tu_pattern_ok(pmm_t *pmm, struct pmm_page *page, unsigned int order, uint64_t tag)
{
	struct pattern_mismatch bad;

	if (pattern_verify(pmm, pmm_page_to_pfn(pmm, page), 1ul << order, tag, PATTERN_ALL, &bad))
		return true;
	print_message("pattern mismatch: pfn %#" PRIx64 " word %zu: %#" PRIx64 " != %#" PRIx64 "\n",
		      bad.pfn, bad.word, bad.got, bad.want);
	return false;
}

/* ------------------------------------------------------------------------
 * Contiguous-range helpers
 * ------------------------------------------------------------------------ */

void tu_contig_config(struct pmm_config *cfg, uint64_t mib, struct tu_bad *bad)
{
	tu_config(cfg, mib, bad);
	cfg->section_shift = TU_SECTION_SHIFT;
	cfg->max_order = TU_MAX_ORDER;
}

struct pmm_stats tu_stats(pmm_t *pmm)
{
	struct pmm_stats st;

	pmm_stats_get(pmm, &st);
	return st;
}

/* An aligned chunk never crosses a section (max_order + page_shift <= section_shift). */
unsigned long tu_ref_chunks(pmm_pfn_t pfn, unsigned long nr, unsigned int max_order)
{
	unsigned long chunks = 0;

	while (nr) {
		unsigned int o = max_order;

		while (o && ((pfn & ((1ull << o) - 1)) || (1ul << o) > nr))
			o--;
		pfn += 1ull << o;
		nr -= 1ul << o;
		chunks++;
	}
	return chunks;
}

pmm_pfn_t tu_alloc_split(pmm_t *pmm, unsigned int order)
{
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, order);

	assert_non_null(p);
	pmm_split_page(pmm, p, order);
	return pmm_page_to_pfn(pmm, p);
}

struct pmm_page *tu_page_at(pmm_t *pmm, pmm_pfn_t pfn)
{
	struct pmm_page *p = pmm_pfn_to_page(pmm, pfn);

	if (!p)
		print_message("pfn %#" PRIx64 " is not managed\n", pfn);
	assert_non_null(p);
	return p;
}

/* ------------------------------------------------------------------------
 * Variants
 * ------------------------------------------------------------------------ */

int tu_fx_setup(void **state)
{
	struct tu_fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->v = *(const struct tu_variant *)*state;
	*state = fx;
	return 0;
}

int tu_fx_teardown(void **state)
{
	tu_destroy_leftovers();
	free(*state);
	return 0;
}

static struct pmm_config *tu_fx_apply(struct tu_fx *fx)
{
	fx->cfg.memmap = fx->v.memmap;
	fx->cfg.contig_per_page = fx->v.per_page;
	fx->cfg.pcp_disable = fx->v.pcp_disable;
	return &fx->cfg;
}

struct pmm_config *tu_fx_config(struct tu_fx *fx, uint64_t mib)
{
	tu_config(&fx->cfg, mib, &fx->bad);
	return tu_fx_apply(fx);
}

struct pmm_config *tu_fx_contig_config(struct tu_fx *fx, uint64_t mib)
{
	tu_contig_config(&fx->cfg, mib, &fx->bad);
	return tu_fx_apply(fx);
}

pmm_t *tu_fx_create(struct tu_fx *fx)
{
	tu_bad_reset(&fx->bad);
	fx->pmm = tu_create(&fx->cfg);
	tu_buddy_snap(fx->pmm, &fx->fresh);
	fx->managed = pmm_managed_frames(fx->pmm);
	return fx->pmm;
}
