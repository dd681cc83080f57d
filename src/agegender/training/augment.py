"""Batch augmentation on tensors (runs on whatever device the batch is on: CPU or GPU).

One affine warp per image does the horizontal flip, a small random resized crop
(zoom and shift) and a small rotation; then brightness, contrast and saturation
jitter. ``strength`` scales every range (0 = off, 1 = default ranges).

``background`` is the share of images that are also zoomed out or shifted past their
edges, with the uncovered border filled by something that is not this face: a smooth
random colour field or another face of the batch. A face found in a photo is warped from
its surroundings, whatever they are; without this, the networks only ever saw UTKFace's
own borders (mirrored in) and read whatever lies around a face in a photo as a cue.

``photo`` is the chance of each degradation that real photos show and UTKFace's clean chips
lack (:func:`photo_degrade`): blur, a low resolution (downscaled and back), JPEG artefacts,
no colour, and an occluding patch (a hand, a microphone, another head).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from agegender.preprocess import jpeg_round_trip


def random_backgrounds(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Per image, either a smooth random colour field or another image of the batch (rolled by one)."""
    b, _, h, w = images.shape
    dev = images.device
    cells = torch.rand(b, 3, 5, 5, device=dev, generator=generator) * 0.7 + 0.15
    smooth = F.interpolate(cells, size=(h, w), mode="bicubic", align_corners=False).clamp_(0, 1)
    other = torch.roll(images, 1, dims=0).flip(-1)
    use_other = (torch.rand(b, 1, 1, 1, device=dev, generator=generator) < 0.5).to(images.dtype)
    return use_other * other + (1 - use_other) * smooth


def _gaussian_blur(images: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each image (B, 3, H, W) with its own Gaussian ``sigma`` (B,) in pixels (separable, 7 taps)."""
    b, c, h, w = images.shape
    t = torch.arange(-3, 4, device=images.device, dtype=images.dtype)
    k = torch.exp(-(t[None] ** 2) / (2 * sigma[:, None].to(images.dtype) ** 2))
    k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (B*3, 7)
    x = F.pad(images.reshape(1, b * c, h, w), (3, 3, 3, 3), mode="replicate")
    x = F.conv2d(x, k.view(b * c, 1, 1, 7), groups=b * c)
    x = F.conv2d(x, k.view(b * c, 1, 7, 1), groups=b * c)
    return x.view(b, c, h, w)


def photo_degrade(images: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each with chance ``p`` per image: blur, downscale-upscale, JPEG, greyscale, an occluding patch.

    Input and output: float images (B, 3, H, W) in [0, 1].
    """
    b, _, h, w = images.shape
    dev, out = images.device, images

    def chosen():
        return torch.rand(b, device=dev, generator=generator) < p

    def rand(*shape):
        return torch.rand(*shape, device=dev, generator=generator)

    blur = chosen()
    out = torch.where(blur.view(b, 1, 1, 1), _gaussian_blur(out, 0.5 + rand(b) * 1.0), out)
    small = chosen()
    # One factor per batch (interpolation sizes are per call): 25-60% of the side, like a face of 16-38 px at 64.
    f = 0.25 + 0.35 * float(rand(1))
    low = F.interpolate(
        out, size=(max(4, round(h * f)), max(4, round(w * f))), mode="bilinear", antialias=True, align_corners=False
    )
    low = F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)
    out = torch.where(small.view(b, 1, 1, 1), low, out)
    jpeg = chosen()
    qualities = (15 + 45 * rand(b)).int()  # 15-60: a strongly recompressed web photo
    picked = torch.nonzero(jpeg).flatten().tolist()
    if picked:  # OpenCV's codec, image by image on the CPU (torchvision's JPEG functions are deprecated)
        faces = (out[picked].clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        coded = [jpeg_round_trip(f, int(qualities[i])) for f, i in zip(faces, picked)]
        coded_t = torch.from_numpy(np.stack(coded)).to(dev).permute(0, 3, 1, 2).to(out.dtype) / 255
        out = out.clone()
        out[picked] = coded_t
    grey = chosen()
    luma = (0.299 * out[:, 0:1] + 0.587 * out[:, 1:2] + 0.114 * out[:, 2:3]).expand_as(out)
    out = torch.where(grey.view(b, 1, 1, 1), luma, out)
    occlude = chosen()
    # A rectangle of 10-30% of the side by 10-50%, anywhere; filled with one random colour.
    rh, rw = (0.1 + 0.2 * rand(b)) * h, (0.1 + 0.4 * rand(b)) * w
    y0, x0 = rand(b) * (h - rh), rand(b) * (w - rw)
    ys = torch.arange(h, device=dev).view(1, h, 1)
    xs = torch.arange(w, device=dev).view(1, 1, w)
    box = (
        (ys >= y0.view(b, 1, 1))
        & (ys < (y0 + rh).view(b, 1, 1))
        & (xs >= x0.view(b, 1, 1))
        & (xs < (x0 + rw).view(b, 1, 1))
        & occlude.view(b, 1, 1)
    )
    out = torch.where(box.unsqueeze(1), rand(b, 3, 1, 1).to(out.dtype), out)
    return out


def augment(
    images: torch.Tensor,
    strength: float = 1.0,
    generator: torch.Generator | None = None,
    background: float = 0.0,
    photo: float = 0.0,
) -> torch.Tensor:
    """Randomly flip, zoom, shift, rotate and colour-jitter float images (B, 3, H, W) in [0, 1].

    ``background``: the share of images zoomed out or shifted past their edges onto another background.
    ``photo``: the chance of each of :func:`photo_degrade`'s degradations per image.
    """
    if strength <= 0:
        return images
    b, dev = images.shape[0], images.device

    def uniform(lo, hi):
        return torch.rand(b, device=dev, generator=generator) * (hi - lo) + lo

    flip = torch.where(torch.rand(b, device=dev, generator=generator) < 0.5, -1.0, 1.0)
    zoom = uniform(1 - 0.15 * strength, 1 + 0.05 * strength)  # <1 crops in (random resized crop)
    angle = uniform(-10 * strength, 10 * strength) * math.pi / 180
    tx, ty = uniform(-0.08 * strength, 0.08 * strength), uniform(-0.08 * strength, 0.08 * strength)
    if background > 0:  # drawn only when asked, so runs without it keep their random stream
        framed = torch.rand(b, device=dev, generator=generator) < background
        # Zoomed out by up to a quarter and shifted by up to a tenth more: borders of 0-25% of the side.
        zoom = torch.where(framed, uniform(1.0, 1 + 0.25 * strength), zoom)
        tx = torch.where(framed, tx + uniform(-0.1, 0.1) * strength, tx)
        ty = torch.where(framed, ty + uniform(-0.1, 0.1) * strength, ty)
    cos, sin = torch.cos(angle) * zoom, torch.sin(angle) * zoom
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if background > 0:  # (no framed.any() test: it would make a GPU wait every step)
        # Where the warp leaves the image, the framed ones show a background instead of a mirror.
        inside = F.grid_sample(
            torch.ones_like(images[:, :1]), grid, mode="bilinear", padding_mode="zeros", align_corners=False
        )
        inside = torch.where(framed.view(b, 1, 1, 1), inside, torch.ones_like(inside))
        out = out * inside + random_backgrounds(images, generator) * (1 - inside)

    bright = uniform(1 - 0.25 * strength, 1 + 0.25 * strength).view(b, 1, 1, 1)
    contrast = uniform(1 - 0.25 * strength, 1 + 0.25 * strength).view(b, 1, 1, 1)
    sat = uniform(1 - 0.25 * strength, 1 + 0.25 * strength).view(b, 1, 1, 1)
    out = out * bright
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * contrast + mean
    grey = 0.299 * out[:, 0:1] + 0.587 * out[:, 1:2] + 0.114 * out[:, 2:3]
    out = (out - grey) * sat + grey
    out = out.clamp_(0, 1)
    if photo > 0:  # drawn only when asked, so runs without it keep their random stream
        out = photo_degrade(out, photo, generator)
    return out
