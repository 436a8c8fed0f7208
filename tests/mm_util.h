/* SPDX-License-Identifier: MIT */
/*
 * mm_util.h - helpers shared by the address-space API tests
 * (tests/api/test_mm_*.c): pmm.h and testutil.h only.
 *
 * Like testutil, every helper that asserts does so through cmocka and must
 * run on the test's own thread; the mu_try_* variants return an error code
 * instead, for worker threads.
 *
 * Units: addresses and lengths are bytes (MU_PAGES(n) converts a page
 * count); orders are folio orders.
 *
 * Build note: tests/CMakeLists.txt must add mm_util.c to pmm_testutil
 * (add_library(pmm_testutil STATIC testutil.c mm_util.c)).
 */
#ifndef PMM_MM_UTIL_H
#define PMM_MM_UTIL_H

#include "testutil.h"

#include <stdbool.h>
#include <stdint.h>

#define MU_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MU_PAGE_SHIFT 12
#define MU_PAGE (1ull << MU_PAGE_SHIFT)
#define MU_PAGES(n) ((uint64_t)(n) << MU_PAGE_SHIFT)
#define MU_PMD_SIZE (1ull << 21)	/* one PTE table maps 2 MiB */
#define MU_PUD_SIZE (1ull << 30)	/* one PMD table maps 1 GiB */
#define MU_P4D_SIZE (1ull << 39)	/* one PUD table maps 512 GiB */
#define MU_USER_END (1ull << 47)	/* end of the 48-bit user space */
/* Where tests put their mappings: aligned to every table level below the root. */
#define MU_BASE (1ull << 39)
#define MU_MAX_FOLIO_ORDER 9		/* pageblock_order of tu_config() instances */

/* Each gather mode, for loops; and names for messages. */
extern const enum pmm_gather_mode mu_modes[PMM_NR_GATHER_MODES];
const char *mu_mode_name(enum pmm_gather_mode mode);
const char *mu_model_name(enum pmm_mapcount_model model);

/* ------------------------------------------------------------------------
 * An instance with its fresh buddyinfo and bad-page counter
 * ------------------------------------------------------------------------ */

struct mu_env {
	pmm_t *pmm;
	struct tu_bad bad;
	struct tu_buddy fresh;
	struct tu_report_mark mark;	/* reports before this are expected */
};

/* mu_config - tu_config() reporting bad pages into @e->bad. */
void mu_config(struct mu_env *e, struct pmm_config *cfg, uint64_t mib);
/* mu_start - create the instance from @cfg and record its fresh buddyinfo. */
void mu_start(struct mu_env *e, const struct pmm_config *cfg);
/* mu_env - mu_config() + mu_start() with the defaults. */
void mu_env(struct mu_env *e, uint64_t mib);
/* mu_reports - bad-page reports since the mark; mu_remark moves the mark. */
uint64_t mu_reports(struct mu_env *e);
void mu_remark(struct mu_env *e);
/*
 * mu_finish - the end of every scenario, once every mm is destroyed: no
 * deferred split queue, empty swap cache and LRU, pmm_check() == 0, no
 * unexpected report, nothing leaked, buddyinfo equal to the fresh
 * instance's. Then destroys the instance.
 */
void mu_finish(struct mu_env *e);

/* ------------------------------------------------------------------------
 * Address spaces
 * ------------------------------------------------------------------------ */

pmm_mm_t *mu_mm(pmm_t *pmm, enum pmm_gather_mode mode, enum pmm_mapcount_model model);
pmm_mm_t *mu_mm_cfg(pmm_t *pmm, const struct pmm_mm_config *cfg);
struct pmm_mm_stats mu_stats(pmm_mm_t *mm);
void mu_map(pmm_mm_t *mm, uint64_t addr, uint64_t len, unsigned int order, unsigned int flags);
void mu_unmap(pmm_mm_t *mm, uint64_t addr, uint64_t len);
void mu_fault(pmm_mm_t *mm, uint64_t addr, bool write);
pmm_mm_t *mu_fork(pmm_mm_t *mm);

/* mu_folio_at - the folio mapped at @addr (asserted present). */
struct pmm_folio *mu_folio_at(pmm_mm_t *mm, uint64_t addr);
/* mu_order_at - its order. */
unsigned int mu_order_at(pmm_mm_t *mm, uint64_t addr);
/* mu_mapped_pages - PTEs present in [start, end) (lookups). */
uint64_t mu_mapped_pages(pmm_mm_t *mm, uint64_t start, uint64_t end);
/* mu_assert_unmapped - no PTE present in [start, end). */
void mu_assert_unmapped(pmm_mm_t *mm, uint64_t start, uint64_t end);

/* ------------------------------------------------------------------------
 * Instance counters
 * ------------------------------------------------------------------------ */

/* mu_deferred - deferred split queue length summed over the nodes. */
uint64_t mu_deferred(pmm_t *pmm);
struct mu_lru {
	uint64_t inactive, active;	/* folios */
	uint64_t folios;		/* inactive + active */
	uint64_t pages;
};
/* mu_lru - pmm_lru_add_drain(), then the LRU sizes summed over the nodes. */
struct mu_lru mu_lru(pmm_t *pmm);
/* mu_node - pmm_node_info() asserted to succeed. */
struct pmm_node_info mu_node(pmm_t *pmm, int nid);
/* mu_deferred_split_lock - deferred split queue lock acquisitions so far. */
uint64_t mu_deferred_split_lock(pmm_t *pmm);
/* mu_free - free frames after draining the pcp lists. */
uint64_t mu_free(pmm_t *pmm);
/* mu_injected - the fault_injected counter. */
uint64_t mu_injected(pmm_t *pmm);

/* Fault attributes: fail from call @nth on, at most @times times (-1: all). */
void mu_arm(pmm_t *pmm, enum pmm_fault_kind kind, uint64_t nth, int64_t times);
/* mu_arm_order - page allocations of order >= @min_order always fail. */
void mu_arm_order(pmm_t *pmm, unsigned int min_order);
void mu_disarm(pmm_t *pmm, enum pmm_fault_kind kind);

/* ------------------------------------------------------------------------
 * The mTHP fault-order rule (the reference model)
 * ------------------------------------------------------------------------ */

/*
 * mu_fit_order - the order a fault at @addr maps in the VMA [@vstart,
 * @vend) of order @k when allocation succeeds: the largest o <= k whose
 * naturally aligned range around @addr lies inside the VMA and has no PTE
 * present (@mm NULL: nothing is present).
 */
unsigned int mu_fit_order(pmm_mm_t *mm, uint64_t vstart, uint64_t vend, uint64_t addr,
			  unsigned int k);
/*
 * mu_assert_layout - every page of [@vstart, @vend) is mapped, by folios
 * laid out as faults into an empty VMA of order @k lay them out (the
 * maximal aligned decomposition, which does not depend on the order of the
 * faults): each folio of the expected order, mapped at its aligned start,
 * page i of the folio at start + i pages. Return: folios seen.
 */
uint64_t mu_assert_layout(pmm_t *pmm, pmm_mm_t *mm, uint64_t vstart, uint64_t vend,
			  unsigned int k);
/* mu_layout_folios - how many folios that decomposition has. */
uint64_t mu_layout_folios(uint64_t vstart, uint64_t vend, unsigned int k);

/* ------------------------------------------------------------------------
 * Distinct folios mapped by one or more mms
 * ------------------------------------------------------------------------ */

struct mu_folios {
	struct pmm_folio **v;
	size_t n, cap;
	bool sorted;
};
/* mu_folios_add - every folio mapped in [start, end) of @mm. */
void mu_folios_add(struct mu_folios *s, pmm_mm_t *mm, uint64_t start, uint64_t end);
/* mu_folios_count / mu_folios_pages - distinct folios, and their pages. */
uint64_t mu_folios_count(struct mu_folios *s);
uint64_t mu_folios_pages(struct mu_folios *s);
bool mu_folios_has(struct mu_folios *s, struct pmm_folio *f);
void mu_folios_free(struct mu_folios *s);

/* ------------------------------------------------------------------------
 * Reference and mapping counts against the page tables
 * ------------------------------------------------------------------------ */

struct mu_range {
	uint64_t start, end;
};

/*
 * mu_assert_rmap - after pmm_lru_add_drain(), for every page mapped in
 * @r[0..nr) of the @n mms (which must be every mm mapping those folios):
 * each page's mapcount is the number of PTEs mapping it (per-page model;
 * in the folio model a page of a large folio reports the folio's total),
 * and each folio's refcount is the number of PTEs mapping any of its
 * pages, plus 2^order when @swap_ok and the swap cache holds it.
 * Return: the folios whose count included swap-cache references.
 */
uint64_t mu_assert_rmap(pmm_t *pmm, pmm_mm_t *const *mms, size_t n, const struct mu_range *r,
			size_t nr, enum pmm_mapcount_model model, bool swap_ok);

/* ------------------------------------------------------------------------
 * Page tags: word 0 of a page holds the tag, the last word its complement;
 * a page never written holds zeros in both.
 * ------------------------------------------------------------------------ */

/* mu_try_write_tag / mu_try_read_tag - for worker threads: 0 or an error. */
int mu_try_write_tag(pmm_mm_t *mm, uint64_t addr, uint64_t tag);
int mu_try_read_tag(pmm_mm_t *mm, uint64_t addr, uint64_t *tag);
void mu_write_tag(pmm_mm_t *mm, uint64_t addr, uint64_t tag);
/* mu_read_tag - the tag (0: never written); asserts the two words agree. */
uint64_t mu_read_tag(pmm_mm_t *mm, uint64_t addr);
/* mu_page_tag - the same read straight from a page's frame (no fault). */
uint64_t mu_page_tag(pmm_t *pmm, const struct pmm_page *page);

/* ------------------------------------------------------------------------
 * A counting metadata allocator (cfg.meta_alloc/meta_free), process-wide:
 * live blocks, and frees of unknown pointers or with a wrong size.
 * ------------------------------------------------------------------------ */

void mu_meta_install(struct pmm_config *cfg);
long mu_meta_live(void);
long mu_meta_bad_frees(void);

#endif /* PMM_MM_UTIL_H */
