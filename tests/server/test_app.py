"""REST API: uploads (multipart and raw), limits, bad input, and that the server keeps serving."""

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from agegender.inference import FaceAnalyzer
from agegender.server.app import create_app
from agegender.server.config import ServerConfig


@pytest.fixture(scope="module")
def client(random_weights):
    analyzer = FaceAnalyzer(models=(), weights=random_weights)
    app = create_app(ServerConfig(max_upload_bytes=2_000_000, max_pixels=20_000_000), analyzer=analyzer)
    with TestClient(app) as c:
        yield c


def test_health_and_docs(client):
    health = client.get("/api/health").json()
    assert health["models"] == ["vgg16", "resnet50"] and health["default_model"] == "vgg16"
    assert client.get("/docs").status_code == 200
    assert "/api/analyze" in client.get("/openapi.json").json()["paths"]


def test_multipart_upload_finds_both_faces(client, face_photo):
    r = client.post("/api/analyze?model=both", files={"file": ("p.jpg", face_photo.read_bytes(), "image/jpeg")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["faces"]) == 2 and body["message"] == "2 face(s) found"
    assert set(body["faces"][0]["predictions"]) == {"vgg16", "resnet50"}


def test_raw_bytes_and_model_choice(client, face_photo):
    r = client.post("/api/analyze?model=vgg16", content=face_photo.read_bytes(), headers={"content-type": "image/jpeg"})
    assert r.status_code == 200 and set(r.json()["faces"][0]["predictions"]) == {"vgg16"}
    assert client.post("/api/analyze?model=alexnet", content=b"x").status_code == 422
    r = client.post("/api/analyze", content=face_photo.read_bytes(), headers={"content-type": "image/jpeg"})
    assert r.status_code == 200 and [set(f["predictions"]) for f in r.json()["faces"]] == [{"vgg16"}] * 2


def test_bad_requests_get_clear_errors_and_the_server_keeps_serving(client, face_photo):
    r = client.post("/api/analyze", content=b"this is text")
    assert r.status_code == 400 and "not an image in a format" in r.json()["error"]
    r = client.post("/api/analyze", content=b"\0" * 2_000_001)
    assert r.status_code == 413 and "limit" in r.json()["error"]
    bomb = io.BytesIO()
    Image.new("L", (6000, 6000)).save(bomb, "PNG")
    r = client.post("/api/analyze", content=bomb.getvalue())
    assert r.status_code == 400 and "pixels" in r.json()["error"]
    r = client.post("/api/analyze", files={"other": ("a", b"b")})
    assert r.status_code == 400 and "'file'" in r.json()["error"]
    blank = io.BytesIO()
    Image.fromarray(np.full((200, 300, 3), 128, np.uint8)).save(blank, "PNG")
    r = client.post("/api/analyze", content=blank.getvalue())
    assert r.status_code == 200 and r.json()["faces"] == [] and r.json()["message"] == "no face found"
    assert client.post("/api/analyze", content=face_photo.read_bytes()).status_code == 200


def test_page_has_upload_webcam_and_model_choice(client):
    html = client.get("/").text
    assert 'type="file"' in html and "getUserMedia" in html and 'value="resnet50"' in html


def test_a_crop_too_small_to_be_a_face_is_a_400_with_a_message(client):
    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, format="PNG")
    r = client.post("/api/analyze?crops=true", content=buf.getvalue(), headers={"content-type": "image/png"})
    assert r.status_code == 400 and "too small to be a face crop" in r.json()["error"]


def test_docs_are_served_offline_and_the_schema_is_complete(client):
    html = client.get("/docs").text
    assert "cdn" not in html.lower() and "/static-offline-docs/swagger-ui-bundle.js" in html
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    op = client.get("/openapi.json").json()["paths"]["/api/analyze"]["post"]
    assert {"multipart/form-data", "image/jpeg"} <= set(op["requestBody"]["content"])
    assert {"200", "400", "413", "422", "503"} <= set(op["responses"])
    assert {p["name"] for p in op["parameters"]} == {"model", "crops", "preview"}


def test_every_error_has_one_shape(client):
    r = client.post("/api/analyze?crops=maybe", content=b"x")
    assert r.status_code == 422 and set(r.json()) == {"error"} and "crops" in r.json()["error"]
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and set(r.json()) == {"error"}


def test_answers_match_the_documented_schema_and_preview(client, face_photo):
    from agegender.server.schema import Analysis, Health

    Health.model_validate(client.get("/api/health").json())
    buf = io.BytesIO()
    Image.open(face_photo).save(buf, "TIFF")
    r = client.post("/api/analyze?preview=true", files={"file": ("p.tiff", buf.getvalue(), "image/tiff")})
    body = Analysis.model_validate(r.json())
    assert len(body.faces) == 2 and body.preview.startswith("data:image/jpeg;base64,")
    import base64

    from agegender.data.images import decode_image

    shown = decode_image(base64.b64decode(body.preview.split(",", 1)[1]))
    assert shown.shape[:2] == (body.height, body.width)  # small photo: the preview keeps its size


def test_a_busy_server_answers_503_with_retry_after_and_serves_again(random_weights, face_photo):
    """One analysis at a time and no queue: a second request while the first runs is refused at
    once (not queued in memory), and served once the first is done."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    analyzer = FaceAnalyzer(models=(), weights=random_weights)
    started, proceed = threading.Event(), threading.Event()
    analyze = analyzer.analyze

    def slow_analyze(*args, **kwargs):
        started.set()
        proceed.wait(30)
        return analyze(*args, **kwargs)

    analyzer.analyze = slow_analyze
    app = create_app(ServerConfig(max_active=1, max_waiting=0), analyzer=analyzer)
    data = face_photo.read_bytes()
    with TestClient(app) as c, ThreadPoolExecutor(1) as pool:
        first = pool.submit(c.post, "/api/analyze", content=data)
        assert started.wait(30)
        refused = c.post("/api/analyze", content=data)
        health = c.get("/api/health").json()
        proceed.set()
        assert first.result().status_code == 200
        assert c.post("/api/analyze", content=data).status_code == 200
    assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
    assert "busy" in refused.json()["error"]
    assert health["busy"]["active"] == 1 and health["busy"]["max_active"] == 1


def test_allowed_hosts_answer_their_names_only_in_the_api_error_shape(random_weights):
    analyzer = FaceAnalyzer(models=(), weights=random_weights)
    app = create_app(ServerConfig(allowed_hosts=("faces.example.org", "*.lab.test")), analyzer=analyzer)
    for base, status in (("http://faces.example.org", 200), ("http://a.lab.test:8000", 200), ("http://evil.test", 400)):
        with TestClient(app, base_url=base) as c:
            r = c.get("/api/health")
            assert r.status_code == status
            if status == 400:
                assert r.json() == {"error": "this server does not answer to the host name 'evil.test'"}


def test_serve_says_a_busy_port_in_one_line_and_warns_when_it_listens_beyond_this_machine(capsys, monkeypatch):
    import socket

    import uvicorn

    from agegender.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    assert f"port {port} on 127.0.0.1 is in use" in capsys.readouterr().err
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    monkeypatch.setattr("agegender.server.app.create_app", lambda *a, **k: None)
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 0
    assert "no authentication" in capsys.readouterr().err


def test_the_documented_schema_is_what_the_answers_hold():
    """The API's documented shapes (server/schema.py) and the objects' to_dict() stay alike."""
    from agegender.results import Face, Prediction
    from agegender.server import schema

    p = Prediction(age=30.0, age_std=3.0, gender="female", p_female=0.9)
    assert set(p.to_dict()) == set(schema.Prediction.model_fields)
    assert set(Face(box=(1.0, 2.0, 3.0, 4.0), predictions={"vgg16": p}).to_dict()) == set(schema.Face.model_fields)
