/* SPDX-License-Identifier: MIT */
/* spinlock.c - the contended path of spin_lock() (spinlock.h). */
#include "spinlock.h"

#if defined(__x86_64__) || defined(__i386__)
static inline void cpu_relax(void) { __builtin_ia32_pause(); }
#elif defined(__aarch64__)
static inline void cpu_relax(void) { __asm__ __volatile__("yield"); }
#else
static inline void cpu_relax(void) { }
#endif

/* Spin on a plain load (no cache-line ping-pong), yielding every 256 spins. */
void spin_lock_slow(pmm_spinlock_t *l)
{
	unsigned int spins = 0;

	for (;;) {
		while (atomic_load_explicit(&l->locked, memory_order_relaxed)) {
			if (++spins < 256)
				cpu_relax();
			else {
				pmm_os_yield();
				spins = 0;
			}
		}
		if (spin_trylock(l))
			return;
	}
}
