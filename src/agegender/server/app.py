"""FastAPI app: ``POST /api/analyze``, ``GET /api/health``, the page at ``/`` and docs at ``/docs``.

The analyzer is created in the app's lifespan and owned by the app (no module state). Bad
requests get a JSON error with a clear message and the server keeps serving: 413 beyond the
upload limit, 400 for non-images and decompression bombs, 422 for an unknown model choice.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse

from agegender import __version__
from agegender.data.images import ImageError, decode_image


@dataclass
class ServerConfig:
    models: tuple[str, ...] = ("vgg16", "resnet50")
    weights: dict | None = None
    max_upload_bytes: int = 20_000_000
    max_pixels: int = 50_000_000
    flip_tta: bool = True
    engine: str = "auto"  # see FaceAnalyzer
    threads: int | None = None


class RequestError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"upload of {int(declared)} bytes is larger than the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"upload is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _image_bytes(request: Request, limit: int) -> bytes:
    body = await _read_body(request, limit)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        # Starlette's form parser reads the cached body; set it so the stream is not read twice.
        request._body = body
        form = await request.form()
        upload = form.get("file") or form.get("image")
        if upload is None or isinstance(upload, str):
            raise RequestError(400, "multipart upload needs a file field named 'file'")
        return await upload.read()
    return body


def create_app(config: ServerConfig | None = None, analyzer=None) -> FastAPI:
    """Build the app; ``analyzer`` (a FaceAnalyzer) may be passed in, else it is created at start-up."""
    config = config or ServerConfig()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if analyzer is None:
            from agegender.inference import FaceAnalyzer

            app.state.analyzer = FaceAnalyzer(models=config.models, weights=config.weights, flip_tta=config.flip_tta,
                                              engine=config.engine, threads=config.threads)
        else:
            app.state.analyzer = analyzer
        yield

    app = FastAPI(title="agegender", version=__version__, lifespan=lifespan,
                  description="Age (years) and gender of every face in a photo.")

    @app.exception_handler(RequestError)
    async def request_error(_: Request, exc: RequestError):
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.get("/api/health")
    async def health(request: Request):
        a = request.app.state.analyzer
        return {"status": "ok", "version": __version__, "models": a.model_names, "engines": a.engines}

    @app.post("/api/analyze", summary="Age and gender of every face in an uploaded image",
              description="Send the image as multipart form data (field 'file') or as the raw request body.")
    async def analyze(request: Request, model: str = Query("both", description="vgg16, resnet50 or both"),
                      crops: bool = Query(False, description="the image is one aligned face crop: no detection")):
        a = request.app.state.analyzer
        names = a.model_names if model == "both" else [model]
        if any(n not in a.model_names for n in names):
            return JSONResponse({"error": f"model must be one of {a.model_names} or 'both', not {model!r}"},
                                status_code=422)
        data = await _image_bytes(request, config.max_upload_bytes)
        try:
            image = await run_in_threadpool(decode_image, data, "upload", config.max_pixels)
        except ImageError as exc:
            raise RequestError(400, str(exc).replace("upload: ", "")) from exc
        try:
            result = await run_in_threadpool(a.analyze, image, crops, False, names)
        except ImageError as exc:  # e.g. a "crop" too small to hold a face
            raise RequestError(400, str(exc).replace("<array>: ", "")) from exc
        out = result.to_dict()
        out["source"] = "upload"
        out["models"] = names
        return out

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index():
        return (resources.files("agegender.server") / "static" / "index.html").read_text()

    return app
