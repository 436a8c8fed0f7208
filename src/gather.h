/* SPDX-License-Identifier: MIT */
/*
 * gather.h - the mmu_gather (gather.c; kernel mm/mmu_gather.c and
 * include/asm-generic/tlb.h): pages whose mappings were cleared wait here
 * until the TLB is flushed, then their references are dropped and what
 * reaches zero is freed. One implementation, three storage formats:
 *
 *   PER_PAGE  one word per page: its page pointer (pre-2023 kernel)
 *   RANGES    two words per range: first pfn, number of pages; a range
 *             never spans two folios (range_limit), and the last entry of
 *             a full batch holds a single page (the 2023 patch)
 *   ENCODED   one word per run of PTEs of one folio: the page pointer with
 *             ENCODED_NR_NEXT set when a second word with the page count
 *             follows (mainline encoded_page)
 *
 * Storage is a local bundle of GATHER_BUNDLE entries on the caller's stack
 * plus page-sized batches, allocated with NOWAIT semantics and capped so
 * that one gather holds about 10000 entries; when neither is possible the
 * caller flushes (a forced flush) instead of failing.
 */
#ifndef PMM_GATHER_H
#define PMM_GATHER_H

#include <stdbool.h>
#include <stdint.h>

#include "mm.h"

#define GATHER_BUNDLE 8			/* kernel MMU_GATHER_BUNDLE */
#define GATHER_MAX_ENTRIES 10000	/* kernel MAX_GATHER_BATCH_COUNT * MAX_GATHER_BATCH */
#define ENCODED_NR_NEXT 0x2UL		/* kernel ENCODED_PAGE_BIT_NR_PAGES_NEXT */
#define ENCODED_NR_SHIFT 2

/* Two words of header, as the kernel's struct mmu_gather_batch: 510 words in a 4 KiB frame. */
struct gather_batch {
	struct gather_batch *next;
	unsigned int nr, max;		/* words used, capacity in words */
	uint64_t words[];
};

struct mmu_gather {
	pmm_t *pmm;
	struct pmm_mm *mm;		/* NULL: the public API (no rmap to remove) */
	pmm_tlb_flush_fn flush;
	void *flush_arg;
	uint64_t start, end;		/* virtual range to flush; start >= end: none */
	struct gather_batch *active;
	pmm_pfn_t range_limit;		/* RANGES: one past the open range's folio; 0: none open */
	struct gather_batch *rmap_pend;	/* RANGES: ranges from here on still need rmap removal */
	unsigned int rmap_pend_first;	/* the first such word of rmap_pend */
	unsigned int batch_count;	/* page-sized batches allocated */
	uint8_t mode;			/* enum pmm_gather_mode */
	bool fullmm;			/* exit: the whole mm goes */
	bool phase_times;		/* time rmap removal and freeing */
	bool need_flush;		/* pages gathered since the last TLB flush */
	uint32_t nr_flushes, nr_forced;	/* TLB flushes, flushes forced by a full gather */
	uint64_t rmap_ns, free_ns;
	/* The local bundle: a batch header whose words[] is the room after it. */
	union {
		struct gather_batch local;
		uint8_t local_room[sizeof(struct gather_batch) + 2 * GATHER_BUNDLE * sizeof(uint64_t)];
	};
};

void tlb_gather_mmu(struct mmu_gather *tlb, pmm_t *pmm, struct pmm_mm *mm,
		    enum pmm_gather_mode mode, bool fullmm);
/* The mm's TLB entries for [start, end) must go before the pages do. */
static inline void tlb_track_range(struct mmu_gather *tlb, uint64_t start, uint64_t end)
{
	if (start < tlb->start)
		tlb->start = start;
	if (end > tlb->end)
		tlb->end = end;
	tlb->need_flush = true;
}

/* Move on to the next batch, allocating one (NOWAIT); false: the caller must flush. */
bool tlb_next_batch(struct mmu_gather *tlb);

/*
 * The zap side, inline in the PTE loop (one per present PTE or run); each
 * returns true when the gather is full: the caller must flush.
 */

/* PER_PAGE: one page, one word. */
static inline bool tlb_remove_page(struct mmu_gather *tlb, struct pmm_page *page)
{
	struct gather_batch *batch = tlb->active;

	PMM_BUG_ON(batch->nr >= batch->max);
	batch->words[batch->nr++] = (uintptr_t)page;
	return batch->nr == batch->max && !tlb_next_batch(tlb);
}

/* ENCODED: a run of @nr pages of one folio: one word, two when nr > 1. */
static inline bool tlb_remove_folio_pages(struct mmu_gather *tlb, struct pmm_page *page,
					  unsigned int nr)
{
	struct gather_batch *batch = tlb->active;

	PMM_BUG_ON(batch->nr + 2 > batch->max);
	if (likely(nr == 1)) {
		batch->words[batch->nr++] = (uintptr_t)page;
	} else {
		batch->words[batch->nr++] = (uintptr_t)page | ENCODED_NR_NEXT;
		batch->words[batch->nr++] = (uint64_t)nr << ENCODED_NR_SHIFT;
	}
	/* Always leave room for a page and its count: two words. */
	return batch->nr >= batch->max - 1 && !tlb_next_batch(tlb);
}

/* RANGES: @nr pages of @page's folio from @pfn (@page is read only if they open a range). */
static inline bool tlb_remove_pfns(struct mmu_gather *tlb, struct pmm_page *page, pmm_pfn_t pfn,
				   unsigned int nr)
{
	struct gather_batch *batch = tlb->active;
	uint64_t *range = NULL;

	PMM_BUG_ON(batch->nr + 2 > batch->max);
	/*
	 * range_limit is 0 whenever the batch is empty, so the last range
	 * exists; while it is set, the open range's folio goes on to it, so a
	 * pfn that follows the range is in the same folio.
	 */
	if (tlb->range_limit)
		range = &batch->words[batch->nr - 2];
	if (range && pfn == range[0] + range[1]) {
		range[1] += nr;
	} else {
		struct pmm_folio *folio = page_folio(page);

		range = &batch->words[batch->nr];
		batch->nr += 2;
		range[0] = pfn;
		range[1] = nr;
		tlb->range_limit = pfn - (pmm_pfn_t)(page - &folio->page) + folio_nr_pages(folio);
	}
	PMM_BUG_ON(range[0] + range[1] > tlb->range_limit);
	/* The folio ends here: the next page starts a new range, so none spans two folios. */
	if (range[0] + range[1] == tlb->range_limit)
		tlb->range_limit = 0;
	/* A full batch's last range is the one just opened: it holds a single page. */
	return batch->nr == batch->max && !tlb_next_batch(tlb);
}


void tlb_flush_mmu_tlbonly(struct mmu_gather *tlb);
void tlb_flush_rmaps(struct mmu_gather *tlb);	/* RANGES: rmap removal once per range */
void tlb_flush_mmu(struct mmu_gather *tlb);
void tlb_finish_mmu(struct mmu_gather *tlb);

#endif /* PMM_GATHER_H */
