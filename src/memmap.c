/* SPDX-License-Identifier: MIT */
/*
 * memmap.c - sections, memmap storage, pfn <-> page, and the backing memory.
 *
 * Physical space is cut into sections of 2^section_shift bytes. A section
 * that holds any region frame is present and has memmap for all of its
 * frames; frames of a present section outside every region are holes,
 * marked PG_reserved and never managed.
 *
 * PMM_MEMMAP_SPARSE gives each present section its own memmap chunk, as
 * classic SPARSEMEM does, so page + 1 is not the next pfn's page across a
 * section boundary: code that walks a pfn range re-derives the page there.
 * PMM_MEMMAP_VMEMMAP reserves one virtually contiguous memmap for the whole
 * span and populates present sections only.
 *
 * The direct map (backed instances) maps frame min_pfn at direct_map and
 * every later frame linearly after it, holes included, so a frame's
 * address is one shift and one add (pfn_to_virt(); pmm_page_address()
 * places the caller's pointer first).
 *
 * Each memmap allocation (a chunk, or the vmemmap) is colored
 * (meta_alloc_colored()): its records begin 128 bytes in, so that a block's
 * head record and the block's first byte are not at one offset within
 * 4 KiB.
 */
#include "internal.h"
#include "memmap.h"
#include "os.h"
#include "page_alloc.h"
#include "page_ref.h"
#include "rmap.h"

static uint64_t section_pages(const pmm_t *pmm)
{
	return 1ULL << pmm->pfn_section_shift;
}

bool pfn_present(const pmm_t *pmm, pmm_pfn_t pfn)
{
	uint64_t sec = pfn >> pmm->pfn_section_shift;

	return pfn >= pmm->min_pfn && pfn < pmm->max_pfn &&
	       pmm->sections[sec - pmm->first_section].memmap;
}

bool pfn_managed(const pmm_t *pmm, pmm_pfn_t pfn)
{
	return pfn_present(pmm, pfn) && !PageReserved(pfn_to_page(pmm, pfn));
}

static void init_section_pages(pmm_t *pmm, uint64_t sec)
{
	struct pmm_page *map = pmm->sections[sec].memmap;

	for (uint64_t i = 0; i < section_pages(pmm); i++) {
		atomic_init(&map[i].flags, PF(PG_reserved) | sec << PAGE_SECTION_SHIFT);
		atomic_init(&map[i].mapcount, -1);
		atomic_init(&map[i].refcount, 0);
	}
}

static int backing_init(pmm_t *pmm)
{
	const struct pmm_config *cfg = &pmm->cfg;
	size_t size = (size_t)(pmm->max_pfn - pmm->min_pfn) << pmm->page_shift;
	void *p = NULL;

	switch (cfg->backing) {
	case PMM_BACKING_NONE:
		return 0;
	case PMM_BACKING_USER:	/* base, alignment and size checked by config_resolve() */
		pmm->direct_map = cfg->user_base;
		pmm->direct_map_size = size;
		return 0;
	case PMM_BACKING_ANON:
		p = pmm_os_map_anon(size);
		if (!p)
			return -PMM_EBACKING;
		if (cfg->anon_hugepages)
			pmm_os_advise_hugepage(p, size);
		break;
	case PMM_BACKING_MEMFD:
		if (pmm_os_memfd_map(size, &pmm->memfd, &p) < 0)
			return -PMM_EBACKING;
		break;
	default:
		return -PMM_EINVAL;
	}
	pmm->direct_map = p;
	pmm->direct_map_size = size;
	return 0;
}

static void backing_exit(pmm_t *pmm)
{
	switch (pmm->cfg.backing) {
	case PMM_BACKING_ANON:
		pmm_os_unmap(pmm->direct_map, pmm->direct_map_size);
		break;
	case PMM_BACKING_MEMFD:
		pmm_os_memfd_unmap(pmm->memfd, pmm->direct_map, pmm->direct_map_size);
		break;
	default:
		break;
	}
	pmm->direct_map = NULL;
}

/* Heapsort the chunk table by address (no libc qsort: the core is freestanding). */
static void sift_down(struct memmap_chunk *c, uint64_t i, uint64_t n)
{
	for (;;) {
		uint64_t big = i, l = 2 * i + 1, r = l + 1;
		struct memmap_chunk t;

		if (l < n && c[l].base > c[big].base)
			big = l;
		if (r < n && c[r].base > c[big].base)
			big = r;
		if (big == i)
			return;
		t = c[i];
		c[i] = c[big];
		c[big] = t;
		i = big;
	}
}

static void sort_chunks(struct memmap_chunk *c, uint64_t n)
{
	for (uint64_t i = n / 2; i-- > 0;)
		sift_down(c, i, n);
	for (uint64_t end = n; end-- > 1;) {
		struct memmap_chunk t = c[0];

		c[0] = c[end];
		c[end] = t;
		sift_down(c, 0, end);
	}
}

/*
 * The placement table that makes page_placed_table() one load: the address
 * range from the lowest chunk to the highest, cut in granules of 2^shift
 * bytes, each holding the pfn bias of the chunk it lies in (pfn = bias +
 * address / 64), or PLACE_NONE. A granule must lie in one chunk: its size
 * divides the chunk size and every chunk's distance from the lowest (2 MiB
 * for the default sections and metadata allocator, whose chunks lie 128
 * bytes into 2 MiB-aligned mappings: meta_alloc_colored()). Every chunk's
 * base is 128-byte aligned, so every bias (a section's first pfn, even,
 * less base / 64) is even and the odd PLACE_NONE is never one. Chunks too
 * scattered for a table of at most PLACE_TABLE_MIN entries or 1/64 of
 * their size, or not 128-byte aligned (a meta_alloc of the caller's), keep
 * the binary search.
 */
#define PLACE_GRANULE_MIN_SHIFT 7
#define PLACE_TABLE_MIN (1u << 16)

static int build_place_table(pmm_t *pmm)
{
	const struct memmap_chunk *c = pmm->chunks;
	uint64_t n = pmm->nr_chunks, chunk_bytes = sizeof(struct pmm_page) << pmm->pfn_section_shift;
	uint64_t nr, max;
	unsigned int shift = PAGE_STRUCT_SHIFT + pmm->pfn_section_shift;
	uintptr_t lo;

	if (!n)
		return 0;
	lo = c[0].base;
	for (uint64_t i = 0; i < n; i++) {
		if ((unsigned int)__builtin_ctzll(c[i].base) < PLACE_GRANULE_MIN_SHIFT)
			return 0;
		if (i && (unsigned int)__builtin_ctzll(c[i].base - lo) < shift)
			shift = (unsigned int)__builtin_ctzll(c[i].base - lo);
	}
	if (shift < PLACE_GRANULE_MIN_SHIFT)
		return 0;
	nr = ((c[n - 1].base + chunk_bytes - lo) >> shift);
	max = n * chunk_bytes / (64 * sizeof(uint64_t));
	if (nr > (max > PLACE_TABLE_MIN ? max : PLACE_TABLE_MIN))
		return 0;
	pmm->place_bias = meta_alloc(pmm, nr * sizeof(uint64_t));
	if (!pmm->place_bias)
		return -PMM_ENOMEM;
	for (uint64_t g = 0; g < nr; g++)
		pmm->place_bias[g] = PLACE_NONE;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t g = (c[i].base - lo) >> shift;

		for (uint64_t k = 0; k < chunk_bytes >> shift; k++)
			pmm->place_bias[g + k] = c[i].start_pfn - (c[i].base >> PAGE_STRUCT_SHIFT);
	}
	pmm->place_lo = lo;
	pmm->place_shift = shift;
	pmm->nr_granules = nr;
	return 0;
}

/*
 * The chunk table, in both models: a present section's memmap by address,
 * so that a caller's pointer is placed in one before anything is read
 * through it (page_placed_pfn()).
 */
static int build_chunk_table(pmm_t *pmm)
{
	uint64_t n = 0;

	for (uint64_t s = 0; s < pmm->nr_sections; s++)
		n += pmm->sections[s].memmap != NULL;
	pmm->chunks = meta_alloc(pmm, n * sizeof(*pmm->chunks));
	if (!pmm->chunks)
		return -PMM_ENOMEM;
	pmm->nr_chunks = 0;
	for (uint64_t s = 0; s < pmm->nr_sections; s++)
		if (pmm->sections[s].memmap)
			pmm->chunks[pmm->nr_chunks++] = (struct memmap_chunk){
				.base = (uintptr_t)pmm->sections[s].memmap,
				.start_pfn = pmm->sections[s].start_pfn };
	sort_chunks(pmm->chunks, pmm->nr_chunks);
	return build_place_table(pmm);
}

/*
 * The binary search over the sorted chunk table, for chunks the placement
 * table does not cover; with the table, an address outside it is in no
 * chunk.
 */
bool page_placed_search(const pmm_t *pmm, uintptr_t p, pmm_pfn_t *pfn)
{
	const struct memmap_chunk *c = pmm->chunks;
	uint64_t n = pmm->nr_chunks, off;

	if (pmm->nr_granules || !n)
		return false;
	while (n > 1) {
		uint64_t half = n / 2;

		if (c[half].base <= p)
			c += half;
		n -= half;
	}
	off = p - c->base;	/* below the first chunk wraps */
	if (off >= (sizeof(struct pmm_page) << pmm->pfn_section_shift) ||
	    off % sizeof(struct pmm_page))
		return false;
	*pfn = c->start_pfn + off / sizeof(struct pmm_page);
	return true;
}

/*
 * memmap_init - sections, memmap, backing for the validated regions.
 * Every page of a present section starts reserved; zones_init() turns the
 * region frames into managed pages of their zone.
 */
int memmap_init(pmm_t *pmm)
{
	const struct pmm_config *cfg = &pmm->cfg;
	uint64_t last_section;
	size_t chunk = section_pages(pmm) * sizeof(struct pmm_page);
	int err;

	pmm->min_pfn = UINT64_MAX;
	pmm->max_pfn = 0;
	for (unsigned int i = 0; i < cfg->nr_regions; i++) {
		const struct pmm_region *r = &cfg->regions[i];

		if (r->start_pfn < pmm->min_pfn)
			pmm->min_pfn = r->start_pfn;
		if (r->start_pfn + r->nr_pages > pmm->max_pfn)
			pmm->max_pfn = r->start_pfn + r->nr_pages;
	}
	pmm->first_section = pmm->min_pfn >> pmm->pfn_section_shift;
	last_section = (pmm->max_pfn - 1) >> pmm->pfn_section_shift;
	pmm->nr_sections = last_section - pmm->first_section + 1;
	pmm->sections = meta_alloc(pmm, pmm->nr_sections * sizeof(struct mem_section));
	if (!pmm->sections)
		return -PMM_ENOMEM;

	if (cfg->memmap == PMM_MEMMAP_VMEMMAP) {
		pmm->memmap_bytes = pmm->nr_sections * chunk;
		pmm->vmemmap = meta_alloc_colored(pmm, pmm->memmap_bytes);
		if (!pmm->vmemmap)
			return -PMM_ENOMEM;
	}

	for (unsigned int i = 0; i < cfg->nr_regions; i++) {
		const struct pmm_region *r = &cfg->regions[i];
		uint64_t s = (r->start_pfn >> pmm->pfn_section_shift) - pmm->first_section;
		uint64_t e = ((r->start_pfn + r->nr_pages - 1) >> pmm->pfn_section_shift) -
			     pmm->first_section;

		for (; s <= e; s++) {
			struct mem_section *ms = &pmm->sections[s];

			if (ms->memmap)
				continue;
			ms->start_pfn = (s + pmm->first_section) << pmm->pfn_section_shift;
			if (pmm->vmemmap)
				ms->memmap = pmm->vmemmap + s * section_pages(pmm);
			else if (!(ms->memmap = meta_alloc_colored(pmm, chunk)))
				return -PMM_ENOMEM;
			init_section_pages(pmm, s);
		}
	}
	err = build_chunk_table(pmm);
	if (err)
		return err;
	return backing_init(pmm);
}

void memmap_exit(pmm_t *pmm)
{
	size_t chunk = section_pages(pmm) * sizeof(struct pmm_page);

	backing_exit(pmm);
	if (pmm->sections && !pmm->vmemmap)
		for (uint64_t s = 0; s < pmm->nr_sections; s++)
			meta_free_colored(pmm, pmm->sections[s].memmap, chunk);
	meta_free_colored(pmm, pmm->vmemmap, pmm->memmap_bytes);
	meta_free(pmm, pmm->place_bias, pmm->nr_granules * sizeof(uint64_t));
	pmm->place_bias = NULL;
	pmm->nr_granules = 0;
	meta_free(pmm, pmm->chunks, pmm->nr_chunks * sizeof(*pmm->chunks));
	meta_free(pmm, pmm->sections, pmm->nr_sections * sizeof(struct mem_section));
	pmm->chunks = NULL;
	pmm->sections = NULL;
	pmm->vmemmap = NULL;
}

/* ------------------------------------------------------------------------
 * Public frame API
 * ------------------------------------------------------------------------ */

struct pmm_page *pmm_pfn_to_page(pmm_t *pmm, pmm_pfn_t pfn)
{
	return pfn_managed(pmm, pfn) ? pfn_to_page(pmm, pfn) : NULL;
}

/* The page queries below place a caller's pointer before they read it (page_valid_for_free()). */
pmm_pfn_t pmm_page_to_pfn(pmm_t *pmm, const struct pmm_page *page)
{
	if (!page_valid_for_free(pmm, page, "pmm_page_to_pfn: page not managed by this instance"))
		return (pmm_pfn_t)-1;
	return page_to_pfn(pmm, page);
}

void *pmm_page_address(pmm_t *pmm, const struct pmm_page *page)
{
	if (!pmm->direct_map || !page ||
	    !page_valid_for_free(pmm, page, "pmm_page_address: page not managed by this instance"))
		return NULL;
	return pfn_to_virt(pmm, page_to_pfn(pmm, page));
}

struct pmm_page *pmm_virt_to_page(pmm_t *pmm, const void *addr)
{
	uintptr_t a = (uintptr_t)addr, base = (uintptr_t)pmm->direct_map;

	if (!pmm->direct_map || a < base || a - base >= pmm->direct_map_size)
		return NULL;
	return pmm_pfn_to_page(pmm, pmm->min_pfn + ((a - base) >> pmm->page_shift));
}

size_t pmm_page_size(const pmm_t *pmm)
{
	return (size_t)1 << pmm->page_shift;
}

int pmm_page_count(const struct pmm_page *page)
{
	return page_ref_count(compound_head(page));
}

int pmm_page_mapcount(const struct pmm_page *page)
{
	const struct pmm_folio *folio = page_folio(page);

	if (folio_test_large(folio) && folio_counts_per_folio(folio))
		return folio_mapcount(folio);
	return atomic_load_explicit(&((struct pmm_page *)page)->mapcount, memory_order_relaxed) + 1;
}

int pmm_page_nid(pmm_t *pmm, const struct pmm_page *page)
{
	if (!page_valid_for_free(pmm, page, "pmm_page_nid: page not managed by this instance"))
		return -1;
	return page_zone(pmm, page)->nid;
}

enum pmm_zone_type pmm_page_zone(pmm_t *pmm, const struct pmm_page *page)
{
	if (!page_valid_for_free(pmm, page, "pmm_page_zone: page not managed by this instance"))
		return PMM_NR_ZONE_TYPES;
	return page_zone(pmm, page)->type;
}
