#!/usr/bin/env python3
"""Bad use of colscope_capture gives a clear CaptureError and never leaves a
corrupt shard or manifest: a pattern that matches nothing, a directory that
cannot be written (tests run as root, so not by chmod), a disk that fills up
while a shard or the manifest is written (simulated: the file's write raises
ENOSPC part-way), an exception in the user's loop, a capture of nothing.

usage: test_capture_errors.py PATH/TO/colscope   (CTest passes it)"""
import errno
import json
import os
import subprocess
import sys
import tempfile
import unittest

import torch

import capture_support as cs
from capture_support import colscope_capture
from colscope_capture import CaptureError, shards


class FillingFile:
    """A file whose disk fills after `room` bytes: writes what fits, then raises ENOSPC."""

    def __init__(self, path, room):
        self.f = open(path, "wb")
        self.room = room

    def write(self, b):
        b = memoryview(b).cast("B")
        n = min(len(b), self.room)
        self.f.write(b[:n])
        self.room -= n
        if n < len(b):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return n

    def __getattr__(self, name):
        return getattr(self.f, name)


class DiskFills:
    """Patches the writer so that the files whose name satisfies `fails` hit a full disk."""

    def __init__(self, fails, room=100):
        self.fails, self.room = fails, room

    def __enter__(self):
        self.orig = shards._open_for_write
        shards._open_for_write = lambda p: FillingFile(p, self.room) if self.fails(os.path.basename(p)) else \
            self.orig(p)

    def __exit__(self, *a):
        shards._open_for_write = self.orig


def assert_clean(test, d, colscope=True):
    """No temporary file; every shard is listed in the manifest and readable; colscope profile accepts it."""
    names = os.listdir(d)
    test.assertEqual([n for n in names if n.endswith(".tmp")], [])
    if "manifest.json" not in names:
        return None
    with open(os.path.join(d, "manifest.json")) as f:
        m = json.load(f)
    test.assertEqual(sorted({e["file"] for e in m["entries"]}), sorted(n for n in names if n != "manifest.json"))
    test.assertEqual(len(colscope_capture.load(d)), len(m["entries"]))
    if colscope:
        cs.profile(d, [0.05], [4])
    return m


def model_and_loop():
    return cs.make_sparse(cs.TinyDiT()), "dit"


class Errors(unittest.TestCase):
    def test_pattern_matching_nothing(self):
        model, _ = model_and_loop()
        d = os.path.join(tempfile.mkdtemp(), "never")
        with self.assertRaisesRegex(CaptureError, r"'blocks\.9\*' matches no FFN block.*blocks\.0\.mlp\.fc2"):
            colscope_capture.capture(model, d, layers=["blocks.0.*", "blocks.9*"])
        self.assertFalse(os.path.exists(d))
        with self.assertRaisesRegex(CaptureError, "no FFN down projection"):
            colscope_capture.capture(torch.nn.Sequential(torch.nn.ReLU()), d)

    def test_pattern_prefers_ffn_over_other_linears(self):
        model, _ = model_and_loop()
        self.assertEqual([lay.name for lay in colscope_capture.find_layers(model, "blocks.0.*")],
                         ["blocks.0.mlp.fc2"])
        self.assertEqual([(lay.name, lay.block_kind) for lay in colscope_capture.find_layers(model, "*.attn.qkv")],
                         [("blocks.0.attn.qkv", "linear"), ("blocks.1.attn.qkv", "linear")])

    def test_look_alike_and_decoder_layers(self):
        """MLD's own TransformerEncoderLayer (linear1/linear2, sequence-first attention) and torch's
        decoder layer are found, with the batch axis of their input."""

        class TransformerEncoderLayer(torch.nn.Module):  # as in MLD's mld/models/operator
            def __init__(self):
                super().__init__()
                self.self_attn = torch.nn.MultiheadAttention(8, 2)
                self.linear1, self.linear2 = torch.nn.Linear(8, 32), torch.nn.Linear(32, 8)

        model = torch.nn.ModuleDict({"enc": TransformerEncoderLayer(),
                                     "dec": torch.nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)})
        self.assertEqual([(lay.name, lay.block_kind, lay.batch_axis) for lay in colscope_capture.find_layers(model)],
                         [("enc.linear2", "transformer_encoder", 1), ("dec.linear2", "transformer_decoder", 0)])

    def test_directory_not_writable(self):
        model, loop = model_and_loop()
        f = tempfile.NamedTemporaryFile()
        for d in (os.path.join(f.name, "out"), "/proc/colscope_capture_test"):
            with self.subTest(d=d), self.assertRaisesRegex(CaptureError, "cannot write to capture directory " + d):
                with colscope_capture.capture(model, d):
                    cs.sample_loop(model, kind=loop)

    def test_disk_full_while_writing_a_shard(self):
        model, loop = model_and_loop()
        d = tempfile.mkdtemp(prefix="cs_full_")
        with DiskFills(lambda n: n.startswith("shard-00002")), \
                self.assertRaisesRegex(CaptureError, "shard-00002.safetensors: disk full") as ctx:
            with colscope_capture.capture(model, d, shard_bytes=1500):
                cs.sample_loop(model, steps=4, kind=loop)
        self.assertEqual(ctx.exception.__cause__.errno, errno.ENOSPC)
        m = assert_clean(self, d)
        self.assertEqual(sorted({e["file"] for e in m["entries"]}),
                         ["shard-00000.safetensors", "shard-00001.safetensors"])
        self.assertFalse(m["capture"]["complete"])

    def test_disk_full_at_the_last_flush(self):
        model, loop = model_and_loop()
        d = tempfile.mkdtemp(prefix="cs_full_")
        with DiskFills(lambda n: n.startswith("shard-")), self.assertRaisesRegex(CaptureError, "disk full"):
            with colscope_capture.capture(model, d):
                cs.sample_loop(model, steps=2, kind=loop)
        self.assertEqual(os.listdir(d), [])  # nothing complete, so nothing at all

    def test_disk_full_while_writing_the_manifest(self):
        model, loop = model_and_loop()
        d = tempfile.mkdtemp(prefix="cs_full_")
        with DiskFills(lambda n: n.startswith("manifest")), self.assertRaisesRegex(CaptureError,
                                                                                   "manifest.json: disk full"):
            with colscope_capture.capture(model, d, shard_bytes=1500):
                cs.sample_loop(model, steps=2, kind=loop)
        names = os.listdir(d)
        self.assertNotIn("manifest.json", names)
        self.assertEqual([n for n in names if n.endswith(".tmp")], [])
        for n in names:  # the shards are complete, only unlisted
            self.assertTrue(colscope_capture.read_safetensors(os.path.join(d, n)))

    def test_exception_in_the_users_loop(self):
        model, loop = model_and_loop()
        d = tempfile.mkdtemp(prefix="cs_exc_")
        x = torch.randn(1, 7, 16)
        with self.assertRaisesRegex(KeyError, "sampler broke"):
            with torch.no_grad(), colscope_capture.capture(model, d, shard_bytes=1 << 30):
                for s in range(5):
                    model(x, torch.tensor([s]), torch.tensor([1]))
                    if s == 1:
                        raise KeyError("sampler broke")
        m = assert_clean(self, d)
        self.assertEqual(sorted({e["step"] for e in m["entries"]}), [0, 1])
        self.assertFalse(m["capture"]["complete"])

    def test_nothing_captured(self):
        model, _ = model_and_loop()
        d = tempfile.mkdtemp(prefix="cs_none_")
        with self.assertRaisesRegex(CaptureError, "nothing was captured"):
            with colscope_capture.capture(model, d, steps=[7]):
                cs.sample_loop(model, steps=2, kind="dit")
        self.assertEqual(os.listdir(d), [])

    def test_existing_capture_is_not_overwritten_silently(self):
        model, loop = model_and_loop()
        d = tempfile.mkdtemp(prefix="cs_twice_")
        with colscope_capture.capture(model, d):
            cs.sample_loop(model, steps=1, kind=loop)
        with self.assertRaisesRegex(CaptureError, "already holds a capture"):
            colscope_capture.capture(model, d).__enter__()
        with colscope_capture.capture(model, d, overwrite=True, steps=[1]):
            cs.sample_loop(model, steps=2, kind=loop)
        self.assertEqual({e["step"] for e in assert_clean(self, d)["entries"]}, {1})

    def test_bad_options(self):
        model, loop = model_and_loop()
        d = tempfile.mkdtemp(prefix="cs_bad_")
        for kwargs, msg in (({"dtype": "int8"}, "int8"), ({"cfg": "both"}, "cfg="),
                            ({"cfg_order": ("a", "b")}, "cfg_order"), ({"steps": 0}, "steps=0")):
            with self.subTest(**kwargs), self.assertRaisesRegex(CaptureError, msg):
                colscope_capture.capture(model, d, **kwargs)
        with self.assertRaisesRegex(CaptureError, "not an even number"):
            with torch.no_grad(), colscope_capture.capture(model, d, cfg="halves"):
                model(torch.randn(3, 7, 16), torch.tensor([1] * 3), torch.tensor([1] * 3))
        with self.assertRaisesRegex(CaptureError, r"batch_entries \[5\] out of range"):
            with colscope_capture.capture(model, d, batch_entries=[5], overwrite=True):
                cs.sample_loop(model, steps=1, kind=loop)
        assert_clean(self, d)

    def test_cli_check_reports_a_bad_capture(self):
        model, loop = model_and_loop()
        d = tempfile.mkdtemp(prefix="cs_check_")
        with colscope_capture.capture(model, d):
            cs.sample_loop(model, steps=1, kind=loop)
        env = dict(os.environ, PYTHONPATH=os.path.join(cs.SOURCE_DIR, "tools", "capture"))
        run = lambda: subprocess.run([sys.executable, "-m", "colscope_capture", "check", d], env=env,
                                     capture_output=True, text=True)
        r = run()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("OK", r.stdout)
        mp = os.path.join(d, "manifest.json")
        with open(mp) as f:
            m = json.load(f)
        m["entries"][0]["shape"][0] += 1
        with open(mp, "w") as f:
            json.dump(m, f)
        r = run()
        self.assertEqual(r.returncode, 2)
        self.assertIn("entry 0: shape/dtype disagree", r.stderr)


if __name__ == "__main__":
    cs.main()
