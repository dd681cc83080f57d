"""FaceAnalyzer: the object users keep and call — detector, aligner and age/gender models behind one call.

    >>> from agegender import FaceAnalyzer
    >>> analyzer = FaceAnalyzer(models=("vgg16", "resnet50"))     # doctest: +SKIP
    >>> result = analyzer.analyze("photo.jpg")                      # doctest: +SKIP
    >>> [(f.box, f.predictions["resnet50"].age) for f in result.faces]  # doctest: +SKIP

The answers are :mod:`agegender.results` objects (their units are stated there).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from agegender.data.images import bgr_to_rgb, load_image
from agegender.errors import ImageError, UserError
from agegender.faces.align import AlignmentTemplate, align_face, default_template
from agegender.faces.detect import FaceDetector, reading_order
from agegender.models.engines import open_engine, predict_faces
from agegender.models.shipped import DEFAULT_MODEL, SHIPPED_MODELS, model_names, shipped_weights_path
from agegender.models.weight_files import read_metadata
from agegender.preprocess import resize_face
from agegender.results import Face, Prediction, Result

MIN_CROP_PX = 16  # the detector's smallest face (--min-face default): a smaller "crop" holds no readable face


class FaceAnalyzer:
    """Detect, align and predict age and gender with one or more models.

    ``models``: names of shipped models ("vgg16", "resnet50"); ``weights``: extra or
    replacement models as ``{name: path to .safetensors or .onnx}``. ``flip_tta`` averages each
    face with its mirror image. ``detector`` defaults to YuNet with its default thresholds.
    ``engine``: "auto" runs ONNX Runtime where a graph is beside the weights (an up-to-date int8
    graph first, then the fp32 one; the shipped models have the fp32 one) and PyTorch otherwise;
    "onnx-int8", "onnx" or "torch" insist. ``threads``: CPU threads
    per model call (default: the engine's own choice). ``min_face`` and ``det_threshold``, for the
    default detector: smallest face side to find, px (default: 16, or 1/150 of a big photo's longer
    side), and detection score threshold (see FaceDetector).
    """

    def __init__(
        self,
        models=(DEFAULT_MODEL,),
        weights: Mapping[str, str | Path] | None = None,
        detector: FaceDetector | None = None,
        device: str = "cpu",
        batch_size: int = 32,
        flip_tta: bool = True,
        engine: str = "auto",
        threads: int | None = None,
        min_face: float | None = None,
        det_threshold: float = 0.6,
    ):
        paths: dict[str, Path] = {}
        if isinstance(models, str):  # "vgg16", "both"
            models = model_names(models)
        for name in models:
            if weights and name in weights:
                continue
            if name not in SHIPPED_MODELS:
                raise UserError(
                    f"unknown model {name!r}: shipped models are {SHIPPED_MODELS}; "
                    f"others need weights={{{name!r}: 'file.safetensors'}}"
                )
            path = shipped_weights_path(name)
            if not path.is_file() and not any(path.parent.glob(path.name + ".part*")):
                raise FileNotFoundError(
                    f"no shipped weights for {name!r} in this installation ({path}); "
                    f"train one with 'agegender train' and pass weights={{{name!r}: path}}"
                )
            paths[name] = path
        paths.update({k: Path(v) for k, v in (weights or {}).items()})
        if not paths:
            raise UserError("no model to run: give at least one model name or weight file")
        self.device = device
        self.models = {}
        self.metadata = {}
        for name, path in paths.items():
            self.models[name] = open_engine(path, engine=engine, device=device, threads=threads)
            self.metadata[name] = (
                read_metadata(path) if path.suffix != ".onnx" else {"config": self.models[name].config}
            )
        self.templates = {name: _template(meta) for name, meta in self.metadata.items()}
        self.detector = detector or FaceDetector(score_threshold=det_threshold, min_face=min_face, device=device)
        self.batch_size, self.flip_tta = batch_size, flip_tta

    @property
    def model_names(self) -> list[str]:
        return list(self.models)

    @property
    def default_model(self) -> str:
        """The model that answers when none is named: the shipped default if loaded, else the first loaded."""
        return DEFAULT_MODEL if DEFAULT_MODEL in self.models else self.model_names[0]

    @property
    def engines(self) -> dict[str, str]:
        """Which engine runs each model: "onnx-int8", "onnx" or "torch"."""
        return {name: m.name for name, m in self.models.items()}

    def analyze(self, source, crops: bool = False, keep_image: bool = False, models=None, bgr: bool = False) -> Result:
        """Find every face in ``source`` and predict with every model (or the named ``models``).

        ``source``: a path, encoded bytes, a PIL image, or a numpy array (H, W, 3) uint8 in **RGB**
        order; ``bgr=True`` takes an array in OpenCV's BGR order (``cv2.imread``, ``VideoCapture``).
        ``crops=True`` treats the image as one already-aligned face crop (no detection).
        Raises :class:`agegender.errors.ImageError` for unreadable input.
        """
        names = self._model_names(models)
        located = self._locate(bgr_to_rgb(source) if bgr else source, crops, keep_image, names)
        self._predict([located], names)
        return located

    def analyze_many(
        self,
        sources,
        crops: bool = False,
        keep_image: bool = False,
        models=None,
        workers: int = 2,
        batch_faces: int = 64,
        bgr: bool = False,
    ):
        """Analyse many images; yield ``(source, Result)`` — or ``(source, ImageError)`` for an
        unreadable one — in input order. Sources and ``bgr`` as for :meth:`analyze`.

        Decoding, detection and alignment run in ``workers`` threads (OpenCV and ONNX Runtime
        release the GIL) while the faces of consecutive images are gathered into batches of about
        ``batch_faces`` for the networks. At most ``4 x workers`` images are read ahead, so memory
        stays bounded however many sources there are.
        """
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        names = self._model_names(models)

        def locate(source):
            try:
                return self._locate(bgr_to_rgb(source) if bgr else source, crops, keep_image, names)
            except ImageError as exc:
                return exc

        with ThreadPoolExecutor(max(1, workers), thread_name_prefix="agegender-read") as pool:
            todo = iter(sources)
            window: deque = deque()

            def read_ahead():
                while len(window) < 4 * max(1, workers):
                    source = next(todo, _END)
                    if source is _END:
                        return
                    window.append((source, pool.submit(locate, source)))

            def predicted(batch):
                self._predict([o for _, o in batch if isinstance(o, Result)], names)
                return batch

            read_ahead()
            pending: list = []
            n_faces = 0
            while window:
                source, future = window.popleft()
                try:
                    read_ahead()
                    outcome = future.result()
                except BaseException:  # interrupted or failed: hand out the images already done, then stop
                    yield from predicted(pending)
                    raise
                pending.append((source, outcome))
                if isinstance(outcome, Result):
                    n_faces += len(outcome.faces)
                if n_faces >= batch_faces or not window:
                    yield from predicted(pending)
                    pending, n_faces = [], 0

    def analyze_video(self, source, models=None, frames: bool = False, **options):
        """Analyse a video file (path), a camera (int index) or a stream (rtsp/http URL), one frame at a time.

        Returns a :class:`agegender.video.analyze.VideoAnalysis`: iterate over it for one
        :class:`~agegender.video.analyze.Track` per person (fused age and gender, times, best box)
        as each person leaves the picture, and, with ``frames=True``, a ``VideoFrame`` per analysed
        frame. ``options`` are :class:`~agegender.video.analyze.VideoOptions` fields, e.g.
        ``stride=2``. Raises :class:`agegender.errors.VideoError` for a source that cannot be read.

            >>> for track in analyzer.analyze_video("clip.mp4"):       # doctest: +SKIP
            ...     print(track.id, track.start_s, track.predictions["resnet50"].age)
        """
        from agegender.video.analyze import VideoAnalysis, VideoOptions

        return VideoAnalysis(self, source, VideoOptions(**options), models=models, frames=frames)

    def _model_names(self, models) -> list[str]:
        names = list(models) if models is not None else self.model_names
        unknown = [m for m in names if m not in self.models]
        if unknown:
            raise UserError(f"model(s) {unknown} not loaded; loaded: {self.model_names}")
        return names

    def _locate(self, source, crops: bool, keep_image: bool, names: list[str]) -> Result:
        """Decode, detect and align for the models ``names``: a Result whose faces have no predictions yet
        (aligned crops kept aside)."""
        t0 = time.perf_counter()
        notes: list[str] = []
        image, name = load_image(source, notes)
        h, w = image.shape[:2]
        speed = {"load": (time.perf_counter() - t0) * 1000}
        if crops:
            if min(h, w) < MIN_CROP_PX:
                raise ImageError(
                    f"{name}: a {w}x{h} image is too small to be a face crop (at least {MIN_CROP_PX} px a side)"
                )
            faces = [Face(box=(0.0, 0.0, float(w), float(h)))]
            aligned = {model: [image] for model in names}
            speed["detect"] = 0.0
        else:
            t = time.perf_counter()
            detections = reading_order(self.detector.detect(image))
            speed["detect"] = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            faces = [
                Face(
                    box=tuple(round(v, 1) for v in d.box),
                    det_score=d.score,
                    landmarks=np.round(d.landmarks, 1).tolist(),
                )
                for d in detections
            ]
            aligned = self.align_all(image, [d.landmarks for d in detections], names)
            speed["align"] = (time.perf_counter() - t) * 1000
        result = Result(
            source=name, width=w, height=h, faces=faces, speed=speed, notes=notes, image=image if keep_image else None
        )
        result._aligned = aligned
        return result

    def align(self, image: np.ndarray, landmarks, model: str | None = None) -> np.ndarray:
        """The face at ``landmarks`` (5, 2) of an RGB ``image``, aligned as ``model`` (default: the default
        model) was trained: its template's crop, at the template's size (the engine resizes it once)."""
        template = self.templates[model or self.default_model]
        return align_face(image, np.asarray(landmarks, np.float32), template, template.crop_size)

    def align_all(
        self, image: np.ndarray, landmarks: list, names: list[str] | None = None
    ) -> dict[str, list[np.ndarray]]:
        """{model: its aligned faces} for the models ``names`` (default: every loaded one), each template's
        warp done once."""
        by_template: dict[AlignmentTemplate, list[np.ndarray]] = {}
        out: dict[str, list[np.ndarray]] = {}
        for name in names if names is not None else self.model_names:
            tpl = self.templates[name]
            if tpl not in by_template:
                by_template[tpl] = [
                    align_face(image, np.asarray(lm, np.float32), tpl, tpl.crop_size) for lm in landmarks
                ]
            out[name] = by_template[tpl]
        return out

    def predict_aligned(self, aligned: list[np.ndarray], model: str) -> list[Prediction]:
        """One model's answers for faces aligned with its template (see :meth:`align`), in one batched call."""
        if not aligned:
            return []
        engine = self.models[model]
        batch = np.stack([resize_face(a, engine.input_size) for a in aligned])  # crops come in any size
        pred = predict_faces(engine, batch, batch_size=self.batch_size, flip_tta=self.flip_tta)
        out = []
        for i in range(len(aligned)):
            p = Prediction()
            if "age" in pred:
                p.age = round(float(pred["age"][i]), 2)
            if "age_std" in pred:
                p.age_std = round(float(pred["age_std"][i]), 2)
            if "p_female" in pred:
                p.p_female = round(float(pred["p_female"][i]), 4)
                p.gender = "female" if p.p_female >= 0.5 else "male"
            out.append(p)
        return out

    def _predict(self, results: list[Result], names) -> None:
        """Run each model once over the faces of all ``results``; each image is charged its share of the time."""
        faces = [f for r in results for f in r.faces]
        for name in names:
            t = time.perf_counter()
            aligned = [a for r in results for a in r._aligned[name]]
            for face, p in zip(faces, self.predict_aligned(aligned, name)):
                face.predictions[name] = p
            elapsed = (time.perf_counter() - t) * 1000
            for r in results:
                r.speed[name] = elapsed * len(r.faces) / len(faces) if faces else 0.0
        for r in results:
            r._aligned = {}


def _template(meta: dict) -> AlignmentTemplate:
    """The alignment a model was trained with (its weight file's), or the default one."""
    tpl = meta.get("alignment_template")
    return AlignmentTemplate.from_dict(tpl) if isinstance(tpl, dict) else default_template()


_END = object()
