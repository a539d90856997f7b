#!/usr/bin/env python3
"""PyTorch peer of bench/augment_fmnist.sh: the same CNN, data, epochs and augmentations.

torchvision is not installed on this machine (Debian's python3-torch ships without it), so the
transforms are written here in torch tensor ops, following torchvision's definitions:
RandomCrop(28, padding=shift) (zero pad, random crop = a random shift), RandomHorizontalFlip(0.5),
RandomRotation(rotate) (bilinear via affine_grid/grid_sample, zero fill), and cutout (RandomErasing
with a fixed square, value 0); mixup as in Zhang et al. (one lambda per batch, a permutation).
Prints the test accuracy. Run under /usr/bin/python3.
"""
import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
from torch_time_to_accuracy import load_idx as idx  # noqa: E402  (the peers' IDX reader)

DIR = "/usr/share/datasets/fashion-mnist"
VARIANTS = {
    "none": {},
    "shift_flip": {"shift": 2, "flip": True},
    "shift_flip_rot_cutout": {"shift": 2, "flip": True, "rotate": 10.0, "cutout": 8},
    "mixup": {"mixup": 0.2},
}


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
        theta = torch.stack([torch.stack([c, -s, torch.zeros(n)], 1), torch.stack([s, c, torch.zeros(n)], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if a.get("cutout"):
        k = a["cutout"]
        x = x.clone()
        cy = torch.randint(0, h, (n,), generator=g)
        cx = torch.randint(0, w, (n,), generator=g)
        for i in range(n):
            y0, x0 = max(0, int(cy[i]) - k // 2), max(0, int(cx[i]) - k // 2)
            x[i, :, y0:int(cy[i]) - k // 2 + k, x0:int(cx[i]) - k // 2 + k] = 0
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="none", choices=sorted(VARIANTS))
    ap.add_argument("--limit", type=int, default=6000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed + 1)
    xs = torch.tensor(idx(f"{DIR}/train-images-idx3-ubyte.gz")[: args.limit], dtype=torch.float32)[:, None] / 255
    ys = torch.tensor(idx(f"{DIR}/train-labels-idx1-ubyte.gz")[: args.limit], dtype=torch.long)
    keep = torch.randperm(len(xs), generator=g)[: int(len(xs) * 0.9)]  # the 10% validation hold-out
    xs, ys = xs[keep], ys[keep]
    xt = torch.tensor(idx(f"{DIR}/t10k-images-idx3-ubyte.gz"), dtype=torch.float32)[:, None] / 255
    yt = torch.tensor(idx(f"{DIR}/t10k-labels-idx1-ubyte.gz"), dtype=torch.long)
    model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 5 * 5, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    a = VARIANTS[args.variant]
    for _ in range(args.epochs):
        model.train()
        order = torch.randperm(len(xs), generator=g)
        for b in range(0, len(xs), 64):
            i = order[b:b + 64]
            x, y = augment(xs[i], a, g), ys[i]
            if a.get("mixup"):
                lam = float(np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=g))).beta(a["mixup"], a["mixup"]))
                p = torch.randperm(len(x), generator=g)
                x = lam * x + (1 - lam) * x[p]
                out = model(x)
                loss = lam * F.cross_entropy(out, y) + (1 - lam) * F.cross_entropy(out, y[p])
            else:
                loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = sum((model(xt[b:b + 1000]).argmax(1) == yt[b:b + 1000]).sum().item() for b in range(0, len(xt), 1000))
    print(f"{acc / len(xt):.4f}")


if __name__ == "__main__":
    main()
