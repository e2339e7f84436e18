"""Where a visitor feels it: Send to the live video playing, in a real browser.

``python app.py`` is started, Debian's Chromium (headless, through Playwright) opens the
page and sends messages one after another in one session; for each, the page's own clock
times the reply's bubble and the live video's first ``playing`` after Send. The median is
over the sends after the first (the first also builds the page's video player, and on a
2-core machine the browser and the app share the cores). ``tests/test_browser.py`` uses the
same watcher.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import numpy as np

from warmchat.bench.stream import MESSAGES

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip

# Times from Send, in the page's own clock: the reply's bubble, the live video's
# first "playing", and whether the complete clip was there already at that moment.
WATCH = """() => {
  const w = {t0: performance.now(), reply: null, play: null, complete: null};
  window.__w = w;
  const replies = document.querySelectorAll('[data-testid=bot]').length;
  const tick = () => {
    const now = Math.round(performance.now() - w.t0);
    if (w.reply === null && document.querySelectorAll('[data-testid=bot]').length > replies) w.reply = now;
    const v = document.querySelector('#live-video video');
    if (w.play === null && v && !v.paused && v.currentTime > 0 && v.readyState >= 3) {
      w.play = now;
      w.complete = document.querySelector('#turn-video video') ? now : null;
    }
    if (w.play === null) requestAnimationFrame(tick);
  };
  tick();
}"""


def unavailable() -> str | None:
    """Why the browser measure cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return "no Chromium (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "no Playwright (pip install -r requirements-eval.txt)"
    return None


def send_and_watch(page, message: str, timeout_ms: int = 120_000) -> dict:
    """Type ``message``, press Send, wait until the live video plays; the page's timings (ms)."""
    page.get_by_placeholder("Say something to the agent").fill(message)
    page.evaluate(WATCH)
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_function("() => window.__w.play !== null", timeout=timeout_ms)
    return page.evaluate("() => window.__w")


def run(sends: int = 6) -> dict:
    """Start the app, send ``sends`` messages from Chromium in one session; the figures."""
    from playwright.sync_api import sync_playwright

    from warmchat.bench.load import App

    rows = []
    app = App()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1500})
            page.goto(app.url, wait_until="load")
            page.get_by_text("Warm Chat").first.wait_for()
            for k in range(sends):
                w = send_and_watch(page, MESSAGES[k % len(MESSAGES)])
                rows.append(
                    {
                        "reply_ms": w["reply"],
                        "playing_ms": w["play"],
                        "load_avg_1min": round(os.getloadavg()[0], 2),
                    }
                )
                # The whole turn plays before the next message, as a visitor would wait.
                page.wait_for_function(
                    "() => document.querySelector('#live-video video').ended", timeout=120_000
                )
                page.wait_for_timeout(1000)
            browser.close()
    finally:
        app.stop()
    later = [r["playing_ms"] / 1000 for r in rows[1:] if r["playing_ms"] is not None]
    return {
        "video_playing_s_median": round(float(np.median(later)), 3) if later else None,
        "video_playing_s_first_send": rows[0]["playing_ms"] / 1000 if rows else None,
        "reply_s_median": round(float(np.median([r["reply_ms"] / 1000 for r in rows[1:]])), 3)
        if len(rows) > 1
        else None,
        "sends": rows,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sends", type=int, default=6, help="messages to send in one session (default 6)")
    args = ap.parse_args(argv)
    why = unavailable()
    if why:
        print(f"cannot measure in a browser here: {why}")
        return 1
    print(json.dumps(run(args.sends), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
