"""Derive the alignment template from UTKFace: median YuNet landmarks over training crops.

    python scripts/derive_template.py --root ../shared/data/utkface/images --every 4 \
        -o src/agegender/faces/template.json
"""

import argparse
import json
from pathlib import Path

from agegender.data.images import read_image
from agegender.data.manifest import read_manifest
from agegender.faces.align import derive_template
from agegender.faces.detect import FaceDetector


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", default="data/utkface_manifest.csv")
    ap.add_argument("--root", required=True)
    ap.add_argument("--every", type=int, default=4, help="use every N-th training face")
    ap.add_argument("-o", "--out", required=True)
    args = ap.parse_args()
    recs = [r for r in read_manifest(args.manifest) if r.split == "train"][:: args.every]
    template, n = derive_template(
        (read_image(Path(args.root) / r.path) for r in recs), FaceDetector(score_threshold=0.5)
    )
    out = {
        **template.to_dict(),
        "landmarks": ["right_eye", "left_eye", "nose", "mouth_right", "mouth_left"],
        "derived_from": f"median YuNet landmarks of {n} of {len(recs)} UTKFace training crops (every {args.every}th)",
        "command": "python scripts/derive_template.py --root ../shared/data/utkface/images "
        f"--every {args.every} -o src/agegender/faces/template.json",
    }
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
