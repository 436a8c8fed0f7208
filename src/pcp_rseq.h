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
 * pushes in 12-55, the pushes that were batched contig chunks in 56-63,
 * so the pcp statistics stay exact without a second store. A pop counts
 * nothing: what the count lost since the lock last wrote it (the list's
 * base) and the pushes give the pops (pcp_rseq_fold_locked()), so a pop
 * has no counter to test. A push writes its slot (above count: nobody
 * reads it) before the commit.
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
#define PCP_RSEQ_PUSH_ONE (1ull << 12)		/* pushes: bits 12-55 */
#define PCP_RSEQ_CHUNK_ONE (1ull << 56)		/* contig chunks among the pushes: 56-63 */
#define PCP_RSEQ_PUSHES(w) (((w) >> 12) & ((1ull << 44) - 1))
#define PCP_RSEQ_CHUNKS(w) ((w) >> 56)
/* Pages on an array: its count field. */
static inline unsigned int pcp_rseq_count(const struct pcp_rseq_list *rq)
{
	return (unsigned int)(rq->word & PCP_RSEQ_COUNT_MASK);
}

/*
 * A counter's top bit set: the push bails out, so the lock holder folds
 * it first. A push tests the counters it adds to: the pushes' (one bit),
 * and a contig chunk's push the chunks' too.
 */
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
 * The list a section works on is at @list + the list's offset in the pcp
 * (PCP_RSEQ_OFF()). Where the offset is a constant, the sections' hot
 * callers (the order-0 pcp hit), it is a displacement of every access
 * (@at_ "%c[off]", @add_ empty); elsewhere a register, added once (@at_
 * empty, @add_ PCP_RSEQ_ADD_OFF()).
 */
#define PCP_RSEQ_OFF(oi_, mt_)                                                 \
	(offsetof(struct pmm_pcp, rq) +                                        \
	 ((size_t)(oi_) * PMM_MIGRATE_PCPTYPES + (size_t)(mt_)) * sizeof(struct pcp_rseq_list))
#define PCP_RSEQ_ADD_OFF(list) "addq %[off], " list "\n\t"

/*
 * The sections' common start: the descriptor armed (through @scratch),
 * this CPU's pcp found (@list = pcps + cpu * stride; a CPU without one
 * bails out), its lock tested, then the list's word read into @word; a
 * bail-out jumps to @bail. @list32 is @list's low half.
 */
#define PCP_RSEQ_ENTER(list, list32, word, scratch, bail, at_, add_)           \
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
	add_                                                                   \
	"movq " at_ "(" list "), " word "\n\t"

#define PCP_RSEQ_INPUTS(rs_, zone_, nr_cpus_)                                  \
	[rs] "r"(rs_), [pcps] "r"((zone_)->pcp), [ncpu] "rm"(nr_cpus_),        \
	[stride] "i"(sizeof(struct pmm_pcp))

/*
 * The pop section into @page_ (a struct pmm_page * lvalue): the top slot
 * of the list, count - 1, committed. A bail-out sets the page to NULL out
 * of line (after the commit label, outside the section), so the hit runs
 * straight through. @off_ is the offset's input operand.
 */
#define PCP_RSEQ_POP(page_, rs_, zone_, nr_cpus_, at_, add_, off_)             \
	do {                                                                   \
		uint64_t list_, word_;                                         \
		__asm__ __volatile__(                                          \
			PCP_RSEQ_ENTER("%[list]", "%k[list]", "%[word]", "%[page]", "5f", \
				       at_, add_)                              \
			"movl %k[word], %k[page]\n\t"                          \
			"andl $0xfff, %k[page]\n\t"                            \
			"jz 5f\n\t"                                            \
			"movq " at_ "+8(%[list],%q[page],8), %[page]\n\t"	/* slot[count - 1] */ \
			"subq $1, %[word]\n\t"                                 \
			"movq %[word], " at_ "(%[list])\n"	/* commit */   \
			"2:\n\t"                                               \
			PCP_RSEQ_ABORT("4", "0")                               \
			".pushsection __rseq_failure, \"ax\"\n"                \
			"5:\n\t"                                               \
			"xorl %k[page], %k[page]\n\t"                          \
			"jmp 2b\n\t"                                           \
			".popsection\n\t"                                      \
			: [page] "=&r"(page_), [list] "=&r"(list_), [word] "=&r"(word_) \
			: PCP_RSEQ_INPUTS(rs_, zone_, nr_cpus_), off_          \
			: "memory", "cc");                                     \
	} while (0)

/*
 * pcp_rseq_pop - the top page (@oi 0) or block (@oi 1) of this CPU's @mt
 * list of @zone; PCP_RSEQ_POP_CONST() is the same with @oi and @mt
 * constants, for the order-0 hit.
 * Return: the page (PG_pcp still set; the caller owns it now), or NULL
 * when the list is empty, the pcp is locked or the CPU has no pcp.
 */
static __always_inline struct pmm_page *pcp_rseq_pop(long rs, struct pmm_zone *zone,
						     unsigned int nr_cpus, int oi, int mt)
{
	struct pmm_page *page;

	PCP_RSEQ_POP(page, rs, zone, nr_cpus, "", PCP_RSEQ_ADD_OFF("%[list]"),
		     [off] "re"(PCP_RSEQ_OFF(oi, mt)));
	return page;
}

#define PCP_RSEQ_POP_CONST(page_, rs_, zone_, nr_cpus_, oi_, mt_)              \
	PCP_RSEQ_POP(page_, rs_, zone_, nr_cpus_, "%c[off]", "", [off] "i"(PCP_RSEQ_OFF(oi_, mt_)))

/*
 * The push section, its increment @inc_ a constant, @fold_test_ the
 * instructions that test the counters it adds to (one bit test for a
 * page, two bits for a chunk) and @add_inc_ those that add @inc_ (an
 * immediate for a page, through movabs for a chunk). It has no outputs,
 * so a bail-out can jump straight to the caller's C label bail (asm goto;
 * with outputs it would need GCC 11.5, 12.4 or 13.3, where GCC bug 113921
 * is fixed) and its three registers are fixed ones, clobbered.
 */
#define PCP_RSEQ_PUSH(rs_, zone_, nr_cpus_, page_, inc_, fold_test_, add_inc_, at_, add_, off_) \
	__asm__ __volatile__ goto(                                             \
		PCP_RSEQ_ENTER("%%r10", "%%r10d", "%%r11", "%%r9", "%l[bail]", at_, add_) \
		fold_test_	/* pushes (or chunks) must be folded */        \
		"movl %%r11d, %%r9d\n\t"                                       \
		"andl $0xfff, %%r9d\n\t"                                       \
		"cmpl " at_ "+8(%%r10), %%r9d\n\t"	/* count >= cap: full */ \
		"jae %l[bail]\n\t"                                             \
		"movq %[pg], " at_ "+16(%%r10,%%r9,8)\n\t"	/* slot[count]: not yet visible */ \
		add_inc_	/* count + 1, pushes (+ chunks) + 1 */          \
		"movq %%r11, " at_ "(%%r10)\n"	/* commit */                   \
		"2:\n\t"                                                       \
		PCP_RSEQ_ABORT("4", "0")                                       \
		:                                                              \
		: PCP_RSEQ_INPUTS(rs_, zone_, nr_cpus_), [pg] "r"(page_),      \
		  [pushfold] "i"(PCP_RSEQ_PUSH_FOLD),                          \
		  [chunkfold] "i"(PCP_RSEQ_CHUNK_FOLD), [inc] "i"(inc_), off_  \
		: "r9", "r10", "r11", "memory", "cc"                           \
		: bail)

/* A page's push: one counter bit to test, an increment that fits an imm32. */
#define PCP_RSEQ_PAGE_FOLD_TEST "btq %[pushfold], %%r11\n\t" "jc %l[bail]\n\t"
#define PCP_RSEQ_PAGE_ADD_INC "addq %[inc], %%r11\n\t"

/*
 * pcp_rseq_push - put the prepared @page (PG_pcp already set; a block of
 * pageblock_order for @oi 1) on this CPU's @mt list of @zone, counting it
 * as a contig chunk if @chunk; PCP_RSEQ_PUSH_CONST() pushes a page with
 * @oi and @mt constants and jumps to the caller's label bail on failure.
 * Return: true if it is there; false (the page untouched, still the
 * caller's) when the list is full, its pushes counter must be folded, the
 * pcp is locked or the CPU has no pcp.
 */
static __always_inline bool pcp_rseq_push(long rs, struct pmm_zone *zone,
					  unsigned int nr_cpus, int oi, int mt,
					  struct pmm_page *page, bool chunk)
{
	if (chunk)
		PCP_RSEQ_PUSH(rs, zone, nr_cpus, page, PCP_RSEQ_PUSH_ONE + 1 + PCP_RSEQ_CHUNK_ONE,
			      "movabsq %[chunkfold], %%r9\n\t"
			      "testq %%r9, %%r11\n\t"
			      "jnz %l[bail]\n\t",
			      "movabsq %[inc], %%r9\n\t"
			      "addq %%r9, %%r11\n\t",
			      "", PCP_RSEQ_ADD_OFF("%%r10"), [off] "re"(PCP_RSEQ_OFF(oi, mt)));
	else
		PCP_RSEQ_PUSH(rs, zone, nr_cpus, page, PCP_RSEQ_PUSH_ONE + 1,
			      PCP_RSEQ_PAGE_FOLD_TEST, PCP_RSEQ_PAGE_ADD_INC, "",
			      PCP_RSEQ_ADD_OFF("%%r10"), [off] "re"(PCP_RSEQ_OFF(oi, mt)));
	return true;
bail:
	return false;
}

#define PCP_RSEQ_PUSH_CONST(rs_, zone_, nr_cpus_, oi_, mt_, page_)             \
	PCP_RSEQ_PUSH(rs_, zone_, nr_cpus_, page_, PCP_RSEQ_PUSH_ONE + 1,      \
		      PCP_RSEQ_PAGE_FOLD_TEST, PCP_RSEQ_PAGE_ADD_INC, "%c[off]", "", \
		      [off] "i"(PCP_RSEQ_OFF(oi_, mt_)))
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

#define PCP_RSEQ_POP_CONST(page_, rs_, zone_, nr_cpus_, oi_, mt_) ((page_) = NULL)
#define PCP_RSEQ_PUSH_CONST(rs_, zone_, nr_cpus_, oi_, mt_, page_) goto bail
#endif

#endif /* PMM_PCP_RSEQ_H */
