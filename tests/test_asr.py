"""Ears: recorded messages transcribed by the real Whisper tiny.en (faster-whisper), on eSpeak speech."""

from __future__ import annotations

import numpy as np
import pytest

from warmchat.bench.run import word_error_rate
from warmchat.errors import UserInputError
from warmchat.speech import ASRConfig, Speech, Transcriber


@pytest.fixture(scope="module")
def ears(pipe):
    return pipe.ears  # the session pipeline's, loaded once


def test_a_recorded_sentence_is_heard_with_its_word_times(pipe, ears):
    speech = pipe.tts.synthesize("What is the capital of Australia?", voice="en-gb+f4")
    heard = ears.transcribe(speech)
    # eSpeak's audio varies a little from call to call: a word may be misheard, not more.
    assert word_error_rate("What is the capital of Australia?", heard.text) <= 1 / 6, heard.text
    assert [w.lower().strip("?.,") for w, _, _ in heard.words] == heard.text.lower().replace("?", "").replace(
        ".", ""
    ).replace(",", "").split()
    starts = [s for _, s, _ in heard.words]
    assert starts == sorted(starts) and 0 <= starts[0] and heard.words[-1][2] <= speech.duration + 0.1
    # Typed words win over the transcript (the visitor may correct it); nothing is transcribed then.
    assert ears.heard(speech, "  I typed   this ") == ("I typed this", None)


@pytest.mark.parametrize("kind", ["noise", "hum"])
def test_a_recording_with_no_speech_is_refused_not_mouthed(ears, kind):
    t = np.arange(22050 * 3) / 22050
    rng = np.random.default_rng(0)
    audio = 0.05 * rng.standard_normal(len(t)) if kind == "noise" else 0.2 * np.sin(2 * np.pi * 120 * t)
    speech = Speech(audio.astype(np.float32), 22050, [])
    assert ears.transcribe(speech).text == ""
    with pytest.raises(UserInputError, match="No speech heard"):
        ears.heard(speech, None)


def test_without_a_model_a_recording_is_spoken_with_a_notice(pipe, tmp_path):
    speech = pipe.tts.synthesize("Hello there.")
    for cfg, why in (
        (ASRConfig(model_dir=str(tmp_path / "gone")), "could not load"),
        (ASRConfig(enabled=False), "turned off"),
    ):
        ears = Transcriber(cfg)
        assert ears.model is None and ears.transcribe(speech) is None
        assert ears.describe().startswith("none: ") and why in ears.describe()
        text, notice = ears.heard(speech, None)
        assert ears.timed(speech, pipe.tts.word_phonemes) is speech  # nothing heard: no timings
        assert text == "(a spoken message)" and "not transcribed" in notice and why in notice


def test_the_benchs_word_error_rate():
    from warmchat.bench.run import word_error_rate

    assert word_error_rate("What is the capital of Australia?", "what is the capital of australia") == 0
    assert word_error_rate("I just got the job.", "I just cannot the job") == pytest.approx(1 / 5)  # one swap
    assert word_error_rate("Thank you, that helps.", "thank you that really helps") == pytest.approx(
        1 / 4
    )  # one in
    assert word_error_rate("Hello there.", "") == 1.0 and word_error_rate("", "") == 0.0
