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
 * the vmalloc window's statistics and areas against the model's, and,
 * whenever no frame sits on a pcp list, the exact buddyinfo that full
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
#include "common/skewed_meta.h"

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
	bool skew_meta;		/* metadata 64 bytes into each mapping: no placement table */
};

static const struct layout layouts[FZ_NR_LAYOUTS] = {
	/* DMA32 only, first frame 0 (no __ffs(0)), end not aligned. */
	{ "pfn0", 12, 22, 10, 9, 0, 1, { { 0, 3000, 0 } }, false },
	/* Normal; a partial section, an absent section, a partial one again. */
	{ "hole", 12, 22, 10, 9, 0, 2,
	  { { 0x100000, 1500, 0 }, { 0x100000 + 3172, 1800, 0 } }, false },
	/* One region split between DMA32 and Normal at an unaligned pfn. */
	{ "two-zones", 12, 22, 9, 7, 0x1000 + 1000, 1, { { 0x1000, 4096, 0 } }, false },
	/* 256-frame sections: almost every range crosses one; a two-section hole. */
	{ "small-sections", 12, 20, 8, 5, 0, 2,
	  { { 0x300 + 7, 2000, 0 }, { 0x300 + 7 + 2000 + 600, 700, 0 } }, false },
	/* Two nodes, each with a DMA32 zone, a hole between them. */
	{ "two-nodes", 12, 22, 10, 9, 0, 2,
	  { { 0x40000, 1357, 0 }, { 0x40000 + 2048, 2048, 1 } }, false },
	/* max_order == pageblock_order == 3, 64-frame sections. */
	{ "tiny-order", 12, 18, 3, 3, 0, 1, { { 5, 900, 0 } }, false },
	/* pageblock_order == max_order == 10. */
	{ "pb-max", 12, 22, 10, 10, 0, 1, { { 0x100000 + 512, 3617, 0 } }, false },
	/* 64 KiB pages: 64-frame sections, the direct map and zone limits scale. */
	{ "64k-pages", 16, 22, 6, 4, 0, 1, { { 0x30 + 5, 600, 0 } }, false },
	/*
	 * DMA32 ends 24 frames below 4 GiB: inside a max-order block and a
	 * section, so a range or a merge near the end of DMA32 must stop at it.
	 */
	{ "dma32-24", 12, 22, 10, 9, 0x100000 - 24, 1,
	  { { 0x100000 - 2048, 4096, 0 } }, false },
	/*
	 * Node 0, node 1, node 0 again, adjacent, neither boundary max_order
	 * aligned (regions of 40000, 30000 and 25536 frames scaled by 1/16):
	 * node 0's zone spans node 1's region, and sections hold two nodes.
	 */
	{ "nodes-interleaved", 12, 22, 10, 9, 0, 3,
	  { { 0, 2500, 0 }, { 2500, 1875, 1 }, { 2500 + 1875, 1596, 0 } }, false },
	/* Two nodes meeting mid-section, in Normal: buddies must not merge across. */
	{ "nodes-adjacent", 12, 22, 10, 9, 0, 2,
	  { { 0x100000, 2000, 0 }, { 0x100000 + 2000, 2100, 1 } }, false },
	/*
	 * "hole" with a metadata allocator whose blocks are only 64-byte
	 * aligned: caller pointers are placed by the binary search over the
	 * memmap chunks, not the placement table.
	 */
	{ "skewed-meta", 12, 22, 10, 9, 0, 2,
	  { { 0x100000, 1500, 0 }, { 0x100000 + 3172, 1800, 0 } }, true },
};

/* ------------------------------------------------------------------------
 * The model
 * ------------------------------------------------------------------------ */

/*
 * F_VM is a page of a live vmalloc or vmap area (struct fz_area), h its
 * slot in area[].
 * F_MM and F_OTHER are re-derived after every operation once an address
 * space exists (mm_derive()): F_MM are the frames of the folios the mms map
 * (found with pmm_mm_lookup()), their unmapped pages included; F_OTHER are
 * frames with references that nobody the model knows holds: page tables,
 * and folios whose last mapping went while an LRU add batch still holds
 * them (a folio leaves the swap cache with its last mapping).
 */
enum fstate { F_HOLE, F_FREE, F_HELD, F_MM, F_OTHER, F_VM };

static const char *const fstate_names[] = { "a hole", "free", "held", "held by an mm",
					    "in use by the mm side", "a page of a vmalloc/vmap area" };

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

/*
 * Address spaces. Every mm maps inside one window of WIN_PAGES virtual
 * pages (bad inputs aim elsewhere too); the model keeps its VMAs and, per
 * page of the window, whether it is mapped, whether its PTE may be
 * write-protected (after a fork: a write may copy), and its content tag.
 */
#define MAX_MM 4		/* live address spaces at once */
#define MAX_VMA 48		/* VMAs the model keeps per mm */
#define WIN_PAGES 2048u		/* 8 MiB ... */
#define VPAGE 4096ull
/* ... from 4 MiB below 1 GiB: its tables hang off two level-2 entries */
#define WIN_BASE ((1ull << 30) - (4ull << 20))
#define MAX_FAMILIES (FZ_MAX_OPS + MAX_MM)	/* fork families per input */

enum { VP_MAPPED = 1, VP_WP = 2 };

struct fz_vma {
	uint32_t start, end;	/* window pages [start, end) */
	unsigned int order;	/* folio order policy */
	bool write;
};

struct fz_mm {
	pmm_mm_t *mm;			/* NULL: a free slot */
	unsigned int id, family;	/* creation serial; the fork family's slot in fam[] */
	enum pmm_gather_mode gather;
	enum pmm_mapcount_model model;
	bool has_cb;			/* created with the TLB-flush callback */
	unsigned int nvma;
	struct fz_vma vma[MAX_VMA];	/* unordered, never overlapping */
	unsigned long nmapped;		/* pages with VP_MAPPED: the RSS */
	uint8_t vp[WIN_PAGES];		/* VP_* */
	uint32_t tag[WIN_PAGES];	/* content: 0 zero-filled, else vword(tag, i) */
	pmm_pfn_t pfn[WIN_PAGES];	/* a mapped page's frame at the last mm_derive() */
};

/* What a fork family shares: the TLB-flush callback's counter (children inherit the config). */
struct fz_family {
	struct fz *f;
	uint64_t tlb_calls;
};

/*
 * Per frame, for the mm side. The first group is rebuilt by every
 * mm_derive(); the pv_ group is what the previous one found (read while
 * rebuilding: was this the same folio?); sc_entry and dq are the model's
 * expectations, carried from one mm_derive() to the next and checked
 * against pmm_folio_info() there.
 */
struct mframe {
	int32_t maps;		/* (mm, window page) pairs mapping the frame */
	uint32_t head;		/* F_MM: frame index of its folio's head */
	uint32_t vpage;		/* the window page its first mapper maps it at */
	/* at a head frame of F_MM: */
	int32_t folio_maps;	/* mappings of all its pages */
	uint32_t mapped_pages;	/* its pages with maps > 0 */
	uint16_t family;
	uint8_t order, model;
	/* the previous mm_derive(): */
	int32_t pv_maps;	/* maps then (0 if not F_MM) */
	uint8_t pv_forder;	/* 1 + the order of the F_MM folio it was in, 0 if none */
	bool pv_head;		/* ... and it was that folio's head */
	/* expected: */
	uint64_t sc_entry;	/* its swap entry while its folio is in the swap cache, else 0 */
	bool dq;		/* at a head: its folio is on a deferred split queue */
};

/*
 * vmalloc. The model keeps every live area of the instance's window (its
 * start, pages and what they hold) and every lazily freed range not yet
 * purged; the window's bounds it finds at the first area through
 * pmm_is_vmalloc_addr(). Frames of an area are F_VM: a pmm_vmalloc()
 * area's pages with one reference each, or held order-0 pages that
 * pmm_vmap() took over from their handles (with the references they had;
 * after vunmap what is left of them goes to a new BULK handle).
 */
#define MAX_AREA 32		/* live areas the model tracks at once */
#define MAX_LAZY (FZ_MAX_OPS + MAX_AREA + 8)	/* lazily freed areas: one per free */
#define VM_SIZES 300		/* pages of most pmm_vmalloc() calls: 1..VM_SIZES */
#define VM_HUGE_SIZES 600	/* ... of pmm_vmalloc_huge(): past the 512-page PMD size */
#define VMAP_MAX MAX_BULK	/* pages of one pmm_vmap(): a BULK handle takes them back */

struct fz_area {
	bool live;
	bool vmap, put;		/* pmm_vmap(), with PMM_VMAP_PUT_PAGES */
	bool known;		/* MEMFD: the model knows what the pages hold */
	uint64_t addr;		/* start; the area covers nr + 1 pages (the guard) */
	unsigned int nr;	/* pages */
	uint64_t tag;		/* content: 0 zero-filled (pmm_vzalloc), else aword(tag) */
	pmm_pfn_t *pfn;		/* [nr]: pmm_vmalloc_to_page() of each page */
};

/* A freed area's range [start, end): reserved until the next purge. */
struct fz_lazy {
	uint64_t start, end;
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
	uint8_t *segstart;		/* a contig run must end before this frame (section, zone, region) */
	pmm_pfn_t *bounds;		/* frames where the zone changes, the one before managed */
	unsigned int nbounds;

	/* Address spaces */
	bool mm_ok;			/* 4 KiB pages */
	bool mm_used;			/* an mm was created: derive the mm side after every operation */
	struct fz_mm mm[MAX_MM];
	struct fz_family fam[MAX_FAMILIES];
	unsigned int nfamilies, mm_serial;
	uint32_t tag_serial;
	struct mframe *mf;
	/* what mm_derive() found */
	uint64_t mm_frames, other_frames, pgtables;
	unsigned long sc_folios;	/* folios in the swap cache (all mapped) */
	unsigned long dq_folios;	/* folios on the deferred split queues */
	uint64_t next_entry;		/* the swap entry the next folio added to the cache gets */
	struct pmm_stats dstats;	/* the counters then */
	uint64_t gather_calls;		/* the public gather's TLB-flush callback */

	/* vmalloc */
	bool vm_on;			/* the instance has a window (MEMFD or NONE backing) */
	bool vm_mapped;			/* MEMFD: areas are mappings whose contents are checked */
	bool vm_used;			/* an area was made: derive F_OTHER after every operation */
	uint64_t win_start, win_end;	/* the window; 0 until the first area */
	uint64_t win_bytes, lazy_max;	/* the resolved vmalloc_size and vmap_lazy_max */
	struct fz_area area[MAX_AREA];
	unsigned int nareas;
	struct fz_lazy lazy[MAX_LAZY];
	unsigned int nlazy;
	uint64_t vm_frames;		/* frames in F_VM */
	uint64_t vm_purges, vm_map_calls, vm_unmap_calls;	/* what the counters must say */
	uint32_t area_serial;
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

/* src/vmap_area.h VM_INLINE_PAGES: an area this small keeps its page array inside itself. */
#define FZ_VM_INLINE_PAGES 4

/*
 * Frames the live areas' page arrays take: a few pages' array lives in
 * the area, one that fits in a page in a frame of the instance (the
 * kernel's kmalloc() of it), a larger one in metadata (kvmalloc()'s
 * fallback). Such a frame has no holder the model knows: it is one of the
 * F_OTHER frames.
 */
static uint64_t vm_meta(const struct fz *f)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < MAX_AREA; i++)
		n += f->area[i].live && f->area[i].nr > FZ_VM_INLINE_PAGES &&
		     f->area[i].nr * sizeof(struct pmm_page *) <= f->psize;
	return n;
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

/*
 * The page pointers of FZ_BAD_FAKE_PAGE and FZ_BAD_GATHER_FOREIGN, the
 * address of FZ_BAD_EXACT_FOREIGN, and a poison for out parameters that a
 * failing call must set to NULL.
 */
static _Alignas(64) unsigned char fake[128];

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

/*
 * Could the mm side have freed frames since the last mm_derive()? Outside
 * address-space calls only the deferred split (a shrinker under allocation
 * pressure) and an LRU add batch drained by someone else release any.
 */
static bool mm_released(struct fz *f)
{
	struct pmm_stats st;

	if (!f->mm_used)
		return false;
	pmm_stats_get(f->pmm, &st);
	return st.split_freed != f->dstats.split_freed || st.lru_add != f->dstats.lru_add;
}

/*
 * Claim [pfn, pfn + n) for @hi: every frame must be free in the model, or
 * an mm-side frame that the mm side may have let go during this operation
 * (the next mm_derive() fails if an mm still maps it).
 */
static bool take(struct fz *f, int hi, pmm_pfn_t pfn, unsigned long n, int ref_head,
		 int ref_rest, const char *what)
{
	int zone = -1;
	int released = -1;

	for (unsigned long i = 0; i < n; i++) {
		struct frame *x = frm(f, pfn + i);

		if (x && (x->state == F_MM || x->state == F_OTHER) && released < 0)
			released = mm_released(f);
		if (!x || (x->state != F_FREE && !((x->state == F_MM || x->state == F_OTHER) && released))) {
			fz_fail(f, "%s returned pfn %#llx (%lu frames from %#llx), which the model says is %s",
				what, (unsigned long long)(pfn + i), n, (unsigned long long)pfn,
				!x ? "outside the instance" : x->state == F_HELD ?
				hkind_names[f->h[x->h].kind] : fstate_names[x->state]);
			return false;
		}
		if (x->state != F_FREE)
			vlog(f, "%s returned pfn %#llx, %s at the last look (since released)", what,
			     (unsigned long long)(pfn + i), fstate_names[x->state]);
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
	struct pmm_vmalloc_stats vst;
	struct pmm_mm_stats mst[MAX_MM];
	unsigned long reports, swapcache;
};

static void snap_take(struct fz *f, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned int z = 0; z < f->nzones; z++)
		pmm_zone_info(f->pmm, z, &s->zi[z]);
	pmm_stats_get(f->pmm, &s->st);
	pmm_vmalloc_stats(f->pmm, &s->vst);
	for (unsigned int i = 0; i < MAX_MM; i++)
		if (f->mm[i].mm)
			pmm_mm_stats_get(f->mm[i].mm, &s->mst[i]);
	s->swapcache = pmm_swapcache_nr(f->pmm);
	s->reports = f->reports;
}

/*
 * A bad input must change nothing but the report counters, and must be
 * reported unless it is refused with an error code (@reported false: the
 * handler checked the code).
 */
static void snap_expect_same(struct fz *f, const struct snap *before, const char *what,
			     bool reported)
{
	struct snap now;

	snap_take(f, &now);
	if (reported && now.reports == before->reports) {
		fz_fail(f, "bad input '%s' was not reported", what);
		return;
	}
	for (unsigned int i = 0; i < MAX_MM; i++)
		if (f->mm[i].mm && memcmp(&now.mst[i], &before->mst[i], sizeof(now.mst[i]))) {
			fz_fail(f, "bad input '%s' changed mm %u (rss %llu -> %llu, vmas %llu -> %llu, "
				"tables %llu -> %llu)", what, f->mm[i].id,
				(unsigned long long)before->mst[i].rss_anon,
				(unsigned long long)now.mst[i].rss_anon,
				(unsigned long long)before->mst[i].nr_vmas,
				(unsigned long long)now.mst[i].nr_vmas,
				(unsigned long long)before->mst[i].pgtable_pages,
				(unsigned long long)now.mst[i].pgtable_pages);
			return;
		}
	if (memcmp(&now.vst, &before->vst, sizeof(now.vst))) {
		fz_fail(f, "bad input '%s' changed the vmalloc window (areas %llu -> %llu, lazy pages "
			"%llu -> %llu, free bytes %llu -> %llu)", what,
			(unsigned long long)before->vst.nr_areas, (unsigned long long)now.vst.nr_areas,
			(unsigned long long)before->vst.lazy_pages, (unsigned long long)now.vst.lazy_pages,
			(unsigned long long)before->vst.free_bytes, (unsigned long long)now.vst.free_bytes);
		return;
	}
	if (now.swapcache != before->swapcache) {
		fz_fail(f, "bad input '%s' changed the swap cache (%lu -> %lu folios)", what,
			before->swapcache, now.swapcache);
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

/* A bad input must be reported and must change nothing but the report counters. */
static void snap_expect_unchanged(struct fz *f, const struct snap *before, const char *what)
{
	snap_expect_same(f, before, what, true);
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

static void mm_derive(struct fz *f);
static void vm_derive_other(struct fz *f);
static void vm_check(struct fz *f);

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
	if (f->mm_used)
		mm_derive(f);
	else if (f->vm_used)
		vm_derive_other(f);
	if (f->failed)
		return;
	freef = pmm_free_frames(f->pmm);
	managed = pmm_managed_frames(f->pmm);
	leaked = pmm_leaked_frames(f->pmm);
	if (freef + f->held + f->vm_frames + f->mm_frames + f->other_frames + leaked != managed) {
		fz_fail(f, "free %llu + held by the model %llu + in vmalloc areas %llu + by the mms %llu "
			"+ other in use %llu + leaked %llu != managed %llu", (unsigned long long)freef,
			(unsigned long long)f->held, (unsigned long long)f->vm_frames,
			(unsigned long long)f->mm_frames, (unsigned long long)f->other_frames,
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

		if (x->state == F_HOLE || x->state == F_MM || x->state == F_OTHER)
			continue;	/* mm_derive() checked the mm side's */
		c = pmm_page_count(f->pages[i]);
		want = x->ref;
		/* A folio's tail reports the folio's count, as Linux's page_count(). */
		if (x->state == F_HELD && f->h[x->h].kind == H_FOLIO)
			want = frm(f, f->h[x->h].pfn)->ref;
		if (c != want) {
			fz_fail(f, "pfn %#llx: refcount %d, model expects %d (%s)",
				(unsigned long long)(f->base + i), c, want,
				x->state == F_FREE ? "free" : x->state == F_VM ?
				(f->area[x->h].vmap ? "vmap area" : "vmalloc area") :
				hkind_names[f->h[x->h].kind]);
			return;
		}
	}
	vm_check(f);
	if (f->failed)
		return;
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

/* Folios the deferred split has split: it frees their unmapped pages as contig chunks. */
static uint64_t stat_splits(struct fz *f)
{
	struct pmm_stats st;

	pmm_stats_get(f->pmm, &st);
	return st.split_folios;
}

/* Chunks of one run (common/contig.h: the contract's greedy chunking). */
static unsigned long run_chunks(struct fz *f, pmm_pfn_t pfn, unsigned long n)
{
	return contig_expected_chunks(pfn, n, f->max_order);
}

/*
 * Does a run have to end before @pfn? At a section boundary (the memmap is
 * only contiguous inside a section), and where the zone or node changes or
 * a region starts: no chunk may cross a zone (issue 7, defect 1).
 */
static bool seg_break(struct fz *f, pmm_pfn_t pfn)
{
	struct frame *x = frm(f, pfn);

	return !x || f->segstart[pfn - f->base];
}

/*
 * Chunks the batched path frees for [start, start + n), where @freed(i)
 * says whether page i reaches zero: runs of such pages, cut where
 * seg_break() says. The per-page path frees no chunks.
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
		while (j < n && freed[j] && !seg_break(f, start + j));
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
		unsigned long seg = 1;

		while (seg < n && !seg_break(f, start + seg))
			seg++;
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
	uint64_t faults = stat_faults(f), chunks, splits;
	unsigned long shrinks;
	struct pmm_page *page;
	void *addr = NULL;
	int hi = make_room(f, p[5]);
	pmm_pfn_t pfn;

	if (hi < 0)
		return;
	chunks = stat_chunks(f);
	shrinks = f->shrinks;
	splits = stat_splits(f);
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
	/*
	 * The unused tail goes back through the batched path (a reclaim run
	 * would count too: ours, or the deferred split freeing split pages).
	 */
	if (f->shrinks == shrinks && stat_splits(f) == splits)
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
		busy |= x->state != F_FREE;
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
 * Address spaces: the mm side of the model
 *
 * The model predicts which window pages each mm maps and what they hold;
 * which frames back them it cannot predict, so mm_derive() reads them with
 * pmm_mm_lookup() after every operation and checks what must hold between
 * the two: every mapped page has a frame, each frame's mapcount is the
 * number of (mm, page) pairs mapping it, a folio maps naturally aligned at
 * one address in every mm of one fork family, RSS, VMAs and page tables
 * per mm, and the contents. Per folio, pmm_folio_info() must match what
 * the model expects of the swap cache (which folios, which entries) and
 * the deferred split queue (which folios), and the refcount is exactly
 * what those holders, the mappings and an LRU add batch make.
 * ------------------------------------------------------------------------ */

static uint64_t va(uint32_t v)
{
	return WIN_BASE + (uint64_t)v * VPAGE;
}

/* A folio lies in one PTE table: pmm_mm_map_anon() refuses orders above PMD_ORDER. */
#define FZ_PMD_ORDER 9

/* The largest folio order pmm_mm_map_anon() accepts: min(pageblock_order, PMD_ORDER). */
static unsigned int mm_max_order(struct fz *f)
{
	return f->pageblock_order < FZ_PMD_ORDER ? f->pageblock_order : FZ_PMD_ORDER;
}

static unsigned int mm_live(struct fz *f)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < MAX_MM; i++)
		n += f->mm[i].mm != NULL;
	return n;
}

/* The (@b mod live)-th live mm, or NULL. */
static struct fz_mm *mm_pick(struct fz *f, unsigned int b)
{
	unsigned int n = mm_live(f);

	if (!n)
		return NULL;
	b %= n;
	for (unsigned int i = 0; i < MAX_MM; i++)
		if (f->mm[i].mm && b-- == 0)
			return &f->mm[i];
	return NULL;
}

static struct fz_mm *mm_free_slot(struct fz *f)
{
	for (unsigned int i = 0; i < MAX_MM; i++)
		if (!f->mm[i].mm)
			return &f->mm[i];
	return NULL;
}

/* Word @i of a page tagged @tag: 0 for a page that was never written (zero-filled). */
static uint64_t vword(uint32_t tag, unsigned int i)
{
	return tag ? ((uint64_t)tag << 32 | i) * 0x9e3779b97f4a7c15ull | 1 : 0;
}

static uint8_t vbyte(uint32_t tag, unsigned int off)
{
	uint64_t w = vword(tag, off / 8);
	uint8_t b[8];

	memcpy(b, &w, sizeof(b));
	return b[off % 8];
}

static void vfill(void *page, uint32_t tag)
{
	uint64_t *w = page;

	for (unsigned int i = 0; i < VPAGE / 8; i++)
		w[i] = vword(tag, i);
}

/* Sampled: the first and last word and two that depend on the tag and @salt. */
static bool vcheck(const void *page, uint32_t tag, uint32_t salt, unsigned int *bad)
{
	const uint64_t *w = page;
	const unsigned int n = VPAGE / 8;
	unsigned int idx[4] = { 0, n - 1, (tag + salt) % n, (salt * 7 + 3) % n };

	for (unsigned int k = 0; k < 4; k++)
		if (w[idx[k]] != vword(tag, idx[k])) {
			*bad = idx[k];
			return false;
		}
	return true;
}

static struct fz_vma *vma_at(struct fz_mm *m, uint32_t v)
{
	for (unsigned int i = 0; i < m->nvma; i++)
		if (v >= m->vma[i].start && v < m->vma[i].end)
			return &m->vma[i];
	return NULL;
}

static bool vma_overlaps(struct fz_mm *m, uint32_t s, uint32_t e)
{
	for (unsigned int i = 0; i < m->nvma; i++)
		if (m->vma[i].start < e && s < m->vma[i].end)
			return true;
	return false;
}

/* The VMA starting first at or after window page @v, or NULL. */
static struct fz_vma *vma_next(struct fz_mm *m, uint32_t v)
{
	struct fz_vma *best = NULL;

	for (unsigned int i = 0; i < m->nvma; i++)
		if (m->vma[i].start >= v && (!best || m->vma[i].start < best->start))
			best = &m->vma[i];
	return best;
}

/* Cut window pages [s, e) out of the VMAs, as pmm_mm_unmap() does. Precondition: a free slot. */
static void vma_cut(struct fz_mm *m, uint32_t s, uint32_t e)
{
	for (unsigned int i = 0; i < m->nvma;) {
		struct fz_vma *x = &m->vma[i];

		if (x->end <= s || x->start >= e) {
			i++;
		} else if (x->start < s && x->end > e) {	/* a hole in the middle */
			struct fz_vma tail = *x;

			tail.start = e;
			x->end = s;
			m->vma[m->nvma++] = tail;
			i++;
		} else if (x->start < s) {
			x->end = s;
			i++;
		} else if (x->end > e) {
			x->start = e;
			i++;
		} else {
			*x = m->vma[--m->nvma];
		}
	}
}

static void vp_map(struct fz_mm *m, uint32_t v)
{
	if (!(m->vp[v] & VP_MAPPED))
		m->nmapped++;
	m->vp[v] = VP_MAPPED;
	m->tag[v] = 0;
}

static void vp_unmap(struct fz_mm *m, uint32_t v)
{
	if (m->vp[v] & VP_MAPPED)
		m->nmapped--;
	m->vp[v] = 0;
	m->tag[v] = 0;
}

/* The window pages of the byte range [addr, addr + len), clipped: false if none. */
static bool win_clip(uint64_t addr, uint64_t len, uint32_t *s, uint32_t *e)
{
	uint64_t lo = addr, hi = addr + len;

	if (hi < lo)
		hi = UINT64_MAX;
	if (lo < WIN_BASE)
		lo = WIN_BASE;
	if (hi > va(WIN_PAGES))
		hi = va(WIN_PAGES);
	if (lo >= hi)
		return false;
	*s = (uint32_t)((lo - WIN_BASE) / VPAGE);
	*e = (uint32_t)((hi - WIN_BASE + VPAGE - 1) / VPAGE);
	return true;
}

/* Nothing may be mapped in window pages [s, e) that the model says is not. */
static void check_unmapped(struct fz *f, struct fz_mm *m, uint32_t s, uint32_t e, const char *what)
{
	for (uint32_t v = s; v < e && !f->failed; v++)
		if (!(m->vp[v] & VP_MAPPED) && pmm_mm_lookup(m->mm, va(v)))
			fz_fail(f, "%s: mm %u maps %#llx, which the model says is not mapped", what, m->id,
				(unsigned long long)va(v));
}

static void tlb_cb(void *arg, uint64_t start, uint64_t end)
{
	struct fz_family *fam = arg;

	fam->tlb_calls++;
	if (start >= end)
		fz_fail(fam->f, "TLB flush callback for the empty range [%#llx, %#llx)",
			(unsigned long long)start, (unsigned long long)end);
}

static void gather_cb(void *arg, uint64_t start, uint64_t end)
{
	struct fz *f = arg;

	(void)start;
	(void)end;
	f->gather_calls++;
}

/* With a TLB-flush callback, every flush the mm counts is one callback. */
static void check_tlb(struct fz *f, struct fz_mm *m, const struct pmm_mm_stats *st0, uint64_t calls0,
		      const char *what)
{
	struct pmm_mm_stats st;
	uint64_t calls = f->fam[m->family].tlb_calls - calls0;

	pmm_mm_stats_get(m->mm, &st);
	if (m->has_cb && calls != st.tlb_flushes - st0->tlb_flushes)
		fz_fail(f, "%s: mm %u counted %llu TLB flushes, the callback ran %llu times", what, m->id,
			(unsigned long long)(st.tlb_flushes - st0->tlb_flushes), (unsigned long long)calls);
}

/* ------------------------------------------------------------------------
 * mm_derive: the frames of the mm side, from the lookups
 * ------------------------------------------------------------------------ */

/* Window page @v of @m is mapped to @page: account its frame and folio. */
static void derive_page(struct fz *f, struct fz_mm *m, uint32_t v, struct pmm_page *page)
{
	pmm_pfn_t pfn = pfn_of(f, page), head;
	struct frame *x = frm(f, pfn);
	struct mframe *mx, *mh;
	unsigned int order;
	uint64_t first;

	if (!x || x->state == F_HOLE || pg(f, pfn) != page) {
		fz_fail(f, "mm %u maps %#llx to pfn %#llx, which is not a managed frame", m->id,
			(unsigned long long)va(v), (unsigned long long)pfn);
		return;
	}
	if (x->state == F_HELD) {
		fz_fail(f, "mm %u maps %#llx to pfn %#llx, which handle %u (%s) holds", m->id,
			(unsigned long long)va(v), (unsigned long long)pfn, x->h,
			hkind_names[f->h[x->h].kind]);
		return;
	}
	mx = &f->mf[pfn - f->base];
	if (x->state != F_MM) {		/* the first page of its folio seen in this pass */
		struct pmm_folio *folio = pmm_page_folio(page);

		order = pmm_folio_order(folio);
		head = pfn_of(f, pmm_folio_page(f->pmm, folio, 0));
		if (order > f->max_order || head > pfn || pfn - head >= (1ull << order) ||
		    (head & ((1ull << order) - 1))) {
			fz_fail(f, "mm %u: pfn %#llx mapped at %#llx lies in a folio of order %u at %#llx",
				m->id, (unsigned long long)pfn, (unsigned long long)va(v), order,
				(unsigned long long)head);
			return;
		}
		for (pmm_pfn_t q = head; q < head + (1ull << order); q++) {
			struct frame *y = frm(f, q);

			if (!y || y->state != F_FREE) {
				fz_fail(f, "mm %u: folio %#llx order %u (mapped at %#llx) overlaps pfn %#llx, "
					"which is %s", m->id, (unsigned long long)head, order,
					(unsigned long long)va(v), (unsigned long long)q,
					!y ? "outside the instance" : y->state == F_HELD ?
					hkind_names[f->h[y->h].kind] : fstate_names[y->state]);
				return;
			}
			y->state = F_MM;
			f->mf[q - f->base].head = (uint32_t)(head - f->base);
			f->mf[q - f->base].maps = 0;
		}
		mh = &f->mf[head - f->base];
		mh->order = (uint8_t)order;
		mh->family = (uint16_t)m->family;
		mh->model = (uint8_t)m->model;
		mh->folio_maps = 0;
		mh->mapped_pages = 0;
		f->mm_frames += 1ull << order;
	}
	mh = &f->mf[mx->head];
	order = mh->order;
	head = f->base + mx->head;
	if (mh->family != m->family) {
		fz_fail(f, "folio %#llx is mapped by mm %u and by another fork family",
			(unsigned long long)head, m->id);
		return;
	}
	/* Every mm of a family maps a page at one address, and a folio naturally aligned. */
	if (mx->maps && mx->vpage != v) {
		fz_fail(f, "pfn %#llx is mapped at %#llx and at %#llx", (unsigned long long)pfn,
			(unsigned long long)va(mx->vpage), (unsigned long long)va(v));
		return;
	}
	first = va(v) / VPAGE - (pfn - head);
	if (first & ((1ull << order) - 1)) {
		fz_fail(f, "mm %u: folio %#llx of order %u maps from %#llx, not aligned to its size",
			m->id, (unsigned long long)head, order, (unsigned long long)(first * VPAGE));
		return;
	}
	mx->vpage = v;
	if (mx->maps++ == 0)
		mh->mapped_pages++;
	mh->folio_maps++;
	m->pfn[v] = pfn;
	if (f->backed) {
		const void *a = pmm_page_address(f->pmm, page);
		unsigned int bad;

		if (!a || !vcheck(a, m->tag[v], v, &bad))
			fz_fail(f, "mm %u: page %#llx (pfn %#llx) word %u is %#llx, the model's content "
				"(tag %u) has %#llx", m->id, (unsigned long long)va(v),
				(unsigned long long)pfn, a ? bad : 0,
				a ? (unsigned long long)((const uint64_t *)a)[bad] : 0ull, m->tag[v],
				(unsigned long long)vword(m->tag[v], a ? bad : 0));
	}
}

/* The node whose LRU and deferred split queue the folio at frame @i uses. */
static unsigned int frame_nid(struct fz *f, unsigned long i)
{
	return (unsigned int)f->fresh[f->fr[i].zone].nid;
}

/*
 * A frame in use that no holder the model knows accounts for (a page
 * table, a folio whose last mapping went while an LRU add batch holds it):
 * in neither the swap cache (its last unmapper took it out) nor a split
 * queue nor an LRU list; an anonymous folio there is the batch's alone.
 */
static void check_other(struct fz *f, unsigned long i)
{
	struct pmm_page *page = f->pages[i];
	struct pmm_folio_info fi;

	if (pmm_folio_page(f->pmm, pmm_page_folio(page), 0) != page)
		return;		/* one look per folio, at its head */
	if (pmm_folio_info(f->pmm, page, &fi)) {
		fz_fail(f, "pfn %#llx has references, but pmm_folio_info() says it is not allocated",
			(unsigned long long)(f->base + i));
		return;
	}
	if (fi.swapcache || fi.deferred_split || fi.lru || (fi.anon && fi.refcount != 1))
		fz_fail(f, "folio %#llx (order %u, %s) is mapped by no mm but has %d references, "
			"swap cache %d, split queue %d, LRU %d (an unmapped anonymous folio may only "
			"wait in an LRU add batch)", (unsigned long long)(f->base + i), fi.order,
			fi.anon ? "anonymous" : "not anonymous", fi.refcount, fi.swapcache,
			fi.deferred_split, fi.lru);
}

/* Per node: what the folios of the mm side put on the LRU lists and the split queues. */
struct node_sums {
	uint64_t lru_pages, lru_folios, queued;
};

/*
 * The mapped folio whose head is frame @i against pmm_folio_info() and the
 * model's expectations, which it then carries on:
 *  - swap cache: a folio stays in it (same entry) as long as it is mapped
 *    and no write reused it; a page of a cached folio that stayed mapped
 *    when the folio split is an order-0 folio in the cache with entry
 *    first + index (kernel __split_huge_page());
 *  - deferred split queue (order >= 2 only): per page, exactly while some
 *    page is unmapped; per folio, from the first removal that leaves fewer
 *    mappings than pages until it splits (a fork may raise the count
 *    again, the folio stays queued);
 *  - refcount: one per mapping, 2^order for the swap cache, one for the
 *    split queue, one while it waits in an LRU add batch (off the LRU).
 * A folio is the one of the previous mm_derive() if the same frame was its
 * head with the same order: nothing frees a mapped folio and maps another
 * there within one operation.
 */
static void check_folio(struct fz *f, unsigned long i, struct node_sums *ns)
{
	struct mframe *mh = &f->mf[i];
	struct pmm_page *page = f->pages[i];
	unsigned long nr = 1ul << mh->order;
	bool same = mh->pv_head && mh->pv_forder == mh->order + 1;
	bool split = !mh->order && mh->pv_forder > 1 && mh->pv_maps > 0;
	bool per_page = mh->model == PMM_MAPCOUNT_PER_PAGE;
	uint64_t entry = same || split ? mh->sc_entry : 0;
	bool queued = mh->order >= 2 &&
		      ((same && mh->dq) || (per_page ? mh->mapped_pages : (uint32_t)mh->folio_maps) < nr);
	struct pmm_folio_info fi;
	int c = pmm_page_count(page), want;

	if (pmm_folio_info(f->pmm, page, &fi)) {
		fz_fail(f, "folio %#llx is mapped, but pmm_folio_info() refuses it",
			(unsigned long long)(f->base + i));
		return;
	}
	if (fi.order != mh->order || fi.mapcount != mh->folio_maps || !fi.anon || fi.refcount != c) {
		fz_fail(f, "folio %#llx: pmm_folio_info() says order %u, mapcount %d, anon %d, refcount "
			"%d; the model has order %u, %d mappings, and pmm_page_count() is %d",
			(unsigned long long)(f->base + i), fi.order, fi.mapcount, fi.anon, fi.refcount,
			mh->order, mh->folio_maps, c);
		return;
	}
	if (fi.swapcache != (entry != 0) || (entry && fi.swap_entry != entry)) {
		fz_fail(f, "folio %#llx (order %u%s) is %sin the swap cache (entry %llu); the model "
			"expects it %s (entry %llu)", (unsigned long long)(f->base + i), mh->order,
			split ? ", a page that stayed mapped when its folio split" : "",
			fi.swapcache ? "" : "not ", (unsigned long long)fi.swap_entry,
			entry ? "there" : "out", (unsigned long long)entry);
		return;
	}
	if (fi.deferred_split != queued) {
		fz_fail(f, "folio %#llx (order %u, %s mapcounts, %u of its pages mapped, %d mappings%s) "
			"is %son the deferred split queue, the model expects %s",
			(unsigned long long)(f->base + i), mh->order, per_page ? "per-page" : "per-folio",
			mh->mapped_pages, mh->folio_maps, same && mh->dq ? ", queued before" : "",
			fi.deferred_split ? "" : "not ", queued ? "it there" : "it not");
		return;
	}
	want = mh->folio_maps + (fi.swapcache ? (int)nr : 0) + fi.deferred_split + !fi.lru;
	if (c != want) {
		fz_fail(f, "folio %#llx (order %u): refcount %d; its %d mappings, the swap cache's %d, "
			"the split queue's %d and an LRU add batch's %d make %d",
			(unsigned long long)(f->base + i), mh->order, c, mh->folio_maps,
			fi.swapcache ? (int)nr : 0, fi.deferred_split, !fi.lru, want);
		return;
	}
	for (unsigned long q = i; q < i + nr; q++)
		f->mf[q].sc_entry = entry ? entry + (q - i) : 0;
	mh->dq = queued;
	f->sc_folios += entry != 0;
	f->dq_folios += queued;
	ns[frame_nid(f, i)].queued += queued;
	if (fi.lru) {
		ns[frame_nid(f, i)].lru_pages += nr;
		ns[frame_nid(f, i)].lru_folios++;
	}
}

/*
 * Every frame after the lookups: mapcounts of the mm side's pages (per
 * page, or the folio's total for a large folio counting per folio, as
 * mainline's page_mapcount()), each of its folios (check_folio()), the
 * frames nobody known holds (check_other()); then per node the LRU and the
 * split queue, and the swap cache's size.
 */
static void derive_folios(struct fz *f)
{
	struct node_sums ns[PMM_MAX_NODES];
	unsigned long nr_sc;

	memset(ns, 0, sizeof(ns));
	for (unsigned long i = 0; i < f->span && !f->failed; i++) {
		struct mframe *mx = &f->mf[i], *mh;
		bool per_folio;
		int got, want;

		if (f->fr[i].state != F_MM) {
			mx->sc_entry = 0;
			mx->dq = false;
			if (f->fr[i].state == F_OTHER)
				check_other(f, i);
			continue;
		}
		mh = &f->mf[mx->head];
		per_folio = mh->order && mh->model == PMM_MAPCOUNT_FOLIO;
		got = pmm_page_mapcount(f->pages[i]);
		want = per_folio ? mh->folio_maps : mx->maps;
		if (got != want) {
			fz_fail(f, "pfn %#llx: mapcount %d, but %d (mm, page) pairs map %s",
				(unsigned long long)(f->base + i), got, want, per_folio ? "its folio" : "it");
			return;
		}
		if (mx->head == i)
			check_folio(f, i, ns);
	}
	for (unsigned int n = 0; n < f->nr_nodes && !f->failed; n++) {
		struct pmm_node_info ni;

		if (pmm_node_info(f->pmm, (int)n, &ni))
			continue;
		if (ni.deferred_split != ns[n].queued || ni.lru_pages != ns[n].lru_pages ||
		    ni.lru_inactive_anon + ni.lru_active_anon != ns[n].lru_folios)
			fz_fail(f, "node %u: %llu folios queued for deferred split, %llu on the LRU with "
				"%llu pages; pmm_folio_info() of the mms' folios there gives %llu, %llu, %llu",
				n, (unsigned long long)ni.deferred_split,
				(unsigned long long)(ni.lru_inactive_anon + ni.lru_active_anon),
				(unsigned long long)ni.lru_pages, (unsigned long long)ns[n].queued,
				(unsigned long long)ns[n].lru_folios, (unsigned long long)ns[n].lru_pages);
	}
	nr_sc = pmm_swapcache_nr(f->pmm);
	if (!f->failed && nr_sc != f->sc_folios)
		fz_fail(f, "pmm_swapcache_nr() = %lu; the model has %lu cached folios, all mapped",
			nr_sc, f->sc_folios);
}

/*
 * Rebuild F_MM and F_OTHER from the address spaces and check them (see the
 * section comment). Every frame not held by a handle or mapped is free if
 * its refcount is 0 and F_OTHER if not.
 */
static void mm_derive(struct fz *f)
{
	pmm_stats_get(f->pmm, &f->dstats);
	f->mm_frames = f->other_frames = f->pgtables = 0;
	f->sc_folios = f->dq_folios = 0;
	for (unsigned long i = 0; i < f->span; i++) {
		struct mframe *mx = &f->mf[i];
		bool was = f->fr[i].state == F_MM;

		/* This loop changes no head's order: mf[head].order is still the previous pass's. */
		mx->pv_maps = was ? mx->maps : 0;
		mx->pv_head = was && mx->head == i;
		mx->pv_forder = was ? (uint8_t)(f->mf[mx->head].order + 1) : 0;
		if (f->fr[i].state == F_MM || f->fr[i].state == F_OTHER)
			f->fr[i].state = F_FREE;
		mx->maps = 0;
	}
	for (unsigned int k = 0; k < MAX_MM && !f->failed; k++) {
		struct fz_mm *m = &f->mm[k];
		struct pmm_mm_stats st;

		if (!m->mm)
			continue;
		pmm_mm_stats_get(m->mm, &st);
		if (st.rss_anon != m->nmapped || st.pgtable_pages < 1 || st.nr_vmas != m->nvma) {
			fz_fail(f, "mm %u: rss_anon %llu, %llu VMAs, %llu page tables; the model maps %lu "
				"pages in %u VMAs (and there is always a root table)", m->id,
				(unsigned long long)st.rss_anon, (unsigned long long)st.nr_vmas,
				(unsigned long long)st.pgtable_pages, m->nmapped, m->nvma);
			return;
		}
		f->pgtables += st.pgtable_pages;
		for (uint32_t v = 0; v < WIN_PAGES && !f->failed; v++) {
			struct pmm_page *page;

			if (!(m->vp[v] & VP_MAPPED)) {
				/* A sample of the unmapped pages (RSS catches the rest). */
				if ((v + (uint32_t)f->op) % 61 == 0 && pmm_mm_lookup(m->mm, va(v)))
					fz_fail(f, "mm %u maps %#llx, which the model says is not mapped",
						m->id, (unsigned long long)va(v));
				continue;
			}
			page = pmm_mm_lookup(m->mm, va(v));
			if (!page) {
				fz_fail(f, "mm %u: %#llx is mapped in the model, pmm_mm_lookup() finds nothing",
					m->id, (unsigned long long)va(v));
				return;
			}
			derive_page(f, m, v, page);
		}
	}
	if (f->failed)
		return;
	for (unsigned long i = 0; i < f->span; i++)
		if (f->fr[i].state == F_FREE && pmm_page_count(f->pages[i])) {
			f->fr[i].state = F_OTHER;
			f->other_frames++;
		}
	derive_folios(f);
	if (!f->failed && f->other_frames < f->pgtables + vm_meta(f))
		fz_fail(f, "the mms count %llu page tables and the vmalloc areas %llu page arrays in "
			"frames, but only %llu frames are in use without a known holder",
			(unsigned long long)f->pgtables, (unsigned long long)vm_meta(f),
			(unsigned long long)f->other_frames);
}

/* After pmm_lru_add_drain(): nothing pending, every folio of the mm side on its node's LRU. */
static void check_drained(struct fz *f, const char *what)
{
	uint64_t frames[PMM_MAX_NODES] = { 0 }, folios = 0, lru_folios = 0;

	if (f->other_frames != f->pgtables + vm_meta(f)) {
		fz_fail(f, "%s: %llu frames in use without a known holder besides the %llu page "
			"tables and %llu vmalloc page arrays", what,
			(unsigned long long)(f->other_frames - f->pgtables - vm_meta(f)),
			(unsigned long long)f->pgtables, (unsigned long long)vm_meta(f));
		return;
	}
	for (unsigned long i = 0; i < f->span; i++)
		if (f->fr[i].state == F_MM) {
			frames[f->fresh[f->fr[i].zone].nid]++;
			folios += f->mf[i].head == i;
		}
	for (unsigned int n = 0; n < f->nr_nodes; n++) {
		struct pmm_node_info ni;

		if (pmm_node_info(f->pmm, (int)n, &ni))
			continue;
		lru_folios += ni.lru_inactive_anon + ni.lru_active_anon;
		if (ni.lru_pages != frames[n]) {
			fz_fail(f, "%s: node %u's LRU holds %llu pages, the mms' folios there have %llu",
				what, n, (unsigned long long)ni.lru_pages, (unsigned long long)frames[n]);
			return;
		}
	}
	if (lru_folios != folios)
		fz_fail(f, "%s: %llu folios on the LRU lists, the mm side has %llu", what,
			(unsigned long long)lru_folios, (unsigned long long)folios);
}

/* ------------------------------------------------------------------------
 * Address-space operations
 * ------------------------------------------------------------------------ */

/*
 * A new mm in a free slot. On the 64k-pages layout it must be refused with
 * -PMM_ENOTSUP. Return: the slot, or NULL (refused, out of memory, no slot).
 */
static struct fz_mm *mm_create(struct fz *f, unsigned int gather, unsigned int model, bool cb,
			       bool defaults)
{
	struct fz_mm *m = mm_free_slot(f);
	struct pmm_mm_config cfg;
	pmm_mm_t *mm = (pmm_mm_t *)(void *)fake;	/* must come back NULL on failure */
	uint64_t faults = stat_faults(f);
	int rc;

	if (!m || f->nfamilies == MAX_FAMILIES)
		return NULL;
	pmm_mm_config_init(&cfg);
	if (!defaults) {
		cfg.gather = (enum pmm_gather_mode)gather;
		cfg.mapcount = (enum pmm_mapcount_model)model;
		if (cb) {
			cfg.tlb_flush = tlb_cb;
			cfg.tlb_arg = &f->fam[f->nfamilies];
		}
	}
	rc = pmm_mm_create(f->pmm, defaults ? NULL : &cfg, &mm);
	vlog(f, "mm_create(%s, gather %u, mapcount %u%s) = %d", defaults ? "defaults" : "config",
	     cfg.gather, cfg.mapcount, cfg.tlb_flush ? ", TLB callback" : "", rc);
	if (!f->mm_ok) {
		if (rc != -PMM_ENOTSUP || mm)
			fz_fail(f, "pmm_mm_create with %zu-byte pages = %d (mm %p), not -PMM_ENOTSUP",
				f->psize, rc, (void *)mm);
		return NULL;
	}
	if (rc == -PMM_ENOMEM && !mm) {
		if (stat_faults(f) == faults) {
			f->mm_used = true;
			mm_derive(f);
			check_alloc_failure(f, 0, PMM_GFP_KERNEL, -1, "pmm_mm_create's root table");
		}
		return NULL;
	}
	if (rc || !mm) {
		fz_fail(f, "pmm_mm_create = %d (%s), mm %p", rc, pmm_strerror(rc), (void *)mm);
		return NULL;
	}
	memset(m, 0, sizeof(*m));
	m->mm = mm;
	m->id = ++f->mm_serial;
	m->family = f->nfamilies++;
	m->gather = cfg.gather;
	m->model = cfg.mapcount;
	m->has_cb = cfg.tlb_flush != NULL;
	f->fam[m->family].f = f;
	f->fam[m->family].tlb_calls = 0;
	f->mm_used = true;
	return m;
}

/*
 * pmm_mm_map_anon of window pages [s, s + len) and the model's update:
 * -PMM_EINVAL over another VMA, -PMM_ENOMEM only when populating (or an
 * injected metadata failure), with nothing mapped then. Return: the call's
 * result, or 1 when the model has no room for another VMA (not issued).
 */
static int mm_map(struct fz *f, struct fz_mm *m, uint32_t s, uint32_t len, unsigned int order,
		  unsigned int flags)
{
	uint64_t faults = stat_faults(f), calls = f->fam[m->family].tlb_calls;
	struct pmm_mm_stats st0;
	bool overlap;
	int rc;

	s %= WIN_PAGES;
	if (len > WIN_PAGES - s)
		len = WIN_PAGES - s;
	if (!len)
		len = 1;
	if (m->nvma >= MAX_VMA - 1)
		return 1;
	overlap = vma_overlaps(m, s, s + len);
	pmm_mm_stats_get(m->mm, &st0);
	rc = pmm_mm_map_anon(m->mm, va(s), (uint64_t)len * VPAGE, order, flags);
	vlog(f, "mm %u: map_anon(%#llx, %u pages, order %u,%s%s) = %d%s", m->id,
	     (unsigned long long)va(s), len, order, (flags & PMM_MAP_WRITE) ? " write" : " read-only",
	     (flags & PMM_MAP_POPULATE) ? " populate" : "", rc, overlap ? " (overlaps a VMA)" : "");
	if (overlap) {
		if (rc != -PMM_EINVAL)
			fz_fail(f, "mm %u: map_anon over a VMA = %d, not -PMM_EINVAL", m->id, rc);
		return rc;
	}
	if (rc == -PMM_ENOMEM) {
		if (!(flags & PMM_MAP_POPULATE) && stat_faults(f) == faults)
			fz_fail(f, "mm %u: map_anon without POPULATE = -PMM_ENOMEM, and no failure was "
				"injected", m->id);
		check_unmapped(f, m, s, s + len, "a failed map_anon");
		check_tlb(f, m, &st0, calls, "a failed map_anon");
		return rc;
	}
	if (rc) {
		fz_fail(f, "mm %u: map_anon(%#llx, %u pages, order %u) = %d (%s)", m->id,
			(unsigned long long)va(s), len, order, rc, pmm_strerror(rc));
		return rc;
	}
	m->vma[m->nvma++] = (struct fz_vma){ s, s + len, order, flags & PMM_MAP_WRITE };
	if (flags & PMM_MAP_POPULATE)
		for (uint32_t v = s; v < s + len; v++)
			vp_map(m, v);
	check_tlb(f, m, &st0, calls, "map_anon");
	return 0;
}

/* A live mm for an operation, made (and given a VMA, if @need_vma) when there is none. */
static struct fz_mm *mm_need(struct fz *f, uint8_t b, bool need_vma)
{
	struct fz_mm *m = mm_pick(f, b);

	if (!m)
		m = mm_create(f, b % 3, (b >> 2) & 1, b & 8, false);
	if (m && need_vma && !m->nvma && !f->failed) {
		mm_map(f, m, (b * 37u) % WIN_PAGES, 1 + b % 32, (b >> 4) % (mm_max_order(f) + 1),
		       PMM_MAP_WRITE | ((b & 0x40) ? PMM_MAP_POPULATE : 0));
		if (!f->failed)
			mm_derive(f);	/* the callers read the frames of what it populated */
	}
	return m && (!need_vma || m->nvma) && !f->failed ? m : NULL;
}

/* Page counts of MM_MAP: a few pages up to 4 MiB. */
static uint32_t map_len(uint8_t a, uint8_t b)
{
	switch (a >> 6) {
	case 0:
		return 1 + a % 16;
	case 1:
		return 1 + a % 64;
	case 2:
		return 1 + (a | (uint32_t)b << 8) % 512;
	default:
		return 256 * (1 + a % 4);
	}
}

static void fz_op_MM_CREATE(struct fz *f, const uint8_t *p)
{
	if (mm_live(f) == MAX_MM || !mm_create(f, p[0] % 3, p[1] & 1, p[2] & 1, (p[2] & 6) == 6)) {
		pmm_fuzz_counts.fail[FZ_MM_CREATE]++;
		return;
	}
	pmm_fuzz_counts.ok[FZ_MM_CREATE]++;
}

static void fz_op_MM_MAP(struct fz *f, const uint8_t *p)
{
	struct fz_mm *m = mm_need(f, p[0], false);
	uint32_t s = (p[1] | (uint32_t)p[2] << 8) % WIN_PAGES;
	unsigned int order = p[4] % (mm_max_order(f) + 1);
	unsigned int flags = ((p[5] & 1) ? PMM_MAP_WRITE : 0) | ((p[5] & 2) ? PMM_MAP_POPULATE : 0);

	if (m && (p[6] & 1))
		s &= ~((1u << order) - 1);	/* aligned: room for whole folios */
	if (!m || mm_map(f, m, s, map_len(p[3], p[6]), order, flags)) {
		pmm_fuzz_counts.fail[FZ_MM_MAP]++;
		return;
	}
	pmm_fuzz_counts.ok[FZ_MM_MAP]++;
}

/* The largest order k <= the VMA's whose aligned block around @v fits it unmapped; its first page. */
static unsigned int fresh_order(struct fz_mm *m, const struct fz_vma *vma, uint32_t v, uint32_t *b0)
{
	for (unsigned int k = vma->order;; k--) {
		uint32_t s = v & ~((1u << k) - 1);
		bool ok = s >= vma->start && s + (1u << k) <= vma->end;

		for (uint32_t i = 0; ok && i < (1u << k); i++)
			ok = !(m->vp[s + i] & VP_MAPPED);
		if (ok || !k) {
			*b0 = s;
			return k;
		}
	}
}

/*
 * A fault (or, with @ptrp, an access) at byte @off of window page @v, checked
 * against the model: -PMM_EINVAL outside a VMA or for a write to a
 * read-only one; a new folio of the largest order that fits or a smaller
 * one (the mTHP fallback) for an unmapped page; a copy or a reuse for a
 * write to a write-protected one; nothing for the rest. Access writes a
 * new tag into the page and reads it back through pmm_mm_access().
 */
static int mm_fault_at(struct fz *f, struct fz_mm *m, uint32_t v, unsigned int off, bool write,
		       void **ptrp)
{
	struct fz_vma *vma = vma_at(m, v);
	bool mapped = m->vp[v] & VP_MAPPED, wp = mapped && write && (m->vp[v] & VP_WP);
	bool bad = !vma || (write && !vma->write);
	uint32_t b0 = v;
	unsigned int kmax = 0;
	pmm_pfn_t old = mapped ? m->pfn[v] : 0;
	struct pmm_mm_stats st0, st1;
	uint64_t faults = stat_faults(f), calls = f->fam[m->family].tlb_calls;
	unsigned long sc0 = pmm_swapcache_nr(f->pmm);
	struct pmm_page *page;
	void *ptr = NULL;
	int rc;

	if (!bad && !mapped)
		kmax = fresh_order(m, vma, v, &b0);
	pmm_mm_stats_get(m->mm, &st0);
	if (ptrp) {
		ptr = fake;
		rc = pmm_mm_access(m->mm, va(v) + off, write, &ptr);
	} else {
		rc = pmm_mm_fault(m->mm, va(v) + off, write);
	}
	pmm_mm_stats_get(m->mm, &st1);
	vlog(f, "mm %u: %s(%#llx, %s) = %d; model: %s", m->id, ptrp ? "access" : "fault",
	     (unsigned long long)(va(v) + off), write ? "write" : "read", rc,
	     !vma ? "no VMA" : bad ? "read-only VMA" : !mapped ? "not mapped" :
	     wp ? "write-protected" : "mapped");
	if (bad) {
		if (rc != -PMM_EINVAL || (ptrp && ptr))
			fz_fail(f, "mm %u: %s at %#llx %s = %d, not -PMM_EINVAL", m->id,
				write ? "write" : "read", (unsigned long long)va(v),
				vma ? "in a read-only VMA" : "outside every VMA", rc);
		else if (memcmp(&st0, &st1, sizeof(st0)))
			fz_fail(f, "mm %u: a refused fault changed the mm's counters", m->id);
		return rc;
	}
	if (rc == -PMM_ENOMEM) {
		if (mapped && !wp)
			fz_fail(f, "mm %u: -PMM_ENOMEM for a fault on a mapped page that needs nothing",
				m->id);
		else if (ptrp && ptr)
			fz_fail(f, "mm %u: a failed access gave a pointer", m->id);
		else if (mapped && (page = pmm_mm_lookup(m->mm, va(v))) && pfn_of(f, page) != old)
			fz_fail(f, "mm %u: a failed copy on write changed the page at %#llx", m->id,
				(unsigned long long)va(v));
		check_unmapped(f, m, b0, b0 + (1u << kmax), "a failed fault");
		if (!f->failed && stat_faults(f) == faults) {
			mm_derive(f);
			check_alloc_failure(f, 0, PMM_GFP_MOVABLE, -1, "a fault");
		}
		return rc;
	}
	if (rc) {
		fz_fail(f, "mm %u: %s at %#llx = %d (%s)", m->id, ptrp ? "access" : "fault",
			(unsigned long long)va(v), rc, pmm_strerror(rc));
		return rc;
	}
	if (!mapped) {
		uint32_t lo = UINT32_MAX, hi = 0, n = 0;
		struct pmm_page *firstp;

		for (uint32_t i = b0; i < b0 + (1u << kmax); i++)
			if (pmm_mm_lookup(m->mm, va(i))) {
				lo = i < lo ? i : lo;
				hi = i;
				n++;
			}
		if (!n || hi - lo + 1 != n || (n & (n - 1)) || (lo & (n - 1)) || v < lo || v > hi) {
			fz_fail(f, "mm %u: a fault at %#llx mapped %u pages in [%#llx, %#llx]: not one "
				"aligned block of at most %u pages around it", m->id,
				(unsigned long long)va(v), n, (unsigned long long)va(lo),
				(unsigned long long)va(hi), 1u << kmax);
			return rc;
		}
		firstp = pmm_mm_lookup(m->mm, va(lo));
		if (pmm_folio_order(pmm_page_folio(firstp)) != order_for(n) ||
		    pmm_folio_page(f->pmm, pmm_page_folio(firstp), 0) != firstp) {
			fz_fail(f, "mm %u: a fault mapped %u pages at %#llx from a folio of order %u "
				"starting elsewhere", m->id, n, (unsigned long long)va(lo),
				pmm_folio_order(pmm_page_folio(firstp)));
			return rc;
		}
		for (uint32_t i = 1; i < n; i++)
			if (pfn_of(f, pmm_mm_lookup(m->mm, va(lo + i))) != pfn_of(f, firstp) + i) {
				fz_fail(f, "mm %u: the folio at %#llx is not mapped in pfn order", m->id,
					(unsigned long long)va(lo));
				return rc;
			}
		if (st1.faults != st0.faults + 1 || st1.cow_faults != st0.cow_faults ||
		    st1.fault_fallbacks != st0.fault_fallbacks + (order_for(n) < vma->order))
			fz_fail(f, "mm %u: a fault that mapped an order-%u folio (VMA order %u) counted "
				"%llu faults, %llu fallbacks", m->id, order_for(n), vma->order,
				(unsigned long long)(st1.faults - st0.faults),
				(unsigned long long)(st1.fault_fallbacks - st0.fault_fallbacks));
		for (uint32_t i = lo; i <= hi; i++)
			vp_map(m, i);
	} else {
		pmm_pfn_t now;

		page = pmm_mm_lookup(m->mm, va(v));
		now = page ? pfn_of(f, page) : 0;
		if (!page || (!wp && now != old)) {
			fz_fail(f, "mm %u: a %s fault on a mapped page moved it from pfn %#llx to %#llx",
				m->id, write ? "write" : "read", (unsigned long long)old,
				(unsigned long long)now);
			return rc;
		}
		if (now == old) {
			/*
			 * No copy: nothing counted. A write that reused a write-protected
			 * order-0 page took it out of the swap cache first (kernel
			 * wp_can_reuse_anon_folio()); nothing else changes the cache.
			 */
			unsigned long sc1 = pmm_swapcache_nr(f->pmm);
			struct mframe *mx = &f->mf[old - f->base], *mh = &f->mf[mx->head];
			struct pmm_folio_info fi;

			if (st1.faults != st0.faults || st1.tlb_flushes != st0.tlb_flushes)
				fz_fail(f, "mm %u: a fault that changed no page counted a fault or a flush",
					m->id);
			else if (wp && mh->order == 0 && mx->sc_entry &&
				 !pmm_folio_info(f->pmm, page, &fi) && !fi.swapcache && sc1 + 1 == sc0)
				mx->sc_entry = 0;
			else if (sc1 != sc0)
				fz_fail(f, "mm %u: a fault that reused pfn %#llx changed the swap cache "
					"from %lu to %lu folios", m->id, (unsigned long long)old, sc0, sc1);
		} else {
			if (pmm_folio_order(pmm_page_folio(page)) != 0 ||
			    st1.faults != st0.faults + 1 || st1.cow_faults != st0.cow_faults + 1 ||
			    st1.tlb_flushes != st0.tlb_flushes + 1)
				fz_fail(f, "mm %u: a copy on write gave an order-%u page, counted %llu "
					"faults, %llu copies, %llu flushes", m->id,
					pmm_folio_order(pmm_page_folio(page)),
					(unsigned long long)(st1.faults - st0.faults),
					(unsigned long long)(st1.cow_faults - st0.cow_faults),
					(unsigned long long)(st1.tlb_flushes - st0.tlb_flushes));
		}
		if (write)
			m->vp[v] &= (uint8_t)~VP_WP;
	}
	check_tlb(f, m, &st0, calls, ptrp ? "access" : "fault");
	if (ptrp && !f->failed) {
		char *want;
		void *again = NULL;

		page = pmm_mm_lookup(m->mm, va(v));
		want = page ? (char *)pmm_page_address(f->pmm, page) + off : NULL;
		if (!ptr || ptr != want) {
			fz_fail(f, "mm %u: access(%#llx) gave %p, the page's byte is at %p", m->id,
				(unsigned long long)(va(v) + off), ptr, (void *)want);
			return rc;
		}
		if (write) {
			m->tag[v] = ++f->tag_serial ? f->tag_serial : ++f->tag_serial;
			vfill((char *)ptr - off, m->tag[v]);
			/* Read it back through the mm: the same byte, the same value, no fault. */
			if (pmm_mm_access(m->mm, va(v) + off, false, &again) || again != ptr ||
			    *(uint8_t *)again != vbyte(m->tag[v], off))
				fz_fail(f, "mm %u: the byte written at %#llx does not read back (%p)", m->id,
					(unsigned long long)(va(v) + off), again);
		} else if (*(uint8_t *)ptr != vbyte(m->tag[v], off)) {
			fz_fail(f, "mm %u: byte %#llx reads %#x, the model's content has %#x", m->id,
				(unsigned long long)(va(v) + off), *(uint8_t *)ptr, vbyte(m->tag[v], off));
		}
		*ptrp = ptr;
	}
	return rc;
}

/* MM_FAULT and MM_ACCESS: a page of a VMA (p[3] bit 1) or anywhere in the window. */
static void mm_touch(struct fz *f, const uint8_t *p, bool access)
{
	struct fz_mm *m = mm_need(f, p[0], true);
	enum fz_op op = access ? FZ_MM_ACCESS : FZ_MM_FAULT;
	unsigned int off = (p[5] | (unsigned int)p[6] << 8) & (VPAGE - 1);
	bool write = p[3] & 1;
	void *ptr = NULL;
	uint32_t v;

	if (!m) {
		pmm_fuzz_counts.fail[op]++;
		return;
	}
	if (p[3] & 2) {
		struct fz_vma *vma = &m->vma[p[1] % m->nvma];

		v = vma->start + (p[2] | (uint32_t)p[4] << 8) % (vma->end - vma->start);
	} else {
		v = (p[1] | (uint32_t)p[2] << 8) % WIN_PAGES;
	}
	if (access && !f->backed) {
		int rc;

		ptr = fake;
		rc = pmm_mm_access(m->mm, va(v) + off, write, &ptr);
		vlog(f, "mm %u: access(%#llx) without backing = %d", m->id, (unsigned long long)va(v), rc);
		if (rc != -PMM_ENOTSUP || ptr)
			fz_fail(f, "mm %u: access on an instance without backing = %d (%p), not "
				"-PMM_ENOTSUP and NULL", m->id, rc, ptr);
		pmm_fuzz_counts.fail[op]++;
		return;
	}
	if (mm_fault_at(f, m, v, off, write, access ? &ptr : NULL))
		pmm_fuzz_counts.fail[op]++;
	else
		pmm_fuzz_counts.ok[op]++;
}

static void fz_op_MM_FAULT(struct fz *f, const uint8_t *p)
{
	mm_touch(f, p, false);
}

static void fz_op_MM_ACCESS(struct fz *f, const uint8_t *p)
{
	mm_touch(f, p, true);
}

/* Both sides of a fork write-protect every mapped page: the next write may copy. */
static void mm_wrprotect(struct fz_mm *m)
{
	for (uint32_t v = 0; v < WIN_PAGES; v++)
		if (m->vp[v] & VP_MAPPED)
			m->vp[v] |= VP_WP;
}

static void fz_op_MM_FORK(struct fz *f, const uint8_t *p)
{
	struct fz_mm *par = mm_live(f) < MAX_MM ? mm_need(f, p[0], false) : NULL, *ch;
	pmm_mm_t *child = (pmm_mm_t *)(void *)fake;
	struct pmm_mm_stats st0;
	uint64_t calls;
	int rc;

	if (!par || !(ch = mm_free_slot(f))) {
		pmm_fuzz_counts.fail[FZ_MM_FORK]++;
		return;
	}
	calls = f->fam[par->family].tlb_calls;
	pmm_mm_stats_get(par->mm, &st0);
	rc = pmm_mm_fork(par->mm, &child);
	vlog(f, "mm %u: fork = %d (%lu pages mapped)", par->id, rc, par->nmapped);
	if (rc) {
		if (rc != -PMM_ENOMEM || child)
			fz_fail(f, "mm %u: fork = %d, child %p: not -PMM_ENOMEM and NULL", par->id, rc,
				(void *)child);
		mm_wrprotect(par);	/* what was copied before the failure stays protected */
		pmm_fuzz_counts.fail[FZ_MM_FORK]++;
		return;
	}
	if (!child) {
		fz_fail(f, "mm %u: fork succeeded without a child", par->id);
		return;
	}
	memcpy(ch, par, sizeof(*ch));
	ch->mm = child;
	ch->id = ++f->mm_serial;
	mm_wrprotect(par);
	mm_wrprotect(ch);
	check_tlb(f, par, &st0, calls, "fork");
	pmm_fuzz_counts.ok[FZ_MM_FORK]++;
}

/*
 * A byte range for MM_UNMAP and MM_SWAPCACHE from @p[0..4]: anywhere in the
 * window, inside one VMA (inside its folios), from one VMA into the next,
 * over unmapped space, outside the window, or all of it and more.
 */
static void pick_range(struct fz_mm *m, const uint8_t *p, uint64_t *addr, uint64_t *len)
{
	struct fz_vma *x = m->nvma ? &m->vma[p[1] % m->nvma] : NULL, *next;
	uint32_t s = (p[1] | (uint32_t)p[2] << 8) % WIN_PAGES, n = map_len(p[3], p[4]), e;

	switch (p[0] % 8) {
	case 2:
	case 3:		/* inside one VMA */
		if (!x)
			break;
		s = x->start + (p[2] | (uint32_t)p[4] << 8) % (x->end - x->start);
		n = 1 + p[3] % (x->end - s);
		break;
	case 4:		/* from inside one VMA into the next */
		if (!x || !(next = vma_next(m, x->end)))
			break;
		s = x->start + p[2] % (x->end - x->start);
		e = next->start + 1 + p[3] % (next->end - next->start);
		n = e - s;
		break;
	case 5:		/* over unmapped space: a gap between VMAs */
		for (uint32_t k = 0; k < WIN_PAGES; k++, s = (s + 1) % WIN_PAGES)
			if (!vma_at(m, s))
				break;
		for (n = 1; n < 1u + p[3] % 64 && s + n < WIN_PAGES && !vma_at(m, s + n); n++)
			;
		break;
	case 6:		/* outside the window */
		*addr = (p[2] & 1) ? (0x7f0000000000ull + (uint64_t)p[3] * (2ull << 20))
				   : va(WIN_PAGES) + (uint64_t)p[3] * 8 * VPAGE;
		*len = (1 + p[4] % 64) * VPAGE;
		return;
	case 7:		/* the whole window and beyond */
		*addr = WIN_BASE - (1ull << 20);
		*len = (uint64_t)WIN_PAGES * VPAGE + (2ull << 20);
		return;
	default:
		break;
	}
	if (n > WIN_PAGES - s)
		n = WIN_PAGES - s;
	*addr = va(s);
	*len = (uint64_t)n * VPAGE;
}

static void fz_op_MM_UNMAP(struct fz *f, const uint8_t *p)
{
	struct fz_mm *m = mm_need(f, p[0], true);
	uint64_t addr, len, faults = stat_faults(f), calls;
	struct pmm_mm_stats st0;
	uint32_t s = 0, e = 0;
	unsigned long was;
	int rc;

	if (!m || m->nvma >= MAX_VMA) {
		pmm_fuzz_counts.fail[FZ_MM_UNMAP]++;
		return;
	}
	pick_range(m, p + 1, &addr, &len);
	calls = f->fam[m->family].tlb_calls;
	pmm_mm_stats_get(m->mm, &st0);
	was = m->nmapped;
	rc = pmm_mm_unmap(m->mm, addr, len);
	vlog(f, "mm %u: unmap(%#llx, %llu pages) = %d", m->id, (unsigned long long)addr,
	     (unsigned long long)(len / VPAGE), rc);
	if (rc == -PMM_ENOMEM && stat_faults(f) != faults) {
		pmm_fuzz_counts.fail[FZ_MM_UNMAP]++;
		return;		/* no room to split a VMA: nothing changed */
	}
	if (rc) {
		fz_fail(f, "mm %u: unmap(%#llx, %llu) = %d (%s)", m->id, (unsigned long long)addr,
			(unsigned long long)len, rc, pmm_strerror(rc));
		return;
	}
	if (win_clip(addr, len, &s, &e)) {
		for (uint32_t v = s; v < e; v++)
			vp_unmap(m, v);
		vma_cut(m, s, e);
		check_unmapped(f, m, s, e, "unmap");
	}
	check_tlb(f, m, &st0, calls, "unmap");
	if (was != m->nmapped && m->has_cb && f->fam[m->family].tlb_calls == calls)
		fz_fail(f, "mm %u: unmap cleared %lu PTEs without a TLB flush", m->id, was - m->nmapped);
	pmm_fuzz_counts.ok[FZ_MM_UNMAP]++;
}

/* sc_entry of a head that fz_op_MM_SWAPCACHE() has listed, until the call returns. */
#define SC_LISTED UINT64_MAX

/*
 * pmm_mm_swapcache_add: the folios mapped in the range and not cached yet
 * go in, in address order, each with the next 2^order swap entries (the
 * cache hands entries out once, from 1); an injected metadata failure
 * stops it at one of them, the ones before it in.
 */
static void fz_op_MM_SWAPCACHE(struct fz *f, const uint8_t *p)
{
	struct fz_mm *m = mm_need(f, p[0], true);
	uint64_t addr, len, faults = stat_faults(f);
	uint32_t s = 0, e = 0, *heads, nnew = 0;
	unsigned long nr0, nr1;
	int rc;

	if (!m) {
		pmm_fuzz_counts.fail[FZ_MM_SWAPCACHE]++;
		return;
	}
	pick_range(m, p + 1, &addr, &len);
	heads = calloc(WIN_PAGES, sizeof(*heads));
	if (!heads)
		return;
	if (win_clip(addr, len, &s, &e))
		for (uint32_t v = s; v < e; v++) {
			uint32_t h;

			if (!(m->vp[v] & VP_MAPPED))
				continue;
			h = f->mf[m->pfn[v] - f->base].head;
			if (!f->mf[h].sc_entry) {
				f->mf[h].sc_entry = SC_LISTED;
				heads[nnew++] = h;
			}
		}
	nr0 = pmm_swapcache_nr(f->pmm);
	rc = pmm_mm_swapcache_add(m->mm, addr, len);
	nr1 = pmm_swapcache_nr(f->pmm);
	vlog(f, "mm %u: swapcache_add(%#llx, %llu pages) = %d: %lu -> %lu folios, model adds %u",
	     m->id, (unsigned long long)addr, (unsigned long long)(len / VPAGE), rc, nr0, nr1, nnew);
	if (rc == 0 ? nr1 != nr0 + nnew
		    : rc != -PMM_ENOMEM || stat_faults(f) == faults || nr1 < nr0 || nr1 - nr0 >= nnew) {
		fz_fail(f, "mm %u: swapcache_add = %d took the cache from %lu to %lu folios; the model "
			"has %u new folios in the range", m->id, rc, nr0, nr1, nnew);
		free(heads);
		return;
	}
	for (uint32_t i = 0; i < nnew && !f->failed; i++) {
		uint32_t h = heads[i];
		unsigned long n = 1ul << f->mf[h].order;
		struct pmm_folio_info fi;

		f->mf[h].sc_entry = 0;
		if (i >= nr1 - nr0)
			continue;	/* after the injected failure */
		if (pmm_folio_info(f->pmm, f->pages[h], &fi) || !fi.swapcache ||
		    fi.swap_entry != f->next_entry) {
			fz_fail(f, "mm %u: swapcache_add put folio %#llx (order %u) in the cache with entry "
				"%llu (in it: %d); the model's next entry is %llu", m->id,
				(unsigned long long)(f->base + h), f->mf[h].order,
				(unsigned long long)fi.swap_entry, fi.swapcache,
				(unsigned long long)f->next_entry);
			break;
		}
		for (unsigned long q = 0; q < n; q++)
			f->mf[h + q].sc_entry = f->next_entry + q;
		f->next_entry += n;
	}
	free(heads);
	if (rc)
		pmm_fuzz_counts.fail[FZ_MM_SWAPCACHE]++;
	else
		pmm_fuzz_counts.ok[FZ_MM_SWAPCACHE]++;
}

/* A folio on a deferred split queue before MM_SCAN. */
struct queued {
	uint32_t head;
	uint8_t order;
	uint32_t mapped;	/* its mapped pages */
};

/*
 * pmm_deferred_split_scan(nr): the queues are taken node by node, each
 * folio at most once, and with no mapper busy (nothing runs beside the
 * fuzzer) and every LRU batch drained by the scan itself, every folio
 * taken splits. So exactly min(nr, queued) folios split, node 0's first;
 * it frees exactly their unmapped pages, which the mm side loses; their
 * mapped pages stay, as order-0 folios (mm_derive() checks them, the swap
 * cache's ones included).
 */
static void fz_op_MM_SCAN(struct fz *f, const uint8_t *p)
{
	unsigned long nr = (p[0] & 1) ? 1ul + p[1] % 4 : (unsigned long)-1, got;
	unsigned long nq = 0, left, want_node, split = 0, split_node[PMM_MAX_NODES] = { 0 };
	unsigned long queued_node[PMM_MAX_NODES] = { 0 };
	uint64_t pre, unmapped = 0;
	struct pmm_stats st0, st;
	struct queued *q;

	if (!mm_live(f))
		mm_need(f, p[2], true);	/* something to scan next time; its derive is current */
	if (f->failed)
		return;
	q = calloc(f->span / 4 + 1, sizeof(*q));
	if (!q)
		return;
	for (unsigned long i = 0; f->mm_used && i < f->span; i++)
		if (f->fr[i].state == F_MM && f->mf[i].head == i && f->mf[i].dq) {
			q[nq++] = (struct queued){ (uint32_t)i, f->mf[i].order, f->mf[i].mapped_pages };
			queued_node[frame_nid(f, i)]++;
		}
	pre = f->mm_frames;
	pmm_stats_get(f->pmm, &st0);
	got = pmm_deferred_split_scan(f->pmm, nr);
	vlog(f, "deferred_split_scan(%ld) = %lu; model: %lu folios queued", (long)nr, got, nq);
	if (!f->mm_used) {
		if (got)
			fz_fail(f, "deferred_split_scan freed %lu pages without any address space", got);
		pmm_fuzz_counts.fail[FZ_MM_SCAN]++;
		free(q);
		return;
	}
	mm_derive(f);
	if (f->failed) {
		free(q);
		return;
	}
	/* Which of them split: no longer a folio of that order at that head. */
	for (unsigned long k = 0; k < nq; k++) {
		uint32_t h = q[k].head;

		if (f->fr[h].state == F_MM && f->mf[h].head == h && f->mf[h].order == q[k].order)
			continue;
		split++;
		split_node[frame_nid(f, h)]++;
		unmapped += (1u << q[k].order) - q[k].mapped;
	}
	pmm_stats_get(f->pmm, &st);
	if (pre - f->mm_frames != got || st.split_freed - st0.split_freed != got)
		fz_fail(f, "deferred_split_scan returned %lu, split_freed grew by %llu, the mm side lost "
			"%llu frames", got, (unsigned long long)(st.split_freed - st0.split_freed),
			(unsigned long long)(pre - f->mm_frames));
	else if (split != (nr < nq ? nr : nq) || st.split_folios - st0.split_folios != split ||
		 got != unmapped)
		fz_fail(f, "deferred_split_scan(%ld) split %lu of the %lu queued folios (split_folios "
			"+%llu) and freed %lu pages; their unmapped pages are %llu", (long)nr, split, nq,
			(unsigned long long)(st.split_folios - st0.split_folios), got,
			(unsigned long long)unmapped);
	left = nr;
	for (unsigned int n = 0; n < PMM_MAX_NODES && !f->failed; n++) {
		want_node = left < queued_node[n] ? left : queued_node[n];
		if (split_node[n] != want_node)
			fz_fail(f, "deferred_split_scan(%ld) split %lu folios of node %u's %lu, node by "
				"node gives %lu", (long)nr, split_node[n], n, queued_node[n], want_node);
		left -= want_node;
	}
	free(q);
	pmm_fuzz_counts.ok[FZ_MM_SCAN]++;
}

static void fz_op_MM_DRAIN(struct fz *f, const uint8_t *p)
{
	vlog(f, "lru_add_drain%s", (p[0] & 1) ? " + drain_all_pages" : "");
	pmm_lru_add_drain(f->pmm);
	if (p[0] & 1)
		pmm_drain_all_pages(f->pmm);
	if (f->mm_used) {
		mm_derive(f);
		if (!f->failed)
			check_drained(f, "after pmm_lru_add_drain");
	}
	pmm_fuzz_counts.ok[FZ_MM_DRAIN]++;
}

/*
 * Exit: pmm_mm_destroy_stats() leaves no RSS and no table, and with the
 * callback every TLB flush it counts was one call, at least one if
 * anything was mapped (exit flushes before it frees).
 */
static void mm_destroy(struct fz *f, struct fz_mm *m)
{
	uint64_t calls = f->fam[m->family].tlb_calls;
	struct pmm_mm_stats st0, st;

	vlog(f, "mm %u: destroy (%lu pages mapped, %u VMAs)", m->id, m->nmapped, m->nvma);
	pmm_mm_stats_get(m->mm, &st0);
	pmm_mm_destroy_stats(m->mm, &st);
	m->mm = NULL;
	calls = f->fam[m->family].tlb_calls - calls;
	if (st.rss_anon || st.pgtable_pages || st.tlb_flushes < st0.tlb_flushes + (m->nmapped != 0) ||
	    (m->has_cb && calls != st.tlb_flushes - st0.tlb_flushes))
		fz_fail(f, "mm %u: exit left rss_anon %llu, %llu page tables, and counted %llu TLB "
			"flushes (the callback ran %llu times) for %lu mapped pages", m->id,
			(unsigned long long)st.rss_anon, (unsigned long long)st.pgtable_pages,
			(unsigned long long)(st.tlb_flushes - st0.tlb_flushes), (unsigned long long)calls,
			m->nmapped);
}

/* Once the last mm is gone: nothing of the mm side is left, the swap cache is empty. */
static void check_no_mm(struct fz *f, const char *what)
{
	unsigned long nr_sc;

	mm_derive(f);
	if (f->failed)
		return;
	nr_sc = pmm_swapcache_nr(f->pmm);
	if (f->other_frames != vm_meta(f) || f->mm_frames || f->dq_folios || nr_sc)
		fz_fail(f, "%s: %llu frames still in use by the mm side (besides %llu vmalloc page "
			"arrays) and %llu mapped, %lu folios queued for deferred split, %lu in the swap "
			"cache", what, (unsigned long long)(f->other_frames - vm_meta(f)),
			(unsigned long long)vm_meta(f), (unsigned long long)f->mm_frames,
			f->dq_folios, nr_sc);
	else
		check_drained(f, what);
}

static void fz_op_MM_DESTROY(struct fz *f, const uint8_t *p)
{
	struct fz_mm *m = mm_live(f) ? mm_pick(f, p[0]) : mm_need(f, p[1], true);

	if (!m) {
		pmm_fuzz_counts.fail[FZ_MM_DESTROY]++;
		return;
	}
	mm_destroy(f, m);
	if (!mm_live(f))
		check_no_mm(f, "after destroying the last mm");
	pmm_fuzz_counts.ok[FZ_MM_DESTROY]++;
}

/* ------------------------------------------------------------------------
 * One free across adjacent handles (issue 7, defect 1), the public gather
 * ------------------------------------------------------------------------ */

/* Frames of this family are freed together: RUN and BULK pages hold references, FROZEN none. */
static bool adj_held(struct fz *f, pmm_pfn_t pfn, bool frozen)
{
	struct frame *x = frm(f, pfn);
	enum hkind k;

	if (!x || x->state != F_HELD)
		return false;
	k = f->h[x->h].kind;
	return frozen ? k == H_FROZEN : k == H_RUN || k == H_BULK;
}

/*
 * A frame whose handle differs from the next frame's, both in one family,
 * searched from @b; with @cross only where the zone changes between them.
 */
static bool find_adjacent(struct fz *f, unsigned int b, bool cross, pmm_pfn_t *at, bool *frozen)
{
	for (unsigned long k = 0; k + 1 < f->span; k++) {
		unsigned long i = (b + k) % (f->span - 1);
		struct frame *x = &f->fr[i], *y = &f->fr[i + 1];

		if (x->state != F_HELD || y->state != F_HELD || x->h == y->h || (cross && x->zone == y->zone))
			continue;
		for (int fr = 0; fr < 2; fr++)
			if (adj_held(f, f->base + i, fr) && adj_held(f, f->base + i + 1, fr)) {
				*at = f->base + i;
				*frozen = fr;
				return true;
			}
	}
	return false;
}

/*
 * Two new RUN (or FROZEN) handles on both sides of a zone or node boundary,
 * from pmm_alloc_contig_range(): [*start, b) and [b, *end). False if the
 * frames there are not free or an allocation failed (by injection).
 */
static bool take_boundary_pair(struct fz *f, const uint8_t *p, bool frozen, pmm_pfn_t *start,
			       pmm_pfn_t *end)
{
	pmm_pfn_t b, lo, hi;
	unsigned long k = 1 + p[3] % 48, n = 1 + p[4] % 48;

	if (!f->nbounds)
		return false;
	b = f->bounds[p[1] % f->nbounds];
	/* The free frames next to the boundary, each side in one zone. */
	for (lo = b; lo > b - k && lo > f->base && is_free(f, lo - 1) &&
		     frm(f, lo - 1)->zone == frm(f, b - 1)->zone; lo--)
		;
	for (hi = b; hi < b + n && is_free(f, hi) && frm(f, hi)->zone == frm(f, b)->zone; hi++)
		;
	if (lo == b || hi == b || predict_contig(f, lo, b) || predict_contig(f, b, hi))
		return false;
	for (int side = 0; side < 2; side++) {
		pmm_pfn_t s = side ? b : lo, e = side ? hi : b;
		int hi_new = make_room(f, p[5] + (unsigned int)side);
		uint64_t faults = stat_faults(f);
		int rc;

		if (hi_new < 0)
			return false;
		rc = frozen ? pmm_alloc_contig_frozen_range(f->pmm, s, e, 0)
			    : pmm_alloc_contig_range(f->pmm, s, e, 0);
		vlog(f, "alloc_contig%s_range(%#llx, %#llx) = %d, %s side of the boundary at %#llx",
		     frozen ? "_frozen" : "", (unsigned long long)s, (unsigned long long)e, rc,
		     side ? "upper" : "lower", (unsigned long long)b);
		if (rc && stat_faults(f) != faults)
			return false;
		if (rc) {
			fz_fail(f, "alloc_contig_range(%#llx, %#llx) of free frames = %d",
				(unsigned long long)s, (unsigned long long)e, rc);
			return false;
		}
		f->h[hi_new].kind = frozen ? H_FROZEN : H_RUN;
		f->h[hi_new].pfn = s;
		f->h[hi_new].n = (unsigned long)(e - s);
		if (!take(f, hi_new, s, (unsigned long)(e - s), !frozen, !frozen, "alloc_contig_range"))
			return false;
		write_run(f, hi_new, s, (unsigned long)(e - s));
	}
	*start = lo;
	*end = hi;
	return true;
}

/*
 * From the pair of handles meeting after frame @at: a suffix of the lower
 * handle's live run, then a prefix of the next handle's; with p[0] bit 2
 * and the whole next run taken, on into the runs of up to two more
 * handles. Return: the handles the range [*start, *end) covers.
 */
static unsigned int adjacent_range(struct fz *f, const uint8_t *p, pmm_pfn_t at, bool frozen,
				   pmm_pfn_t *start, pmm_pfn_t *end)
{
	uint16_t ha = frm(f, at)->h;
	unsigned long run = 1;
	unsigned int parts = 1;

	while (at - run >= f->base && held_by(f, at - run, ha))
		run++;
	*start = at + 1 - (1 + p[3] % run);
	*end = at + 1;
	for (int k = 0; k < 3 && adj_held(f, *end, frozen) && frm(f, *end)->h != frm(f, *end - 1)->h; k++) {
		uint16_t hb = frm(f, *end)->h;
		pmm_pfn_t e = *end;

		while (held_by(f, e, hb))
			e++;
		run = (unsigned long)(e - *end);
		if (k == 0 || !(p[0] & 4))
			run = 1 + p[4 + k % 2] % run;
		*end += run;
		parts++;
		if (!(p[0] & 4) || *end != e)
			break;
	}
	return parts;
}

/*
 * FREE_ADJACENT: pages of two or more handles that are adjacent in pfn
 * space (a suffix of one handle's live run, then prefixes of the next
 * handles' runs), freed by ONE pmm_free_contig_range, pmm_free_pages_bulk
 * or, for frozen pages, pmm_free_contig_frozen_range. Such a range may
 * cross a zone or node boundary, which no chunk may (issue 7, defect 1):
 * p[0] bit 0 builds a pair at a boundary first, bit 1 prefers existing
 * pairs across one.
 */
static void fz_op_FREE_ADJACENT(struct fz *f, const uint8_t *p)
{
	pmm_pfn_t at, start, end;
	bool frozen = (p[0] & 1) && (p[5] & 2), bulk = (p[5] & 1) && !frozen, *freed;
	unsigned int parts = 0, zlo, zhi;
	struct pmm_page **arr;
	unsigned long len;
	uint64_t chunks;

	if ((p[0] & 1) && take_boundary_pair(f, p, frozen, &start, &end)) {
		parts = 2;
	} else {
		if (f->failed)
			return;
		if (!find_adjacent(f, p[1] | (unsigned int)p[2] << 8, p[0] & 2, &at, &frozen) &&
		    !((p[0] & 2) && find_adjacent(f, p[1] | (unsigned int)p[2] << 8, false, &at, &frozen))) {
			pmm_fuzz_counts.fail[FZ_FREE_ADJACENT]++;
			return;
		}
		bulk = (p[5] & 1) && !frozen;
		parts = adjacent_range(f, p, at, frozen, &start, &end);
	}
	len = (unsigned long)(end - start);
	freed = calloc(len, sizeof(*freed));
	arr = calloc(len, sizeof(*arr));
	if (!freed || !arr) {
		free(freed);
		free(arr);
		return;
	}
	for (unsigned long i = 0; i < len; i++) {
		freed[i] = frozen || frm(f, start + i)->ref == 1;
		if (freed[i])
			pat_check(f, start + i);
		arr[i] = pg(f, start + i);
	}
	zlo = frm(f, start)->zone;
	zhi = frm(f, end - 1)->zone;
	vlog(f, "%s(%#llx, %lu) over %u handles", frozen ? "free_contig_frozen_range" :
	     bulk ? "free_pages_bulk" : "free_contig_range", (unsigned long long)start, len, parts);
	if (zlo != zhi)
		vlog(f, "  crossing a boundary: zone %u (node %d) -> zone %u (node %d)", zlo,
		     f->fresh[zlo].nid, zhi, f->fresh[zhi].nid);
	chunks = stat_chunks(f);
	if (frozen)
		pmm_free_contig_frozen_range(f->pmm, start, len);
	else if (bulk)
		pmm_free_pages_bulk(f->pmm, arr, len);
	else
		pmm_free_contig_range(f->pmm, start, len);
	check_chunks(f, chunks, expect_chunks(f, start, len, freed), "a free across handles");
	for (unsigned long i = 0; i < len; i++) {
		if (frozen)
			release(f, start + i);
		else
			drop_ref0(f, start + i);
	}
	free(freed);
	free(arr);
	pmm_fuzz_counts.ok[FZ_FREE_ADJACENT]++;
}

/*
 * GATHER: the public mmu_gather in a mode from p[0]: references of held
 * folios (runs of pages of one folio) and order-0 pages handed over with
 * pmm_gather_add, flushed, and dropped by the model.
 */
static void fz_op_GATHER(struct fz *f, const uint8_t *p)
{
	struct { int hi; pmm_pfn_t counted; int refs; } e[16];
	enum pmm_gather_mode mode = (enum pmm_gather_mode)(p[0] % PMM_NR_GATHER_MODES);
	unsigned int ne = 0, want = 1 + p[1] % 12, flushes = 0;
	uint64_t calls = f->gather_calls;
	struct pmm_gather g;

	f->rng = p[2] | (uint32_t)p[3] << 8 | 1u << 16;
	pmm_gather_init(&g, f->pmm, mode, (p[0] & 4) ? gather_cb : NULL, f);
	for (unsigned int k = 0; k < 2 * want && ne < want; k++) {
		int hi = pick(f, M(H_FOLIO) | M(H_BLOCK) | M(H_RUN) | M(H_BULK), rnd(f));
		struct handle *h;
		pmm_pfn_t counted, first;
		int avail;
		unsigned long nr = 1;

		if (hi < 0)
			break;
		h = &f->h[hi];
		if (h->kind == H_BLOCK && h->order)
			continue;	/* a non-compound block is not one folio */
		if (h->kind == H_FOLIO || h->kind == H_BLOCK)
			counted = first = h->pfn;
		else if (!live_frame(f, hi, rnd(f), &counted))
			continue;
		else
			first = counted;
		avail = frm(f, counted)->ref;
		for (unsigned int j = 0; j < ne; j++)
			avail -= e[j].counted == counted ? e[j].refs : 0;
		if (avail <= 0)
			continue;
		if (h->kind == H_FOLIO) {
			unsigned long i = rnd(f) % (1UL << h->order), room = (1UL << h->order) - i;

			nr = 1 + rnd(f) % ((unsigned long)avail < room ? (unsigned long)avail : room);
			first = h->pfn + i;
		}
		pat_check_handle(f, hi);
		flushes += pmm_gather_add(&g, pg(f, first), nr);
		e[ne].hi = hi;
		e[ne].counted = counted;
		e[ne++].refs = (int)nr;
	}
	vlog(f, "gather(mode %u%s): %u entries, %u forced flushes", mode, (p[0] & 4) ? ", callback" : "",
	     ne, flushes);
	if (p[0] & 8)
		pmm_gather_flush(&g);
	pmm_gather_finish(&g);
	for (unsigned int j = 0; j < ne; j++) {
		struct handle *h = &f->h[e[j].hi];

		if (h->kind == H_FOLIO || h->kind == H_BLOCK)
			drop_head(f, e[j].hi, e[j].refs);
		else
			drop_ref0(f, e[j].counted);
	}
	if (ne && (p[0] & 4) && f->gather_calls == calls)
		fz_fail(f, "a gather of %u entries freed them without a TLB flush", ne);
	if (ne)
		pmm_fuzz_counts.ok[FZ_GATHER]++;
	else
		pmm_fuzz_counts.fail[FZ_GATHER]++;
}

/* ------------------------------------------------------------------------
 * vmalloc: areas of the instance's window
 *
 * The model keeps each live area (start, pages, content) and each lazily
 * freed range, and from them predicts what pmm_vmalloc_stats() must say
 * (areas, vmalloc pages, lazy pages, free bytes, the largest free block,
 * purges, map and unmap calls), where a new area may lie (aligned, in the
 * window, clear of every live area with its guard page and of every range
 * not yet purged), when the allocation must purge first (nothing fits
 * beside the lazy ranges) and when it may fail (nothing fits at all, or
 * the zones it may use are short of frames). On MEMFD backing each area's
 * pages carry a pattern written through the area's address and read back
 * through pmm_page_address() of each page; with PMM_BACKING_NONE an area
 * is bookkeeping only and its address is never dereferenced.
 * ------------------------------------------------------------------------ */

/* A range of the window taken by a live area (guard page included) or a lazily freed one. */
struct vm_range {
	uint64_t s, e;
};

static int vm_range_cmp(const void *a, const void *b)
{
	const struct vm_range *x = a, *y = b;

	return x->s < y->s ? -1 : x->s > y->s;
}

static uint64_t area_bytes(const struct fz *f, const struct fz_area *a)
{
	return (uint64_t)(a->nr + 1) * f->psize;
}

static uint64_t lazy_pages(const struct fz *f)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < f->nlazy; i++)
		n += (f->lazy[i].end - f->lazy[i].start) / f->psize;
	return n;
}

/* The live areas' ranges and (@lazy) the unpurged ones, sorted; Return: how many. */
static unsigned int vm_ranges(const struct fz *f, bool lazy, struct vm_range *r)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < MAX_AREA; i++)
		if (f->area[i].live)
			r[n++] = (struct vm_range){ f->area[i].addr,
						    f->area[i].addr + area_bytes(f, &f->area[i]) };
	for (unsigned int i = 0; lazy && i < f->nlazy; i++)
		r[n++] = (struct vm_range){ f->lazy[i].start, f->lazy[i].end };
	qsort(r, n, sizeof(*r), vm_range_cmp);
	return n;
}

/* Runs of touching lazy ranges: the purge tree merges them, a purge unmaps each with one call. */
static unsigned int lazy_runs(const struct fz *f)
{
	struct vm_range r[MAX_LAZY];
	unsigned int n = 0, runs = 0;

	for (unsigned int i = 0; i < f->nlazy; i++)
		r[n++] = (struct vm_range){ f->lazy[i].start, f->lazy[i].end };
	qsort(r, n, sizeof(*r), vm_range_cmp);
	for (unsigned int i = 0; i < n; i++)
		runs += !i || r[i].s != r[i - 1].e;
	return runs;
}

/*
 * Room for @size bytes at @align in the window's free space (without the
 * lazy ranges too, if @lazy). The search (kernel find_vmap_lowest_match())
 * promises to find a free block that holds the area whatever its start
 * costs in alignment, size + align - page bytes: VM_SURE. A smaller block
 * that holds it only thanks to where it starts (VM_MAYBE, alignments above
 * a page) it may miss, as the kernel's does. @largest: the largest free
 * block. Until the first area the model does not know where the window
 * starts, only that it is all free: a fit that depends on it is VM_MAYBE.
 */
enum vm_room { VM_NONE, VM_MAYBE, VM_SURE };

static enum vm_room vm_room(struct fz *f, uint64_t size, uint64_t align, bool lazy,
			    uint64_t *largest)
{
	struct vm_range r[MAX_AREA + MAX_LAZY];
	unsigned int n;
	uint64_t at, big = 0;
	bool fit = false;

	if (!f->win_start) {
		if (largest)
			*largest = f->win_bytes;
		if (size > f->win_bytes)
			return VM_NONE;
		return size + align - f->psize <= f->win_bytes ? VM_SURE : VM_MAYBE;
	}
	n = vm_ranges(f, lazy, r);
	at = f->win_start;
	for (unsigned int i = 0; i <= n; i++) {
		uint64_t end = i < n ? r[i].s : f->win_end;
		uint64_t a = (at + align - 1) & ~(align - 1);

		if (end > at) {
			if (end - at > big)
				big = end - at;
			fit |= a >= at && a < end && end - a >= size;
		}
		if (i < n && r[i].e > at)
			at = r[i].e;
	}
	if (largest)
		*largest = big;
	if (size <= UINT64_MAX - align && big >= size + align - f->psize)
		return VM_SURE;
	return fit ? VM_MAYBE : VM_NONE;
}

/* The window's bounds from an address inside it: the lowest page pmm_is_vmalloc_addr() accepts. */
static void vm_find_window(struct fz *f, uint64_t inside)
{
	uint64_t lo = inside > f->win_bytes ? (inside - f->win_bytes) & ~(uint64_t)(f->psize - 1) : 0;
	uint64_t hi = inside & ~(uint64_t)(f->psize - 1);

	/* pmm_is_vmalloc_addr(lo) is false, (hi) true. */
	while (hi - lo > f->psize) {
		uint64_t mid = lo + ((hi - lo) / f->psize / 2) * f->psize;

		if (pmm_is_vmalloc_addr(f->pmm, (const void *)(uintptr_t)mid))
			hi = mid;
		else
			lo = mid;
	}
	f->win_start = hi;
	f->win_end = hi + f->win_bytes;
	if (!pmm_is_vmalloc_addr(f->pmm, (const void *)(uintptr_t)(f->win_end - 1)) ||
	    pmm_is_vmalloc_addr(f->pmm, (const void *)(uintptr_t)f->win_end) ||
	    pmm_is_vmalloc_addr(f->pmm, (const void *)(uintptr_t)(f->win_start - 1)))
		fz_fail(f, "the vmalloc window found from %#llx, [%#llx, %#llx), is not the %llu bytes "
			"pmm_is_vmalloc_addr() accepts", (unsigned long long)inside,
			(unsigned long long)f->win_start, (unsigned long long)f->win_end,
			(unsigned long long)f->win_bytes);
}

/* A purge released every lazy range: one unmap call per run where areas are mappings. */
static void vm_model_purge(struct fz *f)
{
	if (!f->nlazy)
		return;
	f->vm_purges++;
	if (f->vm_mapped)
		f->vm_unmap_calls += lazy_runs(f);
	f->nlazy = 0;
}

/*
 * After a call that may purge (pmm_vmalloc, pmm_vmap: when the search
 * finds nothing beside the lazy ranges, @room): it must purge if there is
 * no room and something to purge, and must not if there is room it is
 * sure to find; @faulted: an injected failure may have ended it first.
 * Return: whether it purged.
 */
static bool vm_follow_purge(struct fz *f, enum vm_room room, bool faulted, const char *what)
{
	int want = faulted || room == VM_MAYBE ? -1 : room == VM_NONE && f->nlazy;
	struct pmm_vmalloc_stats st;
	bool purged;

	pmm_vmalloc_stats(f->pmm, &st);
	purged = st.purges != f->vm_purges;
	if (want >= 0 && purged != (bool)want)
		fz_fail(f, "%s %s although %s (%u lazily freed ranges, %llu pages)", what,
			purged ? "purged" : "did not purge",
			want ? "nothing fits beside the lazy ranges" :
			"a free block holds it at any alignment offset",
			f->nlazy, (unsigned long long)lazy_pages(f));
	if (purged)
		vm_model_purge(f);
	return purged;
}

/* Runs of consecutive frames in an array of pages: one mmap each. */
static unsigned int pfn_runs(const pmm_pfn_t *pfn, unsigned int n)
{
	unsigned int runs = 0;

	for (unsigned int i = 0; i < n; i++)
		runs += !i || pfn[i] != pfn[i - 1] + 1;
	return runs;
}

/* What word @w of page @i of an area holds: the pattern of its tag, or zero. */
static uint64_t aword(const struct fz_area *a, unsigned int i, size_t w)
{
	return a->tag ? pattern_word(i, a->tag, w) : 0;
}

static uint64_t *area_page(struct fz *f, const struct fz_area *a, unsigned int i)
{
	return (uint64_t *)(uintptr_t)(a->addr + (uint64_t)i * f->psize);
}

/* Write the area's pattern through its address (MEMFD only). */
static void area_write(struct fz *f, struct fz_area *a)
{
	size_t words = f->psize / 8;

	for (unsigned int i = 0; i < a->nr; i++) {
		uint64_t *v = area_page(f, a, i);

		for (size_t w = 0; w < words; w = pattern_next(w, words, PATTERN_SAMPLED))
			v[w] = aword(a, i, w);
	}
	a->known = true;
}

/*
 * The area's content: every page through pmm_page_address() of its frame,
 * and (@all, or a few pages) through the area's address. MEMFD only.
 */
static void area_verify(struct fz *f, int ai, bool all, const char *what)
{
	struct fz_area *a = &f->area[ai];
	size_t words = f->psize / 8;

	if (!f->vm_mapped || !a->known)
		return;
	for (unsigned int i = 0; i < a->nr && !f->failed; i++) {
		const uint64_t *d = pmm_page_address(f->pmm, pg(f, a->pfn[i]));
		const uint64_t *v = area_page(f, a, i);
		bool through = all || i == 0 || i == a->nr - 1 || i == (unsigned int)f->op % a->nr;

		for (size_t w = 0; d && w < words; w = pattern_next(w, words, PATTERN_SAMPLED)) {
			uint64_t want = aword(a, i, w);

			if (d[w] != want || (through && v[w] != want)) {
				fz_fail(f, "%s: %s area %#llx page %u (pfn %#llx) word %zu is %#llx through "
					"the direct map and %#llx through the area, the model has %#llx%s",
					what, a->vmap ? "vmap" : "vmalloc", (unsigned long long)a->addr, i,
					(unsigned long long)a->pfn[i], w, (unsigned long long)d[w],
					(unsigned long long)(through ? v[w] : d[w]),
					(unsigned long long)want, a->tag ? "" : " (zero-filled)");
				return;
			}
		}
		if (!d)
			fz_fail(f, "%s: pfn %#llx of a MEMFD instance has no address", what,
				(unsigned long long)a->pfn[i]);
	}
}

/* The page at offset @off of area @ai must be pmm_vmalloc_to_page()'s, and the guard nothing. */
static void area_lookup(struct fz *f, int ai, unsigned int i, const char *what)
{
	struct fz_area *a = &f->area[ai];
	uint64_t off = (uint64_t)i * f->psize + ((uint64_t)(i * 37u + (unsigned int)f->op) % f->psize);
	struct pmm_page *page = pmm_vmalloc_to_page(f->pmm, (const void *)(uintptr_t)(a->addr + off));
	struct pmm_page *want = i < a->nr ? pg(f, a->pfn[i]) : NULL;

	if (page != want)
		fz_fail(f, "%s: pmm_vmalloc_to_page(%s area %#llx + %#llx) = pfn %#llx, the model has "
			"%s%#llx", what, a->vmap ? "vmap" : "vmalloc", (unsigned long long)a->addr,
			(unsigned long long)off, page ? (unsigned long long)pfn_of(f, page) : 0ull,
			want ? "pfn " : "the guard page, ", want ? (unsigned long long)a->pfn[i] : 0ull);
}

/*
 * After every operation: pmm_vmalloc_stats() against the model, each
 * area's lookups (a sample, the guard page), its content (MEMFD), and
 * that the start of a lazily freed range looks up nothing.
 */
static void vm_check(struct fz *f)
{
	struct pmm_vmalloc_stats st;
	uint64_t vpages = 0, taken = 0, largest = 0;
	unsigned int live = 0;

	if (pmm_vmalloc_stats(f->pmm, &st)) {
		fz_fail(f, "pmm_vmalloc_stats() refused a valid pointer");
		return;
	}
	if (!f->vm_on) {
		struct pmm_vmalloc_stats zero;

		memset(&zero, 0, sizeof(zero));
		if (memcmp(&st, &zero, sizeof(st)))
			fz_fail(f, "an instance without a vmalloc window reports window %llu, %llu areas",
				(unsigned long long)st.window_bytes, (unsigned long long)st.nr_areas);
		return;
	}
	for (unsigned int i = 0; i < MAX_AREA; i++)
		if (f->area[i].live) {
			live++;
			vpages += f->area[i].vmap ? 0 : f->area[i].nr;
			taken += area_bytes(f, &f->area[i]);
		}
	taken += lazy_pages(f) * f->psize;
	vm_room(f, UINT64_MAX, f->psize, true, &largest);
	if (st.window_bytes != f->win_bytes || st.nr_areas != live || st.nr_vmalloc_pages != vpages ||
	    st.lazy_pages != lazy_pages(f) || st.free_bytes != f->win_bytes - taken ||
	    st.largest_free != largest || st.purges != f->vm_purges ||
	    st.map_calls != f->vm_map_calls || st.unmap_calls != f->vm_unmap_calls) {
		fz_fail(f, "pmm_vmalloc_stats: window %llu, %llu areas, %llu vmalloc pages, %llu lazy "
			"pages, %llu free bytes, largest %llu, %llu purges, %llu map and %llu unmap calls; "
			"the model has %llu, %u, %llu, %llu, %llu, %llu, %llu, %llu, %llu",
			(unsigned long long)st.window_bytes, (unsigned long long)st.nr_areas,
			(unsigned long long)st.nr_vmalloc_pages, (unsigned long long)st.lazy_pages,
			(unsigned long long)st.free_bytes, (unsigned long long)st.largest_free,
			(unsigned long long)st.purges, (unsigned long long)st.map_calls,
			(unsigned long long)st.unmap_calls, (unsigned long long)f->win_bytes, live,
			(unsigned long long)vpages, (unsigned long long)lazy_pages(f),
			(unsigned long long)(f->win_bytes - taken), (unsigned long long)largest,
			(unsigned long long)f->vm_purges, (unsigned long long)f->vm_map_calls,
			(unsigned long long)f->vm_unmap_calls);
		return;
	}
	for (int ai = 0; ai < MAX_AREA && !f->failed; ai++) {
		struct fz_area *a = &f->area[ai];

		if (!a->live)
			continue;
		area_lookup(f, ai, 0, "after the operation");
		area_lookup(f, ai, a->nr - 1, "after the operation");
		area_lookup(f, ai, (unsigned int)f->op % a->nr, "after the operation");
		area_lookup(f, ai, a->nr, "after the operation");
		area_verify(f, ai, false, "after the operation");
	}
	for (unsigned int i = 0; i < f->nlazy && !f->failed; i++)
		if (pmm_vmalloc_to_page(f->pmm, (const void *)(uintptr_t)f->lazy[i].start))
			fz_fail(f, "pmm_vmalloc_to_page(%#llx), a freed area's start, finds a page",
				(unsigned long long)f->lazy[i].start);
}

/*
 * Without address spaces (mm_derive() does it otherwise): a frame with
 * references that no holder the model knows accounts for is F_OTHER, and
 * there must be exactly one per live area whose page array fits a frame.
 */
static void vm_derive_other(struct fz *f)
{
	f->other_frames = 0;
	for (unsigned long i = 0; i < f->span; i++) {
		if (f->fr[i].state == F_OTHER)
			f->fr[i].state = F_FREE;
		if (f->fr[i].state == F_FREE && pmm_page_count(f->pages[i])) {
			f->fr[i].state = F_OTHER;
			f->other_frames++;
		}
	}
	if (f->other_frames != vm_meta(f))
		fz_fail(f, "%llu frames are in use without a known holder; the live areas have %llu "
			"page arrays in frames", (unsigned long long)f->other_frames,
			(unsigned long long)vm_meta(f));
}

/* Claim frame @pfn for area @ai: it must have been free (as take() for a handle). */
static bool vm_claim(struct fz *f, int ai, pmm_pfn_t pfn, const char *what)
{
	struct frame *x = frm(f, pfn);
	struct pmm_page *page = pg(f, pfn);

	if (!x || (x->state != F_FREE &&
		   !((x->state == F_MM || x->state == F_OTHER) && mm_released(f)))) {
		fz_fail(f, "%s: page %#llx of the area is pfn %#llx, which the model says is %s", what,
			(unsigned long long)f->area[ai].addr, (unsigned long long)pfn,
			!x ? "outside the instance" : x->state == F_HELD ? hkind_names[f->h[x->h].kind] :
			fstate_names[x->state]);
		return false;
	}
	if (pmm_page_mapcount(page) != 0 || pmm_folio_order(pmm_page_folio(page)) != 0) {
		fz_fail(f, "%s: pfn %#llx has mapcount %d and lies in a folio of order %u", what,
			(unsigned long long)pfn, pmm_page_mapcount(page),
			pmm_folio_order(pmm_page_folio(page)));
		return false;
	}
	x->state = F_VM;
	x->h = (uint16_t)ai;
	x->ref = 1;
	f->vm_frames++;
	return true;
}

/* Frame @pfn of a held order-0 page goes to area @ai with its references (pmm_vmap()). */
static void vm_take_over(struct fz *f, int ai, pmm_pfn_t pfn)
{
	struct frame *x = frm(f, pfn);
	struct handle *h = &f->h[x->h];

	x->state = F_VM;
	x->h = (uint16_t)ai;
	f->held--;
	f->vm_frames++;
	if (--h->live == 0)
		h->kind = H_NONE;
}

/* A free area slot; when all are live, area @b's neighbour is freed first. */
static void vm_free(struct fz *f, int ai, bool vunmap, const char *what);

static int vm_slot(struct fz *f, unsigned int b)
{
	for (int i = 0; i < MAX_AREA; i++)
		if (!f->area[i].live)
			return i;
	vm_free(f, (int)(b % MAX_AREA), false, "pmm_vfree (to make room)");
	check_all(f);
	return f->failed ? -1 : (int)(b % MAX_AREA);
}

/* The live area from slot @b on whose kind @vmap allows (0 vmalloc, 1 vmap, -1 any), or -1. */
static int vm_pick(struct fz *f, unsigned int b, int vmap)
{
	for (unsigned int k = 0; k < MAX_AREA; k++) {
		int i = (int)((b + k) % MAX_AREA);

		if (f->area[i].live && (vmap < 0 || f->area[i].vmap == (bool)vmap))
			return i;
	}
	return -1;
}

/*
 * A new area at @addr, @nr pages (@align): where it lies must be free in
 * the model. Records it in slot @ai with its pages still to fill.
 */
static bool vm_place(struct fz *f, int ai, void *ptr, unsigned int nr, uint64_t align, bool vmap,
		     const char *what)
{
	uint64_t addr = (uintptr_t)ptr, end = addr + (uint64_t)(nr + 1) * f->psize;
	struct fz_area *a = &f->area[ai];
	struct vm_range r[MAX_AREA + MAX_LAZY];
	unsigned int n;

	if (!f->win_start && pmm_is_vmalloc_addr(f->pmm, ptr))
		vm_find_window(f, addr);
	if (f->failed)
		return false;
	if ((addr & (align - 1)) || addr < f->win_start || end > f->win_end || end < addr) {
		fz_fail(f, "%s returned %#llx for %u pages (%llu bytes with the guard, alignment %#llx): "
			"not aligned, or not inside the window [%#llx, %#llx)", what,
			(unsigned long long)addr, nr, (unsigned long long)(end - addr),
			(unsigned long long)align, (unsigned long long)f->win_start,
			(unsigned long long)f->win_end);
		return false;
	}
	n = vm_ranges(f, true, r);
	for (unsigned int i = 0; i < n; i++)
		if (r[i].s < end && addr < r[i].e) {
			fz_fail(f, "%s returned [%#llx, %#llx), which overlaps the taken or unpurged "
				"range [%#llx, %#llx)", what, (unsigned long long)addr,
				(unsigned long long)end, (unsigned long long)r[i].s,
				(unsigned long long)r[i].e);
			return false;
		}
	a->pfn = calloc(nr, sizeof(*a->pfn));
	if (!a->pfn)
		return false;
	a->live = true;
	a->vmap = vmap;
	a->put = false;
	a->known = false;
	a->addr = addr;
	a->nr = nr;
	a->tag = ((uint64_t)++f->area_serial << 32) | 0x5a5au;
	f->nareas++;
	f->vm_used = true;
	return true;
}

/*
 * pmm_vmalloc() failed where the window had room: the zones it may use
 * (@gfp, THISNODE on @only) must be short of frames. Counted generously:
 * above each zone's min watermark, lowmem reserve, highatomic reserve and
 * whatever sits on its pcp lists, there must not be room for the pages
 * and the page array's frame.
 */
static void vm_check_nomem(struct fz *f, unsigned int nr, pmm_gfp_t gfp, int only, const char *what)
{
	uint64_t avail = 0;

	for (unsigned int z = 0; z < f->nzones; z++) {
		struct pmm_zone_info zi;
		uint64_t res, fr;

		if ((gfp & PMM_GFP_DMA32) && f->ztype[z] != PMM_ZONE_DMA32)
			continue;
		if (only >= 0 && f->fresh[z].nid != only)
			continue;
		if (pmm_zone_info(f->pmm, z, &zi) || zi.nr_pageblocks_mt[PMM_MIGRATE_ISOLATE])
			continue;
		res = zi.wmark_min + zi.lowmem_reserve + zi.reserved_highatomic + zi.pcp_pages;
		fr = model_free_in_zone(f, z);
		avail += fr > res ? fr - res : 0;
	}
	if (avail > (uint64_t)nr + 2) {
		uint64_t largest;

		vm_room(f, UINT64_MAX, f->psize, false, &largest);
		fz_fail(f, "%s of %u pages (gfp %#x) failed, but the window has a free block of %llu "
			"bytes (%u live areas, nothing left to purge) and the zones it may use %llu free "
			"frames above their reserves", what, nr, gfp, (unsigned long long)largest,
			f->nareas, (unsigned long long)avail);
	}
}

/*
 * VMALLOC: p[0..1] the size (p[2] bit 0: 1..16 pages, else 1..VM_SIZES;
 * the huge variant 1..VM_HUGE_SIZES), p[3] the bytes past the last whole
 * page, p[2] bits 1-3 the call (vmalloc, vzalloc, huge, node, node_range
 * with an alignment), bit 4 PMM_GFP_THISNODE, bit 5 leaves a zeroed area
 * unwritten; p[4] the gfp (bit 6 adds PMM_GFP_COMP, which vmalloc
 * ignores); p[5] the alignment (low 4 bits) and node (high 4 bits);
 * p[6] which area to free when all slots are taken, and (top 3 bits all
 * set, node_range only) a refused parameter: size 0, an alignment that is
 * not a power of two or below a page, no such node.
 */
static void fz_op_VMALLOC(struct fz *f, const uint8_t *p)
{
	static const char *const call_names[] = { "vmalloc", "vmalloc", "vzalloc", "vmalloc_huge",
						  "vmalloc_node", "vmalloc_node_range",
						  "vmalloc_node_range", "vmalloc_huge" };
	unsigned int v = p[0] | (unsigned int)p[1] << 8, call = (p[2] >> 1) & 7;
	bool huge = call == 3 || call == 7, ranged = call == 5 || call == 6;
	unsigned int nr = (p[2] & 1) ? 1 + v % 16 : 1 + v % (huge ? VM_HUGE_SIZES : VM_SIZES);
	size_t size = (size_t)(nr - 1) * f->psize + 1 + (size_t)p[3] * (f->psize / 256);
	size_t pmd = f->psize << 9, align = ranged ? f->psize << (p[5] & 15) % 11 : 0;
	int nid = (int)((p[5] >> 4) % (f->nr_nodes + 1)) - 1;
	pmm_gfp_t gfp = gfp_of(p[4]) | ((p[4] & 0x40) ? PMM_GFP_COMP : 0) |
			((p[2] & 0x10) ? PMM_GFP_THISNODE : 0);
	bool zero = call == 2 || (gfp & PMM_GFP_ZERO), bad = ranged && (p[6] & 0xe0) == 0xe0;
	int only = (gfp & PMM_GFP_THISNODE) ? thisnode(call == 4 || ranged ? nid : -1) : -1;
	uint64_t faults, guard_bytes, want_align;
	enum vm_room room_free, room_all;
	struct snap before;
	struct fz_area *a;
	void *ptr;
	int ai;

	if (call != 4 && !ranged)
		nid = PMM_NUMA_NO_NODE;
	if (bad) {
		switch (p[6] & 3) {
		case 0:
			size = 0;
			break;
		case 1:
			align = 3 * f->psize;
			break;
		case 2:
			align = f->psize / 2;
			break;
		default:
			nid = PMM_MAX_NODES;
			break;
		}
	}
	want_align = align ? align : f->psize;
	guard_bytes = (uint64_t)(nr + 1) * f->psize;
	ai = f->vm_on ? vm_slot(f, p[6]) : 0;
	if (ai < 0)
		return;
	room_free = vm_room(f, guard_bytes, want_align, true, NULL);
	room_all = vm_room(f, guard_bytes, want_align, false, NULL);
	/*
	 * vmalloc_huge of 2 MiB or more asks for 2 MiB alignment first and,
	 * as the kernel's __vmalloc_node_range(), retries at the page size
	 * when that finds no room (its failed search may have purged). Sure
	 * of 2 MiB room, the area is 2 MiB aligned; otherwise either may
	 * come back and whether it purged is not foreseen.
	 */
	if (huge && size >= pmd && want_align < pmd) {
		if (vm_room(f, guard_bytes, pmd, false, NULL) == VM_SURE) {
			want_align = pmd;
			room_free = vm_room(f, guard_bytes, pmd, true, NULL);
			room_all = VM_SURE;
		} else {
			room_free = VM_MAYBE;
		}
	}
	snap_take(f, &before);
	faults = stat_faults(f);
	switch (call) {
	case 2:
		ptr = pmm_vzalloc(f->pmm, size, gfp);
		break;
	case 3:
	case 7:
		ptr = pmm_vmalloc_huge(f->pmm, size, gfp);
		break;
	case 4:
		ptr = pmm_vmalloc_node(f->pmm, size, gfp, nid);
		break;
	case 5:
	case 6:
		ptr = pmm_vmalloc_node_range(f->pmm, size, align, gfp, nid, "fz-area");
		break;
	default:
		ptr = pmm_vmalloc(f->pmm, size, gfp);
		break;
	}
	vlog(f, "%s(%zu bytes = %u pages, align %#zx, gfp %#x, nid %d) -> %p", call_names[call], size,
	     nr, align, gfp, nid, ptr);
	if (!f->vm_on || bad || nr > pmm_managed_frames(f->pmm)) {
		/* No window (ANON, USER), or a parameter pmm_vmalloc() refuses: NULL, nothing changed. */
		if (ptr)
			fz_fail(f, "%s(%zu bytes, align %#zx, nid %d) succeeded %s", call_names[call],
				size, align, nid, f->vm_on ? "with a parameter it must refuse" :
				"on an instance without a vmalloc window");
		else
			snap_expect_same(f, &before, call_names[call], false);
		pmm_fuzz_counts.fail[FZ_VMALLOC]++;
		return;
	}
	vm_follow_purge(f, room_free, stat_faults(f) != faults, call_names[call]);
	if (f->failed)
		return;
	if (!ptr) {
		pmm_fuzz_counts.fail[FZ_VMALLOC]++;
		/* With room it is sure to find after the purge, only frames can have been short. */
		if (stat_faults(f) == faults && room_all == VM_SURE)
			vm_check_nomem(f, nr, gfp, only, call_names[call]);
		return;
	}
	if (room_all == VM_NONE) {
		fz_fail(f, "%s of %u pages at alignment %#llx succeeded, but the model's window has no "
			"room for it", call_names[call], nr, (unsigned long long)want_align);
		return;
	}
	if (!vm_place(f, ai, ptr, nr, want_align, false, call_names[call]))
		return;
	a = &f->area[ai];
	for (unsigned int i = 0; i < nr; i++) {
		struct pmm_page *page = pmm_vmalloc_to_page(f->pmm, (const char *)ptr +
							    (size_t)i * f->psize + i % f->psize);
		pmm_pfn_t pfn;

		if (!page) {
			fz_fail(f, "%s: pmm_vmalloc_to_page(%p + page %u) = NULL", call_names[call], ptr, i);
			return;
		}
		pfn = pfn_of(f, page);
		a->pfn[i] = pfn;
		if (pg(f, pfn) != page || !vm_claim(f, ai, pfn, call_names[call]))
			return;
		check_gfp_zone(f, pfn, gfp, call_names[call]);
		if (only >= 0 && f->fresh[frm(f, pfn)->zone].nid != only)
			fz_fail(f, "%s with PMM_GFP_THISNODE (node %d) has pfn %#llx of node %d",
				call_names[call], only, (unsigned long long)pfn,
				f->fresh[frm(f, pfn)->zone].nid);
	}
	area_lookup(f, ai, nr, call_names[call]);
	if (pmm_vmalloc_to_page(f->pmm, (const char *)ptr - 1))
		fz_fail(f, "%s: the byte before the area at %p looks up a page", call_names[call], ptr);
	if (f->vm_mapped)
		f->vm_map_calls += pfn_runs(a->pfn, nr);
	if (f->failed)
		return;
	if (zero && f->vm_mapped) {
		a->tag = 0;
		a->known = true;
		area_verify(f, ai, true, call_names[call]);
		if (!(p[2] & 0x20))
			a->tag = ((uint64_t)++f->area_serial << 32) | 0xa5a5u;
	}
	if (f->vm_mapped && a->tag)
		area_write(f, a);
	pmm_fuzz_counts.ok[FZ_VMALLOC]++;
}

/*
 * Free area @ai with pmm_vfree (or pmm_vunmap), checking its content
 * first, and follow it in the model: a vmalloc area's pages are free, one
 * batched contig range per run of consecutive frames; a vmap area's pages
 * lose the reference PMM_VMAP_PUT_PAGES gave it and what is left of them
 * goes to a new BULK handle (or is freed here when no slot is left); the
 * range waits for a purge, which comes now if vmap_lazy_max pages wait.
 */
static void vm_free(struct fz *f, int ai, bool vunmap, const char *what)
{
	struct fz_area *a = &f->area[ai];
	uint64_t chunks = stat_chunks(f);
	unsigned long want = 0;
	int hi = -1;

	area_verify(f, ai, true, what);
	if (f->failed)
		return;
	if (!a->vmap) {
		bool *freed = calloc(a->nr, sizeof(*freed));

		for (unsigned int i = 0; freed && i < a->nr;) {
			unsigned int g = 1;

			while (i + g < a->nr && a->pfn[i + g] == a->pfn[i] + g)
				g++;
			for (unsigned int j = 0; j < g; j++)
				freed[j] = true;
			want += expect_chunks(f, a->pfn[i], g, freed);
			i += g;
		}
		free(freed);
	}
	vlog(f, "%s(%s area %#llx, %u pages%s)", what, a->vmap ? "vmap" : "vmalloc",
	     (unsigned long long)a->addr, a->nr, a->put ? ", put pages" : "");
	if (vunmap)
		pmm_vunmap(f->pmm, (const void *)(uintptr_t)a->addr);
	else
		pmm_vfree(f->pmm, (const void *)(uintptr_t)a->addr);
	check_chunks(f, chunks, want, what);
	if (pmm_vmalloc_to_page(f->pmm, (const void *)(uintptr_t)a->addr))
		fz_fail(f, "%s: the freed area %#llx still looks up a page", what,
			(unsigned long long)a->addr);
	for (unsigned int i = 0; i < a->nr; i++) {
		struct frame *x = frm(f, a->pfn[i]);

		f->vm_frames--;
		if (a->vmap && a->put)
			x->ref--;
		if (!a->vmap || x->ref == 0) {
			x->state = F_FREE;
			x->ref = 0;
			continue;
		}
		if (hi < 0 && (hi = new_handle(f)) >= 0)
			f->h[hi].kind = H_BULK;
		if (hi < 0) {		/* no slot: the caller frees them now */
			put_to_one(f, a->pfn[i]);
			pmm_free_pages_bulk(f->pmm, &f->pages[a->pfn[i] - f->base], 1);
			x->state = F_FREE;
			x->ref = 0;
			continue;
		}
		x->state = F_HELD;
		x->h = (uint16_t)hi;
		f->held++;
		f->h[hi].live++;
		f->h[hi].bulk[f->h[hi].n++] = a->pfn[i];
		pat_write(f, a->pfn[i], f->h[hi].tag);
	}
	if (f->nlazy == MAX_LAZY) {
		fz_fail(f, "the model's list of lazily freed ranges is full");
		return;
	}
	f->lazy[f->nlazy++] = (struct fz_lazy){ a->addr, a->addr + area_bytes(f, a) };
	free(a->pfn);
	a->pfn = NULL;
	a->live = false;
	f->nareas--;
	if (lazy_pages(f) >= f->lazy_max)
		vm_model_purge(f);
}

static void fz_op_VFREE(struct fz *f, const uint8_t *p)
{
	int ai = vm_pick(f, p[0], -1);

	if (ai < 0) {
		pmm_fuzz_counts.fail[FZ_VFREE]++;
		return;
	}
	vm_free(f, ai, false, "pmm_vfree");
	pmm_fuzz_counts.ok[FZ_VFREE]++;
}

static void fz_op_VUNMAP(struct fz *f, const uint8_t *p)
{
	int ai = vm_pick(f, p[0], 1);

	if (ai < 0) {
		pmm_fuzz_counts.fail[FZ_VUNMAP]++;
		return;
	}
	vm_free(f, ai, true, "pmm_vunmap");
	pmm_fuzz_counts.ok[FZ_VUNMAP]++;
}

/*
 * Up to @max held order-0 pages (RUN, BULK, order-0 BLOCK handles) from
 * handle @b on, in @pages / @pfns; p-bits order them: as found, reversed,
 * shuffled. Return: how many.
 */
static unsigned int vm_gather_held(struct fz *f, unsigned int b, unsigned int max, uint8_t how,
				   struct pmm_page **pages, pmm_pfn_t *pfns)
{
	unsigned int n = 0;

	for (int k = 0; k < MAX_H && n < max; k++) {
		int hi = (int)((b + (unsigned int)k) % MAX_H);
		struct handle *h = &f->h[hi];

		if (h->kind == H_BLOCK && !h->order && held_by(f, h->pfn, hi)) {
			pfns[n++] = h->pfn;
			continue;
		}
		if (h->kind != H_RUN && h->kind != H_BULK)
			continue;
		for (unsigned long i = 0; i < h->n && n < max; i++) {
			pmm_pfn_t q = h->kind == H_BULK ? h->bulk[i] : h->pfn + i;

			if (held_by(f, q, hi))
				pfns[n++] = q;
		}
	}
	f->rng = how | 1u << 12;
	if (how % 3 == 1) {
		for (unsigned int i = 0; i < n / 2; i++) {
			pmm_pfn_t t = pfns[i];

			pfns[i] = pfns[n - 1 - i];
			pfns[n - 1 - i] = t;
		}
	} else if (how % 3 == 2) {
		for (unsigned int i = n; i > 1; i--) {
			unsigned int j = rnd(f) % i;
			pmm_pfn_t t = pfns[i - 1];

			pfns[i - 1] = pfns[j];
			pfns[j] = t;
		}
	}
	for (unsigned int i = 0; i < n; i++)
		pages[i] = pg(f, pfns[i]);
	return n;
}

/*
 * VMAP: p[0] how many pages (1..VMAP_MAX), p[1] the first handle to take
 * them from, p[2] their order in the array, p[3] bit 0 PMM_VMAP_PUT_PAGES,
 * p[4] which area to free when all slots are taken. The pages are the
 * area's until it is unmapped: through its address the same bytes as
 * through the direct map, then the area's own pattern.
 */
static void fz_op_VMAP(struct fz *f, const uint8_t *p)
{
	struct pmm_page *pages[VMAP_MAX];
	pmm_pfn_t pfns[VMAP_MAX];
	unsigned int flags = (p[3] & 1) ? PMM_VMAP_PUT_PAGES : 0;
	unsigned int n = vm_gather_held(f, p[1], 1 + p[0] % VMAP_MAX, p[2], pages, pfns);
	uint64_t faults, bytes;
	enum vm_room room_free, room_all;
	struct snap before;
	struct fz_area *a;
	void *ptr;
	int ai;

	if (!n) {
		pmm_fuzz_counts.fail[FZ_VMAP]++;
		return;
	}
	ai = f->vm_on ? vm_slot(f, p[4]) : 0;
	if (ai < 0)
		return;
	/* Making room may have freed some of them: gather again. */
	n = vm_gather_held(f, p[1], 1 + p[0] % VMAP_MAX, p[2], pages, pfns);
	if (!n) {
		pmm_fuzz_counts.fail[FZ_VMAP]++;
		return;
	}
	for (unsigned int i = 0; i < n; i++)
		pat_check(f, pfns[i]);
	bytes = (uint64_t)(n + 1) * f->psize;
	room_free = vm_room(f, bytes, f->psize, true, NULL);
	room_all = vm_room(f, bytes, f->psize, false, NULL);
	snap_take(f, &before);
	faults = stat_faults(f);
	/*
	 * Its page array's frame may reclaim: the shrinker must not free the
	 * handles whose pages it is mapping (the caller keeps them until vunmap).
	 */
	f->in_op = false;
	ptr = pmm_vmap(f->pmm, pages, n, flags);
	f->in_op = true;
	vlog(f, "vmap(%u pages from pfn %#llx%s) -> %p", n, (unsigned long long)pfns[0],
	     flags ? ", PMM_VMAP_PUT_PAGES" : "", ptr);
	if (!f->vm_on) {
		if (ptr)
			fz_fail(f, "pmm_vmap succeeded on an instance without a vmalloc window");
		else
			snap_expect_same(f, &before, "vmap without a window", false);
		pmm_fuzz_counts.fail[FZ_VMAP]++;
		return;
	}
	vm_follow_purge(f, room_free, stat_faults(f) != faults, "pmm_vmap");
	if (f->failed)
		return;
	if (!ptr) {
		pmm_fuzz_counts.fail[FZ_VMAP]++;
		/* With room (page alignment: any fit is sure), only the page array's frame was short. */
		if (stat_faults(f) == faults && room_all == VM_SURE)
			check_alloc_failure(f, 0, PMM_GFP_KERNEL, -1, "pmm_vmap's page array");
		return;
	}
	if (room_all == VM_NONE) {
		fz_fail(f, "pmm_vmap of %u pages succeeded, but the model's window has no room", n);
		return;
	}
	if (!vm_place(f, ai, ptr, n, f->psize, true, "pmm_vmap"))
		return;
	a = &f->area[ai];
	a->put = flags != 0;
	for (unsigned int i = 0; i < n; i++) {
		a->pfn[i] = pfns[i];
		vm_take_over(f, ai, pfns[i]);
		area_lookup(f, ai, i, "pmm_vmap");
	}
	area_lookup(f, ai, n, "pmm_vmap");
	if (f->vm_mapped) {
		f->vm_map_calls += pfn_runs(pfns, n);
		for (unsigned int i = 0; i < n && !f->failed; i++)
			if (memcmp(area_page(f, a, i), pmm_page_address(f->pmm, pages[i]), f->psize))
				fz_fail(f, "pmm_vmap: page %u at %p differs from pfn %#llx's direct map", i,
					(void *)area_page(f, a, i), (unsigned long long)pfns[i]);
		area_write(f, a);
	}
	pmm_fuzz_counts.ok[FZ_VMAP]++;
}

/*
 * pmm_vmalloc_info()'s text against the model: one line per live area
 * (its start, pages and kind) and one per run of lazily freed ranges.
 */
static void vm_check_info(struct fz *f)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	unsigned int lines = 0, unpurged = 0, live = 0;
	FILE *mf = open_memstream(&buf, &len);

	if (!mf)
		return;
	if (pmm_vmalloc_info(f->pmm, mf, 0))
		fz_fail(f, "pmm_vmalloc_info() failed on a memory stream");
	fclose(mf);
	for (int i = 0; i < MAX_AREA; i++)
		live += f->area[i].live;
	for (line = strtok_r(buf, "\n", &save); line && !f->failed; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long s = 0, e = 0;
		const char *pages = strstr(line, " pages=");
		int ai = -1;

		lines++;
		if (sscanf(line, "%llx-%llx", &s, &e) != 2) {
			fz_fail(f, "pmm_vmalloc_info() line \"%s\" has no range", line);
			break;
		}
		if (strstr(line, "unpurged vm_area")) {
			unpurged++;
			continue;
		}
		for (int i = 0; i < MAX_AREA; i++)
			if (f->area[i].live && f->area[i].addr == s)
				ai = i;
		if (ai < 0 || e != s + area_bytes(f, &f->area[ai]) || !pages ||
		    strtoul(pages + 7, NULL, 10) != f->area[ai].nr ||
		    !strstr(line, f->area[ai].vmap ? " vmap" : " vmalloc"))
			fz_fail(f, "pmm_vmalloc_info() line \"%s\" is no live area of the model", line);
	}
	if (!f->failed && (lines - unpurged != live || unpurged != lazy_runs(f)))
		fz_fail(f, "pmm_vmalloc_info(): %u area lines and %u unpurged ones; the model has %u live "
			"areas and %u runs of lazily freed ones", lines - unpurged, unpurged, live,
			lazy_runs(f));
	free(buf);
}

/* VPURGE: p[0] bit 0 reads pmm_vmalloc_info() before, bit 1 after, bit 2 skips the purge. */
static void fz_op_VPURGE(struct fz *f, const uint8_t *p)
{
	if (p[0] & 1)
		vm_check_info(f);
	if (!(p[0] & 4)) {
		vlog(f, "vmalloc_purge (%u lazily freed ranges, %llu pages)", f->nlazy,
		     (unsigned long long)lazy_pages(f));
		pmm_vmalloc_purge(f->pmm);
		vm_model_purge(f);
	}
	if (p[0] & 2)
		vm_check_info(f);
	pmm_fuzz_counts.ok[FZ_VPURGE]++;
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
	FZ_BAD_REFUSED,		/* issued after snap_take(@before), refused with the error code the
				 * handler checked: must change nothing, needs no report */
	FZ_BAD_STOPPED,		/* a violation ended the run: not counted */
};

/* One handler per FZ_BADS entry: fz_bad_NAME(f, parameters 1..6, snapshot to take). */
typedef enum fz_bad_result fz_bad_fn(struct fz *f, const uint8_t *p, struct snap *before);
#define FZ_BAD_DECLARE(name) static fz_bad_fn fz_bad_##name;
FZ_BADS(FZ_BAD_DECLARE)
#undef FZ_BAD_DECLARE


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

/*
 * Every reference of a folio an mm maps, dropped by puts when nothing but
 * its holders (PTEs, swap cache, split queue) has one: the put that
 * reaches zero is reported and refused, the holders keep theirs (lru.h).
 */
static enum fz_bad_result fz_bad_MM_OVERPUT(struct fz *f, const uint8_t *p, struct snap *before)
{
	struct fz_mm *m = mm_pick(f, p[1]);
	struct pmm_folio_info info;
	struct pmm_page *page = NULL;
	int holders;

	for (uint32_t k = 0, v0 = ((uint32_t)p[2] << 8 | p[3]) % WIN_PAGES; m && k < WIN_PAGES; k++) {
		uint32_t v = (v0 + k) % WIN_PAGES;

		if ((m->vp[v] & VP_MAPPED) && (page = pmm_mm_lookup(m->mm, va(v))))
			break;
	}
	if (!page)
		return FZ_BAD_NOT_ISSUED;
	pmm_lru_add_drain(f->pmm);	/* the batches' references: pmm_folio_info() does not show them */
	if (pmm_folio_info(f->pmm, page, &info)) {
		fz_fail(f, "pmm_folio_info refused a mapped page");
		return FZ_BAD_STOPPED;
	}
	holders = info.mapcount + (info.swapcache ? 1 << info.order : 0) + info.deferred_split;
	if (info.refcount != holders)
		return FZ_BAD_NOT_ISSUED;
	vlog(f, "%d puts on folio %#llx (order %u, %d mappings)", holders,
	     (unsigned long long)pfn_of(f, page) & ~((1ull << info.order) - 1), info.order,
	     info.mapcount);
	snap_take(f, before);
	for (int i = 0; i < holders; i++) {
		if (p[4] & 1)
			pmm_folio_put(f->pmm, pmm_page_folio(page));
		else
			pmm_put_page(f->pmm, page);
	}
	if (pmm_folio_ref_count(pmm_page_folio(page)) != holders) {
		fz_fail(f, "after %d puts refused at zero the folio has %d references", holders,
			pmm_folio_ref_count(pmm_page_folio(page)));
		return FZ_BAD_STOPPED;
	}
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

/* ------------------------------------------------------------------------
 * Bad input to address spaces and the public gather. The mm calls return
 * their documented error (FZ_BAD_REFUSED: nothing changes, no report
 * needed); pmm_gather_add of a page that is not the caller's is reported.
 * ------------------------------------------------------------------------ */

/* A window page outside every VMA of @m from @b on, or WIN_PAGES when the window is full. */
static uint32_t gap_page(struct fz_mm *m, unsigned int b)
{
	for (uint32_t k = 0; k < WIN_PAGES; k++) {
		uint32_t v = (b + k) % WIN_PAGES;

		if (!vma_at(m, v))
			return v;
	}
	return WIN_PAGES;
}

/* map_anon / unmap / swapcache_add of one range; all three refuse the same ranges. */
static int range_call(struct fz_mm *m, unsigned int which, uint64_t addr, uint64_t len)
{
	switch (which % 3) {
	case 0:
		return pmm_mm_map_anon(m->mm, addr, len, 0, PMM_MAP_WRITE);
	case 1:
		return pmm_mm_unmap(m->mm, addr, len);
	default:
		return pmm_mm_swapcache_add(m->mm, addr, len);
	}
}

static const char *const range_call_names[] = { "map_anon", "unmap", "swapcache_add" };

static enum fz_bad_result refused(struct fz *f, int rc, int want, const char *what)
{
	if (rc != want) {
		fz_fail(f, "%s = %d (%s), not %s", what, rc, pmm_strerror(rc), pmm_strerror(want));
		return FZ_BAD_STOPPED;
	}
	return FZ_BAD_REFUSED;
}

/*
 * The mm a bad input goes to (made, with a VMA if @need_vma, when there is
 * none). Where address spaces do not exist (64 KiB pages) the bad input is
 * pmm_mm_create() itself, which must refuse with -PMM_ENOTSUP: then NULL
 * comes back and *@res is the result to return.
 */
static struct fz_mm *bad_mm(struct fz *f, uint8_t b, bool need_vma, struct snap *before,
			    enum fz_bad_result *res)
{
	pmm_mm_t *mm = (pmm_mm_t *)(void *)fake;
	struct fz_mm *m;
	int rc;

	if (f->mm_ok) {
		m = mm_need(f, b, need_vma);
		*res = f->failed ? FZ_BAD_STOPPED : FZ_BAD_NOT_ISSUED;
		return m;
	}
	vlog(f, "mm_create with %zu-byte pages", f->psize);
	snap_take(f, before);
	rc = pmm_mm_create(f->pmm, NULL, &mm);
	if (mm) {
		fz_fail(f, "a refused mm_create left an mm pointer");
		*res = FZ_BAD_STOPPED;
	} else {
		*res = refused(f, rc, -PMM_ENOTSUP, "mm_create with pages other than 4 KiB");
	}
	return NULL;
}

static enum fz_bad_result fz_bad_MM_UNALIGNED(struct fz *f, const uint8_t *p, struct snap *before)
{
	enum fz_bad_result res;
	struct fz_mm *m = bad_mm(f, p[1], false, before, &res);
	uint64_t addr, len;

	if (!m)
		return res;
	addr = va((p[2] | (uint32_t)p[3] << 8) % WIN_PAGES);
	len = (1 + p[4] % 16) * VPAGE;
	switch (p[5] % 4) {
	case 0:
		addr += 1 + p[6] % (VPAGE - 1);
		break;
	case 1:
		len -= 1 + p[6] % (VPAGE - 1);
		break;
	case 2:
		len = 0;
		break;
	default:
		len = 1 + p[6] % (VPAGE - 1);
		break;
	}
	vlog(f, "mm %u: %s(%#llx, %#llx): unaligned or empty", m->id, range_call_names[(p[5] >> 2) % 3],
	     (unsigned long long)addr, (unsigned long long)len);
	snap_take(f, before);
	return refused(f, range_call(m, p[5] >> 2, addr, len), -PMM_EINVAL, "an unaligned range");
}

static enum fz_bad_result fz_bad_MM_WRAP(struct fz *f, const uint8_t *p, struct snap *before)
{
	enum fz_bad_result res;
	struct fz_mm *m = bad_mm(f, p[1], false, before, &res);
	uint64_t addr, len;

	if (!m)
		return res;
	addr = (p[2] & 1) ? va((p[3] | (uint32_t)p[4] << 8) % WIN_PAGES)
			  : (UINT64_MAX & ~(VPAGE - 1)) - (uint64_t)p[3] * VPAGE;
	len = (0 - addr) + (1 + p[5] % 8) * VPAGE;	/* the end wraps past 2^64 */
	vlog(f, "mm %u: %s(%#llx, %#llx): wraps", m->id, range_call_names[p[6] % 3],
	     (unsigned long long)addr, (unsigned long long)len);
	snap_take(f, before);
	return refused(f, range_call(m, p[6], addr, len), -PMM_EINVAL, "a wrapping range");
}

/* At or past the 47-bit user space: refused by every call, lookup finds nothing. */
static enum fz_bad_result fz_bad_MM_OUT_OF_RANGE(struct fz *f, const uint8_t *p, struct snap *before)
{
	const uint64_t end = 1ull << 47;
	enum fz_bad_result res;
	struct fz_mm *m = bad_mm(f, p[1], false, before, &res);
	uint64_t addr = end + (uint64_t)(p[2] | p[3] << 8) * VPAGE, len = (1 + p[4] % 8) * VPAGE;
	void *ptr = fake;
	int rc;

	if (!m)
		return res;
	if (p[5] & 1) {		/* from below the end to past it */
		uint64_t below = VPAGE * (1 + p[4] % 4);

		addr = end - below;
		len += below;
	}
	vlog(f, "mm %u: call %u at %#llx (+%#llx) beyond the user address space", m->id, p[6] % 6,
	     (unsigned long long)addr, (unsigned long long)len);
	snap_take(f, before);
	switch (p[6] % 6) {
	case 0:
	case 1:
	case 2:
		return refused(f, range_call(m, p[6], addr, len), -PMM_EINVAL, "a range past 2^47");
	case 3:
		addr = end + (uint64_t)p[2] * VPAGE + p[3] % VPAGE;
		return refused(f, pmm_mm_fault(m->mm, addr, p[3] & 1), -PMM_EINVAL, "a fault past 2^47");
	case 4:
		addr = end + (uint64_t)p[2] * VPAGE;
		rc = pmm_mm_access(m->mm, addr, p[3] & 1, &ptr);
		if (ptr) {
			fz_fail(f, "access past 2^47 gave a pointer");
			return FZ_BAD_STOPPED;
		}
		return refused(f, rc, -PMM_EINVAL, "an access past 2^47");
	default:
		if (pmm_mm_lookup(m->mm, end + (uint64_t)p[2] * VPAGE) ||
		    pmm_mm_lookup(m->mm, UINT64_MAX - p[3]) ||
		    pmm_mm_get_page(m->mm, end + (uint64_t)p[4] * VPAGE)) {
			fz_fail(f, "pmm_mm_lookup or pmm_mm_get_page past 2^47 found a page");
			return FZ_BAD_STOPPED;
		}
		return FZ_BAD_REFUSED;
	}
}

static enum fz_bad_result fz_bad_MM_ORDER(struct fz *f, const uint8_t *p, struct snap *before)
{
	enum fz_bad_result res;
	struct fz_mm *m = bad_mm(f, p[1], false, before, &res);
	unsigned int order = mm_max_order(f) + 1 + p[2] % 8, flags = PMM_MAP_WRITE;
	uint32_t v;

	if (!m)
		return res;
	v = gap_page(m, p[3] | (unsigned int)p[4] << 8);
	if (p[5] & 1) {		/* a valid order with a flag that does not exist */
		order = p[2] % (mm_max_order(f) + 1);
		flags |= 1u << (2 + p[6] % 30);
	}
	vlog(f, "mm %u: map_anon(%#llx, order %u, flags %#x): order above min(pageblock_order %u, "
	     "PMD_ORDER %u) or unknown flag", m->id, (unsigned long long)va(v % WIN_PAGES), order, flags,
	     f->pageblock_order, FZ_PMD_ORDER);
	snap_take(f, before);
	return refused(f, pmm_mm_map_anon(m->mm, va(v % WIN_PAGES), (1 + p[6] % 8) * VPAGE, order, flags),
		       -PMM_EINVAL, "map_anon with a bad order or flag");
}

static enum fz_bad_result fz_bad_MM_OVERLAP(struct fz *f, const uint8_t *p, struct snap *before)
{
	enum fz_bad_result res;
	struct fz_mm *m = bad_mm(f, p[1], true, before, &res);
	struct fz_vma *x;
	uint32_t s, e, a = p[3] % 16, b = 1 + p[4] % 16;

	if (!m)
		return res;
	x = &m->vma[p[2] % m->nvma];
	switch (p[5] % 5) {
	case 0:		/* the same range */
		s = x->start;
		e = x->end;
		break;
	case 1:		/* inside */
		s = x->start + a % (x->end - x->start);
		e = s + 1 + b % (x->end - s);
		break;
	case 2:		/* over its start */
		s = x->start > a ? x->start - a : 0;
		e = x->start + 1;
		break;
	case 3:		/* over its end */
		s = x->end - 1;
		e = x->end + b < WIN_PAGES ? x->end + b : WIN_PAGES;
		break;
	default:	/* around it */
		s = x->start > a ? x->start - a : 0;
		e = x->end + b < WIN_PAGES ? x->end + b : WIN_PAGES;
		break;
	}
	vlog(f, "mm %u: map_anon(%#llx, %u pages) over the VMA [%#llx, %#llx)", m->id,
	     (unsigned long long)va(s), e - s, (unsigned long long)va(x->start),
	     (unsigned long long)va(x->end));
	snap_take(f, before);
	return refused(f, pmm_mm_map_anon(m->mm, va(s), (uint64_t)(e - s) * VPAGE, p[6] % (mm_max_order(f) + 1),
					  (p[6] & 0x80) ? PMM_MAP_WRITE | PMM_MAP_POPULATE : 0),
		       -PMM_EINVAL, "map_anon over a VMA");
}

/* A fault or an access @v (WIN_PAGES and beyond: above the window) that the model says is refused. */
static enum fz_bad_result bad_touch(struct fz *f, struct fz_mm *m, uint64_t addr, unsigned int how,
				    struct snap *before, const char *what)
{
	bool write = how & 1;
	void *ptr = fake;
	int rc;

	vlog(f, "mm %u: %s %s at %#llx (%s)", m->id, (how & 2) ? "access" : "fault",
	     write ? "write" : "read", (unsigned long long)addr, what);
	snap_take(f, before);
	if (!(how & 2))
		return refused(f, pmm_mm_fault(m->mm, addr, write), -PMM_EINVAL, what);
	rc = pmm_mm_access(m->mm, addr, write, &ptr);
	if (ptr) {
		fz_fail(f, "%s: access gave a pointer", what);
		return FZ_BAD_STOPPED;
	}
	return refused(f, rc, f->backed ? -PMM_EINVAL : -PMM_ENOTSUP, what);
}

static enum fz_bad_result fz_bad_MM_NO_VMA(struct fz *f, const uint8_t *p, struct snap *before)
{
	enum fz_bad_result res;
	struct fz_mm *m = bad_mm(f, p[1], false, before, &res);
	uint32_t v;

	if (!m)
		return res;
	v = gap_page(m, p[2] | (unsigned int)p[3] << 8);
	if (v == WIN_PAGES || (p[4] & 4))
		v = WIN_PAGES + p[5];	/* above the window: no VMA there either */
	return bad_touch(f, m, va(v) + (p[6] & 0xff) * 16, p[4], before, "a fault outside every VMA");
}

static enum fz_bad_result fz_bad_MM_WRITE_RO(struct fz *f, const uint8_t *p, struct snap *before)
{
	enum fz_bad_result res;
	struct fz_mm *m = bad_mm(f, p[1], false, before, &res);
	struct fz_vma *x = NULL;
	uint32_t v;

	if (!m)
		return res;
	for (unsigned int i = 0; i < m->nvma && !x; i++)
		if (!m->vma[(p[2] + i) % m->nvma].write)
			x = &m->vma[(p[2] + i) % m->nvma];
	if (!x) {	/* map a read-only one, populated (read faults) half of the time */
		v = gap_page(m, p[3] | (unsigned int)p[4] << 8);
		if (v == WIN_PAGES ||
		    mm_map(f, m, v, 1 + p[5] % 8, 0, (p[5] & 0x80) ? PMM_MAP_POPULATE : 0) ||
		    !(x = vma_at(m, v)))
			return FZ_BAD_NOT_ISSUED;
		check_all(f);
		if (f->failed)
			return FZ_BAD_STOPPED;
	}
	v = x->start + p[6] % (x->end - x->start);
	return bad_touch(f, m, va(v), 1 | (p[5] & 2), before, "a write to a read-only VMA");
}

/* NULL where an mm or an out pointer goes, a config with no such mode, a node that does not exist. */
static enum fz_bad_result fz_bad_MM_NULL(struct fz *f, const uint8_t *p, struct snap *before)
{
	struct fz_mm *m = mm_need(f, p[1], false);
	struct pmm_mm_config cfg;
	struct pmm_mm_stats st;
	struct pmm_node_info ni;
	pmm_mm_t *out = (pmm_mm_t *)(void *)fake;
	int rc;

	vlog(f, "bad mm call %u", p[2] % 10);
	snap_take(f, before);
	switch (p[2] % 10) {
	case 0:
		pmm_mm_destroy(NULL);
		memset(&st, 0xa5, sizeof(st));
		pmm_mm_destroy_stats(NULL, &st);
		pmm_mm_destroy_stats(NULL, NULL);
		if (st.rss_anon || st.tlb_flushes || st.gather_batches || st.nr_vmas) {
			fz_fail(f, "pmm_mm_destroy_stats(NULL) did not zero the stats");
			return FZ_BAD_STOPPED;
		}
		return FZ_BAD_REFUSED;
	case 1:
		return refused(f, pmm_mm_fault(NULL, va(0), p[3] & 1), -PMM_EINVAL, "fault(NULL)");
	case 2:
		return refused(f, pmm_mm_map_anon(NULL, va(0), VPAGE, 0, 0), -PMM_EINVAL, "map_anon(NULL)");
	case 3:
		return refused(f, pmm_mm_unmap(NULL, va(0), VPAGE), -PMM_EINVAL, "unmap(NULL)");
	case 4:
		rc = pmm_mm_fork(NULL, &out);
		if (out) {
			fz_fail(f, "fork(NULL) left a child pointer");
			return FZ_BAD_STOPPED;
		}
		return refused(f, rc, -PMM_EINVAL, "fork(NULL)");
	case 5:
		if (!m)
			return FZ_BAD_NOT_ISSUED;
		return refused(f, pmm_mm_fork(m->mm, NULL), -PMM_EINVAL, "fork(mm, NULL)");
	case 6:
		pmm_mm_config_init(&cfg);
		if (p[3] & 1)
			cfg.gather = (enum pmm_gather_mode)(PMM_NR_GATHER_MODES + p[4] % 8);
		else
			cfg.mapcount = (enum pmm_mapcount_model)(2 + p[4] % 8);
		rc = pmm_mm_create(f->pmm, &cfg, &out);
		if (out) {
			fz_fail(f, "mm_create with a bad config left an mm pointer");
			return FZ_BAD_STOPPED;
		}
		return refused(f, rc, -PMM_EINVAL, "mm_create with no such gather mode or mapcount model");
	case 7:
		rc = pmm_mm_create(NULL, NULL, &out);
		if (out) {
			fz_fail(f, "mm_create(NULL) = %d left an mm pointer", rc);
			return FZ_BAD_STOPPED;
		}
		if (rc != -PMM_EINVAL)
			return refused(f, rc, -PMM_EINVAL, "mm_create(NULL)");
		return refused(f, pmm_mm_create(f->pmm, NULL, NULL), -PMM_EINVAL, "mm_create(pmm, NULL, NULL)");
	case 8:
		if (pmm_mm_lookup(NULL, va(0)) || pmm_mm_get_page(NULL, va(0))) {
			fz_fail(f, "lookup(NULL) or get_page(NULL) found a page");
			return FZ_BAD_STOPPED;
		}
		if (!m)
			return refused(f, pmm_mm_swapcache_add(NULL, va(0), VPAGE), -PMM_EINVAL,
				       "swapcache_add(NULL)");
		return refused(f, pmm_mm_access(m->mm, va(0), p[3] & 1, NULL), -PMM_EINVAL,
			       "access(mm, NULL)");
	default:
		memset(&st, 0xa5, sizeof(st));
		pmm_mm_stats_get(NULL, &st);
		if (st.rss_anon || st.pgtable_pages || st.nr_vmas) {
			fz_fail(f, "pmm_mm_stats_get(NULL) did not zero the stats");
			return FZ_BAD_STOPPED;
		}
		return refused(f, pmm_node_info(f->pmm, (p[3] & 1) ? -1 - p[4] % 4 : PMM_MAX_NODES + p[4] % 4, &ni),
			       -PMM_EINVAL, "node_info of no such node");
	}
}

/*
 * pmm_gather_add given what the caller does not hold: a pointer outside
 * the memmap, a free frame, a frozen page (@what 0), nr 0 (1), or a run
 * past its folio (2). Reported, nothing flushed or freed.
 */
static enum fz_bad_result bad_gather(struct fz *f, const uint8_t *p, struct snap *before, int what)
{
	struct pmm_page *page = NULL;
	unsigned long nr = 1 + p[3] % 3;
	struct pmm_gather g;
	uint64_t calls = f->gather_calls;
	pmm_pfn_t q;
	int hi;
	bool flushed;

	if (what == 0) {
		switch (p[2] % 3) {
		case 0:
			for (unsigned int i = 0; i < sizeof(fake); i++)
				fake[i] = p[4 + i % 3] ^ (unsigned char)i;
			page = (struct pmm_page *)(void *)(fake + (p[3] & 1) * 64);
			break;
		case 1:
			if (find_state(f, p[4] | (unsigned int)p[5] << 8, F_FREE, &q))
				page = pg(f, q);
			break;
		default:
			if ((hi = pick(f, M(H_FROZEN), p[4])) >= 0 && live_frame(f, hi, p[5], &q))
				page = pg(f, q);
			nr = 1;
			break;
		}
	} else if ((hi = pick(f, M(H_FOLIO) | M(H_BLOCK) | M(H_RUN) | M(H_BULK), p[2])) >= 0) {
		struct handle *h = &f->h[hi];
		unsigned long i = h->kind == H_FOLIO ? p[4] % (1UL << h->order) : 0;

		if (h->kind == H_FOLIO || h->kind == H_BLOCK)
			q = h->pfn + i;
		else if (!live_frame(f, hi, p[4], &q))
			return FZ_BAD_NOT_ISSUED;
		page = pg(f, q);
		/* nr 0; or one page past the folio's end (a non-compound block counts as one page). */
		nr = what == 1 ? 0 : (h->kind == H_FOLIO ? (1UL << h->order) - i : 1) + 1 + p[5] % 3;
	}
	if (!page)
		return FZ_BAD_NOT_ISSUED;
	vlog(f, "gather_add(%p, %lu) in mode %u: %s", (void *)page, nr, p[6] % 3,
	     what == 0 ? "not the caller's page" : what == 1 ? "nr 0" : "a run past its folio");
	snap_take(f, before);
	pmm_gather_init(&g, f->pmm, (enum pmm_gather_mode)(p[6] % 3), gather_cb, f);
	flushed = pmm_gather_add(&g, page, nr);
	pmm_gather_finish(&g);
	if (flushed || f->gather_calls != calls) {
		fz_fail(f, "a refused gather_add flushed (returned %d, %llu TLB flushes)", flushed,
			(unsigned long long)(f->gather_calls - calls));
		return FZ_BAD_STOPPED;
	}
	return FZ_BAD_UNCHANGED;
}

static enum fz_bad_result fz_bad_GATHER_FOREIGN(struct fz *f, const uint8_t *p, struct snap *before)
{
	return bad_gather(f, p, before, 0);
}

static enum fz_bad_result fz_bad_GATHER_NR0(struct fz *f, const uint8_t *p, struct snap *before)
{
	return bad_gather(f, p, before, 1);
}

static enum fz_bad_result fz_bad_GATHER_PAST_FOLIO(struct fz *f, const uint8_t *p, struct snap *before)
{
	return bad_gather(f, p, before, 2);
}

/*
 * vmalloc's bad inputs: each is reported through bad_page_fn and changes
 * nothing (pmm_vfree(NULL) and a malformed pmm_vmap() call are refused
 * without a report: no page is named).
 */
static void vm_call_free(struct fz *f, const void *addr, bool vunmap)
{
	if (vunmap)
		pmm_vunmap(f->pmm, addr);
	else
		pmm_vfree(f->pmm, addr);
}

static enum fz_bad_result fz_bad_VFREE_INNER(struct fz *f, const uint8_t *p, struct snap *before)
{
	int ai = vm_pick(f, p[1], -1);
	struct fz_area *a;
	uint64_t off;
	bool vunmap;

	if (ai < 0)
		return FZ_BAD_NOT_ISSUED;
	a = &f->area[ai];
	/* Any byte after the start, the guard page included. */
	off = 1 + (p[2] | (uint64_t)p[3] << 8 | (uint64_t)p[4] << 16) % (area_bytes(f, a) - 1);
	if (p[5] & 1)
		off &= ~(uint64_t)(f->psize - 1);
	if (!off)
		off = f->psize;
	vunmap = a->vmap && (p[5] & 2);
	vlog(f, "%s(%s area %#llx + %#llx)", vunmap ? "vunmap" : "vfree", a->vmap ? "vmap" : "vmalloc",
	     (unsigned long long)a->addr, (unsigned long long)off);
	snap_take(f, before);
	vm_call_free(f, (const void *)(uintptr_t)(a->addr + off), vunmap);
	return FZ_BAD_UNCHANGED;
}

static enum fz_bad_result fz_bad_VFREE_TWICE(struct fz *f, const uint8_t *p, struct snap *before)
{
	int ai = vm_pick(f, p[1], -1);
	bool vunmap;
	uint64_t addr;

	if (ai < 0)
		return FZ_BAD_NOT_ISSUED;
	vunmap = f->area[ai].vmap && (p[2] & 1);
	addr = f->area[ai].addr;
	vm_free(f, ai, vunmap, vunmap ? "pmm_vunmap" : "pmm_vfree");
	check_all(f);
	if (f->failed)
		return FZ_BAD_STOPPED;
	/* Again, maybe with the other call: the range is lazily freed or, purged, free. */
	if (f->area[ai].vmap && (p[2] & 2))
		vunmap = !vunmap;
	vlog(f, "%s(%#llx) again", vunmap ? "vunmap" : "vfree", (unsigned long long)addr);
	snap_take(f, before);
	vm_call_free(f, (const void *)(uintptr_t)addr, vunmap);
	return FZ_BAD_UNCHANGED;
}

static enum fz_bad_result fz_bad_VUNMAP_VMALLOC(struct fz *f, const uint8_t *p, struct snap *before)
{
	int ai = vm_pick(f, p[1], 0);

	if (ai < 0)
		return FZ_BAD_NOT_ISSUED;
	vlog(f, "vunmap(vmalloc area %#llx)", (unsigned long long)f->area[ai].addr);
	snap_take(f, before);
	pmm_vunmap(f->pmm, (const void *)(uintptr_t)f->area[ai].addr);
	return FZ_BAD_UNCHANGED;
}

/*
 * Pointers that are no area's: outside the window (a static object, the
 * heap, a frame's direct-map address, the mm window, the bytes just
 * outside the window), or inside it where no area starts (free or lazily
 * freed space); NULL is ignored without a report.
 */
static enum fz_bad_result fz_bad_VFREE_FOREIGN(struct fz *f, const uint8_t *p, struct snap *before)
{
	bool vunmap = p[2] & 1;
	unsigned int kind = (p[1] >> 1) % 7;
	struct pmm_page *held = some_held_page(f, p[3]);
	void *heap = malloc(64);
	const void *addr;
	struct vm_range r[MAX_AREA + MAX_LAZY];
	unsigned int n;

	switch (kind) {
	case 0:
		addr = fake + (p[3] & 63);
		break;
	case 1:
		addr = heap;
		break;
	case 2:
		addr = held && f->backed ? pmm_page_address(f->pmm, held) : (const void *)&f;
		break;
	case 3:
		addr = (const void *)(uintptr_t)va(p[3]);
		break;
	case 4:		/* just outside the window */
		if (!f->win_start) {
			free(heap);
			return FZ_BAD_NOT_ISSUED;
		}
		addr = (const void *)(uintptr_t)((p[3] & 1) ? f->win_end : f->win_start - f->psize);
		break;
	case 5:		/* in the window, where no area starts: a lazy range, or a free page */
		if (!f->win_start) {
			free(heap);
			return FZ_BAD_NOT_ISSUED;
		}
		if (f->nlazy && (p[3] & 1)) {
			addr = (const void *)(uintptr_t)f->lazy[p[4] % f->nlazy].start;
			break;
		}
		n = vm_ranges(f, true, r);
		addr = (const void *)(uintptr_t)(n && r[n - 1].e < f->win_end ? r[n - 1].e : f->win_start);
		for (unsigned int i = 0; i < n; i++)
			if (r[i].s == (uintptr_t)addr) {	/* the window is full at its start */
				free(heap);
				return FZ_BAD_NOT_ISSUED;
			}
		break;
	default:
		addr = NULL;
		break;
	}
	vlog(f, "%s(%p), %s", vunmap ? "vunmap" : "vfree", addr,
	     (const char *const[]){ "a static object", "the heap", "a direct-map address",
				    "the mm window", "just outside the window",
				    "window space where no area starts", "NULL" }[kind]);
	snap_take(f, before);
	vm_call_free(f, addr, vunmap);
	free(heap);
	return kind == 6 ? FZ_BAD_REFUSED : FZ_BAD_UNCHANGED;
}

/*
 * pmm_vmap() of held pages with one bad entry (a free frame, a frozen
 * one, a pointer outside the memmap, NULL): NULL and a report. No pages,
 * or an unknown flag: NULL without one. Without a window: NULL, no report.
 */
static enum fz_bad_result fz_bad_VMAP_BAD_PAGE(struct fz *f, const uint8_t *p, struct snap *before)
{
	struct pmm_page *pages[8];
	pmm_pfn_t pfns[8], q;
	unsigned int n = vm_gather_held(f, p[2], p[3] % 5, 0, pages, pfns), at, kind = p[1] % 6;
	unsigned int count, flags = (p[4] & 1) ? PMM_VMAP_PUT_PAGES : 0;
	int hi;
	void *ptr;

	at = n ? p[5] % (n + 1) : 0;
	memmove(pages + at + 1, pages + at, (n - at) * sizeof(pages[0]));
	count = n + 1;
	switch (kind) {
	case 0:
		if (!find_state(f, p[5] * 17u, F_FREE, &q))
			return FZ_BAD_NOT_ISSUED;
		pages[at] = pg(f, q);
		break;
	case 1:
		hi = pick(f, M(H_FROZEN), p[5]);
		if (hi < 0 || !live_frame(f, hi, p[6], &q))
			return FZ_BAD_NOT_ISSUED;
		pages[at] = pg(f, q);
		break;
	case 2:
		pages[at] = (struct pmm_page *)(void *)(fake + (p[5] & 1) * 64);
		break;
	case 3:
		pages[at] = NULL;
		break;
	case 4:
		count = 0;
		break;
	default:
		flags |= 2u << (p[5] % 8);
		break;
	}
	vlog(f, "vmap(%u pages, entry %u %s, flags %#x)", count, at,
	     (const char *const[]){ "a free frame", "a frozen frame", "outside the memmap", "NULL",
				    "(no pages)", "(an unknown flag)" }[kind], flags);
	snap_take(f, before);
	ptr = pmm_vmap(f->pmm, pages, count, flags);
	if (ptr) {
		fz_fail(f, "pmm_vmap with %s succeeded", kind == 4 ? "no pages" : kind == 5 ?
			"an unknown flag" : "a page that is not allocated");
		return FZ_BAD_STOPPED;
	}
	return kind >= 4 || !f->vm_on ? FZ_BAD_REFUSED : FZ_BAD_UNCHANGED;
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
	case FZ_BAD_REFUSED:
		snap_expect_same(f, &before, pmm_fuzz_bad_name(kind), false);
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
	if (f->lay->skew_meta)
		skewed_meta_install(&cfg);
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
	/*
	 * Bit 6 of the layout byte: the real CPU picks the pcp (no cpu_fn),
	 * so with two CPUs the order-0 pcp path runs in rseq sections (where
	 * the build has them); SET_CPU then has no effect.
	 */
	if (!(lay & 0x40)) {
		cfg.cpu_fn = cpu_cb;
		cfg.cpu_arg = f;
	}
	cfg.contig_per_page = knobs & 16;
	cfg.pcp_batch = batch[(knobs >> 5) & 3][0];
	cfg.pcp_high = batch[(knobs >> 5) & 3][1];
	cfg.min_free_pages = 0;
	cfg.quiet = true;
	cfg.bad_page_fn = bad_cb;
	cfg.bad_page_arg = f;
	/* both page-check modes, on every layout (11 does not divide 64), and bit 6's rseq */
	cfg.check_pages = (lay & 0x40) ? PMM_CHECK_PAGES_FULL : PMM_CHECK_PAGES_KERNEL;
	if (lay & 0x80) {	/* a small window: full, fragmented, purged on demand */
		cfg.vmalloc_size = (uint64_t)FZ_VM_SMALL_PAGES << cfg.page_shift;
		cfg.vmap_lazy_max = FZ_VM_SMALL_LAZY;
	}

	f->backed = cfg.backing != PMM_BACKING_NONE;
	f->vm_on = cfg.backing == PMM_BACKING_MEMFD || cfg.backing == PMM_BACKING_NONE;
	f->vm_mapped = cfg.backing == PMM_BACKING_MEMFD;
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
	f->segstart = calloc(f->span, 1);
	f->bounds = calloc(f->span, sizeof(*f->bounds));
	f->mf = calloc(f->span, sizeof(*f->mf));
	if (!f->segstart || !f->bounds || !f->mf)
		return -1;
	for (unsigned long i = 0; i < f->span; i++) {
		pmm_pfn_t pfn = f->base + i;
		bool zone_change = i && f->fr[i].state != F_HOLE && f->fr[i - 1].state != F_HOLE &&
				   f->fr[i].zone != f->fr[i - 1].zone;

		f->segstart[i] = pfn % f->section_pages == 0 || zone_change ||
				 (f->lay->dma32_end && pfn == f->lay->dma32_end);
		for (unsigned int r = 0; r < f->lay->nr; r++)
			f->segstart[i] |= pfn == f->lay->r[r].start_pfn;
		if (zone_change)
			f->bounds[f->nbounds++] = pfn;
	}
	f->mm_ok = cfg.page_shift == 12;
	f->win_bytes = f->vm_on ? pmm_get_config(f->pmm)->vmalloc_size : 0;
	f->lazy_max = pmm_get_config(f->pmm)->vmap_lazy_max;
	f->next_entry = 1;	/* the swap cache's first entry (0 is none) */
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
	/* Exit every address space; then nothing may remain of the mm side. */
	for (unsigned int i = 0; i < MAX_MM && !f->failed; i++)
		if (f->mm[i].mm) {
			mm_destroy(f, &f->mm[i]);
			check_all(f);
		}
	if (f->mm_used && !f->failed)
		check_no_mm(f, "after every mm was destroyed");
	/* Every area (a vunmap gives its pages to new handles), then a purge: one free block. */
	for (int ai = 0; ai < MAX_AREA && !f->failed; ai++)
		if (f->area[ai].live) {
			vm_free(f, ai, f->area[ai].vmap && (ai & 1), "pmm_vfree at the end");
			check_all(f);
		}
	if (f->vm_on && !f->failed) {
		struct pmm_vmalloc_stats st;

		pmm_vmalloc_purge(f->pmm);
		vm_model_purge(f);
		check_all(f);
		pmm_vmalloc_stats(f->pmm, &st);
		if (!f->failed && (st.free_bytes != f->win_bytes || st.largest_free != f->win_bytes))
			fz_fail(f, "with every area freed and purged, the window has %llu free bytes, "
				"the largest block %llu, not one block of %llu",
				(unsigned long long)st.free_bytes, (unsigned long long)st.largest_free,
				(unsigned long long)f->win_bytes);
	}
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
	pmm_lru_add_drain(f->pmm);
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
	for (unsigned int i = 0; i < MAX_MM; i++)
		pmm_mm_destroy(f->mm[i].mm);	/* a run that stopped early */
	for (unsigned int i = 0; i < MAX_AREA; i++)
		free(f->area[i].pfn);		/* its frames go with the instance */
	pmm_destroy(f->pmm);
	free(f->segstart);
	free(f->bounds);
	free(f->mf);
	free(f->user_buf);
	free(f->fr);
	free(f->pages);
	free(f->pre);
	free(f->zrun);
	free(f);
	return ret;
}
