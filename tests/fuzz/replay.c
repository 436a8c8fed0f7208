/* SPDX-License-Identifier: MIT */
/*
 * replay.c - the fuzz target without libFuzzer, for ctest and for triage.
 *
 *   replay DIR...         every file of each DIR (sorted), then K
 *                         pseudo-random inputs (PMM_FUZZ_RANDOM, default
 *                         300; seed from PMM_FUZZ_SEED, default fixed,
 *                         printed). ctest passes corpus/ and crashes/.
 *   replay FILE...        each file, verbosely (a crash reproducer)
 *   replay --write-seeds DIR
 *                         write the seed corpus: for every operation and
 *                         every kind of bad input, the first of a fixed
 *                         pseudo-random series of inputs biased towards it
 *                         that reaches it and passes
 *
 * The last line is "replay: N passed, M failed". A failing random input is
 * saved as replay-fail-SEED-I.bin in the working directory.
 */
#define _GNU_SOURCE
#include "fuzz_ops.h"
#include "common/prng.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FZ_INPUT_MAX (2 + FZ_MAX_OPS * FZ_REC)

/* The random and the seed-writing inputs: one stream, reproducible from its printed seed. */
static struct prng rng;

static int read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;

	if (!fp)
		return -1;
	for (;;) {
		if (n == cap) {
			uint8_t *nb = realloc(buf, cap ? cap * 2 : 4096);

			if (!nb) {
				free(buf);
				fclose(fp);
				return -1;
			}
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		size_t got = fread(buf + n, 1, cap - n, fp);

		n += got;
		if (got == 0)
			break;
	}
	fclose(fp);
	*out = buf;
	*len = n;
	return 0;
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	if (!fp || fwrite(data, 1, len, fp) != len) {
		if (fp)
			fclose(fp);
		return -1;
	}
	return fclose(fp);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One input; on failure, run it again verbosely so the log shows the trace. */
static int run_one(const char *name, const uint8_t *data, size_t len, int *verbose_left)
{
	if (pmm_fuzz_one(data, len, false) == 0)
		return 0;
	fprintf(stderr, "replay: FAILED %s (%zu bytes)\n", name, len);
	if (*verbose_left > 0) {
		(*verbose_left)--;
		pmm_fuzz_one(data, len, true);
	}
	return 1;
}

static void random_input(uint8_t *buf, size_t *len)
{
	size_t ops = 1 + prng_below(&rng, 120);

	*len = 2 + ops * FZ_REC;
	for (size_t i = 0; i < *len; i++)
		buf[i] = (uint8_t)prng_next(&rng);
}

/* Every file of @dir, sorted so that runs compare. Return: files run. */
static size_t replay_dir(const char *dir, unsigned long *passed, unsigned long *failed,
			 int *verbose_left)
{
	char **names = NULL;
	size_t nn = 0, cap = 0;
	DIR *d = opendir(dir);

	if (!d) {
		fprintf(stderr, "replay: cannot open %s: %s\n", dir, strerror(errno));
		(*failed)++;
		return 0;
	}
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		if (nn == cap) {
			char **nv = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));

			if (!nv)
				return 2;
			names = nv;
		}
		names[nn++] = strdup(e->d_name);
	}
	closedir(d);
	if (nn)
		qsort(names, nn, sizeof(*names), cmp_str);
	for (size_t i = 0; i < nn; i++) {
		char path[4096];
		uint8_t *data;
		size_t len;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (read_file(path, &data, &len)) {
			fprintf(stderr, "replay: cannot read %s\n", path);
			(*failed)++;
			continue;
		}
		if (run_one(path, data, len, verbose_left))
			(*failed)++;
		else
			(*passed)++;
		free(data);
		free(names[i]);
	}
	free(names);
	printf("replay: %zu files in %s\n", nn, dir);
	return nn;
}

static int replay_dirs(char **dirs, int ndirs)
{
	unsigned long passed = 0, failed = 0, k = 300;
	int verbose_left = 3;
	const char *env;
	uint64_t seed = 20261121;
	uint8_t buf[FZ_INPUT_MAX];

	for (int i = 0; i < ndirs; i++)
		replay_dir(dirs[i], &passed, &failed, &verbose_left);

	if ((env = getenv("PMM_FUZZ_RANDOM")))
		k = strtoul(env, NULL, 0);
	if ((env = getenv("PMM_FUZZ_SEED")))
		seed = strtoull(env, NULL, 0);
	printf("replay: %lu random inputs, PMM_FUZZ_SEED=%" PRIu64 "\n", k, seed);
	prng_init(&rng, seed, 0);
	for (unsigned long i = 0; i < k; i++) {
		char name[96];
		size_t len;

		random_input(buf, &len);
		snprintf(name, sizeof(name), "replay-fail-%" PRIu64 "-%lu.bin", seed, i);
		if (run_one(name, buf, len, &verbose_left)) {
			failed++;
			if (write_file(name, buf, len) == 0)
				fprintf(stderr, "replay: saved %s\n", name);
		} else {
			passed++;
		}
	}
	printf("replay: ops run %lu;", pmm_fuzz_counts.ops);
	for (int op = 0; op < FZ_NR_OPS; op++)
		printf(" %s %lu/%lu", pmm_fuzz_op_name(op), pmm_fuzz_counts.ok[op],
		       pmm_fuzz_counts.ok[op] + pmm_fuzz_counts.fail[op]);
	printf("; shrinker calls %lu\nreplay: bad inputs:", pmm_fuzz_counts.shrinks);
	for (int b = 0; b < FZ_NR_BAD; b++)
		printf(" %s %lu", pmm_fuzz_bad_name(b), pmm_fuzz_counts.bad[b]);
	printf("\nreplay: %lu passed, %lu failed\n", passed, failed);
	return failed ? 1 : 0;
}

/* ------------------------------------------------------------------------
 * Seed corpus
 * ------------------------------------------------------------------------ */

/* Operations that set up state other operations need. */
static const uint8_t enablers[] = {
	FZ_ALLOC, FZ_ALLOC, FZ_FOLIO_ALLOC, FZ_EXACT, FZ_ALLOC_BULK, FZ_CONTIG_RANGE, FZ_SPLIT,
	FZ_GET, FZ_SET_CPU, FZ_DRAIN,
};

/*
 * ... and for the vmalloc kinds, areas to act on: drawn from here one
 * time in two (the other kinds draw only from enablers[], so their seeds
 * stay what they were).
 */
static const uint8_t vm_enablers[] = {
	FZ_VMALLOC, FZ_VMALLOC, FZ_VMALLOC, FZ_VMAP, FZ_VMAP, FZ_SPLIT, FZ_ALLOC_BULK,
};

/* A candidate: a random layout/knobs and @nops records, about 40% of them @op. */
static size_t biased_input(uint8_t *buf, int op, int bad, unsigned int layout, size_t nops)
{
	size_t len = 2 + nops * FZ_REC;
	bool vm = op >= FZ_VMALLOC || bad >= FZ_BAD_VFREE_INNER;

	buf[0] = (uint8_t)layout;
	buf[1] = (uint8_t)prng_next(&rng);
	for (size_t i = 0; i < nops; i++) {
		uint8_t *r = buf + 2 + i * FZ_REC;
		uint64_t x = prng_next(&rng);

		for (int k = 0; k < FZ_REC; k++)
			r[k] = (uint8_t)(x >> (8 * k));
		if (i >= 2 && prng_below(&rng, 10) < 4) {
			r[0] = (uint8_t)op;
			if (bad >= 0)
				r[1] = (uint8_t)bad;
		} else if (vm && prng_below(&rng, 2)) {
			r[0] = vm_enablers[prng_below(&rng, sizeof(vm_enablers))];
		} else {
			r[0] = enablers[prng_below(&rng, sizeof(enablers))];
		}
		/* Small orders most of the time, so the instance does not run dry at once. */
		if (r[0] == FZ_ALLOC || r[0] == FZ_FOLIO_ALLOC)
			r[1] |= prng_below(&rng, 4) ? 0x80 : 0;
	}
	return len;
}

static int write_seeds(const char *dir)
{
	uint8_t buf[FZ_INPUT_MAX];
	unsigned int layout = 0;
	int written = 0, missing = 0;

	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "replay: mkdir %s: %s\n", dir, strerror(errno));
		return 2;
	}
	prng_init(&rng, 0x5eed5eedull, 0);
	/* One seed per operation, then one per kind of bad input (those stand for FZ_BAD). */
	for (int t = 0; t < FZ_NR_OPS + FZ_NR_BAD; t++) {
		int op = t < FZ_NR_OPS ? t : FZ_BAD;
		int bad = t < FZ_NR_OPS ? -1 : t - FZ_NR_OPS;

		if (t == FZ_BAD)
			continue;
		const char *name = bad < 0 ? pmm_fuzz_op_name(op) : pmm_fuzz_bad_name(bad);
		bool done = false;

		for (int attempt = 0; attempt < 4000 && !done; attempt++) {
			size_t len = biased_input(buf, op, bad, layout % FZ_NR_LAYOUTS, 12 + prng_below(&rng, 20));
			struct pmm_fuzz_counts before = pmm_fuzz_counts;
			char path[4096], lower[64];

			if (pmm_fuzz_one(buf, len, false))
				continue;	/* a seed must pass; the failure is the fuzzer's job */
			if (bad < 0 ? pmm_fuzz_counts.ok[op] - before.ok[op] < 2
				    : pmm_fuzz_counts.bad[bad] == before.bad[bad])
				continue;
			size_t i = 0;

			for (; name[i] && i < sizeof(lower) - 1; i++)
				lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
			lower[i] = '\0';
			snprintf(path, sizeof(path), "%s/%s%s", dir, bad < 0 ? "op-" : "bad-", lower);
			if (write_file(path, buf, len)) {
				fprintf(stderr, "replay: cannot write %s\n", path);
				return 2;
			}
			printf("replay: %s: %zu bytes, layout %u, attempt %d\n", path, len,
			       layout % FZ_NR_LAYOUTS, attempt);
			written++;
			layout++;
			done = true;
		}
		if (!done) {
			fprintf(stderr, "replay: no seed reaches %s\n", name);
			missing++;
		}
	}
	printf("replay: %d seeds written, %d kinds unreached\n", written, missing);
	return missing ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct stat st;
	unsigned long passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "--write-seeds"))
		return write_seeds(argv[2]);
	if (argc < 2 || (stat(argv[1], &st) == 0 && S_ISDIR(st.st_mode)))
		return replay_dirs(argv + 1, argc - 1);
	/* Files: reproducers, run verbosely. */
	for (int i = 1; i < argc; i++) {
		uint8_t *data;
		size_t len;

		if (read_file(argv[i], &data, &len)) {
			fprintf(stderr, "replay: cannot read %s\n", argv[i]);
			failed++;
			continue;
		}
		printf("replay: %s (%zu bytes)\n", argv[i], len);
		if (pmm_fuzz_one(data, len, true))
			failed++;
		else
			passed++;
		free(data);
	}
	printf("replay: %lu passed, %lu failed\n", passed, failed);
	return failed ? 1 : 0;
}
