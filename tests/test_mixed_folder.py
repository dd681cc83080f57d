"""Issue check: a folder of 1,000 mixed files through `agegender predict --format csv` with the shipped weights.

Slow (about two minutes on 2 cores): run with `pytest -m slow tests/test_mixed_folder.py`.
"""

import csv
import random

import numpy as np
import pytest
from PIL import Image

from agegender.cli import main
from agegender.data.images import read_image
from agegender.evaluation.scenes import background, paste


@pytest.mark.slow
def test_thousand_mixed_files(utkface_dir, tmp_path, capsys):
    rng = random.Random(0)
    names = sorted(p.name for p in utkface_dir.iterdir() if p.name.endswith(".jpg"))
    folder = tmp_path / "mixed"
    kinds = {}
    for i in range(1000):
        sub = folder / f"batch{i % 7}"
        sub.mkdir(parents=True, exist_ok=True)
        if i % 40 == 0:  # 25 corrupt JPEGs (truncated real files)
            path = sub / f"corrupt_{i}.jpg"
            path.write_bytes((utkface_dir / rng.choice(names)).read_bytes()[:300])
            kinds[path] = "bad"
        elif i % 40 == 1:  # 25 text files
            path = sub / f"notes_{i}.txt"
            path.write_text("not an image\n")
            kinds[path] = "bad"
        elif i % 4 == 2:  # face-less photos
            path = sub / f"wall_{i}.png"
            Image.fromarray(background(240, 320, seed=i)).save(path)
            kinds[path] = "faceless"
        else:  # one real face in a 320x240 scene
            scene = background(240, 320, seed=i)
            paste(scene, read_image(utkface_dir / rng.choice(names)), (160, 120), 150)
            path = sub / f"face_{i}.jpg"
            Image.fromarray(scene).save(path, quality=90)
            kinds[path] = "face"
    out = tmp_path / "faces.csv"
    assert main(["predict", str(folder), "--format", "csv", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    bad = [p for p, k in kinds.items() if k == "bad"]
    assert len(bad) == 50 and all(p.name in err for p in bad if p.suffix == ".jpg")
    assert "ignored 25 file(s)" in err  # the .txt files: never opened
    rows = list(csv.DictReader(out.open()))
    by_path = {}
    for r in rows:
        by_path.setdefault(r["path"], []).append(r)
    assert len(by_path) == 950 and not any(str(p) in by_path for p in bad)
    faceless = [p for p, k in kinds.items() if k == "faceless"]
    assert all(len(by_path[str(p)]) == 1 and by_path[str(p)][0]["face"] == "" for p in faceless)
    with_face = [p for p, k in kinds.items() if k == "face"]
    found = [p for p in with_face if by_path[str(p)][0]["face"] == "0"]
    assert len(found) >= 0.97 * len(with_face)
    for p in found:
        assert [r["model"] for r in by_path[str(p)] if r["face"] == "0"] == ["vgg16"]  # one answer per face
    ages = np.array([float(r["age"]) for r in rows if r["age"]])
    assert (ages > 0).all() and (ages < 117).all()
