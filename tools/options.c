/* SPDX-License-Identifier: MIT */
/*
 * options.c - every `pmm` command's flags: the instance flags all commands
 * accept, mapped onto struct pmm_config (the library never reads the
 * command line or the environment; the CLI owns that mapping), plus the
 * command's own flags, parsed in the same getopt_long() loop.
 *
 * A flag is one table entry (struct cli_flag): the parser's struct option,
 * the value's name and the --help line are all derived from it, so the
 * help cannot drift from what is parsed.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The library's default region starts here (pmm.h: 1 GiB at pfn 0x100000). */
#define OPTS_DEFAULT_START_PFN 0x100000ull
#define OPTS_DEFAULT_MEM (1ull << 30)

/* struct option.val of the flag at index i of a parse: clear of getopt's
 * own returns ('?', ':', -1) and of any short option character. */
#define OPTS_VAL_BASE 0x100
/* Instance flags plus the largest command's own; checked in cli_parse(). */
#define OPTS_MAX_FLAGS 48
/* --help's column for the flags' descriptions. */
#define OPTS_HELP_COL 24
/* Metadata per frame: struct pmm_page (pmm.h). */
#define OPTS_META_PER_FRAME ((unsigned long long)PMM_PAGE_META_SIZE)

/* ------------------------------------------------------------------------
 * Names and numbers
 * ------------------------------------------------------------------------ */

/* Indexed by the enums: one table both for parsing and for printing. */
static const char *const memmap_names[] = {
	[PMM_MEMMAP_SPARSE] = "sparse",
	[PMM_MEMMAP_VMEMMAP] = "vmemmap",
};

static const char *const backing_names[] = {
	[PMM_BACKING_MEMFD] = "memfd",
	[PMM_BACKING_ANON] = "anon",
	[PMM_BACKING_NONE] = "none",
	[PMM_BACKING_USER] = "user",	/* printed, never parsed: needs a buffer */
};

static const char *const check_pages_names[] = {
	[PMM_CHECK_PAGES_DEFAULT] = "default",	/* printed, never parsed */
	[PMM_CHECK_PAGES_KERNEL] = "kernel",
	[PMM_CHECK_PAGES_FULL] = "full",
};

static const char *const pcp_fastpath_names[] = {
	[PMM_PCP_FASTPATH_AUTO] = "auto",
	[PMM_PCP_FASTPATH_TRYLOCK] = "trylock",
	[PMM_PCP_FASTPATH_RSEQ] = "rseq",
};

const char *cli_pcp_fastpath_name(enum pmm_pcp_fastpath p)
{
	return (size_t)p < ARRAY_SIZE(pcp_fastpath_names) ? pcp_fastpath_names[p] : "?";
}

const char *cli_check_pages_name(enum pmm_check_pages c)
{
	return (size_t)c < ARRAY_SIZE(check_pages_names) ? check_pages_names[c] : "?";
}

const char *cli_memmap_name(enum pmm_memmap_model m)
{
	return (size_t)m < ARRAY_SIZE(memmap_names) ? memmap_names[m] : "?";
}

const char *cli_backing_name(enum pmm_backing b)
{
	return (size_t)b < ARRAY_SIZE(backing_names) ? backing_names[b] : "?";
}

/* Return: the index of @val among the first @nr @names, or -1. */
static int name_index(const char *const *names, size_t nr, const char *val)
{
	for (size_t i = 0; i < nr; i++)
		if (!strcmp(names[i], val))
			return (int)i;
	return -1;
}

bool cli_is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help") || !strcmp(arg, "help");
}

/* A strict unsigned number, decimal or 0x hex; Return: 0 or -1. */
static int parse_u64(const char *s, uint64_t *out)
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

/* A byte count with an optional binary K/M/G/T suffix ("1G", "256MiB"). */
static int parse_size(const char *s, uint64_t *out)
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

int cli_bad_value(const struct cli_arg *a, const char *want)
{
	fprintf(stderr, "pmm %s: --%s: bad value '%s' (want %s)\n", a->cmd, a->flag->name,
		a->val, want);
	return -1;
}

int cli_arg_size(const struct cli_arg *a, uint64_t align, const char *want, uint64_t *out)
{
	if (!parse_size(a->val, out) && *out && !(*out % align))
		return 0;
	return cli_bad_value(a, want);
}

int cli_arg_u64(const struct cli_arg *a, uint64_t lo, uint64_t hi, const char *want,
		uint64_t *out)
{
	char range[64];

	if (!parse_u64(a->val, out) && *out >= lo && *out <= hi)
		return 0;
	if (!want) {
		if (hi != UINT64_MAX)
			snprintf(range, sizeof(range), "%" PRIu64 "..%" PRIu64, lo, hi);
		else if (lo)
			snprintf(range, sizeof(range), "a number >= %" PRIu64, lo);
		else
			snprintf(range, sizeof(range), "a number");
		want = range;
	}
	return cli_bad_value(a, want);
}

int cli_arg_uint(const struct cli_arg *a, unsigned int lo, unsigned int hi, unsigned int *out)
{
	uint64_t v;

	if (cli_arg_u64(a, lo, hi, NULL, &v))
		return -1;
	*out = (unsigned int)v;
	return 0;
}

int cli_arg_ulong(const struct cli_arg *a, unsigned long lo, unsigned long hi,
		  unsigned long *out)
{
	uint64_t v;

	if (cli_arg_u64(a, lo, hi, NULL, &v))
		return -1;
	*out = (unsigned long)v;
	return 0;
}

/* ------------------------------------------------------------------------
 * Instance flags
 * ------------------------------------------------------------------------ */

enum inst_id {
	INST_MEM, INST_START_PFN, INST_NODES, INST_MEMMAP, INST_BACKING, INST_HUGEPAGES,
	INST_CPUS, INST_DMA32, INST_PAGE_SHIFT, INST_MAX_ORDER, INST_PB_ORDER, INST_SECTION,
	INST_NO_PCP, INST_PCP_BATCH, INST_PCP_HIGH, INST_MIN_FREE, INST_CONTIG_PER_PAGE,
	INST_CHECK_PAGES, INST_PCP_FASTPATH, INST_QUIET,
};

static const struct cli_flag inst_flags[] = {
	{ "mem", "SIZE", INST_MEM, "memory, e.g. 1G, 256M (default 1G)" },
	{ "start-pfn", "N", INST_START_PFN, "first frame of the memory (default 0x100000)" },
	{ "nodes", "N", INST_NODES, "split the memory into N equal regions on nodes 0..N-1" },
	{ "memmap", "sparse|vmemmap", INST_MEMMAP, "memmap model (default sparse)" },
	{ "backing", "memfd|anon|none", INST_BACKING, "backing memory (default memfd)" },
	{ "hugepages", NULL, INST_HUGEPAGES, "anon backing: madvise(MADV_HUGEPAGE)" },
	{ "cpus", "N", INST_CPUS, "pcp sets per zone (default: online CPUs)" },
	{ "dma32-end-pfn", "N", INST_DMA32, "DMA32/Normal zone split (default 4 GiB)" },
	{ "page-shift", "N", INST_PAGE_SHIFT, "12..16 (default 12)" },
	{ "max-order", "N", INST_MAX_ORDER, "largest buddy order (default 10)" },
	{ "pageblock-order", "N", INST_PB_ORDER, "(default 9)" },
	{ "section-shift", "N", INST_SECTION, "(default 27)" },
	{ "no-pcp", NULL, INST_NO_PCP, "no per-CPU lists: every call takes the zone path" },
	{ "pcp-batch", "N", INST_PCP_BATCH, "pcp batch (default: kernel formula)" },
	{ "pcp-high", "N", INST_PCP_HIGH, "pcp high (default: low watermark / CPUs, >= 4 * batch)" },
	{ "min-free", "N", INST_MIN_FREE, "min watermark in frames (default: kernel formula)" },
	{ "contig-per-page", NULL, INST_CONTIG_PER_PAGE,
	  "free_contig_range page by page (pre-2026 path)" },
	{ "pcp-fastpath", "auto|trylock|rseq", INST_PCP_FASTPATH,
	  "order-0 pcp path: rseq sections (no locked instruction) or the trylock; "
	  "default auto: rseq where it can run" },
	{ "check-pages", "kernel|full", INST_CHECK_PAGES,
	  "page checks: the head (kernel) or every page of a block (full); default: "
	  "kernel in a release build, full in a debug one" },
	{ "quiet", NULL, INST_QUIET, "no library log lines" },
};

/* What the instance flags asked for. Regions are built once all flags are
 * known, because --mem depends on --page-shift whatever their order. */
struct inst_req {
	struct pmm_config *cfg;
	bool regions_set;	/* --mem, --start-pfn or --nodes given */
	const char *mem_arg;	/* --mem as given, for messages; NULL: the default */
	uint64_t mem;
	uint64_t start_pfn;
	uint64_t nodes;
	bool pageblock_set;	/* --pageblock-order given */
};

static int inst_apply(const struct cli_arg *a, struct inst_req *rq)
{
	struct pmm_config *cfg = rq->cfg;
	int i;

	switch ((enum inst_id)a->flag->id) {
	case INST_MEM:
		if (parse_size(a->val, &rq->mem) || rq->mem == 0)
			return cli_bad_value(a, "a size such as 1G or 256M");
		rq->regions_set = true;
		rq->mem_arg = a->val;
		return 0;
	case INST_START_PFN:
		rq->regions_set = true;
		return cli_arg_u64(a, 0, UINT64_MAX, "a frame number", &rq->start_pfn);
	case INST_NODES:
		rq->regions_set = true;
		return cli_arg_u64(a, 1, PMM_MAX_NODES, NULL, &rq->nodes);
	case INST_MEMMAP:
		i = name_index(memmap_names, ARRAY_SIZE(memmap_names), a->val);
		if (i < 0)
			return cli_bad_value(a, "sparse or vmemmap");
		cfg->memmap = (enum pmm_memmap_model)i;
		return 0;
	case INST_BACKING:
		i = name_index(backing_names, ARRAY_SIZE(backing_names), a->val);
		if (i < 0 || i == PMM_BACKING_USER)
			return cli_bad_value(a, "memfd, anon or none");
		cfg->backing = (enum pmm_backing)i;
		return 0;
	case INST_HUGEPAGES:
		cfg->anon_hugepages = true;
		return 0;
	case INST_CPUS:
		return cli_arg_uint(a, 1, PMM_MAX_CPUS, &cfg->nr_cpus);
	case INST_DMA32:
		return cli_arg_u64(a, 0, UINT64_MAX, "a frame number", &cfg->dma32_end_pfn);
	case INST_PAGE_SHIFT:
		return cli_arg_uint(a, 0, 63, &cfg->page_shift);
	case INST_MAX_ORDER:
		return cli_arg_uint(a, 0, 63, &cfg->max_order);
	case INST_PB_ORDER:
		rq->pageblock_set = true;
		return cli_arg_uint(a, 0, 63, &cfg->pageblock_order);
	case INST_SECTION:
		return cli_arg_uint(a, 0, 63, &cfg->section_shift);
	case INST_NO_PCP:
		cfg->pcp_disable = true;
		return 0;
	case INST_PCP_BATCH:
		return cli_arg_uint(a, 0, UINT32_MAX, &cfg->pcp_batch);
	case INST_PCP_HIGH:
		return cli_arg_uint(a, 0, UINT32_MAX, &cfg->pcp_high);
	case INST_MIN_FREE:
		/* PMM_AUTO itself would silently mean the default. */
		return cli_arg_u64(a, 0, PMM_AUTO - 1, NULL, &cfg->min_free_pages);
	case INST_CONTIG_PER_PAGE:
		cfg->contig_per_page = true;
		return 0;
	case INST_PCP_FASTPATH:
		i = name_index(pcp_fastpath_names, ARRAY_SIZE(pcp_fastpath_names), a->val);
		if (i < 0)
			return cli_bad_value(a, "auto, trylock or rseq");
		cfg->pcp_fastpath = (enum pmm_pcp_fastpath)i;
		return 0;
	case INST_CHECK_PAGES:
		i = name_index(check_pages_names, ARRAY_SIZE(check_pages_names), a->val);
		if (i <= PMM_CHECK_PAGES_DEFAULT)
			return cli_bad_value(a, "kernel or full");
		cfg->check_pages = (enum pmm_check_pages)i;
		return 0;
	case INST_QUIET:
		cfg->quiet = true;
		return 0;
	}
	return -1;
}

/* Equal regions on nodes 0..N-1, back to back; the last takes the rest. */
static int build_regions(const struct inst_req *rq, const char *who)
{
	struct pmm_config *cfg = rq->cfg;
	uint64_t page = 1ull << cfg->page_shift, frames, per, pfn;

	if (cfg->page_shift >= 64 || rq->mem % page) {
		fprintf(stderr, "pmm %s: --mem %" PRIu64 " is not a multiple of the page size "
			"(%" PRIu64 ")\n", who, rq->mem, page);
		return -1;
	}
	frames = rq->mem / page;
	if (frames < rq->nodes) {
		fprintf(stderr, "pmm %s: --mem is too small for %" PRIu64 " nodes\n", who,
			rq->nodes);
		return -1;
	}
	per = frames / rq->nodes;
	pfn = rq->start_pfn;
	cfg->nr_regions = (unsigned int)rq->nodes;
	for (unsigned int i = 0; i < rq->nodes; i++) {
		cfg->regions[i].start_pfn = pfn;
		cfg->regions[i].nr_pages = i + 1 < rq->nodes ? per : frames - per * i;
		cfg->regions[i].nid = (int)i;
		pfn += cfg->regions[i].nr_pages;
	}
	return 0;
}

/* a * b, or UINT64_MAX when it does not fit. */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/*
 * Refuse an instance this machine cannot hold. pmm_create() writes every
 * frame's struct pmm_page, so the metadata must fit in RAM whatever the
 * backing. memfd and anon backing are mapped MAP_NORESERVE and cost
 * nothing until touched, but every frame may be handed out and written
 * (stress fills three quarters of them), so with them the memory itself
 * must fit too. --backing none keeps only the metadata: the way to
 * simulate a larger machine. An approximation (page tables, zone arrays
 * and the pcp lists come on top; other processes and cgroup limits are not
 * counted): its job is to turn a typo such as --mem 64T into a message
 * instead of an OOM kill. Return: 0, or -1 after the message.
 */
static int check_fits(const struct inst_req *rq, const char *who)
{
	const struct pmm_config *cfg = rq->cfg;
	long phys = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	uint64_t frames = 0, ram, meta, mem, need, page;
	bool backed = cfg->backing == PMM_BACKING_MEMFD || cfg->backing == PMM_BACKING_ANON;
	char what[64], frame[32], b_ram[32], b_meta[32], b_mem[32];

	if (phys <= 0 || psz <= 0 || cfg->page_shift >= 64)
		return 0;	/* RAM unknown, or a config pmm_create() refuses anyway */
	ram = (uint64_t)phys * (uint64_t)psz;
	for (unsigned int i = 0; i < cfg->nr_regions && i < PMM_MAX_REGIONS; i++)
		frames += cfg->regions[i].nr_pages;
	page = 1ull << cfg->page_shift;
	meta = mul_sat(frames, OPTS_META_PER_FRAME);
	mem = mul_sat(frames, page);
	need = backed ? (meta > UINT64_MAX - mem ? UINT64_MAX : meta + mem) : meta;
	if (need <= ram)
		return 0;

	if (rq->mem_arg)
		snprintf(what, sizeof(what), "--mem %s", rq->mem_arg);
	else
		snprintf(what, sizeof(what), "the default --mem (%s)",
			 cli_format_bytes(b_mem, sizeof(b_mem), mem));
	if (page >= 1024)
		snprintf(frame, sizeof(frame), "%llu KiB", (unsigned long long)(page >> 10));
	else
		snprintf(frame, sizeof(frame), "%llu B", (unsigned long long)page);
	cli_format_bytes(b_ram, sizeof(b_ram), ram);
	cli_format_bytes(b_meta, sizeof(b_meta), meta);
	if (meta > ram || !backed)
		fprintf(stderr, "pmm %s: %s needs %s of page metadata (%llu B per %s frame); "
			"this machine has %s of RAM\n", who, what, b_meta, OPTS_META_PER_FRAME,
			frame, b_ram);
	else
		fprintf(stderr, "pmm %s: %s with --backing %s needs %s of memory plus %s of page "
			"metadata (%llu B per %s frame); this machine has %s of RAM (--backing "
			"none needs the metadata only)\n", who, what, cli_backing_name(cfg->backing),
			cli_format_bytes(b_mem, sizeof(b_mem), mem), b_meta, OPTS_META_PER_FRAME,
			frame, b_ram);
	return -1;
}

/* ------------------------------------------------------------------------
 * Help
 * ------------------------------------------------------------------------ */

static void flags_usage(FILE *f, const struct cli_flag *fl, size_t nr)
{
	for (size_t i = 0; i < nr && fl[i].name; i++) {
		int len;

		if (!fl[i].help)	/* hidden: for the command's own re-executions */
			continue;
		len = fprintf(f, "  --%s%s%s", fl[i].name, fl[i].arg ? " " : "",
				  fl[i].arg ? fl[i].arg : "");

		/* A long flag pushes its description along, one space at least. */
		fprintf(f, "%*s", len < OPTS_HELP_COL ? OPTS_HELP_COL - len : 1, "");
		for (const char *p = fl[i].help; *p; p++) {
			fputc(*p, f);
			if (*p == '\n')	/* a continued description keeps the column */
				fprintf(f, "%*s", OPTS_HELP_COL, "");
		}
		fputc('\n', f);
	}
}

void cli_inst_usage(FILE *f)
{
	fputs("Instance flags (every command):\n", f);
	flags_usage(f, inst_flags, ARRAY_SIZE(inst_flags));
	fputs("Numbers accept 0x hex; sizes accept K/M/G/T. Flags take \"--flag VALUE\" or\n"
	      "\"--flag=VALUE\" and are not abbreviated.\n"
	      "An instance must fit in this machine's RAM, or the command exits 2 before\n"
	      "building it: its page metadata (64 B per frame, written at create) always,\n"
	      "plus the memory itself with memfd or anon backing (reserved lazily, but a run\n"
	      "may touch all of it). --backing none needs the metadata only: the way to\n"
	      "simulate a machine larger than this one.\n", f);
}

void cli_usage(const struct cli_cmd *cmd, FILE *f)
{
	fputs(cmd->help, f);
	if (cmd->flags && cmd->flags[0].name) {
		fputs("Flags:\n", f);
		flags_usage(f, cmd->flags, SIZE_MAX);
	}
	cli_inst_usage(f);
}

/* ------------------------------------------------------------------------
 * The parser
 * ------------------------------------------------------------------------ */

/*
 * The flag at index @i of the parse: the instance flags come first, then
 * the command's own (the order cli_parse() built its struct option array in).
 */
static const struct cli_flag *flag_at(const struct cli_cmd *cmd, size_t i)
{
	return i < ARRAY_SIZE(inst_flags) ? &inst_flags[i] :
	       &cmd->flags[i - ARRAY_SIZE(inst_flags)];
}

/* The argv element of the flag getopt_long() just returned: the one before
 * optarg when the value came as the next argument. */
static const char *flag_text(char **argv)
{
	return optarg && optarg == argv[optind - 1] ? argv[optind - 2] : argv[optind - 1];
}

/*
 * getopt_long() takes any unambiguous prefix of a long name. A prefix that
 * works today may become ambiguous or mean another flag tomorrow, and a
 * command line is how a figure is reproduced, so only whole names count.
 */
static bool whole_name(const char *text, const char *name)
{
	size_t len = strlen(name);

	return !strncmp(text, "--", 2) && !strncmp(text + 2, name, len) &&
	       (text[2 + len] == '\0' || text[2 + len] == '=');
}

/* One getopt_long() error: what went wrong, then where to look. */
static int parse_error(const struct cli_cmd *cmd, char **argv, int c, size_t nr_flags)
{
	size_t i = (size_t)optopt - OPTS_VAL_BASE;

	if (optopt >= OPTS_VAL_BASE && i < nr_flags)
		fprintf(stderr, "pmm %s: --%s %s", cmd->name, flag_at(cmd, i)->name,
			c == ':' ? "needs a value" : "takes no value");
	else if (optopt)
		fprintf(stderr, "pmm %s: unknown argument '-%c'", cmd->name, optopt);
	else	/* an unknown or ambiguous long flag: optind is past it */
		fprintf(stderr, "pmm %s: unknown argument '%s'", cmd->name, argv[optind - 1]);
	fprintf(stderr, " (try 'pmm %s --help')\n", cmd->name);
	return CLI_EXIT_USAGE;
}

int cli_parse(const struct cli_cmd *cmd, int argc, char **argv, struct pmm_config *cfg,
	      void *ctx)
{
	struct option longopts[OPTS_MAX_FLAGS + 1];
	struct inst_req rq = { cfg, false, NULL, OPTS_DEFAULT_MEM, OPTS_DEFAULT_START_PFN, 1,
				false };
	size_t nr = ARRAY_SIZE(inst_flags);
	int c;

	/* Help wins wherever it stands, even after a bad flag. */
	for (int i = 1; i < argc; i++)
		if (cli_is_help(argv[i])) {
			cli_usage(cmd, stdout);
			return CLI_EXIT_OK;
		}
	pmm_config_init(cfg);

	for (const struct cli_flag *fl = cmd->flags; fl && fl->name; fl++)
		nr++;
	if (nr > OPTS_MAX_FLAGS) {	/* a programming error: raise the bound */
		fprintf(stderr, "pmm %s: more than %d flags\n", cmd->name, OPTS_MAX_FLAGS);
		return CLI_EXIT_FAIL;
	}
	for (size_t i = 0; i < nr; i++) {
		const struct cli_flag *fl = flag_at(cmd, i);

		longopts[i] = (struct option){ fl->name, fl->arg ? required_argument : no_argument,
					       NULL, OPTS_VAL_BASE + (int)i };
	}
	longopts[nr] = (struct option){ NULL, 0, NULL, 0 };

	/*
	 * getopt_long() keeps its state in globals: optind = 0 makes glibc
	 * start afresh, as `pmm report` parses the same flags once per
	 * section. "+" stops at the first non-flag (no command takes one)
	 * without reordering argv; ":" reports a missing value as ':'.
	 */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:", longopts, NULL)) != -1) {
		size_t i = (size_t)c - OPTS_VAL_BASE;	/* wraps for getopt's '?' and ':' */
		const struct cli_flag *fl;
		struct cli_arg a;

		if (i >= nr)
			return parse_error(cmd, argv, c, nr);
		fl = flag_at(cmd, i);
		if (!whole_name(flag_text(argv), fl->name)) {
			fprintf(stderr, "pmm %s: unknown argument '%s' (did you mean --%s? "
				"flags are not abbreviated)\n", cmd->name, flag_text(argv), fl->name);
			return CLI_EXIT_USAGE;
		}
		a = (struct cli_arg){ cmd->name, fl, optarg };
		if (i < ARRAY_SIZE(inst_flags) ? inst_apply(&a, &rq) : cmd->apply(&a, ctx))
			return CLI_EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "pmm %s: unknown argument '%s' (try 'pmm %s --help')\n",
			cmd->name, argv[optind], cmd->name);
		return CLI_EXIT_USAGE;
	}

	/* As the kernel's pageblock_order = min(default, MAX_ORDER): a small
	 * --max-order alone should not make the default config invalid. */
	if (!rq.pageblock_set && cfg->pageblock_order > cfg->max_order)
		cfg->pageblock_order = cfg->max_order;
	if (rq.regions_set && build_regions(&rq, cmd->name))
		return CLI_EXIT_USAGE;
	if (check_fits(&rq, cmd->name))
		return CLI_EXIT_USAGE;
	return CLI_RUN;
}

pmm_t *cli_create(const struct pmm_config *cfg, const char *who)
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
