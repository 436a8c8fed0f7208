/* SPDX-License-Identifier: MIT */
/*
 * os.h - what pmm asks of the operating system. The platform's part, which
 * a freestanding embedder fills, is include/pmm_platform.h; os.c implements
 * it and the rest below for Linux and glibc. Nothing else in src/ includes
 * a system header.
 *
 * A freestanding build (-ffreestanding: __STDC_HOSTED__ is 0) has no memfd
 * and no address space to reserve: PMM_BACKING_MEMFD and the vmalloc
 * window fail with -PMM_EBACKING there (the stubs below), and the CPU id
 * comes from pmm_os_getcpu() alone.
 */
#ifndef PMM_OS_H
#define PMM_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "pmm_platform.h"

struct rseq;	/* Linux's per-thread rseq area (<sys/rseq.h>) */

#if __STDC_HOSTED__
#include <sys/rseq.h>	/* os_getcpu(): glibc's per-thread rseq area */

void *pmm_os_map_meta(size_t size);	/* pmm_os_map_anon, huge-page aligned from 2 MiB */
int pmm_os_memfd_map(size_t size, int *fd, void **addr);	/* 0 or -1 */
void pmm_os_memfd_unmap(int fd, void *addr, size_t size);
void pmm_os_advise_hugepage(void *p, size_t size);
void *pmm_os_reserve(size_t size);	/* PROT_NONE address space; NULL on failure */
int pmm_os_map_memfd_fixed(void *addr, size_t len, int fd, uint64_t offset);	/* 0 or -1 */
int pmm_os_reserve_fixed(void *addr, size_t len);	/* back to PROT_NONE; 0 or -1 */
/*
 * The rseq pcp fast path's two system services (pcp_rseq.h): register the
 * process for rseq fences (membarrier REGISTER_PRIVATE_EXPEDITED_RSEQ),
 * and fence one CPU: when it returns, no thread of the process is inside
 * an rseq critical section on @cpu that began before the call. Possible
 * CPUs: every cpu_id the kernel can report is below this.
 */
int pmm_os_rseq_register(void);		/* 0 or -1 */
int pmm_os_rseq_fence(unsigned int cpu);	/* 0 or -1 */
void pmm_os_rseq_fence_all(void);		/* every CPU, if one would not do */
unsigned int pmm_os_possible_cpus(void);

/* This thread's rseq area (glibc registers one per thread), or NULL. */
static inline struct rseq *os_rseq_area(void)
{
	if (!__rseq_size)
		return NULL;
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

/*
 * Where every thread's rseq area is from its thread pointer, fixed at
 * startup: the rseq sections (pcp_rseq.h) address the area through the
 * thread's segment with it, cached in pmm->rseq_off. Read without a test:
 * pmm_create() chose rseq mode only where the C library registers areas
 * (__rseq_size is fixed at startup too). A thread whose own registration
 * failed has a cpu_id above every CPU, and the sections bail out on it.
 */
static inline long os_rseq_offset(void)
{
	return (long)__rseq_offset;
}

/* Has the C library registered this thread's area with the kernel? */
static inline bool os_rseq_registered(void)
{
	const struct rseq *rs = os_rseq_area();

	return rs && (int32_t)__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED) >= 0;
}

/*
 * os_getcpu - the CPU this thread runs on. glibc (>= 2.35) registers an
 * rseq area for every thread whose cpu_id the kernel keeps current: one
 * load from the thread pointer. Only a hint (the thread may migrate right
 * after), which is all pcp selection needs. Inline: two per alloc+free.
 */
static inline unsigned int os_getcpu(void)
{
	if (likely(__rseq_size)) {
		const struct rseq *rs = (const struct rseq *)((char *)__builtin_thread_pointer() +
							     __rseq_offset);
		int cpu = (int)__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED);

		if (likely(cpu >= 0))
			return (unsigned int)cpu;
	}
	return pmm_os_getcpu();
}
#else
static inline void *pmm_os_map_meta(size_t size)
{
	return pmm_os_map_anon(size);
}

static inline int pmm_os_memfd_map(size_t size, int *fd, void **addr)
{
	return -1;
}

static inline void pmm_os_memfd_unmap(int fd, void *addr, size_t size)
{
}

static inline void pmm_os_advise_hugepage(void *p, size_t size)
{
}

static inline void *pmm_os_reserve(size_t size)
{
	return NULL;
}

static inline int pmm_os_map_memfd_fixed(void *addr, size_t len, int fd, uint64_t offset)
{
	return -1;
}

static inline int pmm_os_reserve_fixed(void *addr, size_t len)
{
	return -1;
}

static inline unsigned int os_getcpu(void)
{
	return pmm_os_getcpu();
}

/* No rseq without Linux: the pcp fast path keeps its trylock. */
static inline struct rseq *os_rseq_area(void)
{
	return NULL;
}

static inline long os_rseq_offset(void)
{
	return 0;
}

static inline bool os_rseq_registered(void)
{
	return false;
}

static inline int pmm_os_rseq_register(void)
{
	return -1;
}

static inline int pmm_os_rseq_fence(unsigned int cpu)
{
	return -1;
}

static inline void pmm_os_rseq_fence_all(void)
{
}

static inline unsigned int pmm_os_possible_cpus(void)
{
	return pmm_os_online_cpus();
}
#endif

#endif /* PMM_OS_H */
