"""FastAPI app: ``POST /api/analyze``, ``GET /api/health``, the live view's WebSocket ``/api/live``, the
page at ``/`` and docs at ``/docs`` (offline).

The analyzer is created in the app's lifespan and owned by the app (no module state). Every
error, of every status, is ``{"error": "<plain words>"}``: 400 for what is not a readable
image, 413 beyond the upload limit, 422 for a bad option, 503 with ``Retry-After`` when the
server is at its limits (see :mod:`agegender.server.admission`): a bounded number of analyses
run at once, a short queue waits, and the decoded pixels and upload bytes held at any moment
have budgets, so memory stays bounded whatever is sent.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import MutableMapping
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Query, Request, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from agegender import __version__
from agegender.data.images import decode_image, image_size
from agegender.errors import Busy, ImageError, RequestError
from agegender.models.shipped import BOTH
from agegender.server import schema
from agegender.server.admission import Admission, prefer_mmap_for_large_blocks, release_memory_to_os
from agegender.server.config import ServerConfig
from agegender.server.live import LiveConnections, serve_live

PREVIEW_SIDE = 1024  # longest side of the preview JPEG sent back for formats a browser cannot show
TRIM_AFTER_PIXELS = 4_000_000  # hand memory back to the OS after requests at least this large


async def _read_body(request: Request, config: ServerConfig, admission: Admission) -> tuple[bytes, int]:
    """The request body and the bytes reserved for it.

    413 past ``max_upload_bytes``: the rest of the body is read and dropped first (up to
    ``drain_bytes``), so that every client, not only those that read the answer while they send,
    gets the 413 instead of a connection reset. 408 when the client stops sending: nothing for
    ``body_idle_s``, or less than ``min_upload_rate`` bytes a second once ``body_idle_s`` has
    passed; the connection is then closed and its bytes freed at once. 429 past
    ``max_uploads_per_client`` uploads at once from one address; 503 past the server's upload budget.
    """
    limit = config.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        if int(declared) <= config.drain_bytes:
            await _drain(request, config, config.drain_bytes)
        raise RequestError(413, f"the upload is {int(declared):,} bytes; the limit is {limit:,} bytes")
    client = request.client.host if request.client else ""
    try:
        admission.start_upload(client)
    except Busy:
        await _drain(request, config, limit)  # so that the client can read the 429
        raise
    chunks, size = [], 0
    start = time.monotonic()
    try:
        while True:
            message = await _receive(request, config, start, size)
            chunk = message.get("body", b"")
            if chunk:
                if size + len(chunk) > limit:
                    raise RequestError(413, f"the upload is larger than the limit of {limit:,} bytes")
                admission.reserve_upload(len(chunk))
                size += len(chunk)
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
    except BaseException as exc:
        admission.release_upload(size)
        refused = isinstance(exc, Busy) or (isinstance(exc, RequestError) and exc.status == 413)
        if refused:  # read and drop the rest, so that the client can read the answer
            await _drain(request, config, config.drain_bytes if isinstance(exc, RequestError) else limit)
        raise
    finally:
        admission.end_upload(client)
    return b"".join(chunks), size


async def _receive(request: Request, config: ServerConfig, start: float, received: int) -> MutableMapping[str, Any]:
    """The next piece of the body, or 408 when the client has stalled (see _read_body)."""
    elapsed = time.monotonic() - start
    if elapsed > config.body_idle_s and received < config.min_upload_rate * (elapsed - config.body_idle_s):
        raise RequestError(
            408,
            f"the upload is arriving too slowly ({received:,} bytes in {elapsed:.0f} s); "
            f"the server closed the connection",
        )
    try:
        message = await asyncio.wait_for(request.receive(), config.body_idle_s)
    except asyncio.TimeoutError:
        raise RequestError(
            408, f"the upload stopped: nothing arrived for {config.body_idle_s:.0f} s; the server closed the connection"
        ) from None
    if message["type"] == "http.disconnect":
        raise RequestError(400, "the client closed the connection before the upload was complete")
    return message


async def _drain(request: Request, config: ServerConfig, most: int) -> None:
    """Read and drop the rest of a body that is refused, at most ``most`` bytes, waiting at most
    ``body_idle_s`` for each piece: the client can then read the answer instead of a reset."""
    dropped = 0
    while dropped <= most:
        try:
            message = await asyncio.wait_for(request.receive(), config.body_idle_s)
        except asyncio.TimeoutError:
            return
        dropped += len(message.get("body", b""))
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return


async def _image_bytes(request: Request, body: bytes) -> bytes:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        # Starlette's form parser reads the cached body; set it so the stream is not read twice.
        request._body = body
        form = await request.form()
        upload = form.get("file") or form.get("image")
        if upload is None or isinstance(upload, str):
            raise RequestError(400, "a multipart upload needs the image in a file field named 'file'")
        return await upload.read()
    return body


def _preview(image) -> str:
    """A JPEG data URL of the (EXIF-rotated) image, longest side at most PREVIEW_SIDE px."""
    import cv2

    h, w = image.shape[:2]
    scale = min(1.0, PREVIEW_SIDE / max(h, w))
    small = (
        image if scale == 1.0 else cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    )
    ok, buf = cv2.imencode(".jpg", small[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def _plain(message: str) -> str:
    """An analyzer's message without the name it gives in-memory input."""
    for prefix in ("upload: ", "<array>: ", "<bytes>: "):
        message = message.replace(prefix, "")
    return message


class AllowedHosts:
    """ASGI middleware: answer only requests whose Host header names one of ``hosts`` (``*.example.org``:
    its subdomains). Others get 400 in the API's error shape (Starlette's TrustedHostMiddleware answers
    in plain text); a WebSocket is closed before it opens."""

    def __init__(self, app, hosts):
        self.app, self.hosts = app, tuple(h.lower() for h in hosts)

    def allowed(self, host: str) -> bool:
        return any(host == h or (h.startswith("*.") and host.endswith(h[1:])) for h in self.hosts)

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            from starlette.datastructures import Headers
            from starlette.websockets import WebSocketClose

            host = Headers(scope=scope).get("host", "").rsplit(":", 1)[0].strip("[]").lower()
            if not self.allowed(host):
                if scope["type"] == "http":
                    await JSONResponse(
                        {"error": f"this server does not answer to the host name {host!r}"}, status_code=400
                    )(scope, receive, send)
                else:
                    await WebSocketClose(code=1008)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(config: ServerConfig | None = None, analyzer=None) -> FastAPI:
    """Build the app; ``analyzer`` (a FaceAnalyzer) may be passed in, else it is created at start-up."""
    from fastapi_offline import FastAPIOffline

    config = config or ServerConfig()
    limits = config.limits()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        prefer_mmap_for_large_blocks()
        if analyzer is None:
            from agegender.inference import FaceAnalyzer

            app.state.analyzer = FaceAnalyzer(
                models=config.models,
                weights=config.weights,
                flip_tta=config.flip_tta,
                engine=config.engine,
                threads=config.threads,
                min_face=config.min_face,
                device=config.device,
            )
        else:
            app.state.analyzer = analyzer
        app.state.admission = Admission(limits)
        app.state.live = LiveConnections()
        yield

    app = FastAPIOffline(
        title="agegender", version=__version__, lifespan=lifespan, description=schema.description(config, limits)
    )

    if config.allowed_hosts:
        app.add_middleware(AllowedHosts, hosts=config.allowed_hosts)

    @app.exception_handler(RequestError)
    async def request_error(_: Request, exc: RequestError):
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(Busy)
    async def busy(_: Request, exc: Busy):
        return JSONResponse(
            {"error": exc.message}, status_code=exc.status, headers={"Retry-After": str(exc.retry_after_s)}
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError):
        parts = [
            f"{'.'.join(str(p) for p in e.get('loc', [])[1:]) or 'request'}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        ]
        return JSONResponse({"error": "; ".join(parts)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.get("/api/health", summary="Is the server up, with which models and how busy", response_model=schema.Health)
    async def health(request: Request):
        a, adm = request.app.state.analyzer, request.app.state.admission
        return {
            "status": "ok",
            "version": __version__,
            "models": a.model_names,
            "default_model": a.default_model,
            "engines": a.engines,
            "busy": {
                "active": adm.active,
                "waiting": adm.waiting,
                "max_active": limits.max_active,
                "max_waiting": limits.max_waiting,
                "live": request.app.state.live.open,
                "max_live": config.live_max_connections,
            },
        }

    @app.post(
        "/api/analyze",
        summary="Age and gender of every face in an uploaded image",
        description=schema.ANALYZE_DESCRIPTION,
        response_model=None,
        openapi_extra=schema.ANALYZE_REQUEST_BODY,
        responses=schema.analyze_responses(),
    )
    async def analyze(
        request: Request,
        model: str | None = Query(
            None,
            description="which model answers: a loaded model's name "
            "(vgg16, resnet50) or both (every loaded model, "
            "side by side); default: the server's default "
            "model (/api/health says which)",
        ),
        crops: bool = Query(False, description="the image is one aligned face crop: no detection"),
        preview: bool = Query(
            False,
            description="also return the image as a JPEG data URL (at most "
            f"{PREVIEW_SIDE} px), for clients that cannot show "
            "the uploaded format (e.g. TIFF in a browser)",
        ),
    ):
        a, admission = request.app.state.analyzer, request.app.state.admission
        names = _answering(a, model)
        if names is None:
            raise RequestError(422, f"model must be one of {', '.join(a.model_names)} or both, not {model!r}")
        body, reserved = await _read_body(request, config, admission)
        try:
            data = await _image_bytes(request, body)
            del body
            size = image_size(data) or (0, 0)
            pixels = size[0] * size[1]
            if pixels > config.max_pixels:
                raise RequestError(
                    400, f"the image is {size[0]}x{size[1]} pixels, more than the limit of {config.max_pixels:,} pixels"
                )
            async with admission.slot(pixels):
                out = await run_in_threadpool(_analyze, a, data, names, crops, preview, config.max_pixels)
            if pixels >= TRIM_AFTER_PIXELS:
                await run_in_threadpool(release_memory_to_os)
        finally:
            admission.release_upload(reserved)
        return out

    @app.websocket("/api/live")
    async def live(websocket: WebSocket, model: str | None = None):
        """Live webcam view: binary JPEG/PNG frames in, JSON answers out (see agegender.server.live)."""
        a = websocket.app.state.analyzer
        names = _answering(a, model)
        if names is None:
            await websocket.send_denial_response(
                JSONResponse(
                    {"error": f"model must be one of {', '.join(a.model_names)} or both, not {model!r}"},
                    status_code=422,
                )
            )
            return
        await serve_live(
            websocket, a, websocket.app.state.admission, websocket.app.state.live, config.live_limits(), names
        )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index():
        return (resources.files("agegender.server") / "static" / "index.html").read_text()

    return app


def _answering(analyzer, model: str | None) -> list[str] | None:
    """The models a request's ``model`` asks for (None: the default one; "both": every loaded model);
    None if it names a model that is not loaded."""
    if model is None:
        return [analyzer.default_model]
    if model == BOTH:
        return analyzer.model_names
    return [model] if model in analyzer.model_names else None


def _analyze(analyzer, data: bytes, names, crops: bool, preview: bool, max_pixels: int) -> dict:
    """Decode and analyse in a worker thread; ImageError becomes a 400."""
    notes: list[str] = []
    try:
        image = decode_image(data, "upload", max_pixels, notes)
        result = analyzer.analyze(image, crops=crops, models=names)
    except ImageError as exc:
        raise RequestError(400, _plain(str(exc))) from exc
    out = result.to_dict()
    out.update(source="upload", models=names, notes=notes + out["notes"])
    if preview:
        out["preview"] = _preview(image)
    return out
