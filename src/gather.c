/* SPDX-License-Identifier: MIT */
/*
 * gather.c - the mmu_gather in its three storage formats (gather.h), and
 * the public pmm_gather_* API on top of it.
 *
 * Flush order, as in the kernel: the TLB flush first, then (RANGES only)
 * the delayed rmap removal once per range, then the free phase: one
 * free_swap_cache() and one reference drop per entry (a page in PER_PAGE,
 * a range or a run otherwise), in groups of at most FOLIOS_PUT_MAX
 * entries, through folios_put_refs(), which takes the folios that reach
 * zero off their LRU list and frees them.
 */
#include "gather.h"
#include "internal.h"
#include "lru.h"
#include "page_alloc.h"
#include "rmap.h"
#include "os.h"
#include "swap.h"


_Static_assert(sizeof(struct mmu_gather) <= sizeof(struct pmm_gather),
	       "struct pmm_gather must hold struct mmu_gather");
_Static_assert(_Alignof(struct mmu_gather) <= _Alignof(struct pmm_gather),
	       "struct pmm_gather must be aligned for struct mmu_gather");

static unsigned int words_per_entry(const struct mmu_gather *tlb)
{
	return tlb->mode == PMM_GATHER_RANGES ? 2 : 1;
}

void tlb_gather_mmu(struct mmu_gather *tlb, pmm_t *pmm, struct pmm_mm *mm,
		    enum pmm_gather_mode mode, bool fullmm)
{
	memset(tlb, 0, sizeof(*tlb));
	tlb->pmm = pmm;
	tlb->mm = mm;
	tlb->mode = (uint8_t)mode;
	tlb->fullmm = fullmm;
	if (mm) {
		tlb->flush = mm->cfg.tlb_flush;
		tlb->flush_arg = mm->cfg.tlb_arg;
		tlb->phase_times = mm->cfg.phase_times;
	}
	tlb->start = UINT64_MAX;
	tlb->local.max = GATHER_BUNDLE * words_per_entry(tlb);
	tlb->active = &tlb->local;
	tlb->rmap_pend = &tlb->local;
}

bool tlb_next_batch(struct mmu_gather *tlb)
{
	pmm_t *pmm = tlb->pmm;
	unsigned int wpe = words_per_entry(tlb);
	/* Whole entries only: a RANGES batch fills up exactly at max. */
	unsigned int max = (unsigned int)((((size_t)1 << pmm->page_shift) -
					   sizeof(struct gather_batch)) / sizeof(uint64_t)) / wpe * wpe;
	struct gather_batch *batch;
	struct pmm_page *page;

	tlb->range_limit = 0;
	if (tlb->active->next) {
		tlb->active = tlb->active->next;
		return true;
	}
	if (tlb->batch_count >= GATHER_MAX_ENTRIES / (max / wpe))
		return false;
	batch = kpage_alloc(pmm, PMM_GFP_NOWAIT, &page);	/* not zeroed: the header is all */
	if (!batch)
		return false;
	*batch = (struct gather_batch){ .next = NULL, .nr = 0, .max = max };
	tlb->active->next = batch;
	tlb->active = batch;
	tlb->batch_count++;
	return true;
}

void tlb_flush_mmu_tlbonly(struct mmu_gather *tlb)
{
	if (!tlb->need_flush)
		return;
	if (tlb->flush)
		tlb->flush(tlb->flush_arg, tlb->start < tlb->end ? tlb->start : 0,
			   tlb->start < tlb->end ? tlb->end : UINT64_MAX);
	tlb->nr_flushes++;
	tlb->need_flush = false;
	tlb->start = UINT64_MAX;
	tlb->end = 0;
}

void tlb_flush_rmaps(struct mmu_gather *tlb)
{
	enum pmm_mapcount_model model;
	uint64_t t0 = 0;

	if (tlb->mode != PMM_GATHER_RANGES || !tlb->mm)
		return;
	if (tlb->rmap_pend == tlb->active && tlb->rmap_pend_first == tlb->active->nr)
		return;		/* nothing gathered since the last removal: nothing to time either */
	model = tlb->mm->cfg.mapcount;
	if (tlb->phase_times)
		t0 = pmm_os_now_ns();
	for (struct gather_batch *b = tlb->rmap_pend; b; b = b->next) {
		for (unsigned int i = b == tlb->rmap_pend ? tlb->rmap_pend_first : 0; i < b->nr; i += 2) {
			struct pmm_page *page = pfn_to_page(tlb->pmm, b->words[i]);

			folio_remove_rmap_ptes(tlb->pmm, page_folio(page), page, (int)b->words[i + 1],
					       model);
		}
		if (b == tlb->active)
			break;
	}
	if (tlb->phase_times)
		tlb->rmap_ns += pmm_os_now_ns() - t0;
	tlb->rmap_pend = tlb->active;
	tlb->rmap_pend_first = tlb->active->nr;
	/* Pages added from now on must not join a range whose rmap is gone. */
	tlb->range_limit = 0;
}

/* Decode entry @i of @b into its folio, first page and page count; return the next entry. */
static unsigned int gather_entry(const struct mmu_gather *tlb, const struct gather_batch *b,
				 unsigned int i, struct pmm_folio **folio, int *nr)
{
	struct pmm_page *page;

	if (tlb->mode == PMM_GATHER_RANGES) {
		page = pfn_to_page(tlb->pmm, b->words[i]);
		*nr = (int)b->words[i + 1];
		i += 2;
	} else if (b->words[i] & ENCODED_NR_NEXT) {
		page = (struct pmm_page *)(uintptr_t)(b->words[i] & ~ENCODED_NR_NEXT);
		*nr = (int)(b->words[i + 1] >> ENCODED_NR_SHIFT);
		i += 2;
	} else {
		page = (struct pmm_page *)(uintptr_t)b->words[i];
		*nr = 1;
		i += 1;
	}
	*folio = page_folio(page);
	return i;
}

/* The free phase (kernel tlb_batch_pages_flush() / free_pages_and_swap_cache()). */
static void tlb_batch_pages_flush(struct mmu_gather *tlb)
{
	struct pmm_folio *folios[FOLIOS_PUT_MAX];
	int refs[FOLIOS_PUT_MAX];
	uint64_t t0 = tlb->phase_times ? pmm_os_now_ns() : 0;

	for (struct gather_batch *b = &tlb->local; b && b->nr; b = b->next) {
		unsigned int i = 0;

		while (i < b->nr) {
			unsigned int n = 0;

			while (i < b->nr && n < FOLIOS_PUT_MAX) {
				i = gather_entry(tlb, b, i, &folios[n], &refs[n]);
				free_swap_cache(tlb->pmm, folios[n]);
				n++;
			}
			folios_put_refs(tlb->pmm, folios, refs, n);
		}
		b->nr = 0;
	}
	if (tlb->phase_times)
		tlb->free_ns += pmm_os_now_ns() - t0;
	tlb->active = &tlb->local;
	tlb->rmap_pend = &tlb->local;
	tlb->rmap_pend_first = 0;
	tlb->range_limit = 0;
}

void tlb_flush_mmu(struct mmu_gather *tlb)
{
	tlb_flush_mmu_tlbonly(tlb);
	tlb_flush_rmaps(tlb);
	tlb_batch_pages_flush(tlb);
}

void tlb_finish_mmu(struct mmu_gather *tlb)
{
	struct gather_batch *b = tlb->local.next;

	tlb_flush_mmu(tlb);
	while (b) {
		struct gather_batch *next = b->next;

		kpage_free(tlb->pmm, kpage_virt_to_page(tlb->pmm, b));
		b = next;
	}
	tlb->local.next = NULL;
	if (tlb->mm) {
		struct pmm_mm_stats *st = &tlb->mm->stats;

		st->tlb_flushes += tlb->nr_flushes;
		st->gather_batches += tlb->batch_count;
		st->gather_forced_flushes += tlb->nr_forced;
		st->rmap_ns += tlb->rmap_ns;
		st->free_ns += tlb->free_ns;
	}
}

/* ------------------------------------------------------------------------
 * The public gather
 * ------------------------------------------------------------------------ */

void pmm_gather_init(struct pmm_gather *g, pmm_t *pmm, enum pmm_gather_mode mode,
		     pmm_tlb_flush_fn flush, void *arg)
{
	struct mmu_gather *tlb = (struct mmu_gather *)g;

	if ((unsigned int)mode >= PMM_NR_GATHER_MODES) {
		pmm_log(pmm, true, "pmm_gather_init: mode %d is not a PMM_GATHER_* mode; per page",
			(int)mode);
		mode = PMM_GATHER_PER_PAGE;
	}
	tlb_gather_mmu(tlb, pmm, NULL, mode, false);
	tlb->flush = flush;
	tlb->flush_arg = arg;
}

/* May the caller hand over a reference on each of @nr pages from @page? */
static bool gather_run_ok(pmm_t *pmm, struct pmm_page *page, unsigned long nr)
{
	struct pmm_folio *folio;
	unsigned long first;

	if (!page_valid_for_free(pmm, page, "pmm_gather_add: page not managed by this instance"))
		return false;
	folio = page_folio(page);
	first = (unsigned long)(page - &folio->page);
	if (!nr || first + nr > folio_nr_pages(folio) || nr > INT32_MAX) {
		bad_page_report(pmm, page, "pmm_gather_add: the run is empty or leaves its folio");
		return false;
	}
	/*
	 * The head of a non-compound block that was never split is no folio:
	 * freeing it as one (order 0) would lose its other frames. Refused as
	 * free_contig_range() refuses it.
	 */
	if (unlikely(page_alloc_order(&folio->page) && !PageHead(&folio->page))) {
		bad_page_report(pmm, page, "pmm_gather_add: a block of order > 0 that is not a "
				"folio (split it first, or free it with pmm_free_pages)");
		return false;
	}
	if (!PageOwned(&folio->page) || folio_ref_count(folio) < (int)nr) {
		bad_page_report(pmm, page, "pmm_gather_add: the caller does not hold those references");
		return false;
	}
	return true;
}

bool pmm_gather_add(struct pmm_gather *g, struct pmm_page *page, unsigned long nr)
{
	struct mmu_gather *tlb = (struct mmu_gather *)g;
	bool full = false;

	if (!gather_run_ok(tlb->pmm, page, nr))
		return false;
	tlb->need_flush = true;
	switch (tlb->mode) {
	case PMM_GATHER_PER_PAGE:
		for (unsigned long i = 0; i < nr; i++) {
			tlb->need_flush = true;	/* also for the pages after a forced flush */
			if (tlb_remove_page(tlb, page + i)) {
				tlb->nr_forced++;
				tlb_flush_mmu(tlb);
				full = true;
			}
		}
		break;
	case PMM_GATHER_RANGES:
		full = tlb_remove_pfns(tlb, page, page_to_pfn(tlb->pmm, page), (unsigned int)nr);
		break;
	default:
		full = tlb_remove_folio_pages(tlb, page, (unsigned int)nr);
		break;
	}
	if (full && tlb->mode != PMM_GATHER_PER_PAGE) {
		tlb->nr_forced++;
		tlb_flush_mmu(tlb);
	}
	return full;
}

void pmm_gather_flush(struct pmm_gather *g)
{
	tlb_flush_mmu((struct mmu_gather *)g);
}

void pmm_gather_finish(struct pmm_gather *g)
{
	tlb_finish_mmu((struct mmu_gather *)g);
}
