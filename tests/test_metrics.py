import numpy as np
import pytest

from agegender.metrics import (
    age_bucket_labels,
    age_metrics,
    expected_calibration_error,
    gender_metrics,
    roc_auc,
)


def test_age_metrics_golden():
    m = age_metrics([20, 30, 40, 50], [22, 30, 33, 50])
    assert m["mae"] == pytest.approx(2.25)
    assert m["rmse"] == pytest.approx(np.sqrt((4 + 49) / 4))
    assert m["cs5"] == pytest.approx(0.75)
    assert m["mean_signed_error"] == pytest.approx(-1.25)


def test_gender_metrics_golden():
    m = gender_metrics([0, 0, 1, 1], [0.1, 0.6, 0.8, 0.4])
    assert m["accuracy"] == 0.5
    assert m["confusion"] == [[1, 1], [1, 1]]
    assert m["roc_auc"] == pytest.approx(0.75)


def test_auc_edge_cases():
    assert roc_auc([0, 1], [0.2, 0.9]) == 1.0
    assert np.isnan(roc_auc([1, 1], [0.2, 0.9]))


def test_ece_zero_for_perfectly_calibrated_confidence():
    assert expected_calibration_error([1, 1, 0, 0], [1.0, 1.0, 0.0, 0.0]) == pytest.approx(0.0)
    assert expected_calibration_error([0, 0], [0.9, 0.9]) == pytest.approx(0.9)


def test_buckets():
    assert age_bucket_labels([5, 18, 50, 90]) == ["0-12", "18-24", "45-54", "65+"]


def test_cells_carry_signed_error_and_the_gap_needs_two_known_groups():
    from agegender.metrics import accuracy_gap, cell_metrics

    cells = cell_metrics([30, 30, 40, 8], [1, 1, 0, 1], pred_age=[25, 27, 44, 8], p_female=[0.9, 0.2, 0.1, 0.6])
    assert cells["female 25-34"] == {"n": 2, "age_mae": 4.0, "mean_signed_error": -4.0, "gender_acc": 0.5}
    assert cells["male 35-44"]["mean_signed_error"] == 4.0 and cells["female 0-12"]["gender_acc"] == 1.0
    groups = {
        "a": {"n": 40, "accuracy": 0.9},
        "b": {"n": 40, "accuracy": 0.8},
        "c": {"n": 5, "accuracy": 0.1},
        "unknown": {"n": 900, "accuracy": 0.5},
    }
    gap = accuracy_gap(groups)
    assert (gap["best"], gap["worst"], round(gap["gap"], 3)) == ("a", "b", 0.1)  # small and unlabelled groups left out
    assert accuracy_gap({"unknown": {"n": 900, "accuracy": 0.5}}) is None
