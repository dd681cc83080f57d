"""Following faces from frame to frame: which detection in this frame is which person.

A small tracking-by-detection tracker in the manner of SORT/ByteTrack, written here because
the packaged ones do not fit the install budget (supervision's ByteTrack brings SciPy,
Matplotlib and PyAV; norfair brings SciPy and FilterPy) and faces need little of them: each
track predicts its box with a constant-velocity model (centre and size), detections are
matched to the predictions greedily by overlap (IoU), then, for tracks missed in recent frames,
by centre distance relative to face size, so that a face hidden for a moment (turned away,
walking behind someone) keeps its id. A new track must be seen twice before it counts, so that
one spurious detection makes no person; a track not seen for ``max_lost_s`` ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in ``a`` (N, 4) with every box in ``b`` (M, 4), as x1, y1, x2, y2."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def greedy_pairs(score: np.ndarray, minimum: float) -> list[tuple[int, int]]:
    """(row, col) pairs, best score first, each row and column used once, every score >= ``minimum``.

    With the few, well separated faces of a frame this equals the optimal assignment in practice
    and needs no solver.
    """
    pairs, rows, cols = [], set(), set()
    for flat in np.argsort(-score, axis=None):
        r, c = divmod(int(flat), score.shape[1])
        if score[r, c] < minimum:
            break
        if r not in rows and c not in cols:
            pairs.append((r, c))
            rows.add(r)
            cols.add(c)
    return pairs


@dataclass
class TrackState:
    """Where one tracked face is: its last box, velocity (per second) and history counts."""

    id: int
    box: np.ndarray  # x1, y1, x2, y2 of the last detection
    last_time: float
    first_time: float
    hits: int = 1
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))  # centre x, y, width, height per second

    def predicted(self, time_s: float) -> np.ndarray:
        """The box expected at ``time_s`` (constant velocity of centre and size, damped after a second)."""
        dt = min(time_s - self.last_time, 1.0)
        cx, cy, w, h = _to_cxcywh(self.box) + self.velocity * dt
        return _to_xyxy(np.array([cx, cy, max(w, 1.0), max(h, 1.0)]))

    def update(self, box: np.ndarray, time_s: float) -> None:
        dt = time_s - self.last_time
        if dt > 0:
            measured = (_to_cxcywh(box) - _to_cxcywh(self.box)) / dt
            # smoothed, since detected boxes jitter by a pixel or two from frame to frame
            self.velocity = 0.5 * self.velocity + 0.5 * measured if self.hits > 1 else measured
        self.box, self.last_time = box.astype(np.float64), time_s
        self.hits += 1


def _to_cxcywh(b: np.ndarray) -> np.ndarray:
    return np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1]], dtype=np.float64)


def _to_xyxy(c: np.ndarray) -> np.ndarray:
    return np.array([c[0] - c[2] / 2, c[1] - c[3] / 2, c[0] + c[2] / 2, c[1] + c[3] / 2])


class FaceTracker:
    """Give each detection a track id, frame after frame.

    ``min_iou``: overlap with a track's predicted box needed to continue it. ``max_lost_s``: how
    long a track may go unseen and still take up its face again. ``reacquire_distance``: for a
    track unseen in the previous frame, the largest centre distance, in face widths, at which a
    detection of similar size (within ``size_ratio``) continues it. ``confirm_hits``: detections
    before a new track counts (its first detection included).
    """

    def __init__(
        self,
        min_iou: float = 0.25,
        max_lost_s: float = 2.0,
        reacquire_distance: float = 0.75,
        size_ratio: float = 1.6,
        confirm_hits: int = 2,
    ):
        self.min_iou, self.max_lost_s = min_iou, max_lost_s
        self.reacquire_distance, self.size_ratio, self.confirm_hits = reacquire_distance, size_ratio, confirm_hits
        self.tracks: list[TrackState] = []
        self._next_id = 1

    def update(self, boxes: np.ndarray, time_s: float) -> tuple[list[int], list[TrackState]]:
        """Match this frame's ``boxes`` (N, 4) to tracks; return (track id of each box, tracks that ended).

        A box that starts a track gets its id at once (it may yet be dropped as unconfirmed: see
        :meth:`confirmed`). Tracks unseen for longer than ``max_lost_s`` are returned as ended.
        """
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        ids = [0] * len(boxes)
        free_boxes = set(range(len(boxes)))
        candidates = list(self.tracks)
        if candidates and len(boxes):
            predicted = np.stack([t.predicted(time_s) for t in candidates])
            for r, c in greedy_pairs(iou_matrix(predicted, boxes), self.min_iou):
                candidates[r].update(boxes[c], time_s)
                ids[c] = candidates[r].id
                free_boxes.discard(c)
            # A face that moved more than its overlap allows, or that was hidden and comes back away
            # from where it was heading: matched by distance and size instead.
            missing = [t for t in candidates if t.last_time < time_s]
            rest = sorted(free_boxes)
            if missing and rest:
                score = np.stack([[self._closeness(t, boxes[c], time_s) for c in rest] for t in missing])
                for r, c in greedy_pairs(score, 1e-9):
                    missing[r].update(boxes[rest[c]], time_s)
                    ids[rest[c]] = missing[r].id
                    free_boxes.discard(rest[c])
        for c in sorted(free_boxes):
            track = TrackState(self._next_id, boxes[c].copy(), time_s, time_s)
            self._next_id += 1
            self.tracks.append(track)
            ids[c] = track.id
        ended = [t for t in self.tracks if self._ended(t, time_s)]
        self.tracks = [t for t in self.tracks if t not in ended]
        return ids, ended

    def _ended(self, track: TrackState, time_s: float) -> bool:
        if track.last_time == time_s:
            return False
        if track.hits < self.confirm_hits:  # seen once and then not: a spurious detection, or a face passing
            return True
        return time_s - track.last_time > self.max_lost_s

    def _closeness(self, track: TrackState, box: np.ndarray, time_s: float) -> float:
        """1 for a detection where the track was expected, falling to 0 at ``reacquire_distance`` face widths;
        0 for a face of another size."""
        p, b = _to_cxcywh(track.predicted(time_s)), _to_cxcywh(box)
        ratio = max(p[2], b[2]) / max(min(p[2], b[2]), 1e-9)
        if ratio > self.size_ratio:
            return 0.0
        distance = float(np.hypot(p[0] - b[0], p[1] - b[1])) / max(p[2], b[2])
        return max(0.0, 1.0 - distance / self.reacquire_distance)

    def confirmed(self, track: TrackState) -> bool:
        return track.hits >= self.confirm_hits

    def finish(self) -> list[TrackState]:
        """End every track (the video is over); return them."""
        ended, self.tracks = self.tracks, []
        return ended
