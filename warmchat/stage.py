"""The stage: one utterance performed by the two avatars, from speech to frames in a clip.

The speaker's face follows the speech under the cumulative emotion of its node
(for its role), the listener's follows LEED under its own; both heads come from
CRHMG (``motion.plan.MotionPlanner`` plans the tracks as data). Each avatar's
renderer then draws its track frame by frame, and the last frame's state is
carried over to the next utterance, so the faces never jump.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from warmchat.config import PipelineConfig
from warmchat.conversation import Avatar, Conversation
from warmchat.emotion import EmotionState
from warmchat.hooks import Hooks
from warmchat.motion.plan import MotionPlanner, scaled
from warmchat.motion.tracks import n_frames
from warmchat.render.clip import ClipRender
from warmchat.speech import Speech, pad_to_frames
from warmchat.tree import ITT, Node


class Stage:
    """Plans and renders utterances for any conversation (it holds no conversation's state)."""

    def __init__(self, cfg: PipelineConfig, motion: MotionPlanner, sample_rate: int) -> None:
        self.cfg, self.motion, self.sample_rate = cfg, motion, sample_rate

    def length(self, speech: Speech) -> int:
        """Frames an utterance takes: its speech plus a short quiet tail."""
        return n_frames(speech.duration + self.cfg.tail_s)

    def frames(
        self,
        speaker: Avatar,
        listener: Avatar | None,
        speech: Speech,
        node: Node | None,
        tree: ITT | None,
        rng: np.random.Generator,
        speaker_emotion: EmotionState | None = None,
        strength: float = 1.0,
        liveliness: float = 1.0,
    ) -> tuple[int, Iterator[tuple[np.ndarray, np.ndarray | None]]]:
        """Frame count and a generator of (speaker frame, listener frame) for one utterance.

        The motion is planned now (from the avatars' states); the frames render as the
        generator is read. When it finishes, both avatars' states hold the last frame.
        ``strength`` scales the emotions' intensity, ``liveliness`` the head motion.
        """
        traversal, motion = self.cfg.traversal, self.motion
        T = self.length(speech)
        if speaker_emotion is None:
            speaker_emotion = tree.cumulative_emotion(node.id, traversal, for_role=node.role)
        s_emotion = scaled(speaker_emotion, strength)
        tracks = [(speaker, motion.speaking(speech, s_emotion, T, rng, speaker.state, liveliness))]
        if listener is not None:
            other = "agent" if node.role == "user" else "user"
            l_emotion = scaled(tree.cumulative_emotion(node.id, traversal, for_role=other), strength)
            tracks.append((listener, motion.listening(speech, l_emotion, T, rng, listener.state, liveliness)))

        def frames():
            # Each renderer takes the whole track (the diffusion renderer works in windows of frames).
            streams = [av.renderer.render_many(tr.expression[:T], tr.pose[:T]) for av, tr in tracks]
            for out in zip(*streams):
                yield out[0], (out[1] if len(out) > 1 else None)
            for av, tr in tracks:
                av.state = tr.end

        return T, frames()

    def clip(self, conv: Conversation, path: Path, started: float, times: dict[str, float],
             hooks: Hooks) -> ClipRender:  # fmt: skip
        """A side-by-side clip of ``conv`` (agent left) being written to ``path``."""
        names = (conv.agent.name, conv.user.name)
        return ClipRender(path, self.cfg.portrait.size, names, self.sample_rate, self.cfg.segments,
                          started, times, hooks)  # fmt: skip

    def perform(self, video: ClipRender, conv: Conversation, speaker: Avatar, speech: Speech, node: Node,
                rng: np.random.Generator, span: tuple[float, float],
                poll: Callable[[], None] | None = None) -> None:  # fmt: skip
        """One utterance of ``conv`` into ``video``: ``speaker`` says ``speech`` (its ``node``), the
        other avatar listens. ``span`` is its share of the progress bar; ``poll`` runs after each frame."""
        listener = conv.user if speaker is conv.agent else conv.agent
        tm = time.perf_counter()
        T, frames = self.frames(
            speaker, listener, speech, node, conv.tree, rng,
            strength=conv.expression_strength, liveliness=conv.liveliness,
        )  # fmt: skip
        video.t_motion += time.perf_counter() - tm
        audio = pad_to_frames(speech.audio, speech.sample_rate, T)
        video.utterance(audio, frames, T, speaker is conv.agent, speaker.name, span, poll)
