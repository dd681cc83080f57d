"""``agegender export``, ``calibrate`` and ``average``: weight files rewritten for release."""

from __future__ import annotations

import json
from pathlib import Path

from agegender.errors import UserError


def weight_file(weights: str) -> Path:
    """The weight file a command argument names: a run folder means its best.safetensors."""
    path = Path(weights)
    return path / "best.safetensors" if path.is_dir() else path


def load_for_rewrite(weights: str):
    """(weight file, model, metadata without its config): a run folder means its best.safetensors."""
    from agegender.models.weights import load_model

    path = weight_file(weights)
    model, meta = load_model(path)
    meta.pop("config", None)  # save_weights writes the model's own architecture and read-out
    meta.pop("readout", None)
    return path, model, meta


def add_export(sub):
    p = sub.add_parser(
        "export",
        help="package trained weights for release (fp16 safetensors with full metadata, "
        "and its ONNX graph), or write the ONNX graph of a weight file",
    )
    p.add_argument("weights", help="a run's best.safetensors (or the run folder); with --format onnx, any weight file")
    p.add_argument(
        "--format",
        choices=["safetensors", "onnx", "onnx-int8"],
        default="safetensors",
        help="safetensors (default): a release weight file and the ONNX graph linked to it; "
        "onnx: only the ONNX graph of WEIGHTS; onnx-int8: an int8 graph of WEIGHTS, its "
        "activations calibrated on val faces of --cache (check it: evaluate --engine onnx-int8)",
    )
    p.add_argument(
        "--cache",
        help="face cache folder(s), comma-separated, whose val faces calibrate an int8 graph "
        "(needed by --format onnx-int8; with --format safetensors, also writes one)",
    )
    p.add_argument(
        "--calibration-faces",
        type=int,
        default=512,
        help="--format onnx-int8: val faces to calibrate on, drawn evenly from the caches (default 512)",
    )
    p.add_argument(
        "-o",
        "--out",
        help="output file: the .safetensors (required for --format safetensors), e.g. "
        "src/agegender/weights/resnet50.safetensors; for --format onnx the graph "
        "(default: beside the weights, NAME.onnx)",
    )
    p.add_argument(
        "--standalone",
        action="store_true",
        help="--format onnx: put the tensors inside the graph (a self-contained file to use elsewhere) "
        "instead of reading them from the weight file beside it",
    )
    p.add_argument(
        "--evaluation",
        action="append",
        default=[],
        help="evaluation JSON (agegender evaluate) whose test metrics go into the metadata; "
        "repeat it for each test set",
    )
    p.add_argument("--part-mb", type=float, default=0, help="split into parts of this many MB (0 = one file)")
    return p


def run_export(args) -> int:
    from agegender.data.cache import sample_val_faces
    from agegender.faces.align import default_template
    from agegender.models.onnx_export import export_onnx, quantize_int8
    from agegender.models.weight_files import trained_on
    from agegender.models.weights import save_weights

    if args.format == "onnx-int8":
        if not args.cache:
            raise UserError("--format onnx-int8 needs --cache: the val faces that calibrate the quantisation")
        weights = weight_file(args.weights)
        graph = quantize_int8(weights, sample_val_faces(args.cache, args.calibration_faces), args.out)
        print(
            f"wrote {graph} ({graph.stat().st_size / 1e6:.1f} MB); check its accuracy: "
            f"agegender evaluate {weights} --engine onnx-int8 --split val ..."
        )
        return 0
    if args.format == "onnx":
        graph = export_onnx(weight_file(args.weights), args.out, standalone=args.standalone)
        print(f"wrote {graph} ({graph.stat().st_size / 1e6:.2f} MB)")
        return 0
    if not args.out:
        raise UserError("-o/--out is required for --format safetensors")
    _, model, meta = load_for_rewrite(args.weights)
    meta.setdefault("alignment_template", default_template().to_dict())
    meta["licence"] = f"non-commercial research only (trained on {' and '.join(trained_on(meta))})"
    if args.evaluation:
        meta["test"] = [row for f in args.evaluation for row in json.loads(Path(f).read_text())["rows"]]
    files = save_weights(model, args.out, meta, fp16=True, part_bytes=int(args.part_mb * 1e6) if args.part_mb else None)
    if len(files) == 1:  # the graphs that let ONNX Runtime run these weights (a split file has none)
        files.append(export_onnx(files[0]))
        if args.cache:
            files.append(quantize_int8(files[0], sample_val_faces(args.cache, args.calibration_faces)))
    print("wrote " + ", ".join(f"{f} ({f.stat().st_size / 1e6:.1f} MB)" for f in files))
    return 0


def add_calibrate(sub):
    p = sub.add_parser("calibrate", help="fit gender temperature and age-spread scale on the val split")
    p.add_argument("weights", help="a .safetensors weight file (or run folder holding best.safetensors)")
    p.add_argument(
        "--cache",
        required=True,
        help="face cache folder whose val split is fitted on; several: folders separated by commas",
    )
    p.add_argument("-o", "--out", help="calibrated weight file (default: rewrite WEIGHTS in place)")
    p.add_argument(
        "--age-prior-weight",
        type=float,
        default=0.0,
        help="distribution heads: divide the training prior out of the age read-out at this weight "
        "(0-1; default 0: off); choose it with agegender select --prior-weights",
    )
    p.add_argument("--no-age-bias", action="store_true", help="fit no age bias map")
    return p


def run_calibrate(args) -> int:
    from agegender.evaluation.calibrate import calibrate
    from agegender.models.weights import save_weights

    weights, model, meta = load_for_rewrite(args.weights)
    if not 0 <= args.age_prior_weight <= 1:
        raise UserError(f"--age-prior-weight must be between 0 and 1, not {args.age_prior_weight}")
    model.readout, meta["calibration"] = calibrate(
        model, args.cache, age_prior_weight=args.age_prior_weight, age_bias=not args.no_age_bias
    )
    save_weights(model, args.out or weights, meta)
    print(json.dumps(meta["calibration"], indent=1))
    return 0


def add_average(sub):
    p = sub.add_parser(
        "average",
        help="average the weights of runs fine-tuned from the same weights (a model soup); calibrate it after",
        description="The uniform mean of the weights of two or more runs fine-tuned from one set of weights "
        "(other seeds, loss weights or augmentation), saved uncalibrated: run agegender calibrate on it, "
        "then compare it with agegender select.",
    )
    p.add_argument("weights", nargs="+", help="weight files (or run folders holding best.safetensors)")
    p.add_argument("-o", "--out", required=True, help="the averaged weight file (.safetensors)")
    return p


def run_average(args) -> int:
    from agegender.models.weights import save_weights
    from agegender.training.soup import average_weights

    soup, meta = average_weights([weight_file(w) for w in args.weights])
    save_weights(soup, args.out, meta)
    print(
        f"{args.out}: the mean of {len(args.weights)} networks, uncalibrated: agegender calibrate {args.out} --cache ..."
    )
    return 0
