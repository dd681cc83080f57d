"""Reading videos: by signature, frame by frame, with one clear line for what cannot be read."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from agegender.errors import VideoError
from agegender.video import source as video_source
from agegender.video.source import VideoReader, is_stream_url, video_signature


def write_video(path, frames: int, size=(320, 240), fourcc="mp4v", fps=25.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        img = np.full((size[1], size[0], 3), (i * 7) % 255, np.uint8)
        cv2.putText(img, str(i), (10, 50), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
        writer.write(img)
    writer.release()
    return path


def test_containers_are_known_by_their_first_bytes():
    assert video_signature(b"\x00\x00\x00\x18ftypmp42" + bytes(8)) == "mp4"
    assert video_signature(b"\x1a\x45\xdf\xa3" + bytes(20)) == "matroska"
    assert video_signature(b"RIFF\x00\x00\x00\x00AVI LIST") == "avi"
    assert video_signature(b"\xff\xd8\xff\xe0" + bytes(20)) is None  # a JPEG
    assert video_signature(b"RIFF\x00\x00\x00\x00WEBPVP8 ") is None  # a WebP image
    assert is_stream_url("rtsp://cam.local/1") and is_stream_url("https://x/live.m3u8") and not is_stream_url("a/b.mp4")


def test_frames_come_one_at_a_time_with_their_times_and_stride(tmp_path):
    path = write_video(tmp_path / "v.mp4", 20)
    reader = VideoReader(path)
    assert (reader.info.width, reader.info.height, reader.info.fps, reader.info.frame_count) == (320, 240, 25.0, 20)
    frames = list(reader)
    assert [f.index for f in frames] == list(range(20)) and frames[5].time_s == pytest.approx(0.2)
    assert frames[0].image.shape == (240, 320, 3) and frames[0].image.dtype == np.uint8
    assert [f.index for f in VideoReader(path, stride=3)] == list(range(0, 20, 3))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty file"),
        (b"just some text, not a video at all" * 10, "not a video"),
        (b"\x00\x00\x00\x18ftypmp42" + bytes(5000), "cannot be opened"),  # a signature and then nothing
    ],
)
def test_what_is_not_a_readable_video_is_one_line(tmp_path, content, message):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoError, match=message) as info:
        VideoReader(path)
    assert "\n" not in str(info.value) and "bad.mp4" in str(info.value)
    with pytest.raises(VideoError, match="file not found"):
        VideoReader(tmp_path / "gone.mp4")


def test_a_truncated_video_gives_the_frames_before_the_cut_and_says_so(tmp_path):
    whole = write_video(tmp_path / "v.avi", 60, fourcc="MJPG")
    cut = tmp_path / "cut.avi"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    reader = VideoReader(cut)
    frames = list(reader)
    assert 10 < len(frames) < 60
    assert any("truncated or damaged" in n for n in reader.info.notes)


def test_an_unknown_codec_and_a_video_without_frames_are_one_line_each_and_ffmpeg_says_nothing(tmp_path, capfd):
    data = write_video(tmp_path / "v.avi", 10, fourcc="MJPG").read_bytes()
    (tmp_path / "codec.avi").write_bytes(data.replace(b"MJPG", b"QQQQ"))  # a codec no decoder knows
    writer = cv2.VideoWriter(str(tmp_path / "zero.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (320, 240))
    writer.release()  # a container with no frame in it
    for name in ("codec.avi", "zero.mp4"):
        with pytest.raises(VideoError, match="cannot be opened|no frame could be decoded"):
            list(VideoReader(tmp_path / name))
    assert capfd.readouterr().err == ""


def test_frames_larger_than_the_limit_are_refused_before_decoding(tmp_path):
    path = write_video(tmp_path / "big.mp4", 2, size=(640, 480))
    with pytest.raises(VideoError, match="more than the limit"):
        VideoReader(path, max_pixels=640 * 479)


class FakeCapture:
    """A camera that sends ``frames[k]`` frames on its k-th opening, then stops (None: cannot be opened)."""

    openings = 0
    plan: list = []

    def __init__(self, *args):
        self.left = FakeCapture.plan[min(FakeCapture.openings, len(FakeCapture.plan) - 1)]
        FakeCapture.openings += 1

    def isOpened(self):
        return self.left is not None

    def get(self, prop):
        return {cv2.CAP_PROP_FRAME_WIDTH: 64, cv2.CAP_PROP_FRAME_HEIGHT: 48, cv2.CAP_PROP_FPS: 30}.get(prop, 0)

    def grab(self):
        if not self.left:
            return False
        self.left -= 1
        return True

    def retrieve(self):
        return True, np.zeros((48, 64, 3), np.uint8)

    def release(self):
        pass


def test_a_stream_that_drops_is_reopened_and_goes_on_and_one_that_stays_down_ends(monkeypatch):
    monkeypatch.setattr(video_source.cv2, "VideoCapture", FakeCapture)
    # 5 frames, a failed reopening, 3 more frames, then it opens but sends nothing
    FakeCapture.openings, FakeCapture.plan = 0, [5, None, 3, 0]
    reader = VideoReader("rtsp://camera.invalid/stream", reconnect_s=1.0)
    t0 = time.monotonic()
    frames = list(reader)
    assert [f.index for f in frames] == list(range(8))
    assert reader.info.notes == ["the stream stopped 1 time(s) and was reopened"]
    assert time.monotonic() - t0 < 3.0  # gave up about reconnect_s after the last frame
    FakeCapture.openings, FakeCapture.plan = 0, [None]
    with pytest.raises(VideoError, match="camera 3: cannot be opened"):
        VideoReader(3)


def test_a_video_served_over_http_is_read_once_by_url(tmp_path):
    """A URL is opened by FFmpeg itself; one that holds a finite video is read once, not reopened at its end."""
    import functools
    import http.server
    import threading

    write_video(tmp_path / "v.mp4", 15)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        reader = VideoReader(f"http://127.0.0.1:{server.server_port}/v.mp4", reconnect_s=5)
        t0 = time.monotonic()
        frames = list(reader)
        assert [f.index for f in frames] == list(range(15)) and frames[5].time_s == pytest.approx(0.2)
        assert not reader.live and time.monotonic() - t0 < 4
        with pytest.raises(VideoError, match="stream cannot be opened"):
            VideoReader(f"http://127.0.0.1:{server.server_port}/missing.mp4", reconnect_s=0)
    finally:
        server.shutdown()
