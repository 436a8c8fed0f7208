/* SPDX-License-Identifier: MIT */
/*
 * internal.h - private structures of pmm and the prototypes shared between
 * its files, grouped by the file that defines them.
 *
 * Locking (design.md section 10):
 *   zone->lock     free_area lists, zone->free_pages, pageblock migratetypes,
 *                  zone->stats
 *   pcp->lock      one CPU's pcp lists of one zone, pcp->count, pcp->stats;
 *                  taken with trylock on the fast paths
 *   pmm->log_lock  the log rate limiter
 *   atomics        refcount, mapcount, flags of allocated pages, pmm->gstats
 * Lock order: pcp->lock before zone->lock. Functions that expect a lock held
 * end in _locked and assert it in debug builds.
 */
#ifndef PMM_INTERNAL_H
#define PMM_INTERNAL_H

#include "pmm.h"
#include "os.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------
 * Assertions: PMM_DEBUG builds check, release builds never abort.
 * ------------------------------------------------------------------------ */

#ifdef PMM_DEBUG
void pmm_assert_fail(const char *expr, const char *file, int line);
#define PMM_BUG_ON(cond)                                                       \
	do {                                                                   \
		if (__builtin_expect(!!(cond), 0))                             \
			pmm_assert_fail(#cond, __FILE__, __LINE__);            \
	} while (0)
#else
#define PMM_BUG_ON(cond) ((void)sizeof(cond))
#endif

#define PMM_CACHELINE 64
#define PMM_ALIGNED __attribute__((aligned(PMM_CACHELINE)))

/* ------------------------------------------------------------------------
 * Intrusive lists (free lists, pcp lists, later the LRU)
 * ------------------------------------------------------------------------ */

struct pmm_list {
	struct pmm_list *next, *prev;
};

static inline void list_init(struct pmm_list *l) { l->next = l->prev = l; }
static inline bool list_empty(const struct pmm_list *l) { return l->next == l; }

static inline void list_insert(struct pmm_list *n, struct pmm_list *prev,
			       struct pmm_list *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

static inline void list_add(struct pmm_list *n, struct pmm_list *head)
{
	list_insert(n, head, head->next);
}

static inline void list_add_tail(struct pmm_list *n, struct pmm_list *head)
{
	list_insert(n, head->prev, head);
}

static inline void list_del(struct pmm_list *n)
{
	n->next->prev = n->prev;
	n->prev->next = n->next;
	n->next = n->prev = NULL;
}

#define container_of(ptr, type, member)                                        \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ------------------------------------------------------------------------
 * Spinlock: test-and-test-and-set, yielding after a bounded spin so that
 * more threads than CPUs still make progress.
 * ------------------------------------------------------------------------ */

typedef struct {
	atomic_int locked;		/* 0 free, 1 held */
#ifdef PMM_DEBUG
	const void *_Atomic owner;	/* holder's thread marker, for _locked asserts */
#endif
} pmm_spinlock_t;

void spin_lock_slow(pmm_spinlock_t *l);
const void *pmm_thread_marker(void);

#ifdef PMM_DEBUG
/* @mine: record the calling thread as owner, else clear the owner. */
static inline void spin_set_owner(pmm_spinlock_t *l, bool mine)
{
	atomic_store_explicit(&l->owner, mine ? pmm_thread_marker() : NULL, memory_order_relaxed);
}
static inline bool spin_held_by_me(pmm_spinlock_t *l)
{
	return atomic_load_explicit(&l->owner, memory_order_relaxed) == pmm_thread_marker();
}
#else
static inline void spin_set_owner(pmm_spinlock_t *l, bool mine) { (void)l; (void)mine; }
static inline bool spin_held_by_me(pmm_spinlock_t *l) { (void)l; return true; }
#endif

static inline void spin_lock_init(pmm_spinlock_t *l)
{
	atomic_init(&l->locked, 0);
	spin_set_owner(l, false);
}

static inline bool spin_trylock(pmm_spinlock_t *l)
{
	if (atomic_exchange_explicit(&l->locked, 1, memory_order_acquire))
		return false;
	spin_set_owner(l, true);
	return true;
}

static inline void spin_lock(pmm_spinlock_t *l)
{
	if (unlikely(!spin_trylock(l))) {
		/* Debug builds: a thread spinning on a lock it holds would hang forever. */
		PMM_BUG_ON(spin_held_by_me(l));
		spin_lock_slow(l);
	}
}

static inline void spin_unlock(pmm_spinlock_t *l)
{
	spin_set_owner(l, false);
	atomic_store_explicit(&l->locked, 0, memory_order_release);
}

#define lockdep_assert_held(l) PMM_BUG_ON(!spin_held_by_me(l))

/* ------------------------------------------------------------------------
 * struct pmm_page: 64 bytes per frame, laid out like the kernel's
 * ------------------------------------------------------------------------ */

/*
 * Page flags (low 24 bits of page->flags). The upper bits hold the zone id
 * and the section number so that page_zone() and (sparse) page_to_pfn()
 * need no lookup. Flags of a free page change only under the zone lock (or
 * the pcp lock for PG_pcp); flags of an allocated page belong to its owner.
 */
enum pageflags {
	PG_buddy,	/* head of a free block on a buddy list; order in private */
	PG_pcp,		/* on a pcp list; order in private */
	PG_owned,	/* head of a block handed out (allocated or frozen) */
	PG_head,	/* head of a compound page */
	PG_bad,		/* head of a block leaked by a bad-page report */
	PG_reserved,	/* not managed: a hole inside a present section */
	PG_isolated,	/* taken by alloc_contig_range while it works */
	PG_lru,		/* on an LRU list (address spaces) */
	PG_locked,
	PG_swapcache,
	PG_mlocked,
	PG_active,
	PG_dirty,
	PG_private,	/* page->private holds owner data */
	NR_PAGEFLAGS,
};

#define PF(bit) (1ULL << (bit))
#define PAGE_FLAGS_MASK ((1ULL << 24) - 1)
#define PAGE_ZONE_SHIFT 24
#define PAGE_ZONE_MASK 0xffULL
#define PAGE_SECTION_SHIFT 32

/* Flags that must be clear when a page is freed (free_pages_prepare). */
#define PAGE_FLAGS_CHECK_AT_FREE                                               \
	(PF(PG_buddy) | PF(PG_pcp) | PF(PG_bad) | PF(PG_reserved) |            \
	 PF(PG_lru) | PF(PG_locked) | PF(PG_swapcache) | PF(PG_mlocked) |      \
	 PF(PG_active) | PF(PG_private) | PF(PG_isolated))
/* Flags that must be clear on a free page being handed out. */
#define PAGE_FLAGS_CHECK_AT_PREP (PAGE_FLAGS_MASK & ~PF(PG_buddy) & ~PF(PG_pcp))

struct pmm_page {
	_Atomic uint64_t flags;		/* PG_* bits | zone id << 24 | section << 32 */
	union {
		struct pmm_list lru;	/* free list, pcp list, LRU */
		struct {
			uintptr_t compound_head;	/* tail page: head address | 1 */
			uintptr_t tail_word;		/* first tail: folio order */
		};
	};
	void *mapping;			/* owner (anon_vma-like); NULL when free */
	uint64_t index;			/* offset in mapping / swap entry */
	uint64_t private;		/* order when free; owner data otherwise */
	atomic_int mapcount;		/* mappings - 1; -1 = unmapped */
	atomic_int refcount;		/* references; 0 when free, frozen or a tail */
	uint8_t alloc_order;		/* PG_owned head: order of the block handed out */
	uint8_t reserved0[7];		/* room for memcg-like owner data */
};

_Static_assert(sizeof(struct pmm_page) == 64, "struct pmm_page must be 64 bytes");

/*
 * struct pmm_folio overlays the head page and the first two tails, as the
 * kernel's struct folio does. Tail words that tail pages need (flags,
 * compound_head, mapcount, refcount) stay where struct pmm_page has them.
 */
struct pmm_folio {
	/* page 0: the head */
	struct pmm_page page;
	/* page 1 */
	_Atomic uint64_t flags_1;
	uintptr_t head_1;
	uintptr_t order_1;		/* folio order (tail_word) */
	atomic_int large_mapcount;	/* PTE mappings of the folio - 1 */
	atomic_int entire_mapcount;	/* PMD-style mappings - 1 */
	atomic_int nr_pages_mapped;	/* pages with mapcount >= 0 */
	atomic_int pincount;
	uint64_t private_1;
	atomic_int mapcount_1;		/* page 1's own mapcount */
	atomic_int refcount_1;		/* page 1's own refcount (0) */
	uint64_t rsvd_1;
	/* page 2 (orders >= 2) */
	_Atomic uint64_t flags_2;
	uintptr_t head_2;
	uintptr_t rsvd_2a;
	struct pmm_list deferred_list;	/* deferred split queue link */
	uint64_t rsvd_2b;
	atomic_int mapcount_2;
	atomic_int refcount_2;
	uint64_t rsvd_2c;
};

#define FOLIO_MATCH(pf, ff)                                                    \
	_Static_assert(offsetof(struct pmm_page, pf) + 64 == offsetof(struct pmm_folio, ff), #ff)
FOLIO_MATCH(flags, flags_1);
FOLIO_MATCH(compound_head, head_1);
FOLIO_MATCH(tail_word, order_1);
FOLIO_MATCH(mapcount, mapcount_1);
FOLIO_MATCH(refcount, refcount_1);
#define FOLIO_MATCH2(pf, ff)                                                   \
	_Static_assert(offsetof(struct pmm_page, pf) + 128 == offsetof(struct pmm_folio, ff), #ff)
FOLIO_MATCH2(flags, flags_2);
FOLIO_MATCH2(compound_head, head_2);
FOLIO_MATCH2(mapcount, mapcount_2);
FOLIO_MATCH2(refcount, refcount_2);
_Static_assert(sizeof(struct pmm_folio) == 3 * sizeof(struct pmm_page), "folio overlay");

static inline uint64_t page_flags(const struct pmm_page *page)
{
	return atomic_load_explicit(&((struct pmm_page *)page)->flags, memory_order_relaxed);
}

/* Non-atomic update: the caller owns the page or holds the lock that guards it. */
static inline void page_flags_set(struct pmm_page *page, uint64_t bits)
{
	atomic_store_explicit(&page->flags, page_flags(page) | bits, memory_order_relaxed);
}

static inline void page_flags_clear(struct pmm_page *page, uint64_t bits)
{
	atomic_store_explicit(&page->flags, page_flags(page) & ~bits, memory_order_relaxed);
}

static inline bool page_test(const struct pmm_page *page, enum pageflags bit)
{
	return page_flags(page) & PF(bit);
}

static inline bool page_is_tail(const struct pmm_page *page)
{
	return page->compound_head & 1;
}

static inline struct pmm_page *compound_head(const struct pmm_page *page)
{
	uintptr_t head = page->compound_head;

	if (head & 1)
		return (struct pmm_page *)(head - 1);
	return (struct pmm_page *)page;
}

static inline unsigned int folio_order(const struct pmm_folio *folio)
{
	if (!(page_flags(&folio->page) & PF(PG_head)))
		return 0;
	return (unsigned int)folio->order_1;
}

static inline struct pmm_folio *page_folio(const struct pmm_page *page)
{
	return (struct pmm_folio *)compound_head(page);
}

static inline int page_ref_count(const struct pmm_page *page)
{
	return atomic_load_explicit(&((struct pmm_page *)page)->refcount, memory_order_relaxed);
}

static inline void set_page_count(struct pmm_page *page, int v)
{
	atomic_store_explicit(&page->refcount, v, memory_order_relaxed);
}

/* ------------------------------------------------------------------------
 * Zones, pcp, the instance
 * ------------------------------------------------------------------------ */

#define MAX_ZONES (PMM_MAX_NODES * PMM_NR_ZONE_TYPES)
#define NR_PCP_ORDERS 5			/* orders 0..3 and pageblock_order */
#define PCP_MAX_LOW_ORDER 3		/* PAGE_ALLOC_COSTLY_ORDER */
#define NR_PCP_LISTS (NR_PCP_ORDERS * PMM_MIGRATE_PCPTYPES)

struct free_area {
	struct pmm_list free_list[PMM_MIGRATE_TYPES];	/* per migratetype */
	uint64_t nr_free;				/* blocks on all lists */
};

struct pmm_pcp {
	pmm_spinlock_t lock;		/* trylock on fast paths */
	int count;			/* frames on the lists */
	int high;			/* drain when count reaches this */
	int batch;			/* frames per refill / drain step */
	unsigned int drain_rr;		/* next list to drain from */
	struct pmm_list lists[NR_PCP_LISTS];	/* [order index][migratetype] */
	struct pmm_stats stats;		/* under lock */
} PMM_ALIGNED;

struct pmm_zone {
	pmm_spinlock_t lock PMM_ALIGNED;	/* buddy lists and counters */
	struct free_area free_area[PMM_MAX_ORDER_LIMIT + 1];
	_Atomic int64_t free_pages;	/* frames on buddy lists; written under lock */
	struct pmm_stats stats;		/* under lock */

	struct pmm *pmm PMM_ALIGNED;	/* back pointer */
	unsigned int id;		/* index in pmm->zones; stored in page flags */
	int nid;			/* node */
	enum pmm_zone_type type;
	bool populated;			/* has managed frames */
	pmm_pfn_t start_pfn, end_pfn;	/* spanned [start, end) */
	uint64_t managed_pages;		/* frames in regions */
	uint64_t wmark[3];		/* WMARK_MIN/LOW/HIGH, frames */
	uint64_t lowmem_reserve;	/* kept from requests that could use a higher zone */
	uint64_t nr_reserved_highatomic;	/* frames in HIGHATOMIC pageblocks; under lock */
	pmm_pfn_t pb_base;		/* pageblock-aligned start for pageblock_mt[] */
	uint8_t *pageblock_mt;		/* migratetype per pageblock, under lock */
	size_t nr_pageblocks;
	struct pmm_pcp *pcp;		/* [nr_cpus] */
	int pcp_batch, pcp_high;	/* every CPU's pcp starts with these */
};

enum { WMARK_MIN, WMARK_LOW, WMARK_HIGH };

struct mem_section {
	struct pmm_page *memmap;	/* this section's pages; NULL = absent */
	pmm_pfn_t start_pfn;		/* first pfn of the section */
};

/* A present section's memmap chunk, for finding a page pointer's section by address. */
struct memmap_chunk {
	uintptr_t base;			/* ms->memmap */
	uint64_t sec;			/* index in pmm->sections */
};

/* Zones a request may use, in order: preferred node first, highest zone first. */
struct zonelist {
	unsigned int nr;
	struct pmm_zone *zones[MAX_ZONES];
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

struct pmm {
	struct pmm_config cfg;		/* resolved configuration */
	unsigned int page_shift;
	unsigned int max_order;
	unsigned int pageblock_order;
	unsigned int pfn_section_shift;	/* section_shift - page_shift */
	unsigned int nr_cpus;
	bool pcp_enabled;
	bool cpu_nodes;			/* some cpu_to_node[] entry is not node 0 */

	/* memmap.c */
	pmm_pfn_t min_pfn, max_pfn;	/* lowest present, one past highest */
	pmm_pfn_t first_section;	/* section number of min_pfn */
	uint64_t nr_sections;		/* table entries from first_section */
	struct mem_section *sections;
	struct memmap_chunk *chunks;	/* PMM_MEMMAP_SPARSE: present sections by memmap address */
	uint64_t nr_chunks;
	struct pmm_page *vmemmap;	/* PMM_MEMMAP_VMEMMAP: page of first_section's pfn 0 */
	size_t memmap_bytes;		/* vmemmap reservation */
	char *direct_map;		/* frame min_pfn's address; NULL without backing */
	size_t direct_map_size;
	int memfd;

	/* zone.c */
	struct pmm_zone zones[MAX_ZONES];	/* index nid * PMM_NR_ZONE_TYPES + type */
	pmm_pfn_t zone_breaks[2 * PMM_MAX_REGIONS + 1];	/* sorted pfns where the zone may change */
	unsigned int nr_zone_breaks;
	unsigned int nr_nodes;
	struct zonelist zonelists[PMM_MAX_NODES][2];	/* [nid][dma32 only?] */
	uint64_t managed_pages;
	pmm_spinlock_t shrinker_lock;	/* shrinkers[], nr_shrinkers */
	struct pmm_shrinker shrinkers[PMM_MAX_SHRINKERS];
	unsigned int nr_shrinkers;

	/* fault.c */
	struct fault_state fault[PMM_NR_FAULT_KINDS];

	/* page_alloc.c */
	struct pmm_stats gstats;	/* updated with atomic builtins */
	pmm_spinlock_t log_lock;
	uint64_t log_window_start;	/* ns; under log_lock */
	unsigned int log_in_window;
	uint64_t log_suppressed;
};

/* fpi_t: how a free is done */
#define FPI_NONE 0u
#define FPI_PREPARED (1u << 0)	/* free_pages_prepare() already ran */
#define FPI_CONTIG_CHUNK (1u << 1)	/* a chunk of the batched contig path (counted) */

/* Counters: stat_add under the lock that guards @st, gstat_add anywhere. */
#define stat_add(st, name, n) ((st)->name += (uint64_t)(n))
#define gstat_add(pmm, name, n)                                                \
	__atomic_fetch_add(&(pmm)->gstats.name, (uint64_t)(n), __ATOMIC_RELAXED)

static inline struct pmm_zone *page_zone(const pmm_t *pmm, const struct pmm_page *page)
{
	return (struct pmm_zone *)&pmm->zones[(page_flags(page) >> PAGE_ZONE_SHIFT) & PAGE_ZONE_MASK];
}

static inline uint64_t page_section(const struct pmm_page *page)
{
	return page_flags(page) >> PAGE_SECTION_SHIFT;
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

/* ------------------------------------------------------------------------
 * fault.c
 * ------------------------------------------------------------------------ */

void fault_init(struct fault_state *fs, const struct pmm_fault_attr *attr);
bool should_fail_alloc_page(pmm_t *pmm, pmm_gfp_t gfp, unsigned int order);
void *meta_alloc_cfg(const struct pmm_config *cfg, struct fault_state *fs, size_t size);
void meta_free_cfg(const struct pmm_config *cfg, void *p, size_t size);
void *meta_alloc(pmm_t *pmm, size_t size);	/* zeroed; NULL on failure */
void meta_free(pmm_t *pmm, void *p, size_t size);

/* ------------------------------------------------------------------------
 * memmap.c
 * ------------------------------------------------------------------------ */

int memmap_init(pmm_t *pmm);
void memmap_exit(pmm_t *pmm);
/* The frame's page. Precondition: @pfn lies in a present section. */
static inline struct pmm_page *pfn_to_page(const pmm_t *pmm, pmm_pfn_t pfn)
{
	if (pmm->vmemmap)
		return pmm->vmemmap + (pfn - (pmm->first_section << pmm->pfn_section_shift));
	const struct mem_section *ms = &pmm->sections[pfn_section_nr(pmm, pfn)];
	return ms->memmap + (pfn - ms->start_pfn);
}
/* Precondition: @page is a page of this instance's memmap. */
static inline pmm_pfn_t page_to_pfn(const pmm_t *pmm, const struct pmm_page *page)
{
	if (pmm->vmemmap)
		return (pmm_pfn_t)(page - pmm->vmemmap) + (pmm->first_section << pmm->pfn_section_shift);
	const struct mem_section *ms = &pmm->sections[page_section(page)];
	return ms->start_pfn + (pmm_pfn_t)(page - ms->memmap);
}
bool pfn_present(const pmm_t *pmm, pmm_pfn_t pfn);	/* in a present section */
bool pfn_managed(const pmm_t *pmm, pmm_pfn_t pfn);	/* present and not a hole */
/*
 * memmap_chunk_find - the present section whose memmap holds address @p,
 * found from the chunk addresses alone (a binary search over the sorted
 * chunk table) so that a pointer into unreadable memory is never read.
 * Return: the section index, or UINT64_MAX when @p is in no chunk.
 */
static inline uint64_t memmap_chunk_find(const pmm_t *pmm, uintptr_t p)
{
	const struct memmap_chunk *c = pmm->chunks;
	uint64_t n = pmm->nr_chunks;

	while (n > 1) {
		uint64_t half = n / 2;

		if (c[half].base <= p)
			c += half;
		n -= half;
	}
	if (!n || p < c->base ||
	    p - c->base >= (sizeof(struct pmm_page) << pmm->pfn_section_shift))
		return UINT64_MAX;
	return c->sec;
}

/*
 * page_belongs - is @page a managed page of this instance? Used on pointers
 * callers hand in, so it must not trust the page: the pointer is placed in
 * a memmap chunk by address first, and only then are its flags read.
 * Inline: every public free path runs it.
 */
static inline bool page_belongs(const pmm_t *pmm, const struct pmm_page *page)
{
	uintptr_t p = (uintptr_t)page, base;

	if (unlikely(!page || p % _Alignof(struct pmm_page)))
		return false;
	if (pmm->vmemmap) {
		uint64_t sec;

		base = (uintptr_t)pmm->vmemmap;
		if (p < base || p >= base + pmm->memmap_bytes)
			return false;
		sec = (p - base) / sizeof(*page) >> pmm->pfn_section_shift;
		if (!pmm->sections[sec].memmap)
			return false;
	} else {
		uint64_t sec = memmap_chunk_find(pmm, p);

		if (sec == UINT64_MAX)
			return false;
		base = (uintptr_t)pmm->sections[sec].memmap;
	}
	if ((p - base) % sizeof(*page))
		return false;
	return !page_test(page, PG_reserved);
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

/* ------------------------------------------------------------------------
 * zone.c
 * ------------------------------------------------------------------------ */

int zones_init(pmm_t *pmm);
void zones_exit(pmm_t *pmm);
/* Precondition: 0 <= @nid < PMM_MAX_NODES. */
static inline const struct zonelist *zonelist_for(const pmm_t *pmm, int nid, pmm_gfp_t gfp)
{
	PMM_BUG_ON(nid < 0 || nid >= PMM_MAX_NODES);
	return &pmm->zonelists[nid][!!(gfp & PMM_GFP_DMA32)];
}
const char *zone_name(enum pmm_zone_type type);

/* ------------------------------------------------------------------------
 * buddy.c
 * ------------------------------------------------------------------------ */

static inline int get_pageblock_migratetype(const struct pmm_zone *zone, pmm_pfn_t pfn)
{
	return __atomic_load_n(&zone->pageblock_mt[(pfn - zone->pb_base) >> zone->pmm->pageblock_order],
			       __ATOMIC_RELAXED);
}
void set_pageblock_migratetype(struct pmm_zone *zone, pmm_pfn_t pfn, int mt);
void __free_one_page_locked(struct pmm_zone *zone, struct pmm_page *page,
			    pmm_pfn_t pfn, unsigned int order, int mt);
void free_one_page(struct pmm_zone *zone, struct pmm_page *page, pmm_pfn_t pfn,
		   unsigned int order, unsigned int fpi);
struct pmm_page *__rmqueue_locked(struct pmm_zone *zone, unsigned int order, int mt,
				  unsigned int alloc_flags);
struct pmm_page *rmqueue_buddy(struct pmm_zone *zone, unsigned int order, int mt,
			       unsigned int alloc_flags);
/* Is @buddy the free head of an order-@order block of @zone? */
static inline bool page_is_buddy(const struct pmm_zone *zone, const struct pmm_page *buddy,
				 unsigned int order)
{
	uint64_t f = page_flags(buddy);

	return (f & PF(PG_buddy)) && buddy->private == order &&
	       ((f >> PAGE_ZONE_SHIFT) & PAGE_ZONE_MASK) == zone->id;
}

/*
 * buddy_order_locked - the order of the free block whose head is @page, or
 * -1 if @page heads no free block of @zone. For scanners that walk pfns:
 * PG_buddy is tested first because a page that is not free belongs to its
 * owner, who may be writing ->private; a free head's private is stable
 * under the zone lock (kernel PageBuddy() before buddy_order()).
 * Context: zone->lock held.
 */
static inline int buddy_order_locked(const struct pmm_zone *zone, const struct pmm_page *page)
{
	uint64_t f = page_flags(page);

	if (!(f & PF(PG_buddy)) || ((f >> PAGE_ZONE_SHIFT) & PAGE_ZONE_MASK) != zone->id)
		return -1;
	return (int)page->private;
}

/* zone->free_pages is written under zone->lock and read racily by watermark checks. */
static inline void account_freepages(struct pmm_zone *zone, long nr)
{
	atomic_store_explicit(&zone->free_pages,
			      atomic_load_explicit(&zone->free_pages, memory_order_relaxed) + nr,
			      memory_order_relaxed);
}

void del_page_from_free_list_locked(struct pmm_zone *zone, struct pmm_page *page,
				    unsigned int order);
unsigned long move_freepages_block_locked(struct pmm_zone *zone, pmm_pfn_t pfn, int new_mt);
void reserve_highatomic_pageblock(struct pmm_zone *zone, struct pmm_page *page);
bool unreserve_highatomic_pageblock(struct pmm_zone *zone, int mt);

/*
 * alloc_flags: what the slow path lets a request do (kernel
 * gfp_to_alloc_flags()); the fast path passes 0, so every request sees the
 * plain low watermark there, as in the kernel.
 */
#define ALLOC_NON_BLOCK (1u << 0)	/* cannot wait (NOWAIT): may take the highatomic reserve last */
#define ALLOC_HIGHATOMIC (1u << 1)	/* non-blocking and order > 0: uses and makes the reserve */
#define ALLOC_MIN_RESERVE (1u << 2)	/* PMM_GFP_HIGH: half of the min watermark */
#define ALLOC_DEEP_RESERVE (1u << 3)	/* PMM_GFP_ATOMIC_RES: a further quarter of it */
/* Requests that may count the highatomic reserve as free (kernel ALLOC_RESERVES). */
#define ALLOC_RESERVES (ALLOC_NON_BLOCK | ALLOC_HIGHATOMIC | ALLOC_MIN_RESERVE | ALLOC_DEEP_RESERVE)

/* ------------------------------------------------------------------------
 * isolate.c
 * ------------------------------------------------------------------------ */

struct isolation {
	pmm_pfn_t pb_start, pb_end;	/* pageblock-aligned span */
	unsigned long nr;		/* pageblocks */
	uint8_t *saved;			/* their migratetypes before isolation */
};

int start_isolate_page_range(struct pmm_zone *zone, pmm_pfn_t start, pmm_pfn_t end,
			     struct isolation *iso);
void undo_isolate_page_range(struct pmm_zone *zone, struct isolation *iso);
int take_isolated_range(struct pmm_zone *zone, pmm_pfn_t start, pmm_pfn_t end,
			pmm_pfn_t *outer_start, pmm_pfn_t *outer_end);

/* ------------------------------------------------------------------------
 * pcp.c
 * ------------------------------------------------------------------------ */

void pcp_init(struct pmm_pcp *pcp, int batch, int high);
/* Which order slot a cached order uses; -1 if @order is not cached. */
static inline int pcp_order_index(const pmm_t *pmm, unsigned int order)
{
	if (order <= PCP_MAX_LOW_ORDER)
		return (int)order;
	return order == pmm->pageblock_order ? PCP_MAX_LOW_ORDER + 1 : -1;
}

/* The calling thread's CPU, 0..nr_cpus-1: a hint (the thread may migrate). */
static inline unsigned int this_cpu(const pmm_t *pmm)
{
	unsigned int cpu = pmm->cfg.cpu_fn ? pmm->cfg.cpu_fn(pmm->cfg.cpu_arg) : os_getcpu();

	return likely(cpu < pmm->nr_cpus) ? cpu : cpu % pmm->nr_cpus;
}

/* This CPU's pcp set of @zone. */
static inline struct pmm_pcp *this_cpu_pcp(const pmm_t *pmm, struct pmm_zone *zone)
{
	return &zone->pcp[this_cpu(pmm)];
}

/* Kernel numa_node_id(): the calling CPU's node; node 0 unless cpu_to_node says otherwise. */
static inline int numa_node_id(const pmm_t *pmm)
{
	return unlikely(pmm->cpu_nodes) ? pmm->cfg.cpu_to_node[this_cpu(pmm)] : 0;
}
void rmqueue_bulk_locked(struct pmm_zone *zone, struct pmm_pcp *pcp, unsigned int order, int mt,
			 struct pmm_list *list);
void free_pcppages_bulk_locked(struct pmm_zone *zone, struct pmm_pcp *pcp, int count);
void drain_pcp_locked(struct pmm_zone *zone, struct pmm_pcp *pcp);

static inline int order_to_pindex(const pmm_t *pmm, unsigned int order, int mt)
{
	return pcp_order_index(pmm, order) * PMM_MIGRATE_PCPTYPES + mt;
}

/*
 * The pcp fast paths are header inlines so that a pcp hit costs no call
 * whatever the compiler decides across files; refill and drain are out of
 * line in pcp.c.
 */

/*
 * rmqueue_pcplist_locked - pop a block of @order from this pcp, refilling
 * the list from the buddy when it is empty.
 * Context: pcp->lock held. Return: the block (not yet prepared) or NULL.
 */
static inline struct pmm_page *rmqueue_pcplist_locked(struct pmm_zone *zone, struct pmm_pcp *pcp,
						      unsigned int order, int mt)
{
	struct pmm_list *list = &pcp->lists[order_to_pindex(zone->pmm, order, mt)];
	struct pmm_page *page;

	lockdep_assert_held(&pcp->lock);
	if (unlikely(list_empty(list))) {
		rmqueue_bulk_locked(zone, pcp, order, mt, list);
		if (list_empty(list))
			return NULL;
	}
	page = container_of(list->next, struct pmm_page, lru);
	list_del(&page->lru);
	page_flags_clear(page, PF(PG_pcp));
	page->private = 0;
	pcp->count -= 1 << order;
	stat_add(&pcp->stats, pcp_alloc, 1);
	stat_add(&pcp->stats, pgalloc, 1UL << order);
	return page;
}

/*
 * free_pcp_commit_locked - queue a prepared block on this CPU's list.
 * Past high, drain down to high - batch so the next frees stay cheap.
 * Context: pcp->lock held.
 */
static inline void free_pcp_commit_locked(struct pmm_zone *zone, struct pmm_pcp *pcp,
					  struct pmm_page *page, unsigned int order, int mt,
					  unsigned int fpi)
{
	page->private = order;
	page_flags_set(page, PF(PG_pcp));
	list_add(&page->lru, &pcp->lists[order_to_pindex(zone->pmm, order, mt)]);
	pcp->count += 1 << order;
	stat_add(&pcp->stats, pcp_free, 1);
	stat_add(&pcp->stats, pgfree, 1UL << order);
	stat_add(&pcp->stats, contig_chunks, !!(fpi & FPI_CONTIG_CHUNK));
	if (unlikely(pcp->count >= pcp->high))
		free_pcppages_bulk_locked(zone, pcp, pcp->count - pcp->high + pcp->batch);
}

/* ------------------------------------------------------------------------
 * page_alloc.c
 * ------------------------------------------------------------------------ */


void bad_page_report(pmm_t *pmm, struct pmm_page *page, const char *reason);
void bad_pfn_report(pmm_t *pmm, pmm_pfn_t pfn, const char *reason);
void bad_page_leak(pmm_t *pmm, struct pmm_page *page, unsigned int order, const char *reason);
void pmm_log(pmm_t *pmm, bool ratelimit, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool free_pages_prepare_slow(pmm_t *pmm, struct pmm_page *page, unsigned int order);
void free_frozen_pages(pmm_t *pmm, struct pmm_page *page, unsigned int order,
		       unsigned int fpi);
int gfp_migratetype(pmm_gfp_t gfp);
bool page_ref_sub_testzero_slow(pmm_t *pmm, struct pmm_page *page, int nr, int seen);
void report_foreign_page(pmm_t *pmm, const char *what);

/* A page pointer handed in by a caller: ours and managed? Reported if not. */
static inline bool page_valid_for_free(pmm_t *pmm, const struct pmm_page *page, const char *what)
{
	if (likely(page_belongs(pmm, page)))
		return true;
	report_foreign_page(pmm, what);
	return false;
}

/*
 * page_ref_sub_testzero - drop @nr references; true if they were the last.
 *
 * The rule that lets the common case skip the locked instruction: a caller
 * may only drop references it holds, and pmm never takes a reference on a
 * page it does not already hold one on (no speculative get like the
 * kernel's get_page_unless_zero() from pfn walkers). So when the count
 * equals @nr, every remaining reference is the caller's and no other thread
 * can change the count: a plain store of 0 is exact. The acquire load pairs
 * with the release decrement of the previous holder, so its writes to the
 * page are visible before the page is freed. Otherwise a fetch_sub does the
 * shared case (out of line). Both free_contig_range paths use this.
 */
static inline bool page_ref_sub_testzero(pmm_t *pmm, struct pmm_page *page, int nr)
{
	int c = atomic_load_explicit(&page->refcount, memory_order_acquire);

	if (likely(c == nr)) {
		atomic_store_explicit(&page->refcount, 0, memory_order_relaxed);
		return true;
	}
	return page_ref_sub_testzero_slow(pmm, page, nr, c);
}

static inline bool page_ref_put_testzero(pmm_t *pmm, struct pmm_page *page)
{
	return page_ref_sub_testzero(pmm, page, 1);
}

/*
 * free_pages_prepare - the checks and clean-up every freed block gets
 * (kernel free_pages_prepare()). The common case, a clean order-0 page, is
 * decided inline from one flags word; everything else (reports, compound
 * and high-order blocks) is out of line. A block that fails is reported and
 * leaked when the caller owns it.
 * Precondition: the refcount is 0 (its last reference was just dropped, or
 * the caller checked a frozen page), so the fast path does not reread it.
 * Return: true if the block may go to a free list.
 */
static inline bool free_pages_prepare(pmm_t *pmm, struct pmm_page *page, unsigned int order)
{
	uint64_t f = page_flags(page);

	PMM_BUG_ON(atomic_load_explicit(&page->refcount, memory_order_relaxed));
	if (likely(!order && (f & (PAGE_FLAGS_CHECK_AT_FREE | PF(PG_owned) | PF(PG_head))) ==
				     PF(PG_owned) &&
		   atomic_load_explicit(&page->mapcount, memory_order_relaxed) == -1 &&
		   !page->mapping)) {
		atomic_store_explicit(&page->flags, f & ~(PF(PG_owned) | PF(PG_dirty)),
				      memory_order_relaxed);
		page->private = 0;
		page->index = 0;
		page->alloc_order = 0;
		return true;
	}
	return free_pages_prepare_slow(pmm, page, order);
}


/*
 * contig_put_prepare - the per-page work of both free_contig_range paths
 * (and of the benchmark's floor): drop the caller's reference and run the
 * free checks. Only an order-0
 * page may be freed here: the head of a block that was never split, or of
 * a folio, is refused before its reference is touched (freeing it as one
 * page would lose its tails). A frozen page has no reference to drop, but
 * its count must really be 0.
 */
static inline bool contig_put_prepare(pmm_t *pmm, struct pmm_page *page, const bool frozen)
{
	if (unlikely(page->alloc_order || page_test(page, PG_head))) {
		bad_page_report(pmm, page, "free_contig_range: not an order-0 page (split it first)");
		return false;
	}
	if (frozen ? unlikely(page_ref_count(page)) : !page_ref_put_testzero(pmm, page)) {
		if (frozen)
			bad_page_report(pmm, page, "frozen range: page has references");
		return false;
	}
	return free_pages_prepare(pmm, page, 0);
}

/* ------------------------------------------------------------------------
 * folio.c
 * ------------------------------------------------------------------------ */

void prep_compound_page(struct pmm_page *page, unsigned int order);
bool free_tail_pages_check(pmm_t *pmm, struct pmm_page *head, unsigned int order);

/* ------------------------------------------------------------------------
 * contig.c
 * ------------------------------------------------------------------------ */

void free_prepared_contig_range(pmm_t *pmm, struct pmm_page *page, pmm_pfn_t pfn,
				unsigned long nr);
void free_contig_range_common(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr_pages,
			      bool frozen);

#endif /* PMM_INTERNAL_H */
