/* SPDX-License-Identifier: MIT */
/*
 * stress.c - `pmm stress`: several threads allocate and free at random
 * through every allocation path, hand objects to each other so frees cross
 * CPUs, and verify as they go. Not a benchmark: it reports counts, never
 * timings.
 *
 * What is verified, and why each check catches a different bug class:
 *   - a shared bitmap of owned frames: claiming a frame some other owner
 *     holds is a double allocation, on every backing (backing=none too);
 *   - on backed instances, every frame is filled with a pattern derived
 *     from (seed, pfn, owner tag) and verified before it is freed: catches
 *     the library writing into allocated memory or handing out a frame
 *     whose previous owner still writes to it;
 *   - per-call contracts: alignment, refcount 1, folio order, node/zone,
 *     PMM_GFP_ZERO memory, bulk allocation filling only NULL slots;
 *   - bad-page reports: this workload never misuses the API, so any report
 *     is a library bug;
 *   - at the end: pmm_check(), free == managed - leaked ("lost frames"),
 *     and buddyinfo back to the fresh instance's.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define STRESS_MAX_OBJS 512	/* objects one thread holds at most */
#define STRESS_POOL 256		/* objects waiting in the handoff pool */
#define STRESS_MAX_THREADS 256
#define STRESS_MAX_REPORTS 20	/* failure lines printed before going quiet */

/* X(name): one list for the counters, their names and the summary. */
#define STRESS_OPS(X)                                                          \
	X(alloc_pages) X(alloc_zero) X(alloc_node) X(alloc_dma32)              \
	X(folio_alloc) X(split_page) X(alloc_exact) X(alloc_exact_pfn)         \
	X(alloc_bulk) X(alloc_contig_pages) X(alloc_contig_range)              \
	X(free_pages) X(put_page) X(free_pages_extra_ref) X(folio_put)         \
	X(folio_put_refs) X(free_contig_range) X(contig_trim)                  \
	X(free_pages_bulk) X(free_pages_exact) X(handoff) X(adopt) X(drain)

enum stress_op {
#define STRESS_OP_ENUM(name) OP_##name,
	STRESS_OPS(STRESS_OP_ENUM)
#undef STRESS_OP_ENUM
	NR_OPS,
};

static const char *const op_names[NR_OPS] = {
#define STRESS_OP_NAME(name) #name,
	STRESS_OPS(STRESS_OP_NAME)
#undef STRESS_OP_NAME
};

enum fill_mode { FILL_OFF, FILL_EDGES, FILL_FULL };

static const char *const fill_names[] = {
	[FILL_OFF] = "off", [FILL_EDGES] = "edges", [FILL_FULL] = "full",
};

/* How an object was allocated decides how it may be freed. */
enum obj_kind {
	OBJ_BLOCK,	/* pmm_alloc_pages*, non-compound, u.page is the head */
	OBJ_FOLIO,	/* pmm_folio_alloc */
	OBJ_RANGE,	/* nr independent order-0 pages from pfn (split, exact_pfn, contig) */
	OBJ_EXACT,	/* pmm_alloc_pages_exact: u.addr, size bytes */
	OBJ_LIST,	/* pmm_alloc_pages_bulk: nr order-0 pages in u.pages */
};

struct obj {
	enum obj_kind kind;
	unsigned int order;		/* BLOCK, FOLIO */
	unsigned long nr;		/* frames held */
	pmm_pfn_t pfn;			/* first frame (not LIST) */
	size_t size;			/* EXACT: bytes asked for */
	uint64_t tag;			/* owner: unique per allocation */
	union {
		struct pmm_page *page;
		struct pmm_folio *folio;
		void *addr;
		struct pmm_page **pages;	/* malloc'd, LIST */
	} u;
};

/* State shared by every thread; the instance is the thing under test. */
struct stress {
	pmm_t *pmm;
	uint64_t seed;
	unsigned int nr_threads;
	enum fill_mode fill;
	unsigned int kinds;		/* bit k: alloc_kinds[k] enabled */
	unsigned long kinds_weight;	/* sum of the enabled kinds' weights */
	size_t page_size;
	unsigned int max_order, pageblock_order;
	int nr_nodes;
	bool has_dma32;
	pmm_pfn_t span_start, span_end;	/* lowest and highest managed frame + 1 */
	_Atomic uint64_t *owned;	/* bit per frame of the span: held by us */
	atomic_ullong held;		/* frames held by all threads + pool */
	uint64_t cap;			/* soft limit on held */
	uint64_t deadline_ns;
	atomic_int failed;
	atomic_uint reports;
	atomic_ullong bad_pages;

	pthread_mutex_t pool_lock;
	struct obj pool[STRESS_POOL];	/* handoff: freed by whoever adopts */
	unsigned int pool_nr;
};

struct sthread {
	struct stress *s;
	unsigned int idx;
	pthread_t tid;
	uint64_t rng;
	uint64_t seq;			/* makes tags unique */
	struct obj objs[STRESS_MAX_OBJS];
	unsigned int nr_objs;
	uint64_t counts[NR_OPS];
	uint64_t alloc_fail;		/* refused allocations: pressure, not a bug */
	uint64_t contig_busy;		/* alloc_contig_range over frames in use */
	struct pmm_page **scratch;	/* one object's pages, for bulk frees */
	size_t scratch_len;
};

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* splitmix64: tiny, seedable, good enough to pick operations. */
static uint64_t rnd(struct sthread *t)
{
	t->rng += 0x9e3779b97f4a7c15ull;
	return mix64(t->rng);
}

static unsigned long rnd_below(struct sthread *t, unsigned long n)
{
	return n ? (unsigned long)(rnd(t) % n) : 0;
}

/* Biased to small orders, as real workloads are, but every order occurs. */
static unsigned int pick_order(struct sthread *t, unsigned int max)
{
	unsigned long r = rnd_below(t, 100);
	unsigned int pb = t->s->pageblock_order < max ? t->s->pageblock_order : max;

	if (r < 55)
		return 0;
	if (r < 80)
		return (unsigned int)(1 + rnd_below(t, max < 3 ? max : 3)) % (max + 1);
	if (r < 95)
		return (unsigned int)rnd_below(t, pb + 1);
	return (unsigned int)rnd_below(t, max + 1);
}

static pmm_gfp_t pick_gfp(struct sthread *t)
{
	static const pmm_gfp_t gfps[] = {
		PMM_GFP_KERNEL, PMM_GFP_KERNEL, PMM_GFP_MOVABLE, PMM_GFP_MOVABLE,
		PMM_GFP_RECLAIMABLE, PMM_GFP_ATOMIC,
	};

	return gfps[rnd_below(t, sizeof(gfps) / sizeof(gfps[0]))] | PMM_GFP_NOWARN;
}

static bool stop(struct sthread *t)
{
	return atomic_load_explicit(&t->s->failed, memory_order_relaxed) ||
	       cli_now_ns() >= t->s->deadline_ns;
}

#if defined(__GNUC__)
#define STRESS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define STRESS_PRINTF(f, a)
#endif

/* fail()'s numbers are all printed with ll formats. */
#define U(x) ((unsigned long long)(x))

/* Print a failure (the first few), mark the run failed. */
static void fail(struct stress *s, const char *fmt, ...) STRESS_PRINTF(2, 3);
static void fail(struct stress *s, const char *fmt, ...)
{
	va_list ap;

	atomic_store(&s->failed, 1);
	if (atomic_fetch_add(&s->reports, 1) < STRESS_MAX_REPORTS) {
		va_start(ap, fmt);
		fprintf(stderr, "stress: FAILED: ");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
}

static void bad_page_cb(void *arg, pmm_pfn_t pfn, const char *reason)
{
	struct stress *s = arg;

	atomic_fetch_add(&s->bad_pages, 1);
	if (atomic_fetch_add(&s->reports, 1) < STRESS_MAX_REPORTS)
		fprintf(stderr, "stress: FAILED: bad page pfn %#llx: %s\n",
			(unsigned long long)pfn, reason ? reason : "?");
	atomic_store(&s->failed, 1);
}

/* ------------------------------------------------------------------------
 * Frame ownership bitmap and patterns
 * ------------------------------------------------------------------------ */

/* The frame of the lowest set bit of @bits in the word holding bit @i. */
static unsigned long long first_bit_pfn(struct stress *s, uint64_t i, uint64_t bits)
{
	unsigned int b = 0;

	while (b < 63 && !(bits & (1ull << b)))
		b++;
	return s->span_start + (i & ~63ull) + b;
}

/* Claim (or release) frames [pfn, pfn+nr) a word at a time. */
static void own_range(struct stress *s, pmm_pfn_t pfn, unsigned long nr, bool claim)
{
	if (pfn < s->span_start || pfn + nr > s->span_end || pfn + nr < pfn) {
		fail(s, "frames %#llx+%llu outside managed memory", U(pfn), U(nr));
		return;
	}
	for (uint64_t i = pfn - s->span_start, end = i + nr; i < end;) {
		unsigned int bit = (unsigned int)(i & 63);
		uint64_t n = end - i < 64 - bit ? end - i : 64 - bit;
		uint64_t mask = (n == 64 ? ~0ull : ((1ull << n) - 1)) << bit;
		uint64_t old;

		if (claim) {
			old = atomic_fetch_or(&s->owned[i / 64], mask);
			if (old & mask)
				fail(s, "double allocation: frame %#llx handed out while held "
				     "(block %#llx+%llu)", first_bit_pfn(s, i, old & mask),
				     U(pfn), U(nr));
		} else {
			old = atomic_fetch_and(&s->owned[i / 64], ~mask);
			if ((old & mask) != mask)
				fail(s, "stress bookkeeping: frame range %#llx+%llu freed twice",
				     U(pfn), U(nr));
		}
		i += n;
	}
}

static uint64_t pattern(struct stress *s, pmm_pfn_t pfn, uint64_t tag)
{
	return mix64(s->seed ^ mix64(pfn + 0x51) ^ (tag * 0x9e3779b97f4a7c15ull));
}

static uint64_t *frame_words(struct stress *s, pmm_pfn_t pfn)
{
	struct pmm_page *page = pmm_pfn_to_page(s->pmm, pfn);

	return page ? pmm_page_address(s->pmm, page) : NULL;
}

/*
 * Which words of a frame carry the pattern: all of them, or the first and
 * last 8 (cheap, still catches most stray writes: list pointers land at
 * the start of a frame).
 */
static void frame_span(struct stress *s, size_t i, size_t *next)
{
	size_t words = s->page_size / 8;

	if (s->fill == FILL_EDGES && i == 7 && words > 16)
		*next = words - 8;
	else
		*next = i + 1;
}

static void fill_frame(struct stress *s, pmm_pfn_t pfn, uint64_t tag, bool expect_zero)
{
	uint64_t *w = frame_words(s, pfn), v = pattern(s, pfn, tag);
	size_t words = s->page_size / 8, next;

	if (s->fill == FILL_OFF)
		return;
	if (!w) {
		fail(s, "frame %#llx of a backed instance has no address", U(pfn));
		return;
	}
	if (expect_zero)
		for (size_t i = 0; i < words; i++)
			if (w[i]) {
				fail(s, "PMM_GFP_ZERO: frame %#llx word %llu is %#llx", U(pfn), U(i),
				     U(w[i]));
				break;
			}
	for (size_t i = 0; i < words; i = next) {
		frame_span(s, i, &next);
		w[i] = v + i;
	}
}

static void verify_frame(struct stress *s, pmm_pfn_t pfn, uint64_t tag)
{
	uint64_t *w = frame_words(s, pfn), v = pattern(s, pfn, tag);
	size_t words = s->page_size / 8, next;

	if (s->fill == FILL_OFF || !w)
		return;
	for (size_t i = 0; i < words; i = next) {
		frame_span(s, i, &next);
		if (w[i] != v + i) {
			fail(s, "pattern mismatch: frame %#llx word %llu (owner tag %#llx): "
			     "memory changed while allocated", U(pfn), U(i), U(tag));
			return;
		}
	}
}

/* Claim/fill or verify/release every frame of @o. */
static void obj_frames(struct stress *s, const struct obj *o, bool acquire, bool zero)
{
	if (o->kind == OBJ_LIST) {
		for (unsigned long i = 0; i < o->nr; i++) {
			pmm_pfn_t pfn = pmm_page_to_pfn(s->pmm, o->u.pages[i]);

			if (acquire) {
				own_range(s, pfn, 1, true);
				fill_frame(s, pfn, o->tag, false);
			} else {
				verify_frame(s, pfn, o->tag);
				own_range(s, pfn, 1, false);
			}
		}
		return;
	}
	if (acquire)
		own_range(s, o->pfn, o->nr, true);
	for (unsigned long i = 0; i < o->nr; i++) {
		if (acquire)
			fill_frame(s, o->pfn + i, o->tag, zero);
		else
			verify_frame(s, o->pfn + i, o->tag);
	}
	if (!acquire)
		own_range(s, o->pfn, o->nr, false);
}

/* ------------------------------------------------------------------------
 * Allocation
 * ------------------------------------------------------------------------ */

static bool room_for(struct sthread *t, unsigned long nr)
{
	return t->nr_objs < STRESS_MAX_OBJS &&
	       atomic_load_explicit(&t->s->held, memory_order_relaxed) + nr <= t->s->cap;
}

/* Take ownership of a freshly allocated object. */
static void adopt_new(struct sthread *t, struct obj *o, bool zero)
{
	o->tag = ((uint64_t)(t->idx + 1) << 48) | ++t->seq;
	obj_frames(t->s, o, true, zero);
	atomic_fetch_add(&t->s->held, o->nr);
	t->objs[t->nr_objs++] = *o;
}

static bool refused(struct sthread *t)
{
	t->alloc_fail++;
	return false;
}

static void check_block(struct stress *s, struct pmm_page *page, unsigned int order)
{
	pmm_pfn_t pfn = pmm_page_to_pfn(s->pmm, page);

	if (pfn & ((1ull << order) - 1))
		fail(s, "order-%u block at %#llx is not aligned", order, U(pfn));
	if (pmm_page_count(page) != 1)
		fail(s, "new block at %#llx has refcount %d (order %u)", U(pfn),
		     pmm_page_count(page), order);
	if (pmm_pfn_to_page(s->pmm, pfn) != page)
		fail(s, "pfn_to_page(page_to_pfn(page)) != page at %#llx", U(pfn));
}

static bool do_alloc_block(struct sthread *t)
{
	struct stress *s = t->s;
	unsigned int order = pick_order(t, s->max_order);
	unsigned long r = rnd_below(t, 100);
	pmm_gfp_t gfp = pick_gfp(t);
	enum stress_op op = OP_alloc_pages;
	struct pmm_page *page;
	int nid = -1;
	struct obj o;

	if (!room_for(t, 1ul << order))
		return false;
	if (r < 10 && s->fill != FILL_OFF) {
		gfp |= PMM_GFP_ZERO;
		op = OP_alloc_zero;
	} else if (r < 20) {
		nid = (int)rnd_below(t, (unsigned long)s->nr_nodes);
		if (rnd_below(t, 2))
			gfp |= PMM_GFP_THISNODE;
		op = OP_alloc_node;
	} else if (r < 25 && s->has_dma32) {
		gfp |= PMM_GFP_DMA32;
		op = OP_alloc_dma32;
	}
	page = nid >= 0 ? pmm_alloc_pages_node(s->pmm, nid, gfp, order) :
			  pmm_alloc_pages(s->pmm, gfp, order);
	if (!page)
		return refused(t);
	t->counts[op]++;
	check_block(s, page, order);
	if ((gfp & PMM_GFP_THISNODE) && pmm_page_nid(s->pmm, page) != nid)
		fail(s, "THISNODE allocation for node %d came from node %d (pfn %#llx)", nid,
		     pmm_page_nid(s->pmm, page), U(pmm_page_to_pfn(s->pmm, page)));
	if ((gfp & PMM_GFP_DMA32) && pmm_page_zone(s->pmm, page) != PMM_ZONE_DMA32)
		fail(s, "DMA32 allocation at pfn %#llx is not in DMA32", U(pmm_page_to_pfn(s->pmm, page)));
	memset(&o, 0, sizeof(o));
	o.kind = OBJ_BLOCK;
	o.order = order;
	o.nr = 1ul << order;
	o.pfn = pmm_page_to_pfn(s->pmm, page);
	o.u.page = page;
	adopt_new(t, &o, gfp & PMM_GFP_ZERO);
	return true;
}

static bool do_alloc_folio(struct sthread *t)
{
	struct stress *s = t->s;
	unsigned int order = pick_order(t, s->max_order);
	struct pmm_folio *folio;
	struct pmm_page *head;
	struct obj o;

	if (!room_for(t, 1ul << order))
		return false;
	folio = pmm_folio_alloc(s->pmm, pick_gfp(t), order);
	if (!folio)
		return refused(t);
	t->counts[OP_folio_alloc]++;
	head = pmm_folio_page(s->pmm, folio, 0);
	if (pmm_folio_order(folio) != order || pmm_folio_ref_count(folio) != 1)
		fail(s, "folio at %#llx: order %u refcount %d", U(pmm_page_to_pfn(s->pmm, head)),
		     pmm_folio_order(folio), pmm_folio_ref_count(folio));
	if (pmm_page_folio(pmm_folio_page(s->pmm, folio, rnd_below(t, 1ul << order))) != folio)
		fail(s, "folio at %#llx: a page does not lead back to its folio",
		     U(pmm_page_to_pfn(s->pmm, head)));
	memset(&o, 0, sizeof(o));
	o.kind = OBJ_FOLIO;
	o.order = order;
	o.nr = 1ul << order;
	o.pfn = pmm_page_to_pfn(s->pmm, head);
	o.u.folio = folio;
	if (o.pfn & (o.nr - 1))
		fail(s, "folio at %#llx is not aligned to order %u", U(o.pfn), order);
	adopt_new(t, &o, false);
	return true;
}

static void check_range_pages(struct stress *s, pmm_pfn_t pfn, unsigned long nr,
			      const char *what)
{
	for (unsigned long i = 0; i < nr; i++) {
		struct pmm_page *p = pmm_pfn_to_page(s->pmm, pfn + i);

		if (!p || pmm_page_count(p) != 1) {
			fail(s, "page %#llx of a %lu-page range from %s has refcount %d%s",
			     U(pfn + i), nr, what, p ? pmm_page_count(p) : 0,
			     p ? "" : " (no page)");
			return;
		}
	}
}

static bool add_range(struct sthread *t, pmm_pfn_t pfn, unsigned long nr, const char *what)
{
	struct obj o;

	check_range_pages(t->s, pfn, nr, what);
	memset(&o, 0, sizeof(o));
	o.kind = OBJ_RANGE;
	o.nr = nr;
	o.pfn = pfn;
	adopt_new(t, &o, false);
	return true;
}

static bool do_split(struct sthread *t)
{
	struct stress *s = t->s;
	unsigned int order = pick_order(t, s->max_order);
	struct pmm_page *page;

	if (order == 0)
		order = s->max_order ? 1 : 0;
	if (!room_for(t, 1ul << order))
		return false;
	page = pmm_alloc_pages(s->pmm, pick_gfp(t), order);
	if (!page)
		return refused(t);
	check_block(s, page, order);
	pmm_split_page(s->pmm, page, order);
	t->counts[OP_split_page]++;
	return add_range(t, pmm_page_to_pfn(s->pmm, page), 1ul << order, "split_page");
}

/* A size that is not a power of two: the tail must go back to the buddy. */
static unsigned long pick_exact_nr(struct sthread *t)
{
	unsigned int order = pick_order(t, t->s->max_order);

	return order ? (1ul << (order - 1)) + 1 + rnd_below(t, 1ul << (order - 1)) : 1;
}

static bool do_exact(struct sthread *t)
{
	struct stress *s = t->s;
	unsigned long nr = pick_exact_nr(t);
	struct pmm_page *page;
	struct obj o;

	if (!room_for(t, nr))
		return false;
	if (s->fill == FILL_OFF || rnd_below(t, 2)) {
		page = pmm_alloc_pages_exact_pfn(s->pmm, nr, pick_gfp(t));
		if (!page)
			return refused(t);
		t->counts[OP_alloc_exact_pfn]++;
		return add_range(t, pmm_page_to_pfn(s->pmm, page), nr, "alloc_pages_exact_pfn");
	}
	memset(&o, 0, sizeof(o));
	o.kind = OBJ_EXACT;
	o.nr = nr;
	o.size = nr * s->page_size - rnd_below(t, s->page_size);
	o.u.addr = pmm_alloc_pages_exact(s->pmm, o.size, pick_gfp(t));
	if (!o.u.addr)
		return refused(t);
	t->counts[OP_alloc_exact]++;
	page = pmm_virt_to_page(s->pmm, o.u.addr);
	if (!page || pmm_page_address(s->pmm, page) != o.u.addr) {
		fail(s, "alloc_pages_exact: address %p does not map back to its page",
		     o.u.addr);
		return false;	/* leaked on purpose: we cannot name its frames */
	}
	o.pfn = pmm_page_to_pfn(s->pmm, page);
	check_range_pages(s, o.pfn, nr, "alloc_pages_exact");
	adopt_new(t, &o, false);
	return true;
}

static bool do_bulk(struct sthread *t)
{
	struct stress *s = t->s;
	unsigned long nr = 1 + rnd_below(t, 64), got, nonnull = 0, held = 0;
	struct pmm_page **arr, *before[64];
	struct obj o;

	if (!room_for(t, nr))
		return false;
	arr = calloc(nr, sizeof(*arr));
	if (!arr)
		return false;
	/* Some slots already hold pages: bulk must fill only the NULL ones. */
	for (unsigned long i = 0; i < nr; i++)
		if (rnd_below(t, 4) == 0 && (arr[i] = pmm_alloc_pages(s->pmm, PMM_GFP_NOWARN, 0)))
			held++;
	memcpy(before, arr, nr * sizeof(*arr));
	got = pmm_alloc_pages_bulk(s->pmm, pick_gfp(t) & ~PMM_GFP_ZERO, nr, arr);
	t->counts[OP_alloc_bulk]++;
	for (unsigned long i = 0; i < nr; i++) {
		if (before[i] && arr[i] != before[i])
			fail(s, "alloc_pages_bulk replaced slot %lu of %lu (pre-filled %lu)",
			     i, nr, held);
		if (arr[i] && !before[i] && pmm_page_count(arr[i]) != 1)
			fail(s, "alloc_pages_bulk: page %#llx has refcount %d",
			     U(pmm_page_to_pfn(s->pmm, arr[i])), pmm_page_count(arr[i]));
		if (arr[i])
			arr[nonnull++] = arr[i];	/* compact: the object keeps pages only */
	}
	if (got != nonnull)
		fail(s, "alloc_pages_bulk returned %lu but %lu slots hold pages (nr %lu)",
		     got, nonnull, nr);
	if (nonnull == 0) {
		free(arr);
		return refused(t);
	}
	memset(&o, 0, sizeof(o));
	o.kind = OBJ_LIST;
	o.nr = nonnull;
	o.u.pages = arr;
	adopt_new(t, &o, false);
	return true;
}

static bool do_contig(struct sthread *t)
{
	struct stress *s = t->s;
	unsigned long nr = 1 + rnd_below(t, 1ul << (s->max_order < 10 ? s->max_order : 10));
	struct pmm_page *page;

	if (!room_for(t, nr))
		return false;
	if (rnd_below(t, 2)) {
		page = pmm_alloc_contig_pages(s->pmm, nr, pick_gfp(t), -1);
		if (!page)
			return refused(t);
		t->counts[OP_alloc_contig_pages]++;
		return add_range(t, pmm_page_to_pfn(s->pmm, page), nr, "alloc_contig_pages");
	} else {
		/* A random range: usually busy, which tests the restore path. */
		uint64_t span = s->span_end - s->span_start;
		pmm_pfn_t start = s->span_start + rnd_below(t, span > nr ? span - nr : 1);
		int err = pmm_alloc_contig_range(s->pmm, start, start + nr, PMM_GFP_NOWARN);

		t->counts[OP_alloc_contig_range]++;
		if (err == -PMM_EBUSY) {
			t->contig_busy++;
			return false;
		}
		if (err == -PMM_ENOMEM || err == -PMM_ERANGE || err == -PMM_EINVAL)
			return refused(t);	/* ERANGE/EINVAL: a hole or a zone border */
		if (err) {
			fail(s, "alloc_contig_range(%#llx, %#llx): %s (%d)", U(start),
			     U(start + nr), pmm_strerror(err), err);
			return false;
		}
		return add_range(t, start, nr, "alloc_contig_range");
	}
}

/* ------------------------------------------------------------------------
 * Freeing
 * ------------------------------------------------------------------------ */

/* Give up ownership of @o and free it by a path its kind allows. */
static void free_obj(struct sthread *t, struct obj *o)
{
	struct stress *s = t->s;
	pmm_t *pmm = s->pmm;
	unsigned long r = rnd_below(t, 100);

	obj_frames(s, o, false, false);
	atomic_fetch_sub(&s->held, o->nr);

	switch (o->kind) {
	case OBJ_BLOCK:
		if (o->order > 0 && r < 20) {
			/* Linux __free_pages with an extra head reference: the
			 * tails go now, the head with its last put. */
			pmm_get_page(pmm, o->u.page);
			pmm_free_pages(pmm, o->u.page, o->order);
			if (pmm_page_count(o->u.page) != 1)
				fail(s, "free_pages with an extra ref: head %#llx has refcount %d",
				     U(o->pfn), pmm_page_count(o->u.page));
			pmm_put_page(pmm, o->u.page);
			t->counts[OP_free_pages_extra_ref]++;
		} else if (o->order == 0 && r < 50) {
			pmm_put_page(pmm, o->u.page);
			t->counts[OP_put_page]++;
		} else {
			pmm_free_pages(pmm, o->u.page, o->order);
			t->counts[OP_free_pages]++;
		}
		break;
	case OBJ_FOLIO:
		if (r < 40) {
			int refs = 1 + (int)rnd_below(t, 3);

			for (int i = 0; i < refs; i++)
				pmm_folio_get(pmm, o->u.folio);
			if (pmm_folio_ref_count(o->u.folio) != refs + 1)
				fail(s, "folio %#llx: refcount %d after %d gets", U(o->pfn),
				     pmm_folio_ref_count(o->u.folio), refs);
			pmm_folio_put_refs(pmm, o->u.folio, refs + 1);
			t->counts[OP_folio_put_refs]++;
		} else {
			pmm_folio_put(pmm, o->u.folio);
			t->counts[OP_folio_put]++;
		}
		break;
	case OBJ_RANGE:
		if (r < 45 || o->nr > t->scratch_len) {
			pmm_free_contig_range(pmm, o->pfn, o->nr);
			t->counts[OP_free_contig_range]++;
		} else if (r < 75) {
			/* Unsorted input must still be grouped correctly. */
			for (unsigned long i = 0; i < o->nr; i++)
				t->scratch[i] = pmm_pfn_to_page(pmm, o->pfn + i);
			for (unsigned long i = o->nr; i > 1 && rnd_below(t, 2); i--) {
				unsigned long j = rnd_below(t, i);
				struct pmm_page *tmp = t->scratch[i - 1];

				t->scratch[i - 1] = t->scratch[j];
				t->scratch[j] = tmp;
			}
			pmm_free_pages_bulk(pmm, t->scratch, o->nr);
			t->counts[OP_free_pages_bulk]++;
		} else {
			for (unsigned long i = 0; i < o->nr; i++)
				pmm_put_page(pmm, pmm_pfn_to_page(pmm, o->pfn + i));
			t->counts[OP_put_page]++;
		}
		break;
	case OBJ_EXACT:
		pmm_free_pages_exact(pmm, o->u.addr, o->size);
		t->counts[OP_free_pages_exact]++;
		break;
	case OBJ_LIST:
		if (r < 60) {
			pmm_free_pages_bulk(pmm, o->u.pages, o->nr);
			t->counts[OP_free_pages_bulk]++;
		} else {
			for (unsigned long i = 0; i < o->nr; i++)
				pmm_free_pages(pmm, o->u.pages[i], 0);
			t->counts[OP_free_pages]++;
		}
		free(o->u.pages);
		break;
	}
}

/* Free part of a range from either end: unaligned starts for the chunker. */
static void trim_range(struct sthread *t, struct obj *o)
{
	struct stress *s = t->s;
	unsigned long k = 1 + rnd_below(t, o->nr - 1);
	struct obj part = *o;

	part.nr = k;
	if (rnd_below(t, 2)) {
		o->pfn += k;	/* free the front */
	} else {
		part.pfn = o->pfn + o->nr - k;	/* free the back */
	}
	o->nr -= k;
	obj_frames(s, &part, false, false);
	atomic_fetch_sub(&s->held, k);
	pmm_free_contig_range(s->pmm, part.pfn, k);
	t->counts[OP_contig_trim]++;
}

static void take_obj(struct sthread *t, unsigned int i, struct obj *out)
{
	*out = t->objs[i];
	t->objs[i] = t->objs[--t->nr_objs];
}

static void do_free(struct sthread *t)
{
	unsigned int i;
	struct obj o;

	if (!t->nr_objs)
		return;
	i = (unsigned int)rnd_below(t, t->nr_objs);
	if (t->objs[i].kind == OBJ_RANGE && t->objs[i].nr > 1 && rnd_below(t, 4) == 0) {
		trim_range(t, &t->objs[i]);
		return;
	}
	take_obj(t, i, &o);
	free_obj(t, &o);
}

/* Move one object to the pool, so another thread (CPU) frees it. */
static void do_handoff(struct sthread *t)
{
	struct stress *s = t->s;
	unsigned int i;

	if (!t->nr_objs)
		return;
	i = (unsigned int)rnd_below(t, t->nr_objs);
	pthread_mutex_lock(&s->pool_lock);
	if (s->pool_nr < STRESS_POOL) {
		take_obj(t, i, &s->pool[s->pool_nr++]);
		t->counts[OP_handoff]++;
	}
	pthread_mutex_unlock(&s->pool_lock);
}

static void do_adopt(struct sthread *t)
{
	struct stress *s = t->s;
	bool got = false;
	struct obj o;

	pthread_mutex_lock(&s->pool_lock);
	if (s->pool_nr) {
		unsigned int i = (unsigned int)rnd_below(t, s->pool_nr);

		o = s->pool[i];
		s->pool[i] = s->pool[--s->pool_nr];
		got = true;
	}
	pthread_mutex_unlock(&s->pool_lock);
	if (!got)
		return;
	t->counts[OP_adopt]++;
	if (t->nr_objs < STRESS_MAX_OBJS && rnd_below(t, 2))
		t->objs[t->nr_objs++] = o;	/* keep it for a while */
	else
		free_obj(t, &o);
}

/* ------------------------------------------------------------------------
 * Threads
 * ------------------------------------------------------------------------ */

/* Allocation kinds: --ops selects a subset to narrow down a failure. */
static const struct {
	const char *name;
	unsigned int weight;		/* relative frequency */
	bool (*fn)(struct sthread *t);
} alloc_kinds[] = {
	{ "pages", 45, do_alloc_block },
	{ "folio", 20, do_alloc_folio },
	{ "split", 12, do_split },
	{ "exact", 11, do_exact },
	{ "bulk", 10, do_bulk },
	{ "contig", 2, do_contig },
};

#define NR_ALLOC_KINDS (sizeof(alloc_kinds) / sizeof(alloc_kinds[0]))

static bool do_alloc(struct sthread *t)
{
	unsigned long r = rnd_below(t, t->s->kinds_weight);

	for (size_t k = 0; k < NR_ALLOC_KINDS; k++) {
		if (!(t->s->kinds & (1u << k)))
			continue;
		if (r < alloc_kinds[k].weight)
			return alloc_kinds[k].fn(t);
		r -= alloc_kinds[k].weight;
	}
	return false;
}

static void *stress_thread(void *arg)
{
	struct sthread *t = arg;
	bool pressure = false;

	for (unsigned long step = 0;; step++) {
		unsigned long r;

		if ((step & 63) == 0 && stop(t))
			break;
		r = rnd_below(t, 1000);
		if (r == 0) {
			pmm_drain_all_pages(t->s->pmm);
			t->counts[OP_drain]++;
		} else if (pressure || t->nr_objs == STRESS_MAX_OBJS || r < 420) {
			do_free(t);
			pressure = false;
		} else if (r < 450) {
			do_handoff(t);
		} else if (r < 480) {
			do_adopt(t);
		} else {
			pressure = !do_alloc(t);
		}
	}
	while (t->nr_objs) {
		struct obj o;

		take_obj(t, t->nr_objs - 1, &o);
		free_obj(t, &o);
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * Command
 * ------------------------------------------------------------------------ */

struct stress_opts {
	unsigned long threads;
	double seconds;
	uint64_t seed;
	bool seeded;		/* --seed given */
	enum fill_mode fill;
	unsigned int kinds;
};

/* "pages,contig" -> a mask of alloc_kinds; Return: 0 or -1. */
static int parse_kinds(const char *list, unsigned int *mask)
{
	const char *p = list;

	*mask = 0;
	while (*p) {
		size_t len = strcspn(p, ","), k;

		for (k = 0; k < NR_ALLOC_KINDS; k++)
			if (strlen(alloc_kinds[k].name) == len &&
			    !strncmp(alloc_kinds[k].name, p, len))
				break;
		if (k == NR_ALLOC_KINDS)
			return -1;
		*mask |= 1u << k;
		p += len + (p[len] == ',');
	}
	return *mask ? 0 : -1;
}

enum { ST_THREADS, ST_SECONDS, ST_SEED, ST_FILL, ST_OPS };

static const struct cli_flag stress_flags[] = {
	{ "threads", "N", ST_THREADS, "worker threads (default: online CPUs)" },
	{ "seconds", "S", ST_SECONDS, "run time, may be fractional (default 5)" },
	{ "seed", "X", ST_SEED, "RNG seed; thread i uses seed + i (default: from the clock)" },
	{ "fill", "MODE", ST_FILL, "pattern per frame: full (default), edges (first and last\n"
	  "64 bytes), off; always off without backing" },
	{ "ops", "LIST", ST_OPS, "allocation kinds to use, to narrow down a failure (default\n"
	  "all): pages,folio,split,exact,bulk,contig; frees, handoffs\nand drains always run" },
	{ NULL, NULL, 0, NULL },
};

static int stress_apply(const struct cli_arg *a, void *ctx)
{
	struct stress_opts *o = ctx;
	char *end;

	switch (a->flag->id) {
	case ST_THREADS:
		return cli_arg_ulong(a, 1, STRESS_MAX_THREADS, &o->threads);
	case ST_SECONDS:
		o->seconds = strtod(a->val, &end);
		if (*end || !(o->seconds > 0 && o->seconds <= 86400))
			return cli_bad_value(a, "0 < S <= 86400");
		return 0;
	case ST_SEED:
		o->seeded = true;
		return cli_arg_u64(a, 0, UINT64_MAX, NULL, &o->seed);
	case ST_FILL:
		for (size_t i = 0; i < ARRAY_SIZE(fill_names); i++)
			if (!strcmp(a->val, fill_names[i])) {
				o->fill = (enum fill_mode)i;
				return 0;
			}
		return cli_bad_value(a, "full, edges or off");
	case ST_OPS:
		if (parse_kinds(a->val, &o->kinds))
			return cli_bad_value(a, "a comma-separated list of "
					     "pages,folio,split,exact,bulk,contig");
		return 0;
	}
	return -1;
}

static const struct cli_cmd stress_cmd = {
	.name = "stress",
	.help = "usage: pmm stress [--threads N] [--seconds S] [--seed X]\n"
		"                  [--fill full|edges|off] [--ops LIST] [instance flags]\n"
		"Threads allocate and free at random through every path (pages, folios,\n"
		"split_page, exact, bulk, contig), hand objects to each other, and verify\n"
		"frame ownership and memory patterns. At the end everything is freed and the\n"
		"instance checked; prints \"lost frames: 0\" and exits 0 when nothing is lost.\n",
	.flags = stress_flags,
	.apply = stress_apply,
};

/* Span, nodes and zones of the instance, for the bitmap and the op mix. */
static int stress_layout(struct stress *s)
{
	const struct pmm_config *c = pmm_get_config(s->pmm);

	s->span_start = UINT64_MAX;
	s->span_end = 0;
	s->nr_nodes = 1;
	for (unsigned int i = 0; i < c->nr_regions; i++) {
		const struct pmm_region *r = &c->regions[i];

		if (r->start_pfn < s->span_start)
			s->span_start = r->start_pfn;
		if (r->start_pfn + r->nr_pages > s->span_end)
			s->span_end = r->start_pfn + r->nr_pages;
		if (r->nid + 1 > s->nr_nodes)
			s->nr_nodes = r->nid + 1;
	}
	for (unsigned int i = 0; i < pmm_nr_zones(s->pmm); i++) {
		struct pmm_zone_info z;

		if (!pmm_zone_info(s->pmm, i, &z) && z.type == PMM_ZONE_DMA32)
			s->has_dma32 = true;
	}
	if (s->span_end <= s->span_start) {
		fprintf(stderr, "pmm stress: the instance reports no regions\n");
		return -1;
	}
	s->owned = calloc((size_t)((s->span_end - s->span_start + 63) / 64), sizeof(*s->owned));
	if (!s->owned) {
		fprintf(stderr, "pmm stress: no memory for a %llu-frame bitmap\n",
			(unsigned long long)(s->span_end - s->span_start));
		return -1;
	}
	s->max_order = c->max_order;
	s->pageblock_order = c->pageblock_order;
	s->page_size = pmm_page_size(s->pmm);
	return 0;
}

/* buddyinfo of every zone, flattened: the end state must equal the start. */
static void zone_free_snapshot(pmm_t *pmm, uint64_t *out, size_t len)
{
	size_t per = PMM_MAX_ORDER_LIMIT + 1;

	memset(out, 0, len * sizeof(*out));
	for (unsigned int i = 0; i < pmm_nr_zones(pmm) && (i + 1) * per <= len; i++) {
		struct pmm_zone_info z;

		if (!pmm_zone_info(pmm, i, &z))
			memcpy(out + i * per, z.nr_free, per * sizeof(*out));
	}
}

#define SNAP_LEN (PMM_NR_ZONE_TYPES * PMM_MAX_NODES * (PMM_MAX_ORDER_LIMIT + 1))

/* Free what is left, drain, and check; Return: failures found. */
static int stress_finish(struct stress *s, struct sthread *main_t, const uint64_t *fresh)
{
	uint64_t end[SNAP_LEN], free_frames, expect;
	int64_t lost;
	int err, failures = 0;

	/* The pool's objects were handed off but never adopted. */
	while (s->pool_nr) {
		struct obj o = s->pool[--s->pool_nr];

		free_obj(main_t, &o);
	}
	pmm_drain_all_pages(s->pmm);

	err = pmm_check(s->pmm);
	if (err) {
		printf("pmm_check: FAILED: %s (%d)\n", pmm_strerror(err), err);
		failures++;
	} else {
		printf("pmm_check: ok\n");
	}
	zone_free_snapshot(s->pmm, end, SNAP_LEN);
	if (memcmp(end, fresh, sizeof(end))) {
		printf("buddyinfo: FAILED: differs from the fresh instance's "
		       "(free memory not merged back):\n");
		pmm_buddyinfo(s->pmm, stdout, 0);
		failures++;
	} else {
		printf("buddyinfo: same as the fresh instance\n");
	}
	if (atomic_load(&s->bad_pages) || pmm_leaked_frames(s->pmm)) {
		printf("bad pages: FAILED: %llu reports, %llu frames leaked\n",
		       (unsigned long long)atomic_load(&s->bad_pages),
		       (unsigned long long)pmm_leaked_frames(s->pmm));
		failures++;
	}
	free_frames = pmm_free_frames(s->pmm);
	expect = pmm_managed_frames(s->pmm) - pmm_leaked_frames(s->pmm);
	lost = (int64_t)(expect - free_frames);
	if (lost)
		printf("free frames %llu, managed %llu, leaked %llu\n",
		       (unsigned long long)free_frames,
		       (unsigned long long)pmm_managed_frames(s->pmm),
		       (unsigned long long)pmm_leaked_frames(s->pmm));
	printf("lost frames: %lld\n", (long long)lost);
	return failures + (lost != 0);
}

int cmd_stress(int argc, char **argv)
{
	struct stress_opts o = { 0, 5.0, 0, false, FILL_FULL, 0 };
	uint64_t fresh[SNAP_LEN], total = 0, fails = 0, busy = 0, counts[NR_OPS] = { 0 }, t0;
	struct sthread **threads = NULL, *main_t = NULL;
	struct pmm_config cfg;
	struct stress *s;
	unsigned long started = 0;
	int ret = CLI_EXIT_FAIL, parsed;

	parsed = cli_parse(&stress_cmd, argc, argv, &cfg, &o);
	if (parsed != CLI_RUN)
		return parsed;
	if (!o.seeded)
		o.seed = mix64(cli_now_ns() ^ (uint64_t)time(NULL));

	s = calloc(1, sizeof(*s));
	if (!s) {
		fprintf(stderr, "pmm stress: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	cfg.bad_page_fn = bad_page_cb;
	cfg.bad_page_arg = s;
	s->seed = o.seed;
	printf("stress: seed %llu\n", (unsigned long long)o.seed);
	fflush(stdout);
	s->pmm = cli_create(&cfg, "stress");
	if (!s->pmm || stress_layout(s))
		goto out;
	if (!o.threads)
		o.threads = pmm_get_config(s->pmm)->nr_cpus ? pmm_get_config(s->pmm)->nr_cpus : 1;
	s->nr_threads = (unsigned int)o.threads;
	s->fill = pmm_get_config(s->pmm)->backing == PMM_BACKING_NONE ? FILL_OFF : o.fill;
	/* Three quarters of memory: deep enough to hit watermarks and
	 * fallbacks now and then, not so deep that every allocation fails. */
	s->cap = pmm_managed_frames(s->pmm) / 4 * 3;
	pthread_mutex_init(&s->pool_lock, NULL);
	zone_free_snapshot(s->pmm, fresh, SNAP_LEN);

	s->kinds = o.kinds ? o.kinds : (1u << NR_ALLOC_KINDS) - 1;
	printf("stress: %u threads, %.1f s, fill %s, ops", s->nr_threads, o.seconds,
	       fill_names[s->fill]);
	for (size_t k = 0; k < NR_ALLOC_KINDS; k++)
		if (s->kinds & (1u << k)) {
			printf("%c%s", s->kinds_weight ? ',' : ' ', alloc_kinds[k].name);
			s->kinds_weight += alloc_kinds[k].weight;
		}
	printf("\n");
	cli_print_config(stdout, s->pmm);
	fflush(stdout);

	threads = calloc(o.threads + 1, sizeof(*threads));
	if (!threads)
		goto out;
	for (unsigned long i = 0; i <= o.threads; i++) {
		threads[i] = calloc(1, sizeof(**threads));
		if (!threads[i])
			goto out;
		threads[i]->s = s;
		threads[i]->idx = (unsigned int)i;
		threads[i]->rng = o.seed + i;
		threads[i]->scratch_len = 1ul << (s->max_order > 10 ? s->max_order : 10);
		threads[i]->scratch = calloc(threads[i]->scratch_len, sizeof(struct pmm_page *));
		if (!threads[i]->scratch)
			goto out;
	}
	main_t = threads[o.threads];	/* frees the pool's leftovers at the end */

	t0 = cli_now_ns();
	s->deadline_ns = t0 + (uint64_t)(o.seconds * 1e9);
	for (; started < o.threads; started++)
		if (pthread_create(&threads[started]->tid, NULL, stress_thread, threads[started])) {
			fprintf(stderr, "pmm stress: cannot start thread %lu\n", started);
			atomic_store(&s->failed, 1);
			break;
		}
	for (unsigned long i = 0; i < started; i++)
		pthread_join(threads[i]->tid, NULL);

	for (unsigned long i = 0; i <= o.threads; i++) {
		for (int k = 0; k < NR_OPS; k++)
			counts[k] += threads[i]->counts[k];
		fails += threads[i]->alloc_fail;
		busy += threads[i]->contig_busy;
	}
	for (int k = 0; k < NR_OPS; k++)
		total += counts[k];
	printf("stress: %llu operations in %.2f s\n", (unsigned long long)total,
	       (double)(cli_now_ns() - t0) / 1e9);
	for (int k = 0; k < NR_OPS; k++)
		printf("  %-22s %llu\n", op_names[k], (unsigned long long)counts[k]);
	printf("  not failures: %llu allocations refused under memory pressure,\n"
	       "                %llu alloc_contig_range calls found the range busy\n",
	       (unsigned long long)fails, (unsigned long long)busy);

	if (stress_finish(s, main_t, fresh) == 0 && !atomic_load(&s->failed))
		ret = CLI_EXIT_OK;
	if (atomic_load(&s->failed))
		printf("stress: FAILED (see the messages above; seed %llu)\n",
		       (unsigned long long)o.seed);
out:
	if (threads) {
		/* Objects still held (an early exit) are leaked with the instance. */
		for (unsigned long i = 0; i <= o.threads; i++)
			if (threads[i]) {
				free(threads[i]->scratch);
				free(threads[i]);
			}
		free(threads);
	}
	if (s->pmm)
		pmm_destroy(s->pmm);
	free(s->owned);
	free(s);
	return ret;
}
