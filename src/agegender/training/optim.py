"""What updates the weights: the learning-rate schedule (which owns the run's length), the optimiser and the
weight average (EMA)."""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass

import torch

from agegender.errors import UserError
from agegender.models.networks import AgeGenderNet
from agegender.training.config import SCHEDULES, TrainConfig


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
