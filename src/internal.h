/* SPDX-License-Identifier: MIT */
/*
 * internal.h - prototypes shared between files that have no mechanism
 * header of their own, grouped by the file that defines them (kernel
 * mm/internal.h). Types and inline fast paths live in the mechanism
 * headers: page.h, page_flags.h, page_ref.h, mmzone.h, memmap.h, buddy.h,
 * pcp.h, page_alloc.h, contig.h, list.h, spinlock.h, debug.h, os.h.
 */
#ifndef PMM_INTERNAL_H
#define PMM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmzone.h"

/* ------------------------------------------------------------------------
 * init.c: instance create/destroy, config resolution, the shrinker registry
 * ------------------------------------------------------------------------ */

/* pmm_os_thread_flags(): the thread is reclaiming; its allocations do not reclaim. */
#define PF_MEMALLOC 0x1UL
/* Call the shrinkers until @want pages are freed (kernel shrink_slab()); no lock held. */
bool shrink_slab(pmm_t *pmm, unsigned long want);

/* ------------------------------------------------------------------------
 * zone.c: nodes, zones, watermarks, zonelists
 * ------------------------------------------------------------------------ */

void zone_table_init(pmm_t *pmm);
int zones_init(pmm_t *pmm);
void zones_exit(pmm_t *pmm);
const char *zone_name(enum pmm_zone_type type);

/* ------------------------------------------------------------------------
 * fault.c: fault injection and the metadata allocator
 * ------------------------------------------------------------------------ */

void fault_init(struct fault_state *fs, const struct pmm_fault_attr *attr);
/* page_alloc.c: pmm->pcp_fast (mode, CPUs' nodes, page-allocation fault), pcp_free_fast. */
void pcp_fast_update(pmm_t *pmm);
bool should_fail_alloc_page(pmm_t *pmm, pmm_gfp_t gfp, unsigned int order);
void *meta_alloc_cfg(const struct pmm_config *cfg, struct fault_state *fs, size_t size);
void meta_free_cfg(const struct pmm_config *cfg, void *p, size_t size);
void *meta_alloc(pmm_t *pmm, size_t size);	/* zeroed; NULL on failure */
void meta_free(pmm_t *pmm, void *p, size_t size);
/* The same, the block starting 128 bytes in: off 4 KiB boundaries (fault.c). */
void *meta_alloc_colored(pmm_t *pmm, size_t size);
void meta_free_colored(pmm_t *pmm, void *p, size_t size);

/* ------------------------------------------------------------------------
 * report.c: the log and bad-page reports
 * ------------------------------------------------------------------------ */

void pmm_log(pmm_t *pmm, bool ratelimit, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Report only: the page belongs to someone else and is left as it is. */
void bad_page_report(pmm_t *pmm, struct pmm_page *page, const char *reason);
/* Report a pfn that has no page to look at (outside managed memory). */
void bad_pfn_report(pmm_t *pmm, pmm_pfn_t pfn, const char *reason);
/* Report and take the caller's 2^@order block at @page out of circulation (PG_bad). */
void bad_page_leak(pmm_t *pmm, struct pmm_page *page, unsigned int order, const char *reason);
/* The common reporter: callback, counter, log line (@page may be NULL). */
void report_bad(pmm_t *pmm, pmm_pfn_t pfn, const char *reason, const struct pmm_page *page);
/* A pointer that is not a managed page of @pmm (page_valid_for_free()). */
void report_foreign_page(pmm_t *pmm, const char *what);

/* ------------------------------------------------------------------------
 * isolate.c: pageblock isolation for alloc_contig_range
 * ------------------------------------------------------------------------ */

struct isolation {
	pmm_pfn_t pb_start, pb_end;	/* pageblock-aligned span */
	unsigned long nr;		/* pageblocks */
	uint8_t *saved;			/* their migratetypes before isolation */
};

int start_isolate_page_range(struct pmm_zone *zone, pmm_pfn_t start, pmm_pfn_t end,
			     struct isolation *iso);
void undo_isolate_page_range(struct pmm_zone *zone, struct isolation *iso);
int take_isolated_range(struct pmm_zone *zone, pmm_pfn_t start, pmm_pfn_t end,
			pmm_pfn_t *outer_start, pmm_pfn_t *outer_end);

/* ------------------------------------------------------------------------
 * folio.c: compound pages
 * ------------------------------------------------------------------------ */

void prep_compound_page(struct pmm_page *page, unsigned int order);
bool free_tail_pages_check(pmm_t *pmm, struct pmm_page *head, unsigned int order);

#endif /* PMM_INTERNAL_H */
