"""Speech: eSpeak NG text to speech with phoneme timings, audio loading and loudness."""

from warmchat.speech.audio import load_audio, loudness_envelope, pad_to_frames, save_wav
from warmchat.speech.tts import (
    PROSODY,
    EspeakTTS,
    Phoneme,
    Speech,
    TTSConfig,
    prosody_multipliers,
)

__all__ = [
    "PROSODY",
    "EspeakTTS",
    "Phoneme",
    "Speech",
    "TTSConfig",
    "load_audio",
    "loudness_envelope",
    "pad_to_frames",
    "prosody_multipliers",
    "save_wav",
]
