"""Installed size of each set of extras: a wheel of the checkout into fresh virtualenvs.

    python benchmarks/install_size.py --out benchmarks/results

Sizes are of the whole virtualenv (pip and setuptools included, ~20 MB), from ``du``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = {"predict (no extras)": "", "predict + server": "[server]", "train (+ PyTorch)": "[train]"}


def du_mb(path: Path) -> float:
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout
    return round(int(out.split()[0]) / 1024, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # Built from a copy: a build/ folder left in the checkout would hand back stale files.
        source = tmp / "source"
        shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(ROOT / name, source / name)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(tmp)], check=True
        )
        wheel = next(tmp.glob("agegender-*.whl"))
        results = {"wheel_mb": round(wheel.stat().st_size / 1e6, 1)}
        for label, extra in SETS.items():
            env = tmp / f"venv-{len(results)}"
            venv.create(env, with_pip=True)
            t = time.perf_counter()
            subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install", "-q", f"{wheel}{extra}"], check=True)
            results[label] = {"venv_mb": du_mb(env), "install_s": round(time.perf_counter() - t, 1)}
            print(label, results[label], flush=True)
    results["target_predict_mb"] = 500
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "install_size.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
