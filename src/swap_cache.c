/* SPDX-License-Identifier: MIT */
/*
 * swap_cache.c - the swap cache's index (swap.h): open addressing with
 * linear probing over a power-of-two table of (entry, folio) slots, grown
 * at half full; a deleted slot becomes a tombstone so that probes go on
 * past it. Entries are handed out once and never reused, so a stale entry
 * can never name another folio.
 */
#include "internal.h"
#include "page_ref.h"
#include "rmap.h"
#include "swap.h"

#define SWAP_MIN_SLOTS 1024

void swap_cache_init(pmm_t *pmm)
{
	spin_lock_init(&pmm->swap_cache.lock);
	pmm->swap_cache.next_entry = 1;		/* 0 marks an empty slot */
}

void swap_cache_exit(pmm_t *pmm)
{
	meta_free(pmm, pmm->swap_cache.slots, pmm->swap_cache.cap * sizeof(struct swap_slot));
	pmm->swap_cache.slots = NULL;
}

static uint64_t slot_hash(uint64_t entry)
{
	return entry * 0x9e3779b97f4a7c15ull;
}

static struct swap_slot *slot_find_locked(struct swap_cache *sc, uint64_t entry)
{
	lockdep_assert_held(&sc->lock);
	if (!sc->cap)
		return NULL;
	for (uint64_t i = slot_hash(entry) & (sc->cap - 1);; i = (i + 1) & (sc->cap - 1)) {
		struct swap_slot *s = &sc->slots[i];

		if (s->entry == entry)
			return s;
		if (!s->entry)
			return NULL;
	}
}

static void slot_insert_locked(struct swap_cache *sc, uint64_t entry, struct pmm_folio *folio)
{
	lockdep_assert_held(&sc->lock);
	for (uint64_t i = slot_hash(entry) & (sc->cap - 1);; i = (i + 1) & (sc->cap - 1)) {
		struct swap_slot *s = &sc->slots[i];

		if (!s->entry || s->entry == SWAP_TOMBSTONE) {
			sc->used += !s->entry;
			*s = (struct swap_slot){ .entry = entry, .folio = folio };
			return;
		}
	}
}

/* Make room for @more entries: rehash into a table twice the size (tombstones dropped). */
static int swap_cache_grow_locked(pmm_t *pmm, uint64_t more)
{
	struct swap_cache *sc = &pmm->swap_cache;
	struct swap_slot *old = sc->slots;
	uint64_t old_cap = sc->cap, cap = SWAP_MIN_SLOTS;

	lockdep_assert_held(&sc->lock);
	if ((sc->used + more) * 2 <= old_cap)
		return 0;
	while ((sc->nr_pages + more) * 2 > cap)
		cap *= 2;
	sc->slots = meta_alloc(pmm, cap * sizeof(*sc->slots));
	if (!sc->slots) {
		sc->slots = old;
		return -PMM_ENOMEM;
	}
	sc->cap = cap;
	sc->used = 0;
	for (uint64_t i = 0; i < old_cap; i++)
		if (old[i].entry && old[i].entry != SWAP_TOMBSTONE)
			slot_insert_locked(sc, old[i].entry, old[i].folio);
	meta_free(pmm, old, old_cap * sizeof(*old));
	return 0;
}

int swap_cache_add(pmm_t *pmm, struct pmm_folio *folio)
{
	struct swap_cache *sc = &pmm->swap_cache;
	unsigned long nr = folio_nr_pages(folio);
	uint64_t entry;
	int err;

	spin_lock(&sc->lock);
	if (folio_test_swapcache(folio)) {
		spin_unlock(&sc->lock);
		return 0;
	}
	err = swap_cache_grow_locked(pmm, nr);
	if (err) {
		spin_unlock(&sc->lock);
		return err;
	}
	entry = sc->next_entry;
	sc->next_entry += nr;
	for (unsigned long i = 0; i < nr; i++)
		slot_insert_locked(sc, entry + i, folio);
	folio->page.private = entry;
	folio_set_swapcache(folio);	/* mapped: atomic */
	sc->nr_folios++;
	sc->nr_pages += nr;
	spin_unlock(&sc->lock);
	folio_ref_add(folio, (int)nr);	/* a holder's get: the caller maps it */
	gstat_add(pmm, swapcache_add, nr);
	return 0;
}

void swap_cache_del(pmm_t *pmm, struct pmm_folio *folio)
{
	struct swap_cache *sc = &pmm->swap_cache;
	unsigned long nr = folio_nr_pages(folio);

	spin_lock(&sc->lock);
	for (unsigned long i = 0; i < nr; i++) {
		struct swap_slot *s = slot_find_locked(sc, folio->page.private + i);

		PMM_BUG_ON_PAGE(!s || s->folio != folio, &folio->page);
		if (s)
			s->entry = SWAP_TOMBSTONE;
	}
	folio->page.private = 0;
	folio_clear_swapcache(folio);
	sc->nr_folios--;
	sc->nr_pages -= nr;
	spin_unlock(&sc->lock);
	gstat_add(pmm, swapcache_del, nr);
	/* The caller holds a reference too, so these are never the last. */
	folio_ref_drop_not_last(pmm, folio, (int)nr);
}

void swap_cache_split(pmm_t *pmm, struct pmm_folio *folio, unsigned long nr,
		      const unsigned int *maps)
{
	struct swap_cache *sc = &pmm->swap_cache;
	uint64_t first = folio->page.private, kept = 0;

	spin_lock(&sc->lock);
	for (unsigned long i = 0; i < nr; i++) {
		struct swap_slot *s = slot_find_locked(sc, first + i);

		PMM_BUG_ON_PAGE(!s || s->folio != folio, &folio->page);
		if (!s)
			continue;
		if (maps[i]) {
			s->folio = (struct pmm_folio *)folio_page(folio, i);
			kept++;
		} else {
			s->entry = SWAP_TOMBSTONE;
		}
	}
	sc->nr_folios = sc->nr_folios - 1 + kept;
	sc->nr_pages -= nr - kept;
	spin_unlock(&sc->lock);
	gstat_add(pmm, swapcache_del, nr - kept);
}

void free_swap_cache(pmm_t *pmm, struct pmm_folio *folio)
{
	if (!folio_test_swapcache(folio) || folio_mapped(folio) || !folio_trylock(folio))
		return;
	if (folio_test_swapcache(folio) && !folio_mapped(folio))
		swap_cache_del(pmm, folio);
	folio_unlock(folio);
}

struct pmm_folio *swap_cache_lookup(pmm_t *pmm, uint64_t entry)
{
	struct swap_slot *s;
	struct pmm_folio *folio;

	spin_lock(&pmm->swap_cache.lock);
	s = slot_find_locked(&pmm->swap_cache, entry);
	folio = s ? s->folio : NULL;
	spin_unlock(&pmm->swap_cache.lock);
	return folio;
}

bool swap_cache_holds_locked(pmm_t *pmm, const struct pmm_folio *folio)
{
	struct swap_cache *sc = &pmm->swap_cache;

	for (unsigned long i = 0; i < folio_nr_pages(folio); i++) {
		struct swap_slot *s = slot_find_locked(sc, folio->page.private + i);

		if (!s || s->folio != folio)
			return false;
	}
	return true;
}

unsigned long pmm_swapcache_nr(pmm_t *pmm)
{
	unsigned long nr;

	spin_lock(&pmm->swap_cache.lock);
	nr = (unsigned long)pmm->swap_cache.nr_folios;
	spin_unlock(&pmm->swap_cache.lock);
	return nr;
}
