"""AgeGenderNet: one backbone with an age head, a gender head, or both.

Input: float images (B, 3, H, W) with values in [0, 1], RGB; the network normalises
them itself with the mean/std in its config. Output: the raw head outputs, a dict with
``age_logits`` (B, K), one per year of the age range (distribution heads) or ``age_raw`` (B,)
(regression heads: years = raw * age_scale + age_mean), and ``gender_logits`` (B, 2) over
(male, female). Ages and probabilities are read from them by :mod:`agegender.models.readout`,
in numpy, whichever engine ran the network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn

from agegender.errors import UserError
from agegender.models.architecture import AGE_HEADS, TASKS  # noqa: F401  (re-exported)
from agegender.models.readout import ReadOut


@dataclass
class ModelConfig:
    """The architecture: everything needed to rebuild a network; stored with its weights as "config".

    How its outputs become answers (read-out choice and calibration) is a ReadOut, stored beside it.
    """

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

    @classmethod
    def from_stored(cls, stored: dict) -> ModelConfig:
        """From a stored config (a weight file's or checkpoint's); keys that are not fields are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in stored.items() if k in names})

    def differences(self, stored: dict, names=None) -> dict[str, tuple]:
        """{field: (stored value, this value)} where a saved config (a dict, as files and checkpoints hold it)
        differs from this one, over ``names`` (default: every field the saved config has)."""
        ours = self.to_dict()

        def same(a, b):
            return (tuple(a) if isinstance(a, list) else a) == (tuple(b) if isinstance(b, list) else b)

        return {k: (stored[k], ours[k]) for k in (names or ours) if k in stored and not same(stored[k], ours[k])}

    def __post_init__(self):
        if self.task not in TASKS:
            raise UserError(f"task must be one of {TASKS}, not {self.task!r}")
        if self.age_head not in AGE_HEADS:
            raise UserError(f"age_head must be one of {AGE_HEADS}, not {self.age_head!r}")
        if self.age_min >= self.age_max:
            raise UserError(f"age_min ({self.age_min}) must be below age_max ({self.age_max})")
        self.mean, self.std = tuple(self.mean), tuple(self.std)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def has_age(self) -> bool:
        return self.task in ("age", "both")

    @property
    def has_gender(self) -> bool:
        return self.task in ("gender", "both")


def _head(in_dim: int, hidden: int, out_dim: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, out_dim)
    )


class AgeGenderNet(nn.Module):
    """Backbone + heads; see the module docstring for inputs and outputs."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        from agegender.models.registry import get_backbone

        self.config = config
        # How outputs become answers: uncalibrated here; load_model sets the weight file's own, and
        # agegender calibrate replaces it with a new one. Not a parameter: it never trains.
        self.readout = ReadOut.from_config(config)
        self.backbone, dim = get_backbone(config.arch, pretrained=config.pretrained)
        self.pixel_mean: torch.Tensor
        self.pixel_std: torch.Tensor
        self.register_buffer("pixel_mean", torch.tensor(config.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(config.std).view(1, 3, 1, 1), persistent=False)
        self.age_head = None
        self.gender_head = None
        if config.has_age:
            out = self.num_age_bins if config.age_head == "distribution" else 1
            self.age_head = _head(dim, config.hidden, out, config.dropout)
        if config.has_gender:
            self.gender_head = _head(dim, config.hidden, 2, config.dropout)

    @property
    def num_age_bins(self) -> int:
        return self.config.age_max - self.config.age_min + 1

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(images.shape)}")
        x = (images - self.pixel_mean) / self.pixel_std
        feats = self.backbone(x)
        out: dict[str, torch.Tensor] = {}
        if self.age_head is not None:
            raw = self.age_head(feats).float()
            if self.config.age_head == "distribution":
                out["age_logits"] = raw
            else:
                out["age_raw"] = raw.squeeze(1)
        if self.gender_head is not None:
            out["gender_logits"] = self.gender_head(feats).float()
        return out
