#!/usr/bin/env python3
"""The command line and scripts around colscope_capture run: `python3 -m
colscope_capture --help` documents capture() and mask(); `layers` lists what
would be hooked; every example's --help works without its model's packages;
the overhead benchmark runs (quick mode).

usage: test_capture_cli.py PATH/TO/colscope   (CTest passes it)"""
import glob
import os
import subprocess
import sys
import unittest

import capture_support as cs

TOOL = os.path.join(cs.SOURCE_DIR, "tools", "capture")


def run(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=TOOL)
    return subprocess.run([sys.executable] + list(args), env=env, cwd=cwd, capture_output=True, text=True)


class Cli(unittest.TestCase):
    def test_help_documents_both(self):
        r = run("-m", "colscope_capture", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        for word in ("capture(", "mask(", "tile_rows", "column", "element", "cfg", "README"):
            self.assertIn(word, r.stdout)

    def test_layers(self):
        r = run("-m", "colscope_capture", "layers", "capture_support:TinyUNetTransformer",
                cwd=os.path.dirname(os.path.abspath(__file__)))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([line.split("\t")[:2] for line in r.stdout.splitlines()],
                         [["transformer_blocks.0.ff.net.2", "geglu_ff"], ["transformer_blocks.1.ff.net.2", "geglu_ff"]])
        r = run("-m", "colscope_capture", "layers", "capture_support:TinyDiT", "--layers", "nothing.*",
                cwd=os.path.dirname(os.path.abspath(__file__)))
        self.assertEqual(r.returncode, 2)
        self.assertIn("'nothing.*' matches no FFN block", r.stderr)

    def test_examples_help(self):
        examples = sorted(glob.glob(os.path.join(TOOL, "examples", "*.py")))
        self.assertEqual([os.path.basename(e) for e in examples], ["dit.py", "mdm.py", "sd15.py"])
        for e in examples:
            with self.subTest(example=e):
                r = run(e, "--help")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("capture", r.stdout)

    def test_bench_quick(self):
        r = run(os.path.join(TOOL, "bench_overhead.py"), "--quick")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("bytes/step", r.stdout)


if __name__ == "__main__":
    cs.main()
