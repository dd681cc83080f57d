"""The ``agegender`` command: one module per sub-command (its options and the call to the module that does
the work), and here the parser that joins them and :func:`main`, which turns errors into exit codes.
"""

from __future__ import annotations

import argparse
import errno
import logging
import sys

from agegender.cli.data import add_data, run_data
from agegender.cli.evaluate import (
    add_card,
    add_compare,
    add_evaluate,
    add_evaluate_photos,
    add_report,
    run_card,
    run_compare,
    run_evaluate,
    run_evaluate_photos,
    run_report,
)
from agegender.cli.export import add_average, add_calibrate, add_export, run_average, run_calibrate, run_export
from agegender.cli.predict import add_predict
from agegender.cli.select import add_select
from agegender.cli.serve import add_serve
from agegender.cli.train import add_train, recipe_preset, run_train
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


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; ``argv`` is read ahead only for ``train --recipe``, whose values become defaults."""
    parser = argparse.ArgumentParser(
        prog="agegender",
        description="Age and gender of every face in a photo.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from agegender import __version__

    parser.add_argument("--version", action="version", version=f"agegender {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)
    preset = recipe_preset(list(argv if argv is not None else sys.argv[1:]))
    add_train(sub, preset).set_defaults(handler=run_train)
    for add, handler in (
        (add_data, run_data),
        (add_evaluate, run_evaluate),
        (add_evaluate_photos, run_evaluate_photos),
        (add_report, run_report),
        (add_export, run_export),
        (add_calibrate, run_calibrate),
        (add_average, run_average),
        (add_card, run_card),
        (add_compare, run_compare),
    ):
        add(sub).set_defaults(handler=handler)
    add_predict(sub)  # these three set their own handler
    add_serve(sub)
    add_select(sub)
    return parser


USER_OS_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError, FileExistsError)


DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)  # a full disk or quota, a read-only file system


def main(argv: list[str] | None = None) -> int:
    """Run one command. Exit codes: 0 done, 1 a bug (traceback), 2 a problem with the input (one line;
    -v adds the traceback), 3 a missing optional package, 4 ``compare``: new weights lose beyond noise,
    130 interrupted."""
    try:
        parser = build_parser(argv)
    except UserError as exc:  # an unknown --recipe, found while building the options
        print(f"agegender: error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    from agegender.errors import MissingExtraError
    from agegender.runtime import EXTRA_OF_MODULE

    try:
        return args.handler(args)
    except MissingExtraError as exc:
        print(f"agegender {args.command}: {exc}", file=sys.stderr)
        return 3
    except ModuleNotFoundError as exc:
        root = (exc.name or "").split(".")[0]
        if root not in EXTRA_OF_MODULE:
            raise  # not a missing optional dependency: a bug, with its traceback
        print(
            f"agegender {args.command}: needs the '{root}' package, which is not installed: "
            f"pip install 'agegender[{EXTRA_OF_MODULE[root]}]'",
            file=sys.stderr,
        )
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
        print(
            f"agegender {args.command}: error: {exc.strerror}{f': {exc.filename}' if exc.filename else ''}",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
