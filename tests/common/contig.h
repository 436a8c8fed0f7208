/* SPDX-License-Identifier: MIT */
/*
 * contig.h - the reference for the batched contiguous free's chunking
 * (design.md section 5 item 2), which the tests and the fuzzer compare
 * the contig_chunks statistic with.
 *
 * Header-only (static inline, no state), needing nothing but pmm.h.
 */
#ifndef PMM_TESTS_CONTIG_H
#define PMM_TESTS_CONTIG_H

#include "pmm.h"

/**
 * contig_expected_chunks - how many chunks the batched path frees a run
 * of @nr pages from @pfn in, every page reaching refcount 0.
 *
 * Greedy from the left: each chunk has order min(alignment of its first
 * pfn (any order at pfn 0), floor(log2(pages left)), @max_order). An
 * aligned chunk never crosses a section boundary (max_order + page_shift
 * <= section_shift), so the count is the same whether or not the caller
 * cuts the run at sections first.
 * Return: the number of chunks; 0 for an empty run.
 */
static inline unsigned long contig_expected_chunks(pmm_pfn_t pfn, unsigned long nr,
						   unsigned int max_order)
{
	unsigned long chunks = 0;

	while (nr) {
		unsigned int o = max_order;

		while (o && ((pfn & ((1ull << o) - 1)) || (1ul << o) > nr))
			o--;
		pfn += 1ull << o;
		nr -= 1ul << o;
		chunks++;
	}
	return chunks;
}

#endif /* PMM_TESTS_CONTIG_H */
