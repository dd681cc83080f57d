"""Face detection with OpenCV's YuNet: boxes, scores and 5 landmarks per face.

Why YuNet: it ships as a 230 kB ONNX file run by OpenCV itself (no extra runtime), returns
the 5 landmarks alignment needs, and finds faces down to ~10 px in ~15 ms per 640x480 photo
on 2 CPU cores (see benchmarks/). Very large photos are detected on a downscaled copy and
the coordinates mapped back, so crops come from the full-resolution original.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

LANDMARK_NAMES = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")
"""YuNet's landmark order (the subject's right eye first: on the left of the image)."""


@dataclass
class Detection:
    """One detected face: ``box`` (x1, y1, x2, y2) in pixels, ``score`` in [0, 1], ``landmarks`` (5, 2)."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray

    @property
    def size(self) -> float:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])


def default_model_path() -> Path:
    return Path(str(resources.files("agegender.faces") / "models" / "face_detection_yunet_2023mar.onnx"))


class FaceDetector:
    """Find faces in RGB uint8 images.

    ``score_threshold``: minimum detection confidence; ``min_face``: smallest face side kept,
    in pixels of the original image; ``max_side``: photos larger than this (longest side, px)
    are detected on a downscaled copy. Thread-safe: each thread gets its own OpenCV network
    (YuNet's input size is state), so several threads detect at once.
    """

    def __init__(self, model_path: str | Path | None = None, score_threshold: float = 0.6,
                 nms_threshold: float = 0.3, min_face: float = 16, max_side: int = 1280, top_k: int = 5000):
        path = Path(model_path) if model_path else default_model_path()
        if not path.is_file():
            raise FileNotFoundError(f"face detector model not found: {path}")
        if not hasattr(cv2, "FaceDetectorYN"):
            raise RuntimeError(f"OpenCV {cv2.__version__} lacks cv2.FaceDetectorYN; install opencv-python-headless>=4.8")
        self.score_threshold, self.min_face, self.max_side = score_threshold, min_face, max_side
        self._create_args = (str(path), "", (320, 320), score_threshold, nms_threshold, top_k)
        self._local = threading.local()
        self._thread_net()  # created now, so that a broken model file fails here rather than at the first photo

    def _thread_net(self):
        net = getattr(self._local, "net", None)
        if net is None:
            # OpenCV's new graph engine warns that it ignores the default target; quiet it during creation only.
            level = cv2.utils.logging.getLogLevel()
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
            try:
                net = self._local.net = cv2.FaceDetectorYN.create(*self._create_args)
            finally:
                cv2.utils.logging.setLogLevel(level)
        return net

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an (H, W, 3) RGB uint8 image, highest score first."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB image, got shape {image.shape}")
        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = image if scale == 1.0 else cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                                                      interpolation=cv2.INTER_AREA)
        bgr = np.ascontiguousarray(small[:, :, ::-1])
        net = self._thread_net()
        net.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, faces = net.detect(bgr)
        out = []
        for f in faces if faces is not None else []:
            x, y, bw, bh = (float(v) / scale for v in f[:4])
            det = Detection(box=(max(0.0, x), max(0.0, y), min(float(w), x + bw), min(float(h), y + bh)),
                            score=float(f[14]), landmarks=(f[4:14].reshape(5, 2) / scale).astype(np.float32))
            if det.size >= self.min_face:
                out.append(det)
        return sorted(out, key=lambda d: -d.score)
