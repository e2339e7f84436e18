"""Shared fixtures: the pipeline and the app, once per session; the default portraits as
``load_portrait`` traces them, from stored fixtures (``tests/make_fixtures.py``: no MediaPipe)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# gradio_client keeps what it downloads (every clip a test's client receives) in $GRADIO_TEMP_DIR,
# /tmp/gradio by default, for good (352 MB after a day's test and bench runs), and fetches each file
# through a new folder <tempdir>/<40 hex digits> it never removes. This run's temp files, those
# included, go to a folder of its own, deleted at its end (set before gradio_client is imported:
# it reads GRADIO_TEMP_DIR then). Subprocesses inherit TMPDIR; the app gets one of its own inside.
_RUN_TMP = tempfile.mkdtemp(prefix="warmchat-test-run-")
tempfile.tempdir = os.environ["TMPDIR"] = _RUN_TMP
os.environ["GRADIO_TEMP_DIR"] = os.path.join(_RUN_TMP, "gradio")
atexit.register(shutil.rmtree, _RUN_TMP, True)


@pytest.fixture(scope="session")
def pipe():
    """One pipeline for the session, built as the app builds it: every model loads once."""
    from warmchat.pipeline import WarmChatPipeline

    return WarmChatPipeline.from_config()


@pytest.fixture(scope="session")
def app():
    """``python app.py`` on a free loopback port, models warm, shared by the slow tests that
    talk to it through its API (each starts its own client session); stopped by its PID."""
    from warmchat.bench.load import App

    a = App()
    yield a
    a.stop()


@pytest.fixture(scope="session")
def app_without_ffmpeg(tmp_path_factory):
    """``python app.py`` that sees no system ffmpeg or ffprobe (an empty PATH), as on a laptop or
    a Space without Debian's ffmpeg; shared by the browser test and the no-ffmpeg test. When it
    stops, its own ffprobe launcher goes with it: nothing of it is left in its temp dir."""
    import shutil

    from warmchat.bench.load import App

    empty = tmp_path_factory.mktemp("empty-bin")
    assert shutil.which("ffprobe", path=str(empty)) is None
    a = App({"PATH": str(empty)})
    assert "ffprobe bundled" in a.log.read_text()
    yield a
    a.stop(keep_tmp=True)
    assert not list(a.tmp.glob("warmchat.sessions-*")) and not list(a.tmp.glob("warmchat.bin*"))
    shutil.rmtree(a.tmp)


@pytest.fixture(scope="session")
def astronaut_face():
    from tests.make_fixtures import stored_face

    return stored_face("astronaut")


@pytest.fixture(scope="session")
def monalisa_face():
    from tests.make_fixtures import stored_face

    return stored_face("monalisa")


@pytest.fixture(scope="session")
def astronaut_renderer(astronaut_face):
    from warmchat.render.warp import WarpRenderer

    return WarpRenderer(astronaut_face)


def expression(**channels: float) -> np.ndarray:
    """(K,) expression vector from channel weights by name."""
    from warmchat.motion.tracks import channel_vector

    return channel_vector(channels)


REST_POSE = np.array([0, 0, 0, 0, 0, 1.0], np.float32)
