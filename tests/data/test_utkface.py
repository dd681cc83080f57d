import pytest

from agegender.data.utkface import import_utkface, parse_utkface_name
from tests.support import write_face


@pytest.mark.parametrize(
    "name, age, gender, race",
    [
        ("26_1_2_20170116174525125.jpg.chip.jpg", 26, "female", "asian"),
        ("39_1_20170116174525125.jpg.chip.jpg", 39, "female", ""),  # race missing
        ("24_0_1_20170116220224657 .jpg.chip.jpg", 24, "male", "black"),  # space before .jpg
        ("61_0_0_20170117174637357jpg.chip.jpg", 61, "male", "white"),  # missing dot
        ("14_0_0_2017011022340900.jpg.chip.jpg", 14, "male", "white"),  # 16-digit date
        ("28_1_2_201701161846515488.jpg.chip.jpg", 28, "female", "asian"),  # 18-digit date
        ("116_1_0_20170120134921760.jpg.chip.jpg", 116, "female", "white"),
    ],
)
def test_parses_every_quirk_of_the_public_set(name, age, gender, race):
    rec = parse_utkface_name(name)
    assert (rec.age, rec.gender, rec.race) == (age, gender, race)


@pytest.mark.parametrize(
    "name",
    [
        "hello.jpg",
        "0_0_0_20170116174525125.jpg.chip.jpg",
        "30_2_0_20170116174525125.jpg.chip.jpg",
        "30_1_7_20170116174525125.jpg.chip.jpg",
        "30_1_0_20170116174525125.png",
    ],
)
def test_bad_names_raise_value_error_naming_the_file(name):
    with pytest.raises(ValueError, match="30_|0_0|hello"):
        parse_utkface_name(name)


def test_import_counts_and_lists_bad_names_instead_of_crashing(tmp_path):
    write_face(tmp_path / "30_1_0_20170116174525125.jpg.chip.jpg")
    write_face(tmp_path / "sub" / "45_0_3_20170116174525126.jpg.chip.jpg")
    write_face(tmp_path / "notes_about_faces.jpg")
    (tmp_path / "README.txt").write_text("hi")
    records, bad = import_utkface(tmp_path)
    assert sorted(r.path for r in records) == [
        "30_1_0_20170116174525125.jpg.chip.jpg",
        "sub/45_0_3_20170116174525126.jpg.chip.jpg",
    ]
    assert sorted(name for name, _ in bad) == ["README.txt", "notes_about_faces.jpg"]


def test_real_utkface_folder_parses_completely(utkface_dir):
    records, bad = import_utkface(utkface_dir)
    assert len(records) == 21012 and bad == []
    assert sum(r.race == "" for r in records) == 3
