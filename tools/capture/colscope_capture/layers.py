"""Where to hook: the FFN down projections of a model.

The FFN activation colscope measures is the *input* of the FFN's down
projection (the Linear from the hidden width back to the model width):

=====================================  ==========================  ======================
block (detected by structure)          down projection             ``block_kind``
=====================================  ==========================  ======================
diffusers / LDM ``FeedForward``        ``net[2]`` (``ff.net.2``)   ``geglu_ff`` (GEGLU) or
(``net = [act, Dropout, Linear]``)                                 ``ff`` (other act.)
``nn.TransformerEncoderLayer``         ``linear2``                 ``transformer_encoder``
``nn.TransformerDecoderLayer``         ``linear2``                 ``transformer_decoder``
(and look-alikes: a ``*EncoderLayer``
/ ``*DecoderLayer`` with Linear
``linear1`` and ``linear2``, as in
MLD and EDGE)
timm / DiT ``Mlp`` (Linear ``fc1``     ``fc2``                     ``mlp``
and ``fc2``)
=====================================  ==========================  ======================

Detection is by structure, not by import, so the package needs neither
diffusers nor timm. ``batch_axis`` is the input axis that holds the samples:
1 for sequence-first transformer layers (``batch_first=False``, as in MDM and
MLD), else 0.
"""
import fnmatch
from dataclasses import dataclass

import torch.nn as nn

from .errors import CaptureError


@dataclass(frozen=True)
class Layer:
    name: str  # module name of the down projection (its input is the activation)
    module: nn.Module
    block_kind: str
    batch_axis: int


def _is_linear(m):
    return isinstance(m, nn.Linear)


def _block_of(module):
    """(down projection, block_kind, batch_axis) if MODULE is an FFN-holding block, else None."""
    cls = type(module).__name__
    if isinstance(module, nn.TransformerEncoderLayer) or isinstance(module, nn.TransformerDecoderLayer) or (
            cls.endswith(("EncoderLayer", "DecoderLayer")) and _is_linear(getattr(module, "linear1", None))
            and _is_linear(getattr(module, "linear2", None))):
        kind = "transformer_decoder" if isinstance(module, nn.TransformerDecoderLayer) or cls.endswith(
            "DecoderLayer") else "transformer_encoder"
        attn = getattr(module, "self_attn", None)
        batch_first = getattr(module, "batch_first", getattr(attn, "batch_first", False))
        return module.linear2, kind, 0 if batch_first else 1
    net = getattr(module, "net", None)
    if isinstance(net, (nn.Sequential, nn.ModuleList)) and len(net) >= 3 and _is_linear(net[2]):
        kind = "geglu_ff" if "GEGLU" in type(net[0]).__name__.upper() else "ff"
        return net[2], kind, 0
    if _is_linear(getattr(module, "fc1", None)) and _is_linear(getattr(module, "fc2", None)):
        return module.fc2, "mlp", 0
    return None


def _auto(model):
    """Every detected down projection: {module name: Layer}, in module order."""
    names = {id(m): n for n, m in model.named_modules()}
    found = {}
    for _, m in model.named_modules():
        b = _block_of(m)
        if b is not None and names.get(id(b[0])) not in found:
            name = names[id(b[0])]
            found[name] = Layer(name, b[0], b[1], b[2])
    return found


def find_layers(model, layers="auto"):
    """The layers to hook, in module order.

    ``layers`` is ``"auto"`` (every detected FFN down projection) or one or a
    list of glob patterns (``fnmatch``, e.g. ``"*.ff.net.2"``,
    ``"blocks.1?.mlp.fc2"``, ``"trans_enc.layers.[0-3]"``) over module names. A
    pattern selects the down projections of the FFN blocks it names (or the
    down projections it names); only a pattern that names no FFN block selects
    the plain ``nn.Linear`` modules it names (``block_kind`` ``"linear"``), so
    ``"blocks.3.*"`` means block 3's FFN, not its attention projections. Other
    modules are ignored. A pattern that selects nothing raises CaptureError
    listing the detected down projections.
    """
    auto = _auto(model)
    if layers == "auto":
        if not auto:
            raise CaptureError(f"no FFN down projection found in {type(model).__name__} (looked for diffusers "
                               "FeedForward, nn.Transformer*Layer, timm Mlp); pass layers=[glob patterns]")
        return list(auto.values())
    patterns = [layers] if isinstance(layers, str) else list(layers)
    if not patterns:
        raise CaptureError("layers: empty list of patterns")
    modules = list(model.named_modules())
    names = {id(m): n for n, m in modules}
    chosen = {}
    for pat in patterns:
        if not isinstance(pat, str):
            raise CaptureError(f"layers: {pat!r} is not a string pattern")
        ffn, lin = [], []
        for name, m in modules:
            if not name or not fnmatch.fnmatchcase(name, pat):
                continue
            b = _block_of(m)
            if b is not None or name in auto:
                ffn.append(auto[names[id(b[0])] if b is not None else name])
            elif _is_linear(m):
                lin.append(Layer(name, m, "linear", 0))
        for lay in ffn or lin:
            chosen.setdefault(lay.name, lay)
        hit = bool(ffn or lin)
        if not hit:
            some = ", ".join(list(auto)[:4]) or "none"
            raise CaptureError(f"layer pattern {pat!r} matches no FFN block or Linear in {type(model).__name__} "
                               f"(detected down projections: {some}{', ...' if len(auto) > 4 else ''})")
    order = {n: i for i, (n, _) in enumerate(modules)}
    return sorted(chosen.values(), key=lambda lay: order[lay.name])


class Hooks:
    """Registers forward pre-hooks and restores the model on close.

    While open, torch's fused TransformerEncoderLayer fast path (taken in eval
    mode without grad when ``batch_first=True``) is disabled in every layer of
    the model: it computes the FFN inside one kernel, so no hook would fire.
    """

    def __init__(self, model):
        self.handles = []
        self.fastpath = []
        for m in model.modules():
            if getattr(m, "activation_relu_or_gelu", 0):
                self.fastpath.append((m, m.activation_relu_or_gelu))
                m.activation_relu_or_gelu = 0

    def pre(self, module, fn, with_kwargs=False):
        if with_kwargs:
            try:  # torch >= 2.0 passes the keyword arguments too
                self.handles.append(module.register_forward_pre_hook(fn, with_kwargs=True))
                return
            except TypeError:
                pass
            self.handles.append(module.register_forward_pre_hook(lambda m, args: fn(m, args, {})))
            return
        self.handles.append(module.register_forward_pre_hook(fn))

    def post(self, module, fn):
        self.handles.append(module.register_forward_hook(fn))

    def close(self):
        for h in self.handles:
            h.remove()
        self.handles = []
        for m, v in self.fastpath:
            m.activation_relu_or_gelu = v
        self.fastpath = []
