"""The shipped models: their names, where their weights are installed, and which one answers by default.

``--model`` (CLI), ``models=`` (FaceAnalyzer) and ``model=`` (REST API, page) all resolve a choice here:
a shipped name, ``both`` (every shipped model, side by side) or ``none``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from agegender.errors import UserError

SHIPPED_MODELS = ("vgg16", "resnet50")
BOTH = "both"
DEFAULT_MODEL = "vgg16"
"""The one answer given when no model is named: the shipped model with the best model-selection score
(every collection's val faces, as cached and under photo shifts: reports/SELECTION.md). The mean of the two
networks' answers beat it only on low-resolution and dark faces, at twice the cost."""
CHOICES = (*SHIPPED_MODELS, BOTH)


def shipped_weights_path(name: str) -> Path:
    """Where a shipped model's weight file is installed (inside the package)."""
    return Path(str(resources.files("agegender") / "weights" / f"{name}.safetensors"))


def model_names(choice: str) -> tuple[str, ...]:
    """A ``--model`` choice -> the shipped model names it loads."""
    if choice == BOTH:
        return SHIPPED_MODELS
    if choice in SHIPPED_MODELS:
        return (choice,)
    if choice == "none":
        return ()
    import difflib

    close = difflib.get_close_matches(choice, CHOICES, n=1)
    raise UserError(
        f"--model must be {', '.join(SHIPPED_MODELS)} or {BOTH}, not {choice!r}"
        + (f" (did you mean {close[0]!r}?)" if close else "")
    )
