/* SPDX-License-Identifier: MIT */
/*
 * zone.c - configuration, nodes, zones, watermarks, zonelists, and the
 * instance's create/destroy.
 *
 * Each (node, zone type) pair that holds region frames is a populated zone
 * with its own lock, free lists, watermarks and pcp sets. A region that
 * crosses dma32_end_pfn is split between DMA32 and Normal.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_START_PFN 0x100000ULL	/* 4 GiB with 4 KiB pages */
#define DEFAULT_BYTES (1ULL << 30)
#define LOWMEM_RESERVE_RATIO 256	/* kernel sysctl_lowmem_reserve_ratio for DMA32 */

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
	for (int k = 0; k < PMM_NR_FAULT_KINDS; k++) {
		cfg->fault[k].probability = 100;
		cfg->fault[k].times = -1;
	}
}

const char *zone_name(enum pmm_zone_type type)
{
	return type == PMM_ZONE_DMA32 ? "DMA32" : "Normal";
}

/* Format the reason a config is refused into @why; returns -PMM_EINVAL. */
static int config_fail(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int config_fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
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
		cfg->nr_cpus = os_online_cpus();
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
	if (!cfg->meta_alloc != !cfg->meta_free)
		return config_fail(why, len, "meta_alloc, meta_free: set both or neither");
	for (int k = 0; k < PMM_NR_FAULT_KINDS; k++)
		if (cfg->fault[k].probability > 100)
			return config_fail(why, len, "fault[%d].probability %u: must be 0..100", k,
					   cfg->fault[k].probability);
	return 0;
}

/* Kernel zone_batchsize(): a quarter of a MiB's worth, 2^n - 1. */
static int zone_batchsize(const pmm_t *pmm, const struct pmm_zone *zone)
{
	uint64_t batch = zone->managed_pages >> 10;
	uint64_t cap = (1ULL << 20) >> pmm->page_shift;

	if (pmm->cfg.pcp_batch)
		return (int)pmm->cfg.pcp_batch;
	if (batch > cap)
		batch = cap;
	batch /= 4;
	if (batch < 1)
		batch = 1;
	batch = (1ULL << ilog2_ul(batch + batch / 2)) - 1;
	return batch ? (int)batch : 1;
}

/*
 * Kernel zone_highsize() with the default high fraction: a CPU's lists may
 * hold the zone's low watermark shared among the CPUs, so full pcp lists
 * never push the zone below low, and at least four batches.
 */
static int zone_highsize(const pmm_t *pmm, const struct pmm_zone *zone, int batch)
{
	uint64_t high = zone->wmark[WMARK_LOW] / pmm->nr_cpus;

	return high > (uint64_t)batch * 4 ? (int)high : batch * 4;
}

/*
 * Whatever the configuration asks, every CPU's lists together hold at most
 * an eighth of the zone (the kernel's MIN_PERCPU_PAGELIST_HIGH_FRACTION),
 * and a refill or drain moves at most a quarter of high (the kernel's
 * batch = high / 4 for an explicit fraction), so one allocation cannot
 * move the zone onto a pcp list.
 */
static void pcp_clamp(const pmm_t *pmm, struct pmm_zone *zone)
{
	uint64_t high_max = zone->managed_pages / 8 / pmm->nr_cpus;

	if (high_max < 4)
		high_max = 4;
	if ((uint64_t)zone->pcp_high > high_max)
		zone->pcp_high = (int)high_max;
	if (zone->pcp_batch > zone->pcp_high / 4)
		zone->pcp_batch = zone->pcp_high / 4 ? zone->pcp_high / 4 : 1;
}

static uint64_t isqrt(uint64_t x)
{
	uint64_t r = 0, bit = 1ULL << 62;

	while (bit > x)
		bit >>= 2;
	for (; bit; bit >>= 2) {
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
	}
	return r;
}

/*
 * Kernel __setup_per_zone_wmarks(): min_free_kbytes = sqrt(16 * lowmem KiB),
 * clamped to [128 KiB, 256 MiB], shared between zones by size; low and high
 * sit a quarter of min (or 0.1% of the zone) above it.
 */
static void setup_watermarks(pmm_t *pmm)
{
	uint64_t min_total = pmm->cfg.min_free_pages;

	if (min_total == PMM_AUTO) {
		uint64_t kib = pmm->managed_pages << (pmm->page_shift - 10);
		uint64_t min_kib = isqrt(kib * 16);

		if (min_kib < 128)
			min_kib = 128;
		if (min_kib > 262144)
			min_kib = 262144;
		min_total = min_kib >> (pmm->page_shift - 10);
		if (min_total > pmm->managed_pages / 4)
			min_total = pmm->managed_pages / 4;
		pmm->cfg.min_free_pages = min_total;
	}
	for (unsigned int i = 0; i < MAX_ZONES; i++) {
		struct pmm_zone *zone = &pmm->zones[i];
		uint64_t min, gap;

		if (!zone->populated)
			continue;
		min = pmm->managed_pages ? min_total * zone->managed_pages / pmm->managed_pages : 0;
		gap = zone->managed_pages * 10 / 10000;
		if (gap < min / 4)
			gap = min / 4;
		if (min_total == 0)
			gap = 0;
		zone->wmark[WMARK_MIN] = min;
		zone->wmark[WMARK_LOW] = min + gap;
		zone->wmark[WMARK_HIGH] = min + 2 * gap;
	}
	/*
	 * Kernel setup_per_zone_lowmem_reserve(): DMA32 keeps 1/256 of its
	 * node's Normal zone from requests that could have used Normal, so
	 * they cannot exhaust the memory only DMA32 requests can use.
	 */
	for (int nid = 0; nid < PMM_MAX_NODES; nid++) {
		struct pmm_zone *dma = &pmm->zones[nid * PMM_NR_ZONE_TYPES + PMM_ZONE_DMA32];
		struct pmm_zone *normal = &pmm->zones[nid * PMM_NR_ZONE_TYPES + PMM_ZONE_NORMAL];

		if (dma->populated && normal->populated)
			dma->lowmem_reserve = normal->managed_pages / LOWMEM_RESERVE_RATIO;
	}
}

/* Preferred node first, then the others in id order; highest zone first. */
static void build_zonelists(pmm_t *pmm)
{
	for (int nid = 0; nid < PMM_MAX_NODES; nid++) {
		for (int dma = 0; dma < 2; dma++) {
			struct zonelist *zl = &pmm->zonelists[nid][dma];

			zl->nr = 0;
			for (int k = 0; k < PMM_MAX_NODES; k++) {
				int n = (nid + k) % PMM_MAX_NODES;

				for (int t = PMM_NR_ZONE_TYPES - 1; t >= 0; t--) {
					struct pmm_zone *zone = &pmm->zones[n * PMM_NR_ZONE_TYPES + t];

					if (!zone->populated || (dma && t != PMM_ZONE_DMA32))
						continue;
					zl->zones[zl->nr++] = zone;
				}
			}
		}
	}
}

/* Account [start, end) of one region to @zone and make its pages managed. */
static void zone_add_range(pmm_t *pmm, struct pmm_zone *zone, pmm_pfn_t start, pmm_pfn_t end)
{
	if (!zone->populated || start < zone->start_pfn)
		zone->start_pfn = start;
	if (!zone->populated || end > zone->end_pfn)
		zone->end_pfn = end;
	zone->populated = true;
	zone->managed_pages += end - start;
	for (pmm_pfn_t pfn = start; pfn < end; pfn++) {
		struct pmm_page *page = pfn_to_page(pmm, pfn);
		uint64_t f = page_flags(page) & ~(PAGE_FLAGS_MASK | (PAGE_ZONE_MASK << PAGE_ZONE_SHIFT));

		atomic_store_explicit(&page->flags, f | (uint64_t)zone->id << PAGE_ZONE_SHIFT,
				      memory_order_relaxed);
	}
}

/* Hand [start, end) to the buddy as maximal aligned blocks (memblock_free_all). */
static void zone_free_range(pmm_t *pmm, struct pmm_zone *zone, pmm_pfn_t start, pmm_pfn_t end)
{
	spin_lock(&zone->lock);
	while (start < end) {
		unsigned int order = pfn_align_order(start, pmm->max_order);

		while (((pmm_pfn_t)1 << order) > end - start)
			order--;
		__free_one_page_locked(zone, pfn_to_page(pmm, start), start, order,
				       get_pageblock_migratetype(zone, start));
		start += (pmm_pfn_t)1 << order;
	}
	spin_unlock(&zone->lock);
}

/* Calls f(pmm, zone, start, end) for every (region, zone) piece. */
static void for_each_zone_range(pmm_t *pmm,
				void (*f)(pmm_t *, struct pmm_zone *, pmm_pfn_t, pmm_pfn_t))
{
	for (unsigned int i = 0; i < pmm->cfg.nr_regions; i++) {
		const struct pmm_region *r = &pmm->cfg.regions[i];
		pmm_pfn_t s = r->start_pfn, e = r->start_pfn + r->nr_pages;
		pmm_pfn_t split = pmm->cfg.dma32_end_pfn;
		struct pmm_zone *zones = &pmm->zones[r->nid * PMM_NR_ZONE_TYPES];

		if (s < split)
			f(pmm, &zones[PMM_ZONE_DMA32], s, e < split ? e : split);
		if (e > split)
			f(pmm, &zones[PMM_ZONE_NORMAL], s > split ? s : split, e);
	}
}

/* Record @pfn as a place where the zone may change; the list stays sorted and unique. */
static void add_zone_break(pmm_t *pmm, pmm_pfn_t pfn)
{
	unsigned int i = pmm->nr_zone_breaks;

	if (pfn <= pmm->min_pfn || pfn >= pmm->max_pfn)
		return;
	for (unsigned int j = 0; j < pmm->nr_zone_breaks; j++)
		if (pmm->zone_breaks[j] == pfn)
			return;
	while (i > 0 && pmm->zone_breaks[i - 1] > pfn) {
		pmm->zone_breaks[i] = pmm->zone_breaks[i - 1];
		i--;
	}
	pmm->zone_breaks[i] = pfn;
	pmm->nr_zone_breaks++;
}

/*
 * Zone and node boundaries need not be max_order aligned (Linux allows
 * that too): a buddy never merges across them (page_is_buddy() compares
 * zones) and the batched contig path ends its runs at these breaks.
 */
static void find_zone_breaks(pmm_t *pmm)
{
	pmm->nr_zone_breaks = 0;
	for (unsigned int i = 0; i < pmm->cfg.nr_regions; i++) {
		add_zone_break(pmm, pmm->cfg.regions[i].start_pfn);
		add_zone_break(pmm, pmm->cfg.regions[i].start_pfn + pmm->cfg.regions[i].nr_pages);
	}
	add_zone_break(pmm, pmm->cfg.dma32_end_pfn);
}

int zones_init(pmm_t *pmm)
{
	find_zone_breaks(pmm);
	for (unsigned int i = 0; i < MAX_ZONES; i++) {
		struct pmm_zone *zone = &pmm->zones[i];

		zone->pmm = pmm;
		zone->id = i;
		zone->nid = (int)(i / PMM_NR_ZONE_TYPES);
		zone->type = (enum pmm_zone_type)(i % PMM_NR_ZONE_TYPES);
		spin_lock_init(&zone->lock);
		for (unsigned int o = 0; o <= PMM_MAX_ORDER_LIMIT; o++)
			for (int mt = 0; mt < PMM_MIGRATE_TYPES; mt++)
				list_init(&zone->free_area[o].free_list[mt]);
	}
	for_each_zone_range(pmm, zone_add_range);

	for (unsigned int i = 0; i < MAX_ZONES; i++) {
		struct pmm_zone *zone = &pmm->zones[i];

		if (!zone->populated)
			continue;
		if (zone->nid + 1 > (int)pmm->nr_nodes)
			pmm->nr_nodes = (unsigned int)zone->nid + 1;
		pmm->managed_pages += zone->managed_pages;
		/* Kernel init: every pageblock starts MOVABLE. */
		zone->pb_base = pageblock_start_pfn(pmm, zone->start_pfn);
		zone->nr_pageblocks = (size_t)((zone->end_pfn - zone->pb_base +
						pageblock_nr_pages(pmm) - 1) >> pmm->pageblock_order);
		zone->pageblock_mt = meta_alloc(pmm, zone->nr_pageblocks);
		if (!zone->pageblock_mt)
			return -PMM_ENOMEM;
		memset(zone->pageblock_mt, PMM_MIGRATE_MOVABLE, zone->nr_pageblocks);

		zone->pcp = meta_alloc(pmm, pmm->nr_cpus * sizeof(struct pmm_pcp));
		if (!zone->pcp)
			return -PMM_ENOMEM;
	}
	setup_watermarks(pmm);
	const struct pmm_zone *largest = NULL;
	for (unsigned int i = 0; i < MAX_ZONES; i++) {
		struct pmm_zone *zone = &pmm->zones[i];

		if (!zone->populated)
			continue;
		zone->pcp_batch = zone_batchsize(pmm, zone);
		zone->pcp_high = pmm->cfg.pcp_high ? (int)pmm->cfg.pcp_high
						   : zone_highsize(pmm, zone, zone->pcp_batch);
		pcp_clamp(pmm, zone);
		for (unsigned int c = 0; c < pmm->nr_cpus; c++)
			pcp_init(&zone->pcp[c], zone->pcp_batch, zone->pcp_high);
		if (!largest || zone->managed_pages > largest->managed_pages)
			largest = zone;
	}
	/* pmm_get_config() shows the largest zone's; pmm_zone_info() has each zone's. */
	pmm->cfg.pcp_batch = (unsigned int)largest->pcp_batch;
	pmm->cfg.pcp_high = (unsigned int)largest->pcp_high;
	build_zonelists(pmm);
	for_each_zone_range(pmm, zone_free_range);
	return 0;
}

void zones_exit(pmm_t *pmm)
{
	for (unsigned int i = 0; i < MAX_ZONES; i++) {
		struct pmm_zone *zone = &pmm->zones[i];

		meta_free(pmm, zone->pageblock_mt, zone->nr_pageblocks);
		meta_free(pmm, zone->pcp, pmm->nr_cpus * sizeof(struct pmm_pcp));
	}
}

/*
 * A failed create is worth one line even when the config asks for quiet:
 * the caller has no instance to ask, and -PMM_EINVAL alone does not say
 * which of twenty rules it broke.
 */
static int create_failed(const struct pmm_config *cfg, int err, const char *why)
{
	char line[320];

	snprintf(line, sizeof(line), "pmm_create: %s: %s", pmm_strerror(err), why);
	cfg->log_fn ? cfg->log_fn(cfg->log_arg, line) : os_log_stderr(line);
	return err;
}

int pmm_create(const struct pmm_config *cfg_in, pmm_t **out)
{
	struct fault_state meta_fault;
	struct pmm_config cfg;
	char why[256];
	pmm_t *pmm;
	int err;

	if (!out)
		return -PMM_EINVAL;
	*out = NULL;
	if (cfg_in)
		cfg = *cfg_in;
	else
		pmm_config_init(&cfg);
	err = config_resolve(&cfg, why, sizeof(why));
	if (err)
		return create_failed(&cfg, err, why);

	/* The instance itself is the first metadata allocation. */
	fault_init(&meta_fault, &cfg.fault[PMM_FAULT_META_ALLOC]);
	pmm = meta_alloc_cfg(&cfg, &meta_fault, sizeof(*pmm));
	if (!pmm)
		return create_failed(&cfg, -PMM_ENOMEM, "the instance's own metadata");
	pmm->cfg = cfg;
	pmm->memfd = -1;	/* teardown of a partial instance must not close fd 0 */
	pmm->page_shift = cfg.page_shift;
	pmm->max_order = cfg.max_order;
	pmm->pageblock_order = cfg.pageblock_order;
	pmm->pfn_section_shift = cfg.section_shift - cfg.page_shift;
	pmm->nr_cpus = cfg.nr_cpus;
	pmm->pcp_enabled = !cfg.pcp_disable;
	for (unsigned int c = 0; c < cfg.nr_cpus; c++)
		pmm->cpu_nodes |= cfg.cpu_to_node[c] != 0;
	spin_lock_init(&pmm->log_lock);
	spin_lock_init(&pmm->shrinker_lock);
	fault_init(&pmm->fault[PMM_FAULT_PAGE_ALLOC], &cfg.fault[PMM_FAULT_PAGE_ALLOC]);
	fault_init(&pmm->fault[PMM_FAULT_META_ALLOC], &cfg.fault[PMM_FAULT_META_ALLOC]);
	atomic_store(&pmm->fault[PMM_FAULT_META_ALLOC].calls, atomic_load(&meta_fault.calls));
	atomic_store(&pmm->fault[PMM_FAULT_META_ALLOC].failed, atomic_load(&meta_fault.failed));

	err = memmap_init(pmm);
	if (!err)
		err = zones_init(pmm);
	if (err) {
		pmm_destroy(pmm);
		return create_failed(&cfg, err, err == -PMM_EBACKING ?
				     "the backing memory (memfd or anonymous mmap) could not be mapped" :
				     "a metadata allocation (memmap, zone tables) failed");
	}
	*out = pmm;
	return 0;
}

void pmm_destroy(pmm_t *pmm)
{
	struct pmm_config cfg;

	if (!pmm)
		return;
	zones_exit(pmm);
	memmap_exit(pmm);
	cfg = pmm->cfg;
	meta_free_cfg(&cfg, pmm, sizeof(*pmm));
}

const struct pmm_config *pmm_get_config(const pmm_t *pmm)
{
	return &pmm->cfg;
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
