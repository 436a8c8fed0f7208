/* SPDX-License-Identifier: MIT */
/*
 * trace.h - USDT probes (provider "pmm") named and shaped after the
 * kernel's kmem tracepoints (include/trace/events/kmem.h), so that a
 * script written against those counts pmm's events with a provider change:
 *
 *   mm_page_alloc              pfn, order, gfp_flags, migratetype
 *                              (pfn -1: the allocation failed)
 *   mm_page_free               pfn, order
 *   mm_page_free_batched       pfn (a folio freed by folios_put_refs)
 *   mm_page_alloc_zone_locked  pfn, order, migratetype, percpu_refill
 *   mm_page_pcpu_drain         pfn, order, migratetype
 *   mm_page_alloc_extfrag      pfn, alloc_order, fallback_order,
 *                              alloc_migratetype, fallback_migratetype,
 *                              change_ownership
 *   mm_page_free_contig_chunk  pfn, order (pmm's own: one per aligned
 *                              chunk the batched contig free hands on)
 *
 * They are called where the kernel's are. Each is guarded by its USDT
 * semaphore, which a tracer (perf, bpftrace, SystemTap) raises while
 * attached: an untraced probe costs one load and a not-taken branch, and
 * its arguments (page_to_pfn() is not free) are only computed while
 * traced. Built only with PMM_USDT (CMake finds systemtap-sdt-dev's
 * <sys/sdt.h>); without it trace_enabled() is false and every trace_*()
 * below compiles to nothing. Probes read state, never change it, and take
 * no lock.
 */
#ifndef PMM_TRACE_H
#define PMM_TRACE_H

#include <stdbool.h>

#include "compiler.h"
#include "memmap.h"

#ifndef PMM_USDT
#define PMM_USDT 0
#endif

/* Every probe, once: the semaphores (trace.c) are generated from it. */
#define PMM_TRACE_EVENTS(X)                                                    \
	X(mm_page_alloc)                                                       \
	X(mm_page_free)                                                        \
	X(mm_page_free_batched)                                                \
	X(mm_page_alloc_zone_locked)                                           \
	X(mm_page_pcpu_drain)                                                  \
	X(mm_page_alloc_extfrag)                                               \
	X(mm_page_free_contig_chunk)

#if PMM_USDT
#define X(name) extern unsigned short pmm_##name##_semaphore;
PMM_TRACE_EVENTS(X)
#undef X
/*
 * Is a tracer attached to probe @name? A plain load on purpose: only the
 * kernel writes the semaphore (uprobes' reference counter), never a
 * thread of the program, and a plain load is one the compiler may hoist
 * out of a loop (the batched contig free tests it once per page). The
 * empty asm keeps it a load and a register test: the `cmpw $0` of a
 * RIP-relative address that GCC emits otherwise cannot be micro-fused
 * (an immediate and a RIP-relative operand), one micro-op more on the
 * pcp hits, which are bound by micro-ops.
 */
static __always_inline unsigned int trace_semaphore(const unsigned short *sem)
{
	unsigned int v = *sem;

	__asm__("" : "+r"(v));
	return v;
}
#define trace_enabled(name) unlikely(trace_semaphore(&pmm_##name##_semaphore))
#else
#define trace_enabled(name) false
#endif

/*
 * The probes themselves (trace.c), out of line and cold: a probe site
 * inlined into every free_pages_prepare() caller would grow each fast
 * path and, measured, stop it being inlined at all. One site per probe.
 */
#define PMM_COLD __attribute__((cold, noinline))
PMM_COLD void probe_mm_page_alloc(long pfn, unsigned int order, pmm_gfp_t gfp, int mt);
PMM_COLD void probe_mm_page_free(pmm_pfn_t pfn, unsigned int order);
PMM_COLD void probe_mm_page_free_batched(pmm_pfn_t pfn);
PMM_COLD void probe_mm_page_alloc_zone_locked(pmm_pfn_t pfn, unsigned int order, int mt,
					      int percpu_refill);
PMM_COLD void probe_mm_page_pcpu_drain(pmm_pfn_t pfn, unsigned int order, int mt);
PMM_COLD void probe_mm_page_alloc_extfrag(pmm_pfn_t pfn, unsigned int alloc_order,
					  unsigned int fallback_order, int alloc_mt,
					  int fallback_mt, int change_ownership);
PMM_COLD void probe_mm_page_free_contig_chunk(pmm_pfn_t pfn, unsigned int order);

static inline void trace_mm_page_alloc(const pmm_t *pmm, const struct pmm_page *page,
				       unsigned int order, pmm_gfp_t gfp, int mt)
{
	if (trace_enabled(mm_page_alloc))
		probe_mm_page_alloc(page ? (long)page_to_pfn(pmm, page) : -1L, order, gfp, mt);
}

static inline void trace_mm_page_free(const pmm_t *pmm, const struct pmm_page *page,
				      unsigned int order)
{
	if (trace_enabled(mm_page_free))
		probe_mm_page_free(page_to_pfn(pmm, page), order);
}

static inline void trace_mm_page_free_batched(const pmm_t *pmm, const struct pmm_page *page)
{
	if (trace_enabled(mm_page_free_batched))
		probe_mm_page_free_batched(page_to_pfn(pmm, page));
}

static inline void trace_mm_page_alloc_zone_locked(const pmm_t *pmm, const struct pmm_page *page,
						   unsigned int order, int mt, bool percpu_refill)
{
	if (trace_enabled(mm_page_alloc_zone_locked))
		probe_mm_page_alloc_zone_locked(page_to_pfn(pmm, page), order, mt, percpu_refill);
}

static inline void trace_mm_page_pcpu_drain(pmm_pfn_t pfn, unsigned int order, int mt)
{
	if (trace_enabled(mm_page_pcpu_drain))
		probe_mm_page_pcpu_drain(pfn, order, mt);
}

static inline void trace_mm_page_alloc_extfrag(const pmm_t *pmm, const struct pmm_page *page,
					       unsigned int alloc_order, unsigned int fallback_order,
					       int alloc_mt, int fallback_mt, bool change_ownership)
{
	if (trace_enabled(mm_page_alloc_extfrag))
		probe_mm_page_alloc_extfrag(page_to_pfn(pmm, page), alloc_order, fallback_order,
					    alloc_mt, fallback_mt, change_ownership);
}

static inline void trace_mm_page_free_contig_chunk(pmm_pfn_t pfn, unsigned int order)
{
	if (trace_enabled(mm_page_free_contig_chunk))
		probe_mm_page_free_contig_chunk(pfn, order);
}

#endif /* PMM_TRACE_H */
