"""Speech: real eSpeak NG synthesis, ffmpeg decoding, loudness. No mocks."""

from __future__ import annotations

import itertools
import subprocess
import threading
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile as sf

from warmchat.emotion import EmotionState
from warmchat.errors import AudioInputError, TextInputError, UserInputError
from warmchat.speech import (
    EspeakTTS,
    Phoneme,
    Speech,
    TTSConfig,
    load_audio,
    loudness_envelope,
    pad_to_frames,
    prosody_multipliers,
    save_wav,
)
from warmchat.speech.tts import _trim_silence

SENTENCE = "Maybe Bob will play the piano for my mum before breakfast."
PANGRAM = "The quick brown fox jumps over the lazy dog, and then it runs away."


@pytest.fixture(scope="module")
def tts() -> EspeakTTS:
    return EspeakTTS()


@pytest.fixture(scope="module")
def speech(tts: EspeakTTS) -> Speech:
    return tts.synthesize(SENTENCE)


def median_f0(audio: np.ndarray, sr: int, fmin: float = 70.0, fmax: float = 500.0) -> float:
    """Median pitch (Hz) over voiced 40 ms frames, by normalised autocorrelation."""
    frame, hop = int(0.04 * sr), int(0.01 * sr)
    lag_min, lag_max = int(sr / fmax), int(sr / fmin)
    peak = np.max(np.abs(audio))
    f0s = []
    for start in range(0, len(audio) - frame, hop):
        x = audio[start : start + frame].astype(np.float64)
        if np.max(np.abs(x)) < 0.1 * peak:
            continue  # unvoiced or silent
        x = x - x.mean()
        ac = np.correlate(x, x, mode="full")[frame - 1 :]
        if ac[0] <= 0:
            continue
        ac = ac / ac[0]
        lag = lag_min + int(np.argmax(ac[lag_min:lag_max]))
        if ac[lag] > 0.5:
            f0s.append(sr / lag)
    assert len(f0s) > 10, "too few voiced frames to estimate pitch"
    return float(np.median(f0s))


def ffmpeg(*args: str) -> None:
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run([exe, "-nostdin", "-v", "error", "-y", *args], check=True)


def tone(seconds: float, sr: int, freq: float = 220.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


# --- TTS -------------------------------------------------------------------------------------


def test_synthesize_audio(speech: Speech) -> None:
    assert speech.sample_rate == 22050
    assert speech.audio.dtype == np.float32 and speech.audio.ndim == 1
    assert 0.05 < float(np.max(np.abs(speech.audio))) <= 1.0
    # ~11 words at 160 wpm is about 4 s; allow a wide band.
    assert 2.0 < speech.duration < 7.0
    assert speech.text == SENTENCE
    # Light trimming: at most 0.1 s (plus a little) of silence at either end.
    loud = np.nonzero(np.abs(speech.audio) > 0.01)[0]
    assert loud[0] / speech.sample_rate <= 0.12
    assert (len(speech.audio) - loud[-1]) / speech.sample_rate <= 0.12


def test_phonemes_ordered_and_cover_audio(speech: Speech) -> None:
    ph = speech.phonemes
    assert len(ph) > 30
    for p in ph:
        assert 0.0 <= p.start < p.end <= speech.duration + 1e-9
        assert p.symbol and not p.symbol.startswith(("'", ","))  # stress marks stripped
    for a, b in itertools.pairwise(ph):
        assert b.start >= a.end - 1e-9  # ordered, non-overlapping
        assert b.start - a.end < 1e-6  # contiguous
    assert ph[0].start < 0.15
    assert abs(ph[-1].end - speech.duration) < 1e-6
    symbols = [p.symbol for p in ph]
    assert {"p", "b", "m"} <= set(symbols)
    assert symbols.count("m") >= 3  # Maybe, my, mum


def test_phoneme_timings_match_the_audio(speech: Speech) -> None:
    """The comma pause is the quietest stretch; vowels are louder than bilabial closures."""
    sr = speech.sample_rate

    def level(p) -> float:
        seg = speech.audio[int(p.start * sr) : int(p.end * sr)]
        return float(np.sqrt(np.mean(seg.astype(np.float64) ** 2)) + 1e-9)

    tts2 = EspeakTTS()
    s = tts2.synthesize("Hello there, my friend. Please wait.")
    pauses = [p for p in s.phonemes if p.symbol == "_" and p.end - p.start > 0.05]
    assert pauses, "expected a pause after the comma"
    seg = s.audio[int(pauses[0].start * sr) : int(pauses[0].end * sr)]
    assert np.sqrt(np.mean(seg**2)) < 0.1 * np.sqrt(np.mean(s.audio**2))

    vowels = [level(p) for p in speech.phonemes if p.symbol in {"eI", "aI", "V", "a", "i:"}]
    closures = [level(p) for p in speech.phonemes if p.symbol in {"p", "b"}]
    assert np.median(vowels) > 2 * np.median(closures)


def test_emotion_changes_prosody(tts: EspeakTTS) -> None:
    happy = tts.synthesize(PANGRAM, EmotionState.of("happy", 1.0))
    sad = tts.synthesize(PANGRAM, EmotionState.of("sad", 1.0))
    neutral = tts.synthesize(PANGRAM, EmotionState.of("neutral", 1.0))
    assert happy.duration < neutral.duration < sad.duration
    assert happy.duration < 0.85 * sad.duration
    f0_happy = median_f0(happy.audio, happy.sample_rate)
    f0_sad = median_f0(sad.audio, sad.sample_rate)
    assert f0_happy > 1.15 * f0_sad


def test_intensity_scales_prosody() -> None:
    assert prosody_multipliers(None) == (1.0, 1.0, 1.0, 1.0)
    assert prosody_multipliers(EmotionState.of("neutral", 1.0)) == pytest.approx((1, 1, 1, 1))
    weak = prosody_multipliers(EmotionState.of("sad", 0.2))
    strong = prosody_multipliers(EmotionState.of("sad", 1.0))
    assert 1.0 > weak[0] > strong[0]  # slower with more sadness
    angry = prosody_multipliers(EmotionState.of("angry", 1.0))
    assert angry[3] > 1.0 and angry[0] > 1.0  # louder and faster


def test_long_silence_is_trimmed_lightly() -> None:
    sr = 22050
    audio = np.concatenate([np.zeros(sr // 2), tone(1.0, sr), np.zeros(sr)]).astype(np.float32)
    phonemes = [Phoneme("_", 0.0, 0.5), Phoneme("a", 0.5, 1.5), Phoneme("_", 1.5, 2.5)]
    out, moved = _trim_silence(audio, sr, phonemes)
    assert len(out) / sr == pytest.approx(1.2, abs=2e-3)  # 0.1 s kept either side
    assert [p.symbol for p in moved] == ["_", "a", "_"]
    assert moved[1].start == pytest.approx(0.1, abs=2e-3)
    assert moved[1].end == pytest.approx(1.1, abs=2e-3)
    assert moved[0].start == 0.0 and moved[-1].end == pytest.approx(len(out) / sr)


def test_empty_text_raises(tts: EspeakTTS) -> None:
    for text in ["", "   \n\t "]:
        with pytest.raises(TextInputError, match="empty"):
            tts.synthesize(text)
    with pytest.raises(TextInputError, match="nothing that can be spoken"):
        tts.synthesize("...")


def test_too_long_text_raises() -> None:
    tts = EspeakTTS(TTSConfig(max_chars=50))
    with pytest.raises(TextInputError, match="50"):
        tts.synthesize("word " * 20)
    # Surrounding whitespace does not count against the cap.
    assert tts.synthesize("   " + "a" * 10 + " " * 100).text == "a" * 10


def test_voices(tts: EspeakTTS) -> None:
    voices = EspeakTTS.voices()
    assert "en-us+f3" in voices and len(voices) >= 4
    durations = {v: tts.synthesize("Hi there.", voice=v).duration for v in voices[:4]}
    assert all(d > 0.2 for d in durations.values())
    with pytest.raises(UserInputError, match="en-us\\+f3"):
        tts.synthesize("Hi.", voice="no-such-voice")
    with pytest.raises(UserInputError, match="Unknown voice"):
        tts.synthesize("Hi.", voice="en-us+nosuchvariant")


def test_threads_get_their_own_audio(tts: EspeakTTS) -> None:
    """Concurrent calls are serialised: each thread gets the audio of its own text."""
    texts = ["Yes.", "This is a much longer sentence than the other one, by far."]
    solo = [tts.synthesize(t).duration for t in texts]
    results: dict[int, float] = {}

    def work(i: int) -> None:
        results[i] = tts.synthesize(texts[i % 2]).duration

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6
    for i, d in results.items():
        # eSpeak carries a little state between utterances: lengths drift by a few samples.
        assert d == pytest.approx(solo[i % 2], abs=0.005)


# --- audio I/O -------------------------------------------------------------------------------


def test_load_audio_round_trip_resampled(tmp_path: Path, speech: Speech) -> None:
    path = save_wav(tmp_path / "sub" / "speech.wav", speech.audio, speech.sample_rate)
    info = sf.info(str(path))
    assert info.subtype == "PCM_16" and info.samplerate == speech.sample_rate
    loaded = load_audio(path, sample_rate=16000)
    assert loaded.sample_rate == 16000 and loaded.phonemes == []
    assert loaded.audio.dtype == np.float32
    assert abs(len(loaded.audio) - speech.duration * 16000) <= 16  # within 1 ms
    same = load_audio(path, sample_rate=speech.sample_rate)
    assert len(same.audio) == len(speech.audio)
    assert np.max(np.abs(same.audio - speech.audio)) < 2e-4  # 16-bit quantisation only


@pytest.mark.parametrize("ext", ["mp3", "ogg"])
def test_load_audio_compressed(tmp_path: Path, ext: str) -> None:
    wav = save_wav(tmp_path / "tone.wav", tone(1.5, 44100), 44100)
    out = tmp_path / f"tone.{ext}"
    ffmpeg("-i", str(wav), str(out))
    loaded = load_audio(out, sample_rate=22050)
    assert abs(loaded.duration - 1.5) < 0.1  # codecs add a few ms of padding
    assert 0.3 < float(np.max(np.abs(loaded.audio))) < 0.7
    # Still a 220 Hz tone after encode + decode + resample.
    spectrum = np.abs(np.fft.rfft(loaded.audio))
    freq = np.fft.rfftfreq(len(loaded.audio), 1 / loaded.sample_rate)[np.argmax(spectrum)]
    assert abs(freq - 220.0) < 3.0


def test_load_audio_rejects_corrupt(tmp_path: Path) -> None:
    bad = tmp_path / "noise.wav"
    bad.write_bytes(np.random.default_rng(0).bytes(20000))
    with pytest.raises(AudioInputError, match="Could not decode"):
        load_audio(bad)


def test_load_audio_rejects_silent(tmp_path: Path) -> None:
    path = save_wav(tmp_path / "silent.wav", np.zeros(22050, np.float32), 22050)
    with pytest.raises(AudioInputError, match="silent"):
        load_audio(path)


def test_load_audio_rejects_too_long(tmp_path: Path) -> None:
    path = save_wav(tmp_path / "long.wav", tone(3.0, 8000), 8000)
    with pytest.raises(AudioInputError, match="limit of 2 s"):
        load_audio(path, max_seconds=2.0)
    assert load_audio(path, max_seconds=4.0).duration == pytest.approx(3.0, abs=1e-3)


def test_load_audio_rejects_too_short(tmp_path: Path) -> None:
    path = save_wav(tmp_path / "short.wav", tone(0.1, 22050), 22050)
    with pytest.raises(AudioInputError, match=r"0\.2 s"):
        load_audio(path)


def test_load_audio_missing(tmp_path: Path) -> None:
    with pytest.raises(AudioInputError, match="does not exist"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioInputError, match="does not exist"):
        load_audio(tmp_path)  # a directory is not a file


# --- loudness and padding --------------------------------------------------------------------


def test_loudness_envelope_loud_then_silent() -> None:
    sr, fps = 16000, 25
    audio = np.concatenate([tone(1.0, sr, amp=0.3), np.zeros(sr, np.float32)])
    env = loudness_envelope(audio, sr, fps=fps)
    assert env.shape == (50,) and env.dtype == np.float32
    assert np.all((env >= 0) & (env <= 1))
    assert np.all(env[:23] > 0.9)  # loud half (away from the edge)
    assert np.all(env[27:] < 0.05)  # silent half
    # Relative to the clip: the same signal 30 dB quieter gives the same envelope.
    np.testing.assert_allclose(loudness_envelope(audio * 10 ** (-30 / 20), sr), env, atol=1e-3)
    # A quieter passage lands in between: 20 dB down is about half of the 40 dB range.
    mixed = np.concatenate([tone(1.0, sr, amp=0.3), tone(1.0, sr, amp=0.03)])
    mid = loudness_envelope(mixed, sr)[30:45]
    assert np.all((mid > 0.35) & (mid < 0.65))


def test_loudness_envelope_lengths() -> None:
    sr = 22050
    audio = tone(1.01, sr)
    assert len(loudness_envelope(audio, sr)) == 26  # ceil(1.01 * 25)
    env = loudness_envelope(audio, sr, n_frames=40)
    assert len(env) == 40 and np.all(env[27:] == 0)  # past the end of the audio
    assert np.all(loudness_envelope(np.zeros(sr, np.float32), sr) == 0)


def test_loudness_follows_speech(speech: Speech) -> None:
    env = loudness_envelope(speech.audio, speech.sample_rate)
    assert len(env) == int(np.ceil(speech.duration * 25 - 1e-6))
    assert env.max() > 0.9 and env.std() > 0.1


def test_pad_to_frames() -> None:
    sr = 22050
    audio = tone(1.0, sr)
    padded = pad_to_frames(audio, sr, 30)
    assert len(padded) == 30 * sr // 25 and np.all(padded[sr:] == 0)
    np.testing.assert_array_equal(padded[:sr], audio)
    trimmed = pad_to_frames(audio, sr, 10)
    assert len(trimmed) == 10 * sr // 25
    assert len(pad_to_frames(audio, 16000, 7, fps=30)) == round(7 * 16000 / 30)
