"""Calibration on val: the age spread covers 68% of faces within one spread; temperature keeps predictions."""

import json

import numpy as np
import pytest
import torch

from agegender.cli import main
from agegender.models import create_model
from agegender.models.engines import predict_faces
from agegender.models.weights import load_model, read_metadata, save_weights
from tests.support import make_cache


def test_calibrate_sets_spread_scale_and_temperature(tiny_arch, tmp_path, capsys):
    cache = make_cache(tmp_path / "cache", n=96, size=32)
    torch.manual_seed(0)
    model = create_model(tiny_arch, task="both", age_head="distribution", input_size=32, age_min=1, age_max=100).eval()
    weights = tmp_path / "w.safetensors"
    save_weights(model, weights, {"recipe": "untrained"})
    assert main(["calibrate", str(weights), "--cache", str(cache), "-o", str(tmp_path / "cal.safetensors")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 24 and abs(report["age"]["within_1std_after"] - 0.6827) < 0.1
    calibrated, meta = load_model(tmp_path / "cal.safetensors")
    assert calibrated.readout.age_std_scale == report["age"]["std_scale"] > 0
    assert calibrated.readout.gender_temperature == report["gender"]["temperature"]
    assert (
        read_metadata(tmp_path / "cal.safetensors")["readout"]["gender_temperature"] == report["gender"]["temperature"]
    )
    assert "gender_temperature" not in read_metadata(tmp_path / "cal.safetensors")["config"]  # architecture only
    assert meta["calibration"]["gender"]["nll_after"] <= meta["calibration"]["gender"]["nll_before"] + 1e-9
    faces = np.load(cache / "images.npy")[:16]
    before, after = predict_faces(load_model(weights)[0], faces), predict_faces(calibrated, faces)
    assert np.array_equal(before["p_female"] >= 0.5, after["p_female"] >= 0.5)  # confidence changes, not answers
    assert np.allclose(after["age_std"], before["age_std"] * report["age"]["std_scale"], rtol=1e-3)


def test_age_bias_map_undoes_a_pull_towards_the_mean_age():
    from agegender.evaluation.calibrate import _cross_fitted_mae, age_bias_map
    from agegender.models.readout import ReadOut

    rng = np.random.default_rng(0)
    ages = rng.integers(1, 91, 3000).astype(float)
    predicted = np.round(0.7 * ages + 0.3 * 33 + rng.normal(0, 3, len(ages)))  # young too old, old too young
    knots, shifts = age_bias_map(predicted, ages)
    assert knots == sorted(knots) and shifts[0] < 0 < shifts[-1]
    readout = ReadOut(age_head="distribution", age_min=1, age_max=100)
    before = np.abs(predicted - ages).mean()
    cross_fitted = _cross_fitted_mae(predicted, ages, readout, {"all": np.ones(len(ages), bool)})
    assert cross_fitted["all"] < 0.7 * before  # on faces the map was not fitted on


def test_calibrated_bias_map_is_what_predictions_use(tmp_path, capsys):
    cache = make_cache(tmp_path / "cache", n=96, size=32)
    torch.manual_seed(0)
    model = create_model("resnet50", task="age", age_head="distribution", input_size=32, age_min=1, age_max=100)
    weights = tmp_path / "w.safetensors"
    save_weights(model.eval(), weights, {"recipe": "untrained"})
    assert main(["calibrate", str(weights), "--cache", str(cache)]) == 0  # in place
    report = json.loads(capsys.readouterr().out)
    calibrated = load_model(weights)[0]
    bias = report["age_bias"]
    assert bias["kept"] == (bias["mae_after_cross_fitted"] < bias["mae_before"])
    assert list(calibrated.readout.age_bias_knots) == (bias["knots"] if bias["kept"] else [])
    val = np.load(cache / "images.npy")[72:]  # make_cache puts val last
    mae = np.abs(
        predict_faces(calibrated, val, flip_tta=True)["age"]
        - np.array(json.loads((cache / "labels.json").read_text())["ages"][72:])
    ).mean()
    assert mae == pytest.approx(bias["mae_after_in_sample"] if bias["kept"] else bias["mae_before"], abs=1e-4)
    assert bias["mae_after_in_sample"] < bias["mae_before"]


def test_calibrate_can_divide_out_the_training_prior_and_leave_out_the_bias_map(tiny_weights, tmp_path, capsys):
    cache = make_cache(tmp_path / "cache", n=96, size=32)
    out = tmp_path / "prior.safetensors"
    assert (
        main(
            [
                "calibrate",
                str(tiny_weights),
                "--cache",
                str(cache),
                "-o",
                str(out),
                "--age-prior-weight",
                "0.5",
                "--no-age-bias",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["age_prior"]["weight"] == 0.5 and report["age_bias"]["kept"] is False
    readout = load_model(out)[0].readout
    assert readout.age_prior_weight == 0.5 and len(readout.age_log_prior) == 100 and readout.age_bias_knots == ()
    assert np.isfinite(predict_faces(load_model(out)[0], np.load(cache / "images.npy")[:8])["age"]).all()
    assert main(["calibrate", str(tiny_weights), "--cache", str(cache), "-o", str(out), "--age-prior-weight", "2"]) == 2
