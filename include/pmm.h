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
 * otherwise (pmm_destroy, pmm_fault_set, pmm_check). Bad input never
 * aborts: it gets an error code, or a bad-page report (callback + counter),
 * and the instance stays consistent.
 *
 * Callbacks (bad_page_fn, log_fn, shrinkers, meta_alloc/meta_free, cpu_fn)
 * are called with no zone, pcp, LRU, split-queue or swap-cache lock held,
 * so they may call back into the instance (a bad_page_fn may drain, check
 * or print it); pmm_destroy of the instance that calls them is off limits.
 * One exception, as in the kernel, where reclaim runs under the faulting
 * process's mmap lock: an address-space call (a fault, pmm_mm_access,
 * POPULATE, fork, unmap, exit, pmm_mm_swapcache_add) holds that mm's lock
 * while it allocates and frees, so its shrinkers, meta_alloc/meta_free,
 * cpu_fn and bad_page_fn run with it held (meta_alloc/meta_free of the
 * swap cache's index also with the swap cache's lock): such a callback
 * must not call pmm_mm_* on that mm, pmm_swapcache_nr or pmm_check.
 * cpu_fn runs on every allocation and free: keep it to a few instructions.
 */
#ifndef PMM_H
#define PMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#if __STDC_HOSTED__
#include <stdio.h>	/* the printers' FILE; a freestanding build has no printers */
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Only what this header declares leaves the library (built -fvisibility=hidden). */
#pragma GCC visibility push(default)

/* ------------------------------------------------------------------------
 * Version: the one place it is written (CMakeLists.txt reads it from here,
 * for the project, the shared library's soname, pmm.pc and the CMake
 * package, as libuv and zstd do); CHANGELOG.md says what changed.
 * ------------------------------------------------------------------------ */

#define PMM_VERSION_MAJOR 0
#define PMM_VERSION_MINOR 1
#define PMM_VERSION_PATCH 0
#define PMM_VERSION_NUMBER                                                     \
	(PMM_VERSION_MAJOR * 10000 + PMM_VERSION_MINOR * 100 + PMM_VERSION_PATCH)
#define PMM_VERSION_STR2(x) #x
#define PMM_VERSION_STR(x) PMM_VERSION_STR2(x)
#define PMM_VERSION_STRING                                                     \
	PMM_VERSION_STR(PMM_VERSION_MAJOR) "." PMM_VERSION_STR(PMM_VERSION_MINOR) "." \
	PMM_VERSION_STR(PMM_VERSION_PATCH)

/**
 * pmm_version - the version of the library linked in, "MAJOR.MINOR.PATCH":
 * compare with PMM_VERSION_STRING, the header's, to catch a mismatch.
 */
const char *pmm_version(void);
/** pmm_version_number - the linked library's PMM_VERSION_NUMBER. */
unsigned int pmm_version_number(void);

/* ------------------------------------------------------------------------
 * Types and errors
 * ------------------------------------------------------------------------ */

typedef struct pmm pmm_t;
typedef uint64_t pmm_pfn_t;
typedef unsigned int pmm_gfp_t;

struct pmm_page;	/* opaque: one per frame, PMM_PAGE_META_SIZE bytes */
/* Bytes of metadata per frame (struct pmm_page): the memmap of N frames is N x this. */
#define PMM_PAGE_META_SIZE 64
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
#define PMM_MAX_SECTIONS 65536	/* lowest to highest region frame, in sections */
#define PMM_PCP_BATCH_MAX 65536	/* pcp_batch may be at most this */
#define PMM_PCP_HIGH_MAX (1u << 24)	/* pcp_high may be at most this */
#define PMM_NUMA_NO_NODE (-1)	/* no node preference: the calling CPU's node */
#define PMM_AUTO        UINT64_MAX	/* "compute the default" for a u64 knob */

enum pmm_memmap_model {
	PMM_MEMMAP_SPARSE,	/* one memmap chunk per present section */
	PMM_MEMMAP_VMEMMAP,	/* one virtually contiguous memmap */
};

/*
 * The checks a block gets as it leaves and re-enters the free lists (the
 * kernel's check_new_pages() and free_pages_prepare()).
 */
enum pmm_check_pages {
	PMM_CHECK_PAGES_DEFAULT,	/* FULL in a debug build of the library, else KERNEL */
	PMM_CHECK_PAGES_KERNEL,		/* as Linux without debug options: the head page at
					 * allocation; at free the head, and the tails of a
					 * folio (their compound links), but not the tails of
					 * a non-compound block, which no call can reach */
	PMM_CHECK_PAGES_FULL,		/* every page of every block at allocation and at
					 * free (Linux with CONFIG_DEBUG_VM or debug_pagealloc) */
};

/*
 * How the pcp alloc and free of order-0 pages and pageblock_order blocks
 * reach this CPU's lists (the other cached orders always take the
 * trylock). Both paths are in every build and every instance picks one at
 * create.
 */
enum pmm_pcp_fastpath {
	PMM_PCP_FASTPATH_AUTO,		/* RSEQ where it can run, else TRYLOCK */
	PMM_PCP_FASTPATH_TRYLOCK,	/* the kernel's: pcp spin_trylock, two locked
					 * instructions per alloc+free pair */
	PMM_PCP_FASTPATH_RSEQ,		/* restartable per-CPU sections, no locked
					 * instruction (x86-64 Linux with glibc's rseq; no
					 * cpu_fn; nr_cpus >= the possible CPUs; not under
					 * TSan); else pmm_create fails with -PMM_ENOTSUP */
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

/*
 * One range of present frames. Frames between regions are holes. Regions
 * need no alignment: a region, node or zone boundary may fall anywhere
 * (as in Linux); no free block ever crosses one.
 */
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
 * run repeats exactly. pmm_config_init() sets probability 100 and times -1;
 * an attribute built from zeros for pmm_fault_set() never fails (0 %).
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
 * anonymous memory. An embedder without mmap supplies its own. Sizes are
 * not page multiples; meta_free gets the size meta_alloc was asked for.
 */
typedef void *(*pmm_meta_alloc_fn)(void *arg, size_t size);
typedef void (*pmm_meta_free_fn)(void *arg, void *p, size_t size);

/*
 * Called for each bad page or bad pointer a call is given. @pfn is the
 * frame, or (pmm_pfn_t)-1 when the pointer is not a page of the instance.
 * A page that fails the checks of its own free or allocation is leaked on
 * purpose (pmm_leaked_frames(); the kernel does the same); every other
 * report (a double free, a foreign or wrong page, a wrong order) leaves
 * the page exactly as it was. Called with no pmm lock held, but for an
 * address-space call's own (see the top of this file).
 */
typedef void (*pmm_bad_page_fn)(void *arg, pmm_pfn_t pfn, const char *reason);
/* Picks the CPU whose pcp lists a call uses: 0..nr_cpus-1 (taken modulo nr_cpus). */
typedef unsigned int (*pmm_cpu_fn)(void *arg);
/* Receives log lines (bad pages, allocation failures); NULL = stderr. */
typedef void (*pmm_log_fn)(void *arg, const char *line);

/*
 * The limits pmm_create() enforces (-PMM_EINVAL, with a log line that names
 * the field and the rule) are given field by field below; besides them:
 * regions may not overlap, and the lowest to the highest region frame may
 * span at most PMM_MAX_SECTIONS sections and must end below 2^52 bytes.
 */
struct pmm_config {
	unsigned int page_shift;	/* 12..16; default 12 (4 KiB) */
	unsigned int section_shift;	/* max_order + page_shift..40; default 27 (128 MiB) */
	unsigned int max_order;		/* 0..PMM_MAX_ORDER_LIMIT; default 10 */
	unsigned int pageblock_order;	/* 0..max_order; default 9 */

	unsigned int nr_regions;	/* 0..PMM_MAX_REGIONS; 0: one region of 1 GiB at pfn 0x100000 */
	struct pmm_region regions[PMM_MAX_REGIONS];	/* nr_pages > 0, nid 0..PMM_MAX_NODES-1 */
	pmm_pfn_t dma32_end_pfn;	/* zone split, any pfn; default 4 GiB >> page_shift */

	enum pmm_memmap_model memmap;	/* default PMM_MEMMAP_SPARSE */
	enum pmm_backing backing;	/* default PMM_BACKING_MEMFD */
	void *user_base;		/* PMM_BACKING_USER: buffer for the lowest pfn, page aligned */
	size_t user_size;		/* PMM_BACKING_USER: >= (highest - lowest pfn) pages */
	bool anon_hugepages;		/* PMM_BACKING_ANON: madvise(MADV_HUGEPAGE) */

	unsigned int nr_cpus;		/* pcp sets per zone, 1..PMM_MAX_CPUS; 0 = online CPUs */
	pmm_cpu_fn cpu_fn;		/* NULL = sched_getcpu() % nr_cpus */
	void *cpu_arg;
	uint8_t cpu_to_node[PMM_MAX_CPUS];	/* each CPU's node (kernel cpu_to_node()); default 0 */
	bool pcp_disable;		/* every allocation and free uses the zone path */
	enum pmm_pcp_fastpath pcp_fastpath;	/* default AUTO (resolved: TRYLOCK or RSEQ) */
	unsigned int pcp_batch;		/* 0..PMM_PCP_BATCH_MAX; 0 = kernel formula (63 for >= 1 GiB zones) */
	unsigned int pcp_high;		/* 0..PMM_PCP_HIGH_MAX, >= pcp_batch; 0 = kernel zone_highsize():
					 * low watermark / CPUs, >= 4 * batch. Per zone, high is then
					 * clamped so that all CPUs' lists hold at most 1/8 of the zone,
					 * and batch to high / 4 (resolved: the largest zone's values;
					 * pmm_zone_info() has each zone's) */

	uint64_t min_free_pages;	/* instance-wide min watermark; PMM_AUTO = kernel formula */

	enum pmm_check_pages check_pages;	/* default PMM_CHECK_PAGES_DEFAULT (resolved) */

	bool contig_per_page;		/* free_contig_range frees page by page (pre-2026);
					 * pmm_vfree then frees its pages one by one too */

	uint64_t vmalloc_size;		/* bytes of the vmalloc window, reserved PROT_NONE at
					 * create (address space only, but RLIMIT_AS counts
					 * it); PMM_AUTO = 4 x managed memory, halved (to 16
					 * MiB) until the address space holds it; 0 = none
					 * (pmm_vmalloc fails); else 16 pages..2^46, rounded
					 * up to a page, reserved whole or -PMM_EBACKING */
	uint64_t vmap_lazy_max;		/* pages of lazily freed areas that trigger a purge;
					 * PMM_AUTO or 0 = kernel lazy_max_pages(): fls(nr_cpus)
					 * x 32 MiB; 1 = purge at every free */
	bool vmalloc_times;		/* time pmm_vfree()'s page-freeing step into
					 * pmm_vmalloc_stats.free_step_ns (two clock reads
					 * per vfree) */

	pmm_bad_page_fn bad_page_fn;	/* NULL: only counted and logged */
	void *bad_page_arg;
	pmm_log_fn log_fn;		/* NULL: stderr, rate limited */
	void *log_arg;
	bool quiet;			/* no log lines, except one when pmm_create() fails
					 * and the violations pmm_check() finds */

	pmm_meta_alloc_fn meta_alloc;	/* NULL: anonymous mmap (both or neither) */
	pmm_meta_free_fn meta_free;
	void *meta_arg;
	struct pmm_fault_attr fault[PMM_NR_FAULT_KINDS];	/* off by default; probability 0..100 */
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
 * A failure logs one line through log_fn (stderr by default), even when
 * quiet: for a bad config it names the field and the rule.
 * Return: 0; -PMM_EINVAL for a bad config (the limits listed at struct
 * pmm_config), -PMM_ENOMEM (metadata), -PMM_EBACKING (the memfd or mmap).
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
/**
 * pmm_page_to_pfn - the frame number of @page, or (pmm_pfn_t)-1 with a
 * bad-page report (pfn (pmm_pfn_t)-1) when @page is not a managed page of
 * this instance (placed by address first: a pointer into unreadable memory
 * is not read).
 */
pmm_pfn_t pmm_page_to_pfn(pmm_t *pmm, const struct pmm_page *page);
/**
 * pmm_page_address - direct-map address of the frame; NULL without backing,
 * for NULL, and (with a report, as pmm_page_to_pfn()) for a page that is
 * not this instance's. The direct map is linear: frame pfn + i lies
 * i * pmm_page_size() bytes after frame pfn, so a contiguous range is one
 * contiguous buffer.
 */
void *pmm_page_address(pmm_t *pmm, const struct pmm_page *page);
/** pmm_virt_to_page - the page whose direct-map frame holds @addr, or NULL. */
struct pmm_page *pmm_virt_to_page(pmm_t *pmm, const void *addr);
/**
 * pmm_page_count - the page's reference count: for a page of a folio the
 * folio's count, as Linux's page_count(); 0 for a free or frozen page and
 * for the other pages of a non-compound block that was not split.
 */
int pmm_page_count(const struct pmm_page *page);
/**
 * pmm_page_mapcount - PTEs mapping the page (0 when unmapped). For a page of
 * a large folio whose address spaces count mappings per folio
 * (PMM_MAPCOUNT_FOLIO), the folio's total, as mainline's page_mapcount().
 */
int pmm_page_mapcount(const struct pmm_page *page);
/**
 * pmm_page_nid / pmm_page_zone - where the frame lives; for a page that is
 * not this instance's, -1 / PMM_NR_ZONE_TYPES with a report (as
 * pmm_page_to_pfn()).
 */
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
 * Serves from the local node first (the calling CPU's, cpu_to_node), then
 * the others (unless THISNODE); in each node from the highest zone @gfp
 * allows down to DMA32. Orders 0..3 and pageblock_order come from the
 * caller's CPU's pcp lists when it can. Below the low watermark the slow
 * path runs: the min watermark (lowered for HIGH and ATOMIC_RES), the
 * shrinkers (unless NOWAIT), a drain of every CPU's pcp lists, and last
 * the highatomic reserve.
 * Context: any thread. Never sleeps and never fails by waiting, but it
 * spins on zone and pcp locks, and its slow path calls the registered
 * shrinkers (unless PMM_GFP_NOWAIT) and drains every CPU's lists.
 * Return: the first page with refcount 1, or NULL (no memory above the
 * watermark, bad order).
 */
struct pmm_page *pmm_alloc_pages(pmm_t *pmm, pmm_gfp_t gfp, unsigned int order);
/**
 * pmm_alloc_pages_node - pmm_alloc_pages() preferring node @nid.
 * @nid: 0..PMM_MAX_NODES-1 (a node without memory falls back to the next
 * nodes, as a memoryless node does in Linux), or PMM_NUMA_NO_NODE for the
 * calling CPU's node. Any other value is refused: NULL and a log line.
 */
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
 * independent order-0 pages: the first keeps the block's references (1
 * unless the caller took more), every other page gets refcount 1.
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
 * Slots already holding a page are skipped. Pages come from the pcp list,
 * up to 256 per pcp lock hold; what it cannot give comes one page at a time
 * from the full allocator (which may run shrinkers and reclaim).
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
 * Contiguous ranges (docs/design.md sections 6 and 7)
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
 * Return: 0; -PMM_EBUSY if a frame is in use or a pageblock of the range
 * is isolated by a concurrent contig allocation (every pageblock keeps its
 * migratetype); -PMM_ERANGE for a frame that is not managed; -PMM_EINVAL
 * for an empty range or one that touches two zones; -PMM_ENOMEM when the
 * isolation state cannot be allocated (or an injected fault).
 */
int pmm_alloc_contig_range(pmm_t *pmm, pmm_pfn_t start, pmm_pfn_t end, pmm_gfp_t gfp);

/**
 * pmm_alloc_contig_frozen_range - pmm_alloc_contig_range() leaving every
 * frame frozen (refcount 0); give them back with
 * pmm_free_contig_frozen_range().
 */
int pmm_alloc_contig_frozen_range(pmm_t *pmm, pmm_pfn_t start, pmm_pfn_t end, pmm_gfp_t gfp);

/**
 * pmm_alloc_contig_pages - find and take @nr_pages free contiguous frames,
 * preferring node @nid (-1: the local node); only there with
 * PMM_GFP_THISNODE. The range starts on a multiple of @nr_pages rounded up
 * to a power of two (as the kernel's alloc_contig_pages() tries
 * candidates); for another alignment, pick the range and call
 * pmm_alloc_contig_range().
 * Return: the first page (each frame refcount 1) or NULL.
 */
struct pmm_page *pmm_alloc_contig_pages(pmm_t *pmm, unsigned long nr_pages,
					pmm_gfp_t gfp, int nid);

/* ------------------------------------------------------------------------
 * Folios (compound pages)
 * ------------------------------------------------------------------------ */

/** pmm_folio_alloc - a compound page of 2^@order frames, refcount 1. */
struct pmm_folio *pmm_folio_alloc(pmm_t *pmm, pmm_gfp_t gfp, unsigned int order);
/**
 * pmm_page_folio - the folio a page belongs to (its own folio if order 0).
 * This, pmm_folio_order(), pmm_folio_ref_count(), pmm_page_count() and
 * pmm_page_mapcount() take no instance, so they cannot place the pointer:
 * like the kernel's page_folio(), they read it, and must be given a page of
 * a live instance (pmm_folio_info() is the checked query).
 */
struct pmm_folio *pmm_page_folio(const struct pmm_page *page);
/**
 * pmm_folio_page - page @n of the folio; NULL when @n >= 2^order, and (with
 * a report) when @folio is not a folio head of this instance.
 */
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

/* What a folio is doing: its counts and the lists and caches it is on. */
struct pmm_folio_info {
	unsigned int order;
	int refcount;		/* every holder: mappings, LRU batch, swap cache, split queue, callers */
	int mapcount;		/* PTEs mapping any page of it */
	bool anon;		/* an address space's anonymous folio */
	bool lru;		/* on its node's LRU list */
	bool active;		/* ... the active one */
	bool swapcache;		/* in the swap cache (it holds 2^order references) */
	bool deferred_split;	/* queued for deferred split (the queue holds one reference) */
	uint64_t swap_entry;	/* first swap entry, when in the swap cache */
};

/**
 * pmm_folio_info - fill @out for the folio @page belongs to.
 * Context: a snapshot; the folio may change right after unless the caller
 * keeps its mappers still.
 * Return: 0, or -PMM_EINVAL when @page is not a page of @pmm whose block
 * is handed out (allocated, frozen or leaked as bad).
 */
int pmm_folio_info(pmm_t *pmm, const struct pmm_page *page, struct pmm_folio_info *out);

/**
 * pmm_fault_set - replace a fault attribute at run time and restart its
 * call count (tests sweep @attr.nth over the calls an operation makes).
 * Context: not thread safe: call it while no other thread uses @pmm
 * (the attribute is read without a lock on every allocation).
 * Return: 0 or -PMM_EINVAL.
 */
int pmm_fault_set(pmm_t *pmm, enum pmm_fault_kind kind, const struct pmm_fault_attr *attr);

/* ------------------------------------------------------------------------
 * Reclaim hooks
 * ------------------------------------------------------------------------ */

/* Asked to give back up to @nr_to_scan pages; returns how many it freed. */
typedef unsigned long (*pmm_shrink_fn)(void *arg, pmm_t *pmm, unsigned long nr_to_scan);

/**
 * pmm_register_shrinker - call @fn when an allocation has failed at the
 * min watermark (the slow path's first attempt), before the pcp lists are
 * drained; never for PMM_GFP_NOWAIT. The user-space analogue of direct
 * reclaim. The deferred split queue's own shrinker runs first; then the
 * registered ones, in registration order, until the request's worth
 * (32 << order pages) is freed, with no pmm lock held (but for an
 * address-space call's own mm lock: see the top of this file). A
 * shrinker may allocate: the thread's allocations do not reclaim again
 * while it reclaims (the kernel's PF_MEMALLOC).
 * Return: 0, -PMM_EINVAL for a NULL @fn, or -PMM_ENOMEM when all
 * PMM_MAX_SHRINKERS slots are taken.
 */
#define PMM_MAX_SHRINKERS 8
int pmm_register_shrinker(pmm_t *pmm, pmm_shrink_fn fn, void *arg);
/**
 * pmm_unregister_shrinker - remove the shrinker registered with (@fn, @arg).
 * A call already running may still finish after this returns.
 * Return: 0, or -PMM_EINVAL when no such shrinker is registered.
 */
int pmm_unregister_shrinker(pmm_t *pmm, pmm_shrink_fn fn, void *arg);

/* ------------------------------------------------------------------------
 * Address spaces (docs/design.md sections 11 and 12)
 *
 * A pmm_mm_t is one process's anonymous memory: a 4-level software page
 * table (512 entries per level, 4 KiB pages: an instance with another page
 * size gets -PMM_ENOTSUP), VMAs, and the folios its faults allocate from
 * the instance. Its teardown (unmap, destroy) goes through an mmu_gather
 * in one of three modes. Calls on one mm are serialised by the mm's lock;
 * calls on different mms, even ones sharing folios after a fork, run in
 * parallel.
 * ------------------------------------------------------------------------ */

typedef struct pmm_mm pmm_mm_t;

/* How the mmu_gather batches teardown (docs/design.md section 12). */
enum pmm_gather_mode {
	PMM_GATHER_PER_PAGE,	/* pre-2023: rmap removed at zap, one entry and one put per page */
	PMM_GATHER_RANGES,	/* 2023 patch: pfn ranges of one folio, rmap once per range after the flush */
	PMM_GATHER_ENCODED,	/* mainline: PTE batches per folio, an encoded nr_pages slot */
	PMM_NR_GATHER_MODES,
};

/* How a large folio counts its mappings. */
enum pmm_mapcount_model {
	PMM_MAPCOUNT_PER_PAGE,	/* per-page mapcounts + folio counters (2023 kernel; default) */
	PMM_MAPCOUNT_FOLIO,	/* folio counters only (mainline CONFIG_NO_PAGE_MAPCOUNT) */
};

/*
 * Called when translations in [start, end) changed and a TLB would need a
 * flush: before the pages an unmap or exit gathered are freed, after fork
 * write-protected the parent's anonymous pages ([0, 2^47)), and after a
 * copy-on-write replaced one page; the public gather (pmm_gather_*) with
 * no range passes start 0, end UINT64_MAX: everything. It runs with the
 * mm's lock held, as the kernel's flush runs under the page-table lock: it
 * must not call pmm_mm_* on the same mm.
 */
typedef void (*pmm_tlb_flush_fn)(void *arg, uint64_t start, uint64_t end);

struct pmm_mm_config {
	enum pmm_gather_mode gather;		/* default PMM_GATHER_PER_PAGE */
	enum pmm_mapcount_model mapcount;	/* default PMM_MAPCOUNT_PER_PAGE */
	pmm_tlb_flush_fn tlb_flush;		/* NULL: none (still counted) */
	void *tlb_arg;
	bool phase_times;	/* time teardown's rmap and free phases (rmap_ns,
				 * free_ns): two clock reads per page table and
				 * per batch freed; off by default */
};

/** pmm_mm_config_init - fill @cfg with the defaults. */
void pmm_mm_config_init(struct pmm_mm_config *cfg);

/**
 * pmm_mm_create - a new, empty address space on @pmm.
 * @cfg: NULL means defaults.
 * Return: 0; -PMM_EINVAL (bad config), -PMM_ENOTSUP (page size not 4 KiB),
 * -PMM_ENOMEM (the page-table root or metadata).
 */
int pmm_mm_create(pmm_t *pmm, const struct pmm_mm_config *cfg, pmm_mm_t **out);

/**
 * pmm_mm_destroy - exit: unmap everything through the mmu_gather, free
 * the page tables and the mm. NULL is ignored.
 */
void pmm_mm_destroy(pmm_mm_t *mm);
struct pmm_mm_stats;
/**
 * pmm_mm_destroy_stats - pmm_mm_destroy(), then the mm's statistics as the
 * exit left them in *@out (its teardown's TLB flushes, gather batches and
 * phase times included; RSS and tables 0), or all zero if @mm is NULL.
 */
void pmm_mm_destroy_stats(pmm_mm_t *mm, struct pmm_mm_stats *out);

#define PMM_MAP_WRITE    (1u << 0)	/* writable (else faults map read-only) */
#define PMM_MAP_POPULATE (1u << 1)	/* fault the whole range in now */

/**
 * pmm_mm_map_anon - an anonymous mapping of [@addr, @addr + @len).
 * @addr, @len: page aligned, @len > 0, inside the 48-bit user space
 * [0, 2^47), not overlapping another VMA.
 * @folio_order: faults allocate folios of this order (0..pageblock_order,
 * at most 9: a folio is mapped by PTEs of one table, as the kernel's mTHP
 * orders are), naturally aligned, falling back to smaller orders (skipping
 * order 1, as the kernel's anon mTHP does: an order-1 folio cannot be
 * queued for deferred split; a VMA of order 1 still gets order-1 folios).
 * Return: 0; -PMM_EINVAL; -PMM_ENOMEM. With POPULATE a failed fault undoes
 * the call: nothing stays mapped and no VMA remains (the kernel's
 * mmap(MAP_POPULATE) would keep the mapping and leave the failure to a
 * later fault; a library caller is better told now).
 */
int pmm_mm_map_anon(pmm_mm_t *mm, uint64_t addr, uint64_t len, unsigned int folio_order,
		    unsigned int flags);

/**
 * pmm_mm_unmap - munmap(): zap and free whatever is mapped in the range,
 * split VMAs, free page tables left empty. Unmapped space is no error.
 * Return: 0; -PMM_EINVAL (unaligned, empty or wrapping range, or one that
 * reaches 2^47); -PMM_ENOMEM (a VMA split could not get its metadata:
 * nothing is unmapped).
 */
int pmm_mm_unmap(pmm_mm_t *mm, uint64_t addr, uint64_t len);

/**
 * pmm_mm_fault - handle a fault at @addr: map a folio if nothing is mapped
 * (the VMA's order, or a smaller one), or copy a shared page on write (COW).
 * Return: 0; -PMM_EINVAL (no VMA, or write to a read-only VMA); -PMM_ENOMEM.
 */
int pmm_mm_fault(pmm_mm_t *mm, uint64_t addr, bool write);

/**
 * pmm_mm_access - fault as needed and give the direct-map address of the
 * byte at @addr (valid until the mapping changes).
 * Return: 0 with *@ptr set; errors as pmm_mm_fault(); -PMM_ENOTSUP on an
 * instance without backing (*@ptr NULL).
 */
int pmm_mm_access(pmm_mm_t *mm, uint64_t addr, bool write, void **ptr);

/** pmm_mm_lookup - the page mapped at @addr, or NULL; never faults. */
struct pmm_page *pmm_mm_lookup(pmm_mm_t *mm, uint64_t addr);
/**
 * pmm_mm_get_page - the page mapped at @addr with a reference on its folio,
 * taken under the mm's lock (the kernel's get_user_pages()), or NULL; never
 * faults. The reference keeps the folio, whole, past an unmap or the mm's
 * exit; drop it with pmm_put_page(). pmm_mm_lookup() then pmm_get_page() is
 * not the same: another thread's reclaim may split the folio between them.
 */
struct pmm_page *pmm_mm_get_page(pmm_mm_t *mm, uint64_t addr);

/**
 * pmm_mm_fork - a child sharing every anonymous folio read-only (both
 * sides write-protected: the next write copies).
 * Return: 0; -PMM_ENOMEM: no child; the parent's pages, contents,
 * refcounts and mapcounts are as before, but the PTEs copied before the
 * failure stay write-protected (as in the kernel), so the parent's next
 * write to one of them copies or reuses the page.
 */
int pmm_mm_fork(pmm_mm_t *parent, pmm_mm_t **child);

/**
 * pmm_mm_swapcache_add - put the folios mapped in the range into the swap
 * cache (one reference per page held by the cache, PG_swapcache set).
 * Teardown drops a folio from it once its last mapping goes.
 * Return: 0; -PMM_EINVAL (bad range); -PMM_ENOMEM.
 */
int pmm_mm_swapcache_add(pmm_mm_t *mm, uint64_t addr, uint64_t len);

/** pmm_swapcache_nr - folios in the instance's swap cache. */
unsigned long pmm_swapcache_nr(pmm_t *pmm);

/**
 * pmm_deferred_split_scan - examine up to @nr_to_scan folios of the
 * per-node deferred split queues, splitting each partially mapped one it
 * can to order 0 and freeing its unmapped pages. Also runs as a shrinker under allocation pressure.
 * Return: pages freed.
 */
unsigned long pmm_deferred_split_scan(pmm_t *pmm, unsigned long nr_to_scan);

/** pmm_lru_add_drain - move every CPU's pending LRU additions to the lists. */
void pmm_lru_add_drain(pmm_t *pmm);

struct pmm_mm_stats {
	uint64_t rss_anon;		/* pages mapped */
	uint64_t pgtable_pages;		/* page-table pages, the root included */
	uint64_t nr_vmas;
	uint64_t faults;		/* faults that mapped a page (pmm_mm_fault,
					 * pmm_mm_access, POPULATE), COW included */
	uint64_t cow_faults;		/* of which copies on write */
	uint64_t fault_fallbacks;	/* faults that fell back to a smaller order */
	uint64_t tlb_flushes;		/* TLB-flush callbacks (made or due) */
	uint64_t gather_batches;	/* page-sized gather batches allocated */
	uint64_t gather_forced_flushes;	/* flushes forced by a full gather */
	uint64_t rmap_ns, free_ns;	/* teardown time in rmap removal / freeing (phase_times) */
};

/** pmm_mm_stats_get - the mm's counters. */
void pmm_mm_stats_get(pmm_mm_t *mm, struct pmm_mm_stats *out);

/* Per node: the lruvec, the deferred split queue, the swap cache share. */
struct pmm_node_info {
	int nid;
	uint64_t lru_inactive_anon;	/* folios */
	uint64_t lru_active_anon;
	uint64_t lru_pages;		/* pages of the folios on the lists */
	uint64_t deferred_split;	/* folios queued */
};

/** pmm_node_info - fill @out for node @nid; 0 or -PMM_EINVAL. */
int pmm_node_info(pmm_t *pmm, int nid, struct pmm_node_info *out);

/* ------------------------------------------------------------------------
 * mmu_gather for code that keeps its own mappings (a hypervisor's guest
 * memory, a device MMU): collect pages whose mappings were removed, flush
 * the TLB once, then drop the references and free what reaches zero.
 * ------------------------------------------------------------------------ */

#define PMM_GATHER_WORDS 40
struct pmm_gather {
	uint64_t priv[PMM_GATHER_WORDS];	/* private; the layout is src/gather.h's */
};

/** pmm_gather_init - start a gather on the caller's stack. */
void pmm_gather_init(struct pmm_gather *tlb, pmm_t *pmm, enum pmm_gather_mode mode,
		     pmm_tlb_flush_fn flush, void *arg);
/**
 * pmm_gather_add - hand over one reference on each of @nr pages starting
 * at @page, all of one folio (a run of consecutive pfns). The references
 * are dropped after the next flush.
 * Return: true if the gather filled up and was flushed now.
 */
bool pmm_gather_add(struct pmm_gather *tlb, struct pmm_page *page, unsigned long nr);
/** pmm_gather_flush - TLB flush, then drop and free everything gathered. */
void pmm_gather_flush(struct pmm_gather *tlb);
/** pmm_gather_finish - flush and release the gather's batches. */
void pmm_gather_finish(struct pmm_gather *tlb);

/* ------------------------------------------------------------------------
 * vmalloc (docs/design.md section 13)
 *
 * Virtually contiguous memory over frames that need not be: the instance
 * reserves a window of vmalloc_size bytes at create (PROT_NONE), hands out
 * areas of it (free space in a tree augmented with the largest free size
 * below each node, a guard page after each area) and maps each area's
 * frames from the memfd at their offsets, one mmap per run of consecutive
 * frames, so the same bytes are reachable through the vmalloc address and
 * through pmm_page_address(). With PMM_BACKING_NONE an area is bookkeeping
 * only: its address lies in the reserved window and must not be
 * dereferenced (useful to simulate large machines). PMM_BACKING_ANON and
 * PMM_BACKING_USER have no file to map frames from: the calls return NULL
 * with a log line.
 *
 * Freed areas are purged lazily, as the kernel's vmap_lazy_nr: an area's
 * address range stays reserved and is reused only after a purge, which
 * unmaps every lazily freed area at once (one call per run of adjacent
 * areas) when vmap_lazy_max pages have gathered or the freed areas hold
 * 8192 process mappings (vm.max_map_count counts them), when an
 * allocation finds no room or an mmap fails, or at pmm_vmalloc_purge().
 * pmm has no threads of its own, so the purge runs in the call that
 * triggers it (the kernel hands it to a workqueue). Until then the freed
 * area's old
 * mapping still reaches the freed frames, as a stale TLB entry does in the
 * kernel: a use after pmm_vfree() is the caller's bug and is not trapped.
 * Every call here is thread safe.
 * ------------------------------------------------------------------------ */

#define PMM_VMAP_PUT_PAGES (1u << 0)	/* pmm_vmap: the area owns the pages' references
					 * (kernel VM_MAP_PUT_PAGES): each page must be an
					 * order-0 page holding its own (a folio's page and
					 * an unsplit block's are refused); pmm_vfree and
					 * also pmm_vunmap drop one
					 * per page (the kernel's vunmap would leak them) */

/**
 * pmm_vmalloc - @size bytes (rounded up to pages) of virtually contiguous
 * memory.
 * Pages come as the largest non-compound blocks that fit (never above the
 * order the remaining size needs, nor max_order), each split to order 0;
 * when a high order fails the next lower one is tried, and the last pages
 * come from pmm_alloc_pages_bulk(). A failure part-way gives everything
 * back.
 * @gfp: PMM_GFP_* for the pages (ZERO: see pmm_vzalloc; COMP is ignored).
 * Return: the area's address, or NULL (no memory, no room in the window, a
 * size of 0, an instance without a window or with a backing that cannot
 * map: the reason is logged, but for the first three under PMM_GFP_NOWARN).
 */
void *pmm_vmalloc(pmm_t *pmm, size_t size, pmm_gfp_t gfp);
/** pmm_vzalloc - pmm_vmalloc() of zeroed memory. */
void *pmm_vzalloc(pmm_t *pmm, size_t size, pmm_gfp_t gfp);
/**
 * pmm_vmalloc_node - pmm_vmalloc() with pages from node @nid first
 * (PMM_NUMA_NO_NODE: local). Each block's allocation falls back along the
 * zonelist as pmm_alloc_pages_node() does, so a high-order block may come
 * from another node before smaller ones from @nid (PMM_GFP_THISNODE: never).
 */
void *pmm_vmalloc_node(pmm_t *pmm, size_t size, pmm_gfp_t gfp, int nid);
/**
 * pmm_vmalloc_huge - pmm_vmalloc() whose area is aligned to the PMD size
 * (2 MiB at 4 KiB pages) when @size is at least that and there is such
 * room (else page aligned, as the kernel's fallback), as the kernel's
 * vmalloc_huge() so that the area could be mapped with huge entries. The
 * size is not rounded up to a PMD multiple: pmm maps pages, not PMDs.
 */
void *pmm_vmalloc_huge(pmm_t *pmm, size_t size, pmm_gfp_t gfp);
/**
 * pmm_vmalloc_node_range - the general form (kernel __vmalloc_node()).
 * @align: a power of two >= the page size, or 0 for the page size.
 * @caller: the tag pmm_vmalloc_info() shows; NULL: the return address.
 */
void *pmm_vmalloc_node_range(pmm_t *pmm, size_t size, size_t align, pmm_gfp_t gfp, int nid,
			     const char *caller);

/**
 * pmm_vfree - free an area of pmm_vmalloc() or pmm_vmap(): its pages are
 * counted off the vmalloc statistic one by one, then freed with
 * pmm_free_pages_bulk() (runs of consecutive frames as batched contig
 * chunks), or page by page when the instance has contig_per_page. A vmap
 * area frees only what PMM_VMAP_PUT_PAGES gave it.
 * NULL is ignored. An address that is not the start of a live area (an
 * inner address, a double free, another instance's area) is reported
 * through bad_page_fn (pfn (pmm_pfn_t)-1) and nothing is freed.
 */
void pmm_vfree(pmm_t *pmm, const void *addr);

/**
 * pmm_vmap - map @count caller pages (each mapped once, in array order)
 * virtually contiguously: allocated pages of @pmm that hold a reference
 * themselves or through their folio (order-0 pages, pages of a split
 * block, a folio's pages); a tail of an unsplit non-compound block has no
 * reference of its own and is refused. The array is copied.
 * @flags: 0 or PMM_VMAP_PUT_PAGES.
 * Return: the address, or NULL (a page that is not an allocated page of
 * @pmm is reported; no room; no memory for the bookkeeping).
 */
void *pmm_vmap(pmm_t *pmm, struct pmm_page **pages, unsigned int count, unsigned int flags);
/**
 * pmm_vunmap - unmap an area of pmm_vmap(), leaving its pages to the
 * caller unless it was made with PMM_VMAP_PUT_PAGES. A pmm_vmalloc() area
 * is refused (reported; free it with pmm_vfree()), as is an address that
 * is not a live area's start.
 */
void pmm_vunmap(pmm_t *pmm, const void *addr);

/** pmm_vmalloc_to_page - the page mapped at @addr of a live area, or NULL. */
struct pmm_page *pmm_vmalloc_to_page(pmm_t *pmm, const void *addr);
/** pmm_is_vmalloc_addr - @addr lies in the instance's vmalloc window. */
bool pmm_is_vmalloc_addr(pmm_t *pmm, const void *addr);
/** pmm_vmalloc_purge - unmap and release every lazily freed area now. */
void pmm_vmalloc_purge(pmm_t *pmm);

struct pmm_vmalloc_stats {
	uint64_t window_bytes;		/* the reserved window */
	uint64_t nr_areas;		/* live areas (vmalloc and vmap) */
	uint64_t nr_vmalloc_pages;	/* pages pmm_vmalloc() holds (kernel NR_VMALLOC) */
	uint64_t lazy_pages;		/* freed areas' pages, guard pages included, waiting
					 * for a purge (the kernel's vmap_lazy_nr) */
	uint64_t free_bytes;		/* in the free tree (excludes lazy areas) */
	uint64_t largest_free;		/* the largest free block */
	uint64_t purges;		/* purges that released something */
	uint64_t map_calls;		/* mmap calls that mapped frames (one per pfn run) */
	uint64_t unmap_calls;		/* calls that unmapped purged areas */
	uint64_t free_step_ns;		/* with vmalloc_times: ns pmm_vfree() spent freeing pages */
};
/** pmm_vmalloc_stats - a snapshot; 0, or -PMM_EINVAL for a NULL @out. */
int pmm_vmalloc_stats(pmm_t *pmm, struct pmm_vmalloc_stats *out);
/**
 * pmm_vmalloc_info - /proc/vmallocinfo: one line per live area (range,
 * size with guard page, caller tag or return address, pages, "vmalloc" or
 * "vmap", pages per node) and one per lazily freed range ("unpurged
 * vm_area"); or one JSON object: the pmm_vmalloc_stats() totals, "areas"
 * and "unpurged".
 * Context: writes while holding the area locks (the kernel's seq_file walk
 * holds its lock too): a stream whose writer calls back into the instance
 * must not call any pmm_vmalloc*, pmm_vfree, pmm_vmap, pmm_vunmap or
 * pmm_check (which takes them too), and a slow stream stalls them all
 * meanwhile.
 */
#if __STDC_HOSTED__
int pmm_vmalloc_info(pmm_t *pmm, FILE *f, int json);
#endif

/* ------------------------------------------------------------------------
 * Statistics and introspection
 * ------------------------------------------------------------------------ */

/*
 * X(name, description): one list for the struct, the names and the
 * printers. The page counters (pgalloc, pgfree, leaked_pages) count frames,
 * as the kernel's vmstat PGALLOC/PGFREE do, so they end equal whichever
 * contig path freed a range; every other counter counts events or blocks,
 * and batching legitimately changes those (one order-9 chunk is one
 * pcp_free where the per-page path makes 512).
 */
#define PMM_STATS(X)                                                           \
	X(pgalloc, "pages allocated (frames)")                                 \
	X(pgfree, "pages freed (frames)")                                      \
	X(alloc_fail, "allocations that returned NULL")                        \
	X(pcp_alloc, "blocks taken from a pcp list")                           \
	X(pcp_free, "blocks put on a pcp list")                                \
	X(pcp_refill, "pcp refills from the buddy (one zone-lock hold each)")  \
	X(pcp_drain, "pcp batches returned to the buddy")                      \
	X(pcp_lock_miss, "pcp trylock failures that took the zone path")       \
	X(pcp_rseq_fence, "rseq mode: pcp locks taken off their CPU, which fenced it") \
	X(zone_lock_wait, "zone lock acquisitions that waited for another CPU") \
	X(buddy_alloc, "blocks taken from the buddy lists")                    \
	X(buddy_free, "blocks given to __free_one_page")                       \
	X(buddy_merge, "buddy merges")                                         \
	X(buddy_split, "blocks split by expand()")                             \
	X(steal_block, "pageblocks claimed by a fallback")                     \
	X(steal_page, "blocks stolen from another migratetype")                \
	X(contig_chunks, "chunks freed by the batched contig path")            \
	X(bad_page, "bad pages reported")                                      \
	X(leaked_pages, "frames deliberately leaked as bad (frames)")          \
	X(shrinker_calls, "shrinker invocations")                              \
	X(lru_add, "folios added to an LRU list")                              \
	X(deferred_split, "folios queued for deferred split")                  \
	X(deferred_split_lock, "deferred split queue lock acquisitions")       \
	X(split_folios, "folios split by the deferred split scan")             \
	X(split_freed, "unmapped pages the split freed (frames)")              \
	X(swapcache_add, "pages added to the swap cache")                      \
	X(swapcache_del, "pages removed from the swap cache (a split: its unmapped ones)") \
	X(fault_injected, "failures injected by a fault attribute")

struct pmm_stats {
#define PMM_STAT_FIELD(name, desc) uint64_t name;
	PMM_STATS(PMM_STAT_FIELD)
#undef PMM_STAT_FIELD
};

/** pmm_stats_get - a snapshot of the counters, summed over CPUs and zones. */
void pmm_stats_get(pmm_t *pmm, struct pmm_stats *out);
#if __STDC_HOSTED__
/** pmm_stats_print - the counters as "name value" lines or one JSON object. */
int pmm_stats_print(pmm_t *pmm, FILE *f, int json);
#endif

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

/*
 * The printers: text as the kernel's /proc files, or one JSON object.
 * Return: 0, or -PMM_EINVAL when the stream reports an error. Hosted
 * builds only (src/print.c): a freestanding core has no stdio.
 */
#if __STDC_HOSTED__
/** pmm_buddyinfo - /proc/buddyinfo per zone, or JSON. */
int pmm_buddyinfo(pmm_t *pmm, FILE *f, int json);
/** pmm_pagetypeinfo - /proc/pagetypeinfo: free blocks per migratetype and order. */
int pmm_pagetypeinfo(pmm_t *pmm, FILE *f, int json);
/** pmm_zoneinfo - layout, watermarks, free counts per zone. */
int pmm_zoneinfo(pmm_t *pmm, FILE *f, int json);
/**
 * pmm_mminfo - the address-space side: per node the LRU lists and the
 * deferred split queue, the swap cache, and every live mm's counters.
 * Context: writes to @f while holding the instance's list of mms: a stream
 * whose writer calls back into the instance must not create or destroy an
 * mm, nor call pmm_nr_mms, pmm_mminfo or pmm_check (all take that lock).
 */
int pmm_mminfo(pmm_t *pmm, FILE *f, int json);
#endif
/** pmm_nr_mms - live address spaces of the instance. */
unsigned int pmm_nr_mms(pmm_t *pmm);

/**
 * pmm_check - verify every invariant of docs/design.md section 10.
 * Context: the caller must keep other threads from changing the instance.
 * Return: 0; -PMM_ECORRUPT after logging each violation (up to a limit);
 * -PMM_ENOMEM when its scratch memory cannot be had (nothing was checked).
 */
int pmm_check(pmm_t *pmm);

/** pmm_free_frames / pmm_managed_frames / pmm_leaked_frames - totals. */
uint64_t pmm_free_frames(pmm_t *pmm);	/* buddy + pcp */
uint64_t pmm_managed_frames(pmm_t *pmm);
uint64_t pmm_leaked_frames(pmm_t *pmm);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* PMM_H */
