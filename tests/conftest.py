"""Shared fixtures: small images written by the tests, and the real UTKFace folder when present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

UTKFACE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "utkface" / "images"


@pytest.fixture
def utkface_dir() -> Path:
    """The real UTKFace images (../shared); skip with a message where they are absent."""
    if not UTKFACE.is_dir():
        pytest.skip(f"UTKFace images not found at {UTKFACE} (../shared is absent on this machine)")
    return UTKFACE


def write_face(path: Path, seed: int = 0, size: int = 48) -> Path:
    """Write a small random RGB JPEG (a stand-in image; not a face)."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path, quality=90)
    return path
