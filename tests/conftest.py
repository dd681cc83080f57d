"""Shared fixtures: weight files, photos and clips the tests build once, and the real UTKFace folder when
present (the plain helpers they use are in tests/support.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support import EXAMPLE_PHOTO, UTKFACE, astronaut_face, register_tiny_backbone


@pytest.fixture
def utkface_dir() -> Path:
    """The real UTKFace images (../shared); skip with a message where they are absent."""
    if not UTKFACE.is_dir():
        pytest.skip(f"UTKFace images not found at {UTKFACE} (../shared is absent on this machine)")
    return UTKFACE


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
    save_weights(model, path, {"recipe": "untrained", "datasets": ["utkface"]})
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
    lines = [
        f"{tier}: "
        + ", ".join(f"{counts[tier, o]} {o}" for o in ("passed", "failed", "skipped", "error") if counts[tier, o])
        for tier in ("unit", "integration", "slow")
        if any(counts[tier, o] for o in ("passed", "failed", "skipped", "error"))
    ]
    if deselected:
        lines.append(
            f"deselected: {deselected} (by -m or -k; make test leaves out the slow ones, make test-all runs them)"
        )
    lines += [f"skipped {n}x: {why}" for why, n in reasons.most_common()]
    terminalreporter.write_sep("-", "tiers")
    for line in lines:
        terminalreporter.write_line(line)
