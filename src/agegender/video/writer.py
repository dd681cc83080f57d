"""Writing the annotated video: each analysed frame with its boxes, track ids and fused labels.

OpenCV's VideoWriter writes it, one frame at a time, at the source's frame rate divided by the
stride. H.264 (``avc1``) is used where the installed OpenCV can encode it; the opencv-python
wheels' FFmpeg has no H.264 encoder, so there the video is MPEG-4 Part 2 (``mp4v``), which
players (VLC, mpv, ffplay, QuickTime) and browsers' ``<video>`` in Firefox/Chrome on most systems
play. MP4, MOV, MKV and AVI inputs keep their container; others (WebM, MPEG, ...) become MP4.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from agegender.errors import UserError
from agegender.runtime import quiet_native_stderr

KEPT_CONTAINERS = (".mp4", ".mov", ".mkv", ".avi", ".m4v")
CODECS = ("avc1", "mp4v")


def annotated_name(source: Path) -> str:
    """``clip.mp4`` -> ``clip.annotated.mp4``; containers not kept become ``.annotated.mp4``."""
    suffix = source.suffix.lower() if source.suffix.lower() in KEPT_CONTAINERS else ".mp4"
    return f"{source.stem}.annotated{suffix}"


class AnnotatedVideoWriter:
    """Open on the first frame (its size), write RGB frames, close. ``codec`` says which one was used."""

    def __init__(self, path: str | Path, fps: float):
        self.path, self.fps = Path(path), fps
        self._writer: cv2.VideoWriter | None = None
        self.codec: str | None = None
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        if self._writer is None:
            self._writer = self._open(rgb.shape[1], rgb.shape[0])
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def _open(self, width: int, height: int):
        """The first encoder of CODECS that opens for this container (its name kept in ``codec``)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for codec in CODECS:
            with quiet_native_stderr():  # FFmpeg and OpenCV print several lines for each encoder they lack
                writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*codec), self.fps, (width, height))
            if writer.isOpened():
                self.codec = codec
                return writer
            writer.release()
        raise UserError(f"{self.path}: no video encoder available for this container (tried {', '.join(CODECS)})")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
