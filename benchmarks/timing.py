"""The one timer of the benchmarks (the median of repeated calls after warm-ups) and the description of the
CPU every result file carries."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np


def timed(fn, repeat: int, warmups: int = 1) -> float:
    """Median milliseconds of ``fn()`` over ``repeat`` runs after ``warmups`` untimed ones."""
    for _ in range(warmups):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000)


def cpu_facts() -> dict:
    """The CPU a figure comes from: model, cores, the vector extensions int8 speed depends on (lscpu's flag
    names), and whether the int8 networks run with exact products here (x86 without VNNI, slower)."""
    from agegender.runtime import int8_products_saturate

    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    return {
        "cpu": model or platform.processor(),
        "cpus": os.cpu_count(),
        "isa": [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags],
        "int8_exact_products": int8_products_saturate(),
    }
