"""The model card of the shipped weights, written from their evaluation files (never by hand)."""

from __future__ import annotations

import json
from pathlib import Path

from agegender.data.datasets import DATASETS, MANIFESTS, dataset_name
from agegender.errors import UserError


def intended_use(datasets: list[str]) -> str:
    names = " and ".join(dataset_name(d) for d in datasets)
    return f"""\
## Intended use and licence

Research and demonstration: estimating the apparent age (years) and the binary gender label of
faces in photos. The code is MIT; **these weights are for non-commercial research only**, because
they were trained on {names}, whose images are for research use only (UTKFace: non-commercial
research; All-Age-Faces: no licence, citation of Cheng et al. 2019 asked).
Do not use them to make decisions about people (access, eligibility, identity, law enforcement).
"""


def limits(datasets: list[str]) -> str:
    names = " and ".join(dataset_name(d) for d in datasets)
    return f"""\
## What they can't do

- Gender is the binary female/male label of the datasets' annotators, not anyone's gender identity.
- Age is the apparent age of a face; the datasets' labels are themselves estimates with errors.
- Trained on {names} alone (no pretraining, small faces): photos unlike their mostly frontal,
  well-lit faces (profiles, heavy occlusion, very small or blurred faces) are less reliable, and
  people of groups these sets hold few of (older adults, children, ethnicities other than East
  Asian and White) get larger errors: the per-group tables show where.
"""


FACTS_FILE = "model_card_facts.json"  # beside this module: the targets and the peers' figures


def load_facts() -> dict:
    """The targets and the peer figures the card is written against (a data file, not code)."""
    from importlib import resources

    return json.loads((resources.files("agegender.evaluation") / FACTS_FILE).read_text(encoding="utf-8"))


def _targets(facts: dict) -> list[tuple]:
    return [(t["dataset"], t["what"], t["window"], t["metric"], t["direction"], t["bound"]) for t in facts["targets"]]


def _row(e: dict, window: str) -> dict | None:
    return next((r for r in e["rows"] if r["age_window"] == window), None)


def _met(value, direction: str, bound: float) -> bool:
    return value <= bound + 1e-12 if direction == "<=" else value >= bound - 1e-12


def group_by_model(evals: list[dict]) -> dict[str, dict[str, dict]]:
    """{arch: {test set: evaluation}} in the order given (one shipped weight file per architecture)."""
    models: dict[str, dict[str, dict]] = {}
    for e in evals:
        models.setdefault(e["model"]["arch"], {})[e.get("dataset", "utkface")] = e
    return models


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def targets_section(evals: list[dict], photos: dict | None, facts: dict | None = None) -> list[str]:
    """The project's targets (``facts``: :func:`load_facts`'s), each model's measured value on each test set and
    whether it is met (✓ / ✗)."""
    facts = facts or load_facts()

    def fmt(metric, v):
        return "—" if v is None else (_num(v) if metric == "age_mae" else _pct(v))

    models = group_by_model(evals)
    archs = list(models)
    datasets = sorted({d for m in models.values() for d in m}, key=lambda d: (d != "utkface", d))

    def core_mae(arch):  # mean 18-50 MAE over the test sets: picks the best architecture
        values = [(_row(e, "18-50") or {}).get("age_mae") for e in models[arch].values()]
        values = [v for v in values if v is not None]
        return sum(values) / len(values) if values else float("inf")

    best = min(archs, key=core_mae)
    lines = [
        "## Against the targets",
        "",
        f"Best architecture (lowest 18-50 age MAE, mean over the test sets): **{best}**. ✓ met, ✗ not met.",
        "",
        "| target | " + " | ".join(archs) + " |",
        "| --- |" + " ---: |" * len(archs),
    ]
    for dataset, what, window, metric, direction, bound in _targets(facts):
        if dataset not in datasets:
            continue
        cells = []
        for arch in archs:
            r = _row(models[arch].get(dataset, {"rows": []}), window)
            v = None if r is None else r.get(metric)
            cells.append("—" if v is None else f"{fmt(metric, v)} {_mark(_met(v, direction, bound))}")
        lines.append(
            f"| {dataset_name(dataset)} {what}, ages {window} "
            f"{direction.replace('<=', '≤').replace('>=', '≥')} {fmt(metric, bound)} | " + " | ".join(cells) + " |"
        )
    for dataset in datasets:
        cells_child, cells_signed = [], []
        for arch in archs:
            d = models[arch].get(dataset, {}).get("details", {}).get("all", {})
            child = (d.get("gender_by_bucket") or {}).get("0-12")
            ok = child and child["accuracy"] >= facts["child_gender_accuracy"]
            cells_child.append("—" if not child else f"{_pct(child['accuracy'])} {_mark(bool(ok))}")
            adult = {
                k: c
                for k, c in (d.get("cells") or {}).items()
                if k.split(" ")[1] in facts["adult_buckets"] and c.get("mean_signed_error") is not None
            }
            if adult:
                worst = max(adult, key=lambda k: abs(adult[k]["mean_signed_error"]))
                e = adult[worst]["mean_signed_error"]
                cells_signed.append(f"{worst}: {e:+.1f} {_mark(abs(e) <= facts['cell_signed_error_years'])}")
            else:
                cells_signed.append("—")
        lines.append(
            f"| {dataset_name(dataset)} gender accuracy, children 0-12 ≥ {_pct(facts['child_gender_accuracy'])} | "
            + " | ".join(cells_child)
            + " |"
        )
        lines.append(
            f"| {dataset_name(dataset)} largest signed age error of a gender x age cell 18-64, within "
            f"±{facts['cell_signed_error_years']} years | " + " | ".join(cells_signed) + " |"
        )
    for arch in archs:
        if arch == best:
            continue
        gaps = []
        for dataset in datasets:
            for window in ("18-50", "all"):
                r = _row(models[arch].get(dataset, {"rows": []}), window)
                b = _row(models[best].get(dataset, {"rows": []}), window)
                for metric, limit in facts["close_to_best"].items():
                    if r and b and r.get(metric) is not None and b.get(metric) is not None:
                        gap = r[metric] - b[metric] if metric == "age_mae" else b[metric] - r[metric]
                        unit = f"{gap:+.2f} years" if metric == "age_mae" else f"{100 * gap:+.1f} points"
                        gaps.append(
                            f"{dataset_name(dataset)} {'age MAE' if metric == 'age_mae' else 'gender accuracy'} "
                            f"{window}: {unit} {_mark(gap <= limit + 1e-12)}"
                        )
        lines += ["", f"{arch} against {best} (target: within 0.5 years and 1 point): " + "; ".join(gaps) + "."]
    if photos:
        lines += [
            "",
            f"Faces found in photos ({photos['faces']} UTKFace test faces in scenes, {photos['scene']}) "
            "against the same faces as crops (target: at most 0.5 years and 1 point lost):",
            "",
        ]
        for arch, windows in photos["models"].items():

            def mark(d, key):
                return _mark(d[key] <= facts["photo_loss"][key] + 1e-12)

            parts = [
                f"ages {w}: {d['age_mae_loss']:+.2f} years {mark(d, 'age_mae_loss')}, "
                f"{100 * d['gender_acc_loss']:+.1f} points {mark(d, 'gender_acc_loss')}"
                for w, d in windows.items()
            ]
            lines.append(f"- {arch}: " + "; ".join(parts))
    return lines + [""]


def readout_parts(model: dict) -> list[str]:
    """How a model (its config as stored in an evaluation file) turns outputs into answers: the age
    read-out and the calibration fitted on val. A distribution head whose evaluation names no read-out
    was read with the mean."""
    parts = []
    if model.get("age_head") == "distribution":
        parts.append(
            f"age = {model.get('age_readout', 'mean')} of the predicted distribution over "
            f"{model['age_min']}-{model['age_max']} years"
        )
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
    """The card's recipe and epochs cells: for a fine-tuned model, the runs it started from come first;
    a weight average (``agegender average``) names its members instead of one run's recipe and epochs."""
    val = e.get("val_at_training") or {}
    recipe, epochs = f"`{e['recipe']}`", str(val.get("epoch", "—"))
    if e.get("soup_of"):
        recipe, epochs = "weight average", "see below"
    base = e.get("fine_tuned_from")
    if base:
        earlier = " + ".join(f"`{r}`" for r in base["recipe"].split(" + "))  # lineage joins recipes with " + "
        recipe, epochs = f"{earlier} + {recipe}", f"{base['epochs']} + {epochs}"
    return recipe, epochs


def describe_average(members: list[dict]) -> str:
    """One line for the members of a weight average: each run's recipe, epochs and the options that set it
    apart, a nested average in brackets, a member without a training record by its file and hash."""
    parts = []
    for m in members:
        if m.get("soup_of"):
            parts.append(f"the mean of ({describe_average(m['soup_of'])})")
            continue
        if m.get("role") == "start":
            parts.append(f"the weights the runs started from (`{m['file']}`, sha256 {m['sha256'][:12]})")
            continue
        train = m.get("train") or {}
        if not train:
            parts.append(f"`{m['file']}` (sha256 {m['sha256'][:12]})")
            continue
        notable = {
            k: train[k]
            for k in ("augment_photo", "gender_child_weight", "teacher", "seed", "lr")
            if train.get(k) not in (None, "", 0, 0.0)
        }
        options = ", ".join(f"{k} {Path(v).name if k == 'teacher' else v}" for k, v in notable.items())
        parts.append(f"`{m['recipe']}` {train.get('epochs', '?')} epochs ({options}; sha256 {m['sha256'][:12]})")
    return "; ".join(parts)


def _engine_words(engine: str | None) -> str:
    return {
        "onnx-int8": "the int8 ONNX graph (what the CPU runs by default)",
        "onnx": "the fp32 ONNX graph",
        "torch": "PyTorch (fp32)",
    }.get(engine or "", f"engine {engine or 'not recorded'}")


def write_model_card(eval_files: list[str | Path], out: str | Path, photos_file: str | Path | None = None) -> Path:
    """Write a markdown model card for the models evaluated in ``eval_files`` (agegender evaluate JSON, one per
    shipped model and test set); ``photos_file`` (agegender evaluate-photos JSON) adds faces found in photos."""
    evals = [json.loads(Path(f).read_text()) for f in eval_files]
    photos = json.loads(Path(photos_file).read_text()) if photos_file else None
    if not evals:
        raise UserError("no evaluation files given for the model card")
    models = group_by_model(evals)
    tested = sorted({e.get("dataset", "utkface") for e in evals}, key=lambda d: (d != "utkface", d))
    trained = sorted({d for e in evals for d in e.get("trained_on", ["utkface"])}, key=lambda d: (d != "utkface", d))
    sizes = []
    for dataset in tested:
        e = next(e for e in evals if e.get("dataset", "utkface") == dataset)
        counts = ", ".join(
            f"{r['n']:,} faces" + ("" if r["age_window"] == "all" else f" aged {r['age_window']}") for r in e["rows"]
        )
        sizes.append(f"{dataset_name(dataset)} (`{MANIFESTS.get(dataset, '?')}`, {counts})")
    lines = [
        "# Model card: agegender's shipped weights",
        "",
        "Generated by `agegender card` from the evaluation files of the shipped weights. Every number is",
        "from a committed test split that no model saw in training or model selection: " + "; ".join(sizes) + ".",
        "What ran each network: "
        + ", ".join(f"{arch} {_engine_words(next(iter(d.values())).get('engine'))}" for arch, d in models.items())
        + ".",
        "",
        "## Models",
        "",
        "| file | architecture | heads | input | training recipe | epochs | trained on | val score at export |",
        "| --- | --- | --- | --- | --- | ---: | --- | ---: |",
    ]
    averages = []  # a line under the table per weight average, naming its members
    for arch, by_dataset in models.items():
        e = next(iter(by_dataset.values()))
        m, val = e["model"], e.get("val_at_training") or {}
        heads = (
            f"age ({m['age_head']}, {m['age_min']}-{m['age_max']} years) + gender" if m["task"] == "both" else m["task"]
        )
        recipe, epochs = recipe_and_epochs(e)
        lines.append(
            f"| `{arch}.safetensors` | {arch} | {heads} | {m['input_size']}x{m['input_size']} | "
            f"{recipe} | {epochs} | {' + '.join(dataset_name(d) for d in e.get('trained_on', ['utkface']))} | "
            f"{_num(val.get('score'))} |"
        )
        if e.get("soup_of"):
            averages += [
                "",
                f"`{arch}.safetensors` is the uniform mean of the weights of: {describe_average(e['soup_of'])}.",
            ]
    lines += averages
    lines += ["", "Training data (train splits of the committed manifests; no image is in the repository):", ""]
    lines += [f"- {dataset_name(d)}: {DATASETS.get(d, (d, 'see its README'))[1]}." for d in trained]
    lines += [
        "",
        "Faces are aligned to a template derived from UTKFace's crops; photo datasets go through the",
        "analyzer's own detector and alignment, so training sees the framing inference produces.",
        "",
        "## Test results",
        "",
        "| model | test set | ages | n | age MAE | CS@5 | gender accuracy | gender ROC AUC | gender ECE |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for arch, by_dataset in models.items():
        for dataset, e in by_dataset.items():
            for r in e["rows"]:
                g = e["details"][r["age_window"]].get("gender", {})
                lines.append(
                    f"| {arch} | {dataset_name(dataset)} | {r['age_window']} | {r['n']} | {_num(r['age_mae'])} | "
                    f"{_pct(r['age_cs5'])} | {_pct(r['gender_acc'])} | {_num3(g.get('roc_auc'))} | "
                    f"{_num3(g.get('ece'))} |"
                )
    facts = load_facts()
    lines += (
        [""]
        + targets_section(evals, photos, facts)
        + ["\n".join(facts["peers_section"]) + "\n"]
        + readout_section([next(iter(m.values())) for m in models.values()])
    )
    for dataset in tested:
        base = next(e for e in evals if e.get("dataset", "utkface") == dataset)["details"]
        lines += [
            f"Constant guesses on {dataset_name(dataset)}: "
            + "; ".join(
                f"ages {w}: {d['baseline']['age_guess']:.0f} years → MAE {d['baseline']['age_mae']:.2f}, "
                f"'{d['baseline']['gender_guess']}' → {_pct(d['baseline']['gender_acc'])}"
                for w, d in base.items()
                if d.get("baseline")
            )
            + ".",
            "",
        ]
    lines += ["## Errors by age and by group (all ages)", ""]
    for arch, by_dataset in models.items():
        for dataset, e in by_dataset.items():
            lines += _group_lines(arch, dataset, e["details"].get("all") or next(iter(e["details"].values())))
    lines += ["## Where they are weakest", ""]
    for arch, by_dataset in models.items():
        for dataset, e in by_dataset.items():
            d = e["details"].get("all") or next(iter(e["details"].values()))
            lines.append(f"- {arch} on {dataset_name(dataset)}: " + "; ".join(_weakest(d)) + ".")
    lines += ["", intended_use(trained), limits(trained)]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    return out


def _group_lines(arch: str, dataset: str, d: dict) -> list[str]:
    lines = [f"**{arch} on {dataset_name(dataset)}**", ""]
    if "age_by_bucket" in d:
        lines.append(
            "- age MAE (mean signed error) by true age: "
            + ", ".join(f"{k}: {v['mae']:.1f} ({v['mean_signed_error']:+.1f})" for k, v in d["age_by_bucket"].items())
        )
    if "cells" in d:
        lines.append(
            "- mean signed age error by gender x age: "
            + ", ".join(
                f"{k}: {v['mean_signed_error']:+.1f}" for k, v in d["cells"].items() if "mean_signed_error" in v
            )
        )
    races = {k: v for k, v in (d.get("age_by_race") or {}).items() if k != "unknown"}
    if races:
        lines.append("- age MAE by UTKFace race label: " + ", ".join(f"{k}: {v['mae']:.2f}" for k, v in races.items()))
    if "age_uncertainty" in d:
        u = d["age_uncertainty"]
        lines.append(
            f"- age spread (the ± shown with each age): mean {u['mean_std']:.1f} years; "
            f"{_pct(u['share_within_1std'])} of faces within one spread of their true age (68.3% if "
            f"calibrated), {_pct(u['share_within_2std'])} within two (95.4%)"
        )
    if "gender_by_bucket" in d:
        lines.append(
            "- gender accuracy by true age: "
            + ", ".join(f"{k}: {_pct(v['accuracy'])}" for k, v in d["gender_by_bucket"].items())
        )
    races = {k: v for k, v in (d.get("gender_by_race") or {}).items() if k != "unknown"}
    if races:
        lines.append(
            "- gender accuracy by UTKFace race label: "
            + ", ".join(f"{k}: {_pct(v['accuracy'])}" for k, v in races.items())
        )
    for kind, gap in (d.get("gender_gap") or {}).items():
        if gap:
            lines.append(
                f"- gender accuracy gap {kind.replace('_', ' ')} (groups of {gap['min_n']}+ faces): "
                f"{100 * gap['gap']:.1f} points (best {gap['best']} {_pct(gap['best_acc'])}, worst "
                f"{gap['worst']} {_pct(gap['worst_acc'])})"
            )
    return lines + [""]


def _weakest(d: dict) -> list[str]:
    weak = []
    if "age_by_bucket" in d:
        k, v = max(d["age_by_bucket"].items(), key=lambda kv: kv[1]["mae"])
        weak.append(f"age of faces aged {k} (MAE {v['mae']:.1f}, mean signed error {v['mean_signed_error']:+.1f})")
    races = {k: v for k, v in (d.get("age_by_race") or {}).items() if k != "unknown"}
    if races:
        k, v = max(races.items(), key=lambda kv: kv[1]["mae"])
        weak.append(f"age for the UTKFace group '{k}' (MAE {v['mae']:.2f})")
    if "gender_by_bucket" in d:
        k, v = min(d["gender_by_bucket"].items(), key=lambda kv: kv[1]["accuracy"])
        weak.append(f"gender of faces aged {k} ({_pct(v['accuracy'])})")
    return weak
