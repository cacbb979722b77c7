#!/usr/bin/env python3
"""colscope dram against an independent model: the clean-room Python model of
Ramulator 2.1's GDDR6 controller (tests/dram_oracle/, written from a
behavioural spec and checked to reproduce Ramulator 2.1 exactly on the
reference traces). Here both run on traces and configurations the recorded
Ramulator stats do not cover: small queues, other write watermarks, changed
timings and refresh, and traffic full of repeated addresses (read forwarding,
write coalescing). Every run must agree on cycles, average read latency,
row hits/misses/conflicts, served requests and refreshes.

usage: test_dram_oracle.py PATH/TO/colscope
"""
import copy
import json
import os
import random
import subprocess
import sys
import tempfile

SRC = os.environ.get("CS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "dram_oracle"))
import ramulator21_gddr6_refmodel as oracle  # noqa: E402

BASE = json.load(open(os.path.join(SRC, "tests", "data", "dram", "ramulator2.1_gddr6_resolved.json")))
RD, WR, RDA, WRA = 3, 4, 5, 6


def controller(cfg):
    return cfg["memory_system"]["controllers"][0]


def set_rule(cfg, level, pre, fol, old, new):
    """Sets the latency of the resolved rule(s) level: pre -> fol (= old)."""
    hits = 0
    for e in controller(cfg)["dram"]["timing_constraints"]:
        if e[0] == level and e[1] == pre and e[2] == fol and e[3] == old:
            e[3] = new
            hits += 1
    assert hits, (level, pre, fol, old)


# Each variant: (name, INI text for colscope, edit of Ramulator's resolved config).
def v_default(cfg):
    pass


def v_queues(cfg):
    c = controller(cfg)
    c["read_buffer_size"], c["write_buffer_size"] = 8, 12
    c["wr_high_watermark"], c["wr_low_watermark"] = 0.5, 0.25


def v_rcd_faw(cfg):
    set_rule(cfg, 2, [0], [3, 5], 27, 20)
    set_rule(cfg, 0, [0], [0, 8], 29, 40)
    set_rule(cfg, 0, [8], [0, 8], 29, 40)


def v_refresh(cfg):
    controller(cfg)["dram"]["timing"][20] = 500
    set_rule(cfg, 0, [7], list(range(9)), 211, 150)


def v_bankgroup(cfg):
    set_rule(cfg, 1, [3, 5], [3, 5], 4, 6)
    set_rule(cfg, 1, [4, 6], [4, 6], 4, 6)
    set_rule(cfg, 1, [4, 6], [3, 5], 19, 6 + 2 + 15)


VARIANTS = [
    ("default", "", v_default),
    ("queues", "[controller]\nread_queue = 8\nwrite_queue = 12\nwrite_high_watermark = 0.5\n"
               "write_low_watermark = 0.25\n", v_queues),
    ("rcd-faw", "[timing]\nnRCDRD = 20\nnFAW = 40\n", v_rcd_faw),
    ("refresh", "[timing]\nnREFI = 500\nnRFCab = 150\n", v_refresh),
    ("bankgroup", "[timing]\nnCCDL = 6\nnWTRL = 15\n", v_bankgroup),
]


def addr(bg, bank, row, col):
    return ((((row << 2 | bank) << 2 | bg) << 6) | col) << 5


def traces(n=3000):
    rng = random.Random(1)
    out = {}
    # A few hot rows per bank, 30% writes, and addresses that repeat: reads
    # of buffered writes (forwarding) and rewrites (coalescing).
    recent, lines = [], []
    for _ in range(n):
        if recent and rng.random() < 0.15:
            a = rng.choice(recent)
        else:
            a = addr(rng.randrange(4), rng.randrange(4), rng.randrange(3), rng.randrange(64))
        recent = (recent + [a])[-20:]
        lines.append(("ST" if rng.random() < 0.3 else "LD", a))
    out["hot"] = lines
    # Interleaved strided streams over bank groups and banks, with writes.
    lines = []
    for i in range(n):
        s = i % 3
        lines.append(("ST" if s == 2 else "LD", addr(s, s, 7 + i // 192, (i // 3) % 64)))
    out["strided"] = lines
    # Uniform random over a small region: conflicts and misses.
    out["random"] = [("ST" if rng.random() < 0.2 else "LD", rng.randrange(1 << 20) & ~31) for _ in range(n)]
    return out


def main():
    cs = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for tname, lines in traces().items():
            tpath = os.path.join(tmp, tname + ".ldst")
            with open(tpath, "w") as f:
                f.writelines(f"{op} 0x{a:x}\n" for op, a in lines)
            for vname, ini, edit in VARIANTS:
                cfg = copy.deepcopy(BASE)
                edit(cfg)
                cpath = os.path.join(tmp, vname + ".json")
                json.dump(cfg, open(cpath, "w"))
                want = oracle.run(cpath, tpath)
                ipath = os.path.join(tmp, vname + ".ini")
                open(ipath, "w").write(ini or "[controller]\nmapping = RoBaRaCoCh\n")
                jpath = os.path.join(tmp, "out.json")
                subprocess.run([cs, "dram", "-q", "--trace", tpath, "--config", ipath, "--json", jpath], check=True)
                j = json.load(open(jpath))
                a = j["at_last_accept"]
                got = dict(cycles=j["cycles"], avg_read_latency=round(j["avg_read_latency_cycles"], 3),
                           row_hits=a["row_hits"], row_misses=a["row_misses"], row_conflicts=a["row_conflicts"],
                           rserved=a["reads_served"], wserved=a["writes_served"], maint=a["refreshes_requested"])
                diff = {k: (got[k], want[k]) for k in got if got[k] != want[k]}
                if diff:
                    print(f"FAIL {tname} / {vname}: colscope vs oracle {diff}")
                    failures += 1
                elif vname == "default":
                    fwd = a["reads_forwarded"] + a["writes_coalesced"]
                    print(f"ok {tname}: {got['cycles']} cycles, {fwd} forwarded/coalesced")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
