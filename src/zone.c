/* SPDX-License-Identifier: MIT */
/*
 * zone.c - nodes, zones, watermarks, zonelists and pcp sizing.
 *
 * Each (node, zone type) pair that holds region frames is a populated zone
 * with its own lock, free lists, watermarks and pcp sets. A region that
 * crosses dma32_end_pfn is split between DMA32 and Normal.
 */
#include "buddy.h"
#include "internal.h"
#include "memmap.h"
#include "pcp.h"


#define LOWMEM_RESERVE_RATIO 256	/* kernel sysctl_lowmem_reserve_ratio for DMA32 */

const char *zone_name(enum pmm_zone_type type)
{
	return type == PMM_ZONE_DMA32 ? "DMA32" : "Normal";
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
	struct pmm_zone *zone;

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
	for_each_populated_zone(pmm, zone) {
		uint64_t min, gap;

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
		struct pmm_zone *dma = &NODE_DATA(pmm, nid)->node_zones[PMM_ZONE_DMA32];
		struct pmm_zone *normal = &NODE_DATA(pmm, nid)->node_zones[PMM_ZONE_NORMAL];

		if (dma->populated && normal->populated)
			dma->lowmem_reserve = normal->managed_pages / LOWMEM_RESERVE_RATIO;
	}
	for_each_populated_zone(pmm, zone)
		zone_fast_mark_update(zone);
}

/*
 * Preferred node first, then the others in id order; highest zone first.
 * Node 0's first zones are cached for the order-0 pcp hit, which starts
 * there (alloc_pages_pcp()).
 */
static void build_zonelists(pmm_t *pmm)
{
	for (int nid = 0; nid < PMM_MAX_NODES; nid++) {
		for (int which = 0; which < NR_ZONELISTS; which++) {
			struct zonelist *zl = &NODE_DATA(pmm, nid)->node_zonelists[which];

			zl->nr = 0;
			for (int k = 0; k < PMM_MAX_NODES; k++) {
				struct pmm_node *node = NODE_DATA(pmm, (nid + k) % PMM_MAX_NODES);

				for (int t = PMM_NR_ZONE_TYPES - 1; t >= 0; t--) {
					struct pmm_zone *zone = &node->node_zones[t];

					if (!zone->populated ||
					    (which == ZONELIST_DMA32 && t != PMM_ZONE_DMA32))
						continue;
					zl->zones[zl->nr++] = zone;
				}
			}
			if (!nid)
				pmm->pcp_zone[which] = zl->nr ? zl->zones[0] : NULL;
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

		/* Boot: no other thread exists yet. PG_reserved goes with the old flags. */
		__page_flags_store(page, f | (uint64_t)zone->id << PAGE_ZONE_SHIFT);
	}
}

/* Hand [start, end) to the buddy as maximal aligned blocks (memblock_free_all). */
static void zone_free_range(pmm_t *pmm, struct pmm_zone *zone, pmm_pfn_t start, pmm_pfn_t end)
{
	zone_lock(zone);
	while (start < end) {
		unsigned int order = pfn_align_order(start, pmm->max_order);

		while (((pmm_pfn_t)1 << order) > end - start)
			order--;
		__free_one_page_locked(zone, pfn_to_page(pmm, start), start, order,
				       get_pageblock_migratetype(zone, start));
		start += (pmm_pfn_t)1 << order;
	}
	zone_unlock(zone);
}

/* Calls f(pmm, zone, start, end) for every (region, zone) piece. */
static void for_each_zone_range(pmm_t *pmm,
				void (*f)(pmm_t *, struct pmm_zone *, pmm_pfn_t, pmm_pfn_t))
{
	for (unsigned int i = 0; i < pmm->cfg.nr_regions; i++) {
		const struct pmm_region *r = &pmm->cfg.regions[i];
		pmm_pfn_t s = r->start_pfn, e = r->start_pfn + r->nr_pages;
		pmm_pfn_t split = pmm->cfg.dma32_end_pfn;
		struct pmm_zone *zones = NODE_DATA(pmm, r->nid)->node_zones;

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

/*
 * zone_by_id()'s table: called first at create, before anything looks a
 * zone up. The ids past MAX_ZONES, which no page is given, stay NULL.
 */
void zone_table_init(pmm_t *pmm)
{
	for (unsigned int id = 0; id < MAX_ZONES; id++)
		pmm->zone_table[id] = &pmm->nodes[id / PMM_NR_ZONE_TYPES].node_zones[id % PMM_NR_ZONE_TYPES];
}

int zones_init(pmm_t *pmm)
{
	struct pmm_zone *zone;

	find_zone_breaks(pmm);
	for (int nid = 0; nid < PMM_MAX_NODES; nid++)
		NODE_DATA(pmm, nid)->node_id = nid;
	for_each_zone(pmm, zone) {
		zone->pmm = pmm;
		zone->id = zone_id;
		zone->owned_flags = (uint32_t)(PF(PG_owned) | (uint64_t)zone_id << PAGE_ZONE_SHIFT);
		zone->nid = (int)(zone_id / PMM_NR_ZONE_TYPES);
		zone->type = (enum pmm_zone_type)(zone_id % PMM_NR_ZONE_TYPES);
		spin_lock_init(&zone->lock);
		for (unsigned int o = 0; o <= PMM_MAX_ORDER_LIMIT; o++)
			for (int mt = 0; mt < PMM_MIGRATE_TYPES; mt++)
				list_init(&zone->free_area[o].free_list[mt]);
	}
	for_each_zone_range(pmm, zone_add_range);

	for_each_populated_zone(pmm, zone) {
		NODE_DATA(pmm, zone->nid)->populated = true;
		if (zone->nid + 1 > (int)pmm->nr_nodes)
			pmm->nr_nodes = (unsigned int)zone->nid + 1;
		pmm->managed_pages += zone->managed_pages;
		/* Kernel init: every pageblock starts MOVABLE. */
		zone->pb_base = pageblock_start_pfn(pmm, zone->start_pfn);
		zone->pageblock_order = pmm->pageblock_order;
		zone->nr_pageblocks = (size_t)((zone->end_pfn - zone->pb_base +
						pageblock_nr_pages(pmm) - 1) >> pmm->pageblock_order);
		zone->pageblock_mt = meta_alloc(pmm, zone->nr_pageblocks);
		if (!zone->pageblock_mt)
			return -PMM_ENOMEM;
		memset(zone->pageblock_mt, PMM_MIGRATE_MOVABLE, zone->nr_pageblocks);
		zone->pageblock_mt_pfn = (uintptr_t)zone->pageblock_mt -
					 (uintptr_t)(zone->pb_base >> pmm->pageblock_order);

		zone->pcp = meta_alloc_colored(pmm, pmm->nr_cpus * sizeof(struct pmm_pcp));
		if (!zone->pcp)
			return -PMM_ENOMEM;
	}
	setup_watermarks(pmm);
	const struct pmm_zone *largest = NULL;
	for_each_populated_zone(pmm, zone) {
		zone->pcp_batch = zone_batchsize(pmm, zone);
		zone->pcp_high = pmm->cfg.pcp_high ? (int)pmm->cfg.pcp_high
						   : zone_highsize(pmm, zone, zone->pcp_batch);
		pcp_clamp(pmm, zone);
		for (unsigned int c = 0; c < pmm->nr_cpus; c++)
			pcp_init(&zone->pcp[c], pmm->pageblock_order, zone->pcp_batch, zone->pcp_high);
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
	struct pmm_zone *zone;

	for_each_zone(pmm, zone) {
		meta_free(pmm, zone->pageblock_mt, zone->nr_pageblocks);
		meta_free_colored(pmm, zone->pcp, pmm->nr_cpus * sizeof(struct pmm_pcp));
	}
}

