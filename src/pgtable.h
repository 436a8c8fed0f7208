/* SPDX-License-Identifier: MIT */
/*
 * pgtable.h - software page tables: four levels of 512 eight-byte entries
 * over a 48-bit address space of 4 KiB pages, as x86-64 and arm64 lay them
 * out. A table is one order-0 frame of the instance (PG_table, kpage.h);
 * an upper entry holds its child table's pfn, a leaf entry (PTE) the mapped
 * frame's pfn and the bits below. Each table page counts its non-empty
 * entries in ->index, so that unmap can free tables left empty.
 * Context: every table of an mm is guarded by the mm's lock.
 */
#ifndef PMM_PGTABLE_H
#define PMM_PGTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "kpage.h"

typedef uint64_t pte_t;

#define PTE_PRESENT (1ULL << 0)
#define PTE_WRITE   (1ULL << 1)
#define PTE_DIRTY   (1ULL << 2)
#define PTE_YOUNG   (1ULL << 3)
#define PTE_ANON    (1ULL << 4)
#define PTE_PFN_SHIFT 12

#define PT_LEVELS 4			/* 0: PTE table ... 3: the root (PGD) */
#define PTRS_PER_TABLE 512
#define PT_PAGE_SHIFT 12
#define PMD_SHIFT (PT_PAGE_SHIFT + 9)	/* a PTE table maps 2 MiB */
#define PMD_ORDER (PMD_SHIFT - PT_PAGE_SHIFT)	/* the largest PTE-mapped folio: one table's */
#define PMD_SIZE (1ULL << PMD_SHIFT)
#define USER_VA_END (1ULL << 47)	/* the user half of a 48-bit space */

struct pmm_mm;

static inline bool pte_present(pte_t pte) { return pte & PTE_PRESENT; }
static inline pmm_pfn_t pte_pfn(pte_t pte) { return pte >> PTE_PFN_SHIFT; }
static inline pte_t pfn_pte(pmm_pfn_t pfn, uint64_t bits) { return pfn << PTE_PFN_SHIFT | bits; }

/* The index of @addr in its level-@level table. */
static inline unsigned int pt_index(uint64_t addr, int level)
{
	return (unsigned int)(addr >> (PT_PAGE_SHIFT + 9 * level)) & (PTRS_PER_TABLE - 1);
}

/* The first address after @addr's level-@level entry, capped at @end. */
static inline uint64_t pt_entry_end(uint64_t addr, int level, uint64_t end)
{
	uint64_t next = (addr | ((1ULL << (PT_PAGE_SHIFT + 9 * level)) - 1)) + 1;

	return next < end && next ? next : end;
}

/* The entries of the table whose frame is @page. */
static inline pte_t *table_entries(const pmm_t *pmm, const struct pmm_page *page)
{
	return kpage_address(pmm, page);
}

/* The table page an upper entry names. */
static inline struct pmm_page *entry_table(const pmm_t *pmm, pte_t entry)
{
	return pfn_to_page(pmm, pte_pfn(entry));
}

/* pgtable.c */
struct pmm_page *pgtable_alloc(struct pmm_mm *mm);
void pgtable_free(struct pmm_mm *mm, struct pmm_page *table);
/* The PTE table covering @addr, allocating missing levels; NULL if that fails. */
struct pmm_page *pte_table_alloc(struct pmm_mm *mm, uint64_t addr);
/* The PTE table covering @addr, or NULL. */
struct pmm_page *pte_table_lookup(struct pmm_mm *mm, uint64_t addr);
/* Free every table in [start, end) whose entries are all empty. */
void free_pgtables(struct pmm_mm *mm, uint64_t start, uint64_t end);

/* A PTE table's count of non-empty entries. */
static inline void pte_table_count(struct pmm_page *ptable, long delta)
{
	ptable->index += (uint64_t)delta;
}

#endif /* PMM_PGTABLE_H */
