"""Motion of one utterance as data: what each face does, frame by frame, before anything is drawn.

The speaker's expression follows the speech under its emotion (learned
audio-to-expression model or visemes), the listener's follows LEED under its
own, and both heads come from CRHMG. ``MotionPlanner.plan`` returns the tracks;
rendering them is the renderer's job.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from warmchat.emotion import EmotionState
from warmchat.motion.audio2expr import LearnedSpeaker, LearnedSpeakerConfig
from warmchat.motion.common import blend_in
from warmchat.motion.crhmg import CRHMGConfig, CRHMGHeadMotion
from warmchat.motion.listener import LEED
from warmchat.motion.speaker import SPEAKERS, SpeakerConfig, VisemeSpeaker
from warmchat.motion.tracks import AvatarState
from warmchat.speech import Speech


@dataclass
class Track:
    """One face's motion over an utterance."""

    expression: np.ndarray  # (T, K) expression channel weights
    pose: np.ndarray  # (T, 6) head pose: yaw, pitch, roll (degrees), x, y shift, scale

    @property
    def end(self) -> AvatarState:
        """The state the last frame leaves (the next utterance starts from it)."""
        return AvatarState(self.expression[-1].copy(), self.pose[-1].copy())


def make_speaker(kind: str, emotion_strength: float):
    """The speaker stage by name: the learned audio-to-expression model (default) or the hand-made one.

    The learned speaker itself falls back to the hand-made one, with one logged
    reason, when its weights cannot be loaded.
    """
    check_speaker(kind)
    if kind == "learned":
        return LearnedSpeaker(LearnedSpeakerConfig(emotion_strength=emotion_strength))
    return VisemeSpeaker(SpeakerConfig(emotion_strength=emotion_strength))


def check_speaker(kind: str) -> None:
    """Refuse a speaker name that ``make_speaker`` does not know, saying which it does."""
    if kind not in SPEAKERS:
        raise ValueError(f"Unknown speaker {kind!r}: use one of {', '.join(SPEAKERS)}.")


def scaled(emotion: EmotionState, strength: float) -> EmotionState:
    """The same emotion shown ``strength`` times as strongly (intensity capped at 1)."""
    return emotion if strength == 1.0 else EmotionState(emotion.dist, min(1.0, emotion.intensity * strength))


def lively(pose: np.ndarray, start: np.ndarray, liveliness: float) -> np.ndarray:
    """(T, 6) head poses with their motion scaled by ``liveliness``, starting exactly at ``start``.

    Scaling is about the rest pose (0 degrees, no shift, scale 1), then the first
    frames ease in from ``start`` so the head never jumps.
    """
    rest = np.array([0, 0, 0, 0, 0, 1], np.float32)
    out = rest + (pose - rest) * liveliness if liveliness != 1.0 else pose
    return blend_in(out.astype(np.float32), start, 12)


class MotionPlanner:
    """The three motion models (speaker, listener, heads), loaded once and shared by every conversation."""

    def __init__(self, speaker: str = "learned", expression_strength: float = 1.0, liveliness: float = 1.0):
        check_speaker(speaker)
        self._speaker_kind, self._strength, self._liveliness = speaker, expression_strength, liveliness
        # The speaker and head models load on first use, once (their weights bring torch: ~1.4 s
        # that the app would otherwise spend before serving its page); the app's warm-up uses them.
        self._load_lock = threading.Lock()
        self._speaker = None
        self._head: CRHMGHeadMotion | None = None
        self.listener = LEED(strength=expression_strength)

    def _loaded(self, attr: str, make):
        """``self.<attr>``, made by ``make()`` the first time, once however many threads ask."""
        if getattr(self, attr) is None:
            with self._load_lock:
                if getattr(self, attr) is None:
                    setattr(self, attr, make())
        return getattr(self, attr)

    @property
    def speaker(self):
        """The speaker stage (``make_speaker``), loaded on first use."""
        return self._loaded("_speaker", lambda: make_speaker(self._speaker_kind, self._strength))

    @speaker.setter
    def speaker(self, stage) -> None:
        self._speaker = stage

    @property
    def head(self) -> CRHMGHeadMotion:
        """The head-motion generator, loaded on first use (falls back to noise, saying why)."""
        return self._loaded("_head", lambda: CRHMGHeadMotion(CRHMGConfig(liveliness=self._liveliness)))

    def describe(self) -> dict[str, str]:
        """Stage -> back end in words, with the reason for any fallback (``WarmChatPipeline.status``)."""
        why = getattr(self.speaker, "fallback_reason", None)
        if isinstance(self.speaker, VisemeSpeaker):
            lips = "hand-made visemes"
        else:
            lips = "learned audio2expr" if why is None else f"hand-made visemes (fell back: {why})"
        cal = self.listener.calibration.source
        listener = (
            f"LEED, built-in table{cal[len('built-in') :]}"
            if cal.startswith("built-in")
            else "LEED, calibrated"
        )
        head = "CRHMG" if self.head.fallback is None else f"noise (fell back: {self.head.fallback_reason})"
        return {"lips": lips, "listener": listener, "head motion": head}

    def speaking(self, speech: Speech, emotion: EmotionState, T: int, rng: np.random.Generator,
                 start: AvatarState, liveliness: float = 1.0) -> Track:  # fmt: skip
        """The speaker's T frames: lips on ``speech``, face and head under ``emotion``."""
        expr = self.speaker.generate(speech, emotion, T, rng, start.expression)
        head = self.head.generate("speaker", emotion, T, rng, start.pose, speech)
        return Track(expr.values, lively(head.as_array(), start.pose, liveliness))

    def listening(self, speech: Speech, emotion: EmotionState, T: int, rng: np.random.Generator,
                  start: AvatarState, liveliness: float = 1.0) -> Track:  # fmt: skip
        """The listener's T frames: LEED's reactions to ``speech`` under ``emotion``, with its nods on the head."""
        lo = self.listener.generate(emotion, T, rng, speech, start.expression)
        head = self.head.generate("listener", emotion, T, rng, start.pose)
        # LEED's nods and tilt go on top, eased in like the rest.
        return Track(lo.expression.values, lively(head.as_array() + lo.head_offsets, start.pose, liveliness))
