/* SPDX-License-Identifier: MIT */
/*
 * pcp_rseq.h - the order-0 pcp fast path without a locked instruction:
 * restartable sequences (rseq), as tcmalloc's per-CPU caches.
 *
 * In rseq mode (pmm->pcp_rseq, chosen at create) each pcp keeps its
 * order-0 pages, and its pageblock_order blocks, per migratetype, in an
 * array (struct pcp_rseq_list) in place of those lists (the array index
 * @oi: pcp_rseq_oi()). Allocation pops the top slot, free pushes
 * one, each in a critical section the kernel restarts (at the abort
 * handler, which retries) if the thread is preempted, migrated or
 * signalled inside it. The section reads the CPU from the thread's rseq
 * area, finds that CPU's pcp, bails out if its lock is held, and ends in
 * a single store of the list's word (the commit): count in bits 0-11,
 * pops in 12-33, pushes in 34-55, the pushes that were batched contig
 * chunks in 56-63, so the pcp statistics stay exact without a second
 * store. A push writes its slot (above count: nobody reads it) before the
 * commit.
 *
 * Everything else on the list runs under pcp->lock, and pcp_lock()
 * (pcp.c) makes the lock exclusive of the sections too: a section on the
 * pcp's CPU that began before the lock was taken cannot commit once the
 * locker runs there (it was preempted, so it restarts and sees the lock),
 * and a locker on another CPU fences that CPU with membarrier
 * (PRIVATE_EXPEDITED_RSEQ), which restarts any section in flight there.
 * A bailed section returns NULL/false: the caller takes the trylock path,
 * which refills, drains and folds the counters into pcp->stats.
 *
 * x86-64 only (the sections are assembly); elsewhere, and in TSan builds
 * (which cannot see the assembly's stores), PCP_RSEQ_ARCH is 0 and the
 * stubs below are never called.
 */
#ifndef PMM_PCP_RSEQ_H
#define PMM_PCP_RSEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmzone.h"
#include "os.h"

#define PCP_RSEQ_COUNT_MASK 0xfffull		/* bits 0-11 */
#define PCP_RSEQ_POP_ONE (1ull << 12)		/* pops: bits 12-33 */
#define PCP_RSEQ_PUSH_ONE (1ull << 34)		/* pushes: bits 34-55 */
#define PCP_RSEQ_CHUNK_ONE (1ull << 56)		/* contig chunks among the pushes: 56-63 */
#define PCP_RSEQ_POPS(w) (((w) >> 12) & ((1ull << 22) - 1))
#define PCP_RSEQ_PUSHES(w) (((w) >> 34) & ((1ull << 22) - 1))
#define PCP_RSEQ_CHUNKS(w) ((w) >> 56)
/* Pages on an array: its count field. */
static inline unsigned int pcp_rseq_count(const struct pcp_rseq_list *rq)
{
	return (unsigned int)(rq->word & PCP_RSEQ_COUNT_MASK);
}

/*
 * A counter's top bit set: the section bails out, so the lock holder folds
 * it first. A push tests the counters it adds to: the pushes' (one bit),
 * and a contig chunk's push the chunks' too.
 */
#define PCP_RSEQ_POP_FOLD 33
#define PCP_RSEQ_PUSH_FOLD 55
#define PCP_RSEQ_CHUNK_FOLD ((1ull << 55) | (1ull << 63))

_Static_assert(PCP_RSEQ_SLOTS <= PCP_RSEQ_COUNT_MASK, "count field too narrow");
_Static_assert(offsetof(struct pmm_pcp, lock) == 0, "the sections read the lock at offset 0");
_Static_assert(offsetof(struct pcp_rseq_list, word) == 0 &&
	       offsetof(struct pcp_rseq_list, cap) == 8 &&
	       offsetof(struct pcp_rseq_list, slot) == 16, "the sections' offsets");

#if defined(__x86_64__) && __STDC_HOSTED__ && !defined(__SANITIZE_THREAD__)
#define PCP_RSEQ_ARCH 1
#else
#define PCP_RSEQ_ARCH 0
#endif

#if PCP_RSEQ_ARCH
_Static_assert(sizeof(struct pcp_rseq_list) == 2048, "a power of two: the sections' index");

/*
 * The critical section descriptor (struct rseq_cs: version, flags,
 * start_ip, post_commit_offset, abort_ip) and, before the abort handler,
 * glibc's registered signature RSEQ_SIG inside a ud1 instruction, which
 * the kernel checks before it jumps there.
 */
#define PCP_RSEQ_CS(label, start, commit, abort)                               \
	".pushsection __rseq_cs, \"aw\"\n\t"                                   \
	".balign 32\n"                                                         \
	label ":\n\t"                                                          \
	".long 0, 0\n\t"                                                       \
	".quad " start "f, (" commit "f - " start "f), " abort "f\n\t"         \
	".popsection\n\t"
#define PCP_RSEQ_ABORT(abort, retry)                                           \
	".pushsection __rseq_failure, \"ax\"\n\t"                              \
	".byte 0x0f, 0xb9, 0x3d\n\t"                                           \
	".long 0x53053053\n"                                                   \
	abort ":\n\t"                                                          \
	"jmp " retry "b\n\t"                                                   \
	".popsection\n\t"

/*
 * The sections' common start: the descriptor armed (through @scratch),
 * this CPU's pcp found (@list = pcps + cpu * stride; a CPU without one
 * bails out), its lock tested, then @list moved to the @mt list and its
 * word read into @word; a bail-out jumps to @bail. @list32 is @list's low
 * half.
 */
#define PCP_RSEQ_ENTER(list, list32, word, scratch, bail)                      \
	PCP_RSEQ_CS("3", "1", "2", "4")                                        \
	"0:\n\t"                                                               \
	"leaq 3b(%%rip), " scratch "\n\t"                                      \
	"movq " scratch ", %%fs:8(%[rs])\n"	/* rseq_cs */                  \
	"1:\n\t"                                                               \
	"movl %%fs:4(%[rs]), " list32 "\n\t"	/* cpu_id */                   \
	"cmpl %[ncpu], " list32 "\n\t"                                         \
	"jae " bail "\n\t"                                                     \
	"imulq %[stride], " list ", " list "\n\t"                              \
	"addq %[pcps], " list "\n\t"                                           \
	"cmpl $0, (" list ")\n\t"		/* pcp->lock held? */          \
	"jne " bail "\n\t"                                                     \
	"addq %[off], " list "\n\t"                                            \
	"movq (" list "), " word "\n\t"

#define PCP_RSEQ_INPUTS(rs_, zone_, nr_cpus_, oi_, mt_)                        \
	[rs] "r"(rs_), [pcps] "r"((zone_)->pcp), [ncpu] "rm"(nr_cpus_),        \
	[stride] "i"(sizeof(struct pmm_pcp)),                                  \
	[off] "re"(offsetof(struct pmm_pcp, rq) +                              \
		   ((size_t)(oi_) * PMM_MIGRATE_PCPTYPES + (size_t)(mt_)) *     \
			   sizeof(struct pcp_rseq_list))

/*
 * pcp_rseq_pop - the top page (@oi 0) or block (@oi 1) of this CPU's @mt
 * list of @zone.
 * A bail-out sets the page to NULL out of line (after the commit label,
 * outside the section), so the hit runs straight through.
 * Return: the page (PG_pcp still set; the caller owns it now), or NULL
 * when the list is empty, its pops counter must be folded, the pcp is
 * locked or the CPU has no pcp.
 */
static __always_inline struct pmm_page *pcp_rseq_pop(long rs, struct pmm_zone *zone,
						     unsigned int nr_cpus, int oi, int mt)
{
	struct pmm_page *page;
	uint64_t list, word;

	__asm__ __volatile__(
		PCP_RSEQ_ENTER("%[list]", "%k[list]", "%[word]", "%[page]", "5f")
		"btq %[popfold], %[word]\n\t"		/* pops must be folded */
		"jc 5f\n\t"
		"movl %k[word], %k[page]\n\t"
		"andl $0xfff, %k[page]\n\t"
		"jz 5f\n\t"
		"movq 8(%[list],%q[page],8), %[page]\n\t"	/* slot[count - 1] */
		"addq $0xfff, %[word]\n\t"		/* count - 1, pops + 1 */
		"movq %[word], (%[list])\n"		/* commit */
		"2:\n\t"
		PCP_RSEQ_ABORT("4", "0")
		".pushsection __rseq_failure, \"ax\"\n"
		"5:\n\t"
		"xorl %k[page], %k[page]\n\t"
		"jmp 2b\n\t"
		".popsection\n\t"
		: [page] "=&r"(page), [list] "=&r"(list), [word] "=&r"(word)
		: PCP_RSEQ_INPUTS(rs, zone, nr_cpus, oi, mt), [popfold] "i"(PCP_RSEQ_POP_FOLD)
		: "memory", "cc");
	return page;
}

/*
 * The push section, its increment @inc_ a constant (an immediate of
 * movabs) and @fold_test_ the instructions that test the counters it adds
 * to (one bit test for a page, two bits for a chunk). It has no outputs, so a bail-out can jump straight to the
 * caller's C label (asm goto; with outputs it would need GCC 11.5, 12.4 or
 * 13.3, where GCC bug 113921 is fixed) and its three registers are fixed
 * ones, clobbered.
 */
#define PCP_RSEQ_PUSH(rs_, zone_, nr_cpus_, oi_, mt_, page_, inc_, fold_test_) \
	__asm__ __volatile__ goto(                                             \
		PCP_RSEQ_ENTER("%%r10", "%%r10d", "%%r11", "%%r9", "%l[bail]") \
		fold_test_	/* pushes (or chunks) must be folded */        \
		"movl %%r11d, %%r9d\n\t"                                       \
		"andl $0xfff, %%r9d\n\t"                                       \
		"cmpl 8(%%r10), %%r9d\n\t"	/* count >= cap: full */       \
		"jae %l[bail]\n\t"                                             \
		"movq %[pg], 16(%%r10,%%r9,8)\n\t"	/* slot[count]: not yet visible */ \
		"movabsq %[inc], %%r9\n\t"                                     \
		"addq %%r9, %%r11\n\t"	/* count + 1, pushes (+ chunks) + 1 */ \
		"movq %%r11, (%%r10)\n"	/* commit */                           \
		"2:\n\t"                                                       \
		PCP_RSEQ_ABORT("4", "0")                                       \
		:                                                              \
		: PCP_RSEQ_INPUTS(rs_, zone_, nr_cpus_, oi_, mt_), [pg] "r"(page_), \
		  [pushfold] "i"(PCP_RSEQ_PUSH_FOLD),                          \
		  [chunkfold] "i"(PCP_RSEQ_CHUNK_FOLD), [inc] "i"(inc_)        \
		: "r9", "r10", "r11", "memory", "cc"                           \
		: bail)

/*
 * pcp_rseq_push - put the prepared @page (PG_pcp already set; a block of
 * pageblock_order for @oi 1) on this CPU's @mt list of @zone, counting it
 * as a contig chunk if @chunk.
 * Return: true if it is there; false (the page untouched, still the
 * caller's) when the list is full, its pushes counter must be folded, the
 * pcp is locked or the CPU has no pcp.
 */
static __always_inline bool pcp_rseq_push(long rs, struct pmm_zone *zone,
					  unsigned int nr_cpus, int oi, int mt,
					  struct pmm_page *page, bool chunk)
{
	if (chunk)
		PCP_RSEQ_PUSH(rs, zone, nr_cpus, oi, mt, page,
			      PCP_RSEQ_PUSH_ONE + 1 + PCP_RSEQ_CHUNK_ONE,
			      "movabsq %[chunkfold], %%r9\n\t"
			      "testq %%r9, %%r11\n\t"
			      "jnz %l[bail]\n\t");
	else
		PCP_RSEQ_PUSH(rs, zone, nr_cpus, oi, mt, page, PCP_RSEQ_PUSH_ONE + 1,
			      "btq %[pushfold], %%r11\n\t"
			      "jc %l[bail]\n\t");
	return true;
bail:
	return false;
}
#else
static inline struct pmm_page *pcp_rseq_pop(long rs, struct pmm_zone *zone,
					    unsigned int nr_cpus, int oi, int mt)
{
	return NULL;
}

static inline bool pcp_rseq_push(long rs, struct pmm_zone *zone, unsigned int nr_cpus,
				 int oi, int mt, struct pmm_page *page, bool chunk)
{
	return false;
}
#endif

#endif /* PMM_PCP_RSEQ_H */
