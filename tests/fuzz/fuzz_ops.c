/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ops.c - model-based fuzzing of pmm through pmm.h only.
 *
 * A shadow model records, for every frame of a small instance, whether it
 * is free, a hole, or held by handle k with the reference count the model
 * expects. Each decoded operation calls the library, checks its result
 * against the model (allocations return model-free frames in the right
 * zone, failures are plausible, bad input is reported and changes nothing),
 * updates the model, and then checks the whole instance: pmm_check(),
 * conservation of frames, every frame's refcount, the bad-page counters,
 * and, whenever no frame sits on a pcp list, the exact buddyinfo that full
 * merging must produce from the model's free set.
 *
 * Every operation of FZ_OPS is a function fz_op_NAME() and every bad input
 * of FZ_BADS a function fz_bad_NAME(); the dispatch tables are built from
 * the same lists, so the opcode and selector numbering cannot drift.
 */
#define _GNU_SOURCE
#include "fuzz_ops.h"

#include "pmm.h"
#include "common/contig.h"
#include "common/pattern.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_H 64		/* handles the model tracks at once */
#define MAX_BULK 48		/* pages per alloc_pages_bulk call */
#define MAX_REFS 12		/* cap on extra references per page */
#define NZ (PMM_MAX_NODES * PMM_NR_ZONE_TYPES)

struct pmm_fuzz_counts pmm_fuzz_counts;

static const char *const op_names[] = {
#define FZ_OP_NAME(name) #name,
	FZ_OPS(FZ_OP_NAME)
#undef FZ_OP_NAME
};

static const char *const bad_names[] = {
#define FZ_BAD_NAME(name) #name,
	FZ_BADS(FZ_BAD_NAME)
#undef FZ_BAD_NAME
};

/*
 * Selector bytes below the count mean the same thing forever (new layouts,
 * operations and bad inputs are appended), so seeds and reproducers that
 * use them survive additions; larger values wrap.
 */
static unsigned int sel(uint8_t x, unsigned int n)
{
	return x < n ? x : x % n;
}

const char *pmm_fuzz_op_name(int op)
{
	return op >= 0 && op < FZ_NR_OPS ? op_names[op] : "?";
}

const char *pmm_fuzz_bad_name(int bad)
{
	return bad >= 0 && bad < FZ_NR_BAD ? bad_names[bad] : "?";
}

/* ------------------------------------------------------------------------
 * Layouts: small instances whose corners the allocator must get right
 * ------------------------------------------------------------------------ */

struct layout {
	const char *name;
	unsigned int page_shift, section_shift, max_order, pageblock_order;
	pmm_pfn_t dma32_end;	/* 0: the default (4 GiB) */
	unsigned int nr;
	struct pmm_region r[3];
};

static const struct layout layouts[FZ_NR_LAYOUTS] = {
	/* DMA32 only, first frame 0 (no __ffs(0)), end not aligned. */
	{ "pfn0", 12, 22, 10, 9, 0, 1, { { 0, 3000, 0 } } },
	/* Normal; a partial section, an absent section, a partial one again. */
	{ "hole", 12, 22, 10, 9, 0, 2, { { 0x100000, 1500, 0 }, { 0x100000 + 3172, 1800, 0 } } },
	/* One region split between DMA32 and Normal at an unaligned pfn. */
	{ "two-zones", 12, 22, 9, 7, 0x1000 + 1000, 1, { { 0x1000, 4096, 0 } } },
	/* 256-frame sections: almost every range crosses one; a two-section hole. */
	{ "small-sections", 12, 20, 8, 5, 0, 2,
	  { { 0x300 + 7, 2000, 0 }, { 0x300 + 7 + 2000 + 600, 700, 0 } } },
	/* Two nodes, each with a DMA32 zone, a hole between them. */
	{ "two-nodes", 12, 22, 10, 9, 0, 2, { { 0x40000, 1357, 0 }, { 0x40000 + 2048, 2048, 1 } } },
	/* max_order == pageblock_order == 3, 64-frame sections. */
	{ "tiny-order", 12, 18, 3, 3, 0, 1, { { 5, 900, 0 } } },
	/* pageblock_order == max_order == 10. */
	{ "pb-max", 12, 22, 10, 10, 0, 1, { { 0x100000 + 512, 3617, 0 } } },
	/* 64 KiB pages: 64-frame sections, the direct map and zone limits scale. */
	{ "64k-pages", 16, 22, 6, 4, 0, 1, { { 0x30 + 5, 600, 0 } } },
	/*
	 * DMA32 ends 24 frames below 4 GiB: inside a max-order block and a
	 * section, so a range or a merge near the end of DMA32 must stop at it.
	 */
	{ "dma32-24", 12, 22, 10, 9, 0x100000 - 24, 1, { { 0x100000 - 2048, 4096, 0 } } },
	/*
	 * Node 0, node 1, node 0 again, adjacent, neither boundary max_order
	 * aligned (regions of 40000, 30000 and 25536 frames scaled by 1/16):
	 * node 0's zone spans node 1's region, and sections hold two nodes.
	 */
	{ "nodes-interleaved", 12, 22, 10, 9, 0, 3,
	  { { 0, 2500, 0 }, { 2500, 1875, 1 }, { 2500 + 1875, 1596, 0 } } },
	/* Two nodes meeting mid-section, in Normal: buddies must not merge across. */
	{ "nodes-adjacent", 12, 22, 10, 9, 0, 2,
	  { { 0x100000, 2000, 0 }, { 0x100000 + 2000, 2100, 1 } } },
};

/* ------------------------------------------------------------------------
 * The model
 * ------------------------------------------------------------------------ */

enum fstate { F_HOLE, F_FREE, F_HELD };

struct frame {
	uint8_t state;
	uint8_t zone;		/* index for pmm_zone_info() */
	uint16_t h;		/* holder when F_HELD */
	int32_t ref;		/* expected pmm_page_count() */
};

enum hkind { H_NONE, H_BLOCK, H_FOLIO, H_RUN, H_FROZEN, H_BULK };

static const char *const hkind_names[] = { "none", "block", "folio", "run", "frozen", "bulk" };

/*
 * What the caller holds. BLOCK and FOLIO keep their count on the head
 * frame; RUN (split, exact, contig), FROZEN and BULK are order-0 pages
 * with a count each, freed one by one or in sub-ranges.
 */
struct handle {
	enum hkind kind;
	unsigned int order;		/* BLOCK, FOLIO */
	uint64_t tag;			/* pattern seed; unique per allocation */
	pmm_pfn_t pfn;			/* first frame spanned */
	unsigned long n;		/* frames spanned (BULK: pages in bulk[]) */
	unsigned long live;		/* frames still held */
	void *virt;			/* pmm_alloc_pages_exact() address */
	size_t virt_size;
	pmm_pfn_t bulk[MAX_BULK];
};

struct fz {
	pmm_t *pmm;
	bool verbose, failed;
	int op;				/* index of the running operation */
	const struct layout *lay;
	pmm_pfn_t base;			/* fr[] covers [base, base + span) */
	unsigned long span;
	struct frame *fr;
	struct pmm_page **pages;	/* pmm_pfn_to_page() of each frame, NULL for holes */
	uint32_t *pre;			/* prefix sums of free frames, span + 1 */
	uint32_t *zrun;			/* first frame of the same-zone run holding each frame */
	unsigned int nzones, max_order, pageblock_order, nr_cpus, nr_nodes;
	enum pmm_zone_type ztype[NZ];
	bool backed, per_page;		/* per_page: contig_per_page */
	unsigned long section_pages;
	size_t psize;			/* page size */
	void *user_buf;			/* PMM_BACKING_USER memory */
	unsigned int cpu;		/* what cpu_fn returns */
	unsigned int shrinker_cursor;	/* next handle the shrinker frees */
	bool in_op;			/* the shrinker may free handles only inside an op */
	unsigned int nr_shrinkers;
	unsigned long shrinks;		/* shrinker invocations */
	unsigned long reports;		/* bad_page_fn calls */
	uint64_t held;			/* frames the model holds */
	uint64_t serial;
	uint32_t rng;
	struct handle h[MAX_H];
	struct pmm_zone_info fresh[NZ];
};

static void fz_fail(struct fz *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first violation ends the run; it is always printed (it is the result). */
static void fz_fail(struct fz *f, const char *fmt, ...)
{
	va_list ap;

	if (f->failed)
		return;
	f->failed = true;
	fprintf(stderr, "pmm_fuzz: VIOLATION at op %d (layout %s): ", f->op, f->lay->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void vlog(struct fz *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void vlog(struct fz *f, const char *fmt, ...)
{
	va_list ap;

	if (!f->verbose)
		return;
	fprintf(stderr, "  op %3d: ", f->op);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static unsigned int cpu_cb(void *arg)
{
	return ((struct fz *)arg)->cpu;
}

static void bad_cb(void *arg, pmm_pfn_t pfn, const char *reason)
{
	struct fz *f = arg;

	f->reports++;
	if (f->verbose)
		fprintf(stderr, "           bad page report: pfn %#llx: %s\n",
			(unsigned long long)pfn, reason ? reason : "(null)");
}

/*
 * The in-record stream of FZ_ALLOC_BULK and FZ_FREE_BULK (which slots are
 * pre-filled, NULL or swapped), seeded from the record's bytes. It is part
 * of the input format, not the tests' PRNG (common/prng.h): another
 * generator would give every committed seed another meaning.
 */
static uint32_t rnd(struct fz *f)
{
	uint32_t x = f->rng ? f->rng : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return f->rng = x;
}

static struct frame *frm(struct fz *f, pmm_pfn_t pfn)
{
	return pfn >= f->base && pfn - f->base < f->span ? &f->fr[pfn - f->base] : NULL;
}

static bool is_free(struct fz *f, pmm_pfn_t pfn)
{
	struct frame *x = frm(f, pfn);

	return x && x->state == F_FREE;
}

static bool held_by(struct fz *f, pmm_pfn_t pfn, int hi)
{
	struct frame *x = frm(f, pfn);

	return x && x->state == F_HELD && x->h == hi;
}

/* Pages never move, so the lookup is done once per frame at setup. */
static struct pmm_page *pg(struct fz *f, pmm_pfn_t pfn)
{
	if (pfn >= f->base && pfn - f->base < f->span)
		return f->pages[pfn - f->base];
	return pmm_pfn_to_page(f->pmm, pfn);
}

static pmm_pfn_t pfn_of(struct fz *f, const struct pmm_page *page)
{
	return pmm_page_to_pfn(f->pmm, page);
}

static uint64_t stat_faults(struct fz *f)
{
	struct pmm_stats st;

	pmm_stats_get(f->pmm, &st);
	return st.fault_injected;
}

static unsigned int order_for(unsigned long nr)
{
	unsigned int o = 0;

	while ((1UL << o) < nr)
		o++;
	return o;
}

/* ------------------------------------------------------------------------
 * Page contents (backed instances): the (pfn, tag) pattern of common/pattern.h
 * in every held frame, sampled so that checking every frame after every
 * operation stays cheap
 * ------------------------------------------------------------------------ */

static void pat_write(struct fz *f, pmm_pfn_t pfn, uint64_t tag)
{
	if (f->backed)
		pattern_write(f->pmm, pfn, 1, tag, PATTERN_SAMPLED);
}

static void pat_check(struct fz *f, pmm_pfn_t pfn)
{
	struct frame *x = frm(f, pfn);
	struct pattern_mismatch bad;

	if (!f->backed || !x || x->state != F_HELD)
		return;
	if (!pattern_verify(f->pmm, pfn, 1, f->h[x->h].tag, PATTERN_SAMPLED, &bad))
		fz_fail(f, "pfn %#llx (handle %u, %s): contents changed while held: word %zu is %#llx, not %#llx",
			(unsigned long long)pfn, x->h, hkind_names[f->h[x->h].kind], bad.word,
			(unsigned long long)bad.got, (unsigned long long)bad.want);
}

static void zero_check(struct fz *f, pmm_pfn_t pfn, unsigned long n, const char *what)
{
	struct pattern_mismatch bad;

	if (f->backed && !pattern_zeroed(f->pmm, pfn, n, PATTERN_SAMPLED, &bad))
		fz_fail(f, "%s with PMM_GFP_ZERO: pfn %#llx is not zeroed (word %zu is %#llx)", what,
			(unsigned long long)bad.pfn, bad.word, (unsigned long long)bad.got);
}

/* Verify every frame of handle @hi, before any call that may free them. */
static void pat_check_handle(struct fz *f, int hi)
{
	struct handle *h = &f->h[hi];

	if (h->kind == H_BULK) {
		for (unsigned long i = 0; i < h->n; i++)
			if (held_by(f, h->bulk[i], hi))
				pat_check(f, h->bulk[i]);
		return;
	}
	for (unsigned long i = 0; i < h->n; i++)
		if (held_by(f, h->pfn + i, hi))
			pat_check(f, h->pfn + i);
}

/* ------------------------------------------------------------------------
 * Model updates
 * ------------------------------------------------------------------------ */

static int new_handle(struct fz *f)
{
	for (int i = 0; i < MAX_H; i++)
		if (f->h[i].kind == H_NONE) {
			memset(&f->h[i], 0, sizeof(f->h[i]));
			f->h[i].tag = ++f->serial * 0x9e3779b97f4a7c15ull;
			return i;
		}
	return -1;
}

/* Handle number @b onward (wrapping) whose kind is in @mask, or -1. */
static int pick(struct fz *f, unsigned int mask, unsigned int b)
{
	for (int k = 0; k < MAX_H; k++) {
		int i = (int)((b + (unsigned int)k) % MAX_H);

		if (mask & (1u << f->h[i].kind))
			return i;
	}
	return -1;
}

#define M(k) (1u << (k))

/* Claim [pfn, pfn + n) for @hi: every frame must be free in the model. */
static bool take(struct fz *f, int hi, pmm_pfn_t pfn, unsigned long n, int ref_head,
		 int ref_rest, const char *what)
{
	int zone = -1;

	for (unsigned long i = 0; i < n; i++) {
		struct frame *x = frm(f, pfn + i);

		if (!x || x->state != F_FREE) {
			fz_fail(f, "%s returned pfn %#llx (%lu frames from %#llx), which the model says is %s",
				what, (unsigned long long)(pfn + i), n, (unsigned long long)pfn,
				!x ? "outside the instance" : x->state == F_HOLE ? "a hole" :
				hkind_names[f->h[x->h].kind]);
			return false;
		}
		if (zone >= 0 && x->zone != zone) {
			fz_fail(f, "%s returned frames %#llx+%lu spanning two zones", what,
				(unsigned long long)pfn, n);
			return false;
		}
		zone = x->zone;
	}
	for (unsigned long i = 0; i < n; i++) {
		struct frame *x = frm(f, pfn + i);
		struct pmm_page *page = pg(f, pfn + i);
		void *addr = pmm_page_address(f->pmm, page);

		if (pmm_page_mapcount(page) != 0 || (addr && pmm_virt_to_page(f->pmm, addr) != page) ||
		    !addr != !f->backed) {
			fz_fail(f, "%s: pfn %#llx has mapcount %d, address %p", what,
				(unsigned long long)(pfn + i), pmm_page_mapcount(page), addr);
			return false;
		}
		x->state = F_HELD;
		x->h = (uint16_t)hi;
		x->ref = i ? ref_rest : ref_head;
	}
	f->held += n;
	f->h[hi].live += n;
	return true;
}

static void release(struct fz *f, pmm_pfn_t pfn)
{
	struct frame *x = frm(f, pfn);
	struct handle *h = &f->h[x->h];

	x->state = F_FREE;
	x->ref = 0;
	f->held--;
	if (--h->live == 0)
		h->kind = H_NONE;
}

static void release_n(struct fz *f, pmm_pfn_t pfn, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		release(f, pfn + i);
}

/* One reference dropped on an order-0 page of a RUN/BULK handle. */
static void drop_ref0(struct fz *f, pmm_pfn_t pfn)
{
	struct frame *x = frm(f, pfn);

	if (--x->ref == 0)
		release(f, pfn);
}

/* One reference dropped on the head of a BLOCK/FOLIO: the last frees it all. */
static void drop_head(struct fz *f, int hi, int refs)
{
	struct handle *h = &f->h[hi];
	struct frame *x = frm(f, h->pfn);

	x->ref -= refs;
	if (x->ref == 0)
		release_n(f, h->pfn, 1UL << h->order);
}

static void check_gfp_zone(struct fz *f, pmm_pfn_t pfn, pmm_gfp_t gfp, const char *what)
{
	struct frame *x = frm(f, pfn);

	if ((gfp & PMM_GFP_DMA32) && x && f->ztype[x->zone] != PMM_ZONE_DMA32)
		fz_fail(f, "%s with PMM_GFP_DMA32 returned pfn %#llx outside DMA32", what,
			(unsigned long long)pfn);
}

static void write_run(struct fz *f, int hi, pmm_pfn_t pfn, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		pat_write(f, pfn + i, f->h[hi].tag);
}

/* ------------------------------------------------------------------------
 * Plausibility of failures
 * ------------------------------------------------------------------------ */

static void build_prefix(struct fz *f)
{
	f->pre[0] = 0;
	for (unsigned long i = 0; i < f->span; i++)
		f->pre[i + 1] = f->pre[i] + (f->fr[i].state == F_FREE);
}

/*
 * Is [pfn, pfn + n) inside the span, all free, all in zone @z? (prefix
 * sums built). The zone runs, not just the two ends, decide: a zone may
 * span another node's frames.
 */
static bool range_free_in_zone(struct fz *f, pmm_pfn_t pfn, unsigned long n, unsigned int z)
{
	unsigned long i;

	if (pfn < f->base || pfn - f->base + n > f->span)
		return false;
	i = (unsigned long)(pfn - f->base);
	return f->pre[i + n] - f->pre[i] == n && f->fr[i].zone == z && f->zrun[i + n - 1] <= i;
}

static uint64_t model_free_in_zone(struct fz *f, unsigned int z)
{
	uint64_t n = 0;

	for (unsigned long i = 0; i < f->span; i++)
		n += f->fr[i].state == F_FREE && f->fr[i].zone == z;
	return n;
}

/*
 * An allocation of 2^@order frames failed. After its slow path drained the
 * pcp lists, every model-free frame is on a buddy list and fully merged, so
 * a zone the gfp allows, above its watermark, with an aligned free block of
 * that order, would have served it. A zone with highatomic pageblocks is
 * skipped unless the request may use the reserve: the others cannot see
 * those frames, and which pageblocks they are is not public.
 */
static void check_alloc_failure(struct fz *f, unsigned int order, pmm_gfp_t gfp, int node,
				const char *what)
{
	build_prefix(f);
	for (unsigned int z = 0; z < f->nzones; z++) {
		struct pmm_zone_info zi;
		int64_t min, free;

		if ((gfp & PMM_GFP_DMA32) && f->ztype[z] != PMM_ZONE_DMA32)
			continue;
		if (node >= 0 && f->fresh[z].nid != node)
			continue;
		if (pmm_zone_info(f->pmm, z, &zi) || zi.nr_pageblocks_mt[PMM_MIGRATE_ISOLATE])
			continue;
		/* Only PMM_GFP_ATOMIC_RES may use (and count) the highatomic reserve. */
		if (zi.nr_pageblocks_mt[PMM_MIGRATE_HIGHATOMIC] && !(gfp & PMM_GFP_ATOMIC_RES))
			continue;
		min = (int64_t)zi.wmark_min;
		if (gfp & PMM_GFP_HIGH)
			min -= min / 2;
		if (gfp & PMM_GFP_ATOMIC_RES)
			min -= min / 4;
		if (!(gfp & PMM_GFP_DMA32))
			min += (int64_t)zi.lowmem_reserve;
		free = (int64_t)model_free_in_zone(f, z) - (int64_t)((1UL << order) - 1);
		if (free <= min)
			continue;
		pmm_pfn_t step = (pmm_pfn_t)1 << order;
		pmm_pfn_t end = zi.start_pfn + zi.spanned_pages;

		for (pmm_pfn_t p = (zi.start_pfn + step - 1) & ~(step - 1); p + step <= end; p += step)
			if (range_free_in_zone(f, p, step, z)) {
				fz_fail(f, "%s (order %u gfp %#x) failed, but zone %u has the free block "
					"%#llx and %lld free frames above its mark", what, order, gfp, z,
					(unsigned long long)p, (long long)(free - min));
				return;
			}
	}
}

/* pmm_alloc_contig_pages() failed: no aligned candidate it scans may be all free. */
static void check_contig_pages_failure(struct fz *f, unsigned long nr, pmm_gfp_t gfp)
{
	pmm_pfn_t align = (pmm_pfn_t)1 << order_for(nr);

	build_prefix(f);
	for (unsigned int z = 0; z < f->nzones; z++) {
		struct pmm_zone_info zi;

		if ((gfp & PMM_GFP_DMA32) && f->ztype[z] != PMM_ZONE_DMA32)
			continue;
		if (pmm_zone_info(f->pmm, z, &zi))
			continue;
		pmm_pfn_t end = zi.start_pfn + zi.spanned_pages;

		for (pmm_pfn_t p = (zi.start_pfn + align - 1) & ~(align - 1); p + nr <= end; p += align)
			if (range_free_in_zone(f, p, nr, z)) {
				fz_fail(f, "pmm_alloc_contig_pages(%lu, gfp %#x) failed, but %#llx+%lu is free",
					nr, gfp, (unsigned long long)p, nr);
				return;
			}
	}
}

/* ------------------------------------------------------------------------
 * Whole-instance checks after every operation
 * ------------------------------------------------------------------------ */

struct snap {
	struct pmm_zone_info zi[NZ];
	struct pmm_stats st;
	unsigned long reports;
};

static void snap_take(struct fz *f, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned int z = 0; z < f->nzones; z++)
		pmm_zone_info(f->pmm, z, &s->zi[z]);
	pmm_stats_get(f->pmm, &s->st);
	s->reports = f->reports;
}

/* A bad input must be reported and must change nothing but the report counters. */
static void snap_expect_unchanged(struct fz *f, const struct snap *before, const char *what)
{
	struct snap now;

	snap_take(f, &now);
	if (now.reports == before->reports) {
		fz_fail(f, "bad input '%s' was not reported", what);
		return;
	}
	for (unsigned int z = 0; z < f->nzones; z++)
		if (memcmp(&now.zi[z], &before->zi[z], sizeof(now.zi[z]))) {
			fz_fail(f, "bad input '%s' changed zone %u (free %llu -> %llu, pcp %llu -> %llu)",
				what, z, (unsigned long long)before->zi[z].free_pages,
				(unsigned long long)now.zi[z].free_pages,
				(unsigned long long)before->zi[z].pcp_pages,
				(unsigned long long)now.zi[z].pcp_pages);
			return;
		}
	now.st.bad_page = before->st.bad_page;
	if (memcmp(&now.st, &before->st, sizeof(now.st)))
		fz_fail(f, "bad input '%s' changed a counter other than bad_page", what);
}

/*
 * The buddyinfo full merging must give for the model's free set: greedy
 * from the left, the largest aligned all-free same-zone block at each free
 * frame is exactly the set of maximal buddy blocks (no two free buddies of
 * one order can coexist, which pmm_check() also enforces).
 */
static void check_buddyinfo_exact(struct fz *f)
{
	uint64_t want[NZ][PMM_MAX_ORDER_LIMIT + 1];

	memset(want, 0, sizeof(want));
	build_prefix(f);
	for (unsigned long i = 0; i < f->span;) {
		pmm_pfn_t pfn = f->base + i;
		unsigned int o = f->max_order;

		if (f->fr[i].state != F_FREE) {
			i++;
			continue;
		}
		while (o && ((pfn & ((1ull << o) - 1)) || !range_free_in_zone(f, pfn, 1UL << o, f->fr[i].zone)))
			o--;
		want[f->fr[i].zone][o]++;
		i += 1UL << o;
	}
	for (unsigned int z = 0; z < f->nzones; z++) {
		struct pmm_zone_info zi;

		pmm_zone_info(f->pmm, z, &zi);
		for (unsigned int o = 0; o <= f->max_order; o++)
			if (zi.nr_free[o] != want[z][o]) {
				fz_fail(f, "zone %u order %u: %llu free blocks, full merging of the model's "
					"free frames gives %llu", z, o, (unsigned long long)zi.nr_free[o],
					(unsigned long long)want[z][o]);
				return;
			}
	}
}

static void check_all(struct fz *f)
{
	struct pmm_stats st;
	uint64_t freef, managed, leaked, pcp = 0;
	bool isolated = false;
	int rc;

	if (f->failed)
		return;
	rc = pmm_check(f->pmm);
	if (rc) {
		fz_fail(f, "pmm_check() = %d (%s)", rc, pmm_strerror(rc));
		return;
	}
	freef = pmm_free_frames(f->pmm);
	managed = pmm_managed_frames(f->pmm);
	leaked = pmm_leaked_frames(f->pmm);
	if (freef + f->held + leaked != managed) {
		fz_fail(f, "free %llu + held by the model %llu + leaked %llu != managed %llu",
			(unsigned long long)freef, (unsigned long long)f->held,
			(unsigned long long)leaked, (unsigned long long)managed);
		return;
	}
	if (leaked) {
		fz_fail(f, "%llu frames leaked, but no operation handed in a bad page to leak",
			(unsigned long long)leaked);
		return;
	}
	pmm_stats_get(f->pmm, &st);
	if (st.bad_page != f->reports) {
		fz_fail(f, "bad_page counter %llu, bad_page_fn called %lu times",
			(unsigned long long)st.bad_page, f->reports);
		return;
	}
	/* Every frame handed out is counted once by pgalloc and once by pgfree when it returns. */
	if (st.pgalloc - st.pgfree != managed - freef) {
		fz_fail(f, "pgalloc %llu - pgfree %llu != %llu frames in use",
			(unsigned long long)st.pgalloc, (unsigned long long)st.pgfree,
			(unsigned long long)(managed - freef));
		return;
	}
	for (unsigned long i = 0; i < f->span; i++) {
		struct frame *x = &f->fr[i];
		int c, want;

		if (x->state == F_HOLE)
			continue;
		c = pmm_page_count(f->pages[i]);
		want = x->ref;
		/* A folio's tail reports the folio's count, as Linux's page_count(). */
		if (x->state == F_HELD && f->h[x->h].kind == H_FOLIO)
			want = frm(f, f->h[x->h].pfn)->ref;
		if (c != want) {
			fz_fail(f, "pfn %#llx: refcount %d, model expects %d (%s)",
				(unsigned long long)(f->base + i), c, want,
				x->state == F_FREE ? "free" : hkind_names[f->h[x->h].kind]);
			return;
		}
	}
	for (unsigned int z = 0; z < f->nzones; z++) {
		struct pmm_zone_info zi;

		pmm_zone_info(f->pmm, z, &zi);
		pcp += zi.pcp_pages;
		isolated |= zi.nr_pageblocks_mt[PMM_MIGRATE_ISOLATE] != 0;
		/* The reserve counter is the HIGHATOMIC pageblocks, whole. */
		if (zi.reserved_highatomic !=
		    zi.nr_pageblocks_mt[PMM_MIGRATE_HIGHATOMIC] << f->pageblock_order) {
			fz_fail(f, "zone %u: reserved_highatomic %llu, but %llu HIGHATOMIC pageblocks", z,
				(unsigned long long)zi.reserved_highatomic,
				(unsigned long long)zi.nr_pageblocks_mt[PMM_MIGRATE_HIGHATOMIC]);
			return;
		}
	}
	/*
	 * A HIGHATOMIC pageblock merges like any other below pageblock order
	 * and is released when whole, so only pcp frames (and isolation, which
	 * never outlives a call) stand between the model and the exact buddyinfo.
	 */
	if (!pcp && !isolated)
		check_buddyinfo_exact(f);
}

/* ------------------------------------------------------------------------
 * Freeing a whole handle (teardown, and room for new handles)
 * ------------------------------------------------------------------------ */

/* Maximal runs of frames still held by RUN/FROZEN handle @hi: calls fn on each. */
static void for_each_live_run(struct fz *f, int hi, void (*fn)(struct fz *, int, pmm_pfn_t, unsigned long))
{
	struct handle *h = &f->h[hi];
	pmm_pfn_t end = h->pfn + h->n;

	for (pmm_pfn_t p = h->pfn; p < end && !f->failed;) {
		pmm_pfn_t q = p;

		if (!held_by(f, p, hi)) {
			p++;
			continue;
		}
		while (q < end && held_by(f, q, hi))
			q++;
		fn(f, hi, p, (unsigned long)(q - p));
		p = q;
	}
}

static void put_to_one(struct fz *f, pmm_pfn_t pfn)
{
	struct frame *x = frm(f, pfn);

	while (x->ref > 1) {
		pmm_put_page(f->pmm, pg(f, pfn));
		x->ref--;
	}
}

static void free_run_cb(struct fz *f, int hi, pmm_pfn_t pfn, unsigned long n)
{
	(void)hi;
	for (unsigned long i = 0; i < n; i++)
		put_to_one(f, pfn + i);
	pmm_free_contig_range(f->pmm, pfn, n);
	release_n(f, pfn, n);
}

static void free_frozen_cb(struct fz *f, int hi, pmm_pfn_t pfn, unsigned long n)
{
	(void)hi;
	pmm_free_contig_frozen_range(f->pmm, pfn, n);
	release_n(f, pfn, n);
}

static void free_handle(struct fz *f, int hi)
{
	struct handle *h = &f->h[hi];

	pat_check_handle(f, hi);
	if (f->failed)
		return;
	vlog(f, "free whole handle %d (%s at %#llx, %lu live)", hi, hkind_names[h->kind],
	     (unsigned long long)h->pfn, h->live);
	switch (h->kind) {
	case H_BLOCK:
		while (frm(f, h->pfn)->ref > 1) {
			pmm_put_page(f->pmm, pg(f, h->pfn));
			frm(f, h->pfn)->ref--;
		}
		pmm_free_pages(f->pmm, pg(f, h->pfn), h->order);
		drop_head(f, hi, 1);
		break;
	case H_FOLIO:
		pmm_folio_put_refs(f->pmm, pmm_page_folio(pg(f, h->pfn)), frm(f, h->pfn)->ref);
		drop_head(f, hi, frm(f, h->pfn)->ref);
		break;
	case H_RUN:
		if (h->virt && h->live == h->n) {
			for (unsigned long i = 0; i < h->n; i++)
				put_to_one(f, h->pfn + i);
			pmm_free_pages_exact(f->pmm, h->virt, h->virt_size);
			release_n(f, h->pfn, h->n);
			break;
		}
		for_each_live_run(f, hi, free_run_cb);
		break;
	case H_FROZEN:
		for_each_live_run(f, hi, free_frozen_cb);
		break;
	case H_BULK: {
		struct pmm_page *arr[MAX_BULK];
		unsigned long n = 0, cnt = h->n;
		pmm_pfn_t pfns[MAX_BULK];

		memcpy(pfns, h->bulk, sizeof(pfns));
		for (unsigned long i = 0; i < cnt; i++)
			if (held_by(f, pfns[i], hi)) {
				put_to_one(f, pfns[i]);
				arr[n++] = pg(f, pfns[i]);
			}
		pmm_free_pages_bulk(f->pmm, arr, n);
		for (unsigned long i = 0; i < cnt; i++)
			if (held_by(f, pfns[i], hi))
				release(f, pfns[i]);
		break;
	}
	case H_NONE:
		break;
	}
}

/* A free handle slot, freeing handle @b's neighbour when the table is full. */
static int make_room(struct fz *f, unsigned int b)
{
	int hi = new_handle(f);

	if (hi >= 0)
		return hi;
	free_handle(f, (int)(b % MAX_H));
	check_all(f);
	return f->failed ? -1 : new_handle(f);
}

/* ------------------------------------------------------------------------
 * Operations: fz_op_NAME(f, the record's 7 parameters) for every FZ_OPS
 * entry; run_op() dispatches through a table built from the same list
 * ------------------------------------------------------------------------ */

typedef void fz_op_fn(struct fz *f, const uint8_t *p);
#define FZ_OP_DECLARE(name) static fz_op_fn fz_op_##name;
FZ_OPS(FZ_OP_DECLARE)
#undef FZ_OP_DECLARE

static pmm_gfp_t gfp_of(uint8_t b)
{
	pmm_gfp_t gfp = PMM_GFP_NOWARN;

	if (b & 1)
		gfp |= PMM_GFP_MOVABLE;
	if (b & 2)
		gfp |= PMM_GFP_RECLAIMABLE;
	if (((b >> 2) & 7) == 7)
		gfp |= PMM_GFP_DMA32;
	if (b & 0x20)
		gfp |= PMM_GFP_ZERO;
	if (b & 0x80)
		gfp |= PMM_GFP_ATOMIC;
	return gfp;
}

static unsigned int order_of(struct fz *f, uint8_t b, bool allow_bad)
{
	if (b & 0x80)
		return b & 3;
	return b % (f->max_order + 1 + allow_bad);
}

/* A live frame of RUN/FROZEN/BULK handle @hi, chosen by @b; false if none. */
static bool live_frame(struct fz *f, int hi, unsigned int b, pmm_pfn_t *out)
{
	struct handle *h = &f->h[hi];

	for (unsigned long k = 0; k < h->n; k++) {
		unsigned long i = (b + k) % h->n;
		pmm_pfn_t p = h->kind == H_BULK ? h->bulk[i] : h->pfn + i;

		if (held_by(f, p, hi)) {
			*out = p;
			return true;
		}
	}
	return false;
}

/* A sub-range of the maximal live run around a live frame of RUN/FROZEN handle @hi. */
static bool live_subrange(struct fz *f, int hi, const uint8_t *p, pmm_pfn_t *start, unsigned long *len)
{
	pmm_pfn_t a, b, s;
	unsigned long n, l;

	if (!live_frame(f, hi, p[0], &s))
		return false;
	a = s;
	b = s + 1;
	while (a > f->h[hi].pfn && held_by(f, a - 1, hi))
		a--;
	while (held_by(f, b, hi))
		b++;
	n = (unsigned long)(b - a);
	switch (p[1] % 4) {
	case 0:		/* the whole run */
		*start = a;
		*len = n;
		break;
	case 1:		/* a prefix */
		*start = a;
		*len = 1 + p[2] % n;
		break;
	case 2:		/* a suffix */
		l = 1 + p[2] % n;
		*start = b - l;
		*len = l;
		break;
	default:	/* the middle */
		s = a + p[2] % n;
		*start = s;
		*len = 1 + p[3] % (unsigned long)(b - s);
		break;
	}
	return true;
}

/* ------------------------------------------------------------------------
 * The batched contig path's chunks (design.md section 5, item 2)
 * ------------------------------------------------------------------------ */

static uint64_t stat_chunks(struct fz *f)
{
	struct pmm_stats st;

	pmm_stats_get(f->pmm, &st);
	return st.contig_chunks;
}

/* Chunks of one run (common/contig.h: the contract's greedy chunking). */
static unsigned long run_chunks(struct fz *f, pmm_pfn_t pfn, unsigned long n)
{
	return contig_expected_chunks(pfn, n, f->max_order);
}

/*
 * Chunks the batched path frees for [start, start + n), where @freed(i)
 * says whether page i reaches zero: runs of such pages, cut at section
 * boundaries. The per-page path frees no chunks.
 */
static unsigned long expect_chunks(struct fz *f, pmm_pfn_t start, unsigned long n, const bool *freed)
{
	unsigned long chunks = 0;

	if (f->per_page)
		return 0;
	for (unsigned long i = 0; i < n;) {
		unsigned long j = i;

		if (!freed[i]) {
			i++;
			continue;
		}
		do
			j++;
		while (j < n && freed[j] && (start + j) % f->section_pages);
		chunks += run_chunks(f, start + i, j - i);
		i = j;
	}
	return chunks;
}

/* A run of pages that all reach zero. */
static unsigned long run_chunks_split(struct fz *f, pmm_pfn_t start, unsigned long n)
{
	unsigned long chunks = 0;

	while (n) {
		unsigned long seg = f->section_pages - (unsigned long)(start % f->section_pages);

		if (seg > n)
			seg = n;
		chunks += run_chunks(f, start, seg);
		start += seg;
		n -= seg;
	}
	return chunks;
}

static void check_chunks(struct fz *f, uint64_t before, unsigned long want, const char *what)
{
	uint64_t got = stat_chunks(f) - before;

	if (got != want)
		fz_fail(f, "%s: contig_chunks grew by %llu, the contract's chunking gives %lu", what,
			(unsigned long long)got, want);
}

/* The node PMM_GFP_THISNODE confines a request to: the one asked for (node 0 if none). */
static int thisnode(int nid)
{
	return nid < 0 || nid >= PMM_MAX_NODES ? 0 : nid;
}

static void fz_op_ALLOC(struct fz *f, const uint8_t *p)
{
	unsigned int order = order_of(f, p[0], true);
	pmm_gfp_t gfp = gfp_of(p[1]) | ((p[1] & 0x40) ? PMM_GFP_COMP : 0) |
			((p[2] & 0x81) == 0x81 ? PMM_GFP_THISNODE : 0);
	bool node = p[2] & 1;
	int nid = (int)((p[2] >> 1 & 7) % (f->nr_nodes + 1)) - 1;
	int only = (gfp & PMM_GFP_THISNODE) ? thisnode(node ? nid : 0) : -1;
	uint64_t faults = stat_faults(f);
	struct pmm_page *page;
	int hi = make_room(f, p[3]);
	pmm_pfn_t pfn;

	if (hi < 0)
		return;
	page = node ? pmm_alloc_pages_node(f->pmm, nid, gfp, order) : pmm_alloc_pages(f->pmm, gfp, order);
	vlog(f, "alloc_pages%s(order %u, gfp %#x) -> %s%#llx", node ? "_node" : "", order, gfp,
	     page ? "pfn " : "", page ? (unsigned long long)pfn_of(f, page) : 0ull);
	if (order > f->max_order) {
		if (page)
			fz_fail(f, "alloc_pages with order %u > max_order succeeded", order);
		return;
	}
	if (!page) {
		pmm_fuzz_counts.fail[FZ_ALLOC]++;
		if (stat_faults(f) == faults)
			check_alloc_failure(f, order, gfp, only, "alloc_pages");
		return;
	}
	pfn = pfn_of(f, page);
	if (pg(f, pfn) != page || (pfn & ((1ull << order) - 1))) {
		fz_fail(f, "alloc_pages returned pfn %#llx: not aligned to order %u or not its page",
			(unsigned long long)pfn, order);
		return;
	}
	f->h[hi].kind = (gfp & PMM_GFP_COMP) && order ? H_FOLIO : H_BLOCK;
	f->h[hi].order = order;
	f->h[hi].pfn = pfn;
	f->h[hi].n = 1UL << order;
	if (!take(f, hi, pfn, 1UL << order, 1, 0, "alloc_pages"))
		return;
	check_gfp_zone(f, pfn, gfp, "alloc_pages");
	if (only >= 0 && f->fresh[frm(f, pfn)->zone].nid != only)
		fz_fail(f, "alloc_pages with PMM_GFP_THISNODE (node %d) returned pfn %#llx of node %d",
			only, (unsigned long long)pfn, f->fresh[frm(f, pfn)->zone].nid);
	if (gfp & PMM_GFP_ZERO)
		zero_check(f, pfn, 1UL << order, "alloc_pages");
	write_run(f, hi, pfn, 1UL << order);
	pmm_fuzz_counts.ok[FZ_ALLOC]++;
}

static void fz_op_FREE(struct fz *f, const uint8_t *p)
{
	int hi = pick(f, M(H_BLOCK) | M(H_FOLIO), p[0]);
	struct handle *h;
	struct pmm_page *head;
	int ref;

	if (hi < 0) {
		pmm_fuzz_counts.fail[FZ_FREE]++;
		return;
	}
	h = &f->h[hi];
	head = pg(f, h->pfn);
	ref = frm(f, h->pfn)->ref;
	pat_check_handle(f, hi);
	switch (p[1] % 3) {
	case 0:
		vlog(f, "free_pages(%#llx, order %u) %s ref %d", (unsigned long long)h->pfn, h->order,
		     hkind_names[h->kind], ref);
		pmm_free_pages(f->pmm, head, h->order);
		if (ref == 1 || h->kind == H_FOLIO || !h->order) {
			drop_head(f, hi, 1);
		} else {
			/* __free_pages with extra references: the tails go now, the head stays. */
			release_n(f, h->pfn + 1, (1UL << h->order) - 1);
			h->order = 0;
			h->n = 1;
			frm(f, h->pfn)->ref--;
		}
		break;
	case 1:
		vlog(f, "%s(%#llx) ref %d", h->kind == H_FOLIO ? "folio_put" : "put_page",
		     (unsigned long long)h->pfn, ref);
		if (h->kind == H_FOLIO)
			pmm_folio_put(f->pmm, pmm_page_folio(head));
		else
			pmm_put_page(f->pmm, head);
		drop_head(f, hi, 1);
		break;
	default: {
		/* A folio is put through any of its pages. */
		unsigned long i = h->kind == H_FOLIO ? p[2] % (1UL << h->order) : 0;

		vlog(f, "put_page(%#llx) on %s %#llx order %u ref %d", (unsigned long long)(h->pfn + i),
		     hkind_names[h->kind], (unsigned long long)h->pfn, h->order, ref);
		pmm_put_page(f->pmm, pg(f, h->pfn + i));
		drop_head(f, hi, 1);
		break;
	}
	}
	pmm_fuzz_counts.ok[FZ_FREE]++;
}

static void op_get_put(struct fz *f, const uint8_t *p, bool get)
{
	int hi = pick(f, M(H_BLOCK) | M(H_FOLIO) | M(H_RUN) | M(H_BULK), p[0]);
	struct handle *h;
	pmm_pfn_t target, counted;

	if (hi < 0) {
		pmm_fuzz_counts.fail[get ? FZ_GET : FZ_PUT]++;
		return;
	}
	h = &f->h[hi];
	if (h->kind == H_BLOCK || h->kind == H_FOLIO) {
		counted = h->pfn;
		target = h->pfn + (h->kind == H_FOLIO ? p[1] % (1UL << h->order) : 0);
	} else if (!live_frame(f, hi, p[1], &target)) {
		return;
	} else {
		counted = target;
	}
	if (get && frm(f, counted)->ref >= MAX_REFS)
		return;
	vlog(f, "%s_page(%#llx) on %s %#llx ref %d", get ? "get" : "put", (unsigned long long)target,
	     hkind_names[h->kind], (unsigned long long)h->pfn, frm(f, counted)->ref);
	if (get) {
		pmm_get_page(f->pmm, pg(f, target));
		frm(f, counted)->ref++;
	} else {
		if (frm(f, counted)->ref == 1)
			pat_check_handle(f, hi);
		pmm_put_page(f->pmm, pg(f, target));
		if (h->kind == H_BLOCK || h->kind == H_FOLIO)
			drop_head(f, hi, 1);
		else
			drop_ref0(f, target);
	}
	pmm_fuzz_counts.ok[get ? FZ_GET : FZ_PUT]++;
}

static void fz_op_GET(struct fz *f, const uint8_t *p)
{
	op_get_put(f, p, true);
}

static void fz_op_PUT(struct fz *f, const uint8_t *p)
{
	op_get_put(f, p, false);
}

static void fz_op_SPLIT(struct fz *f, const uint8_t *p)
{
	int hi = pick(f, M(H_BLOCK), p[0]);
	struct handle *h;

	if (hi < 0) {
		pmm_fuzz_counts.fail[FZ_SPLIT]++;
		return;
	}
	h = &f->h[hi];
	vlog(f, "split_page(%#llx, order %u) ref %d", (unsigned long long)h->pfn, h->order,
	     frm(f, h->pfn)->ref);
	pmm_split_page(f->pmm, pg(f, h->pfn), h->order);
	/* Every page gets one reference; the head keeps the count it had. */
	for (unsigned long i = 1; i < (1UL << h->order); i++)
		frm(f, h->pfn + i)->ref = 1;
	h->kind = H_RUN;
	h->n = 1UL << h->order;
	pmm_fuzz_counts.ok[FZ_SPLIT]++;
}

static void fz_op_EXACT(struct fz *f, const uint8_t *p)
{
	unsigned int v = p[0] | (unsigned int)p[1] << 8;
	unsigned long nr = (p[3] & 1) ? 1 + v % 16 : 1 + v % (1UL << f->max_order);
	pmm_gfp_t gfp = gfp_of(p[2]);
	bool virt = p[3] & 2;
	size_t size = (nr - 1) * f->psize + 1 + (size_t)p[4] * 16;
	uint64_t faults = stat_faults(f), chunks;
	unsigned long shrinks;
	struct pmm_page *page;
	void *addr = NULL;
	int hi = make_room(f, p[5]);
	pmm_pfn_t pfn;

	if (hi < 0)
		return;
	chunks = stat_chunks(f);
	shrinks = f->shrinks;
	if (virt && !f->backed) {
		/* No direct map, no address to return. */
		if (pmm_alloc_pages_exact(f->pmm, size, gfp))
			fz_fail(f, "alloc_pages_exact on an instance without backing returned memory");
		return;
	}
	if (virt) {
		addr = pmm_alloc_pages_exact(f->pmm, size, gfp);
		page = addr ? pmm_virt_to_page(f->pmm, addr) : NULL;
		if (addr && (!page || pmm_page_address(f->pmm, page) != addr)) {
			fz_fail(f, "alloc_pages_exact returned %p, which is not a page's address", addr);
			return;
		}
	} else {
		page = pmm_alloc_pages_exact_pfn(f->pmm, nr, gfp);
	}
	vlog(f, "alloc_pages_exact%s(%lu frames, gfp %#x) -> %s%#llx", virt ? "" : "_pfn", nr, gfp,
	     page ? "pfn " : "", page ? (unsigned long long)pfn_of(f, page) : 0ull);
	if (nr > (1UL << f->max_order)) {	/* more than one max-order block: refused */
		if (page)
			fz_fail(f, "alloc_pages_exact(%lu frames) beyond max_order succeeded", nr);
		return;
	}
	if (!page) {
		pmm_fuzz_counts.fail[FZ_EXACT]++;
		if (stat_faults(f) == faults)
			check_alloc_failure(f, order_for(nr), gfp, -1, "alloc_pages_exact");
		return;
	}
	pfn = pfn_of(f, page);
	if (pfn & ((1ull << order_for(nr)) - 1)) {
		fz_fail(f, "alloc_pages_exact(%lu) returned pfn %#llx, not aligned to its order %u", nr,
			(unsigned long long)pfn, order_for(nr));
		return;
	}
	/* The unused tail goes back through the batched path (a reclaim run would count too). */
	if (f->shrinks == shrinks)
		check_chunks(f, chunks,
			     f->per_page ? 0 : run_chunks_split(f, pfn + nr, (1UL << order_for(nr)) - nr),
			     "alloc_pages_exact's tail");
	f->h[hi].kind = H_RUN;
	f->h[hi].pfn = pfn;
	f->h[hi].n = nr;
	f->h[hi].virt = addr;
	f->h[hi].virt_size = size;
	if (!take(f, hi, pfn, nr, 1, 1, "alloc_pages_exact"))
		return;
	check_gfp_zone(f, pfn, gfp, "alloc_pages_exact");
	if (gfp & PMM_GFP_ZERO)
		zero_check(f, pfn, nr, "alloc_pages_exact");
	write_run(f, hi, pfn, nr);
	pmm_fuzz_counts.ok[FZ_EXACT]++;
}

static void fz_op_FREE_RANGE(struct fz *f, const uint8_t *p)
{
	int hi = pick(f, M(H_RUN), p[0]);
	struct handle *h;
	pmm_pfn_t start;
	unsigned long len;

	if (hi < 0 || !live_subrange(f, hi, p + 1, &start, &len)) {
		pmm_fuzz_counts.fail[FZ_FREE_RANGE]++;
		return;
	}
	h = &f->h[hi];
	if (h->virt && h->live == h->n && (p[5] & 1)) {
		bool ones = true;

		for (unsigned long i = 0; i < h->n; i++)
			ones &= frm(f, h->pfn + i)->ref == 1;
		if (ones) {
			uint64_t chunks = stat_chunks(f);

			vlog(f, "free_pages_exact(%p, %zu)", h->virt, h->virt_size);
			pat_check_handle(f, hi);
			pmm_free_pages_exact(f->pmm, h->virt, h->virt_size);
			check_chunks(f, chunks, f->per_page ? 0 : run_chunks_split(f, h->pfn, h->n),
				     "free_pages_exact");
			release_n(f, h->pfn, h->n);
			pmm_fuzz_counts.ok[FZ_FREE_RANGE]++;
			return;
		}
	}
	/* Extra references on some pages: those stay allocated and end a run. */
	if (p[5] & 2)
		for (unsigned long i = 0; i < len; i++)
			if ((p[6] >> (i % 8)) & 1 && frm(f, start + i)->ref < MAX_REFS) {
				pmm_get_page(f->pmm, pg(f, start + i));
				frm(f, start + i)->ref++;
			}
	bool *freed = calloc(len, sizeof(*freed));
	uint64_t chunks = stat_chunks(f);

	if (!freed)
		return;
	for (unsigned long i = 0; i < len; i++) {
		freed[i] = frm(f, start + i)->ref == 1;
		if (freed[i])
			pat_check(f, start + i);
	}
	vlog(f, "free_contig_range(%#llx, %lu) of run %#llx+%lu", (unsigned long long)start, len,
	     (unsigned long long)h->pfn, h->n);
	pmm_free_contig_range(f->pmm, start, len);
	for (unsigned long i = 0; i < len; i++)
		drop_ref0(f, start + i);
	check_chunks(f, chunks, expect_chunks(f, start, len, freed), "free_contig_range");
	free(freed);
	pmm_fuzz_counts.ok[FZ_FREE_RANGE]++;
}

/* Any held page, for pre-filled bulk slots; NULL if the model holds none. */
static struct pmm_page *some_held_page(struct fz *f, unsigned int b)
{
	for (unsigned long k = 0; k < f->span; k++) {
		unsigned long i = (b * 131u + k) % f->span;

		if (f->fr[i].state == F_HELD)
			return pg(f, f->base + i);
	}
	return NULL;
}

static void fz_op_ALLOC_BULK(struct fz *f, const uint8_t *p)
{
	unsigned long nr = 1 + p[0] % MAX_BULK, got, nonnull = 0, fresh = 0;
	pmm_gfp_t gfp = gfp_of(p[1]);
	struct pmm_page *arr[MAX_BULK], *pre[MAX_BULK];
	uint64_t faults;
	int hi = make_room(f, p[4]);
	struct handle *h;

	if (hi < 0)
		return;
	f->rng = p[2] | (uint32_t)p[3] << 8 | 1u << 24;
	for (unsigned long i = 0; i < nr; i++) {
		arr[i] = NULL;
		if ((p[2] & 1) && rnd(f) % 4 == 0)
			arr[i] = some_held_page(f, rnd(f));
		pre[i] = arr[i];
	}
	faults = stat_faults(f);
	got = pmm_alloc_pages_bulk(f->pmm, gfp, nr, arr);
	for (unsigned long i = 0; i < nr; i++)
		nonnull += !!arr[i];
	vlog(f, "alloc_pages_bulk(%lu, gfp %#x) -> %lu", nr, gfp, got);
	if (got != nonnull) {
		fz_fail(f, "alloc_pages_bulk returned %lu, but %lu slots are filled", got, nonnull);
		return;
	}
	h = &f->h[hi];
	h->kind = H_BULK;
	for (unsigned long i = 0; i < nr; i++) {
		pmm_pfn_t pfn;

		if (pre[i]) {
			if (arr[i] != pre[i]) {
				fz_fail(f, "alloc_pages_bulk replaced the pre-filled slot %lu", i);
				return;
			}
			continue;
		}
		if (!arr[i])
			continue;
		pfn = pfn_of(f, arr[i]);
		h->bulk[h->n++] = pfn;
		if (!take(f, hi, pfn, 1, 1, 1, "alloc_pages_bulk"))
			return;
		check_gfp_zone(f, pfn, gfp, "alloc_pages_bulk");
		if (gfp & PMM_GFP_ZERO)
			zero_check(f, pfn, 1, "alloc_pages_bulk");
		pat_write(f, pfn, h->tag);
		fresh++;
	}
	if (!fresh)
		h->kind = H_NONE;
	if (got < nr) {
		pmm_fuzz_counts.fail[FZ_ALLOC_BULK]++;
		if (stat_faults(f) == faults)
			check_alloc_failure(f, 0, gfp, -1, "alloc_pages_bulk");
	} else {
		pmm_fuzz_counts.ok[FZ_ALLOC_BULK]++;
	}
}

static void fz_op_FREE_BULK(struct fz *f, const uint8_t *p)
{
	int hi = pick(f, M(H_RUN) | M(H_BULK), p[0]);
	struct handle *h;
	struct pmm_page **arr;
	pmm_pfn_t *pfns;
	unsigned long n = 0, slots = 0, stride = 1 + p[3] % 3;

	if (hi < 0) {
		pmm_fuzz_counts.fail[FZ_FREE_BULK]++;
		return;
	}
	h = &f->h[hi];
	pfns = calloc(h->n, sizeof(*pfns));
	arr = calloc(2 * h->n + 1, sizeof(*arr));
	if (!pfns || !arr) {
		free(pfns);
		free(arr);
		return;
	}
	for (unsigned long i = 0; i < h->n; i += stride) {
		pmm_pfn_t q = h->kind == H_BULK ? h->bulk[i] : h->pfn + i;

		if (held_by(f, q, hi))
			pfns[n++] = q;
	}
	f->rng = p[2] | 1u << 20;
	if (p[1] % 3 == 1) {		/* descending */
		for (unsigned long i = 0; i < n / 2; i++) {
			pmm_pfn_t t = pfns[i];

			pfns[i] = pfns[n - 1 - i];
			pfns[n - 1 - i] = t;
		}
	} else if (p[1] % 3 == 2) {	/* shuffled */
		for (unsigned long i = n; i > 1; i--) {
			unsigned long j = rnd(f) % i;
			pmm_pfn_t t = pfns[i - 1];

			pfns[i - 1] = pfns[j];
			pfns[j] = t;
		}
	}
	for (unsigned long i = 0; i < n; i++) {
		if ((p[1] & 4) && rnd(f) % 4 == 0)
			arr[slots++] = NULL;	/* NULL slots are skipped */
		if (frm(f, pfns[i])->ref == 1)
			pat_check(f, pfns[i]);
		arr[slots++] = pg(f, pfns[i]);
	}
	/* Each run of consecutive pfns in the array is one contig range. */
	unsigned long want = 0;
	uint64_t chunks = stat_chunks(f);
	bool *freed = calloc(slots + 1, sizeof(*freed));

	for (unsigned long i = 0; freed && i < slots;) {
		pmm_pfn_t s0;
		unsigned long g = 1;

		if (!arr[i]) {
			i++;
			continue;
		}
		s0 = pfn_of(f, arr[i]);
		while (i + g < slots && arr[i + g] && pfn_of(f, arr[i + g]) == s0 + g)
			g++;
		for (unsigned long j = 0; j < g; j++)
			freed[j] = frm(f, s0 + j)->ref == 1;
		want += expect_chunks(f, s0, g, freed);
		i += g;
	}
	vlog(f, "free_pages_bulk(%lu pages in %lu slots, %s) of %s %#llx", n, slots,
	     p[1] % 3 == 0 ? "sorted" : p[1] % 3 == 1 ? "descending" : "shuffled", hkind_names[h->kind],
	     (unsigned long long)h->pfn);
	pmm_free_pages_bulk(f->pmm, arr, slots);
	if (freed)
		check_chunks(f, chunks, want, "free_pages_bulk");
	free(freed);
	for (unsigned long i = 0; i < n; i++)
		drop_ref0(f, pfns[i]);
	free(pfns);
	free(arr);
	pmm_fuzz_counts.ok[FZ_FREE_BULK]++;
}

/*
 * predict_contig()'s answer for a range whose ends lie in one zone and
 * whose middle holds frames of another (a zone that spans another node's
 * region): refused, with -PMM_EINVAL or -PMM_EBUSY as the library finds
 * out (test_bad_contig.c: test_alloc_contig_range_other_node_inside).
 */
#define FZ_REFUSED INT_MIN

/* What pmm_alloc_contig_range() must return for [start, end) by the model. */
static int predict_contig(struct fz *f, pmm_pfn_t start, pmm_pfn_t end)
{
	bool busy = false, mixed = false;

	for (pmm_pfn_t q = start; q < end; q++) {
		struct frame *x = frm(f, q);

		if (!x || x->state == F_HOLE)
			return -PMM_ERANGE;
		busy |= x->state == F_HELD;
		mixed |= x->zone != frm(f, start)->zone;
	}
	if (frm(f, start)->zone != frm(f, end - 1)->zone)
		return -PMM_EINVAL;
	if (mixed)
		return FZ_REFUSED;
	return busy ? -PMM_EBUSY : 0;
}

static bool contig_rc_expected(int rc, int want)
{
	return want == FZ_REFUSED ? rc == -PMM_EINVAL || rc == -PMM_EBUSY : rc == want;
}

static const char *contig_rc_name(int want)
{
	return want == FZ_REFUSED ? "-PMM_EINVAL or -PMM_EBUSY" : pmm_strerror(want);
}

static void fz_op_CONTIG_RANGE(struct fz *f, const uint8_t *p)
{
	unsigned int v = p[2] | (unsigned int)p[3] << 8;
	pmm_pfn_t pb = (pmm_pfn_t)1 << f->pageblock_order;
	pmm_pfn_t start = f->base + (p[0] | (unsigned long)p[1] << 8) % f->span, end;
	unsigned long len;
	bool frozen = p[4] & 2, predrain = p[4] & 4;
	pmm_gfp_t gfp = (p[4] & 8) ? PMM_GFP_ZERO : 0;
	struct snap before;
	uint64_t faults;
	int want, rc, hi = make_room(f, p[5]);

	if (hi < 0)
		return;
	switch ((p[4] >> 4) & 3) {
	case 0:
		len = 1 + p[2] % 8;
		break;
	case 1:
		len = 1 + v % (1UL << f->max_order);
		break;
	case 2:
		len = 1 + v % (3UL << f->max_order);
		break;
	default:	/* whole pageblocks */
		start &= ~(pb - 1);
		len = (unsigned long)pb * (1 + p[2] % 3);
		break;
	}
	if (p[4] & 1)	/* anchor at the next free frame: more successes */
		while (start < f->base + f->span - 1 && !is_free(f, start))
			start++;
	end = start + len;
	if (predrain)
		pmm_drain_all_pages(f->pmm);
	want = predict_contig(f, start, end);
	snap_take(f, &before);
	faults = stat_faults(f);
	rc = frozen ? pmm_alloc_contig_frozen_range(f->pmm, start, end, gfp)
		    : pmm_alloc_contig_range(f->pmm, start, end, gfp);
	if (want == FZ_REFUSED)
		vlog(f, "alloc_contig%s_range(%#llx, %#llx, gfp %#x) = %d, model says %s",
		     frozen ? "_frozen" : "", (unsigned long long)start, (unsigned long long)end, gfp,
		     rc, contig_rc_name(want));
	else
		vlog(f, "alloc_contig%s_range(%#llx, %#llx, gfp %#x) = %d, model says %d",
		     frozen ? "_frozen" : "", (unsigned long long)start, (unsigned long long)end, gfp,
		     rc, want);
	if (rc == -PMM_ENOMEM && want != -PMM_ERANGE && want != -PMM_EINVAL && stat_faults(f) != faults) {
		pmm_fuzz_counts.fail[FZ_CONTIG_RANGE]++;
		return;	/* an injected failure */
	}
	if (!contig_rc_expected(rc, want)) {
		fz_fail(f, "alloc_contig%s_range(%#llx, %#llx) = %d (%s), the model expects %s",
			frozen ? "_frozen" : "", (unsigned long long)start, (unsigned long long)end, rc,
			pmm_strerror(rc), contig_rc_name(want));
		return;
	}
	if (rc) {
		pmm_fuzz_counts.fail[FZ_CONTIG_RANGE]++;
		/* A refused range leaves every pageblock and free list as it was. */
		if (predrain) {
			struct snap now;

			snap_take(f, &now);
			for (unsigned int z = 0; z < f->nzones; z++)
				if (memcmp(&now.zi[z], &before.zi[z], sizeof(now.zi[z])))
					fz_fail(f, "alloc_contig_range(%#llx, %#llx) = %d changed zone %u",
						(unsigned long long)start, (unsigned long long)end, rc, z);
		}
		return;
	}
	f->h[hi].kind = frozen ? H_FROZEN : H_RUN;
	f->h[hi].pfn = start;
	f->h[hi].n = len;
	if (!take(f, hi, start, len, !frozen, !frozen, "alloc_contig_range"))
		return;
	if (gfp & PMM_GFP_ZERO)
		zero_check(f, start, len, "alloc_contig_range");
	write_run(f, hi, start, len);
	pmm_fuzz_counts.ok[FZ_CONTIG_RANGE]++;
}

static void fz_op_FREE_FROZEN(struct fz *f, const uint8_t *p)
{
	int hi = pick(f, M(H_FROZEN), p[0]);
	pmm_pfn_t start;
	unsigned long len;

	if (hi < 0 || !live_subrange(f, hi, p + 1, &start, &len)) {
		pmm_fuzz_counts.fail[FZ_FREE_FROZEN]++;
		return;
	}
	uint64_t chunks = stat_chunks(f);

	for (unsigned long i = 0; i < len; i++)
		pat_check(f, start + i);
	vlog(f, "free_contig_frozen_range(%#llx, %lu)", (unsigned long long)start, len);
	pmm_free_contig_frozen_range(f->pmm, start, len);
	release_n(f, start, len);
	check_chunks(f, chunks, f->per_page ? 0 : run_chunks_split(f, start, len),
		     "free_contig_frozen_range");
	pmm_fuzz_counts.ok[FZ_FREE_FROZEN]++;
}

static void fz_op_CONTIG_PAGES(struct fz *f, const uint8_t *p)
{
	unsigned int v = p[0] | (unsigned int)p[1] << 8;
	unsigned long nr = (p[3] & 1) ? 1 + v % 16 : 1 + v % (2UL << f->max_order);
	pmm_gfp_t gfp = gfp_of(p[2]);
	int nid = (int)((p[3] >> 1) % (f->nr_nodes + 1)) - 1;
	uint64_t faults = stat_faults(f);
	struct pmm_page *page;
	int hi = make_room(f, p[4]);
	pmm_pfn_t pfn;

	if (hi < 0)
		return;
	page = pmm_alloc_contig_pages(f->pmm, nr, gfp, nid);
	vlog(f, "alloc_contig_pages(%lu, gfp %#x, nid %d) -> %s%#llx", nr, gfp, nid,
	     page ? "pfn " : "", page ? (unsigned long long)pfn_of(f, page) : 0ull);
	if (!page) {
		pmm_fuzz_counts.fail[FZ_CONTIG_PAGES]++;
		if (stat_faults(f) == faults)
			check_contig_pages_failure(f, nr, gfp);
		return;
	}
	pfn = pfn_of(f, page);
	f->h[hi].kind = H_RUN;
	f->h[hi].pfn = pfn;
	f->h[hi].n = nr;
	if (!take(f, hi, pfn, nr, 1, 1, "alloc_contig_pages"))
		return;
	check_gfp_zone(f, pfn, gfp, "alloc_contig_pages");
	if (gfp & PMM_GFP_ZERO)
		zero_check(f, pfn, nr, "alloc_contig_pages");
	write_run(f, hi, pfn, nr);
	pmm_fuzz_counts.ok[FZ_CONTIG_PAGES]++;
}

static void fz_op_FOLIO_ALLOC(struct fz *f, const uint8_t *p)
{
	unsigned int order = order_of(f, p[0], false);
	pmm_gfp_t gfp = gfp_of(p[1]);
	uint64_t faults = stat_faults(f);
	struct pmm_folio *folio;
	int hi = make_room(f, p[2]);
	pmm_pfn_t pfn;

	if (hi < 0)
		return;
	folio = pmm_folio_alloc(f->pmm, gfp, order);
	vlog(f, "folio_alloc(order %u, gfp %#x) -> %s%#llx", order, gfp, folio ? "pfn " : "",
	     folio ? (unsigned long long)pfn_of(f, pmm_folio_page(f->pmm, folio, 0)) : 0ull);
	if (!folio) {
		pmm_fuzz_counts.fail[FZ_FOLIO_ALLOC]++;
		if (stat_faults(f) == faults)
			check_alloc_failure(f, order, gfp, -1, "folio_alloc");
		return;
	}
	pfn = pfn_of(f, pmm_folio_page(f->pmm, folio, 0));
	if (pmm_folio_order(folio) != order || pmm_folio_ref_count(folio) != 1 ||
	    (pfn & ((1ull << order) - 1))) {
		fz_fail(f, "folio_alloc(order %u) gave pfn %#llx, folio order %u, refcount %d", order,
			(unsigned long long)pfn, pmm_folio_order(folio), pmm_folio_ref_count(folio));
		return;
	}
	for (unsigned long i = 0; i < (1UL << order); i += 1 + (i >> 2)) {
		struct pmm_page *t = pmm_folio_page(f->pmm, folio, i);

		if (!t || pfn_of(f, t) != pfn + i || pmm_page_folio(t) != folio) {
			fz_fail(f, "folio %#llx: page %lu does not map back to the folio",
				(unsigned long long)pfn, i);
			return;
		}
	}
	if (pmm_folio_page(f->pmm, folio, 1UL << order)) {
		fz_fail(f, "folio %#llx: pmm_folio_page past the end is not NULL", (unsigned long long)pfn);
		return;
	}
	f->h[hi].kind = order ? H_FOLIO : H_BLOCK;
	f->h[hi].order = order;
	f->h[hi].pfn = pfn;
	f->h[hi].n = 1UL << order;
	if (!take(f, hi, pfn, 1UL << order, 1, 0, "folio_alloc"))
		return;
	check_gfp_zone(f, pfn, gfp, "folio_alloc");
	if (gfp & PMM_GFP_ZERO)
		zero_check(f, pfn, 1UL << order, "folio_alloc");
	write_run(f, hi, pfn, 1UL << order);
	pmm_fuzz_counts.ok[FZ_FOLIO_ALLOC]++;
}

static void fz_op_FOLIO_GET(struct fz *f, const uint8_t *p)
{
	int hi = pick(f, M(H_FOLIO), p[0]);
	struct handle *h;
	struct pmm_folio *folio;

	if (hi < 0) {
		pmm_fuzz_counts.fail[FZ_FOLIO_GET]++;
		return;
	}
	h = &f->h[hi];
	if (frm(f, h->pfn)->ref >= MAX_REFS)
		return;
	folio = pmm_page_folio(pg(f, h->pfn));
	if (p[1] & 1) {
		pmm_pfn_t t = h->pfn + p[2] % (1UL << h->order);

		vlog(f, "get_page(tail %#llx) of folio %#llx", (unsigned long long)t,
		     (unsigned long long)h->pfn);
		pmm_get_page(f->pmm, pg(f, t));
	} else {
		vlog(f, "folio_get(%#llx)", (unsigned long long)h->pfn);
		pmm_folio_get(f->pmm, folio);
	}
	frm(f, h->pfn)->ref++;
	if (pmm_folio_ref_count(folio) != frm(f, h->pfn)->ref)
		fz_fail(f, "folio %#llx: refcount %d after a get, model %d", (unsigned long long)h->pfn,
			pmm_folio_ref_count(folio), frm(f, h->pfn)->ref);
	pmm_fuzz_counts.ok[FZ_FOLIO_GET]++;
}

static void fz_op_FOLIO_PUT(struct fz *f, const uint8_t *p)
{
	int hi = pick(f, M(H_FOLIO), p[0]);
	struct handle *h;
	int ref, refs;

	if (hi < 0) {
		pmm_fuzz_counts.fail[FZ_FOLIO_PUT]++;
		return;
	}
	h = &f->h[hi];
	ref = frm(f, h->pfn)->ref;
	refs = 1 + p[1] % ref;
	if (refs == ref)
		pat_check_handle(f, hi);
	vlog(f, "folio_put_refs(%#llx, %d) ref %d", (unsigned long long)h->pfn, refs, ref);
	pmm_folio_put_refs(f->pmm, pmm_page_folio(pg(f, h->pfn)), refs);
	drop_head(f, hi, refs);
	pmm_fuzz_counts.ok[FZ_FOLIO_PUT]++;
}

static void fz_op_DRAIN(struct fz *f, const uint8_t *p)
{
	(void)p;
	vlog(f, "drain_all_pages");
	pmm_drain_all_pages(f->pmm);
	for (unsigned int z = 0; z < f->nzones; z++) {
		struct pmm_zone_info zi;

		pmm_zone_info(f->pmm, z, &zi);
		if (zi.pcp_pages) {
			fz_fail(f, "zone %u keeps %llu pcp frames after pmm_drain_all_pages", z,
				(unsigned long long)zi.pcp_pages);
			return;
		}
	}
	for (int hi = 0; hi < MAX_H; hi++)
		if (f->h[hi].kind != H_NONE)
			pat_check_handle(f, hi);
	pmm_fuzz_counts.ok[FZ_DRAIN]++;
}

static void fz_op_SET_CPU(struct fz *f, const uint8_t *p)
{
	f->cpu = p[0] % f->nr_cpus;
	vlog(f, "set cpu %u", f->cpu);
	pmm_fuzz_counts.ok[FZ_SET_CPU]++;
}

/*
 * Reclaim: called by an allocation's slow path, frees whole handles (the
 * model follows) until @nr frames are back. Re-entering the allocator's
 * free paths from inside an allocation is part of what is tested.
 */
static unsigned long shrink_cb(void *arg, pmm_t *pmm, unsigned long nr)
{
	struct fz *f = arg;
	unsigned long freed = 0;

	(void)pmm;
	f->shrinks++;
	if (!f->in_op || f->failed)
		return 0;
	for (int k = 0; k < MAX_H && freed < nr && !f->failed; k++) {
		int hi = (int)((f->shrinker_cursor + (unsigned int)k) % MAX_H);
		unsigned long live = f->h[hi].live;

		if (f->h[hi].kind == H_NONE)
			continue;
		vlog(f, "shrinker (asked for %lu) frees handle %d", nr, hi);
		free_handle(f, hi);
		freed += live;
	}
	f->shrinker_cursor += 7;
	return freed;
}

static void fz_op_SHRINKER(struct fz *f, const uint8_t *p)
{
	int rc, want;

	if (p[0] & 1) {
		rc = pmm_register_shrinker(f->pmm, NULL, f);
		vlog(f, "register_shrinker(NULL) = %d", rc);
		if (rc != -PMM_EINVAL)
			fz_fail(f, "pmm_register_shrinker(NULL) = %d, not -PMM_EINVAL", rc);
		return;
	}
	want = f->nr_shrinkers < PMM_MAX_SHRINKERS ? 0 : -PMM_ENOMEM;
	rc = pmm_register_shrinker(f->pmm, shrink_cb, f);
	vlog(f, "register_shrinker #%u = %d", f->nr_shrinkers + 1, rc);
	if (rc != want) {
		fz_fail(f, "pmm_register_shrinker #%u = %d, expected %d", f->nr_shrinkers + 1, rc, want);
		return;
	}
	f->nr_shrinkers += !rc;
	pmm_fuzz_counts.ok[FZ_SHRINKER]++;
}

static void fz_op_FAULT(struct fz *f, const uint8_t *p)
{
	struct pmm_fault_attr a = {
		.nth = (p[0] & 2) ? 0 : 1 + p[1] % 4,
		.interval = 1,
		.probability = 100,
		.times = 1,
		.min_order = 0,
		.seed = p[2],
	};
	enum pmm_fault_kind kind = (p[0] & 1) ? PMM_FAULT_META_ALLOC : PMM_FAULT_PAGE_ALLOC;

	vlog(f, "fault_set(%s, nth %llu)", kind == PMM_FAULT_META_ALLOC ? "meta" : "page",
	     (unsigned long long)a.nth);
	if (pmm_fault_set(f->pmm, kind, &a))
		fz_fail(f, "pmm_fault_set refused a valid attribute");
	pmm_fuzz_counts.ok[FZ_FAULT]++;
}

/* ------------------------------------------------------------------------
 * Deliberate bad input
 * ------------------------------------------------------------------------ */

/* The first frame at or after offset @b that is free (F_FREE) / a hole; false if none. */
static bool find_state(struct fz *f, unsigned int b, uint8_t state, pmm_pfn_t *out)
{
	for (unsigned long k = 0; k < f->span; k++) {
		unsigned long i = (b + k) % f->span;

		if (f->fr[i].state == state) {
			*out = f->base + i;
			return true;
		}
	}
	return false;
}

/* A handle of @mask whose head has refcount 1 (or any, if !one) and order >= @min_order. */
static int pick_where(struct fz *f, unsigned int mask, unsigned int b, bool one, unsigned int min_order)
{
	for (int k = 0; k < MAX_H; k++) {
		int i = (int)((b + (unsigned int)k) % MAX_H);

		if ((mask & (1u << f->h[i].kind)) && f->h[i].order >= min_order &&
		    (!one || frm(f, f->h[i].pfn)->ref == 1))
			return i;
	}
	return -1;
}

/*
 * What a bad-input handler did. The dispatch (fz_op_BAD) counts an issued
 * input and, for FZ_BAD_UNCHANGED, checks that it was reported and
 * changed nothing; handlers whose input also frees something check what
 * they expect themselves.
 */
enum fz_bad_result {
	FZ_BAD_NOT_ISSUED,	/* nothing to act on (counted as a failure of FZ_BAD) */
	FZ_BAD_UNCHANGED,	/* issued after snap_take(@before): must change nothing */
	FZ_BAD_SELF_CHECKED,	/* issued, and checked by the handler */
	FZ_BAD_STOPPED,		/* a violation ended the run: not counted */
};

/* One handler per FZ_BADS entry: fz_bad_NAME(f, parameters 1..6, snapshot to take). */
typedef enum fz_bad_result fz_bad_fn(struct fz *f, const uint8_t *p, struct snap *before);
#define FZ_BAD_DECLARE(name) static fz_bad_fn fz_bad_##name;
FZ_BADS(FZ_BAD_DECLARE)
#undef FZ_BAD_DECLARE

/* The page pointers of FZ_BAD_FAKE_PAGE and the address of FZ_BAD_EXACT_FOREIGN. */
static _Alignas(64) unsigned char fake[128];

/*
 * A new RUN handle @ri of [@pfn, @pfn + @n), which the model says is free,
 * from pmm_alloc_contig_range(): the setup of an input that frees it
 * wrongly. Return: FZ_BAD_SELF_CHECKED when taken, FZ_BAD_NOT_ISSUED on an
 * injected failure, FZ_BAD_STOPPED on a violation.
 */
static enum fz_bad_result take_free_run(struct fz *f, int ri, pmm_pfn_t pfn, unsigned long n)
{
	uint64_t faults = stat_faults(f);
	int rc = pmm_alloc_contig_range(f->pmm, pfn, pfn + n, 0);

	if (rc && stat_faults(f) != faults)
		return FZ_BAD_NOT_ISSUED;
	if (rc) {
		fz_fail(f, "alloc_contig_range(%#llx, +%lu) of free frames = %d", (unsigned long long)pfn,
			n, rc);
		return FZ_BAD_STOPPED;
	}
	f->h[ri].kind = H_RUN;
	f->h[ri].pfn = pfn;
	f->h[ri].n = n;
	if (!take(f, ri, pfn, n, 1, 1, "alloc_contig_range"))
		return FZ_BAD_STOPPED;
	write_run(f, ri, pfn, n);
	check_all(f);
	return FZ_BAD_SELF_CHECKED;
}

static enum fz_bad_result fz_bad_DOUBLE_FREE(struct fz *f, const uint8_t *p, struct snap *before)
{
	int hi = pick_where(f, M(H_BLOCK) | M(H_FOLIO), p[1], true, 0);
	pmm_pfn_t q;

	if (hi >= 0) {
		struct handle *h = &f->h[hi];
		pmm_pfn_t pfn = h->pfn;
		unsigned int order = h->order;

		pat_check_handle(f, hi);
		vlog(f, "free_pages(%#llx, %u), then again", (unsigned long long)pfn, order);
		pmm_free_pages(f->pmm, pg(f, pfn), order);
		drop_head(f, hi, 1);
		check_all(f);
		snap_take(f, before);
		pmm_free_pages(f->pmm, pg(f, pfn), order);
		return FZ_BAD_UNCHANGED;
	}
	if (!find_state(f, p[2] | (unsigned int)p[3] << 8, F_FREE, &q))
		return FZ_BAD_NOT_ISSUED;
	vlog(f, "free_pages(free %#llx, 0)", (unsigned long long)q);
	snap_take(f, before);
	pmm_free_pages(f->pmm, pg(f, q), 0);
	return FZ_BAD_UNCHANGED;
}

static enum fz_bad_result fz_bad_WRONG_ORDER(struct fz *f, const uint8_t *p, struct snap *before)
{
	int hi = pick(f, M(H_BLOCK) | M(H_FOLIO), p[1]);
	struct handle *h;
	unsigned int bad;

	if (hi < 0)
		return FZ_BAD_NOT_ISSUED;
	h = &f->h[hi];
	bad = (h->order + 1 + p[2] % (f->max_order + 3)) % (f->max_order + 3);
	if (bad == h->order)
		bad++;
	vlog(f, "free_pages(%#llx, order %u) of an order-%u block", (unsigned long long)h->pfn, bad,
	     h->order);
	snap_take(f, before);
	pmm_free_pages(f->pmm, pg(f, h->pfn), bad);
	return FZ_BAD_UNCHANGED;
}

/* pmm_put_page or pmm_get_page on a free frame. */
static enum fz_bad_result get_put_free(struct fz *f, const uint8_t *p, struct snap *before, bool put)
{
	pmm_pfn_t q;

	if (!find_state(f, p[2] | (unsigned int)p[3] << 8, F_FREE, &q))
		return FZ_BAD_NOT_ISSUED;
	vlog(f, "%s_page(free %#llx)", put ? "put" : "get", (unsigned long long)q);
	snap_take(f, before);
	if (put)
		pmm_put_page(f->pmm, pg(f, q));
	else
		pmm_get_page(f->pmm, pg(f, q));
	return FZ_BAD_UNCHANGED;
}

static enum fz_bad_result fz_bad_PUT_FREE(struct fz *f, const uint8_t *p, struct snap *before)
{
	return get_put_free(f, p, before, true);
}

static enum fz_bad_result fz_bad_GET_FREE(struct fz *f, const uint8_t *p, struct snap *before)
{
	return get_put_free(f, p, before, false);
}

static enum fz_bad_result fz_bad_FOREIGN_RANGE(struct fz *f, const uint8_t *p, struct snap *before)
{
	unsigned long n = 1 + p[4] % 64;
	pmm_pfn_t q;

	if (p[1] % 3 == 0 && find_state(f, p[2] | (unsigned int)p[3] << 8, F_HOLE, &q)) {
		unsigned long run = 0;

		while (frm(f, q + run) && frm(f, q + run)->state == F_HOLE)
			run++;
		if (n > run)
			n = run;
	} else if (p[1] % 3 == 1 && f->base > 0) {
		unsigned long room = f->base < 256 ? (unsigned long)f->base : 256;

		q = f->base - 1 - p[2] % room;
		if (n > f->base - q)
			n = (unsigned long)(f->base - q);
	} else {
		q = f->base + f->span + p[2] * 17u;
	}
	vlog(f, "free_contig_range(foreign %#llx, %lu)", (unsigned long long)q, n);
	snap_take(f, before);
	pmm_free_contig_range(f->pmm, q, n);
	return FZ_BAD_UNCHANGED;
}

static enum fz_bad_result fz_bad_RANGE_FREE(struct fz *f, const uint8_t *p, struct snap *before)
{
	unsigned long run = 0, n;
	pmm_pfn_t q;

	if (!find_state(f, p[2] | (unsigned int)p[3] << 8, F_FREE, &q))
		return FZ_BAD_NOT_ISSUED;
	while (is_free(f, q + run))
		run++;
	n = 1 + p[4] % run;
	vlog(f, "free_contig_range(free %#llx, %lu)", (unsigned long long)q, n);
	snap_take(f, before);
	pmm_free_contig_range(f->pmm, q, n);
	return FZ_BAD_UNCHANGED;
}

static enum fz_bad_result fz_bad_SPLIT_FOLIO(struct fz *f, const uint8_t *p, struct snap *before)
{
	int hi = pick(f, M(H_FOLIO), p[1]);

	if (hi < 0)
		return FZ_BAD_NOT_ISSUED;
	vlog(f, "split_page(folio %#llx, %u)", (unsigned long long)f->h[hi].pfn, f->h[hi].order);
	snap_take(f, before);
	pmm_split_page(f->pmm, pg(f, f->h[hi].pfn), f->h[hi].order);
	return FZ_BAD_UNCHANGED;
}

static enum fz_bad_result fz_bad_RANGE_FOLIO(struct fz *f, const uint8_t *p, struct snap *before)
{
	int hi = pick(f, M(H_FOLIO), p[1]);
	struct handle *h;
	unsigned long n;

	if (hi < 0)
		return FZ_BAD_NOT_ISSUED;
	h = &f->h[hi];
	n = 1 + p[2] % (1UL << h->order);
	vlog(f, "free_contig%s_range(folio head %#llx, %lu)", (p[3] & 1) ? "_frozen" : "",
	     (unsigned long long)h->pfn, n);
	snap_take(f, before);
	if (p[3] & 1)
		pmm_free_contig_frozen_range(f->pmm, h->pfn, n);
	else
		pmm_free_contig_range(f->pmm, h->pfn, n);
	return FZ_BAD_UNCHANGED;
}

static enum fz_bad_result fz_bad_FOLIO_OVERPUT(struct fz *f, const uint8_t *p, struct snap *before)
{
	int hi = pick(f, M(H_FOLIO), p[1]);
	struct handle *h;
	int ref, refs;

	if (hi < 0)
		return FZ_BAD_NOT_ISSUED;
	h = &f->h[hi];
	ref = frm(f, h->pfn)->ref;
	refs = (p[3] & 1) ? -(int)(p[2] % 2) : ref + 1 + p[2] % 3;
	vlog(f, "folio_put_refs(%#llx, %d) with refcount %d", (unsigned long long)h->pfn, refs, ref);
	snap_take(f, before);
	pmm_folio_put_refs(f->pmm, pmm_page_folio(pg(f, h->pfn)), refs);
	return FZ_BAD_UNCHANGED;
}

/* free_contig_frozen_range on referenced pages (@frozen_call), free_contig_range on frozen ones. */
static enum fz_bad_result wrong_range_call(struct fz *f, const uint8_t *p, struct snap *before,
					   bool frozen_call)
{
	int hi = pick(f, frozen_call ? M(H_RUN) : M(H_FROZEN), p[1]);
	pmm_pfn_t start;
	unsigned long len;

	if (hi < 0 || !live_subrange(f, hi, p + 2, &start, &len))
		return FZ_BAD_NOT_ISSUED;
	vlog(f, "free_contig%s_range(%#llx, %lu) of a %s run", frozen_call ? "_frozen" : "",
	     (unsigned long long)start, len, hkind_names[f->h[hi].kind]);
	snap_take(f, before);
	if (frozen_call)
		pmm_free_contig_frozen_range(f->pmm, start, len);
	else
		pmm_free_contig_range(f->pmm, start, len);
	return FZ_BAD_UNCHANGED;
}

static enum fz_bad_result fz_bad_FROZEN_HELD(struct fz *f, const uint8_t *p, struct snap *before)
{
	return wrong_range_call(f, p, before, true);
}

static enum fz_bad_result fz_bad_RANGE_FROZEN(struct fz *f, const uint8_t *p, struct snap *before)
{
	return wrong_range_call(f, p, before, false);
}

static enum fz_bad_result fz_bad_FREE_TAIL(struct fz *f, const uint8_t *p, struct snap *before)
{
	int hi = pick_where(f, M(H_FOLIO), p[1], false, 1);
	struct handle *h;
	pmm_pfn_t t;
	unsigned int order;

	if (hi < 0)
		return FZ_BAD_NOT_ISSUED;
	h = &f->h[hi];
	t = h->pfn + 1 + p[2] % ((1UL << h->order) - 1);
	order = (p[3] & 1) ? h->order : 0;
	vlog(f, "free_pages(folio tail %#llx, %u)", (unsigned long long)t, order);
	snap_take(f, before);
	pmm_free_pages(f->pmm, pg(f, t), order);
	return FZ_BAD_UNCHANGED;
}

static enum fz_bad_result fz_bad_FAKE_PAGE(struct fz *f, const uint8_t *p, struct snap *before)
{
	struct pmm_page *fp = (struct pmm_page *)(void *)(fake + (p[1] & 1) * 64);
	struct pmm_page *arr[1] = { fp };

	for (unsigned int i = 0; i < sizeof(fake); i++)
		fake[i] = p[2 + i % 5] ^ (unsigned char)i;
	vlog(f, "call %u on a page pointer outside the memmap", p[1] % 5);
	snap_take(f, before);
	switch ((p[1] >> 1) % 5) {
	case 0:
		pmm_put_page(f->pmm, fp);
		break;
	case 1:
		pmm_get_page(f->pmm, fp);
		break;
	case 2:
		pmm_free_pages(f->pmm, fp, p[2] % 3);
		break;
	case 3:
		pmm_split_page(f->pmm, fp, 0);
		break;
	default:
		pmm_free_pages_bulk(f->pmm, arr, 1);
		break;
	}
	return FZ_BAD_UNCHANGED;
}

static enum fz_bad_result fz_bad_BULK_DUP(struct fz *f, const uint8_t *p, struct snap *before)
{
	struct pmm_page *arr[MAX_BULK + 1];
	pmm_pfn_t pfns[MAX_BULK], dup = 0;
	unsigned long n = 0, at, before_reports = f->reports;
	int hi = pick(f, M(H_RUN) | M(H_BULK), p[1]);
	bool found = false;

	(void)before;
	for (unsigned long i = 0; hi >= 0 && i < f->h[hi].n && n < MAX_BULK; i++) {
		pmm_pfn_t x = f->h[hi].kind == H_BULK ? f->h[hi].bulk[i] : f->h[hi].pfn + i;

		if (held_by(f, x, hi))
			pfns[n++] = x;
	}
	/* The page given twice holds one reference: the second time it is free. */
	for (unsigned long k = 0; k < n && !found; k++) {
		dup = pfns[(p[2] + k) % n];
		found = frm(f, dup)->ref == 1;
	}
	if (!found)
		return FZ_BAD_NOT_ISSUED;
	at = p[3] % (n + 1);
	for (unsigned long i = 0, k = 0; i <= n; i++)
		arr[i] = i == at ? pg(f, dup) : pg(f, pfns[k++]);
	for (unsigned long i = 0; i < n; i++)
		if (frm(f, pfns[i])->ref == 1)
			pat_check(f, pfns[i]);
	vlog(f, "free_pages_bulk(%lu pages, %#llx given twice)", n, (unsigned long long)dup);
	pmm_free_pages_bulk(f->pmm, arr, n + 1);
	for (unsigned long i = 0; i < n; i++)
		drop_ref0(f, pfns[i]);
	if (f->reports == before_reports)
		fz_fail(f, "free_pages_bulk with a page given twice was not reported");
	return FZ_BAD_SELF_CHECKED;	/* it also frees: no "unchanged" check */
}

static enum fz_bad_result fz_bad_PUT_FROZEN(struct fz *f, const uint8_t *p, struct snap *before)
{
	int hi = pick(f, M(H_FROZEN), p[1]);
	pmm_pfn_t q;

	if (hi < 0 || !live_frame(f, hi, p[2], &q))
		return FZ_BAD_NOT_ISSUED;
	vlog(f, "put_page(frozen %#llx)", (unsigned long long)q);
	snap_take(f, before);
	pmm_put_page(f->pmm, pg(f, q));
	return FZ_BAD_UNCHANGED;
}

static enum fz_bad_result fz_bad_SPLIT_ORDER(struct fz *f, const uint8_t *p, struct snap *before)
{
	int hi = pick(f, M(H_BLOCK), p[1]);
	unsigned int bad;

	if (hi < 0)
		return FZ_BAD_NOT_ISSUED;
	bad = (f->h[hi].order + 1 + p[2] % f->max_order) % (f->max_order + 1);
	if (bad == f->h[hi].order)
		bad = f->max_order + 1;
	vlog(f, "split_page(%#llx, %u) of an order-%u block", (unsigned long long)f->h[hi].pfn, bad,
	     f->h[hi].order);
	snap_take(f, before);
	pmm_split_page(f->pmm, pg(f, f->h[hi].pfn), bad);
	return FZ_BAD_UNCHANGED;
}

static enum fz_bad_result fz_bad_GET_TAIL(struct fz *f, const uint8_t *p, struct snap *before)
{
	int hi = pick_where(f, M(H_BLOCK), p[1], false, 1);
	struct handle *h;
	pmm_pfn_t t;

	if (hi < 0)
		return FZ_BAD_NOT_ISSUED;
	h = &f->h[hi];
	t = h->pfn + 1 + p[2] % ((1UL << h->order) - 1);
	vlog(f, "%s_page(tail %#llx of a non-compound block)", (p[3] & 1) ? "put" : "get",
	     (unsigned long long)t);
	snap_take(f, before);
	if (p[3] & 1)
		pmm_put_page(f->pmm, pg(f, t));
	else
		pmm_get_page(f->pmm, pg(f, t));
	return FZ_BAD_UNCHANGED;
}

static enum fz_bad_result fz_bad_EXACT_FOREIGN(struct fz *f, const uint8_t *p, struct snap *before)
{
	void *addr = fake;
	pmm_pfn_t q;

	/* Inside the direct map but a hole: the address has no page either. */
	if (f->backed && (p[1] & 1) && find_state(f, p[2] | (unsigned int)p[3] << 8, F_HOLE, &q)) {
		pmm_pfn_t any;

		if (find_state(f, 0, F_FREE, &any) || find_state(f, 0, F_HELD, &any))
			addr = (char *)pmm_page_address(f->pmm, pg(f, any)) +
			       ((int64_t)q - (int64_t)any) * (int64_t)f->psize;
	}
	vlog(f, "free_pages_exact(%p outside the direct map's pages, %zu)", addr, f->psize);
	snap_take(f, before);
	pmm_free_pages_exact(f->pmm, addr, f->psize * (1 + p[4] % 4));
	return FZ_BAD_UNCHANGED;
}

/* The head of a block never split is not an order-0 page: refused, tails untouched. */
static enum fz_bad_result fz_bad_RANGE_BLOCK(struct fz *f, const uint8_t *p, struct snap *before)
{
	int hi = pick_where(f, M(H_BLOCK), p[1], false, 1);
	static const char *const calls[] = {
		"free_contig_range", "free_contig_frozen_range", "free_pages_bulk",
	};
	struct handle *h;
	unsigned long n;

	if (hi < 0)
		return FZ_BAD_NOT_ISSUED;
	h = &f->h[hi];
	n = 1 + p[2] % (1UL << h->order);
	vlog(f, "%s on unsplit order-%u block %#llx (%lu pages)", calls[p[3] % 3], h->order,
	     (unsigned long long)h->pfn, n);
	snap_take(f, before);
	if (p[3] % 3 == 0) {
		pmm_free_contig_range(f->pmm, h->pfn, n);
	} else if (p[3] % 3 == 1) {
		pmm_free_contig_frozen_range(f->pmm, h->pfn, n);
	} else {
		struct pmm_page *arr[2] = { pg(f, h->pfn), NULL };

		pmm_free_pages_bulk(f->pmm, arr, 1 + (p[4] & 1));
	}
	return FZ_BAD_UNCHANGED;
}

/*
 * An order-0 page right below a folio or unsplit block, freed together:
 * the page is freed, the head fails the checks, ends the run and is left
 * exactly as it was (with its tails).
 */
static enum fz_bad_result fz_bad_RANGE_MIXED(struct fz *f, const uint8_t *p, struct snap *before)
{
	int hi = pick_where(f, M(H_BLOCK) | M(H_FOLIO), p[1], false, 1);
	unsigned long n, before_reports = f->reports;
	enum fz_bad_result taken;
	const char *what;
	uint64_t chunks;
	pmm_pfn_t q0;
	int ri, ref;

	(void)before;
	if (hi < 0 || !is_free(f, f->h[hi].pfn - 1) ||
	    frm(f, f->h[hi].pfn - 1)->zone != frm(f, f->h[hi].pfn)->zone || (ri = new_handle(f)) < 0)
		return FZ_BAD_NOT_ISSUED;
	q0 = f->h[hi].pfn - 1;
	if ((taken = take_free_run(f, ri, q0, 1)) != FZ_BAD_SELF_CHECKED)
		return taken;
	what = hkind_names[f->h[hi].kind];
	ref = frm(f, q0 + 1)->ref;
	n = 1 + 1 + p[2] % (1UL << f->h[hi].order);
	chunks = stat_chunks(f);
	vlog(f, "%s(%#llx, %lu): order-0 page, then %s head %#llx",
	     (p[3] & 1) ? "free_pages_bulk" : "free_contig_range", (unsigned long long)q0, n, what,
	     (unsigned long long)(q0 + 1));
	if (p[3] & 1) {
		struct pmm_page *arr[2] = { pg(f, q0), pg(f, q0 + 1) };

		pmm_free_pages_bulk(f->pmm, arr, 2);
	} else {
		pmm_free_contig_range(f->pmm, q0, n);
	}
	drop_ref0(f, q0);
	if (f->reports == before_reports)
		fz_fail(f, "a %s head inside a freed range was not reported", what);
	else if (pmm_page_count(pg(f, q0 + 1)) != ref)
		fz_fail(f, "the %s head inside a freed range went from refcount %d to %d", what, ref,
			pmm_page_count(pg(f, q0 + 1)));
	else if (f->h[hi].kind == H_FOLIO &&
		 pmm_folio_order(pmm_page_folio(pg(f, q0 + 1))) != f->h[hi].order)
		fz_fail(f, "the folio inside a freed range lost its order");
	check_chunks(f, chunks, f->per_page ? 0 : 1, "a range ended by a head");
	return FZ_BAD_SELF_CHECKED;	/* it also frees: no "unchanged" check */
}

/*
 * Held pages at the lowest or highest managed pfns, freed by a range that
 * also covers unmanaged pfns beyond them: reported, and the managed pages
 * are freed all the same.
 */
static enum fz_bad_result fz_bad_RANGE_EDGE(struct fz *f, const uint8_t *p, struct snap *before)
{
	bool low = p[1] & 1;
	unsigned long k = 1 + p[2] % 8, extra = 1 + p[3] % 40;
	pmm_pfn_t lo = f->base, hi_end = f->base + f->span;
	pmm_pfn_t s0 = low ? lo : hi_end - k, start = low ? lo - extra : s0;
	unsigned long before_reports = f->reports, len = k + extra;
	enum fz_bad_result taken;
	uint64_t chunks;
	int ri;

	(void)before;
	if ((low && lo < extra) || predict_contig(f, s0, s0 + k) != 0 || (ri = new_handle(f)) < 0)
		return FZ_BAD_NOT_ISSUED;
	if ((taken = take_free_run(f, ri, s0, k)) != FZ_BAD_SELF_CHECKED)
		return taken;
	chunks = stat_chunks(f);
	vlog(f, "free_contig_range(%#llx, %lu): %lu held pages at the %s end", (unsigned long long)start,
	     len, k, low ? "low" : "high");
	pmm_free_contig_range(f->pmm, start, len);
	release_n(f, s0, k);
	if (f->reports == before_reports)
		fz_fail(f, "a range running outside managed memory was not reported");
	check_chunks(f, chunks, f->per_page ? 0 : run_chunks_split(f, s0, k),
		     "a range clamped to managed memory");
	return FZ_BAD_SELF_CHECKED;	/* it also frees: no "unchanged" check */
}

/* The dispatch of FZ_BAD: parameter 0 picks the kind, handlers from FZ_BADS. */
static fz_bad_fn *const fz_bad_table[FZ_NR_BAD] = {
#define FZ_BAD_ENTRY(name) [FZ_BAD_##name] = fz_bad_##name,
	FZ_BADS(FZ_BAD_ENTRY)
#undef FZ_BAD_ENTRY
};

static void fz_op_BAD(struct fz *f, const uint8_t *p)
{
	enum fz_bad kind = (enum fz_bad)sel(p[0], FZ_NR_BAD);
	struct snap before;

	switch (fz_bad_table[kind](f, p, &before)) {
	case FZ_BAD_NOT_ISSUED:
		pmm_fuzz_counts.fail[FZ_BAD]++;
		return;
	case FZ_BAD_STOPPED:
		return;
	case FZ_BAD_UNCHANGED:
		snap_expect_unchanged(f, &before, pmm_fuzz_bad_name(kind));
		break;
	case FZ_BAD_SELF_CHECKED:
		break;
	}
	pmm_fuzz_counts.bad[kind]++;
	pmm_fuzz_counts.ok[FZ_BAD]++;
}

/* ------------------------------------------------------------------------
 * Instance setup, the run, teardown
 * ------------------------------------------------------------------------ */

static int setup(struct fz *f, uint8_t lay, uint8_t knobs)
{
	static const unsigned int batch[4][2] = { { 0, 0 }, { 1, 2 }, { 4, 16 }, { 31, 124 } };
	struct pmm_config cfg;
	pmm_pfn_t lo = UINT64_MAX, hi = 0;
	int rc;

	f->lay = &layouts[sel(lay, FZ_NR_LAYOUTS)];
	pmm_config_init(&cfg);
	cfg.page_shift = f->lay->page_shift;
	cfg.section_shift = f->lay->section_shift;
	cfg.max_order = f->lay->max_order;
	cfg.pageblock_order = f->lay->pageblock_order;
	if (f->lay->dma32_end)
		cfg.dma32_end_pfn = f->lay->dma32_end;
	cfg.nr_regions = f->lay->nr;
	for (unsigned int i = 0; i < f->lay->nr; i++) {
		cfg.regions[i] = f->lay->r[i];
		if (cfg.regions[i].start_pfn < lo)
			lo = cfg.regions[i].start_pfn;
		if (cfg.regions[i].start_pfn + cfg.regions[i].nr_pages > hi)
			hi = cfg.regions[i].start_pfn + cfg.regions[i].nr_pages;
	}
	cfg.memmap = (knobs & 1) ? PMM_MEMMAP_VMEMMAP : PMM_MEMMAP_SPARSE;
	f->psize = (size_t)1 << cfg.page_shift;
	switch ((knobs >> 1 & 1) | (knobs >> 6 & 2)) {
	case 0:
		cfg.backing = PMM_BACKING_NONE;
		break;
	case 1:
		cfg.backing = PMM_BACKING_MEMFD;
		break;
	case 2:
		/* The caller's buffer, covering [lowest, highest pfn). */
		cfg.backing = PMM_BACKING_USER;
		cfg.user_size = (size_t)(hi - lo) << cfg.page_shift;
		f->user_buf = aligned_alloc(f->psize, cfg.user_size);
		if (!f->user_buf)
			return -1;
		cfg.user_base = f->user_buf;
		break;
	default:
		cfg.backing = PMM_BACKING_ANON;
		break;
	}
	cfg.pcp_disable = knobs & 4;
	cfg.nr_cpus = (knobs & 8) ? 2 : 1;
	cfg.cpu_fn = cpu_cb;
	cfg.cpu_arg = f;
	cfg.contig_per_page = knobs & 16;
	cfg.pcp_batch = batch[(knobs >> 5) & 3][0];
	cfg.pcp_high = batch[(knobs >> 5) & 3][1];
	cfg.min_free_pages = 0;
	cfg.quiet = true;
	cfg.bad_page_fn = bad_cb;
	cfg.bad_page_arg = f;

	f->backed = cfg.backing != PMM_BACKING_NONE;
	f->per_page = cfg.contig_per_page;
	f->section_pages = 1UL << (cfg.section_shift - cfg.page_shift);
	f->max_order = cfg.max_order;
	f->pageblock_order = cfg.pageblock_order;
	f->nr_cpus = cfg.nr_cpus;
	f->base = lo;
	f->span = (unsigned long)(hi - lo);
	rc = pmm_create(&cfg, &f->pmm);
	if (rc) {
		fz_fail(f, "pmm_create(layout %s, knobs %#x) = %d (%s)", f->lay->name, knobs, rc,
			pmm_strerror(rc));
		return -1;
	}
	if (pmm_page_size(f->pmm) != f->psize) {
		fz_fail(f, "page size %zu", pmm_page_size(f->pmm));
		return -1;
	}
	f->fr = calloc(f->span, sizeof(*f->fr));
	f->pre = calloc(f->span + 1, sizeof(*f->pre));
	f->zrun = calloc(f->span, sizeof(*f->zrun));
	f->pages = calloc(f->span, sizeof(*f->pages));
	if (!f->fr || !f->pre || !f->zrun || !f->pages)
		return -1;
	f->nzones = pmm_nr_zones(f->pmm);
	for (unsigned int z = 0; z < f->nzones; z++) {
		pmm_zone_info(f->pmm, z, &f->fresh[z]);
		f->ztype[z] = f->fresh[z].type;
		if ((unsigned int)f->fresh[z].nid + 1 > f->nr_nodes)
			f->nr_nodes = (unsigned int)f->fresh[z].nid + 1;
	}
	/* Which frames are managed, and by which zone: from the library, cross-checked. */
	uint64_t managed = 0;

	for (unsigned long i = 0; i < f->span; i++) {
		pmm_pfn_t pfn = f->base + i;
		struct pmm_page *page = pmm_pfn_to_page(f->pmm, pfn);
		bool in_region = false;

		for (unsigned int r = 0; r < f->lay->nr; r++)
			in_region |= pfn >= f->lay->r[r].start_pfn &&
				     pfn < f->lay->r[r].start_pfn + f->lay->r[r].nr_pages;
		if (!page != !in_region) {
			fz_fail(f, "pfn %#llx: pmm_pfn_to_page %s but the pfn is %sin a region",
				(unsigned long long)pfn, page ? "works" : "fails", in_region ? "" : "not ");
			return -1;
		}
		if (!page) {
			f->fr[i].state = F_HOLE;
			continue;
		}
		if (pmm_page_to_pfn(f->pmm, page) != pfn) {
			fz_fail(f, "pfn %#llx: its page maps back to %#llx", (unsigned long long)pfn,
				(unsigned long long)pmm_page_to_pfn(f->pmm, page));
			return -1;
		}
		f->pages[i] = page;
		managed++;
		f->fr[i].state = F_FREE;
		for (unsigned int z = 0; z < f->nzones; z++)
			if (f->fresh[z].nid == pmm_page_nid(f->pmm, page) &&
			    f->fresh[z].type == pmm_page_zone(f->pmm, page))
				f->fr[i].zone = (uint8_t)z;
	}
	for (unsigned long i = 0; i < f->span; i++)
		f->zrun[i] = i && f->fr[i].zone == f->fr[i - 1].zone ? f->zrun[i - 1] : (uint32_t)i;
	if (managed != pmm_managed_frames(f->pmm) || pmm_free_frames(f->pmm) != managed) {
		fz_fail(f, "fresh instance: %llu frames in regions, managed %llu, free %llu",
			(unsigned long long)managed, (unsigned long long)pmm_managed_frames(f->pmm),
			(unsigned long long)pmm_free_frames(f->pmm));
		return -1;
	}
	check_all(f);
	return f->failed ? -1 : 0;
}

static fz_op_fn *const fz_op_table[FZ_NR_OPS] = {
#define FZ_OP_ENTRY(name) [FZ_##name] = fz_op_##name,
	FZ_OPS(FZ_OP_ENTRY)
#undef FZ_OP_ENTRY
};

static void run_op(struct fz *f, const uint8_t *r)
{
	f->in_op = true;
	fz_op_table[sel(r[0], FZ_NR_OPS)](f, r + 1);
	f->in_op = false;
	check_all(f);
}

/* Free everything, drain, and require the fresh instance's buddyinfo. */
static void teardown_checks(struct fz *f)
{
	struct pmm_fault_attr off = { .probability = 100, .times = -1 };

	f->op = -1;
	/* Frees never consult fault injection, but leave nothing armed for them. */
	pmm_fault_set(f->pmm, PMM_FAULT_PAGE_ALLOC, &off);
	pmm_fault_set(f->pmm, PMM_FAULT_META_ALLOC, &off);
	for (int hi = 0; hi < MAX_H && !f->failed; hi++)
		if (f->h[hi].kind != H_NONE) {
			free_handle(f, hi);
			check_all(f);
		}
	if (f->failed)
		return;
	if (f->held) {
		fz_fail(f, "model still holds %llu frames after freeing every handle",
			(unsigned long long)f->held);
		return;
	}
	pmm_drain_all_pages(f->pmm);
	check_all(f);
	for (unsigned int z = 0; z < f->nzones && !f->failed; z++) {
		struct pmm_zone_info zi;

		pmm_zone_info(f->pmm, z, &zi);
		if (zi.free_pages != f->fresh[z].free_pages || zi.pcp_pages)
			fz_fail(f, "zone %u: %llu free + %llu pcp after freeing everything, fresh had %llu",
				z, (unsigned long long)zi.free_pages, (unsigned long long)zi.pcp_pages,
				(unsigned long long)f->fresh[z].free_pages);
		for (unsigned int o = 0; o <= f->max_order && !f->failed; o++)
			if (zi.nr_free[o] != f->fresh[z].nr_free[o])
				fz_fail(f, "zone %u order %u: %llu free blocks at the end, fresh had %llu",
					z, o, (unsigned long long)zi.nr_free[o],
					(unsigned long long)f->fresh[z].nr_free[o]);
	}
}

int pmm_fuzz_one(const uint8_t *data, size_t size, bool verbose)
{
	struct fz *f = calloc(1, sizeof(*f));
	int ret;

	if (!f)
		return 0;
	f->verbose = verbose;
	f->op = -1;
	pmm_fuzz_counts.inputs++;
	if (setup(f, size > 0 ? data[0] : 0, size > 1 ? data[1] : 0) == 0) {
		if (verbose)
			fprintf(stderr, "pmm_fuzz: layout %s, knobs %#x, %zu ops\n", f->lay->name,
				size > 1 ? data[1] : 0,
				size > 2 ? ((size - 2 + FZ_REC - 1) / FZ_REC) : 0);
		for (size_t off = 2; off < size && f->op + 1 < FZ_MAX_OPS && !f->failed; off += FZ_REC) {
			uint8_t rec[FZ_REC] = { 0 };

			memcpy(rec, data + off, size - off < FZ_REC ? size - off : FZ_REC);
			f->op++;
			pmm_fuzz_counts.ops++;
			run_op(f, rec);
		}
		if (!f->failed)
			teardown_checks(f);
	}
	ret = f->failed;
	pmm_fuzz_counts.shrinks += f->shrinks;
	pmm_destroy(f->pmm);
	free(f->user_buf);
	free(f->fr);
	free(f->pages);
	free(f->pre);
	free(f->zrun);
	free(f);
	return ret;
}
