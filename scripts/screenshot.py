"""Screenshot of the web page for the README: `agegender serve` with the shipped weights, the example photo uploaded.

    python scripts/screenshot.py docs/web-app.png   (needs Chromium and playwright: make setup does both)
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]


def main(out: str = "docs/web-app.png", photo: str = "src/agegender/assets/astronaut.jpg") -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "agegender", "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(url + "/api/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1100, "height": 720})
            page.goto(url)
            page.set_input_files("#file", str(ROOT / photo))
            page.wait_for_selector(".face-card", timeout=60_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(ROOT / out), full_page=True)
            browser.close()
        print(f"wrote {out}")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main(*sys.argv[1:])
