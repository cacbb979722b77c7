#!/usr/bin/env python3
"""Capture round trip: tensors captured by tools/capture from small models built
with the real module classes (diffusers-style GEGLU FeedForward,
nn.TransformerEncoderLayer sequence-first and batch-first, timm-style Mlp) are
bit-identical to the layer inputs, carry the right step, timestep and CFG half,
and `colscope profile` on them gives exactly the element and column zero counts
computed independently in float64 numpy.

usage: test_capture_profile.py PATH/TO/colscope   (CTest passes it)"""
import os
import tempfile
import unittest

import torch
import torch.nn as nn

import capture_support as cs
from capture_support import colscope_capture

THRESHOLDS = [0.01, 0.05, 0.125, 0.3]  # 0.01, 0.05 and 0.3 are not representable in fp16/bf16
TILES = [1, 3, 4, 16, 64]


def build(kind):
    if kind == "unet":
        return cs.make_sparse(cs.TinyUNetTransformer()), "unet"
    if kind == "encoder-seq-first":
        return cs.make_sparse(cs.EncoderDenoiser(batch_first=False)), "enc"
    if kind == "encoder-batch-first":  # in eval + no_grad torch would take its fused fast path
        return cs.make_sparse(cs.EncoderDenoiser(batch_first=True)), "enc"
    return cs.make_sparse(cs.TinyDiT()), "dit"


def halves(x, axis, order):
    n = x.shape[axis] // 2
    return dict(zip(order, (x.narrow(axis, 0, n), x.narrow(axis, n, n))))


class RoundTrip(unittest.TestCase):
    def run_capture(self, kind, steps=3, **opts):
        model, loop = build(kind)
        names = [lay.name for lay in colscope_capture.find_layers(model)]
        rec = cs.Recorder(model, names)
        d = tempfile.mkdtemp(prefix="cs_cap_")
        with colscope_capture.capture(model, d, **opts) as cap:
            cs.sample_loop(model, steps=steps, kind=loop)
        rec.close()
        # the k-th call of a layer is step k: one denoiser call per step
        ref, seen = {}, {}
        for name, x in rec.calls:
            ref[(name, seen.get(name, 0))] = x
            seen[name] = seen.get(name, 0) + 1
        return model, d, cap, ref

    def test_round_trip_exact(self):
        for kind in ("unet", "encoder-seq-first", "encoder-batch-first", "dit"):
            for dtype in ("bf16", "fp16"):
                for split in (False, True):
                    with self.subTest(kind=kind, dtype=dtype, split_cfg=split):
                        self.check_round_trip(kind, dtype, split)

    def check_round_trip(self, kind, dtype, split):
        model, d, cap, ref = self.run_capture(kind, dtype=dtype, split_cfg=split)
        layers = colscope_capture.find_layers(model)
        self.assertEqual(len(cap.entries), 3 * len(layers) * (2 if split else 1))
        stored = dict((e["tensor"], (e, t)) for e, t in colscope_capture.load(d))
        prof = cs.profile(d, THRESHOLDS, TILES)
        for name, (e, t) in stored.items():
            x = ref[(e["layer"], e["step"])]
            axis = 1 if kind == "encoder-seq-first" else 0
            self.assertEqual(e["batch_axis"], axis)
            self.assertEqual(e["timestep"], 999 - 333 * e["step"])
            if split:
                x = halves(x, axis, ("uncond", "cond"))[e["cfg"]]
                self.assertNotIn("cfg_layout", e)
            else:
                self.assertEqual((e["cfg"], e["cfg_layout"]), ("both", ["uncond", "cond"]))
            self.assertEqual(e["batch"], x.shape[axis])
            x = x.to(cs.STORED[dtype])
            self.assertTrue(torch.equal(t.view(torch.int16), x.view(torch.int16)), name)  # bit-identical
            for th in THRESHOLDS:
                for h in TILES:
                    r = prof[(name, th, h)]
                    ze, zc = cs.reference_counts(x, th, h)
                    self.assertEqual((r["zero_elements"], r["zero_columns"]), (ze, zc), (name, th, h))
                    self.assertEqual(r["rows"] * r["features"], x.numel())
        # the model has dead channels: the comparison is not vacuous
        self.assertTrue(any(r["zero_columns"] for r in prof.values()))

    def test_cfg_halves_are_the_right_ones(self):
        """DiT's order is [cond, uncond]: with cfg_order given, the 'uncond' tensor is the one computed
        from the null class, checked against a run of the uncond half alone."""
        model = cs.make_sparse(cs.TinyDiT())
        d = tempfile.mkdtemp(prefix="cs_cfg_")
        x = torch.randn(2, 7, 16)
        y, null = torch.tensor([1, 2]), torch.tensor([4, 4])
        t = torch.tensor([500] * 4)
        with torch.no_grad():
            with colscope_capture.capture(model, d, dtype="fp16", cfg="halves", cfg_order=("cond", "uncond"),
                                          split_cfg=True):
                model(torch.cat([x, x]), t, torch.cat([y, null]))
            rec = cs.Recorder(model, ["blocks.1.mlp.fc2"])
            model(x, t[:2], null)
            rec.close()
        got = {e["cfg"]: tt for e, tt in colscope_capture.load(d) if e["layer"] == "blocks.1.mlp.fc2"}
        alone = rec.calls[0][1].to(torch.float16)
        torch.testing.assert_close(got["uncond"], alone, atol=2e-3, rtol=2e-3)
        self.assertFalse(torch.allclose(got["cond"], alone, atol=2e-3, rtol=2e-3))

    def test_subsampling(self):
        """steps=2 (every 2nd of 5), one layer by pattern, sample 1 of each CFG half."""
        model, loop = build("unet")
        rec = cs.Recorder(model, ["transformer_blocks.1.ff.net.2"])
        d = tempfile.mkdtemp(prefix="cs_sub_")
        with colscope_capture.capture(model, d, layers="*.1.ff.net.2", steps=2, batch_entries=[1],
                                      split_cfg=True) as cap:
            cs.sample_loop(model, steps=5, kind=loop)
        rec.close()
        ref = {(n, i): x for i, (n, x) in enumerate(rec.calls)}
        self.assertEqual({e["step"] for e in cap.entries}, {0, 2, 4})
        self.assertEqual({e["layer"] for e in cap.entries}, {"transformer_blocks.1.ff.net.2"})
        for e, t in colscope_capture.load(d):
            x = halves(ref[(e["layer"], e["step"])], 0, ("uncond", "cond"))[e["cfg"]][1:2]
            self.assertEqual(e["batch"], 1)
            self.assertTrue(torch.equal(t, x.to(torch.bfloat16)))
        ov = cap.overhead
        self.assertEqual((ov["steps_recorded"], ov["denoiser_calls"]), (3, 5))
        self.assertTrue(0 < ov["hook_seconds"] < ov["model_seconds"] <= ov["block_seconds"], ov)
        self.assertEqual(ov["bytes"], 3 * 2 * 7 * 64 * 2)  # steps x halves x tokens x width x bf16
        self.assertEqual(ov["bytes_per_step"], 2 * 7 * 64 * 2)

    def test_steps_list_and_no_cfg(self):
        model, loop = build("encoder-seq-first")
        d = tempfile.mkdtemp(prefix="cs_nocfg_")
        with colscope_capture.capture(model, d, steps=[1], layers=["seqTransEncoder.layers.0"]) as cap:
            g = torch.Generator().manual_seed(3)
            with torch.no_grad():
                for s in range(3):  # no CFG: one sample, cfg auto finds no identical halves
                    model(torch.randn(2, 5, 16, generator=g), torch.tensor([10 * s] * 2), torch.randn(2, 5, 8))
        self.assertEqual([(e["step"], e["cfg"], e["timestep"], e["shape"]) for e in cap.entries],
                         [(1, "none", 10.0, [6, 2, 32])])

    def test_sequential_cfg(self):
        """MDM's ClassifierFreeSampleModel runs the cond and the uncond pass as two calls of the inner model."""
        inner = cs.make_sparse(cs.EncoderDenoiser())

        class ClassifierFreeSampleModel(nn.Module):
            def __init__(self, model):
                super().__init__()
                self.model = model

            def forward(self, x, t, cond):
                out = self.model(x, t, cond)
                out_uncond = self.model(x, t, torch.zeros_like(cond))
                return out_uncond + 2.5 * (out - out_uncond)

        wrapper = ClassifierFreeSampleModel(inner)
        rec = cs.Recorder(inner, ["seqTransEncoder.layers.2.linear2"])
        d = tempfile.mkdtemp(prefix="cs_seq_")
        with torch.no_grad(), colscope_capture.capture(wrapper, d, layers="*.layers.2", cfg="sequential",
                                                       cfg_order=("cond", "uncond"), dtype="fp32") as cap:
            x = torch.randn(1, 5, 16)
            for s in range(2):
                x = x - 0.1 * wrapper(x, torch.tensor([900 - 100 * s]), torch.randn(1, 5, 8))
        rec.close()
        got = [(e["step"], e["cfg"], e["timestep"]) for e in cap.entries]
        self.assertEqual(got, [(0, "cond", 900.0), (0, "uncond", 900.0), (1, "cond", 800.0), (1, "uncond", 800.0)])
        for (e, t), (_, x) in zip(colscope_capture.load(d), rec.calls):
            self.assertTrue(torch.equal(t, x))

    def test_step_module_for_forward_with_cfg(self):
        """DiT samples through model.forward_with_cfg, which calls self.forward directly: no hook on the
        model fires, so steps are counted on a submodule called once per step."""
        model = cs.make_sparse(cs.TinyDiT())
        x, y = torch.randn(1, 7, 16), torch.tensor([2])
        d = tempfile.mkdtemp(prefix="cs_dit_")
        with self.assertRaisesRegex(colscope_capture.CaptureError, "step_module"):
            with torch.no_grad(), colscope_capture.capture(model, d):
                model.forward_with_cfg(torch.cat([x, x]), torch.tensor([7, 7]), torch.tensor([2, 4]), 4.0)
        with torch.no_grad(), colscope_capture.capture(model, d, step_module=model.t_embedder, timestep_arg=0,
                                                       cfg="halves", cfg_order=("cond", "uncond"),
                                                       overwrite=True) as cap:
            z = torch.cat([x, x])
            for s in range(3):
                z = z - 0.1 * model.forward_with_cfg(z, torch.tensor([30 - 10 * s] * 2), torch.cat([y, y * 0 + 4]),
                                                     4.0)
        self.assertEqual(sorted({(e["step"], e["timestep"]) for e in cap.entries}),
                         [(0, 30.0), (1, 20.0), (2, 10.0)])
        self.assertEqual({e["cfg_layout"][0] for e in cap.entries}, {"cond"})
        ov = cap.overhead  # the model's own calls are not timed here: the share is of the with block
        self.assertIsNone(ov["model_seconds"])
        self.assertTrue(0 < ov["hook_seconds"] <= ov["block_seconds"] and 0 < ov["hook_share"] <= 1, ov)

    def test_auto_cfg_looks_at_the_sample_not_the_timesteps(self):
        """Two different samples at the same timestep are not CFG halves, even when the step module
        (DiT's t_embedder) only sees the equal timesteps."""
        model = cs.make_sparse(cs.TinyDiT())
        d = tempfile.mkdtemp(prefix="cs_auto_")
        with torch.no_grad(), colscope_capture.capture(model, d, step_module=model.t_embedder) as cap:
            model(torch.randn(2, 7, 16), torch.tensor([5, 5]), torch.tensor([1, 2]))
        self.assertEqual({e["cfg"] for e in cap.entries}, {"none"})
        x = torch.randn(1, 7, 16)
        with torch.no_grad(), colscope_capture.capture(model, d, overwrite=True) as cap:
            model(torch.cat([x, x]), torch.tensor([5, 5]), torch.tensor([4, 2]))
        self.assertEqual({e["cfg"] for e in cap.entries}, {"both"})

    def test_many_shards(self):
        model, loop = build("dit")
        d = tempfile.mkdtemp(prefix="cs_shards_")
        with colscope_capture.capture(model, d, shard_bytes=3000) as cap:
            cs.sample_loop(model, steps=4, kind=loop)
        files = sorted({e["file"] for e in cap.entries})
        self.assertGreater(len(files), 2)
        self.assertEqual(sorted(f for f in os.listdir(d) if f != "manifest.json"), files)
        prof = cs.profile(d, [0.05], [4])
        self.assertEqual(len(prof), len(cap.entries))


if __name__ == "__main__":
    cs.main()
