"""Metrics for age (years) and gender (1 = female), as plain floats and lists for JSON.

One set, on the ground floor, for training's validation, evaluation, calibration and model selection alike.

>>> round(age_metrics([20, 30], [22, 30])["mae"], 2)
1.0
"""

from __future__ import annotations

import numpy as np

AGE_BUCKETS = ((0, 12), (13, 17), (18, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 200))


def age_metrics(true, pred) -> dict:
    """MAE, RMSE, CS@5 (share of |error| <= 5 years) and mean signed error (pred - true)."""
    true, pred = np.asarray(true, float), np.asarray(pred, float)
    err = pred - true
    return {
        "n": int(len(true)),
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "cs5": float((np.abs(err) <= 5).mean()),
        "mean_signed_error": float(err.mean()),
    }


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve (Mann-Whitney U with tie-averaged ranks); NaN if one class only."""
    from scipy.stats import rankdata

    labels, scores = np.asarray(labels).astype(bool), np.asarray(scores, float)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def expected_calibration_error(labels, p_positive, bins: int = 10) -> float:
    """ECE of binary probabilities over equal-width confidence bins."""
    labels, p = np.asarray(labels, float), np.asarray(p_positive, float)
    conf = np.maximum(p, 1 - p)
    correct = ((p >= 0.5) == (labels == 1)).astype(float)
    edges = np.linspace(0.5, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf >= lo) & ((conf < hi) | (hi == 1.0))
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def gender_metrics(true, p_female) -> dict:
    """Accuracy, confusion matrix [[male->male, male->female], [female->male, female->female]], ROC AUC, ECE."""
    true = np.asarray(true).astype(int)
    p = np.asarray(p_female, float)
    pred = (p >= 0.5).astype(int)
    cm = [[int(((true == t) & (pred == q)).sum()) for q in (0, 1)] for t in (0, 1)]
    return {
        "n": int(len(true)),
        "accuracy": float((pred == true).mean()),
        "confusion": cm,
        "roc_auc": roc_auc(true, p),
        "ece": expected_calibration_error(true, p),
    }


def by_group(groups, fn, *arrays) -> dict:
    """Apply a metric function per group label; returns {group: metrics}."""
    groups = np.asarray(groups)
    out = {}
    for g in sorted(set(groups.tolist()), key=str):
        m = groups == g
        out[str(g)] = fn(*(np.asarray(a)[m] for a in arrays))
    return out


def bucket_label(lo: int, hi: int) -> str:
    """An age bucket's name: "25-34", or "65+" for the open-ended last one."""
    return f"{lo}-{hi}" if hi < 200 else f"{lo}+"


def age_bucket_labels(ages) -> list[str]:
    labels = []
    for a in np.asarray(ages):
        for lo, hi in AGE_BUCKETS:
            if lo <= a <= hi:
                labels.append(bucket_label(lo, hi))
                break
    return labels


def cell_metrics(ages, genders, pred_age=None, p_female=None, min_n: int = 1) -> dict:
    """Per gender x age bucket cell ("female 25-34"): n, age MAE and mean signed error, gender accuracy.

    The signed error (predicted - true, years) shows who a model makes too young or too old;
    cells with fewer than ``min_n`` faces are left out.
    """
    ages, genders = np.asarray(ages, float), np.asarray(genders).astype(int)
    buckets = np.asarray(age_bucket_labels(ages))
    out = {}
    for g, gname in ((1, "female"), (0, "male")):
        for lo, hi in AGE_BUCKETS:
            label = bucket_label(lo, hi)
            m = (genders == g) & (buckets == label)
            if m.sum() < max(min_n, 1):
                continue
            cell: dict = {"n": int(m.sum())}
            if pred_age is not None:
                err = np.asarray(pred_age, float)[m] - ages[m]
                cell.update(age_mae=float(np.abs(err).mean()), mean_signed_error=float(err.mean()))
            if p_female is not None:
                cell["gender_acc"] = float(((np.asarray(p_female, float)[m] >= 0.5).astype(int) == g).mean())
            out[f"{gname} {label}"] = cell
    return out


def accuracy_gap(groups: dict, min_n: int = 30) -> dict | None:
    """Best and worst gender accuracy among groups ({name: {"n", "accuracy" or "gender_acc"}}) of ``min_n``+ faces.

    The group "unknown" (faces without the label) is no group; fewer than two groups give None.
    """
    acc = {k: v.get("accuracy", v.get("gender_acc")) for k, v in groups.items() if v["n"] >= min_n and k != "unknown"}
    acc = {k: a for k, a in acc.items() if a is not None}
    if len(acc) < 2:
        return None
    best, worst = max(acc, key=lambda k: acc[k]), min(acc, key=lambda k: acc[k])
    return {
        "best": best,
        "best_acc": acc[best],
        "worst": worst,
        "worst_acc": acc[worst],
        "gap": acc[best] - acc[worst],
        "min_n": min_n,
    }
