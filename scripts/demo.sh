#!/usr/bin/env bash
# The main job on defaults: `make demo` runs this after the Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
HONE=build/release/hone
echo "== hone demo: train the example MLP on Fashion-MNIST (examples/mlp.toml) =="
"$HONE" train examples/mlp.toml --out runs/demo-mlp
"$HONE" eval runs/demo-mlp
