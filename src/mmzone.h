/* SPDX-License-Identifier: MIT */
/*
 * mmzone.h - the machine: nodes (the kernel's pglist_data), their zones and
 * zonelists, each zone's free_area and per-CPU lists, the memmap sections,
 * and struct pmm, the instance that owns them all; plus the pfn and
 * pageblock arithmetic every mechanism shares.
 *
 * Locking (docs/design.md, "Locking"):
 *   zone->lock     free_area lists, zone->free_pages, pageblock migratetypes,
 *                  zone->stats
 *   pcp->lock      one CPU's pcp lists of one zone, pcp->count, pcp->stats;
 *                  taken with trylock on the fast paths
 *   pmm->log_lock  the log rate limiter
 *   shrinker_lock  the shrinker registry
 *   atomics        refcount, mapcount, flags of allocated pages, pmm->gstats
 * Lock order: pcp->lock before zone->lock.
 */
#ifndef PMM_MMZONE_H
#define PMM_MMZONE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pmm.h"
#include "compiler.h"
#include "list.h"
#include "page.h"
#include "spinlock.h"

#define MAX_ZONES (PMM_MAX_NODES * PMM_NR_ZONE_TYPES)
#define NR_PCP_ORDERS 5			/* orders 0..3 and pageblock_order */
#define PCP_MAX_LOW_ORDER 3		/* PAGE_ALLOC_COSTLY_ORDER */
#define NR_PCP_LISTS (NR_PCP_ORDERS * PMM_MIGRATE_PCPTYPES)
#define PCP_RSEQ_NR_ORDERS 2		/* rseq mode's arrays: order 0, pageblock_order */

struct free_area {
	struct pmm_list free_list[PMM_MIGRATE_TYPES];	/* per migratetype */
	uint64_t nr_free;				/* blocks on all lists */
};

/*
 * In rseq mode (pcp_rseq.h) the order-0 pages, or the pageblock_order
 * blocks, of one migratetype, in place of that pcp list: slot[0..count)
 * bottom (oldest) to top. The slots make the list 2 KiB (254 of them on
 * x86-64), so a section finds the @mt list with a shift.
 */
#define PCP_RSEQ_SLOTS ((int)((2048 - 16) / sizeof(struct pmm_page *)))
struct pcp_rseq_list {
	uint64_t word;			/* count 0-11, pushes 12-55, chunks 56-63: the commit */
	uint32_t cap;			/* count stays below or at this (pcp_init()) */
	uint32_t base;			/* count at the last write under the lock: pops are
					 * pushes - (count - base) (pcp_rseq_fold_locked()) */
	struct pmm_page *slot[PCP_RSEQ_SLOTS];
};

struct pmm_pcp {
	pmm_spinlock_t lock;		/* trylock on fast paths; first: rseq sections read it */
	int count;			/* frames on the lists (rseq mode: not the rq arrays) */
	int high;			/* drain when count reaches this */
	int batch;			/* frames per refill / drain step */
	unsigned int drain_rr;		/* next list to drain from */
	struct pmm_list lists[NR_PCP_LISTS];	/* [order index][migratetype] */
	struct pmm_stats stats;		/* under lock */
	/* rseq mode's order-0 pages [0] and pageblock_order blocks [1] (pcp_rseq_oi()) */
	struct pcp_rseq_list rq[PCP_RSEQ_NR_ORDERS][PMM_MIGRATE_PCPTYPES];
} PMM_ALIGNED;

struct pmm_zone {
	pmm_spinlock_t lock PMM_ALIGNED;	/* buddy lists and counters */
	struct free_area free_area[PMM_MAX_ORDER_LIMIT + 1];
	_Atomic int64_t free_pages;	/* frames on buddy lists; written under lock */
	struct pmm_stats stats;		/* under lock */

	struct pmm *pmm PMM_ALIGNED;	/* back pointer */
	unsigned int id;		/* nid * PMM_NR_ZONE_TYPES + type; stored in page flags */
	uint32_t owned_flags;		/* the low flags word of a clean allocated page here:
					 * PG_owned and the id (free_pcp_fast()) */
	int nid;			/* node */
	enum pmm_zone_type type;
	bool populated;			/* has managed frames */
	pmm_pfn_t start_pfn, end_pfn;	/* spanned [start, end) */
	uint64_t managed_pages;		/* frames in regions */
	uint64_t wmark[3];		/* WMARK_MIN/LOW/HIGH, frames */
	uint64_t lowmem_reserve;	/* kept from requests that could use a higher zone */
	uint64_t nr_reserved_highatomic;	/* frames in HIGHATOMIC pageblocks; under lock */
	/* The order-0 pcp hit's mark per zonelist (zone_fast_mark_update()) */
	uint64_t fast_mark[2];
	pmm_pfn_t pb_base;		/* pageblock-aligned start for pageblock_mt[] */
	unsigned int pageblock_order;	/* pmm's, here so the free path's lookup is one load */
	uint8_t *pageblock_mt;		/* migratetype per pageblock, under lock */
	uintptr_t pageblock_mt_pfn;	/* its address less pb_base's pageblock number, so
					 * that pfn's byte is at this + (pfn >> pageblock_order) */
	size_t nr_pageblocks;
	struct pmm_pcp *pcp;		/* [nr_cpus] */
	int pcp_batch, pcp_high;	/* every CPU's pcp starts with these */
};

enum { WMARK_MIN, WMARK_LOW, WMARK_HIGH };

/* Zones a request may use, in order: preferred node first, highest zone first. */
struct zonelist {
	unsigned int nr;
	struct pmm_zone *zones[MAX_ZONES];
};

enum { ZONELIST_ALL, ZONELIST_DMA32, NR_ZONELISTS };

enum lru_list { LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, NR_LRU_LISTS };

/* A node's LRU lists (lru.c); anonymous folios only. */
struct lruvec {
	pmm_spinlock_t lock PMM_ALIGNED;	/* lists, counts, PG_lru/PG_active changes of listed folios */
	struct pmm_list lists[NR_LRU_LISTS];
	uint64_t nr_folios[NR_LRU_LISTS];	/* under lock */
	uint64_t nr_pages;			/* pages of the listed folios; under lock */
};

/*
 * A node's deferred split queue (deferred_split.c): partially mapped large
 * anonymous folios, linked through folio->deferred_list. The queue holds a
 * reference on each folio it lists (the reference-drop rule, page_ref.h).
 */
struct deferred_split {
	pmm_spinlock_t lock PMM_ALIGNED;	/* queue, len, PG_deferred */
	struct pmm_list queue;
	uint64_t len;
};

/*
 * struct pmm_node - one NUMA node (the kernel's pglist_data): its zones,
 * the zonelists requests preferring it walk, its lruvec and its deferred
 * split queue.
 */
struct pmm_node {
	struct pmm_zone node_zones[PMM_NR_ZONE_TYPES];	/* DMA32, Normal */
	struct zonelist node_zonelists[NR_ZONELISTS];	/* every zone / DMA32 only */
	int node_id;
	bool populated;			/* some zone has managed frames */
	struct lruvec lruvec;		/* lru.c */
	struct deferred_split split_queue;	/* deferred_split.c */
};

/* The per-CPU LRU add batch (kernel lru_add folio_batch): each entry holds a reference. */
#define LRU_BATCH 31
struct lru_batch {
	pmm_spinlock_t lock;		/* any thread may drain any CPU's batch */
	unsigned int nr;
	struct pmm_folio *folios[LRU_BATCH];
} PMM_ALIGNED;

/* One swap entry's slot in the swap cache's open-addressed index. */
struct swap_slot {
	uint64_t entry;			/* 0: empty; SWAP_TOMBSTONE: deleted */
	struct pmm_folio *folio;
};

/*
 * Freed metadata shadows of kpage frames, kept for reuse (kpage.c): at
 * most 4 MiB, the tables of a GiB of mappings torn down and made again.
 */
#define KPAGE_SHADOW_CACHE 1024
struct kpage_cache {
	pmm_spinlock_t lock;		/* everything below */
	unsigned int nr;
	void *shadow[KPAGE_SHADOW_CACHE];
};

/* The swap cache (swap_cache.c): swap entry -> folio, one reference per page. */

struct swap_cache {
	pmm_spinlock_t lock;		/* everything below */
	struct swap_slot *slots;	/* meta memory, cap entries */
	uint64_t cap;			/* a power of two */
	uint64_t used;			/* slots not empty (tombstones included) */
	uint64_t nr_folios, nr_pages;
	uint64_t next_entry;		/* entries are handed out once, never reused */
};

struct mem_section {
	struct pmm_page *memmap;	/* this section's pages; NULL = absent */
	pmm_pfn_t start_pfn;		/* first pfn of the section */
};

/* A present section's memmap chunk, for finding a page pointer's section by address. */
struct memmap_chunk {
	uintptr_t base;			/* ms->memmap */
	pmm_pfn_t start_pfn;		/* ms->start_pfn */
};

struct fault_state {
	struct pmm_fault_attr attr;	/* the attribute in force */
	_Atomic uint64_t calls;		/* eligible calls so far */
	_Atomic int64_t failed;		/* failures counted against attr.times */
};

struct pmm_shrinker {
	pmm_shrink_fn fn;
	void *arg;
};

struct vmap_state;

/* struct pmm - one machine's physical memory; everything hangs off it (no globals). */
struct pmm {
	struct pmm_config cfg;		/* resolved configuration */
	unsigned int page_shift;
	unsigned int max_order;
	unsigned int pageblock_order;
	unsigned int pfn_section_shift;	/* section_shift - page_shift */
	unsigned int nr_cpus;
	bool pcp_enabled;
	bool pcp_rseq;			/* order-0 pcp fast path in rseq sections (pcp_rseq.h) */
	long rseq_off;			/* the rseq area from the thread pointer (os_rseq_offset()) */
	bool check_full;		/* PMM_CHECK_PAGES_FULL: every page of a block is checked */
	bool cpu_nodes;			/* some cpu_to_node[] entry is not node 0 */
	bool pcp_fast;			/* the order-0 rseq hit may be tried (pcp_fast_update()) */
	bool pcp_free_fast;		/* and the order-0 rseq free: rseq mode, pcp_zone[ALL] */

	/* memmap.c */
	pmm_pfn_t min_pfn, max_pfn;	/* lowest present, one past highest */
	pmm_pfn_t first_section;	/* section number of min_pfn */
	uint64_t nr_sections;		/* table entries from first_section */
	struct mem_section *sections;
	struct memmap_chunk *chunks;	/* present sections by memmap address (both models) */
	uint64_t nr_chunks;
	uint64_t *place_bias;		/* per granule from place_lo: pfn - address / 64 of the
					 * memmap there, or PLACE_NONE (memmap.c) */
	uintptr_t place_lo;		/* the lowest chunk's base */
	uint64_t nr_granules;		/* 0: no table, the binary search places */
	unsigned int place_shift;	/* log2 of a granule's bytes */
	struct pmm_page *vmemmap;	/* PMM_MEMMAP_VMEMMAP: page of first_section's pfn 0 */
	size_t memmap_bytes;		/* vmemmap reservation */
	char *direct_map;		/* frame min_pfn's address; NULL without backing */
	size_t direct_map_size;
	int memfd;

	/* zone.c */
	struct pmm_node nodes[PMM_MAX_NODES];
	/* zone_by_id(): one load, not a node's stride; every id a page's flags can hold */
	struct pmm_zone *zone_table[PAGE_ZONE_MASK + 1];
	struct pmm_zone *pcp_zone[NR_ZONELISTS];	/* node 0's preferred zone per zonelist, or NULL */
	pmm_pfn_t zone_breaks[2 * PMM_MAX_REGIONS + 1];	/* sorted pfns where the zone may change */
	unsigned int nr_zone_breaks;
	unsigned int nr_nodes;		/* highest populated node + 1 */
	uint64_t managed_pages;

	/* init.c */
	pmm_spinlock_t shrinker_lock;	/* shrinkers[], nr_shrinkers */
	struct pmm_shrinker shrinkers[PMM_MAX_SHRINKERS];
	unsigned int nr_shrinkers;

	/* mm.c, lru.c, swap_cache.c */
	pmm_spinlock_t mm_list_lock;	/* mm_list */
	struct pmm_list mm_list;	/* every live address space */
	struct lru_batch *lru_batches;	/* [nr_cpus] */
	struct swap_cache swap_cache;
	struct kpage_cache kpage_cache;	/* kpage.c */
	struct vmap_state *vmap;	/* vmap_area.c: the vmalloc window; NULL: none */
	bool vmalloc_auto;		/* the window's size was PMM_AUTO: it may shrink to fit */

	/* fault.c */
	struct fault_state fault[PMM_NR_FAULT_KINDS];

	/* page_alloc.c */
	struct pmm_stats gstats;	/* updated with atomic builtins */
	pmm_spinlock_t log_lock;
	uint64_t log_window_start;	/* ns; under log_lock */
	unsigned int log_in_window;
	uint64_t log_suppressed;
};

/* Counters: stat_add under the lock that guards @st, gstat_add anywhere. */
#define stat_add(st, name, n) ((st)->name += (uint64_t)(n))
#define gstat_add(pmm, name, n)                                                \
	__atomic_fetch_add(&(pmm)->gstats.name, (uint64_t)(n), __ATOMIC_RELAXED)

/*
 * zone_lock / zone_unlock - the zone lock, counting the acquisitions that
 * had to wait (zone_lock_wait: the contention pmm bench scale reports).
 * The count is taken once the lock is held, so it needs no atomic.
 */
static inline void zone_lock(struct pmm_zone *zone)
{
	if (unlikely(spin_lock_waited(&zone->lock)))
		stat_add(&zone->stats, zone_lock_wait, 1);
}

static inline void zone_unlock(struct pmm_zone *zone)
{
	spin_unlock(&zone->lock);
}

static inline struct pmm_node *NODE_DATA(const pmm_t *pmm, int nid)
{
	return (struct pmm_node *)&pmm->nodes[nid];
}

/* Zone @id (a page's, from its flags): the order-0 free finds it once per page. */
static inline struct pmm_zone *zone_by_id(const pmm_t *pmm, unsigned int id)
{
	return pmm->zone_table[id];
}

static inline struct pmm_zone *page_zone(const pmm_t *pmm, const struct pmm_page *page)
{
	return zone_by_id(pmm, page_zone_id(page));
}

/* for_each_zone's step: point *@zone at zone @id; false past the last. */
static inline bool zone_iter(const pmm_t *pmm, unsigned int id, struct pmm_zone **zone)
{
	if (id >= MAX_ZONES)
		return false;
	*zone = zone_by_id(pmm, id);
	return true;
}

/* Every zone of every node, populated or not, in id order. */
#define for_each_zone(pmm, zone)                                               \
	for (unsigned int zone##_id = 0; zone_iter(pmm, zone##_id, &(zone)); zone##_id++)
#define for_each_populated_zone(pmm, zone)                                     \
	for_each_zone(pmm, zone)                                               \
		if (!(zone)->populated) {} else

/*
 * zone_fast_mark_update - what the order-0 pcp hit compares the zone's
 * free frames with, for requests of each zonelist: zone_watermark_ok() at
 * WMARK_LOW for one frame without reserve flags, folded into one number
 * (the low mark, the lowmem reserve for requests that could use a higher
 * zone, the highatomic reserve they may not use). Kept where its parts
 * change: the watermark setup at create and the highatomic accounting,
 * under the zone lock; the hit reads it without.
 */
static inline void zone_fast_mark_update(struct pmm_zone *zone)
{
	uint64_t m = zone->wmark[WMARK_LOW] +
		     __atomic_load_n(&zone->nr_reserved_highatomic, __ATOMIC_RELAXED);

	__atomic_store_n(&zone->fast_mark[ZONELIST_DMA32], m, __ATOMIC_RELAXED);
	__atomic_store_n(&zone->fast_mark[ZONELIST_ALL], m + zone->lowmem_reserve, __ATOMIC_RELAXED);
}

/* Precondition: 0 <= @nid < PMM_MAX_NODES. */
static inline const struct zonelist *zonelist_for(const pmm_t *pmm, int nid, pmm_gfp_t gfp)
{
	PMM_BUG_ON(nid < 0 || nid >= PMM_MAX_NODES);
	return &pmm->nodes[nid].node_zonelists[gfp & PMM_GFP_DMA32 ? ZONELIST_DMA32 : ZONELIST_ALL];
}

static inline unsigned long pageblock_nr_pages(const pmm_t *pmm)
{
	return 1UL << pmm->pageblock_order;
}

static inline pmm_pfn_t pageblock_start_pfn(const pmm_t *pmm, pmm_pfn_t pfn)
{
	return pfn & ~((pmm_pfn_t)pageblock_nr_pages(pmm) - 1);
}

static inline pmm_pfn_t buddy_pfn(pmm_pfn_t pfn, unsigned int order)
{
	return pfn ^ ((pmm_pfn_t)1 << order);
}

static inline unsigned int pfn_section_nr(const pmm_t *pmm, pmm_pfn_t pfn)
{
	return (unsigned int)((pfn >> pmm->pfn_section_shift) - pmm->first_section);
}

static inline bool same_section(const pmm_t *pmm, pmm_pfn_t a, pmm_pfn_t b)
{
	return (a >> pmm->pfn_section_shift) == (b >> pmm->pfn_section_shift);
}

/* The first pfn of the section after @pfn's. */
static inline pmm_pfn_t next_section_pfn(const pmm_t *pmm, pmm_pfn_t pfn)
{
	return ((pfn >> pmm->pfn_section_shift) + 1) << pmm->pfn_section_shift;
}

/* Largest order a chunk at @pfn may have: its alignment (pfn 0: any). */
static inline unsigned int pfn_align_order(pmm_pfn_t pfn, unsigned int max_order)
{
	unsigned int o = pfn ? (unsigned int)__builtin_ctzll(pfn) : max_order;

	return o < max_order ? o : max_order;
}

static inline unsigned int ilog2_ul(unsigned long n)
{
	return 63u - (unsigned int)__builtin_clzl(n);
}

static inline bool migratetype_is_mergeable(int mt)
{
	return mt < PMM_MIGRATE_PCPTYPES;
}

/*
 * next_zone_break - the first pfn above @pfn where the zone may change (a
 * region edge or the DMA32 end), or max_pfn. A run of pages below it lies
 * in one zone, so a chunk built from it never crosses a zone or node.
 */
static inline pmm_pfn_t next_zone_break(const pmm_t *pmm, pmm_pfn_t pfn)
{
	for (unsigned int i = 0; i < pmm->nr_zone_breaks; i++)
		if (pmm->zone_breaks[i] > pfn)
			return pmm->zone_breaks[i];
	return pmm->max_pfn;
}

#endif /* PMM_MMZONE_H */
