"""Video: one answer per person, tracking quality and frames per second, on clips with known answers.

    python benchmarks/bench_video.py --out benchmarks/results

Clips are generated (agegender.evaluation.clips) from real UTKFace test-split faces (never
trained on) walking across a blurred backdrop in pairs, growing or shrinking, while the light
swings by +-25%. Writes ``video_cpu.json``:

- ``people``: the 640x480 25 fps clip of 24 people, two at a time, through the command a user
  types (``agegender predict clip.mp4 --format csv``, default models, whole process timed,
  start-up included) and through the Python API to score it: tracks per person, extra and
  fragmented tracks, id switches, fused per-track age MAE and gender against the per-frame
  answers (the networks on every face of every frame), and the networks' share of frames.
- ``speed``: frames per second of the whole video path (decoding, detection, tracking, sampled
  networks) at 640x480 and 1280x720 with 1, 2 and 8 faces, ResNet50 and both models.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import cpu_facts

BENCH_DIR = Path(__file__).resolve().parent


def pick_people(manifest: str, root: str, n: int = 24) -> list:
    """n test-split faces aged 18-75, half women, ages spread evenly (deterministic)."""
    from agegender.data.images import read_image
    from agegender.data.manifest import read_manifest

    records = [r for r in read_manifest(manifest) if r.split == "test"]
    chosen = []
    for gender in ("female", "male"):
        pool = sorted([r for r in records if r.gender == gender and 18 <= r.age <= 75], key=lambda r: (r.age, r.path))
        idx = np.linspace(0, len(pool) - 1, n // 2).round().astype(int)
        chosen += [pool[i] for i in idx]
    order = np.random.default_rng(0).permutation(len(chosen))
    return [(read_image(Path(root) / chosen[i].path), float(chosen[i].age), chosen[i].gender) for i in order]


def walker_at(walkers, t: float, box) -> int | None:
    """Index of the walker whose face is at ``box`` at time ``t`` (centre within half its side)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    for i, w in enumerate(walkers):
        where = w.at(t)
        if where is not None and np.hypot(where[0][0] - cx, where[0][1] - cy) < where[1] / 2:
            return i
    return None


def score_people(analyzer, clip: Path, walkers, model: str) -> dict:
    """Tracks against people, fused against per-frame answers, for one model."""
    from agegender.video.analyze import Track, VideoFrame

    # Per-frame answers: the networks on every face of every frame.
    per_frame_err, per_frame_gender = [], []
    for item in analyzer.analyze_video(clip, frames=True, models=[model], every_frame=True):
        if isinstance(item, VideoFrame):
            for face in item.faces:
                who = walker_at(walkers, item.time_s, face.box)
                p = item.sampled.get(face.track_id, {}).get(model)
                if who is not None and p is not None:
                    per_frame_err.append(abs(p.age - walkers[who].age))
                    per_frame_gender.append(p.gender == walkers[who].gender)
    # The default: sampled networks, fused per track.
    frames_of_track: dict[int, list[int | None]] = {}
    tracks, n_faces, n_sampled, n_frames = [], 0, 0, 0
    t0 = time.perf_counter()
    for item in analyzer.analyze_video(clip, frames=True, models=[model]):
        if isinstance(item, VideoFrame):
            n_frames += 1
            for face in item.faces:
                n_faces += 1
                n_sampled += face.track_id in item.sampled
                frames_of_track.setdefault(face.track_id, []).append(walker_at(walkers, item.time_s, face.box))
        elif isinstance(item, Track):
            tracks.append(item)
    seconds = time.perf_counter() - t0
    fused_err, fused_gender, owner = [], [], {}
    for track in tracks:
        seen = [w for w in frames_of_track.get(track.id, []) if w is not None]
        who = max(set(seen), key=seen.count) if seen else None
        owner[track.id] = who
        if who is not None:
            p = track.predictions[model]
            fused_err.append(abs(p.age - walkers[who].age))
            fused_gender.append(p.gender == walkers[who].gender)
    # id switches: a track whose faces belong to more than one person, counted per change of person
    switches = 0
    for track in tracks:
        seen = [w for w in frames_of_track.get(track.id, []) if w is not None]
        switches += sum(a != b for a, b in zip(seen, seen[1:]))
    tracks_per_person = [sum(1 for t in tracks if owner[t.id] == i) for i in range(len(walkers))]
    people_right = sum(
        1
        for i, w in enumerate(walkers)
        if any(owner[t.id] == i and t.predictions[model].gender == w.gender for t in tracks)
        and tracks_per_person[i] >= 1
    )
    return {
        "model": model,
        "people": len(walkers),
        "tracks": len(tracks),
        "extra_tracks_pct": round(100 * (len(tracks) - len(walkers)) / len(walkers), 1),
        "people_without_track": sum(1 for n in tracks_per_person if n == 0),
        "fragmented_people": sum(1 for n in tracks_per_person if n > 1),
        "tracks_of_nobody": sum(1 for t in tracks if owner[t.id] is None),
        "id_switches": switches,
        "fused_age_mae": round(float(np.mean(fused_err)), 2),
        "per_frame_age_mae": round(float(np.mean(per_frame_err)), 2),
        "fused_gender_people_right": people_right,
        "fused_gender_accuracy_pct": round(100 * float(np.mean(fused_gender)), 1),
        "per_frame_gender_accuracy_pct": round(100 * float(np.mean(per_frame_gender)), 1),
        "frames": n_frames,
        "faces_seen": n_faces,
        "faces_through_networks": n_sampled,
        "networks_share_pct": round(100 * n_sampled / max(1, n_faces), 1),
        "api_seconds": round(seconds, 2),
        "api_fps": round(n_frames / seconds, 1),
    }


def cli_run(clip: Path, out_csv: Path, extra: list[str]) -> dict:
    """The command a user types, as a separate process: wall time (start-up included) and rows."""
    import csv

    cmd = [
        str(Path(sys.executable).parent / "agegender"),
        "predict",
        str(clip),
        "--format",
        "csv",
        "-o",
        str(out_csv),
        *extra,
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(proc.stderr)
    rows = list(csv.DictReader(out_csv.open()))
    return {
        "command": "agegender predict clip.mp4 --format csv " + " ".join(extra),
        "seconds": round(seconds, 2),
        "rows": len(rows),
        "tracks": len({r["track"] for r in rows}),
        "models": sorted({r["model"] for r in rows}),
        "stderr_last_line": proc.stderr.strip().splitlines()[-1],
    }


def speed_runs(faces, tmp: Path, seconds: float = 8.0) -> list[dict]:
    from agegender.evaluation.clips import Walker, write_clip
    from agegender.inference import FaceAnalyzer

    analyzers = {"resnet50": FaceAnalyzer(models=("resnet50",)), "both": FaceAnalyzer(models="both")}
    out = []
    for width, height in ((640, 480), (1280, 720)):
        for n in (1, 2, 8):
            side = height / (3.2 if n <= 2 else 4.5)
            walkers = []
            for i in range(n):
                row, col = divmod(i, 4) if n == 8 else (i, 0)
                y = height * ((0.3 + 0.4 * row) if n == 8 else (0.5 if n == 1 else 0.3 + 0.4 * i))
                x0, x1 = (
                    (width * (0.12 + 0.22 * col), width * (0.22 + 0.22 * col))
                    if n == 8
                    else (width * 0.25, width * 0.75)
                )
                walkers.append(Walker(faces[i][0], 0.0, seconds + 1, (x0, y), (x1, y), side, side * 1.1))
            clip = tmp / f"speed_{width}x{height}_{n}.mp4"
            frames = write_clip(clip, walkers, width, height, seconds=seconds)
            for name, analyzer in analyzers.items():
                t0 = time.perf_counter()
                tracks = list(analyzer.analyze_video(clip))
                took = time.perf_counter() - t0
                out.append(
                    {
                        "size": f"{width}x{height}",
                        "faces": n,
                        "models": name,
                        "frames": frames,
                        "tracks": len(tracks),
                        "seconds": round(took, 2),
                        "fps": round(frames / took, 1),
                    }
                )
                if width == 1280 and n == 1:  # the whole command, start-up included
                    cli = cli_run(clip, tmp / "speed.csv", ["--model", name])
                    out[-1]["cli_seconds"] = cli["seconds"]
                    out[-1]["cli_fps_with_startup"] = round(frames / cli["seconds"], 1)
                print(out[-1], flush=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--utkface", default="../shared/data/utkface/images")
    ap.add_argument("--manifest", default=str(BENCH_DIR.parent / "data" / "utkface_manifest.csv"))
    ap.add_argument("--out", default=str(BENCH_DIR / "results"))
    args = ap.parse_args()
    from agegender.evaluation.clips import two_at_a_time, write_clip
    from agegender.inference import FaceAnalyzer

    people = pick_people(args.manifest, args.utkface)
    walkers = two_at_a_time(people, seconds_each=3.0, gap_s=0.5, side=150)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        clip = tmp / "clip.mp4"
        frames = write_clip(clip, walkers)
        duration = frames / 25.0
        print(f"clip: {frames} frames, {duration:.1f} s, {len(walkers)} people", flush=True)
        cli = cli_run(clip, tmp / "out.csv", ["--model", "both"])
        cli["clip_seconds"] = round(duration, 2)
        cli["realtime_factor"] = round(duration / cli["seconds"], 2)
        print(cli, flush=True)
        analyzer = FaceAnalyzer(models="both")  # the figures on record are for both networks
        scored = [score_people(analyzer, clip, walkers, m) for m in analyzer.model_names]
        for s in scored:
            print(s, flush=True)
        speed = speed_runs(people, tmp)
    result = {
        "machine": cpu_facts(),
        "clip": {
            "size": "640x480",
            "fps": 25,
            "frames": frames,
            "seconds": round(duration, 2),
            "people": len(walkers),
            "ages": sorted(w.age for w in walkers),
            "source": "UTKFace test split, two at a time, 3 s each, 0.5 s apart, light +-25%",
        },
        "cli": cli,
        "people": scored,
        "speed": speed,
        "targets": {
            "tracks_per_person": "<= 1.25",
            "fused_mae_vs_per_frame": "no worse",
            "gender_people_right": ">= 22 of 24",
            "realtime": ">= 1x, start-up included",
            "fps_1280x720_one_face": ">= 25",
        },
    }
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "video_cpu.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({k: result[k] for k in ("cli", "people")}, indent=1))


if __name__ == "__main__":
    main()
