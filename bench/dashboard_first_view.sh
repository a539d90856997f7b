#!/usr/bin/env bash
# The dashboard's first view of a big study, in real headless Chromium (tests/browser/check_page.py):
#
#   bench/dashboard_first_view.sh [TRIALS=10000] [RUNS=3]
#
# Writes a TRIALS-trial study (8 parameters, bench/report_bench.cc) into a SQLite file, then RUNS times:
# starts `hone dashboard` afresh (cold caches: nothing read yet) and opens it at once, timing
#   first view  navigation -> the study list, progress and the first page of the trials table drawn
#   plots       navigation -> every plot of the report's live page drawn (a second fresh server)
# and prints the server's time per request (--log-requests). Beside it, the peer's floor: Optuna 3.1
# reading the same study (optuna.load_study(...).trials, in process, import not counted), which any
# Optuna-based dashboard must do before it draws anything (optuna-dashboard is not in Debian 12).
# Needs build/release/{hone,report_bench} (cmake --build --preset release --target hone_cli report_bench),
# chromium and python3-websocket (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
RUNS=${2:-3}
BIN=build/release
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hone-dash-bench.XXXXXX")
pid=""
cleanup() { [[ -n "$pid" ]] && kill -INT "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

"$BIN/report_bench" make --db "$tmp/s.db" --trials "$N" --params 8 >/dev/null
study="bench_$N"

serve() {  # starts a fresh dashboard; sets pid and url
  "$BIN/hone" dashboard --storage "sqlite:///$tmp/s.db" --port 0 --log-requests >"$tmp/log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    url=$(grep -so 'http://127.0.0.1:[0-9]*/' "$tmp/log" || true)
    [[ -n "$url" ]] && return 0
    sleep 0.05
  done
  echo "dashboard did not start: $(cat "$tmp/log")" >&2
  exit 1
}
stop() { kill -INT "$pid"; wait "$pid" || true; pid=""; }
seconds() { sed -n 's/^check_page: rendered in \([0-9.]*\) s$/\1/p'; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

plots_ready="(() => { const f = document.getElementById('plots'); const d = f && f.contentDocument; return !!(d && d.body && d.body.dataset.ready); })()"
first=() plots=()
for r in $(seq "$RUNS"); do
  serve
  out=$(/usr/bin/python3 tests/browser/check_page.py "$url" --expect '#trials tbody tr[data-number]' --timeout 30)
  first+=("$(echo "$out" | seconds)")
  echo "run $r first view: ${first[-1]} s; server: $(grep '^GET' "$tmp/log" | sed 's/ 200 / /' | paste -sd ';' -)"
  stop
  serve
  out=$(/usr/bin/python3 tests/browser/check_page.py "$url" --ready-js "$plots_ready" --timeout 60)
  plots+=("$(echo "$out" | seconds)")
  echo "run $r plots:      ${plots[-1]} s; server: $(grep '^GET' "$tmp/log" | sed 's/ 200 / /' | paste -sd ';' -)"
  stop
done
optuna_s=$(/usr/bin/python3 - "$tmp/s.db" "$study" "$RUNS" <<'PY'
import statistics, sys, time
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
db, name, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    trials = optuna.load_study(study_name=name, storage=f"sqlite:///{db}").trials
    times.append(time.perf_counter() - t0)
assert len(trials) > 0
print(f"{statistics.median(times):.3f}")
PY
)
f=$(printf '%s\n' "${first[@]}" | median)
p=$(printf '%s\n' "${plots[@]}" | median)
echo
echo "dashboard, $N trials, median of $RUNS cold starts (target: first view < 1 s):"
echo "  first view (list, progress, trials table)  $f s"
echo "  plots (every view of the live report page) $p s"
echo "  Optuna 3.1 load_study(...).trials           $optuna_s s   (Optuna's read / hone's first view = $(awk -v a="$f" -v b="$optuna_s" 'BEGIN {printf "%.1f", b / a}')x)"
