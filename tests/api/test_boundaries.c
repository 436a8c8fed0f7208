/* SPDX-License-Identifier: MIT */
/*
 * test_boundaries.c - zone and node boundaries that are not max_order
 * aligned. Linux allows them, and so does pmm: a free block never crosses
 * one, whichever path frees the frames on both sides (free_contig_range,
 * free_pages_bulk, free_contig_frozen_range, batched or per page, sparse or
 * vmemmap memmap), and pmm_check() notices a block holding another zone's
 * frames even where the zone's pfn span covers them.
 */
#include "testutil.h"

#include <stdlib.h>

enum free_call { FREE_RANGE, FREE_BULK, FREE_FROZEN };

static const char *const call_names[] = { "free_contig_range", "free_pages_bulk",
					  "free_contig_frozen_range" };

/* A layout with an unaligned DMA32/Normal boundary: 4 GiB - 24 pages. */
#define DMA32_END (0x100000ull - 24)

static void config_dma32(struct pmm_config *cfg)
{
	cfg->regions[0].start_pfn = 0x100000ull - 4096;	/* 16 MiB below 4 GiB */
	cfg->regions[0].nr_pages = 8192;
	cfg->dma32_end_pfn = DMA32_END;
}

/*
 * Two nodes with unaligned boundaries at 4000 and 7000 (the issue's
 * {0, 40000, 0}, {40000, 30000, 1}, {70000, 25536, 0} scaled down): node 0's
 * DMA32 zone spans node 1's frames.
 */
static void config_nodes(struct pmm_config *cfg)
{
	cfg->nr_regions = 0;
	tu_config_region(cfg, 0, 0, 4000, 0);
	tu_config_region(cfg, 1, 4000, 3000, 1);
	tu_config_region(cfg, 2, 7000, 2536, 0);
}

/*
 * Take [start, end) with one contig allocation per zone it touches (a
 * contig allocation stays in one zone), then give all of it back with one
 * call of @how.
 */
static void take_and_free(pmm_t *pmm, pmm_pfn_t start, pmm_pfn_t end, pmm_pfn_t split,
			  enum free_call how)
{
	bool frozen = how == FREE_FROZEN;

	if (split > start)
		assert_int_equal(frozen ? pmm_alloc_contig_frozen_range(pmm, start, split, 0)
					: pmm_alloc_contig_range(pmm, start, split, 0), 0);
	if (split < end)
		assert_int_equal(frozen ? pmm_alloc_contig_frozen_range(pmm, split, end, 0)
					: pmm_alloc_contig_range(pmm, split, end, 0), 0);
	tu_check(pmm);
	switch (how) {
	case FREE_RANGE:
		pmm_free_contig_range(pmm, start, (unsigned long)(end - start));
		break;
	case FREE_FROZEN:
		pmm_free_contig_frozen_range(pmm, start, (unsigned long)(end - start));
		break;
	case FREE_BULK: {
		unsigned long n = (unsigned long)(end - start);
		struct pmm_page **v = calloc(n, sizeof(*v));

		assert_non_null(v);
		for (unsigned long i = 0; i < n; i++)
			v[i] = tu_page_at(pmm, start + i);
		pmm_free_pages_bulk(pmm, v, n);
		free(v);
		break;
	}
	}
}

/*
 * Ranges around @split, starting on either side, ending on it, starting at
 * it, freed by each of the three calls, on this case's memmap model and
 * contig path: every zone ends with the fresh instance's buddyinfo.
 */
static void cross_boundary(struct tu_fx *fx, void (*layout)(struct pmm_config *), pmm_pfn_t split)
{
	const pmm_pfn_t ranges[][2] = {
		{ split - 100, split + 100 }, { split - 500, split + 12 }, { split - 7, split + 700 },
		{ split - 256, split }, { split, split + 256 }, { split - 1, split + 1 },
	};

	for (int how = 0; how < 3; how++) {
		for (size_t r = 0; r < ARRAY_SIZE(ranges); r++) {
			pmm_t *pmm;

			layout(tu_fx_contig_config(fx, 4));
			pmm = tu_fx_create(fx);
			print_message("%s %s [%#llx, %#llx) around %#llx\n", fx->v.name, call_names[how],
				      (unsigned long long)ranges[r][0], (unsigned long long)ranges[r][1],
				      (unsigned long long)split);
			take_and_free(pmm, ranges[r][0], ranges[r][1], split, (enum free_call)how);
			tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
			fx->pmm = NULL;
		}
	}
}

static void test_dma32_boundary(void **state)
{
	cross_boundary(*state, config_dma32, DMA32_END);
}

static void test_node_boundary_into_node1(void **state)
{
	cross_boundary(*state, config_nodes, 4000);
}

static void test_node_boundary_back_to_node0(void **state)
{
	cross_boundary(*state, config_nodes, 7000);
}

/* Frames of three zones freed in one call: every frame goes home to its own zone. */
static void test_node_frames_stay_home(void **state)
{
	struct tu_fx *fx = *state;
	struct pmm_zone_info zi;
	pmm_t *pmm;

	config_nodes(tu_fx_contig_config(fx, 4));
	pmm = tu_fx_create(fx);
	assert_int_equal(pmm_alloc_contig_range(pmm, 3000, 4000, 0), 0);
	assert_int_equal(pmm_alloc_contig_range(pmm, 4000, 7000, 0), 0);
	assert_int_equal(pmm_alloc_contig_range(pmm, 7000, 8000, 0), 0);
	pmm_free_contig_range(pmm, 3000, 5000);
	pmm_drain_all_pages(pmm);
	for (unsigned int z = 0; z < pmm_nr_zones(pmm); z++) {
		tu_zone(pmm, z, &zi);
		assert_int_equal(zi.free_pages, zi.managed_pages);
	}
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
	fx->pmm = NULL;
}

/* A contig allocation that would span two zones is refused and changes nothing. */
static void test_contig_range_spanning_zones(void **state)
{
	struct tu_fx *fx = *state;
	pmm_t *pmm;

	config_nodes(tu_fx_contig_config(fx, 4));
	pmm = tu_fx_create(fx);
	assert_int_equal(pmm_alloc_contig_range(pmm, 3900, 4100, 0), -PMM_EINVAL);
	/* Node 0 on both ends, node 1 in the middle: the ends' zones agree. */
	assert_int_equal(pmm_alloc_contig_range(pmm, 3900, 7100, 0), -PMM_EINVAL);
	tu_finish(pmm, .bad = &fx->bad, .fresh = &fx->fresh);
	fx->pmm = NULL;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		TU_CONTIG_TESTS(test_dma32_boundary),
		TU_CONTIG_TESTS(test_node_boundary_into_node1),
		TU_CONTIG_TESTS(test_node_boundary_back_to_node0),
		TU_TEST(test_node_frames_stay_home),
		TU_TEST(test_contig_range_spanning_zones),
	};

	return tu_main(argc, argv, tests);
}
