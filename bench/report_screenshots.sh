#!/usr/bin/env bash
# Re-makes docs/img/report_*.png, the screenshots in docs/REPORT.md: a real study (examples/
# wine_study.toml, 80 trials in 2 local workers), a training run (examples/wine.toml) and the
# multi-objective fixture of tests/report/browser_test.cc, each view shot alone in headless Chromium.
#   bash bench/report_screenshots.sh [build/release]
set -euo pipefail
BUILD=${1:-build/release}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PY=/usr/bin/python3
"$BUILD/hone" tune examples/wine_study.toml --storage "sqlite:///$T/w.db" --n-trials 80 --workers 2 --out "$T/out" > /dev/null
"$BUILD/hone" report --storage "sqlite:///$T/w.db" -o "$T/study.html"
"$BUILD/hone" train examples/wine.toml --out "$T/run" > /dev/null
"$BUILD/hone" report "$T/run" -o "$T/run.html"
"$BUILD/test_report" --gtest_filter='Browser.MultiObjective*' > /dev/null  # writes artifacts/report_pareto.html
mkdir -p docs/img
shots() {  # page, views...
  local page=$1; shift
  local args=()
  for v in "$@"; do args+=(--element-shot "#section-$v" "docs/img/report_$v.png"); done
  $PY tests/browser/check_page.py "file://$page" --ready-js 'window.honeReady === true' --timeout 60 --width 900 "${args[@]}"
}
shots "$T/study.html" history intermediate timeline edf slice parallel rank importance contour ablation
shots "$PWD/$BUILD/artifacts/report_pareto.html" pareto hypervolume
shots "$T/run.html" curves lr
ls -la docs/img/report_*.png
