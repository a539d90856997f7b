#!/usr/bin/env python3
"""LR finder rules side by side: hone's half-drop rule (src/hw/lr_find.cc) against Lightning's
steepest-gradient rule, reimplemented here (Lightning is not in Debian): Lightning's
`_LRFinder.suggestion` takes the smoothed loss (bias-corrected EMA, beta 0.98), drops the first 10
and the last point, and returns the rate at the most negative numpy.gradient.

  /usr/bin/python3 bench/lr_find_peer.py                  # synthetic curves, 100 noise seeds per shape
  /usr/bin/python3 bench/lr_find_peer.py --torch 20       # + 20 real PyTorch sweeps (FMNIST MLP)
  /usr/bin/python3 bench/lr_find_peer.py --hone build/release/hone --hone-seeds 20   # + 20 `hone lr-find` runs

Hit: the suggestion lies within half a decade of the noise-free valley. Synthetic curves: the
valley of the noise-free curve. Real curves: the rule applied to the mean of all seeds' raw
curves (the mini-batch noise averaged out) stands in for the noise-free curve.
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

import numpy as np


def ema(v, beta, forward=True):
    out = np.zeros(len(v))
    avg, corr = 0.0, 1.0
    for i in (range(len(v)) if forward else range(len(v) - 1, -1, -1)):
        avg = beta * avg + (1 - beta) * v[i]
        corr *= beta
        out[i] = avg / (1 - corr)
    return out


def truncate(lrs, losses, beta=0.98, factor=4.0):
    """The stop rule both finders share: NaN, or the smoothed loss above factor x its best."""
    sm, best = [], np.inf
    avg, corr = 0.0, 1.0
    for i, l in enumerate(losses):
        if not np.isfinite(l):
            break
        avg = beta * avg + (1 - beta) * l
        corr *= beta
        sm.append(avg / (1 - corr))
        if i < max(3, len(losses) // 10):  # warm-up: the first tenth neither stops nor sets the best
            continue
        best = min(best, sm[-1])
        if sm[-1] > factor * best:
            break
    n = len(sm)
    return np.asarray(lrs[:n]), np.asarray(losses[:n]), np.asarray(sm)


def lightning(lrs, losses):
    lrs, _, sm = truncate(lrs, losses)
    seg = sm[10:-1]
    return lrs[10 + int(np.argmin(np.gradient(seg)))]


def half_drop(lrs, losses, steps=100):
    lrs, raw, _ = truncate(lrs, losses)
    n = len(raw)
    start = np.median(raw[: max(3, n // 10)])
    tau = max(2.0, steps / 20.0)
    b = tau / (tau + 1)
    c = ema(ema(np.minimum(raw, start), b), b, False)
    m = int(np.argmin(c))
    level = 0.5 * (start + c[m])
    j = m
    while j > 0 and c[j - 1] < level:
        j -= 1
    if j == 0:
        return lrs[0]
    t = np.clip((c[j - 1] - level) / (c[j - 1] - c[j]), 0, 1) if c[j - 1] > c[j] else 0.0
    return float(np.exp((1 - t) * np.log(lrs[j - 1]) + t * np.log(lrs[j])))


def sweep(steps=100, lo=1e-7, hi=10.0):
    return lo * (hi / lo) ** (np.arange(steps) / (steps - 1))


def synthetic():
    lrs = sweep()
    print("synthetic curves (plateau, sigmoid descent, blow-up), 100 noise seeds each")
    print("hits: within half a decade of the noise-free valley; lightning/own: of Lightning's own answer on the")
    print("noise-free curve (its noise robustness alone, whatever it aims at)")
    print(f"{'centre':>7} {'width':>6} {'noise':>6} {'half-drop':>10} {'lightning':>10} {'light/own':>10}")
    for c, w, gap in [(-4, .3, 2.5), (-3, .5, 2.5), (-2, .3, 2.0), (-2.5, .4, 3.0)]:
        x = np.log10(lrs)
        clean = 2.3 - 2.0 / (1 + np.exp(-(x - c) / w)) + 0.05 * np.exp((x - c - gap) / 0.25)
        ref = half_drop(lrs, clean)
        ref_l = lightning(lrs, clean)
        for rel in (0.05, 0.15, 0.30):
            ours = light = own = 0
            for seed in range(1, 101):
                rng = np.random.default_rng(seed)
                noisy = np.maximum(1e-3, clean * (1 + rel * rng.standard_normal(len(lrs))))
                ours += abs(np.log10(half_drop(lrs, noisy) / ref)) <= 0.5
                sl = lightning(lrs, noisy)
                light += abs(np.log10(sl / ref)) <= 0.5
                own += abs(np.log10(sl / ref_l)) <= 0.5
            print(f"{c:>7} {w:>6} {rel:>6.2f} {ours:>9d}% {light:>9d}% {own:>9d}%")


def report_real(name, lrs, curves):
    mean = np.mean(np.asarray(curves), axis=0)
    ref = half_drop(lrs, mean)
    ours = [half_drop(lrs, c) for c in curves]
    light = [lightning(lrs, c) for c in curves]
    ref_l = lightning(lrs, mean)
    hit = lambda s, r: sum(abs(np.log10(v / r)) <= 0.5 for v in s)
    print(f"{name}: {len(curves)} seeds, reference (rule on the mean curve) half-drop {ref:.3g}, lightning {ref_l:.3g}")
    print(f"  within half a decade of the reference: half-drop {hit(ours, ref)}/{len(curves)} (spread "
          f"{np.log10(max(ours) / min(ours)):.2f} decades); lightning {hit(light, ref)}/{len(curves)}, of its own "
          f"reference {hit(light, ref_l)}/{len(curves)} (spread {np.log10(max(light) / min(light)):.2f} decades)")


def torch_curves(seeds, limit=10000):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
    from torch_time_to_accuracy import load_idx as idx  # the peers' IDX reader

    base = "/usr/share/datasets/fashion-mnist"
    x = torch.tensor(idx(f"{base}/train-images-idx3-ubyte.gz")[:limit], dtype=torch.float32).reshape(limit, -1) / 255
    y = torch.tensor(idx(f"{base}/train-labels-idx1-ubyte.gz")[:limit], dtype=torch.long)
    torch.set_num_threads(1)
    lrs = sweep()
    curves = []
    for s in range(seeds):
        torch.manual_seed(s)
        m = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        opt = torch.optim.SGD(m.parameters(), lr=1.0)
        order = torch.randperm(limit)
        losses = []
        for i, lr in enumerate(lrs):
            b = order[(i * 64) % limit:(i * 64) % limit + 64]
            loss = F.cross_entropy(m(x[b]), y[b])
            losses.append(loss.item())
            for g in opt.param_groups:
                g["lr"] = lr
            opt.zero_grad()
            loss.backward()
            opt.step()
        curves.append(losses)  # the full sweep: the rules apply the stop rule themselves
    return lrs, curves


def hone_curves(binary, seeds, limit=10000):
    curves = []
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "m.toml")
        with open(cfg, "w") as f:
            f.write(f'[data]\nsource = "fashion-mnist"\nlimit = {limit}\nvalidation_fraction = 0.1\n'
                    '[model]\ntype = "mlp"\nhidden_layers = [128]\n'
                    '[train]\nbatch_size = 64\noptimizer = "sgd"\nlr = 0.1\nthreads = 1\n')
        lrs = None
        for s in range(seeds):
            subprocess.run([binary, "lr-find", cfg, "--set", f"seed={s}", "--out", tmp], check=True,
                           stdout=subprocess.DEVNULL)
            with open(os.path.join(tmp, "lr_find.csv")) as f:
                rows = list(csv.DictReader(f))
            l = [float(r["loss"]) for r in rows]
            full = sweep()
            curves.append(l + [np.nan] * (len(full) - len(l)))
            lrs = full
    # Curves stop at different steps: average where every seed has a value, then let the stop
    # rule of each rule handle the rest (NaN ends a sweep).
    return lrs, curves


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torch", type=int, default=0, help="real PyTorch sweeps (seeds)")
    ap.add_argument("--hone", default="", help="the hone binary, for real `hone lr-find` sweeps")
    ap.add_argument("--hone-seeds", type=int, default=20)
    args = ap.parse_args()
    synthetic()
    if args.torch:
        lrs, c = torch_curves(args.torch)
        report_real("PyTorch MLP, FMNIST 10k, batch 64, SGD", lrs, c)
    if args.hone:
        lrs, c = hone_curves(args.hone, args.hone_seeds)
        n = min(int(np.sum(np.isfinite(cc))) for cc in c)
        report_real("hone lr-find MLP, FMNIST 10k, batch 64, SGD", lrs[:n], [cc[:n] for cc in c])


if __name__ == "__main__":
    main()
