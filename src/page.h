/* SPDX-License-Identifier: MIT */
/*
 * page.h - struct pmm_page (64 bytes per frame, laid out like the kernel's
 * struct page) and struct pmm_folio, the overlay of a compound page's head
 * and first two tails, with the static asserts that keep the two in step.
 *
 * Glossary:
 *   head      first page of a compound page; holds the references
 *   tail      another page of it: compound_head = head address | 1
 *   folio     a head seen as the whole compound page (an order-0 page is
 *             its own folio)
 *   frozen    handed out (PG_owned) with refcount 0
 */
#ifndef PMM_PAGE_H
#define PMM_PAGE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "list.h"
#include "pmm.h"	/* PMM_PAGE_META_SIZE */

/*
 * page->flags: PG_* bits (page_flags.h) | alloc order << 18 | zone id << 24
 * | section << 32. The order of a block handed out (page_alloc_order())
 * sits among the bits the free and allocation checks mask, so that
 * "order 0 and clean" is one test of the word they read anyway.
 */
#define PAGE_FLAGS_MASK ((1ULL << 24) - 1)	/* PG_* bits and the order */
#define PAGE_ORDER_SHIFT 18
#define PAGE_ORDER_FIELD (0x3fULL << PAGE_ORDER_SHIFT)	/* orders up to PMM_MAX_ORDER_LIMIT */
#define PAGE_ZONE_SHIFT 24
#define PAGE_ZONE_MASK 0xffULL
#define PAGE_SECTION_SHIFT 32

struct pmm_page {
	_Atomic uint64_t flags;		/* PG_* bits | zone id << 24 | section << 32 */
	union {
		struct pmm_list lru;	/* free list, pcp list, LRU (a head: next is aligned) */
		struct {
			uintptr_t compound_head;	/* tail page: head address | 1 */
			uintptr_t tail_word;		/* first tail: folio order */
		};
	};
	void *mapping;			/* owner (anon_vma | PAGE_MAPPING_ANON); NULL when free */
	uint64_t index;			/* virtual page index (anon), or owner data */
	uint64_t private;		/* order when free; swap entry (PG_swapcache); table data */
	union {
		struct {
			atomic_int mapcount;	/* mappings - 1; -1 = unmapped */
			atomic_int refcount;	/* references; 0 when free, frozen or a tail */
		};
		_Atomic uint64_t counts;	/* both, for the free checks' one read */
	};
	uint64_t reserved0;		/* room for memcg-like owner data */
};

_Static_assert(sizeof(struct pmm_page) == PMM_PAGE_META_SIZE, "struct pmm_page must be 64 bytes");

/* What page->counts reads for a @mapcount and a @refcount. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PAGE_COUNTS(mapcount, refcount)                                        \
	((uint64_t)(uint32_t)(mapcount) | (uint64_t)(uint32_t)(refcount) << 32)
#else
#define PAGE_COUNTS(mapcount, refcount)                                        \
	((uint64_t)(uint32_t)(mapcount) << 32 | (uint64_t)(uint32_t)(refcount))
#endif
#define PAGE_STRUCT_SHIFT 6		/* log2(sizeof(struct pmm_page)) */
_Static_assert(sizeof(struct pmm_page) == 1u << PAGE_STRUCT_SHIFT, "PAGE_STRUCT_SHIFT");

/*
 * struct pmm_folio overlays the head page and the first two tails, as the
 * kernel's struct folio does. Tail words that tail pages need (flags,
 * compound_head, mapcount, refcount) stay where struct pmm_page has them;
 * the folio's own counters use page 1's mapping/index words and the
 * deferred split link page 2's, which is why tails 1 and 2 have no mapping
 * of their own while they are tails.
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
	atomic_int nr_pages_mapped;	/* pages with mapcount >= 0 (per-page mapcount model) */
	atomic_int pincount;
	uint64_t private_1;
	atomic_int mapcount_1;		/* page 1's own mapcount */
	atomic_int refcount_1;		/* page 1's own refcount (0) */
	uint64_t rsvd_1;
	/* page 2 (orders >= 2) */
	_Atomic uint64_t flags_2;
	uintptr_t head_2;
	uintptr_t rsvd_2a;
	struct pmm_list deferred_list;	/* deferred split queue link; empty when not queued */
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

/*
 * The order of the block a PG_owned head was handed out as (0 for every
 * other page; a compound head's order is its folio's).
 */
static inline unsigned int page_alloc_order(const struct pmm_page *page)
{
	return (unsigned int)((page_flags(page) & PAGE_ORDER_FIELD) >> PAGE_ORDER_SHIFT);
}

/* Set it with a plain read-modify-write: the page is the caller's alone (page_flags.h). */
static inline void __set_page_alloc_order(struct pmm_page *page, unsigned int order)
{
	atomic_store_explicit(&page->flags, (page_flags(page) & ~PAGE_ORDER_FIELD) |
				  (uint64_t)order << PAGE_ORDER_SHIFT, memory_order_relaxed);
}

/* Clear it atomically: for a page other threads may change flags of (a split folio's). */
static inline void clear_page_alloc_order(struct pmm_page *page)
{
	atomic_fetch_and_explicit(&page->flags, ~PAGE_ORDER_FIELD, memory_order_relaxed);
}

/* The zone id page_zone() looks up; set at boot for every managed frame. */
static inline unsigned int page_zone_id(const struct pmm_page *page)
{
	return (unsigned int)((page_flags(page) >> PAGE_ZONE_SHIFT) & PAGE_ZONE_MASK);
}

static inline uint64_t page_section(const struct pmm_page *page)
{
	return page_flags(page) >> PAGE_SECTION_SHIFT;
}

/* compound_head overlays the first list word (list.h): read once, unlocked. */
static inline bool page_is_tail(const struct pmm_page *page)
{
	return READ_ONCE(page->compound_head) & 1;
}

static inline struct pmm_page *compound_head(const struct pmm_page *page)
{
	uintptr_t head = READ_ONCE(page->compound_head);

	if (head & 1)
		return (struct pmm_page *)(head - 1);
	return (struct pmm_page *)page;
}

static inline struct pmm_folio *page_folio(const struct pmm_page *page)
{
	return (struct pmm_folio *)compound_head(page);
}

static inline struct pmm_page *folio_page(struct pmm_folio *folio, unsigned long n)
{
	return &folio->page + n;	/* a folio never crosses a section */
}

#endif /* PMM_PAGE_H */
