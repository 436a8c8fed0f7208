/* SPDX-License-Identifier: MIT */
/*
 * prng.h - the one pseudo-random generator of the tests, the fuzzer's
 * replay runner and the stress tool: splitmix64 (Steele, Lea, Flood 2014).
 * It takes any 64-bit seed, needs no warm-up and its whole state is one
 * word, so a seed printed by a failing run reproduces it exactly.
 *
 * Header-only: static inline functions and no state of its own, so a
 * program that is not a test (bench/stress.c) includes it as it is.
 */
#ifndef PMM_TESTS_PRNG_H
#define PMM_TESTS_PRNG_H

#include <stddef.h>
#include <stdint.h>

/* 2^64 / golden ratio, odd: splitmix64's increment, and a good salt multiplier. */
#define PRNG_GOLDEN 0x9e3779b97f4a7c15ull

struct prng {
	uint64_t state;		/* advanced by PRNG_GOLDEN per draw */
};

/**
 * prng_mix64 - splitmix64's finalizer: a bijection of 64-bit words whose
 * every output bit depends on every input bit.
 * Return: the mixed word.
 */
static inline uint64_t prng_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/**
 * prng_init - seed @r for stream @stream of @seed.
 * @stream: 0 for the seed's own sequence; a thread or a test case number
 *          for a sequence of its own that the same seed reproduces.
 *
 * Stream k starts at seed ^ (k * PRNG_GOLDEN): streams of one seed start
 * far apart in the state sequence, which is all the tests need of them.
 */
static inline void prng_init(struct prng *r, uint64_t seed, uint64_t stream)
{
	r->state = seed ^ (stream * PRNG_GOLDEN);
}

/** prng_next - the next 64 pseudo-random bits of @r. */
static inline uint64_t prng_next(struct prng *r)
{
	r->state += PRNG_GOLDEN;
	return prng_mix64(r->state);
}

/**
 * prng_below - a pseudo-random number in [0, @n).
 *
 * By remainder: the bias is below n / 2^64, far under what a test can
 * see, and a remainder keeps every recorded sequence easy to recompute.
 * Return: 0 when @n is 0 (so an empty choice needs no special case).
 */
static inline uint64_t prng_below(struct prng *r, uint64_t n)
{
	return n ? prng_next(r) % n : 0;
}

/**
 * prng_shuffle - Fisher-Yates shuffle of @nmemb elements of @size bytes.
 * @base: the array; any element type (the swap goes byte by byte).
 */
static inline void prng_shuffle(struct prng *r, void *base, size_t nmemb, size_t size)
{
	unsigned char *v = base;

	for (size_t i = nmemb; i > 1; i--) {
		size_t j = (size_t)prng_below(r, i);
		unsigned char *a = v + (i - 1) * size, *b = v + j * size;

		for (size_t k = 0; k < size && a != b; k++) {
			unsigned char t = a[k];

			a[k] = b[k];
			b[k] = t;
		}
	}
}

#endif /* PMM_TESTS_PRNG_H */
