"""The web page in a real browser: headless Chromium uploads a photo to `agegender serve` and sees face cards."""

import os
import shutil

import pytest

from agegender.server.process import serve_in_background

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def server(random_weights, tmp_path):
    args = [a for name, path in random_weights.items() for a in ("--weights", f"{name}={path}")]
    try:
        with serve_in_background(args, log=tmp_path / "server.log") as running:
            yield running.url
    except RuntimeError as exc:
        pytest.fail(str(exc))


def test_upload_shows_a_card_per_face(server, face_photo, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (make test installs Debian's chromium where apt-get works)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(server)
        page.set_input_files("#file", str(face_photo))
        page.wait_for_selector(".face-card >> nth=1", timeout=60_000)
        cards = page.locator(".face-card")
        assert cards.count() == 2
        assert "VGG16" in cards.nth(0).inner_text() and "ResNet50" in cards.nth(0).inner_text()
        assert "2 face(s) found" in page.locator("#status").inner_text()
        page.check("input[value=resnet50]")
        page.wait_for_function("document.querySelectorAll('.face-card tr').length == 2", timeout=60_000)
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        browser.close()
    assert (tmp_path / "page.png").stat().st_size > 20_000
