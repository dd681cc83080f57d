"""fp16 ONNX graphs on this CPU: speed and fidelity against the shipped fp32 graphs, in one run.

    python benchmarks/bench_fp16.py --cache cache/utk64,cache/aaf64 --out benchmarks/results

Each shipped network is traced to a standalone fp32 graph and converted to fp16 by ONNX Runtime's
own converter (``onnxruntime.transformers.float16``, inputs and outputs kept fp32). Both are timed
at batch 1 and 32 (flip averaging off; 2 threads, the engine's session options), then run on every val face of the caches with
flip averaging, as predict does: gender decisions changed, mean |change| of p_female and age, and
the age MAE / gender accuracy of each. Needs the train extra (PyTorch traces the graph).
"""

from __future__ import annotations

import argparse
import json
import platform
from functools import partial
from pathlib import Path

import numpy as np
from timing import timed


def main():
    import onnx
    import onnxruntime as ort
    from onnxruntime.transformers.float16 import convert_float_to_float16

    from agegender.data.cache import open_cache
    from agegender.data.manifest import AgeWindow
    from agegender.models.engines import Engine, predict_faces
    from agegender.models.onnx_export import _trace
    from agegender.models.shipped import shipped_weights_path
    from agegender.models.weights import load_model
    from agegender.preprocess import to_float_batch
    from agegender.runtime import session_options

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default="cache/utk64,cache/aaf64")
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    faces, ages, genders = [], [], []
    for name in args.cache.split(","):
        cache = open_cache(name)
        idx = cache.indices("val", AgeWindow.all())
        faces.append(np.ascontiguousarray(cache.images[idx]))
        ages.append(cache.ages[idx])
        genders.append(cache.genders[idx])
    faces, ages, genders = np.concatenate(faces), np.concatenate(ages), np.concatenate(genders)

    class Graph(Engine):
        def __init__(self, blob: bytes, like: Engine):
            super().__init__(like.config, like.readout)
            self.session = ort.InferenceSession(blob, session_options(2), providers=["CPUExecutionProvider"])
            self.names = [o.name for o in self.session.get_outputs()]

        def __call__(self, images):
            return dict(
                zip(self.names, self.session.run(self.names, {"images": np.ascontiguousarray(images, np.float32)}))
            )

    out = {
        "machine": {"cpus": 2, "platform": platform.platform(), "onnxruntime": ort.__version__},
        "val_faces": int(len(faces)),
        "cache": args.cache,
        "models": {},
    }
    for name in ("vgg16", "resnet50"):
        model, _ = load_model(shipped_weights_path(name))
        blob, _ = _trace(model, fold_constants=True)
        fp32 = Graph(blob, Engine(model.config.to_dict(), model.readout))
        fp16 = Graph(
            convert_float_to_float16(onnx.load_from_string(blob), keep_io_types=True).SerializeToString(), fp32
        )
        row = {}
        for label, engine in (("fp32", fp32), ("fp16", fp16)):
            for batch in (1, 32):
                x = to_float_batch(faces[:batch], engine.input_size)
                ms = timed(partial(engine, x), args.repeat)
                row[f"{label}_batch{batch}_faces_per_s"] = round(batch / ms * 1000, 1)
        ref = predict_faces(fp32, faces, batch_size=64, flip_tta=True)
        half = predict_faces(fp16, faces, batch_size=64, flip_tta=True)
        for label, p in (("fp32", ref), ("fp16", half)):
            row[f"{label}_val_age_mae"] = round(float(np.abs(p["age"] - ages).mean()), 3)
            row[f"{label}_val_gender_acc"] = round(float(((p["p_female"] >= 0.5) == (genders == 1)).mean()), 4)
        row["gender_decisions_changed"] = int(((half["p_female"] >= 0.5) != (ref["p_female"] >= 0.5)).sum())
        row["mean_abs_change_p_female"] = round(float(np.abs(half["p_female"] - ref["p_female"]).mean()), 5)
        row["mean_abs_change_age"] = round(float(np.abs(half["age"] - ref["age"]).mean()), 4)
        out["models"][name] = row
        print(name, json.dumps(row), flush=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "fp16_cpu.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
