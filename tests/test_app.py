"""The real Gradio app, launched as a user would, driven by gradio_client."""

from __future__ import annotations

import json
import os

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError, ValidationError

from warmchat.bench.load import App, free_port
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT
from warmchat.render.video import SegmentConfig, media_durations

# What the app's refusals reach a client as (anything else, a crash included, fails the test).
REFUSED = (AppError, ValidationError)
pytestmark = pytest.mark.slow  # the real app, launched as a subprocess


@pytest.fixture(scope="module")
def app_url(app):
    return app.url  # the session's app (conftest): python app.py on a free loopback port


def _send(client: Client, message: str, continue_from: str | None = None, **voices):
    """One turn through the API; returns (turn clip, whole clip, chat, tree plot, notices)."""
    args = dict(
        message=message, agent_img=handle_file(str(DEFAULT_AGENT_PORTRAIT)), user_img=handle_file(str(DEFAULT_USER_PORTRAIT)),
        emotion="auto", intensity=0.7, audio=None, **voices,
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

    with pytest.raises(REFUSED, match="empty"):
        _send(client, "   ")

    # The next turn with the neural voices (the Settings tab's dropdowns).
    turn2, whole2, chat2, plot2, _ = _send(
        client, "Thank you! I start on Monday.", agent_voice="heart", user_voice="joe"
    )
    d2 = media_durations(turn2)
    assert d2["video"] > 2 and abs(d2["video"] - d2["audio"]) < 0.1
    assert len(chat2) == 4  # the turn before the bad input is still there
    assert len(_tree_texts(plot2)) == 4
    assert media_durations(whole2)["video"] > media_durations(turn2)["video"] + 2


def test_the_page_says_what_runs_each_stage(app_url):
    status = Client(app_url, verbose=False).predict(api_name="/status")
    for stage in (
        "text emotion",
        "dialogue",
        "speech",
        "ears",
        "lips",
        "listener",
        "head motion",
        "face tracker",
    ):
        assert f"**{stage}**" in status
    assert "offline engine" in status and "learned audio2expr" in status and "CRHMG" in status
    assert "Whisper tiny.en" in status


def test_the_turn_streams_to_the_client_reply_first_then_playable_video(app_url, tmp_path):
    """The first update with video comes before the turn ends, and its segment plays (bench.stream)."""
    from warmchat.bench.stream import measure_turn

    client = Client(app_url, verbose=False, download_files=False)
    r = measure_turn(client, "I just got the job I wanted!", tmp_path)
    print(f"\nstreamed turn through gradio_client: {r}, load average {os.getloadavg()[0]:.2f}")
    assert r["reply_s"] is not None and r["first_segment_s"] is not None
    assert r["reply_s"] < r["first_segment_s"] < 0.6 * r["done_s"]
    # The first segment (8 frames: it starts the player soon) with sound; how much of the sound rides in
    # it rather than the next is up to how soon Gradio's AAC encoder answers (a busy CPU: less), but
    # none goes missing.
    assert r["first_segment_frames"] == SegmentConfig().first_frames and r["first_segment_audio_s"] > 0
    assert abs(r["stream_audio_s"] - r["stream_video_s"]) < 0.25
    assert r["chat_messages"] == 2 and r["turn_clip"] == "turn_001.mp4"


def test_each_visitor_has_their_own_conversation(app_url):
    a, b = Client(app_url, verbose=False), Client(app_url, verbose=False)
    _send(a, "Hello from the first visitor.")
    out_b = _send(b, "Hello from the second visitor.")
    assert len(out_b[2]) == 2  # b sees only its own turn
    assert all("first visitor" not in str(m) for m in out_b[2])


def _bad_inputs(tmp_path):
    """Files a visitor might upload by mistake, made here."""
    import numpy as np
    from PIL import Image
    from skimage import data

    from warmchat.speech import save_wav

    Image.fromarray(data.coffee()).save(tmp_path / "coffee.png")
    a = data.astronaut()
    Image.fromarray(np.concatenate([a, a[:, ::-1]], 1)).save(tmp_path / "two.png")
    Image.new("L", (9500, 9500), 128).save(tmp_path / "huge.png")
    (tmp_path / "note.png").write_text("this is not an image")
    save_wav(tmp_path / "silent.wav", np.zeros(22050, np.float32), 22050)
    # Odd but valid pictures: CMYK JPEG, grayscale (the Mona Lisa default is RGBA already).
    Image.fromarray(a).convert("CMYK").save(tmp_path / "cmyk.jpg")
    Image.fromarray(a).convert("L").save(tmp_path / "gray.png")
    # A face far too small to animate: the astronaut at 200 px in a 3000 px picture.
    tiny = Image.new("RGB", (3000, 3000), (200, 200, 200))
    tiny.paste(Image.fromarray(a).resize((200, 200)), (1400, 1400))
    tiny.save(tmp_path / "tiny.png")
    # HEIC that Pillow (without a HEIF plug-in) cannot read: the right header, no picture.
    (tmp_path / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00" + bytes(200))
    # Speech driven into hard clipping (still understood), a hum with no speech in it, and a
    # recording over the 30 s limit.
    from warmchat.speech import EspeakTTS

    voice = EspeakTTS().synthesize("I planted tomatoes in my garden today.", voice="en-us+m3").audio
    save_wav(
        tmp_path / "clipped.wav", np.clip(4 * voice / np.abs(voice).max(), -1, 1).astype(np.float32), 22050
    )
    t = np.arange(3 * 22050) / 22050
    hum = np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0)  # bursts of a hum, like syllables
    save_wav(tmp_path / "hum.wav", (0.5 * hum).astype(np.float32), 22050)
    save_wav(
        tmp_path / "long.wav",
        (0.2 * np.sin(2 * np.pi * 200 * np.arange(40 * 16000) / 16000)).astype(np.float32),
        16000,
    )
    (tmp_path / "broken.wav").write_bytes(np.random.default_rng(0).bytes(5000))
    return tmp_path


def test_bad_inputs_get_clear_messages_and_lose_nothing(app_url, tmp_path):
    files = _bad_inputs(tmp_path)
    client = Client(app_url, verbose=False)
    base = dict(emotion="auto", intensity=0.7, audio=None)  # fmt: skip
    agent, user = handle_file(str(DEFAULT_AGENT_PORTRAIT)), handle_file(str(DEFAULT_USER_PORTRAIT))
    # A good turn first, with several faces in the agent's picture: the largest is used, and the
    # visitor is told.
    out = client.predict(
        message="Who is this?", agent_img=handle_file(str(files / "two.png")), user_img=user, **base,
        api_name="/send",
    )  # fmt: skip
    assert len(out[2]) == 2 and "faces" in out[4]
    cases = [
        (dict(message="Hi", agent_img=handle_file(str(files / "coffee.png")), user_img=user), "No face"),
        (dict(message="Hi", agent_img=agent, user_img=handle_file(str(files / "huge.png"))), "too large"),
        # Gradio's image component refuses it before our code runs; show_error passes its reason on.
        (dict(message="Hi", agent_img=handle_file(str(files / "note.png")), user_img=user), "image"),
        (
            dict(message="", agent_img=agent, user_img=user, audio=handle_file(str(files / "silent.wav"))),
            "silent",
        ),
        (
            dict(message="", agent_img=agent, user_img=user, audio=handle_file(str(files / "hum.wav"))),
            "No speech heard",
        ),
        (
            dict(message="", agent_img=agent, user_img=user, audio=handle_file(str(files / "broken.wav"))),
            "decod|corrupt|read",
        ),
        (dict(message="  ", agent_img=agent, user_img=user), "empty"),
        (dict(message="Hi", agent_img=handle_file(str(files / "tiny.png")), user_img=user), "pixels wide"),
        (dict(message="Hi", agent_img=handle_file(str(files / "photo.heic")), user_img=user), "image"),
        (
            dict(message="", agent_img=agent, user_img=user, audio=handle_file(str(files / "long.wav"))),
            "longer than the limit",
        ),
        (
            dict(message="Hi", agent_img=agent, user_img=user, emotion="bored"),
            "Unknown emotion|not in the list|bored",
        ),
    ]
    for kw, match in cases:
        with pytest.raises(REFUSED, match=match):
            client.predict(**{**base, **kw}, api_name="/send")
    # Very long and non-English text: cut with a notice, or simply spoken.
    out = client.predict(
        message="This is a long story. " * 60, agent_img=agent, user_img=user, **base, api_name="/send"
    )
    assert "only the first" in out[4]
    out = client.predict(
        message="¿Dónde está la biblioteca? Me gusta mucho leer.",
        agent_img=agent,
        user_img=user,
        **base,
        api_name="/send",
    )
    assert out[0] and len(out[2]) == 6 and "biblioteca" in str(out[2][-2])  # spoken and answered
    # A CMYK JPEG and a grayscale picture are faces like any other; clipped speech still speaks and
    # is understood.
    out = client.predict(
        message="",
        agent_img=handle_file(str(files / "cmyk.jpg")),
        user_img=handle_file(str(files / "gray.png")),
        **{**base, "audio": handle_file(str(files / "clipped.wav"))},
        api_name="/send",
    )
    assert out[0] and "tomatoes" in str(out[2][-2]).lower()  # the turn's clip; the words were heard
    # Every good turn is still on the path, none of the bad ones.
    assert len(out[2]) == 8


def test_two_avatars_talk_and_a_script_replays_in_the_app(app_url):
    client = Client(app_url, verbose=False)
    agent, user = handle_file(str(DEFAULT_AGENT_PORTRAIT)), handle_file(str(DEFAULT_USER_PORTRAIT))
    # Three turns: test_dialogue checks longer agent <-> agent talk for repeats without rendering it.
    out = client.predict(agent_img=agent, user_img=user, opening="", turns=3, api_name="/agents")
    assert len(out[2]) == 6 and len({m["content"][0]["text"] for m in out[2]}) == 6
    script = "B (happy): I got the tickets!\nA (surprised): No way!\nB: I queued for hours.\nA (happy): You are a hero."
    out = client.predict(agent_img=agent, user_img=user, script=script, api_name="/replay")
    assert len(out[2]) == 10 and "You are a hero." in out[2][-1]["content"][0]["text"]
    assert media_durations(out[1])["video"] > media_durations(out[0])["video"]


def test_branch_regenerate_save_and_load_through_the_api(app_url, tmp_path):
    client = Client(app_url, verbose=False)
    first = _send(client, "I want to learn to paint.")
    second = _send(client, "Which colours should I buy first?")
    out = client.predict(emotion="auto", intensity=0.7, api_name="/regenerate")
    assert len(out[2]) == 4 and out[2][-1] != second[2][-1]  # a new reply on the same path
    assert len(_tree_texts(out[3])) == 5
    # Edit the first message (node n1): a sibling branch; the chat shows the new branch only.
    assert "n1" in [v for _, v in out[5]["choices"]]
    out = _send(client, "Actually, I want to learn the cello.", continue_from="n1")
    assert len(out[2]) == 2 and len(_tree_texts(out[3])) == 7
    # Save, clear, load: the tree comes back.
    saved = client.predict(api_name="/export")
    client.predict(api_name="/clear")
    with pytest.raises(REFUSED, match="no conversation"):  # cleared: nothing to show
        client.predict(node_id="latest", api_name="/switch")
    out = client.predict(zip_file=handle_file(saved), api_name="/load")
    assert len(_tree_texts(out[3])) == 7
    # The loaded chat is the branch that was shown when it was saved.
    assert len(out[2]) == 2 and "cello" in str(out[2][0])
    assert "paint" in str(first[2][0])  # the first branch is still in the tree
    assert any("paint" in t for t in _tree_texts(out[3]))


def test_a_failing_llm_falls_back_with_a_notice():
    """The app with an LLM configured at a server that refuses connections."""
    dead = free_port()
    app = App({"OPENAI_API_KEY": "sk-test-secret", "OPENAI_BASE_URL": f"http://127.0.0.1:{dead}/v1"})
    try:
        client = Client(app.url, verbose=False)
        turn, _, chat, _, notes = _send(client, "Tell me something nice.")
        assert len(chat) == 2 and media_durations(turn)["video"] > 1
        assert "offline engine" in notes and "sk-test-secret" not in notes
    finally:
        app.stop()


def test_a_bench_client_leaves_no_folder_behind(app_url):
    # gradio_client fetches each file through a new folder <tempdir>/<40 hex digits> that it never
    # removes, and keeps the file itself in /tmp/gradio: the benches' clients leave neither.
    import tempfile
    from pathlib import Path

    from warmchat.bench.load import client_downloads

    tmp = Path(tempfile.gettempdir())
    before = set(tmp.iterdir())
    with client_downloads() as downloads:
        turn = _send(Client(app_url, verbose=False, download_files=downloads), "Hello there!")[0]
        assert Path(turn).is_file() and Path(turn).is_relative_to(downloads)
        assert any(len(p.name) == 40 for p in Path(downloads).iterdir())  # its scratch folder went here
    assert tempfile.gettempdir() == str(tmp)
    assert set(tmp.iterdir()) == before
