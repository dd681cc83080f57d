"""Loopback load on `agegender serve` (both shipped models): resident memory, /api/health latency, status codes.

    python benchmarks/bench_server_load.py --out benchmarks/results

Two phases against one server process, with a bounded asyncio client (raw HTTP/1.1, no extra package):
1. amplify: 32 uploads at once of a 6 KB PNG that decodes to 7000x7000 pixels (147 MB as RGB);
2. mixed: 16 clients, each sending a sequence of good photos, broken and non-image files and
   amplifying PNGs; a 503 is retried after its Retry-After (at most 10 tries), as a client should;
3. groups: 8 clients sending 4 class photos of 40 faces each; then the server idles 30 s.
Each simulated client connects from its own loopback address (the server limits uploads per address).
Throughout, the server's resident memory (VmRSS) is sampled every 50 ms and /api/health timed
every 100 ms; after each phase the server idles 10 s. Writes server_load.json (figures and the
issue-14 targets: peak <= 2.5 GB, <= 1.5 GB after 10 s idle, health < 100 ms, no 5xx but 503).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import time
from pathlib import Path

TARGETS = {"peak_rss_mb": 2500, "idle_rss_mb_after_10s": 1500, "health_ms_max": 100}
IDLE_TARGET_MB = 500  # resident memory 30 s after the last phase (issue 23)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def http(
    host: str,
    port: int,
    method: str,
    path: str,
    body: bytes = b"",
    ctype: str = "image/png",
    timeout: float = 300.0,
    source: str | None = None,
) -> tuple[int, dict, bytes]:
    """One request on its own connection, from the loopback address ``source``: (status, headers, body)."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, local_addr=(source, 0) if source else None), timeout
    )
    try:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        writer.write(head + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    header, _, payload = raw.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
    return status, headers, payload


class Monitor:
    """Samples the server's RSS every 50 ms and times /api/health every 100 ms while running."""

    def __init__(self, pid: int, host: str, port: int):
        self.pid, self.host, self.port = pid, host, port
        self.rss: list[float] = []
        self.health_ms: list[float] = []
        self.health_failures = 0
        self._stop = asyncio.Event()

    async def _rss(self):
        while not self._stop.is_set():
            self.rss.append(rss_mb(self.pid))
            await asyncio.sleep(0.05)

    async def _health(self):
        while not self._stop.is_set():
            t = time.perf_counter()
            try:
                status, _, _ = await http(self.host, self.port, "GET", "/api/health", timeout=10)
                ok = status == 200
            except (OSError, asyncio.TimeoutError):
                ok = False
            self.health_ms.append((time.perf_counter() - t) * 1000)
            self.health_failures += not ok
            await asyncio.sleep(0.1)

    async def __aenter__(self):
        self._tasks = [asyncio.create_task(self._rss()), asyncio.create_task(self._health())]
        return self

    async def __aexit__(self, *exc):
        self._stop.set()
        await asyncio.gather(*self._tasks)


def amplifying_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (7000, 7000)).save(buf, "PNG")
    return buf.getvalue()


def inputs(photos: list[Path]) -> dict[str, list[bytes]]:
    from PIL import Image

    good = [p.read_bytes() for p in photos]
    big = io.BytesIO()  # a 12-megapixel photo, as phones take them
    Image.open(photos[0]).convert("RGB").resize((4000, 3000)).save(big, "JPEG", quality=90)
    good.append(big.getvalue())
    return {
        "good": good,
        "bad": [b"this is not an image", good[0][: len(good[0]) // 3], b"\x89PNG\r\n\x1a\n" + b"\0" * 64],
        "amplify": [amplifying_png()],
        "group": [group_photo(photos[0])],
    }


def group_photo(photo: Path, rows: int = 5, cols: int = 8) -> bytes:
    """A 1600x1000 JPEG with rows x cols faces (the example photo's face, 150 px), as a class photo."""
    import numpy as np
    from PIL import Image

    face = np.asarray(Image.open(photo).convert("RGB"))[20:230, 120:330]
    face = np.asarray(Image.fromarray(face).resize((150, 150)))
    scene = np.full((200 * rows, 200 * cols, 3), 90, np.uint8)
    for r in range(rows):
        for c in range(cols):
            scene[200 * r + 25 : 200 * r + 175, 200 * c + 25 : 200 * c + 175] = face
    buf = io.BytesIO()
    Image.fromarray(scene).save(buf, "JPEG", quality=90)
    return buf.getvalue()


async def phase(name: str, pid: int, host: str, port: int, load, idle_s: float = 10.0) -> dict:
    """Run ``load()`` (a list of (kind, final status, tries) when done) under the monitor, then idle."""
    async with Monitor(pid, host, port) as mon:
        t = time.perf_counter()
        outcomes = await load()
        busy_s = time.perf_counter() - t
        after_load = len(mon.rss)
        await asyncio.sleep(min(idle_s, 10.0))
        after_10s = len(mon.rss)
        await asyncio.sleep(max(0.0, idle_s - 10.0))
    by_kind: dict[str, dict[str, int]] = {}
    for kind, status, _ in outcomes:
        by_kind.setdefault(kind, {}).setdefault(str(status), 0)
        by_kind[kind][str(status)] += 1
    return {
        "phase": name,
        "requests": len(outcomes),
        "seconds": round(busy_s, 1),
        "status_by_input": by_kind,
        "retries_after_503": sum(tries - 1 for _, _, tries in outcomes),
        "peak_rss_mb": round(max(mon.rss)),
        "rss_mb_at_end_of_load": round(mon.rss[after_load - 1]),
        "idle_rss_mb_after_10s": round(mon.rss[after_10s - 1]),
        **({f"idle_rss_mb_after_{idle_s:.0f}s": round(mon.rss[-1])} if idle_s > 10 else {}),
        "health_ms_max": round(max(mon.health_ms), 1),
        "health_ms_p95": round(sorted(mon.health_ms)[int(0.95 * len(mon.health_ms))], 1),
        "health_checks": len(mon.health_ms),
        "health_failures": mon.health_failures,
    }


async def send(host, port, kind, data, retry: bool, source: str) -> tuple[str, int, int]:
    for tries in range(1, 11):
        status, headers, _ = await http(host, port, "POST", "/api/analyze?model=both", data, source=source)
        if status != 503 or not retry:
            return kind, status, tries
        await asyncio.sleep(min(10, int(headers.get("retry-after", "1"))) * random.uniform(0.5, 1.0))
    return kind, status, tries


async def run(server_pid: int, host: str, port: int, photos: list[Path], clients: int, per_client: int) -> list[dict]:
    data = inputs(photos)
    rng = random.Random(0)

    async def amplify():
        # 32 users at once, each from its own loopback address (the server limits uploads per address)
        return await asyncio.gather(
            *(
                send(host, port, "amplify", data["amplify"][0], retry=False, source=f"127.0.0.{10 + i}")
                for i in range(32)
            )
        )

    async def client(source: str):
        out = []
        for _ in range(per_client):
            kind = rng.choices(["good", "bad", "amplify"], weights=[6, 3, 1])[0]
            out.append(await send(host, port, kind, rng.choice(data[kind]), retry=True, source=source))
        return out

    async def mixed():
        return [r for rs in await asyncio.gather(*(client(f"127.0.1.{10 + i}") for i in range(clients))) for r in rs]

    async def groups():
        # class photos of 40 faces: the networks' batches and their buffers at their largest
        async def one(i):
            return [
                await send(host, port, "group", data["group"][0], retry=True, source=f"127.0.2.{10 + i}")
                for _ in range(4)
            ]

        return [r for rs in await asyncio.gather(*(one(i) for i in range(8))) for r in rs]

    return [
        await phase("amplify: 32 at once", server_pid, host, port, amplify),
        await phase(f"mixed: {clients} clients x {per_client} requests", server_pid, host, port, mixed),
        await phase("groups: 8 clients x 4 photos of 40 faces", server_pid, host, port, groups, idle_s=30.0),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--per-client", type=int, default=8)
    ap.add_argument("--serve-args", default="", help="extra arguments for agegender serve")
    args = ap.parse_args()

    from agegender.server.process import serve_in_background

    photos = [Path(str(__import__("agegender").__file__)).parent / "assets" / "astronaut.jpg"]
    import tempfile

    log = Path(tempfile.mkdtemp()) / "server.log"
    with serve_in_background(args.serve_args.split(), log=log) as server:
        host, port = server.url.split("//")[1].split(":")
        pid = server.process.pid
        idle_before = rss_mb(pid)
        rows = asyncio.run(run(pid, host, int(port), photos, args.clients, args.per_client))
    result = {
        "what": __doc__.splitlines()[0],
        "cpu_threads": os.cpu_count(),
        "server_rss_mb_idle_before": round(idle_before),
        "targets": TARGETS,
        "phases": rows,
    }
    result["idle_rss_mb_30s_after_load"] = rows[-1]["idle_rss_mb_after_30s"]
    result["idle_target_mb"] = IDLE_TARGET_MB
    result["targets_met"] = (
        all(r[k] <= v for r in rows for k, v in TARGETS.items())
        and all(s in ("200", "400", "503") for r in rows for kinds in r["status_by_input"].values() for s in kinds)
        and result["idle_rss_mb_30s_after_load"] <= IDLE_TARGET_MB
    )
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "server_load.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
