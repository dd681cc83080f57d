"""The training loop: one epoch at a time over one or several face caches, validated and checkpointed.

Shaped like torchvision's reference script: :func:`train` sets up the process and the model
(:mod:`.setup`), the optimiser, schedule and weight average (:mod:`.optim`), then alternates
:func:`train_one_epoch` and validation (:mod:`.validation`: every dataset on its own);
``OUT/last.pt`` after every epoch (and ``OUT/best.safetensors`` when the validation score improves,
:mod:`.runlog`) make ``--resume`` continue exactly where a killed run stopped. Under ``torchrun`` it
trains data-parallel (DDP; NCCL on GPUs, gloo on CPU).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from agegender.data.cache import split_cache_list
from agegender.data.manifest import AgeWindow
from agegender.errors import EmptyDatasetError
from agegender.models.networks import ModelConfig
from agegender.preprocess import resize_images, to_float_images
from agegender.training.augment import augment
from agegender.training.config import CHILD_MAX_AGE, TrainConfig
from agegender.training.data import TrainingData, load_training_data
from agegender.training.losses import age_loss, distillation_loss, gender_loss
from agegender.training.optim import build_optimisation
from agegender.training.runlog import Progress, resume, save_epoch
from agegender.training.sampling import draw_probabilities, parse_shares
from agegender.training.setup import (
    build_model,
    load_initial_weights,
    load_teacher,
    machine_record,
    past_deadline,
    set_up_process,
)
from agegender.training.validation import flat_validation_row, validate

log = logging.getLogger(__name__)
SMOKE_STEPS = 3  # --smoke: steps of its one epoch, and batches of validation faces


def _sampling_weights(ages: np.ndarray) -> np.ndarray:
    buckets = np.minimum(ages, 99) // 5
    counts = np.bincount(buckets, minlength=20).astype(float)
    w = 1.0 / counts[buckets]
    return w / w.sum()


def epoch_draw_probabilities(cfg: TrainConfig, data: TrainingData) -> np.ndarray | None:
    """Per-face draw probability of an epoch (None: a plain shuffle of every face)."""
    if cfg.balance_ages:
        return _sampling_weights(data.ages)
    return draw_probabilities(
        data.ages, data.genders, data.dataset_ids, data.datasets, parse_shares(cfg.dataset_shares), cfg.balance_cells
    )


def epoch_length(cfg: TrainConfig, n_faces: int) -> int:
    """Faces drawn per epoch: ``--epoch-size`` when set, else every training face once."""
    return cfg.epoch_size or n_faces


def train_one_epoch(
    model,
    ema,
    optimizer,
    scheduler,
    images,
    ages,
    genders,
    cfg: TrainConfig,
    epoch: int,
    device,
    autocast_dtype,
    rank: int = 0,
    world: int = 1,
    probabilities: np.ndarray | None = None,
    teacher=None,
    deadline: float | None = None,
) -> dict:
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
    bar = tqdm(
        range(steps), desc=f"epoch {epoch + 1}", unit="batch", disable=not cfg.progress or rank != 0, dynamic_ncols=True
    )
    done = 0
    for step in bar:
        if deadline is not None and step > 0 and past_deadline(deadline, world, device):
            log.info("time budget reached after %d of %d steps of the first epoch", step, steps)
            break
        done = step + 1
        idx = picked[step * cfg.batch_size : (step + 1) * cfg.batch_size]
        x = to_float_images(images[idx].to(device, non_blocking=True))
        x = augment(
            x,
            cfg.augment,
            generator=gen if x.device == images.device else None,
            background=cfg.augment_background,
            photo=cfg.augment_photo,
        )
        x = resize_images(x, net_cfg.input_size)
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
            with (
                torch.no_grad(),
                torch.autocast(device.type, dtype=autocast_dtype or torch.bfloat16, enabled=autocast_dtype is not None),
            ):
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
            bar.set_postfix(
                loss=f"{sums['loss'].item() / (step + 1):.4f}",
                img_s=f"{seen * world / (time.perf_counter() - start):.0f}",
            )
    means = {k: v.item() / done for k, v in sums.items()}
    secs = time.perf_counter() - start
    return {
        **means,
        "images_per_s": seen * world / secs,
        "epoch_seconds": secs,
        "lr": scheduler.get_last_lr()[0],
        "steps": done,
    }


def fit_time_budget(cfg: TrainConfig, epochs: int, epoch: int, first_epoch_s: float, world: int) -> int:
    """The number of epochs that ends the run within ``cfg.time_budget_s``, given the first epoch's time."""
    fit = int((cfg.time_budget_s - first_epoch_s) // max(first_epoch_s, 1e-6))
    fitted = max(epoch + 1, min(epochs, epoch + 1 + fit))
    if world > 1:  # every process must agree
        t = torch.tensor([fitted], dtype=torch.int64, device="cuda" if dist.get_backend() == "nccl" else "cpu")
        dist.broadcast(t, 0)
        fitted = int(t.item())
    if fitted < epochs:
        log.info(
            "time budget %.0f s: one epoch takes %.1f s, so %d epochs instead of %d",
            cfg.time_budget_s,
            first_epoch_s,
            fitted,
            epochs,
        )
    return fitted


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
        data.val = [
            dataclasses.replace(v, faces=v.faces[:n_val], ages=v.ages[:n_val], genders=v.genders[:n_val])
            for v in data.val
        ]
    probabilities = epoch_draw_probabilities(cfg, data)
    model = build_model(cfg, data, window, proc.device)
    last = out / "last.pt"
    resuming = cfg.resume and last.is_file()
    lineage = load_initial_weights(model, cfg.init_weights) if cfg.init_weights and not resuming else None
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
            log.info(
                "%sstarting from %s",
                f"nothing to resume in {out}; " if cfg.resume else "",
                cfg.init_weights or "scratch",
            )

    def write_config():  # again once a time budget has fitted the run's length
        (out / "config.json").write_text(
            json.dumps(
                {
                    "train": {**cfg.to_dict(), "epochs": opt.schedule.epochs},
                    "model": model.config.to_dict(),
                    "machine": machine_record(proc.device, proc.world),
                },
                indent=2,
            )
        )

    if proc.main:
        write_config()
    teacher = load_teacher(cfg.teacher, model.config, proc.device) if cfg.teacher else None
    if proc.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    net = torch.nn.parallel.DistributedDataParallel(model) if proc.world > 1 else model
    run_start = time.perf_counter()
    epoch = progress.start_epoch
    deadline = run_start + cfg.time_budget_s if cfg.time_budget_s > 0 and not progress.budget_fitted else None
    while epoch < opt.schedule.epochs:
        stats = train_one_epoch(
            net,
            opt.ema,
            opt.optimizer,
            opt.scheduler,
            images,
            ages,
            genders,
            cfg,
            epoch,
            proc.device,
            proc.autocast_dtype,
            proc.rank,
            proc.world,
            probabilities,
            teacher,
            deadline=deadline,
        )
        deadline = None  # only the first epoch is cut short; later ones are fitted to the budget as a whole
        if proc.main:
            val_start = time.perf_counter()
            val = validate(opt.evaluated(model), data.val, proc.device, cfg.flip_tta, proc.autocast_dtype)
            stats["val_seconds"] = time.perf_counter() - val_start
            row = {"epoch": epoch + 1, **stats, **flat_validation_row(val)}
            progress.history.append(row)
            improved = val["score"] < progress.best["score"]
            if improved:
                progress.best = {"epoch": epoch + 1, **val}
        if cfg.time_budget_s > 0 and not progress.budget_fitted:
            opt.schedule.set_epochs(
                fit_time_budget(cfg, opt.schedule.epochs, epoch, time.perf_counter() - run_start, proc.world)
            )
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
