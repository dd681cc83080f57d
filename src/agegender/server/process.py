"""Run `agegender serve` in a child process on a free local port and wait until it answers.

For scripts and tests that need a real server (browser tests, screenshots, memory benchmarks):

    with serve_in_background(["--weights", "mine=w.safetensors"]) as server:
        urllib.request.urlopen(server.url + "/api/health")
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO


@dataclass
class BackgroundServer:
    url: str
    process: subprocess.Popen


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_in_background(args: Sequence[str] = (), log: str | Path | None = None, timeout_s: float = 120.0):
    """Yield a :class:`BackgroundServer` once ``/api/health`` answers; stop the server on exit."""
    port = free_port()
    out: IO[str] | int = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "agegender", "serve", "--port", str(port), *args], stdout=out, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                urllib.request.urlopen(url + "/api/health", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    tail = Path(log).read_text()[-2000:] if log else ""
                    raise RuntimeError(f"agegender serve exited with code {proc.returncode}. {tail}") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"agegender serve did not answer within {timeout_s:.0f} s") from None
                time.sleep(0.5)
        yield BackgroundServer(url, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        if not isinstance(out, int):
            out.close()
