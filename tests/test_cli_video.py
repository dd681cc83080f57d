"""`agegender predict` on videos: one row per person and model, mixed folders, annotated video, Ctrl-C."""

from __future__ import annotations

import csv
import json
import shutil

import cv2
import pytest

from agegender.cli import main
from agegender.video.rows import VIDEO_CSV_COLUMNS


def read_rows(path):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def test_a_video_gives_one_row_per_person(walking_clip, tmp_path, capsys):
    path, walkers = walking_clip
    out = tmp_path / "out.csv"
    assert main(["predict", str(path), "--format", "csv", "-o", str(out)]) == 0
    header, rows = read_rows(out)
    assert header == VIDEO_CSV_COLUMNS
    assert len(rows) == len(walkers) and {r["kind"] for r in rows} == {"track"}
    assert {r["model"] for r in rows} == {"vgg16"} and len({r["track"] for r in rows}) == len(walkers)
    for r in rows:
        assert r["gender"] == "female" and float(r["end_s"]) > float(r["start_s"]) and int(r["frames"]) > 20
        assert float(r["x2"]) > float(r["x1"]) and 0 < float(r["age_std"]) < 4
    err = capsys.readouterr().err
    assert "4 person(s)" in err and "frames/s" in err


def test_a_folder_of_photos_and_videos_handles_both_and_skips_a_broken_video(
    walking_clip, face_photo, tmp_path, capsys
):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(walking_clip[0], folder / "clip.mp4")
    shutil.copy(face_photo, folder / "photo.jpg")
    (folder / "broken.mkv").write_bytes(b"\x1a\x45\xdf\xa3" + bytes(300))
    (folder / "notes.txt").write_text("not a picture")
    out = tmp_path / "out.csv"
    assert main(["predict", str(folder), "--model", "resnet50", "--format", "csv", "-o", str(out)]) == 0
    _, rows = read_rows(out)
    photo = [r for r in rows if r["kind"] == "photo"]
    tracks = [r for r in rows if r["kind"] == "track"]
    assert (
        len(photo) == 2
        and {r["track"] for r in photo} == {"0", "1"}
        and all(r["path"].endswith("photo.jpg") for r in photo)
    )
    assert len(tracks) == 4 and all(r["path"].endswith("clip.mp4") for r in tracks)
    err = capsys.readouterr().err
    assert "broken.mkv: the video cannot be opened" in err and "1 file(s) skipped" in err and "notes.txt" in err


def test_annotated_video_thumbnails_and_per_frame_rows(walking_clip, tmp_path, capsys):
    path, _ = walking_clip
    out, annotated, thumbs = tmp_path / "out.jsonl", tmp_path / "annotated", tmp_path / "thumbs"
    assert (
        main(
            [
                "predict",
                str(path),
                "--model",
                "resnet50",
                "--format",
                "jsonl",
                "-o",
                str(out),
                "--per-frame",
                "--annotate",
                str(annotated),
                "--thumbnails",
                str(thumbs),
                "--stride",
                "2",
            ]
        )
        == 0
    )
    objects = [json.loads(line) for line in out.read_text().splitlines()]
    frames = [o for o in objects if o["kind"] == "frame"]
    tracks = [o for o in objects if o["kind"] == "track"]
    assert len(tracks) == 4 and [f["frame"] for f in frames] == list(range(0, 2 * len(frames), 2))
    assert all("track" in face for f in frames for face in f["faces"])
    written = annotated / "walking.annotated.mp4"
    cap = cv2.VideoCapture(str(written))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(frames)
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(12.5)
    cap.release()
    expected = sorted(f"walking.track-{t['track']}.jpg" for t in tracks)
    assert sorted(p.name for p in thumbs.iterdir()) == expected


def test_ctrl_c_in_the_middle_writes_the_people_seen_so_far(walking_clip, tmp_path, monkeypatch, capsys):
    from agegender.faces.detect import FaceDetector

    path, _ = walking_clip
    real_detect, calls = FaceDetector.detect, []

    def detect_then_interrupt(self, image):
        calls.append(1)
        if len(calls) == 30:
            raise KeyboardInterrupt
        return real_detect(self, image)

    monkeypatch.setattr(FaceDetector, "detect", detect_then_interrupt)
    out = tmp_path / "out.csv"
    assert main(["predict", str(path), "--model", "resnet50", "--format", "csv", "-o", str(out)]) == 130
    _, rows = read_rows(out)
    assert len(rows) == 2 and all(r["kind"] == "track" and float(r["end_s"]) < 30 / 25 for r in rows)
    assert "interrupted" in capsys.readouterr().err


def test_video_options_are_checked_before_any_work(tmp_path, capsys):
    assert main(["predict", "--stride", "0", str(tmp_path)]) == 2
    assert main(["predict"]) == 2
    assert "nothing to analyse" in capsys.readouterr().err
