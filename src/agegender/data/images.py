"""Reading images robustly and in bounded memory: every failure becomes one clear ImageError.

Decoded pixels are converted to RGB a strip of rows at a time into the one output array, so
a photo costs its native decoded size plus 3 bytes a pixel (a 7000x7000 1-bit PNG: ~200 MB,
not the ~560 MB of a whole-image conversion), and EXIF rotation is applied to that array.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from agegender.errors import ImageError

MAX_PIXELS = 80_000_000
"""Largest image (width x height) we decode; bigger files are refused as likely bombs."""
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm", ".pgm")
_STRIP_ROWS = 256
_ORIENTATION_TAG = 0x0112


def to_rgb_array(img: Image.Image) -> np.ndarray:
    """Convert any PIL image (EXIF-rotated, grey, CMYK, RGBA, 16-bit, palette) to HxWx3 uint8 RGB."""
    return apply_orientation(rgb_pixels(img), exif_orientation(img))


def rgb_pixels(img: Image.Image) -> np.ndarray:
    """The pixels as HxWx3 uint8 RGB (no rotation), converted a strip of rows at a time.

    16-bit and 32-bit grey are scaled by the image's peak (if above 255), transparent pixels
    are composited on white.
    """
    w, h = img.size
    peak = None
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        extrema = img.getextrema()  # one band: (lowest, highest)
        assert isinstance(extrema, tuple) and not isinstance(extrema[1], tuple)
        top = float(extrema[1])
        peak = top if img.mode != "F" and top > 255 else 255.0
    out = np.empty((h, w, 3), np.uint8)
    for y in range(0, h, _STRIP_ROWS):
        strip = img.crop((0, y, w, min(h, y + _STRIP_ROWS))) if h > _STRIP_ROWS else img
        out[y : y + strip.size[1]] = _strip_to_rgb(strip, peak)
    return out


def _strip_to_rgb(img: Image.Image, peak: float | None) -> np.ndarray:
    if peak is not None:
        arr = np.asarray(img, dtype=np.float32)
        scale = 1.0 if img.mode == "F" else 255.0 / peak
        return np.clip(arr * scale, 0, 255).astype(np.uint8)[:, :, None]
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    if img.mode in ("1", "L"):
        return np.asarray(img.convert("L"))[:, :, None]  # broadcast to 3 channels by the caller's assignment
    return np.asarray(img.convert("RGB"))


def exif_orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block is no reason to refuse the pixels
        return 1
    return value if value in range(1, 9) else 1


def apply_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip an HxWxC array as the EXIF orientation tag says (as PIL's exif_transpose does)."""
    views = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
        7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
        8: lambda a: a.transpose(1, 0, 2)[::-1],
    }
    return arr if orientation == 1 else np.ascontiguousarray(views[orientation](arr))


def decode_image(
    data: bytes, name: str = "<bytes>", max_pixels: int = MAX_PIXELS, notes: list[str] | None = None
) -> np.ndarray:
    """Decode encoded image bytes to an HxWx3 uint8 RGB array or raise :class:`ImageError`.

    ``notes``, if given, receives remarks a user should see (e.g. only the first frame of an
    animation is used).
    """
    import io

    if not data:
        raise ImageError(f"{name}: empty file")
    return _decode(io.BytesIO(data), name, max_pixels, notes)


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of encoded image bytes, without decoding; None if unreadable."""
    import io

    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:
        return None


def _decode(stream, name: str, max_pixels: int, notes: list[str] | None = None) -> np.ndarray:
    import warnings

    try:
        with warnings.catch_warnings():  # PIL's own bomb warning: our max_pixels check below is the limit
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(stream)
        with img:
            w, h = img.size
            if w * h > max_pixels:
                raise ImageError(f"{name}: {w}x{h} pixels is more than the limit of {max_pixels:,}")
            frames = getattr(img, "n_frames", 1)
            if frames > 1 and notes is not None:
                notes.append(f"{frames} frames (animation or multi-page file): only the first is analysed")
            img.load()
            pixels, orientation = rgb_pixels(img), exif_orientation(img)
        # the decoder's own copy is released here, before a rotated copy is made
        return apply_orientation(pixels, orientation)
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(f"{name}: the image declares far more pixels than the limit of {max_pixels:,}") from None
    except UnidentifiedImageError:
        raise ImageError(
            f"{name}: not an image in a format this program reads (JPEG, PNG, WebP, BMP, TIFF, GIF, PPM)"
        ) from None
    except MemoryError:
        raise ImageError(f"{name}: not enough memory to decode this image") from None
    except Exception as exc:  # decoders of damaged files raise anything (OSError, TypeError, struct.error, ...)
        raise ImageError(f"{name}: the image file is damaged or incomplete ({exc})") from exc


def read_image(path: str | Path, max_pixels: int = MAX_PIXELS, notes: list[str] | None = None) -> np.ndarray:
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
        return _decode(stream, str(path), max_pixels, notes)


def load_image(source, notes: list[str] | None = None) -> tuple[np.ndarray, str]:
    """Accept a path, encoded bytes, a PIL image or a numpy array; return (RGB uint8 array, name).

    ``notes``, if given, receives remarks on the input (e.g. only an animation's first frame is used).
    """
    if isinstance(source, (str, Path)):
        return read_image(source, notes=notes), str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return decode_image(bytes(source), notes=notes), "<bytes>"
    if isinstance(source, np.ndarray):
        arr = source
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise ImageError(f"array of shape {source.shape} is not an (H, W, 3) RGB image")
        if arr.shape[0] == 0 or arr.shape[1] == 0:
            raise ImageError(f"array of shape {source.shape} holds no pixels")
        if arr.dtype != np.uint8:
            raise ImageError(f"array of dtype {arr.dtype} is not uint8")
        return np.ascontiguousarray(arr[:, :, :3]), "<array>"
    if isinstance(source, Image.Image):
        return to_rgb_array(source), "<PIL.Image>"
    raise ImageError(f"cannot read an image from a {type(source).__name__}")


def bgr_to_rgb(source):
    """An OpenCV (BGR or BGRA) array turned to RGB; anything else as it is."""
    if isinstance(source, np.ndarray) and source.ndim == 3 and source.shape[2] in (3, 4):
        return source[:, :, 2::-1]
    return source
