"""The shipping rule's test-split check: a loss within one standard error holds, a larger one fails."""

import json

import pytest

from agegender.cli import main
from agegender.evaluation.shipping import compare_test_splits


def evaluation(dataset: str, mae: float, acc: float, n: int = 1000, rmse: float | None = None) -> dict:
    rmse = rmse if rmse is not None else mae * 1.3  # spread of |error| = sqrt(rmse^2 - mae^2) = 0.83 x MAE
    detail = {
        "n": n,
        "age": {"n": n, "mae": mae, "rmse": rmse},
        "gender": {"n": n, "accuracy": acc},
    }
    return {"dataset": dataset, "details": {"18-50": detail}}


def test_a_loss_within_noise_holds_and_a_larger_one_fails():
    old = [evaluation("utkface", 4.40, 0.978), evaluation("aaf", 4.84, 0.975, n=700)]
    # MAE noise on 1,000 faces: 0.83 x 4.5 / sqrt(1000) = 0.12 years; accuracy noise sqrt(.97 x .03 / 1000) = 0.5 points
    within = [evaluation("utkface", 4.50, 0.975), evaluation("aaf", 4.70, 0.980, n=700)]
    rows = compare_test_splits(old, within)
    assert [(r["dataset"], r["loses"]) for r in rows] == [("utkface", False), ("aaf", False)]
    assert rows[0]["mae_noise"] == pytest.approx(0.83 * 4.5 / 1000**0.5, rel=0.01)
    older_age = [evaluation("utkface", 4.60, 0.978), evaluation("aaf", 4.84, 0.975, n=700)]
    assert [r["loses"] for r in compare_test_splits(old, older_age)] == [True, False]
    worse_gender = [evaluation("utkface", 4.40, 0.965), evaluation("aaf", 4.84, 0.975, n=700)]
    assert [r["loses"] for r in compare_test_splits(old, worse_gender)] == [True, False]


def test_another_split_or_no_common_split_is_refused():
    with pytest.raises(ValueError, match="not the same test split"):
        compare_test_splits([evaluation("utkface", 4.4, 0.97)], [evaluation("utkface", 4.4, 0.97, n=999)])
    with pytest.raises(ValueError, match="share no test split"):
        compare_test_splits([evaluation("utkface", 4.4, 0.97)], [evaluation("aaf", 4.4, 0.97)])


def test_compare_command_prints_the_table_and_exits_4_on_a_loss(tmp_path, capsys):
    files = {}
    for name, e in {"old": evaluation("utkface", 4.40, 0.978), "new": evaluation("utkface", 4.70, 0.978)}.items():
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps(e))
    assert main(["compare", "--old", str(files["old"]), "--new", str(files["new"])]) == 4
    out = capsys.readouterr().out
    assert "4.40 → 4.70" in out and "loses beyond noise on: utkface 18-50" in out
    assert main(["compare", "--old", str(files["old"]), "--new", str(files["old"])]) == 0
    assert main(["compare", "--old", str(files["old"]), "--new", str(tmp_path / "missing.json")]) == 2
