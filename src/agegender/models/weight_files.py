"""Weight files without PyTorch: their bytes (parts joined) and their metadata.

The inference install (ONNX Runtime, no torch) reads a weight file's config and metadata here;
:mod:`agegender.models.weights` writes the files and rebuilds PyTorch models from them.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from agegender.errors import UserError


def read_weight_bytes(path: str | Path) -> bytes:
    """Bytes of a weight file, joining ``.partN`` files when the whole file is absent."""
    path = Path(path)
    if path.is_file():
        return path.read_bytes()
    parts = sorted(path.parent.glob(path.name + ".part*"), key=lambda p: int(p.name.rsplit("part", 1)[1]))
    if not parts:
        raise FileNotFoundError(f"weights not found: {path} (nor {path.name}.part0, ...)")
    return b"".join(p.read_bytes() for p in parts)


def read_header(path: str | Path) -> tuple[dict, int]:
    """The JSON header of a weight file (its tensor table and ``__metadata__``) and the offset where the
    tensor data begins; only the header is read from a whole file, split files are joined."""
    path = Path(path)
    if path.is_file():
        with open(path, "rb") as f:
            head = f.read(8)
            n = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
            blob = head + f.read(n) if 0 < n < 100_000_000 else b""
    else:
        blob = read_weight_bytes(path)
    try:
        (n,) = struct.unpack("<Q", blob[:8])
        return json.loads(blob[8 : 8 + n]), 8 + n
    except (struct.error, ValueError) as e:
        raise UserError(f"{path}: not a safetensors weight file ({e})") from e


def read_metadata(path: str | Path) -> dict:
    """The metadata of a weight file, JSON values decoded (only the header is read)."""
    meta = read_header(path)[0].get("__metadata__", {})
    out = {}
    for k, v in meta.items():
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def trained_on(meta: dict) -> list[str]:
    """The datasets a weight file learnt from, its fine-tuning ancestors included.

    Weights from before datasets were recorded were all trained on UTKFace alone.
    """
    own = meta.get("datasets") or ["utkface"]
    before = (meta.get("fine_tuned_from") or {}).get("datasets") or []
    return sorted(set(own) | set(before), key=lambda d: (d != "utkface", d))
