"""A turn's video as it renders: short segments that play on their own, early, and add up to the clip.

Real ffmpeg (the imageio-ffmpeg binary), the real pipeline, no mocks.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from warmchat.bench.measures import read_video
from warmchat.errors import UserInputError
from warmchat.hooks import Hooks
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT
from warmchat.render.video import SegmentConfig, SegmentedClipWriter, media_durations, read_frames

SR = 22050


def _frame(i: int) -> np.ndarray:
    """A 128x64 frame whose grey level says its number (survives H.264 to within a few levels)."""
    f = np.full((64, 128, 3), 10 + 2 * i, np.uint8)
    f[20:40, (i * 3) % 100 : (i * 3) % 100 + 20] = 255 - 2 * i  # something that moves
    return f


def _level(frame: np.ndarray) -> float:
    return float(np.median(frame[:, :, 1]))


def test_segments_play_alone_end_with_utterances_and_make_up_the_clip(tmp_path):
    got = []
    lengths = (37, 61)  # two utterances, as in a turn
    with SegmentedClipWriter(tmp_path / "clip.mp4", 128, 64, SR, SegmentConfig(frames=25, first_frames=25),
                             segment_dir=tmp_path / "seg", on_segment=got.append) as w:  # fmt: skip
        i = 0
        for k, n in enumerate(lengths):
            t = np.arange(round(n * SR / 25)) / SR
            w.add_audio(0.3 * np.sin(2 * np.pi * (300 + 200 * k) * t))
            for _ in range(n):
                w.write(_frame(i))
                i += 1
    # Cut every 25 frames and at the end of each utterance; the 11-frame tail of
    # the second joins the segment before it.
    assert [(s.first_frame, s.frames) for s in got] == [(0, 25), (25, 12), (37, 25), (62, 36)]
    assert [s.index for s in got] == [0, 1, 2, 3]
    clip = read_frames(tmp_path / "clip.mp4")
    assert len(clip) == sum(lengths)
    # No frame is lost, doubled or reordered where segments join.
    assert np.abs(np.array([_level(f) for f in clip]) - (10 + 2 * np.arange(len(clip)))).max() <= 4
    d = media_durations(tmp_path / "clip.mp4")
    assert d["video"] == pytest.approx(98 / 25) and d["audio"] == pytest.approx(98 / 25, abs=0.01)
    for s in got:
        frames = read_frames(s.path)
        assert len(frames) == s.frames
        # The clip's video is the segments' video as it is: the same pictures.
        assert all(
            np.array_equal(a, b) for a, b in zip(frames, clip[s.first_frame : s.first_frame + s.frames])
        )
        # Its own slice of the sound, to the sample (FLAC): 1/25 s is 882 samples.
        assert media_durations(s.path)["audio"] == pytest.approx(s.duration_s, abs=1e-3)


def test_the_writer_refuses_frames_without_sound_and_a_clip_cut_short(tmp_path):
    w = SegmentedClipWriter(tmp_path / "a.mp4", 128, 64, SR)
    with pytest.raises(ValueError, match="no audio yet"):
        w.write(_frame(0))
    w.abort()
    w = SegmentedClipWriter(tmp_path / "b.mp4", 128, 64, SR)
    w.add_audio(np.zeros(SR, np.float32))  # 25 frames of sound, only 3 frames written
    for i in range(3):
        w.write(_frame(i))
    with pytest.raises(ValueError, match="ends inside a segment"):
        w.close()
    w.abort()
    assert not (tmp_path / "b.mp4").exists()


@pytest.fixture(scope="module")
def pipe(pipe):
    pipe.preload()  # as the app does: model loading is not part of a turn
    return pipe


def test_a_turn_hands_out_playable_segments_long_before_it_ends(pipe, tmp_path):
    conv = pipe.new_conversation(DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, work_dir=tmp_path)
    arrivals: list[tuple[str, float, object]] = []

    class Record(Hooks):
        wants_segments = True

        def reply(self, node):
            arrivals.append(("reply", time.perf_counter(), node))

        def segment(self, seg):
            arrivals.append(("segment", time.perf_counter(), seg))

    t0 = time.perf_counter()
    result = pipe.run_turn(conv, "I just got the job I wanted, and I start on Monday!", hooks=Record())
    t_end = time.perf_counter()
    kinds = [k for k, _, _ in arrivals]
    segs = [v for k, _, v in arrivals if k == "segment"]
    # The reply is known before any frame is out; the first second of video long before the end.
    assert kinds[0] == "reply" and kinds.count("reply") == 1 and arrivals[0][2] is result.agent_node
    assert len(segs) >= 4
    t_first = next(t for k, t, _ in arrivals if k == "segment")
    assert t_first - t0 < 0.5 * (t_end - t0)
    assert result.timings["first_frame"] < result.timings["first_segment"] < result.timings["total"]
    assert segs == result.segments
    # Segments follow each other without a gap, each plays alone, and together they are the clip.
    assert [s.first_frame for s in segs] == list(np.cumsum([0] + [s.frames for s in segs[:-1]]))
    for s in segs:
        assert len(read_video(s.path)) == s.frames
        assert media_durations(s.path)["audio"] == pytest.approx(s.duration_s, abs=1e-3)
    d = media_durations(result.clip)
    total = sum(s.duration_s for s in segs)
    assert abs(d["video"] - total) <= 2 / 25 and abs(d["audio"] - d["video"]) < 0.05
    assert d["video"] == pytest.approx(result.duration_s)
    assert conv.clips == [result.clip]

    # When nobody wants segments the clip is the same kind of file, and no segments are left over.
    second = pipe.run_turn(conv, "Thank you! What should I wear?")
    assert not (tmp_path / "segments" / second.clip.stem).exists()
    assert media_durations(second.clip)["video"] == pytest.approx(second.duration_s)
    whole = media_durations(pipe.join(conv))
    assert whole["video"] == pytest.approx(result.duration_s + second.duration_s, abs=2 / 25)


def test_a_session_turn_as_live_events(pipe):
    from warmchat import session as S

    sess = S.ChatSession()
    try:
        events = list(
            S.stream(
                S.send,
                pipe,
                sess,
                "Guess what, I adopted a puppy!",
                DEFAULT_AGENT_PORTRAIT,
                DEFAULT_USER_PORTRAIT,
            )
        )
        kinds = [e.kind for e in events]
        assert kinds[-1] == "done" and kinds.count("done") == 1 and kinds.count("reply") == 1
        # The reply's text comes while the video is still coming (the user's own utterance may
        # already have a segment out: it renders while the reply is written).
        last_segment = len(kinds) - 1 - kinds[::-1].index("segment")
        assert "progress" in kinds and kinds.index("reply") < last_segment
        chat = events[kinds.index("reply")].value
        assert [m["role"] for m in chat] == ["user", "assistant"] and "puppy" in chat[0]["content"]
        result, whole = events[-1].value
        segs = [e.value for e in events if e.kind == "segment"]
        assert sum(s.frames for s in segs) / 25 == pytest.approx(result.duration_s)
        assert media_durations(whole)["video"] == pytest.approx(result.duration_s, abs=2 / 25)
        # Once the events are all taken, the segments are gone; the clips stay.
        assert not any(s.path.exists() for s in segs) and result.clip.exists()
        # A mistake is raised to the consumer, and the conversation is unchanged.
        with pytest.raises(UserInputError, match="empty"):
            list(S.stream(S.send, pipe, sess, "   ", DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT))
        assert len(sess.messages()) == 2
    finally:
        sess.close()


def test_regenerate_takes_every_setting_the_visitor_turned(pipe):
    """Regenerate applies liveliness and expression strength as send does (they were left out)."""
    from warmchat import session as S

    sess = S.ChatSession()
    try:
        S.send(pipe, sess, "I finished my first marathon!", DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT)
        assert (sess.conv.liveliness, sess.conv.expression_strength) == (1.0, 1.0)
        turned = S.Settings(liveliness=0.3, expression_strength=1.6, seed=7)
        S.regenerate(pipe, sess, settings=turned)
        conv = sess.conv
        assert (conv.liveliness, conv.expression_strength, conv.seed) == (0.3, 1.6, 7)
        assert len(sess.messages()) == 2  # the new reply replaced the old one on the path
        with pytest.raises(UserInputError, match="Liveliness"):
            S.regenerate(pipe, sess, settings=S.Settings(liveliness=5))
        assert conv.liveliness == 0.3  # a refused setting changes nothing
    finally:
        sess.close()


def test_a_clip_starts_with_short_segments_that_grow(tmp_path):
    # The player starts on the first 8 frames (~0.3 s after the first frame); each next segment is
    # half as long again (8, 12, 18), so it is ready before the one playing runs out, up to 25.
    got = []
    with SegmentedClipWriter(tmp_path / "clip.mp4", 128, 64, SR, SegmentConfig(frames=25, first_frames=8),
                             on_segment=got.append) as w:  # fmt: skip
        w.add_audio(np.zeros(round(100 * SR / 25), np.float32))
        for i in range(100):
            w.write(_frame(i))
    assert [s.frames for s in got] == [8, 12, 18, 25, 25, 12]


def test_frames_keep_their_colours_on_their_way_to_the_encoder(tmp_path):
    """Frames cross to ffmpeg as YUV 4:2:0 converted by OpenCV: the clip's colours are the frames'
    (skin, sky, a saturated red), the encoder's pipe holds a whole frame, so writing one does not
    wait for ffmpeg to read it, and a size H.264 cannot take is refused before ffmpeg starts."""
    from warmchat.render.video import Mp4Writer

    w, h = 256, 192  # a frame (72 kB) more than a default pipe holds (64 kB)
    colours = [(224, 172, 140), (90, 140, 210), (200, 30, 40)]
    frames = [np.full((h, w, 3), c, np.uint8) for c in colours for _ in range(5)]
    out = tmp_path / "c.mp4"
    with Mp4Writer(out, w, h) as writer:
        if sys.platform == "linux":
            import fcntl

            assert fcntl.fcntl(writer.proc.stdin.fileno(), fcntl.F_GETPIPE_SZ) >= w * h * 3 // 2
        for f in frames:
            writer.write(f)
    back = read_frames(out)
    assert len(back) == len(frames)
    for got, want in zip(back, frames):
        # Lossy codec and 4:2:0: within a few levels on flat colour.
        assert np.abs(got[4:-4, 4:-4].astype(int) - want[4:-4, 4:-4]).mean() < 4
    with pytest.raises(ValueError, match="even sides"):
        Mp4Writer(tmp_path / "odd.mp4", 95, 64)
    assert not (tmp_path / "odd.mp4").exists()
