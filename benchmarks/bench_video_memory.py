"""Memory over a long video: resident memory of the video path, sampled each minute of a one-hour clip.

    python benchmarks/bench_video_memory.py --minutes 60 --out benchmarks/results

The clip (640x480, 25 fps) is generated from UTKFace test faces walking through in pairs, a new
pair every 3.5 s, so about a thousand people pass in an hour. The clip is analysed through
``FaceAnalyzer.analyze_video`` with both models, every track consumed as it ends (as
``predict`` does); resident memory is read every minute of video time. Writes
``video_memory_cpu.json``: memory must stay flat (the last sample close to the first).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from bench_video import BENCH_DIR, pick_people


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--utkface", default="../shared/data/utkface/images")
    ap.add_argument("--manifest", default=str(BENCH_DIR.parent / "data" / "utkface_manifest.csv"))
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--out", default=str(BENCH_DIR / "results"))
    args = ap.parse_args()
    from agegender.evaluation.clips import two_at_a_time, write_clip
    from agegender.inference import FaceAnalyzer
    from agegender.video.analyze import Track, VideoFrame

    people = pick_people(args.manifest, args.utkface)
    seconds = args.minutes * 60
    pairs = int(seconds // 3.5) + 1
    walkers = two_at_a_time([people[i % len(people)] for i in range(2 * pairs)], seconds_each=3.0, gap_s=0.5)
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "hour.mp4"
        t0 = time.perf_counter()
        frames = write_clip(clip, walkers, seconds=seconds)
        print(
            f"clip: {frames} frames in {time.perf_counter() - t0:.0f} s, {clip.stat().st_size / 1e6:.0f} MB", flush=True
        )
        analyzer = FaceAnalyzer(models="both")  # the figures on record are for both networks
        samples, tracks, next_minute = [], 0, 0.0
        t0 = time.perf_counter()
        for item in analyzer.analyze_video(clip, frames=True):
            if isinstance(item, Track):
                tracks += 1
            elif isinstance(item, VideoFrame) and item.time_s >= next_minute * 60:
                samples.append(
                    {
                        "video_minute": round(next_minute),
                        "rss_mb": round(rss_mb(), 1),
                        "tracks_so_far": tracks,
                        "wall_s": round(time.perf_counter() - t0, 1),
                    }
                )
                print(samples[-1], flush=True)
                next_minute += 1
        took = time.perf_counter() - t0
        samples.append(
            {
                "video_minute": round(frames / 25 / 60, 1),
                "rss_mb": round(rss_mb(), 1),
                "tracks_so_far": tracks,
                "wall_s": round(took, 1),
            }
        )
    rss = [s["rss_mb"] for s in samples]
    after_warmup = rss[1:] if len(rss) > 2 else rss
    result = {
        "clip": {"size": "640x480", "fps": 25, "frames": frames, "minutes": args.minutes, "people": len(walkers)},
        "models": analyzer.model_names,
        "tracks": tracks,
        "seconds": round(took, 1),
        "fps": round(frames / took, 1),
        "samples": samples,
        "rss_mb_first_minute": rss[0],
        "rss_mb_min_after_first_minute": min(after_warmup),
        "rss_mb_max_after_first_minute": max(after_warmup),
        "rss_mb_last": rss[-1],
    }
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "video_memory_cpu.json").write_text(json.dumps(result, indent=1))
    print({k: v for k, v in result.items() if k != "samples"})


if __name__ == "__main__":
    main()
