"""Reading moving pictures frame by frame: video files, cameras and network streams.

OpenCV's VideoCapture (its FFmpeg build in the opencv-python-headless wheel, already a
dependency) decodes one frame at a time, so memory stays that of one frame however long the
video or stream. Files are recognised by their first bytes (as images are), never by their
name alone; a damaged, truncated or empty video is a :class:`VideoError` with one line saying
why, or, once frames have come, the end of the video with a note of what was lost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from agegender.errors import UserError, VideoError
from agegender.runtime import quiet_native_stderr

VIDEO_SUFFIXES = (
    ".mp4",
    ".m4v",
    ".mov",
    ".avi",
    ".mkv",
    ".webm",
    ".mpg",
    ".mpeg",
    ".ts",
    ".m2ts",
    ".flv",
    ".wmv",
    ".3gp",
    ".ogv",
)
"""Names that folders are searched for (beside images); each file is then checked by its signature."""
STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")
MAX_FRAME_PIXELS = 8192 * 4352
"""Largest frame decoded (8K UHD and a margin): larger ones are refused before any frame is read."""


@dataclass
class Frame:
    """One decoded frame: ``index`` counts from 0 in the source, ``time_s`` from its start."""

    index: int
    time_s: float
    image: np.ndarray  # (H, W, 3) RGB uint8


@dataclass
class VideoInfo:
    """What the container says: ``frame_count`` is 0 where unknown (cameras, streams, some files)."""

    name: str
    width: int
    height: int
    fps: float
    frame_count: int
    live: bool
    notes: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float | None:
        return self.frame_count / self.fps if self.frame_count and self.fps else None


def video_signature(head: bytes) -> str | None:
    """The container a file's first bytes announce (None: not a video this program reads)."""
    if len(head) >= 12 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"\x00\x00\x01\xba") or head.startswith(b"\x00\x00\x01\xb3"):
        return "mpeg"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return "mpeg-ts"
    if head.startswith(b"FLV"):
        return "flv"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "asf"
    if head.startswith(b"OggS"):
        return "ogg"
    return None


def is_video_file(path: str | Path) -> bool:
    """True if the file's first bytes are those of a video container (False if unreadable)."""
    try:
        with open(path, "rb") as f:
            return video_signature(f.read(200)) is not None
    except OSError:
        return False


def is_stream_url(source) -> bool:
    return isinstance(source, str) and source.lower().startswith(STREAM_SCHEMES)


def describe(source) -> str:
    """How a source is named in messages and output rows."""
    return f"camera:{source}" if isinstance(source, int) else str(source)


class VideoReader:
    """Frames of a video file (path or URL of a file), a camera (int index) or a stream (URL), one at a time.

    ``stride``: keep every Nth frame (the others are skipped without being converted).
    ``reconnect_s``: for cameras and streams, how long to keep trying to reopen a source that
    stopped sending before treating it as ended (0: end at once).
    """

    def __init__(
        self, source: str | Path | int, stride: int = 1, reconnect_s: float = 10.0, max_pixels: int = MAX_FRAME_PIXELS
    ):
        if stride < 1:
            raise UserError(f"stride must be at least 1, not {stride}")
        self.source, self.stride, self.reconnect_s, self.max_pixels = source, stride, reconnect_s, max_pixels
        remote = is_stream_url(source)
        self.live = isinstance(source, int) or remote  # until a URL turns out to hold a finite video
        self.name = describe(source)
        if not self.live:
            self._check_file(Path(str(source)))
        self._cap = self._open()
        if remote and int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) > 0:
            self.live = False  # a video file served over HTTP: read once, timed by its frames, never reopened
        self.info = self._read_info()
        self.frames_read = 0

    def _check_file(self, path: Path) -> None:
        try:
            with open(path, "rb") as f:
                head = f.read(200)
        except FileNotFoundError:
            raise VideoError(f"{path}: file not found") from None
        except IsADirectoryError:
            raise VideoError(f"{path}: is a folder, not a video") from None
        except OSError as exc:
            raise VideoError(f"{path}: cannot read ({exc.strerror})") from None
        if not head:
            raise VideoError(f"{path}: empty file")
        if video_signature(head) is None:
            raise VideoError(
                f"{path}: not a video in a container this program reads "
                f"(MP4/MOV, MKV/WebM, AVI, MPEG, MPEG-TS, FLV, WMV, Ogg)"
            )

    def _open(self) -> cv2.VideoCapture:
        target = self.source if isinstance(self.source, int) else str(self.source)
        with quiet_native_stderr():  # FFmpeg and OpenCV print several lines for a file they cannot open
            cap = cv2.VideoCapture(target) if isinstance(target, int) else cv2.VideoCapture(target, cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            if isinstance(self.source, int):
                raise VideoError(f"camera {self.source}: cannot be opened (no such camera, or it is in use)")
            if self.live:
                raise VideoError(f"{self.name}: the stream cannot be opened (address unreachable, or no video there)")
            raise VideoError(
                f"{self.name}: the video cannot be opened (damaged file, or a codec this program's FFmpeg lacks)"
            )
        return cap

    def _read_info(self) -> VideoInfo:
        cap = self._cap
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if w * h > self.max_pixels:
            cap.release()
            raise VideoError(f"{self.name}: {w}x{h} frames are more than the limit of {self.max_pixels:,} pixels")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        notes = []
        if not 0 < fps <= 1000:
            notes.append("the video does not say its frame rate: times assume 25 frames per second")
            fps = 25.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if not self.live else 0
        return VideoInfo(self.name, w, h, fps, max(0, count), self.live, notes)

    def __iter__(self):
        """Yield every ``stride``-th frame, then end; a live source that stops sending is reopened until
        ``reconnect_s`` seconds have passed since its last frame (its frame index goes on counting)."""
        index = 0
        start = last_frame_at = time.monotonic()
        outage, recovered = False, 0
        try:
            while True:
                keep = index % self.stride == 0
                ok = self._cap.grab()
                if ok and keep:
                    ok, bgr = self._cap.retrieve()
                    if ok and bgr is not None and bgr.ndim == 3:
                        self.frames_read += 1
                        last_frame_at = time.monotonic()
                        if outage:
                            outage, recovered = False, recovered + 1
                        t = index / self.info.fps if not self.live else last_frame_at - start
                        yield Frame(index, t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                    elif ok:
                        ok = False
                if not ok:
                    if self.live and self._reconnect(last_frame_at + self.reconnect_s):
                        outage = True
                        continue
                    break
                index += 1
        finally:
            self.close()
            if recovered:
                self.info.notes.append(f"the stream stopped {recovered} time(s) and was reopened")
        if not self.frames_read:
            raise VideoError(
                f"{self.name}: no frame could be decoded (empty, damaged, or a codec this program's FFmpeg lacks)"
            )
        expected = self.info.frame_count
        if not self.live and expected and index < expected - max(2, expected // 100):
            self.info.notes.append(
                f"the video ended at frame {index} of the {expected} it declares "
                f"(truncated or damaged): frames up to there were analysed"
            )

    def _reconnect(self, deadline: float) -> bool:
        """Reopen a camera or stream that stopped, trying until ``deadline`` (time.monotonic())."""
        self._cap.release()
        delay = 0.25
        while time.monotonic() < deadline:
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            try:
                self._cap = self._open()
                return True
            except VideoError:
                delay = min(2 * delay, 2.0)
        return False

    def close(self) -> None:
        self._cap.release()
