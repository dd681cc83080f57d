"""``agegender predict`` and ``agegender serve``: the analyzer from the command line."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
from pathlib import Path

from agegender.errors import UserError
from agegender.models.shipped import BOTH, DEFAULT_MODEL, SHIPPED_MODELS, model_names

WEIGHTS_HELP = ("load your own weights under NAME (repeatable), e.g. mine=runs/r50/best.safetensors; with --model "
                "left at its default only these are loaded, and a shipped model named with --model is loaded beside them")
CSV_COLUMNS = ["path", "face", "x1", "y1", "x2", "y2", "det_score", "model", "age", "gender", "p_female"]


def add_predict(sub):
    p = sub.add_parser("predict", help="age and gender of every face in images, videos, streams or folders",
                       description="Analyse images and videos (folders recurse), streams and cameras. For a video, "
                                   "faces are tracked and each person gets one answer (one row per person and "
                                   "model), written as the person leaves the picture. Unreadable files are named "
                                   "on stderr and skipped; the exit code is non-zero only if nothing could be read.")
    p.add_argument("paths", nargs="*", help="image or video files, folders, or stream URLs (rtsp://, http://, ...)")
    p.add_argument("--camera", type=int, action="append", default=[], metavar="INDEX",
                   help="analyse a live camera (0: the first); runs until Ctrl-C, which writes the people seen")
    p.add_argument("--model", default=None,
                   help=f"which network answers: {', '.join(SHIPPED_MODELS)} or {BOTH} (one row per face and "
                        f"model, side by side). Default {DEFAULT_MODEL}, the more accurate; with --weights only, "
                        "those weights")
    p.add_argument("--weights", action="append", default=[], metavar="NAME=FILE",
                   help=WEIGHTS_HELP)
    p.add_argument("--crops", action="store_true", help="inputs are already aligned face crops: no detection")
    p.add_argument("--format", choices=["table", "json", "jsonl", "csv"], default="table",
                   help="table (default, for reading), csv (one row per face and model; for a video one per "
                        "person and model), json (an array of one object per image, or per person of a video, with "
                        "boxes, landmarks and timings) or jsonl (the same objects, one per line); rows are written "
                        "as images finish and as people leave a video")
    p.add_argument("-o", "--output", help="write results to this file instead of stdout")
    p.add_argument("--stride", type=int, default=1, metavar="N",
                   help="videos: analyse every Nth frame (default 1: every frame)")
    p.add_argument("--per-frame", action="store_true",
                   help="videos: also write a row for every face of every analysed frame (kind 'frame'), with "
                        "its track's answer so far")
    p.add_argument("--thumbnails", metavar="OUTDIR", help="videos: save each person's best face here")
    p.add_argument("--annotate", metavar="OUTDIR",
                   help="write each image (and video) with boxes and labels here; videos get track ids and "
                        "each person's fused answer (MP4: H.264 where OpenCV has it, else MPEG-4 Part 2)")
    p.add_argument("--no-flip-tta", action="store_true", help="do not average with the mirrored face (faster)")
    add_engine_options(p)
    add_min_face_option(p)
    p.add_argument("--det-threshold", type=float, default=0.6, help="detector score threshold (default 0.6)")
    p.add_argument("--workers", type=int, default=2,
                   help="threads that decode and detect while the networks run (default 2)")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="run on Ray Data: 'auto' (the running cluster), an address, or nothing (a local instance); "
                        "CSV output only; needs pip install 'agegender[ray]' and photos every worker can read")
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
                    left_out.append(f"{q}: " + ("a broken link" if q.is_symlink() and not q.exists()
                                                else "not a regular file (a FIFO, device or socket)"))
        for q in sorted(found):
            (out if q.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES else ignored).append(q)
    return out, ignored


def result_rows(path: str, result, names) -> list[dict]:
    """CSV/table rows: one per face and model; one empty row for an image without faces."""
    if not result.faces:
        return [{**dict.fromkeys(CSV_COLUMNS, ""), "path": path}]
    rows = []
    for i, face in enumerate(result.faces):
        for name in names:
            p = face.predictions.get(name)
            rows.append({"path": path, "face": i, "x1": face.box[0], "y1": face.box[1], "x2": face.box[2],
                         "y2": face.box[3], "det_score": "" if face.det_score is None else round(face.det_score, 4),
                         "model": name, "age": "" if p is None or p.age is None else round(p.age, 1),
                         "gender": "" if p is None or p.gender is None else p.gender,
                         "p_female": "" if p is None or p.p_female is None else round(p.p_female, 4)})
    return rows


TABLE_COLUMNS = ["path", "face", "model", "age", "gender", "p_female", "det_score", "x1", "y1", "x2", "y2"]


def _table(rows, cols) -> str:
    data = [[str(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(d[i]) for d in data)) if data else len(c) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(d, widths)) for d in data]
    return "\n".join(lines) + "\n"


def models_to_load(model: str | None, weights: list[str], default: str = DEFAULT_MODEL
                   ) -> tuple[tuple[str, ...], dict[str, str]]:
    """The shipped models and the user's ``NAME=FILE`` weights that ``--model``/``--weights`` ask for.

    ``model`` None (not named): the ``default`` choice, or, with user weights, only the user's weights;
    naming a shipped model (or both) loads it beside them.
    """
    extra = {}
    for item in weights:
        name, sep, file = item.partition("=")
        if not sep or not name or not file:
            raise UserError(f"--weights takes NAME=FILE, got {item!r}")
        extra[name] = file
    names = model_names(model if model is not None else default) if not extra or model is not None else ()
    return names, extra


def run_predict(args) -> int:
    from tqdm import tqdm

    from agegender.cli_video import photo_rows, run_video
    from agegender.data.images import ImageError
    from agegender.inference import FaceAnalyzer
    from agegender.video.source import VideoError, describe, is_stream_url, is_video_file

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
        print(f"ignored {len(ignored)} file(s) in the folder(s) that are not images or videos by their extension "
              f"(e.g. {ignored[0]}); name a file on the command line to try it anyway", file=sys.stderr)
    present = [f.is_file() for f in files]
    missing = [f for f, ok in zip(files, present) if not ok]
    for f in missing:  # said before the models load (seconds), not after; a FIFO is never opened (it could hang)
        print(f"skipped: {f}: " + ("not a regular file (a FIFO, device or socket)" if f.exists() else "file not found"),
              file=sys.stderr)
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
        options = {"models": names, "weights": extra or None, "flip_tta": not args.no_flip_tta, "engine": args.engine,
                   "device": args.device, "threads": args.threads or None, "min_face": args.min_face,
                   "det_threshold": args.det_threshold}
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
        with _RowWriter(out, args.format, video=video_layout) as writer:
            interrupted = False
            try:
                stream = analyzer.analyze_many(files, crops=args.crops, keep_image=annotate is not None,
                                               workers=args.workers)
                for path, result in tqdm(stream, total=len(files), desc="images", unit="img", disable=len(files) < 10,
                                         file=sys.stderr):
                    if isinstance(result, ImageError):
                        print(f"skipped: {result}", file=sys.stderr)
                        bad += 1
                        continue
                    n_read += 1
                    n_faces += len(result.faces)
                    for note in result.notes:
                        print(f"note: {path}: {note}", file=sys.stderr)
                    rows = (photo_rows if video_layout else result_rows)(str(path), result, analyzer.model_names)
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
            print(f"{images}{n_videos} video(s) or stream(s) read, {n_people} person(s) tracked, {bad} file(s) "
                  f"skipped{more}", file=sys.stderr)
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
    """predict's rows computed by Ray workers (agegender.distributed), written as batches and videos finish."""
    from agegender.cli_video import as_photo_row
    from agegender.distributed import RayPlan, predict_rows, predict_video_rows

    weights = {k: str(Path(v).resolve()) for k, v in (options["weights"] or {}).items()} or None  # workers' own cwd
    plan = RayPlan(address=None if args.ray == "local" else args.ray, workers=args.ray_workers,
                   analyzer_options={**options, "weights": weights}, quiet=not getattr(args, "verbose", False))
    read, faces = set(), set()
    people = n_videos = 0
    with _RowWriter(out, "csv", video=bool(videos)) as writer:
        for row, error in (predict_rows(files, plan) if files else ()):
            if error:
                print(f"skipped: {error}", file=sys.stderr)
                bad += 1
                continue
            read.add(row["path"])
            if row["face"] != "":
                faces.add((row["path"], row["face"]))
            writer.add([as_photo_row(row) if videos else row], {})
        for shown, rows, error, notes in (predict_video_rows(videos, plan, args.stride) if videos else ()):
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


@contextlib.contextmanager
def output_file(path: str | None):
    """The stream that ``-o PATH`` is written through (stdout without one).

    A regular file is written as ``.NAME.PID.part`` beside it and renamed to NAME when the run ends
    (finished, or interrupted with Ctrl-C: every row written is kept), so NAME is never half written nor
    a mix of two runs writing it at once: the last run to end wins whole. A run that fails leaves NAME as
    it was. Special files (/dev/stdout, a FIFO) are written directly. A write to the stream that fails
    (a full disk) removes the partial file and is one line: UserError.
    """
    if not path:
        yield sys.stdout
        return
    target = Path(path)
    direct = target.exists() and not target.is_file()
    part = target if direct else target.with_name(f".{target.name}.{os.getpid()}.part")
    stream = open(part, "w", newline="")
    keep = False
    try:
        try:
            yield stream
            keep = True
        except KeyboardInterrupt:
            keep = True
            raise
        finally:
            stream.close()  # a full disk may show only here, when the last rows are flushed
    except OSError as exc:
        keep = False
        if exc.filename is not None:  # not this stream's write (e.g. an annotated image's folder): said as it is
            raise
        raise UserError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        if not direct:  # a failed run leaves the file it would have replaced as it was
            if keep:
                os.replace(part, target)
            else:
                part.unlink(missing_ok=True)


class _RowWriter:
    """Writes results as they come: CSV rows, JSON Lines (one object per image and line, readable while
    the run goes on), or a JSON array element by element; the table at the end (its columns are as
    wide as their widest value)."""

    def __init__(self, out, fmt: str, video: bool = False):
        from agegender.cli_video import VIDEO_CSV_COLUMNS, VIDEO_TABLE_COLUMNS

        self.out, self.fmt, self.count = out, fmt, 0
        self.rows: list[dict] = []
        self.table_columns = VIDEO_TABLE_COLUMNS if video else TABLE_COLUMNS
        if fmt == "csv":
            # RFC 4180's line ends: a file name holding a carriage return is then quoted, not a broken row
            self.csv = csv.DictWriter(out, fieldnames=VIDEO_CSV_COLUMNS if video else CSV_COLUMNS,
                                      lineterminator="\r\n")
            self.csv.writeheader()
        elif fmt == "json":
            out.write("[")

    def add(self, rows: list[dict], result: dict) -> None:
        if self.fmt == "csv":
            self.csv.writerows(rows)
        elif self.fmt == "json":
            self.out.write(("," if self.count else "") + "\n" + json.dumps(result))
        elif self.fmt == "jsonl":
            self.out.write(json.dumps(result) + "\n")
        else:
            self.rows += rows
        self.count += 1
        self.out.flush()

    def close(self) -> None:
        if self.fmt == "json":
            self.out.write("\n]\n")
        elif self.fmt == "table":
            self.out.write(_table(self.rows, self.table_columns))
        self.out.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        """Close the rows: an interrupted run keeps the rows written, and a JSON array stays valid."""
        if exc[0] is None or not issubclass(exc[0], OSError):  # a failed write: nothing more can be written
            self.close()


def _save_annotated(result, outdir: Path, path: Path, taken: set[str], roots: list[Path]) -> None:
    """Write ``REL/STEM.annotated.jpg``, REL being the image's folder relative to the folder given on the
    command line (the input tree is kept); when an earlier image of this run took that name (x.bmp and
    x.tiff), ``STEM.EXT.annotated.jpg`` or ``STEM-N.annotated.jpg``, said on stderr. Never overwrites."""
    from PIL import Image

    # one folder given: its tree; several: each under its own name, so that a/x.jpg and b/x.jpg stay apart
    rel = next(((path.parent.relative_to(r) if len(roots) == 1 else Path(r.resolve().name) / path.parent.relative_to(r))
                for r in roots if path.is_relative_to(r)), Path())
    candidates = [f"{path.stem}.annotated.jpg", f"{path.name}.annotated.jpg"]
    candidates += [f"{path.stem}-{n}.annotated.jpg" for n in range(2, len(taken) + 3)]
    name = next(str(rel / c) for c in candidates if str(rel / c) not in taken)
    taken.add(name)
    if name != str(rel / candidates[0]):
        print(f"note: {path} annotated as {name} ({rel / candidates[0]} was taken by an earlier image)", file=sys.stderr)
    (outdir / name).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(result.plot()).save(outdir / name, quality=92)


def add_serve(sub):
    p = sub.add_parser("serve", help="start the web app and REST API (FastAPI on uvicorn)",
                       description="Serve the web page at / , the REST API at /api/analyze and its documentation at "
                                   "/docs (works offline). Requests beyond the limits below get 503 with Retry-After.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only; "
                                                       "0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--allowed-hosts", metavar="NAMES",
                   help="comma-separated host names the server answers to (the request's Host header, e.g. "
                        "'faces.example.org,localhost'; '*.example.org' for its subdomains); others get 400. "
                        "Default: any")
    p.add_argument("--model", default=None,
                   help=f"models to load: {', '.join(SHIPPED_MODELS)} or {BOTH} (default {BOTH}, so that the page can "
                        f"compare them; the API and the page answer with {DEFAULT_MODEL} unless asked for another)")
    p.add_argument("--weights", action="append", default=[], metavar="NAME=FILE",
                   help=WEIGHTS_HELP)
    p.add_argument("--max-upload-mb", type=float, default=20.0, help="largest upload, MB (default 20; 413 beyond)")
    p.add_argument("--max-megapixels", type=float, default=50.0,
                   help="largest image, width x height in millions of pixels (default 50; 400 beyond)")
    p.add_argument("--max-active", type=int, default=0,
                   help="analyses running at once (default: the number of CPU cores)")
    p.add_argument("--max-waiting", type=int, default=-1,
                   help="requests queued for a free slot, at most 30 s (default: 8 per active slot; a queued "
                        "request holds only its upload bytes)")
    p.add_argument("--pixel-budget-mp", type=float, default=100.0,
                   help="decoded megapixels held by all running analyses together (default 100, about 1 GB of work)")
    p.add_argument("--live-max-connections", type=int, default=4,
                   help="live webcam views at once (default 4; 503 beyond)")
    p.add_argument("--live-max-fps", type=float, default=15.0,
                   help="frames a second analysed per live view (default 15; faster senders are slowed down)")
    add_min_face_option(p)
    add_engine_options(p)
    p.set_defaults(handler=run_serve)


def add_min_face_option(p) -> None:
    p.add_argument("--min-face", type=float, default=None, metavar="PX",
                   help="smallest face side to report, in pixels of the photo (default: 16, or 1/150 of the photo's "
                        "longer side if more: 40 px in a 24-megapixel photo; faces under ~40 px are then found "
                        "only in part). A value under 40 also searches the photo upscaled, to find faces that "
                        "small (16: ~8x the detection time). Big photos are searched in tiles; a larger value is "
                        "faster (6000x4000: 0.64 s default, 0.43 s at 60, 0.18 s at 100)")


def add_engine_options(p) -> None:
    from agegender.models.engines import ENGINES

    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="what runs the networks: auto (default) = ONNX Runtime, int8 where an int8 graph is beside "
                        "the weights (the shipped ones have none: see reports/ABLATIONS.md), else fp32 where an ONNX graph "
                        "is (the shipped ones have one), else PyTorch")
    p.add_argument("--threads", type=int, default=0, help="CPU threads per model call (default: the engine's choice)")
    p.add_argument("--device", default="cpu",
                   help="cpu (default), or cuda / cuda:N: ONNX Runtime's CUDA provider, which needs onnxruntime-gpu "
                        "in place of onnxruntime (pip uninstall onnxruntime && pip install onnxruntime-gpu); "
                        "without it, one line says so and the CPU is used")


def run_serve(args) -> int:
    import uvicorn  # a missing 'server' extra is reported by the CLI with the command to install it

    from agegender.server.app import ServerConfig, create_app
    names, extra = models_to_load(args.model, args.weights, default=BOTH)
    config = ServerConfig(models=names, weights=extra or None, max_upload_bytes=int(args.max_upload_mb * 1e6),
                          max_pixels=int(args.max_megapixels * 1e6), max_active=args.max_active or None,
                          max_waiting=None if args.max_waiting < 0 else args.max_waiting,
                          pixel_budget=int(args.pixel_budget_mp * 1e6), min_face=args.min_face,
                          engine=args.engine, threads=args.threads or None, device=args.device,
                          live_max_connections=args.live_max_connections, live_max_fps=args.live_max_fps,
                          allowed_hosts=tuple(h.strip() for h in args.allowed_hosts.split(",") if h.strip())
                          if args.allowed_hosts else None)
    _check_port_free(args.host, args.port)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}: anyone who can reach this address can use the API and the "
              f"page (there is no authentication); --allowed-hosts limits the host names it answers to",
              file=sys.stderr)
    from agegender.server.protocol import GuardedH11Protocol

    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="info", http=GuardedH11Protocol)
    return 0


def _check_port_free(host: str, port: int) -> None:
    """Say at once, before the models load, that the port is taken (one line, exit 2)."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(f"port {port} on {host} is in use (another server?): choose another with --port") from None
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
