"""Test clips with known answers: real face crops moving, growing and changing light over a background.

Used by the video benchmark (UTKFace test faces, labelled) and the tests (the shipped example
photo's face). Each :class:`Walker` crosses the picture on a straight line while its face
grows or shrinks; the light of the whole frame swings slowly, as a door camera's does.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from agegender.evaluation.scenes import background, paste


@dataclass
class Walker:
    """One person in a clip: a square face crop (RGB) shown from ``start_s`` to ``end_s``, its centre
    moving from ``start`` to ``end`` (px) while its side goes from ``side0`` to ``side1`` (px)."""

    crop: np.ndarray
    start_s: float
    end_s: float
    start: tuple[float, float]
    end: tuple[float, float]
    side0: float
    side1: float
    age: float | None = None
    gender: str | None = None
    hidden: tuple[float, float] | None = None  # (from, to) seconds: out of sight for a moment (turned away)

    def at(self, t: float) -> tuple[tuple[float, float], float] | None:
        """(centre, side) at time ``t``, or None when the person is not in the picture."""
        if not self.start_s <= t < self.end_s or (self.hidden and self.hidden[0] <= t < self.hidden[1]):
            return None
        a = (t - self.start_s) / (self.end_s - self.start_s)
        centre = (self.start[0] + a * (self.end[0] - self.start[0]), self.start[1] + a * (self.end[1] - self.start[1]))
        return centre, self.side0 + a * (self.side1 - self.side0)


def two_at_a_time(
    faces: list[tuple[np.ndarray, float | None, str | None]],
    width: int = 640,
    height: int = 480,
    seconds_each: float = 3.0,
    gap_s: float = 0.5,
    side: float = 150,
    seed: int = 0,
) -> list[Walker]:
    """People in pairs: each pair walks across (one left to right, one right to left, at different
    heights) for ``seconds_each``, then the picture is empty for ``gap_s``; every third person is out of
    sight for 0.4 s halfway. ``faces``: (crop, age, gender)."""
    rng = np.random.default_rng(seed)
    walkers = []
    for i, (crop, age, gender) in enumerate(faces):
        slot, second = divmod(i, 2)
        t0 = slot * (seconds_each + gap_s)
        y = height * (0.32 if second else 0.68) + rng.uniform(-15, 15)
        x_a, x_b = width * 0.2, width * 0.8
        start, end = ((x_b, y), (x_a, y)) if second else ((x_a, y), (x_b, y))
        grow = rng.uniform(0.8, 1.2)
        middle = t0 + seconds_each / 2
        hidden = (middle - 0.2, middle + 0.2) if i % 3 == 2 else None
        walkers.append(Walker(crop, t0, t0 + seconds_each, start, end, side, side * grow, age, gender, hidden))
    return walkers


def render(t: float, walkers: list[Walker], backdrop: np.ndarray, light_period_s: float = 8.0) -> np.ndarray:
    """The frame at time ``t`` (RGB): the walkers pasted on the backdrop, the light swinging by +-25%."""
    frame = backdrop.copy()
    for w in walkers:
        where = w.at(t)
        if where is not None:
            paste(frame, w.crop, where[0], where[1])
    gain = 1.0 + 0.25 * np.sin(2 * np.pi * t / light_period_s)
    return cv2.convertScaleAbs(frame, alpha=gain)


def write_clip(
    path,
    walkers: list[Walker],
    width: int = 640,
    height: int = 480,
    fps: float = 25.0,
    seconds: float | None = None,
    seed: int = 0,
) -> int:
    """Write an MPEG-4 clip of the walkers (OpenCV's ``mp4v``); return the number of frames."""
    seconds = seconds if seconds is not None else max(w.end_s for w in walkers) + 0.2
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path}")
    backdrop = background(height, width, seed)
    n = int(round(seconds * fps))
    try:
        for i in range(n):
            writer.write(cv2.cvtColor(render(i / fps, walkers, backdrop), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return n


def write_y4m(clip, path) -> None:
    """A video file re-written as YUV4MPEG2, the format Chromium's fake camera reads (and loops), for
    tests and benchmarks of the live view."""
    cap = cv2.VideoCapture(str(clip))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    try:
        with open(path, "wb") as out:
            out.write(f"YUV4MPEG2 W{w} H{h} F25:1 Ip A1:1 C420jpeg\n".encode())
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                out.write(b"FRAME\n" + cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
    finally:
        cap.release()
