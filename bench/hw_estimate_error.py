#!/usr/bin/python3
"""`hone estimate` against the measured peak RSS of `hone train` (a child process, wait4's
ru_maxrss) for an MLP and a CNN at batch sizes 1..1024, on synthetic IDX data (3000 train, 500
test images of 28x28; 1 and 2 threads) and on Fashion-MNIST (the MLP of examples/mlp.toml, one epoch).
    /usr/bin/python3 bench/hw_estimate_error.py build/release/hone
"""
import json, os, random, struct, subprocess, sys, tempfile

hone = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/release/hone")
tmp = tempfile.mkdtemp(prefix="hone_est_")
random.seed(0)

def write_idx(n, prefix):
    with open(f"{tmp}/{prefix}-images.idx", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28))
        f.write(random.randbytes(n * 784))
    with open(f"{tmp}/{prefix}-labels.idx", "wb") as f:
        f.write(struct.pack(">II", 0x801, n))
        f.write(bytes(random.randrange(10) for _ in range(n)))

write_idx(3000, "train")
write_idx(500, "test")
data = "".join(f'{k}_{p} = "{tmp}/{k}-{p}.idx"\n' for k in ("train", "test") for p in ("images", "labels"))
models = {
    "mlp": 'type = "mlp"\nhidden_layers = [256, 128]\n',
    "cnn": 'type = "cnn"\nconv_filters = [32, 64]\ndense_units = [128]\n',
}
for name, model in models.items():
    with open(f"{tmp}/{name}.toml", "w") as f:
        f.write(f'seed = 0\n[data]\nsource = "idx"\n{data}[model]\n{model}[train]\nepochs = 1\nthreads = 1\n')

def measure(cfg, sets):
    est = json.loads(subprocess.run([hone, "estimate", cfg, "--json"] + sets, capture_output=True, text=True,
                                    check=True).stdout)
    p = subprocess.Popen([hone, "train", cfg, "--quiet", "--out", f"{tmp}/run"] + sets,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    assert status == 0
    return est["peak_bytes"], ru.ru_maxrss * 1024

print("| model | data | batch | threads | estimated MiB | measured peak RSS MiB | error |")
print("|---|---|---|---|---|---|---|")
worst = 0.0
cases = [(m, bs, 1) for m in models for bs in (1, 32, 256, 1024)] + [(m, bs, 2) for m in models for bs in (32, 1024)]
for m, bs, th in cases:
    sets = ["--set", f"train.batch_size={bs}", "--set", f"train.threads={th}"]
    sets += ["--set", "data.limit=300"] if bs == 1 else []
    e, r = measure(f"{tmp}/{m}.toml", sets)
    err = (e - r) / r
    worst = max(worst, abs(err))
    print(f"| {m} | synthetic {'300' if bs == 1 else '3000'} | {bs} | {th} | {e / 2**20:.1f} | {r / 2**20:.1f} | {100 * err:+.1f}% |")
fm = "examples/mlp.toml"
if os.path.exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"):
    for bs in (128, 1024):
        e, r = measure(fm, ["--set", f"train.batch_size={bs}", "--set", "train.epochs=1"])
        err = (e - r) / r
        worst = max(worst, abs(err))
        print(f"| mlp (examples/mlp.toml) | Fashion-MNIST 60000 | {bs} | 1 | {e / 2**20:.1f} | {r / 2**20:.1f} | {100 * err:+.1f}% |")
print(f"\nworst absolute error: {100 * worst:.1f}% (target: within 10%)")
