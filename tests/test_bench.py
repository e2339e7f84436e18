"""The benchmark's measures on inputs whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import expression

from warmchat.bench import measures as M
from warmchat.bench.run import SHARED_VIDEOS, _clean, headline, table
from warmchat.motion.tracks import FPS
from warmchat.speech.tts import Phoneme


def test_lip_sync_finds_the_correlation_and_the_lag():
    rng = np.random.default_rng(0)
    loud = np.clip(np.convolve(rng.random(300), np.ones(5) / 5, "same"), 0, 1)
    mouth = np.r_[np.zeros(2), loud[:-2]] * 0.3  # the mouth follows 2 frames late
    ls = M.lip_sync(mouth, loud)
    assert ls.correlation > 0.99 and ls.lag_frames == 2
    noise = M.lip_sync(rng.random(300), loud)
    assert noise.correlation < 0.3
    # Gaps in tracking (NaN) are filled, not fatal.
    holed = mouth.copy()
    holed[50:53] = np.nan
    assert M.lip_sync(holed, loud).correlation > 0.95


def test_bilabial_closure_share():
    mouth = np.full(100, 0.2)
    mouth[[20, 40]] = 0.0  # closed at two of the three bilabials
    ph = [
        Phoneme("p", 19.5 / FPS, 20.5 / FPS),
        Phoneme("m", 39.5 / FPS, 40.5 / FPS),
        Phoneme("b", 69.5 / FPS, 70.5 / FPS),
    ]
    ph.append(Phoneme("a", 0.1, 0.2))
    ls = M.lip_sync(mouth, np.linspace(0, 1, 100), ph)
    assert ls.n_bilabials == 3 and ls.bilabial_closed == pytest.approx(2 / 3)


def test_blink_rate_counts_brief_dips_only():
    eyes = np.full(60 * FPS, 0.25)
    for t in range(100, 60 * FPS, 150):  # a blink every 6 s: 10 a minute
        eyes[t : t + 4] = 0.15
    eyes[1000:1100] = 0.15  # a 4-second squint is not a blink
    assert M.blink_rate(eyes) == pytest.approx(10, abs=1)


def test_head_pose_and_mouth_on_rendered_frames(astronaut_renderer):
    poses = [(0, 0, 0), (10, 0, 0), (-10, 0, 0), (0, 8, 0), (0, 0, 8)]
    frames = [astronaut_renderer.render(expression(), np.array([*p, 0, 0, 1.0])) for p in poses]
    pose = M.head_pose(M.track_frames(frames))
    assert np.allclose(pose[0], 0, atol=0.5)
    assert 5 < pose[1, 0] < 12 and -12 < pose[2, 0] < -4  # yaw, with its sign
    assert 3 < pose[3, 1] < 10  # pitch: chin down
    assert 6 < pose[4, 2] < 10  # roll: clockwise
    jaws = np.linspace(0, 1, 8)
    frames = [astronaut_renderer.render(expression(jawOpen=j), np.array([0, 0, 0, 0, 0, 1.0])) for j in jaws]
    tracks = M.track_frames(frames)
    assert M.detection_rate(tracks) == 1.0
    assert np.corrcoef(jaws, M.cue_series(tracks)["mouth_open"])[0, 1] > 0.95


def test_jitter_is_zero_for_a_still_face_and_grows_with_noise(astronaut_face):
    lm = astronaut_face.landmarks
    still = [lm.copy() for _ in range(20)]
    assert M.landmark_jitter(still) == pytest.approx(0, abs=1e-6)
    rng = np.random.default_rng(0)
    small = [lm + rng.normal(0, 0.5, lm.shape).astype(np.float32) for _ in range(20)]
    big = [lm + rng.normal(0, 2.0, lm.shape).astype(np.float32) for _ in range(20)]
    assert 0 < M.landmark_jitter(small) < M.landmark_jitter(big)


@pytest.mark.skipif(not SHARED_VIDEOS.is_dir(), reason="needs ../shared/data/head-motion beside the repo")
def test_statistics_of_a_real_video():
    frames = M.read_video(SHARED_VIDEOS / "lp_d11.mp4", max_seconds=6)
    assert len(frames) == 6 * FPS  # resampled to 25 fps
    tracks = M.track_frames(frames)
    assert M.detection_rate(tracks) == 1.0
    stats = M.motion_stats(tracks)
    assert 0.5 < stats["yaw_std_deg"] < 20 and 0.5 < stats["pitch_std_deg"] < 20
    assert 0 < stats["landmark_jitter_iod"] < 0.1
    assert 0 <= stats["blinks_per_min"] < 60


def test_results_are_json_safe_and_tabulated():
    result = _clean(
        {"date": "d", "quick": True, "speed": {"render_ms_per_frame_512": np.float32(4.5), "x": float("nan")}}
    )
    assert result["speed"]["render_ms_per_frame_512"] == 4.5
    assert "n/a" in result["speed"]["x"]
    assert "| speed.render_ms_per_frame_512 | 4.5 |" in table(result)
    assert headline(result)["render_ms_per_frame_512"] == 4.5


def test_identity_model_tells_people_apart(astronaut_face, monalisa_face):
    pytest.importorskip("dlib", reason="evaluation packages: pip install -r requirements-eval.txt")
    from warmchat.bench.evaluators import load

    model, why = load("identity")
    assert model is not None, why
    a = model.descriptor(astronaut_face.image, astronaut_face.landmarks)
    m = model.descriptor(monalisa_face.image, monalisa_face.landmarks)
    flipped = astronaut_face.image[:, ::-1].copy()
    lm = astronaut_face.landmarks.copy()
    lm[:, 0] = flipped.shape[1] - 1 - lm[:, 0]
    assert np.linalg.norm(a - model.descriptor(flipped, lm)) < 0.45  # the same person, mirrored
    assert np.linalg.norm(a - m) > 0.6  # two different people


def test_expression_model_reads_a_smile(astronaut_face):
    pytest.importorskip("ai_edge_litert", reason="evaluation packages: pip install -r requirements-eval.txt")
    from warmchat.bench.evaluators import load

    model, why = load("expression")
    assert model is not None, why
    p = model.probabilities(astronaut_face.image, astronaut_face.landmarks)
    assert max(p, key=p.get) == "happy"
    assert sum(p.values()) == pytest.approx(1, abs=0.02)


def test_quick_bench_command_writes_json(tmp_path, capsys):
    import json

    from warmchat.cli import main

    out = tmp_path / "b.json"
    assert main(["bench", "--quick", "--sections", "text_emotion,identity,ears", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["text_emotion"]["embedding_accuracy"] >= 0.7
    assert result["identity"]["astronaut"]["background_ssim"] > 0.9
    ears = result["ears"]  # eSpeak in three voices is understood; noise and a hum are no speech
    assert ears["utterances"] == 6 and ears["word_error_rate_mean"] < 0.35
    assert ears["word_error_rate_by_voice"]["heart"] <= 0.2 and ears["long_message_transcribed_s"] < 5
    assert ears["no_speech_heard_as_none"] == {"noise": True, "hum": True}
    room = ears["word_error_rate_in_a_room"]  # reverberation and noise, on both neural voices
    assert len(room) == 6 and max(v for k, v in room.items() if k.startswith("heart")) <= 0.2
    assert result["status"]["lips"] == "learned audio2expr" and result["status"]["dialogue"].startswith(
        "offline"
    )
    assert "| text_emotion.embedding_accuracy |" in capsys.readouterr().out
    assert main(["bench", "--sections", "nonsense"]) == 2
