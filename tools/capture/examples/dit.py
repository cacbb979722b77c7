#!/usr/bin/env python3
"""DiT-XL/2 (facebookresearch/DiT): capture the 28 Mlp activations (fc2's
input, 256 tokens x 4608 at 256x256) per sampling step, or sample with them
masked.

Run from a checkout of https://github.com/facebookresearch/DiT (its models.py,
diffusion/ and download.py are imported; the checkpoint is found or downloaded
by its find_model) with diffusers installed for the VAE:

  cd DiT
  python3 /path/to/colscope/tools/capture/examples/dit.py capture OUT --every 25 --samples 1
  /path/to/colscope/build/colscope profile OUT

DiT samples through model.forward_with_cfg, which calls self.forward directly
(no module hook on the model fires), so steps are counted on model.t_embedder,
called once per step with the timesteps. Its CFG batch is [cond, uncond]:
cfg_order=("cond", "uncond").
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.getcwd())  # the DiT checkout


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["capture", "mask"])
    p.add_argument("out", nargs="?", default="dit-capture")
    p.add_argument("--image-size", type=int, choices=[256, 512], default=256)
    p.add_argument("--steps", type=int, default=250, help="sampling steps (DiT's default 250)")
    p.add_argument("--cfg-scale", type=float, default=4.0)
    p.add_argument("--samples", type=int, default=1, help="class labels sampled (CFG doubles the batch)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--every", type=int, default=1, help="capture every k-th step")
    p.add_argument("--dtype", default="bf16")
    p.add_argument("--threshold", type=float, default=0.01)
    p.add_argument("--mode", choices=["element", "column"], default="column")
    p.add_argument("--tile-rows", type=int, default=128)
    p.add_argument("--image", default="dit.png")
    a = p.parse_args()

    import torch
    from diffusers.models import AutoencoderKL
    from torchvision.utils import save_image

    from diffusion import create_diffusion  # DiT checkout
    from download import find_model
    from models import DiT_models

    import colscope_capture

    torch.manual_seed(a.seed)
    torch.set_grad_enabled(False)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    latent = a.image_size // 8
    model = DiT_models["DiT-XL/2"](input_size=latent, num_classes=1000).to(device)
    model.load_state_dict(find_model(f"DiT-XL-2-{a.image_size}x{a.image_size}.pt"))
    model.eval()
    diffusion = create_diffusion(str(a.steps))
    labels = [207, 360, 387, 974, 88, 979, 417, 279][:a.samples]
    n = len(labels)
    z = torch.randn(n, 4, latent, latent, device=device)
    y = torch.tensor(labels + [1000] * n, device=device)  # [cond, uncond]

    def run():
        s = diffusion.p_sample_loop(model.forward_with_cfg, (2 * n, 4, latent, latent), torch.cat([z, z]),
                                    clip_denoised=False, model_kwargs=dict(y=y, cfg_scale=a.cfg_scale),
                                    progress=True, device=device)
        return s[:n]

    if a.action == "capture":
        with colscope_capture.capture(model, a.out, dtype=a.dtype, steps=a.every, cfg="halves",
                                      cfg_order=("cond", "uncond"), step_module=model.t_embedder, timestep_arg=0,
                                      model_name=f"DiT-XL/2-{a.image_size}") as cap:
            samples = run()
        print(json.dumps(cap.overhead))
    else:
        with colscope_capture.mask(model, a.threshold, a.mode, tile_rows=a.tile_rows) as m:
            samples = run()
        print(json.dumps({"all": m.totals.as_dict()}, indent=1))
    vae = AutoencoderKL.from_pretrained("stabilityai/sd-vae-ft-mse").to(device)
    save_image(vae.decode(samples / 0.18215).sample, a.image, nrow=4, normalize=True, value_range=(-1, 1))


if __name__ == "__main__":
    main()
