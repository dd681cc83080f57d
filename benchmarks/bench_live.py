"""The live view's frame rate for one viewer: a real browser, a fake camera, `agegender serve` on this machine.

    python benchmarks/bench_live.py --out benchmarks/results

Chromium's fake camera plays a generated 640x480 clip (UTKFace test faces walking through in
pairs, agegender.evaluation.clips) into the page's live view, which streams it to a local
`agegender serve` (default models, or --model). For ``--seconds`` the frames per second the page
shows and its person cards are read every 200 ms. Writes ``live_cpu.json``: median and minimum
frames per second after the first two seconds, and how often a settled label changed.
Needs the dev extra (Playwright) and Debian's chromium.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from timing import cpu_facts

BENCH_DIR = Path(__file__).resolve().parent
CARDS = """() => [...document.querySelectorAll('.live-card')].map((card) => [card.dataset.track,
    card.textContent.includes('answer settled'), (card.querySelector('.label') || {}).textContent || ''])"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--utkface", default="../shared/data/utkface/images")
    ap.add_argument("--manifest", default=str(BENCH_DIR.parent / "data" / "utkface_manifest.csv"))
    ap.add_argument("--model", default="both")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--out", default=str(BENCH_DIR / "results"))
    args = ap.parse_args()
    from bench_video import pick_people
    from playwright.sync_api import sync_playwright

    from agegender.evaluation.clips import two_at_a_time, write_clip, write_y4m
    from agegender.server.process import serve_in_background

    chromium = shutil.which("chromium") or "/usr/bin/chromium"

    people = pick_people(args.manifest, args.utkface, 8)
    with tempfile.TemporaryDirectory() as tmp:
        clip, camera = Path(tmp) / "clip.mp4", Path(tmp) / "camera.y4m"
        write_clip(clip, two_at_a_time(people, seconds_each=3.0, gap_s=0.5))
        write_y4m(clip, camera)
        samples, labels = [], {}
        with (
            serve_in_background(["--model", args.model], log=Path(tmp) / "server.log") as server,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(
                executable_path=chromium,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--use-fake-ui-for-media-stream",
                    "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-video-capture={camera}",
                ],
            )
            page = browser.new_context(permissions=["camera"]).new_page()
            page.goto(server.url)
            if args.model in ("vgg16", "resnet50", "both"):
                page.check(f"input[value={args.model}]")  # which models answer in the page
            page.click("#live")
            page.wait_for_function("document.querySelector('#fps').textContent.includes('frames/s')", timeout=60_000)
            start = time.monotonic()
            while time.monotonic() - start < args.seconds:
                shown = page.locator("#fps").inner_text()
                if shown.endswith("frames/s"):
                    samples.append((time.monotonic() - start, float(shown.split()[0])))
                for track, settled, label in page.evaluate(CARDS):  # one read: the cards are redrawn each frame
                    if settled:
                        labels.setdefault(track, []).append(label)
                page.wait_for_timeout(200)
            browser.close()
    fps = [f for t, f in samples if t >= 2.0]
    changes = {k: sum(a != b for a, b in zip(v, v[1:])) for k, v in labels.items()}
    result = {
        "machine": cpu_facts(),
        "model": args.model,
        "seconds": args.seconds,
        "camera": "640x480 25 fps fake camera (Chromium)",
        "fps_median": round(statistics.median(fps), 1),
        "fps_min": round(min(fps), 1),
        "fps_max": round(max(fps), 1),
        "samples": len(fps),
        "people_with_settled_labels": len(labels),
        "settled_label_samples": sum(len(v) for v in labels.values()),
        "settled_label_changes": sum(changes.values()),
        "target": "fps >= 10, steady labels",
    }
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "live_cpu.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
