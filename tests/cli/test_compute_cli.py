#!/usr/bin/env python3
"""colscope compute from the command line: an activation binding whose
zero columns are known gives the hand-computed skipped cycles and
sparsities; bad configs, topologies and bindings give one-line errors with
file, line and field, exit 2, and leave no output behind.

usage: test_compute_cli.py PATH/TO/colscope
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

CS = sys.argv[1]


def run(args, expect=0):
    p = subprocess.run([CS, "compute"] + args, capture_output=True, text=True)
    assert p.returncode == expect, f"{args}: exit {p.returncode}, want {expect}: {p.stderr}"
    return p


def expect_error(args, phrase, tmp):
    out = os.path.join(tmp, "out")
    os.makedirs(out, exist_ok=True)
    p = run(args + ["--json", os.path.join(out, "c.json"), "-p", os.path.join(out, "rep")], expect=2)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, f"{args}: want one line, got {p.stderr!r}"
    assert phrase in lines[0], f"{args}: {lines[0]!r} lacks {phrase!r}"
    left = [f for f in os.listdir(out)]
    assert not left or left == ["rep"] and not os.listdir(os.path.join(out, "rep")), f"{args}: left {left}"
    for f in os.listdir(out):
        os.rmdir(os.path.join(out, f)) if os.path.isdir(os.path.join(out, f)) else os.unlink(os.path.join(out, f))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        topo = os.path.join(tmp, "t.csv")
        with open(topo, "w") as f:
            f.write("Layer, M, N, K,\nffn2, 8, 4, 10,\nother, 16, 16, 16,\n")
        # A: 8 tokens x 10 features. Token tile 0 (rows 0-3) is non-zero only
        # in columns 0, 3 and 7; tile 1 is all below the threshold.
        a = np.zeros((8, 10), np.float16)
        a[1, 0] = 0.5
        a[2, 3] = -0.25
        a[0, 7] = 1.0
        a[5, :] = 0.001  # below the 0.01 threshold
        act = os.path.join(tmp, "a.npy")
        np.save(act, a.reshape(1, 8, 10))
        js = os.path.join(tmp, "c.json")
        run(["--array", "4x4", "--dataflow", "os", "-t", topo, "-i", "gemm", "--activation", f"ffn2={act}",
             "--threshold", "0.01", "--json", js, "-q"])
        d = json.load(open(js))
        l0, l1 = d["layers"]
        assert (l0["layer"], l0["dataflow"], l0["M"], l0["N"], l0["K"]) == ("ffn2", "os", 8, 4, 10), l0
        assert l0["dense_cycles"] == 2 * (4 + 4 + 10 - 2) - 1 and l0["cycles"] == 8, l0
        assert abs(l0["cycle_reduction"] - (1 - 8 / 31)) < 1e-15, l0
        assert l0["element_sparsity"] == 77 / 80, l0
        assert l0["column_sparsity"] == 17 / 20, l0
        assert l1["cycles"] == l1["dense_cycles"] and l1["column_sparsity"] is None, l1
        assert d["total"]["dense_cycles"] == l0["dense_cycles"] + l1["dense_cycles"]
        assert d["total"]["cycles"] == 8 + l1["cycles"]
        # WS on the same layer: the whole-M block has 3 non-zero columns -> 1 K-fold
        run(["--array", "4x4", "--dataflow", "ws", "-t", topo, "-i", "gemm", "--activation", f"ffn2={act}",
             "--json", js, "-q"])
        l0 = json.load(open(js))["layers"][0]
        assert l0["dense_cycles"] == 3 * 1 * (8 + 4 + 8 - 2) - 1 and l0["cycles"] == (8 + 4 + 8 - 2) - 1, l0
        # --repeat multiplies totals
        run(["--array", "4x4", "-t", topo, "-i", "gemm", "--repeat", "50", "--json", js, "-q"])
        t = json.load(open(js))["total"]
        assert t["repeat"] == 50 and t["dense_cycles"] % 50 == 0

        cfg = os.path.join(tmp, "a.cfg")
        with open(cfg, "w") as f:
            f.write("[general]\nrun_name = r\n[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\n"
                    "IfmapSramSzkB: 64\nFilterSramSzkB: 64\nOfmapSramSzkB: 64\nIfmapOffset: 0\nFilterOffset: 1\n"
                    "OfmapOffset: 2\nDataflow : ws\nBogusKey: 3\n[run_presets]\nInterfaceBandwidth: CALC\n")
        expect_error(["-c", cfg, "-t", topo, "-i", "gemm"], "a.cfg:13: unknown key 'BogusKey'", tmp)
        bad_topo = os.path.join(tmp, "b.csv")
        with open(bad_topo, "w") as f:
            f.write("Layer, M, N, K,\nx, 8, 4, ten,\n")
        expect_error(["--array", "4x4", "-t", bad_topo, "-i", "gemm"], "b.csv:2: field 'K': 'ten'", tmp)
        expect_error(["--array", "4x4", "-t", topo, "-i", "gemm", "--activation", f"nope={act}"],
                     "has no layer named 'nope'", tmp)
        expect_error(["--array", "4x4", "-t", topo, "-i", "gemm", "--activation", f"other={act}"],
                     "tensor is 8 x 10 (rows x last axis) but layer 'other' has M=16, K=16", tmp)
        expect_error(["--array", "4x4", "-t", topo, "-i", "gemm", "--activation", f"ffn2={tmp}/missing.npy"],
                     "missing.npy: cannot open", tmp)
        expect_error(["--array", "4by4", "-t", topo], "--array: '4by4'", tmp)
        expect_error(["--array", "4x4", "-t", topo, "-i", "gemm", "--skip-policy", "sometimes"], "--skip-policy", tmp)
        expect_error(["--array", "4x4"], "no topology", tmp)
        expect_error(["--array", "4x4", "-t", os.path.join(tmp, "nofile.csv")], "nofile.csv: cannot open", tmp)
    print("colscope compute CLI: bindings, totals and errors behave")


if __name__ == "__main__":
    main()
