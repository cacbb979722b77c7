#!/usr/bin/env python3
"""bench/simulate: one denoising step of every FFN GEMM of Stable Diffusion
v1.5 (16 transformer blocks, CFG batch of 2, so 32 GEMMs: GEGLU projection
d -> 8d and down projection 4d -> d at 64x64, 32x32, 16x16 and 8x8 latents),
under three activation layouts, dense and with zero columns skipped, on the
default machine with its GDDR6 back end. Prints wall seconds (target: under
10 s on a 2-core machine), simulated core cycles per second and DRAM
requests per second.

No captured SD activations ship with colscope yet, so the down projections'
zero columns come from a statistic (--column-sparsity 0.3: 30% of the
channels zero in every tile, the concentration the study reports for
UNet+transformer models), stated in every run's activation_source.

usage: bench/simulate/bench_simulate.py [--build build] [--layouts row,col,compact]
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "..", "build"))
    ap.add_argument("--layouts", default="row,col,compact")
    ap.add_argument("--repeat", type=int, default=1)
    opt = ap.parse_args()
    cs = os.path.join(opt.build, "colscope")
    topo = os.path.join(HERE, "sd15_ffn_step.csv")
    layers = [l.split(",")[0] for l in open(topo).read().splitlines()[1:]]
    stats = [a for name in layers if name.endswith("ff2") for a in ("--column-sparsity", f"{name}=0.3")]
    total_wall = 0.0
    cycles = requests = runs = 0
    with tempfile.TemporaryDirectory() as tmp:
        for layout in opt.layouts.split(","):
            out = os.path.join(tmp, f"{layout}.json")
            best = None
            for _ in range(opt.repeat):
                t0 = time.perf_counter()
                subprocess.run([cs, "simulate", "-t", topo, "-i", "gemm", "--layout", layout, "--json", out, "-q"]
                               + stats, check=True)
                dt = time.perf_counter() - t0
                best = dt if best is None else min(best, dt)
            total_wall += best
            d = json.load(open(out))
            c = sum(r["total_cycles"] for r in d["runs"])
            q = sum(r["dram_requests"] for r in d["runs"])
            stall = {s: sum(r["stall_cycles"] for r in d["runs"] if r["skip"] == s) /
                     sum(r["total_cycles"] for r in d["runs"] if r["skip"] == s) for s in (False, True)}
            cycles += c
            requests += q
            runs += len(d["runs"])
            print(f"  {layout:8s} {best:7.2f} s  {c / best / 1e6:8.1f} M result cycles/s  "
                  f"{q / best / 1e6:6.2f} M result requests/s  stall share dense {stall[False]:.1%}, skip {stall[True]:.1%}")
    print(f"bench/simulate: SD v1.5 FFN step, {runs} runs (32 GEMMs x {len(opt.layouts.split(','))} layouts x dense/skip)"
          f" on the default machine: {total_wall:.2f} s wall (target < 10 s), "
          f"{cycles / total_wall / 1e6:.1f} M result cycles/s, {requests / total_wall / 1e6:.2f} M result requests/s, "
          f"{requests / 1e6:.0f} M requests in the results (runs identical to another are simulated once and "
          f"copied, docs/MODEL.md 4.6, so fewer are simulated)")


if __name__ == "__main__":
    main()
