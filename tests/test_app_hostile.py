"""Nothing a visitor does breaks a session, fills the disk or reads the server (the real app, gradio_client)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError, ValidationError

from warmchat.bench.load import App
from warmchat.bench.soak import hostile_zips, run_soak
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT

# What the app's refusals reach a client as (anything else, a crash included, fails the test).
REFUSED = (AppError, ValidationError)
pytestmark = pytest.mark.slow  # the real app, launched as subprocesses, and a soak

SEND = dict(
    agent_img=handle_file(str(DEFAULT_AGENT_PORTRAIT)), user_img=handle_file(str(DEFAULT_USER_PORTRAIT)),
    audio=None, api_name="/send",
)  # fmt: skip


def test_hostile_archives_and_numbers_leave_the_conversation_intact(app, tmp_path):
    client = Client(app.url, verbose=False)
    out = client.predict(message="I planted tomatoes today.", **SEND)
    assert len(out[2]) == 2
    zips = hostile_zips(client.predict(api_name="/export"), tmp_path / "zips")
    before = app.disk_bytes()
    for kind, z in zips.items():
        with pytest.raises(REFUSED) as e:
            client.predict(zip_file=handle_file(str(z)), api_name="/load")
        msg = str(e.value)
        assert "/tmp" not in msg and str(app.tmp) not in msg and "Traceback" not in msg, (kind, msg)
        assert "saved" in msg or "zip" in msg, (kind, msg)
        chat = client.predict(node_id="latest", api_name="/switch")[2]
        assert len(chat) == 2, kind  # the visitor's conversation is exactly as it was
    # Refused loads keep no bytes: neither their upload nor anything they unpacked.
    assert app.disk_bytes() - before < 1 << 20
    # Numbers out of range at the edge: a clear message, and the session is not wedged.
    for bad in (dict(seed=-1), dict(seed=2**40), dict(liveliness=7), dict(intensity=3, emotion="happy")):
        with pytest.raises(REFUSED, match=r"minimum|maximum|must be|between"):
            client.predict(message="Still there?", **SEND, **bad)
    out = client.predict(message="Still there?", **SEND)
    assert len(out[2]) == 4
    out = client.predict(emotion="auto", intensity=0.7, api_name="/regenerate")
    assert len(out[2]) == 4
    client.close()  # the visitor leaves: the soak below counts every session folder


def test_a_soak_of_mixed_actions_wedges_nobody_and_leaves_the_disk_as_it_was(app):
    r = run_soak(app, visitors=4, actions=8, deadline_s=600)
    print(f"\nsoak: {r}")
    assert r["problems"] == [] and r["wedged_sessions"] == 0
    # Every soak visitor's folder is gone (the shared app may still hold earlier tests' visitors').
    assert r["session_dirs_after"] <= r["session_dirs_before"] and r["disk_change_mb"] < 10


def _turn_in_flight(app: App) -> None:
    """Start a turn and return once its folder holds segments (rendering is under way)."""
    job = Client(app.url, verbose=False).submit(message="Tell me about your day, please.", **SEND)
    deadline = time.time() + 60
    while not any(app.tmp.glob("warmchat.sessions-*/warmchat-*/segments/*/*.mp4")):
        assert time.time() < deadline and not job.done()
        time.sleep(0.05)


def test_killed_and_stopped_apps_leave_no_session_folders(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    a = App(tmp=tmp)
    _turn_in_flight(a)
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    assert a.session_dirs()  # a killed app cannot clean up ...
    b = App(tmp=tmp)  # ... so the next one sweeps what it left, at start-up
    try:
        assert not a.session_dirs() and "no longer runs" in b.log.read_text()
        _turn_in_flight(b)
    finally:
        b.stop()  # SIGTERM mid-turn: the app deletes its own folders as it stops
    assert b.proc.returncode is not None and not b.session_dirs()
    assert not list(tmp.glob("warmchat.sessions-*")), os.listdir(tmp)


def test_odd_and_false_pictures_read_as_the_cli_reads_them(app, tmp_path):
    import numpy as np
    from PIL import Image
    from skimage import data

    (tmp_path / "note.png").write_text("this is not an image")
    (tmp_path / "zero.png").write_bytes(b"")
    gray16 = np.asarray(Image.fromarray(data.astronaut()).convert("L")).astype(np.uint16) * 257
    Image.fromarray(gray16).save(tmp_path / "gray16.png")
    hidden = np.dstack([data.astronaut(), np.zeros((512, 512), np.uint8)])  # transparent but for a corner
    hidden[:40, :40, 3] = 255
    Image.fromarray(hidden).save(tmp_path / "hidden.png")
    client = Client(app.url, verbose=False)
    send = {**SEND, "message": "Hello!"}
    for name, match in (
        ("note.png", "not an image"),
        ("zero.png", "not an image"),
        ("hidden.png", "No face"),
    ):
        with pytest.raises(REFUSED, match=match) as e:
            client.predict(**{**send, "agent_img": handle_file(str(tmp_path / name))})
        assert "preprocess" not in str(e.value) and "/tmp" not in str(e.value)
    out = client.predict(**{**send, "user_img": handle_file(str(tmp_path / "gray16.png"))})
    assert len(out[2]) == 2  # a 16-bit grayscale photo is a face like any other
    client.close()
