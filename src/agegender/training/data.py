"""The faces a run trains and validates on: one or several face caches, one per dataset.

Training faces of every cache are stacked into one array (each face remembers its dataset);
validation faces stay per dataset, so each epoch reports every dataset on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agegender.data.cache import open_cache
from agegender.data.manifest import AgeWindow
from agegender.errors import EmptyDatasetError, UserError


@dataclass
class ValidationSet:
    """One dataset's validation faces (N, S, S, 3) uint8 and labels."""

    dataset: str
    faces: np.ndarray
    ages: np.ndarray
    genders: np.ndarray


@dataclass
class TrainingData:
    """Training faces of all datasets (``dataset_ids`` index ``datasets``) and one validation set per dataset."""

    images: np.ndarray
    ages: np.ndarray
    genders: np.ndarray
    dataset_ids: np.ndarray
    datasets: list[str]
    val: list[ValidationSet]
    size: int


def load_training_data(cache_dirs: list[str], window: AgeWindow) -> TrainingData:
    """Open every cache and keep the faces of ``window``; raise when a cache has none or sizes differ."""
    if not cache_dirs:
        raise UserError("no face cache given (--cache)")
    images, ages, genders, ids, names, val = [], [], [], [], [], []
    size: int | None = None
    for k, cache_dir in enumerate(cache_dirs):
        cache = open_cache(cache_dir)
        if size is not None and cache.size != size:
            raise UserError(
                f"caches hold faces of different sizes: {cache_dirs[0]} {size}px, {cache_dir} {cache.size}px"
            )
        size = cache.size
        name = cache.dataset if cache.dataset != "unknown" else f"cache{k}"
        if name in names:  # two caches of one dataset (e.g. two builds) still report apart
            name = f"{name}-{k}"
        train_idx, val_idx = cache.indices("train", window), cache.indices("val", window)
        if len(train_idx) == 0:
            raise EmptyDatasetError(f"no training faces in {cache_dir} for ages {window.label}")
        if len(val_idx) == 0:
            raise EmptyDatasetError(f"no validation faces in {cache_dir} for ages {window.label}")
        images.append(np.ascontiguousarray(cache.images[train_idx]))
        ages.append(cache.ages[train_idx].astype(np.int64))
        genders.append(cache.genders[train_idx].astype(np.int64))
        ids.append(np.full(len(train_idx), k, dtype=np.int64))
        names.append(name)
        val.append(
            ValidationSet(
                name, np.ascontiguousarray(cache.images[val_idx]), cache.ages[val_idx], cache.genders[val_idx]
            )
        )
    one = len(images) == 1  # one cache: no second copy by concatenating
    return TrainingData(
        images=images[0] if one else np.concatenate(images),
        ages=np.concatenate(ages),
        genders=np.concatenate(genders),
        dataset_ids=np.concatenate(ids),
        datasets=names,
        val=val,
        size=int(size or 0),
    )
