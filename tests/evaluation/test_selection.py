"""The model-selection score: shifted renderings of val faces, band-balanced metrics, prior-adjusted read-out."""

import json

import cv2
import numpy as np
import pytest

from agegender.cli import main
from agegender.evaluation.calibrate import estimate_log_prior
from agegender.evaluation.selection import score_cell
from agegender.evaluation.shifts import SHIFTS, render
from agegender.models.readout import ReadOut
from tests.support import make_cache


def _sharpness(faces):
    return float(np.mean([cv2.Laplacian(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var() for f in faces]))


def test_each_shift_renders_every_face_the_same_way_at_its_own_size(example_face):
    faces = np.stack([cv2.resize(example_face, (64, 64), interpolation=cv2.INTER_AREA)] * 3)
    assert render(faces, "as cached") is faces
    for shift in SHIFTS:
        out = render(faces, shift, seed=1)
        assert out.shape == faces.shape and out.dtype == np.uint8
        assert np.array_equal(out, render(faces, shift, seed=1))  # a face's draw depends on (seed, index) only
        if shift != "as cached":
            assert np.abs(out.astype(int) - faces).mean() > 3, shift
            assert not np.array_equal(out[0], render(faces, shift, seed=2)[0]), shift
    assert _sharpness(render(faces, "low-res")) < 0.5 * _sharpness(faces)
    assert render(faces, "dark").mean() < 0.6 * faces.mean() < render(faces, "bright").mean()
    with pytest.raises(ValueError, match="unknown shift"):
        render(faces, "foggy")


def test_cell_metrics_balance_age_bands_and_sign_the_error():
    ages = np.array([5.0] * 10 + [30.0] * 30)
    female = np.array([1, 0] * 20)
    age = ages + np.where(ages < 18, 4.0, -2.0)  # children read 4 years too old, adults 2 too young
    m = score_cell(ages, female, age, np.where(female == 1, 0.9, 0.2))
    assert m["age_mae"] == pytest.approx((10 * 4 + 30 * 2) / 40)
    assert m["age_mae_balanced"] == pytest.approx((4 + 2) / 2)  # each band counts once, not each face
    assert m["signed_error_by_band"] == {"female 25-34": -2.0, "male 25-34": -2.0}
    assert m["gender_acc"] == 1.0 and m["gender_acc_0_12"] == 1.0
    assert m["score"] == pytest.approx(3.0)
    wrong = score_cell(ages, female, age, np.full(40, 0.9))  # everyone read as female
    assert wrong["gender_acc"] == 0.5 and wrong["score"] == pytest.approx(3.0 + 10 * 0.5)


def test_dividing_out_the_training_prior_moves_ages_away_from_the_crowded_ones():
    readout = ReadOut(age_head="distribution", age_min=1, age_max=100, age_readout="mean")
    bins = readout.bins
    prior = np.exp(-0.5 * ((bins - 30) / 6) ** 2) + 1e-3  # a training set crowded at 30
    likelihood = np.exp(-0.5 * ((bins - 55) / 8) ** 2)  # what the face shows: about 55
    logits = np.log(likelihood * prior)[None]
    log_prior = estimate_log_prior([{"age_logits": np.log(prior / prior.sum())[None]}], smooth_years=0.5)
    plain = readout.read([{"age_logits": logits}])["age"][0]
    adjusted = [
        ReadOut(**{**readout.__dict__, "age_prior_weight": w, "age_log_prior": tuple(log_prior)}).read(
            [{"age_logits": logits}]
        )["age"][0]
        for w in (0.5, 1.0)
    ]
    assert plain < adjusted[0] < adjusted[1]
    assert adjusted[1] == pytest.approx(55, abs=1.0)  # the prior divided out: the face's own evidence
    with pytest.raises(Exception, match="age_log_prior has 3 values"):
        ReadOut(age_head="distribution", age_min=1, age_max=100, age_log_prior=(0.0, 0.0, 0.0))


def test_select_command_scores_candidates_on_every_collection_and_shift(random_weights, tmp_path, capsys):
    a = make_cache(tmp_path / "a", n=48, size=32, dataset="utkface")
    b = make_cache(tmp_path / "b", n=48, size=32, seed=1, dataset="aaf")
    out = tmp_path / "sel" / "result.json"
    assert (
        main(
            [
                "select",
                "--weights",
                f"vgg16={random_weights['vgg16']}",
                "--weights",
                f"resnet50={random_weights['resnet50']}",
                "--cache",
                f"{a},{b}",
                "--prior-weights",
                "0,1",
                "--fuse",
                "vgg16 [stored],resnet50 [stored]",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    ranked = [line.split(None, 1)[1] for line in capsys.readouterr().out.splitlines()]
    result = json.loads(out.read_text())
    assert (
        set(ranked)
        == set(result["candidates"])
        == {"vgg16 [stored]", "vgg16 [prior 1]", "resnet50 [stored]", "vgg16 [stored] + resnet50 [stored]"}
    )
    scores = [result["candidates"][name]["score"] for name in ranked]
    assert scores == sorted(scores)
    cells = {(c["candidate"], c["dataset"], c["shift"]) for c in result["cells"]}
    assert len(cells) == 4 * 2 * len(SHIFTS)
    assert "| candidate | score |" in out.with_suffix(".md").read_text()
    assert main(["select", "--weights", "nofile", "--cache", str(a), "-o", str(out)]) == 2
    assert "NAME=FILE" in capsys.readouterr().err
