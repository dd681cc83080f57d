"""AgeGenderNet: one backbone with an age head, a gender head, or both.

Input: float images (B, 3, H, W) with values in [0, 1], RGB; the network normalises
them itself with the mean/std in its config. Output: a dict with
``age`` (B,) in years, ``age_std`` (B,) in years when the age head predicts a
distribution, ``gender_logits`` (B, 2) over (male, female), and the raw head
outputs the losses need.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn

TASKS = ("age", "gender", "both")
AGE_HEADS = ("regression", "distribution")
# The point estimate read from a predicted age distribution. The median minimises the expected
# absolute error (what MAE scores); on val it beat the mean by 0.15 years (reports/ABLATIONS.md).
AGE_READOUTS = ("median", "mean")


@dataclass
class ModelConfig:
    """Everything needed to rebuild a network and read its outputs; stored with its weights."""

    arch: str = "resnet50"
    task: str = "both"
    age_head: str = "regression"
    age_min: int = 18
    age_max: int = 50
    age_mean: float = 30.0
    age_scale: float = 10.0
    input_size: int = 64
    hidden: int = 256
    dropout: float = 0.3
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.25, 0.25, 0.25)
    pretrained: bool = False
    # Post-hoc calibration fitted on the val split (agegender calibrate); 1.0 = none.
    gender_temperature: float = 1.0  # gender logits are divided by it
    age_std_scale: float = 1.0  # the predicted age spread is multiplied by it
    age_readout: str = "median"  # distribution heads: "median" (whole years) or "mean" of the distribution
    # Years added to a predicted age, interpolated between knots (predicted ages): undoes the pull
    # towards the training set's mean age, fitted on val by agegender calibrate. Empty = none.
    age_bias_knots: tuple[float, ...] = ()
    age_bias_shifts: tuple[float, ...] = ()

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, not {self.task!r}")
        if self.age_head not in AGE_HEADS:
            raise ValueError(f"age_head must be one of {AGE_HEADS}, not {self.age_head!r}")
        if self.age_readout not in AGE_READOUTS:
            raise ValueError(f"age_readout must be one of {AGE_READOUTS}, not {self.age_readout!r}")
        if self.age_min >= self.age_max:
            raise ValueError(f"age_min ({self.age_min}) must be below age_max ({self.age_max})")
        if len(self.age_bias_knots) != len(self.age_bias_shifts):
            raise ValueError("age_bias_knots and age_bias_shifts must have the same length")
        self.mean, self.std = tuple(self.mean), tuple(self.std)
        self.age_bias_knots, self.age_bias_shifts = tuple(self.age_bias_knots), tuple(self.age_bias_shifts)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def age_in_whole_years(self) -> bool:
        """The median of a distribution head is a whole year, and stays one after the bias map."""
        return self.age_head == "distribution" and self.age_readout == "median"

    @property
    def has_age(self) -> bool:
        return self.task in ("age", "both")

    @property
    def has_gender(self) -> bool:
        return self.task in ("gender", "both")


def read_age_distribution(probs: torch.Tensor, bins: torch.Tensor, readout: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, K) probabilities over ``bins`` (years) -> (age, spread), each (B,).

    ``median``: the smallest age whose cumulative probability reaches one half; ``mean``: the
    expectation. The spread is the distribution's standard deviation either way.

    >>> p = torch.tensor([[0.1, 0.3, 0.2, 0.4]])
    >>> [round(float(v), 2) for v in read_age_distribution(p, torch.arange(20., 24.), "median")[0]]
    [22.0]
    """
    mean = (probs * bins).sum(1)
    spread = (probs * (bins - mean[:, None]) ** 2).sum(1).clamp_min(0).sqrt()
    if readout == "mean":
        return mean, spread
    below_half = (probs.cumsum(1) < 0.5).sum(1).clamp_max(len(bins) - 1)
    return bins[below_half], spread


def correct_age(age: torch.Tensor, knots, shifts, whole_years: bool) -> torch.Tensor:
    """Add the shift interpolated at each predicted age (constant beyond the end knots).

    >>> correct_age(torch.tensor([10., 25., 40.]), (20., 30.), (-1., -3.), whole_years=False).tolist()
    [9.0, 23.0, 37.0]
    """
    if knots:
        xp = torch.tensor(knots, dtype=age.dtype, device=age.device)
        fp = torch.tensor(shifts, dtype=age.dtype, device=age.device)
        if len(xp) == 1:
            age = age + fp[0]
        else:
            i = torch.searchsorted(xp, age.contiguous()).clamp(1, len(xp) - 1)
            t = ((age - xp[i - 1]) / (xp[i] - xp[i - 1])).clamp(0, 1)
            age = age + fp[i - 1] + t * (fp[i] - fp[i - 1])
    return age.round() if whole_years else age


def _head(in_dim: int, hidden: int, out_dim: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, out_dim))


class AgeGenderNet(nn.Module):
    """Backbone + heads; see the module docstring for inputs and outputs."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        from agegender.models.registry import get_backbone

        self.config = config
        self.backbone, dim = get_backbone(config.arch, pretrained=config.pretrained)
        self.register_buffer("pixel_mean", torch.tensor(config.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(config.std).view(1, 3, 1, 1), persistent=False)
        self.age_head = None
        self.gender_head = None
        if config.has_age:
            out = self.num_age_bins if config.age_head == "distribution" else 1
            self.age_head = _head(dim, config.hidden, out, config.dropout)
            self.register_buffer("age_bins", torch.arange(config.age_min, config.age_max + 1, dtype=torch.float32),
                                 persistent=False)
        if config.has_gender:
            self.gender_head = _head(dim, config.hidden, 2, config.dropout)

    @property
    def num_age_bins(self) -> int:
        return self.config.age_max - self.config.age_min + 1

    def read_age(self, probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, K) age probabilities -> (age, spread) in years, as the model reports them."""
        cfg = self.config
        age, spread = read_age_distribution(probs, self.age_bins.to(probs.device), cfg.age_readout)
        age = correct_age(age, cfg.age_bias_knots, cfg.age_bias_shifts, whole_years=cfg.age_in_whole_years)
        return age, spread * cfg.age_std_scale

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(images.shape)}")
        x = (images - self.pixel_mean) / self.pixel_std
        feats = self.backbone(x)
        out: dict[str, torch.Tensor] = {}
        if self.age_head is not None:
            raw = self.age_head(feats).float()
            if self.config.age_head == "distribution":
                age, out["age_std"] = self.read_age(raw.softmax(dim=1))
                out["age_logits"] = raw
            else:
                raw = raw.squeeze(1)
                age = correct_age(raw * self.config.age_scale + self.config.age_mean, self.config.age_bias_knots,
                                  self.config.age_bias_shifts, whole_years=False)
                out["age_raw"] = raw
            out["age"] = age
        if self.gender_head is not None:
            out["gender_logits"] = self.gender_head(feats).float() / self.config.gender_temperature
        return out
