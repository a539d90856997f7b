#!/usr/bin/env bash
# run_engine.sh — hone's training engine against PyTorch, side by side, as ratios.
#
#   bench/run_engine.sh            # full run: 18 min measured at load ~10 (torch on netlib BLAS); less when quiet
#   bench/run_engine.sh --quick    # shorter epochs, same rows (not timed at these sizes; a few min under load)
#   bench/run_engine.sh --key      # ~2 min, the target rows only, 1 thread: MLP b32/128/512 (4 x 30k), CNN b128 (3 x 4k)
#   options: --build DIR (default build/h-bench, falls back to build/release), --out FILE, --no-torch
#
# Every configuration runs in its own process, hone and torch alternating (which one goes first
# alternates too, so slow drift in machine load does not favour either side):
#   MLP 784-256-128-10 Adam(1e-3): batch 32/128/512 x threads 1/2, 3 epochs of 8k samples (quick: 3k)
#   CNN (the peer script's): batch 128 x threads 1/2, 3 epochs of a 3k-sample subset (quick: 1k)
# Torch rows come from bench/peers/torch_mlp_throughput.py --row (a copy of the peer script, same
# measurement code; OMP/OPENBLAS/MKL_NUM_THREADS set before torch is imported). Then the Eigen SGEMM
# peak (gemm_peak.cpp's method) and hone's Dense layer GFLOP/s, 1 and 2 threads.
# Prints a table with samples/s and hone-best / torch-best ratios against the targets, and writes
# bench/results/engine-<date>.json. OPENBLAS_* variables are left as they are in the environment.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD=""
QUICK=0
KEY=0
TORCH=1
OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --key) KEY=1 ;;
    --no-torch) TORCH=0 ;;
    --build) BUILD="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "run_engine.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ -z "$BUILD" ]]; then
  for d in "$ROOT/build/h-bench" "$ROOT/build/release"; do
    if [[ -x "$d/engine_throughput" ]]; then BUILD="$d"; break; fi
  done
fi
BIN="$BUILD/engine_throughput"
if [[ ! -x "$BIN" ]]; then
  echo "run_engine.sh: no engine_throughput binary; build it first:" >&2
  echo "  cmake -S . -B build/h-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DHONE_BUILD_BENCH=ON" >&2
  echo "  cmake --build build/h-bench --target engine_throughput" >&2
  exit 2
fi
PY=/usr/bin/python3
PEER="$ROOT/bench/peers/torch_mlp_throughput.py"
STAMP="$(date -u +%Y%m%d-%H%M%S)"
SUFFIX=""
[[ $QUICK == 0 ]] || SUFFIX="-quick"
[[ $KEY == 0 ]] || SUFFIX="-key"
[[ -n "$OUT" ]] || OUT="$ROOT/bench/results/engine-$STAMP$SUFFIX.json"
mkdir -p "$(dirname "$OUT")"
RAW="$(mktemp /tmp/hone-engine-XXXXXX.jsonl)"
trap 'rm -f "$RAW"' EXIT

# Epoch sizes: both engines get the same workload. They are smaller than the peer's 60k epochs
# because torch's Linear layers on this image run on the reference (netlib) BLAS, about 15x slower
# than the OpenBLAS the peer numbers in ../shared/peers/RESULTS.md were measured with (see
# docs/BENCHMARKS.md); full 60k epochs would take ~30 min at 2 threads.
if [[ $QUICK == 1 ]]; then
  MLP_EPOCHS=3; MLP_SAMPLES=3000; CNN_EPOCHS=3; CNN_SAMPLES=1000
else
  MLP_EPOCHS=3; MLP_SAMPLES=8000; CNN_EPOCHS=3; CNN_SAMPLES=3000
fi

meta() {  # machine state, one JSON object
  local load blas
  load="$(cut -d' ' -f1-3 /proc/loadavg)"
  # The BLAS torch's Linear layers get: libblas.so.3 resolves through Debian's alternatives.
  blas="$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)"
  printf '{"kind":"meta","what":"%s","time_utc":"%s","loadavg":"%s","libblas_so_3":"%s"}\n' \
    "$1" "$(date -u +%FT%TZ)" "$load" "$blas"
}

run_hone() {  # model batch threads epochs samples
  local line
  if line="$("$BIN" train --model "$1" --batch "$2" --threads "$3" --epochs "$4" --samples "$5" 2>/dev/null | tail -n1)"; then
    echo "$line" >>"$RAW"
  else
    printf '{"engine":"hone","model":"%s","batch":%s,"threads":%s,"error":"engine_throughput failed"}\n' "$1" "$2" "$3" >>"$RAW"
  fi
  echo "  hone  $1 b$2 t$3: $(tail -n1 "$RAW" | $PY -c 'import json,sys; r=json.load(sys.stdin); print(r.get("samples_per_s", r.get("error")), "samples/s", r.get("epoch_s", ""))')" >&2
}

run_torch() {  # model batch threads epochs samples
  [[ $TORCH == 1 ]] || return 0
  local line
  if line="$(timeout 300 $PY "$PEER" --row "$1" "$2" --threads "$3" --epochs "$4" --samples "$5" 2>/dev/null | tail -n1)"; then
    echo "$line" >>"$RAW"
  else
    printf '{"engine":"torch","model":"%s","batch":%s,"threads":%s,"error":"torch worker failed"}\n' "$1" "$2" "$3" >>"$RAW"
  fi
  echo "  torch $1 b$2 t$3: $(tail -n1 "$RAW" | $PY -c 'import json,sys; r=json.load(sys.stdin); print(r.get("samples_per_s", r.get("error")), "samples/s", r.get("epoch_s", ""))')" >&2
}

T0=$(date +%s)
meta start >>"$RAW"
echo "run_engine: $BIN, $([[ $QUICK == 1 ]] && echo quick || ([[ $KEY == 1 ]] && echo key || echo full)) mode, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
i=0
pair() {  # model batch threads epochs samples — hone and torch, alternating who goes first
  if (( i % 2 == 0 )); then run_hone "$@"; run_torch "$@"; else run_torch "$@"; run_hone "$@"; fi
  i=$((i + 1))
}
if [[ $KEY == 1 ]]; then
  for b in 32 128 512; do pair mlp "$b" 1 4 30000; done
  pair cnn 128 1 3 4000
  meta end >>"$RAW"
  $PY "$ROOT/bench/engine_report.py" "$RAW" --out "$OUT" --quick 0 --wall "$(( $(date +%s) - T0 ))" --binary "$BIN"
  exit 0
fi
for t in 1 2; do
  for b in 32 128 512; do pair mlp "$b" "$t" "$MLP_EPOCHS" "$MLP_SAMPLES"; done
done
for t in 1 2; do pair cnn 128 "$t" "$CNN_EPOCHS" "$CNN_SAMPLES"; done
meta after-training >>"$RAW"

# hone alone at the peer's own epoch sizes (5 x 60k for the MLP; 3 x 10k, the peer's side runs, for
# the CNN), to set beside the torch-with-OpenBLAS numbers in ../shared/peers/RESULTS.md.
if [[ $QUICK == 0 ]]; then
  echo "  hone at the peer's epoch sizes ..." >&2
  for b in 32 128 512; do run_hone mlp "$b" 1 5 60000; done
  run_hone cnn 128 1 3 10000
  run_hone cnn 128 2 3 10000
  meta after-peer-size >>"$RAW"
fi

echo "  Eigen SGEMM peak and Dense layer GFLOP/s ..." >&2
for t in 1 2; do
  "$BIN" gemm --threads "$t" 2>/dev/null | tail -n1 >>"$RAW" || echo '{"mode":"gemm","error":"failed"}' >>"$RAW"
  "$BIN" dense --threads "$t" 2>/dev/null | tail -n1 >>"$RAW" || echo '{"mode":"dense","error":"failed"}' >>"$RAW"
done
meta end >>"$RAW"

$PY "$ROOT/bench/engine_report.py" "$RAW" --out "$OUT" --quick "$QUICK" --wall "$(( $(date +%s) - T0 ))" \
  --binary "$BIN"
