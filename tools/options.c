/* SPDX-License-Identifier: MIT */
/*
 * options.c - the instance flags every `pmm` command accepts, mapped onto
 * struct pmm_config (the library never reads the command line or the
 * environment; the CLI owns that mapping).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The library's default region starts here (pmm.h: 1 GiB at pfn 0x100000). */
#define OPTS_DEFAULT_START_PFN 0x100000ull
#define OPTS_DEFAULT_MEM (1ull << 30)

int cli_opts_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int cli_opts_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	case '\0': break;
	default: return -1;
	}
	if (shift) {
		end++;
		if (*end == 'i')	/* accept "GiB" as well as "G" / "GB" */
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
	}
	if (*end || (v << shift) >> shift != v)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

const char *cli_memmap_name(enum pmm_memmap_model m)
{
	switch (m) {
	case PMM_MEMMAP_SPARSE: return "sparse";
	case PMM_MEMMAP_VMEMMAP: return "vmemmap";
	}
	return "?";
}

const char *cli_backing_name(enum pmm_backing b)
{
	switch (b) {
	case PMM_BACKING_MEMFD: return "memfd";
	case PMM_BACKING_ANON: return "anon";
	case PMM_BACKING_NONE: return "none";
	case PMM_BACKING_USER: return "user";
	}
	return "?";
}

bool cli_opts_is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help") || !strcmp(arg, "help");
}

void cli_opts_usage(FILE *f)
{
	fputs("Instance flags (every command):\n"
	      "  --mem SIZE            memory, e.g. 1G, 256M (default 1G)\n"
	      "  --start-pfn N         first frame of the memory (default 0x100000)\n"
	      "  --nodes N             split the memory into N equal regions on nodes 0..N-1\n"
	      "  --memmap sparse|vmemmap   memmap model (default sparse)\n"
	      "  --backing memfd|anon|none backing memory (default memfd)\n"
	      "  --hugepages           anon backing: madvise(MADV_HUGEPAGE)\n"
	      "  --cpus N              pcp sets per zone (default: online CPUs)\n"
	      "  --dma32-end-pfn N     DMA32/Normal zone split (default 4 GiB)\n"
	      "  --page-shift N        12..16 (default 12)\n"
	      "  --max-order N         largest buddy order (default 10)\n"
	      "  --pageblock-order N   (default 9)\n"
	      "  --section-shift N     (default 27)\n"
	      "  --no-pcp              no per-CPU lists: every call takes the zone path\n"
	      "  --pcp-batch N         pcp batch (default: kernel formula)\n"
	      "  --pcp-high N          pcp high (default: low watermark / CPUs, >= 4 * batch)\n"
	      "  --min-free N          min watermark in frames (default: kernel formula)\n"
	      "  --contig-per-page     free_contig_range page by page (pre-2026 path)\n"
	      "  --quiet               no library log lines\n"
	      "Numbers accept 0x hex; sizes accept K/M/G/T.\n", f);
}

/* Flags that take a value; the rest are booleans. */
enum opt_id {
	OPT_MEM, OPT_START_PFN, OPT_NODES, OPT_MEMMAP, OPT_BACKING, OPT_CPUS,
	OPT_DMA32, OPT_PAGE_SHIFT, OPT_MAX_ORDER, OPT_PB_ORDER, OPT_SECTION,
	OPT_PCP_BATCH, OPT_PCP_HIGH, OPT_MIN_FREE,
	OPT_HUGEPAGES, OPT_NO_PCP, OPT_CONTIG_PER_PAGE, OPT_QUIET,
};

static const struct {
	const char *name;
	enum opt_id id;
	bool has_value;
} opt_table[] = {
	{ "--mem", OPT_MEM, true },
	{ "--start-pfn", OPT_START_PFN, true },
	{ "--nodes", OPT_NODES, true },
	{ "--memmap", OPT_MEMMAP, true },
	{ "--backing", OPT_BACKING, true },
	{ "--cpus", OPT_CPUS, true },
	{ "--dma32-end-pfn", OPT_DMA32, true },
	{ "--page-shift", OPT_PAGE_SHIFT, true },
	{ "--max-order", OPT_MAX_ORDER, true },
	{ "--pageblock-order", OPT_PB_ORDER, true },
	{ "--section-shift", OPT_SECTION, true },
	{ "--pcp-batch", OPT_PCP_BATCH, true },
	{ "--pcp-high", OPT_PCP_HIGH, true },
	{ "--min-free", OPT_MIN_FREE, true },
	{ "--hugepages", OPT_HUGEPAGES, false },
	{ "--no-pcp", OPT_NO_PCP, false },
	{ "--contig-per-page", OPT_CONTIG_PER_PAGE, false },
	{ "--quiet", OPT_QUIET, false },
};

/* What the region flags asked for; regions are built once all are known,
 * because --mem depends on --page-shift whatever their order. */
struct region_req {
	bool set;
	uint64_t mem;
	uint64_t start_pfn;
	uint64_t nodes;
	bool pageblock_set;	/* --pageblock-order given */
};

static int bad_value(const char *flag, const char *val, const char *want)
{
	fprintf(stderr, "pmm: %s: bad value '%s' (want %s)\n", flag, val, want);
	return -1;
}

static int bad_range(const char *flag, const char *val, uint64_t lo, uint64_t hi)
{
	fprintf(stderr, "pmm: %s: bad value '%s' (want %llu..%llu)\n", flag, val,
		(unsigned long long)lo, (unsigned long long)hi);
	return -1;
}

/* An unsigned that must fit a struct field of @max. */
static int get_uint(const char *flag, const char *val, uint64_t max, uint64_t *out)
{
	if (cli_opts_parse_u64(val, out) || *out > max)
		return bad_value(flag, val, "a non-negative number");
	return 0;
}

static int apply(enum opt_id id, const char *flag, const char *val,
		 struct pmm_config *cfg, struct region_req *rr)
{
	uint64_t v = 0;

	switch (id) {
	case OPT_MEM:
		if (cli_opts_parse_size(val, &v) || v == 0)
			return bad_value(flag, val, "a size such as 1G or 256M");
		rr->mem = v;
		rr->set = true;
		return 0;
	case OPT_START_PFN:
		if (cli_opts_parse_u64(val, &v))
			return bad_value(flag, val, "a frame number");
		rr->start_pfn = v;
		rr->set = true;
		return 0;
	case OPT_NODES:
		if (cli_opts_parse_u64(val, &v) || v < 1 || v > PMM_MAX_NODES)
			return bad_range(flag, val, 1, PMM_MAX_NODES);
		rr->nodes = v;
		rr->set = true;
		return 0;
	case OPT_MEMMAP:
		if (!strcmp(val, "sparse"))
			cfg->memmap = PMM_MEMMAP_SPARSE;
		else if (!strcmp(val, "vmemmap"))
			cfg->memmap = PMM_MEMMAP_VMEMMAP;
		else
			return bad_value(flag, val, "sparse or vmemmap");
		return 0;
	case OPT_BACKING:
		if (!strcmp(val, "memfd"))
			cfg->backing = PMM_BACKING_MEMFD;
		else if (!strcmp(val, "anon"))
			cfg->backing = PMM_BACKING_ANON;
		else if (!strcmp(val, "none"))
			cfg->backing = PMM_BACKING_NONE;
		else
			return bad_value(flag, val, "memfd, anon or none");
		return 0;
	case OPT_CPUS:
		if (cli_opts_parse_u64(val, &v) || v < 1 || v > PMM_MAX_CPUS)
			return bad_range(flag, val, 1, PMM_MAX_CPUS);
		cfg->nr_cpus = (unsigned int)v;
		return 0;
	case OPT_DMA32:
		if (cli_opts_parse_u64(val, &v))
			return bad_value(flag, val, "a frame number");
		cfg->dma32_end_pfn = v;
		return 0;
	case OPT_PAGE_SHIFT:
		if (get_uint(flag, val, 63, &v))
			return -1;
		cfg->page_shift = (unsigned int)v;
		return 0;
	case OPT_MAX_ORDER:
		if (get_uint(flag, val, 63, &v))
			return -1;
		cfg->max_order = (unsigned int)v;
		return 0;
	case OPT_PB_ORDER:
		if (get_uint(flag, val, 63, &v))
			return -1;
		cfg->pageblock_order = (unsigned int)v;
		rr->pageblock_set = true;
		return 0;
	case OPT_SECTION:
		if (get_uint(flag, val, 63, &v))
			return -1;
		cfg->section_shift = (unsigned int)v;
		return 0;
	case OPT_PCP_BATCH:
		if (get_uint(flag, val, UINT32_MAX, &v))
			return -1;
		cfg->pcp_batch = (unsigned int)v;
		return 0;
	case OPT_PCP_HIGH:
		if (get_uint(flag, val, UINT32_MAX, &v))
			return -1;
		cfg->pcp_high = (unsigned int)v;
		return 0;
	case OPT_MIN_FREE:
		if (get_uint(flag, val, UINT64_MAX - 1, &v))
			return -1;
		cfg->min_free_pages = v;
		return 0;
	case OPT_HUGEPAGES:
		cfg->anon_hugepages = true;
		return 0;
	case OPT_NO_PCP:
		cfg->pcp_disable = true;
		return 0;
	case OPT_CONTIG_PER_PAGE:
		cfg->contig_per_page = true;
		return 0;
	case OPT_QUIET:
		cfg->quiet = true;
		return 0;
	}
	return -1;
}

/* Equal regions on nodes 0..N-1, back to back; the last takes the rest. */
static int build_regions(const struct region_req *rr, struct pmm_config *cfg)
{
	uint64_t page = 1ull << cfg->page_shift, frames, per, pfn;

	if (cfg->page_shift >= 64 || rr->mem % page) {
		fprintf(stderr, "pmm: --mem %llu is not a multiple of the page size (%llu)\n",
			(unsigned long long)rr->mem, (unsigned long long)page);
		return -1;
	}
	frames = rr->mem / page;
	if (frames < rr->nodes) {
		fprintf(stderr, "pmm: --mem is too small for %llu nodes\n",
			(unsigned long long)rr->nodes);
		return -1;
	}
	per = frames / rr->nodes;
	pfn = rr->start_pfn;
	cfg->nr_regions = (unsigned int)rr->nodes;
	for (unsigned int i = 0; i < rr->nodes; i++) {
		cfg->regions[i].start_pfn = pfn;
		cfg->regions[i].nr_pages = i + 1 < rr->nodes ? per : frames - per * i;
		cfg->regions[i].nid = (int)i;
		pfn += cfg->regions[i].nr_pages;
	}
	return 0;
}

int cli_opts_parse(int *argc, char **argv, struct pmm_config *cfg)
{
	struct region_req rr = { false, OPTS_DEFAULT_MEM, OPTS_DEFAULT_START_PFN, 1, false };
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '='), *val = NULL;
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		size_t k;

		for (k = 0; k < sizeof(opt_table) / sizeof(opt_table[0]); k++)
			if (strlen(opt_table[k].name) == len &&
			    !strncmp(opt_table[k].name, arg, len))
				break;
		if (k == sizeof(opt_table) / sizeof(opt_table[0])) {
			argv[out++] = argv[i];	/* the command's own argument */
			continue;
		}
		if (opt_table[k].has_value) {
			if (eq) {
				val = eq + 1;
			} else if (i + 1 < *argc) {
				val = argv[++i];
			} else {
				fprintf(stderr, "pmm: %s needs a value\n", opt_table[k].name);
				return -1;
			}
		} else if (eq) {
			fprintf(stderr, "pmm: %s takes no value\n", opt_table[k].name);
			return -1;
		}
		if (apply(opt_table[k].id, opt_table[k].name, val, cfg, &rr))
			return -1;
	}
	*argc = out;
	argv[out] = NULL;
	/* As the kernel's pageblock_order = min(default, MAX_ORDER): a small
	 * --max-order alone should not make the default config invalid. */
	if (!rr.pageblock_set && cfg->pageblock_order > cfg->max_order)
		cfg->pageblock_order = cfg->max_order;
	if (rr.set)
		return build_regions(&rr, cfg);
	return 0;
}

int cli_opts_reject_rest(int argc, char **argv, const char *who)
{
	if (argc <= 1)
		return 0;
	fprintf(stderr, "pmm %s: unknown argument '%s' (try 'pmm %s --help')\n",
		who, argv[1], who);
	return -1;
}

pmm_t *cli_opts_create(const struct pmm_config *cfg, const char *who)
{
	pmm_t *pmm = NULL;
	int err = pmm_create(cfg, &pmm);

	if (err) {
		fprintf(stderr, "pmm %s: cannot create the instance: %s (%d)\n",
			who, pmm_strerror(err), err);
		return NULL;
	}
	return pmm;
}
