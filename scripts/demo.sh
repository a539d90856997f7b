#!/usr/bin/env bash
# The main job on defaults (`make demo` runs this after the Release build): tune an MLP on
# Fashion-MNIST with TPE + ASHA for 8 minutes on 2 cores, ending with the before/after table.
set -euo pipefail
cd "$(dirname "$0")/.."
exec build/release/hone tune examples/study_fmnist.toml --out runs/demo "$@"
