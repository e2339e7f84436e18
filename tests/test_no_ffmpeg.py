"""The app on a machine with no ffmpeg or ffprobe installed: the README's two commands, streaming included."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client import Client

from warmchat.bench.stream import measure_turn
from warmchat.render import probe
from warmchat.render.video import SegmentConfig, SegmentedClipWriter

pytestmark = pytest.mark.slow  # the real app with an empty PATH


def test_the_bundled_ffprobe_reads_what_gradio_asks_of_a_segment(tmp_path):
    segs = []
    with SegmentedClipWriter(
        tmp_path / "c.mp4", 64, 64, 22050, segment_dir=tmp_path / "s", on_segment=segs.append
    ) as w:
        w.add_audio(0.1 * np.sin(np.arange(22050 * 2) / 10).astype(np.float32))
        for i in range(50):
            w.write(np.full((64, 64, 3), i * 4, np.uint8))
    info = probe.probe(str(segs[1].path))
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert (video["codec_name"], audio["codec_name"]) == ("h264", "flac")
    assert abs(float(video["duration"]) - segs[1].duration_s) < 1e-3
    assert audio["sample_rate"] == "22050" and audio["channels"] == 1
    assert abs(float(info["format"]["duration"]) - 2.0) > 0.5  # the segment's, not the clip's
    assert probe.main(["-v", "error", str(tmp_path / "c.mp4"), "-show_entries", "format=duration"]) == 0
    (tmp_path / "x.mp4").write_text("not a video")
    assert probe.main(["-print_format", "json", "-show_streams", str(tmp_path / "x.mp4")]) == 1


def test_a_turn_streams_with_no_ffmpeg_or_ffprobe_on_path(app_without_ffmpeg, tmp_path):
    app = app_without_ffmpeg  # conftest: the app with an empty PATH; it also checks the clean-up
    client = Client(app.url, verbose=False, download_files=False)
    r = measure_turn(client, "I just adopted a puppy!", tmp_path)
    client.close()
    print(f"\nstreamed turn with the bundled ffprobe: {r}")
    assert r["first_segment_s"] is not None and r["first_segment_s"] < 0.6 * r["done_s"]
    assert r["first_segment_frames"] == SegmentConfig().first_frames and r["first_segment_audio_s"] > 0
    assert abs(r["stream_audio_s"] - r["stream_video_s"]) < 0.25  # sound all the way through
    # The complete clip comes back too: Gradio probes it (is it H.264?) before serving it.
    assert r["chat_messages"] == 2 and r["turn_clip"] == "turn_001.mp4"
    assert "Traceback" not in app.log.read_text()
    # The ffprobe launcher is the app's own (in its process folder), not shared in /tmp.
    (launcher,) = app.tmp.glob("warmchat.sessions-*/bin/ffprobe")
    assert str(app.proc.pid) in str(launcher)
