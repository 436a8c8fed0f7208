/* SPDX-License-Identifier: MIT */
/*
 * skewed_meta.h - a metadata allocator (cfg.meta_alloc / meta_free) whose
 * blocks start 64 bytes into their mapping: aligned for struct pages, too
 * little aligned for the memmap's placement table, so an instance built on
 * it places caller pointers by the binary search over its memmap chunks.
 *
 * Header-only (static inline, no state), needing nothing but mmap: the
 * tests and the fuzzer share it.
 */
#ifndef PMM_TESTS_SKEWED_META_H
#define PMM_TESTS_SKEWED_META_H

#include <stddef.h>
#include <sys/mman.h>

#include "pmm.h"

#define SKEWED_META_OFFSET 64

static inline void *skewed_meta_alloc(void *arg, size_t size)
{
	char *p = mmap(NULL, size + 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	(void)arg;
	return p == MAP_FAILED ? NULL : p + SKEWED_META_OFFSET;
}

static inline void skewed_meta_free(void *arg, void *p, size_t size)
{
	(void)arg;
	munmap((char *)p - SKEWED_META_OFFSET, size + 4096);
}

/* Route @cfg's metadata through the skewed allocator. */
static inline void skewed_meta_install(struct pmm_config *cfg)
{
	cfg->meta_alloc = skewed_meta_alloc;
	cfg->meta_free = skewed_meta_free;
	cfg->meta_arg = NULL;
}

#endif /* PMM_TESTS_SKEWED_META_H */
