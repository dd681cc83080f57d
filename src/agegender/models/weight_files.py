"""Weight files without PyTorch: their bytes (parts joined) and their metadata.

The inference install (ONNX Runtime, no torch) reads a weight file's config and metadata here;
:mod:`agegender.models.weights` writes the files and rebuilds PyTorch models from them.

The metadata's layout has a version, stored under ``agegender_format``:

1. (files without the key) the read-out's calibration may sit inside ``config``; a file without
   ``datasets`` learnt from UTKFace alone.
2. ``config`` holds the architecture only and ``readout`` the calibration; ``datasets`` lists the
   collections the file learnt from.

:func:`read_metadata` gives every file in the current layout, so no reader needs to know the older ones.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

from agegender.errors import UserError
from agegender.models.readout import CALIBRATION_FIELDS

WEIGHT_FORMAT = 2
"""The metadata layout this version writes (and the newest it reads)."""
FORMAT_KEY = "agegender_format"


def read_weight_bytes(path: str | Path) -> bytes:
    """Bytes of a weight file, joining ``.partN`` files when the whole file is absent."""
    path = Path(path)
    if path.is_file():
        return path.read_bytes()
    return b"".join(p.read_bytes() for p in _parts(path))


def weights_sha256(path: str | Path) -> str:
    """SHA-256 of a weight file's bytes (``.partN`` files joined, as :func:`read_weight_bytes` reads them),
    read in chunks: what graphs and evaluations record to name the exact file they came from."""
    path = Path(path)
    files = [path] if path.is_file() else _parts(path)
    h = hashlib.sha256()
    for file in files:
        with open(file, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
    return h.hexdigest()


def _parts(path: Path) -> list[Path]:
    parts = sorted(path.parent.glob(path.name + ".part*"), key=lambda p: int(p.name.rsplit("part", 1)[1]))
    if not parts:
        raise FileNotFoundError(f"weights not found: {path} (nor {path.name}.part0, ...)")
    return parts


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
    """The metadata of a weight file, JSON values decoded, in the current layout (only the header is read)."""
    meta = read_header(path)[0].get("__metadata__", {})
    out = {}
    for k, v in meta.items():
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return upgrade_metadata(out, path)


def upgrade_metadata(meta: dict, path: str | Path = "weights") -> dict:
    """``meta`` in the layout of :data:`WEIGHT_FORMAT`; a file from a newer agegender is refused."""
    version = meta.get(FORMAT_KEY, 1)
    if not isinstance(version, int) or not 1 <= version <= WEIGHT_FORMAT:
        raise UserError(
            f"{path}: weight file format {version!r}; this agegender reads formats 1-{WEIGHT_FORMAT} "
            f"(a newer agegender wrote it: upgrade with pip install -U agegender)"
        )
    if version == 1:
        config = dict(meta.get("config") or {})
        calibration = {k: config.pop(k) for k in CALIBRATION_FIELDS if k in config}
        meta = {
            **meta,
            "config": config,
            "readout": {**calibration, **(meta.get("readout") or {})},
            "datasets": meta.get("datasets") or ["utkface"],
            FORMAT_KEY: WEIGHT_FORMAT,
        }
    return meta


def trained_on(meta: dict) -> list[str]:
    """The datasets a weight file (metadata from :func:`read_metadata`) learnt from, its fine-tuning
    ancestors included."""
    own = meta.get("datasets") or []
    before = (meta.get("fine_tuned_from") or {}).get("datasets") or []
    return sorted(set(own) | set(before), key=lambda d: (d != "utkface", d))
