# hone — the two commands a new user runs (README.md):
#   make demo   install hone's build dependencies (Debian packages), build the `hone` binary only
#               (Release), run the main job
#   make test   install every dependency (with the peers the tests compare against), build everything
#               (library, CLI, tests, examples, benchmarks), run the whole suite through ctest
# Both are idempotent and quick when nothing changed. Other targets:
#   make build      everything, without running anything
#   make test-asan  the suite under AddressSanitizer + UndefinedBehaviorSanitizer (CI runs it after `make test`)
#   make bench      the quick variant of every side-by-side benchmark (bench/run_all.sh; `--full` there for
#                   the documented runs), each printing hone's ratio against its peer (docs/BENCHMARKS.md)
#   make image      the container image hone:latest (Dockerfile) that examples/distributed/ runs; needs docker
.PHONY: all deps deps-hone build demo test test-asan bench image clean

JOBS ?= $(shell nproc)

all: build

# All of scripts/install-deps.sh: hone's build packages, the peers (PyTorch, Optuna, scikit-learn) and
# PostgreSQL for the tests and benchmarks. deps-hone: hone's build packages alone.
deps:
	@bash scripts/install-deps.sh

deps-hone:
	@HONE_SKIP_PEERS=1 bash scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

# The demo needs the `hone` binary only: not the peers, tests, examples or benchmarks, which would
# more than double a fresh machine's set-up time.
demo: deps-hone
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target hone_cli
	@bash scripts/demo.sh

# scripts/test.sh starts a throw-away PostgreSQL server for the PG tests and always stops it.
test: build
	@bash scripts/test.sh release

test-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@bash scripts/test.sh asan

bench: build
	@bash bench/run_all.sh

IMAGE ?= hone:latest
image:
	@command -v docker >/dev/null 2>&1 || { echo "make image: docker is not installed; install Docker (or" \
	  "build natively: examples/distributed/slurm/README.md)" >&2; exit 2; }
	docker build -t $(IMAGE) .

clean:
	rm -rf build
