"""The command line: SPEC section 3 interfaces and exit status 2 for user mistakes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from warmchat.cli import main
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, REPO_DIR


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "warmchat", *args], capture_output=True, text=True, cwd=REPO_DIR, timeout=600
    )


def test_chat_three_turns_writes_clips_conversation_and_tree(tmp_path):
    out = tmp_path / "chat"
    res = _run("chat", "--agent", str(DEFAULT_AGENT_PORTRAIT), "--user", str(DEFAULT_USER_PORTRAIT),
               "--message", "I finally finished my first marathon!", "--turns", "3", "--out-dir", str(out))  # fmt: skip
    assert res.returncode == 0, res.stderr
    for i in (1, 2, 3):
        assert (out / f"turn_{i:03d}.mp4").stat().st_size > 10_000
    assert (out / "conversation.mp4").stat().st_size > 30_000
    tree = json.loads((out / "itt.json").read_text())
    nodes = [n for n in tree["nodes"] if n["role"] != "root"]
    assert len(nodes) == 6
    assert [n["role"] for n in nodes] == ["user", "agent"] * 3
    assert all(set(n["emotion"]["dist"]) >= {"happy", "sad", "neutral"} for n in nodes)
    assert len({n["text"] for n in nodes}) == 6  # nobody repeats a line


def test_user_mistakes_exit_2_with_one_line(tmp_path, capsys):
    not_image = tmp_path / "note.png"
    not_image.write_text("hello")
    cases = [
        ["say", "--portrait", str(tmp_path / "missing.png"), "--text", "hi", "--out", str(tmp_path / "a.mp4")],
        ["say", "--portrait", str(not_image), "--text", "hi", "--out", str(tmp_path / "a.mp4")],
        ["say", "--portrait", str(DEFAULT_AGENT_PORTRAIT), "--text", "hi", "--emotion", "bored", "--out", str(tmp_path / "a.mp4")],
        ["say", "--portrait", str(DEFAULT_AGENT_PORTRAIT), "--text", "hi", "--intensity", "3", "--out", str(tmp_path / "a.mp4")],
        ["say", "--portrait", str(DEFAULT_AGENT_PORTRAIT), "--text", "   ", "--out", str(tmp_path / "a.mp4")],
        ["say", "--portrait", str(DEFAULT_AGENT_PORTRAIT), "--audio", str(not_image), "--out", str(tmp_path / "a.mp4")],
        ["chat", "--agent", str(DEFAULT_AGENT_PORTRAIT), "--user", str(DEFAULT_USER_PORTRAIT), "--message", "", "--out-dir", str(tmp_path)],
    ]  # fmt: skip
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err, (argv, err)
    assert not (tmp_path / "a.mp4").exists()


def test_no_traceback_from_the_real_command(tmp_path):
    res = _run(
        "say", "--portrait", str(tmp_path / "nope.png"), "--text", "hi", "--out", str(tmp_path / "o.mp4")
    )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert res.stderr.strip().count("\n") == 0 and "not found" in res.stderr


@pytest.mark.parametrize(
    "argv", [["say", "--portrait", "x.png", "--out", "o.mp4"], ["chat", "--agent", "a.png"]]
)
def test_argument_errors_exit_2(argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
