/* SPDX-License-Identifier: MIT */
/*
 * vm_util.h - helpers shared by the vmalloc API tests
 * (tests/api/test_vmalloc*.c): pmm.h and testutil.h only.
 *
 * Like testutil, every helper that asserts does so through cmocka and must
 * run on the test's own thread; vu_page_write()/vu_page_ok() only report,
 * so worker threads use them.
 *
 * An area's contents are a pattern of its own tag, indexed by the word's
 * offset in the area (not by the frame): written through the vmalloc
 * address it must read back through each frame's direct map at the same
 * offset, and the other way round, which is what "the same bytes are
 * reachable through the vmalloc address and through pmm_page_address()"
 * means.
 */
#ifndef PMM_VM_UTIL_H
#define PMM_VM_UTIL_H

#include "testutil.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A live area as a test tracks it. */
struct vu_area {
	char *addr;		/* what pmm_vmalloc()/pmm_vmap() returned */
	size_t pages;		/* its pages (size rounded up) */
	uint64_t tag;		/* the pattern it holds; 0: none written */
};

/*
 * vu_assert_in_use - while areas are live: after a drain pmm_check()
 * passes and the frames in use (not free, not leaked) are at least @pages
 * (the areas' pages and whatever else the test holds) and at most @pages
 * plus one per live area (docs/design.md section 13: an area's page
 * array is a frame of the instance when it fits in one, else metadata).
 */
#define vu_assert_in_use(pmm, pages) vu_assert_in_use_at(pmm, pages, __FILE__, __LINE__)
void vu_assert_in_use_at(pmm_t *pmm, uint64_t pages, const char *file, int line);

/* vu_stats - pmm_vmalloc_stats() as a value, asserted to succeed. */
struct pmm_vmalloc_stats vu_stats(pmm_t *pmm);

/*
 * vu_assert_idle - purge, then the window is as a fresh instance's: no
 * live area, no vmalloc page, nothing lazy, the whole window free in one
 * block.
 */
#define vu_assert_idle(pmm) vu_assert_idle_at(pmm, __FILE__, __LINE__)
void vu_assert_idle_at(pmm_t *pmm, const char *file, int line);

/*
 * vu_assert_same_areas - the area counters (live areas, vmalloc pages,
 * lazy pages, free space, largest free block) of @a and @b are equal.
 */
#define vu_assert_same_areas(a, b) vu_assert_same_areas_at(a, b, __FILE__, __LINE__)
void vu_assert_same_areas_at(const struct pmm_vmalloc_stats *a, const struct pmm_vmalloc_stats *b,
			     const char *file, int line);

/*
 * vu_area_pages - the page behind each of the @n pages at @addr (a live
 * area), asserted: every offset inside a page gives that page, the pages
 * are distinct. Return: a malloc()ed array the caller frees.
 */
struct pmm_page **vu_area_pages(pmm_t *pmm, const void *addr, size_t n);

/*
 * vu_runs - runs of consecutive pfns in @pages[0..@n) in array order (what
 * the mapper needs one mmap for); @longest (may be NULL) gets the longest.
 */
size_t vu_runs(pmm_t *pmm, struct pmm_page *const *pages, size_t n, size_t *longest);

/*
 * vu_chunks - what the batched contig path frees @pages in, runs taken in
 * array order: the sum of contig_expected_chunks() over the runs.
 */
unsigned long vu_chunks(pmm_t *pmm, struct pmm_page *const *pages, size_t n);

/* The word at index @w of an area's pattern @tag. */
static inline uint64_t vu_word(uint64_t tag, size_t w)
{
	return prng_mix64(tag * PRNG_GOLDEN + w) | 1;	/* never 0: vzalloc checks see it */
}

/*
 * vu_page_write / vu_page_ok - the words of one page @p (@words of them)
 * whose first word is word @first of the area's pattern @tag, every word
 * or sampled (PATTERN_SAMPLED: start, middle, end). vu_page_ok returns
 * false at the first mismatch, with its index in @bad if not NULL.
 */
void vu_page_write(uint64_t *p, size_t words, uint64_t tag, size_t first, enum pattern_span span);
bool vu_page_ok(const uint64_t *p, size_t words, uint64_t tag, size_t first,
		enum pattern_span span, size_t *bad);

/* vu_write / vu_assert_pattern - the pattern of @tag through the area's own address. */
void vu_write(pmm_t *pmm, struct vu_area *a, uint64_t tag, enum pattern_span span);
#define vu_assert_pattern(pmm, a, span) vu_assert_pattern_at(pmm, a, span, __FILE__, __LINE__)
void vu_assert_pattern_at(pmm_t *pmm, const struct vu_area *a, enum pattern_span span,
			  const char *file, int line);

/*
 * vu_assert_alias - written through the area's address, every word reads
 * back through the direct map of the frame pmm_vmalloc_to_page() names;
 * then written through the direct maps, it reads back through the area.
 * Leaves the pattern of @tag ^ 1 (a->tag) in the area.
 */
#define vu_assert_alias(pmm, a, tag, span) vu_assert_alias_at(pmm, a, tag, span, __FILE__, __LINE__)
void vu_assert_alias_at(pmm_t *pmm, struct vu_area *a, uint64_t tag, enum pattern_span span,
			const char *file, int line);

/* vu_assert_zero - every byte of the area is 0, through its address and the direct maps. */
#define vu_assert_zero(pmm, a) vu_assert_zero_at(pmm, a, __FILE__, __LINE__)
void vu_assert_zero_at(pmm_t *pmm, const struct vu_area *a, const char *file, int line);

/*
 * vu_assert_disjoint - the areas of @v (NULL addresses skipped) do not
 * overlap and none starts within the guard page after another: sorted by
 * address, each starts at least one page after the previous one's end.
 */
void vu_assert_disjoint(pmm_t *pmm, const struct vu_area *v, size_t n);

/*
 * vu_check_new - @a was just made (@before: the stats before the call):
 * one more live area; with @vmalloc its pages counted in nr_vmalloc_pages
 * and each an order-0 page with one reference (split blocks; COMP
 * ignored); mapped with one mmap per run of consecutive pfns (none
 * without backing); the address page aligned, in the window.
 */
#define vu_check_new(pmm, a, before, vmalloc) vu_check_new_at(pmm, a, before, vmalloc, __FILE__, __LINE__)
void vu_check_new_at(pmm_t *pmm, const struct vu_area *a, const struct pmm_vmalloc_stats *before,
		     bool vmalloc, const char *file, int line);

/* vu_vmalloc - pmm_vmalloc() that must succeed, checked by vu_check_new(). */
#define vu_vmalloc(pmm, size, gfp) vu_vmalloc_at(pmm, size, gfp, __FILE__, __LINE__)
struct vu_area vu_vmalloc_at(pmm_t *pmm, size_t size, pmm_gfp_t gfp, const char *file, int line);

/*
 * vu_vfree - pmm_vfree() of a live area: one live area fewer, its pages
 * off nr_vmalloc_pages at once (@vmalloc), its address no longer a page's,
 * no report. Clears @a->addr.
 */
#define vu_vfree(pmm, a, vmalloc) vu_vfree_at(pmm, a, vmalloc, __FILE__, __LINE__)
void vu_vfree_at(pmm_t *pmm, struct vu_area *a, bool vmalloc, const char *file, int line);

/*
 * vu_vmap - pmm_vmap() that must succeed, checked by vu_check_new() (an
 * area, not vmalloc pages), each page at its array index.
 */
#define vu_vmap(pmm, pages, n, flags) vu_vmap_at(pmm, pages, n, flags, __FILE__, __LINE__)
struct vu_area vu_vmap_at(pmm_t *pmm, struct pmm_page **pages, unsigned int n, unsigned int flags,
			  const char *file, int line);
/* vu_vunmap - pmm_vunmap() of a live vmap area: one area fewer, no report, the address gone. */
#define vu_vunmap(pmm, a) vu_vunmap_at(pmm, a, __FILE__, __LINE__)
void vu_vunmap_at(pmm_t *pmm, struct vu_area *a, const char *file, int line);

/*
 * vu_assert_refused - @call(@pmm, @addr), pmm_vfree or pmm_vunmap of an
 * address that is not a live area's start: exactly one bad-page report
 * (callback and counter) with pfn (pmm_pfn_t)-1, and no frame, area
 * counter, map or unmap call changed; pmm_check() passes.
 */
typedef void vu_area_call_fn(pmm_t *pmm, const void *addr);
#define vu_assert_refused(pmm, bad, call, addr) \
	vu_assert_refused_at(pmm, bad, call, #call, addr, __FILE__, __LINE__)
void vu_assert_refused_at(pmm_t *pmm, struct tu_bad *bad, vu_area_call_fn *call, const char *what,
			  const void *addr, const char *file, int line);
/* vu_assert_both_refuse - vu_assert_refused() of pmm_vfree, then of pmm_vunmap. */
#define vu_assert_both_refuse(pmm, bad, addr) \
	do { \
		vu_assert_refused(pmm, bad, pmm_vfree, addr); \
		vu_assert_refused(pmm, bad, pmm_vunmap, addr); \
	} while (0)

/* vu_pages_of - @size bytes in pages of @pmm, rounded up. */
static inline size_t vu_pages_of(pmm_t *pmm, size_t size)
{
	size_t ps = pmm_page_size(pmm);

	return (size + ps - 1) / ps;
}

/* vu_hex - @p as lowercase hex without a prefix (how an address is looked for in text). */
const char *vu_hex(const void *p, char buf[32]);

#endif /* PMM_VM_UTIL_H */
