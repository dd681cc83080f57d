import numpy as np
import pytest

from agegender.models.readout import ReadOut, read_distribution


def test_median_readout_is_robust_to_a_long_tail_and_mean_stays_available():
    bins = np.arange(1.0, 101.0)
    probs = np.zeros((1, 100))
    probs[0, 29], probs[0, 30], probs[0, 89] = 0.45, 0.25, 0.30  # mostly 30-31, some mass at 90
    median, spread = read_distribution(probs, bins, "median")
    mean, spread_mean = read_distribution(probs, bins, "mean")
    assert median[0] == 31.0  # where the cumulative probability reaches one half
    assert mean[0] == pytest.approx(0.45 * 30 + 0.25 * 31 + 0.30 * 90)
    assert spread[0] == spread_mean[0] > 20


def test_views_are_averaged_as_distributions_before_the_median():
    r = ReadOut(age_head="distribution", age_min=20, age_max=23)
    big = 30.0
    # One view says 20, the other 23 with a little mass at 21: the mean distribution's median is 21,
    # where a mean of the two medians would say 21.5.
    a = {"age_logits": np.array([[big, 0, 0, 0]])}
    b = {"age_logits": np.array([[0, big - 2, 0, big]])}
    assert r.read([a, b])["age"].tolist() == [21.0]


def test_calibration_fields_change_answers_as_documented():
    logits = {"age_logits": np.log(np.array([[0.1, 0.2, 0.4, 0.3]])), "gender_logits": np.array([[0.0, 2.0]])}
    plain = ReadOut(age_head="distribution", age_min=30, age_max=33)
    calibrated = ReadOut(
        age_head="distribution",
        age_min=30,
        age_max=33,
        gender_temperature=2.0,
        age_std_scale=1.5,
        age_bias_knots=(30.0, 40.0),
        age_bias_shifts=(1.0, 1.0),
    )
    p, c = plain.read([logits]), calibrated.read([logits])
    assert p["p_female"][0] == pytest.approx(1 / (1 + np.exp(-2)), abs=1e-6)
    assert c["p_female"][0] == pytest.approx(1 / (1 + np.exp(-1)), abs=1e-6)  # logits / temperature
    assert c["age_std"][0] == pytest.approx(1.5 * p["age_std"][0], rel=1e-5)
    assert p["age"][0] == 32.0 and c["age"][0] == 33.0  # +1 year, clipped to the range


def test_regression_heads_read_raw_times_scale_plus_mean_and_clip():
    r = ReadOut(age_head="regression", age_min=18, age_max=50, age_mean=30, age_scale=10)
    out = r.read([{"age_raw": np.array([0.0, 0.55, 5.0])}, {"age_raw": np.array([0.2, 0.45, 5.0])}])
    assert out["age"].tolist() == pytest.approx([31.0, 35.0, 50.0]) and "age_std" not in out


def test_read_out_comes_from_a_stored_config_and_ignores_network_fields():
    r = ReadOut.from_config(
        {
            "arch": "vgg16",
            "age_head": "distribution",
            "age_min": 1,
            "age_max": 117,
            "age_bias_knots": [10, 20],
            "age_bias_shifts": [1, 2],
            "hidden": 256,
        }
    )
    assert r.age_max == 117 and r.age_bias_knots == (10.0, 20.0) and r.whole_years
    with pytest.raises(ValueError, match="read-out"):
        read_distribution(np.ones((1, 2)) / 2, np.arange(2.0), "mode")
