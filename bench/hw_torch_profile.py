#!/usr/bin/python3
"""The PyTorch side of docs/BENCHMARKS.md "Hardware: profile, estimate, autotune": the same MLP
(784-256-128-10, Adam, random Fashion-MNIST-shaped data) profiled with torch.profiler
(schedule wait/warmup/active = 1/1/3, Chrome trace exported) and a thread x batch sweep.
Prints: step time without and with the profiler (overhead), trace bytes per profiled step, and
the best samples/s of the sweep.
    /usr/bin/python3 bench/hw_torch_profile.py [rounds]
"""
import os, statistics, sys, tempfile, time

import torch
import torch.nn as nn

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
cores = len(os.sched_getaffinity(0))

def make(batch):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(20000, 784)
    y = torch.randint(0, 10, (20000,))
    loss_fn = nn.CrossEntropyLoss()
    state = {"i": 0}
    def step():
        i = state["i"]
        if i + batch > 20000:
            i = 0
        xb, yb = x[i:i + batch], y[i:i + batch]
        state["i"] = i + batch
        opt.zero_grad(set_to_none=True)
        loss_fn(model(xb), yb).backward()
        opt.step()
    return step

def per_step(step, n):
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t0) / n

torch.set_num_threads(1)
step = make(128)
for _ in range(5):
    step()
bare, prof, sizes = [], [], []
for r in range(rounds):
    bare.append(per_step(step, 40))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "trace.json")
        sched = torch.profiler.schedule(wait=1, warmup=1, active=3, repeat=1)
        times = []
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], schedule=sched,
                                    record_shapes=True, profile_memory=True, with_stack=False,
                                    on_trace_ready=lambda p: p.export_chrome_trace(path)) as p:
            for i in range(5):
                t0 = time.perf_counter()
                step()
                p.step()
                times.append(time.perf_counter() - t0)
        prof.append(statistics.mean(times[2:4]))  # active steps before the last (whose p.step() exports)
        sizes.append(os.path.getsize(path) / 3)
b, pr = statistics.median(bare), statistics.median(prof)
print(f"torch MLP batch 128, 1 thread: {b * 1e3:.4f} ms/step; with torch.profiler (record_shapes, profile_memory) "
      f"{pr * 1e3:.4f} ms/step, overhead {100 * (pr / b - 1):+.1f}%; Chrome trace {statistics.median(sizes) / 1024:.1f} "
      f"KiB per profiled step")

best = (0, None)
for t in range(1, cores + 1):
    torch.set_num_threads(t)
    for batch in (16, 32, 64, 128, 256, 512, 1024):
        step = make(batch)
        for _ in range(2):
            step()
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < 0.3:
            step()
            n += 1
        sps = n * batch / (time.perf_counter() - t0)
        print(f"  torch threads {t} batch {batch:4d}: {sps:9.0f} samples/s")
        if sps > best[0]:
            best = (sps, (t, batch))
print(f"torch thread x batch sweep best: {best[0]:.0f} samples/s at threads {best[1][0]} x batch {best[1][1]}")
