"""colscope_capture: record the FFN activations of PyTorch diffusion models for
``colscope profile``, and rerun them with near-zero activations dropped.

    with colscope_capture.capture(model, out_dir, layers="auto", dtype="bf16") as cap:
        run_sampling_loop()          # writes out_dir/shard-*.safetensors + manifest.json
    with colscope_capture.mask(model, threshold=0.01, mode="column", tile_rows=128) as m:
        run_sampling_loop()
    print(m.stats)

See tools/capture/README.md and ``python3 -m colscope_capture --help``.
"""
__version__ = "0.1.0"

from .capture import Capture, capture  # noqa: E402
from .errors import CaptureError  # noqa: E402
from .layers import Layer, find_layers  # noqa: E402
from .mask import LayerStats, Mask, mask  # noqa: E402
from .shards import load, read_safetensors  # noqa: E402
from .sparsity import column_zero, zero_mask  # noqa: E402

__all__ = ["capture", "Capture", "mask", "Mask", "LayerStats", "find_layers", "Layer", "CaptureError", "load",
           "read_safetensors", "zero_mask", "column_zero", "__version__"]
