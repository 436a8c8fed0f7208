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

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "pmm_platform.h"

#if __STDC_HOSTED__
#include <sys/rseq.h>	/* os_getcpu(): glibc's per-thread rseq area */

int pmm_os_memfd_map(size_t size, int *fd, void **addr);	/* 0 or -1 */
void pmm_os_memfd_unmap(int fd, void *addr, size_t size);
void pmm_os_advise_hugepage(void *p, size_t size);
void *pmm_os_reserve(size_t size);	/* PROT_NONE address space; NULL on failure */
int pmm_os_map_memfd_fixed(void *addr, size_t len, int fd, uint64_t offset);	/* 0 or -1 */
int pmm_os_reserve_fixed(void *addr, size_t len);	/* back to PROT_NONE; 0 or -1 */

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
#endif

#endif /* PMM_OS_H */
