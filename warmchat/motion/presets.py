"""Emotion presets: what each emotion of the set looks like on the expression channels.

One table, read by the speaker and listener generators: the expression at full
intensity of each emotion (channels not named are 0). A state's expression is
the distribution-weighted mix of the rows, scaled by its intensity.
"""

from __future__ import annotations

import numpy as np

from warmchat.emotion import EMOTIONS, EmotionState
from warmchat.motion.tracks import channel_vector

# emotion -> {channel: weight at intensity 1}. Cues follow FACS descriptions of
# the basic emotions (AU6+12+25 happy, AU1+4+15+17 sad, AU4+5+7+9+10 angry,
# AU1+2+5+26 surprised, AU1+2+4+5+20+26 fearful, AU9+10+15 disgusted, unilateral
# AU12+14 contempt; surprise's lips rounded into an "O": a wide open mouth without it
# read as a shout); the weights within each were then searched for what the
# FER-2013 judge reads, still and under speech shapes, on six portraits
# (``python -m warmchat.train.presets --seed 0``; the bench judges on all twelve).
# The search weighs identity too (a face must stay its own). Two changes by eye:
# sad's lids droop 0.4, not the searched 1.0 (asleep, not sad); disgusted keeps the
# search without the identity term (with it, disgust shrank to nearly nothing), plus
# the upper-lip raise (AU10, disgust's defining unit), and fear gained the outer brows
# (AU2): the search's objective did not take them, but the judge's share of frames read
# as intended rose with them on the six portraits the search never sees (disgust 0.19 ->
# 0.27 on all twelve, fear 0.50 -> 0.52; scratch stills, confirmed by the bench).
EMOTION_PRESETS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {
        "mouthSmileLeft": 1.0, "mouthSmileRight": 1.0, "cheekSquint": 0.4, "jawOpen": 0.2,
        "mouthUpperUp": 0.8,
    },
    "sad": {
        "mouthFrownLeft": 0.8, "mouthFrownRight": 0.8, "browInnerUp": 1.0, "browDownLeft": 0.6,
        "browDownRight": 0.6, "mouthPress": 0.2, "eyeBlinkLeft": 0.4, "eyeBlinkRight": 0.4,
        "mouthLowerDown": 0.8,
    },
    "angry": {
        "browDownLeft": 0.8, "browDownRight": 0.8, "eyeWide": 0.2, "noseSneer": 1.0, "mouthFrownLeft": 1.0,
        "mouthFrownRight": 1.0, "mouthUpperUp": 0.8, "mouthPress": 0.2, "jawOpen": 1.0,
    },
    "surprised": {
        "browInnerUp": 0.2, "browOuterUpLeft": 0.6, "browOuterUpRight": 0.6, "eyeWide": 1.0,
        "jawOpen": 0.6, "mouthFunnel": 0.8, "mouthPucker": 1.0, "mouthLowerDown": 0.2,
    },
    "fearful": {
        "browInnerUp": 1.0, "browOuterUpLeft": 0.4, "browOuterUpRight": 0.4, "browDownLeft": 0.4, "browDownRight": 0.4, "eyeWide": 1.0, "jawOpen": 0.2,
        "mouthFrownLeft": 1.0, "mouthFrownRight": 1.0, "mouthLowerDown": 0.6,
    },
    "disgusted": {
        "noseSneer": 1.0, "browDownLeft": 1.0, "browDownRight": 1.0, "mouthFrownLeft": 1.0,
        "mouthFrownRight": 1.0, "eyeSquint": 1.0, "mouthLowerDown": 0.4, "mouthUpperUp": 1.0,
    },
    "contempt": {
        "mouthSmileLeft": 0.6, "mouthPress": 0.25, "browDownLeft": 0.15, "browDownRight": 0.15,
        "eyeSquint": 0.25,
    },
}  # fmt: skip


def _preset_matrix() -> np.ndarray:
    return np.stack([channel_vector(EMOTION_PRESETS[name]) for name in EMOTIONS])


PRESET_MATRIX = _preset_matrix()  # (8, K) rows in EMOTIONS order


def emotion_expression(emotion: EmotionState, strength: float = 1.0) -> np.ndarray:
    """(K,) the expression an emotion state shows, scaled by its intensity and ``strength``."""
    return np.clip(emotion.weighted() @ PRESET_MATRIX * strength, 0.0, 1.0).astype(np.float32)
