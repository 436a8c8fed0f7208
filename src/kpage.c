/* SPDX-License-Identifier: MIT */
/* kpage.c - frames for the instance's own structures (see kpage.h). */
#include "internal.h"
#include "kpage.h"

#include <string.h>

void *kpage_alloc(pmm_t *pmm, pmm_gfp_t gfp, struct pmm_page **pagep)
{
	struct pmm_page *page = pmm_alloc_pages(pmm, (gfp & ~PMM_GFP_COMP) | PMM_GFP_NOWARN, 0);
	size_t size = (size_t)1 << pmm->page_shift;
	void *addr;

	if (!page)
		return NULL;
	if (pmm->direct_map) {
		addr = pfn_to_virt(pmm, page_to_pfn(pmm, page));
		memset(addr, 0, size);
	} else {
		char *shadow = meta_alloc(pmm, KPAGE_SHADOW_HEADER + size);

		if (!shadow) {
			pmm_free_pages(pmm, page, 0);
			return NULL;
		}
		*(struct pmm_page **)shadow = page;
		addr = shadow + KPAGE_SHADOW_HEADER;
		page->private = (uintptr_t)addr;
		__SetPagePrivate(page);		/* ours alone until we publish it */
	}
	*pagep = page;
	return addr;
}

void kpage_free(pmm_t *pmm, struct pmm_page *page)
{
	if (PagePrivate(page)) {
		meta_free(pmm, (char *)(uintptr_t)page->private - KPAGE_SHADOW_HEADER,
			  KPAGE_SHADOW_HEADER + ((size_t)1 << pmm->page_shift));
		page->private = 0;
		__ClearPagePrivate(page);
	}
	pmm_free_pages(pmm, page, 0);
}
