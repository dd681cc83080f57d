"""The manifest: one CSV of labelled faces (with split and content hash) that every step reads.

Columns: ``path,age,gender,race,source,sha1,split,box``. ``path`` is relative to the
image root given to the step that reads pixels. The split is computed once over all
ages, so that the test set of any age window is a subset of one test set.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from agegender.data.records import FaceRecord
from agegender.errors import EmptyDatasetError, UserError

COLUMNS = ("path", "age", "gender", "race", "source", "sha1", "split", "box")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class AgeWindow:
    """Inclusive range of ages (years) a step works on; ``AgeWindow.all()`` keeps everything."""

    min_age: int = 18
    max_age: int = 50

    @classmethod
    def all(cls) -> AgeWindow:
        return cls(0, 200)

    @property
    def label(self) -> str:
        return "all" if (self.min_age, self.max_age) == (0, 200) else f"{self.min_age}-{self.max_age}"

    @classmethod
    def parse(cls, label: str) -> AgeWindow:
        """Parse ``"18-50"`` or ``"all"``."""
        if label == "all":
            return cls.all()
        lo, _, hi = label.partition("-")
        try:
            return cls(int(lo), int(hi))
        except ValueError:
            raise UserError(f"age window {label!r} is neither 'all' nor like '18-50'") from None

    def __contains__(self, age: float) -> bool:
        return self.min_age <= age <= self.max_age


def write_manifest(records: list[FaceRecord], path: str | Path) -> None:
    """Write records as CSV (atomically: a kill never leaves half a manifest)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        for r in records:
            box = "" if r.box is None else " ".join(f"{v:.1f}" for v in r.box)
            w.writerow([r.path, r.age, r.gender, r.race, r.source, r.sha1, r.split, box])
    tmp.replace(path)


def read_manifest(path: str | Path) -> list[FaceRecord]:
    """Read a manifest CSV written by :func:`write_manifest`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"manifest not found: {path} (create one with 'agegender data import')")
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            box = _box(row["box"], path) if row.get("box") else None
            out.append(
                FaceRecord(
                    path=row["path"],
                    age=int(row["age"]),
                    gender=row["gender"],
                    race=row.get("race", ""),
                    source=row.get("source", ""),
                    sha1=row.get("sha1", ""),
                    split=row.get("split", ""),
                    box=box,
                )
            )
    return out


def _box(text: str, manifest: Path) -> tuple[float, float, float, float]:
    """A manifest's "x1 y1 x2 y2" face box."""
    values = [float(v) for v in text.split()]
    if len(values) != 4:
        raise UserError(f"{manifest}: a face box needs 4 numbers (x1 y1 x2 y2), not {text!r}")
    x1, y1, x2, y2 = values
    return x1, y1, x2, y2


def file_sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def hash_and_deduplicate(records: list[FaceRecord], root: str | Path) -> tuple[list[FaceRecord], list[tuple[str, str]]]:
    """Fill ``sha1`` from file contents and keep the first of byte-identical files.

    Returns (kept, [(path, reason)]) where reasons name missing files and duplicates.
    """
    root = Path(root)
    seen: dict[str, str] = {}
    kept, dropped = [], []
    for r in records:
        try:
            digest = file_sha1(root / r.path)
        except OSError as exc:
            dropped.append((r.path, f"cannot read: {exc.strerror or exc}"))
            continue
        if digest in seen:
            dropped.append((r.path, f"same bytes as {seen[digest]}"))
            continue
        seen[digest] = r.path
        r.sha1 = digest
        kept.append(r)
    return kept, dropped


def assign_splits(records: list[FaceRecord], seed: int = 0, fractions=(0.8, 0.1, 0.1)) -> None:
    """Assign train/val/test in place, stratified by 5-year age bucket and gender.

    Deterministic for a given seed and set of records (input order does not matter).
    """
    strata: dict[tuple[int, str], list[FaceRecord]] = defaultdict(list)
    for r in records:
        strata[(min(r.age, 100) // 5, r.gender)].append(r)
    rng = random.Random(seed)
    for key in sorted(strata):
        group = sorted(strata[key], key=lambda r: (r.sha1, r.path))
        rng.shuffle(group)
        n = len(group)
        n_test = round(n * fractions[2])
        n_val = round(n * fractions[1])
        for i, r in enumerate(group):
            r.split = "test" if i < n_test else "val" if i < n_test + n_val else "train"


def select(records: list[FaceRecord], split: str | None = None, window: AgeWindow | None = None) -> list[FaceRecord]:
    """Records of one split within an age window; raise EmptyDatasetError naming the filter."""
    out = [r for r in records if (split is None or r.split == split) and (window is None or r.age in window)]
    if not out:
        what = []
        if split:
            what.append(f"split={split}")
        if window:
            what.append(f"ages {window.label}")
        raise EmptyDatasetError(f"no faces left after filtering ({', '.join(what)}) of {len(records)} records")
    return out
