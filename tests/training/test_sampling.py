"""Epoch sampling over several datasets: shares per dataset and flattened age x gender cells."""

import numpy as np
import pytest

from agegender.training.sampling import draw_probabilities, parse_shares


def test_shares_parse_and_refuse_nonsense():
    assert parse_shares("utkface=0.6, aaf=0.4") == {"utkface": 0.6, "aaf": 0.4}
    assert parse_shares("") == {}
    with pytest.raises(ValueError, match="not like"):
        parse_shares("aaf")
    with pytest.raises(ValueError, match="negative"):
        parse_shares("aaf=-1")


def test_no_rule_means_a_plain_shuffle():
    ages, genders, ids = np.array([20, 30]), np.array([0, 1]), np.array([0, 0])
    assert draw_probabilities(ages, genders, ids, ["a"]) is None


def test_each_dataset_gets_its_share_whatever_its_size():
    ages = np.full(1000, 30)
    genders = np.zeros(1000, int)
    ids = np.r_[np.zeros(900, int), np.ones(100, int)]
    p = draw_probabilities(ages, genders, ids, ["big", "small"], {"big": 0.5, "small": 0.5})
    assert p[ids == 0].sum() == pytest.approx(0.5) and p[ids == 1].sum() == pytest.approx(0.5)
    # A dataset the shares leave out keeps its size share; names must exist.
    p = draw_probabilities(ages, genders, ids, ["big", "small"], {"small": 0.9})
    assert p[ids == 1].sum() == pytest.approx(0.9 / (0.9 + 0.9))
    with pytest.raises(ValueError, match="not trained on"):
        draw_probabilities(ages, genders, ids, ["big", "small"], {"imdb": 1})


def test_balance_flattens_crowded_cells_within_a_dataset():
    # 300 women of 20-29 and 30 men of 60-69 in one dataset.
    ages = np.r_[np.full(300, 25), np.full(30, 65)]
    genders = np.r_[np.ones(300, int), np.zeros(30, int)]
    ids = np.zeros(330, int)
    crowded = lambda p: p[:300].sum()  # noqa: E731
    assert crowded(draw_probabilities(ages, genders, ids, ["a"], balance=1.0)) == pytest.approx(0.5)
    half = crowded(draw_probabilities(ages, genders, ids, ["a"], balance=0.5))
    assert half == pytest.approx(np.sqrt(300) / (np.sqrt(300) + np.sqrt(30)))
