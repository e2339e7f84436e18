"""Every voice behind one ``synthesize``: the neural voices by name, eSpeak NG for the rest.

``TTS.synthesize(text, emotion, voice)`` speaks with a neural voice (``heart``,
``joe``: ``warmchat.speech.neural``) when ``voice`` names one, its model loads
and the text looks English; otherwise with eSpeak NG (the voice's eSpeak
stand-in for a neural one). Emotion reaches a neural voice as speaking rate
(the model's own speed), pitch (the audio resampled by the pitch factor, the
model slowed by as much first, so the length stays) and loudness, from the same
``PROSODY`` table as eSpeak's. All speech comes out at eSpeak's rate (22050 Hz),
the pipeline's one audio rate.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from warmchat.emotion import EmotionState
from warmchat.errors import TextInputError, UserInputError
from warmchat.language import looks_english
from warmchat.speech.neural import NEURAL_VOICES, NeuralConfig, NeuralVoices
from warmchat.speech.tts import (
    EspeakTTS,
    Phoneme,
    Speech,
    TTSConfig,
    _trim_silence,
    clean_text,
    prosody_multipliers,
)


def _pitch_factor(m_pitch: float) -> float:
    """eSpeak's pitch multiplier (its 0-100 pitch scale) as a frequency factor for neural speech:
    the same direction, milder, since resampling also moves the formants."""
    return float(np.clip(1.0 + 0.4 * (m_pitch - 1.0), 0.85, 1.15))


def _resample(audio: np.ndarray, up: int, down: int) -> np.ndarray:
    from scipy.signal import resample_poly

    return resample_poly(audio, up, down).astype(np.float32) if up != down else audio


def _soft_limit(audio: np.ndarray, knee: float = 0.7) -> np.ndarray:
    """Samples above ``knee`` in magnitude bent smoothly towards 1 (never past it); the rest as is."""
    a = np.abs(audio)
    over = a > knee
    out = audio.copy()
    out[over] = np.sign(audio[over]) * (knee + (1 - knee) * np.tanh((a[over] - knee) / (1 - knee)))
    return out


class TTS:
    """The pipeline's speech: neural voices and eSpeak NG behind one interface."""

    def __init__(self, config: TTSConfig | None = None, neural: NeuralConfig | None = None) -> None:
        self.espeak = EspeakTTS(config)
        self.neural = NeuralVoices(neural or NeuralConfig())

    @property
    def config(self) -> TTSConfig:
        return self.espeak.config

    @property
    def sample_rate(self) -> int:
        return self.espeak.sample_rate

    @staticmethod
    def voices() -> list[str]:
        """The neural voices first, then a curated list of eSpeak voices."""
        return [*NEURAL_VOICES, *EspeakTTS.voices()]

    def check_voice(self, voice: str) -> str:
        """``voice`` unchanged if it is a neural or an eSpeak voice, else UserInputError."""
        if voice in NEURAL_VOICES:
            return voice
        try:
            return self.espeak.check_voice(voice)
        except UserInputError:
            raise UserInputError(f"Unknown voice {voice!r}: use one of {', '.join(self.voices())}.") from None

    def describe_voice(self, voice: str) -> str:
        """What speaks for ``voice``: the neural model, or eSpeak and why."""
        info = NEURAL_VOICES.get(voice)
        if info is None:
            return f"eSpeak NG {voice}"
        if self.neural.get(voice) is None:
            return f"eSpeak NG {info.espeak} for {voice} (fell back: {self.neural.failed[voice]})"
        return f"{voice}: {info.lineage}"

    def word_phonemes(self, word: str) -> list[Phoneme]:
        """eSpeak's timed phonemes for one English word (to align a recording's words); [] when
        the word has nothing to say (e.g. a dash)."""
        try:
            return self.espeak.synthesize(word, None, "en-us").phonemes
        except TextInputError:
            return []

    def synthesize(self, text: str, emotion: EmotionState | None = None, voice: str | None = None) -> Speech:
        """Speak ``text`` in ``voice`` (default: the config's) with prosody set by ``emotion``;
        TextInputError for empty or too long text, UserInputError for an unknown voice."""
        voice = voice or self.config.voice
        info = NEURAL_VOICES.get(voice)
        if info is None:
            return self.espeak.synthesize(text, emotion, voice)
        clean = clean_text(text, self.config.max_chars)
        if not any(c.isalnum() for c in clean):  # e.g. "...": eSpeak says so for its voices too
            raise TextInputError("The text has nothing that can be spoken: use words, not only punctuation.")
        engine = self.neural.get(voice)
        if engine is None or not looks_english(clean):
            return self.espeak.synthesize(clean, emotion, info.espeak)
        m_rate, m_pitch, _m_range, m_vol = prosody_multipliers(emotion)
        # 1. The model speaks slower by the pitch factor, 2. resampling raises the pitch by it and
        #    brings the length back, 3. to the pipeline's rate.
        f = Fraction(_pitch_factor(m_pitch)).limit_denominator(40)
        raw, timed = engine(clean, float(np.clip(m_rate, 0.6, 1.6)) / float(f))  # (N,) at the model's rate
        audio = _resample(raw, f.denominator, f.numerator)  # pitch x f, length / f
        k = f.denominator / f.numerator  # every time shrinks with the length
        phonemes = [Phoneme(p.symbol, p.start * k, p.end * k) for p in timed]
        g = np.gcd(self.sample_rate, engine.sample_rate)
        audio = _resample(audio, self.sample_rate // g, engine.sample_rate // g)
        # 4. Loudness by the voice's level (RMS), not its peak: slowed or pitched speech has
        #    other peaks, and normalising those made sad speech louder than neutral. 0.1 RMS
        #    (-20 dBFS) is the neutral level; the rare peaks above 0.7 are rounded off below 1.
        rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) if audio.size else 0.0
        audio = _soft_limit(audio * (0.1 * min(m_vol, 1.3) / rms if rms > 0 else 1.0))
        audio, phonemes = _trim_silence(audio.clip(-1.0, 1.0).astype(np.float32), self.sample_rate, phonemes)
        return Speech(audio=audio, sample_rate=self.sample_rate, phonemes=phonemes, text=clean)
