#!/usr/bin/env python3
"""Masking: colscope_capture.mask zeroes exactly the elements (|x| < t) or the
columns (all of a feature's elements in a tile of h rows below t) that
`colscope profile` counts as zero on a capture of the same inputs; its stats
equal profile's counts; the masked run differs from the dense run only where
something was dropped; the model is restored on exit.

usage: test_capture_mask.py PATH/TO/colscope   (CTest passes it)"""
import tempfile
import unittest

import numpy as np
import torch

import capture_support as cs
from capture_support import colscope_capture

MODELS = {
    "unet": (cs.TinyUNetTransformer, "unet"),
    "encoder-seq-first": (lambda: cs.EncoderDenoiser(batch_first=False), "enc"),
    "dit": (cs.TinyDiT, "dit"),
}


def expected_drop(x, t, mode, h, dtype):
    """Independent numpy reference: which elements of X the masking must zero."""
    a = np.abs(x.to(dtype).double().numpy()).reshape(-1, x.shape[-1])
    z = a < t
    if mode == "column":
        for i in range(0, z.shape[0], h):
            z[i:i + h] = z[i:i + h].all(axis=0)
    return torch.from_numpy(z).view(x.shape)


class Masking(unittest.TestCase):
    def test_stats_equal_colscope_profile(self):
        """capture (registered first: sees the input before masking) nested with mask, compared in bf16:
        per layer, m.stats equal colscope profile's counts summed over the layer's tensors."""
        for kind, (ctor, loop) in MODELS.items():
            for mode in ("element", "column"):
                for t, h in ((0.05, 4), (0.3, 16), (0.01, 3)):
                    with self.subTest(kind=kind, mode=mode, t=t, h=h):
                        model = cs.make_sparse(ctor())
                        d = tempfile.mkdtemp(prefix="cs_mask_")
                        with colscope_capture.capture(model, d, dtype="bf16"):
                            with colscope_capture.mask(model, t, mode, tile_rows=h, compare_dtype="bf16") as m:
                                cs.sample_loop(model, steps=2, kind=loop)
                        prof = cs.profile(d, [t], [h])
                        want = {}
                        for (_, _, _), r in prof.items():
                            w = want.setdefault(r["layer"], [0, 0, 0, 0, 0])
                            for i, k in enumerate(("elements", "zero_elements", "columns", "zero_columns")):
                                w[i] += r[k]
                            w[4] += 1
                        stats = m.stats
                        self.assertEqual(set(stats), set(want))
                        for layer, s in stats.items():
                            e, ze, c, zc, n = want[layer]
                            self.assertEqual((s.calls, s.elements_seen, s.elements_below, s.columns_seen,
                                              s.columns_dropped), (n, e, ze, c, zc), layer)
                            if mode == "element":
                                self.assertEqual(s.elements_dropped, ze)
                            else:  # every element of a zero column, at most h per column
                                self.assertTrue(zc <= s.elements_dropped <= min(ze, zc * h), layer)
                        self.assertGreater(m.totals.columns_dropped, 0)

    def test_masked_input_is_exactly_the_expected_one(self):
        """Recorders before and after the mask hook: the down projection sees its input with exactly the
        reference's elements zeroed, all others untouched, in the model's own dtype (fp32 compare)."""
        for kind, (ctor, loop) in MODELS.items():
            for mode, h in (("element", None), ("column", 4), ("column", 5)):
                with self.subTest(kind=kind, mode=mode, h=h):
                    model = cs.make_sparse(ctor())
                    names = [lay.name for lay in colscope_capture.find_layers(model)]
                    before = cs.Recorder(model, names)
                    with colscope_capture.mask(model, 0.05, mode, tile_rows=h) as m:
                        after = cs.Recorder(model, names)
                        cs.sample_loop(model, steps=2, kind=loop)
                        after.close()
                    before.close()
                    dropped = 0
                    for (n1, x), (n2, y) in zip(before.calls, after.calls):
                        self.assertEqual(n1, n2)
                        drop = expected_drop(x, 0.05, mode, h, torch.float32)
                        self.assertTrue(torch.equal(y, x.masked_fill(drop, 0.0)))
                        dropped += int(drop.sum())
                    self.assertEqual(dropped, m.totals.elements_dropped)
                    self.assertGreater(dropped, 0)
                    if mode == "element":
                        self.assertIsNone(m.totals.columns_seen)

    def test_outputs_differ_only_where_dropped(self):
        """A FeedForward alone: tokens whose activation row lost nothing have the dense output bit for bit;
        the others differ by exactly the dropped activations times the down projection's weights. The
        threshold is set from the data so that about half of the tiles lose something."""
        ff = cs.FeedForward(16)
        cs.make_sparse(torch.nn.Sequential(ff), dead=0)
        x = torch.randn(3, 11, 16)
        with torch.no_grad():
            dense = ff(x)
            rec = cs.Recorder(ff, ["net.2"])
            ff(x)
            rec.close()
            act = rec.calls[0][1]
            a = act.abs().reshape(-1, act.shape[-1])
            for mode, h in (("element", 1), ("column", 2), ("column", 8)):
                with self.subTest(mode=mode, h=h):
                    # per tile: the smallest over features of the largest |x| in the tile's column
                    tile_min = torch.stack([a[i:i + h].max(dim=0).values.min() for i in range(0, a.shape[0], h)])
                    t = float(tile_min.median()) * 1.0001
                    with colscope_capture.mask(ff, t, mode, tile_rows=h):
                        masked = ff(x)
                    drop = expected_drop(act, t, mode, h, torch.float32)
                    rows_hit = drop.any(dim=-1)
                    self.assertTrue(rows_hit.any() and not rows_hit.all())
                    self.assertTrue(torch.equal(masked[~rows_hit], dense[~rows_hit]))
                    self.assertFalse((masked[rows_hit] == dense[rows_hit]).all(dim=-1).any())
                    delta = (act * drop) @ ff.net[2].weight.T
                    torch.testing.assert_close(dense - masked, delta, atol=1e-5, rtol=1e-4)

    def test_threshold_zero_is_the_dense_model(self):
        for kind, (ctor, loop) in MODELS.items():
            with self.subTest(kind=kind):
                model = cs.make_sparse(ctor())
                dense = cs.sample_loop(model, steps=2, kind=loop)
                for mode in ("element", "column"):
                    with colscope_capture.mask(model, 0.0, mode, tile_rows=4) as m:
                        out = cs.sample_loop(model, steps=2, kind=loop)
                    self.assertTrue(torch.equal(out, dense))
                    self.assertEqual(m.totals.elements_dropped, 0)
                    masked = None
                with colscope_capture.mask(model, 0.1, "element") as m:
                    masked = cs.sample_loop(model, steps=2, kind=loop)
                self.assertFalse(torch.equal(masked, dense))

    def test_fast_path_disabled_while_hooked_and_restored(self):
        model = cs.make_sparse(cs.EncoderDenoiser(batch_first=True))
        layers = list(model.seqTransEncoder.layers)
        self.assertTrue(all(lay.activation_relu_or_gelu for lay in layers))
        with colscope_capture.mask(model, 0.05, "column", tile_rows=4) as m:
            self.assertFalse(any(lay.activation_relu_or_gelu for lay in layers))
            cs.sample_loop(model, steps=1, kind="enc")
        self.assertEqual(m.totals.calls, 3)
        self.assertTrue(all(lay.activation_relu_or_gelu == 2 for lay in layers))
        self.assertFalse(any(mod._forward_pre_hooks for mod in model.modules()))

    def test_bad_arguments(self):
        model = cs.TinyDiT()
        for kwargs, msg in (({"mode": "row"}, "mode"), ({"mode": "column"}, "tile_rows"),
                            ({"mode": "column", "tile_rows": 0}, "tile_rows"), ({"threshold": -1}, "threshold"),
                            ({"layers": "nope.*"}, "nope"), ({"compare_dtype": "int8"}, "int8")):
            args = dict({"threshold": 0.1}, **kwargs)
            with self.subTest(**kwargs), self.assertRaisesRegex(colscope_capture.CaptureError, msg):
                colscope_capture.mask(model, **args)


if __name__ == "__main__":
    cs.main()
