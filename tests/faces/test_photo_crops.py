"""One aligned face per labelled photo: the detection path of photo-dataset caches, on the shipped example photo."""

from importlib import resources

import cv2
import numpy as np
import pytest

from agegender.data.images import read_image
from agegender.errors import NoSingleFaceError
from agegender.faces import FaceDetector, align_face, default_template
from agegender.faces.photo_crops import PhotoAligner


@pytest.fixture(scope="module")
def aligner():
    return PhotoAligner()


@pytest.fixture(scope="module")
def photo():
    """The package's example photo: one woman, head and shoulders (as All-Age-Faces frames its photos)."""
    return read_image(resources.files("agegender") / "assets" / "astronaut.jpg")


def test_one_face_gives_the_analyzers_aligned_crop(aligner, photo):
    crop = aligner(photo)
    assert crop.shape == (200, 200, 3) and crop.dtype == np.uint8
    # The very crop FaceAnalyzer aligns: same detector, same template, same warp.
    det = FaceDetector().detect(photo)[0]
    assert np.array_equal(crop, align_face(photo, det.landmarks, default_template(), 200))


def test_no_face_is_reported_not_guessed(aligner):
    blank = np.full((300, 300, 3), 128, np.uint8)
    with pytest.raises(NoSingleFaceError, match="no face"):
        aligner(blank)


def test_two_faces_of_similar_size_are_ambiguous(aligner, photo):
    with pytest.raises(NoSingleFaceError, match="2 faces"):
        aligner(np.hstack([photo, photo]))


def test_a_small_second_face_is_not_a_rival(aligner, photo):
    """A face in the background (a quarter of the labelled face's size) leaves the photo usable."""
    small = cv2.resize(photo, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    canvas = np.full((photo.shape[0], photo.shape[1] + small.shape[1], 3), 90, np.uint8)
    canvas[:, : photo.shape[1]] = photo
    canvas[: small.shape[0], photo.shape[1] :] = small
    assert len(FaceDetector().detect(canvas)) == 2
    assert np.array_equal(aligner(canvas), aligner(photo))


def test_a_rotated_face_is_aligned_upright(aligner, photo):
    """A photo turned by 10 degrees gives a crop whose landmarks sit where the upright photo's do.

    (YuNet's landmarks lag larger tilts: at 25 degrees the aligned eyes are ~17 px from level.)
    """
    h, w = photo.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 10, 1.0)
    rotated = cv2.warpAffine(photo, turn, (w, h), borderMode=cv2.BORDER_REPLICATE)
    detector = FaceDetector()

    def landmarks_in(crop):
        return detector.detect(cv2.copyMakeBorder(crop, 50, 50, 50, 50, cv2.BORDER_REPLICATE))[0].landmarks - 50

    upright, turned = landmarks_in(aligner(photo)), landmarks_in(aligner(rotated))
    assert np.abs(turned - upright).max() < 6  # px of a 200 px crop (measured: 4.3)
    assert abs(turned[0, 1] - turned[1, 1]) < 6  # eyes level (measured: 4.2)


def test_padding_finds_faces_that_fill_their_image(photo):
    """A tight face crop (as UTKFace's chips) is found once padded."""
    det = FaceDetector().detect(photo)[0]
    x1, y1, x2, y2 = (int(v) for v in det.box)
    tight = np.ascontiguousarray(photo[y1:y2, x1:x2])
    crop = PhotoAligner(pad=0.5)(tight)
    assert crop.shape == (200, 200, 3)
    assert PhotoAligner(pad=0.5).settings()["pad"] == 0.5
