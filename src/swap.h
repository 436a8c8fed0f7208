/* SPDX-License-Identifier: MIT */
/*
 * swap.h - a minimal swap cache (swap_cache.c; kernel mm/swap_state.c): an
 * index from swap entry to folio. A folio of n pages takes n consecutive
 * entries (the first in its ->private), PG_swapcache, and n references
 * held by the cache. Nothing is written anywhere: pmm has no swap device;
 * the cache is there so that teardown does what the kernel's does with it
 * (free_swap_cache()).
 */
#ifndef PMM_SWAP_H
#define PMM_SWAP_H

#include "mmzone.h"
#include "page_flags.h"

#define SWAP_TOMBSTONE UINT64_MAX

void swap_cache_init(pmm_t *pmm);
void swap_cache_exit(pmm_t *pmm);
/* Add a mapped folio (a holder's reference is the caller's). Return: 0 or -PMM_ENOMEM. */
int swap_cache_add(pmm_t *pmm, struct pmm_folio *folio);
/* Remove @folio and drop the cache's references. Context: folio locked, caller holds a reference. */
void swap_cache_del(pmm_t *pmm, struct pmm_folio *folio);
/* Kernel free_swap_cache(): drop an unmapped folio from the swap cache. */
void free_swap_cache(pmm_t *pmm, struct pmm_folio *folio);
/*
 * Kernel __split_huge_page() on a swap cache folio: @folio, of @nr pages,
 * is being split to order 0. Page i keeps entry (first + i) as a folio of
 * its own when @maps[i] says it is mapped; an unmapped page leaves the
 * cache (free_page_and_swap_cache()). Context: every mapper of @folio locked.
 */
void swap_cache_split(pmm_t *pmm, struct pmm_folio *folio, unsigned long nr,
		      const unsigned int *maps);
/* The folio cached for @entry, or NULL. */
struct pmm_folio *swap_cache_lookup(pmm_t *pmm, uint64_t entry);
/* Validator (pmm_check): every entry of @folio names it. Context: the swap cache lock held. */
bool swap_cache_holds_locked(pmm_t *pmm, const struct pmm_folio *folio);

#endif /* PMM_SWAP_H */
