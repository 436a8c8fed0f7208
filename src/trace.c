/* SPDX-License-Identifier: MIT */
/*
 * trace.c - the USDT probe sites and their semaphores (trace.h). A tracer
 * finds each probe through its ELF note (readelf -n) and counts itself
 * into the probe's semaphore while attached; the semaphores live in
 * .probes, where sdt.h's tools expect them, hidden like every other
 * symbol: nothing links against them.
 */
#include "trace.h"

#if PMM_USDT
#define _SDT_HAS_SEMAPHORES 1	/* sdt.h: is-enabled probes */
#define SDT_USE_VARIADIC 1	/* sdt.h: STAP_PROBEV */
#include <sys/sdt.h>

#define X(name) unsigned short pmm_##name##_semaphore __attribute__((section(".probes")));
PMM_TRACE_EVENTS(X)
#undef X
#define PROBE(name, ...) STAP_PROBEV(pmm, name, __VA_ARGS__)
#else
/* Never called: trace_enabled() is false. Uses the arguments, for -Wextra. */
static inline void probe_none(int nargs, ...)
{
	(void)nargs;
}
#define PROBE(name, ...) probe_none(0, __VA_ARGS__)
#endif

void probe_mm_page_alloc(long pfn, unsigned int order, pmm_gfp_t gfp, int mt)
{
	PROBE(mm_page_alloc, pfn, order, gfp, mt);
}

void probe_mm_page_free(pmm_pfn_t pfn, unsigned int order)
{
	PROBE(mm_page_free, pfn, order);
}

void probe_mm_page_free_batched(pmm_pfn_t pfn)
{
	PROBE(mm_page_free_batched, pfn);
}

void probe_mm_page_alloc_zone_locked(pmm_pfn_t pfn, unsigned int order, int mt,
				     int percpu_refill)
{
	PROBE(mm_page_alloc_zone_locked, pfn, order, mt, percpu_refill);
}

void probe_mm_page_pcpu_drain(pmm_pfn_t pfn, unsigned int order, int mt)
{
	PROBE(mm_page_pcpu_drain, pfn, order, mt);
}

void probe_mm_page_alloc_extfrag(pmm_pfn_t pfn, unsigned int alloc_order,
				 unsigned int fallback_order, int alloc_mt, int fallback_mt,
				 int change_ownership)
{
	PROBE(mm_page_alloc_extfrag, pfn, alloc_order, fallback_order, alloc_mt, fallback_mt,
	      change_ownership);
}

void probe_mm_page_free_contig_chunk(pmm_pfn_t pfn, unsigned int order)
{
	PROBE(mm_page_free_contig_chunk, pfn, order);
}
