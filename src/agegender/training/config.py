"""Training configuration: every option and its default, in one place.

The CLI builds its ``agegender train`` options from these fields (the help text is each
field's ``help``), so the defaults below are the only ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from agegender.errors import UserError
from agegender.models.architecture import AGE_HEADS, TASKS

# Children's gender is the hardest to tell from a face (UTKFace: ~74% at 0-12 against ~97% for
# adults); --gender-child-weight leans the gender loss towards them.
CHILD_MAX_AGE = 12

AGE_LOSSES = ("mse", "l1", "smooth_l1", "dldl")
GENDER_LOSSES = ("ce", "mse")
SCHEDULES = ("cosine", "step", "constant")
PRECISIONS = ("auto", "fp32", "bf16")
DEVICES = ("auto", "cpu", "cuda")
CHOICES = {
    "task": TASKS,
    "age_head": AGE_HEADS,
    "age_loss": AGE_LOSSES,
    "gender_loss": GENDER_LOSSES,
    "schedule": SCHEDULES,
    "precision": PRECISIONS,
    "device": DEVICES,
}
"""Options with a fixed set of values: the CLI offers exactly these, and validate() checks them."""


def option(default, help: str):
    """A field with its default and the help text ``agegender train --help`` shows for it."""
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    cache: str = option("", "face cache folder (agegender data cache); several datasets: folders separated by commas")
    out: str = option("runs/exp", "run folder: checkpoints, summary.csv, curves.png, weights")
    arch: str = option("resnet50", "vgg16 | resnet50")
    task: str = option("both", "age | gender | both")
    age_head: str = option("regression", "regression (one output) | distribution (one bin per year)")
    age_loss: str = option("mse", "mse | l1 | smooth_l1 | dldl (distribution head)")
    gender_loss: str = option("ce", "ce | mse")
    min_age: int = option(18, "lower end of the age window, inclusive (years)")
    max_age: int = option(50, "upper end of the age window, inclusive (years)")
    all_ages: bool = option(False, "ignore the window: train on every age in the cache")
    input_size: int = option(0, "network input (px); 0 = the cache's size")
    epochs: int = option(10, "passes over the training faces")
    batch_size: int = option(64, "faces per step and process")
    lr: float = option(1e-3, "peak learning rate (Adam)")
    weight_decay: float = option(0.0, "L2 weight decay (Adam's)")
    schedule: str = option("cosine", "cosine | step | constant (per step, after warm-up)")
    warmup_epochs: float = option(0.3, "linear warm-up of the learning rate (epochs)")
    augment: float = option(1.0, "augmentation strength, 0 = off")
    augment_background: float = option(0.0, "share of faces zoomed out / shifted onto another background (0-1)")
    augment_photo: float = option(
        0.0,
        "chance of each photo degradation per face: blur, low resolution, JPEG, greyscale, occluding patch (0 = off)",
    )
    label_smoothing: float = option(0.0, "label smoothing of the gender cross-entropy")
    dldl_sigma: float = option(2.0, "spread of the age label distribution (years)")
    gender_weight: float = option(1.0, "weight of the gender loss when task = both")
    gender_child_weight: float = option(
        1.0, f"weight of the gender loss of children (age <= {CHILD_MAX_AGE}), 1 for everyone else"
    )
    ema: float = option(0.0, "decay of the weight EMA, 0 = off (e.g. 0.999)")
    balance_ages: bool = option(False, "sample faces so that 5-year age buckets are equally likely")
    dataset_shares: str = option("", "share of each dataset in an epoch, e.g. 'utkface=0.6,aaf=0.4' (default: by size)")
    balance_cells: float = option(
        0.0,
        "flatten 10-year x gender cells within each dataset: 0 = as the data is, "
        "1 = every cell equally likely, 0.5 = square root",
    )
    epoch_size: int = option(0, "faces drawn per epoch, 0 = every training face once")
    flip_tta: bool = option(True, "average with the mirrored face at validation")
    precision: str = option("auto", "auto (bf16 autocast where supported) | fp32 | bf16")
    channels_last: bool = option(True, "channels-last memory format (faster convolutions)")
    device: str = option("auto", "auto | cpu | cuda")
    threads: int = option(0, "CPU threads, 0 = torch's default")
    seed: int = option(0, "seed of initialisation, shuffling and augmentation")
    max_steps: int = option(0, "cap steps per epoch, and validation to that many batches of faces; 0 = full epochs")
    smoke: bool = option(
        False,
        "a tiny run that checks the set-up end to end in seconds: 1 epoch of 3 steps, "
        "validation on 3 batches (overrides --epochs and --max-steps)",
    )
    time_budget_s: float = option(
        0.0,
        ">0: end the run within this many seconds: after the first epoch, --epochs "
        "is cut to fit; a first epoch longer than the budget is itself cut short",
    )
    resume: bool = option(False, "continue from OUT/last.pt")
    init_weights: str = option(
        "", "fine-tune: start from this weight file (same arch, task, head and ages; any input size)"
    )
    teacher: str = option(
        "",
        "distil: also learn each face's age distribution and gender probability as this "
        "weight file predicts them (same age bins; distribution head)",
    )
    teacher_share: float = option(0.5, "with --teacher: share of the loss from the teacher's soft targets (0-1)")
    progress: bool = option(True, "show a progress bar")
    recipe: str = option(
        "",
        "a named recipe (agegender train --list-recipes): its values become the defaults "
        "of the other options; recorded with the weights",
    )

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> None:
        """Raise UserError naming every bad option, before any data is read or network built."""
        bad = [
            f"--{k.replace('_', '-')} must be one of {', '.join(v)}, not {getattr(self, k)!r}"
            for k, v in CHOICES.items()
            if getattr(self, k) not in v
        ]
        from agegender.data.cache import split_cache_list
        from agegender.models.registry import list_models

        if self.arch not in list_models():
            bad.append(f"--arch must be one of {', '.join(list_models())}, not {self.arch!r}")
        if not self.cache:
            bad.append("--cache is required (a face cache folder from agegender data cache)")
        for c in split_cache_list(self.cache):
            if not (Path(c) / "labels.json").is_file():
                bad.append(
                    f"--cache {c} is not a face cache (no labels.json there; build it with agegender data cache)"
                )
        for name in ("init_weights", "teacher"):
            if getattr(self, name) and not Path(getattr(self, name)).is_file():
                bad.append(f"--{name.replace('_', '-')} {getattr(self, name)}: file not found")
        positive = ("epochs", "batch_size", "lr")
        bad += [
            f"--{k.replace('_', '-')} must be positive, not {getattr(self, k)}"
            for k in positive
            if getattr(self, k) <= 0
        ]
        shares = ("augment_background", "augment_photo", "balance_cells", "teacher_share", "label_smoothing")
        bad += [
            f"--{k.replace('_', '-')} must be between 0 and 1, not {getattr(self, k)}"
            for k in shares
            if not 0 <= getattr(self, k) <= 1
        ]
        if not 0 <= self.ema < 1:
            bad.append(f"--ema must be in [0, 1), not {self.ema}")
        if self.min_age >= self.max_age and not self.all_ages:
            bad.append(f"--min-age ({self.min_age}) must be below --max-age ({self.max_age})")
        if self.age_loss == "dldl" and self.age_head != "distribution":
            bad.append("--age-loss dldl needs --age-head distribution")
        if self.age_head == "distribution" and self.age_loss != "dldl" and self.task != "gender":
            bad.append(f"--age-head distribution is trained with --age-loss dldl, not {self.age_loss}")
        if self.teacher and self.age_head != "distribution" and self.task != "gender":
            bad.append("--teacher needs --age-head distribution (it distils age distributions)")
        if self.dataset_shares:
            from agegender.training.sampling import parse_shares

            try:
                parse_shares(self.dataset_shares)
            except UserError as exc:
                bad.append(f"--dataset-shares: {exc}")
        if self.recipe:
            from agegender.training.recipes import RECIPES

            if self.recipe not in RECIPES:
                bad.append(f"--recipe {self.recipe!r} is not a recipe; agegender train --list-recipes lists them")
        if bad:
            raise UserError("; ".join(bad))

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]
