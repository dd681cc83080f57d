"""Options that several commands share: which models to load, the detector's smallest face, the engine."""

from __future__ import annotations

from agegender.errors import UserError
from agegender.models.shipped import DEFAULT_MODEL, model_names

WEIGHTS_HELP = (
    "load your own weights under NAME (repeatable), e.g. mine=runs/r50/best.safetensors; with --model "
    "left at its default only these are loaded, and a shipped model named with --model is loaded beside them"
)


def named_weights(items: list[str]) -> dict[str, str]:
    """``--weights NAME=FILE`` options -> {name: file} (spaces around either dropped)."""
    named = {}
    for item in items:
        name, sep, file = item.partition("=")
        if not sep or not name.strip() or not file.strip():
            raise UserError(f"--weights takes NAME=FILE, not {item!r}")
        named[name.strip()] = file.strip()
    return named


def models_to_load(
    model: str | None, weights: list[str], default: str = DEFAULT_MODEL
) -> tuple[tuple[str, ...], dict[str, str]]:
    """The shipped models and the user's ``NAME=FILE`` weights that ``--model``/``--weights`` ask for.

    ``model`` None (not named): the ``default`` choice, or, with user weights, only the user's weights;
    naming a shipped model (or both) loads it beside them.
    """
    extra = named_weights(weights)
    names = model_names(model if model is not None else default) if not extra or model is not None else ()
    return names, extra


def add_min_face_option(p) -> None:
    p.add_argument(
        "--min-face",
        type=float,
        default=None,
        metavar="PX",
        help="smallest face side to report, in pixels of the photo (default: 16, or 1/150 of the photo's "
        "longer side if more: 40 px in a 24-megapixel photo; faces under ~40 px are then found "
        "only in part). A value under 40 also searches the photo upscaled, to find faces that "
        "small (16: ~8x the detection time). Big photos are searched in tiles; a larger value is "
        "faster (6000x4000: 0.64 s default, 0.43 s at 60, 0.18 s at 100)",
    )


def add_engine_options(p) -> None:
    from agegender.models.engines import ENGINES

    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="what runs the networks: auto (default) = ONNX Runtime, on the CPU int8 where an up-to-date "
        "int8 graph is beside the weights (the shipped ones have one: 2-3x faster, as accurate on every "
        "test split: reports/ABLATIONS.md), else fp32 where an ONNX graph is (the shipped ones have one; "
        "--engine onnx asks for it), else PyTorch",
    )
    p.add_argument("--threads", type=int, default=0, help="CPU threads per model call (default: the engine's choice)")
    p.add_argument(
        "--device",
        default="cpu",
        help="cpu (default), or cuda / cuda:N: ONNX Runtime's CUDA provider, which needs onnxruntime-gpu "
        "in place of onnxruntime (pip uninstall onnxruntime && pip install onnxruntime-gpu); "
        "without it, one line says so and the CPU is used",
    )
