"""A real `agegender serve` against stalled and oversized uploads: stalled connections are closed and
their budget freed while others are served; an oversized body gets a 413 that any client can read."""

from __future__ import annotations

import http.client
import json
import socket
import time

import pytest

from agegender.server.process import serve_in_background

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve_in_background(["--model", "resnet50"], log=tmp_path_factory.mktemp("stalls") / "server.log") as s:
        yield s


def connect(server, source: str = "127.0.0.1") -> socket.socket:
    port = int(server.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=90, source_address=(source, 0))
    return sock


def test_stalled_uploads_are_closed_and_a_normal_upload_is_served_meanwhile(server, face_photo):
    stalled = []
    for _ in range(20):  # an attacker at another address: headers, part of a big body, then nothing
        sock = connect(server, "127.0.0.2")
        sock.sendall(
            b"POST /api/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
            b"Content-Length: 5000000\r\n\r\n" + b"\xff" * 100_000
        )
        stalled.append(sock)
    for _ in range(5):  # and some that never finish their headers
        sock = connect(server, "127.0.0.2")
        sock.sendall(b"POST /api/analyze HTTP/1.1\r\nHost: x\r\nContent-Le")
        stalled.append(sock)
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=60)
    conn.request(
        "POST", "/api/analyze?model=resnet50", body=face_photo.read_bytes(), headers={"Content-Type": "image/jpeg"}
    )
    response = conn.getresponse()
    assert response.status == 200 and len(json.loads(response.read())["faces"]) == 2
    assert time.monotonic() - start < 15
    answers = []
    for sock in stalled:  # each is answered (408, or 429 past the per-address limit) and closed, or just closed
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        answers.append(data.split(b" ", 2)[1] if data.startswith(b"HTTP/1.1") else b"closed")
        sock.close()
    assert time.monotonic() - start < 60
    assert answers.count(b"429") == 12 and answers.count(b"408") == 8 and answers.count(b"closed") == 5, answers
    health = json.loads(http_get(server, "/api/health"))
    assert health["status"] == "ok"


def http_get(server, path: str) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=30)
    conn.request("GET", path)
    return conn.getresponse().read()


def test_an_oversized_body_gets_a_readable_413_and_bad_http_a_json_400(server):
    # http.client sends the whole body before it reads the answer, as most clients do
    conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=60)
    conn.request("POST", "/api/analyze", body=b"\0" * 25_000_000, headers={"Content-Type": "image/jpeg"})
    response = conn.getresponse()
    assert response.status == 413 and "limit" in json.loads(response.read())["error"]
    sock = connect(server)
    sock.sendall(b"NONSENSE / HTTP/9\r\n\r\n")
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    assert (
        data.startswith(b"HTTP/1.1 400")
        and data.split(b"\r\n\r\n", 1)[1] == b'{"error": "the request is not valid HTTP"}'
    )
