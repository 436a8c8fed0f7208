/* SPDX-License-Identifier: MIT */
/*
 * testutil_frames.c - the frame side of testutil.h: buddyinfo, pageblock
 * and zone snapshots, allocation lists, memory contents and page states.
 */
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Snapshots
 * ------------------------------------------------------------------------ */

void tu_zone(pmm_t *pmm, unsigned int idx, struct pmm_zone_info *zi)
{
	memset(zi, 0, sizeof(*zi));
	assert_int_equal(pmm_zone_info(pmm, idx, zi), 0);
}

void tu_zone_of_pfn(pmm_t *pmm, pmm_pfn_t pfn, struct pmm_zone_info *zi)
{
	unsigned int n = pmm_nr_zones(pmm);

	for (unsigned int i = 0; i < n; i++) {
		tu_zone(pmm, i, zi);
		if (pfn >= zi->start_pfn && pfn < zi->start_pfn + zi->spanned_pages)
			return;
	}
	fail_msg("pfn %#" PRIx64 " in no zone", pfn);
}

uint64_t tu_pcp_pages(pmm_t *pmm)
{
	uint64_t sum = 0;
	unsigned int n = pmm_nr_zones(pmm);

	for (unsigned int i = 0; i < n; i++) {
		struct pmm_zone_info zi;

		tu_zone(pmm, i, &zi);
		sum += zi.pcp_pages;
	}
	return sum;
}

uint64_t tu_free_after_drain(pmm_t *pmm)
{
	pmm_drain_all_pages(pmm);
	return pmm_free_frames(pmm);
}

void tu_buddy_snap(pmm_t *pmm, struct tu_buddy *out)
{
	memset(out, 0, sizeof(*out));
	pmm_drain_all_pages(pmm);
	out->nr_zones = pmm_nr_zones(pmm);
	assert_true(out->nr_zones <= TU_MAX_ZONES);
	for (unsigned int i = 0; i < out->nr_zones; i++) {
		struct pmm_zone_info zi;

		tu_zone(pmm, i, &zi);
		out->z[i].nid = zi.nid;
		out->z[i].type = zi.type;
		out->z[i].free_pages = zi.free_pages;
		memcpy(out->z[i].nr_free, zi.nr_free, sizeof(zi.nr_free));
	}
}

int tu_buddy_diff(const struct tu_buddy *a, const struct tu_buddy *b)
{
	int diffs = 0;

	if (a->nr_zones != b->nr_zones) {
		print_message("%u zones != %u zones\n", a->nr_zones, b->nr_zones);
		return 1;
	}
	for (unsigned int i = 0; i < a->nr_zones; i++) {
		if (a->z[i].free_pages != b->z[i].free_pages) {
			print_message("zone %u (node %d type %d): free_pages %" PRIu64
				      " != %" PRIu64 "\n", i, a->z[i].nid, (int)a->z[i].type,
				      a->z[i].free_pages, b->z[i].free_pages);
			diffs++;
		}
		for (unsigned int o = 0; o <= PMM_MAX_ORDER_LIMIT; o++) {
			if (a->z[i].nr_free[o] == b->z[i].nr_free[o])
				continue;
			print_message("zone %u (node %d type %d): nr_free[%u] %" PRIu64
				      " != %" PRIu64 "\n", i, a->z[i].nid, (int)a->z[i].type, o,
				      a->z[i].nr_free[o], b->z[i].nr_free[o]);
			diffs++;
		}
	}
	return diffs;
}

void tu_buddy_assert_equal(const struct tu_buddy *a, const struct tu_buddy *b)
{
	assert_int_equal(tu_buddy_diff(a, b), 0);
}

void tu_buddy_assert_fresh(pmm_t *pmm, const struct tu_buddy *fresh)
{
	struct tu_buddy now;

	tu_buddy_snap(pmm, &now);
	tu_buddy_assert_equal(&now, fresh);
}

void tu_pageblocks_snap(pmm_t *pmm, struct tu_pageblocks *out)
{
	memset(out, 0, sizeof(*out));
	out->nr_zones = pmm_nr_zones(pmm);
	assert_true(out->nr_zones <= TU_MAX_ZONES);
	for (unsigned int z = 0; z < out->nr_zones; z++) {
		struct pmm_zone_info zi;

		tu_zone(pmm, z, &zi);
		memcpy(out->mt[z], zi.nr_pageblocks_mt, sizeof(out->mt[z]));
	}
}

void tu_pageblocks_assert_equal(const struct tu_pageblocks *a, const struct tu_pageblocks *b)
{
	int diffs = 0;

	assert_int_equal(a->nr_zones, b->nr_zones);
	for (unsigned int z = 0; z < a->nr_zones; z++)
		for (int mt = 0; mt < PMM_MIGRATE_TYPES; mt++)
			if (a->mt[z][mt] != b->mt[z][mt]) {
				print_message("zone %u: %s pageblocks %" PRIu64 " -> %" PRIu64 "\n", z,
					      pmm_migratetype_name(mt), a->mt[z][mt], b->mt[z][mt]);
				diffs++;
			}
	assert_int_equal(diffs, 0);
}

/* ------------------------------------------------------------------------
 * Allocation tracking
 * ------------------------------------------------------------------------ */

void tu_list_push(struct tu_list *l, struct pmm_page *page, unsigned int order,
		  enum tu_kind kind, uint64_t tag)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct tu_alloc *v = realloc(l->v, cap * sizeof(*v));

		assert_non_null(v);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct tu_alloc){ .page = page, .order = order, .kind = kind, .tag = tag };
}

struct tu_alloc tu_list_take(struct tu_list *l, size_t i)
{
	struct tu_alloc a;

	assert_true(i < l->n);
	a = l->v[i];
	l->v[i] = l->v[--l->n];
	return a;
}

void tu_list_free(struct tu_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

uint64_t tu_list_frames(const struct tu_list *l)
{
	uint64_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += 1ull << l->v[i].order;
	return n;
}

void tu_free_one(pmm_t *pmm, const struct tu_alloc *a)
{
	if (a->tag)
		tu_pattern_verify(pmm, a->page, a->order, a->tag);
	if (a->kind == TU_FOLIO)
		pmm_folio_put(pmm, pmm_page_folio(a->page));
	else
		pmm_free_pages(pmm, a->page, a->order);
}

void tu_free_all(pmm_t *pmm, struct tu_list *l)
{
	while (l->n) {
		struct tu_alloc a = l->v[--l->n];

		tu_free_one(pmm, &a);
	}
	tu_list_free(l);
	pmm_drain_all_pages(pmm);
}

size_t tu_fill_exhaust(pmm_t *pmm, struct tu_list *l, pmm_gfp_t gfp, unsigned int order)
{
	uint64_t limit = (pmm_managed_frames(pmm) >> order) + 1;
	size_t n = 0;

	while (n < limit) {
		struct pmm_page *p = pmm_alloc_pages(pmm, gfp | PMM_GFP_NOWARN, order);

		if (!p) {
			/* pcp pages are invisible to the watermark check: retry once drained */
			pmm_drain_all_pages(pmm);
			p = pmm_alloc_pages(pmm, gfp | PMM_GFP_NOWARN, order);
			if (!p)
				break;
		}
		tu_list_push(l, p, order, TU_PAGES, 0);
		n++;
	}
	assert_true(n < limit);
	return n;
}

static int tu_cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;

	return x < y ? -1 : x > y;
}

void tu_assert_distinct(struct pmm_page *const *v, size_t n)
{
	struct pmm_page **sorted = calloc(n ? n : 1, sizeof(*sorted));
	size_t m = 0;

	assert_non_null(sorted);
	for (size_t i = 0; i < n; i++)
		if (v[i])
			sorted[m++] = v[i];
	qsort(sorted, m, sizeof(sorted[0]), tu_cmp_ptr);
	for (size_t i = 1; i < m; i++) {
		void *dup = sorted[i];

		if (sorted[i - 1] == dup) {
			free(sorted);
			fail_msg("page %p handed out twice", dup);
		}
	}
	free(sorted);
}

/* ------------------------------------------------------------------------
 * Memory contents
 * ------------------------------------------------------------------------ */

void tu_pattern_write(pmm_t *pmm, struct pmm_page *page, unsigned int order, uint64_t tag)
{
	pattern_write(pmm, pmm_page_to_pfn(pmm, page), 1ul << order, tag, PATTERN_ALL);
}

bool tu_pattern_ok(pmm_t *pmm, struct pmm_page *page, unsigned int order, uint64_t tag)
{
	struct pattern_mismatch bad;

	if (pattern_verify(pmm, pmm_page_to_pfn(pmm, page), 1ul << order, tag, PATTERN_ALL, &bad))
		return true;
	print_message("pattern mismatch: pfn %#" PRIx64 " word %zu: %#" PRIx64 " != %#" PRIx64 "\n",
		      bad.pfn, bad.word, bad.got, bad.want);
	return false;
}

void tu_assert_zeroed(pmm_t *pmm, struct pmm_page *page, unsigned long nr)
{
	struct pattern_mismatch bad;

	assert_non_null(pmm_page_address(pmm, page));
	if (!pattern_zeroed(pmm, pmm_page_to_pfn(pmm, page), nr, PATTERN_ALL, &bad))
		fail_msg("pfn %#" PRIx64 " word %zu is %#" PRIx64 ", not zero", bad.pfn, bad.word,
			 bad.got);
}

/* ------------------------------------------------------------------------
 * Page states
 * ------------------------------------------------------------------------ */

struct pmm_page *tu_page_at(pmm_t *pmm, pmm_pfn_t pfn)
{
	struct pmm_page *p = pmm_pfn_to_page(pmm, pfn);

	if (!p)
		print_message("pfn %#" PRIx64 " is not managed\n", pfn);
	assert_non_null(p);
	return p;
}

void tu_assert_counts(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr, int count)
{
	for (unsigned long i = 0; i < nr; i++) {
		int c = pmm_page_count(tu_page_at(pmm, pfn + i));

		if (c != count)
			print_message("pfn %#" PRIx64 ": refcount %d, expected %d\n", pfn + i, c,
				      count);
		assert_int_equal(c, count);
	}
}

pmm_pfn_t tu_alloc_split(pmm_t *pmm, unsigned int order)
{
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, order);

	assert_non_null(p);
	pmm_split_page(pmm, p, order);
	return pmm_page_to_pfn(pmm, p);
}

void tu_take_frozen(pmm_t *pmm, pmm_pfn_t pfn, unsigned long n)
{
	assert_int_equal(pmm_alloc_contig_frozen_range(pmm, pfn, pfn + n, 0), 0);
	tu_assert_counts(pmm, pfn, n, 0);
}

struct pmm_page *tu_skewed_page(struct pmm_page *p, size_t off)
{
	return (struct pmm_page *)((char *)p + off);
}
