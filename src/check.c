/* SPDX-License-Identifier: MIT */
/*
 * check.c - pmm_check(): every invariant of docs/design.md section 10.
 *
 * It takes every pcp lock and zone lock (pcp before zone, zones in index
 * order, the allocator's own order) so that it sees one consistent state,
 * then:
 *  1. walks each free list: PG_buddy, order, alignment, zone, section,
 *     pageblock type, no overlap, no unmerged buddy pair, counters;
 *  2. walks each pcp list: PG_pcp, order, alignment, no overlap, count;
 *  3. classifies every frame: free, allocated (refcount > 0), frozen
 *     (handed out, refcount 0) or leaked (PG_bad), with the folio and
 *     tail invariants, and checks that the four add up to the managed count;
 *  4. with address spaces: walks every live mm's page tables (table pages
 *     marked and counted, RSS), counts the PTEs mapping each frame, and
 *     checks every anonymous folio's mapcounts against those counts in its
 *     mapcount model, its refcount against its mappings, and its LRU,
 *     LRU add batch, deferred split and swap cache membership against
 *     those structures.
 * Address spaces are locked first (mm, then the lruvec, queue, swap cache
 * and add batch locks), then pcp and zone locks: the allocator's own order.
 */
#include "buddy.h"
#include "deferred_split.h"
#include "fmt.h"
#include "internal.h"
#include "lru.h"
#include "memmap.h"
#include "mm.h"
#include "page_ref.h"
#include "pcp.h"
#include "rmap.h"
#include "swap.h"
#include "vmap_area.h"

#include <stdarg.h>

#define MAX_REPORTS 20

enum { MARK_LRU = 1, MARK_DEFERRED = 2, MARK_BATCH = 4 };

struct checker {
	pmm_t *pmm;
	unsigned long errors;
	char lines[MAX_REPORTS][256];	/* reported once every lock is dropped */
	uint64_t *free_map;	/* one bit per frame of [min_pfn, max_pfn) */
	size_t map_bytes;
	uint64_t free, allocated, frozen, leaked, managed, listed;
	/* with address spaces: per frame of [min_pfn, max_pfn) */
	uint32_t *ptes;		/* PTEs of every mm mapping the frame */
	uint8_t *marks;		/* MARK_*: on an LRU list / a deferred split queue / in an add batch */
	uint64_t table_pages;	/* PG_table frames the mms' tables use */
};

static void violation(struct checker *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void violation(struct checker *c, const char *fmt, ...)
{
	va_list ap;

	if (c->errors++ >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	fmt_vsnprintf(c->lines[c->errors - 1], sizeof(c->lines[0]), fmt, ap);
	va_end(ap);
}

/*
 * Violations are always reported, quiet or not: they are the result. They
 * go out after every lock is dropped, so a log_fn may look at the instance.
 */
static void report_violations(struct checker *c)
{
	unsigned long n = c->errors < MAX_REPORTS ? c->errors : MAX_REPORTS;
	char more[64];

	for (unsigned long i = 0; i < n; i++)
		c->pmm->cfg.log_fn ? c->pmm->cfg.log_fn(c->pmm->cfg.log_arg, c->lines[i])
				   : pmm_os_log(c->lines[i]);
	if (c->errors > MAX_REPORTS) {
		fmt_snprintf(more, sizeof(more), "%lu more violations not shown", c->errors - MAX_REPORTS);
		c->pmm->cfg.log_fn ? c->pmm->cfg.log_fn(c->pmm->cfg.log_arg, more) : pmm_os_log(more);
	}
}

static bool test_and_mark(struct checker *c, pmm_pfn_t pfn, unsigned long nr)
{
	bool overlap = false;

	for (pmm_pfn_t p = pfn - c->pmm->min_pfn, e = p + nr; p < e; p++) {
		uint64_t bit = 1ULL << (p % 64);

		overlap |= !!(c->free_map[p / 64] & bit);
		c->free_map[p / 64] |= bit;
	}
	return overlap;
}

static bool is_marked(const struct checker *c, pmm_pfn_t pfn)
{
	pmm_pfn_t p = pfn - c->pmm->min_pfn;

	return c->free_map[p / 64] >> (p % 64) & 1;
}

/*
 * Does every page of the block belong to @zone? A zone's pfn span can hold
 * another node's frames, so the span test alone does not tell. The block
 * lies in one section, so page arithmetic is valid.
 */
static bool block_in_zone(const struct pmm_zone *zone, const struct pmm_page *page,
			  unsigned int order, unsigned long *stray)
{
	for (unsigned long i = 0; i < (1UL << order); i++) {
		if (((page_flags(&page[i]) >> PAGE_ZONE_SHIFT) & PAGE_ZONE_MASK) != zone->id) {
			*stray = i;
			return false;
		}
	}
	return true;
}

/* A free block of 2^@order frames at @page, found on a list of @zone. */
/*
 * Every frame of a free block must be as an allocation expects to find it
 * (the checks check_new_pages() makes): the full page checks read them at
 * allocation, the kernel ones only the head, so this is where a stray
 * write into a free tail is found in that mode.
 */
static void check_free_frames(struct checker *c, struct pmm_page *page, pmm_pfn_t pfn,
			      unsigned int order)
{
	for (unsigned long i = 0; i < (1UL << order); i++) {
		const struct pmm_page *p = &page[i];

		if ((page_flags(p) & PAGE_FLAGS_CHECK_AT_PREP) || p->mapping ||
		    atomic_load_explicit(&((struct pmm_page *)p)->mapcount, memory_order_relaxed) != -1 ||
		    page_ref_count(p)) {
			violation(c, "pfn %#llx: a free frame in use (flags %#llx, mapping %p, "
				  "refcount %d, alloc_order %u) in block %#llx order %u",
				  (unsigned long long)pfn + i,
				  (unsigned long long)(page_flags(p) & PAGE_FLAGS_MASK), p->mapping,
				  page_ref_count(p), page_alloc_order(p), (unsigned long long)pfn, order);
			return;
		}
	}
}

static bool check_free_block(struct checker *c, struct pmm_zone *zone, struct pmm_page *page,
			     unsigned int order, const char *where, pmm_pfn_t *pfn_out)
{
	pmm_t *pmm = c->pmm;
	pmm_pfn_t pfn, last;
	unsigned long stray;
	bool listed = false;

	if (!page_belongs(pmm, page)) {
		violation(c, "%s: list entry %p is not a managed page", where, (void *)page);
		return false;
	}
	pfn = page_to_pfn(pmm, page);
	last = pfn + (1UL << order) - 1;
	*pfn_out = pfn;
	if (page->private != order)
		violation(c, "%s: pfn %#llx has order %llu on the order-%u list", where,
			  (unsigned long long)pfn, (unsigned long long)page->private, order);
	if (pfn & ((1UL << order) - 1))
		violation(c, "%s: pfn %#llx not aligned to order %u", where,
			  (unsigned long long)pfn, order);
	if (page_zone(pmm, page) != zone || pfn < zone->start_pfn || last >= zone->end_pfn)
		violation(c, "%s: block %#llx+%lu outside its zone", where,
			  (unsigned long long)pfn, 1UL << order);
	else if (!same_section(pmm, pfn, last))
		violation(c, "%s: block %#llx order %u crosses a section", where,
			  (unsigned long long)pfn, order);
	else if (!block_in_zone(zone, page, order, &stray))
		violation(c, "%s: block %#llx order %u holds pfn %#llx of another zone", where,
			  (unsigned long long)pfn, order, (unsigned long long)pfn + stray);
	else if (test_and_mark(c, pfn, 1UL << order))
		violation(c, "%s: block %#llx order %u overlaps another free block", where,
			  (unsigned long long)pfn, order);
	else
		listed = true;
	if (listed)
		check_free_frames(c, page, pfn, order);
	return listed;
}

static void check_buddy_lists(struct checker *c, struct pmm_zone *zone)
{
	pmm_t *pmm = c->pmm;
	uint64_t frames = 0;

	for (unsigned int o = 0; o <= pmm->max_order; o++) {
		uint64_t blocks = 0;

		for (int mt = 0; mt < PMM_MIGRATE_TYPES; mt++) {
			struct pmm_list *head = &zone->free_area[o].free_list[mt];
			unsigned long n;

			if (!list_valid(head, pmm->managed_pages, &n)) {
				violation(c, "zone %u order %u: free list is broken or loops", zone->id, o);
				return;
			}
			blocks += n;
			for (struct pmm_list *l = head->next; l != head; l = l->next) {
				struct pmm_page *page = container_of(l, struct pmm_page, lru);
				pmm_pfn_t pfn;

				if (!PageBuddy(page))
					violation(c, "free list: page without PG_buddy");
				if (!check_free_block(c, zone, page, o, "free list", &pfn))
					continue;
				frames += 1UL << o;
				for (pmm_pfn_t p = pfn; p < pfn + (1UL << o); p += pageblock_nr_pages(pmm))
					if (get_pageblock_migratetype(zone, p) != mt)
						violation(c, "free block %#llx on the %s list, pageblock is %s",
							  (unsigned long long)pfn, pmm_migratetype_name(mt),
							  pmm_migratetype_name(get_pageblock_migratetype(zone, p)));
				/* Two free buddies of one order must have merged. */
				pmm_pfn_t bpfn = buddy_pfn(pfn, o);
				if (o < pmm->max_order && pfn_present(pmm, bpfn) &&
				    page_is_buddy(zone, pfn_to_page(pmm, bpfn), o)) {
					int bmt = get_pageblock_migratetype(zone, bpfn);

					if (o < pmm->pageblock_order || bmt == mt ||
					    (migratetype_is_mergeable(mt) && migratetype_is_mergeable(bmt)))
						violation(c, "unmerged buddies %#llx and %#llx at order %u",
							  (unsigned long long)pfn, (unsigned long long)bpfn, o);
				}
			}
		}
		if (blocks != zone->free_area[o].nr_free)
			violation(c, "zone %u order %u: nr_free %llu, lists hold %llu", zone->id, o,
				  (unsigned long long)zone->free_area[o].nr_free,
				  (unsigned long long)blocks);
	}
	if ((int64_t)frames != atomic_load_explicit(&zone->free_pages, memory_order_relaxed))
		violation(c, "zone %u: free_pages %lld, lists hold %llu", zone->id,
			  (long long)atomic_load_explicit(&zone->free_pages, memory_order_relaxed),
			  (unsigned long long)frames);
	else if (!free_area_counts_valid_locked(zone))
		violation(c, "zone %u: free_area counters disagree with the lists", zone->id);
	c->listed += frames;
	for (unsigned int zl = 0; zl < NR_ZONELISTS; zl++) {
		uint64_t mark = zone->wmark[WMARK_LOW] + zone->nr_reserved_highatomic +
				(zl == ZONELIST_ALL ? zone->lowmem_reserve : 0);

		if (zone->fast_mark[zl] != mark)
			violation(c, "zone %u: pcp hit's mark %llu for zonelist %u, its parts say %llu",
				  zone->id, (unsigned long long)zone->fast_mark[zl], zl,
				  (unsigned long long)mark);
	}
}

static void check_pcp_lists(struct checker *c, struct pmm_zone *zone, struct pmm_pcp *pcp)
{
	pmm_t *pmm = c->pmm;
	int frames = 0;
	uint64_t rframes = 0;

	for (int i = 0; i < NR_PCP_LISTS; i++) {
		unsigned int oi = (unsigned int)i / PMM_MIGRATE_PCPTYPES;
		unsigned int order = oi <= PCP_MAX_LOW_ORDER ? oi : pmm->pageblock_order;
		struct pmm_list *head = &pcp->lists[i];
		unsigned long n;

		if (!list_valid(head, pmm->managed_pages, &n)) {
			violation(c, "pcp list is broken or loops");
			return;
		}
		for (struct pmm_list *l = head->next; l != head; l = l->next) {
			struct pmm_page *page = container_of(l, struct pmm_page, lru);
			pmm_pfn_t pfn;

			if (!PagePcp(page))
				violation(c, "pcp list: page without PG_pcp");
			if (check_free_block(c, zone, page, order, "pcp list", &pfn))
				frames += 1 << order;
		}
	}
	/* rseq mode's arrays (order 0, pageblock_order), counted apart from pcp->count */
	for (int oi = 0; pmm->pcp_rseq && oi < PCP_RSEQ_NR_ORDERS; oi++)
		for (int mt = 0; mt < PMM_MIGRATE_PCPTYPES; mt++) {
			const struct pcp_rseq_list *rq = &pcp->rq[oi][mt];
			unsigned int n = pcp_rseq_count(rq), order = pcp_rseq_order(pmm, oi);

			if (n > rq->cap) {
				violation(c, "pcp rseq list %d/%d: count %u above its cap %u", oi, mt,
					  n, rq->cap);
				continue;
			}
			for (unsigned int i = 0; i < n; i++) {
				struct pmm_page *page = rq->slot[i];
				pmm_pfn_t pfn;

				if (!PagePcp(page))
					violation(c, "pcp rseq list: page without PG_pcp");
				if (check_free_block(c, zone, page, order, "pcp rseq list", &pfn))
					rframes += 1 << order;
			}
		}
	if (frames != pcp->count)
		violation(c, "pcp count %d, lists hold %d", pcp->count, frames);
	else if (!pcp_count_valid_locked(pmm, pcp))
		violation(c, "pcp counters disagree with the lists");
	c->listed += (uint64_t)frames + rframes;
}

/* refcount >= total mapcount, mapcounts >= -1, for a block handed out. */
static void check_owned_block(struct checker *c, struct pmm_page *page, pmm_pfn_t pfn,
			      unsigned int order)
{
	uint64_t f = page_flags(page);
	int refs = page_ref_count(page);
	long maps = 0;

	for (unsigned long i = 0; i < (1UL << order); i++) {
		struct pmm_page *p = &page[i];
		int mc = atomic_load_explicit(&p->mapcount, memory_order_relaxed);

		if (mc < -1)
			violation(c, "pfn %#llx: mapcount %d below -1", (unsigned long long)pfn + i, mc);
		maps += mc + 1;
		if (i == 0)
			continue;
		if (is_marked(c, pfn + i))
			violation(c, "pfn %#llx: tail of a block in use is on a free list",
				  (unsigned long long)pfn + i);
		if (f & PF(PG_head)) {
			if (p->compound_head != ((uintptr_t)page | 1))
				violation(c, "pfn %#llx: tail does not point to its head %#llx",
					  (unsigned long long)pfn + i, (unsigned long long)pfn);
		} else if (!(f & PF(PG_bad)) && ((page_flags(p) & PAGE_FLAGS_MASK) || p->mapping)) {
			/* (a block leaked as bad is left as it was found; split_page relies on alloc_order 0) */
			violation(c, "pfn %#llx: tail of a non-compound block in use (flags %#llx, "
				  "mapping %p, alloc_order %u)", (unsigned long long)pfn + i,
				  (unsigned long long)(page_flags(p) & PAGE_FLAGS_MASK), p->mapping,
				  page_alloc_order(p));
		}
		if (page_ref_count(p))
			violation(c, "pfn %#llx: tail page has refcount %d",
				  (unsigned long long)pfn + i, page_ref_count(p));
	}
	if ((f & PF(PG_head)) && folio_order((struct pmm_folio *)page) != order)
		violation(c, "pfn %#llx: folio order %u, block order %u", (unsigned long long)pfn,
			  folio_order((struct pmm_folio *)page), order);
	/* A large folio counting per folio keeps its mappings in large_mapcount only. */
	if ((f & PF(PG_head)) && folio_counts_per_folio((struct pmm_folio *)page))
		maps = folio_mapcount((struct pmm_folio *)page);
	if (refs < 0)
		violation(c, "pfn %#llx: refcount %d", (unsigned long long)pfn, refs);
	else if (refs < maps && !(f & PF(PG_bad)))
		violation(c, "pfn %#llx: refcount %d below mapcount %ld", (unsigned long long)pfn,
			  refs, maps);
}

static void classify_frames(struct checker *c)
{
	pmm_t *pmm = c->pmm;

	for (pmm_pfn_t pfn = pmm->min_pfn; pfn < pmm->max_pfn;) {
		struct pmm_page *page;
		uint64_t f;

		if (!pfn_present(pmm, pfn)) {
			pfn = next_section_pfn(pmm, pfn);
			continue;
		}
		page = pfn_to_page(pmm, pfn);
		f = page_flags(page);
		if (f & PF(PG_reserved)) {
			pfn++;
			continue;
		}
		if (is_marked(c, pfn)) {
			if (!(f & (PF(PG_buddy) | PF(PG_pcp))) &&
			    (f & (PF(PG_owned) | PF(PG_head) | PF(PG_bad)) || page_ref_count(page)))
				violation(c, "pfn %#llx: inside a free block but in use",
					  (unsigned long long)pfn);
			c->free++;
			c->managed++;
			pfn++;
			continue;
		}
		if (!(f & PF(PG_owned))) {
			violation(c, "pfn %#llx: in no state (not free, not allocated, not leaked)",
				  (unsigned long long)pfn);
			c->managed++;
			pfn++;
			continue;
		}
		unsigned int order = page_alloc_order(page);
		pmm_pfn_t last = pfn + (1UL << order) - 1;

		if (order > pmm->max_order || (pfn & ((1UL << order) - 1)) ||
		    !same_section(pmm, pfn, last) || last >= pmm->max_pfn) {
			violation(c, "pfn %#llx: bad block order %u", (unsigned long long)pfn, order);
			order = 0;
		}
		check_owned_block(c, page, pfn, order);
		if (f & PF(PG_bad))
			c->leaked += 1UL << order;
		else if (page_ref_count(page) > 0)
			c->allocated += 1UL << order;
		else
			c->frozen += 1UL << order;
		c->managed += 1UL << order;
		pfn += 1UL << order;
	}
}

/* ------------------------------------------------------------------------
 * Address spaces, LRU, deferred split queues, swap cache
 * ------------------------------------------------------------------------ */

/* Walk an mm's level-@level @table: tables marked and counted, PTEs counted per frame. */
static uint64_t check_mm_table(struct checker *c, struct pmm_mm *mm, struct pmm_page *table,
			       int level, uint64_t *rss)
{
	pmm_t *pmm = c->pmm;
	uint64_t tables = 1, used = 0;
	pte_t *e;

	if (!PageTable(table) || page_ref_count(table) != 1) {
		violation(c, "mm %p: table pfn %#llx not a PG_table page with one reference",
			  (void *)mm, (unsigned long long)page_to_pfn(pmm, table));
		if (!PageTable(table))
			return tables;	/* without backing its contents may not even exist */
	}
	e = table_entries(pmm, table);
	for (unsigned int i = 0; i < PTRS_PER_TABLE; i++) {
		pmm_pfn_t pfn;

		if (!e[i])
			continue;
		used++;
		pfn = pte_pfn(e[i]);
		if (!pte_present(e[i]) || !pfn_managed(pmm, pfn)) {
			violation(c, "mm %p: level-%d entry %#llx names no managed frame", (void *)mm,
				  level, (unsigned long long)e[i]);
			continue;
		}
		if (level) {
			tables += check_mm_table(c, mm, pfn_to_page(pmm, pfn), level - 1, rss);
		} else {
			struct pmm_folio *folio = page_folio(pfn_to_page(pmm, pfn));

			/* An mm maps only its own family's folios (the rmap walk relies on it). */
			if (folio_anon_vma(folio) != mm->anon_vma)
				violation(c, "mm %p: PTE maps pfn %#llx of another family's folio",
					  (void *)mm, (unsigned long long)pfn);
			c->ptes[pfn - pmm->min_pfn]++;
			(*rss)++;
		}
	}
	if (used != table->index)
		violation(c, "mm %p: table pfn %#llx has %llu entries, counts %llu", (void *)mm,
			  (unsigned long long)page_to_pfn(pmm, table), (unsigned long long)used,
			  (unsigned long long)table->index);
	return tables;
}

static void check_lru_and_queues(struct checker *c)
{
	pmm_t *pmm = c->pmm;

	for (int nid = 0; nid < PMM_MAX_NODES; nid++) {
		struct lruvec *lruvec = &NODE_DATA(pmm, nid)->lruvec;
		struct deferred_split *ds = &NODE_DATA(pmm, nid)->split_queue;
		uint64_t pages = 0;
		unsigned long n;

		for (int l = 0; l < NR_LRU_LISTS; l++) {
			struct pmm_list *head = &lruvec->lists[l];

			if (!list_valid(head, pmm->managed_pages, &n) || n != lruvec->nr_folios[l]) {
				violation(c, "node %d LRU list %d broken or miscounted", nid, l);
				continue;
			}
			for (struct pmm_list *e = head->next; e != head; e = e->next) {
				struct pmm_folio *folio = container_of(e, struct pmm_folio, page.lru);

				if (!page_belongs(pmm, &folio->page) || !folio_test_lru(folio) ||
				    page_is_tail(&folio->page) || folio_ref_count(folio) <= 0) {
					violation(c, "node %d LRU: entry %p is not a live PG_lru folio", nid,
						  (void *)folio);
					continue;
				}
				if (page_zone(pmm, &folio->page)->nid != nid)
					violation(c, "node %d LRU: folio %#llx lives on node %d", nid,
						  (unsigned long long)page_to_pfn(pmm, &folio->page),
						  page_zone(pmm, &folio->page)->nid);
				c->marks[page_to_pfn(pmm, &folio->page) - pmm->min_pfn] |= MARK_LRU;
				pages += folio_nr_pages(folio);
			}
		}
		if (pages != lruvec->nr_pages)
			violation(c, "node %d LRU: lists hold %llu pages, counter says %llu", nid,
				  (unsigned long long)pages, (unsigned long long)lruvec->nr_pages);
		if (!list_valid(&ds->queue, pmm->managed_pages, &n) || n != ds->len) {
			violation(c, "node %d deferred split queue broken or miscounted", nid);
			continue;
		}
		for (struct pmm_list *e = ds->queue.next; e != &ds->queue; e = e->next) {
			struct pmm_folio *folio = container_of(e, struct pmm_folio, deferred_list);

			if (!page_belongs(pmm, &folio->page) || !folio_test_deferred(folio) ||
			    folio_order(folio) < 2 || folio_ref_count(folio) <= 0) {
				violation(c, "node %d deferred split queue: entry %p is not a queued folio",
					  nid, (void *)folio);
				continue;
			}
			if (page_zone(pmm, &folio->page)->nid != nid)
				violation(c, "node %d deferred split queue: folio %#llx lives on node %d",
					  nid, (unsigned long long)page_to_pfn(pmm, &folio->page),
					  page_zone(pmm, &folio->page)->nid);
			c->marks[page_to_pfn(pmm, &folio->page) - pmm->min_pfn] |= MARK_DEFERRED;
		}
	}
	for (unsigned int cpu = 0; cpu < pmm->nr_cpus; cpu++) {
		const struct lru_batch *b = &pmm->lru_batches[cpu];

		if (b->nr > LRU_BATCH) {
			violation(c, "cpu %u LRU add batch holds %u folios, more than %d", cpu, b->nr,
				  LRU_BATCH);
			continue;
		}
		for (unsigned int i = 0; i < b->nr; i++) {
			struct pmm_folio *folio = b->folios[i];
			uint8_t *mark;

			if (!page_belongs(pmm, &folio->page) || page_is_tail(&folio->page) ||
			    !folio_test_lru_batch(folio) || folio_ref_count(folio) <= 0) {
				violation(c, "cpu %u LRU add batch: entry %p is not a live PG_lru_batch folio",
					  cpu, (void *)folio);
				continue;
			}
			mark = &c->marks[page_to_pfn(pmm, &folio->page) - pmm->min_pfn];
			if (*mark & MARK_BATCH)
				violation(c, "folio %#llx is in LRU add batches twice",
					  (unsigned long long)page_to_pfn(pmm, &folio->page));
			*mark |= MARK_BATCH;
		}
	}
}

/* One anonymous folio (or a frame some PTE maps) against the PTE counts and the lists. */
static void check_anon_folio(struct checker *c, struct pmm_folio *folio, pmm_pfn_t pfn,
			     uint64_t *swapcached)
{
	pmm_t *pmm = c->pmm;
	unsigned long nr = folio_nr_pages(folio);
	uint8_t mark = c->marks[pfn - pmm->min_pfn];
	long total = 0, mapped_pages = 0;
	bool per_folio = folio_counts_per_folio(folio);

	for (unsigned long i = 0; i < nr; i++) {
		uint32_t maps = c->ptes[pfn + i - pmm->min_pfn];
		int mc = atomic_load_explicit(&folio_page(folio, i)->mapcount, memory_order_relaxed);

		total += maps;
		mapped_pages += maps > 0;
		if ((!per_folio || !folio_test_large(folio)) && mc + 1 != (int)maps)
			violation(c, "pfn %#llx: mapcount %d, %u PTEs map it", (unsigned long long)(pfn + i),
				  mc + 1, maps);
		else if (per_folio && folio_test_large(folio) && mc != -1)
			violation(c, "pfn %#llx: per-folio model but the page counts %d mappings",
				  (unsigned long long)(pfn + i), mc + 1);
	}
	if (folio_test_large(folio)) {
		if (folio_mapcount(folio) != total)
			violation(c, "folio %#llx: large_mapcount says %d mappings, %ld PTEs map it",
				  (unsigned long long)pfn, folio_mapcount(folio), total);
		if (!per_folio &&
		    atomic_load_explicit(&folio->nr_pages_mapped, memory_order_relaxed) != mapped_pages)
			violation(c, "folio %#llx: nr_pages_mapped %d, %ld pages mapped",
				  (unsigned long long)pfn,
				  atomic_load_explicit(&folio->nr_pages_mapped, memory_order_relaxed),
				  mapped_pages);
	}
	if (folio_ref_count(folio) < total)
		violation(c, "folio %#llx: refcount %d below its %ld mappings", (unsigned long long)pfn,
			  folio_ref_count(folio), total);
	if (folio_test_lru(folio) != !!(mark & MARK_LRU))
		violation(c, "folio %#llx: PG_lru %d but %son an LRU list", (unsigned long long)pfn,
			  folio_test_lru(folio), mark & MARK_LRU ? "" : "not ");
	if (folio_test_lru_batch(folio) != !!(mark & MARK_BATCH))
		violation(c, "folio %#llx: PG_lru_batch %d but %sin an LRU add batch",
			  (unsigned long long)pfn, folio_test_lru_batch(folio),
			  mark & MARK_BATCH ? "" : "not ");
	if (folio_test_deferred(folio) != !!(mark & MARK_DEFERRED))
		violation(c, "folio %#llx: PG_deferred %d but %son a deferred split queue",
			  (unsigned long long)pfn, folio_test_deferred(folio),
			  mark & MARK_DEFERRED ? "" : "not ");
	/* The last unmapper takes a folio off the queue (deferred_split.c): none stays unmapped there. */
	if ((mark & MARK_DEFERRED) && !total)
		violation(c, "folio %#llx: on a deferred split queue but mapped by no PTE",
			  (unsigned long long)pfn);
	if (folio_test_swapcache(folio)) {
		(*swapcached)++;
		if (!swap_cache_holds_locked(pmm, folio))
			violation(c, "folio %#llx: PG_swapcache but the swap cache does not name it",
				  (unsigned long long)pfn);
	}
}

static void check_frames_against_mms(struct checker *c)
{
	pmm_t *pmm = c->pmm;
	uint64_t swapcached = 0, tables = 0;

	for (pmm_pfn_t pfn = pmm->min_pfn; pfn < pmm->max_pfn;) {
		struct pmm_page *page;

		if (!pfn_present(pmm, pfn)) {
			pfn = next_section_pfn(pmm, pfn);
			continue;
		}
		page = pfn_to_page(pmm, pfn);
		tables += PageTable(page);
		if (PageBad(page)) {		/* leaked as bad: it keeps whatever it had */
			pfn += 1UL << page_alloc_order(page);
			continue;
		}
		if (PageOwned(page) && folio_test_anon((struct pmm_folio *)page)) {
			struct pmm_folio *folio = (struct pmm_folio *)page;

			check_anon_folio(c, folio, pfn, &swapcached);
			pfn += folio_nr_pages(folio);
			continue;
		}
		if (c->ptes[pfn - pmm->min_pfn])
			violation(c, "pfn %#llx: mapped by a PTE but not an anonymous folio",
				  (unsigned long long)pfn);
		if (c->marks[pfn - pmm->min_pfn] || PageLRU(page) || PageDeferred(page) ||
		    PageLRUBatch(page))
			violation(c, "pfn %#llx: on an LRU list, a split queue or in an add batch, not an anonymous folio",
				  (unsigned long long)pfn);
		pfn++;
	}
	if (tables != c->table_pages)
		violation(c, "%llu PG_table frames, the mms' tables use %llu", (unsigned long long)tables,
			  (unsigned long long)c->table_pages);
	if (swapcached != pmm->swap_cache.nr_folios)
		violation(c, "%llu PG_swapcache folios, the swap cache holds %llu",
			  (unsigned long long)swapcached, (unsigned long long)pmm->swap_cache.nr_folios);
}

static void check_address_spaces(struct checker *c)
{
	pmm_t *pmm = c->pmm;

	for (struct pmm_list *l = pmm->mm_list.next; l != &pmm->mm_list; l = l->next) {
		struct pmm_mm *mm = container_of(l, struct pmm_mm, mm_link);
		uint64_t rss = 0, tables = check_mm_table(c, mm, mm->pgd, PT_LEVELS - 1, &rss);

		if (tables != mm->stats.pgtable_pages)
			violation(c, "mm %p: %llu table pages, pgtable_pages says %llu", (void *)mm,
				  (unsigned long long)tables, (unsigned long long)mm->stats.pgtable_pages);
		if (rss != mm->stats.rss_anon)
			violation(c, "mm %p: %llu PTEs present, rss_anon says %llu", (void *)mm,
				  (unsigned long long)rss, (unsigned long long)mm->stats.rss_anon);
		c->table_pages += tables;
	}
	check_lru_and_queues(c);
	check_frames_against_mms(c);
}

/* Every lock of the address-space side, in order (mm first), or their release. */
static void lock_mm_side(pmm_t *pmm, bool lock)
{
	if (lock)
		spin_lock(&pmm->mm_list_lock);
	for (struct pmm_list *l = pmm->mm_list.next; l != &pmm->mm_list; l = l->next) {
		struct pmm_mm *mm = container_of(l, struct pmm_mm, mm_link);

		lock ? spin_lock(&mm->lock) : spin_unlock(&mm->lock);
	}
	for (int nid = 0; nid < PMM_MAX_NODES; nid++) {
		struct pmm_node *node = NODE_DATA(pmm, nid);

		lock ? spin_lock(&node->lruvec.lock) : spin_unlock(&node->lruvec.lock);
		lock ? spin_lock(&node->split_queue.lock) : spin_unlock(&node->split_queue.lock);
	}
	lock ? spin_lock(&pmm->swap_cache.lock) : spin_unlock(&pmm->swap_cache.lock);
	for (unsigned int cpu = 0; cpu < pmm->nr_cpus; cpu++)	/* lru_add() holds one inside an mm's */
		lock ? spin_lock(&pmm->lru_batches[cpu].lock) : spin_unlock(&pmm->lru_batches[cpu].lock);
	if (!lock)
		spin_unlock(&pmm->mm_list_lock);
}

static void lock_all(pmm_t *pmm, bool lock)
{
	struct pmm_zone *zone;

	for_each_populated_zone(pmm, zone) {
		for (unsigned int cpu = 0; cpu < pmm->nr_cpus; cpu++)
			lock ? pcp_lock_snapshot(zone, &zone->pcp[cpu]) : pcp_unlock(&zone->pcp[cpu]);
		lock ? spin_lock(&zone->lock) : spin_unlock(&zone->lock);
	}
}

static void check_vmap_report(void *ctx, const char *line)
{
	violation(ctx, "%s", line);
}

int pmm_check(pmm_t *pmm)
{
	struct pmm_zone *zone;
	struct checker c = { .pmm = pmm };
	uint64_t span = pmm->max_pfn - pmm->min_pfn;

	c.map_bytes = (size_t)((span + 63) / 64 * 8);
	/* The checker's own scratch memory is not subject to fault injection. */
	struct fault_state never = { 0 };

	c.free_map = meta_alloc_cfg(&pmm->cfg, &never, c.map_bytes);
	c.ptes = meta_alloc_cfg(&pmm->cfg, &never, (size_t)span * sizeof(*c.ptes));
	c.marks = meta_alloc_cfg(&pmm->cfg, &never, (size_t)span);
	if (!c.free_map || !c.ptes || !c.marks) {
		meta_free(pmm, c.free_map, c.map_bytes);
		meta_free(pmm, c.ptes, (size_t)span * sizeof(*c.ptes));
		meta_free(pmm, c.marks, (size_t)span);
		return -PMM_ENOMEM;
	}

	lock_mm_side(pmm, true);
	lock_all(pmm, true);
	for_each_populated_zone(pmm, zone) {
		check_buddy_lists(&c, zone);
		for (unsigned int cpu = 0; cpu < pmm->nr_cpus; cpu++)
			check_pcp_lists(&c, zone, &zone->pcp[cpu]);
		for (size_t b = 0; b < zone->nr_pageblocks; b++)
			if (zone->pageblock_mt[b] >= PMM_MIGRATE_TYPES)
				violation(&c, "zone %u pageblock %zu: bad migratetype %u", zone->id, b,
					  zone->pageblock_mt[b]);
	}
	classify_frames(&c);
	check_address_spaces(&c);
	lock_all(pmm, false);
	lock_mm_side(pmm, false);
	vmap_check(pmm, check_vmap_report, &c);

	if (c.free != c.listed)
		violation(&c, "frames marked free %llu, lists hold %llu",
			  (unsigned long long)c.free, (unsigned long long)c.listed);
	if (c.managed != pmm->managed_pages ||
	    c.free + c.allocated + c.frozen + c.leaked != pmm->managed_pages)
		violation(&c, "free %llu + allocated %llu + frozen %llu + leaked %llu != managed %llu",
			  (unsigned long long)c.free, (unsigned long long)c.allocated,
			  (unsigned long long)c.frozen, (unsigned long long)c.leaked,
			  (unsigned long long)pmm->managed_pages);
	if (c.leaked != pmm_leaked_frames(pmm))
		violation(&c, "leaked frames %llu, counter says %llu", (unsigned long long)c.leaked,
			  (unsigned long long)pmm_leaked_frames(pmm));
	meta_free(pmm, c.free_map, c.map_bytes);
	meta_free(pmm, c.ptes, (size_t)span * sizeof(*c.ptes));
	meta_free(pmm, c.marks, (size_t)span);
	report_violations(&c);
	return c.errors ? -PMM_ECORRUPT : 0;
}
