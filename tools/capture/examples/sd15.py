#!/usr/bin/env python3
"""Stable Diffusion v1.5 (diffusers): capture the 16 GEGLU FeedForward
activations of the UNet per denoising step, or generate with them masked.

Needs diffusers and the model weights (a Hugging Face model id or a local
directory); on CPU it is very slow, use a GPU.

  # capture every 5th of 50 steps (10 steps x 176 MiB = 1.8 GB) and profile it
  python3 tools/capture/examples/sd15.py capture OUT --every 5
  build/colscope profile OUT --json OUT/profile.json

  # the same prompt and seed with column masking (t = 0.01, h = 128)
  python3 tools/capture/examples/sd15.py mask --threshold 0.01 --mode column --tile-rows 128 --image masked.png

The UNet runs both CFG halves in one call (torch.cat([latents] * 2), order
[uncond, cond]): cfg="auto" detects it and each tensor holds both halves as the
GEMM sees them (cfg "both", cfg_layout [uncond, cond]).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["capture", "mask"])
    p.add_argument("out", nargs="?", default="sd15-capture", help="capture directory (capture)")
    p.add_argument("--model", default="runwayml/stable-diffusion-v1-5", help="model id or local path")
    p.add_argument("--prompt", default="a photograph of an astronaut riding a horse")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--guidance", type=float, default=7.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--every", type=int, default=1, help="capture every k-th step")
    p.add_argument("--dtype", default="fp16", help="stored dtype (default fp16: what the fp16 UNet computes)")
    p.add_argument("--threshold", type=float, default=0.01)
    p.add_argument("--mode", choices=["element", "column"], default="column")
    p.add_argument("--tile-rows", type=int, default=128)
    p.add_argument("--image", default="sd15.png")
    a = p.parse_args()

    import torch
    from diffusers import StableDiffusionPipeline

    import colscope_capture

    device = "cuda" if torch.cuda.is_available() else "cpu"
    pipe = StableDiffusionPipeline.from_pretrained(
        a.model, torch_dtype=torch.float16 if device == "cuda" else torch.float32).to(device)
    gen = torch.Generator(device).manual_seed(a.seed)
    run = lambda: pipe(a.prompt, num_inference_steps=a.steps, guidance_scale=a.guidance,  # noqa: E731
                       generator=gen).images[0]
    if a.action == "capture":
        with colscope_capture.capture(pipe.unet, a.out, dtype=a.dtype, steps=a.every, cfg="auto",
                                      model_name="stable-diffusion-v1-5") as cap:
            image = run()
        print(json.dumps(cap.overhead))
    else:
        with colscope_capture.mask(pipe.unet, a.threshold, a.mode, tile_rows=a.tile_rows) as m:
            image = run()
        print(json.dumps(dict({k: s.as_dict() for k, s in m.stats.items()}, all=m.totals.as_dict()), indent=1))
    image.save(a.image)


if __name__ == "__main__":
    main()
