/* SPDX-License-Identifier: MIT */
/*
 * stats.c - counters (one X-macro list in pmm.h) and the zone and frame
 * snapshots; print.c shows them as buddyinfo, pagetypeinfo, zoneinfo.
 *
 * Counters live where they are updated under a lock already held: each pcp
 * (pcp->lock), each zone (zone->lock), and instance-wide atomics for paths
 * that hold none. A snapshot sums them, taking each lock briefly.
 */
#include "internal.h"
#include "mm.h"
#include "mmzone.h"
#include "pcp.h"


static void stats_add(struct pmm_stats *dst, const struct pmm_stats *src, bool atomic)
{
#define PMM_STAT_SUM(name, desc)                                               \
	dst->name += atomic ? __atomic_load_n(&src->name, __ATOMIC_RELAXED) : src->name;
	PMM_STATS(PMM_STAT_SUM)
#undef PMM_STAT_SUM
}

void pmm_stats_get(pmm_t *pmm, struct pmm_stats *out)
{
	memset(out, 0, sizeof(*out));
	struct pmm_zone *zone;

	stats_add(out, &pmm->gstats, true);
	for_each_populated_zone(pmm, zone) {
		zone_lock(zone);
		stats_add(out, &zone->stats, false);
		zone_unlock(zone);
		for (unsigned int c = 0; c < pmm->nr_cpus; c++) {
			struct pmm_pcp *pcp = &zone->pcp[c];

			pcp_lock_snapshot(zone, pcp);
			pcp_rseq_fold_locked(pmm, pcp);	/* the rseq sections' counts */
			stats_add(out, &pcp->stats, false);
			pcp_unlock(pcp);
		}
	}
}

static const char *const migratetype_names[PMM_MIGRATE_TYPES] = {
	"Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate",
};

const char *pmm_migratetype_name(int mt)
{
	return mt >= 0 && mt < PMM_MIGRATE_TYPES ? migratetype_names[mt] : "Unknown";
}

static struct pmm_zone *nth_zone(pmm_t *pmm, unsigned int idx)
{
	struct pmm_zone *zone;

	for_each_populated_zone(pmm, zone)
		if (idx-- == 0)
			return zone;
	return NULL;
}

unsigned int pmm_nr_zones(pmm_t *pmm)
{
	struct pmm_zone *zone;
	unsigned int n = 0;

	for_each_populated_zone(pmm, zone)
		n++;
	return n;
}

int pmm_zone_info(pmm_t *pmm, unsigned int idx, struct pmm_zone_info *out)
{
	struct pmm_zone *zone = nth_zone(pmm, idx);

	if (!zone || !out)
		return -PMM_EINVAL;
	memset(out, 0, sizeof(*out));
	out->nid = zone->nid;
	out->type = zone->type;
	out->name = zone_name(zone->type);
	out->start_pfn = zone->start_pfn;
	out->spanned_pages = zone->end_pfn - zone->start_pfn;
	out->managed_pages = zone->managed_pages;
	out->wmark_min = zone->wmark[WMARK_MIN];
	out->wmark_low = zone->wmark[WMARK_LOW];
	out->wmark_high = zone->wmark[WMARK_HIGH];
	out->pcp_batch = (unsigned int)zone->pcp_batch;
	out->pcp_high = (unsigned int)zone->pcp_high;
	out->lowmem_reserve = zone->lowmem_reserve;
	out->reserved_highatomic = zone->nr_reserved_highatomic;
	for (unsigned int c = 0; c < pmm->nr_cpus; c++) {
		pcp_lock_snapshot(zone, &zone->pcp[c]);
		out->pcp_pages += (uint64_t)pcp_frames_locked(pmm, &zone->pcp[c]);
		pcp_unlock(&zone->pcp[c]);
	}
	zone_lock(zone);
	out->free_pages = (uint64_t)atomic_load_explicit(&zone->free_pages, memory_order_relaxed);
	for (unsigned int o = 0; o <= pmm->max_order; o++) {
		out->nr_free[o] = zone->free_area[o].nr_free;
		for (int mt = 0; mt < PMM_MIGRATE_TYPES; mt++) {
			const struct pmm_list *head = &zone->free_area[o].free_list[mt];

			for (const struct pmm_list *l = head->next; l != head; l = l->next)
				out->nr_free_mt[mt][o]++;
		}
	}
	for (size_t b = 0; b < zone->nr_pageblocks; b++)
		out->nr_pageblocks_mt[zone->pageblock_mt[b] % PMM_MIGRATE_TYPES]++;
	zone_unlock(zone);
	return 0;
}

unsigned int pmm_nr_mms(pmm_t *pmm)
{
	unsigned int n = 0;

	spin_lock(&pmm->mm_list_lock);
	for (struct pmm_list *l = pmm->mm_list.next; l != &pmm->mm_list; l = l->next)
		n++;
	spin_unlock(&pmm->mm_list_lock);
	return n;
}

uint64_t pmm_free_frames(pmm_t *pmm)
{
	struct pmm_zone_info zi;
	uint64_t n = 0;

	for (unsigned int z = 0; pmm_zone_info(pmm, z, &zi) == 0; z++)
		n += zi.free_pages + zi.pcp_pages;
	return n;
}

uint64_t pmm_managed_frames(pmm_t *pmm)
{
	return pmm->managed_pages;
}

uint64_t pmm_leaked_frames(pmm_t *pmm)
{
	return __atomic_load_n(&pmm->gstats.leaked_pages, __ATOMIC_RELAXED);
}
