/* SPDX-License-Identifier: MIT */
/*
 * test_vmalloc_config.c - vmalloc's configuration and backings through
 * pmm.h only: the window's size limits and rounding, an instance without
 * a window, ANON and USER backings (which cannot map a frame a second
 * time: NULL with a log line, no crash), and no backing (areas as
 * bookkeeping only, never dereferenced).
 *
 * Every scenario ends with tu_finish() (pmm_check() == 0, every frame
 * free, the exact number of bad-page reports, buddyinfo as fresh).
 *
 * Contract points relied on beyond the prototypes:
 *  - An instance without a window (vmalloc_size 0, or ANON and USER
 *    backings, which design.md section 13 says get none) reports a
 *    window of 0 bytes and treats every address as outside it; its
 *    allocating calls are no bad input (a log line, no bad-page report),
 *    but pmm_vfree/pmm_vunmap of an address still report it.
 *  - PMM_AUTO is four times managed memory; without backing the window
 *    is there and map_calls stays 0 (nothing is mmapped).
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "vm_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define PS 4096ul

/* ------------------------------------------------------------------------
 * 1. The window's configuration
 * ------------------------------------------------------------------------ */

static int create_with_window(uint64_t bytes, pmm_t **out)
{
	static struct tu_log log;	/* the instance logs into it after we return */
	struct pmm_config cfg;

	tu_contig_config(&cfg, 16, NULL);
	tu_config_log(&cfg, &log);
	cfg.vmalloc_size = bytes;
	*out = NULL;
	return pmm_create(&cfg, out);
}

/*
 * vmalloc_size below 16 pages or above 2^46 is refused at create
 * (-PMM_EINVAL); 16 pages is the smallest window; a size that is not a
 * page multiple is rounded up; PMM_AUTO is four times managed memory.
 */
static void test_window_config(void **state)
{
	static const uint64_t bad_sizes[] = { 1, 15 * PS, 16 * PS - 1, (1ull << 46) + PS,
						     (1ull << 47), UINT64_MAX - 1 };
	static const struct { uint64_t ask, window; } good[] = {
		{ 16 * PS, 16 * PS }, { 16 * PS + 1, 17 * PS }, { 100 * PS - 7, 100 * PS },
		{ PMM_AUTO, 4 * TU_MIB(16) },
	};
	pmm_t *pmm;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
		int rc = create_with_window(bad_sizes[i], &pmm);

		if (rc != -PMM_EINVAL)
			print_message("vmalloc_size %#" PRIx64 ": pmm_create %d\n", bad_sizes[i], rc);
		assert_int_equal(rc, -PMM_EINVAL);
		assert_null(pmm);
	}
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct vu_area a;

		assert_int_equal(create_with_window(good[i].ask, &pmm), 0);
		assert_int_equal(vu_stats(pmm).window_bytes, good[i].window);
		vu_assert_idle(pmm);
		a = vu_vmalloc(pmm, 15 * PS, PMM_GFP_KERNEL);
		vu_assert_alias(pmm, &a, 0x58, PATTERN_ALL);
		vu_vfree(pmm, &a, true);
		vu_assert_idle(pmm);
		assert_int_equal(pmm_check(pmm), 0);
		pmm_destroy(pmm);
	}
}

/*
 * In a child whose address space (RLIMIT_AS) holds its current mappings
 * plus 1.5 GiB: a 1 GiB instance without backing would get a 4 GiB
 * default window; it is created anyway, with a halved window that the
 * limit allows, and vmalloc works in it.
 */
static void child_rlimit(void *arg)
{
	struct pmm_config cfg;
	struct rlimit rl;
	unsigned long vsz_pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	pmm_t *pmm;
	void *p;

	(void)arg;
	if (!f || fscanf(f, "%lu", &vsz_pages) != 1)
		exit(2);
	fclose(f);
	rl.rlim_cur = rl.rlim_max = (rlim_t)vsz_pages * (rlim_t)sysconf(_SC_PAGESIZE) + (3ull << 29);
	if (setrlimit(RLIMIT_AS, &rl))
		exit(3);
	pmm_config_init(&cfg);
	cfg.backing = PMM_BACKING_NONE;
	cfg.quiet = true;
	if (pmm_create(&cfg, &pmm))
		exit(4);
	if (pmm_get_config(pmm)->vmalloc_size >= (4ull << 30) ||
	    pmm_get_config(pmm)->vmalloc_size < (16ull << 20))
		exit(5);
	p = pmm_vmalloc(pmm, 8 << 20, PMM_GFP_KERNEL);
	if (!p || !pmm_vmalloc_to_page(pmm, p))
		exit(6);
	pmm_vfree(pmm, p);
	if (pmm_check(pmm))
		exit(7);
	pmm_destroy(pmm);
	exit(0);
}

static void test_window_rlimit(void **state)
{
	(void)state;
	assert_int_equal(tu_in_child("a default window under RLIMIT_AS", child_rlimit, NULL, 30), 0);
}

/*
 * vmalloc_size 0: no window. Every allocating call returns NULL without a
 * report, the caller's page stays as it was, no address is a vmalloc
 * address, pmm_vfree and pmm_vunmap of one report it, the views work.
 */
static void test_no_window(void **state)
{
	struct tu_fx *fx = *state;
	struct tu_log log = { 0 };
	struct pmm_config *cfg = tu_fx_contig_config(fx, 16);
	struct pmm_page *page;
	struct pmm_vmalloc_stats st;
	int local;
	FILE *f;
	pmm_t *pmm;

	cfg->vmalloc_size = 0;
	tu_config_log(cfg, &log);
	pmm = tu_fx_create(fx);
	page = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(page);
	assert_null(pmm_vmalloc(pmm, PS, PMM_GFP_KERNEL));
	assert_null(pmm_vzalloc(pmm, PS, PMM_GFP_KERNEL));
	assert_null(pmm_vmalloc_huge(pmm, 2ul << 20, PMM_GFP_KERNEL));
	assert_null(pmm_vmalloc_node_range(pmm, PS, 0, 0, 0, "none"));
	assert_null(pmm_vmap(pmm, &page, 1, PMM_VMAP_PUT_PAGES));
	assert_true(log.lines > 0);
	assert_int_equal(tu_reports_since(pmm, &fx->bad, NULL), 0);
	assert_int_equal(pmm_page_count(page), 1);
	tu_assert_conserved(pmm, 1);
	assert_false(pmm_is_vmalloc_addr(pmm, &local));
	assert_null(pmm_vmalloc_to_page(pmm, &local));
	vu_assert_both_refuse(pmm, &fx->bad, &local);
	pmm_vfree(pmm, NULL);
	pmm_vmalloc_purge(pmm);
	st = vu_stats(pmm);
	assert_int_equal(st.window_bytes, 0);
	assert_int_equal(st.nr_areas, 0);
	assert_int_equal(st.nr_vmalloc_pages, 0);
	f = fopen("/dev/null", "w");
	assert_non_null(f);
	assert_int_equal(pmm_vmalloc_info(pmm, f, 0), 0);
	assert_int_equal(pmm_vmalloc_info(pmm, f, 1), 0);
	fclose(f);
	assert_int_equal(pmm_vmalloc_stats(pmm, NULL), -PMM_EINVAL);
	pmm_free_pages(pmm, page, 0);
	tu_finish(pmm, .bad = &fx->bad, .reports = 2, .fresh = &fx->fresh);
}

/* ------------------------------------------------------------------------
 * 2. Backings
 * ------------------------------------------------------------------------ */

/*
 * ANON and USER backings cannot map a frame a second time: the instance is
 * created (with no window), every vmalloc and vmap call returns NULL with
 * a log line and no report, nothing is taken, nothing crashes.
 */
static void backing_cannot_map(struct tu_fx *fx, enum pmm_backing backing)
{
	struct tu_log log = { 0 };
	struct pmm_config *cfg = tu_fx_contig_config(fx, 16);
	void *buf = NULL;
	struct pmm_page *page;
	int lines;
	pmm_t *pmm;

	cfg->backing = backing;
	if (backing == PMM_BACKING_USER) {
		buf = mmap(NULL, TU_MIB(16), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_true(buf != MAP_FAILED);
		cfg->user_base = buf;
		cfg->user_size = TU_MIB(16);
	}
	tu_config_log(cfg, &log);
	pmm = tu_fx_create(fx);
	page = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(page);
	assert_non_null(pmm_page_address(pmm, page));

	lines = log.lines;
	assert_null(pmm_vmalloc(pmm, PS, PMM_GFP_KERNEL));
	assert_true(log.lines > lines);
	lines = log.lines;
	assert_null(pmm_vzalloc(pmm, 64 * PS, PMM_GFP_KERNEL));
	assert_true(log.lines > lines);
	assert_null(pmm_vmalloc_node(pmm, PS, PMM_GFP_KERNEL, 0));
	assert_null(pmm_vmalloc_huge(pmm, 2ul << 20, PMM_GFP_KERNEL));
	assert_null(pmm_vmalloc_node_range(pmm, PS, 1ul << 20, 0, PMM_NUMA_NO_NODE, "backing"));
	lines = log.lines;
	assert_null(pmm_vmap(pmm, &page, 1, PMM_VMAP_PUT_PAGES));
	assert_true(log.lines > lines);
	print_message("%s backing: \"%s\"\n", backing == PMM_BACKING_ANON ? "anon" : "user", log.last);
	assert_int_equal(tu_reports_since(pmm, &fx->bad, NULL), 0);
	assert_int_equal(pmm_page_count(page), 1);
	tu_assert_conserved(pmm, 1);
	assert_false(pmm_is_vmalloc_addr(pmm, pmm_page_address(pmm, page)));
	assert_int_equal(vu_stats(pmm).window_bytes, 0);
	assert_int_equal(vu_stats(pmm).nr_areas, 0);
	pmm_vmalloc_purge(pmm);
	pmm_free_pages(pmm, page, 0);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
	if (buf)
		munmap(buf, TU_MIB(16));
}

static void test_backing_anon(void **state)
{
	backing_cannot_map(*state, PMM_BACKING_ANON);
}

static void test_backing_user(void **state)
{
	backing_cannot_map(*state, PMM_BACKING_USER);
}

/*
 * No backing: areas are bookkeeping only (never dereferenced here). A
 * 256 MiB area on a 1 GiB machine takes 65536 distinct allocated pages
 * without a direct map and without an mmap; vzalloc and vmap work the
 * same way; the guard has no page; more than memory, or than the
 * window, is NULL with nothing taken; vfree gives every frame back.
 */
static void test_backing_none(void **state)
{
	struct tu_fx *fx = *state;
	struct pmm_config *cfg = tu_fx_contig_config(fx, 1024);
	struct pmm_page *cp[3], **pages;
	struct vu_area a, z, v;
	uint64_t f0;
	pmm_t *pmm;

	cfg->backing = PMM_BACKING_NONE;
	pmm = tu_fx_create(fx);
	assert_int_equal(vu_stats(pmm).window_bytes, 4 * TU_MIB(1024));
	a = vu_vmalloc(pmm, TU_MIB(256), PMM_GFP_KERNEL);
	assert_int_equal(vu_stats(pmm).nr_vmalloc_pages, 65536);
	pages = vu_area_pages(pmm, a.addr, a.pages);
	for (size_t i = 0; i < a.pages; i += 97)
		assert_null(pmm_page_address(pmm, pages[i]));
	free(pages);
	assert_null(pmm_vmalloc_to_page(pmm, a.addr + a.pages * PS));
	vu_assert_in_use(pmm, 65536);

	{
		struct pmm_vmalloc_stats s0 = vu_stats(pmm);

		z = (struct vu_area){ .pages = 256 };
		z.addr = pmm_vzalloc(pmm, 256 * PS, PMM_GFP_KERNEL);
		vu_check_new(pmm, &z, &s0, true);
	}
	for (int i = 0; i < 3; i++) {
		cp[i] = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
		assert_non_null(cp[i]);
	}
	v = vu_vmap(pmm, cp, 3, PMM_VMAP_PUT_PAGES);

	f0 = tu_free_after_drain(pmm);
	assert_null(pmm_vmalloc(pmm, (f0 + 1) * PS, PMM_GFP_NOWARN));
	assert_null(pmm_vmalloc(pmm, 8 * TU_MIB(1024), PMM_GFP_NOWARN));
	assert_int_equal(tu_free_after_drain(pmm), f0);
	assert_int_equal(vu_stats(pmm).nr_areas, 3);

	vu_vunmap(pmm, &v);
	vu_vfree(pmm, &z, true);
	vu_vfree(pmm, &a, true);
	tu_assert_conserved(pmm, 0);
	vu_assert_idle(pmm);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_config),
		cmocka_unit_test(test_window_rlimit),
		TU_TEST(test_no_window),
		TU_TEST(test_backing_anon),
		TU_TEST(test_backing_user),
		TU_TEST(test_backing_none),
	};

	return tu_main(argc, argv, tests);
}
