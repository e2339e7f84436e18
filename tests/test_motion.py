"""Motion generators on real eSpeak speech: visemes, LEED, head motion, joins."""

from __future__ import annotations

import numpy as np
import pytest

from warmchat.emotion import EmotionState
from warmchat.motion.common import blend_in, blink_curve
from warmchat.motion.head import NoiseHeadMotion
from warmchat.motion.listener import LEED
from warmchat.motion.presets import EMOTION_PRESETS, emotion_expression
from warmchat.motion.speaker import VisemeSpeaker, viseme_for
from warmchat.motion.tracks import CH, CHANNELS, FPS, K, n_frames
from warmchat.speech import EspeakTTS, loudness_envelope


@pytest.fixture(scope="module")
def speech():
    return EspeakTTS().synthesize("Maybe Bob can bring my map back by Monday, please.")


def test_presets_use_known_channels_and_differ():
    for emotion, preset in EMOTION_PRESETS.items():
        assert set(preset) <= set(CHANNELS), emotion
    happy = emotion_expression(EmotionState.of("happy", 1.0))
    sad = emotion_expression(EmotionState.of("sad", 1.0))
    assert happy[CH["mouthSmileLeft"]] > 0.5 > sad[CH["mouthSmileLeft"]]
    assert sad[CH["browInnerUp"]] > 0.5
    assert not emotion_expression(EmotionState.of("neutral", 1.0)).any()
    # Intensity scales the expression.
    assert (
        emotion_expression(EmotionState.of("happy", 0.3))[CH["mouthSmileLeft"]] < happy[CH["mouthSmileLeft"]]
    )


def test_viseme_lookup_falls_back_on_prefixes():
    assert viseme_for("p")[0][CH["mouthClose"]] == 1.0
    assert viseme_for("aI@")[0][CH["jawOpen"]] == viseme_for("aI")[0][CH["jawOpen"]]
    assert viseme_for("t#")[0][CH["jawOpen"]] == viseme_for("t")[0][CH["jawOpen"]]
    assert viseme_for("zz")[0][CH["jawOpen"]] > 0  # unknown: a neutral half-open shape


def test_speaker_closes_the_lips_on_bilabials_and_opens_with_loudness(speech):
    T = n_frames(speech.duration)
    track = VisemeSpeaker().generate(speech, EmotionState.of("neutral", 0.0), T, np.random.default_rng(0))
    assert track.values.shape == (T, K)
    close, jaw = track.channel("mouthClose"), track.channel("jawOpen")
    bilabial = [p for p in speech.phonemes if p.symbol in ("p", "b", "m")]
    assert len(bilabial) >= 6
    at = [close[min(int((p.start + p.end) / 2 * FPS), T - 1)] for p in bilabial]
    assert np.mean(at) > 0.5  # lips shut at most bilabials
    loud = loudness_envelope(speech.audio, speech.sample_rate, FPS, T)
    assert np.corrcoef(loud, jaw)[0, 1] > 0.4


def test_user_audio_without_phonemes_still_moves_the_lips(speech):
    from warmchat.speech import Speech

    bare = Speech(speech.audio, speech.sample_rate, [])
    T = n_frames(bare.duration)
    jaw = VisemeSpeaker().generate(bare, EmotionState(), T, np.random.default_rng(0)).channel("jawOpen")
    loud = loudness_envelope(bare.audio, bare.sample_rate, FPS, T)
    assert jaw.max() > 0.3 and np.corrcoef(loud, jaw)[0, 1] > 0.8


def test_happy_listener_smiles_and_nods_more_than_a_sad_one(speech):
    T = 20 * FPS
    smiles, nods = {}, {}
    for emotion in ("happy", "sad"):
        s, n = [], []
        for seed in range(5):
            out = LEED().generate(EmotionState.of(emotion, 0.8), T, np.random.default_rng(seed), speech)
            s.append(out.expression.channel("mouthSmileLeft").mean())
            n.append(len(out.nod_frames))
        smiles[emotion], nods[emotion] = np.mean(s), np.mean(n)
    assert smiles["happy"] > smiles["sad"] + 0.2
    assert nods["happy"] > nods["sad"]


def test_listener_nods_land_on_the_speakers_pauses(speech):
    from warmchat.motion.listener import speech_pauses

    T = n_frames(speech.duration + 0.5)
    pauses = speech_pauses(speech, T)
    nodded = 0
    for seed in range(10):
        out = LEED().generate(EmotionState.of("happy", 0.9), T, np.random.default_rng(seed), speech)
        # Nods go to the pauses first; only when there are more nods than pauses
        # do the rest fall elsewhere.
        on_pauses = [f for f in out.nod_frames if f in pauses]
        assert len(on_pauses) == min(len(out.nod_frames), len(pauses))
        if out.nod_frames:
            nodded += 1
            assert np.abs(out.head_offsets[:, 1]).max() > 1.0  # a nod is a visible pitch
    assert nodded >= 3


def test_head_motion_is_seeded_smooth_role_dependent_and_continues():
    head = NoiseHeadMotion()
    e = EmotionState.of("neutral", 0.5)
    a = head.generate("speaker", e, 250, np.random.default_rng(3))
    b = head.generate("speaker", e, 250, np.random.default_rng(3))
    c = head.generate("speaker", e, 250, np.random.default_rng(4))
    assert np.array_equal(a.as_array(), b.as_array())
    assert np.abs(a.yaw - c.yaw).mean() > 0.3
    assert np.abs(np.diff(a.yaw)).max() < 1.0  # degrees per frame: no jumps
    listener = head.generate("listener", e, 250, np.random.default_rng(3))
    assert listener.yaw.std() < a.yaw.std()
    start = np.array([4.0, -2.0, 1.0, 3.0, -1.0, 1.01], np.float32)
    d = head.generate("speaker", e, 100, np.random.default_rng(5), start_pose=start)
    assert np.allclose(d.frame(0), start, atol=1e-5)
    sad = head.generate("speaker", EmotionState.of("sad", 1.0), 250, np.random.default_rng(3))
    assert sad.pitch.mean() > a.pitch.mean() + 2  # a sad head hangs lower


def test_blinks_and_blend_in():
    curve = blink_curve(60 * FPS, np.random.default_rng(0), per_minute=18)
    onsets = np.sum((curve[1:] > 0.9) & (curve[:-1] <= 0.9))
    assert 8 <= onsets <= 30
    vals = np.ones((20, 3), np.float32)
    out = blend_in(vals, np.zeros(3), frames=8)
    assert np.allclose(out[0], 0) and np.allclose(out[8:], 1) and np.all(np.diff(out[:, 0]) >= 0)
