"""Detector recall and localisation on real faces pasted into scenes, by face size and rotation.

    python benchmarks/bench_detection.py --out benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from scenes_util import background, centre_of, paste, test_faces


def main():
    from agegender.faces import FaceDetector

    ap = argparse.ArgumentParser()
    ap.add_argument("--utkface", default="../shared/data/utkface/images")
    ap.add_argument("--manifest", default="data/utkface_manifest.csv")
    ap.add_argument("--faces", type=int, default=120)
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args()
    faces = test_faces(args.manifest, args.utkface, args.faces, every=5)
    det = FaceDetector()
    rows, times = [], []
    for side in (24, 32, 48, 64, 96, 160, 320):
        for angle in (0, 20, 40):
            found = false_pos = 0
            errs = []
            for k in range(0, len(faces), 4):
                scene = background(480, 640, seed=k + side)
                placed = [paste(scene, faces[k + j][0], (160 + 320 * (j % 2), 120 + 240 * (j // 2)), side,
                                angle * (1 if j % 2 else -1)) for j in range(4) if k + j < len(faces)]
                t = time.perf_counter()
                dets = det.detect(scene)
                times.append(time.perf_counter() - t)
                used = set()
                for p in placed:
                    d = [(np.linalg.norm(centre_of(x.box) - p.centre), i) for i, x in enumerate(dets) if i not in used]
                    best = min(d, default=None)
                    if best and best[0] < 0.25 * side:
                        found += 1
                        used.add(best[1])
                        errs.append(best[0] / side)
                false_pos += len(dets) - len(used)
            rows.append({"face_side_px": side, "angle_deg": angle, "faces": len(faces), "recall": found / len(faces),
                         "false_positives": false_pos, "median_centre_error_rel": float(np.median(errs)) if errs else None})
            print(json.dumps(rows[-1]), flush=True)
    out = {"detector": "YuNet 2023mar (cv2.FaceDetectorYN), score threshold 0.6",
           "scene": "640x480 smooth random background, 4 UTKFace test crops per scene",
           "detect_ms_median": float(np.median(times) * 1000), "rows": rows}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "detection.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
