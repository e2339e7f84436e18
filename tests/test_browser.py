"""The page in a real browser (Debian's Chromium, headless, driven by Playwright)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from warmchat.bench.browser import CHROMIUM, CHROMIUM_ARGS, send_and_watch
from warmchat.paths import REPO_DIR

pytestmark = pytest.mark.slow  # Chromium against the real app


def test_a_visitor_uploads_a_portrait_sends_a_message_and_watches(app_without_ffmpeg, tmp_path):
    from playwright.sync_api import sync_playwright

    # The app sees no system ffmpeg or ffprobe: the page must play the live video all the same.
    app = app_without_ffmpeg

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install chromium (see the README)")
    docs = REPO_DIR / "docs" if os.environ.get("WARMCHAT_SCREENSHOT") else tmp_path
    shot, phone_shot = docs / "app_screenshot.png", docs / "app_phone.png"
    from PIL import Image
    from skimage import data

    portrait = tmp_path / "grace.png"  # a portrait of the visitor's own: the astronaut, mirrored
    Image.fromarray(data.astronaut()[:, ::-1]).save(portrait)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1500})
        page.goto(app.url, wait_until="load")
        page.get_by_text("Warm Chat").first.wait_for()
        # A call's layout on a laptop: the live view in the first screen, big, the chat beside it.
        video, chat = page.locator("#live-video").bounding_box(), page.locator("#chat").bounding_box()
        assert video["width"] >= 0.45 * 1280 and video["height"] >= 380 and video["y"] < 400, video
        assert chat["x"] >= video["x"] + video["width"] - 5 and abs(chat["y"] - video["y"]) < 40, (
            video,
            chat,
        )
        # Replace the user's portrait with the visitor's own.
        page.locator("#user-portrait input[type=file]").set_input_files(str(portrait))
        page.wait_for_timeout(1000)
        # The reply shows, then the turn's video plays while it is still rendering:
        # the complete clip comes later.
        w = send_and_watch(page, "I just got the job I wanted!")
        page.wait_for_function(
            "() => { const v = document.querySelector('#live-video video'); return v && v.currentTime > 0.3; }",
            timeout=60_000,
        )
        page.locator("#turn-video video").wait_for(state="visible", timeout=120_000)
        done = page.evaluate("() => performance.now() - window.__w.t0")
        print(f"\nin Chromium: reply {w['reply']} ms, video playing {w['play']} ms, complete clip {done:.0f} ms "
              f"after Send; load average {os.getloadavg()[0]:.2f}")  # fmt: skip
        assert w["reply"] is not None and w["reply"] < w["play"]
        assert w["complete"] is None  # it played before the complete clip existed
        page.get_by_text("Dialogue tree: 2 utterances").wait_for(timeout=30_000)
        assert page.get_by_text("I just got the job I wanted!").count() >= 1
        page.wait_for_function(
            "() => document.querySelector('#live-video video').ended", timeout=60_000
        )  # the whole turn has played, to its last frame
        page.screenshot(path=str(shot), full_page=True)
        # On a phone the live view takes the width, and the chat follows under it.
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(500)
        video, chat = page.locator("#live-video").bounding_box(), page.locator("#chat").bounding_box()
        assert video["width"] >= 0.8 * 390 and chat["y"] >= video["y"] + video["height"] - 5, (video, chat)
        assert video["height"] <= 0.5 * video["width"] + 40, video  # as tall as the 2:1 video, no bands
        page.screenshot(path=str(phone_shot), full_page=False)
        browser.close()
    assert shot.stat().st_size > 50_000 and phone_shot.stat().st_size > 20_000
