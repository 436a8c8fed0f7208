/* SPDX-License-Identifier: MIT */
/*
 * kpage.h - frames the instance uses for its own structures (page tables,
 * mmu_gather batches), taken from its own buddy allocator as the kernel's
 * pagetable_alloc() and __get_free_page() are: counted in pgalloc, subject
 * to fault injection, and real memory where the instance has backing.
 * Without backing a frame is only a number, so its contents live in a
 * metadata shadow whose address the page's ->private keeps (PG_private);
 * the shadow's header names the page, so that either way the contents'
 * address leads back to the frame (kernel virt_to_page()). Metadata is by
 * default an mmap of its own, so freed shadows wait on a per-instance list
 * for the next frame (gather batches and page tables come and go with
 * every unmap): the kernel's page lists keep freed pages warm the same way.
 */
#ifndef PMM_KPAGE_H
#define PMM_KPAGE_H

#include "memmap.h"
#include "page_flags.h"

/* A shadow's header: the page pointer, padded to keep the contents 16-byte aligned. */
#define KPAGE_SHADOW_HEADER 16

void kpage_init(pmm_t *pmm);
void kpage_exit(pmm_t *pmm);	/* frees the cached shadows */

/*
 * Return: the contents of a new order-0 frame (*@pagep), zeroed if @gfp has
 * PMM_GFP_ZERO (page tables; a gather batch needs no zeroing), or NULL.
 */
void *kpage_alloc(pmm_t *pmm, pmm_gfp_t gfp, struct pmm_page **pagep);
/* Free a frame from kpage_alloc(); the caller cleared any flag it set. */
void kpage_free(pmm_t *pmm, struct pmm_page *page);

/* The contents of a kpage_alloc() frame. */
static inline void *kpage_address(const pmm_t *pmm, const struct pmm_page *page)
{
	if (pmm->direct_map)
		return pfn_to_virt(pmm, page_to_pfn(pmm, page));
	return (void *)(uintptr_t)page->private;
}

/* The frame of kpage_alloc() contents @addr. */
static inline struct pmm_page *kpage_virt_to_page(const pmm_t *pmm, const void *addr)
{
	if (pmm->direct_map)
		return pfn_to_page(pmm, pmm->min_pfn +
				   (pmm_pfn_t)(((const char *)addr - (const char *)pmm->direct_map) >>
					       pmm->page_shift));
	return *(struct pmm_page *const *)((const char *)addr - KPAGE_SHADOW_HEADER);
}

#endif /* PMM_KPAGE_H */
