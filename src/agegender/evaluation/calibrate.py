"""Post-hoc calibration on the val split: a temperature for gender, a bias map and a spread scale for age,
and on request the training prior divided out of the age read-out.

Temperature scaling (Guo et al., 2017) divides the gender logits by one number chosen to
minimise the negative log-likelihood on val; it never changes a prediction, only its
confidence. Age: a model trained on all ages pulls its estimates towards the mean age of
its training set (young adults come out too old, the elderly too young); the bias map adds,
at each predicted age, the median error of val faces predicted near that age (10-year bins,
interpolated), a function of the prediction alone, so it applies to any new face. Its gain
is also measured cross-fitted (fit on one half of val, score the other) so the report does
not flatter it, and the map is kept only when that cross-fitted MAE is lower. Then the age spread of a distribution head is scaled so that, on val,
68.3% of faces lie within one spread of their true age, as for a normal error.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from agegender.data.cache import split_faces
from agegender.data.manifest import AgeWindow
from agegender.metrics import expected_calibration_error
from agegender.models.engines import predict_faces
from agegender.models.networks import AgeGenderNet
from agegender.models.readout import ReadOut, softmax

TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(4.0), 161))
ONE_SIGMA = 0.6827


def calibrate(
    model: AgeGenderNet,
    cache_dirs,
    split: str = "val",
    flip_tta: bool = True,
    age_prior_weight: float = 0.0,
    age_bias: bool = True,
) -> tuple[ReadOut, dict]:
    """Fit the calibration on ``split`` (all ages): return the calibrated read-out (the model is left as
    it is; its read-out choice is kept, any earlier calibration refitted from scratch) and before/after figures.

    ``cache_dirs``: one cache folder, or several (a list, or folders separated by commas) whose
    ``split`` faces are pooled: a model trained on several datasets is calibrated on all of them.
    ``age_prior_weight`` (distribution heads): divide the training prior out of the age read-out at this
    weight (:func:`estimate_log_prior`), before the bias map is fitted; ``age_bias=False``: no bias map.
    Both are chosen on the selection score (agegender select), not here.
    """
    parts = split_faces(cache_dirs, split)
    counts = {p.dataset: len(p.ages) for p in parts}
    faces = np.concatenate([p.images for p in parts])
    ages, female = np.concatenate([p.ages for p in parts]), np.concatenate([p.female for p in parts])
    readout = model.readout.uncalibrated()
    fitted: dict = {}
    # One pass, uncalibrated: temperatures are tried on the views' logits, the spread scales linearly.
    pred = predict_faces(model, faces, batch_size=256, flip_tta=flip_tta, readout=readout, return_views=True)
    report: dict = {"split": split, "n": int(len(ages)), "datasets": counts}
    if model.config.has_gender:
        view_logits = [v["gender_logits"] for v in pred["views"]]

        def p_female(t):  # as the read-out averages views: the mean of their softmaxes
            return readout.p_female(view_logits, temperature=t).astype(np.float64)

        nll = [-np.mean(np.log(np.where(female == 1, p, 1 - p).clip(1e-7))) for p in map(p_female, TEMPERATURES)]
        best = float(TEMPERATURES[int(np.argmin(nll))])
        report["gender"] = {
            "temperature": best,
            "nll_before": float(nll[int(np.argmin(np.abs(TEMPERATURES - 1)))]),
            "nll_after": float(min(nll)),
            "ece_before": expected_calibration_error(female, p_female(1.0)),
            "ece_after": expected_calibration_error(female, p_female(best)),
        }
        fitted["gender_temperature"] = best
    if age_prior_weight and model.config.age_head == "distribution":
        log_prior = estimate_log_prior(pred["views"])
        mae_before = float(np.abs(pred["age"] - ages).mean())
        readout = dataclasses.replace(
            readout, age_prior_weight=float(age_prior_weight), age_log_prior=tuple(float(v) for v in log_prior)
        )
        pred.update({k: v for k, v in readout.read(pred["views"]).items() if k in ("age", "age_std")})
        report["age_prior"] = {
            "weight": float(age_prior_weight),
            "mae_before": mae_before,
            "mae_after": float(np.abs(pred["age"] - ages).mean()),
        }
    if model.config.has_age and not age_bias:
        report["age_bias"] = {"kept": False, "why": "left out (age_bias=False)"}
    elif model.config.has_age:
        knots, shifts = age_bias_map(pred["age"], ages)
        corrected = readout.correct(pred["age"], knots, shifts)
        errors = np.abs(pred["age"] - ages)
        core = AgeWindow()
        in_core = (ages >= core.min_age) & (ages <= core.max_age)
        cross_fitted = _cross_fitted_mae(
            pred["age"], ages, readout, {"all": np.ones(len(ages), bool), core.label: in_core}
        )
        report["age_bias"] = {
            "knots": knots,
            "shifts": shifts,
            "mae_before": float(errors.mean()),
            "mae_after_in_sample": float(np.abs(corrected - ages).mean()),
            "mae_after_cross_fitted": cross_fitted["all"],
            f"mae_{core.label}_before": float(errors[in_core].mean()),
            f"mae_{core.label}_after_cross_fitted": cross_fitted[core.label],
        }
        # Kept only where it helps faces it was not fitted on (all ages): otherwise it is noise.
        report["age_bias"]["kept"] = report["age_bias"]["mae_after_cross_fitted"] < report["age_bias"]["mae_before"]
        if report["age_bias"]["kept"]:
            fitted["age_bias_knots"], fitted["age_bias_shifts"] = tuple(knots), tuple(shifts)
            pred["age"] = corrected
    if model.config.has_age and model.config.age_head == "distribution":
        ratio = np.abs(pred["age"] - ages) / np.maximum(pred["age_std"], 1e-3)
        scale = float(np.quantile(ratio, ONE_SIGMA))
        report["age"] = {
            "std_scale": scale,
            "within_1std_before": float((ratio <= 1).mean()),
            "within_1std_after": float((ratio <= scale).mean()),
            "within_2std_after": float((ratio <= 2 * scale).mean()),
        }
        fitted["age_std_scale"] = scale
    return dataclasses.replace(readout, **fitted), report


def estimate_log_prior(views: list[dict], smooth_years: float = 2.0, floor: float = 1e-4) -> np.ndarray:
    """The ages a distribution head expects before it sees a face: log of its mean answer over faces.

    ``views``: raw outputs (``predict_faces(..., return_views=True)["views"]``) of faces like its training
    set's (the val faces as cached, of every training collection). Smoothed over ``smooth_years`` and
    floored, so that rare ages at the ends of the range are not blown up when the prior is divided out.
    """
    probs = np.mean([softmax(v["age_logits"]).mean(0) for v in views], axis=0)
    k = np.arange(-int(3 * smooth_years), int(3 * smooth_years) + 1)
    kernel = np.exp(-0.5 * (k / smooth_years) ** 2)
    padded = np.pad(probs, len(k) // 2, mode="edge")
    smooth = np.convolve(padded, kernel / kernel.sum(), mode="valid")
    smooth = np.maximum(smooth, floor * smooth.max())
    return np.log(smooth / smooth.sum())


def age_bias_map(
    predicted: np.ndarray, ages: np.ndarray, width: int = 10, min_faces: int = 20
) -> tuple[list[float], list[float]]:
    """Knots (median predicted age per ``width``-year bin of predictions with ``min_faces`` or more)
    and shifts (median of true minus predicted age there): the least-absolute-error map per bin."""
    bins = np.floor(predicted / width).astype(int)
    knots, shifts = [], []
    for b in np.unique(bins):
        sel = bins == b
        if sel.sum() >= min_faces:
            knots.append(float(np.median(predicted[sel])))
            shifts.append(float(np.median(ages[sel] - predicted[sel])))
    return knots, shifts


def _cross_fitted_mae(
    predicted: np.ndarray, ages: np.ndarray, readout: ReadOut, windows: dict[str, np.ndarray], repeats: int = 10
) -> dict[str, float]:
    """MAE of the bias map on faces it was not fitted on: halves of val, both ways, ``repeats`` times.

    The map is always fitted on all ages of one half; each of ``windows`` (name -> mask) is scored
    on the other half with the same maps.
    """
    rng = np.random.default_rng(0)
    errors: dict[str, list[float]] = {name: [] for name in windows}
    for _ in range(repeats):
        order = rng.permutation(len(ages))
        halves = order[: len(ages) // 2], order[len(ages) // 2 :]
        for fit, score in (halves, halves[::-1]):
            knots, shifts = age_bias_map(predicted[fit], ages[fit])
            error = np.abs(readout.correct(predicted[score], knots, shifts) - ages[score])
            for name, mask in windows.items():
                errors[name].append(error[mask[score]].mean())
    return {name: float(np.mean(e)) for name, e in errors.items()}
