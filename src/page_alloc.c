/* SPDX-License-Identifier: MIT */
/*
 * page_alloc.c - the allocation and free entry points: gfp -> zonelist ->
 * watermarks -> pcp or buddy, the checks at allocation (check_new_page)
 * and at free (free_pages_prepare), the order-0 pcp hit of rseq mode as a
 * path of its own, and the reference-count slow path every free path
 * shares.
 */
#include "buddy.h"
#include "fmt.h"
#include "internal.h"
#include "lru.h"
#include "page_alloc.h"
#include "pcp.h"

/* ------------------------------------------------------------------------
 * Reference counts
 * ------------------------------------------------------------------------ */

/* The shared and the underflow cases of page_ref_sub_testzero(). */
bool page_ref_sub_testzero_slow(pmm_t *pmm, struct pmm_page *page, int nr, int c)
{
	if (unlikely(PageReserved(page))) {
		bad_page_report(pmm, page, "pfn not managed (a hole between regions)");
		return false;
	}
	if (c >= nr) {
		c = atomic_fetch_sub_explicit(&page->refcount, nr, memory_order_acq_rel);
		if (c == nr)
			return true;
		if (likely(c > nr))
			return false;
		atomic_fetch_add_explicit(&page->refcount, nr, memory_order_relaxed);
	}
	bad_page_report(pmm, page, c == 0 ? "refcount underflow: page already free (double free?)"
					  : "refcount underflow: dropping more references than held");
	return false;
}

bool page_ref_drop_held_slow(pmm_t *pmm, struct pmm_page *page, int nr, int c)
{
	while (c > 0 && c < nr) {
		if (atomic_compare_exchange_weak_explicit(&page->refcount, &c, 0, memory_order_acq_rel,
							  memory_order_acquire)) {
			bad_page_report(pmm, page,
					"refcount underflow: a holder drops more references than are left");
			return true;
		}
	}
	return page_ref_sub_testzero_slow(pmm, page, nr, c);
}

void folio_ref_drop_not_last(pmm_t *pmm, struct pmm_folio *folio, int nr)
{
	_Atomic int *ref = &folio->page.refcount;
	int c = atomic_load_explicit(ref, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(ref, &c, c > nr ? c - nr : c > 1 ? 1 : c,
						      memory_order_acq_rel, memory_order_relaxed))
		;
	if (unlikely(c <= nr))
		bad_page_report(pmm, &folio->page,
				"refcount underflow: a holder finds no reference left for its caller");
}

/* ------------------------------------------------------------------------
 * Checks at free and at allocation
 * ------------------------------------------------------------------------ */

static const char *page_bad_reason(const struct pmm_page *page, uint64_t bad_flags)
{
	if (atomic_load_explicit(&((struct pmm_page *)page)->mapcount, memory_order_relaxed) != -1)
		return "nonzero mapcount";
	if (page->mapping)
		return "non-NULL mapping";
	if (page_ref_count(page))
		return "nonzero refcount";
	if (page_flags(page) & (PF(PG_buddy) | PF(PG_pcp)))
		return "page is already free";
	if (page_flags(page) & bad_flags & PAGE_ORDER_FIELD)
		return "nonzero alloc_order";
	if (page_flags(page) & bad_flags)
		return "page flags set that must be clear";
	return NULL;
}

/* free_pages_prepare() for everything but a clean order-0 page. */
bool free_pages_prepare_slow(pmm_t *pmm, struct pmm_page *page, unsigned int order)
{
	uint64_t f = page_flags(page);
	const char *why;

	if (unlikely(f & PF(PG_reserved))) {
		bad_page_report(pmm, page, "pfn not managed (a hole between regions)");
		return false;
	}
	if (unlikely(!(f & PF(PG_owned)) || (f & PF(PG_bad)))) {
		report_bad(pmm, page_to_pfn(pmm, page),
			   (f & (PF(PG_buddy) | PF(PG_pcp))) ? "freeing a free page (double free?)"
							     : "freeing a page that is not allocated",
			   page);
		return false;
	}
	/*
	 * An anonymous folio (every folio an LRU list, a batch, the swap
	 * cache or a split queue has is one) whose last reference a call
	 * other than folios_put_refs() dropped: what __folio_put() does
	 * first, where the kernel's own __free_pages() of an LRU folio would
	 * leak it as bad and leave it listed (lru.h). The checks below then
	 * see a released folio; on any other page, those flags and a mapcount
	 * are stray writes, reported and leaked.
	 */
	if (folio_test_anon((struct pmm_folio *)page)) {
		if (!folio_release_prepare(pmm, (struct pmm_folio *)page))
			return false;
		f = page_flags(page);
	}
	why = page_bad_reason(page, PAGE_FLAGS_CHECK_AT_FREE);
	if (unlikely(why)) {
		bad_page_leak(pmm, page, order, why);
		return false;
	}
	if (f & PF(PG_head)) {
		if (unlikely(!free_tail_pages_check(pmm, page, order)))
			return false;
	} else if (order && pmm->check_full) {
		/*
		 * The tails of a non-compound block: only the full checks read
		 * them. No call changes a tail of a block that was never split
		 * (each one refuses such a tail before touching it, as it has
		 * neither PG_owned nor a reference), so they are as clean as
		 * when the block was handed out; what else could change them
		 * is a stray write, which FULL and pmm_check() find.
		 */
		for (unsigned long i = 1; i < (1UL << order); i++) {
			if (unlikely((page_flags(&page[i]) & PAGE_FLAGS_MASK) ||
				     page_bad_reason(&page[i], 0))) {
				bad_page_leak(pmm, page, order, "tail page of a non-compound block in use");
				return false;
			}
		}
	}
	/* refcount 0: nobody else sees the page */
	__page_flags_store(page, page_flags(page) &
				 ~(PF(PG_owned) | PF(PG_head) | PF(PG_dirty) | PAGE_ORDER_FIELD));
	page->private = 0;
	page->index = 0;
	return true;
}

/*
 * Kernel page_expected_state() at allocation, from the page's flags word @f:
 * no reference and unmapped (both counts in one read), no owner, no order.
 * Each test is likely to pass on its own, so that the pcp hit's clean page
 * runs straight through them (with the whole expression unlikely to fail,
 * GCC put the clean page's path out of line, behind a taken branch).
 */
static inline bool page_clean_for_alloc(const struct pmm_page *p, uint64_t f)
{
	return likely(!(f & PAGE_FLAGS_CHECK_AT_PREP)) &&
	       likely(atomic_load_explicit(&((struct pmm_page *)p)->counts, memory_order_relaxed) ==
		      PAGE_COUNTS(-1, 0)) &&
	       likely(!p->mapping);
}

/*
 * Kernel check_new_pages(): the pages of a block leaving a free list must
 * be clean. KERNEL checks the head, which prep_new_page() writes anyway;
 * FULL every page (the kernel runs its loop only when check_pages_enabled:
 * CONFIG_DEBUG_VM, debug_pagealloc, init_on_alloc/free). The free path
 * left every tail clean (design.md section 5), so a dirty tail here is a
 * stray write, which FULL and pmm_check() report.
 */
static inline bool check_new_pages(pmm_t *pmm, struct pmm_page *page, unsigned int order)
{
	unsigned long n = pmm->check_full ? 1UL << order : 1;

	for (unsigned long i = 0; i < n; i++) {
		struct pmm_page *p = &page[i];

		if (unlikely(!page_clean_for_alloc(p, page_flags(p)))) {
			const char *why = page_bad_reason(p, PAGE_FLAGS_CHECK_AT_PREP);

			bad_page_leak(pmm, page, order, why ? why : "page not clean");
			return false;
		}
	}
	return true;
}

/*
 * prep_new_page - turn a block taken from a free list into an allocation:
 * checks, refcount 1, PG_owned + order, compound and zeroing per @gfp.
 * Return: false if the block was bad (it is leaked; the caller retries).
 */
static __always_inline bool prep_new_page(pmm_t *pmm, struct pmm_page *page, unsigned int order,
					  pmm_gfp_t gfp)
{
	if (unlikely(!check_new_pages(pmm, page, order)))
		return false;
	__set_page_owned_order(page, order);	/* just off a free list, checked: ours alone */
	set_page_count(page, 1);
	if ((gfp & PMM_GFP_COMP) && order)
		prep_compound_page(page, order);
	if ((gfp & PMM_GFP_ZERO) && pmm->direct_map)
		memset(pfn_to_virt(pmm, page_to_pfn(pmm, page)), 0, (size_t)1 << (pmm->page_shift + order));
	return true;
}

/* ------------------------------------------------------------------------
 * Allocation
 * ------------------------------------------------------------------------ */

/*
 * Kernel __zone_watermark_ok(): would the zone keep more than the mark
 * (plus lowmem_reserve) free after handing out @nr_pages frames? Only the
 * slow path's @alloc_flags lower the mark or count the highatomic reserve.
 */
static inline bool zone_watermark_ok(const struct pmm_zone *zone, unsigned long nr_pages,
				     int mark, pmm_gfp_t gfp, unsigned int alloc_flags)
{
	int64_t free = atomic_load_explicit(&((struct pmm_zone *)zone)->free_pages,
					    memory_order_relaxed) - (int64_t)(nr_pages - 1);
	int64_t min = (int64_t)zone->wmark[mark];

	if (alloc_flags & ALLOC_MIN_RESERVE)
		min -= min / 2;
	if (alloc_flags & ALLOC_DEEP_RESERVE)
		min -= min / 4;
	if (!(gfp & PMM_GFP_DMA32))
		min += (int64_t)zone->lowmem_reserve;
	/* The highatomic reserve is not there for requests that may not use it. */
	if (!(alloc_flags & ALLOC_RESERVES))
		free -= (int64_t)__atomic_load_n(&zone->nr_reserved_highatomic, __ATOMIC_RELAXED);
	return free > min;
}

/*
 * One block from @zone: this CPU's pcp for cached orders, else (also when
 * the pcp list could not be refilled) the buddy, where @alloc_flags may
 * reach the highatomic reserve (kernel rmqueue()).
 */
static inline __attribute__((always_inline)) struct pmm_page *
rmqueue(pmm_t *pmm, struct pmm_zone *zone, unsigned int order, int mt, unsigned int alloc_flags)
{
	if (likely(pmm->pcp_enabled) && pcp_order_index(pmm, order) >= 0 &&
	    pcp_takes_order(pmm, zone, order)) {
		struct pmm_pcp *pcp;

		int oi = pmm->pcp_rseq ? pcp_rseq_oi(pmm, order) : -1;

		if (oi >= 0) {
			struct pmm_page *page = pcp_rseq_alloc(pmm, zone, oi, mt);

			if (likely(page))
				return page;
		}
		pcp = this_cpu_pcp(pmm, zone);
		if (likely(pcp_trylock(zone, pcp))) {
			struct pmm_page *page = rmqueue_pcplist_locked(zone, pcp, order, mt);

			pcp_unlock(pcp);
			if (likely(page))
				return page;
		} else {
			gstat_add(pmm, pcp_lock_miss, 1);
		}
	}
	return rmqueue_buddy(zone, order, mt, alloc_flags);
}

static inline __attribute__((always_inline)) struct pmm_page *
get_page_from_freelist(pmm_t *pmm, int nid, pmm_gfp_t gfp, unsigned int order, int mark,
		       unsigned int alloc_flags)
{
	const struct zonelist *zl = zonelist_for(pmm, nid, gfp);
	int mt = gfp_migratetype(gfp);

	for (unsigned int i = 0; i < zl->nr; i++) {
		struct pmm_zone *zone = zl->zones[i];
		struct pmm_page *page;

		if ((gfp & PMM_GFP_THISNODE) && zone->nid != nid)
			continue;
		if (!zone_watermark_ok(zone, 1UL << order, mark, gfp, alloc_flags))
			continue;
		while ((page = rmqueue(pmm, zone, order, mt, alloc_flags))) {
			if (likely(prep_new_page(pmm, page, order, gfp))) {
				if (unlikely(alloc_flags & ALLOC_HIGHATOMIC))
					reserve_highatomic_pageblock(zone, page);
				return page;
			}
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * The order-0 pcp hit of rseq mode, in one pass over the page
 * ------------------------------------------------------------------------ */

/*
 * pcp_fast_update - may order-0 requests try the hit below? Rseq mode, the
 * calling CPU's node is node 0 (no cpu_to_node) and no page-allocation
 * fault armed: pmm_create() and pmm_fault_set() (which is not thread safe)
 * keep the flag, so that the hit tests one byte for all three. The free's
 * own byte says rseq mode and a preferred zone to push to.
 */
void pcp_fast_update(pmm_t *pmm)
{
	pmm->pcp_fast = pmm->pcp_rseq && !pmm->cpu_nodes &&
			!pmm->fault[PMM_FAULT_PAGE_ALLOC].attr.nth;
	pmm->pcp_free_fast = pmm->pcp_rseq && pmm->pcp_zone[ZONELIST_ALL];
}

/*
 * Can an order-0 request of @gfp take it? Not with THISNODE (node 0's
 * zonelist may start elsewhere), nor with ZERO (prep_new_page() zeroes).
 */
static __always_inline bool pcp_fast_ok(const pmm_t *pmm, pmm_gfp_t gfp)
{
	return pmm->pcp_fast && !(gfp & (PMM_GFP_THISNODE | PMM_GFP_ZERO));
}

/* The general free path, defined below with the reference-count slow path. */
static void free_pages_checked(pmm_t *pmm, struct pmm_page *page, unsigned int order);

/* free_pcp_fast()'s page, prepared, when the array was full or locked. */
static __attribute__((noinline)) void free_pcp_unpushed(pmm_t *pmm, struct pmm_page *page)
{
	__ClearPagePcp(page);	/* refcount 0: ours alone */
	free_frozen_pages(pmm, page, 0, FPI_PREPARED);
}

/*
 * free_pcp_fast - pmm_free_pages() of an order-0 page for its common case:
 * the caller's reference the only one, the page clean, in the zone node
 * 0's allocations start in, its pageblock of a pcp type. The checks of
 * pmm_free_pages() and free_pages_prepare() are one test on one read of
 * each word: the count, read first with acquire together with the
 * mapcount beside it (page->counts; the reference-drop rule, page_ref.h),
 * says that nobody else holds the page, so the flags read after it are
 * final; the flags are then written once, prepared and on
 * the pcp together. Anything else goes, with nothing changed, to the
 * general path, which checks in order and reports. Every exit is a tail
 * call, so none of them costs the push a frame. A tail page needs no test
 * of its own: it has no reference and no PG_owned (nothing through pmm.h
 * gives it either, docs/design.md section 5), so the count and the flags
 * refuse it, as in contig_put_prepare().
 *
 * The list is found from the page's address alone: the zone is the one
 * allocations take from (pmm->pcp_zone[]), the type is its pageblock's
 * (as the kernel's), looked up by @pfn. So the push never waits for the
 * page's record, which a free of a cold page misses in the cache: only the
 * branches that check it do, and they are predicted, so the next frees'
 * misses overlap this one's. The zone id in the flags confirms the zone.
 * Precondition: pcp_free_fast, page_placed_table(@page) found @pfn (a
 * PG_reserved hole fails the flags test, and the general path reports
 * it).
 */
static __always_inline void free_pcp_fast(pmm_t *pmm, struct pmm_page *page, pmm_pfn_t pfn)
{
	struct pmm_zone *zone = pmm->pcp_zone[ZONELIST_ALL];	/* not NULL: pcp_free_fast */
	uint64_t counts = page_counts_acquire(page);
	uint64_t f = page_flags(page);
	int mt;

	/*
	 * One reference, unmapped (both counts in one read), and
	 * page_clean_for_free() with the zone id in the same test of the flags
	 * (owned_flags lies inside the mask: the XOR leaves no bit outside it)
	 */
	if (unlikely(counts != PAGE_COUNTS(-1, 1) ||
		     (((uint32_t)f ^ zone->owned_flags) &
		      (uint32_t)(PAGE_FLAGS_CHECK_AT_FREE | PF(PG_owned) | PF(PG_head) |
				 PAGE_ORDER_FIELD | PAGE_ZONE_MASK << PAGE_ZONE_SHIFT)) ||
		     page->mapping))
		goto general;
	/* The page is @zone's (its flags said so): @pfn lies in it. */
	mt = get_pageblock_migratetype(zone, pfn);
	if (unlikely(mt >= PMM_MIGRATE_PCPTYPES))
		goto general;
	/* The general path fires the probe where the kernel has it. */
	if (trace_enabled(mm_page_free))
		goto general;
	set_page_count_unmapped(page, 0);
	page_prepare_clean(page, (f & ~(PF(PG_owned) | PF(PG_dirty))) | PF(PG_pcp));
	/*
	 * One push per type, each with its list a constant: the branch is
	 * predicted, so the push's address waits for no load at all, where
	 * with the type as data it waited for the pageblock lookup, and the
	 * next allocation's pop, which reads the word the push writes, with it.
	 */
	if (likely(mt == PMM_MIGRATE_UNMOVABLE))
		PCP_RSEQ_PUSH_CONST(pmm->rseq_off, zone, pmm->nr_cpus, 0, PMM_MIGRATE_UNMOVABLE, page);
	else if (mt == PMM_MIGRATE_MOVABLE)
		PCP_RSEQ_PUSH_CONST(pmm->rseq_off, zone, pmm->nr_cpus, 0, PMM_MIGRATE_MOVABLE, page);
	else
		PCP_RSEQ_PUSH_CONST(pmm->rseq_off, zone, pmm->nr_cpus, 0, PMM_MIGRATE_RECLAIMABLE,
				    page);
	return;
bail:
	free_pcp_unpushed(pmm, page);
	return;
general:
	free_pages_checked(pmm, page, 0);
}

/*
 * Kernel gfp_to_alloc_flags(): HIGH and ATOMIC_RES lower the min watermark;
 * a request that may not wait (no reclaim: NOWAIT, which GFP_ATOMIC
 * includes) may take the highatomic reserve when nothing else is left, and
 * a high-order one uses the reserve first and sets a pageblock aside on
 * success. Only the slow path does any of this.
 */
static unsigned int gfp_to_alloc_flags(pmm_gfp_t gfp, unsigned int order)
{
	unsigned int af = 0;

	if (gfp & PMM_GFP_HIGH)
		af |= ALLOC_MIN_RESERVE;
	if (gfp & PMM_GFP_ATOMIC_RES)
		af |= ALLOC_DEEP_RESERVE;
	if (gfp & PMM_GFP_NOWAIT)
		af |= ALLOC_NON_BLOCK | (order ? ALLOC_HIGHATOMIC : 0);
	return af;
}

/*
 * The slow path, in the kernel's order: the min watermark (lowered for
 * HIGH/ATOMIC), then reclaim (shrinkers) unless NOWAIT, then draining every
 * CPU's pcp lists, then the highatomic reserve. It never waits: failure is
 * NULL.
 */
static struct pmm_page *alloc_slowpath(pmm_t *pmm, int nid, pmm_gfp_t gfp, unsigned int order)
{
	unsigned int af = gfp_to_alloc_flags(gfp, order);
	struct pmm_page *page = get_page_from_freelist(pmm, nid, gfp, order, WMARK_MIN, af);

	if (page)
		return page;
	if (!(gfp & PMM_GFP_NOWAIT) && shrink_slab(pmm, 32UL << order)) {
		page = get_page_from_freelist(pmm, nid, gfp, order, WMARK_MIN, af);
		if (page)
			return page;
	}
	pmm_drain_all_pages(pmm);
	page = get_page_from_freelist(pmm, nid, gfp, order, WMARK_MIN, af);
	if (page)
		return page;
	/* Last, what was set aside for high-order atomic requests. */
	const struct zonelist *zl = zonelist_for(pmm, nid, gfp);
	bool released = false;

	for (unsigned int i = 0; i < zl->nr; i++)
		released |= unreserve_highatomic_pageblock(zl->zones[i], gfp_migratetype(gfp));
	return released ? get_page_from_freelist(pmm, nid, gfp, order, WMARK_MIN, af) : NULL;
}

/*
 * A node id a caller named: PMM_NUMA_NO_NODE is the calling CPU's node, any
 * id of the node range is usable (a node without memory falls back through
 * its zonelist); anything else is refused with a log line.
 * Return: the node, or -1.
 */
static inline int resolve_nid(pmm_t *pmm, int nid, pmm_gfp_t gfp)
{
	if (likely(nid == PMM_NUMA_NO_NODE))
		return numa_node_id(pmm);
	if (likely(nid >= 0 && nid < PMM_MAX_NODES))
		return nid;
	gstat_add(pmm, alloc_fail, 1);
	if (!(gfp & PMM_GFP_NOWARN))
		pmm_log(pmm, true, "allocation refused: node %d is not 0..%d or PMM_NUMA_NO_NODE",
			nid, PMM_MAX_NODES - 1);
	return -1;
}

/* Everything but the pcp hit below: node and order checks, faults, the zonelist, the slow path. */
static __attribute__((noinline)) struct pmm_page *
alloc_pages_checked(pmm_t *pmm, int nid, pmm_gfp_t gfp, unsigned int order)
{
	struct pmm_page *page;

	nid = resolve_nid(pmm, nid, gfp);
	if (unlikely(nid < 0))
		return NULL;
	if (unlikely(order > pmm->max_order)) {
		gstat_add(pmm, alloc_fail, 1);
		if (!(gfp & PMM_GFP_NOWARN))
			pmm_log(pmm, true, "allocation of order %u refused: max_order is %u",
				order, pmm->max_order);
		return NULL;
	}
	if (unlikely(should_fail_alloc_page(pmm, gfp, order))) {
		page = NULL;
	} else {
		/* Order 0 gets its own copy of the fast path, with order a constant. */
		page = likely(!order) ? get_page_from_freelist(pmm, nid, gfp, 0, WMARK_LOW, 0)
				      : get_page_from_freelist(pmm, nid, gfp, order, WMARK_LOW, 0);
		if (unlikely(!page))
			page = alloc_slowpath(pmm, nid, gfp, order);
	}
	if (unlikely(!page)) {
		gstat_add(pmm, alloc_fail, 1);
		if (!(gfp & PMM_GFP_NOWARN))
			pmm_log(pmm, true, "page allocation failure: order %u gfp %#x", order, gfp);
	}
	trace_mm_page_alloc(pmm, page, order, gfp, gfp_migratetype(gfp));
	return page;
}

/*
 * A popped page that is bad or must be zeroed: prep_new_page(). A bad one
 * is reported and leaked, and the request takes the general path.
 */
static __attribute__((noinline)) struct pmm_page *
alloc_pcp_prep(pmm_t *pmm, struct pmm_page *page, uint64_t f, pmm_gfp_t gfp)
{
	__page_flags_store(page, f);
	if (!prep_new_page(pmm, page, 0, gfp))
		return alloc_pages_checked(pmm, 0, gfp, 0);
	trace_mm_page_alloc(pmm, page, 0, gfp, gfp_migratetype(gfp));
	return page;
}

/*
 * alloc_pages_pcp - an order-0 request that may take the pcp hit: the
 * kernel's fast path (get_page_from_freelist() at the low watermark) for
 * its common case only, the preferred zone above its mark and a page on
 * this CPU's array. The page's checks and preparation (check_new_page,
 * prep_new_page) read and write its flags once. Anything else goes, with
 * nothing changed, to the general path, which walks the zonelist. Every
 * exit is a tail call, so none of them costs the hit a frame. The request's
 * node is 0, the calling CPU's (pcp_fast_ok()).
 */
_Static_assert(PMM_GFP_DMA32 == 1 && ZONELIST_DMA32 == 1 && ZONELIST_ALL == 0, "the zonelist's index");
static __attribute__((noinline)) struct pmm_page *alloc_pages_pcp(pmm_t *pmm, pmm_gfp_t gfp)
{
	size_t zl = gfp & PMM_GFP_DMA32;	/* ZONELIST_DMA32 or ZONELIST_ALL */
	struct pmm_zone *zone = pmm->pcp_zone[zl];
	struct pmm_page *page;
	uint64_t f;

	/*
	 * zone_watermark_ok(zone, 1, WMARK_LOW, gfp, 0), folded
	 * (zone_fast_mark_update()); while the probe is traced, the general
	 * path takes the request and fires it.
	 */
	if (unlikely(!zone) || trace_enabled(mm_page_alloc) ||
	    atomic_load_explicit(&zone->free_pages, memory_order_relaxed) <=
		    (int64_t)__atomic_load_n(&zone->fast_mark[zl], __ATOMIC_RELAXED))
		return alloc_pages_checked(pmm, 0, gfp, 0);
	/*
	 * One pop per type, each with its list a constant, as free_pcp_fast()'s
	 * pushes; the unmovable one (GFP_KERNEL's) straight through.
	 */
	if (likely(!(gfp & (PMM_GFP_MOVABLE | PMM_GFP_RECLAIMABLE))))	/* gfp_migratetype() */
		PCP_RSEQ_POP_CONST(page, pmm->rseq_off, zone, pmm->nr_cpus, 0, PMM_MIGRATE_UNMOVABLE);
	else if (gfp_migratetype(gfp) == PMM_MIGRATE_MOVABLE)
		PCP_RSEQ_POP_CONST(page, pmm->rseq_off, zone, pmm->nr_cpus, 0, PMM_MIGRATE_MOVABLE);
	else
		PCP_RSEQ_POP_CONST(page, pmm->rseq_off, zone, pmm->nr_cpus, 0,
				   PMM_MIGRATE_RECLAIMABLE);
	if (unlikely(!page))
		return alloc_pages_checked(pmm, 0, gfp, 0);
	f = page_flags(page);	/* popped: ours alone */
	PMM_BUG_ON_PAGE(!(f & PF(PG_pcp)), page);
	if (unlikely(!page_clean_for_alloc(page, f)))	/* PG_pcp is not checked at prep */
		return alloc_pcp_prep(pmm, page, f & ~PF(PG_pcp), gfp);
	/* PG_pcp set, PG_owned clear (checked): one XOR swaps them */
	__page_flags_store(page, f ^ (PF(PG_pcp) | PF(PG_owned)));
	set_page_count_unmapped(page, 1);
	return page;
}

/*
 * The public entry points: the order-0 pcp hit and the general path are
 * functions of their own, so that neither pays for the other's frame;
 * node 0 is the calling CPU's when no cpu_to_node says otherwise
 * (pcp_fast_ok()).
 */
static __always_inline struct pmm_page *alloc_pages_node(pmm_t *pmm, int nid, pmm_gfp_t gfp,
							 unsigned int order)
{
	if (likely(!order) && likely(nid == PMM_NUMA_NO_NODE || nid == 0) &&
	    pcp_fast_ok(pmm, gfp))
		return alloc_pages_pcp(pmm, gfp);
	return alloc_pages_checked(pmm, nid, gfp, order);
}

struct pmm_page *pmm_alloc_pages_node(pmm_t *pmm, int nid, pmm_gfp_t gfp, unsigned int order)
{
	return alloc_pages_node(pmm, nid, gfp, order);
}

struct pmm_page *pmm_alloc_pages(pmm_t *pmm, pmm_gfp_t gfp, unsigned int order)
{
	return alloc_pages_node(pmm, PMM_NUMA_NO_NODE, gfp, order);
}

#define BULK_CHUNK 256	/* pages popped per pcp lock hold */

/*
 * Fill NULL slots from one pcp, BULK_CHUNK pages per lock hold (kernel
 * alloc_pages_bulk_noprof() holds it for the whole array); whatever is
 * left goes through the normal allocator one page at a time until it
 * fails. The pages are checked and prepared after the pcp lock is
 * dropped, so a bad-page report (and the caller's bad_page_fn) never runs
 * under a pmm lock; a bad page is leaked and its slot filled by the next.
 */
unsigned long pmm_alloc_pages_bulk(pmm_t *pmm, pmm_gfp_t gfp, unsigned long nr,
				   struct pmm_page **array)
{
	int nid = numa_node_id(pmm);
	const struct zonelist *zl = zonelist_for(pmm, nid, gfp);
	int mt = gfp_migratetype(gfp);
	unsigned long filled = 0, missing = 0, slot = 0;
	struct pmm_zone *zone = NULL;
	unsigned long i;

	if (!array)
		return 0;
	for (i = 0; i < nr; i++)
		missing += !array[i];
	if (!missing)
		return nr;
	if (should_fail_alloc_page(pmm, gfp, 0))
		return nr - missing;
	for (i = 0; i < zl->nr && pmm->pcp_enabled; i++) {
		if ((gfp & PMM_GFP_THISNODE) && zl->zones[i]->nid != nid)
			continue;	/* as the allocator's zonelist walk */
		if (zone_watermark_ok(zl->zones[i], missing, WMARK_LOW, gfp, 0)) {
			zone = zl->zones[i];
			break;
		}
	}
	while (zone && missing) {
		struct pmm_pcp *pcp = this_cpu_pcp(pmm, zone);
		struct pmm_page *got[BULK_CHUNK];
		unsigned long want = missing < BULK_CHUNK ? missing : BULK_CHUNK, n = 0;

		if (!pcp_trylock(zone, pcp))
			break;
		while (n < want && (got[n] = rmqueue_pcplist_locked(zone, pcp, 0, mt)))
			n++;
		pcp_unlock(pcp);
		for (unsigned long k = 0; k < n; k++) {
			if (!prep_new_page(pmm, got[k], 0, gfp))
				continue;	/* leaked as bad */
			while (array[slot])
				slot++;
			array[slot++] = got[k];
			missing--;
		}
		if (n < want)
			break;		/* the pcp could not be refilled */
	}
	for (i = 0; i < nr; i++) {
		if (!array[i] && !(array[i] = pmm_alloc_pages_node(pmm, nid, gfp | PMM_GFP_NOWARN, 0)))
			break;
	}
	for (i = 0; i < nr; i++)
		filled += !!array[i];
	return filled;
}

/* ------------------------------------------------------------------------
 * Free
 * ------------------------------------------------------------------------ */

/*
 * free_frozen_pages - free a block whose refcount is already 0.
 * @fpi: FPI_PREPARED when free_pages_prepare() already ran (contig path).
 * Cached orders go to this CPU's pcp unless the pageblock is isolated or
 * the pcp lock is busy; the rest go to the buddy under the zone lock.
 */
static inline __attribute__((always_inline)) void
__free_frozen_pages(pmm_t *pmm, struct pmm_page *page, unsigned int order, unsigned int fpi)
{
	struct pmm_zone *zone;
	pmm_pfn_t pfn;

	if (!(fpi & FPI_PREPARED) && unlikely(!free_pages_prepare(pmm, page, order)))
		return;
	zone = page_zone(pmm, page);
	pfn = page_to_pfn(pmm, page);
	if (likely(pmm->pcp_enabled) && pcp_order_index(pmm, order) >= 0 &&
	    pcp_takes_order(pmm, zone, order)) {
		int mt = get_pageblock_migratetype(zone, pfn);

		if (unlikely(mt >= PMM_MIGRATE_PCPTYPES)) {
			if (mt == PMM_MIGRATE_ISOLATE)
				goto buddy;
			mt = PMM_MIGRATE_MOVABLE;
		}
		int oi = pmm->pcp_rseq ? pcp_rseq_oi(pmm, order) : -1;

		if (oi >= 0 && likely(pcp_rseq_free(pmm, zone, page, oi, mt, fpi & FPI_CONTIG_CHUNK)))
			return;
		struct pmm_pcp *pcp = this_cpu_pcp(pmm, zone);
		if (likely(pcp_trylock(zone, pcp))) {
			free_pcp_commit_locked(zone, pcp, page, order, mt, fpi);
			pcp_unlock(pcp);
			return;
		}
		gstat_add(pmm, pcp_lock_miss, 1);
	}
buddy:
	free_one_page(zone, page, pfn, order, fpi);
}

/* Out of line for the paths that are not the order-0 public free. */
void free_frozen_pages(pmm_t *pmm, struct pmm_page *page, unsigned int order, unsigned int fpi)
{
	__free_frozen_pages(pmm, page, order, fpi);
}

/* Mark the 2^@order block at @page as handed out, so it can be freed. */
static void set_block_owned(struct pmm_page *page, unsigned int order)
{
	__set_page_owned_order(page, order);	/* a tail half being freed: nobody else's */
}

/*
 * free_pages_checked - pmm_free_pages() in full, the pointer check
 * included: Linux __free_pages(). For a non-compound block whose head
 * keeps references, the tail halves are freed now and the head becomes an
 * order-0 page: alloc_order drops to 0 before the reference does, so the
 * holder whose put is last frees exactly what is left.
 */
static __attribute__((noinline)) void free_pages_checked(pmm_t *pmm, struct pmm_page *page,
							  unsigned int order)
{
	uint64_t f;
	unsigned int expected;

	if (!page)
		return;
	if (!page_valid_for_free(pmm, page, "pmm_free_pages: page not managed by this instance"))
		return;
	f = page_flags(page);
	if (unlikely(page_is_tail(page))) {
		bad_page_report(pmm, page, "pmm_free_pages on a tail page");
		return;
	}
	if (unlikely(!(f & PF(PG_owned)) || (f & PF(PG_bad)))) {
		bad_page_report(pmm, page, (f & (PF(PG_buddy) | PF(PG_pcp))) ?
				"pmm_free_pages: page already free (double free?)" :
				"pmm_free_pages: page not allocated");
		return;
	}
	expected = (f & PF(PG_head)) ? folio_order((struct pmm_folio *)page) :
					 (unsigned int)((f & PAGE_ORDER_FIELD) >> PAGE_ORDER_SHIFT);
	if (unlikely(order != expected)) {
		char why[80];

		fmt_snprintf(why, sizeof(why), "pmm_free_pages: order %u but block has order %u",
			 order, expected);
		bad_page_report(pmm, page, why);
		return;
	}
	if (likely(!order)) {
		if (page_ref_put_testzero(pmm, page))
			__free_frozen_pages(pmm, page, 0, FPI_NONE);
		return;
	}
	if (f & PF(PG_head)) {
		if (page_ref_put_testzero(pmm, page))
			free_frozen_pages(pmm, page, order, FPI_NONE);
		return;
	}
	clear_page_alloc_order(page);	/* other holders may read it: atomic */
	if (page_ref_put_testzero(pmm, page)) {
		__set_page_alloc_order(page, order);
		free_frozen_pages(pmm, page, order, FPI_NONE);
		return;
	}
	while (order-- > 0) {
		struct pmm_page *half = page + (1L << order);

		set_block_owned(half, order);
		free_frozen_pages(pmm, half, order, FPI_NONE);
	}
}

/* The order-0 pcp hit inline, the general path out of line. */
void pmm_free_pages(pmm_t *pmm, struct pmm_page *page, unsigned int order)
{
	pmm_pfn_t pfn;

	if (likely(!order) && pmm->pcp_free_fast && likely(page_placed_table(pmm, page, &pfn)))
		free_pcp_fast(pmm, page, pfn);
	else
		free_pages_checked(pmm, page, order);
}

void pmm_get_page(pmm_t *pmm, struct pmm_page *page)
{
	struct pmm_page *head;

	if (!page_valid_for_free(pmm, page, "pmm_get_page: page not managed by this instance"))
		return;
	head = compound_head(page);
	if (unlikely(page_ref_count(head) <= 0)) {
		bad_page_report(pmm, head, "pmm_get_page on a page without references");
		return;
	}
	atomic_fetch_add_explicit(&head->refcount, 1, memory_order_relaxed);
}

/* Drop @refs references on @page's folio (or page); free it at zero. */
static void put_page_refs(pmm_t *pmm, struct pmm_page *page, int refs)
{
	struct pmm_page *head = compound_head(page);

	if (!page_ref_sub_testzero(pmm, head, refs))
		return;
	if (page_flags(head) & PF(PG_head))
		free_frozen_pages(pmm, head, folio_order((struct pmm_folio *)head), FPI_NONE);
	else
		free_frozen_pages(pmm, head, page_alloc_order(head), FPI_NONE);
}

void pmm_put_page(pmm_t *pmm, struct pmm_page *page)
{
	if (!page_valid_for_free(pmm, page, "pmm_put_page: page not managed by this instance"))
		return;
	put_page_refs(pmm, page, 1);
}

void pmm_folio_put_refs(pmm_t *pmm, struct pmm_folio *folio, int refs)
{
	if (!folio || !page_valid_for_free(pmm, &folio->page,
					   "pmm_folio_put_refs: folio not managed by this instance"))
		return;
	if (refs <= 0) {
		bad_page_report(pmm, &folio->page, "pmm_folio_put_refs: refs must be positive");
		return;
	}
	put_page_refs(pmm, &folio->page, refs);
}

void pmm_folio_put(pmm_t *pmm, struct pmm_folio *folio)
{
	pmm_folio_put_refs(pmm, folio, 1);
}
