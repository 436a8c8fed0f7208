/* SPDX-License-Identifier: MIT */
/*
 * test_fmt.c - fmt_snprintf() (src/fmt.c, the core's libc-free
 * formatter) prints what glibc's snprintf() prints, for every conversion,
 * flag, width, precision and length the core uses, including truncation
 * and the return value; then seeded random numbers through each format.
 */
#include "testutil.h"
#include "fmt.h"

#include <stdio.h>
#include <string.h>

#define CHECK(...)                                                             \
	do {                                                                   \
		char want[128], got[128];                                      \
		int wn = snprintf(want, sizeof(want), __VA_ARGS__);            \
		int gn = fmt_snprintf(got, sizeof(got), __VA_ARGS__);          \
		assert_string_equal(got, want);                                \
		assert_int_equal(gn, wn);                                      \
	} while (0)

static void test_conversions(void **state)
{
	int x = 42;

	(void)state;
	CHECK("plain text");
	CHECK("%d %i %d %d", 0, -1, 2147483647, -2147483647 - 1);
	CHECK("%u %lu %llu %zu", 0u, 123456789ul, 18446744073709551615ull, (size_t)77);
	CHECK("%ld %lld %jd %td", -5l, -9223372036854775807ll - 1, (intmax_t)-3, (ptrdiff_t)-4);
	CHECK("%x %X %#x %#X %#llx %#x", 0xbeefu, 0xbeefu, 0xbeefu, 0xbeefu, 0x123456789abcull, 0u);
	CHECK("%o %#o %#o", 8u, 8u, 0u);
	CHECK("%hhu %hhd %hu %hd", 300, 200, 70000, 40000);
	CHECK("[%5d] [%-5d] [%05d] [%+d] [% d] [%+05d]", 42, 42, 42, 42, 42, -42);
	CHECK("[%8s] [%-8s] [%.3s] [%8.3s] [%-8.3s|]", "abc", "abc", "abcdef", "abcdef", "abcdef");
	CHECK("[%*d] [%-*d] [%.*s] [%*s]", 6, 1, 6, 1, 2, "xyz", -4, "ab");
	CHECK("[%.0d] [%.3d] [%5.3d] [%.0u] [%-6.2x]", 0, 7, 7, 0u, 0xau);
	CHECK("[%c] [%3c] [%-3c] %%", 'a', 'b', 'c');
	CHECK("%p %p %18p", (void *)&x, NULL, (void *)0x1000);
	CHECK("%#018llx-%#018llx %8llu", 0x7f0000000000ull, 0x7f0000001000ull, 4096ull);
	CHECK("%-16s %12llu  %s", "pgalloc", 12345ull, "pages allocated");
	CHECK("%s", "");
}

static void test_truncation(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%s-%d", "abcdef", 12345), 12);
	assert_string_equal(buf, "abcdef-");
	assert_int_equal(fmt_snprintf(buf, 1, "%d", 5), 1);
	assert_string_equal(buf, "");
	buf[0] = 'q';
	assert_int_equal(fmt_snprintf(buf, 0, "%d", 12345), 5);
	assert_int_equal(buf[0], 'q');	/* size 0: nothing stored */
}

static void test_random_numbers(void **state)
{
	struct prng r;

	(void)state;
	tu_rng_init(&r, "fmt", 0);
	for (int i = 0; i < 20000; i++) {
		uint64_t v = prng_next(&r) >> (prng_next(&r) % 64);
		switch (i % 5) {
		case 0: CHECK("%d|%5d|%-5d|%05d", (int)v, (int)v, (int)v, (int)v); break;
		case 1: CHECK("%u|%x|%#x|%o", (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v); break;
		case 2: CHECK("%lu|%#lx|%10lu", (unsigned long)v, (unsigned long)v, (unsigned long)v); break;
		case 3: CHECK("%llu|%#llx|%.12llx", (unsigned long long)v, (unsigned long long)v,
			      (unsigned long long)v); break;
		default: CHECK("%zu|%zx|%+d", (size_t)v, (size_t)v, (int)v); break;
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conversions),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_random_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
