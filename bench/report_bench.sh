#!/usr/bin/env bash
# `hone report` at 100 / 1,000 / 10,000 trials (generation time, file size, time to draw in headless
# Chromium) and importance times beside Optuna 3.1's FanovaImportanceEvaluator on the same studies.
#   bash bench/report_bench.sh [build/release]      (results: docs/BENCHMARKS.md, "Report")
set -euo pipefail
BUILD=${1:-build/release}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
PY=/usr/bin/python3
printf "%8s %10s %8s %10s %10s %10s %12s %12s\n" trials generate_s MB browser_s fanova_s ped_s optuna_fan_s ratio
for n in 100 1000 10000; do
  "$BUILD/report_bench" make --db "$OUT/b.db" --trials "$n" > /dev/null
  hone=$("$BUILD/report_bench" time --db "$OUT/b.db" --study "bench_$n" --out "$OUT/r$n.html")
  shot=$($PY tests/browser/check_page.py "file://$OUT/r$n.html" --ready-js 'window.honeReady === true' --timeout 60 |
         sed -n 's/.*rendered in \([0-9.]*\) s.*/\1/p')
  optuna='{"fanova_s": null}'
  if [[ $n -le 1000 ]]; then optuna=$($PY bench/report_optuna.py "$OUT/b.db" "bench_$n"); fi
  $PY - "$hone" "$optuna" "$shot" <<'PYEOF'
import json, sys
h, o, shot = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
of = o["fanova_s"]
ratio = f"{of / h['fanova_s']:.0f}x" if of else "-"
print(f"{h['trials']:8d} {h['total_s']:10.3f} {h['bytes'] / 1e6:8.2f} {shot or '-':>10} {h['fanova_s']:10.3f} "
      f"{h['ped_anova_s']:10.4f} {of if of is None else round(of, 2)!s:>12} {ratio:>12}")
print("   hone fANOVA shares:", {k: round(v, 3) for k, v in h["fanova"].items()}, file=sys.stderr)
if of:
    print("   Optuna fANOVA shares:", {k: round(v, 3) for k, v in o["fanova"].items()}, file=sys.stderr)
PYEOF
done
