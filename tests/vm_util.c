/* SPDX-License-Identifier: MIT */
/*
 * vm_util.c - the vmalloc tests' helpers (vm_util.h): statistics,
 * the pages and pfn runs behind an area, and its contents seen through
 * both of its addresses.
 */
#include "vm_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pmm_vmalloc_stats vu_stats(pmm_t *pmm)
{
	struct pmm_vmalloc_stats st;

	memset(&st, 0xa5, sizeof(st));
	assert_int_equal(pmm_vmalloc_stats(pmm, &st), 0);
	return st;
}


void vu_assert_in_use_at(pmm_t *pmm, uint64_t pages, const char *file, int line)
{
	uint64_t in_use, areas;
	int rc;

	pmm_drain_all_pages(pmm);
	rc = pmm_check(pmm);
	tu_expect_at(rc == 0, file, line, "pmm_check: %d (%s)", rc, pmm_strerror(rc));
	in_use = pmm_managed_frames(pmm) - pmm_free_frames(pmm) - pmm_leaked_frames(pmm);
	areas = vu_stats(pmm).nr_areas;
	tu_expect_at(in_use >= pages && in_use <= pages + areas, file, line,
		     "%" PRIu64 " frames in use, expected %" PRIu64 " (the pages held) to %" PRIu64
		     " (plus one page array per live area, %" PRIu64 " areas)",
		     in_use, pages, pages + areas, areas);
}

void vu_assert_idle_at(pmm_t *pmm, const char *file, int line)
{
	struct pmm_vmalloc_stats st;

	pmm_vmalloc_purge(pmm);
	st = vu_stats(pmm);
	tu_expect_at(st.nr_areas == 0 && st.nr_vmalloc_pages == 0 && st.lazy_pages == 0, file, line,
		     "after a purge: nr_areas %" PRIu64 ", nr_vmalloc_pages %" PRIu64
		     ", lazy_pages %" PRIu64 ", expected 0 each",
		     st.nr_areas, st.nr_vmalloc_pages, st.lazy_pages);
	tu_expect_at(st.free_bytes == st.window_bytes && st.largest_free == st.window_bytes, file,
		     line, "after a purge with no area: free_bytes %" PRIu64 ", largest_free %" PRIu64
		     ", window_bytes %" PRIu64 " (the whole window free in one block)",
		     st.free_bytes, st.largest_free, st.window_bytes);
}

void vu_assert_same_areas_at(const struct pmm_vmalloc_stats *a, const struct pmm_vmalloc_stats *b,
			     const char *file, int line)
{
	tu_expect_at(a->window_bytes == b->window_bytes && a->nr_areas == b->nr_areas &&
		     a->nr_vmalloc_pages == b->nr_vmalloc_pages && a->lazy_pages == b->lazy_pages &&
		     a->free_bytes == b->free_bytes && a->largest_free == b->largest_free,
		     file, line,
		     "vmalloc stats differ: areas %" PRIu64 "/%" PRIu64 ", vmalloc pages %" PRIu64
		     "/%" PRIu64 ", lazy %" PRIu64 "/%" PRIu64 ", free %" PRIu64 "/%" PRIu64
		     ", largest %" PRIu64 "/%" PRIu64,
		     a->nr_areas, b->nr_areas, a->nr_vmalloc_pages, b->nr_vmalloc_pages,
		     a->lazy_pages, b->lazy_pages, a->free_bytes, b->free_bytes,
		     a->largest_free, b->largest_free);
}

struct pmm_page **vu_area_pages(pmm_t *pmm, const void *addr, size_t n)
{
	const size_t ps = pmm_page_size(pmm);
	struct pmm_page **v = calloc(n ? n : 1, sizeof(*v));

	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		const char *p = (const char *)addr + i * ps;

		v[i] = pmm_vmalloc_to_page(pmm, p);
		if (!v[i])
			print_message("area %p: page %zu (%p) has no page\n", addr, i, (void *)p);
		assert_non_null(v[i]);
		/* every byte of the page, not only its start, is that frame */
		assert_ptr_equal(pmm_vmalloc_to_page(pmm, p + ps / 2), v[i]);
		assert_ptr_equal(pmm_vmalloc_to_page(pmm, p + ps - 1), v[i]);
		/* a page of this instance */
		assert_ptr_equal(pmm_pfn_to_page(pmm, pmm_page_to_pfn(pmm, v[i])), v[i]);
	}
	tu_assert_distinct(v, n);
	return v;
}

size_t vu_runs(pmm_t *pmm, struct pmm_page *const *pages, size_t n, size_t *longest)
{
	size_t runs = 0, len = 0, max = 0;
	pmm_pfn_t prev = 0;

	for (size_t i = 0; i < n; i++) {
		pmm_pfn_t pfn = pmm_page_to_pfn(pmm, pages[i]);

		if (i == 0 || pfn != prev + 1) {
			runs++;
			len = 0;
		}
		len++;
		if (len > max)
			max = len;
		prev = pfn;
	}
	if (longest)
		*longest = max;
	return runs;
}

unsigned long vu_chunks(pmm_t *pmm, struct pmm_page *const *pages, size_t n)
{
	const unsigned int max_order = pmm_get_config(pmm)->max_order;
	unsigned long chunks = 0;
	size_t i = 0;

	while (i < n) {
		pmm_pfn_t start = pmm_page_to_pfn(pmm, pages[i]);
		size_t len = 1;

		while (i + len < n && pmm_page_to_pfn(pmm, pages[i + len]) == start + len)
			len++;
		chunks += contig_expected_chunks(start, len, max_order);
		i += len;
	}
	return chunks;
}

void vu_page_write(uint64_t *p, size_t words, uint64_t tag, size_t first, enum pattern_span span)
{
	for (size_t i = 0; i < words; i = pattern_next(i, words, span))
		p[i] = vu_word(tag, first + i);
}

bool vu_page_ok(const uint64_t *p, size_t words, uint64_t tag, size_t first,
		enum pattern_span span, size_t *bad)
{
	for (size_t i = 0; i < words; i = pattern_next(i, words, span))
		if (p[i] != vu_word(tag, first + i)) {
			if (bad)
				*bad = i;
			return false;
		}
	return true;
}

void vu_write(pmm_t *pmm, struct vu_area *a, uint64_t tag, enum pattern_span span)
{
	const size_t ps = pmm_page_size(pmm), words = ps / sizeof(uint64_t);

	for (size_t i = 0; i < a->pages; i++)
		vu_page_write((uint64_t *)(a->addr + i * ps), words, tag, i * words, span);
	a->tag = tag;
}

void vu_assert_pattern_at(pmm_t *pmm, const struct vu_area *a, enum pattern_span span,
			  const char *file, int line)
{
	const size_t ps = pmm_page_size(pmm), words = ps / sizeof(uint64_t);

	for (size_t i = 0; i < a->pages; i++) {
		const uint64_t *p = (const uint64_t *)(a->addr + i * ps);
		size_t bad = 0;

		tu_expect_at(vu_page_ok(p, words, a->tag, i * words, span, &bad), file, line,
			     "area %p page %zu word %zu: %#" PRIx64 ", expected %#" PRIx64,
			     (void *)a->addr, i, bad, p[bad], vu_word(a->tag, i * words + bad));
	}
}

void vu_assert_alias_at(pmm_t *pmm, struct vu_area *a, uint64_t tag, enum pattern_span span,
			const char *file, int line)
{
	const size_t ps = pmm_page_size(pmm), words = ps / sizeof(uint64_t);

	/* vmalloc address -> direct map */
	vu_write(pmm, a, tag, span);
	for (size_t i = 0; i < a->pages; i++) {
		struct pmm_page *page = pmm_vmalloc_to_page(pmm, a->addr + i * ps);
		uint64_t *d;
		size_t bad = 0;

		tu_expect_at(page != NULL, file, line, "area %p page %zu: no page", (void *)a->addr, i);
		d = pmm_page_address(pmm, page);
		tu_expect_at(d != NULL, file, line, "area %p page %zu: no direct map", (void *)a->addr, i);
		tu_expect_at(pmm_virt_to_page(pmm, d) == page, file, line,
			     "pmm_virt_to_page(pmm_page_address(page)) is not the page");
		tu_expect_at(vu_page_ok(d, words, tag, i * words, span, &bad), file, line,
			     "area %p page %zu (pfn %#" PRIx64 ") word %zu: written %#" PRIx64
			     " through the vmalloc address, %#" PRIx64 " through the direct map",
			     (void *)a->addr, i, pmm_page_to_pfn(pmm, page), bad,
			     vu_word(tag, i * words + bad), d[bad]);
		/* direct map -> vmalloc address, page by page */
		vu_page_write(d, words, tag ^ 1, i * words, span);
	}
	a->tag = tag ^ 1;
	vu_assert_pattern_at(pmm, a, span, file, line);
}

void vu_assert_zero_at(pmm_t *pmm, const struct vu_area *a, const char *file, int line)
{
	const size_t ps = pmm_page_size(pmm), words = ps / sizeof(uint64_t);

	for (size_t i = 0; i < a->pages; i++) {
		const uint64_t *v = (const uint64_t *)(a->addr + i * ps);
		const uint64_t *d = pmm_page_address(pmm, pmm_vmalloc_to_page(pmm, v));

		tu_expect_at(d != NULL, file, line, "area %p page %zu: no direct map", (void *)a->addr, i);
		for (size_t w = 0; w < words; w++)
			tu_expect_at(v[w] == 0 && d[w] == 0, file, line,
				     "area %p page %zu word %zu: %#" PRIx64 " (direct map %#" PRIx64
				     "), not zero", (void *)a->addr, i, w, v[w], d[w]);
	}
}

static int vu_cmp_area(const void *x, const void *y)
{
	uintptr_t a = (uintptr_t)((const struct vu_area *)x)->addr;
	uintptr_t b = (uintptr_t)((const struct vu_area *)y)->addr;

	return a < b ? -1 : a > b;
}

void vu_assert_disjoint(pmm_t *pmm, const struct vu_area *v, size_t n)
{
	const size_t ps = pmm_page_size(pmm);
	struct vu_area *s = calloc(n ? n : 1, sizeof(*s));
	size_t m = 0;

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		if (v[i].addr)
			s[m++] = v[i];
	qsort(s, m, sizeof(*s), vu_cmp_area);
	for (size_t i = 1; i < m; i++) {
		uintptr_t end = (uintptr_t)s[i - 1].addr + s[i - 1].pages * ps;

		if ((uintptr_t)s[i].addr < end + ps) {
			print_message("area %p (%zu pages, ends %#" PRIxPTR ") and area %p: "
				      "less than a guard page apart\n", (void *)s[i - 1].addr,
				      s[i - 1].pages, end, (void *)s[i].addr);
			free(s);
			fail();
		}
	}
	free(s);
}

void vu_check_new_at(pmm_t *pmm, const struct vu_area *a, const struct pmm_vmalloc_stats *before,
		     bool vmalloc, const char *file, int line)
{
	const size_t ps = pmm_page_size(pmm);
	const bool backed = pmm_get_config(pmm)->backing != PMM_BACKING_NONE;
	struct pmm_vmalloc_stats now = vu_stats(pmm);
	struct pmm_page **pages;
	size_t runs;

	tu_expect_at(a->addr != NULL, file, line, "no area");
	tu_expect_at((uintptr_t)a->addr % ps == 0, file, line, "area %p not page aligned",
		     (void *)a->addr);
	tu_expect_at(pmm_is_vmalloc_addr(pmm, a->addr) &&
		     pmm_is_vmalloc_addr(pmm, a->addr + a->pages * ps - 1), file, line,
		     "area %p (%zu pages) not inside the window", (void *)a->addr, a->pages);
	tu_expect_at(now.nr_areas == before->nr_areas + 1, file, line,
		     "nr_areas %" PRIu64 " -> %" PRIu64 ", expected one more", before->nr_areas,
		     now.nr_areas);
	tu_expect_at(now.nr_vmalloc_pages == before->nr_vmalloc_pages + (vmalloc ? a->pages : 0),
		     file, line, "nr_vmalloc_pages %" PRIu64 " -> %" PRIu64 ", area of %zu pages (%s)",
		     before->nr_vmalloc_pages, now.nr_vmalloc_pages, a->pages,
		     vmalloc ? "vmalloc" : "vmap");
	pages = vu_area_pages(pmm, a->addr, a->pages);
	runs = vu_runs(pmm, pages, a->pages, NULL);
	tu_expect_at(now.map_calls - before->map_calls == (backed ? runs : 0), file, line,
		     "area of %zu pages in %zu pfn runs: %" PRIu64 " map calls, expected %zu",
		     a->pages, runs, now.map_calls - before->map_calls, backed ? runs : 0);
	for (size_t i = 0; vmalloc && i < a->pages; i++) {
		tu_expect_at(pmm_page_count(pages[i]) == 1, file, line,
			     "area page %zu (pfn %#" PRIx64 "): refcount %d, expected 1", i,
			     pmm_page_to_pfn(pmm, pages[i]), pmm_page_count(pages[i]));
		tu_expect_at(pmm_folio_order(pmm_page_folio(pages[i])) == 0, file, line,
			     "area page %zu is part of an order-%u folio", i,
			     pmm_folio_order(pmm_page_folio(pages[i])));
	}
	free(pages);
}

struct vu_area vu_vmalloc_at(pmm_t *pmm, size_t size, pmm_gfp_t gfp, const char *file, int line)
{
	struct pmm_vmalloc_stats before = vu_stats(pmm);
	struct vu_area a = { .pages = vu_pages_of(pmm, size) };

	a.addr = pmm_vmalloc(pmm, size, gfp);
	tu_expect_at(a.addr != NULL, file, line, "pmm_vmalloc(%zu bytes) failed", size);
	vu_check_new_at(pmm, &a, &before, true, file, line);
	return a;
}

/*
 * Release live area @a with @call (@name: "pmm_vfree" or "pmm_vunmap"): no
 * report, one area fewer, the vmalloc page count down by @vmalloc_pages,
 * and the address maps no page any more.
 */
static void vu_release_at(pmm_t *pmm, struct vu_area *a, vu_area_call_fn *call, const char *name,
			  size_t vmalloc_pages, const char *file, int line)
{
	struct pmm_vmalloc_stats before = vu_stats(pmm), now;
	struct pmm_stats s0, s1;

	pmm_stats_get(pmm, &s0);
	call(pmm, a->addr);
	pmm_stats_get(pmm, &s1);
	now = vu_stats(pmm);
	tu_expect_at(s1.bad_page == s0.bad_page, file, line, "%s(%p) of a live area reported",
		     name, (void *)a->addr);
	tu_expect_at(now.nr_areas + 1 == before.nr_areas, file, line,
		     "nr_areas %" PRIu64 " -> %" PRIu64 " at %s, expected one fewer",
		     before.nr_areas, now.nr_areas, name);
	tu_expect_at(now.nr_vmalloc_pages + vmalloc_pages == before.nr_vmalloc_pages, file, line,
		     "nr_vmalloc_pages %" PRIu64 " -> %" PRIu64 " at %s, expected %zu fewer",
		     before.nr_vmalloc_pages, now.nr_vmalloc_pages, name, vmalloc_pages);
	tu_expect_at(pmm_vmalloc_to_page(pmm, a->addr) == NULL, file, line,
		     "pmm_vmalloc_to_page(%p) after %s is not NULL", (void *)a->addr, name);
	a->addr = NULL;
}

void vu_vfree_at(pmm_t *pmm, struct vu_area *a, bool vmalloc, const char *file, int line)
{
	vu_release_at(pmm, a, pmm_vfree, "pmm_vfree", vmalloc ? a->pages : 0, file, line);
}

struct vu_area vu_vmap_at(pmm_t *pmm, struct pmm_page **pages, unsigned int n, unsigned int flags,
			  const char *file, int line)
{
	const size_t ps = pmm_page_size(pmm);
	struct pmm_vmalloc_stats before = vu_stats(pmm);
	struct vu_area a = { .pages = n };

	a.addr = pmm_vmap(pmm, pages, n, flags);
	tu_expect_at(a.addr != NULL, file, line, "pmm_vmap(%u pages, flags %#x) failed", n, flags);
	vu_check_new_at(pmm, &a, &before, false, file, line);
	for (unsigned int i = 0; i < n; i++)
		tu_expect_at(pmm_vmalloc_to_page(pmm, a.addr + i * ps) == pages[i], file, line,
			     "vmap area page %u is not the array's page %u", i, i);
	return a;
}

void vu_vunmap_at(pmm_t *pmm, struct vu_area *a, const char *file, int line)
{
	vu_release_at(pmm, a, pmm_vunmap, "pmm_vunmap", 0, file, line);
}

void vu_assert_refused_at(pmm_t *pmm, struct tu_bad *bad, vu_area_call_fn *call, const char *what,
			  const void *addr, const char *file, int line)
{
	struct pmm_vmalloc_stats s0 = vu_stats(pmm), s1;
	uint64_t f0 = tu_free_after_drain(pmm), f1;
	struct tu_report_mark m;
	int rc;

	tu_report_mark(pmm, bad, &m);
	call(pmm, addr);
	if (tu_reports_since(pmm, bad, &m) != 1 || atomic_load(&bad->last_pfn) != (pmm_pfn_t)-1)
		print_message("%s:%d: %s(%p): %" PRIu64 " reports, last pfn %#" PRIx64 " (\"%s\")\n",
			      file, line, what, addr, tu_reports_since(pmm, bad, &m),
			      (uint64_t)atomic_load(&bad->last_pfn), bad->last_reason);
	tu_assert_reports_at(pmm, bad, &m, 1, NULL, file, line);
	tu_expect_at(atomic_load(&bad->last_pfn) == (pmm_pfn_t)-1, file, line,
		     "%s(%p): reported pfn %#" PRIx64 ", expected (pmm_pfn_t)-1", what, addr,
		     (uint64_t)atomic_load(&bad->last_pfn));
	f1 = tu_free_after_drain(pmm);
	tu_expect_at(f1 == f0, file, line, "%s(%p): free frames %" PRIu64 " -> %" PRIu64, what, addr,
		     f0, f1);
	s1 = vu_stats(pmm);
	vu_assert_same_areas_at(&s0, &s1, file, line);
	tu_expect_at(s1.map_calls == s0.map_calls && s1.unmap_calls == s0.unmap_calls, file, line,
		     "%s(%p) mapped or unmapped something", what, addr);
	rc = pmm_check(pmm);
	tu_expect_at(rc == 0, file, line, "pmm_check: %d (%s)", rc, pmm_strerror(rc));
}

const char *vu_hex(const void *p, char buf[32])
{
	snprintf(buf, 32, "%" PRIxPTR, (uintptr_t)p);
	return buf;
}
