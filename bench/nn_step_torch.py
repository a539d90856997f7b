#!/usr/bin/python3
"""Peer of bench/nn_step_bench.cc: forward + cross-entropy + backward of the same MLP and CNN in
PyTorch (no optimizer step), reported as samples/s of thread CPU time and of wall time.
Usage: /usr/bin/python3 bench/nn_step_torch.py [threads]"""
import sys
import time

import torch
import torch.nn as nn

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(threads)

mlp = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
cnn = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                    nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
loss_fn = nn.CrossEntropyLoss()

for name, model, shape in (("mlp", mlp, (784,)), ("cnn", cnn, (1, 28, 28))):
    for n in (32, 128):
        x = torch.rand((n,) + shape)
        t = torch.arange(n) % 10
        def step():
            model.zero_grad(set_to_none=True)
            loss_fn(model(x), t).backward()
        for _ in range(5):
            step()
        budget = 1.0
        it, c0, w0 = 0, time.thread_time() if threads == 1 else time.process_time(), time.perf_counter()
        while time.perf_counter() - w0 < budget:
            step()
            it += 1
        cpu = (time.thread_time() if threads == 1 else time.process_time()) - c0
        wall = time.perf_counter() - w0
        print(f"torch {name} batch {n:4d} threads {threads}: {cpu / it * 1e3:8.3f} ms cpu/step "
              f"{n * it / cpu:10.0f} samples/s(cpu) {n * it / wall:10.0f} samples/s(wall)")
