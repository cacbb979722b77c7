#!/usr/bin/env python3
"""colscope simulate from the command line: with the ideal back end its
cycles equal colscope compute's exactly; the JSON has the promised fields;
bad machines, bindings and options fail with one line, exit 2, no files.

usage: test_simulate_cli.py PATH/TO/colscope
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

CS = sys.argv[1]
SRC = os.environ.get("CS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def run(args, expect=0):
    p = subprocess.run([CS] + args, capture_output=True, text=True)
    assert p.returncode == expect, f"{args}: exit {p.returncode}, want {expect}: {p.stderr}"
    return p


def main():
    with tempfile.TemporaryDirectory() as tmp:
        topo = os.path.join(tmp, "t.csv")
        with open(topo, "w") as f:
            f.write("Layer, M, N, K,\nffn2, 300, 96, 200,\nffn1, 300, 400, 96,\n")
        rng = np.random.default_rng(3)
        a = rng.standard_normal((300, 200)).astype(np.float16)
        a[:, rng.random(200) < 0.5] *= 1e-4  # dead channels
        a[rng.random((300, 200)) < 0.3] = 0
        act = os.path.join(tmp, "a.npy")
        np.save(act, a)
        machine = os.path.join(tmp, "m.ini")
        with open(machine, "w") as f:
            f.write("[machine]\nname = small\ncore_clock_ghz = 1.0\n[array]\nrows = 32\ncols = 16\ndataflow = ws\n"
                    "[sram]\nifmap_kb = 64\nfilter_kb = 64\nofmap_kb = 32\n[memory]\nbackend = ideal\n"
                    "bandwidth_gbps = 20\n")
        for df in ("os", "ws", "is"):
            js, cj = os.path.join(tmp, "s.json"), os.path.join(tmp, "c.json")
            run(["simulate", "--machine", machine, "-t", topo, "-i", "gemm", "--dataflow", df,
                 "--activation", f"ffn2={act}", "--json", js, "-q"])
            run(["compute", "--array", "32x16", "--dataflow", df, "-t", topo, "-i", "gemm",
                 "--activation", f"ffn2={act}", "--json", cj, "-q"])
            sim, comp = json.load(open(js)), json.load(open(cj))
            for key in ("array_rows", "array_cols", "dataflow", "peak_bandwidth_gbps", "core_clock_ghz"):
                assert key in sim, key
            assert len(sim["runs"]) == 2 * 4 * 2
            by = {(r["layer"], r["layout"], r["skip"]): r for r in sim["runs"]}
            for l in comp["layers"]:
                for layout in ("row", "col", "tiled", "compact"):
                    d, s = by[(l["layer"], layout, False)], by[(l["layer"], layout, True)]
                    for r in (d, s):
                        for key in ("layer", "layout", "skip", "total_cycles", "compute_cycles", "stall_cycles",
                                    "dram_read_bytes", "dram_write_bytes"):
                            assert key in r, key
                    assert d["total_cycles"] == l["dense_cycles"] and d["stall_cycles"] == 0, (df, layout, d, l)
                    assert s["total_cycles"] == l["cycles"], (df, layout, s, l)
            assert by[("ffn2", "row", True)]["activation_source"] == "tensor"
            assert by[("ffn1", "row", True)]["activation_source"] == "none"
        # finite bandwidth: stalls appear, totals cover the bytes
        js = os.path.join(tmp, "b.json")
        run(["simulate", "--machine", machine, "-t", topo, "-i", "gemm", "--memory", "bandwidth", "--bandwidth", "4",
             "--column-sparsity", "ffn2=0.4", "--layout", "compact", "--json", js, "--csv",
             os.path.join(tmp, "b.csv"), "-q"])
        sim = json.load(open(js))
        for r in sim["runs"]:
            assert r["stall_cycles"] > 0 and r["layout"] == "compact"
            assert r["total_cycles"] + 1 >= (r["dram_read_bytes"] + r["dram_write_bytes"]) / 4.0
        assert sim["runs"][1]["activation_source"] == "statistics"
        assert len(open(os.path.join(tmp, "b.csv")).read().splitlines()) == 1 + 4
        # a list of layouts: exactly those, each run as when asked for alone
        js2 = os.path.join(tmp, "b2.json")
        run(["simulate", "--machine", machine, "-t", topo, "-i", "gemm", "--memory", "bandwidth", "--bandwidth", "4",
             "--column-sparsity", "ffn2=0.4", "--layout", "compact,row,compact", "--json", js2, "-q"])
        both = json.load(open(js2))["runs"]
        assert sorted({r["layout"] for r in both}) == ["compact", "row"], both
        alone = {(r["layer"], r["skip"]): r["total_cycles"] for r in sim["runs"]}
        assert {(r["layer"], r["skip"]): r["total_cycles"] for r in both if r["layout"] == "compact"} == alone

        def expect_error(args, phrase):
            out = os.path.join(tmp, "out")
            os.makedirs(out, exist_ok=True)
            p = run(["simulate"] + args + ["--json", os.path.join(out, "x.json")], expect=2)
            lines = p.stderr.strip().splitlines()
            assert len(lines) == 1 and phrase in lines[0], f"{args}: {p.stderr!r} lacks {phrase!r}"
            assert not os.listdir(out), os.listdir(out)

        bad = os.path.join(tmp, "bad.ini")
        with open(bad, "w") as f:
            f.write("[machine]\nname = x\n[array]\nrows = 64\ncols = 64\n[sram]\nfilter_kb = 8\n")
        expect_error(["--machine", bad, "-t", topo, "-i", "gemm"], "cannot double-buffer")
        with open(bad, "w") as f:
            f.write("[machine]\nname = x\nclock = 3\n")
        expect_error(["--machine", bad, "-t", topo, "-i", "gemm"], "bad.ini:3: unknown key 'clock' in [machine]")
        expect_error(["--machine", machine, "-t", topo, "-i", "gemm", "--activation", f"ffn1={act}"],
                     "layer 'ffn1' has M=300, K=96")
        expect_error(["--machine", machine, "-t", topo, "-i", "gemm", "--column-sparsity", "ffn2=1.5"],
                     "--column-sparsity")
        for bad_layout in ("diagonal", "row,diagonal", "row,,col", "row,", ""):
            expect_error(["--machine", machine, "-t", topo, "-i", "gemm", "--layout", bad_layout], "--layout")
        expect_error(["--machine", os.path.join(tmp, "none.ini"), "-t", topo], "none.ini: cannot open")
        # the shipped presets load
        for preset in ("default", "edge", "datacenter"):
            run(["simulate", "--machine", os.path.join(SRC, "configs", "machines", preset + ".ini"), "-t", topo,
                 "-i", "gemm", "--memory", "ideal", "--layout", "row", "-q"])
    print("colscope simulate CLI: ideal == compute, JSON fields, bandwidth bounds and errors behave")


if __name__ == "__main__":
    main()
