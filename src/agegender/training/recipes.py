"""Named training recipes: presets of TrainConfig values, applied by ``agegender train --recipe NAME``.

A value may depend on the architecture (``{"resnet50": 8, "vgg16": 6}``) or on architecture and
task (``{"vgg16-age": 8}``); the string ``"shipped"`` for ``init_weights`` means the weights that
ship with the package for that architecture. Every value can still be overridden by its flag.
``agegender train --list-recipes`` prints this table; the names are also what the weights record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agegender.errors import UserError
from agegender.models.shipped import shipped_weights_path

# What every multi-task recipe shares: all ages, the age as a distribution over years (DLDL),
# gender by cross-entropy, Adam with a cosine schedule, batch 64.
_MULTITASK = {
    "all_ages": True,
    "task": "both",
    "age_head": "distribution",
    "age_loss": "dldl",
    "gender_loss": "ce",
    "batch_size": 64,
    "schedule": "cosine",
    "augment": 1.0,
}
_FT = {**_MULTITASK, "ema": 0.999, "lr": 2e-4, "augment_background": 0.5, "init_weights": "shipped"}


@dataclass(frozen=True)
class Recipe:
    name: str
    about: str
    settings: dict = field(default_factory=dict)

    def resolve(self, arch: str, task: str | None = None) -> dict:
        """The TrainConfig values of this recipe for ``arch`` (and ``task``)."""
        out = {}
        for key, value in self.settings.items():
            if isinstance(value, dict):
                task = task or self.settings.get("task", "both")
                if f"{arch}-{task}" in value:
                    value = value[f"{arch}-{task}"]
                elif arch in value:
                    value = value[arch]
                else:
                    continue  # no value for this architecture: the general default stays
            if key == "init_weights" and value == "shipped":
                value = str(shipped_weights_path(arch))
            out[key] = value
        return {**out, "recipe": self.name}


RECIPES = {
    r.name: r
    for r in [
        Recipe(
            "reference-mse-64",
            "the reference write-up's recipe: one task per model (--task age or gender), ages "
            "18-50, mean squared error for both tasks, Adam 1e-3, 64 px",
            {
                "task": "age",
                "age_loss": "mse",
                "gender_loss": "mse",
                "lr": 1e-3,
                "batch_size": 64,
                "schedule": "cosine",
                "augment": 1.0,
                "epochs": {"resnet50-age": 14, "vgg16-age": 8, "resnet50-gender": 5, "vgg16-gender": 4},
            },
        ),
        Recipe(
            "multitask-dldl-64-cpu-short",
            "the first shipped weights: few epochs, no weight average (~15 + 17 min on 2 cores)",
            {**_MULTITASK, "epochs": {"resnet50": 5, "vgg16": 3}},
        ),
        Recipe(
            "multitask-dldl-64-cpu-long",
            "longer, with a weight average (EMA 0.999) (~35 + 90 min on 2 cores)",
            {**_MULTITASK, "ema": 0.999, "epochs": {"resnet50": 14, "vgg16": 16}},
        ),
        Recipe(
            "multitask-dldl-64-cpu-xl",
            "longer still (~85 + 170 min on 2 cores)",
            {**_MULTITASK, "ema": 0.999, "epochs": {"resnet50": 30, "vgg16": 30}},
        ),
        Recipe(
            "multitask-dldl-64-cpu-ft",
            "fine-tunes the shipped weights (or --init-weights) at lr 2e-4, half the "
            "faces framed on other backgrounds (~25 + 30 min on 2 cores)",
            {**_FT, "epochs": {"resnet50": 8, "vgg16": 5}},
        ),
        Recipe(
            "multitask-dldl-64-cpu-ft-child",
            "as ft, with the gender loss of children (0-12) weighted 3x",
            {**_FT, "gender_child_weight": 3.0, "epochs": {"resnet50": 8, "vgg16": 5}},
        ),
        Recipe(
            "multitask-dldl-64-cpu-mix",
            "as ft-child on several datasets (--cache cache/utk64,cache/aaf64): half of "
            "each epoch from each, crowded age x gender cells flattened (square root), 12,000 faces an epoch; lr 5e-4 "
            "for ResNet50, 2e-4 for VGG16 (~17 + 28 min on 2 cores)",
            {
                **_FT,
                "gender_child_weight": 3.0,
                "dataset_shares": "utkface=0.5,aaf=0.5",
                "balance_cells": 0.5,
                "epoch_size": 12000,
                "lr": {"resnet50": 5e-4, "vgg16": 2e-4},
                "epochs": {"resnet50": 8, "vgg16": 6},
            },
        ),
        Recipe(
            "multitask-dldl-64-cpu-mix-distil",
            "as mix, ResNet50 also learning the shipped VGG16's age distribution "
            "and gender probability on the same augmented faces (--teacher, half of the loss)",
            {
                **_FT,
                "gender_child_weight": 3.0,
                "dataset_shares": "utkface=0.5,aaf=0.5",
                "balance_cells": 0.5,
                "epoch_size": 12000,
                "lr": 5e-4,
                "epochs": 8,
                "teacher_share": 0.5,
                "teacher": {"resnet50": str(shipped_weights_path("vgg16"))},
            },
        ),
        Recipe(
            "multitask-dldl-96-release",
            "the one-GPU release command (scripts/train_release_gpu.sh): 96 px, EMA "
            "0.998, 1 warm-up epoch, batch 256 at lr 2e-3 (on a CPU the script passes 64 and 1e-3)",
            {
                **_MULTITASK,
                "input_size": 96,
                "batch_size": 256,
                "lr": 2e-3,
                "warmup_epochs": 1.0,
                "ema": 0.998,
                "augment_background": 0.5,
                "epochs": 60,
            },
        ),
    ]
}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        import difflib

        close = difflib.get_close_matches(name, list(RECIPES), n=1, cutoff=0.4)
        raise UserError(
            f"unknown recipe {name!r}"
            + (f" (did you mean {close[0]!r}?)" if close else "")
            + "; agegender train --list-recipes lists them"
        )
    return RECIPES[name]


def describe_recipes() -> str:
    """The table ``agegender train --list-recipes`` prints."""
    lines = []
    for r in RECIPES.values():
        settings = ", ".join(f"{k}={v}" for k, v in r.settings.items())
        lines.append(f"{r.name}\n    {r.about}\n    {settings}\n")
    return "\n".join(lines)
