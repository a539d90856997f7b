#!/bin/bash
# The Branin function as a "training run": hone passes x1 and x2 as arguments, the script
# "trains" for a few steps (each step a closer approximation) and prints the protocol lines.
# Minimum 0.397887 at (-pi, 12.275), (pi, 2.275), (9.42478, 2.475).
x1="$1"; x2="$2"; steps="${3:-5}"
for ((s = 0; s < steps; s++)); do
  # A noisy early estimate that converges to the true value at the last step.
  awk -v x1="$x1" -v x2="$x2" -v s="$s" -v n="$steps" 'BEGIN {
    pi = atan2(0, -1); b = 5.1 / (4 * pi * pi); c = 5 / pi; t = 1 / (8 * pi)
    f = (x2 - b * x1 * x1 + c * x1 - 6) ^ 2 + 10 * (1 - t) * cos(x1) + 10
    printf "hone: report %d %.10g\n", s, f * (1 + (n - 1 - s) / n)
  }'
  echo "step $s done (HONE_TRIAL_NUMBER=$HONE_TRIAL_NUMBER)"
done
awk -v x1="$x1" -v x2="$x2" 'BEGIN {
  pi = atan2(0, -1); b = 5.1 / (4 * pi * pi); c = 5 / pi; t = 1 / (8 * pi)
  printf "hone: result %.10g\n", (x2 - b * x1 * x1 + c * x1 - 6) ^ 2 + 10 * (1 - t) * cos(x1) + 10
}'
