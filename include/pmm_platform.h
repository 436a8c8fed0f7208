/* SPDX-License-Identifier: MIT */
/*
 * pmm_platform.h - what the pmm core asks of its platform: the functions
 * an embedder fills to run pmm without libc (an OS kernel, a unikernel,
 * firmware). The hosted library brings its own (src/os.c, for Linux and
 * glibc); a freestanding build compiles every file of src/ but os.c and print.c
 * with -ffreestanding -nostdlib and links against the embedder's.
 *
 * Besides these, the core calls memcpy, memmove, memset and memcmp, which
 * GCC and Clang require of every freestanding environment, and, on
 * targets without native atomics of some width, the compiler's atomic
 * helpers. scripts/check_freestanding.sh checks (nm -u) that nothing else
 * is referenced and drives such a build through tests/freestanding/.
 *
 * Every function may be called from any thread that calls into pmm, with
 * pmm spinlocks held (so none may call back into pmm), and must not fail
 * except where its return says how.
 */
#ifndef PMM_PLATFORM_H
#define PMM_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Zeroed memory: @size bytes (any size), or NULL; pmm_os_unmap() gets
 * the same pointer and size back. The memmap, zone arrays and per-CPU
 * lists come from here unless struct pmm_config's meta_alloc is set, and
 * so do PMM_BACKING_ANON's frames. A memmap can be large (64 bytes per
 * frame) and is touched as frames are: memory committed on first touch
 * suits it best.
 */
void *pmm_os_map_anon(size_t size);
void pmm_os_unmap(void *p, size_t size);

/*
 * The CPU this thread runs on: a hint that picks the per-CPU page lists
 * (any value works: it is taken modulo nr_cpus; a wrong one only costs
 * locality). Called on every allocation and free unless the config's
 * cpu_fn is set: keep it to a few instructions.
 */
unsigned int pmm_os_getcpu(void);
/* CPUs online, >= 1: the default nr_cpus. */
unsigned int pmm_os_online_cpus(void);

/*
 * Locks: pmm's spinlocks are its own (C11 atomics); a contended one spins
 * a while, then calls pmm_os_yield() to let the holder run.
 * pmm_os_thread_marker() returns an address unique to the calling thread
 * (any thread-local object's): debug builds assert lock ownership with it,
 * and an address space's reclaim recognises its own thread.
 * pmm_os_thread_flags() returns the calling thread's own word, zero when the
 * thread starts, that only pmm reads and writes (the kernel's
 * current->flags: pmm keeps PF_MEMALLOC there while the thread reclaims).
 */
void pmm_os_yield(void);
const void *pmm_os_thread_marker(void);
unsigned long *pmm_os_thread_flags(void);

/* Monotonic time in nanoseconds: timeouts, rate limits and timed statistics. */
uint64_t pmm_os_now_ns(void);

/* The default log sink: one line, no newline (struct pmm_config's log_fn overrides it). */
void pmm_os_log(const char *line);

/* Debug builds (PMM_DEBUG >= 1) only: a failed internal assertion; must not return. */
void pmm_os_assert_fail(const char *expr, const char *file, int line);

#ifdef __cplusplus
}
#endif

#endif /* PMM_PLATFORM_H */
