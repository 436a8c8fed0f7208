/* SPDX-License-Identifier: MIT */
/*
 * stats.c - counters (one X-macro list in pmm.h), zone snapshots, and the
 * views Linux users know: buddyinfo, pagetypeinfo, zoneinfo, as text or JSON.
 *
 * Counters live where they are updated under a lock already held: each pcp
 * (pcp->lock), each zone (zone->lock), and instance-wide atomics for paths
 * that hold none. A snapshot sums them, taking each lock briefly.
 */
#include "internal.h"
#include "mm.h"
#include "mmzone.h"

#include <string.h>

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
		spin_lock(&zone->lock);
		stats_add(out, &zone->stats, false);
		spin_unlock(&zone->lock);
		for (unsigned int c = 0; c < pmm->nr_cpus; c++) {
			spin_lock(&zone->pcp[c].lock);
			stats_add(out, &zone->pcp[c].stats, false);
			spin_unlock(&zone->pcp[c].lock);
		}
	}
}

int pmm_stats_print(pmm_t *pmm, FILE *f, int json)
{
	struct pmm_stats st;
	const char *sep = "";

	pmm_stats_get(pmm, &st);
	if (json)
		fputc('{', f);
#define PMM_STAT_PRINT(name, desc)                                             \
	if (json) {                                                            \
		fprintf(f, "%s\"%s\":%llu", sep, #name, (unsigned long long)st.name); \
		sep = ",";                                                     \
	} else {                                                               \
		fprintf(f, "%-16s %12llu  %s\n", #name, (unsigned long long)st.name, desc); \
	}
	PMM_STATS(PMM_STAT_PRINT)
#undef PMM_STAT_PRINT
	if (json)
		fputs("}\n", f);
	return ferror(f) ? -PMM_EINVAL : 0;
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
		spin_lock(&zone->pcp[c].lock);
		out->pcp_pages += (uint64_t)zone->pcp[c].count;
		spin_unlock(&zone->pcp[c].lock);
	}
	spin_lock(&zone->lock);
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
	spin_unlock(&zone->lock);
	return 0;
}

static void print_counts(FILE *f, const uint64_t *v, unsigned int n, int json)
{
	for (unsigned int i = 0; i < n; i++)
		fprintf(f, json ? "%s%llu" : "%s%6llu", json && i ? "," : " ",
			(unsigned long long)v[i]);
}

int pmm_buddyinfo(pmm_t *pmm, FILE *f, int json)
{
	struct pmm_zone_info zi;
	unsigned int n = pmm->max_order + 1;

	if (json)
		fputs("{\"buddyinfo\":[", f);
	for (unsigned int z = 0; pmm_zone_info(pmm, z, &zi) == 0; z++) {
		if (json) {
			fprintf(f, "%s{\"node\":%d,\"zone\":\"%s\",\"free\":[", z ? "," : "",
				zi.nid, zi.name);
			print_counts(f, zi.nr_free, n, 1);
			fputs("]}", f);
		} else {
			fprintf(f, "Node %d, zone %8s", zi.nid, zi.name);
			print_counts(f, zi.nr_free, n, 0);
			fputc('\n', f);
		}
	}
	if (json)
		fputs("]}\n", f);
	return ferror(f) ? -PMM_EINVAL : 0;
}

int pmm_pagetypeinfo(pmm_t *pmm, FILE *f, int json)
{
	struct pmm_zone_info zi;
	unsigned int n = pmm->max_order + 1;

	if (json)
		fputs("{\"pagetypeinfo\":[", f);
	else
		fprintf(f, "Page block order: %u\nPages per block:  %lu\n\n", pmm->pageblock_order,
			pageblock_nr_pages(pmm));
	for (unsigned int z = 0; pmm_zone_info(pmm, z, &zi) == 0; z++) {
		if (json)
			fprintf(f, "%s{\"node\":%d,\"zone\":\"%s\",\"free\":{", z ? "," : "", zi.nid,
				zi.name);
		for (int mt = 0; mt < PMM_MIGRATE_TYPES; mt++) {
			if (json) {
				fprintf(f, "%s\"%s\":[", mt ? "," : "", pmm_migratetype_name(mt));
				print_counts(f, zi.nr_free_mt[mt], n, 1);
				fputc(']', f);
			} else {
				fprintf(f, "Node %4d, zone %8s, type %12s", zi.nid, zi.name,
					pmm_migratetype_name(mt));
				print_counts(f, zi.nr_free_mt[mt], n, 0);
				fputc('\n', f);
			}
		}
		if (json) {
			fputs("},\"pageblocks\":{", f);
			for (int mt = 0; mt < PMM_MIGRATE_TYPES; mt++)
				fprintf(f, "%s\"%s\":%llu", mt ? "," : "", pmm_migratetype_name(mt),
					(unsigned long long)zi.nr_pageblocks_mt[mt]);
			fputs("}}", f);
		} else {
			fprintf(f, "Number of blocks type ");
			for (int mt = 0; mt < PMM_MIGRATE_TYPES; mt++)
				fprintf(f, " %s %llu", pmm_migratetype_name(mt),
					(unsigned long long)zi.nr_pageblocks_mt[mt]);
			fputs("\n\n", f);
		}
	}
	if (json)
		fputs("]}\n", f);
	return ferror(f) ? -PMM_EINVAL : 0;
}

int pmm_zoneinfo(pmm_t *pmm, FILE *f, int json)
{
	struct pmm_zone_info zi;

	if (json)
		fputs("{\"zones\":[", f);
	for (unsigned int z = 0; pmm_zone_info(pmm, z, &zi) == 0; z++) {
		fprintf(f,
			json ? "%s{\"node\":%d,\"zone\":\"%s\",\"start_pfn\":%llu,\"spanned\":%llu,"
			       "\"managed\":%llu,\"free\":%llu,\"pcp\":%llu,\"min\":%llu,\"low\":%llu,"
			       "\"high\":%llu,\"lowmem_reserve\":%llu}"
			     : "%sNode %d, zone %s\n  start_pfn %#llx\n  spanned   %llu\n  managed   %llu\n"
			       "  free      %llu\n  pcp       %llu\n  min %llu low %llu high %llu\n"
			       "  lowmem_reserve %llu\n",
			z && json ? "," : "", zi.nid, zi.name, (unsigned long long)zi.start_pfn,
			(unsigned long long)zi.spanned_pages, (unsigned long long)zi.managed_pages,
			(unsigned long long)zi.free_pages, (unsigned long long)zi.pcp_pages,
			(unsigned long long)zi.wmark_min, (unsigned long long)zi.wmark_low,
			(unsigned long long)zi.wmark_high, (unsigned long long)zi.lowmem_reserve);
	}
	if (json)
		fputs("]}\n", f);
	return ferror(f) ? -PMM_EINVAL : 0;
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

static const char *const gather_names[PMM_NR_GATHER_MODES] = { "per_page", "ranges", "encoded" };

/* X(field) for the mm counters the printer shows, in struct pmm_mm_stats order. */
#define MM_STATS(X)                                                            \
	X(rss_anon) X(pgtable_pages) X(nr_vmas) X(faults) X(cow_faults) X(fault_fallbacks) \
	X(tlb_flushes) X(gather_batches) X(gather_forced_flushes) X(rmap_ns) X(free_ns)

int pmm_mminfo(pmm_t *pmm, FILE *f, int json)
{
	struct pmm_node_info ni;
	const char *sep = "";

	fputs(json ? "{\"nodes\":[" : "", f);
	for (int nid = 0; nid < PMM_MAX_NODES; nid++) {
		if (!NODE_DATA(pmm, nid)->populated || pmm_node_info(pmm, nid, &ni))
			continue;
		fprintf(f,
			json ? "%s{\"node\":%d,\"lru_inactive_anon\":%llu,\"lru_active_anon\":%llu,"
			       "\"lru_pages\":%llu,\"deferred_split\":%llu}"
			     : "%sNode %d: lru inactive_anon %llu active_anon %llu (%llu pages), "
			       "deferred split %llu\n",
			sep, nid, (unsigned long long)ni.lru_inactive_anon,
			(unsigned long long)ni.lru_active_anon, (unsigned long long)ni.lru_pages,
			(unsigned long long)ni.deferred_split);
		sep = json ? "," : "";
	}
	fprintf(f, json ? "],\"swapcache_folios\":%lu,\"mms\":[" : "swap cache: %lu folios\n",
		pmm_swapcache_nr(pmm));
	sep = "";
	spin_lock(&pmm->mm_list_lock);
	for (struct pmm_list *l = pmm->mm_list.next; l != &pmm->mm_list; l = l->next) {
		struct pmm_mm *mm = container_of(l, struct pmm_mm, mm_link);
		struct pmm_mm_stats st;

		pmm_mm_stats_get(mm, &st);
		fprintf(f, json ? "%s{\"gather\":\"%s\",\"mapcount\":\"%s\"" : "%smm %s/%s:", sep,
			gather_names[mm->cfg.gather],
			mm->cfg.mapcount == PMM_MAPCOUNT_FOLIO ? "folio" : "page");
#define MM_STAT_PRINT(name) \
		fprintf(f, json ? ",\"" #name "\":%llu" : " " #name " %llu", (unsigned long long)st.name);
		MM_STATS(MM_STAT_PRINT)
#undef MM_STAT_PRINT
		fputs(json ? "}" : "\n", f);
		sep = json ? "," : "";
	}
	spin_unlock(&pmm->mm_list_lock);
	if (json)
		fputs("]}\n", f);
	return ferror(f) ? -PMM_EINVAL : 0;
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
