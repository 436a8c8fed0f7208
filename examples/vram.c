/* SPDX-License-Identifier: MIT */
/*
 * vram.c - a device-memory (VRAM) manager on pmm.
 *
 * A GPU's 64 GiB of VRAM has no host memory behind it, so the instance is
 * PMM_BACKING_NONE: a frame is only a number (its VRAM offset is
 * pfn << page_shift) and pmm keeps just its metadata, PMM_PAGE_META_SIZE
 * (64) bytes per frame: 1 GiB for 64 GiB. The example shows:
 *   - an instance set up for device memory: one zone, no reserve, no
 *     vmalloc window, one set of per-CPU lists;
 *   - buffer allocations with an alignment: a buddy block of the aligning
 *     order, split and trimmed to the size, up to max_order; a contiguous
 *     range (pmm_alloc_contig_pages, pmm_alloc_contig_range) above it;
 *   - a fragmentation report from pmm_zone_info(): free blocks per order
 *     and, per order, the kernel's unusable free space index and
 *     fragmentation index (/sys/kernel/debug/extfrag), after filling VRAM
 *     to the brim and freeing half of it at random.
 * Exits 0 when every step and pmm_check() pass, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L	/* clock_gettime */
#include <inttypes.h>
#include <pmm.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define VRAM_BYTES (64ull << 30)

/* A buffer object: VRAM offset pfn << page_shift, nr_pages frames, each refcount 1. */
struct vram_bo {
	pmm_pfn_t pfn;		/* first frame */
	unsigned long nr_pages;	/* frames */
};

/* The smallest order whose block holds @n frames (the kernel's order_base_2). */
static unsigned int order_base_2(uint64_t n)
{
	unsigned int order = 0;

	while ((1ull << order) < n)
		order++;
	return order;
}

static uint64_t prng_next(uint64_t *state)	/* xorshift64*: a fixed run, no libc rand() */
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dull;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * vram_alloc_range - @nr_pages frames above max_order whose first pfn is a
 * multiple of @align_pages. pmm_alloc_contig_pages() tries every candidate
 * aligned to @nr_pages rounded up to a power of two (src/contig.c; pmm.h
 * does not promise it, hence the check); a stronger alignment walks its
 * own candidates with pmm_alloc_contig_range(), which says -PMM_EBUSY when
 * a frame of the candidate is in use. Each refused candidate costs an
 * isolation and a drain of every CPU's lists: keep the walk to few steps.
 * Return: 0, -PMM_ENOMEM when no candidate is free, or another PMM_E* code.
 */
static int vram_alloc_range(pmm_t *pmm, unsigned long nr_pages, uint64_t align_pages,
			    pmm_gfp_t gfp, struct vram_bo *bo)
{
	const struct pmm_config *cfg = pmm_get_config(pmm);

	if (align_pages <= 1ull << order_base_2(nr_pages)) {
		struct pmm_page *page = pmm_alloc_contig_pages(pmm, nr_pages, gfp,
							       PMM_NUMA_NO_NODE);

		if (!page)
			return -PMM_ENOMEM;
		bo->pfn = pmm_page_to_pfn(pmm, page);
		bo->nr_pages = nr_pages;
		if (bo->pfn % align_pages == 0)
			return 0;
		pmm_free_contig_range(pmm, bo->pfn, nr_pages);
	}
	for (unsigned int r = 0; r < cfg->nr_regions; r++) {
		pmm_pfn_t start = cfg->regions[r].start_pfn;
		pmm_pfn_t end = start + cfg->regions[r].nr_pages;

		for (pmm_pfn_t pfn = (start + align_pages - 1) / align_pages * align_pages;
		     pfn + nr_pages <= end; pfn += align_pages) {
			int err = pmm_alloc_contig_range(pmm, pfn, pfn + nr_pages, gfp);

			if (err == 0) {
				bo->pfn = pfn;
				bo->nr_pages = nr_pages;
				return 0;
			}
			if (err != -PMM_EBUSY)
				return err;
		}
	}
	return -PMM_ENOMEM;
}

/*
 * vram_alloc - @size bytes of VRAM at an offset that is a multiple of
 * @align (a power of two; below the page size means page aligned).
 * Up to max_order the buffer is a buddy block of the order that covers
 * both size and alignment (a block is naturally aligned), split into
 * order-0 pages and trimmed: the tail goes straight back through the
 * batched contig free (pmm_alloc_pages_exact_pfn() does the same without
 * the alignment). Either way the buffer ends as order-0 pages with
 * refcount 1, so one call, pmm_free_contig_range(), frees every buffer.
 * Return: 0 with *@bo filled, or a negative PMM_E* code.
 */
static int vram_alloc(pmm_t *pmm, uint64_t size, uint64_t align, pmm_gfp_t gfp,
		      struct vram_bo *bo)
{
	const struct pmm_config *cfg = pmm_get_config(pmm);
	uint64_t page_size = pmm_page_size(pmm);
	unsigned long nr_pages = (unsigned long)((size + page_size - 1) / page_size);
	uint64_t align_pages = align > page_size ? align / page_size : 1;
	unsigned int order = order_base_2(nr_pages);
	struct pmm_page *page;

	if (!nr_pages || (align & (align - 1)))
		return -PMM_EINVAL;
	if (order_base_2(align_pages) > order)
		order = order_base_2(align_pages);
	if (order > cfg->max_order)
		return vram_alloc_range(pmm, nr_pages, align_pages, gfp, bo);

	page = pmm_alloc_pages(pmm, gfp | PMM_GFP_NOWARN, order);
	if (!page)
		return -PMM_ENOMEM;
	bo->pfn = pmm_page_to_pfn(pmm, page);
	bo->nr_pages = nr_pages;
	pmm_split_page(pmm, page, order);
	if (nr_pages < (1ul << order))
		pmm_free_contig_range(pmm, bo->pfn + nr_pages, (1ul << order) - nr_pages);
	return 0;
}

static void vram_free(pmm_t *pmm, const struct vram_bo *bo)
{
	pmm_free_contig_range(pmm, bo->pfn, bo->nr_pages);
}

/*
 * frag_report - per zone, the free blocks of each order and the kernel's
 * two extfrag indices for a request of that order, in thousandths as
 * /sys/kernel/debug/extfrag prints them:
 *   unusable = free pages in blocks too small for the order / free pages
 *              (0: all of it usable, 1: none);
 *   fragmentation = -1 when a block of the order is free (the request
 *              succeeds); else towards 0 the request fails for lack of
 *              memory, towards 1 because what is free is fragmented.
 * Return: 0 or the PMM_E* code of pmm_zone_info().
 */
static int frag_report(pmm_t *pmm, const char *when)
{
	unsigned int max_order = pmm_get_config(pmm)->max_order;

	/* Pages on the per-CPU lists are free but not in the buddy's nr_free. */
	pmm_drain_all_pages(pmm);
	printf("%s\n", when);
	for (unsigned int z = 0; z < pmm_nr_zones(pmm); z++) {
		struct pmm_zone_info zi;
		uint64_t free_pages = 0, free_blocks = 0;
		int err = pmm_zone_info(pmm, z, &zi);

		if (err)
			return err;
		for (unsigned int o = 0; o <= max_order; o++) {
			free_pages += zi.nr_free[o] << o;
			free_blocks += zi.nr_free[o];
		}
		printf("  node %d zone %s: %" PRIu64 " of %" PRIu64 " MiB free\n", zi.nid, zi.name,
		       free_pages * pmm_page_size(pmm) >> 20,
		       zi.managed_pages * pmm_page_size(pmm) >> 20);
		printf("  order  block KiB  free blocks  unusable  fragmentation\n");
		for (unsigned int o = 0; o <= max_order; o++) {
			uint64_t suitable = 0;	/* free pages in blocks of order >= o */
			int64_t unusable, frag;

			for (unsigned int k = o; k <= max_order; k++)
				suitable += zi.nr_free[k] << k;
			if (free_pages)
				unusable = (int64_t)((free_pages - suitable) * 1000 / free_pages);
			else
				unusable = 1000;
			if (!free_blocks)
				frag = 0;
			else if (suitable)
				frag = -1000;
			else
				frag = 1000 - (int64_t)((1000 + free_pages * 1000 / (1ull << o)) /
							free_blocks);
			printf("  %5u %10" PRIu64 " %12" PRIu64 "  %8.3f  %13.3f\n", o,
			       (pmm_page_size(pmm) << o) >> 10, zi.nr_free[o], unusable / 1000.0,
			       frag / 1000.0);
		}
	}
	return 0;
}

/* The mix of buffers the fill uses: size, alignment, migratetype. */
static const struct {
	uint64_t size, align;
	pmm_gfp_t gfp;
} buffer_kinds[] = {
	{ 1 << 20, 64 << 10, PMM_GFP_KERNEL },		/* command buffers, pinned */
	{ 3 << 20, 2 << 20, PMM_GFP_MOVABLE },		/* textures on 2 MiB GPU pages */
	{ 4 << 20, 64 << 10, PMM_GFP_MOVABLE },		/* ... and on 64 KiB ones */
	{ 1920 * 1080 * 4, 64 << 10, PMM_GFP_MOVABLE },	/* 1080p render targets */
	{ 20 << 20, 2 << 20, PMM_GFP_MOVABLE },		/* vertex and compute buffers */
	{ 3840 * 2160 * 4, 64 << 10, PMM_GFP_MOVABLE },	/* 4K render targets */
};
#define NR_BUFFER_KINDS (sizeof(buffer_kinds) / sizeof(buffer_kinds[0]))

static int run(pmm_t *pmm)
{
	struct vram_bo fb, weights, ring, big, *bos = NULL;
	size_t nr_bos = 0, cap = 0, kept = 0;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	uint64_t page_size = pmm_page_size(pmm);
	int err;

	/*
	 * Three large buffers, one per path: a 4K scanout framebuffer (about
	 * 32 MiB: an order-13 block, trimmed), 1 GiB of model weights on
	 * 2 MiB pages (above max_order: pmm_alloc_contig_pages), and a
	 * 48 MiB ring the device wants 256 MiB aligned (stronger than the
	 * 64 MiB its size rounds up to: the walk of aligned candidates).
	 */
	err = vram_alloc(pmm, 3840ull * 2160 * 4, 64 << 10, PMM_GFP_KERNEL, &fb);
	if (!err)
		err = vram_alloc(pmm, 1ull << 30, 2 << 20, PMM_GFP_MOVABLE, &weights);
	if (!err)
		err = vram_alloc(pmm, 48ull << 20, 256ull << 20, PMM_GFP_KERNEL, &ring);
	if (err) {
		fprintf(stderr, "vram: large buffer: %s\n", pmm_strerror(err));
		return 1;
	}
	printf("framebuffer at 0x%" PRIx64 ", weights at 0x%" PRIx64 ", ring at 0x%" PRIx64 "\n",
	       fb.pfn * page_size, weights.pfn * page_size, ring.pfn * page_size);
	if ((ring.pfn * page_size) % (256ull << 20) || (weights.pfn * page_size) % (2 << 20)) {
		fprintf(stderr, "vram: a buffer is not aligned as asked\n");
		return 1;
	}

	/* Fill VRAM with the mix until a request fails: -PMM_ENOMEM is the expected end. */
	for (;;) {
		unsigned int k = (unsigned int)(prng_next(&seed) % NR_BUFFER_KINDS);

		if (nr_bos == cap) {
			struct vram_bo *grown;

			cap = cap ? 2 * cap : 4096;
			grown = realloc(bos, cap * sizeof(*bos));
			if (!grown) {
				fprintf(stderr, "vram: out of host memory\n");
				free(bos);
				return 1;
			}
			bos = grown;
		}
		err = vram_alloc(pmm, buffer_kinds[k].size, buffer_kinds[k].align,
				 buffer_kinds[k].gfp, &bos[nr_bos]);
		if (err == -PMM_ENOMEM)
			break;
		if (err) {
			fprintf(stderr, "vram: buffer %zu: %s\n", nr_bos, pmm_strerror(err));
			free(bos);
			return 1;
		}
		if ((bos[nr_bos].pfn * page_size) % buffer_kinds[k].align) {
			fprintf(stderr, "vram: buffer %zu is not aligned as asked\n", nr_bos);
			free(bos);
			return 1;
		}
		nr_bos++;
	}
	printf("filled: %zu buffers, %" PRIu64 " MiB of VRAM left\n", nr_bos,
	       pmm_free_frames(pmm) * page_size >> 20);

	/* Free a random half: the holes are scattered over all of VRAM. */
	for (size_t i = 0; i < nr_bos; i++) {
		if (prng_next(&seed) & 1)
			vram_free(pmm, &bos[i]);
		else
			bos[kept++] = bos[i];
	}
	err = frag_report(pmm, "after freeing half of the buffers at random:");
	if (err) {
		fprintf(stderr, "vram: pmm_zone_info: %s\n", pmm_strerror(err));
		free(bos);
		return 1;
	}

	/*
	 * Half of VRAM is free, but a 64 MiB buffer needs a whole max_order
	 * block: the report's last row says how few are left.
	 */
	err = vram_alloc(pmm, 64ull << 20, 0, PMM_GFP_MOVABLE, &big);
	if (!err) {
		printf("a 64 MiB buffer still fits at 0x%" PRIx64 "\n", big.pfn * page_size);
		vram_free(pmm, &big);
	} else if (err == -PMM_ENOMEM) {
		printf("a 64 MiB buffer does not fit: %s (the free space is fragmented)\n",
		       pmm_strerror(err));
	} else {
		fprintf(stderr, "vram: 64 MiB buffer: %s\n", pmm_strerror(err));
		free(bos);
		return 1;
	}

	for (size_t i = 0; i < kept; i++)
		vram_free(pmm, &bos[i]);
	free(bos);
	vram_free(pmm, &ring);
	vram_free(pmm, &weights);
	vram_free(pmm, &fb);
	err = frag_report(pmm, "after freeing everything (the buddy merged it all back):");
	if (err) {
		fprintf(stderr, "vram: pmm_zone_info: %s\n", pmm_strerror(err));
		return 1;
	}
	if (pmm_free_frames(pmm) != pmm_managed_frames(pmm)) {
		fprintf(stderr, "vram: %" PRIu64 " frames not given back\n",
			pmm_managed_frames(pmm) - pmm_free_frames(pmm));
		return 1;
	}
	return 0;
}

int main(void)
{
	struct pmm_config cfg;
	pmm_t *pmm;
	double t0;
	int err, status;

	pmm_config_init(&cfg);
	cfg.backing = PMM_BACKING_NONE;	/* frames are numbers: no host memory behind them */
	cfg.regions[0] = (struct pmm_region){ .start_pfn = 0,
					      .nr_pages = VRAM_BYTES >> cfg.page_shift };
	cfg.nr_regions = 1;
	cfg.dma32_end_pfn = 0;		/* one zone: a device address has no 4 GiB limit */
	cfg.min_free_pages = 0;		/* no reserve: no emergency allocates VRAM */
	cfg.vmalloc_size = 0;		/* no vmalloc window (the default: 4 x 64 GiB of
					 * address space) */
	cfg.nr_cpus = 1;		/* one driver thread: one set of per-CPU lists */
	cfg.max_order = 14;		/* buddy blocks up to 64 MiB (max_order + page_shift
					 * must stay within the 128 MiB section) */

	t0 = now_ms();
	err = pmm_create(&cfg, &pmm);
	if (err) {
		fprintf(stderr, "vram: pmm_create: %s\n", pmm_strerror(err));
		return 1;
	}
	printf("vram: %" PRIu64 " GiB in %" PRIu64 " frames, %" PRIu64
	       " MiB of metadata, created in %.0f ms\n",
	       pmm_managed_frames(pmm) * pmm_page_size(pmm) >> 30, pmm_managed_frames(pmm),
	       pmm_managed_frames(pmm) * PMM_PAGE_META_SIZE >> 20, now_ms() - t0);

	status = run(pmm);
	err = pmm_check(pmm);
	if (err) {
		fprintf(stderr, "vram: pmm_check: %s\n", pmm_strerror(err));
		status = 1;
	}
	pmm_destroy(pmm);
	if (!status)
		printf("vram: ok\n");
	return status;
}
