"""Validation: every dataset's val split on its own, one score to pick the best epoch."""

from __future__ import annotations

import numpy as np

from agegender.metrics import age_metrics, gender_metrics
from agegender.models.engines import predict_faces
from agegender.models.networks import AgeGenderNet
from agegender.training.data import ValidationSet


def validation_score(metrics: dict) -> float:
    """One number to pick the best epoch (lower is better): age MAE in years plus 10 x gender error rate."""
    score = 0.0
    if "age_mae" in metrics:
        score += metrics["age_mae"]
    if "gender_acc" in metrics:
        score += 10 * (1 - metrics["gender_acc"])
    return score


def validate(model, val_sets: list[ValidationSet], device, flip_tta: bool, autocast_dtype) -> dict:
    """Validation metrics of every dataset and the score that picks the best epoch.

    With one dataset: its metrics and ``score``. With several: each dataset's metrics under
    ``datasets``, their unweighted means at the top, and ``score`` = the mean of the datasets'
    scores, so the best epoch is the one best for all of them, not for the largest.
    """
    per = {
        v.dataset: evaluate_split(model, v.faces, v.ages, v.genders, device, flip_tta, autocast_dtype) for v in val_sets
    }
    if len(per) == 1:
        metrics = next(iter(per.values()))
        return {**metrics, "score": validation_score(metrics)}
    keys = next(iter(per.values())).keys()
    mean = {k: float(np.mean([m[k] for m in per.values()])) for k in keys}
    score = float(np.mean([validation_score(m) for m in per.values()]))
    return {**mean, "score": score, "datasets": per}


def flat_validation_row(val: dict) -> dict:
    """``val/<metric>`` (and ``val/<dataset>/<metric>``) columns of summary.csv."""
    row = {f"val/{k}": v for k, v in val.items() if k != "datasets"}
    for name, metrics in val.get("datasets", {}).items():
        row.update({f"val/{name}/{k}": v for k, v in metrics.items()})
    return row


def evaluate_split(
    model: AgeGenderNet,
    faces: np.ndarray,
    ages: np.ndarray,
    genders: np.ndarray,
    device,
    flip_tta: bool,
    autocast_dtype,
) -> dict:
    """Metrics of ``model`` on faces with labels: ``age_mae``, ``age_cs5``, ``gender_acc``..."""
    pred = predict_faces(model, faces, batch_size=256, flip_tta=flip_tta, device=device, autocast_dtype=autocast_dtype)
    out: dict = {}
    if "age" in pred:
        m = age_metrics(ages, pred["age"])
        out.update(age_mae=m["mae"], age_rmse=m["rmse"], age_cs5=m["cs5"])
    if "p_female" in pred:
        m = gender_metrics(genders, pred["p_female"])
        out.update(gender_acc=m["accuracy"], gender_auc=m["roc_auc"])
    return out
