"""Importers for a user's own labelled faces: a CSV file or a folder tree.

CSV: a header with at least ``path,age,gender`` (``race`` optional); paths are
relative to the CSV's folder unless absolute. Gender may be ``female``/``male``,
``F``/``M``, or ``0``/``1``; for digits the mapping must be stated
(``zero_is="male"``, UTKFace's convention, or ``zero_is="female"``).

Folder tree: ``ROOT/<female|male>/<age>/*.jpg``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from agegender.data.images import IMAGE_SUFFIXES
from agegender.data.records import GENDERS, RACES, FaceRecord
from agegender.errors import UserError

_WORDS = {"female": "female", "f": "female", "woman": "female", "male": "male", "m": "male", "man": "male"}


def parse_gender(value: str, zero_is: str = "male") -> str:
    """Normalise a gender label to 'female' or 'male'; raise ValueError otherwise."""
    v = value.strip().lower()
    if v in _WORDS:
        return _WORDS[v]
    if v in ("0", "1"):
        if zero_is not in GENDERS:
            raise UserError(f"zero_is must be 'male' or 'female', not {zero_is!r}")
        other = "female" if zero_is == "male" else "male"
        return zero_is if v == "0" else other
    raise UserError(f"gender {value!r} is not female/male, F/M or 0/1")


def parse_age(value) -> int:
    """A whole-year age in 1..120 from a label ("31" or "31.0"); raise ValueError otherwise."""
    age = int(float(value))
    if not 0 < age <= 120:
        raise UserError(f"age {age} outside 1..120")
    return age


def csv_rows(csv_path: Path, required: tuple[str, ...]):
    """(line number, row dict) of a labels CSV with a header, once its ``required`` columns are checked."""
    with csv_path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = set(required) - set(reader.fieldnames or [])
        if missing:
            raise UserError(f"{csv_path}: missing column(s) {sorted(missing)}; need {','.join(required)}")
        yield from enumerate(reader, start=2)


def import_csv(csv_path: str | Path, zero_is: str = "male") -> tuple[list[FaceRecord], list[tuple[str, str]]]:
    """Read a path,age,gender[,race] CSV; return (records, [(row, reason)]) for bad rows."""
    csv_path = Path(csv_path)
    records: list[FaceRecord] = []
    bad: list[tuple[str, str]] = []
    for line, row in csv_rows(csv_path, ("path", "age", "gender")):
        try:
            age = parse_age(row["age"])
            race = (row.get("race") or "").strip().lower()
            if race and race not in RACES:
                raise UserError(f"race {race!r} not one of {RACES}")
            records.append(
                FaceRecord(
                    path=row["path"].strip(),
                    age=age,
                    gender=parse_gender(row["gender"], zero_is),
                    race=race,
                    source=csv_path.stem,
                )
            )
        except (ValueError, TypeError) as exc:
            bad.append((f"{csv_path.name}:{line}", str(exc)))
    return records, bad


def import_folder(root: str | Path) -> tuple[list[FaceRecord], list[tuple[str, str]]]:
    """Read ``ROOT/<female|male>/<age>/*`` images; return (records, [(path, reason)])."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"folder not found: {root}")
    records: list[FaceRecord] = []
    bad: list[tuple[str, str]] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            bad.append((rel.as_posix(), "not an image file name"))
            continue
        parts = rel.parts
        try:
            if len(parts) != 3:
                raise UserError("expected <female|male>/<age>/<file>")
            records.append(
                FaceRecord(path=rel.as_posix(), age=int(parts[1]), gender=parse_gender(parts[0]), source=root.name)
            )
        except ValueError as exc:
            bad.append((rel.as_posix(), str(exc)))
    return records, bad
