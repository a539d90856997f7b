#!/usr/bin/env bash
# augment_fmnist.sh — Fashion-MNIST CNN test accuracy with and without data augmentation, hone
# beside a PyTorch peer doing the same transforms (bench/augment_fmnist_peer.py; torchvision is
# not installed, so the peer writes the transforms in torch tensor ops).
#
#   bench/augment_fmnist.sh [--limit N] [--epochs E] [--build DIR] [--no-torch]
#
# Short on purpose (a loaded 2-core machine): N training images (default 6000, the first N of the
# 60k, 10% of them held out for validation), E epochs (default 3), the full 10k test set. The CNN:
# conv 16 -> maxpool -> conv 32 -> maxpool -> dense 64, Adam 1e-3, batch 64, seed 0.
# Variants: none; shift=2 + flip; shift=2 + flip + rotate=10 + cutout=8; mixup=0.2.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIMIT=6000
EPOCHS=3
BUILD="$ROOT/build/release"
TORCH=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --limit) LIMIT="$2"; shift ;;
    --epochs) EPOCHS="$2"; shift ;;
    --build) BUILD="$2"; shift ;;
    --no-torch) TORCH=0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "augment_fmnist.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
HONE="$BUILD/hone"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cat > "$TMP/cnn.toml" <<TOML
seed = 0
[data]
source = "fashion-mnist"
limit = $LIMIT
validation_fraction = 0.1
[model]
type = "cnn"
conv_filters = [16, 32]
dense_units = [64]
[train]
epochs = $EPOCHS
batch_size = 64
optimizer = "adam"
lr = 0.001
threads = 1
TOML
declare -A VARIANTS=(
  [none]=""
  [shift_flip]='{shift = 2, flip = true}'
  [shift_flip_rot_cutout]='{shift = 2, flip = true, rotate = 10.0, cutout = 8}'
  [mixup]='{mixup = 0.2}'
)
printf "%-24s %10s %10s %8s\n" variant hone_acc torch_acc hone_s
for v in none shift_flip shift_flip_rot_cutout mixup; do
  sets=()
  if [[ -n "${VARIANTS[$v]}" ]]; then sets=(--set "train.augment=${VARIANTS[$v]}"); fi
  t0=$(date +%s.%N)
  "$HONE" train "$TMP/cnn.toml" "${sets[@]}" --out "$TMP/run_$v" --quiet >/dev/null 2>"$TMP/err_$v" ||
    { cat "$TMP/err_$v" >&2; exit 1; }
  t1=$(date +%s.%N)
  acc=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['test']['accuracy'])" "$TMP/run_$v/metrics.json")
  tacc="-"
  if [[ $TORCH == 1 ]]; then
    tacc=$(/usr/bin/python3 "$ROOT/bench/augment_fmnist_peer.py" --variant "$v" --limit "$LIMIT" --epochs "$EPOCHS")
  fi
  printf "%-24s %10.4f %10s %8.1f\n" "$v" "$acc" "$tacc" "$(echo "$t1 - $t0" | bc)"
done
