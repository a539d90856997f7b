#!/usr/bin/python3
"""torch_mlp_throughput: PyTorch CPU training throughput on Fashion-MNIST (Debian python3-torch).

Models:
  MLP  784-256-128-10, ReLU, cross-entropy, Adam(lr=1e-3)
  CNN  conv(1->32,3x3)-relu-maxpool2-conv(32->64,3x3)-relu-maxpool2-fc(1600->128)-relu-fc(128->10),
       cross-entropy, Adam(lr=1e-3)
Data: Fashion-MNIST from /usr/share/datasets/fashion-mnist, float32 pixels / 255, held in memory as tensors;
each epoch takes a fresh torch.randperm shuffle and slices mini-batches from the tensor (no DataLoader in the
main rows; one extra row measures DataLoader(TensorDataset, shuffle=True, num_workers=0), and one extra row
(3 epochs, "+FTZ") runs with torch.set_flush_denormal(True) to show the cost of float32 denormals).
Throughput = training samples / wall time of an epoch (forward, backward, optimizer step; no evaluation),
steady state = median over the epochs after the first (the first epoch is warm-up).
  MLP rows: 5 epochs of the full 60k training set each, batch 32/128/512, 1 and 2 threads.
  CNN row: batch 128, 2 threads, 4 "epochs" of a 20,000-sample subset (to stay within the time budget).
Each thread count runs in its own worker process with OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = n
set before torch is imported, plus torch.set_num_threads(n) (torch's set_num_threads does not reach OpenBLAS,
which torch uses for Linear layers in this Debian build). Test accuracy (10k test set) after the 5 epochs of the
MLP at batch 128 / 2 threads. Peak RSS: resource.getrusage(RUSAGE_SELF).ru_maxrss of each worker process.

Usage: /usr/bin/python3 torch_mlp_throughput.py [--mlp-epochs 5] [--cnn-epochs 4] [--cnn-epoch-samples 20000]
Side variants used in RESULTS.md (not the main numbers):
  /usr/bin/python3 torch_mlp_throughput.py --threads 2 --openblas-threads 1 --skip-cnn
  env -u OPENBLAS_CORETYPE /usr/bin/python3 torch_mlp_throughput.py --skip-cnn
  /usr/bin/python3 torch_mlp_throughput.py --cnn-only --threads 1 2 --cnn-epochs 3 --cnn-epoch-samples 10000
Prints human-readable lines, then one JSON line (last line of stdout).

hone copy (bench/peers/): identical measurement code, plus a single-row mode used by bench/run_engine.sh so every
configuration runs in its own fresh process, alternating with hone:
  /usr/bin/python3 torch_mlp_throughput.py --row mlp 128 --threads 1 --epochs 5 --samples 60000
prints only that row as one JSON line (the env vars are set before torch is imported, as in the main mode).
"""
import argparse
import gzip
import json
import os
import platform
import resource
import statistics
import struct
import subprocess
import sys
import time

DATA = "/usr/share/datasets/fashion-mnist"


def load_idx(path):
    import numpy as np
    with gzip.open(path, "rb") as f:
        b = f.read()
    nd = b[3]
    dims = struct.unpack(">" + "I" * nd, b[4:4 + 4 * nd])
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def worker(threads, args):
    import numpy as np
    import torch
    import torch.nn as nn

    torch.set_num_threads(threads)
    rss_after_import = rss_mb()
    Xtr = torch.from_numpy(load_idx(f"{DATA}/train-images-idx3-ubyte.gz").reshape(60000, 1, 28, 28).astype(np.float32) / 255.0)
    ytr = torch.from_numpy(load_idx(f"{DATA}/train-labels-idx1-ubyte.gz").astype(np.int64))
    Xte = torch.from_numpy(load_idx(f"{DATA}/t10k-images-idx3-ubyte.gz").reshape(10000, 1, 28, 28).astype(np.float32) / 255.0)
    yte = torch.from_numpy(load_idx(f"{DATA}/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    rss_after_data = rss_mb()

    def mlp():
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10))

    def cnn():
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))

    def evaluate(model):
        model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(Xte), 1000):
                correct += (model(Xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
        model.train()
        return correct / len(Xte)

    def train(kind, batch, epochs, n_samples, use_loader=False, eval_at_end=False, flush_denormal=False):
        torch.set_flush_denormal(flush_denormal)
        torch.manual_seed(0)
        model = mlp() if kind == "mlp" else cnn()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        lossf = nn.CrossEntropyLoss()
        g = torch.Generator().manual_seed(0)
        X, y = Xtr[:n_samples], ytr[:n_samples]
        if use_loader:
            from torch.utils.data import DataLoader, TensorDataset
            loader = DataLoader(TensorDataset(X, y), batch_size=batch, shuffle=True, num_workers=0, generator=g)
        ep_times = []
        ep_cpu = []  # hone addition: process CPU time per epoch (robust to time slices lost on a busy box)
        for ep in range(epochs):
            t0 = time.perf_counter()
            c0 = time.process_time()
            if use_loader:
                it = loader
            else:
                perm = torch.randperm(n_samples, generator=g)
                it = ((X[perm[i:i + batch]], y[perm[i:i + batch]]) for i in range(0, n_samples, batch))
            for xb, yb in it:
                opt.zero_grad(set_to_none=True)
                loss = lossf(model(xb), yb)
                loss.backward()
                opt.step()
            ep_times.append(time.perf_counter() - t0)
            ep_cpu.append(time.process_time() - c0)
        steady = statistics.median(ep_times[1:]) if len(ep_times) > 1 else ep_times[0]
        torch.set_flush_denormal(False)
        row = {"model": kind, "batch": batch, "threads": threads,
               "loader": ("DataLoader" if use_loader else "tensor-slicing") + ("+FTZ" if flush_denormal else ""),
               "epoch_samples": n_samples, "epochs": epochs,
               "epoch_s": [round(t, 3) for t in ep_times],
               "samples_per_s": round(n_samples / steady, 1),
               "first_epoch_samples_per_s": round(n_samples / ep_times[0], 1),
               "epoch_cpu_s": [round(t, 3) for t in ep_cpu],
               "samples_per_cpu_s": round(n_samples / (statistics.median(ep_cpu[1:]) if len(ep_cpu) > 1 else ep_cpu[0]), 1),
               "final_loss": round(float(loss.item()), 4)}
        if eval_at_end:
            row["test_accuracy"] = round(evaluate(model), 4)
        row["rss_mb_so_far"] = rss_mb()
        return row

    rows = []
    if args.row:
        kind, batch = args.row[0], int(args.row[1])
        rows.append(train(kind, batch, args.epochs, args.samples))
    elif args.cnn_only:
        rows.append(train("cnn", 128, args.cnn_epochs, args.cnn_epoch_samples))
    else:
        for batch in (32, 128, 512):
            rows.append(train("mlp", batch, args.mlp_epochs, 60000, eval_at_end=(batch == 128)))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        if threads == 2:
            rows.append(train("mlp", 128, 3, 60000, use_loader=True))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            rows.append(train("mlp", 128, 3, 60000, flush_denormal=True, eval_at_end=True))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            if not args.skip_cnn:
                rows.append(train("cnn", 128, args.cnn_epochs, args.cnn_epoch_samples))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    try:
        import threadpoolctl
        pools = [{k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                 for d in threadpoolctl.threadpool_info()]
    except Exception as e:  # pragma: no cover
        pools = repr(e)
    out = {"threads": threads, "rows": rows, "torch_num_threads": torch.get_num_threads(),
           "torch_interop_threads": torch.get_num_interop_threads(),
           "threadpools": pools, "rss_mb_after_import": rss_after_import, "rss_mb_after_data": rss_after_data,
           "peak_rss_mb": rss_mb(), "torch": torch.__version__, "numpy": np.__version__}
    print("WORKER_JSON " + json.dumps(out), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker-threads", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--mlp-epochs", type=int, default=5)
    ap.add_argument("--cnn-epochs", type=int, default=4)
    ap.add_argument("--cnn-epoch-samples", type=int, default=20000)
    ap.add_argument("--openblas-threads", type=int, default=0,
                    help="side variant: OPENBLAS_NUM_THREADS for the workers (default: same as torch threads)")
    ap.add_argument("--skip-cnn", action="store_true", help="side variant: MLP rows only")
    ap.add_argument("--cnn-only", action="store_true", help="side variant: only the CNN row, at every --threads")
    ap.add_argument("--row", nargs=2, metavar=("MODEL", "BATCH"),
                    help="hone: run one row (mlp|cnn, batch) in a fresh worker at the single --threads value")
    ap.add_argument("--epochs", type=int, default=5, help="hone: epochs of the --row")
    ap.add_argument("--samples", type=int, default=60000, help="hone: samples per epoch of the --row")
    args = ap.parse_args()
    if args.worker_threads:
        worker(args.worker_threads, args)
        return
    if args.row:
        if args.row[0] not in ("mlp", "cnn") or len(args.threads) != 1:
            ap.error("--row needs MODEL in {mlp,cnn} and exactly one --threads value")
        t = args.threads[0]
        env = dict(os.environ)
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[k] = str(t)
        if args.openblas_threads:
            env["OPENBLAS_NUM_THREADS"] = str(args.openblas_threads)
        load0 = os.getloadavg()[0]
        cmd = [sys.executable, os.path.abspath(__file__), "--worker-threads", str(t), "--row", args.row[0],
               args.row[1], "--epochs", str(args.epochs), "--samples", str(args.samples)]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        got = [l for l in p.stdout.splitlines() if l.startswith("WORKER_JSON ")]
        if p.returncode != 0 or not got:
            print(json.dumps({"engine": "torch", "error": p.stderr[-800:], "rc": p.returncode}))
            sys.exit(1)
        w = json.loads(got[-1][len("WORKER_JSON "):])
        row = dict(w["rows"][0])
        row.update({"engine": "torch", "torch": w["torch"], "peak_rss_mb": w["peak_rss_mb"],
                    "loadavg_before": load0, "loadavg_after": os.getloadavg()[0],
                    "openblas_threads": int(env["OPENBLAS_NUM_THREADS"])})
        print(json.dumps(row))
        return

    t_all = time.perf_counter()
    load0 = os.getloadavg()
    workers = []
    for t in args.threads:
        env = dict(os.environ)
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[k] = str(t)
        if args.openblas_threads:
            env["OPENBLAS_NUM_THREADS"] = str(args.openblas_threads)
        cmd = [sys.executable, os.path.abspath(__file__), "--worker-threads", str(t), "--mlp-epochs",
               str(args.mlp_epochs), "--cnn-epochs", str(args.cnn_epochs), "--cnn-epoch-samples",
               str(args.cnn_epoch_samples)] + (["--skip-cnn"] if args.skip_cnn else []) \
            + (["--cnn-only"] if args.cnn_only else [])
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        got = [l for l in p.stdout.splitlines() if l.startswith("WORKER_JSON ")]
        if p.returncode != 0 or not got:
            print(f"worker threads={t} failed rc={p.returncode}: {p.stderr[-800:]}")
            workers.append({"threads": t, "error": p.stderr[-800:]})
            continue
        workers.append(json.loads(got[-1][len("WORKER_JSON "):]))
    rows = [r for w in workers for r in w.get("rows", [])]
    print(f"{'model':5s} {'batch':>5s} {'thr':>3s} {'loader':14s} {'samples/s':>10s} {'1st-epoch s/s':>13s}  epoch times (s)")
    for r in rows:
        print(f"{r['model']:5s} {r['batch']:>5d} {r['threads']:>3d} {r['loader']:14s} {r['samples_per_s']:>10.0f} "
              f"{r['first_epoch_samples_per_s']:>13.0f}  {r['epoch_s']} ({r['epoch_samples']} samples/epoch)")
    main_rows = [r for r in rows if r["loader"] == "tensor-slicing" and r["model"] == "mlp" and r["batch"] == 128]
    acc = [r["test_accuracy"] for r in main_rows if "test_accuracy" in r and r["threads"] == 2]
    acc1 = [r["test_accuracy"] for r in main_rows if "test_accuracy" in r and r["threads"] == 1]
    if acc:
        print(f"MLP test accuracy after {args.mlp_epochs} epochs (batch 128, 2 threads): {acc[0]:.4f}"
              + (f"  (1-thread run, same seed: {acc1[0]:.4f})" if acc1 else ""))
    for w in workers:
        if "peak_rss_mb" in w:
            print(f"worker threads={w['threads']}: peak RSS {w['peak_rss_mb']} MB (after import {w['rss_mb_after_import']} MB,"
                  f" after data {w['rss_mb_after_data']} MB); torch threads {w['torch_num_threads']}; pools {w['threadpools']}")
    summary = {
        "bench": "torch_mlp_throughput",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": {"python": platform.python_version(),
                     "torch": next((w["torch"] for w in workers if "torch" in w), None),
                     "numpy": next((w["numpy"] for w in workers if "numpy" in w), None)},
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
        "openblas_threads_override": args.openblas_threads or None, "skip_cnn": args.skip_cnn,
        "rows": rows,
        "mlp_test_accuracy_5ep_b128_t2": acc[0] if acc else None,
        "workers": [{k: v for k, v in w.items() if k != "rows"} for w in workers],
        "peak_rss_mb": max((w.get("peak_rss_mb", 0) for w in workers), default=None),
        "wall_s": round(time.perf_counter() - t_all, 1),
        "loadavg_before": load0[0], "loadavg_after": os.getloadavg()[0],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
