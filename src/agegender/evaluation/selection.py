"""The model-selection score: val faces of every collection, as cached and under each shift.

Recipes, checkpoints, read-outs and the default model are chosen on this score, never on the test
split. It rewards what transfers to photo collections we never see:

- every collection counts the same (UTKFace and All-Age-Faces each have their own column), so a gain
  on one that costs another shows;
- every shift of :mod:`agegender.evaluation.shifts` counts the same as the faces as cached;
- age is scored as the *band-balanced* MAE: the mean of the MAE of each age band (0-12, 13-17, ...,
  65+), so a model is not rewarded for reading everyone near the crowded ages of its training set.

A cell (collection x shift) scores ``balanced age MAE + 10 x gender error`` (years; ten years per unit
of error rate, the weight the training loop's val score also uses); the selection score is the mean of
the cells, lower is better. Each cell also reports the plain MAE, the gender accuracy of children
(0-12) and the mean signed error of every gender x age band from 18 to 64.

Candidates are weight files with a read-out (the stored one, or a variant: prior adjustment, no bias
map), and the fusion of two of them (ages and p_female averaged).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agegender.data.cache import SplitFaces, split_faces
from agegender.errors import UserError
from agegender.evaluation.calibrate import estimate_log_prior
from agegender.evaluation.shifts import SHIFTS, render
from agegender.metrics import (
    AGE_BUCKETS,
    age_bucket_labels,
    age_metrics,
    bucket_label,
    by_group,
    cell_metrics,
)
from agegender.models.readout import ReadOut

GENDER_WEIGHT = 10.0  # years per unit of gender error rate, as in the training loop's val score
BAND_LABELS = tuple(bucket_label(lo, hi) for lo, hi in AGE_BUCKETS if 18 <= lo and hi <= 64)
MIN_FACES = 10  # a band with fewer faces is reported but not scored


def score_cell(ages: np.ndarray, female: np.ndarray, age: np.ndarray | None, p_female: np.ndarray | None) -> dict:
    """Metrics of one collection x shift; ``score`` is what selection minimises."""
    ages, female = np.asarray(ages, float), np.asarray(female, int)
    m: dict = {"n": int(len(ages))}
    score = 0.0
    if age is not None:
        age = np.asarray(age, float)
        by_band = by_group(age_bucket_labels(ages), age_metrics, ages, age)
        band_mae = {band: r["mae"] for band, r in by_band.items() if r["n"] >= MIN_FACES}
        m["age_mae"] = float(np.abs(age - ages).mean())
        # Too few faces in every band (a tiny val set): the plain MAE stands in.
        m["age_mae_balanced"] = float(np.mean(list(band_mae.values()))) if band_mae else m["age_mae"]
        m["age_mae_by_band"] = band_mae
        cells = cell_metrics(ages, female, age, min_n=MIN_FACES)
        signed = {k: c["mean_signed_error"] for k, c in cells.items() if k.split(" ")[1] in BAND_LABELS}
        m["signed_error_by_band"] = signed
        m["worst_band_bias"] = float(max(abs(v) for v in signed.values())) if signed else float("nan")
        score += m["age_mae_balanced"]
    if p_female is not None:
        correct = (np.asarray(p_female) >= 0.5).astype(int) == female
        m["gender_acc"] = float(correct.mean())
        children = ages <= 12
        m["gender_acc_0_12"] = float(correct[children].mean()) if children.sum() >= MIN_FACES else None
        score += GENDER_WEIGHT * (1 - m["gender_acc"])
    m["score"] = float(score)
    return m


def load_val(cache_dirs) -> dict[tuple[str, int], SplitFaces]:
    """(dataset, crop size) -> its val faces (all ages), from cache folders (a list or comma-separated)."""
    return {(faces.dataset, faces.size): faces for faces in split_faces(cache_dirs, "val")}


def readout_variants(readout: ReadOut, log_prior: np.ndarray | None, prior_weights=(0.0,), bias_map=(True,)) -> dict:
    """name -> ReadOut: the stored read-out and its variants (prior adjustment weight, with/without bias map)."""
    variants = {}
    for weight in prior_weights:
        for keep_bias in bias_map:
            if weight and log_prior is None:
                continue
            r = readout if keep_bias else dataclasses.replace(readout, age_bias_knots=(), age_bias_shifts=())
            if weight and log_prior is not None:
                r = dataclasses.replace(r, age_prior_weight=float(weight), age_log_prior=tuple(map(float, log_prior)))
            name = (
                "stored"
                if (weight == 0 and keep_bias)
                else ", ".join([f"prior {weight:g}"] * bool(weight) + ["no bias map"] * (not keep_bias))
            )
            variants[name] = r
    return variants


def score_candidates(
    weights: dict[str, str],
    cache_dirs,
    prior_weights=(0.0,),
    bias_map=(True,),
    fuse: Sequence[tuple[str, str]] = (),
    flip_tta: bool = True,
    seed: int = 0,
    progress=None,
) -> dict:
    """Score each weight file (and read-out variant, and fusion) on every collection x shift of val.

    ``weights``: name -> weight file. Faces are taken from the cache whose crop size is the model's
    input size (else the largest). ``fuse``: pairs of candidate names (e.g. "vgg16 [stored]") whose
    ages and p_female are averaged. Returns {"cells": [...], "candidates": {name: summary}}.
    """
    from agegender.models.engines import open_engine, predict_faces

    val = load_val(cache_dirs)
    datasets = sorted({d for d, _ in val})
    preds: dict[str, dict[tuple[str, str], dict]] = {}
    rendered: dict[tuple[str, int, str], np.ndarray] = {}
    for model_name, path in weights.items():
        engine = open_engine(path)
        size = engine.input_size
        log_prior = None
        raw: dict[tuple[str, str], list] = {}
        for dataset in datasets:
            sizes = sorted(s for d, s in val if d == dataset)
            faces = val[(dataset, size if size in sizes else sizes[-1])]
            for shift in SHIFTS:
                key = (dataset, faces.size, shift)
                if key not in rendered:
                    rendered[key] = render(faces.images, shift, seed)
                if progress:
                    progress(f"{model_name}: {dataset}, {shift}")
                raw[(dataset, shift)] = predict_faces(
                    engine, rendered[key], batch_size=256, flip_tta=flip_tta, return_views=True
                )["views"]
        if engine.readout.age_head == "distribution":
            log_prior = estimate_log_prior([v for d in datasets for v in raw[(d, "as cached")]])
        for variant, readout in readout_variants(engine.readout, log_prior, prior_weights, bias_map).items():
            preds[f"{model_name} [{variant}]"] = {k: readout.read(views) for k, views in raw.items()}
    for a, b in fuse:
        if a not in preds or b not in preds:
            raise UserError(f"cannot fuse {a!r} and {b!r}: candidates are {sorted(preds)}")
        preds[f"{a} + {b}"] = {
            k: {
                key: (preds[a][k][key] + preds[b][k][key]) / 2
                for key in ("age", "p_female")
                if key in preds[a][k] and key in preds[b][k]
            }
            for k in preds[a]
        }
    labels = {d: next(v for (dd, _), v in val.items() if dd == d) for d in datasets}
    cells = []
    for name, by_cell in preds.items():
        for (dataset, shift), p in by_cell.items():
            faces = labels[dataset]
            cells.append(
                {
                    "candidate": name,
                    "dataset": dataset,
                    "shift": shift,
                    **score_cell(faces.ages, faces.female, p.get("age"), p.get("p_female")),
                }
            )
    return {
        "seed": seed,
        "flip_tta": flip_tta,
        "shifts": list(SHIFTS),
        "datasets": datasets,
        "weights": weights,
        "cells": cells,
        "candidates": summarise(cells),
    }


def summarise(cells: list[dict]) -> dict:
    """Per candidate: the selection score (mean of its cells) and means per collection and per shift."""
    out: dict = {}
    for name in dict.fromkeys(c["candidate"] for c in cells):
        mine = [c for c in cells if c["candidate"] == name]

        def mean(key, rows):
            vals = [r[key] for r in rows if r.get(key) is not None]
            return float(np.mean(vals)) if vals else None

        out[name] = {
            "score": mean("score", mine),
            "age_mae_balanced": mean("age_mae_balanced", mine),
            "age_mae": mean("age_mae", mine),
            "gender_acc": mean("gender_acc", mine),
            "gender_acc_0_12": mean("gender_acc_0_12", mine),
            "worst_band_bias": mean("worst_band_bias", mine),
            "by_dataset": {
                d: mean("score", [c for c in mine if c["dataset"] == d])
                for d in dict.fromkeys(c["dataset"] for c in mine)
            },
            "by_shift": {
                s: mean("score", [c for c in mine if c["shift"] == s]) for s in dict.fromkeys(c["shift"] for c in mine)
            },
        }
    return out


def markdown(result: dict) -> str:
    """The report's tables: candidates ranked by score; then per cell for the best candidate."""
    cands = sorted(result["candidates"].items(), key=lambda kv: kv[1]["score"])
    datasets, shifts = result["datasets"], result["shifts"]

    def f(v, pct=False):
        return "—" if v is None else (f"{100 * v:.1f}%" if pct else f"{v:.2f}")

    lines = [
        "| candidate | score | "
        + " | ".join(datasets)
        + " | "
        + " | ".join(shifts)
        + " | balanced MAE | MAE | gender | gender 0-12 | worst band bias |",
        "| --- | ---: | " + " | ".join("---:" for _ in datasets + shifts) + " | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, s in cands:
        lines.append(
            f"| {name} | **{f(s['score'])}** | "
            + " | ".join(f(s["by_dataset"][d]) for d in datasets)
            + " | "
            + " | ".join(f(s["by_shift"][x]) for x in shifts)
            + f" | {f(s['age_mae_balanced'])} | "
            f"{f(s['age_mae'])} | {f(s['gender_acc'], True)} | {f(s['gender_acc_0_12'], True)} | "
            f"{f(s['worst_band_bias'])} |"
        )
    best = cands[0][0]
    bands = [f"{g} {band}" for g in ("female", "male") for band in BAND_LABELS]
    lines += [
        "",
        f"Signed age error (predicted - true, years) per gender x age band, {best}:",
        "",
        "| collection | shift | " + " | ".join(bands) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in bands) + " |",
    ]
    for c in result["cells"]:
        if c["candidate"] == best and "signed_error_by_band" in c:
            se = c["signed_error_by_band"]
            lines.append(
                f"| {c['dataset']} | {c['shift']} | "
                + " | ".join(f"{se[b]:+.1f}" if b in se else "—" for b in bands)
                + " |"
            )
    return "\n".join(lines) + "\n"


def write(result: dict, out: str | Path) -> Path:
    """Write the result JSON (and its tables as OUT with .md) atomically; return the JSON path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for path, text in ((out, json.dumps(result, indent=1, default=float)), (out.with_suffix(".md"), markdown(result))):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return out
