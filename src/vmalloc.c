/* SPDX-License-Identifier: MIT */
/*
 * vmalloc.c - virtually contiguous memory over frames that need not be
 * (docs/design.md section 13), the caller the 2026 contig series was
 * written for: pages as high-order non-compound blocks split to order 0
 * (the kernel's policy since 6.19), mapped from the memfd one run of
 * consecutive frames per mmap, and freed by pmm_vfree() through
 * pmm_free_pages_bulk(), so the runs go through the batched contig path.
 * The window's address space is vmap_area.c's.
 */
#include "vmap_area.h"

#include "fmt.h"
#include "internal.h"
#include "kpage.h"
#include "memmap.h"
#include "os.h"
#include "page_alloc.h"
#include "page_ref.h"

static const char *vm_no_window_reason(const pmm_t *pmm)
{
	if (!pmm->cfg.vmalloc_size)
		return "the instance has no vmalloc window (vmalloc_size 0)";
	return "PMM_BACKING_ANON and PMM_BACKING_USER have no file to map frames from: "
	       "vmalloc needs PMM_BACKING_MEMFD (or PMM_BACKING_NONE, bookkeeping only)";
}

/* The instance's window, or NULL after a log line saying why there is none. */
static struct vmap_state *vm_window(pmm_t *pmm, const char *what)
{
	if (unlikely(!pmm->vmap))
		pmm_log(pmm, true, "%s: %s", what, vm_no_window_reason(pmm));
	return pmm->vmap;
}

/*
 * An area is in the busy tree from alloc_vmap_area() on, while its pages
 * are still coming; its flags stay 0 until it is complete (the kernel's
 * VM_UNINITIALIZED), and readers under busy_lock skip it until then.
 * Setting them under the lock publishes everything written before.
 */
static void vm_publish(pmm_t *pmm, struct vmap_area *va, unsigned int flags)
{
	struct vmap_state *vs = pmm->vmap;

	spin_lock(&vs->busy_lock);
	va->vm.flags = flags;
	spin_unlock(&vs->busy_lock);
}

/* What of the caller's gfp the page array's frame keeps: how hard to try, not what to be. */
#define VM_ARRAY_GFP (PMM_GFP_NOWAIT | PMM_GFP_HIGH | PMM_GFP_ATOMIC_RES | PMM_GFP_NOWARN)

/* ------------------------------------------------------------------------
 * The pages array: inside the area for a few pages, else a frame of the
 * instance when it fits (the kernel's kmalloc() of it), else metadata
 * (kvmalloc()'s fallback)
 * ------------------------------------------------------------------------ */

static bool vm_pages_alloc(pmm_t *pmm, struct vm_struct *vm, unsigned int nr, pmm_gfp_t gfp)
{
	size_t bytes = (size_t)nr * sizeof(vm->pages[0]);

	vm->pages_frame = NULL;
	if (nr <= VM_INLINE_PAGES) {
		vm->pages = vm->inline_pages;
		memset(vm->pages, 0, sizeof(vm->inline_pages));
	} else if (bytes <= pmm_page_size(pmm)) {
		/* With the caller's reclaim rules: a NOWAIT vmalloc must not reclaim for its array. */
		vm->pages = kpage_alloc(pmm, gfp & VM_ARRAY_GFP, &vm->pages_frame);
		if (vm->pages)
			memset(vm->pages, 0, bytes);	/* pmm_alloc_pages_bulk() fills NULL slots */
	} else {
		vm->pages = meta_alloc(pmm, bytes);
		vm->pages_frame = NULL;
	}
	vm->nr_pages = nr;
	return vm->pages != NULL;
}

static void vm_pages_free(pmm_t *pmm, struct vm_struct *vm)
{
	if (vm->pages_frame)
		kpage_free(pmm, vm->pages_frame);
	else if (vm->pages != vm->inline_pages)
		meta_free(pmm, vm->pages, (size_t)vm->nr_pages * sizeof(vm->pages[0]));
	vm->pages = NULL;
	vm->pages_frame = NULL;
}

/* ------------------------------------------------------------------------
 * Pages
 * ------------------------------------------------------------------------ */

/*
 * Kernel vm_area_alloc_pages(): the largest order that the remaining size
 * still fills (never above it, nor max_order), as non-compound blocks
 * split to order 0; a failed order is not tried again, the next lower one
 * is. High orders do not reclaim (the kernel's __GFP_NORETRY): the order-0
 * tail, from pmm_alloc_pages_bulk() and then page by page, may.
 * Return: true with every slot filled; false with the slots filled so far
 * for the caller to free.
 */
static bool vm_area_alloc_pages(pmm_t *pmm, struct vm_struct *vm, pmm_gfp_t gfp, int nid)
{
	struct pmm_page **pages = vm->pages;
	unsigned long nr_pages = vm->nr_pages, nr = 0;
	unsigned int order = ilog2_ul(nr_pages);
	pmm_gfp_t high_gfp = (gfp & ~PMM_GFP_COMP) | PMM_GFP_NOWARN | PMM_GFP_NOWAIT;

	gfp &= ~PMM_GFP_COMP;
	if (order > pmm->max_order)
		order = pmm->max_order;
	while (order && nr < nr_pages) {
		struct pmm_page *page;

		while ((1ul << order) > nr_pages - nr)
			order--;
		if (!order)
			break;
		page = pmm_alloc_pages_node(pmm, nid, high_gfp, order);
		if (!page) {
			order--;
			continue;
		}
		pmm_split_page(pmm, page, order);
		/* A block never crosses a section, so its pages are consecutive in the memmap. */
		for (unsigned long i = 0; i < (1ul << order); i++)
			pages[nr++] = page + i;
	}
	if (nr < nr_pages && nid == PMM_NUMA_NO_NODE)
		pmm_alloc_pages_bulk(pmm, gfp, nr_pages - nr, pages + nr);
	for (; nr < nr_pages; nr++) {
		if (pages[nr])
			continue;
		pages[nr] = pmm_alloc_pages_node(pmm, nid, gfp, 0);
		if (!pages[nr])
			return false;
	}
	return true;
}

/* Frame counts of the vmalloc statistic: each page's node, page by page (kernel NR_VMALLOC). */
static void vm_account_pages(pmm_t *pmm, const struct vm_struct *vm, int sign)
{
	int64_t per_node[PMM_MAX_NODES] = { 0 };
	struct vmap_state *vs = pmm->vmap;

	for (unsigned int i = 0; i < vm->nr_pages; i++)
		per_node[page_zone(pmm, vm->pages[i])->nid]++;
	for (int nid = 0; nid < PMM_MAX_NODES; nid++)
		if (per_node[nid])
			atomic_fetch_add_explicit(&vs->nr_vmalloc_pages[nid], sign * per_node[nid],
						  memory_order_relaxed);
}

/* ------------------------------------------------------------------------
 * Mapping
 * ------------------------------------------------------------------------ */

/* @next is frame @pfn + @n, @pfn being @page's: the same section's memmap needs no lookup. */
static inline bool vm_next_pfn(pmm_t *pmm, const struct pmm_page *page, pmm_pfn_t pfn,
			       const struct pmm_page *next, unsigned int n)
{
	if (next == page + n && same_section(pmm, pfn, pfn + n))
		return true;
	return page_to_pfn(pmm, next) == pfn + n;
}

/*
 * Map the area's frames from the memfd at their offsets: one mmap per run
 * of consecutive pfns, so a block split to order 0 is still one call.
 * Return: 0, or -1 with part of the area maybe mapped: the caller hands the
 * range to the purge (vm_discard_area()), which unmaps all of it.
 */
static int vm_map_runs(pmm_t *pmm, struct vmap_area *va)
{
	struct vmap_state *vs = pmm->vmap;
	struct vm_struct *vm = &va->vm;
	unsigned int shift = pmm->page_shift;

	vm->nr_runs = 0;
	for (unsigned int i = 0; i < vm->nr_pages;) {
		pmm_pfn_t pfn = page_to_pfn(pmm, vm->pages[i]);
		unsigned int n = 1;

		while (i + n < vm->nr_pages && vm_next_pfn(pmm, vm->pages[i], pfn, vm->pages[i + n], n))
			n++;
		if (pmm_os_map_memfd_fixed((void *)(uintptr_t)(va->va_start + ((uint64_t)i << shift)),
				       (size_t)n << shift, pmm->memfd,
				       (pfn - pmm->min_pfn) << shift)) {
			vm->nr_runs++;	/* the failed call may have split a mapping too */
			return -1;
		}
		atomic_fetch_add_explicit(&vs->map_calls, 1, memory_order_relaxed);
		vm->nr_runs++;
		i += n;
	}
	return 0;
}

/*
 * Without backing there is nothing to map. A failed mmap is most likely
 * the process's mapping limit (vm.max_map_count), which lazily freed areas
 * count against until their purge: purge (waiting for one that runs) and
 * try again; MAP_FIXED maps over what the first attempt left.
 */
static int vm_map_pages(pmm_t *pmm, struct vmap_area *va)
{
	struct vmap_state *vs = pmm->vmap;

	if (!vs->mapped)
		return 0;
	if (!vm_map_runs(pmm, va))
		return 0;
	purge_vmap_area_lazy(pmm, true);
	if (!vm_map_runs(pmm, va))
		return 0;
	pmm_log(pmm, true, "vmalloc: mmap of an area's %u pages at %#llx failed (the process's "
		"mapping limit, vm.max_map_count?)", va->vm.nr_pages,
		(unsigned long long)va->va_start);
	return -1;
}

/*
 * An area whose setup failed leaves the busy tree; if its mapping was
 * attempted, the range goes to the purge, which unmaps it before anyone
 * can reuse it (and keeps it until an unmap succeeds).
 */
static void vm_discard_area(pmm_t *pmm, struct vmap_area *va, bool map_tried)
{
	if (map_tried && pmm->vmap->mapped) {
		unlink_busy_vmap_area_any(pmm, va);
		free_vmap_area_lazy(pmm, va);
	} else {
		free_vmap_area(pmm, va);
	}
}

/* ------------------------------------------------------------------------
 * vmalloc / vfree
 * ------------------------------------------------------------------------ */

static void *vm_alloc_node(pmm_t *pmm, size_t size, size_t align, pmm_gfp_t gfp, int nid,
			   const char *caller, const void *caller_ip, bool huge)
{
	struct vmap_state *vs = vm_window(pmm, "pmm_vmalloc");
	size_t page_size = pmm_page_size(pmm), pmd_size = page_size << 9;
	struct vmap_area *va;
	struct vm_struct *vm;
	uint64_t nr_pages;
	bool map_tried = false;

	if (!vs)
		return NULL;
	/* Sizes within a page of SIZE_MAX would wrap when rounded up. */
	nr_pages = size > SIZE_MAX - page_size + 1 ? UINT64_MAX :
		   ((uint64_t)size + page_size - 1) >> pmm->page_shift;
	if (!size || nr_pages > pmm->managed_pages || nr_pages >= UINT32_MAX) {
		pmm_log(pmm, true, "pmm_vmalloc: size %zu: must be 1..%llu bytes (managed memory)",
			size, (unsigned long long)pmm->managed_pages << pmm->page_shift);
		return NULL;
	}
	if (!align)
		align = page_size;
	if ((align & (align - 1)) || align < page_size) {
		pmm_log(pmm, true, "pmm_vmalloc: align %zu: must be a power of two >= the page size",
			align);
		return NULL;
	}
	if (nid != PMM_NUMA_NO_NODE && (nid < 0 || nid >= PMM_MAX_NODES)) {
		pmm_log(pmm, true, "pmm_vmalloc: node %d: no such node", nid);
		return NULL;
	}
	/* One guard page after the area (the kernel's, unless VM_NO_GUARD). */
	va = NULL;
	if (huge && size >= pmd_size && align < pmd_size)	/* else no fallback needed */
		va = alloc_vmap_area(pmm, (nr_pages + 1) << pmm->page_shift, pmd_size, false);
	/* No 2 MiB-aligned room: the kernel's __vmalloc_node_range() retries at page size too. */
	if (!va)
		va = alloc_vmap_area(pmm, (nr_pages + 1) << pmm->page_shift, align,
				     !(gfp & PMM_GFP_NOWARN));
	if (!va)
		return NULL;
	vm = &va->vm;
	vm->caller = caller;
	vm->caller_ip = caller_ip;
	vm->nid = nid;
	if (!vm_pages_alloc(pmm, vm, (unsigned int)nr_pages, gfp))
		goto fail_area;
	if (!vm_area_alloc_pages(pmm, vm, gfp, nid))
		goto fail_pages;
	if (vm_map_pages(pmm, va)) {
		map_tried = true;
		goto fail_pages;
	}
	vm_account_pages(pmm, vm, 1);
	vm_publish(pmm, va, VM_ALLOC);
	return (void *)(uintptr_t)va->va_start;

fail_pages:
	pmm_free_pages_bulk(pmm, vm->pages, vm->nr_pages);	/* skips the empty slots */
	vm_pages_free(pmm, vm);
fail_area:
	if (!(gfp & PMM_GFP_NOWARN) && !map_tried)
		pmm_log(pmm, true, "pmm_vmalloc: out of memory for %llu pages",
			(unsigned long long)nr_pages);
	vm_discard_area(pmm, va, map_tried);
	return NULL;
}

void *pmm_vmalloc_node_range(pmm_t *pmm, size_t size, size_t align, pmm_gfp_t gfp, int nid,
			     const char *caller)
{
	return vm_alloc_node(pmm, size, align, gfp, nid, caller, __builtin_return_address(0), false);
}

void *pmm_vmalloc(pmm_t *pmm, size_t size, pmm_gfp_t gfp)
{
	return vm_alloc_node(pmm, size, 0, gfp, PMM_NUMA_NO_NODE, NULL,
			     __builtin_return_address(0), false);
}

void *pmm_vzalloc(pmm_t *pmm, size_t size, pmm_gfp_t gfp)
{
	return vm_alloc_node(pmm, size, 0, gfp | PMM_GFP_ZERO, PMM_NUMA_NO_NODE, NULL,
			     __builtin_return_address(0), false);
}

void *pmm_vmalloc_node(pmm_t *pmm, size_t size, pmm_gfp_t gfp, int nid)
{
	return vm_alloc_node(pmm, size, 0, gfp, nid, NULL, __builtin_return_address(0), false);
}

void *pmm_vmalloc_huge(pmm_t *pmm, size_t size, pmm_gfp_t gfp)
{
	return vm_alloc_node(pmm, size, 0, gfp, PMM_NUMA_NO_NODE, NULL,
			     __builtin_return_address(0), true);
}

/*
 * Kernel vfree(): the statistic page by page, then the pages freed in
 * runs (pmm_free_pages_bulk(): a run of consecutive frames is one batched
 * contig range, or page by page with contig_per_page); the address range
 * goes to the lazy purge.
 */
static void vm_free_area(pmm_t *pmm, struct vmap_area *va)
{
	struct vmap_state *vs = pmm->vmap;
	struct vm_struct *vm = &va->vm;

	if (vm->flags & VM_ALLOC) {
		uint64_t t0 = 0;

		vm_account_pages(pmm, vm, -1);
		if (pmm->cfg.vmalloc_times)
			t0 = pmm_os_now_ns();
		pmm_free_pages_bulk(pmm, vm->pages, vm->nr_pages);
		if (pmm->cfg.vmalloc_times)
			atomic_fetch_add_explicit(&vs->free_step_ns, pmm_os_now_ns() - t0,
						  memory_order_relaxed);
	} else if (vm->flags & VM_MAP_PUT_PAGES) {
		for (unsigned int i = 0; i < vm->nr_pages; i++)
			pmm_put_page(pmm, vm->pages[i]);
	}
	vm_pages_free(pmm, vm);
	free_vmap_area_lazy(pmm, va);
}

/* The live area starting at @addr, of a kind in @flags, out of the busy tree; else a report. */
static struct vmap_area *vm_take_area(pmm_t *pmm, const void *addr, unsigned int flags,
				      const char *what)
{
	struct vmap_state *vs = pmm->vmap;
	struct vmap_area *va;
	char why[160];
	int err;

	if (!vs || !pmm_is_vmalloc_addr(pmm, addr)) {
		fmt_snprintf(why, sizeof(why), "%s(%p): not an address of this instance's vmalloc window",
			 what, addr);
		report_foreign_page(pmm, why);
		return NULL;
	}
	err = unlink_busy_vmap_area(pmm, (uintptr_t)addr, flags, &va);
	if (!err)
		return va;
	if (err == -PMM_EBUSY)
		fmt_snprintf(why, sizeof(why), "%s(%p): a pmm_vmalloc() area: free it with pmm_vfree()",
			 what, addr);
	else
		fmt_snprintf(why, sizeof(why), "%s(%p): not the start of a live area (an inner address, "
			 "or freed already)", what, addr);
	report_foreign_page(pmm, why);
	return NULL;
}

void pmm_vfree(pmm_t *pmm, const void *addr)
{
	struct vmap_area *va;

	if (!addr)
		return;
	va = vm_take_area(pmm, addr, VM_ALLOC | VM_MAP, "pmm_vfree");
	if (va)
		vm_free_area(pmm, va);
}

/* ------------------------------------------------------------------------
 * vmap / vunmap
 * ------------------------------------------------------------------------ */

void *pmm_vmap(pmm_t *pmm, struct pmm_page **pages, unsigned int count, unsigned int flags)
{
	struct vmap_state *vs = vm_window(pmm, "pmm_vmap");
	struct vmap_area *va;
	struct vm_struct *vm;

	if (!vs)
		return NULL;
	if (!pages || !count || count >= UINT32_MAX - 1 || (flags & ~PMM_VMAP_PUT_PAGES)) {
		pmm_log(pmm, true, "pmm_vmap: pages %p, count %u, flags %#x: need pages, 1..2^32-2 of "
			"them, and no flag but PMM_VMAP_PUT_PAGES", (void *)pages, count, flags);
		return NULL;
	}
	/* Bounds first, then flags: a foreign pointer is never read (page_belongs()). */
	for (unsigned int i = 0; i < count; i++) {
		struct pmm_page *page = pages[i];

		if (!page || !page_belongs(pmm, page)) {
			report_foreign_page(pmm, "pmm_vmap: a page not managed by this instance");
			return NULL;
		}
		/* A folio's page is held by the folio's count (pmm_page_count()). */
		if (page_ref_count(&page_folio(page)->page) < 1 || PageBuddy(page) ||
		    PagePcp(page)) {
			bad_page_report(pmm, page, "pmm_vmap of a page that is not allocated");
			return NULL;
		}
		/* Kernel VM_MAP_PUT_PAGES: each page an order-0 page with its own reference. */
		if ((flags & PMM_VMAP_PUT_PAGES) && (PageHead(page) || page_is_tail(page))) {
			bad_page_report(pmm, page, "pmm_vmap(PMM_VMAP_PUT_PAGES) of a folio's page: "
					"each page must hold its own reference");
			return NULL;
		}
		/* ... and an order-0 page: one reference must not stand for a whole block. */
		if ((flags & PMM_VMAP_PUT_PAGES) && page_alloc_order(page)) {
			bad_page_report(pmm, page, "pmm_vmap(PMM_VMAP_PUT_PAGES) of a block of order "
					"> 0 that was never split: split it first");
			return NULL;
		}
	}
	va = alloc_vmap_area(pmm, ((uint64_t)count + 1) << pmm->page_shift, pmm_page_size(pmm), true);
	if (!va)
		return NULL;
	vm = &va->vm;
	vm->caller_ip = __builtin_return_address(0);
	vm->nid = PMM_NUMA_NO_NODE;
	if (!vm_pages_alloc(pmm, vm, count, PMM_GFP_KERNEL))
		goto fail;
	memcpy(vm->pages, pages, (size_t)count * sizeof(pages[0]));
	if (vm_map_pages(pmm, va)) {
		vm_pages_free(pmm, vm);
		vm_discard_area(pmm, va, true);
		return NULL;
	}
	vm_publish(pmm, va, VM_MAP | (flags & PMM_VMAP_PUT_PAGES ? VM_MAP_PUT_PAGES : 0));
	return (void *)(uintptr_t)va->va_start;
fail:
	free_vmap_area(pmm, va);
	return NULL;
}

void pmm_vunmap(pmm_t *pmm, const void *addr)
{
	struct vmap_area *va;

	if (!addr)
		return;
	va = vm_take_area(pmm, addr, VM_MAP, "pmm_vunmap");
	if (va)
		vm_free_area(pmm, va);
}

/* ------------------------------------------------------------------------
 * Lookup and introspection
 * ------------------------------------------------------------------------ */

bool pmm_is_vmalloc_addr(pmm_t *pmm, const void *addr)
{
	const struct vmap_state *vs = pmm->vmap;

	return vs && (uintptr_t)addr >= vs->start && (uintptr_t)addr < vs->end;
}

struct pmm_page *pmm_vmalloc_to_page(pmm_t *pmm, const void *addr)
{
	struct vmap_state *vs = pmm->vmap;
	struct pmm_page *page = NULL;
	struct vmap_area *va;

	if (!pmm_is_vmalloc_addr(pmm, addr))
		return NULL;
	spin_lock(&vs->busy_lock);
	va = find_vmap_area_locked(vs, (uintptr_t)addr);
	if (va && va->vm.flags) {
		uint64_t idx = ((uintptr_t)addr - va->va_start) >> pmm->page_shift;

		if (idx < va->vm.nr_pages)
			page = va->vm.pages[idx];	/* the guard page maps nothing */
	}
	spin_unlock(&vs->busy_lock);
	return page;
}

void pmm_vmalloc_purge(pmm_t *pmm)
{
	if (pmm->vmap)
		purge_vmap_area_lazy(pmm, true);
}

int pmm_vmalloc_stats(pmm_t *pmm, struct pmm_vmalloc_stats *out)
{
	struct vmap_state *vs = pmm->vmap;

	if (!out)
		return -PMM_EINVAL;
	memset(out, 0, sizeof(*out));
	if (!vs)
		return 0;
	out->window_bytes = vs->end - vs->start;
	spin_lock(&vs->busy_lock);
	out->nr_areas = vs->busy.nr;
	spin_unlock(&vs->busy_lock);
	for (int nid = 0; nid < PMM_MAX_NODES; nid++)
		out->nr_vmalloc_pages += (uint64_t)atomic_load(&vs->nr_vmalloc_pages[nid]);
	out->lazy_pages = atomic_load(&vs->lazy_nr);
	vmap_free_space(vs, &out->free_bytes, &out->largest_free);
	out->purges = atomic_load(&vs->purges);
	out->map_calls = atomic_load(&vs->map_calls);
	out->unmap_calls = atomic_load(&vs->unmap_calls);
	out->free_step_ns = atomic_load(&vs->free_step_ns);
	return 0;
}
