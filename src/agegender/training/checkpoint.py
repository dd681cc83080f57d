"""Checkpoints written atomically (temp file + rename), loaded without unpickling objects."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from agegender.errors import CheckpointError


def save_checkpoint(state: dict, path: str | Path) -> None:
    """Write ``state`` to ``path`` so that a kill at any moment leaves the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:  # a full disk: the previous checkpoint stays, no temp file is left
        tmp.unlink(missing_ok=True)
        raise CheckpointError(
            f"cannot write the checkpoint {path}: {exc.strerror or exc}; the previous one is "
            f"kept, so --resume continues from it once there is room"
        ) from None
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Load a checkpoint with ``weights_only=True`` (tensors and plain Python values only)."""
    try:
        return torch.load(Path(path), map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # a truncated zip, a foreign file, an object outside the weights-only allow-list
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"cannot read the checkpoint {path}: it is damaged or not a checkpoint of this "
            f"program ({first}). Move it away to start the run over."
        ) from None


def check_same_network(saved: dict, current, path: str | Path) -> None:
    """Raise CheckpointError naming the differences if a checkpoint's architecture (a dict) differs from this
    run's ``current`` ModelConfig, compared as a whole."""
    diff = [f"{k}: {a!r} there, {b!r} here" for k, (a, b) in current.differences(saved).items()]
    if diff:
        raise CheckpointError(
            f"{path} belongs to a run with another network ({'; '.join(diff)}): resume with "
            f"the same options, or give this run another --out"
        )


def random_state() -> dict:
    """Every random number generator a run draws from (torch, CUDA, numpy's and Python's global ones),
    as plain values that a weights-only checkpoint can hold: resuming restores them, so a killed and
    resumed run goes on exactly as the uninterrupted one would have (dropout draws included)."""
    import random

    import numpy as np

    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    assert not isinstance(keys, str)  # legacy=True: the Mersenne Twister's (name, keys, pos, ...) tuple
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "python": random.getstate(),
    }


def restore_random_state(state: dict | None) -> None:
    """Set the generators saved by :func:`random_state` (nothing for checkpoints that have none)."""
    import random

    import numpy as np

    if not state:
        return
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
