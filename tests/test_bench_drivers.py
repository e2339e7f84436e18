"""The bench drivers' parts that need no app: bench.stream fetching and decoding a stream's segments
as a player does (from a small HTTP server on 127.0.0.1), bench.load's port and memory readings
(the drivers against the real app are in the slow tier: test_app, test_load, test_app_hostile)."""

from __future__ import annotations

import functools
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from warmchat.bench.stream import _is_stream, fetch_stream
from warmchat.media import ffmpeg
from warmchat.render.video import SegmentedClipWriter


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no line per request on stderr
        pass


@pytest.fixture
def served(tmp_path):
    """A folder served over HTTP on a free loopback port; yields (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_a_streams_segments_are_fetched_and_decoded(served, tmp_path):
    root, base = served
    segs = []
    with SegmentedClipWriter(root / "clip.mp4", 64, 64, 22050, segment_dir=root / "s",
                             on_segment=segs.append, keep_segments=True) as w:  # fmt: skip
        w.add_audio(0.1 * np.sin(np.arange(int(22050 * 2.4)) / 10).astype(np.float32))
        for i in range(60):  # 2.4 s at 25 fps
            w.write(np.full((64, 64, 3), i * 4, np.uint8))
    # A stream can end with a segment of sound only (the encoder's last frames).
    tail = root / "s" / "tail.ts"
    subprocess.run(ffmpeg("-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "aac", "-f", "mpegts", str(tail)), check=True,
                   capture_output=True)  # fmt: skip
    names = [*(s.path.relative_to(root).as_posix() for s in segs), "s/tail.ts"]
    (root / "stream").mkdir()
    lines = [
        "#EXTM3U",
        "#EXT-X-TARGETDURATION:1",
        *[f"#EXTINF:1.0,\n../{n}" for n in names],
        "#EXT-X-ENDLIST",
    ]
    (root / "stream" / "playlist.m3u8").write_text("\n".join(lines) + "\n")
    r = fetch_stream(base, "stream/playlist.m3u8", tmp_path / "got")
    assert r["segments_listed"] == len(segs) + 1 >= 3
    assert r["first_segment_frames"] == segs[0].frames
    assert r["first_segment_audio_s"] == pytest.approx(segs[0].duration_s, abs=0.05)
    assert r["stream_video_s"] == pytest.approx(2.4, abs=0.05)
    assert r["stream_audio_s"] == pytest.approx(2.9, abs=0.1)  # AAC pads the tail a little
    # A playlist that lists nothing yet says so.
    (root / "stream" / "empty.m3u8").write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n")
    with pytest.raises(RuntimeError, match="lists no segment"):
        fetch_stream(base, "stream/empty.m3u8", tmp_path / "none")


def test_only_a_streamed_file_counts_as_the_stream():
    assert _is_stream({"is_stream": True, "url": "/stream/x/playlist.m3u8"})
    assert not _is_stream({"is_stream": True, "url": None})
    assert not _is_stream({"is_stream": False, "url": "/file=x.mp4"})
    assert not _is_stream("x.mp4") and not _is_stream(None)


def test_the_load_tests_port_and_memory_readings():
    import os
    import socket

    from warmchat.bench.load import free_port, rss_mb

    port = free_port()
    with socket.socket() as s:  # free: a server can listen on it
        s.bind(("127.0.0.1", port))
    # The resident memory /proc/PID/status gives, as /proc/PID/statm counts it in pages.
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    assert rss_mb(os.getpid()) == pytest.approx(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, abs=8)
