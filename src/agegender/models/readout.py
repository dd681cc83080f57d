"""The read-out: raw network outputs (age logits or age raw, gender logits) -> age, age spread, p_female.

One implementation in numpy, used by every engine (PyTorch and ONNX Runtime), by evaluation and
by calibration, so that a number in a report is the number a user gets. It imports no torch.
The network's architecture gives its age range and head; the calibration (read-out choice,
temperature, spread scale, bias map, prior adjustment) is stored beside it in the weight file, under "readout".
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from agegender.errors import UserError

AGE_READOUTS = ("median", "mean")
CALIBRATION_FIELDS = (
    "age_readout",
    "gender_temperature",
    "age_std_scale",
    "age_bias_knots",
    "age_bias_shifts",
    "age_prior_weight",
    "age_log_prior",
)
"""What calibration sets (a weight file's "readout"); the other fields follow from the architecture."""


@dataclass(frozen=True)
class ReadOut:
    """How outputs become answers; the read-out part of a weight file's config."""

    age_head: str = "regression"  # "regression" (one number) or "distribution" (one logit per year)
    age_min: int = 18
    age_max: int = 50
    age_mean: float = 30.0  # regression heads: age = raw * age_scale + age_mean
    age_scale: float = 10.0
    # Distribution heads: "median" (whole years) or "mean". The median minimises the expected absolute
    # error (what MAE scores); on val it beat the mean by 0.15 years (reports/ABLATIONS.md).
    age_readout: str = "median"
    gender_temperature: float = 1.0  # gender logits are divided by it
    age_std_scale: float = 1.0  # the distribution's spread is multiplied by it
    age_bias_knots: tuple[float, ...] = ()  # years added to a predicted age, interpolated between knots
    age_bias_shifts: tuple[float, ...] = ()
    # Distribution heads: the network's answer is p(age | face) under the ages it was trained on; the
    # logits minus weight x log(that prior) move towards p(face | age), an answer that does not pull
    # every face towards the crowded ages of the training set (logit adjustment, Menon et al., 2021).
    age_prior_weight: float = 0.0
    age_log_prior: tuple[float, ...] = ()  # one per year of the range; empty: no adjustment

    def __post_init__(self):
        if self.age_readout not in AGE_READOUTS:
            raise UserError(f"age_readout must be one of {AGE_READOUTS}, not {self.age_readout!r}")
        if len(self.age_bias_knots) != len(self.age_bias_shifts):
            raise UserError("age_bias_knots and age_bias_shifts must have the same length")
        if self.age_log_prior and len(self.age_log_prior) != self.age_max - self.age_min + 1:
            raise UserError(
                f"age_log_prior has {len(self.age_log_prior)} values for "
                f"{self.age_max - self.age_min + 1} ages ({self.age_min}-{self.age_max})"
            )

    @classmethod
    def from_config(cls, config, calibration: dict | None = None) -> ReadOut:
        """From an architecture (a ModelConfig or its dict) and a calibration dict (a weight file's
        "readout"; absent: uncalibrated). Calibration keys inside the config count too (a graph's
        config may hold them), the calibration's own win; other keys are ignored."""
        d = config if isinstance(config, dict) else config.to_dict()
        d = {**d, **(calibration or {})}
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        for k in ("age_bias_knots", "age_bias_shifts", "age_log_prior"):
            if k in kw:
                kw[k] = tuple(float(v) for v in kw[k])
        return cls(**kw)

    def calibration(self) -> dict:
        """The calibration part, as a weight file stores it."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in ((k, getattr(self, k)) for k in CALIBRATION_FIELDS)
        }

    def uncalibrated(self) -> ReadOut:
        """The same read-out without temperature, spread scale or bias map (the read-out choice stays)."""
        return replace(
            self,
            gender_temperature=1.0,
            age_std_scale=1.0,
            age_bias_knots=(),
            age_bias_shifts=(),
            age_prior_weight=0.0,
            age_log_prior=(),
        )

    @property
    def whole_years(self) -> bool:
        """The median of a distribution is a whole year, and stays one after the bias map."""
        return self.age_head == "distribution" and self.age_readout == "median"

    @property
    def bins(self) -> np.ndarray:
        return np.arange(self.age_min, self.age_max + 1, dtype=np.float64)

    def read(self, outputs: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """Read the outputs of one or more views of the same faces (e.g. the face and its mirror image).

        Each view is a dict with ``age_logits`` (N, K) or ``age_raw`` (N,), and/or ``gender_logits``
        (N, 2) over (male, female). Views are averaged as probability distributions (a mean of two
        medians is neither), then read. Returns ``age`` (N,) clipped to the age range, ``age_std``
        (distribution heads), ``p_female``; keys for heads the outputs lack are absent.
        """
        result: dict[str, np.ndarray] = {}
        first = outputs[0]
        if "age_logits" in first:
            adjust = (
                self.age_prior_weight * np.asarray(self.age_log_prior, np.float64)
                if self.age_prior_weight and self.age_log_prior
                else 0.0
            )
            probs = np.mean([softmax(np.asarray(o["age_logits"], np.float64) - adjust) for o in outputs], axis=0)
            age, spread = read_distribution(probs, self.bins, self.age_readout)
            result["age"] = self.correct(age)
            result["age_std"] = (spread * self.age_std_scale).astype(np.float32)
        elif "age_raw" in first:
            raw = np.mean([np.asarray(o["age_raw"], np.float64).reshape(-1) for o in outputs], axis=0)
            result["age"] = self.correct(raw * self.age_scale + self.age_mean)
        if "gender_logits" in first:
            result["p_female"] = self.p_female([o["gender_logits"] for o in outputs])
        return result

    def p_female(self, view_logits, temperature: float | None = None) -> np.ndarray:
        """Mean over views of the softmax of (logits / temperature), female column."""
        t = self.gender_temperature if temperature is None else temperature
        return np.mean([softmax(np.asarray(v, np.float64) / t)[:, 1] for v in view_logits], axis=0).astype(np.float32)

    def correct(self, age: np.ndarray, knots=None, shifts=None) -> np.ndarray:
        """Apply the bias map (this read-out's, or the ``knots``/``shifts`` given), round, clip."""
        return (
            correct_age(
                age,
                self.age_bias_knots if knots is None else knots,
                self.age_bias_shifts if shifts is None else shifts,
                self.whole_years,
            )
            .clip(self.age_min, self.age_max)
            .astype(np.float32)
        )


def softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, np.float64)
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def read_distribution(probs: np.ndarray, bins: np.ndarray, readout: str) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) probabilities over ``bins`` (years) -> (age, spread), each (N,).

    ``median``: the smallest age whose cumulative probability reaches one half; ``mean``: the
    expectation. The spread is the distribution's standard deviation either way.

    >>> p = np.array([[0.1, 0.3, 0.2, 0.4]])
    >>> read_distribution(p, np.arange(20., 24.), "median")[0].tolist()
    [22.0]
    """
    if readout not in AGE_READOUTS:
        raise UserError(f"age read-out must be one of {AGE_READOUTS}, not {readout!r}")
    mean = (probs * bins).sum(1)
    spread = np.sqrt(np.clip((probs * (bins - mean[:, None]) ** 2).sum(1), 0, None))
    if readout == "mean":
        return mean, spread
    below_half = np.minimum((np.cumsum(probs, 1) < 0.5).sum(1), len(bins) - 1)
    return bins[below_half], spread


def correct_age(age: np.ndarray, knots, shifts, whole_years: bool) -> np.ndarray:
    """Add the shift interpolated at each predicted age (constant beyond the end knots).

    >>> correct_age(np.array([10., 25., 40.]), (20., 30.), (-1., -3.), whole_years=False).tolist()
    [9.0, 23.0, 37.0]
    """
    age = np.asarray(age, np.float64)
    if len(knots):
        age = age + np.interp(age, np.asarray(knots, np.float64), np.asarray(shifts, np.float64))
    return np.round(age) if whole_years else age
