/* SPDX-License-Identifier: MIT */
/*
 * pcp_rseq.h - the order-0 pcp fast path without a locked instruction:
 * restartable sequences (rseq), as tcmalloc's per-CPU caches.
 *
 * In rseq mode (pmm->pcp_rseq, chosen at create) each pcp keeps its
 * order-0 pages, per migratetype, in an array (struct pcp_rseq_list) in
 * place of the order-0 lists. Allocation pops the top slot, free pushes
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
 * (which cannot see the assembly's stores), pcp_rseq_supported() is
 * false and the stubs below are never called.
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

/* A counter's top bit set: the section bails out, so the lock holder folds it first. */
#define PCP_RSEQ_POP_FOLD 33
#define PCP_RSEQ_PUSH_FOLD ((1ull << 55) | (1ull << 63))

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
 * pcp_rseq_pop - the top order-0 page of this CPU's @mt list of @zone.
 * Return: the page (PG_pcp still set; the caller owns it now), or NULL
 * when the list is empty, its pops counter must be folded, the pcp is
 * locked or the CPU has no pcp.
 */
static __always_inline struct pmm_page *pcp_rseq_pop(struct rseq *rs, struct pmm_zone *zone,
						     unsigned int nr_cpus, int mt)
{
	struct pmm_page *page;
	uint64_t cpu, list, word, tmp;

	__asm__ __volatile__(
		PCP_RSEQ_CS("3", "1", "2", "4")
		"0:\n\t"
		"leaq 3b(%%rip), %[tmp]\n\t"
		"movq %[tmp], 8(%[rs])\n"		/* rs->rseq_cs */
		"1:\n\t"
		"movl 4(%[rs]), %k[cpu]\n\t"		/* rs->cpu_id */
		"cmpl %[ncpu], %k[cpu]\n\t"
		"jae 5f\n\t"
		"imulq %[stride], %[cpu], %[list]\n\t"
		"addq %[pcps], %[list]\n\t"
		"cmpl $0, (%[list])\n\t"		/* pcp->lock held? */
		"jne 5f\n\t"
		"addq %[off], %[list]\n\t"
		"movq (%[list]), %[word]\n\t"
		"btq %[popfold], %[word]\n\t"		/* pops must be folded */
		"jc 5f\n\t"
		"movq %[word], %[tmp]\n\t"
		"andl $0xfff, %k[tmp]\n\t"
		"jz 5f\n\t"
		"movq 8(%[list],%[tmp],8), %[page]\n\t"	/* slot[count - 1] */
		"leaq 0xfff(%[word]), %[tmp]\n\t"	/* count - 1, pops + 1 */
		"movq %[tmp], (%[list])\n"		/* commit */
		"2:\n\t"
		"jmp 6f\n"
		PCP_RSEQ_ABORT("4", "0")
		"5:\n\t"
		"xorl %k[page], %k[page]\n"
		"6:\n\t"
		: [page] "=&r"(page), [cpu] "=&r"(cpu), [list] "=&r"(list), [word] "=&r"(word),
		  [tmp] "=&r"(tmp)
		: [rs] "r"(rs), [pcps] "r"(zone->pcp), [ncpu] "r"(nr_cpus),
		  [stride] "i"(sizeof(struct pmm_pcp)), [popfold] "i"(PCP_RSEQ_POP_FOLD),
		  [off] "r"(offsetof(struct pmm_pcp, rq) + (size_t)mt * sizeof(struct pcp_rseq_list))
		: "memory", "cc");
	return page;
}

/*
 * pcp_rseq_push - put the prepared order-0 @page (PG_pcp already set) on
 * this CPU's @mt list of @zone, counting it as a contig chunk if @chunk.
 * Return: true if it is there; false (the page untouched, still the
 * caller's) when the list is full, its pushes counter must be folded, the
 * pcp is locked or the CPU has no pcp.
 */
static __always_inline bool pcp_rseq_push(struct rseq *rs, struct pmm_zone *zone,
					  unsigned int nr_cpus, int mt, struct pmm_page *page,
					  bool chunk)
{
	uint64_t cpu, list, word, tmp;
	uint64_t inc = PCP_RSEQ_PUSH_ONE + 1 + (chunk ? PCP_RSEQ_CHUNK_ONE : 0);
	unsigned char done;

	__asm__ __volatile__(
		PCP_RSEQ_CS("3", "1", "2", "4")
		"0:\n\t"
		"leaq 3b(%%rip), %[tmp]\n\t"
		"movq %[tmp], 8(%[rs])\n"
		"1:\n\t"
		"movl 4(%[rs]), %k[cpu]\n\t"
		"cmpl %[ncpu], %k[cpu]\n\t"
		"jae 5f\n\t"
		"imulq %[stride], %[cpu], %[list]\n\t"
		"addq %[pcps], %[list]\n\t"
		"cmpl $0, (%[list])\n\t"
		"jne 5f\n\t"
		"addq %[off], %[list]\n\t"
		"movq (%[list]), %[word]\n\t"
		"testq %[fold], %[word]\n\t"		/* pushes or chunks must be folded */
		"jnz 5f\n\t"
		"movq %[word], %[tmp]\n\t"
		"andl $0xfff, %k[tmp]\n\t"
		"cmpl 8(%[list]), %k[tmp]\n\t"		/* count >= cap: full */
		"jae 5f\n\t"
		"movq %[page], 16(%[list],%[tmp],8)\n\t"	/* slot[count]: not yet visible */
		"leaq (%[word],%[inc]), %[tmp]\n\t"	/* count + 1, pushes (+ chunks) + 1 */
		"movq %[tmp], (%[list])\n"		/* commit */
		"2:\n\t"
		"movb $1, %[done]\n\t"
		"jmp 6f\n"
		PCP_RSEQ_ABORT("4", "0")
		"5:\n\t"
		"movb $0, %[done]\n"
		"6:\n\t"
		: [done] "=&r"(done), [cpu] "=&r"(cpu), [list] "=&r"(list), [word] "=&r"(word),
		  [tmp] "=&r"(tmp)
		: [rs] "r"(rs), [pcps] "r"(zone->pcp), [ncpu] "r"(nr_cpus), [page] "r"(page),
		  [stride] "i"(sizeof(struct pmm_pcp)), [inc] "r"(inc), [fold] "r"(PCP_RSEQ_PUSH_FOLD),
		  [off] "r"(offsetof(struct pmm_pcp, rq) + (size_t)mt * sizeof(struct pcp_rseq_list))
		: "memory", "cc");
	return done;
}
#else
static inline struct pmm_page *pcp_rseq_pop(struct rseq *rs, struct pmm_zone *zone,
					    unsigned int nr_cpus, int mt)
{
	return NULL;
}

static inline bool pcp_rseq_push(struct rseq *rs, struct pmm_zone *zone, unsigned int nr_cpus,
				 int mt, struct pmm_page *page, bool chunk)
{
	return false;
}
#endif

#endif /* PMM_PCP_RSEQ_H */
