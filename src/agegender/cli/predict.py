"""``agegender predict``: photos, videos, folders, streams and cameras from the command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from agegender.cli.options import WEIGHTS_HELP, add_engine_options, add_min_face_option, models_to_load
from agegender.cli.output import RowWriter, output_file
from agegender.errors import UserError
from agegender.models.shipped import BOTH, DEFAULT_MODEL, SHIPPED_MODELS


def add_predict(sub):
    p = sub.add_parser(
        "predict",
        help="age and gender of every face in images, videos, streams or folders",
        description="Analyse images and videos (folders recurse), streams and cameras. For a video, "
        "faces are tracked and each person gets one answer (one row per person and "
        "model), written as the person leaves the picture. Unreadable files are named "
        "on stderr and skipped; the exit code is non-zero only if nothing could be read.",
    )
    p.add_argument("paths", nargs="*", help="image or video files, folders, or stream URLs (rtsp://, http://, ...)")
    p.add_argument(
        "--camera",
        type=int,
        action="append",
        default=[],
        metavar="INDEX",
        help="analyse a live camera (0: the first); runs until Ctrl-C, which writes the people seen",
    )
    p.add_argument(
        "--model",
        default=None,
        help=f"which network answers: {', '.join(SHIPPED_MODELS)} or {BOTH} (one row per face and "
        f"model, side by side). Default {DEFAULT_MODEL}, the more accurate; with --weights only, "
        "those weights",
    )
    p.add_argument("--weights", action="append", default=[], metavar="NAME=FILE", help=WEIGHTS_HELP)
    p.add_argument("--crops", action="store_true", help="inputs are already aligned face crops: no detection")
    p.add_argument(
        "--format",
        choices=["table", "json", "jsonl", "csv"],
        default="table",
        help="table (default, for reading), csv (one row per face and model; for a video one per "
        "person and model), json (an array of one object per image, or per person of a video, with "
        "boxes, landmarks and timings) or jsonl (the same objects, one per line); rows are written "
        "as images finish and as people leave a video",
    )
    p.add_argument("-o", "--output", help="write results to this file instead of stdout")
    p.add_argument(
        "--stride", type=int, default=1, metavar="N", help="videos: analyse every Nth frame (default 1: every frame)"
    )
    p.add_argument(
        "--per-frame",
        action="store_true",
        help="videos: also write a row for every face of every analysed frame (kind 'frame'), with "
        "its track's answer so far",
    )
    p.add_argument("--thumbnails", metavar="OUTDIR", help="videos: save each person's best face here")
    p.add_argument(
        "--annotate",
        metavar="OUTDIR",
        help="write each image (and video) with boxes and labels here; videos get track ids and "
        "each person's fused answer (MP4: H.264 where OpenCV has it, else MPEG-4 Part 2)",
    )
    p.add_argument("--no-flip-tta", action="store_true", help="do not average with the mirrored face (faster)")
    add_engine_options(p)
    add_min_face_option(p)
    p.add_argument("--det-threshold", type=float, default=0.6, help="detector score threshold (default 0.6)")
    p.add_argument(
        "--workers", type=int, default=2, help="threads that decode and detect while the networks run (default 2)"
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="run on Ray Data: 'auto' (the running cluster), an address, or nothing (a local instance); "
        "CSV output only; needs pip install 'agegender[ray]' and photos every worker can read",
    )
    p.add_argument("--ray-workers", type=int, default=2, help="with --ray: analyzer workers (default 2)")
    p.set_defaults(handler=run_predict)


def expand_paths(paths, left_out: list[str] | None = None) -> tuple[list[Path], list[Path]]:
    """(files to read, files ignored): files as given (a missing one is kept so it is reported), folders
    recursed (sorted) for image and video files only, by extension, so that an archive or a document beside
    the photos is never opened; each file's signature and size are then checked before it is decoded.

    What a folder holds that is not read is said in ``left_out`` ("PATH: why"): folders that cannot be
    listed, links to folders (not followed: no loops), broken links, FIFOs and other special files.
    """
    from agegender.data.images import IMAGE_SUFFIXES
    from agegender.video.source import VIDEO_SUFFIXES

    left_out = left_out if left_out is not None else []

    def unreadable(exc: OSError) -> None:
        left_out.append(f"{exc.filename}: cannot be listed ({exc.strerror})")

    out: list[Path] = []
    ignored: list[Path] = []
    for p in map(Path, paths):
        if not p.is_dir():
            out.append(p)
            continue
        found = []
        for folder, dirs, files in os.walk(p, onerror=unreadable):
            for d in dirs:
                if os.path.islink(os.path.join(folder, d)):
                    left_out.append(f"{os.path.join(folder, d)}: a link to a folder (not followed)")
            for f in files:
                q = Path(folder) / f
                if q.is_file():
                    found.append(q)
                else:
                    left_out.append(
                        f"{q}: "
                        + (
                            "a broken link"
                            if q.is_symlink() and not q.exists()
                            else "not a regular file (a FIFO, device or socket)"
                        )
                    )
        for q in sorted(found):
            (out if q.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES else ignored).append(q)
    return out, ignored


def run_predict(args) -> int:
    from tqdm import tqdm

    from agegender.cli.video import run_video
    from agegender.errors import ImageError, VideoError
    from agegender.inference import FaceAnalyzer
    from agegender.video.rows import photo_rows
    from agegender.video.source import describe, is_stream_url, is_video_file

    names, extra = models_to_load(args.model, args.weights)
    if args.stride < 1:
        raise UserError(f"--stride must be at least 1, not {args.stride}")
    if args.ray and (args.format != "csv" or args.annotate or args.crops):
        raise UserError("--ray writes CSV rows: use it with --format csv, without --annotate or --crops")
    if not args.paths and not args.camera:
        raise UserError("nothing to analyse: give image or video files, folders, stream URLs or --camera N")
    streams = [p for p in args.paths if is_stream_url(p)]
    left_out: list[str] = []
    files, ignored = expand_paths([p for p in args.paths if not is_stream_url(p)], left_out)
    for line in left_out:
        print(f"left out: {line}", file=sys.stderr)
    if ignored:
        print(
            f"ignored {len(ignored)} file(s) in the folder(s) that are not images or videos by their extension "
            f"(e.g. {ignored[0]}); name a file on the command line to try it anyway",
            file=sys.stderr,
        )
    present = [f.is_file() for f in files]
    missing = [f for f, ok in zip(files, present) if not ok]
    for f in missing:  # said before the models load (seconds), not after; a FIFO is never opened (it could hang)
        print(
            f"skipped: {f}: " + ("not a regular file (a FIFO, device or socket)" if f.exists() else "file not found"),
            file=sys.stderr,
        )
    files = [f for f, ok in zip(files, present) if ok]
    is_video = [is_video_file(f) for f in files]  # by signature, whatever the name says
    videos = [f for f, v in zip(files, is_video) if v]
    files = [f for f, v in zip(files, is_video) if not v]
    live = [*streams, *args.camera]
    if not files and not videos and not live:
        print("agegender predict: no image or video files found in " + ", ".join(args.paths), file=sys.stderr)
        return 1
    if args.ray and live:
        raise UserError("--ray takes files: analyse cameras and streams without --ray")
    if args.crops and (videos or live):
        raise UserError("--crops is for photos of single aligned faces, not for videos")
    annotate = Path(args.annotate) if args.annotate else None
    if annotate:
        annotate.mkdir(parents=True, exist_ok=True)
    # Opened before any work, so that a bad path fails at once; rows are written as images finish, to a
    # file beside the target that takes its name when the run ends (see output_file).
    with output_file(args.output) as out:
        options = {
            "models": names,
            "weights": extra or None,
            "flip_tta": not args.no_flip_tta,
            "engine": args.engine,
            "device": args.device,
            "threads": args.threads or None,
            "min_face": args.min_face,
            "det_threshold": args.det_threshold,
        }
        if args.ray:  # each Ray worker builds its own analyzer from the same options
            return _predict_on_ray(args, files, videos, options, out, len(missing))
        analyzer = FaceAnalyzer(**options)
        n_read = n_faces = n_people = n_videos = 0
        bad = len(missing)
        annotated_names: set[str] = set()
        roots = [Path(p) for p in args.paths if Path(p).is_dir()]
        thumbnails = Path(args.thumbnails) if args.thumbnails else None
        # Videos' rows have their own layout; photos in the same run are written in it too.
        video_layout = bool(videos or live)
        with RowWriter(out, args.format, video=video_layout) as writer:
            interrupted = False
            try:
                stream = analyzer.analyze_many(
                    files, crops=args.crops, keep_image=annotate is not None, workers=args.workers
                )
                for path, result in tqdm(
                    stream, total=len(files), desc="images", unit="img", disable=len(files) < 10, file=sys.stderr
                ):
                    if isinstance(result, ImageError):
                        print(f"skipped: {result}", file=sys.stderr)
                        bad += 1
                        continue
                    n_read += 1
                    n_faces += len(result.faces)
                    for note in result.notes:
                        print(f"note: {path}: {note}", file=sys.stderr)
                    loaded = analyzer.model_names
                    rows = photo_rows(str(path), result, loaded) if video_layout else result.rows(str(path), loaded)
                    writer.add(rows, result.to_dict())
                    if annotate:
                        _save_annotated(result, annotate, path, annotated_names, roots)
                for source in [*videos, *live]:
                    try:
                        n_people += run_video(analyzer, source, describe(source), args, writer, annotate, thumbnails)
                        n_videos += 1
                    except VideoError as exc:
                        print(f"skipped: {exc}", file=sys.stderr)
                        bad += 1
            except KeyboardInterrupt:  # the rows so far are written and counted below; then exit 130
                interrupted = True
        more = f", {len(ignored)} other file(s) ignored" if ignored else ""
        if annotate:
            more += f"; annotated {'output' if video_layout else 'images'} in {annotate}"
        if interrupted:
            print("interrupted: what was done is below, and its rows are written", file=sys.stderr)
        if video_layout:
            images = f"{n_read} image(s) read, {n_faces} face(s) found, " if files else ""
            print(
                f"{images}{n_videos} video(s) or stream(s) read, {n_people} person(s) tracked, {bad} file(s) "
                f"skipped{more}",
                file=sys.stderr,
            )
            code = 0 if n_read or n_videos else 1
        else:
            code = _summary(n_read, n_faces, bad, more)
        if interrupted:
            raise KeyboardInterrupt
        return code


def _summary(n_read: int, n_faces: int, bad: int, more: str = "", anything: bool = False) -> int:
    """Say what a run did on stderr; the exit status: 0 if any image (or, with ``anything``, video) was read."""
    print(f"{n_read} image(s) read, {n_faces} face(s) found, {bad} file(s) skipped{more}", file=sys.stderr)
    return 0 if n_read or anything else 1


def _predict_on_ray(args, files, videos, options: dict, out, bad: int) -> int:
    """predict's rows computed by Ray workers (agegender.ray_predict), written as batches and videos finish."""
    from agegender.ray_predict import RayPlan, predict_rows, predict_video_rows
    from agegender.video.rows import as_photo_row

    weights = {k: str(Path(v).resolve()) for k, v in (options["weights"] or {}).items()} or None  # workers' own cwd
    plan = RayPlan(
        address=None if args.ray == "local" else args.ray,
        workers=args.ray_workers,
        analyzer_options={**options, "weights": weights},
        quiet=not getattr(args, "verbose", False),
    )
    read, faces = set(), set()
    people = n_videos = 0
    with RowWriter(out, "csv", video=bool(videos)) as writer:
        for row, error in predict_rows(files, plan) if files else ():
            if error:
                print(f"skipped: {error}", file=sys.stderr)
                bad += 1
                continue
            read.add(row["path"])
            if row["face"] != "":
                faces.add((row["path"], row["face"]))
            writer.add([as_photo_row(row) if videos else row], {})
        for shown, rows, error, notes in predict_video_rows(videos, plan, args.stride) if videos else ():
            if error:
                print(f"skipped: {error}", file=sys.stderr)
                bad += 1
                continue
            for note in notes:
                print(f"note: {shown}: {note}", file=sys.stderr)
            n_videos += 1
            people += len({r["track"] for r in rows})
            writer.add(rows, {})
    more = f"; {n_videos} video(s) read, {people} person(s) tracked" if videos else ""
    return _summary(len(read), len(faces), bad, more + f" (on Ray, {args.ray_workers} workers)", anything=n_videos > 0)


def _save_annotated(result, outdir: Path, path: Path, taken: set[str], roots: list[Path]) -> None:
    """Write ``REL/STEM.annotated.jpg``, REL being the image's folder relative to the folder given on the
    command line (the input tree is kept); when an earlier image of this run took that name (x.bmp and
    x.tiff), ``STEM.EXT.annotated.jpg`` or ``STEM-N.annotated.jpg``, said on stderr. Never overwrites."""
    from PIL import Image

    # one folder given: its tree; several: each under its own name, so that a/x.jpg and b/x.jpg stay apart
    rel = next(
        (
            (path.parent.relative_to(r) if len(roots) == 1 else Path(r.resolve().name) / path.parent.relative_to(r))
            for r in roots
            if path.is_relative_to(r)
        ),
        Path(),
    )
    candidates = [f"{path.stem}.annotated.jpg", f"{path.name}.annotated.jpg"]
    candidates += [f"{path.stem}-{n}.annotated.jpg" for n in range(2, len(taken) + 3)]
    name = next(str(rel / c) for c in candidates if str(rel / c) not in taken)
    taken.add(name)
    if name != str(rel / candidates[0]):
        print(
            f"note: {path} annotated as {name} ({rel / candidates[0]} was taken by an earlier image)", file=sys.stderr
        )
    (outdir / name).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(result.plot()).save(outdir / name, quality=92)
