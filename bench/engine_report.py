#!/usr/bin/python3
"""engine_report: turns the raw JSON lines of bench/run_engine.sh into a table and one results file.

Usage: /usr/bin/python3 bench/engine_report.py RAW.jsonl --out bench/results/engine-DATE.json [--quick 0|1]
Ratios are hone's best thread setting over torch's best thread setting (threads 1 or 2 each), per row.
Targets (the engine issue): MLP b128 >= 1.5x, MLP b32 >= 2x, CNN b128 >= 2x torch; Dense fwd+bwd at
batch >= 256 >= 60% of the Eigen SGEMM peak measured in the same run at the same thread count; no heap
allocation in a train step after the first.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

TARGETS = {("mlp", 32): 2.0, ("mlp", 128): 1.5, ("cnn", 128): 2.0}
# PyTorch's best thread setting as measured by the peer on this machine type with OpenBLAS 0.3.21
# installed (../shared/peers/RESULTS.md section 5, the higher of its two runs): MLP at 1 thread,
# CNN at 2 threads (median of five runs 1,290; range 1,026-1,990; 1 thread: 827).
PEER_BEST = {("mlp", 32): 30267.0, ("mlp", 128): 56015.0, ("mlp", 512): 68898.0, ("cnn", 128): 1290.0}
DENSE_TARGET = 0.60


def fmt(x, nd=0):
    return "-" if x is None else f"{x:,.{nd}f}"


def git_rev(root):
    try:
        rev = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "src", "include"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("+dirty(src/include)" if dirty else "")
    except OSError:
        return None


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", type=int, default=0)
    ap.add_argument("--wall", type=float, default=None)
    ap.add_argument("--binary", default=None)
    args = ap.parse_args()
    recs = [json.loads(l) for l in open(args.raw) if l.strip()]
    rows_all = [r for r in recs if r.get("engine") in ("hone", "torch") and r.get("mode", "train") == "train"
                and "model" in r]
    # hone rows at the peer's epoch sizes (run_engine.sh's last block) are reported on their own.
    peer_size = [r for r in rows_all if r["engine"] == "hone" and r.get("epoch_samples") in (60000, 10000)]
    train = [r for r in rows_all if r not in peer_size]
    metas = [r for r in recs if r.get("kind") == "meta"]
    gemm = {r["threads"]: r for r in recs if r.get("mode") == "gemm" and "rows" in r}
    dense = {r["threads"]: r for r in recs if r.get("mode") == "dense" and "rows" in r}

    def sps(engine, model, batch, threads, key="samples_per_s"):
        for r in train:
            if (r["engine"], r["model"], r["batch"], r["threads"]) == (engine, model, batch, threads):
                return r.get(key)
        return None

    configs = sorted({(r["model"], r["batch"]) for r in train}, key=lambda k: (k[0] != "mlp", k[1]))
    print()
    print("Training throughput, samples/s (steady state: median epoch after the first; forward+backward+Adam step)")
    hdr = f"{'model':5s} {'batch':>5s} | {'hone t1':>9s} {'hone t2':>9s} | {'torch t1':>9s} {'torch t2':>9s} | " \
          f"{'hone/torch (best/best)':>22s} {'target':>7s}  verdict"
    print(hdr)
    print("-" * len(hdr))
    summary = []
    for model, batch in configs:
        h1, h2 = sps("hone", model, batch, 1), sps("hone", model, batch, 2)
        t1, t2 = sps("torch", model, batch, 1), sps("torch", model, batch, 2)
        hb = max([v for v in (h1, h2) if v] or [None], key=lambda v: v or 0)
        tb = max([v for v in (t1, t2) if v] or [None], key=lambda v: v or 0)
        ratio = hb / tb if hb and tb else None
        target = TARGETS.get((model, batch))
        verdict = "-" if target is None or ratio is None else ("met" if ratio >= target else "MISSED")
        print(f"{model:5s} {batch:>5d} | {fmt(h1):>9s} {fmt(h2):>9s} | {fmt(t1):>9s} {fmt(t2):>9s} | "
              f"{(fmt(ratio, 2) + 'x'):>22s} {(fmt(target, 1) + 'x') if target else '-':>7s}  {verdict}")
        hc, tc = sps("hone", model, batch, 1, "samples_per_cpu_s"), sps("torch", model, batch, 1, "samples_per_cpu_s")
        cpu_ratio = hc / tc if hc and tc else None
        summary.append({"model": model, "batch": batch, "hone_t1": h1, "hone_t2": h2, "torch_t1": t1,
                        "hone_t1_per_cpu_s": hc, "torch_t1_per_cpu_s": tc,
                        "ratio_t1_cpu_time": round(cpu_ratio, 3) if cpu_ratio else None,
                        "torch_t2": t2, "hone_best": hb, "torch_best": tb,
                        "hone_best_threads": (1 if hb == h1 else 2) if hb else None,
                        "torch_best_threads": (1 if tb == t1 else 2) if tb else None,
                        "ratio": round(ratio, 3) if ratio else None, "target": target, "verdict": verdict})

    print()
    print("Load-robust cross-check, 1 thread each: samples per second of process CPU time (time slices lost to other")
    print("processes do not count; cache interference does)")
    for r in summary:
        print(f"  {r['model']:5s} b{r['batch']:<4d} hone {fmt(r['hone_t1_per_cpu_s']):>9s}  torch {fmt(r['torch_t1_per_cpu_s']):>9s}"
              f"  ratio {fmt(r['ratio_t1_cpu_time'], 2)}x")

    print()
    print("Against the peer's published torch-best (RESULTS.md: torch with OpenBLAS; the fair baseline when this")
    print("image's torch runs on the reference BLAS), hone best wall-clock and hone 1-thread samples per CPU-second:")
    for r in summary:
        peer = PEER_BEST.get((r["model"], r["batch"]))
        r["peer_results_md_best"] = peer
        r["ratio_vs_peer_results_md"] = round(r["hone_best"] / peer, 3) if peer and r["hone_best"] else None
        r["ratio_cpu_vs_peer_results_md"] = round(r["hone_t1_per_cpu_s"] / peer, 3) if peer and r["hone_t1_per_cpu_s"] else None
        t = r["target"]
        v = "-" if t is None or r["ratio_vs_peer_results_md"] is None else (
            "met" if r["ratio_vs_peer_results_md"] >= t else "MISSED")
        r["verdict_vs_peer_results_md"] = v
        print(f"  {r['model']:5s} b{r['batch']:<4d} peer torch-best {fmt(peer):>7s}  hone {fmt(r['hone_best']):>7s} -> "
              f"{fmt(r['ratio_vs_peer_results_md'], 2)}x (per CPU-s: {fmt(r['ratio_cpu_vs_peer_results_md'], 2)}x)"
              f"  target {fmt(t, 1) if t else '-'}  {v}")

    peer_rows = []
    if peer_size:
        print()
        print("hone alone at the peer's epoch sizes (MLP 5 x 60k, CNN 3 x 10k) against RESULTS.md's torch-best:")
        for model, batch in sorted({(r["model"], r["batch"]) for r in peer_size}):
            rs = {r["threads"]: r for r in peer_size if (r["model"], r["batch"]) == (model, batch)}
            best = max(rs.values(), key=lambda r: r.get("samples_per_s") or 0)
            peer = PEER_BEST.get((model, batch))
            t = TARGETS.get((model, batch))
            ratio = best["samples_per_s"] / peer if peer and best.get("samples_per_s") else None
            cpu = rs.get(1, {}).get("samples_per_cpu_s")
            cpu_ratio = cpu / peer if peer and cpu else None
            v = "-" if t is None or ratio is None else ("met" if ratio >= t else "MISSED")
            peer_rows.append({"model": model, "batch": batch, "hone": {k: r.get("samples_per_s") for k, r in rs.items()},
                              "hone_t1_per_cpu_s": cpu, "peer_results_md_best": peer, "ratio": ratio,
                              "ratio_t1_cpu_time": cpu_ratio, "target": t, "verdict": v})
            print(f"  {model:5s} b{batch:<4d} hone " + ", ".join(f"t{k} {fmt(r.get('samples_per_s'))}" for k, r in sorted(rs.items()))
                  + f"  (t1 per CPU-s {fmt(cpu)})  peer {fmt(peer)}  ->  {fmt(ratio, 2)}x wall, {fmt(cpu_ratio, 2)}x CPU-time"
                  + f"  target {fmt(t, 1) if t else '-'}  {v}")

    allocs = [(r["model"], r["batch"], r["threads"], r.get("allocs_after_first_step"), r.get("steps_counted"))
              for r in rows_all if r["engine"] == "hone"]
    total_allocs = sum(a[3] or 0 for a in allocs)
    total_steps = sum(a[4] or 0 for a in allocs)
    print()
    print(f"Heap allocations in hone train steps after the first (malloc/new counted in engine_throughput): "
          f"{total_allocs} in {total_steps} steps over {len(allocs)} runs"
          + ("" if total_allocs == 0 else "  <- " + ", ".join(f"{m} b{b} t{t}: {a}" for m, b, t, a, _ in allocs if a)))

    peak = {}
    if gemm:
        print()
        print("Eigen SGEMM peak (gemm_peak.cpp method; GFLOP/s best / median)")
        for t, g in sorted(gemm.items()):
            cells = "  ".join(f"n={r['n']}: {r['best_gflops']:.1f} / {r['median_gflops']:.1f}" for r in g["rows"])
            peak[t] = max(r["best_gflops"] for r in g["rows"])
            print(f"  threads {t}: {cells}   -> peak {peak[t]:.1f}")
    dense_rows = []
    if dense:
        print()
        print("hone Dense layer, GFLOP/s (fwd = x*W, bwd = dW, db and dx; fwd+bwd = 3 GEMMs; fwd, bwd, eigen: median of")
        print("timing blocks; fwd+bwd: best / median; % of peak: best fwd+bwd over the best SGEMM of the same run)")
        print(f"  {'thr':>3s} {'layer':9s} {'shape':>10s} {'batch':>5s} {'fwd':>7s} {'bwd':>7s} {'fwd+bwd':>13s} "
              f"{'eigen fwd':>9s} {'% of peak':>9s}")
        for t, d in sorted(dense.items()):
            for r in d["rows"]:
                pct = r["fwd_bwd_best_gflops"] / peak[t] if t in peak and peak[t] else None
                r2 = dict(r, threads=t, pct_of_peak=round(pct, 3) if pct else None)
                dense_rows.append(r2)
                print(f"  {t:>3d} {r['layer']:9s} {str(r['in']) + '->' + str(r['out']):>10s} {r['batch']:>5d} "
                      f"{r['fwd_gflops']:>7.1f} {r['bwd_gflops']:>7.1f} {r['fwd_bwd_best_gflops']:>6.1f}/{r['fwd_bwd_gflops']:<6.1f} "
                      f"{r['eigen_fwd_gemm_gflops']:>9.1f} {fmt(pct * 100 if pct else None, 0) + '%':>9s}")
    # The target is about real layers: 128->10 is a 10-column GEMM no BLAS runs near peak, so it is
    # shown but judged separately.
    big = [r for r in dense_rows if r["out"] >= 128 and r["batch"] >= 256 and r.get("pct_of_peak") is not None]
    dense_verdict = None
    if big:
        worst = min(big, key=lambda r: r["pct_of_peak"])
        best_by_thread = {}
        for r in big:
            best_by_thread.setdefault(r["threads"], []).append(r["pct_of_peak"])
        dense_verdict = {"target": DENSE_TARGET, "worst_large_layer": worst["layer"], "worst_threads": worst["threads"],
                         "worst_batch": worst["batch"], "worst_pct": worst["pct_of_peak"],
                         "met_all_large_layers": all(r["pct_of_peak"] >= DENSE_TARGET for r in big),
                         "met_at_1_thread": all(p >= DENSE_TARGET for p in best_by_thread.get(1, [0])),
                         "met_at_2_threads": all(p >= DENSE_TARGET for p in best_by_thread.get(2, [0]))}
        print(f"  Dense >= {DENSE_TARGET:.0%} of peak (layers with >= 128 outputs, batch >= 256): "
              f"1 thread {'met' if dense_verdict['met_at_1_thread'] else 'MISSED'}, "
              f"2 threads {'met' if dense_verdict['met_at_2_threads'] else 'MISSED'} "
              f"(worst: {worst['layer']} b{worst['batch']} t{worst['threads']} at {worst['pct_of_peak']:.0%})")

    print()
    for m in metas:
        print(f"  load at {m['what']}: {m['loadavg']} ({m['time_utc']}); libblas.so.3 -> {m.get('libblas_so_3')}")
    if any("openblas" not in (m.get("libblas_so_3") or "openblas") for m in metas):
        print("  NOTE: libblas.so.3 is not OpenBLAS here, so torch's Linear layers run on the reference BLAS; the torch")
        print("        columns above are far below the peer's OpenBLAS numbers. Judge against the RESULTS.md rows.")
    out = {"bench": "engine", "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "quick": bool(args.quick), "wall_s": args.wall, "binary": args.binary,
           "git": git_rev(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
           "machine": {"cpu": cpu_model(), "cores": os.cpu_count(),
                       "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}},
           "summary": summary, "peer_size_rows": peer_rows, "allocs_after_first_step_total": total_allocs, "steps_counted_total": total_steps,
           "gemm_peak_gflops": peak, "dense": dense_rows, "dense_verdict": dense_verdict,
           "meta": metas, "raw": recs}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"  results: {args.out}" + (f" (run took {args.wall:.0f} s)" if args.wall else ""))


if __name__ == "__main__":
    main()
