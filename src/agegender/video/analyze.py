"""Age and gender of every person in a video: detect every frame, track faces, fuse each track.

:class:`VideoAnalysis` reads frames one at a time (:mod:`agegender.video.source`), detects
faces in each with the analyzer's detector, gives each face a track id
(:mod:`agegender.video.tracking`) and runs the age and gender networks on a sample of each
track's faces only: every frame until the track's answer is settled, then about once every
``resample_s`` seconds or when the face is seen much larger than before. So the networks'
cost grows with the number of people, not of frames. Each track's answers are fused
(:mod:`agegender.video.fusion`) and a :class:`Track` is handed out as soon as the person has
left the picture for ``max_lost_s``, or the video ends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from agegender.faces.detect import reading_order
from agegender.results import Face, Prediction
from agegender.video.fusion import FusedPrediction, frame_weight
from agegender.video.source import VideoReader
from agegender.video.tracking import FaceTracker

THUMBNAIL_PX = 112


@dataclass
class VideoOptions:
    """How a video is analysed (defaults in one place; the CLI's options map onto these)."""

    stride: int = 1  # analyse every Nth frame
    every_frame: bool = False  # run the networks on every face of every analysed frame (no sampling)
    settle_frames: int = 5  # a track's answer is settled after this many predicted frames ...
    settle_std: float = 1.0  # ... whose ages agree to this standard error (years)
    resample_s: float = 1.0  # once settled, predict a track again after this long
    regrow: float = 1.25  # ... or when its face is this much larger than any predicted so far
    max_lost_s: float = 2.0  # a person unseen this long has left: the track ends
    thumbnails: bool = False  # keep each track's best face as an image (Track.thumbnail)
    keep_images: bool = False  # keep each frame's image (VideoFrame.image), e.g. to draw on
    reconnect_s: float = 10.0  # cameras and streams: how long to try reopening one that stopped

    def __post_init__(self):
        from agegender.errors import UserError

        if self.stride < 1:
            raise UserError(f"stride must be at least 1, not {self.stride}")
        if self.max_lost_s < 0 or self.resample_s <= 0:
            raise UserError("max_lost_s must be >= 0 and resample_s > 0")


@dataclass
class Track:
    """One person: when they were seen, their best (largest, clearest) frame, and the fused answers.

    ``frames``: analysed frames the face was detected in; ``predicted_frames``: of those, the ones
    the networks ran on. ``box``/``det_score``/``best_frame`` describe the best frame. Each
    prediction's ``age_std`` is the spread of the fused age (shrinks as frames accumulate).
    """

    id: int
    source: str
    start_s: float
    end_s: float
    frames: int
    predicted_frames: int
    best_frame: int
    box: tuple[float, float, float, float]
    det_score: float | None
    predictions: dict[str, Prediction]
    thumbnail: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "track": self.id,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "frames": self.frames,
            "predicted_frames": self.predicted_frames,
            "best_frame": self.best_frame,
            "box": [round(v, 1) for v in self.box],
            "det_score": None if self.det_score is None else round(self.det_score, 4),
            "predictions": {k: v.to_dict() for k, v in self.predictions.items()},
        }


@dataclass
class VideoFrame:
    """One analysed frame: its faces with their track ids and each track's fused answer so far.

    ``sampled``: per track id, this frame's own predictions, where the networks ran on it.
    """

    source: str
    index: int
    time_s: float
    faces: list[Face]
    sampled: dict[int, dict[str, Prediction]] = field(default_factory=dict)
    image: np.ndarray | None = field(default=None, repr=False)


@dataclass
class _Person:
    """What the answers need to know of one track while it runs (when and how often it was seen is the
    tracker's own state, TrackState)."""

    id: int
    fused: dict[str, FusedPrediction]
    predicted_frames: int = 0
    last_predicted_s: float = -1e9
    largest_predicted: float = 0.0
    best_quality: float = -1.0
    best_frame: int = 0
    best_box: tuple = (0.0, 0.0, 0.0, 0.0)
    best_score: float | None = None
    thumbnail: np.ndarray | None = None

    def settled(self, options: VideoOptions) -> bool:
        return all(f.settled(options.settle_frames, options.settle_std) for f in self.fused.values())


class TrackedFaces:
    """The per-frame work, fed one frame at a time (by :class:`VideoAnalysis`, or a live connection of the
    web app): detect, track, run the networks on the faces that need it, fuse, hand out ended tracks."""

    def __init__(self, analyzer, names, options: VideoOptions, source: str = ""):
        self.analyzer, self.names, self.options, self.source = analyzer, list(names), options, source
        self.tracker = FaceTracker(max_lost_s=options.max_lost_s)
        self._people: dict[int, _Person] = {}
        self._finished = False

    def process(self, image: np.ndarray, index: int, time_s: float) -> tuple[VideoFrame, list[Track]]:
        """One RGB frame: (the frame's faces with their track ids and answers so far, the tracks that ended)."""
        detections = reading_order(self.analyzer.detector.detect(image))
        ids, ended = self.tracker.update(np.array([d.box for d in detections]).reshape(-1, 4), time_s)
        faces, todo = [], []
        for det, track_id in zip(detections, ids):
            person = self._people.get(track_id)
            if person is None:
                person = self._people[track_id] = _Person(track_id, {n: FusedPrediction() for n in self.names})
            weight = frame_weight(det.box, det.score)
            x1, y1, x2, y2 = (round(float(v), 1) for v in det.box)
            face = Face(
                box=(x1, y1, x2, y2),
                det_score=round(det.score, 4),
                landmarks=np.round(det.landmarks, 1).tolist(),
                track_id=track_id,
            )
            if weight > person.best_quality:
                person.best_quality, person.best_frame = weight, index
                person.best_box, person.best_score = face.box, face.det_score
                if self.options.thumbnails:
                    person.thumbnail = _thumbnail(image, det.box)
            faces.append(face)
            if self._wants_prediction(person, det, time_s):
                todo.append((person, det, weight))
        sampled: dict[int, dict[str, Prediction]] = {}
        if todo:
            aligned = self.analyzer.align_all(image, [det.landmarks for _, det, _ in todo], self.names)
            for name in self.names:
                for (person, _, weight), p in zip(todo, self.analyzer.predict_aligned(aligned[name], name)):
                    person.fused[name].add(p, weight)
                    sampled.setdefault(person.id, {})[name] = p
            for person, det, _ in todo:
                person.predicted_frames += 1
                person.last_predicted_s = time_s
                person.largest_predicted = max(person.largest_predicted, det.size)
        for face in faces:
            assert face.track_id is not None  # every face here was given its track above
            person = self._people[face.track_id]
            if person.predicted_frames:
                face.predictions = {name: f.prediction() for name, f in person.fused.items()}
        frame = VideoFrame(self.source, index, time_s, faces, sampled, image if self.options.keep_images else None)
        return frame, self._tracks(ended)

    def settled(self, track_id: int) -> bool:
        """Whether a running track's answer has settled (more frames would change it little)."""
        person = self._people.get(track_id)
        return bool(person and person.predicted_frames and person.settled(self.options))

    def finish(self) -> list[Track]:
        """End every open track and return the ones that count (seen twice or more, with an answer)."""
        if self._finished:
            return []
        self._finished = True
        return self._tracks(self.tracker.finish())

    def _tracks(self, ended) -> list[Track]:
        out = []
        for state in ended:
            person = self._people.pop(state.id, None)
            if person is None or not self.tracker.confirmed(state) or not person.predicted_frames:
                continue
            out.append(
                Track(
                    person.id,
                    self.source,
                    state.first_time,
                    state.last_time,
                    state.hits,
                    person.predicted_frames,
                    person.best_frame,
                    person.best_box,
                    person.best_score,
                    {name: f.prediction() for name, f in person.fused.items()},
                    person.thumbnail,
                )
            )
        return out

    def _wants_prediction(self, person: _Person, det, time_s: float) -> bool:
        o = self.options
        if o.every_frame or not person.predicted_frames or not person.settled(o):
            return True
        return time_s - person.last_predicted_s >= o.resample_s or det.size >= o.regrow * person.largest_predicted


class VideoAnalysis:
    """Iterate over it to analyse a video, camera or stream: it yields :class:`Track` objects as
    people leave (and at the end), and, with ``frames=True``, a :class:`VideoFrame` for every
    analysed frame (before the tracks that end at it). After an interruption, :meth:`finish`
    returns the tracks still open, fused from the frames seen so far.

    Usually made by :meth:`agegender.inference.FaceAnalyzer.analyze_video`.
    """

    def __init__(self, analyzer, source, options: VideoOptions | None = None, models=None, frames: bool = False):
        self.options = options or VideoOptions()
        self.frames = frames
        self.reader = VideoReader(source, stride=self.options.stride, reconnect_s=self.options.reconnect_s)
        self.info = self.reader.info
        self.tracked = TrackedFaces(analyzer, analyzer._model_names(models), self.options, self.info.name)
        self.frames_analysed = 0
        self.seconds = 0.0  # time spent analysing (decoding included)

    @property
    def notes(self) -> list[str]:
        return self.info.notes

    def __iter__(self):
        t0 = time.perf_counter()
        for frame in self.reader:
            analysed, ended = self.tracked.process(frame.image, frame.index, frame.time_s)
            self.frames_analysed += 1
            self.seconds = time.perf_counter() - t0
            if self.frames:
                yield analysed
            yield from ended
            t0 = time.perf_counter() - self.seconds  # time spent by the caller is not the analysis'
        yield from self.finish()

    def finish(self) -> list[Track]:
        """End every open track and return the ones that count (seen twice or more, with an answer)."""
        self.reader.close()
        return self.tracked.finish()


def _thumbnail(image: np.ndarray, box) -> np.ndarray:
    """The face with a margin of a quarter of its size, at most THUMBNAIL_PX a side."""
    x1, y1, x2, y2 = box
    m = 0.25 * max(x2 - x1, y2 - y1)
    h, w = image.shape[:2]
    crop = image[max(0, int(y1 - m)) : min(h, int(y2 + m)), max(0, int(x1 - m)) : min(w, int(x2 + m))]
    scale = THUMBNAIL_PX / max(crop.shape[:2])
    if scale < 1:
        crop = cv2.resize(
            crop,
            (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
            interpolation=cv2.INTER_AREA,
        )
    return np.ascontiguousarray(crop)
