"""The wheel users install: it carries every file the package reads at run time (editable installs hide a
miss), and installed without extras — no PyTorch — it predicts, and says which extra the other commands need."""

import json
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "agegender"
EXAMPLE = PACKAGE / "assets" / "astronaut.jpg"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    # Built from a copy: a build/ folder left in the checkout would hand back stale files.
    root = tmp / "src-copy"
    shutil.copytree(
        PACKAGE.parents[1] / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PACKAGE.parents[1] / name, root / name)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return next(tmp.glob("agegender-*.whl"))


def test_wheel_ships_detector_template_weights_graphs_and_page(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    data_files = [
        p
        for p in PACKAGE.rglob("*")
        if p.is_file()
        and p.suffix not in (".py", ".pyc")
        and "__pycache__" not in p.parts
        and not p.name.endswith(".md")
    ]
    assert data_files, "no package data found beside the code"
    missing = [
        p.relative_to(PACKAGE.parent).as_posix()
        for p in data_files
        if p.relative_to(PACKAGE.parent).as_posix() not in names
    ]
    assert not missing, f"files the package reads but the wheel lacks: {missing}"
    assert {
        "agegender/faces/models/face_detection_yunet_2023mar_any_size.onnx",
        "agegender/weights/vgg16.onnx",
    } <= names


def test_wheel_without_extras_predicts_without_torch_and_names_the_extras(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    proc = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0 and "No matching distribution" in proc.stderr:
        pytest.skip("the package registry cannot be reached: " + proc.stderr[-300:])
    assert proc.returncode == 0, proc.stderr[-2000:]
    installed = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True
    ).stdout
    assert "torch" not in {p["name"].lower() for p in json.loads(installed)}
    # Run from elsewhere: the installed package, not the checkout, must answer.
    run = subprocess.run(
        [str(bin_dir / "agegender"), "predict", str(EXAMPLE), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "probe could not run" not in run.stderr  # the installed probe graph runs (else int8 runs slower)
    faces = json.loads(run.stdout)[0]["faces"]
    assert len(faces) == 1 and {p["gender"] for p in faces[0]["predictions"].values()} == {"female"}
    for command, extra in (
        (["train", "--cache", "c", "--arch", "vgg16", "--out", "o"], "train"),
        (["serve"], "server"),
        (["predict", str(EXAMPLE), "--engine", "torch"], "train"),
        (["predict", str(EXAMPLE), "--ray", "--format", "csv"], "ray"),
    ):
        run = subprocess.run(
            [str(bin_dir / "agegender"), *command], capture_output=True, text=True, timeout=120, cwd=tmp_path
        )
        assert run.returncode == 3 and f"pip install 'agegender[{extra}]'" in run.stderr, (command, run.stderr)
        assert "Traceback" not in run.stderr
