/* SPDX-License-Identifier: MIT */
/*
 * fault.c - fault injection (kernel lib/fault-inject.c, fail_page_alloc,
 * failslab) and the metadata allocator every file uses, so that "fail the
 * Nth metadata allocation" reaches every place that allocates.
 *
 * A fault attribute counts eligible calls; whether call n fails depends
 * only on (attr, n), so a failing run replays exactly. Attributes are read
 * without a lock: change them (pmm_fault_set) only while no other thread
 * uses the instance.
 */
#include "internal.h"
#include "os.h"

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Count one eligible call; true if it is to fail. */
static bool should_fail(struct fault_state *fs)
{
	const struct pmm_fault_attr *a = &fs->attr;
	uint64_t n;

	if (likely(!a->nth))
		return false;
	n = atomic_fetch_add_explicit(&fs->calls, 1, memory_order_relaxed) + 1;
	if (n < a->nth)
		return false;
	if (a->interval > 1 && (n - a->nth) % a->interval)
		return false;
	if (a->probability < 100 && mix64(a->seed ^ n) % 100 >= a->probability)
		return false;
	if (a->times >= 0 &&
	    atomic_fetch_add_explicit(&fs->failed, 1, memory_order_relaxed) >= a->times)
		return false;
	return true;
}

void fault_init(struct fault_state *fs, const struct pmm_fault_attr *attr)
{
	fs->attr = *attr;
	atomic_init(&fs->calls, 0);
	atomic_init(&fs->failed, 0);
}

bool should_fail_alloc_page(pmm_t *pmm, pmm_gfp_t gfp, unsigned int order)
{
	struct fault_state *fs = &pmm->fault[PMM_FAULT_PAGE_ALLOC];

	(void)gfp;
	if (likely(!fs->attr.nth) || order < fs->attr.min_order || !should_fail(fs))
		return false;
	gstat_add(pmm, fault_injected, 1);
	return true;
}

int pmm_fault_set(pmm_t *pmm, enum pmm_fault_kind kind, const struct pmm_fault_attr *attr)
{
	if (!pmm || !attr || (unsigned int)kind >= PMM_NR_FAULT_KINDS || attr->probability > 100)
		return -PMM_EINVAL;
	fault_init(&pmm->fault[kind], attr);
	pmm->cfg.fault[kind] = *attr;
	pcp_fast_update(pmm);
	return 0;
}

/*
 * Metadata: the caller's allocator or anonymous memory, behind the
 * metadata fault attribute. @fs is separate from the instance because
 * pmm_create() allocates the instance itself through it.
 */
static void *meta_alloc_raw(const struct pmm_config *cfg, size_t size)
{
	return cfg->meta_alloc ? cfg->meta_alloc(cfg->meta_arg, size) : pmm_os_map_meta(size);
}

void *meta_alloc_cfg(const struct pmm_config *cfg, struct fault_state *fs, size_t size)
{
	return should_fail(fs) ? NULL : meta_alloc_raw(cfg, size);
}

void meta_free_cfg(const struct pmm_config *cfg, void *p, size_t size)
{
	if (!p)
		return;
	if (cfg->meta_free)
		cfg->meta_free(cfg->meta_arg, p, size);
	else
		pmm_os_unmap(p, size);
}

void *meta_alloc(pmm_t *pmm, size_t size)
{
	if (unlikely(should_fail(&pmm->fault[PMM_FAULT_META_ALLOC]))) {
		gstat_add(pmm, fault_injected, 1);
		return NULL;
	}
	return meta_alloc_raw(&pmm->cfg, size);
}

void meta_free(pmm_t *pmm, void *p, size_t size)
{
	meta_free_cfg(&pmm->cfg, p, size);
}

/*
 * meta_alloc_colored - metadata that the fast paths read next to the
 * caller's stores into page data: the memmap and the pcps. Allocations of
 * a page or more start page-aligned, so such a record would sit at the
 * same offset within 4 KiB as the first byte of a page: the record of
 * every frame whose pfn is a multiple of 64 (the head of every block of
 * order 6 and up), the lock word of CPU 0's pcp. The core compares the
 * low 12 address bits of a load with the stores before it first (4K
 * aliasing), so a load of such a record waits behind a store to a page's
 * first byte that is still fetching its line: a loop that allocates and
 * writes each block's first bytes, as a buffer pool writes its headers,
 * ran one block per cache miss. META_COLOR bytes in, the records of the
 * heads of blocks of order 2 and up and every pcp's lock lie apart from a
 * page's start, and stay 128-byte aligned (the placement table's need).
 */
#define META_COLOR 128

void *meta_alloc_colored(pmm_t *pmm, size_t size)
{
	char *p = meta_alloc(pmm, size + META_COLOR);

	return p ? p + META_COLOR : NULL;
}

void meta_free_colored(pmm_t *pmm, void *p, size_t size)
{
	if (p)
		meta_free(pmm, (char *)p - META_COLOR, size + META_COLOR);
}
