"""The real Gradio app, launched as a user would, driven by gradio_client."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from gradio_client import Client, handle_file

from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, REPO_DIR
from warmchat.render.video import media_durations


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("app") / "app.log"
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "app.py"], cwd=REPO_DIR, env=env, stdout=fh, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"app exited early:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("app did not start within 120 s")
    yield url
    proc.terminate()  # stop what we started, by its PID
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _send(client: Client, message: str, continue_from: str | None = None):
    """One turn through the API; returns (turn clip, whole clip, chat, tree plot, notices)."""
    args = dict(
        message=message, agent_img=handle_file(str(DEFAULT_AGENT_PORTRAIT)), user_img=handle_file(str(DEFAULT_USER_PORTRAIT)),
        emotion="auto", intensity=0.7, audio=None,
    )  # fmt: skip
    if continue_from:
        args["continue_from"] = continue_from
    out = client.predict(**args, api_name="/send")
    return out[0], out[1], out[2], out[3], out[4]


def _tree_texts(plot: dict) -> list[str]:
    fig = json.loads(plot["plot"])
    return [t for trace in fig["data"] for t in (trace.get("text") or []) if ":" in t]


def test_turns_return_video_and_a_growing_tree_and_bad_input_loses_nothing(app_url):
    client = Client(app_url, verbose=False)
    turn, _, chat, plot, _ = _send(client, "I just got the job I wanted!")
    d = media_durations(turn)
    assert d["video"] > 2 and abs(d["video"] - d["audio"]) < 0.1
    assert len(chat) == 2 and chat[0]["role"] == "user"
    assert len(_tree_texts(plot)) == 2

    with pytest.raises(Exception, match="empty"):
        _send(client, "   ")

    turn2, whole2, chat2, plot2, _ = _send(client, "Thank you! I start on Monday.")
    assert len(chat2) == 4  # the turn before the bad input is still there
    assert len(_tree_texts(plot2)) == 4
    assert media_durations(whole2)["video"] > media_durations(turn2)["video"] + 2


def test_each_visitor_has_their_own_conversation(app_url):
    a, b = Client(app_url, verbose=False), Client(app_url, verbose=False)
    _send(a, "Hello from the first visitor.")
    out_b = _send(b, "Hello from the second visitor.")
    assert len(out_b[2]) == 2  # b sees only its own turn
    assert all("first visitor" not in str(m) for m in out_b[2])
