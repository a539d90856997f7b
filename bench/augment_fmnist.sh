#!/usr/bin/env bash
# augment_fmnist.sh — does data augmentation cure overfitting? Fashion-MNIST CNN, test accuracy
# with and without augmentation at the same epochs, hone beside a PyTorch peer doing the same
# transforms (bench/augment_fmnist_peer.py; torchvision is not installed, so the peer writes
# torchvision's RandomCrop(padding)/RandomHorizontalFlip/RandomRotation in torch tensor ops).
#
#   bench/augment_fmnist.sh [--limit N] [--epochs E] [--seeds "0 1 2"] [--variants "none sf sfrc"]
#                           [--threads T] [--out FILE.tsv] [--build DIR] [--no-torch] [--no-hone]
#
# The overfitting regime by default: the first N = 2000 training images (1800 train, 200
# validation), E = 60 epochs, a CNN conv 16 -> maxpool -> conv 32 -> maxpool -> dense 128 (109k
# parameters, 60 per training image), Adam 1e-3, batch 64; test accuracy on the full 10k t10k set
# after the last epoch (no early stopping, no best-epoch pick). Without augmentation this model
# reaches 98.5-100% training accuracy while its test loss climbs (docs/BENCHMARKS.md).
# Variants: none; sf = {shift = 2, flip = true}; sfrc = sf + {rotate = 10, cutout = 8};
# mixup = {mixup = 0.2}. One line per (engine, variant, seed) is appended to the TSV as it
# finishes (engine variant seed test_acc test_loss train_acc best_val_epoch seconds), and the
# medians over seeds are printed at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIMIT=2000
EPOCHS=60
SEEDS="0 1 2"
VARIANTS_RUN="none sf sfrc"
THREADS=1
OUT=""
BUILD="$ROOT/build/release"
TORCH=1
HONE_ON=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --limit) LIMIT="$2"; shift ;;
    --epochs) EPOCHS="$2"; shift ;;
    --seeds) SEEDS="$2"; shift ;;
    --variants) VARIANTS_RUN="$2"; shift ;;
    --threads) THREADS="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    --build) BUILD="$2"; shift ;;
    --no-torch) TORCH=0 ;;
    --no-hone) HONE_ON=0 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "augment_fmnist.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
HONE="$BUILD/hone"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
[[ -n "$OUT" ]] || OUT="$TMP/results.tsv"
cat > "$TMP/cnn.toml" <<TOML
seed = 0
[data]
source = "fashion-mnist"
limit = $LIMIT
validation_fraction = 0.1
[model]
type = "cnn"
conv_filters = [16, 32]
dense_units = [128]
[train]
epochs = $EPOCHS
batch_size = 64
optimizer = "adam"
lr = 0.001
threads = $THREADS
TOML
declare -A HONE_AUG=(
  [none]=""
  [sf]='{shift = 2, flip = true}'
  [sfrc]='{shift = 2, flip = true, rotate = 10.0, cutout = 8}'
  [mixup]='{mixup = 0.2}'
)
declare -A TORCH_AUG=(
  [none]='{}'
  [sf]='{"shift": 2, "flip": true}'
  [sfrc]='{"shift": 2, "flip": true, "rotate": 10.0, "cutout": 8}'
  [mixup]='{"mixup": 0.2}'
)
for v in $VARIANTS_RUN; do
  [[ -n "${TORCH_AUG[$v]+x}" ]] || { echo "augment_fmnist.sh: unknown variant $v (none sf sfrc mixup)" >&2; exit 2; }
done
echo "# $(date -u +%FT%TZ) limit=$LIMIT epochs=$EPOCHS threads=$THREADS load: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT"
for seed in $SEEDS; do
  for v in $VARIANTS_RUN; do
    if [[ $HONE_ON == 1 ]]; then
      sets=(--set "seed=$seed")
      [[ -z "${HONE_AUG[$v]}" ]] || sets+=(--set "train.augment=${HONE_AUG[$v]}")
      run="$TMP/hone_${v}_$seed"
      "$HONE" train "$TMP/cnn.toml" "${sets[@]}" --out "$run" --quiet >/dev/null 2>"$run.err" ||
        { cat "$run.err" >&2; exit 1; }
      /usr/bin/python3 - "$run" "$v" "$seed" >> "$OUT" <<'PY'
import csv, json, sys
run, v, seed = sys.argv[1:]
m = json.load(open(f"{run}/metrics.json"))
h = list(csv.DictReader(open(f"{run}/history.csv")))
best = min(range(len(h)), key=lambda i: float(h[i]["val_loss"])) + 1
print(f"hone\t{v}\t{seed}\t{m['test']['accuracy']:.4f}\t{m['test']['loss']:.4f}\t{float(h[-1]['accuracy']):.4f}\t{best}\t{m['train_seconds']:.1f}")
PY
    fi
    if [[ $TORCH == 1 ]]; then
      /usr/bin/python3 "$ROOT/bench/augment_fmnist_peer.py" --augment "${TORCH_AUG[$v]}" --limit "$LIMIT" \
        --epochs "$EPOCHS" --seed "$seed" --threads "$THREADS" > "$TMP/torch.json"
      /usr/bin/python3 - "$TMP/torch.json" "$v" "$seed" >> "$OUT" <<'PY'
import json, sys
p, v, seed = sys.argv[1:]
r = json.load(open(p))
best = min(range(len(r["val_loss"])), key=lambda i: r["val_loss"][i]) + 1
print(f"torch\t{v}\t{seed}\t{r['test_accuracy']:.4f}\t{r['test_loss']:.4f}\t{r['train_accuracy']:.4f}\t{best}\t{r['seconds']:.1f}")
PY
    fi
    tail -n "$((HONE_ON + TORCH))" "$OUT"
  done
done
/usr/bin/python3 - "$OUT" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    e, v, s, acc, loss, tr, best, sec = line.split("\t")
    rows.setdefault((e, v), []).append((float(acc), float(loss), float(tr), int(best)))
print(f"{'engine':6} {'variant':6} {'seeds':>5} {'med test acc':>12} {'med test loss':>13} {'med train acc':>13} {'min val loss @':>14}")
for (e, v), r in sorted(rows.items()):
    med = lambda k: statistics.median(x[k] for x in r)
    print(f"{e:6} {v:6} {len(r):5d} {med(0):12.4f} {med(1):13.4f} {med(2):13.4f} {med(3):14.0f}")
PY
