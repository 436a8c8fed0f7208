/* SPDX-License-Identifier: MIT */
/*
 * vmap_area.c - the vmalloc window's address-space allocator (vmap_area.h):
 * the kernel's find_vmap_lowest_match(), va_clip() and
 * merge_or_add_vmap_area() over pmm's rbtree, the lazy purge, and the
 * object cache the areas come from (the kernel's vmap_area_cachep).
 */
#include "vmap_area.h"

#include "fmt.h"
#include "internal.h"
#include "memmap.h"
#include "os.h"
#include "page_flags.h"
#include "page_ref.h"

#define VA_CHUNK_SIZE (64u << 10)	/* the object cache grows by this much */

static inline uint64_t va_size(const struct vmap_area *va)
{
	return va->va_end - va->va_start;
}

static inline struct vmap_area *va_of(const struct rb_node *n)
{
	return rb_entry(n, struct vmap_area, rb_node);
}

static inline uint64_t va_subtree_max(const struct rb_node *n)
{
	return n ? va_of(n)->subtree_max_size : 0;
}

/* The free tree's augment: the largest free size at or below @n. */
static void free_vmap_augment(struct rb_node *n)
{
	struct vmap_area *va = va_of(n);
	uint64_t m = va_size(va);

	if (va_subtree_max(n->left) > m)
		m = va_subtree_max(n->left);
	if (va_subtree_max(n->right) > m)
		m = va_subtree_max(n->right);
	va->subtree_max_size = m;
}

static void vmap_tree_init(struct vmap_tree *t)
{
	t->root.node = NULL;
	list_init(&t->head);
	t->nr = t->bytes = 0;
}

/* ------------------------------------------------------------------------
 * The object cache
 * ------------------------------------------------------------------------ */

static struct vmap_area *va_alloc(pmm_t *pmm)
{
	struct vmap_state *vs = pmm->vmap;
	struct vmap_area *va;

	spin_lock(&vs->cache_lock);
	if (list_empty(&vs->cache)) {
		char *chunk;

		spin_unlock(&vs->cache_lock);
		chunk = meta_alloc(pmm, VA_CHUNK_SIZE);
		if (!chunk)
			return NULL;
		spin_lock(&vs->cache_lock);
		*(void **)chunk = vs->chunks;
		vs->chunks = chunk;
		for (size_t off = sizeof(struct vmap_area); off + sizeof(struct vmap_area) <= VA_CHUNK_SIZE;
		     off += sizeof(struct vmap_area))
			list_add_tail(&((struct vmap_area *)(void *)(chunk + off))->list, &vs->cache);
	}
	va = container_of(vs->cache.next, struct vmap_area, list);
	list_del(&va->list);
	spin_unlock(&vs->cache_lock);
	memset(va, 0, sizeof(*va));
	return va;
}

static void va_free(struct vmap_state *vs, struct vmap_area *va)
{
	spin_lock(&vs->cache_lock);
	list_add(&va->list, &vs->cache);
	spin_unlock(&vs->cache_lock);
}

/* ------------------------------------------------------------------------
 * Trees ordered by address, each with its address-ordered list
 * ------------------------------------------------------------------------ */

/* Where @va goes in @t; NULL when it overlaps an area already there. */
static struct rb_node **find_va_links(struct vmap_tree *t, const struct vmap_area *va,
				      struct rb_node **parentp)
{
	struct rb_node **link = &t->root.node, *parent = NULL;

	while (*link) {
		const struct vmap_area *tmp = va_of(*link);

		parent = *link;
		if (va->va_end <= tmp->va_start)
			link = &parent->left;
		else if (va->va_start >= tmp->va_end)
			link = &parent->right;
		else
			return NULL;
	}
	*parentp = parent;
	return link;
}

/* A leaf's list neighbours follow from its parent: the parent is next to it in address order. */
static void link_va(struct vmap_tree *t, struct vmap_area *va, struct rb_node *parent,
		    struct rb_node **link, rb_augment_fn augment)
{
	rb_link_node(&va->rb_node, parent, link);
	if (!parent)
		list_add(&va->list, &t->head);
	else if (link == &parent->left)
		list_add_tail(&va->list, &va_of(parent)->list);	/* just before the parent */
	else
		list_add(&va->list, &va_of(parent)->list);		/* just after it */
	if (augment)
		va->subtree_max_size = va_size(va);
	rb_insert(&t->root, &va->rb_node, augment);
	t->nr++;
	t->bytes += va_size(va);
}

static void unlink_va(struct vmap_tree *t, struct vmap_area *va, rb_augment_fn augment)
{
	rb_erase(&t->root, &va->rb_node, augment);
	list_del(&va->list);
	t->nr--;
	t->bytes -= va_size(va);
}

/*
 * Kernel merge_or_add_vmap_area(): put @va into @t, merged with the
 * neighbour it touches on either side, so that the tree never holds two
 * adjacent areas. @va is freed when a neighbour absorbs it.
 * Return: the area that now covers @va's range, or NULL when @va overlaps
 * one already there (it is left out and not freed).
 */
static struct vmap_area *merge_or_add_va(struct vmap_state *vs, struct vmap_tree *t,
					 struct vmap_area *va, rb_augment_fn augment)
{
	struct rb_node *parent = NULL, **link = find_va_links(t, va, &parent);
	struct pmm_list *next, *prev;
	bool merged = false;

	if (!link)
		return NULL;
	if (!parent) {
		link_va(t, va, NULL, link, augment);
		return va;
	}
	if (link == &parent->left) {
		next = &va_of(parent)->list;
		prev = next->prev;
	} else {
		prev = &va_of(parent)->list;
		next = prev->next;
	}
	if (next != &t->head) {
		struct vmap_area *sib = container_of(next, struct vmap_area, list);

		if (sib->va_start == va->va_end) {
			t->bytes += va_size(va);
			sib->va_start = va->va_start;
			va_free(vs, va);
			va = sib;
			merged = true;
		}
	}
	if (prev != &t->head) {
		struct vmap_area *sib = container_of(prev, struct vmap_area, list);

		if (sib->va_end == va->va_start) {
			if (merged)
				unlink_va(t, va, augment);	/* prev absorbs next as well */
			t->bytes += va_size(va);
			sib->va_end = va->va_end;
			va_free(vs, va);
			va = sib;
			merged = true;
		}
	}
	if (!merged)
		link_va(t, va, parent, link, augment);
	else if (augment)
		rb_propagate(&va->rb_node, augment);
	return va;
}

/* ------------------------------------------------------------------------
 * Finding and clipping free space
 * ------------------------------------------------------------------------ */

static inline uint64_t va_align_up(uint64_t x, uint64_t align)
{
	return (x + align - 1) & ~(align - 1);
}

/* @size at @align fits in @va at or above @vstart. */
static bool is_within_this_va(const struct vmap_area *va, uint64_t size, uint64_t align,
			      uint64_t vstart)
{
	uint64_t nva_start = va_align_up(va->va_start > vstart ? va->va_start : vstart, align);

	if (nva_start < va->va_start || nva_start + size < nva_start)
		return false;
	return nva_start + size <= va->va_end;
}

/*
 * Kernel find_vmap_lowest_match(): the lowest free area where @size fits at
 * @align. Go left while the left subtree has a block of size + align - a
 * page (enough whatever the alignment costs); otherwise try this node, then the
 * right subtree; a subtree that only looked big enough (alignment) sends
 * the search back up to the first right subtree not yet tried.
 */
static struct vmap_area *find_vmap_lowest_match(struct vmap_tree *t, uint64_t size,
						uint64_t align, uint64_t vstart, uint64_t page_size)
{
	struct rb_node *node = t->root.node;
	/*
	 * Every address is page aligned, so aligning costs at most align - one
	 * page (kernel adjust_search_size(): exactly size at page alignment).
	 */
	uint64_t length = size + align - page_size;

	while (node) {
		struct vmap_area *va = va_of(node);

		if (va_subtree_max(node->left) >= length && vstart < va->va_start) {
			node = node->left;
			continue;
		}
		if (is_within_this_va(va, size, align, vstart))
			return va;
		if (va_subtree_max(node->right) >= length) {
			node = node->right;
			continue;
		}
		while ((node = node->parent)) {
			va = va_of(node);
			if (is_within_this_va(va, size, align, vstart))
				return va;
			if (va_subtree_max(node->right) >= length && vstart <= va->va_start) {
				/* Past this node: its left side was searched already. */
				vstart = va->va_start + 1;
				node = node->right;
				break;
			}
		}
	}
	return NULL;
}

/*
 * Kernel va_clip(): carve [@nva_start, +@size) out of free area @va: the
 * whole of it, its left or right end, or its middle, which leaves two
 * areas and consumes *@spare.
 */
static void va_clip(struct vmap_state *vs, struct vmap_area *va, uint64_t nva_start,
		    uint64_t size, struct vmap_area **spare)
{
	struct vmap_tree *t = &vs->free;

	if (va->va_start == nva_start && va->va_end == nva_start + size) {
		unlink_va(t, va, free_vmap_augment);
		va_free(vs, va);
		return;
	}
	t->bytes -= size;
	if (va->va_start == nva_start) {
		va->va_start += size;
	} else if (va->va_end == nva_start + size) {
		va->va_end = nva_start;
	} else {
		struct vmap_area *lva = *spare;
		struct rb_node *parent = NULL, **link;

		*spare = NULL;
		lva->va_start = va->va_start;
		lva->va_end = nva_start;
		va->va_start = nva_start + size;
		rb_propagate(&va->rb_node, free_vmap_augment);
		t->bytes -= va_size(lva);
		link = find_va_links(t, lva, &parent);
		link_va(t, lva, parent, link, free_vmap_augment);
		return;
	}
	rb_propagate(&va->rb_node, free_vmap_augment);
}

/* ------------------------------------------------------------------------
 * Areas
 * ------------------------------------------------------------------------ */

struct vmap_area *alloc_vmap_area(pmm_t *pmm, uint64_t size, uint64_t align, bool warn)
{
	struct vmap_state *vs = pmm->vmap;
	struct vmap_area *va, *spare, *fit;
	struct rb_node *parent = NULL, **link;
	uint64_t addr = 0;
	bool purged = false;

	/* Both objects up front: no allocation under free_lock (kernel ne_fit_preload()). */
	va = va_alloc(pmm);
	spare = va ? va_alloc(pmm) : NULL;
	if (!spare)
		goto nomem;
retry:
	spin_lock(&vs->free_lock);
	fit = find_vmap_lowest_match(&vs->free, size, align, vs->start, pmm_page_size(pmm));
	if (fit) {
		addr = va_align_up(fit->va_start, align);
		va_clip(vs, fit, addr, size, &spare);
	}
	spin_unlock(&vs->free_lock);
	if (!fit) {
		/*
		 * Purge even when nothing looks lazy: a purge running on another
		 * thread has taken its ranges but not yet freed them, and
		 * purge_serial makes this one wait for it (kernel: purge on overflow).
		 */
		if (!purged) {
			purge_vmap_area_lazy(pmm, true);
			purged = true;
			goto retry;
		}
		if (warn)
			pmm_log(pmm, true, "vmalloc: no room for %llu bytes at alignment %llu in the %llu-byte "
			"window (vmalloc_size)", (unsigned long long)size, (unsigned long long)align,
			(unsigned long long)(vs->end - vs->start));
		va_free(vs, va);
		if (spare)
			va_free(vs, spare);
		return NULL;
	}
	if (spare)
		va_free(vs, spare);
	va->va_start = addr;
	va->va_end = addr + size;
	spin_lock(&vs->busy_lock);
	link = find_va_links(&vs->busy, va, &parent);
	PMM_BUG_ON(!link);	/* the free tree just gave this range out */
	link_va(&vs->busy, va, parent, link, NULL);
	spin_unlock(&vs->busy_lock);
	return va;
nomem:
	if (va)
		va_free(vs, va);
	if (warn)
		pmm_log(pmm, true, "vmalloc: no memory for the area's bookkeeping");
	return NULL;
}

struct vmap_area *find_vmap_area_locked(struct vmap_state *vs, uint64_t addr)
{
	struct rb_node *n = vs->busy.root.node;

	lockdep_assert_held(&vs->busy_lock);
	while (n) {
		struct vmap_area *va = va_of(n);

		if (addr < va->va_start)
			n = n->left;
		else if (addr >= va->va_end)
			n = n->right;
		else
			return va;
	}
	return NULL;
}

int unlink_busy_vmap_area(pmm_t *pmm, uint64_t addr, unsigned int flags, struct vmap_area **out)
{
	struct vmap_state *vs = pmm->vmap;
	struct vmap_area *va;
	int err = 0;

	spin_lock(&vs->busy_lock);
	va = find_vmap_area_locked(vs, addr);
	if (!va || va->va_start != addr || !va->vm.flags)	/* 0: still being set up */
		err = -PMM_EINVAL;
	else if (!(va->vm.flags & flags))
		err = -PMM_EBUSY;
	else
		unlink_va(&vs->busy, va, NULL);
	spin_unlock(&vs->busy_lock);
	*out = err ? NULL : va;
	return err;
}

/* Take @va, whatever its state, out of the busy tree (a failed setup). */
void unlink_busy_vmap_area_any(pmm_t *pmm, struct vmap_area *va)
{
	struct vmap_state *vs = pmm->vmap;

	spin_lock(&vs->busy_lock);
	unlink_va(&vs->busy, va, NULL);
	spin_unlock(&vs->busy_lock);
}

/* To the free tree at once: the area was never mapped (a failed vmalloc). */
void free_vmap_area(pmm_t *pmm, struct vmap_area *va)
{
	struct vmap_state *vs = pmm->vmap;

	spin_lock(&vs->busy_lock);
	unlink_va(&vs->busy, va, NULL);
	spin_unlock(&vs->busy_lock);
	spin_lock(&vs->free_lock);
	if (!merge_or_add_va(vs, &vs->free, va, free_vmap_augment))
		PMM_BUG_ON(1);	/* a busy range cannot overlap free space */
	spin_unlock(&vs->free_lock);
}

void free_vmap_area_lazy(pmm_t *pmm, struct vmap_area *va)
{
	struct vmap_state *vs = pmm->vmap;
	uint64_t nr = va_size(va) >> pmm->page_shift, lazy, runs = va->vm.nr_runs;

	/*
	 * vmap_lazy_nr changes with the purge tree, under its lock: it is that
	 * tree's pages. @va is not read after the merge, which may free it.
	 */
	spin_lock(&vs->purge_lock);
	if (!merge_or_add_va(vs, &vs->purge, va, NULL))
		PMM_BUG_ON(1);	/* each range is freed once: the busy tree had it */
	lazy = atomic_fetch_add_explicit(&vs->lazy_nr, nr, memory_order_relaxed) + nr;
	vs->lazy_runs += runs;
	runs = vs->lazy_runs;
	spin_unlock(&vs->purge_lock);
	if (lazy >= vs->lazy_max || runs >= VMAP_LAZY_MAX_RUNS)
		purge_vmap_area_lazy(pmm, false);
}

/*
 * Kernel __purge_vmap_area_lazy(): take every lazily freed area, unmap each
 * merged run with one call (the TLB flush the kernel batches), then give
 * them all to the free tree under one hold of its lock. Without @wait a
 * purge already running is enough (the trigger from a free).
 */
void purge_vmap_area_lazy(pmm_t *pmm, bool wait)
{
	struct vmap_state *vs = pmm->vmap;
	struct pmm_list taken, still_mapped;
	uint64_t pages = 0;
	unsigned int failed = 0;

	if (wait)
		spin_lock(&vs->purge_serial);
	else if (!spin_trylock(&vs->purge_serial))
		return;
	list_init(&taken);
	spin_lock(&vs->purge_lock);
	while (!list_empty(&vs->purge.head)) {
		struct pmm_list *l = vs->purge.head.next;

		list_del(l);
		list_add_tail(l, &taken);
	}
	pages = vs->purge.bytes >> pmm->page_shift;
	atomic_fetch_sub_explicit(&vs->lazy_nr, pages, memory_order_relaxed);
	vs->lazy_runs = 0;
	vmap_tree_init(&vs->purge);
	spin_unlock(&vs->purge_lock);
	if (list_empty(&taken)) {
		spin_unlock(&vs->purge_serial);
		return;
	}
	list_init(&still_mapped);
	for (struct pmm_list *l = taken.next, *next; l != &taken; l = next) {
		struct vmap_area *va = container_of(l, struct vmap_area, list);

		next = l->next;
		if (!vs->mapped)
			continue;
		atomic_fetch_add_explicit(&vs->unmap_calls, 1, memory_order_relaxed);
		if (pmm_os_reserve_fixed((void *)(uintptr_t)va->va_start, va_size(va))) {
			/* Still mapping freed frames: not free space until an unmap succeeds. */
			list_del(l);
			list_add_tail(l, &still_mapped);
			failed++;
		}
	}
	spin_lock(&vs->free_lock);
	while (!list_empty(&taken)) {
		struct vmap_area *va = container_of(taken.next, struct vmap_area, list);

		list_del(&va->list);
		if (!merge_or_add_va(vs, &vs->free, va, free_vmap_augment))
			PMM_BUG_ON(1);
	}
	spin_unlock(&vs->free_lock);
	if (failed) {
		spin_lock(&vs->purge_lock);
		while (!list_empty(&still_mapped)) {
			struct vmap_area *va = container_of(still_mapped.next, struct vmap_area, list);
			uint64_t nr = va_size(va) >> pmm->page_shift;

			list_del(&va->list);
			if (!merge_or_add_va(vs, &vs->purge, va, NULL))
				PMM_BUG_ON(1);
			atomic_fetch_add_explicit(&vs->lazy_nr, nr, memory_order_relaxed);
		}
		spin_unlock(&vs->purge_lock);
	}
	atomic_fetch_add_explicit(&vs->purges, 1, memory_order_relaxed);
	spin_unlock(&vs->purge_serial);
	/* After the unlock: a log_fn may call back into the instance. */
	if (failed)
		pmm_log(pmm, true, "vmalloc: unmapping %u purged ranges failed; they wait for the "
			"next purge", failed);
}

void vmap_free_space(struct vmap_state *vs, uint64_t *bytes, uint64_t *largest)
{
	spin_lock(&vs->free_lock);
	*bytes = vs->free.bytes;
	*largest = va_subtree_max(vs->free.root.node);	/* the root's: the whole tree's */
	spin_unlock(&vs->free_lock);
}

/* ------------------------------------------------------------------------
 * The window
 * ------------------------------------------------------------------------ */

/*
 * Reserve the window, aligned to its size's largest power of two (at most
 * 64 GiB) when the address space allows, so that which alignments fit does
 * not depend on where mmap put it: first as it comes, and only if that is
 * misaligned again with room to trim. A default-sized window (PMM_AUTO)
 * that the address space (RLIMIT_AS) cannot hold is halved until it fits,
 * down to 16 MiB; a size the caller chose is all or nothing.
 * Return: the window, with *@size its bytes; NULL when none could be had.
 */
static void *vmap_reserve_window(pmm_t *pmm, uint64_t *size)
{
	bool auto_size = pmm->vmalloc_auto;

	for (;;) {
		uint64_t align = 1ull << ilog2_ul(*size);
		uintptr_t start;
		void *p;

		if (align > (1ull << 36))
			align = 1ull << 36;
		p = pmm_os_reserve(*size);
		if (p && !((uintptr_t)p & (align - 1)))
			return p;
		if (p) {
			void *wide;

			pmm_os_unmap(p, *size);
			wide = pmm_os_reserve(*size + align);
			if (!wide)
				return pmm_os_reserve(*size);	/* unaligned, then */
			start = ((uintptr_t)wide + align - 1) & ~(uintptr_t)(align - 1);
			if (start > (uintptr_t)wide)
				pmm_os_unmap(wide, start - (uintptr_t)wide);
			if ((uintptr_t)wide + align > start)
				pmm_os_unmap((void *)(start + *size), (uintptr_t)wide + align - start);
			return (void *)start;
		}
		if (!auto_size || *size / 2 < (16ull << 20))
			return NULL;
		*size = (*size / 2) & ~(((uint64_t)1 << pmm->page_shift) - 1);
	}
}

int vmap_init(pmm_t *pmm)
{
	const struct pmm_config *cfg = &pmm->cfg;
	struct vmap_state *vs;
	struct vmap_area *va;
	uint64_t size = cfg->vmalloc_size;
	void *window;

	/* ANON and USER backings have no file to map frames from: no window (pmm_vmalloc says so). */
	if (!cfg->vmalloc_size ||
	    (cfg->backing != PMM_BACKING_MEMFD && cfg->backing != PMM_BACKING_NONE)) {
		pmm->cfg.vmalloc_size = 0;	/* pmm_get_config() tells what was reserved */
		return 0;
	}
	vs = meta_alloc(pmm, sizeof(*vs));
	if (!vs)
		return -PMM_ENOMEM;
	window = vmap_reserve_window(pmm, &size);
	if (!window) {
		meta_free(pmm, vs, sizeof(*vs));
		if (!pmm->vmalloc_auto)
			return -PMM_EBACKING;
		/* A default the address space cannot hold at all: the instance goes on without. */
		pmm_log(pmm, false, "vmalloc: no address space for a window of even 16 MiB "
			"(RLIMIT_AS?): the instance has none");
		pmm->cfg.vmalloc_size = 0;
		return 0;
	}
	vs->start = (uintptr_t)window;
	vs->end = vs->start + size;
	pmm->cfg.vmalloc_size = size;	/* pmm_get_config() tells what was reserved */
	vs->mapped = cfg->backing == PMM_BACKING_MEMFD;
	vs->lazy_max = cfg->vmap_lazy_max;
	spin_lock_init(&vs->free_lock);
	spin_lock_init(&vs->busy_lock);
	spin_lock_init(&vs->purge_serial);
	spin_lock_init(&vs->purge_lock);
	spin_lock_init(&vs->cache_lock);
	vmap_tree_init(&vs->free);
	vmap_tree_init(&vs->busy);
	vmap_tree_init(&vs->purge);
	list_init(&vs->cache);
	pmm->vmap = vs;
	va = va_alloc(pmm);
	if (!va) {
		vmap_exit(pmm);
		return -PMM_ENOMEM;
	}
	va->va_start = vs->start;
	va->va_end = vs->end;
	merge_or_add_va(vs, &vs->free, va, free_vmap_augment);
	return 0;
}

/* The window and the bookkeeping go; areas still live are the caller's leak, as their frames. */
void vmap_exit(pmm_t *pmm)
{
	struct vmap_state *vs = pmm->vmap;

	if (!vs)
		return;
	pmm_os_unmap((void *)(uintptr_t)vs->start, vs->end - vs->start);
	/* Arrays in frames go with the instance; meta_alloc()ed ones are freed here. */
	for (struct pmm_list *l = vs->busy.head.next; l != &vs->busy.head; l = l->next) {
		struct vm_struct *vm = &container_of(l, struct vmap_area, list)->vm;

		if (vm->pages && !vm->pages_frame && vm->pages != vm->inline_pages)
			meta_free(pmm, vm->pages, vm->nr_pages * sizeof(vm->pages[0]));
	}
	while (vs->chunks) {
		void *next = *(void **)vs->chunks;

		meta_free(pmm, vs->chunks, VA_CHUNK_SIZE);
		vs->chunks = next;
	}
	meta_free(pmm, vs, sizeof(*vs));
	pmm->vmap = NULL;
}

/* ------------------------------------------------------------------------
 * Checks
 * ------------------------------------------------------------------------ */

struct vmap_checker {
	void (*report)(void *ctx, const char *line);
	void *ctx;
	char line[200];
};

#define vcheck_fail(vc, ...)                                                   \
	do {                                                                   \
		fmt_snprintf((vc)->line, sizeof((vc)->line), "vmalloc: " __VA_ARGS__); \
		(vc)->report((vc)->ctx, (vc)->line);                           \
	} while (0)

/* A tree's order, list, counters and (@augmented) sizes; @merged: no two areas touch. */
static void vmap_check_tree(struct vmap_checker *vc, const struct vmap_tree *t, const char *name,
		       bool augmented, bool merged)
{
	const struct pmm_list *l = t->head.next;
	uint64_t nr = 0, bytes = 0, prev_end = 0;

	if (rb_validate(&t->root) < 0)
		vcheck_fail(vc, "%s tree breaks a red-black rule", name);
	for (struct rb_node *n = rb_first(&t->root); n; n = rb_next(n)) {
		const struct vmap_area *va = va_of(n);

		if (l != &va->list) {
			vcheck_fail(vc, "%s tree and list disagree at %#llx", name,
				    (unsigned long long)va->va_start);
			return;
		}
		l = l->next;
		if (va->va_start >= va->va_end || va->va_start < prev_end ||
		    (merged && nr && va->va_start == prev_end))
			vcheck_fail(vc, "%s area %#llx-%#llx: empty, out of order or unmerged", name,
				    (unsigned long long)va->va_start, (unsigned long long)va->va_end);
		if (augmented) {
			uint64_t m = va_size(va);

			if (va_subtree_max(n->left) > m)
				m = va_subtree_max(n->left);
			if (va_subtree_max(n->right) > m)
				m = va_subtree_max(n->right);
			if (va->subtree_max_size != m)
				vcheck_fail(vc, "free area %#llx: subtree_max_size %llu, subtree has %llu",
					    (unsigned long long)va->va_start,
					    (unsigned long long)va->subtree_max_size,
					    (unsigned long long)m);
		}
		prev_end = va->va_end;
		nr++;
		bytes += va_size(va);
	}
	if (l != &t->head)
		vcheck_fail(vc, "%s list holds areas the tree does not", name);
	if (nr != t->nr || bytes != t->bytes)
		vcheck_fail(vc, "%s: %llu areas of %llu bytes, counters say %llu and %llu", name,
			    (unsigned long long)nr, (unsigned long long)bytes,
			    (unsigned long long)t->nr, (unsigned long long)t->bytes);
}

void vmap_check(pmm_t *pmm, void (*report)(void *ctx, const char *line), void *ctx)
{
	struct vmap_state *vs = pmm->vmap;
	struct vmap_checker vc = { .report = report, .ctx = ctx };
	int64_t vmalloc_pages = 0, counted = 0;

	if (!vs)
		return;
	spin_lock(&vs->busy_lock);
	spin_lock(&vs->free_lock);
	spin_lock(&vs->purge_lock);
	vmap_check_tree(&vc, &vs->free, "free", true, true);
	vmap_check_tree(&vc, &vs->busy, "busy", false, false);
	vmap_check_tree(&vc, &vs->purge, "purge", false, true);
	if (vs->free.bytes + vs->busy.bytes + vs->purge.bytes != vs->end - vs->start)
		vcheck_fail(&vc, "free %llu + busy %llu + lazy %llu bytes != the %llu-byte window",
			    (unsigned long long)vs->free.bytes, (unsigned long long)vs->busy.bytes,
			    (unsigned long long)vs->purge.bytes,
			    (unsigned long long)(vs->end - vs->start));
	if (atomic_load(&vs->lazy_nr) != vs->purge.bytes >> pmm->page_shift)
		vcheck_fail(&vc, "vmap_lazy_nr %llu, the purge tree holds %llu pages",
			    (unsigned long long)atomic_load(&vs->lazy_nr),
			    (unsigned long long)(vs->purge.bytes >> pmm->page_shift));
	for (const struct pmm_list *l = vs->busy.head.next; l != &vs->busy.head; l = l->next) {
		const struct vmap_area *va = container_of(l, struct vmap_area, list);
		const struct vm_struct *vm = &va->vm;

		if (((uint64_t)vm->nr_pages << pmm->page_shift) >= va_size(va))
			vcheck_fail(&vc, "area %#llx: %u pages leave no guard page in %llu bytes",
				    (unsigned long long)va->va_start, vm->nr_pages,
				    (unsigned long long)va_size(va));
		if (vm->flags & VM_ALLOC)
			vmalloc_pages += vm->nr_pages;
		for (unsigned int i = 0; i < vm->nr_pages; i++) {
			const struct pmm_page *page = vm->pages[i];

			if (!page_belongs(pmm, page) || page_ref_count(&page_folio(page)->page) < 1 ||
			    PageBuddy(page) || PagePcp(page)) {
				vcheck_fail(&vc, "area %#llx page %u: not an allocated page",
					    (unsigned long long)va->va_start, i);
				break;
			}
		}
	}
	spin_unlock(&vs->purge_lock);
	spin_unlock(&vs->free_lock);
	spin_unlock(&vs->busy_lock);
	for (int nid = 0; nid < PMM_MAX_NODES; nid++)
		counted += atomic_load(&vs->nr_vmalloc_pages[nid]);
	if (counted != vmalloc_pages)
		vcheck_fail(&vc, "nr_vmalloc_pages %lld, vmalloc areas hold %lld",
			    (long long)counted, (long long)vmalloc_pages);
}
