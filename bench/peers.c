/* SPDX-License-Identifier: MIT */
/*
 * peers.c - `pmm bench peers`: pmm's page allocator beside the mallocs a
 * user-space program would otherwise use for page-granular memory (issue 13).
 *
 * Every allocator gets the same requests: a block of 4 KiB aligned to
 * 4 KiB (order 0) or of 2 MiB aligned to 2 MiB (order 9). pmm is asked
 * through pmm_alloc_pages(GFP_KERNEL) / pmm_free_pages(); a malloc through
 * posix_memalign(&p, size, size) / free(p), the same request as a buddy
 * block. Cases, at both orders (SIZE is --size, default 1 GiB):
 *   repeat   alloc+free of one block, hot (a warm-up of 1/16 first);
 *            ns per pair
 *   bulk     allocate SIZE worth of blocks, write the first byte of each,
 *            free them all in allocation order; once untimed, then timed;
 *            ns per block
 *   random   fill half of SIZE's slots (untimed), then free a random live
 *            block and allocate one in its slot, --ops times; the slots
 *            are drawn untimed before the loop from a seeded PRNG, the
 *            same sequence for every allocator; ns per free+alloc
 *   repeat2  repeat on 2 threads at once, each its own block, each pinned
 *            to a CPU of its own when there are two; ns per pair per
 *            thread: wall time from the common start to the later thread's
 *            end, divided by one thread's pairs (repeat's figure if the
 *            two threads did not slow each other down)
 * Every block's address is folded into a sum that is stored through a
 * volatile (and printed by the children), so no call can be elided. The
 * one-thread cases run pinned to the lowest CPU the process may use
 * (bench_pin_begin()), the same CPU for every allocator.
 *
 * pmm runs in this process on a fresh instance each round (default
 * config, --mem 2 x SIZE: the watermarks must leave SIZE allocatable).
 * Each malloc runs in a child process, a fresh one for each row: this
 * binary re-executes itself (/proc/self/exe, `bench peers --child NAME`)
 * with LD_PRELOAD set to the library (none for glibc); the child checks
 * that the preload took effect (posix_memalign and free resolve into that
 * library, which also defines the allocator's own symbol: mallctl,
 * mi_version, tc_version), says so in one JSON line, then runs the case
 * the parent sends it over a pipe and answers with its figure. A library
 * not installed, or a preload that did not take, skips that peer with a
 * note on stderr. Each row of a round runs on every allocator back to
 * back, in an order that rotates per round, so that the figures a row
 * pairs are taken a fraction of a second apart (this VM changes speed
 * from minute to minute; with a whole child's run between them they were
 * seconds apart). The figures are medians over
 * the rounds (min, max), and each row's ratio is the median over rounds
 * of pmm / the peer with the best median (the two from the same round).
 *
 * The allocators are a table (pw_allocs): a pmm variant (another pcp fast
 * path, say) is one more entry with a configure function for its instance.
 * Two entries are floors, not allocators (not in the default --allocs, and
 * never a row's best): "floor" does only the memory traffic of pmm's
 * order-0 hit, and "floor-pad" the same with an op as long in micro-ops
 * as pmm's pair (below, "The floors"); they run order 0's repeat and
 * random.
 *
 * Everything here is the public API (include/pmm.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* dladdr(), RTLD_DEFAULT, pthread_setaffinity_np(), CPU_SET */
#endif

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "common/prng.h"

extern char **environ;

#if defined(__GNUC__)
#define PW_INLINE static inline __attribute__((always_inline))
#define PW_NOINLINE static __attribute__((noinline))
#else
#define PW_INLINE static inline
#define PW_NOINLINE static
#endif

#define PW_PAGE_SHIFT 12
#define PW_DEFAULT_SIZE (1ull << 30)
#define PW_MIN_MEM (64ull << 20)
#define PW_REPEAT2_THREADS 2

/* ------------------------------------------------------------------------
 * Orders, cases, allocators
 * ------------------------------------------------------------------------ */

enum { PW_NR_ORDERS = 2 };
static const unsigned int pw_orders[PW_NR_ORDERS] = { 0, 9 };

enum pw_case { PW_REPEAT, PW_BULK, PW_RANDOM, PW_REPEAT2, PW_NR_CASES };

static const char *const pw_case_names[PW_NR_CASES] = {
	[PW_REPEAT] = "repeat",
	[PW_BULK] = "bulk",
	[PW_RANDOM] = "random",
	[PW_REPEAT2] = "repeat2",
};

enum pw_kind {
	PW_KIND_PMM,	/* in this process, on an instance of its own */
	PW_KIND_MALLOC,	/* posix_memalign/free in a child process */
	PW_KIND_FLOOR,	/* in this process, a record array: order 0's repeat and random only */
};

struct pw_alloc {
	const char *name;		/* --allocs, JSON "alloc" */
	const char *what;		/* PMM: the variant, for the text output */
	enum pw_kind kind;
	bool by_default;		/* in the default --allocs */
	const char *libs[3];		/* MALLOC: file names tried in order, the first
					 * found is preloaded; none: no preload (glibc) */
	const char *probe;		/* MALLOC with libs: a symbol only that library defines */
	void (*configure)(struct pmm_config *cfg);	/* PMM: the variant's instance; NULL: as given */
	bool pad;			/* FLOOR: each free adds PW_FLOOR_PAD NOPs */
};

static void pw_cfg_buddy(struct pmm_config *cfg)
{
	cfg->pcp_disable = true;
}

static void pw_cfg_trylock(struct pmm_config *cfg)
{
	cfg->pcp_fastpath = PMM_PCP_FASTPATH_TRYLOCK;
}

/*
 * The first entry is "pmm", the rows' pmm column; other pmm variants are
 * one entry each (the --allocs help and the README name the entries).
 */
static const struct pw_alloc pw_allocs[] = {
	{ .name = "pmm", .kind = PW_KIND_PMM, .by_default = true,
	  .what = "the instance as configured" },
	{ .name = "pmm-trylock", .kind = PW_KIND_PMM, .by_default = true,
	  .what = "the pcp trylock fast path instead of rseq", .configure = pw_cfg_trylock },
	{ .name = "pmm-buddy", .kind = PW_KIND_PMM,
	  .what = "pcp_disable: every call takes the zone lock", .configure = pw_cfg_buddy },
	{ .name = "glibc", .kind = PW_KIND_MALLOC, .by_default = true },
	{ .name = "jemalloc", .kind = PW_KIND_MALLOC, .by_default = true,
	  .libs = { "libjemalloc.so.2" }, .probe = "mallctl" },
	{ .name = "mimalloc", .kind = PW_KIND_MALLOC, .by_default = true,
	  .libs = { "libmimalloc.so.2", "libmimalloc.so" }, .probe = "mi_version" },
	{ .name = "tcmalloc", .kind = PW_KIND_MALLOC, .by_default = true,
	  .libs = { "libtcmalloc_minimal.so.4" }, .probe = "tc_version" },
	{ .name = "floor", .kind = PW_KIND_FLOOR,
	  .what = "each op reads and writes its block's 64-byte record and a LIFO stack, nothing else" },
	{ .name = "floor-pad", .kind = PW_KIND_FLOOR, .pad = true,
	  .what = "floor, each free with 96 NOPs: an op about as long as pmm's pair" },
};

enum { PW_NR_ALLOCS = ARRAY_SIZE(pw_allocs) };

/* ------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------ */

struct pw_opts {
	bool json;
	unsigned int rounds;
	unsigned int allocs;			/* bit per pw_allocs entry */
	const char *lib[PW_NR_ALLOCS];		/* --allocs NAME=PATH: that library */
	unsigned int cases;			/* bit per enum pw_case */
	uint64_t size;				/* bytes: bulk's blocks, random's slots */
	unsigned long ops[PW_NR_ORDERS];	/* timed ops of repeat, random, repeat2 */
	uint64_t seed;
	bool seed_set;
	const char *child;			/* --child NAME: be that peer's child */
	const char *child_lib;			/* --child-lib PATH: what was preloaded */
};

enum { PW_JSON, PW_ROUNDS, PW_ALLOCS, PW_CASES, PW_SIZE, PW_OPS, PW_SEED, PW_CHILD,
       PW_CHILD_LIB };

static const struct cli_flag pw_flags[] = {
	{ "json", NULL, PW_JSON, "one line of JSON" },
	{ "rounds", "N", PW_ROUNDS, "rounds, each running every row on every allocator (default 5)" },
	{ "allocs", "LIST", PW_ALLOCS, "of pmm,pmm-trylock,pmm-buddy,glibc,jemalloc,mimalloc,\ntcmalloc, "
	  "floor,floor-pad (default all but pmm-buddy and the floors);\nNAME=PATH preloads that library" },
	{ "cases", "LIST", PW_CASES, "of repeat,bulk,random,repeat2 (default all)" },
	{ "size", "SIZE", PW_SIZE, "memory worth of bulk and random, a multiple of 2M\n"
	  "(default 1G)" },
	{ "ops", "N[,M]", PW_OPS, "timed ops per sample of repeat, random, repeat2 at\n"
	  "order 0[, order 9] (default 1000000,50000)" },
	{ "seed", "S", PW_SEED, "random's seed (default: from the clock; printed)" },
	{ "child", "NAME", PW_CHILD, NULL },
	{ "child-lib", "PATH", PW_CHILD_LIB, NULL },
	{ NULL, NULL, 0, NULL },
};

/* One name of a comma-separated list: its index among @nr @names, or -1. */
static int pw_list_index(const char *p, size_t len, const char *const *names, size_t nr)
{
	for (size_t k = 0; k < nr; k++)
		if (strlen(names[k]) == len && !strncmp(names[k], p, len))
			return (int)k;
	return -1;
}

static int pw_arg_cases(const struct cli_arg *a, unsigned int *mask)
{
	const char *p = a->val;

	*mask = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		int k = pw_list_index(p, len, pw_case_names, PW_NR_CASES);

		if (k < 0)
			return cli_bad_value(a, "a list of repeat, bulk, random, repeat2");
		*mask |= 1u << k;
		p += len + (p[len] == ',');
	}
	return *mask ? 0 : cli_bad_value(a, "at least one case");
}

static int pw_arg_allocs(const struct cli_arg *a, struct pw_opts *o)
{
	const char *names[PW_NR_ALLOCS];
	const char *p = a->val;

	for (int k = 0; k < PW_NR_ALLOCS; k++) {
		names[k] = pw_allocs[k].name;
		o->lib[k] = NULL;
	}
	o->allocs = 0;
	while (*p) {
		size_t len = strcspn(p, ","), nlen = strcspn(p, ",=");
		int k = pw_list_index(p, nlen, names, PW_NR_ALLOCS);

		if (k < 0)
			return cli_bad_value(a, "a list of pmm, pmm-trylock, pmm-buddy, glibc, jemalloc, "
					     "mimalloc, tcmalloc, floor, floor-pad (NAME=PATH for a "
					     "library)");
		if (nlen < len) {
			/* The path is the rest of the value's own text. */
			if (pw_allocs[k].kind != PW_KIND_MALLOC || !pw_allocs[k].libs[0])
				return cli_bad_value(a, "NAME=PATH only for jemalloc, mimalloc, "
						     "tcmalloc");
			if (p[len] == ',')
				return cli_bad_value(a, "NAME=PATH last in the list (a path may "
						     "hold a comma)");
			o->lib[k] = p + nlen + 1;
			len = strlen(p);
		}
		o->allocs |= 1u << k;
		p += len + (p[len] == ',');
	}
	return o->allocs ? 0 : cli_bad_value(a, "at least one allocator");
}

static int pw_arg_ops(const struct cli_arg *a, unsigned long ops[PW_NR_ORDERS])
{
	char *end;
	unsigned long long v0, v1;

	errno = 0;
	v0 = strtoull(a->val, &end, 0);
	v1 = v0;
	if (*end == ',')
		v1 = strtoull(end + 1, &end, 0);
	if (errno || *end || a->val[0] == '-' || !v0 || !v1 || v0 > ULONG_MAX / 2 ||
	    v1 > ULONG_MAX / 2)
		return cli_bad_value(a, "N or N,M, counts > 0");
	ops[0] = (unsigned long)v0;
	ops[1] = (unsigned long)v1;
	return 0;
}

static int pw_apply(const struct cli_arg *a, void *ctx)
{
	struct pw_opts *o = ctx;

	switch (a->flag->id) {
	case PW_JSON:
		o->json = true;
		return 0;
	case PW_ROUNDS:
		return cli_arg_uint(a, 1, BENCH_MAX_SAMPLES, &o->rounds);
	case PW_ALLOCS:
		return pw_arg_allocs(a, o);
	case PW_CASES:
		return pw_arg_cases(a, &o->cases);
	case PW_SIZE:
		return cli_arg_size(a, 2ull << 20, "a multiple of 2M such as 1G", &o->size);
	case PW_OPS:
		return pw_arg_ops(a, o->ops);
	case PW_SEED:
		o->seed_set = true;
		return cli_arg_u64(a, 0, UINT64_MAX, NULL, &o->seed);
	case PW_CHILD:
		o->child = a->val;
		return 0;
	case PW_CHILD_LIB:
		o->child_lib = a->val;
		return 0;
	}
	return -1;
}

static const struct cli_cmd pw_cmd = {
	.name = "bench peers",
	.help = "usage: pmm bench peers [--json] [--rounds N] [--allocs LIST] [--cases LIST]\n"
		"                       [--size SIZE] [--ops N[,M]] [--seed S] [instance flags]\n"
		"pmm's page allocator against glibc, jemalloc, mimalloc and tcmalloc on the same\n"
		"requests: 4 KiB blocks 4 KiB-aligned (order 0) and 2 MiB blocks 2 MiB-aligned\n"
		"(order 9), pmm_alloc_pages/pmm_free_pages vs posix_memalign(size, size)/free.\n"
		"Cases: repeat (alloc+free of one block, hot), bulk (SIZE worth allocated, the\n"
		"first byte of each written, all freed; warm), random (half of SIZE's slots live,\n"
		"then free a random one + alloc), repeat2 (repeat on 2 threads at once: ns per\n"
		"pair per thread, wall time / pairs per thread). ns per op, median over rounds.\n"
		"pmm runs in this process on a fresh instance per round (default --mem 2 x SIZE);\n"
		"each malloc in a child process with LD_PRELOAD, checked to have taken effect.\n"
		"A peer whose library is missing is skipped (scripts/deps.sh bench installs them).\n",
	.flags = pw_flags,
	.apply = pw_apply,
};

/*
 * pw_parse - cli_parse() twice: once for --size, then with --mem=2 x SIZE
 * in front of the user's flags (a later flag wins, so a --mem given
 * overrides it).
 */
static int pw_parse(int argc, char **argv, struct pmm_config *cfg, struct pw_opts *o)
{
	char mem[48];
	char **args;
	uint64_t bytes;
	int ret;

	ret = cli_parse(&pw_cmd, argc, argv, cfg, o);
	if (ret != CLI_RUN || o->child)
		return ret;
	bytes = 2 * o->size > PW_MIN_MEM ? 2 * o->size : PW_MIN_MEM;
	snprintf(mem, sizeof(mem), "--mem=%lluK", (unsigned long long)(bytes >> 10));
	args = calloc((size_t)argc + 2, sizeof(*args));
	if (!args) {
		fprintf(stderr, "pmm bench peers: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	args[0] = argv[0];
	args[1] = mem;
	memcpy(&args[2], &argv[1], (size_t)(argc - 1) * sizeof(*args));
	ret = cli_parse(&pw_cmd, argc + 1, args, cfg, o);
	free(args);
	return ret;
}

/* ------------------------------------------------------------------------
 * The floors
 * ------------------------------------------------------------------------ */

/*
 * What order 0's repeat and random cost with nothing but the memory
 * traffic of pmm's hit: a block is a 64-byte record of an array with one
 * per 4 KiB frame of 2 x SIZE (pmm's memmap for --mem 2 x SIZE, on THP as
 * pmm's is), alloc pops the top of a LIFO stack of free records (pmm's
 * pcp array) and free pushes one, each reading the record's counts, flags
 * and mapping and writing the counts and flags, as pmm's hit checks and
 * prepares the page. No placement check, zone, watermark, pageblock, CPU
 * or critical section. floor-pad adds PW_FLOOR_PAD NOPs to each free: the
 * same memory traffic in an op about as long as pmm's pair, so that as few
 * of the ops' record misses fit in the core's reorder buffer at once
 * (docs/benchmarks.md, the peers section's order-0 random).
 */
struct pw_rec {
	uint64_t flags;
	uint64_t unused0[2];
	const void *mapping;			/* at 24, as struct pmm_page's */
	uint64_t unused1[2];
	uint64_t counts;			/* at 48, as struct pmm_page's */
	uint64_t unused2;
};
_Static_assert(sizeof(struct pw_rec) == 64, "a record is a struct pmm_page's size");

#define PW_REC_FREE 0xffffffffull		/* mapcount -1, no reference */
#define PW_REC_HELD 0x1ffffffffull		/* mapcount -1, one reference */
#define PW_REC_FLAGS_FREE 0x4ull
#define PW_REC_FLAGS_HELD 0x2ull

struct pw_floor {
	struct pw_rec *recs;			/* the records, THP-advised */
	size_t nr;
	struct pw_rec **stack;			/* the free records; [top - 1] is next */
	size_t top;
	bool pad;
	unsigned long bad;			/* ops that found a record not as left */
};

/*
 * floor-pad's NOPs: a micro-op and a reorder-buffer entry each, and no
 * register, port or memory; 96 of them with the floor's ~25 instructions
 * are about pmm's order-0 pair's 131, and its repeat reads about pmm's.
 */
#define PW_FLOOR_PAD 96
#if defined(__x86_64__)
#define PW_NOP1 "nopl 0x0(%%rax,%%rax,1)\n\t"
#define PW_NOP8 PW_NOP1 PW_NOP1 PW_NOP1 PW_NOP1 PW_NOP1 PW_NOP1 PW_NOP1 PW_NOP1
#define PW_NOP32 PW_NOP8 PW_NOP8 PW_NOP8 PW_NOP8
_Static_assert(PW_FLOOR_PAD == 3 * 32, "PW_NOP32 three times");
PW_INLINE void pw_floor_pad(void)
{
	__asm__ __volatile__(PW_NOP32 PW_NOP32 PW_NOP32 : :);
}
#define PW_FLOOR_PAD_ARCH 1
#else
PW_INLINE void pw_floor_pad(void)
{
}
#define PW_FLOOR_PAD_ARCH 0
#endif

PW_INLINE void *pw_floor_alloc(struct pw_floor *f)
{
	struct pw_rec *r;

	if (!f->top)
		return NULL;
	r = f->stack[--f->top];
	if (r->counts != PW_REC_FREE || r->flags != PW_REC_FLAGS_FREE || r->mapping) {
		f->bad++;
		return NULL;
	}
	r->counts = PW_REC_HELD;
	r->flags = PW_REC_FLAGS_HELD;
	return r;
}

PW_INLINE void pw_floor_free(struct pw_floor *f, void *b)
{
	struct pw_rec *r = b;

	if (r->counts != PW_REC_HELD || r->flags != PW_REC_FLAGS_HELD || r->mapping ||
	    f->top == f->nr) {
		f->bad++;
		return;
	}
	r->counts = PW_REC_FREE;
	r->flags = PW_REC_FLAGS_FREE;
	f->stack[f->top++] = r;
	if (f->pad)
		pw_floor_pad();
}

/* A floor of @frames records, all free, the lowest on top (as a buddy hands out). */
static struct pw_floor *pw_floor_create(size_t frames, bool pad)
{
	struct pw_floor *f = calloc(1, sizeof(*f));
	size_t bytes = frames * sizeof(struct pw_rec);

	if (!f)
		return NULL;
	f->nr = frames;
	f->pad = pad;
	f->recs = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	f->stack = malloc(frames * sizeof(*f->stack));
	if (f->recs == MAP_FAILED || !f->stack) {
		if (f->recs != MAP_FAILED)
			munmap(f->recs, bytes);
		free(f->stack);
		free(f);
		return NULL;
	}
	(void)madvise(f->recs, bytes, MADV_HUGEPAGE);
	for (size_t i = 0; i < frames; i++) {
		f->recs[i] = (struct pw_rec){ .flags = PW_REC_FLAGS_FREE, .counts = PW_REC_FREE };
		f->stack[frames - 1 - i] = &f->recs[i];
	}
	f->top = frames;
	return f;
}

static void pw_floor_destroy(struct pw_floor *f)
{
	if (!f)
		return;
	munmap(f->recs, f->nr * sizeof(struct pw_rec));
	free(f->stack);
	free(f);
}

/* ------------------------------------------------------------------------
 * The workloads, written once for every API
 * ------------------------------------------------------------------------ */

/*
 * Each workload is an always-inline function of a constant @api, and
 * pw_case_pmm() / pw_case_malloc() / pw_case_floor() instantiate it: the
 * compiler keeps one branch of every `api ==` test, so each allocator's
 * loop calls it directly, with no dispatch that the others do not pay.
 */
enum pw_api { PW_PMM, PW_MALLOC, PW_FLOOR };

struct pw_work {
	pmm_t *pmm;				/* PW_PMM: the instance */
	struct pw_floor *floor;			/* PW_FLOOR: the records */
	uint64_t size;				/* --size */
	const unsigned long *ops;		/* --ops, per order index */
	uint64_t seed;
	void **slots;				/* bulk, random: a block per slot */
	uint32_t *picks;			/* random: each op's slot, drawn untimed */
	int cpus[PW_REPEAT2_THREADS];		/* repeat2's threads' CPUs; -1: unpinned */
	uintptr_t sum;				/* every block's address, summed */
	volatile uintptr_t sink;		/* where the sum goes: the results are used */
};

PW_INLINE void *pw_alloc(struct pw_work *w, enum pw_api api, unsigned int order)
{
	size_t bytes = (size_t)1 << (PW_PAGE_SHIFT + order);
	void *p;

	if (api == PW_PMM)
		return pmm_alloc_pages(w->pmm, PMM_GFP_KERNEL, order);
	if (api == PW_FLOOR)
		return pw_floor_alloc(w->floor);
	return posix_memalign(&p, bytes, bytes) ? NULL : p;
}

PW_INLINE void pw_free(struct pw_work *w, enum pw_api api, void *b, unsigned int order)
{
	if (api == PW_PMM)
		pmm_free_pages(w->pmm, b, order);
	else if (api == PW_FLOOR)
		pw_floor_free(w->floor, b);
	else
		free(b);
}

/* The block's first byte, where bulk writes. */
PW_INLINE volatile char *pw_addr(struct pw_work *w, enum pw_api api, void *b)
{
	return api == PW_PMM ? pmm_page_address(w->pmm, b) : b;
}

static int pw_alloc_failed(const char *what, unsigned int order)
{
	fprintf(stderr, "bench peers: %s: order-%u allocation failed\n", what, order);
	return -1;
}

/* @n alloc+free pairs of one block. */
PW_INLINE int pw_pairs(struct pw_work *w, enum pw_api api, unsigned int order, unsigned long n)
{
	uintptr_t sum = 0;

	for (unsigned long i = 0; i < n; i++) {
		void *b = pw_alloc(w, api, order);

		if (!b)
			return pw_alloc_failed("repeat", order);
		sum += (uintptr_t)b;
		pw_free(w, api, b, order);
	}
	w->sum += sum;
	w->sink = w->sum;
	return 0;
}

PW_NOINLINE int pw_pairs_pmm(struct pw_work *w, unsigned int order, unsigned long n)
{
	return pw_pairs(w, PW_PMM, order, n);
}

PW_NOINLINE int pw_pairs_malloc(struct pw_work *w, unsigned int order, unsigned long n)
{
	return pw_pairs(w, PW_MALLOC, order, n);
}

PW_INLINE int pw_repeat(struct pw_work *w, enum pw_api api, unsigned int order,
			unsigned long pairs, double *ns)
{
	uint64_t t0;

	if (pw_pairs(w, api, order, pairs / 16 + 1))
		return -1;
	t0 = cli_now_ns();
	if (pw_pairs(w, api, order, pairs))
		return -1;
	*ns = (double)(cli_now_ns() - t0) / (double)pairs;
	return 0;
}

/* One bulk pass: @n blocks allocated, the first byte of each written, all freed. */
PW_INLINE int pw_bulk_pass(struct pw_work *w, enum pw_api api, unsigned int order, size_t n,
			   uint64_t *ns)
{
	uint64_t t0 = cli_now_ns();
	uintptr_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		void *b = pw_alloc(w, api, order);

		if (!b) {
			while (i--)
				pw_free(w, api, w->slots[i], order);
			return pw_alloc_failed("bulk", order);
		}
		*pw_addr(w, api, b) = (char)i;
		sum += (uintptr_t)b;
		w->slots[i] = b;
	}
	for (size_t i = 0; i < n; i++)
		pw_free(w, api, w->slots[i], order);
	*ns = cli_now_ns() - t0;
	w->sum += sum;
	return 0;
}

PW_INLINE int pw_bulk(struct pw_work *w, enum pw_api api, unsigned int order, double *ns)
{
	size_t n = (size_t)(w->size >> (PW_PAGE_SHIFT + order));
	uint64_t t;

	if (pw_bulk_pass(w, api, order, n, &t) || pw_bulk_pass(w, api, order, n, &t))
		return -1;
	*ns = (double)t / (double)n;
	return 0;
}

PW_INLINE int pw_random(struct pw_work *w, enum pw_api api, unsigned int order,
			unsigned long ops, double *ns)
{
	size_t live = (size_t)(w->size >> (PW_PAGE_SHIFT + order)) / 2, i;
	uintptr_t sum = 0;
	struct prng r;
	uint64_t t0;
	int ret = 0;

	if (!live)	/* --size of one order-9 block: that one */
		live = 1;
	/* The same slots for every allocator: the seed's stream per order. */
	prng_init(&r, w->seed, order);
	for (unsigned long k = 0; k < ops; k++)
		w->picks[k] = (uint32_t)prng_below(&r, live);
	for (i = 0; i < live; i++) {
		w->slots[i] = pw_alloc(w, api, order);
		if (!w->slots[i])
			break;
	}
	if (i < live) {
		while (i--)
			pw_free(w, api, w->slots[i], order);
		return pw_alloc_failed("random fill", order);
	}

	t0 = cli_now_ns();
	for (unsigned long k = 0; k < ops; k++) {
		uint32_t j = w->picks[k];

		pw_free(w, api, w->slots[j], order);
		w->slots[j] = pw_alloc(w, api, order);
		if (!w->slots[j]) {
			ret = pw_alloc_failed("random", order);
			break;
		}
		sum += (uintptr_t)w->slots[j];
	}
	*ns = (double)(cli_now_ns() - t0) / (double)ops;
	w->sum += sum;
	for (i = 0; i < live; i++)
		if (w->slots[i])
			pw_free(w, api, w->slots[i], order);
	return ret;
}

/* repeat2: one thread's half. */
struct pw_thread {
	struct pw_work *w;
	enum pw_api api;
	unsigned int order;
	unsigned long pairs;
	int cpu;			/* -1: unpinned */
	atomic_uint *arrived;		/* the start line: both spin until it is 2 */
	uint64_t t0, t1;		/* the timed loop */
	int ret;
};

static void *pw_thread_main(void *arg)
{
	struct pw_thread *t = arg;
	int (*pairs)(struct pw_work *, unsigned int, unsigned long) =
		t->api == PW_PMM ? pw_pairs_pmm : pw_pairs_malloc;

	if (t->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(t->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	t->ret = pairs(t->w, t->order, t->pairs / 16 + 1);
	/* Spin, not a futex: both leave within a few ns of each other. */
	atomic_fetch_add(t->arrived, 1);
	while (atomic_load(t->arrived) < PW_REPEAT2_THREADS)
		sched_yield();
	t->t0 = cli_now_ns();
	if (!t->ret)
		t->ret = pairs(t->w, t->order, t->pairs);
	t->t1 = cli_now_ns();
	return NULL;
}

static int pw_repeat2(struct pw_work *w, enum pw_api api, unsigned int order,
		      unsigned long pairs, double *ns)
{
	struct pw_work tw[PW_REPEAT2_THREADS];
	struct pw_thread t[PW_REPEAT2_THREADS];
	pthread_t tid[PW_REPEAT2_THREADS];
	atomic_uint arrived = 0;
	uint64_t t0 = UINT64_MAX, t1 = 0;
	int n, ret = 0;

	for (n = 0; n < PW_REPEAT2_THREADS; n++) {
		/* A work of its own per thread: its sink is not shared. */
		memset(&tw[n], 0, sizeof(tw[n]));
		tw[n].pmm = w->pmm;
		t[n] = (struct pw_thread){ &tw[n], api, order, pairs, w->cpus[n], &arrived, 0, 0, 0 };
		if (pthread_create(&tid[n], NULL, pw_thread_main, &t[n])) {
			fprintf(stderr, "bench peers: cannot start a repeat2 thread\n");
			/* The started one waits at the start line: let it go. */
			atomic_store(&arrived, PW_REPEAT2_THREADS);
			ret = -1;
			break;
		}
	}
	while (n--) {
		pthread_join(tid[n], NULL);
		if (t[n].ret)
			ret = -1;
		t0 = t[n].t0 < t0 ? t[n].t0 : t0;
		t1 = t[n].t1 > t1 ? t[n].t1 : t1;
	}
	*ns = (double)(t1 - t0) / (double)pairs;
	return ret;
}

/* Does @api run row (@oi, @cs)? A floor: order 0's repeat and random. */
static bool pw_api_runs(enum pw_api api, unsigned int oi, enum pw_case cs)
{
	return api != PW_FLOOR || (pw_orders[oi] == 0 && (cs == PW_REPEAT || cs == PW_RANDOM));
}

/* Does allocator @k (a pw_allocs index) run row (@oi, @cs)? */
static bool pw_alloc_runs(int k, unsigned int oi, enum pw_case cs)
{
	return pw_allocs[k].kind != PW_KIND_FLOOR || pw_api_runs(PW_FLOOR, oi, cs);
}

PW_INLINE int pw_case(struct pw_work *w, enum pw_api api, unsigned int oi, enum pw_case cs,
		      double *ns)
{
	unsigned int order = pw_orders[oi];

	if (!pw_api_runs(api, oi, cs))
		return -1;
	switch (cs) {
	case PW_REPEAT:
		return pw_repeat(w, api, order, w->ops[oi], ns);
	case PW_BULK:
		return pw_bulk(w, api, order, ns);
	case PW_RANDOM:
		return pw_random(w, api, order, w->ops[oi], ns);
	case PW_REPEAT2:
		return pw_repeat2(w, api, order, w->ops[oi], ns);
	case PW_NR_CASES:
		break;
	}
	return -1;
}

PW_NOINLINE int pw_case_pmm(struct pw_work *w, unsigned int oi, enum pw_case cs, double *ns)
{
	return pw_case(w, PW_PMM, oi, cs, ns);
}

PW_NOINLINE int pw_case_malloc(struct pw_work *w, unsigned int oi, enum pw_case cs, double *ns)
{
	return pw_case(w, PW_MALLOC, oi, cs, ns);
}

/* A floor's row; one whose records were not as left (a bug here) fails. */
PW_NOINLINE int pw_case_floor(struct pw_work *w, unsigned int oi, enum pw_case cs, double *ns)
{
	int ret = pw_case(w, PW_FLOOR, oi, cs, ns);

	if (!ret && w->floor->bad) {
		fprintf(stderr, "bench peers: the floor found %lu records not as it left them\n",
			w->floor->bad);
		ret = -1;
	}
	return ret;
}

/* The arrays the cases need, and repeat2's CPUs: the first two this process may use. */
static int pw_work_init(struct pw_work *w, const struct pw_opts *o)
{
	unsigned long most = o->ops[0] > o->ops[1] ? o->ops[0] : o->ops[1];
	cpu_set_t set;
	int n = 0;

	memset(w, 0, sizeof(*w));
	w->size = o->size;
	w->ops = o->ops;
	w->seed = o->seed;
	w->slots = calloc((size_t)(o->size >> PW_PAGE_SHIFT), sizeof(*w->slots));
	w->picks = calloc(most, sizeof(*w->picks));
	for (int i = 0; i < PW_REPEAT2_THREADS; i++)
		w->cpus[i] = -1;
	if (!sched_getaffinity(0, sizeof(set), &set))
		for (int cpu = 0; cpu < CPU_SETSIZE && n < PW_REPEAT2_THREADS; cpu++)
			if (CPU_ISSET(cpu, &set))
				w->cpus[n++] = cpu;
	if (n < PW_REPEAT2_THREADS)	/* one CPU: let the scheduler share it */
		for (int i = 0; i < PW_REPEAT2_THREADS; i++)
			w->cpus[i] = -1;
	if (!w->slots || !w->picks) {
		fprintf(stderr, "bench peers: out of memory\n");
		return -1;
	}
	return 0;
}

static void pw_work_fini(struct pw_work *w)
{
	w->sink = w->sum;
	free(w->slots);
	free(w->picks);
}

/* ------------------------------------------------------------------------
 * The child: one malloc, preloaded
 * ------------------------------------------------------------------------ */

static bool pw_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return a && b && !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* The file that defines @sym in this process's global scope, or NULL. */
static const char *pw_sym_file(const char *sym)
{
	void *addr = dlsym(RTLD_DEFAULT, sym);
	Dl_info di;

	return addr && dladdr(addr, &di) && di.dli_fname ? di.dli_fname : NULL;
}

/*
 * Did the preload take? posix_memalign and free must both resolve into
 * @lib, which must define the allocator's own @probe too; for glibc (no
 * @lib) into the C library itself (the file of gnu_get_libc_version), so a
 * preload inherited from the user's environment, or a sanitizer's
 * interceptors, are caught as well.
 * Return: NULL, or why not.
 */
static const char *pw_check_preload(const struct pw_alloc *a, const char *lib, char *why,
				    size_t len)
{
	const char *want = lib ? lib : pw_sym_file("gnu_get_libc_version");
	const char *pm = pw_sym_file("posix_memalign"), *fr = pw_sym_file("free");

	if (lib && !pw_sym_file(a->probe))
		snprintf(why, len, "%s not defined: the preload of %s did not take", a->probe, lib);
	else if (!pw_same_file(pm, want))
		snprintf(why, len, "posix_memalign comes from %s, not %s", pm ? pm : "nowhere",
			 want ? want : "the C library");
	else if (!pw_same_file(fr, want))
		snprintf(why, len, "free comes from %s, not %s", fr ? fr : "nowhere",
			 want ? want : "the C library");
	else
		return NULL;
	return why;
}

/*
 * The child: after the preload check, one line, {"child":NAME,"lib":PATH}
 * (or {"child":NAME,"skip":WHY}, and exit), then one command per line on
 * stdin: "run OI CS" runs that case and answers "ns X" (or "fail");
 * "quit" (or end of input) answers {"sum":N}, every block's address
 * summed (the calls happened), and exits.
 */
static int pw_child(const struct pw_opts *o)
{
	const struct pw_alloc *a = NULL;
	struct bench_pin *pin;
	struct pw_work w;
	const char *skip;
	char why[512], cmd[64];
	int ret = CLI_EXIT_OK;

	for (int k = 0; k < PW_NR_ALLOCS; k++)
		if (pw_allocs[k].kind == PW_KIND_MALLOC && !strcmp(pw_allocs[k].name, o->child))
			a = &pw_allocs[k];
	if (!a || (a->libs[0] != NULL) != (o->child_lib != NULL)) {
		fprintf(stderr, "pmm bench peers: bad --child %s\n", o->child);
		return CLI_EXIT_USAGE;
	}
	skip = pw_check_preload(a, o->child_lib, why, sizeof(why));
	if (skip) {
		struct jw jw;

		jw_init(&jw, stdout);
		jw_obj_begin(&jw, NULL);
		jw_str(&jw, "child", a->name);
		jw_str(&jw, "skip", skip);
		jw_obj_end(&jw);
		fputc('\n', stdout);
		return CLI_EXIT_OK;
	}
	if (pw_work_init(&w, o)) {
		pw_work_fini(&w);
		return CLI_EXIT_FAIL;
	}
	{
		struct jw jw;

		jw_init(&jw, stdout);
		jw_obj_begin(&jw, NULL);
		jw_str(&jw, "child", a->name);
		jw_str(&jw, "lib", pw_sym_file("posix_memalign"));
		jw_obj_end(&jw);
		fputc('\n', stdout);
		fflush(stdout);
	}
	pin = bench_pin_begin();
	while (fgets(cmd, sizeof(cmd), stdin)) {
		unsigned int oi;
		int cs;
		double ns;

		if (sscanf(cmd, "run %u %d", &oi, &cs) != 2)
			break;
		if (oi >= PW_NR_ORDERS || cs < 0 || cs >= PW_NR_CASES ||
		    pw_case_malloc(&w, oi, (enum pw_case)cs, &ns)) {
			ret = CLI_EXIT_FAIL;
			puts("fail");
			break;
		}
		printf("ns %.17g\n", ns);
		fflush(stdout);
	}
	bench_pin_end(pin);
	printf("{\"sum\":%llu}\n", (unsigned long long)w.sum);
	pw_work_fini(&w);
	return ret;
}

/* ------------------------------------------------------------------------
 * The parent: find the libraries, run the children, parse their lines
 * ------------------------------------------------------------------------ */

/* Where ld.so looks for a bare LD_PRELOAD name, in its order (less the cache). */
#ifdef PMM_LIBRARY_ARCH
#define PW_ARCH_DIRS "/usr/lib/" PMM_LIBRARY_ARCH ":/lib/" PMM_LIBRARY_ARCH ":"
#else
#define PW_ARCH_DIRS ""
#endif
#define PW_LIB_DIRS "/usr/local/lib:" PW_ARCH_DIRS "/usr/lib64:/usr/lib:/lib64:/lib"

/* The first of @a's library names found, as a path in @buf; Return: @buf or NULL. */
static const char *pw_find_lib(const struct pw_alloc *a, char *buf, size_t len)
{
	const char *env = getenv("LD_LIBRARY_PATH");

	for (int n = 0; n < (int)ARRAY_SIZE(a->libs) && a->libs[n]; n++)
		for (int pass = 0; pass < 2; pass++) {
			const char *p = pass ? PW_LIB_DIRS : env ? env : "";

			while (*p) {
				size_t dl = strcspn(p, ":");

				if (dl && (size_t)snprintf(buf, len, "%.*s/%s", (int)dl, p,
							   a->libs[n]) < len &&
				    !access(buf, R_OK))
					return buf;
				p += dl + (p[dl] == ':');
			}
		}
	return NULL;
}

/* This environment with LD_PRELOAD=@lib (or none); Return: malloc'd, or NULL. */
static char **pw_child_env(const char *lib, char **pre)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11))
			env[k++] = environ[i];
	*pre = NULL;
	if (lib) {
		size_t len = strlen(lib) + 12;

		*pre = malloc(len);
		if (!*pre) {
			free(env);
			return NULL;
		}
		snprintf(*pre, len, "LD_PRELOAD=%s", lib);
		env[k++] = *pre;
	}
	env[k] = NULL;
	return env;
}

/* ------------------------------------------------------------------------
 * The rounds
 * ------------------------------------------------------------------------ */

struct pw_state {
	const char *lib[PW_NR_ALLOCS];		/* MALLOC: the path preloaded; NULL: none */
	char lib_buf[PW_NR_ALLOCS][PATH_MAX];
	char used[PW_NR_ALLOCS][PATH_MAX];	/* the file posix_memalign came from */
	const char *skip[PW_NR_ALLOCS];		/* why a peer asked for does not run */
	char skip_buf[PW_NR_ALLOCS][512];
	/* ns per op, per allocator, order, case and round; NaN: not run */
	double ns[PW_NR_ALLOCS][PW_NR_ORDERS][PW_NR_CASES][BENCH_MAX_SAMPLES];
};

static bool pw_runs(const struct pw_opts *o, const struct pw_state *s, int k)
{
	return (o->allocs & (1u << k)) && !s->skip[k];
}

/*
 * One allocator's part of a round: a pmm variant's instance in this
 * process, or a malloc's child, started before the round's first row and
 * stopped after its last.
 */
struct pw_runner {
	int k;				/* its pw_allocs entry; -1: not started */
	struct pw_work w;		/* PMM: the work and the instance */
	pid_t pid;			/* MALLOC: the child */
	int to;				/* the child's stdin */
	FILE *from;			/* the child's stdout */
};

/*
 * Start the child of peer @k: this binary again (/proc/self/exe) with
 * LD_PRELOAD set, talking over two pipes; its first line says whether the
 * preload took. Return: 0 running, 1 skipped (s->skip[k] says why), -1
 * after a message.
 */
static int pw_child_start(int k, const struct pw_opts *o, struct pw_state *s,
			  struct pw_runner *r)
{
	const struct pw_alloc *a = &pw_allocs[k];
	const char *lib = s->lib[k];
	char size[32], ops[64], seed[32], *pre = NULL, line[PATH_MAX + 512];
	char *argv[16];
	char **env;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t dfl;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, n = 0, err;
	const char *p;

	snprintf(size, sizeof(size), "--size=%llu", (unsigned long long)o->size);
	snprintf(ops, sizeof(ops), "--ops=%lu,%lu", o->ops[0], o->ops[1]);
	snprintf(seed, sizeof(seed), "--seed=%llu", (unsigned long long)o->seed);
	argv[n++] = (char *)"pmm";
	argv[n++] = (char *)"bench";
	argv[n++] = (char *)"peers";
	argv[n++] = (char *)"--child";
	argv[n++] = (char *)a->name;
	if (lib) {
		argv[n++] = (char *)"--child-lib";
		argv[n++] = (char *)lib;
	}
	argv[n++] = size;
	argv[n++] = ops;
	argv[n++] = seed;
	argv[n] = NULL;

	/* close-on-exec: no child inherits another's pipes (dup2 clears it on 0 and 1) */
	env = pw_child_env(lib, &pre);
	if (!env || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
		fprintf(stderr, "bench peers: cannot start the %s child: %s\n", a->name,
			env ? strerror(errno) : "out of memory");
		goto fail_fds;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	/* the parent ignores SIGPIPE while it runs children; they get the default */
	posix_spawnattr_init(&attr);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	fflush(stdout);
	err = posix_spawn(&r->pid, "/proc/self/exe", &fa, &attr, argv, env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		fprintf(stderr, "bench peers: cannot start the %s child: %s\n", a->name,
			strerror(err));
		goto fail_fds;
	}
	close(in[0]);
	close(out[1]);
	free(env);
	free(pre);
	r->k = k;
	r->to = in[1];
	r->from = fdopen(out[0], "r");
	if (!r->from) {
		close(out[0]);
		fprintf(stderr, "bench peers: the %s child: %s\n", a->name, strerror(errno));
		return -1;
	}
	if (!fgets(line, sizeof(line), r->from)) {
		fprintf(stderr, "bench peers: the %s child printed nothing\n", a->name);
		return -1;
	}
	p = strstr(line, "\"skip\":\"");
	if (p) {
		snprintf(s->skip_buf[k], sizeof(s->skip_buf[k]), "%.*s",
			 (int)strcspn(p + 8, "\""), p + 8);
		s->skip[k] = s->skip_buf[k];
		fprintf(stderr, "pmm bench peers: %s skipped: %s\n", a->name, s->skip[k]);
		return 1;
	}
	p = strstr(line, "\"lib\":\"");
	if (!p) {
		fprintf(stderr, "bench peers: the %s child: %.200s\n", a->name, line);
		return -1;
	}
	snprintf(s->used[k], sizeof(s->used[k]), "%.*s", (int)strcspn(p + 7, "\""), p + 7);
	return 0;

fail_fds:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	free(env);
	free(pre);
	return -1;
}

/* One case on @r's child. Return: 0 with *@ns, or -1 after a message. */
static int pw_child_run(struct pw_runner *r, unsigned int oi, int cs, double *ns)
{
	const char *name = pw_allocs[r->k].name;
	char line[128];
	int len = snprintf(line, sizeof(line), "run %u %d\n", oi, cs);
	char *end;

	if (write(r->to, line, (size_t)len) != len || !fgets(line, sizeof(line), r->from) ||
	    strncmp(line, "ns ", 3)) {
		fprintf(stderr, "bench peers: the %s child failed at order %u %s\n", name,
			pw_orders[oi], pw_case_names[cs]);
		return -1;
	}
	*ns = strtod(line + 3, &end);
	return end == line + 3 ? -1 : 0;
}

/* Tell @r's child to quit and reap it. Return: 0, or -1 when it failed. */
static int pw_child_stop(struct pw_runner *r)
{
	const char *name = pw_allocs[r->k].name;
	char line[128];
	int status;

	if (r->to >= 0) {
		/* a child that is gone fails the write: its status below says why */
		ssize_t w = write(r->to, "quit\n", 5);

		(void)w;
		close(r->to);
	}
	if (r->from) {
		while (fgets(line, sizeof(line), r->from))
			;	/* the sum, or what a failing child printed */
		fclose(r->from);
	}
	while (waitpid(r->pid, &status, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "bench peers: the %s child: %s\n", name, strerror(errno));
			return -1;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench peers: the %s child failed (%s %d)\n", name,
			WIFEXITED(status) ? "exit" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return -1;
	}
	return 0;
}

/* A floor for a round: a record per frame of pmm's instance. */
static int pw_floor_start(int k, const struct pmm_config *cfg, const struct pw_opts *o,
			  struct pw_runner *r)
{
	uint64_t frames = 0;

	for (unsigned int i = 0; i < cfg->nr_regions; i++)
		frames += cfg->regions[i].nr_pages;
	r->k = k;
	if (pw_work_init(&r->w, o))
		return -1;
	r->w.floor = pw_floor_create((size_t)frames, pw_allocs[k].pad);
	if (!r->w.floor) {
		fprintf(stderr, "bench peers: %s: out of memory\n", pw_allocs[k].name);
		return -1;
	}
	return 0;
}

/* A pmm variant's instance for a round (default config as given, --mem 2 x SIZE). */
static int pw_pmm_start(int k, const struct pmm_config *base, const struct pw_opts *o,
			struct pw_runner *r)
{
	struct pmm_config cfg = *base;

	if (pw_allocs[k].configure)
		pw_allocs[k].configure(&cfg);
	r->k = k;
	if (pw_work_init(&r->w, o))
		return -1;
	r->w.pmm = cli_create(&cfg, "bench peers");
	return r->w.pmm ? 0 : -1;
}

/*
 * Start the runners of @kind among a round's allocators: pmm's instances,
 * or one child per malloc (a child whose preload did not take is reaped
 * and skipped from then on). Return: 0, or -1 after a message.
 */
static int pw_start_kind(struct pw_runner *run, const int *sel, int nr, enum pw_kind kind,
			 const struct pmm_config *cfg, const struct pw_opts *o, struct pw_state *s)
{
	int ret = 0;

	for (int i = 0; i < nr && !ret; i++) {
		int k = sel[i];

		if (pw_allocs[k].kind != kind || !pw_runs(o, s, k))
			continue;
		if (kind == PW_KIND_PMM) {
			ret = pw_pmm_start(k, cfg, o, &run[i]);
		} else if (kind == PW_KIND_FLOOR) {
			ret = pw_floor_start(k, cfg, o, &run[i]);
		} else {
			ret = pw_child_start(k, o, s, &run[i]);
			if (ret > 0) {
				ret = pw_child_stop(&run[i]);
				run[i].k = -1;
			}
		}
	}
	return ret ? -1 : 0;
}

/* Stop the runners of @kind (or, for -1, all). Return: 0, or -1 when one of them had failed. */
static int pw_stop_kind(struct pw_runner *run, int nr, int kind)
{
	int ret = 0;

	for (int i = 0; i < nr; i++) {
		struct pw_runner *r = &run[i];

		if (r->k < 0 || (kind >= 0 && pw_allocs[r->k].kind != (enum pw_kind)kind))
			continue;
		if (pw_allocs[r->k].kind == PW_KIND_PMM) {
			pmm_destroy(r->w.pmm);
			pw_work_fini(&r->w);
		} else if (pw_allocs[r->k].kind == PW_KIND_FLOOR) {
			pw_floor_destroy(r->w.floor);
			pw_work_fini(&r->w);
		} else if (pw_child_stop(r)) {
			ret = -1;
		}
		*r = (struct pw_runner){ .k = -1, .to = -1 };
	}
	return ret;
}

/*
 * Round @r: pmm's instances live for the round, as before; each row
 * starts a child per malloc, runs on every allocator back to back, in an
 * order that rotates per round, and stops the children. So the figures a
 * row's ratio pairs are taken a fraction of a second apart (this VM
 * changes speed from minute to minute), and no malloc's heap outlives its
 * row (with every child's heap resident at once, this machine's page
 * faults cost twice as much). The children start before the parent pins
 * itself, so that they inherit every CPU (repeat2 needs two).
 */
static int pw_round(unsigned int r, const int *sel, int nr, const struct pmm_config *cfg,
		    const struct pw_opts *o, struct pw_state *s, struct cli_progress *prog)
{
	struct pw_runner run[PW_NR_ALLOCS];
	int ret;

	for (int i = 0; i < nr; i++)
		run[i] = (struct pw_runner){ .k = -1, .to = -1 };
	ret = pw_start_kind(run, sel, nr, PW_KIND_PMM, cfg, o, s);
	if (!ret)
		ret = pw_start_kind(run, sel, nr, PW_KIND_FLOOR, cfg, o, s);
	for (unsigned int oi = 0; oi < PW_NR_ORDERS && !ret; oi++)
		for (int cs = 0; cs < PW_NR_CASES && !ret; cs++) {
			struct bench_pin *pin;

			if (!(o->cases & (1u << cs)))
				continue;
			cli_progress(prog, "bench peers: round %u/%u, order %u %s (%.0f s)", r + 1,
				     o->rounds, pw_orders[oi], pw_case_names[cs],
				     cli_progress_seconds(prog));
			ret = pw_start_kind(run, sel, nr, PW_KIND_MALLOC, cfg, o, s);
			pin = bench_pin_begin();
			for (int i = 0; i < nr && !ret; i++) {
				struct pw_runner *rn = &run[(r + (unsigned int)i) % (unsigned int)nr];
				double ns;

				if (rn->k < 0)
					continue;
				if (pw_allocs[rn->k].kind == PW_KIND_FLOOR) {
					if (!pw_alloc_runs(rn->k, oi, (enum pw_case)cs))
						continue;	/* its cell stays NaN: "-" */
					ret = pw_case_floor(&rn->w, oi, (enum pw_case)cs, &ns);
				} else if (pw_allocs[rn->k].kind == PW_KIND_PMM) {
					ret = pw_case_pmm(&rn->w, oi, (enum pw_case)cs, &ns);
					if (ret)
						fprintf(stderr, "bench peers: %s failed\n",
							pw_allocs[rn->k].name);
				} else {
					ret = pw_child_run(rn, oi, cs, &ns);
				}
				if (!ret)
					s->ns[rn->k][oi][cs][r] = ns;
			}
			bench_pin_end(pin);
			if (pw_stop_kind(run, nr, PW_KIND_MALLOC))
				ret = -1;
		}
	if (pw_stop_kind(run, nr, -1))
		ret = -1;
	return ret ? -1 : 0;
}

/*
 * Which peers can run: their libraries found, this build able to preload
 * them; and floor-pad, whose moves are x86-64 assembly.
 */
static void pw_find_peers(const struct pw_opts *o, struct pw_state *s)
{
	for (int k = 0; k < PW_NR_ALLOCS; k++) {
		const struct pw_alloc *a = &pw_allocs[k];

		if ((o->allocs & (1u << k)) && a->pad && !PW_FLOOR_PAD_ARCH) {
			s->skip[k] = "its NOPs are x86-64 assembly";
			fprintf(stderr, "pmm bench peers: %s skipped: %s\n", a->name, s->skip[k]);
			continue;
		}

		if (!(o->allocs & (1u << k)) || a->kind != PW_KIND_MALLOC || !a->libs[0])
			continue;
		s->lib[k] = o->lib[k] ? o->lib[k] :
			    pw_find_lib(a, s->lib_buf[k], sizeof(s->lib_buf[k]));
		if (!s->lib[k] || access(s->lib[k], R_OK)) {
			snprintf(s->skip_buf[k], sizeof(s->skip_buf[k]), "%s not found "
				 "(scripts/deps.sh bench installs it)",
				 o->lib[k] ? o->lib[k] : a->libs[0]);
			s->skip[k] = s->skip_buf[k];
		} else if (strchr(cli_build_type(), '+')) {
			/* A sanitizer's runtime must come first among the libraries. */
			snprintf(s->skip_buf[k], sizeof(s->skip_buf[k]),
				 "a %s build cannot preload a malloc", cli_build_type());
			s->skip[k] = s->skip_buf[k];
		}
		if (s->skip[k])
			fprintf(stderr, "pmm bench peers: %s skipped: %s\n", a->name, s->skip[k]);
	}
}

/* ------------------------------------------------------------------------
 * Summaries and output
 * ------------------------------------------------------------------------ */

struct pw_row {
	struct bench_stat st[PW_NR_ALLOCS];	/* per allocator; NaN when it did not run */
	int best;				/* the malloc with the best median; -1: none */
	double ratio;				/* median over rounds of pmm / best */
};

static void pw_summarize(const struct pw_opts *o, const struct pw_state *s, unsigned int oi,
			 int cs, struct pw_row *row)
{
	row->best = -1;
	row->ratio = NAN;
	for (int k = 0; k < PW_NR_ALLOCS; k++) {
		row->st[k] = pw_runs(o, s, k) ? bench_summary(s->ns[k][oi][cs], o->rounds) :
			     (struct bench_stat){ NAN, NAN, NAN };
		if (pw_allocs[k].kind == PW_KIND_MALLOC && !isnan(row->st[k].median) &&
		    (row->best < 0 || row->st[k].median < row->st[row->best].median))
			row->best = k;
	}
	if (row->best >= 0 && pw_runs(o, s, 0))
		row->ratio = bench_ratio(s->ns[0][oi][cs], s->ns[row->best][oi][cs], o->rounds);
}

/* @v in a column of @width with @prec decimals, or "-" for NaN (not run). */
static void pw_cell(double v, int width, int prec)
{
	if (isnan(v))
		printf(" %*s", width, "-");
	else
		printf(" %*.*f", width, prec, v);
}

static void pw_print_text(const struct pw_opts *o, const struct pw_state *s, pmm_t *pmm)
{
	char size[32];

	printf("peers: page-granular workloads of %s, ns per op, median of %u round%s "
	       "(allocators interleaved, rotating); seed %llu\n",
	       cli_format_bytes(size, sizeof(size), o->size), o->rounds, o->rounds == 1 ? "" : "s",
	       (unsigned long long)o->seed);
	cli_print_config(stdout, pmm);
	for (int k = 0; k < PW_NR_ALLOCS; k++) {
		if (!(o->allocs & (1u << k)))
			continue;
		if (pw_allocs[k].kind == PW_KIND_PMM)
			printf("  %-10s in this process, pmm_alloc_pages/pmm_free_pages (%s)\n",
			       pw_allocs[k].name, pw_allocs[k].what);
		else if (pw_allocs[k].kind == PW_KIND_FLOOR)
			printf("  %-10s in this process, not an allocator: %s; order 0 repeat "
			       "and random only\n", pw_allocs[k].name, pw_allocs[k].what);
		else if (s->skip[k])
			printf("  %-10s skipped: %s\n", pw_allocs[k].name, s->skip[k]);
		else
			printf("  %-10s child process, posix_memalign/free from %s\n",
			       pw_allocs[k].name, s->used[k][0] ? s->used[k] : "?");
	}
	printf("repeat2: ns per pair per thread (wall time / pairs per thread, 2 threads)\n");
	for (int part = 0; part < 2; part++) {
		printf("%s\n%-5s %-8s", part ? "min..max" : "median, ns per op", "order", "case");
		for (int k = 0; k < PW_NR_ALLOCS; k++)
			if (pw_runs(o, s, k))
				printf(part ? " %17s" : " %10s", pw_allocs[k].name);
		printf(part ? "\n" : " %-10s %7s\n", "best", "pmm/best");
		for (unsigned int oi = 0; oi < PW_NR_ORDERS; oi++)
			for (int cs = 0; cs < PW_NR_CASES; cs++) {
				struct pw_row row;

				if (!(o->cases & (1u << cs)))
					continue;
				pw_summarize(o, s, oi, cs, &row);
				printf("%-5u %-8s", pw_orders[oi], pw_case_names[cs]);
				for (int k = 0; k < PW_NR_ALLOCS; k++) {
					if (!pw_runs(o, s, k))
						continue;
					if (part && isnan(row.st[k].min))
						printf(" %17s", "-");
					else if (part)
						printf(" %8.1f..%-7.1f", row.st[k].min, row.st[k].max);
					else
						pw_cell(row.st[k].median, 10, 1);
				}
				if (!part) {
					printf(" %-10s", row.best >= 0 ? pw_allocs[row.best].name : "-");
					pw_cell(row.ratio, 8, 2);
				}
				printf("\n");
			}
	}
}

static void pw_print_json(const struct pw_opts *o, const struct pw_state *s, pmm_t *pmm)
{
	struct jw w;

	jw_init(&w, stdout);
	jw_obj_begin(&w, NULL);
	jw_str(&w, "bench", "peers");
	jw_u64(&w, "rounds", o->rounds);
	jw_u64(&w, "seed", o->seed);
	jw_arr_begin(&w, "results");
	for (int k = 0; k < PW_NR_ALLOCS; k++)
		for (unsigned int oi = 0; oi < PW_NR_ORDERS && pw_runs(o, s, k); oi++)
			for (int cs = 0; cs < PW_NR_CASES; cs++) {
				struct bench_stat st;

				if (!(o->cases & (1u << cs)) || !pw_alloc_runs(k, oi, (enum pw_case)cs))
					continue;
				st = bench_summary(s->ns[k][oi][cs], o->rounds);
				jw_obj_begin(&w, NULL);
				jw_str(&w, "alloc", pw_allocs[k].name);
				jw_u64(&w, "order", pw_orders[oi]);
				jw_str(&w, "case", pw_case_names[cs]);
				jw_double(&w, "ns", st.median);
				jw_double(&w, "min", st.min);
				jw_double(&w, "max", st.max);
				jw_obj_end(&w);
			}
	jw_arr_end(&w);
	jw_arr_begin(&w, "rows");
	for (unsigned int oi = 0; oi < PW_NR_ORDERS; oi++)
		for (int cs = 0; cs < PW_NR_CASES; cs++) {
			struct pw_row row;

			if (!(o->cases & (1u << cs)))
				continue;
			pw_summarize(o, s, oi, cs, &row);
			jw_obj_begin(&w, NULL);
			jw_u64(&w, "order", pw_orders[oi]);
			jw_str(&w, "case", pw_case_names[cs]);
			jw_double(&w, "pmm", row.st[0].median);
			if (row.best >= 0)
				jw_str(&w, "best", pw_allocs[row.best].name);
			else
				jw_raw(&w, "best", NULL);
			jw_double(&w, "best_ns", row.best >= 0 ? row.st[row.best].median : NAN);
			jw_double(&w, "ratio", row.ratio);
			/* The other pmm variants and the floors that ran, by name. */
			for (int k = 1; k < PW_NR_ALLOCS; k++)
				if (pw_allocs[k].kind != PW_KIND_MALLOC && pw_runs(o, s, k) &&
				    pw_alloc_runs(k, oi, (enum pw_case)cs))
					jw_double(&w, pw_allocs[k].name, row.st[k].median);
			jw_obj_end(&w);
		}
	jw_arr_end(&w);
	jw_arr_begin(&w, "allocs");
	for (int k = 0; k < PW_NR_ALLOCS; k++) {
		if (!(o->allocs & (1u << k)))
			continue;
		jw_obj_begin(&w, NULL);
		jw_str(&w, "alloc", pw_allocs[k].name);
		if (pw_allocs[k].kind != PW_KIND_MALLOC)
			jw_str(&w, "where", "in-process");
		else if (!s->skip[k])
			jw_str(&w, "lib", s->used[k]);
		if (s->skip[k])
			jw_str(&w, "skipped", s->skip[k]);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_u64(&w, "size_bytes", o->size);
	jw_arr_begin(&w, "ops");
	for (unsigned int oi = 0; oi < PW_NR_ORDERS; oi++)
		jw_u64(&w, NULL, o->ops[oi]);
	jw_arr_end(&w);
	jw_str(&w, "unit", "ns per op; repeat2: per pair per thread (wall time / pairs per thread)");
	cli_json_config(&w, pmm);
	jw_obj_end(&w);
	fputc('\n', stdout);
}

/* ------------------------------------------------------------------------
 * Entry point
 * ------------------------------------------------------------------------ */

int bench_peers(int argc, char **argv)
{
	struct pw_opts o = { .rounds = 5, .cases = (1u << PW_NR_CASES) - 1,
			     .size = PW_DEFAULT_SIZE, .ops = { 1000000, 50000 } };
	struct cli_progress prog;
	struct pmm_config cfg;
	struct pw_state *s;
	pmm_t *probe = NULL;
	struct sigaction old_pipe;
	bool pipe_ignored = false;
	int ret = CLI_EXIT_FAIL, parsed, nr = 0, sel[PW_NR_ALLOCS];

	for (int k = 0; k < PW_NR_ALLOCS; k++)
		if (pw_allocs[k].by_default)
			o.allocs |= 1u << k;
	parsed = pw_parse(argc, argv, &cfg, &o);
	if (parsed != CLI_RUN)
		return parsed;
	if (o.child)
		return pw_child(&o);
	if (!o.seed_set)
		o.seed = prng_mix64(cli_now_ns() ^ ((uint64_t)getpid() << 32));
	if (cfg.page_shift != PW_PAGE_SHIFT || cfg.max_order < 9) {
		fprintf(stderr, "pmm bench peers: needs 4 KiB pages and max_order >= 9\n");
		return CLI_EXIT_USAGE;
	}
	if (cfg.backing == PMM_BACKING_NONE) {
		fprintf(stderr, "pmm bench peers: bulk writes each block: needs a backing\n");
		return CLI_EXIT_USAGE;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		fprintf(stderr, "pmm bench peers: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	for (int k = 0; k < PW_NR_ALLOCS; k++)
		for (unsigned int oi = 0; oi < PW_NR_ORDERS; oi++)
			for (int cs = 0; cs < PW_NR_CASES; cs++)
				for (unsigned int r = 0; r < BENCH_MAX_SAMPLES; r++)
					s->ns[k][oi][cs][r] = NAN;
	/* The configuration once, before any round: a bad one fails here. */
	probe = cli_create(&cfg, "bench peers");
	if (!probe)
		goto out;
	pw_find_peers(&o, s);

	cli_progress_begin(&prog);
	for (int k = 0; k < PW_NR_ALLOCS; k++)
		if ((o.allocs >> k) & 1)
			sel[nr++] = k;
	/* a child that died fails the parent's write, and is reported; restored at the end */
	pipe_ignored = !sigaction(SIGPIPE, &(struct sigaction){ .sa_handler = SIG_IGN }, &old_pipe);
	for (unsigned int r = 0; r < o.rounds; r++)
		if (pw_round(r, sel, nr, &cfg, &o, s, &prog))
			goto out_progress;
	cli_progress_end(&prog);
	if (o.json)
		pw_print_json(&o, s, probe);
	else
		pw_print_text(&o, s, probe);
	ret = CLI_EXIT_OK;
	goto out;
out_progress:
	cli_progress_end(&prog);
out:
	if (pipe_ignored)
		sigaction(SIGPIPE, &old_pipe, NULL);
	pmm_destroy(probe);
	free(s);
	return ret;
}

int bench_peers_short(int argc, char **argv)
{
	/* 1 GiB as the full run: on a smaller instance pcp high is below 512 frames, so no order-9 block stays on the pcp */
	static const char *const extra[] = { "--rounds", "3", "--size", "1G",
					     "--ops", "300000,10000" };

	return bench_with_args(bench_peers, argc, argv, extra, (int)ARRAY_SIZE(extra));
}
