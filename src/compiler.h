/* SPDX-License-Identifier: MIT */
/* compiler.h - branch hints, alignment and single-copy accesses: the little the compiler is told. */
#ifndef PMM_COMPILER_H
#define PMM_COMPILER_H

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * READ_ONCE / WRITE_ONCE - a word another thread may access at the same
 * time without the lock that orders it (kernel READ_ONCE()): a relaxed
 * atomic access, so neither torn nor a data race; a plain move on x86.
 */
#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* For the few fast-path helpers the compiler would otherwise outline (glibc defines it too). */
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/*
 * memcpy, memmove, memset and memcmp: the four functions GCC and Clang may
 * call even from freestanding code, so every environment has them: libc's
 * in a hosted build, the platform's in a freestanding one.
 */
#if __STDC_HOSTED__
#include <string.h>
#else
#include <stddef.h>
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *s, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
#endif

#define PMM_CACHELINE 64
#define PMM_ALIGNED __attribute__((aligned(PMM_CACHELINE)))

#endif /* PMM_COMPILER_H */
