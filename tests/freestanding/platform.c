/* SPDX-License-Identifier: MIT */
/*
 * platform.c - an embedder's platform layer (include/pmm_platform.h) for
 * the freestanding core, as a unikernel would write one, here on top of
 * Linux so that the test can run it. Metadata comes from one arena carved
 * at start (no mmap per request), the CPU from sched_getcpu(), time from
 * CLOCK_MONOTONIC, the log into a counter and stderr. Every call is
 * counted so that the test can see the core used this layer and gave back
 * every byte it took.
 */
#define _GNU_SOURCE
#include "platform.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct platform_counts platform;

/*
 * The metadata arena: reserved NORESERVE, so pages are committed as the
 * memmap touches them, handed out by a bump pointer; freed bytes are only
 * counted (a real embedder would recycle them).
 */
static char *arena;
static size_t arena_size, arena_used;
static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;

int platform_init(size_t meta_bytes)
{
	arena_size = meta_bytes;
	arena = mmap(NULL, arena_size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return arena == MAP_FAILED ? -1 : 0;
}

void platform_exit(void)
{
	munmap(arena, arena_size);
}

void *pmm_os_map_anon(size_t size)
{
	size_t need = (size + 63) & ~(size_t)63;	/* cache-line aligned, as mmap's would be */
	void *p = NULL;

	pthread_mutex_lock(&arena_lock);
	if (arena_size - arena_used >= need) {
		p = arena + arena_used;
		arena_used += need;
		platform.map_calls++;
		platform.bytes_live += size;
	}
	pthread_mutex_unlock(&arena_lock);
	return p;	/* zeroed: never handed out before */
}

void pmm_os_unmap(void *p, size_t size)
{
	if (!p)
		return;
	pthread_mutex_lock(&arena_lock);
	platform.unmap_calls++;
	platform.bytes_live -= size;
	pthread_mutex_unlock(&arena_lock);
}

unsigned int pmm_os_getcpu(void)
{
	int cpu = sched_getcpu();

	__atomic_fetch_add(&platform.getcpu_calls, 1, __ATOMIC_RELAXED);
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

static _Thread_local char marker;

const void *pmm_os_thread_marker(void)
{
	return &marker;
}

static _Thread_local unsigned long thread_flags;

unsigned long *pmm_os_thread_flags(void)
{
	return &thread_flags;
}

uint64_t pmm_os_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void pmm_os_log(const char *line)
{
	__atomic_fetch_add(&platform.log_lines, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "platform log: %s\n", line);
}

void pmm_os_assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "platform: pmm assertion failed: %s at %s:%d\n", expr, file, line);
	abort();
}
