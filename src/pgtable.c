/* SPDX-License-Identifier: MIT */
/*
 * pgtable.c - allocating, walking and freeing an mm's software page tables
 * (pgtable.h). Context: the mm's lock held for all of it.
 */
#include "mm.h"

struct pmm_page *pgtable_alloc(struct pmm_mm *mm)
{
	struct pmm_page *page;

	if (!kpage_alloc(mm->pmm, PMM_GFP_KERNEL | PMM_GFP_ZERO, &page))
		return NULL;
	__SetPageTable(page);		/* not linked into the tree yet */
	page->index = 0;		/* non-empty entries */
	mm->stats.pgtable_pages++;
	return page;
}

void pgtable_free(struct pmm_mm *mm, struct pmm_page *table)
{
	PMM_BUG_ON_PAGE(table->index, table);
	__ClearPageTable(table);	/* unlinked: ours alone */
	kpage_free(mm->pmm, table);
	mm->stats.pgtable_pages--;
}

/* The level-@level table entry for @addr, starting from the root; NULL if a level is missing. */
static struct pmm_page *walk(struct pmm_mm *mm, uint64_t addr, bool alloc)
{
	pmm_t *pmm = mm->pmm;
	struct pmm_page *table = mm->pgd;

	for (int level = PT_LEVELS - 1; level > 0; level--) {
		pte_t *e = table_entries(pmm, table) + pt_index(addr, level);

		if (!*e) {
			struct pmm_page *child;

			if (!alloc || !(child = pgtable_alloc(mm)))
				return NULL;
			*e = pfn_pte(page_to_pfn(pmm, child), PTE_PRESENT);
			pte_table_count(table, 1);
		}
		table = entry_table(pmm, *e);
	}
	return table;
}

struct pmm_page *pte_table_alloc(struct pmm_mm *mm, uint64_t addr)
{
	return walk(mm, addr, true);
}

struct pmm_page *pte_table_lookup(struct pmm_mm *mm, uint64_t addr)
{
	return walk(mm, addr, false);
}

/* Free the empty tables below the level-@level @table within [start, end). */
static void free_level(struct pmm_mm *mm, struct pmm_page *table, int level, uint64_t start,
		       uint64_t end)
{
	pmm_t *pmm = mm->pmm;
	pte_t *entries = table_entries(pmm, table);

	for (uint64_t addr = start, next; addr < end; addr = next) {
		pte_t *e = &entries[pt_index(addr, level)];
		struct pmm_page *child;

		next = pt_entry_end(addr, level, end);
		if (!*e)
			continue;
		child = entry_table(pmm, *e);
		if (level > 1)
			free_level(mm, child, level - 1, addr, next);
		if (!child->index) {
			*e = 0;
			pte_table_count(table, -1);
			pgtable_free(mm, child);
		}
	}
}

void free_pgtables(struct pmm_mm *mm, uint64_t start, uint64_t end)
{
	free_level(mm, mm->pgd, PT_LEVELS - 1, start, end);
}
