#!/usr/bin/env bash
# The main job (`make demo` runs this after the Release build): a `hone plan` on full Fashion-MNIST
# over an MLP and a CNN family with an accuracy goal and efficiency goals (examples/plan_demo.toml):
# baseline -> diagnosis -> hardware autotune -> search -> test-set evaluation, ending with the goal
# table (goal, baseline, tuned, met). About 10 minutes on 2 cores.
#
# The plan's studies are kept in SQLite beside its outputs (runs/demo/plan.db). --fresh makes every
# `make demo` the same demo: it deletes the previous demo's studies and outputs first. Without it the
# same command continues the stored plan:
#   build/release/hone plan examples/plan_demo.toml --out runs/demo --storage sqlite:///runs/demo/plan.db
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs/demo
exec build/release/hone plan examples/plan_demo.toml --out runs/demo --storage sqlite:///runs/demo/plan.db --fresh "$@"
