/* SPDX-License-Identifier: MIT */
/* kpage.c - frames for the instance's own structures (see kpage.h). */
#include "internal.h"
#include "kpage.h"


void kpage_init(pmm_t *pmm)
{
	spin_lock_init(&pmm->kpage_cache.lock);
}

static size_t shadow_size(const pmm_t *pmm)
{
	return KPAGE_SHADOW_HEADER + ((size_t)1 << pmm->page_shift);
}

void kpage_exit(pmm_t *pmm)
{
	struct kpage_cache *kc = &pmm->kpage_cache;

	while (kc->nr)
		meta_free(pmm, kc->shadow[--kc->nr], shadow_size(pmm));
}

/* A shadow, zeroed if @zero: a cached one, or new metadata (always zeroed). */
static char *shadow_alloc(pmm_t *pmm, bool zero)
{
	struct kpage_cache *kc = &pmm->kpage_cache;
	char *shadow = NULL;

	spin_lock(&kc->lock);
	if (kc->nr)
		shadow = kc->shadow[--kc->nr];
	spin_unlock(&kc->lock);
	if (!shadow)
		return meta_alloc(pmm, shadow_size(pmm));
	if (zero)
		memset(shadow, 0, shadow_size(pmm));
	return shadow;
}

static void shadow_free(pmm_t *pmm, char *shadow)
{
	struct kpage_cache *kc = &pmm->kpage_cache;

	spin_lock(&kc->lock);
	if (kc->nr < KPAGE_SHADOW_CACHE) {
		kc->shadow[kc->nr++] = shadow;
		shadow = NULL;
	}
	spin_unlock(&kc->lock);
	if (shadow)
		meta_free(pmm, shadow, shadow_size(pmm));
}

void *kpage_alloc(pmm_t *pmm, pmm_gfp_t gfp, struct pmm_page **pagep)
{
	struct pmm_page *page = pmm_alloc_pages(pmm, (gfp & ~PMM_GFP_COMP) | PMM_GFP_NOWARN, 0);
	void *addr;

	if (!page)
		return NULL;
	if (pmm->direct_map) {
		addr = pfn_to_virt(pmm, page_to_pfn(pmm, page));	/* PMM_GFP_ZERO zeroed it */
	} else {
		char *shadow = shadow_alloc(pmm, gfp & PMM_GFP_ZERO);

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
		shadow_free(pmm, (char *)(uintptr_t)page->private - KPAGE_SHADOW_HEADER);
		page->private = 0;
		__ClearPagePrivate(page);
	}
	pmm_free_pages(pmm, page, 0);
}
