"""All-Age-Faces importer: labels from ``labels.csv`` checked against the file names.

The folder holds ``labels.csv`` (``filename,age,gender`` with gender ``F``/``M``) and
``images/{person}A{age}.jpg``. The age is also written in the file name (the two digits after
``A``); a row whose name and age disagree, or whose file is missing, is reported, not guessed.
The photos are head-and-shoulders pictures, not aligned crops: build their cache with
``agegender data cache --detect`` so that training sees the framing inference produces.
"""

from __future__ import annotations

import re
from pathlib import Path

from agegender.data.generic import csv_rows, parse_age, parse_gender
from agegender.data.records import FaceRecord
from agegender.errors import UserError

_NAME = re.compile(r"^(?P<person>\d+)A(?P<age>\d{2,3})\.jpe?g$", re.IGNORECASE)


def parse_aaf_name(name: str) -> tuple[str, int]:
    """(person id, age) from an AAF file name.

    >>> parse_aaf_name("00012A02.jpg")
    ('00012', 2)

    Raises ValueError naming the problem when the name does not follow ``{person}A{age}.jpg``.
    """
    m = _NAME.match(name)
    if not m:
        raise UserError(f"{name!r} does not look like {{person}}A{{age}}.jpg")
    return m["person"], int(m["age"])


def import_aaf(root: str | Path) -> tuple[list[FaceRecord], list[tuple[str, str]]]:
    """Read ``ROOT/labels.csv``; return (records with paths relative to ``ROOT/images``, [(row, reason)])."""
    root = Path(root)
    labels = root / "labels.csv"
    if not labels.is_file():
        raise FileNotFoundError(f"All-Age-Faces labels not found: {labels} (expected ROOT/labels.csv and ROOT/images/)")
    images = root / "images"
    records: list[FaceRecord] = []
    bad: list[tuple[str, str]] = []
    for line, row in csv_rows(labels, ("filename", "age", "gender")):
        try:
            name = row["filename"].strip()
            _, name_age = parse_aaf_name(name)
            age = parse_age(row["age"])
            if age != name_age:
                raise UserError(f"{name}: age {age} in labels.csv but {name_age} in the file name")
            gender = parse_gender(row["gender"])
            if not (images / name).is_file():
                raise UserError(f"{name}: no such file in {images}")
        except (ValueError, TypeError) as exc:
            bad.append((f"labels.csv:{line}", str(exc)))
            continue
        records.append(FaceRecord(path=name, age=age, gender=gender, source="aaf"))
    return records, bad
