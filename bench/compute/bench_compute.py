#!/usr/bin/env python3
"""bench/compute: colscope compute against SCALE-Sim's recorded wall times
on the same GEMMs, and layers per second on a 10,000-layer topology.

SCALE-Sim's seconds come from ../shared/reference/scalesim/summary.csv (runs
on this kind of machine, 2 cores); colscope's are measured here, best of 5,
as the wall time of the whole `colscope compute` process writing the same
COMPUTE_REPORT.csv. Both include process start-up.

usage: bench/compute/bench_compute.py [--build build]
"""
import argparse
import csv
import json
import os
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..")


def best_of(n, args):
    best = None
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--layers", type=int, default=10000)
    opt = ap.parse_args()
    cs = os.path.join(opt.build, "colscope")
    ref = os.path.join(SRC, "..", "shared", "reference", "scalesim")
    if not os.path.isdir(ref):
        ref = os.path.join(SRC, "tests", "data", "scalesim")
    rows = list(csv.DictReader(open(os.path.join(ref, "summary.csv")))) if os.path.exists(
        os.path.join(ref, "summary.csv")) else []
    print("bench/compute: colscope compute vs SCALE-Sim's recorded wall time (same config, same GEMM)")
    print("  process = whole `colscope compute` run; model = the compute model alone, in process")
    print(f"  {'run':42s} {'cycles':>9s} {'SCALE-Sim s':>11s} {'process s':>10s} {'speedup':>9s} "
          f"{'model us':>9s} {'speedup':>11s}")
    ratios, model_ratios = [], []
    layer_time = os.path.join(opt.build, "bench", "cs_bench_layer_time")
    seen = set()
    with tempfile.TemporaryDirectory() as tmp:
        for r in rows:
            if r["mode"] != "CALC" or r["run"] in seen or r["layers_in_run"] != "1":
                continue
            seen.add(r["run"])
            cfg = os.path.join(ref, "configs", r["config"] + ".cfg")
            topo = os.path.join(ref, "topologies", r["topology"] + ".csv")
            args = [cs, "compute", "-q", "-c", cfg, "-t", topo, "-i", "gemm", "-p", tmp]
            t = best_of(5, args)
            wall = float(r["wall_s"])
            ratios.append(wall / t)
            m = float(subprocess.run([layer_time, cfg, topo, "gemm"], check=True, capture_output=True,
                                     text=True).stdout)
            model_ratios.append(wall / m)
            print(f"  {r['run'][:42]:42s} {r['total_cycles']:>9s} {wall:11.1f} {t:10.4f} {wall / t:8.0f}x "
                  f"{m * 1e6:9.2f} {wall / m:10.2e}x")
        if ratios:
            big = [x for x, r in zip(ratios, [r for r in rows if r["run"] in seen]) if float(r["wall_s"]) > 60]
            print(f"  whole process: smallest speedup {min(ratios):.0f}x (start-up bound on sub-second GEMMs); "
                  f"on the transformer-class GEMMs (SCALE-Sim > 60 s) smallest {min(big):.0f}x")
            print(f"  compute model: smallest speedup {min(model_ratios):.2e}x (target >= 10000x)")

        # A 10,000-layer topology: the FFN GEMMs of many models and steps.
        shapes = [(4096, 2560, 320), (4096, 320, 1280), (1024, 5120, 640), (1024, 640, 2560), (256, 10240, 1280),
                  (256, 1280, 5120), (64, 10240, 1280), (64, 1280, 5120), (256, 4608, 1152), (256, 1152, 4608),
                  (197, 1024, 512), (197, 512, 1024), (3, 1024, 256), (3, 256, 1024), (150, 1024, 512)]
        topo = os.path.join(tmp, "big.csv")
        with open(topo, "w") as f:
            f.write("Layer, M, N, K,\n")
            for i in range(opt.layers):
                m, n, k = shapes[i % len(shapes)]
                f.write(f"l{i}, {m}, {n}, {k},\n")
        out_json = os.path.join(tmp, "big.json")
        for df in ("ws", "os", "is"):
            t = best_of(3, [cs, "compute", "-q", "--array", "128x128", "--dataflow", df, "-t", topo, "-i", "gemm",
                            "--json", out_json])
            n = len(json.load(open(out_json))["layers"])
            print(f"  {n}-layer topology, 128x128 {df}: {t:.3f} s, {n / t:,.0f} layers/s (with JSON output)")


if __name__ == "__main__":
    main()
