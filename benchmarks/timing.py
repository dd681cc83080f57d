"""The one timer of the benchmarks: the median of repeated calls after warm-ups."""

from __future__ import annotations

import time

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
