/* SPDX-License-Identifier: MIT */
/*
 * cli.c - what every command says about its run: how this binary was
 * built, the instance's configuration (one text line or JSON members), the
 * clock its durations come from, and the progress line of a long run.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* ------------------------------------------------------------------------
 * Clock
 * ------------------------------------------------------------------------ */

uint64_t cli_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------
 * Build type
 * ------------------------------------------------------------------------ */

/*
 * The build type comes from the compiler, not from CMake's cache: what
 * matters is how this very binary was compiled. PMM_DEBUG is what the
 * project's Debug configuration defines (assertions on).
 */
#if defined(__SANITIZE_ADDRESS__)
#define CLI_SAN "+asan"
#elif defined(__SANITIZE_THREAD__)
#define CLI_SAN "+tsan"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CLI_SAN "+asan"
#elif __has_feature(thread_sanitizer)
#define CLI_SAN "+tsan"
#endif
#endif
#ifndef CLI_SAN
#define CLI_SAN ""
#endif

#if defined(__OPTIMIZE__) && !defined(PMM_DEBUG)
#define CLI_BUILD "Release"
#define CLI_RELEASE 1
#else
#define CLI_BUILD "Debug"
#define CLI_RELEASE 0
#endif

const char *cli_build_type(void)
{
	return CLI_BUILD CLI_SAN;
}

bool cli_is_release(void)
{
	return CLI_RELEASE && CLI_SAN[0] == '\0';
}

/* ------------------------------------------------------------------------
 * Configuration banner
 * ------------------------------------------------------------------------ */

static uint64_t total_frames(const struct pmm_config *cfg)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < cfg->nr_regions && i < PMM_MAX_REGIONS; i++)
		n += cfg->regions[i].nr_pages;
	return n;
}

void cli_print_config(FILE *f, pmm_t *pmm)
{
	const struct pmm_config *c = pmm_get_config(pmm);
	uint64_t frames = total_frames(c);

	/* pcp batch/high 0 = the kernel formula, which the library resolves
	 * per zone and does not report back. */
	fprintf(f, "config: memmap=%s backing=%s cpus=%u mem=%llu MiB page=%zu B "
		"max_order=%u pcp=%s check_pages=%s", cli_memmap_name(c->memmap),
		cli_backing_name(c->backing), c->nr_cpus,
		(unsigned long long)((frames * pmm_page_size(pmm)) >> 20), pmm_page_size(pmm),
		c->max_order, c->pcp_disable ? "off" : cli_pcp_fastpath_name(c->pcp_fastpath),
		cli_check_pages_name(c->check_pages));
	if (c->pcp_batch)
		fprintf(f, " batch=%u", c->pcp_batch);
	if (c->pcp_high)
		fprintf(f, " high=%u", c->pcp_high);
	fprintf(f, " build=%s\n", cli_build_type());
	if (!cli_is_release())
		fprintf(f, "warning: not a plain Release build; figures are not representative\n");
}

void cli_json_config(struct jw *w, pmm_t *pmm)
{
	const struct pmm_config *c = pmm_get_config(pmm);

	jw_str(w, "memmap", cli_memmap_name(c->memmap));
	jw_str(w, "backing", cli_backing_name(c->backing));
	jw_u64(w, "nr_cpus", c->nr_cpus);
	jw_u64(w, "mem_bytes", total_frames(c) * pmm_page_size(pmm));
	jw_u64(w, "page_size", pmm_page_size(pmm));
	jw_u64(w, "max_order", c->max_order);
	jw_bool(w, "pcp", !c->pcp_disable);
	jw_str(w, "check_pages", cli_check_pages_name(c->check_pages));
	jw_str(w, "pcp_fastpath", cli_pcp_fastpath_name(c->pcp_fastpath));
	jw_u64(w, "pcp_batch", c->pcp_batch);	/* 0 = kernel formula */
	jw_u64(w, "pcp_high", c->pcp_high);
	jw_str(w, "build", cli_build_type());
}

/* ------------------------------------------------------------------------
 * Sizes
 * ------------------------------------------------------------------------ */

char *cli_format_bytes(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

/* ------------------------------------------------------------------------
 * Progress
 * ------------------------------------------------------------------------ */

/* Narrower than any terminal: a line that wrapped could not be rewritten. */
#define CLI_PROGRESS_COLS 79

void cli_progress_begin(struct cli_progress *p)
{
	p->on = isatty(STDERR_FILENO);
	p->len = 0;
	p->t0 = cli_now_ns();
}

double cli_progress_seconds(const struct cli_progress *p)
{
	return (double)(cli_now_ns() - p->t0) / 1e9;
}

void cli_progress(struct cli_progress *p, const char *fmt, ...)
{
	char line[CLI_PROGRESS_COLS + 1];
	va_list ap;
	int len;

	if (!p->on)
		return;
	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if (len > CLI_PROGRESS_COLS)
		len = CLI_PROGRESS_COLS;
	/* Spaces over what a longer previous line left, then back to column 0. */
	fprintf(stderr, "\r%s%*s\r", line, p->len > len ? p->len - len : 0, "");
	fflush(stderr);
	p->len = len;
}

void cli_progress_end(struct cli_progress *p)
{
	if (!p->on || !p->len)
		return;
	fprintf(stderr, "\r%*s\r", p->len, "");
	fflush(stderr);
	p->len = 0;
}
