"""IMDB-WIKI: a small .mat in the official layout, written by the test itself."""

import numpy as np
import pytest
from scipy.io import savemat

from agegender.data.cache import build_cache, open_cache
from agegender.data.imdbwiki import datenum_to_year, import_imdbwiki
from tests.support import write_face


def _cell(values):
    out = np.empty((1, len(values)), dtype=object)
    for i, v in enumerate(values):
        out[0, i] = np.array([v]) if isinstance(v, str) else np.asarray(v, dtype=float).reshape(1, -1)
    return out


def write_mat(path, rows, key="imdb"):
    cols = list(zip(*rows))
    savemat(
        path,
        {
            key: {
                "dob": np.array([cols[0]], dtype=float),
                "photo_taken": np.array([cols[1]], dtype=float),
                "full_path": _cell(cols[2]),
                "gender": np.array([cols[3]], dtype=float),
                "face_location": _cell(cols[4]),
                "face_score": np.array([cols[5]], dtype=float),
                "second_face_score": np.array([cols[6]], dtype=float),
            }
        },
    )


def test_datenum_years():
    assert datenum_to_year(723671) == 1981  # 1981-05-10 in MATLAB
    assert datenum_to_year(730486) == 2000  # 2000-01-01


def test_imports_official_layout_and_crops_with_margin(tmp_path):
    root = tmp_path / "imdb_crop"
    for name in ("01/a.jpg", "02/b.jpg", "03/c.jpg", "04/d.jpg"):
        write_face(root / name, size=100)
    rows = [
        (723671, 2011, "01/a.jpg", 1.0, [20, 20, 80, 80], 3.2, np.nan),  # male, 30 years
        (730486, 2009, "02/b.jpg", 0.0, [10, 30, 50, 70], 2.0, np.nan),  # female, 9 years
        (723671, 2011, "03/c.jpg", np.nan, [1, 1, 50, 50], 4.0, np.nan),  # no gender -> dropped
        (723671, 2011, "04/d.jpg", 1.0, [1, 1, 2, 2], -np.inf, np.nan),  # no face -> dropped
    ]
    write_mat(root / "imdb.mat", rows)
    records, dropped = import_imdbwiki(root / "imdb.mat")
    assert [(r.path, r.age, r.gender) for r in records] == [("01/a.jpg", 30, "male"), ("02/b.jpg", 9, "female")]
    assert records[1].box == (10.0, 30.0, 50.0, 70.0)
    assert dropped == {"no gender": 1, "no face": 1}
    for r in records:
        r.split = "train"
    summary = build_cache(records, root, tmp_path / "cache", size=32, progress=False)
    assert summary["faces"] == 2
    cache = open_cache(tmp_path / "cache")
    assert cache.images.shape == (2, 32, 32, 3)


def test_missing_mat_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="IMDB-WIKI"):
        import_imdbwiki(tmp_path / "imdb.mat")
