/* SPDX-License-Identifier: MIT */
/*
 * test_mm_bad_puts.c - puts on the folios of an address space, good and bad.
 *
 * A folio's count holds one reference per PTE, one per page while the swap
 * cache has it, one while the deferred split queue has it and one while an
 * LRU add batch has it (lru.h). The scenarios:
 *  - A put that drops a reference the caller does not hold, made while such
 *    holders remain, brings the count to zero at some later put (the
 *    teardown's, or the caller's own): that put is reported once, the
 *    holders keep their references, and the folio is freed by the last of
 *    them. Before the fix, a folio freed inside an add batch was linked into
 *    the LRU by the batch's drain while it sat on a free list.
 *  - The same put made before the holders' own: the holder that drops the
 *    last references finds fewer than it has; reported once, and the
 *    folio is freed all the same. The report's callback runs with no LRU
 *    lock held.
 *  - A caller that holds a reference of its own (pmm_mm_get_page) and
 *    drops it after the folio was unmapped frees it with any of the puts,
 *    the LRU membership included (kernel __folio_put()), with no report.
 * Every scenario ends with mu_finish(): pmm_check() passes, no report
 * beyond the expected, and buddyinfo equals the fresh instance's, so no
 * frame was lost.
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "mm_util.h"

#define RWP (PMM_MAP_WRITE | PMM_MAP_POPULATE)
#define UNDERFLOW "refcount underflow"

enum put_kind { PUT_PAGE, FOLIO_PUT, FREE_PAGES, GATHER, NR_PUT_KINDS };
static const char *const put_names[NR_PUT_KINDS] = { "pmm_put_page", "pmm_folio_put",
						     "pmm_free_pages", "pmm_gather" };

/* Drop one reference on @folio (mapped at @page) the way @kind does. */
static void put_one(pmm_t *pmm, enum put_kind kind, enum pmm_gather_mode mode,
		    struct pmm_page *page)
{
	struct pmm_folio *folio = pmm_page_folio(page);
	struct pmm_gather tlb;

	switch (kind) {
	case PUT_PAGE:
		pmm_put_page(pmm, page);
		break;
	case FOLIO_PUT:
		pmm_folio_put(pmm, folio);
		break;
	case FREE_PAGES:
		pmm_free_pages(pmm, pmm_folio_page(pmm, folio, 0), pmm_folio_order(folio));
		break;
	case GATHER:
		pmm_gather_init(&tlb, pmm, mode, NULL, NULL);
		pmm_gather_add(&tlb, page, 1);
		pmm_gather_finish(&tlb);
		break;
	default:
		fail();
	}
}

/* Exactly one report since the mark, naming @reason; the instance is consistent. */
static void expect_one_report(struct mu_env *e, const char *reason)
{
	tu_assert_reports(e->pmm, &e->bad, &e->mark, 1, reason);
	assert_int_equal(pmm_check(e->pmm), 0);
	mu_remark(e);
}

/*
 * One put too many on a freshly mapped folio, while the fault's LRU add
 * batch still holds it: the count reaches zero at the teardown, which is
 * refused, and the batch's drain frees the folio.
 */
static void test_overput_in_lru_batch(void **state)
{
	static const unsigned int orders[] = { 0, 3 };

	(void)state;
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++)
		for (size_t o = 0; o < MU_ARRAY_SIZE(orders); o++)
			for (int k = 0; k < NR_PUT_KINDS; k++) {
				unsigned int order = orders[o];
				struct mu_env e;
				pmm_mm_t *mm;
				struct pmm_page *page;

				print_message("%s, order %u, %s\n", mu_mode_name(mu_modes[m]), order,
					      put_names[k]);
				mu_env(&e, 64);
				mm = mu_mm(e.pmm, mu_modes[m], PMM_MAPCOUNT_PER_PAGE);
				mu_map(mm, MU_BASE, MU_PAGES(1) << order, order, RWP);
				page = pmm_mm_lookup(mm, MU_BASE);
				assert_non_null(page);
				assert_int_equal(pmm_folio_ref_count(pmm_page_folio(page)),
						 (1 << order) + 1);
				put_one(e.pmm, (enum put_kind)k, mu_modes[m], page);
				assert_int_equal(mu_reports(&e), 0);
				assert_int_equal(pmm_check(e.pmm), 0);
				pmm_mm_destroy(mm);
				expect_one_report(&e, UNDERFLOW);
				mu_finish(&e);	/* drains the batch: the folio goes */
			}
}

/* Who else holds the scenarios' folio, besides its PTEs. */
enum holder { PTES, SWAP_CACHE, SPLIT_QUEUE, NR_HOLDERS };
static const char *const holder_names[NR_HOLDERS] = { "PTEs", "swap cache", "split queue" };

/*
 * The scenarios' folio: an instance, an mm of @mode, an order-@order folio
 * mapped at MU_BASE and also held by @holder (for SPLIT_QUEUE its first
 * @unmapped pages are unmapped, which queues it), the add batch drained.
 * Return: the folio's last page.
 */
static struct pmm_page *held_folio(struct mu_env *e, pmm_mm_t **mm, enum put_kind kind,
				   enum pmm_gather_mode mode, enum holder holder,
				   unsigned int order, uint64_t unmapped)
{
	uint64_t len = MU_PAGES(1) << order;
	struct pmm_page *page;

	print_message("%s, %s, order %u, held by the %s\n", mu_mode_name(mode), put_names[kind],
		      order, holder_names[holder]);
	mu_env(e, 64);
	*mm = mu_mm(e->pmm, mode, PMM_MAPCOUNT_PER_PAGE);
	mu_map(*mm, MU_BASE, len, order, RWP);
	if (holder == SWAP_CACHE)
		assert_int_equal(pmm_mm_swapcache_add(*mm, MU_BASE, len), 0);
	if (holder == SPLIT_QUEUE)
		mu_unmap(*mm, MU_BASE, MU_PAGES(unmapped));
	pmm_lru_add_drain(e->pmm);
	page = pmm_mm_lookup(*mm, MU_BASE + len - MU_PAGE);
	assert_non_null(page);
	return page;
}

/* Each scenario in every gather mode, with each kind of put and each holder. */
static void each_case(void (*scenario)(enum put_kind, enum pmm_gather_mode, enum holder))
{
	for (int m = 0; m < PMM_NR_GATHER_MODES; m++)
		for (int k = 0; k < NR_PUT_KINDS; k++)
			for (int h = 0; h < NR_HOLDERS; h++)
				scenario((enum put_kind)k, mu_modes[m], (enum holder)h);
}

/*
 * Every reference of a mapped folio dropped by puts: the last of them is
 * refused while the PTEs (and, in the variants, the swap cache or the
 * deferred split queue) hold theirs, and the teardown frees the folio.
 */
static void overput_held(enum put_kind kind, enum pmm_gather_mode mode, enum holder holder)
{
	const uint64_t last = MU_BASE + MU_PAGES(7);
	struct mu_env e;
	pmm_mm_t *mm;
	struct pmm_page *page = held_folio(&e, &mm, kind, mode, holder, 3, 4);
	struct pmm_folio *folio = pmm_page_folio(page);
	int refs = pmm_folio_ref_count(folio);

	assert_int_equal(refs, (holder == SPLIT_QUEUE ? 4 + 1 : 8) + (holder == SWAP_CACHE ? 8 : 0));
	for (int i = 0; i < refs; i++)
		put_one(e.pmm, kind, mode, page);
	expect_one_report(&e, UNDERFLOW);
	assert_int_equal(pmm_folio_ref_count(folio), refs);	/* the holders' again */
	assert_int_equal(mu_read_tag(mm, last), 0);		/* still mapped, readable */
	pmm_mm_destroy(mm);
	mu_finish(&e);
}

static void test_overput_while_held(void **state)
{
	(void)state;
	each_case(overput_held);
}

/*
 * One put too many on a mapped folio, after the batch's drain: the
 * teardown finds fewer references than its holders had. In every gather
 * mode that is one report and the folio is freed (per page: the put after
 * the one that freed it; by runs: the run's put takes what is left). With
 * the swap cache or the split queue holding it too, their drop, made
 * before the teardown's own, finds too few as well (it used to reach zero
 * there: a debug assertion, and in release a free folio left on the LRU).
 */
static void overput_before_teardown(enum put_kind kind, enum pmm_gather_mode mode,
				    enum holder holder)
{
	const unsigned int order = holder == SWAP_CACHE ? 0 : 3;
	struct mu_env e;
	pmm_mm_t *mm;
	/* the split queue's folio keeps one page mapped */
	struct pmm_page *page = held_folio(&e, &mm, kind, mode, holder, order, (1u << order) - 1);

	put_one(e.pmm, kind, mode, page);
	assert_int_equal(mu_reports(&e), 0);
	if (holder != PTES)
		mu_unmap(mm, MU_BASE + MU_PAGES((1u << order) - 1), MU_PAGE);	/* the last mapping */
	pmm_mm_destroy(mm);
	expect_one_report(&e, UNDERFLOW);
	mu_finish(&e);
}

static void test_overput_before_teardown(void **state)
{
	(void)state;
	each_case(overput_before_teardown);
}

/*
 * The report of a refused put, made from inside a teardown's release of
 * several folios, runs with no LRU lock held: its callback may read the
 * node's LRU and drain (it used to run under the lruvec lock taken for
 * the folio before: a self-deadlock).
 */
struct reenter_ctx {
	struct mu_env *e;
	unsigned long calls;
};

static void reenter_bad_page(void *arg, pmm_pfn_t pfn, const char *reason)
{
	struct reenter_ctx *r = arg;
	struct pmm_node_info ni;

	tu_bad_page_cb(&r->e->bad, pfn, reason);
	r->calls++;
	assert_int_equal(pmm_node_info(r->e->pmm, 0, &ni), 0);
	pmm_drain_all_pages(r->e->pmm);
}

static void test_refused_report_unlocked(void **state)
{
	struct pmm_config cfg;
	struct reenter_ctx r = { 0 };
	struct mu_env e;
	pmm_mm_t *a, *b;
	struct pmm_page *page;

	(void)state;
	mu_config(&e, &cfg, 64);
	r.e = &e;
	cfg.bad_page_fn = reenter_bad_page;
	cfg.bad_page_arg = &r;
	mu_start(&e, &cfg);
	a = mu_mm(e.pmm, PMM_GATHER_RANGES, PMM_MAPCOUNT_PER_PAGE);
	b = mu_mm(e.pmm, PMM_GATHER_RANGES, PMM_MAPCOUNT_PER_PAGE);
	mu_map(a, MU_BASE, MU_PAGE, 0, RWP);	/* folio A: this CPU's batch, entry 0 */
	mu_map(b, MU_BASE, MU_PAGE, 0, RWP);	/* folio B: entry 1 */
	page = pmm_mm_lookup(b, MU_BASE);
	assert_non_null(page);
	pmm_put_page(e.pmm, page);		/* one too many on B */
	/* A's PTE goes, then the drain: A's last put (the lruvec lock taken), then B's refused */
	pmm_mm_destroy(a);
	assert_int_equal(r.calls, 1);
	expect_one_report(&e, UNDERFLOW);
	assert_int_equal(pmm_page_count(page), 1);	/* b's PTE's */
	pmm_mm_destroy(b);
	mu_finish(&e);
}

/*
 * A reference of the caller's own (pmm_mm_get_page), taken while the
 * folio was mapped and dropped after the unmap, frees it (off the LRU)
 * with no report, whether the fault's batch was drained before the unmap
 * or by it, with each put.
 */
static void test_own_reference_outlives_the_mapping(void **state)
{
	static const unsigned int orders[] = { 0, 3 };

	(void)state;
	for (int drained = 0; drained < 2; drained++)
		for (size_t o = 0; o < MU_ARRAY_SIZE(orders); o++)
			for (int k = 0; k < NR_PUT_KINDS; k++) {
				unsigned int order = orders[o];
				uint64_t len = MU_PAGES(1) << order;
				struct mu_env e;
				pmm_mm_t *mm;
				struct pmm_page *page;

				print_message("%s, order %u, %s\n", drained ? "drained" : "in the batch",
					      order, put_names[k]);
				mu_env(&e, 64);
				mm = mu_mm(e.pmm, PMM_GATHER_PER_PAGE, PMM_MAPCOUNT_PER_PAGE);
				mu_map(mm, MU_BASE, len, order, RWP);
				if (drained)
					pmm_lru_add_drain(e.pmm);
				page = pmm_mm_get_page(mm, MU_BASE);
				assert_non_null(page);
				assert_ptr_equal(page, pmm_mm_lookup(mm, MU_BASE));
				mu_unmap(mm, MU_BASE, len);	/* drains the batch first */
				assert_int_equal(pmm_folio_ref_count(pmm_page_folio(page)), 1);
				put_one(e.pmm, (enum put_kind)k, PMM_GATHER_PER_PAGE, page);
				assert_int_equal(mu_reports(&e), 0);
				assert_int_equal(pmm_check(e.pmm), 0);
				pmm_mm_destroy(mm);
				mu_finish(&e);
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overput_in_lru_batch),
		cmocka_unit_test(test_overput_while_held),
		cmocka_unit_test(test_overput_before_teardown),
		cmocka_unit_test(test_refused_report_unlocked),
		cmocka_unit_test(test_own_reference_outlives_the_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
