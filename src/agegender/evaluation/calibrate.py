"""Post-hoc calibration on the val split: a temperature for gender, a scale for the age spread.

Temperature scaling (Guo et al., 2017) divides the gender logits by one number chosen to
minimise the negative log-likelihood on val; it never changes a prediction, only its
confidence. The age spread of a distribution head is scaled so that, on val, 68.3% of
faces lie within one spread of their true age, as for a normal error.
"""

from __future__ import annotations

import numpy as np

from agegender.data.cache import open_cache
from agegender.data.manifest import AgeWindow
from agegender.evaluation.metrics import expected_calibration_error
from agegender.evaluation.predict import predict_faces
from agegender.models.networks import AgeGenderNet

TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(4.0), 161))
ONE_SIGMA = 0.6827


def calibrate(model: AgeGenderNet, cache_dir, split: str = "val", flip_tta: bool = True) -> dict:
    """Fit the calibration on ``split`` (all ages), set it in ``model.config``; return before/after figures."""
    cache = open_cache(cache_dir)
    idx = cache.indices(split, AgeWindow.all())
    faces = np.ascontiguousarray(cache.images[idx])
    ages, female = cache.ages[idx].astype(float), cache.genders[idx].astype(int)
    model.config.gender_temperature, model.config.age_std_scale = 1.0, 1.0
    # One pass, uncalibrated: temperatures are tried on the views' logits, the spread scales linearly.
    pred = predict_faces(model, faces, batch_size=256, flip_tta=flip_tta, keep_view_logits=True)
    report: dict = {"split": split, "n": int(len(idx))}
    if model.config.has_gender:
        def p_female(t):  # as predict_faces averages: the mean of the views' softmaxes
            return np.mean([_softmax(v / t)[:, 1] for v in pred["gender_logits"]], axis=0)

        nll = [-np.mean(np.log(np.where(female == 1, p, 1 - p).clip(1e-7))) for p in map(p_female, TEMPERATURES)]
        best = float(TEMPERATURES[int(np.argmin(nll))])
        report["gender"] = {"temperature": best, "nll_before": float(nll[int(np.argmin(np.abs(TEMPERATURES - 1)))]),
                            "nll_after": float(min(nll)),
                            "ece_before": expected_calibration_error(female, p_female(1.0)),
                            "ece_after": expected_calibration_error(female, p_female(best))}
        model.config.gender_temperature = best
    if model.config.has_age and model.config.age_head == "distribution":
        ratio = np.abs(pred["age"] - ages) / np.maximum(pred["age_std"], 1e-3)
        scale = float(np.quantile(ratio, ONE_SIGMA))
        report["age"] = {"std_scale": scale, "within_1std_before": float((ratio <= 1).mean()),
                         "within_1std_after": float((ratio <= scale).mean()),
                         "within_2std_after": float((ratio <= 2 * scale).mean())}
        model.config.age_std_scale = scale
    return report


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)
