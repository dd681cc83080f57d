"""``agegender predict`` on files and folders: formats, bad files, exit codes, annotation."""

import csv
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from agegender.cli import main
from agegender.results import CSV_COLUMNS


def _weights_args(random_weights):
    return [a for name, path in random_weights.items() for a in ("--weights", f"{name}={path}")]


def test_csv_has_one_row_per_face_and_model_and_one_per_faceless_image(random_weights, face_photo, tmp_path, capsys):
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(face_photo, folder / "sub" / "faces.jpg")
    Image.fromarray(np.full((240, 320, 3), 90, np.uint8)).save(folder / "empty_wall.png")
    (folder / "notes.txt").write_text("not an image")
    (folder / "broken.jpg").write_bytes(face_photo.read_bytes()[:500])
    out = tmp_path / "out.csv"
    assert main(["predict", str(folder), *_weights_args(random_weights), "--format", "csv", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    # the text file is never opened (not an image by its extension); the broken JPEG is tried and skipped
    assert "ignored 1 file(s)" in err and "notes.txt" in err and "broken.jpg" in err and "1 file(s) skipped" in err
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == CSV_COLUMNS
    faceless = [r for r in rows if r["path"].endswith("empty_wall.png")]
    assert len(faceless) == 1 and all(faceless[0][c] == "" for c in CSV_COLUMNS[1:])
    faces = [r for r in rows if r["path"].endswith("faces.jpg")]
    assert sorted((r["face"], r["model"]) for r in faces) == [
        ("0", "resnet50"),
        ("0", "vgg16"),
        ("1", "resnet50"),
        ("1", "vgg16"),
    ]
    assert all(r["gender"] in ("female", "male") and 0 <= float(r["p_female"]) <= 1 for r in faces)


def test_default_settings_give_one_row_per_face(face_photo, tmp_path):
    out = tmp_path / "out.csv"
    assert main(["predict", str(face_photo), "--format", "csv", "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["face"], r["model"]) for r in rows] == [("0", "vgg16"), ("1", "vgg16")]
    assert main(["predict", str(face_photo), "--model", "both", "--format", "csv", "-o", str(out)]) == 0
    assert [r["model"] for r in csv.DictReader(out.open())] == ["vgg16", "resnet50"] * 2


def test_json_table_and_annotate(random_weights, face_photo, tmp_path, capsys):
    assert main(["predict", str(face_photo), *_weights_args(random_weights), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) == 1 and len(data[0]["faces"]) == 2
    assert main(["predict", str(face_photo), str(face_photo), *_weights_args(random_weights), "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and [json.loads(x)["faces"] for x in lines] == [data[0]["faces"]] * 2
    assert main(["predict", str(face_photo), *_weights_args(random_weights), "--annotate", str(tmp_path / "ann")]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:4] == ["path", "face", "model", "age"] and len(table.splitlines()) == 5
    assert (tmp_path / "ann" / "two_faces.annotated.jpg").stat().st_size > 10_000


def test_exit_code_is_nonzero_only_when_nothing_was_read(random_weights, tmp_path, capsys):
    (tmp_path / "a.txt").write_text("x")
    assert (
        main(["predict", str(tmp_path / "a.txt"), str(tmp_path / "missing.jpg"), *_weights_args(random_weights)]) == 1
    )
    err = capsys.readouterr().err
    assert "a.txt" in err and "missing.jpg: file not found" in err


def test_bad_model_choice_suggests_a_fix(capsys):
    assert main(["predict", "x.jpg", "--model", "resnet"]) == 2
    assert "did you mean 'resnet50'" in capsys.readouterr().err


def test_weights_option_is_name_equals_file_for_predict_and_serve(capsys):
    from agegender.cli.options import models_to_load

    assert models_to_load(None, []) == (("vgg16",), {})  # one answer per face unless both are asked for
    assert models_to_load(None, [], default="both") == (("vgg16", "resnet50"), {})
    assert models_to_load("both", []) == (("vgg16", "resnet50"), {})
    assert models_to_load(None, ["mine=a.safetensors"]) == ((), {"mine": "a.safetensors"})
    assert models_to_load("both", ["mine=a.safetensors"]) == (("vgg16", "resnet50"), {"mine": "a.safetensors"})
    assert models_to_load("vgg16", ["mine=a.safetensors"]) == (("vgg16",), {"mine": "a.safetensors"})
    for command in ("predict", "serve"):
        args = [command, "x.jpg"] if command == "predict" else [command]
        assert main([*args, "--weights", "runs/best.safetensors"]) != 0
        assert "NAME=FILE" in capsys.readouterr().err


EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "agegender" / "assets" / "astronaut.jpg"


def _folder_of_copies(tmp_path, n: int):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(n):
        shutil.copy(EXAMPLE, folder / f"p{i:02d}.jpg")
    return folder


def test_output_path_is_checked_before_any_work(random_weights, tmp_path, capsys, monkeypatch):
    import agegender.inference as inference

    monkeypatch.setattr(inference.FaceAnalyzer, "__init__", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    out = tmp_path / "missing-dir" / "out.csv"
    assert main(["predict", str(EXAMPLE), *_weights_args(random_weights), "-o", str(out)]) == 2
    assert "missing-dir" in capsys.readouterr().err


def test_an_interrupted_run_keeps_the_rows_of_finished_images(random_weights, tmp_path, capsys, monkeypatch):
    import agegender.inference as inference

    folder = _folder_of_copies(tmp_path, 6)
    real_locate = inference.FaceAnalyzer._locate

    def locate(self, source, *options):
        if str(source).endswith("p04.jpg"):
            raise KeyboardInterrupt
        return real_locate(self, source, *options)

    monkeypatch.setattr(inference.FaceAnalyzer, "_locate", locate)
    out = tmp_path / "out.csv"
    assert (
        main(
            [
                "predict",
                str(folder),
                *_weights_args(random_weights),
                "--format",
                "csv",
                "-o",
                str(out),
                "--workers",
                "1",
            ]
        )
        == 130
    )
    rows = list(csv.DictReader(out.open()))
    assert {r["path"].rsplit("/", 1)[1] for r in rows} == {"p00.jpg", "p01.jpg", "p02.jpg", "p03.jpg"}
    err = capsys.readouterr().err
    assert "interrupted: what was done is below" in err and "4 image(s) read, 4 face(s) found" in err


def test_json_output_of_a_folder_is_one_array_in_input_order(random_weights, tmp_path, capsys):
    folder = _folder_of_copies(tmp_path, 5)
    (folder / "p02.jpg").write_bytes(b"not an image")
    assert main(["predict", str(folder), *_weights_args(random_weights), "--format", "json", "--workers", "3"]) == 0
    captured = capsys.readouterr()
    results = json.loads(captured.out)
    assert [r["source"].rsplit("/", 1)[1] for r in results] == ["p00.jpg", "p01.jpg", "p03.jpg", "p04.jpg"]
    assert all(len(r["faces"]) == 1 for r in results) and "p02.jpg" in captured.err


def test_annotate_never_overwrites_an_image_of_the_same_run(random_weights, tmp_path, capsys):
    folder = tmp_path / "in"
    for rel in ("a/photo.jpg", "b/photo.jpg", "x.png", "x.bmp"):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.open(EXAMPLE).save(folder / rel)
    out = tmp_path / "ann"
    assert main(["predict", str(folder), *_weights_args(random_weights), "--annotate", str(out)]) == 0
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.jpg"))
    # the input tree is kept; x.png and x.bmp would share a name: the later one gets a longer one
    assert written == [
        "a/photo.annotated.jpg",
        "b/photo.annotated.jpg",
        "x.annotated.jpg",
        "x.png.annotated.jpg",
    ] or written == ["a/photo.annotated.jpg", "b/photo.annotated.jpg", "x.annotated.jpg", "x.bmp.annotated.jpg"], (
        written
    )
    assert "annotated as" in capsys.readouterr().err
    # several folders: each keeps its tree under its own name
    again = tmp_path / "ann2"
    assert (
        main(
            ["predict", str(folder / "a"), str(folder / "b"), *_weights_args(random_weights), "--annotate", str(again)]
        )
        == 0
    )
    assert sorted(str(p.relative_to(again)) for p in again.rglob("*.jpg")) == [
        "a/photo.annotated.jpg",
        "b/photo.annotated.jpg",
    ]


def test_faces_are_numbered_in_reading_order():
    from agegender.faces.detect import Detection, reading_order

    def at(x, y, score):
        return Detection((x, y, x + 60, y + 70), score, np.zeros((5, 2)))

    # two rows, slightly uneven heights within a row, scores in no particular order
    faces = [at(300, 40, 0.9), at(20, 260, 0.99), at(10, 50, 0.7), at(520, 30, 0.8), at(260, 250, 0.95)]
    assert [(f.box[0], f.box[1]) for f in reading_order(faces)] == [
        (10, 50),
        (300, 40),
        (520, 30),
        (20, 260),
        (260, 250),
    ]


def test_missing_paths_are_said_before_any_model_loads(tmp_path, capsys, monkeypatch):
    import agegender.inference

    def no_loading(*a, **k):
        raise AssertionError("models were loaded for paths that do not exist")

    monkeypatch.setattr(agegender.inference, "FaceAnalyzer", no_loading)
    assert main(["predict", str(tmp_path / "nope.jpg"), str(tmp_path / "gone")]) == 1
    err = capsys.readouterr().err
    assert "nope.jpg: file not found" in err and "no image or video files found" in err


def test_a_folder_with_3gb_non_images_costs_no_memory_and_keeps_every_good_row(
    random_weights, face_photo, tmp_path, capsys
):
    """Issue 14's target: a 3 GB file named like a video and a 3 GB file named like a photo, both a video's
    signature followed by nothing a decoder can read, beside the photos: each refused as a video that cannot
    be opened, one line each; peak memory stays far below 1.2 GB and the photo's rows are all there."""
    import resource

    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(face_photo, folder / "faces.jpg")
    for name in ("clip.mp4", "not_really.jpg"):  # sparse: no disk used, 3 GB if read whole
        with open(folder / name, "wb") as f:
            f.write(b"\x00\x00\x00\x18ftypmp42")
            f.truncate(3 * 1024**3)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = tmp_path / "out.csv"
    assert main(["predict", str(folder), *_weights_args(random_weights), "--format", "csv", "-o", str(out)]) == 0
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    err = capsys.readouterr().err
    assert "clip.mp4: the video cannot be opened" in err and "not_really.jpg: the video cannot be opened" in err
    assert "2 file(s) skipped" in err
    rows = list(csv.DictReader(out.open()))
    assert {r["path"] for r in rows} == {str(folder / "faces.jpg")} and len(rows) == 4  # 2 faces x 2 models
    assert grown_mb < 300, grown_mb


def test_a_carriage_return_in_a_file_name_reads_back_as_one_record(random_weights, face_photo, tmp_path, capsys):
    folder = tmp_path / "odd"
    folder.mkdir()
    shutil.copy(face_photo, folder / "a\rb.jpg")
    out = tmp_path / "out.csv"
    assert main(["predict", str(folder), *_weights_args(random_weights), "--format", "csv", "-o", str(out)]) == 0
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and all(r["path"] == str(folder / "a\rb.jpg") and r["model"] for r in rows)


def test_output_appears_whole_when_the_run_ends_and_a_full_disk_is_one_line(
    random_weights, face_photo, tmp_path, capsys
):
    out = tmp_path / "out.json"
    out.write_text("previous results\n")
    assert main(["predict", str(face_photo), *_weights_args(random_weights), "--format", "json", "-o", str(out)]) == 0
    assert len(json.loads(out.read_text())) == 1 and list(tmp_path.glob(".out.json.*")) == []
    capsys.readouterr()
    assert main(["predict", str(face_photo), *_weights_args(random_weights), "--format", "csv", "-o", "/dev/full"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "agegender predict: error: cannot write /dev/full: No space left on device"


def test_two_runs_into_one_output_never_leave_a_mix(face_photo, tmp_path):
    """Two processes write one -o at once: the file is one run's rows, whole (the last to finish wins)."""
    import subprocess
    import sys

    a, b = tmp_path / "a", tmp_path / "b"
    for folder, n in ((a, 12), (b, 9)):
        folder.mkdir()
        for i in range(n):
            shutil.copy(face_photo, folder / f"{folder.name}{i}.jpg")
    out = tmp_path / "out.csv"
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agegender",
                "predict",
                str(folder),
                "--model",
                "resnet50",
                "--format",
                "csv",
                "-o",
                str(out),
            ],
            stderr=subprocess.DEVNULL,
        )
        for folder in (a, b)
    ]
    assert [r.wait(timeout=300) for r in runs] == [0, 0]
    rows = list(csv.DictReader(out.open(newline="")))
    folders = {Path(r["path"]).parent for r in rows}
    assert len(folders) == 1 and len(rows) == 2 * (12 if folders == {a} else 9)
    assert list(tmp_path.glob(".out.csv.*")) == []


def test_a_fifo_on_the_command_line_is_skipped_never_opened(random_weights, face_photo, tmp_path, capsys):
    import os

    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    out = tmp_path / "out.csv"
    assert (
        main(["predict", str(fifo), str(face_photo), *_weights_args(random_weights), "--format", "csv", "-o", str(out)])
        == 0
    )
    assert "pipe.jpg: not a regular file" in capsys.readouterr().err
    assert {r["path"] for r in csv.DictReader(out.open(newline=""))} == {str(face_photo)}


def test_what_a_folder_holds_and_is_not_read_is_named(random_weights, face_photo, tmp_path, capsys):
    import os

    folder = tmp_path / "f"
    (folder / "a").mkdir(parents=True)
    shutil.copy(face_photo, folder / "a" / "p.jpg")
    os.symlink("..", folder / "a" / "up")  # a loop, if it were followed
    os.symlink(tmp_path / "nowhere.jpg", folder / "a" / "gone.jpg")
    os.mkfifo(folder / "a" / "pipe.jpg")
    assert (
        main(
            ["predict", str(folder), *_weights_args(random_weights), "--format", "csv", "-o", str(tmp_path / "out.csv")]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "left out: " + str(folder / "a" / "up") + ": a link to a folder (not followed)" in err
    assert "gone.jpg: a broken link" in err and "pipe.jpg: not a regular file" in err
    assert "1 image(s) read" in err
