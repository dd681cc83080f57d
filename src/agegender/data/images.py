"""Reading images from disk robustly: every failure becomes one clear ImageError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 80_000_000
"""Largest image (width x height) we decode; bigger files are refused as likely bombs."""


class ImageError(ValueError):
    """An image could not be read; the message says which file and why."""


def to_rgb_array(img: Image.Image) -> np.ndarray:
    """Convert any PIL image (EXIF-rotated, grey, CMYK, RGBA, 16-bit, palette) to HxWx3 uint8 RGB."""
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = arr.max() if arr.size and arr.max() > 255 else 255.0
        arr = np.clip(arr * (255.0 / peak), 0, 255).astype(np.uint8)
        return np.repeat(arr[:, :, None], 3, axis=2)
    if img.mode == "F":
        arr = np.clip(np.asarray(img), 0, 255).astype(np.uint8)
        return np.repeat(arr[:, :, None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def decode_image(data: bytes, name: str = "<bytes>", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode encoded image bytes to an HxWx3 uint8 RGB array or raise :class:`ImageError`."""
    import io

    if not data:
        raise ImageError(f"{name}: empty file")
    return _decode(io.BytesIO(data), name, max_pixels)


def _decode(stream, name: str, max_pixels: int) -> np.ndarray:
    try:
        with Image.open(stream) as img:
            w, h = img.size
            if w * h > max_pixels:
                raise ImageError(f"{name}: {w}x{h} pixels is more than the limit of {max_pixels}")
            img.load()
            return to_rgb_array(img)
    except ImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{name}: not a readable image ({exc.__class__.__name__})") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"{name}: corrupt or truncated image ({exc})") from exc


def read_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file to an HxWx3 uint8 RGB array or raise :class:`ImageError`.

    The file is streamed to the decoder, never read whole first: a non-image (a 3 GB video in a
    photo folder) is refused after its first bytes, and memory is bounded by the decoded size.
    """
    path = Path(path)
    try:
        stream = open(path, "rb")
    except FileNotFoundError as exc:
        raise ImageError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise ImageError(f"{path}: is a folder, not an image") from exc
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc.strerror})") from exc
    with stream:
        if stream.seek(0, 2) == 0:
            raise ImageError(f"{path}: empty file")
        stream.seek(0)
        return _decode(stream, str(path), max_pixels)


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm", ".pgm")
