"""Checkpoints written atomically (temp file + rename), loaded without unpickling objects."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from agegender.errors import UserError


def save_checkpoint(state: dict, path: str | Path) -> None:
    """Write ``state`` to ``path`` so that a kill at any moment leaves the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        torch.save(state, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class CheckpointError(UserError):
    """A checkpoint that cannot be used: damaged, or from a run with another network."""


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Load a checkpoint with ``weights_only=True`` (tensors and plain Python values only)."""
    try:
        return torch.load(Path(path), map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # a truncated zip, a foreign file, an object outside the weights-only allow-list
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"cannot read the checkpoint {path}: it is damaged or not a checkpoint of this "
                              f"program ({first}). Move it away to start the run over.") from None


def check_same_network(saved: dict, current: dict, path: str | Path) -> None:
    """Raise CheckpointError naming the differences if a checkpoint's network config differs from this run's."""
    keys = ("arch", "task", "age_head", "input_size", "age_min", "age_max", "dropout")
    diff = [f"{k}: {saved.get(k)!r} there, {current.get(k)!r} here" for k in keys
            if k in saved and k in current and saved[k] != current[k]]
    if diff:
        raise CheckpointError(f"{path} belongs to a run with another network ({'; '.join(diff)}): resume with "
                              f"the same options, or give this run another --out")
