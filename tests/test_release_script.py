"""The release training command (scripts/train_release_gpu.sh) end to end on CPU: pack -> unpack -> train -> export parts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agegender.cli import main
from agegender.models.weights import load_model
from tests.support import make_cache

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_release_gpu.sh"


@pytest.mark.slow
def test_release_script_trains_and_exports_parts(tmp_path):
    cache = make_cache(tmp_path / "cache", n=96, size=32)
    assert main(["data", "pack", str(cache), "-o", str(tmp_path / "pack.npz"), "--splits", "train,val"]) == 0
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "EPOCHS": "1",
        "ARCHS": "resnet50",
        "CACHE_DIR": str(tmp_path / "unpacked"),
    }
    subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path / "pack.npz"), str(tmp_path / "runs"), str(tmp_path / "out")],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    parts = sorted((tmp_path / "out").glob("resnet50.safetensors.part*"))
    assert len(parts) == 4 and all(p.stat().st_size <= 15_000_000 for p in parts)
    model, meta = load_model(tmp_path / "out" / "resnet50.safetensors")
    assert model.config.input_size == 96 and model.config.age_head == "distribution"
    assert meta["recipe"] == "multitask-dldl-96-release"
    assert (tmp_path / "out" / "resnet50-summary.csv").is_file()
    bench = json.loads((tmp_path / "out" / "training_release_cpu.json").read_text())
    run = bench["runs"][0]
    assert run["arch"] == "resnet50" and run["epochs_done"] == 1 and run["machine"]["device"] == "cpu"
    assert run["train_images_per_s_median"] > 0 and run["val_seconds_median"] >= 0
