"""predict --ray: Ray Data on a local instance with two workers gives the single-process run's rows (any order).

Slow (a Ray instance starts, ~30-60 s on 2 cores): `pytest -m slow tests/test_ray.py`; skipped with a
message where Ray is not installed (pip install 'agegender[ray]').
"""

import csv
import shutil

import numpy as np
import pytest
from PIL import Image

from agegender.cli import main

pytestmark = pytest.mark.slow


def single_and_ray(folder, random_weights, tmp_path, capsys):
    """predict the folder in one process and on Ray (two workers): (Ray run's stderr, rows, Ray's rows), rows sorted."""
    weights = [a for name, path in random_weights.items() for a in ("--weights", f"{name}={path}")]
    single, on_ray = tmp_path / "single.csv", tmp_path / "ray.csv"
    assert main(["predict", str(folder), *weights, "--format", "csv", "-o", str(single)]) == 0
    capsys.readouterr()
    assert (
        main(["predict", str(folder), *weights, "--format", "csv", "-o", str(on_ray), "--ray", "--ray-workers", "2"])
        == 0
    )
    rows = lambda path: sorted(tuple(r.values()) for r in csv.DictReader(path.open()))  # noqa: E731
    return capsys.readouterr().err, rows(single), rows(on_ray)


def test_ray_rows_equal_the_single_process_rows(random_weights, face_photo, tmp_path, capsys):
    pytest.importorskip("ray.data", reason="Ray is not installed: pip install 'agegender[ray]'")
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for i in range(200):
        shutil.copy(face_photo, folder / f"p{i:03d}.jpg")
    for i in range(20):
        Image.fromarray(np.full((120, 160, 3), 10 * i, np.uint8)).save(folder / "sub" / f"wall{i}.png")
    (folder / "sub" / "broken.jpg").write_bytes(face_photo.read_bytes()[:300])
    err, single, on_ray = single_and_ray(folder, random_weights, tmp_path, capsys)
    assert "broken.jpg" in err and "220 image(s) read" in err and "on Ray, 2 workers" in err
    assert "Token authentication" not in err and "core_worker" not in err and "Warning" not in err  # Ray's own noise
    assert on_ray == single and len(single) == 200 * 2 * 2 + 20


def test_ray_takes_videos_one_task_per_file_with_the_single_process_rows(
    random_weights, face_photo, walking_clip, tmp_path, capsys
):
    pytest.importorskip("ray.data", reason="Ray is not installed: pip install 'agegender[ray]'")
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.copy(walking_clip[0], folder / name)
    shutil.copy(face_photo, folder / "photo.jpg")
    (folder / "broken.avi").write_bytes(b"RIFF\0\0\0\0AVI " + bytes(500))
    err, single, on_ray = single_and_ray(folder, random_weights, tmp_path, capsys)
    assert "broken.avi" in err and "2 video(s) read, 8 person(s) tracked" in err
    assert on_ray == single and len(single) == 2 * 2 + 2 * 4 * 2
