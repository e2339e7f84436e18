"""Fast tests of the small parts the app leans on: per-process session folders, the tree's
figure, and the bundled ffprobe stand-in (each without starting the app)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from warmchat import storage
from warmchat.emotion import EmotionState
from warmchat.render import probe
from warmchat.render.video import Mp4Writer
from warmchat.speech import save_wav
from warmchat.tree import ITT
from warmchat.tree_view import tree_figure


def test_session_folders_belong_to_their_process_and_the_dead_ones_are_swept(tmp_path, monkeypatch):
    monkeypatch.setattr(storage.tempfile, "gettempdir", lambda: str(tmp_path))
    mine = storage.new_session_dir()
    assert mine.parent == tmp_path / f"{storage.PREFIX}{os.getpid()}" and mine.name.startswith("warmchat-")
    assert oct(mine.parent.stat().st_mode & 0o777) == "0o700"  # other users cannot look in
    # A folder of a process that no longer runs (a finished child's pid), and one of a live process.
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = tmp_path / f"{storage.PREFIX}{child.pid}" / "warmchat-x"
    dead.mkdir(parents=True)
    live = tmp_path / f"{storage.PREFIX}1" / "warmchat-y"  # pid 1 runs
    live.mkdir(parents=True)
    assert storage.session_dirs(tmp_path) == sorted([mine, dead, live])
    assert storage.sweep_stale() == [dead.parent]
    assert not dead.parent.exists() and live.exists() and mine.exists()
    storage.remove_own()
    assert not mine.parent.exists()


def test_the_tree_figure_shows_every_node_with_its_emotion():
    tree = ITT()
    u = tree.add_child(tree.root_id, "user", "You", "I got the job!", EmotionState.of("happy", 0.8))
    a = tree.add_child(u.id, "agent", "Ava", "That is wonderful news.", EmotionState.of("happy", 0.6))
    tree.add_child(u.id, "agent", "Ava", "Congratulations!", EmotionState.of("surprised", 0.5))  # a branch
    fig = tree_figure(tree)
    texts = [t for trace in fig.data for t in (trace.text or []) if t]
    assert any("I got the job" in t for t in texts) and any("Congratulations" in t for t in texts)
    assert any("That is wonderful" in t for t in texts) and a.id in tree
    assert len(tree_figure(ITT()).data) >= 1  # an empty tree still draws (the start)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("probe")
    wav = d / "a.wav"
    save_wav(wav, (0.1 * np.sin(np.arange(22050) / 10)).astype(np.float32), 22050)
    out = d / "c.mp4"
    with Mp4Writer(out, 64, 48, wav) as w:
        for i in range(25):
            w.write(np.full((48, 64, 3), i * 8, np.uint8))
    return out


def test_the_bundled_ffprobe_reads_what_gradio_asks_of_it(clip, capsys):
    info = probe.probe(str(clip))
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 64, 48)
    assert audio["codec_name"] == "aac" and float(info["format"]["duration"]) == pytest.approx(1.0, abs=0.1)
    # The command lines Gradio runs: JSON of the streams, and one value alone.
    assert probe.main(["-v", "error", "-show_streams", "-of", "json", str(clip)]) == 0
    assert {s["codec_type"] for s in json.loads(capsys.readouterr().out)["streams"]} == {"video", "audio"}
    assert probe.main(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(clip)]) == 0
    assert float(capsys.readouterr().out) == pytest.approx(1.0, abs=0.1)
    # A file that is not a video fails as ffprobe does: status 1, a message, nothing on stdout.
    bad = clip.with_name("bad.mp4")
    bad.write_bytes(b"not a video")
    assert probe.main(["-show_format", str(bad)]) == 1
    assert capsys.readouterr().out == ""
