/* SPDX-License-Identifier: MIT */
/*
 * test_vmalloc_vmap.c - pmm_vmap/pmm_vunmap of caller pages and the
 * vmallocinfo view through pmm.h only: caller pages (order-0 pages that
 * are not consecutive, the pages of a split order-2 block) mapped in
 * array order and shared with the direct map; vunmap leaving them to the
 * caller; PMM_VMAP_PUT_PAGES handing their references to the area (freed
 * by vunmap or vfree); the text and JSON views with a caller tag; the
 * area counters.
 *
 * Every scenario ends with vu_assert_idle() and tu_finish() (pmm_check()
 * == 0, every frame free, no bad-page report, buddyinfo as fresh).
 *
 * Contract points relied on beyond the prototypes:
 *  - nr_areas counts vmap areas too; nr_vmalloc_pages only pmm_vmalloc()
 *    pages.
 *  - The text view's line of an area starts with its range
 *    "0x<start>-0x<end>" in lowercase hex; the JSON view names the
 *    totals as struct pmm_vmalloc_stats does and has "areas" and
 *    "unpurged" (pmm.h).
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "vm_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PS 4096ul

/* ------------------------------------------------------------------------
 * 1. vmap / vunmap of caller pages
 * ------------------------------------------------------------------------ */

/* Caller pages: non-consecutive order-0 pages and a split order-2 block. */
struct caller_pages {
	pmm_pfn_t s;		/* a split order-3 block: its pages 0, 2, 4, 6 are kept */
	pmm_pfn_t q;		/* a split order-2 block, all four kept */
	struct pmm_page *v[8];	/* s0, s2, q0, q1, q2, q3, s4, s6 */
};

static void caller_pages_get(pmm_t *pmm, struct caller_pages *c)
{
	c->s = tu_alloc_split(pmm, 3);
	c->q = tu_alloc_split(pmm, 2);
	for (unsigned int i = 1; i < 8; i += 2)
		pmm_free_pages(pmm, tu_page_at(pmm, c->s + i), 0);
	c->v[0] = tu_page_at(pmm, c->s);
	c->v[1] = tu_page_at(pmm, c->s + 2);
	for (unsigned int i = 0; i < 4; i++)
		c->v[2 + i] = tu_page_at(pmm, c->q + i);
	c->v[6] = tu_page_at(pmm, c->s + 4);
	c->v[7] = tu_page_at(pmm, c->s + 6);
}

static void caller_pages_put(pmm_t *pmm, struct caller_pages *c)
{
	for (unsigned int i = 0; i < 8; i++)
		pmm_free_pages(pmm, c->v[i], 0);
}

/*
 * Mapped in array order (5 pfn runs; the split block reversed, 4 runs);
 * the bytes are shared with the direct map both ways; vunmap leaves every
 * page allocated with its reference and its contents, and the caller
 * frees them.
 */
static void test_vmap_shared(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 16);
	struct caller_pages c;
	struct pmm_page *rev[4];
	struct vu_area a, r;
	uint64_t f0;

	caller_pages_get(pmm, &c);
	f0 = tu_free_after_drain(pmm);
	a = vu_vmap(pmm, c.v, 8, 0);
	assert_int_equal(vu_runs(pmm, c.v, 8, NULL), 5);
	for (unsigned int i = 0; i < 4; i++)
		rev[i] = c.v[5 - i];
	r = vu_vmap(pmm, rev, 4, 0);
	assert_int_equal(vu_runs(pmm, rev, 4, NULL), 4);
	vu_assert_in_use(pmm, 8);

	vu_assert_alias(pmm, &a, 0x7a, PATTERN_ALL);
	/* the same frames through the reversed area: its page i is a's page 5 - i */
	for (unsigned int i = 0; i < 4; i++) {
		const uint64_t *w = (const uint64_t *)(r.addr + i * PS);

		assert_true(vu_page_ok(w, PS / 8, a.tag, (5 - i) * (PS / 8), PATTERN_ALL, NULL));
	}
	vu_vunmap(pmm, &r);
	vu_vunmap(pmm, &a);
	for (unsigned int i = 0; i < 8; i++) {
		const uint64_t *d = pmm_page_address(pmm, c.v[i]);

		assert_int_equal(pmm_page_count(c.v[i]), 1);
		assert_true(vu_page_ok(d, PS / 8, a.tag, i * (PS / 8), PATTERN_ALL, NULL));
	}
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_assert_conserved(pmm, 8);
	caller_pages_put(pmm, &c);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/*
 * PMM_VMAP_PUT_PAGES: the area owns one reference per page; pmm_vunmap
 * and, separately, pmm_vfree of such an area drop them (pages with no
 * other reference are freed; one with an extra reference keeps it). A
 * plain vmap area given to pmm_vfree frees nothing.
 */
static void test_vmap_put_pages(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 16);
	struct caller_pages c;
	struct vu_area a;
	uint64_t f0;

	/* vunmap drops the references; the page with an extra one survives */
	caller_pages_get(pmm, &c);
	pmm_get_page(pmm, c.v[3]);
	f0 = tu_free_after_drain(pmm);
	a = vu_vmap(pmm, c.v, 8, PMM_VMAP_PUT_PAGES);
	vu_assert_alias(pmm, &a, 0x91, PATTERN_ALL);
	vu_assert_in_use(pmm, 8);
	vu_vunmap(pmm, &a);
	assert_int_equal(tu_free_after_drain(pmm), f0 + 7);
	assert_int_equal(pmm_page_count(c.v[3]), 1);
	tu_assert_conserved(pmm, 1);
	pmm_free_pages(pmm, c.v[3], 0);
	tu_assert_conserved(pmm, 0);

	/* vfree of a PUT_PAGES area does the same */
	caller_pages_get(pmm, &c);
	f0 = tu_free_after_drain(pmm);
	a = vu_vmap(pmm, c.v, 8, PMM_VMAP_PUT_PAGES);
	vu_vfree(pmm, &a, false);
	assert_int_equal(tu_free_after_drain(pmm), f0 + 8);
	tu_assert_conserved(pmm, 0);

	/* vfree of a plain vmap area unmaps it and leaves the pages to the caller */
	caller_pages_get(pmm, &c);
	f0 = tu_free_after_drain(pmm);
	a = vu_vmap(pmm, c.v, 8, 0);
	vu_vfree(pmm, &a, false);
	assert_int_equal(tu_free_after_drain(pmm), f0);
	for (unsigned int i = 0; i < 8; i++)
		assert_int_equal(pmm_page_count(c.v[i]), 1);
	caller_pages_put(pmm, &c);

	/* a page mapped by two vmap areas at once, each owning a reference */
	caller_pages_get(pmm, &c);
	for (unsigned int i = 0; i < 8; i++)
		pmm_get_page(pmm, c.v[i]);
	f0 = tu_free_after_drain(pmm);
	{
		struct vu_area b;

		a = vu_vmap(pmm, c.v, 8, PMM_VMAP_PUT_PAGES);
		b = vu_vmap(pmm, c.v, 8, PMM_VMAP_PUT_PAGES);
		vu_assert_alias(pmm, &a, 0x92, PATTERN_ALL);
		b.tag = a.tag;
		vu_assert_pattern(pmm, &b, PATTERN_ALL);
		vu_vunmap(pmm, &a);
		vu_assert_in_use(pmm, 8);
		for (unsigned int i = 0; i < 8; i++)
			assert_int_equal(pmm_page_count(c.v[i]), 1);
		vu_assert_pattern(pmm, &b, PATTERN_ALL);
		vu_vfree(pmm, &b, false);
	}
	assert_int_equal(tu_free_after_drain(pmm), f0 + 8);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

/* ------------------------------------------------------------------------
 * 2. vmallocinfo and the statistics
 * ------------------------------------------------------------------------ */

/* info_text - pmm_vmalloc_info() into a malloc()ed string. */
static char *info_text(pmm_t *pmm, int json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(pmm_vmalloc_info(pmm, f, json), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	return buf;
}

/* The line of @text that shows the range starting at @addr (a copy), or NULL. */
static char *line_with(const char *text, const char *needle);

static char *line_of_area(const char *text, const void *addr)
{
	char hex[32], needle[40];

	snprintf(needle, sizeof(needle), "%s-", vu_hex(addr, hex));
	return line_with(text, needle);
}

/* The line of @text that contains @needle (a copy), or NULL. */
static char *line_with(const char *text, const char *needle)
{
	const char *hit = strstr(text, needle), *start, *end;
	char *line;

	if (!hit)
		return NULL;
	for (start = hit; start > text && start[-1] != '\n'; start--)
		;
	end = strchr(hit, '\n');
	if (!end)
		end = hit + strlen(hit);
	line = strndup(start, (size_t)(end - start));
	assert_non_null(line);
	return line;
}

static size_t count_of(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* json_plausible - one object: starts with '{', ends with '}', brackets balanced outside strings. */
static void assert_json_object(const char *j)
{
	int depth = 0;
	bool in_str = false;
	size_t n = strlen(j);

	while (n && (j[n - 1] == '\n' || j[n - 1] == ' '))
		n--;
	assert_true(n >= 2);
	assert_int_equal(j[0], '{');
	assert_int_equal(j[n - 1], '}');
	for (size_t i = 0; i < n; i++) {
		char ch = j[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == '"')
			in_str = true;
		else if (ch == '{' || ch == '[')
			depth++;
		else if (ch == '}' || ch == ']')
			depth--;
		assert_true(depth >= 0);
		if (depth == 0)
			assert_int_equal(i, n - 1);	/* one object, nothing after it */
	}
	assert_false(in_str);
	assert_int_equal(depth, 0);
}

/*
 * Three areas: a tagged pmm_vmalloc_node_range one of 1000 pages, a plain
 * pmm_vmalloc one of 234 and a vmap of 2 caller pages. nr_vmalloc_pages
 * is 1234 (vmap pages not counted), nr_areas 3. The text view has the tag
 * once, on a line with the area's address and "vmalloc"; the vmap area's
 * line says "vmap"; the JSON view is one object carrying the totals.
 * After vfree the counters return to 0, the tag is gone and the freed
 * ranges show as "unpurged vm_area" until the purge.
 */
static void test_info_and_stats(void **state)
{
	static const char tag[] = "vmtest_info_caller";
	struct tu_fx *fx = *state;
	pmm_t *pmm = tu_fx_contig(fx, 32);
	struct pmm_page *cp[2];
	struct vu_area a, b, v;
	char *text, *json, *line;

	{
		struct pmm_vmalloc_stats s0 = vu_stats(pmm);

		a = (struct vu_area){ .pages = 1000 };
		a.addr = pmm_vmalloc_node_range(pmm, 1000 * PS, 0, PMM_GFP_KERNEL, PMM_NUMA_NO_NODE, tag);
		vu_check_new(pmm, &a, &s0, true);
	}
	b = vu_vmalloc(pmm, 234 * PS, PMM_GFP_KERNEL);
	cp[0] = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	cp[1] = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(cp[0]);
	assert_non_null(cp[1]);
	v = vu_vmap(pmm, cp, 2, 0);
	assert_int_equal(vu_stats(pmm).nr_vmalloc_pages, 1234);
	assert_int_equal(vu_stats(pmm).nr_areas, 3);

	text = info_text(pmm, 0);
	print_message("%s", text);
	assert_int_equal(count_of(text, tag), 1);
	line = line_of_area(text, a.addr);
	assert_non_null(line);
	assert_non_null(strstr(line, tag));	/* the tag is on the area's own line */
	assert_non_null(strstr(line, "vmalloc"));
	assert_non_null(strstr(line, "1000"));
	free(line);
	line = line_of_area(text, b.addr);
	assert_non_null(line);
	assert_non_null(strstr(line, "vmalloc"));
	free(line);
	line = line_of_area(text, v.addr);
	assert_non_null(line);
	assert_non_null(strstr(line, "vmap"));
	free(line);
	free(text);

	json = info_text(pmm, 1);
	print_message("%s\n", json);
	assert_json_object(json);
	assert_non_null(strstr(json, "1234"));
	free(json);

	vu_vunmap(pmm, &v);
	pmm_free_pages(pmm, cp[0], 0);
	pmm_free_pages(pmm, cp[1], 0);
	vu_vfree(pmm, &a, true);
	assert_int_equal(vu_stats(pmm).nr_vmalloc_pages, 234);
	vu_vfree(pmm, &b, true);
	assert_int_equal(vu_stats(pmm).nr_vmalloc_pages, 0);
	assert_int_equal(vu_stats(pmm).nr_areas, 0);
	/* freed, not purged: "unpurged vm_area" lines, no live area's line */
	text = info_text(pmm, 0);
	assert_null(strstr(text, tag));
	assert_null(strstr(text, "pages="));
	assert_non_null(strstr(text, "unpurged vm_area"));
	free(text);
	json = info_text(pmm, 1);
	assert_json_object(json);
	assert_non_null(strstr(json, "\"unpurged\""));
	assert_non_null(strstr(json, "\"areas\""));
	free(json);
	pmm_vmalloc_purge(pmm);
	text = info_text(pmm, 0);
	assert_null(strstr(text, "unpurged vm_area"));
	free(text);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		TU_CONTIG_TESTS(test_vmap_shared),
		TU_CONTIG_TESTS(test_vmap_put_pages),
		TU_TEST(test_info_and_stats),
	};

	return tu_main(argc, argv, tests);
}
