/* SPDX-License-Identifier: MIT */
/*
 * testutil.h - what the cmocka tests share (tests/api use pmm.h and this
 * header only; tests/unit may add src/internal.h).
 *
 * A scenario builds an instance with tu_config() (or a variant fixture),
 * drives it, checks along the way, and ends with tu_finish(), which
 * requires pmm_check() == 0 and every frame accounted for. Instances
 * built by tu_config() are deterministic: one pcp set selected by a
 * thread-local CPU number instead of sched_getcpu(), no min watermark,
 * quiet, and bad pages counted into a struct tu_bad.
 *
 * Every helper that can fail asserts through cmocka, so it must run on the
 * test's own thread; threads use common/prng.h and common/pattern.h, which
 * report instead. testutil.c holds the instances, reports, the end of a
 * scenario, variants and the harness; testutil_frames.c the snapshots,
 * allocation lists, patterns and page states.
 */
#ifndef PMM_TESTUTIL_H
#define PMM_TESTUTIL_H

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pmm.h"
#include "common/contig.h"
#include "common/pattern.h"
#include "common/prng.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define TU_MIB(n) ((uint64_t)(n) << 20)
/* Default first pfn of tu_config() instances: 4 GiB, so one Normal zone. */
#define TU_BASE_PFN 0x100000ull
/* tu_contig_config(): 4 MiB sections of 1024 frames, so 64 MiB has 16 of them. */
#define TU_SECTION_SHIFT 22
#define TU_SECTION_PAGES 1024ul
#define TU_MAX_ORDER 10
/* The step between two pages' pointers (pmm.h). */
#define TU_PAGE_STRUCT PMM_PAGE_META_SIZE

/* ------------------------------------------------------------------------
 * Bad-page reports
 * ------------------------------------------------------------------------ */

/* A report channel: what the bad_page_fn of tu_config() instances counts into. */
struct tu_bad {
	atomic_ulong count;		/* reports since tu_bad_reset() */
	_Atomic pmm_pfn_t last_pfn;
	char last_reason[160];		/* last report; read only from single-threaded tests */
};

/* The pmm_bad_page_fn tu_config() installs; @arg is a struct tu_bad. */
void tu_bad_page_cb(void *arg, pmm_pfn_t pfn, const char *reason);
void tu_bad_reset(struct tu_bad *bad);
unsigned long tu_bad_count(struct tu_bad *bad);
/* Where instances configured with a NULL channel report. */
extern struct tu_bad tu_bad_global;

/* Both channels at one moment: the callback count and the bad_page statistic. */
struct tu_report_mark {
	unsigned long cb;	/* tu_bad_count() then */
	uint64_t stat;		/* pmm_stats.bad_page then */
};
void tu_report_mark(pmm_t *pmm, struct tu_bad *bad, struct tu_report_mark *m);
/* tu_reports_since - reports since @m on whichever channel saw more. */
uint64_t tu_reports_since(pmm_t *pmm, struct tu_bad *bad, const struct tu_report_mark *m);

/*
 * tu_assert_reports - exactly @n reports since @m (NULL: since
 * tu_bad_reset()) on both channels, the callback and the bad_page
 * counter; when @reason is not NULL the last one contains it.
 */
#define tu_assert_reports(pmm, bad, m, n, reason) \
	tu_assert_reports_at(pmm, bad, m, n, reason, __FILE__, __LINE__)
void tu_assert_reports_at(pmm_t *pmm, struct tu_bad *bad, const struct tu_report_mark *m,
			  uint64_t n, const char *reason, const char *file, int line);

/* tu_assert_reported - at least one report since @m on either channel; @what names the call. */
#define tu_assert_reported(pmm, bad, m, what) \
	tu_assert_reported_at(pmm, bad, m, what, __FILE__, __LINE__)
void tu_assert_reported_at(pmm_t *pmm, struct tu_bad *bad, const struct tu_report_mark *m,
			   const char *what, const char *file, int line);

/* ------------------------------------------------------------------------
 * Configurations and instances
 * ------------------------------------------------------------------------ */

/* tu_expect_at - fail the test at the caller's @file:@line, with a message, unless @ok. */
void tu_expect_at(bool ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Callbacks that re-enter the instance: @cfg's bad_page_fn and log_fn each
 * drain the pcp lists and read a zone (and, with @check, the bad-page one
 * runs pmm_check()), counting in @calls, while @pmm is set. A deadlock or a
 * failed check shows that a callback ran under a pmm lock.
 */
struct tu_reenter {
	pmm_t *pmm;		/* NULL: the callbacks do nothing */
	unsigned long calls;
	bool check;
};
void tu_reenter_config(struct pmm_config *cfg, struct tu_reenter *r);

/*
 * tu_config - a small instance: one region of @mib MiB at TU_BASE_PFN,
 * memfd backing, min_free_pages 0 (tests may exhaust memory), quiet, one
 * CPU chosen by tu_cpu_fn, bad pages counted into @bad, which is reset
 * (NULL: tu_bad_global, not reset).
 */
void tu_config(struct pmm_config *cfg, uint64_t mib, struct tu_bad *bad);
/* tu_contig_config - tu_config() with TU_SECTION_SHIFT sections and max_order TU_MAX_ORDER. */
void tu_contig_config(struct pmm_config *cfg, uint64_t mib, struct tu_bad *bad);
/* tu_config_cpus - use @n pcp sets, selected per thread with tu_set_cpu(). */
void tu_config_cpus(struct pmm_config *cfg, unsigned int n);
/* tu_config_region - replace region @idx (nr_regions grows to cover it). */
void tu_config_region(struct pmm_config *cfg, unsigned int idx, pmm_pfn_t start,
		      uint64_t nr_pages, int nid);

unsigned int tu_cpu_fn(void *arg);
/* tu_set_cpu - the CPU this thread's calls use (mod the instance's nr_cpus). */
void tu_set_cpu(unsigned int cpu);

/*
 * tu_create - pmm_create() that fails the test with the error's name. The
 * instance is the scenario's until tu_finish() ends it.
 */
pmm_t *tu_create(const struct pmm_config *cfg);
/* tu_instance - tu_create() of tu_contig_config(@mib, @bad). */
pmm_t *tu_instance(uint64_t mib, struct tu_bad *bad);
/* tu_two_node_instance - 4096 frames on node 0 at TU_BASE_PFN, 4096 on node 1 after a hole. */
pmm_t *tu_two_node_instance(struct tu_bad *bad);

/*
 * The holed layout: holes that have pages (PG_reserved) in a present
 * section. Region 0 starts 100 frames into section 0 and ends at frame
 * 1000; region 1 starts at frame 1100, in the same section, and runs for
 * 8000 frames. Frames 0..99 are holes below the first managed pfn, frames
 * 1000..1099 a hole between the regions.
 */
#define TU_HOLE_START (TU_BASE_PFN + 100)
#define TU_GAP_START (TU_BASE_PFN + 1000)
#define TU_R1_START (TU_BASE_PFN + 1100)
#define TU_R1_PAGES 8000u
pmm_t *tu_holed_instance(struct tu_bad *bad);
/* tu_hole_page - the page of the hole frame right before region 0 (same memmap chunk). */
struct pmm_page *tu_hole_page(pmm_t *pmm);

/* tu_stats - pmm_stats_get() as a value. */
struct pmm_stats tu_stats(pmm_t *pmm);
/* tu_check - the invariant checker must pass; a macro for the line number. */
#define tu_check(pmm) assert_int_equal(pmm_check(pmm), 0)

/* ------------------------------------------------------------------------
 * Snapshots: buddyinfo, pageblock types, zones
 * ------------------------------------------------------------------------ */

#define TU_MAX_ZONES (PMM_MAX_NODES * PMM_NR_ZONE_TYPES)

struct tu_buddy {
	unsigned int nr_zones;
	struct {
		int nid;
		enum pmm_zone_type type;
		uint64_t free_pages;
		uint64_t nr_free[PMM_MAX_ORDER_LIMIT + 1];
	} z[TU_MAX_ZONES];
};

/* tu_buddy_snap - drain the pcp lists and record nr_free per order per zone. */
void tu_buddy_snap(pmm_t *pmm, struct tu_buddy *out);
/* tu_buddy_diff - print every difference between @a and @b. Return: how many. */
int tu_buddy_diff(const struct tu_buddy *a, const struct tu_buddy *b);
/* tu_buddy_assert_equal - fail, after printing every difference, unless equal. */
void tu_buddy_assert_equal(const struct tu_buddy *a, const struct tu_buddy *b);
/* tu_buddy_assert_fresh - drain, then buddyinfo must equal @fresh. */
void tu_buddy_assert_fresh(pmm_t *pmm, const struct tu_buddy *fresh);

/* Pageblocks per migratetype, per zone. */
struct tu_pageblocks {
	unsigned int nr_zones;
	uint64_t mt[TU_MAX_ZONES][PMM_MIGRATE_TYPES];
};

void tu_pageblocks_snap(pmm_t *pmm, struct tu_pageblocks *out);
/* tu_pageblocks_assert_equal - fail, after printing every difference, unless equal. */
void tu_pageblocks_assert_equal(const struct tu_pageblocks *a, const struct tu_pageblocks *b);

/* tu_zone - zone info by index, asserted to succeed. */
void tu_zone(pmm_t *pmm, unsigned int idx, struct pmm_zone_info *zi);
/* tu_zone_of_pfn - zone info of the zone that spans @pfn (the test fails if none). */
void tu_zone_of_pfn(pmm_t *pmm, pmm_pfn_t pfn, struct pmm_zone_info *zi);
/* tu_pcp_pages - pcp pages over every zone. */
uint64_t tu_pcp_pages(pmm_t *pmm);
/* tu_free_after_drain - pmm_free_frames() once the pcp lists are empty. */
uint64_t tu_free_after_drain(pmm_t *pmm);

/* ------------------------------------------------------------------------
 * The end of every scenario
 * ------------------------------------------------------------------------ */

/*
 * tu_assert_conserved - in the middle of a scenario: after draining,
 * pmm_check() passes, every frame is free or counted as leaked except
 * @held frames the test still owns, and the two leak counters agree.
 */
#define tu_assert_conserved(pmm, held) tu_assert_conserved_at(pmm, held, __FILE__, __LINE__)
void tu_assert_conserved_at(pmm_t *pmm, uint64_t held, const char *file, int line);

/* tu_end.leaked: the library may leak what it likes, as long as it counts it. */
#define TU_LEAKED_ANY UINT64_MAX

/* What a scenario expects of its instance at the end; zero fields are the strict default. */
struct tu_end {
	pmm_t *pmm;		/* the instance: checked, then destroyed */
	uint64_t held;		/* frames the test still holds (freed by the destroy) */
	uint64_t leaked;	/* frames leaked as bad pages, exactly; or TU_LEAKED_ANY */
	struct tu_bad *bad;	/* the instance's report channel; NULL: reports not checked */
	const struct tu_report_mark *since;	/* count reports from here; NULL: from tu_bad_reset() */
	uint64_t reports;	/* with @bad: the reports expected since @since, on both channels */
	const struct tu_buddy *fresh;	/* NULL, or the buddyinfo the drained instance must show */
	const char *file;	/* the caller, for the failure message */
	int line;
};

/**
 * tu_finish - end a scenario: drain the pcp lists, pmm_check() must pass,
 * free + leaked + held == managed with both leak counters in agreement,
 * the leak and report counts as @end says, the fresh buddyinfo if given;
 * then destroy the instance.
 *
 * Called as tu_finish(pmm, .field = value, ...) with the fields of struct
 * tu_end: tu_finish(pmm) alone expects nothing held, nothing leaked.
 * Context: the test's thread. A failure names the caller's line.
 */
#define tu_finish(...) \
	tu_finish_at(&(struct tu_end){ .file = __FILE__, .line = __LINE__, .pmm = __VA_ARGS__ })
void tu_finish_at(const struct tu_end *end);

/*
 * tu_destroy_leftovers - destroy every tu_create() instance no tu_finish()
 * ended: what a test that failed half-way left behind (fixture teardown).
 */
void tu_destroy_leftovers(void);

/* ------------------------------------------------------------------------
 * Variants: one scenario run once per memmap model, contig path or pcp
 * setting, each run a test case of its own (a failure names the variant)
 * ------------------------------------------------------------------------ */

/* How a case's instance differs from the scenario's base config. */
struct tu_variant {
	const char *name;		/* for messages: "vmemmap/per-page" */
	enum pmm_memmap_model memmap;
	bool per_page;			/* pmm_config.contig_per_page */
	bool pcp_disable;
};

/* The state of a variant case (cmocka's *state), from tu_fx_setup(). */
struct tu_fx {
	struct tu_variant v;		/* this case's variant */
	struct pmm_config cfg;		/* tu_fx_config()'s, for the scenario to edit */
	struct tu_bad bad;		/* reports of the instance */
	pmm_t *pmm;			/* tu_fx_create()'s instance */
	struct tu_buddy fresh;		/* its buddyinfo when created */
	uint64_t managed;		/* its managed frames */
};

/*
 * tu_fx_setup / tu_fx_teardown - the fixture of a variant case: setup
 * turns the case's struct tu_variant (its prestate) into a struct tu_fx;
 * teardown destroys whatever instance a failed scenario left behind.
 */
int tu_fx_setup(void **state);
int tu_fx_teardown(void **state);

/* tu_fx_config - fx->cfg: tu_config() of @mib MiB reporting into fx->bad, the variant applied. */
struct pmm_config *tu_fx_config(struct tu_fx *fx, uint64_t mib);
/* tu_fx_contig_config - the same from tu_contig_config(). */
struct pmm_config *tu_fx_contig_config(struct tu_fx *fx, uint64_t mib);
/* tu_fx_create - create fx->pmm from fx->cfg; record its fresh buddyinfo and managed frames. */
pmm_t *tu_fx_create(struct tu_fx *fx);
/* tu_fx_contig - tu_fx_create() of tu_fx_contig_config(), for a scenario that edits nothing. */
pmm_t *tu_fx_contig(struct tu_fx *fx, uint64_t mib);

/*
 * One cmocka case per variant, named "fn/variant". Built by hand rather
 * than with cmocka_unit_test_prestate_setup_teardown(), which names every
 * case after the function alone.
 */
#define TU_VARIANT_TEST(fn, vname, ...)                                        \
	{ .name = #fn "/" vname, .test_func = fn, .setup_func = tu_fx_setup,   \
	  .teardown_func = tu_fx_teardown,                                     \
	  .initial_state = &(struct tu_variant){ .name = vname, __VA_ARGS__ } }

/* A scenario with no variants, on the same fixture (its instance, fresh buddyinfo, teardown). */
#define TU_TEST(fn)                                                            \
	{ .name = #fn, .test_func = fn, .setup_func = tu_fx_setup,             \
	  .teardown_func = tu_fx_teardown, .initial_state = &(struct tu_variant){ .name = "" } }

/* Both memmap models. */
#define TU_MEMMAP_TESTS(fn)                                                    \
	TU_VARIANT_TEST(fn, "sparse", .memmap = PMM_MEMMAP_SPARSE),            \
	TU_VARIANT_TEST(fn, "vmemmap", .memmap = PMM_MEMMAP_VMEMMAP)

/* Both memmap models times both contiguous-free paths. */
#define TU_CONTIG_TESTS(fn)                                                    \
	TU_VARIANT_TEST(fn, "sparse/batched", .memmap = PMM_MEMMAP_SPARSE),    \
	TU_VARIANT_TEST(fn, "sparse/per-page", .memmap = PMM_MEMMAP_SPARSE,    \
			.per_page = true),                                     \
	TU_VARIANT_TEST(fn, "vmemmap/batched", .memmap = PMM_MEMMAP_VMEMMAP),  \
	TU_VARIANT_TEST(fn, "vmemmap/per-page", .memmap = PMM_MEMMAP_VMEMMAP,  \
			.per_page = true)

/* With and without the pcp lists. */
#define TU_PCP_TESTS(fn)                                                       \
	TU_VARIANT_TEST(fn, "pcp", .pcp_disable = false),                      \
	TU_VARIANT_TEST(fn, "no-pcp", .pcp_disable = true)

/* ------------------------------------------------------------------------
 * Seeded randomness (common/prng.h): the seed is printed so a failure can
 * be replayed with PMM_TEST_SEED=<seed>.
 * ------------------------------------------------------------------------ */

/* tu_seed - PMM_TEST_SEED or a time-based seed, printed once. */
uint64_t tu_seed(void);
/* tu_rng_init - seed @r with stream @salt of tu_seed(), and print both. */
void tu_rng_init(struct prng *r, const char *what, uint64_t salt);

/* ------------------------------------------------------------------------
 * Allocation tracking
 * ------------------------------------------------------------------------ */

enum tu_kind {
	TU_PAGES,	/* pmm_alloc_pages, freed with pmm_free_pages(order) */
	TU_FOLIO,	/* pmm_folio_alloc, freed with pmm_folio_put */
};

struct tu_alloc {
	struct pmm_page *page;
	unsigned int order;
	enum tu_kind kind;
	uint64_t tag;	/* pattern seed written to backed memory; 0: none */
};

struct tu_list {
	struct tu_alloc *v;
	size_t n, cap;
};

void tu_list_push(struct tu_list *l, struct pmm_page *page, unsigned int order,
		  enum tu_kind kind, uint64_t tag);
/* tu_list_take - remove entry @i (order not kept) and return it. */
struct tu_alloc tu_list_take(struct tu_list *l, size_t i);
void tu_list_free(struct tu_list *l);
/* tu_list_frames - the frames the entries of @l hold. */
uint64_t tu_list_frames(const struct tu_list *l);
/* tu_free_one - verify the pattern of @a (if tagged), then give it back. */
void tu_free_one(pmm_t *pmm, const struct tu_alloc *a);
/* tu_free_all - tu_free_one() every entry, release the list (it may be reused), drain. */
void tu_free_all(pmm_t *pmm, struct tu_list *l);

/*
 * tu_fill_exhaust - allocate order-@order blocks with @gfp until one fails,
 * recording them in @l. Return: how many succeeded. Bounded by the managed
 * frames, so a library that never fails still ends the test.
 */
size_t tu_fill_exhaust(pmm_t *pmm, struct tu_list *l, pmm_gfp_t gfp, unsigned int order);

/* tu_assert_distinct - the @n pointers of @v (NULLs skipped) are all different. */
void tu_assert_distinct(struct pmm_page *const *v, size_t n);

/* ------------------------------------------------------------------------
 * Memory contents (common/pattern.h; no-ops on unbacked instances)
 * ------------------------------------------------------------------------ */

/* tu_pattern_write - write the pattern of @tag into every word of 2^@order frames. */
void tu_pattern_write(pmm_t *pmm, struct pmm_page *page, unsigned int order, uint64_t tag);
/* tu_pattern_ok - true when the pattern of tu_pattern_write() is intact; prints the first mismatch. */
bool tu_pattern_ok(pmm_t *pmm, struct pmm_page *page, unsigned int order, uint64_t tag);
#define tu_pattern_verify(pmm, page, order, tag) \
	assert_true(tu_pattern_ok(pmm, page, order, tag))
/* tu_assert_zeroed - every byte of @nr frames from @page is zero (PMM_GFP_ZERO). */
void tu_assert_zeroed(pmm_t *pmm, struct pmm_page *page, unsigned long nr);

/* ------------------------------------------------------------------------
 * Page states
 * ------------------------------------------------------------------------ */

/* tu_pfn - page to pfn, for brevity. */
static inline pmm_pfn_t tu_pfn(pmm_t *pmm, const struct pmm_page *page)
{
	return pmm_page_to_pfn(pmm, page);
}

/* tu_page_at - the page of a managed pfn (the test fails otherwise). */
struct pmm_page *tu_page_at(pmm_t *pmm, pmm_pfn_t pfn);
/* tu_assert_counts - every frame of [@pfn, @pfn + @nr) has refcount @count. */
void tu_assert_counts(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr, int count);
/* tu_alloc_split - a split order-@order block: 2^order pages, refcount 1 each. */
pmm_pfn_t tu_alloc_split(pmm_t *pmm, unsigned int order);
/* tu_take_frozen - @n frozen frames (refcount 0, handed out) at @pfn. */
void tu_take_frozen(pmm_t *pmm, pmm_pfn_t pfn, unsigned long n);
/* tu_skewed_page - a page pointer that is not a page: @off bytes into @p. */
struct pmm_page *tu_skewed_page(struct pmm_page *p, size_t off);

/* ------------------------------------------------------------------------
 * Threads: worker functions use no cmocka asserts; they count errors
 * ------------------------------------------------------------------------ */

#define TU_MAX_THREADS 16

/* Threads of one scenario, each running fn(ctx, id) after tu_set_cpu(id). */
struct tu_threads {
	unsigned int n;
	void (*fn)(void *ctx, unsigned int id);
	void *ctx;
	pthread_t th[TU_MAX_THREADS];
	struct tu_thread {
		struct tu_threads *all;
		unsigned int id;
	} arg[TU_MAX_THREADS];
};

/* tu_threads_start - start @n threads of @fn(@ctx, 0..@n-1); the caller may work meanwhile. */
void tu_threads_start(struct tu_threads *t, unsigned int n, void (*fn)(void *ctx, unsigned int id),
		      void *ctx);
/* tu_threads_join - wait for every thread tu_threads_start() started. */
void tu_threads_join(struct tu_threads *t);
/* tu_threads_run - tu_threads_start() then tu_threads_join(). */
void tu_threads_run(unsigned int n, void (*fn)(void *ctx, unsigned int id), void *ctx);

/* ------------------------------------------------------------------------
 * Harness: main(), child processes, log lines, metadata hooks
 * ------------------------------------------------------------------------ */

/*
 * tu_main - the body of every test program's main(). With an argument,
 * only the cases whose name matches it run (cmocka's '*' and '?'
 * wildcards: "test_pfn_zero/vmemmap*"); the seed is printed first.
 */
#define tu_main(argc, argv, tests) \
	(tu_main_init(argc, argv), cmocka_run_group_tests(tests, NULL, NULL))
void tu_main_init(int argc, char **argv);

/*
 * tu_in_child - run @fn(@arg) in a child process with a @secs time limit,
 * for inputs that might crash or never return. Return: 0 if it returned
 * normally; else -1, after printing how the child ended.
 */
int tu_in_child(const char *what, void (*fn)(void *), void *arg, unsigned int secs);

/* A log_fn capture: how many lines, and the last one. */
struct tu_log {
	int lines;
	char last[256];
};
/* The pmm_log_fn to install with log_arg = a struct tu_log. */
void tu_log_cb(void *arg, const char *line);
/* tu_config_log - not quiet: every log line of the instance goes to @log. */
void tu_config_log(struct pmm_config *cfg, struct tu_log *log);

/*
 * A counting metadata allocator (cfg.meta_alloc / meta_free): every live
 * block with its size, so a leak, a free of a foreign pointer or a free
 * with the wrong size shows. Safe from any thread.
 */
#define TU_META_SLOTS 65536	/* open addressing; a power of two */
struct tu_meta {
	pthread_mutex_t lock;
	long live;		/* blocks allocated and not freed */
	size_t live_bytes;
	long allocs, frees;
	long bad_frees;		/* unknown pointer or size mismatch */
	struct {
		void *p;	/* NULL: empty; tu_meta_tomb: freed */
		size_t size;
	} tab[TU_META_SLOTS];
};
#define TU_META_INIT { .lock = PTHREAD_MUTEX_INITIALIZER }

/* tu_meta_install - route @cfg's metadata through @m. */
void tu_meta_install(struct pmm_config *cfg, struct tu_meta *m);
/* tu_meta_live - blocks of @m not freed yet. */
long tu_meta_live(struct tu_meta *m);
/* tu_meta_reset - nothing may be live; clear the counters and the table. */
void tu_meta_reset(struct tu_meta *m);
/* tu_meta_bad_frees - frees of an unknown pointer or with the wrong size so far. */
long tu_meta_bad_frees(struct tu_meta *m);

#endif /* PMM_TESTUTIL_H */
