"""PNG plots of an evaluation: predicted vs true age, error histogram, confusion matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_age(true, pred, title: str, path: Path) -> None:
    """Scatter of predicted vs true age and a histogram of errors, side by side."""
    plt = _plt()
    true, pred = np.asarray(true, float), np.asarray(pred, float)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 4))
    lo, hi = min(true.min(), pred.min()) - 2, max(true.max(), pred.max()) + 2
    a.scatter(true, pred, s=4, alpha=0.35)
    a.plot([lo, hi], [lo, hi], "k--", lw=1)
    a.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="true age (years)", ylabel="predicted age (years)", title=title)
    err = pred - true
    b.hist(err, bins=np.arange(np.floor(err.min()) - 0.5, np.ceil(err.max()) + 1.5, 1), color="tab:orange")
    b.axvline(0, color="k", lw=1)
    b.set(xlabel="error, predicted - true (years)", ylabel="faces", title=f"MAE {np.abs(err).mean():.2f} years")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_confusion(cm, title: str, path: Path) -> None:
    """2x2 confusion matrix with counts; rows are the true class."""
    plt = _plt()
    cm = np.asarray(cm)
    fig, ax = plt.subplots(figsize=(3.8, 3.4))
    ax.imshow(cm, cmap="Blues")
    for i in range(2):
        for j in range(2):
            ax.text(
                j, i, str(cm[i, j]), ha="center", va="center", color="white" if cm[i, j] > cm.max() / 2 else "black"
            )
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=["male", "female"],
        yticklabels=["male", "female"],
        xlabel="predicted",
        ylabel="true",
        title=title,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
