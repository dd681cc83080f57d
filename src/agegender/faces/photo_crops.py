"""One aligned face per labelled photo: the inference path (detect, then 5-point align) for training caches.

A photo dataset (All-Age-Faces: head-and-shoulders pictures) labels one person per photo. To
train on the framing that :class:`agegender.FaceAnalyzer` produces, its cache is built by the
same detector and the same :func:`align_face` the analyzer runs. A photo is used only when it
holds exactly one plausible face: none found, or a second face at least ``second_face_ratio``
as large as the biggest, makes it ambiguous, and it is reported instead of guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from agegender.errors import NoSingleFaceError
from agegender.faces.align import AlignmentTemplate, align_face, default_template
from agegender.faces.detect import FaceDetector


@dataclass
class PhotoAligner:
    """Callable: RGB photo -> the aligned crop (template crop size) of its one face.

    ``pad``: fraction of the image side added on every side (edge pixels repeated) before
    detection, for images that are already tight face crops (a face filling its whole image
    is hard to detect). ``second_face_ratio``: a second face at least this share of the
    largest face's side makes the photo ambiguous.
    """

    detector: FaceDetector = field(default_factory=FaceDetector)
    template: AlignmentTemplate = field(default_factory=default_template)
    pad: float = 0.0
    second_face_ratio: float = 0.5

    def settings(self) -> dict:
        """What a cache built with this aligner records, so it is never reused for other settings."""
        return {
            "template": self.template.to_dict(),
            "pad": self.pad,
            "second_face_ratio": self.second_face_ratio,
            "score_threshold": self.detector.score_threshold,
            "min_face": self.detector.min_face,
        }

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if self.pad > 0:
            p = int(round(self.pad * max(image.shape[:2])))
            image = cv2.copyMakeBorder(image, p, p, p, p, cv2.BORDER_REPLICATE)
        detections = self.detector.detect(image)
        if not detections:
            raise NoSingleFaceError("no face found")
        biggest = max(d.size for d in detections)
        plausible = [d for d in detections if d.size >= self.second_face_ratio * biggest]
        if len(plausible) > 1:
            raise NoSingleFaceError(f"{len(plausible)} faces of similar size found; which one is labelled is unknown")
        return align_face(image, plausible[0].landmarks, self.template, self.template.crop_size)
