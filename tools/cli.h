/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the `pmm` command's files share: exit codes, the flag
 * parser (instance flags plus each command's own), the JSON writer, and
 * what every command says about its run (build type, configuration banner,
 * clock). The benchmark harness and families have their own header,
 * bench/bench.h.
 *
 * Everything here programs against include/pmm.h only; nothing reaches into
 * src/. Nothing here keeps process-global state of its own (cli_parse()
 * borrows getopt_long()'s): every helper works on objects the caller
 * passes in.
 */
#ifndef CLI_H
#define CLI_H

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
 * Flags (options.c): the instance flags every command takes, plus its own
 * ------------------------------------------------------------------------ */

/*
 * One flag: getopt_long()'s entry and the --help line both come from it.
 * Every flag takes "--NAME VALUE" or "--NAME=VALUE"; names are never
 * abbreviated.
 */
struct cli_flag {
	const char *name;	/* without the leading "--"; NULL ends a table */
	const char *arg;	/* the value's name in --help ("N"); NULL: no value */
	int id;			/* what the command's apply function switches on */
	const char *help;	/* --help text; a '\n' continues it on the next line;
				 * NULL: hidden, a flag only the command's own child
				 * processes are given */
};

/* One flag as given, for an apply function and its error messages. */
struct cli_arg {
	const char *cmd;		/* the command, as in struct cli_cmd */
	const struct cli_flag *flag;	/* the flag's table entry */
	const char *val;		/* its value; NULL when it takes none */
};

/* A command's command line: its help, its own flags and what they do. */
struct cli_cmd {
	const char *name;		/* as typed after "pmm": "info", "bench contig" */
	const char *help;		/* --help's text before the flag lists */
	const struct cli_flag *flags;	/* own flags, ending at name == NULL; NULL: none */
	/* Apply one of @flags to @ctx; Return: 0, or -1 after a message. */
	int (*apply)(const struct cli_arg *a, void *ctx);
};

/* cli_parse() found nothing wrong: the command goes on. */
#define CLI_RUN (-1)

/**
 * cli_parse - parse a command's command line in one getopt_long() loop.
 * @cmd: the command: its own flags and help.
 * @argc: number of arguments.
 * @argv: argv[0] is the command's name; not modified. Every argument must
 *        be a flag of @cmd or an instance flag.
 * @cfg: out: pmm_config_init()'s defaults with the instance flags applied.
 * @ctx: the command's options, passed to @cmd->apply for its own flags.
 *
 * "-h", "--help" or "help" anywhere prints cli_usage() to stdout. A flag
 * that is unknown, lacks its value or has a bad one gets one line on
 * stderr naming the command and the flag.
 * Context: getopt_long() keeps its state in globals: one parse at a time.
 * Return: CLI_RUN to go on, or the command's exit code: CLI_EXIT_OK after
 * the help, CLI_EXIT_USAGE after an error.
 */
int cli_parse(const struct cli_cmd *cmd, int argc, char **argv, struct pmm_config *cfg,
	      void *ctx);

/** cli_usage - @cmd's help text, its own flags, then the instance flags. */
void cli_usage(const struct cli_cmd *cmd, FILE *f);

/**
 * cli_inst_usage - the instance flags every command takes, one per line,
 * then how numbers, sizes and flag values are written and what --mem is
 * checked against (`pmm help`, `pmm help flags` and every command's --help).
 */
void cli_inst_usage(FILE *f);

/**
 * cli_bad_value - report @a's value as bad, for an apply function.
 * @want: what would have been accepted, e.g. "full, edges or off".
 * Return: -1, what an apply function returns after a message.
 */
int cli_bad_value(const struct cli_arg *a, const char *want);

/**
 * cli_arg_u64 - @a's value as an unsigned number (decimal or 0x hex).
 * @lo: smallest value accepted.
 * @hi: largest value accepted.
 * @want: for the message when the value is bad; NULL: "@lo..@hi".
 * @out: the number, when it is good.
 * Return: 0, or -1 after cli_bad_value().
 */
int cli_arg_u64(const struct cli_arg *a, uint64_t lo, uint64_t hi, const char *want,
		uint64_t *out);

/**
 * cli_arg_size - @a's value as a byte count with an optional binary suffix
 * (K, M, G, T; "256M", "1GiB"), a non-zero multiple of @align.
 * @want: for the message when the value is bad.
 * Return: 0, or -1 after cli_bad_value().
 */
int cli_arg_size(const struct cli_arg *a, uint64_t align, const char *want, uint64_t *out);

/** cli_arg_uint - cli_arg_u64() into an unsigned int, @lo..@hi. */
int cli_arg_uint(const struct cli_arg *a, unsigned int lo, unsigned int hi, unsigned int *out);
/** cli_arg_ulong - cli_arg_u64() into an unsigned long, @lo..@hi. */
int cli_arg_ulong(const struct cli_arg *a, unsigned long lo, unsigned long hi,
		  unsigned long *out);

/** cli_is_help - true for "-h", "--help" and "help". */
bool cli_is_help(const char *arg);

/**
 * cli_create - pmm_create() that explains a failure on stderr.
 * @cfg: the configuration, usually from cli_parse().
 * @who: the command name, for the message.
 * Return: the instance or NULL.
 */
pmm_t *cli_create(const struct pmm_config *cfg, const char *who);

/* The flags' spelling of a memmap model and a backing ("sparse", "memfd"). */
const char *cli_memmap_name(enum pmm_memmap_model m);
const char *cli_backing_name(enum pmm_backing b);
const char *cli_check_pages_name(enum pmm_check_pages c);
const char *cli_pcp_fastpath_name(enum pmm_pcp_fastpath p);

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

/**
 * cli_format_bytes - @bytes in the largest binary unit that keeps it >= 1,
 * one decimal ("1.0 TiB", "23.4 GiB", "512 B").
 * Return: @buf.
 */
char *cli_format_bytes(char *buf, size_t len, uint64_t bytes);

/** cli_print_config - one text line: memmap, backing, CPUs, memory, build. */
void cli_print_config(FILE *f, pmm_t *pmm);
/** cli_json_config - the same as members of the current JSON object. */
void cli_json_config(struct jw *w, pmm_t *pmm);

/* ------------------------------------------------------------------------
 * Progress of a long run (cli.c): stderr, and only on a terminal
 * ------------------------------------------------------------------------ */

/*
 * One line on stderr rewritten in place ("bench teardown: order 4, exit,
 * round 3/6 (41 s)"), erased by cli_progress_end(). Only when stderr is a
 * terminal: redirected (CI logs, `2>file`) nothing is written, and stdout
 * (text or JSON) is never touched. The cursor is left at the start of the
 * line, so whatever is printed next (a result row, an error) overwrites it
 * rather than running on after it. One thread draws.
 */
struct cli_progress {
	bool on;		/* stderr is a terminal */
	int len;		/* columns of the line now shown; 0: none */
	uint64_t t0;		/* cli_now_ns() at cli_progress_begin() */
};

#if defined(__GNUC__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/** cli_progress_begin - start the clock; @p->on = isatty(stderr). */
void cli_progress_begin(struct cli_progress *p);
/**
 * cli_progress - show @fmt as the line, cut to fit 79 columns. Every call
 * draws, so that the line is never stale: call it once per step (a sample,
 * a round), not from a tight loop.
 */
void cli_progress(struct cli_progress *p, const char *fmt, ...) CLI_PRINTF(2, 3);
/** cli_progress_seconds - seconds since cli_progress_begin(). */
double cli_progress_seconds(const struct cli_progress *p);
/** cli_progress_end - erase the line; cli_progress() may draw a new one after. */
void cli_progress_end(struct cli_progress *p);

/* ------------------------------------------------------------------------
 * Commands defined outside pmm.c
 * ------------------------------------------------------------------------ */

/* argv[0] is the command name. Return: an exit code (CLI_EXIT_*). */
int cmd_stress(int argc, char **argv);		/* stress.c */

#endif /* CLI_H */
