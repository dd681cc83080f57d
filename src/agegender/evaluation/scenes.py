"""Scenes for testing detection: real face crops pasted into larger canvases at known places, sizes and angles."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Placed:
    centre: tuple[float, float]
    side: float  # side of the pasted crop in the scene, px
    angle: float  # degrees, counter-clockwise
    matrix: np.ndarray  # 2x3 map from crop pixels to scene pixels


def background(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth random background (blurred noise), so faces are the only structure."""
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 220, (max(2, h // 40), max(2, w // 40), 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def paste(scene: np.ndarray, crop: np.ndarray, centre, side: float, angle: float = 0.0) -> Placed:
    """Paste a square crop, scaled to ``side`` and rotated, with its centre at ``centre``."""
    s = crop.shape[0]
    m = cv2.getRotationMatrix2D((s / 2, s / 2), angle, side / s)
    m[:, 2] += np.asarray(centre) - np.array([s / 2, s / 2])
    h, w = scene.shape[:2]
    warped = cv2.warpAffine(crop, m, (w, h), flags=cv2.INTER_AREA if side < s else cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.full((s, s), 255, np.uint8), m, (w, h)) > 127
    scene[mask] = warped[mask]
    return Placed(tuple(centre), side, angle, m)


def centre_of(box) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def nearest_face(faces, centre, within: float = float("inf")):
    """The face (anything with a ``box``) whose centre is closest to ``centre``, if within ``within`` px; else None."""
    dist = [float(np.linalg.norm(centre_of(f.box) - np.asarray(centre))) for f in faces]
    if not dist or min(dist) >= within:
        return None
    return faces[int(np.argmin(dist))]
