"""Admission control: how many analyses run at once, how many wait, how many pixels and upload bytes are held.

Every request first reserves its upload bytes while the body arrives, then, once the image's
header gives its size, a slot and its decoded pixels. When the server is full a request waits
in a short queue; when the queue is full too, or the wait passes ``max_wait_s``, it gets a
503 with ``Retry-After`` at once: load never piles up in memory. Everything runs on the event
loop thread, so plain counters and asyncio futures are enough (no locks).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import math
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass

from agegender.errors import Busy


@dataclass
class Limits:
    """The server's budgets (see ServerConfig, which sets them)."""

    max_active: int  # analyses decoding/detecting/predicting at once
    max_waiting: int  # requests queued for a slot; beyond it: 503
    pixel_budget: int  # decoded pixels held by all running analyses together
    upload_budget: int  # request-body bytes held by all requests together (arriving or queued)
    max_wait_s: float  # a queued request waits at most this long for a slot
    max_uploads_per_client: int = 8  # uploads arriving at once from one client address


class Admission:
    """The counters behind :class:`Limits`; one per app."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.active = 0
        self.pixels = 0
        self.upload_bytes = 0
        self._waiting: deque[tuple[int, asyncio.Future]] = deque()
        self.recent_s = 1.0  # running mean of an analysis' duration, for Retry-After
        self.uploads_by_client: dict[str, int] = {}

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def retry_after(self) -> int:
        return max(1, math.ceil(self.recent_s * (1 + self.waiting) / max(1, self.limits.max_active)))

    def start_upload(self, client: str) -> None:
        """Count one more upload arriving from ``client``, or raise Busy (429) past the per-client limit,
        so that one address cannot hold every upload slot. Pair with :meth:`end_upload`."""
        if self.uploads_by_client.get(client, 0) >= self.limits.max_uploads_per_client:
            raise Busy(
                f"{self.limits.max_uploads_per_client} uploads from your address are already arriving; "
                "send the next when one is done",
                1,
                status=429,
            )
        self.uploads_by_client[client] = self.uploads_by_client.get(client, 0) + 1

    def end_upload(self, client: str) -> None:
        self.uploads_by_client[client] -= 1
        if not self.uploads_by_client[client]:
            del self.uploads_by_client[client]

    def reserve_upload(self, n: int) -> None:
        """Count ``n`` more body bytes as held, or raise Busy if all uploads together would pass the budget."""
        if self.upload_bytes + n > self.limits.upload_budget:
            raise Busy("the server is receiving too many uploads at once; try again shortly", self.retry_after())
        self.upload_bytes += n

    def release_upload(self, n: int) -> None:
        self.upload_bytes -= n

    def _fits(self, pixels: int) -> bool:
        # A request larger than the whole budget still runs, alone, rather than never.
        return self.active < self.limits.max_active and (
            self.pixels + pixels <= self.limits.pixel_budget or self.active == 0
        )

    @asynccontextmanager
    async def slot(self, pixels: int):
        """Hold one analysis slot and ``pixels`` of the pixel budget for the body of the ``async with``."""
        if not (self._fits(pixels) and not self._waiting):
            if len(self._waiting) >= self.limits.max_waiting:
                raise Busy(
                    f"the server is busy ({self.active} analyses running, {self.waiting} waiting); try again shortly",
                    self.retry_after(),
                )
            future = asyncio.get_running_loop().create_future()
            entry = (pixels, future)
            self._waiting.append(entry)
            try:
                await asyncio.wait_for(asyncio.shield(future), self.limits.max_wait_s)
            except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
                if future.done() and not future.cancelled():  # granted just as the wait ended: give it back
                    self._leave(pixels)
                else:
                    future.cancel()
                    self._waiting.remove(entry)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                raise Busy(
                    f"the server stayed busy for {self.limits.max_wait_s:.0f} s; try again shortly", self.retry_after()
                ) from None
        else:
            self._enter(pixels)
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            yield
        finally:
            self.recent_s = 0.8 * self.recent_s + 0.2 * (loop.time() - start)
            self._leave(pixels)

    def _enter(self, pixels: int) -> None:
        self.active += 1
        self.pixels += pixels

    def _leave(self, pixels: int) -> None:
        self.active -= 1
        self.pixels -= pixels
        # Hand slots to queued requests in order, as long as the head of the queue fits.
        while self._waiting and self._fits(self._waiting[0][0]):
            pixels_next, future = self._waiting.popleft()
            if future.cancelled():
                continue
            self._enter(pixels_next)
            future.set_result(None)


def release_memory_to_os() -> None:
    """Give freed heap memory back to the operating system (glibc's malloc_trim; elsewhere nothing)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def prefer_mmap_for_large_blocks(threshold_bytes: int = 1 << 20) -> None:
    """Serve allocations above ``threshold_bytes`` with mmap, so freeing a decoded photo returns its
    memory at once. glibc otherwise raises this threshold as large blocks are freed (up to 32 MB),
    after which image buffers land in the heap and stay resident after the request."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(-3, threshold_bytes)  # M_MMAP_THRESHOLD


@functools.lru_cache(maxsize=1)
def _libc():
    """glibc, looked up once (find_library runs ldconfig): None elsewhere."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None
