/* SPDX-License-Identifier: MIT */
/*
 * deferred_split.h - the per-node queues of partially mapped large
 * anonymous folios and their split (deferred_split.c; kernel
 * mm/huge_memory.c deferred_split_folio() / deferred_split_scan()).
 */
#ifndef PMM_DEFERRED_SPLIT_H
#define PMM_DEFERRED_SPLIT_H

#include "mmzone.h"
#include "page_flags.h"

void deferred_split_init(pmm_t *pmm);
/* Queue @folio (order >= 2) if it is still partially mapped; the queue takes a reference. */
void deferred_split_folio(pmm_t *pmm, struct pmm_folio *folio);
/* Take @folio off its queue (it is unmapped now) and drop the queue's reference. */
void deferred_split_unqueue(pmm_t *pmm, struct pmm_folio *folio);
/* The shrinker: split queued folios until @want pages are freed. Return: pages freed. */
unsigned long deferred_split_shrink(pmm_t *pmm, unsigned long want);

#endif /* PMM_DEFERRED_SPLIT_H */
