/* SPDX-License-Identifier: MIT */
/*
 * test_trace.c - the USDT probes' enabled path (src/trace.h). A tracer
 * attached to a probe raises its semaphore; here the test raises every
 * one, so each trace_*() computes its arguments and calls its probe site
 * on every path that has one: allocation (success and failure), the zone
 * lock's takes and fallbacks, frees, pcp drains, the batched contig free
 * and the folio release. Whatever a tracer sees, the instance must stay
 * exactly as it would untraced. (scripts/check_usdt.sh checks that the
 * probes are in the binaries.)
 */
#include "testutil.h"
#include "mm_util.h"
#include "trace.h"

#if PMM_USDT
static void trace_all(unsigned short on)
{
#define X(name) pmm_##name##_semaphore = on;
	PMM_TRACE_EVENTS(X)
#undef X
}
#endif

static void test_probes_enabled(void **state)
{
	struct mu_env e;
	pmm_mm_t *mm;
	struct pmm_page *p, *q;

	(void)state;
#if !PMM_USDT
	skip();
#else
	trace_all(1);
	mu_env(&e, 32);
	/* unmovable requests on a movable-only instance: fallbacks (extfrag) */
	p = pmm_alloc_pages(e.pmm, PMM_GFP_KERNEL, 0);
	q = pmm_alloc_pages(e.pmm, PMM_GFP_KERNEL, 4);
	assert_non_null(p);
	assert_non_null(q);
	pmm_free_pages(e.pmm, p, 0);
	pmm_split_page(e.pmm, q, 4);		/* 16 order-0 pages: one contig range */
	pmm_free_contig_range(e.pmm, pmm_page_to_pfn(e.pmm, q), 16);
	assert_null(pmm_alloc_pages(e.pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, 40));	/* pfn -1 */
	pmm_drain_all_pages(e.pmm);		/* pcp drain */
	mm = mu_mm(e.pmm, PMM_GATHER_RANGES, PMM_MAPCOUNT_PER_PAGE);
	mu_map(mm, 0x400000, 64 * MU_PAGE, 2, PMM_MAP_WRITE | PMM_MAP_POPULATE);
	mu_unmap(mm, 0x400000, 64 * MU_PAGE);	/* folios_put_refs: free_batched */
	pmm_mm_destroy(mm);
	trace_all(0);
	mu_finish(&e);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probes_enabled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
