#!/usr/bin/env python3
"""colscope profile against numpy: generated tensors of every supported dtype
(npy <f2 <f4 <f8 <u2-as-bf16, safetensors F16 BF16 F32 F64), both memory orders,
odd shapes and partial tiles; every count in the JSON must equal numpy's, and
the CSV must carry the same numbers.

usage: test_profile_numpy.py PATH/TO/colscope
"""
import csv
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

COLSCOPE = sys.argv[1]
THRESHOLDS = [0.001, 0.005, 0.01, 0.05, 0.1]
TILES = [1, 3, 16, 32, 100]
rng = np.random.default_rng(1234)


def bf16_bits(x):
    bits = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_values(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def values(shape):
    x = rng.standard_normal(shape) * 0.03
    x[rng.random(shape) < 0.2] = 0.0
    feat = shape[-1]
    dead = rng.random(feat) < 0.3
    x[..., dead] *= 1e-3
    flat = x.reshape(-1)
    if flat.size > 8:
        flat[:4] = [np.nan, np.inf, -0.0, -np.inf]
        flat[4:8] = THRESHOLDS[:4]  # exactly at a threshold: not below it
    return x


def write_safetensors(path, name, dtype, raw, shape):
    header = {name: {"dtype": dtype, "shape": list(shape), "data_offsets": [0, len(raw)]}}
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        f.write(raw)


def expected(x64, feature_axis):
    """Every number colscope computes, from float64 values in numpy."""
    m = np.moveaxis(x64, feature_axis, -1).reshape(-1, x64.shape[feature_axis])
    rows, feat = m.shape
    absm = np.abs(m)
    out = {}
    for t in THRESHOLDS:
        z = absm < t  # NaN compares False: never zero
        for h in TILES:
            ntiles = -(-rows // h)
            pad = ntiles * h - rows
            nz = np.concatenate([~z, np.zeros((pad, feat), bool)]).reshape(ntiles, h, feat).sum(axis=1)
            out[(t, h)] = {
                "elements": rows * feat,
                "zero_elements": int(z.sum()),
                "columns": ntiles * feat,
                "zero_columns": int((nz == 0).sum()),
                "nnz_rows_hist": np.bincount(nz.reshape(-1), minlength=h + 1).tolist(),
            }
    return rows, feat, out


def run(args):
    p = subprocess.run([COLSCOPE, "profile", "-q", "--no-progress"] + args, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"colscope failed ({p.returncode}): {p.stderr}")
    return p


def check(path_spec, x64, feature_axis, tmp, label):
    out_json = os.path.join(tmp, "p.json")
    out_csv = os.path.join(tmp, "p.csv")
    run([path_spec, "--json", out_json, "--csv", out_csv, "--feature-axis", str(feature_axis),
         "--thresholds", ",".join(map(str, THRESHOLDS)), "--tile-rows", ",".join(map(str, TILES)),
         "--u2-bf16"])
    rows, feat, exp = expected(x64, feature_axis)
    with open(out_json) as f:
        recs = json.load(f)["records"]
    assert len(recs) == len(THRESHOLDS) * len(TILES), label
    with open(out_csv) as f:
        csv_rows = list(csv.DictReader(f))
    assert len(csv_rows) == len(recs), label
    for r, c in zip(recs, csv_rows):
        key = (r["threshold"], r["tile_rows"])
        e = exp[key]
        assert r["rows"] == rows and r["features"] == feat, (label, r["rows"], rows)
        for k in ("elements", "zero_elements", "columns", "zero_columns"):
            assert r[k] == e[k], f"{label} {key} {k}: colscope {r[k]} numpy {e[k]}"
            assert int(c[k]) == e[k], f"{label} CSV {key} {k}"
        assert r["nnz_rows_hist"] == e["nnz_rows_hist"], f"{label} {key} histogram"
        assert abs(r["element_sparsity"] - e["zero_elements"] / e["elements"]) < 1e-15
        assert abs(r["column_sparsity"] - e["zero_columns"] / e["columns"]) < 1e-15
        assert float(c["column_sparsity"]) == r["column_sparsity"], label
        assert r["shape"] == list(x64.shape), label


def main():
    cases = 0
    with tempfile.TemporaryDirectory() as tmp:
        # (1000, 75): partial last tiles with 11 (or, on axis 0, 40) columns
        # after the vector groups of 64, which once misplaced histogram counts
        for shape in [(1, 1), (7, 3), (2, 33, 65), (129, 64), (3, 5, 2, 31), (1000, 75)]:
            x = values(shape)
            for fortran in (False, True):
                for dt in ("f2", "f4", "f8", "bf16"):
                    if dt == "bf16":
                        bits = bf16_bits(x)
                        stored = bf16_values(bits)
                        arr = bits
                    else:
                        arr = x.astype("<" + dt)
                        stored = arr.astype(np.float64)
                    if fortran:
                        arr = np.asfortranarray(arr)
                    path = os.path.join(tmp, f"t_{dt}.npy")
                    np.save(path, arr)
                    for fa in sorted({len(shape) - 1, 0}):
                        check(path, stored, fa, tmp, f"npy {dt} {shape} fortran={fortran} axis={fa}")
                        cases += 1
            # safetensors, every dtype, one file per dtype
            for st_dtype, np_dtype in (("F16", "<f2"), ("F32", "<f4"), ("F64", "<f8"), ("BF16", None)):
                if np_dtype:
                    arr = np.ascontiguousarray(x.astype(np_dtype))
                    stored = arr.astype(np.float64)
                    raw = arr.tobytes()
                else:
                    bits = bf16_bits(x)
                    stored = bf16_values(bits)
                    raw = np.ascontiguousarray(bits).tobytes()
                path = os.path.join(tmp, f"t_{st_dtype}.safetensors")
                write_safetensors(path, "act", st_dtype, raw, x.shape)
                check(path + ":act", stored, len(shape) - 1, tmp, f"safetensors {st_dtype} {shape}")
                cases += 1
    print(f"colscope profile matches numpy on {cases} tensor/axis cases")


if __name__ == "__main__":
    main()
