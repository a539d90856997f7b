#!/usr/bin/python3
"""demo_peer: the Optuna + PyTorch peer of `make demo` (hone plan examples/plan_demo.toml).

What a Python user would run for the same job: Optuna TPE + a threshold pruner over an MLP | CNN
space on Fashion-MNIST, trials started only inside a wall-clock budget, the best trial (by
validation accuracy) scored once on the held-out test set. Extends ../shared/peers/optuna_torch_tune.py
(its data loading and study structure) with hone's demo space; run under /usr/bin/python3.

Data: /usr/share/datasets/fashion-mnist (IDX gz), pixels/255; the first --limit images of the 60k
training set (default all), split 90% train / 10% validation by a fixed permutation (seed 0);
the 10k test set is used once, for the best trial's model (its weights are kept in memory: no
retraining).
Space (hone's [model] choice and [train], docs/CONFIG.md "Model shorthands"):
  model        mlp | cnn
  mlp          flatten -> [dense h, relu, dropout p] for h in hidden_layers -> dense 10;
               hidden_layers in {256-128, 512-256}, p in [0.1, 0.3]
  cnn          [conv3x3 pad 1, batchnorm, relu, maxpool 2] per filter count (--cnn-filters) ->
               flatten -> dense 128, batchnorm, relu, dropout p -> dense 10; p in [0.2, 0.4]
  train.lr     log-uniform [1e-3, 3e-3]; Adam, batch 128, --epochs epochs, OneCycleLR(max_lr=lr,
               cycle_momentum=False as hone's) stepped per batch; weights He-uniform, biases 0 (hone's
               init); --flip / --shift N augment the training batches only (torchvision's
               RandomHorizontalFlip / RandomCrop(28, padding=N), written in torch ops by
               bench/augment_fmnist_peer.py).
Study: TPESampler(seed), ThresholdPruner(lower, n_warmup_steps) on the validation accuracy
reported per epoch (step = epoch index from 0, as hone's), n_jobs 1, torch on --threads threads.
Trials start only while the wall time since process start is < --budget; a running one finishes.

--plan FILE reads these settings from a hone plan (epochs, batch size, lr range, filters, dropout
ranges, hidden layer choices, augment, sampler seed, pruner, trials, data limit, threads); flags
given on the command line override it. --hone-sets prints the `hone plan --set` overrides that make
hone match the flags given, one per line, and exits (bench/demo_plan.sh uses it).

Usage: /usr/bin/python3 bench/demo_peer.py [--plan examples/plan_demo.toml] [--budget 600]
         [--epochs 8] [--cnn-filters 32,64] [--flip] [--shift N] [--trials N] [--seed S]
         [--threads 2] [--limit N] [--channels-last]
Prints a line per finished trial, a summary, and one JSON line last; exits 1 when no trial completed
(as `hone plan`), 2 on bad flags or a plan outside this space.
"""
import argparse
import json
import math
import os
import resource
import sys
import time
import tomllib
import warnings

warnings.filterwarnings("ignore")
T_START = time.perf_counter()  # the run's wall time counts from here: imports and data load included

import optuna  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from augment_fmnist_peer import augment  # noqa: E402  (the torch ops of hone's shift/flip)
from peers.torch_time_to_accuracy import load_idx  # noqa: E402  (the peers' IDX reader)

DATA = "/usr/share/datasets/fashion-mnist"
optuna.logging.set_verbosity(optuna.logging.WARNING)

# The demo space without a plan (examples/plan_demo.toml as of this peer).
DEFAULTS = {
    "epochs": 8, "batch_size": 128, "lr": (1e-3, 3e-3), "cnn_filters": [32, 64], "dense_units": [128],
    "cnn_dropout": (0.2, 0.4), "mlp_hidden": [[256, 128], [512, 256]], "mlp_dropout": (0.1, 0.3),
    "flip": False, "shift": 0, "seed": 0, "lower": 0.88, "n_warmup_steps": 2, "trials": None, "limit": None,
    "threads": 2, "validation_fraction": 0.1,
}


def fail(msg):
    print(f"demo_peer.py: {msg}", file=sys.stderr)
    sys.exit(2)


def float_range(spec, where):
    if not (isinstance(spec, dict) and isinstance(spec.get("float"), list) and len(spec["float"]) == 2):
        fail(f"{where}: expected {{ float = [lo, hi] }}, got {spec!r}")
    return tuple(float(v) for v in spec["float"])


def from_plan(path):
    """The settings of DEFAULTS that a hone plan file gives; exits 2 on a plan outside this space."""
    try:
        with open(path, "rb") as f:
            p = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        fail(f"{path}: {e}")
    s = {}
    train, study, model = p.get("train", {}), p.get("study", {}), p.get("model", {})
    for key in ("epochs", "batch_size", "threads"):
        if key in train:
            s[key] = int(train[key])
    if "lr" in train:
        s["lr"] = float_range(train["lr"], f"{path}: train.lr")
        if not train["lr"].get("log"):
            fail(f"{path}: train.lr: this peer samples the rate on a log scale; the plan's is linear")
    if train.get("optimizer", {}).get("type", "adam") != "adam":
        fail(f"{path}: train.optimizer: this peer runs Adam")
    if train.get("scheduler", {}).get("type", "onecycle") != "onecycle":
        fail(f"{path}: train.scheduler: this peer runs OneCycleLR")
    aug = train.get("augment", {})
    if any(isinstance(v, dict) for v in aug.values()) or set(aug) - {"flip", "shift"}:
        fail(f"{path}: train.augment: this peer takes fixed flip and shift only, got {aug!r}")
    s["flip"], s["shift"] = bool(aug.get("flip", False)), int(aug.get("shift", 0))
    for m in model.get("choice", []):
        if m.get("type") == "mlp":
            s["mlp_hidden"] = m["hidden_layers"]["choice"]
            s["mlp_dropout"] = float_range(m["dropout"], f"{path}: the mlp's dropout")
        elif m.get("type") == "cnn":
            s["cnn_filters"] = list(m.get("conv_filters", [32, 64]))
            s["dense_units"] = list(m.get("dense_units", [128]))
            s["cnn_dropout"] = float_range(m["dropout"], f"{path}: the cnn's dropout")
            if m.get("padding", 0) != 1 or not m.get("batchnorm", False) or m.get("kernel_size", 3) != 3:
                fail(f"{path}: the cnn: this peer builds conv3x3 padding 1 with batchnorm")
        else:
            fail(f"{path}: model.choice: this peer knows mlp and cnn, got {m.get('type')!r}")
    sampler, pruner = study.get("sampler", {}), study.get("pruner", {})
    if "seed" in sampler:
        s["seed"] = int(sampler["seed"])
    if pruner:
        if pruner.get("type") != "threshold":
            fail(f"{path}: study.pruner: this peer runs the threshold pruner")
        s["lower"] = float(pruner.get("lower", -math.inf))
        s["n_warmup_steps"] = int(pruner.get("n_warmup_steps", 0))
    trials = p.get("methods", {}).get("search", {}).get("trials")
    if trials is not None:
        s["trials"] = int(trials)
    data = p.get("data", {})
    if "limit" in data:
        s["limit"] = int(data["limit"])
    if "validation_fraction" in data:
        s["validation_fraction"] = float(data["validation_fraction"])
    return s, p


# Flag -> the plan keys it sets on hone's side (threads: the autotune's candidates too, or it picks).
HONE_KEYS = {
    "epochs": ["train.epochs"], "shift": ["train.augment.shift"], "trials": ["methods.search.trials"],
    "seed": ["study.sampler.seed"], "limit": ["data.limit"], "threads": ["train.threads", "methods.hardware.threads"],
}


def hone_sets(plan, a):
    """`hone plan --set` overrides so that the plan matches the flags given on the command line."""
    out = []
    for flag, keys in HONE_KEYS.items():
        v = getattr(a, flag)
        if v is not None:
            out += [f"{k}=[{v}]" if k.startswith("methods.hardware") else f"{k}={v}" for k in keys]
    if a.flip is not None:
        out.append(f"train.augment.flip={'true' if a.flip else 'false'}")
    if a.cnn_filters is not None:
        idx = [i for i, m in enumerate(plan.get("model", {}).get("choice", [])) if m.get("type") == "cnn"]
        if not idx:
            fail("--cnn-filters: the plan has no cnn in model.choice")
        out.append(f"model.choice.{idx[0]}.conv_filters=[{a.cnn_filters}]")
    return out


def he_init(model):
    """hone's defaults: He-uniform weights (bound sqrt(6 / fan_in)), zero biases."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)


def accuracy(model, x, y, chunk=256):
    """Accuracy in eval mode; chunks of 256 rows (1000-image CNN activations are 100 MB each, and
    glibc maps and faults in every allocation that large afresh: 10x slower here)."""
    model.eval()
    with torch.no_grad():
        correct = sum((model(x[i:i + chunk]).argmax(1) == y[i:i + chunk]).sum().item() for i in range(0, len(x), chunk))
    return correct / len(x)


def build_model(params, s):
    """The trial's network; inputs are (N, 1, 28, 28)."""
    if params["model"] == "mlp":
        layers, d = [nn.Flatten()], 784
        for h in [int(u) for u in params["mlp.hidden_layers"].split("-")]:
            layers += [nn.Linear(d, h), nn.ReLU(), nn.Dropout(params["mlp.dropout"])]
            d = h
    else:
        layers, c, side = [], 1, 28
        for f in s["cnn_filters"]:
            layers += [nn.Conv2d(c, f, 3, padding=1), nn.BatchNorm2d(f), nn.ReLU(), nn.MaxPool2d(2)]
            c, side = f, side // 2
        layers.append(nn.Flatten())
        d = c * side * side
        for h in s["dense_units"]:
            layers += [nn.Linear(d, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(params["cnn.dropout"])]
            d = h
    model = nn.Sequential(*layers, nn.Linear(d, 10))
    he_init(model)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plan", help="hone plan file to read the settings from (flags override it)")
    ap.add_argument("--budget", type=float, default=600, help="seconds from start in which trials may start")
    ap.add_argument("--wall-limit", type=float, default=0,
                    help="> 0: a hard cap on the whole run in seconds (the 10-minute demo budget): a trial still "
                         "training then stops after its current batch and is scored as it stands (hone's "
                         "train.time_limit)")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--cnn-filters", help="e.g. 32,64")
    ap.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--shift", type=int)
    ap.add_argument("--trials", type=int, help="at most this many trials")
    ap.add_argument("--seed", type=int, help="TPESampler seed")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--limit", type=int, help="use only the first N training images")
    ap.add_argument("--channels-last", action="store_true",
                    help="CNN weights and activations in NHWC (mkldnn's faster convolutions; not the default "
                         "a user writes)")
    ap.add_argument("--hone-sets", action="store_true", help="print hone's --set overrides for these flags; exit")
    a = ap.parse_args()
    if a.cnn_filters is not None:
        try:
            filters = [int(v) for v in a.cnn_filters.split(",")]
        except ValueError:
            filters = []
        if not filters or min(filters) <= 0:
            fail(f"--cnn-filters: expected positive integers separated by commas, got {a.cnn_filters!r}")
    for name in ("epochs", "trials", "threads", "limit"):
        if getattr(a, name) is not None and getattr(a, name) <= 0:
            fail(f"--{name}: expected a positive integer, got {getattr(a, name)}")
    if a.shift is not None and not 0 <= a.shift <= 27:
        fail(f"--shift: expected 0..27 pixels, got {a.shift}")
    s, plan = dict(DEFAULTS), {}
    if a.plan:
        ps, plan = from_plan(a.plan)
        s.update(ps)
    if a.hone_sets:
        print("\n".join(hone_sets(plan, a)))
        return
    for key in ("epochs", "flip", "shift", "trials", "seed", "threads", "limit"):
        if getattr(a, key) is not None:
            s[key] = getattr(a, key)
    if a.cnn_filters is not None:
        s["cnn_filters"] = filters

    torch.set_num_threads(s["threads"])
    X = torch.from_numpy(load_idx(f"{DATA}/train-images-idx3-ubyte.gz").copy()).float().div_(255.0)[:, None]
    y = torch.from_numpy(load_idx(f"{DATA}/train-labels-idx1-ubyte.gz").astype("int64"))
    Xte = torch.from_numpy(load_idx(f"{DATA}/t10k-images-idx3-ubyte.gz").copy()).float().div_(255.0)[:, None]
    yte = torch.from_numpy(load_idx(f"{DATA}/t10k-labels-idx1-ubyte.gz").astype("int64"))
    if s["limit"]:
        X, y = X[:s["limit"]], y[:s["limit"]]
    n = len(X)
    n_train = int(round(n * (1 - s["validation_fraction"])))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    Xtr, ytr, Xva, yva = X[perm[:n_train]], y[perm[:n_train]], X[perm[n_train:]], y[perm[n_train:]]
    del X, y
    aug = {"flip": s["flip"], "shift": s["shift"]}
    bs, epochs = s["batch_size"], s["epochs"]
    steps = epochs * math.ceil(n_train / bs)
    deadline = T_START + a.budget
    best = {"val": -1.0, "number": None, "state": None, "train_s": None}
    first_093 = [None]

    def objective(trial):
        kind = trial.suggest_categorical("model", ["mlp", "cnn"])
        if kind == "mlp":
            trial.suggest_categorical("mlp.hidden_layers", ["-".join(map(str, h)) for h in s["mlp_hidden"]])
            trial.suggest_float("mlp.dropout", *s["mlp_dropout"])
        else:
            trial.suggest_float("cnn.dropout", *s["cnn_dropout"])
        lr = trial.suggest_float("train.lr", *s["lr"], log=True)
        t0 = time.perf_counter()
        torch.manual_seed(trial.number)
        model = build_model(trial.params, s)
        if a.channels_last:
            model = model.to(memory_format=torch.channels_last)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        sch = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, cycle_momentum=False)
        g = torch.Generator().manual_seed(trial.number)
        val = 0.0
        hard = T_START + a.wall_limit if a.wall_limit > 0 else math.inf
        for ep in range(epochs):
            if time.perf_counter() > hard:
                break
            model.train()
            p = torch.randperm(n_train, generator=g)
            for i in range(0, n_train, bs):
                idx = p[i:i + bs]
                xb = augment(Xtr[idx], aug, g) if (aug["flip"] or aug["shift"]) else Xtr[idx]
                loss = F.cross_entropy(model(xb), ytr[idx])
                if not torch.isfinite(loss):
                    raise optuna.TrialPruned()
                opt.zero_grad()
                loss.backward()
                opt.step()
                sch.step()
                if time.perf_counter() > hard:
                    trial.set_user_attr("stopped_by_wall_limit_in_epoch", ep + 1)
                    break
            val = accuracy(model, Xva, yva)
            trial.report(val, ep)
            if trial.should_prune():
                raise optuna.TrialPruned()
        train_s = time.perf_counter() - t0
        trial.set_user_attr("train_seconds", train_s)
        if val > best["val"]:  # the study's best so far (ties: the earlier trial, as study.best_trial)
            best.update(val=val, number=trial.number, train_s=train_s,
                        state={k: v.detach().clone() for k, v in model.state_dict().items()})
        return val

    def log_trial(study, t):
        v = f"{t.value:.4f}" if t.value is not None else "-"
        last = max(t.intermediate_values) + 1 if t.intermediate_values else 0
        print(f"trial {t.number} {t.state.name} val {v} after {last} epoch(s) at {time.perf_counter() - T_START:.0f} s;"
              f" {t.params}", flush=True)
        if t.state == optuna.trial.TrialState.COMPLETE and t.value >= 0.93 and first_093[0] is None:
            first_093[0] = time.perf_counter() - T_START

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=s["seed"]),
                                pruner=optuna.pruners.ThresholdPruner(lower=s["lower"],
                                                                      n_warmup_steps=s["n_warmup_steps"]))
    # Optuna checks the timeout before each trial starts, never during one: the budget is the window
    # in which trials start, counted from process start.
    study.optimize(objective, n_trials=s["trials"], timeout=max(1e-3, deadline - time.perf_counter()),
                   n_jobs=1, callbacks=[log_trial], catch=(Exception,))
    states = [t.state.name for t in study.trials]
    test_acc = None
    if best["number"] is not None:
        params = study.trials[best["number"]].params
        model = build_model(params, s)
        if a.channels_last:
            model = model.to(memory_format=torch.channels_last)
        model.load_state_dict(best["state"])
        test_acc = accuracy(model, Xte, yte)
    wall = time.perf_counter() - T_START
    bp = study.trials[best["number"]].params if best["number"] is not None else None
    res = {
        "bench": "demo_peer", "budget_s": a.budget, "epochs": epochs, "cnn_filters": s["cnn_filters"],
        "flip": s["flip"], "shift": s["shift"], "threads": s["threads"], "channels_last": a.channels_last, "n_train": n_train, "n_val": n - n_train,
        "best_trial": best["number"],
        "best_val_accuracy": round(best["val"], 4) if bp else None,
        "best_test_accuracy": round(test_acc, 4) if bp else None,
        "best_params": bp,
        "best_parameters": sum(p.numel() for p in build_model(bp, s).parameters()) if bp else None,
        "best_train_seconds": round(best["train_s"], 1) if bp else None,
        "n_trials": len(states), "n_complete": states.count("COMPLETE"), "n_pruned": states.count("PRUNED"),
        "n_failed": states.count("FAIL"),
        "wall_seconds": round(wall, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "seconds_to_093_val": round(first_093[0], 1) if first_093[0] is not None else None,
        "versions": {"optuna": optuna.__version__, "torch": torch.__version__},
    }
    print(f"trials {res['n_trials']} (complete {res['n_complete']}, pruned {res['n_pruned']}, failed "
          f"{res['n_failed']}) in {wall:.0f} s wall, peak RSS {res['peak_rss_mb']} MiB")
    print(f"best: trial {res['best_trial']}, val accuracy {res['best_val_accuracy']}, test accuracy "
          f"{res['best_test_accuracy']}, trained in {res['best_train_seconds']} s, {res['best_parameters']} "
          f"parameters; {bp}")
    print(json.dumps(res))
    if bp is None:
        print("demo_peer.py: no trial completed (all pruned or failed, or the budget ended first)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
