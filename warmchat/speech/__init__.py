"""Speech: voices (neural ones and eSpeak NG, with phoneme timings), audio loading and loudness,
and ears (recorded messages transcribed by Whisper)."""

from warmchat.speech.asr import ASRConfig, Transcriber, Transcript
from warmchat.speech.audio import load_audio, loudness_envelope, pad_to_frames, save_wav
from warmchat.speech.neural import NEURAL_VOICES, NeuralConfig
from warmchat.speech.tts import (
    PROSODY,
    EspeakTTS,
    Phoneme,
    Speech,
    TTSConfig,
    prosody_multipliers,
)
from warmchat.speech.voices import TTS

__all__ = [
    "NEURAL_VOICES",
    "PROSODY",
    "TTS",
    "ASRConfig",
    "EspeakTTS",
    "NeuralConfig",
    "Phoneme",
    "Speech",
    "TTSConfig",
    "Transcriber",
    "Transcript",
    "load_audio",
    "loudness_envelope",
    "pad_to_frames",
    "prosody_multipliers",
    "save_wav",
]
