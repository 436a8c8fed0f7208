/* SPDX-License-Identifier: MIT */
/*
 * test_mm_threads.c - address spaces from several threads (run under TSan
 * by `make test`), through pmm.h only.
 *
 *  - Private mms: each thread its own mm and its own forks, doing faults,
 *    COW writes, partial unmaps, swap-cache adds, scans, LRU drains and
 *    exits, contents verified, while the others do the same.
 *  - Shared after fork: parent and child on two threads, writing (COW),
 *    reading, unmapping and caching the folios they share, with a third
 *    thread scanning the deferred split queue and draining the LRU.
 *  - Teardown against whatever takes references (issue 9): an mm exits
 *    while its queued folios are being scanned; a parent exits while the
 *    child, on the other side of the fork, adds the shared folios to the
 *    swap cache and faults, and the scanner and LRU drain run; both sides
 *    exit at once.
 *  - One mm, two threads: the mm's own lock (calls on one mm are
 *    serialised), each thread in its own VMAs, one of them forking.
 *
 * Worker threads never call cmocka asserts: they record the first error,
 * which the test thread reports. Every test ends with every mm destroyed,
 * pmm_check() == 0 and buddyinfo equal to the fresh instance's
 * (mu_finish). Seeds are printed.
 *
 * Contract points these tests rely on beyond the prototypes:
 *  - pmm_deferred_split_scan, pmm_lru_add_drain and pmm_swapcache_nr may
 *    run on any thread at any time (instance-wide, "every call is thread
 *    safe"); pmm_mm_* calls on one mm from two threads are serialised by
 *    the mm's lock, and a pointer from pmm_mm_access stays valid while
 *    nothing changes that mapping (here: the other thread never touches
 *    that range).
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "mm_util.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RWP (PMM_MAP_WRITE | PMM_MAP_POPULATE)
#define NT 4
#define UNMAPPED UINT64_MAX	/* shadow: the page was unmapped */

/* ------------------------------------------------------------------------
 * Errors from worker threads
 * ------------------------------------------------------------------------ */

struct errs {
	atomic_int n;
	pthread_mutex_t lock;
	char first[256];
};

static struct errs errs = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void terr(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&errs.n, 1))
		return;
	pthread_mutex_lock(&errs.lock);
	va_start(ap, fmt);
	vsnprintf(errs.first, sizeof(errs.first), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&errs.lock);
}

static void errs_reset(void)
{
	atomic_store(&errs.n, 0);
	errs.first[0] = '\0';
}

static void errs_assert_none(void)
{
	int n = atomic_load(&errs.n);

	if (n) {
		pthread_mutex_lock(&errs.lock);
		print_message("%d error(s) in worker threads; first: %s\n", n, errs.first);
		pthread_mutex_unlock(&errs.lock);
	}
	assert_int_equal(n, 0);
}

static bool failed(void)
{
	return atomic_load(&errs.n) != 0;
}

/* ------------------------------------------------------------------------
 * A per-mm shadow of a fixed layout: NV VMAs of up to VP pages
 * ------------------------------------------------------------------------ */

#define NV 3
#define VP 512

struct layout {
	uint64_t start[NV];
	uint64_t pages[NV];
	unsigned int order[NV];
};

struct view {
	pmm_mm_t *mm;
	uint64_t tags[NV][VP];	/* 0: never written, UNMAPPED: unmapped */
};

static uint64_t vaddr(const struct layout *l, int v, uint64_t i)
{
	return l->start[v] + MU_PAGES(i);
}

static void layout_random(struct prng *r, struct layout *l)
{
	for (int v = 0; v < NV; v++) {
		l->order[v] = (unsigned int)prng_below(r, MU_MAX_FOLIO_ORDER + 1);
		l->pages[v] = 16 + prng_below(r, VP - 16 + 1);
		l->start[v] = MU_BASE + (uint64_t)v * MU_PUD_SIZE +
			      MU_PAGES(prng_below(r, 2) ? 0 : prng_below(r, 64));
	}
}

/* Map and populate the layout in @w->mm; 0 or an error was recorded. */
static int view_map(struct view *w, const struct layout *l)
{
	for (int v = 0; v < NV; v++) {
		int rc = pmm_mm_map_anon(w->mm, l->start[v], MU_PAGES(l->pages[v]), l->order[v],
					 RWP);

		if (rc) {
			terr("map VMA %d order %u: %d", v, l->order[v], rc);
			return rc;
		}
		for (uint64_t i = 0; i < VP; i++)
			w->tags[v][i] = i < l->pages[v] ? 0 : UNMAPPED;
	}
	return 0;
}

static void view_write(struct view *w, const struct layout *l, struct prng *r, uint64_t tag)
{
	int v = (int)prng_below(r, NV);
	uint64_t i = prng_below(r, l->pages[v]);
	int rc;

	if (w->tags[v][i] == UNMAPPED)
		return;
	rc = mu_try_write_tag(w->mm, vaddr(l, v, i), tag);
	if (rc)
		terr("write %#" PRIx64 ": %d", vaddr(l, v, i), rc);
	else
		w->tags[v][i] = tag;
}

static void view_unmap(struct view *w, const struct layout *l, struct prng *r)
{
	int v = (int)prng_below(r, NV);
	uint64_t a = prng_below(r, l->pages[v]);
	uint64_t n = 1 + prng_below(r, l->pages[v] - a < 40 ? l->pages[v] - a : 40);
	int rc = pmm_mm_unmap(w->mm, vaddr(l, v, a), MU_PAGES(n));

	if (rc)
		terr("unmap %#" PRIx64 " +%" PRIu64 ": %d", vaddr(l, v, a), n, rc);
	for (uint64_t i = a; i < a + n; i++)
		w->tags[v][i] = UNMAPPED;
}

static void view_swap(struct view *w, const struct layout *l, struct prng *r)
{
	int v = (int)prng_below(r, NV);
	uint64_t a = prng_below(r, l->pages[v]);
	int rc = pmm_mm_swapcache_add(w->mm, vaddr(l, v, a), MU_PAGES(l->pages[v] - a));

	if (rc)
		terr("swapcache add %#" PRIx64 ": %d", vaddr(l, v, a), rc);
}

/* Every page reads what the shadow says; unmapped pages are not mapped. */
static void view_verify(struct view *w, const struct layout *l, uint64_t step)
{
	for (int v = 0; v < NV && !failed(); v++)
		for (uint64_t i = 0; i < l->pages[v]; i += step) {
			uint64_t a = vaddr(l, v, i), tag = 0;
			int rc;

			if (w->tags[v][i] == UNMAPPED) {
				if (pmm_mm_lookup(w->mm, a))
					terr("%#" PRIx64 " mapped after unmap", a);
				continue;
			}
			rc = mu_try_read_tag(w->mm, a, &tag);
			if (rc || tag != w->tags[v][i]) {
				terr("%#" PRIx64 ": rc %d, tag %#" PRIx64 ", expected %#" PRIx64, a, rc, tag,
				     w->tags[v][i]);
				return;
			}
		}
}

/* ------------------------------------------------------------------------
 * 1. Private mms
 * ------------------------------------------------------------------------ */

#define PRIVATE_ROUNDS 12
#define PRIVATE_OPS 120

struct private_arg {
	pmm_t *pmm;
	unsigned int id;
	struct prng rng;
};

static void *private_worker(void *argp)
{
	struct private_arg *a = argp;
	static _Thread_local struct view views[2];
	struct layout l;
	uint64_t tag = (uint64_t)a->id << 48;

	tu_set_cpu(a->id);
	for (int round = 0; round < PRIVATE_ROUNDS && !failed(); round++) {
		struct pmm_mm_config cfg;
		int rc;

		pmm_mm_config_init(&cfg);
		cfg.gather = mu_modes[(a->id + (unsigned int)round) % PMM_NR_GATHER_MODES];
		cfg.mapcount = (a->id + (unsigned int)round / 3) & 1 ? PMM_MAPCOUNT_FOLIO
								   : PMM_MAPCOUNT_PER_PAGE;
		memset(views, 0, sizeof(views));
		rc = pmm_mm_create(a->pmm, &cfg, &views[0].mm);
		if (rc) {
			terr("pmm_mm_create: %d", rc);
			break;
		}
		layout_random(&a->rng, &l);
		if (view_map(&views[0], &l))
			break;
		for (int i = 0; i < 30; i++)
			view_write(&views[0], &l, &a->rng, ++tag);
		rc = pmm_mm_fork(views[0].mm, &views[1].mm);
		if (rc) {
			terr("fork: %d", rc);
			pmm_mm_destroy(views[0].mm);
			break;
		}
		memcpy(views[1].tags, views[0].tags, sizeof(views[0].tags));

		for (int op = 0; op < PRIVATE_OPS && !failed(); op++) {
			struct view *w = &views[prng_below(&a->rng, 2)];
			uint64_t x = prng_below(&a->rng, 100);

			if (x < 45)
				view_write(w, &l, &a->rng, ++tag);
			else if (x < 60)
				view_unmap(w, &l, &a->rng);
			else if (x < 70)
				view_swap(w, &l, &a->rng);
			else if (x < 80)
				pmm_deferred_split_scan(a->pmm, 1 + prng_below(&a->rng, 4));
			else if (x < 85)
				pmm_lru_add_drain(a->pmm);
			else
				view_verify(w, &l, 7);
		}
		view_verify(&views[0], &l, 1);
		view_verify(&views[1], &l, 1);
		if (prng_below(&a->rng, 2)) {
			pmm_mm_destroy(views[0].mm);
			view_verify(&views[1], &l, 1);
			pmm_mm_destroy(views[1].mm);
		} else {
			pmm_mm_destroy(views[1].mm);
			view_verify(&views[0], &l, 1);
			pmm_mm_destroy(views[0].mm);
		}
	}
	return NULL;
}

static void test_threads_private_mms(void **state)
{
	struct pmm_config cfg;
	struct mu_env e;
	pthread_t th[NT];
	static struct private_arg args[NT];

	(void)state;
	errs_reset();
	mu_config(&e, &cfg, 128);
	tu_config_cpus(&cfg, NT);
	mu_start(&e, &cfg);
	for (unsigned int i = 0; i < NT; i++) {
		args[i] = (struct private_arg){ .pmm = e.pmm, .id = i };
		tu_rng_init(&args[i].rng, "threads_private_mms", i + 1);
	}
	for (unsigned int i = 0; i < NT; i++)
		assert_int_equal(pthread_create(&th[i], NULL, private_worker, &args[i]), 0);
	for (unsigned int i = 0; i < NT; i++)
		pthread_join(th[i], NULL);
	errs_assert_none();
	pmm_deferred_split_scan(e.pmm, 1ul << 20);
	mu_finish(&e);
}

/* ------------------------------------------------------------------------
 * 2. Shared after fork, with a scanner
 * ------------------------------------------------------------------------ */

#define SHARED_ROUNDS 8
#define SHARED_OPS 300

struct side {
	pmm_t *pmm;
	unsigned int cpu;
	struct view *w;
	const struct layout *l;
	struct prng rng;
	uint64_t tag;
	pthread_barrier_t *start;
};

static atomic_bool scanner_stop;

static void *scanner(void *argp)
{
	pmm_t *pmm = argp;
	unsigned long n = 0;

	tu_set_cpu(NT);
	while (!atomic_load(&scanner_stop)) {
		pmm_deferred_split_scan(pmm, 1 + n % 3);
		if (++n % 4 == 0)
			pmm_lru_add_drain(pmm);
		(void)pmm_swapcache_nr(pmm);
	}
	return NULL;
}

static void *side_worker(void *argp)
{
	struct side *s = argp;

	tu_set_cpu(s->cpu);
	pthread_barrier_wait(s->start);
	for (int op = 0; op < SHARED_OPS && !failed(); op++) {
		uint64_t x = prng_below(&s->rng, 100);

		if (x < 50)
			view_write(s->w, s->l, &s->rng, ++s->tag);
		else if (x < 62)
			view_unmap(s->w, s->l, &s->rng);
		else if (x < 72)
			view_swap(s->w, s->l, &s->rng);
		else
			view_verify(s->w, s->l, 13);
	}
	view_verify(s->w, s->l, 1);
	return NULL;
}

static void test_threads_shared_after_fork(void **state)
{
	struct pmm_config cfg;
	struct mu_env e;
	struct prng rng;
	static struct view views[2];
	static struct layout l;

	(void)state;
	errs_reset();
	tu_rng_init(&rng, "threads_shared_after_fork", 7);
	mu_config(&e, &cfg, 128);
	tu_config_cpus(&cfg, NT + 1);
	mu_start(&e, &cfg);
	for (int round = 0; round < SHARED_ROUNDS && !failed(); round++) {
		pthread_barrier_t start;
		pthread_t th[2], sc;
		struct side sides[2];

		memset(views, 0, sizeof(views));
		views[0].mm = mu_mm(e.pmm, mu_modes[round % PMM_NR_GATHER_MODES],
				    (round / 3) & 1 ? PMM_MAPCOUNT_FOLIO : PMM_MAPCOUNT_PER_PAGE);
		layout_random(&rng, &l);
		assert_int_equal(view_map(&views[0], &l), 0);
		for (int v = 0; v < NV; v++)
			for (uint64_t i = 0; i < l.pages[v]; i++) {
				mu_write_tag(views[0].mm, vaddr(&l, v, i), 1 + i + ((uint64_t)v << 20));
				views[0].tags[v][i] = 1 + i + ((uint64_t)v << 20);
			}
		views[1].mm = mu_fork(views[0].mm);
		memcpy(views[1].tags, views[0].tags, sizeof(views[0].tags));

		assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
		for (int i = 0; i < 2; i++) {
			sides[i] = (struct side){ .pmm = e.pmm, .cpu = (unsigned int)i, .w = &views[i],
						  .l = &l, .tag = (uint64_t)(i + 1) << 56,
						  .start = &start };
			prng_init(&sides[i].rng, prng_next(&rng), (uint64_t)i);
		}
		atomic_store(&scanner_stop, false);
		assert_int_equal(pthread_create(&sc, NULL, scanner, e.pmm), 0);
		for (int i = 0; i < 2; i++)
			assert_int_equal(pthread_create(&th[i], NULL, side_worker, &sides[i]), 0);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		/* one side exits while the other goes on, the scanner still running */
		{
			int first = (int)prng_below(&rng, 2);

			pmm_mm_destroy(views[first].mm);
			sides[!first].w = &views[!first];
			assert_int_equal(pthread_barrier_destroy(&start), 0);
			assert_int_equal(pthread_barrier_init(&start, NULL, 1), 0);
			assert_int_equal(pthread_create(&th[0], NULL, side_worker, &sides[!first]), 0);
			pthread_join(th[0], NULL);
			atomic_store(&scanner_stop, true);
			pthread_join(sc, NULL);
			errs_assert_none();
			tu_check(e.pmm);
			pmm_mm_destroy(views[!first].mm);
		}
		assert_int_equal(pthread_barrier_destroy(&start), 0);
		tu_buddy_assert_fresh(e.pmm, &e.fresh);
	}
	errs_assert_none();
	mu_finish(&e);
}

/* ------------------------------------------------------------------------
 * 3. Teardown against whatever takes references (issue 9)
 * ------------------------------------------------------------------------ */

#define RACE_ROUNDS 16

enum race_kind {
	RACE_QUEUED_EXIT,	/* an mm exits while its queued folios are scanned */
	RACE_PARENT_EXIT,	/* parent exits, the child caches/faults/unmaps the shared folios */
	RACE_BOTH_EXIT,		/* both sides exit at once */
	NR_RACES,
};

struct race {
	pmm_t *pmm;
	enum race_kind kind;
	pmm_mm_t *parent, *child;
	const struct layout *l;
	pthread_barrier_t go;
	atomic_bool done;
};

static void *race_parent(void *argp)
{
	struct race *r = argp;

	tu_set_cpu(0);
	pthread_barrier_wait(&r->go);
	pmm_mm_destroy(r->parent);
	atomic_store(&r->done, true);
	return NULL;
}

static void *race_child(void *argp)
{
	struct race *r = argp;
	const struct layout *l = r->l;

	tu_set_cpu(1);
	pthread_barrier_wait(&r->go);
	if (r->kind == RACE_BOTH_EXIT) {
		pmm_mm_destroy(r->child);
		r->child = NULL;
		return NULL;
	}
	if (r->kind != RACE_PARENT_EXIT)
		return NULL;
	do {
		for (int v = 0; v < NV; v++) {
			uint64_t tag;
			int rc = pmm_mm_swapcache_add(r->child, l->start[v], MU_PAGES(l->pages[v]));

			if (rc)
				terr("child swapcache add: %d", rc);
			for (uint64_t i = 0; i < l->pages[v]; i += 5) {
				rc = mu_try_read_tag(r->child, vaddr(l, v, i), &tag);
				if (rc == 0 && tag != 0 && tag != 1 + i + ((uint64_t)v << 20))
					terr("child read %#" PRIx64 ": %#" PRIx64, vaddr(l, v, i), tag);
				else if (rc && pmm_mm_lookup(r->child, vaddr(l, v, i)))
					terr("child read %#" PRIx64 ": %d", vaddr(l, v, i), rc);
			}
		}
	} while (!atomic_load(&r->done) && !failed());
	return NULL;
}

static void *race_refs(void *argp)
{
	struct race *r = argp;
	unsigned long n = 0;

	tu_set_cpu(2);
	pthread_barrier_wait(&r->go);
	do {
		pmm_deferred_split_scan(r->pmm, 1);
		if (++n % 2 == 0)
			pmm_lru_add_drain(r->pmm);
	} while (!atomic_load(&r->done) || n < 4);
	return NULL;
}

static void test_threads_teardown_vs_references(void **state)
{
	struct pmm_config cfg;
	struct mu_env e;
	struct prng rng;
	static struct layout l;
	static struct race r;

	(void)state;
	errs_reset();
	tu_rng_init(&rng, "threads_teardown_vs_references", 11);
	mu_config(&e, &cfg, 128);
	tu_config_cpus(&cfg, 3);
	mu_start(&e, &cfg);
	for (int round = 0; round < RACE_ROUNDS && !failed(); round++) {
		pthread_t th[3];

		memset(&r, 0, sizeof(r));
		r.pmm = e.pmm;
		r.kind = (enum race_kind)(round % NR_RACES);
		r.l = &l;
		layout_random(&rng, &l);
		for (int v = 0; v < NV; v++)
			l.order[v] = 2 + (unsigned int)prng_below(&rng, MU_MAX_FOLIO_ORDER - 1);
		r.parent = mu_mm(e.pmm, mu_modes[round % PMM_NR_GATHER_MODES],
				 (round / 2) & 1 ? PMM_MAPCOUNT_FOLIO : PMM_MAPCOUNT_PER_PAGE);
		for (int v = 0; v < NV; v++) {
			mu_map(r.parent, l.start[v], MU_PAGES(l.pages[v]), l.order[v], RWP);
			for (uint64_t i = 0; i < l.pages[v]; i++)
				mu_write_tag(r.parent, vaddr(&l, v, i), 1 + i + ((uint64_t)v << 20));
		}
		if (r.kind == RACE_QUEUED_EXIT) {
			/* queue every large folio: unmap its second page */
			for (int v = 0; v < NV; v++) {
				uint64_t end = vaddr(&l, v, l.pages[v]);

				for (uint64_t a = l.start[v]; a < end;) {
					unsigned int o = mu_order_at(r.parent, a);
					uint64_t head = a & ~(MU_PAGES(1ull << o) - 1);

					if (o >= 2)
						mu_unmap(r.parent, head + MU_PAGE, MU_PAGE);
					a = head + MU_PAGES(1ull << o);
				}
			}
			assert_true(mu_deferred(e.pmm) > 0);
		} else {
			r.child = mu_fork(r.parent);
			/* the child drops half of each VMA: the parent's exit queues them */
			for (int v = 0; v < NV; v++)
				mu_unmap(r.child, vaddr(&l, v, l.pages[v] / 2),
					 MU_PAGES(l.pages[v] - l.pages[v] / 2));
		}
		assert_int_equal(pthread_barrier_init(&r.go, NULL, 3), 0);
		assert_int_equal(pthread_create(&th[0], NULL, race_parent, &r), 0);
		assert_int_equal(pthread_create(&th[1], NULL, race_child, &r), 0);
		assert_int_equal(pthread_create(&th[2], NULL, race_refs, &r), 0);
		for (int i = 0; i < 3; i++)
			pthread_join(th[i], NULL);
		assert_int_equal(pthread_barrier_destroy(&r.go), 0);
		errs_assert_none();
		tu_check(e.pmm);
		if (r.child) {
			/* the child's half is intact */
			for (int v = 0; v < NV; v++)
				for (uint64_t i = 0; i < l.pages[v] / 2; i++)
					assert_int_equal(mu_read_tag(r.child, vaddr(&l, v, i)),
							 1 + i + ((uint64_t)v << 20));
			pmm_mm_destroy(r.child);
		}
		pmm_lru_add_drain(e.pmm);
		pmm_deferred_split_scan(e.pmm, 1ul << 20);
		assert_int_equal(mu_deferred(e.pmm), 0);
		assert_int_equal(pmm_swapcache_nr(e.pmm), 0);
		tu_buddy_assert_fresh(e.pmm, &e.fresh);
		tu_check(e.pmm);
	}
	mu_finish(&e);
}

/* ------------------------------------------------------------------------
 * 4. One mm, two threads
 * ------------------------------------------------------------------------ */

#define ONE_MM_ITERS 60

struct one_arg {
	pmm_mm_t *mm;
	unsigned int id;
	struct prng rng;
};

static void *one_mm_worker(void *argp)
{
	struct one_arg *a = argp;
	const uint64_t base = MU_BASE + (uint64_t)a->id * 4 * MU_PUD_SIZE;

	tu_set_cpu(a->id);
	for (int it = 0; it < ONE_MM_ITERS && !failed(); it++) {
		unsigned int order = (unsigned int)prng_below(&a->rng, MU_MAX_FOLIO_ORDER + 1);
		uint64_t pages = 8 + prng_below(&a->rng, 256);
		uint64_t tag0 = ((uint64_t)a->id << 40) | ((uint64_t)it << 20);
		int rc = pmm_mm_map_anon(a->mm, base, MU_PAGES(pages), order,
					 PMM_MAP_WRITE | (it & 1 ? PMM_MAP_POPULATE : 0));

		if (rc) {
			terr("thread %u map: %d", a->id, rc);
			break;
		}
		for (uint64_t i = 0; i < pages; i++)
			if ((rc = mu_try_write_tag(a->mm, base + MU_PAGES(i), tag0 + i)))
				terr("thread %u write: %d", a->id, rc);
		if (a->id == 0 && it % 10 == 0) {
			pmm_mm_t *child = NULL;

			rc = pmm_mm_fork(a->mm, &child);
			if (rc)
				terr("fork: %d", rc);
			else
				pmm_mm_destroy(child);
		}
		if ((rc = pmm_mm_unmap(a->mm, base + MU_PAGES(pages / 3), MU_PAGES(pages / 3))))
			terr("thread %u unmap: %d", a->id, rc);
		for (uint64_t i = 0; i < pages && !failed(); i++) {
			uint64_t tag = 0;
			bool gone = i >= pages / 3 && i < 2 * (pages / 3);

			if (gone) {
				if (pmm_mm_lookup(a->mm, base + MU_PAGES(i)))
					terr("thread %u: page %" PRIu64 " still mapped", a->id, i);
				continue;
			}
			rc = mu_try_read_tag(a->mm, base + MU_PAGES(i), &tag);
			if (rc || tag != tag0 + i)
				terr("thread %u page %" PRIu64 ": rc %d tag %#" PRIx64, a->id, i, rc, tag);
		}
		if ((rc = pmm_mm_unmap(a->mm, base, MU_PAGES(pages))))
			terr("thread %u unmap all: %d", a->id, rc);
	}
	return NULL;
}

static void test_threads_one_mm(void **state)
{
	struct pmm_config cfg;
	struct mu_env e;
	pthread_t th[2];
	static struct one_arg args[2];
	pmm_mm_t *mm;

	(void)state;
	errs_reset();
	mu_config(&e, &cfg, 64);
	tu_config_cpus(&cfg, 2);
	mu_start(&e, &cfg);
	mm = mu_mm(e.pmm, PMM_GATHER_ENCODED, PMM_MAPCOUNT_PER_PAGE);
	for (unsigned int i = 0; i < 2; i++) {
		args[i] = (struct one_arg){ .mm = mm, .id = i };
		tu_rng_init(&args[i].rng, "threads_one_mm", 20 + i);
	}
	for (unsigned int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, one_mm_worker, &args[i]), 0);
	for (unsigned int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	errs_assert_none();
	assert_int_equal(mu_stats(mm).rss_anon, 0);
	assert_int_equal(mu_stats(mm).nr_vmas, 0);
	assert_int_equal(mu_stats(mm).pgtable_pages, 1);
	pmm_mm_destroy(mm);
	pmm_deferred_split_scan(e.pmm, 1ul << 20);
	mu_finish(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_private_mms),
		cmocka_unit_test(test_threads_shared_after_fork),
		cmocka_unit_test(test_threads_teardown_vs_references),
		cmocka_unit_test(test_threads_one_mm),
	};

	tu_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
