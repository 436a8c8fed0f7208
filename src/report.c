/* SPDX-License-Identifier: MIT */
/*
 * report.c - errors, the rate-limited log, bad-page reports, and the page
 * dumps that reports and debug assertions print (flag names from the
 * PAGEFLAGS list).
 */
#include "fmt.h"
#include "internal.h"
#include "memmap.h"
#include "os.h"
#include "page_flags.h"
#include "page_ref.h"

#include <stdarg.h>

/* ------------------------------------------------------------------------
 * Errors and logs
 * ------------------------------------------------------------------------ */

const char *pmm_strerror(int err)
{
	/* Negate in unsigned arithmetic: -INT_MIN does not exist. */
	unsigned int code = err < 0 ? 0u - (unsigned int)err : (unsigned int)err;

	switch (code) {
#define PMM_ERROR_CASE(name, value, msg)                                       \
	case value:                                                            \
		return msg;
		PMM_ERRORS(PMM_ERROR_CASE)
#undef PMM_ERROR_CASE
	}
	return "unknown error";
}

#define LOG_BURST 10
#define LOG_INTERVAL_NS (5ull * 1000000000ull)

/*
 * pmm_log - one line to the configured sink. Rate limited like the kernel's
 * printk_ratelimit() (LOG_BURST lines per LOG_INTERVAL_NS) when @ratelimit,
 * so that a storm of bad pages cannot flood the caller's log.
 */
void pmm_log(pmm_t *pmm, bool ratelimit, const char *fmt, ...)
{
	char line[256];
	uint64_t suppressed = 0;
	va_list ap;

	if (pmm->cfg.quiet)
		return;
	if (ratelimit) {
		uint64_t now = pmm_os_now_ns();
		bool ok;

		spin_lock(&pmm->log_lock);
		if (now - pmm->log_window_start > LOG_INTERVAL_NS) {
			suppressed = pmm->log_suppressed;
			pmm->log_window_start = now;
			pmm->log_in_window = 0;
			pmm->log_suppressed = 0;
		}
		ok = pmm->log_in_window++ < LOG_BURST;
		if (!ok)
			pmm->log_suppressed++;
		spin_unlock(&pmm->log_lock);
		if (!ok)
			return;
	}
	va_start(ap, fmt);
	fmt_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (suppressed) {
		char note[64];

		fmt_snprintf(note, sizeof(note), "%llu log lines suppressed",
			 (unsigned long long)suppressed);
		pmm->cfg.log_fn ? pmm->cfg.log_fn(pmm->cfg.log_arg, note) : pmm_os_log(note);
	}
	pmm->cfg.log_fn ? pmm->cfg.log_fn(pmm->cfg.log_arg, line) : pmm_os_log(line);
}

/*
 * Bad pages. bad_page_leak() takes the 2^order block at @page, which the
 * caller owns, out of circulation for good, as Linux does: PG_bad marks it
 * for pmm_check(). bad_page_report() only reports: the page belongs to
 * someone else (a free list, another owner) and is left exactly as it is.
 */
void report_bad(pmm_t *pmm, pmm_pfn_t pfn, const char *reason, const struct pmm_page *page)
{
	gstat_add(pmm, bad_page, 1);
	if (pmm->cfg.bad_page_fn)
		pmm->cfg.bad_page_fn(pmm->cfg.bad_page_arg, pfn, reason);
	if (page) {
		char names[160];

		pmm_log(pmm, true, "bad page pfn %#llx: %s (flags %s count %d mapcount %d)",
			(unsigned long long)pfn, reason,
			page_flag_names(page_flags(page), names, sizeof(names)),
			page_ref_count(page),
			/* the API's mapcount: the stored one starts at -1 */
			atomic_load_explicit(&((struct pmm_page *)page)->mapcount, memory_order_relaxed) + 1);
	}
	else if (pfn != (pmm_pfn_t)-1)
		pmm_log(pmm, true, "bad pfn %#llx: %s", (unsigned long long)pfn, reason);
	else
		pmm_log(pmm, true, "bad page: %s", reason);
}

/* A pfn a caller named that has no page to look at (outside managed memory). */
void bad_pfn_report(pmm_t *pmm, pmm_pfn_t pfn, const char *reason)
{
	report_bad(pmm, pfn, reason, NULL);
}

void bad_page_leak(pmm_t *pmm, struct pmm_page *page, unsigned int order, const char *reason)
{
	report_bad(pmm, page_to_pfn(pmm, page), reason, page);
	__set_page_alloc_order(page, order);
	/* The caller owns the block and is freeing it: no other thread sees it. */
	__SetPageBad(page);
	__SetPageOwned(page);
	gstat_add(pmm, leaked_pages, 1UL << order);
}

void bad_page_report(pmm_t *pmm, struct pmm_page *page, const char *reason)
{
	report_bad(pmm, page_to_pfn(pmm, page), reason, page);
}

/* page_valid_for_free() found a pointer that is not a managed page of @pmm. */
void report_foreign_page(pmm_t *pmm, const char *what)
{
	report_bad(pmm, (pmm_pfn_t)-1, what, NULL);
}

/* ------------------------------------------------------------------------
 * Page dumps
 * ------------------------------------------------------------------------ */

static const char *const pageflag_names[NR_PAGEFLAGS] = {
#define PG_NAME(lname, Name, what) [PG_##lname] = #lname,
	PAGEFLAGS(PG_NAME)
#undef PG_NAME
};

char *page_flag_names(uint64_t flags, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int bit = 0; bit < NR_PAGEFLAGS; bit++) {
		int n;

		if (!(flags & PF(bit)))
			continue;
		n = fmt_snprintf(buf + used, len - used, "%s%s", used ? "|" : "", pageflag_names[bit]);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (!used)
		fmt_snprintf(buf, len, "none");
	return buf;
}

/* Debug builds call this from PMM_BUG_ON_PAGE before they abort. */
void dump_page(const struct pmm_page *page, const char *why)
{
	char names[160], line[320];

	fmt_snprintf(line, sizeof(line),
		 "page %p: %s: flags %s zone %u section %llu count %d mapcount %d mapping %p "
		 "private %#llx order %u",
		 (const void *)page, why, page_flag_names(page_flags(page), names, sizeof(names)),
		 page_zone_id(page), (unsigned long long)page_section(page), page_ref_count(page),
		 atomic_load_explicit(&((struct pmm_page *)page)->mapcount, memory_order_relaxed) + 1,
		 page->mapping, (unsigned long long)page->private, page_alloc_order(page));
	pmm_os_log(line);
}
