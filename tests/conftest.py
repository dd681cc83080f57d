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


@pytest.fixture(scope="session")
def face_photo(tmp_path_factory) -> Path:
    """A 640x480 JPEG with two real UTKFace faces pasted in (needs ../shared)."""
    if not UTKFACE.is_dir():
        pytest.skip(f"UTKFace images not found at {UTKFACE}")
    from agegender.data.images import read_image
    from agegender.evaluation.scenes import background, paste

    names = sorted(p.name for p in UTKFACE.iterdir() if p.name.startswith(("30_1_0", "45_0_0")))
    scene = background(480, 640, seed=1)
    paste(scene, read_image(UTKFACE / names[0]), (170, 240), 180)
    paste(scene, read_image(UTKFACE / names[-1]), (470, 240), 160, angle=10)
    path = tmp_path_factory.mktemp("photos") / "two_faces.jpg"
    Image.fromarray(scene).save(path, quality=92)
    return path
