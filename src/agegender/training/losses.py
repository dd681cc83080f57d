"""Losses for the age and gender heads.

Age: ``mse`` (the reference's), ``l1`` and ``smooth_l1`` act on the regression
output in normalised units ((age - age_mean) / age_scale); ``dldl`` is for the
distribution head: KL divergence to a Gaussian label distribution (sigma in years)
plus the L1 error of its expectation (DLDL-v2, Gao et al. 2018).
Gender: ``ce`` cross-entropy (optional label smoothing) or ``mse`` between the
softmax probabilities and the one-hot label (the reference's).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from agegender.errors import UserError
from agegender.training.config import AGE_LOSSES, GENDER_LOSSES  # noqa: F401  (the option choices, re-exported)


def gaussian_label_distribution(ages: torch.Tensor, bins: torch.Tensor, sigma: float) -> torch.Tensor:
    """(B,) ages in years -> (B, K) probabilities over ``bins``; rows sum to 1.

    >>> gaussian_label_distribution(torch.tensor([20.0]), torch.arange(18., 23.), 1.0).argmax().item()
    2
    """
    logits = -((bins[None, :] - ages[:, None]) ** 2) / (2 * sigma**2)
    return logits.softmax(dim=1)


def age_loss(out: dict, ages: torch.Tensor, config, kind: str, sigma: float = 2.0) -> torch.Tensor:
    """Age loss for a batch; ``ages`` (B,) in years; ``config`` is the model's ModelConfig."""
    if kind == "dldl":
        if "age_logits" not in out:
            raise UserError("age loss 'dldl' needs a model with age_head='distribution'")
        bins = torch.arange(config.age_min, config.age_max + 1, device=ages.device, dtype=torch.float32)
        target = gaussian_label_distribution(ages.float(), bins, sigma)
        log_probs = out["age_logits"].log_softmax(1)
        kl = F.kl_div(log_probs, target, reduction="batchmean")
        expectation = (log_probs.exp() * bins).sum(1)  # differentiable, unlike the median the model reports
        return kl + (expectation - ages).abs().mean() / config.age_scale
    if "age_raw" not in out:
        raise UserError(f"age loss {kind!r} needs a model with age_head='regression'; use 'dldl'")
    target = (ages.float() - config.age_mean) / config.age_scale
    if kind == "mse":
        return F.mse_loss(out["age_raw"], target)
    if kind == "l1":
        return F.l1_loss(out["age_raw"], target)
    if kind == "smooth_l1":
        return F.smooth_l1_loss(out["age_raw"], target, beta=0.5)
    raise UserError(f"unknown age loss {kind!r}; choose one of {AGE_LOSSES}")


def gender_loss(
    logits: torch.Tensor,
    genders: torch.Tensor,
    kind: str,
    label_smoothing: float = 0.0,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Gender loss; ``logits`` (B, 2) over (male, female), ``genders`` (B,) with 1 = female.

    ``weights`` (B,) scale each face's loss; the batch mean is still divided by B, so faces of
    weight 1 count as much as without weights.
    """
    if kind == "ce":
        per_face = F.cross_entropy(logits, genders.long(), label_smoothing=label_smoothing, reduction="none")
    elif kind == "mse":
        per_face = F.mse_loss(logits.softmax(1), F.one_hot(genders.long(), 2).float(), reduction="none").mean(1)
    else:
        raise UserError(f"unknown gender loss {kind!r}; choose one of {GENDER_LOSSES}")
    if weights is not None:
        per_face = per_face * weights
    return per_face.mean()


def distillation_loss(out: dict, teacher_out: dict) -> torch.Tensor:
    """KL divergence from a teacher's age distribution and gender probabilities to the student's
    (knowledge distillation, Hinton et al. 2015, at temperature 1)."""
    loss = torch.zeros((), device=next(iter(out.values())).device)
    for key in ("age_logits", "gender_logits"):
        if key in out and key in teacher_out:
            target = teacher_out[key].float().softmax(1)
            loss = loss + F.kl_div(out[key].float().log_softmax(1), target, reduction="batchmean")
    return loss
