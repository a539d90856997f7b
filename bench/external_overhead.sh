#!/bin/bash
# Per-trial overhead of tuning an external program: hone (bench/external_overhead.cc) against
# Optuna 3.1's CLI ask/tell loop (`optuna ask` -> run the program -> `optuna tell`, SQLite storage),
# both running /bin/echo "hone: result <x>" as the program.
#   bench/external_overhead.sh [N_HONE] [N_OPTUNA]      (BUILD=build/release by default)
set -euo pipefail
cd "$(dirname "$0")/.."
N_HONE=${1:-500}
N_OPTUNA=${2:-20}
BUILD=${BUILD:-build/release}
BIN="$BUILD/external_overhead"
[ -x "$BIN" ] || { echo "build it first: cmake --build $BUILD --target external_overhead" >&2; exit 1; }

hone_json=$("$BIN" "$N_HONE")
echo "hone:   $hone_json"

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
db="sqlite:///$tmp/optuna.db"
optuna="/usr/bin/python3 /usr/bin/optuna"
$optuna create-study --storage "$db" --study-name s --direction minimize -q >/dev/null 2>&1
space='{"x": {"name": "FloatDistribution", "attributes": {"low": 0.0, "high": 1.0, "step": null, "log": false}}}'
start=$(date +%s.%N)
for ((i = 0; i < N_OPTUNA; i++)); do
  out=$($optuna ask --storage "$db" --study-name s --sampler RandomSampler --search-space "$space" -f json 2>/dev/null)
  num=$(/usr/bin/python3 -c 'import json,sys; t=json.loads(sys.argv[1]); print(t["number"], t["params"]["x"])' "$out")
  set -- $num
  val=$(/bin/echo "hone: result $2" | sed -n 's/^hone: result //p')
  $optuna tell --storage "$db" --study-name s --trial-number "$1" --values "$val" -q >/dev/null 2>&1
done
end=$(date +%s.%N)
optuna_us=$(/usr/bin/python3 -c "print(($end - $start) / $N_OPTUNA * 1e6)")
n_done=$(/usr/bin/python3 -c "
import optuna; optuna.logging.set_verbosity(optuna.logging.WARNING)
print(len(optuna.load_study(study_name='s', storage='$db').get_trials(states=[optuna.trial.TrialState.COMPLETE])))")
[ "$n_done" = "$N_OPTUNA" ] || { echo "optuna finished $n_done of $N_OPTUNA trials" >&2; exit 1; }
echo "optuna: {\"n\": $N_OPTUNA, \"optuna_cli_trial_us\": $optuna_us}"
/usr/bin/python3 - "$hone_json" "$optuna_us" <<'PY'
import json, sys
h = json.loads(sys.argv[1]); o = float(sys.argv[2])
print(f"per trial: hone {h['hone_trial_us']:.0f} us (bare fork/exec/wait {h['spawn_us']:.0f} us), "
      f"Optuna CLI ask/tell {o / 1000:.0f} ms -> Optuna / hone = {o / h['hone_trial_us']:.0f}x")
PY
