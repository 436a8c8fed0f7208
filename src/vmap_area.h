/* SPDX-License-Identifier: MIT */
/*
 * vmap_area.h - the vmalloc window's address-space allocator, as the
 * kernel's vmap areas (mm/vmalloc.c): free space in a red-black tree
 * ordered by address and augmented with the largest free size below each
 * node, so that the lowest fit for a size and an alignment is found in
 * O(log n); busy areas in a tree of their own for lookup by address; freed
 * areas merged into a purge tree and returned to the free tree only by a
 * purge, which unmaps them first (the kernel's lazy TLB flush:
 * vmap_lazy_nr against lazy_max_pages()).
 *
 * Lock order: purge_serial, then busy_lock, free_lock, purge_lock (only
 * vmap_check() and pmm_vmalloc_info() hold more than one of these three),
 * then cache_lock. The purge's unmapping calls run under purge_serial, and
 * pmm_vmalloc_info() writes to its stream under busy_lock and purge_lock.
 *
 * The lowest fit is exact at page alignment. At a larger alignment, as in
 * the kernel, the search may pass over a lower block that fits only by
 * where it happens to start; it never fails while some free block is big
 * enough at any alignment offset (size + align - a page).
 */
#ifndef PMM_VMAP_AREA_H
#define PMM_VMAP_AREA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "list.h"
#include "mmzone.h"
#include "rbtree.h"
#include "spinlock.h"

#define VMALLOC_SIZE_MAX (1ull << 46)	/* the largest window: half of x86-64's 128 TiB user half */
/*
 * A freed area keeps its mappings until the purge, and the process may
 * hold only vm.max_map_count of them (65530 by default): purge when this
 * many wait, whatever vmap_lazy_nr says.
 */
#define VMAP_LAZY_MAX_RUNS 8192

/* vm_struct.flags */
#define VM_ALLOC		(1u << 0)	/* pmm_vmalloc(): the area owns its pages */
#define VM_MAP			(1u << 1)	/* pmm_vmap(): the caller's pages */
#define VM_MAP_PUT_PAGES	(1u << 2)	/* pmm_vmap() with PMM_VMAP_PUT_PAGES */

/* An area of up to this many pages keeps its page array inside the area. */
#define VM_INLINE_PAGES 4

/* What a busy area maps (kernel struct vm_struct). */
struct vm_struct {
	struct pmm_page **pages;	/* [nr_pages], in address order */
	struct pmm_page *pages_frame;	/* the frame holding @pages; NULL: inline or meta_alloc()ed */
	struct pmm_page *inline_pages[VM_INLINE_PAGES];
	unsigned int nr_pages;
	unsigned int nr_runs;		/* mmap calls that mapped it: the process mappings it holds */
	unsigned int flags;		/* VM_*; 0 while the area is being set up (busy_lock) */
	const char *caller;		/* the tag given, or NULL: show @caller_ip */
	const void *caller_ip;		/* the return address of the public call */
	int nid;			/* the node asked for (PMM_NUMA_NO_NODE: local) */
};

struct vmap_area {
	uint64_t va_start, va_end;	/* [start, end); a busy area's end includes its guard page */
	struct rb_node rb_node;		/* in the free, busy or purge tree */
	struct pmm_list list;		/* the same tree's areas in address order */
	uint64_t subtree_max_size;	/* free tree: the largest size in this subtree */
	struct vm_struct vm;		/* busy */
};

struct vmap_tree {
	struct rb_root root;
	struct pmm_list head;		/* in address order */
	uint64_t nr, bytes;		/* areas, and the bytes they cover */
};

/* struct vmap_state - one instance's window (pmm->vmap; NULL: no window). */
struct vmap_state {
	uint64_t start, end;		/* the reserved window */
	bool mapped;			/* memfd backing: areas are real mappings */

	pmm_spinlock_t free_lock;
	struct vmap_tree free;		/* augmented */

	pmm_spinlock_t busy_lock;
	struct vmap_tree busy;

	pmm_spinlock_t purge_serial;	/* one purge at a time */
	pmm_spinlock_t purge_lock;
	struct vmap_tree purge;		/* freed areas, merged, still mapped */
	_Atomic uint64_t lazy_nr;	/* pages in @purge (kernel vmap_lazy_nr) */
	uint64_t lazy_max;
	uint64_t lazy_runs;		/* mappings the ranges in @purge still hold; purge_lock */

	pmm_spinlock_t cache_lock;	/* the vmap_area object cache */
	struct pmm_list cache;		/* free objects */
	void *chunks;			/* meta_alloc()ed chunks, linked through their first word */

	_Atomic int64_t nr_vmalloc_pages[PMM_MAX_NODES];	/* kernel NR_VMALLOC, per node */
	_Atomic uint64_t purges, map_calls, unmap_calls, free_step_ns;
};

int vmap_init(pmm_t *pmm);
void vmap_exit(pmm_t *pmm);

/*
 * Reserve @size bytes (the guard page included) aligned to @align (a power
 * of two, at least a page): purges once when nothing fits. Return: a busy
 * area whose vm the caller fills, or NULL (no room, or no memory for the
 * bookkeeping; @warn: log which).
 */
struct vmap_area *alloc_vmap_area(pmm_t *pmm, uint64_t size, uint64_t align, bool warn);
/* Take @va out of the busy tree whatever its state (a failed setup). */
void unlink_busy_vmap_area_any(pmm_t *pmm, struct vmap_area *va);
/* Undo alloc_vmap_area() of an area that was never mapped: straight back to the free tree. */
void free_vmap_area(pmm_t *pmm, struct vmap_area *va);
/*
 * Take the busy area starting at @addr out of the busy tree, if its
 * vm.flags has one of @flags. Return: 0; -PMM_EINVAL when no area starts
 * at @addr; -PMM_EBUSY when the one there is of another kind (left alone).
 */
int unlink_busy_vmap_area(pmm_t *pmm, uint64_t addr, unsigned int flags, struct vmap_area **out);
/* A freed area: to the purge tree, purging when lazy_max pages have gathered. */
void free_vmap_area_lazy(pmm_t *pmm, struct vmap_area *va);
/* Unmap every lazily freed area and return them to the free tree (@wait: even if a purge runs). */
void purge_vmap_area_lazy(pmm_t *pmm, bool wait);

/* Return the area containing @addr (busy_lock held). */
struct vmap_area *find_vmap_area_locked(struct vmap_state *vs, uint64_t addr);

/* The free tree's bytes and its largest block, from one hold of free_lock. */
void vmap_free_space(struct vmap_state *vs, uint64_t *bytes, uint64_t *largest);

/*
 * pmm_check(): the trees' rules, the free tree's augmented sizes, that
 * free, busy and lazily freed areas tile the window, and each area's pages
 * in use. Each violation goes to @report. Context: the instance quiesced.
 */
void vmap_check(pmm_t *pmm, void (*report)(void *ctx, const char *line), void *ctx);

#endif /* PMM_VMAP_AREA_H */
