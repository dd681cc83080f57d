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


def check_same_network(saved: dict, current, path: str | Path) -> None:
    """Raise CheckpointError naming the differences if a checkpoint's architecture (a dict) differs from this
    run's ``current`` ModelConfig, compared as a whole."""
    diff = [f"{k}: {a!r} there, {b!r} here" for k, (a, b) in current.differences(saved).items()]
    if diff:
        raise CheckpointError(f"{path} belongs to a run with another network ({'; '.join(diff)}): resume with "
                              f"the same options, or give this run another --out")
