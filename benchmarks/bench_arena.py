"""ONNX Runtime's CPU memory arena on or off: speed side by side in one run (memory: bench_server_load.py).

    python benchmarks/bench_arena.py --out benchmarks/results

The shipped sessions (``agegender.runtime.session_options``) turn the arena off: it grows
to the largest batch a session has run and never gives the memory back, so a server that has
read a class photo of 40 faces idled at 1.35 GB instead of 0.34 GB (server_load.json). This
script times the same figures as bench_spinning.py with the arena on and off (spinning off in
both), alternating over the rounds. Writes arena.json.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench_spinning import compare_session_options, parse_args


def main():
    from agegender.runtime import session_options

    args = parse_args(__doc__)

    def arena():
        options = session_options()
        options.enable_cpu_mem_arena = True
        return options

    out = compare_session_options(
        {"arena (ONNX Runtime's default)": arena, "no arena (shipped)": session_options}, args
    )
    print(json.dumps(out, indent=1))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "arena.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
