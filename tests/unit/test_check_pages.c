/* SPDX-License-Identifier: MIT */
/*
 * test_check_pages.c - the two page-check modes (struct pmm_config's
 * check_pages, design.md section 5):
 *  - the default resolves by build (FULL in debug, KERNEL in release) and a
 *    bad value is refused;
 *  - a stray write into a tail of a non-compound block, allocated or free:
 *    FULL reports it at the free or the allocation and leaks the block;
 *    KERNEL does not read tails, and pmm_check() finds the write instead,
 *    so in neither mode is it silent;
 *  - why KERNEL may skip those tails: every call a caller can make on such
 *    a tail refuses it without changing it, so it is as clean at the free
 *    as at the allocation.
 */
#include "testutil.h"
#include "debug.h"
#include "memmap.h"
#include "page_flags.h"
#include "page_ref.h"

static int dummy_mapping;

static pmm_t *create(enum pmm_check_pages mode, struct tu_bad *bad)
{
	struct pmm_config cfg;

	tu_config(&cfg, 16, bad);
	cfg.check_pages = mode;
	return tu_create(&cfg);
}

static void test_default_and_bad_value(void **state)
{
	struct pmm_config cfg;
	pmm_t *pmm;

	(void)state;
	pmm = create(PMM_CHECK_PAGES_DEFAULT, NULL);
	assert_int_equal(pmm_get_config(pmm)->check_pages,
			 PMM_DEBUG ? PMM_CHECK_PAGES_FULL : PMM_CHECK_PAGES_KERNEL);
	tu_finish(pmm);
	tu_config(&cfg, 16, NULL);
	cfg.check_pages = (enum pmm_check_pages)(PMM_CHECK_PAGES_FULL + 1);
	assert_int_equal(pmm_create(&cfg, &pmm), -PMM_EINVAL);
}

/* A tail of an allocated order-3 block written, then the block freed. */
static void test_dirty_tail_at_free(void **state)
{
	(void)state;
	for (int full = 0; full < 2; full++) {
		struct tu_bad bad;
		pmm_t *pmm = create(full ? PMM_CHECK_PAGES_FULL : PMM_CHECK_PAGES_KERNEL, &bad);
		struct pmm_page *block = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 3);

		assert_non_null(block);
		block[5].mapping = &dummy_mapping;
		pmm_free_pages(pmm, block, 3);
		if (full) {
			tu_finish(pmm, .leaked = 8, .bad = &bad, .reports = 1);
			continue;
		}
		/* KERNEL freed it unread; the checker sees the frame in use on a free list */
		assert_int_equal(tu_bad_count(&bad), 0);
		pmm_drain_all_pages(pmm);
		assert_int_equal(pmm_check(pmm), -PMM_ECORRUPT);
		block[5].mapping = NULL;
		tu_finish(pmm, .bad = &bad, .reports = 0);
	}
}

/* A frame inside a free block written, then the block allocated. */
static void test_dirty_tail_at_alloc(void **state)
{
	(void)state;
	for (int full = 0; full < 2; full++) {
		struct tu_bad bad;
		pmm_t *pmm = create(full ? PMM_CHECK_PAGES_FULL : PMM_CHECK_PAGES_KERNEL, &bad);
		struct pmm_page *block = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 10), *got[4];
		unsigned int n = 0;

		assert_non_null(block);
		pmm_free_pages(pmm, block, 10);		/* a free order-10 block we know */
		block[100].mapping = &dummy_mapping;
		if (!full) {
			assert_int_equal(pmm_check(pmm), -PMM_ECORRUPT);
			block[100].mapping = NULL;
			tu_finish(pmm, .bad = &bad, .reports = 0);
			continue;
		}
		/* FULL: whichever allocation meets it reports it and leaks the block */
		while (n < 4 && (got[n] = pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 10)))
			n++;
		assert_int_equal(tu_bad_count(&bad), 1);
		for (unsigned int i = 0; i < n; i++) {
			assert_ptr_not_equal(got[i], block);
			pmm_free_pages(pmm, got[i], 10);
		}
		tu_finish(pmm, .leaked = 1024, .bad = &bad, .reports = 1);
	}
}

/*
 * pmm_split_page() leaves a tail's alloc_order as it finds it (0 on every
 * frame but a handed-out head), so pmm_check() finds a stray one on a tail
 * of an allocated block and on a free frame; after the split the page is
 * refused, reported, not freed as a block it is not.
 */
static void test_stray_alloc_order(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = create(PMM_CHECK_PAGES_KERNEL, &bad);
	struct pmm_page *block = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2);
	pmm_pfn_t pfn;

	(void)state;
	assert_non_null(block);
	__set_page_alloc_order(&block[3], 2);
	assert_int_equal(pmm_check(pmm), -PMM_ECORRUPT);
	pmm_split_page(pmm, block, 2);
	pfn = pmm_page_to_pfn(pmm, block);
	pmm_free_pages(pmm, &block[3], 0);	/* "order 0 but block has order 2" */
	assert_int_equal(tu_bad_count(&bad), 1);
	assert_int_equal(pmm_page_count(&block[3]), 1);
	__set_page_alloc_order(&block[3], 0);
	pmm_free_contig_range(pmm, pfn, 4);
	/* and on a free frame */
	pmm_drain_all_pages(pmm);
	__set_page_alloc_order(&block[1], 1);
	assert_int_equal(pmm_check(pmm), -PMM_ECORRUPT);
	__set_page_alloc_order(&block[1], 0);
	tu_finish(pmm, .bad = &bad, .reports = 1);
}

/* A folio's tails are read at its free in both modes: their compound links must go. */
static void test_dirty_folio_tail(void **state)
{
	(void)state;
	for (int full = 0; full < 2; full++) {
		struct tu_bad bad;
		pmm_t *pmm = create(full ? PMM_CHECK_PAGES_FULL : PMM_CHECK_PAGES_KERNEL, &bad);
		struct pmm_folio *folio = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 3);
		struct pmm_page *head = &folio->page;

		assert_non_null(folio);
		head[4].mapping = &dummy_mapping;
		pmm_folio_put(pmm, folio);
		tu_finish(pmm, .leaked = 8, .bad = &bad, .reports = 1);
	}
}

/* Every call given the tail of a never-split block refuses it and leaves it clean. */
static void test_no_call_reaches_a_tail(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = create(PMM_CHECK_PAGES_KERNEL, &bad);
	struct pmm_page *block = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2);
	struct pmm_page *tail;
	struct pmm_gather tlb;
	pmm_pfn_t pfn;
	unsigned long calls = 0;

	(void)state;
	assert_non_null(block);
	tail = block + 1;
	pfn = pmm_page_to_pfn(pmm, tail);
#define REFUSED(call)                                                          \
	do {                                                                   \
		unsigned long before = tu_bad_count(&bad);                    \
		call;                                                          \
		assert_true(tu_bad_count(&bad) > before);                     \
		calls += tu_bad_count(&bad) - before;                          \
		assert_int_equal(page_ref_count(tail), 0);                     \
		assert_int_equal(page_flags(tail) & PAGE_FLAGS_MASK, 0);       \
		assert_null(tail->mapping);                                    \
		assert_int_equal(atomic_load(&tail->mapcount), -1);            \
		assert_int_equal(page_alloc_order(tail), 0);                       \
	} while (0)
	REFUSED(pmm_get_page(pmm, tail));
	REFUSED(pmm_put_page(pmm, tail));
	REFUSED(pmm_free_pages(pmm, tail, 0));
	REFUSED(pmm_split_page(pmm, tail, 0));
	REFUSED(pmm_folio_get(pmm, pmm_page_folio(tail)));
	REFUSED(pmm_folio_put(pmm, pmm_page_folio(tail)));
	REFUSED(pmm_free_pages_bulk(pmm, &tail, 1));
	REFUSED(pmm_free_contig_range(pmm, pfn, 1));
	REFUSED(pmm_free_contig_frozen_range(pmm, pfn, 1));
	REFUSED(assert_null(pmm_vmap(pmm, &tail, 1, 0)));
	REFUSED(assert_null(pmm_vmap(pmm, &tail, 1, PMM_VMAP_PUT_PAGES)));
	pmm_gather_init(&tlb, pmm, PMM_GATHER_RANGES, NULL, NULL);
	REFUSED(assert_false(pmm_gather_add(&tlb, tail, 1)));
	pmm_gather_finish(&tlb);
#undef REFUSED
	assert_int_equal(pmm_page_count(block), 1);
	pmm_free_pages(pmm, block, 2);		/* its tails are not read, and need not be */
	tu_finish(pmm, .bad = &bad, .reports = calls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_and_bad_value),
		cmocka_unit_test(test_dirty_tail_at_free),
		cmocka_unit_test(test_dirty_tail_at_alloc),
		cmocka_unit_test(test_dirty_folio_tail),
		cmocka_unit_test(test_stray_alloc_order),
		cmocka_unit_test(test_no_call_reaches_a_tail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
