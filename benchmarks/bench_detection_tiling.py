"""Every face in a big photo: faces found, detection time and peak memory by photo size and ``min_face``.

    python benchmarks/bench_detection_tiling.py --out benchmarks/results

Scene: 24 real UTKFace test faces of 80-150 px pasted into a 6000x4000 (24-megapixel) canvas,
plus the same scene scaled to 4000x2667 and 640x427 (faces scale with it). "before" is the
single-pass detector: one pass on a copy shrunk to 1280 px (against the tiled passes shipped). Each configuration
runs in its own process so that its peak resident memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def scene(width: int, height: int, manifest: str, root: str):
    """The 6000x4000 scene scaled to width x height, and the pasted faces' centres and sides (scaled)."""
    import cv2

    sys.path.insert(0, str(HERE))
    from scenes_util import background, paste, test_faces

    rng = np.random.default_rng(24)
    big = background(4000, 6000, seed=24)
    placed = []
    for i, (crop, _) in enumerate(test_faces(manifest, root, 24, every=40)):
        col, row = i % 6, i // 6
        centre = (500 + col * 1000 + rng.uniform(-150, 150), 500 + row * 1000 + rng.uniform(-150, 150))
        placed.append(paste(big, crop, centre, float(rng.uniform(80, 150))))
    k = width / 6000
    img = big if k == 1 else cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)
    return img, [(np.array(p.centre) * k, p.side * k) for p in placed]


def measure(args) -> dict:
    import resource

    from agegender.evaluation.scenes import centre_of
    from agegender.faces import FaceDetector

    img, faces = scene(args.width, args.height, args.manifest, args.root)
    if args.config == "before":
        import cv2

        s = min(1.0, 1280 / max(img.shape[:2]))
        small = cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
        det = FaceDetector(min_face=16 * s)  # the old pass: faces of 16 px and up, on the shrunk copy

        def run():
            return [type(d)(tuple(v / s for v in d.box), d.score, d.landmarks / s) for d in det.detect(small)]
    else:
        det = FaceDetector(min_face=None if args.config == "auto" else float(args.config))

        def run():
            return det.detect(img)

    run()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        dets = run()
        times.append(time.perf_counter() - t)
    found = sum(any(np.linalg.norm(centre_of(d.box) - c) < 0.3 * side for d in dets) for c, side in faces)
    return {
        "photo": f"{args.width}x{args.height}",
        "min_face": args.config,
        "face_sides_px": [round(min(s for _, s in faces)), round(max(s for _, s in faces))],
        "faces": len(faces),
        "found": int(found),
        "detections": len(dets),
        "detect_ms_median": round(1000 * float(np.median(times)), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_rss_growth_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", default="data/utkface_manifest.csv")
    ap.add_argument("--root", default="../shared/data/utkface/images")
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--one", nargs=3, metavar=("WIDTH", "HEIGHT", "CONFIG"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        args.width, args.height, args.config = int(args.one[0]), int(args.one[1]), args.one[2]
        print(json.dumps(measure(args)))
        return
    rows = []
    plan = (
        [(6000, 4000, c) for c in ("before", "auto", "60", "100")]
        + [(4000, 2667, c) for c in ("before", "auto")]
        + [(640, 427, c) for c in ("before", "auto")]
    )
    for w, h, c in plan:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(w),
                str(h),
                c,
                "--manifest",
                args.manifest,
                "--root",
                args.root,
                "--repeat",
                str(args.repeat),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    result = {"what": __doc__.splitlines()[0], "cpu_threads": __import__("os").cpu_count(), "rows": rows}
    (Path(args.out) / "detection_tiling.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
