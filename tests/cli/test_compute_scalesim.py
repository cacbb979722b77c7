#!/usr/bin/env python3
"""colscope compute against every SCALE-Sim report in the shared reference
folder (a copy lives in tests/data/scalesim so the test runs without it):
CALC runs must give byte-identical COMPUTE_REPORT.csv files; USER runs, whose
stalls come from SCALE-Sim's buffer model, must give Total - Stall and the
stall-independent columns exactly.

usage: test_compute_scalesim.py PATH/TO/colscope
"""
import os
import subprocess
import sys
import tempfile

COLSCOPE = sys.argv[1]
SRC = os.environ.get("CS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.path.join(SRC, "..", "shared", "reference", "scalesim")
REF = SHARED if os.path.isdir(os.path.join(SHARED, "reports")) else os.path.join(SRC, "tests", "data", "scalesim")


def main():
    checked = exact = 0
    with tempfile.TemporaryDirectory() as tmp:
        for run in sorted(os.listdir(os.path.join(REF, "reports"))):
            parts = run.split("__")
            v3 = parts[0] == "v3"
            if v3:
                parts = parts[1:]
            cfg = os.path.join(REF, "configs", parts[0] + ".cfg")
            topo = os.path.join(REF, "topologies", parts[1] + ".csv")
            out = os.path.join(tmp, run)
            p = subprocess.run([COLSCOPE, "compute", "-q", "-c", cfg, "-t", topo, "-i", "gemm", "-p", out],
                               capture_output=True, text=True)
            assert p.returncode == 0, f"{run}: exit {p.returncode}: {p.stderr}"
            run_name = [l.split("=")[1].strip() for l in open(cfg) if l.strip().startswith("run_name")][0]
            mine = open(os.path.join(out, run_name, "COMPUTE_REPORT.csv")).read()
            ref = open(os.path.join(REF, "reports", run, "COMPUTE_REPORT.csv")).read()
            user = "InterfaceBandwidth: USER" in open(cfg).read()
            checked += 1
            if not user:
                assert mine == ref, f"{run}: COMPUTE_REPORT differs\n--- colscope\n{mine}--- SCALE-Sim\n{ref}"
                exact += 1
                continue
            # USER: colscope's Total is stall-free; check Total - Stall and the
            # mapping and compute utilisation, which do not depend on stalls.
            for a, b in zip(mine.splitlines()[1:], ref.splitlines()[1:]):
                fa, fb = [x.strip() for x in a.split(",")], [x.strip() for x in b.split(",")]
                off = 1 if v3 else 0
                total, stall = int(fb[1 + off]), int(fb[2 + off])
                assert int(fa[1 + off]) == total - stall, f"{run}: {fa} vs {fb}"
                assert fa[4 + off:6 + off] == fb[4 + off:6 + off], f"{run}: utilisation {fa} vs {fb}"
    print(f"colscope compute: {exact} CALC reports byte-identical, {checked - exact} USER reports "
          f"match Total - Stall and the utilisation columns (from {REF})")


if __name__ == "__main__":
    main()
