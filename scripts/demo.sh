#!/usr/bin/env bash
# The main job on defaults (`make demo` runs this after the Release build): tune an MLP on
# Fashion-MNIST with TPE + ASHA for 8 minutes on 2 cores, ending with the before/after table.
#
# The study is kept in SQLite beside its outputs (runs/demo/study.db). --fresh makes every
# `make demo` the same 8-minute demo: it deletes the previous demo study first. To continue the
# previous demo study instead (8 more minutes of search on top of what it found):
#   build/release/hone tune examples/study_fmnist.toml --out runs/demo --storage sqlite:///runs/demo/study.db
set -euo pipefail
cd "$(dirname "$0")/.."
exec build/release/hone tune examples/study_fmnist.toml --out runs/demo --storage sqlite:///runs/demo/study.db --fresh "$@"
