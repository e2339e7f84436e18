"""One conversation: its two avatars, its tree, its files, and how it is saved and opened.

Everything here belongs to one conversation (one app session, one CLI run); the
models that render it live in ``warmchat.pipeline.WarmChatPipeline``, which
serves many conversations at once.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from warmchat.archive import CONVERSATION_FILE, check_saved
from warmchat.dialogue.base import DialogueEngine, Persona
from warmchat.errors import TextInputError
from warmchat.motion.tracks import AvatarState
from warmchat.render.face import FaceModel
from warmchat.render.video import Segment
from warmchat.render.warp import WarpRenderer
from warmchat.tree import ITT, Node


@dataclass
class Avatar:
    """One side of the conversation: a portrait, its renderer, voice, persona and state."""

    name: str
    face: FaceModel
    renderer: WarpRenderer
    voice: str
    persona: Persona
    state: AvatarState = field(default_factory=AvatarState.rest)


@dataclass
class Conversation:
    """Everything that belongs to one conversation (one app session, one CLI run)."""

    agent: Avatar  # shown on the left
    user: Avatar  # shown on the right
    tree: ITT
    work_dir: Path  # this conversation's own files
    turn: int = 0  # clips rendered so far (numbers the clip files)
    seed: int = 0  # a clip's randomness comes from (seed, clip number): reproducible
    liveliness: float = 1.0  # scales head motion (0 = still, 2 = very lively)
    expression_strength: float = 1.0  # scales the emotion shown on both faces
    # The face each side's portrait file was last written from, so it is not rewritten every turn.
    saved_faces: dict[str, FaceModel] = field(default_factory=dict, repr=False, compare=False)
    # This conversation's own dialogue engine (a visitor signed in with their Hugging Face token);
    # None: the pipeline's. Never saved.
    dialogue: DialogueEngine | None = field(default=None, repr=False, compare=False)

    @property
    def notices(self) -> list[str]:
        return [n for n in (self.agent.face.notice, self.user.face.notice) if n]

    @property
    def clips(self) -> list[Path]:
        """The clips along the current path of the tree, in order (on the node that ends each).

        Branches keep their own clips; switching branch changes this list.
        """
        out: list[Path] = []
        for n in self.tree.path_from_root(self.tree.current):
            if n.clip_path and (not out or out[-1].name != n.clip_path):
                out.append(self.work_dir / n.clip_path)
        return out

    def restore_states(self, node_id: str) -> None:
        """Set both avatars to how they looked when ``node_id`` was last rendered (rest if never)."""
        end = self.tree.node(node_id).meta.get("end_state") if node_id != self.tree.root_id else None
        for side, av in (("agent", self.agent), ("user", self.user)):
            st = (end or {}).get(side)
            av.state = (
                AvatarState(np.array(st["expression"], np.float32), np.array(st["pose"], np.float32))
                if st
                else AvatarState.rest()
            )

    def switch(self, node_id: str) -> Node:
        """Make the branch through ``node_id`` current (its latest leaf); the faces continue from there."""
        leaf = self.tree.leaf_of(self.tree.node(node_id).id)
        self.tree.select(leaf.id)
        self.restore_states(leaf.id)
        return leaf

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """Everything inside happens entirely or not at all: on an error the tree, the turn
        count, both faces' states and the folder's files are put back as they were, then
        the error goes on (the visitor hears it, and the next message works)."""
        mark = self.tree.checkpoint()
        turn, states = self.turn, (self.agent.state, self.user.state)
        files = {f.name for f in self.work_dir.iterdir()} if self.work_dir.is_dir() else set()
        try:
            yield
        except BaseException:
            self.tree.rollback(mark)
            self.turn = turn
            self.agent.state, self.user.state = states
            for f in self.work_dir.iterdir() if self.work_dir.is_dir() else ():
                if f.name not in files:  # a recording, a half-written clip, segments of this turn
                    shutil.rmtree(f, ignore_errors=True) if f.is_dir() else f.unlink(missing_ok=True)
            raise

    def record_states(self, node: Node) -> None:
        """Remember both avatars' last frame on ``node``, so a branch can continue from it."""
        node.meta["end_state"] = {
            side: {
                "expression": [round(float(x), 5) for x in av.state.expression],
                "pose": [round(float(x), 5) for x in av.state.pose],
            }
            for side, av in (("agent", self.agent), ("user", self.user))
        }


@dataclass
class TurnResult:
    """What one turn produced."""

    clip: Path  # the turn's mp4 (user speaks, then the agent)
    user_node: Node
    agent_node: Node
    notices: list[str]  # things to tell the user (LLM fallback, text cut, ...)
    timings: dict[str, float]  # seconds per stage; first_frame / first_segment count from the start
    duration_s: float  # length of the clip
    segments: list[Segment] = field(default_factory=list)  # the pieces handed to on_segment, in order


def check_message(text: str | None, max_chars: int) -> tuple[str, str | None]:
    """Strip and validate a typed message; cut an over-long one at a sentence end.

    Returns the text and a notice when it was cut. Raises TextInputError when empty.
    """
    t = " ".join((text or "").split())
    if not t:
        raise TextInputError("The message is empty: type something for the avatars to say.")
    if len(t) <= max_chars:
        return t, None
    cut = t[:max_chars]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    cut = cut[: end + 1] if end > max_chars // 3 else cut.rsplit(" ", 1)[0]
    return cut, f"The message was {len(t)} characters; only the first {len(cut)} are used."


def save(conv: Conversation) -> Path:
    """Write everything needed to continue later into ``conv.work_dir``; returns it.

    The folder then holds ``conversation.json`` (avatars, personas, voices),
    ``itt.json`` (the tree), the two cropped portraits and every clip.
    """
    wd = conv.work_dir
    for side, av in (("agent", conv.agent), ("user", conv.user)):
        # Written once per portrait, not every turn: a PNG takes ~0.1 s.
        if conv.saved_faces.get(side) is not av.face or not (wd / f"{side}.png").is_file():
            Image.fromarray(av.face.image).save(wd / f"{side}.png", compress_level=1)
            conv.saved_faces[side] = av.face
    meta = {
        "format": "warmchat.conversation",
        "version": 1,
        "turn": conv.turn,
        "settings": {
            "seed": conv.seed,
            "liveliness": conv.liveliness,
            "expression_strength": conv.expression_strength,
        },
        **{
            side: {"name": av.name, "voice": av.voice, "persona": asdict(av.persona)}
            for side, av in (("agent", conv.agent), ("user", conv.user))
        },
    }
    (wd / CONVERSATION_FILE).write_text(json.dumps(meta, indent=2))
    conv.tree.save(wd / "itt.json")
    return wd


def load(
    folder: str | Path, make_avatar: Callable[..., Avatar], work_dir: str | Path | None = None
) -> Conversation:
    """Open a conversation saved by ``save`` and continue it.

    The whole folder is checked first (``warmchat.archive.check_saved``:
    schema, sizes, every referenced file its own); then its portraits are traced
    with ``make_avatar(portrait, name, voice, persona)`` and its files copied to
    ``work_dir`` (a new temp dir by default; the folder itself when it is the
    same), so the saved copy stays as it was. Raises UserInputError, with
    nothing copied, when it cannot be used.
    """
    src = Path(folder)
    meta, tree, names = check_saved(src)
    sides = {}
    for side in ("agent", "user"):  # portraits traced before anything is written
        m = meta[side]
        sides[side] = make_avatar(src / f"{side}.png", m["name"], m["voice"], Persona(**m["persona"]))
    wd = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="warmchat-"))
    if not (wd.exists() and wd.resolve() == src.resolve()):
        wd.mkdir(parents=True, exist_ok=True)
        for n in names:
            shutil.copyfile(src / n, wd / n)
    settings = meta.get("settings", {})
    conv = Conversation(sides["agent"], sides["user"], tree, wd, turn=int(meta.get("turn", 0)), **settings)
    conv.restore_states(tree.current)
    return conv
