"""One visitor's conversation in the app: what ``gr.State`` holds, and the actions on it.

Kept free of Gradio so it can be tested directly; ``app.py`` only wires these
functions to components and turns ``UserInputError`` into a UI message. Every
action validates its input before the conversation changes, so a bad input
loses nothing. The actions that render (``send``, ``regenerate``,
``agents_talk``, ``replay``) take ``hooks`` (``warmchat.hooks``), and ``stream``
runs any of them as a generator of ``warmchat.live.Event``: the chat as soon as a
reply is written, each video segment as it is encoded, and the same result
as the plain action at the end.
"""

from __future__ import annotations

import logging
import os
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from warmchat import storage
from warmchat.archive import unpack_zip
from warmchat.dialogue import DialogueEngine, LLMConfig, OpenAIChat
from warmchat.emotion import EmotionState, check_emotion_name, check_intensity
from warmchat.errors import UserInputError
from warmchat.hooks import Hooks
from warmchat.limits import MAX_SEED
from warmchat.live import Event, live
from warmchat.pipeline import Conversation, WarmChatPipeline
from warmchat.render.tracer import content_key
from warmchat.script import parse_script

log = logging.getLogger(__name__)

AUTO = "auto"  # emotion choice: let the dialogue engine decide
START = "n0"  # the tree's root: "continue from the start"
LATEST = "latest"  # "continue from the current node": the default, also for API callers
MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # a saved conversation (zip) may not be bigger


@dataclass
class Settings:
    """The knobs a visitor can turn; they apply to the next clip."""

    agent_voice: str = "heart"  # voice of the agent (left): eSpeak, or "heart" / "joe" (neural)
    user_voice: str = "joe"  # voice of the user's avatar (right), the same kinds
    liveliness: float = 1.0  # head motion scale, 0..2
    expression_strength: float = 1.0  # emotion scale, 0..2
    seed: int = 0  # randomness of blinks, head motion, replies

    def check(self) -> Settings:
        """Every number in its range (the UI's sliders say so too; API callers may send anything)."""
        for name, lo, hi in (("liveliness", 0, 2), ("expression_strength", 0, 2), ("seed", 0, MAX_SEED)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (lo <= v <= hi):
                label = name.replace("_", " ").capitalize()
                raise UserInputError(f"{label} must be a number from {lo} to {hi}, not {v!r}.")
        if self.seed != int(self.seed):
            raise UserInputError(f"Seed must be a whole number, not {self.seed!r}.")
        return self


def _identity(path: str | None) -> str | None:
    """A portrait's identity: a hash of its bytes. An API client uploads the same picture again
    with every message, under a new path each time: rebuilding both avatars for it cost 0.2 s
    before the first frame, and the faces' state (their pose, the last expression) with it."""
    if not path:
        return None
    return content_key(path) or str(path)  # the key the tracer remembers faces by


@dataclass
class ChatSession:
    """Per-visitor state: the conversation and which portraits it was built from."""

    conv: Conversation | None = None
    portrait_ids: tuple[str | None, str | None] = (None, None)
    notices: list[str] = field(default_factory=list)
    # Copies of this session's files that the app's web server made to serve them
    # (Gradio's cache keeps one folder per file); deleted with the session.
    served: set[Path] = field(default_factory=set)
    # The visitor's own chat model, when signed in with Hugging Face (``sign_in``); None: the app's.
    dialogue: DialogueEngine | None = field(default=None, repr=False)
    news: list[str] = field(default_factory=list)  # notices for the next turn's list (e.g. signed in)

    def close(self) -> None:
        """Delete this session's files (called when the visitor leaves or clears)."""
        if self.conv is not None:
            shutil.rmtree(self.conv.work_dir, ignore_errors=True)
            self.conv = None
        for d in self.served:
            shutil.rmtree(d, ignore_errors=True)
        self.served.clear()
        self.portrait_ids = (None, None)

    def messages(self) -> list[dict]:
        """The current path of the tree as chat messages (user / assistant)."""
        if self.conv is None:
            return []
        tree = self.conv.tree
        out = []
        for n in tree.path_from_root(tree.current):
            if n.role != "root":
                role = "user" if n.role == "user" else "assistant"
                out.append({"role": role, "content": f"{n.text}  \n*{n.speaker}, {n.emotion}*"})
        return out

    def node_choices(self) -> list[tuple[str, str]]:
        """(label, node id) choices for "continue from": the current node, the start, every reply
        (continue after it) and every message (say something else instead: a sibling branch)."""
        out = [("the latest reply (current branch)", LATEST), ("the start", START)]
        if self.conv is None:
            return out
        for n in self.conv.tree.all_nodes():
            snippet = n.text if len(n.text) < 40 else n.text[:39] + "…"
            what = "after" if n.role == "agent" else "instead of"  # a user node: the new message edits it
            out.append((f"{what} {n.id} {n.speaker}: {snippet}", n.id))
        return out


def trace_portraits(pipe: WarmChatPipeline, *portraits: str | None) -> None:
    """Trace portraits as soon as they are chosen and build their renderers (both remembered by
    the pipeline), so that Send finds them ready.

    Raises PortraitError (a UserInputError) for one without a usable face, so
    the visitor hears about it at once; an empty slot is left alone.
    """
    for p in portraits:
        if p:
            pipe.prepare_portrait(p)


def ensure_conversation(
    pipe: WarmChatPipeline,
    session: ChatSession,
    agent_img: str | None,
    user_img: str | None,
    settings: Settings,
) -> Conversation:
    """Start the conversation, or swap in new portraits while keeping the tree; apply the settings."""
    if not agent_img or not user_img:
        raise UserInputError("Both portraits are needed: upload an image with one face for each avatar.")
    settings.check()
    for v in (settings.agent_voice, settings.user_voice):
        pipe.tts.check_voice(v)
    ids = (_identity(agent_img), _identity(user_img))
    if session.conv is None:
        wd = storage.new_session_dir()
        try:
            session.conv = pipe.new_conversation(agent_img, user_img, work_dir=wd)
        except BaseException:  # a portrait without a face: no folder stays behind
            shutil.rmtree(wd, ignore_errors=True)
            raise
    elif ids != session.portrait_ids:
        # Trace the new portrait(s) first: a bad upload leaves the old avatars in place.
        conv = session.conv
        new_agent = (
            pipe.make_avatar(agent_img, conv.agent.name, conv.agent.voice, conv.agent.persona)
            if ids[0] != session.portrait_ids[0]
            else conv.agent
        )
        new_user = (
            pipe.make_avatar(user_img, conv.user.name, conv.user.voice, conv.user.persona)
            if ids[1] != session.portrait_ids[1]
            else conv.user
        )
        conv.agent, conv.user = new_agent, new_user
    session.portrait_ids = ids
    session.conv.dialogue = session.dialogue
    return _apply(session.conv, settings)


def sign_in(pipe: WarmChatPipeline, session: ChatSession, token: str | None) -> str | None:
    """Use the visitor's Hugging Face token (from "Sign in with Hugging Face") for their replies:
    Hugging Face's router answers them, the offline engine when it fails. None signs out.
    Returns a notice when this changes who replies, else None."""
    current = session.dialogue.config.api_key if session.dialogue is not None else None
    if (token or None) == current:
        return None  # the same token, or still not signed in: nothing changes
    if token is None:
        session.dialogue = None
        notice = f"Signed out: replies come from {pipe.dialogue.describe()}."
    else:
        env = os.environ
        cfg = LLMConfig.huggingface(
            token, env.get("WARMCHAT_LLM_MODEL") or None, env.get("WARMCHAT_HF_BASE_URL") or None
        )
        session.dialogue = OpenAIChat(cfg, classifier=pipe.classifier)
        notice = f"Signed in with Hugging Face: replies come from {cfg.model} through its router."
    if session.conv is not None:
        session.conv.dialogue = session.dialogue
    session.news.append(notice)
    return notice


def _apply(conv, settings: Settings):
    """The visitor's knobs onto the conversation: every one of them, for the next clip."""
    conv.agent.voice, conv.user.voice = settings.agent_voice, settings.user_voice
    conv.liveliness = float(settings.liveliness)
    conv.expression_strength = float(settings.expression_strength)
    conv.seed = int(settings.seed)
    return conv


def _override(emotion_choice: str | None, intensity: float) -> EmotionState | None:
    if emotion_choice and emotion_choice != AUTO:
        return EmotionState.of(check_emotion_name(emotion_choice), check_intensity(intensity))
    return None


def send(pipe, session: ChatSession, message, agent_img, user_img, emotion_choice=AUTO, intensity=0.7,
         user_audio=None, settings: Settings | None = None, continue_from: str | None = None,
         hooks: Hooks | None = None):  # fmt: skip
    """Run one turn for this session; returns the turn and the whole conversation's clip.

    ``hooks`` go to ``WarmChatPipeline.run_turn``.
    """
    hooks = hooks or Hooks()
    override = _override(emotion_choice, intensity)
    if not (message or "").strip() and not user_audio:
        raise UserInputError("The message is empty: type something (or record audio) for your avatar to say.")
    conv = ensure_conversation(pipe, session, agent_img, user_img, settings or Settings())
    parent = None
    if continue_from and continue_from in conv.tree:
        node = conv.tree.node(continue_from)
        parent = node.parent if node.role == "user" else node.id  # after a message: edit it
    result = pipe.run_turn(
        conv, message, user_audio=user_audio, agent_emotion=override, parent=parent, hooks=hooks
    )
    session.notices, session.news = [*session.news, *conv.notices, *result.notices], []
    hooks.progress(1.0, "Joining the whole conversation")
    return result, pipe.join(conv)


def regenerate(
    pipe,
    session: ChatSession,
    emotion_choice=AUTO,
    intensity=0.7,
    settings: Settings | None = None,
    hooks: Hooks | None = None,
):
    """Another reply to the last message, as a sibling branch."""
    hooks = hooks or Hooks()
    if session.conv is None or not len(session.conv.tree):
        raise UserInputError("There is no reply to regenerate yet: send a message first.")
    conv = session.conv
    if settings is not None:
        _apply(conv, settings.check())  # liveliness and strength too (they were left out here)
    node = conv.tree.node(conv.tree.current)
    if node.role != "agent":
        raise UserInputError("Pick a reply to regenerate (the current node is not one).")
    result = pipe.regenerate(conv, node.id, agent_emotion=_override(emotion_choice, intensity), hooks=hooks)
    session.notices, session.news = [*session.news, *conv.notices, *result.notices], []
    hooks.progress(1.0, "Joining the whole conversation")
    return result, pipe.join(conv)


def switch(pipe, session: ChatSession, node_id: str):
    """Show the branch through ``node_id``; returns the conversation clip (or None before any turn)."""
    if session.conv is None:
        raise UserInputError("There is no conversation yet: send a message first.")
    if node_id == LATEST:
        return pipe.join(session.conv) if session.conv.clips else None
    if node_id not in session.conv.tree:
        raise UserInputError(f"There is no node {node_id!r} in this conversation: pick one from the list.")
    if node_id == START:
        session.conv.tree.select(START)
        session.conv.restore_states(START)
    else:
        session.conv.switch(node_id)
    return pipe.join(session.conv) if session.conv.clips else None


def agents_talk(
    pipe,
    session: ChatSession,
    agent_img,
    user_img,
    opening: str | None,
    turns: int,
    settings: Settings | None = None,
    hooks: Hooks | None = None,
):
    """Two avatars talk for ``turns`` turns; the right one (the second persona) opens, or says ``opening``."""
    hooks = hooks or Hooks()
    turns = int(turns)
    if not 1 <= turns <= 10:
        raise UserInputError("Choose between 1 and 10 turns.")
    conv = ensure_conversation(pipe, session, agent_img, user_img, settings or Settings())
    results = []
    message, feeling = (opening or "").strip() or None, None
    for i in range(turns):
        if message is None:
            message, feeling, notice = pipe.next_user_message(conv)
            if notice:
                session.notices.append(notice)
        part = hooks.part(i / turns, (i + 1) / turns, f"Turn {i + 1}/{turns}: ")
        results.append(pipe.run_turn(conv, message, hooks=part, user_emotion=feeling))
        message, feeling = None, None
    session.notices = conv.notices + [n for r in results for n in r.notices]
    hooks.progress(1.0, "Joining the whole conversation")
    return results, pipe.join(conv)


def replay(
    pipe,
    session: ChatSession,
    agent_img,
    user_img,
    script_text: str,
    settings: Settings | None = None,
    hooks: Hooks | None = None,
):
    """Render a script (see ``warmchat.script``) after the current node."""
    hooks = hooks or Hooks()
    lines = parse_script(script_text or "")
    conv = ensure_conversation(pipe, session, agent_img, user_img, settings or Settings())
    clips = pipe.replay(conv, lines, hooks)
    session.notices = conv.notices
    hooks.progress(1.0, "Joining the whole conversation")
    return clips, pipe.join(conv)


# ---------------------------------------------------------------------- as it happens
def stream(action, pipe, session: ChatSession, *args, **kwargs) -> Iterator[Event]:
    """``action(pipe, session, *args, **kwargs)`` (``send``, ``regenerate``, ``agents_talk`` or
    ``replay``) as events (``warmchat.live``): a reply event carries the chat so far
    (``session.messages()``), ``done`` what the action returns."""
    return live(
        lambda hooks: action(pipe, session, *args, hooks=hooks, **kwargs), lambda _node: session.messages()
    )


def export(session: ChatSession) -> Path:
    """The whole conversation folder as one zip (tree, portraits, clips), to download.

    The zip is written inside the conversation's folder (``export/``), so it is
    deleted with the session; each export replaces the one before.
    """
    if session.conv is None:
        raise UserInputError("There is nothing to save yet: send a message first.")
    wd = session.conv.work_dir
    folder = wd / "export"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    out = folder / "warmchat-conversation.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:  # mp4s do not compress
        for f in sorted(wd.iterdir()):
            if f.is_file() and f.suffix in (".json", ".png", ".mp4", ".wav") and f.name != "conversation.mp4":
                z.write(f, f.name)
    return out


def load(pipe, session: ChatSession, zip_path: str | None):
    """Replace this session's conversation with one saved by ``export``.

    The zip is checked whole and unpacked into a new folder (``warmchat.archive``)
    before anything changes; if it is refused, that folder is deleted and the
    visitor's conversation stays exactly as it was. Returns the conversation
    clip (or None) and the two portraits to show.
    """
    if not zip_path:
        raise UserInputError("Choose a saved conversation (.zip) first.")
    p = Path(zip_path)
    if not p.is_file():
        raise UserInputError("The uploaded file is gone: choose the saved conversation (.zip) again.")
    if p.stat().st_size > MAX_UPLOAD_BYTES:
        raise UserInputError(
            f"{p.name} is larger than {MAX_UPLOAD_BYTES // 2**20} MB: that is not a saved conversation."
        )
    dest = storage.new_session_dir()
    dest.rmdir()  # unpack_zip makes it, and removes it again if it refuses
    unpack_zip(p, dest)
    try:
        conv = pipe.load_conversation(dest, work_dir=dest)
        try:  # the clips play: joined now, before the visitor's conversation is replaced
            whole = pipe.join(conv) if conv.clips else None
        except RuntimeError:
            raise UserInputError(
                "The clips in the zip cannot be played (damaged or not Warm Chat's): save the conversation again."
            ) from None
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    old = session.conv
    session.conv = conv
    if old is not None:
        shutil.rmtree(old.work_dir, ignore_errors=True)
    session.portrait_ids = (None, None)  # the loaded portraits stand until new ones are chosen
    session.notices = [f"Loaded a conversation of {len(conv.tree)} utterances."]
    portraits = (str(conv.work_dir / "agent.png"), str(conv.work_dir / "user.png"))
    return whole, portraits
