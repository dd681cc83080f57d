"""GPU inference (ONNX Runtime's CUDA provider, ``--device cuda``) beside the same machine's CPU.

Needs a machine with an NVIDIA GPU and onnxruntime-gpu in place of onnxruntime. For each shipped
network: which providers the session runs on, faces per second at batch 1, 32 and 128, and how far
the GPU's answers are from the CPU's on the same faces and the same (fp32) graph, beside the CPU's
default (int8) speed; then whole photos through ``FaceAnalyzer``
(640x480 scenes of four real faces: detection, alignment, one network) on each device, and the CLI
(`agegender predict --device cuda`) on a folder of faces. Writes one JSON file.

    python benchmarks/bench_gpu.py --faces DIR_OF_FACE_PHOTOS --out benchmarks/results/gpu.json
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from timing import cpu_facts, timed

from agegender.data.images import read_image
from agegender.evaluation.scenes import background, paste
from agegender.inference import FaceAnalyzer
from agegender.models.engines import open_engine, predict_faces
from agegender.models.shipped import SHIPPED_MODELS, shipped_weights_path
from agegender.preprocess import resize_face


def machine() -> dict:
    import onnxruntime as ort

    try:
        gpu = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except FileNotFoundError:
        gpu = "none (no nvidia-smi)"
    return {
        "gpu": gpu,
        **cpu_facts(),
        "onnxruntime": ort.__version__,
        "available_providers": ort.get_available_providers(),
    }


# The GPU runs the fp32 graphs, so the CPU is compared on the same graphs; "cpu-default" is what the
# CPU runs when nothing is asked (the shipped int8 graphs), for speed only.
RUNS = {"cpu": ("cpu", "onnx"), "cuda": ("cuda", "onnx"), "cpu-default": ("cpu", "auto")}


def networks(faces: list[np.ndarray], names) -> dict:
    out = {}
    for name in names:
        weights = shipped_weights_path(name)
        per_run, answers = {}, {}
        for run, (device, engine_name) in RUNS.items():
            engine = open_engine(weights, engine=engine_name, device=device)
            batch = np.stack([resize_face(f, engine.input_size) for f in faces])
            answers[run] = predict_faces(engine, batch, batch_size=128)
            speed = {}
            for b in (1, 32, 128):
                n = min(len(batch), max(b, 32 if b == 1 else 4 * b))
                part = batch[:n]
                # two warm-ups: the GPU's first runs pick their kernels
                ms = timed(lambda e=engine, x=part, b=b: predict_faces(e, x, batch_size=b), repeat=5, warmups=2)
                speed[f"batch_{b}_faces_per_s"] = round(n / ms * 1000, 1)
            per_run[run] = {"engine": engine.name, "providers": engine.session.get_providers(), **speed}
        cpu, gpu = answers["cpu"], answers["cuda"]
        out[name] = {
            **per_run,
            "faces": len(faces),
            "max_abs_age_diff_years": round(float(np.max(np.abs(cpu["age"] - gpu["age"]))), 4),
            "max_abs_p_female_diff": round(float(np.max(np.abs(cpu["p_female"] - gpu["p_female"]))), 5),
            "same_gender_call": float(np.mean((cpu["p_female"] >= 0.5) == (gpu["p_female"] >= 0.5))),
        }
    return out


def scenes(faces: list[np.ndarray], n: int) -> list[np.ndarray]:
    """640x480 photos, each with four of the faces (100-160 px) on a smooth background."""
    rng = np.random.default_rng(0)
    photos = []
    for i in range(n):
        scene = background(480, 640, seed=i)
        for j, (x, y) in enumerate(((160, 130), (480, 130), (160, 350), (480, 350))):
            paste(scene, faces[(4 * i + j) % len(faces)], (x, y), float(rng.uniform(100, 160)))
        photos.append(scene)
    return photos


def pipeline(photos: list[np.ndarray], names) -> dict:
    out = {}
    for name in names:
        found, ages, speed = {}, {}, {}
        for run, (device, engine_name) in RUNS.items():
            analyzer = FaceAnalyzer(models=(name,), device=device, engine=engine_name)
            results = [analyzer.analyze(p) for p in photos[:2]]  # warm-up
            t = time.perf_counter()
            results = [analyzer.analyze(p) for p in photos]
            speed[run] = round(len(photos) / (time.perf_counter() - t), 1)
            found[run] = [len(r.faces) for r in results]
            ages[run] = [f.predictions[name].age for r in results for f in r.faces]
        same = found["cpu"] == found["cuda"]
        out[name] = {
            "photos": len(photos),
            "photos_per_s": speed,
            "faces_found_cpu": int(sum(found["cpu"])),
            "faces_found_cuda": int(sum(found["cuda"])),
            "same_faces_per_photo": same,
            "max_abs_age_diff_years": (
                round(float(np.max(np.abs(np.subtract(ages["cpu"], ages["cuda"])))), 4) if same else None
            ),
        }
    return out


def cli(folder: Path, out_dir: Path) -> dict:
    target = out_dir / "predict_cuda.csv"
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "agegender", "predict", str(folder), "--device", "cuda", "-o", str(target)],
        capture_output=True,
        text=True,
    )
    with open(target, newline="") as f:
        rows = list(csv.DictReader(f))
    return {
        "exit_code": done.returncode,
        "seconds": round(time.perf_counter() - t, 2),
        "rows": len(rows),
        "stderr_notes": [line for line in done.stderr.splitlines() if "note" in line.lower() or "cuda" in line.lower()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=Path, required=True, help="a folder of face photos (e.g. UTKFace crops)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gpu.json"))
    parser.add_argument("--scenes", type=int, default=100)
    args = parser.parse_args()
    paths = sorted(p for p in args.faces.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    faces = [read_image(p) for p in paths]
    result: dict = {"machine": machine()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for key, job in (
        ("networks", lambda: networks(faces, SHIPPED_MODELS)),
        ("whole_photos", lambda: pipeline(scenes(faces, args.scenes), SHIPPED_MODELS)),
        ("cli", lambda: cli(args.faces, args.out.parent)),
    ):
        try:
            result[key] = job()
        except Exception as e:  # keep what was measured; say what broke
            result[key] = {"error": f"{type(e).__name__}: {e}"}
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(key, json.dumps(result[key]), flush=True)


if __name__ == "__main__":
    main()
