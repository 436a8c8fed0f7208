/* SPDX-License-Identifier: MIT */
/*
 * test_badinput2.c - the rows of docs/reliability.md that no other test
 * backs: each public call given each bad input it can get, with the exact
 * result (error code, NULL, or a bad-page report through the callback and
 * the counter, with its reason), and the instance still consistent
 * afterwards: pmm_check() == 0 and every frame free, held or counted as
 * leaked. test_badinput.c has the first half of the table.
 *
 * Inputs that can crash or never return (undefined behaviour on a huge
 * count, a walk over 2^40 absent sections) run in a child process with a
 * time limit, so a failure is reported instead of taking the program down.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define SECTION_SHIFT 22	/* 1024-frame sections */
#define SECTION_PAGES 1024u
#define PAGE_STRUCT 64		/* pmm.h: "one per frame, 64 bytes" */

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* tu_config() with 1024-frame sections. */
static void cfg_small(struct pmm_config *cfg, uint64_t mib, struct tu_bad *bad)
{
	tu_bad_reset(bad);
	tu_config(cfg, mib, bad);
	cfg->section_shift = SECTION_SHIFT;
}

static pmm_t *instance(struct tu_bad *bad, uint64_t mib)
{
	struct pmm_config cfg;

	cfg_small(&cfg, mib, bad);
	return tu_create(&cfg);
}

/*
 * An instance with holes that have pages (PG_reserved) in a present
 * section: region 0 starts 100 frames into section 0 and ends at frame
 * 1000; region 1 starts at frame 1100, in the same section, and runs for
 * 8000 frames. Frames 0..99 are holes below the first managed pfn, frames
 * 1000..1099 a hole between the regions.
 */
#define HOLE_START (TU_BASE_PFN + 100)
#define GAP_START (TU_BASE_PFN + 1000)
#define R1_START (TU_BASE_PFN + 1100)
#define R1_PAGES 8000u

static pmm_t *holed_instance(struct tu_bad *bad)
{
	struct pmm_config cfg;

	cfg_small(&cfg, 16, bad);
	tu_config_region(&cfg, 0, HOLE_START, GAP_START - HOLE_START, 0);
	tu_config_region(&cfg, 1, R1_START, R1_PAGES, 0);
	return tu_create(&cfg);
}

/* The page of the hole frame right before the region (same memmap chunk). */
static struct pmm_page *hole_page(pmm_t *pmm)
{
	struct pmm_page *first = pmm_pfn_to_page(pmm, HOLE_START);

	assert_non_null(first);
	assert_null(pmm_pfn_to_page(pmm, HOLE_START - 1));
	return (struct pmm_page *)((char *)first - PAGE_STRUCT);
}

/* A page pointer that is not a page: @off bytes into a real one. */
static struct pmm_page *skewed(struct pmm_page *p, size_t off)
{
	return (struct pmm_page *)((char *)p + off);
}

/* @n frozen frames (refcount 0, handed out) at @pfn. */
static void take_frozen(pmm_t *pmm, pmm_pfn_t pfn, unsigned long n)
{
	assert_int_equal(pmm_alloc_contig_frozen_range(pmm, pfn, pfn + n, 0), 0);
	for (unsigned long i = 0; i < n; i++)
		assert_int_equal(pmm_page_count(pmm_pfn_to_page(pmm, pfn + i)), 0);
}

/*
 * Run @fn(@arg) in a child with a @secs time limit. Return: 0 if it
 * returned normally, else a description is printed and -1 returned.
 */
static int in_child(const char *what, void (*fn)(void *), void *arg, unsigned int secs)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(secs);
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		print_message("%s: child killed by signal %d (%s)%s\n", what, WTERMSIG(status),
			      strsignal(WTERMSIG(status)),
			      WTERMSIG(status) == SIGALRM ? ": did not return in time" : "");
	else
		print_message("%s: child exited with status %d\n", what, WEXITSTATUS(status));
	return -1;
}

/* A counting metadata allocator: live blocks only. */
static long meta_live;

static void *meta_alloc_cb(void *arg, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	(void)arg;
	if (p == MAP_FAILED)
		return NULL;
	meta_live++;
	return p;
}

static void meta_free_cb(void *arg, void *p, size_t size)
{
	(void)arg;
	meta_live--;
	munmap(p, size);
}

/* ------------------------------------------------------------------------
 * pmm_create
 * ------------------------------------------------------------------------ */

static void expect_create(const struct pmm_config *cfg, int err, const char *what)
{
	pmm_t *pmm = (pmm_t *)(uintptr_t)0x1;
	int rc = pmm_create(cfg, &pmm);

	if (rc != err)
		print_message("%s: pmm_create returned %d (%s), expected %d\n", what, rc,
			      pmm_strerror(rc), err);
	assert_int_equal(rc, err);
	assert_null(pmm);
}

/* The config checks test_instance.c:test_bad_configs does not make. */
static void test_create_bad_config_more(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;

	(void)state;
	cfg_small(&cfg, 16, &bad);
	assert_int_equal(pmm_create(&cfg, NULL), -PMM_EINVAL);

	cfg_small(&cfg, 16, &bad);
	cfg.section_shift = 41;
	expect_create(&cfg, -PMM_EINVAL, "section_shift 41");

	/* regions beyond the 52-bit physical address space */
	cfg_small(&cfg, 16, &bad);
	cfg.backing = PMM_BACKING_NONE;
	cfg.regions[0].start_pfn = 1ull << 40;
	expect_create(&cfg, -PMM_EINVAL, "region at 2^52 bytes");
	cfg.regions[0].start_pfn = (1ull << 40) - 10;
	cfg.regions[0].nr_pages = 100;
	expect_create(&cfg, -PMM_EINVAL, "region ending past 2^52 bytes");
	cfg.regions[0].start_pfn = UINT64_MAX - 10;
	cfg.regions[0].nr_pages = 100;
	expect_create(&cfg, -PMM_EINVAL, "region wrapping the pfn space");

	/* a span of more than 64K sections */
	cfg_small(&cfg, 4, &bad);
	cfg.backing = PMM_BACKING_NONE;
	tu_config_region(&cfg, 1, TU_BASE_PFN + 65536ull * SECTION_PAGES, 1024, 0);
	expect_create(&cfg, -PMM_EINVAL, "65537 sections spanned");

	cfg_small(&cfg, 16, &bad);
	tu_config_cpus(&cfg, PMM_MAX_CPUS + 1);
	expect_create(&cfg, -PMM_EINVAL, "nr_cpus > PMM_MAX_CPUS");

	/* the metadata hooks come in pairs */
	cfg_small(&cfg, 16, &bad);
	cfg.meta_alloc = meta_alloc_cb;
	expect_create(&cfg, -PMM_EINVAL, "meta_alloc without meta_free");
	cfg_small(&cfg, 16, &bad);
	cfg.meta_free = meta_free_cb;
	expect_create(&cfg, -PMM_EINVAL, "meta_free without meta_alloc");

	/* USER backing: a buffer that is not page aligned (nothing leaks) */
	{
		size_t size = TU_MIB(4) + 4096;
		char *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		assert_true(buf != MAP_FAILED);
		cfg_small(&cfg, 4, &bad);
		cfg.backing = PMM_BACKING_USER;
		cfg.user_base = buf + 8;
		cfg.user_size = TU_MIB(4);
		cfg.meta_alloc = meta_alloc_cb;
		cfg.meta_free = meta_free_cb;
		meta_live = 0;
		expect_create(&cfg, -PMM_EINVAL, "USER backing buffer not page aligned");
		assert_int_equal(meta_live, 0);
		cfg.user_base = buf;
		{
			pmm_t *pmm = tu_create(&cfg);

			tu_finish(pmm);
		}
		assert_int_equal(meta_live, 0);
		munmap(buf, size);
	}
}

/* The memfd cannot be created (descriptor limit reached): -PMM_EBACKING, nothing leaks. */
static void test_create_backing_fails(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	struct rlimit old, lim;
	int lowest, rc;
	pmm_t *pmm = (pmm_t *)(uintptr_t)0x1;

	(void)state;
	cfg_small(&cfg, 16, &bad);
	cfg.backing = PMM_BACKING_MEMFD;
	cfg.meta_alloc = meta_alloc_cb;
	cfg.meta_free = meta_free_cb;
	meta_live = 0;

	lowest = open("/dev/null", O_RDONLY);
	assert_true(lowest >= 0);
	close(lowest);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)lowest;	/* no new descriptor can be opened */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	rc = pmm_create(&cfg, &pmm);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(rc, -PMM_EBACKING);
	assert_null(pmm);
	assert_int_equal(meta_live, 0);

	/* with descriptors available again it works */
	pmm = tu_create(&cfg);
	tu_finish(pmm);
	assert_int_equal(meta_live, 0);
	/* the descriptor the memfd used is free again */
	lowest = open("/dev/null", O_RDONLY);
	assert_true(lowest >= 0);
	assert_true((rlim_t)lowest == lim.rlim_cur);
	close(lowest);
}

/* ------------------------------------------------------------------------
 * NULL and empty arguments
 * ------------------------------------------------------------------------ */

/* NULLs and zero counts that are documented as ignored: nothing happens. */
static void test_null_and_empty_ignored(void **state)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = instance(&bad, 16);
	uint64_t f0 = tu_free_after_drain(pmm);

	(void)state;
	pmm_destroy(NULL);
	pmm_drain_all_pages(NULL);
	tu_report_mark(pmm, &bad, &m);
	pmm_free_pages(pmm, NULL, 0);
	pmm_free_pages(pmm, NULL, 5);
	pmm_folio_put(pmm, NULL);
	pmm_folio_put_refs(pmm, NULL, 3);
	pmm_folio_get(pmm, NULL);
	pmm_free_pages_exact(pmm, NULL, 4096);
	pmm_free_pages_bulk(pmm, NULL, 10);
	pmm_free_contig_range(pmm, TU_BASE_PFN, 0);
	pmm_free_contig_frozen_range(pmm, TU_BASE_PFN, 0);
	pmm_free_contig_range(pmm, 0, 0);	/* not even the pfn is looked at */
	assert_null(pmm_page_folio(NULL));
	assert_null(pmm_folio_page(pmm, NULL, 0));
	assert_int_equal(pmm_alloc_pages_bulk(pmm, 0, 10, NULL), 0);
	{
		struct pmm_page *arr[4] = { 0 };

		assert_int_equal(pmm_alloc_pages_bulk(pmm, 0, 0, arr), 0);
		for (int i = 0; i < 4; i++)
			assert_null(arr[i]);
	}
	assert_null(pmm_alloc_contig_pages(pmm, 0, 0, -1));
	assert_null(pmm_alloc_pages_exact_pfn(pmm, 0, 0));
	assert_null(pmm_alloc_pages_exact(pmm, 0, 0));
	tu_assert_reports(pmm, &bad, &m, 0, NULL);
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_finish(pmm);
}

/* NULL where a page is required: reported (pfn -1), nothing else. */
static void test_null_page_reported(void **state)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = instance(&bad, 16);

	(void)state;
	tu_report_mark(pmm, &bad, &m);
	pmm_get_page(pmm, NULL);
	tu_assert_reports(pmm, &bad, &m, 1, "pmm_get_page: page not managed by this instance");
	assert_int_equal(atomic_load(&bad.last_pfn), (pmm_pfn_t)-1);
	pmm_put_page(pmm, NULL);
	tu_assert_reports(pmm, &bad, &m, 2, "pmm_put_page: page not managed by this instance");
	pmm_split_page(pmm, NULL, 0);
	tu_assert_reports(pmm, &bad, &m, 3, "pmm_split_page: page not managed by this instance");
	tu_finish(pmm);
}

/* Unknown gfp bits are ignored; DMA32 with no DMA32 memory gives NULL. */
static void test_gfp_bad(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = instance(&bad, 16);	/* all of it above 4 GiB: Normal only */
	struct pmm_page *p;
	uint64_t fails;

	(void)state;
	p = pmm_alloc_pages(pmm, 0xfffff000u, 0);
	assert_non_null(p);
	pmm_free_pages(pmm, p, 0);
	fails = tu_stats(pmm).alloc_fail;
	assert_null(pmm_alloc_pages(pmm, PMM_GFP_DMA32 | PMM_GFP_NOWARN, 0));
	assert_null(pmm_folio_alloc(pmm, PMM_GFP_DMA32 | PMM_GFP_NOWARN, 2));
	assert_int_equal(tu_stats(pmm).alloc_fail, fails + 2);
	tu_finish(pmm, .bad = &bad);
}

/* ------------------------------------------------------------------------
 * Frames
 * ------------------------------------------------------------------------ */

/* page_address / virt_to_page outside the direct map, in holes, unbacked. */
static void test_frame_lookup_bad(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	pmm_t *pmm;
	char *base, *end;
	const size_t ps = 4096;
	/* region 0 ends inside section 0; section 1 is absent; region 1 starts inside section 2 */
	const pmm_pfn_t r1 = TU_BASE_PFN + 2 * SECTION_PAGES + 100;

	(void)state;
	cfg_small(&cfg, 4, &bad);
	tu_config_region(&cfg, 0, TU_BASE_PFN, 1000, 0);
	tu_config_region(&cfg, 1, r1, 900, 0);
	pmm = tu_create(&cfg);
	base = pmm_page_address(pmm, pmm_pfn_to_page(pmm, TU_BASE_PFN));
	assert_non_null(base);
	end = base + (r1 + 900 - TU_BASE_PFN) * ps;
	assert_null(pmm_page_address(pmm, NULL));
	assert_null(pmm_virt_to_page(pmm, NULL));
	assert_null(pmm_virt_to_page(pmm, base - 1));
	assert_null(pmm_virt_to_page(pmm, end));
	assert_null(pmm_virt_to_page(pmm, end + TU_MIB(100)));
	assert_non_null(pmm_virt_to_page(pmm, end - 1));
	assert_ptr_equal(pmm_virt_to_page(pmm, base + ps + 17), pmm_pfn_to_page(pmm, TU_BASE_PFN + 1));
	/* holes: inside section 0, the absent section 1, inside section 2 */
	assert_null(pmm_virt_to_page(pmm, base + 1010 * ps));
	assert_null(pmm_virt_to_page(pmm, base + 1500 * ps));
	assert_null(pmm_virt_to_page(pmm, base + (2 * SECTION_PAGES + 50) * ps));
	assert_null(pmm_pfn_to_page(pmm, TU_BASE_PFN + 1010));
	assert_null(pmm_pfn_to_page(pmm, TU_BASE_PFN + 2 * SECTION_PAGES + 50));
	tu_finish(pmm);

	/* no backing: no addresses at all */
	cfg_small(&cfg, 4, &bad);
	cfg.backing = PMM_BACKING_NONE;
	pmm = tu_create(&cfg);
	assert_null(pmm_page_address(pmm, pmm_pfn_to_page(pmm, TU_BASE_PFN)));
	assert_null(pmm_virt_to_page(pmm, base));
	assert_null(pmm_virt_to_page(pmm, (void *)(uintptr_t)4096));
	tu_finish(pmm);
}

/* ------------------------------------------------------------------------
 * Allocation
 * ------------------------------------------------------------------------ */

/* Two nodes. nid out of range means node 0, as -1 does. */
static pmm_t *two_node_instance(struct tu_bad *bad)
{
	struct pmm_config cfg;

	cfg_small(&cfg, 16, bad);
	tu_config_region(&cfg, 0, TU_BASE_PFN, 4096, 0);
	tu_config_region(&cfg, 1, TU_BASE_PFN + 8192, 4096, 1);
	return tu_create(&cfg);
}

static void test_alloc_node_bad_nid(void **state)
{
	static const int nids[] = { -1, -5, INT_MIN, PMM_MAX_NODES, 1000, INT_MAX };
	struct tu_bad bad;
	pmm_t *pmm = two_node_instance(&bad);

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(nids); i++) {
		struct pmm_page *p = pmm_alloc_pages_node(pmm, nids[i], PMM_GFP_KERNEL, 1);

		assert_non_null(p);
		assert_int_equal(pmm_page_nid(pmm, p), 0);
		pmm_free_pages(pmm, p, 1);
	}
	{
		struct pmm_page *p = pmm_alloc_pages_node(pmm, 1, PMM_GFP_THISNODE, 0);

		assert_non_null(p);
		assert_int_equal(pmm_page_nid(pmm, p), 1);
		pmm_free_pages(pmm, p, 0);
	}
	tu_finish(pmm, .bad = &bad);
}

/*
 * PMM_GFP_THISNODE ("no fallback to other nodes") on a node that has no
 * memory must fail, as __GFP_THISNODE does in the kernel, instead of
 * taking memory from another node.
 */
static void test_thisnode_memoryless_node(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = two_node_instance(&bad);
	uint64_t f0 = tu_free_after_drain(pmm);

	(void)state;
	for (int nid = 2; nid < PMM_MAX_NODES; nid++) {
		struct pmm_page *p = pmm_alloc_pages_node(pmm, nid, PMM_GFP_THISNODE | PMM_GFP_NOWARN, 0);

		if (p) {
			print_message("node %d has no memory, but THISNODE got a page of node %d\n", nid,
				      pmm_page_nid(pmm, p));
			pmm_free_pages(pmm, p, 0);
		}
		assert_null(p);
	}
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_finish(pmm);
}

struct log_cap {
	int lines;
	char last[256];
};

static void log_cb(void *arg, const char *line)
{
	struct log_cap *c = arg;

	c->lines++;
	snprintf(c->last, sizeof(c->last), "%s", line);
}

/* order > max_order: NULL, alloc_fail counted, a log line unless NOWARN. */
static void test_alloc_failure_logs(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	struct log_cap cap = { 0 };
	pmm_t *pmm;
	uint64_t f0;

	(void)state;
	cfg_small(&cfg, 16, &bad);
	cfg.quiet = false;
	cfg.log_fn = log_cb;
	cfg.log_arg = &cap;
	pmm = tu_create(&cfg);
	f0 = tu_stats(pmm).alloc_fail;
	assert_null(pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 11));
	assert_int_equal(tu_stats(pmm).alloc_fail, f0 + 1);
	assert_int_equal(cap.lines, 1);
	assert_non_null(strstr(cap.last, "order 11 refused"));
	assert_null(pmm_alloc_pages(pmm, PMM_GFP_NOWARN, 12));
	assert_int_equal(tu_stats(pmm).alloc_fail, f0 + 2);
	assert_int_equal(cap.lines, 1);
	/* an ordinary failure (here an injected one) logs too */
	{
		struct pmm_fault_attr a = { .nth = 1, .probability = 100, .times = 1 };

		assert_int_equal(pmm_fault_set(pmm, PMM_FAULT_PAGE_ALLOC, &a), 0);
		assert_null(pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2));
		assert_int_equal(cap.lines, 2);
		assert_non_null(strstr(cap.last, "page allocation failure: order 2"));
	}
	tu_finish(pmm, .bad = &bad);
}

/* ------------------------------------------------------------------------
 * pmm_free_pages / pmm_get_page / pmm_put_page / pmm_split_page
 * ------------------------------------------------------------------------ */

static void test_free_pages_bad_pointers(void **state)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = holed_instance(&bad);
	struct pmm_folio *f;
	struct pmm_page *p, *head;
	uint64_t f0;

	(void)state;
	f = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 3);
	assert_non_null(f);
	head = pmm_folio_page(pmm, f, 0);
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	f0 = tu_free_after_drain(pmm);

	tu_report_mark(pmm, &bad, &m);
	pmm_free_pages(pmm, pmm_folio_page(pmm, f, 5), 0);
	tu_assert_reports(pmm, &bad, &m, 1, "pmm_free_pages on a tail page");
	pmm_free_pages(pmm, pmm_folio_page(pmm, f, 1), 3);
	tu_assert_reports(pmm, &bad, &m, 2, "pmm_free_pages on a tail page");
	assert_int_equal(pmm_folio_ref_count(f), 1);

	/* a frame inside a free block that was never handed out */
	pmm_free_pages(pmm, pmm_pfn_to_page(pmm, TU_BASE_PFN + 2 * SECTION_PAGES + 77), 0);
	tu_assert_reports(pmm, &bad, &m, 3, "pmm_free_pages: page not allocated");

	/* pointers that are not pages */
	pmm_free_pages(pmm, skewed(p, 1), 0);
	tu_assert_reports(pmm, &bad, &m, 4, "pmm_free_pages: page not managed by this instance");
	pmm_free_pages(pmm, skewed(p, 8), 0);
	tu_assert_reports(pmm, &bad, &m, 5, "pmm_free_pages: page not managed by this instance");
	pmm_free_pages(pmm, skewed(head, 32), 3);
	tu_assert_reports(pmm, &bad, &m, 6, "pmm_free_pages: page not managed by this instance");
	/* the page of a hole */
	pmm_free_pages(pmm, hole_page(pmm), 0);
	tu_assert_reports(pmm, &bad, &m, 7, "pmm_free_pages: page not managed by this instance");
	assert_int_equal(tu_free_after_drain(pmm), f0);
	assert_int_equal(pmm_page_count(p), 1);
	tu_check(pmm);

	/* a frozen page has no reference to drop */
	take_frozen(pmm, R1_START + 4000, 4);
	f0 = tu_free_after_drain(pmm);
	pmm_free_pages(pmm, pmm_pfn_to_page(pmm, R1_START + 4001), 0);
	tu_assert_reports(pmm, &bad, &m, 8, "refcount underflow");
	assert_int_equal(tu_free_after_drain(pmm), f0);
	assert_int_equal(pmm_page_count(pmm_pfn_to_page(pmm, R1_START + 4001)), 0);
	tu_check(pmm);
	pmm_free_contig_frozen_range(pmm, R1_START + 4000, 4);

	pmm_free_pages(pmm, p, 0);
	pmm_folio_put(pmm, f);
	tu_finish(pmm, .bad = &bad, .since = &m, .reports = 8);
}

static void test_get_put_page_bad(void **state)
{
	struct tu_bad bad, bad_b;
	struct tu_report_mark m;
	pmm_t *pmm = holed_instance(&bad), *other = instance(&bad_b, 16);
	struct pmm_page *p, *q, *foreign;
	uint64_t f0;

	(void)state;
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	pmm_free_pages(pmm, p, 0);	/* p is free now (on a pcp list) */
	foreign = pmm_alloc_pages(other, PMM_GFP_KERNEL, 0);
	assert_non_null(foreign);
	take_frozen(pmm, R1_START + 3000, 2);
	q = pmm_pfn_to_page(pmm, R1_START + 3000);
	f0 = tu_free_after_drain(pmm);

	tu_report_mark(pmm, &bad, &m);
	pmm_get_page(pmm, p);
	tu_assert_reports(pmm, &bad, &m, 1, "pmm_get_page on a page without references");
	assert_int_equal(pmm_page_count(p), 0);
	pmm_get_page(pmm, pmm_pfn_to_page(pmm, TU_BASE_PFN + 2 * SECTION_PAGES + 77));
	tu_assert_reports(pmm, &bad, &m, 2, "pmm_get_page on a page without references");
	pmm_get_page(pmm, q);
	tu_assert_reports(pmm, &bad, &m, 3, "pmm_get_page on a page without references");
	assert_int_equal(pmm_page_count(q), 0);
	pmm_get_page(pmm, foreign);
	tu_assert_reports(pmm, &bad, &m, 4, "pmm_get_page: page not managed by this instance");
	assert_int_equal(pmm_page_count(foreign), 1);
	pmm_get_page(pmm, hole_page(pmm));
	tu_assert_reports(pmm, &bad, &m, 5, "pmm_get_page: page not managed by this instance");
	pmm_get_page(pmm, skewed(q, 16));
	tu_assert_reports(pmm, &bad, &m, 6, "pmm_get_page: page not managed by this instance");

	pmm_put_page(pmm, q);
	tu_assert_reports(pmm, &bad, &m, 7, "refcount underflow: page already free");
	assert_int_equal(pmm_page_count(q), 0);
	pmm_put_page(pmm, hole_page(pmm));
	tu_assert_reports(pmm, &bad, &m, 8, "pmm_put_page: page not managed by this instance");
	pmm_put_page(pmm, skewed(q, 1));
	tu_assert_reports(pmm, &bad, &m, 9, "pmm_put_page: page not managed by this instance");
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_check(pmm);
	tu_check(other);

	pmm_free_contig_frozen_range(pmm, R1_START + 3000, 2);
	pmm_free_pages(other, foreign, 0);
	tu_finish(other, .bad = &bad_b);
	tu_finish(pmm);
}

static void test_split_page_bad(void **state)
{
	struct tu_bad bad, bad_b;
	struct tu_report_mark m;
	pmm_t *pmm = instance(&bad, 32), *other = instance(&bad_b, 16);
	struct pmm_page *p, *blk, *foreign, *frozen;
	struct pmm_folio *f;
	uint64_t f0;

	(void)state;
	p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(p);
	pmm_free_pages(pmm, p, 0);
	blk = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2);
	assert_non_null(blk);
	f = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 2);
	assert_non_null(f);
	foreign = pmm_alloc_pages(other, PMM_GFP_KERNEL, 1);
	assert_non_null(foreign);
	take_frozen(pmm, TU_BASE_PFN + 5000, 1);
	frozen = pmm_pfn_to_page(pmm, TU_BASE_PFN + 5000);
	f0 = tu_free_after_drain(pmm);

	tu_report_mark(pmm, &bad, &m);
	pmm_split_page(pmm, p, 0);
	tu_assert_reports(pmm, &bad, &m, 1, "pmm_split_page: not an allocated block of that order");
	pmm_split_page(pmm, foreign, 1);
	tu_assert_reports(pmm, &bad, &m, 2, "pmm_split_page: page not managed by this instance");
	assert_int_equal(pmm_page_count(foreign), 1);
	pmm_split_page(pmm, pmm_folio_page(pmm, f, 2), 0);
	tu_assert_reports(pmm, &bad, &m, 3, "pmm_split_page on a compound page");
	pmm_split_page(pmm, frozen, 0);
	tu_assert_reports(pmm, &bad, &m, 4, "pmm_split_page: not an allocated block of that order");
	pmm_split_page(pmm, blk, 0);
	tu_assert_reports(pmm, &bad, &m, 5, "pmm_split_page: not an allocated block of that order");
	pmm_split_page(pmm, blk, UINT_MAX);
	tu_assert_reports(pmm, &bad, &m, 6, "pmm_split_page: not an allocated block of that order");
	pmm_split_page(pmm, pmm_pfn_to_page(pmm, tu_pfn(pmm, blk) + 1), 0);
	tu_assert_reports(pmm, &bad, &m, 7, "pmm_split_page: not an allocated block of that order");
	assert_int_equal(tu_free_after_drain(pmm), f0);
	assert_int_equal(pmm_page_count(blk), 1);
	assert_int_equal(pmm_folio_ref_count(f), 1);
	tu_check(pmm);

	/* the caller still owns everything and frees it the right way */
	pmm_free_pages(pmm, blk, 2);
	pmm_folio_put(pmm, f);
	pmm_free_contig_frozen_range(pmm, TU_BASE_PFN + 5000, 1);
	pmm_free_pages(other, foreign, 1);
	tu_finish(other);
	tu_finish(pmm, .bad = &bad, .since = &m, .reports = 7);
}

/* ------------------------------------------------------------------------
 * alloc_pages_exact / alloc_pages_bulk
 * ------------------------------------------------------------------------ */

static void test_exact_bad(void **state)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = instance(&bad, 32);
	const size_t ps = pmm_page_size(pmm);
	uint64_t f0 = tu_free_after_drain(pmm);
	char *a, *base;

	(void)state;
	tu_report_mark(pmm, &bad, &m);
	assert_null(pmm_alloc_pages_exact(pmm, 0, 0));
	assert_null(pmm_alloc_pages_exact(pmm, SIZE_MAX, PMM_GFP_NOWARN));
	assert_null(pmm_alloc_pages_exact(pmm, SIZE_MAX - ps, PMM_GFP_NOWARN));
	assert_null(pmm_alloc_pages_exact(pmm, 1025 * ps, PMM_GFP_NOWARN));
	assert_null(pmm_alloc_pages_exact_pfn(pmm, 0, 0));
	assert_null(pmm_alloc_pages_exact_pfn(pmm, 1025, PMM_GFP_NOWARN));
	assert_null(pmm_alloc_pages_exact_pfn(pmm, ULONG_MAX, PMM_GFP_NOWARN));
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_assert_reports(pmm, &bad, &m, 0, NULL);

	/* free_pages_exact: an address outside the direct map */
	base = pmm_page_address(pmm, pmm_pfn_to_page(pmm, TU_BASE_PFN));
	pmm_free_pages_exact(pmm, base - ps, ps);
	tu_assert_reports(pmm, &bad, &m, 1, "pmm_free_pages_exact: address not in the direct map");
	pmm_free_pages_exact(pmm, &bad, ps);
	tu_assert_reports(pmm, &bad, &m, 2, "pmm_free_pages_exact: address not in the direct map");

	/* a size larger than allocated: the extra frames are free, so reported */
	a = pmm_alloc_pages_exact(pmm, 3 * ps, 0);
	assert_non_null(a);
	pmm_free_pages_exact(pmm, a, 5 * ps);
	tu_assert_reports(pmm, &bad, &m, 4, "refcount underflow");
	assert_int_equal(tu_free_after_drain(pmm), f0);
	/* a smaller size frees only that much; the rest is still the caller's */
	a = pmm_alloc_pages_exact(pmm, 5 * ps, 0);
	assert_non_null(a);
	pmm_free_pages_exact(pmm, a, 2 * ps);
	assert_int_equal(tu_free_after_drain(pmm), f0 - 3);
	tu_assert_conserved(pmm, 3);
	pmm_free_pages_exact(pmm, a + 2 * ps, 3 * ps);
	tu_finish(pmm, .bad = &bad, .since = &m, .reports = 4);

	/* no backing: no addresses to hand out or take back */
	{
		struct pmm_config cfg;
		struct pmm_page *p;

		cfg_small(&cfg, 16, &bad);
		cfg.backing = PMM_BACKING_NONE;
		pmm = tu_create(&cfg);
		tu_report_mark(pmm, &bad, &m);
		assert_null(pmm_alloc_pages_exact(pmm, ps, 0));
		assert_int_equal(tu_free_after_drain(pmm), pmm_managed_frames(pmm));
		p = pmm_alloc_pages_exact_pfn(pmm, 3, 0);	/* the pfn variant works */
		assert_non_null(p);
		pmm_free_pages_exact(pmm, base, ps);
		tu_assert_reports(pmm, &bad, &m, 1, "pmm_free_pages_exact: address not in the direct map");
		pmm_free_contig_range(pmm, tu_pfn(pmm, p), 3);
		tu_finish(pmm);
	}
}

/* Slots holding anything non-NULL are skipped and counted, even garbage. */
static void test_bulk_alloc_bad(void **state)
{
	struct tu_bad bad, bad_b;
	pmm_t *pmm = instance(&bad, 16), *other = instance(&bad_b, 16);
	struct pmm_page *foreign = pmm_alloc_pages(other, 0, 0);
	struct pmm_page *arr[8] = { 0 };
	uint64_t f0 = tu_free_after_drain(pmm);

	(void)state;
	assert_non_null(foreign);
	arr[2] = foreign;
	arr[5] = (struct pmm_page *)(uintptr_t)0x1000;
	assert_int_equal(pmm_alloc_pages_bulk(pmm, 0, 8, arr), 8);
	assert_ptr_equal(arr[2], foreign);
	assert_ptr_equal(arr[5], (struct pmm_page *)(uintptr_t)0x1000);
	assert_int_equal(tu_free_after_drain(pmm), f0 - 6);
	arr[2] = arr[5] = NULL;
	pmm_free_pages_bulk(pmm, arr, 8);
	pmm_free_pages(other, foreign, 0);
	assert_int_equal(tu_bad_count(&bad), 0);
	tu_finish(other);
	tu_finish(pmm);
}

/* ------------------------------------------------------------------------
 * Contiguous frees
 * ------------------------------------------------------------------------ */

static void test_free_contig_range_bad(void **state)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = holed_instance(&bad);
	const pmm_pfn_t last = R1_START + R1_PAGES;	/* one past the end of memory */
	uint64_t f0 = tu_free_after_drain(pmm);

	(void)state;
	tu_report_mark(pmm, &bad, &m);

	/* hole frames with pages (PG_reserved) inside the range: reported, the rest freed */
	assert_int_equal(pmm_alloc_contig_range(pmm, GAP_START - 10, GAP_START, 0), 0);
	assert_int_equal(pmm_alloc_contig_range(pmm, R1_START, R1_START + 10, 0), 0);
	pmm_free_contig_range(pmm, GAP_START - 10, R1_START + 10 - (GAP_START - 10));
	tu_assert_reports(pmm, &bad, &m, R1_START - GAP_START, "pfn not managed (a hole between regions)");
	assert_int_equal(atomic_load(&bad.last_pfn), R1_START - 1);
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_check(pmm);

	/* frames that are already free: a refcount underflow each, nothing changes */
	pmm_free_contig_range(pmm, R1_START + 1000, 16);
	tu_assert_reports(pmm, &bad, &m, 100 + 16, "refcount underflow: page already free");
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_check(pmm);

	/* frozen frames have no reference to drop */
	take_frozen(pmm, R1_START + 2000, 8);
	pmm_free_contig_range(pmm, R1_START + 2000, 8);
	tu_assert_reports(pmm, &bad, &m, 100 + 16 + 8, "refcount underflow: page already free");
	assert_int_equal(tu_free_after_drain(pmm), f0 - 8);
	tu_assert_conserved(pmm, 8);
	pmm_free_contig_frozen_range(pmm, R1_START + 2000, 8);

	/* a range running past the end of memory: the frames inside are freed */
	assert_int_equal(pmm_alloc_contig_range(pmm, last - 10, last, 0), 0);
	pmm_free_contig_range(pmm, last - 10, 10 + 5 * SECTION_PAGES);
	assert_true(tu_bad_count(&bad) - m.cb > 100 + 16 + 8);
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_check(pmm);
	tu_finish(pmm);
}

/*
 * A range that starts in the hole below the first managed pfn, in a
 * present section: the hole frames are reported and the managed frames of
 * the range are freed, as they are for a hole between regions.
 */
static void test_free_contig_range_below_first_pfn(void **state)
{
	struct tu_fx *fx = *state;
	struct tu_report_mark m;
	pmm_t *pmm;
	uint64_t f0;

	tu_config_region(tu_fx_contig_config(fx, 16), 0, HOLE_START, GAP_START - HOLE_START, 0);
	pmm = tu_fx_create(fx);
	f0 = tu_free_after_drain(pmm);
	tu_report_mark(pmm, &fx->bad, &m);
	assert_int_equal(pmm_alloc_contig_range(pmm, HOLE_START, HOLE_START + 10, 0), 0);
	pmm_free_contig_range(pmm, HOLE_START - 10, 20);
	print_message("%s: free_contig_range(first pfn - 10, 20): %lu reports, "
		      "%llu of 10 frames freed\n", fx->v.name, tu_bad_count(&fx->bad) - m.cb,
		      (unsigned long long)(tu_free_after_drain(pmm) - (f0 - 10)));
	assert_true(tu_bad_count(&fx->bad) - m.cb >= 1);
	tu_check(pmm);
	if (tu_free_after_drain(pmm) != f0)
		fail_msg("%s: the 10 allocated frames of the range were neither freed nor reported",
			 fx->v.name);
	tu_finish(pmm);
}

/*
 * An order-2 block that was never split is not four order-0 pages: giving
 * its head to the order-0 paths (free_contig_range, free_pages_bulk) must
 * be refused or reported, and every frame must stay accounted for.
 */
static void unsplit_case(int how)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = instance(&bad, 16);
	struct pmm_page *p = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 2);
	pmm_pfn_t pfn;
	struct pmm_stats st;
	uint64_t fr, leaked, managed;

	assert_non_null(p);
	pfn = tu_pfn(pmm, p);
	tu_report_mark(pmm, &bad, &m);
	switch (how) {
	case 0:
		pmm_free_contig_range(pmm, pfn, 4);
		break;
	case 1:
		pmm_free_contig_range(pmm, pfn, 1);
		break;
	default: {
		struct pmm_page *arr[1] = { p };

		pmm_free_pages_bulk(pmm, arr, 1);
		break;
	}
	}
	pmm_drain_all_pages(pmm);
	fr = pmm_free_frames(pmm);
	leaked = pmm_leaked_frames(pmm);
	managed = pmm_managed_frames(pmm);
	st = tu_stats(pmm);
	print_message("case %d: %llu reports, free %llu + leaked %llu of %llu, head count %d\n", how,
		      (unsigned long long)(st.bad_page - m.stat), (unsigned long long)fr,
		      (unsigned long long)leaked, (unsigned long long)managed, pmm_page_count(p));
	assert_true(tu_bad_count(&bad) - m.cb >= 1);
	/* every frame is free, leaked (counted), or still the caller's block */
	tu_check(pmm);
	if (pmm_page_count(p) == 1)
		pmm_free_pages(pmm, p, 2);
	tu_finish(pmm, .leaked = TU_LEAKED_ANY);
}

static void test_free_contig_range_unsplit_block(void **state)
{
	(void)state;
	unsplit_case(0);
}

static void test_free_contig_range_unsplit_head_only(void **state)
{
	(void)state;
	unsplit_case(1);
}

static void test_free_pages_bulk_unsplit_block(void **state)
{
	(void)state;
	unsplit_case(2);
}

/*
 * Only the first page of a range (of a run, for free_pages_bulk) is checked
 * for being a compound head. A folio whose head comes later in the range
 * must still be refused or reported with every frame accounted for.
 */
static void folio_inside_case(bool bulk)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = instance(&bad, 16);
	struct tu_list kept = { 0 };
	struct pmm_folio *f = NULL;
	struct pmm_page *head, *before;
	pmm_pfn_t fp;

	/* a folio whose preceding frame we can take as an order-0 page */
	for (int i = 0; i < 8 && !f; i++) {
		f = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 3);
		assert_non_null(f);
		fp = tu_pfn(pmm, pmm_folio_page(pmm, f, 0));
		if (fp == TU_BASE_PFN || pmm_alloc_contig_range(pmm, fp - 1, fp, 0) != 0) {
			tu_list_push(&kept, pmm_folio_page(pmm, f, 0), 3, TU_FOLIO, 0);
			f = NULL;
		}
	}
	assert_non_null(f);
	head = pmm_folio_page(pmm, f, 0);
	before = pmm_pfn_to_page(pmm, fp - 1);
	tu_report_mark(pmm, &bad, &m);
	if (bulk) {
		struct pmm_page *arr[] = { before, head };

		pmm_free_pages_bulk(pmm, arr, 2);
	} else {
		pmm_free_contig_range(pmm, fp - 1, 9);
	}
	print_message("%s: %lu reports, folio refcount %d, leaked %llu\n",
		      bulk ? "free_pages_bulk {page, folio head}" : "free_contig_range(head - 1, 9)",
		      tu_bad_count(&bad) - m.cb, pmm_folio_ref_count(f),
		      (unsigned long long)pmm_leaked_frames(pmm));
	assert_true(tu_bad_count(&bad) - m.cb >= 1);
	tu_check(pmm);
	/* refused (still referenced) or leaked whole is the library's choice; lost is not */
	if (pmm_folio_ref_count(f) > 0)
		pmm_folio_put(pmm, f);
	tu_free_all(pmm, &kept);
	tu_list_free(&kept);
	tu_finish(pmm, .leaked = TU_LEAKED_ANY);
}

static void test_free_contig_range_folio_inside(void **state)
{
	(void)state;
	folio_inside_case(false);
}

static void test_free_pages_bulk_folio_inside(void **state)
{
	(void)state;
	folio_inside_case(true);
}

/* A pfn + nr that wraps around the pfn space is bad input: reported. */
static void test_free_contig_range_wrapping_nr(void **state)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = instance(&bad, 16);
	struct pmm_page *p = pmm_alloc_pages_exact_pfn(pmm, 4, 0);
	pmm_pfn_t pfn;
	uint64_t f0;

	(void)state;
	assert_non_null(p);
	pfn = tu_pfn(pmm, p);
	f0 = tu_free_after_drain(pmm);
	tu_report_mark(pmm, &bad, &m);
	pmm_free_contig_range(pmm, pfn, ULONG_MAX);	/* a length of -1 */
	pmm_free_contig_range(pmm, pfn, (unsigned long)-(long)pfn + 2);	/* ends at pfn 2 */
	print_message("pfn + nr wrapping: %llu reports, %llu frames freed\n",
		      (unsigned long long)(tu_stats(pmm).bad_page - m.stat),
		      (unsigned long long)(tu_free_after_drain(pmm) - f0));
	tu_check(pmm);
	/* whatever happened, the instance is whole */
	if (pmm_page_count(p) == 1)
		pmm_free_contig_range(pmm, pfn, 4);
	assert_true(tu_bad_count(&bad) - m.cb >= 1);
	tu_finish(pmm, .leaked = TU_LEAKED_ANY);
}

/*
 * A range that runs 2^40 frames past the end of memory: the frames inside
 * are freed and the rest reported, in bounded time (checked in a child).
 */
static void huge_nr_child(void *arg)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	pmm_t *pmm;
	pmm_pfn_t pfn;

	(void)arg;
	cfg_small(&cfg, 16, &bad);
	cfg.backing = PMM_BACKING_NONE;
	if (pmm_create(&cfg, &pmm))
		_exit(2);
	pfn = TU_BASE_PFN + 4096 - 4;
	if (pmm_alloc_contig_range(pmm, pfn, pfn + 4, 0))
		_exit(3);
	pmm_free_contig_range(pmm, pfn, 1ul << 40);
	if (pmm_check(pmm) || pmm_free_frames(pmm) != pmm_managed_frames(pmm))
		_exit(4);
	pmm_destroy(pmm);
}

static void test_free_contig_range_huge_nr(void **state)
{
	(void)state;
	assert_int_equal(in_child("free_contig_range(pfn, 2^40)", huge_nr_child, NULL, 5), 0);
}

static void test_free_contig_frozen_range_bad(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm;
	struct pmm_page *p;
	pmm_pfn_t pfn, far;
	uint64_t f0;

	(void)state;
	cfg_small(&cfg, 32, &bad);
	cfg.pcp_disable = true;	/* the only frames not free are p's */
	pmm = tu_create(&cfg);
	p = pmm_alloc_pages_exact_pfn(pmm, 8, 0);
	assert_non_null(p);
	pfn = tu_pfn(pmm, p);
	far = pfn >= TU_BASE_PFN + 4096 ? TU_BASE_PFN : TU_BASE_PFN + 4096;	/* an untouched order-10 block */
	f0 = tu_free_after_drain(pmm);
	tu_report_mark(pmm, &bad, &m);

	/* pages that still hold references: reported, left alone */
	pmm_free_contig_frozen_range(pmm, pfn, 8);
	tu_assert_reports(pmm, &bad, &m, 8, "frozen range: page has references");
	for (int i = 0; i < 8; i++)
		assert_int_equal(pmm_page_count(pmm_pfn_to_page(pmm, pfn + i)), 1);
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_check(pmm);

	/* free frames: reported, nothing changes */
	pmm_free_contig_frozen_range(pmm, far + 3, 5);
	tu_assert_reports(pmm, &bad, &m, 13, NULL);
	assert_true(strstr(bad.last_reason, "freeing a page that is not allocated") ||
		    strstr(bad.last_reason, "freeing a free page"));
	assert_int_equal(tu_free_after_drain(pmm), f0);
	pmm_free_contig_frozen_range(pmm, far, 1);	/* a free block's head */
	tu_assert_reports(pmm, &bad, &m, 14, "freeing a free page (double free?)");
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_check(pmm);

	pmm_free_contig_range(pmm, pfn, 8);
	tu_finish(pmm, .bad = &bad, .since = &m, .reports = 14);
}

static void test_free_pages_bulk_bad(void **state)
{
	struct tu_bad bad;
	struct tu_report_mark m;
	pmm_t *pmm = instance(&bad, 32);
	struct pmm_folio *f = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 3);
	struct pmm_page *good[3], *gone;
	uint64_t f0;

	(void)state;
	assert_non_null(f);
	for (int i = 0; i < 3; i++) {
		good[i] = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
		assert_non_null(good[i]);
	}
	gone = pmm_alloc_pages(pmm, PMM_GFP_KERNEL, 0);
	assert_non_null(gone);
	pmm_free_pages(pmm, gone, 0);
	f0 = tu_free_after_drain(pmm);
	tu_report_mark(pmm, &bad, &m);

	{
		struct pmm_page *arr[] = { pmm_folio_page(pmm, f, 0) };

		pmm_free_pages_bulk(pmm, arr, 1);
		tu_assert_reports(pmm, &bad, &m, 1, "pmm_free_pages_bulk on a compound page");
	}
	{
		struct pmm_page *arr[] = { pmm_folio_page(pmm, f, 3) };

		pmm_free_pages_bulk(pmm, arr, 1);
		tu_assert_reports(pmm, &bad, &m, 2, "refcount underflow");
	}
	assert_int_equal(pmm_folio_ref_count(f), 1);
	{
		struct pmm_page *arr[] = { gone };

		pmm_free_pages_bulk(pmm, arr, 1);
		tu_assert_reports(pmm, &bad, &m, 3, "refcount underflow: page already free");
	}
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_check(pmm);

	/* a mixture: the good pages go, every bad entry is reported once */
	{
		struct pmm_page *arr[] = { good[0], NULL, skewed(good[1], 8), gone, good[1], NULL,
					   pmm_folio_page(pmm, f, 0), NULL, good[2], skewed(good[2], 1) };

		pmm_free_pages_bulk(pmm, arr, ARRAY_SIZE(arr));
		tu_assert_reports(pmm, &bad, &m, 7, NULL);
	}
	assert_int_equal(tu_free_after_drain(pmm), f0 + 3);
	assert_int_equal(pmm_folio_ref_count(f), 1);
	tu_check(pmm);
	pmm_folio_put(pmm, f);
	tu_finish(pmm);
}

/* ------------------------------------------------------------------------
 * alloc_contig_range / alloc_contig_frozen_range / alloc_contig_pages
 * ------------------------------------------------------------------------ */

struct pb_snap {
	unsigned int nr;
	uint64_t mt[TU_MAX_ZONES][PMM_MIGRATE_TYPES];
};

static void pb_snap(pmm_t *pmm, struct pb_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->nr = pmm_nr_zones(pmm);
	for (unsigned int z = 0; z < s->nr; z++) {
		struct pmm_zone_info zi;

		tu_zone(pmm, z, &zi);
		memcpy(s->mt[z], zi.nr_pageblocks_mt, sizeof(s->mt[z]));
	}
}

static void expect_contig_rc(pmm_t *pmm, bool frozen, pmm_pfn_t s, pmm_pfn_t e, int err)
{
	struct pb_snap a, b;
	struct tu_buddy x, y;
	int rc;

	pb_snap(pmm, &a);
	tu_buddy_snap(pmm, &x);
	rc = frozen ? pmm_alloc_contig_frozen_range(pmm, s, e, 0) : pmm_alloc_contig_range(pmm, s, e, 0);
	if (rc != err)
		print_message("%s [%#llx, %#llx): %d (%s), expected %d\n",
			      frozen ? "alloc_contig_frozen_range" : "alloc_contig_range",
			      (unsigned long long)s, (unsigned long long)e, rc, pmm_strerror(rc), err);
	assert_int_equal(rc, err);
	pb_snap(pmm, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	tu_buddy_snap(pmm, &y);
	tu_buddy_assert_equal(&x, &y);
}

/*
 * Both contig allocators: bad ranges, a range over two zones, a busy frame.
 * Every refusal leaves pageblock types and buddy lists exactly as they were.
 */
static void test_alloc_contig_bad_ranges(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	pmm_t *pmm;
	struct pmm_page *busy;
	const pmm_pfn_t dma_end = 0x100000;	/* 4 GiB: DMA32 below, Normal above */

	(void)state;
	cfg_small(&cfg, 16, &bad);
	tu_config_region(&cfg, 0, dma_end - 4096, 8192, 0);
	pmm = tu_create(&cfg);
	assert_int_equal(pmm_nr_zones(pmm), 2);
	assert_int_equal(pmm_alloc_contig_range(pmm, dma_end - 2000, dma_end - 1999, 0), 0);
	busy = pmm_pfn_to_page(pmm, dma_end - 2000);
	assert_int_equal(pmm_page_count(busy), 1);

	for (int frozen = 0; frozen <= 1; frozen++) {
		expect_contig_rc(pmm, frozen, dma_end - 100, dma_end - 100, -PMM_EINVAL);
		expect_contig_rc(pmm, frozen, dma_end + 100, dma_end - 100, -PMM_EINVAL);
		expect_contig_rc(pmm, frozen, dma_end - 8, dma_end + 8, -PMM_EINVAL);	/* two zones */
		expect_contig_rc(pmm, frozen, dma_end - 4096 - 1, dma_end - 4000, -PMM_ERANGE);
		expect_contig_rc(pmm, frozen, dma_end + 4090, dma_end + 4097, -PMM_ERANGE);
		expect_contig_rc(pmm, frozen, UINT64_MAX - 1, UINT64_MAX, -PMM_ERANGE);
		expect_contig_rc(pmm, frozen, tu_pfn(pmm, busy) - 3, tu_pfn(pmm, busy) + 3, -PMM_EBUSY);
		tu_assert_conserved(pmm, 1);
	}
	/* right next to the boundary on either side it works */
	assert_int_equal(pmm_alloc_contig_range(pmm, dma_end - 8, dma_end, 0), 0);
	assert_int_equal(pmm_alloc_contig_frozen_range(pmm, dma_end, dma_end + 8, 0), 0);
	tu_assert_conserved(pmm, 17);
	pmm_free_contig_range(pmm, dma_end - 8, 8);
	pmm_free_contig_frozen_range(pmm, dma_end, 8);
	pmm_free_pages(pmm, busy, 0);
	tu_finish(pmm, .bad = &bad);
}

/*
 * A range whose two ends lie in node 0's zone but whose middle is node 1's
 * region (node 0's zone spans it): refused, nothing changes.
 */
static void test_alloc_contig_range_other_node_inside(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	pmm_t *pmm;

	(void)state;
	cfg_small(&cfg, 16, &bad);
	tu_config_region(&cfg, 0, TU_BASE_PFN, 2048, 0);
	tu_config_region(&cfg, 1, TU_BASE_PFN + 2048, 2048, 1);
	tu_config_region(&cfg, 2, TU_BASE_PFN + 4096, 2048, 0);
	pmm = tu_create(&cfg);
	for (int frozen = 0; frozen <= 1; frozen++) {
		struct pb_snap a, b;
		struct tu_buddy x, y;
		int rc;

		pb_snap(pmm, &a);
		tu_buddy_snap(pmm, &x);
		rc = frozen ? pmm_alloc_contig_frozen_range(pmm, TU_BASE_PFN + 1000, TU_BASE_PFN + 5000, 0)
			    : pmm_alloc_contig_range(pmm, TU_BASE_PFN + 1000, TU_BASE_PFN + 5000, 0);
		print_message("range over another node's region: %d (%s)\n", rc, pmm_strerror(rc));
		assert_true(rc == -PMM_EINVAL || rc == -PMM_EBUSY);
		pb_snap(pmm, &b);
		assert_memory_equal(&a, &b, sizeof(a));
		tu_buddy_snap(pmm, &y);
		tu_buddy_assert_equal(&x, &y);
		tu_assert_conserved(pmm, 0);
	}
	tu_finish(pmm, .bad = &bad);
}

static void test_alloc_contig_pages_bad(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = two_node_instance(&bad);
	uint64_t f0 = tu_free_after_drain(pmm);
	struct pmm_page *p;

	(void)state;
	assert_null(pmm_alloc_contig_pages(pmm, 0, 0, -1));
	assert_null(pmm_alloc_contig_pages(pmm, 4097, PMM_GFP_NOWARN, -1));	/* more than a zone */
	assert_null(pmm_alloc_contig_pages(pmm, 8, PMM_GFP_THISNODE | PMM_GFP_NOWARN, 2));	/* no memory */
	assert_null(pmm_alloc_contig_pages(pmm, 8, PMM_GFP_THISNODE | PMM_GFP_NOWARN, 1000));
	assert_null(pmm_alloc_contig_pages(pmm, 8, PMM_GFP_DMA32 | PMM_GFP_NOWARN, -1));	/* no DMA32 */
	assert_int_equal(tu_free_after_drain(pmm), f0);
	p = pmm_alloc_contig_pages(pmm, 8, PMM_GFP_THISNODE, 1);
	assert_non_null(p);
	assert_int_equal(pmm_page_nid(pmm, p), 1);
	pmm_free_contig_range(pmm, tu_pfn(pmm, p), 8);
	tu_finish(pmm, .bad = &bad);
}

/* A count above 2^63: NULL, without undefined behaviour (checked in a child). */
static void contig_pages_huge_child(void *arg)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	pmm_t *pmm;
	unsigned long nr = *(unsigned long *)arg;

	cfg_small(&cfg, 16, &bad);
	cfg.backing = PMM_BACKING_NONE;
	if (pmm_create(&cfg, &pmm))
		_exit(2);
	if (pmm_alloc_contig_pages(pmm, nr, PMM_GFP_NOWARN, -1))
		_exit(3);
	if (pmm_check(pmm) || pmm_free_frames(pmm) != pmm_managed_frames(pmm))
		_exit(4);
	pmm_destroy(pmm);
}

static void test_alloc_contig_pages_huge_nr(void **state)
{
	static unsigned long counts[] = { ULONG_MAX, (1ul << 63) + 1, 1ul << 63, 1ul << 40 };
	int failed = 0;

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(counts); i++) {
		char what[64];

		snprintf(what, sizeof(what), "alloc_contig_pages(%#lx)", counts[i]);
		failed += in_child(what, contig_pages_huge_child, &counts[i], 10) != 0;
	}
	assert_int_equal(failed, 0);
}

/* ------------------------------------------------------------------------
 * Folios
 * ------------------------------------------------------------------------ */

static void test_folio_bad(void **state)
{
	struct tu_bad bad, bad_b;
	struct tu_report_mark m;
	pmm_t *pmm = instance(&bad, 16), *other = instance(&bad_b, 16);
	struct pmm_folio *f = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 3), *gone, *foreign;
	uint64_t f0;

	(void)state;
	assert_non_null(f);
	gone = pmm_folio_alloc(pmm, PMM_GFP_KERNEL, 2);
	assert_non_null(gone);
	pmm_folio_put(pmm, gone);
	foreign = pmm_folio_alloc(other, PMM_GFP_KERNEL, 1);
	assert_non_null(foreign);
	f0 = tu_free_after_drain(pmm);

	assert_null(pmm_folio_page(pmm, f, 8));
	assert_null(pmm_folio_page(pmm, f, ULONG_MAX));
	assert_non_null(pmm_folio_page(pmm, f, 7));

	tu_report_mark(pmm, &bad, &m);
	pmm_folio_get(pmm, gone);
	tu_assert_reports(pmm, &bad, &m, 1, "pmm_get_page on a page without references");
	pmm_folio_get(pmm, foreign);
	tu_assert_reports(pmm, &bad, &m, 2, "pmm_get_page: page not managed by this instance");
	pmm_folio_put(pmm, foreign);
	tu_assert_reports(pmm, &bad, &m, 3, "pmm_folio_put_refs: folio not managed by this instance");
	assert_int_equal(pmm_folio_ref_count(foreign), 1);

	pmm_folio_get(pmm, f);
	assert_int_equal(pmm_folio_ref_count(f), 2);
	pmm_folio_put_refs(pmm, f, 0);
	tu_assert_reports(pmm, &bad, &m, 4, "pmm_folio_put_refs: refs must be positive");
	pmm_folio_put_refs(pmm, f, -1);
	tu_assert_reports(pmm, &bad, &m, 5, "pmm_folio_put_refs: refs must be positive");
	pmm_folio_put_refs(pmm, f, INT_MIN);
	tu_assert_reports(pmm, &bad, &m, 6, "pmm_folio_put_refs: refs must be positive");
	pmm_folio_put_refs(pmm, f, 3);
	tu_assert_reports(pmm, &bad, &m, 7, "refcount underflow: dropping more references than held");
	pmm_folio_put_refs(pmm, f, INT_MAX);
	tu_assert_reports(pmm, &bad, &m, 8, "refcount underflow: dropping more references than held");
	assert_int_equal(pmm_folio_ref_count(f), 2);
	assert_int_equal(pmm_folio_order(f), 3);
	assert_int_equal(tu_free_after_drain(pmm), f0);
	tu_check(pmm);

	pmm_folio_put_refs(pmm, f, 2);
	pmm_folio_put(other, foreign);	/* in its own instance */
	assert_int_equal(tu_bad_count(&bad_b), 0);
	tu_finish(other);
	tu_finish(pmm, .bad = &bad, .since = &m, .reports = 8);
}

/* ------------------------------------------------------------------------
 * Shrinkers, introspection, reports
 * ------------------------------------------------------------------------ */

static unsigned long shrink_nothing(void *arg, pmm_t *pmm, unsigned long nr)
{
	(void)arg;
	(void)pmm;
	(void)nr;
	return 0;
}

static void test_register_shrinker_bad(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = instance(&bad, 16);

	(void)state;
	assert_int_equal(pmm_register_shrinker(pmm, NULL, NULL), -PMM_EINVAL);
	for (int i = 0; i < PMM_MAX_SHRINKERS; i++)
		assert_int_equal(pmm_register_shrinker(pmm, shrink_nothing, NULL), 0);
	assert_int_equal(pmm_register_shrinker(pmm, shrink_nothing, NULL), -PMM_ENOMEM);
	assert_int_equal(pmm_register_shrinker(pmm, NULL, NULL), -PMM_EINVAL);
	/* the full table still works: an allocation that fails calls them and returns */
	{
		struct tu_list l = { 0 };

		tu_fill_exhaust(pmm, &l, PMM_GFP_KERNEL, 0);
		assert_true(tu_stats(pmm).shrinker_calls >= PMM_MAX_SHRINKERS);
		tu_free_all(pmm, &l);
		tu_list_free(&l);
	}
	tu_finish(pmm);
}

static void test_info_bad(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = instance(&bad, 16);

	(void)state;
	assert_int_equal(pmm_zone_info(pmm, 0, NULL), -PMM_EINVAL);
	assert_string_equal(pmm_migratetype_name(-1), "Unknown");
	assert_string_equal(pmm_migratetype_name(PMM_MIGRATE_TYPES), "Unknown");
	assert_string_equal(pmm_migratetype_name(INT_MAX), "Unknown");
	assert_string_equal(pmm_migratetype_name(INT_MIN), "Unknown");
	assert_string_equal(pmm_migratetype_name(PMM_MIGRATE_ISOLATE), "Isolate");
	assert_string_equal(pmm_strerror(INT_MAX), "unknown error");
	assert_string_equal(pmm_strerror(-INT_MAX), "unknown error");
	tu_finish(pmm);
}

/* pmm_strerror(INT_MIN): "unknown error", without undefined behaviour (in a child). */
static void strerror_child(void *arg)
{
	(void)arg;
	if (strcmp(pmm_strerror(INT_MIN), "unknown error") != 0)
		_exit(2);
}

static void test_strerror_int_min(void **state)
{
	(void)state;
	assert_int_equal(in_child("pmm_strerror(INT_MIN)", strerror_child, NULL, 5), 0);
}

/* Printers to a stream that cannot be written: -PMM_EINVAL, nothing else. */
static void test_printers_bad_stream(void **state)
{
	struct tu_bad bad;
	pmm_t *pmm = instance(&bad, 16);
	FILE *ro = fopen("/dev/null", "r");

	(void)state;
	assert_non_null(ro);
	for (int json = 0; json <= 1; json++) {
		clearerr(ro);
		assert_int_equal(pmm_stats_print(pmm, ro, json), -PMM_EINVAL);
		clearerr(ro);
		assert_int_equal(pmm_buddyinfo(pmm, ro, json), -PMM_EINVAL);
		clearerr(ro);
		assert_int_equal(pmm_pagetypeinfo(pmm, ro, json), -PMM_EINVAL);
		clearerr(ro);
		assert_int_equal(pmm_zoneinfo(pmm, ro, json), -PMM_EINVAL);
	}
	fclose(ro);
	tu_finish(pmm);
}

/*
 * A report goes to bad_page_fn and the bad_page counter every time; the
 * log line is rate limited (a storm cannot flood the log), and quiet
 * instances log nothing. Without a bad_page_fn reports are still counted.
 */
static void test_report_channels(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;
	struct log_cap cap = { 0 };
	pmm_t *pmm;
	struct pmm_page *p;

	(void)state;
	cfg_small(&cfg, 16, &bad);
	cfg.quiet = false;
	cfg.log_fn = log_cb;
	cfg.log_arg = &cap;
	pmm = tu_create(&cfg);
	p = pmm_alloc_pages(pmm, 0, 0);
	assert_non_null(p);
	pmm_free_pages(pmm, p, 0);
	for (int i = 0; i < 100; i++)
		pmm_put_page(pmm, p);
	assert_int_equal(tu_bad_count(&bad), 100);
	assert_int_equal(tu_stats(pmm).bad_page, 100);
	assert_int_equal(atomic_load(&bad.last_pfn), tu_pfn(pmm, p));
	print_message("100 reports, %d log lines\n", cap.lines);
	/* 10 lines per 5 s window (plus a "suppressed" note if a window turned over) */
	assert_true(cap.lines >= 1 && cap.lines <= 11);
	assert_non_null(strstr(cap.last, "bad page pfn"));
	assert_non_null(strstr(cap.last, "refcount underflow"));
	tu_finish(pmm);

	/* quiet, no callback: only the counter */
	cfg_small(&cfg, 16, &bad);
	cfg.bad_page_fn = NULL;
	cfg.log_fn = log_cb;
	cfg.log_arg = &cap;
	cap.lines = 0;
	pmm = tu_create(&cfg);
	p = pmm_alloc_pages(pmm, 0, 0);
	assert_non_null(p);
	pmm_free_pages(pmm, p, 0);
	pmm_free_pages(pmm, p, 0);
	assert_int_equal(tu_stats(pmm).bad_page, 1);
	assert_int_equal(cap.lines, 0);
	assert_int_equal(tu_bad_count(&bad), 0);	/* no callback to call */
	tu_finish(pmm);
}

static int group_setup(void **state)
{
	(void)state;
	tu_seed();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_bad_config_more),
		cmocka_unit_test(test_create_backing_fails),
		cmocka_unit_test(test_null_and_empty_ignored),
		cmocka_unit_test(test_null_page_reported),
		cmocka_unit_test(test_gfp_bad),
		cmocka_unit_test(test_frame_lookup_bad),
		cmocka_unit_test(test_alloc_node_bad_nid),
		cmocka_unit_test(test_thisnode_memoryless_node),
		cmocka_unit_test(test_alloc_failure_logs),
		cmocka_unit_test(test_free_pages_bad_pointers),
		cmocka_unit_test(test_get_put_page_bad),
		cmocka_unit_test(test_split_page_bad),
		cmocka_unit_test(test_exact_bad),
		cmocka_unit_test(test_bulk_alloc_bad),
		cmocka_unit_test(test_free_contig_range_bad),
		TU_CONTIG_TESTS(test_free_contig_range_below_first_pfn),
		cmocka_unit_test(test_free_contig_range_unsplit_block),
		cmocka_unit_test(test_free_contig_range_unsplit_head_only),
		cmocka_unit_test(test_free_pages_bulk_unsplit_block),
		cmocka_unit_test(test_free_contig_range_folio_inside),
		cmocka_unit_test(test_free_pages_bulk_folio_inside),
		cmocka_unit_test(test_free_contig_range_wrapping_nr),
		cmocka_unit_test(test_free_contig_range_huge_nr),
		cmocka_unit_test(test_free_contig_frozen_range_bad),
		cmocka_unit_test(test_free_pages_bulk_bad),
		cmocka_unit_test(test_alloc_contig_bad_ranges),
		cmocka_unit_test(test_alloc_contig_range_other_node_inside),
		cmocka_unit_test(test_alloc_contig_pages_bad),
		cmocka_unit_test(test_alloc_contig_pages_huge_nr),
		cmocka_unit_test(test_folio_bad),
		cmocka_unit_test(test_register_shrinker_bad),
		cmocka_unit_test(test_info_bad),
		cmocka_unit_test(test_strerror_int_min),
		cmocka_unit_test(test_printers_bad_stream),
		cmocka_unit_test(test_report_channels),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
