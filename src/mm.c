/* SPDX-License-Identifier: MIT */
/*
 * mm.c - address spaces (mm.h): life cycle, VMAs, anonymous faults with the
 * mTHP order fallback, copy on write, fork, unmap and exit.
 *
 * Teardown (zap) walks the page tables one PTE table at a time and, per
 * gather mode:
 *   PER_PAGE  clears each PTE, gathers the page, removes its rmap (one call
 *             per page, before any TLB flush) - the pre-2023 kernel;
 *   RANGES    clears each PTE and gathers its pfn into the open range of its
 *             folio; at the end of the table the TLB is flushed and the
 *             rmap removed once per range - the 2023 patch;
 *   ENCODED   batches the PTEs that map consecutive pages of one folio
 *             (folio_pte_batch), clears them together, removes their rmap
 *             once and gathers one entry - mainline.
 * In every mode the mappings' references are dropped, and what reaches zero
 * freed, after the TLB flush (gather.c). With phase_times the rmap removal
 * of each table and each free phase are timed.
 */
#include "buddy.h"
#include "deferred_split.h"
#include "gather.h"
#include "internal.h"
#include "lru.h"
#include "mm.h"
#include "os.h"
#include "page_alloc.h"
#include "rmap.h"
#include "swap.h"


#define PAGE_4K (1ULL << PT_PAGE_SHIFT)

static bool mm_valid(const struct pmm_mm *mm)
{
	return mm && mm->magic == PMM_MM_MAGIC;
}

/* A user range: page aligned, non-empty, inside [0, USER_VA_END). */
static bool range_valid(uint64_t addr, uint64_t len)
{
	return len && !(addr & (PAGE_4K - 1)) && !(len & (PAGE_4K - 1)) &&
	       addr < USER_VA_END && len <= USER_VA_END - addr;
}

/* ------------------------------------------------------------------------
 * VMAs: a sorted array, found by binary search
 * ------------------------------------------------------------------------ */

/* The index of the first VMA that ends after @addr (nr_vmas if none). */
static unsigned int vma_index(const struct pmm_mm *mm, uint64_t addr)
{
	unsigned int lo = 0, hi = mm->nr_vmas;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (mm->vmas[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct vma *vma_find(struct pmm_mm *mm, uint64_t addr)
{
	unsigned int i = vma_index(mm, addr);

	return i < mm->nr_vmas && mm->vmas[i].start <= addr ? &mm->vmas[i] : NULL;
}

/* Room for @more VMAs. Return: 0 or -PMM_ENOMEM. */
static int vma_reserve(struct pmm_mm *mm, unsigned int more)
{
	unsigned int max = mm->max_vmas ? mm->max_vmas : 8;
	struct vma *v;

	if (mm->nr_vmas + more <= mm->max_vmas)
		return 0;
	while (max < mm->nr_vmas + more)
		max *= 2;
	v = meta_alloc(mm->pmm, max * sizeof(*v));
	if (!v)
		return -PMM_ENOMEM;
	if (mm->nr_vmas)
		memcpy(v, mm->vmas, mm->nr_vmas * sizeof(*v));
	meta_free(mm->pmm, mm->vmas, mm->max_vmas * sizeof(*v));
	mm->vmas = v;
	mm->max_vmas = max;
	return 0;
}

/* Insert @vma at its place. Precondition: room reserved, no overlap. */
static void vma_insert(struct pmm_mm *mm, const struct vma *vma)
{
	unsigned int i = vma_index(mm, vma->start);

	memmove(&mm->vmas[i + 1], &mm->vmas[i], (mm->nr_vmas - i) * sizeof(*vma));
	mm->vmas[i] = *vma;
	mm->nr_vmas++;
}

/* Cut [start, end) out of the VMAs. Precondition: room for one more reserved (a split). */
static void vma_remove_range(struct pmm_mm *mm, uint64_t start, uint64_t end)
{
	unsigned int i = vma_index(mm, start);

	while (i < mm->nr_vmas && mm->vmas[i].start < end) {
		struct vma *v = &mm->vmas[i];

		if (v->start < start && v->end > end) {		/* a hole in the middle */
			struct vma tail = *v;

			tail.start = end;
			v->end = start;
			vma_insert(mm, &tail);
			return;
		}
		if (v->start < start) {				/* keep the head */
			v->end = start;
			i++;
		} else if (v->end > end) {			/* keep the tail */
			v->start = end;
			break;
		} else {					/* all of it goes */
			memmove(v, v + 1, (mm->nr_vmas - i - 1) * sizeof(*v));
			mm->nr_vmas--;
		}
	}
}

/* ------------------------------------------------------------------------
 * Life cycle
 * ------------------------------------------------------------------------ */

void pmm_mm_config_init(struct pmm_mm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->gather = PMM_GATHER_PER_PAGE;
	cfg->mapcount = PMM_MAPCOUNT_PER_PAGE;
}

static struct anon_vma *anon_vma_alloc(pmm_t *pmm, enum pmm_mapcount_model model)
{
	struct anon_vma *av = meta_alloc(pmm, sizeof(*av));

	if (av) {
		spin_lock_init(&av->lock);
		list_init(&av->mms);
		av->model = model;
	}
	return av;
}

void anon_vma_put(pmm_t *pmm, struct anon_vma *av)
{
	/* NULL: a folio_anon_vma() of a folio that is not anonymous holds none. */
	if (!av)
		return;
	/* acq_rel: every holder's last use happens before the free. */
	if (atomic_fetch_sub_explicit(&av->refcount, 1, memory_order_acq_rel) == 1)
		meta_free(pmm, av, sizeof(*av));
}

/* Join @mm to the fork family @av. Context: mm->lock held or @mm not yet published. */
static void anon_vma_link(struct anon_vma *av, struct pmm_mm *mm)
{
	anon_vma_get(av);	/* each mm of the family holds one */
	spin_lock(&av->lock);
	list_add_tail(&mm->anon_vma_link, &av->mms);
	av->nr_mms++;
	spin_unlock(&av->lock);
	mm->anon_vma = av;
}

/* Leave the family and drop the mm's reference. Context: mm->lock held. */
static void anon_vma_unlink(pmm_t *pmm, struct pmm_mm *mm)
{
	struct anon_vma *av = mm->anon_vma;

	spin_lock(&av->lock);
	list_del(&mm->anon_vma_link);
	av->nr_mms--;
	spin_unlock(&av->lock);
	anon_vma_put(pmm, av);
	mm->anon_vma = NULL;
}

/* A new, empty mm sharing @av (NULL: a new family). */
static int mm_alloc(pmm_t *pmm, const struct pmm_mm_config *cfg, struct anon_vma *av,
		    struct pmm_mm **out)
{
	struct pmm_mm *mm = meta_alloc(pmm, sizeof(*mm));

	if (!mm)
		return -PMM_ENOMEM;
	mm->pmm = pmm;
	mm->cfg = *cfg;
	spin_lock_init(&mm->lock);
	mm->pgd = pgtable_alloc(mm);
	if (!mm->pgd || (!av && !(av = anon_vma_alloc(pmm, cfg->mapcount)))) {
		if (mm->pgd)
			pgtable_free(mm, mm->pgd);
		meta_free(pmm, mm, sizeof(*mm));
		return -PMM_ENOMEM;
	}
	anon_vma_link(av, mm);
	mm->magic = PMM_MM_MAGIC;
	*out = mm;
	return 0;
}

/* Make @mm one of the instance's live mms. Context: no mm lock held (mm_list_lock comes first). */
static void mm_publish(struct pmm_mm *mm)
{
	spin_lock(&mm->pmm->mm_list_lock);
	list_add_tail(&mm->mm_link, &mm->pmm->mm_list);
	spin_unlock(&mm->pmm->mm_list_lock);
}

int pmm_mm_create(pmm_t *pmm, const struct pmm_mm_config *cfg, pmm_mm_t **out)
{
	struct pmm_mm_config def;
	int err;

	if (!out)
		return -PMM_EINVAL;
	*out = NULL;
	if (!pmm)
		return -PMM_EINVAL;
	if (!cfg) {
		pmm_mm_config_init(&def);
		cfg = &def;
	}
	if ((unsigned int)cfg->gather >= PMM_NR_GATHER_MODES ||
	    (unsigned int)cfg->mapcount > PMM_MAPCOUNT_FOLIO) {
		pmm_log(pmm, false, "pmm_mm_create: gather mode %d or mapcount model %d unknown",
			(int)cfg->gather, (int)cfg->mapcount);
		return -PMM_EINVAL;
	}
	if (pmm->page_shift != PT_PAGE_SHIFT) {
		pmm_log(pmm, false, "pmm_mm_create: address spaces need 4 KiB pages (page_shift %u)",
			pmm->page_shift);
		return -PMM_ENOTSUP;
	}
	err = mm_alloc(pmm, cfg, NULL, out);
	if (!err)
		mm_publish(*out);
	return err;
}

/* ------------------------------------------------------------------------
 * Zap: clearing PTEs through the mmu_gather
 * ------------------------------------------------------------------------ */

/*
 * Kernel folio_pte_batch(): how many PTEs from @pte map consecutive pages
 * of @page's folio, at most @max. Write, dirty and young bits do not stop a
 * batch (the zap takes what it needs from each PTE, as mainline's
 * FPB_IGNORE_DIRTY and pte_wrprotect(pte_mkold()) ignore them); a non-present
 * PTE, another pfn or the folio's end does.
 */
static unsigned int folio_pte_batch(struct pmm_folio *folio, const pte_t *pte, struct pmm_page *page,
				    unsigned int max)
{
	const pte_t ignore = PTE_WRITE | PTE_DIRTY | PTE_YOUNG;
	unsigned long left = folio_nr_pages(folio) - (unsigned long)(page - &folio->page);
	pte_t want = pte[0] & ~ignore;
	unsigned int nr = 1;

	if (max > left)
		max = (unsigned int)left;
	/* The next PTE must be present and map the next pfn, with the same other bits. */
	while (nr < max && (pte[nr] & ~ignore) == want + ((pte_t)nr << PTE_PFN_SHIFT))
		nr++;
	return nr;
}

struct rmap_pend {
	struct pmm_page *page;
	unsigned int nr;
};

/*
 * zap_pte_range - clear the PTEs of one table in [addr, end) and gather
 * their pages; a full gather is flushed, then the loop goes on.
 *
 * Where the rmap goes is what the modes differ in, as in the kernel:
 * PER_PAGE removes it as each PTE is cleared (the kernel before 2023),
 * ENCODED once per run of PTEs of one folio, also right away (mainline's
 * zap_present_folio_ptes()), RANGES after a TLB flush once per range
 * (the 2023 patch's delayed rmap), before the table is left. With
 * phase_times the first two collect their removals and make them after
 * the table's loop instead, so that two clock reads per table time them;
 * that moves each page's first touch out of the PTE loop, so the
 * benchmarks take their headline times from runs without phase_times.
 */
static void zap_pte_range(struct mmu_gather *tlb, struct pmm_mm *mm, struct pmm_page *ptable,
			  uint64_t addr, uint64_t end)
{
	pmm_t *pmm = mm->pmm;
	enum pmm_mapcount_model model = mm->cfg.mapcount;
	const bool timed = tlb->phase_times;
	struct rmap_pend pend[PTRS_PER_TABLE];
	pte_t *pte = pte_of(pmm, ptable, addr);

	while (addr < end) {
		unsigned int npend = 0;
		uint64_t first = addr;
		long cleared = 0;
		bool force = false;

		for (; addr < end && !force; pte++, addr += PAGE_4K) {
			struct pmm_page *page;
			unsigned int nr = 1;

			if (!pte_present(*pte))
				continue;
			page = pfn_to_page(pmm, pte_pfn(*pte));
			switch (tlb->mode) {
			case PMM_GATHER_PER_PAGE:
				*pte = 0;
				if (unlikely(timed))
					pend[npend++] = (struct rmap_pend){ page, 1 };
				else
					folio_remove_rmap_ptes(pmm, page_folio(page), page, 1, model);
				force = tlb_remove_page(tlb, page);
				break;
			case PMM_GATHER_RANGES:
				/* The page is read only when it opens a range (its folio bounds it). */
				force = tlb_remove_pfns(tlb, page, pte_pfn(*pte), 1);
				*pte = 0;
				break;
			default: {
				struct pmm_folio *folio = page_folio(page);

				/*
				 * As mainline: an order-0 folio needs no batch. Its path
				 * is a branch of its own, so that the loop's advance never
				 * waits for the struct page load that tells the orders
				 * apart (the branch is predicted, a data dependency is not).
				 */
				if (likely(!folio_test_large(folio)) || end - addr == PAGE_4K) {
					*pte = 0;
					if (unlikely(timed))
						pend[npend++] = (struct rmap_pend){ page, 1 };
					else
						folio_remove_rmap_ptes(pmm, folio, page, 1, model);
					force = tlb_remove_folio_pages(tlb, page, 1);
					break;
				}
				nr = folio_pte_batch(folio, pte, page,
						     (unsigned int)((end - addr) >> PT_PAGE_SHIFT));
				for (unsigned int i = 0; i < nr; i++)
					pte[i] = 0;
				if (unlikely(timed))
					pend[npend++] = (struct rmap_pend){ page, nr };
				else
					folio_remove_rmap_ptes(pmm, folio, page, (int)nr, model);
				force = tlb_remove_folio_pages(tlb, page, nr);
				pte += nr - 1;
				addr += (uint64_t)(nr - 1) * PAGE_4K;
				break;
			}
			}
			cleared += nr;
		}
		if (!cleared)
			break;
		tlb_track_range(tlb, first, addr);
		pte_table_count(ptable, -cleared);
		mm->stats.rss_anon -= (uint64_t)cleared;

		if (tlb->mode == PMM_GATHER_RANGES) {
			tlb_flush_mmu_tlbonly(tlb);
			tlb_flush_rmaps(tlb);
		} else if (timed) {
			uint64_t t0 = pmm_os_now_ns();

			for (unsigned int i = 0; i < npend; i++)
				folio_remove_rmap_ptes(pmm, page_folio(pend[i].page), pend[i].page,
						       (int)pend[i].nr, model);
			tlb->rmap_ns += pmm_os_now_ns() - t0;
		}
		if (force) {
			tlb->nr_forced++;
			tlb_flush_mmu(tlb);
		}
	}
}

/* Zap [start, end) below the level-@level @table. */
static void zap_level(struct mmu_gather *tlb, struct pmm_mm *mm, struct pmm_page *table, int level,
		      uint64_t start, uint64_t end)
{
	pte_t *entries = table_entries(mm->pmm, table);

	for (uint64_t addr = start, next; addr < end; addr = next) {
		pte_t e = entries[pt_index(addr, level)];

		next = pt_entry_end(addr, level, end);
		if (!e)
			continue;
		if (level == 1)
			zap_pte_range(tlb, mm, entry_table(mm->pmm, e), addr, next);
		else
			zap_level(tlb, mm, entry_table(mm->pmm, e), level - 1, addr, next);
	}
}

/* Context: mm->lock held. */
static void zap_range(struct mmu_gather *tlb, struct pmm_mm *mm, uint64_t start, uint64_t end)
{
	zap_level(tlb, mm, mm->pgd, PT_LEVELS - 1, start, end);
}

/* Zap, free the emptied tables and drop the VMAs of [start, end). Context: mm->lock held. */
static void unmap_range_locked(struct pmm_mm *mm, uint64_t start, uint64_t end, bool fullmm)
{
	struct mmu_gather tlb;

	lockdep_assert_held(&mm->lock);
	tlb_gather_mmu(&tlb, mm->pmm, mm, mm->cfg.gather, fullmm);
	zap_range(&tlb, mm, start, end);
	tlb_finish_mmu(&tlb);
	free_pgtables(mm, start, end);
}

int pmm_mm_unmap(pmm_mm_t *mm, uint64_t addr, uint64_t len)
{
	int err;

	if (!mm_valid(mm) || !range_valid(addr, len))
		return -PMM_EINVAL;
	/* Older kernels drained this CPU's LRU batch first, so its references do not delay frees. */
	lru_add_drain(mm->pmm);
	spin_lock(&mm->lock);
	err = vma_reserve(mm, 1);		/* a VMA split in two needs a slot */
	if (!err) {
		unmap_range_locked(mm, addr, addr + len, false);
		vma_remove_range(mm, addr, addr + len);
	}
	spin_unlock(&mm->lock);
	return err;
}

void pmm_mm_destroy_stats(pmm_mm_t *mm, struct pmm_mm_stats *out)
{
	pmm_t *pmm;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!mm_valid(mm))
		return;
	pmm = mm->pmm;
	/* Off the instance's list first: pmm_check and the printers walk the mms on it. */
	spin_lock(&pmm->mm_list_lock);
	list_del(&mm->mm_link);
	spin_unlock(&pmm->mm_list_lock);
	spin_lock(&mm->lock);
	unmap_range_locked(mm, 0, USER_VA_END, true);
	/*
	 * Leave the family before the tables go: the deferred split scan finds
	 * an mm through its anon_vma and walks its tables.
	 */
	anon_vma_unlink(pmm, mm);
	pgtable_free(mm, mm->pgd);
	mm->magic = 0;
	if (out) {
		*out = mm->stats;
		out->nr_vmas = 0;	/* the exit took them all */
	}
	spin_unlock(&mm->lock);
	/* Every frame back: the folios still held by an LRU add batch go now. */
	lru_add_drain_all(pmm);
	meta_free(pmm, mm->vmas, mm->max_vmas * sizeof(*mm->vmas));
	meta_free(pmm, mm, sizeof(*mm));
}

void pmm_mm_destroy(pmm_mm_t *mm)
{
	pmm_mm_destroy_stats(mm, NULL);
}

/* ------------------------------------------------------------------------
 * Faults
 * ------------------------------------------------------------------------ */

/* The TLB entry of one page changed (COW). */
static void flush_tlb_page(struct pmm_mm *mm, uint64_t addr)
{
	if (mm->cfg.tlb_flush)
		mm->cfg.tlb_flush(mm->cfg.tlb_arg, addr, addr + PAGE_4K);
	mm->stats.tlb_flushes++;
}

/* Is every PTE of [start, start + nr pages) in @ptable empty? */
static bool ptes_none(const pmm_t *pmm, struct pmm_page *ptable, uint64_t start, unsigned long nr)
{
	const pte_t *pte = pte_of(pmm, ptable, start);

	for (unsigned long i = 0; i < nr; i++)
		if (pte[i])
			return false;
	return true;
}

/*
 * Kernel do_anonymous_page() with the mTHP policy: the largest order up to
 * the VMA's whose naturally aligned range fits the VMA and has no PTE yet,
 * and whose folio can be allocated; order 0 last.
 */
static int do_anonymous_fault(struct pmm_mm *mm, struct vma *vma, struct pmm_page *ptable,
			      uint64_t addr, bool write)
{
	pmm_t *pmm = mm->pmm;
	pmm_gfp_t gfp = PMM_GFP_MOVABLE | PMM_GFP_NOWARN | (pmm->direct_map ? PMM_GFP_ZERO : 0);
	struct pmm_folio *folio = NULL;
	unsigned int order = vma->folio_order;
	uint64_t start = addr;
	pte_t bits, *pte;
	unsigned long nr;

	for (;; order--) {
		uint64_t size = PAGE_4K << order;

		/*
		 * The fallback skips order 1, which the kernel's anon mTHP orders
		 * leave out: such a folio has no room for the deferred split link,
		 * so a partial unmap could never give its free page back. A VMA of
		 * order 1 asks for it and gets it.
		 */
		if (order == 1 && vma->folio_order > 1)
			continue;
		start = addr & ~(size - 1);
		if (start >= vma->start && start + size <= vma->end &&
		    ptes_none(pmm, ptable, start, 1UL << order)) {
			folio = (struct pmm_folio *)pmm_alloc_pages(pmm, gfp | (order ? PMM_GFP_COMP : 0),
								     order);
			if (folio)
				break;
		}
		if (!order)
			return -PMM_ENOMEM;
	}
	nr = 1UL << order;
	bits = PTE_PRESENT | PTE_ANON | PTE_YOUNG | (vma->flags & PMM_MAP_WRITE ? PTE_WRITE : 0) |
	       (write ? PTE_DIRTY : 0);
	pte = pte_of(pmm, ptable, start);
	for (unsigned long i = 0; i < nr; i++)
		pte[i] = pfn_pte(page_to_pfn(pmm, &folio->page) + i, bits);
	pte_table_count(ptable, (long)nr);
	folio_add_new_anon_rmap(folio, mm->anon_vma, start);
	folio_ref_add(folio, (int)nr - 1);	/* one reference per PTE */
	lru_add(pmm, folio);
	mm->stats.rss_anon += nr;
	mm->stats.faults++;
	mm->stats.fault_fallbacks += order < vma->folio_order;
	return 0;
}

/*
 * May a write reuse the order-0 folio it hits (kernel
 * wp_can_reuse_anon_folio())? Only if this PTE holds its only reference;
 * a swap cache copy is dropped first, as folio_free_swap() does. A large
 * folio is never reused (kernel 6.5): the page is copied.
 */
static bool wp_can_reuse(pmm_t *pmm, struct pmm_folio *folio)
{
	if (folio_test_large(folio))
		return false;
	if (!folio_test_lru(folio))
		lru_add_drain(pmm);	/* our batch's reference */
	if (folio_test_swapcache(folio) && folio_ref_count(folio) == 2 && folio_mapcount(folio) == 1 &&
	    folio_trylock(folio)) {
		if (folio_test_swapcache(folio))
			swap_cache_del(pmm, folio);
		folio_unlock(folio);
	}
	/*
	 * Acquire: pairs with the release of the last other holder's drop, so
	 * whatever it read of the page happens before this write reuses it.
	 */
	return atomic_load_explicit(&folio->page.refcount, memory_order_acquire) == 1;
}

/* Kernel do_wp_page(): a write to a present read-only page of a writable VMA. */
static int do_wp_page(struct pmm_mm *mm, uint64_t addr, pte_t *pte)
{
	pmm_t *pmm = mm->pmm;
	struct pmm_page *page = pfn_to_page(pmm, pte_pfn(*pte)), *copy;
	struct pmm_folio *folio = page_folio(page);

	if (wp_can_reuse(pmm, folio)) {
		*pte |= PTE_WRITE | PTE_DIRTY | PTE_YOUNG;
		return 0;
	}
	copy = pmm_alloc_pages(pmm, PMM_GFP_MOVABLE | PMM_GFP_NOWARN, 0);
	if (!copy)
		return -PMM_ENOMEM;
	folio = page_folio(page);	/* the allocation's reclaim may have split it */
	if (pmm->direct_map)
		memcpy(pfn_to_virt(pmm, page_to_pfn(pmm, copy)), pfn_to_virt(pmm, page_to_pfn(pmm, page)),
		       PAGE_4K);
	*pte = pfn_pte(page_to_pfn(pmm, copy), PTE_PRESENT | PTE_ANON | PTE_YOUNG | PTE_WRITE | PTE_DIRTY);
	flush_tlb_page(mm, addr);
	folio_add_new_anon_rmap((struct pmm_folio *)copy, mm->anon_vma, addr);
	lru_add(pmm, (struct pmm_folio *)copy);
	/* The old page loses this mapping: maybe partially mapped now, maybe unmapped (kernel wp_page_copy()). */
	folio_remove_rmap_ptes(pmm, folio, page, 1, mm->cfg.mapcount);
	free_swap_cache(pmm, folio);
	folios_put_refs(pmm, &folio, NULL, 1);
	mm->stats.faults++;
	mm->stats.cow_faults++;
	return 0;
}

static int __fault_locked(struct pmm_mm *mm, uint64_t addr, bool write)
{
	struct vma *vma = vma_find(mm, addr);
	struct pmm_page *ptable;
	pte_t *pte;

	if (!vma || (write && !(vma->flags & PMM_MAP_WRITE)))
		return -PMM_EINVAL;
	ptable = pte_table_alloc(mm, addr);
	if (!ptable)
		return -PMM_ENOMEM;
	pte = pte_of(mm->pmm, ptable, addr);
	if (!pte_present(*pte))
		return do_anonymous_fault(mm, vma, ptable, addr, write);
	if (write && !(*pte & PTE_WRITE))
		return do_wp_page(mm, addr, pte);
	*pte |= PTE_YOUNG | (write ? PTE_DIRTY : 0);
	return 0;
}

/*
 * Context: mm->lock held. Each allocation of a fault happens with the mm
 * consistent (before the PTEs it fills change), so the deferred split scan
 * its reclaim runs may treat the mm as locked (mm_reclaim_begin()).
 */
static int fault_locked(struct pmm_mm *mm, uint64_t addr, bool write)
{
	int err;

	lockdep_assert_held(&mm->lock);
	mm_reclaim_begin(mm);
	err = __fault_locked(mm, addr, write);
	mm_reclaim_end(mm);
	return err;
}

int pmm_mm_fault(pmm_mm_t *mm, uint64_t addr, bool write)
{
	int err;

	if (!mm_valid(mm) || addr >= USER_VA_END)
		return -PMM_EINVAL;
	spin_lock(&mm->lock);
	err = fault_locked(mm, addr & ~(PAGE_4K - 1), write);
	spin_unlock(&mm->lock);
	return err;
}

/* The present PTE at @addr, or NULL. Context: mm->lock held. */
static pte_t *present_pte(struct pmm_mm *mm, uint64_t addr)
{
	struct pmm_page *ptable = pte_table_lookup(mm, addr);
	pte_t *pte;

	if (!ptable)
		return NULL;
	pte = pte_of(mm->pmm, ptable, addr);
	return pte_present(*pte) ? pte : NULL;
}

int pmm_mm_access(pmm_mm_t *mm, uint64_t addr, bool write, void **ptr)
{
	uint64_t page = addr & ~(PAGE_4K - 1);
	pte_t *pte;
	int err = 0;

	if (ptr)
		*ptr = NULL;
	if (!mm_valid(mm) || !ptr || addr >= USER_VA_END)
		return -PMM_EINVAL;
	if (!mm->pmm->direct_map)
		return -PMM_ENOTSUP;
	spin_lock(&mm->lock);
	pte = present_pte(mm, page);
	if (!pte || (write && !(*pte & PTE_WRITE)))
		err = fault_locked(mm, page, write);
	if (!err && (pte = present_pte(mm, page))) {
		*pte |= PTE_YOUNG | (write ? PTE_DIRTY : 0);
		*ptr = (char *)pfn_to_virt(mm->pmm, pte_pfn(*pte)) + (addr & (PAGE_4K - 1));
	}
	spin_unlock(&mm->lock);
	return err;
}

/* The page mapped at @addr, with a reference on its folio if @get. */
static struct pmm_page *lookup_page(struct pmm_mm *mm, uint64_t addr, bool get)
{
	struct pmm_page *page = NULL;
	pte_t *pte;

	if (!mm_valid(mm) || addr >= USER_VA_END)
		return NULL;
	spin_lock(&mm->lock);
	pte = present_pte(mm, addr & ~(PAGE_4K - 1));
	if (pte) {
		page = pfn_to_page(mm->pmm, pte_pfn(*pte));
		/*
		 * A holder's get (the PTE holds one), made under the mm lock:
		 * the deferred split, which trylocks every mm of the folio's
		 * family, cannot split the folio under it, and once the
		 * reference is there its count check refuses to.
		 */
		if (get)
			folio_ref_add(page_folio(page), 1);
	}
	spin_unlock(&mm->lock);
	return page;
}

struct pmm_page *pmm_mm_lookup(pmm_mm_t *mm, uint64_t addr)
{
	return lookup_page(mm, addr, false);
}

struct pmm_page *pmm_mm_get_page(pmm_mm_t *mm, uint64_t addr)
{
	return lookup_page(mm, addr, true);
}

/* ------------------------------------------------------------------------
 * Mapping
 * ------------------------------------------------------------------------ */

int pmm_mm_map_anon(pmm_mm_t *mm, uint64_t addr, uint64_t len, unsigned int folio_order,
		    unsigned int flags)
{
	struct vma vma = { addr, addr + len, folio_order, flags & PMM_MAP_WRITE };
	int err;

	/* Folios are PTE-mapped and lie in one table, as the kernel's mTHP orders (at most PMD_ORDER). */
	if (!mm_valid(mm) || !range_valid(addr, len) || folio_order > mm->pmm->pageblock_order ||
	    folio_order > PMD_ORDER ||
	    (flags & ~(PMM_MAP_WRITE | PMM_MAP_POPULATE)))
		return -PMM_EINVAL;
	spin_lock(&mm->lock);
	{
		unsigned int i = vma_index(mm, addr);

		if (i < mm->nr_vmas && mm->vmas[i].start < addr + len) {
			spin_unlock(&mm->lock);
			return -PMM_EINVAL;	/* overlaps a VMA */
		}
	}
	err = vma_reserve(mm, 1);
	if (!err)
		vma_insert(mm, &vma);
	/* MAP_POPULATE: fault every page in now, as a write where writing is allowed. */
	for (uint64_t a = addr; !err && (flags & PMM_MAP_POPULATE) && a < addr + len; a += PAGE_4K) {
		pte_t *pte = present_pte(mm, a);

		if (!pte)
			err = fault_locked(mm, a, flags & PMM_MAP_WRITE);
	}
	if (err) {
		/* Nothing half-mapped: what populate faulted in goes again (an exact removal, no split). */
		unmap_range_locked(mm, addr, addr + len, false);
		vma_remove_range(mm, addr, addr + len);
	}
	spin_unlock(&mm->lock);
	return err;
}

/* ------------------------------------------------------------------------
 * Fork
 * ------------------------------------------------------------------------ */

/*
 * Copy one parent PTE table's [addr, end) into the child, write-protecting
 * both sides. PER_PAGE duplicates the rmap and takes a reference per PTE;
 * the batched modes once per run of PTEs of one folio (kernel
 * folio_try_dup_anon_rmap_ptes()).
 */
static int copy_pte_range(struct pmm_mm *child, struct pmm_mm *parent, struct pmm_page *src_table,
			  uint64_t addr, uint64_t end)
{
	pmm_t *pmm = parent->pmm;
	struct pmm_page *dst_table = NULL;
	pte_t *src = pte_of(pmm, src_table, addr), *dst;

	for (; addr < end; src++, addr += PAGE_4K) {
		struct pmm_page *page;
		struct pmm_folio *folio;
		unsigned int nr = 1;

		if (!pte_present(*src))
			continue;
		/* The child's table is allocated at the first PTE to copy. */
		if (!dst_table && !(dst_table = pte_table_alloc(child, addr)))
			return -PMM_ENOMEM;
		dst = pte_of(pmm, dst_table, addr);
		page = pfn_to_page(pmm, pte_pfn(*src));
		folio = page_folio(page);
		if (parent->cfg.gather != PMM_GATHER_PER_PAGE && folio_test_large(folio) &&
		    end - addr > PAGE_4K)
			nr = folio_pte_batch(folio, src, page, (unsigned int)((end - addr) >> PT_PAGE_SHIFT));
		for (unsigned int i = 0; i < nr; i++) {
			src[i] &= ~PTE_WRITE;
			dst[i] = src[i];
		}
		folio_dup_anon_rmap_ptes(folio, page, (int)nr, parent->cfg.mapcount);
		folio_ref_add(folio, (int)nr);
		pte_table_count(dst_table, nr);
		child->stats.rss_anon += nr;
		src += nr - 1;
		addr += (uint64_t)(nr - 1) * PAGE_4K;
	}
	return 0;
}

static int copy_level(struct pmm_mm *child, struct pmm_mm *parent, struct pmm_page *table, int level,
		      uint64_t start, uint64_t end)
{
	pte_t *entries = table_entries(parent->pmm, table);

	for (uint64_t addr = start, next; addr < end; addr = next) {
		pte_t e = entries[pt_index(addr, level)];
		int err;

		next = pt_entry_end(addr, level, end);
		if (!e)
			continue;
		if (level == 1)
			err = copy_pte_range(child, parent, entry_table(parent->pmm, e), addr, next);
		else
			err = copy_level(child, parent, entry_table(parent->pmm, e), level - 1, addr, next);
		if (err)
			return err;
	}
	return 0;
}

int pmm_mm_fork(pmm_mm_t *parent, pmm_mm_t **out)
{
	struct pmm_mm *child;
	int err;

	if (!out)
		return -PMM_EINVAL;
	*out = NULL;
	if (!mm_valid(parent))
		return -PMM_EINVAL;
	spin_lock(&parent->lock);
	/*
	 * Fork allocates between whole runs of PTEs: every copied PTE has its
	 * reference and mapcount, so the family stays consistent for a scan
	 * that the allocations' reclaim runs here (mm_reclaim_begin()).
	 */
	mm_reclaim_begin(parent);
	err = mm_alloc(parent->pmm, &parent->cfg, parent->anon_vma, &child);
	if (err) {
		mm_reclaim_end(parent);
		spin_unlock(&parent->lock);
		return err;
	}
	spin_lock(&child->lock);
	mm_reclaim_begin(child);
	err = vma_reserve(child, parent->nr_vmas);
	if (!err) {
		if (parent->nr_vmas)
			memcpy(child->vmas, parent->vmas, parent->nr_vmas * sizeof(*parent->vmas));
		child->nr_vmas = parent->nr_vmas;
		err = copy_level(child, parent, parent->pgd, PT_LEVELS - 1, 0, USER_VA_END);
	}
	/* The parent's write-protected PTEs: one flush for the whole mm. */
	if (parent->cfg.tlb_flush)
		parent->cfg.tlb_flush(parent->cfg.tlb_arg, 0, USER_VA_END);
	parent->stats.tlb_flushes++;
	mm_reclaim_end(child);
	mm_reclaim_end(parent);
	spin_unlock(&child->lock);
	spin_unlock(&parent->lock);
	mm_publish(child);
	if (err) {
		pmm_mm_destroy(child);	/* what was copied is undone like an exit */
		return err;
	}
	*out = child;
	return 0;
}

/* ------------------------------------------------------------------------
 * Swap cache, statistics
 * ------------------------------------------------------------------------ */

/*
 * Add the folio of every present PTE of [start, end) below the level-@level
 * @table to the swap cache, skipping what no table maps (as zap_level()
 * does): the walk costs what is mapped, not the range's length.
 * Context: mm->lock held.
 */
static int swapcache_add_level(struct pmm_mm *mm, struct pmm_page *table, int level,
			       uint64_t start, uint64_t end)
{
	pte_t *entries = table_entries(mm->pmm, table);
	int err = 0;

	for (uint64_t addr = start, next; addr < end && !err; addr = next) {
		pte_t e = entries[pt_index(addr, level)];

		next = pt_entry_end(addr, level, end);
		if (level == 0 && pte_present(e))
			err = swap_cache_add(mm->pmm, page_folio(pfn_to_page(mm->pmm, pte_pfn(e))));
		else if (level > 0 && e)
			err = swapcache_add_level(mm, entry_table(mm->pmm, e), level - 1, addr, next);
	}
	return err;
}

int pmm_mm_swapcache_add(pmm_mm_t *mm, uint64_t addr, uint64_t len)
{
	int err;

	if (!mm_valid(mm) || !range_valid(addr, len))
		return -PMM_EINVAL;
	spin_lock(&mm->lock);
	err = swapcache_add_level(mm, mm->pgd, PT_LEVELS - 1, addr, addr + len);
	spin_unlock(&mm->lock);
	return err;
}

void pmm_mm_stats_get(pmm_mm_t *mm, struct pmm_mm_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!mm_valid(mm))
		return;
	spin_lock(&mm->lock);
	*out = mm->stats;
	out->nr_vmas = mm->nr_vmas;
	spin_unlock(&mm->lock);
}

int pmm_node_info(pmm_t *pmm, int nid, struct pmm_node_info *out)
{
	struct pmm_node *node;

	if (!pmm || !out || nid < 0 || nid >= PMM_MAX_NODES)
		return -PMM_EINVAL;
	node = NODE_DATA(pmm, nid);
	memset(out, 0, sizeof(*out));
	out->nid = nid;
	spin_lock(&node->lruvec.lock);
	out->lru_inactive_anon = node->lruvec.nr_folios[LRU_INACTIVE_ANON];
	out->lru_active_anon = node->lruvec.nr_folios[LRU_ACTIVE_ANON];
	out->lru_pages = node->lruvec.nr_pages;
	spin_unlock(&node->lruvec.lock);
	out->deferred_split = __atomic_load_n(&node->split_queue.len, __ATOMIC_RELAXED);
	return 0;
}

/* ------------------------------------------------------------------------
 * The teardown floor (bench/teardown.c): clearing the PTEs and freeing
 * each folio once, with none of the rmap, LRU and per-page reference work
 * teardown does. The preparation that makes the folios freeable that way
 * is not timed.
 * ------------------------------------------------------------------------ */

/* Untimed: a folio's counters as if unmapped, off the LRU, one reference left. */
static void floor_prepare(struct pmm_mm *mm, struct pmm_folio *folio)
{
	struct lruvec *lruvec = folio_lruvec(mm->pmm, folio);

	spin_lock(&lruvec->lock);
	if (folio_test_lru(folio))
		lruvec_del_folio_locked(lruvec, folio, folio_nr_pages(folio));
	spin_unlock(&lruvec->lock);
	for (unsigned long i = 0; i < folio_nr_pages(folio); i++)
		atomic_store_explicit(&folio_page(folio, i)->mapcount, -1, memory_order_relaxed);
	if (folio_test_large(folio)) {
		atomic_store_explicit(&folio->large_mapcount, -1, memory_order_relaxed);
		atomic_store_explicit(&folio->nr_pages_mapped, 0, memory_order_relaxed);
	}
	folio->page.mapping = NULL;
	folio->page.index = 0;
	set_page_count(&folio->page, 1);
}

/*
 * One pass over every PTE table: @prepare (untimed) readies each folio, or
 * else the folio's PTEs are cleared and the folio freed (timed). Folios of
 * an unforked mm are naturally aligned and mapped whole, so a folio's PTEs
 * start at its head's.
 */
static void floor_level(struct pmm_mm *mm, struct pmm_page *table, int level, bool prepare)
{
	pmm_t *pmm = mm->pmm;
	pte_t *e = table_entries(pmm, table);

	for (unsigned int i = 0; i < PTRS_PER_TABLE; i++) {
		struct pmm_page *page;
		struct pmm_folio *folio;
		unsigned long nr;

		if (!e[i])
			continue;
		if (level) {
			floor_level(mm, entry_table(pmm, e[i]), level - 1, prepare);
			continue;
		}
		page = pfn_to_page(pmm, pte_pfn(e[i]));
		folio = page_folio(page);
		nr = folio_nr_pages(folio);
		if (prepare) {
			floor_prepare(mm, folio);
		} else {
			memset(&e[i], 0, nr * sizeof(*e));
			pte_table_count(table, -(long)nr);
			mm->stats.rss_anon -= nr;
			if (page_ref_put_testzero(pmm, page))
				free_frozen_pages(pmm, page, folio_order(folio), FPI_NONE);
		}
		i += (unsigned int)nr - 1;
	}
}

int mm_floor_exit(struct pmm_mm *mm, uint64_t *ns)
{
	uint64_t t0;
	unsigned int nr_mms;

	if (!mm_valid(mm) || !ns)
		return -PMM_EINVAL;
	lru_add_drain_all(mm->pmm);
	spin_lock(&mm->lock);
	spin_lock(&mm->anon_vma->lock);
	nr_mms = mm->anon_vma->nr_mms;
	spin_unlock(&mm->anon_vma->lock);
	if (nr_mms != 1 || pmm_swapcache_nr(mm->pmm)) {
		spin_unlock(&mm->lock);
		return -PMM_EBUSY;	/* shared folios or a swap cache: not the floor's case */
	}
	floor_level(mm, mm->pgd, PT_LEVELS - 1, true);
	t0 = pmm_os_now_ns();
	floor_level(mm, mm->pgd, PT_LEVELS - 1, false);
	free_pgtables(mm, 0, USER_VA_END);
	*ns = pmm_os_now_ns() - t0;
	spin_unlock(&mm->lock);
	return 0;
}
