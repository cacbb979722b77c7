"""Zero elements and zero columns exactly as ``colscope profile`` counts them
(docs/MODEL.md section 1).

- The tensor is the ``rows x features`` matrix the down projection's GEMM sees:
  features = last axis, rows = all leading axes flattened in C order.
- An element is zero iff ``|x| < t`` (strict), compared exactly in the dtype
  the values are held in: ``t`` is replaced by the smallest value of that dtype
  that is >= t, so no rounding of ``t`` can move the boundary. NaN is never
  zero.
- A column is one feature over a tile of ``h`` consecutive rows, tile i =
  rows ``[i*h, min((i+1)*h, rows))``; a partial last tile is one column of its
  own height. A column is zero iff all its elements are.
"""
import math

import torch

_INT_OF = {torch.bfloat16: torch.int16, torch.float16: torch.int16, torch.float32: torch.int32,
           torch.float64: torch.int64}


def threshold_in(dtype, t):
    """The smallest value of floating DTYPE that is >= t (a 0-d tensor of DTYPE); |x| < it <=> |x| < t."""
    k = torch.tensor(float(t), dtype=torch.float64).to(dtype)
    if float(k) < t:  # rounded down: step to the next representable value up
        step = 1 if float(k) >= 0 else -1
        k = (k.view(_INT_OF[dtype]) + step).view(dtype)
    return k


def zero_mask(x, threshold, compare_dtype=None):
    """Boolean tensor of x's shape: |x| < threshold, compared in COMPARE_DTYPE (default x's dtype)."""
    if compare_dtype is not None and x.dtype != compare_dtype:
        x = x.to(compare_dtype)
    if threshold <= 0:
        return torch.zeros(x.shape, dtype=torch.bool, device=x.device)
    return x.abs() < threshold_in(x.dtype, threshold).to(x.device)


def column_zero(z, tile_rows):
    """For a zero mask Z (any shape, features last): ([tiles, features] bool of zero columns,
    [rows, features] bool marking the elements of zero columns)."""
    f = z.shape[-1]
    z2 = z.reshape(-1, f)
    rows = z2.shape[0]
    tiles = math.ceil(rows / tile_rows)
    pad = tiles * tile_rows - rows
    if pad:  # padding rows count as zero: a partial tile is zero iff its real rows are
        z2 = torch.cat([z2, torch.ones(pad, f, dtype=torch.bool, device=z.device)])
    cols = z2.view(tiles, tile_rows, f).all(dim=1)
    elems = cols.unsqueeze(1).expand(tiles, tile_rows, f).reshape(tiles * tile_rows, f)[:rows]
    return cols, elems
