import pytest

from agegender.data.generic import import_csv, import_folder, parse_gender
from tests.support import write_face


@pytest.mark.parametrize(
    "value, zero_is, expected",
    [
        ("F", "male", "female"),
        ("male", "male", "male"),
        ("0", "male", "male"),
        ("1", "male", "female"),
        ("0", "female", "female"),
        ("M", "female", "male"),
    ],
)
def test_gender_spellings(value, zero_is, expected):
    assert parse_gender(value, zero_is) == expected


def test_csv_import_keeps_good_rows_and_reports_bad_ones(tmp_path):
    (tmp_path / "faces.csv").write_text("path,age,gender\na.jpg,30,F\nb.jpg,41,0\nc.jpg,abc,M\nd.jpg,20,x\n")
    records, bad = import_csv(tmp_path / "faces.csv")
    assert [(r.path, r.age, r.gender) for r in records] == [("a.jpg", 30, "female"), ("b.jpg", 41, "male")]
    assert [row for row, _ in bad] == ["faces.csv:4", "faces.csv:5"]


def test_csv_without_required_columns_is_a_clear_error(tmp_path):
    (tmp_path / "faces.csv").write_text("file,age\na.jpg,3\n")
    with pytest.raises(ValueError, match="gender"):
        import_csv(tmp_path / "faces.csv")


def test_folder_tree_import(tmp_path):
    write_face(tmp_path / "female" / "33" / "x.jpg")
    write_face(tmp_path / "male" / "7" / "y.png")
    write_face(tmp_path / "stray.jpg")
    records, bad = import_folder(tmp_path)
    assert sorted((r.gender, r.age) for r in records) == [("female", 33), ("male", 7)]
    assert [p for p, _ in bad] == ["stray.jpg"]
