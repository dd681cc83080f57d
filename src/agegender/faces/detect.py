"""Face detection with YuNet: boxes, scores and 5 landmarks per face, at any photo size.

Why YuNet: a 230 kB ONNX file (OpenCV Zoo, MIT) that returns the 5 landmarks alignment needs
and finds faces of ~40 to ~600 px. It runs in ONNX Runtime, the engine that runs the age and
gender networks: ~5-10 ms per 640x480 photo on 2 CPU cores, half the time of OpenCV's runner
(``cv2.FaceDetectorYN``), whose decoding of the network's outputs :func:`decode_yunet` follows
(the tests compare both on the same photos; benchmarks/results/detection.json).

Photos are searched over a small image pyramid so that
every face from ``min_face`` px up falls in that range at one level: the finest level is
detected in overlapping tiles (bounded memory: YuNet needs ~80 bytes per input pixel), the
coarser ones whole, and the detections are merged by non-maximum suppression. Coordinates
always refer to the full-resolution original, so crops come from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from agegender.errors import UserError

LANDMARK_NAMES = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")
"""YuNet's landmark order (the subject's right eye first: on the left of the image)."""

DETECTABLE_PX = 40
"""Smallest face side YuNet finds reliably (recall 1.0 at 40 px, 0.68 at 32 px on pasted UTKFace faces)."""
MAX_UPSCALE = DETECTABLE_PX / 16
"""The most a photo is upscaled, for an explicit ``min_face`` of 16 px (never by default)."""
LEVEL_STEP = 4
"""Scale ratio between pyramid levels: YuNet's reliable range (40-600 px) spans much more than 4x."""
SMALLEST_LEVEL_SIDE = 640
"""The pyramid goes down until a level's longer side is at most this (large faces are found there)."""
RELATIVE_MIN_FACE = 1 / 150
"""The default smallest face, as a share of the photo's longer side (40 px in a 6000x4000 photo)."""
YUNET_STRIDES = (8, 16, 32)
"""YuNet's output grids: one anchor per cell of each stride; inputs are padded to a multiple of the largest."""


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
    return Path(str(resources.files("agegender.faces") / "models" / "face_detection_yunet_2023mar_any_size.onnx"))


def decode_yunet(outputs: dict[str, np.ndarray], width: int, score_threshold: float) -> np.ndarray:
    """YuNet's raw outputs for an input ``width`` px wide -> (N, 15) rows of x, y, w, h, 5 (x, y)
    landmarks and score, for every anchor scoring at least ``score_threshold`` (before NMS).

    Per anchor at grid cell (col, row) of stride s: score = sqrt(cls * obj); the box centre is
    offset from the cell in units of s, its size exp(.) * s; landmarks are offsets from the cell.
    """
    rows = []
    for stride in YUNET_STRIDES:
        cols = width // stride
        score = np.sqrt(
            np.clip(outputs[f"cls_{stride}"][0, :, 0], 0, 1) * np.clip(outputs[f"obj_{stride}"][0, :, 0], 0, 1)
        )
        keep = np.flatnonzero(score >= score_threshold)
        if not len(keep):
            continue
        col, row = (keep % cols).astype(np.float32), (keep // cols).astype(np.float32)
        box, kps = outputs[f"bbox_{stride}"][0, keep], outputs[f"kps_{stride}"][0, keep]
        cx, cy = (col + box[:, 0]) * stride, (row + box[:, 1]) * stride
        bw, bh = np.exp(box[:, 2]) * stride, np.exp(box[:, 3]) * stride
        marks = np.stack([(kps[:, 0::2] + col[:, None]) * stride, (kps[:, 1::2] + row[:, None]) * stride], axis=2)
        rows.append(np.column_stack([cx - bw / 2, cy - bh / 2, bw, bh, marks.reshape(-1, 10), score[keep]]))
    return np.concatenate(rows).astype(np.float32) if rows else np.zeros((0, 15), np.float32)


def tile_starts(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) of evenly spread tiles of at most ``tile`` px covering ``length`` px, neighbours sharing ``overlap``."""
    if length <= tile:
        return [(0, length)]
    n = math.ceil((length - overlap) / (tile - overlap))
    size = math.ceil((length + (n - 1) * overlap) / n)
    starts = [round(i * (length - size) / (n - 1)) for i in range(n)]
    return [(s, s + size) for s in starts]


def non_max_suppression(dets: list[Detection], iou: float) -> list[Detection]:
    """Keep the best-scoring detection of each group overlapping by more than ``iou`` (highest score first)."""
    kept: list[Detection] = []
    for d in sorted(dets, key=lambda d: -d.score):
        x1, y1, x2, y2 = d.box
        area = (x2 - x1) * (y2 - y1)
        for k in kept:
            ix = max(0.0, min(x2, k.box[2]) - max(x1, k.box[0]))
            iy = max(0.0, min(y2, k.box[3]) - max(y1, k.box[1]))
            inter = ix * iy
            k_area = (k.box[2] - k.box[0]) * (k.box[3] - k.box[1])
            # IoU, or a box lying mostly inside a kept one (a face and a part of it seen at another level)
            if inter / (area + k_area - inter + 1e-9) > iou or inter > 0.7 * min(area, k_area):
                break
        else:
            kept.append(d)
    return kept


class FaceDetector:
    """Find faces in RGB uint8 images.

    ``min_face``: smallest face side to find and keep, in pixels of the original image; None
    (the default) = 16 px, or 1/150 of the photo's longer side if that is more (40 px in a
    24-megapixel photo). By default images are never upscaled, so faces under DETECTABLE_PX are
    found only in part (75% at 32 px, 17% at 24 px: benchmarks/results/detection.json); a
    ``min_face`` under DETECTABLE_PX given explicitly upscales the photo (tile by tile, at most
    MAX_UPSCALE times) so that such faces are found too. Detection cost grows with the pixels searched: (40 / min_face)^2 of
    the photo's pixels at the finest level (measured in benchmarks/results/detection_tiling.json).
    ``tile_side``/``tile_overlap``: the finest level is searched in tiles of at most this side
    (px at that level) sharing this overlap, so memory stays ~80 bytes x tile_side^2 however
    large the photo. ``threads``: ONNX Runtime threads per detection (default: its choice, one
    per core). Thread-safe: several threads may detect at once with one detector.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        min_face: float | None = None,
        tile_side: int = 1600,
        tile_overlap: int = 192,
        top_k: int = 5000,
        threads: int | None = None,
        device: str = "cpu",
    ):
        from agegender.runtime import onnx_session, require

        path = Path(model_path) if model_path else default_model_path()
        if not path.is_file():
            raise FileNotFoundError(f"face detector model not found: {path}")
        if min_face is not None and min_face <= 0:
            raise UserError(f"min_face must be a positive number of pixels, not {min_face}")
        # A face larger than the overlap may be cut in every tile; the next level (LEVEL_STEP times smaller)
        # must then still see it at a detectable size.
        if tile_overlap < LEVEL_STEP * DETECTABLE_PX or tile_side < 2 * tile_overlap:
            raise UserError(
                f"tile_overlap must be at least {LEVEL_STEP * DETECTABLE_PX} px and tile_side twice the overlap"
            )
        self.score_threshold, self.nms_threshold, self.min_face = score_threshold, nms_threshold, min_face
        self.tile_side, self.tile_overlap = tile_side, tile_overlap
        self.top_k = top_k
        require("onnxruntime", None, "face detection")
        try:
            self._session = onnx_session(path, threads, device)
        except Exception as e:  # ONNX Runtime raises its own exception types for a damaged file
            raise UserError(f"face detector model {path} could not be loaded: {e}") from e
        self._output_names = [o.name for o in self._session.get_outputs()]

    def smallest_face(self, height: int, width: int) -> float:
        """The smallest face side (px) searched for in a photo of this size."""
        if self.min_face is not None:
            return float(self.min_face)
        return max(16.0, RELATIVE_MIN_FACE * max(height, width))

    def levels(self, height: int, width: int) -> list[float]:
        """Scales searched, finest first: faces of ``smallest_face`` px become DETECTABLE_PX at the first.

        Photos are upscaled (at most MAX_UPSCALE times) only for a ``min_face`` under DETECTABLE_PX
        given explicitly: it multiplies the detection time by the square of the scale.
        """
        largest = MAX_UPSCALE if self.min_face is not None else 1.0
        scale = min(largest, DETECTABLE_PX / self.smallest_face(height, width))
        out = [scale, 1.0] if scale > 1.0 else [scale]  # an upscaled level looks only for the small faces
        while max(height, width) * out[-1] > SMALLEST_LEVEL_SIDE:
            out.append(out[-1] / LEVEL_STEP)
        return out

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an (H, W, 3) RGB uint8 image, highest score first."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB image, got shape {image.shape}")
        h, w = image.shape[:2]
        found: list[Detection] = []
        scales = self.levels(h, w)
        for i, scale in enumerate(scales):
            found += self._detect_level(image, scale, coarser_follows=i + 1 < len(scales))
        smallest = self.smallest_face(h, w)
        merged = (
            non_max_suppression(found, self.nms_threshold) if len(scales) > 1 else found
        )  # one level: YuNet's own NMS
        return [d for d in merged if d.size >= smallest]

    def _detect_level(self, image: np.ndarray, scale: float, coarser_follows: bool) -> list[Detection]:
        h, w = image.shape[:2]
        lw, lh = max(1, round(w * scale)), max(1, round(h * scale))
        if scale <= 1.0:
            level = image if scale == 1.0 else cv2.resize(image, (lw, lh), interpolation=cv2.INTER_AREA)

            def tile(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
                return level[y0:y1, x0:x1]
        else:  # an upscaled level is made a tile at a time, so memory stays that of one tile

            def tile(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
                shift = 0.5 * (scale - 1)  # pixel centres, as cv2.resize
                to_tile = np.array([[scale, 0, shift - x0], [0, scale, shift - y0]], np.float32)
                return cv2.warpAffine(
                    image, to_tile, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
                )

        ys, xs = tile_starts(lh, self.tile_side, self.tile_overlap), tile_starts(lw, self.tile_side, self.tile_overlap)
        tiled = len(ys) * len(xs) > 1
        out = []
        for y0, y1 in ys:
            for x0, x1 in xs:
                for f in self._run(tile(y0, y1, x0, x1)):
                    x, y, bw, bh = (float(v) for v in f[:4])
                    if tiled or scale > 1.0:
                        # A face cut by an inner tile edge is whole in the neighbouring tile (the overlap
                        # holds faces up to tile_overlap px) or, if larger, at the next coarser level
                        # (after an upscaled level: the photo itself, searched as without upscaling).
                        cut = (
                            (x0 > 0 and x < 2)
                            or (y0 > 0 and y < 2)
                            or (x1 < lw and x + bw > x1 - x0 - 2)
                            or (y1 < lh and y + bh > y1 - y0 - 2)
                        )
                        if cut or (coarser_follows and max(bw, bh) > self.tile_overlap):
                            continue
                    out.append(self._to_original(f, x0, y0, scale, (w, h)))
        return out

    def _run(self, rgb: np.ndarray) -> np.ndarray:
        """YuNet on one RGB image or tile: (N, 15) rows (x, y, w, h, landmarks, score) after NMS."""
        h, w = rgb.shape[:2]
        step = YUNET_STRIDES[-1]
        # YuNet takes BGR pixels as floats in [0, 255], zero-padded to a multiple of its largest stride.
        x = np.zeros((1, 3, -(-h // step) * step, -(-w // step) * step), np.float32)
        x[0, :, :h, :w] = rgb[:, :, ::-1].transpose(2, 0, 1)
        outputs = dict(zip(self._output_names, self._session.run(self._output_names, {"input": x})))
        faces = decode_yunet(outputs, x.shape[3], self.score_threshold)
        if len(faces) > 1:
            keep = cv2.dnn.NMSBoxes(
                faces[:, :4].tolist(), faces[:, 14].tolist(), self.score_threshold, self.nms_threshold, top_k=self.top_k
            )
            faces = faces[np.asarray(keep, dtype=int).reshape(-1)]
        return faces

    @staticmethod
    def _to_original(f: np.ndarray, x0: int, y0: int, scale: float, full_size) -> Detection:
        w, h = full_size
        x, y = (f[0] + x0) / scale, (f[1] + y0) / scale
        bw, bh = f[2] / scale, f[3] / scale
        marks = (f[4:14].reshape(5, 2) + (x0, y0)) / scale
        return Detection(
            box=(max(0.0, float(x)), max(0.0, float(y)), min(float(w), float(x + bw)), min(float(h), float(y + bh))),
            score=float(f[14]),
            landmarks=marks.astype(np.float32),
        )


def reading_order(detections: list) -> list:
    """Faces as a reader numbers them: rows from top to bottom, each from left to right. A face joins
    the row above it when their centres are less than half a face height apart vertically."""
    rows: list[tuple[float, float, list]] = []
    for d in sorted(detections, key=lambda d: (d.box[1] + d.box[3]) / 2):
        centre, height = (d.box[1] + d.box[3]) / 2, d.box[3] - d.box[1]
        if rows and abs(centre - rows[-1][0]) < 0.5 * max(height, rows[-1][1]):
            rows[-1][2].append(d)
        else:
            rows.append((centre, height, [d]))
    return [d for _, _, row in rows for d in sorted(row, key=lambda d: d.box[0])]
