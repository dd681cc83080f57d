"""Face alignment: a 5-point similarity transform onto the framing of UTKFace's aligned crops.

The models learnt from UTKFace's 200x200 "aligned & cropped" faces, resized to their input
size. The template is where the 5 landmarks sit in those crops: the median of YuNet's
landmarks over UTKFace training faces (``derive_template``; the shipped values live in
``template.json`` and are recorded in each weight file's metadata). A face found in a photo
is warped so its landmarks land on the template, then resized exactly as training faces were.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import cv2
import numpy as np

from agegender.preprocess import resize_face


@dataclass(frozen=True)
class AlignmentTemplate:
    """Landmark positions as fractions of the crop side (5 x (x, y)); ``crop_size`` of the source crops."""

    points: tuple[tuple[float, float], ...]
    crop_size: int = 200

    def pixels(self, size: int | None = None) -> np.ndarray:
        return np.asarray(self.points, dtype=np.float32) * (size or self.crop_size)

    def to_dict(self) -> dict:
        return {"points": [list(p) for p in self.points], "crop_size": self.crop_size}

    @classmethod
    def from_dict(cls, d: dict) -> AlignmentTemplate:
        return cls(points=tuple((float(p[0]), float(p[1])) for p in d["points"]), crop_size=int(d["crop_size"]))


def default_template() -> AlignmentTemplate:
    """The template derived from UTKFace (see ``template.json``)."""
    text = (resources.files("agegender.faces") / "template.json").read_text()
    return AlignmentTemplate.from_dict(json.loads(text))


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 matrix of the similarity (rotation, uniform scale, shift) mapping src onto dst.

    Fitted by OpenCV's least-median-of-squares estimator (``cv2.LMEDS``): with five landmarks,
    one badly placed point (an occluded mouth corner) does not tilt the whole crop, as it would
    under a plain least-squares fit. The training template was derived with the same function.
    """
    matrix, _ = cv2.estimateAffinePartial2D(np.asarray(src, np.float32), np.asarray(dst, np.float32), method=cv2.LMEDS)
    if matrix is None:
        raise ValueError("landmarks are degenerate; cannot align this face")
    return matrix


def align_face(image: np.ndarray, landmarks: np.ndarray, template: AlignmentTemplate, out_size: int) -> np.ndarray:
    """Warp the face with these landmarks to the template framing; return (out_size, out_size, 3) uint8.

    The face is first warped to the template's crop size (as UTKFace's crops), with a
    pre-shrink of big faces to avoid aliasing, then resized to ``out_size`` like the training faces.
    """
    landmarks = np.asarray(landmarks, np.float32)
    target = template.pixels()
    matrix = similarity_transform(landmarks, target)
    scale = float(np.hypot(matrix[0, 0], matrix[0, 1]))
    if scale < 0.5:
        # Shrink the image first (area averaging) so the warp never skips pixels.
        f = min(1.0, 2 * scale)
        h, w = image.shape[:2]
        image = cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        landmarks = landmarks * np.array([image.shape[1] / w, image.shape[0] / h], np.float32)
        matrix = similarity_transform(landmarks, target)
    crop = cv2.warpAffine(
        image, matrix, (template.crop_size, template.crop_size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return resize_face(crop, out_size)


def derive_template(faces, detector, pad: float = 0.25) -> tuple[AlignmentTemplate, int]:
    """Median landmark positions of ``detector`` over square face crops (iterable of RGB arrays).

    Crops are padded by ``pad`` of their side before detection, because a face that fills its
    whole image is hard to detect. Returns (template, number of faces used).
    """
    points: list[np.ndarray] = []
    size = 0
    for img in faces:
        size = img.shape[0]
        p = int(round(pad * size))
        padded = cv2.copyMakeBorder(img, p, p, p, p, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        dets = detector.detect(padded)
        if dets:
            points.append((dets[0].landmarks - p) / size)
    if not points:
        raise ValueError("no face was detected in any crop; cannot derive a template")
    med = np.median(np.stack(points), axis=0)
    return AlignmentTemplate(points=tuple((float(x), float(y)) for x, y in med), crop_size=int(size)), len(points)
