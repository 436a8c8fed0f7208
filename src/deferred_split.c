/* SPDX-License-Identifier: MIT */
/*
 * deferred_split.c - the per-node queues of partially mapped large anonymous
 * folios, and the scan that splits them to order 0 and frees their
 * unmapped pages (deferred_split.h; kernel mm/huge_memory.c).
 *
 * The queue holds a reference on each folio it lists, taken from a holder
 * (the unmapper still holds the mappings' references), so the scan needs no
 * speculative folio_try_get() and the plain-store reference drop of
 * page_ref.h stays exact; and one on the folio's anon_vma, which the scan
 * locks after the family's last mm may have exited (mm.h). Whoever takes a
 * folio off the queue under its lock owns both: the scan, or the unmapper
 * that removed the folio's last mapping (deferred_split_unqueue()).
 *
 * Splitting must not race a change of the folio's mappings. Every mm that
 * can map an anonymous folio belongs to its anon_vma (the fork family), so
 * the scan takes the anon_vma's lock and then trylocks every mm of it; if
 * one is busy the folio goes back on the queue for a later scan. With every
 * mapper locked, the mappings are counted by walking each mm's page table
 * at the folio's address (every page of the family maps at the same
 * address), which works in both mapcount models.
 */
#include "contig.h"
#include "deferred_split.h"
#include "internal.h"
#include "lru.h"
#include "mm.h"
#include "rmap.h"
#include "swap.h"


void deferred_split_init(pmm_t *pmm)
{
	for (int nid = 0; nid < PMM_MAX_NODES; nid++) {
		struct deferred_split *ds = &NODE_DATA(pmm, nid)->split_queue;

		spin_lock_init(&ds->lock);
		list_init(&ds->queue);
	}
}

static struct deferred_split *folio_split_queue(const pmm_t *pmm, const struct pmm_folio *folio)
{
	return &NODE_DATA(pmm, page_zone(pmm, &folio->page)->nid)->split_queue;
}

/*
 * Queue @folio unless it is queued already or no longer mapped.
 * Return: true if it was queued now (the caller hands the queue a reference).
 *
 * The unmapper of the folio's last mapping looks at PG_deferred without
 * the lock (deferred_split_unqueue()), after dropping its mapcount; here
 * the flag is set before the mapcount is read. All four accesses are
 * seq_cst (on x86 the two read-modify-writes are locked anyway and the
 * loads plain), so in their single total order at least one side sees the
 * other: either the folio is found unmapped here and not queued, or the
 * unmapper sees the flag and takes it off the queue under the lock, after
 * us. No unmapped folio stays queued, and a folio that was never queued
 * costs its unmapper no fence.
 *
 * Context: ds->lock held.
 */
static bool queue_if_mapped_locked(struct deferred_split *ds, struct pmm_folio *folio)
{
	lockdep_assert_held(&ds->lock);
	if (folio_test_deferred(folio))
		return false;
	atomic_fetch_or_explicit(&folio->page.flags, PF(PG_deferred), memory_order_seq_cst);
	if (atomic_load_explicit(&folio->large_mapcount, memory_order_seq_cst) < 0) {	/* unmapped */
		folio_clear_deferred(folio);
		return false;
	}
	list_add_tail(&folio->deferred_list, &ds->queue);
	__atomic_store_n(&ds->len, ds->len + 1, __ATOMIC_RELAXED);	/* read unlocked by the shrinker */
	return true;
}

/* Context: ds->lock held. Return: true if the folio was queued (its reference is the caller's now). */
static bool unqueue_folio_locked(struct deferred_split *ds, struct pmm_folio *folio)
{
	lockdep_assert_held(&ds->lock);
	if (!folio_test_deferred(folio))
		return false;
	list_del_init(&folio->deferred_list);
	folio_clear_deferred(folio);
	__atomic_store_n(&ds->len, ds->len - 1, __ATOMIC_RELAXED);
	return true;
}

void deferred_split_folio(pmm_t *pmm, struct pmm_folio *folio)
{
	struct deferred_split *ds;

	/* Orders 0 and 1 have no deferred_list (it lives in the second tail). */
	if (folio_order(folio) < 2 || folio_test_deferred(folio))
		return;
	ds = folio_split_queue(pmm, folio);
	spin_lock(&ds->lock);
	gstat_add(pmm, deferred_split_lock, 1);
	if (queue_if_mapped_locked(ds, folio)) {
		/* Holder's gets: the caller maps the folio, and its mm holds the anon_vma. */
		folio_ref_add(folio, 1);
		anon_vma_get(folio_anon_vma(folio));
		gstat_add(pmm, deferred_split, 1);
	}
	spin_unlock(&ds->lock);
}

void deferred_split_unqueue(pmm_t *pmm, struct pmm_folio *folio)
{
	struct deferred_split *ds;
	bool queued;

	if (folio_order(folio) < 2)
		return;
	/* The mapcount dropped (seq_cst) before this: pairs with queue_if_mapped_locked(). */
	if (!(atomic_load_explicit(&folio->page.flags, memory_order_seq_cst) & PF(PG_deferred)))
		return;
	ds = folio_split_queue(pmm, folio);
	spin_lock(&ds->lock);
	gstat_add(pmm, deferred_split_lock, 1);
	queued = unqueue_folio_locked(ds, folio);
	spin_unlock(&ds->lock);
	if (!queued)
		return;
	/* The caller holds the gather's references and its mm's anon_vma one: never the last. */
	folio_ref_drop_not_last(pmm, folio, 1);
	anon_vma_put(pmm, folio_anon_vma(folio));
}

/* ------------------------------------------------------------------------
 * The split
 * ------------------------------------------------------------------------ */

/*
 * An mm of the family, locked for the split: trylocked, or already held by
 * this very thread, which is inside an allocation of a fault or fork of it
 * (mm_held_for_reclaim(): the reclaim of that allocation runs this scan).
 */
static bool split_lock_mm(struct pmm_mm *mm)
{
	return spin_trylock(&mm->lock) || mm_held_for_reclaim(mm);
}

static void split_unlock_mm(struct pmm_mm *mm)
{
	if (!mm_held_for_reclaim(mm))
		spin_unlock(&mm->lock);
}

/* Lock every mm of @av, or none. Context: av->lock held. */
static bool trylock_family_locked(struct anon_vma *av)
{
	struct pmm_list *l;

	lockdep_assert_held(&av->lock);
	for (l = av->mms.next; l != &av->mms; l = l->next) {
		if (!split_lock_mm(container_of(l, struct pmm_mm, anon_vma_link))) {
			while ((l = l->prev) != &av->mms)
				split_unlock_mm(container_of(l, struct pmm_mm, anon_vma_link));
			return false;
		}
	}
	return true;
}

static void unlock_family_locked(struct anon_vma *av)
{
	lockdep_assert_held(&av->lock);
	for (struct pmm_list *l = av->mms.next; l != &av->mms; l = l->next)
		split_unlock_mm(container_of(l, struct pmm_mm, anon_vma_link));
}

/*
 * The rmap walk: count in @maps[i] the PTEs of every mm of @av that map
 * page i of @folio. Return: the total. Context: every mm locked.
 */
static long count_mappings(pmm_t *pmm, struct anon_vma *av, struct pmm_folio *folio,
			   unsigned int *maps)
{
	unsigned long nr = folio_nr_pages(folio);
	uint64_t addr = folio->page.index << PT_PAGE_SHIFT;
	pmm_pfn_t pfn = page_to_pfn(pmm, &folio->page);
	long total = 0;

	memset(maps, 0, nr * sizeof(*maps));
	for (struct pmm_list *l = av->mms.next; l != &av->mms; l = l->next) {
		struct pmm_mm *mm = container_of(l, struct pmm_mm, anon_vma_link);
		struct pmm_page *ptable = pte_table_lookup(mm, addr);
		pte_t *pte;

		if (!ptable)
			continue;
		pte = pte_of(pmm, ptable, addr);	/* a folio lies in one PTE table */
		for (unsigned long i = 0; i < nr; i++) {
			if (pte_present(pte[i]) && pte_pfn(pte[i]) == pfn + i) {
				maps[i]++;
				total++;
			}
		}
	}
	return total;
}

/*
 * Turn page @i of a folio being split into an order-0 folio of its own
 * with @maps mappings, at virtual page @index + i (the folio's index, read
 * before page 0 is rewritten). A mapped page of a swap cache folio keeps
 * entry @swap + i and one of the cache's references (swap_cache_split()
 * has pointed the entry at it); an unmapped page keeps no reference at all.
 * Context: every mapper and the lruvec locked, so no other thread changes
 * the page.
 */
static void split_page_of_folio(struct pmm_folio *folio, unsigned long i, unsigned int maps,
				struct anon_vma *av, enum pmm_mapcount_model model, uint64_t swap,
				uint64_t index)
{
	struct pmm_page *page = folio_page(folio, i);
	bool cached = swap && maps;

	if (i) {
		page->compound_head = 0;
		page->tail_word = 0;
		__SetPageOwned(page);	/* no other thread reads a tail's flags */
		if (cached)
			__SetPageSwapCache(page);
	} else if (swap && !maps) {
		ClearPageSwapCache(page);
	}
	PMM_BUG_ON_PAGE(model == PMM_MAPCOUNT_PER_PAGE &&
			atomic_load_explicit(&page->mapcount, memory_order_relaxed) + 1 != (int)maps, page);
	atomic_store_explicit(&page->mapcount, (int)maps - 1, memory_order_relaxed);
	set_page_count(page, (int)maps + cached);
	page->mapping = maps ? anon_mapping(av) : NULL;
	page->index = maps ? index + i : 0;
	page->private = cached ? swap + i : 0;
}

/*
 * split_folio - split @folio (held through the queue's reference) to order
 * 0 and free its unmapped pages as batched contiguous runs. A swap cache
 * folio splits too (kernel __split_huge_page()): its mapped pages stay
 * cached, its unmapped ones leave the cache and are freed.
 * Return: pages freed (the queue's references on the folio and its
 * anon_vma are used up), or -1 when it cannot be split now (a mapper is
 * busy, a reference other than the mappings', the cache's and ours is
 * held): the caller still owns both references.
 */
static long split_folio(pmm_t *pmm, struct pmm_folio *folio)
{
	unsigned long nr = folio_nr_pages(folio);
	struct anon_vma *av = folio_anon_vma(folio);	/* pinned by the queue's reference */
	struct deferred_split *ds = folio_split_queue(pmm, folio);
	unsigned int maps[1u << PMD_ORDER];	/* a folio lies in one PTE table */
	struct lruvec *lruvec = folio_lruvec(pmm, folio);
	bool requeued;
	uint64_t swap;
	pmm_pfn_t pfn;
	long total, freed = 0;

	PMM_BUG_ON_PAGE(!av || nr > sizeof(maps) / sizeof(maps[0]), &folio->page);
	/*
	 * The kernel splits a locked folio. Here the mm locks and the
	 * reference count do that job: swap_cache_add() and the COW reuse
	 * run under a mapper's mm lock, and free_swap_cache() runs before its
	 * caller drops a reference that the count check below sees. Taking
	 * the folio lock would only make a concurrent free_swap_cache()'s
	 * trylock fail, and pmm has no reclaim to find such a folio later.
	 */
	spin_lock(&av->lock);
	if (!trylock_family_locked(av)) {
		spin_unlock(&av->lock);
		return -1;
	}
	/* A mapper may have queued it again while we held it off the queue: ours remain. */
	spin_lock(&ds->lock);
	requeued = unqueue_folio_locked(ds, folio);
	spin_unlock(&ds->lock);
	if (requeued) {
		folio_ref_drop_not_last(pmm, folio, 1);
		atomic_fetch_sub_explicit(&av->refcount, 1, memory_order_relaxed);	/* never the last */
	}
	total = count_mappings(pmm, av, folio, maps);
	swap = folio_test_swapcache(folio) ? folio->page.private : 0;
	/* Only the mappings', the swap cache's and ours: no pin, no LRU batch entry. */
	if (folio_ref_count(folio) != total + 1 + (swap ? (long)nr : 0) ||
	    !folio_test_lru(folio)) {
		unlock_family_locked(av);
		spin_unlock(&av->lock);
		return -1;
	}

	if (swap)
		swap_cache_split(pmm, folio, nr, maps);
	spin_lock(&lruvec->lock);
	lruvec_del_folio_locked(lruvec, folio, nr);
	ClearPageHead(&folio->page);
	clear_page_alloc_order(&folio->page);
	/* Page 1 and 2's mapping/index words held the folio's counters and queue link: theirs again. */
	for (unsigned long i = 0, index = folio->page.index; i < nr; i++)
		split_page_of_folio(folio, i, maps[i], av, av->model, swap, index);
	for (unsigned long i = 0; i < nr; i++)
		if (maps[i])
			lruvec_add_folio_locked(lruvec, (struct pmm_folio *)folio_page(folio, i), 1);
	spin_unlock(&lruvec->lock);
	unlock_family_locked(av);
	spin_unlock(&av->lock);

	/* The unmapped pages hold no reference at all now: free them in runs. */
	pfn = page_to_pfn(pmm, &folio->page);
	for (unsigned long i = 0; i < nr;) {
		unsigned long run = 0;
		bool bad = false;

		/* A page that fails its checks is reported (and leaked) once, then skipped. */
		while (i + run < nr && !maps[i + run] &&
		       !(bad = !free_pages_prepare(pmm, folio_page(folio, i + run), 0)))
			run++;
		if (run)
			free_prepared_contig_range(pmm, folio_page(folio, i), pfn + i, run);
		freed += (long)run;
		i += run + (bad || !run);
	}
	gstat_add(pmm, split_folios, 1);
	gstat_add(pmm, split_freed, freed);
	anon_vma_put(pmm, av);	/* the queue's; the last if the family has exited */
	return freed;
}

/* Put a folio the split could not take back on the queue, or drop it if it is unmapped now. */
static void requeue_or_put(pmm_t *pmm, struct pmm_folio *folio)
{
	struct deferred_split *ds = folio_split_queue(pmm, folio);
	struct anon_vma *av = folio_anon_vma(folio);
	bool keep;

	spin_lock(&ds->lock);
	gstat_add(pmm, deferred_split_lock, 1);
	keep = queue_if_mapped_locked(ds, folio);	/* with the references we hold */
	spin_unlock(&ds->lock);
	if (!keep) {
		folios_put_refs(pmm, &folio, NULL, 1);
		anon_vma_put(pmm, av);
	}
}

unsigned long pmm_deferred_split_scan(pmm_t *pmm, unsigned long nr_to_scan)
{
	unsigned long freed = 0;

	if (!pmm)
		return 0;
	/* A folio in an LRU add batch is held by it: drain so that it can split. */
	lru_add_drain_all(pmm);
	for (int nid = 0; nid < PMM_MAX_NODES && nr_to_scan; nid++) {
		struct deferred_split *ds = &NODE_DATA(pmm, nid)->split_queue;
		uint64_t budget;

		spin_lock(&ds->lock);
		budget = ds->len;	/* each queued folio at most once per scan */
		spin_unlock(&ds->lock);
		for (; budget && nr_to_scan; budget--, nr_to_scan--) {
			struct pmm_folio *folio = NULL;
			long n;

			spin_lock(&ds->lock);
			gstat_add(pmm, deferred_split_lock, 1);
			if (!list_empty(&ds->queue)) {
				folio = container_of(ds->queue.next, struct pmm_folio, deferred_list);
				unqueue_folio_locked(ds, folio);	/* its reference is ours */
			}
			spin_unlock(&ds->lock);
			if (!folio)
				break;
			n = split_folio(pmm, folio);
			if (n < 0)
				requeue_or_put(pmm, folio);
			else
				freed += (unsigned long)n;
		}
	}
	return freed;
}

/* Under allocation pressure every queued folio is worth a try (kernel deferred_split_scan()). */
unsigned long deferred_split_shrink(pmm_t *pmm, unsigned long want)
{
	(void)want;
	for (int nid = 0; nid < PMM_MAX_NODES; nid++)
		if (__atomic_load_n(&NODE_DATA(pmm, nid)->split_queue.len, __ATOMIC_RELAXED))
			return pmm_deferred_split_scan(pmm, (unsigned long)-1);
	return 0;
}
