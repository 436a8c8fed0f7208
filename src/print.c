/* SPDX-License-Identifier: MIT */
/*
 * print.c - the printers: every call that writes to a FILE, in the shapes
 * Linux users know from /proc (vmstat-style counters, buddyinfo,
 * pagetypeinfo, zoneinfo, vmallocinfo) and pmm's address-space summary,
 * as text or as one JSON object. They read the same snapshots the
 * info calls return; the freestanding core leaves this file out (it has
 * no stdio), keeping every snapshot call.
 */
#include "internal.h"
#include "mm.h"
#include "mmzone.h"
#include "vmap_area.h"

#include <stdio.h>

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

/* @s as a JSON string's contents. */
static void vm_json_string(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
}

static void vm_caller(FILE *f, const struct vm_struct *vm, bool json)
{
	if (!vm->caller)
		fprintf(f, "%p", vm->caller_ip);
	else if (json)
		vm_json_string(f, vm->caller);
	else
		fputs(vm->caller, f);
}

/* One busy area: kernel /proc/vmallocinfo's line, or a JSON object. */
static void vm_show_area(pmm_t *pmm, FILE *f, const struct vmap_area *va, bool json)
{
	const struct vm_struct *vm = &va->vm;
	unsigned int per_node[PMM_MAX_NODES] = { 0 };
	const char *kind = vm->flags & VM_ALLOC ? "vmalloc" : "vmap";
	bool first = true;

	for (unsigned int i = 0; i < vm->nr_pages; i++)
		per_node[page_zone(pmm, vm->pages[i])->nid]++;
	if (json) {
		fprintf(f, "{\"start\":%llu,\"end\":%llu,\"size\":%llu,\"caller\":\"",
			(unsigned long long)va->va_start, (unsigned long long)va->va_end,
			(unsigned long long)(va->va_end - va->va_start));
		vm_caller(f, vm, true);
		fprintf(f, "\",\"pages\":%u,\"type\":\"%s\",\"put_pages\":%s,\"nodes\":{", vm->nr_pages,
			kind, vm->flags & VM_MAP_PUT_PAGES ? "true" : "false");
		for (int nid = 0; nid < PMM_MAX_NODES; nid++) {
			if (!per_node[nid])
				continue;
			fprintf(f, "%s\"N%d\":%u", first ? "" : ",", nid, per_node[nid]);
			first = false;
		}
		fputs("}}", f);
		return;
	}
	fprintf(f, "%#018llx-%#018llx %8llu ", (unsigned long long)va->va_start,
		(unsigned long long)va->va_end, (unsigned long long)(va->va_end - va->va_start));
	vm_caller(f, vm, false);
	fprintf(f, " pages=%u %s%s", vm->nr_pages, kind,
		vm->flags & VM_MAP_PUT_PAGES ? " put_pages" : "");
	for (int nid = 0; nid < PMM_MAX_NODES; nid++)
		if (per_node[nid])
			fprintf(f, " N%d=%u", nid, per_node[nid]);
	fputc('\n', f);
}

int pmm_vmalloc_info(pmm_t *pmm, FILE *f, int json)
{
	struct vmap_state *vs = pmm->vmap;
	struct pmm_vmalloc_stats st;
	bool first = true;

	pmm_vmalloc_stats(pmm, &st);
	if (json)
		fprintf(f, "{\"window_bytes\":%llu,\"nr_areas\":%llu,\"nr_vmalloc_pages\":%llu,"
			"\"lazy_pages\":%llu,\"free_bytes\":%llu,\"largest_free\":%llu,\"purges\":%llu,"
			"\"map_calls\":%llu,\"unmap_calls\":%llu,\"free_step_ns\":%llu,\"areas\":[",
			(unsigned long long)st.window_bytes, (unsigned long long)st.nr_areas,
			(unsigned long long)st.nr_vmalloc_pages, (unsigned long long)st.lazy_pages,
			(unsigned long long)st.free_bytes, (unsigned long long)st.largest_free,
			(unsigned long long)st.purges, (unsigned long long)st.map_calls,
			(unsigned long long)st.unmap_calls, (unsigned long long)st.free_step_ns);
	if (vs) {
		spin_lock(&vs->busy_lock);
		for (const struct pmm_list *l = vs->busy.head.next; l != &vs->busy.head; l = l->next) {
			const struct vmap_area *va = container_of(l, struct vmap_area, list);

			if (!va->vm.flags)
				continue;	/* still being set up */
			if (json && !first)
				fputc(',', f);
			vm_show_area(pmm, f, va, json);
			first = false;
		}
		spin_unlock(&vs->busy_lock);
		/* The kernel shows lazily freed areas as "unpurged vm_area". */
		spin_lock(&vs->purge_lock);
		if (json)
			fputs("],\"unpurged\":[", f);
		first = true;
		for (const struct pmm_list *l = vs->purge.head.next; l != &vs->purge.head; l = l->next) {
			const struct vmap_area *va = container_of(l, struct vmap_area, list);

			if (json)
				fprintf(f, "%s{\"start\":%llu,\"end\":%llu}", first ? "" : ",",
					(unsigned long long)va->va_start, (unsigned long long)va->va_end);
			else
				fprintf(f, "%#018llx-%#018llx %8llu unpurged vm_area\n",
					(unsigned long long)va->va_start, (unsigned long long)va->va_end,
					(unsigned long long)(va->va_end - va->va_start));
			first = false;
		}
		spin_unlock(&vs->purge_lock);
		if (json)
			fputs("]", f);
	} else if (json) {
		fputs("],\"unpurged\":[]", f);
	}
	if (json)
		fputs("}\n", f);
	return ferror(f) ? -PMM_EINVAL : 0;
}
