"""Evaluation per test set and the report built from it: rows per dataset, cross-dataset and group tables."""

import json

from agegender.evaluation.evaluate import evaluate_weights
from agegender.evaluation.report import write_report
from tests.support import make_cache


def test_one_model_on_two_test_sets_is_reported_per_set_and_across(tmp_path, tiny_weights):
    utk = make_cache(tmp_path / "utk", n=64, dataset="utkface")
    aaf = make_cache(tmp_path / "aaf", n=64, seed=1, dataset="aaf")
    # make_cache's faces are train/val only: score val as the test split here.
    evals = tmp_path / "evals"
    a = evaluate_weights(tiny_weights, utk, "m", split="val", out_dir=evals)
    b = evaluate_weights(tiny_weights, aaf, "m-aaf", split="val", out_dir=evals)
    assert [r["dataset"] for r in a["rows"]] == ["utkface", "utkface"] and b["rows"][0]["dataset"] == "aaf"
    assert a["weights_sha256"] == b["weights_sha256"] and a["trained_on"] == ["utkface"]
    cells = b["details"]["all"]["cells"]
    assert sum(c["n"] for c in cells.values()) == b["details"]["all"]["n"]
    some = next(iter(cells.values()))
    assert {"age_mae", "mean_signed_error", "gender_acc"} <= set(some)
    rows = write_report(evals, tmp_path / "out")
    assert {r["dataset"] for r in rows} == {"utkface", "aaf"}
    text = (tmp_path / "out" / "README.md").read_text()
    assert "## UTKFace test, ages 18-50" in text and "## All-Age-Faces test, ages all" in text
    across = text.split("## Across datasets")[1].split("##")[0]
    assert "| m | UTKFace |" in across  # one row for the model, named by its UTKFace evaluation
    assert "### m-aaf on All-Age-Faces" in text and "signed error" in text
    assert json.loads((tmp_path / "out" / "results.json").read_text()) == rows


def test_a_file_that_is_not_an_evaluation_is_named_in_one_line_not_a_traceback(tmp_path):
    import pytest

    from agegender.errors import UserError

    evals = tmp_path / "evals"
    evals.mkdir()
    (evals / "fidelity.json").write_text(json.dumps({"vgg16/utkface": {"faces": 3}}))
    with pytest.raises(UserError, match=r"fidelity\.json is not an evaluation"):
        write_report(evals, tmp_path / "out")
    (evals / "fidelity.json").write_text("{broken")
    with pytest.raises(UserError, match=r"fidelity\.json is not valid JSON"):
        write_report(evals, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written
