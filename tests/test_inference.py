"""The Python API: FaceAnalyzer on photos, arrays, bytes and crops (untrained weights: plumbing only)."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from agegender.data.images import read_image
from agegender.errors import ImageError
from agegender.inference import FaceAnalyzer
from agegender.results import Face, Result


@pytest.fixture(scope="module")
def analyzer(random_weights):
    return FaceAnalyzer(models=(), weights=random_weights)


def test_every_face_gets_every_models_prediction(analyzer, face_photo):
    result = analyzer.analyze(face_photo)
    assert isinstance(result, Result) and (result.width, result.height) == (640, 480)
    assert len(result.faces) == 2
    assert sorted(f.box[0] < 320 for f in result.faces) == [False, True]
    for face in result.faces:
        assert isinstance(face, Face) and 0.6 <= face.det_score <= 1 and len(face.landmarks) == 5
        assert set(face.predictions) == {"vgg16", "resnet50"}
        for p in face.predictions.values():
            assert 1 <= p.age <= 100 and p.gender in ("female", "male") and 0 <= p.p_female <= 1
            assert p.gender == ("female" if p.p_female >= 0.5 else "male")
    assert face.predictions["vgg16"].age_std is not None and face.predictions["resnet50"].age_std is None
    assert {"load", "detect", "align", "vgg16", "resnet50"} <= set(result.speed)
    json.dumps(result.to_dict())


def test_same_answer_from_path_bytes_array_and_pil(analyzer, face_photo):
    a = analyzer.analyze(face_photo).to_dict()["faces"]
    for source in (face_photo.read_bytes(), np.asarray(Image.open(face_photo).convert("RGB")), Image.open(face_photo)):
        assert analyzer.analyze(source).to_dict()["faces"] == a


def test_opencv_arrays_are_read_as_bgr_when_said_and_an_empty_array_is_an_image_error(analyzer, face_photo):
    import cv2

    expected = analyzer.analyze(face_photo).to_dict()["faces"]
    bgr = cv2.imread(str(face_photo))
    assert analyzer.analyze(bgr, bgr=True).to_dict()["faces"] == expected
    assert [r.to_dict()["faces"] for _, r in analyzer.analyze_many([bgr], bgr=True)] == [expected]
    assert analyzer.analyze(bgr).to_dict()["faces"] != expected  # read as RGB, the colours are swapped
    with pytest.raises(ImageError, match="no pixels"):
        analyzer.analyze(np.zeros((0, 0, 3), np.uint8))


def test_crops_mode_skips_detection(analyzer, face_photo):
    result = analyzer.analyze(np.zeros((200, 200, 3), np.uint8), crops=True)
    assert len(result.faces) == 1 and result.faces[0].box == (0.0, 0.0, 200.0, 200.0)
    assert result.faces[0].det_score is None


def test_model_subset_and_unknown_model(analyzer, face_photo):
    result = analyzer.analyze(face_photo, models=["resnet50"])
    assert all(set(f.predictions) == {"resnet50"} for f in result.faces)
    with pytest.raises(ValueError, match="not loaded"):
        analyzer.analyze(face_photo, models=["vgg19"])


def test_faceless_image_and_bad_input(analyzer, tmp_path):
    result = analyzer.analyze(np.full((300, 400, 3), 128, np.uint8))
    assert result.faces == [] and result.message == "no face found"
    (tmp_path / "x.jpg").write_text("hello")
    with pytest.raises(ImageError, match="x.jpg"):
        analyzer.analyze(tmp_path / "x.jpg")
    with pytest.raises(ImageError, match="shape"):
        analyzer.analyze(np.zeros((4, 4, 7), np.uint8))


def test_annotated_plot(analyzer, face_photo):
    result = analyzer.analyze(face_photo, keep_image=True)
    drawn = result.plot()
    assert drawn.shape == (480, 640, 3) and not np.array_equal(drawn, result.image)


def test_unknown_model_name_is_explained():
    with pytest.raises(ValueError, match="shipped models"):
        FaceAnalyzer(models=("vgg19",))


def test_analyze_many_equals_one_by_one_in_input_order_with_errors_in_place(analyzer, tmp_path):
    example = Path(__file__).resolve().parents[1] / "src" / "agegender" / "assets" / "astronaut.jpg"
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 truncated")
    mirrored = np.ascontiguousarray(read_image(example)[:, ::-1])
    sources = [example, bad, mirrored, example, np.zeros((50, 60, 3), np.uint8)]
    out = list(analyzer.analyze_many(sources, workers=3, batch_faces=2))
    assert [s is src for (s, _), src in zip(out, sources)] == [True] * 5
    assert isinstance(out[1][1], ImageError) and out[4][1].faces == []
    for (source, result), i in zip(out, range(5)):
        if i in (0, 2, 3):
            assert result.to_dict()["faces"] == analyzer.analyze(source).to_dict()["faces"]
            assert set(result.speed) >= {"load", "detect", *analyzer.model_names}


def test_crops_mode_refuses_an_image_too_small_to_be_a_face(analyzer):
    with pytest.raises(ImageError, match="1x1 image is too small"):
        analyzer.analyze(np.zeros((1, 1, 3), np.uint8), crops=True)
    assert len(analyzer.analyze(np.zeros((16, 16, 3), np.uint8), crops=True).faces) == 1


def test_each_model_reads_faces_aligned_with_its_own_template(random_weights, face_photo, tmp_path):
    """A model trained with another framing gets faces framed its way; models sharing a template share
    one warp per face."""
    from agegender.faces.align import default_template
    from agegender.models.weights import load_model, save_weights

    tpl = default_template()
    wider = {"points": [[0.5 + (x - 0.5) * 0.7, 0.5 + (y - 0.5) * 0.7] for x, y in tpl.points], "crop_size": 160}
    model, meta = load_model(random_weights["vgg16"])
    save_weights(model, tmp_path / "wide.safetensors", {**meta, "alignment_template": wider})
    analyzer = FaceAnalyzer(models=(), weights={**random_weights, "wide": tmp_path / "wide.safetensors"})
    image = read_image(face_photo)
    landmarks = [d.landmarks for d in analyzer.detector.detect(image)]
    aligned = analyzer.align_all(image, landmarks)
    assert aligned["vgg16"] is aligned["resnet50"] and len(aligned["vgg16"]) == 2
    assert aligned["vgg16"][0].shape == (tpl.crop_size,) * 2 + (3,) and aligned["wide"][0].shape == (160, 160, 3)
    assert np.array_equal(analyzer.align(image, landmarks[0], "wide"), aligned["wide"][0])
    assert set(analyzer.align_all(image, landmarks, ["wide"])) == {"wide"}  # only the models asked for
    faces = analyzer.analyze(face_photo).faces
    assert all(set(f.predictions) == {"vgg16", "resnet50", "wide"} for f in faces)
