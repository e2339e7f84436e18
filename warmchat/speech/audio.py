"""Audio input/output and the per-frame loudness the lips follow.

Decoding goes through the static ffmpeg binary of the ``imageio-ffmpeg`` wheel,
so any common format (wav, mp3, ogg, flac, m4a, webm, even a video's sound
track) loads the same way, with no system codecs. Writing uses soundfile.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import numpy as np

from warmchat.errors import AudioInputError
from warmchat.media import ffmpeg
from warmchat.motion.tracks import FPS
from warmchat.motion.tracks import n_frames as frames_for
from warmchat.speech.tts import Speech

log = logging.getLogger(__name__)

MIN_SECONDS = 0.2  # shorter clips carry no usable speech
SILENT_PEAK = 1e-3  # peak amplitude below this (-60 dBFS) counts as silence
SILENT_RMS = 1e-4  # so does RMS below -80 dBFS (a single click in a silent file)
_DECODE_TIMEOUT_S = 120.0

# Voice activity: a recording with sound in it but no speech (room noise, a fan, mains hum)
# is refused too. Speech is syllables, so its short-time level rises and falls 2-8 times a
# second by many dB; steady noise and hum keep their level, however loud they are. Frame
# levels are RMS over VAD_FRAME_S windows every VAD_HOP_S (the usual 25 ms / 10 ms) of the
# signal band-passed to the voice band (VAD_BAND_HZ): without that, the sub-100 Hz content of
# hum and of pink noise makes a 25 ms frame's level wander as if it were modulated.
VAD_FRAME_S = 0.025
VAD_HOP_S = 0.010
VAD_BAND_HZ = (100.0, 4000.0)
VAD_SYLLABLE_HZ = (2.0, 8.0)  # syllable rate: the level modulation speech has and noise lacks
VAD_RANGE_DB = 40.0  # frame levels are clamped to this far below the loud level (pauses)
VAD_LOUD_PERCENTILE = 95.0  # the loud level: robust to a click or two
VAD_FLOOR_PERCENTILE = 10.0  # the noise floor: the level of the quietest tenth of frames
# Amplitude (peak, dB) of the syllable-rate part of the level curve that speech needs.
# Measured: eSpeak speech 12.5 dB, with white or pink noise at 15 dB SNR 9.2, the shared
# real videos 3.1-10.3; white/pink noise at -50 dBFS 0.3-0.5, fan-like noise at -25 dBFS
# 0.2-0.6, mains hum under 0.1. 1.5 dB sits about 2x from each side.
VAD_MIN_MODULATION_DB = 1.5
# ... and this much time (summed over frames) at least VAD_ACTIVE_DB above the noise floor:
# one click or knock in room noise modulates the level too, but is over in tens of ms.
VAD_ACTIVE_DB = 6.0
VAD_MIN_ACTIVE_S = 0.1
# A steady sound with a clear pitch in the voice range (a held vowel, or the test tones the
# tests and tools use) still counts as voice. Mains hum is periodic at 50/60 Hz and the buzz
# of a transformer at 100/120 Hz, both below VOICE_F0_MIN_HZ, so they are refused.
VOICE_F0_MIN_HZ = 130.0
VOICE_F0_MAX_HZ = 1000.0
VOICE_PERIODICITY = 0.8  # normalised autocorrelation at the period: tones 1.0, noise < 0.3
_PERIODICITY_WINDOW_S = 0.5

# Loudness envelope: dB range mapped to [0, 1] below the clip's loud level.
_ENVELOPE_RANGE_DB = 40.0
_ENVELOPE_REF_PERCENTILE = 95.0
_ENVELOPE_SILENT_DBFS = -70.0  # a clip whose loud level is below this is all silence


def load_audio(path: str | Path, sample_rate: int = 22050, max_seconds: float = 60.0) -> Speech:
    """Decode an audio (or video) file to mono float32 at ``sample_rate``.

    Raises AudioInputError, with one sentence saying what to do, when the file is
    missing, cannot be decoded, is silent, is longer than ``max_seconds`` or
    shorter than 0.2 s. The result has no phonemes.
    """
    p = Path(path)
    if not p.is_file():
        raise AudioInputError(f"Audio file {str(p)!r} does not exist: check the path.")
    # Decode a little past the cap only: enough to tell that the file is too long without
    # holding an hour of audio in memory.
    cmd = ffmpeg(
        "-i", str(p),
        "-vn",  # ignore any video stream (webm / mp4 recordings)
        "-ac", "1", "-ar", str(int(sample_rate)), "-t", f"{max_seconds + 1.0:.3f}", "-f", "f32le", "pipe:1",
        overwrite=False,
    )  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=_DECODE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise AudioInputError(
            f"Decoding {p.name!r} took longer than {_DECODE_TIMEOUT_S:.0f} s:"
            " convert it to a short WAV or MP3 file and try again."
        ) from None
    n_bytes = len(proc.stdout) - len(proc.stdout) % 4
    if proc.returncode != 0 or n_bytes == 0:
        err = proc.stderr.decode("utf-8", "replace")
        log.debug("ffmpeg failed on %s: %s", p, err[-500:])
        if "does not contain any stream" in err:
            raise AudioInputError(
                f"{p.name!r} has no sound track: upload a file that contains recorded speech."
            )
        raise AudioInputError(
            f"Could not decode {p.name!r} as audio (not an audio file, or corrupt):"
            " use a WAV, MP3, OGG, FLAC or M4A recording."
        )
    audio = np.frombuffer(proc.stdout[:n_bytes], dtype="<f4").astype(np.float32)
    audio = np.clip(np.nan_to_num(audio), -1.0, 1.0)
    duration = audio.size / sample_rate
    if duration > max_seconds:
        raise AudioInputError(
            f"The audio is longer than the limit of {max_seconds:g} s: trim it to {max_seconds:g} s or less."
        )
    if duration < MIN_SECONDS:
        raise AudioInputError(
            f"The audio is only {duration:.2f} s long: record at least {MIN_SECONDS:g} s of speech."
        )
    peak = float(np.max(np.abs(audio)))
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    if peak < SILENT_PEAK or rms < SILENT_RMS:
        raise AudioInputError("The audio is silent: check the microphone and record again closer to it.")
    if not voice_activity(audio, sample_rate)["speech"]:
        raise AudioInputError(
            "No speech heard in the recording: it holds only faint or steady noise (room, fan or hum);"
            " speak closer to the microphone and record again."
        )
    return Speech(audio=audio, sample_rate=int(sample_rate), phonemes=[], text="")


def _frame_levels_db(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """RMS level in dBFS of VAD_FRAME_S frames every VAD_HOP_S (at least one frame)."""
    win = max(1, round(VAD_FRAME_S * sample_rate))
    hop = max(1, round(VAD_HOP_S * sample_rate))
    starts = np.arange(0, max(x.size - win, 0) + 1, hop)
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    ends = np.minimum(starts + win, x.size)
    energy = (csum[ends] - csum[starts]) / np.maximum(ends - starts, 1)
    return 10.0 * np.log10(np.maximum(energy, 1e-10))  # digital silence reads -100 dBFS


def _voice_pitch(x: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """(pitch Hz, periodicity) of the loudest half second, from its normalised autocorrelation.

    The period is the lag of the highest autocorrelation peak between 1/VOICE_F0_MAX_HZ and
    1/VOICE_F0_MIN_HZ, counted only after the curve has gone below zero (so the slow decay of
    rumble is no pitch). (0, 0) when there is none.
    """
    n = min(x.size, round(_PERIODICITY_WINDOW_S * sample_rate))
    if n < 4:
        return 0.0, 0.0
    # The loudest window of n samples.
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    start = int(np.argmax(csum[n:] - csum[:-n])) if x.size > n else 0
    seg = x[start : start + n] - np.mean(x[start : start + n])
    lo = max(1, int(sample_rate / VOICE_F0_MAX_HZ))
    hi = min(n - 1, int(np.ceil(sample_rate / VOICE_F0_MIN_HZ)))
    if hi <= lo:
        return 0.0, 0.0
    spec = np.fft.rfft(seg, 2 * n)
    ac = np.fft.irfft(spec * np.conj(spec), 2 * n)[: hi + 1]
    # Normalise by the energy of the overlapping parts, so long lags are not penalised.
    sq = np.concatenate([[0.0], np.cumsum(seg * seg)])
    lags = np.arange(hi + 1)
    norm = np.sqrt((sq[n - lags] - sq[0]) * (sq[n] - sq[lags]))
    r = np.where(norm > 0, ac / np.maximum(norm, 1e-30), 0.0)
    below = np.nonzero(r[: hi + 1] < 0.0)[0]
    if below.size == 0:
        return 0.0, 0.0
    first = max(lo, int(below[0]))
    if first > hi:
        return 0.0, 0.0
    lag = first + int(np.argmax(r[first : hi + 1]))
    return float(sample_rate / lag), float(r[lag])


def voice_activity(audio: np.ndarray, sample_rate: int) -> dict:
    """Whether a (non-silent) recording holds speech, with the measures behind the answer.

    Returns ``speech`` (bool) and ``modulation_db`` (peak amplitude of the syllable-rate
    part of the voice-band frame level), ``floor_db`` and ``loud_db`` (quiet and loud frame
    levels, dBFS), ``active_s`` (time at least VAD_ACTIVE_DB above the floor) and, for a
    sound without that modulation, ``pitch_hz`` and ``periodicity``. Energy and
    autocorrelation only (numpy, scipy): no model.
    """
    from scipy.signal import butter, sosfilt

    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    lo_hz, hi_hz = VAD_BAND_HZ
    sos = butter(2, [lo_hz, min(hi_hz, 0.45 * sample_rate)], btype="band", fs=sample_rate, output="sos")
    db = _frame_levels_db(sosfilt(sos, x), sample_rate)
    floor = float(np.percentile(db, VAD_FLOOR_PERCENTILE))
    loud = float(np.percentile(db, VAD_LOUD_PERCENTILE))
    active_s = float(np.count_nonzero(db >= floor + VAD_ACTIVE_DB) * VAD_HOP_S)
    # Syllable-rate modulation: the level curve (pauses clamped) band-passed by FFT.
    curve = np.maximum(db, loud - VAD_RANGE_DB)
    spec = np.fft.rfft(curve - curve.mean())
    freq = np.fft.rfftfreq(curve.size, VAD_HOP_S)
    band = (freq >= VAD_SYLLABLE_HZ[0]) & (freq <= VAD_SYLLABLE_HZ[1])
    syllables = np.fft.irfft(np.where(band, spec, 0.0), curve.size)
    modulation = float(np.sqrt(2.0 * np.mean(np.square(syllables))))
    out = {
        "modulation_db": modulation,
        "floor_db": floor,
        "loud_db": loud,
        "active_s": active_s,
        "pitch_hz": 0.0,
        "periodicity": 0.0,
    }
    if modulation >= VAD_MIN_MODULATION_DB and active_s >= VAD_MIN_ACTIVE_S:
        out["speech"] = True
        return out
    pitch, periodicity = _voice_pitch(x, sample_rate)
    out.update(pitch_hz=pitch, periodicity=periodicity)
    out["speech"] = bool(periodicity >= VOICE_PERIODICITY and VOICE_F0_MIN_HZ <= pitch <= VOICE_F0_MAX_HZ)
    return out


def save_wav(path: str | Path, audio: np.ndarray, sample_rate: int) -> Path:
    """Write mono audio in [-1, 1] as 16-bit PCM WAV; returns the path."""
    import soundfile as sf

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    data = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
    sf.write(str(p), data, int(sample_rate), subtype="PCM_16", format="WAV")
    return p


def loudness_envelope(
    audio: np.ndarray,
    sample_rate: int,
    fps: int = FPS,
    n_frames: int | None = None,
    window_s: float | None = None,
) -> np.ndarray:
    """(T,) loudness per video frame in [0, 1].

    For each frame, the RMS over a window centred on the frame's centre time
    (``window_s``, default 1.5 frames, so neighbouring windows overlap and the
    curve is smooth without lagging), in dB. The clip's own loud level (95th
    percentile of frame dB) maps to 1 and 40 dB below it to 0, so a quiet
    recording moves the lips as much as a loud one. Frames past the end of the
    audio are 0. ``T`` is ``n_frames`` or enough frames to cover the audio.
    """
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    t = int(n_frames) if n_frames is not None else frames_for(x.size / sample_rate, fps)
    if t <= 0:
        return np.zeros(0, np.float32)
    win = round((window_s if window_s is not None else 1.5 / fps) * sample_rate)
    half = max(1, win // 2)
    centres = np.round((np.arange(t) + 0.5) * sample_rate / fps).astype(np.int64)
    lo = np.clip(centres - half, 0, x.size)
    hi = np.clip(centres + half, 0, x.size)
    # Cumulative sum of squares: every window's energy in O(N + T).
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    count = hi - lo
    energy = np.where(count > 0, (csum[hi] - csum[lo]) / np.maximum(count, 1), 0.0)
    db = 10.0 * np.log10(np.maximum(energy, 1e-12))
    inside = count > 0
    if not inside.any():
        return np.zeros(t, np.float32)
    ref = float(np.percentile(db[inside], _ENVELOPE_REF_PERCENTILE))
    if ref < _ENVELOPE_SILENT_DBFS:
        return np.zeros(t, np.float32)
    env = (db - (ref - _ENVELOPE_RANGE_DB)) / _ENVELOPE_RANGE_DB
    env[~inside] = 0.0
    return np.clip(env, 0.0, 1.0).astype(np.float32)


def pad_to_frames(audio: np.ndarray, sample_rate: int, n_frames: int, fps: int = FPS) -> np.ndarray:
    """Zero-pad or trim ``audio`` to exactly ``n_frames / fps`` seconds (rounded to a sample)."""
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    target = round(n_frames * sample_rate / fps)
    if x.size >= target:
        return x[:target].copy()
    return np.concatenate([x, np.zeros(target - x.size, np.float32)])
