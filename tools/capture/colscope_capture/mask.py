"""Rerunning a model with near-zero FFN activations dropped, as sparse hardware would."""
import math
from dataclasses import asdict, dataclass

import torch

from .errors import CaptureError
from .layers import Hooks, find_layers
from .shards import DTYPES, dtype_key
from .sparsity import column_zero, zero_mask

MODES = ("element", "column")


@dataclass
class LayerStats:
    """What one layer's masking saw and dropped, summed over its calls.

    ``elements_below``: elements with |x| < t; ``elements_dropped``: elements set
    to zero (= ``elements_below`` in element mode, the elements of zero columns
    in column mode); ``columns_seen``/``columns_dropped``: tiles x features and
    the zero columns among them (counted whenever ``tile_rows`` is given;
    ``None`` otherwise)."""
    block_kind: str
    calls: int = 0
    elements_seen: int = 0
    elements_below: int = 0
    elements_dropped: int = 0
    columns_seen: int = None
    columns_dropped: int = None

    def as_dict(self):
        return asdict(self)


class Mask:
    """Context manager zeroing the selected layers' inputs; see :func:`mask`."""

    def __init__(self, model, threshold, mode="element", tile_rows=None, layers="auto", compare_dtype=None):
        if mode not in MODES:
            raise CaptureError(f"mode={mode!r}: use 'element' or 'column'")
        if mode == "column" and not tile_rows:
            raise CaptureError("mode='column' needs tile_rows (the tile height h in rows)")
        if tile_rows is not None and (int(tile_rows) != tile_rows or tile_rows < 1):
            raise CaptureError(f"tile_rows={tile_rows!r}: must be a positive integer")
        t = float(threshold)
        if not t >= 0 or math.isinf(t):
            raise CaptureError(f"threshold={threshold!r}: must be a finite number >= 0")
        self.model = model
        self.threshold = t
        self.mode = mode
        self.tile_rows = None if tile_rows is None else int(tile_rows)
        self.compare_dtype = None if compare_dtype is None else DTYPES[dtype_key(compare_dtype)][0]
        self.layers = find_layers(model, layers)
        self._acc = {}
        self._hooks = None

    def __enter__(self):
        # per layer: LayerStats with the host-side counts, and the device-side counts
        # [below, (zero columns,) dropped] summed without a sync per call
        self._acc = {lay.name: [LayerStats(lay.block_kind), None] for lay in self.layers}
        self._hooks = Hooks(self.model)
        for lay in self.layers:
            self._hooks.pre(lay.module, self._make_hook(lay.name))
        return self

    def __exit__(self, *exc):
        self._hooks.close()
        return False

    def _make_hook(self, name):
        def hook(module, args):
            if not args or not torch.is_tensor(args[0]):
                return None
            x = args[0]
            z = zero_mask(x, self.threshold, self.compare_dtype)
            counts, drop = [z.sum()], z
            acc = self._acc[name]
            s = acc[0]
            s.calls += 1
            s.elements_seen += x.numel()
            if self.tile_rows:
                cols, col_elems = column_zero(z, self.tile_rows)
                counts.append(cols.sum())
                s.columns_seen = (s.columns_seen or 0) + cols.numel()
                if self.mode == "column":
                    drop = col_elems.view(x.shape)
            counts.append(drop.sum())
            c = torch.stack(counts).to(torch.int64)
            acc[1] = c if acc[1] is None else acc[1] + c
            return (x.masked_fill(drop, 0),) + tuple(args[1:])
        return hook

    @property
    def stats(self):
        """{layer name: LayerStats} for every selected layer (synchronises with the device)."""
        out = {}
        for name, (s, dev) in self._acc.items():
            s = LayerStats(**s.as_dict())
            if dev is not None:
                c = [int(v) for v in dev.cpu()]
                s.elements_below, s.elements_dropped = c[0], c[-1]
                if self.tile_rows:
                    s.columns_dropped = c[1]
            out[name] = s
        return out

    @property
    def totals(self):
        """The stats summed over layers (``block_kind`` "all")."""
        t = LayerStats("all")
        for s in self.stats.values():
            t.calls += s.calls
            t.elements_seen += s.elements_seen
            t.elements_below += s.elements_below
            t.elements_dropped += s.elements_dropped
            if s.columns_seen is not None:
                t.columns_seen = (t.columns_seen or 0) + s.columns_seen
                t.columns_dropped = (t.columns_dropped or 0) + s.columns_dropped
        return t


def mask(model, threshold, mode="element", tile_rows=None, layers="auto", compare_dtype=None):
    """Zeroes near-zero FFN activations while the ``with`` block runs.

    ``with mask(model, threshold=t, mode="element"|"column", tile_rows=h) as m:``

    - ``element``: every element with |x| < t is set to 0 (an element-skipping
      accelerator).
    - ``column``: the input of the down projection is viewed as the
      ``rows x features`` matrix its GEMM sees (rows = leading axes flattened in
      C order, over the *whole* input, both CFG halves included); only columns
      (one feature over a tile of ``tile_rows`` consecutive rows; a partial
      last tile is one column) whose every element is below t are set to 0 -
      exactly the columns ``colscope profile`` counts as zero.
    - ``compare_dtype``: compare in this dtype (e.g. ``"bf16"``, to match a
      capture stored in bf16); default the activation's own dtype. The dropped
      values are zeroed in the activation's dtype either way.
    - ``layers``: as for :func:`capture`.

    ``m.stats`` gives per layer the elements and columns seen and dropped
    (:class:`LayerStats`), ``m.totals`` their sum.
    """
    return Mask(model, threshold, mode, tile_rows, layers, compare_dtype)
