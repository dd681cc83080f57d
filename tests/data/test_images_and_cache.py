import io

import numpy as np
import pytest
from PIL import Image

from agegender.data.cache import build_cache, open_cache
from agegender.data.images import decode_image, read_image
from agegender.data.records import FaceRecord
from agegender.errors import ImageError
from tests.support import write_face


def _encode(img, fmt="PNG", **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK", "I;16", "P", "LA"])
def test_every_pixel_format_becomes_rgb_uint8(mode):
    fmt = "JPEG" if mode == "CMYK" else ("TIFF" if mode == "I;16" else "PNG")
    img = Image.new(mode, (20, 10))
    arr = decode_image(_encode(img, fmt))
    assert arr.shape == (10, 20, 3) and arr.dtype == np.uint8


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_pil_does(orientation):
    from PIL import ImageOps

    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (30, 50, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _encode(img, "PNG", exif=exif.tobytes())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    assert np.array_equal(decode_image(data), expected)


@pytest.mark.parametrize("mode", ["RGB", "L", "1", "P", "RGBA", "CMYK"])
def test_large_images_convert_strip_by_strip_exactly(mode):
    """Images taller than one conversion strip give the same pixels as PIL's whole-image conversion."""
    rng = np.random.default_rng(1)
    data = _encode(Image.fromarray(rng.integers(0, 255, (700, 90, 4), dtype=np.uint8), "RGBA").convert(mode), "TIFF")
    img = Image.open(io.BytesIO(data))
    expected = np.asarray(
        Image.alpha_composite(Image.new("RGBA", img.size, "white"), img.convert("RGBA")).convert("RGB")
    )
    assert np.array_equal(decode_image(data), expected)


def test_decoding_costs_little_more_than_the_pixels():
    """A 7000x7000 1-bit PNG (6 KB, 147 MB as RGB) decodes with a peak of ~1.3x its RGB size, not ~4x."""
    import resource

    data = _encode(Image.new("1", (7000, 7000)))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    arr = decode_image(data, max_pixels=10**8)
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert arr.shape == (7000, 7000, 3) and growth_mb < 260, growth_mb


def test_only_the_first_frame_of_an_animation_is_used_and_said():
    frames = [Image.new("RGB", (32, 32), c) for c in ("red", "green", "blue")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    notes = []
    arr = decode_image(buf.getvalue(), notes=notes)
    assert arr[0, 0, 0] > 200 and arr[0, 0, 1] < 50
    assert notes and "3 frames" in notes[0] and "first" in notes[0]


@pytest.mark.parametrize(
    "data, match",
    [(b"", "empty"), (b"hello, not an image", "not an image in a format"), (None, "damaged or incomplete")],
)
def test_bad_bytes_raise_image_error(data, match):
    if data is None:
        data = _encode(Image.new("RGB", (64, 64)), "JPEG")[:200]
    with pytest.raises(ImageError, match=match):
        decode_image(data, "x.jpg")


def test_decompression_bomb_is_refused():
    with pytest.raises(ImageError, match="limit"):
        decode_image(_encode(Image.new("L", (3000, 3000))), max_pixels=1_000_000)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        read_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="folder"):
        read_image(tmp_path)


def test_cache_skips_bad_files_with_reasons_and_keeps_good_ones(tmp_path):
    write_face(tmp_path / "good1.jpg", seed=1, size=80)
    write_face(tmp_path / "good2.jpg", seed=2, size=80)
    (tmp_path / "corrupt.jpg").write_bytes((tmp_path / "good1.jpg").read_bytes()[:300])
    (tmp_path / "text.jpg").write_text("not an image")
    recs = [
        FaceRecord(p, 20 + i, "female", split="train")
        for i, p in enumerate(["good1.jpg", "corrupt.jpg", "text.jpg", "missing.jpg", "good2.jpg"])
    ]
    summary = build_cache(recs, tmp_path, tmp_path / "c", size=16, progress=False)
    assert summary["faces"] == 2
    assert sorted(p for p, _ in summary["skipped"]) == ["corrupt.jpg", "missing.jpg", "text.jpg"]
    cache = open_cache(tmp_path / "c")
    assert cache.paths == ["good1.jpg", "good2.jpg"] and list(cache.ages) == [20, 24]
    assert cache.images.shape == (2, 16, 16, 3)
    again = build_cache(recs, tmp_path, tmp_path / "c", size=16, progress=False)
    assert again["reused"]
    other = build_cache(recs, tmp_path, tmp_path / "c", size=24, progress=False)
    assert not other["reused"] and open_cache(tmp_path / "c").size == 24


def test_a_wrong_images_folder_stops_at_once_and_no_empty_cache_is_written_or_reused(tmp_path, caplog):
    import json

    from agegender.errors import EmptyDatasetError

    recs = [FaceRecord(f"{i}.jpg", 30, "male", split="train") for i in range(500)]
    with pytest.raises(EmptyDatasetError, match="does not exist"):
        build_cache(recs, tmp_path / "nowhere", tmp_path / "c", size=16, progress=False)
    (tmp_path / "wrong").mkdir()
    with pytest.raises(EmptyDatasetError, match="none of the first 20 images"):
        build_cache(recs, tmp_path / "wrong", tmp_path / "c", size=16, progress=False)
    assert "skipped" not in caplog.text  # one line, not a warning per file
    assert not (tmp_path / "c" / "labels.json").exists() and not list((tmp_path / "c").glob("*.npy*"))
    (tmp_path / "text.jpg").write_text("not an image")
    with pytest.raises(EmptyDatasetError, match="no face could be read"):
        build_cache(
            [FaceRecord("text.jpg", 30, "male", split="train")], tmp_path, tmp_path / "c", size=16, progress=False
        )
    # an empty cache (a failed build leaves none, but one may be on disk) is rebuilt, not reused
    write_face(tmp_path / "good.jpg", seed=1, size=40)
    good = [FaceRecord("good.jpg", 30, "male", split="train")]
    build_cache(good, tmp_path, tmp_path / "d", size=16, progress=False)
    labels = json.loads((tmp_path / "d" / "labels.json").read_text())
    (tmp_path / "d" / "labels.json").write_text(json.dumps({**labels, "paths": [], "ages": []}))
    assert not build_cache(good, tmp_path, tmp_path / "d", size=16, progress=False)["reused"]


def test_pack_and_unpack_round_trip(tmp_path):
    from agegender.cli import main
    from agegender.data.cache import open_cache
    from tests.support import make_cache

    cache = make_cache(tmp_path / "cache", n=40, size=32)
    ramp = np.linspace(0, 255, 32)[None, :, None]  # smooth, a different picture per channel (catches RGB/BGR swaps)
    smooth = np.stack(
        [
            np.broadcast_to(ramp, (32, 32, 1))[..., 0],
            np.full((32, 32), 40.0),
            255 - np.broadcast_to(ramp, (32, 32, 1))[..., 0],
        ],
        -1,
    )
    np.save(cache / "images.npy", np.repeat(smooth[None], 40, 0).astype(np.uint8))
    assert (
        main(["data", "pack", str(cache), "-o", str(tmp_path / "p.npz"), "--quality", "95", "--splits", "train"]) == 0
    )
    assert main(["data", "unpack", str(tmp_path / "p.npz"), "-o", str(tmp_path / "back")]) == 0
    a, b = open_cache(cache), open_cache(tmp_path / "back")
    keep = a.indices("train", None)
    assert len(b.ages) == len(keep) == 30 and (b.splits == 0).all()
    assert np.array_equal(b.ages, a.ages[keep]) and b.paths == [a.paths[i] for i in keep]
    assert np.abs(b.images.astype(int) - a.images[keep].astype(int)).mean() < 3  # JPEG, not lossless


def test_photo_cache_through_the_detector_keeps_one_face_photos_only(tmp_path):
    """--detect: a photo with one face is aligned as inference aligns it; none or two are listed, never guessed."""
    from importlib import resources

    from agegender.faces.photo_crops import PhotoAligner

    photo = read_image(resources.files("agegender") / "assets" / "astronaut.jpg")
    Image.fromarray(photo).save(tmp_path / "one.png")
    Image.fromarray(np.hstack([photo, photo])).save(tmp_path / "two.png")
    Image.fromarray(np.full((200, 200, 3), 120, np.uint8)).save(tmp_path / "none.png")
    records = [
        FaceRecord(path=n, age=42, gender="female", source="aaf", split="train")
        for n in ("one.png", "two.png", "none.png")
    ]
    aligner = PhotoAligner()
    summary = build_cache(records, tmp_path, tmp_path / "cache", size=64, progress=False, aligner=aligner)
    assert summary["faces"] == 1
    reasons = dict(summary["skipped"])
    assert "2 faces" in reasons["two.png"] and "no face" in reasons["none.png"]
    cache = open_cache(tmp_path / "cache")
    assert cache.dataset == "aaf" and cache.paths == ["one.png"]
    assert cache.meta["aligned_by_detection"]["second_face_ratio"] == 0.5
    from agegender.preprocess import prepare_face

    assert np.array_equal(cache.images[0], prepare_face(aligner(photo), 64))
    # Other settings never reuse this cache: the plain path rebuilds it.
    assert build_cache(records[:1], tmp_path, tmp_path / "cache", size=64, progress=False)["reused"] is False


def test_a_huge_non_image_is_refused_without_reading_it_whole(tmp_path):
    import resource

    video = tmp_path / "clip.mp4"
    with open(video, "wb") as f:  # a sparse 2 GB file: costs no disk, would cost 2 GB of memory if read whole
        f.write(b"\x00\x00\x00\x18ftypmp42")
        f.truncate(2 * 1024**3)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImageError, match="clip.mp4: not an image in a format"):
        read_image(video)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KB: far below 2 GB


def test_split_faces_per_cache_and_int8_samples_take_each_cache_alike(tmp_path):
    from agegender.data.cache import sample_val_faces, split_faces
    from agegender.errors import CacheError
    from tests.support import make_cache

    a = make_cache(tmp_path / "a", n=40, dataset="utkface")
    b = make_cache(tmp_path / "b", n=80, seed=1, dataset="aaf")
    parts = split_faces(f"{a}, {b}")
    assert [(p.dataset, len(p.ages)) for p in parts] == [("utkface", 10), ("aaf", 20)]
    assert parts[0].images.shape == (10, 32, 32, 3) and set(parts[1].female) <= {0, 1}
    sample = sample_val_faces([a, b], 12)
    assert sample.shape == (12, 32, 32, 3)  # 6 of each, though b holds twice as many
    assert sum((parts[0].images == s).all(axis=(1, 2, 3)).any() for s in sample) == 6
    with pytest.raises(CacheError, match="no test faces"):
        split_faces([a], "test")
