"""The command line: SPEC section 3 interfaces and exit status 2 for user mistakes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from warmchat.cli import main
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, REPO_DIR

SLOW = pytest.mark.slow  # the command line as a subprocess


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "warmchat", *args], capture_output=True, text=True, cwd=REPO_DIR, timeout=600
    )


@SLOW
def test_chat_three_turns_from_a_recording_writes_clips_conversation_and_tree(tmp_path):
    from warmchat.speech import EspeakTTS, save_wav

    said = EspeakTTS().synthesize("I finally finished my first marathon!", voice="en-us+m3")
    wav = save_wav(tmp_path / "me.wav", said.audio, said.sample_rate)
    out = tmp_path / "chat"
    res = _run("chat", "--agent", str(DEFAULT_AGENT_PORTRAIT), "--user", str(DEFAULT_USER_PORTRAIT),
               "--audio", str(wav), "--turns", "3", "--out-dir", str(out))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert (out / "user_001.wav").is_file()  # the recording is kept: it is what the avatar said
    for i in (1, 2, 3):
        assert (out / f"turn_{i:03d}.mp4").stat().st_size > 10_000
    assert (out / "conversation.mp4").stat().st_size > 30_000
    tree = json.loads((out / "itt.json").read_text())
    nodes = [n for n in tree["nodes"] if n["role"] != "root"]
    assert len(nodes) == 6
    assert [n["role"] for n in nodes] == ["user", "agent"] * 3
    assert all(set(n["emotion"]["dist"]) >= {"happy", "sad", "neutral"} for n in nodes)
    assert len({n["text"] for n in nodes}) == 6  # nobody repeats a line
    assert "marathon" in nodes[0]["text"].lower()  # the recording was heard


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
        ["chat", "--agent", str(DEFAULT_AGENT_PORTRAIT), "--user", str(DEFAULT_USER_PORTRAIT), "--audio", str(tmp_path / "gone.wav"), "--out-dir", str(tmp_path)],
    ]  # fmt: skip
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err, (argv, err)
    assert not (tmp_path / "a.mp4").exists()


@SLOW
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


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert not any(s in err for s in ("Traceback", "Errno", "PosixPath", "OSError", "Error:")), err
    return err


def test_unwritable_outputs_are_refused_before_anything_loads(tmp_path, capsys):
    # The portraits do not exist either: the old code loaded the models and then said so; the
    # output is checked first now, before any model loads.
    nope = str(tmp_path / "no-portrait.png")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    script = tmp_path / "script.txt"
    script.write_text("A: Hello.\nB (happy): Hi there!\n")
    cases = [
        (["say", "--portrait", nope, "--text", "hi", "--out", "/proc/a.mp4"], "--out '/proc/a.mp4': cannot write"),
        (["say", "--portrait", nope, "--text", "hi", "--out", "/proc/no/such/a.mp4"], "cannot create the folder"),
        (["say", "--portrait", nope, "--text", "hi", "--out", str(a_file / "a.mp4")], "is a file, not a folder"),
        (["chat", "--agent", nope, "--user", nope, "--out-dir", str(a_file)], "is a file, not a folder"),
        (["chat", "--agent", nope, "--user", nope, "--out-dir", "/proc"], "cannot write in the folder '/proc'"),
        (["chat", "--agent", nope, "--user", nope, "--out-dir", "/proc/new"], "cannot create the folder"),
        (["replay", "--script", str(script), "--agent", nope, "--user", nope, "--out-dir", "/proc"], "cannot write"),
        (["chat", "--resume", str(tmp_path / "gone"), "--out-dir", str(tmp_path / "o")], "--resume .* is not a folder"),
    ]  # fmt: skip
    for argv, match in cases:
        assert main(argv) == 2, argv
        err = _one_error_line(capsys)
        assert re.search(match, err), (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "notes.txt",
        "script.txt",
    ]  # no probe files, no folders


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in any folder")
def test_a_read_only_out_dir_is_refused(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        argv = ["chat", "--agent", "a.png", "--user", "b.png", "--out-dir", str(ro / "sub")]
        assert main(argv) == 2
        assert "permission denied" in _one_error_line(capsys)
    finally:
        ro.chmod(0o700)


@pytest.mark.parametrize(
    "argv, match",
    [
        (["chat", "--agent", "a.png", "--user", "b.png", "--turns", "21", "--out-dir", "o"], "more than 20 turns"),
        (["chat", "--agent", "a.png", "--user", "b.png", "--turns", "0", "--out-dir", "o"], "at least 1"),
        (["chat", "--agent", "a.png", "--user", "b.png", "--seed", "-1", "--out-dir", "o"], "between 0 and 4294967295"),
        (["say", "--portrait", "x.png", "--text", "hi", "--seed", str(2**32), "--out", "o.mp4"], "between 0 and"),
        (["replay", "--script", "s", "--agent", "a", "--user", "b", "--seed", "1.5", "--out-dir", "o"], "whole number"),
    ],
)  # fmt: skip
def test_turns_and_seed_limits_are_argument_errors(argv, match, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert re.search(match, capsys.readouterr().err.strip().splitlines()[-1])


def test_turns_and_seed_limits_are_inclusive():
    from warmchat.cli import build_parser

    args = build_parser().parse_args(
        ["chat", "--agent", "a", "--user", "b", "--turns", "20", "--seed", str(2**32 - 1), "--out-dir", "o"]
    )
    assert (args.turns, args.seed) == (20, 2**32 - 1)


def test_python_m_warmchat_is_the_cli(monkeypatch, capsys):
    import runpy

    monkeypatch.setattr(sys, "argv", ["warmchat", "say", "--text", "hi"])
    with pytest.raises(SystemExit) as e:
        runpy.run_module("warmchat", run_name="__main__")
    assert e.value.code == 2 and "--portrait" in capsys.readouterr().err  # the CLI's own usage error
