"""The REST API's documented shapes: request body, answers and errors, as the OpenAPI schema at /docs shows them.

The handlers return plain dicts (``Result.to_dict()``); these models describe them for
readers and client generators, and a test checks that real answers match them.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Error(BaseModel):
    """Every error answer, whatever its status."""

    error: str = Field(description="what is wrong, in plain words", examples=["the upload is larger than the limit"])


class Prediction(BaseModel):
    """The JSON of :class:`agegender.results.Prediction` (its ``to_dict``); a test keeps the two alike."""

    age: float | None = Field(None, description="years")
    age_std: float | None = Field(None, description="spread of the age estimate, years")
    gender: str | None = Field(None, description="female or male")
    p_female: float | None = Field(None, description="probability that the face is female, 0-1")


class Face(BaseModel):
    """The JSON of :class:`agegender.results.Face` in an analysis (its ``to_dict``); a test keeps the two alike."""

    box: list[float] = Field(description="x1, y1, x2, y2 in pixels of the (EXIF-rotated) image")
    det_score: float | None = Field(None, description="detector confidence, 0-1 (null for crops)")
    landmarks: list[list[float]] | None = Field(None, description="5 points (eyes, nose, mouth corners), px")
    predictions: dict[str, Prediction] = Field(description="one answer per model")


class Analysis(BaseModel):
    source: str
    width: int
    height: int
    message: str = Field(examples=["2 face(s) found", "no face found"])
    notes: list[str] = Field(description="remarks on the input, e.g. only an animation's first frame is analysed")
    faces: list[Face]
    speed_ms: dict[str, float] = Field(description="milliseconds per stage: load, detect, align and each model")
    models: list[str]
    preview: str | None = Field(None, description="with preview=true: the image as a JPEG data URL")


class ServerLoad(BaseModel):
    """How busy the server is (the admission control's counters)."""

    active: int
    waiting: int
    max_active: int
    max_waiting: int
    live: int = Field(description="live webcam views open (/api/live)")
    max_live: int


class Health(BaseModel):
    status: str
    version: str
    models: list[str]
    default_model: str = Field(description="the model that answers when a request names none")
    engines: dict[str, str] = Field(description="what runs each model: onnx, onnx-int8 or torch")
    busy: ServerLoad


ANALYZE_DESCRIPTION = (
    "Send the image as multipart form data (field `file`) or as the raw request body with an image "
    "content type. Formats: JPEG, PNG, WebP, BMP, TIFF, GIF (first frame), PPM. Faces are found "
    "reliably from about 40 px a side (none under 16 px, or 1/150 of a large photo's longer side, is "
    "reported); each is aligned and read by the chosen model(s)."
)

_BINARY = {"type": "string", "format": "binary"}
ANALYZE_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {**_BINARY, "description": "the image"}},
                }
            },
            "image/jpeg": {"schema": _BINARY},
            "image/png": {"schema": _BINARY},
            "image/webp": {"schema": _BINARY},
            "application/octet-stream": {"schema": _BINARY},
        },
    }
}


def analyze_responses() -> dict:
    error = {"model": Error}
    return {
        200: {"model": Analysis, "description": "the faces found (possibly none) and each model's answer"},
        400: {**error, "description": "not a readable image, too many pixels, or a 'crop' too small to hold a face"},
        408: {
            **error,
            "description": "the upload stalled (nothing for a while, or too slow); the connection is closed",
        },
        413: {**error, "description": "the upload is larger than the server's limit"},
        422: {**error, "description": "an unknown model or an invalid option"},
        429: {
            **error,
            "description": "too many uploads arriving at once from your address; Retry-After says when",
            "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}},
        },
        503: {
            **error,
            "description": "the server is at its limits (analyses running and queued, pixels or "
            "upload bytes held); the Retry-After header says when to try again",
            "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}},
        },
    }


def description(config, limits) -> str:
    """The API's description at /docs, with this server's limits."""
    return (
        "Age (years) and gender of every face in a photo.\n\n"
        "**Limits of this server** (503 with `Retry-After` beyond them, never a pile-up):\n"
        f"- upload: at most {config.max_upload_bytes:,} bytes (413 beyond); image: at most "
        f"{config.max_pixels:,} pixels (400 beyond)\n"
        f"- {limits.max_active} analyses at once, {limits.max_waiting} more queued for at most "
        f"{limits.max_wait_s:.0f} s\n"
        f"- {limits.pixel_budget:,} decoded pixels and {limits.upload_budget:,} upload bytes held by all "
        "requests together; at most "
        f"{config.max_uploads_per_client} uploads arriving at once from one address (429 beyond)\n"
        f"- an upload that sends nothing for {config.body_idle_s:.0f} s, or under {config.min_upload_rate:,} bytes a "
        f"second after that, gets 408 and is closed\n"
        f"- live view (WebSocket `/api/live`, `?model=` as for analyze): at most {config.live_max_connections} at once (503 at the "
        f"handshake beyond), {config.live_max_fps:g} frames a second each; send each frame as a binary JPEG or PNG "
        "message and wait for its JSON answer (each face's `track` id and its answer fused over the frames so far)\n\n"
        'Every error answer is `{"error": "..."}`.'
    )
