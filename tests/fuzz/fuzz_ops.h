/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ops.h - the model-based fuzz target shared by the libFuzzer entry
 * (fuzz_main.c) and the deterministic ctest runner (replay.c).
 *
 * Input format (every byte string is valid; missing bytes read as 0):
 *   byte 0      layout: FZ_NR_LAYOUTS small instances (holes, pfn 0, small
 *               sections, two zones, two nodes, tiny max_order, 64 KiB pages,
 *               zone and node boundaries inside max-order blocks, metadata
 *               too unaligned for the memmap's placement table), the
 *               whole byte modulo the count; bit 7 also gives the
 *               instance a small vmalloc window (FZ_VM_SMALL_PAGES, a
 *               lazy purge every FZ_VM_SMALL_LAZY pages) instead of the
 *               default 4 x managed memory; bit 6 full page checks
 *               (PMM_CHECK_PAGES_FULL) instead of kernel ones, and the
 *               real CPU picks the pcp (no cpu_fn): with two CPUs, the
 *               rseq fast path
 *   byte 1      knobs: bit 0 vmemmap, bits 1 and 7 backing (NONE, MEMFD,
 *               USER, ANON), bit 2 pcp off, bit 3 two CPUs, bit 4
 *               contig_per_page, bits 5-6 pcp batch/high preset
 *   then records of FZ_REC bytes: opcode + 7 parameters, at most
 *   FZ_MAX_OPS of them.
 * Layout, opcode and bad-input selectors below their counts keep their
 * meaning as entries are appended (larger values wrap modulo the count):
 * append new operations and bad inputs at the end of their lists.
 */
#ifndef PMM_FUZZ_OPS_H
#define PMM_FUZZ_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FZ_NR_LAYOUTS 12
#define FZ_REC 8
#define FZ_MAX_OPS 200
#define FZ_VM_SMALL_PAGES 1024
#define FZ_VM_SMALL_LAZY 128

/* X(name): one list for the enum, the names and the dispatch to fz_op_NAME(). */
#define FZ_OPS(X)                                                              \
	X(ALLOC)	/* pmm_alloc_pages / _node, any gfp, sometimes a bad order */ \
	X(FREE)		/* pmm_free_pages (right order) or folio put */        \
	X(GET)		/* pmm_get_page on a held page */                      \
	X(PUT)		/* pmm_put_page on a held page */                      \
	X(SPLIT)	/* pmm_split_page of a non-compound block */           \
	X(EXACT)	/* pmm_alloc_pages_exact_pfn / pmm_alloc_pages_exact */ \
	X(FREE_RANGE)	/* pmm_free_contig_range of order-0 runs, extra refs */ \
	X(ALLOC_BULK)	/* pmm_alloc_pages_bulk with pre-filled slots */       \
	X(FREE_BULK)	/* pmm_free_pages_bulk, sorted or shuffled, NULL slots */ \
	X(CONTIG_RANGE)	/* pmm_alloc_contig_range / _frozen_range */           \
	X(FREE_FROZEN)	/* pmm_free_contig_frozen_range */                     \
	X(CONTIG_PAGES)	/* pmm_alloc_contig_pages */                           \
	X(FOLIO_ALLOC)	/* pmm_folio_alloc */                                  \
	X(FOLIO_GET)	/* pmm_folio_get / get_page on a tail */               \
	X(FOLIO_PUT)	/* pmm_folio_put_refs */                               \
	X(DRAIN)	/* pmm_drain_all_pages */                              \
	X(SET_CPU)	/* which pcp set the next calls use */                 \
	X(BAD)		/* bad input: reported; changes nothing it should not */ \
	X(FAULT)	/* pmm_fault_set: one injected page/metadata failure */ \
	X(SHRINKER)	/* pmm_register_shrinker: reclaim frees model handles */ \
	X(MM_CREATE)	/* pmm_mm_create: gather mode, mapcount model, TLB callback */ \
	X(MM_MAP)	/* pmm_mm_map_anon: order 0..9, pages to MiB, POPULATE, WRITE */ \
	X(MM_FAULT)	/* pmm_mm_fault: read or write, in or outside a VMA */ \
	X(MM_ACCESS)	/* pmm_mm_access: a tag written and read back */       \
	X(MM_FORK)	/* pmm_mm_fork: folios shared write-protected */       \
	X(MM_UNMAP)	/* pmm_mm_unmap: partial, across VMAs, unmapped space */ \
	X(MM_SWAPCACHE)	/* pmm_mm_swapcache_add of a range */                  \
	X(MM_SCAN)	/* pmm_deferred_split_scan, a few or all */            \
	X(MM_DRAIN)	/* pmm_lru_add_drain (and pmm_drain_all_pages) */      \
	X(MM_DESTROY)	/* pmm_mm_destroy: exit */                             \
	X(FREE_ADJACENT) /* one contig/bulk/frozen free over adjacent handles */ \
	X(GATHER)	/* the public pmm_gather_*: references of held folios */ \
	X(VMALLOC)	/* pmm_vmalloc / vzalloc / huge / node / node_range, 1..600 pages */ \
	X(VFREE)	/* pmm_vfree of a live area (vmalloc or vmap) */       \
	X(VMAP)		/* pmm_vmap of held order-0 pages, PMM_VMAP_PUT_PAGES or not */ \
	X(VUNMAP)	/* pmm_vunmap of a live vmap area */                   \
	X(VPURGE)	/* pmm_vmalloc_purge, pmm_vmalloc_info checked against the model */

enum fz_op {
#define FZ_OP_ENUM(name) FZ_##name,
	FZ_OPS(FZ_OP_ENUM)
#undef FZ_OP_ENUM
	FZ_NR_OPS
};

/* Kinds of deliberate bad input (parameter 0 of FZ_BAD), each handled by fz_bad_NAME(). */
#define FZ_BADS(X)                                                             \
	X(DOUBLE_FREE)	/* free a block, then free it again */                 \
	X(WRONG_ORDER)	/* pmm_free_pages with another order */                \
	X(PUT_FREE)	/* pmm_put_page on a free frame */                     \
	X(GET_FREE)	/* pmm_get_page on a free frame */                     \
	X(FOREIGN_RANGE) /* free_contig_range over unmanaged pfns */           \
	X(RANGE_FREE)	/* free_contig_range over free frames */               \
	X(SPLIT_FOLIO)	/* pmm_split_page on a folio */                        \
	X(RANGE_FOLIO)	/* free_contig_range at a folio head */                \
	X(FOLIO_OVERPUT) /* folio_put_refs with more refs than held */         \
	X(FROZEN_HELD)	/* free_contig_frozen_range on referenced pages */     \
	X(RANGE_FROZEN)	/* free_contig_range on frozen pages */                \
	X(FREE_TAIL)	/* pmm_free_pages on a folio tail */                   \
	X(FAKE_PAGE)	/* a page pointer that is not the instance's */        \
	X(BULK_DUP)	/* free_pages_bulk with a page given twice */          \
	X(PUT_FROZEN)	/* pmm_put_page on a frozen page */                    \
	X(SPLIT_ORDER)	/* pmm_split_page with the wrong order */              \
	X(GET_TAIL)	/* pmm_get_page on a tail of a non-compound block */   \
	X(EXACT_FOREIGN) /* pmm_free_pages_exact on an address outside the map */ \
	X(RANGE_BLOCK)	/* free_contig_range / free_pages_bulk on an unsplit block */ \
	X(RANGE_MIXED)	/* an order-0 page, then a folio or block head, in one range */ \
	X(RANGE_EDGE)	/* a range from below min_pfn / past max_pfn into held pages */ \
	X(MM_UNALIGNED)	/* map/unmap/swapcache_add of an unaligned or empty range */ \
	X(MM_WRAP)	/* ... of a range whose end wraps past 2^64 */         \
	X(MM_OUT_OF_RANGE) /* ... and faults, accesses, lookups at or past 2^47 */ \
	X(MM_ORDER)	/* map_anon above min(pageblock_order, 9) or with an unknown flag */ \
	X(MM_OVERLAP)	/* map_anon over (part of) a VMA */                    \
	X(MM_NO_VMA)	/* a fault or access outside every VMA */              \
	X(MM_WRITE_RO)	/* a write fault or access on a read-only VMA */       \
	X(MM_NULL)	/* NULL mm or out pointer, bad mm config, no such node */ \
	X(GATHER_FOREIGN) /* pmm_gather_add of a foreign, free or frozen page */ \
	X(GATHER_NR0)	/* pmm_gather_add of 0 pages */                        \
	X(GATHER_PAST_FOLIO) /* pmm_gather_add of a run past its folio */     \
	X(VFREE_INNER)	/* pmm_vfree / pmm_vunmap of an address inside an area */ \
	X(VFREE_TWICE)	/* pmm_vfree (or vunmap) of an area, then again */     \
	X(VUNMAP_VMALLOC) /* pmm_vunmap of a pmm_vmalloc() area */             \
	X(VFREE_FOREIGN) /* pmm_vfree / vunmap of a pointer outside the window (NULL: ignored) */ \
	X(VMAP_BAD_PAGE) /* pmm_vmap of a free, frozen, foreign or NULL page; no pages; a bad flag */ \
	X(MM_OVERPUT)	/* every reference of a mapped folio dropped by puts */

enum fz_bad {
#define FZ_BAD_ENUM(name) FZ_BAD_##name,
	FZ_BADS(FZ_BAD_ENUM)
#undef FZ_BAD_ENUM
	FZ_NR_BAD
};

/* How often each operation ran and succeeded, over every call (seed search, reports). */
struct pmm_fuzz_counts {
	unsigned long inputs, ops;
	unsigned long ok[FZ_NR_OPS];	/* the call did something (allocated, freed, ...) */
	unsigned long fail[FZ_NR_OPS];	/* allocation failed (plausibly) or nothing to act on */
	unsigned long bad[FZ_NR_BAD];	/* bad inputs actually issued */
	unsigned long shrinks;		/* shrinker callbacks the allocator made */
};
extern struct pmm_fuzz_counts pmm_fuzz_counts;

const char *pmm_fuzz_op_name(int op);
const char *pmm_fuzz_bad_name(int bad);

/*
 * pmm_fuzz_one - build an instance from @data, run its operations against
 * the shadow model, free everything and compare with the fresh instance.
 * @verbose: print every operation and the violation, if any, to stderr.
 * Return: 0, or 1 on a violation (the model and the library disagree).
 */
int pmm_fuzz_one(const uint8_t *data, size_t size, bool verbose);

#endif /* PMM_FUZZ_OPS_H */
