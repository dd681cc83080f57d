"""Helpers the tests share (plain functions and paths; the fixtures built from them are in conftest.py):
small stand-in images and face caches, a tiny backbone for training tests, the shipped example photo."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

UTKFACE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "utkface" / "images"


def write_face(path: Path, seed: int = 0, size: int = 48) -> Path:
    """Write a small random RGB JPEG (a stand-in image; not a face)."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path, quality=90)
    return path


TINY_ARCH = "tiny-test"

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
"""A headless Chromium that works in a container and reaches nothing but the server under test."""


def launch_chromium(playwright, *args: str):
    """Chromium through Playwright, with CHROMIUM_ARGS and any more ``args``."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *args])


def register_tiny_backbone() -> str:
    """Register a two-layer backbone (16 features) for tests of training machinery: ~100x cheaper
    than ResNet50, so loop, calibration and evaluation tests train real (if small) networks fast."""
    import torch.nn as nn

    from agegender.models.registry import register_backbone

    @register_backbone(TINY_ARCH)
    def tiny(pretrained: bool = False):
        net = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        return net, 16

    return TINY_ARCH


def make_cache(path: Path, n: int = 96, size: int = 32, seed: int = 0, dataset: str | None = None) -> Path:
    """A face cache of synthetic faces whose brightness encodes the gender, so a working loop learns it in a few steps."""
    import json

    from agegender.data.cache import SPLIT_IDS

    rng = np.random.default_rng(seed)
    genders = rng.integers(0, 2, n)
    ages = rng.integers(18, 51, n)
    base = np.where(genders[:, None, None, None] == 1, 200, 50)
    images = np.clip(base + rng.integers(-30, 30, (n, size, size, 3)), 0, 255).astype(np.uint8)
    path.mkdir(parents=True)
    np.save(path / "images.npy", images)
    splits = ["train"] * (n * 3 // 4) + ["val"] * (n - n * 3 // 4)
    (path / "labels.json").write_text(
        json.dumps(
            {
                "size": size,
                "margin": 0.4,
                "manifest_digest": "synthetic",
                "ages": ages.tolist(),
                "genders": genders.tolist(),
                "races": [0] * n,
                "splits": [SPLIT_IDS[s] for s in splits],
                "paths": [f"{i}.jpg" for i in range(n)],
                "skipped": [],
                **({"dataset": dataset} if dataset else {}),
            }
        )
    )
    return path


EXAMPLE_PHOTO = Path(__file__).resolve().parents[1] / "src" / "agegender" / "assets" / "astronaut.jpg"


def astronaut_face() -> np.ndarray:
    """The shipped example photo's face with its hair and some background, 210 px square (RGB)."""
    from agegender.data.images import read_image

    return np.ascontiguousarray(read_image(EXAMPLE_PHOTO)[20:230, 120:330])
