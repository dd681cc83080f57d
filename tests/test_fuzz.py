"""Property-based fuzzing: malformed and extreme images through decoding, the analyzer and the REST API.

Whatever the bytes, the answer is a result or one clear ImageError (400 from the server), never
another exception, a 5xx or a hang. The default run tries 150 inputs in ~12 s; `-m slow` runs
the long search.
"""

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from agegender.data.images import decode_image
from agegender.errors import ImageError

FORMATS = ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM"]
MODES = ["RGB", "L", "1", "P", "RGBA", "LA", "I;16", "CMYK"]


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height but whose data is a few bytes: a decompression bomb."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@st.composite
def image_bytes(draw):
    """Valid encodings of odd images, then possibly cut, corrupted or given a lying header."""
    kind = draw(st.sampled_from(["encoded", "random", "header"]))
    if kind == "random":
        return draw(st.binary(min_size=0, max_size=2048))
    if kind == "header":
        return _png_header_only(draw(st.integers(1, 200_000)), draw(st.integers(1, 200_000)))
    fmt = draw(st.sampled_from(FORMATS))
    mode = draw(st.sampled_from(MODES))
    w, h = draw(st.integers(1, 300)), draw(st.integers(1, 300))
    seed = draw(st.integers(0, 2**16))
    img = Image.fromarray(np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)).convert(
        "RGB" if mode in ("I;16", "CMYK") else mode
    )
    if mode == "I;16":
        img = img.convert("L").convert("I;16")
    buf = io.BytesIO()
    try:
        img.save(buf, fmt)
    except (OSError, ValueError, KeyError):  # this format cannot hold this mode: plain RGB then
        buf = io.BytesIO()
        img.convert("RGB").save(buf, fmt)
    data = bytearray(buf.getvalue())
    damage = draw(st.sampled_from(["none", "cut", "flip"]))
    if damage == "cut":
        data = data[: draw(st.integers(0, max(0, len(data) - 1)))]
    elif damage == "flip" and data:
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
    return bytes(data)


FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@FUZZ
@given(image_bytes())
def test_decoding_never_fails_otherwise_than_with_image_error(data):
    try:
        arr = decode_image(data, "fuzz", max_pixels=4_000_000)
    except ImageError as exc:
        assert str(exc).startswith("fuzz: ")
    else:
        assert arr.ndim == 3 and arr.shape[2] == 3 and arr.dtype == np.uint8 and arr.size > 0


@pytest.fixture(scope="module")
def api(random_weights):
    from fastapi.testclient import TestClient

    from agegender.inference import FaceAnalyzer
    from agegender.server.app import create_app
    from agegender.server.config import ServerConfig

    app = create_app(
        ServerConfig(max_upload_bytes=1_000_000, max_pixels=4_000_000),
        analyzer=FaceAnalyzer(models=(), weights=random_weights, flip_tta=False),
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(data=image_bytes(), crops=st.booleans())
def test_the_api_answers_200_or_400_with_a_message(api, data, crops):
    r = api.post(f"/api/analyze?crops={str(crops).lower()}", content=data, headers={"content-type": "image/png"})
    assert r.status_code in (200, 400), r.text
    body = r.json()
    if r.status_code == 400:
        assert set(body) == {"error"} and body["error"] and "Error" not in body["error"].split(":")[0]
    else:
        assert body["width"] * body["height"] <= 4_000_000 and isinstance(body["faces"], list)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image_bytes())
def test_decoding_long_search(data):
    test_decoding_never_fails_otherwise_than_with_image_error.hypothesis.inner_test(data)
