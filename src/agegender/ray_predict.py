"""Past one machine: `agegender predict --ray` analyses photos and videos on a Ray cluster (or a local Ray instance).

Ray Data reads the list of photo paths, and :class:`AnalyzerBatches` (a ``map_batches`` class: one
FaceAnalyzer per Ray worker, loaded once) turns each batch of paths into the same CSV rows the
single-process ``predict`` writes. Each video is one Ray task (:func:`analyse_video`) that returns
its people's rows. The driver streams those rows to the output as batches and videos finish,
so memory stays bounded whatever the number of photos. Needs the ``ray`` extra:
``pip install 'agegender[ray]'``. Photos must be readable at the same path by every worker
(a shared file system on a cluster).

    ray start --head            # or none: a local instance is started
    agegender predict /data/photos --ray auto --ray-workers 8 --format csv -o faces.csv
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from agegender.errors import UserError
from agegender.runtime import require

ERROR_COLUMN = "error"


@dataclass
class RayPlan:
    """How a Ray run is laid out: where the cluster is, how many workers, how many photos per batch."""

    address: str | None = None  # None: start a local instance; "auto": the running cluster
    workers: int = 2
    batch_size: int = 16
    cpus_per_worker: float = 1.0
    analyzer_options: dict = field(default_factory=dict)  # FaceAnalyzer keyword arguments
    quiet: bool = True  # keep Ray's own banners and core log lines off the screen (predict -v shows them)


class AnalyzerBatches:
    """``map_batches`` callable: {"path": [...], "shown": [...]} -> the CSV rows of those photos, each
    named as the user gave it (``shown``); an ``error`` column carries the message of a photo that
    could not be read, for the driver to report."""

    def __init__(self, analyzer_options: dict):
        from agegender.inference import FaceAnalyzer

        self.analyzer = FaceAnalyzer(**analyzer_options)

    def __call__(self, batch: dict) -> dict:
        from agegender.errors import ImageError
        from agegender.results import CSV_COLUMNS

        paths, shown = [str(p) for p in batch["path"]], [str(s) for s in batch["shown"]]
        rows = []
        # analyze_many, as the single-process predict: faces of the batch's photos go through the networks together.
        for path, name, (_, result) in zip(paths, shown, self.analyzer.analyze_many(paths, workers=1)):
            if isinstance(result, ImageError):
                rows.append(
                    {**dict.fromkeys(CSV_COLUMNS, ""), "path": name, ERROR_COLUMN: str(result).replace(path, name)}
                )
                continue
            rows += [
                {**{k: str(v) for k, v in r.items()}, ERROR_COLUMN: ""}
                for r in result.rows(name, self.analyzer.model_names)
            ]
        return {k: [r[k] for r in rows] for k in [*CSV_COLUMNS, ERROR_COLUMN]}


def _start(plan: RayPlan):
    import contextlib
    import io
    import os

    from agegender.runtime import quiet_native_stderr

    if plan.quiet:
        # Ray's core (C++) logs notes meant for Ray's developers at error level (e.g. on actor restarts);
        # the run's own problems still reach the user as exceptions and as predict's lines.
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    ray = require("ray", "ray", "agegender predict --ray")
    require("ray.data", "ray", "agegender predict --ray")
    if not ray.is_initialized():
        # ray.init's banners (token authentication of a local instance) go to the screen only with -v
        quiet = (
            (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
                quiet_native_stderr(),
            )
            if plan.quiet
            else ()
        )
        try:
            with contextlib.ExitStack() as stack:
                for q in quiet:
                    stack.enter_context(q)
                ray.init(
                    address=plan.address,
                    num_cpus=None if plan.address else max(1, int(plan.workers * plan.cpus_per_worker)),
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
        except ConnectionError:
            raise UserError(
                f"no Ray cluster found at {plan.address!r}: start one with 'ray start --head' (then "
                f"--ray auto), or give --ray alone to start a local instance for this run"
            ) from None
    return ray


def analyse_video(path: str, shown: str, analyzer_options: dict, stride: int) -> tuple[list[dict], str, list[str]]:
    """One video in one Ray task: (its track rows, an error message or "", notes), the video named as given."""
    from agegender.errors import VideoError
    from agegender.inference import FaceAnalyzer
    from agegender.video.rows import track_rows

    analyzer = FaceAnalyzer(**analyzer_options)
    try:
        analysis = analyzer.analyze_video(path, stride=stride)
        rows = [
            {k: str(v) for k, v in r.items()}
            for track in analysis
            for r in track_rows(shown, track, analyzer.model_names)
        ]
    except VideoError as exc:
        return [], str(exc).replace(path, shown), []
    return rows, "", list(analysis.notes)


def predict_video_rows(paths: list[Path], plan: RayPlan, stride: int = 1):
    """Yield (shown path, track rows, error, notes) for each video, one Ray task per file, as tasks finish."""
    ray = _start(plan)
    task = ray.remote(num_cpus=plan.cpus_per_worker)(analyse_video)
    pending = {task.remote(str(Path(p).resolve()), str(p), plan.analyzer_options, stride): str(p) for p in paths}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        shown = pending.pop(done[0])
        rows, error, notes = ray.get(done[0])
        yield shown, rows, error, notes


def predict_rows(paths: list[Path], plan: RayPlan):
    """Yield (row, error) for every photo's CSV rows, as Ray batches finish (any order). Workers read each
    photo by its absolute path; rows name it as given."""
    ray = _start(plan)
    # The CLI reports its own summary and every skipped photo: Ray Data's execution banners and
    # progress lines (several per second) would bury them on stderr. Its errors still show.
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    items = [{"path": str(Path(p).resolve()), "shown": str(p)} for p in paths]
    blocks = max(1, min(len(items), plan.workers * 4))
    ds = ray.data.from_items(items, override_num_blocks=blocks)
    # no more workers than blocks (a few photos): Ray Data warns of idle actors otherwise
    ds = ds.map_batches(
        AnalyzerBatches,
        fn_constructor_kwargs={"analyzer_options": plan.analyzer_options},
        batch_size=plan.batch_size,
        compute=ray.data.ActorPoolStrategy(size=min(plan.workers, blocks)),
        num_cpus=plan.cpus_per_worker,
        batch_format="numpy",
    )
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        columns = list(batch)
        for i in range(len(batch[ERROR_COLUMN])):
            row = {k: str(batch[k][i]) for k in columns if k != ERROR_COLUMN}
            yield row, str(batch[ERROR_COLUMN][i])
