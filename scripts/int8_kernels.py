"""The shipped int8 graphs' answers on a CPU without VNNI against those of a VNNI CPU, with ONNX Runtime's
exact quantized products (``session.x64quantprecision``, what ``runtime.session_options`` sets) and without.

Without VNNI, ONNX Runtime's fast u8 x s8 kernels add pairs of products in 16 bits, which saturate. No AVX2-only
machine is at hand, so one is emulated: qemu-user's Haswell CPU (AVX2 and FMA, no AVX-512, no VNNI) runs the same
Python, and ONNX Runtime picks its kernels from the emulated CPUID (about 100x slower, so a sample of val faces).

    python scripts/int8_kernels.py save --n 64 -o build/int8-reference.npz               # on the VNNI CPU
    qemu-x86_64 -cpu Haswell-v4 .venv/bin/python scripts/int8_kernels.py compare build/int8-reference.npz \\
        -o reports/selection/int8-avx2-val.json                                           # the emulated one

Older CPUs can be emulated the same way (``-cpu Nehalem-v2``: SSE4.2, no AVX; ``--cpu`` records which).

``save`` runs the int8 graphs both ways on ``--n`` val faces per cache (seeded draw, all ages) and keeps the answers;
``compare`` runs them again on this CPU and writes, per model and cache and per setting, how far its answers are
from the saved ones (gender decisions changed, |Δ age|, |Δ p_female|) and both age MAEs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import agegender.runtime
from agegender.data.cache import split_faces
from agegender.models.engines import open_engine, predict_faces
from agegender.models.shipped import shipped_weights_path

SETTINGS = {"exact": "1", "fast": "0"}
"""session.x64quantprecision per setting: "exact" is what agegender runs, "fast" ONNX Runtime's default."""

_session_options = agegender.runtime.session_options


def cpu_features() -> list[str]:
    """The x86 vector extensions this CPU reports (numpy reads CPUID, so an emulated CPU shows its own)."""
    features = np._core._multiarray_umath.__cpu_features__  # type: ignore[attr-defined]
    wanted = ("SSE42", "AVX", "FMA3", "AVX2", "AVX512F", "AVX512VNNI", "AVXVNNI")
    return [k for k in wanted if features.get(k)]


def answers(name: str, images: np.ndarray, setting: str) -> dict[str, np.ndarray]:
    """The int8 graph of ``name`` on ``images`` with flip averaging, as ``predict`` runs it, under ``setting``."""

    def options(threads=None):
        opts = _session_options(threads)
        opts.add_session_config_entry("session.x64quantprecision", SETTINGS[setting])
        return opts

    agegender.runtime.session_options = options  # onnx_session looks it up at call time
    try:
        engine = open_engine(shipped_weights_path(name), engine="onnx-int8", threads=1)
    finally:
        agegender.runtime.session_options = _session_options
    pred = predict_faces(engine, images, batch_size=64, flip_tta=True)
    return {"age": pred["age"], "p_female": pred["p_female"]}


def sample(cache: str, n: int):
    out = []
    for faces in split_faces(cache, "val"):
        pick = np.sort(np.random.default_rng(0).choice(len(faces.ages), min(n, len(faces.ages)), replace=False))
        out.append((faces.dataset, faces.images[pick], faces.ages[pick], faces.female[pick]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["save", "compare"])
    parser.add_argument("reference", nargs="?", type=Path, help="compare: the file 'save' wrote")
    parser.add_argument("--models", default="resnet50,vgg16")
    parser.add_argument("--cache", default="cache/utk64,cache/aaf64")
    parser.add_argument("--n", type=int, default=64, help="save: val faces per cache (default 64)")
    parser.add_argument("--cpu", default="Haswell-v4", help="compare: the qemu CPU model it runs under, for the record")
    parser.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args()
    import onnxruntime as ort

    ort.set_default_logger_severity(3)  # overwriting the config entry is announced as a warning
    if args.mode == "save":
        saved: dict[str, np.ndarray] = {}
        for dataset, images, ages, female in sample(args.cache, args.n):
            saved[f"{dataset}/images"], saved[f"{dataset}/ages"], saved[f"{dataset}/female"] = images, ages, female
            for name in args.models.split(","):
                for setting in SETTINGS:
                    for key, value in answers(name, images, setting).items():
                        saved[f"{dataset}/{name}/{setting}/{key}"] = value
                same = all(
                    np.array_equal(saved[f"{dataset}/{name}/exact/{k}"], saved[f"{dataset}/{name}/fast/{k}"])
                    for k in ("age", "p_female")
                )
                print(dataset, name, "exact and fast identical here:", same, flush=True)
        saved["cpu_features"] = np.array(cpu_features())
        args.out.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(args.out, **saved)
        return
    ref = np.load(args.reference)
    datasets = sorted({k.split("/")[0] for k in ref.files if k.endswith("/images")})
    out: dict = {
        "reference_cpu": ref["cpu_features"].tolist(),
        "this_cpu": cpu_features(),
        "command": f"qemu-x86_64 -cpu {args.cpu} ... scripts/int8_kernels.py compare --cpu {args.cpu} (see the docstring)",
        "results": {},
    }
    for dataset in datasets:
        images, ages, female = (ref[f"{dataset}/{k}"] for k in ("images", "ages", "female"))
        for name in args.models.split(","):
            base = {k: ref[f"{dataset}/{name}/exact/{k}"] for k in ("age", "p_female")}
            for setting in SETTINGS:
                here = answers(name, images, setting)
                changed = (here["p_female"] >= 0.5) != (base["p_female"] >= 0.5)
                row = {
                    "faces": len(ages),
                    "gender_decisions_changed": int(changed.sum()),
                    "of_which_now_wrong": int(np.sum(changed & ((here["p_female"] >= 0.5) != (female == 1)))),
                    "mean_abs_d_age": round(float(np.mean(np.abs(here["age"] - base["age"]))), 3),
                    "max_abs_d_age": round(float(np.max(np.abs(here["age"] - base["age"]))), 3),
                    "mean_abs_d_p_female": round(float(np.mean(np.abs(here["p_female"] - base["p_female"]))), 4),
                    "mae_reference_cpu": round(float(np.mean(np.abs(base["age"] - ages))), 3),
                    "mae_this_cpu": round(float(np.mean(np.abs(here["age"] - ages))), 3),
                }
                out["results"][f"{name}/{dataset}/{setting}"] = row
                print(name, dataset, setting, row, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
