"""Drawing faces on an image: a box per face and a label block with each model's age and gender.

Label blocks are placed below, above, right or left of their face, whichever first overlaps no
other label and no other face, and are kept inside the image.
"""

from __future__ import annotations

import cv2
import numpy as np

COLOURS = {"female": (214, 39, 140), "male": (31, 119, 220), None: (90, 90, 90)}
FONT = cv2.FONT_HERSHEY_SIMPLEX


def face_label(face, model: str) -> str:
    """``resnet50: 31y F 93%``; in a video ``#4 resnet50: ...`` (the face's track id: one person)."""
    p = face.predictions.get(model)
    person = "" if getattr(face, "track_id", None) is None else f"#{face.track_id} "
    if p is None:
        return (person + model).strip()
    parts = []
    if p.age is not None:
        parts.append(f"{p.age:.0f}y")
    if p.gender is not None:
        parts.append(f"{p.gender[0].upper()} {max(p.p_female, 1 - p.p_female):.0%}")
    return f"{person}{model}: {' '.join(parts)}"


def _style(shape) -> tuple[float, int]:
    scale = max(0.4, min(shape[:2]) / 900)
    return scale, max(1, int(round(2 * scale)))


def _overlap(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return max(0, min(ax + aw, bx + bw) - max(ax, bx)) * max(0, min(ay + ah, by + bh) - max(ay, by))


def label_blocks(faces, shape) -> list[tuple[int, int, int, int]]:
    """(x, y, width, height) of each face's label block in an image of ``shape``, placed so that
    blocks cover neither each other nor any face where the image leaves room."""
    scale, thick = _style(shape)
    h, w = shape[:2]
    boxes = [tuple(int(round(v)) for v in f.box) for f in faces]
    placed: list[tuple[int, int, int, int]] = []
    for i, face in enumerate(faces):
        sizes = [cv2.getTextSize(face_label(face, m), FONT, 0.5 * scale, thick)[0] for m in _labelled(face)] or [(0, 0)]
        bw = max(s[0] for s in sizes) + 4
        bh = sum(s[1] + 10 for s in sizes)
        x1, y1, x2, y2 = boxes[i]
        gap = thick + 1
        candidates = [(x1, y2 + gap), (x1, y1 - gap - bh), (x2 + gap, y1), (x1 - gap - bw, y1)]
        candidates = [(min(max(0, x), max(0, w - bw)), min(max(0, y), max(0, h - bh))) for x, y in candidates]
        others = placed + [(b[0], b[1], b[2] - b[0], b[3] - b[1]) for b in boxes]  # its own face too
        costs = [sum(_overlap((x, y, bw, bh), o) for o in others) for x, y in candidates]
        x, y = candidates[int(np.argmin(costs))]  # the first free one, else the least covered
        placed.append((x, y, bw, bh))
    return placed


def draw_faces(image: np.ndarray, faces) -> np.ndarray:
    """Return a copy of an RGB image with boxes and labels drawn on it."""
    out = image.copy()
    scale, thick = _style(out.shape)
    for face, (bx, by, _, _) in zip(faces, label_blocks(faces, out.shape)):
        first = next(iter(face.predictions.values()), None)
        colour = COLOURS.get(first.gender if first else None, COLOURS[None])
        x1, y1, x2, y2 = (int(round(v)) for v in face.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thick)
        y = by
        for model in _labelled(face):
            text = face_label(face, model)
            (tw, th), _ = cv2.getTextSize(text, FONT, 0.5 * scale, thick)
            cv2.rectangle(out, (bx, y), (bx + tw + 4, y + th + 8), colour, -1)
            cv2.putText(out, text, (bx + 2, y + th + 3), FONT, 0.5 * scale, (255, 255, 255), thick, cv2.LINE_AA)
            y += th + 10
    return out


def _labelled(face) -> list[str]:
    """The models whose lines a face gets; a tracked face not yet predicted still gets its track id."""
    if face.predictions or getattr(face, "track_id", None) is None:
        return list(face.predictions)
    return [""]
