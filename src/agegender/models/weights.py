"""Weight files: fp16 safetensors whose metadata carries the model config, recipe and metrics.

``save_weights`` stores the model's state dict (fp16 by default) with the
:class:`ModelConfig` and any extra metadata as JSON strings in the safetensors
header; ``load_model`` rebuilds the network from that metadata alone. Large files
may be split into parts (``name.safetensors.part0``, ``.part1``, ...) which are
joined transparently.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load as st_load_bytes
from safetensors.torch import save as st_save_bytes

from agegender.errors import UserError
from agegender.models.networks import AgeGenderNet, ModelConfig
from agegender.models.readout import ReadOut
from agegender.models.weight_files import FORMAT_KEY, WEIGHT_FORMAT, read_metadata, read_weight_bytes


def tensors_digest(tensors: dict) -> str:
    """SHA-256 of a state dict's names, dtypes, shapes and bytes, in name order: stored beside the
    tensors (weight files, checkpoints) and checked when they are read, so silent corruption on disk
    is caught at load, not many steps later as a NaN."""
    import hashlib

    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def check_digest(tensors: dict, expected: str | None, path) -> None:
    """Raise UserError if ``tensors`` do not match the digest stored with them (None: none stored)."""
    if expected is not None and tensors_digest(tensors) != expected:
        raise UserError(
            f"{path}: its tensors do not match the checksum stored with them: the file is damaged "
            f"(copy it again, or train it again)"
        )


def save_weights(
    model: AgeGenderNet,
    path: str | Path,
    metadata: dict | None = None,
    fp16: bool = True,
    part_bytes: int | None = None,
) -> list[Path]:
    """Write the model; return the written file(s). ``part_bytes`` splits the file in parts."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {
        k: (v.half() if fp16 and v.is_floating_point() else v).contiguous().cpu() for k, v in model.state_dict().items()
    }
    meta = {
        "config": json.dumps(model.config.to_dict()),
        "readout": json.dumps(model.readout.calibration()),
        "tensors_sha256": tensors_digest(tensors),
        FORMAT_KEY: str(WEIGHT_FORMAT),
    }
    for k, v in (metadata or {}).items():
        if k in ("config", "readout", FORMAT_KEY):  # the model's own architecture and read-out are what is saved
            continue
        meta[k] = v if isinstance(v, str) else json.dumps(v)
    blob = st_save_bytes(tensors, metadata=meta)
    for old in path.parent.glob(path.name + ".part*"):
        old.unlink()
    if part_bytes is None or len(blob) <= part_bytes:
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_bytes(blob)
        except OSError as exc:  # a full disk: no half-written file left behind, one line said
            tmp.unlink(missing_ok=True)
            raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
        tmp.replace(path)  # atomic: a kill mid-write never leaves a broken weight file
        return [path]
    if path.exists():
        path.unlink()
    files = []
    for i in range(0, len(blob), part_bytes):
        part = path.with_name(f"{path.name}.part{i // part_bytes}")
        part.write_bytes(blob[i : i + part_bytes])
        files.append(part)
    return files


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[AgeGenderNet, dict]:
    """Rebuild the network described by a weight file; return (model in eval mode, metadata)."""
    blob = read_weight_bytes(path)
    meta = read_metadata(path)
    if not meta.get("config"):
        raise UserError(f"{path}: no 'config' in the weight file's metadata; not an agegender weight file")
    config = ModelConfig.from_stored({**meta["config"], "pretrained": False})
    model = AgeGenderNet(config)
    model.readout = ReadOut.from_config(meta["config"], meta.get("readout"))
    try:
        stored = st_load_bytes(blob)
    except Exception as exc:  # a truncated or overwritten file: safetensors raises its own errors
        raise UserError(f"{path}: the weight file is damaged or incomplete ({str(exc)[:120]})") from None
    check_digest(stored, meta.get("tensors_sha256"), path)
    state = {k: v.float() if v.is_floating_point() else v for k, v in stored.items()}
    model.load_state_dict(state)
    return model.to(device).eval(), meta
