/* SPDX-License-Identifier: MIT */
/*
 * os.c - everything pmm asks of the operating system, for Linux and glibc,
 * in one file: the platform of include/pmm_platform.h (anonymous memory,
 * the CPU, time, yield, the thread marker, the default log sink) and the
 * hosted extras of os.h (the memfd direct map, the vmalloc window). A
 * freestanding build leaves this file out and links the embedder's.
 */
#define _GNU_SOURCE
#include "os.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HUGE_2M (2ul << 20)

void *pmm_os_map_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Metadata: pmm_os_map_anon(), but a mapping of 2 MiB or more (a
 * section's memmap is 2 MiB) is placed on a 2 MiB boundary and advised for
 * transparent huge pages, as the kernel maps its vmemmap with PMDs: a
 * random free reads one struct page, and with 4 KiB pages that read is a
 * TLB miss as well as a cache miss (docs/benchmarks.md, the random case).
 */
void *pmm_os_map_meta(size_t size)
{
	size_t span = size >= HUGE_2M ? size + HUGE_2M : size;
	char *p = mmap(NULL, span, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *start;

	if (p == MAP_FAILED)
		return NULL;
	if (span == size)
		return p;
	start = (char *)(((uintptr_t)p + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1));
	if (start > p)
		munmap(p, (size_t)(start - p));
	if (p + span > start + size)
		munmap(start + size, (size_t)(p + span - (start + size)));
	(void)madvise(start, size, MADV_HUGEPAGE);
	return start;
}

void pmm_os_unmap(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

/*
 * The vmalloc window: address space only (PROT_NONE, no memory committed),
 * so that an area's address faults until its frames are mapped there.
 */
void *pmm_os_reserve(size_t size)
{
	void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Map @len bytes of the memfd at @offset over [@addr, @addr + @len) of a reservation. */
int pmm_os_map_memfd_fixed(void *addr, size_t len, int fd, uint64_t offset)
{
	void *p = mmap(addr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_NORESERVE,
		       fd, (off_t)offset);

	return p == MAP_FAILED ? -1 : 0;
}

/* Return [@addr, @addr + @len) to the reservation: one call unmaps whatever was mapped there. */
int pmm_os_reserve_fixed(void *addr, size_t len)
{
	void *p = mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		       -1, 0);

	return p == MAP_FAILED ? -1 : 0;
}

/* A memfd of @size bytes mapped shared: the instance's "physical" memory. */
int pmm_os_memfd_map(size_t size, int *fd, void **addr)
{
	int f = memfd_create("pmm", MFD_CLOEXEC);
	void *p;

	if (f < 0)
		return -1;
	if (ftruncate(f, (off_t)size) < 0)
		goto fail;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, f, 0);
	if (p == MAP_FAILED)
		goto fail;
	*fd = f;
	*addr = p;
	return 0;
fail:
	close(f);
	return -1;
}

void pmm_os_memfd_unmap(int fd, void *addr, size_t size)
{
	if (addr)
		munmap(addr, size);
	if (fd >= 0)
		close(fd);
}

int pmm_os_rseq_register(void)
{
	return syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) ? -1 : 0;
}

int pmm_os_rseq_fence(unsigned int cpu)
{
	return syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
		       MEMBARRIER_CMD_FLAG_CPU, (int)cpu) ? -1 : 0;
}

void pmm_os_rseq_fence_all(void)
{
	(void)syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0);
}

unsigned int pmm_os_possible_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);

	return n < 1 ? 1 : (unsigned int)n;
}

void pmm_os_advise_hugepage(void *p, size_t size)
{
	(void)madvise(p, size, MADV_HUGEPAGE);
}

/* The CPU without an rseq area (glibc < 2.35, or rseq disabled): os_getcpu()'s fallback. */
unsigned int pmm_os_getcpu(void)
{
	int cpu = sched_getcpu();

	return cpu < 0 ? 0 : (unsigned int)cpu;
}

unsigned int pmm_os_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (unsigned int)n;
}

void pmm_os_yield(void)
{
	sched_yield();
}

uint64_t pmm_os_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void pmm_os_log(const char *line)
{
	fprintf(stderr, "pmm: %s\n", line);
}

void pmm_os_assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "pmm: assertion failed: %s at %s:%d\n", expr, file, line);
	abort();
}

/* Any per-thread address identifies the thread for lock-owner asserts. */
static _Thread_local char thread_marker;

const void *pmm_os_thread_marker(void)
{
	return &thread_marker;
}

static _Thread_local unsigned long thread_flags;

unsigned long *pmm_os_thread_flags(void)
{
	return &thread_flags;
}
