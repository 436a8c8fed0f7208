/* SPDX-License-Identifier: MIT */
/*
 * test_faults.c - fault injection (struct pmm_fault_attr, the kernel's
 * fail_page_alloc/failslab): sweeps that fail the Nth metadata or page
 * allocation of every call that allocates and prove that each error path
 * returns cleanly - the documented error, nothing leaked (metadata counted
 * through cfg.meta_alloc/meta_free, frames through the conservation
 * identity), every pageblock keeping its migratetype, pmm_check() == 0 -
 * and that the same call succeeds once the attribute is cleared. Then the
 * attribute's semantics (interval, times, probability with a seed,
 * min_order, the fault_injected counter) and a multi-thread run with
 * probabilistic page-allocation faults.
 *
 * Every test ends with pmm_check() == 0.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every metadata block the instances allocate, counted (testutil's tu_meta). */
static struct tu_meta meta = TU_META_INIT;

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------ */

static struct pmm_fault_attr attr_nth(uint64_t nth, int64_t times)
{
	return (struct pmm_fault_attr){ .nth = nth, .probability = 100, .times = times };
}

static void arm(pmm_t *pmm, enum pmm_fault_kind kind, uint64_t nth, int64_t times)
{
	struct pmm_fault_attr a = attr_nth(nth, times);

	assert_int_equal(pmm_fault_set(pmm, kind, &a), 0);
}

static void disarm(pmm_t *pmm, enum pmm_fault_kind kind)
{
	struct pmm_fault_attr a = attr_nth(0, -1);

	assert_int_equal(pmm_fault_set(pmm, kind, &a), 0);
}

static uint64_t injected(pmm_t *pmm)
{
	return tu_stats(pmm).fault_injected;
}

/* A runtime-sweep instance: 32 MiB, 4 MiB sections, quiet, counted reports. */
static pmm_t *sweep_instance(struct tu_bad *bad, bool pcp)
{
	struct pmm_config cfg;

	tu_bad_reset(bad);
	tu_config(&cfg, 32, bad);
	cfg.section_shift = TU_SECTION_SHIFT;
	cfg.pcp_disable = !pcp;
	return tu_create(&cfg);
}

/* The same for a case of TU_PCP_TESTS. */
static pmm_t *sweep_variant(struct tu_fx *fx)
{
	tu_fx_config(fx, 32)->section_shift = TU_SECTION_SHIFT;
	return tu_fx_create(fx);
}

/* ------------------------------------------------------------------------
 * File descriptors: a failed create must close exactly what it opened.
 * ------------------------------------------------------------------------ */

static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own descriptor */
}

/* Keep descriptor 0 open (ctest may start us without stdin). */
static void fd0_ensure_open(void)
{
	if (fcntl(0, F_GETFD) == -1) {
		int fd = open("/dev/null", O_RDONLY);

		if (fd > 0) {
			dup2(fd, 0);
			close(fd);
		}
	}
}

/* ------------------------------------------------------------------------
 * 1. pmm_create: fail the Nth metadata allocation, for every N
 * ------------------------------------------------------------------------ */

struct variant {
	const char *name;
	void (*make)(struct pmm_config *cfg);
	unsigned int min_meta;	/* at least this many metadata allocations */
};

static void v_sparse(struct pmm_config *cfg)
{
	tu_config(cfg, 16, NULL);
	cfg->section_shift = TU_SECTION_SHIFT;
}

static void v_vmemmap(struct pmm_config *cfg)
{
	v_sparse(cfg);
	cfg->memmap = PMM_MEMMAP_VMEMMAP;
}

/* 16-frame sections: 256 of them for 16 MiB, one memmap chunk each. */
static void v_tiny_sections(struct pmm_config *cfg)
{
	tu_config(cfg, 16, NULL);
	cfg->max_order = 4;
	cfg->pageblock_order = 3;
	cfg->section_shift = 16;
}

static void v_tiny_sections_vmemmap(struct pmm_config *cfg)
{
	v_tiny_sections(cfg);
	cfg->memmap = PMM_MEMMAP_VMEMMAP;
	cfg->backing = PMM_BACKING_NONE;
}

/*
 * Three regions on three nodes with holes; region 0 crosses the DMA32
 * boundary, so four zones; eight CPUs.
 */
static void v_multi_node(struct pmm_config *cfg)
{
	tu_config(cfg, 16, NULL);
	cfg->section_shift = TU_SECTION_SHIFT;
	tu_config_region(cfg, 0, 0xff000, 8192, 0);
	tu_config_region(cfg, 1, 0x101800, 2048, 1);
	tu_config_region(cfg, 2, 0x103000, 3000, 2);
	tu_config_cpus(cfg, 8);
}

static void v_multi_node_vmemmap_anon(struct pmm_config *cfg)
{
	v_multi_node(cfg);
	cfg->memmap = PMM_MEMMAP_VMEMMAP;
	cfg->backing = PMM_BACKING_ANON;
	tu_config_cpus(cfg, 3);
}

static void *user_buf;
#define USER_BYTES TU_MIB(8)

static void v_user_backing(struct pmm_config *cfg)
{
	tu_config(cfg, 8, NULL);
	cfg->section_shift = TU_SECTION_SHIFT;
	cfg->backing = PMM_BACKING_USER;
	cfg->user_base = user_buf;
	cfg->user_size = USER_BYTES;
	tu_config_cpus(cfg, 4);
	cfg->pcp_disable = true;
}

static const struct variant variants[] = {
	{ "sparse", v_sparse, 1 + 1 + 4 + 2 },
	{ "vmemmap", v_vmemmap, 1 + 1 + 1 + 2 },
	{ "sparse, 256 sections", v_tiny_sections, 1 + 1 + 256 + 2 },
	{ "vmemmap, 256 sections, no backing", v_tiny_sections_vmemmap, 1 + 1 + 1 + 2 },
	{ "sparse, 3 nodes, 4 zones, 8 CPUs", v_multi_node, 1 + 1 + 4 * 2 },
	{ "vmemmap, 3 nodes, anon backing, 3 CPUs", v_multi_node_vmemmap_anon, 1 + 1 + 1 + 4 * 2 },
	{ "user backing, 4 CPUs, pcp off", v_user_backing, 1 + 1 + 2 + 2 },
};

/*
 * One variant: for N = 1, 2, ... fail the Nth metadata allocation of
 * pmm_create() until it succeeds. Return: the number of metadata
 * allocations create makes.
 */
static unsigned int create_sweep(const struct variant *v)
{
	pmm_t *pmm = NULL;
	unsigned int n;

	for (n = 1;; n++) {
		struct pmm_config cfg;
		int rc;

		assert_true(n < 5000);
		v->make(&cfg);
		tu_meta_install(&cfg, &meta);
		cfg.fault[PMM_FAULT_META_ALLOC] = attr_nth(n, 1);
		fd0_ensure_open();
		pmm = (pmm_t *)(uintptr_t)0x1;	/* must be overwritten */
		rc = pmm_create(&cfg, &pmm);
		if (rc == -PMM_ENOMEM) {
			assert_null(pmm);
			if (tu_meta_live(&meta))
				print_message("%s: N=%u: %ld metadata blocks (%zu bytes) leaked\n",
					      v->name, n, tu_meta_live(&meta), meta.live_bytes);
			assert_int_equal(tu_meta_live(&meta), 0);
			assert_int_equal(meta.bad_frees, 0);
			continue;
		}
		if (rc != 0)
			print_message("%s: N=%u: pmm_create %d (%s)\n", v->name, n, rc,
				      pmm_strerror(rc));
		assert_int_equal(rc, 0);
		assert_non_null(pmm);
		break;
	}

	/* the instance that finally came up is whole */
	assert_int_equal(injected(pmm), 0);
	assert_int_equal(pmm_free_frames(pmm), pmm_managed_frames(pmm));
	assert_int_equal(pmm_leaked_frames(pmm), 0);
	tu_check(pmm);
	{
		struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 1);

		assert_non_null(p);
		pmm_free_pages(pmm, p, 1);
	}
	/*
	 * The attribute stays armed: its next eligible call is call N, the
	 * first metadata allocation after create (alloc_contig_range's
	 * isolation state). It fails once (times = 1), then works.
	 */
	{
		pmm_pfn_t s = pmm_get_config(pmm)->regions[0].start_pfn;
		struct tu_pageblocks b0, b1;

		tu_pageblocks_snap(pmm, &b0);
		assert_int_equal(pmm_alloc_contig_range(pmm, s, s + 3, PMM_GFP_KERNEL), -PMM_ENOMEM);
		assert_int_equal(injected(pmm), 1);
		tu_pageblocks_snap(pmm, &b1);
		tu_pageblocks_assert_equal(&b0, &b1);
		tu_assert_conserved(pmm, 0);
		assert_int_equal(pmm_alloc_contig_range(pmm, s, s + 3, PMM_GFP_KERNEL), 0);
		assert_int_equal(injected(pmm), 1);
		tu_assert_conserved(pmm, 3);
		pmm_free_contig_range(pmm, s, 3);
	}
	assert_true(tu_meta_live(&meta) > 0);
	tu_finish(pmm);
	assert_int_equal(tu_meta_live(&meta), 0);
	assert_int_equal(meta.bad_frees, 0);
	tu_meta_reset(&meta);
	return n - 1;
}

static void test_create_sweep(void **state)
{
	(void)state;
	user_buf = mmap(NULL, USER_BYTES, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(user_buf != MAP_FAILED);
	tu_meta_reset(&meta);
	for (unsigned int i = 0; i < ARRAY_SIZE(variants); i++) {
		unsigned int n = create_sweep(&variants[i]);

		print_message("create sweep \"%s\": %u metadata allocations, each failed once\n",
			      variants[i].name, n);
		assert_true(n >= variants[i].min_meta);
	}
	munmap(user_buf, USER_BYTES);
}

/* The default metadata allocator (anonymous mmap) behind the same attribute. */
static void test_create_sweep_default_allocator(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(variants); i++) {
		unsigned int n;

		if (variants[i].make == v_user_backing)
			continue;
		for (n = 1; n < 5000; n++) {
			struct pmm_config cfg;
			pmm_t *pmm = (pmm_t *)(uintptr_t)0x1;
			int rc;

			variants[i].make(&cfg);
			cfg.fault[PMM_FAULT_META_ALLOC] = attr_nth(n, 1);
			fd0_ensure_open();
			rc = pmm_create(&cfg, &pmm);
			if (rc == -PMM_ENOMEM) {
				assert_null(pmm);
				continue;
			}
			assert_int_equal(rc, 0);
			tu_finish(pmm);
			break;
		}
		assert_true(n >= variants[i].min_meta);
	}
}

/*
 * A failed create closes only what it opened: descriptor 0 (and every
 * other descriptor of the process) is untouched, none is left open.
 */
static void test_create_fault_fds(void **state)
{
	static const struct variant *const fv[] = { &variants[0], &variants[1], &variants[4] };

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(fv); i++) {
		for (unsigned int n = 1; n < 5000; n++) {
			struct pmm_config cfg;
			struct stat st0, st1;
			pmm_t *pmm = NULL;
			int rc, fds;

			fd0_ensure_open();
			assert_int_equal(fstat(0, &st0), 0);
			fds = fd_count();
			fv[i]->make(&cfg);
			tu_meta_install(&cfg, &meta);
			cfg.fault[PMM_FAULT_META_ALLOC] = attr_nth(n, 1);
			rc = pmm_create(&cfg, &pmm);
			if (rc == 0) {
				tu_finish(pmm);
				assert_int_equal(fd_count(), fds);
				break;
			}
			assert_int_equal(rc, -PMM_ENOMEM);
			if (fstat(0, &st1) != 0 || st1.st_ino != st0.st_ino || st1.st_dev != st0.st_dev)
				fail_msg("%s: N=%u: pmm_create failed with -PMM_ENOMEM and closed "
					 "descriptor 0, which it never opened", fv[i]->name, n);
			if (fd_count() != fds)
				fail_msg("%s: N=%u: %d descriptors before a failed create, %d after",
					 fv[i]->name, n, fds, fd_count());
		}
	}
	tu_meta_reset(&meta);
}

/* ------------------------------------------------------------------------
 * 2. Runtime sweeps, one per call that allocates
 * ------------------------------------------------------------------------ */

/*
 * One allocation of an order sweep, checked (refcount 1, the right order)
 * and recorded in @held; @retry: the same call once the attribute is
 * cleared. Return: false when it failed.
 */
typedef bool sweep_alloc_fn(pmm_t *pmm, unsigned int order, bool retry, struct tu_list *held);

/* pmm_alloc_pages / pmm_alloc_pages_node, alternating, with mixed migratetypes. */
static bool sweep_pages(pmm_t *pmm, unsigned int o, bool retry, struct tu_list *held)
{
	pmm_gfp_t gfp = (o % 3 == 1 ? PMM_GFP_MOVABLE : PMM_GFP_KERNEL) | PMM_GFP_NOWARN;
	struct pmm_page *p;

	if (retry)
		p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, o);
	else
		p = o % 2 ? pmm_alloc_pages_node(pmm, 0, gfp, o) : pmm_alloc_pages(pmm, gfp, o);
	if (!p)
		return false;
	assert_int_equal(pmm_page_count(p), 1);
	tu_list_push(held, p, o, TU_PAGES, 0);
	return true;
}

static bool sweep_folios(pmm_t *pmm, unsigned int o, bool retry, struct tu_list *held)
{
	struct pmm_folio *f = pmm_folio_alloc(pmm, PMM_GFP_MOVABLE | (retry ? 0 : PMM_GFP_NOWARN), o);

	if (!f)
		return false;
	assert_int_equal(pmm_folio_order(f), o);
	assert_int_equal(pmm_folio_ref_count(f), 1);
	tu_list_push(held, pmm_folio_page(pmm, f, 0), o, TU_FOLIO, 0);
	return true;
}

/*
 * Orders 0..max_order (largest first if @down) through @alloc: the
 * sequence makes max_order + 1 eligible calls; call N fails, nothing else.
 */
static void order_sweep(struct tu_fx *fx, sweep_alloc_fn *alloc, bool down)
{
	pmm_t *pmm = sweep_variant(fx);
	const unsigned int maxo = pmm_get_config(pmm)->max_order;
	const unsigned int calls = maxo + 1;

	for (unsigned int n = 1; n <= calls + 2; n++) {
		struct tu_list held = { 0 };
		unsigned int fails = 0, failed_order = UINT32_MAX;
		uint64_t inj0 = injected(pmm);

		arm(pmm, PMM_FAULT_PAGE_ALLOC, n, 1);
		for (unsigned int k = 0; k <= maxo; k++) {
			unsigned int o = down ? maxo - k : k;

			if (!alloc(pmm, o, false, &held)) {
				fails++;
				failed_order = o;
				tu_assert_conserved(pmm, tu_list_frames(&held));
			}
		}
		assert_int_equal(fails, n <= calls);
		if (fails)
			assert_int_equal(failed_order, down ? maxo - (n - 1) : n - 1);
		assert_int_equal(injected(pmm) - inj0, fails);
		tu_assert_conserved(pmm, tu_list_frames(&held));
		disarm(pmm, PMM_FAULT_PAGE_ALLOC);
		if (fails)
			assert_true(alloc(pmm, failed_order, true, &held));
		tu_free_all(pmm, &held);
		tu_assert_conserved(pmm, 0);
	}
	tu_finish(pmm, .bad = &fx->bad);
}

static void test_sweep_alloc_pages(void **state)
{
	order_sweep(*state, sweep_pages, false);
}

static void test_sweep_folio_alloc(void **state)
{
	order_sweep(*state, sweep_folios, true);
}

/*
 * pmm_alloc_pages_bulk: one eligible call up front, then one per slot the
 * pcp could not fill (every slot with the pcp off). An injected failure
 * returns fewer pages; every non-NULL slot is a whole allocation and the
 * pre-filled slots are untouched.
 */
static void test_sweep_alloc_pages_bulk(void **state)
{
	enum { NR = 48 };
	static const int prefilled[] = { 5, 20 };
	struct tu_fx *fx = *state;
	pmm_t *pmm = sweep_variant(fx);
	struct pmm_page *mine[ARRAY_SIZE(prefilled)];
	const unsigned int missing = NR - ARRAY_SIZE(prefilled);
	const unsigned int calls = fx->v.pcp_disable ? 1 + missing : 1;

	for (unsigned int i = 0; i < ARRAY_SIZE(prefilled); i++) {
		mine[i] = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
		assert_non_null(mine[i]);
	}
	for (unsigned int n = 1; n <= calls + 2; n++) {
		struct pmm_page *arr[NR] = { 0 };
		unsigned long r, nonnull = 0;
		uint64_t inj0 = injected(pmm), f0 = tu_free_after_drain(pmm);

		for (unsigned int i = 0; i < ARRAY_SIZE(prefilled); i++)
			arr[prefilled[i]] = mine[i];
		arm(pmm, PMM_FAULT_PAGE_ALLOC, n, 1);
		r = pmm_alloc_pages_bulk(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, NR, arr);
		for (unsigned int i = 0; i < NR; i++) {
			if (!arr[i])
				continue;
			nonnull++;
			/* a whole allocation: a managed page of ours with one reference */
			assert_ptr_equal(pmm_pfn_to_page(pmm, tu_pfn(pmm, arr[i])), arr[i]);
			assert_int_equal(pmm_page_count(arr[i]), 1);
		}
		assert_int_equal(r, nonnull);
		for (unsigned int i = 0; i < ARRAY_SIZE(prefilled); i++)
			assert_ptr_equal(arr[prefilled[i]], mine[i]);
		tu_assert_distinct(arr, NR);
		if (n <= calls) {
			assert_int_equal(injected(pmm) - inj0, 1);
			assert_true(r < NR);
			assert_true(r >= ARRAY_SIZE(prefilled));
		} else {
			assert_int_equal(injected(pmm) - inj0, 0);
			assert_int_equal(r, NR);
		}
		assert_int_equal(tu_free_after_drain(pmm), f0 - (r - ARRAY_SIZE(prefilled)));
		tu_assert_conserved(pmm, r);

		/* cleared: the same call fills the rest */
		disarm(pmm, PMM_FAULT_PAGE_ALLOC);
		assert_int_equal(pmm_alloc_pages_bulk(pmm, PMM_GFP_KERNEL, NR, arr), NR);
		tu_assert_conserved(pmm, NR);
		for (unsigned int i = 0; i < ARRAY_SIZE(prefilled); i++)
			arr[prefilled[i]] = NULL;
		pmm_free_pages_bulk(pmm, arr, NR);
		tu_assert_conserved(pmm, ARRAY_SIZE(prefilled));
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(prefilled); i++)
		pmm_free_pages(pmm, mine[i], 0);
	tu_finish(pmm, .bad = &fx->bad);
}

/*
 * pmm_alloc_pages_exact and pmm_alloc_pages_exact_pfn: one eligible call
 * each (the covering block). A failure takes nothing, not even the tail.
 */
static void test_sweep_alloc_pages_exact(void **state)
{
	static const unsigned long npages[] = { 1, 4, 5, 100, 513, 1024, 3 };
	struct tu_fx *fx = *state;
	pmm_t *pmm = sweep_variant(fx);
	const size_t ps = pmm_page_size(pmm);
	const unsigned int calls = 2 * ARRAY_SIZE(npages);

	for (unsigned int n = 1; n <= calls + 2; n++) {
		void *addr[ARRAY_SIZE(npages)];
		struct pmm_page *pg[ARRAY_SIZE(npages)];
		unsigned int fails = 0, failed = UINT32_MAX;
		uint64_t held = 0, inj0 = injected(pmm);

		arm(pmm, PMM_FAULT_PAGE_ALLOC, n, 1);
		for (unsigned int c = 0; c < calls; c++) {
			unsigned int i = c / 2;
			uint64_t f0 = tu_free_after_drain(pmm);
			bool ok;

			if (c % 2 == 0) {
				/* a size that is not a page multiple when it can be */
				size_t size = npages[i] * ps - (npages[i] > 1 ? ps / 2 : 0);

				addr[i] = pmm_alloc_pages_exact(pmm, size, PMM_GFP_KERNEL | PMM_GFP_NOWARN);
				ok = addr[i] != NULL;
			} else {
				pg[i] = pmm_alloc_pages_exact_pfn(pmm, npages[i],
								  PMM_GFP_MOVABLE | PMM_GFP_NOWARN);
				ok = pg[i] != NULL;
			}
			if (!ok) {
				fails++;
				failed = c;
				assert_int_equal(tu_free_after_drain(pmm), f0);
			} else {
				held += npages[i];
				assert_int_equal(tu_free_after_drain(pmm), f0 - npages[i]);
			}
			tu_assert_conserved(pmm, held);
		}
		assert_int_equal(fails, n <= calls);
		if (fails)
			assert_int_equal(failed, n - 1);
		assert_int_equal(injected(pmm) - inj0, fails);
		disarm(pmm, PMM_FAULT_PAGE_ALLOC);
		if (fails) {
			unsigned int i = failed / 2;

			if (failed % 2 == 0) {
				addr[i] = pmm_alloc_pages_exact(pmm, npages[i] * ps, PMM_GFP_KERNEL);
				assert_non_null(addr[i]);
			} else {
				pg[i] = pmm_alloc_pages_exact_pfn(pmm, npages[i], PMM_GFP_MOVABLE);
				assert_non_null(pg[i]);
			}
			held += npages[i];
		}
		tu_assert_conserved(pmm, held);
		for (unsigned int i = 0; i < ARRAY_SIZE(npages); i++) {
			pmm_free_pages_exact(pmm, addr[i], npages[i] * ps);
			pmm_free_contig_range(pmm, tu_pfn(pmm, pg[i]), npages[i]);
		}
		tu_assert_conserved(pmm, 0);
	}
	tu_finish(pmm, .bad = &fx->bad);
}

/* ------------------------------------------------------------------------
 * Contiguous ranges: an instance whose pageblocks have several migratetypes
 * ------------------------------------------------------------------------ */

struct prange {
	pmm_pfn_t s, e;
};

struct contig_env {
	pmm_t *pmm;
	struct tu_bad bad;
	struct tu_list held;		/* blocks kept allocated */
	struct prange r[8];		/* free ranges to take */
	unsigned int nr;
};

static bool range_clear(const struct contig_env *c, pmm_pfn_t s, pmm_pfn_t e)
{
	uint64_t managed = pmm_managed_frames(c->pmm);

	if (s < TU_BASE_PFN || e > TU_BASE_PFN + managed)
		return false;
	for (size_t i = 0; i < c->held.n; i++) {
		pmm_pfn_t p = tu_pfn(c->pmm, c->held.v[i].page);
		pmm_pfn_t q = p + (1ull << c->held.v[i].order);

		if (p < e && s < q)
			return false;
	}
	for (unsigned int i = 0; i < c->nr; i++)
		if (c->r[i].s < e && s < c->r[i].e)
			return false;
	return true;
}

static void add_range(struct contig_env *c, pmm_pfn_t s, pmm_pfn_t e)
{
	if (c->nr < ARRAY_SIZE(c->r) && range_clear(c, s, e))
		c->r[c->nr++] = (struct prange){ s, e };
}

/* Find a clear range of @len frames starting @off past a multiple of @stride. */
static void add_range_scan(struct contig_env *c, unsigned long len, unsigned long stride,
			   unsigned long off)
{
	uint64_t managed = pmm_managed_frames(c->pmm);

	for (pmm_pfn_t s = TU_BASE_PFN + off; s + len <= TU_BASE_PFN + managed; s += stride)
		if (range_clear(c, s, s + len)) {
			add_range(c, s, s + len);
			return;
		}
}

static void contig_env_init(struct contig_env *c, bool pcp)
{
	struct pmm_config cfg;
	pmm_pfn_t freed[8];
	unsigned int nfreed = 0;
	struct pmm_zone_info zi;

	memset(c, 0, sizeof(*c));
	tu_config(&cfg, 64, &c->bad);
	cfg.section_shift = TU_SECTION_SHIFT;
	cfg.pcp_disable = !pcp;
	c->pmm = tu_create(&cfg);

	/*
	 * Unmovable and reclaimable pageblock-sized requests claim movable
	 * pageblocks; freeing every other one leaves free memory in
	 * pageblocks of each type.
	 */
	for (int i = 0; i < 4; i++) {
		struct pmm_page *p = pmm_alloc_pages(c->pmm, PMM_GFP_KERNEL, 9);
		struct pmm_page *q = pmm_alloc_pages(c->pmm, PMM_GFP_RECLAIMABLE, 9);
		struct pmm_page *r = pmm_alloc_pages(c->pmm, PMM_GFP_MOVABLE, 3);

		assert_non_null(p);
		assert_non_null(q);
		assert_non_null(r);
		tu_list_push(&c->held, p, 9, TU_PAGES, 0);
		tu_list_push(&c->held, q, 9, TU_PAGES, 0);
		tu_list_push(&c->held, r, 3, TU_PAGES, 0);
	}
	for (size_t i = c->held.n; i-- > 0;)
		if (i % 2) {
			struct tu_alloc a = tu_list_take(&c->held, i);

			if (a.order == 9 && nfreed < ARRAY_SIZE(freed))
				freed[nfreed++] = tu_pfn(c->pmm, a.page);
			tu_free_one(c->pmm, &a);
		}
	pmm_drain_all_pages(c->pmm);
	tu_zone(c->pmm, 0, &zi);
	print_message("pageblocks: unmovable %" PRIu64 " movable %" PRIu64 " reclaimable %" PRIu64 "\n",
		      zi.nr_pageblocks_mt[PMM_MIGRATE_UNMOVABLE], zi.nr_pageblocks_mt[PMM_MIGRATE_MOVABLE],
		      zi.nr_pageblocks_mt[PMM_MIGRATE_RECLAIMABLE]);

	/* ranges inside the freed (non-movable) pageblocks, unaligned and whole */
	if (nfreed > 0)
		add_range(c, freed[0] + 7, freed[0] + 300);
	if (nfreed > 1)
		add_range(c, freed[1], freed[1] + 512);
	/* one page; a range over a section boundary; several pageblocks */
	add_range_scan(c, 1, 4099, 77);
	add_range_scan(c, 1400, 1024, 1024 - 700);
	add_range_scan(c, 2100, 512, 3);
	add_range_scan(c, 333, 1000, 500);
	assert_true(c->nr >= 5);
}

static void contig_env_free(struct contig_env *c)
{
	tu_free_all(c->pmm, &c->held);
	tu_finish(c->pmm, .bad = &c->bad);
}

static uint64_t ranges_frames(const struct contig_env *c, const bool *taken)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < c->nr; i++)
		if (taken[i])
			n += c->r[i].e - c->r[i].s;
	return n;
}

/*
 * pmm_alloc_contig_range / pmm_alloc_contig_frozen_range: one eligible
 * page-allocation call and one metadata allocation (the isolation state)
 * per call. The failing call returns -PMM_ENOMEM with every pageblock's
 * migratetype and the buddy lists exactly as before.
 */
static void contig_range_sweep(const struct tu_fx *fx, bool frozen, enum pmm_fault_kind kind)
{
	struct contig_env c;

	contig_env_init(&c, !fx->v.pcp_disable);
	for (unsigned int n = 1; n <= c.nr + 2; n++) {
		bool taken[ARRAY_SIZE(c.r)] = { false };
		unsigned int fails = 0, failed = UINT32_MAX;
		uint64_t inj0 = injected(c.pmm);

		arm(c.pmm, kind, n, 1);
		for (unsigned int i = 0; i < c.nr; i++) {
			struct tu_pageblocks b0, b1;
			struct tu_buddy s0, s1;
			int rc;

			tu_pageblocks_snap(c.pmm, &b0);
			tu_buddy_snap(c.pmm, &s0);
			rc = frozen ? pmm_alloc_contig_frozen_range(c.pmm, c.r[i].s, c.r[i].e, 0)
				    : pmm_alloc_contig_range(c.pmm, c.r[i].s, c.r[i].e, 0);
			if (rc == -PMM_ENOMEM) {
				fails++;
				failed = i;
				tu_pageblocks_snap(c.pmm, &b1);
				tu_pageblocks_assert_equal(&b0, &b1);
				tu_buddy_snap(c.pmm, &s1);
				tu_buddy_assert_equal(&s0, &s1);
				tu_assert_conserved(c.pmm, tu_list_frames(&c.held) + ranges_frames(&c, taken));
				continue;
			}
			if (rc)
				print_message("range %u [%#" PRIx64 ", %#" PRIx64 "): %d (%s)\n", i,
					      c.r[i].s, c.r[i].e, rc, pmm_strerror(rc));
			assert_int_equal(rc, 0);
			taken[i] = true;
			assert_int_equal(pmm_page_count(pmm_pfn_to_page(c.pmm, c.r[i].s)), frozen ? 0 : 1);
			assert_int_equal(pmm_page_count(pmm_pfn_to_page(c.pmm, c.r[i].e - 1)), frozen ? 0 : 1);
		}
		assert_int_equal(fails, n <= c.nr);
		if (fails)
			assert_int_equal(failed, n - 1);
		assert_int_equal(injected(c.pmm) - inj0, fails);
		tu_assert_conserved(c.pmm, tu_list_frames(&c.held) + ranges_frames(&c, taken));
		disarm(c.pmm, kind);
		if (fails) {
			int rc = frozen ? pmm_alloc_contig_frozen_range(c.pmm, c.r[failed].s, c.r[failed].e, 0)
					: pmm_alloc_contig_range(c.pmm, c.r[failed].s, c.r[failed].e, 0);

			assert_int_equal(rc, 0);
			taken[failed] = true;
		}
		tu_assert_conserved(c.pmm, tu_list_frames(&c.held) + ranges_frames(&c, taken));
		for (unsigned int i = 0; i < c.nr; i++) {
			if (frozen)
				pmm_free_contig_frozen_range(c.pmm, c.r[i].s, c.r[i].e - c.r[i].s);
			else
				pmm_free_contig_range(c.pmm, c.r[i].s, c.r[i].e - c.r[i].s);
		}
		tu_assert_conserved(c.pmm, tu_list_frames(&c.held));
	}
	contig_env_free(&c);
}

/* pcp variants: the isolation drains the pcp lists, or there are none. */
static void test_sweep_contig_range_page(void **state)
{
	contig_range_sweep(*state, false, PMM_FAULT_PAGE_ALLOC);
}

static void test_sweep_contig_range_meta(void **state)
{
	contig_range_sweep(*state, false, PMM_FAULT_META_ALLOC);
}

static void test_sweep_contig_frozen_range_page(void **state)
{
	contig_range_sweep(*state, true, PMM_FAULT_PAGE_ALLOC);
}

static void test_sweep_contig_frozen_range_meta(void **state)
{
	contig_range_sweep(*state, true, PMM_FAULT_META_ALLOC);
}

/*
 * pmm_alloc_contig_pages tries candidate ranges, each one
 * pmm_alloc_contig_range() call. With every call failing it returns NULL
 * and changes nothing; with one failure (times = 1) it either returns a
 * whole range or NULL, and in both cases the instance is whole.
 */
static void test_sweep_contig_pages(void **state)
{
	static const unsigned long sizes[] = { 1, 100, 512, 2000 };

	(void)state;
	for (int k = 0; k < PMM_NR_FAULT_KINDS; k++) {
		struct contig_env c;

		contig_env_init(&c, k == 0);
		for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
			uint64_t held = tu_list_frames(&c.held);
			struct tu_pageblocks b0, b1;
			struct tu_buddy s0, s1;
			struct pmm_page *p;
			uint64_t inj0;

			/* every call fails */
			tu_pageblocks_snap(c.pmm, &b0);
			tu_buddy_snap(c.pmm, &s0);
			inj0 = injected(c.pmm);
			arm(c.pmm, (enum pmm_fault_kind)k, 1, -1);
			assert_null(pmm_alloc_contig_pages(c.pmm, sizes[i], PMM_GFP_NOWARN, -1));
			assert_true(injected(c.pmm) - inj0 >= 1);
			tu_pageblocks_snap(c.pmm, &b1);
			tu_pageblocks_assert_equal(&b0, &b1);
			tu_buddy_snap(c.pmm, &s1);
			tu_buddy_assert_equal(&s0, &s1);
			tu_assert_conserved(c.pmm, held);

			/* the Nth call fails once */
			for (unsigned int n = 1; n <= 4; n++) {
				pmm_pfn_t pfn;

				inj0 = injected(c.pmm);
				arm(c.pmm, (enum pmm_fault_kind)k, n, 1);
				p = pmm_alloc_contig_pages(c.pmm, sizes[i], PMM_GFP_NOWARN, -1);
				assert_true(injected(c.pmm) - inj0 <= 1);
				if (!p) {
					tu_assert_conserved(c.pmm, held);
					continue;
				}
				pfn = tu_pfn(c.pmm, p);
				for (unsigned long j = 0; j < sizes[i]; j++)
					assert_int_equal(pmm_page_count(pmm_pfn_to_page(c.pmm, pfn + j)), 1);
				tu_assert_conserved(c.pmm, held + sizes[i]);
				pmm_free_contig_range(c.pmm, pfn, sizes[i]);
				tu_assert_conserved(c.pmm, held);
			}

			/* cleared: it works */
			disarm(c.pmm, (enum pmm_fault_kind)k);
			p = pmm_alloc_contig_pages(c.pmm, sizes[i], 0, -1);
			assert_non_null(p);
			tu_assert_conserved(c.pmm, held + sizes[i]);
			pmm_free_contig_range(c.pmm, tu_pfn(c.pmm, p), sizes[i]);
			tu_assert_conserved(c.pmm, held);
		}
		contig_env_free(&c);
	}
}

/* pmm_check()'s own scratch memory is not subject to fault injection. */
static void test_check_not_faulted(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = sweep_instance(&bad, true);
	uint64_t inj0 = injected(pmm);

	(void)state;
	arm(pmm, PMM_FAULT_META_ALLOC, 1, -1);
	arm(pmm, PMM_FAULT_PAGE_ALLOC, 1, -1);
	for (int i = 0; i < 3; i++)
		tu_check(pmm);
	assert_int_equal(injected(pmm), inj0);
	/* draining, stats, zone info and printers allocate nothing either */
	pmm_drain_all_pages(pmm);
	assert_int_equal(pmm_free_frames(pmm), pmm_managed_frames(pmm));
	assert_int_equal(injected(pmm), inj0);
	disarm(pmm, PMM_FAULT_META_ALLOC);
	disarm(pmm, PMM_FAULT_PAGE_ALLOC);
	tu_finish(pmm, .bad = &bad);
}

/* ------------------------------------------------------------------------
 * 3. Attribute semantics
 * ------------------------------------------------------------------------ */

/*
 * Run @n order-@order allocations (each freed at once); bit i of @out is
 * set when call i + 1 failed. Return: the number of failures.
 */
static unsigned int alloc_run(pmm_t *pmm, unsigned int n, unsigned int order, uint8_t *out)
{
	unsigned int fails = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL | PMM_GFP_NOWARN, order);

		if (out)
			out[i] = !p;
		if (!p) {
			fails++;
			continue;
		}
		pmm_free_pages(pmm, p, order);
	}
	return fails;
}

/* nth, interval, times: exactly the calls the attribute names fail. */
static void test_attr_nth_interval_times(void **state)
{
	static const struct {
		uint64_t nth, interval;
		int64_t times;
	} cases[] = {
		{ 1, 0, -1 }, { 1, 1, -1 }, { 3, 0, 1 }, { 3, 4, -1 }, { 3, 4, 2 },
		{ 2, 1, 3 }, { 5, 7, 0 }, { 40, 2, -1 }, { 1, 10, 3 },
	};
	enum { CALLS = 60 };

	(void)state;
	for (unsigned int c = 0; c < ARRAY_SIZE(cases); c++) {
		struct tu_bad bad;
		pmm_t *pmm = sweep_instance(&bad, c % 2);
		struct pmm_fault_attr a = { .nth = cases[c].nth, .interval = cases[c].interval,
					    .probability = 100, .times = cases[c].times };
		uint8_t got[CALLS];
		unsigned int fails, expect = 0;
		int64_t left = cases[c].times;

		assert_int_equal(pmm_fault_set(pmm, PMM_FAULT_PAGE_ALLOC, &a), 0);
		fails = alloc_run(pmm, CALLS, 0, got);
		for (uint64_t k = 1; k <= CALLS; k++) {
			bool e = k >= a.nth && (a.interval <= 1 || (k - a.nth) % a.interval == 0) &&
				 (left < 0 || left > 0);

			if (e && left > 0)
				left--;
			if (got[k - 1] != e)
				print_message("case %u (nth %" PRIu64 " interval %" PRIu64 " times %" PRId64
					      "): call %" PRIu64 " %s\n", c, a.nth, a.interval, a.times, k,
					      got[k - 1] ? "failed" : "succeeded");
			assert_int_equal(got[k - 1], e);
			expect += e;
		}
		assert_int_equal(fails, expect);
		assert_int_equal(injected(pmm), expect);
		disarm(pmm, PMM_FAULT_PAGE_ALLOC);
		assert_int_equal(alloc_run(pmm, 10, 0, NULL), 0);
		tu_finish(pmm, .bad = &bad);
	}
}

/* The same schedule on the metadata kind, through alloc_contig_range. */
static void test_attr_meta_interval(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = sweep_instance(&bad, true);
	struct pmm_fault_attr a = { .nth = 2, .interval = 3, .probability = 100, .times = 3 };
	const pmm_pfn_t s = TU_BASE_PFN + 1000;
	unsigned int fails = 0;

	(void)state;
	assert_int_equal(pmm_fault_set(pmm, PMM_FAULT_META_ALLOC, &a), 0);
	for (unsigned int k = 1; k <= 15; k++) {
		int rc = pmm_alloc_contig_range(pmm, s, s + 50, 0);
		bool e = k == 2 || k == 5 || k == 8;

		assert_int_equal(rc, e ? -PMM_ENOMEM : 0);
		if (rc) {
			fails++;
			tu_assert_conserved(pmm, 0);
			continue;
		}
		tu_assert_conserved(pmm, 50);
		pmm_free_contig_range(pmm, s, 50);
	}
	assert_int_equal(fails, 3);
	assert_int_equal(injected(pmm), 3);
	disarm(pmm, PMM_FAULT_META_ALLOC);
	tu_finish(pmm, .bad = &bad);
}

/*
 * probability with a seed: two identical instances fail exactly the same
 * calls; pmm_fault_set() at run time restarts the count and replays the
 * schedule; another seed gives another schedule; 0 and 100 are never and
 * always.
 */
static void test_attr_probability_seeded(void **state)
{
	enum { CALLS = 2000 };
	static uint8_t a[CALLS], b[CALLS], c[CALLS], d[CALLS];
	struct pmm_config cfg;
	struct tu_bad bad;
	pmm_t *pa, *pb;
	unsigned int fa, fb, fc, fd;
	const struct pmm_fault_attr attr = { .nth = 1, .probability = 30, .times = -1,
					     .seed = 0x5eed1234abcdull };

	(void)state;
	tu_bad_reset(&bad);
	tu_config(&cfg, 16, &bad);
	cfg.fault[PMM_FAULT_PAGE_ALLOC] = attr;
	pa = tu_create(&cfg);
	pb = tu_create(&cfg);
	fa = alloc_run(pa, CALLS, 0, a);
	fb = alloc_run(pb, CALLS, 1, b);	/* the order does not matter (min_order 0) */
	print_message("probability 30: %u of %u calls failed\n", fa, CALLS);
	assert_memory_equal(a, b, CALLS);
	assert_int_equal(fa, fb);
	assert_true(fa > CALLS * 20 / 100 && fa < CALLS * 40 / 100);
	assert_int_equal(injected(pa), fa);
	assert_int_equal(injected(pb), fb);

	/* set at run time: the count restarts, the schedule repeats */
	assert_int_equal(pmm_fault_set(pa, PMM_FAULT_PAGE_ALLOC, &attr), 0);
	fc = alloc_run(pa, CALLS, 0, c);
	assert_memory_equal(a, c, CALLS);
	assert_int_equal(injected(pa), fa + fc);

	/* another seed, another schedule */
	{
		struct pmm_fault_attr other = attr;

		other.seed++;
		assert_int_equal(pmm_fault_set(pb, PMM_FAULT_PAGE_ALLOC, &other), 0);
		fd = alloc_run(pb, CALLS, 0, d);
		assert_true(memcmp(a, d, CALLS) != 0);
		assert_true(fd > CALLS * 20 / 100 && fd < CALLS * 40 / 100);
	}

	/* 0 percent never fails, 100 percent always does */
	{
		struct pmm_fault_attr never = attr, always = attr;
		uint64_t i0 = injected(pa);

		never.probability = 0;
		always.probability = 100;
		assert_int_equal(pmm_fault_set(pa, PMM_FAULT_PAGE_ALLOC, &never), 0);
		assert_int_equal(alloc_run(pa, 500, 0, NULL), 0);
		assert_int_equal(pmm_fault_set(pa, PMM_FAULT_PAGE_ALLOC, &always), 0);
		assert_int_equal(alloc_run(pa, 500, 0, NULL), 500);
		assert_int_equal(injected(pa) - i0, 500);
	}

	/* probability together with times: at most @times failures */
	{
		struct pmm_fault_attr capped = attr;
		uint64_t i0 = injected(pa);

		capped.times = 7;
		assert_int_equal(pmm_fault_set(pa, PMM_FAULT_PAGE_ALLOC, &capped), 0);
		assert_int_equal(alloc_run(pa, CALLS, 0, NULL), 7);
		assert_int_equal(injected(pa) - i0, 7);
	}
	disarm(pa, PMM_FAULT_PAGE_ALLOC);
	disarm(pb, PMM_FAULT_PAGE_ALLOC);
	tu_finish(pb, .bad = &bad);
	tu_finish(pa, .bad = &bad);
}

/* Metadata faults with a probability repeat exactly between two instances. */
static void test_attr_meta_probability_seeded(void **state)
{
	enum { CALLS = 300 };
	uint8_t got[2][CALLS];
	unsigned int fails[2] = { 0, 0 };
	const struct pmm_fault_attr attr = { .nth = 1, .probability = 50, .times = -1, .seed = 99 };

	(void)state;
	for (int k = 0; k < 2; k++) {
		struct tu_bad bad;
		pmm_t *pmm = sweep_instance(&bad, k);
		const pmm_pfn_t s = TU_BASE_PFN + 3000 + 17;

		assert_int_equal(pmm_fault_set(pmm, PMM_FAULT_META_ALLOC, &attr), 0);
		for (unsigned int i = 0; i < CALLS; i++) {
			int rc = pmm_alloc_contig_frozen_range(pmm, s, s + 9, 0);

			assert_true(rc == 0 || rc == -PMM_ENOMEM);
			got[k][i] = rc != 0;
			fails[k] += rc != 0;
			if (!rc)
				pmm_free_contig_frozen_range(pmm, s, 9);
		}
		assert_int_equal(injected(pmm), fails[k]);
		disarm(pmm, PMM_FAULT_META_ALLOC);
		tu_finish(pmm, .bad = &bad);
	}
	assert_memory_equal(got[0], got[1], CALLS);
	assert_true(fails[0] > CALLS / 4 && fails[0] < 3 * CALLS / 4);
}

/* min_order: lower orders never fail (and, as in the kernel, are not counted). */
static void test_attr_min_order(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = sweep_instance(&bad, true);
	struct pmm_fault_attr a = { .nth = 1, .probability = 100, .times = -1, .min_order = 3 };
	const unsigned int maxo = pmm_get_config(pmm)->max_order;

	(void)state;
	assert_int_equal(pmm_fault_set(pmm, PMM_FAULT_PAGE_ALLOC, &a), 0);
	for (unsigned int o = 0; o <= maxo; o++) {
		unsigned int f = alloc_run(pmm, 5, o, NULL);

		assert_int_equal(f, o < 3 ? 0 : 5);
		/* folios and bulk (order 0) too */
		struct pmm_folio *fo = pmm_folio_alloc(pmm, PMM_GFP_NOWARN, o);

		if (o < 3) {
			assert_non_null(fo);
			pmm_folio_put(pmm, fo);
		} else {
			assert_null(fo);
		}
	}
	{
		struct pmm_page *arr[32] = { 0 };

		assert_int_equal(pmm_alloc_pages_bulk(pmm, 0, 32, arr), 32);
		pmm_free_pages_bulk(pmm, arr, 32);
	}
	assert_int_equal(injected(pmm), 6 * (maxo - 2));

	/* below min_order a call is not counted: nth = 2 is the second order-3+ call */
	a.nth = 2;
	a.times = 1;
	assert_int_equal(pmm_fault_set(pmm, PMM_FAULT_PAGE_ALLOC, &a), 0);
	assert_int_equal(alloc_run(pmm, 20, 0, NULL), 0);
	assert_int_equal(alloc_run(pmm, 1, 3, NULL), 0);
	assert_int_equal(alloc_run(pmm, 20, 2, NULL), 0);
	assert_int_equal(alloc_run(pmm, 1, 4, NULL), 1);
	assert_int_equal(alloc_run(pmm, 5, 5, NULL), 0);
	disarm(pmm, PMM_FAULT_PAGE_ALLOC);
	tu_finish(pmm, .bad = &bad);
}

/*
 * pmm_fault_set: refuses bad arguments (and keeps the attribute in force),
 * restarts the count, shows in pmm_get_config(); a config's fault[] works
 * from create on; kinds are independent.
 */
static void test_attr_fault_set(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	pmm_t *pmm;
	struct pmm_fault_attr a = attr_nth(2, -1), bad_attr = attr_nth(1, -1);

	(void)state;
	tu_bad_reset(&bad);
	tu_config(&cfg, 16, &bad);
	cfg.fault[PMM_FAULT_PAGE_ALLOC] = attr_nth(2, 1);
	pmm = tu_create(&cfg);
	/* armed from create: call 1 works, call 2 fails, then (times 1) all work */
	assert_int_equal(alloc_run(pmm, 1, 0, NULL), 0);
	assert_int_equal(alloc_run(pmm, 1, 0, NULL), 1);
	assert_int_equal(alloc_run(pmm, 10, 0, NULL), 0);
	assert_int_equal(injected(pmm), 1);

	/* bad arguments: -PMM_EINVAL, the attribute in force stays */
	assert_int_equal(pmm_fault_set(pmm, PMM_FAULT_PAGE_ALLOC, &a), 0);
	bad_attr.probability = 101;
	assert_int_equal(pmm_fault_set(pmm, PMM_FAULT_PAGE_ALLOC, &bad_attr), -PMM_EINVAL);
	bad_attr.probability = UINT32_MAX;
	assert_int_equal(pmm_fault_set(pmm, PMM_FAULT_META_ALLOC, &bad_attr), -PMM_EINVAL);
	bad_attr.probability = 100;
	assert_int_equal(pmm_fault_set(pmm, PMM_NR_FAULT_KINDS, &bad_attr), -PMM_EINVAL);
	assert_int_equal(pmm_fault_set(pmm, (enum pmm_fault_kind)-1, &bad_attr), -PMM_EINVAL);
	assert_int_equal(pmm_fault_set(pmm, (enum pmm_fault_kind)1000, &bad_attr), -PMM_EINVAL);
	assert_int_equal(pmm_fault_set(pmm, PMM_FAULT_PAGE_ALLOC, NULL), -PMM_EINVAL);
	assert_int_equal(pmm_fault_set(NULL, PMM_FAULT_PAGE_ALLOC, &bad_attr), -PMM_EINVAL);
	assert_int_equal(pmm_get_config(pmm)->fault[PMM_FAULT_PAGE_ALLOC].nth, 2);
	assert_int_equal(pmm_get_config(pmm)->fault[PMM_FAULT_PAGE_ALLOC].probability, 100);
	assert_int_equal(pmm_get_config(pmm)->fault[PMM_FAULT_META_ALLOC].nth, 0);
	/* the count restarted at the good set: call 1 works, 2 and on fail */
	assert_int_equal(alloc_run(pmm, 1, 0, NULL), 0);
	assert_int_equal(alloc_run(pmm, 4, 0, NULL), 4);
	/* restart again */
	assert_int_equal(pmm_fault_set(pmm, PMM_FAULT_PAGE_ALLOC, &a), 0);
	assert_int_equal(alloc_run(pmm, 1, 0, NULL), 0);
	assert_int_equal(alloc_run(pmm, 1, 0, NULL), 1);

	/* page faults do not touch metadata allocations and vice versa */
	assert_int_equal(pmm_alloc_contig_range(pmm, TU_BASE_PFN, TU_BASE_PFN + 8, 0), -PMM_ENOMEM);
	disarm(pmm, PMM_FAULT_PAGE_ALLOC);
	arm(pmm, PMM_FAULT_META_ALLOC, 1, -1);
	assert_int_equal(alloc_run(pmm, 10, 0, NULL), 0);
	assert_int_equal(pmm_alloc_contig_range(pmm, TU_BASE_PFN, TU_BASE_PFN + 8, 0), -PMM_ENOMEM);
	disarm(pmm, PMM_FAULT_META_ALLOC);
	assert_int_equal(pmm_alloc_contig_range(pmm, TU_BASE_PFN, TU_BASE_PFN + 8, 0), 0);
	pmm_free_contig_range(pmm, TU_BASE_PFN, 8);
	tu_finish(pmm, .bad = &bad);

	/* a config with a bad attribute is refused */
	for (int k = 0; k < PMM_NR_FAULT_KINDS; k++) {
		pmm_t *p = (pmm_t *)(uintptr_t)0x1;

		tu_config(&cfg, 16, &bad);
		cfg.fault[k].probability = 101;
		assert_int_equal(pmm_create(&cfg, &p), -PMM_EINVAL);
		assert_null(p);
	}
}

/* ------------------------------------------------------------------------
 * 4. Threads with probabilistic page-allocation faults
 * ------------------------------------------------------------------------ */

#define MT_THREADS 4
#define MT_OPS 15000
#define MT_HELD 256

struct mt_held {
	struct pmm_page *page;
	unsigned int order;
	bool folio;
};

/* One per thread (tu_threads' ctx is the array). */
struct mt_ctx {
	pmm_t *pmm;
	uint64_t seed;
	unsigned long failures;	/* NULL allocations + short bulks */
	unsigned long errors;	/* anything that is not a clean failure */
	unsigned long ops;
};

static void mt_free(pmm_t *pmm, struct mt_held *h)
{
	if (h->folio)
		pmm_folio_put(pmm, pmm_page_folio(h->page));
	else
		pmm_free_pages(pmm, h->page, h->order);
}

static void mt_thread(void *arg, unsigned int id)
{
	struct mt_ctx *c = (struct mt_ctx *)arg + id;
	struct mt_held held[MT_HELD + 16];
	unsigned int n = 0;
	struct prng rng;

	prng_init(&rng, c->seed, id);

	for (unsigned int op = 0; op < MT_OPS; op++) {
		unsigned int r = (unsigned int)prng_below(&rng, 10);

		if (n >= MT_HELD || (r >= 7 && n)) {
			unsigned int i = (unsigned int)prng_below(&rng, n);

			mt_free(c->pmm, &held[i]);
			held[i] = held[--n];
		} else if (r <= 3) {
			unsigned int o = (unsigned int)prng_below(&rng, 4);
			struct pmm_page *p = pmm_alloc_pages(c->pmm, (r & 1 ? PMM_GFP_MOVABLE : 0) |
								    PMM_GFP_NOWARN, o);

			if (!p) {
				c->failures++;
			} else {
				c->errors += pmm_page_count(p) != 1;
				held[n++] = (struct mt_held){ p, o, false };
			}
		} else if (r <= 5) {
			unsigned int o = (unsigned int)prng_below(&rng, 5);
			struct pmm_folio *f = pmm_folio_alloc(c->pmm, PMM_GFP_NOWARN, o);

			if (!f) {
				c->failures++;
			} else {
				c->errors += pmm_folio_order(f) != o || pmm_folio_ref_count(f) != 1;
				held[n++] = (struct mt_held){ pmm_folio_page(c->pmm, f, 0), o, true };
			}
		} else {
			struct pmm_page *arr[16] = { 0 };
			unsigned long got = pmm_alloc_pages_bulk(c->pmm, PMM_GFP_NOWARN, 16, arr), nn = 0;

			for (int i = 0; i < 16; i++) {
				if (!arr[i])
					continue;
				nn++;
				c->errors += pmm_page_count(arr[i]) != 1;
				if (n < MT_HELD + 16)
					held[n++] = (struct mt_held){ arr[i], 0, false };
				else
					pmm_free_pages(c->pmm, arr[i], 0);
			}
			c->errors += nn != got;
			c->failures += got < 16;
		}
		c->ops++;
	}
	while (n)
		mt_free(c->pmm, &held[--n]);
}

static void test_threads_probabilistic_faults(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	struct prng rng;
	struct mt_ctx ctx[MT_THREADS];
	unsigned long failures = 0;
	pmm_t *pmm;

	(void)state;
	tu_rng_init(&rng, "threads_probabilistic_faults", 4);
	tu_bad_reset(&bad);
	tu_config(&cfg, 128, &bad);
	tu_config_cpus(&cfg, MT_THREADS);
	cfg.fault[PMM_FAULT_PAGE_ALLOC] = (struct pmm_fault_attr){
		.nth = 1, .probability = 10, .times = -1, .seed = prng_next(&rng) };
	pmm = tu_create(&cfg);
	for (unsigned int i = 0; i < MT_THREADS; i++)
		ctx[i] = (struct mt_ctx){ .pmm = pmm, .seed = prng_next(&rng) };
	tu_threads_run(MT_THREADS, mt_thread, ctx);
	for (unsigned int i = 0; i < MT_THREADS; i++) {
		assert_int_equal(ctx[i].errors, 0);
		assert_int_equal(ctx[i].ops, MT_OPS);
		failures += ctx[i].failures;
	}
	print_message("%u threads x %u ops: %lu injected failures\n", MT_THREADS, MT_OPS, failures);
	/* every failure was an injected one, and every injected one was seen */
	assert_int_equal(injected(pmm), failures);
	assert_true(failures > 0);
	disarm(pmm, PMM_FAULT_PAGE_ALLOC);
	tu_finish(pmm, .bad = &bad);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_sweep),
		cmocka_unit_test(test_create_sweep_default_allocator),
		cmocka_unit_test(test_create_fault_fds),
		TU_PCP_TESTS(test_sweep_alloc_pages),
		TU_PCP_TESTS(test_sweep_folio_alloc),
		TU_PCP_TESTS(test_sweep_alloc_pages_bulk),
		TU_PCP_TESTS(test_sweep_alloc_pages_exact),
		TU_PCP_TESTS(test_sweep_contig_range_page),
		TU_PCP_TESTS(test_sweep_contig_range_meta),
		TU_PCP_TESTS(test_sweep_contig_frozen_range_page),
		TU_PCP_TESTS(test_sweep_contig_frozen_range_meta),
		cmocka_unit_test(test_sweep_contig_pages),
		cmocka_unit_test(test_check_not_faulted),
		cmocka_unit_test(test_attr_nth_interval_times),
		cmocka_unit_test(test_attr_meta_interval),
		cmocka_unit_test(test_attr_probability_seeded),
		cmocka_unit_test(test_attr_meta_probability_seeded),
		cmocka_unit_test(test_attr_min_order),
		cmocka_unit_test(test_attr_fault_set),
		cmocka_unit_test(test_threads_probabilistic_faults),
	};

	fd0_ensure_open();
	return tu_main(argc, argv, tests);
}
