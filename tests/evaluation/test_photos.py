"""Faces found in photos vs given as crops: the same faces, matched by position, both sets of metrics."""

import json

import pytest

from agegender.cli import main

pytestmark = pytest.mark.integration


def test_evaluate_photos_on_real_faces(utkface_dir, random_weights, tmp_path, capsys):
    out = tmp_path / "photos.json"
    args = ["evaluate-photos", "--images", str(utkface_dir), "--limit", "8", "--windows", "all", "-o", str(out)]
    for name, path in random_weights.items():
        args += ["--weights", f"{name}={path}"]
    assert main(args) == 0
    result = json.loads(out.read_text())
    assert result["faces"] == 8 and set(result["models"]) == set(random_weights)
    for windows in result["models"].values():
        row = windows["all"]
        assert row["n"] == 8 and row["found"] >= 0.75  # real faces, upright-ish, 120-240 px: YuNet finds them
        assert row["crops"]["age_mae"] >= 0 and 0 <= row["photos"]["gender_acc"] <= 1
        assert abs(row["age_mae_loss"] - (row["photos"]["age_mae"] - row["crops"]["age_mae"])) < 1e-9
    assert "found" in capsys.readouterr().out
