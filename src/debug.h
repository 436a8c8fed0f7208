/* SPDX-License-Identifier: MIT */
/*
 * debug.h - assertions in tiers, as the kernel's VM_BUG_ON family:
 *
 *   PMM_DEBUG=0 (release)  nothing runs; every condition is still compiled
 *                          (sizeof), so an assertion cannot rot
 *   PMM_DEBUG=1 (debug)    PMM_BUG_ON, PMM_BUG_ON_PAGE (dumps the page) and
 *                          lockdep_assert_held: cheap, O(1) checks
 *   PMM_DEBUG=2            also PMM_ASSERT_EXPENSIVE: the list and counter
 *                          validators that pmm_check() composes, run on the
 *                          paths that change what they validate
 *
 * Assertions check pmm's own invariants, never caller input: bad input gets
 * an error code or a bad-page report in every build (docs/reliability.md).
 */
#ifndef PMM_DEBUG_H
#define PMM_DEBUG_H

#include "compiler.h"
#include "pmm_platform.h"	/* pmm_os_assert_fail() */

#ifndef PMM_DEBUG
#define PMM_DEBUG 0
#endif

struct pmm_page;

/* dump_page - one line: address, named flags, counts, mapping, private. */
void dump_page(const struct pmm_page *page, const char *why);

#if PMM_DEBUG >= 1
#define PMM_BUG_ON(cond)                                                       \
	do {                                                                   \
		if (__builtin_expect(!!(cond), 0))                             \
			pmm_os_assert_fail(#cond, __FILE__, __LINE__);            \
	} while (0)
#define PMM_BUG_ON_PAGE(cond, page)                                            \
	do {                                                                   \
		if (__builtin_expect(!!(cond), 0)) {                           \
			dump_page(page, #cond);                                \
			pmm_os_assert_fail(#cond, __FILE__, __LINE__);            \
		}                                                              \
	} while (0)
#else
#define PMM_BUG_ON(cond) ((void)sizeof(cond))
#define PMM_BUG_ON_PAGE(cond, page) ((void)sizeof(cond), (void)sizeof(page))
#endif

#if PMM_DEBUG >= 2
#define PMM_ASSERT_EXPENSIVE(cond) PMM_BUG_ON(!(cond))
#else
#define PMM_ASSERT_EXPENSIVE(cond) ((void)sizeof(cond))
#endif

#endif /* PMM_DEBUG_H */
