#!/usr/bin/env python3
"""MDM (GuyTevet/motion-diffusion-model): capture the 8 nn.TransformerEncoderLayer
FFN activations (linear2's input, 1024 wide) per diffusion step, or generate
with them masked, by running MDM's own sample/generate.py with the capture or
mask wrapped around each of its sampling loops.

Run from a checkout of https://github.com/GuyTevet/motion-diffusion-model with
its dependencies and checkpoint; everything after `--` goes to generate.py:

  cd motion-diffusion-model
  python3 /path/to/colscope/tools/capture/examples/mdm.py capture OUT --every 10 -- \\
      --model_path ./save/humanml_trans_enc_512/model000200000.pt --text_prompt "a person jumps" \\
      --num_repetitions 1
  /path/to/colscope/build/colscope profile OUT/rep0

Each repetition (one p_sample_loop) is captured into OUT/repN. MDM's
ClassifierFreeSampleModel calls the inner model twice per step, cond then
uncond: cfg="sequential", cfg_order=("cond", "uncond"). (If your MDM version
batches the halves instead, use cfg="halves".) The encoder is sequence-first,
so tensors are [tokens, batch, 1024] with batch_axis 1; rows are token-major,
as the GEMM sees them.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.getcwd())  # the MDM checkout


def main():
    argv = sys.argv[1:]
    mdm_args = argv[argv.index("--") + 1:] if "--" in argv else []
    ours = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                usage="%(prog)s {capture,mask} [OUT] [options] -- GENERATE_ARGS...")
    p.add_argument("action", choices=["capture", "mask"])
    p.add_argument("out", nargs="?", default="mdm-capture")
    p.add_argument("--every", type=int, default=1, help="capture every k-th step (MDM runs 1000)")
    p.add_argument("--dtype", default="bf16")
    p.add_argument("--threshold", type=float, default=0.01)
    p.add_argument("--mode", choices=["element", "column"], default="column")
    p.add_argument("--tile-rows", type=int, default=128)
    a = p.parse_args(ours)

    from diffusion.gaussian_diffusion import GaussianDiffusion  # MDM checkout

    import colscope_capture

    original = GaussianDiffusion.p_sample_loop
    reps = []

    def p_sample_loop(self, model, *args, **kwargs):
        if a.action == "capture":
            out = os.path.join(a.out, f"rep{len(reps)}")
            with colscope_capture.capture(model, out, dtype=a.dtype, steps=a.every, cfg="sequential",
                                          cfg_order=("cond", "uncond"), model_name="MDM") as cap:
                result = original(self, model, *args, **kwargs)
            reps.append(cap.overhead)
        else:
            with colscope_capture.mask(model, a.threshold, a.mode, tile_rows=a.tile_rows) as m:
                result = original(self, model, *args, **kwargs)
            reps.append(m.totals.as_dict())
        return result

    GaussianDiffusion.p_sample_loop = p_sample_loop
    sys.argv = ["sample/generate.py"] + mdm_args
    from sample import generate
    generate.main()
    print(json.dumps(reps, indent=1))


if __name__ == "__main__":
    main()
