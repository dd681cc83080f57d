"""Drawing faces on an image: a box per face and a label with each model's age and gender."""

from __future__ import annotations

import cv2
import numpy as np

COLOURS = {"female": (214, 39, 140), "male": (31, 119, 220), None: (90, 90, 90)}


def face_label(face, model: str) -> str:
    p = face.predictions.get(model)
    if p is None:
        return model
    parts = []
    if p.age is not None:
        parts.append(f"{p.age:.0f}y")
    if p.gender is not None:
        parts.append(f"{p.gender[0].upper()} {max(p.p_female, 1 - p.p_female):.0%}")
    return f"{model}: {' '.join(parts)}"


def draw_faces(image: np.ndarray, faces) -> np.ndarray:
    """Return a copy of an RGB image with boxes and labels drawn on it."""
    out = image.copy()
    scale = max(0.4, min(out.shape[:2]) / 900)
    thick = max(1, int(round(2 * scale)))
    for face in faces:
        first = next(iter(face.predictions.values()), None)
        colour = COLOURS.get(first.gender if first else None, COLOURS[None])
        x1, y1, x2, y2 = (int(round(v)) for v in face.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thick)
        y = y2 + int(18 * scale) + 2
        for model in face.predictions:
            text = face_label(face, model)
            (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, thick)
            cv2.rectangle(out, (x1, y - th - 4), (x1 + tw + 4, y + 4), colour, -1)
            cv2.putText(out, text, (x1 + 2, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, (255, 255, 255), thick, cv2.LINE_AA)
            y += th + 10
    return out
