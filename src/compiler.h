/* SPDX-License-Identifier: MIT */
/* compiler.h - branch hints and alignment, the little the compiler is told. */
#ifndef PMM_COMPILER_H
#define PMM_COMPILER_H

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define PMM_CACHELINE 64
#define PMM_ALIGNED __attribute__((aligned(PMM_CACHELINE)))

#endif /* PMM_COMPILER_H */
