"""End to end: ``say`` and conversation turns through the real pipeline, checked on the mp4s."""

from __future__ import annotations

import json

import numpy as np
import pytest

from warmchat.emotion import EmotionState
from warmchat.errors import TextInputError
from warmchat.metrics import best_lag_correlation, measure
from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT
from warmchat.pipeline import check_message
from warmchat.render.tracer import FaceTracer
from warmchat.render.video import media_durations, read_frames
from warmchat.speech import load_audio, loudness_envelope


@pytest.fixture(scope="module")
def said(pipe, tmp_path_factory):
    out = tmp_path_factory.mktemp("say") / "say.mp4"
    text = "Hello! My name is Ava. I like maps, boats and painting on Sunday mornings."
    pipe.say(DEFAULT_USER_PORTRAIT, out, text=text, emotion=EmotionState.of("happy", 0.6))
    return out


def test_say_video_and_audio_lengths_agree(said):
    d = media_durations(said)
    assert d["video"] > 3.0
    assert abs(d["video"] - d["audio"]) < 0.1


def test_say_mouth_follows_the_speech_and_the_face_is_always_found(said):
    frames = read_frames(said)
    tracer = FaceTracer()
    cues = [measure(f, tracer) for f in frames]
    assert all(c is not None for c in cues), "MediaPipe lost the face in some frames"
    mouth = np.array([c.mouth_open for c in cues])
    assert mouth.max() - mouth.min() > 0.15  # opens and closes, in iod units
    speech = load_audio(said, 16000)
    loud = loudness_envelope(speech.audio, speech.sample_rate, 25, len(frames))
    r, lag = best_lag_correlation(loud, mouth)
    assert r > 0.5, f"mouth vs loudness correlation {r:.2f} at lag {lag}"
    # The head moves a little and the eyes blink at least once in a few seconds.
    nose = np.array([c.nose_x for c in cues])
    assert 0.005 < nose.std() < 0.2
    eyes = np.array([c.eye_open for c in cues])
    assert eyes.min() < 0.8 * np.median(eyes)


def test_message_validation():
    with pytest.raises(TextInputError):
        check_message("   ", 100)
    text, notice = check_message("One sentence here. " * 50, 100)
    assert len(text) <= 100 and text.endswith(".") and notice


@pytest.mark.slow  # renders a whole conversation (several turns)
def test_conversation_turns_join_without_a_jump(pipe, tmp_path):
    conv = pipe.new_conversation(DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, work_dir=tmp_path)
    r1 = pipe.run_turn(conv, "I am so happy, I passed my driving test today!")
    last_pose = conv.agent.state.pose.copy()
    r2 = pipe.run_turn(conv, "Thanks! Where should I drive first?")
    # The tree has both turns on one path, with emotions.
    tree = json.loads((tmp_path / "itt.json").read_text())
    assert len([n for n in tree["nodes"] if n["role"] != "root"]) == 4
    assert r1.user_node.emotion.dominant == "happy"
    assert r2.user_node.parent == r1.agent_node.id
    # State carries over: the second turn starts where the first ended.
    a = read_frames(r1.clip)[-1].astype(int)
    b = read_frames(r2.clip)[0].astype(int)
    f1 = read_frames(r1.clip)
    step = np.mean([np.abs(f1[i].astype(int) - f1[i - 1].astype(int)).mean() for i in range(1, len(f1))])
    assert np.abs(a - b).mean() < 3 * step + 1.0
    assert np.all(np.isfinite(last_pose))
    for r in (r1, r2):
        d = media_durations(r.clip)
        assert abs(d["video"] - d["audio"]) < 0.1
        assert read_frames(r.clip, every=1000)[0].shape == (512, 1024, 3)


def test_a_bad_turn_loses_nothing(pipe, tmp_path):
    conv = pipe.new_conversation(DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, work_dir=tmp_path)
    pipe.run_turn(conv, "Good morning!")
    before = conv.tree.to_json()
    with pytest.raises(TextInputError):
        pipe.run_turn(conv, "   ")
    with pytest.raises(TextInputError):
        pipe.run_turn(conv, "...")
    assert conv.tree.to_json() == before
    assert len(conv.clips) == 1


def test_the_users_own_recording_drives_their_avatar(pipe, tmp_path):
    import subprocess

    from warmchat.render.video import ffmpeg_exe
    from warmchat.speech import save_wav

    speech = pipe.tts.synthesize("My grandmother passed away last night.", voice="en-us+m3")
    wav = save_wav(tmp_path / "me.wav", speech.audio, speech.sample_rate)
    mp3 = tmp_path / "me.mp3"
    subprocess.run([ffmpeg_exe(), "-y", "-v", "error", "-i", str(wav), "-ar", "44100", str(mp3)], check=True)
    conv = pipe.new_conversation(DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, work_dir=tmp_path / "c")
    r = pipe.run_turn(conv, None, user_audio=mp3)
    # Heard: the transcript is the user's words, read for their emotion, answered and saved.
    assert "grandmother" in r.user_node.text.lower() and "night" in r.user_node.text.lower()
    assert r.user_node.emotion.dominant == "sad" and r.user_node.audio_path == "user_001.wav"
    saved = json.loads((conv.work_dir / "itt.json").read_text())
    assert any("grandmother" in n["text"].lower() for n in saved["nodes"] if n["role"] == "user")
    assert r.duration_s > speech.duration + 1.0  # the recording, then the agent's reply
    d = media_durations(r.clip)
    assert abs(d["video"] - d["audio"]) < 0.1


def test_status_names_the_back_end_of_every_stage_and_why_one_fell_back(tmp_path):
    from warmchat.motion.audio2expr import LearnedSpeaker, LearnedSpeakerConfig
    from warmchat.motion.plan import MotionPlanner
    from warmchat.pipeline import PipelineConfig, WarmChatPipeline

    pipe = WarmChatPipeline.from_config(PipelineConfig(speaker="viseme"))
    st = pipe.status()
    assert set(st) == {"text emotion", "dialogue", "speech", "ears", "lips", "listener", "head motion",
                       "face tracker", "renderer"}  # fmt: skip
    assert st["ears"].startswith("Whisper tiny.en")
    assert st["text emotion"].startswith("sentence embeddings") and st["dialogue"].startswith("offline")
    assert (
        st["lips"] == "hand-made visemes"
        and st["listener"] == "LEED, calibrated"
        and st["head motion"] == "CRHMG"
    )
    # A learned speaker whose weights are missing says so, with the file.
    motion = MotionPlanner()
    motion.speaker = LearnedSpeaker(LearnedSpeakerConfig(weights=tmp_path / "gone.pt"))
    st = WarmChatPipeline(motion=motion, classifier=pipe.classifier, dialogue=pipe.dialogue).status()
    assert st["lips"].startswith("hand-made visemes (fell back:") and "gone.pt" in st["lips"]


def test_a_regenerated_reply_is_always_new(pipe, tmp_path):
    # An advice question has few wordings (three): each regeneration must still say something new
    # (a regeneration repeated the reply it replaced in a CI run).
    conv = pipe.new_conversation(DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, work_dir=tmp_path / "c")
    first = pipe.run_turn(conv, "Which colours should I buy first?")
    replies = [first.agent_node.text]
    for _ in range(2):
        replies.append(pipe.regenerate(conv, first.agent_node.id).agent_node.text)
    assert len(set(replies)) == 3, replies


def test_a_pipeline_is_made_without_torch_or_openai():
    """The app makes its pipeline before it serves the page: torch (~1.1 s to import) and the openai
    client (~0.5 s) come with the models' warm-up, on first use, not then (serving 5.4-5.7 s -> 3.8 s)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from warmchat.pipeline import WarmChatPipeline\n"
        "WarmChatPipeline()\n"
        "print(sorted(m for m in ('torch', 'openai') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
