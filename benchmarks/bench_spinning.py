"""ONNX Runtime thread spinning on or off, for one photo end to end and for batches, side by side in one run.

    python benchmarks/bench_spinning.py --out benchmarks/results

The shipped sessions (``agegender.runtime.session_options``) turn spinning off. This script
swaps the detector's and ResNet50's sessions of one FaceAnalyzer between the two settings,
alternating over ``--rounds`` rounds (this machine's speed drifts), and times: one 640x480 photo
with one face from JPEG bytes to answer, with and without flip averaging; and ResNet50 alone on
32 faces. Writes spinning.json (the median round and every round).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
from bench_inference import timed
from scenes_util import background, paste, test_faces


def parse_args(doc: str):
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--utkface", default="../shared/data/utkface/images")
    ap.add_argument("--manifest", default="data/utkface_manifest.csv")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--out", default="benchmarks/results")
    return ap.parse_args()


def compare_session_options(options_by_name: dict, args) -> dict:
    """Time the shipped pipeline with the detector's and ResNet50's sessions built from each of
    ``options_by_name`` (name -> function returning ort.SessionOptions), alternating over the rounds:
    one 640x480 photo with one face from JPEG bytes, with and without flip averaging, and ResNet50
    alone on 32 faces. Returns the median round and every round per setting."""
    import onnxruntime as ort

    from agegender.faces.detect import default_model_path
    from agegender.inference import FaceAnalyzer
    from agegender.models.engines import predict_faces

    faces = test_faces(args.manifest, args.utkface, 32, every=7)
    scene = background(480, 640, seed=2)
    paste(scene, np.ascontiguousarray(faces[0][0]), (320, 240), 160)
    jpeg = cv2.imencode(".jpg", scene[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    crops = np.stack([cv2.resize(c, (64, 64), interpolation=cv2.INTER_AREA) for c, _ in faces])
    analyzer = FaceAnalyzer(models=["resnet50"])
    engine = analyzer.models["resnet50"]

    def sessions(options_of):
        return (
            ort.InferenceSession(str(default_model_path()), options_of(), providers=["CPUExecutionProvider"]),
            ort.InferenceSession(str(engine.graph), options_of(), providers=["CPUExecutionProvider"]),
        )

    settings = {name: sessions(options_of) for name, options_of in options_by_name.items()}
    rounds = {
        name: {"photo_jpeg_flip_ms": [], "photo_jpeg_no_flip_ms": [], "resnet50_batch32_faces_per_s": []}
        for name in settings
    }
    for _ in range(args.rounds):
        for name, (detector_session, network_session) in settings.items():
            analyzer.detector._session, engine.session = detector_session, network_session
            for flip, key in ((True, "photo_jpeg_flip_ms"), (False, "photo_jpeg_no_flip_ms")):
                analyzer.flip_tta = flip
                rounds[name][key].append(round(timed(lambda: analyzer.analyze(jpeg), args.repeat), 2))
            ms = timed(lambda: predict_faces(engine, crops, batch_size=32), max(5, args.repeat // 3))
            rounds[name]["resnet50_batch32_faces_per_s"].append(round(32 / ms * 1000, 1))
    return {
        "rounds": args.rounds,
        "settings": {
            name: {key: {"median": float(np.median(v)), "rounds": v} for key, v in figures.items()}
            for name, figures in rounds.items()
        },
    }


def main():
    from agegender.runtime import session_options

    args = parse_args(__doc__)

    def spinning():
        options = session_options()
        options.add_session_config_entry("session.intra_op.allow_spinning", "1")
        return options

    out = compare_session_options(
        {"spinning (ONNX Runtime's default)": spinning, "no spinning (shipped)": session_options}, args
    )
    print(json.dumps(out, indent=1))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "spinning.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
