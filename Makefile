# hone — the two commands a new user runs (README.md):
#   make demo   install dependencies (Debian packages), build Release, run the main job
#   make test   install dependencies, build, run the whole suite through ctest
# Both are idempotent and quick when nothing changed.
.PHONY: all deps build demo test test-asan bench clean

JOBS ?= $(shell nproc)

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

demo: build
	@bash scripts/demo.sh

# scripts/test.sh starts a throw-away PostgreSQL server for the PG tests and always stops it.
test: build
	@bash scripts/test.sh release

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer (CI runs this too).
test-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@bash scripts/test.sh asan

bench: build
	@bash bench/run_all.sh

clean:
	rm -rf build
