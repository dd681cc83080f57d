"""What a run starts from: the process (device, data-parallel group, threads, seed, precision), the network
(from scratch, or from weights to fine-tune) and the teacher it may learn from."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist

from agegender.data.manifest import AgeWindow
from agegender.errors import UserError
from agegender.models.networks import AgeGenderNet, ModelConfig
from agegender.models.weight_files import trained_on
from agegender.models.weights import load_model
from agegender.training.config import TrainConfig
from agegender.training.data import TrainingData


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but no CUDA device is available")
    return torch.device(name)


def machine_record(device: torch.device, world: int) -> dict:
    """What the run trains on, kept with its config so throughput figures can be read later."""
    import platform

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or platform.machine())
    return {
        "device": device.type,
        "name": name,
        "processes": world,
        "cpu_threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def _autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision != "auto":
        raise UserError(f"precision must be auto, fp32 or bf16, not {precision!r}")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    # bf16 autocast doubles CPU training speed where the CPU has native bf16 (avx512_bf16 / AMX).
    try:
        return (
            torch.bfloat16
            if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
            else None
        )
    except (AttributeError, RuntimeError):
        return None


@dataclass
class Process:
    """Where this process trains: its device, its rank among ``world`` processes, its autocast type."""

    device: torch.device
    rank: int
    world: int
    autocast_dtype: torch.dtype | None

    @property
    def main(self) -> bool:
        return self.rank == 0


def set_up_process(cfg: TrainConfig) -> Process:
    """Device, distributed group (under torchrun), threads and seed."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = _resolve_device(cfg.device)
    if world > 1:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    return Process(device, rank, world, _autocast_dtype(cfg.precision, device))


def past_deadline(deadline: float, world: int, device) -> bool:
    """Whether the deadline has passed (every process agrees: the first to see it decides)."""
    late = time.perf_counter() > deadline
    if world > 1:
        flag = torch.tensor([int(late)], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        late = bool(flag.item())
    return late


def build_model(cfg: TrainConfig, data: TrainingData, window: AgeWindow, device) -> AgeGenderNet:
    """The network for this data: its age bins span the training ages (all ages) or the window."""
    lo, hi = (int(data.ages.min()), int(data.ages.max())) if cfg.all_ages else (window.min_age, window.max_age)
    net_cfg = ModelConfig(
        arch=cfg.arch,
        task=cfg.task,
        age_head=cfg.age_head,
        age_min=lo,
        age_max=hi,
        age_mean=(lo + hi) / 2,
        age_scale=max(1.0, (hi - lo) / 2),
        input_size=cfg.input_size or data.size,
    )
    return AgeGenderNet(net_cfg).to(device)


def load_initial_weights(model: AgeGenderNet, path: str) -> dict:
    """Start from a weight file's parameters (fine-tuning); its calibration is not carried over.

    Returns what the new weights record of where they came from: the source's recipe and epochs.
    """
    source, meta = load_model(path)
    # The whole architecture must match (not a hand-picked list of fields): the same network is trained on.
    # The input size may differ: both backbones end in global pooling, and fine-tuning at a larger size
    # than the weights were trained at is the point of a FixRes-style run.
    stored = {k: v for k, v in source.config.to_dict().items() if k != "input_size"}
    _refuse_misfit("--init-weights", path, "weights", model.config.differences(stored))
    model.load_state_dict({k: v.float() for k, v in source.state_dict().items()})
    return lineage_of(meta)


def _refuse_misfit(option: str, path: str, whose: str, mismatch: dict) -> None:
    """Raise UserError naming each field where the model given by ``option`` differs from this run's."""
    if mismatch:
        raise UserError(
            f"{option} {path} does not fit this run ({whose} vs run): "
            + ", ".join(f"{k} {a} vs {b}" for k, (a, b) in mismatch.items())
        )


def load_teacher(path: str, student: ModelConfig, device) -> AgeGenderNet:
    """A frozen model whose outputs are soft targets; its age bins and input size must be the student's."""
    teacher, _ = load_model(path, device)
    # Only what the soft targets depend on: the teacher may be another architecture.
    _refuse_misfit(
        "--teacher",
        path,
        "teacher",
        student.differences(teacher.config.to_dict(), ("task", "age_head", "age_min", "age_max", "input_size")),
    )
    teacher.eval().float()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def lineage_of(meta: dict) -> dict:
    """Recipe, total epochs and datasets of a weight file, counting the runs it was fine-tuned from."""
    before = meta.get("fine_tuned_from") or {}
    epochs = (meta.get("val") or {}).get("epoch") or 0
    recipe = meta.get("recipe") or "custom"
    return {
        "recipe": f"{before['recipe']} + {recipe}" if before else recipe,
        "epochs": int(before.get("epochs", 0)) + int(epochs),
        "datasets": trained_on(meta),
    }
