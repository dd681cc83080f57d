"""Val faces rendered as other collections' photos look: the shifted val that model selection scores.

A model chosen on val faces drawn from its own training collections is rewarded for fitting them.
Each shift below re-renders an aligned face crop the way photos from another kind of collection
reach the networks, so that a choice that only fits our collections shows up as a loss:

- ``studio``: a studio portrait: even, flat light (the slow illumination gradient divided out),
  retouched skin (an edge-preserving blur, which also hides the fine texture age is read from)
  and a plain grey background outside the face oval.
- ``low-res``: a loose, low-resolution crop from a photo in the wild: framing off by up to a tenth
  of the crop, the face shrunk to 20-32 px and enlarged again, a slight blur and JPEG at quality 30-60.
- ``dark``: an underexposed photo: darkened with a gamma curve, sensor noise, JPEG at quality 60.
- ``bright``: an overexposed one: gain with clipped highlights and washed-out contrast.

Every face gets its own random draw from ``(seed, index)``: the same face is rendered the same way
for every model, at every crop size (sizes in the low-resolution shift are in pixels of the face,
not of the crop, so a 64 px and a 96 px model see the same information).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from agegender.preprocess import jpeg_round_trip

Shift = Callable[[np.ndarray, np.random.Generator], np.ndarray]
"""(S, S, 3) uint8 RGB aligned face, random generator -> the face rendered, same shape and type."""


def _face_oval(size: int) -> np.ndarray:
    """(S, S) float mask: 1 inside the oval the aligned face fills, fading to 0 outside it."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    r = np.sqrt(((x - 0.5) / 0.52) ** 2 + ((y - 0.5) / 0.62) ** 2)
    return np.clip((1.08 - r) / 0.16, 0.0, 1.0)


def studio(face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    size = face.shape[0]
    lab = cv2.cvtColor(face, cv2.COLOR_RGB2LAB).astype(np.float32)
    light = cv2.GaussianBlur(lab[:, :, 0], (0, 0), size / 4)
    lab[:, :, 0] = np.clip(lab[:, :, 0] / np.maximum(light, 8.0) * light.mean(), 0, 255)
    even = cv2.cvtColor(lab.astype(np.uint8), cv2.COLOR_LAB2RGB)
    retouched = cv2.bilateralFilter(even, d=max(3, size // 12) | 1, sigmaColor=20, sigmaSpace=size / 16)
    grey = np.full_like(face, int(rng.integers(170, 225)))
    oval = _face_oval(size)[:, :, None]
    return (retouched * oval + grey * (1 - oval)).round().astype(np.uint8)


def low_res(face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    size = face.shape[0]
    zoom = rng.uniform(0.8, 0.95)  # looser framing: the face takes up less of the crop
    dx, dy = rng.uniform(-0.05, 0.05, 2) * size
    m = np.array([[zoom, 0, (1 - zoom) * size / 2 + dx], [0, zoom, (1 - zoom) * size / 2 + dy]], np.float32)
    framed = cv2.warpAffine(face, m, (size, size), borderMode=cv2.BORDER_REPLICATE)
    side = int(rng.integers(20, 33))
    small = cv2.resize(framed, (side, side), interpolation=cv2.INTER_AREA)
    small = jpeg_round_trip(small, int(rng.integers(30, 61)))
    big = cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR)
    sigma = rng.uniform(0.0, 0.6) * size / 64
    return cv2.GaussianBlur(big, (0, 0), sigma) if sigma > 0.05 else big


def dark(face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = (face.astype(np.float32) / 255.0) ** rng.uniform(1.4, 1.9) * rng.uniform(0.3, 0.5)
    noisy = x * 255.0 + rng.normal(0.0, 3.0, face.shape)
    return jpeg_round_trip(np.clip(noisy, 0, 255).round().astype(np.uint8), 60)


def bright(face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = face.astype(np.float32) * rng.uniform(0.6, 0.75) + rng.uniform(70, 110)  # washed out...
    return np.clip(x * rng.uniform(1.1, 1.25), 0, 255).round().astype(np.uint8)  # ...and clipped


SHIFTS: dict[str, Shift | None] = {
    "as cached": None,
    "studio": studio,
    "low-res": low_res,
    "dark": dark,
    "bright": bright,
}
"""The renderings model selection scores, by name; "as cached" is the val face itself."""


def render(faces: np.ndarray, shift: str, seed: int = 0) -> np.ndarray:
    """(N, S, S, 3) uint8 RGB faces rendered with the named shift (a new array; "as cached": the faces)."""
    if shift not in SHIFTS:
        raise ValueError(f"unknown shift {shift!r}; one of {list(SHIFTS)}")
    fn = SHIFTS[shift]
    if fn is None:
        return faces
    return np.stack([fn(face, np.random.default_rng([seed, i])) for i, face in enumerate(faces)])
