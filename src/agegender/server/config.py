"""The server's settings and their defaults: ``agegender serve``'s options are read from here.

Kept apart from the app so that the command line can show the defaults without the server extra.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agegender.models.shipped import SHIPPED_MODELS

if TYPE_CHECKING:
    from agegender.server.admission import Limits
    from agegender.server.live import LiveLimits


@dataclass
class ServerConfig:
    """Defaults for `agegender serve`; the limits are documented in the README and at /docs."""

    models: tuple[str, ...] = SHIPPED_MODELS
    weights: dict | None = None
    max_upload_bytes: int = 20_000_000
    max_pixels: int = 50_000_000  # per image (width x height)
    max_active: int | None = None  # analyses at once; None = the machine's CPU count
    max_waiting: int | None = None  # queued requests; None = 8 per active slot
    pixel_budget: int = 100_000_000  # decoded pixels held by all running analyses together (~3 B each, plus work)
    upload_budget: int = 200_000_000  # request bytes held by all requests together
    max_uploads_per_client: int = 8  # uploads arriving at once from one address; more get 429
    body_idle_s: float = 10.0  # an upload that sends nothing this long is closed (408) ...
    min_upload_rate: int = 10_000  # ... as is one slower than this many bytes a second after body_idle_s
    drain_bytes: int = 100_000_000  # an oversized body is read and dropped up to this size before its 413
    max_wait_s: float = 30.0
    flip_tta: bool = True
    engine: str = "auto"  # see FaceAnalyzer
    device: str = "cpu"  # cpu, cuda or cuda:N (see FaceAnalyzer)
    threads: int | None = None
    min_face: float | None = None  # see FaceDetector
    allowed_hosts: tuple[str, ...] | None = None  # Host header names answered (None: any); others get 400
    live_max_connections: int = 4  # live webcam views at once (/api/live); more get 503
    live_max_fps: float = 15.0  # frames a second analysed per live view

    def live_limits(self) -> LiveLimits:
        from agegender.server.live import LiveLimits

        return LiveLimits(
            max_connections=self.live_max_connections,
            max_fps=self.live_max_fps,
            max_frame_pixels=min(self.max_pixels, LiveLimits.max_frame_pixels),
        )

    def limits(self) -> Limits:
        from agegender.server.admission import Limits

        active = self.max_active or max(1, os.cpu_count() or 1)
        return Limits(
            max_active=active,
            max_waiting=self.max_waiting if self.max_waiting is not None else 8 * active,
            pixel_budget=self.pixel_budget,
            upload_budget=self.upload_budget,
            max_wait_s=self.max_wait_s,
            max_uploads_per_client=self.max_uploads_per_client,
        )
