/* SPDX-License-Identifier: MIT */
/* platform.h - the test platform layer's counters (platform.c). */
#ifndef PMM_TEST_PLATFORM_H
#define PMM_TEST_PLATFORM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "pmm_platform.h"

struct platform_counts {
	uint64_t map_calls, unmap_calls;	/* pmm_os_map_anon / pmm_os_unmap */
	int64_t bytes_live;			/* mapped and not yet given back */
	uint64_t getcpu_calls;
	uint64_t log_lines;
};
extern struct platform_counts platform;

/* Reserve the metadata arena; 0 or -1. */
int platform_init(size_t meta_bytes);
void platform_exit(void);

#endif /* PMM_TEST_PLATFORM_H */
