"""What two ONNX Runtime settings of the int8 networks cost on this CPU, side by side in one run: exact products
(``session.x64quantprecision``, turned on only where the fast ones saturate) and QDQ propagation (left out).

    python benchmarks/bench_int8_kernels.py --out benchmarks/results

For each shipped int8 graph, sessions with the shipped settings, with exact products forced on, and with QDQ
propagation put back, all on one thread, run the same 32 val faces in turn over ``--rounds`` rounds (this
machine's speed drifts); the median CPU milliseconds per face count. Each variant's outputs are compared with
the shipped settings' (max |difference| of the logits). Writes int8_kernels.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from timing import cpu_facts

from agegender import runtime
from agegender.data.cache import split_faces
from agegender.models.shipped import SHIPPED_MODELS, shipped_weights_path
from agegender.preprocess import to_float_batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default="cache/aaf64")
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args()
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    images = split_faces(args.cache, "val")[0].images[:32]
    variants = {
        "shipped": ("", runtime.DISABLED_OPTIMIZERS),
        "exact_products": ("1", runtime.DISABLED_OPTIMIZERS),
        "with_qdq_propagation": ("", []),
    }
    out: dict = {"machine": cpu_facts(), "faces_per_run": len(images), "threads": 1, "models": {}}
    for name in SHIPPED_MODELS:
        graph = shipped_weights_path(name).with_suffix(".int8.onnx")
        sessions = {}
        for variant, (precision, disabled) in variants.items():
            options = runtime.session_options(1)
            if precision:
                options.add_session_config_entry("session.x64quantprecision", precision)
            sessions[variant] = ort.InferenceSession(
                str(graph), options, providers=["CPUExecutionProvider"], disabled_optimizers=disabled
            )
        batch = to_float_batch(images, sessions["shipped"].get_inputs()[0].shape[2])
        outputs = {v: s.run(None, {"images": batch}) for v, s in sessions.items()}
        times: dict[str, list[float]] = {v: [] for v in sessions}
        for _ in range(args.rounds):
            for variant, session in sessions.items():
                t = time.process_time()
                session.run(None, {"images": batch})
                times[variant].append((time.process_time() - t) * 1000 / len(batch))
        out["models"][name] = {
            variant: {
                "ms_per_face_median": round(statistics.median(times[variant]), 3),
                "max_abs_diff_vs_shipped": float(
                    max(np.abs(a - b).max() for a, b in zip(outputs[variant], outputs["shipped"]))
                ),
            }
            for variant in sessions
        }
        print(name, json.dumps(out["models"][name]), flush=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "int8_kernels.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
