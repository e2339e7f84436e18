"""A turn is atomic: a failure half-way leaves the tree, the faces and the folder as before, and the next turn works."""

from __future__ import annotations

import numpy as np
import pytest

from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT
from warmchat.speech import save_wav


def _snapshot(conv):
    files = sorted(p.relative_to(conv.work_dir).as_posix() for p in conv.work_dir.rglob("*"))
    return len(conv.tree), conv.tree.current, conv.turn, conv.tree.to_json(), files


def test_a_turn_that_fails_half_way_is_rolled_back(tmp_path, pipe):
    conv = pipe.new_conversation(DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, work_dir=tmp_path / "c")
    pipe.run_turn(conv, "Hello there!")
    before = _snapshot(conv)
    state = conv.user.state.expression.copy()
    # A seed numpy refuses fails after the user's node is in the tree and its recording saved.
    conv.seed = -1
    said = pipe.tts.synthesize("I recorded this at home.", voice="en-us+m3")
    speech = save_wav(tmp_path / "me.wav", said.audio, said.sample_rate)
    with pytest.raises(ValueError):
        pipe.run_turn(conv, None, user_audio=speech)
    with pytest.raises(ValueError):
        pipe.regenerate(conv)
    assert _snapshot(conv) == before  # same nodes, same current node, no user_002.wav, no half clip
    assert np.array_equal(conv.user.state.expression, state)
    conv.seed = 0
    r = pipe.run_turn(conv, "Sorry, where were we?")
    assert r.clip.name == "turn_002.mp4" and len(conv.tree) == 4
    assert r.user_node.parent == before[1]
