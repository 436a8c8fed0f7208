/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the `pmm` command's files share: exit codes, the instance
 * flags, the JSON writer, and what every command says about its run (build
 * type, configuration banner, clock). The benchmark harness and families
 * have their own header, bench/bench.h.
 *
 * Everything here programs against include/pmm.h only; nothing reaches into
 * src/. Nothing here keeps process-global state: every helper works on
 * objects the caller passes in.
 */
#ifndef PMM_CLI_H
#define PMM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pmm.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* Exit codes every command uses. */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAIL = 1,	/* the command ran and found a problem */
	CLI_EXIT_USAGE = 2,	/* bad command line */
};

/* ------------------------------------------------------------------------
 * Instance flags (options.c): every command accepts the same set
 * ------------------------------------------------------------------------ */

/**
 * cli_opts_parse - apply the instance flags in @argv to @cfg.
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
int cli_opts_parse(int *argc, char **argv, struct pmm_config *cfg);

/** cli_opts_usage - print the instance flags, for every command's --help. */
void cli_opts_usage(FILE *f);

/**
 * cli_opts_create - pmm_create() that explains a failure on stderr.
 * @who: the command name, for the message.
 * Return: the instance or NULL.
 */
pmm_t *cli_opts_create(const struct pmm_config *cfg, const char *who);

/**
 * cli_opts_reject_rest - complain about arguments a command did not take.
 * Return: 0 when argv[1..argc) is empty, else -1 after a message.
 */
int cli_opts_reject_rest(int argc, char **argv, const char *who);

/** cli_opts_is_help - true for "-h", "--help" and "help". */
bool cli_opts_is_help(const char *arg);

/** cli_opts_parse_u64 - strict unsigned number (decimal or 0x hex). */
int cli_opts_parse_u64(const char *s, uint64_t *out);
/** cli_opts_parse_size - a byte count with optional K/M/G/T suffix. */
int cli_opts_parse_size(const char *s, uint64_t *out);

const char *cli_memmap_name(enum pmm_memmap_model m);
const char *cli_backing_name(enum pmm_backing b);

/* ------------------------------------------------------------------------
 * JSON writer (json.c): no library, no allocation, one nesting stack
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
 * The run: build, configuration, clock (cli.c)
 * ------------------------------------------------------------------------ */

/** cli_now_ns - CLOCK_MONOTONIC in nanoseconds. */
uint64_t cli_now_ns(void);

/** cli_build_type - "Release" or "Debug" (plus "+asan"/"+tsan") of this binary. */
const char *cli_build_type(void);
/** cli_is_release - false when figures from this binary mean little. */
bool cli_is_release(void);

/** cli_print_config - one text line: memmap, backing, CPUs, memory, build. */
void cli_print_config(FILE *f, pmm_t *pmm);
/** cli_json_config - the same as members of the current JSON object. */
void cli_json_config(struct jw *w, pmm_t *pmm);

/* ------------------------------------------------------------------------
 * Commands defined outside pmm.c
 * ------------------------------------------------------------------------ */

/* argv[0] is the command name. Return: an exit code (CLI_EXIT_*). */
int cmd_stress(int argc, char **argv);		/* stress.c */

#endif /* PMM_CLI_H */
