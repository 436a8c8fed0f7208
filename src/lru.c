/* SPDX-License-Identifier: MIT */
/*
 * lru.c - LRU lists, the per-CPU add batches and the release of folios
 * (lru.h). Release is the free phase of every teardown: folios_put_refs()
 * drops a batch of references, takes the folios that reached zero off
 * their LRU list in bounded lock holds, and frees them.
 */
#include "lru.h"
#include "page_alloc.h"
#include "pcp.h"
#include "rmap.h"


int lru_init(pmm_t *pmm)
{
	for (int nid = 0; nid < PMM_MAX_NODES; nid++) {
		struct lruvec *lruvec = &NODE_DATA(pmm, nid)->lruvec;

		spin_lock_init(&lruvec->lock);
		for (int l = 0; l < NR_LRU_LISTS; l++)
			list_init(&lruvec->lists[l]);
	}
	pmm->lru_batches = meta_alloc(pmm, pmm->nr_cpus * sizeof(*pmm->lru_batches));
	if (!pmm->lru_batches)
		return -PMM_ENOMEM;
	for (unsigned int c = 0; c < pmm->nr_cpus; c++)
		spin_lock_init(&pmm->lru_batches[c].lock);
	return 0;
}

void lru_exit(pmm_t *pmm)
{
	meta_free(pmm, pmm->lru_batches, pmm->nr_cpus * sizeof(*pmm->lru_batches));
	pmm->lru_batches = NULL;
}

void lruvec_add_folio_locked(struct lruvec *lruvec, struct pmm_folio *folio, unsigned long nr_pages)
{
	lockdep_assert_held(&lruvec->lock);
	PMM_BUG_ON_PAGE(folio_test_lru(folio), &folio->page);
	folio_set_lru(folio);		/* mapped: other threads change other bits */
	list_add_tail(&folio->page.lru, &lruvec->lists[LRU_INACTIVE_ANON]);
	lruvec->nr_folios[LRU_INACTIVE_ANON]++;
	lruvec->nr_pages += nr_pages;
}

void lruvec_del_folio_locked(struct lruvec *lruvec, struct pmm_folio *folio, unsigned long nr_pages)
{
	enum lru_list l = folio_test_active(folio) ? LRU_ACTIVE_ANON : LRU_INACTIVE_ANON;

	lockdep_assert_held(&lruvec->lock);
	list_del(&folio->page.lru);	/* leaves lru.next, the compound_head word, 0 */
	folio_clear_lru(folio);
	folio_clear_active(folio);
	lruvec->nr_folios[l]--;
	lruvec->nr_pages -= nr_pages;
}

/*
 * Move a batch's folios to their lists, then drop the batch's references
 * (kernel folio_batch_move_lru()). The batch lock is already dropped: the
 * references keep every folio alive.
 */
static void lru_add_folios(pmm_t *pmm, struct pmm_folio **folios, unsigned int nr)
{
	struct lruvec *locked = NULL;

	for (unsigned int i = 0; i < nr; i++) {
		struct lruvec *lruvec = folio_lruvec(pmm, folios[i]);

		if (lruvec != locked) {
			if (locked)
				spin_unlock(&locked->lock);
			spin_lock(&lruvec->lock);
			locked = lruvec;
		}
		lruvec_add_folio_locked(lruvec, folios[i], folio_nr_pages(folios[i]));
		folio_clear_lru_batch(folios[i]);	/* listed before unflagged: never neither */
	}
	if (locked)
		spin_unlock(&locked->lock);
	gstat_add(pmm, lru_add, nr);
	folios_put_refs(pmm, folios, NULL, nr);
}

/* Empty @b into @folios. Return: how many. Context: b->lock held. */
static unsigned int lru_batch_take_locked(struct lru_batch *b, struct pmm_folio **folios)
{
	unsigned int nr = b->nr;

	lockdep_assert_held(&b->lock);
	memcpy(folios, b->folios, nr * sizeof(folios[0]));
	b->nr = 0;
	return nr;
}

static void lru_batch_drain(pmm_t *pmm, struct lru_batch *b)
{
	struct pmm_folio *folios[LRU_BATCH];
	unsigned int nr;

	spin_lock(&b->lock);
	nr = lru_batch_take_locked(b, folios);
	spin_unlock(&b->lock);
	if (nr)
		lru_add_folios(pmm, folios, nr);
}

void lru_add(pmm_t *pmm, struct pmm_folio *folio)
{
	struct lru_batch *b = &pmm->lru_batches[this_cpu(pmm)];
	struct pmm_folio *folios[LRU_BATCH];
	unsigned int nr = 0;

	folio_ref_add(folio, 1);	/* a holder's get: the caller maps the folio */
	folio_set_lru_batch(folio);
	spin_lock(&b->lock);
	b->folios[b->nr++] = folio;
	/* A full batch is emptied before the lock drops: another thread of this CPU may add next. */
	if (b->nr == LRU_BATCH)
		nr = lru_batch_take_locked(b, folios);
	spin_unlock(&b->lock);
	if (nr)
		lru_add_folios(pmm, folios, nr);
}

void lru_add_drain(pmm_t *pmm)
{
	lru_batch_drain(pmm, &pmm->lru_batches[this_cpu(pmm)]);
}

void lru_add_drain_all(pmm_t *pmm)
{
	for (unsigned int c = 0; c < pmm->nr_cpus; c++)
		lru_batch_drain(pmm, &pmm->lru_batches[c]);
}

void pmm_lru_add_drain(pmm_t *pmm)
{
	lru_add_drain_all(pmm);
}

bool folio_free_refused_slow(pmm_t *pmm, struct pmm_folio *folio)
{
	uint64_t f = page_flags(&folio->page);
	int held = folio_mapcount(folio);	/* one reference per PTE (mm.c) */

	held = held > 0 ? held : 0;
	if (f & PF(PG_swapcache))
		held += (int)folio_nr_pages(folio);
	held += !!(f & PF(PG_deferred)) + !!(f & PF(PG_lru_batch));
	if (!held)
		return false;
	atomic_fetch_add_explicit(&folio->page.refcount, held, memory_order_relaxed);
	bad_page_report(pmm, &folio->page,
			"refcount underflow: the last reference went while PTEs, the swap cache, "
			"the split queue or an LRU add batch hold references (restored)");
	return true;
}

/*
 * A folio whose last reference just went: nobody else can see it, so its
 * anonymous owner is cleared with plain stores before the free checks
 * (kernel free_pages_prepare() clears an anon ->mapping the same way).
 */
static void folio_clear_anon_owner(struct pmm_folio *folio)
{
	if (folio_test_anon(folio)) {
		folio->page.mapping = NULL;
		folio->page.index = 0;
	}
}

bool folio_release_prepare(pmm_t *pmm, struct pmm_folio *folio)
{
	if (folio_free_refused(pmm, folio))
		return false;
	if (folio_test_lru(folio)) {
		struct lruvec *lruvec = folio_lruvec(pmm, folio);

		spin_lock(&lruvec->lock);
		lruvec_del_folio_locked(lruvec, folio, folio_nr_pages(folio));
		spin_unlock(&lruvec->lock);
	}
	folio_clear_anon_owner(folio);
	return true;
}

/* folios_put_refs()' free of a folio it took off its LRU list. */
static void free_released_folio(pmm_t *pmm, struct pmm_folio *folio)
{
	PMM_BUG_ON_PAGE(folio_test_deferred(folio) || folio_test_swapcache(folio), &folio->page);
	folio_clear_anon_owner(folio);
	trace_mm_page_free_batched(pmm, &folio->page);
	free_frozen_pages(pmm, &folio->page, folio_order(folio), FPI_NONE);
}

static void unlock_lruvec(struct lruvec **locked)
{
	if (*locked) {
		spin_unlock(&(*locked)->lock);
		*locked = NULL;
	}
}

void folios_put_refs(pmm_t *pmm, struct pmm_folio *const *folios, const int *refs,
		     unsigned int nr)
{
	struct pmm_folio *to_free[FOLIOS_PUT_MAX];
	struct lruvec *locked = NULL;
	unsigned int nr_free = 0, lock_batch = 0;

	PMM_BUG_ON(nr > FOLIOS_PUT_MAX);
	for (unsigned int i = 0; i < nr; i++) {
		struct pmm_folio *folio = folios[i];

		int drop = refs ? refs[i] : 1, seen;

		/* Bound the lock hold on a long run of folios of one lruvec. */
		if (locked && ++lock_batch == SWAP_CLUSTER_MAX)
			unlock_lruvec(&locked);
		/*
		 * The holder's drop and folio_free_refused(), each in halves:
		 * their slow paths may report, and a report's callbacks run with
		 * no pmm lock held, so the lruvec lock goes first.
		 */
		if (unlikely(!page_ref_drop_all(&folio->page, drop, &seen))) {
			unlock_lruvec(&locked);
			if (!page_ref_drop_held_slow(pmm, &folio->page, drop, seen))
				continue;
		}
		if (unlikely(folio_has_holders(folio))) {
			unlock_lruvec(&locked);
			if (folio_free_refused_slow(pmm, folio))
				continue;
		}
		if (folio_test_lru(folio)) {
			struct lruvec *lruvec = folio_lruvec(pmm, folio);

			if (lruvec != locked) {
				if (locked)
					spin_unlock(&locked->lock);
				spin_lock(&lruvec->lock);
				locked = lruvec;
				lock_batch = 0;
			}
			lruvec_del_folio_locked(lruvec, folio, folio_nr_pages(folio));
		}
		to_free[nr_free++] = folio;
	}
	unlock_lruvec(&locked);
	for (unsigned int i = 0; i < nr_free; i++)
		free_released_folio(pmm, to_free[i]);
}
