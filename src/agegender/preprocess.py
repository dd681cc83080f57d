"""Face pixels on their way to a network: crop, resize, JPEG round trip, float batch.

The one place where a face image changes size or type, used alike by the cache builder, the
alignment, the engines, the analyzer, the model-selection renderings and training, so a face seen
in training and the same face seen by ``predict`` go through the same steps. NumPy and OpenCV only;
the two tensor functions import torch when called (the inference install has no torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    import torch


def crop_box(image: np.ndarray, box, margin: float) -> np.ndarray:
    """Square crop around a face box enlarged by ``margin`` (fraction of its size), padded by edge pixels."""
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    a, b = int(round(cx - side / 2)), int(round(cy - side / 2))
    s = max(int(round(side)), 1)
    h, w = image.shape[:2]
    pad = max(0, -a, -b, a + s - w, b + s - h)
    if pad:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        a, b = a + pad, b + pad
    return image[b : b + s, a : a + s]


def resize_face(image: np.ndarray, size: int) -> np.ndarray:
    """A square face image at size x size: area averaging when shrinking (no aliasing), bilinear when
    enlarging; the image itself when it already has that size."""
    if image.shape[0] == size and image.shape[1] == size:
        return image
    interp = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interp)


def prepare_face(image: np.ndarray, size: int, box=None, margin: float = 0.4) -> np.ndarray:
    """Crop (when a box is given) and resize a face image to size x size RGB uint8."""
    if box is not None:
        image = crop_box(image, box, margin)
    return resize_face(image, size)


def jpeg_round_trip(face: np.ndarray, quality: int) -> np.ndarray:
    """An (H, W, 3) uint8 RGB image encoded as JPEG at ``quality`` and decoded again (RGB), as a photo
    saved by a camera or a web site is: the codec's chroma subsampling applies to the true colours."""
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(face[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1] if ok else face


def to_float_batch(faces: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB -> (N, 3, size, size) float32 in [0, 1], each face resized by :func:`resize_face`
    when needed (the networks normalise it themselves)."""
    if faces.shape[1] != size or faces.shape[2] != size:
        faces = np.stack([resize_face(f, size) for f in faces])
    return np.ascontiguousarray(faces.transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255.0)


def to_float_images(batch_uint8: torch.Tensor) -> torch.Tensor:
    """Training's tensor form of :func:`to_float_batch`: (B, H, W, 3) uint8 -> (B, 3, H, W) float in [0, 1],
    on the batch's own device."""
    return batch_uint8.permute(0, 3, 1, 2).float().div_(255.0)


def resize_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """Training's tensor resize of (B, 3, H, W) float images to size x size (bilinear with antialiasing,
    which averages like :func:`resize_face`'s area interpolation when shrinking)."""
    import torch.nn.functional as F

    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
