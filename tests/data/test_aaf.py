"""All-Age-Faces importer on a folder the test writes itself (labels.csv + images/)."""

import pytest

from agegender.data.aaf import import_aaf, parse_aaf_name
from tests.support import write_face


def write_aaf(root, rows, files=None):
    (root / "images").mkdir(parents=True)
    (root / "labels.csv").write_text("filename,age,gender\n" + "".join(f"{n},{a},{g}\n" for n, a, g in rows))
    for k, name in enumerate(files if files is not None else [r[0] for r in rows]):
        write_face(root / "images" / name, seed=k)
    return root


def test_parses_names():
    assert parse_aaf_name("00012A02.jpg") == ("00012", 2)
    assert parse_aaf_name("13321A80.jpg") == ("13321", 80)
    with pytest.raises(ValueError, match="person"):
        parse_aaf_name("00012_02.jpg")


def test_imports_labels_and_reports_every_bad_row(tmp_path):
    rows = [
        ("00000A02.jpg", 2, "F"),
        ("07381A45.jpg", 45, "M"),
        ("00003A30.jpg", 31, "F"),
        ("00004A25.jpg", 25, "X"),
        ("00005A40.jpg", 40, "F"),
    ]
    root = write_aaf(tmp_path / "aaf", rows, files=[r[0] for r in rows[:4]])  # the last file is missing
    records, bad = import_aaf(root)
    assert [(r.path, r.age, r.gender, r.source) for r in records] == [
        ("00000A02.jpg", 2, "female", "aaf"),
        ("07381A45.jpg", 45, "male", "aaf"),
    ]
    reasons = dict(bad)
    assert "31 in labels.csv but 30 in the file name" in reasons["labels.csv:4"]
    assert "'X'" in reasons["labels.csv:5"]
    assert "no such file" in reasons["labels.csv:6"]


def test_missing_labels_file_says_what_is_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="labels.csv"):
        import_aaf(tmp_path)


def test_cli_import_writes_a_split_manifest(tmp_path):
    from agegender.cli import main
    from agegender.data.manifest import read_manifest

    rows = [(f"{k:05d}A{20 + k % 10:02d}.jpg", 20 + k % 10, "F" if k % 2 else "M") for k in range(80)]
    root = write_aaf(tmp_path / "aaf", rows)
    assert main(["data", "import", "aaf", str(root), "-o", str(tmp_path / "m.csv")]) == 0
    records = read_manifest(tmp_path / "m.csv")
    assert len(records) == 80 and {r.split for r in records} == {"train", "val", "test"}
    assert all(len(r.sha1) == 40 for r in records)
