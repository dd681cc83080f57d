"""Batched predictions of a model over uint8 face arrays, with optional flip averaging."""

from __future__ import annotations

import numpy as np
import torch

from agegender.models.networks import AgeGenderNet
from agegender.training.augment import to_float_images


@torch.inference_mode()
def predict_faces(model: AgeGenderNet, faces: np.ndarray, batch_size: int = 128, flip_tta: bool = False,
                  device: str | torch.device = "cpu", autocast_dtype: torch.dtype | None = None,
                  keep_view_logits: bool = False) -> dict:
    """Predict for (N, S, S, 3) uint8 RGB faces already at the model's input size.

    Returns numpy arrays: ``age`` (N,) years clipped to the model's age range,
    ``age_std`` (N,) when available, ``p_female`` (N,) in [0, 1]; with
    ``keep_view_logits`` also ``gender_logits`` (V, N, 2), one slice per view (V = 2
    with flip averaging), from which ``p_female`` is the mean of the views' softmaxes.
    Keys for heads the model lacks are absent.
    """
    model.eval()
    device = torch.device(device)
    cfg = model.config
    ages, stds, pf, logits = [], [], [], []
    for i in range(0, len(faces), batch_size):
        x = to_float_images(torch.from_numpy(np.ascontiguousarray(faces[i : i + batch_size])).to(device))
        if x.shape[-1] != cfg.input_size:
            x = torch.nn.functional.interpolate(x, size=(cfg.input_size, cfg.input_size), mode="bilinear",
                                                antialias=True, align_corners=False)
        x = x.contiguous(memory_format=torch.channels_last)
        views = [x, x.flip(3)] if flip_tta else [x]
        outs = []
        for v in views:
            with torch.autocast(device.type, dtype=autocast_dtype or torch.bfloat16, enabled=autocast_dtype is not None):
                outs.append(model(v))
        if cfg.has_age and "age_logits" in outs[0]:
            # Views are averaged as distributions, then read (a mean of two medians is neither).
            age, spread = model.read_age(torch.stack([o["age_logits"].float().softmax(1) for o in outs]).mean(0))
            ages.append(age.cpu())
            stds.append(spread.cpu())
        elif cfg.has_age:
            ages.append(torch.stack([o["age"].float() for o in outs]).mean(0).cpu())
        if cfg.has_gender:
            view_logits = torch.stack([o["gender_logits"].float() for o in outs])
            pf.append(view_logits.softmax(2)[:, :, 1].mean(0).cpu())
            if keep_view_logits:
                logits.append(view_logits.cpu())
    result = {}
    if ages:
        result["age"] = torch.cat(ages).numpy().clip(cfg.age_min, cfg.age_max)
    if stds:
        result["age_std"] = torch.cat(stds).numpy()
    if pf:
        result["p_female"] = torch.cat(pf).numpy()
    if logits:
        result["gender_logits"] = torch.cat(logits, 1).numpy()
    return result
