"""Screenshot of the web page for the README: `agegender serve` with the shipped weights, the example photo uploaded.

python scripts/screenshot.py docs/web-app.png   (needs Chromium and playwright: make setup does both)
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from agegender.server.process import serve_in_background

ROOT = Path(__file__).resolve().parents[1]


def main(out: str = "docs/web-app.png", photo: str = "src/agegender/assets/astronaut.jpg") -> None:
    with serve_in_background() as server:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1100, "height": 720})
            page.goto(server.url)
            page.set_input_files("#file", str(ROOT / photo))
            page.wait_for_selector(".face-card", timeout=60_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(ROOT / out), full_page=True)
            browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
