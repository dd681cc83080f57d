"""The web page in a real browser: headless Chromium uploads a photo to `agegender serve` and sees face cards."""

import os

import pytest

from agegender.server.process import serve_in_background
from tests.support import CHROMIUM, launch_chromium

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(random_weights, tmp_path_factory):
    args = [a for name, path in random_weights.items() for a in ("--weights", f"{name}={path}")]
    try:
        with serve_in_background(args, log=tmp_path_factory.mktemp("server") / "server.log") as running:
            yield running.url
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (make test installs Debian's chromium where apt-get works)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


def test_upload_shows_a_card_per_face(server, browser, face_photo, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(server)
    page.set_input_files("#file", str(face_photo))
    page.wait_for_selector(".face-card >> nth=1", timeout=60_000)
    cards = page.locator(".face-card")
    assert cards.count() == 2
    assert "2 face(s) found" in page.locator("#status").inner_text()
    # One answer per face by default (the server's default model), both side by side when asked for.
    assert cards.nth(0).locator("tr").count() == 1 and "VGG16" in cards.nth(0).inner_text()
    page.check("input[value=both]")
    page.wait_for_function("document.querySelectorAll('.face-card tr').length == 4", timeout=60_000)
    assert "VGG16" in cards.nth(0).inner_text() and "ResNet50" in cards.nth(0).inner_text()
    page.check("input[value=resnet50]")
    page.wait_for_function("document.querySelectorAll('.face-card tr').length == 2", timeout=60_000)
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    assert (tmp_path / "page.png").stat().st_size > 20_000


def test_formats_choices_and_errors_in_the_page(server, browser, face_photo, tmp_path):
    """A TIFF (which browsers cannot draw) is shown from the server's preview; quick model switches
    end on the last choice's answer; an error replaces the previous results."""
    from PIL import Image

    tiff = tmp_path / "photo.tiff"
    Image.open(face_photo).save(tiff)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(server)
    page.set_input_files("#file", str(tiff))
    page.wait_for_selector(".face-card >> nth=1", timeout=60_000)
    assert page.locator("#view").is_visible() and "2 face(s) found" in page.locator("#status").inner_text()
    drawn = page.evaluate("""() => { const c = document.getElementById('view');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = 0; for (let i = 0; i < d.length; i += 4000) s += d[i]; return [c.width, s]; }""")
    assert drawn[0] > 100 and drawn[1] > 0  # the photo itself is on the canvas, not a blank

    for choice in ("vgg16", "both", "resnet50", "vgg16", "resnet50"):  # faster than the answers come back
        page.check(f"input[value={choice}]")
    page.wait_for_function("document.querySelector('#status').textContent.includes('face(s) found')", timeout=60_000)
    page.wait_for_timeout(1500)  # any late answer to an earlier choice would land now
    rows = page.locator(".face-card").first.locator("tr")
    assert rows.count() == 1 and "ResNet50" in rows.first.inner_text()

    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    page.set_input_files("#file", str(bad))
    page.wait_for_selector("#status.error", timeout=60_000)
    assert page.locator(".face-card").count() == 0 and not page.locator("#view").is_visible()
    message = page.locator("#status").inner_text()
    assert "not an image" in message and "Error" not in message.split(" ")[0]


def test_docs_work_offline(server, browser):
    """Swagger UI's files come from the server itself: the page renders the API with no internet."""
    page = browser.new_page()
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server) else None)
    page.goto(server + "/docs")
    page.wait_for_selector('[data-path="/api/analyze"]', timeout=60_000)
    assert page.locator(".opblock").count() >= 2 and outside == []
