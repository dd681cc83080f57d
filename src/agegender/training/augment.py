"""Batch augmentation on tensors (runs on whatever device the batch is on: CPU or GPU).

One affine warp per image does the horizontal flip, a small random resized crop
(zoom and shift) and a small rotation; then brightness, contrast and saturation
jitter. ``strength`` scales every range (0 = off, 1 = default ranges).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def to_float_images(batch_uint8: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float in [0, 1]."""
    return batch_uint8.permute(0, 3, 1, 2).float().div_(255.0)


def augment(images: torch.Tensor, strength: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Randomly flip, zoom, shift, rotate and colour-jitter float images (B, 3, H, W) in [0, 1]."""
    if strength <= 0:
        return images
    b, dev = images.shape[0], images.device

    def uniform(lo, hi):
        return torch.rand(b, device=dev, generator=generator) * (hi - lo) + lo

    flip = torch.where(torch.rand(b, device=dev, generator=generator) < 0.5, -1.0, 1.0)
    zoom = uniform(1 - 0.15 * strength, 1 + 0.05 * strength)  # <1 crops in (random resized crop)
    angle = uniform(-10 * strength, 10 * strength) * math.pi / 180
    tx, ty = uniform(-0.08 * strength, 0.08 * strength), uniform(-0.08 * strength, 0.08 * strength)
    cos, sin = torch.cos(angle) * zoom, torch.sin(angle) * zoom
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    bright = uniform(1 - 0.25 * strength, 1 + 0.25 * strength).view(b, 1, 1, 1)
    contrast = uniform(1 - 0.25 * strength, 1 + 0.25 * strength).view(b, 1, 1, 1)
    sat = uniform(1 - 0.25 * strength, 1 + 0.25 * strength).view(b, 1, 1, 1)
    out = out * bright
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * contrast + mean
    grey = (0.299 * out[:, 0:1] + 0.587 * out[:, 1:2] + 0.114 * out[:, 2:3])
    out = (out - grey) * sat + grey
    return out.clamp_(0, 1)
