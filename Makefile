# The README's two commands:
#   make run    Release build, then the main job (pmm report)
#   make test   build, then every test (debug, ASan+UBSan, TSan)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: run test release debug asan tsan clean plot

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

plot: release
	@scripts/deps.sh plot
	scripts/plot_contig.sh build/release/pmm docs

clean:
	rm -rf build
