/* SPDX-License-Identifier: MIT */
/*
 * dma_pool.c - DMA buffers for devices, on an instance with real memory.
 *
 * The instance is 256 MiB of memfd-backed "physical" memory straddling
 * 4 GiB, so half of it is the DMA32 zone a 32-bit device can reach. Frame
 * pfn is bus address pfn << page_shift; pmm_page_address() is where the
 * CPU sees it. The example shows:
 *   - coherent buffers (the kernel's dma_alloc_coherent): physically
 *     contiguous, zeroed, below the device's DMA mask, from
 *     pmm_alloc_contig_pages() (PMM_GFP_DMA32 for a 32-bit mask), given
 *     back with pmm_free_contig_range();
 *   - a CMA-like window: a fixed physical range whose frames stay free
 *     for everyone until a large buffer is carved out of it with
 *     pmm_alloc_contig_frozen_range() (frames frozen: refcount 0, the
 *     kernel's cma_alloc_frozen), given back with
 *     pmm_free_contig_frozen_range(); -PMM_EBUSY says a frame there is in
 *     use (the kernel would migrate it away; pmm does not migrate);
 *   - a "device" that copies between buffers by bus address, and the CPU
 *     checking what it wrote, through pmm_pfn_to_page() and
 *     pmm_page_address().
 * Exits 0 when every step and pmm_check() pass, 1 otherwise.
 */
#include <inttypes.h>
#include <pmm.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MEM_START ((4ull << 30) - (128ull << 20))	/* 128 MiB below 4 GiB ... */
#define MEM_BYTES (256ull << 20)		/* ... and 128 MiB above */
#define DMA_MASK_32 0xffffffffull
#define DMA_MASK_64 UINT64_MAX

/* One coherent buffer: what a driver keeps (CPU address, bus address, size). */
struct dma_buf {
	void *cpu_addr;		/* the direct map: pmm_page_address() of the first frame */
	uint64_t dma_addr;	/* what the device is given: pfn << page_shift */
	unsigned long nr_pages;	/* frames, physically contiguous */
};

/*
 * dma_alloc - @size bytes of zeroed, physically contiguous memory that a
 * device with @dma_mask can reach.
 * Frames of a contiguous range are consecutive in the memfd's direct map,
 * so the first frame's address covers the whole buffer.
 * Return: 0 with *@buf filled, or -PMM_ENOMEM.
 */
static int dma_alloc(pmm_t *pmm, size_t size, uint64_t dma_mask, struct dma_buf *buf)
{
	size_t page_size = pmm_page_size(pmm);
	unsigned long nr_pages = (unsigned long)((size + page_size - 1) / page_size);
	pmm_gfp_t gfp = PMM_GFP_ZERO | (dma_mask <= DMA_MASK_32 ? PMM_GFP_DMA32 : 0);
	struct pmm_page *page = pmm_alloc_contig_pages(pmm, nr_pages, gfp, PMM_NUMA_NO_NODE);

	if (!page)
		return -PMM_ENOMEM;
	buf->cpu_addr = pmm_page_address(pmm, page);
	buf->dma_addr = (uint64_t)pmm_page_to_pfn(pmm, page) * page_size;
	buf->nr_pages = nr_pages;
	/* DMA32 is the zone below 4 GiB: a mask between 32 and 64 bits gets no zone of its own. */
	if (buf->dma_addr + (uint64_t)nr_pages * page_size - 1 > dma_mask) {
		pmm_free_contig_range(pmm, pmm_page_to_pfn(pmm, page), nr_pages);
		return -PMM_ENOMEM;
	}
	return 0;
}

static void dma_free(pmm_t *pmm, const struct dma_buf *buf)
{
	pmm_free_contig_range(pmm, buf->dma_addr / pmm_page_size(pmm), buf->nr_pages);
}

/* The device's side: it sees bus addresses only; here they become CPU addresses. */
static void *bus_to_virt(pmm_t *pmm, uint64_t dma_addr)
{
	size_t page_size = pmm_page_size(pmm);
	struct pmm_page *page = pmm_pfn_to_page(pmm, dma_addr / page_size);

	return page ? (char *)pmm_page_address(pmm, page) + dma_addr % page_size : NULL;
}

/* A copy engine: @len bytes from bus address @src to @dst, contiguous on both sides. */
static int device_copy(pmm_t *pmm, uint64_t dst, uint64_t src, size_t len)
{
	void *to = bus_to_virt(pmm, dst), *from = bus_to_virt(pmm, src);

	if (!to || !from)
		return -PMM_ERANGE;
	memcpy(to, from, len);
	return 0;
}

/*
 * A CMA-like window: [base, base + nr_pages) handed out in aligned pieces.
 * The pool only remembers which pages it gave out; the free ones stay in
 * the buddy for any allocation, which is CMA's point (and why a piece can
 * be busy when it is asked for).
 */
#define CMA_PAGES 16384	/* 64 MiB at 4 KiB pages */
struct cma_area {
	pmm_pfn_t base;			/* first frame of the window */
	unsigned long nr_pages;		/* frames in the window, <= CMA_PAGES */
	bool used[CMA_PAGES];		/* page i of the window is handed out */
};

/*
 * cma_alloc - @nr_pages frozen frames of the window, aligned to @align
 * pages (a power of two), first fit.
 * Return: the first pfn via *@pfn and 0; -PMM_ENOMEM when every candidate
 * is handed out or busy; another PMM_E* code of pmm_alloc_contig_frozen_range().
 */
static int cma_alloc(pmm_t *pmm, struct cma_area *cma, unsigned long nr_pages,
		     unsigned long align, pmm_pfn_t *pfn)
{
	for (unsigned long off = 0; off + nr_pages <= cma->nr_pages; off += align) {
		unsigned long i = 0;
		int err;

		while (i < nr_pages && !cma->used[off + i])
			i++;
		if (i < nr_pages)
			continue;
		err = pmm_alloc_contig_frozen_range(pmm, cma->base + off,
						    cma->base + off + nr_pages, PMM_GFP_KERNEL);
		if (err == -PMM_EBUSY)
			continue;
		if (err)
			return err;
		memset(&cma->used[off], 1, nr_pages);
		*pfn = cma->base + off;
		return 0;
	}
	return -PMM_ENOMEM;
}

static void cma_release(pmm_t *pmm, struct cma_area *cma, pmm_pfn_t pfn, unsigned long nr_pages)
{
	pmm_free_contig_frozen_range(pmm, pfn, nr_pages);
	memset(&cma->used[pfn - cma->base], 0, nr_pages);
}

#define NR_RX 256		/* a 32-bit NIC's receive buffers */
#define RX_BYTES 9216		/* jumbo frames: 3 pages each */
#define NR_TX 64		/* a 64-bit device's transmit buffers */
#define TX_BYTES (64 << 10)
#define FRAME_PAGES 2048	/* an 8 MiB camera frame from the CMA window */
#define NR_FRAMES 8

static struct cma_area cma;	/* static: the page map is 16 KiB */

static int run(pmm_t *pmm)
{
	static struct dma_buf ring, rx[NR_RX], tx[NR_TX];
	size_t page_size = pmm_page_size(pmm);
	pmm_pfn_t frames[NR_FRAMES], stray_pfn;
	unsigned int nr_frames = 0;
	int err;

	/* A 32-bit NIC: a descriptor ring and its receive buffers, all below 4 GiB. */
	err = dma_alloc(pmm, 16 << 10, DMA_MASK_32, &ring);
	for (unsigned int i = 0; !err && i < NR_RX; i++)
		err = dma_alloc(pmm, RX_BYTES, DMA_MASK_32, &rx[i]);
	/* A 64-bit device: anywhere (the Normal zone first). */
	for (unsigned int i = 0; !err && i < NR_TX; i++)
		err = dma_alloc(pmm, TX_BYTES, DMA_MASK_64, &tx[i]);
	if (err) {
		fprintf(stderr, "dma_pool: dma_alloc: %s\n", pmm_strerror(err));
		return 1;
	}
	printf("ring at 0x%" PRIx64 ", rx[0] at 0x%" PRIx64 ", tx[0] at 0x%" PRIx64 "\n",
	       ring.dma_addr, rx[0].dma_addr, tx[0].dma_addr);

	/*
	 * The CPU fills each TX buffer, the device copies it into RX buffers
	 * by bus address and writes a descriptor into the ring; the CPU then
	 * checks both through its own addresses.
	 */
	for (unsigned int i = 0; i < NR_RX; i++) {
		const struct dma_buf *t = &tx[i % NR_TX];
		uint64_t *desc;

		memset(t->cpu_addr, (int)(i & 0xff), RX_BYTES);
		err = device_copy(pmm, rx[i].dma_addr, t->dma_addr, RX_BYTES);
		desc = bus_to_virt(pmm, ring.dma_addr + i * sizeof(*desc));
		if (!err && !desc)
			err = -PMM_ERANGE;
		if (err) {
			fprintf(stderr, "dma_pool: device: %s\n", pmm_strerror(err));
			return 1;
		}
		*desc = rx[i].dma_addr;
	}
	for (unsigned int i = 0; i < NR_RX; i++) {
		const unsigned char *p = bus_to_virt(pmm, ((uint64_t *)ring.cpu_addr)[i]);

		if (!p || p != rx[i].cpu_addr || p[0] != (i & 0xff) ||
		    p[RX_BYTES - 1] != (i & 0xff)) {
			fprintf(stderr, "dma_pool: rx[%u] does not hold what the device copied\n",
				i);
			return 1;
		}
	}

	/*
	 * The CMA window: the top 64 MiB. A stray single-page allocation sits
	 * in it (put there with pmm_alloc_contig_range(), which takes exactly
	 * the frames asked for), so the camera frame that would cover it is
	 * busy and the window holds one frame fewer than it could.
	 */
	cma.base = (MEM_START + MEM_BYTES) / page_size - CMA_PAGES;
	cma.nr_pages = CMA_PAGES;
	stray_pfn = cma.base + 3 * FRAME_PAGES + 100;
	err = pmm_alloc_contig_range(pmm, stray_pfn, stray_pfn + 1, PMM_GFP_KERNEL);
	if (err) {
		fprintf(stderr, "dma_pool: stray page: %s\n", pmm_strerror(err));
		return 1;
	}
	while (nr_frames < NR_FRAMES) {
		err = cma_alloc(pmm, &cma, FRAME_PAGES, FRAME_PAGES, &frames[nr_frames]);
		if (err)
			break;
		/* Frozen: no reference count to manage, the memory is usable all the same. */
		if (pmm_page_count(pmm_pfn_to_page(pmm, frames[nr_frames])) != 0) {
			fprintf(stderr, "dma_pool: a frozen frame has a reference\n");
			return 1;
		}
		memset(pmm_page_address(pmm, pmm_pfn_to_page(pmm, frames[nr_frames])), 0x5a,
		       (size_t)FRAME_PAGES * page_size);
		nr_frames++;
	}
	if (err != -PMM_ENOMEM || nr_frames != NR_FRAMES - 1) {
		fprintf(stderr, "dma_pool: cma_alloc: %u frames, then %s\n", nr_frames,
			pmm_strerror(err));
		return 1;
	}
	printf("cma: %u frames of %zu MiB from 0x%" PRIx64 " on; the one over the stray page "
	       "is busy\n", nr_frames, FRAME_PAGES * page_size >> 20, cma.base * page_size);

	/* The stray page goes; the window's last frame fits now. */
	pmm_free_contig_range(pmm, stray_pfn, 1);
	err = cma_alloc(pmm, &cma, FRAME_PAGES, FRAME_PAGES, &frames[nr_frames]);
	if (err) {
		fprintf(stderr, "dma_pool: cma_alloc after the stray page went: %s\n",
			pmm_strerror(err));
		return 1;
	}
	nr_frames++;

	/* Everything back: the frames frozen, the coherent buffers with their reference. */
	for (unsigned int i = 0; i < nr_frames; i++)
		cma_release(pmm, &cma, frames[i], FRAME_PAGES);
	for (unsigned int i = 0; i < NR_TX; i++)
		dma_free(pmm, &tx[i]);
	for (unsigned int i = 0; i < NR_RX; i++)
		dma_free(pmm, &rx[i]);
	dma_free(pmm, &ring);

	pmm_drain_all_pages(pmm);
	if (pmm_free_frames(pmm) != pmm_managed_frames(pmm)) {
		fprintf(stderr, "dma_pool: %" PRIu64 " frames not given back\n",
			pmm_managed_frames(pmm) - pmm_free_frames(pmm));
		return 1;
	}
	return 0;
}

int main(void)
{
	struct pmm_config cfg;
	pmm_t *pmm;
	int err, status;

	pmm_config_init(&cfg);	/* memfd backing: pmm_page_address() works */
	cfg.regions[0] = (struct pmm_region){ .start_pfn = MEM_START >> cfg.page_shift,
					      .nr_pages = MEM_BYTES >> cfg.page_shift };
	cfg.nr_regions = 1;
	err = pmm_create(&cfg, &pmm);
	if (err) {
		fprintf(stderr, "dma_pool: pmm_create: %s\n", pmm_strerror(err));
		return 1;
	}
	status = run(pmm);
	err = pmm_check(pmm);
	if (err) {
		fprintf(stderr, "dma_pool: pmm_check: %s\n", pmm_strerror(err));
		status = 1;
	}
	pmm_destroy(pmm);
	if (!status)
		printf("dma_pool: ok\n");
	return status;
}
