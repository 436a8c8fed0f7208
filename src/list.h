/* SPDX-License-Identifier: MIT */
/*
 * list.h - circular doubly linked lists threaded through the objects they
 * hold (free lists, pcp lists, the LRU, the deferred split queue), as the
 * kernel's list_head.
 */
#ifndef PMM_LIST_H
#define PMM_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

struct pmm_list {
	struct pmm_list *next, *prev;
};

#define container_of(ptr, type, member)                                        \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void list_init(struct pmm_list *l) { l->next = l->prev = l; }
static inline bool list_empty(const struct pmm_list *l) { return l->next == l; }

/*
 * A page's first list word is also its compound_head (page.h): a reader
 * of page_folio() without the list's lock may meet a neighbour's insert
 * or removal. Every pointer in a list always has bit 0 clear, so it reads
 * "a head page" either way; the ->next stores are WRITE_ONCE() for that
 * reader, as the kernel's __list_add() and __list_del() are.
 */
static inline void list_insert(struct pmm_list *n, struct pmm_list *prev,
			       struct pmm_list *next)
{
	next->prev = n;
	WRITE_ONCE(n->next, next);
	n->prev = prev;
	WRITE_ONCE(prev->next, n);
}

static inline void list_add(struct pmm_list *n, struct pmm_list *head)
{
	list_insert(n, head, head->next);
}

static inline void list_add_tail(struct pmm_list *n, struct pmm_list *head)
{
	list_insert(n, head->prev, head);
}

static inline void list_del(struct pmm_list *n)
{
	n->next->prev = n->prev;
	WRITE_ONCE(n->prev->next, n->next);
	WRITE_ONCE(n->next, NULL);
	n->prev = NULL;
}

/* list_del_init - unlink @n and leave it an empty list, so list_empty(n) tells. */
static inline void list_del_init(struct pmm_list *n)
{
	n->next->prev = n->prev;
	WRITE_ONCE(n->prev->next, n->next);
	WRITE_ONCE(n->next, n);
	n->prev = n;
}

/*
 * list_valid - is @head a well-formed list of at most @max entries? Each
 * entry's neighbours must point back at it. Stores the entry count in
 * *@count. A validator: it returns bool so that an assertion, a test and
 * pmm_check() can all use it.
 */
static inline bool list_valid(const struct pmm_list *head, unsigned long max, unsigned long *count)
{
	const struct pmm_list *l = head;
	unsigned long n = 0;

	do {
		if (!l->next || l->next->prev != l)
			return false;
		l = l->next;
		if (l != head && ++n > max)
			return false;
	} while (l != head);
	*count = n;
	return true;
}

#endif /* PMM_LIST_H */
