/* SPDX-License-Identifier: MIT */
/*
 * pmm.h - the whole public interface of pmm, the Linux physical memory
 * manager's core as a C11 library.
 *
 * Glossary (kernel vocabulary, same meaning):
 *   pfn        page frame number; frame pfn covers [pfn << page_shift, +page size)
 *   order      a block of 2^order frames, naturally aligned (pfn % 2^order == 0)
 *   memmap     the struct pmm_page array(s), one 64-byte entry per frame
 *   section    2^section_shift bytes of physical space that has memory or not
 *   zone       a pfn range with its own free lists, lock and watermarks
 *   node       a NUMA node owning zones
 *   pageblock  2^pageblock_order frames sharing one migratetype
 *   pcp        per-CPU page lists in front of each zone's buddy lists
 *   folio      a compound page (head + tails) handled as one unit
 *   frozen     a page whose refcount is already 0 but which is not yet free
 *
 * Conventions: calls that can fail return 0 or a negative PMM_E* code;
 * allocation calls return NULL. Every call is thread safe unless it says
 * otherwise. Bad input never aborts: it gets an error code, or a bad-page
 * report (callback + counter), and the instance stays consistent.
 */
#ifndef PMM_H
#define PMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Types and errors
 * ------------------------------------------------------------------------ */

typedef struct pmm pmm_t;
typedef uint64_t pmm_pfn_t;
typedef unsigned int pmm_gfp_t;

struct pmm_page;	/* opaque: one per frame, 64 bytes */
struct pmm_folio;	/* opaque: the head page of a compound page */

/* X(name, value, message): one table for codes and pmm_strerror(). */
#define PMM_ERRORS(X)                                                          \
	X(PMM_OK, 0, "success")                                                \
	X(PMM_EINVAL, 1, "invalid argument")                                   \
	X(PMM_ENOMEM, 2, "out of memory")                                      \
	X(PMM_EBUSY, 3, "range busy: a page in it is in use")                  \
	X(PMM_ERANGE, 4, "pfn outside managed memory")                         \
	X(PMM_ECORRUPT, 5, "invariant violated")                               \
	X(PMM_ENOTSUP, 6, "not supported by this instance")                    \
	X(PMM_EBACKING, 7, "backing memory could not be set up")

enum pmm_error {
#define PMM_ERROR_ENUM(name, value, msg) name = (value),
	PMM_ERRORS(PMM_ERROR_ENUM)
#undef PMM_ERROR_ENUM
};

/**
 * pmm_strerror - name an error code.
 * @err: 0 or a PMM_E* code, negative or positive.
 * Return: a static string; "unknown error" for codes outside the table.
 */
const char *pmm_strerror(int err);

/* ------------------------------------------------------------------------
 * GFP flags: where an allocation may come from and how hard it may try
 * ------------------------------------------------------------------------ */

#define PMM_GFP_DMA32       (1u << 0)	/* only the DMA32 zone */
#define PMM_GFP_MOVABLE     (1u << 1)	/* migratetype MOVABLE */
#define PMM_GFP_RECLAIMABLE (1u << 2)	/* migratetype RECLAIMABLE */
#define PMM_GFP_HIGH        (1u << 3)	/* may use half of the min reserve */
#define PMM_GFP_NOWAIT      (1u << 4)	/* never calls shrinkers */
#define PMM_GFP_COMP        (1u << 5)	/* make a compound page (folio) */
#define PMM_GFP_ZERO        (1u << 6)	/* zero the memory (backed instances) */
#define PMM_GFP_NOWARN      (1u << 7)	/* no log line on failure */
#define PMM_GFP_THISNODE    (1u << 8)	/* no fallback to other nodes */
#define PMM_GFP_ATOMIC_RES  (1u << 9)	/* may dig further into the reserve */

#define PMM_GFP_KERNEL  0u				/* UNMOVABLE, may reclaim */
#define PMM_GFP_NOIO    PMM_GFP_KERNEL
#define PMM_GFP_ATOMIC  (PMM_GFP_HIGH | PMM_GFP_ATOMIC_RES | PMM_GFP_NOWAIT)
#define PMM_GFP_USER    PMM_GFP_MOVABLE

/* ------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------ */

#define PMM_MAX_REGIONS 16
#define PMM_MAX_NODES   8
#define PMM_MAX_ORDER_LIMIT 16	/* max_order may be at most this */
#define PMM_MAX_CPUS    256
#define PMM_AUTO        UINT64_MAX	/* "compute the default" for a u64 knob */

enum pmm_memmap_model {
	PMM_MEMMAP_SPARSE,	/* one memmap chunk per present section */
	PMM_MEMMAP_VMEMMAP,	/* one virtually contiguous memmap */
};

enum pmm_backing {
	PMM_BACKING_MEMFD,	/* memfd mapped once as the direct map (default) */
	PMM_BACKING_ANON,	/* anonymous mapping, optional huge pages */
	PMM_BACKING_NONE,	/* metadata only: frames are numbers */
	PMM_BACKING_USER,	/* caller's buffer covers [lowest, highest pfn) */
};

enum pmm_zone_type {
	PMM_ZONE_DMA32,		/* pfn < dma32_end_pfn */
	PMM_ZONE_NORMAL,	/* everything above */
	PMM_NR_ZONE_TYPES,
};

enum pmm_migratetype {
	PMM_MIGRATE_UNMOVABLE,
	PMM_MIGRATE_MOVABLE,
	PMM_MIGRATE_RECLAIMABLE,
	PMM_MIGRATE_PCPTYPES,	/* the types with pcp lists end here */
	PMM_MIGRATE_HIGHATOMIC = PMM_MIGRATE_PCPTYPES,
	PMM_MIGRATE_ISOLATE,
	PMM_MIGRATE_TYPES,
};

/* One range of present frames. Frames between regions are holes. */
struct pmm_region {
	pmm_pfn_t start_pfn;	/* first frame */
	uint64_t nr_pages;	/* frames in the region, > 0 */
	int nid;		/* NUMA node, 0..PMM_MAX_NODES-1 */
};

/*
 * Fault injection, in the manner of the kernel's fail_page_alloc/failslab:
 * eligible calls are counted from 1; call @nth is the first that may fail,
 * then every @interval-th one (0 or 1: each), each with @probability
 * percent, at most @times failures in all (-1: no limit). nth == 0
 * disables the attribute. Draws are a hash of (seed, call number), so a
 * run repeats exactly.
 */
struct pmm_fault_attr {
	uint64_t nth;			/* first call that may fail; 0 = off */
	uint64_t interval;		/* then every interval-th call */
	unsigned int probability;	/* percent, 0..100 (pmm_config_init: 100) */
	int64_t times;			/* failures left; -1 = unlimited (default) */
	unsigned int min_order;		/* page allocations: lower orders never fail */
	uint64_t seed;			/* for @probability */
};

enum pmm_fault_kind {
	PMM_FAULT_PAGE_ALLOC,	/* page allocations (alloc_pages, bulk, folio, exact, contig) */
	PMM_FAULT_META_ALLOC,	/* metadata: memmap, zone arrays, isolation state, ... */
	PMM_NR_FAULT_KINDS,
};

/*
 * Metadata allocator: returns @size zeroed bytes (or NULL); the default maps
 * anonymous memory. An embedder without mmap supplies its own.
 */
typedef void *(*pmm_meta_alloc_fn)(void *arg, size_t size);
typedef void (*pmm_meta_free_fn)(void *arg, void *p, size_t size);

/* Called for each bad page found at free or allocation; the page is leaked. */
typedef void (*pmm_bad_page_fn)(void *arg, pmm_pfn_t pfn, const char *reason);
/* Picks the CPU whose pcp lists a call uses; must return 0..nr_cpus-1. */
typedef unsigned int (*pmm_cpu_fn)(void *arg);
/* Receives log lines (bad pages, allocation failures); NULL = stderr. */
typedef void (*pmm_log_fn)(void *arg, const char *line);

struct pmm_config {
	unsigned int page_shift;	/* 12..16; default 12 (4 KiB) */
	unsigned int section_shift;	/* default 27 (128 MiB) */
	unsigned int max_order;		/* default 10; <= PMM_MAX_ORDER_LIMIT */
	unsigned int pageblock_order;	/* default 9; <= max_order */

	unsigned int nr_regions;	/* 0: one default region (1 GiB at pfn 0x100000) */
	struct pmm_region regions[PMM_MAX_REGIONS];
	pmm_pfn_t dma32_end_pfn;	/* zone split; default 4 GiB >> page_shift */

	enum pmm_memmap_model memmap;	/* default PMM_MEMMAP_SPARSE */
	enum pmm_backing backing;	/* default PMM_BACKING_MEMFD */
	void *user_base;		/* PMM_BACKING_USER: buffer for the lowest pfn */
	size_t user_size;		/* PMM_BACKING_USER: its size in bytes */
	bool anon_hugepages;		/* PMM_BACKING_ANON: madvise(MADV_HUGEPAGE) */

	unsigned int nr_cpus;		/* pcp sets per zone; 0 = online CPUs */
	pmm_cpu_fn cpu_fn;		/* NULL = sched_getcpu() % nr_cpus */
	void *cpu_arg;
	bool pcp_disable;		/* every allocation and free uses the zone path */
	unsigned int pcp_batch;		/* 0 = kernel formula (63 for >= 1 GiB zones) */
	unsigned int pcp_high;		/* 0 = kernel zone_highsize(): low watermark / CPUs, >= 4 * batch */
					/* (resolved: the largest zone's; see pmm_zone_info) */

	uint64_t min_free_pages;	/* instance-wide min watermark; PMM_AUTO = kernel formula */

	bool contig_per_page;		/* free_contig_range frees page by page (pre-2026) */

	pmm_bad_page_fn bad_page_fn;	/* NULL: only counted and logged */
	void *bad_page_arg;
	pmm_log_fn log_fn;		/* NULL: stderr, rate limited */
	void *log_arg;
	bool quiet;			/* no log lines at all */

	pmm_meta_alloc_fn meta_alloc;	/* NULL: anonymous mmap (both or neither) */
	pmm_meta_free_fn meta_free;
	void *meta_arg;
	struct pmm_fault_attr fault[PMM_NR_FAULT_KINDS];	/* all off by default */
};

/**
 * pmm_config_init - fill @cfg with the defaults; the caller then edits fields.
 */
void pmm_config_init(struct pmm_config *cfg);

/* ------------------------------------------------------------------------
 * Instances
 * ------------------------------------------------------------------------ */

/**
 * pmm_create - build an instance: memmap, zones, backing; all memory free.
 * @cfg: configuration, copied; NULL means defaults.
 * @out: receives the instance.
 * Return: 0; -PMM_EINVAL for a bad config (overlapping or empty regions,
 * max_order + page_shift > section_shift, ...), -PMM_ENOMEM, -PMM_EBACKING.
 */
int pmm_create(const struct pmm_config *cfg, pmm_t **out);

/**
 * pmm_destroy - release the instance and everything it owns.
 * Context: no other thread may use @pmm any more. NULL is ignored.
 */
void pmm_destroy(pmm_t *pmm);

/**
 * pmm_get_config - the configuration the instance runs with, defaults
 * resolved (regions, nr_cpus, dma32_end_pfn, min_free_pages, and the
 * largest zone's pcp_batch/pcp_high).
 */
const struct pmm_config *pmm_get_config(const pmm_t *pmm);

/** pmm_page_size - bytes per frame. */
size_t pmm_page_size(const pmm_t *pmm);

/* ------------------------------------------------------------------------
 * Frames
 * ------------------------------------------------------------------------ */

/** pmm_pfn_to_page - the frame's page, or NULL if @pfn is not managed. */
struct pmm_page *pmm_pfn_to_page(pmm_t *pmm, pmm_pfn_t pfn);
/** pmm_page_to_pfn - the frame number of @page (a page of this instance). */
pmm_pfn_t pmm_page_to_pfn(pmm_t *pmm, const struct pmm_page *page);
/** pmm_page_address - direct-map address of the frame; NULL without backing. */
void *pmm_page_address(pmm_t *pmm, const struct pmm_page *page);
/** pmm_virt_to_page - the page whose direct-map frame holds @addr, or NULL. */
struct pmm_page *pmm_virt_to_page(pmm_t *pmm, const void *addr);
/** pmm_page_count - the page's reference count (0 for free and tail pages). */
int pmm_page_count(const struct pmm_page *page);
/** pmm_page_mapcount - mappings of the page (0 when unmapped). */
int pmm_page_mapcount(const struct pmm_page *page);
/** pmm_page_nid / pmm_page_zone - where the frame lives. */
int pmm_page_nid(pmm_t *pmm, const struct pmm_page *page);
enum pmm_zone_type pmm_page_zone(pmm_t *pmm, const struct pmm_page *page);

/* ------------------------------------------------------------------------
 * Page allocation
 * ------------------------------------------------------------------------ */

/**
 * pmm_alloc_pages - allocate 2^@order contiguous frames.
 * @gfp: PMM_GFP_* flags.
 * @order: 0..max_order.
 *
 * Serves from the local node first, then the others (unless THISNODE); in
 * each node from the highest zone @gfp allows down to DMA32. Orders 0..3 and
 * pageblock_order come from the caller's CPU's pcp lists when it can.
 * Context: any thread; never blocks except on the zone lock.
 * Return: the first page with refcount 1, or NULL (no memory above the
 * watermark, bad order).
 */
struct pmm_page *pmm_alloc_pages(pmm_t *pmm, pmm_gfp_t gfp, unsigned int order);
/** pmm_alloc_pages_node - pmm_alloc_pages() preferring node @nid (-1: node 0). */
struct pmm_page *pmm_alloc_pages_node(pmm_t *pmm, int nid, pmm_gfp_t gfp,
				      unsigned int order);

/**
 * pmm_free_pages - drop a reference on a block from pmm_alloc_pages().
 * @order: the order it was allocated with.
 *
 * Linux __free_pages(): when the reference was the last, the block is freed.
 * When a non-compound block's head still holds references, the tail halves
 * are freed at once (orders order-1 .. 0) and the head page is freed by its
 * last pmm_put_page(). A wrong order, a foreign page or a page already free
 * is reported and nothing is freed. NULL is ignored.
 */
void pmm_free_pages(pmm_t *pmm, struct pmm_page *page, unsigned int order);

/** pmm_get_page - take a reference; the caller must already hold one. */
void pmm_get_page(pmm_t *pmm, struct pmm_page *page);
/** pmm_put_page - drop a reference; the last one frees the page or folio. */
void pmm_put_page(pmm_t *pmm, struct pmm_page *page);

/**
 * pmm_split_page - make a non-compound order-@order block into 2^order
 * independent order-0 pages with refcount 1 each.
 * A compound page or a wrong order is reported and left alone.
 */
void pmm_split_page(pmm_t *pmm, struct pmm_page *page, unsigned int order);

/**
 * pmm_alloc_pages_exact - allocate exactly ceil(@size / page size) frames.
 * Allocates the covering order, splits it and frees the unused tail.
 * Return: the direct-map address (backed instances only), or NULL.
 */
void *pmm_alloc_pages_exact(pmm_t *pmm, size_t size, pmm_gfp_t gfp);
/** pmm_free_pages_exact - free what pmm_alloc_pages_exact() returned. */
void pmm_free_pages_exact(pmm_t *pmm, void *addr, size_t size);
/**
 * pmm_alloc_pages_exact_pfn - pmm_alloc_pages_exact() for any instance,
 * backed or not: returns the first page of @nr_pages frames or NULL.
 * Free them with pmm_free_contig_range(pfn, nr_pages).
 */
struct pmm_page *pmm_alloc_pages_exact_pfn(pmm_t *pmm, unsigned long nr_pages,
					   pmm_gfp_t gfp);

/**
 * pmm_alloc_pages_bulk - fill the NULL slots of @array with order-0 pages.
 * Slots already holding a page are skipped. Pages come from the pcp under
 * one lock hold where possible.
 * Return: the number of non-NULL slots in array[0..nr) on return; may be
 * fewer than @nr under memory pressure.
 */
unsigned long pmm_alloc_pages_bulk(pmm_t *pmm, pmm_gfp_t gfp, unsigned long nr,
				   struct pmm_page **array);

/**
 * pmm_drain_all_pages - return every pcp page of every CPU to the buddy lists.
 */
void pmm_drain_all_pages(pmm_t *pmm);

/* ------------------------------------------------------------------------
 * Contiguous ranges (design.md section 5)
 * ------------------------------------------------------------------------ */

/**
 * pmm_free_contig_range - drop one reference on each of @nr_pages order-0
 * pages starting at @pfn and free those that reach zero.
 *
 * Pages whose count stays above zero end a run and are freed by their last
 * put; pages that fail the free checks are reported and leaked. Runs are
 * freed as maximal naturally aligned power-of-two chunks (batched path) or
 * page by page when the instance has contig_per_page. A compound head at
 * @pfn is refused with a report and nothing is freed.
 */
void pmm_free_contig_range(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr_pages);
/** pmm_free_contig_frozen_range - as above for pages whose refcount is already 0. */
void pmm_free_contig_frozen_range(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr_pages);

/**
 * pmm_free_pages_bulk - free an array of order-0 pages, each holding one
 * reference; runs of consecutive pfns go through the batched contig path.
 * NULL slots are skipped; a page given twice is reported and freed once.
 */
void pmm_free_pages_bulk(pmm_t *pmm, struct pmm_page **array, unsigned long nr);

/**
 * pmm_alloc_contig_range - take the frames [@start, @end) for the caller.
 * Isolates the pageblocks covering the range, drains the pcp lists, takes
 * the free blocks and gives back the overhang outside the range. On success
 * every frame has refcount 1 (free them with pmm_free_contig_range()).
 * Return: 0; -PMM_EBUSY if a frame is in use (every pageblock keeps its
 * migratetype); -PMM_ERANGE or -PMM_EINVAL for a bad range.
 */
int pmm_alloc_contig_range(pmm_t *pmm, pmm_pfn_t start, pmm_pfn_t end, pmm_gfp_t gfp);

/**
 * pmm_alloc_contig_frozen_range - pmm_alloc_contig_range() leaving every
 * frame frozen (refcount 0); give them back with
 * pmm_free_contig_frozen_range().
 */
int pmm_alloc_contig_frozen_range(pmm_t *pmm, pmm_pfn_t start, pmm_pfn_t end, pmm_gfp_t gfp);

/**
 * pmm_alloc_contig_pages - find and take @nr_pages free contiguous frames
 * on node @nid (-1: any node).
 * Return: the first page (each frame refcount 1) or NULL.
 */
struct pmm_page *pmm_alloc_contig_pages(pmm_t *pmm, unsigned long nr_pages,
					pmm_gfp_t gfp, int nid);

/* ------------------------------------------------------------------------
 * Folios (compound pages)
 * ------------------------------------------------------------------------ */

/** pmm_folio_alloc - a compound page of 2^@order frames, refcount 1. */
struct pmm_folio *pmm_folio_alloc(pmm_t *pmm, pmm_gfp_t gfp, unsigned int order);
/** pmm_page_folio - the folio a page belongs to (its own folio if order 0). */
struct pmm_folio *pmm_page_folio(const struct pmm_page *page);
/** pmm_folio_page - page @n of the folio. */
struct pmm_page *pmm_folio_page(pmm_t *pmm, struct pmm_folio *folio, unsigned long n);
/** pmm_folio_order - the folio's order. */
unsigned int pmm_folio_order(const struct pmm_folio *folio);
/** pmm_folio_get - take one reference on the folio. */
void pmm_folio_get(pmm_t *pmm, struct pmm_folio *folio);
/** pmm_folio_put - drop one reference; the last frees the folio. */
void pmm_folio_put(pmm_t *pmm, struct pmm_folio *folio);
/** pmm_folio_put_refs - drop @refs references at once (refs >= 1). */
void pmm_folio_put_refs(pmm_t *pmm, struct pmm_folio *folio, int refs);
/** pmm_folio_ref_count - the folio's reference count. */
int pmm_folio_ref_count(const struct pmm_folio *folio);

/**
 * pmm_fault_set - replace a fault attribute at run time and restart its
 * call count (tests sweep @attr.nth over the calls an operation makes).
 * Return: 0 or -PMM_EINVAL.
 */
int pmm_fault_set(pmm_t *pmm, enum pmm_fault_kind kind, const struct pmm_fault_attr *attr);

/* ------------------------------------------------------------------------
 * Reclaim hooks
 * ------------------------------------------------------------------------ */

/* Asked to give back up to @nr_to_scan pages; returns how many it freed. */
typedef unsigned long (*pmm_shrink_fn)(void *arg, pmm_t *pmm, unsigned long nr_to_scan);

/**
 * pmm_register_shrinker - call @fn when an allocation falls below the low
 * watermark (never for PMM_GFP_NOWAIT). The user-space analogue of reclaim.
 * Return: 0, or -PMM_ENOMEM when all PMM_MAX_SHRINKERS slots are taken.
 */
#define PMM_MAX_SHRINKERS 8
int pmm_register_shrinker(pmm_t *pmm, pmm_shrink_fn fn, void *arg);

/* ------------------------------------------------------------------------
 * Statistics and introspection
 * ------------------------------------------------------------------------ */

/* X(name, description): one list for the struct, the names and the printers. */
#define PMM_STATS(X)                                                           \
	X(pgalloc, "pages allocated")                                          \
	X(pgfree, "pages freed")                                               \
	X(alloc_fail, "allocations that returned NULL")                        \
	X(pcp_alloc, "allocations served by a pcp list")                       \
	X(pcp_free, "frees that went to a pcp list")                           \
	X(pcp_refill, "pcp refills from the buddy (one zone-lock hold each)")  \
	X(pcp_drain, "pcp batches returned to the buddy")                      \
	X(pcp_lock_miss, "pcp trylock failures that took the zone path")       \
	X(buddy_alloc, "blocks taken from the buddy lists")                    \
	X(buddy_free, "blocks given to __free_one_page")                       \
	X(buddy_merge, "buddy merges")                                         \
	X(buddy_split, "blocks split by expand()")                             \
	X(steal_block, "pageblocks claimed by a fallback")                     \
	X(steal_page, "blocks stolen from another migratetype")                \
	X(contig_chunks, "chunks freed by the batched contig path")            \
	X(bad_page, "bad pages reported")                                      \
	X(leaked_pages, "frames deliberately leaked as bad")                   \
	X(shrinker_calls, "shrinker invocations")                              \
	X(fault_injected, "failures injected by a fault attribute")

struct pmm_stats {
#define PMM_STAT_FIELD(name, desc) uint64_t name;
	PMM_STATS(PMM_STAT_FIELD)
#undef PMM_STAT_FIELD
};

/** pmm_stats_get - a snapshot of the counters, summed over CPUs and zones. */
void pmm_stats_get(pmm_t *pmm, struct pmm_stats *out);
/** pmm_stats_print - the counters as "name value" lines or one JSON object. */
int pmm_stats_print(pmm_t *pmm, FILE *f, int json);

struct pmm_zone_info {
	int nid;				/* node */
	enum pmm_zone_type type;		/* DMA32 or NORMAL */
	const char *name;			/* "DMA32" / "Normal" */
	pmm_pfn_t start_pfn;			/* first frame spanned */
	uint64_t spanned_pages;			/* frames spanned, holes included */
	uint64_t managed_pages;			/* frames present */
	uint64_t free_pages;			/* in the buddy lists */
	uint64_t pcp_pages;			/* on pcp lists of all CPUs */
	uint64_t wmark_min, wmark_low, wmark_high;	/* watermarks, frames */
	unsigned int pcp_batch, pcp_high;		/* per-CPU list sizing */
	uint64_t lowmem_reserve;			/* kept from higher-zone requests */
	uint64_t reserved_highatomic;			/* set aside for high-order atomic */
	uint64_t nr_free[PMM_MAX_ORDER_LIMIT + 1];	/* buddyinfo */
	uint64_t nr_free_mt[PMM_MIGRATE_TYPES][PMM_MAX_ORDER_LIMIT + 1];	/* pagetypeinfo */
	uint64_t nr_pageblocks_mt[PMM_MIGRATE_TYPES];	/* pageblocks per migratetype */
};

/** pmm_nr_zones - zones of the instance (populated ones only). */
unsigned int pmm_nr_zones(pmm_t *pmm);
/** pmm_zone_info - fill @out for zone @idx (0..pmm_nr_zones()-1); 0 or -PMM_EINVAL. */
int pmm_zone_info(pmm_t *pmm, unsigned int idx, struct pmm_zone_info *out);
/** pmm_migratetype_name - "Unmovable", "Movable", ... */
const char *pmm_migratetype_name(int mt);

/** pmm_buddyinfo - /proc/buddyinfo per zone, or JSON. Return 0 or -errno-like. */
int pmm_buddyinfo(pmm_t *pmm, FILE *f, int json);
/** pmm_pagetypeinfo - /proc/pagetypeinfo: free blocks per migratetype and order. */
int pmm_pagetypeinfo(pmm_t *pmm, FILE *f, int json);
/** pmm_zoneinfo - layout, watermarks, free counts per zone. */
int pmm_zoneinfo(pmm_t *pmm, FILE *f, int json);

/**
 * pmm_check - verify every invariant of design.md section 8.
 * Context: the caller must keep other threads from changing the instance.
 * Return: 0, or -PMM_ECORRUPT after logging each violation (up to a limit).
 */
int pmm_check(pmm_t *pmm);

/** pmm_free_frames / pmm_managed_frames / pmm_leaked_frames - totals. */
uint64_t pmm_free_frames(pmm_t *pmm);	/* buddy + pcp */
uint64_t pmm_managed_frames(pmm_t *pmm);
uint64_t pmm_leaked_frames(pmm_t *pmm);

#ifdef __cplusplus
}
#endif

#endif /* PMM_H */
