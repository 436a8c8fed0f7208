/* SPDX-License-Identifier: MIT */
/*
 * stress.c - `pmm stress`: several threads allocate and free at random
 * through every allocation path, hand objects to each other so frees cross
 * CPUs, churn address spaces (map, fault, fork, copy on write, partial
 * unmap, swap cache, deferred split, exit), and verify as they go. Not a
 * benchmark: it reports counts, never timings.
 *
 * What is verified, and why each check catches a different bug class:
 *   - a shared bitmap of owned frames: claiming a frame some other owner
 *     holds is a double allocation, on every backing (backing=none too);
 *   - on backed instances, every frame is filled with a pattern derived
 *     from (pfn, owner tag) (tests/common/pattern.h) and verified before it
 *     is freed: catches the library writing into allocated memory or
 *     handing out a frame whose previous owner still writes to it;
 *   - address spaces: a shadow of every mm says which of its pages lie in
 *     a VMA, which are known present and what each holds (zero, or the
 *     pattern of the tag of its last write); every read through
 *     pmm_mm_access() is checked against it (on backed instances), so a
 *     COW that leaks a write into the other side of a fork, a copy that
 *     loses data or a folio freed while still mapped shows as a mismatch;
 *     faults outside VMAs must fail, unmapped pages must look up as NULL,
 *     and each mm's RSS must lie between what is known present and what
 *     its VMAs cover;
 *   - per-call contracts: alignment, refcount 1, folio order, node/zone,
 *     PMM_GFP_ZERO memory, bulk allocation filling only NULL slots;
 *   - bad-page reports: this workload never misuses the API, so any report
 *     is a library bug;
 *   - at the end: every mm destroyed, the LRU add batches and the pcp
 *     lists drained; then pmm_check(), no folio left on an LRU, the swap
 *     cache or a deferred split queue, free == managed - leaked ("lost
 *     frames"), and buddyinfo back to the fresh instance's;
 *   - vmalloc: every page of an area is claimed in the bitmap; on backed
 *     instances a pattern written through the area's address must read
 *     back through pmm_page_address() of each page (and a vzalloc'd one
 *     as zeroes, a vmapped page as its frame's pattern), and after the
 *     last free and a purge the window is one free block again.
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
#include "common/pattern.h"
#include "common/prng.h"

#define STRESS_MAX_OBJS 512	/* objects one thread holds at most */
#define STRESS_POOL 256		/* objects waiting in the handoff pool */
#define STRESS_MAX_THREADS 256
#define STRESS_MAX_REPORTS 20	/* failure lines printed before going quiet */
#define STRESS_MM_SLOTS 4	/* address spaces one thread holds at most */
#define STRESS_MM_XCHG 8	/* address spaces parked for another thread to adopt */
#define STRESS_MM_RUN 16	/* pages one touch reads or writes at most */
#define STRESS_MM_WINDOW_MAX 4096	/* pages of an mm's window: small enough to revisit */
#define STRESS_MM_WINDOW_LARGE 16384	/* one mm in eight: enough for a zap to fill the gather */
#define STRESS_VM_SLOTS 16	/* vmalloc/vmap areas one thread holds at most */
#define STRESS_VM_MAX_PAGES 512	/* pages of a pmm_vmalloc() area, but for the huge ones */
#define STRESS_VMAP_MAX 64	/* pages of one pmm_vmap() */

/* The workloads a thread mixes; --ops selects them. */
enum stress_workload {
	WL_FRAMES,	/* allocate and free frames through every path */
	WL_MM,		/* address-space churn */
	WL_VM,		/* vmalloc churn */
};

/*
 * X(name, workload): one list for the counters, their names and the
 * summary (which prints the counters of the workloads that ran). The mm_
 * counters count calls, except mm_read and mm_write (pages).
 */
#define STRESS_OPS(X)                                                          \
	X(alloc_pages, WL_FRAMES) X(alloc_zero, WL_FRAMES)                     \
	X(alloc_node, WL_FRAMES) X(alloc_dma32, WL_FRAMES)                     \
	X(folio_alloc, WL_FRAMES) X(split_page, WL_FRAMES)                     \
	X(alloc_exact, WL_FRAMES) X(alloc_exact_pfn, WL_FRAMES)                \
	X(alloc_bulk, WL_FRAMES) X(alloc_contig_pages, WL_FRAMES)              \
	X(alloc_contig_range, WL_FRAMES) X(free_pages, WL_FRAMES)              \
	X(put_page, WL_FRAMES) X(free_pages_extra_ref, WL_FRAMES)              \
	X(folio_put, WL_FRAMES) X(folio_put_refs, WL_FRAMES)                   \
	X(free_contig_range, WL_FRAMES) X(contig_trim, WL_FRAMES)              \
	X(free_pages_bulk, WL_FRAMES) X(free_pages_exact, WL_FRAMES)           \
	X(handoff, WL_FRAMES) X(adopt, WL_FRAMES) X(drain, WL_FRAMES)          \
	X(mm_create, WL_MM) X(mm_map, WL_MM) X(mm_map_populate, WL_MM)         \
	X(mm_map_overlap, WL_MM) X(mm_read, WL_MM) X(mm_write, WL_MM)          \
	X(mm_refused, WL_MM) X(mm_fork, WL_MM) X(mm_fork_to_other, WL_MM)      \
	X(mm_cow_check, WL_MM) X(mm_unmap, WL_MM) X(mm_unmap_pinned, WL_MM)    \
	X(mm_swapcache_add, WL_MM)                                             \
	X(mm_split_scan, WL_MM) X(mm_lru_drain, WL_MM) X(mm_stats_check, WL_MM) \
	X(mm_handoff, WL_MM) X(mm_adopt, WL_MM) X(mm_destroy, WL_MM)           \
	X(vmalloc, WL_VM) X(vzalloc, WL_VM) X(vmalloc_node, WL_VM)             \
	X(vmalloc_huge, WL_VM) X(vmap, WL_VM) X(vmap_put, WL_VM)               \
	X(vfree, WL_VM) X(vunmap, WL_VM) X(vm_purge, WL_VM) X(vm_stats_check, WL_VM)

enum stress_op {
#define STRESS_OP_ENUM(name, wl) OP_##name,
	STRESS_OPS(STRESS_OP_ENUM)
#undef STRESS_OP_ENUM
	NR_OPS,
};

static const char *const op_names[NR_OPS] = {
#define STRESS_OP_NAME(name, wl) #name,
	STRESS_OPS(STRESS_OP_NAME)
#undef STRESS_OP_NAME
};

static const enum stress_workload op_workload[NR_OPS] = {
#define STRESS_OP_WL(name, wl) wl,
	STRESS_OPS(STRESS_OP_WL)
#undef STRESS_OP_WL
};

/* FILL_SAMPLED is pattern.h's PATTERN_SAMPLED: the start, middle and end of a frame. */
enum fill_mode { FILL_OFF, FILL_SAMPLED, FILL_FULL };

static const char *const fill_names[] = {
	[FILL_OFF] = "off", [FILL_SAMPLED] = "sampled", [FILL_FULL] = "full",
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

struct smm;
struct svm;

/* State shared by every thread; the instance is the thing under test. */
struct stress {
	pmm_t *pmm;
	uint64_t seed;
	unsigned int nr_threads;
	enum fill_mode fill;
	enum pattern_span span;		/* the words fill_mode covers */
	unsigned int kinds;		/* bit k: alloc_kinds[k] enabled */
	bool frames_on, mm_on, vm_on;	/* the workloads that run */
	bool backed;			/* pmm_mm_access() works: contents can be checked */
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

	struct jw *json;		/* --json: the object being written; NULL: text */

	unsigned long mm_window;	/* pages of an mm's window (whole pageblocks) */
	atomic_ullong mm_ids;		/* mms created or forked: their ids */
	pthread_mutex_t xchg_lock;
	struct smm *xchg[STRESS_MM_XCHG];	/* parked mms: the next owner is whoever adopts */
	unsigned int xchg_nr;
};

/* Library counters of the mms a thread destroyed, summed at their exit. */
struct mm_totals {
	uint64_t faults, cow_faults, fault_fallbacks, tlb_flushes;
	uint64_t gather_batches, gather_forced_flushes;
	uint64_t by_gather[PMM_NR_GATHER_MODES];	/* mms created per gather mode */
	uint64_t by_mapcount[2];			/* ... per mapcount model */
};

struct sthread {
	struct stress *s;
	unsigned int idx;
	pthread_t tid;
	struct prng rng;		/* stream idx of the seed */
	uint64_t seq;			/* makes tags unique */
	struct obj objs[STRESS_MAX_OBJS];
	unsigned int nr_objs;
	uint64_t counts[NR_OPS];
	uint64_t alloc_fail;		/* refused allocations: pressure, not a bug */
	uint64_t contig_busy;		/* alloc_contig_range over frames in use */
	struct pmm_page **scratch;	/* one object's pages, for bulk frees */
	size_t scratch_len;
	struct smm *mms[STRESS_MM_SLOTS];	/* address spaces this thread owns */
	unsigned int nr_mms;
	uint64_t mm_nomem;		/* -PMM_ENOMEM from an mm call: pressure, not a bug */
	struct mm_totals mm_tot;
	struct svm *vms;		/* [STRESS_VM_SLOTS]: areas this thread owns */
	unsigned int nr_vms;
	uint64_t vm_nomem;		/* refused vmalloc/vmap calls: pressure, not a bug */
};

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* A number in [0, @n) from the thread's stream (0 when @n is 0). */
static unsigned long rnd_below(struct sthread *t, unsigned long n)
{
	return (unsigned long)prng_below(&t->rng, n);
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
		flockfile(stderr);	/* one line, even beside the progress line */
		fprintf(stderr, "stress: FAILED: ");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		funlockfile(stderr);
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
 * Frame ownership bitmap and patterns (tests/common/pattern.h)
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

static void fill_frame(struct stress *s, pmm_pfn_t pfn, uint64_t tag, bool expect_zero)
{
	struct pattern_mismatch bad;

	if (s->fill == FILL_OFF)
		return;
	if (!pmm_page_address(s->pmm, pmm_pfn_to_page(s->pmm, pfn))) {
		fail(s, "frame %#llx of a backed instance has no address", U(pfn));
		return;
	}
	/* PMM_GFP_ZERO promises every word, whatever the fill covers. */
	if (expect_zero && !pattern_zeroed(s->pmm, pfn, 1, PATTERN_ALL, &bad))
		fail(s, "PMM_GFP_ZERO: frame %#llx word %llu is %#llx", U(pfn), U(bad.word),
		     U(bad.got));
	pattern_write(s->pmm, pfn, 1, tag, s->span);
}

static void verify_frame(struct stress *s, pmm_pfn_t pfn, uint64_t tag)
{
	struct pattern_mismatch bad;

	if (s->fill == FILL_OFF || pattern_verify(s->pmm, pfn, 1, tag, s->span, &bad))
		return;
	fail(s, "pattern mismatch: frame %#llx word %llu is %#llx, want %#llx (owner tag %#llx): "
	     "memory changed while allocated", U(pfn), U(bad.word), U(bad.got), U(bad.want), U(tag));
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
 * Address-space churn
 *
 * Each thread owns up to STRESS_MM_SLOTS mms, each with a random gather
 * mode and mapcount model, and picks among: map a VMA (order 0 to
 * pageblock_order, sizes in whole folios or not, sometimes populated,
 * sometimes read-only), touch a run of pages (read, or write a new tag's
 * pattern), fork (the child stays or is parked for another thread, so two
 * threads work on mms sharing folios), write-then-read across a fork (the
 * COW check), unmap a random range (mostly inside large folios), add a
 * range to the swap cache, scan the deferred split queues, drain the LRU
 * batches, compare the mm's counters with the shadow, park or adopt an
 * mm, and exit (destroy). Every mm covers a window of whole pageblocks at
 * a random pageblock-aligned base, so the tables' upper levels vary too.
 * ------------------------------------------------------------------------ */

/* What the shadow knows of one page of an mm's window. */
enum {
	VP_VMA = 1u << 0,	/* inside a VMA */
	VP_WRITE = 1u << 1,	/* ... a writable one */
	VP_PRESENT = 1u << 2,	/* accessed since it was mapped: a PTE must exist */
};

/* One address space and its shadow; owned by one thread, or parked. */
struct smm {
	pmm_mm_t *mm;
	enum pmm_gather_mode gather;
	enum pmm_mapcount_model mapcount;
	uint64_t id;			/* for reports: this mm */
	uint64_t family;		/* the id of the mm it was forked from, first of all */
	uint64_t base;			/* window start */
	unsigned long pages;		/* window size */
	uint8_t *state;			/* VP_* per window page */
	uint64_t *tag;			/* what the page holds: 0 zeroes, else the tag's pattern */
	unsigned long vma_pages;	/* pages with VP_VMA */
	unsigned long present;		/* pages with VP_PRESENT */
};

static const char *const gather_names[PMM_NR_GATHER_MODES] = {
	[PMM_GATHER_PER_PAGE] = "per_page", [PMM_GATHER_RANGES] = "ranges",
	[PMM_GATHER_ENCODED] = "encoded",
};

static const char *const mapcount_names[] = {
	[PMM_MAPCOUNT_PER_PAGE] = "per_page", [PMM_MAPCOUNT_FOLIO] = "folio",
};

#define MM_PAGE_SHIFT 12	/* address spaces take 4 KiB pages only */

static uint64_t smm_addr(const struct smm *m, unsigned long i)
{
	return m->base + ((uint64_t)i << MM_PAGE_SHIFT);
}

/*
 * The words of a virtual page: pattern.h's, keyed by the virtual page
 * number instead of a pfn, since a COW copy moves the bytes to another
 * frame and a fork shares them between mms at the same address.
 */
static void vpage_fill(struct stress *s, uint64_t *w, uint64_t vpn, uint64_t tag)
{
	size_t words = s->page_size / sizeof(*w);

	for (size_t i = 0; i < words; i = pattern_next(i, words, s->span))
		w[i] = pattern_word(vpn, tag, i);
}

/* Does @w hold what the shadow says (@tag 0: zeroes)? Return: the bad word or -1. */
static long vpage_check(struct stress *s, const uint64_t *w, uint64_t vpn, uint64_t tag,
			uint64_t *want)
{
	size_t words = s->page_size / sizeof(*w);

	for (size_t i = 0; i < words; i = pattern_next(i, words, s->span)) {
		*want = tag ? pattern_word(vpn, tag, i) : 0;
		if (w[i] != *want)
			return (long)i;
	}
	return -1;
}

/* Report an mm call that broke its contract, naming the mm. */
#define mm_fail(t, m, fmt, ...)                                                \
	fail((t)->s, "thread %u mm %llu (family %llu, gather %s, mapcount %s): " fmt, \
	     (t)->idx, U((m)->id), U((m)->family), gather_names[(m)->gather],     \
	     mapcount_names[(m)->mapcount], __VA_ARGS__)

/* Verify page @i of @m at @ptr (the page's direct-map start). */
static void vpage_verify(struct sthread *t, struct smm *m, unsigned long i, const void *ptr,
			 const char *when)
{
	struct stress *s = t->s;
	uint64_t tag = m->tag[i], want;
	long bad;

	if (s->fill == FILL_OFF)
		return;
	bad = vpage_check(s, ptr, smm_addr(m, i) >> MM_PAGE_SHIFT, tag, &want);
	if (bad < 0)
		return;
	if (!tag)
		mm_fail(t, m, "content mismatch %s at %#llx (pfn %#llx) word %ld: %#llx, want 0 "
			"(never written: zero fill)", when, U(smm_addr(m, i)),
			U(pmm_page_to_pfn(s->pmm, pmm_virt_to_page(s->pmm, ptr))), bad,
			U(((const uint64_t *)ptr)[bad]));
	else
		mm_fail(t, m, "content mismatch %s at %#llx (pfn %#llx) word %ld: %#llx, want %#llx "
			"(tag %#llx: thread %llu's write %llu)", when, U(smm_addr(m, i)),
			U(pmm_page_to_pfn(s->pmm, pmm_virt_to_page(s->pmm, ptr))), bad,
			U(((const uint64_t *)ptr)[bad]), U(want), U(tag), U((tag >> 48) - 1),
			U(tag & ((1ull << 48) - 1)));
}

/* A new tag: thread + 1 in the top 16 bits, its write count below; the pattern adds the page. */
static uint64_t mm_new_tag(struct sthread *t)
{
	return ((uint64_t)(t->idx + 1) << 48) | ++t->seq;
}

static void smm_free(struct smm *m)
{
	if (m) {
		free(m->state);
		free(m->tag);
		free(m);
	}
}

static struct smm *smm_alloc(unsigned long pages)
{
	struct smm *m = calloc(1, sizeof(*m));

	if (m) {
		m->pages = pages;
		m->state = calloc(pages, sizeof(*m->state));
		m->tag = calloc(pages, sizeof(*m->tag));
		if (!m->state || !m->tag) {
			smm_free(m);
			m = NULL;
		}
	}
	return m;
}

/* A call that may fail only for want of memory: count that, report the rest. */
static bool mm_ok(struct sthread *t, struct smm *m, int err, const char *call, uint64_t addr)
{
	if (!err)
		return true;
	if (err == -PMM_ENOMEM)
		t->mm_nomem++;
	else
		mm_fail(t, m, "%s at %#llx: %s (%d)", call, U(addr), pmm_strerror(err), err);
	return false;
}

static void mm_put_slot(struct sthread *t, struct smm *m)
{
	t->mms[t->nr_mms++] = m;
}

static struct smm *mm_take_slot(struct sthread *t, unsigned int i)
{
	struct smm *m = t->mms[i];

	t->mms[i] = t->mms[--t->nr_mms];
	return m;
}

static void mm_create(struct sthread *t)
{
	struct stress *s = t->s;
	unsigned int align = MM_PAGE_SHIFT + s->pageblock_order;
	unsigned long pages = s->mm_window;
	struct pmm_mm_config cfg;
	uint64_t slots;
	struct smm *m;
	int err;

	/*
	 * Now and then a window large enough that its exit or a whole-window
	 * unmap gathers more than the gather holds: forced flushes mid-zap.
	 */
	if (rnd_below(t, 8) == 0)
		pages = pages * 4 < STRESS_MM_WINDOW_LARGE ? pages * 4 : STRESS_MM_WINDOW_LARGE;
	slots = ((1ull << 47) - ((uint64_t)pages << MM_PAGE_SHIFT)) >> align;
	if (t->nr_mms == STRESS_MM_SLOTS || !(m = smm_alloc(pages)))
		return;
	pmm_mm_config_init(&cfg);
	cfg.gather = (enum pmm_gather_mode)rnd_below(t, PMM_NR_GATHER_MODES);
	cfg.mapcount = rnd_below(t, 2) ? PMM_MAPCOUNT_FOLIO : PMM_MAPCOUNT_PER_PAGE;
	m->gather = cfg.gather;
	m->mapcount = cfg.mapcount;
	m->id = atomic_fetch_add(&s->mm_ids, 1) + 1;
	m->family = m->id;
	m->base = (uint64_t)rnd_below(t, slots) << align;
	err = pmm_mm_create(s->pmm, &cfg, &m->mm);
	if (!mm_ok(t, m, err, "pmm_mm_create", 0)) {
		smm_free(m);
		return;
	}
	t->counts[OP_mm_create]++;
	t->mm_tot.by_gather[m->gather]++;
	t->mm_tot.by_mapcount[m->mapcount]++;
	mm_put_slot(t, m);
}

/* Biased to small orders and to the PMD order, as mTHP policies are. */
/* The largest folio order an address space takes: pageblock_order, at most 9 (pmm.h). */
#define MM_MAX_FOLIO_ORDER 9

static unsigned int pick_mm_order(struct sthread *t)
{
	unsigned int pb = t->s->pageblock_order < MM_MAX_FOLIO_ORDER ? t->s->pageblock_order
								       : MM_MAX_FOLIO_ORDER;
	unsigned long r = rnd_below(t, 100);

	if (r < 30)
		return 0;
	if (r < 55)
		return (unsigned int)(1 + rnd_below(t, pb < 4 ? pb : 4)) % (pb + 1);
	if (r < 85)
		return (unsigned int)rnd_below(t, pb + 1);
	return pb;
}

/* A random range of @m's window: [*start, *start + return) pages, at most @max pages. */
static unsigned long pick_mm_range(struct sthread *t, const struct smm *m, unsigned long max,
				   unsigned long align, unsigned long *start)
{
	unsigned long w = m->pages, n = 1 + rnd_below(t, max);

	*start = align > 1 && rnd_below(t, 2) ? rnd_below(t, w / align) * align : rnd_below(t, w);
	return n < w - *start ? n : w - *start;
}

/* The shadow of [start, start + n): nothing mapped. */
static void smm_clear(struct smm *m, unsigned long start, unsigned long n)
{
	for (unsigned long i = start; i < start + n; i++) {
		m->vma_pages -= !!(m->state[i] & VP_VMA);
		m->present -= !!(m->state[i] & VP_PRESENT);
		m->state[i] = 0;
		m->tag[i] = 0;
	}
}

static void mm_map(struct sthread *t, struct smm *m)
{
	unsigned int order = pick_mm_order(t);
	unsigned long folio = 1ul << order, start, n;
	unsigned int flags = (rnd_below(t, 100) < 85 ? PMM_MAP_WRITE : 0) |
			     (rnd_below(t, 100) < 20 ? PMM_MAP_POPULATE : 0);
	bool overlap = false;
	int err;

	/*
	 * Whole folios half of the time, else any size (the fallback fills
	 * the edges); one in eight up to the whole window, mostly populated.
	 */
	if (rnd_below(t, 8) == 0) {
		n = pick_mm_range(t, m, m->pages, folio, &start);
		flags |= rnd_below(t, 2) ? PMM_MAP_POPULATE : 0;
	} else {
		n = pick_mm_range(t, m, 4 * folio, folio, &start);
	}
	if (rnd_below(t, 2) && n >= folio)
		n &= ~(folio - 1);
	for (unsigned long i = start; i < start + n && !overlap; i++)
		overlap = m->state[i] & VP_VMA;
	if (overlap && rnd_below(t, 4))
		return;		/* a map over a VMA now and then: it must be refused */
	err = pmm_mm_map_anon(m->mm, smm_addr(m, start), n << MM_PAGE_SHIFT, order, flags);
	if (overlap) {
		if (err != -PMM_EINVAL)
			mm_fail(t, m, "map over a VMA at %#llx+%lu pages: %d, want -PMM_EINVAL",
				U(smm_addr(m, start)), n, err);
		t->counts[OP_mm_map_overlap]++;
		return;
	}
	if (!mm_ok(t, m, err, "pmm_mm_map_anon", smm_addr(m, start))) {
		/* Populate failed: nothing of the range may stay mapped. */
		if (err == -PMM_ENOMEM && pmm_mm_lookup(m->mm, smm_addr(m, start)))
			mm_fail(t, m, "a failed populate left %#llx mapped", U(smm_addr(m, start)));
		return;
	}
	for (unsigned long i = start; i < start + n; i++) {
		m->state[i] = VP_VMA | (flags & PMM_MAP_WRITE ? VP_WRITE : 0) |
			      (flags & PMM_MAP_POPULATE ? VP_PRESENT : 0);
		m->present += !!(flags & PMM_MAP_POPULATE);
	}
	m->vma_pages += n;
	if (!(flags & PMM_MAP_POPULATE) && pmm_mm_lookup(m->mm, smm_addr(m, start)))
		mm_fail(t, m, "a new VMA at %#llx has a page before any fault",
			U(smm_addr(m, start)));
	t->counts[flags & PMM_MAP_POPULATE ? OP_mm_map_populate : OP_mm_map]++;
}

/*
 * Read or write page @i of @m: fault as needed, check the page against
 * the shadow, and on a write check what the copy (or the reused page)
 * holds before writing a new tag. Outside a VMA, and for a write to a
 * read-only one, the call must fail.
 */
static void mm_touch_page(struct sthread *t, struct smm *m, unsigned long i, bool write)
{
	struct stress *s = t->s;
	uint64_t addr = smm_addr(m, i), off = 0;
	void *ptr = NULL;
	struct pmm_page *page;
	bool allowed = (m->state[i] & VP_VMA) && (!write || (m->state[i] & VP_WRITE));
	int err;

	if (s->backed) {
		off = rnd_below(t, s->page_size);	/* any byte of the page */
		err = pmm_mm_access(m->mm, addr + off, write, &ptr);
	} else {
		err = pmm_mm_fault(m->mm, addr, write);
	}
	if (!allowed) {
		if (err != -PMM_EINVAL)
			mm_fail(t, m, "%s at %#llx (%s): %d, want -PMM_EINVAL",
				write ? "write" : "read", U(addr),
				m->state[i] & VP_VMA ? "read-only VMA" : "no VMA", err);
		t->counts[OP_mm_refused]++;
		return;
	}
	if (!mm_ok(t, m, err, write ? "write fault" : "read fault", addr))
		return;
	if (!(m->state[i] & VP_PRESENT)) {
		m->state[i] |= VP_PRESENT;
		m->present++;
	}
	page = pmm_mm_lookup(m->mm, addr);
	if (!page || (ptr && pmm_page_address(s->pmm, page) != (char *)ptr - off)) {
		mm_fail(t, m, "after a fault at %#llx: lookup gives %p, access %p - %llu", U(addr),
			(void *)page, ptr, U(off));
		return;
	}
	t->counts[write ? OP_mm_write : OP_mm_read]++;
	if (!ptr)
		return;		/* no backing: no contents */
	ptr = (char *)ptr - off;
	vpage_verify(t, m, i, ptr, write ? "before a write" : "on a read");
	if (write && s->fill != FILL_OFF) {
		m->tag[i] = mm_new_tag(t);
		vpage_fill(s, ptr, addr >> MM_PAGE_SHIFT, m->tag[i]);
	}
}

/* A random page index, in a VMA three times out of four when there is one. */
static unsigned long pick_mm_page(struct sthread *t, struct smm *m, uint8_t want)
{
	unsigned long i = rnd_below(t, m->pages);

	for (int tries = 0; tries < 8 && (m->state[i] & want) != want && rnd_below(t, 4); tries++)
		i = rnd_below(t, m->pages);
	return i;
}

/* A run of pages, read or written; it ends at the first page outside a VMA. */
static void mm_touch(struct sthread *t, struct smm *m)
{
	unsigned long i = pick_mm_page(t, m, VP_VMA), n = 1 + rnd_below(t, STRESS_MM_RUN);
	bool write = rnd_below(t, 2);

	for (; n && i < m->pages; n--, i++) {
		/* A write to a read-only VMA now and then: it must be refused. */
		mm_touch_page(t, m, i, write && ((m->state[i] & VP_WRITE) || rnd_below(t, 16) == 0));
		if (!(m->state[i] & VP_VMA))
			break;
	}
}

static void mm_exit(struct sthread *t, struct smm *m, bool all);

/*
 * Fork @m; the child goes to a free slot of this thread or is parked for
 * another thread, so that two threads fault, copy and unmap folios that
 * both mms map.
 */
static void mm_fork(struct sthread *t, struct smm *m)
{
	struct stress *s = t->s;
	bool park = s->nr_threads > 1 && (t->nr_mms == STRESS_MM_SLOTS || rnd_below(t, 2));
	struct smm *c;
	int err;

	c = smm_alloc(m->pages);
	if (!c)
		return;
	err = pmm_mm_fork(m->mm, &c->mm);
	if (!mm_ok(t, m, err, "pmm_mm_fork", 0)) {
		smm_free(c);
		return;
	}
	c->gather = m->gather;
	c->mapcount = m->mapcount;
	c->id = atomic_fetch_add(&s->mm_ids, 1) + 1;
	c->family = m->family;
	c->base = m->base;
	c->vma_pages = m->vma_pages;
	c->present = m->present;
	memcpy(c->state, m->state, m->pages * sizeof(*c->state));
	memcpy(c->tag, m->tag, m->pages * sizeof(*c->tag));
	t->counts[OP_mm_fork]++;
	if (park) {
		pthread_mutex_lock(&s->xchg_lock);
		if (s->xchg_nr < STRESS_MM_XCHG) {
			s->xchg[s->xchg_nr++] = c;
			c = NULL;
		}
		pthread_mutex_unlock(&s->xchg_lock);
		if (!c) {
			t->counts[OP_mm_fork_to_other]++;
			return;
		}
	}
	if (t->nr_mms < STRESS_MM_SLOTS)
		mm_put_slot(t, c);
	else
		mm_exit(t, c, false);	/* no room anywhere: the child exits at once */
}

/*
 * The COW check where both sides are at hand: write a page that @a shares
 * with a fork relative @b (same tag: not written since the fork), then
 * read it in @b, which must still see the old bytes.
 */
static void mm_cow_check(struct sthread *t)
{
	struct smm *a = NULL, *b = NULL;
	unsigned long i;

	for (unsigned int x = 0; x < t->nr_mms && !b; x++)
		for (unsigned int y = 0; y < t->nr_mms && !b; y++)
			if (x != y && t->mms[x]->family == t->mms[y]->family) {
				a = t->mms[x];
				b = t->mms[y];
			}
	if (!b)
		return;
	if (rnd_below(t, 2)) {
		struct smm *tmp = a;	/* either side writes: parent or child */

		a = b;
		b = tmp;
	}
	for (int tries = 0; tries < 16; tries++) {
		i = pick_mm_page(t, a, VP_VMA | VP_WRITE | VP_PRESENT);
		if ((a->state[i] & (VP_WRITE | VP_PRESENT)) == (VP_WRITE | VP_PRESENT) &&
		    (b->state[i] & VP_PRESENT) && a->tag[i] == b->tag[i]) {
			mm_touch_page(t, a, i, true);
			mm_touch_page(t, b, i, false);
			t->counts[OP_mm_cow_check]++;
			return;
		}
	}
}

static void mm_unmap(struct sthread *t, struct smm *m)
{
	unsigned long max = 2ul << t->s->pageblock_order, start, n;
	struct pmm_page *pinned = NULL;
	int err;

	if (rnd_below(t, 10) == 0) {
		start = 0;
		n = m->pages;
	} else {
		/* Mostly small and unaligned: inside large folios. */
		n = pick_mm_range(t, m, rnd_below(t, 2) ? 8 : max, 1, &start);
	}
	/*
	 * Sometimes a page of the range is pinned across the unmap (a
	 * reference of our own, pmm_mm_get_page), then put: that put may be
	 * the folio's last, which takes it off its LRU list.
	 */
	if (rnd_below(t, 4) == 0)
		pinned = pmm_mm_get_page(m->mm, smm_addr(m, start + rnd_below(t, n)));
	err = pmm_mm_unmap(m->mm, smm_addr(m, start), n << MM_PAGE_SHIFT);
	if (err) {
		if (pinned)
			pmm_put_page(t->s->pmm, pinned);
		mm_fail(t, m, "pmm_mm_unmap(%#llx, %lu pages): %s (%d)", U(smm_addr(m, start)), n,
			pmm_strerror(err), err);
		return;
	}
	smm_clear(m, start, n);
	t->counts[OP_mm_unmap]++;
	if (pinned) {
		if (pmm_page_count(pinned) < 1)
			mm_fail(t, m, "a page pinned across the unmap of %#llx lost our reference",
				U(smm_addr(m, start)));
		pmm_put_page(t->s->pmm, pinned);
		t->counts[OP_mm_unmap_pinned]++;
	}
	/* Gone: no page, and a fault finds no VMA. */
	start += rnd_below(t, n);
	if (pmm_mm_lookup(m->mm, smm_addr(m, start)))
		mm_fail(t, m, "%#llx still mapped after unmap", U(smm_addr(m, start)));
	mm_touch_page(t, m, start, rnd_below(t, 2));
}

static void mm_swapcache(struct sthread *t, struct smm *m)
{
	unsigned long start, n = pick_mm_range(t, m, 2ul << t->s->pageblock_order, 1, &start);
	int err = pmm_mm_swapcache_add(m->mm, smm_addr(m, start), n << MM_PAGE_SHIFT);

	if (mm_ok(t, m, err, "pmm_mm_swapcache_add", smm_addr(m, start)))
		t->counts[OP_mm_swapcache_add]++;
}

/* The mm's counters against the shadow: known present <= RSS <= VMA pages. */
static void mm_stats_check(struct sthread *t, struct smm *m)
{
	struct pmm_mm_stats st;

	pmm_mm_stats_get(m->mm, &st);
	if (st.rss_anon < m->present || st.rss_anon > m->vma_pages)
		mm_fail(t, m, "RSS %llu pages outside [%lu present, %lu in VMAs]", U(st.rss_anon),
			m->present, m->vma_pages);
	if (!st.pgtable_pages || (m->vma_pages && !st.nr_vmas))
		mm_fail(t, m, "%llu table pages and %llu VMAs with %lu pages mapped",
			U(st.pgtable_pages), U(st.nr_vmas), m->vma_pages);
	t->counts[OP_mm_stats_check]++;
}

/* Park @m for another thread. */
static void mm_handoff(struct sthread *t, unsigned int slot)
{
	struct stress *s = t->s;

	pthread_mutex_lock(&s->xchg_lock);
	if (s->xchg_nr < STRESS_MM_XCHG) {
		s->xchg[s->xchg_nr++] = mm_take_slot(t, slot);
		t->counts[OP_mm_handoff]++;
	}
	pthread_mutex_unlock(&s->xchg_lock);
}

static void mm_adopt(struct sthread *t)
{
	struct stress *s = t->s;

	if (t->nr_mms == STRESS_MM_SLOTS)
		return;
	pthread_mutex_lock(&s->xchg_lock);
	if (s->xchg_nr) {
		unsigned int i = (unsigned int)rnd_below(t, s->xchg_nr);

		mm_put_slot(t, s->xchg[i]);
		s->xchg[i] = s->xchg[--s->xchg_nr];
		t->counts[OP_mm_adopt]++;
	}
	pthread_mutex_unlock(&s->xchg_lock);
}

/*
 * Exit: read back every page known present (@all) or a sample, then
 * destroy the mm and keep its counters.
 */
static void mm_exit(struct sthread *t, struct smm *m, bool all)
{
	struct pmm_mm_stats st;
	unsigned long n = all ? m->pages : 32;

	for (unsigned long k = 0; k < n && m->present; k++) {
		unsigned long i = all ? k : pick_mm_page(t, m, VP_PRESENT);

		if (m->state[i] & VP_PRESENT)
			mm_touch_page(t, m, i, false);
	}
	mm_stats_check(t, m);
	pmm_mm_stats_get(m->mm, &st);
	t->mm_tot.faults += st.faults;
	t->mm_tot.cow_faults += st.cow_faults;
	t->mm_tot.fault_fallbacks += st.fault_fallbacks;
	t->mm_tot.tlb_flushes += st.tlb_flushes;
	t->mm_tot.gather_batches += st.gather_batches;
	t->mm_tot.gather_forced_flushes += st.gather_forced_flushes;
	pmm_mm_destroy(m->mm);
	smm_free(m);
	t->counts[OP_mm_destroy]++;
}

/* One address-space operation on a random mm of the thread. */
static void do_mm(struct sthread *t)
{
	unsigned long r = rnd_below(t, 1000);
	unsigned int slot;
	struct smm *m;

	if (!t->nr_mms || r < 40) {
		/* Adopt what others parked before making more. */
		if (r & 1 || t->s->nr_threads < 2)
			mm_create(t);
		else
			mm_adopt(t);
		return;
	}
	slot = (unsigned int)rnd_below(t, t->nr_mms);
	m = t->mms[slot];
	if (r < 470)
		mm_touch(t, m);
	else if (r < 610)
		mm_map(t, m);
	else if (r < 730)
		mm_unmap(t, m);
	else if (r < 780)
		mm_fork(t, m);
	else if (r < 840)
		mm_cow_check(t);
	else if (r < 870)
		mm_swapcache(t, m);
	else if (r < 900) {
		pmm_deferred_split_scan(t->s->pmm, 1 + rnd_below(t, 32));
		t->counts[OP_mm_split_scan]++;
	} else if (r < 920) {
		pmm_lru_add_drain(t->s->pmm);
		t->counts[OP_mm_lru_drain]++;
	} else if (r < 940)
		mm_stats_check(t, m);
	else if (r < 975)
		mm_handoff(t, slot);
	else
		mm_exit(t, mm_take_slot(t, slot), false);
}

/* ------------------------------------------------------------------------
 * vmalloc churn
 *
 * Each thread owns up to STRESS_VM_SLOTS areas: pmm_vmalloc / vzalloc /
 * vmalloc_node of 1..512 pages, pmm_vmalloc_huge of 2 MiB (the PMD size)
 * and a little more, and pmm_vmap of up to STRESS_VMAP_MAX of its own
 * order-0 pages (with PMM_VMAP_PUT_PAGES or not). Every page of an area
 * is claimed in the ownership bitmap, so a frame that is also someone
 * else's shows as a double allocation. On backed instances (fill not off)
 * the thread writes the area's pattern through the area's address and
 * reads it back through pmm_page_address() of pmm_vmalloc_to_page() of
 * each page, then through the area again before freeing it; a vzalloc'd
 * area must read as zeroes first, a vmapped page as the pattern its frame
 * had. Without backing the addresses are only looked up, never touched.
 * Beside that: purges and the statistics' bounds. Not here yet:
 * pmm_vmalloc_info() while other threads allocate, which reads an area's
 * pages before pmm_vmalloc() has filled them (a NULL page; to be fixed in
 * vmalloc.c). At the end every area is gone and, after a purge, the window
 * is one free block again.
 * ------------------------------------------------------------------------ */

/* One area of the window; owned by one thread. */
struct svm {
	void *addr;
	unsigned long nr;		/* pages */
	uint64_t tag;			/* the pattern through the area: 0 zeroes (vzalloc, unwritten) */
	bool vmap, put;			/* pmm_vmap(), with PMM_VMAP_PUT_PAGES */
	struct pmm_page **pages;	/* [nr]: pmm_vmalloc_to_page() of each, or ours (vmap) */
};

static void *svm_page(const struct stress *s, const struct svm *a, unsigned long i)
{
	return (char *)a->addr + i * s->page_size;
}

/* Report a vmalloc call that broke its contract, naming the area. */
#define vm_fail(t, a, fmt, ...)                                                \
	fail((t)->s, "thread %u %s area %p (%lu pages): " fmt, (t)->idx,        \
	     (a)->vmap ? "vmap" : "vmalloc", (a)->addr, (a)->nr, __VA_ARGS__)

/* Word @k of page @i of an area under @tag (0: zeroes). */
static uint64_t svm_word(uint64_t tag, unsigned long i, size_t k)
{
	return tag ? pattern_word(i, tag, k) : 0;
}

/* Write @a's pattern through its address. */
static void svm_fill(struct stress *s, struct svm *a)
{
	size_t words = s->page_size / sizeof(uint64_t);

	for (unsigned long i = 0; i < a->nr; i++) {
		uint64_t *w = svm_page(s, a, i);

		for (size_t k = 0; k < words; k = pattern_next(k, words, s->span))
			w[k] = svm_word(a->tag, i, k);
	}
}

/*
 * Check @a's pattern through the direct map of each page (and through the
 * area if @through). Return: false after a report.
 */
static bool svm_verify(struct sthread *t, struct svm *a, bool through, const char *when)
{
	struct stress *s = t->s;
	size_t words = s->page_size / sizeof(uint64_t);

	if (s->fill == FILL_OFF)
		return true;
	for (unsigned long i = 0; i < a->nr; i++) {
		const uint64_t *d = pmm_page_address(s->pmm, a->pages[i]);
		const uint64_t *v = svm_page(s, a, i);

		for (size_t k = 0; k < words; k = pattern_next(k, words, s->span)) {
			uint64_t want = svm_word(a->tag, i, k);

			if (d[k] == want && (!through || v[k] == want))
				continue;
			vm_fail(t, a, "%s: page %lu (pfn %#llx) word %llu is %#llx through the direct map "
				"and %#llx through the area, want %#llx%s", when, i,
				U(pmm_page_to_pfn(s->pmm, a->pages[i])), U(k), U(d[k]),
				U(through ? v[k] : d[k]), U(want), a->tag ? "" : " (zeroed)");
			return false;
		}
	}
	return true;
}

/* Claim (or release) every page of @a in the ownership bitmap. */
static void svm_own(struct stress *s, const struct svm *a, bool claim)
{
	for (unsigned long i = 0; i < a->nr; i++)
		own_range(s, pmm_page_to_pfn(s->pmm, a->pages[i]), 1, claim);
}

/* A new area's lookups: each page mapped at its offset is allocated and order 0; the guard maps nothing. */
static bool svm_check_pages(struct sthread *t, struct svm *a, bool fill_pages)
{
	struct stress *s = t->s;

	if (!pmm_is_vmalloc_addr(s->pmm, a->addr) ||
	    !pmm_is_vmalloc_addr(s->pmm, (char *)a->addr + a->nr * s->page_size - 1)) {
		vm_fail(t, a, "%s", "not inside the vmalloc window");
		return false;
	}
	for (unsigned long i = 0; i < a->nr; i++) {
		size_t off = i * s->page_size + rnd_below(t, s->page_size);
		struct pmm_page *page = pmm_vmalloc_to_page(s->pmm, (char *)a->addr + off);

		if (fill_pages)
			a->pages[i] = page;
		if (!page || page != a->pages[i] || pmm_page_count(page) != 1 ||
		    pmm_folio_order(pmm_page_folio(page)) != 0) {
			vm_fail(t, a, "pmm_vmalloc_to_page(+%#zx) = %p (pfn %#llx, refcount %d)%s", off,
				(void *)page, page ? U(pmm_page_to_pfn(s->pmm, page)) : 0ull,
				page ? pmm_page_count(page) : 0,
				page && page != a->pages[i] ? ", not the page vmap was given" : "");
			return false;
		}
	}
	if (pmm_vmalloc_to_page(s->pmm, svm_page(s, a, a->nr))) {
		vm_fail(t, a, "%s", "the guard page after it maps a page");
		return false;
	}
	return true;
}

static void svm_put_slot(struct sthread *t, const struct svm *a)
{
	t->vms[t->nr_vms++] = *a;
	atomic_fetch_add(&t->s->held, a->nr);
}

/* 1..512 pages, mostly small; huge: the PMD size, or a little more. */
static unsigned long pick_vm_pages(struct sthread *t, bool huge)
{
	if (huge)
		return 512 + (rnd_below(t, 4) ? 0 : 1 + rnd_below(t, 64));
	if (rnd_below(t, 8))
		return 1 + rnd_below(t, rnd_below(t, 4) ? 32 : STRESS_VM_MAX_PAGES);
	return STRESS_VM_MAX_PAGES;
}

static void vm_alloc(struct sthread *t, unsigned int how)
{
	struct stress *s = t->s;
	static const enum stress_op ops[] = { OP_vmalloc, OP_vzalloc, OP_vmalloc_node,
					      OP_vmalloc_huge };
	bool huge = how == 3, zero = how == 1;
	unsigned long nr = pick_vm_pages(t, huge);
	size_t size = nr * s->page_size - rnd_below(t, s->page_size);
	size_t pmd = s->page_size << 9;
	pmm_gfp_t gfp = pick_gfp(t) & ~PMM_GFP_ZERO;
	int nid = (int)rnd_below(t, (unsigned long)s->nr_nodes);
	struct svm a;

	if (!room_for(t, nr + 1))
		return;
	memset(&a, 0, sizeof(a));
	a.nr = nr;
	a.pages = calloc(nr, sizeof(*a.pages));
	if (!a.pages)
		return;
	if (how == 2 && rnd_below(t, 2))
		gfp |= PMM_GFP_THISNODE;
	switch (how) {
	case 1:
		a.addr = pmm_vzalloc(s->pmm, size, gfp);
		break;
	case 2:
		a.addr = pmm_vmalloc_node(s->pmm, size, gfp, nid);
		break;
	case 3:
		a.addr = pmm_vmalloc_huge(s->pmm, size, gfp);
		break;
	default:
		a.addr = pmm_vmalloc(s->pmm, size, gfp);
		break;
	}
	if (!a.addr) {
		free(a.pages);
		t->vm_nomem++;
		return;
	}
	t->counts[ops[how]]++;
	if (((uintptr_t)a.addr & (s->page_size - 1)) ||
	    (huge && size >= pmd && ((uintptr_t)a.addr & (pmd - 1))))
		vm_fail(t, &a, "%zu bytes%s: the address is not aligned", size,
			huge ? " from vmalloc_huge" : "");
	if (!svm_check_pages(t, &a, true)) {
		free(a.pages);
		return;		/* leaked with the instance: its pages are not known */
	}
	for (unsigned long i = 0; (gfp & PMM_GFP_THISNODE) && i < nr; i++)
		if (pmm_page_nid(s->pmm, a.pages[i]) != nid) {
			vm_fail(t, &a, "vmalloc_node(%d) with PMM_GFP_THISNODE: page %lu is on node %d",
				nid, i, pmm_page_nid(s->pmm, a.pages[i]));
			break;
		}
	svm_own(s, &a, true);
	if (s->fill != FILL_OFF) {
		if (zero)
			svm_verify(t, &a, true, "after vzalloc");
		if (!zero || rnd_below(t, 2)) {
			a.tag = mm_new_tag(t);
			svm_fill(s, &a);
			svm_verify(t, &a, false, "just written");
		}
	}
	svm_put_slot(t, &a);
}

/* pmm_vmap of up to STRESS_VMAP_MAX of our own order-0 pages, in a shuffled order. */
static void vm_vmap(struct sthread *t)
{
	struct stress *s = t->s;
	unsigned long want = 1 + rnd_below(t, STRESS_VMAP_MAX), n = 0;
	uint64_t frame_tag = mm_new_tag(t);
	size_t words = s->page_size / sizeof(uint64_t);
	struct pmm_page **pages;
	struct svm a;

	if (!room_for(t, want + 1))
		return;
	pages = calloc(want, sizeof(*pages));
	if (!pages)
		return;
	pmm_alloc_pages_bulk(s->pmm, PMM_GFP_NOWARN, want, pages);
	for (unsigned long i = 0; i < want; i++)
		if (pages[i])
			pages[n++] = pages[i];
	if (!n) {
		free(pages);
		t->vm_nomem++;
		return;
	}
	prng_shuffle(&t->rng, pages, n, sizeof(*pages));
	for (unsigned long i = 0; i < n; i++) {
		own_range(s, pmm_page_to_pfn(s->pmm, pages[i]), 1, true);
		fill_frame(s, pmm_page_to_pfn(s->pmm, pages[i]), frame_tag, false);
	}
	memset(&a, 0, sizeof(a));
	a.vmap = true;
	a.put = rnd_below(t, 2);
	a.nr = n;
	a.pages = pages;
	a.addr = pmm_vmap(s->pmm, pages, (unsigned int)n, a.put ? PMM_VMAP_PUT_PAGES : 0);
	if (!a.addr) {
		for (unsigned long i = 0; i < n; i++)
			own_range(s, pmm_page_to_pfn(s->pmm, pages[i]), 1, false);
		pmm_free_pages_bulk(s->pmm, pages, n);
		free(pages);
		t->vm_nomem++;
		return;
	}
	t->counts[a.put ? OP_vmap_put : OP_vmap]++;
	if (!svm_check_pages(t, &a, false))
		return;		/* leaked with the instance */
	/* The frames' own pattern shows through the area, then the area's through the frames. */
	for (unsigned long i = 0; s->fill != FILL_OFF && i < n; i++) {
		const uint64_t *v = svm_page(s, &a, i);
		pmm_pfn_t pfn = pmm_page_to_pfn(s->pmm, pages[i]);

		for (size_t k = 0; k < words; k = pattern_next(k, words, s->span))
			if (v[k] != pattern_word(pfn, frame_tag, k)) {
				vm_fail(t, &a, "page %lu word %llu through the area is %#llx, pfn %#llx "
					"holds %#llx", i, U(k), U(v[k]), U(pfn),
					U(pattern_word(pfn, frame_tag, k)));
				break;
			}
	}
	if (s->fill != FILL_OFF) {
		a.tag = mm_new_tag(t);
		svm_fill(s, &a);
		svm_verify(t, &a, false, "just written");
	}
	svm_put_slot(t, &a);
}

/* Free the area in @slot: verified, released, then pmm_vfree or pmm_vunmap (vmap areas: either). */
static void vm_free_slot(struct sthread *t, unsigned int slot)
{
	struct stress *s = t->s;
	struct svm a = t->vms[slot];
	bool vunmap = a.vmap && rnd_below(t, 2);

	t->vms[slot] = t->vms[--t->nr_vms];
	svm_verify(t, &a, true, "before the free");
	atomic_fetch_sub(&s->held, a.nr);
	/* The area's pages go with it, unless vmap left them to us. */
	if (!a.vmap || a.put)
		svm_own(s, &a, false);
	if (vunmap)
		pmm_vunmap(s->pmm, a.addr);
	else
		pmm_vfree(s->pmm, a.addr);
	t->counts[vunmap ? OP_vunmap : OP_vfree]++;
	if (a.vmap && !a.put) {
		for (unsigned long i = 0; i < a.nr; i++)
			if (pmm_page_count(a.pages[i]) != 1)
				vm_fail(t, &a, "after %s, page %lu (pfn %#llx) has refcount %d, not ours "
					"alone", vunmap ? "vunmap" : "vfree", i,
					U(pmm_page_to_pfn(s->pmm, a.pages[i])), pmm_page_count(a.pages[i]));
		svm_verify(t, &a, false, "after the area went");
		svm_own(s, &a, false);
		pmm_free_pages_bulk(s->pmm, a.pages, a.nr);
	}
	free(a.pages);
}

/* What no other thread can change: the bounds of the counters, and our own areas' lookups. */
static void vm_stats_check(struct sthread *t)
{
	struct stress *s = t->s;
	struct pmm_vmalloc_stats st;

	if (pmm_vmalloc_stats(s->pmm, &st)) {
		fail(s, "pmm_vmalloc_stats() refused a valid pointer");
		return;
	}
	if (st.nr_areas < t->nr_vms || st.nr_vmalloc_pages > pmm_managed_frames(s->pmm) ||
	    st.free_bytes > st.window_bytes || st.largest_free > st.free_bytes)
		fail(s, "pmm_vmalloc_stats: %llu areas (thread %u holds %u), %llu vmalloc pages of %llu "
		     "managed, %llu free bytes, largest %llu, window %llu", U(st.nr_areas), t->idx,
		     t->nr_vms, U(st.nr_vmalloc_pages), U(pmm_managed_frames(s->pmm)),
		     U(st.free_bytes), U(st.largest_free), U(st.window_bytes));
	if (t->nr_vms) {
		struct svm *a = &t->vms[rnd_below(t, t->nr_vms)];
		unsigned long i = rnd_below(t, a->nr);

		if (pmm_vmalloc_to_page(s->pmm, (char *)svm_page(s, a, i) + rnd_below(t, s->page_size)) !=
		    a->pages[i])
			vm_fail(t, a, "page %lu no longer looks up its frame", i);
		svm_verify(t, a, true, "while held");
	}
	t->counts[OP_vm_stats_check]++;
}

static void do_vm(struct sthread *t)
{
	unsigned long r = rnd_below(t, 1000);

	if (t->nr_vms && (t->nr_vms == STRESS_VM_SLOTS || r < 380)) {
		vm_free_slot(t, (unsigned int)rnd_below(t, t->nr_vms));
	} else if (r < 620) {
		vm_alloc(t, (unsigned int)rnd_below(t, 3));
	} else if (r < 700) {
		vm_alloc(t, 3);
	} else if (r < 850) {
		vm_vmap(t);
	} else if (r < 960) {
		vm_stats_check(t);
	} else {
		pmm_vmalloc_purge(t->s->pmm);
		t->counts[OP_vm_purge]++;
	}
}

/*
 * With every area freed, a purge leaves the window one free block again:
 * no area, no vmalloc page, nothing lazy. Return: failures found.
 */
static int vm_leftovers(struct stress *s)
{
	struct pmm_vmalloc_stats st;
	struct jw *w = s->json;
	bool left;

	pmm_vmalloc_purge(s->pmm);
	pmm_vmalloc_stats(s->pmm, &st);
	left = st.nr_areas || st.nr_vmalloc_pages || st.lazy_pages ||
	       st.free_bytes != st.window_bytes || st.largest_free != st.window_bytes;
	if (w) {
		jw_obj_begin(w, "vmalloc");
		jw_u64(w, "purges", st.purges);
		jw_u64(w, "map_calls", st.map_calls);
		jw_u64(w, "unmap_calls", st.unmap_calls);
		jw_bool(w, "window_free_again", !left);
		jw_u64(w, "areas_left", st.nr_areas);
		jw_u64(w, "vmalloc_pages_left", st.nr_vmalloc_pages);
		jw_u64(w, "lazy_pages_left", st.lazy_pages);
		jw_u64(w, "free_bytes", st.free_bytes);
		jw_u64(w, "largest_free", st.largest_free);
		jw_u64(w, "window_bytes", st.window_bytes);
		jw_obj_end(w);
		return left;
	}
	printf("  vmalloc: %llu purges, %llu map calls (one per run of frames), %llu unmap calls\n",
	       U(st.purges), U(st.map_calls), U(st.unmap_calls));
	if (left) {
		printf("vmalloc: FAILED: with every area freed and purged, %llu areas, %llu vmalloc "
		       "pages, %llu lazy pages, %llu free bytes, largest block %llu, window %llu\n",
		       U(st.nr_areas), U(st.nr_vmalloc_pages), U(st.lazy_pages), U(st.free_bytes),
		       U(st.largest_free), U(st.window_bytes));
		return 1;
	}
	printf("vmalloc: all areas gone; the window is one free block again\n");
	return 0;
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
/* --ops's names that are not allocation kinds: the address-space and vmalloc workloads. */
#define KIND_MM (1u << NR_ALLOC_KINDS)
#define KIND_VM (1u << (NR_ALLOC_KINDS + 1))

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
	struct stress *s = t->s;
	bool pressure = false;

	for (unsigned long step = 0;; step++) {
		unsigned long r;

		if ((step & 63) == 0 && stop(t))
			break;
		/* Mixed, one step in eight is a vmalloc one, and of the rest one in four an mm one. */
		if (s->vm_on && ((!s->frames_on && !s->mm_on) || rnd_below(t, 8) == 0)) {
			do_vm(t);
			continue;
		}
		if (s->mm_on && (!s->frames_on || rnd_below(t, 4) == 0)) {
			do_mm(t);
			continue;
		}
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
	while (t->nr_mms)
		mm_exit(t, mm_take_slot(t, t->nr_mms - 1), true);
	while (t->nr_vms)
		vm_free_slot(t, t->nr_vms - 1);
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
	bool json;
};

/* "pages,contig,mm,vmalloc" -> a mask of alloc_kinds plus KIND_MM, KIND_VM; Return: 0 or -1. */
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
		if (k == NR_ALLOC_KINDS && len == 7 && !strncmp(p, "vmalloc", 7))
			k++;		/* KIND_VM */
		else if (k == NR_ALLOC_KINDS && !(len == 2 && !strncmp(p, "mm", 2)))
			return -1;
		*mask |= 1u << k;	/* k == NR_ALLOC_KINDS: KIND_MM */
		p += len + (p[len] == ',');
	}
	return *mask ? 0 : -1;
}

enum { ST_THREADS, ST_SECONDS, ST_SEED, ST_FILL, ST_OPS, ST_MM, ST_VMALLOC, ST_JSON };

static const struct cli_flag stress_flags[] = {
	{ "threads", "N", ST_THREADS, "worker threads (default: the instance's CPUs, --cpus)" },
	{ "seconds", "S", ST_SECONDS, "run time, may be fractional (default 5)" },
	{ "seed", "X", ST_SEED, "RNG seed; thread i uses stream i of it (tests/common/prng.h;\n"
	  "default: from the clock)" },
	{ "fill", "MODE", ST_FILL, "pattern per frame and per mapped page: full (default),\n"
	  "sampled (64 bytes at the start, middle and end; \"edges\"\nis its old name), "
	  "off; always off without backing" },
	{ "ops", "LIST", ST_OPS, "what to run, to narrow down a failure (default all):\n"
	  "allocation kinds pages,folio,split,exact,bulk,contig (frees,\nhandoffs and drains "
	  "run with any of them), mm, the\naddress-space churn, and vmalloc, the vmalloc churn" },
	{ "mm", NULL, ST_MM, "address-space churn only: the same as --ops mm" },
	{ "vmalloc", NULL, ST_VMALLOC, "vmalloc churn only: the same as --ops vmalloc" },
	{ "json", NULL, ST_JSON, "one JSON object on stdout instead of the text (the seed\n"
	  "goes to stderr first, and failures are printed there)" },
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
		if (!strcmp(a->val, "edges")) {
			o->fill = FILL_SAMPLED;
			return 0;
		}
		return cli_bad_value(a, "full, sampled or off");
	case ST_OPS:
		if (parse_kinds(a->val, &o->kinds))
			return cli_bad_value(a, "a comma-separated list of "
					     "pages,folio,split,exact,bulk,contig,mm,vmalloc");
		return 0;
	case ST_MM:
		o->kinds = KIND_MM;
		return 0;
	case ST_VMALLOC:
		o->kinds = KIND_VM;
		return 0;
	case ST_JSON:
		o->json = true;
		return 0;
	}
	return -1;
}

static const struct cli_cmd stress_cmd = {
	.name = "stress",
	.help = "usage: pmm stress [--threads N] [--seconds S] [--seed X]\n"
		"                  [--fill full|sampled|off] [--ops LIST | --mm | --vmalloc]\n"
		"                  [--json] [instance flags]\n"
		"Threads allocate and free at random through every path (pages, folios,\n"
		"split_page, exact, bulk, contig), hand objects to each other, and verify\n"
		"frame ownership and memory patterns. Mixed in (one step in four), or alone\n"
		"with --mm, they churn address spaces: map VMAs at folio orders up to\n"
		"min(pageblock_order, 9), fault and access pages, fork (children also go to\n"
		"other threads), write after fork (copy on write), unmap partial ranges, add\n"
		"ranges to the swap cache, scan the deferred split queues, drain the LRU batches\n"
		"and exit, checking every page read against a shadow of what it must hold.\n"
		"Mixed in too (one step in eight), or alone with --vmalloc, they vmalloc,\n"
		"vzalloc and vmalloc_node 1..512 pages and vmalloc_huge 2 MiB, vmap their own\n"
		"pages (PMM_VMAP_PUT_PAGES or not), write a per-thread pattern through each\n"
		"area and read it back through pmm_page_address() of every page, vfree,\n"
		"vunmap and purge (memfd or none backing: vmalloc needs one). At the end\n"
		"everything is freed and the instance checked; prints \"lost frames: 0\" and\n"
		"exits 0 when nothing is lost. On a terminal, stderr shows the time run.\n",
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

/*
 * Pages of every mm's window out of @budget frames: whole pageblocks (an
 * order-pageblock_order VMA must fit), small enough that touches revisit
 * pages, for every slot of every thread plus the parked ones.
 */
static unsigned long mm_window_pages(const struct stress *s, uint64_t budget)
{
	unsigned long block = 1ul << s->pageblock_order;
	uint64_t w = budget / ((uint64_t)s->nr_threads * STRESS_MM_SLOTS + STRESS_MM_XCHG);

	if (w > STRESS_MM_WINDOW_MAX)
		w = STRESS_MM_WINDOW_MAX;
	w &= ~(uint64_t)(block - 1);
	return w > block ? (unsigned long)w : block;
}

static void mm_totals_add(struct mm_totals *sum, const struct mm_totals *t)
{
	sum->faults += t->faults;
	sum->cow_faults += t->cow_faults;
	sum->fault_fallbacks += t->fault_fallbacks;
	sum->tlb_flushes += t->tlb_flushes;
	sum->gather_batches += t->gather_batches;
	sum->gather_forced_flushes += t->gather_forced_flushes;
	for (int i = 0; i < PMM_NR_GATHER_MODES; i++)
		sum->by_gather[i] += t->by_gather[i];
	for (int i = 0; i < 2; i++)
		sum->by_mapcount[i] += t->by_mapcount[i];
}

/* What the library did for the churn: its counters, to show the paths ran. */
static void mm_summary(struct stress *s, const struct mm_totals *tot, uint64_t nomem)
{
	struct jw *w = s->json;
	struct pmm_stats st;

	pmm_stats_get(s->pmm, &st);
	if (w) {
		jw_obj_begin(w, "address_spaces");
		jw_u64(w, "created", tot->by_gather[0] + tot->by_gather[1] + tot->by_gather[2]);
		jw_obj_begin(w, "by_gather");
		jw_u64(w, "per_page", tot->by_gather[PMM_GATHER_PER_PAGE]);
		jw_u64(w, "ranges", tot->by_gather[PMM_GATHER_RANGES]);
		jw_u64(w, "encoded", tot->by_gather[PMM_GATHER_ENCODED]);
		jw_obj_end(w);
		jw_obj_begin(w, "by_mapcount");
		jw_u64(w, "per_page", tot->by_mapcount[PMM_MAPCOUNT_PER_PAGE]);
		jw_u64(w, "folio", tot->by_mapcount[PMM_MAPCOUNT_FOLIO]);
		jw_obj_end(w);
		jw_u64(w, "faults", tot->faults);
		jw_u64(w, "cow_faults", tot->cow_faults);
		jw_u64(w, "fault_fallbacks", tot->fault_fallbacks);
		jw_u64(w, "tlb_flushes", tot->tlb_flushes);
		jw_u64(w, "gather_batches", tot->gather_batches);
		jw_u64(w, "gather_forced_flushes", tot->gather_forced_flushes);
		jw_u64(w, "lru_add", st.lru_add);
		jw_u64(w, "deferred_split", st.deferred_split);
		jw_u64(w, "split_folios", st.split_folios);
		jw_u64(w, "split_freed", st.split_freed);
		jw_u64(w, "swapcache_add", st.swapcache_add);
		jw_u64(w, "swapcache_del", st.swapcache_del);
		jw_u64(w, "refused", nomem);
		jw_obj_end(w);
		return;
	}
	printf("  address spaces: %llu created (gather per_page %llu, ranges %llu, encoded %llu;\n"
	       "                  mapcount per_page %llu, folio %llu)\n",
	       U(tot->by_gather[0] + tot->by_gather[1] + tot->by_gather[2]),
	       U(tot->by_gather[PMM_GATHER_PER_PAGE]), U(tot->by_gather[PMM_GATHER_RANGES]),
	       U(tot->by_gather[PMM_GATHER_ENCODED]), U(tot->by_mapcount[PMM_MAPCOUNT_PER_PAGE]),
	       U(tot->by_mapcount[PMM_MAPCOUNT_FOLIO]));
	printf("  their counters: %llu faults (%llu copies on write, %llu order fallbacks),\n"
	       "                  %llu TLB flushes, %llu gather batches, %llu forced flushes\n",
	       U(tot->faults), U(tot->cow_faults), U(tot->fault_fallbacks), U(tot->tlb_flushes),
	       U(tot->gather_batches), U(tot->gather_forced_flushes));
	printf("  instance: %llu folios to the LRU, %llu queued for deferred split, %llu split\n"
	       "            (%llu unmapped pages freed), swap cache %llu added / %llu removed\n",
	       U(st.lru_add), U(st.deferred_split), U(st.split_folios), U(st.split_freed),
	       U(st.swapcache_add), U(st.swapcache_del));
	printf("  not failures: %llu address-space calls refused for want of memory\n", U(nomem));
}

#define SNAP_LEN (PMM_NR_ZONE_TYPES * PMM_MAX_NODES * (PMM_MAX_ORDER_LIMIT + 1))

/* What was handed off or parked and never adopted: freed, or exited, by @main_t. */
static void stress_reap(struct stress *s, struct sthread *main_t)
{
	while (s->pool_nr) {
		struct obj o = s->pool[--s->pool_nr];

		free_obj(main_t, &o);
	}
	while (s->xchg_nr)
		mm_exit(main_t, s->xchg[--s->xchg_nr], true);
}

/*
 * With every mm gone no folio may be left on an LRU list, in the swap
 * cache or on a deferred split queue. Return: failures found.
 */
static int mm_leftovers(struct stress *s)
{
	unsigned long swapped = pmm_swapcache_nr(s->pmm);
	struct jw *w = s->json;
	int failures = 0;

	if (w)
		jw_arr_begin(w, "mm_leftovers");	/* the nodes with something left */
	for (int nid = 0; nid < s->nr_nodes; nid++) {
		struct pmm_node_info ni;

		if (pmm_node_info(s->pmm, nid, &ni))
			continue;
		if (!(ni.lru_inactive_anon || ni.lru_active_anon || ni.lru_pages || ni.deferred_split))
			continue;
		failures++;
		if (w) {
			jw_obj_begin(w, NULL);
			jw_i64(w, "nid", nid);
			jw_u64(w, "lru_inactive_anon", ni.lru_inactive_anon);
			jw_u64(w, "lru_active_anon", ni.lru_active_anon);
			jw_u64(w, "lru_pages", ni.lru_pages);
			jw_u64(w, "deferred_split", ni.deferred_split);
			jw_obj_end(w);
		} else {
			printf("node %d: FAILED: with every mm gone, %llu + %llu folios (%llu pages) "
			       "on the LRU, %llu on the deferred split queue\n", nid,
			       U(ni.lru_inactive_anon), U(ni.lru_active_anon), U(ni.lru_pages),
			       U(ni.deferred_split));
		}
	}
	if (w) {
		jw_arr_end(w);
		jw_u64(w, "swapcache_left", swapped);
		return failures + (swapped != 0);
	}
	if (swapped) {
		printf("swap cache: FAILED: %lu folios left with every mm gone\n", swapped);
		failures++;
	}
	if (!failures)
		printf("address spaces: all gone; LRU, swap cache and deferred split queues empty\n");
	return failures;
}

/* The end state's buddyinfo as a JSON member, when it is not the fresh one's. */
static void json_buddyinfo(struct jw *w, pmm_t *pmm)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err = -1;

	if (f) {
		err = pmm_buddyinfo(pmm, f, 1);
		fclose(f);
	}
	jw_raw(w, "buddyinfo_end", err ? NULL : buf);
	free(buf);
}

/* Drain and check, with everything freed; Return: failures found. */
static int stress_finish(struct stress *s, const uint64_t *fresh)
{
	uint64_t end[SNAP_LEN], free_frames, expect;
	struct jw *w = s->json;
	int64_t lost;
	int err, failures = 0;
	bool same;

	pmm_lru_add_drain(s->pmm);
	pmm_drain_all_pages(s->pmm);

	err = pmm_check(s->pmm);
	failures += err != 0;
	if (w)
		jw_str(w, "pmm_check", err ? pmm_strerror(err) : "ok");
	else if (err)
		printf("pmm_check: FAILED: %s (%d)\n", pmm_strerror(err), err);
	else
		printf("pmm_check: ok\n");
	if (s->mm_on)
		failures += mm_leftovers(s);
	if (s->vm_on)
		failures += vm_leftovers(s);
	zone_free_snapshot(s->pmm, end, SNAP_LEN);
	same = !memcmp(end, fresh, sizeof(end));
	failures += !same;
	if (w) {
		jw_bool(w, "buddyinfo_same", same);
		if (!same)
			json_buddyinfo(w, s->pmm);
	} else if (!same) {
		printf("buddyinfo: FAILED: differs from the fresh instance's "
		       "(free memory not merged back):\n");
		pmm_buddyinfo(s->pmm, stdout, 0);
	} else {
		printf("buddyinfo: same as the fresh instance\n");
	}
	if (w) {
		jw_u64(w, "bad_page_reports", atomic_load(&s->bad_pages));
		jw_u64(w, "leaked_frames", pmm_leaked_frames(s->pmm));
	} else if (atomic_load(&s->bad_pages) || pmm_leaked_frames(s->pmm)) {
		printf("bad pages: FAILED: %llu reports, %llu frames leaked\n",
		       (unsigned long long)atomic_load(&s->bad_pages),
		       (unsigned long long)pmm_leaked_frames(s->pmm));
	}
	failures += atomic_load(&s->bad_pages) || pmm_leaked_frames(s->pmm);
	free_frames = pmm_free_frames(s->pmm);
	expect = pmm_managed_frames(s->pmm) - pmm_leaked_frames(s->pmm);
	lost = (int64_t)(expect - free_frames);
	if (w) {
		jw_u64(w, "free_frames", free_frames);
		jw_u64(w, "managed_frames", pmm_managed_frames(s->pmm));
		jw_i64(w, "lost_frames", lost);
		return failures + (lost != 0);
	}
	if (lost)
		printf("free frames %llu, managed %llu, leaked %llu\n",
		       (unsigned long long)free_frames,
		       (unsigned long long)pmm_managed_frames(s->pmm),
		       (unsigned long long)pmm_leaked_frames(s->pmm));
	printf("lost frames: %lld\n", (long long)lost);
	return failures + (lost != 0);
}

/* The operation counts of the workloads that ran, and what was refused. */
static void stress_summary(struct stress *s, const uint64_t *counts, uint64_t total,
			   double seconds, uint64_t fails, uint64_t busy)
{
	struct jw *w = s->json;

	if (w) {
		jw_u64(w, "operations", total);
		jw_double(w, "elapsed_seconds", seconds);
		jw_obj_begin(w, "counts");
	} else {
		printf("stress: %llu operations in %.2f s\n", U(total), seconds);
	}
	for (int k = 0; k < NR_OPS; k++) {
		if (!(op_workload[k] == WL_FRAMES ? s->frames_on :
		      op_workload[k] == WL_MM ? s->mm_on : s->vm_on))
			continue;
		if (w)
			jw_u64(w, op_names[k], counts[k]);
		else
			printf("  %-22s %llu\n", op_names[k], U(counts[k]));
	}
	if (w)
		jw_obj_end(w);
	if (s->frames_on && w) {
		jw_u64(w, "alloc_refused", fails);
		jw_u64(w, "contig_busy", busy);
	} else if (s->frames_on) {
		printf("  not failures: %llu allocations refused under memory pressure,\n"
		       "                %llu alloc_contig_range calls found the range busy\n",
		       U(fails), U(busy));
	}
}

/*
 * While the threads run: the time run on a terminal's stderr, until the
 * deadline or the first failure (whose message overwrites the line).
 */
static void stress_progress(struct stress *s, struct cli_progress *p, double seconds)
{
	cli_progress_begin(p);
	while (p->on && !atomic_load(&s->failed) && cli_now_ns() < s->deadline_ns) {
		uint64_t left = s->deadline_ns - cli_now_ns();
		struct timespec ts = { 0, 200000000 };

		if (left < (uint64_t)ts.tv_nsec)
			ts.tv_nsec = (long)left;
		cli_progress(p, "stress: %.1f of %.1f s", cli_progress_seconds(p), seconds);
		nanosleep(&ts, NULL);
	}
	cli_progress_end(p);
}

int cmd_stress(int argc, char **argv)
{
	struct stress_opts o = { 0, 5.0, 0, false, FILL_FULL, 0, false };
	uint64_t fresh[SNAP_LEN], total = 0, fails = 0, busy = 0, counts[NR_OPS] = { 0 }, t0;
	uint64_t mm_nomem = 0, vm_nomem = 0;
	struct mm_totals mm_tot = { 0 };
	struct sthread **threads = NULL, *main_t = NULL;
	struct pmm_config cfg;
	struct stress *s;
	struct cli_progress prog;
	struct jw jw;
	char notes[2][96];
	unsigned int nr_notes = 0;
	unsigned long started = 0;
	int ret = CLI_EXIT_FAIL, parsed;

	parsed = cli_parse(&stress_cmd, argc, argv, &cfg, &o);
	if (parsed != CLI_RUN)
		return parsed;
	if (!o.seeded)
		o.seed = prng_mix64(cli_now_ns() ^ (uint64_t)time(NULL));

	s = calloc(1, sizeof(*s));
	if (!s) {
		fprintf(stderr, "pmm stress: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	cfg.bad_page_fn = bad_page_cb;
	cfg.bad_page_arg = s;
	s->seed = o.seed;
	/* First, and flushed: a run that crashes can still be repeated. */
	fprintf(o.json ? stderr : stdout, "stress: seed %llu\n", (unsigned long long)o.seed);
	fflush(stdout);
	if (o.json) {
		s->json = &jw;
		jw_init(&jw, stdout);
		jw_obj_begin(&jw, NULL);
		jw_str(&jw, "command", "stress");
		jw_u64(&jw, "seed", o.seed);
	}
	s->pmm = cli_create(&cfg, "stress");
	if (!s->pmm || stress_layout(s))
		goto out;
	if (!o.threads)
		o.threads = pmm_get_config(s->pmm)->nr_cpus ? pmm_get_config(s->pmm)->nr_cpus : 1;
	s->nr_threads = (unsigned int)o.threads;
	s->backed = pmm_get_config(s->pmm)->backing != PMM_BACKING_NONE;
	s->fill = s->backed ? o.fill : FILL_OFF;
	s->span = s->fill == FILL_FULL ? PATTERN_ALL : PATTERN_SAMPLED;
	if (s->page_size != (size_t)1 << MM_PAGE_SHIFT) {
		/* Address spaces refuse other page sizes (-PMM_ENOTSUP). */
		if (o.kinds & KIND_MM) {
			fprintf(stderr, "pmm stress: --mm: address spaces need 4 KiB pages "
				"(--page-shift 12)\n");
			ret = CLI_EXIT_USAGE;
			goto out;
		}
		snprintf(notes[nr_notes++], sizeof(notes[0]),
			 "%zu-byte pages: no address-space churn (4 KiB pages only)", s->page_size);
		if (!o.kinds)
			o.kinds = ((1u << NR_ALLOC_KINDS) - 1) | KIND_VM;
	}
	if (!o.kinds)
		o.kinds = ((1u << NR_ALLOC_KINDS) - 1) | KIND_MM | KIND_VM;
	/* vmalloc maps frames from the memfd, or (none) keeps the books only. */
	if ((o.kinds & KIND_VM) && !pmm_get_config(s->pmm)->vmalloc_size) {
		fprintf(stderr, "pmm stress: the instance has no vmalloc window\n");
		goto out;
	}
	if ((o.kinds & KIND_VM) && pmm_get_config(s->pmm)->backing != PMM_BACKING_MEMFD &&
	    pmm_get_config(s->pmm)->backing != PMM_BACKING_NONE) {
		if (o.kinds == KIND_VM) {
			fprintf(stderr, "pmm stress: --vmalloc: vmalloc needs --backing memfd or none\n");
			ret = CLI_EXIT_USAGE;
			goto out;
		}
		snprintf(notes[nr_notes++], sizeof(notes[0]),
			 "%s backing: no vmalloc churn (memfd or none only)",
			 cli_backing_name(pmm_get_config(s->pmm)->backing));
		o.kinds &= ~KIND_VM;
	}
	s->kinds = o.kinds & ~(KIND_MM | KIND_VM);
	s->frames_on = s->kinds != 0;
	s->mm_on = o.kinds & KIND_MM;
	s->vm_on = o.kinds & KIND_VM;
	/*
	 * Three quarters of memory: deep enough to hit watermarks and
	 * fallbacks now and then, not so deep that every allocation fails.
	 * Mixed, the frames take half and the address spaces a quarter.
	 * vmalloc areas count against the frames' share.
	 */
	s->cap = pmm_managed_frames(s->pmm) / 4 * (s->mm_on ? 2 : 3);
	if (s->mm_on)
		s->mm_window = mm_window_pages(s, pmm_managed_frames(s->pmm) / (s->frames_on ? 4 : 2));
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_mutex_init(&s->xchg_lock, NULL);
	zone_free_snapshot(s->pmm, fresh, SNAP_LEN);

	for (size_t k = 0; k < NR_ALLOC_KINDS; k++)
		if (s->kinds & (1u << k))
			s->kinds_weight += alloc_kinds[k].weight;
	if (o.json) {
		jw_arr_begin(&jw, "notes");
		for (unsigned int i = 0; i < nr_notes; i++)
			jw_str(&jw, NULL, notes[i]);
		jw_arr_end(&jw);
		jw_u64(&jw, "threads", s->nr_threads);
		jw_double(&jw, "seconds", o.seconds);
		jw_str(&jw, "fill", fill_names[s->fill]);
		jw_arr_begin(&jw, "ops");
		for (size_t k = 0; k < NR_ALLOC_KINDS; k++)
			if (s->kinds & (1u << k))
				jw_str(&jw, NULL, alloc_kinds[k].name);
		if (s->mm_on)
			jw_str(&jw, NULL, "mm");
		if (s->vm_on)
			jw_str(&jw, NULL, "vmalloc");
		jw_arr_end(&jw);
		if (s->mm_on)
			jw_u64(&jw, "mm_window_pages", s->mm_window);
		if (s->vm_on)
			jw_u64(&jw, "vmalloc_window_bytes", pmm_get_config(s->pmm)->vmalloc_size);
		cli_json_config(&jw, s->pmm);
	} else {
		for (unsigned int i = 0; i < nr_notes; i++)
			printf("stress: %s\n", notes[i]);
		printf("stress: %u threads, %.1f s, fill %s, ops", s->nr_threads, o.seconds,
		       fill_names[s->fill]);
		for (size_t k = 0, n = 0; k < NR_ALLOC_KINDS; k++)
			if (s->kinds & (1u << k))
				printf("%c%s", n++ ? ',' : ' ', alloc_kinds[k].name);
		if (s->mm_on)
			printf("%cmm (windows of %lu pages, one in eight larger)",
			       s->frames_on ? ',' : ' ', s->mm_window);
		if (s->vm_on)
			printf("%cvmalloc (window of %llu MiB)", s->frames_on || s->mm_on ? ',' : ' ',
			       U(pmm_get_config(s->pmm)->vmalloc_size >> 20));
		printf("\n");
		cli_print_config(stdout, s->pmm);
	}
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
		prng_init(&threads[i]->rng, o.seed, i);
		threads[i]->scratch_len = 1ul << (s->max_order > 10 ? s->max_order : 10);
		threads[i]->scratch = calloc(threads[i]->scratch_len, sizeof(struct pmm_page *));
		threads[i]->vms = calloc(STRESS_VM_SLOTS, sizeof(struct svm));
		if (!threads[i]->scratch || !threads[i]->vms)
			goto out;
	}
	main_t = threads[o.threads];	/* frees the pool's and the exchange's leftovers */

	t0 = cli_now_ns();
	s->deadline_ns = t0 + (uint64_t)(o.seconds * 1e9);
	for (; started < o.threads; started++)
		if (pthread_create(&threads[started]->tid, NULL, stress_thread, threads[started])) {
			fprintf(stderr, "pmm stress: cannot start thread %lu\n", started);
			atomic_store(&s->failed, 1);
			break;
		}
	stress_progress(s, &prog, o.seconds);
	for (unsigned long i = 0; i < started; i++)
		pthread_join(threads[i]->tid, NULL);
	stress_reap(s, main_t);

	for (unsigned long i = 0; i <= o.threads; i++) {
		for (int k = 0; k < NR_OPS; k++)
			counts[k] += threads[i]->counts[k];
		fails += threads[i]->alloc_fail;
		busy += threads[i]->contig_busy;
		mm_nomem += threads[i]->mm_nomem;
		vm_nomem += threads[i]->vm_nomem;
		mm_totals_add(&mm_tot, &threads[i]->mm_tot);
	}
	for (int k = 0; k < NR_OPS; k++)
		total += counts[k];
	stress_summary(s, counts, total, (double)(cli_now_ns() - t0) / 1e9, fails, busy);
	if (s->mm_on)
		mm_summary(s, &mm_tot, mm_nomem);
	if (s->vm_on && s->json)
		jw_u64(&jw, "vmalloc_refused", vm_nomem);
	else if (s->vm_on)
		printf("  not failures: %llu vmalloc/vmap calls refused for want of memory\n",
		       U(vm_nomem));

	if (stress_finish(s, fresh) == 0 && !atomic_load(&s->failed))
		ret = CLI_EXIT_OK;
	if (atomic_load(&s->failed) && !s->json)
		printf("stress: FAILED (see the messages above; seed %llu)\n",
		       (unsigned long long)o.seed);
out:
	if (s->json) {
		jw_u64(&jw, "failure_reports", atomic_load(&s->reports));
		jw_bool(&jw, "ok", ret == CLI_EXIT_OK);
		jw_obj_end(&jw);
		fputc('\n', stdout);
	}
	if (threads) {
		/* Objects still held (an early exit) are leaked with the instance. */
		for (unsigned long i = 0; i <= o.threads; i++)
			if (threads[i]) {
				free(threads[i]->vms);
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
