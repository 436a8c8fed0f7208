/* SPDX-License-Identifier: MIT */
/*
 * bench.h - the benchmark harness (harness.c) and one entry point per
 * benchmark family (one family per bench/ file). What every command
 * shares, benchmarks or not (flags, JSON, the configuration banner, the
 * clock), is in tools/cli.h.
 */
#ifndef BENCH_H
#define BENCH_H

#include "cli.h"

/* ------------------------------------------------------------------------
 * Timing harness (harness.c)
 * ------------------------------------------------------------------------ */

/*
 * One timed sample. The harness zeroes it and times the whole run() call;
 * a variant with untimed setup inside run() sets @ns itself (timing only
 * its measured part with cli_now_ns()). @ops must be set: the number of
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

/**
 * bench_clock_overhead - the cost of one cli_now_ns() call, in ns: what a
 * timed interval [cli_now_ns(), cli_now_ns()] adds to what it times (the
 * best of a few averages, so a preemption does not inflate it).
 */
uint64_t bench_clock_overhead(void);

/* A summary of samples: median, min and max; all NaN when the samples are (none measured). */
struct bench_stat {
	double median, min, max;
};

#define BENCH_MAX_SAMPLES 99	/* the most samples bench_summary() and bench_ratio() take */

/** bench_summary - median, min and max of @v[0..@n), @n <= BENCH_MAX_SAMPLES. */
struct bench_stat bench_summary(const double *v, unsigned int n);
/**
 * bench_ratio - the median over rounds of @a[r] / @b[r]: both ran in round
 * r, so the drift between rounds cancels.
 */
double bench_ratio(const double *a, const double *b, unsigned int n);

/*
 * bench_pin_begin - pin the calling thread to the lowest CPU it may use, so
 * that a single-threaded benchmark keeps one CPU's pcp lists, and so that
 * runs measured against each other (another binary, another allocator's
 * process) use the same CPU: a VM's vCPUs need not be alike (here one ran
 * the same pmm pair 1.5x slower than the other).
 * Return: the previous affinity for bench_pin_end(), or NULL when pinning
 * is unavailable (the benchmark then runs unpinned).
 */
struct bench_pin;
struct bench_pin *bench_pin_begin(void);
/** bench_pin_end - restore the affinity saved by bench_pin_begin(); NULL ok. */
void bench_pin_end(struct bench_pin *pin);

/* ------------------------------------------------------------------------
 * Benchmark families: `pmm bench NAME [flags]`, one file each
 * ------------------------------------------------------------------------ */

/*
 * Each family's entry point takes the command line after "bench", so
 * argv[0] is the family name; it parses instance flags itself.
 * Return: an exit code (CLI_EXIT_*).
 */
int bench_fastpath(int argc, char **argv);	/* fastpath.c */
int bench_contig(int argc, char **argv);	/* contig.c */
int bench_teardown(int argc, char **argv);	/* teardown.c */
/* teardown.c: `pmm report`'s form, as if --short were given. */
int bench_teardown_short(int argc, char **argv);
int bench_vmalloc(int argc, char **argv);	/* vmalloc.c */
/* vmalloc.c: `pmm report`'s form, as if --short were given. */
int bench_vmalloc_short(int argc, char **argv);
/* pmm report's short forms of peers and scale: fewer rounds, less memory, shorter runs. */
int bench_peers_short(int argc, char **argv);
int bench_scale_short(int argc, char **argv);
/* bench_with_args - run @fn with @extra flags inserted after argv[0]. */
int bench_with_args(int (*fn)(int, char **), int argc, char **argv, const char *const *extra,
		    int nr_extra);
int bench_peers(int argc, char **argv);		/* peers.c */
int bench_scale(int argc, char **argv);		/* scale.c */

#endif /* BENCH_H */
