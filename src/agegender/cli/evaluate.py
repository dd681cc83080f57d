"""``agegender evaluate``, ``evaluate-photos``, ``report``, ``compare`` and ``card``: scores, reports, the
shipping rule's test-split check and the model card."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from agegender.cli.export import weight_file
from agegender.cli.options import models_to_load
from agegender.errors import UserError


def add_evaluate(sub):
    p = sub.add_parser("evaluate", help="test a model on a cache split: metrics JSON and plots")
    p.add_argument("weights", help="a .safetensors weight file (or run folder holding best.safetensors)")
    p.add_argument("--cache", required=True, help="face cache folder (agegender data cache) holding the split")
    p.add_argument("--name", required=True, help="name of the model in the report (e.g. vgg16-age)")
    p.add_argument("--split", default="test", choices=["train", "val", "test"], help="split to score (default test)")
    p.add_argument("--windows", default="18-50,all", help="age windows to report, comma-separated (default 18-50,all)")
    p.add_argument("--out", default="reports/evals", help="folder for <name>.json and plots (default reports/evals)")
    p.add_argument("--no-flip-tta", action="store_true", help="do not average with the mirrored face")
    p.add_argument("--recipe", default=None, help="override the recipe name stored with the weights")
    p.add_argument(
        "--age-readout",
        choices=["median", "mean"],
        default=None,
        help="distribution heads: read the age as this instead of what the weights store (ablations)",
    )
    p.add_argument("--no-age-bias", action="store_true", help="leave out the val-fitted age bias map (ablations)")
    from agegender.models.engines import ENGINES

    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="what runs the network (default auto: ONNX Runtime where a graph is beside the weights)",
    )
    return p


def run_evaluate(args) -> int:
    from agegender.evaluation.evaluate import evaluate_weights

    weights = weight_file(args.weights)
    result = evaluate_weights(
        weights,
        args.cache,
        args.name,
        split=args.split,
        windows=[w.strip() for w in args.windows.split(",") if w.strip()],
        out_dir=args.out,
        flip_tta=not args.no_flip_tta,
        recipe=args.recipe,
        age_readout=args.age_readout,
        age_bias=not args.no_age_bias,
        engine=args.engine,
    )
    for row in result["rows"]:
        print(json.dumps(row))
    print(
        f"wrote {Path(args.out) / (args.name + '.json')} and the plots in {Path(args.out) / args.name}/",
        file=sys.stderr,
    )
    return 0


def add_evaluate_photos(sub):
    p = sub.add_parser("evaluate-photos", help="accuracy on test faces found in photos (detect + align) vs as crops")
    p.add_argument(
        "--manifest",
        default="data/utkface_manifest.csv",
        help="manifest CSV with the split (default data/utkface_manifest.csv)",
    )
    p.add_argument("--images", required=True, help="folder the manifest's paths are relative to")
    p.add_argument(
        "--model",
        default=None,
        help="vgg16, resnet50 or both (shipped weights; default both, or with --weights only those)",
    )
    p.add_argument("--weights", action="append", default=[], metavar="NAME=FILE", help="other weights (repeatable)")
    p.add_argument("--split", default="test", choices=["train", "val", "test"], help="split to score (default test)")
    p.add_argument("--windows", default="18-50,all", help="age windows to report, comma-separated (default 18-50,all)")
    p.add_argument("--limit", type=int, default=0, help="use about this many faces, evenly spread (0 = all)")
    p.add_argument("-o", "--out", default="reports/photos.json", help="result JSON (default reports/photos.json)")
    return p


def run_evaluate_photos(args) -> int:
    from agegender.evaluation.photos import evaluate_in_photos
    from agegender.inference import FaceAnalyzer

    names, extra = models_to_load(args.model, args.weights, default="both")
    analyzer = FaceAnalyzer(models=names, weights=extra or None)
    result = evaluate_in_photos(
        analyzer, args.manifest, args.images, args.split, args.windows.split(","), args.limit, out=args.out
    )
    for model, windows in result["models"].items():
        for label, r in windows.items():
            print(
                f"{model} ages {label}: found {100 * r['found']:.1f}% of {r['n']}; age MAE crops "
                f"{r['crops']['age_mae']:.2f} -> photos {r['photos']['age_mae']:.2f}; gender accuracy crops "
                f"{100 * r['crops']['gender_acc']:.1f}% -> photos {100 * r['photos']['gender_acc']:.1f}%"
            )
    print(f"wrote {args.out}")
    return 0


def add_report(sub):
    p = sub.add_parser("report", help="write reports/results.json and reports/README.md from evaluations")
    p.add_argument("--evals", default="reports/evals", help="folder of evaluation JSON files")
    p.add_argument("--out", default="reports", help="report folder")
    return p


def run_report(args) -> int:
    from agegender.evaluation.report import write_report

    rows = write_report(args.evals, args.out)
    print(f"wrote {args.out}/results.json ({len(rows)} rows) and {args.out}/README.md")
    return 0


def add_compare(sub):
    p = sub.add_parser(
        "compare",
        help="compare new weights' test evaluations with the shipped ones': a loss beyond one standard "
        "error on any test split (age MAE or gender accuracy) fails the shipping rule (exit 4)",
    )
    p.add_argument("--old", action="append", required=True, help="evaluation JSON of the shipped weights (repeatable)")
    p.add_argument("--new", action="append", required=True, help="evaluation JSON of the new weights (repeatable)")
    return p


def run_compare(args) -> int:
    from agegender.evaluation.shipping import changes_table, compare_test_splits

    def read(files):
        return [json.loads(Path(f).read_text()) for f in files]

    try:
        rows = compare_test_splits(read(args.old), read(args.new))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    print(changes_table(rows))
    losing = [f"{r['dataset']} {r['window']}" for r in rows if r["loses"]]
    print(f"loses beyond noise on: {', '.join(losing)}" if losing else "holds on every test split")
    return 4 if losing else 0


def add_card(sub):
    p = sub.add_parser("card", help="write the model card of shipped weights from their evaluation files")
    p.add_argument("evaluations", nargs="+", help="evaluation JSON files (agegender evaluate), one per shipped model")
    p.add_argument(
        "-o",
        "--out",
        default="src/agegender/weights/MODEL_CARD.md",
        help="model card to write (default src/agegender/weights/MODEL_CARD.md)",
    )
    p.add_argument("--photos", default=None, help="evaluate-photos JSON (e.g. reports/photos.json) to check too")
    return p


def run_card(args) -> int:
    from agegender.evaluation.model_card import write_model_card

    print(f"wrote {write_model_card(args.evaluations, args.out, args.photos)}")
    return 0
