/* SPDX-License-Identifier: MIT */
/*
 * test_bad_config.c - pmm_create() given bad configurations (design.md
 * section 9): every one is refused with its error, *out is NULL, and
 * nothing is left behind (metadata counted through cfg.meta_alloc /
 * meta_free, descriptors through the process's table). After the
 * refusals a good config still works.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <string.h>
#include <unistd.h>

static struct tu_meta meta = TU_META_INIT;

/* pmm_create(@cfg) fails with @err and overwrites *out with NULL. */
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

/* Every bad config of design.md section 9 is refused with -PMM_EINVAL. */
struct log_capture {
	unsigned int lines;
	char last[320];
};

static void capture_log(void *arg, const char *line)
{
	struct log_capture *c = arg;

	c->lines++;
	snprintf(c->last, sizeof(c->last), "%s", line);
}

/*
 * A bad config is refused with -PMM_EINVAL and one log line, even from a
 * quiet config, that names the field (@field) and the rule.
 */
static void expect_einval_field(struct pmm_config *cfg, const char *what, const char *field)
{
	struct log_capture log = { 0 };

	cfg->log_fn = capture_log;
	cfg->log_arg = &log;
	expect_create(cfg, -PMM_EINVAL, what);
	assert_int_equal(log.lines, 1);
	if (!strstr(log.last, field))
		print_message("%s: log line \"%s\" does not name %s\n", what, log.last, field);
	assert_non_null(strstr(log.last, field));
}

/* Every bad config of design.md section 9 is refused with -PMM_EINVAL, the field named. */
static void test_bad_configs(void **state)
{
	struct pmm_config cfg;
	static char small[4096 * 16] __attribute__((aligned(4096)));

	(void)state;
	tu_config(&cfg, 16, NULL);
	tu_config_region(&cfg, 1, TU_BASE_PFN + 1000, 2000, 0);
	expect_einval_field(&cfg, "overlapping regions", "overlaps");

	tu_config(&cfg, 16, NULL);
	tu_config_region(&cfg, 1, TU_BASE_PFN, 4096, 0);
	expect_einval_field(&cfg, "identical regions", "overlaps");

	tu_config(&cfg, 16, NULL);
	tu_config_region(&cfg, 1, TU_BASE_PFN - 100, 200, 1);
	expect_einval_field(&cfg, "overlap on another node", "overlaps");

	tu_config(&cfg, 16, NULL);
	cfg.regions[0].nr_pages = 0;
	expect_einval_field(&cfg, "zero-length region", "regions[0].nr_pages");

	tu_config(&cfg, 16, NULL);
	tu_config_region(&cfg, 1, TU_BASE_PFN + 8192, 0, 0);
	expect_einval_field(&cfg, "zero-length second region", "regions[1].nr_pages");

	tu_config(&cfg, 16, NULL);
	cfg.section_shift = 21;
	expect_einval_field(&cfg, "max_order + page_shift > section_shift", "section_shift");

	tu_config(&cfg, 16, NULL);
	cfg.page_shift = 16;
	cfg.section_shift = 25;
	cfg.regions[0].nr_pages = 256;
	expect_einval_field(&cfg, "max_order + page_shift > section_shift (64K pages)", "section_shift");

	tu_config(&cfg, 16, NULL);
	cfg.max_order = 8;
	cfg.pageblock_order = 9;
	expect_einval_field(&cfg, "pageblock_order > max_order", "pageblock_order");

	tu_config(&cfg, 16, NULL);
	cfg.max_order = PMM_MAX_ORDER_LIMIT + 1;
	cfg.section_shift = 40;
	expect_einval_field(&cfg, "max_order > PMM_MAX_ORDER_LIMIT", "max_order");

	tu_config(&cfg, 16, NULL);
	cfg.page_shift = 11;
	expect_einval_field(&cfg, "page_shift 11", "page_shift");

	tu_config(&cfg, 16, NULL);
	cfg.page_shift = 17;
	cfg.section_shift = 40;
	expect_einval_field(&cfg, "page_shift 17", "page_shift");

	tu_config(&cfg, 16, NULL);
	for (unsigned int i = 0; i < PMM_MAX_REGIONS; i++)
		tu_config_region(&cfg, i, TU_BASE_PFN + i * 1024, 512, 0);
	cfg.nr_regions = PMM_MAX_REGIONS + 1;
	expect_einval_field(&cfg, "nr_regions > PMM_MAX_REGIONS", "nr_regions");

	tu_config(&cfg, 16, NULL);
	cfg.backing = PMM_BACKING_USER;
	cfg.user_base = NULL;
	cfg.user_size = TU_MIB(16);
	expect_einval_field(&cfg, "USER backing without buffer", "user_base");

	tu_config(&cfg, 16, NULL);
	cfg.regions[0].nr_pages = 16;
	cfg.backing = PMM_BACKING_USER;
	cfg.user_base = small;
	cfg.user_size = sizeof(small) - 4096;
	expect_einval_field(&cfg, "USER backing buffer one page short", "user_size");

	tu_config(&cfg, 16, NULL);
	cfg.regions[0].nid = -1;
	expect_einval_field(&cfg, "nid -1", "regions[0].nid");

	tu_config(&cfg, 16, NULL);
	cfg.regions[0].nid = PMM_MAX_NODES;
	expect_einval_field(&cfg, "nid PMM_MAX_NODES", "regions[0].nid");

	tu_config(&cfg, 16, NULL);
	cfg.pcp_batch = 32;
	cfg.pcp_high = 16;
	expect_einval_field(&cfg, "pcp_high < pcp_batch", "pcp_high");

	tu_config(&cfg, 16, NULL);
	cfg.memmap = (enum pmm_memmap_model)7;
	expect_einval_field(&cfg, "unknown memmap model", "memmap");

	tu_config(&cfg, 16, NULL);
	cfg.backing = (enum pmm_backing)9;
	expect_einval_field(&cfg, "unknown backing", "backing");

	tu_config(&cfg, 16, NULL);
	cfg.pcp_batch = 1u << 30;
	expect_einval_field(&cfg, "pcp_batch 2^30", "pcp_batch");

	tu_config(&cfg, 16, NULL);
	cfg.pcp_high = PMM_PCP_HIGH_MAX + 1;
	expect_einval_field(&cfg, "pcp_high above PMM_PCP_HIGH_MAX", "pcp_high");

	tu_config(&cfg, 16, NULL);
	cfg.backing = PMM_BACKING_USER;
	cfg.user_base = small + 8;
	cfg.user_size = sizeof(small);
	cfg.regions[0].nr_pages = 8;
	expect_einval_field(&cfg, "USER backing buffer not page aligned", "user_base");

	tu_config(&cfg, 16, NULL);
	cfg.nr_cpus = PMM_MAX_CPUS + 1;
	expect_einval_field(&cfg, "nr_cpus above PMM_MAX_CPUS", "nr_cpus");

	tu_config(&cfg, 16, NULL);
	cfg.meta_free = NULL;
	cfg.meta_alloc = (pmm_meta_alloc_fn)(uintptr_t)1;
	expect_einval_field(&cfg, "meta_alloc without meta_free", "meta_free");

	tu_config(&cfg, 16, NULL);
	cfg.fault[PMM_FAULT_PAGE_ALLOC].probability = 101;
	expect_einval_field(&cfg, "fault probability 101", "probability");

	tu_config(&cfg, 16, NULL);
	cfg.regions[0].start_pfn = 0;
	tu_config_region(&cfg, 1, 1ull << 36, 16, 0);
	expect_einval_field(&cfg, "span of more than PMM_MAX_SECTIONS sections", "sections");

	/* a region whose end wraps around the pfn space */
	tu_config(&cfg, 16, NULL);
	cfg.backing = PMM_BACKING_NONE;
	cfg.regions[0].start_pfn = UINT64_MAX - 10;
	cfg.regions[0].nr_pages = 100;
	{
		pmm_t *pmm = NULL;
		int rc = pmm_create(&cfg, &pmm);

		assert_true(rc < 0);
		assert_null(pmm);
	}

	/* after all the refusals a good config still works */
	tu_config(&cfg, 16, NULL);
	pmm_t *pmm = tu_create(&cfg);
	tu_finish(pmm);
}

/* The config checks test_bad_configs does not make. */
static void test_create_bad_config_more(void **state)
{
	struct pmm_config cfg;
	struct tu_bad bad;

	(void)state;
	tu_contig_config(&cfg, 16, &bad);
	assert_int_equal(pmm_create(&cfg, NULL), -PMM_EINVAL);

	tu_contig_config(&cfg, 16, &bad);
	cfg.section_shift = 41;
	expect_create(&cfg, -PMM_EINVAL, "section_shift 41");

	/* regions beyond the 52-bit physical address space */
	tu_contig_config(&cfg, 16, &bad);
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
	tu_contig_config(&cfg, 4, &bad);
	cfg.backing = PMM_BACKING_NONE;
	tu_config_region(&cfg, 1, TU_BASE_PFN + 65536ull * TU_SECTION_PAGES, 1024, 0);
	expect_create(&cfg, -PMM_EINVAL, "65537 sections spanned");

	tu_contig_config(&cfg, 16, &bad);
	tu_config_cpus(&cfg, PMM_MAX_CPUS + 1);
	expect_create(&cfg, -PMM_EINVAL, "nr_cpus > PMM_MAX_CPUS");

	/* the metadata hooks come in pairs */
	tu_contig_config(&cfg, 16, &bad);
	tu_meta_install(&cfg, &meta);
	cfg.meta_free = NULL;
	expect_create(&cfg, -PMM_EINVAL, "meta_alloc without meta_free");
	tu_contig_config(&cfg, 16, &bad);
	tu_meta_install(&cfg, &meta);
	cfg.meta_alloc = NULL;
	expect_create(&cfg, -PMM_EINVAL, "meta_free without meta_alloc");

	/* USER backing: a buffer that is not page aligned (nothing leaks) */
	{
		size_t size = TU_MIB(4) + 4096;
		char *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		assert_true(buf != MAP_FAILED);
		tu_contig_config(&cfg, 4, &bad);
		cfg.backing = PMM_BACKING_USER;
		cfg.user_base = buf + 8;
		cfg.user_size = TU_MIB(4);
		tu_meta_install(&cfg, &meta);
		tu_meta_reset(&meta);
		expect_create(&cfg, -PMM_EINVAL, "USER backing buffer not page aligned");
		assert_int_equal(tu_meta_live(&meta), 0);
		cfg.user_base = buf;
		{
			pmm_t *pmm = tu_create(&cfg);

			tu_finish(pmm);
		}
		assert_int_equal(tu_meta_live(&meta), 0);
		assert_int_equal(meta.bad_frees, 0);
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
	tu_contig_config(&cfg, 16, &bad);
	cfg.backing = PMM_BACKING_MEMFD;
	tu_meta_install(&cfg, &meta);
	tu_meta_reset(&meta);

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
	assert_int_equal(tu_meta_live(&meta), 0);

	/* with descriptors available again it works */
	pmm = tu_create(&cfg);
	tu_finish(pmm);
	assert_int_equal(tu_meta_live(&meta), 0);
	assert_int_equal(meta.bad_frees, 0);
	/* the descriptor the memfd used is free again */
	lowest = open("/dev/null", O_RDONLY);
	assert_true(lowest >= 0);
	assert_true((rlim_t)lowest == lim.rlim_cur);
	close(lowest);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_create_bad_config_more),
		cmocka_unit_test(test_create_backing_fails),
	};

	return tu_main(argc, argv, tests);
}
