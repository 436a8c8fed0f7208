/* SPDX-License-Identifier: MIT */
/*
 * page_ref.h - reference counts of pages and folios (kernel page_ref.h).
 *
 * Only a head (or an order-0 page) holds references; a tail's own count
 * stays 0 and its references are its folio's.
 *
 * THE REFERENCE-DROP RULE. page_ref_sub_testzero() frees the common case
 * of a locked read-modify-write: when the count it reads equals the
 * references being dropped, it stores 0 with a plain store. That is exact
 * because (1) a caller may only drop references it holds, and (2) pmm never
 * takes a reference it does not already hold one on: every get is a
 * holder's get (pmm_get_page requires one; a mapping's get is made by the
 * faulting or forking mm, which maps the folio; the LRU add batch, the swap
 * cache and the deferred split queue each keep a reference of their own and
 * take it from a holder). There is no speculative get_page_unless_zero()
 * anywhere: no pfn walker, no lockless lookup. So when the count equals what
 * the caller holds, no other thread holds a reference and none can acquire
 * one, and nothing can change the count between the load and the store.
 * The load is an acquire that pairs with the release of the previous
 * holder's decrement, so that holder's writes happen before the free.
 * A path that takes a speculative reference must switch this to a
 * compare-and-swap first (docs/design.md, "The reference-drop rule").
 */
#ifndef PMM_PAGE_REF_H
#define PMM_PAGE_REF_H

#include <stdbool.h>

#include "page.h"

typedef struct pmm pmm_t;

static inline int page_ref_count(const struct pmm_page *page)
{
	return atomic_load_explicit(&((struct pmm_page *)page)->refcount, memory_order_relaxed);
}

static inline void set_page_count(struct pmm_page *page, int v)
{
	atomic_store_explicit(&page->refcount, v, memory_order_relaxed);
}

/*
 * page_counts_acquire - page->counts (the mapcount and the reference
 * together), read with acquire for the reference, as the reference-drop
 * rule above asks: one 8-byte load, which the hardware orders as it
 * orders the reference's own. TSan pairs acquires with releases by
 * address, so in its builds the reference is read on its own first.
 */
static inline uint64_t page_counts_acquire(const struct pmm_page *page)
{
#if defined(__SANITIZE_THREAD__)
	int ref = atomic_load_explicit(&((struct pmm_page *)page)->refcount, memory_order_acquire);

	return PAGE_COUNTS(atomic_load_explicit(&((struct pmm_page *)page)->mapcount,
						memory_order_relaxed), ref);
#else
	return atomic_load_explicit(&((struct pmm_page *)page)->counts, memory_order_acquire);
#endif
}

/*
 * set_page_count() of an unmapped page, with its mapcount (-1) in the same
 * 8-byte store: the fast paths read both counts in one load
 * (page->counts), and a load wider than the store before it waits for that
 * store to reach the cache instead of taking its value from the store
 * buffer, which in a repeated alloc+free is the next call's first read.
 */
static inline void set_page_count_unmapped(struct pmm_page *page, int v)
{
	atomic_store_explicit(&page->counts, PAGE_COUNTS(-1, v), memory_order_relaxed);
}

/* A holder's get (the rule above): the caller already holds a reference. */
static inline void page_ref_add(struct pmm_page *page, int nr)
{
	atomic_fetch_add_explicit(&page->refcount, nr, memory_order_relaxed);
}

static inline int folio_ref_count(const struct pmm_folio *folio)
{
	return page_ref_count(&folio->page);
}

static inline void folio_ref_add(struct pmm_folio *folio, int nr)
{
	page_ref_add(&folio->page, nr);
}

/* The shared and the underflow cases of page_ref_sub_testzero() (page_alloc.c). */
bool page_ref_sub_testzero_slow(pmm_t *pmm, struct pmm_page *page, int nr, int seen);

/*
 * page_ref_drop_all - the common case of every drop: @nr is every
 * reference there is, and 0 is stored (the rule above). Return: true if
 * so; else nothing changed and *@seen is the count read, for the slow path.
 */
static inline bool page_ref_drop_all(struct pmm_page *page, int nr, int *seen)
{
	int c = atomic_load_explicit(&page->refcount, memory_order_acquire);

	if (__builtin_expect(c == nr, 1)) {
		atomic_store_explicit(&page->refcount, 0, memory_order_relaxed);
		return true;
	}
	*seen = c;
	return false;
}

/* page_ref_sub_testzero - drop @nr references; true if they were the last. */
static inline bool page_ref_sub_testzero(pmm_t *pmm, struct pmm_page *page, int nr)
{
	int c;

	if (__builtin_expect(page_ref_drop_all(page, nr, &c), 1))
		return true;
	return page_ref_sub_testzero_slow(pmm, page, nr, c);
}

static inline bool page_ref_put_testzero(pmm_t *pmm, struct pmm_page *page)
{
	return page_ref_sub_testzero(pmm, page, 1);
}

/*
 * The drops of a holder whose references are certainly real: a teardown's
 * PTEs (the public gather's too: what its caller handed over), an add
 * batch's, a queue's (folios_put_refs() and the callers below).
 *
 * page_ref_drop_held_slow - page_ref_drop_all()'s rest for such a holder,
 * from the count @seen.
 * Finding fewer than @nr left means an earlier put dropped some it did not
 * hold: reported, and what is left is taken as the holder's last, as
 * per-page puts would have found it (page_ref_sub_testzero() would report
 * and keep the folio allocated for good). Return: true if it was the last.
 */
bool page_ref_drop_held_slow(pmm_t *pmm, struct pmm_page *page, int nr, int seen);

/*
 * folio_ref_drop_not_last - a holder (the swap cache, the split queue)
 * drops its @nr references while its caller holds one of its own, so they
 * are never the last. Finding no more than @nr left means a put dropped
 * references it did not hold: reported, and all but one dropped, so that
 * the caller's own drop (folios_put_refs()) is the last.
 */
void folio_ref_drop_not_last(pmm_t *pmm, struct pmm_folio *folio, int nr);

#endif /* PMM_PAGE_REF_H */
