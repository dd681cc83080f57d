"""Throughput and length of real training runs, read from their run folders (summary.csv, config.json).

A release run measures itself: every epoch's images/s and seconds go to its summary.csv. This script
gathers them for the README and benchmarks/results, so the figures quoted are those of the runs that
made the shipped weights, on the machine that trained them (CPU here, a GPU when one is lent).

    python benchmarks/release_training.py runs/xl/resnet50-both runs/long/vgg16-both \
        --name training_release_cpu --note "2-core CPU, light foreground work"
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path


def describe_run(run: Path) -> dict:
    config = json.loads((run / "config.json").read_text())
    rows = list(csv.DictReader((run / "summary.csv").open()))
    if not rows:
        raise SystemExit(f"{run}: summary.csv has no epochs yet")
    train_cfg, model_cfg = config["train"], config["model"]
    epoch_s = [float(r["epoch_seconds"]) for r in rows]
    img_s = [float(r["images_per_s"]) for r in rows]
    val_s = [float(r["val_seconds"]) for r in rows if r.get("val_seconds")]
    best = min(rows, key=lambda r: float(r["val/score"]))
    return {
        "run": str(run),
        "arch": train_cfg["arch"],
        "recipe": train_cfg.get("recipe", ""),
        "input_size": model_cfg["input_size"],
        "batch_size": train_cfg["batch_size"],
        "precision": train_cfg["precision"],
        "machine": config.get("machine", "not recorded (run started before runs kept it)"),
        "epochs_done": len(rows),
        "epochs_planned": train_cfg["epochs"],  # after a time budget cut it: the loop rewrites config.json
        "time_budget_s": train_cfg.get("time_budget_s", 0),
        "faces_per_epoch": round(img_s[-1] * epoch_s[-1]),
        "train_images_per_s_median": round(statistics.median(img_s), 1),
        "train_epoch_seconds_median": round(statistics.median(epoch_s), 1),
        "val_seconds_median": round(statistics.median(val_s), 1) if val_s else None,
        "train_seconds_total": round(sum(epoch_s), 1),
        "best_epoch": int(best["epoch"]),
        "best_val": {k.removeprefix("val/"): round(float(v), 4) for k, v in best.items() if k.startswith("val/")},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="run folders (with summary.csv and config.json)")
    ap.add_argument("--name", default="training_release", help="results file name, without .json")
    ap.add_argument("--note", default="", help="what else the machine was doing, how the runs were started")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = ap.parse_args()
    result = {"note": args.note, "runs": [describe_run(r) for r in args.runs]}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{args.name}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
