/* SPDX-License-Identifier: MIT */
/*
 * harness.c - the timing harness every benchmark family uses: variants run
 * interleaved over repetitions, summarized as median, min and max.
 */
/* sched_setaffinity() and CPU_SET are GNU extensions. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ------------------------------------------------------------------------
 * Repetitions
 * ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void summarize(double *v, unsigned int n, struct bench_result *r)
{
	qsort(v, n, sizeof(*v), cmp_double);
	r->min_ns = v[0];
	r->max_ns = v[n - 1];
	r->median_ns = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	r->reps = n;
}

int bench_run(const struct bench_variant *v, unsigned int nr, unsigned int warmup,
	      unsigned int reps, struct bench_result *out)
{
	double *samples;
	int ret = 0;

	if (nr == 0 || reps == 0 || reps > BENCH_MAX_REPS) {
		fprintf(stderr, "bench: need 1..%d repetitions\n", BENCH_MAX_REPS);
		return -1;
	}
	samples = calloc((size_t)nr * reps, sizeof(*samples));
	if (!samples) {
		fprintf(stderr, "bench: out of memory\n");
		return -1;
	}
	for (unsigned int i = 0; i < nr; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].name = v[i].name;
	}

	for (unsigned int round = 0; round < warmup + reps && !ret; round++) {
		for (unsigned int i = 0; i < nr; i++) {
			struct bench_sample s = { 0, 0 };
			uint64_t t0 = cli_now_ns();

			if (v[i].run(v[i].arg, &s) < 0 || s.ops == 0) {
				fprintf(stderr, "bench: variant %s failed\n", v[i].name);
				ret = -1;
				break;
			}
			if (s.ns == 0)
				s.ns = cli_now_ns() - t0;
			out[i].ops = s.ops;
			if (round >= warmup)
				samples[(size_t)i * reps + (round - warmup)] =
					(double)s.ns / (double)s.ops;
		}
	}
	if (!ret)
		for (unsigned int i = 0; i < nr; i++)
			summarize(&samples[(size_t)i * reps], reps, &out[i]);
	free(samples);
	return ret;
}

/* ------------------------------------------------------------------------
 * Clock
 * ------------------------------------------------------------------------ */

uint64_t bench_clock_overhead(void)
{
	uint64_t best = UINT64_MAX;

	for (int r = 0; r < 5; r++) {
		uint64_t t0 = cli_now_ns(), t = t0;

		for (int i = 0; i < 10000; i++)
			t = cli_now_ns();
		if ((t - t0) / 10000 < best)
			best = (t - t0) / 10000;
	}
	return best;
}

/* ------------------------------------------------------------------------
 * Summaries
 * ------------------------------------------------------------------------ */

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct bench_stat bench_summary(const double *v, unsigned int n)
{
	double s[BENCH_MAX_SAMPLES];

	if (!n || isnan(v[0]))
		return (struct bench_stat){ NAN, NAN, NAN };
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), bench_cmp);
	return (struct bench_stat){ n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2, s[0], s[n - 1] };
}

double bench_ratio(const double *a, const double *b, unsigned int n)
{
	double r[BENCH_MAX_SAMPLES];

	for (unsigned int i = 0; i < n; i++)
		r[i] = a[i] / b[i];
	return bench_summary(r, n).median;
}

/* ------------------------------------------------------------------------
 * CPU pinning
 * ------------------------------------------------------------------------ */

struct bench_pin {
	cpu_set_t saved;	/* affinity before pinning */
};

struct bench_pin *bench_pin_begin(void)
{
	struct bench_pin *pin = malloc(sizeof(*pin));
	cpu_set_t one;
	int cpu = 0;

	if (!pin || sched_getaffinity(0, sizeof(pin->saved), &pin->saved)) {
		free(pin);
		return NULL;
	}
	while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &pin->saved))
		cpu++;
	CPU_ZERO(&one);
	if (cpu < CPU_SETSIZE)
		CPU_SET(cpu, &one);
	if (cpu == CPU_SETSIZE || sched_setaffinity(0, sizeof(one), &one)) {
		free(pin);
		return NULL;
	}
	return pin;
}

void bench_pin_end(struct bench_pin *pin)
{
	if (!pin)
		return;
	sched_setaffinity(0, sizeof(pin->saved), &pin->saved);
	free(pin);
}

int bench_with_args(int (*fn)(int, char **), int argc, char **argv, const char *const *extra,
		    int nr_extra)
{
	char **args = calloc((size_t)(argc + nr_extra + 1), sizeof(*args));
	int ret, n = 0;

	if (!args) {
		fprintf(stderr, "pmm: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	args[n++] = argc ? argv[0] : (char *)"pmm";
	for (int i = 0; i < nr_extra; i++)
		args[n++] = (char *)extra[i];	/* getopt permutes, never writes the strings */
	for (int i = 1; i < argc; i++)
		args[n++] = argv[i];
	ret = fn(n, args);
	free(args);
	return ret;
}
