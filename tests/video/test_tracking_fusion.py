"""The tracker keeps one id per moving face and lets spurious detections go; fusion weighs frames by trust."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agegender.results import Prediction
from agegender.video.fusion import FusedPrediction, frame_weight
from agegender.video.tracking import FaceTracker, greedy_pairs, iou_matrix


def box(cx, cy, side=80):
    return [cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2]


def test_iou_and_greedy_pairs():
    a = np.array([box(100, 100), box(300, 100)])
    b = np.array([box(305, 100), box(100, 104)])
    iou = iou_matrix(a, b)
    assert iou[0, 1] > 0.8 and iou[1, 0] > 0.8 and iou[0, 0] == 0
    assert sorted(greedy_pairs(iou, 0.3)) == [(0, 1), (1, 0)]
    assert greedy_pairs(iou, 0.99) == []


def test_two_faces_crossing_the_picture_keep_their_ids():
    tracker = FaceTracker()
    seen = {}
    for i in range(50):  # 2 s at 25 fps: one face left to right, one right to left, 120 px apart vertically
        t = i / 25
        boxes = [box(100 + 8 * i, 180), box(500 - 8 * i, 300)]
        ids, ended = tracker.update(np.array(boxes), t)
        for which, track in enumerate(ids):
            seen.setdefault(which, set()).add(track)
        assert not ended
    assert seen[0] != seen[1] and len(seen[0]) == 1 and len(seen[1]) == 1


def test_a_face_hidden_for_a_moment_keeps_its_id_and_a_stranger_elsewhere_does_not_take_it():
    tracker = FaceTracker(max_lost_s=2.0)
    ids = []
    for i in range(60):
        t = i / 25
        if 20 <= i < 30:  # out of sight for 0.4 s while moving on
            ids.append(None)
            tracker.update(np.zeros((0, 4)), t)
            continue
        ids.append(tracker.update(np.array([box(100 + 4 * i, 200)]), t)[0][0])
    assert len({i for i in ids if i is not None}) == 1
    # another face appears far from where the track was heading: a new person
    new_ids, _ = tracker.update(np.array([box(100 + 4 * 60, 200), box(600, 420)]), 60 / 25)
    assert new_ids[0] == ids[0] and new_ids[1] != ids[0]


def test_a_person_leaving_ends_the_track_after_max_lost_and_a_one_frame_detection_counts_for_nobody():
    tracker = FaceTracker(max_lost_s=1.0)
    for i in range(10):
        tracker.update(np.array([box(200, 200)]), i / 25)
    ids, ended = tracker.update(np.array([box(500, 400)]), 10 / 25)  # a spurious detection elsewhere
    assert not ended
    spurious = ids[0]
    _, ended = tracker.update(np.zeros((0, 4)), 11 / 25)
    assert [t.id for t in ended] == [spurious] and not tracker.confirmed(ended[0])
    ended_at = None
    for i in range(12, 60):
        _, ended = tracker.update(np.zeros((0, 4)), i / 25)
        if ended:
            ended_at = i / 25
            assert tracker.confirmed(ended[0]) and ended[0].hits == 10
            break
    assert ended_at is not None and 1.0 < ended_at - 9 / 25 <= 1.0 + 1 / 25 + 1e-9
    assert tracker.finish() == []


def test_fusion_weighs_large_confident_frames_and_averages_gender_in_log_odds():
    assert frame_weight((0, 0, 128, 128), 0.9) == pytest.approx(0.9)
    assert frame_weight((0, 0, 32, 32), 0.9) == pytest.approx(0.9 / 4)  # half the detail: a quarter of the weight
    fused = FusedPrediction()
    fused.add(Prediction(age=30, age_std=4, p_female=0.9), 1.0)
    fused.add(Prediction(age=50, age_std=4, p_female=0.2), 0.25)
    assert fused.age == pytest.approx((30 + 0.25 * 50) / 1.25)
    logit = (math.log(9) + 0.25 * math.log(0.25)) / 1.25
    assert fused.p_female == pytest.approx(1 / (1 + math.exp(-logit)))
    assert fused.prediction().gender == "female"


def test_the_fused_spread_shrinks_as_agreeing_frames_accumulate_and_then_it_is_settled():
    fused = FusedPrediction()
    spreads = []
    rng = np.random.default_rng(0)
    for _ in range(20):
        fused.add(Prediction(age=float(35 + rng.normal(0, 1.5)), age_std=5.0, p_female=0.3), 1.0)
        spreads.append(fused.age_std)
    assert spreads[0] == pytest.approx(5.0) and spreads[-1] < spreads[4] < spreads[0]
    assert spreads[-1] == pytest.approx(math.sqrt(fused.between_frames_std**2 + 25) / math.sqrt(20))
    assert not FusedPrediction().settled(5, 1.0) and fused.settled(5, 1.0)
    wild = FusedPrediction()
    for age in (20, 60, 20, 60, 20):
        wild.add(Prediction(age=age, p_female=0.5), 1.0)
    assert not wild.settled(5, 1.0)  # frames that disagree keep the networks running
