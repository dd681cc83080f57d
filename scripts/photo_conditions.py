"""Which part of "faces found in photos" costs a model accuracy: one condition at a time.

Each face of a split is predicted as its UTKFace crop, then under one change each:
re-aligned (the crop itself padded by repeating its edge, detected and aligned to our template),
shrunk to 120 px and back (resolution), and pasted into a synthetic scene (side 240 or 120 px,
upright or rotated 15 degrees; the scene's background then shows where the crop ends).

    python scripts/photo_conditions.py --images ../shared/data/utkface/images --split val --limit 300 \\
        --weights resnet50=src/agegender/weights/resnet50.safetensors -o reports/photo_conditions/val.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from agegender.cli.options import models_to_load
from agegender.data.images import read_image
from agegender.data.manifest import read_manifest, select
from agegender.evaluation.scenes import background, nearest_face, paste
from agegender.inference import FaceAnalyzer
from agegender.metrics import age_metrics, gender_metrics


def _predictions(face):
    return None if face is None else face.predictions


def conditions(analyzer):
    """name -> function(face crop, index) -> that face's predictions under the condition (None: not found)."""

    def crop(face, k):
        return analyzer.analyze(face, crops=True).faces[0].predictions

    def realigned(face, k):
        pad = face.shape[0] // 2
        big = cv2.copyMakeBorder(face, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        return _predictions(nearest_face(analyzer.analyze(big).faces, (big.shape[1] / 2, big.shape[0] / 2)))

    def shrunk(face, k):
        small = cv2.resize(face, (120, 120), interpolation=cv2.INTER_AREA)
        return (
            analyzer.analyze(cv2.resize(small, face.shape[1::-1], interpolation=cv2.INTER_LINEAR), crops=True)
            .faces[0]
            .predictions
        )

    def scene(side, angle):
        def run(face, k):
            canvas = background(480, 640, seed=k)
            placed = paste(canvas, face, (320, 240), side, angle)
            return _predictions(nearest_face(analyzer.analyze(canvas).faces, placed.centre, within=side / 2))

        return run

    return {
        "crop": crop,
        "re-aligned crop": realigned,
        "shrunk to 120 px": shrunk,
        "scene, side 240, upright": scene(240, 0),
        "scene, side 120, upright": scene(120, 0),
        "scene, side 240, rotated 15": scene(240, 15),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", required=True)
    ap.add_argument("--manifest", default="data/utkface_manifest.csv")
    ap.add_argument("--split", default="val", choices=["train", "val", "test"])
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--model", default="both")
    ap.add_argument("--weights", action="append", default=[], metavar="NAME=FILE")
    ap.add_argument("-o", "--out", required=True)
    args = ap.parse_args(argv)
    if args.limit < 1:
        ap.error("--limit must be at least 1")
    names, extra = models_to_load(args.model, args.weights)
    analyzer = FaceAnalyzer(models=names, weights=extra or None)
    records = select(read_manifest(args.manifest), args.split)
    records = records[:: max(1, len(records) // args.limit)][: args.limit]
    faces = [read_image(Path(args.images) / r.path) for r in records]
    ages = np.array([r.age for r in records], float)
    female = np.array([r.gender == "female" for r in records], int)
    result = {"split": args.split, "faces": len(records), "conditions": {}}
    for name, predict in conditions(analyzer).items():
        preds = [predict(face, k) for k, face in enumerate(faces)]
        found = [i for i, p in enumerate(preds) if p is not None]  # a face the detector missed is counted, not scored
        row = {"found": len(found)}
        if not found:
            print(f"{name:28s} no face found", flush=True)
        for m in analyzer.model_names if found else []:
            age = np.array([preds[i][m].age for i in found])
            row[m] = {
                "age_mae": age_metrics(ages[found], age)["mae"],
                "age_bias": float(np.mean(age - ages[found])),
                "gender_acc": gender_metrics(female[found], [preds[i][m].p_female for i in found])["accuracy"],
            }
            print(
                f"{name:28s} {m:12s} MAE {row[m]['age_mae']:.2f} bias {row[m]['age_bias']:+.2f} "
                f"gender {100 * row[m]['gender_acc']:.1f}% ({len(found)} of {len(faces)} found)",
                flush=True,
            )
        result["conditions"][name] = row
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
