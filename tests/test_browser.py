"""The page in a real browser (Debian's Chromium, headless, driven by Playwright)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from warmchat.bench.load import App
from warmchat.paths import REPO_DIR

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def app():
    a = App()
    yield a
    a.stop()


def test_a_visitor_uploads_a_portrait_sends_a_message_and_watches(app, tmp_path):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install chromium (see the README)")
    shot = (
        REPO_DIR / "docs" / "app_screenshot.png"
        if os.environ.get("WARMCHAT_SCREENSHOT")
        else tmp_path / "app.png"
    )
    from PIL import Image
    from skimage import data

    portrait = tmp_path / "grace.png"  # a portrait of the visitor's own: the astronaut, mirrored
    Image.fromarray(data.astronaut()[:, ::-1]).save(portrait)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1500})
        page.goto(app.url, wait_until="load")
        page.get_by_text("Warm Chat").first.wait_for()
        # Replace the user's portrait (the second image input) with the visitor's own.
        page.locator("input[type=file]").nth(1).set_input_files(str(portrait))
        page.wait_for_timeout(1000)
        page.get_by_placeholder("Say something to the agent").fill("I just got the job I wanted!")
        page.get_by_role("button", name="Send", exact=True).click()
        # The turn's clip arrives and plays; the tree gains two nodes.
        video = page.locator("video").first
        video.wait_for(state="visible", timeout=120_000)
        page.wait_for_function(
            "() => { const v = document.querySelector('video'); return v && v.currentTime > 0.3; }",
            timeout=60_000,
        )
        page.get_by_text("Dialogue tree: 2 utterances").wait_for(timeout=30_000)
        assert page.get_by_text("I just got the job I wanted!").count() >= 1
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.stat().st_size > 50_000
