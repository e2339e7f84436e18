"""Speech: eSpeak NG text to speech with phoneme timings, audio loading and loudness, and ears
(recorded messages transcribed by Whisper)."""

from warmchat.speech.asr import ASRConfig, Transcriber, Transcript
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
    "ASRConfig",
    "EspeakTTS",
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
