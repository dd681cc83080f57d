"""The ``agegender`` command: data, train, evaluate, report, predict, serve.

Each sub-command parses its options and hands a plain config to the module that
does the work; nothing here holds logic of its own beyond wiring and messages.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import sys
from dataclasses import fields
from pathlib import Path

from agegender.cli_predict import add_predict, add_serve
from agegender.cli_select import add_select
from agegender.errors import UserError

EXAMPLES = """examples:
  1. agegender data import utkface ../shared/data/utkface/images -o data/utkface_manifest.csv
  2. agegender data cache data/utkface_manifest.csv --root ../shared/data/utkface/images -o cache/utk64
  3. agegender train --cache cache/utk64 --arch resnet50 --task both --epochs 20 --out runs/r50
  4. agegender evaluate runs/r50/best.safetensors --cache cache/utk64 --name resnet50-both
  5. agegender report
  6. agegender predict photo.jpg --model both --annotate out/
  7. agegender serve --port 8000
"""


class CliError(UserError):
    """A user-facing error: printed without a traceback, exit code 2."""


def _add_data(sub):
    p = sub.add_parser("data", help="import datasets into a manifest; build the face cache")
    dsub = p.add_subparsers(dest="data_cmd", required=True)
    imp = dsub.add_parser("import", help="import a dataset into a manifest CSV (with content hashes and a split)")
    imp.add_argument("format", choices=["utkface", "aaf", "imdbwiki", "csv", "folder"], help="the dataset's layout")
    imp.add_argument("source", help="UTKFace folder, All-Age-Faces folder (labels.csv + images/), imdb.mat/wiki.mat, "
                                    "CSV file, or <gender>/<age>/ folder tree")
    imp.add_argument("-o", "--out", required=True, help="manifest CSV to write")
    imp.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    imp.add_argument("--min-age", type=int, default=None, help="keep only ages >= this (default: all ages)")
    imp.add_argument("--max-age", type=int, default=None, help="keep only ages <= this (default: all ages)")
    imp.add_argument("--zero-is", choices=["male", "female"], default="male",
                     help="CSV only: what gender 0 means when genders are 0/1 (default male, as UTKFace)")
    imp.add_argument("--keep-multi-face", action="store_true", help="IMDB-WIKI: keep photos with a second face")
    c = dsub.add_parser("cache", help="decode every face once into a packed, memory-mappable cache")
    c.add_argument("manifest", help="manifest CSV (agegender data import), e.g. data/utkface_manifest.csv")
    c.add_argument("--root", required=True, help="folder the manifest's paths are relative to")
    c.add_argument("-o", "--out", required=True, help="cache folder")
    c.add_argument("--size", type=int, default=64, help="face size in pixels (default 64)")
    c.add_argument("--margin", type=float, default=0.4, help="margin around face boxes (IMDB-WIKI), fraction")
    c.add_argument("--detect", action="store_true",
                   help="photos (e.g. All-Age-Faces): find the one face with the analyzer's detector and align it "
                        "as inference does; photos with no face or several are skipped and listed")
    c.add_argument("--detect-pad", type=float, default=0.0,
                   help="with --detect: pad each image by this share of its side (edges repeated) before "
                        "detection, for tight face crops such as UTKFace's (default 0)")
    pk = dsub.add_parser("pack", help="store a cache as one small file of JPEGs (to carry to another machine)")
    pk.add_argument("cache", help="cache folder (agegender data cache)")
    pk.add_argument("-o", "--out", required=True, help="pack file (.npz)")
    pk.add_argument("--quality", type=int, default=85, help="JPEG quality (default 85)")
    pk.add_argument("--splits", default="train,val,test", help="splits to keep, comma-separated")
    up = dsub.add_parser("unpack", help="decode a pack back into a cache folder")
    up.add_argument("pack", help="pack file (agegender data pack)")
    up.add_argument("-o", "--out", required=True, help="cache folder")
    return p


def _cmd_data(args) -> int:
    from agegender.data import manifest as mf

    if args.data_cmd == "import":
        src = Path(args.source)
        if args.format == "utkface":
            from agegender.data.utkface import import_utkface

            records, bad = import_utkface(src)
            root = src
        elif args.format == "aaf":
            from agegender.data.aaf import import_aaf

            records, bad = import_aaf(src)
            root = src / "images"
        elif args.format == "imdbwiki":
            from agegender.data.imdbwiki import import_imdbwiki

            records, reasons = import_imdbwiki(src, drop_multiple_faces=not args.keep_multi_face)
            bad = [(f"{n} rows", reason) for reason, n in reasons.items()]
            root = src.parent
        elif args.format == "csv":
            from agegender.data.generic import import_csv

            records, bad = import_csv(src, args.zero_is)
            root = src.parent
        else:
            from agegender.data.generic import import_folder

            records, bad = import_folder(src)
            root = src
        n_read = len(records)
        if args.min_age is not None or args.max_age is not None:
            window = mf.AgeWindow(args.min_age if args.min_age is not None else 0,
                                  args.max_age if args.max_age is not None else 200)
            records = mf.select(records, window=window)
        records, dropped = mf.hash_and_deduplicate(records, root)
        bad += dropped
        if not records:
            raise CliError(f"no usable faces in {src} ({len(bad)} entries skipped)")
        mf.assign_splits(records, seed=args.seed)
        mf.write_manifest(records, args.out)
        log_path = Path(args.out).with_suffix(".skipped.log")
        log_path.write_text("".join(f"{name}\t{reason}\n" for name, reason in bad))
        counts = {s: sum(r.split == s for r in records) for s in mf.SPLITS}
        print(f"read {n_read} labelled faces, wrote {len(records)} to {args.out} "
              f"(train {counts['train']}, val {counts['val']}, test {counts['test']}); "
              f"{len(bad)} skipped, listed in {log_path}")
        return 0
    if args.data_cmd in ("pack", "unpack"):
        from agegender.data.pack import pack_cache, unpack_cache

        if args.data_cmd == "pack":
            info = pack_cache(args.cache, args.out, args.quality, args.splits.split(","))
            print(f"pack {args.out}: {info['faces']} faces at {info['size']}px, {info['bytes'] / 2**20:.1f} MiB")
        else:
            info = unpack_cache(args.pack, args.out)
            print(f"cache {args.out}: {info['faces']} faces at {info['size']}px")
        return 0
    from agegender.data.cache import build_cache

    records = mf.read_manifest(args.manifest)
    aligner = None
    if args.detect:
        from agegender.faces.photo_crops import PhotoAligner

        aligner = PhotoAligner(pad=args.detect_pad)
    summary = build_cache(records, args.root, args.out, size=args.size, margin=args.margin, aligner=aligner)
    if summary["faces"] == 0:
        raise CliError(f"no face could be read from {args.root}; check --root")
    for path, reason in summary["skipped"]:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"cache {args.out}: {summary['faces']} faces at {args.size}px, {summary['bytes'] / 1e6:.1f} MB, "
          f"{len(summary['skipped'])} skipped, "
          + ("reused (same manifest and settings)" if summary["reused"] else f"built in {summary['seconds']:.1f} s"))
    return 0


class _ListRecipes(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from agegender.training.recipes import describe_recipes

        print(describe_recipes())
        parser.exit()


def _add_train(sub, preset: dict | None = None):
    """``agegender train``: one flag per TrainConfig field; a named recipe's values (``preset``) are the defaults."""
    from agegender.training.config import CHOICES, TrainConfig

    p = sub.add_parser("train", help="train a model on a face cache (resumable; torchrun for several GPUs)",
                       description="Train a network. --recipe NAME takes a named recipe's values as the defaults "
                                   "of the options below (--recipe NAME --help shows them); any flag overrides them.")
    p.add_argument("--list-recipes", action=_ListRecipes, help="list the named recipes and exit")
    defaults = {**TrainConfig().to_dict(), **(preset or {})}
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = defaults[f.name]
        help_text = f.metadata.get("help", "").replace("%", "%%")
        origin = f"; from recipe {preset['recipe']}" if preset and f.name in preset and f.name != "recipe" else ""
        if isinstance(default, bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=default,
                           help=f"{help_text} (default {default}{origin})")
        else:
            p.add_argument(flag, type=type(getattr(TrainConfig, f.name)),  # the field's type, whatever a recipe sets
                           default=default, choices=CHOICES.get(f.name), required=f.name == "cache",
                           help=f"{help_text} (default {default!r}{origin})")
    return p


def _recipe_preset(argv: list[str]) -> dict | None:
    """The values of the recipe named by ``train --recipe NAME`` in ``argv`` (for --arch, --task), if any."""
    if "train" not in argv:
        return None
    pre = argparse.ArgumentParser(add_help=False)
    for flag in ("--recipe", "--arch", "--task"):
        pre.add_argument(flag)
    known, _ = pre.parse_known_args(argv[argv.index("train") + 1:])
    if not known.recipe:
        return None
    from agegender.training.config import TrainConfig
    from agegender.training.recipes import get_recipe

    return get_recipe(known.recipe).resolve(known.arch or TrainConfig.arch, known.task)


def _cmd_train(args) -> int:
    from agegender.training.config import TrainConfig
    from agegender.training.loop import train

    cfg = TrainConfig(**{k: getattr(args, k) for k in TrainConfig.field_names()})
    best = train(cfg)  # validates every option before reading any data
    print(json.dumps({"best": best}, indent=2))
    return 0


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="test a model on a cache split: metrics JSON and plots")
    p.add_argument("weights", help="a .safetensors weight file (or run folder holding best.safetensors)")
    p.add_argument("--cache", required=True, help="face cache folder (agegender data cache) holding the split")
    p.add_argument("--name", required=True, help="name of the model in the report (e.g. vgg16-age)")
    p.add_argument("--split", default="test", choices=["train", "val", "test"], help="split to score (default test)")
    p.add_argument("--windows", default="18-50,all", help="age windows to report, comma-separated (default 18-50,all)")
    p.add_argument("--out", default="reports/evals", help="folder for <name>.json and plots (default reports/evals)")
    p.add_argument("--no-flip-tta", action="store_true", help="do not average with the mirrored face")
    p.add_argument("--recipe", default=None, help="override the recipe name stored with the weights")
    p.add_argument("--age-readout", choices=["median", "mean"], default=None,
                   help="distribution heads: read the age as this instead of what the weights store (ablations)")
    p.add_argument("--no-age-bias", action="store_true", help="leave out the val-fitted age bias map (ablations)")
    from agegender.models.engines import ENGINES

    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="what runs the network (default auto: ONNX Runtime where a graph is beside the weights)")
    return p


def _cmd_evaluate(args) -> int:
    from agegender.evaluation.evaluate import evaluate_weights

    weights = _weight_file(args.weights)
    result = evaluate_weights(weights, args.cache, args.name, split=args.split,
                              windows=[w.strip() for w in args.windows.split(",") if w.strip()],
                              out_dir=args.out, flip_tta=not args.no_flip_tta, recipe=args.recipe,
                              age_readout=args.age_readout, age_bias=not args.no_age_bias, engine=args.engine)
    for row in result["rows"]:
        print(json.dumps(row))
    print(f"wrote {Path(args.out) / (args.name + '.json')} and the plots in {Path(args.out) / args.name}/",
          file=sys.stderr)
    return 0


def _add_evaluate_photos(sub):
    p = sub.add_parser("evaluate-photos", help="accuracy on test faces found in photos (detect + align) vs as crops")
    p.add_argument("--manifest", default="data/utkface_manifest.csv",
                   help="manifest CSV with the split (default data/utkface_manifest.csv)")
    p.add_argument("--images", required=True, help="folder the manifest's paths are relative to")
    p.add_argument("--model", default=None, help="vgg16, resnet50 or both (shipped weights; default both, or with "
                                                 "--weights only those)")
    p.add_argument("--weights", action="append", default=[], metavar="NAME=FILE", help="other weights (repeatable)")
    p.add_argument("--split", default="test", choices=["train", "val", "test"], help="split to score (default test)")
    p.add_argument("--windows", default="18-50,all", help="age windows to report, comma-separated (default 18-50,all)")
    p.add_argument("--limit", type=int, default=0, help="use about this many faces, evenly spread (0 = all)")
    p.add_argument("-o", "--out", default="reports/photos.json", help="result JSON (default reports/photos.json)")
    return p


def _cmd_evaluate_photos(args) -> int:
    from agegender.cli_predict import models_to_load
    from agegender.evaluation.photos import evaluate_in_photos
    from agegender.inference import FaceAnalyzer

    names, extra = models_to_load(args.model, args.weights, default="both")
    analyzer = FaceAnalyzer(models=names, weights=extra or None)
    result = evaluate_in_photos(analyzer, args.manifest, args.images, args.split, args.windows.split(","),
                                args.limit, out=args.out)
    for model, windows in result["models"].items():
        for label, r in windows.items():
            print(f"{model} ages {label}: found {100 * r['found']:.1f}% of {r['n']}; age MAE crops "
                  f"{r['crops']['age_mae']:.2f} -> photos {r['photos']['age_mae']:.2f}; gender accuracy crops "
                  f"{100 * r['crops']['gender_acc']:.1f}% -> photos {100 * r['photos']['gender_acc']:.1f}%")
    print(f"wrote {args.out}")
    return 0


def _add_report(sub):
    p = sub.add_parser("report", help="write reports/results.json and reports/README.md from evaluations")
    p.add_argument("--evals", default="reports/evals", help="folder of evaluation JSON files")
    p.add_argument("--out", default="reports", help="report folder")
    return p


def _cmd_report(args) -> int:
    from agegender.evaluation.report import write_report

    rows = write_report(args.evals, args.out)
    print(f"wrote {args.out}/results.json ({len(rows)} rows) and {args.out}/README.md")
    return 0


def _add_export(sub):
    p = sub.add_parser("export", help="package trained weights for release (fp16 safetensors with full metadata, "
                                      "and its ONNX graph), or write the ONNX graph of a weight file")
    p.add_argument("weights", help="a run's best.safetensors (or the run folder); with --format onnx, any weight file")
    p.add_argument("--format", choices=["safetensors", "onnx", "onnx-int8"], default="safetensors",
                   help="safetensors (default): a release weight file and the ONNX graph linked to it; "
                        "onnx: only the ONNX graph of WEIGHTS; onnx-int8: an int8 graph of WEIGHTS, its "
                        "activations calibrated on val faces of --cache (check it: evaluate --engine onnx-int8)")
    p.add_argument("--cache", help="face cache folder(s), comma-separated, whose val faces calibrate an int8 graph "
                                   "(needed by --format onnx-int8; with --format safetensors, also writes one)")
    p.add_argument("--calibration-faces", type=int, default=512,
                   help="--format onnx-int8: val faces to calibrate on, drawn evenly from the caches (default 512)")
    p.add_argument("-o", "--out", help="output file: the .safetensors (required for --format safetensors), e.g. "
                                       "src/agegender/weights/resnet50.safetensors; for --format onnx the graph "
                                       "(default: beside the weights, NAME.onnx)")
    p.add_argument("--standalone", action="store_true",
                   help="--format onnx: put the tensors inside the graph (a self-contained file to use elsewhere) "
                        "instead of reading them from the weight file beside it")
    p.add_argument("--evaluation", action="append", default=[],
                   help="evaluation JSON (agegender evaluate) whose test metrics go into the metadata; "
                        "repeat it for each test set")
    p.add_argument("--part-mb", type=float, default=0, help="split into parts of this many MB (0 = one file)")
    return p


def _weight_file(weights: str) -> Path:
    """The weight file a command argument names: a run folder means its best.safetensors."""
    path = Path(weights)
    return path / "best.safetensors" if path.is_dir() else path


def _load_for_rewrite(weights: str):
    """(weight file, model, metadata without its config): a run folder means its best.safetensors."""
    from agegender.models.weights import load_model

    path = _weight_file(weights)
    model, meta = load_model(path)
    meta.pop("config", None)  # save_weights writes the model's own architecture and read-out
    meta.pop("readout", None)
    return path, model, meta


def _cmd_export(args) -> int:
    from agegender.faces.align import default_template
    from agegender.models.onnx_export import export_onnx, quantize_int8
    from agegender.models.weights import save_weights, trained_on

    if args.format == "onnx-int8":
        if not args.cache:
            raise CliError("--format onnx-int8 needs --cache: the val faces that calibrate the quantisation")
        weights = _weight_file(args.weights)
        graph = quantize_int8(weights, _calibration_faces(args.cache, args.calibration_faces), args.out)
        print(f"wrote {graph} ({graph.stat().st_size / 1e6:.1f} MB); check its accuracy: "
              f"agegender evaluate {weights} --engine onnx-int8 --split val ...")
        return 0
    if args.format == "onnx":
        graph = export_onnx(_weight_file(args.weights), args.out, standalone=args.standalone)
        print(f"wrote {graph} ({graph.stat().st_size / 1e6:.2f} MB)")
        return 0
    if not args.out:
        raise CliError("-o/--out is required for --format safetensors")
    _, model, meta = _load_for_rewrite(args.weights)
    meta.setdefault("alignment_template", default_template().to_dict())
    meta["licence"] = f"non-commercial research only (trained on {' and '.join(trained_on(meta))})"
    if args.evaluation:
        meta["test"] = [row for f in args.evaluation for row in json.loads(Path(f).read_text())["rows"]]
    files = save_weights(model, args.out, meta, fp16=True,
                         part_bytes=int(args.part_mb * 1e6) if args.part_mb else None)
    if len(files) == 1:  # the graphs that let ONNX Runtime run these weights (a split file has none)
        files.append(export_onnx(files[0]))
        if args.cache:
            files.append(quantize_int8(files[0], _calibration_faces(args.cache, args.calibration_faces)))
    print("wrote " + ", ".join(f"{f} ({f.stat().st_size / 1e6:.1f} MB)" for f in files))
    return 0


def _calibration_faces(caches: str, n: int):
    """``n`` val faces drawn evenly (seeded) from the caches, the same share from each."""
    import numpy as np

    from agegender.data.cache import open_cache
    from agegender.data.manifest import AgeWindow

    names = [c.strip() for c in caches.split(",") if c.strip()]
    rng = np.random.default_rng(0)
    parts = []
    for name in names:
        cache = open_cache(name)
        idx = cache.indices("val", AgeWindow.all())
        take = np.sort(rng.choice(idx, min(len(idx), -(-n // len(names))), replace=False))
        parts.append(np.ascontiguousarray(cache.images[take]))
    return np.concatenate(parts)


def _add_calibrate(sub):
    p = sub.add_parser("calibrate", help="fit gender temperature and age-spread scale on the val split")
    p.add_argument("weights", help="a .safetensors weight file (or run folder holding best.safetensors)")
    p.add_argument("--cache", required=True,
                   help="face cache folder whose val split is fitted on; several: folders separated by commas")
    p.add_argument("-o", "--out", help="calibrated weight file (default: rewrite WEIGHTS in place)")
    p.add_argument("--age-prior-weight", type=float, default=0.0,
                   help="distribution heads: divide the training prior out of the age read-out at this weight "
                        "(0-1; default 0: off); choose it with agegender select --prior-weights")
    p.add_argument("--no-age-bias", action="store_true", help="fit no age bias map")
    return p


def _cmd_calibrate(args) -> int:
    from agegender.evaluation.calibrate import calibrate
    from agegender.models.weights import save_weights

    weights, model, meta = _load_for_rewrite(args.weights)
    if not 0 <= args.age_prior_weight <= 1:
        raise UserError(f"--age-prior-weight must be between 0 and 1, not {args.age_prior_weight}")
    model.readout, meta["calibration"] = calibrate(model, args.cache, age_prior_weight=args.age_prior_weight,
                                                   age_bias=not args.no_age_bias)
    save_weights(model, args.out or weights, meta)
    print(json.dumps(meta["calibration"], indent=1))
    return 0


def _add_card(sub):
    p = sub.add_parser("card", help="write the model card of shipped weights from their evaluation files")
    p.add_argument("evaluations", nargs="+", help="evaluation JSON files (agegender evaluate), one per shipped model")
    p.add_argument("-o", "--out", default="src/agegender/weights/MODEL_CARD.md",
                   help="model card to write (default src/agegender/weights/MODEL_CARD.md)")
    p.add_argument("--photos", default=None, help="evaluate-photos JSON (e.g. reports/photos.json) to check too")
    return p


def _cmd_card(args) -> int:
    from agegender.evaluation.model_card import write_model_card

    print(f"wrote {write_model_card(args.evaluations, args.out, args.photos)}")
    return 0


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; ``argv`` is read ahead only for ``train --recipe``, whose values become defaults."""
    parser = argparse.ArgumentParser(prog="agegender", description="Age and gender of every face in a photo.",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    from agegender import __version__

    parser.add_argument("--version", action="version", version=f"agegender {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)
    preset = _recipe_preset(list(argv if argv is not None else sys.argv[1:]))
    _add_train(sub, preset).set_defaults(handler=_cmd_train)
    for add, handler in ((_add_data, _cmd_data), (_add_evaluate, _cmd_evaluate),
                         (_add_evaluate_photos, _cmd_evaluate_photos), (_add_report, _cmd_report),
                         (_add_export, _cmd_export), (_add_calibrate, _cmd_calibrate), (_add_card, _cmd_card)):
        add(sub).set_defaults(handler=handler)
    add_predict(sub)  # these three set their own handler
    add_serve(sub)
    add_select(sub)
    return parser


USER_OS_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError, FileExistsError)
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)  # a full disk or quota, a read-only file system


def main(argv: list[str] | None = None) -> int:
    """Run one command. Exit codes: 0 done, 1 a bug (traceback), 2 a problem with the input (one line;
    -v adds the traceback), 3 a missing optional package, 130 interrupted."""
    try:
        parser = build_parser(argv)
    except UserError as exc:  # an unknown --recipe, found while building the options
        print(f"agegender: error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    from agegender.runtime import EXTRA_OF_MODULE, MissingExtraError

    try:
        return args.handler(args)
    except MissingExtraError as exc:
        print(f"agegender {args.command}: {exc}", file=sys.stderr)
        return 3
    except ModuleNotFoundError as exc:
        root = (exc.name or "").split(".")[0]
        if root not in EXTRA_OF_MODULE:
            raise  # not a missing optional dependency: a bug, with its traceback
        print(f"agegender {args.command}: needs the '{root}' package, which is not installed: "
              f"pip install 'agegender[{EXTRA_OF_MODULE[root]}]'", file=sys.stderr)
        return 3
    except (UserError, *USER_OS_ERRORS) as exc:
        if args.verbose:
            import traceback

            traceback.print_exc()
        print(f"agegender {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno not in DISK_ERRNOS:
            raise  # not the user's disk: a bug, with its traceback
        print(f"agegender {args.command}: error: {exc.strerror}{f': {exc.filename}' if exc.filename else ''}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
