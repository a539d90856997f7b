#!/usr/bin/python3
"""A PyTorch MLP on a Fashion-MNIST subset, tuned by hone as an external command.

    /usr/bin/python3 fmnist_torch.py --lr 0.01 --hidden 128 --epochs 5   # by hand
    hone tune examples/external/torch_study.toml                          # tuned

Reports validation accuracy after each epoch (so ASHA can stop bad trials) and the final one.
"""
import argparse, gzip, os, sys, time

import numpy as np
import torch
from torch import nn

from hone_report import report, result

p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=1e-2)
p.add_argument("--hidden", type=int, default=128)
p.add_argument("--dropout", type=float, default=0.0)
p.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
p.add_argument("--batch-size", type=int, default=64)
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--train-size", type=int, default=6000)
p.add_argument("--val-size", type=int, default=2000)
p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
a = p.parse_args()
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
torch.manual_seed(int(os.environ.get("HONE_TRIAL_NUMBER", "0")))

def idx(name, offset):
    with gzip.open(os.path.join(a.data, name)) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)

x = torch.tensor(idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)[: a.train_size + a.val_size], dtype=torch.float32) / 255
y = torch.tensor(idx("train-labels-idx1-ubyte.gz", 8)[: a.train_size + a.val_size].astype(np.int64))
xt, yt, xv, yv = x[: a.train_size], y[: a.train_size], x[a.train_size :], y[a.train_size :]

model = nn.Sequential(nn.Linear(784, a.hidden), nn.ReLU(), nn.Dropout(a.dropout), nn.Linear(a.hidden, 10))
opt = (torch.optim.Adam(model.parameters(), lr=a.lr) if a.optimizer == "adam"
       else torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9))
loss_fn = nn.CrossEntropyLoss()
t0 = time.time()
for epoch in range(a.epochs):
    model.train()
    perm = torch.randperm(len(xt))
    for i in range(0, len(xt), a.batch_size):
        b = perm[i : i + a.batch_size]
        opt.zero_grad()
        loss = loss_fn(model(xt[b]), yt[b])
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(xv).argmax(1) == yv).float().mean().item()
    print(f"epoch {epoch + 1}/{a.epochs} loss {loss.item():.4f} val_accuracy {acc:.4f} ({time.time() - t0:.1f}s)")
    if not np.isfinite(loss.item()):
        sys.exit("diverged: loss is not finite")
    report(epoch, acc)
result(acc)
