"""The ffmpeg binary and the command-line prologue every call shares.

Everything that runs ffmpeg (encoding and joining clips, decoding audio) goes
through the static build inside the ``imageio-ffmpeg`` wheel, so no system
ffmpeg is needed.
"""

from __future__ import annotations


def ffmpeg_exe() -> str:
    """The static ffmpeg inside the ``imageio-ffmpeg`` wheel (no system ffmpeg needed)."""
    import imageio_ffmpeg  # imported here: finding the binary touches the filesystem

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args: str, overwrite: bool = True) -> list[str]:
    """An ffmpeg command line: the wheel's binary, quiet but for errors, never reading stdin
    (the one prologue every call shares), then ``args``; ``overwrite`` replaces the output."""
    return [
        ffmpeg_exe(),
        *(["-y"] if overwrite else []),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        *args,
    ]
