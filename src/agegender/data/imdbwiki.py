"""IMDB-WIKI importer: reads the official ``imdb.mat`` / ``wiki.mat`` metadata.

Layout (as published by Rothe et al.): ``imdb_crop/imdb.mat`` holds a 1x1 struct
``imdb`` (``wiki_crop/wiki.mat`` a struct ``wiki``) whose fields are 1xN arrays:
``dob`` (MATLAB datenum of the date of birth), ``photo_taken`` (year),
``full_path`` (cell of paths relative to the .mat's folder), ``gender`` (0 female,
1 male, NaN unknown), ``face_location`` (cell of [x1 y1 x2 y2]), ``face_score``
(-Inf when no face was found) and ``second_face_score`` (NaN when there is one face).

Age = year the photo was taken - year of the date of birth (the dataset's own rule).
Rows without a face, without a gender, or with an impossible age are dropped and
counted; the face box travels in the record so the cache crops it with a margin.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from agegender.data.records import FaceRecord
from agegender.errors import UserError


def datenum_to_year(datenum: float) -> int:
    """Year of a MATLAB serial date number (days since year 0; 1 = 1 Jan 0000)."""
    # MATLAB counts from year 0 and Python's ordinal from year 1: 366 days apart.
    day = datetime.fromordinal(int(datenum)) + timedelta(days=datenum % 1) - timedelta(days=366)
    return day.year


def _leaf(value):
    """Unwrap loadmat's nested 1x1 object arrays down to a string or number array."""
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.ravel()[0]
    if isinstance(value, np.ndarray) and value.dtype.kind in "US":
        return "".join(value.ravel().tolist())
    return value


def import_imdbwiki(mat_path: str | Path, drop_multiple_faces: bool = True) -> tuple[list[FaceRecord], Counter]:
    """Read one IMDB-WIKI .mat file; return (records, counts of dropped rows by reason).

    Paths in the records are relative to the .mat file's folder.
    """
    from scipy.io import loadmat

    mat_path = Path(mat_path)
    if not mat_path.is_file():
        raise FileNotFoundError(f"IMDB-WIKI metadata not found: {mat_path}")
    mat = loadmat(mat_path)
    keys = [k for k in ("imdb", "wiki") if k in mat]
    if not keys:
        raise UserError(f"{mat_path}: no 'imdb' or 'wiki' struct in this .mat file")
    source = keys[0]
    meta = mat[source][0, 0]

    def column(name):
        return meta[name].ravel()

    dob, taken, paths = column("dob"), column("photo_taken"), column("full_path")
    genders, locations = column("gender"), column("face_location")
    scores, second = column("face_score"), column("second_face_score")
    dropped: Counter = Counter()
    records: list[FaceRecord] = []
    for i in range(len(paths)):
        score = float(_leaf(scores[i]))
        if not math.isfinite(score):
            dropped["no face"] += 1
            continue
        if drop_multiple_faces and math.isfinite(float(_leaf(second[i]))):
            dropped["more than one face"] += 1
            continue
        gender = float(_leaf(genders[i]))
        if not math.isfinite(gender):
            dropped["no gender"] += 1
            continue
        try:
            age = int(_leaf(taken[i])) - datenum_to_year(float(_leaf(dob[i])))
        except (ValueError, OverflowError):
            dropped["bad date of birth"] += 1
            continue
        if not 0 < age <= 116:
            dropped["age outside 1..116"] += 1
            continue
        box = tuple(float(v) for v in np.asarray(_leaf(locations[i]), dtype=float).ravel()[:4])
        records.append(
            FaceRecord(
                path=str(_leaf(paths[i])),
                age=age,
                gender="male" if gender >= 0.5 else "female",
                source=source,
                box=box,  # type: ignore[arg-type]
            )
        )
    return records, dropped
