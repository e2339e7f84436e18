"""Neural voices (Kokoro-distilled "heart", Piper "joe") behind the pipeline's TTS, heard by the real ears."""

from __future__ import annotations

import numpy as np
import pytest

from warmchat.bench.run import word_error_rate
from warmchat.emotion import EmotionState
from warmchat.errors import UserInputError
from warmchat.language import looks_english
from warmchat.speech import TTS, NeuralConfig

SENTENCES = (
    "I just got the job I wanted.",
    "The airline lost my luggage again.",
    "Thank you, that really helps.",
)


@pytest.mark.parametrize("voice", ["heart", "joe"])
def test_a_neural_voice_is_understood_and_carries_the_emotion(pipe, voice):
    tts = pipe.tts
    heard = []
    for text in SENTENCES:
        speech = tts.synthesize(text, voice=voice)
        assert speech.sample_rate == tts.sample_rate == 22050 and speech.phonemes and speech.text == text
        heard.append(pipe.ears.transcribe(speech).text)
    # Word errors over all 17 words: at most 2 (Piper samples noise, so joe now and then mishears
    # as a word or two; eSpeak's voices: 0.09-0.31 on the bench's sentences).
    assert word_error_rate(" ".join(SENTENCES), " ".join(heard)) <= 0.12, heard
    # Sad is slower than happy; an emotion never makes the words unintelligible.
    text = "I went to the market this morning and bought some apples."
    happy = tts.synthesize(text, EmotionState.of("happy", 0.9), voice=voice)
    sad = tts.synthesize(text, EmotionState.of("sad", 0.9), voice=voice)
    assert sad.duration > 1.2 * happy.duration
    assert word_error_rate(text, pipe.ears.transcribe(sad).text) <= 0.2


def test_other_languages_and_a_missing_model_speak_with_espeak(pipe, tmp_path):
    def symbols(speech):
        return [p.symbol for p in speech.phonemes]

    text = "¿Dónde está la biblioteca? Me gusta mucho leer."
    spanish = pipe.tts.synthesize(text, voice="heart")
    assert symbols(spanish) == symbols(pipe.tts.synthesize(text, voice="en-us+f3"))  # heart's eSpeak stand-in
    assert looks_english("Hello!") and looks_english("What should I feed my cat?")
    assert not looks_english("Me gusta mucho leer libros nuevos") and not looks_english("你好")
    tts = TTS(neural=NeuralConfig(piper_model=str(tmp_path / "gone.onnx")))
    speech = tts.synthesize("Hello there.", voice="joe")
    assert (
        symbols(speech) == symbols(tts.synthesize("Hello there.", voice="en-us+m3"))
        and "fell back" in tts.describe_voice("joe")
        and "gone.onnx" in tts.describe_voice("joe")
    )
    assert tts.check_voice("joe") == "joe" and tts.describe_voice("en-gb+f4") == "eSpeak NG en-gb+f4"
    with pytest.raises(UserInputError, match="heart, joe, en-us"):
        tts.check_voice("nobody")


def test_a_turn_with_neural_voices_plays_in_sync(pipe, tmp_path):
    from warmchat.paths import DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT
    from warmchat.pipeline import PipelineConfig, WarmChatPipeline
    from warmchat.render.video import media_durations

    p = WarmChatPipeline(PipelineConfig(agent_voice="heart", user_voice="joe"), tts=pipe.tts,
                         classifier=pipe.classifier, dialogue=pipe.dialogue, tracer=pipe.tracer, ears=pipe.ears)  # fmt: skip
    assert "Kokoro" in p.status()["speech"] and "Piper" in p.status()["speech"]
    conv = p.new_conversation(DEFAULT_AGENT_PORTRAIT, DEFAULT_USER_PORTRAIT, work_dir=tmp_path / "c")
    r = p.run_turn(conv, "I planted tomatoes today.")
    d = media_durations(r.clip)
    assert abs(d["video"] - d["audio"]) < 0.1 and r.duration_s > 2.0


def test_each_voice_carries_the_emotion_in_pitch_rate_and_loudness(pipe):
    from warmchat.bench.measures import median_f0
    from warmchat.bench.run import bench_voice

    sr = 22050
    t = np.arange(sr) / sr
    assert median_f0(sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 6)), sr) == pytest.approx(
        150, abs=2
    )
    assert np.isnan(median_f0(np.random.default_rng(0).standard_normal(sr), sr))  # noise has no pitch
    figures = bench_voice(pipe, quick=True)
    for voice, by in figures.items():
        f0 = {e: by[e]["f0_hz"] for e in by}
        assert f0["happy"] > f0["neutral"] > f0["sad"], (voice, f0)
        assert by["sad"]["words_per_min"] < by["neutral"]["words_per_min"] < by["happy"]["words_per_min"]
        assert by["sad"]["rms_db"] < by["neutral"]["rms_db"] - 0.5, (voice, by)  # sad is softer
        assert by["neutral"]["timed_phonemes"] > 30
    assert (
        figures["heart"]["neutral"]["f0_hz"] > 1.6 * figures["joe"]["neutral"]["f0_hz"]
    )  # the two voices differ
