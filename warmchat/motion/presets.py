"""Emotion presets: what each emotion of the set looks like on the expression channels.

One table, read by the speaker and listener generators: the expression at full
intensity of each emotion (channels not named are 0). A state's expression is
the distribution-weighted mix of the rows, scaled by its intensity.
"""

from __future__ import annotations

import numpy as np

from warmchat.emotion import EMOTIONS, EmotionState
from warmchat.motion.tracks import CH, K

# emotion -> {channel: weight at intensity 1}. Cues follow FACS descriptions of
# the basic emotions (AU6+12 happy, AU1+4+15 sad, AU4+5+7+23 angry, AU1+2+5+26
# surprised, AU1+2+4+5+20 fearful, AU9+10 disgusted, unilateral AU12+14 contempt).
EMOTION_PRESETS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {"mouthSmileLeft": 0.8, "mouthSmileRight": 0.8, "cheekSquint": 0.5, "eyeSquint": 0.2},
    "sad": {
        "mouthFrownLeft": 0.7, "mouthFrownRight": 0.7, "browInnerUp": 0.9, "mouthPress": 0.2,
        "eyeBlinkLeft": 0.15, "eyeBlinkRight": 0.15,
    },
    "angry": {
        "browDownLeft": 1.0, "browDownRight": 1.0, "mouthPress": 0.5, "noseSneer": 0.3,
        "eyeSquint": 0.4, "eyeWide": 0.15,
    },
    "surprised": {
        "browInnerUp": 0.8, "browOuterUpLeft": 0.9, "browOuterUpRight": 0.9, "eyeWide": 0.9,
        "jawOpen": 0.22,
    },
    "fearful": {
        "browInnerUp": 1.0, "browOuterUpLeft": 0.4, "browOuterUpRight": 0.4, "eyeWide": 0.7,
        "mouthStretchLeft": 0.6, "mouthStretchRight": 0.6, "jawOpen": 0.08,
    },
    "disgusted": {
        "noseSneer": 0.9, "mouthUpperUp": 0.6, "browDownLeft": 0.45, "browDownRight": 0.45,
        "mouthFrownLeft": 0.35, "mouthFrownRight": 0.35, "eyeSquint": 0.35,
    },
    "contempt": {
        "mouthSmileLeft": 0.6, "mouthPress": 0.25, "browDownLeft": 0.15, "browDownRight": 0.15,
        "eyeSquint": 0.25,
    },
}  # fmt: skip


def _preset_matrix() -> np.ndarray:
    m = np.zeros((len(EMOTIONS), K), np.float32)
    for i, name in enumerate(EMOTIONS):
        for ch, w in EMOTION_PRESETS[name].items():
            m[i, CH[ch]] = w
    return m


PRESET_MATRIX = _preset_matrix()  # (8, K) rows in EMOTIONS order


def emotion_expression(emotion: EmotionState, strength: float = 1.0) -> np.ndarray:
    """(K,) the expression an emotion state shows, scaled by its intensity and ``strength``."""
    return np.clip(emotion.weighted() @ PRESET_MATRIX * strength, 0.0, 1.0).astype(np.float32)
