/* SPDX-License-Identifier: MIT */
/*
 * pmm.c - the `pmm` command: inspect an instance (info), verify it (check),
 * hammer it from several threads (stress), measure it (bench NAME) and run
 * the whole tour (report, the README's first command).
 *
 * Every command builds its instance from the same flags (tools/options.c),
 * so any figure or failure can be reproduced with the same command line.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* ------------------------------------------------------------------------
 * info
 * ------------------------------------------------------------------------ */

/* What info prints; report wants only the first two. */
enum {
	INFO_LAYOUT = 1 << 0,
	INFO_BUDDYINFO = 1 << 1,
	INFO_PAGETYPEINFO = 1 << 2,
	INFO_COUNTERS = 1 << 3,
	INFO_MM = 1 << 4,
	INFO_ALL = INFO_LAYOUT | INFO_BUDDYINFO | INFO_PAGETYPEINFO | INFO_COUNTERS | INFO_MM,
};

typedef int (*lib_printer_fn)(pmm_t *pmm, FILE *f, int json);

static const struct {
	unsigned int bit;
	const char *name;	/* section title and JSON member */
	lib_printer_fn fn;
} info_printers[] = {
	{ INFO_BUDDYINFO, "buddyinfo", pmm_buddyinfo },
	{ INFO_PAGETYPEINFO, "pagetypeinfo", pmm_pagetypeinfo },
	{ INFO_COUNTERS, "counters", pmm_stats_print },
	{ INFO_MM, "address_spaces", pmm_mminfo },
};

/*
 * Run one of the library's JSON printers into memory so that its output can
 * be embedded as a member: `info --json` must be ONE object, and the
 * library's printers stay the single source of their format.
 * Return: malloc'd text without trailing whitespace, or NULL.
 */
static char *capture_json(pmm_t *pmm, lib_printer_fn fn, const char *what)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f) {
		fprintf(stderr, "pmm info: out of memory\n");
		return NULL;
	}
	err = fn(pmm, f, 1);
	fclose(f);
	if (err) {
		fprintf(stderr, "pmm info: %s failed: %s (%d)\n", what, pmm_strerror(err), err);
		free(buf);
		return NULL;
	}
	while (len && strchr(" \t\r\n", buf[len - 1]))
		buf[--len] = '\0';
	return buf;
}

/*
 * The library's printers wrap their JSON in an object named after the
 * view ({"buddyinfo": [...]}); embedding that under the same key would say
 * the name twice. Return the value inside such a one-member wrapper (its
 * text is edited in place), or @json itself when it has another shape.
 */
static char *json_unwrap(char *json, const char *key)
{
	size_t klen = strlen(key);
	char *p = json, *value, *end;
	int depth = 0;
	bool in_str = false;

	while (*p == ' ' || *p == '\n')
		p++;
	if (*p++ != '{')
		return json;
	while (*p == ' ' || *p == '\n')
		p++;
	if (*p != '"' || strncmp(p + 1, key, klen) || p[1 + klen] != '"')
		return json;
	p += klen + 2;
	while (*p == ' ' || *p == '\n')
		p++;
	if (*p++ != ':')
		return json;
	value = p;
	/* The value must run to the wrapper's closing brace: one member only. */
	for (end = p; *end; end++) {
		if (in_str) {
			if (*end == '\\' && end[1])
				end++;
			else if (*end == '"')
				in_str = false;
		} else if (*end == '"') {
			in_str = true;
		} else if (*end == '{' || *end == '[') {
			depth++;
		} else if (*end == '}' || *end == ']') {
			if (depth-- == 0)
				break;
		} else if (*end == ',' && depth == 0) {
			return json;
		}
	}
	if (*end != '}' || end[1] != '\0')
		return json;
	*end = '\0';
	return value;
}

static double mib(uint64_t frames, size_t page_size)
{
	return (double)frames * (double)page_size / (1024.0 * 1024.0);
}

/* A pcp knob: 0 means the kernel formula, resolved per zone by the library. */
static const char *pcp_knob(unsigned int v, char buf[16])
{
	if (!v)
		return "auto";
	snprintf(buf, 16, "%u", v);
	return buf;
}

static void info_layout_text(pmm_t *pmm)
{
	const struct pmm_config *c = pmm_get_config(pmm);
	size_t ps = pmm_page_size(pmm);
	char batch[16], high[16];

	printf("instance\n");
	printf("  page size %zu B, max_order %u, pageblock_order %u, section %llu MiB\n", ps,
	       c->max_order, c->pageblock_order,
	       (unsigned long long)((1ull << c->section_shift) >> 20));
	printf("  memmap %s, backing %s, cpus %u, pcp %s (batch %s, high %s), "
	       "check_pages %s, dma32_end_pfn %#llx, build %s\n", cli_memmap_name(c->memmap),
	       cli_backing_name(c->backing), c->nr_cpus,
	       c->pcp_disable ? "off" : cli_pcp_fastpath_name(c->pcp_fastpath),
	       pcp_knob(c->pcp_batch, batch), pcp_knob(c->pcp_high, high),
	       cli_check_pages_name(c->check_pages), (unsigned long long)c->dma32_end_pfn,
	       cli_build_type());
	printf("  managed %llu frames (%.1f MiB), free %llu, leaked %llu\n",
	       (unsigned long long)pmm_managed_frames(pmm), mib(pmm_managed_frames(pmm), ps),
	       (unsigned long long)pmm_free_frames(pmm),
	       (unsigned long long)pmm_leaked_frames(pmm));

	printf("regions\n  %2s %12s %12s %10s %9s %4s\n", "#", "start_pfn", "end_pfn",
	       "frames", "MiB", "node");
	for (unsigned int i = 0; i < c->nr_regions; i++) {
		const struct pmm_region *r = &c->regions[i];

		printf("  %2u %#12llx %#12llx %10llu %9.1f %4d\n", i,
		       (unsigned long long)r->start_pfn,
		       (unsigned long long)(r->start_pfn + r->nr_pages),
		       (unsigned long long)r->nr_pages, mib(r->nr_pages, ps), r->nid);
	}

	printf("zones\n  %4s %-7s %12s %12s %9s %9s %9s %6s %6s %6s %6s  %s\n", "node",
	       "zone", "start_pfn", "end_pfn", "spanned", "managed", "free", "pcp", "min",
	       "low", "high", "pageblocks");
	for (unsigned int i = 0; i < pmm_nr_zones(pmm); i++) {
		struct pmm_zone_info z;

		if (pmm_zone_info(pmm, i, &z))
			continue;
		printf("  %4d %-7s %#12llx %#12llx %9llu %9llu %9llu %6llu %6llu %6llu %6llu ",
		       z.nid, z.name, (unsigned long long)z.start_pfn,
		       (unsigned long long)(z.start_pfn + z.spanned_pages),
		       (unsigned long long)z.spanned_pages, (unsigned long long)z.managed_pages,
		       (unsigned long long)z.free_pages, (unsigned long long)z.pcp_pages,
		       (unsigned long long)z.wmark_min, (unsigned long long)z.wmark_low,
		       (unsigned long long)z.wmark_high);
		for (int mt = 0; mt < PMM_MIGRATE_TYPES; mt++)
			if (z.nr_pageblocks_mt[mt])
				printf(" %s:%llu", pmm_migratetype_name(mt),
				       (unsigned long long)z.nr_pageblocks_mt[mt]);
		printf("\n");
	}
}

static void info_layout_json(struct jw *w, pmm_t *pmm)
{
	const struct pmm_config *c = pmm_get_config(pmm);

	jw_obj_begin(w, "instance");
	jw_u64(w, "page_size", pmm_page_size(pmm));
	jw_u64(w, "max_order", c->max_order);
	jw_u64(w, "pageblock_order", c->pageblock_order);
	jw_u64(w, "section_shift", c->section_shift);
	jw_str(w, "memmap", cli_memmap_name(c->memmap));
	jw_str(w, "backing", cli_backing_name(c->backing));
	jw_u64(w, "nr_cpus", c->nr_cpus);
	jw_bool(w, "pcp", !c->pcp_disable);
	jw_str(w, "check_pages", cli_check_pages_name(c->check_pages));
	jw_str(w, "pcp_fastpath", cli_pcp_fastpath_name(c->pcp_fastpath));
	jw_u64(w, "pcp_batch", c->pcp_batch);
	jw_u64(w, "pcp_high", c->pcp_high);
	jw_u64(w, "dma32_end_pfn", c->dma32_end_pfn);
	jw_u64(w, "managed_frames", pmm_managed_frames(pmm));
	jw_u64(w, "free_frames", pmm_free_frames(pmm));
	jw_u64(w, "leaked_frames", pmm_leaked_frames(pmm));
	jw_str(w, "build", cli_build_type());
	jw_obj_end(w);

	jw_arr_begin(w, "regions");
	for (unsigned int i = 0; i < c->nr_regions; i++) {
		jw_obj_begin(w, NULL);
		jw_u64(w, "start_pfn", c->regions[i].start_pfn);
		jw_u64(w, "nr_pages", c->regions[i].nr_pages);
		jw_i64(w, "nid", c->regions[i].nid);
		jw_obj_end(w);
	}
	jw_arr_end(w);

	jw_arr_begin(w, "zones");
	for (unsigned int i = 0; i < pmm_nr_zones(pmm); i++) {
		struct pmm_zone_info z;

		if (pmm_zone_info(pmm, i, &z))
			continue;
		jw_obj_begin(w, NULL);
		jw_i64(w, "nid", z.nid);
		jw_str(w, "zone", z.name);
		jw_u64(w, "start_pfn", z.start_pfn);
		jw_u64(w, "end_pfn", z.start_pfn + z.spanned_pages);
		jw_u64(w, "spanned_pages", z.spanned_pages);
		jw_u64(w, "managed_pages", z.managed_pages);
		jw_u64(w, "free_pages", z.free_pages);
		jw_u64(w, "pcp_pages", z.pcp_pages);
		jw_u64(w, "wmark_min", z.wmark_min);
		jw_u64(w, "wmark_low", z.wmark_low);
		jw_u64(w, "wmark_high", z.wmark_high);
		jw_obj_begin(w, "pageblocks");
		for (int mt = 0; mt < PMM_MIGRATE_TYPES; mt++)
			jw_u64(w, pmm_migratetype_name(mt), z.nr_pageblocks_mt[mt]);
		jw_obj_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* Print the sections in @what of @pmm; Return: 0, or -1 if a printer failed. */
static int info_print(pmm_t *pmm, unsigned int what, bool json)
{
	struct jw w;
	int ret = 0;

	if (!json) {
		if (what & INFO_LAYOUT)
			info_layout_text(pmm);
		for (size_t i = 0; i < ARRAY_SIZE(info_printers); i++) {
			int err;

			if (!(what & info_printers[i].bit))
				continue;
			printf("%s\n", info_printers[i].name);
			fflush(stdout);	/* the library may write through its own FILE path */
			err = info_printers[i].fn(pmm, stdout, 0);
			if (err) {
				fprintf(stderr, "pmm info: %s failed: %s (%d)\n",
					info_printers[i].name, pmm_strerror(err), err);
				ret = -1;
			}
		}
		return ret;
	}

	jw_init(&w, stdout);
	jw_obj_begin(&w, NULL);
	if (what & INFO_LAYOUT)
		info_layout_json(&w, pmm);
	for (size_t i = 0; i < ARRAY_SIZE(info_printers); i++) {
		char *text;

		if (!(what & info_printers[i].bit))
			continue;
		text = capture_json(pmm, info_printers[i].fn, info_printers[i].name);
		if (!text)
			ret = -1;
		jw_raw(&w, info_printers[i].name,
		       text ? json_unwrap(text, info_printers[i].name) : NULL);
		free(text);
	}
	jw_obj_end(&w);
	fputc('\n', stdout);
	return ret;
}

/* The own flags of a command whose only one is --json (info, check). */
static const struct cli_flag json_flags[] = {
	{ "json", NULL, 0, "print one JSON object" },
	{ NULL, NULL, 0, NULL },
};

/* json_flags' apply: @ctx is the command's bool. */
static int json_apply(const struct cli_arg *a, void *ctx)
{
	*(bool *)ctx = true;
	return 0;
}

static const struct cli_cmd info_cmd = {
	.name = "info",
	.help = "usage: pmm info [--json] [instance flags]\n"
		"Build an instance and print its layout (regions, zones, watermarks, pcp),\n"
		"buddyinfo, pagetypeinfo, counters and the address-space side (LRU lists,\n"
		"deferred split queues, swap cache, live address spaces).\n",
	.flags = json_flags,
	.apply = json_apply,
};

/* info and report's layout section share this; @what selects the sections. */
static int info_run(int argc, char **argv, unsigned int what, const char *who)
{
	struct pmm_config cfg;
	bool json = false;
	pmm_t *pmm;
	int ret, parsed;

	parsed = cli_parse(&info_cmd, argc, argv, &cfg, &json);
	if (parsed != CLI_RUN)
		return parsed;
	pmm = cli_create(&cfg, who);
	if (!pmm)
		return CLI_EXIT_FAIL;
	ret = info_print(pmm, what, json) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	pmm_destroy(pmm);
	return ret;
}

static int cmd_info(int argc, char **argv)
{
	return info_run(argc, argv, INFO_ALL, "info");
}

/* ------------------------------------------------------------------------
 * check
 * ------------------------------------------------------------------------ */

#define CHECK_MAX_HELD 256
#define CHECK_MAX_PROBLEMS 32	/* kept for --json; all are counted and printed */

/* One failure, for --json. */
struct check_problem {
	const char *what;	/* the failed call or state: a string literal */
	char why[96];
};

/* What the check workload holds; everything is freed before the final check. */
struct check_ctx {
	pmm_t *pmm;
	struct pmm_page *blocks[CHECK_MAX_HELD];	/* non-compound, order below */
	unsigned int orders[CHECK_MAX_HELD];
	unsigned int nr_blocks;
	unsigned int failures;
	unsigned long skipped;	/* allocations refused (small instances) */
	struct check_problem problems[CHECK_MAX_PROBLEMS];	/* the first failures */
};

/* Count a failure and keep it for --json; the caller has printed it. */
static void check_record(struct check_ctx *c, const char *what, const char *why)
{
	if (c->failures < CHECK_MAX_PROBLEMS) {
		c->problems[c->failures].what = what;
		snprintf(c->problems[c->failures].why, sizeof(c->problems[0].why), "%s", why);
	}
	c->failures++;
}

/* @what names the failed call or state; @why says what was wrong. */
static void check_fail(struct check_ctx *c, const char *what, const char *why)
{
	fprintf(stderr, "check: FAILED: %s: %s\n", what, why);
	check_record(c, what, why);
}

static struct pmm_page *check_alloc(struct check_ctx *c, pmm_gfp_t gfp, unsigned int order)
{
	struct pmm_page *page = pmm_alloc_pages(c->pmm, gfp | PMM_GFP_NOWARN, order);

	if (!page) {
		c->skipped++;
		return NULL;
	}
	if (pmm_page_count(page) != 1)
		check_fail(c, "alloc_pages", "new page's refcount is not 1");
	if (pmm_page_to_pfn(c->pmm, page) & ((1ull << order) - 1))
		check_fail(c, "alloc_pages", "block not aligned to its order");
	return page;
}

static void check_hold(struct check_ctx *c, struct pmm_page *page, unsigned int order)
{
	if (!page)
		return;
	if (c->nr_blocks == CHECK_MAX_HELD) {
		pmm_free_pages(c->pmm, page, order);
		return;
	}
	c->orders[c->nr_blocks] = order;
	c->blocks[c->nr_blocks++] = page;
}

/*
 * Address spaces, once through every path, in each gather mode: populate
 * VMAs of orders 0, 3 and 9, fork, write through both sides (the copy must
 * not show through), unmap half of every large folio, put a range in the
 * swap cache, scan, exit both. Instances with other page sizes have none.
 */
static void check_address_spaces(struct check_ctx *c)
{
	static const unsigned int orders[] = { 0, 3, 9 };
	const uint64_t base = 1ull << 32, span = 4ull << 20;
	pmm_t *pmm = c->pmm;

	if (pmm_page_size(pmm) != 4096 || pmm_get_config(pmm)->pageblock_order < 9)
		return;
	for (int mode = 0; mode < PMM_NR_GATHER_MODES; mode++) {
		struct pmm_mm_config mc;
		pmm_mm_t *mm, *child;
		void *a, *b;

		pmm_mm_config_init(&mc);
		mc.gather = (enum pmm_gather_mode)mode;
		if (pmm_mm_create(pmm, &mc, &mm)) {
			check_fail(c, "pmm_mm_create", "refused on a 4 KiB instance");
			return;
		}
		for (size_t i = 0; i < ARRAY_SIZE(orders); i++)
			if (pmm_mm_map_anon(mm, base + i * span, span, orders[i],
					    PMM_MAP_WRITE | PMM_MAP_POPULATE))
				c->skipped++;
		if (pmm_mm_fork(mm, &child)) {
			c->skipped++;
			pmm_mm_destroy(mm);
			continue;
		}
		if (pmm_get_config(pmm)->backing != PMM_BACKING_NONE &&
		    !pmm_mm_access(mm, base + span, true, &a) && !pmm_mm_access(child, base + span, true, &b)) {
			memset(a, 0x11, 64);
			memset(b, 0x22, 64);
			if (pmm_mm_access(mm, base + span, false, &a) || *(unsigned char *)a != 0x11)
				check_fail(c, "copy on write", "the child's write showed through");
		}
		for (uint64_t at = base + span; at < base + 3 * span; at += 64 << 10)
			pmm_mm_unmap(child, at, 32 << 10);
		if (pmm_mm_swapcache_add(mm, base, span))
			c->skipped++;
		pmm_mm_destroy(mm);
		(void)pmm_deferred_split_scan(pmm, 1024);
		if (pmm_check(pmm))
			check_fail(c, "pmm_check", "address spaces inconsistent");
		pmm_mm_destroy(child);
		if (pmm_swapcache_nr(pmm))
			check_fail(c, "swap cache", "folios left after both exits");
	}
}

/*
 * A fixed sequence that touches every allocation and free path once:
 * plain blocks of every order, split pages freed singly and as a contig
 * range (from an unaligned start), a folio with extra references, a
 * non-compound block freed while its head keeps a reference, bulk
 * allocation into a half-filled array, exact allocations and a contiguous
 * range, and address spaces. The instance is checked while all of it is
 * held, then after everything is freed.
 */
static void check_workload(struct check_ctx *c)
{
	pmm_t *pmm = c->pmm;
	const struct pmm_config *cfg = pmm_get_config(pmm);
	struct pmm_page *bulk[96], *page;
	struct pmm_folio *folio;
	unsigned long n;
	int err;

	for (unsigned int round = 0; round < 2; round++)
		for (unsigned int order = 0; order <= cfg->max_order; order++)
			check_hold(c, check_alloc(c, round ? PMM_GFP_MOVABLE : PMM_GFP_KERNEL,
						  order), order);

	/* split_page: the odd pages one by one, the even ones by put. */
	page = check_alloc(c, PMM_GFP_KERNEL, 3);
	if (page) {
		pmm_pfn_t pfn = pmm_page_to_pfn(pmm, page);

		pmm_split_page(pmm, page, 3);
		for (unsigned int i = 0; i < 8; i++)
			if (pmm_page_count(pmm_pfn_to_page(pmm, pfn + i)) != 1)
				check_fail(c, "split_page", "a page's refcount is not 1");
		for (unsigned int i = 1; i < 8; i += 2)
			pmm_free_pages(pmm, pmm_pfn_to_page(pmm, pfn + i), 0);
		for (unsigned int i = 0; i < 8; i += 2)
			pmm_put_page(pmm, pmm_pfn_to_page(pmm, pfn + i));
	}
	/* free_contig_range from an unaligned start, in two parts. */
	page = check_alloc(c, PMM_GFP_KERNEL, 5);
	if (page) {
		pmm_pfn_t pfn = pmm_page_to_pfn(pmm, page);

		pmm_split_page(pmm, page, 5);
		pmm_free_contig_range(pmm, pfn + 3, 29);
		pmm_free_contig_range(pmm, pfn, 3);
	}
	/* folio with two extra references dropped at once. */
	folio = pmm_folio_alloc(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 2);
	if (folio) {
		if (pmm_folio_order(folio) != 2 || pmm_folio_ref_count(folio) != 1)
			check_fail(c, "folio_alloc", "wrong order or refcount");
		if (pmm_page_folio(pmm_folio_page(pmm, folio, 3)) != folio)
			check_fail(c, "folio_alloc", "tail does not lead to its folio");
		pmm_folio_get(pmm, folio);
		pmm_folio_get(pmm, folio);
		pmm_folio_put_refs(pmm, folio, 2);
		if (pmm_folio_ref_count(folio) != 1)
			check_fail(c, "folio_put_refs", "refcount not back to 1");
		pmm_folio_put(pmm, folio);
	} else {
		c->skipped++;
	}
	/* non-compound block whose head keeps a reference (Linux __free_pages). */
	page = check_alloc(c, PMM_GFP_KERNEL, 2);
	if (page) {
		pmm_get_page(pmm, page);
		pmm_free_pages(pmm, page, 2);
		if (pmm_page_count(page) != 1)
			check_fail(c, "free_pages", "head lost its extra reference");
		pmm_put_page(pmm, page);
	}
	/* bulk into an array whose every third slot is already taken. */
	memset(bulk, 0, sizeof(bulk));
	for (unsigned int i = 0; i < ARRAY_SIZE(bulk); i += 3)
		bulk[i] = check_alloc(c, PMM_GFP_KERNEL, 0);
	{
		struct pmm_page *before[ARRAY_SIZE(bulk)];
		unsigned long nonnull = 0;

		memcpy(before, bulk, sizeof(bulk));
		n = pmm_alloc_pages_bulk(pmm, PMM_GFP_KERNEL, ARRAY_SIZE(bulk), bulk);
		for (unsigned int i = 0; i < ARRAY_SIZE(bulk); i++) {
			if (before[i] && bulk[i] != before[i])
				check_fail(c, "alloc_pages_bulk", "replaced a slot that held a page");
			nonnull += bulk[i] != NULL;
		}
		if (n != nonnull)
			check_fail(c, "alloc_pages_bulk", "return value is not the filled-slot count");
	}

	/* exact allocations: pfn form everywhere, address form when backed. */
	page = pmm_alloc_pages_exact_pfn(pmm, 7, PMM_GFP_KERNEL | PMM_GFP_NOWARN);
	if (page)
		pmm_free_contig_range(pmm, pmm_page_to_pfn(pmm, page), 7);
	else
		c->skipped++;
	if (cfg->backing != PMM_BACKING_NONE) {
		size_t size = 5 * pmm_page_size(pmm) + 1;
		void *addr = pmm_alloc_pages_exact(pmm, size, PMM_GFP_ZERO | PMM_GFP_NOWARN);

		if (addr) {
			for (size_t i = 0; i < size; i++)
				if (((unsigned char *)addr)[i]) {
					check_fail(c, "alloc_pages_exact", "memory not zeroed");
					break;
				}
			memset(addr, 0x5a, size);
			pmm_free_pages_exact(pmm, addr, size);
		} else {
			c->skipped++;
		}
	}
	/* a contiguous range found by search. */
	page = pmm_alloc_contig_pages(pmm, 300, PMM_GFP_KERNEL | PMM_GFP_NOWARN, -1);
	if (page)
		pmm_free_contig_range(pmm, pmm_page_to_pfn(pmm, page), 300);
	else
		c->skipped++;

	check_address_spaces(c);

	err = pmm_check(pmm);
	if (err)
		check_fail(c, "pmm_check with allocations held", pmm_strerror(err));

	pmm_free_pages_bulk(pmm, bulk, ARRAY_SIZE(bulk));
	while (c->nr_blocks) {
		c->nr_blocks--;
		pmm_free_pages(pmm, c->blocks[c->nr_blocks], c->orders[c->nr_blocks]);
	}
}

/* Per-zone buddyinfo, to compare the end state with the fresh instance. */
struct check_snapshot {
	unsigned int nr_zones;
	uint64_t nr_free[PMM_NR_ZONE_TYPES * PMM_MAX_NODES][PMM_MAX_ORDER_LIMIT + 1];
};

static void check_snapshot(pmm_t *pmm, struct check_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->nr_zones = pmm_nr_zones(pmm);
	if (s->nr_zones > ARRAY_SIZE(s->nr_free))
		s->nr_zones = ARRAY_SIZE(s->nr_free);
	for (unsigned int i = 0; i < s->nr_zones; i++) {
		struct pmm_zone_info z;

		if (!pmm_zone_info(pmm, i, &z))
			memcpy(s->nr_free[i], z.nr_free, sizeof(s->nr_free[i]));
	}
}

/* --json's members: the result, the figures the text prints, the instance. */
static void check_print_json(const struct check_ctx *c, uint64_t free_frames, uint64_t expect,
			     uint64_t bad_pages)
{
	struct jw w;

	jw_init(&w, stdout);
	jw_obj_begin(&w, NULL);
	jw_str(&w, "command", "check");
	jw_bool(&w, "ok", c->failures == 0);
	jw_u64(&w, "failures", c->failures);
	jw_arr_begin(&w, "problems");	/* the first CHECK_MAX_PROBLEMS */
	for (unsigned int i = 0; i < c->failures && i < CHECK_MAX_PROBLEMS; i++) {
		jw_obj_begin(&w, NULL);
		jw_str(&w, "what", c->problems[i].what);
		jw_str(&w, "why", c->problems[i].why);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_u64(&w, "refused_allocations", c->skipped);
	jw_u64(&w, "free_frames", free_frames);
	jw_u64(&w, "expected_free_frames", expect);
	jw_u64(&w, "managed_frames", pmm_managed_frames(c->pmm));
	jw_u64(&w, "leaked_frames", pmm_leaked_frames(c->pmm));
	jw_u64(&w, "bad_page_reports", bad_pages);
	cli_json_config(&w, c->pmm);
	jw_obj_end(&w);
	fputc('\n', stdout);
}

static const struct cli_cmd check_cmd = {
	.name = "check",
	.help = "usage: pmm check [--json] [instance flags]\n"
		"Run a short deterministic workload over every allocation and free path,\n"
		"free everything, drain the pcp lists and verify the invariants\n"
		"(pmm_check, no lost frames, buddyinfo back to the fresh instance's).\n"
		"Prints \"check: ok\" and exits 0, or exits 1 (each problem on stderr too).\n",
	.flags = json_flags,
	.apply = json_apply,
};

static int cmd_check(int argc, char **argv)
{
	struct check_snapshot fresh, end;
	struct check_ctx c;
	struct pmm_stats st;
	struct pmm_config cfg;
	uint64_t free_frames, expect;
	bool json = false;
	char why[96];
	int err, parsed;

	parsed = cli_parse(&check_cmd, argc, argv, &cfg, &json);
	if (parsed != CLI_RUN)
		return parsed;
	memset(&c, 0, sizeof(c));
	c.pmm = cli_create(&cfg, "check");
	if (!c.pmm)
		return CLI_EXIT_FAIL;

	err = pmm_check(c.pmm);
	if (err)
		check_fail(&c, "pmm_check on the fresh instance", pmm_strerror(err));
	check_snapshot(c.pmm, &fresh);

	check_workload(&c);

	pmm_drain_all_pages(c.pmm);
	err = pmm_check(c.pmm);
	if (err)
		check_fail(&c, "pmm_check after freeing everything", pmm_strerror(err));
	free_frames = pmm_free_frames(c.pmm);
	expect = pmm_managed_frames(c.pmm) - pmm_leaked_frames(c.pmm);
	if (free_frames != expect) {
		snprintf(why, sizeof(why), "%llu frames free, expected %llu",
			 (unsigned long long)free_frames, (unsigned long long)expect);
		fprintf(stderr, "check: FAILED: %s\n", why);
		check_record(&c, "free frames", why);
	}
	pmm_stats_get(c.pmm, &st);
	if (st.bad_page) {
		snprintf(why, sizeof(why), "%llu bad page reports", (unsigned long long)st.bad_page);
		fprintf(stderr, "check: FAILED: %s\n", why);
		check_record(&c, "bad pages", why);
	}
	check_snapshot(c.pmm, &end);
	if (memcmp(&fresh, &end, sizeof(fresh)))
		check_fail(&c, "buddyinfo", "differs from the fresh instance's "
			   "(free memory not merged back)");
	if (json)
		check_print_json(&c, free_frames, expect, st.bad_page);
	else if (c.skipped)
		printf("check: note: %lu allocations refused (small instance?)\n", c.skipped);
	pmm_destroy(c.pmm);
	if (c.failures) {
		if (!json)
			printf("check: FAILED (%u problems)\n", c.failures);
		return CLI_EXIT_FAIL;
	}
	if (!json)
		printf("check: ok\n");
	return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------------
 * bench
 * ------------------------------------------------------------------------ */

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} bench_families[] = {
	{ "fastpath", bench_fastpath, "order-0 alloc+free pair: pcp hit, pcp miss, buddy only" },
	{ "contig", bench_contig, "free_contig_range: per page vs batched vs floor, orders 0..max" },
	{ "teardown", bench_teardown, "mmu_gather teardown of 1 GiB: per page vs ranges vs encoded vs floor" },
	{ "vmalloc", bench_vmalloc, "test_vmalloc cases: vfree per page vs batched, 1 and 2 threads" },
	{ "peers", bench_peers, "page-granular workloads: pmm vs glibc, jemalloc, mimalloc, tcmalloc" },
	{ "scale", bench_scale, "threads 1..CPUs and 2x: order-0/9 pairs, cross-thread frees" },
};

static void bench_usage(FILE *f)
{
	fputs("usage: pmm bench NAME [--json] [flags] [instance flags]\n"
	      "Benchmarks (variants interleaved, median of repetitions):\n",
	      f);
	for (size_t i = 0; i < ARRAY_SIZE(bench_families); i++)
		fprintf(f, "  %-10s %s\n", bench_families[i].name, bench_families[i].what);
	fputs("'pmm bench NAME --help' lists a benchmark's own flags.\n", f);
}

static int cmd_bench(int argc, char **argv)
{
	if (argc < 2 || cli_is_help(argv[1])) {
		bench_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(bench_families); i++)
		if (!strcmp(argv[1], bench_families[i].name))
			return bench_families[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "pmm bench: unknown benchmark '%s'\n", argv[1]);
	bench_usage(stderr);
	return CLI_EXIT_USAGE;
}

/* ------------------------------------------------------------------------
 * report: the README's first command
 * ------------------------------------------------------------------------ */

static int report_layout(int argc, char **argv)
{
	return info_run(argc, argv, INFO_LAYOUT | INFO_BUDDYINFO, "report");
}

/*
 * The report is a list of sections run in order; each gets `pmm report`'s
 * own command line, so the instance flags apply to every section. A new
 * benchmark family joins the report with one line here.
 */
static const struct {
	const char *title;
	int (*fn)(int argc, char **argv);
} report_sections[] = {
	{ "layout", report_layout },
	{ "fastpath", bench_fastpath },
	{ "contig", bench_contig },
	{ "teardown", bench_teardown_short },
	{ "vmalloc", bench_vmalloc_short },
	{ "peers", bench_peers_short },
	{ "scale", bench_scale_short },
};

struct report_opts {
	bool json;
	unsigned int sections;	/* bit s: report_sections[s] runs */
};

enum { RP_JSON, RP_SECTIONS };

static const struct cli_flag report_flags[] = {
	{ "json", NULL, RP_JSON, "one JSON object: each section's own --json object, its\n"
	  "exit code and seconds" },
	{ "sections", "LIST", RP_SECTIONS, "only these, e.g. layout,contig (default all:\n"
	  "layout,fastpath,contig,teardown,vmalloc,peers,scale)" },
	{ NULL, NULL, 0, NULL },
};

/* "layout,contig" -> a mask of report_sections. */
static int report_arg_sections(const struct cli_arg *a, unsigned int *mask)
{
	const char *p = a->val;

	*mask = 0;
	while (*p) {
		size_t len = strcspn(p, ","), k;

		for (k = 0; k < ARRAY_SIZE(report_sections); k++)
			if (strlen(report_sections[k].title) == len &&
			    !strncmp(report_sections[k].title, p, len))
				break;
		if (k == ARRAY_SIZE(report_sections))
			return cli_bad_value(a, "a list of layout, fastpath, contig, teardown, vmalloc");
		*mask |= 1u << k;
		p += len + (p[len] == ',');
	}
	return *mask ? 0 : cli_bad_value(a, "at least one section");
}

static int report_apply(const struct cli_arg *a, void *ctx)
{
	struct report_opts *o = ctx;

	if (a->flag->id == RP_SECTIONS)
		return report_arg_sections(a, &o->sections);
	o->json = true;
	return 0;
}

static const struct cli_cmd report_cmd = {
	.name = "report",
	.help = "usage: pmm report [--json] [--sections LIST] [instance flags]\n"
		"The default instance's layout and buddyinfo, then every benchmark family's\n"
		"figures in text form. Instance flags apply to every section; --json is\n"
		"passed to each as well.\n",
	.flags = report_flags,
	.apply = report_apply,
};

/*
 * A section's command line: report's own, without --sections (which no
 * section takes); --json and the instance flags stay. cli_parse() has
 * accepted it, so "--sections" can only be the flag, and its value follows
 * unless written "--sections=LIST".
 * Return: a malloc'd argv with *@out_argc entries, or NULL.
 */
static char **report_section_argv(int argc, char **argv, int *out_argc)
{
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	int n = 0;

	if (!args)
		return NULL;
	for (int i = 0; i < argc; i++) {
		if (i && !strcmp(argv[i], "--sections")) {
			i++;
			continue;
		}
		if (i && !strncmp(argv[i], "--sections=", 11))
			continue;
		args[n++] = argv[i];
	}
	*out_argc = n;
	return args;
}

/*
 * Run @fn with stdout sent to a temporary file; Return: what it wrote
 * (malloc'd, trailing whitespace cut), or NULL, with its exit code in
 * *@ret. `report --json` embeds each section's own --json object so that
 * every family's printer stays the one source of its format.
 */
static char *report_capture(int (*fn)(int, char **), int argc, char **argv, int *ret)
{
	FILE *tmp = tmpfile();
	char *buf = NULL;
	int saved = -1;
	long len;

	fflush(stdout);
	if (tmp)
		saved = dup(STDOUT_FILENO);
	if (saved < 0 || dup2(fileno(tmp), STDOUT_FILENO) < 0) {
		fprintf(stderr, "pmm report: cannot capture a section's output\n");
		if (saved >= 0)
			close(saved);
		if (tmp)
			fclose(tmp);
		*ret = CLI_EXIT_FAIL;
		return NULL;
	}
	*ret = fn(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	len = ftell(tmp);
	if (len > 0 && fseek(tmp, 0, SEEK_SET) == 0 && (buf = malloc((size_t)len + 1))) {
		len = (long)fread(buf, 1, (size_t)len, tmp);
		while (len && strchr(" \t\r\n", buf[len - 1]))
			len--;
		buf[len] = '\0';
	}
	fclose(tmp);
	return buf;
}

static int cmd_report(int argc, char **argv)
{
	struct report_opts o = { false, (1u << ARRAY_SIZE(report_sections)) - 1 };
	struct pmm_config cfg;
	struct jw w;
	char **args;
	int failed = 0, parsed, nargs;

	/* Reject bad flags before spending time on any section. */
	parsed = cli_parse(&report_cmd, argc, argv, &cfg, &o);
	if (parsed != CLI_RUN)
		return parsed;
	args = report_section_argv(argc, argv, &nargs);
	if (!args) {
		fprintf(stderr, "pmm report: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	if (o.json) {
		jw_init(&w, stdout);
		jw_obj_begin(&w, NULL);
		jw_str(&w, "command", "report");
		jw_str(&w, "version", pmm_version());
		jw_str(&w, "build", cli_build_type());
		jw_obj_begin(&w, "sections");
	} else {
		printf("pmm report (build %s)\n", cli_build_type());
	}
	for (size_t s = 0; s < ARRAY_SIZE(report_sections); s++) {
		uint64_t t0 = cli_now_ns();
		char *out = NULL;
		int ret;

		if (!(o.sections & (1u << s)))
			continue;
		if (o.json) {
			out = report_capture(report_sections[s].fn, nargs, args, &ret);
		} else {
			printf("\n== %s ==\n", report_sections[s].title);
			fflush(stdout);
			ret = report_sections[s].fn(nargs, args);
			fflush(stdout);
		}
		if (ret != CLI_EXIT_OK) {
			fprintf(stderr, "pmm report: section %s failed (exit %d)\n",
				report_sections[s].title, ret);
			failed = 1;
		}
		if (o.json) {
			jw_obj_begin(&w, report_sections[s].title);
			jw_i64(&w, "exit", ret);
			jw_double(&w, "seconds", (double)(cli_now_ns() - t0) / 1e9);
			/* A failed section may have printed nothing, or not an object. */
			jw_raw(&w, "result", ret == CLI_EXIT_OK && out && out[0] == '{' ? out : NULL);
			jw_obj_end(&w);
		} else {
			printf("(%s: %.1f s)\n", report_sections[s].title,
			       (double)(cli_now_ns() - t0) / 1e9);
		}
		free(out);
	}
	if (o.json) {
		jw_obj_end(&w);
		jw_bool(&w, "ok", !failed);
		jw_obj_end(&w);
		fputc('\n', stdout);
	}
	free(args);
	return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* ------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------ */

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} commands[] = {
	{ "report", cmd_report, "layout, buddyinfo and every benchmark (the README's command)" },
	{ "info", cmd_info, "print an instance's layout, buddyinfo, pagetypeinfo, counters" },
	{ "check", cmd_check, "deterministic workload, then verify invariants" },
	{ "stress", cmd_stress, "multi-threaded random workload with verification" },
	{ "bench", cmd_bench, "run a benchmark family: pmm bench NAME" },
};

static void usage(FILE *f)
{
	fputs("usage: pmm <command> [flags]\n\ncommands:\n", f);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].what);
	fputs("  help     this text; 'pmm help TOPIC' for one command (report, info, check,\n"
	      "           stress, bench, bench NAME) or the instance flags (flags)\n"
	      "  version  the library's version (also --version)\n\n"
	      "'pmm <command> --help' describes a command's own flags too.\n", f);
	cli_inst_usage(f);
}

/* `pmm help TOPIC ...`: the help a command prints for --help, on stdout. */
static int help_topic(int argc, char **argv)
{
	char help[] = "--help", bench[] = "bench";
	char *args[] = { argv[0], help, NULL, NULL };
	const char *topic = argv[0];

	if (!strcmp(topic, "flags") && argc == 1) {
		cli_inst_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(topic, "help") && argc == 1) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(topic, "version") && argc == 1) {
		fputs("usage: pmm version (or pmm --version)\n"
		      "Print the version of the library linked in (pmm_version()).\n", stdout);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(topic, commands[i].name))
			continue;
		if (argc == 1)
			return commands[i].fn(2, args);
		/* "bench NAME": the family's own help; an unknown one is refused there. */
		if (commands[i].fn == cmd_bench && argc == 2) {
			args[1] = argv[1];
			args[2] = help;
			return cmd_bench(3, args);
		}
	}
	/* A benchmark family's name alone: `pmm help contig`. */
	for (size_t i = 0; i < ARRAY_SIZE(bench_families) && argc == 1; i++)
		if (!strcmp(topic, bench_families[i].name)) {
			args[0] = bench;
			args[1] = argv[0];
			args[2] = help;
			return cmd_bench(3, args);
		}
	fprintf(stderr, "pmm help: unknown topic '%s", topic);
	for (int i = 1; i < argc; i++)
		fprintf(stderr, " %s", argv[i]);
	fputs("' (topics: report, info, check, stress, bench, bench NAME, flags)\n", stderr);
	return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	/* Asked for, help goes to stdout; a missing command is misuse. */
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (cli_is_help(argv[1])) {
		if (argc > 2)
			return help_topic(argc - 2, argv + 2);
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("pmm %s\n", pmm_version());
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "pmm: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
