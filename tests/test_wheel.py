"""The wheel users install carries every file the package reads at run time (editable installs hide a miss)."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "agegender"


def test_wheel_ships_detector_template_weights_and_page(tmp_path):
    # Built from a copy: a build/ folder left in the checkout would hand back stale files.
    root = tmp_path / "src-copy"
    shutil.copytree(PACKAGE.parents[1] / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PACKAGE.parents[1] / name, root / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("agegender-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    data_files = [p for p in PACKAGE.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
                  and "__pycache__" not in p.parts and not p.name.endswith(".md")]
    assert data_files, "no package data found beside the code"
    missing = [p.relative_to(PACKAGE.parent).as_posix() for p in data_files
               if p.relative_to(PACKAGE.parent).as_posix() not in names]
    assert not missing, f"files the package reads but the wheel lacks: {missing}"
    assert "agegender/faces/models/face_detection_yunet_2023mar.onnx" in names
