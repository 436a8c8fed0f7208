/* SPDX-License-Identifier: MIT */
/*
 * os.h - what pmm asks of the operating system: memory for metadata and
 * the direct map, the current CPU, time, yielding and the default log
 * sink. os.c implements it for Linux/glibc; a freestanding build supplies
 * its own. Nothing else in src/ includes a system header.
 */
#ifndef PMM_OS_H
#define PMM_OS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/rseq.h>	/* os_getcpu(): glibc's per-thread rseq area */

#include "compiler.h"


void *os_map_anon(size_t size);		/* zeroed, NORESERVE; NULL on failure */
void os_unmap(void *p, size_t size);
int os_memfd_map(size_t size, int *fd, void **addr);
void os_memfd_unmap(int fd, void *addr, size_t size);
void os_advise_hugepage(void *p, size_t size);
void *os_reserve(size_t size);		/* PROT_NONE address space; NULL on failure */
int os_map_memfd_fixed(void *addr, size_t len, int fd, uint64_t offset);	/* 0 or -1 */
int os_reserve_fixed(void *addr, size_t len);	/* back to PROT_NONE; 0 or -1 */
unsigned int os_getcpu_slow(void);

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
	return os_getcpu_slow();
}
unsigned int os_online_cpus(void);
void os_yield(void);
uint64_t os_now_ns(void);
void os_log_stderr(const char *line);

#endif /* PMM_OS_H */
