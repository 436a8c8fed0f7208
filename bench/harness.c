/* SPDX-License-Identifier: MIT */
/*
 * harness.c - the timing harness every benchmark family uses, and the tiny
 * JSON writer behind every --json output.
 */
/* sched_setaffinity() and CPU_SET are GNU extensions. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

/* ------------------------------------------------------------------------
 * JSON writer
 * ------------------------------------------------------------------------ */

void jw_init(struct jw *w, FILE *f)
{
	w->f = f;
	w->depth = 0;
	w->first[0] = true;
}

static void jw_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Separator and key before any value; keys only mean something in objects. */
static void jw_member(struct jw *w, const char *key)
{
	if (!w->first[w->depth])
		fputc(',', w->f);
	w->first[w->depth] = false;
	if (key) {
		jw_string(w->f, key);
		fputc(':', w->f);
	}
}

static void jw_open(struct jw *w, const char *key, int c)
{
	jw_member(w, key);
	fputc(c, w->f);
	/* Deeper nesting than any output here needs is a programming error;
	 * keep writing valid JSON by sharing the last level's state. */
	if (w->depth < JW_MAX_DEPTH - 1)
		w->depth++;
	w->first[w->depth] = true;
}

static void jw_close(struct jw *w, int c)
{
	fputc(c, w->f);
	if (w->depth > 0)
		w->depth--;
}

void jw_obj_begin(struct jw *w, const char *key) { jw_open(w, key, '{'); }
void jw_obj_end(struct jw *w) { jw_close(w, '}'); }
void jw_arr_begin(struct jw *w, const char *key) { jw_open(w, key, '['); }
void jw_arr_end(struct jw *w) { jw_close(w, ']'); }

void jw_str(struct jw *w, const char *key, const char *val)
{
	jw_member(w, key);
	if (val)
		jw_string(w->f, val);
	else
		fputs("null", w->f);
}

void jw_u64(struct jw *w, const char *key, uint64_t val)
{
	jw_member(w, key);
	fprintf(w->f, "%llu", (unsigned long long)val);
}

void jw_i64(struct jw *w, const char *key, int64_t val)
{
	jw_member(w, key);
	fprintf(w->f, "%lld", (long long)val);
}

void jw_double(struct jw *w, const char *key, double val)
{
	jw_member(w, key);
	if (isfinite(val))
		fprintf(w->f, "%.6g", val);
	else
		fputs("null", w->f);
}

void jw_bool(struct jw *w, const char *key, bool val)
{
	jw_member(w, key);
	fputs(val ? "true" : "false", w->f);
}

void jw_raw(struct jw *w, const char *key, const char *json)
{
	jw_member(w, key);
	fputs(json && *json ? json : "null", w->f);
}

/* ------------------------------------------------------------------------
 * Clock and repetitions
 * ------------------------------------------------------------------------ */

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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
			uint64_t t0 = bench_now_ns();

			if (v[i].run(v[i].arg, &s) < 0 || s.ops == 0) {
				fprintf(stderr, "bench: variant %s failed\n", v[i].name);
				ret = -1;
				break;
			}
			if (s.ns == 0)
				s.ns = bench_now_ns() - t0;
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
 * CPU pinning
 * ------------------------------------------------------------------------ */

struct bench_pin {
	cpu_set_t saved;	/* affinity before pinning */
};

struct bench_pin *bench_pin_begin(void)
{
	struct bench_pin *pin = malloc(sizeof(*pin));
	cpu_set_t one;
	int cpu = sched_getcpu();

	if (!pin || cpu < 0 || sched_getaffinity(0, sizeof(pin->saved), &pin->saved)) {
		free(pin);
		return NULL;
	}
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one)) {
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

/* ------------------------------------------------------------------------
 * Configuration banner
 * ------------------------------------------------------------------------ */

/*
 * The build type comes from the compiler, not from CMake's cache: what
 * matters is how this very binary was compiled. PMM_DEBUG is what the
 * project's Debug configuration defines (assertions on).
 */
#if defined(__SANITIZE_ADDRESS__)
#define BENCH_SAN "+asan"
#elif defined(__SANITIZE_THREAD__)
#define BENCH_SAN "+tsan"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_SAN "+asan"
#elif __has_feature(thread_sanitizer)
#define BENCH_SAN "+tsan"
#endif
#endif
#ifndef BENCH_SAN
#define BENCH_SAN ""
#endif

#if defined(__OPTIMIZE__) && !defined(PMM_DEBUG)
#define BENCH_BUILD "Release"
#define BENCH_RELEASE 1
#else
#define BENCH_BUILD "Debug"
#define BENCH_RELEASE 0
#endif

const char *bench_build_type(void)
{
	return BENCH_BUILD BENCH_SAN;
}

bool bench_is_release(void)
{
	return BENCH_RELEASE && BENCH_SAN[0] == '\0';
}

void bench_print_config(FILE *f, pmm_t *pmm)
{
	const struct pmm_config *c = pmm_get_config(pmm);
	uint64_t frames = pmm_total_frames(c);

	/* pcp batch/high 0 = the kernel formula, which the library resolves
	 * per zone and does not report back. */
	fprintf(f, "config: memmap=%s backing=%s cpus=%u mem=%llu MiB page=%zu B "
		"max_order=%u pcp=%s", pmm_opts_memmap_name(c->memmap),
		pmm_opts_backing_name(c->backing), c->nr_cpus,
		(unsigned long long)((frames * pmm_page_size(pmm)) >> 20), pmm_page_size(pmm),
		c->max_order, c->pcp_disable ? "off" : "on");
	if (c->pcp_batch)
		fprintf(f, " batch=%u", c->pcp_batch);
	if (c->pcp_high)
		fprintf(f, " high=%u", c->pcp_high);
	fprintf(f, " build=%s\n", bench_build_type());
	if (!bench_is_release())
		fprintf(f, "warning: not a plain Release build; figures are not representative\n");
}

void bench_json_config(struct jw *w, pmm_t *pmm)
{
	const struct pmm_config *c = pmm_get_config(pmm);

	jw_str(w, "memmap", pmm_opts_memmap_name(c->memmap));
	jw_str(w, "backing", pmm_opts_backing_name(c->backing));
	jw_u64(w, "nr_cpus", c->nr_cpus);
	jw_u64(w, "mem_bytes", pmm_total_frames(c) * pmm_page_size(pmm));
	jw_u64(w, "page_size", pmm_page_size(pmm));
	jw_u64(w, "max_order", c->max_order);
	jw_bool(w, "pcp", !c->pcp_disable);
	jw_u64(w, "pcp_batch", c->pcp_batch);	/* 0 = kernel formula */
	jw_u64(w, "pcp_high", c->pcp_high);
	jw_str(w, "build", bench_build_type());
}
