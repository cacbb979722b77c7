"""Shared by tests/cli/test_capture_*.py: small models built from the real
module classes the capture tool hooks, a CFG sampling loop, an independent
numpy reference for element/column zero counts, and a runner for
``colscope profile``. Not a test itself (CTest runs only test_*.py)."""
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SOURCE_DIR = os.environ.get("CS_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tools", "capture"))
COLSCOPE = os.environ.get("CS_COLSCOPE") or os.path.join(SOURCE_DIR, "build", "colscope")

import colscope_capture  # noqa: E402


def main():
    """unittest.main() for a test script called as SCRIPT PATH/TO/colscope [unittest args]."""
    global COLSCOPE
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        COLSCOPE = sys.argv.pop(1)
    with tempfile.TemporaryDirectory(prefix="cs_capture_test_") as d:
        tempfile.tempdir = d  # every mkdtemp of the tests lands here and is removed at the end
        ok = unittest.main(exit=False).result.wasSuccessful()
        tempfile.tempdir = None
    sys.exit(0 if ok else 1)


# --- diffusers-style GEGLU FeedForward (diffusers.models.attention) ----------
class GEGLU(nn.Module):
    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x):
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * mult), nn.Dropout(0.0), nn.Linear(dim * mult, dim)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, cond_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = nn.MultiheadAttention(dim, 2, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = nn.MultiheadAttention(dim, 2, kdim=cond_dim, vdim=cond_dim, batch_first=True)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x, ctx):
        h = self.norm1(x)
        x = x + self.attn1(h, h, h, need_weights=False)[0]
        h = self.norm2(x)
        x = x + self.attn2(h, ctx, ctx, need_weights=False)[0]
        return x + self.ff(self.norm3(x))


class TinyUNetTransformer(nn.Module):
    """Stands in for an SD UNet's transformer blocks: denoiser(sample, timestep, encoder_hidden_states)."""

    def __init__(self, dim=16, cond_dim=8, blocks=2):
        super().__init__()
        self.time = nn.Linear(1, dim)
        self.transformer_blocks = nn.ModuleList(BasicTransformerBlock(dim, cond_dim) for _ in range(blocks))
        self.out = nn.Linear(dim, dim)

    def forward(self, sample, timestep, encoder_hidden_states):
        x = sample + self.time(timestep.float().view(-1, 1, 1) / 1000)
        for b in self.transformer_blocks:
            x = b(x, encoder_hidden_states)
        return self.out(x)


# --- torch nn.TransformerEncoderLayer stack (MDM, MLD) -------------------------
class EncoderDenoiser(nn.Module):
    def __init__(self, dim=16, layers=3, batch_first=False, cond_dim=8):
        super().__init__()
        self.batch_first = batch_first
        self.time = nn.Linear(1, dim)
        self.cond = nn.Linear(cond_dim, dim)
        layer = nn.TransformerEncoderLayer(dim, 2, dim_feedforward=2 * dim, dropout=0.0, activation="gelu",
                                           batch_first=batch_first)
        self.seqTransEncoder = nn.TransformerEncoder(layer, layers)
        self.out = nn.Linear(dim, dim)

    def forward(self, x, timesteps, cond):
        emb = self.time(timesteps.float().view(-1, 1) / 1000) + self.cond(cond.mean(dim=1))
        h = torch.cat([emb.unsqueeze(1), x], dim=1)  # MDM prepends one time+text token
        if not self.batch_first:
            h = h.transpose(0, 1)
        h = self.seqTransEncoder(h)
        if not self.batch_first:
            h = h.transpose(0, 1)
        return self.out(h[:, 1:])


# --- timm-style Mlp in DiT blocks ---------------------------------------------
class Mlp(nn.Module):  # timm.layers.mlp.Mlp
    def __init__(self, in_features, hidden_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU(approximate="tanh")
        self.drop1 = nn.Dropout(0.0)
        self.norm = nn.Identity()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop2 = nn.Dropout(0.0)

    def forward(self, x):
        return self.drop2(self.fc2(self.norm(self.drop1(self.act(self.fc1(x))))))


class Attention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
        return self.proj(a @ v)


class DiTBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, x, c):
        x = x + self.attn(self.norm1(x) + c)
        return x + self.mlp(self.norm2(x) + c)


class TimestepEmbedder(nn.Module):  # DiT's: called once per forward with the 1-d timesteps
    def __init__(self, dim):
        super().__init__()
        self.mlp = nn.Linear(1, dim)

    def forward(self, t):
        return self.mlp(t.float().view(-1, 1) / 1000)


class TinyDiT(nn.Module):
    def __init__(self, dim=16, depth=2, num_classes=4):
        super().__init__()
        self.t_embedder = TimestepEmbedder(dim)
        self.y_embedder = nn.Embedding(num_classes + 1, dim)  # last index = null class
        self.blocks = nn.ModuleList(DiTBlock(dim) for _ in range(depth))
        self.out = nn.Linear(dim, dim)

    def forward(self, x, t, y):
        c = (self.t_embedder(t) + self.y_embedder(y)).unsqueeze(1)
        for b in self.blocks:
            x = b(x, c)
        return self.out(x)

    def forward_with_cfg(self, x, t, y, cfg_scale):  # as in facebookresearch/DiT: calls self.forward directly
        half = x[: len(x) // 2]
        out = self.forward(torch.cat([half, half]), t, y)
        cond, uncond = out.chunk(2)
        h = uncond + cfg_scale * (cond - uncond)
        return torch.cat([h, h])


def make_sparse(model, dead=0.25, seed=0):
    """Deterministic weights, and a quarter of each FFN's hidden channels pushed far negative so the
    activation holds dead channels (column sparsity at every tile height), as in real UNets."""
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=1.0 / math.sqrt(m.in_features))
            if m.bias is not None:
                nn.init.normal_(m.bias, std=0.5)
    for lay in colscope_capture.find_layers(model):
        up = {"mlp": "fc1", "transformer_encoder": "linear1", "geglu_ff": None}[lay.block_kind]
        n = lay.module.in_features
        k = int(dead * n)
        with torch.no_grad():
            if up is None:  # GEGLU: the gate is the second half of proj's output
                proj = model.get_submodule(lay.name.rsplit(".", 1)[0] + ".0.proj")
                proj.bias[n:n + k] = -8.0
            else:
                model.get_submodule(lay.name.rsplit(".", 1)[0] + "." + up).bias[:k] = -8.0
    return model.eval()


def sample_loop(model, steps=3, batch=2, tokens=7, dim=16, cfg=True, kind="unet", seed=1):
    """A DDIM-like loop with classifier-free guidance by batch doubling ([uncond, cond], diffusers order)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, tokens, dim, generator=g)
    if kind == "dit":
        y = torch.arange(batch) % 4
    else:
        cond = torch.randn(batch, 5, 8, generator=g)
        uncond = torch.zeros_like(cond)
    with torch.no_grad():
        for s in range(steps):
            t = torch.full((2 * batch if cfg else batch,), 999 - 333 * s)
            inp = torch.cat([x, x]) if cfg else x
            if kind == "dit":
                yy = torch.cat([torch.full_like(y, 4), y]) if cfg else y
                out = model(inp, t, yy)
            else:
                out = model(inp, t, torch.cat([uncond, cond]) if cfg else cond)
            if cfg:
                u, c = out.chunk(2)
                out = u + 3.0 * (c - u)
            x = x - 0.2 * out
    return x


class Recorder:
    """Test-side record of every input of the hooked layers, independent of the package."""

    def __init__(self, model, names):
        self.calls = []  # (layer name, tensor)
        self.handles = [model.get_submodule(n).register_forward_pre_hook(self._hook(n)) for n in names]

    def _hook(self, name):
        def h(m, args):
            self.calls.append((name, args[0].detach().clone()))
        return h

    def close(self):
        for h in self.handles:
            h.remove()


def reference_counts(x, threshold, tile_rows):
    """(zero elements, zero columns) of X per docs/MODEL.md, in float64 numpy, strict <."""
    a = np.abs(x.double().numpy()).reshape(-1, x.shape[-1])
    z = a < threshold
    cols = sum(int(z[i:i + tile_rows].all(axis=0).sum()) for i in range(0, z.shape[0], tile_rows))
    return int(z.sum()), cols


STORED = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def profile(path, thresholds, tile_rows):
    """Runs colscope profile on PATH; returns {(tensor, threshold, tile_rows): record}."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "p.json")
        subprocess.run([COLSCOPE, "profile", path, "-q", "--json", out, "--thresholds",
                        ",".join(repr(t) for t in thresholds), "--tile-rows", ",".join(map(str, tile_rows))],
                       check=True)
        with open(out) as f:
            recs = json.load(f)["records"]
    return {(r["tensor"], r["threshold"], r["tile_rows"]): r for r in recs}
