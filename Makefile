# The README's two commands:
#   make run    Release build, then the main job (pmm report)
#   make test   build, then every test (debug, ASan+UBSan, TSan), then a bounded fuzz run
# and, apart from both:
#   make bench  Release build, the peer mallocs installed, then pmm bench peers and scale
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
# make fuzz: libFuzzer on the model-based target; stops at whichever bound comes first.
# A fixed seed keeps CI's run reproducible; FUZZ_SEED=0 lets libFuzzer pick one.
FUZZ_RUNS ?= 200000
FUZZ_SECONDS ?= 120
FUZZ_SEED ?= 1
FUZZ_CFLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer

.PHONY: run test release debug asan tsan fuzz clean plot plot-docs bench

run: release
	./build/release/pmm report

release:
	@scripts/deps.sh run
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DPMM_TESTS=OFF $(CMAKE_FLAGS) >/dev/null
	cmake --build build/release -j $(JOBS)

debug asan tsan: %:
	@scripts/deps.sh test
	cmake -S . -B build/$* -DCMAKE_BUILD_TYPE=$(if $(filter debug,$*),Debug,RelWithDebInfo) \
	  -DPMM_SANITIZE=$(if $(filter asan,$*),address,$(if $(filter tsan,$*),thread,)) $(CMAKE_FLAGS) >/dev/null
	cmake --build build/$* -j $(JOBS)

# Every test: the debug build (PMM_DEBUG assertions), ASan+UBSan, and TSan.
test: debug asan tsan
	cd build/debug && ctest --output-on-failure -j $(JOBS)
	cd build/asan && ctest --output-on-failure -j $(JOBS)
	cd build/tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j $(JOBS)
	$(MAKE) fuzz

# clang + libFuzzer, the library instrumented too. libFuzzer grows a copy of
# the committed corpus (build/fuzz/corpus) and writes crashes under build/fuzz/;
# 1602 bytes = the 2-byte header + 200 operations of 8 (tests/fuzz/fuzz_ops.h).
fuzz:
	@scripts/deps.sh test
	CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPMM_FUZZ=ON \
	  -DCMAKE_C_FLAGS="$(FUZZ_CFLAGS)" $(CMAKE_FLAGS) >/dev/null
	cmake --build build/fuzz -j $(JOBS) --target fuzz_pmm
	mkdir -p build/fuzz/corpus
	for f in tests/fuzz/corpus/*; do \
	  [ -e build/fuzz/corpus/$${f##*/} ] || cp $$f build/fuzz/corpus/ || exit 1; done
	./build/fuzz/tests/fuzz_pmm -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_SECONDS) \
	  -seed=$(FUZZ_SEED) -max_len=1602 -artifact_prefix=build/fuzz/ -print_final_stats=1 build/fuzz/corpus

# pmm against glibc, jemalloc, mimalloc and tcmalloc (each preloaded into a
# child process), then pmm's throughput from 1 thread to 2 x CPUs: about two
# minutes. Not part of make test: figures, not checks.
bench: release
	@scripts/deps.sh bench
	./build/release/pmm bench peers
	./build/release/pmm bench scale

# Draws contig_speedup.png, teardown_speedup.png and peers.png from fresh runs (the
# teardown run takes a few minutes), beside their JSON, in build/plot/;
# `make plot DOCS=1` (or `make plot-docs`) refreshes the ones in docs/ instead.
PLOT_DIR = $(if $(DOCS),docs,build/plot)
plot: release
	@scripts/deps.sh plot
	scripts/plot_contig.sh build/release/pmm $(PLOT_DIR)
	scripts/plot_teardown.sh build/release/pmm $(PLOT_DIR)
	scripts/plot_peers.sh build/release/pmm $(PLOT_DIR)

plot-docs:
	$(MAKE) plot DOCS=1

clean:
	rm -rf build
