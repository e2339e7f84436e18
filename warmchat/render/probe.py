"""An ``ffprobe`` for machines that have none: the part of its command line Gradio uses, on PyAV.

Gradio runs ``ffprobe`` by name: for every streamed video segment (its
duration, start, audio rate and codecs) and for every finished video it hands
out (is the codec one a browser plays?). The static ffmpeg of the
``imageio-ffmpeg`` wheel comes without one, and a laptop or a Space without
Debian's ``ffmpeg`` has none, so ``warmchat.render.video.put_ffmpeg_on_path``
puts a small launcher named ``ffprobe`` on the app's PATH that runs this module
when no real ffprobe is installed. PyAV reads the file with the FFmpeg
libraries inside its own wheel, so the figures are FFmpeg's own.

What it understands (everything else is ignored, as ffprobe's logging options are):

    ffprobe [-v LEVEL] [-print_format|-of json|csv=p=0|default=noprint_wrappers=1:nokey=1]
            [-show_format] [-show_streams] [-select_streams v|a] [-show_entries format=duration]
            [-i] FILE

It exits 1 with ffprobe's kind of message when the file cannot be read.
"""

from __future__ import annotations

import json
import os
import sys
from fractions import Fraction
from typing import Any


def _seconds(value, time_base) -> str | None:
    """A timestamp in ffprobe's form ("1.000000"), or None when it is not known."""
    if value is None or time_base is None:
        return None
    return f"{float(value * Fraction(time_base)):.6f}"


def probe(path: str) -> dict[str, Any]:
    """ffprobe's ``-show_format -show_streams`` of ``path`` as a dict (its JSON output)."""
    import av  # imported here: the launcher pays for it only when it runs

    with av.open(path) as container:
        streams = []
        for s in container.streams:
            cc = s.codec_context
            d: dict[str, Any] = {
                "index": s.index,
                "codec_type": s.type,
                "codec_name": cc.name if cc else None,
            }
            for key, value in (
                ("start_time", _seconds(s.start_time, s.time_base)),
                ("duration", _seconds(s.duration, s.time_base)),
            ):
                if value is not None:
                    d[key] = value
            if s.type == "video":
                d.update(width=cc.width, height=cc.height, pix_fmt=cc.format.name if cc.format else None)
                if s.average_rate:
                    d["avg_frame_rate"] = f"{s.average_rate.numerator}/{s.average_rate.denominator}"
            elif s.type == "audio":
                d.update(sample_rate=str(cc.sample_rate), channels=cc.channels)
                if cc.format is not None:
                    d.update(sample_fmt=cc.format.name, bits_per_sample=cc.format.bits)
            streams.append(d)
        fmt: dict[str, Any] = {
            "filename": path,
            "nb_streams": len(streams),
            "format_name": container.format.name,
            "size": str(os.path.getsize(path)),
        }
        # The container's times are in microseconds (AV_TIME_BASE).
        for key, value in (
            ("start_time", _seconds(container.start_time, Fraction(1, 1_000_000))),
            ("duration", _seconds(container.duration, Fraction(1, 1_000_000))),
        ):
            if value is not None:
                fmt[key] = value
    return {"streams": streams, "format": fmt}


def _args(argv: list[str]) -> dict[str, Any]:
    """The options this module understands, from an ffprobe command line."""
    opts: dict[str, Any] = {"show_format": False, "show_streams": False, "of": "default", "select": None,
                            "entries": None, "path": None}  # fmt: skip
    it = iter(argv)
    for a in it:
        if a in ("-show_format", "-show_streams"):
            opts[a[1:]] = True
        elif a in ("-print_format", "-of"):
            opts["of"] = next(it, "default")
        elif a == "-select_streams":
            opts["select"] = next(it, None)
        elif a == "-show_entries":
            opts["entries"] = next(it, "")
        elif a == "-i":
            opts["path"] = next(it, None)
        elif a in ("-v", "-loglevel", "-read_ahead_limit"):
            next(it, None)
        elif not a.startswith("-"):
            opts["path"] = a
    return opts


def main(argv: list[str] | None = None) -> int:
    opts = _args(sys.argv[1:] if argv is None else argv)
    path = opts["path"]
    if not path:
        print("ffprobe (warmchat): no input file given", file=sys.stderr)
        return 1
    try:
        info = probe(path)
    except Exception as e:  # any failure to read is ffprobe's "Invalid data"
        print(f"{path}: {e}", file=sys.stderr)
        return 1
    if opts["select"]:
        kind = {"v": "video", "a": "audio", "s": "subtitle"}.get(opts["select"][0], opts["select"])
        info["streams"] = [s for s in info["streams"] if s["codec_type"] == kind]
    if opts["entries"]:
        # "-show_entries format=duration": those values alone, one a line (csv / default without keys).
        section, _, keys = opts["entries"].partition("=")
        rows = [info["format"]] if section == "format" else info["streams"]
        for row in rows:
            for k in keys.split(","):
                if k in row:
                    print(row[k])
        return 0
    out = {}
    if opts["show_streams"]:
        out["streams"] = info["streams"]
    if opts["show_format"]:
        out["format"] = info["format"]
    if not opts["of"].startswith("json"):
        # ffprobe's "default" writer: [SECTION] key=value [/SECTION].
        for s in out.get("streams", []):
            print("[STREAM]\n" + "".join(f"{k}={v}\n" for k, v in s.items()) + "[/STREAM]")
        if "format" in out:
            print("[FORMAT]\n" + "".join(f"{k}={v}\n" for k, v in out["format"].items()) + "[/FORMAT]")
        return 0
    print(json.dumps(out, indent=4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
