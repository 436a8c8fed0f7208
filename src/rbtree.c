/* SPDX-License-Identifier: MIT */
/*
 * rbtree.c - red-black tree rebalancing (Cormen et al., chapter 13, with
 * NULL leaves: the erase fixup tracks the parent of a NULL child), and the
 * augmented-value maintenance described in rbtree.h.
 */
#include "rbtree.h"

static inline bool rb_is_black(const struct rb_node *n)
{
	return !n || n->color == RB_BLACK;
}

/* Point @old's parent (or the root) at @new instead; new->parent is already set. */
static inline void rb_replace_child(struct rb_root *root, struct rb_node *old,
				    struct rb_node *new, struct rb_node *parent)
{
	if (!parent)
		root->node = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
}

/*
 * The rotations keep the subtree's node set, so only the two rotated nodes'
 * augmented values change: the lower one first, as the upper one's depends
 * on it.
 */
static void rb_rotate_left(struct rb_root *root, struct rb_node *x, rb_augment_fn augment)
{
	struct rb_node *y = x->right;

	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	y->parent = x->parent;
	rb_replace_child(root, x, y, x->parent);
	y->left = x;
	x->parent = y;
	if (augment) {
		augment(x);
		augment(y);
	}
}

static void rb_rotate_right(struct rb_root *root, struct rb_node *x, rb_augment_fn augment)
{
	struct rb_node *y = x->left;

	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	y->parent = x->parent;
	rb_replace_child(root, x, y, x->parent);
	y->right = x;
	x->parent = y;
	if (augment) {
		augment(x);
		augment(y);
	}
}

void rb_propagate(struct rb_node *node, rb_augment_fn augment)
{
	if (!augment)
		return;
	for (; node; node = node->parent)
		augment(node);
}

void rb_insert(struct rb_root *root, struct rb_node *node, rb_augment_fn augment)
{
	struct rb_node *parent;

	/* Values first, so that each rotation below starts from correct children. */
	rb_propagate(node, augment);
	while ((parent = node->parent) && parent->color == RB_RED) {
		struct rb_node *gparent = parent->parent;	/* a red node is never the root */
		struct rb_node *uncle;

		if (parent == gparent->left) {
			uncle = gparent->right;
			if (!rb_is_black(uncle)) {
				parent->color = uncle->color = RB_BLACK;
				gparent->color = RB_RED;
				node = gparent;
				continue;
			}
			if (node == parent->right) {
				rb_rotate_left(root, parent, augment);
				node = parent;
				parent = node->parent;
			}
			parent->color = RB_BLACK;
			gparent->color = RB_RED;
			rb_rotate_right(root, gparent, augment);
		} else {
			uncle = gparent->left;
			if (!rb_is_black(uncle)) {
				parent->color = uncle->color = RB_BLACK;
				gparent->color = RB_RED;
				node = gparent;
				continue;
			}
			if (node == parent->left) {
				rb_rotate_right(root, parent, augment);
				node = parent;
				parent = node->parent;
			}
			parent->color = RB_BLACK;
			gparent->color = RB_RED;
			rb_rotate_left(root, gparent, augment);
		}
	}
	root->node->color = RB_BLACK;
}

/* Restore the black height after a black node left from above @x (may be NULL) under @parent. */
static void rb_erase_fixup(struct rb_root *root, struct rb_node *x, struct rb_node *parent,
			   rb_augment_fn augment)
{
	while (x != root->node && rb_is_black(x)) {
		struct rb_node *w;

		/*
		 * x's side lost a black node, so the sibling's side has a black
		 * height of at least one: w is never NULL.
		 */
		if (x == parent->left) {
			w = parent->right;
			if (w->color == RB_RED) {
				w->color = RB_BLACK;
				parent->color = RB_RED;
				rb_rotate_left(root, parent, augment);
				w = parent->right;
			}
			if (rb_is_black(w->left) && rb_is_black(w->right)) {
				w->color = RB_RED;
				x = parent;
				parent = x->parent;
				continue;
			}
			if (rb_is_black(w->right)) {
				w->left->color = RB_BLACK;
				w->color = RB_RED;
				rb_rotate_right(root, w, augment);
				w = parent->right;
			}
			w->color = parent->color;
			parent->color = RB_BLACK;
			w->right->color = RB_BLACK;
			rb_rotate_left(root, parent, augment);
		} else {
			w = parent->left;
			if (w->color == RB_RED) {
				w->color = RB_BLACK;
				parent->color = RB_RED;
				rb_rotate_right(root, parent, augment);
				w = parent->left;
			}
			if (rb_is_black(w->left) && rb_is_black(w->right)) {
				w->color = RB_RED;
				x = parent;
				parent = x->parent;
				continue;
			}
			if (rb_is_black(w->left)) {
				w->right->color = RB_BLACK;
				w->color = RB_RED;
				rb_rotate_left(root, w, augment);
				w = parent->left;
			}
			w->color = parent->color;
			parent->color = RB_BLACK;
			w->left->color = RB_BLACK;
			rb_rotate_right(root, parent, augment);
		}
		x = root->node;
	}
	if (x)
		x->color = RB_BLACK;
}

void rb_erase(struct rb_root *root, struct rb_node *node, rb_augment_fn augment)
{
	struct rb_node *child, *parent;
	int color;

	if (node->left && node->right) {
		/* Two children: the successor (leftmost of the right subtree) takes node's place. */
		struct rb_node *succ = node->right;

		while (succ->left)
			succ = succ->left;
		child = succ->right;
		color = succ->color;
		if (succ->parent == node) {
			parent = succ;
		} else {
			parent = succ->parent;
			parent->left = child;
			succ->right = node->right;
			node->right->parent = succ;
		}
		if (child)
			child->parent = parent;
		succ->left = node->left;
		node->left->parent = succ;
		succ->parent = node->parent;
		succ->color = node->color;
		rb_replace_child(root, node, succ, node->parent);
	} else {
		child = node->left ? node->left : node->right;
		parent = node->parent;
		color = node->color;
		if (child)
			child->parent = parent;
		rb_replace_child(root, node, child, parent);
	}
	/*
	 * Every subtree that lost a node lies on the path from @parent up:
	 * the successor's new place is an ancestor of its old parent.
	 */
	rb_propagate(parent, augment);
	if (color == RB_BLACK)
		rb_erase_fixup(root, child, parent, augment);
}

struct rb_node *rb_first(const struct rb_root *root)
{
	struct rb_node *n = root->node;

	if (!n)
		return NULL;
	while (n->left)
		n = n->left;
	return n;
}

struct rb_node *rb_next(const struct rb_node *node)
{
	const struct rb_node *parent;

	if (node->right) {
		node = node->right;
		while (node->left)
			node = node->left;
		return (struct rb_node *)node;
	}
	while ((parent = node->parent) && node == parent->right)
		node = parent;
	return (struct rb_node *)parent;
}

struct rb_node *rb_prev(const struct rb_node *node)
{
	const struct rb_node *parent;

	if (node->left) {
		node = node->left;
		while (node->right)
			node = node->right;
		return (struct rb_node *)node;
	}
	while ((parent = node->parent) && node == parent->left)
		node = parent;
	return (struct rb_node *)parent;
}

static int rb_validate_node(const struct rb_node *n, const struct rb_node *parent)
{
	int l, r;

	if (!n)
		return 1;
	if (n->parent != parent || (n->color != RB_RED && n->color != RB_BLACK))
		return -1;
	if (n->color == RB_RED && (!rb_is_black(n->left) || !rb_is_black(n->right)))
		return -1;
	l = rb_validate_node(n->left, n);
	r = rb_validate_node(n->right, n);
	if (l < 0 || r < 0 || l != r)
		return -1;
	return l + (n->color == RB_BLACK);
}

int rb_validate(const struct rb_root *root)
{
	if (root->node && root->node->color != RB_BLACK)
		return -1;
	return rb_validate_node(root->node, NULL);
}
