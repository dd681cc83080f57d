"""What an analysis returns: per face its box, landmarks and each model's Prediction; per image a Result.

Units: ``box`` and ``landmarks`` in pixels of the (EXIF-rotated) input image, ``det_score``
and ``p_female`` in [0, 1], ``age`` and ``age_std`` in years, ``speed`` in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CSV_COLUMNS = ["path", "face", "x1", "y1", "x2", "y2", "det_score", "model", "age", "gender", "p_female"]
"""A CSV row of a photo's face (:meth:`Result.rows`), in order."""


@dataclass
class Prediction:
    """One model's answer for one face."""

    age: float | None = None
    age_std: float | None = None
    gender: str | None = None
    p_female: float | None = None

    def to_dict(self) -> dict:
        return {"age": self.age, "age_std": self.age_std, "gender": self.gender, "p_female": self.p_female}


@dataclass
class Face:
    """A face: where it is and what each model says about it."""

    box: tuple[float, float, float, float]
    det_score: float | None = None
    landmarks: list[list[float]] | None = None
    predictions: dict[str, Prediction] = field(default_factory=dict)
    track_id: int | None = None  # in a video: the person this face belongs to

    def to_dict(self) -> dict:
        out = {
            "box": [round(v, 1) for v in self.box],
            "det_score": None if self.det_score is None else round(self.det_score, 4),
            "landmarks": self.landmarks,
            "predictions": {k: v.to_dict() for k, v in self.predictions.items()},
        }
        if self.track_id is not None:
            out["track"] = self.track_id
        return out


@dataclass
class Result:
    """Everything found in one image; ``speed`` holds milliseconds per stage."""

    source: str
    width: int
    height: int
    faces: list[Face]
    speed: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # remarks on the input, e.g. "only the first frame is analysed"
    image: np.ndarray | None = field(default=None, repr=False)
    # crops waiting for the networks, per model (models with one alignment template share a list)
    _aligned: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def message(self) -> str:
        return f"{len(self.faces)} face(s) found" if self.faces else "no face found"

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "width": self.width,
            "height": self.height,
            "message": self.message,
            "notes": list(self.notes),
            "faces": [f.to_dict() for f in self.faces],
            "speed_ms": {k: round(v, 2) for k, v in self.speed.items()},
        }

    def rows(self, path: str, names) -> list[dict]:
        """CSV/table rows (:data:`CSV_COLUMNS`): one per face and model in ``names``; one row with only the
        path for an image without faces."""
        if not self.faces:
            return [{**dict.fromkeys(CSV_COLUMNS, ""), "path": path}]
        rows = []
        for i, face in enumerate(self.faces):
            for name in names:
                p = face.predictions.get(name)
                rows.append(
                    {
                        "path": path,
                        "face": i,
                        "x1": face.box[0],
                        "y1": face.box[1],
                        "x2": face.box[2],
                        "y2": face.box[3],
                        "det_score": "" if face.det_score is None else round(face.det_score, 4),
                        "model": name,
                        "age": "" if p is None or p.age is None else round(p.age, 1),
                        "gender": "" if p is None or p.gender is None else p.gender,
                        "p_female": "" if p is None or p.p_female is None else round(p.p_female, 4),
                    }
                )
        return rows

    def plot(self) -> np.ndarray:
        """The image (RGB) with a box and a label per face."""
        from agegender.annotate import draw_faces

        if self.image is None:
            raise ValueError("this result keeps no image to draw on: analyze(..., keep_image=True) keeps it")
        return draw_faces(self.image, self.faces)
