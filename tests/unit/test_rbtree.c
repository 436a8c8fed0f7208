/* SPDX-License-Identifier: MIT */
/*
 * test_rbtree.c - src/rbtree.c against a model: seeded random inserts and
 * erases of keyed nodes, after each of which the tree must keep the
 * red-black rules (rb_validate), hold exactly the model's keys in order
 * (rb_first/rb_next forwards, rb_prev backwards), and carry in every node
 * the largest value of its subtree (the augmentation the vmap areas' free
 * tree relies on: a wrong value there hides free space or offers space
 * that is not free). No instance is involved, so there is no pmm_check().
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "rbtree.h"

#include <stdlib.h>
#include <string.h>

#define NODES 2048

struct item {
	struct rb_node rb;
	uint64_t key;
	uint64_t value;
	uint64_t subtree_max;	/* the augmented value */
	bool in_tree;
};

static uint64_t sub_max(const struct rb_node *n)
{
	return n ? rb_entry(n, struct item, rb)->subtree_max : 0;
}

static void augment(struct rb_node *n)
{
	struct item *it = rb_entry(n, struct item, rb);
	uint64_t m = it->value;

	if (sub_max(n->left) > m)
		m = sub_max(n->left);
	if (sub_max(n->right) > m)
		m = sub_max(n->right);
	it->subtree_max = m;
}

static void insert(struct rb_root *root, struct item *it, bool augmented)
{
	struct rb_node **link = &root->node, *parent = NULL;

	while (*link) {
		parent = *link;
		link = it->key < rb_entry(parent, struct item, rb)->key ? &parent->left : &parent->right;
	}
	rb_link_node(&it->rb, parent, link);
	it->subtree_max = it->value;
	rb_insert(root, &it->rb, augmented ? augment : NULL);
	it->in_tree = true;
}

/* The augmented value recomputed from scratch; asserts each node's stored one. */
static uint64_t check_augment(const struct rb_node *n)
{
	const struct item *it;
	uint64_t m, l, r;

	if (!n)
		return 0;
	it = rb_entry(n, struct item, rb);
	l = check_augment(n->left);
	r = check_augment(n->right);
	m = it->value;
	if (l > m)
		m = l;
	if (r > m)
		m = r;
	assert_int_equal(it->subtree_max, m);
	return m;
}

static void check_tree(const struct rb_root *root, const struct item *items, bool augmented)
{
	size_t expect = 0, seen = 0;
	const struct rb_node *n, *last = NULL;

	for (size_t i = 0; i < NODES; i++)
		expect += items[i].in_tree;
	assert_true(rb_validate(root) >= 0);
	for (n = rb_first(root); n; n = rb_next(n)) {
		assert_true(rb_entry(n, struct item, rb)->in_tree);
		if (last)
			assert_true(rb_entry(last, struct item, rb)->key <=
				    rb_entry(n, struct item, rb)->key);
		last = n;
		seen++;
	}
	assert_int_equal(seen, expect);
	for (n = last; n; n = rb_prev(n))
		seen--;
	assert_int_equal(seen, 0);
	if (augmented)
		check_augment(root->node);
}

static void run_random(bool augmented, uint64_t salt)
{
	struct item *items = calloc(NODES, sizeof(*items));
	struct rb_root root = { NULL };
	struct prng rng;

	assert_non_null(items);
	tu_rng_init(&rng, augmented ? "rbtree augmented" : "rbtree plain", salt);
	for (size_t i = 0; i < NODES; i++) {
		items[i].key = prng_below(&rng, NODES / 2);	/* duplicate keys too */
		items[i].value = prng_below(&rng, 1u << 20);
	}
	for (unsigned int step = 0; step < 8 * NODES; step++) {
		struct item *it = &items[prng_below(&rng, NODES)];

		if (it->in_tree) {
			rb_erase(&root, &it->rb, augmented ? augment : NULL);
			it->in_tree = false;
		} else {
			insert(&root, it, augmented);
		}
		/* Changing a node's own value, then propagating, as the free tree's clip does. */
		if (augmented && (step % 5) == 0 && root.node) {
			struct item *top = rb_entry(root.node, struct item, rb);

			top->value = prng_below(&rng, 1u << 20);
			rb_propagate(&top->rb, augment);
		}
		if (step % 64 == 0 || step < 256)
			check_tree(&root, items, augmented);
	}
	check_tree(&root, items, augmented);
	/* Empty it in insertion-independent order: the tree ends empty and valid. */
	for (size_t i = 0; i < NODES; i++) {
		if (!items[i].in_tree)
			continue;
		rb_erase(&root, &items[i].rb, augmented ? augment : NULL);
		items[i].in_tree = false;
	}
	assert_null(root.node);
	assert_int_equal(rb_validate(&root), 1);
	free(items);
}

static void test_rbtree_plain_random(void **state)
{
	(void)state;
	run_random(false, 1);
}

static void test_rbtree_augmented_random(void **state)
{
	(void)state;
	run_random(true, 2);
}

/* Sorted insertion, the worst case for an unbalanced tree: the height stays logarithmic. */
static void test_rbtree_sorted_stays_balanced(void **state)
{
	struct item *items = calloc(NODES, sizeof(*items));
	struct rb_root root = { NULL };
	int black_height;

	(void)state;
	assert_non_null(items);
	for (size_t i = 0; i < NODES; i++) {
		items[i].key = i;
		items[i].value = i;
		insert(&root, &items[i], true);
	}
	check_tree(&root, items, true);
	black_height = rb_validate(&root);
	/* A red-black tree of n nodes has black height <= log2(n + 1) + 1. */
	assert_true(black_height >= 1 && black_height <= 12 + 1);
	assert_int_equal(rb_entry(root.node, struct item, rb)->subtree_max, NODES - 1);
	free(items);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rbtree_plain_random),
		cmocka_unit_test(test_rbtree_augmented_random),
		cmocka_unit_test(test_rbtree_sorted_stays_balanced),
	};

	return tu_main(argc, argv, tests);
}
