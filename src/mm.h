/* SPDX-License-Identifier: MIT */
/*
 * mm.h - address spaces (mm.c): struct pmm_mm, its VMAs, and the anon_vma
 * that the mms of one fork family share.
 *
 * Locking: mm->lock is the mmap lock and the page-table lock in one; every
 * operation on an mm holds it, so its tables, VMAs and counters need no
 * other. Lock order: pmm->mm_list_lock (the printers and pmm_check walk the
 * mms under it), then mm->lock, then anon_vma->lock, then the leaf locks
 * (lruvec, deferred split queue, swap cache, lru batch, pcp, zone). The
 * deferred split scan takes an anon_vma's lock and then only trylocks its
 * mms' locks, so it cannot deadlock against a faulting or forking mm.
 */
#ifndef PMM_MM_H
#define PMM_MM_H

#include <stdbool.h>
#include <stdint.h>

#include "mmzone.h"
#include "pgtable.h"

struct vma {
	uint64_t start, end;		/* [start, end), page aligned */
	unsigned int folio_order;	/* the mTHP policy of its faults */
	unsigned int flags;		/* PMM_MAP_WRITE */
};

/*
 * struct anon_vma - what an anonymous folio's ->mapping points at (tagged
 * PAGE_MAPPING_ANON): the fork family of mms that may map it. Every folio
 * of the family maps at the same virtual address in every mm of it
 * (->index), so the rmap walk is a page-table lookup per mm.
 */
struct anon_vma {
	pmm_spinlock_t lock;		/* mms, nr_mms */
	struct pmm_list mms;		/* struct pmm_mm.anon_vma_link */
	unsigned int nr_mms;
	enum pmm_mapcount_model model;	/* the family's mapcount model */
	/*
	 * One per mm of the family and one per folio of it on a deferred
	 * split queue: the scan reaches the anon_vma through a folio it took
	 * off the queue, after the family's last mm may have exited (the
	 * kernel pins it with folio_get_anon_vma() under RCU instead).
	 */
	atomic_int refcount;
};

/* A holder's get: the caller holds a mapping mm's lock or another reference. */
static inline void anon_vma_get(struct anon_vma *av)
{
	atomic_fetch_add_explicit(&av->refcount, 1, memory_order_relaxed);
}

/* Drop a reference; the last frees the anon_vma. Context: av->lock not held. */
void anon_vma_put(pmm_t *pmm, struct anon_vma *av);

#define PMM_MM_MAGIC 0x706d6d21u	/* "pmm!": a live mm */

struct pmm_mm {
	uint32_t magic;			/* PMM_MM_MAGIC while live */
	pmm_t *pmm;
	struct pmm_mm_config cfg;
	pmm_spinlock_t lock;		/* mmap lock + page-table lock */
	struct pmm_page *pgd;		/* the root table */
	struct vma *vmas;		/* sorted by start, not overlapping */
	unsigned int nr_vmas, max_vmas;
	struct anon_vma *anon_vma;	/* the fork family */
	struct pmm_list anon_vma_link;	/* on anon_vma->mms, under its lock */
	struct pmm_list mm_link;	/* on pmm->mm_list, under mm_list_lock */
	struct pmm_mm_stats stats;	/* under lock */
	/*
	 * The thread that holds lock and allocates with the mm consistent (a
	 * fault, a fork): the allocation's reclaim may run the deferred split
	 * scan in that thread, which then uses this mm as locked (the kernel's
	 * scan needs none of the locks a faulting thread holds). NULL: none.
	 */
	const void *_Atomic reclaim_owner;
};

/*
 * mm_reclaim_begin / mm_reclaim_end - bracket the allocations of a fault or
 * a fork (mm_held_for_reclaim()). Context: mm->lock held; between them the
 * mm's tables and counts are consistent at every allocation.
 */
static inline void mm_reclaim_begin(struct pmm_mm *mm)
{
	atomic_store_explicit(&mm->reclaim_owner, pmm_os_thread_marker(), memory_order_relaxed);
}

static inline void mm_reclaim_end(struct pmm_mm *mm)
{
	atomic_store_explicit(&mm->reclaim_owner, NULL, memory_order_relaxed);
}

/* Is the calling thread inside an allocation that holds @mm's lock? Only it wrote its marker. */
static inline bool mm_held_for_reclaim(struct pmm_mm *mm)
{
	return atomic_load_explicit(&mm->reclaim_owner, memory_order_relaxed) == pmm_os_thread_marker();
}

/* The PTE at @addr inside its table's entries. */
static inline pte_t *pte_of(const pmm_t *pmm, struct pmm_page *ptable, uint64_t addr)
{
	return table_entries(pmm, ptable) + pt_index(addr, 0);
}

/* mm.c: the teardown floor of the teardown benchmark (white box). */
int mm_floor_exit(struct pmm_mm *mm, uint64_t *ns);

#endif /* PMM_MM_H */
