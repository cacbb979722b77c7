"""Sharded safetensors files and the activation manifest, written atomically.

The safetensors format is written here directly (no ``safetensors`` package):
an 8-byte little-endian header length N, N bytes of JSON (padded with spaces
to a multiple of 8), then the raw little-endian tensor data.

Every file is written as ``NAME.tmp``, flushed, fsync'ed and renamed to NAME,
and the directory is fsync'ed, so a crash or a full disk leaves either a
complete file or no file under NAME (the ``.tmp`` is removed on error).
"""
import errno
import json
import mmap
import os
import struct

import numpy as np
import torch

from .errors import CaptureError

# name accepted by the API -> (torch dtype, safetensors dtype, same-width integer dtype)
DTYPES = {
    "bf16": (torch.bfloat16, "BF16", torch.int16),
    "fp16": (torch.float16, "F16", torch.int16),
    "fp32": (torch.float32, "F32", torch.int32),
}
_ALIASES = {"bfloat16": "bf16", "float16": "fp16", "half": "fp16", "f16": "fp16", "float32": "fp32", "f32": "fp32",
            torch.bfloat16: "bf16", torch.float16: "fp16", torch.float32: "fp32"}
_NUMPY_OF = {"BF16": np.int16, "F16": np.float16, "F32": np.float32, "F64": np.float64}
_ST_OF = {torch.bfloat16: "BF16", torch.float16: "F16", torch.float32: "F32", torch.float64: "F64"}


def dtype_key(dtype):
    """Normalise a dtype argument ("bf16", "fp16", "fp32", torch dtypes) to a key of DTYPES."""
    key = _ALIASES.get(dtype, dtype)
    if key not in DTYPES:
        raise CaptureError(f"dtype {dtype!r} is not supported: use 'bf16', 'fp16' or 'fp32'")
    return key


def _open_for_write(path):
    """Opens a new file for writing. A separate function so tests can make it fail (e.g. ENOSPC)."""
    return open(path, "wb")


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path, chunks):
    """Writes the byte-like chunks to PATH via PATH.tmp + fsync + rename.

    Raises CaptureError naming the file on any OS error; PATH.tmp is removed and
    PATH is left as it was."""
    tmp = path + ".tmp"
    try:
        f = _open_for_write(tmp)
        try:
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        finally:
            f.close()
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        reason = "disk full" if e.errno in (errno.ENOSPC, errno.EDQUOT) else (e.strerror or str(e))
        raise CaptureError(f"cannot write {path}: {reason}") from e
    _fsync_dir(os.path.dirname(path) or ".")


def write_json_atomic(path, obj):
    write_atomic(path, [json.dumps(obj, indent=1).encode() + b"\n"])


def tensor_bytes(t):
    """The raw little-endian bytes of a CPU tensor of a DTYPES dtype, as a numpy array (no copy)."""
    t = t.contiguous()
    for _, (tdt, _, idt) in DTYPES.items():
        if t.dtype == tdt:
            return t.view(idt).numpy() if tdt != torch.float32 else t.numpy()
    raise CaptureError(f"cannot store dtype {t.dtype}")


def safetensors_header(tensors, metadata=None):
    """The header bytes (length prefix included) for [(name, st_dtype, shape, nbytes)]."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    off = 0
    for name, st_dtype, shape, nbytes in tensors:
        header[name] = {"dtype": st_dtype, "shape": list(shape), "data_offsets": [off, off + nbytes]}
        off += nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h


class ShardWriter:
    """Accumulates tensors in memory up to ``shard_bytes`` and writes them as one
    safetensors shard. ``entries`` lists only tensors of shards that are
    complete on disk; ``pending_bytes`` is the memory held."""

    def __init__(self, out_dir, shard_bytes=256 << 20, prefix="shard"):
        self.out_dir = out_dir
        self.shard_bytes = int(shard_bytes)
        self.prefix = prefix
        self.entries = []
        self.files = []
        self.bytes_written = 0
        self.pending_bytes = 0
        self._pending = []  # (entry, numpy bytes view)

    def add(self, entry, tensor):
        """Queues a CPU tensor; ``entry`` (a manifest entry without file/tensor) must hold a unique "tensor" name."""
        data = tensor_bytes(tensor)
        self._pending.append((entry, data))
        self.pending_bytes += data.nbytes
        if self.pending_bytes >= self.shard_bytes:
            self.flush()

    def flush(self):
        """Writes the queued tensors as the next shard. On failure the queue is dropped."""
        if not self._pending:
            return
        pending, self._pending, self.pending_bytes = self._pending, [], 0
        name = f"{self.prefix}-{len(self.files):05d}.safetensors"
        head = safetensors_header([(e["tensor"], e["dtype"], e["shape"], d.nbytes) for e, d in pending],
                                  {"format": "pt", "writer": "colscope_capture"})
        write_atomic(os.path.join(self.out_dir, name), [head] + [memoryview(d).cast("B") for _, d in pending])
        self.files.append(name)
        for e, d in pending:
            e["file"] = name
            self.entries.append(e)
            self.bytes_written += d.nbytes

    def discard(self):
        self._pending, self.pending_bytes = [], 0


def read_safetensors(path):
    """Returns {name: torch tensor} of a safetensors file (F16, BF16, F32, F64), memory-mapped read-only."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise CaptureError(f"{path}: truncated safetensors header")
        (n,) = struct.unpack("<Q", raw)
        size = os.fstat(f.fileno()).st_size
        if n > min(size - 8, 100 << 20):
            raise CaptureError(f"{path}: bad safetensors header length {n}")
        header = json.loads(f.read(n))
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size > 8 + n else b""
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        st = info["dtype"]
        if st not in _NUMPY_OF:
            raise CaptureError(f"{path}: tensor {name}: dtype {st} not supported")
        b, e = info["data_offsets"]
        if not (0 <= b <= e and 8 + n + e <= size):
            raise CaptureError(f"{path}: tensor {name}: data_offsets outside the file")
        arr = np.frombuffer(buf, dtype=_NUMPY_OF[st], count=(e - b) // np.dtype(_NUMPY_OF[st]).itemsize,
                            offset=8 + n + b).reshape(info["shape"])
        t = torch.from_numpy(arr.copy())
        out[name] = t.view(torch.bfloat16) if st == "BF16" else t
    return out


def load(path):
    """Reads a capture: PATH is a manifest or a directory holding manifest.json.

    Returns [(entry, tensor)] in manifest order, after checking every entry's
    shape and dtype against its file (as ``colscope profile`` does)."""
    mpath = os.path.join(path, "manifest.json") if os.path.isdir(path) else path
    with open(mpath) as f:
        manifest = json.load(f)
    if manifest.get("format") != "colscope-activations" or manifest.get("version") != 1:
        raise CaptureError(f"{mpath}: not a colscope-activations version 1 manifest")
    base = os.path.dirname(mpath)
    cache, out = {}, []
    for i, e in enumerate(manifest["entries"]):
        file = os.path.join(base, e["file"])
        if file not in cache:
            cache.clear()
            cache[file] = read_safetensors(file)
        t = cache[file].get(e.get("tensor", ""))
        if t is None:
            raise CaptureError(f"{mpath}: entry {i}: tensor {e.get('tensor')!r} not in {e['file']}")
        if list(t.shape) != list(e["shape"]) or _ST_OF[t.dtype] != e["dtype"]:
            raise CaptureError(f"{mpath}: entry {i}: shape/dtype disagree with {e['file']}")
        out.append((e, t))
    return out
