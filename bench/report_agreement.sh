#!/usr/bin/env bash
# hone's fANOVA shares beside Optuna 3.1's on one Optuna-made study (bench/report_agreement.py),
# with b on a linear domain, then on a log domain (hone measures log domains on a log scale,
# Optuna 3.1 linearly, so b's share differs there by design).
#   bash bench/report_agreement.sh [build/release]
set -euo pipefail
BUILD=${1:-build/release}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for mode in linear log; do
  flag=""; [[ $mode == log ]] && flag=--log
  optuna=$(/usr/bin/python3 bench/report_agreement.py "$T/$mode.db" $flag)
  hone=$("$BUILD/report_bench" time --db "$T/$mode.db" --study agree --out "$T/$mode.html")
  /usr/bin/python3 - "$mode" "$optuna" "$hone" <<'PYEOF'
import json, sys
mode, o, h = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
print(f"b {mode}: " + "  ".join(f"{k}: hone {h['fanova'][k]:.3f} / Optuna {o['fanova'][k]:.3f}" for k in "abcke") +
      f"   ({h['fanova_s']:.3f} s vs {o['fanova_s']:.2f} s)")
PYEOF
done
