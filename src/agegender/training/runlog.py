"""A run's record on disk: resuming from ``last.pt``, saving each epoch (checkpoint, best weights) and the
run log (``summary.csv``, ``curves.png``)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agegender.data.manifest import AgeWindow
from agegender.errors import CheckpointError, UserError
from agegender.models.networks import AgeGenderNet
from agegender.models.weights import check_digest, save_weights, tensors_digest
from agegender.training.checkpoint import (
    check_same_network,
    load_checkpoint,
    random_state,
    restore_random_state,
    save_checkpoint,
)
from agegender.training.config import TrainConfig
from agegender.training.data import TrainingData
from agegender.training.optim import Optimisation


def _plot_curves(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    keys = [k for k in ("loss", "val/age_mae", "val/gender_acc") if k in history[0]]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.2))
    for ax, k in zip(np.atleast_1d(axes), keys):
        ax.plot(epochs, [h[k] for h in history], marker="o")
        ax.set_title(k)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _write_summary(history: list[dict], path: Path) -> None:
    keys = sorted({k for h in history for k in h}, key=lambda k: (k != "epoch", k))
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    tmp.replace(path)


@dataclass
class Progress:
    """Where a run stands: the next epoch, the history, the best validation so far, and its lineage."""

    start_epoch: int = 0
    history: list = field(default_factory=list)
    best: dict = field(default_factory=lambda: {"score": float("inf")})
    lineage: dict | None = None  # fine-tuning: the recipe and epochs of the weights the run started from
    budget_fitted: bool = False


def resume(last: Path, model: AgeGenderNet, opt: Optimisation, device) -> Progress:
    """Continue from ``last`` (a checkpoint of the same network): weights, optimizer, schedule (with its
    length), weight average and history."""
    ckpt = load_checkpoint(last, map_location=device)
    check_same_network(ckpt.get("model_config") or {}, model.config, last)
    try:
        check_digest(ckpt["model"], ckpt.get("model_sha256"), last)
    except UserError as exc:
        raise CheckpointError(f"{exc}. Move it away to start the run over.") from None
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as exc:  # shapes that the config check did not foresee: say so in one line
        raise CheckpointError(
            f"{last} does not fit this run's network ({str(exc).splitlines()[0][:200]}); "
            f"resume with the same options, or give this run another --out"
        ) from None
    opt.optimizer.load_state_dict(ckpt["optimizer"])
    opt.scheduler.load_state_dict(ckpt["scheduler"])  # restores the schedule's length too
    if opt.ema is not None and opt.ema_fn is not None and ckpt.get("ema") is not None:
        opt.ema.load_state_dict(ckpt["ema"])
        opt.ema_fn.steps = int(opt.ema.n_averaged)
    restore_random_state(ckpt.get("rng"))
    return Progress(
        ckpt["epoch"] + 1,
        ckpt["history"],
        ckpt["best"],
        ckpt.get("fine_tuned_from"),
        budget_fitted=bool(ckpt.get("budget_fitted")),
    )


def save_epoch(
    cfg: TrainConfig,
    out: Path,
    model: AgeGenderNet,
    opt: Optimisation,
    progress: Progress,
    epoch: int,
    improved: bool,
    data: TrainingData,
    window: AgeWindow,
) -> None:
    """The checkpoint (every epoch, atomically) and the weights (when validation improved)."""
    eval_model = opt.evaluated(model)
    state: dict = {
        "model": model.state_dict(),
        "optimizer": opt.optimizer.state_dict(),
        "scheduler": opt.scheduler.state_dict(),
        "ema": opt.ema.state_dict() if opt.ema is not None else None,
        "epoch": epoch,
        "history": progress.history,
        "best": progress.best,
        "config": cfg.to_dict(),
        "model_config": model.config.to_dict(),
        "budget_fitted": progress.budget_fitted,
        "fine_tuned_from": progress.lineage,
        "rng": random_state(),
    }
    state["model_sha256"] = tensors_digest(state["model"])
    save_checkpoint(state, out / "last.pt")
    if improved:
        save_weights(
            eval_model,
            out / "best.safetensors",
            {
                "recipe": cfg.recipe or "custom",
                "train": {**cfg.to_dict(), "epochs": opt.schedule.epochs},
                "val": progress.best,
                "age_window_trained": window.label,
                "datasets": data.datasets,
                **({"fine_tuned_from": progress.lineage} if progress.lineage else {}),
            },
        )
    _write_summary(progress.history, out / "summary.csv")
    _plot_curves(progress.history, out / "curves.png")
