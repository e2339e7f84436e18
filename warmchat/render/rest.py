"""The portrait's own expression, so that emotions are shown relative to a neutral face.

A portrait is rarely neutral: the astronaut smiles with open lips, a video still
may have raised brows or a parted mouth. Adding "sad" to a broad smile still
reads as a smile. So, once per portrait, we measure its expression cues
(``warmchat.metrics``: corner lift, brow height, mouth opening, in iod units),
compare them with the range of neutral faces, and turn the excess into channel
weights that undo it (``RestExpression.correction``). The renderer adds that
correction to every frame's expression.

An emotion that wants what the portrait already shows (happy on a smiling face)
gets it back: the channel's ``gain`` makes the emotion's full strength reach at
least the portrait's own activation, so happy keeps the astronaut's smile and
neutral, sad or angry take it away. Everything is linear in the expression, so
intensity still scales smoothly from 0 to 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warmchat.metrics import cues_from_landmarks
from warmchat.motion.tracks import CH, K


@dataclass
class NeutralRange:
    """Upper ends of the cues of neutral faces, iod units.

    From the frames of the 8 shared head-motion videos that the FER-2013 judge
    reads as neutral with the mouth closed (209 frames): corner lift p75 0.044,
    brow height p75 0.355, mouth opening p75 0.011. Only what lies beyond these
    is taken as the portrait's own expression: below them, faces differ by
    identity more than by expression.
    """

    corner_lift: float = 0.04  # mouth corners above the lip centre line (a smile beyond this)
    brow_height: float = 0.38  # brows above the eyes (raised beyond this; high brows are often identity)
    mouth_open: float = 0.012  # gap between the inner lips (parted beyond this)


def _cue_vector(lm: np.ndarray) -> np.ndarray:
    c = cues_from_landmarks(lm)
    return np.array([c.corner_lift, c.brow_height, c.mouth_open])


@dataclass
class RestExpression:
    """What a portrait shows at rest, as channel weights."""

    correction: np.ndarray  # (K,) signed weights added to every frame: they bring the portrait to neutral
    own: np.ndarray  # (K,) >= 0: how strongly the portrait already shows each channel
    cues: dict  # the measured cues and their excess, for messages and the bench

    def apply(self, expression: np.ndarray, full: np.ndarray) -> np.ndarray:
        """(K,) the weights to render for ``expression`` (K,) on this portrait.

        ``full`` (K,) is the largest weight any emotion gives each channel: at
        that weight a channel the portrait already shows reaches the portrait's
        own strength (so an emotion asks for at least what the face shows).
        """
        gain = np.maximum(1.0, self.own / np.maximum(full, 1e-3))
        out = expression * gain + self.correction
        # Closing the portrait's own parted lips already makes them meet: speech's own
        # closures (p, b, m) must not press them further.
        c = CH["mouthClose"]
        out[c] = max(float(self.correction[c]), float(expression[c]))
        return out


def estimate_rest(lm: np.ndarray, basis: np.ndarray, neutral: NeutralRange | None = None) -> RestExpression:
    """Measure the portrait's own smile, raised brows and parted lips (landmarks (478, 3),
    basis (K, 478, 2) in pixels) and the channel weights that take them away."""
    neutral = neutral or NeutralRange()
    base = _cue_vector(lm)

    def effect(channels: list[str]) -> np.ndarray:
        """Cue change per unit weight of these channels together, measured on this face."""
        moved = lm.copy()
        moved[:, :2] += sum(basis[CH[c]] for c in channels)
        return _cue_vector(moved) - base

    correction = np.zeros(K, np.float32)
    own = np.zeros(K, np.float32)
    excess = {
        "corner_lift": max(0.0, base[0] - neutral.corner_lift),
        "brow_height": max(0.0, base[1] - neutral.brow_height),
        "mouth_open": max(0.0, base[2] - neutral.mouth_open),
    }
    # 1. A smile: the smile channels, run backwards, lower and narrow the corners.
    # 2. Raised brows: both brow raisers backwards.
    for cue, i, channels, cap in (
        ("corner_lift", 0, ["mouthSmileLeft", "mouthSmileRight"], 2.0),
        ("brow_height", 1, ["browInnerUp", "browOuterUpLeft", "browOuterUpRight"], 0.7),
    ):
        d = effect(channels)[i]
        if excess[cue] > 0 and d > 1e-4:
            w = float(np.clip(excess[cue] / d, 0.0, cap))
            for c in channels:
                correction[CH[c]] -= w
                own[CH[c]] = w
    # 3. Parted lips: the lips are closed (the channel closes the portrait's own gap).
    d = -effect(["mouthClose"])[2]
    if excess["mouth_open"] > 0 and d > 1e-4:
        correction[CH["mouthClose"]] = float(np.clip(excess["mouth_open"] / d, 0.0, 1.0))
    cues = {"corner_lift": float(base[0]), "brow_height": float(base[1]), "mouth_open": float(base[2])}
    cues.update({f"{k}_excess": float(v) for k, v in excess.items()})
    return RestExpression(correction, own, cues)
