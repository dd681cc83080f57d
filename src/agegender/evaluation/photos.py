"""How much accuracy a model loses on faces found in photos rather than given as aligned crops.

Each test face is pasted, scaled and slightly rotated, into a 640x480 scene (two faces per
scene); the analyzer then detects, aligns and predicts as it would for a user's photo. The
same faces given as crops (``crops=True``) are the reference. A face counts as found when a
detection's centre lies within a quarter of the pasted crop's side of the true centre.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from agegender.data.images import read_image
from agegender.data.manifest import AgeWindow, read_manifest, select
from agegender.evaluation.scenes import background, nearest_face, paste
from agegender.metrics import age_metrics, gender_metrics


def evaluate_in_photos(
    analyzer,
    manifest,
    images_root,
    split: str = "test",
    windows=("18-50", "all"),
    limit: int = 0,
    seed: int = 0,
    out: str | Path | None = None,
) -> dict:
    """Predict every face of ``split`` as a crop and inside a scene; metrics of both per model and window."""
    records = select(read_manifest(manifest), split)
    if limit:
        records = records[:: max(1, len(records) // limit)][:limit]
    rng = np.random.default_rng(seed)
    names = list(analyzer.model_names)
    crop_pred: dict[str, list] = {m: [] for m in names}
    scene_pred: dict[str, list] = {m: [] for m in names}
    was_found: list[bool] = []
    for k in range(0, len(records), 2):
        pair = records[k : k + 2]
        faces = [read_image(Path(images_root) / r.path) for r in pair]
        scene = background(480, 640, seed=seed + k)
        placed = [
            paste(
                scene,
                face,
                (160 + 320 * j + rng.uniform(-40, 40), 240 + rng.uniform(-80, 80)),
                rng.uniform(120, 240),
                rng.uniform(-15, 15),
            )
            for j, face in enumerate(faces)
        ]
        detected = analyzer.analyze(scene).faces
        for face, spot in zip(faces, placed):
            crop = analyzer.analyze(face, crops=True).faces[0]
            hit = nearest_face(detected, spot.centre, within=0.25 * spot.side)
            was_found.append(hit is not None)
            for m in names:
                crop_pred[m].append(crop.predictions[m])
                scene_pred[m].append(hit.predictions[m] if hit else None)
    found = np.array(was_found)
    ages = np.array([r.age for r in records], float)
    female = np.array([r.gender == "female" for r in records], int)
    result: dict = {
        "split": split,
        "faces": len(records),
        "scene": "640x480, 2 faces per scene, side 120-240 px, rotation +-15 deg",
        "models": {},
    }
    for m in names:
        per_window = {}
        for label in windows:
            window = AgeWindow.parse(label)
            in_window = np.array([r.age in window for r in records])
            sel = in_window & found
            row: dict = {"n": int(in_window.sum()), "found": float(found[in_window].mean())}
            for where, preds in (("crops", crop_pred[m]), ("photos", scene_pred[m])):
                p = [preds[i] for i in np.flatnonzero(sel)]
                a = age_metrics(ages[sel], [x.age for x in p])
                g = gender_metrics(female[sel], [x.p_female for x in p])
                row[where] = {"age_mae": a["mae"], "age_cs5": a["cs5"], "gender_acc": g["accuracy"]}
            row["age_mae_loss"] = row["photos"]["age_mae"] - row["crops"]["age_mae"]
            row["gender_acc_loss"] = row["crops"]["gender_acc"] - row["photos"]["gender_acc"]
            per_window[label] = row
        result["models"][m] = per_window
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result, indent=1) + "\n")
    return result
