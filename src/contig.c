/* SPDX-License-Identifier: MIT */
/*
 * contig.c - contiguous ranges: free_contig_range (batched and per page),
 * the frozen variant, free_pages_bulk, alloc_contig_range and
 * alloc_contig_pages (docs/design.md sections 6 and 7).
 *
 * The batched path is the 2026 series "mm/page_alloc: Optimize
 * free_contig_range()": every order-0 page still gets its own reference
 * drop and free checks, but a run of pages that passed both is freed as the
 * largest naturally aligned power-of-two chunks, each handed to the normal
 * free path already prepared. Cached orders land on the pcp, the rest on
 * the buddy, so memory stays in high orders instead of 512 order-0 pcp
 * entries. A run ends at a page that keeps references or fails the checks,
 * and at a section boundary: in the sparse model the memmap is not
 * contiguous there, so the page pointer is re-derived from the pfn.
 */
#include "buddy.h"
#include "contig.h"
#include "internal.h"
#include "pcp.h"


/* The checks of contig_put_prepare(), in order, for a page its fast test refused. */
bool contig_put_prepare_slow(pmm_t *pmm, struct pmm_page *page, bool frozen)
{
	if (unlikely(page_alloc_order(page) || PageHead(page))) {
		bad_page_report(pmm, page, "free_contig_range: not an order-0 page (split it first)");
		return false;
	}
	if (frozen ? unlikely(page_ref_count(page)) : !page_ref_put_testzero(pmm, page)) {
		if (frozen)
			bad_page_report(pmm, page, "frozen range: page has references");
		return false;
	}
	return free_pages_prepare_untraced(pmm, page, 0);
}

/*
 * Free a run of prepared order-0 pages as maximal aligned chunks.
 * Precondition: [pfn, pfn + nr) lies in one section, @page is pfn's page.
 */
void free_prepared_contig_range(pmm_t *pmm, struct pmm_page *page, pmm_pfn_t pfn,
				unsigned long nr)
{
	while (nr) {
		unsigned int order = pfn_align_order(pfn, pmm->max_order);
		unsigned int fit = ilog2_ul(nr);

		if (order > fit)
			order = fit;
		trace_mm_page_free_contig_chunk(pfn, order);
		free_frozen_pages(pmm, page, order, FPI_PREPARED | FPI_CONTIG_CHUNK);
		page += 1L << order;
		pfn += 1UL << order;
		nr -= 1UL << order;
	}
}

/*
 * The page of a pfn the caller named, or NULL (reported once) when it has
 * no memmap; *@next then says where managed memory may resume: the lowest
 * managed pfn, the next section, or nowhere (max_pfn). Holes inside a
 * present section have pages (PG_reserved): the per-page checks refuse them.
 */
static struct pmm_page *contig_pfn_to_page(pmm_t *pmm, pmm_pfn_t pfn, pmm_pfn_t *next)
{
	if (likely(pfn_present(pmm, pfn)))
		return pfn_to_page(pmm, pfn);
	bad_pfn_report(pmm, pfn, "pfn outside managed memory");
	if (pfn < pmm->min_pfn)
		*next = pmm->min_pfn;
	else if (pfn >= pmm->max_pfn)
		*next = pmm->max_pfn;
	else
		*next = next_section_pfn(pmm, pfn);
	return NULL;
}

/* mm_page_free for every managed page of [pfn, pfn + nr), while it is traced. */
static void trace_contig_range(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr)
{
	for (pmm_pfn_t end = pfn + nr; pfn < end; pfn++)
		if (pfn_present(pmm, pfn))
			trace_mm_page_free(pmm, pfn_to_page(pmm, pfn), 0);
}

/* The pre-2026 kernel loop: __free_page() on every pfn. */
static void free_contig_range_per_page(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr, bool frozen)
{
	for (pmm_pfn_t end = pfn + nr; pfn < end;) {
		pmm_pfn_t next = pfn + 1;
		struct pmm_page *page = contig_pfn_to_page(pmm, pfn, &next);

		if (page)
			trace_mm_page_free(pmm, page, 0);
		if (page && contig_put_prepare(pmm, page, frozen))
			free_frozen_pages(pmm, page, 0, FPI_PREPARED);
		pfn = next;
	}
}

/* contig_prepare_run()'s loop, with @frozen a constant in it. */
static __always_inline struct pmm_page *prepare_run(pmm_t *pmm, struct pmm_page *page,
						    struct pmm_page *last, const bool frozen)
{
	while (page < last && likely(contig_put_prepare(pmm, page, frozen)))
		page++;
	return page;
}

/* One function per kind of page, so that each loop is laid out straight. */
static __attribute__((noinline)) struct pmm_page *
prepare_run_owned(pmm_t *pmm, struct pmm_page *page, struct pmm_page *last)
{
	return prepare_run(pmm, page, last, false);
}

static __attribute__((noinline)) struct pmm_page *
prepare_run_frozen(pmm_t *pmm, struct pmm_page *page, struct pmm_page *last)
{
	return prepare_run(pmm, page, last, true);
}

struct pmm_page *contig_prepare_run(pmm_t *pmm, struct pmm_page *page, struct pmm_page *last,
				    bool frozen)
{
	return frozen ? prepare_run_frozen(pmm, page, last) : prepare_run_owned(pmm, page, last);
}

/*
 * The 2026 loop, one segment at a time: a segment ends at a section
 * boundary (the memmap is only known contiguous inside a section) and at a
 * zone break (a chunk must not cross a zone or node: the kernel's
 * page_is_buddy() never merges across one either). The inner loop is the
 * per-page work and nothing else; it stops at a page that keeps a
 * reference or fails the checks. Loop invariant: @pfn is @page's frame.
 * Always inlined twice so that @frozen is a constant in the inner loop.
 */
static inline __attribute__((always_inline)) void
free_contig_range_batched(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr, const bool frozen)
{
	const pmm_pfn_t end = pfn + nr;

	/* The probe's events up front, so that the loop below carries no test for them. */
	if (unlikely(trace_enabled(mm_page_free)))
		trace_contig_range(pmm, pfn, nr);
	while (pfn < end) {
		pmm_pfn_t seg_end = next_section_pfn(pmm, pfn);
		pmm_pfn_t brk = next_zone_break(pmm, pfn);
		pmm_pfn_t next = pfn + 1;
		struct pmm_page *page = contig_pfn_to_page(pmm, pfn, &next);

		if (unlikely(!page)) {
			pfn = next;
			continue;
		}
		if (seg_end > brk)
			seg_end = brk;
		if (seg_end > end)
			seg_end = end;
		for (struct pmm_page *last = page + (seg_end - pfn); page < last;) {
			struct pmm_page *start = page;

			page = contig_prepare_run(pmm, page, last, frozen);
			if (page > start)
				free_prepared_contig_range(pmm, start, pfn, (unsigned long)(page - start));
			if (page < last)	/* a page that stays: it ends the run */
				page++;
			pfn += (pmm_pfn_t)(page - start);
		}
	}
}

/*
 * free_contig_range_common - both public entry points; the instance option
 * picks the algorithm so that both run in one binary.
 */
void free_contig_range_common(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr_pages, bool frozen)
{
	if (!nr_pages)
		return;
	if (pmm->cfg.contig_per_page)
		free_contig_range_per_page(pmm, pfn, nr_pages, frozen);
	else if (frozen)
		free_contig_range_batched(pmm, pfn, nr_pages, true);
	else
		free_contig_range_batched(pmm, pfn, nr_pages, false);
}

/*
 * The public entry points: a compound head at @pfn is refused and nothing
 * is freed (kernel free_contig_range()); a range running past managed
 * memory is reported once and clamped to it.
 */
static void free_contig_range_checked(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr_pages,
				      bool frozen)
{
	if (!nr_pages)
		return;
	if (pfn >= pmm->max_pfn || nr_pages > pmm->max_pfn - pfn) {
		bad_pfn_report(pmm, pfn, "free_contig_range: range runs past managed memory");
		if (pfn >= pmm->max_pfn)
			return;
		nr_pages = (unsigned long)(pmm->max_pfn - pfn);
	}
	if (pfn_present(pmm, pfn) && unlikely(PageHead(pfn_to_page(pmm, pfn)))) {
		bad_page_report(pmm, pfn_to_page(pmm, pfn),
				"free_contig_range on a compound head: nothing freed");
		return;
	}
	free_contig_range_common(pmm, pfn, nr_pages, frozen);
}

void pmm_free_contig_range(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr_pages)
{
	free_contig_range_checked(pmm, pfn, nr_pages, false);
}

void pmm_free_contig_frozen_range(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr_pages)
{
	free_contig_range_checked(pmm, pfn, nr_pages, true);
}

/* A page of a folio (head or tail): its pages are not order-0 pages to free. */
static inline bool page_compound(const struct pmm_page *page)
{
	return PageHead(page) || page_is_tail(page);
}

/*
 * pmm_free_pages_bulk - kernel free_pages_bulk(): each run of consecutive
 * pfns in the array goes to the contig path as one range. An unsorted
 * array is still correct, just freed in shorter runs. A page given twice
 * finds its count already 0 the second time: reported, not freed again.
 * A page of a folio is refused on its own (reported, left as it is) and
 * ends the run, wherever it stands: the pages around it are still freed.
 */
void pmm_free_pages_bulk(pmm_t *pmm, struct pmm_page **array, unsigned long nr)
{
	unsigned long i = 0;

	if (!array)
		return;
	while (i < nr) {
		struct pmm_page *page = array[i];
		pmm_pfn_t start;
		unsigned long n = 1;

		if (!page || !page_valid_for_free(pmm, page,
						  "pmm_free_pages_bulk: page not managed by this instance")) {
			i++;
			continue;
		}
		if (unlikely(page_compound(page))) {
			bad_page_report(pmm, page, "pmm_free_pages_bulk on a compound page "
					"(a folio's: free it with pmm_folio_put)");
			i++;
			continue;
		}
		start = page_to_pfn(pmm, page);
		/*
		 * The next pfn of the same section is the next struct page in
		 * its memmap chunk, so a pointer that equals page + n there is
		 * a page of this instance without a chunk lookup (vmalloc's
		 * split blocks are all of this kind); anything else takes the
		 * full test.
		 */
		while (i + n < nr && array[i + n]) {
			const struct pmm_page *next = array[i + n];

			if (next == page + n && same_section(pmm, start, start + n)) {
				if (PageReserved(next))
					break;
			} else if (!page_belongs(pmm, next) || page_to_pfn(pmm, next) != start + n) {
				break;
			}
			if (page_compound(next))
				break;
			n++;
		}
		free_contig_range_common(pmm, start, n, false);
		i += n;
	}
}

/* ------------------------------------------------------------------------
 * alloc_contig_range
 * ------------------------------------------------------------------------ */

/*
 * Kernel alloc_contig_frozen_range(): isolate, drain, take, undo, and give
 * the overhang back. On success every frame of [start, end) is a frozen
 * order-0 page (PG_owned, refcount 0).
 */
static int alloc_contig_frozen(pmm_t *pmm, pmm_pfn_t start, pmm_pfn_t end, pmm_gfp_t gfp)
{
	struct pmm_zone *zone;
	struct isolation iso;
	pmm_pfn_t outer_start, outer_end;
	unsigned int order;
	int err;

	if (start >= end)
		return -PMM_EINVAL;
	for (pmm_pfn_t pfn = start; pfn < end; pfn++)
		if (!pfn_managed(pmm, pfn))
			return -PMM_ERANGE;
	/* One zone, as in the kernel: its lock and lists are the only ones taken. */
	zone = page_zone(pmm, pfn_to_page(pmm, start));
	for (pmm_pfn_t pfn = start; pfn < end; pfn++)
		if (page_zone(pmm, pfn_to_page(pmm, pfn)) != zone)
			return -PMM_EINVAL;
	order = ilog2_ul((unsigned long)(end - start));
	if (should_fail_alloc_page(pmm, gfp, order > pmm->max_order ? pmm->max_order : order))
		return -PMM_ENOMEM;

	err = start_isolate_page_range(zone, start, end, &iso);
	if (err)
		return err;
	/* Pages of the isolated pageblocks sitting on pcp lists go back to the buddy. */
	pmm_drain_all_pages(pmm);
	err = take_isolated_range(zone, start, end, &outer_start, &outer_end);
	undo_isolate_page_range(zone, &iso);
	if (err)
		return err;

	/* The overhang of the first and last block goes back through the batched path. */
	free_contig_range_common(pmm, outer_start, start - outer_start, true);
	free_contig_range_common(pmm, end, outer_end - end, true);
	if ((gfp & PMM_GFP_ZERO) && pmm->direct_map)
		memset(pfn_to_virt(pmm, start), 0,
		       (size_t)(end - start) << pmm->page_shift);
	return 0;
}

int pmm_alloc_contig_frozen_range(pmm_t *pmm, pmm_pfn_t start, pmm_pfn_t end, pmm_gfp_t gfp)
{
	return alloc_contig_frozen(pmm, start, end, gfp);
}

int pmm_alloc_contig_range(pmm_t *pmm, pmm_pfn_t start, pmm_pfn_t end, pmm_gfp_t gfp)
{
	int err = alloc_contig_frozen(pmm, start, end, gfp);

	if (err)
		return err;
	for (pmm_pfn_t pfn = start; pfn < end; pfn++)
		set_page_count(pfn_to_page(pmm, pfn), 1);
	return 0;
}

/* Could [pfn, pfn + nr) be taken? A cheap look before isolating anything. */
static bool contig_range_looks_free(pmm_t *pmm, struct pmm_zone *zone, pmm_pfn_t pfn,
				    unsigned long nr)
{
	for (pmm_pfn_t end = pfn + nr; pfn < end; pfn++) {
		struct pmm_page *page;

		if (!pfn_managed(pmm, pfn))
			return false;
		page = pfn_to_page(pmm, pfn);
		if (page_zone(pmm, page) != zone || page_ref_count(page) ||
		    (page_flags(page) & (PF(PG_owned) | PF(PG_bad))))
			return false;
	}
	return true;
}

/*
 * pmm_alloc_contig_pages - kernel alloc_contig_pages(): try naturally
 * aligned candidate ranges in each zone of the zonelist.
 */
struct pmm_page *pmm_alloc_contig_pages(pmm_t *pmm, unsigned long nr_pages, pmm_gfp_t gfp, int nid)
{
	const struct zonelist *zl;
	pmm_pfn_t align;

	if (!nr_pages || nr_pages > pmm->managed_pages || nid < -1 || nid >= PMM_MAX_NODES)
		return NULL;
	zl = zonelist_for(pmm, nid < 0 ? numa_node_id(pmm) : nid, gfp);
	align = (pmm_pfn_t)1 << (nr_pages == 1 ? 0 : ilog2_ul(nr_pages - 1) + 1);
	for (unsigned int i = 0; i < zl->nr; i++) {
		struct pmm_zone *zone = zl->zones[i];
		pmm_pfn_t pfn = (zone->start_pfn + align - 1) & ~(align - 1);

		if (nid >= 0 && (gfp & PMM_GFP_THISNODE) && zone->nid != nid)
			continue;
		for (; pfn + nr_pages <= zone->end_pfn && pfn + nr_pages > pfn; pfn += align) {
			if (!contig_range_looks_free(pmm, zone, pfn, nr_pages))
				continue;
			if (pmm_alloc_contig_range(pmm, pfn, pfn + nr_pages, gfp) == 0)
				return pfn_to_page(pmm, pfn);
		}
	}
	gstat_add(pmm, alloc_fail, 1);
	return NULL;
}
