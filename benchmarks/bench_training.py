"""Training throughput, cache build time and peak RAM of a training run, on this machine's CPU.

python benchmarks/bench_training.py --utkface ../shared/data/utkface/images --out benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch


def throughput(arch: str, precision: str, size: int = 64, batch: int = 64, steps: int = 6) -> float:
    from agegender.models import create_model
    from agegender.training.losses import age_loss, gender_loss

    torch.manual_seed(0)
    model = create_model(arch, task="both", input_size=size).to(memory_format=torch.channels_last).train()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.rand(batch, 3, size, size).contiguous(memory_format=torch.channels_last)
    ages, genders = torch.randint(18, 51, (batch,)).float(), torch.randint(0, 2, (batch,))
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            out = model(x)
        loss = age_loss(out, ages, model.config, "mse") + gender_loss(out["gender_logits"], genders, "ce")
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    return batch / (sum(times[2:]) / len(times[2:]))  # first steps warm up the allocator and kernels


def peak_rss_mb(cmd: list[str]) -> float:
    """Peak resident memory of a command, measured in a wrapper process of its own."""
    wrapper = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    res = subprocess.run([sys.executable, "-c", wrapper, *cmd], check=True, capture_output=True, text=True)
    return round(int(res.stdout.strip()) / 1024, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--utkface", default="../shared/data/utkface/images")
    ap.add_argument("--manifest", default="data/utkface_manifest.csv")
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args()
    out = {
        "machine": {
            "cpu_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "processor": platform.processor() or platform.machine(),
        }
    }
    out["train_images_per_s"] = {
        f"{arch}/{prec}": round(throughput(arch, prec), 1)
        for arch in ("resnet50", "vgg16")
        for prec in ("fp32", "bf16")
    }
    print(json.dumps(out["train_images_per_s"]), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "agegender",
                "data",
                "cache",
                args.manifest,
                "--root",
                args.utkface,
                "-o",
                str(cache),
                "--size",
                "64",
            ],
            check=True,
            capture_output=True,
        )
        out["cache_build"] = {
            "faces": 21012,
            "size_px": 64,
            "seconds": round(time.perf_counter() - t, 1),
            "bytes": (cache / "images.npy").stat().st_size,
        }
        print(json.dumps(out["cache_build"]), flush=True)
        peak = {
            arch: peak_rss_mb(
                [
                    sys.executable,
                    "-m",
                    "agegender",
                    "train",
                    "--cache",
                    str(cache),
                    "--arch",
                    arch,
                    "--task",
                    "both",
                    "--all-ages",
                    "--epochs",
                    "1",
                    "--max-steps",
                    "20",
                    "--batch-size",
                    "64",
                    "--out",
                    str(Path(tmp) / arch),
                    "--no-progress",
                ]
            )
            for arch in ("resnet50", "vgg16")
        }
        out["train_peak_rss_mb_batch64_all_ages"] = peak
        print(json.dumps(peak), flush=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "training_cpu.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
