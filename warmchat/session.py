"""One visitor's conversation in the app: what ``gr.State`` holds, and the actions on it.

Kept free of Gradio so it can be tested directly; ``app.py`` only wires these
functions to components and turns ``UserInputError`` into a UI message.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from warmchat.emotion import EmotionState, check_emotion_name, check_intensity
from warmchat.errors import UserInputError
from warmchat.pipeline import Conversation, TurnResult, WarmChatPipeline

log = logging.getLogger(__name__)

AUTO = "auto"  # emotion choice: let the dialogue engine decide


def _identity(path: str | None) -> str | None:
    """A portrait's identity: its path plus size and mtime (uploads get new paths anyway)."""
    if not path:
        return None
    p = Path(path)
    st = p.stat() if p.exists() else None
    return f"{p}:{st.st_size}:{st.st_mtime_ns}" if st else str(p)


@dataclass
class ChatSession:
    """Per-visitor state: the conversation and which portraits it was built from."""

    conv: Conversation | None = None
    portrait_ids: tuple[str | None, str | None] = (None, None)
    notices: list[str] = field(default_factory=list)

    def close(self) -> None:
        """Delete this session's files (called when the visitor leaves or clears)."""
        if self.conv is not None:
            shutil.rmtree(self.conv.work_dir, ignore_errors=True)
            self.conv = None

    def messages(self) -> list[dict]:
        """The current path of the tree as chat messages (user / assistant)."""
        if self.conv is None:
            return []
        tree = self.conv.tree
        out = []
        for n in tree.path_from_root(tree.current):
            if n.role == "root":
                continue
            role = "user" if n.role == "user" else "assistant"
            out.append({"role": role, "content": f"{n.text}  \n*({n.emotion})*"})
        return out


def ensure_conversation(
    pipe: WarmChatPipeline, session: ChatSession, agent_img: str | None, user_img: str | None
) -> Conversation:
    """Start the conversation, or swap in new portraits while keeping the tree."""
    if not agent_img or not user_img:
        raise UserInputError("Both portraits are needed: upload an image with one face for each avatar.")
    ids = (_identity(agent_img), _identity(user_img))
    if session.conv is None:
        session.conv = pipe.new_conversation(agent_img, user_img)
    elif ids != session.portrait_ids:
        # Trace the new portrait(s) first: a bad upload leaves the old avatars in place.
        if ids[0] != session.portrait_ids[0]:
            agent = pipe.make_avatar(
                agent_img, session.conv.agent.name, session.conv.agent.voice, session.conv.agent.persona
            )
            session.conv.agent = agent
        if ids[1] != session.portrait_ids[1]:
            user = pipe.make_avatar(
                user_img, session.conv.user.name, session.conv.user.voice, session.conv.user.persona
            )
            session.conv.user = user
    session.portrait_ids = ids
    return session.conv


def send(
    pipe: WarmChatPipeline,
    session: ChatSession,
    message: str | None,
    agent_img: str | None,
    user_img: str | None,
    emotion_choice: str = AUTO,
    intensity: float = 0.7,
    user_audio: str | None = None,
    progress=None,
) -> tuple[TurnResult, Path]:
    """Run one turn for this session; returns the turn and the whole conversation's clip.

    Validates everything before the conversation changes, so a bad input raises
    UserInputError and loses nothing.
    """
    override = None
    if emotion_choice and emotion_choice != AUTO:
        override = EmotionState.of(check_emotion_name(emotion_choice), check_intensity(intensity))
    if not (message or "").strip() and not user_audio:
        raise UserInputError("The message is empty: type something (or record audio) for your avatar to say.")
    conv = ensure_conversation(pipe, session, agent_img, user_img)
    result = pipe.run_turn(conv, message, user_audio=user_audio, agent_emotion=override, progress=progress)
    whole = pipe.join(conv)
    session.notices = conv.notices + result.notices
    return result, whole
