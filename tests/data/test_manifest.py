import pytest

from agegender.data.manifest import (
    AgeWindow,
    assign_splits,
    hash_and_deduplicate,
    read_manifest,
    select,
    write_manifest,
)
from agegender.data.records import FaceRecord
from agegender.errors import EmptyDatasetError
from tests.support import write_face


def _records(n):
    return [
        FaceRecord(path=f"{i}.jpg", age=1 + (i * 7) % 90, gender="female" if i % 3 else "male", sha1=f"{i:040x}")
        for i in range(n)
    ]


def test_split_is_80_10_10_deterministic_and_order_independent():
    a, b = _records(2000), _records(2000)[::-1]
    assign_splits(a, seed=3)
    assign_splits(b, seed=3)
    assert {r.path: r.split for r in a} == {r.path: r.split for r in b}
    counts = {s: sum(r.split == s for r in a) for s in ("train", "val", "test")}
    assert abs(counts["train"] - 1600) < 40 and abs(counts["test"] - 200) < 25


def test_split_is_stratified_by_age_and_gender():
    recs = _records(3000)
    assign_splits(recs)
    test = [r for r in recs if r.split == "test"]
    share_old = sum(r.age >= 60 for r in test) / len(test)
    assert abs(share_old - sum(r.age >= 60 for r in recs) / len(recs)) < 0.03


def test_dedup_by_content_and_missing_files(tmp_path):
    write_face(tmp_path / "a.jpg", seed=1)
    write_face(tmp_path / "b.jpg", seed=2)
    (tmp_path / "c.jpg").write_bytes((tmp_path / "a.jpg").read_bytes())
    recs = [FaceRecord(p, 30, "male") for p in ("a.jpg", "b.jpg", "c.jpg", "gone.jpg")]
    kept, dropped = hash_and_deduplicate(recs, tmp_path)
    assert [r.path for r in kept] == ["a.jpg", "b.jpg"]
    assert dropped[0] == ("c.jpg", "same bytes as a.jpg") and dropped[1][0] == "gone.jpg"


def test_manifest_round_trip(tmp_path):
    recs = _records(10)
    recs[0].box = (1.0, 2.0, 30.5, 40.0)
    assign_splits(recs)
    write_manifest(recs, tmp_path / "m.csv")
    assert read_manifest(tmp_path / "m.csv") == recs


def test_empty_selection_names_the_filter():
    with pytest.raises(EmptyDatasetError, match="ages 60-70"):
        select([FaceRecord("a", 30, "male", split="train")], window=AgeWindow(60, 70))


def test_age_window_parse():
    assert AgeWindow.parse("18-50") == AgeWindow(18, 50)
    assert AgeWindow.parse("all").label == "all"
    with pytest.raises(ValueError):
        AgeWindow.parse("young")
