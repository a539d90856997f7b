#!/usr/bin/env bash
# run_all.sh — every side-by-side benchmark in bench/, one after another (`make bench` runs this).
#
#   bench/run_all.sh            the quick variant of each (5-10 min on 2 quiet cores, estimated)
#   bench/run_all.sh --full     the runs docs/BENCHMARKS.md reports, with their default sizes and the
#                               main job against Optuna + PyTorch and scikit-learn (40-60 min)
#   bench/run_all.sh --list     print the commands, run nothing (add --full for the full ones)
#
# Needs the benchmark binaries in build/release (`make build`) and the peers that
# scripts/install-deps.sh installs (python3-torch, python3-optuna, python3-sklearn, postgresql).
# Each script prints hone's figure beside its peer's, as a ratio; the engine and accuracy scripts
# and the main job also write bench/results/*, which git ignores (docs/bench-results/ keeps the
# files docs/BENCHMARKS.md cites).
# A failing benchmark does not stop the others; the exit status is 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
FULL=0
LIST=0
for a in "$@"; do
  case "$a" in
    --full) FULL=1 ;;
    --list) LIST=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "run_all.sh: unknown option $a (--full, --list)" >&2; exit 2 ;;
  esac
done

# One line per benchmark: quick command | full command (docs/BENCHMARKS.md's summary table).
benches=(
  "bench/run_engine.sh --quick --build build/release | bench/run_engine.sh --build build/release"
  "bench/run_accuracy.sh --only mlp --build build/release | bench/run_accuracy.sh --build build/release"
  "bench/tune_quality.sh 3 50 | bench/tune_quality.sh 10 100"
  "bench/tune_overhead.sh 1000 | bench/tune_overhead.sh 10000"
  "bench/storage_throughput.sh 500 100 | bench/storage_throughput.sh"
  "BUILD=build/release bench/external_overhead.sh 100 3 | BUILD=build/release bench/external_overhead.sh 300 10"
  "bench/dashboard_first_view.sh 10000 1 | bench/dashboard_first_view.sh 10000 3"
  "| bash bench/tune_fmnist.sh"
  "bench/demo_plan.sh --limit 2000 --epochs 1 --budget 20 --out bench/results/demo-quick | bench/demo_plan.sh --wall-limit 600"
)

failed=()
for b in "${benches[@]}"; do
  if ((FULL)); then cmd=${b#*|}; else cmd=${b%%|*}; fi
  read -r cmd <<<"$cmd"  # trim
  [[ -n "$cmd" ]] || continue
  if ((LIST)); then echo "$cmd"; continue; fi
  printf '\n== %s   (%s, load %s)\n' "$cmd" "$(date -u +%H:%M:%S)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  bash -c "$cmd" || failed+=("$cmd")
done
((LIST)) && exit 0
((FULL)) || echo -e "\nrun_all.sh: quick variants done; the main job (bench/tune_fmnist.sh, ~25 min) runs with --full"
if ((${#failed[@]})); then
  printf 'run_all.sh: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
