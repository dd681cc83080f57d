"""Portable face packs: a face cache as one small file of JPEGs, to carry to another machine.

A cache's raw array is large (21,012 faces at 64 px: 258 MB); a pack stores each face as a
JPEG in one ``.npz`` with the cache's labels (about 2.6 KB a face at 96 px, quality 85), and
unpacks back into an ordinary cache folder in seconds. Splits can be left out (e.g. carry
train and val to a GPU machine, test here).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from agegender.data.cache import SPLIT_IDS, open_cache
from agegender.errors import UserError

PER_FACE_KEYS = ("ages", "genders", "races", "splits", "paths")


def pack_cache(cache_dir, out, quality: int = 85, splits=("train", "val", "test")) -> dict:
    """Write ``out`` (.npz) holding the chosen splits of a cache as JPEGs; return a summary."""
    cache = open_cache(cache_dir)
    keep = np.flatnonzero(np.isin(cache.splits, [SPLIT_IDS[s] for s in splits]))
    if len(keep) == 0:
        raise UserError(f"no faces of splits {list(splits)} in {cache_dir}")
    labels = json.loads((Path(cache_dir) / "labels.json").read_text())

    def encode(i):
        ok, buf = cv2.imencode(
            ".jpg", np.ascontiguousarray(cache.images[i][:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality]
        )
        if not ok:
            raise RuntimeError(f"could not encode face {i} of {cache_dir}")
        return buf.tobytes()

    with ThreadPoolExecutor() as pool:
        jpegs = list(pool.map(encode, keep))
    offsets = np.cumsum([0] + [len(j) for j in jpegs]).astype(np.int64)
    for key in PER_FACE_KEYS:
        labels[key] = [labels[key][i] for i in keep]
    labels["packed"] = {"quality": quality, "splits": list(splits)}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.npz")
    np.savez(
        tmp,
        jpeg=np.frombuffer(b"".join(jpegs), np.uint8),
        offsets=offsets,
        labels=np.frombuffer(json.dumps(labels).encode(), np.uint8),
    )
    tmp.replace(out)
    return {"faces": int(len(keep)), "bytes": out.stat().st_size, "size": int(cache.size)}


def unpack_cache(pack, out_dir) -> dict:
    """Decode a pack written by :func:`pack_cache` into a cache folder that ``open_cache`` reads."""
    data = np.load(pack)
    jpeg, offsets = data["jpeg"], data["offsets"]
    labels = json.loads(data["labels"].tobytes().decode())

    def decode(i):
        img = cv2.imdecode(jpeg[offsets[i] : offsets[i + 1]], cv2.IMREAD_COLOR)
        if img is None:
            raise UserError(f"{pack}: face {i} is not a readable JPEG (damaged pack?)")
        return img[:, :, ::-1]

    n = len(offsets) - 1
    with ThreadPoolExecutor() as pool:
        images = np.stack(list(pool.map(decode, range(n))))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.save(out_dir / "images.npy", images)
    (out_dir / "labels.json").write_text(json.dumps(labels))  # written last: its presence marks a complete cache
    return {"faces": n, "size": int(images.shape[1])}
