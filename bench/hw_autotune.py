#!/usr/bin/python3
"""`hone autotune` against the exhaustive grid (threads 1..cores x batch 16..1024) and against the
default settings of examples/mlp.toml (batch 128, 1 thread), on Fashion-MNIST (20000 samples).
The chosen point's throughput is read from the exhaustive grid's own measurement of it, so both
sides are judged by the same numbers; the reference is the grid's best point that passes the same
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

for rep in range(repeats):
    grid = run(["--exhaustive"])
    smart = run([])
    gpts = {(p["threads"], p["batch_size"]): p["samples_per_s"] for p in grid["points"]}
    graw = max(gpts.values())
    gbest = gpts[(grid["threads"], grid["batch_size"])]  # the grid's choice under the same guard
    chosen = gpts[(smart["threads"], smart["batch_size"])]
    refused = [f'{p["threads"]}x{p["batch_size"]}' for p in grid["points"] if p["note"].startswith("refused")]
    default = gpts[(1, 128)]
    print(f"run {rep + 1}: grid fastest {graw:.0f} samples/s at {max(gpts, key=gpts.get)}, refused by the efficiency "
          f"guard: {', '.join(refused) or 'none'}; grid choice {grid['threads']}x{grid['batch_size']} = {gbest:.0f}; "
          f"autotune chose "
          f"threads {smart['threads']} x batch {smart['batch_size']} = {chosen:.0f} in the grid "
          f"({100 * chosen / gbest:.0f}% of the grid best); measuring time {smart['measure_seconds']:.2f} s vs grid "
          f"{grid['measure_seconds']:.2f} s ({100 * smart['measure_seconds'] / grid['measure_seconds']:.0f}%), "
          f"total {smart['seconds']:.2f} s vs {grid['seconds']:.2f} s; default (1 thread, batch 128) {default:.0f} "
          f"samples/s -> chosen is {chosen / default:.2f}x")
