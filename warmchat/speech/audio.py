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
from warmchat.motion.tracks import FPS
from warmchat.motion.tracks import n_frames as frames_for
from warmchat.speech.tts import Speech

log = logging.getLogger(__name__)

MIN_SECONDS = 0.2  # shorter clips carry no usable speech
SILENT_PEAK = 1e-3  # peak amplitude below this (-60 dBFS) counts as silence
SILENT_RMS = 1e-4  # so does RMS below -80 dBFS (a single click in a silent file)
_DECODE_TIMEOUT_S = 120.0

# Loudness envelope: dB range mapped to [0, 1] below the clip's loud level.
_ENVELOPE_RANGE_DB = 40.0
_ENVELOPE_REF_PERCENTILE = 95.0
_ENVELOPE_SILENT_DBFS = -70.0  # a clip whose loud level is below this is all silence


def _ffmpeg_exe() -> str:
    import imageio_ffmpeg  # imported here: finding the binary touches the filesystem

    return imageio_ffmpeg.get_ffmpeg_exe()


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
    cmd = [
        _ffmpeg_exe(),
        "-nostdin",
        "-hide_banner",
        "-v",
        "error",
        "-i",
        str(p),
        "-vn",  # ignore any video stream (webm / mp4 recordings)
        "-ac",
        "1",
        "-ar",
        str(int(sample_rate)),
        "-t",
        f"{max_seconds + 1.0:.3f}",
        "-f",
        "f32le",
        "pipe:1",
    ]
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
    return Speech(audio=audio, sample_rate=int(sample_rate), phonemes=[], text="")


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
