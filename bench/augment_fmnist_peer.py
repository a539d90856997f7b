#!/usr/bin/env python3
"""PyTorch peer of bench/augment_fmnist.sh: the same CNN, data, epochs and augmentations.

torchvision is not installed on this machine (Debian's python3-torch 1.13 ships without it, and
there is no python3-torchvision: `/usr/bin/python3 -c "import torchvision"` fails), so the
transforms are written here in torch tensor ops, following torchvision's definitions:
  shift s   = RandomCrop(28, padding=s)        zero pad by s, crop 28x28 at a uniform offset in
                                               [0, 2s] per axis = a shift by [-s, s] px, zero fill
  flip      = RandomHorizontalFlip(p=0.5)
  rotate r  = RandomRotation(r)                uniform angle in [-r, r] deg about the centre,
                                               bilinear, zero fill (affine_grid/grid_sample)
  cutout k  = one k x k zeroed square at a uniform centre, clipped at the border (DeVries &
              Taylor 2017; torchvision's RandomErasing has no fixed-size mode)
  mixup a   = one lambda ~ Beta(a, a) per batch, rows mixed with a permutation (Zhang et al.)
Applied to each training batch in that order (torchvision would apply them per sample in a
Compose; the distribution is the same). Prints one JSON line: the test accuracy and loss after the
last epoch, the final training accuracy (on augmented batches), and the per-epoch validation loss.
Run under /usr/bin/python3.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
from torch_time_to_accuracy import load_idx as idx  # noqa: E402  (the peers' IDX reader)

DIR = "/usr/share/datasets/fashion-mnist"


def augment(x, a, g):
    n, _, h, w = x.shape
    if a.get("flip"):
        m = torch.rand(n, generator=g) < 0.5
        x = torch.where(m[:, None, None, None], x.flip(3), x)
    if a.get("shift"):
        s = a["shift"]
        p = F.pad(x, (s, s, s, s))
        dx = torch.randint(0, 2 * s + 1, (n,), generator=g)
        dy = torch.randint(0, 2 * s + 1, (n,), generator=g)
        x = torch.stack([p[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    if a.get("rotate"):
        ang = (torch.rand(n, generator=g) * 2 - 1) * a["rotate"] * math.pi / 180
        c, s = torch.cos(ang), torch.sin(ang)
        z = torch.zeros(n)
        theta = torch.stack([torch.stack([c, -s, z], 1), torch.stack([s, c, z], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if a.get("cutout"):
        k = a["cutout"]
        x = x.clone()
        cy = torch.randint(0, h, (n,), generator=g)
        cx = torch.randint(0, w, (n,), generator=g)
        for i in range(n):
            y0, x0 = int(cy[i]) - k // 2, int(cx[i]) - k // 2
            x[i, :, max(0, y0):max(0, y0 + k), max(0, x0):max(0, x0 + k)] = 0
    return x


def evaluate(model, x, y):
    model.eval()
    with torch.no_grad():
        correct, loss = 0, 0.0
        for b in range(0, len(x), 1000):
            out = model(x[b:b + 1000])
            correct += (out.argmax(1) == y[b:b + 1000]).sum().item()
            loss += F.cross_entropy(out, y[b:b + 1000], reduction="sum").item()
    model.train()
    return correct / len(x), loss / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--augment", default="{}", help='JSON, e.g. {"shift": 2, "flip": true}')
    ap.add_argument("--limit", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--conv", type=int, nargs="+", default=[16, 32])
    ap.add_argument("--dense", type=int, nargs="+", default=[128])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    a = json.loads(args.augment)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed + 1)
    xs = torch.tensor(idx(f"{DIR}/train-images-idx3-ubyte.gz")[: args.limit], dtype=torch.float32)[:, None] / 255
    ys = torch.tensor(idx(f"{DIR}/train-labels-idx1-ubyte.gz")[: args.limit], dtype=torch.long)
    order = torch.randperm(len(xs), generator=g)
    n_val = len(xs) - int(len(xs) * 0.9)  # the 10% validation hold-out, as hone's
    xv, yv = xs[order[:n_val]], ys[order[:n_val]]
    xs, ys = xs[order[n_val:]], ys[order[n_val:]]
    xt = torch.tensor(idx(f"{DIR}/t10k-images-idx3-ubyte.gz"), dtype=torch.float32)[:, None] / 255
    yt = torch.tensor(idx(f"{DIR}/t10k-labels-idx1-ubyte.gz"), dtype=torch.long)
    layers, c, side = [], 1, 28
    for f in args.conv:  # hone's type = "cnn": [conv 3x3 valid, relu, maxpool 2] x N -> MLP head
        layers += [nn.Conv2d(c, f, 3), nn.ReLU(), nn.MaxPool2d(2)]
        c, side = f, (side - 2) // 2
    layers.append(nn.Flatten())
    width = c * side * side
    for u in args.dense:
        layers += [nn.Linear(width, u), nn.ReLU()]
        width = u
    layers.append(nn.Linear(width, 10))
    model = nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    val_loss, t0 = [], time.time()
    for _ in range(args.epochs):
        perm = torch.randperm(len(xs), generator=g)
        correct = 0
        for b in range(0, len(xs), args.batch):
            i = perm[b:b + args.batch]
            x, y = augment(xs[i], a, g), ys[i]
            out_y = y
            if a.get("mixup"):
                lam = float(np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=g))).beta(a["mixup"], a["mixup"]))
                p = torch.randperm(len(x), generator=g)
                x = lam * x + (1 - lam) * x[p]
                out = model(x)
                loss = lam * F.cross_entropy(out, y) + (1 - lam) * F.cross_entropy(out, y[p])
                out_y = y if lam >= 0.5 else y[p]
            else:
                out = model(x)
                loss = F.cross_entropy(out, y)
            correct += (out.argmax(1) == out_y).sum().item()
            opt.zero_grad()
            loss.backward()
            opt.step()
        val_loss.append(round(evaluate(model, xv, yv)[1], 5))
    seconds = time.time() - t0
    acc, loss = evaluate(model, xt, yt)
    print(json.dumps({"test_accuracy": acc, "test_loss": round(loss, 5), "train_accuracy": correct / len(xs),
                      "val_loss": val_loss, "seconds": round(seconds, 1)}))


if __name__ == "__main__":
    main()
