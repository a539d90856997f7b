#!/bin/bash
# A misbehaving program for tests/tune/command_*_test.cc. First argument: what to do.
# Reads HONE_* from the environment as any external objective would.
mode="$1"; shift
case "$mode" in
  ok)          # reports three steps, then the result given as $1 (default 1.5)
    for s in 0 1 2; do echo "hone: report $s 0.$s"; done
    echo "some ordinary output"
    echo "to stderr" >&2
    echo "hone: result ${1:-1.5}" ;;
  echo_args)   # one line per argument, then a result
    for a in "$@"; do printf 'arg:%s\n' "$a"; done
    echo "hone: result 0" ;;
  env)         # dumps the HONE_ and thread variables
    env | grep -E '^(HONE_|OMP_NUM_THREADS|OPENBLAS_NUM_THREADS|MKL_NUM_THREADS|EXTRA_)' | sort
    cp "$HONE_PARAMS_FILE" "$HONE_TRIAL_DIR/params_copy.json"
    echo "hone: result 0" ;;
  hang)        sleep 30 ;;
  segv)        echo "about to crash" >&2; kill -SEGV $$ ;;
  abort)       kill -ABRT $$ ;;
  exit3)       echo "Traceback: something broke" >&2; echo "ValueError: bad lr" >&2; exit 3 ;;
  flood)       # ~8 MB on stdout and 2 MB on stderr, then a result
    head -c 8000000 /dev/zero | tr '\0' 'x' | fold -w 1000
    head -c 2000000 /dev/zero | tr '\0' 'e' >&2
    echo; echo "hone: result 2" ;;
  garbage)     # binary noise and malformed protocol lines, no valid result
    head -c 20000 /dev/urandom; echo
    echo "hone: result not-a-number"
    echo "hone: report x 1" ;;
  noresult)    echo "finished, forgot to report" ;;
  ignore_term) # reports, then ignores SIGTERM: only SIGKILL ends it
    trap '' TERM
    echo "$$" > "$HONE_TRIAL_DIR/pid"
    for s in 0 1 2 3 4 5 6 7 8 9; do echo "hone: report $s $s"; sleep 0.05; done
    sleep 30; echo "hone: result 0" ;;
  report_slow) # reports value $1 at steps 0..19, one every 50 ms, writes its pid
    echo "$$" > "$HONE_TRIAL_DIR/pid"
    ( sleep 30 ) & echo "$!" > "$HONE_TRIAL_DIR/child_pid"
    for s in $(seq 0 19); do echo "hone: report $s $1"; sleep 0.05; done
    echo "hone: result $1" ;;
  orphan)      # a child that outlives us, holding our stdout open
    sleep 30 & echo "$!" > "$HONE_TRIAL_DIR/child_pid"
    echo "hone: result 4" ;;
  resultfile)  # the JSON result file instead of stdout
    printf '{"value": 7.25, "intermediate": {"0": 9, "1": 8}}' > "$HONE_RESULT_FILE" ;;
  flaky)       # fails on the first attempt (per trial dir), succeeds on the second
    if [ -e "$HONE_TRIAL_DIR/attempted" ]; then echo "hone: result 5"; else
      touch "$HONE_TRIAL_DIR/attempted"; echo "first attempt dies" >&2; exit 1; fi ;;
  *)           echo "fake.sh: unknown mode $mode" >&2; exit 2 ;;
esac
