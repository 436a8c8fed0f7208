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
 * every later frame linearly after it, holes included, so
 * pmm_page_address() is one shift and one add.
 */
#include "internal.h"
#include "memmap.h"
#include "os.h"
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
 * The index that makes memmap_chunk_find() O(1): the address range from
 * the lowest chunk to the highest, cut in granules of one chunk's size.
 * At most one chunk starts in a granule (chunks are that size and do not
 * overlap), so "the last chunk starting at or before the granule's end",
 * or the one before it, is the only chunk a pointer there can be in.
 * Chunks spread over more than CHUNK_INDEX_MAX granules (a meta_alloc
 * that scatters them) keep the binary search.
 */
#define CHUNK_INDEX_MAX (1u << 16)

static int build_chunk_index(pmm_t *pmm)
{
	unsigned int shift = PAGE_STRUCT_SHIFT + pmm->pfn_section_shift;
	const struct memmap_chunk *c = pmm->chunks;
	uint64_t n = pmm->nr_chunks, i = 0;

	if (!n)
		return 0;
	pmm->chunk_lo = c[0].base & ~(((uintptr_t)1 << shift) - 1);
	/* up to the granule the highest chunk ends in */
	pmm->nr_granules = ((c[n - 1].base + ((uintptr_t)1 << shift) - 1 - pmm->chunk_lo) >> shift) + 1;
	if (pmm->nr_granules > CHUNK_INDEX_MAX) {
		pmm->nr_granules = 0;
		return 0;
	}
	pmm->chunk_index = meta_alloc(pmm, pmm->nr_granules * sizeof(uint32_t));
	if (!pmm->chunk_index)
		return -PMM_ENOMEM;
	for (uint64_t g = 0; g < pmm->nr_granules; g++) {
		uintptr_t end = pmm->chunk_lo + ((uintptr_t)(g + 1) << shift) - 1;

		while (i + 1 < n && c[i + 1].base <= end)
			i++;
		pmm->chunk_index[g] = (uint32_t)i;
	}
	return 0;
}

/*
 * The sparse model's chunk table: page_belongs() places a caller's pointer
 * in a chunk by address before it reads anything through it.
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
	return build_chunk_index(pmm);
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
		pmm->vmemmap = meta_alloc(pmm, pmm->memmap_bytes);
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
			else if (!(ms->memmap = meta_alloc(pmm, chunk)))
				return -PMM_ENOMEM;
			init_section_pages(pmm, s);
		}
	}
	if (!pmm->vmemmap) {
		int err = build_chunk_table(pmm);

		if (err)
			return err;
	}
	return backing_init(pmm);
}

void memmap_exit(pmm_t *pmm)
{
	size_t chunk = section_pages(pmm) * sizeof(struct pmm_page);

	backing_exit(pmm);
	if (pmm->sections && !pmm->vmemmap)
		for (uint64_t s = 0; s < pmm->nr_sections; s++)
			meta_free(pmm, pmm->sections[s].memmap, chunk);
	meta_free(pmm, pmm->vmemmap, pmm->memmap_bytes);
	meta_free(pmm, pmm->chunk_index, pmm->nr_granules * sizeof(uint32_t));
	pmm->chunk_index = NULL;
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

pmm_pfn_t pmm_page_to_pfn(pmm_t *pmm, const struct pmm_page *page)
{
	return page_to_pfn(pmm, page);
}

void *pmm_page_address(pmm_t *pmm, const struct pmm_page *page)
{
	if (!pmm->direct_map || !page)
		return NULL;
	return pmm->direct_map + ((page_to_pfn(pmm, page) - pmm->min_pfn) << pmm->page_shift);
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
	return page_zone(pmm, page)->nid;
}

enum pmm_zone_type pmm_page_zone(pmm_t *pmm, const struct pmm_page *page)
{
	return page_zone(pmm, page)->type;
}
