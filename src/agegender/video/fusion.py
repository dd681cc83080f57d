"""One answer per person: a track's per-frame predictions fused into one age and one gender.

Each frame's prediction counts by how much it can be trusted: the detector's score times the
share of the network's input resolution the face fills (a face under ``FULL_DETAIL_PX`` px is
upsampled, so it counts by the square of its size over that). Ages are averaged with those
weights; gender is averaged in log-odds, so that confident frames count more than unsure ones.
The fused ``age_std`` is the spread of the per-frame answers (between frames and the model's own)
over the square root of the effective number of frames: it shrinks as frames accumulate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FULL_DETAIL_PX = 64
"""Face side (px) from which a frame counts fully: the shipped networks read 64-px faces."""


def frame_weight(box, det_score: float | None) -> float:
    """How much one frame's prediction for a face of ``box`` (x1, y1, x2, y2) counts."""
    side = max(box[2] - box[0], box[3] - box[1])
    return (1.0 if det_score is None else float(det_score)) * min(1.0, side / FULL_DETAIL_PX) ** 2


@dataclass
class FusedPrediction:
    """Running weighted fusion of one model's answers for one track."""

    n: int = 0
    weight: float = 0.0
    weight_sq: float = 0.0
    age_sum: float = 0.0
    age_sq_sum: float = 0.0
    age_var_sum: float = 0.0  # the model's own spread, weighted
    age_weight: float = 0.0
    logit_sum: float = 0.0
    gender_weight: float = 0.0

    def add(self, prediction, weight: float) -> None:
        """Take one frame's :class:`agegender.results.Prediction` with its ``weight``."""
        if weight <= 0:
            return
        self.n += 1
        self.weight += weight
        self.weight_sq += weight * weight
        if prediction.age is not None:
            self.age_weight += weight
            self.age_sum += weight * prediction.age
            self.age_sq_sum += weight * prediction.age**2
            self.age_var_sum += weight * (prediction.age_std or 0.0) ** 2
        if prediction.p_female is not None:
            p = min(max(prediction.p_female, 1e-4), 1 - 1e-4)
            self.gender_weight += weight
            self.logit_sum += weight * math.log(p / (1 - p))

    @property
    def effective_frames(self) -> float:
        """Kish's effective sample size: n for equal weights, less when a few frames dominate."""
        return self.weight**2 / self.weight_sq if self.weight_sq else 0.0

    @property
    def age(self) -> float | None:
        return self.age_sum / self.age_weight if self.age_weight else None

    @property
    def between_frames_std(self) -> float:
        """How much the frames' ages disagree (weighted standard deviation), years."""
        if not self.age_weight:
            return 0.0
        mean = self.age_sum / self.age_weight
        return math.sqrt(max(0.0, self.age_sq_sum / self.age_weight - mean * mean))

    @property
    def age_std(self) -> float | None:
        if not self.age_weight:
            return None
        per_frame = self.between_frames_std**2 + self.age_var_sum / self.age_weight
        return math.sqrt(per_frame / max(1.0, self.effective_frames))

    @property
    def p_female(self) -> float | None:
        if not self.gender_weight:
            return None
        return 1 / (1 + math.exp(-self.logit_sum / self.gender_weight))

    def settled(self, min_frames: int, max_std: float) -> bool:
        """Enough frames, agreeing well enough, that more frames would change little."""
        if self.n < min_frames:
            return False
        return self.between_frames_std / math.sqrt(max(1.0, self.effective_frames)) <= max_std

    def prediction(self):
        """The fused answer as a :class:`agegender.results.Prediction` (``age_std``: the fused spread)."""
        from agegender.results import Prediction

        p = Prediction()
        if self.age is not None:
            p.age, p.age_std = round(self.age, 2), round(self.age_std or 0.0, 2)
        if self.p_female is not None:
            p.p_female = round(self.p_female, 4)
            p.gender = "female" if p.p_female >= 0.5 else "male"
        return p
