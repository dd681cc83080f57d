"""Training configuration: every option and its default, in one place.

The CLI builds its ``agegender train`` options from these fields, so the defaults
below are the only ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class TrainConfig:
    cache: str = ""  # face cache folder (agegender data cache)
    out: str = "runs/exp"  # run folder: checkpoints, summary.csv, curves.png, weights
    arch: str = "resnet50"  # vgg16 | resnet50
    task: str = "both"  # age | gender | both
    age_head: str = "regression"  # regression (one output) | distribution (one bin per year)
    age_loss: str = "mse"  # mse | l1 | smooth_l1 | dldl (distribution head)
    gender_loss: str = "ce"  # ce | mse
    min_age: int = 18  # age window, inclusive (years)
    max_age: int = 50
    all_ages: bool = False  # ignore the window: train on every age in the cache
    input_size: int = 0  # network input (px); 0 = the cache's size
    epochs: int = 10
    batch_size: int = 64  # per process
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "cosine"  # cosine | step | constant (per step, after warm-up)
    warmup_epochs: float = 0.3
    augment: float = 1.0  # augmentation strength, 0 = off
    augment_background: float = 0.0  # share of faces zoomed out / shifted onto another background (0-1)
    label_smoothing: float = 0.0  # gender cross-entropy
    dldl_sigma: float = 2.0  # years, spread of the age label distribution
    gender_weight: float = 1.0  # weight of the gender loss when task = both
    ema: float = 0.0  # decay of the weight EMA, 0 = off (e.g. 0.999)
    balance_ages: bool = False  # sample faces so that 5-year age buckets are equally likely
    flip_tta: bool = True  # average with the mirrored face at validation
    precision: str = "auto"  # auto (bf16 autocast where supported) | fp32 | bf16
    channels_last: bool = True
    device: str = "auto"  # auto | cpu | cuda
    threads: int = 0  # CPU threads, 0 = torch's default
    seed: int = 0
    max_steps: int = 0  # cap steps per epoch (smoke tests), 0 = full epochs
    time_budget_s: float = 0  # >0: after the first epoch, cut --epochs so the run ends within this many seconds
    resume: bool = False  # continue from OUT/last.pt
    init_weights: str = ""  # fine-tune: start from this weight file (same arch, task, head, ages, size)
    progress: bool = True  # show a progress bar
    recipe: str = ""  # name recorded with the weights

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]
