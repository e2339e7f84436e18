"""The listener's face: LEED, the Listener Emotion-Expression Dictionary.

``ListenerMotion`` is the interface; ``LEED`` is the first dictionary: for each
emotion, listening behaviours (an expression to hold, smile or frown onsets,
brow flashes, nods, tilts) with rates and ranges, sampled with variation and
blended smoothly, so it never loops visibly. It reacts to the speaker: nods
land on the pauses in the speaker's speech (the end of a phrase), where people
give backchannels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from warmchat.emotion import EMOTIONS, EmotionState
from warmchat.motion.common import add_blinks, blend_in, blink_curve, smooth_noise
from warmchat.motion.presets import emotion_expression
from warmchat.motion.tracks import CH, FPS, ExpressionTrack, K
from warmchat.speech import Speech, loudness_envelope


@dataclass
class ListenerOutput:
    """What the listener does: an expression track and head-pose offsets to add."""

    expression: ExpressionTrack
    head_offsets: np.ndarray  # (T, 6) added to the head track (POSE_FIELDS order)
    nod_frames: list[int] = field(default_factory=list)  # where nods start


class ListenerMotion(Protocol):
    def generate(
        self,
        emotion: EmotionState,
        n_frames: int,
        rng: np.random.Generator,
        speaker_speech: Speech | None = None,
        start: np.ndarray | None = None,
    ) -> ListenerOutput: ...


@dataclass(frozen=True)
class Behaviour:
    """One emotion's listening style (a row of the dictionary)."""

    hold: float  # fraction of the emotion preset held throughout
    pulse: dict[str, float]  # channels that swell now and then (smile onset, frown, brow flash)
    pulses_per_min: float  # how often they swell
    nods_per_min: float  # backchannel nods per minute (placed on speaker pauses)
    nod_depth_deg: float  # pitch of a nod
    tilt_deg: float  # a held head tilt (roll), sign drawn at random
    blinks_per_min: float


# The dictionary itself: listening behaviour per emotion at intensity 1. Values
# come from observation of listeners (nodding and smiling for engagement, brow
# flashes for surprise, downcast head and few nods for sadness).
LEED_TABLE: dict[str, Behaviour] = {
    "neutral": Behaviour(0.0, {"mouthSmileLeft": 0.25, "mouthSmileRight": 0.25}, 2.0, 6.0, 4.0, 2.0, 18.0),
    "happy": Behaviour(0.7, {"mouthSmileLeft": 0.4, "mouthSmileRight": 0.4, "cheekSquint": 0.3}, 5.0, 10.0, 5.0, 4.0, 18.0),
    "sad": Behaviour(0.8, {"browInnerUp": 0.4, "mouthFrownLeft": 0.2, "mouthFrownRight": 0.2}, 3.0, 4.0, 3.0, 5.0, 14.0),
    "angry": Behaviour(0.75, {"browDownLeft": 0.3, "browDownRight": 0.3, "mouthPress": 0.3}, 3.0, 2.0, 2.5, 1.0, 12.0),
    "surprised": Behaviour(0.6, {"browOuterUpLeft": 0.5, "browOuterUpRight": 0.5, "browInnerUp": 0.4, "eyeWide": 0.4}, 6.0, 5.0, 3.0, 3.0, 12.0),
    "fearful": Behaviour(0.7, {"eyeWide": 0.4, "browInnerUp": 0.4}, 4.0, 3.0, 2.0, 2.0, 22.0),
    "disgusted": Behaviour(0.7, {"noseSneer": 0.4, "mouthUpperUp": 0.3}, 3.0, 2.0, 2.0, 3.0, 16.0),
    "contempt": Behaviour(0.7, {"mouthSmileLeft": 0.3, "browDownLeft": 0.2}, 3.0, 2.0, 2.0, 4.0, 14.0),
}  # fmt: skip


def _pulse_shape(length: int) -> np.ndarray:
    x = np.linspace(0, np.pi, length)
    return (np.sin(x) ** 2).astype(np.float32)


def speech_pauses(speech: Speech | None, n_frames: int, min_gap_s: float = 0.18) -> list[int]:
    """Frames where the speaker pauses (end of a phrase): the listener's cue to nod."""
    if speech is None:
        return []
    loud = loudness_envelope(speech.audio, speech.sample_rate, FPS, n_frames)
    quiet = loud < 0.2
    out, run = [], 0
    for i, q in enumerate(quiet):
        run = run + 1 if q else 0
        if run == int(min_gap_s * FPS) and i > FPS // 2:
            out.append(i - run + 1)
    return out


class LEED:
    """Listener Emotion-Expression Dictionary (hand-made first version)."""

    def __init__(self, strength: float = 1.0) -> None:
        self.strength = strength  # scales every expression the listener shows

    def generate(
        self,
        emotion: EmotionState,
        n_frames: int,
        rng: np.random.Generator,
        speaker_speech: Speech | None = None,
        start: np.ndarray | None = None,
    ) -> ListenerOutput:
        T = n_frames
        vals = np.zeros((T, K), np.float32)
        offsets = np.zeros((T, 6), np.float32)
        # 1. Blend the behaviours of the emotions in the state by their weights.
        w = emotion.dist
        intensity = emotion.intensity
        held = emotion_expression(emotion, self.strength) * sum(
            w[i] * LEED_TABLE[e].hold for i, e in enumerate(EMOTIONS)
        )
        vals += held[None]
        # Slow breathing-like drift so a held face is never frozen.
        vals += 0.05 * intensity * np.abs(smooth_noise(T, rng, 0.2, K)) * (held[None] > 0)
        nods_per_min = sum(w[i] * LEED_TABLE[e].nods_per_min for i, e in enumerate(EMOTIONS))
        nod_depth = sum(w[i] * LEED_TABLE[e].nod_depth_deg for i, e in enumerate(EMOTIONS))
        tilt = sum(w[i] * LEED_TABLE[e].tilt_deg for i, e in enumerate(EMOTIONS))
        blinks = sum(w[i] * LEED_TABLE[e].blinks_per_min for i, e in enumerate(EMOTIONS))
        # 2. Pulses: each emotion in the mix swells its cue channels now and then.
        for i, e in enumerate(EMOTIONS):
            b = LEED_TABLE[e]
            if w[i] < 0.05:
                continue
            n_pulses = rng.poisson(b.pulses_per_min * T / FPS / 60 * w[i])
            for _ in range(n_pulses):
                length = int(rng.uniform(1.0, 2.5) * FPS)
                t0 = int(rng.integers(0, max(T - length // 2, 1)))
                shape = _pulse_shape(length)[: T - t0]
                amp = rng.uniform(0.6, 1.0) * (0.4 + 0.6 * intensity) * self.strength
                for ch, v in b.pulse.items():
                    vals[t0 : t0 + len(shape), CH[ch]] += amp * v * shape
        # 3. Nods: on the speaker's pauses first (backchannels), the rest at
        #    random moments at least a second away from other nods.
        cues = speech_pauses(speaker_speech, T)
        expected = nods_per_min * T / FPS / 60 * (0.5 + intensity)
        n_nods = int(rng.poisson(expected))
        chosen = [int(c) for c in rng.permutation(cues)[:n_nods]] if cues else []
        for _ in range(4 * (n_nods - len(chosen))):  # bounded tries
            if len(chosen) >= n_nods or T < 2 * FPS:
                break
            t0 = int(rng.integers(FPS // 2, T - FPS))
            if all(abs(t0 - c) >= FPS for c in chosen):
                chosen.append(t0)
        chosen.sort()
        nod_len = int(0.6 * FPS)
        for t0 in chosen:
            shape = _pulse_shape(nod_len)[: T - t0]
            offsets[t0 : t0 + len(shape), 1] += nod_depth * rng.uniform(0.7, 1.2) * shape
        # 4. A held, slowly changing tilt (roll) of an attentive listener.
        offsets[:, 2] += tilt * rng.choice([-1, 1]) * (0.6 + 0.4 * smooth_noise(T, rng, 0.1)[:, 0])
        # 5. Blinks; continue from the previous turn's last frame.
        add_blinks(vals, blink_curve(T, rng, blinks))
        vals = blend_in(vals, start, frames=8)
        return ListenerOutput(ExpressionTrack(vals), offsets, [int(c) for c in chosen])
