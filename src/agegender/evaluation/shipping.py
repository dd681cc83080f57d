"""The shipping rule's test-split half: new weights lose on no test split by more than its noise.

New weights replace the shipped ones only when they beat them on the model-selection score (val,
:mod:`agegender.evaluation.selection`) and, read once on each test split, lose on none by more than
one standard error of the figure on that split: for age MAE the spread of the absolute errors over
the root of the number of faces (from the evaluation's MAE and RMSE), for gender accuracy
sqrt(p (1 - p) / n). Smaller losses are what another draw of the same number of faces would show.
"""

from __future__ import annotations

import math


def _figures(evaluation: dict) -> dict[tuple[str, str], dict]:
    """(dataset, age window) -> n, MAE, its standard error, gender accuracy and its standard error."""
    out = {}
    dataset = evaluation.get("dataset", "utkface")
    for window, d in evaluation["details"].items():
        row: dict = {"n": d["n"]}
        age = d.get("age")
        if age:
            spread = math.sqrt(max(age["rmse"] ** 2 - age["mae"] ** 2, 0.0))
            row.update(mae=age["mae"], mae_se=spread / math.sqrt(age["n"]))
        gender = d.get("gender")
        if gender:
            p = gender["accuracy"]
            row.update(acc=p, acc_se=math.sqrt(p * (1 - p) / gender["n"]))
        out[(dataset, window)] = row
    return out


def compare_test_splits(old: list[dict], new: list[dict]) -> list[dict]:
    """Each test split and age window that both sets of evaluations hold: old and new figures, the
    noise, and ``loses``: a loss larger than the noise in either figure."""
    before = {k: v for e in old for k, v in _figures(e).items()}
    after = {k: v for e in new for k, v in _figures(e).items()}
    rows = []
    for key in sorted(set(before) & set(after), key=lambda k: (k[0] != "utkface", k)):
        a, b = before[key], after[key]
        if a["n"] != b["n"]:
            raise ValueError(f"{key[0]} {key[1]}: {a['n']} faces before, {b['n']} now: not the same test split")
        row = {"dataset": key[0], "window": key[1], "n": a["n"]}
        losses = []
        if "mae" in a and "mae" in b:
            row.update(mae_old=a["mae"], mae_new=b["mae"], mae_noise=b["mae_se"])
            losses.append(b["mae"] - a["mae"] > b["mae_se"])
        if "acc" in a and "acc" in b:
            row.update(acc_old=a["acc"], acc_new=b["acc"], acc_noise=b["acc_se"])
            losses.append(a["acc"] - b["acc"] > b["acc_se"])
        row["loses"] = any(losses)
        rows.append(row)
    if not rows:
        raise ValueError("the two sets of evaluations share no test split")
    return rows


def changes_table(rows: list[dict]) -> str:
    """The changes as a Markdown table."""
    lines = [
        "| test split | ages | n | age MAE before → after (noise) | gender before → after (noise) | verdict |",
        "|---|---|---:|---|---|---|",
    ]
    for r in rows:
        mae = f"{r['mae_old']:.2f} → {r['mae_new']:.2f} (±{r['mae_noise']:.2f})" if "mae_old" in r else "—"
        acc = (
            f"{100 * r['acc_old']:.1f}% → {100 * r['acc_new']:.1f}% (±{100 * r['acc_noise']:.1f})"
            if "acc_old" in r
            else "—"
        )
        verdict = "loses beyond noise" if r["loses"] else "holds"
        lines.append(f"| {r['dataset']} | {r['window']} | {r['n']} | {mae} | {acc} | {verdict} |")
    return "\n".join(lines)
