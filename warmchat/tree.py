"""The Interactive Talking Tree (ITT) and its reverse-level traversal.

One node per utterance. Editing or regenerating a turn adds a *sibling* (a new
child of the same parent); nothing is ever overwritten, so every branch the user
explored stays in the tree and can be selected again. The tree starts with a
synthetic root (role ``"root"``, neutral, empty text) so that the first message
is an ordinary child and editing it is an ordinary sibling.

Reverse-level traversal
-----------------------
The *cumulative emotion* of a node ``x`` steers the faces. Let
``x = p_0, p_1, ..., p_D`` be the path from ``x`` up to (but excluding) the
synthetic root, and ``L = min(D + 1, max_levels)``. For each level
``l = 0 .. L-1``:

* level emotion (``sw = sibling_weight``; ``S_l`` = siblings of ``p_l``, i.e. its
  parent's other children)::

      e_l = (1 - sw) * dist(p_l) + sw * mean_{s in S_l} dist(s)     if S_l is not empty
      e_l = dist(p_l)                                               otherwise

  and the level intensity ``i_l`` is blended the same way from the intensities.
  The branches the user explored and left still colour the mood.

* level weight::

      w_l = decay ** l * r_l
      r_l = role_weight_same   if for_role is not None and role(p_l) == for_role
      r_l = role_weight_other  if for_role is not None and role(p_l) != for_role
      r_l = 1                  if for_role is None

  (``0 ** 0 == 1``, so ``decay = 0`` keeps the node itself only.)

* result::

      dist      = sum_l w_l * e_l / sum_l w_l      (a distribution: each e_l sums to 1)
      intensity = sum_l w_l * i_l / sum_l w_l

If the node is the root, or every weight is zero (e.g. ``role_weight_other = 0``
and no level has ``for_role``), the result is neutral with intensity 0.

The JSON form (``ITT.to_json``) carries a format name and version and
round-trips exactly: save -> load -> save gives byte-identical text.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from warmchat.emotion import EMOTIONS, EmotionState
from warmchat.errors import UserInputError

FORMAT_NAME = "warmchat.itt"
FORMAT_VERSION = 1

ROOT_ROLE = "root"
SPEAKER_ROLES: tuple[str, ...] = ("user", "agent")
NODE_ROLES: tuple[str, ...] = (ROOT_ROLE, *SPEAKER_ROLES)

# Node fields that ``add_child``/``add_sibling`` accept as keyword extras; any other
# keyword goes into ``meta`` so callers can tag a node (e.g. ``backend="offline"``).
_EXTRA_FIELDS = ("audio_path", "clip_path", "created", "meta")


@dataclass
class Node:
    """One utterance in the tree.

    Siblings are not stored: they are derived from the parent's ``children``, so
    the two can never disagree.
    """

    id: str  # short and stable, "n0", "n1", ... in creation order ("n0" is the root)
    role: str  # "user" | "agent" | "root"
    speaker: str  # display name: "Agent", "User" or a persona name
    text: str
    emotion: EmotionState
    parent: str | None  # None only for the root
    children: list[str] = field(default_factory=list)  # ordered by creation
    audio_path: str | None = None
    clip_path: str | None = None
    created: float = field(default_factory=time.time)  # unix time
    meta: dict[str, Any] = field(default_factory=dict)  # JSON-safe extras

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, fields in a fixed order."""
        return {
            "id": self.id,
            "role": self.role,
            "speaker": self.speaker,
            "text": self.text,
            "emotion": self.emotion.to_dict(),
            "parent": self.parent,
            "children": list(self.children),
            "audio_path": self.audio_path,
            "clip_path": self.clip_path,
            "created": float(self.created),
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Node:
        """Inverse of ``to_dict``; keeps the stored floats bit for bit."""
        emotion = EmotionState.from_dict(d["emotion"])
        # EmotionState re-normalises its distribution, which can move the last bit
        # of a float; the stored values already sum to 1 (they were written by
        # to_dict), so keep them exactly to make save -> load -> save byte-identical.
        raw = d["emotion"]["dist"]
        if isinstance(raw, dict):
            stored = np.array([float(raw.get(name, 0.0)) for name in EMOTIONS], dtype=np.float64)
            if np.allclose(stored, emotion.dist, rtol=0.0, atol=1e-12):
                emotion.dist = stored
        return cls(
            id=str(d["id"]),
            role=str(d["role"]),
            speaker=str(d["speaker"]),
            text=str(d["text"]),
            emotion=emotion,
            parent=d["parent"],
            children=[str(c) for c in d.get("children", [])],
            audio_path=d.get("audio_path"),
            clip_path=d.get("clip_path"),
            created=float(d["created"]),
            meta=dict(d.get("meta") or {}),
        )


@dataclass
class TraversalConfig:
    """Weights of the reverse-level traversal (formula in the module docstring)."""

    # Per-level decay: level l (0 = the node itself) is weighted decay ** l, so
    # nearer turns weigh more. 1 = all levels equal; 0 = the node alone.
    decay: float = 0.6
    # Share of each level's emotion that comes from the path node's siblings (the
    # branches explored and left): e_l = (1 - sw) * node + sw * mean(siblings).
    sibling_weight: float = 0.25
    # Multiplier for levels whose node has role == for_role (e.g. the speaker's
    # own earlier utterances when computing the speaker's emotion).
    role_weight_same: float = 1.0
    # Multiplier for levels whose node has the other role (what the other side said).
    role_weight_other: float = 0.7
    # How many levels (including the node itself) are read at most.
    max_levels: int = 8

    def __post_init__(self) -> None:
        for name, lo, hi in (
            ("decay", 0.0, 1.0),
            ("sibling_weight", 0.0, 1.0),
            ("role_weight_same", 0.0, math.inf),
            ("role_weight_other", 0.0, math.inf),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"TraversalConfig.{name} must be a number, got {value!r}")
            if not (math.isfinite(value) and lo <= value <= hi):
                bound = f"[{lo}, {hi}]" if math.isfinite(hi) else f">= {lo}"
                raise ValueError(f"TraversalConfig.{name} must be in {bound}, got {value!r}")
            setattr(self, name, float(value))
        if isinstance(self.max_levels, bool) or not isinstance(self.max_levels, int) or self.max_levels < 1:
            raise ValueError(f"TraversalConfig.max_levels must be an integer >= 1, got {self.max_levels!r}")


@dataclass(frozen=True)
class Level:
    """One level of the reverse-level traversal: the path node and its siblings."""

    index: int  # 0 = the node itself, 1 = its parent, ...
    node: Node
    siblings: list[Node]


@dataclass(frozen=True)
class LevelWeight:
    """How much one level contributed to a cumulative emotion (for display and tests)."""

    index: int
    node_id: str
    weight: float  # w_l before normalisation
    emotion: EmotionState  # e_l and i_l, the level's blended emotion


class ITT:
    """Interactive Talking Tree: utterances as nodes, edits/regenerations as siblings."""

    def __init__(self, root_speaker: str = "") -> None:
        self._nodes: dict[str, Node] = {}  # insertion order = creation order
        self._next_id = 0
        root = Node(
            id=self._new_id(),
            role=ROOT_ROLE,
            speaker=root_speaker,
            text="",
            emotion=EmotionState.of("neutral", 0.0),
            parent=None,
        )
        self._nodes[root.id] = root
        self._root_id = root.id
        self._current = root.id

    # ----- identity and access -------------------------------------------------

    def _new_id(self) -> str:
        nid = f"n{self._next_id}"
        self._next_id += 1
        return nid

    @property
    def root_id(self) -> str:
        """Id of the synthetic root."""
        return self._root_id

    @property
    def root(self) -> Node:
        return self._nodes[self._root_id]

    @property
    def current(self) -> str:
        """Id of the selected node (the tip of the branch being shown/continued)."""
        return self._current

    @current.setter
    def current(self, node_id: str) -> None:
        self.select(node_id)

    def select(self, node_id: str) -> Node:
        """Make ``node_id`` the current node (validated) and return it."""
        node = self.node(node_id)
        self._current = node.id
        return node

    def node(self, node_id: str) -> Node:
        """The node with this id; KeyError naming the id if there is none."""
        try:
            return self._nodes[node_id]
        except (KeyError, TypeError):
            raise KeyError(f"no node {node_id!r} in this tree (ids run n0..n{self._next_id - 1})") from None

    def __contains__(self, node_id: object) -> bool:
        return isinstance(node_id, str) and node_id in self._nodes

    def __len__(self) -> int:
        """Number of utterances (the synthetic root does not count)."""
        return len(self._nodes) - 1

    def all_nodes(self, include_root: bool = False) -> list[Node]:
        """Every node in creation order."""
        return [n for n in self._nodes.values() if include_root or n.role != ROOT_ROLE]

    # ----- building --------------------------------------------------------------

    def checkpoint(self) -> tuple[int, int, str]:
        """A mark to ``rollback`` to: what the tree holds now."""
        return len(self._nodes), self._next_id, self._current

    def rollback(self, mark: tuple[int, int, str]) -> None:
        """Undo everything added since ``checkpoint()`` gave ``mark`` (a turn that failed half-way).

        Only nodes created after the mark go (they are the newest: the tree only
        grows), with their links, and the current node is the one of then. This
        is not an edit: a finished turn is never taken back.
        """
        count, next_id, current = mark
        for nid in list(self._nodes)[count:]:
            node = self._nodes.pop(nid)
            parent = self._nodes.get(node.parent or "")
            if parent is not None and nid in parent.children:
                parent.children.remove(nid)
        self._next_id = next_id
        self._current = current

    def add_child(
        self,
        parent_id: str,
        role: str,
        speaker: str,
        text: str,
        emotion: EmotionState,
        **extra: Any,
    ) -> Node:
        """Append a new utterance under ``parent_id``; it becomes current.

        ``extra`` may set ``audio_path``, ``clip_path``, ``created`` or ``meta``;
        any other keyword is stored in ``meta`` (e.g. ``backend="openai"``).
        """
        parent = self.node(parent_id)
        if role not in SPEAKER_ROLES:
            raise ValueError(f"role must be one of {SPEAKER_ROLES}, got {role!r}")
        if not isinstance(emotion, EmotionState):
            raise TypeError(f"emotion must be an EmotionState, got {type(emotion).__name__}")
        fields = {k: extra.pop(k) for k in _EXTRA_FIELDS if k in extra}
        meta = dict(fields.pop("meta", None) or {})
        meta.update(extra)
        node = Node(
            id=self._new_id(),
            role=role,
            speaker=str(speaker),
            text=str(text),
            emotion=emotion,
            parent=parent.id,
            meta=meta,
            **fields,
        )
        self._nodes[node.id] = node
        parent.children.append(node.id)
        self._current = node.id
        return node

    def add_sibling(
        self,
        node_id: str,
        role: str,
        speaker: str,
        text: str,
        emotion: EmotionState,
        **extra: Any,
    ) -> Node:
        """Branch: a new utterance with the same parent as ``node_id``; it becomes current.

        This is how an edit or a regeneration is recorded; ``node_id`` is kept.
        """
        node = self.node(node_id)
        if node.parent is None:
            raise ValueError("the root has no siblings: use add_child(root_id, ...) instead")
        return self.add_child(node.parent, role, speaker, text, emotion, **extra)

    # ----- structure -------------------------------------------------------------

    def children(self, node_id: str) -> list[Node]:
        """Children of ``node_id`` in creation order."""
        return [self._nodes[c] for c in self.node(node_id).children]

    def siblings(self, node_id: str) -> list[Node]:
        """The parent's other children, in creation order (empty for the root)."""
        node = self.node(node_id)
        if node.parent is None:
            return []
        return [self._nodes[c] for c in self._nodes[node.parent].children if c != node.id]

    def path_to_root(self, node_id: str) -> list[Node]:
        """``[node, parent, ..., root]``."""
        path = [self.node(node_id)]
        while path[-1].parent is not None:
            path.append(self._nodes[path[-1].parent])
        return path

    def path_from_root(self, node_id: str) -> list[Node]:
        """``[root, ..., node]``: the conversation as shown on this branch."""
        return self.path_to_root(node_id)[::-1]

    def depth(self, node_id: str) -> int:
        """0 for the root, 1 for a first message, ..."""
        return len(self.path_to_root(node_id)) - 1

    def leaf_of(self, node_id: str) -> Node:
        """Follow the most recent child down to a leaf (where a switched-to branch ends)."""
        node = self.node(node_id)
        while node.children:
            node = self._nodes[node.children[-1]]
        return node

    def levels_back(self, node_id: str, max_levels: int | None = None) -> list[Level]:
        """The traversal's levels: level 0 = the node, 1 = its parent, ... (root skipped)."""
        path = [n for n in self.path_to_root(node_id) if n.role != ROOT_ROLE]
        if max_levels is not None:
            path = path[:max_levels]
        return [Level(i, n, self.siblings(n.id)) for i, n in enumerate(path)]

    # ----- reverse-level traversal ------------------------------------------------

    def traversal_weights(
        self,
        node_id: str,
        config: TraversalConfig | None = None,
        for_role: str | None = None,
    ) -> list[LevelWeight]:
        """Per-level weights ``w_l`` and emotions ``e_l``/``i_l`` (see the module docstring)."""
        cfg = config or TraversalConfig()
        if for_role is not None and for_role not in SPEAKER_ROLES:
            raise ValueError(f"for_role must be None or one of {SPEAKER_ROLES}, got {for_role!r}")
        out: list[LevelWeight] = []
        for level in self.levels_back(node_id, cfg.max_levels):
            own = level.node.emotion
            if level.siblings and cfg.sibling_weight > 0:
                sib_dist = np.mean([s.emotion.dist for s in level.siblings], axis=0)
                sib_int = float(np.mean([s.emotion.intensity for s in level.siblings]))
                sw = cfg.sibling_weight
                dist = (1.0 - sw) * own.dist + sw * sib_dist
                intensity = (1.0 - sw) * own.intensity + sw * sib_int
            else:
                dist, intensity = own.dist, own.intensity
            if for_role is None:
                role_w = 1.0
            elif level.node.role == for_role:
                role_w = cfg.role_weight_same
            else:
                role_w = cfg.role_weight_other
            weight = cfg.decay**level.index * role_w
            out.append(LevelWeight(level.index, level.node.id, weight, EmotionState(dist, intensity)))
        return out

    def cumulative_emotion(
        self,
        node_id: str,
        config: TraversalConfig | None = None,
        for_role: str | None = None,
    ) -> EmotionState:
        """Cumulative emotion at ``node_id`` by reverse-level traversal.

        Walking from the node toward the (skipped) root, level ``l`` has emotion
        ``e_l = (1 - sw) * dist(node_l) + sw * mean(dist(siblings_l))`` (just
        ``dist(node_l)`` without siblings; intensity ``i_l`` blended alike) and
        weight ``w_l = decay**l * r_l`` with ``r_l = role_weight_same`` when
        ``role(node_l) == for_role``, ``role_weight_other`` otherwise, and 1 when
        ``for_role`` is None. At most ``max_levels`` levels. The result is
        ``dist = sum(w_l e_l) / sum(w_l)`` and ``intensity = sum(w_l i_l) / sum(w_l)``;
        neutral with intensity 0 at the root or when all weights are 0.
        """
        levels = self.traversal_weights(node_id, config, for_role)
        total = sum(lw.weight for lw in levels)
        if not levels or total <= 0:
            return EmotionState.of("neutral", 0.0)
        dist = sum(lw.weight * lw.emotion.dist for lw in levels) / total
        intensity = sum(lw.weight * lw.emotion.intensity for lw in levels) / total
        return EmotionState(dist, float(intensity))

    # ----- JSON --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with a format name and version; nodes in creation order."""
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "root": self._root_id,
            "current": self._current,
            "next_id": self._next_id,
            "nodes": [n.to_dict() for n in self._nodes.values()],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ITT:
        """Rebuild a tree from ``to_dict`` output; ValueError if it is inconsistent."""
        if d.get("format") != FORMAT_NAME:
            raise ValueError(f"not an ITT document (format {d.get('format')!r})")
        if d.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"unsupported ITT version {d.get('version')!r} (this build reads {FORMAT_VERSION})"
            )
        tree = cls.__new__(cls)
        tree._nodes = {}
        for nd in d["nodes"]:
            node = Node.from_dict(nd)
            if node.id in tree._nodes:
                raise ValueError(f"duplicate node id {node.id!r}")
            if node.role not in NODE_ROLES:
                raise ValueError(f"node {node.id!r} has unknown role {node.role!r}")
            tree._nodes[node.id] = node
        roots = [n for n in tree._nodes.values() if n.parent is None]
        if len(roots) != 1 or roots[0].id != d["root"] or roots[0].role != ROOT_ROLE:
            raise ValueError("an ITT must have exactly one root node, the one named by 'root'")
        for node in tree._nodes.values():
            if node.parent is not None:
                parent = tree._nodes.get(node.parent)
                if parent is None or node.id not in parent.children:
                    raise ValueError(f"node {node.id!r} and its parent {node.parent!r} disagree")
            for c in node.children:
                if c not in tree._nodes or tree._nodes[c].parent != node.id:
                    raise ValueError(f"child {c!r} of node {node.id!r} is missing or misplaced")
        tree._root_id = d["root"]
        tree._next_id = int(d["next_id"])
        tree._current = d["current"]
        if tree._current not in tree._nodes:
            raise ValueError(f"current node {tree._current!r} is not in the tree")
        return tree

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The tree as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the tree as JSON (see ``to_json``)."""
        self.to_json(path)

    @classmethod
    def from_json(cls, text: str) -> ITT:
        return cls.from_dict(json.loads(text))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ITT:
        """Read a tree written by ``save``; UserInputError if the file cannot be used."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise UserInputError(f"Cannot read the tree file {p}: {exc.strerror}.") from None
        try:
            return cls.from_json(text)
        except (ValueError, KeyError, TypeError) as exc:
            raise UserInputError(
                f"{p} is not a valid Warm Chat tree file ({exc}): pass an itt.json written by warmchat."
            ) from None
