"""Video I/O: compose the two avatars side by side and encode H.264 + AAC mp4.

Encoding goes through the static ffmpeg binary inside the ``imageio-ffmpeg``
wheel (no system ffmpeg), fed raw RGB frames on stdin so frames can be written
as they are rendered. ``SegmentedClipWriter`` also cuts the clip into short
segments, each playable on its own, so a player can start before the clip ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from warmchat.media import ffmpeg, ffmpeg_exe
from warmchat.motion.tracks import FPS
from warmchat.paths import REPO_DIR
from warmchat.speech.audio import save_wav


def put_ffmpeg_on_path() -> str:
    """Put ``ffmpeg`` and ``ffprobe`` first on this process's PATH; returns where ffprobe comes from.

    Gradio's video output runs ``ffmpeg`` and ``ffprobe`` by name, three times
    per streamed segment and once per finished clip. ``ffmpeg`` becomes the
    wheel's static build: it starts in a few milliseconds where a dynamically
    linked one (Debian's) takes ~50 ms, and it is the build that wrote the
    segments. ``ffprobe`` is the system's when one is installed (returns
    ``"system"``); otherwise a launcher of ``warmchat.render.probe``, which
    reads files with the FFmpeg libraries inside the PyAV wheel (returns
    ``"bundled"``), so the live video works on a machine with no ffmpeg at all.
    """
    from warmchat import storage

    exe = Path(ffmpeg_exe())
    # In this process's own folder (storage.py): deleted when the app stops, swept if it was
    # killed, and never shared with another install's app, whose venv may differ or go away.
    # Not "warmchat-*": that is what conversation folders are called (the load test counts them).
    folder = storage.sessions_root() / "bin"
    folder.mkdir(exist_ok=True)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p) != folder]
    system = shutil.which("ffprobe", path=os.pathsep.join(path))
    if system:
        _place(folder / "ffprobe", lambda tmp: tmp.symlink_to(system))
    else:
        launcher = (
            f"#!{sys.executable} -I\n# warmchat's ffprobe (no system ffprobe was found)\n"
            f"import sys\nsys.path.insert(0, {str(REPO_DIR)!r})\n"
            "from warmchat.render.probe import main\nsys.exit(main())\n"
        )
        _place(folder / "ffprobe", lambda tmp: (tmp.write_text(launcher), tmp.chmod(0o755)))
    _place(folder / "ffmpeg", lambda tmp: tmp.symlink_to(exe))
    os.environ["PATH"] = os.pathsep.join([str(folder), *path])
    return "system" if system else "bundled"


def _place(target: Path, make: Callable[[Path], object]) -> None:
    """Create ``target`` through ``make(tmp)`` and an atomic rename: another process may be running it."""
    tmp = target.with_name(f"{target.name}.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    make(tmp)
    tmp.replace(target)


def raw_frames_input(
    width: int, height: int, fps: int
) -> tuple[list[str], Callable[[np.ndarray], memoryview]]:
    """ffmpeg's arguments for raw frames on stdin, and what turns an (H, W, 3) uint8 RGB frame into
    those bytes.

    Frames cross the pipe as YUV 4:2:0, converted by OpenCV (0.07 ms a 512² frame, BT.601 limited
    range like ffmpeg's own conversion: luma within 1 level): ffmpeg's rgb24 -> yuv420p took 0.8 ms
    of the encoder's CPU a 512² frame, and half as many bytes cross. H.264 in 4:2:0 needs even sides.
    """
    if width % 2 or height % 2 or min(width, height) < 2:
        raise ValueError(f"video frames need even sides for H.264 4:2:0, not {width}x{height}")
    args = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-"]

    def to_bytes(frame: np.ndarray) -> memoryview:
        return memoryview(cv2.cvtColor(np.asarray(frame, np.uint8), cv2.COLOR_RGB2YUV_I420)).cast("B")

    return args, to_bytes


def widen_pipe(proc: subprocess.Popen, width: int, height: int) -> None:
    """Let ``proc``'s stdin pipe hold a few frames of ``raw_frames_input`` (Linux; elsewhere a no-op).

    With the default 64 kB a frame's write blocks until ffmpeg has read nearly all of it, so the
    renderer waits whenever the encoder is busy and the two barely overlap on two cores; with
    room for the frame the write returns and the next frame renders while this one encodes.
    """
    try:
        import fcntl
    except ImportError:  # Windows
        return
    setsz = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setsz is None or proc.stdin is None:
        return
    frame_bytes = width * height * 3 // 2  # YUV 4:2:0: a luma byte a pixel, two quarter-size chroma planes
    for size in (4 * frame_bytes, 2 * frame_bytes, frame_bytes + 4096):
        try:
            fcntl.fcntl(proc.stdin.fileno(), setsz, size)
            return
        except OSError:  # above /proc/sys/fs/pipe-max-size: try less
            continue


class Mp4Writer:
    """Streams RGB frames into an H.264 mp4, muxing a WAV file as AAC.

    Use as a context manager; ``write`` takes (H, W, 3) uint8 frames. The audio
    should already be padded to the video's length (see ``pad_to_frames``).
    """

    def __init__(self, path: str | Path, width: int, height: int, audio_path: str | Path | None = None,
                 fps: int = FPS, crf: int = 20, preset: str = "superfast") -> None:  # fmt: skip
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size = (width, height)
        self.n = 0
        args, self._frame_bytes = raw_frames_input(width, height, fps)
        cmd = ffmpeg(*args)
        if audio_path is not None:
            cmd += ["-i", str(audio_path), "-c:a", "aac", "-b:a", "128k", "-shortest"]
        cmd += ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
                "-movflags", "+faststart", str(self.path)]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        widen_pipe(self.proc, width, height)

    def write(self, frame: np.ndarray) -> None:
        if frame.shape[1::-1] != self.size:
            raise ValueError(f"frame is {frame.shape[1]}x{frame.shape[0]}, writer expects {self.size}")
        assert self.proc.stdin is not None
        self.proc.stdin.write(self._frame_bytes(frame))
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


@dataclass(frozen=True)
class Segment:
    """One short piece of a clip, written while the rest is still being rendered."""

    path: Path  # H.264 + FLAC mp4 of just these frames and their slice of the audio
    index: int  # 0, 1, 2, ... in playing order
    first_frame: int  # where it starts in the whole clip, in frames
    frames: int  # how many frames it holds
    fps: int = FPS  # frame rate, for the times below

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps


@dataclass
class SegmentConfig:
    """How a clip is cut while it is rendered."""

    frames: int = 25  # per segment: 1 s keeps a player fed; an ffmpeg start a second costs little
    # The clip's first segment: short, so the player starts soon (8 frames: ~0.15 s after the
    # first frame); each next one half as long again (8, 12, 18, 25), so it is ready before the
    # one playing runs out.
    first_frames: int = 8
    crf: int = 20  # x264 quality, as for whole clips
    preset: str = "superfast"  # x264 speed: encoding must keep up with rendering
    # x264 tune: "zerolatency" has no lookahead, so a segment is out as soon as its last frame is
    # in (a lookahead holds ~10 frames back: 0.05 s a segment); its files are a little bigger.
    tune: str | None = "zerolatency"
    audio_bitrate: str = "128k"  # AAC bitrate of the whole clip (segments carry lossless FLAC)


class SegmentedClipWriter:
    """Encodes a clip into short, independently playable mp4 segments as frames arrive,
    then joins them into the whole clip.

    The audio comes first: ``add_audio`` appends the sound of the frames still to
    come (an utterance's speech padded to its frames), and ``write`` takes frames.
    A segment never runs past the audio added so far, so a segment also ends
    where an utterance ends and its sound need not be known before it starts.
    Each segment is its own ffmpeg run (fed while frames are rendered) with its
    own keyframe, so its video joins the next one's without re-encoding. Its
    sound is FLAC, not AAC: AAC pads every piece to a whole 1024-sample frame,
    which older ffmpeg builds (Debian's, which Gradio's streaming uses) decode
    as 22 ms too much per second, enough to drift a stream out of sync; FLAC
    decodes to exactly its samples everywhere, and browsers play it in mp4. The
    whole clip is the segments' video joined as it is plus all the audio
    encoded once as AAC, so it sounds exactly as if written in one go.

    ``on_segment`` is called with each finished ``Segment``; the files stay in
    ``segment_dir`` (a temp dir by default, deleted on close unless
    ``keep_segments``). Use as a context manager, like ``Mp4Writer``.
    """

    def __init__(self, path: str | Path, width: int, height: int, sample_rate: int,
                 config: SegmentConfig | None = None, segment_dir: str | Path | None = None,
                 on_segment: Callable[[Segment], None] | None = None, keep_segments: bool = False,
                 fps: int = FPS) -> None:  # fmt: skip
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.cfg = config or SegmentConfig()
        if min(self.cfg.frames, self.cfg.first_frames) < 1:
            raise ValueError(f"a segment needs at least one frame, not {self.cfg}")
        self.size = (width, height)
        self.sample_rate = int(sample_rate)
        self.fps = fps
        self.on_segment = on_segment
        self.keep_segments = keep_segments or segment_dir is not None
        self.dir = Path(segment_dir) if segment_dir else Path(tempfile.mkdtemp(prefix="warmchat.segments-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.segments: list[Segment] = []
        self.n = 0  # frames written
        self._audio: list[np.ndarray] = []  # float32 mono pieces, as added
        self._audio_samples = 0
        self._proc: subprocess.Popen | None = None  # the segment being encoded
        self._seg_first = 0
        self._seg_frames = 0
        self._seg_path: Path | None = None
        self._input, self._frame_bytes = raw_frames_input(width, height, fps)

    # -- timeline
    def _frame_sample(self, frame: int) -> int:
        """The audio sample where ``frame`` starts (the same rounding as ``pad_to_frames``)."""
        return round(frame * self.sample_rate / self.fps)

    @property
    def audio_frames(self) -> int:
        """Frames that the audio added so far covers."""
        return int(self._audio_samples * self.fps // self.sample_rate)

    def add_audio(self, samples: np.ndarray) -> None:
        """Append mono audio in [-1, 1] at ``sample_rate`` for the frames to come."""
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        self._audio.append(x)
        self._audio_samples += x.size

    def _audio_slice(self, first: int, frames: int) -> np.ndarray:
        a, b = self._frame_sample(first), self._frame_sample(first + frames)
        audio = np.concatenate(self._audio) if len(self._audio) > 1 else self._audio[0]
        self._audio = [audio]
        return audio[a:b]

    # -- segments
    def _start_segment(self) -> None:
        left = self.audio_frames - self.n  # frames until the audio added so far runs out
        if left <= 0:
            raise ValueError(
                f"frame {self.n} has no audio yet: add_audio() the sound of an utterance before its frames"
            )
        ramp = self.cfg.first_frames * 1.5 ** len(self.segments)  # 8, 12, 18, 27 -> 25, 25, ...
        frames = min(round(ramp), self.cfg.frames, left)
        # A short tail joins the segment before it (an ffmpeg start for a frame
        # or two is waste), except on the first, which should come out soon.
        if self.segments and left - frames < self.cfg.frames // 2:
            frames = left
        i = len(self.segments)
        wav = save_wav(self.dir / f"seg_{i:03d}.wav", self._audio_slice(self.n, frames), self.sample_rate)
        self._seg_path = self.dir / f"seg_{i:03d}.mp4"
        self._seg_first, self._seg_frames = self.n, frames
        cmd = ffmpeg(*self._input, "-i", str(wav), "-map", "0:v:0", "-map", "1:a:0", "-c:v", "libx264", "-preset", self.cfg.preset, "-crf", str(self.cfg.crf),
               *(["-tune", self.cfg.tune] if self.cfg.tune else []), "-pix_fmt", "yuv420p", "-c:a", "flac", "-movflags", "+faststart", str(self._seg_path))  # fmt: skip
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        widen_pipe(self._proc, *self.size)

    def _finish_segment(self) -> None:
        proc, path = self._proc, self._seg_path
        assert proc is not None and proc.stdin is not None and path is not None
        self._proc = None
        proc.stdin.close()
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.wait() != 0:
            raise RuntimeError(f"ffmpeg failed writing segment {path}: {err.strip()[-500:]}")
        path.with_suffix(".wav").unlink(missing_ok=True)
        seg = Segment(path, len(self.segments), self._seg_first, self._seg_frames, self.fps)
        self.segments.append(seg)
        if self.on_segment is not None:
            self.on_segment(seg)

    def write(self, frame: np.ndarray) -> None:
        """Add one (H, W, 3) uint8 frame; a segment that is full is finished and handed on."""
        if frame.shape[1::-1] != self.size:
            raise ValueError(f"frame is {frame.shape[1]}x{frame.shape[0]}, writer expects {self.size}")
        if self._proc is None:
            self._start_segment()
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(self._frame_bytes(frame))
        self.n += 1
        if self.n == self._seg_first + self._seg_frames:
            self._finish_segment()

    # -- the whole clip
    def close(self) -> Path:
        """Join the segments into the whole clip (their video as is, the audio encoded once)."""
        if self._proc is not None:
            raise ValueError(
                f"the clip ends inside a segment: frames {self._seg_first}-{self.n} of "
                f"{self._seg_first + self._seg_frames} were written"
            )
        if not self.segments:
            raise ValueError(f"no frames were written to {self.path}")
        wav = save_wav(self.dir / "clip.wav", self._audio_slice(0, self.n), self.sample_rate)
        lst = self.dir / "segments.txt"
        # Only the segments' video (mp4 track 1): with their audio, the concat
        # demuxer starts each one at its audio's AAC priming and drops a frame there.
        lst.write_text(
            "ffconcat version 1.0\nstream\nexact_stream_id 1\n"
            + "".join(f"file '{s.path.resolve()}'\n" for s in self.segments)
        )
        # The length is set exactly (-t), not by -shortest: which stream ffmpeg sees end
        # first depends on how its threads are scheduled, and on a busy machine
        # -shortest cut the clip's last frame now and then.
        cmd = ffmpeg("-f", "concat", "-safe", "0", "-i", str(lst), "-i", str(wav),
               "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-b:a", self.cfg.audio_bitrate,
               "-t", f"{self.n / self.fps:.6f}", "-movflags", "+faststart", str(self.path))  # fmt: skip
        res = subprocess.run(cmd, capture_output=True, text=True)
        wav.unlink(missing_ok=True)
        lst.unlink(missing_ok=True)
        if res.returncode != 0:
            raise RuntimeError(
                f"ffmpeg could not join the segments of {self.path}: {res.stderr.strip()[-500:]}"
            )
        if not self.keep_segments:
            shutil.rmtree(self.dir, ignore_errors=True)
        return self.path

    def abort(self) -> None:
        """Stop without a clip: no half-written file or running ffmpeg is left behind."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None
        self.path.unlink(missing_ok=True)
        if not self.keep_segments:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> SegmentedClipWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def concat_mp4(paths: list[Path], out: str | Path) -> Path:
    """Join mp4 clips made by ``Mp4Writer`` (same size and codecs) into one file."""
    out = Path(out)
    lst = out.with_suffix(".txt")
    lst.write_text("".join(f"file '{Path(p).resolve()}'\n" for p in paths))
    cmd = ffmpeg(
        "-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy", "-movflags", "+faststart", str(out)
    )
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
    """Seconds of the video and audio streams of a file, read by decoding them (0 for a stream
    the file lacks: the last segment of a Gradio stream can be audio only)."""
    import imageio_ffmpeg

    try:
        n_frames, video_s = imageio_ffmpeg.count_frames_and_secs(str(path))
    except RuntimeError as e:
        if "matches no streams" not in str(e):  # ffmpeg's words for "no video stream to map"
            raise
        n_frames, video_s = 0, 0.0
    cmd = ffmpeg("-i", str(path), "-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", "-", overwrite=False)
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
