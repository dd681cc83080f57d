"""Annotated images: label blocks never cover each other or a neighbouring face, and stay inside the image."""

import numpy as np

from agegender.annotate import draw_faces, label_blocks
from agegender.results import Face, Prediction


def _face(x1, y1, x2, y2):
    p = Prediction(age=31.0, gender="female", p_female=0.9)
    return Face(box=(x1, y1, x2, y2), predictions={"vgg16": p, "resnet50": p})


def _overlap(a, b):
    return max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])) * max(
        0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    )


def test_labels_of_neighbouring_faces_do_not_overlap():
    # a row of faces with little room between them, and a row right under it
    faces = [_face(20 + 110 * i, 40, 110 + 110 * i, 130) for i in range(5)] + [
        _face(20 + 110 * i, 150, 110 + 110 * i, 240) for i in range(5)
    ]
    shape = (480, 640, 3)
    blocks = label_blocks(faces, shape)
    assert all(0 <= x and 0 <= y and x + w <= shape[1] and y + h <= shape[0] for x, y, w, h in blocks)
    pairs = [(a, b) for i, a in enumerate(blocks) for b in blocks[i + 1 :]]
    assert sum(_overlap(a, b) > 0 for a, b in pairs) == 0, blocks


def test_a_face_at_the_bottom_edge_keeps_its_label_in_the_image():
    shape = (300, 400, 3)
    face = _face(150, 200, 250, 299)
    ((x, y, w, h),) = label_blocks([face], shape)
    assert y + h <= 300 and y < 200  # moved above the face
    drawn = draw_faces(np.zeros(shape, np.uint8), [face])
    assert drawn[y : y + h, x : x + w].any()
