"""The training loop: one epoch at a time over one or several face caches, validated and checkpointed.

Shaped like torchvision's reference script: :func:`train` sets up model, optimiser
and schedule, then alternates :func:`train_one_epoch` and :func:`validate` (every dataset
on its own); ``OUT/last.pt`` after every epoch (and ``OUT/best.safetensors`` when the
validation score improves) make ``--resume`` continue exactly where a killed run stopped.
Under ``torchrun`` it trains data-parallel (DDP; NCCL on GPUs, gloo on CPU).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import os
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from agegender.data.manifest import AgeWindow
from agegender.errors import CheckpointError, EmptyDatasetError, UserError
from agegender.evaluation.metrics import age_metrics, gender_metrics
from agegender.models.engines import predict_faces
from agegender.models.networks import AgeGenderNet, ModelConfig
from agegender.models.weights import check_digest, load_model, save_weights, tensors_digest, trained_on
from agegender.training.augment import augment, to_float_images
from agegender.training.checkpoint import (
    check_same_network,
    load_checkpoint,
    random_state,
    restore_random_state,
    save_checkpoint,
)
from agegender.training.config import CHILD_MAX_AGE, SCHEDULES, TrainConfig
from agegender.training.data import TrainingData, ValidationSet, load_training_data, split_cache_list
from agegender.training.losses import age_loss, distillation_loss, gender_loss
from agegender.training.sampling import draw_probabilities, parse_shares

log = logging.getLogger(__name__)
SMOKE_STEPS = 3  # --smoke: steps of its one epoch, and batches of validation faces


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
    per = {v.dataset: evaluate_split(model, v.faces, v.ages, v.genders, device, flip_tta, autocast_dtype)
           for v in val_sets}
    if len(per) == 1:
        metrics = next(iter(per.values()))
        return {**metrics, "score": validation_score(metrics)}
    keys = next(iter(per.values())).keys()
    mean = {k: float(np.mean([m[k] for m in per.values()])) for k in keys}
    score = float(np.mean([validation_score(m) for m in per.values()]))
    return {**mean, "score": score, "datasets": per}


def _flat_validation_row(val: dict) -> dict:
    """``val/<metric>`` (and ``val/<dataset>/<metric>``) columns of summary.csv."""
    row = {f"val/{k}": v for k, v in val.items() if k != "datasets"}
    for name, metrics in val.get("datasets", {}).items():
        row.update({f"val/{name}/{k}": v for k, v in metrics.items()})
    return row


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but no CUDA device is available")
    return torch.device(name)


def _machine(device: torch.device, world: int) -> dict:
    """What the run trains on, kept with its config so throughput figures can be read later."""
    import platform

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or platform.machine())
    return {"device": device.type, "name": name, "processes": world, "cpu_threads": torch.get_num_threads(),
            "torch": torch.__version__}


def _autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision != "auto":
        raise UserError(f"precision must be auto, fp32 or bf16, not {precision!r}")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    # bf16 autocast doubles CPU training speed where the CPU has native bf16 (avx512_bf16 / AMX).
    try:
        return torch.bfloat16 if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported() else None
    except (AttributeError, RuntimeError):
        return None


class LrSchedule:
    """The learning-rate factor per step (for LambdaLR): linear warm-up, then cosine, step or constant.

    It owns the run's length: ``set_epochs`` shortens it (a time budget does after the first epoch)
    and the decay follows. Being an object, its length is saved in the scheduler's state_dict and
    restored with it on resume.
    """

    def __init__(self, kind: str, epochs: int, steps_per_epoch: int, warmup_epochs: float):
        if kind not in SCHEDULES:
            raise UserError(f"schedule must be one of {', '.join(SCHEDULES)}, not {kind!r}")
        self.kind, self.steps_per_epoch = kind, max(1, steps_per_epoch)
        self.warmup_steps = int(warmup_epochs * self.steps_per_epoch)
        self.epochs = epochs

    def set_epochs(self, epochs: int) -> None:
        self.epochs = epochs

    def __call__(self, step: int) -> float:
        total = max(1, self.epochs * self.steps_per_epoch)
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        t = min(1.0, (step - self.warmup_steps) / max(1, total - self.warmup_steps))
        if self.kind == "cosine":
            return 0.5 * (1 + math.cos(math.pi * t))
        if self.kind == "step":
            return 0.1 ** min(2, int(t * 3))  # x0.1 at 1/3 and 2/3 of training
        return 1.0


class EmaWithWarmup:
    """Exponential moving average of weights whose decay ramps up: min(decay, (1 + n) / (10 + n)).

    Without the ramp, a decay of 0.999 keeps most of the random initialisation for the
    first thousand steps (0.999^500 = 0.61), so early validation of the average is
    meaningless (timm's ModelEmaV3 warms up the same way). The step count is kept here,
    not read from the device, so a GPU never waits on it.
    """

    def __init__(self, decay: float):
        self.decay, self.steps = decay, 0

    def __call__(self, ema_tensors, tensors, num_averaged) -> None:
        self.steps += 1
        d = min(self.decay, (1 + self.steps) / (10 + self.steps))
        if torch.is_floating_point(ema_tensors[0]):
            torch._foreach_lerp_(ema_tensors, tensors, 1 - d)
        else:  # integer buffers (BatchNorm's batch counter) are copied
            for e, t in zip(ema_tensors, tensors):
                e.copy_(t)


def _sampling_weights(ages: np.ndarray) -> np.ndarray:
    buckets = np.minimum(ages, 99) // 5
    counts = np.bincount(buckets, minlength=20).astype(float)
    w = 1.0 / counts[buckets]
    return w / w.sum()


def epoch_draw_probabilities(cfg: TrainConfig, data: TrainingData) -> np.ndarray | None:
    """Per-face draw probability of an epoch (None: a plain shuffle of every face)."""
    if cfg.balance_ages:
        return _sampling_weights(data.ages)
    return draw_probabilities(data.ages, data.genders, data.dataset_ids, data.datasets,
                              parse_shares(cfg.dataset_shares), cfg.balance_cells)


def epoch_length(cfg: TrainConfig, n_faces: int) -> int:
    """Faces drawn per epoch: ``--epoch-size`` when set, else every training face once."""
    return cfg.epoch_size or n_faces


def evaluate_split(model: AgeGenderNet, faces: np.ndarray, ages: np.ndarray, genders: np.ndarray, device,
                   flip_tta: bool, autocast_dtype) -> dict:
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


def train_one_epoch(model, ema, optimizer, scheduler, images, ages, genders, cfg: TrainConfig, epoch: int,
                    device, autocast_dtype, rank: int = 0, world: int = 1, probabilities: np.ndarray | None = None,
                    teacher=None, deadline: float | None = None) -> dict:
    """One pass over the training faces (or ``epoch_length`` draws by ``probabilities``); returns mean losses and images/s.

    ``deadline`` (time.perf_counter()): the epoch stops at the first step past it (a time budget
    shorter than one epoch); ``steps`` in the result says how many ran.
    """
    model.train()
    n = epoch_length(cfg, len(ages))
    rng = np.random.default_rng(cfg.seed * 1000 + epoch)
    if probabilities is not None:
        order = rng.choice(len(ages), size=n, p=probabilities)
    elif n <= len(ages):
        order = rng.permutation(len(ages))[:n]
    else:  # an epoch longer than the data: whole shuffles, then part of one more
        order = np.concatenate([rng.permutation(len(ages)) for _ in range(-(-n // len(ages)))])[:n]
    steps = n // (cfg.batch_size * world)
    if cfg.max_steps:
        steps = min(steps, cfg.max_steps)
    if steps == 0:
        raise EmptyDatasetError(f"{n} training faces are fewer than one batch of {cfg.batch_size} x {world} processes")
    picked = torch.from_numpy(order[rank::world][: steps * cfg.batch_size].copy()).to(images.device)
    net_cfg: ModelConfig = (model.module if hasattr(model, "module") else model).config
    gen = torch.Generator(device=images.device).manual_seed(cfg.seed * 1000 + epoch * world + rank)
    # Running sums stay on the device: reading a loss every step would stall a GPU.
    sums = {k: torch.zeros((), device=device) for k in ("loss", "age_loss", "gender_loss")}
    seen, start = 0, time.perf_counter()
    shown = start - 1.0
    bar = tqdm(range(steps), desc=f"epoch {epoch + 1}", unit="batch",
               disable=not cfg.progress or rank != 0, dynamic_ncols=True)
    done = 0
    for step in bar:
        if deadline is not None and step > 0 and _past(deadline, world, device):
            log.info("time budget reached after %d of %d steps of the first epoch", step, steps)
            break
        done = step + 1
        idx = picked[step * cfg.batch_size : (step + 1) * cfg.batch_size]
        x = to_float_images(images[idx].to(device, non_blocking=True))
        x = augment(x, cfg.augment, generator=gen if x.device == images.device else None,
                    background=cfg.augment_background, photo=cfg.augment_photo)
        if x.shape[-1] != net_cfg.input_size:
            x = torch.nn.functional.interpolate(x, size=(net_cfg.input_size,) * 2, mode="bilinear",
                                                antialias=True, align_corners=False)
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y_age = ages[idx].to(device).float()
        y_gender = genders[idx].to(device).long()
        with torch.autocast(device.type, dtype=autocast_dtype or torch.bfloat16, enabled=autocast_dtype is not None):
            out = model(x)
        loss = torch.zeros((), device=device)
        if net_cfg.has_age:
            la = age_loss(out, y_age, net_cfg, cfg.age_loss, cfg.dldl_sigma)
            sums["age_loss"] += la.detach()
            loss = loss + la
        if net_cfg.has_gender:
            weights = None
            if cfg.gender_child_weight != 1.0:
                weights = torch.where(y_age <= CHILD_MAX_AGE, cfg.gender_child_weight, 1.0)
            lg = gender_loss(out["gender_logits"], y_gender, cfg.gender_loss, cfg.label_smoothing, weights)
            sums["gender_loss"] += lg.detach()
            loss = loss + cfg.gender_weight * lg
        if teacher is not None:
            with torch.no_grad(), torch.autocast(device.type, dtype=autocast_dtype or torch.bfloat16,
                                                 enabled=autocast_dtype is not None):
                soft = teacher(x)
            loss = (1 - cfg.teacher_share) * loss + cfg.teacher_share * distillation_loss(out, soft)
        if (step % 50 == 0 or step == steps - 1) and not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at epoch {epoch + 1}, step {step}; lower --lr")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if ema is not None:
            ema.update_parameters(model.module if hasattr(model, "module") else model)
        sums["loss"] += loss.detach()
        seen += len(idx)
        if not bar.disable and time.perf_counter() - shown >= 1.0:  # about once a second, whatever a step costs
            shown = time.perf_counter()
            bar.set_postfix(loss=f"{sums['loss'].item() / (step + 1):.4f}",
                            img_s=f"{seen * world / (time.perf_counter() - start):.0f}")
    means = {k: v.item() / done for k, v in sums.items()}
    secs = time.perf_counter() - start
    return {**means, "images_per_s": seen * world / secs, "epoch_seconds": secs,
            "lr": scheduler.get_last_lr()[0], "steps": done}


def _past(deadline: float, world: int, device) -> bool:
    """Whether the deadline has passed (every process agrees: the first to see it decides)."""
    late = time.perf_counter() > deadline
    if world > 1:
        flag = torch.tensor([int(late)], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        late = bool(flag.item())
    return late


def fit_time_budget(cfg: TrainConfig, epochs: int, epoch: int, first_epoch_s: float, world: int) -> int:
    """The number of epochs that ends the run within ``cfg.time_budget_s``, given the first epoch's time."""
    fit = int((cfg.time_budget_s - first_epoch_s) // max(first_epoch_s, 1e-6))
    fitted = max(epoch + 1, min(epochs, epoch + 1 + fit))
    if world > 1:  # every process must agree
        t = torch.tensor([fitted], dtype=torch.int64, device="cuda" if dist.get_backend() == "nccl" else "cpu")
        dist.broadcast(t, 0)
        fitted = int(t.item())
    if fitted < epochs:
        log.info("time budget %.0f s: one epoch takes %.1f s, so %d epochs instead of %d",
                 cfg.time_budget_s, first_epoch_s, fitted, epochs)
    return fitted


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


def _load_initial_weights(model: AgeGenderNet, path: str) -> dict:
    """Start from a weight file's parameters (fine-tuning); its calibration is not carried over.

    Returns what the new weights record of where they came from: the source's recipe and epochs.
    """
    source, meta = load_model(path)
    # The whole architecture must match (not a hand-picked list of fields): the same network is trained on.
    # The input size may differ: both backbones end in global pooling, and fine-tuning at a larger size
    # than the weights were trained at is the point of a FixRes-style run.
    stored = {k: v for k, v in source.config.to_dict().items() if k != "input_size"}
    _refuse_misfit("--init-weights", path, "weights", model.config.differences(stored))
    model.load_state_dict({k: v.float() for k, v in source.state_dict().items()})
    return lineage_of(meta)


def _refuse_misfit(option: str, path: str, whose: str, mismatch: dict) -> None:
    """Raise UserError naming each field where the model given by ``option`` differs from this run's."""
    if mismatch:
        raise UserError(f"{option} {path} does not fit this run ({whose} vs run): "
                        + ", ".join(f"{k} {a} vs {b}" for k, (a, b) in mismatch.items()))


def _load_teacher(path: str, student: ModelConfig, device) -> AgeGenderNet:
    """A frozen model whose outputs are soft targets; its age bins and input size must be the student's."""
    teacher, _ = load_model(path, device)
    # Only what the soft targets depend on: the teacher may be another architecture.
    _refuse_misfit("--teacher", path, "teacher",
                   student.differences(teacher.config.to_dict(), ("task", "age_head", "age_min", "age_max", "input_size")))
    teacher.eval().float()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def lineage_of(meta: dict) -> dict:
    """Recipe, total epochs and datasets of a weight file, counting the runs it was fine-tuned from."""
    before = meta.get("fine_tuned_from") or {}
    epochs = (meta.get("val") or {}).get("epoch") or 0
    recipe = meta.get("recipe") or "custom"
    return {"recipe": f"{before['recipe']} + {recipe}" if before else recipe,
            "epochs": int(before.get("epochs", 0)) + int(epochs), "datasets": trained_on(meta)}


@dataclass
class Process:
    """Where this process trains: its device, its rank among ``world`` processes, its autocast type."""

    device: torch.device
    rank: int
    world: int
    autocast_dtype: torch.dtype | None

    @property
    def main(self) -> bool:
        return self.rank == 0


def set_up_process(cfg: TrainConfig) -> Process:
    """Device, distributed group (under torchrun), threads and seed."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = _resolve_device(cfg.device)
    if world > 1:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    return Process(device, rank, world, _autocast_dtype(cfg.precision, device))


def build_model(cfg: TrainConfig, data: TrainingData, window: AgeWindow, device) -> AgeGenderNet:
    """The network for this data: its age bins span the training ages (all ages) or the window."""
    lo, hi = (int(data.ages.min()), int(data.ages.max())) if cfg.all_ages else (window.min_age, window.max_age)
    net_cfg = ModelConfig(arch=cfg.arch, task=cfg.task, age_head=cfg.age_head, age_min=lo, age_max=hi,
                          age_mean=(lo + hi) / 2, age_scale=max(1.0, (hi - lo) / 2),
                          input_size=cfg.input_size or data.size)
    return AgeGenderNet(net_cfg).to(device)


@dataclass
class Optimisation:
    """What updates the weights: the optimizer, its schedule (which owns the run's length) and the weight average."""

    optimizer: torch.optim.Optimizer
    schedule: LrSchedule
    scheduler: torch.optim.lr_scheduler.LambdaLR
    ema: torch.optim.swa_utils.AveragedModel | None = None
    ema_fn: EmaWithWarmup | None = None

    def evaluated(self, model: AgeGenderNet) -> AgeGenderNet:
        """The network that is validated and saved: the weight average when there is one."""
        return typing.cast(AgeGenderNet, self.ema.module) if self.ema is not None else model


def build_optimisation(cfg: TrainConfig, model: AgeGenderNet, steps_per_epoch: int) -> Optimisation:
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = LrSchedule(cfg.schedule, cfg.epochs, steps_per_epoch, cfg.warmup_epochs)
    opt = Optimisation(optimizer, schedule, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule))
    if cfg.ema > 0:
        from torch.optim.swa_utils import AveragedModel

        opt.ema_fn = EmaWithWarmup(cfg.ema)
        opt.ema = AveragedModel(model, multi_avg_fn=opt.ema_fn, use_buffers=True)
    return opt


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
        raise CheckpointError(f"{last} does not fit this run's network ({str(exc).splitlines()[0][:200]}); "
                              f"resume with the same options, or give this run another --out") from None
    opt.optimizer.load_state_dict(ckpt["optimizer"])
    opt.scheduler.load_state_dict(ckpt["scheduler"])  # restores the schedule's length too
    if ckpt.get("budget_epochs"):  # checkpoints from before the schedule owned its length
        opt.schedule.set_epochs(min(opt.schedule.epochs, ckpt["budget_epochs"]))
    if opt.ema is not None and opt.ema_fn is not None and ckpt.get("ema") is not None:
        opt.ema.load_state_dict(ckpt["ema"])
        opt.ema_fn.steps = int(opt.ema.n_averaged)
    restore_random_state(ckpt.get("rng"))
    return Progress(ckpt["epoch"] + 1, ckpt["history"], ckpt["best"], ckpt.get("fine_tuned_from"),
                    budget_fitted=bool(ckpt.get("budget_fitted", ckpt.get("budget_epochs"))))


def save_epoch(cfg: TrainConfig, out: Path, model: AgeGenderNet, opt: Optimisation, progress: Progress,
               epoch: int, improved: bool, data: TrainingData, window: AgeWindow) -> None:
    """The checkpoint (every epoch, atomically) and the weights (when validation improved)."""
    eval_model = opt.evaluated(model)
    state: dict = {"model": model.state_dict(), "optimizer": opt.optimizer.state_dict(),
             "scheduler": opt.scheduler.state_dict(), "ema": opt.ema.state_dict() if opt.ema is not None else None,
             "epoch": epoch, "history": progress.history, "best": progress.best, "config": cfg.to_dict(),
             "model_config": model.config.to_dict(), "budget_fitted": progress.budget_fitted,
             "fine_tuned_from": progress.lineage, "rng": random_state()}
    state["model_sha256"] = tensors_digest(state["model"])
    save_checkpoint(state, out / "last.pt")
    if improved:
        save_weights(eval_model, out / "best.safetensors",
                     {"recipe": cfg.recipe or "custom", "train": {**cfg.to_dict(), "epochs": opt.schedule.epochs},
                      "val": progress.best, "age_window_trained": window.label, "datasets": data.datasets,
                      **({"fine_tuned_from": progress.lineage} if progress.lineage else {})})
    _write_summary(progress.history, out / "summary.csv")
    _plot_curves(progress.history, out / "curves.png")


def train(cfg: TrainConfig) -> dict:
    """Run (or resume) a training run; returns the best validation metrics."""
    cfg.validate()
    if cfg.smoke:
        cfg = dataclasses.replace(cfg, epochs=1, max_steps=SMOKE_STEPS)
    proc = set_up_process(cfg)
    out = Path(cfg.out)
    if proc.main:
        out.mkdir(parents=True, exist_ok=True)
    window = AgeWindow.all() if cfg.all_ages else AgeWindow(cfg.min_age, cfg.max_age)
    data = load_training_data(split_cache_list(cfg.cache), window)
    if cfg.max_steps:  # a capped run validates on as many batches as it trains on in an epoch
        n_val = cfg.max_steps * cfg.batch_size
        data.val = [dataclasses.replace(v, faces=v.faces[:n_val], ages=v.ages[:n_val], genders=v.genders[:n_val])
                    for v in data.val]
    probabilities = epoch_draw_probabilities(cfg, data)
    model = build_model(cfg, data, window, proc.device)
    last = out / "last.pt"
    resuming = cfg.resume and last.is_file()
    lineage = _load_initial_weights(model, cfg.init_weights) if cfg.init_weights and not resuming else None
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    # Whole training set as one tensor (on the GPU when training there): no loader, no JPEG decoding.
    images, ages, genders = (torch.from_numpy(a).to(proc.device) for a in (data.images, data.ages, data.genders))
    steps_per_epoch = epoch_length(cfg, len(data.ages)) // (cfg.batch_size * proc.world)
    if cfg.max_steps:
        steps_per_epoch = min(steps_per_epoch, cfg.max_steps)
    opt = build_optimisation(cfg, model, steps_per_epoch)
    if resuming:
        progress = resume(last, model, opt, proc.device)
        if not cfg.time_budget_s:  # a run without a budget may be lengthened (or shortened) on resume
            opt.schedule.set_epochs(cfg.epochs)
        if proc.main:
            log.info("resumed from %s at epoch %d of %d", last, progress.start_epoch + 1, opt.schedule.epochs)
    else:
        progress = Progress(lineage=lineage)
        if proc.main and (cfg.resume or cfg.init_weights):
            log.info("%sstarting from %s", f"nothing to resume in {out}; " if cfg.resume else "",
                     cfg.init_weights or "scratch")

    def write_config():  # again once a time budget has fitted the run's length
        (out / "config.json").write_text(json.dumps(
            {"train": {**cfg.to_dict(), "epochs": opt.schedule.epochs}, "model": model.config.to_dict(),
             "machine": _machine(proc.device, proc.world)}, indent=2))

    if proc.main:
        write_config()
    teacher = _load_teacher(cfg.teacher, model.config, proc.device) if cfg.teacher else None
    if proc.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    net = torch.nn.parallel.DistributedDataParallel(model) if proc.world > 1 else model
    run_start = time.perf_counter()
    epoch = progress.start_epoch
    deadline = run_start + cfg.time_budget_s if cfg.time_budget_s > 0 and not progress.budget_fitted else None
    while epoch < opt.schedule.epochs:
        stats = train_one_epoch(net, opt.ema, opt.optimizer, opt.scheduler, images, ages, genders, cfg, epoch,
                                proc.device, proc.autocast_dtype, proc.rank, proc.world, probabilities, teacher,
                                deadline=deadline)
        deadline = None  # only the first epoch is cut short; later ones are fitted to the budget as a whole
        if proc.main:
            val_start = time.perf_counter()
            val = validate(opt.evaluated(model), data.val, proc.device, cfg.flip_tta,
                           proc.autocast_dtype)
            stats["val_seconds"] = time.perf_counter() - val_start
            row = {"epoch": epoch + 1, **stats, **_flat_validation_row(val)}
            progress.history.append(row)
            improved = val["score"] < progress.best["score"]
            if improved:
                progress.best = {"epoch": epoch + 1, **val}
        if cfg.time_budget_s > 0 and not progress.budget_fitted:
            opt.schedule.set_epochs(fit_time_budget(cfg, opt.schedule.epochs, epoch, time.perf_counter() - run_start,
                                                    proc.world))
            progress.budget_fitted = True
            if proc.main:
                write_config()
        if proc.main:
            save_epoch(cfg, out, model, opt, progress, epoch, improved, data, window)
            msg = " ".join(f"{k}={v:.4f}" for k, v in row.items() if isinstance(v, float))
            log.info("epoch %d/%d %s%s", epoch + 1, opt.schedule.epochs, msg, " (best)" if improved else "")
        if proc.world > 1:
            dist.barrier()
        epoch += 1
    if proc.world > 1:
        dist.destroy_process_group()
    return progress.best
