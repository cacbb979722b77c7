#!/usr/bin/env python3
"""bench/simulate: one denoising step of every FFN GEMM of Stable Diffusion
v1.5 (16 transformer blocks, CFG batch of 2, so 32 GEMMs: GEGLU projection
d -> 8d and down projection 4d -> d at 64x64, 32x32, 16x16 and 8x8 latents),
under three activation layouts, dense and with zero columns skipped, on the
default machine with its GDDR6 back end. Prints wall seconds (target: under
10 s on a 2-core machine), simulated core cycles per second and DRAM
requests per second.

The three layouts run in one invocation (`--layout row,col,compact`), which
shares the threads among all their runs, as a user wanting the three would
run it; `--separate` runs one invocation per layout instead. The host's
speed drifts from minute to minute, so the whole step runs `--rounds` times
(default 3) and both the best and the median round are reported.

No captured SD activations ship with colscope yet, so the down projections'
zero columns come from a statistic (--column-sparsity 0.3: 30% of the
channels zero in every tile, the concentration the study reports for
UNet+transformer models), stated in every run's activation_source.

usage: bench/simulate/bench_simulate.py [--build build] [--layouts row,col,compact] [--rounds 3] [--separate]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def one_round(cs, topo, stats, layouts, separate, tmp):
    """Wall seconds of one round and the runs it produced."""
    groups = [[l] for l in layouts] if separate else [layouts]
    wall, runs = 0.0, []
    for g in groups:
        out = os.path.join(tmp, "out.json")
        t0 = time.perf_counter()
        subprocess.run([cs, "simulate", "-t", topo, "-i", "gemm", "--layout", ",".join(g), "--json", out, "-q"]
                       + stats, check=True)
        wall += time.perf_counter() - t0
        runs += json.load(open(out))["runs"]
    return wall, runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "..", "build"))
    ap.add_argument("--layouts", default="row,col,compact")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--separate", action="store_true", help="one invocation per layout")
    opt = ap.parse_args()
    cs = os.path.join(opt.build, "colscope")
    topo = os.path.join(HERE, "sd15_ffn_step.csv")
    layouts = opt.layouts.split(",")
    layers = [l.split(",")[0] for l in open(topo).read().splitlines()[1:]]
    stats = [a for name in layers if name.endswith("ff2") for a in ("--column-sparsity", f"{name}=0.3")]
    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(opt.rounds):
            wall, runs = one_round(cs, topo, stats, layouts, opt.separate, tmp)
            walls.append(wall)
            print(f"  round {r + 1}: {wall:6.2f} s")
    best, median = min(walls), statistics.median(walls)
    cycles = sum(r["total_cycles"] for r in runs)
    requests = sum(r["dram_requests"] for r in runs)
    for layout in layouts:
        mine = [r for r in runs if r["layout"] == layout]
        share = {s: sum(r["stall_cycles"] for r in mine if r["skip"] == s) /
                 sum(r["total_cycles"] for r in mine if r["skip"] == s) for s in (False, True)}
        print(f"  {layout:8s} {len(mine)} runs, {sum(r['dram_requests'] for r in mine) / 1e6:5.0f} M requests, "
              f"stall share dense {share[False]:.1%}, skip {share[True]:.1%}")
    how = "one invocation per layout" if opt.separate else "one invocation"
    print(f"bench/simulate: SD v1.5 FFN step, {len(runs)} runs (32 GEMMs x {len(layouts)} layouts x dense/skip, {how}) "
          f"on the default machine: best of {opt.rounds} {best:.2f} s wall, median {median:.2f} s (target < 10 s); "
          f"{cycles / best / 1e6:.1f} M result cycles/s, {requests / best / 1e6:.2f} M result requests/s at the best, "
          f"{requests / 1e6:.0f} M requests in the results (runs identical to another are simulated once and "
          f"copied, docs/MODEL.md 4.6, so fewer are simulated)")


if __name__ == "__main__":
    main()
