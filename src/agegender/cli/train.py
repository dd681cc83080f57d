"""``agegender train``: the options come from TrainConfig, a named recipe's values become their defaults."""

from __future__ import annotations

import argparse
import json
from dataclasses import fields


class _ListRecipes(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from agegender.training.recipes import describe_recipes

        print(describe_recipes())
        parser.exit()


def add_train(sub, preset: dict | None = None):
    """``agegender train``: one flag per TrainConfig field; a named recipe's values (``preset``) are the defaults."""
    from agegender.training.config import CHOICES, TrainConfig

    p = sub.add_parser(
        "train",
        help="train a model on a face cache (resumable; torchrun for several GPUs)",
        description="Train a network. --recipe NAME takes a named recipe's values as the defaults "
        "of the options below (--recipe NAME --help shows them); any flag overrides them.",
    )
    p.add_argument("--list-recipes", action=_ListRecipes, help="list the named recipes and exit")
    defaults = {**TrainConfig().to_dict(), **(preset or {})}
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = defaults[f.name]
        help_text = f.metadata.get("help", "").replace("%", "%%")
        origin = f"; from recipe {preset['recipe']}" if preset and f.name in preset and f.name != "recipe" else ""
        if isinstance(default, bool):
            p.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=default,
                help=f"{help_text} (default {default}{origin})",
            )
        else:
            p.add_argument(
                flag,
                type=type(getattr(TrainConfig, f.name)),  # the field's type, whatever a recipe sets
                default=default,
                choices=CHOICES.get(f.name),
                required=f.name == "cache",
                help=f"{help_text} (default {default!r}{origin})",
            )
    return p


def recipe_preset(argv: list[str]) -> dict | None:
    """The values of the recipe named by ``train --recipe NAME`` in ``argv`` (for --arch, --task), if any."""
    if "train" not in argv:
        return None
    pre = argparse.ArgumentParser(add_help=False)
    for flag in ("--recipe", "--arch", "--task"):
        pre.add_argument(flag)
    known, _ = pre.parse_known_args(argv[argv.index("train") + 1 :])
    if not known.recipe:
        return None
    from agegender.training.config import TrainConfig
    from agegender.training.recipes import get_recipe

    return get_recipe(known.recipe).resolve(known.arch or TrainConfig.arch, known.task)


def run_train(args) -> int:
    from agegender.training.config import TrainConfig
    from agegender.training.loop import train

    cfg = TrainConfig(**{k: getattr(args, k) for k in TrainConfig.field_names()})
    best = train(cfg)  # validates every option before reading any data
    print(json.dumps({"best": best}, indent=2))
    return 0
