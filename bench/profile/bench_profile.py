#!/usr/bin/env python3
"""bench/profile: colscope profile against plain numpy, and against the
machine's streaming-read bandwidth, all measured in this run.

  1. writes a fp16 GELU-like activation tensor of --mb megabytes (default 320)
  2. puts the file in the page cache as reading it leaves it (evicted, then
     read once: see warm()), and measures streaming-read bandwidth
     (build/bench/cs_membw): an in-memory buffer, and the same file read from
     the page cache with mmap and with pread, on 1 and 2 threads (the best
     is the baseline)
  3. times `colscope profile` with 5 thresholds x 3 tile heights, process
     start to exit (best of 5, as many tries as each baseline gets), in
     --rounds rounds alternating with step 2's measurement: the host's
     bandwidth drifts, so the verdict is the median of the per-round ratios
  4. times numpy computing the same numbers (zero elements, zero columns,
     non-zero-rows histograms, per-channel zero counts), chunked so it fits
     in memory, and checks that every number agrees
  5. with --huge GB: profiles a sparse file of that size (no disk blocks;
     its pages come from the page cache as zeros) and reports peak RSS, to
     show memory stays bounded on files larger than RAM

usage: bench/profile/bench_profile.py [--build build] [--mb 320] [--huge 30]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

THRESHOLDS = [0.001, 0.005, 0.01, 0.05, 0.1]
TILES = [16, 64, 256]


def make_tensor(path, mb):
    rng = np.random.default_rng(0)
    feat = 2560
    rows = (mb << 20) // (2 * feat) // 256 * 256
    bias = rng.normal(-0.5, 1.0, feat).astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(rows, feat))
    for i in range(0, rows, 4096):
        pre = rng.standard_normal((min(4096, rows - i), feat), dtype=np.float32) + bias
        out[i:i + pre.shape[0]] = pre * 0.5 * (1 + np.tanh(0.7978846 * (pre + 0.044715 * pre ** 3)))
    out.flush()
    del out
    return rows, feat


def warm(path):
    """Puts the file in the page cache the way reading it leaves it: written
    out, evicted, then read once from start to end. The kernel's readahead
    then caches it in large folios where it can (ext4 on Linux 6.x does), and
    that state decides both the baseline and colscope: a file whose cache
    was filled by writes through a memory map sits in 4 KB pages, which
    halves the file-read baseline (13-15 instead of 26-28 GB/s here) and
    would flatter colscope's share of it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    with open(path, "rb") as f:
        while f.read(64 << 20):
            pass


def numpy_profile(path):
    """The same numbers colscope computes, the way a numpy user would."""
    x = np.load(path, mmap_mode="r")
    rows, feat = x.shape
    res = {(t, h): {"zero_elements": 0, "zero_columns": 0, "hist": np.zeros(h + 1, np.int64)}
           for t in THRESHOLDS for h in TILES}
    chan = {t: np.zeros(feat, np.int64) for t in THRESHOLDS}
    step = 8192  # a multiple of every tile height
    for r0 in range(0, rows, step):
        a = np.abs(np.asarray(x[r0:r0 + step], dtype=np.float64))
        for t in THRESHOLDS:
            z = a < t
            zc = z.sum(axis=0)
            chan[t] += zc
            for h in TILES:
                nz = (~z).reshape(-1, h, feat).sum(axis=1)
                cell = res[(t, h)]
                cell["zero_elements"] += int(zc.sum()) if h == TILES[0] else 0
                cell["zero_columns"] += int((nz == 0).sum())
                cell["hist"] += np.bincount(nz.reshape(-1), minlength=h + 1)
    for t in THRESHOLDS:
        for h in TILES:
            res[(t, h)]["zero_elements"] = int(chan[t].sum())
    return res


def run_colscope(cs, path, out_json, tries):
    args = [cs, "profile", "-q", "--no-progress", path, "--json", out_json,
            "--thresholds", ",".join(map(str, THRESHOLDS)), "--tile-rows", ",".join(map(str, TILES))]
    best = None
    for _ in range(tries):
        t0 = time.perf_counter()
        subprocess.run(args, check=True)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best


def peak_rss_of(args):
    """Peak resident set (MB) of one run, from GNU time (RUSAGE_CHILDREN
    would report the largest of every child so far)."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + args, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    return int(p.stderr.strip().splitlines()[-1]) / 1024.0, dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build"))
    ap.add_argument("--mb", type=int, default=320)
    ap.add_argument("--rounds", type=int, default=5, help="alternating baseline/colscope rounds")
    ap.add_argument("--huge", type=float, default=0, help="also profile a sparse file of this many GB")
    ap.add_argument("--keep", help="directory to keep the generated tensor in")
    opt = ap.parse_args()
    cs = os.path.join(opt.build, "colscope")
    membw = os.path.join(opt.build, "bench", "cs_membw")
    tmp = opt.keep or tempfile.mkdtemp(prefix="cs_bench_")
    os.makedirs(tmp, exist_ok=True)
    path = os.path.join(tmp, "act.npy")
    if not os.path.exists(path):
        rows, feat = make_tensor(path, opt.mb)
    x = np.load(path, mmap_mode="r")
    rows, feat = x.shape
    size = os.path.getsize(path)
    del x
    warm(path)
    # The host's memory bandwidth drifts by up to 1.5x within a minute on a
    # shared VM, so baseline and colscope are measured in alternating rounds
    # (each baseline best of 5 in cs_membw, colscope best of 5) and compared
    # round by round; the median of those ratios is the verdict, and the
    # best of each over all rounds is shown as well.
    out_json = os.path.join(tmp, "profile.json")
    rounds = []
    for _ in range(opt.rounds):
        bw = json.loads(subprocess.run([membw, path], check=True, capture_output=True, text=True).stdout)
        rounds.append((bw, run_colscope(cs, path, out_json, 5)))
    cs_s = min(r[1] for r in rounds)
    bw = max((r[0] for r in rounds), key=lambda b: b["file_read_best_gbps"])
    ratios = sorted(size / r[1] / 1e9 / r[0]["file_read_best_gbps"] for r in rounds)
    median_ratio = statistics.median(ratios)
    t0 = time.perf_counter()
    ref = numpy_profile(path)
    np_s = time.perf_counter() - t0

    with open(out_json) as f:
        recs = json.load(f)["records"]
    mismatches = 0
    for r in recs:
        e = ref[(r["threshold"], r["tile_rows"])]
        if (r["zero_elements"] != e["zero_elements"] or r["zero_columns"] != e["zero_columns"]
                or r["nnz_rows_hist"] != e["hist"].tolist()):
            mismatches += 1
    gbps = size / cs_s / 1e9
    print(f"bench/profile: {rows} x {feat} fp16 ({size / 1e6:.0f} MB), {len(THRESHOLDS)} thresholds x {len(TILES)} tile heights")
    print(f"  colscope profile  {cs_s:8.3f} s  {gbps:6.2f} GB/s   (best of {5 * len(rounds)} in {len(rounds)} rounds, {bw['cpus']} CPUs)")
    print(f"  numpy             {np_s:8.3f} s  {size / np_s / 1e9:6.2f} GB/s")
    print(f"  speedup vs numpy  {np_s / cs_s:8.1f}x   (target >= 30x)")
    mem = max(r[0]["memory_read_best_gbps"] for r in rounds)
    print(f"  memory read       {mem:6.2f} GB/s  -> colscope at {gbps / mem * 100:5.1f}%   (best against best)")
    fr = bw['file_read_best_gbps']
    print(f"  file read         {fr:6.2f} GB/s  -> colscope at {gbps / fr * 100:5.1f}%   (best against best; the faster of "
          f"mmap {bw['file_mmap_read_best_gbps']:.2f} and pread {bw['file_pread_best_gbps']:.2f} GB/s, same file)")
    print(f"  file read, round by round: colscope at {', '.join(f'{r * 100:.1f}%' for r in ratios)} "
          f"-> median {median_ratio * 100:.1f}%   (target >= 50%)")
    print(f"  results equal to numpy: {'yes' if mismatches == 0 else f'NO ({mismatches} records differ)'}")
    if opt.huge:
        huge = os.path.join(tmp, "huge.npy")
        feat_h = 1280
        rows_h = int(opt.huge * 1e9) // (2 * feat_h)
        hdr = np.lib.format.header_data_from_array_1_0(np.zeros((1, feat_h), np.float16))
        hdr["shape"] = (rows_h, feat_h)
        with open(huge, "wb") as f:
            np.lib.format.write_array_header_1_0(f, hdr)
            f.truncate(f.tell() + rows_h * feat_h * 2)
        rss_mb, dt = peak_rss_of([cs, "profile", "-q", "--no-progress", huge,
                                  "--thresholds", ",".join(map(str, THRESHOLDS)),
                                  "--tile-rows", ",".join(map(str, TILES))])
        hsize = os.path.getsize(huge)
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
        print(f"  huge sparse file  {hsize / 1e9:.1f} GB (RAM {mem_kb / 1e6:.1f} GB): {dt:.1f} s, "
              f"{hsize / dt / 1e9:.2f} GB/s, peak RSS {rss_mb:.0f} MB")
        os.unlink(huge)
    if not opt.keep:
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
