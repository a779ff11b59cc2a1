# The two commands of the README: `make run` and `make test`.
BUILD_DIR ?= build
TEST_BUILD_DIR ?= build-test
JOBS ?= $(shell nproc)
DEMO_ROWS ?= 100000
# Options of bench/run_scale.py, e.g. BENCH_SCALE_ARGS='--rows 200000' or '--stores sqlite,postgresql'.
BENCH_SCALE_ARGS ?=

FUZZ_BUILD_DIR ?= build-fuzz
TSAN_BUILD_DIR ?= build-tsan
FUZZ_SECONDS ?= 600

.PHONY: run test build build-test bench bench-scale fuzz tsan bootstrap clean

bootstrap:
	@scripts/bootstrap

build: bootstrap
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONTACTS_WERROR=OFF >/dev/null
	cmake --build $(BUILD_DIR) -j $(JOBS) --target contacts-api contacts-bench

run: build
	./$(BUILD_DIR)/contacts-api serve --demo-rows $(DEMO_ROWS)

# Tests run on a sanitized (ASan+UBSan) build with warnings as errors.
build-test: bootstrap
	cmake -S . -B $(TEST_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONTACTS_SANITIZE=ON >/dev/null
	cmake --build $(TEST_BUILD_DIR) -j $(JOBS)

test: build-test
	cd $(TEST_BUILD_DIR) && ctest --output-on-failure -j 2 --timeout 600

bench: build
	python3 bench/run_bench.py --binary ./$(BUILD_DIR)/contacts-api --bench ./$(BUILD_DIR)/contacts-bench

# Issue 11's figures at 1M and 10M rows (start-up, memory, query mix, freshness); see
# docs/benchmarks.md, "Scale". Data cached in bench/out/scale/.
bench-scale: build
	python3 bench/run_scale.py --binary ./$(BUILD_DIR)/contacts-api --bench ./$(BUILD_DIR)/contacts-bench $(BENCH_SCALE_ARGS)

# Each fuzz target (fuzz/) under libFuzzer with ASan+UBSan for FUZZ_SECONDS (default 600) from
# its seed corpus; findings go to $(FUZZ_BUILD_DIR)/findings/, the grown corpus stays there.
fuzz: bootstrap
	cmake -S . -B $(FUZZ_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCONTACTS_FUZZ=ON -DCONTACTS_WERROR=OFF >/dev/null
	cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS) --target fuzz_query fuzz_cursor fuzz_jwt fuzz_csv_import fuzz_multipart fuzz_http
	scripts/run_fuzz $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS)

# The unit tests and the HTTP suite (embedded store) under ThreadSanitizer; fails on any report
# (scripts/run_tsan; suppressions for third-party code in tests/tsan.supp).
tsan: bootstrap
	cmake -S . -B $(TSAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONTACTS_TSAN=ON \
	  -DCONTACTS_WERROR=OFF >/dev/null
	cmake --build $(TSAN_BUILD_DIR) -j $(JOBS) --target contacts-api unit_tests
	scripts/run_tsan $(TSAN_BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) $(TEST_BUILD_DIR) $(FUZZ_BUILD_DIR) $(TSAN_BUILD_DIR)
