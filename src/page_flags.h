/* SPDX-License-Identifier: MIT */
/*
 * page_flags.h - the PG_* bits of page->flags, generated from one list as
 * the kernel's PAGEFLAG() macros are.
 *
 * For each flag X (Name in the kernel's spelling, lname in lower case):
 *   PageName(page)            test
 *   SetPageName / ClearPageName         atomic OR / AND (relaxed), for flags
 *                             that another thread may change at the same time
 *   __SetPageName / __ClearPageName     plain read-modify-write, only for a
 *                             page no other thread can see or change: a free
 *                             page under the lock that guards it (zone or pcp
 *                             lock), a page between allocation and the moment
 *                             it is published (mapped, put on an LRU), or a
 *                             page whose last reference is gone
 *   TestSetPageName / TestClearPageName atomic, return the old bit
 *   folio_test_lname / folio_set_lname / folio_clear_lname /
 *   __folio_set_lname / __folio_clear_lname   the same on a folio's head
 * folio_trylock() / folio_unlock() use PG_locked with acquire / release.
 *
 * The rule in one line: once a page is mapped or on an LRU list, every flag
 * change on it is atomic, because PG_lru, PG_active, PG_locked and
 * PG_swapcache change under other locks (the lruvec lock, the swap cache
 * lock) or none, from any thread.
 */
#ifndef PMM_PAGE_FLAGS_H
#define PMM_PAGE_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "page.h"

/* X(lname, Name, what it means) */
#define PAGEFLAGS(X)                                                           \
	X(buddy, Buddy, "head of a free block on a buddy list; order in private") \
	X(pcp, Pcp, "on a pcp list; order in private")                         \
	X(owned, Owned, "head of a block handed out (allocated or frozen)")    \
	X(head, Head, "head of a compound page")                               \
	X(bad, Bad, "head of a block leaked by a bad-page report")             \
	X(reserved, Reserved, "not managed: a hole inside a present section")  \
	X(isolated, Isolated, "taken by alloc_contig_range while it works")    \
	X(lru, LRU, "on an LRU list")                                          \
	X(locked, Locked, "folio lock (trylock only)")                         \
	X(swapcache, SwapCache, "in the swap cache; entry in private")         \
	X(mlocked, Mlocked, "mlocked")                                         \
	X(active, Active, "on the active LRU list")                            \
	X(dirty, Dirty, "written since it was last clean")                     \
	X(private, Private, "page->private holds owner data")                  \
	X(table, Table, "a page-table page of an address space")              \
	X(deferred, Deferred, "on its node's deferred split queue")            \
	X(lru_batch, LRUBatch, "in a per-CPU LRU add batch (which holds a reference)")

enum pageflags {
#define PG_ENUM(lname, Name, what) PG_##lname,
	PAGEFLAGS(PG_ENUM)
#undef PG_ENUM
	NR_PAGEFLAGS,
};
_Static_assert(NR_PAGEFLAGS <= PAGE_ORDER_SHIFT, "page flags share the word with the order");
_Static_assert(PMM_MAX_ORDER_LIMIT <= (PAGE_ORDER_FIELD >> PAGE_ORDER_SHIFT), "the order field");

#define PF(bit) (1ULL << (bit))

/* Flags that must be clear when a page is freed (free_pages_prepare). */
#define PAGE_FLAGS_CHECK_AT_FREE                                               \
	(PF(PG_buddy) | PF(PG_pcp) | PF(PG_bad) | PF(PG_reserved) |            \
	 PF(PG_lru) | PF(PG_locked) | PF(PG_swapcache) | PF(PG_mlocked) |      \
	 PF(PG_active) | PF(PG_private) | PF(PG_isolated) | PF(PG_table) |     \
	 PF(PG_deferred) | PF(PG_lru_batch))
/* Flags that must be clear on a free page being handed out. */
#define PAGE_FLAGS_CHECK_AT_PREP (PAGE_FLAGS_MASK & ~PF(PG_buddy) & ~PF(PG_pcp))

static inline bool page_test(const struct pmm_page *page, enum pageflags bit)
{
	return page_flags(page) & PF(bit);
}

/* Plain store of the whole word: for the free path, which clears several bits at once. */
static inline void __page_flags_store(struct pmm_page *page, uint64_t f)
{
	atomic_store_explicit(&page->flags, f, memory_order_relaxed);
}

/*
 * Mark a block handed out: PG_owned and its order in one plain store.
 * Precondition: the page is the caller's alone and its order field is 0.
 */
static inline void __set_page_owned_order(struct pmm_page *page, unsigned int order)
{
	__page_flags_store(page, page_flags(page) | PF(PG_owned) |
				 (uint64_t)order << PAGE_ORDER_SHIFT);
}

#define PG_OPS(lname, Name, what)                                              \
	static inline bool Page##Name(const struct pmm_page *page)             \
	{                                                                      \
		return page_test(page, PG_##lname);                            \
	}                                                                      \
	static inline void SetPage##Name(struct pmm_page *page)                \
	{                                                                      \
		atomic_fetch_or_explicit(&page->flags, PF(PG_##lname), memory_order_relaxed); \
	}                                                                      \
	static inline void ClearPage##Name(struct pmm_page *page)              \
	{                                                                      \
		atomic_fetch_and_explicit(&page->flags, ~PF(PG_##lname), memory_order_relaxed); \
	}                                                                      \
	static inline void __SetPage##Name(struct pmm_page *page)              \
	{                                                                      \
		__page_flags_store(page, page_flags(page) | PF(PG_##lname));   \
	}                                                                      \
	static inline void __ClearPage##Name(struct pmm_page *page)            \
	{                                                                      \
		__page_flags_store(page, page_flags(page) & ~PF(PG_##lname));  \
	}                                                                      \
	static inline bool TestSetPage##Name(struct pmm_page *page)            \
	{                                                                      \
		return atomic_fetch_or_explicit(&page->flags, PF(PG_##lname),  \
						memory_order_acq_rel) & PF(PG_##lname); \
	}                                                                      \
	static inline bool TestClearPage##Name(struct pmm_page *page)          \
	{                                                                      \
		return atomic_fetch_and_explicit(&page->flags, ~PF(PG_##lname), \
						 memory_order_acq_rel) & PF(PG_##lname); \
	}                                                                      \
	static inline bool folio_test_##lname(const struct pmm_folio *folio)   \
	{                                                                      \
		return Page##Name(&folio->page);                               \
	}                                                                      \
	static inline void folio_set_##lname(struct pmm_folio *folio)          \
	{                                                                      \
		SetPage##Name(&folio->page);                                   \
	}                                                                      \
	static inline void folio_clear_##lname(struct pmm_folio *folio)        \
	{                                                                      \
		ClearPage##Name(&folio->page);                                 \
	}                                                                      \
	static inline void __folio_set_##lname(struct pmm_folio *folio)        \
	{                                                                      \
		__SetPage##Name(&folio->page);                                 \
	}                                                                      \
	static inline void __folio_clear_##lname(struct pmm_folio *folio)      \
	{                                                                      \
		__ClearPage##Name(&folio->page);                               \
	}
PAGEFLAGS(PG_OPS)
#undef PG_OPS

/* folio_trylock - take the folio lock if it is free (kernel folio_trylock()). */
static inline bool folio_trylock(struct pmm_folio *folio)
{
	return !(atomic_fetch_or_explicit(&folio->page.flags, PF(PG_locked), memory_order_acquire) &
		 PF(PG_locked));
}

static inline void folio_unlock(struct pmm_folio *folio)
{
	atomic_fetch_and_explicit(&folio->page.flags, ~PF(PG_locked), memory_order_release);
}

/* The folio's order: 0 for a page that is not a compound head. */
static inline unsigned int folio_order(const struct pmm_folio *folio)
{
	if (!PageHead(&folio->page))
		return 0;
	return (unsigned int)folio->order_1;
}

static inline unsigned long folio_nr_pages(const struct pmm_folio *folio)
{
	return 1UL << folio_order(folio);
}

static inline bool folio_test_large(const struct pmm_folio *folio)
{
	return PageHead(&folio->page);
}

/*
 * page_flag_names - the set PG_* bits of @flags as "owned|head|lru" into
 * @buf (bad-page reports and dump_page print them).
 * Return: @buf.
 */
char *page_flag_names(uint64_t flags, char *buf, size_t len);

#endif /* PMM_PAGE_FLAGS_H */
