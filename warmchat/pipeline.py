"""One conversation turn, end to end: the pipeline object the CLI and the app share.

A turn is two utterances: the user's (spoken by the user's avatar) and the
agent's reply. Each is rendered with one avatar speaking and the other
listening, so the roles switch once in the middle of a turn clip.

    1. validate the message           5. ITT: the agent's node, as soon as the
    2. the user's emotion and speech,    reply is written (``hooks.reply``)
       ITT: the user's node           6. the agent's utterance: tracks, frames
    3. in the background: dialogue       (the user's are done by then)
       reply + emotion, its speech    7. the turn clip: segments joined,
    4. at once, the user's utterance:    H.264 + AAC
       tracks (speaker, LEED           8. carry the last frame's state over
       listener, heads), frames,
       short segments (``hooks.segment``)

The user's utterance needs only its own speech, so its frames start while the
reply is still being written: the first segment is out well before the turn
ends, and a player can start on it (the app streams them).

Models load once in ``WarmChatPipeline``; everything that belongs to one
conversation (tree, portraits, states, files) lives in a ``Conversation``, so
one pipeline serves many sessions.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from warmchat import conversation
from warmchat.config import PipelineConfig
from warmchat.conversation import Avatar, Conversation, TurnResult, check_message
from warmchat.dialogue import make_engine
from warmchat.dialogue.base import DEFAULT_PERSONA, PARTNER_PERSONA, DialogueEngine, Persona
from warmchat.emotion import EmotionState, TextEmotionClassifier
from warmchat.errors import TextInputError, UserInputError
from warmchat.hooks import Hooks
from warmchat.motion.plan import MotionPlanner
from warmchat.motion.tracks import FPS
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT
from warmchat.render.diffusion import Renderers
from warmchat.render.face import FaceModel
from warmchat.render.tracer import FaceTracer
from warmchat.render.video import Mp4Writer, SegmentedClipWriter, concat_mp4
from warmchat.reply import PendingReply, next_user_line
from warmchat.script import ScriptLine
from warmchat.speech import NEURAL_VOICES, TTS, Speech, Transcriber, load_audio, pad_to_frames, save_wav
from warmchat.stage import Stage
from warmchat.tree import ITT, Node

__all__ = ["Avatar", "Conversation", "PipelineConfig", "TurnResult", "WarmChatPipeline", "check_message"]

log = logging.getLogger(__name__)


class WarmChatPipeline:
    """Runs conversation turns. Load once, share across conversations."""

    def __init__(
        self,
        config: PipelineConfig | None = None,
        dialogue: DialogueEngine | None = None,
        tts: TTS | None = None,
        classifier: TextEmotionClassifier | None = None,
        motion: MotionPlanner | None = None,
        tracer: FaceTracer | None = None,
        ears: Transcriber | None = None,
    ) -> None:
        """Components not given are built from ``config``: the cheap ones now, the text
        classifier, the dialogue engine and the ears on first use (so ``say`` starts fast; the
        app calls ``preload()`` so its first turn does not wait). ``from_config`` builds all now."""
        self.cfg = cfg = config or PipelineConfig()
        self._classifier, self._dialogue, self._ears = classifier, dialogue, ears
        self._lazy_lock = threading.Lock()  # two first turns at once must not load two models
        self.tts = tts or TTS(cfg.tts, cfg.neural)
        self.motion = motion or MotionPlanner(cfg.speaker, cfg.expression_strength, cfg.liveliness)
        self.stage = Stage(cfg, self.motion, self.tts.sample_rate)  # plans and renders utterances
        self.tracer = tracer or FaceTracer()  # MediaPipe; remembers the last few portraits traced
        # The warp renderer, or the diffusion one when asked for and it can run (it loads now).
        self.renderers = Renderers(cfg.renderer, cfg.warp, cfg.diffusion)

    @classmethod
    def from_config(cls, config: PipelineConfig | None = None) -> WarmChatPipeline:
        """Every component built now, from one config tree: the constructor builds the cheap
        ones, and asking for the dialogue engine builds it and the text classifier it reads with."""
        pipe = cls(config)
        _ = pipe.dialogue, pipe.ears
        return pipe

    @property
    def classifier(self) -> TextEmotionClassifier:
        with self._lazy_lock:
            if self._classifier is None:
                self._classifier = TextEmotionClassifier(self.cfg.classifier)
            return self._classifier

    @property
    def ears(self) -> Transcriber:
        with self._lazy_lock:
            self._ears = self._ears or Transcriber(self.cfg.asr)
            return self._ears

    @property
    def dialogue(self) -> DialogueEngine:
        if self._dialogue is None:
            engine = make_engine(self.cfg.llm, self.classifier)
            with self._lazy_lock:
                if self._dialogue is None:
                    self._dialogue = engine
        return self._dialogue

    def status(self) -> dict[str, str]:
        """Stage -> the back end that runs it (and why it fell back, if it did): shown in the app,
        kept in the bench's JSON. Loads the text classifier and the dialogue engine if not yet loaded."""
        return {
            "text emotion": self.classifier.describe(),
            "dialogue": self.dialogue.describe(),
            "speech": "; ".join(
                self.tts.describe_voice(v) for v in (self.cfg.agent_voice, self.cfg.user_voice)
            ),
            "ears": self.ears.describe(),
            **self.motion.describe(),
            "face tracker": self.tracer.describe(),
            "renderer": self.renderers.status,
        }

    def preload(self) -> None:
        """Load every model now (the text classifier, the dialogue engine, eSpeak, MediaPipe,
        the motion models), so that a visitor's first turn starts as fast as later ones."""
        self.classifier.classify("hello")
        _ = self.dialogue
        speech = self.tts.synthesize("Hi.")
        self.ears.transcribe(speech)
        _ = [self.tts.synthesize("Hi.", voice=v) for v in NEURAL_VOICES]  # load them: a visitor may pick one
        # MediaPipe and the motion models pay about a second on first use; a
        # few frames of one avatar pay it here.
        av = self.make_avatar(DEFAULT_AGENT_PORTRAIT, "warm-up", self.cfg.agent_voice, DEFAULT_PERSONA)
        self.prepare_portrait(DEFAULT_USER_PORTRAIT)  # both defaults ready for every visitor
        _, frames = self.stage.frames(
            av, None, speech, None, None, np.random.default_rng(0), EmotionState.of("neutral", 0.0)
        )
        first = [np.concatenate([f, f], 1) for f, _ in itertools.islice(frames, 3)]
        # ... and the first ffmpeg run of a big static binary reads it from disk.
        with tempfile.TemporaryDirectory(prefix="warmchat.warm-up-") as tmp:
            s = self.cfg.portrait.size
            with SegmentedClipWriter(Path(tmp) / "w.mp4", 2 * s, s, self.tts.sample_rate) as w:
                w.add_audio(np.zeros(round(len(first) * self.tts.sample_rate / FPS), np.float32))
                for f in first:
                    w.write(f)

    # ------------------------------------------------------------------ set-up
    def make_avatar(self, portrait, name: str, voice: str, persona: Persona) -> Avatar:
        """An avatar of a portrait (path, PIL image or array): its traced face and renderer."""
        face, renderer = self.prepare_portrait(portrait)
        return Avatar(name, face, renderer, self.tts.check_voice(voice), persona)

    def prepare_portrait(self, portrait) -> tuple[FaceModel, object]:
        """Trace a portrait and build its renderer, both remembered: an avatar of it starts at once."""
        face = self.trace_portrait(portrait)
        return face, self.renderers.make(face)

    def trace_portrait(self, portrait) -> FaceModel:
        """The tracer's ``trace`` (raises PortraitError); files are remembered by content."""
        return self.tracer.trace(portrait, self.cfg.portrait)

    def new_conversation(
        self,
        agent_portrait,
        user_portrait,
        work_dir: str | Path | None = None,
        agent_persona: Persona | None = None,
        user_persona: Persona | None = None,
    ) -> Conversation:
        """Start a conversation between two portraits; files go to ``work_dir`` (a new temp dir by default)."""
        ap = agent_persona or DEFAULT_PERSONA
        up = user_persona or PARTNER_PERSONA
        agent = self.make_avatar(agent_portrait, ap.name, self.cfg.agent_voice, ap)
        user = self.make_avatar(
            user_portrait, "You" if user_persona is None else up.name, self.cfg.user_voice, up
        )
        wd = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="warmchat-"))
        wd.mkdir(parents=True, exist_ok=True)
        conv = Conversation(agent, user, ITT(), wd, seed=self.cfg.seed)
        self.save_conversation(conv)
        return conv

    # ------------------------------------------------------------------ save / load
    def save_conversation(self, conv: Conversation) -> Path:
        """``conversation.save``: everything needed to continue later, into ``conv.work_dir``."""
        return conversation.save(conv)

    def load_conversation(self, folder: str | Path, work_dir: str | Path | None = None) -> Conversation:
        """``conversation.load``: open a saved conversation (checked first) and continue it."""
        return conversation.load(folder, self.make_avatar, work_dir)

    # ------------------------------------------------------------------ one turn
    def run_turn(
        self,
        conv: Conversation,
        message: str | None = None,
        user_audio: str | Path | None = None,
        agent_emotion: EmotionState | None = None,
        parent: str | None = None,
        hooks: Hooks | None = None,
        user_emotion: EmotionState | None = None,
    ) -> TurnResult:
        """Run one turn: the user's avatar says ``message`` (or ``user_audio``), the agent replies.

        ``parent`` is the node to continue from (default: the current node); a
        parent that already has children starts a new branch (an edit). ``hooks``
        hear the progress, the reply as soon as it is written and each segment as
        soon as it is encoded (``warmchat.hooks``), on the thread that runs the turn.
        """
        cfg, tree = self.cfg, conv.tree
        hooks = hooks or Hooks()
        notices: list[str] = []
        t0 = time.perf_counter()
        times: dict[str, float] = {}
        parent = tree.node(parent if parent is not None else tree.current).id
        if tree.node(parent).role == "user":
            raise UserInputError("A new message continues after a reply: pick an agent node (or the start).")

        # A turn is atomic: if anything below fails, the tree and the folder are as before it.
        with conv.atomic():
            # 1. Validate the input before anything changes.
            user_speech = None
            audio_name = None
            if user_audio is not None:
                user_speech = load_audio(user_audio, self.tts.sample_rate, cfg.max_user_audio_s)
                text, heard = self.ears.heard(user_speech, message)  # typed words win; else the transcript
                notices += [heard] if heard else []
                audio_name = f"user_{conv.turn + 1:03d}.wav"  # kept, so a regenerated reply can replay it
                save_wav(conv.work_dir / audio_name, user_speech.audio, user_speech.sample_rate)
            else:
                text, cut = check_message(message, cfg.max_message_chars)
                if cut:
                    notices.append(cut)

            # 2. The user's emotion and speech (speech first: text that cannot be
            #    spoken is refused before the tree changes).
            hooks.progress(0.05, "Reading the message's emotion")
            # A line whose writer knows its feeling (the second persona) keeps it: the text
            # classifier misreads light chat ("the way it never gets old" as sad), and the
            # misread would turn the whole talk sad through the tree's mood.
            user_emotion = user_emotion or self.classifier.classify(text)
            if user_speech is None:
                user_speech = self.tts.synthesize(text, user_emotion, voice=conv.user.voice)
            user_node = tree.add_child(
                parent, "user", conv.user.name, text, user_emotion, audio_path=audio_name
            )
            times["emotion_user_tts"] = time.perf_counter() - t0
            return self._answer(conv, user_node, user_speech, agent_emotion, hooks, times, notices, t0)

    def regenerate(self, conv: Conversation, agent_node: str | None = None,
                   agent_emotion: EmotionState | None = None, hooks: Hooks | None = None) -> TurnResult:  # fmt: skip
        """A new reply to the same user message: a sibling of ``agent_node`` (default: the current one);
        ``hooks`` as in ``run_turn``."""
        tree = conv.tree
        node = tree.node(agent_node or tree.current)
        if node.role != "agent":
            raise UserInputError("Only a reply can be regenerated: pick one of the agent's nodes.")
        user_node = tree.node(node.parent)
        with conv.atomic():  # as a turn: all of it or nothing
            t0 = time.perf_counter()
            if user_node.audio_path:
                speech = load_audio(
                    conv.work_dir / user_node.audio_path, self.tts.sample_rate, self.cfg.max_user_audio_s
                )
            else:
                speech = self.tts.synthesize(user_node.text, user_node.emotion, voice=conv.user.voice)
            return self._answer(conv, user_node, speech, agent_emotion, hooks or Hooks(), {}, [], t0)

    def edit(
        self, conv: Conversation, user_node: str, message: str, hooks: Hooks | None = None
    ) -> TurnResult:
        """Say something else instead of an earlier user message: a sibling branch, nothing overwritten."""
        node = conv.tree.node(user_node)
        if node.role != "user":
            raise UserInputError("Only a user message can be edited: pick one of your nodes.")
        return self.run_turn(conv, message, parent=node.parent, hooks=hooks)

    def _answer(self, conv: Conversation, user_node: Node, user_speech: Speech, agent_emotion: EmotionState | None,
                hooks: Hooks, times: dict[str, float], notices: list[str], t0: float) -> TurnResult:  # fmt: skip
        """Steps 3-8 of a turn for ``user_node``: reply and speech, frames, segments, clip."""
        conv.restore_states(user_node.parent)  # the faces continue from where this branch left them
        # 3. The agent's reply and its speech, written on a thread of their own (warmchat.reply).
        reply = PendingReply(conv.dialogue or self.dialogue, self.tts, conv, user_node, self.cfg.traversal, agent_emotion, hooks,
                             times, notices, t0)  # fmt: skip
        clip = conv.work_dir / f"turn_{conv.turn + 1:03d}.mp4"
        rng = np.random.default_rng([conv.seed, conv.turn])
        with self.stage.clip(conv, clip, t0, times, hooks) as video:
            # 4. The user's utterance, at once: it needs only its own speech. Between its frames,
            # 5. the agent's node joins the tree as soon as the reply is written.
            self.stage.perform(video, conv, conv.user, user_speech, user_node, rng, (0.1, 0.5), reply.poll)
            # 6. The agent's utterance (the reply waited for, if it is not written yet).
            agent_node, agent_speech = reply.wait()
            self.stage.perform(video, conv, conv.agent, agent_speech, agent_node, rng, (0.5, 0.95))
        # 7. (closing the render joined the segments into the clip)

        # 8. Record the clip and the faces' end state in the tree, and save it all.
        agent_node.clip_path = clip.name
        conv.record_states(agent_node)
        conv.turn += 1
        self.save_conversation(conv)
        times["total"] = time.perf_counter() - t0
        hooks.progress(1.0, "Done")
        return TurnResult(clip, user_node, agent_node, notices, times, video.duration_s, video.segments)

    def next_user_message(self, conv: Conversation) -> tuple[str, EmotionState, str | None]:
        """The user side's next line in agent <-> agent mode (``reply.next_user_line``)."""
        return next_user_line(conv.dialogue or self.dialogue, conv, self.cfg.traversal)

    # ------------------------------------------------------------------ say
    def say(
        self,
        portrait,
        out: str | Path,
        text: str | None = None,
        audio: str | Path | Speech | None = None,
        emotion: EmotionState | None = None,
        seed: int | None = None,
    ) -> Path:
        """Render one avatar speaking ``text`` (via TTS) or ``audio`` (a file or a ``Speech``) to ``out``."""
        emotion = emotion or EmotionState.of("neutral", 0.0)
        if isinstance(audio, Speech):
            speech = audio
        elif audio is not None:
            speech = load_audio(audio, self.tts.sample_rate, max_seconds=120.0)
        else:
            text, _ = check_message(text, 5000)
            speech = self.tts.synthesize(text, emotion, voice=self.cfg.agent_voice)
        av = self.make_avatar(portrait, "Avatar", self.cfg.agent_voice, DEFAULT_PERSONA)
        rng = np.random.default_rng([self.cfg.seed if seed is None else seed])
        T, gen = self.stage.frames(av, None, speech, None, None, rng, speaker_emotion=emotion)
        out = Path(out)
        wav = out.with_suffix(".speech.wav")
        save_wav(wav, pad_to_frames(speech.audio, speech.sample_rate, T), speech.sample_rate)
        s = self.cfg.portrait.size
        try:
            with Mp4Writer(out, s, s, wav) as w:
                for frame, _ in gen:
                    w.write(frame)
        finally:
            wav.unlink(missing_ok=True)
        return out

    def replay(
        self,
        conv: Conversation,
        lines: list[ScriptLine],
        hooks: Hooks | None = None,
    ) -> list[Path]:
        """Render a scripted conversation: each line spoken by its avatar while the other listens.

        Lines are added to the tree after the current node (A as the agent, B as
        the user) with their given emotion, or the one read from the text; every
        two lines make one clip. ``hooks`` as in ``run_turn``, for all clips in turn;
        ``hooks.reply`` hears each clip's last node as soon as its lines are in the tree.
        """
        hooks = hooks or Hooks()
        with conv.atomic():  # the whole script or nothing
            # 1. Speech for every line first, so a line that cannot be spoken fails before anything changes.
            plan = []
            for ln in lines:
                av = conv.agent if ln.speaker == "A" else conv.user
                emo = (
                    EmotionState.of(ln.emotion, ln.intensity)
                    if ln.emotion
                    else self.classifier.classify(ln.text)
                )
                plan.append((ln, av, emo, self.tts.synthesize(ln.text, emo, voice=av.voice)))
            clips = []
            for k in range(0, len(plan), 2):
                # 2. Nodes, then one clip per pair of lines.
                t0 = time.perf_counter()
                conv.restore_states(conv.tree.current)
                utterances = []
                for ln, av, emo, speech in plan[k : k + 2]:
                    role = "agent" if ln.speaker == "A" else "user"
                    node = conv.tree.add_child(conv.tree.current, role, av.name, ln.text, emo, scripted=True)
                    utterances.append((av, speech, node))
                hooks.reply(node)
                clip = conv.work_dir / f"turn_{conv.turn + 1:03d}.mp4"
                done = min(1.0, (k + 2) / len(plan))
                part = hooks.part(k / len(plan), done)  # this clip's share of the bar
                rng = np.random.default_rng([conv.seed, conv.turn])
                with self.stage.clip(conv, clip, t0, {}, part) as video:
                    share = 0.9 / len(utterances)
                    for i, (speaker, speech, u_node) in enumerate(utterances):
                        self.stage.perform(
                            video, conv, speaker, speech, u_node, rng, (i * share, (i + 1) * share)
                        )
                node.clip_path = clip.name
                conv.record_states(node)
                conv.turn += 1
                clips.append(clip)
                hooks.progress(done, f"Rendered lines {k + 1}-{min(k + 2, len(plan))} of {len(plan)}")
            self.save_conversation(conv)
            return clips

    def join(self, conv: Conversation, out: str | Path | None = None) -> Path:
        """The whole conversation so far as one mp4."""
        if not conv.clips:
            raise TextInputError("There is no turn yet: send a message first.")
        return concat_mp4(conv.clips, out or conv.work_dir / "conversation.mp4")
