#!/usr/bin/python3
"""`hone autotune` against the exhaustive grid (threads 1..cores x batch 16..1024) and against the
default settings of examples/mlp.toml (batch 128, 1 thread), on Fashion-MNIST (20000 samples).
When the two choices differ, both points are measured again, fresh and interleaved, and the ratio of
the medians is the figure (the grid's one-shot maximum is biased upwards); the reference is the grid's best point that passes the same
statistical-efficiency guard (a batch whose 1-epoch validation loss is > 5% worse than the
config's batch is refused on both sides).
    /usr/bin/python3 bench/hw_autotune.py build/release/hone [repeats]
"""
import json, subprocess, sys

hone = sys.argv[1] if len(sys.argv) > 1 else "build/release/hone"
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
cfg = "examples/mlp.toml"
sets = ["--set", "data.limit=20000", "--no-write", "--json"]

def run(extra):
    out = subprocess.run([hone, "autotune", cfg] + sets + extra, capture_output=True, text=True, check=True).stdout
    return json.loads(out)

def measure_point(threads, batch, seconds=0.6):
    """One point, measured alone for `seconds` (the exhaustive mode over a one-point grid)."""
    r = run(["--exhaustive", "--threads", str(threads), "--batch-sizes", str(batch), "--seconds", str(seconds)])
    return r["points"][0]["samples_per_s"]

def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else 0.5 * (xs[len(xs) // 2 - 1] + xs[len(xs) // 2])

# The grid's best is the maximum of ~14 noisy one-shot measurements, so judging autotune's choice by
# those same numbers favours the grid (the winner's curse). The fair judge measures both choices
# again, fresh and interleaved (A B A B ...), so both see the same load; the ratio of the medians
# is the figure.
ratios, time_ratios = [], []
for rep in range(repeats):
    grid = run(["--exhaustive"])
    smart = run([])
    gpts = {(p["threads"], p["batch_size"]): p["samples_per_s"] for p in grid["points"]}
    g = (grid["threads"], grid["batch_size"])
    s = (smart["threads"], smart["batch_size"])
    refused = [f'{p["threads"]}x{p["batch_size"]}' for p in grid["points"] if p["note"].startswith("refused")]
    if g == s:
        ratio, how = 1.0, "same point"
    else:
        a, b = [], []
        for _ in range(5):
            a.append(measure_point(*g))
            b.append(measure_point(*s))
        ratio = median(b) / median(a)
        how = (f"re-measured interleaved x5: grid's {median(a):.0f} vs autotune's {median(b):.0f} samples/s "
               f"(the grid's own one-shot figures: {gpts[g]:.0f} vs {gpts[s]:.0f})")
    tr = smart["seconds"] / grid["seconds"]
    ratios.append(ratio)
    time_ratios.append(tr)
    default = gpts.get((1, 128))
    print(f"run {rep + 1}: grid choice {g[0]}x{g[1]}, autotune choice {s[0]}x{s[1]}: {100 * ratio:.0f}% of the grid's "
          f"best ({how}); refused by the efficiency guard: {', '.join(refused) or 'none'}; autotune took "
          f"{smart['seconds']:.2f} s vs the grid's {grid['seconds']:.2f} s ({100 * tr:.0f}%, measuring only "
          f"{100 * smart['measure_seconds'] / grid['measure_seconds']:.0f}%)"
          + (f"; chosen vs the default 1x128 in the grid: {gpts[s] / default:.2f}x" if default else ""))
print(f"summary over {repeats} runs: autotune reached {', '.join(f'{100 * r:.0f}%' for r in ratios)} of the grid's "
      f"best (target >= 95%) in {', '.join(f'{100 * t:.0f}%' for t in time_ratios)} of the grid's time (target <= 30%)")
