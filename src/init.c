/* SPDX-License-Identifier: MIT */
/*
 * init.c - the instance's life cycle (kernel mm/mm_init.c): configuration
 * defaults and their resolution, pmm_create() / pmm_destroy(), and the
 * shrinker registry the allocator's slow path calls (kernel shrink_slab()).
 */
#include "deferred_split.h"
#include "fmt.h"
#include "internal.h"
#include "kpage.h"
#include "lru.h"
#include "memmap.h"
#include "mm.h"
#include "os.h"
#include "pcp.h"
#include "swap.h"
#include "vmap_area.h"

#include <stdarg.h>

#define DEFAULT_START_PFN 0x100000ULL	/* 4 GiB with 4 KiB pages */
#define DEFAULT_BYTES (1ULL << 30)

void pmm_config_init(struct pmm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->page_shift = 12;
	cfg->section_shift = 27;
	cfg->max_order = 10;
	cfg->pageblock_order = 9;
	cfg->dma32_end_pfn = PMM_AUTO;
	cfg->memmap = PMM_MEMMAP_SPARSE;
	cfg->backing = PMM_BACKING_MEMFD;
	cfg->min_free_pages = PMM_AUTO;
	cfg->vmalloc_size = PMM_AUTO;
	cfg->vmap_lazy_max = PMM_AUTO;
	for (int k = 0; k < PMM_NR_FAULT_KINDS; k++) {
		cfg->fault[k].probability = 100;
		cfg->fault[k].times = -1;
	}
}

/* Format the reason a config is refused into @why; returns -PMM_EINVAL. */
static int config_fail(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int config_fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -PMM_EINVAL;
}

/*
 * Fill what the caller left at "default" and refuse what cannot work,
 * naming the field and the rule in @why (pmm.h lists the same limits).
 */
static int config_resolve(struct pmm_config *cfg, char *why, size_t len)
{
	if (cfg->page_shift < 12 || cfg->page_shift > 16)
		return config_fail(why, len, "page_shift %u: must be 12..16", cfg->page_shift);
	if ((unsigned int)cfg->check_pages > PMM_CHECK_PAGES_FULL)
		return config_fail(why, len, "check_pages %d: must be a PMM_CHECK_PAGES_* value",
				   (int)cfg->check_pages);
	if ((unsigned int)cfg->pcp_fastpath > PMM_PCP_FASTPATH_RSEQ)
		return config_fail(why, len, "pcp_fastpath %d: must be a PMM_PCP_FASTPATH_* value",
				   (int)cfg->pcp_fastpath);
	if (cfg->check_pages == PMM_CHECK_PAGES_DEFAULT)
		cfg->check_pages = PMM_DEBUG ? PMM_CHECK_PAGES_FULL : PMM_CHECK_PAGES_KERNEL;
	if (cfg->max_order > PMM_MAX_ORDER_LIMIT)
		return config_fail(why, len, "max_order %u: must be at most %u", cfg->max_order,
				   PMM_MAX_ORDER_LIMIT);
	if (cfg->pageblock_order > cfg->max_order)
		return config_fail(why, len, "pageblock_order %u: must be at most max_order (%u)",
				   cfg->pageblock_order, cfg->max_order);
	/* A buddy block must never cross a section. */
	if (cfg->max_order + cfg->page_shift > cfg->section_shift || cfg->section_shift > 40)
		return config_fail(why, len, "section_shift %u: must be max_order + page_shift (%u)..40",
				   cfg->section_shift, cfg->max_order + cfg->page_shift);
	if (cfg->memmap != PMM_MEMMAP_SPARSE && cfg->memmap != PMM_MEMMAP_VMEMMAP)
		return config_fail(why, len, "memmap %d: not a PMM_MEMMAP_* model", (int)cfg->memmap);
	if ((unsigned int)cfg->backing > PMM_BACKING_USER)
		return config_fail(why, len, "backing %d: not a PMM_BACKING_* kind", (int)cfg->backing);
	if (cfg->nr_regions > PMM_MAX_REGIONS)
		return config_fail(why, len, "nr_regions %u: at most %u", cfg->nr_regions,
				   PMM_MAX_REGIONS);
	if (cfg->nr_regions == 0) {
		cfg->nr_regions = 1;
		cfg->regions[0] = (struct pmm_region){
			.start_pfn = DEFAULT_START_PFN >> (cfg->page_shift - 12),
			.nr_pages = DEFAULT_BYTES >> cfg->page_shift,
			.nid = 0,
		};
	}
	if (cfg->dma32_end_pfn == PMM_AUTO)
		cfg->dma32_end_pfn = (1ULL << 32) >> cfg->page_shift;

	pmm_pfn_t limit = 1ULL << (52 - cfg->page_shift);	/* 52-bit physical space */
	pmm_pfn_t lo = UINT64_MAX, hi = 0;
	for (unsigned int i = 0; i < cfg->nr_regions; i++) {
		const struct pmm_region *r = &cfg->regions[i];

		if (!r->nr_pages)
			return config_fail(why, len, "regions[%u].nr_pages: must be > 0", i);
		if (r->start_pfn >= limit || r->nr_pages > limit - r->start_pfn)
			return config_fail(why, len, "regions[%u]: must end below pfn %#llx "
					   "(a 52-bit physical address space)", i,
					   (unsigned long long)limit);
		if (r->nid < 0 || r->nid >= PMM_MAX_NODES)
			return config_fail(why, len, "regions[%u].nid %d: must be 0..%d", i, r->nid,
					   PMM_MAX_NODES - 1);
		for (unsigned int j = 0; j < i; j++) {
			const struct pmm_region *o = &cfg->regions[j];

			if (r->start_pfn < o->start_pfn + o->nr_pages &&
			    o->start_pfn < r->start_pfn + r->nr_pages)
				return config_fail(why, len, "regions[%u] overlaps regions[%u]", i, j);
		}
		if (r->start_pfn < lo)
			lo = r->start_pfn;
		if (r->start_pfn + r->nr_pages > hi)
			hi = r->start_pfn + r->nr_pages;
	}
	/* Bound the section table (and the vmemmap reservation) to 64K sections. */
	unsigned int pss = cfg->section_shift - cfg->page_shift;
	if (((hi - 1) >> pss) - (lo >> pss) >= PMM_MAX_SECTIONS)
		return config_fail(why, len, "regions span %llu sections of 2^%u bytes: at most %u",
				   (unsigned long long)(((hi - 1) >> pss) - (lo >> pss) + 1),
				   cfg->section_shift, PMM_MAX_SECTIONS);
	if (cfg->backing == PMM_BACKING_USER) {
		uint64_t need = (hi - lo) << cfg->page_shift;

		if (!cfg->user_base)
			return config_fail(why, len, "user_base: PMM_BACKING_USER needs a buffer");
		if ((uintptr_t)cfg->user_base % ((uintptr_t)1 << cfg->page_shift))
			return config_fail(why, len, "user_base: must be aligned to the page size (%u)",
					   1u << cfg->page_shift);
		if (cfg->user_size < need)
			return config_fail(why, len, "user_size %zu: the regions need %llu bytes "
					   "(lowest to highest pfn)", cfg->user_size,
					   (unsigned long long)need);
	}

	if (cfg->nr_cpus == 0)
		cfg->nr_cpus = pmm_os_online_cpus();
	if (cfg->nr_cpus > PMM_MAX_CPUS)
		return config_fail(why, len, "nr_cpus %u: at most %u", cfg->nr_cpus, PMM_MAX_CPUS);
	for (unsigned int c = 0; c < cfg->nr_cpus; c++)
		if (cfg->cpu_to_node[c] >= PMM_MAX_NODES)
			return config_fail(why, len, "cpu_to_node[%u] %u: must be 0..%d", c,
					   cfg->cpu_to_node[c], PMM_MAX_NODES - 1);
	if (cfg->pcp_batch > PMM_PCP_BATCH_MAX)
		return config_fail(why, len, "pcp_batch %u: at most %u", cfg->pcp_batch,
				   PMM_PCP_BATCH_MAX);
	if (cfg->pcp_high > PMM_PCP_HIGH_MAX)
		return config_fail(why, len, "pcp_high %u: at most %u", cfg->pcp_high,
				   PMM_PCP_HIGH_MAX);
	if (cfg->pcp_high && cfg->pcp_batch && cfg->pcp_high < cfg->pcp_batch)
		return config_fail(why, len, "pcp_high %u: must be at least pcp_batch (%u)",
				   cfg->pcp_high, cfg->pcp_batch);
	if (cfg->vmalloc_size == PMM_AUTO) {
		uint64_t present = 0;

		for (unsigned int i = 0; i < cfg->nr_regions; i++)
			present += cfg->regions[i].nr_pages;
		cfg->vmalloc_size = present << cfg->page_shift << 2;	/* 4 x managed memory */
		if (cfg->vmalloc_size > VMALLOC_SIZE_MAX)
			cfg->vmalloc_size = VMALLOC_SIZE_MAX;
	} else if (cfg->vmalloc_size) {
		uint64_t page = 1ull << cfg->page_shift;

		if (cfg->vmalloc_size < 16 * page || cfg->vmalloc_size > VMALLOC_SIZE_MAX)
			return config_fail(why, len, "vmalloc_size %llu: must be 0 (none), PMM_AUTO, "
					   "or 16 pages..2^46 bytes",
					   (unsigned long long)cfg->vmalloc_size);
		cfg->vmalloc_size = (cfg->vmalloc_size + page - 1) & ~(page - 1);
	}
	if (cfg->vmap_lazy_max == PMM_AUTO || cfg->vmap_lazy_max == 0)	/* kernel lazy_max_pages() */
		cfg->vmap_lazy_max = (uint64_t)(ilog2_ul(cfg->nr_cpus) + 1) *
				     ((32ull << 20) >> cfg->page_shift);
	if (!cfg->meta_alloc != !cfg->meta_free)
		return config_fail(why, len, "meta_alloc, meta_free: set both or neither");
	for (int k = 0; k < PMM_NR_FAULT_KINDS; k++)
		if (cfg->fault[k].probability > 100)
			return config_fail(why, len, "fault[%d].probability %u: must be 0..100", k,
					   cfg->fault[k].probability);
	return 0;
}

/*
 * A failed create is worth one line even when the config asks for quiet:
 * the caller has no instance to ask, and -PMM_EINVAL alone does not say
 * which of twenty rules it broke.
 */
static int create_failed(const struct pmm_config *cfg, int err, const char *why)
{
	char line[320];

	fmt_snprintf(line, sizeof(line), "pmm_create: %s: %s", pmm_strerror(err), why);
	cfg->log_fn ? cfg->log_fn(cfg->log_arg, line) : pmm_os_log(line);
	return err;
}

int pmm_create(const struct pmm_config *cfg_in, pmm_t **out)
{
	struct fault_state meta_fault;
	struct pmm_config cfg;
	char why[256];
	bool vmalloc_auto;
	pmm_t *pmm;
	int err;

	if (!out)
		return -PMM_EINVAL;
	*out = NULL;
	if (cfg_in)
		cfg = *cfg_in;
	else
		pmm_config_init(&cfg);
	vmalloc_auto = cfg.vmalloc_size == PMM_AUTO;
	err = config_resolve(&cfg, why, sizeof(why));
	if (err)
		return create_failed(&cfg, err, why);
	if (cfg.pcp_fastpath != PMM_PCP_FASTPATH_TRYLOCK) {
		const char *no = pcp_rseq_unavailable(&cfg);

		if (no && cfg.pcp_fastpath == PMM_PCP_FASTPATH_RSEQ) {
			fmt_snprintf(why, sizeof(why), "pcp_fastpath RSEQ: %s", no);
			return create_failed(&cfg, -PMM_ENOTSUP, why);
		}
		cfg.pcp_fastpath = no ? PMM_PCP_FASTPATH_TRYLOCK : PMM_PCP_FASTPATH_RSEQ;
	}

	/* The instance itself is the first metadata allocation. */
	fault_init(&meta_fault, &cfg.fault[PMM_FAULT_META_ALLOC]);
	pmm = meta_alloc_cfg(&cfg, &meta_fault, sizeof(*pmm));
	if (!pmm)
		return create_failed(&cfg, -PMM_ENOMEM, "the instance's own metadata");
	pmm->cfg = cfg;
	zone_table_init(pmm);
	pmm->vmalloc_auto = vmalloc_auto;
	pmm->memfd = -1;	/* teardown of a partial instance must not close fd 0 */
	pmm->page_shift = cfg.page_shift;
	pmm->max_order = cfg.max_order;
	pmm->pageblock_order = cfg.pageblock_order;
	pmm->pfn_section_shift = cfg.section_shift - cfg.page_shift;
	pmm->nr_cpus = cfg.nr_cpus;
	pmm->pcp_enabled = !cfg.pcp_disable;
	pmm->pcp_rseq = cfg.pcp_fastpath == PMM_PCP_FASTPATH_RSEQ;
	pmm->rseq_off = os_rseq_offset();
	pmm->check_full = cfg.check_pages == PMM_CHECK_PAGES_FULL;
	for (unsigned int c = 0; c < cfg.nr_cpus; c++)
		pmm->cpu_nodes |= cfg.cpu_to_node[c] != 0;
	spin_lock_init(&pmm->log_lock);
	spin_lock_init(&pmm->shrinker_lock);
	spin_lock_init(&pmm->mm_list_lock);
	list_init(&pmm->mm_list);
	deferred_split_init(pmm);
	swap_cache_init(pmm);
	kpage_init(pmm);
	fault_init(&pmm->fault[PMM_FAULT_PAGE_ALLOC], &cfg.fault[PMM_FAULT_PAGE_ALLOC]);
	fault_init(&pmm->fault[PMM_FAULT_META_ALLOC], &cfg.fault[PMM_FAULT_META_ALLOC]);
	atomic_store(&pmm->fault[PMM_FAULT_META_ALLOC].calls, atomic_load(&meta_fault.calls));
	atomic_store(&pmm->fault[PMM_FAULT_META_ALLOC].failed, atomic_load(&meta_fault.failed));

	err = memmap_init(pmm);
	if (!err)
		err = zones_init(pmm);
	if (!err)
		err = lru_init(pmm);
	pcp_fast_update(pmm);	/* after zones_init(): the preferred zones */
	if (err) {
		pmm_destroy(pmm);
		return create_failed(&cfg, err, err == -PMM_EBACKING ?
				     "the backing memory (memfd or anonymous mmap) could not be mapped" :
				     "a metadata allocation (memmap, zone tables) failed");
	}
	err = vmap_init(pmm);
	if (err) {
		pmm_destroy(pmm);
		return create_failed(&cfg, err, err == -PMM_EBACKING ?
				     "the vmalloc window (vmalloc_size bytes of address space) could "
				     "not be reserved" : "the vmalloc window's metadata");
	}
	*out = pmm;
	return 0;
}

void pmm_destroy(pmm_t *pmm)
{
	struct pmm_config cfg;

	if (!pmm)
		return;
	/* Address spaces the caller left behind go first: they hold frames. */
	while (pmm->mm_list.next && !list_empty(&pmm->mm_list))
		pmm_mm_destroy(container_of(pmm->mm_list.next, struct pmm_mm, mm_link));
	if (pmm->lru_batches)
		lru_add_drain_all(pmm);
	lru_exit(pmm);
	vmap_exit(pmm);
	swap_cache_exit(pmm);
	kpage_exit(pmm);
	zones_exit(pmm);
	memmap_exit(pmm);
	cfg = pmm->cfg;
	meta_free_cfg(&cfg, pmm, sizeof(*pmm));
}

const char *pmm_version(void)
{
	return PMM_VERSION_STRING;
}

unsigned int pmm_version_number(void)
{
	return PMM_VERSION_NUMBER;
}

const struct pmm_config *pmm_get_config(const pmm_t *pmm)
{
	return &pmm->cfg;
}

/* ------------------------------------------------------------------------
 * Shrinkers
 * ------------------------------------------------------------------------ */

/*
 * The deferred split queue is the first shrinker (the kernel registers
 * deferred_split_shrinker); the registered ones run after it, in
 * registration order with no lock held: the list is copied under the lock,
 * so a shrinker may register or unregister others.
 *
 * A thread reclaims once at a time, as the kernel's direct reclaim runs
 * under PF_MEMALLOC: an allocation a shrinker makes (from this instance or
 * any other) does not reclaim again, else a shrinker that allocates when
 * memory is short would recurse until its stack overflowed.
 */
bool shrink_slab(pmm_t *pmm, unsigned long want)
{
	struct pmm_shrinker list[PMM_MAX_SHRINKERS];
	unsigned long *tflags = pmm_os_thread_flags();
	unsigned long freed;
	unsigned int n;

	if (*tflags & PF_MEMALLOC)
		return false;
	*tflags |= PF_MEMALLOC;
	freed = deferred_split_shrink(pmm, want);
	if (freed < want) {
		spin_lock(&pmm->shrinker_lock);
		n = pmm->nr_shrinkers;
		memcpy(list, pmm->shrinkers, n * sizeof(list[0]));
		spin_unlock(&pmm->shrinker_lock);
		for (unsigned int i = 0; i < n && freed < want; i++) {
			gstat_add(pmm, shrinker_calls, 1);
			freed += list[i].fn(list[i].arg, pmm, want - freed);
		}
	}
	*tflags &= ~PF_MEMALLOC;
	return freed > 0;
}

int pmm_unregister_shrinker(pmm_t *pmm, pmm_shrink_fn fn, void *arg)
{
	int err = -PMM_EINVAL;

	spin_lock(&pmm->shrinker_lock);
	for (unsigned int i = 0; i < pmm->nr_shrinkers; i++) {
		if (pmm->shrinkers[i].fn != fn || pmm->shrinkers[i].arg != arg)
			continue;
		/* Keep registration order: run_shrinkers() calls them in it. */
		for (; i + 1 < pmm->nr_shrinkers; i++)
			pmm->shrinkers[i] = pmm->shrinkers[i + 1];
		pmm->nr_shrinkers--;
		err = 0;
		break;
	}
	spin_unlock(&pmm->shrinker_lock);
	return err;
}

int pmm_register_shrinker(pmm_t *pmm, pmm_shrink_fn fn, void *arg)
{
	int err = 0;

	if (!fn)
		return -PMM_EINVAL;
	spin_lock(&pmm->shrinker_lock);
	if (pmm->nr_shrinkers < PMM_MAX_SHRINKERS)
		pmm->shrinkers[pmm->nr_shrinkers++] = (struct pmm_shrinker){ .fn = fn, .arg = arg };
	else
		err = -PMM_ENOMEM;
	spin_unlock(&pmm->shrinker_lock);
	return err;
}
