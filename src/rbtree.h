/* SPDX-License-Identifier: MIT */
/*
 * rbtree.h - red-black trees threaded through the objects they hold, as the
 * kernel's lib/rbtree.c: the caller descends the tree itself (it knows the
 * key), links the new node at the leaf it found with rb_link_node() and
 * then calls rb_insert(); rb_erase() unlinks any node. Both rebalance in
 * O(log n).
 *
 * Augmented trees (the vmap areas' free tree keeps in every node the
 * largest free size below it) pass an @augment callback that recomputes a
 * node's value from the node and its children. The tree calls it for
 * every node whose subtree changes: the path from the changed leaf to the
 * root, and both nodes of each rotation. NULL: a plain tree.
 */
#ifndef PMM_RBTREE_H
#define PMM_RBTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "list.h"	/* container_of */

#define RB_RED   0
#define RB_BLACK 1

struct rb_node {
	struct rb_node *parent, *left, *right;
	int color;
};

struct rb_root {
	struct rb_node *node;
};

#define rb_entry(ptr, type, member) container_of(ptr, type, member)

typedef void (*rb_augment_fn)(struct rb_node *node);

/* Link @node as a leaf at *@link, a NULL child pointer of @parent (NULL: the root). */
static inline void rb_link_node(struct rb_node *node, struct rb_node *parent,
				struct rb_node **link)
{
	node->parent = parent;
	node->left = node->right = NULL;
	node->color = RB_RED;
	*link = node;
}

/* Rebalance after rb_link_node() of @node. */
void rb_insert(struct rb_root *root, struct rb_node *node, rb_augment_fn augment);
/* Unlink @node and rebalance. */
void rb_erase(struct rb_root *root, struct rb_node *node, rb_augment_fn augment);

/* Recompute every augmented value from @node up to the root: after a node's own value changed. */
void rb_propagate(struct rb_node *node, rb_augment_fn augment);

struct rb_node *rb_first(const struct rb_root *root);
struct rb_node *rb_next(const struct rb_node *node);
struct rb_node *rb_prev(const struct rb_node *node);

/*
 * The red-black rules, for the checker: the root black, no red node with a
 * red child, every path to a leaf with as many black nodes, parent links
 * consistent. Return: the black height, or -1 when a rule is broken.
 */
int rb_validate(const struct rb_root *root);

#endif /* PMM_RBTREE_H */
