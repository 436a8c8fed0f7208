/* SPDX-License-Identifier: MIT */
/*
 * pattern.h - a pfn- and tag-dependent pattern in the bytes of frames.
 *
 * Whoever holds a frame writes the pattern of its own tag into it and
 * verifies it before giving the frame back: a frame handed out twice, or
 * written by the allocator while it was held, shows as a mismatch that
 * names the frame and the word. Word i of frame pfn under tag t holds
 * pattern_word(pfn, t, i), so no two frames or owners share a pattern.
 *
 * Header-only (static inline, no state), needing nothing but pmm.h: the
 * tests, the fuzzer and the stress tool (bench/stress.c) share it. The
 * functions report instead of asserting, so they may run on any thread.
 */
#ifndef PMM_TESTS_PATTERN_H
#define PMM_TESTS_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pmm.h"
#include "prng.h"

/* Which words of a frame carry the pattern. */
enum pattern_span {
	PATTERN_ALL,		/* every word: what the single-threaded tests afford */
	PATTERN_SAMPLED,	/* PATTERN_RUN words at the start, the middle and the end */
};

/*
 * Words per sampled run. Stray writes land at the start of a frame (list
 * pointers, a header) or run off its end; the middle run catches a
 * copy that is off by half a frame.
 */
#define PATTERN_RUN 8

/* The first word that did not hold what it should. */
struct pattern_mismatch {
	pmm_pfn_t pfn;		/* the frame */
	size_t word;		/* index of the 64-bit word in the frame */
	uint64_t got, want;
};

/** pattern_word - what word @i of frame @pfn holds under @tag. */
static inline uint64_t pattern_word(pmm_pfn_t pfn, uint64_t tag, size_t i)
{
	return prng_mix64((pfn ^ (tag << 1)) + PRNG_GOLDEN) + i;
}

/*
 * pattern_next - the word after @i that @span covers in a frame of @words
 * words (@words when there is none). Frames too small for three separate
 * runs are covered whole.
 */
static inline size_t pattern_next(size_t i, size_t words, enum pattern_span span)
{
	size_t mid = words / 2 - PATTERN_RUN / 2;

	i++;
	if (span == PATTERN_ALL || words < 3 * PATTERN_RUN)
		return i;
	if (i == PATTERN_RUN)
		return mid;
	if (i == mid + PATTERN_RUN)
		return words - PATTERN_RUN;
	return i;
}

/*
 * pattern_frame - the direct-map words of frame @pfn and their count, or
 * NULL when it has none (an instance without backing, a hole).
 */
static inline uint64_t *pattern_frame(pmm_t *pmm, pmm_pfn_t pfn, size_t *words)
{
	struct pmm_page *page = pmm_pfn_to_page(pmm, pfn);

	*words = pmm_page_size(pmm) / sizeof(uint64_t);
	return page ? pmm_page_address(pmm, page) : NULL;
}

/**
 * pattern_write - write the pattern of @tag into frames [@pfn, @pfn + @nr).
 *
 * Frames without an address (no backing) are skipped: the callers run
 * the same code on backed and unbacked instances.
 * Context: the caller owns the frames.
 */
static inline void pattern_write(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr, uint64_t tag,
				 enum pattern_span span)
{
	for (unsigned long f = 0; f < nr; f++) {
		size_t words;
		uint64_t *w = pattern_frame(pmm, pfn + f, &words);

		for (size_t i = 0; w && i < words; i = pattern_next(i, words, span))
			w[i] = pattern_word(pfn + f, tag, i);
	}
}

/*
 * pattern_scan - compare the @span words of [@pfn, @pfn + @nr) with the
 * pattern of @tag, or with zero when @zero. Shared by the two checks below.
 */
static inline bool pattern_scan(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr, uint64_t tag,
				bool zero, enum pattern_span span, struct pattern_mismatch *bad)
{
	for (unsigned long f = 0; f < nr; f++) {
		size_t words;
		const uint64_t *w = pattern_frame(pmm, pfn + f, &words);

		for (size_t i = 0; w && i < words; i = pattern_next(i, words, span)) {
			uint64_t want = zero ? 0 : pattern_word(pfn + f, tag, i);

			if (w[i] == want)
				continue;
			if (bad)
				*bad = (struct pattern_mismatch){ .pfn = pfn + f, .word = i,
								  .got = w[i], .want = want };
			return false;
		}
	}
	return true;
}

/**
 * pattern_verify - check that frames [@pfn, @pfn + @nr) still hold the
 * pattern pattern_write() gave them under @tag.
 * @bad: where to describe the first mismatch; may be NULL.
 * Return: true when intact (or without backing), false on a mismatch.
 */
static inline bool pattern_verify(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr, uint64_t tag,
				  enum pattern_span span, struct pattern_mismatch *bad)
{
	return pattern_scan(pmm, pfn, nr, tag, false, span, bad);
}

/**
 * pattern_zeroed - check that the @span words of [@pfn, @pfn + @nr) are
 * zero, as PMM_GFP_ZERO promises.
 * Return: true when zero (or without backing), false otherwise.
 */
static inline bool pattern_zeroed(pmm_t *pmm, pmm_pfn_t pfn, unsigned long nr,
				  enum pattern_span span, struct pattern_mismatch *bad)
{
	return pattern_scan(pmm, pfn, nr, 0, true, span, bad);
}

#endif /* PMM_TESTS_PATTERN_H */
