#!/usr/bin/env bash
# The main job (`make demo` runs this after the Release build): a `hone plan` on full Fashion-MNIST over
# an MLP and a CNN family, goals val_accuracy >= 0.93, train_seconds <= 420, peak_memory_mb <= 1024
# (examples/plan_demo.toml), ending with the goal table. runs/demo is deleted first so that every
# `make demo` is the same demo.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf runs/demo
mkdir -p runs/demo
exec build/release/hone plan examples/plan_demo.toml --out runs/demo --storage sqlite:///runs/demo/plan.db "$@"
