"""The live view's WebSocket: frames in, steady track ids and fused answers out, within its bounds."""

from __future__ import annotations

import io
import json
import time

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from starlette.testclient import WebSocketDenialResponse

from agegender.server.app import create_app
from agegender.server.config import ServerConfig


@pytest.fixture(scope="module")
def app():
    from agegender.inference import FaceAnalyzer

    analyzer = FaceAnalyzer(models=("resnet50",))
    return create_app(ServerConfig(models=("resnet50",), live_max_connections=2, live_max_fps=100.0), analyzer=analyzer)


def clip_frames(path, every: int = 2):
    """The clip's frames as JPEG bytes (every ``every``-th)."""
    cap = cv2.VideoCapture(str(path))
    out, i = [], 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        if i % every == 0:
            out.append(cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
        i += 1
    cap.release()
    return out


def test_a_live_view_tracks_each_face_and_its_answer_settles(app, walking_clip):
    path, _ = walking_clip
    frames = clip_frames(path, every=3)
    with TestClient(app) as client, client.websocket_connect("/api/live?model=resnet50") as ws:
        answers = []
        start = time.monotonic()
        for i, data in enumerate(frames):  # sent as a camera would: each frame at its time (8.3 a second)
            time.sleep(max(0.0, start + i * 3 / 25 - time.monotonic()))
            ws.send_bytes(data)
            answers.append(json.loads(ws.receive_text()))
        time.sleep(2.1)  # live time is the clock's: after 2 s out of sight, people have left
        ws.send_bytes(cv2.imencode(".jpg", np.zeros((480, 640, 3), np.uint8))[1].tobytes())
        last = json.loads(ws.receive_text())
    assert all("error" not in a for a in answers)
    assert [a["frame"] for a in answers] == list(range(len(frames)))
    ids = {face["track"] for a in answers for face in a["faces"]}
    assert len(ids) == 4  # four people crossed the picture
    ended = [t for a in answers for t in a["ended"]] + last["ended"]
    assert {t["track"] for t in ended} == ids and all(t["predictions"]["resnet50"]["gender"] == "female" for t in ended)
    settled = [
        (face["track"], face["predictions"]["resnet50"]["age"])
        for a in answers
        for face in a["faces"]
        if face["settled"]
    ]
    assert settled
    for track in {t for t, _ in settled}:
        ages = [age for t, age in settled if t == track]
        assert max(ages) - min(ages) < 1.5  # once settled, the answer barely moves
    assert answers[-1]["fps"] > 0


def test_bad_frames_get_an_error_message_and_the_view_goes_on(app, walking_clip):
    frames = clip_frames(walking_clip[0], every=10)
    big = io.BytesIO()
    Image.new("RGB", (2500, 2000)).save(big, "JPEG")
    with TestClient(app) as client, client.websocket_connect("/api/live") as ws:
        ws.send_text("hello")
        assert "binary message" in json.loads(ws.receive_text())["error"]
        ws.send_bytes(b"not a picture")
        assert "not an image" in json.loads(ws.receive_text())["error"]
        ws.send_bytes(big.getvalue())
        assert "pixels" in json.loads(ws.receive_text())["error"]
        ws.send_bytes(frames[1])
        assert len(json.loads(ws.receive_text())["faces"]) == 2


def test_more_live_views_than_the_limit_are_refused_with_503(app):
    with TestClient(app) as client:
        with client.websocket_connect("/api/live"), client.websocket_connect("/api/live"):
            assert client.get("/api/health").json()["busy"]["live"] == 2
            with pytest.raises(WebSocketDenialResponse) as info:
                with client.websocket_connect("/api/live"):
                    pass
            assert info.value.status_code == 503 and "live views" in info.value.json()["error"]
            assert info.value.headers["retry-after"] == "5"
        assert client.get("/api/health").json()["busy"]["live"] == 0
        with pytest.raises(WebSocketDenialResponse) as info:
            with client.websocket_connect("/api/live?model=alexnet"):
                pass
        assert info.value.status_code == 422
