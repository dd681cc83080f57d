"""How far a shipped network's int8 graph is from its fp32 graph on every val face of the caches.

Per model and cache: gender decisions changed (and which of the two was right), mean |Δ p_female|,
mean |Δ age| and both age MAEs, flip averaging on, as `predict` runs them. Writes one JSON file.

    python scripts/int8_fidelity.py vgg16 resnet50 --cache cache/utk64,cache/aaf64 -o reports/selection/int8-fidelity-val.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from agegender.data.cache import split_faces
from agegender.models.engines import open_engine, predict_faces
from agegender.models.shipped import shipped_weights_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--cache", default="cache/utk64,cache/aaf64")
    parser.add_argument("-o", "--out", type=Path, default=Path("reports/selection/int8-fidelity-val.json"))
    args = parser.parse_args()
    out = {}
    for name in args.models:
        engines = {e: open_engine(shipped_weights_path(name), engine=e) for e in ("onnx", "onnx-int8")}
        for faces in split_faces(args.cache, "val"):
            fp32, int8 = (predict_faces(e, faces.images, batch_size=64, flip_tta=True) for e in engines.values())
            female = faces.female == 1
            said = {k: p["p_female"] >= 0.5 for k, p in (("fp32", fp32), ("int8", int8))}
            out[f"{name}/{faces.dataset}"] = {
                "faces": len(faces.ages),
                "decisions_changed": int(np.sum(said["fp32"] != said["int8"])),
                "int8_right_fp32_wrong": int(np.sum((said["int8"] == female) & (said["fp32"] != female))),
                "fp32_right_int8_wrong": int(np.sum((said["fp32"] == female) & (said["int8"] != female))),
                "mean_abs_d_p_female": round(float(np.mean(np.abs(fp32["p_female"] - int8["p_female"]))), 4),
                "mean_abs_d_age": round(float(np.mean(np.abs(fp32["age"] - int8["age"]))), 3),
                "mae_fp32": round(float(np.mean(np.abs(fp32["age"] - faces.ages))), 3),
                "mae_int8": round(float(np.mean(np.abs(int8["age"] - faces.ages))), 3),
            }
            print(name, faces.dataset, out[f"{name}/{faces.dataset}"], flush=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
