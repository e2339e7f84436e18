"""The emotion value type: the emotion set, ``EmotionState`` and mixing.

An emotion is a distribution over the eight MEAD emotions plus an intensity in
[0, 1]. Everything downstream (the ITT, the faces, the voice) reads
``EmotionState``; this module imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from warmchat.errors import UserInputError

# The MEAD emotion set, in a fixed order: vectors index into this tuple.
EMOTIONS: tuple[str, ...] = (
    "neutral",
    "happy",
    "sad",
    "angry",
    "surprised",
    "fearful",
    "disgusted",
    "contempt",
)
N_EMOTIONS = len(EMOTIONS)

# One colour per emotion for the tree view and labels (CSS hex).
EMOTION_COLORS: dict[str, str] = {
    "neutral": "#9e9e9e",
    "happy": "#f2b705",
    "sad": "#3b6fb6",
    "angry": "#d7263d",
    "surprised": "#f28c28",
    "fearful": "#7b4fa0",
    "disgusted": "#4c9a2a",
    "contempt": "#8d6e63",
}


def check_emotion_name(name: str) -> str:
    """Return ``name`` normalised, or raise a UserInputError listing the valid names."""
    key = str(name).strip().lower()
    if key not in EMOTIONS:
        raise UserInputError(f"Unknown emotion {name!r}: use one of {', '.join(EMOTIONS)}.")
    return key


def check_intensity(x: float) -> float:
    """Return ``x`` as a float in [0, 1], or raise a UserInputError."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise UserInputError(f"Intensity {x!r} is not a number: use a value between 0 and 1.") from None
    if not 0.0 <= v <= 1.0 or np.isnan(v):
        raise UserInputError(f"Intensity {x!r} is out of range: use a value between 0 and 1.")
    return v


@dataclass
class EmotionState:
    """A distribution over ``EMOTIONS`` plus an intensity.

    ``dist`` sums to 1 (it is normalised on construction); ``intensity`` is how
    strongly the emotion is expressed, 0 = flat, 1 = as strong as the face allows.
    """

    dist: np.ndarray = field(default_factory=lambda: one_hot_vector("neutral"))  # (8,) float
    intensity: float = 0.5  # in [0, 1]

    def __post_init__(self) -> None:
        d = np.asarray(self.dist, dtype=np.float64).reshape(-1)
        if d.shape != (N_EMOTIONS,):
            raise ValueError(f"emotion distribution must have {N_EMOTIONS} entries, got {d.shape}")
        d = np.clip(np.nan_to_num(d), 0.0, None)
        s = d.sum()
        self.dist = d / s if s > 0 else one_hot_vector("neutral")
        self.intensity = float(np.clip(self.intensity, 0.0, 1.0))

    @classmethod
    def of(cls, name: str, intensity: float = 0.6) -> EmotionState:
        """A pure emotion by name, e.g. ``EmotionState.of("happy", 0.8)``."""
        return cls(one_hot_vector(check_emotion_name(name)), intensity)

    @property
    def dominant(self) -> str:
        """The most probable emotion's name."""
        return EMOTIONS[int(np.argmax(self.dist))]

    def weighted(self) -> np.ndarray:
        """(8,) the distribution scaled by intensity: how much of each emotion to show."""
        return self.dist * self.intensity

    def to_dict(self) -> dict:
        """JSON-ready form: names to probabilities (all eight, in order) and intensity."""
        return {
            "dist": {name: float(p) for name, p in zip(EMOTIONS, self.dist)},
            "intensity": float(self.intensity),
        }

    @classmethod
    def from_dict(cls, d: dict) -> EmotionState:
        dist = d["dist"]
        if isinstance(dist, dict):
            vec = np.array([float(dist.get(name, 0.0)) for name in EMOTIONS])
        else:
            vec = np.asarray(dist, dtype=np.float64)
        return cls(vec, float(d.get("intensity", 0.5)))

    def __str__(self) -> str:
        return f"{self.dominant} ({self.intensity:.2f})"


def one_hot_vector(name: str) -> np.ndarray:
    """(8,) a one-hot vector for the emotion ``name``."""
    v = np.zeros(N_EMOTIONS)
    v[EMOTIONS.index(name)] = 1.0
    return v


def mix(states: list[EmotionState], weights: list[float] | np.ndarray) -> EmotionState:
    """Weighted mix of emotion states: distributions and intensities both averaged by weight."""
    w = np.asarray(weights, dtype=np.float64)
    if len(states) == 0 or w.sum() <= 0:
        return EmotionState()
    w = w / w.sum()
    dist = sum(wi * s.dist for wi, s in zip(w, states))
    intensity = float(sum(wi * s.intensity for wi, s in zip(w, states)))
    return EmotionState(dist, intensity)


_POSITIVE, _NEGATIVE = (
    frozenset({"happy", "surprised"}),
    frozenset({"sad", "angry", "fearful", "disgusted", "contempt"}),
)


def valence(state: EmotionState) -> str:
    """ "positive", "negative" or "neutral", by the dominant emotion."""
    d = state.dominant
    return "positive" if d in _POSITIVE else "negative" if d in _NEGATIVE else "neutral"


def distressed(state: EmotionState) -> bool:
    """Whether ``state`` is a feeling that weighs: sad, angry, fearful or disgusted, at 0.3 or more."""
    return state.dominant in ("sad", "angry", "fearful", "disgusted") and state.intensity >= 0.3


def agrees(label: EmotionState, read: EmotionState) -> bool:
    """Whether the emotion a line is said with (``label``) fits how its words read (``read``, e.g.
    the text classifier's): not the opposite valence at 0.3 or more, and no strong feeling (0.6 or
    more) on words that read neutral."""
    lv, rv = valence(label), valence(read)
    if {lv, rv} == {"positive", "negative"} and label.intensity >= 0.3:
        return False
    return not (lv != "neutral" and label.intensity >= 0.6 and rv == "neutral")
