"""Loopback load on a real `agegender serve` with both shipped models (slow: ~2 minutes on 2 cores).

Runs benchmarks/bench_server_load.py (32 amplifying uploads at once, 16 clients mixing good,
broken and amplifying uploads, then class photos of 40 faces and 30 s of idling) and holds it to
its targets. The committed figures are in benchmarks/results/server_load.json.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_server_load.py"


@pytest.mark.slow
def test_memory_health_and_status_codes_under_load(tmp_path):
    subprocess.run(
        [sys.executable, str(BENCH), "--out", str(tmp_path), "--per-client", "3"],
        check=True,
        capture_output=True,
        timeout=900,
    )
    result = json.loads((tmp_path / "server_load.json").read_text())
    for phase in result["phases"]:
        assert phase["peak_rss_mb"] <= 2500 and phase["idle_rss_mb_after_10s"] <= 1500, phase
        assert phase["health_ms_max"] < 100 and phase["health_failures"] == 0, phase
        statuses = phase["status_by_input"]
        assert all(s in ("200", "503") for s in statuses.get("amplify", {})), statuses
        assert set(statuses.get("good", {})) <= {"200"} and set(statuses.get("bad", {})) <= {"400"}, statuses
    assert result["phases"][0]["status_by_input"]["amplify"].get("200", 0) >= 2  # some are served, not all refused
    assert result["phases"][-1]["status_by_input"] == {"group": {"200": 32}}
    assert result["idle_rss_mb_30s_after_load"] <= 500  # memory goes back after large batches
