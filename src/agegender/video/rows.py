"""A video's results as rows of one layout (:data:`VIDEO_CSV_COLUMNS`), whatever their kind.

``track`` rows: one per person and model (when they were seen, their best frame's box, the fused
answer); ``frame`` rows: every analysed frame's faces with their track's answer so far; ``photo``
rows: a photo's rows (:meth:`agegender.results.Result.rows`) in this layout, for a run that mixes
photos and videos (``track`` is then the face's number in the photo).
"""

from __future__ import annotations

VIDEO_CSV_COLUMNS = [
    "path",
    "kind",
    "track",
    "frame",
    "start_s",
    "end_s",
    "frames",
    "x1",
    "y1",
    "x2",
    "y2",
    "det_score",
    "model",
    "age",
    "age_std",
    "gender",
    "p_female",
]


VIDEO_TABLE_COLUMNS = [
    "path",
    "kind",
    "track",
    "start_s",
    "end_s",
    "frames",
    "model",
    "age",
    "age_std",
    "gender",
    "p_female",
]


def _prediction_fields(p) -> dict:
    return {
        "age": "" if p is None or p.age is None else round(p.age, 1),
        "age_std": "" if p is None or p.age_std is None else round(p.age_std, 1),
        "gender": "" if p is None or p.gender is None else p.gender,
        "p_female": "" if p is None or p.p_female is None else round(p.p_female, 4),
    }


def _box_fields(box, det_score) -> dict:
    return {
        "x1": box[0],
        "y1": box[1],
        "x2": box[2],
        "y2": box[3],
        "det_score": "" if det_score is None else round(det_score, 4),
    }


def track_rows(path: str, track, names) -> list[dict]:
    """One row per model for a finished track."""
    base = {
        "path": path,
        "kind": "track",
        "track": track.id,
        "frame": track.best_frame,
        "start_s": round(track.start_s, 3),
        "end_s": round(track.end_s, 3),
        "frames": track.frames,
        **_box_fields(track.box, track.det_score),
    }
    return [{**base, "model": name, **_prediction_fields(track.predictions.get(name))} for name in names]


def frame_rows(path: str, frame, names) -> list[dict]:
    """One row per face and model of an analysed frame (the track's fused answer so far)."""
    rows = []
    for face in frame.faces:
        base = {
            "path": path,
            "kind": "frame",
            "track": face.track_id,
            "frame": frame.index,
            "start_s": round(frame.time_s, 3),
            "end_s": round(frame.time_s, 3),
            "frames": "",
            **_box_fields(face.box, face.det_score),
        }
        rows += [{**base, "model": name, **_prediction_fields(face.predictions.get(name))} for name in names]
    return rows


def as_photo_row(row: dict) -> dict:
    """A photo's row (Result.rows) in the video layout, for a run that mixes photos and
    videos; ``track`` is then the face's number in the photo."""
    return {
        **dict.fromkeys(VIDEO_CSV_COLUMNS, ""),
        **{k: v for k, v in row.items() if k in VIDEO_CSV_COLUMNS},
        "kind": "photo",
        "track": row["face"],
    }


def photo_rows(path: str, result, names) -> list[dict]:
    """A photo's rows in the video layout: the same fields as a photo-only run's rows."""
    return [as_photo_row(row) for row in result.rows(path, names)]
