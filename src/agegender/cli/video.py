"""``agegender predict`` on videos, cameras and streams: one row per person, written as each person leaves.

Rows share one layout (:data:`VIDEO_CSV_COLUMNS`) whatever the kind: ``track`` rows (one per
person and model: when they were seen, their best frame's box, the fused answer), ``frame`` rows
(with ``--per-frame``: every analysed frame's faces with their track's answer so far) and, in a run
that mixes photos and videos, ``photo`` rows (``track`` is then the face's number in the photo).
"""

from __future__ import annotations

import sys
from pathlib import Path

from agegender.video.rows import frame_rows, track_rows


def run_video(analyzer, source, shown: str, args, writer, annotate: Path | None, thumbnails: Path | None) -> int:
    """Analyse one video, camera or stream and write its rows; return the number of people (tracks).

    Raises VideoError if it cannot be read at all. On Ctrl-C the people seen so far are written
    (their answers fused from the frames analysed), then the interruption goes on.
    """
    from tqdm import tqdm

    from agegender.annotate import draw_faces
    from agegender.video.analyze import Track, VideoFrame
    from agegender.video.writer import AnnotatedVideoWriter, annotated_name

    analysis = analyzer.analyze_video(
        source,
        frames=bool(args.per_frame or annotate),
        stride=args.stride,
        thumbnails=thumbnails is not None,
        keep_images=annotate is not None,
    )
    info = analysis.info
    names = analyzer.model_names
    video_out = None
    if annotate:
        target = annotate / annotated_name(Path(shown) if not info.live else Path(_safe_name(shown)))
        video_out = AnnotatedVideoWriter(_free_name(target), info.fps / args.stride)
    total = -(-info.frame_count // args.stride) if info.frame_count else None
    bar = tqdm(
        total=total,
        desc=Path(shown).name if not info.live else shown,
        unit="frame",
        file=sys.stderr,
        leave=False,
        disable=None,
    )  # None: only on a terminal
    people = 0

    def write_track(track) -> None:
        nonlocal people
        people += 1
        writer.add(track_rows(shown, track, names), {"kind": "track", **track.to_dict(), "source": shown})
        if thumbnails is not None and track.thumbnail is not None:
            from PIL import Image

            thumbnails.mkdir(parents=True, exist_ok=True)
            name = f"{_safe_name(Path(shown).stem)}.track-{track.id}.jpg"
            Image.fromarray(track.thumbnail).save(_free_name(thumbnails / name), quality=92)

    try:
        for item in analysis:
            if isinstance(item, Track):
                write_track(item)
                continue
            assert isinstance(item, VideoFrame)
            bar.update(1)
            if args.per_frame:
                writer.add(
                    frame_rows(shown, item, names),
                    {
                        "kind": "frame",
                        "source": shown,
                        "frame": item.index,
                        "time_s": round(item.time_s, 3),
                        "faces": [f.to_dict() for f in item.faces],
                    },
                )
            if video_out is not None and item.image is not None:
                video_out.write(draw_faces(item.image, item.faces))
    except KeyboardInterrupt:
        for track in analysis.finish():
            write_track(track)
        raise
    finally:
        bar.close()
        if video_out is not None:
            video_out.close()
        for note in info.notes:
            print(f"note: {shown}: {note}", file=sys.stderr)
    seconds = analysis.seconds
    rate = f", {analysis.frames_analysed / seconds:.1f} frames/s" if seconds > 0 else ""
    print(
        f"{shown}: {analysis.frames_analysed} frame(s) analysed, {people} person(s){rate}"
        + (f"; annotated video {video_out.path} ({video_out.codec})" if video_out and video_out.codec else ""),
        file=sys.stderr,
    )
    return people


def _safe_name(text: str) -> str:
    """A file-name-safe form of a camera or stream name (rtsp://host/x -> rtsp_host_x)."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "stream"


def _free_name(path: Path) -> Path:
    """``path``, or ``stem-2.ext``, ``stem-3.ext``, ... if taken: never overwrite."""
    if not path.exists():
        return path
    n = 2
    while (candidate := path.with_name(f"{path.stem}-{n}{path.suffix}")).exists():
        n += 1
    return candidate
