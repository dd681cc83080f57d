"""Packed face cache: every face decoded once, resized, stored in one memory-mappable file.

A cache folder holds ``images.npy`` (N x S x S x 3 uint8, RGB) and ``labels.json``
(per-face age, gender id, race, split, path plus the settings it was built with, and the
dataset the faces come from). Faces come either from the image as it is (aligned crops such
as UTKFace's, or a box given by the manifest), or, for photo datasets, from an ``aligner``:
the inference path's detector and alignment (:class:`agegender.faces.photo_crops.PhotoAligner`),
so that training sees the framing inference produces; a photo without exactly one face is
skipped and reported.
Training reads batches straight from the array, so an epoch decodes no JPEG. The
settings (size, margin, manifest digest) are stored and checked on open, so a cache is
never silently reused for other settings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from agegender.data.images import read_image
from agegender.data.manifest import AgeWindow
from agegender.data.records import GENDERS, RACES, FaceRecord
from agegender.errors import CacheError, EmptyDatasetError
from agegender.preprocess import prepare_face

log = logging.getLogger(__name__)

SPLIT_IDS = {"train": 0, "val": 1, "test": 2, "": -1}
FIRST_FILES_CHECKED = 20  # if none of the first images is there, the root is wrong: say so at once


def manifest_digest(records: list[FaceRecord]) -> str:
    h = hashlib.sha1()
    for r in records:
        h.update(f"{r.path}|{r.age}|{r.gender}|{r.split}|{r.box}\n".encode())
    return h.hexdigest()


@dataclass
class FaceCache:
    """An opened cache: ``images`` (N,S,S,3 uint8) and label arrays of length N."""

    images: np.ndarray
    ages: np.ndarray
    genders: np.ndarray
    races: np.ndarray
    splits: np.ndarray
    paths: list[str]
    meta: dict

    @property
    def size(self) -> int:
        return int(self.images.shape[1])

    @property
    def dataset(self) -> str:
        """The dataset the faces come from (the manifest's ``source``; "unknown" in caches older than this)."""
        return self.meta.get("dataset", "unknown")

    def indices(self, split: str | None, window: AgeWindow | None) -> np.ndarray:
        """Indices of faces in a split and age window (both optional)."""
        keep = np.ones(len(self.ages), dtype=bool)
        if split is not None:
            keep &= self.splits == SPLIT_IDS[split]
        if window is not None:
            keep &= (self.ages >= window.min_age) & (self.ages <= window.max_age)
        return np.flatnonzero(keep)


def dataset_name(records: list[FaceRecord]) -> str:
    """The dataset a cache holds: its records' ``source`` (joined with '+' when several)."""
    return "+".join(sorted({r.source or "unknown" for r in records})) or "unknown"


def build_cache(
    records: list[FaceRecord],
    root: str | Path,
    out_dir: str | Path,
    size: int = 64,
    margin: float = 0.4,
    progress: bool = True,
    aligner=None,
) -> dict:
    """Decode, crop and resize every record into ``out_dir``; skip unreadable files with a log.

    ``aligner`` (e.g. a :class:`~agegender.faces.photo_crops.PhotoAligner`): a callable turning a
    photo into the aligned crop of its one face, raising ValueError when it cannot; faces then
    come from it instead of the image as it is (or its manifest box).
    Returns a summary dict: faces written, skipped (path, reason), seconds, bytes.
    Rebuilds nothing if a cache with the same manifest digest and settings exists.
    """
    root, out_dir = Path(root), Path(out_dir)
    if not root.is_dir():
        raise EmptyDatasetError(
            f"the images folder {root} does not exist: the README's 'Train your own' section "
            f"says where the datasets go (--root, or UTKFACE=/AAF= for make data)"
        )
    digest = manifest_digest(records)
    settings = {
        "size": size,
        "margin": margin,
        "manifest_digest": digest,
        "aligned_by_detection": aligner.settings() if aligner is not None else None,
    }
    labels_path = out_dir / "labels.json"
    if labels_path.is_file():
        old = json.loads(labels_path.read_text())
        if all(old.get(k) == v for k, v in settings.items()) and old.get("paths"):  # an empty cache is never reused
            return {
                "faces": len(old["paths"]),
                "skipped": old["skipped"],
                "seconds": 0.0,
                "bytes": (out_dir / "images.npy").stat().st_size,
                "reused": True,
            }
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    tmp_images = out_dir / "images.npy.tmp"
    arr = np.lib.format.open_memmap(tmp_images, mode="w+", dtype=np.uint8, shape=(len(records), size, size, 3))
    kept: list[FaceRecord] = []
    skipped: list[tuple[str, str]] = []
    for rec in tqdm(records, desc="cache", unit="face", disable=not progress):
        try:
            img = read_image(root / rec.path)
            if aligner is not None:
                img = aligner(img)
        except ValueError as exc:  # ImageError, or no single face found by the aligner
            skipped.append((rec.path, str(exc)))
            if kept or len(skipped) > FIRST_FILES_CHECKED:
                log.warning("skipped %s: %s", rec.path, exc)
            elif len(skipped) == FIRST_FILES_CHECKED and all(not (root / path).exists() for path, _ in skipped):
                tmp_images.unlink(missing_ok=True)
                raise EmptyDatasetError(
                    f"none of the first {FIRST_FILES_CHECKED} images of the manifest is in {root} "
                    f"(e.g. {skipped[0][0]}): is --root the folder of this dataset's images?"
                ) from None
            continue
        if len(kept) == 0 and skipped:  # the first skips, held back until the root proved right
            for path, reason in skipped:
                log.warning("skipped %s: %s", path, reason)
        arr[len(kept)] = prepare_face(img, size, None if aligner is not None else rec.box, margin)
        kept.append(rec)
    arr.flush()
    del arr
    n = len(kept)
    if n == 0:  # a cache of no faces is never written: it would only fail later, further from the cause
        tmp_images.unlink(missing_ok=True)
        raise EmptyDatasetError(
            f"no face could be read from {root} ({len(skipped)} skipped, e.g. {skipped[0][0]}: {skipped[0][1]})"
            if skipped
            else "the manifest lists no faces"
        )
    # Rewrite with the exact length so the .npy header is right (cheap: one sequential copy).
    full = np.load(tmp_images, mmap_mode="r")
    final_tmp = out_dir / "images.final.tmp"
    with open(final_tmp, "wb") as fh:
        np.save(fh, np.ascontiguousarray(full[:n]))
    del full
    final_tmp.replace(out_dir / "images.npy")
    tmp_images.unlink()
    labels = {
        **settings,
        "dataset": dataset_name(records),
        "ages": [r.age for r in kept],
        "genders": [GENDERS.index(r.gender) for r in kept],
        "races": [RACES.index(r.race) if r.race in RACES else -1 for r in kept],
        "splits": [SPLIT_IDS[r.split] for r in kept],
        "paths": [r.path for r in kept],
        "skipped": skipped,
    }
    tmp_labels = out_dir / "labels.json.tmp"
    tmp_labels.write_text(json.dumps(labels))
    tmp_labels.replace(labels_path)
    return {
        "faces": n,
        "skipped": skipped,
        "seconds": time.perf_counter() - start,
        "bytes": (out_dir / "images.npy").stat().st_size,
        "reused": False,
    }


def open_cache(cache_dir: str | Path, mmap: bool = True) -> FaceCache:
    """Open a cache folder written by :func:`build_cache`."""
    cache_dir = Path(cache_dir)
    labels_path = cache_dir / "labels.json"
    if not labels_path.is_file():
        raise FileNotFoundError(f"no face cache in {cache_dir} (build one with 'agegender data cache')")
    try:
        meta = json.loads(labels_path.read_text())
        images = np.load(cache_dir / "images.npy", mmap_mode="r" if mmap else None)  # never unpickles objects
        if images.ndim != 4 or images.dtype != np.uint8 or len(images) != len(meta["ages"]):
            raise ValueError(f"images.npy holds {images.dtype} {images.shape}, not {len(meta['ages'])} RGB faces")
    except FileNotFoundError as exc:
        raise CacheError(
            f"the face cache {cache_dir} is incomplete ({Path(exc.filename).name} is missing): "
            f"build it again with 'agegender data cache'"
        ) from None
    except (ValueError, KeyError, TypeError, OSError) as exc:  # truncated .npy, bad JSON, object arrays
        raise CacheError(
            f"the face cache {cache_dir} is damaged ({str(exc)[:160]}): build it again with 'agegender data cache'"
        ) from None
    return FaceCache(
        images=images,
        ages=np.asarray(meta.pop("ages"), dtype=np.int16),
        genders=np.asarray(meta.pop("genders"), dtype=np.int8),
        races=np.asarray(meta.pop("races"), dtype=np.int8),
        splits=np.asarray(meta.pop("splits"), dtype=np.int8),
        paths=meta.pop("paths"),
        meta=meta,
    )


def split_cache_list(text: str) -> list[str]:
    """``"cache/utk64,cache/aaf64"`` -> the folders, in order (spaces around names dropped)."""
    return [c.strip() for c in text.split(",") if c.strip()]


@dataclass(frozen=True)
class SplitFaces:
    """One cache's faces of one split (all ages), labels alongside: what calibration, model selection and
    int8 quantisation read."""

    dataset: str
    size: int
    images: np.ndarray  # (N, S, S, 3) uint8 RGB, in memory
    ages: np.ndarray  # (N,) float years
    female: np.ndarray  # (N,) int, 1 = female


def split_faces(cache_dirs, split: str = "val") -> list[SplitFaces]:
    """Every cache's ``split`` faces, in the order given (cache folders: a list, or one path or string of
    folders separated by commas); a cache without any is an error naming it."""
    if isinstance(cache_dirs, (str, Path)):
        names = split_cache_list(str(cache_dirs))
    else:
        names = [str(c) for c in cache_dirs]
    found = []
    for name in names:
        cache = open_cache(name)
        idx = cache.indices(split, AgeWindow.all())
        if not len(idx):
            raise CacheError(f"{name} has no {split} faces")
        found.append(
            SplitFaces(
                cache.dataset,
                cache.size,
                np.ascontiguousarray(cache.images[idx]),
                cache.ages[idx].astype(float),
                cache.genders[idx].astype(int),
            )
        )
    return found


def sample_val_faces(cache_dirs, n: int) -> np.ndarray:
    """About ``n`` val faces (all ages) drawn at random (seeded) from the caches, the same share from each:
    what calibrates an int8 graph's activations."""
    parts = split_faces(cache_dirs)
    rng = np.random.default_rng(0)
    take = -(-n // len(parts))
    return np.concatenate(
        [p.images[np.sort(rng.choice(len(p.images), min(len(p.images), take), replace=False))] for p in parts]
    )
