#!/usr/bin/env python3
"""Measures what capture and masking cost on the model call, on CPU, for the
test models of tests/cli/capture_support.py at three sizes close to real FFNs.

For each model it times the same CFG sampling loop (denoiser called with the
batch doubled) dense, under capture() (bf16 shards to a temporary directory,
final flush, fsync and manifest included) and under mask() (column mode,
h=128), the three interleaved, REPEATS times, and prints the medians in ms per
denoiser call, the overheads in percent, the share of the model time spent in
the capture hooks, and the bytes written per step. Needs a colscope checkout
(the models live in the tests).

usage: /usr/bin/python3 tools/capture/bench_overhead.py [--quick] [--repeats N] [--json FILE]
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "cli"))

import torch  # noqa: E402

import capture_support as cs  # noqa: E402
import colscope_capture  # noqa: E402

# name -> (constructor, loop kind, tokens, model width): sizes of one real FFN level each
MODELS = {
    "MDM-size encoder: 8 x nn.TransformerEncoderLayer 512/1024 GELU, 121 tokens, seq-first":
        (lambda: cs.EncoderDenoiser(dim=512, layers=8), "enc", 120, 512),
    "DiT-like: 2 blocks timm Mlp 384/1536 tanh-GELU, 256 tokens": (lambda: cs.TinyDiT(dim=384, depth=2), "dit", 256, 384),
    "SD-level-0-like: 1 block GEGLU FeedForward 320/1280, 1024 tokens":
        (lambda: cs.TinyUNetTransformer(dim=320, blocks=1), "unet", 1024, 320),
}
QUICK = {"tiny encoder": (lambda: cs.EncoderDenoiser(), "enc", 7, 16)}


def blas_in_use():
    """The BLAS library mapped into this process (Debian's torch uses the libblas.so.3 alternative)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.rsplit("/", 1)[-1]}
        return ", ".join(sorted(os.path.realpath(p) for p in libs)) or "unknown"
    except OSError:
        return "unknown"


def bench(name, ctor, kind, tokens, dim, steps, repeats):
    """Dense, capture and mask runs interleaved (so drifting machine load hits all three alike);
    medians over the repeats."""
    model = cs.make_sparse(ctor())
    loop = lambda: cs.sample_loop(model, steps=steps, batch=1, tokens=tokens, dim=dim, kind=kind)  # noqa: E731
    out = tempfile.mkdtemp(prefix="cs_bench_")
    times = {"dense": [], "capture": [], "mask": []}
    hook_share = []
    try:
        loop()  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            loop()
            t1 = time.perf_counter()
            with colscope_capture.capture(model, out, overwrite=True) as cap:
                loop()
            t2 = time.perf_counter()
            with colscope_capture.mask(model, 0.01, "column", tile_rows=128):
                loop()
            t3 = time.perf_counter()
            for k, v in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
                times[k].append(v)
            hook_share.append(cap.overhead["hook_share"])
    finally:
        shutil.rmtree(out, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"model": name, "steps": steps, "repeats": repeats, "dense_s_per_call": med["dense"] / steps,
            "capture_s_per_call": med["capture"] / steps,
            "capture_overhead_pct": 100 * (med["capture"] - med["dense"]) / med["dense"],
            "hook_share_pct": 100 * statistics.median(hook_share), "mask_s_per_call": med["mask"] / steps,
            "mask_overhead_pct": 100 * (med["mask"] - med["dense"]) / med["dense"],
            "bytes_per_step": cap.overhead["bytes_per_step"]}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="one tiny model, one repeat (a smoke test)")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--json", help="also write the rows to this file")
    a = p.parse_args()
    models, repeats = (QUICK, 1) if a.quick else (MODELS, a.repeats)
    rows = [bench(n, *spec, steps=a.steps, repeats=repeats) for n, spec in models.items()]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU, BLAS {blas_in_use()}; median of {repeats}; "
          f"{a.steps} denoiser calls, CFG batch 2, capture bf16, mask column h=128")
    print(f"{'model':<88} {'dense ms':>9} {'capture':>9} {'ovh %':>6} {'hook %':>6} {'mask':>9} {'ovh %':>6} "
          f"{'bytes/step':>11}")
    for r in rows:
        print(f"{r['model']:<88} {1e3 * r['dense_s_per_call']:9.2f} {1e3 * r['capture_s_per_call']:9.2f} "
              f"{r['capture_overhead_pct']:6.1f} {r['hook_share_pct']:6.1f} {1e3 * r['mask_s_per_call']:9.2f} {r['mask_overhead_pct']:6.1f} "
              f"{r['bytes_per_step']:11d}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
