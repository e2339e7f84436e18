"""Refusals at the edge: a recording with sound but no speech in it (issue 11).

Room noise, a fan and mains hum are refused with "No speech heard"; speech passes,
quiet or with noise, and so do the app's odd-but-valid fixtures and real videos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from warmchat.errors import AudioInputError
from warmchat.paths import SHARED_VIDEOS
from warmchat.speech import EspeakTTS, load_audio, save_wav
from warmchat.speech.audio import VAD_MIN_MODULATION_DB, voice_activity

SR = 22050
NO_SPEECH = r"No speech heard in the recording: .*speak closer to the microphone"


def _db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64))))


def _at_dbfs(x: np.ndarray, dbfs: float) -> np.ndarray:
    """``x`` scaled to an RMS level of ``dbfs``."""
    return (x * 10 ** ((dbfs - _db(x)) / 20)).astype(np.float32)


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    k = np.arange(spec.size, dtype=np.float64)
    k[0] = 1.0
    return np.fft.irfft(spec / np.sqrt(k), n)


def _noises() -> dict[str, np.ndarray]:
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(11)
    n = 3 * SR
    t = np.arange(n) / SR
    rumble = sosfilt(butter(2, 800, fs=SR, output="sos"), rng.standard_normal(n))
    click = _at_dbfs(rng.standard_normal(n), -50)
    click[SR : SR + 2] = [0.8, -0.6]
    return {
        "white noise -50 dBFS": _at_dbfs(rng.standard_normal(n), -50),
        "pink noise -50 dBFS": _at_dbfs(_pink(n, rng), -50),
        # A fan: rumble, its level swaying slowly by 10 %.
        "fan -25 dBFS": _at_dbfs(rumble * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t)), -25),
        "white noise -25 dBFS": _at_dbfs(rng.standard_normal(n), -25),
        "hum 50 Hz -20 dBFS": _at_dbfs(
            sum(a * np.sin(2 * np.pi * f * t) for f, a in ((50, 1), (100, 0.5), (150, 0.3))), -20
        ),
        "hum 60 Hz -20 dBFS": _at_dbfs(
            sum(a * np.sin(2 * np.pi * f * t) for f, a in ((60, 1), (120, 0.3), (180, 0.2))), -20
        ),
        "transformer buzz 100 Hz -20 dBFS": _at_dbfs(np.sin(2 * np.pi * 100 * t), -20),
        "a click in room noise": click,
    }


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return EspeakTTS().synthesize("Hello there, how are you today?").audio


def _speeches(speech: np.ndarray) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(12)
    level = _db(speech)
    t = np.arange(3 * SR) / SR
    burst = np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0)  # tests/test_app.py
    return {
        "speech": speech,
        "speech -30 dB": (speech * 10 ** (-30 / 20)).astype(np.float32),
        "speech, white noise 15 dB SNR": speech + _at_dbfs(rng.standard_normal(speech.size), level - 15),
        "speech, pink noise 15 dB SNR": speech + _at_dbfs(_pink(speech.size, rng), level - 15),
        "speech -30 dB, white noise 15 dB SNR": (
            speech * 10 ** (-30 / 20) + _at_dbfs(rng.standard_normal(speech.size), level - 45)
        ),
        "clipped syllable bursts": np.clip(4 * burst, -1, 1).astype(np.float32),
        "a steady 220 Hz test tone": (0.5 * np.sin(2 * np.pi * 220 * t[: int(1.5 * SR)])).astype(np.float32),
    }


@pytest.mark.parametrize("name", list(_noises()))
def test_sound_without_speech_is_refused(tmp_path: Path, name: str) -> None:
    path = save_wav(tmp_path / "noise.wav", _noises()[name], SR)
    with pytest.raises(AudioInputError, match=NO_SPEECH):
        load_audio(path)


def test_speech_passes_quiet_or_noisy(tmp_path: Path, speech: np.ndarray) -> None:
    for name, audio in _speeches(speech).items():
        path = save_wav(tmp_path / "speech.wav", np.clip(audio, -1, 1), SR)
        loaded = load_audio(path)
        assert loaded.audio.size == audio.size, name


def test_margins_either_side_of_the_threshold(speech: np.ndarray) -> None:
    for name, audio in _noises().items():
        va = voice_activity(audio, SR)
        assert not va["speech"], name
        if name != "a click in room noise":  # refused by its length, not its modulation
            assert va["modulation_db"] < VAD_MIN_MODULATION_DB / 2, (name, va)
    for name, audio in _speeches(speech).items():
        va = voice_activity(audio, SR)
        assert va["speech"], (name, va)
        if "tone" not in name:  # passes by its pitch: a held vowel
            assert va["modulation_db"] > 2 * VAD_MIN_MODULATION_DB, (name, va)


def test_a_single_short_word_passes() -> None:
    word = EspeakTTS().synthesize("No.").audio
    assert voice_activity(word, SR)["speech"]


def test_older_refusals_come_first(tmp_path: Path) -> None:
    long = save_wav(
        tmp_path / "long.wav", (0.2 * np.sin(2 * np.pi * 200 * np.arange(40 * 16000) / 16000)), 16000
    )
    with pytest.raises(AudioInputError, match="longer than the limit of 30 s"):
        load_audio(long, max_seconds=30.0)
    silent = save_wav(tmp_path / "silent.wav", np.zeros(SR, np.float32), SR)
    with pytest.raises(AudioInputError, match="The audio is silent"):
        load_audio(silent)
    short = save_wav(tmp_path / "short.wav", _noises()["white noise -25 dBFS"][: SR // 10], SR)
    with pytest.raises(AudioInputError, match=r"only 0\.10 s long"):
        load_audio(short)


@pytest.mark.parametrize("name", ["lp_d6.mp4", "lp_d14.mp4"])  # lp_d14: the least modulated
def test_real_videos_sound_passes(name: str) -> None:
    video = SHARED_VIDEOS / name
    if not video.is_file():
        pytest.skip(f"{video} is not here")
    sp = load_audio(video, SR, max_seconds=600)
    assert voice_activity(sp.audio, SR)["modulation_db"] > 2 * VAD_MIN_MODULATION_DB
