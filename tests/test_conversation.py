"""Branching, saving and resuming conversations, scripts and agent-to-agent talk."""

from __future__ import annotations

import json

import numpy as np
import pytest

from warmchat.cli import main
from warmchat.errors import UserInputError
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT
from warmchat.script import parse_script


def _shape(tree) -> list[tuple]:
    """What must survive a save and load: ids, roles, text, links, emotions."""
    return [
        (n.id, n.role, n.text, n.parent, tuple(n.children), n.emotion.dominant, round(n.emotion.intensity, 4))
        for n in tree.all_nodes(True)
    ]


@pytest.mark.slow  # renders a whole conversation (several turns)
def test_branching_session_keeps_every_node(pipe, tmp_path):
    conv = pipe.new_conversation(DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, work_dir=tmp_path)
    t1 = pipe.run_turn(conv, "I am thinking of learning the piano.")
    t2 = pipe.run_turn(conv, "Do you think I am too old for it?")
    regen = pipe.regenerate(conv)  # a second answer to the same question
    assert regen.agent_node.parent == t2.user_node.id and regen.agent_node.text != t2.agent_node.text
    edit = pipe.edit(conv, t1.user_node.id, "Actually, I want to learn the guitar.")
    assert edit.user_node.parent == t1.user_node.parent  # a sibling of the first message
    assert len(conv.tree) == 7 and len(conv.clips) == 1  # 2 + 2 + 1 + 2; the new branch has one turn
    # Switch back to the piano branch: its clips and its latest reply come back.
    leaf = conv.switch(t2.user_node.id)
    assert leaf.id == regen.agent_node.id
    assert [c.name for c in conv.clips] == [t1.clip.name, regen.clip.name]
    assert len(conv.tree) == 7
    assert pipe.join(conv).stat().st_size > 0
    # The cumulative emotion follows the selected path.
    happy_path = conv.tree.cumulative_emotion(conv.tree.current)
    conv.switch(edit.agent_node.id)
    assert conv.tree.cumulative_emotion(conv.tree.current).dist.tolist() != happy_path.dist.tolist()


@pytest.mark.slow  # renders a whole conversation (several turns)
def test_save_load_continue_gives_the_same_tree(pipe, tmp_path):
    conv = pipe.new_conversation(DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, work_dir=tmp_path / "a")
    pipe.run_turn(conv, "We adopted a kitten yesterday!")
    pipe.regenerate(conv)
    loaded = pipe.load_conversation(tmp_path / "a", work_dir=tmp_path / "b")
    assert _shape(loaded.tree) == _shape(conv.tree)
    assert loaded.tree.current == conv.tree.current and loaded.turn == conv.turn
    assert [c.name for c in loaded.clips] == [c.name for c in conv.clips]
    assert np.allclose(loaded.agent.state.pose, conv.agent.state.pose, atol=1e-4)
    # Continuing both the same way gives the same tree again.
    for c in (conv, loaded):
        pipe.run_turn(c, "She sleeps on my keyboard all day.")
    assert _shape(loaded.tree) == _shape(conv.tree)
    with pytest.raises(UserInputError, match="not a saved conversation"):
        pipe.load_conversation(tmp_path / "nowhere")


def test_scripts_parse_and_refuse_clearly(tmp_path):
    lines = parse_script(
        "A: Hello there!\n# a comment\n\nB (sad 0.9): I lost my keys.\nagent (happy): Let's look together."
    )
    assert [(x.speaker, x.emotion, x.intensity) for x in lines] == [
        ("A", None, None),
        ("B", "sad", 0.9),
        ("A", "happy", 0.7),
    ]
    js = tmp_path / "s.json"
    js.write_text(
        json.dumps([{"speaker": "user", "text": "Hi"}, {"speaker": "A", "text": "Hello", "emotion": "happy"}])
    )
    assert [x.speaker for x in parse_script(js)] == ["B", "A"]
    for bad, match in [
        ("C: who am I?", "line 1"),
        ("A (bored): hm", "Unknown emotion"),
        ("", "empty"),
        ("[1, 2]", "JSON script"),
    ]:
        with pytest.raises(UserInputError, match=match):
            parse_script(bad)
    with pytest.raises(UserInputError, match="not found"):
        parse_script(tmp_path / "missing.txt")


@pytest.mark.slow  # renders a whole scripted conversation and two agents talking (~45 s)
def test_replay_and_agent_to_agent_from_the_cli(tmp_path):
    script = tmp_path / "talk.txt"
    script.write_text(
        "B (happy): I got the concert tickets!\nA (surprised): No way! How?\nB: I queued for hours.\nA (happy): You are a hero.\n"
    )
    out = tmp_path / "replay"
    assert (
        main(
            [
                "replay",
                "--script",
                str(script),
                "--agent",
                str(DEFAULT_AGENT_PORTRAIT),
                "--user",
                str(DEFAULT_USER_PORTRAIT),
                "--out-dir",
                str(out),
            ]
        )
        == 0
    )
    tree = json.loads((out / "itt.json").read_text())
    nodes = [n for n in tree["nodes"] if n["role"] != "root"]
    assert [n["role"] for n in nodes] == ["user", "agent", "user", "agent"]
    assert max(nodes[1]["emotion"]["dist"], key=nodes[1]["emotion"]["dist"].get) == "surprised"
    assert (out / "conversation.mp4").stat().st_size > 0
    # Agent <-> agent: three turns from nothing but two portraits (the app's test checks six turns
    # for repeats; this one checks the command line's path).
    out2 = tmp_path / "a2a"
    assert (
        main(
            [
                "chat",
                "--agent",
                str(DEFAULT_AGENT_PORTRAIT),
                "--user",
                str(DEFAULT_USER_PORTRAIT),
                "--turns",
                "3",
                "--out-dir",
                str(out2),
            ]
        )
        == 0
    )
    nodes = [n for n in json.loads((out2 / "itt.json").read_text())["nodes"] if n["role"] != "root"]
    assert len(nodes) == 6 and len({n["text"] for n in nodes}) == 6
    assert len(list(out2.glob("turn_*.mp4"))) == 3
    # Nobody made this talk sad: each side's face keeps the feeling its writer gave the line (the
    # text classifier read Leo's "Have you always felt that way about rainy days?" as sad 0.6).
    for n in nodes:
        dist = n["emotion"]["dist"]
        top = max(dist, key=dist.get)
        assert top not in ("sad", "fearful", "angry", "disgusted") or n["emotion"]["intensity"] < 0.3, n
    # ... and one more turn after resuming the replayed script.
    out3 = tmp_path / "resumed"
    assert (
        main(["chat", "--resume", str(out), "--message", "Shall we go together?", "--out-dir", str(out3)])
        == 0
    )
    assert len([n for n in json.loads((out3 / "itt.json").read_text())["nodes"] if n["role"] != "root"]) == 6


def test_the_same_portrait_uploaded_again_keeps_its_avatar(pipe, tmp_path):
    # An API client uploads the portraits with every message, each time under a new path: the
    # avatars (and their pose and expression carried between turns) stay; another picture swaps.
    import shutil

    from warmchat import session as S

    sess = S.ChatSession()
    try:
        paths = []
        for k in range(2):
            d = tmp_path / f"upload{k}"
            d.mkdir()
            paths.append(
                (
                    shutil.copy(DEFAULT_AGENT_PORTRAIT, d / "a.png"),
                    shutil.copy(DEFAULT_USER_PORTRAIT, d / "u.png"),
                )
            )
        conv = S.ensure_conversation(pipe, sess, str(paths[0][0]), str(paths[0][1]), S.Settings())
        agent, user = conv.agent, conv.user
        S.ensure_conversation(pipe, sess, str(paths[1][0]), str(paths[1][1]), S.Settings())
        assert conv.agent is agent and conv.user is user
        S.ensure_conversation(
            pipe, sess, str(paths[1][1]), str(paths[1][1]), S.Settings()
        )  # another agent picture
        assert conv.agent is not agent and conv.user is user
    finally:
        sess.close()
