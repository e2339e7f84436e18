"""Text to speech with eSpeak NG, through ctypes, with phoneme timings.

The library and its voice data come from the ``espeakng-loader`` wheel, so there
is no apt package and no subprocess. We use the C API of ``speak_lib.h``
(API revision 12, eSpeak NG 1.52) in ``AUDIO_OUTPUT_SYNCHRONOUS`` mode: the
synth callback receives int16 sample blocks and, with
``espeakINITIALIZE_PHONEME_EVENTS``, one ``espeakEVENT_PHONEME`` per phoneme
whose ``audio_position`` (ms) is the phoneme's start. A phoneme ends where the
next phoneme event starts; the last one ends with the audio.

Phoneme conventions (what ``Phoneme.symbol`` holds):

* eSpeak's ASCII mnemonics (Kirshenbaum-like), e.g. ``p``, ``b``, ``m``, ``aI``,
  ``oU``, ``@``, ``D``, ``i:``.
* Stress marks (``'`` primary, ``,`` secondary, ``%`` and ``=``) are stripped:
  eSpeak reports ``'eI`` for a stressed vowel, we give ``eI``.
* Pauses (``_``, ``_:``, ``_!`` ... ) are kept, normalised to ``_``, and merged
  when adjacent, so the list is contiguous from the first phoneme to the end
  of the audio; zero-length events are dropped.

eSpeak keeps global state and is not thread-safe, so every call into the
library holds ``_LOCK`` and the library is initialised once per process, on
first use.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from warmchat.emotion import EMOTIONS, EmotionState
from warmchat.errors import TextInputError, UserInputError

# --- speak_lib.h constants -----------------------------------------------------------------

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
# Without this flag eSpeak calls exit() when its data directory is missing; we would
# rather get -1 back and raise.
_INIT_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1  # espeakCHARS_UTF8; espeakSSML (0x10) and espeakENDPAUSE are left off
_POS_CHARACTER = 1
_PHONEMES_IPA = 0x02  # espeak_TextToPhonemes: IPA, not eSpeak's mnemonics

_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7

_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3
_PARAM_RANGE = 4

_RATE_MIN, _RATE_MAX = 80, 450  # espeakRATE_MINIMUM / espeakRATE_MAXIMUM

# Stress and syllable marks that prefix vowel mnemonics in phoneme events.
_STRESS_MARKS = "',%="

# Light trimming: keep at most this much silence at either end of the clip.
_KEEP_SILENCE_S = 0.1


class _EventId(ctypes.Union):
    """The ``id`` union of ``espeak_EVENT``."""

    _fields_ = [
        ("number", ctypes.c_int),  # WORD and SENTENCE events
        ("name", ctypes.c_char_p),  # MARK and PLAY events
        ("string", ctypes.c_char * 8),  # PHONEME events: the mnemonic, NUL-terminated if < 8
    ]


class _Event(ctypes.Structure):
    """``espeak_EVENT``: 6 ints, a pointer (8-aligned on 64-bit) and the union; 40 bytes."""

    _fields_ = [
        ("type", ctypes.c_int),  # espeak_EVENT_TYPE
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # characters from the start of the text
        ("length", ctypes.c_int),  # word length in characters (WORD events)
        ("audio_position", ctypes.c_int),  # ms within the generated audio
        ("sample", ctypes.c_int),  # internal sample id
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


# --- public data types -----------------------------------------------------------------------


@dataclass
class Phoneme:
    """One phoneme with its time span in the audio.

    ``symbol`` is eSpeak's mnemonic without stress marks; pauses are ``"_"``.
    """

    symbol: str  # eSpeak phoneme mnemonic, e.g. "p", "aI", or "_" for a pause
    start: float  # seconds from the start of the audio
    end: float  # seconds; equals the next phoneme's start


@dataclass
class Speech:
    """Mono speech audio, optionally with phoneme timings."""

    audio: np.ndarray  # (N,) float32 mono in [-1, 1]
    sample_rate: int
    phonemes: list[Phoneme]  # empty when unknown (user-recorded audio)
    text: str = ""

    @property
    def duration(self) -> float:
        """Length of the audio in seconds."""
        return float(len(self.audio)) / float(self.sample_rate)


@dataclass
class TTSConfig:
    """Base voice settings; an emotion scales rate, pitch, range and volume from these."""

    voice: str = "en-us+f3"  # default eSpeak voice name, optionally "+variant"
    rate_wpm: int = 160  # base speaking rate in words per minute (eSpeak allows 80-450)
    pitch: int = 50  # base pitch, 0-100 (50 = the voice's normal pitch)
    pitch_range: int = 50  # base pitch range, 0-100 (0 = monotone, 50 = normal)
    volume: int = 100  # amplitude, 0-200 (100 = normal; above that may distort)
    max_chars: int = 1000  # longer text raises TextInputError naming this cap


# --- emotion -> prosody ----------------------------------------------------------------------

# Multipliers on (rate, pitch, pitch range, volume) for a pure emotion at intensity 1.
# They follow the usual acoustic correlates of vocal emotion (Scherer 2003; Murray & Arnott
# 1993): arousal raises rate, pitch and loudness; sadness lowers and flattens; surprise widens
# the range; fear is fast, high and tense (narrow). The values are kept moderate because eSpeak
# becomes hard to understand beyond them.
PROSODY: dict[str, tuple[float, float, float, float]] = {
    #            rate  pitch range volume
    "neutral": (1.00, 1.00, 1.00, 1.00),  # no change
    "happy": (1.15, 1.25, 1.40, 1.05),  # faster, higher, livelier melody
    "sad": (0.75, 0.75, 0.50, 0.85),  # slower, lower, flatter, softer
    "angry": (1.15, 1.05, 1.40, 1.30),  # faster, louder, wider range
    "surprised": (1.05, 1.35, 1.60, 1.05),  # higher, widest range
    "fearful": (1.20, 1.20, 0.70, 0.95),  # faster, higher, narrow (tense)
    "disgusted": (0.85, 0.85, 0.90, 1.00),  # slower, lower
    "contempt": (0.85, 0.90, 0.80, 0.95),  # slower, lower, flatter
}
assert set(PROSODY) == set(EMOTIONS)


def prosody_multipliers(emotion: EmotionState | None) -> tuple[float, float, float, float]:
    """(rate, pitch, range, volume) multipliers for an emotion.

    Each emotion's deviation from 1 is weighted by its probability times the
    intensity and summed, so a mixed or weak emotion moves the voice less:
    ``m = 1 + intensity * sum_e p_e * (PROSODY[e] - 1)``.
    """
    if emotion is None:
        return (1.0, 1.0, 1.0, 1.0)
    table = np.array([PROSODY[name] for name in EMOTIONS], dtype=np.float64)  # (8, 4)
    m = 1.0 + emotion.weighted() @ (table - 1.0)
    return (float(m[0]), float(m[1]), float(m[2]), float(m[3]))


# --- voices ----------------------------------------------------------------------------------

# Voices that are known to work with the bundled data. eSpeak NG 1.52 names the British
# voice file "en", so "en-gb" is not found by name; _BASE_ALIASES maps it.
_CURATED_VOICES: tuple[str, ...] = (
    "en-us+f3",
    "en-us+f4",
    "en-us+f2",
    "en-us+m3",
    "en-us+m1",
    "en-us+m7",
    "en-gb+f4",
    "en-gb+m3",
    "en-gb-x-rp+f2",
    "en-gb-scotland+m1",
)
_BASE_ALIASES = {"en-gb": "en", "en-uk": "en"}


# --- the library -----------------------------------------------------------------------------

_LOCK = threading.Lock()  # guards every call into libespeak-ng and the buffers below


class _Library:
    """The loaded, initialised library plus the buffers the callback fills."""

    def __init__(self) -> None:
        import espeakng_loader  # imported here so importing warmchat.speech stays cheap

        self.data_path = Path(espeakng_loader.get_data_path())
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,  # text
            ctypes.c_size_t,  # size
            ctypes.c_uint,  # position
            ctypes.c_int,  # position_type
            ctypes.c_uint,  # end_position
            ctypes.c_uint,  # flags
            ctypes.POINTER(ctypes.c_uint),  # unique_identifier
            ctypes.c_void_p,  # user_data
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.lib = lib

        # The data path may be the espeak-ng-data directory itself or its parent; eSpeak NG
        # accepts both.
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS,
            0,  # buffer length in ms; 0 = eSpeak's default (60 ms)
            str(self.data_path).encode(),
            _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT,
        )
        if rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed ({rate}) with data at {self.data_path}")
        self.sample_rate = int(rate)

        self.chunks: list[np.ndarray] = []
        self.events: list[tuple[str, int]] = []  # (raw mnemonic, start ms)
        # ctypes frees the C trampoline when the Python object dies; eSpeak keeps the raw
        # pointer, so the object must live as long as the library.
        self._callback = _SynthCallback(self._on_synth)
        lib.espeak_SetSynthCallback(self._callback)
        self._valid_voices: set[str] = set()  # names already checked

    def _on_synth(self, wav, n_samples: int, events) -> int:
        """Synth callback: copy the samples and phoneme events out of eSpeak's buffers."""
        if wav and n_samples > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
        if events:
            i = 0
            while events[i].type != _EVENT_LIST_TERMINATED:
                ev = events[i]
                if ev.type == _EVENT_PHONEME:
                    raw = bytes(ev.id.string).split(b"\0", 1)[0]
                    self.events.append((raw.decode("utf-8", "replace"), int(ev.audio_position)))
                i += 1
        return 0  # 0 = continue synthesis

    def variant_exists(self, variant: str) -> bool:
        """Whether eSpeak has a voice variant file (f3, m3, ...) of this name."""
        return (self.data_path / "voices" / "!v" / variant).is_file()

    def check_voice(self, voice: str) -> str:
        """The eSpeak name for ``voice`` (aliases resolved), or UserInputError."""
        if voice in self._valid_voices:
            return self._espeak_name(voice)
        base, _, variant = voice.partition("+")
        name = self._espeak_name(voice)
        ok = bool(base) and "\0" not in voice
        # espeak_SetVoiceByName accepts any "+variant", even one that does not exist, so the
        # variant file is checked here.
        ok = ok and (not variant or ("/" not in variant and self.variant_exists(variant)))
        ok = ok and self.lib.espeak_SetVoiceByName(name.encode()) == 0
        if not ok:
            raise UserInputError(f"Unknown voice {voice!r}: use one of {', '.join(_CURATED_VOICES)}.")
        self._valid_voices.add(voice)
        return name

    @staticmethod
    def _espeak_name(voice: str) -> str:
        base, plus, variant = voice.partition("+")
        return _BASE_ALIASES.get(base.lower(), base) + plus + variant

    def synth(
        self, text: str, voice: str, rate: int, pitch: int, pitch_range: int, volume: int
    ) -> tuple[np.ndarray, list[tuple[str, int]]]:
        """Raw int16 audio and (mnemonic, start ms) phoneme events for ``text``."""
        name = self.check_voice(voice)
        if self.lib.espeak_SetVoiceByName(name.encode()) != 0:
            raise RuntimeError(f"espeak_SetVoiceByName({name!r}) failed")
        # Set every parameter after the voice, on every call, so that neither the voice's
        # defaults nor the previous utterance's emotion can leak into this one.
        for param, value in (
            (_PARAM_RATE, rate),
            (_PARAM_PITCH, pitch),
            (_PARAM_RANGE, pitch_range),
            (_PARAM_VOLUME, volume),
        ):
            self.lib.espeak_SetParameter(param, int(value), 0)
        self.chunks, self.events = [], []
        data = text.encode("utf-8")
        buf = ctypes.create_string_buffer(data)  # NUL-terminated
        err = self.lib.espeak_Synth(buf, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if err != 0:
            raise RuntimeError(f"espeak_Synth failed with error {err}")
        self.lib.espeak_Synchronize()
        audio = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int16)
        events = self.events
        self.chunks, self.events = [], []
        return audio, events

    def ipa(self, text: str, voice: str) -> str:
        """``text`` as eSpeak's IPA phonemes (clauses joined by spaces), in ``voice``'s language."""
        if self.lib.espeak_SetVoiceByName(self.check_voice(voice).encode()) != 0:
            raise RuntimeError(f"espeak_SetVoiceByName({voice!r}) failed")
        buf = ctypes.create_string_buffer(text.encode("utf-8"))
        ptr = ctypes.c_void_p(ctypes.addressof(buf))
        clauses = []
        while ptr.value:  # eSpeak moves the pointer past each clause it phonemises, then sets it NULL
            out = self.lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8, _PHONEMES_IPA)
            if out:
                clauses.append(out.decode("utf-8", "replace"))
        return " ".join(clauses)


_library: _Library | None = None


def _get_library() -> _Library:
    """The process-wide library, initialised on first use. Call with ``_LOCK`` held."""
    global _library
    if _library is None:
        _library = _Library()
    return _library


# --- post-processing -------------------------------------------------------------------------


def clean_text(text: str | None, max_chars: int) -> str:
    """The text to speak, stripped; TextInputError when it is empty or longer than ``max_chars``."""
    clean = (text or "").replace("\0", " ").strip()
    if not clean:
        raise TextInputError("The text is empty: type something for the avatar to say.")
    if len(clean) > max_chars:
        raise TextInputError(
            f"The text has {len(clean)} characters, more than the limit of {max_chars}:"
            " shorten it or split it into several turns."
        )
    return clean


def text_to_ipa(text: str, voice: str = "en-us") -> str:
    """eSpeak NG's IPA for ``text`` (what Piper voices are trained on)."""
    with _LOCK:
        return _get_library().ipa(text, voice)


def _normalise_symbol(raw: str) -> str:
    """Strip stress marks; every pause mnemonic becomes ``_``."""
    sym = raw.strip().lstrip(_STRESS_MARKS)
    if sym.startswith("_"):
        return "_"
    return sym


def _phonemes_from_events(events: list[tuple[str, int]], duration: float) -> list[Phoneme]:
    """Phonemes with start from each event and end from the next one; last ends the audio."""
    starts = [(s, min(max(ms / 1000.0, 0.0), duration)) for s, ms in events]
    out: list[Phoneme] = []
    for i, (raw, start) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else duration
        sym = _normalise_symbol(raw)
        if not sym or end <= start:
            continue  # zero-length bookkeeping events (e.g. the clause-final "_")
        if out and sym == "_" and out[-1].symbol == "_" and abs(out[-1].end - start) < 1e-9:
            out[-1].end = end  # merge "_:" followed by "_"
            continue
        out.append(Phoneme(sym, start, end))
    return out


def _trim_silence(
    audio: np.ndarray, sample_rate: int, phonemes: list[Phoneme]
) -> tuple[np.ndarray, list[Phoneme]]:
    """Cut leading/trailing silence down to ``_KEEP_SILENCE_S``; shift phoneme times to match.

    Only long silences are cut, so the lips still close before and after speech.
    Silence is anything below -50 dB relative to the clip's peak.
    """
    if audio.size == 0:
        return audio, phonemes
    peak = float(np.max(np.abs(audio)))
    if peak <= 0:
        return audio, phonemes
    loud = np.nonzero(np.abs(audio) > peak * 10 ** (-50 / 20))[0]
    keep = round(_KEEP_SILENCE_S * sample_rate)
    lo = max(0, int(loud[0]) - keep)
    hi = min(audio.size, int(loud[-1]) + 1 + keep)
    if lo == 0 and hi == audio.size:
        return audio, phonemes
    out = audio[lo:hi]
    shift, dur = lo / sample_rate, out.size / sample_rate
    moved: list[Phoneme] = []
    for p in phonemes:
        start = min(max(p.start - shift, 0.0), dur)
        end = min(max(p.end - shift, 0.0), dur)
        if end > start:
            moved.append(Phoneme(p.symbol, start, end))
    if moved:
        moved[-1].end = dur  # keep the list running to the end of the audio
    return out, moved


# --- the engine ------------------------------------------------------------------------------


class EspeakTTS:
    """eSpeak NG text to speech with emotion-dependent prosody and phoneme timings.

    Instances are cheap and share the one process-wide library; they may be used from
    several threads (calls are serialised).
    """

    def __init__(self, config: TTSConfig | None = None) -> None:
        self.config = config if config is not None else TTSConfig()

    @property
    def sample_rate(self) -> int:
        """eSpeak's output rate (22050 Hz with the bundled voices)."""
        with _LOCK:
            return _get_library().sample_rate

    def synthesize(self, text: str, emotion: EmotionState | None = None, voice: str | None = None) -> Speech:
        """Speak ``text`` in ``voice`` (default: the config's) with prosody set by ``emotion``.

        Raises TextInputError for empty or too long text, UserInputError for an unknown
        voice.
        """
        cfg = self.config
        clean = clean_text(text, cfg.max_chars)
        m_rate, m_pitch, m_range, m_vol = prosody_multipliers(emotion)
        rate = int(np.clip(round(cfg.rate_wpm * m_rate), _RATE_MIN, _RATE_MAX))
        pitch = int(np.clip(round(cfg.pitch * m_pitch), 0, 100))
        pitch_range = int(np.clip(round(cfg.pitch_range * m_range), 0, 100))
        volume = int(np.clip(round(cfg.volume * m_vol), 0, 200))
        with _LOCK:
            lib = _get_library()
            raw, events = lib.synth(clean, voice or cfg.voice, rate, pitch, pitch_range, volume)
            sample_rate = lib.sample_rate
        phonemes = _phonemes_from_events(events, raw.size / sample_rate)
        if raw.size == 0 or all(p.symbol == "_" for p in phonemes):
            # e.g. "..." gives a few ms of silence and a single pause.
            raise TextInputError("The text has nothing that can be spoken: use words, not only punctuation.")
        audio = (raw.astype(np.float32) / 32768.0).clip(-1.0, 1.0)
        audio, phonemes = _trim_silence(audio, sample_rate, phonemes)
        return Speech(audio=audio, sample_rate=sample_rate, phonemes=phonemes, text=clean)

    def check_voice(self, voice: str) -> str:
        """Return ``voice`` unchanged if eSpeak has it, else raise UserInputError naming good ones."""
        with _LOCK:
            _get_library().check_voice(voice)
        return voice

    @staticmethod
    def voices() -> list[str]:
        """A short curated list of voice names that work with the bundled data."""
        return list(_CURATED_VOICES)
