/* SPDX-License-Identifier: MIT */
/* mm_util.c - helpers shared by the address-space API tests. */
#define _GNU_SOURCE
#include "mm_util.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

const enum pmm_gather_mode mu_modes[PMM_NR_GATHER_MODES] = {
	PMM_GATHER_PER_PAGE,
	PMM_GATHER_RANGES,
	PMM_GATHER_ENCODED,
};

const char *mu_mode_name(enum pmm_gather_mode mode)
{
	switch (mode) {
	case PMM_GATHER_PER_PAGE:
		return "per_page";
	case PMM_GATHER_RANGES:
		return "ranges";
	case PMM_GATHER_ENCODED:
		return "encoded";
	default:
		return "?";
	}
}

const char *mu_model_name(enum pmm_mapcount_model model)
{
	return model == PMM_MAPCOUNT_FOLIO ? "folio" : "per_page";
}

/* ------------------------------------------------------------------------ */

void mu_config(struct mu_env *e, struct pmm_config *cfg, uint64_t mib)
{
	memset(e, 0, sizeof(*e));
	tu_config(cfg, mib, &e->bad);
}

void mu_start(struct mu_env *e, const struct pmm_config *cfg)
{
	e->pmm = tu_create(cfg);
	tu_buddy_snap(e->pmm, &e->fresh);
	tu_report_mark(e->pmm, &e->bad, &e->mark);
}

void mu_env(struct mu_env *e, uint64_t mib)
{
	struct pmm_config cfg;

	mu_config(e, &cfg, mib);
	mu_start(e, &cfg);
}

uint64_t mu_reports(struct mu_env *e)
{
	return tu_reports_since(e->pmm, &e->bad, &e->mark);
}

void mu_remark(struct mu_env *e)
{
	tu_report_mark(e->pmm, &e->bad, &e->mark);
}

void mu_finish(struct mu_env *e)
{
	pmm_t *pmm = e->pmm;
	struct mu_lru l;

	/* nothing is mapped, so nothing can be queued, cached or on the LRU */
	assert_int_equal(mu_deferred(pmm), 0);
	assert_int_equal(pmm_swapcache_nr(pmm), 0);
	l = mu_lru(pmm);
	assert_int_equal(l.folios, 0);
	assert_int_equal(l.pages, 0);
	tu_finish(pmm, .bad = &e->bad, .since = &e->mark, .fresh = &e->fresh);
	e->pmm = NULL;
}

/* ------------------------------------------------------------------------ */

pmm_mm_t *mu_mm_cfg(pmm_t *pmm, const struct pmm_mm_config *cfg)
{
	pmm_mm_t *mm = NULL;
	int rc = pmm_mm_create(pmm, cfg, &mm);

	if (rc)
		print_message("pmm_mm_create: %d (%s)\n", rc, pmm_strerror(rc));
	assert_int_equal(rc, 0);
	assert_non_null(mm);
	return mm;
}

pmm_mm_t *mu_mm(pmm_t *pmm, enum pmm_gather_mode mode, enum pmm_mapcount_model model)
{
	struct pmm_mm_config cfg;

	pmm_mm_config_init(&cfg);
	cfg.gather = mode;
	cfg.mapcount = model;
	return mu_mm_cfg(pmm, &cfg);
}

struct pmm_mm_stats mu_stats(pmm_mm_t *mm)
{
	struct pmm_mm_stats st;

	memset(&st, 0xa5, sizeof(st));	/* a getter that fills nothing shows */
	pmm_mm_stats_get(mm, &st);
	return st;
}

void mu_map(pmm_mm_t *mm, uint64_t addr, uint64_t len, unsigned int order, unsigned int flags)
{
	int rc = pmm_mm_map_anon(mm, addr, len, order, flags);

	if (rc)
		print_message("map [%#" PRIx64 ", +%#" PRIx64 ") order %u flags %#x: %d (%s)\n",
			      addr, len, order, flags, rc, pmm_strerror(rc));
	assert_int_equal(rc, 0);
}

void mu_unmap(pmm_mm_t *mm, uint64_t addr, uint64_t len)
{
	int rc = pmm_mm_unmap(mm, addr, len);

	if (rc)
		print_message("unmap [%#" PRIx64 ", +%#" PRIx64 "): %d (%s)\n", addr, len, rc,
			      pmm_strerror(rc));
	assert_int_equal(rc, 0);
}

void mu_fault(pmm_mm_t *mm, uint64_t addr, bool write)
{
	int rc = pmm_mm_fault(mm, addr, write);

	if (rc)
		print_message("fault %#" PRIx64 " %s: %d (%s)\n", addr, write ? "write" : "read", rc,
			      pmm_strerror(rc));
	assert_int_equal(rc, 0);
}

pmm_mm_t *mu_fork(pmm_mm_t *mm)
{
	pmm_mm_t *child = NULL;
	int rc = pmm_mm_fork(mm, &child);

	if (rc)
		print_message("fork: %d (%s)\n", rc, pmm_strerror(rc));
	assert_int_equal(rc, 0);
	assert_non_null(child);
	return child;
}

struct pmm_folio *mu_folio_at(pmm_mm_t *mm, uint64_t addr)
{
	struct pmm_page *p = pmm_mm_lookup(mm, addr);

	if (!p)
		print_message("nothing mapped at %#" PRIx64 "\n", addr);
	assert_non_null(p);
	return pmm_page_folio(p);
}

unsigned int mu_order_at(pmm_mm_t *mm, uint64_t addr)
{
	return pmm_folio_order(mu_folio_at(mm, addr));
}

uint64_t mu_mapped_pages(pmm_mm_t *mm, uint64_t start, uint64_t end)
{
	uint64_t n = 0;

	for (uint64_t a = start; a < end; a += MU_PAGE)
		n += pmm_mm_lookup(mm, a) != NULL;
	return n;
}

void mu_assert_unmapped(pmm_mm_t *mm, uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a < end; a += MU_PAGE) {
		if (pmm_mm_lookup(mm, a))
			print_message("%#" PRIx64 " is still mapped\n", a);
		assert_null(pmm_mm_lookup(mm, a));
	}
}

/* ------------------------------------------------------------------------ */

uint64_t mu_deferred(pmm_t *pmm)
{
	uint64_t n = 0;

	for (int nid = 0; nid < PMM_MAX_NODES; nid++) {
		struct pmm_node_info ni;

		memset(&ni, 0, sizeof(ni));
		if (pmm_node_info(pmm, nid, &ni) == 0)
			n += ni.deferred_split;
	}
	return n;
}

struct pmm_node_info mu_node(pmm_t *pmm, int nid)
{
	struct pmm_node_info ni;

	memset(&ni, 0, sizeof(ni));
	assert_int_equal(pmm_node_info(pmm, nid, &ni), 0);
	assert_int_equal(ni.nid, nid);
	return ni;
}

struct mu_lru mu_lru(pmm_t *pmm)
{
	struct mu_lru l = { 0 };

	pmm_lru_add_drain(pmm);
	for (int nid = 0; nid < PMM_MAX_NODES; nid++) {
		struct pmm_node_info ni;

		memset(&ni, 0, sizeof(ni));
		if (pmm_node_info(pmm, nid, &ni))
			continue;
		l.inactive += ni.lru_inactive_anon;
		l.active += ni.lru_active_anon;
		l.pages += ni.lru_pages;
	}
	l.folios = l.inactive + l.active;
	return l;
}

uint64_t mu_deferred_split_lock(pmm_t *pmm)
{
	return tu_stats(pmm).deferred_split_lock;
}

uint64_t mu_free(pmm_t *pmm)
{
	return tu_free_after_drain(pmm);
}

uint64_t mu_injected(pmm_t *pmm)
{
	return tu_stats(pmm).fault_injected;
}

void mu_arm(pmm_t *pmm, enum pmm_fault_kind kind, uint64_t nth, int64_t times)
{
	struct pmm_fault_attr a = { .nth = nth, .probability = 100, .times = times };

	assert_int_equal(pmm_fault_set(pmm, kind, &a), 0);
}

void mu_arm_order(pmm_t *pmm, unsigned int min_order)
{
	struct pmm_fault_attr a = { .nth = 1, .probability = 100, .times = -1,
				    .min_order = min_order };

	assert_int_equal(pmm_fault_set(pmm, PMM_FAULT_PAGE_ALLOC, &a), 0);
}

void mu_disarm(pmm_t *pmm, enum pmm_fault_kind kind)
{
	struct pmm_fault_attr a = { .nth = 0, .probability = 100, .times = -1 };

	assert_int_equal(pmm_fault_set(pmm, kind, &a), 0);
}

/* ------------------------------------------------------------------------ */

unsigned int mu_fit_order(pmm_mm_t *mm, uint64_t vstart, uint64_t vend, uint64_t addr,
			  unsigned int k)
{
	for (unsigned int o = k; o > 0; o--) {
		uint64_t size = MU_PAGE << o;
		uint64_t s = addr & ~(size - 1);
		bool ok = s >= vstart && s + size <= vend;

		if (o == 1 && k > 1)
			continue;	/* the fallback skips order 1, as the kernel's anon mTHP */

		for (uint64_t a = s; ok && mm && a < s + size; a += MU_PAGE)
			ok = pmm_mm_lookup(mm, a) == NULL;
		if (ok)
			return o;
	}
	return 0;
}

uint64_t mu_layout_folios(uint64_t vstart, uint64_t vend, unsigned int k)
{
	uint64_t n = 0;

	for (uint64_t a = vstart; a < vend; a += MU_PAGE << mu_fit_order(NULL, vstart, vend, a, k))
		n++;
	return n;
}

uint64_t mu_assert_layout(pmm_t *pmm, pmm_mm_t *mm, uint64_t vstart, uint64_t vend,
			  unsigned int k)
{
	uint64_t folios = 0;

	for (uint64_t a = vstart; a < vend;) {
		unsigned int o = mu_fit_order(NULL, vstart, vend, a, k);
		struct pmm_folio *f = mu_folio_at(mm, a);
		pmm_pfn_t head = pmm_page_to_pfn(pmm, pmm_folio_page(pmm, f, 0));

		if (pmm_folio_order(f) != o)
			print_message("%#" PRIx64 ": folio of order %u, expected %u (VMA [%#" PRIx64
				      ", %#" PRIx64 ") order %u)\n", a, pmm_folio_order(f), o,
				      vstart, vend, k);
		assert_int_equal(pmm_folio_order(f), o);
		for (uint64_t i = 0; i < (1ull << o); i++) {
			struct pmm_page *p = pmm_mm_lookup(mm, a + MU_PAGES(i));

			assert_non_null(p);
			assert_ptr_equal(pmm_page_folio(p), f);
			assert_ptr_equal(pmm_folio_page(pmm, f, i), p);
			assert_int_equal(pmm_page_to_pfn(pmm, p), head + i);
		}
		a += MU_PAGES(1ull << o);
		folios++;
	}
	return folios;
}

/* ------------------------------------------------------------------------ */

void mu_folios_add(struct mu_folios *s, pmm_mm_t *mm, uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a < end; a += MU_PAGE) {
		struct pmm_page *p = pmm_mm_lookup(mm, a);

		if (!p)
			continue;
		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 1024;
			struct pmm_folio **v = realloc(s->v, cap * sizeof(*v));

			assert_non_null(v);
			s->v = v;
			s->cap = cap;
		}
		s->v[s->n++] = pmm_page_folio(p);
		s->sorted = false;
	}
}

static int cmp_folio(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(struct pmm_folio *const *)a;
	uintptr_t y = (uintptr_t)*(struct pmm_folio *const *)b;

	return x < y ? -1 : x > y;
}

static void folios_sort(struct mu_folios *s)
{
	size_t j = 0;

	if (s->sorted)
		return;
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_folio);
	for (size_t i = 0; i < s->n; i++)
		if (!j || s->v[j - 1] != s->v[i])
			s->v[j++] = s->v[i];
	s->n = j;
	s->sorted = true;
}

uint64_t mu_folios_count(struct mu_folios *s)
{
	folios_sort(s);
	return s->n;
}

uint64_t mu_folios_pages(struct mu_folios *s)
{
	uint64_t pages = 0;

	folios_sort(s);
	for (size_t i = 0; i < s->n; i++)
		pages += 1ull << pmm_folio_order(s->v[i]);
	return pages;
}

bool mu_folios_has(struct mu_folios *s, struct pmm_folio *f)
{
	folios_sort(s);
	return s->n && bsearch(&f, s->v, s->n, sizeof(*s->v), cmp_folio) != NULL;
}

void mu_folios_free(struct mu_folios *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------------------ */

struct pte_ref {
	struct pmm_page *page;
	struct pmm_folio *folio;
};

static int cmp_by_page(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct pte_ref *)a)->page;
	uintptr_t y = (uintptr_t)((const struct pte_ref *)b)->page;

	return x < y ? -1 : x > y;
}

static int cmp_by_folio(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct pte_ref *)a)->folio;
	uintptr_t y = (uintptr_t)((const struct pte_ref *)b)->folio;

	return x < y ? -1 : x > y;
}

uint64_t mu_assert_rmap(pmm_t *pmm, pmm_mm_t *const *mms, size_t n, const struct mu_range *r,
			size_t nr, enum pmm_mapcount_model model, bool swap_ok)
{
	struct pte_ref *v = NULL;
	size_t len = 0, cap = 0;
	uint64_t swapped = 0;
	int bad = 0;

	pmm_lru_add_drain(pmm);
	for (size_t m = 0; m < n; m++)
		for (size_t i = 0; i < nr; i++)
			for (uint64_t a = r[i].start; a < r[i].end; a += MU_PAGE) {
				struct pmm_page *p = pmm_mm_lookup(mms[m], a);

				if (!p)
					continue;
				if (len == cap) {
					cap = cap ? 2 * cap : 4096;
					v = realloc(v, cap * sizeof(*v));
					assert_non_null(v);
				}
				v[len++] = (struct pte_ref){ p, pmm_page_folio(p) };
			}
	if (!len)
		return 0;

	/* folio totals first: the folio model reports them per page */
	qsort(v, len, sizeof(*v), cmp_by_folio);
	for (size_t i = 0, j; i < len; i = j) {
		struct pmm_folio_info fi;
		int ptes, refs;
		unsigned int order = pmm_folio_order(v[i].folio);

		for (j = i; j < len && v[j].folio == v[i].folio; j++)
			;
		ptes = (int)(j - i);
		assert_int_equal(pmm_folio_info(pmm, v[i].page, &fi), 0);
		assert_int_equal(fi.mapcount, ptes);
		/* The deferred split queue holds a reference of its own on what it lists. */
		refs = fi.refcount - fi.deferred_split;
		if (fi.swapcache && !swap_ok && bad++ < 8)
			print_message("folio at pfn %#" PRIx64 ": in the swap cache\n",
				      pmm_page_to_pfn(pmm, v[i].page));
		if (fi.swapcache)
			swapped++;
		if (refs != ptes + (fi.swapcache ? (1 << order) : 0)) {
			if (bad++ < 8)
				print_message("folio at pfn %#" PRIx64 " (order %u): refcount %d, %d PTEs"
					      " map it\n", pmm_page_to_pfn(pmm, v[i].page), order, refs,
					      ptes);
		}
		if (model == PMM_MAPCOUNT_FOLIO && order > 0)
			for (size_t k = i; k < j; k++)
				if (pmm_page_mapcount(v[k].page) != ptes && bad++ < 8)
					print_message("pfn %#" PRIx64 ": mapcount %d, folio total %d\n",
						      pmm_page_to_pfn(pmm, v[k].page),
						      pmm_page_mapcount(v[k].page), ptes);
	}
	qsort(v, len, sizeof(*v), cmp_by_page);
	for (size_t i = 0, j; i < len; i = j) {
		for (j = i; j < len && v[j].page == v[i].page; j++)
			;
		if (model == PMM_MAPCOUNT_FOLIO && pmm_folio_order(v[i].folio) > 0)
			continue;
		if (pmm_page_mapcount(v[i].page) != (int)(j - i) && bad++ < 8)
			print_message("pfn %#" PRIx64 ": mapcount %d, %zu PTEs map it\n",
				      pmm_page_to_pfn(pmm, v[i].page), pmm_page_mapcount(v[i].page),
				      j - i);
	}
	free(v);
	assert_int_equal(bad, 0);
	return swapped;
}

/* ------------------------------------------------------------------------ */

#define TAG_LAST (MU_PAGE - sizeof(uint64_t))

int mu_try_write_tag(pmm_mm_t *mm, uint64_t addr, uint64_t tag)
{
	void *p = NULL;
	uint64_t w = ~tag;
	int rc = pmm_mm_access(mm, addr & ~(MU_PAGE - 1), true, &p);

	if (rc)
		return rc;
	if (!p)
		return -PMM_EINVAL;
	memcpy(p, &tag, sizeof(tag));
	memcpy((char *)p + TAG_LAST, &w, sizeof(w));
	return 0;
}

int mu_try_read_tag(pmm_mm_t *mm, uint64_t addr, uint64_t *tag)
{
	void *p = NULL;
	uint64_t w0, w1;
	int rc = pmm_mm_access(mm, addr & ~(MU_PAGE - 1), false, &p);

	if (rc)
		return rc;
	if (!p)
		return -PMM_EINVAL;
	memcpy(&w0, p, sizeof(w0));
	memcpy(&w1, (char *)p + TAG_LAST, sizeof(w1));
	if (!(w0 == 0 && w1 == 0) && w1 != ~w0)
		return -PMM_ECORRUPT;
	*tag = w0;
	return 0;
}

void mu_write_tag(pmm_mm_t *mm, uint64_t addr, uint64_t tag)
{
	int rc = mu_try_write_tag(mm, addr, tag);

	if (rc)
		print_message("write tag at %#" PRIx64 ": %d (%s)\n", addr, rc, pmm_strerror(rc));
	assert_int_equal(rc, 0);
}

uint64_t mu_read_tag(pmm_mm_t *mm, uint64_t addr)
{
	uint64_t tag = 0;
	int rc = mu_try_read_tag(mm, addr, &tag);

	if (rc)
		print_message("read tag at %#" PRIx64 ": %d (%s)\n", addr, rc, pmm_strerror(rc));
	assert_int_equal(rc, 0);
	return tag;
}

uint64_t mu_page_tag(pmm_t *pmm, const struct pmm_page *page)
{
	const char *p = pmm_page_address(pmm, page);
	uint64_t w0, w1;

	assert_non_null(p);
	memcpy(&w0, p, sizeof(w0));
	memcpy(&w1, p + TAG_LAST, sizeof(w1));
	assert_true((w0 == 0 && w1 == 0) || w1 == ~w0);
	return w0;
}

/* ------------------------------------------------------------------------
 * Counting metadata allocator: testutil's tu_meta, one for every mm suite
 * ------------------------------------------------------------------------ */

static struct tu_meta mu_meta = TU_META_INIT;

void mu_meta_install(struct pmm_config *cfg)
{
	tu_meta_install(cfg, &mu_meta);
}

long mu_meta_live(void)
{
	return tu_meta_live(&mu_meta);
}

long mu_meta_bad_frees(void)
{
	return tu_meta_bad_frees(&mu_meta);
}
