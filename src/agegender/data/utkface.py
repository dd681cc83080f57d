"""UTKFace importer: labels parsed from file names, every quirk of the public set handled.

Names look like ``{age}_{gender}_{race}_{datetime}.jpg.chip.jpg`` with gender 0 = male,
1 = female and race 0..4. The public set also has names without the race field
(``39_1_20170116174525125.jpg.chip.jpg``), a space before ``.jpg``, a missing dot
(``...357jpg.chip.jpg``) and dates of 16 to 18 digits; all of those parse. Anything
else is returned as unparsed with a reason instead of raising.
"""

from __future__ import annotations

import re
from pathlib import Path

from agegender.data.records import GENDERS, RACES, FaceRecord
from agegender.errors import UserError

_NAME = re.compile(
    r"^(?P<age>\d{1,3})_(?P<gender>\d)_(?:(?P<race>\d)_)?(?P<date>\d{8,20})\s*\.?jpg\.chip\.jpg$",
    re.IGNORECASE,
)


def parse_utkface_name(name: str) -> FaceRecord:
    """Parse one UTKFace file name into a record (path = the name).

    >>> parse_utkface_name("39_1_20170116174525125.jpg.chip.jpg").gender
    'female'

    Raises ValueError naming the problem when the name does not follow the scheme.
    """
    m = _NAME.match(name)
    if not m:
        raise UserError(f"{name!r} does not look like age_gender_race_date.jpg.chip.jpg")
    age = int(m["age"])
    gender = int(m["gender"])
    if not 1 <= age <= 116:
        raise UserError(f"{name!r}: age {age} outside 1..116")
    if gender not in (0, 1):
        raise UserError(f"{name!r}: gender {gender} is neither 0 (male) nor 1 (female)")
    race = ""
    if m["race"] is not None:
        r = int(m["race"])
        if r >= len(RACES):
            raise UserError(f"{name!r}: race {r} outside 0..4")
        race = RACES[r]
    return FaceRecord(path=name, age=age, gender=GENDERS[gender], race=race, source="utkface")


def import_utkface(root: str | Path) -> tuple[list[FaceRecord], list[tuple[str, str]]]:
    """Read every ``*.jpg`` under ``root`` (recursively); return (records, [(name, reason)])."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"UTKFace folder not found: {root}")
    records: list[FaceRecord] = []
    unparsed: list[tuple[str, str]] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if not path.name.lower().endswith("jpg"):
            unparsed.append((rel, "not a .jpg file"))
            continue
        try:
            rec = parse_utkface_name(path.name)
        except ValueError as exc:
            unparsed.append((rel, str(exc)))
            continue
        rec.path = rel
        records.append(rec)
    return records, unparsed
