"""Recording FFN activations per denoising step into sharded safetensors plus
the colscope activation manifest (docs/FORMATS.md)."""
import math
import os
import time

import torch

from . import __version__
from .errors import CaptureError
from .layers import Hooks, find_layers
from .shards import DTYPES, ShardWriter, dtype_key, write_json_atomic

CFG_MODES = ("auto", "none", "halves", "sequential")


class StepCounter:
    """Counts top-level calls of the denoiser (the step module): step i is the
    i-th call, from 0. Nested or recursive calls do not count. Also times the
    calls and finds the timestep argument."""

    def __init__(self, hooks, module, timestep_arg=None, on_step=None):
        self.step = -1
        self.depth = 0
        self.calls = 0
        self.seconds = 0.0
        self.timestep = None
        self.timestep_arg = timestep_arg
        self.on_step = on_step
        self._t0 = 0.0
        hooks.pre(module, self._pre, with_kwargs=True)
        hooks.post(module, self._post)

    def _pre(self, module, args, kwargs):
        self.depth += 1
        if self.depth == 1:
            self.step += 1
            self.calls += 1
            self.timestep = _timestep(args, kwargs, self.timestep_arg)
            if self.on_step is not None:
                self.on_step(args, kwargs)
            self._t0 = time.perf_counter()

    def _post(self, module, args, out):
        self.depth -= 1
        if self.depth == 0:
            self.seconds += time.perf_counter() - self._t0


def _scalar(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if torch.is_tensor(v) and v.numel() >= 1 and v.dim() <= 1 and v.dtype != torch.bool:
        flat = v.reshape(-1)
        if flat.numel() == 1 or bool((flat == flat[0]).all()):
            return float(flat[0])
    return None


def _timestep(args, kwargs, which):
    """The scheduler timestep of a denoiser call: ``which`` is an argument index
    or keyword; by default the keyword timestep/timesteps/t, else the second
    positional argument. Only a number or a 0-d/1-d tensor of equal values counts."""
    try:
        if isinstance(which, int):
            return _scalar(args[which]) if which < len(args) else None
        if isinstance(which, str):
            return _scalar(kwargs.get(which))
        for k in ("timestep", "timesteps", "t"):
            if k in kwargs:
                return _scalar(kwargs[k])
        return _scalar(args[1]) if len(args) >= 2 else None
    except Exception:  # never break the user's run for metadata
        return None


def _first_sample_tensor(args, kwargs):
    """The denoiser's input sample: its first tensor argument of 2 or more dimensions (timesteps,
    1-d, are skipped: they are equal across the halves whether or not CFG runs)."""
    for a in list(args) + [kwargs.get(k) for k in ("sample", "x", "latents", "hidden_states")]:
        if torch.is_tensor(a) and a.dim() >= 2:
            return a
    return None


def _step_filter(steps):
    if steps is None:
        return lambda s: True
    if isinstance(steps, int) and not isinstance(steps, bool):
        if steps < 1:
            raise CaptureError(f"steps={steps}: an integer means every k-th step and must be >= 1")
        return lambda s: s % steps == 0
    if callable(steps):
        return steps
    chosen = set(int(s) for s in steps)
    return lambda s: s in chosen


class Capture:
    """Context manager recording the inputs of the selected layers; see :func:`capture`."""

    def __init__(self, model, out_dir, layers="auto", dtype="bf16", *, steps=None, batch_entries=None, cfg="auto",
                 cfg_order=("uncond", "cond"), split_cfg=False, step_module=None, timestep_arg=None,
                 model_name=None, shard_bytes=256 << 20, overwrite=False):
        if cfg not in CFG_MODES:
            raise CaptureError(f"cfg={cfg!r}: use one of {', '.join(CFG_MODES)}")
        if len(cfg_order) != 2 or set(cfg_order) != {"uncond", "cond"}:
            raise CaptureError(f"cfg_order={cfg_order!r}: must be ('uncond', 'cond') or ('cond', 'uncond')")
        self.model = model
        self.out_dir = os.fspath(out_dir)
        self.dtype = dtype_key(dtype)
        self.torch_dtype, self.st_dtype, _ = DTYPES[self.dtype]
        self.layers = find_layers(model, layers)
        self.cfg, self.cfg_order, self.split_cfg = cfg, tuple(cfg_order), bool(split_cfg)
        self.steps_spec = steps
        self._want = _step_filter(steps)
        self.batch_entries = None if batch_entries is None else [int(b) for b in batch_entries]
        self.step_module = model if step_module is None else step_module
        self.timestep_arg = timestep_arg
        self.model_name = model_name or type(model).__name__
        self.shard_bytes = shard_bytes
        self.overwrite = overwrite
        self.manifest_path = os.path.join(self.out_dir, "manifest.json")
        self.entries = []
        self.overhead = {}
        self.hook_seconds = 0.0
        self._hooks = None

    # -- set-up and tear-down -------------------------------------------------
    def _prepare_dir(self):
        try:
            os.makedirs(self.out_dir, exist_ok=True)
            old = [n for n in os.listdir(self.out_dir)
                   if n == "manifest.json" or (n.startswith("shard-") and ".safetensors" in n)]
            if old and not self.overwrite:
                raise CaptureError(f"{self.out_dir} already holds a capture ({old[0]}); pass overwrite=True "
                                   "or choose another directory")
            for n in old:
                os.unlink(os.path.join(self.out_dir, n))
            probe = os.path.join(self.out_dir, ".colscope_capture_probe.tmp")
            with open(probe, "wb") as f:
                f.write(b"x")
            os.unlink(probe)
        except OSError as e:
            raise CaptureError(f"cannot write to capture directory {self.out_dir}: {e.strerror or e}") from e

    def __enter__(self):
        self._prepare_dir()
        self.writer = ShardWriter(self.out_dir, self.shard_bytes)
        self._calls = {}  # layer name -> calls in the current step
        self._step_cfg = "none"
        self._steps_seen = set()
        self.hook_seconds = 0.0
        self._t_enter = time.perf_counter()
        self._hooks = Hooks(self.model)
        try:
            self.counter = StepCounter(self._hooks, self.step_module, self.timestep_arg, self._on_step)
            for lay in self.layers:
                self._hooks.pre(lay.module, self._make_hook(lay))
        except Exception:
            self._hooks.close()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self._wall = time.perf_counter() - self._t_enter
        self._hooks.close()
        error = None
        try:
            self.writer.flush()
        except CaptureError as e:
            error = e
            self.writer.discard()
        self.entries = self.writer.entries
        self._measure()
        if not self.entries:
            if exc_type is None and error is None:
                raise CaptureError(f"nothing was captured into {self.out_dir}: the selected layers never ran in a "
                                   "recorded step (check steps=, and step_module= if the model is not called "
                                   "through its forward)")
        else:
            try:
                self._write_manifest(complete=exc_type is None and error is None)
            except CaptureError as e:
                error = error or e
        if error is not None and exc_type is None:
            raise error
        return False

    # -- per call ----------------------------------------------------------------
    def _on_step(self, args, kwargs):
        self._calls = {}
        cfg = self.cfg
        if cfg == "auto":
            x = _first_sample_tensor(args, kwargs)
            cfg = "none"
            if x is not None and x.shape[0] >= 2 and x.shape[0] % 2 == 0:
                n = x.shape[0] // 2
                if torch.equal(x[:n], x[n:]):  # diffusers' torch.cat([latents] * 2)
                    cfg = "halves"
        self._step_cfg = cfg

    def _make_hook(self, lay):
        def hook(module, args):
            t0 = time.perf_counter()
            step = self.counter.step
            if step < 0:
                raise CaptureError(f"layer {lay.name} ran before any call of the step module "
                                   f"({type(self.step_module).__name__}); if the sampler calls a method other "
                                   "than forward (e.g. DiT's forward_with_cfg), pass step_module= a submodule "
                                   "called once per step")
            call = self._calls.get(lay.name, 0)
            self._calls[lay.name] = call + 1
            if self._want(step) and args and torch.is_tensor(args[0]):
                self._record(lay, step, call, args[0])
                self._steps_seen.add(step)
            self.hook_seconds += time.perf_counter() - t0
        return hook

    def _select(self, x, axis):
        if self.batch_entries is None:
            return x
        n = x.shape[axis]
        bad = [b for b in self.batch_entries if not -n <= b < n]
        if bad:
            raise CaptureError(f"batch_entries {bad} out of range for {n} samples")
        return x.index_select(axis, torch.tensor(self.batch_entries, device=x.device))

    def _record(self, lay, step, call, x):
        x = x.detach()
        axis = lay.batch_axis if x.dim() >= 3 else 0
        mode = self._step_cfg
        entry = {"layer": lay.name, "block_kind": lay.block_kind, "step": step}
        if self.counter.timestep is not None:
            entry["timestep"] = self.counter.timestep
        repeat = call  # calls of this layer earlier in the step (a layer used twice)
        if mode == "sequential":  # call 0 and 1 are the two halves, not repeats
            label, repeat = (self.cfg_order[call], 0) if call < 2 else ("none", call)
            parts = [(label, self._select(x, axis))]
        elif mode == "halves" and x.dim() >= 2 and x.shape[axis] % 2 == 0:
            n = x.shape[axis] // 2
            halves = [self._select(x.narrow(axis, 0, n), axis), self._select(x.narrow(axis, n, n), axis)]
            if self.split_cfg:
                parts = list(zip(self.cfg_order, halves))
            else:
                entry["cfg_layout"] = list(self.cfg_order)
                parts = [("both", x if self.batch_entries is None else torch.cat(halves, axis))]
        else:
            if mode == "halves":
                raise CaptureError(f"cfg='halves' but {lay.name} sees {x.shape[axis]} samples along axis {axis}, "
                                   "not an even number")
            parts = [("none", self._select(x, axis))]
        for label, t in parts:
            t = t.to(self.torch_dtype).to("cpu").contiguous()
            name = f"{lay.name}/step{step}/{label}" + (f"/call{repeat}" if repeat else "")
            e = dict(entry, cfg=label, batch=int(t.shape[axis]) if t.dim() >= 2 else 1, batch_axis=axis,
                     shape=list(t.shape), dtype=self.st_dtype, tensor=name)
            if repeat:
                e["call"] = repeat
            self.writer.add(e, t)

    # -- results -----------------------------------------------------------------
    def _measure(self):
        steps = len(self._steps_seen)
        data = self.writer.bytes_written
        base = self.counter.seconds if self.step_module is self.model else self._wall
        self.overhead = {
            "denoiser_calls": self.counter.calls,
            "steps_recorded": steps,
            # time inside the denoiser calls; with a step_module other than the model only the
            # time inside the with block (before the final flush) is known
            "model_seconds": round(self.counter.seconds, 6) if self.step_module is self.model else None,
            "block_seconds": round(self._wall, 6),
            "hook_seconds": round(self.hook_seconds, 6),
            "hook_share": round(self.hook_seconds / base, 4) if base else None,
            "bytes": data,
            "bytes_per_step": math.ceil(data / steps) if steps else 0,
            "shards": len(self.writer.files),
        }

    def _write_manifest(self, complete):
        manifest = {
            "format": "colscope-activations",
            "version": 1,
            "model": self.model_name,
            "capture": {
                "writer": f"colscope_capture {__version__}",
                "torch": torch.__version__,
                "complete": complete,
                "dtype": self.st_dtype,
                "cfg": self.cfg,
                "cfg_order": list(self.cfg_order),
                "split_cfg": self.split_cfg,
                "steps": repr(self.steps_spec),
                "batch_entries": self.batch_entries,
                "layers": [lay.name for lay in self.layers],
                "overhead": self.overhead,
            },
            "entries": self.entries,
        }
        write_json_atomic(self.manifest_path, manifest)


def capture(model, out_dir, layers="auto", dtype="bf16", **options):
    """Records the FFN activations of MODEL while the ``with`` block runs.

    ``with capture(model, out_dir, layers="auto", dtype="bf16") as cap:`` around
    the user's sampling loop writes ``out_dir/shard-NNNNN.safetensors`` while
    running and ``out_dir/manifest.json`` on exit (docs/FORMATS.md).

    - ``layers``: ``"auto"`` or glob patterns (see :func:`find_layers`).
    - ``dtype``: ``"bf16"`` (default), ``"fp16"`` or ``"fp32"``: the stored values.
    - ``steps``: ``None`` (all), an int k (every k-th step), an iterable of
      step indices or a predicate ``step -> bool``.
    - ``batch_entries``: indices of the samples to keep (per CFG half).
    - ``cfg``: ``"auto"`` (halves when the denoiser's first tensor argument is
      two identical halves, as with ``torch.cat([latents] * 2)``), ``"none"``,
      ``"halves"`` (the batch is [first, second] half) or ``"sequential"`` (the
      halves are two calls of the layers within one step, e.g. MDM).
      ``cfg_order`` names the halves (default ``("uncond", "cond")``).
    - ``split_cfg``: False (default) stores the layer's input as one tensor
      (``cfg: "both"``, halves in ``cfg_layout``); True one tensor per half.
    - ``step_module``: the module whose top-level calls count the steps
      (default ``model``); ``timestep_arg``: where its timestep argument is.
    - ``model_name``, ``shard_bytes`` (default 256 MiB), ``overwrite``.

    After exit, ``cap.entries`` lists the manifest entries and
    ``cap.overhead`` the measured cost (hook time against model time, bytes per
    step). On an exception in the block, the complete shards are still listed
    in the manifest (``capture.complete: false``) and the exception propagates.
    """
    return Capture(model, out_dir, layers, dtype, **options)
