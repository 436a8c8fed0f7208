/* SPDX-License-Identifier: MIT */
/*
 * bench.h - what the `pmm` command's files share: instance flags, the
 * timing harness, a tiny JSON writer, and one entry point per benchmark
 * family (one family per bench/ file).
 *
 * Everything here programs against include/pmm.h only; nothing reaches into
 * src/. Nothing here keeps process-global state: every helper works on
 * objects the caller passes in.
 */
#ifndef PMM_BENCH_H
#define PMM_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pmm.h"

/* Exit codes every command uses. */
enum {
	PMM_EXIT_OK = 0,
	PMM_EXIT_FAIL = 1,	/* the command ran and found a problem */
	PMM_EXIT_USAGE = 2,	/* bad command line */
};

/* ------------------------------------------------------------------------
 * Instance flags (options.c): every command accepts the same set
 * ------------------------------------------------------------------------ */

/**
 * pmm_opts_parse - apply the instance flags in @argv to @cfg.
 * @argc: in: number of arguments; out: number left after removing the
 *        instance flags (argv[0], the command name, is always kept).
 * @argv: the command's arguments; instance flags are removed in place so
 *        the command only sees its own flags. argv[*argc] is set to NULL.
 * @cfg: already filled by pmm_config_init() (callers may preset fields
 *       that flags then override).
 *
 * Flags take "--flag VALUE" or "--flag=VALUE". Sizes accept K/M/G/T
 * suffixes (binary); numbers accept 0x hex.
 * Return: 0, or -1 after printing an error to stderr.
 */
int pmm_opts_parse(int *argc, char **argv, struct pmm_config *cfg);

/** pmm_opts_usage - print the instance flags, for every command's --help. */
void pmm_opts_usage(FILE *f);

/**
 * pmm_opts_create - pmm_create() that explains a failure on stderr.
 * @who: the command name, for the message.
 * Return: the instance or NULL.
 */
pmm_t *pmm_opts_create(const struct pmm_config *cfg, const char *who);

/**
 * pmm_opts_reject_rest - complain about arguments a command did not take.
 * Return: 0 when argv[1..argc) is empty, else -1 after a message.
 */
int pmm_opts_reject_rest(int argc, char **argv, const char *who);

/** pmm_opts_is_help - true for "-h", "--help" and "help". */
bool pmm_opts_is_help(const char *arg);

/** pmm_opts_parse_u64 - strict unsigned number (decimal or 0x hex). */
int pmm_opts_parse_u64(const char *s, uint64_t *out);
/** pmm_opts_parse_size - a byte count with optional K/M/G/T suffix. */
int pmm_opts_parse_size(const char *s, uint64_t *out);

const char *pmm_opts_memmap_name(enum pmm_memmap_model m);
const char *pmm_opts_backing_name(enum pmm_backing b);

/** pmm_total_frames - frames in all regions of a resolved config. */
uint64_t pmm_total_frames(const struct pmm_config *cfg);

/* ------------------------------------------------------------------------
 * JSON writer (harness.c): no library, no allocation, one nesting stack
 * ------------------------------------------------------------------------ */

#define JW_MAX_DEPTH 16

struct jw {
	FILE *f;			/* destination */
	int depth;			/* open objects/arrays */
	bool first[JW_MAX_DEPTH];	/* no member written yet at this level */
};

/* @key is the member name inside an object and NULL inside an array or at
 * the top level. Strings are escaped; doubles print with %.6g (NaN/Inf as
 * null, which JSON lacks). */
void jw_init(struct jw *w, FILE *f);
void jw_obj_begin(struct jw *w, const char *key);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w, const char *key);
void jw_arr_end(struct jw *w);
void jw_str(struct jw *w, const char *key, const char *val);
void jw_u64(struct jw *w, const char *key, uint64_t val);
void jw_i64(struct jw *w, const char *key, int64_t val);
void jw_double(struct jw *w, const char *key, double val);
void jw_bool(struct jw *w, const char *key, bool val);
/** jw_raw - a member whose value is already JSON text (e.g. pmm_buddyinfo). */
void jw_raw(struct jw *w, const char *key, const char *json);

/* ------------------------------------------------------------------------
 * Timing harness (harness.c)
 * ------------------------------------------------------------------------ */

/** bench_now_ns - CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/*
 * One timed sample. The harness zeroes it and times the whole run() call;
 * a variant with untimed setup inside run() sets @ns itself (timing only
 * its measured part with bench_now_ns()). @ops must be set: the number of
 * operations the sample performed, so results are ns per operation.
 */
struct bench_sample {
	uint64_t ns;	/* measured time; 0 = let the harness use its own */
	uint64_t ops;	/* operations performed; > 0 */
};

struct bench_variant {
	const char *name;				/* e.g. "pcp_hit" */
	int (*run)(void *arg, struct bench_sample *s);	/* 0, or -1 = failed */
	void *arg;
};

struct bench_result {
	const char *name;	/* the variant's name */
	double median_ns;	/* ns per op: median over repetitions */
	double min_ns;
	double max_ns;
	unsigned int reps;	/* measured repetitions */
	uint64_t ops;		/* ops per repetition (of the last one) */
};

#define BENCH_MAX_REPS 1000

/**
 * bench_run - run @nr variants interleaved (A B C A B C ...) for @warmup
 * unmeasured rounds and then @reps measured ones.
 *
 * Interleaving spreads slow drifts (frequency, other load) over every
 * variant instead of biasing whichever ran last.
 * Return: 0, or -1 if a run failed (after a message naming it).
 */
int bench_run(const struct bench_variant *v, unsigned int nr, unsigned int warmup,
	      unsigned int reps, struct bench_result *out);

/*
 * bench_pin_begin - pin the calling thread to the CPU it runs on, so a
 * single-threaded benchmark keeps using one CPU's pcp lists.
 * Return: the previous affinity for bench_pin_end(), or NULL when pinning
 * is unavailable (the benchmark then runs unpinned).
 */
struct bench_pin;
struct bench_pin *bench_pin_begin(void);
/** bench_pin_end - restore the affinity saved by bench_pin_begin(); NULL ok. */
void bench_pin_end(struct bench_pin *pin);

/** bench_build_type - "Release" or "Debug" (plus "+asan"/"+tsan") of this binary. */
const char *bench_build_type(void);
/** bench_is_release - false when figures from this binary mean little. */
bool bench_is_release(void);

/** bench_print_config - one text line: memmap, backing, CPUs, memory, build. */
void bench_print_config(FILE *f, pmm_t *pmm);
/** bench_json_config - the same as members of the current JSON object. */
void bench_json_config(struct jw *w, pmm_t *pmm);

/* ------------------------------------------------------------------------
 * Benchmark families: `pmm bench NAME [flags]`, one file each
 * ------------------------------------------------------------------------ */

/*
 * Each family's entry point takes the command line after "bench", so
 * argv[0] is the family name; it parses instance flags itself.
 * Return: an exit code (PMM_EXIT_*).
 */
int bench_fastpath(int argc, char **argv);	/* fastpath.c */
int bench_contig(int argc, char **argv);	/* contig.c */

/* ------------------------------------------------------------------------
 * Other commands kept in bench/ because the build compiles tools/pmm.c
 * plus every bench/ source into the `pmm` executable. Not benchmarks: no
 * timings.
 * ------------------------------------------------------------------------ */

int cmd_stress(int argc, char **argv);		/* stress.c */

#endif /* PMM_BENCH_H */
