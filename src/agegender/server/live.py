"""Live analysis over a WebSocket (``/api/live``): webcam frames in, each face's track id and fused answer out.

The page sends one JPEG (or PNG) frame as a binary message and waits for the answer before it
sends the next, so at most one frame per connection is in the server. Each connection has its
own tracker (:class:`agegender.video.analyze.TrackedFaces`): a face keeps its id while it stays
in view and its answer is fused over the frames, so labels settle instead of flickering.

Bounds: at most ``max_connections`` live connections (more are refused with HTTP 503 and
``Retry-After`` at the handshake), at most ``max_fps`` frames a second per connection (faster
senders are slowed down, not refused), frames of at most ``max_frame_bytes`` and
``max_frame_pixels``, and each frame's analysis takes a slot and its pixels from the same
admission control as uploads (:mod:`agegender.server.admission`). A connection that sends
nothing for ``idle_timeout_s`` is closed. A connection holds its tracker's few numbers per
person and one frame at a time: its memory does not grow with time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass

from fastapi import WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocketDisconnect

from agegender.data.images import decode_image, image_size
from agegender.errors import Busy, ImageError
from agegender.server.admission import Admission

CLOSE_TRY_AGAIN_LATER = 1013  # WebSocket close code: the server is overloaded
CLOSE_POLICY = 1008  # WebSocket close code: a message broke the rules (idle too long)


@dataclass
class LiveLimits:
    """Bounds of the live view (ServerConfig sets them; `agegender serve --help` lists them)."""

    max_connections: int = 4
    max_fps: float = 15.0
    max_frame_bytes: int = 2_000_000
    max_frame_pixels: int = 1920 * 1088
    idle_timeout_s: float = 30.0


class LiveConnections:
    """How many live connections are open (event-loop thread only: a plain counter)."""

    def __init__(self):
        self.open = 0


async def serve_live(
    websocket: WebSocket,
    analyzer,
    admission: Admission,
    connections: LiveConnections,
    limits: LiveLimits,
    names: list[str],
) -> None:
    """Run one live connection until the client leaves, goes idle, or the server stops."""
    from agegender.video.analyze import TrackedFaces, VideoOptions

    if connections.open >= limits.max_connections:
        refusal = f"the server is showing {connections.open} live views, its limit; try again shortly"
        await websocket.send_denial_response(
            JSONResponse({"error": refusal}, status_code=503, headers={"Retry-After": "5"})
        )
        return
    connections.open += 1
    try:
        await websocket.accept()
        tracked = TrackedFaces(analyzer, names, VideoOptions(), source="live")
        start = time.monotonic()
        recent: deque[float] = deque(maxlen=16)  # when the last frames were answered, for frames per second
        index = 0
        next_allowed = 0.0
        while True:
            try:
                message = await asyncio.wait_for(websocket.receive(), limits.idle_timeout_s)
            except asyncio.TimeoutError:
                await websocket.close(CLOSE_POLICY, f"no frame for {limits.idle_timeout_s:.0f} s")
                return
            received = time.monotonic()  # the frame's time: the page sends a frame as soon as it captures it
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                await _send(websocket, {"error": "send each frame as a binary message (JPEG or PNG bytes)"})
                continue
            pixels, problem = _frame_pixels(data, limits)
            if problem:
                await _send(websocket, {"error": problem})
                continue
            wait = next_allowed - time.monotonic()
            if wait > 0:  # faster than max_fps: slowed down, not refused
                await asyncio.sleep(wait)
            next_allowed = time.monotonic() + 1.0 / limits.max_fps
            try:
                async with admission.slot(pixels):
                    t = time.monotonic()
                    answer = await run_in_threadpool(
                        _process, tracked, data, index, received - start, limits.max_frame_pixels
                    )
            except Busy as exc:
                await _send(websocket, {"error": exc.message, "retry_after_s": exc.retry_after_s})
                continue
            answer["speed_ms"] = round(1000 * (time.monotonic() - t), 1)
            recent.append(time.monotonic())
            answer["fps"] = round((len(recent) - 1) / (recent[-1] - recent[0]), 1) if len(recent) > 1 else None
            index += 1
            await _send(websocket, answer)
    except WebSocketDisconnect:
        return
    finally:
        connections.open -= 1


def _frame_pixels(data: bytes, limits: LiveLimits) -> tuple[int, str | None]:
    """(the frame's pixels from its header, or what is wrong with it)."""
    if len(data) > limits.max_frame_bytes:
        return 0, f"the frame is {len(data):,} bytes; the limit is {limits.max_frame_bytes:,}"
    size = image_size(data)
    if size is None:
        return 0, "the frame is not an image this server reads (send JPEG or PNG bytes)"
    if size[0] * size[1] > limits.max_frame_pixels:
        return 0, f"the frame is {size[0]}x{size[1]} pixels; the limit is {limits.max_frame_pixels:,} pixels"
    return size[0] * size[1], None


def _process(tracked, data: bytes, index: int, time_s: float, max_pixels: int) -> dict:
    """Decode and analyse one frame in a worker thread: the answer the page draws."""
    try:
        image = decode_image(data, "frame", max_pixels)
    except ImageError as exc:
        return {"error": str(exc).replace("frame: ", "")}
    frame, ended = tracked.process(image, index, time_s)
    return {
        "frame": index,
        "time_s": round(time_s, 3),
        "width": image.shape[1],
        "height": image.shape[0],
        "faces": [{**f.to_dict(), "settled": tracked.settled(f.track_id)} for f in frame.faces],
        "ended": [t.to_dict() for t in ended],
    }


async def _send(websocket: WebSocket, body: dict) -> None:
    await websocket.send_text(json.dumps(body))
