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
# the basic emotions (AU6+12+25 happy, AU1+4+15+17 sad, AU4+5+7+9+10 angry,
# AU1+2+5+26 surprised, AU1+2+4+5+20+26 fearful, AU9+10+15 disgusted, unilateral
# AU12+14 contempt); the weights within each were then searched (coordinate
# search, seed 0) for what a FER-2013 classifier reads as intended on still
# frames of six portraits (astronaut, Grace Hopper, four video stills), and
# checked on portraits outside that set (see the README's figures).
EMOTION_PRESETS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {
        "mouthSmileLeft": 0.95, "mouthSmileRight": 0.95, "cheekSquint": 0.3, "jawOpen": 0.3,
        "mouthUpperUp": 0.3, "mouthStretchLeft": 0.25, "mouthStretchRight": 0.25,
    },
    "sad": {
        "mouthFrownLeft": 1.0, "mouthFrownRight": 1.0, "browInnerUp": 1.0, "mouthPress": 0.6,
        "browDownLeft": 0.4, "browDownRight": 0.4, "eyeBlinkLeft": 0.3, "eyeBlinkRight": 0.3,
    },
    "angry": {
        "browDownLeft": 1.0, "browDownRight": 1.0, "eyeSquint": 0.7, "eyeWide": 0.5, "noseSneer": 0.8,
        "mouthFrownLeft": 0.5, "mouthFrownRight": 0.5, "mouthUpperUp": 0.35, "jawOpen": 0.15,
    },
    "surprised": {
        "browInnerUp": 0.7, "browOuterUpLeft": 1.0, "browOuterUpRight": 1.0, "eyeWide": 0.8,
        "jawOpen": 0.6, "mouthFunnel": 0.5,
    },
    "fearful": {
        "browInnerUp": 1.0, "browOuterUpLeft": 0.8, "browOuterUpRight": 0.8, "browDownLeft": 0.25,
        "browDownRight": 0.25, "eyeWide": 0.95, "mouthStretchLeft": 0.75, "mouthStretchRight": 0.75,
        "jawOpen": 0.4,
    },
    "disgusted": {
        "noseSneer": 0.75, "mouthUpperUp": 0.95, "browDownLeft": 0.3, "browDownRight": 0.3,
        "mouthFrownLeft": 0.45, "mouthFrownRight": 0.45, "eyeSquint": 0.7, "cheekSquint": 0.2,
        "jawOpen": 0.1,
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
