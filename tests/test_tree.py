"""Tests for the Interactive Talking Tree and its reverse-level traversal.

The traversal numbers below are worked out by hand from the formula in
``warmchat.tree``'s docstring; they pin the published method.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from warmchat.emotion import EMOTIONS, EmotionState, mix
from warmchat.errors import UserInputError
from warmchat.tree import FORMAT_VERSION, ITT, Node, TraversalConfig


def dist_of(**probs: float) -> np.ndarray:
    """An (8,) vector from emotion names, e.g. dist_of(sad=0.75, surprised=0.25)."""
    v = np.zeros(len(EMOTIONS))
    for name, p in probs.items():
        v[EMOTIONS.index(name)] = p
    return v


def assert_state(state: EmotionState, dist: np.ndarray, intensity: float) -> None:
    np.testing.assert_allclose(state.dist, dist, rtol=0, atol=1e-9)
    assert state.intensity == pytest.approx(intensity, abs=1e-9)


@pytest.fixture
def chain() -> ITT:
    """root - n1 user happy .8 - n2 agent sad .4 - n4 user angry 1.0; n3 agent surprised .6
    is a regenerated sibling of n2 (created before n4, so ids follow creation order)."""
    t = ITT()
    n1 = t.add_child(t.root_id, "user", "User", "Hi!", EmotionState.of("happy", 0.8))
    n2 = t.add_child(n1.id, "agent", "Agent", "Sorry to hear.", EmotionState.of("sad", 0.4))
    n3 = t.add_sibling(n2.id, "agent", "Agent", "Really?", EmotionState.of("surprised", 0.6))
    n4 = t.add_child(n2.id, "user", "User", "Stop it!", EmotionState.of("angry", 1.0))
    assert (n1.id, n2.id, n3.id, n4.id) == ("n1", "n2", "n3", "n4")
    return t


# ----- construction and structure -------------------------------------------------


def test_new_tree_has_only_a_synthetic_root() -> None:
    t = ITT()
    assert len(t) == 0
    assert t.root_id == "n0" == t.current
    root = t.node("n0")
    assert root.role == "root" and root.text == "" and root.parent is None
    assert root.emotion.dominant == "neutral"
    assert t.all_nodes() == [] and t.all_nodes(include_root=True) == [root]


def test_add_child_assigns_ids_in_order_links_and_selects() -> None:
    t = ITT()
    a = t.add_child(t.root_id, "user", "User", "hello", EmotionState.of("happy"))
    assert t.current == a.id == "n1"
    b = t.add_child(a.id, "agent", "Agent", "hi there", EmotionState.of("neutral"))
    assert t.current == b.id == "n2"
    assert a.parent == "n0" and b.parent == "n1"
    assert t.root.children == ["n1"] and a.children == ["n2"]
    assert [n.id for n in t.children("n1")] == ["n2"]
    assert len(t) == 2
    assert "n2" in t and "n9" not in t


def test_add_child_extras_go_to_fields_or_meta() -> None:
    t = ITT()
    n = t.add_child(
        t.root_id,
        "agent",
        "Ada",
        "text",
        EmotionState.of("happy"),
        audio_path="a.wav",
        clip_path="c.mp4",
        created=123.5,
        meta={"x": 1},
        backend="offline",
    )
    assert n.audio_path == "a.wav" and n.clip_path == "c.mp4" and n.created == 123.5
    assert n.meta == {"x": 1, "backend": "offline"}
    assert n.speaker == "Ada"


def test_add_child_validates_role_emotion_and_parent() -> None:
    t = ITT()
    with pytest.raises(ValueError, match="role"):
        t.add_child(t.root_id, "root", "x", "y", EmotionState())
    with pytest.raises(TypeError, match="EmotionState"):
        t.add_child(t.root_id, "user", "x", "y", "happy")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="n7"):
        t.add_child("n7", "user", "x", "y", EmotionState())
    assert len(t) == 0 and t.current == t.root_id  # nothing half-added


def test_unknown_ids_raise_key_error_naming_the_id(chain: ITT) -> None:
    for call in (chain.node, chain.siblings, chain.children, chain.path_to_root, chain.depth):
        with pytest.raises(KeyError, match="nope"):
            call("nope")
    with pytest.raises(KeyError, match="n99"):
        chain.select("n99")


def test_root_has_no_siblings_to_add() -> None:
    t = ITT()
    with pytest.raises(ValueError, match="root"):
        t.add_sibling(t.root_id, "user", "User", "x", EmotionState())


def test_branching_conversation_keeps_every_node() -> None:
    t = ITT()
    u1 = t.add_child(t.root_id, "user", "User", "I lost my keys", EmotionState.of("sad"))
    a1 = t.add_child(u1.id, "agent", "Agent", "Oh no.", EmotionState.of("sad"))
    # Regenerate the agent reply: a sibling of a1, the old reply stays.
    a1b = t.add_sibling(a1.id, "agent", "Agent", "Let's look together!", EmotionState.of("happy"))
    assert a1b.parent == u1.id and u1.children == [a1.id, a1b.id]
    assert t.current == a1b.id
    # Edit the very first user message: a sibling under the synthetic root.
    u1b = t.add_sibling(u1.id, "user", "User", "I found my keys!", EmotionState.of("happy"))
    assert u1b.parent == t.root_id and t.root.children == [u1.id, u1b.id]
    a2 = t.add_child(u1b.id, "agent", "Agent", "Great!", EmotionState.of("happy"))
    assert len(t) == 5
    assert [n.text for n in t.all_nodes()] == [
        "I lost my keys",
        "Oh no.",
        "Let's look together!",
        "I found my keys!",
        "Great!",
    ]
    # Switch back to the first branch: its most recent leaf is the regenerated reply.
    leaf = t.leaf_of(u1.id)
    assert leaf.id == a1b.id
    t.select(leaf.id)
    assert t.current == a1b.id
    assert [n.id for n in t.path_from_root(t.current)] == [t.root_id, u1.id, a1b.id]
    # ... and to the old reply, explicitly.
    t.current = a1.id
    assert t.current == a1.id
    assert t.leaf_of(t.root_id).id == a2.id  # the root's newest branch


def test_select_validates_and_keeps_current_on_error(chain: ITT) -> None:
    assert chain.select("n2").id == "n2"
    with pytest.raises(KeyError):
        chain.select("n42")
    with pytest.raises(KeyError):
        chain.current = "n42"
    assert chain.current == "n2"


def test_siblings_are_derived_from_parent_children(chain: ITT) -> None:
    assert [n.id for n in chain.siblings("n2")] == ["n3"]
    assert [n.id for n in chain.siblings("n3")] == ["n2"]
    assert chain.siblings("n1") == [] and chain.siblings("n4") == []
    assert chain.siblings(chain.root_id) == []
    assert "siblings" not in Node.__dataclass_fields__
    # A new child of n1 shows up as everyone's sibling without touching n2 or n3.
    chain.add_child("n1", "agent", "Agent", "third take", EmotionState())
    assert [n.id for n in chain.siblings("n2")] == ["n3", "n5"]
    assert [n.id for n in chain.siblings("n5")] == ["n2", "n3"]


def test_paths_depth_and_levels(chain: ITT) -> None:
    assert [n.id for n in chain.path_to_root("n4")] == ["n4", "n2", "n1", "n0"]
    assert [n.id for n in chain.path_from_root("n4")] == ["n0", "n1", "n2", "n4"]
    assert [chain.depth(i) for i in ("n0", "n1", "n2", "n3", "n4")] == [0, 1, 2, 2, 3]
    levels = chain.levels_back("n4")
    assert [(lv.index, lv.node.id, [s.id for s in lv.siblings]) for lv in levels] == [
        (0, "n4", []),
        (1, "n2", ["n3"]),
        (2, "n1", []),
    ]
    assert [lv.node.id for lv in chain.levels_back("n4", max_levels=2)] == ["n4", "n2"]
    assert chain.levels_back(chain.root_id) == []


def test_leaf_of_follows_most_recent_child(chain: ITT) -> None:
    # n1's children are n2 (with n4 below) and the newer n3: the newest branch wins.
    assert chain.leaf_of("n1").id == "n3"
    assert chain.leaf_of("n2").id == "n4"
    assert chain.leaf_of(chain.root_id).id == "n3"
    chain.add_child("n3", "user", "User", "later branch", EmotionState())
    assert chain.leaf_of("n1").id == "n5"
    assert chain.leaf_of("n4").id == "n4"  # a leaf is its own leaf
    chain.add_child("n2", "user", "User", "newest under n2", EmotionState())
    assert chain.leaf_of("n2").id == "n6"  # most recent, not first, child


# ----- JSON ---------------------------------------------------------------------------


def _awkward_tree() -> ITT:
    """Floats that do not print short, unicode, nested meta, several branches."""
    t = ITT()
    third = mix([EmotionState.of("happy", 0.3), EmotionState.of("sad", 0.7)], [1.0, 2.0])
    u = t.add_child(t.root_id, "user", "Zoë", "Ça va? 🙂", third, created=1700000000.123456789)
    a = t.add_child(u.id, "agent", "Agent", "Yes.\nTwo lines.", EmotionState(np.arange(8.0), 1 / 3))
    t.add_sibling(a.id, "agent", "Agent", "Regenerated", EmotionState.of("surprised", 0.1))
    t.add_child(a.id, "user", "Zoë", "ok", EmotionState(), meta={"n": [1, 2.5, {"k": None}]})
    t.select(a.id)
    return t


def test_json_round_trip_is_byte_exact(tmp_path: Path) -> None:
    t = _awkward_tree()
    p1, p2 = tmp_path / "a.json", tmp_path / "b.json"
    t.save(p1)
    loaded = ITT.load(p1)
    loaded.save(p2)
    assert p1.read_bytes() == p2.read_bytes()
    assert loaded.to_json() == t.to_json()
    assert loaded.current == t.current == "n2"
    assert [n.id for n in loaded.all_nodes(include_root=True)] == ["n0", "n1", "n2", "n3", "n4"]
    for a, b in zip(t.all_nodes(include_root=True), loaded.all_nodes(include_root=True)):
        assert (a.id, a.role, a.speaker, a.text, a.parent, a.children, a.created, a.meta) == (
            b.id,
            b.role,
            b.speaker,
            b.text,
            b.parent,
            b.children,
            b.created,
            b.meta,
        )
        assert np.array_equal(a.emotion.dist, b.emotion.dist)
        assert a.emotion.intensity == b.emotion.intensity


def test_json_has_format_and_version() -> None:
    d = json.loads(_awkward_tree().to_json())
    assert d["format"] == "warmchat.itt" and d["version"] == FORMAT_VERSION == 1
    assert d["root"] == "n0" and d["current"] == "n2"
    assert [n["id"] for n in d["nodes"]] == ["n0", "n1", "n2", "n3", "n4"]
    assert set(d["nodes"][1]["emotion"]["dist"]) == set(EMOTIONS)


def test_to_json_writes_file_when_given_a_path(tmp_path: Path) -> None:
    p = tmp_path / "t.json"
    text = _awkward_tree().to_json(p)
    assert p.read_text(encoding="utf-8") == text


def test_load_then_continue_the_conversation(tmp_path: Path) -> None:
    t = _awkward_tree()
    t.save(tmp_path / "t.json")
    t2 = ITT.load(tmp_path / "t.json")
    new = t2.add_child(t2.current, "user", "Zoë", "next", EmotionState.of("happy"))
    assert new.id == "n5"  # no id reused after loading
    assert t2.current == "n5" and len(t2) == 5
    assert [n.id for n in t2.siblings("n4")] == ["n5"]
    t2.save(tmp_path / "t2.json")
    t3 = ITT.load(tmp_path / "t2.json")
    assert t3.to_json() == t2.to_json()
    assert t3.node("n5").text == "next"


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.update(format="something"), "not an ITT"),
        (lambda d: d.update(version=99), "version"),
        (lambda d: d["nodes"][1].update(parent="n3"), "disagree|misplaced"),
        (lambda d: d["nodes"][0]["children"].append("n9"), "missing"),
        (lambda d: d.update(current="n42"), "current"),
        (lambda d: d["nodes"].append(dict(d["nodes"][1])), "duplicate"),
    ],
)
def test_load_rejects_inconsistent_files(tmp_path: Path, mutate, needle: str) -> None:
    d = _awkward_tree().to_dict()
    mutate(d)
    with pytest.raises(ValueError, match=needle):
        ITT.from_dict(d)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(d))
    with pytest.raises(UserInputError, match="not a valid Warm Chat tree file"):
        ITT.load(p)


def test_load_reports_unreadable_and_non_json_files(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="Cannot read"):
        ITT.load(tmp_path / "missing.json")
    p = tmp_path / "x.json"
    p.write_text("{not json")
    with pytest.raises(UserInputError, match="not a valid"):
        ITT.load(p)


# ----- reverse-level traversal (numbers by hand) ------------------------------------------


def test_traversal_default_config(chain: ITT) -> None:
    # decay .6, sibling_weight .25, no role:
    # l0 n4 angry, i=1.0, w=1;  l1 n2 .75 sad + .25 surprised (sibling n3), i=.75*.4+.25*.6=.45,
    # w=.6;  l2 n1 happy, i=.8, w=.36.  Sum of weights 1.96.
    got = chain.cumulative_emotion("n4")
    want = dist_of(angry=1 / 1.96, sad=0.45 / 1.96, surprised=0.15 / 1.96, happy=0.36 / 1.96)
    assert_state(got, want, (1.0 + 0.6 * 0.45 + 0.36 * 0.8) / 1.96)
    assert got.dist[EMOTIONS.index("angry")] == pytest.approx(0.5102040816, abs=1e-9)
    assert got.intensity == pytest.approx(0.7948979592, abs=1e-9)


def test_traversal_uniform_decay_without_siblings(chain: ITT) -> None:
    cfg = TraversalConfig(decay=1.0, sibling_weight=0.0)
    got = chain.cumulative_emotion("n4", cfg)
    assert_state(got, dist_of(angry=1 / 3, sad=1 / 3, happy=1 / 3), (1.0 + 0.4 + 0.8) / 3)


def test_traversal_role_weights(chain: ITT) -> None:
    # for the agent: n4 user -> w = 1 * .5;  n2 agent -> w = .5 * 1, e = .5 sad + .5 surprised,
    # i = .5;  n1 user -> w = .25 * .5 = .125.  Sum 1.125.
    cfg = TraversalConfig(decay=0.5, sibling_weight=0.5, role_weight_same=1.0, role_weight_other=0.5)
    got = chain.cumulative_emotion("n4", cfg, for_role="agent")
    want = dist_of(angry=0.5 / 1.125, sad=0.25 / 1.125, surprised=0.25 / 1.125, happy=0.125 / 1.125)
    assert_state(got, want, (0.5 * 1.0 + 0.5 * 0.5 + 0.125 * 0.8) / 1.125)
    assert got.dist[EMOTIONS.index("angry")] == pytest.approx(4 / 9, abs=1e-12)
    # The same config for the user weighs the user's own turns more: more anger.
    for_user = chain.cumulative_emotion("n4", cfg, for_role="user")
    assert for_user.dist[EMOTIONS.index("angry")] > got.dist[EMOTIONS.index("angry")]
    # for_role=None ignores the role weights entirely.
    cfg_none = TraversalConfig(decay=0.5, sibling_weight=0.5)
    assert np.allclose(
        chain.cumulative_emotion("n4", cfg, None).dist,
        chain.cumulative_emotion("n4", cfg_none, None).dist,
    )


def test_traversal_from_a_node_with_siblings_and_max_levels(chain: ITT) -> None:
    # From n3: l0 = .75 surprised + .25 sad, i = .75*.6 + .25*.4 = .55, w = 1; l1 n1 happy w = .6.
    got = chain.cumulative_emotion("n3")
    want = dist_of(surprised=0.75 / 1.6, sad=0.25 / 1.6, happy=0.6 / 1.6)
    assert_state(got, want, (0.55 + 0.6 * 0.8) / 1.6)
    # max_levels=2 from n4 drops n1: weights 1 and .6.
    got2 = chain.cumulative_emotion("n4", TraversalConfig(max_levels=2))
    assert_state(got2, dist_of(angry=1 / 1.6, sad=0.45 / 1.6, surprised=0.15 / 1.6), 1.27 / 1.6)


def test_traversal_decay_zero_reads_the_node_only(chain: ITT) -> None:
    got = chain.cumulative_emotion("n4", TraversalConfig(decay=0.0))
    assert_state(got, dist_of(angry=1.0), 1.0)


def test_traversal_weights_are_reported(chain: ITT) -> None:
    lws = chain.traversal_weights("n4", TraversalConfig(), for_role="user")
    assert [lw.node_id for lw in lws] == ["n4", "n2", "n1"]
    assert [lw.weight for lw in lws] == pytest.approx([1.0, 0.6 * 0.7, 0.36 * 1.0])
    assert lws[1].emotion.intensity == pytest.approx(0.45)


def test_traversal_at_root_or_with_zero_weights_is_neutral(chain: ITT) -> None:
    assert_state(chain.cumulative_emotion(chain.root_id), dist_of(neutral=1.0), 0.0)
    cfg = TraversalConfig(role_weight_other=0.0)
    # n1 is a user node; for the agent with other=0 nothing counts.
    assert_state(chain.cumulative_emotion("n1", cfg, for_role="agent"), dist_of(neutral=1.0), 0.0)


def test_traversal_rejects_unknown_role(chain: ITT) -> None:
    with pytest.raises(ValueError, match="for_role"):
        chain.cumulative_emotion("n4", for_role="root")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"decay": 1.5}, "decay"),
        ({"decay": -0.1}, "decay"),
        ({"sibling_weight": 1.01}, "sibling_weight"),
        ({"role_weight_same": -1.0}, "role_weight_same"),
        ({"role_weight_other": float("nan")}, "role_weight_other"),
        ({"role_weight_other": float("inf")}, "role_weight_other"),
        ({"max_levels": 0}, "max_levels"),
        ({"max_levels": 2.5}, "max_levels"),
    ],
)
def test_traversal_config_validation(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        TraversalConfig(**kwargs)


def test_traversal_config_rejects_non_numbers() -> None:
    with pytest.raises(TypeError, match="decay"):
        TraversalConfig(decay="0.5")  # type: ignore[arg-type]
    cfg = TraversalConfig(decay=1, sibling_weight=0, max_levels=3)
    assert isinstance(cfg.decay, float) and cfg.decay == 1.0 and cfg.max_levels == 3
