"""python3 -m colscope_capture: documents the API, lists the layers a model's
FFNs would be hooked at, and checks a capture directory."""
import argparse
import importlib
import os
import sys

from . import __version__
from .errors import CaptureError
from .layers import find_layers
from .shards import load

DESCRIPTION = """\
Record the FFN activations of a PyTorch diffusion model for `colscope profile`,
and rerun it with near-zero activations dropped. The package is used from the
user's own sampling script:

  import colscope_capture

  # (a) capture: shards + manifest.json that `colscope profile OUT` reads
  with colscope_capture.capture(unet, "OUT", layers="auto", dtype="bf16",
                                steps=5, cfg="auto") as cap:
      image = pipe(prompt, num_inference_steps=50).images[0]
  print(cap.overhead)          # hook time vs model time, bytes per step

  # (b) masking: zero activations before the down projection
  with colscope_capture.mask(unet, threshold=0.01, mode="column",
                             tile_rows=128) as m:
      image = pipe(prompt, num_inference_steps=50).images[0]
  print(m.totals, m.stats)     # elements / columns seen and dropped per layer

What is hooked: the input of the FFN down projection (diffusers FeedForward
ff.net.2, nn.TransformerEncoderLayer/DecoderLayer linear2, timm/DiT Mlp fc2),
auto-detected, or the modules named by glob patterns (layers=["*.ff.net.2"]).
Element mode drops every |x| < t; column mode drops a feature over a tile of
tile_rows consecutive rows of the rows x features matrix the GEMM sees only
when all its elements are below t (the columns `colscope profile` counts).

capture() options: steps (int k = every k-th, list, predicate), batch_entries,
cfg (auto|none|halves|sequential), cfg_order, split_cfg, step_module,
timestep_arg, model_name, shard_bytes, overwrite. mask() options: mode,
tile_rows, layers, compare_dtype. Full documentation: tools/capture/README.md.
"""


def _load_model(spec):
    mod, _, attr = spec.partition(":")
    if not attr:
        raise CaptureError(f"{spec!r}: expected MODULE:CALLABLE returning an nn.Module")
    sys.path.insert(0, os.getcwd())
    obj = importlib.import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj()


def cmd_layers(a):
    model = _load_model(a.model)
    for lay in find_layers(model, a.layers or "auto"):
        m = lay.module
        print(f"{lay.name}\t{lay.block_kind}\tin_features={getattr(m, 'in_features', '?')}\t"
              f"batch_axis={lay.batch_axis}")


def cmd_check(a):
    items = load(a.dir)
    steps = sorted({e.get("step") for e, _ in items if e.get("step") is not None})
    size = sum(t.numel() * t.element_size() for _, t in items)
    print(f"{a.dir}: {len(items)} tensors, {len(steps)} steps, {size} bytes of data: OK")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m colscope_capture", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"colscope_capture {__version__}")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    s = sub.add_parser("layers", help="list the layers that would be hooked in a model",
                       description="Builds MODULE:CALLABLE() (e.g. mypkg.models:build_tiny) and lists the "
                                   "layers capture()/mask() would hook.")
    s.add_argument("model", metavar="MODULE:CALLABLE")
    s.add_argument("--layers", nargs="+", metavar="GLOB", help="patterns instead of auto-detection")
    s.set_defaults(fn=cmd_layers)
    s = sub.add_parser("check", help="verify a capture directory against its shards",
                       description="Reads DIR/manifest.json and every shard it lists; checks that each entry's "
                                   "tensor exists with the manifest's shape and dtype.")
    s.add_argument("dir", metavar="DIR")
    s.set_defaults(fn=cmd_check)
    a = p.parse_args(argv)
    if not a.cmd:
        p.print_help()
        return 0
    try:
        a.fn(a)
    except (CaptureError, OSError, ValueError) as e:
        print(f"colscope_capture: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
