"""The agent's emotion in the offline engine: which group a message's emotion falls in, and how the agent feels back."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from warmchat.emotion import EMOTIONS, EmotionState

if TYPE_CHECKING:
    from collections.abc import Mapping


# Emotion of the other speaker -> the template group that answers it. Contempt is met
# like anger: validate, don't mirror.
_GROUP: dict[str, str] = {
    "neutral": "neutral",
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
    "surprised": "surprised",
    "fearful": "fearful",
    "disgusted": "disgusted",
    "contempt": "angry",
}

# Template group -> the agent's emotion: (distribution, base intensity, gain with the
# other speaker's intensity). Sadness is met with gentle sadness, joy with joy, anger
# with calm (neutral with a touch of sadness): the agent never answers anger with anger.
_RESPONSE: dict[str, tuple[dict[str, float], float, float]] = {
    "happy": ({"happy": 1.0}, 0.45, 0.4),
    "sad": ({"sad": 0.7, "neutral": 0.3}, 0.35, 0.25),
    "fearful": ({"sad": 0.45, "fearful": 0.25, "neutral": 0.3}, 0.35, 0.2),
    "angry": ({"neutral": 0.65, "sad": 0.35}, 0.3, 0.1),
    "surprised": ({"surprised": 0.6, "happy": 0.4}, 0.4, 0.3),
    "disgusted": ({"disgusted": 0.55, "neutral": 0.45}, 0.3, 0.15),
}

# A neutral message gets the persona's resting friendliness.
_NEUTRAL_RESPONSE: dict[str, tuple[dict[str, float], float, float]] = {
    "warm": ({"neutral": 0.55, "happy": 0.45}, 0.4, 0.0),
    "playful": ({"happy": 0.6, "neutral": 0.4}, 0.45, 0.0),
    "calm": ({"neutral": 0.8, "happy": 0.2}, 0.3, 0.0),
}

# Persona style scales how strongly the face shows it.
_STYLE_GAIN: dict[str, float] = {"warm": 1.0, "playful": 1.15, "calm": 0.8}

# Disgust and contempt are the labels a text classifier most often gives to plain
# sentences; answering "Ew!" to a harmless line is jarring, so they need more evidence.
_CONFIDENCE: dict[str, float] = {"disgusted": 0.6, "contempt": 0.6}

# Feelings that carry over to a following neutral-sounding message.
_CARRIED = ("sad", "fearful", "angry")

# Least probability of the top emotion for the engine to react to it (see ``_group_of``).
MIN_CONFIDENCE = 0.4

# How much of the dialogue's cumulative mood colours the agent's emotion.
MOOD_WEIGHT = 0.2

# Emotions the agent does not take over from the mood (it stays calm, not hostile).
_HOSTILE = ("angry", "disgusted", "contempt")


def _state(dist: Mapping[str, float], intensity: float) -> EmotionState:
    vec = np.array([dist.get(name, 0.0) for name in EMOTIONS])
    return EmotionState(vec, intensity)


def _group_of(state: EmotionState, question_only: bool) -> tuple[str, float]:
    """Template group and intensity of the other speaker's emotion.

    Only a confident label counts (probability >= ``MIN_CONFIDENCE``, more for a
    message that is nothing but questions, which text classifiers read poorly):
    reacting with "Ew, that sounds awful!" to a misread question is far worse than
    reacting neutrally to a mildly emotional one.
    """
    name = state.dominant
    p = float(state.dist.max())
    need = _CONFIDENCE.get(name, MIN_CONFIDENCE) + (0.15 if question_only else 0.0)
    if name != "neutral" and (p < need or state.intensity < 0.15):
        name = "neutral"
    return _GROUP[name], float(state.intensity)
