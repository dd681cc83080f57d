"""``agegender select``: score candidate models and read-outs on the model-selection score (shifted val)."""

from __future__ import annotations

import argparse
import sys

from agegender.errors import UserError

EXAMPLE = """example:
  agegender select --weights vgg16=src/agegender/weights/vgg16.safetensors \\
      --weights resnet50=src/agegender/weights/resnet50.safetensors --fuse "vgg16 [stored],resnet50 [stored]" \\
      --cache cache/utk64,cache/aaf64 --prior-weights 0,0.5,1 -o reports/selection/shipped.json
"""


def add_select(sub):

    p = sub.add_parser(
        "select",
        help="score models on every collection's val faces, as cached and under photo "
        "shifts (studio, low-res, dark, bright): what recipes and models are chosen on",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--weights", action="append", required=True, metavar="NAME=FILE", help="a candidate weight file (repeatable)"
    )
    p.add_argument(
        "--cache",
        action="append",
        required=True,
        help="face cache folders, comma-separated (repeatable: one set per crop size; each model takes "
        "the faces of its own input size)",
    )
    p.add_argument(
        "--prior-weights",
        default="0",
        help="distribution heads: also score the age read-out with the training prior divided out at "
        "these weights, comma-separated (default 0: the stored read-out only)",
    )
    p.add_argument("--no-bias-map", action="store_true", help="also score each read-out without its age bias map")
    p.add_argument(
        "--fuse",
        action="append",
        default=[],
        metavar="A,B",
        help='also score the mean of two candidates, e.g. "vgg16 [stored],resnet50 [stored]"',
    )
    p.add_argument("--no-flip-tta", action="store_true", help="do not average with the mirrored face")
    p.add_argument("-o", "--out", required=True, help="result JSON (the tables go beside it, as .md)")
    p.set_defaults(handler=run_select)
    return p


def run_select(args) -> int:
    from agegender.cli.options import named_weights
    from agegender.data.cache import split_cache_list
    from agegender.evaluation.selection import score_candidates, write

    try:
        prior_weights = [float(w) for w in args.prior_weights.split(",") if w.strip()]
    except ValueError:
        raise UserError(f"--prior-weights takes numbers, comma-separated, not {args.prior_weights!r}") from None
    fuse = []
    for pair in args.fuse:
        a, sep, b = pair.partition(",")
        if not sep:
            raise UserError(f"--fuse takes two candidate names separated by a comma, not {pair!r}")
        fuse.append((a.strip(), b.strip()))
    caches = [c for group in args.cache for c in split_cache_list(group)]
    result = score_candidates(
        named_weights(args.weights),
        caches,
        prior_weights=prior_weights or [0.0],
        bias_map=(True, False) if args.no_bias_map else (True,),
        fuse=fuse,
        flip_tta=not args.no_flip_tta,
        progress=lambda s: print(s, file=sys.stderr),
    )
    path = write(result, args.out)
    ranked = sorted(result["candidates"].items(), key=lambda kv: kv[1]["score"])
    for name, s in ranked:
        print(f"{s['score']:.3f}  {name}")
    print(f"wrote {path} and {path.with_suffix('.md')}", file=sys.stderr)
    return 0
