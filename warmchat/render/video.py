"""Video I/O: compose the two avatars side by side and encode H.264 + AAC mp4.

Encoding goes through the static ffmpeg binary inside the ``imageio-ffmpeg``
wheel (no system ffmpeg), fed raw RGB frames on stdin so frames can be written
as they are rendered.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from warmchat.motion.tracks import FPS


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


class Mp4Writer:
    """Streams RGB frames into an H.264 mp4, muxing a WAV file as AAC.

    Use as a context manager; ``write`` takes (H, W, 3) uint8 frames. The audio
    should already be padded to the video's length (see ``pad_to_frames``).
    """

    def __init__(self, path: str | Path, width: int, height: int, audio_path: str | Path | None = None,
                 fps: int = FPS, crf: int = 20, preset: str = "veryfast") -> None:  # fmt: skip
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size = (width, height)
        self.n = 0
        cmd = [ffmpeg_exe(), "-y", "-nostdin", "-hide_banner", "-loglevel", "error",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-"]  # fmt: skip
        if audio_path is not None:
            cmd += ["-i", str(audio_path), "-c:a", "aac", "-b:a", "128k", "-shortest"]
        cmd += ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
                "-movflags", "+faststart", str(self.path)]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, frame: np.ndarray) -> None:
        if frame.shape[1::-1] != self.size:
            raise ValueError(f"frame is {frame.shape[1]}x{frame.shape[0]}, writer expects {self.size}")
        assert self.proc.stdin is not None
        self.proc.stdin.write(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())
        self.n += 1

    def close(self) -> Path:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        if self.proc.wait() != 0:
            raise RuntimeError(f"ffmpeg failed writing {self.path}: {err.strip()[-500:]}")
        return self.path

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:  # do not leave a half-written file or a zombie process behind
            self.proc.kill()
            self.proc.wait()
            self.path.unlink(missing_ok=True)


def write_mp4(path: str | Path, frames: Iterable[np.ndarray], audio_path: str | Path | None = None) -> Path:
    """Write all ``frames`` (an iterable of equal-sized RGB arrays) to ``path``."""
    it = iter(frames)
    first = next(it)
    with Mp4Writer(path, first.shape[1], first.shape[0], audio_path) as w:
        w.write(first)
        for f in it:
            w.write(f)
    return Path(path)


def concat_mp4(paths: list[Path], out: str | Path) -> Path:
    """Join mp4 clips made by ``Mp4Writer`` (same size and codecs) into one file."""
    out = Path(out)
    lst = out.with_suffix(".txt")
    lst.write_text("".join(f"file '{Path(p).resolve()}'\n" for p in paths))
    cmd = [ffmpeg_exe(), "-y", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "concat",
           "-safe", "0", "-i", str(lst), "-c", "copy", "-movflags", "+faststart", str(out)]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True)
    lst.unlink(missing_ok=True)
    if res.returncode != 0:
        raise RuntimeError(f"ffmpeg could not join clips: {res.stderr.strip()[-500:]}")
    return out


def read_frames(path: str | Path, every: int = 1) -> list[np.ndarray]:
    """Decode an mp4 into RGB frames (every ``every``-th), for checks and benchmarks."""
    import imageio_ffmpeg

    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    out = []
    for i, buf in enumerate(gen):
        if i % every == 0:
            out.append(np.frombuffer(buf, np.uint8).reshape(h, w, 3).copy())
    return out


def media_durations(path: str | Path) -> dict[str, float]:
    """Seconds of the video and audio streams of a file, read by decoding them."""
    import imageio_ffmpeg

    n_frames, video_s = imageio_ffmpeg.count_frames_and_secs(str(path))
    cmd = [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", "16000",
           "-f", "s16le", "-"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True)
    audio_s = len(res.stdout) / 2 / 16000 if res.returncode == 0 else 0.0
    return {"video": float(n_frames) / FPS, "video_container": float(video_s), "audio": audio_s}


class Compositor:
    """Places two avatar frames side by side with a small label on each.

    The label says who it is and whether they are speaking; label images are
    drawn once and blended, so composing costs a copy per frame.
    """

    def __init__(self, size: int, names: tuple[str, str]) -> None:
        self.size = size
        self.names = names
        self._labels: dict[tuple[int, bool], tuple[np.ndarray, np.ndarray]] = {}

    def _label(self, side: int, speaking: bool) -> tuple[np.ndarray, np.ndarray]:
        key = (side, speaking)
        if key not in self._labels:
            text = f"{self.names[side]}  {'speaking' if speaking else 'listening'}"
            scale = self.size / 900
            thick = max(1, round(self.size / 400))
            (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
            pad = int(8 * self.size / 512)
            h, w = th + base + 2 * pad, tw + 2 * pad + (th + pad if speaking else 0)
            img = np.zeros((h, w, 3), np.uint8)
            img[:] = (40, 40, 40)
            x = pad
            if speaking:  # a coloured dot for the speaker
                cv2.circle(img, (pad + th // 2, h // 2), th // 2, (235, 90, 60), -1, cv2.LINE_AA)
                x += th + pad
            cv2.putText(
                img, text, (x, pad + th), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA
            )
            alpha = np.full((h, w, 1), 0.75 if speaking else 0.55, np.float32)
            self._labels[key] = (img.astype(np.float32), alpha)
        return self._labels[key]

    def compose(self, left: np.ndarray, right: np.ndarray, speaker: int) -> np.ndarray:
        """(S, 2S, 3) frame: ``left`` and ``right`` side by side; ``speaker`` is 0 or 1."""
        s = self.size
        out = np.empty((s, 2 * s, 3), np.uint8)
        out[:, :s] = left
        out[:, s:] = right
        m = int(10 * s / 512)
        for side in (0, 1):
            img, a = self._label(side, speaker == side)
            h, w = img.shape[:2]
            y0, x0 = s - h - m, side * s + m
            roi = out[y0 : y0 + h, x0 : x0 + w].astype(np.float32)
            out[y0 : y0 + h, x0 : x0 + w] = (roi * (1 - a) + img * a).astype(np.uint8)
        return out
