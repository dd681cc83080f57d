"""The whole command-line pipeline on 64 real UTKFace faces: import, cache, train, evaluate, report."""

import json

import pytest

from agegender.cli import main

pytestmark = pytest.mark.integration


def test_import_cache_train_evaluate_report(utkface_dir, tmp_path, capsys):
    faces = tmp_path / "faces"
    faces.mkdir()
    names = sorted(p.name for p in utkface_dir.iterdir())
    picked = [n for n in names if 18 <= int(n.split("_")[0]) <= 50][::150][:64]
    for n in picked:
        (faces / n).symlink_to(utkface_dir / n)
    (faces / "broken_name.jpg").write_bytes(b"not even an image")
    manifest, cache, evals, reports = (tmp_path / x for x in ("m.csv", "cache", "evals", "reports"))

    assert main(["data", "import", "utkface", str(faces), "-o", str(manifest)]) == 0
    assert "broken_name.jpg" in manifest.with_suffix(".skipped.log").read_text()
    assert main(["data", "cache", str(manifest), "--root", str(faces), "-o", str(cache), "--size", "32"]) == 0
    for arch in ("vgg16", "resnet50"):
        run = tmp_path / arch
        assert (
            main(
                [
                    "train",
                    "--cache",
                    str(cache),
                    "--arch",
                    arch,
                    "--task",
                    "both",
                    "--epochs",
                    "1",
                    "--batch-size",
                    "16",
                    "--out",
                    str(run),
                    "--no-progress",
                ]
            )
            == 0
        )
        assert (
            main(
                [
                    "evaluate",
                    str(run),
                    "--cache",
                    str(cache),
                    "--name",
                    f"{arch}-both",
                    "--split",
                    "val",
                    "--windows",
                    "18-50",
                    "--out",
                    str(evals),
                ]
            )
            == 0
        )
    reports.mkdir()
    row = {
        "n": 4,
        "found": 1.0,
        "crops": {"age_mae": 5.0, "age_cs5": 0.5, "gender_acc": 0.75},
        "photos": {"age_mae": 5.5, "age_cs5": 0.5, "gender_acc": 0.75},
    }
    (reports / "photos.json").write_text(
        json.dumps({"split": "test", "faces": 4, "scene": "s", "models": {"vgg16": {"all": row}}})
    )
    assert main(["report", "--evals", str(evals), "--out", str(reports)]) == 0
    assert "| vgg16 | all | 4 | 100.00% | 5.00 | 5.50 |" in (reports / "README.md").read_text()
    rows = json.loads((reports / "results.json").read_text())
    assert [(r["name"], r["age_window"]) for r in rows] == [("resnet50-both", "18-50"), ("vgg16-both", "18-50")]
    keys = {
        "name",
        "arch",
        "task",
        "train_recipe",
        "dataset",
        "split",
        "age_window",
        "n",
        "age_mae",
        "age_cs5",
        "gender_acc",
    }
    assert all(set(r) == keys and r["train_recipe"] == "custom" and r["dataset"] == "utkface" for r in rows)
    assert (evals / "vgg16-both" / "age_18_50.png").stat().st_size > 1000
    assert "constant guess" in (reports / "README.md").read_text()
    card = tmp_path / "MODEL_CARD.md"
    assert main(["card", str(evals / "vgg16-both.json"), str(evals / "resnet50-both.json"), "-o", str(card)]) == 0
    text = card.read_text()
    assert (
        "| vgg16 | UTKFace | 18-50 |" in text and "| resnet50 | UTKFace | 18-50 |" in text and "non-commercial" in text
    )
    assert "| UTKFace age MAE, ages 18-50 ≤ 4.30 |" in text and "| UTKFace age MAE, ages all ≤ 5.50 | — | — |" in text


def test_empty_dataset_after_filtering_is_a_clear_error(utkface_dir, tmp_path, capsys):
    faces = tmp_path / "faces"
    faces.mkdir()
    n = next(p.name for p in utkface_dir.iterdir() if int(p.name.split("_")[0]) < 10)
    (faces / n).symlink_to(utkface_dir / n)
    assert main(["data", "import", "utkface", str(faces), "-o", str(tmp_path / "m.csv"), "--min-age", "18"]) == 2
    assert "ages 18-200" in capsys.readouterr().err
