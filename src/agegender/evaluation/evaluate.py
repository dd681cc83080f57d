"""Test a weight file on a cache split: metrics per age window, breakdowns, baselines, plots, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from agegender.data.cache import open_cache
from agegender.data.manifest import AgeWindow
from agegender.data.records import RACES
from agegender.errors import EmptyDatasetError
from agegender.evaluation.plots import plot_age, plot_confusion
from agegender.metrics import (
    accuracy_gap,
    age_bucket_labels,
    age_metrics,
    by_group,
    cell_metrics,
    gender_metrics,
)
from agegender.models.engines import open_engine, predict_faces
from agegender.models.weight_files import read_metadata, trained_on, weights_sha256


def constant_baselines(cache, window: AgeWindow, split: str) -> dict | None:
    """Best constant guesses learnt on the training split: median age, majority gender (None without one)."""
    train = cache.indices("train", window)
    test = cache.indices(split, window)
    if len(train) == 0:
        return None
    guess = float(np.median(cache.ages[train]))
    majority = int(np.bincount(cache.genders[train], minlength=2).argmax())
    return {
        "age_guess": guess,
        "age_mae": float(np.abs(cache.ages[test] - guess).mean()),
        "age_cs5": float((np.abs(cache.ages[test] - guess) <= 5).mean()),
        "gender_guess": "female" if majority == 1 else "male",
        "gender_acc": float((cache.genders[test] == majority).mean()),
    }


def evaluate_weights(
    weights,
    cache_dir,
    name: str,
    split: str = "test",
    windows=("18-50", "all"),
    out_dir="reports/evals",
    flip_tta: bool = True,
    recipe: str | None = None,
    batch_size: int = 256,
    age_readout: str | None = None,
    age_bias: bool = True,
    engine: str = "auto",
) -> dict:
    """Evaluate; write ``OUT/<name>.json`` and plots under ``OUT/<name>/``; return the JSON dict.

    ``weights``: a weight file, or an ONNX graph (e.g. a quantised one). ``engine``: as
    :func:`agegender.models.engines.open_engine`. ``age_readout`` and ``age_bias=False`` override
    how the stored weights read the age (for ablations).
    """
    import dataclasses

    runner = open_engine(weights, engine=engine)
    meta = read_metadata(weights) if Path(weights).suffix != ".onnx" else {"config": runner.config}
    readout = runner.readout
    if age_readout:
        readout = dataclasses.replace(readout, age_readout=age_readout)
    if not age_bias:
        readout = dataclasses.replace(readout, age_bias_knots=(), age_bias_shifts=())
    config = {**runner.config, **dataclasses.asdict(readout)}  # as scored, overrides included
    cache = open_cache(cache_dir)
    out_dir = Path(out_dir)
    plot_dir = out_dir / name
    plot_dir.mkdir(parents=True, exist_ok=True)
    all_idx = cache.indices(split, None)
    if len(all_idx) == 0:
        raise EmptyDatasetError(f"no faces in split {split!r} of {cache_dir}")
    pred = predict_faces(
        runner, np.ascontiguousarray(cache.images[all_idx]), batch_size=batch_size, flip_tta=flip_tta, readout=readout
    )
    position = {int(i): k for k, i in enumerate(all_idx)}
    rows, details = [], {}
    recipe = recipe or str(meta.get("recipe", "custom"))
    for label in windows:
        window = AgeWindow.parse(label)
        idx = cache.indices(split, window)
        if len(idx) == 0:
            raise EmptyDatasetError(f"no faces in split {split!r} for ages {label}")
        sel = np.array([position[int(i)] for i in idx])
        ages, genders = cache.ages[idx].astype(float), cache.genders[idx]
        races = [RACES[r] if r >= 0 else "unknown" for r in cache.races[idx]]
        d: dict = {"n": int(len(idx)), "baseline": constant_baselines(cache, window, split)}
        row = {
            "name": name,
            "arch": config["arch"],
            "task": config["task"],
            "train_recipe": recipe,
            "dataset": cache.dataset,
            "split": split,
            "age_window": window.label,
            "n": int(len(idx)),
            "age_mae": None,
            "age_cs5": None,
            "gender_acc": None,
        }
        tag = window.label.replace("-", "_")
        if "age" in pred:
            p = pred["age"][sel]
            d["age"] = age_metrics(ages, p)
            d["age_by_bucket"] = by_group(age_bucket_labels(ages), age_metrics, ages, p)
            d["age_by_race"] = by_group(races, age_metrics, ages, p)
            if "age_std" in pred:
                s = pred["age_std"][sel]
                d["age_uncertainty"] = {
                    "mean_std": float(s.mean()),
                    "share_within_1std": float((np.abs(p - ages) <= s).mean()),
                    "share_within_2std": float((np.abs(p - ages) <= 2 * s).mean()),
                }
            row["age_mae"], row["age_cs5"] = d["age"]["mae"], d["age"]["cs5"]
            plot_age(ages, p, f"{name} ({window.label})", plot_dir / f"age_{tag}.png")
        if "p_female" in pred:
            pf = pred["p_female"][sel]
            d["gender"] = gender_metrics(genders, pf)
            d["gender_by_race"] = by_group(races, gender_metrics, genders, pf)
            d["gender_by_bucket"] = by_group(age_bucket_labels(ages), gender_metrics, genders, pf)
            row["gender_acc"] = d["gender"]["accuracy"]
            plot_confusion(d["gender"]["confusion"], f"{name} ({window.label})", plot_dir / f"confusion_{tag}.png")
        d["cells"] = cell_metrics(
            ages,
            genders,
            pred["age"][sel] if "age" in pred else None,
            pred["p_female"][sel] if "p_female" in pred else None,
        )
        if "p_female" in pred:
            d["gender_gap"] = {"by_race": accuracy_gap(d["gender_by_race"]), "by_cell": accuracy_gap(d["cells"])}
        rows.append(row)
        details[window.label] = d
    result = {
        "name": name,
        "weights": str(weights),
        "model": config,
        "engine": runner.name,
        "recipe": recipe,
        "weights_sha256": weights_sha256(weights),
        "dataset": cache.dataset,
        "trained_on": trained_on(meta),
        "flip_tta": flip_tta,
        "split": split,
        "rows": rows,
        "details": details,
        "val_at_training": meta.get("val"),
        "fine_tuned_from": meta.get("fine_tuned_from"),
        "soup_of": meta.get("soup_of"),
    }
    tmp = out_dir / f"{name}.json.tmp"
    tmp.write_text(json.dumps(result, indent=1, default=float))
    tmp.replace(out_dir / f"{name}.json")
    return result
