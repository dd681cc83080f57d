"""Shared fixtures and helpers: small images and caches written by the tests, a tiny backbone for
loop tests, the shipped example photo, and the real UTKFace folder when present."""

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


TINY_ARCH = "tiny-test"


def register_tiny_backbone() -> str:
    """Register a two-layer backbone (16 features) for tests of training machinery: ~100x cheaper
    than ResNet50, so loop, calibration and evaluation tests train real (if small) networks fast."""
    import torch.nn as nn

    from agegender.models.registry import register_backbone

    @register_backbone(TINY_ARCH)
    def tiny(pretrained: bool = False):
        net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        return net, 16

    return TINY_ARCH


@pytest.fixture(scope="session")
def tiny_arch() -> str:
    return register_tiny_backbone()


@pytest.fixture(scope="session")
def tiny_weights(tiny_arch, tmp_path_factory) -> Path:
    """An untrained multi-task weight file of the test backbone (distribution head, 32 px, ages 1-100)."""
    import torch

    from agegender.models import create_model
    from agegender.models.weights import save_weights

    torch.manual_seed(0)
    model = create_model(tiny_arch, task="both", age_head="distribution", input_size=32, age_min=1, age_max=100).eval()
    path = tmp_path_factory.mktemp("tiny") / "tiny.safetensors"
    save_weights(model, path, {"recipe": "untrained"})
    return path


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
    (path / "labels.json").write_text(json.dumps({
        "size": size, "margin": 0.4, "manifest_digest": "synthetic", "ages": ages.tolist(),
        "genders": genders.tolist(), "races": [0] * n, "splits": [SPLIT_IDS[s] for s in splits],
        "paths": [f"{i}.jpg" for i in range(n)], "skipped": [], **({"dataset": dataset} if dataset else {})}))
    return path


@pytest.fixture(scope="module")
def utkface_dir_module() -> Path:
    """Module-scoped twin of ``utkface_dir`` for expensive fixtures built from real faces."""
    if not UTKFACE.is_dir():
        pytest.skip(f"UTKFace images not found at {UTKFACE} (../shared is absent on this machine)")
    return UTKFACE


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory) -> dict:
    """Untrained VGG16 and ResNet50 multi-task weight files (for plumbing tests, not accuracy)."""
    import torch

    from agegender.models import create_model
    from agegender.models.weights import save_weights

    out = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    files = {}
    for arch, head in (("vgg16", "distribution"), ("resnet50", "regression")):
        model = create_model(arch, task="both", age_head=head, input_size=32, age_min=1, age_max=100).eval()
        files[arch] = out / f"{arch}.safetensors"
        save_weights(model, files[arch], {"recipe": "untrained"})
    return files


EXAMPLE_PHOTO = Path(__file__).resolve().parents[1] / "src" / "agegender" / "assets" / "astronaut.jpg"


@pytest.fixture(scope="session")
def face_photo(tmp_path_factory) -> Path:
    """A 640x480 JPEG with two real faces: the shipped example photo's face, pasted twice (once turned 10
    degrees, once mirrored) into a plain scene. Needs nothing outside the repository."""
    from agegender.data.images import read_image
    from agegender.evaluation.scenes import background, paste

    photo = read_image(EXAMPLE_PHOTO)
    face = photo[20:230, 120:330]  # the astronaut's face with its hair and some background, 210 px square
    scene = background(480, 640, seed=1)
    paste(scene, face, (170, 240), 180)
    paste(scene, np.ascontiguousarray(face[:, ::-1]), (470, 240), 160, angle=10)
    path = tmp_path_factory.mktemp("photos") / "two_faces.jpg"
    Image.fromarray(scene).save(path, quality=92)
    return path


def astronaut_face() -> np.ndarray:
    """The shipped example photo's face with its hair and some background, 210 px square (RGB)."""
    from agegender.data.images import read_image

    return np.ascontiguousarray(read_image(EXAMPLE_PHOTO)[20:230, 120:330])


@pytest.fixture(scope="session")
def example_face() -> np.ndarray:
    """The shipped example photo's face, 210 px square (RGB)."""
    return astronaut_face()


@pytest.fixture(scope="session")
def walking_clip(tmp_path_factory):
    """A 640x480 25 fps MPEG-4 clip of 3.7 s: two pairs of people (the example face, one of each pair
    mirrored) walking across, 0.5 s apart; the third person is out of sight for 0.4 s halfway.
    Returns (path, walkers)."""
    from agegender.evaluation.clips import two_at_a_time, write_clip

    face = astronaut_face()
    mirrored = np.ascontiguousarray(face[:, ::-1])
    walkers = two_at_a_time([(face, 30.0, "female"), (mirrored, 30.0, "female")] * 2, seconds_each=1.6, gap_s=0.5)
    path = tmp_path_factory.mktemp("clips") / "walking.mp4"
    write_clip(path, walkers)
    return path, walkers


def pytest_terminal_summary(terminalreporter):
    """How many tests ran in each tier (unit: no marker; integration; slow) and how many were skipped, and why."""
    from collections import Counter

    counts: Counter = Counter()
    reasons: Counter = Counter()
    for outcome in ("passed", "failed", "skipped", "error"):
        for rep in terminalreporter.stats.get(outcome, []):
            if getattr(rep, "when", "call") != "call" and outcome != "skipped":
                continue
            keywords = getattr(rep, "keywords", {})
            tier = "slow" if "slow" in keywords else "integration" if "integration" in keywords else "unit"
            counts[tier, outcome] += 1
            if outcome == "skipped" and isinstance(rep.longrepr, tuple):
                reasons[rep.longrepr[2].removeprefix("Skipped: ")] += 1
    deselected = len(terminalreporter.stats.get("deselected", []))
    lines = [f"{tier}: " + ", ".join(f"{counts[tier, o]} {o}" for o in ("passed", "failed", "skipped", "error")
                                      if counts[tier, o])
             for tier in ("unit", "integration", "slow") if any(counts[tier, o] for o in ("passed", "failed", "skipped", "error"))]
    if deselected:
        lines.append(f"deselected: {deselected} (by -m or -k; make test leaves out the slow ones, make test-all runs them)")
    lines += [f"skipped {n}x: {why}" for why, n in reasons.most_common()]
    terminalreporter.write_sep("-", "tiers")
    for line in lines:
        terminalreporter.write_line(line)
