"""Head motion for both roles: smooth, random, role- and emotion-dependent.

``HeadMotion`` is the interface. The CRHMG Transformer (``motion/crhmg.py``,
weights in ``assets/models/crhmg.pt``) is the default behind it;
``NoiseHeadMotion`` here (band-limited noise per pose field, with amplitudes and
a resting offset per role and emotion, and speech-driven emphasis for the
speaker) is the fallback when those weights cannot be loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from warmchat.emotion import EMOTIONS, EmotionState
from warmchat.motion.common import blend_in, smooth_noise
from warmchat.motion.tracks import FPS, HeadTrack
from warmchat.speech import Speech, loudness_envelope


class HeadMotion(Protocol):
    def generate(
        self,
        role: str,
        emotion: EmotionState,
        n_frames: int,
        rng: np.random.Generator,
        start_pose: np.ndarray | None = None,
        speech: Speech | None = None,
    ) -> HeadTrack:
        """``role`` is "speaker" or "listener"; ``start_pose`` (6,) the previous last pose."""
        ...


# Standard deviation of (yaw, pitch, roll) in degrees per role, and of (tx, ty) in pixels.
_ROLE_STD = {"speaker": (3.0, 2.2, 1.6, 2.0, 1.5), "listener": (1.6, 1.2, 1.0, 1.0, 0.8)}
# Per emotion: (motion gain, resting pitch offset in degrees, resting yaw offset).
# Sad heads hang low and move little; surprised ones pull back and up; happy
# and angry ones move more.
_EMOTION_HEAD = {
    "neutral": (1.0, 0.0, 0.0),
    "happy": (1.3, -1.0, 0.0),
    "sad": (0.6, 5.0, 0.0),
    "angry": (1.2, 2.5, 0.0),
    "surprised": (1.1, -3.0, 0.0),
    "fearful": (0.8, 1.5, 2.0),
    "disgusted": (0.9, -1.0, -3.0),
    "contempt": (0.9, -2.0, 3.0),
}


@dataclass
class HeadConfig:
    """Settings of the noise head-motion generator."""

    liveliness: float = 1.0  # overall motion scale (the app's slider)
    cutoff_hz: float = 0.6  # slowest drifts vs quickest movements
    speech_pitch_deg: float = 2.5  # extra downward nod on loud syllables (speaker)


class NoiseHeadMotion:
    """Band-limited random head motion shaped by role, emotion and speech."""

    def __init__(self, config: HeadConfig | None = None) -> None:
        self.cfg = config or HeadConfig()

    def generate(
        self,
        role: str,
        emotion: EmotionState,
        n_frames: int,
        rng: np.random.Generator,
        start_pose: np.ndarray | None = None,
        speech: Speech | None = None,
    ) -> HeadTrack:
        if role not in _ROLE_STD:
            raise ValueError(f"role must be 'speaker' or 'listener', got {role!r}")
        cfg, T = self.cfg, n_frames
        w = emotion.dist
        gain, pitch0, yaw0 = (
            sum(w[i] * _EMOTION_HEAD[e][j] for i, e in enumerate(EMOTIONS)) for j in range(3)
        )
        gain = 1 + (gain - 1) * emotion.intensity
        std = np.array(_ROLE_STD[role]) * gain * cfg.liveliness
        # 1. Slow drift plus quicker movements, per field.
        slow = smooth_noise(T, rng, cfg.cutoff_hz * 0.4, 5)
        fast = smooth_noise(T, rng, cfg.cutoff_hz * 1.5, 5)
        motion = (0.8 * slow + 0.45 * fast) * std[None]  # (T, 5)
        pose = np.zeros((T, 6), np.float32)
        pose[:, :5] = motion
        pose[:, 5] = 1.0 + 0.006 * smooth_noise(T, rng, 0.2)[:, 0] * cfg.liveliness
        # 2. The emotion's resting offset.
        pose[:, 1] += pitch0 * emotion.intensity
        pose[:, 0] += yaw0 * emotion.intensity
        # 3. Speakers dip the head a little on loud syllables (beat gestures).
        if role == "speaker" and speech is not None:
            loud = loudness_envelope(speech.audio, speech.sample_rate, FPS, T)
            beat = np.convolve(loud, np.hanning(9) / np.hanning(9).sum(), "same")
            pose[:, 1] += cfg.speech_pitch_deg * cfg.liveliness * (beat - beat.mean())
        # 4. Continue from the previous turn's last pose.
        pose = blend_in(pose, start_pose, frames=12)
        return HeadTrack.from_array(pose)
