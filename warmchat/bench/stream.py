"""How soon a turn's video can play, through the real app and gradio_client.

    python -m warmchat.bench.stream [--turns 3] [--json OUT.json]

starts ``python app.py`` on a free 127.0.0.1 port, sends messages through
``/send`` and times, from the moment each is sent: the reply text's update,
the first update that carries the streamed video, and the end of the turn.
It then fetches the stream's segments from its playlist, as a browser's player
would, and decodes them, so "first segment" means a playable one. The
machine's load average is reported with the figures: on a shared machine it
says what they mean.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin

import numpy as np

from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT

LIVE_OUTPUT = -1  # the streamed video is the last output of /send
CHAT_OUTPUT = 2


# What a visitor says, one message a turn (the browser bench sends the same).
MESSAGES = ["I just got the job I wanted!", "Thank you! I start on Monday.", "What should I wear on the first day?",
            "I am a bit nervous.", "Thanks, that helps.", "See you soon!"]  # fmt: skip


def _is_stream(value) -> bool:
    return isinstance(value, dict) and bool(value.get("is_stream")) and bool(value.get("url"))


def fetch_stream(base_url: str, playlist_url: str, out: Path) -> dict:
    """Download the stream's playlist and the segments it lists into the folder ``out``, and
    decode them as a browser's player would.

    Returns the segment count the playlist lists now, the first segment's decoded
    frames and audio seconds, and the seconds of video and of audio all the listed
    segments carry (a stream with sound all the way through has the two alike; how
    the audio falls between segments is up to Gradio's AAC encoder).
    """
    import httpx

    from warmchat.bench.measures import read_video
    from warmchat.render.video import media_durations

    url = urljoin(base_url, playlist_url)
    playlist = httpx.get(url, timeout=30).raise_for_status().text
    uris = [ln.strip() for ln in playlist.splitlines() if ln.strip() and not ln.startswith("#")]
    if not uris:
        raise RuntimeError(f"the stream's playlist lists no segment yet:\n{playlist}")
    out.mkdir(parents=True, exist_ok=True)
    durations = []
    for k, uri in enumerate(uris):
        seg = out / f"segment_{k:03d}.ts"
        seg.write_bytes(httpx.get(urljoin(url, uri), timeout=30).raise_for_status().content)
        durations.append(media_durations(seg))
    return {
        "segments_listed": len(uris),
        "first_segment_frames": len(read_video(out / "segment_000.ts")),
        "first_segment_audio_s": round(durations[0]["audio"], 3),
        "stream_video_s": round(sum(d["video"] for d in durations), 3),
        "stream_audio_s": round(sum(d["audio"] for d in durations), 3),
    }


def measure_turn(client, message: str, work: Path) -> dict:
    """One turn through ``/send`` with a client made with ``download_files=False``; seconds from sending."""
    from gradio_client import handle_file

    t0 = time.perf_counter()
    job = client.submit(
        message=message,
        agent_img=handle_file(str(DEFAULT_AGENT_PORTRAIT)),
        user_img=handle_file(str(DEFAULT_USER_PORTRAIT)),
        audio=None,
        api_name="/send",
    )
    reply_s = first_s = None
    first_url = None
    updates = 0
    for out in job:
        dt = time.perf_counter() - t0
        updates += 1
        if reply_s is None and isinstance(out[CHAT_OUTPUT], list):
            reply_s = dt
        if first_s is None and _is_stream(out[LIVE_OUTPUT]):
            first_s, first_url = dt, out[LIVE_OUTPUT]["url"]
    final = job.result()
    done_s = time.perf_counter() - t0
    result = {
        "reply_s": None if reply_s is None else round(reply_s, 3),
        "first_segment_s": None if first_s is None else round(first_s, 3),
        "done_s": round(done_s, 3),
        "updates": updates,
        "chat_messages": len(final[CHAT_OUTPUT]),
        "turn_clip": final[0]["orig_name"] if isinstance(final[0], dict) else final[0],
    }
    if first_url is not None:
        # After the turn, so that the playlist lists the whole stream.
        result.update(fetch_stream(client.src, first_url, work / f"stream_{time.time_ns()}"))
    return result


def run(turns: int = 3) -> dict:
    """Start the app, run ``turns`` turns in one session, return every turn's figures and a summary."""
    from gradio_client import Client

    from warmchat.bench.load import App

    app = App()
    rows = []
    try:
        client = Client(app.url, verbose=False, download_files=False)
        with tempfile.TemporaryDirectory(prefix="warmchat-stream-") as tmp:
            for k in range(turns):
                row = measure_turn(client, MESSAGES[k % len(MESSAGES)], Path(tmp))
                row["load_avg_1min"] = round(os.getloadavg()[0], 2)
                rows.append(row)
        client.close()
    finally:
        app.stop()
    first = [r["first_segment_s"] for r in rows if r["first_segment_s"] is not None]
    return {
        "turns": rows,
        "first_segment_s_median": round(float(np.median(first)), 3) if first else None,
        "first_segment_s_max": round(max(first), 3) if first else None,
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    result = run(args.turns)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0 if result["first_segment_s_max"] is not None else 1


if __name__ == "__main__":
    raise SystemExit(main())
