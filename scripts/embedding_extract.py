"""dlib ResNet-29 face embeddings (face-recognition-models, public domain) for a manifest
split (optionally a seeded subsample of LIMIT faces; 0 = all), to probe how much age and gender they
carry (scripts/embedding_probe.py). Runs in the peer virtualenv with face-recognition-models installed:
    build/peer-venv/bin/python scripts/embedding_extract.py MANIFEST ROOT SPLIT OUT.npz LIMIT [--crop]
The calls behind reports/SELECTION.md: UTKFace (--crop) val 0 and train 2500, All-Age-Faces val 0 and train 1500."""

import csv
import sys

import dlib
import face_recognition_models as frm
import numpy as np
from PIL import Image


def main(manifest: str, root: str, split: str, out: str, limit: int, crop: bool) -> None:
    detector = dlib.get_frontal_face_detector()
    shape = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
    net = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
    with open(manifest, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split]
    if limit and len(rows) > limit:
        rows = [rows[i] for i in sorted(np.random.default_rng(0).choice(len(rows), limit, replace=False))]
    kept, emb = [], []
    for i, r in enumerate(rows):
        with Image.open(f"{root}/{r['path']}") as im:
            img = np.ascontiguousarray(np.asarray(im.convert("RGB")))
        if crop:
            rect = dlib.rectangle(0, 0, img.shape[1] - 1, img.shape[0] - 1)
        else:
            dets = detector(img, 1)
            if not dets:
                continue
            rect = max(dets, key=lambda d: d.area())
        emb.append(np.array(net.compute_face_descriptor(img, shape(img, rect))))
        kept.append(r)
        if i % 1000 == 0:
            print(i, len(rows), flush=True)
    np.savez(
        out,
        emb=np.array(emb),
        ages=np.array([int(r["age"]) for r in kept]),
        female=np.array([r["gender"] == "female" for r in kept]),
    )
    print("wrote", out, len(kept), "of", len(rows))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--crop"]
    main(*args[:4], int(args[4]), crop="--crop" in sys.argv)
