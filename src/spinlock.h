/* SPDX-License-Identifier: MIT */
/*
 * spinlock.h - test-and-test-and-set spinlocks that yield after a bounded
 * spin, so that more threads than CPUs still make progress. Debug builds
 * record the holder, so that a function whose name ends in _locked can
 * assert that its caller holds the lock (lockdep_assert_held), and so that
 * a thread spinning on a lock it already holds fails at once instead of
 * hanging.
 */
#ifndef PMM_SPINLOCK_H
#define PMM_SPINLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "debug.h"
#include "pmm_platform.h"	/* pmm_os_thread_marker(), pmm_os_yield() */

typedef struct {
	atomic_int locked;		/* 0 free, 1 held */
#if PMM_DEBUG >= 1
	const void *_Atomic owner;	/* holder's thread marker, for _locked asserts */
#endif
} pmm_spinlock_t;

void spin_lock_slow(pmm_spinlock_t *l);		/* spinlock.c */

#if PMM_DEBUG >= 1
/* @mine: record the calling thread as owner, else clear the owner. */
static inline void spin_set_owner(pmm_spinlock_t *l, bool mine)
{
	atomic_store_explicit(&l->owner, mine ? pmm_os_thread_marker() : NULL, memory_order_relaxed);
}
static inline bool spin_held_by_me(pmm_spinlock_t *l)
{
	return atomic_load_explicit(&l->owner, memory_order_relaxed) == pmm_os_thread_marker();
}
#else
static inline void spin_set_owner(pmm_spinlock_t *l, bool mine) { (void)l; (void)mine; }
static inline bool spin_held_by_me(pmm_spinlock_t *l) { (void)l; return true; }
#endif

static inline void spin_lock_init(pmm_spinlock_t *l)
{
	atomic_init(&l->locked, 0);
	spin_set_owner(l, false);
}

static inline bool spin_trylock(pmm_spinlock_t *l)
{
	if (atomic_exchange_explicit(&l->locked, 1, memory_order_acquire))
		return false;
	spin_set_owner(l, true);
	return true;
}

/* spin_lock_waited - spin_lock(); Return: true if the lock was held by another thread first. */
static inline bool spin_lock_waited(pmm_spinlock_t *l)
{
	if (__builtin_expect(spin_trylock(l), 1))
		return false;
	/* A thread spinning on a lock it holds would hang forever. */
	PMM_BUG_ON(spin_held_by_me(l));
	spin_lock_slow(l);
	return true;
}

static inline void spin_lock(pmm_spinlock_t *l)
{
	(void)spin_lock_waited(l);
}

static inline void spin_unlock(pmm_spinlock_t *l)
{
	spin_set_owner(l, false);
	atomic_store_explicit(&l->locked, 0, memory_order_release);
}

#define lockdep_assert_held(l) PMM_BUG_ON(!spin_held_by_me(l))

#endif /* PMM_SPINLOCK_H */
