"""The speaker's face: speech -> expression track (lips, jaw, brows) under an emotion.

``SpeakerMotion`` is the interface. The learned audio-to-expression model
(``motion/audio2expr.py``) is the default speaker; ``VisemeSpeaker`` here is the
hand-made one (``--speaker viseme``, and the fallback without the model's weights):

* with phoneme timings (our TTS gives them), each phoneme becomes a viseme
  target, and coarticulation blends neighbours with dominance weights (a
  Cohen-Massaro style model), so bilabial closures survive fast speech;
* the loudness envelope scales how wide the jaw opens, and drives the lips
  alone when there are no phonemes (a user's own recording);
* the emotion's preset is held underneath, the brows lift on stressed peaks,
  and the eyes blink.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from warmchat.emotion import EmotionState
from warmchat.motion.common import add_blinks, blend_in, blink_curve
from warmchat.motion.presets import emotion_expression
from warmchat.motion.tracks import CH, FPS, ExpressionTrack, K, channel_vector
from warmchat.speech import Phoneme, Speech, loudness_envelope

# The speaker stages the pipeline can use, by name (PipelineConfig.speaker, `--speaker`):
# the learned audio-to-expression model (motion/audio2expr.py) first, as the default.
SPEAKERS = ("learned", "viseme")


class SpeakerMotion(Protocol):
    """Maps speech to the speaker's expression track."""

    def generate(
        self,
        speech: Speech,
        emotion: EmotionState,
        n_frames: int,
        rng: np.random.Generator,
        start: np.ndarray | None = None,
    ) -> ExpressionTrack:
        """(T = n_frames) x K track; ``start`` (K,) is the previous turn's last frame."""
        ...


# Viseme targets, keyed by eSpeak phoneme mnemonics (stress marks already
# stripped by the TTS). (channel weights, dominance): dominance says how hard a
# phoneme holds its shape against its neighbours; lip closures and rounding
# dominate, the tongue-only consonants borrow the shape around them.
_V = dict[str, float]
_VISEMES: dict[str, tuple[_V, float]] = {
    # bilabials: lips shut
    "p": ({"jawOpen": 0.03, "mouthClose": 1.0, "mouthPress": 0.35}, 6.0),
    "b": ({"jawOpen": 0.03, "mouthClose": 1.0, "mouthPress": 0.25}, 6.0),
    "m": ({"jawOpen": 0.03, "mouthClose": 1.0, "mouthPress": 0.2}, 5.0),
    # labiodentals: lower lip to the upper teeth
    "f": ({"jawOpen": 0.08, "mouthClose": 0.55, "mouthUpperUp": 0.25}, 4.0),
    "v": ({"jawOpen": 0.08, "mouthClose": 0.5, "mouthUpperUp": 0.2}, 4.0),
    # rounded
    "w": ({"jawOpen": 0.1, "mouthPucker": 0.85, "mouthFunnel": 0.3}, 4.0),
    "S": ({"jawOpen": 0.12, "mouthFunnel": 0.6, "mouthPucker": 0.3}, 3.0),
    "Z": ({"jawOpen": 0.12, "mouthFunnel": 0.6, "mouthPucker": 0.3}, 3.0),
    "tS": ({"jawOpen": 0.12, "mouthFunnel": 0.6, "mouthPucker": 0.3}, 3.0),
    "dZ": ({"jawOpen": 0.12, "mouthFunnel": 0.6, "mouthPucker": 0.3}, 3.0),
    "r": ({"jawOpen": 0.14, "mouthPucker": 0.35, "mouthFunnel": 0.2}, 1.5),
    # tongue consonants: small jaw, slight spread
    "s": ({"jawOpen": 0.08, "mouthStretchLeft": 0.3, "mouthStretchRight": 0.3}, 2.0),
    "z": ({"jawOpen": 0.08, "mouthStretchLeft": 0.3, "mouthStretchRight": 0.3}, 2.0),
    "T": ({"jawOpen": 0.12, "mouthLowerDown": 0.2}, 1.5),
    "D": ({"jawOpen": 0.12, "mouthLowerDown": 0.2}, 1.5),
    "t": ({"jawOpen": 0.12}, 1.0),
    "d": ({"jawOpen": 0.12}, 1.0),
    "n": ({"jawOpen": 0.12}, 1.0),
    "l": ({"jawOpen": 0.18}, 1.0),
    "j": ({"jawOpen": 0.12, "mouthStretchLeft": 0.3, "mouthStretchRight": 0.3}, 1.5),
    "k": ({"jawOpen": 0.2}, 0.8),
    "g": ({"jawOpen": 0.2}, 0.8),
    "N": ({"jawOpen": 0.15}, 0.8),
    "h": ({"jawOpen": 0.25}, 0.5),
    # vowels: jaw by openness, lips by rounding/spreading
    "a": ({"jawOpen": 0.62, "mouthLowerDown": 0.2}, 1.5),
    "A": ({"jawOpen": 0.66, "mouthLowerDown": 0.2}, 1.5),
    "aI": ({"jawOpen": 0.58, "mouthStretchLeft": 0.15, "mouthStretchRight": 0.15}, 1.5),
    "aU": ({"jawOpen": 0.55, "mouthFunnel": 0.3}, 1.5),
    "E": ({"jawOpen": 0.42, "mouthStretchLeft": 0.2, "mouthStretchRight": 0.2}, 1.2),
    "e": ({"jawOpen": 0.36, "mouthStretchLeft": 0.25, "mouthStretchRight": 0.25}, 1.2),
    "eI": ({"jawOpen": 0.36, "mouthStretchLeft": 0.25, "mouthStretchRight": 0.25}, 1.2),
    "@": ({"jawOpen": 0.28}, 0.6),
    "3": ({"jawOpen": 0.3, "mouthPucker": 0.15}, 1.0),
    "V": ({"jawOpen": 0.45}, 1.2),
    "0": ({"jawOpen": 0.5, "mouthFunnel": 0.35}, 1.2),
    "O": ({"jawOpen": 0.45, "mouthFunnel": 0.5, "mouthPucker": 0.2}, 1.5),
    "o": ({"jawOpen": 0.38, "mouthFunnel": 0.55, "mouthPucker": 0.3}, 1.5),
    "oU": ({"jawOpen": 0.38, "mouthFunnel": 0.5, "mouthPucker": 0.4}, 1.5),
    "OI": ({"jawOpen": 0.4, "mouthFunnel": 0.45}, 1.5),
    "u": ({"jawOpen": 0.16, "mouthPucker": 0.8, "mouthFunnel": 0.45}, 2.5),
    "U": ({"jawOpen": 0.2, "mouthPucker": 0.55, "mouthFunnel": 0.3}, 2.0),
    "i": ({"jawOpen": 0.16, "mouthStretchLeft": 0.45, "mouthStretchRight": 0.45}, 1.5),
    "I": ({"jawOpen": 0.2, "mouthStretchLeft": 0.35, "mouthStretchRight": 0.35}, 1.2),
    "_": ({}, 1.0),  # pause: the mouth relaxes to rest
}


def viseme_for(symbol: str) -> tuple[np.ndarray, float]:
    """(K,) viseme target and dominance for an eSpeak phoneme mnemonic.

    Unknown symbols fall back on their longest known prefix ("aI@" -> "aI",
    "t#" -> "t", "@2" -> "@"), then to a neutral half-open shape.
    """
    key = symbol.replace(":", "")
    while key and key not in _VISEMES:
        key = key[:-1]
    weights, dom = _VISEMES.get(key, ({"jawOpen": 0.25}, 0.8))
    return channel_vector(weights), dom


def _coarticulate(
    targets: np.ndarray, dom: np.ndarray, centre: np.ndarray, width: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """(T, K) dominance- and influence-weighted mean of phoneme targets at times ``t``."""
    infl = np.exp(-0.5 * ((t[:, None] - centre[None]) / width[None]) ** 2) * dom[None]  # (T, P)
    out = (infl @ targets) / (infl.sum(1, keepdims=True) + 1e-9)
    # Far from any phoneme (before and after speech) the mouth is at rest.
    presence = np.clip(infl.max(1) / dom.max(), 0, 1)[:, None]
    return out * presence


def phoneme_track(phonemes: list[Phoneme], n_frames: int, lead_s: float = 0.03) -> np.ndarray:
    """(T, K) lip/jaw track from phoneme timings with dominance coarticulation.

    Each phoneme contributes its target around its centre with a Gaussian
    influence as wide as the phoneme; at every instant the shape is the
    dominance- and influence-weighted mean of the targets. The lips follow the
    dominance model closely (bilabials must shut); the jaw is heavier and slower,
    so it is blended with wider influences and equal weights, except that lip
    closures still pull it up. Lips move ``lead_s`` ahead of the sound, as in
    real speech.
    """
    if not phonemes:
        return np.zeros((n_frames, K), np.float32)
    targets = np.stack([viseme_for(p.symbol)[0] for p in phonemes])  # (P, K)
    dom = np.array([viseme_for(p.symbol)[1] for p in phonemes])  # (P,)
    centre = np.array([(p.start + p.end) / 2 for p in phonemes]) - lead_s
    dur = np.array([p.end - p.start for p in phonemes])
    t = (np.arange(n_frames) + 0.5) / FPS  # (T,) frame centres, seconds
    out = _coarticulate(targets, dom, centre, np.maximum(dur * 0.55, 0.035), t)
    jaw_dom = np.where(dom >= 4.0, 2.5, 1.0)  # closures (p b m f v w) keep their say
    jaw = _coarticulate(targets[:, [CH["jawOpen"]]], jaw_dom, centre, np.maximum(dur * 0.8, 0.06), t)
    out[:, CH["jawOpen"]] = jaw[:, 0]
    return out.astype(np.float32)


@dataclass
class SpeakerConfig:
    """Settings of the viseme speaker."""

    emotion_strength: float = 1.0  # how much of the emotion preset the speaker holds (speech rides on it)
    loudness_jaw: float = 0.3  # extra jaw opening at full loudness
    viseme_weight: float = 1.0  # scale of the phoneme-driven shapes
    brow_emphasis: float = 0.25  # inner-brow lift on loud syllables
    blinks_per_minute: float = 16.0  # speakers blink a little less than listeners


class VisemeSpeaker:
    """Hand-made audio/phoneme-to-expression model (the default until a learned one ships)."""

    def __init__(self, config: SpeakerConfig | None = None) -> None:
        self.cfg = config or SpeakerConfig()

    def generate(
        self,
        speech: Speech,
        emotion: EmotionState,
        n_frames: int,
        rng: np.random.Generator,
        start: np.ndarray | None = None,
    ) -> ExpressionTrack:
        cfg = self.cfg
        loud = loudness_envelope(speech.audio, speech.sample_rate, FPS, n_frames)  # (T,) in [0, 1]
        if speech.phonemes:
            # 1. Phoneme-driven shapes, with the jaw opened wider on loud syllables.
            vals = phoneme_track(speech.phonemes, n_frames) * cfg.viseme_weight
            jaw = vals[:, CH["jawOpen"]]
            closed = np.clip(vals[:, CH["mouthClose"]], 0, 1)
            vals[:, CH["jawOpen"]] = jaw * (0.6 + 0.4 * loud) + cfg.loudness_jaw * loud * (1 - closed)
        else:
            # 1'. Loudness alone (a recording): the jaw follows the envelope, the
            #     lips close in the dips between syllables.
            vals = np.zeros((n_frames, K), np.float32)
            vals[:, CH["jawOpen"]] = 0.7 * loud**0.8
            dips = np.clip(0.25 - loud, 0, None) * 4 * (np.convolve(loud, np.ones(9) / 9, "same") > 0.2)
            vals[:, CH["mouthClose"]] = 0.6 * dips
        # 2. The emotion underneath; a smile relaxes on wide-open vowels.
        base = emotion_expression(emotion, cfg.emotion_strength)[None]  # (1, K)
        vals = vals + base
        # 3. Inner brows rise on stressed (loud, rising) syllables.
        rise = np.clip(np.diff(loud, prepend=loud[:1]), 0, None)
        emph = np.convolve(rise, np.hanning(7) / np.hanning(7).sum(), "same")
        vals[:, CH["browInnerUp"]] += cfg.brow_emphasis * np.clip(emph * 6, 0, 1)
        # 4. Blinks, then continue from where the previous turn ended.
        add_blinks(vals, blink_curve(n_frames, rng, cfg.blinks_per_minute))
        vals = blend_in(vals, start, frames=6)
        return ExpressionTrack(vals)
