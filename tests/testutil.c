/* SPDX-License-Identifier: MIT */
/*
 * testutil.c - the instance side of testutil.h: report channels,
 * configurations, the end of a scenario, variant fixtures, seeds and the
 * harness (main, child processes, log capture, metadata hooks).
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Bad-page reports
 * ------------------------------------------------------------------------ */

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

static void tu_reenter(struct tu_reenter *r)
{
	struct pmm_zone_info zi;

	if (!r->pmm)
		return;
	r->calls++;
	pmm_drain_all_pages(r->pmm);
	assert_int_equal(pmm_zone_info(r->pmm, 0, &zi), 0);
	(void)pmm_free_frames(r->pmm);
}

static void tu_reenter_bad_page(void *arg, pmm_pfn_t pfn, const char *reason)
{
	struct tu_reenter *r = arg;

	(void)pfn;
	(void)reason;
	tu_reenter(r);
	if (r->pmm && r->check)
		assert_int_equal(pmm_check(r->pmm), 0);
}

static void tu_reenter_log(void *arg, const char *line)
{
	(void)line;
	tu_reenter(arg);
}

void tu_reenter_config(struct pmm_config *cfg, struct tu_reenter *r)
{
	cfg->bad_page_fn = tu_reenter_bad_page;
	cfg->bad_page_arg = r;
	cfg->log_fn = tu_reenter_log;
	cfg->log_arg = r;
	cfg->quiet = false;
}

unsigned long tu_bad_count(struct tu_bad *bad)
{
	return atomic_load(&bad->count);
}

void tu_report_mark(pmm_t *pmm, struct tu_bad *bad, struct tu_report_mark *m)
{
	m->cb = tu_bad_count(bad);
	m->stat = tu_stats(pmm).bad_page;
}

/* Reports on each channel since @m, or since tu_bad_reset() without one. */
static void tu_reports_each(pmm_t *pmm, struct tu_bad *bad, const struct tu_report_mark *m,
			    uint64_t *cb, uint64_t *stat)
{
	static const struct tu_report_mark zero;

	if (!m)
		m = &zero;
	*cb = tu_bad_count(bad) - m->cb;
	*stat = tu_stats(pmm).bad_page - m->stat;
}

uint64_t tu_reports_since(pmm_t *pmm, struct tu_bad *bad, const struct tu_report_mark *m)
{
	uint64_t cb, stat;

	tu_reports_each(pmm, bad, m, &cb, &stat);
	return cb > stat ? cb : stat;
}

void tu_expect_at(bool ok, const char *file, int line, const char *fmt, ...)
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

/* ------------------------------------------------------------------------
 * Configurations and instances
 * ------------------------------------------------------------------------ */

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
	if (bad)
		tu_bad_reset(bad);
	tu_config_cpus(cfg, 1);
}

void tu_contig_config(struct pmm_config *cfg, uint64_t mib, struct tu_bad *bad)
{
	tu_config(cfg, mib, bad);
	cfg->section_shift = TU_SECTION_SHIFT;
	cfg->max_order = TU_MAX_ORDER;
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
 * have at most a few at a time.
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

pmm_t *tu_instance(uint64_t mib, struct tu_bad *bad)
{
	struct pmm_config cfg;

	tu_contig_config(&cfg, mib, bad);
	return tu_create(&cfg);
}

pmm_t *tu_two_node_instance(struct tu_bad *bad)
{
	struct pmm_config cfg;

	tu_contig_config(&cfg, 16, bad);
	tu_config_region(&cfg, 0, TU_BASE_PFN, 4096, 0);
	tu_config_region(&cfg, 1, TU_BASE_PFN + 8192, 4096, 1);
	return tu_create(&cfg);
}

pmm_t *tu_holed_instance(struct tu_bad *bad)
{
	struct pmm_config cfg;

	tu_contig_config(&cfg, 16, bad);
	tu_config_region(&cfg, 0, TU_HOLE_START, TU_GAP_START - TU_HOLE_START, 0);
	tu_config_region(&cfg, 1, TU_R1_START, TU_R1_PAGES, 0);
	return tu_create(&cfg);
}

struct pmm_page *tu_hole_page(pmm_t *pmm)
{
	struct pmm_page *first = pmm_pfn_to_page(pmm, TU_HOLE_START);

	assert_non_null(first);
	assert_null(pmm_pfn_to_page(pmm, TU_HOLE_START - 1));
	return (struct pmm_page *)((char *)first - TU_PAGE_STRUCT);
}

struct pmm_stats tu_stats(pmm_t *pmm)
{
	struct pmm_stats st;

	pmm_stats_get(pmm, &st);
	return st;
}

/* ------------------------------------------------------------------------
 * The end of every scenario
 * ------------------------------------------------------------------------ */

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

	/* Folios an LRU add batch holds go first (freed if that was their last reference), then the pcp lists. */
	pmm_lru_add_drain(pmm);
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

pmm_t *tu_fx_contig(struct tu_fx *fx, uint64_t mib)
{
	tu_fx_contig_config(fx, mib);
	return tu_fx_create(fx);
}

/* ------------------------------------------------------------------------
 * Seeded randomness
 * ------------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------------
 * Threads
 * ------------------------------------------------------------------------ */

static void *tu_thread_main(void *arg)
{
	struct tu_thread *t = arg;

	tu_set_cpu(t->id);
	t->all->fn(t->all->ctx, t->id);
	return NULL;
}

void tu_threads_start(struct tu_threads *t, unsigned int n, void (*fn)(void *ctx, unsigned int id),
		      void *ctx)
{
	assert_true(n <= TU_MAX_THREADS);
	t->n = n;
	t->fn = fn;
	t->ctx = ctx;
	for (unsigned int i = 0; i < n; i++) {
		t->arg[i] = (struct tu_thread){ .all = t, .id = i };
		assert_int_equal(pthread_create(&t->th[i], NULL, tu_thread_main, &t->arg[i]), 0);
	}
}

void tu_threads_join(struct tu_threads *t)
{
	for (unsigned int i = 0; i < t->n; i++)
		assert_int_equal(pthread_join(t->th[i], NULL), 0);
	t->n = 0;
}

void tu_threads_run(unsigned int n, void (*fn)(void *ctx, unsigned int id), void *ctx)
{
	struct tu_threads t;

	tu_threads_start(&t, n, fn, ctx);
	tu_threads_join(&t);
}

/* ------------------------------------------------------------------------
 * Harness
 * ------------------------------------------------------------------------ */

void tu_main_init(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	tu_seed();
}

int tu_in_child(const char *what, void (*fn)(void *), void *arg, unsigned int secs)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(secs);
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		print_message("%s: child killed by signal %d (%s)%s\n", what, WTERMSIG(status),
			      strsignal(WTERMSIG(status)),
			      WTERMSIG(status) == SIGALRM ? ": did not return in time" : "");
	else
		print_message("%s: child exited with status %d\n", what, WEXITSTATUS(status));
	return -1;
}

void tu_log_cb(void *arg, const char *line)
{
	struct tu_log *c = arg;

	c->lines++;
	snprintf(c->last, sizeof(c->last), "%s", line);
}

void tu_config_log(struct pmm_config *cfg, struct tu_log *log)
{
	cfg->quiet = false;
	cfg->log_fn = tu_log_cb;
	cfg->log_arg = log;
}

static char tu_meta_tomb_byte;
#define TU_META_TOMB ((void *)&tu_meta_tomb_byte)

static size_t tu_meta_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p >> 12;

	return (size_t)((x * 0x9e3779b97f4a7c15ull) >> 40) & (TU_META_SLOTS - 1);
}

/* The slot holding @p, or TU_META_SLOTS. Context: m->lock held. */
static size_t tu_meta_find(struct tu_meta *m, const void *p)
{
	size_t h = tu_meta_hash(p);

	for (size_t n = 0; n < TU_META_SLOTS; n++, h = (h + 1) & (TU_META_SLOTS - 1)) {
		if (m->tab[h].p == p)
			return h;
		if (!m->tab[h].p)
			break;
	}
	return TU_META_SLOTS;
}

static void *tu_meta_alloc(void *arg, size_t size)
{
	struct tu_meta *m = arg;
	void *p = mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	size_t h = TU_META_SLOTS;

	if (p == MAP_FAILED)
		return NULL;
	pthread_mutex_lock(&m->lock);
	for (size_t n = 0, i = tu_meta_hash(p); n < TU_META_SLOTS;
	     n++, i = (i + 1) & (TU_META_SLOTS - 1)) {
		if (!m->tab[i].p || m->tab[i].p == TU_META_TOMB) {
			h = i;
			break;
		}
	}
	if (h == TU_META_SLOTS) {	/* full: the allocation fails, as the caller must handle */
		pthread_mutex_unlock(&m->lock);
		munmap(p, size ? size : 1);
		return NULL;
	}
	m->tab[h].p = p;
	m->tab[h].size = size;
	m->live++;
	m->live_bytes += size;
	m->allocs++;
	pthread_mutex_unlock(&m->lock);
	return p;
}

static void tu_meta_free(void *arg, void *p, size_t size)
{
	struct tu_meta *m = arg;
	size_t h;

	pthread_mutex_lock(&m->lock);
	h = p ? tu_meta_find(m, p) : TU_META_SLOTS;
	if (h == TU_META_SLOTS || m->tab[h].size != size) {
		m->bad_frees++;
		pthread_mutex_unlock(&m->lock);
		return;
	}
	m->tab[h].p = TU_META_TOMB;
	m->live--;
	m->live_bytes -= size;
	m->frees++;
	pthread_mutex_unlock(&m->lock);
	munmap(p, size ? size : 1);
}

void tu_meta_install(struct pmm_config *cfg, struct tu_meta *m)
{
	cfg->meta_alloc = tu_meta_alloc;
	cfg->meta_free = tu_meta_free;
	cfg->meta_arg = m;
}

long tu_meta_live(struct tu_meta *m)
{
	long n;

	pthread_mutex_lock(&m->lock);
	n = m->live;
	pthread_mutex_unlock(&m->lock);
	return n;
}

void tu_meta_reset(struct tu_meta *m)
{
	assert_int_equal(tu_meta_live(m), 0);
	pthread_mutex_lock(&m->lock);
	m->live_bytes = 0;
	m->allocs = m->frees = m->bad_frees = 0;
	memset(m->tab, 0, sizeof(m->tab));
	pthread_mutex_unlock(&m->lock);
}

long tu_meta_bad_frees(struct tu_meta *m)
{
	long n;

	pthread_mutex_lock(&m->lock);
	n = m->bad_frees;
	pthread_mutex_unlock(&m->lock);
	return n;
}
